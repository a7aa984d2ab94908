"""Label Studio JSON tasks (a full export) in and out.

:func:`parse_tasks` turns parsed tasks into canonical row dicts, :func:`from_ls_tasks` into
checked canonical tables, and :func:`to_tasks` rebuilds export tasks from canonical rows.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from annover.errors import InputError
from annover.formats import Format
from annover.formats.tables import Tables, rows_to_tables
from annover.formats.validate import Where, check_results
from annover.model.canonical import canonical_json, canonical_json_or_none
from annover.model.config import LabelingConfig

# Task fields Label Studio computes or owns; not part of what a user labeled.
TASK_SERVER_FIELDS = {
    "id", "data", "annotations", "completions", "predictions", "drafts", "created_at", "updated_at",
    "inner_id", "total_annotations", "cancelled_annotations", "total_predictions",
    "comment_count", "unresolved_comment_count", "last_comment_updated_at", "project",
    "updated_by", "file_upload", "comment_authors", "is_labeled", "overlap",
    "annotations_results", "predictions_results", "predictions_score", "annotators",
    "annotations_ids", "predictions_model_versions", "avg_lead_time", "draft_exists",
    "storage_filename", "completed_at", "reviewers", "reviewed", "ground_truth",
    "annotations_count", "predictions_count", "allow_skip", "precomputed_agreement",
}
ANNOTATION_SERVER_FIELDS = {
    "id", "completed_by", "result", "was_cancelled", "ground_truth", "created_at", "updated_at",
    "lead_time", "task", "project", "updated_by", "result_count", "unique_id", "import_id",
    "last_action", "last_created_by", "bulk_created", "draft_created_at", "prediction",
    "parent_prediction", "parent_annotation", "created_username", "created_ago", "state",
}
PREDICTION_SERVER_FIELDS = {
    "id", "model_version", "score", "result", "task", "project", "created_at", "updated_at",
    "cluster", "neighbors", "mislabeling", "model", "model_run", "created_ago",
}
REGION_FIELDS = {"id", "from_name", "to_name", "type", "value"}

#: Value keys that hold the label(s) of a result, by result type.
LABEL_KEYS = (
    "choices", "labels", "rectanglelabels", "polygonlabels", "keypointlabels", "brushlabels",
    "ellipselabels", "videorectangle", "timeserieslabels", "paragraphlabels", "hypertextlabels",
    "taxonomy", "rating", "pairwise", "selected", "ranker",
)
_LABEL_KEYS = LABEL_KEYS  # the old name, until every caller reads LABEL_KEYS


class RecordError(ValueError):
    """A record of the input is wrong; carries where (task index, key, field)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def labels_of(item: dict) -> list[str] | None:
    """The label strings of one result item (choices, span/box labels, taxonomy paths...)."""
    if item.get("type") == "relation":
        labels = item.get("labels")
        return [str(x) for x in labels] if labels else None
    value = item.get("value")
    if not isinstance(value, dict):
        return None
    for k in LABEL_KEYS:
        if k not in value:
            continue
        v = value[k]
        if k == "taxonomy" and isinstance(v, list):
            return ["/".join(str(p) for p in path) if isinstance(path, list) else str(path) for path in v]
        if isinstance(v, list):
            if v and all(isinstance(x, (str, int, float)) for x in v):
                return [str(x) for x in v]
            if not v:
                return []
            continue
        if isinstance(v, (str, int, float)) and not isinstance(v, bool):
            return [str(v)]
    return None


def annotator_of(completed_by: Any) -> str | None:
    """A stable annotator name: the email where the export has it, else the user id."""
    if completed_by is None:
        return None
    if isinstance(completed_by, dict):
        if completed_by.get("email"):
            return str(completed_by["email"])
        if completed_by.get("id") is not None:
            return str(completed_by["id"])
        return None
    return str(completed_by)


def task_key_of(task: dict, key: str | None, where: str) -> str:
    """The task's stable key: a chosen field of its data (``data.FIELD``), else a data hash."""
    data = task.get("data")
    if key:
        path = key.split(".")
        if path[0] == "data":
            path = path[1:]
        cur: Any = data
        for part in path:
            if not isinstance(cur, dict) or part not in cur:
                raise RecordError(where, f"task data has no field {key!r} (from --key); check the field name")
            cur = cur[part]
        if isinstance(cur, bool) or not isinstance(cur, (str, int)):
            raise RecordError(where, f"key field {key!r} is {type(cur).__name__}, expected a string or an integer")
        return str(cur)
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()[:16]


def _region_row(item: Any, position: int, where: str) -> dict:
    if not isinstance(item, dict):
        raise RecordError(where, f"result item is {type(item).__name__}, expected an object")
    rest = {k: v for k, v in item.items() if k not in REGION_FIELDS}
    value = item.get("value")
    if value is not None and not isinstance(value, dict):
        raise RecordError(where + ".value", f"is {type(value).__name__}, expected an object")
    return {
        "_id": item.get("id"),
        "from_name": item.get("from_name"),
        "to_name": item.get("to_name"),
        "type": item.get("type"),
        "labels": labels_of(item),
        "value": canonical_json(value) if value is not None else None,
        "region": canonical_json_or_none(rest),
        "position": position,
    }


def _assign_region_keys(regions: list[dict]) -> None:
    """region_key: the tool's region id (+ control, since per-region controls share ids),
    else a hash of the region's content, so the order of regions does not matter."""
    seen: dict[str, int] = {}
    for r in regions:
        rid = r.pop("_id")
        if rid is not None and str(rid) != "":
            base = f"{rid}/{r['from_name']}"
        else:
            content = canonical_json([r["from_name"], r["to_name"], r["type"], r["value"], r["region"]])
            base = "~" + hashlib.sha256(content.encode()).hexdigest()[:12]
        n = seen.get(base, 0)
        seen[base] = n + 1
        r["region_key"] = base if n == 0 else f"{base}#{n}"


def _empty_region() -> dict:
    return {"region_key": "", "from_name": None, "to_name": None, "type": None, "labels": None,
            "value": None, "region": None, "position": -1}


def _ranked(items: list[dict]) -> list[int]:
    """Rank of each answer in one group (an annotator, a model version): by time, then id,
    then position, so the key does not depend on the order of the export."""
    order = sorted(
        range(len(items)),
        key=lambda i: (str(items[i].get("created_at") or ""), _int_or_max(items[i].get("id")), i),
    )
    rank = [0] * len(items)
    for r, i in enumerate(order):
        rank[i] = r
    return rank


def _int_or_max(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 2**62


def _float_or_none(v: Any, where: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise RecordError(where, f"is {type(v).__name__} {v!r}, expected a number")
    return float(v)


def _bool(v: Any, where: str) -> bool:
    if v is None:
        return False
    if not isinstance(v, bool):
        raise RecordError(where, f"is {type(v).__name__} {v!r}, expected true or false")
    return v


def _int_or_none(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


@dataclass
class Rows:
    tasks: list[dict] = field(default_factory=list)
    annotations: list[dict] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)
    #: predictions given only as ids (a plain export): counted so the caller can warn.
    prediction_ids_only: int = 0


def parse_tasks(tasks: Iterable[Any], key: str | None = None, source: str = "input") -> Rows:
    """Turn Label Studio export tasks into canonical row dicts.

    Raises :class:`RecordError` naming the record (``source: task 3 (key k): ...``).
    """
    out = Rows()
    for ti, task in enumerate(tasks):
        row = _task_row(task, key, f"{source}: task {ti}")
        out.tasks.append(row)
        where = f"{source}: task {ti} (key {row['task_key']})"
        out.annotations.extend(_annotation_rows(task, row["task_key"], row["ls_task_id"], where))
        preds, ids_only = _prediction_rows(task, row["task_key"], row["ls_task_id"], where)
        out.predictions.extend(preds)
        out.prediction_ids_only += ids_only
    return out


def _task_row(task: Any, key: str | None, where: str) -> dict:
    """The tasks-table row of one export task."""
    if not isinstance(task, dict):
        raise RecordError(where, f"is {type(task).__name__}, expected an object (a Label Studio task)")
    if "data" not in task:
        raise RecordError(where, "has no 'data' field; is this a Label Studio JSON export?")
    if not isinstance(task["data"], dict):
        raise RecordError(where + ".data", f"is {type(task['data']).__name__}, expected an object")
    tkey = task_key_of(task, key, where)
    extra = {k: v for k, v in task.items() if k not in TASK_SERVER_FIELDS}
    if extra.get("meta") in ({}, None):
        extra.pop("meta", None)
    try:
        data_json = canonical_json(task["data"])
        extra_json = canonical_json_or_none(extra)
    except (TypeError, ValueError) as e:
        raise RecordError(f"{where} (key {tkey})", str(e)) from None
    return {
        "task_key": tkey, "data": data_json, "data_hash": None, "extra": extra_json,
        "ls_task_id": _int_or_none(task.get("id")), "ls_project_id": _int_or_none(task.get("project")),
        "created_at": _str_or_none(task.get("created_at")), "updated_at": _str_or_none(task.get("updated_at")),
    }


def _annotation_rows(task: dict, tkey: str, ls_task_id: int | None, where: str) -> list[dict]:
    """Rows of a task's annotations; ``annotation_key`` is ``<annotator>#<rank by time>``."""
    anns = task.get("annotations", task.get("completions")) or []
    if not isinstance(anns, list):
        raise RecordError(where + ".annotations", "is not a list")
    by_annotator: dict[Any, list[int]] = {}
    for ai, ann in enumerate(anns):
        if not isinstance(ann, dict):
            raise RecordError(f"{where}, annotation {ai}", "is not an object")
        by_annotator.setdefault(annotator_of(ann.get("completed_by")), []).append(ai)
    out: list[dict] = []
    for annotator, idxs in by_annotator.items():
        for ai, rank in zip(idxs, _ranked([anns[i] for i in idxs])):
            out.extend(_answer_rows(anns[ai], tkey, ls_task_id, f"{annotator if annotator is not None else '-'}#{rank}",
                                    f"{where}, annotation {ai}", annotation=True))
    return out


def _prediction_rows(task: dict, tkey: str, ls_task_id: int | None, where: str) -> tuple[list[dict], int]:
    """Rows of a task's predictions (``prediction_key`` is ``<model_version>#<rank>``), and how
    many were given as ids only."""
    preds = task.get("predictions") or []
    if not isinstance(preds, list):
        raise RecordError(where + ".predictions", "is not a list")
    by_model: dict[str, list[int]] = {}
    ids_only = 0
    for pi, pred in enumerate(preds):
        if isinstance(pred, int) and not isinstance(pred, bool):
            ids_only += 1
            continue
        if not isinstance(pred, dict):
            raise RecordError(f"{where}, prediction {pi}", "is not an object")
        by_model.setdefault(str(pred.get("model_version") or ""), []).append(pi)
    out: list[dict] = []
    for mv, idxs in by_model.items():
        for pi, rank in zip(idxs, _ranked([preds[i] for i in idxs])):
            out.extend(_answer_rows(preds[pi], tkey, ls_task_id, f"{mv}#{rank}", f"{where}, prediction {pi}",
                                    annotation=False))
    return out, ids_only


def _str_or_none(v: Any) -> str | None:
    return None if v is None else str(v)


def _answer_rows(ans: dict, tkey: str, ls_task_id: int | None, akey: str, where: str, annotation: bool) -> list[dict]:
    result = ans.get("result") or []
    if not isinstance(result, list):
        raise RecordError(where + ".result", f"is {type(result).__name__}, expected a list")
    regions = [_region_row(item, i, f"{where}, region {i}") for i, item in enumerate(result)]
    _assign_region_keys(regions)
    if not regions:
        regions = [_empty_region()]
    server = ANNOTATION_SERVER_FIELDS if annotation else PREDICTION_SERVER_FIELDS
    extra = canonical_json_or_none({k: v for k, v in ans.items() if k not in server})
    base: dict[str, Any] = {"task_key": tkey, "ls_task_id": ls_task_id, "extra": extra,
                            "created_at": _str_or_none(ans.get("created_at")),
                            "updated_at": _str_or_none(ans.get("updated_at"))}
    if annotation:
        base.update({
            "annotation_key": akey,
            "annotator": annotator_of(ans.get("completed_by")),
            "was_cancelled": _bool(ans.get("was_cancelled"), where + ".was_cancelled"),
            "ground_truth": _bool(ans.get("ground_truth"), where + ".ground_truth"),
            "lead_time": _float_or_none(ans.get("lead_time"), where + ".lead_time"),
            "ls_annotation_id": _int_or_none(ans.get("id")),
        })
    else:
        base.update({
            "prediction_key": akey,
            "model_version": str(ans.get("model_version") or ""),
            "score": _float_or_none(ans.get("score"), where + ".score"),
            "ls_prediction_id": _int_or_none(ans.get("id")),
        })
    return [{**base, **r} for r in regions]


def from_ls_tasks(tasks: list, source: str, *, config: LabelingConfig | None = None, key: str | None = None,
                  validate: bool = True, fmt: str = Format.LABEL_STUDIO) -> Tables:
    """Canonical tables of Label Studio tasks; InputError / ValidationError naming the record."""
    try:
        rows = parse_tasks(tasks, key=key, source=source)
    except RecordError as e:
        raise InputError(str(e), "fix the record, or check that this is a Label Studio JSON export") from None
    if validate and config is not None:
        validate_ls_tasks(tasks, config, source, key)
    warnings = []
    if rows.prediction_ids_only:
        warnings.append(
            f"{source}: {rows.prediction_ids_only} predictions are given as ids only (a plain export); "
            "they are not kept — export with full predictions or pass --predictions FILE")
    return rows_to_tables({"tasks": rows.tasks, "annotations": rows.annotations, "predictions": rows.predictions},
                          fmt, source, warnings)


def validate_ls_tasks(tasks: list, config: LabelingConfig, source: str, key: str | None) -> None:
    """Check every result item (annotations and predictions) against the config."""
    check_results(_answers(tasks, source, key), config,
                  f"fix the label or add it to {config.source}, or pass --no-validate")


def _answers(tasks: list, source: str, key: str | None) -> Iterator[tuple[Where, dict]]:
    """(where, answer) of every annotation and prediction; ``where`` is worded only on error."""
    for ti, task in enumerate(tasks):
        if not isinstance(task, dict):
            continue
        for kind in ("annotation", "prediction"):
            answers = task.get(kind + "s") or (task.get("completions") if kind == "annotation" else None) or []
            for ai, ans in enumerate(answers if isinstance(answers, list) else []):
                yield (lambda ti=ti, task=task, kind=kind, ai=ai:
                       f"{source}: task {ti} (key {_key_or_mark(task, key)}), {kind} {ai}"), ans


def _key_or_mark(task: dict, key: str | None) -> str:
    try:
        return task_key_of(task, key, "")
    except RecordError:
        return "?"


# ---------------------------------------------------------------------------
# canonical rows -> Label Studio JSON


def _loads(s: str | None) -> Any:
    return None if s is None else json.loads(s)


def _result_items(rows: list[dict]) -> list[dict]:
    items = []
    for r in sorted(rows, key=lambda r: (r.get("position", 0), r["region_key"])):
        if r["region_key"] == "":
            continue
        item: dict[str, Any] = {}
        rk = r["region_key"]
        if not rk.startswith("~"):
            rid = re.sub(r"#\d+$", "", rk)
            suffix = "/" + str(r["from_name"])
            item["id"] = rid[: -len(suffix)] if rid.endswith(suffix) else rid
        item.update(_loads(r["region"]) or {})
        for k in ("from_name", "to_name", "type"):
            if r[k] is not None:
                item[k] = r[k]
        if r["value"] is not None:
            item["value"] = _loads(r["value"])
        items.append(item)
    return items


def to_tasks(tasks: list[dict], annotations: list[dict], predictions: list[dict]) -> list[dict]:
    """Rebuild Label Studio export tasks from canonical rows (inverse of :func:`parse_tasks`)."""
    anns: dict[str, dict[str, list[dict]]] = {}
    for r in annotations:
        anns.setdefault(r["task_key"], {}).setdefault(r["annotation_key"], []).append(r)
    preds: dict[str, dict[str, list[dict]]] = {}
    for r in predictions:
        preds.setdefault(r["task_key"], {}).setdefault(r["prediction_key"], []).append(r)
    out = []
    for t in tasks:
        task: dict[str, Any] = {}
        if t.get("ls_task_id") is not None:
            task["id"] = t["ls_task_id"]
        task["data"] = _loads(t["data"])
        task.update(_loads(t["extra"]) or {})
        task["annotations"] = []
        for akey, rows in sorted(anns.get(t["task_key"], {}).items()):
            first = rows[0]
            a: dict[str, Any] = {}
            if first.get("ls_annotation_id") is not None:
                a["id"] = first["ls_annotation_id"]
            a["completed_by"] = _annotator_out(first["annotator"])
            a["result"] = _result_items(rows)
            a["was_cancelled"] = first["was_cancelled"]
            a["ground_truth"] = first["ground_truth"]
            if first["lead_time"] is not None:
                a["lead_time"] = first["lead_time"]
            for k in ("created_at", "updated_at"):
                if first.get(k) is not None:
                    a[k] = first[k]
            a.update(_loads(first["extra"]) or {})
            task["annotations"].append(a)
        task["predictions"] = []
        for pkey, rows in sorted(preds.get(t["task_key"], {}).items()):
            first = rows[0]
            p: dict[str, Any] = {}
            if first.get("ls_prediction_id") is not None:
                p["id"] = first["ls_prediction_id"]
            p["model_version"] = first["model_version"]
            if first["score"] is not None:
                p["score"] = first["score"]
            p["result"] = _result_items(rows)
            for k in ("created_at", "updated_at"):
                if first.get(k) is not None:
                    p[k] = first[k]
            p.update(_loads(first["extra"]) or {})
            task["predictions"].append(p)
        for k in ("created_at", "updated_at"):
            if t.get(k) is not None:
                task[k] = t[k]
        out.append(task)
    return out


def _annotator_out(name: str | None) -> Any:
    if name is None:
        return None
    if name.isdigit():
        return int(name)
    return {"email": name} if "@" in name else name
