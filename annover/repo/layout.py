"""Where a version's table lies on the DVC remote, for engines that read it without annover.

A distributed engine (Dask, Spark) reads Parquet straight from the remote; what it needs
from annover is the list of part files and, for a snapshot stored as base parts plus
deltas (merge-on-read, see :mod:`annover.store.snapshots`), the order in which to apply
the deltas. :func:`remote_layout` works that out on the client, from the git repository
(the version record) and the manifest (from the local store, or read from the remote
and checked against its sha256). The workers read only Parquet, by URL.

DVC 3 keeps an object with md5 ``m`` at ``<remote>/files/md5/<m[:2]>/<m[2:]>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.errors import ObjectError, UsageError
from annover.model import canonical as C
from annover.repo.core import RepoCore
from annover.store.objects import ObjectRef, first_line
from annover.store.snapshots import TASK_HASH, SnapshotRef

if TYPE_CHECKING:  # pragma: no cover
    import fsspec
else:
    fsspec = lazy("fsspec")  # DVC's file-system layer, present wherever DVC is

#: Columns a part holds that are not the table's: engines drop them.
DERIVED_COLUMNS = (TASK_HASH,)


@dataclass(frozen=True)
class Delta:
    """One delta of a merge-on-read snapshot: the rows of the tasks it adds or changes
    (``upserts``) and the task keys it removes (``deletes``), each a Parquet URL or None."""

    upserts: str | None
    deletes: str | None


@dataclass(frozen=True)
class Layout:
    """A version's table on the remote: base part URLs in key order, then deltas in order.

    A task's rows are those of the last delta naming its key (by upserts or deletes), else
    the base's. With no deltas, the table is the base parts concatenated.
    """

    table: str
    version: str
    rows: int
    base: list[str]
    deltas: list[Delta] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "version": self.version, "rows": self.rows, "base": self.base,
                "deltas": [{"upserts": d.upserts, "deletes": d.deletes} for d in self.deltas],
                "columns": self.columns}


def object_url(remote: str, md5: str) -> str:
    """The URL of the object with ``md5`` in the DVC remote at ``remote`` (DVC 3's layout)."""
    base = remote.rstrip("/")
    if "://" not in base:
        base = "file://" + base
    return f"{base}/files/md5/{md5[:2]}/{md5[2:]}"


def default_remote(repo: RepoCore) -> str:
    """The URL of the repository's default DVC remote; UsageError when it has none."""
    info = repo.dvc.remote_info()
    if info is None or not info.url:
        raise UsageError("this repository has no DVC remote", "give the remote's URL, or set one: "
                         "`annover init --remote URL`")
    return info.url


def _manifest(repo: RepoCore, ref: SnapshotRef, remote: str, storage_options: dict | None) -> dict:
    """The snapshot's manifest: from the local store when it is there, else from the remote."""
    if repo.store.has(ref.manifest):
        return json.loads(repo.store.get(ref.manifest, "snapshot manifest"))
    url = object_url(remote, ref.manifest.md5)
    try:
        with fsspec.open(url, "rb", **(storage_options or {})) as f:
            data = f.read()
    except Exception as e:  # fsspec backends raise their own errors
        raise ObjectError(f"snapshot manifest {ref.manifest.oid[:12]} could not be read from {url}: {first_line(e)}",
                          "push the version first: `annover push`") from None
    if ObjectRef.of(data) != ref.manifest:
        raise ObjectError(f"snapshot manifest {ref.manifest.oid[:12]} on the remote does not match its hash",
                          "push a good copy: `annover push` from a clone that has it")
    return json.loads(data)


def _refs(items: Any, where: str) -> list[ObjectRef]:
    if not isinstance(items, list):
        raise ObjectError(f"{where} is not a list of parts", "the store is damaged; pull it again")
    return [ObjectRef.from_json(p, f"{where} {i}") for i, p in enumerate(items)]


def remote_layout(repo: RepoCore, rev: str = "HEAD", table: str = "annotations", *, remote: str | None = None,
                  model_version: str | None = None, storage_options: dict | None = None) -> Layout:
    """The :class:`Layout` of ``table`` of version ``rev`` on the DVC remote ``remote``
    (default: the repository's own). Predictions need ``model_version``."""
    if table not in C.TABLES:
        raise UsageError(f"unknown table {table!r}", f"use one of {', '.join(C.TABLES)}")
    v = repo.show(rev)
    if table == "predictions" and model_version not in v.model_versions:
        raise UsageError(f"version {v.id[:12]} has no predictions of model_version {model_version!r}",
                         f"give model_version= one of: {', '.join(v.model_versions) or 'none'}")
    ref = v.snapshot(table, model_version) if table == "predictions" else v.snapshot(table)
    columns = [f.name for f in C.schema(table)]
    if ref is None:
        return Layout(table, v.id, 0, [], [], columns)
    url = remote or default_remote(repo)
    m = _manifest(repo, ref, url, storage_options)
    where = f"snapshot manifest {ref.manifest.oid[:12]}"
    base = _refs(m["parts"] if "parts" in m else m.get("base"), f"{where}, part")
    deltas = []
    for i, d in enumerate(m.get("deltas") or []):
        ups, dels = (ObjectRef.from_json(d[k], f"{where}, delta {i} {k}") if d.get(k) else None
                     for k in ("upserts", "deletes"))
        deltas.append(Delta(object_url(url, ups.md5) if ups else None, object_url(url, dels.md5) if dels else None))
    return Layout(table, v.id, ref.rows, [object_url(url, p.md5) for p in base], deltas, columns)
