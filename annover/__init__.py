"""annover: version control for labeled data.

    import annover
    labels = annover.load("v2")                      # pyarrow Table of annotations
    repo = annover.Repo(".")
    repo.snapshot("export.json", config="labeling.xml", message="round 3")
    annover.diff(repo, "v1", "v2")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AnnoverError",
    "Repo",
    "Version",
    "__version__",
    "diff",
    "export",
    "init",
    "load",
    "snapshot",
]

_LAZY = {
    "AnnoverError": ("annover.errors", "AnnoverError"),
    "Repo": ("annover.api", "Repo"),
    "Version": ("annover.repo", "Version"),
    "init": ("annover.api", "init"),
    "load": ("annover.porcelain", "load"),
    "snapshot": ("annover.porcelain", "snapshot"),
    "export": ("annover.porcelain", "export"),
    "diff": ("annover.diffing.core", "diff"),
}

if TYPE_CHECKING:  # pragma: no cover
    from annover.api import Repo, init
    from annover.diffing.core import diff
    from annover.errors import AnnoverError
    from annover.porcelain import export, load, snapshot
    from annover.repo import Version


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        value = getattr(importlib.import_module(mod), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'annover' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
