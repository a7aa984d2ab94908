"""The link from a version to the source data its tasks point at (``snapshot --source``).

The link records the folder's DVC hash where DVC tracks it and the sha256 of every file;
each task whose data names one of those files gets that file's sha256 as ``data_hash``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.errors import InputError, NotFoundError
from annover.files import sha256_file
from annover.formats.text import refuse_special
from annover.model import canonical as C
from annover.repo.core import RepoCore
from annover.store import dvc as dvc_adapter

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from annover.formats import images
else:
    images = lazy("annover.formats.images")  # the image formats' helpers: only with --source
    pa = lazy("pyarrow")

__all__ = ["data_hashes", "hash_source", "inside"]


def inside(base: Path, p: Path, what: str) -> Path:
    """``p`` resolved, refused (InputError) unless it is inside ``base``."""
    rp = p.resolve()
    try:
        rp.relative_to(base.resolve())
    except ValueError:
        raise InputError(f"{what} {p} is outside the repository ({base})",
                         "move or copy the data into the repository, or give a path inside it") from None
    return rp


def hash_source(repo: RepoCore, path: str) -> tuple[dict, dict[str, str]]:
    """(the link, {relative path: sha256}) of the source data at ``path`` (a file or a folder)."""
    p = inside(repo.toplevel, Path(path) if Path(path).is_absolute() else Path.cwd() / path, "--source")
    if not p.exists():
        raise NotFoundError(f"--source {path}: no such file or folder", "give the folder the tasks point at")
    refuse_special(p, "--source")  # was: taken for a folder of no files
    files: dict[str, str] = {}
    if p.is_file():
        files[p.name] = sha256_file(p)
    else:
        for f in sorted(p.rglob("*")):
            if f.is_file() and not f.is_symlink():
                files[f.relative_to(p).as_posix()] = sha256_file(f)
    link: dict[str, Any] = {"path": repo.rel(p), "nfiles": len(files),
                            "sha256": hashlib.sha256(C.canonical_json(files).encode()).hexdigest()}
    link["dvc_md5"] = dvc_adapter.tracked_md5(p)
    return link, files


def _file_of(data_json: str, by_suffix: "dict[str, str | None]") -> str | None:
    """The sha256 of the first source file a task's data names, if any: the longest tail of the
    path it gives that names a file (a tail two files of different content end in names none)."""
    for v in json.loads(data_json).values():
        if not isinstance(v, str):
            continue
        for tail in images.path_tails(v):
            found = by_suffix.get(tail)
            if found:
                return found
    return None


def data_hashes(tasks: "pa.Table", files: dict[str, str], source_rel: str) -> "pa.Table":
    """``tasks`` with ``data_hash`` set for tasks whose data points at a file of the source data."""
    if not files:
        return tasks
    by_suffix: dict[str, str | None] = {}
    for rel, digest in files.items():
        parts = rel.split("/")
        for i in range(1, len(parts)):  # each shorter tail: a task naming `a.jpg` finds `train/a.jpg`
            tail = "/".join(parts[i:])
            by_suffix[tail] = digest if by_suffix.get(tail, digest) == digest else None  # two contents: none
    for rel, digest in files.items():
        by_suffix[rel] = digest
        by_suffix[f"{source_rel}/{rel}"] = digest
    out = [_file_of(d, by_suffix) for d in tasks.column("data").to_pylist()]
    idx = tasks.schema.get_field_index("data_hash")
    return tasks.set_column(idx, tasks.schema.field(idx), pa.array(out, pa.string()))
