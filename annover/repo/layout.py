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

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.errors import ObjectError, RemoteError, UsageError
from annover.model import canonical as C
from annover.repo.core import RepoCore, check_model_version
from annover.store.credentials import has_password, is_local_url
from annover.store.dvc import redact
from annover.store.objects import ObjectRef, ObjectStore, first_line, unreadable, verify
from annover.store.snapshots import Layout, SnapshotRef, read_manifest
from annover.store.versions import Version

if TYPE_CHECKING:  # pragma: no cover
    import fsspec
else:
    fsspec = lazy("fsspec")  # DVC's file-system layer, present wherever DVC is

@dataclass(frozen=True)
class RemoteDelta:
    """One delta of a merge-on-read snapshot: the rows of the tasks it adds or changes
    (``upserts``) and the task keys it removes (``deletes``), each a Parquet URL or None."""

    upserts: str | None
    deletes: str | None


@dataclass(frozen=True)
class RemoteLayout:
    """A version's table on the remote: base part URLs in key order, then deltas in order.

    A task's rows are those of the last delta naming its key (by upserts or deletes), else
    the base's. With no deltas, the table is the base parts concatenated.
    """

    table: str
    version: str
    rows: int
    base: list[str]
    deltas: list[RemoteDelta] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "version": self.version, "rows": self.rows, "base": self.base,
                "deltas": [{"upserts": d.upserts, "deletes": d.deletes} for d in self.deltas],
                "columns": self.columns}


def object_url(remote: str, md5: str) -> str:
    """The URL of the object with ``md5`` in the DVC remote at ``remote`` (DVC 3's layout); a folder
    given relative is taken from the current directory, as a path given to pandas or pyarrow is."""
    base = remote.rstrip("/")
    if "://" not in base:  # a folder: absolute, as a reader's file:// URL must be (file://../x names host '..')
        base = "file://" + os.path.abspath(os.path.expanduser(base))
    return f"{base}/files/md5/{md5[:2]}/{md5[2:]}"


def default_remote(repo: RepoCore) -> str:
    """The URL of the repository's default DVC remote; UsageError when it has none."""
    info = repo.dvc.remote_info()
    if info is None or not info.url:
        raise UsageError("this repository has no DVC remote", "give the remote's URL, or set one: "
                         "`annover init --remote URL`")
    return info.url


class RemoteStore(ObjectStore):
    """Objects read by md5 from a DVC remote through fsspec (read-only), checked by sha256."""

    def __init__(self, remote: str, storage_options: dict | None = None) -> None:
        self.remote = remote
        self.storage_options = storage_options or {}

    def locate(self, ref: ObjectRef) -> Path | None:
        return None

    def has(self, ref: ObjectRef) -> bool:
        try:
            fs, path = fsspec.core.url_to_fs(object_url(self.remote, ref.md5), **self.storage_options)
            return bool(fs.exists(path))
        except Exception:  # fsspec backends raise their own errors
            return False

    def get(self, ref: ObjectRef, what: str = "object") -> bytes:
        url = object_url(self.remote, ref.md5)
        try:
            with fsspec.open(url, "rb", **self.storage_options) as f:
                data = f.read()
        except Exception as e:  # fsspec backends raise their own errors
            err = unreadable(e, f"{what} {ref.oid[:12]} could not be read from {redact(url)}",
                             "push the version first (`annover push`), or give the URL of the remote it was "
                             "pushed to", "check the remote's address and keys "
                             "(storage_options=, or AWS_ACCESS_KEY_ID... in the environment)")
            err.message = redact(err.message)  # no key of a URL shown
            err.args = (err.message,)
            raise err from None
        return verify(ref, data, what, redact(url), "delete that object on the remote, then push a good copy "
                      "from a clone that has it: `annover push` (a push leaves an object already there as it is)")


def remote_options(repo: RepoCore, remote: str | None = None) -> dict[str, Any]:
    """The fsspec options to read ``remote`` with: for the repository's own remote (None, or its
    URL, ``s3a://`` taken for ``s3://``), those DVC's config gives it (an ``endpointurl``, keys);
    {} for a folder and any other remote, whose options the caller gives. DVC is asked only then."""
    if remote is not None and is_local_url(remote):
        return {}
    info = repo.dvc.configured_remote()  # read from DVC's config files, without importing DVC
    own = info.url.rstrip("/") if info is not None and info.url else None
    if own is not None and is_local_url(own):
        return {}
    if remote is not None and (own is None or re.sub(r"^s3a://", "s3://", remote.rstrip("/")) != own):
        return {}
    return repo.dvc.remote_fs_args()


def check_no_password(remote: str) -> None:
    """UsageError for a remote URL holding ``user:password@``: the engines take keys as options
    (s3fs reads ``KEY:SECRET@bucket`` as a bucket name, and quotes it in its errors)."""
    if has_password(remote):
        raise UsageError(f"the remote URL {redact(remote)} holds a password", "give the keys as storage_options= "
                         "(S3: key=, secret=) or in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), "
                         "not in the URL")


def remote_layout(repo: RepoCore, rev: str = "HEAD", table: str = "annotations", *, remote: str | None = None,
                  model_version: str | None = None, storage_options: dict | None = None) -> RemoteLayout:
    """The :class:`RemoteLayout` of ``table`` of version ``rev`` on the DVC remote ``remote``
    (default: the repository's own). Predictions need ``model_version``. A manifest not pulled is
    read from the remote with ``storage_options`` (default: :func:`remote_options`)."""
    if table not in C.TABLES:
        raise UsageError(f"unknown table {table!r}", f"use one of {', '.join(C.TABLES)}")
    if remote is not None:
        check_no_password(remote)
    check_model_version(table, model_version)  # ignored otherwise, as annover.load refuses it
    v = repo.show(rev)
    if table == "predictions" and model_version not in v.model_versions:
        what = ("predictions are read one model version at a time: no model_version given" if model_version is None
                else f"version {v.id[:12]} has no predictions of model_version {model_version!r}")
        raise UsageError(what, f"give model_version= one of: {', '.join(v.model_versions) or 'none'}")
    ref = v.snapshot(table, model_version) if table == "predictions" else v.snapshot(table)
    columns = [f.name for f in C.schema(table)]
    if ref is None:
        return RemoteLayout(table, v.id, 0, [], [], columns)
    url = remote or default_remote(repo)
    local = repo.store.has(ref.manifest)  # a pulled version's manifest is here already
    if not local and storage_options is None:
        storage_options = remote_options(repo, remote)
    lay = Layout.of(read_manifest(repo.store if local else RemoteStore(url, storage_options), ref))
    deltas = [RemoteDelta(object_url(url, up.md5) if up else None, object_url(url, dl.md5) if dl else None)
              for up, dl in lay.deltas]
    return RemoteLayout(table, v.id, ref.rows, [object_url(url, p.md5) for p in lay.base], deltas, columns)


def engine_line(e: BaseException) -> str:
    """The line of an engine's error that says what failed: Dask wraps a backend's error as
    "An error occurred while calling the read_parquet method ...\nOriginal Message: <it>", and
    its first line names no file; the backend's own message does."""
    s = str(e)
    _, marker, cause = s.partition("Original Message:")
    if marker and cause.strip():
        return first_line(ValueError(cause))
    lines = [x.strip() for x in s.splitlines() if x.strip()]
    if len(lines) > 1 and lines[0].startswith("An error occurred while calling o"):  # py4j: the Java error follows
        return lines[1].lstrip(": ")
    return first_line(e)


#: An engine's words for a file that is not Parquet (pyarrow's, Spark's)
_DAMAGED = re.compile(r"magic bytes not found|CANNOT_READ_FILE_FOOTER|is not a Parquet file", re.I)


def damaged(e: BaseException) -> bool:
    """Whether an engine's error ``e`` says a part it read is not Parquet."""
    return bool(_DAMAGED.search(str(e)))


def damaged_on_remote(layout: RemoteLayout, rev: str, e: BaseException) -> ObjectError:
    """What a reader says when a part of version ``rev`` on the remote is not Parquet (exit 8)."""
    return ObjectError(f"version {rev} ({layout.version[:12]}): a part of its {layout.table} on the DVC remote is "
                       f"damaged: {redact(engine_line(e))}", "delete that object on the remote and push a good "
                       "copy from a clone that has the version: `annover push`")


def not_on_remote(layout: RemoteLayout, rev: str, e: BaseException) -> RemoteError:
    """What a reader says when a part of version ``rev`` is not where the remote should hold it
    (``e``: the engine's own error, the line of it that names the file kept)."""
    return RemoteError(f"version {rev} ({layout.version[:12]}): a part of its {layout.table} is not on the DVC remote: "
                       f"{redact(engine_line(e))}",
                       "run `annover push` to copy the version's objects there, or name the remote that holds them")


def cannot_read_remote(layout: RemoteLayout, rev: str, e: BaseException) -> RemoteError:
    """What a reader says when the remote does not answer or refuses it (``e``: the engine's error)."""
    return RemoteError(f"version {rev} ({layout.version[:12]}): the DVC remote could not be read: "
                       f"{redact(engine_line(e))}",
                       "check the remote's address and keys (storage_options=, or AWS_ACCESS_KEY_ID... in the "
                       "environment); `annover status` asks the remote the same way")


def _snapshots(v: Version) -> list[tuple[str, SnapshotRef]]:
    """(name, snapshot) of each table of ``v``: tasks, annotations, ``predictions MODEL_VERSION``."""
    named = [(name, v.snapshot(name)) for name in ("tasks", "annotations")]
    named += [(f"predictions {mv}", v.snapshot("predictions", mv)) for mv in v.model_versions]
    return [(name, ref) for name, ref in named if ref is not None]


def storage(repo: RepoCore, v: Version) -> dict | None:
    """How version ``v`` is stored (None where its objects are not here: not pulled): per table,
    written whole or as base parts plus deltas; its objects and their bytes; and those of
    them its parents do not have, what the version added (None where a parent's are not here)."""
    try:
        tables = {}
        for name, ref in _snapshots(v):
            lay = Layout.of(read_manifest(repo.store, ref))
            tables[name] = {"layout": "deltas" if lay.deltas else "whole", "base_parts": len(lay.base),
                            "deltas": len(lay.deltas), "upserted_rows": sum(u for u, _ in lay.delta_rows),
                            "deleted_tasks": sum(d for _, d in lay.delta_rows)}
        mine = {r.oid: r.size for r in repo.objects_of(v)}
    except ObjectError:
        return None
    out = {"tables": tables, "objects": len(mine), "bytes": sum(mine.values()), "new_objects": None,
           "new_bytes": None}
    try:
        theirs = {r.oid for p in v.parents for r in repo.objects_of(repo.version(p))}
    except ObjectError:
        return out
    new = [size for oid, size in mine.items() if oid not in theirs]
    return {**out, "new_objects": len(new), "new_bytes": sum(new)}
