"""Canonical rows -> Label Studio JSON tasks, and the provenance that makes that exact.

The canonical columns hold what a snapshot hashes; what they cannot give back as it was
written (a whole number written ``80.0``, a server field such as ``drafts`` or
``file_upload``, an annotator's first name, a field the export did not have) is kept in the
unhashed ``ls_original`` column as a *difference* from what this writer rebuilds:
``{"+": {field: value as written}, "-": [fields the input did not have]}``, plus ``"i"``
(the answer's place in its task when the input's order is not the key order) and ``"as"``
(a prediction the input gave by id, or only inside ``annotations[].prediction``). Answer
rows hold ``{"a": <answer difference>, "r": <result item difference>}``. The reader
(:mod:`annover.formats.label_studio`) computes the differences with the same functions
:func:`to_tasks` uses, so an unchanged snapshot exports what came in.
"""

from __future__ import annotations

import json
import re
from typing import Any

from annover.model.canonical import json_text

__all__ = ["AS_EMBEDDED", "AS_ID", "answer_out", "apply", "diff", "dump", "finish", "item_id", "item_out", "placed",
           "task_out", "to_tasks"]

#: ``"as"`` of a prediction given in ``task.predictions`` by its id only.
AS_ID = "id"
#: ``"as"`` of a prediction found only inside an annotation (``annotations[].prediction``).
AS_EMBEDDED = "embedded"
_ANSWER_LISTS = {True: "annotations", False: "predictions"}


def _loads(s: str | None) -> Any:
    return None if s is None else json.loads(s)


def dump(obj: Any) -> str | None:
    """Compact JSON keeping numbers as written (``80.0`` stays ``80.0``); None for nothing."""
    if not obj:
        return None
    return json_text(obj)


def same(a: Any, b: Any) -> bool:
    """Equal as JSON is written: ``80`` and ``80.0`` differ, key order does not matter."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def diff(original: dict, rebuilt: dict, nested: tuple[str, ...] = (), own: bool = False) -> dict:
    """What :func:`apply` needs to turn ``rebuilt`` back into ``original`` (``nested``: fields
    rebuilt from rows of their own, compared only for presence; ``own``: a value of ``rebuilt`` that
    is ``original``'s own object is the same, the caller knows it holds no NaN)."""
    plus = {k: v for k, v in original.items()
            if k not in nested and (k not in rebuilt or not (own and rebuilt[k] is v) and not same(v, rebuilt[k]))}
    minus = [k for k in rebuilt if k not in original]
    out: dict[str, Any] = {}
    if plus:
        out["+"] = plus
    if minus:
        out["-"] = minus
    return out


def apply(obj: dict, d: dict | None) -> dict:
    """``obj`` with a :func:`diff` applied."""
    if d:
        for k in d.get("-", ()):
            obj.pop(k, None)
        obj.update(d.get("+", {}))
    return obj


# ---------------------------------------------------------------------------
# one object each, from canonical rows


def item_out(r: dict) -> dict:
    """The result item of one region row (before its ``ls_original``)."""
    item: dict[str, Any] = {}
    rid = item_id(r["region_key"], r["from_name"])
    if rid is not None:
        item["id"] = rid
    item.update(_loads(r["region"]) or {})
    for k in ("from_name", "to_name", "type"):
        if r[k] is not None:
            item[k] = r[k]
    if r["value"] is not None:
        item["value"] = _loads(r["value"])
    return item


def item_id(region_key: str, from_name: Any) -> str | None:
    """A result item's ``id`` from its region key (``<id>/<control>``, ``#n`` when repeated);
    None for a key that is a hash of the content (``~...``)."""
    if region_key.startswith("~"):
        return None
    rid = re.sub(r"#\d+$", "", region_key)
    suffix = "/" + str(from_name)
    return rid[: -len(suffix)] if rid.endswith(suffix) else rid


def annotator_out(name: str | None) -> Any:
    """``completed_by`` as written from an annotator name."""
    if name is None:
        return None
    if name.isascii() and name.isdigit() and len(name) <= 18:  # a user id ("²" is a digit to isdigit)
        return int(name)
    return {"email": name} if "@" in name else name


def answer_out(first: dict, annotation: bool) -> dict:
    """An annotation (or prediction) without its result, from its first row."""
    a: dict[str, Any] = {}
    if annotation:
        if first.get("ls_annotation_id") is not None:
            a["id"] = first["ls_annotation_id"]
        a["completed_by"] = annotator_out(first["annotator"])
        a["result"] = []
        a["was_cancelled"] = first["was_cancelled"]
        a["ground_truth"] = first["ground_truth"]
        if first["lead_time"] is not None:
            a["lead_time"] = first["lead_time"]
        for col, k in (("ls_parent_prediction_id", "parent_prediction"), ("ls_parent_annotation_id", "parent_annotation")):
            if first.get(col) is not None:
                a[k] = first[col]
    else:
        if first.get("ls_prediction_id") is not None:
            a["id"] = first["ls_prediction_id"]
        a["model_version"] = first["model_version"]
        if first["score"] is not None:
            a["score"] = first["score"]
        a["result"] = []
    for k in ("created_at", "updated_at"):
        if first.get(k) is not None:
            a[k] = first[k]
    a.update(_loads(first["extra"]) or {})
    return a


def task_out(t: dict, read: tuple[dict, dict] | None = None) -> dict:
    """A task without its answers (``annotations`` and ``predictions`` empty), from its row
    (``read``: its ``data`` and ``extra`` as they read back from the row's JSON, when the caller has them)."""
    task: dict[str, Any] = {}
    if t.get("ls_task_id") is not None:
        task["id"] = t["ls_task_id"]
    task["data"] = _loads(t["data"]) if read is None else read[0]
    task.update((_loads(t["extra"]) or {}) if read is None else read[1])
    task["annotations"] = []
    task["predictions"] = []
    for k in ("created_at", "updated_at"):
        if t.get(k) is not None:
            task[k] = t[k]
    if t.get("ls_project_id") is not None:
        task["project"] = t["ls_project_id"]
    return task


# ---------------------------------------------------------------------------
# whole tasks


def _group(rows: list[dict], key: str) -> dict[str, dict[str, list[dict]]]:
    out: dict[str, dict[str, list[dict]]] = {}
    for r in rows:
        out.setdefault(r["task_key"], {}).setdefault(r[key], []).append(r)
    return out


def _original(r: dict) -> dict:
    return _loads(r.get("ls_original")) or {}


def _answers(groups: dict[str, list[dict]], annotation: bool) -> list[tuple[dict, dict]]:
    """(answer as written, its answer-level difference) per key, in the input's order."""
    out = []
    for akey, rows in groups.items():
        origs = [_original(r) for r in rows]
        a_diff = next((o["a"] for o in origs if "a" in o), {})
        ans = answer_out(rows[0], annotation)
        items = sorted(zip(rows, origs), key=lambda ro: (ro[0].get("position", 0), ro[0]["region_key"]))
        ans["result"] = [apply(item_out(r), o.get("r")) for r, o in items if r["region_key"] != ""]
        out.append((akey, ans, a_diff))
    return placed(out)


def placed(answers: list[tuple[str, dict, dict]]) -> list[tuple[dict, dict]]:
    """(answer, its difference) of each (answer key, answer as rebuilt, its answer-level
    difference), the difference applied, in the input's order (its place, then key order)."""
    out = [((d.get("i", 2**62), akey), apply(ans, d), d) for akey, ans, d in answers]
    out.sort(key=lambda x: x[0])
    return [(ans, d) for _, ans, d in out]


def finish(task: dict, annotations: list[tuple[dict, dict]], predictions: list[tuple[dict, dict]],
           t_diff: dict) -> dict:
    """``task`` (as :func:`task_out` rebuilds it) with its answers (:func:`placed`) and its
    difference applied."""
    task["annotations"] = [a for a, _ in annotations]
    ids = (t_diff.get("+") or {}).get("predictions")
    # a prediction the input gave by id, or inside an annotation, is written so again where
    # that is written (the ids list, the annotations); else as a prediction of its own
    shown = {AS_ID: ids is not None, AS_EMBEDDED: bool(task["annotations"])}
    full = [p for p, d in predictions if not shown.get(d.get("as"), False)]
    task["predictions"] = full
    answers = task["annotations"]
    apply(task, t_diff)
    if answers and "annotations" not in task:  # an input task of no "annotations" key answered since (a merge,
        task["annotations"] = answers          # the notebook): its answers are written, never dropped with the key
    if ids is not None:
        task["predictions"] = list(ids) + full
    elif full and "predictions" not in task:
        task["predictions"] = full
    return task


def to_tasks(tasks: list[dict], annotations: list[dict], predictions: list[dict]) -> list[dict]:
    """Label Studio export tasks from canonical rows (the inverse of the reader)."""
    anns = _group(annotations, "annotation_key")
    preds = _group(predictions, "prediction_key")
    out = []
    for t, t_diff in sorted(((t, _original(t)) for t in tasks), key=lambda td: td[1].get("i", 2**62)):
        task = finish(task_out(t), _answers(anns.get(t["task_key"], {}), True),
                      _answers(preds.get(t["task_key"], {}), False), t_diff)
        out.append(task)
    return out
