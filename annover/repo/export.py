"""Versions out: ``export`` (a file to train with or to re-import) and ``load`` (an Arrow table).

``load`` also reads a repository that is not cloned: from its git URL, through DVC's
filesystem (the record from git, the objects from the DVC remote), each object verified.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from annover._lazy import lazy
from annover.errors import ObjectError, RevisionError, UsageError
from annover.files import write_atomic
from annover.formats import EXPORT_FORMATS
from annover.formats.write import TABLE_FORMATS, render
from annover.model import canonical as C
from annover.repo.core import ANNOVER_DIR, RepoCore, read_version_table
from annover.repo.results import ExportResult
from annover.store import dvc as dvc_adapter
from annover.store.objects import FsStore, first_line
from annover.store.versions import Version

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
else:
    pa = lazy("pyarrow")

__all__ = ["check_table", "export", "load_url"]

#: revisions that name the current version (of a git URL: its default branch)
HEAD_NAMES = ("HEAD", "@")


def check_table(table: str) -> None:
    if table not in C.TABLES:
        raise UsageError(f"unknown table {table!r}", f"use one of {', '.join(C.TABLES)}")


def export(repo: RepoCore, rev: str, fmt: str, out: str | Path, table: str = "annotations") -> ExportResult:
    """Write version ``rev`` as ``fmt`` to ``out`` (written whole, then renamed into place)."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", f"use one of {', '.join(EXPORT_FORMATS)}")
    check_table(table)
    v = repo.show(rev)
    tables = {name: read_version_table(repo.store, v, name) for name in C.TABLES}
    cfg_text = repo.config_text(v.id) if v.config_ref else None
    data = render(fmt, tables, cfg_text, table)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
    rows = tables[table].num_rows if fmt in TABLE_FORMATS else tables["tasks"].num_rows
    return ExportResult(v.id, fmt, str(path), len(data), rows)


def load_url(url: str, rev: str, table: str, model_version: str | None = None,
             columns: list[str] | None = None) -> "pa.Table":
    """A table of version ``rev`` (a git rev: a tag such as ``v2``, a branch, HEAD) of the
    repository at git URL ``url``, read through DVC's API from its DVC remote."""
    check_table(table)
    git_rev = None if rev in HEAD_NAMES else rev
    try:
        fs = dvc_adapter.open_fs(url, git_rev)
        head = fs.read_text(f"{ANNOVER_DIR}/HEAD").strip()
        record = json.loads(fs.read_text(f"{ANNOVER_DIR}/versions/{head}.json"))
    except Exception as e:  # noqa: BLE001 - whatever DVC or git raise: one error that names the URL
        raise RevisionError(f"cannot read annover version {rev!r} from {url}: {first_line(e)}",
                            "give a git URL or path of an annover repo and a git rev (a tag like v2)") from None
    if C.json_digest(record) != head:
        raise ObjectError(f"version record {head[:12]} in {url} does not match its id", "the remote repo is damaged")
    return read_version_table(FsStore(fs, ANNOVER_DIR), Version(head, record), table, model_version, columns)
