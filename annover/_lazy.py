"""Heavy third-party modules named at the top of a module and imported on first use.

annover's own imports are all at module top, so the layering is visible to
``lint-imports``. Libraries that take a noticeable part of a second to import (pyarrow,
DuckDB, DVC, label-studio-sdk...) are bound there too, through :func:`lazy`, so that
``annover --help`` and ``annover log`` do not pay for them::

    if TYPE_CHECKING:
        import pyarrow as pa
    else:
        pa = lazy("pyarrow")

The ``TYPE_CHECKING`` branch is what type checkers and import-linter read; at run time
the name is a module object that imports the real module on its first attribute lookup
and then holds the real module's attributes, so later lookups cost what a module's do.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__all__ = ["lazy"]


class _LazyModule(types.ModuleType):
    """A stand-in module; the first attribute lookup imports the real one."""

    def __getattr__(self, attr: str) -> Any:
        name = self.__dict__["_lazy_name"]
        real = importlib.import_module(name)
        if not self.__dict__.get("_lazy_loaded"):
            self.__dict__.update({k: v for k, v in vars(real).items() if k != "__getattr__"})
            self.__dict__["_lazy_loaded"] = True
        return getattr(real, attr)

    def __repr__(self) -> str:
        state = "loaded" if self.__dict__.get("_lazy_loaded") else "not loaded yet"
        return f"<lazy module {self.__dict__['_lazy_name']!r} ({state})>"


def lazy(name: str) -> types.ModuleType:
    """``name`` (a dotted module name) if already imported, else a stand-in that imports it on use."""
    mod = sys.modules.get(name)
    if mod is not None:
        return mod
    proxy = _LazyModule(name)
    proxy.__dict__["_lazy_name"] = name
    return proxy
