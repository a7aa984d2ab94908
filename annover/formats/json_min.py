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
from annover.formats.text import fail, json_kind
from annover.model.config import Control, LabelingConfig

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["from_json_min", "json_min_records", "to_json_min"]

#: Keys of a JSON-MIN (or CSV) record that describe the annotation or the task, not the task's data.
META_KEYS = frozenset({"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time",
                       "agreement", "history"})
#: Result types whose single value JSON-MIN writes as the value object itself.
_SINGLE_VALUE_TYPES = ("choices", "taxonomy", "textarea", "rating", "number", "datetime")
#: The value key of a result Label Studio writes in JSON-MIN as a bare string (Choices, TextArea).
_STRING_KEYS = {"textarea": "text"}
#: Result fields JSON-MIN moves into the value; moved back.
_ITEM_FIELDS = ("original_width", "original_height")
_DATA_PREFIX = "_data_"


def from_json_min(rows: list, source: str, *, config: LabelingConfig | None = None, key: str | None = None,
                  validate: bool | str = True, users: dict[int, str] | None = None,
                  fmt: str = Format.JSON_MIN) -> Tables:
    """Canonical tables of a JSON-MIN export (records grouped into tasks by ``id``).

    A record with no ``annotation_id`` and no label is an unlabeled task (Label Studio writes
    one for each task without annotations), not an empty answer.
    """
    if config is None:
        raise InputError(f"{source}: a Label Studio {'CSV' if fmt == Format.CSV else 'JSON-MIN'} export needs "
                         "the labeling config", "pass --config LABELING.xml so annover knows which keys are labels")
    tasks: dict[Any, dict] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise fail(source, f"record {i} is {json_kind(row)}, expected an object", "give a JSON-MIN export")
        controls = {k: c for k in row if k not in META_KEYS and (c := config.control_for(k)) is not None}
        tid = row.get("id", f"row{i}")
        task = tasks.get(json.dumps(tid, sort_keys=True, default=str))
        if task is None:
            data = {_data_name(k, config): v for k, v in row.items() if k not in META_KEYS and k not in controls}
            task = tasks[json.dumps(tid, sort_keys=True, default=str)] = {
                **({"id": tid} if isinstance(tid, int) and not isinstance(tid, bool) else {}),
                "data": data, "annotations": []}
            if row.get("agreement") is not None:
                task["agreement"] = row["agreement"]
        ann = _annotation(row, i, controls, config, source)
        if ann is not None:
            task["annotations"].append(ann)
    return from_ls_tasks(list(tasks.values()), source, config=config, key=key, validate=validate, fmt=fmt,
                         users=users)


def _data_name(k: str, config: LabelingConfig) -> str:
    """A data field's name: Label Studio's CSV writes ``_data_<name>`` where it collides with a control."""
    if k.startswith(_DATA_PREFIX) and config.control_for(k[len(_DATA_PREFIX):]) is not None:
        return k[len(_DATA_PREFIX):]
    return k


def _annotation(row: dict, i: int, controls: dict[str, Control], config: LabelingConfig, source: str) -> dict | None:
    """The Label Studio annotation one JSON-MIN record holds; None for an unlabeled task's record."""
    values = {name: row[name] for name in controls if row[name] not in (None, "", [], {})}
    if row.get("annotation_id") in (None, "") and not values:
        return None
    result = []
    for name, v in values.items():
        result.extend(_results(name, controls[name], v, config, f"record {i}, field {name!r}", source))
    ann: dict[str, Any] = {"completed_by": row.get("annotator") if row.get("annotator") != "" else None,
                           "result": result}
    for k in ("created_at", "updated_at", "lead_time", "history"):
        if row.get(k) not in (None, ""):
            ann[k] = row[k]
    if isinstance(row.get("annotation_id"), int):
        ann["id"] = row["annotation_id"]
    return ann


def _results(name: str, ctl: Control, v: Any, config: LabelingConfig, where: str, source: str) -> list[dict]:
    """Result items of one control's value in a record (a label, a value object, a list of them)."""
    to_name = ctl.to_name[0] if ctl.to_name else None
    if to_name is not None and ctl.name != name:
        to_name = config.expand(ctl.name, name, to_name)  # a Repeater's control and its object
    typ = ctl.result_type

    def item(value: Any) -> dict:
        value = dict(value) if isinstance(value, dict) else value
        moved = {k: value.pop(k) for k in _ITEM_FIELDS if isinstance(value, dict) and k in value}
        return {"from_name": name, "to_name": to_name, "type": typ, **moved, "value": value}

    if isinstance(v, str):
        return [item({_STRING_KEYS.get(typ, typ): [v]})]
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
    return json_min_records(to_tasks(tables["tasks"].to_pylist(), tables["annotations"].to_pylist(), []))


def json_min_records(tasks: list[dict]) -> list[dict]:
    """JSON-MIN records of Label Studio tasks: one per annotation that is not a skip (a task of no
    answer, or of predictions only, has no ``annotations`` and no record)."""
    return [_record(t, a) for t in tasks for a in t.get("annotations", ()) if not a.get("was_cancelled")]


def _min_value(item: dict) -> Any:
    """A result's value as JSON-MIN writes it: with the image size the result gives (as Label Studio's does)."""
    v = item["value"]
    moved = {k: item[k] for k in _ITEM_FIELDS if k in item}
    return {**v, **moved} if moved and isinstance(v, dict) else v


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
        v0 = _min_value(items[0])
        if len(items) == 1 and typ == "choices" and isinstance(v0.get(typ), list) and len(v0[typ]) == 1:
            row[name] = v0[typ][0]
        elif len(items) == 1 and typ in _SINGLE_VALUE_TYPES:
            row[name] = v0
        else:
            row[name] = [_min_value(i) for i in items]
    cb = a.get("completed_by")
    row["annotator"] = cb.get("email") if isinstance(cb, dict) else cb
    if "id" in a:
        row["annotation_id"] = a["id"]
    for k in ("created_at", "updated_at", "lead_time"):
        if k in a:
            row[k] = a[k]
    return row
