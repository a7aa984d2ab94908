"""The Python API: ``annover.Repo`` with methods that mirror the CLI one to one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from annover import porcelain
from annover.repo import Repo as _BaseRepo
from annover.repo import Version

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa


class Repo(_BaseRepo):
    """An annover repository. ``Repo(".")`` opens one; ``annover.init(path)`` makes one."""

    def snapshot(self, source: str | None = None, **kw: Any) -> porcelain.SnapshotResult:
        """``annover snapshot --from SOURCE``; keywords as the CLI options (config, message, tag, key...)."""
        return porcelain.snapshot(self, source, **kw)

    def snapshot_label_studio(self, dataset: str | int, **kw: Any) -> porcelain.SnapshotResult:
        """``annover snapshot --label-studio DATASET``."""
        from annover.labelstudio import sync

        return sync.snapshot_project(self, dataset, **kw)

    def tag(self, name: str, rev: str = "HEAD", force: bool = False) -> dict:
        return porcelain.tag(self, name, rev, force)

    def status(self, remote: bool = True) -> dict:
        return porcelain.status(self, remote)

    def export(self, rev: str, fmt: str, out: str | Path, table: str = "annotations") -> dict:
        return porcelain.export(self, rev, fmt, out, table)

    def push(self, rev: str = "HEAD", remote: str | None = None) -> dict:
        return porcelain.push(self, rev, remote)

    def pull(self, rev: str = "HEAD", remote: str | None = None) -> dict:
        return porcelain.pull(self, rev, remote)

    def load(self, rev: str = "HEAD", table: str = "annotations", **kw: Any) -> "pa.Table":
        return self.read_table(rev, table, **kw)

    def diff(self, a: str, b: str = "HEAD", **kw: Any) -> Any:
        from annover.diffing.core import diff

        return diff(self, a, b, **kw)


def init(path: str | Path = ".", remote: str | None = None, remote_options: dict[str, str] | None = None) -> Repo:
    """``annover init``: make ``path`` an annover repository and open it."""
    porcelain.init(path, remote=remote, remote_options=remote_options)
    return Repo(path)


__all__ = ["Repo", "Version", "init"]
