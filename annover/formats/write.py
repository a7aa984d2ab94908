"""A version's tables rendered in the formats people train with. Pure: tables in, bytes out."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

from annover._lazy import lazy
from annover.errors import UsageError
from annover.formats import EXPORT_FORMATS, Format
from annover.formats.json_min import to_json_min
from annover.formats.label_studio import to_tasks
from annover.store.snapshots import part_bytes

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")
    pcsv = lazy("pyarrow.csv")

__all__ = ["csv", "json_min", "jsonl", "label_studio", "parquet", "render"]

#: Columns holding JSON text, written as JSON values in JSONL.
JSON_COLUMNS = ("data", "value", "region", "extra")
#: Formats that write one table (the others write tasks with their answers).
TABLE_FORMATS = (Format.JSONL, Format.CSV, Format.PARQUET)


def _json_bytes(doc: object) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def label_studio(tables: dict[str, "pa.Table"]) -> bytes:
    """Label Studio JSON: tasks with their annotations and predictions, to import again."""
    return _json_bytes(to_tasks(tables["tasks"].to_pylist(), tables["annotations"].to_pylist(),
                                tables["predictions"].to_pylist()))


def json_min(tables: dict[str, "pa.Table"], cfg_text: str | None = None) -> bytes:
    """Label Studio's JSON-MIN: one object per (non-skipped) annotation, controls as keys."""
    return _json_bytes(to_json_min(tables))


def jsonl(t: "pa.Table") -> bytes:
    """One JSON object per row; JSON columns (data, value, region, extra) embedded as objects."""
    buf = io.StringIO()
    for r in t.to_pylist():
        for k in JSON_COLUMNS:
            if isinstance(r.get(k), str):
                r[k] = json.loads(r[k])
        buf.write(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n")
    return buf.getvalue().encode("utf-8")


def csv(t: "pa.Table") -> bytes:
    """Flat CSV: lists joined with '|', JSON columns as JSON text."""
    cols = [pc.binary_join(c, "|") if pa.types.is_list(c.type) else c for c in t.columns]
    sink = pa.BufferOutputStream()
    pcsv.write_csv(pa.table(cols, names=t.column_names), sink)
    return sink.getvalue().to_pybytes()


def parquet(t: "pa.Table") -> bytes:
    """Parquet written as annover writes its parts (``annover snapshot`` reads it back)."""
    return part_bytes(t)


def render(fmt: str, tables: dict[str, "pa.Table"], cfg_text: str | None = None, table: str = "annotations") -> bytes:
    """``tables`` as ``fmt`` (one of :data:`EXPORT_FORMATS`); the one-table formats write ``table``."""
    if fmt == Format.LABEL_STUDIO:
        return label_studio(tables)
    if fmt == Format.JSON_MIN:
        return json_min(tables)
    if fmt == Format.JSONL:
        return jsonl(tables[table])
    if fmt == Format.CSV:
        return csv(tables[table])
    if fmt == Format.PARQUET:
        return parquet(tables[table])
    raise UsageError(f"unknown export format {fmt!r}", f"use one of {', '.join(EXPORT_FORMATS)}")
