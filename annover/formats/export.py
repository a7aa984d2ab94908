"""Render a version's tables in the formats people train with. Pure: tables in, bytes out."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa


def _rows(t: "pa.Table") -> list[dict]:
    return t.to_pylist()


def label_studio(tables: dict[str, "pa.Table"]) -> bytes:
    from annover.formats.label_studio import to_tasks

    tasks = to_tasks(_rows(tables["tasks"]), _rows(tables["annotations"]), _rows(tables["predictions"]))
    return (json.dumps(tasks, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def json_min(tables: dict[str, "pa.Table"], cfg_text: str | None) -> bytes:
    """Label Studio's JSON-MIN: one object per (non-skipped) annotation, controls as keys."""
    from annover.formats.label_studio import to_tasks

    tasks = to_tasks(_rows(tables["tasks"]), _rows(tables["annotations"]), [])
    out = []
    for t in tasks:
        for a in t["annotations"]:
            if a.get("was_cancelled"):
                continue
            row = {**t["data"]}
            if "id" in t:
                row["id"] = t["id"]
            by_control: dict[str, list] = {}
            for item in a["result"]:
                if "from_name" in item and "value" in item:
                    by_control.setdefault(item["from_name"], []).append(item)
            for name, items in by_control.items():
                typ = items[0].get("type")
                v0 = items[0]["value"]
                if len(items) == 1 and typ in ("choices", "taxonomy") and isinstance(v0.get(typ), list) and len(v0[typ]) == 1 and typ == "choices":
                    row[name] = v0[typ][0]
                elif len(items) == 1 and typ in ("choices", "taxonomy", "textarea", "rating", "number", "datetime"):
                    row[name] = v0
                else:
                    row[name] = [i["value"] for i in items]
            cb = a.get("completed_by")
            row["annotator"] = cb.get("email") if isinstance(cb, dict) else cb
            if "id" in a:
                row["annotation_id"] = a["id"]
            for k in ("created_at", "updated_at", "lead_time"):
                if k in a:
                    row[k] = a[k]
            out.append(row)
    return (json.dumps(out, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def jsonl(t: "pa.Table") -> bytes:
    """One JSON object per row; JSON columns (data, value, region, extra) embedded as objects."""
    buf = io.StringIO()
    for r in t.to_pylist():
        for k in ("data", "value", "region", "extra"):
            if isinstance(r.get(k), str):
                r[k] = json.loads(r[k])
        buf.write(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n")
    return buf.getvalue().encode("utf-8")


def csv(t: "pa.Table") -> bytes:
    """Flat CSV: lists joined with '|', JSON columns as JSON text."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    cols = []
    for name in t.column_names:
        col = t.column(name)
        if pa.types.is_list(col.type):
            col = pc.binary_join(col, "|")
        cols.append(col)
    flat = pa.table(cols, names=t.column_names)
    sink = pa.BufferOutputStream()
    pcsv.write_csv(flat, sink)
    return sink.getvalue().to_pybytes()


def parquet(t: "pa.Table") -> bytes:
    from annover.store.snapshots import part_bytes

    return part_bytes(t)


def render(fmt: str, tables: dict[str, "pa.Table"], cfg_text: str | None, table: str = "annotations") -> bytes:
    if fmt == "label-studio":
        return label_studio(tables)
    if fmt == "json-min":
        return json_min(tables, cfg_text)
    if fmt == "jsonl":
        return jsonl(tables[table])
    if fmt == "csv":
        return csv(tables[table])
    if fmt == "parquet":
        return parquet(tables[table])
    raise ValueError(fmt)
