"""Label Studio JSON tasks (a full export) in and out.

:func:`parse_tasks` turns parsed tasks into canonical row dicts, :func:`from_ls_tasks` into
checked canonical tables, and :func:`to_tasks` rebuilds export tasks from canonical rows.
"""

from __future__ import annotations

import hashlib
import math
import posixpath
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from annover.errors import InputError
from annover.formats import Format
from annover.formats.ls_results import LABEL_KEYS, Where, check_answers, labels_of, strictness
from annover.formats.ls_writer import (AS_EMBEDDED, AS_ID, answer_out, diff, dump, item_id, item_out, same, task_out,
                                        to_tasks)
from annover.formats.tables import DuplicateKey, Tables, rows_to_tables
from annover.formats.text import check_json_values, json_kind
from annover.model.canonical import canonical_json, canonical_json_plain
from annover.model.config import HEAD_CONFIG, LabelingConfig

__all__ = ["IMAGE_KEY", "LABEL_KEYS", "Place", "RecordError", "Rows", "STEM_PREFIX", "TASK_ID_KEY", "TaskPredictions",
           "annotator_of", "check_annotation", "from_ls_tasks", "labels_of", "parse_tasks", "stem_key", "task_key_of",
           "task_predictions", "to_tasks", "users_in", "validate_ls_tasks"]

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
_LABEL_KEYS = LABEL_KEYS  # the old name, until every caller reads LABEL_KEYS

class RecordError(ValueError):
    """A record of the input is wrong; carries where (task index, key, field)."""

    def __init__(self, where: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message
        self.hint = hint


class DuplicateTask(RecordError):
    """Two tasks of the input with one key (raised as :class:`annover.formats.tables.DuplicateKey`)."""


def annotator_of(completed_by: Any, users: dict[int, str] | None = None) -> str | None:
    """A stable annotator name: the email where the export has it (or ``users`` maps the
    numeric user id to one), else the user id."""
    if completed_by is None:
        return None
    if isinstance(completed_by, dict):
        if completed_by.get("email"):
            return str(completed_by["email"])
        completed_by = completed_by.get("id")
        if completed_by is None:
            return None
    if users and not isinstance(completed_by, bool):
        text = str(completed_by)
        uid = (completed_by if isinstance(completed_by, int)
               else int(text) if text.isascii() and text.isdigit() and len(text) < 20 else None)
        if uid in users:
            return str(users[uid])
    return str(completed_by)


def users_in(tasks: list) -> dict[int, str]:
    """``{user id: e-mail}`` of every annotator an export names as an object (``completed_by:
    {"id": 1, "email": ...}``, as a full export with annotators expanded gives)."""
    out: dict[int, str] = {}
    for t in tasks if isinstance(tasks, list) else []:
        if not isinstance(t, dict):
            continue
        for kind in ("annotations", "completions", "drafts"):
            for a in t.get(kind) or []:
                u = a.get("completed_by") if isinstance(a, dict) else None
                if isinstance(u, dict) and isinstance(u.get("id"), int) and u.get("email"):
                    out[u["id"]] = str(u["email"])
    return out


#: ``--key id``: key tasks on Label Studio's task id.
TASK_ID_KEY = "id"
#: ``--key stem:data.FIELD``: key tasks on the file name in a data field, without folder and
#: extension: the key COCO, YOLO and VOC give an image's task (``images/a/1.jpg`` -> ``1``).
STEM_PREFIX = "stem:"
#: The key of the tasks the image training formats read (their image is ``data.image``).
IMAGE_KEY = STEM_PREFIX + "data.image"


def stem_key(file_name: str) -> str:
    """The task key of an image: its file name without folder and extension (``a/b/1.jpg`` -> ``1``)."""
    base = posixpath.basename(file_name.replace("\\", "/"))
    stem, dot, _ = base.rpartition(".")
    return stem if dot and stem else base


#: the prefix Label Studio's exporter gives a file it names after an image URL (not an upload):
#: the first 8 hex digits of the URL's md5 and two underscores (``235b37ac__photo.jpg``)
LS_URL_PREFIX = "^[0-9a-f]{8}__."
_LS_URL_PREFIX = re.compile(LS_URL_PREFIX)


def unprefixed_stems(keys: list[str]) -> list[str]:
    """Image keys without the prefix of Label Studio's COCO / YOLO / VOC export (see :data:`_LS_URL_PREFIX`),
    so they are the stems of the images the tasks name; a key whose stem another key has (or is) stays as it is:
    stripping never makes two keys one."""
    bare = [k[10:] if _LS_URL_PREFIX.match(k) else k for k in keys]
    if bare == keys:
        return keys
    out = list(keys)
    stripped = {i for i, (k, b) in enumerate(zip(keys, bare)) if k != b}
    while stripped:  # a bare stem may be another key kept whole (``a__b__x`` -> ``b__x``): keep both whole
        taken = Counter(b if i in stripped else k for i, (k, b) in enumerate(zip(keys, bare)))
        clash = {i for i in stripped if taken[bare[i]] > 1}
        if not clash:
            break
        stripped -= clash
    for i in stripped:
        out[i] = bare[i]
    return out


def task_key_of(task: dict, key: str | None, where: str) -> str:
    """The task's stable key: a chosen field of its data (``data.FIELD``), Label Studio's task
    id (``id``), else a data hash."""
    data = task.get("data")
    if key == TASK_ID_KEY:
        tid = task.get("id")
        if isinstance(tid, bool) or not isinstance(tid, (int, str)) or tid == "":
            if tid is None or tid == "":
                raise RecordError(where, "task has no 'id' (--key id keys on Label Studio's task id); "
                                         "export from Label Studio with task ids, or choose --key data.FIELD")
            raise RecordError(f"{where}, field id", f"is {type(tid).__name__} {_short(tid)}, not a task id (--key id "
                                                    "keys on Label Studio's task id, an integer)",
                              "give the id Label Studio exported, or choose --key data.FIELD")
        return str(tid)
    if key and key.startswith(STEM_PREFIX):
        return stem_key(_key_field(data, key, key[len(STEM_PREFIX):], where))
    if key:
        return _key_field(data, key, key, where)
    return hashlib.sha256(_json(data, f"{where}, field data").encode()).hexdigest()[:16]


def _key_field(data: Any, key: str, field: str, where: str) -> str:
    """The value of the task data's ``field`` (``data.FIELD``) that ``--key key`` keys on."""
    path = field.split(".")
    if path[0] == "data":
        path = path[1:]
    cur: Any = data
    for part in path:
        if not isinstance(cur, dict) or part not in cur:
            fields = ", ".join(sorted(map(str, cur))) if isinstance(cur, dict) else "none: it is not an object"
            raise RecordError(where, f"the task data has no field {part} (--key {key}); its fields: {fields}",
                              "name one of those fields with --key data.FIELD, or key on Label Studio's "
                              "task id with --key id")
        cur = cur[part]
    if isinstance(cur, bool) or not isinstance(cur, (str, int)):
        raise RecordError(where, f"key field {key!r} is {json_kind(cur)}, expected a string or an integer")
    if cur == "":
        raise RecordError(where, f"key field {key!r} is empty", "every task needs a key; fill the field, "
                          "or choose another with --key data.FIELD")
    return str(cur)


def _region_row(item: Any, position: int, where: str) -> dict:
    if not isinstance(item, dict):
        raise RecordError(where, f"result item is {json_kind(item)}, expected an object")
    rest = {k: v for k, v in item.items() if k not in REGION_FIELDS}
    value = item.get("value")
    if value is not None and not isinstance(value, dict):
        raise RecordError(where + ".value", f"is {json_kind(value)}, expected an object")
    for f in ("from_name", "to_name", "type"):
        v = item.get(f)
        if v is not None and not isinstance(v, str):
            raise RecordError(f"{where}, field {f}", f"is {type(v).__name__} {_short(v)}, expected a string")
    if item.get("type") != "relation" and not item.get("from_name"):
        raise RecordError(f"{where}, field from_name", "is missing or empty; every result but a relation "
                          "names its control", "give each result the name of its control (from_name)")
    rid = item.get("id")
    if rid is not None and (isinstance(rid, bool) or not isinstance(rid, (str, int))):
        raise RecordError(f"{where}, field id", f"is {type(rid).__name__} {_short(rid)}, expected a string")
    value_json, value_plain = _json_plain(value, f"{where}, field value") if value is not None else (None, True)
    rest_json, rest_plain = _json_plain(rest, where) if rest else (None, True)
    return {
        "_id": rid,
        "from_name": item.get("from_name"),
        "to_name": item.get("to_name"),
        "type": item.get("type"),
        "labels": labels_of(item),
        "value": value_json,
        "region": rest_json,
        "position": position,
        "_plain": value_plain and rest_plain,
    }


def _json(obj: Any, where: str) -> str:
    """Canonical JSON of a record's value; RecordError naming the field where it cannot be."""
    return _json_plain(obj, where)[0]


def _json_plain(obj: Any, where: str) -> tuple[str, bool]:
    """(:func:`_json` of ``obj``, whether ``obj`` is its own canonical form: see
    :func:`annover.model.canonical.canonical_json_plain`)."""
    try:
        return canonical_json_plain(obj)
    except (TypeError, ValueError) as e:
        msg = str(e).removeprefix("$")
        field, _, what = msg.partition(": ")
        at = f"{where}{field}" if ", field " in where else f"{where}, field {field.lstrip('.')}"
        raise RecordError(at, what or msg) from None


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


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
        raise RecordError(where, f"is {type(v).__name__} {_short(v)}, expected a number")
    f = float(v) if isinstance(v, float) or abs(v) < 2**1023 else math.inf
    if not math.isfinite(f):
        raise RecordError(where, f"is {_short(v)}, expected a finite number")
    return f


def _bool(v: Any, where: str) -> bool:
    if v is None:
        return False
    if not isinstance(v, bool):
        raise RecordError(where, f"is {type(v).__name__} {v!r}, expected true or false")
    return v


def check_annotation(ann: dict, where: str) -> None:
    """RecordError for an annotation field a snapshot refuses (its ``result`` not a list, its annotator,
    ``was_cancelled`` / ``ground_truth`` not a boolean, ``lead_time`` not a number): the same rule for
    annotations ``dataset push --annotations`` sends as for those a snapshot reads."""
    for i, item in enumerate(_list_of(ann.get("result"), where + ".result")):
        _region_row(item, i, f"{where}, result {i}")  # its fields, as a snapshot reads them
    _check_annotator(ann.get("completed_by"), where + ", field completed_by")
    for f in ("was_cancelled", "ground_truth"):
        _bool(ann.get(f), f"{where}.{f}")
    _float_or_none(ann.get("lead_time"), where + ".lead_time")


def _int_or_none(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _id_or_none(v: Any, where: str) -> int | None:
    """A Label Studio id (a 64-bit integer) or None; RecordError for an integer beyond 64 bits,
    and for an id that is neither an integer nor text (a list, an object, a number with a fraction)."""
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, str))):
        raise RecordError(where, f"is {type(v).__name__} {_short(v)}, expected an integer id",
                          "give the id Label Studio exported, or leave it out")
    i = _int_or_none(v)
    if i is not None and not -(2**63) <= i < 2**63:
        raise RecordError(where, f"is {_short(v)}, beyond the 64-bit integers Label Studio's ids are",
                          "give the id Label Studio exported, or leave it out")
    return i


def _id_of(obj: dict) -> str:
    return f" (id {obj['id']})" if isinstance(obj, dict) and obj.get("id") is not None else ""


@dataclass
class Rows:
    tasks: list[dict] = field(default_factory=list)
    annotations: list[dict] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)
    #: predictions given only as ids (a plain export) and found nowhere in full: counted so the caller can warn.
    prediction_ids_only: int = 0
    #: numeric annotator ids a ``users`` map given did not map to e-mails.
    unmapped_users: set[str] = field(default_factory=set)


_DUPLICATE_HINT = ("tasks need unique keys: choose a unique data field with --key data.FIELD, or key on Label "
                   "Studio's task id with --key id (ids change when tasks are imported again)")


#: ``place(task_key, i)``: how errors name entry ``i`` of a task's ``predictions`` (see :func:`parse_tasks`).
Place = Callable[[str, int], str]


def parse_tasks(tasks: Iterable[Any], key: str | None = None, source: str = "input",
                users: dict[int, str] | None = None, place: Place | None = None) -> Rows:
    """Turn Label Studio export tasks into canonical row dicts.

    ``users`` maps numeric ``completed_by`` ids to e-mails (a plain export names users by id).
    Raises :class:`RecordError` naming the record (``source: task 3 (key k): ...``); ``place(k, i)``
    names entry ``i`` of the ``predictions`` of the task keyed ``k`` in its stead, whole (default:
    ``source: task 3 (key k), prediction i (id N)``), for tasks made up from another file's records.
    """
    out = Rows()
    first: dict[str, int] = {}
    for ti, task in enumerate(tasks):
        row = _task_row(task, key, f"{source}: task {ti}")
        out.tasks.append(row)
        where = f"{source}: task {ti} (key {row['task_key']})"
        if first.setdefault(row["task_key"], ti) != ti:
            raise DuplicateTask(where, f"duplicate task (task_key={row['task_key']!r}): task {first[row['task_key']]} "
                                       "has the same key", _DUPLICATE_HINT)
        anns = _list_of(task.get("annotations", task.get("completions")), where + ".annotations")
        out.annotations.extend(_annotation_rows(anns, row, where, users))
        preds = task_predictions(task, where, name=None if place is None else
                                 (lambda i, k=row["task_key"]: place(k, i)))
        out.predictions.extend(_prediction_rows(preds.found, row, where))
        out.prediction_ids_only += preds.ids_only
    _place_tasks(out.tasks)
    if users is not None:
        out.unmapped_users = {a for r in out.annotations if (a := r["annotator"]) is not None and a.isascii() and a.isdigit()}
    return out


def _task_row(task: Any, key: str | None, where: str) -> dict:
    """The tasks-table row of one export task."""
    if not isinstance(task, dict):
        raise RecordError(where, f"is {json_kind(task)}, expected an object (a Label Studio task)")
    if "data" not in task:
        raise RecordError(where, "has no 'data' field; is this a Label Studio JSON export?")
    if not isinstance(task["data"], dict):
        raise RecordError(where + ".data", f"is {json_kind(task['data'])}, expected an object")
    if key:
        tkey = task_key_of(task, key, where)
        data_json, plain = _json_plain(task["data"], f"{where} (key {tkey}), field data")
    else:  # the key is the hash of the data's canonical JSON (task_key_of's), made once
        data_json, plain = _json_plain(task["data"], f"{where}, field data")
        tkey = hashlib.sha256(data_json.encode()).hexdigest()[:16]
    extra = {k: v for k, v in task.items() if k not in TASK_SERVER_FIELDS}
    if extra.get("meta") in ({}, None):
        extra.pop("meta", None)
    extra_json, extra_plain = _json_plain(extra, f"{where} (key {tkey})") if extra else (None, True)
    row = {
        "task_key": tkey, "data": data_json, "data_hash": None, "extra": extra_json,
        "ls_task_id": _id_or_none(task.get("id"), f"{where}, field id"),
        "ls_project_id": _id_or_none(task.get("project"), f"{where}, field project"),
        "created_at": _time_or_none(task.get("created_at"), f"{where}, field created_at"),
        "updated_at": _time_or_none(task.get("updated_at"), f"{where}, field updated_at"),
    }
    row["ls_original"] = _task_original(task, row, (task["data"], extra) if plain and extra_plain else None)
    return row


def _place_tasks(rows: list[dict]) -> None:
    """Each task's ``ls_original`` as JSON, with its place in the input when that is not key order."""
    keys = [r["task_key"] for r in rows]
    in_order = keys == sorted(keys)
    for i, r in enumerate(rows):
        if not in_order:
            r["ls_original"]["i"] = i
        r["ls_original"] = dump(r["ls_original"])


def _task_original(task: dict, row: dict, own: tuple[dict, dict] | None = None) -> dict:
    """What the writer needs besides ``row`` to give ``task`` back (answers aside); a dict until
    :func:`_place_tasks` writes it. ``own``: the task's data and extra fields, where they are their own
    canonical form (so what the writer reads back from the row's JSON)."""
    d = diff({k: v for k, v in task.items() if k not in ("annotations", "completions", "predictions")},
             task_out(row, own), own=own is not None)
    has = {"annotations": "annotations" in task or "completions" in task, "predictions": "predictions" in task}
    minus = [k for k in d.pop("-", ()) if not has.get(k)]
    if minus:
        d["-"] = minus
    preds = task.get("predictions")
    if isinstance(preds, list) and preds and all(isinstance(p, int) and not isinstance(p, bool) for p in preds):
        d.setdefault("+", {})["predictions"] = preds  # a plain export: predictions by id
    return d


def _keys_in_order(groups: dict[Any, list[int]], items: list[dict], n: int) -> list[str]:
    """``<name>#<rank>`` of each item, ranks within each group by time (:func:`_ranked`)."""
    keys = [""] * n
    for name, idxs in groups.items():
        for i, rank in zip(idxs, _ranked([items[j] for j in idxs])):
            keys[i] = f"{name if name is not None else '-'}#{rank}"
    return keys


def _annotation_rows(anns: list, trow: dict, where: str, users: dict[int, str] | None) -> list[dict]:
    """Rows of a task's annotations; ``annotation_key`` is ``<annotator>#<rank by time>``."""
    by_annotator: dict[Any, list[int]] = {}
    for ai, ann in enumerate(anns):
        if not isinstance(ann, dict):
            raise RecordError(f"{where}, annotation {ai}", "is not an object")
        _check_annotator(ann.get("completed_by"), f"{where}, annotation {ai}{_id_of(ann)}, field completed_by")
        by_annotator.setdefault(annotator_of(ann.get("completed_by"), users), []).append(ai)
    keys = _keys_in_order(by_annotator, anns, len(anns))
    in_order = keys == sorted(keys)
    out: list[dict] = []
    for ai, ann in enumerate(anns):
        out.extend(_answer_rows(ann, trow, keys[ai], f"{where}, annotation {ai}{_id_of(ann)}", True, users,
                                {} if in_order else {"i": ai}))
    return out


@dataclass
class TaskPredictions:
    """A task's predictions as :func:`task_predictions` reads them."""

    #: (prediction, its marks for the writer, where it is) of each prediction, in reading order.
    found: list[tuple[dict, dict, str]] = field(default_factory=list)
    #: ids in the task's list that name no prediction given in full (a plain export).
    ids_only: int = 0
    #: entries of the task's list that are neither an object nor an id (skipped when not strict).
    skipped: int = 0

    @property
    def predictions(self) -> list[dict]:
        return [p for p, _, _ in self.found]


def task_predictions(task: dict, where: str, *, strict: bool = True,
                     name: Callable[[int], str] | None = None) -> TaskPredictions:
    """A Label Studio task's predictions: the one rule of snapshot (``strict``), ``dataset push`` and
    ``--predictions`` (not strict).

    Those in ``task.predictions`` first, then those an export gives in full only in
    ``annotations[].prediction``, each once (by its id; one with no id by its content), leaving out
    those whose id the task's list does not name (deleted since; all are kept where there is no
    list). An id is an integer, not a bool. ``predictions`` of another kind than a list is a
    RecordError (not strict: an empty one, ``{}``, ``""``, ``false``, is none); an entry neither an
    object nor an id is a RecordError when ``strict``, else skipped and counted. ``name(i)`` names
    entry ``i`` of the list, whole (default: ``WHERE, prediction i (id N)``).
    """
    raw = task.get("predictions")
    if not strict and not raw and not isinstance(raw, list):
        raw = None
    preds = _list_of(raw, where + ".predictions")
    listed = {p for p in preds if _is_id(p)}
    out, seen, unnamed = TaskPredictions(), set(), []
    for pi, p in enumerate(preds):
        if _is_id(p):
            continue
        if not isinstance(p, dict):
            if strict:
                raise RecordError(f"{where}, prediction {pi}" if name is None else name(pi), "is not an object")
            out.skipped += 1
            continue
        out.found.append((p, {"i": pi}, f"{where}, prediction {pi}{_id_of(p)}" if name is None else name(pi)))
        pid = _int_or_none(p.get("id"))
        if pid is not None:
            seen.add(pid)
        else:  # told by its content, worked out only if a carried one has no id either
            unnamed.append((pi, p))
    anns = task.get("annotations", task.get("completions"))
    for ai, ann in enumerate(anns if isinstance(anns, list) else []):
        p = ann.get("prediction") if isinstance(ann, dict) else None
        if not isinstance(p, dict) or not isinstance(p.get("result"), list):
            continue
        pid = _int_or_none(p.get("id"))
        if pid is None and unnamed:
            seen.update(_json(u, f"{where}, prediction {ui}" if name is None else name(ui)) for ui, u in unnamed)
            unnamed = []
        ident = pid if pid is not None else _json(p, f"{where}, annotation {ai}, field prediction")
        if ident in seen or (raw is not None and pid is not None and pid not in listed):
            continue  # given already, or deleted since (the task's list does not name it)
        seen.add(ident)
        out.found.append((p, {"as": AS_ID if pid in listed else AS_EMBEDDED},
                          f"{where}, annotation {ai}{_id_of(ann)}, its prediction{_id_of(p)}"))
    out.ids_only = len(listed - seen)
    return out


def _is_id(v: Any) -> bool:
    """Whether an entry of a task's ``predictions`` is a prediction's id (a plain export's)."""
    return isinstance(v, int) and not isinstance(v, bool)


def _prediction_rows(preds: list[tuple[dict, dict, str]], trow: dict, where: str) -> list[dict]:
    """Rows of a task's predictions; ``prediction_key`` is ``<model_version>#<rank>``."""
    by_model: dict[str, list[int]] = {}
    for i, (p, _, pwhere) in enumerate(preds):
        by_model.setdefault(_model_version(p.get("model_version"), pwhere + ", field model_version"), []).append(i)
    keys = _keys_in_order(by_model, [p for p, _, _ in preds], len(preds))
    listed = [keys[i] for i, (_, m, _) in enumerate(preds) if "i" in m]
    in_order = listed == sorted(listed)
    out: list[dict] = []
    for i, (p, marks, pwhere) in enumerate(preds):
        if in_order:
            marks = {k: v for k, v in marks.items() if k != "i"}
        out.extend(_answer_rows(p, trow, keys[i], pwhere, False, None, marks))
    return out


def _list_of(v: Any, where: str) -> list:
    """A list field of a task or an answer (annotations, predictions, result): null is none; a
    value of another kind (an object, text, a number, even an empty one) is refused."""
    if v is None:
        return []
    if not isinstance(v, list):
        raise RecordError(where, f"is {type(v).__name__} {_short(v)}, expected a list")
    return v


def _time_or_none(v: Any, where: str) -> str | None:
    """A time stamp (``created_at``, ``updated_at``) as Label Studio writes it: text, or null."""
    if v is None or isinstance(v, str):
        return v
    raise RecordError(where, f"is {type(v).__name__} {_short(v)}, expected a date-time as text",
                      "give the time as Label Studio exports it (ISO 8601, e.g. 2024-05-01T12:00:00Z), or leave it out")


def _check_annotator(v: Any, where: str) -> None:
    """``completed_by``: a user id, an e-mail, a user object ``{id, email}``, or null."""
    ok = v is None or isinstance(v, str) or isinstance(v, int) and not isinstance(v, bool)
    if isinstance(v, dict):
        email, uid = v.get("email"), v.get("id")
        ok = isinstance(email, (str, type(None))) and (
            uid is None or isinstance(uid, (int, str)) and not isinstance(uid, bool))
    if not ok:
        raise RecordError(where, f"is {type(v).__name__} {_short(v)}, expected a user id, an e-mail or a user "
                                 "object {id, email}",
                          "give the annotator as Label Studio exports it (its user id or e-mail), or leave it out")


def _model_version(v: Any, where: str) -> str:
    """A prediction's ``model_version`` as text (a number is taken as its text; null: none)."""
    if v is None or isinstance(v, str):
        return v or ""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise RecordError(where, f"is {type(v).__name__} {_short(v)}, expected text",
                          "give the model's version as text, or leave it out")
    return str(v) if v else ""


def _answer_rows(ans: dict, trow: dict, akey: str, where: str, annotation: bool,
                 users: dict[int, str] | None, marks: dict) -> list[dict]:
    result = _list_of(ans.get("result"), where + ".result")
    regions = [_region_row(item, i, f"{where}, result {i}{_id_of(item)}") for i, item in enumerate(result)]
    _assign_region_keys(regions)
    plain = [r.pop("_plain") for r in regions]
    if not regions:
        regions = [_empty_region()]
    server = ANNOTATION_SERVER_FIELDS if annotation else PREDICTION_SERVER_FIELDS
    extra_fields = {k: v for k, v in ans.items() if k not in server}
    extra = _json(extra_fields, where) if extra_fields else None
    base: dict[str, Any] = {"task_key": trow["task_key"], "ls_task_id": trow["ls_task_id"], "extra": extra,
                            "created_at": _time_or_none(ans.get("created_at"), where + ", field created_at"),
                            "updated_at": _time_or_none(ans.get("updated_at"), where + ", field updated_at")}
    if annotation:
        base.update({
            "annotation_key": akey,
            "annotator": annotator_of(ans.get("completed_by"), users),
            "was_cancelled": _bool(ans.get("was_cancelled"), where + ".was_cancelled"),
            "ground_truth": _bool(ans.get("ground_truth"), where + ".ground_truth"),
            "lead_time": _float_or_none(ans.get("lead_time"), where + ".lead_time"),
            "ls_annotation_id": _id_or_none(ans.get("id"), where + ", field id"),
            "ls_parent_prediction_id": _id_or_none(ans.get("parent_prediction"), where + ", field parent_prediction"),
            "ls_parent_annotation_id": _id_or_none(ans.get("parent_annotation"), where + ", field parent_annotation"),
        })
    else:
        base.update({
            "prediction_key": akey,
            "model_version": _model_version(ans.get("model_version"), where + ", field model_version"),
            "score": _float_or_none(ans.get("score"), where + ".score"),
            "ls_prediction_id": _id_or_none(ans.get("id"), where + ", field id"),
        })
    rows = [{**base, **r} for r in regions]
    _attach_originals(ans, result, rows, annotation, marks, plain)
    return rows


def _attach_originals(ans: dict, result: list, rows: list[dict], annotation: bool, marks: dict,
                      plain: list[bool]) -> None:
    """Each row's ``ls_original``: its result item's difference from what the writer rebuilds,
    and, on the answer's first row in key order, the answer's (see :mod:`annover.formats.ls_writer`).
    ``plain[j]``: row ``j``'s value and other fields are their own canonical form (:func:`_plain_item_diff`)."""
    originals: list[dict] = [{} for _ in rows]
    for j, r in enumerate(rows):
        if r["region_key"] != "":
            item = result[r["position"]]
            d = _plain_item_diff(item, r) if plain[j] else diff(item, item_out(r))
            if d:
                originals[j]["r"] = d
    a = diff({k: v for k, v in ans.items() if k != "result"}, answer_out(rows[0], annotation))
    minus = [k for k in a.pop("-", ()) if k != "result" or "result" not in ans]
    if minus:
        a["-"] = minus
    a.update(marks)
    if a:
        originals[min(range(len(rows)), key=lambda j: rows[j]["region_key"])]["a"] = a
    for r, o in zip(rows, originals):
        r["ls_original"] = dump(o)


def _plain_item_diff(item: dict, r: dict) -> dict:
    """``diff(item, item_out(r))`` of a result item whose value and other fields are their own canonical
    form: ``item_out`` would read back from the row's canonical JSON what the item holds, so each field
    it rebuilds is the item's own (the same: it holds no NaN), but for the ``id`` of the region key and
    the named fields it leaves out where they are null."""
    given, fn = item.get("id"), r["from_name"]
    plain_name = type(fn) is str and "#" not in fn and "\n" not in fn
    if plain_name and type(given) is str and r["region_key"] == given + "/" + fn:
        rid = given  # item_id's answer: no "#n" to strip (the key ends in the control's name), then the control's
    else:
        rid = item_id(r["region_key"], fn)
    plus = {}
    for k, v in item.items():
        if k == "id" and (rid is None or not same(v, rid)) or v is None and k in _NAMED_FIELDS:
            plus[k] = v
    minus = ["id"] if rid is not None and "id" not in item else []
    return {**({"+": plus} if plus else {}), **({"-": minus} if minus else {})}


#: The fields of a result item ``item_out`` writes only where they are not null.
_NAMED_FIELDS = frozenset({"from_name", "to_name", "type", "value"})


def from_ls_tasks(tasks: list, source: str, *, config: LabelingConfig | None = None, key: str | None = None,
                  validate: bool | str = True, fmt: str = Format.LABEL_STUDIO,
                  users: dict[int, str] | None = None, place: Place | None = None) -> Tables:
    """Canonical tables of Label Studio tasks; InputError / ValidationError naming the record.

    ``validate``: True / False, or a strictness of :data:`annover.formats.ls_results.LEVELS`;
    ``place(k, i)`` names the predictions in errors (:func:`parse_tasks`).
    """
    try:
        return _from_ls_tasks(tasks, source, config, key, strictness(validate), users, place, fmt)
    except UnicodeEncodeError:  # a lone surrogate, which a file reader names before: tasks given in Python
        check_json_values(tasks, source, "task")
        raise


def _from_ls_tasks(tasks: list, source: str, config: LabelingConfig | None, key: str | None, level: str,
                   users: dict[int, str] | None, place: Place | None, fmt: str) -> Tables:
    try:
        rows = parse_tasks(tasks, key=key, source=source, users=users, place=place)
    except RecordError as e:
        error = DuplicateKey if isinstance(e, DuplicateTask) else InputError
        raise error(str(e), e.hint or "fix the record, or check that this is a Label Studio JSON export") from None
    warnings: list[str] = []
    if config is not None and level != "off":
        warnings += check_answers(_answers(tasks, source, key, place), config, level, source, _hint(config, level))
    if rows.prediction_ids_only:
        warnings.append(f"{source}: {rows.prediction_ids_only} predictions are given as ids only (a plain export) "
                        "and nowhere in full; they are kept as ids")
    if rows.unmapped_users:
        ids = sorted(rows.unmapped_users, key=int)
        warnings.append(f"{source}: annotators {', '.join(ids[:5])}{' ...' if len(ids) > 5 else ''} are numeric "
                        "Label Studio user ids, not e-mails; pass --users FILE (user id and e-mail), or snapshot once "
                        "with --label-studio so the repository learns them")
    return rows_to_tables({"tasks": rows.tasks, "annotations": rows.annotations, "predictions": rows.predictions},
                          fmt, source, warnings)


#: The way out of a validation error, named as a command line and a Python call give it.
KEEP_WITH_A_WARNING = "keep them with a warning: --validate warn (validate='warn' in Python)"


def _hint(config: LabelingConfig, level: str) -> str:
    fix = f"fix the results or {config.source}"
    if config.source == HEAD_CONFIG:  # a new round with a new class: how to give HEAD's config with it
        fix += (" (a label it lacks: `annover show --config > labeling.xml`, add it there, and snapshot with "
                "--config labeling.xml)")
    less = KEEP_WITH_A_WARNING if level != "strict" else "check less strictly: --validate check"
    return f"{fix}; or {less}"


def validate_ls_tasks(tasks: list, config: LabelingConfig, source: str, key: str | None,
                      validate: bool | str = True) -> list[str]:
    """Check every result item (annotations and predictions) against the config; the warnings."""
    return check_answers(_answers(tasks, source, key), config, strictness(validate), source, _hint(config, "check"))


def _answers(tasks: list, source: str, key: str | None, place: Place | None = None) -> Iterator[tuple[Where, dict]]:
    """(where, answer) of every annotation and of the predictions :func:`task_predictions` reads
    (carried ones too); ``where`` is worded only on error (a prediction of the list by ``place``, if given)."""
    for ti, task in enumerate(tasks):
        if not isinstance(task, dict):
            continue
        anns = task.get("annotations") or task.get("completions") or []
        for ai, ans in enumerate(anns if isinstance(anns, list) else []):
            yield (lambda ti=ti, task=task, ai=ai, ans=ans:
                   f"{source}: task {ti} (key {_key_or_mark(task, key)}), annotation {ai}{_id_of(ans)}"), ans
        head = f"{source}: task {ti}"
        try:
            found = task_predictions(task, head, strict=False).found
        except RecordError:  # refused where the task is read
            found = []
        for p, marks, pwhere in found:
            if place is not None and "i" in marks:
                yield (lambda task=task, i=marks["i"]: place(_key_or_mark(task, key), i)), p
                continue
            yield (lambda head=head, task=task, rest=pwhere[len(head):]:
                   f"{head} (key {_key_or_mark(task, key)}){rest}"), p


def _key_or_mark(task: dict, key: str | None) -> str:
    try:
        return task_key_of(task, key, "")
    except RecordError:
        return "?"
