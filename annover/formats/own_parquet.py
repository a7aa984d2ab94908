"""annover's own annotations Parquet (``annover export --format parquet``) -> canonical tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from annover._lazy import lazy
from annover.formats import Format
from annover.formats.flat import column_names
from annover.formats.tables import Tables, empty, finish, first_of_each, task_data_for_keys
from annover.formats.text import fail
from annover.formats.validate import check_label_column, controls_of
from annover.formats.write import JSON_COLUMNS, JSON_TEXT
from annover.model import canonical as C
from annover.model.config import LabelingConfig

if TYPE_CHECKING:
    import numpy as np
    import orjson
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")
    pq = lazy("pyarrow.parquet")
    orjson = lazy("orjson")

__all__ = ["from_canonical", "is_canonical", "read_parquet"]

#: Columns a canonical annotations table may leave out (filled with defaults).
_DEFAULTED = frozenset({"position", "was_cancelled", "ground_truth"})


def read_parquet(path: Path) -> "pa.Table":
    """A Parquet file as one table."""
    try:  # ParquetFile, not read_table: no dataset scanner (and no pandas import)
        return pq.ParquetFile(path, pre_buffer=False).read()
    except UnicodeDecodeError as e:  # a column name in the footer that is not UTF-8
        raise fail(path, f"cannot read Parquet: a name in its schema is not UTF-8 text ({e.reason})",
                   "give a valid Parquet file") from None
    except (pa.ArrowException, OSError) as e:
        raise fail(path, f"cannot read Parquet: {(str(e).strip() or type(e).__name__).splitlines()[0]}",
                   "give a valid Parquet file") from None


def is_canonical(table: "pa.Table") -> bool:
    """Whether a table is annover's annotations table (it has all three key columns) rather than
    flat rows: one column of that name alone (``annotation_key``) does not make it one."""
    try:
        names = set(table.column_names)
    except UnicodeDecodeError:
        return False  # flat rows' reader says which name is not UTF-8
    return all(k in names for k in C.KEYS["annotations"])


def canonical_rows(rows: list[dict], source: str) -> "pa.Table":
    """Rows of annover's annotations table as ``export --format jsonl`` writes them (the JSON
    columns embedded as values: an object, a list, a string...) back as the table: those
    columns as canonical JSON text again."""
    names = set().union(*rows)
    given = [f for f in C.schema("annotations") if f.name in names]
    cols = {}
    for f in given:
        values = [r.get(f.name) for r in rows]
        if f.name in JSON_COLUMNS:
            values = [None if v is None else C.canonical_json(v) for v in values]
        elif pa.types.is_list(f.type):  # pyarrow would take a string as a list of its characters
            bad = next((i for i, v in enumerate(values) if v is not None and not isinstance(v, list)), None)
            if bad is not None:
                raise fail(source, f"line {bad + 1}: field {f.name!r} is not a list",
                           "give a file written by annover export")
        try:
            cols[f.name] = pa.array(values, f.type)
        except (pa.ArrowException, TypeError, ValueError):
            raise _wrong_type(values, f, source) from None
    return pa.table(cols)


def _wrong_type(values: list, f: "pa.Field", source: str) -> Exception:
    """The error naming the first row whose ``f`` value is not of ``f``'s type."""
    for i, v in enumerate(values):
        try:
            pa.array([v], f.type)
        except (pa.ArrowException, TypeError, ValueError) as e:
            return fail(source, f"line {i + 1}: field {f.name!r} is not {f.type}: {str(e).splitlines()[0]}",
                        "give a file written by annover export")
    return fail(source, f"field {f.name!r} is not {f.type}", "give a file written by annover export")


def _column_of_wrong_type(table: "pa.Table", want: "pa.Schema", source: str, e: Exception) -> Exception:
    """The error naming the first column of ``table`` that does not cast to its type in ``want``."""
    for name in table.column_names:
        f = want.field(name)
        try:
            table.column(name).cast(f.type)
        except (pa.ArrowException, ValueError) as err:
            return fail(source, f"column {name!r} is {table.column(name).type}, expected {f.type} "
                                f"({str(err).splitlines()[0]})", "give a Parquet file written by annover export")
    return fail(source, f"a column has the wrong type: {str(e).splitlines()[0]}",
                "give a Parquet file written by annover export")


def _check_json_columns(ann: "pa.Table", source: str) -> None:
    """Each JSON text column (value, region, extra, ls_original) holds JSON objects or nulls, as
    annover writes them: a version must not keep text its exports and diffs cannot parse."""
    for name in sorted(JSON_TEXT & set(ann.column_names)):
        col = ann.column(name)
        for v in pc.unique(col).to_pylist():
            if v is None:
                continue
            try:
                obj = orjson.loads(v)
            except orjson.JSONDecodeError:
                obj = None
            what = ("is not a JSON object" if not isinstance(obj, dict)
                    else _provenance_problem(obj) if name == "ls_original" else None)
            if what:
                i = int(np.flatnonzero(pc.fill_null(pc.equal(col, v), False).to_numpy(zero_copy_only=False))[0])
                raise fail(source, f"row {i} (task_key {ann.column('task_key')[i].as_py()}), column {name!r}: "
                                   f"{v[:40]!r} {what}",
                           f"give {name} as JSON object text, or leave it empty; or give a Parquet file written "
                           "by annover export")


#: what each part of an answer row's ``ls_original`` holds (see :mod:`annover.formats.ls_writer`)
_PROVENANCE = {"+": dict, "-": list, "i": int, "as": str}


def _provenance_problem(obj: dict) -> str | None:
    """What is wrong with an answer row's ``ls_original`` (``{"a": diff, "r": diff}``), None when
    it is of the shape annover writes (its exports read it back)."""
    for part, d in obj.items():
        if part not in ("a", "r") or not isinstance(d, dict):
            return f"is not annover's provenance: {part!r} is not an object under 'a' or 'r'"
        for k, v in d.items():
            kind = _PROVENANCE.get(k)
            if kind is None or not isinstance(v, kind) or isinstance(v, bool) or (
                    k == "-" and not all(isinstance(x, str) for x in v)):
                return f"is not annover's provenance: {part}.{k} is {type(v).__name__}"
    return None


def from_canonical(table: "pa.Table", source: str, *, config: LabelingConfig | None = None,
                   validate: bool = True) -> Tables:
    """An annotations table in annover's schema; tasks are made from its keys."""
    want = C.schema("annotations")
    column_names(table, source)
    missing = [f.name for f in want if f.name not in table.column_names and not f.nullable
               and f.name not in _DEFAULTED]
    if missing:
        raise fail(source, f"missing column(s) {', '.join(missing)}", "give a Parquet file written by annover export")
    given = table.select([c for c in table.column_names if c in want.names])
    try:
        ann = C.conform(given, "annotations")
    except (pa.ArrowException, ValueError) as e:
        raise _column_of_wrong_type(given, want, source, e) from None
    _check_json_columns(ann, source)
    for k in C.KEYS["annotations"]:
        col = ann.column(k)
        bad = pc.is_null(col) if k == "region_key" else pc.fill_null(pc.equal(col, ""), True)
        if pc.any(bad).as_py():
            i = int(np.flatnonzero(bad.to_numpy(zero_copy_only=False))[0])
            raise fail(source, f"row {i}: empty {k}", "every row of annover's annotations table has its keys")
    if validate and config is not None:
        names = [fn for fn in pc.unique(ann.column("from_name")).to_pylist() if fn is not None]
        labels = ann.column("labels")
        check_label_column(pc.list_flatten(labels), pc.list_parent_indices(labels), ann.column("from_name"),
                           ann.column("task_key"), controls_of(names, config, source, validate), config, source)
    ann = finish(ann, "annotations", source)
    keys = first_of_each(ann.column("task_key"), ann)  # sorted, distinct
    tasks = pa.table({"task_key": keys, "data": task_data_for_keys(keys, "task_key")})
    return Tables(finish(tasks, "tasks", source), ann, empty("predictions"), Format.PARQUET.value, [])
