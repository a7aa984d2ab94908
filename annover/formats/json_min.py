"""Label Studio JSON-MIN in and out: one flat object per annotation, control names as keys.

Reading needs the labeling config, to tell label keys from task data keys; each record
becomes a Label Studio task and is read as one (:func:`annover.formats.label_studio.from_ls_tasks`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from annover.errors import InputError
from annover.formats import Format
from annover.formats.label_studio import from_ls_tasks, to_tasks
from annover.formats.tables import Tables
from annover.formats.text import fail
from annover.model.config import Control, LabelingConfig

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["from_json_min", "to_json_min"]

#: Keys of a JSON-MIN record that describe the annotation, not the task.
META_KEYS = frozenset({"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time"})
#: Result types whose single value JSON-MIN writes as the value object itself.
_SINGLE_VALUE_TYPES = ("choices", "taxonomy", "textarea", "rating", "number", "datetime")


def from_json_min(rows: list, source: str, *, config: LabelingConfig | None = None, key: str | None = None,
                  validate: bool = True) -> Tables:
    """Canonical tables of a JSON-MIN export (records grouped into tasks by ``id``)."""
    if config is None:
        raise InputError(f"{source}: a JSON-MIN export needs the labeling config",
                         "pass --config LABELING.xml so annover knows which keys are labels")
    controls = config.controls
    tasks: dict[Any, dict] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise fail(source, f"record {i} is {type(row).__name__}, expected an object", "give a JSON-MIN export")
        tid = row.get("id", f"row{i}")
        data = {k: v for k, v in row.items() if k not in META_KEYS and k not in controls}
        task = tasks.setdefault(json.dumps(tid, sort_keys=True, default=str),
                                {"data": data, "annotations": [], **({"id": tid} if isinstance(tid, int) else {})})
        task["annotations"].append(_annotation(row, i, controls, source))
    return from_ls_tasks(list(tasks.values()), source, config=config, key=key, validate=validate,
                         fmt=Format.JSON_MIN)


def _annotation(row: dict, i: int, controls: dict[str, Control], source: str) -> dict:
    """The Label Studio annotation one JSON-MIN record holds."""
    result = []
    for name, ctl in controls.items():
        if name in row:
            result.extend(_results(name, ctl, row[name], f"record {i}, field {name!r}", source))
    ann: dict[str, Any] = {"completed_by": row.get("annotator"), "result": result}
    for k in ("created_at", "updated_at", "lead_time"):
        if k in row:
            ann[k] = row[k]
    if isinstance(row.get("annotation_id"), int):
        ann["id"] = row["annotation_id"]
    return ann


def _results(name: str, ctl: Control, v: Any, where: str, source: str) -> list[dict]:
    """Result items of one control's value in a record (a label, a value object, a list of them)."""
    to_name = ctl.to_name[0] if ctl.to_name else None
    typ = ctl.result_type

    def item(value: Any) -> dict:
        return {"from_name": name, "to_name": to_name, "type": typ, "value": value}

    if isinstance(v, str):
        return [item({typ: [v]})]
    if isinstance(v, dict):
        return [item(v)]
    if isinstance(v, list):
        bad = next((x for x in v if not isinstance(x, dict)), None)
        if bad is not None:
            raise fail(source, f"{where}: list item {bad!r} is not an object", "give a JSON-MIN export from Label Studio")
        return [item(x) for x in v]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return [item({typ: v})]
    return []


def to_json_min(tables: dict[str, "pa.Table"]) -> list[dict]:
    """JSON-MIN records of a version: one per annotation that is not a skip."""
    tasks = to_tasks(tables["tasks"].to_pylist(), tables["annotations"].to_pylist(), [])
    return [_record(t, a) for t in tasks for a in t["annotations"] if not a.get("was_cancelled")]


def _record(t: dict, a: dict) -> dict:
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
        if len(items) == 1 and typ == "choices" and isinstance(v0.get(typ), list) and len(v0[typ]) == 1:
            row[name] = v0[typ][0]
        elif len(items) == 1 and typ in _SINGLE_VALUE_TYPES:
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
    return row
