"""annover: version control for labeled data.

    import annover
    labels = annover.load("v2")                      # pyarrow Table of annotations
    repo = annover.Repo(".")
    repo.snapshot("export.json", config="labeling.xml", message="round 3")
    annover.diff("v1", "v2")                         # or repo.diff("v1", "v2")

The functions take the repository as the keyword ``repo`` (default: the current one) and
mirror :class:`Repo`'s methods. Names load on first use, so ``import annover`` is cheap.

Every error is an :class:`AnnoverError`; its subclasses (one per exit code of the command
line) are in ``annover.errors``, reachable as an attribute without importing it first:

    try:
        annover.load("v9")
    except annover.errors.RevisionError as e:   # exit code 7 on the command line
        print(e)                                 # the CLI's one line: what is wrong — how to fix it
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AnnoverError",
    "Repo",
    "Version",
    "__version__",
    "annotate",
    "diff",
    "export",
    "init",
    "load",
    "resolve",
    "snapshot",
]

_LAZY = {
    "AnnoverError": ("annover.errors", "AnnoverError"),
    "Repo": ("annover.repo", "Repo"),
    "Version": ("annover.repo", "Version"),
    "init": ("annover.repo.functions", "init"),
    "load": ("annover.repo.functions", "load"),
    "resolve": ("annover.repo.functions", "resolve"),
    "snapshot": ("annover.repo.functions", "snapshot"),
    "export": ("annover.repo.functions", "export"),
    "diff": ("annover.repo.functions", "diff"),
    "annotate": ("annover.notebook.widget", "annotate"),  # the notebook extra: loaded on first use only
}
#: submodules reachable as attributes before anything imported them (``annover.errors.UsageError``)
_SUBMODULES = ("errors",)

if TYPE_CHECKING:  # pragma: no cover
    from annover.errors import AnnoverError
    from annover.notebook.widget import annotate
    from annover.repo import Repo, Version
    from annover.repo.functions import diff, export, init, load, resolve, snapshot


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        value = getattr(importlib.import_module(mod), attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"annover.{name}")  # the import binds it in this module
    raise AttributeError(f"module 'annover' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)  # (annover.errors: reachable, not listed; tests/test_layers.py pins this)
