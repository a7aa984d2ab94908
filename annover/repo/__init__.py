"""The repository layer: the one :class:`Repo` class, whose methods are the command line's.

Modules: ``core`` (the plumbing: paths, object store, refs, the git and DVC adapters,
resolve, log, read, commit, recover), ``snapshot`` (the snapshot pipeline as named steps)
with ``source_data``, ``remote`` (init, status, push, pull), ``export`` (export, and load
from a git URL), ``labelstudio`` (versions from a pull, dataset records), ``results`` (what
the commands return), ``history`` (tag, revert, reset), ``merging`` (merge), ``commands``
(:class:`Repo`) and ``functions`` (the top-level API).
"""

from annover.repo.commands import Repo
from annover.repo.core import find_root
from annover.repo.results import (ExportResult, InitResult, SnapshotResult, StatusResult, TagResult,
                                  TransferResult)
from annover.store.versions import Version

__all__ = ["ExportResult", "InitResult", "Repo", "SnapshotResult", "StatusResult", "TagResult",
           "TransferResult", "Version", "find_root"]
