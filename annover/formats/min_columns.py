"""JSONL rows and JSON-MIN records written column-wise: each line's (record's) text built by
Arrow kernels from a batch's columns, as :mod:`annover.formats.ls_columns` builds Label Studio
tasks, with the same rule: a row (a task's records) is written here only where that gives
exactly the bytes the general writers give (:func:`~annover.formats.write.jsonl_general_chunks`,
:func:`~annover.formats.write.json_min_general_chunks`: ``to_pylist`` or ``to_tasks``, the
standard library's ``json.loads``, then orjson). Every JSON text used must be written back by
orjson as it is (so a float written ``1e-07``, an integer beyond 64 bits, a text that is not
compact, a NaN are not); the others are marked, and the caller writes them the general way.

JSON-MIN takes a task here when its data is an object naming none of the record's own keys
(``id``, ``annotator``, ..., a control of the batch), its provenance differences (task,
answer, result item) leave alone what a record shows (an answer's ``completed_by``,
``was_cancelled``, ``id``, times and place are applied here; a task's ``data`` or ``id``, a
result's ``value``, ``from_name``, ``type`` or image size are not), and its rows are what
``to_tasks`` reads without failing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.formats import json_columns as J
from annover.formats.ls_columns import ITEM_FIELDS
from annover.formats.ls_writer import annotator_out

if TYPE_CHECKING:
    import numpy as np
    import orjson
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")
    orjson = lazy("orjson")

__all__ = ["jsonl_lines", "min_records"]

#: Columns holding JSON text, written as JSON values in JSONL (as :data:`annover.formats.write.JSON_COLUMNS`).
JSON_COLUMNS = ("data", "value", "region", "extra")
#: Keys a JSON-MIN record sets after the task's data (a data key among them is left to the general writer).
RECORD_KEYS = frozenset({"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time"})
#: A task's fields a JSON-MIN record reads (a task difference or ``extra`` naming one is not written here).
TASK_READ = frozenset({"id", "data", "annotations"})
#: An answer's fields a record reads; a difference may change all but ``result`` (applied here).
ANSWER_READ = frozenset({"id", "completed_by", "result", "was_cancelled", "created_at", "updated_at", "lead_time"})
#: A result item's fields a record reads (a difference naming one is not written here).
ITEM_READ = frozenset({"from_name", "value", "type", "original_width", "original_height"})
#: Result fields JSON-MIN moves into the value (:data:`annover.formats.json_min._ITEM_FIELDS`).
MOVED = ("original_width", "original_height")
#: Result types whose single value JSON-MIN writes as the value itself (:mod:`annover.formats.json_min`).
SINGLE_VALUE_TYPES = ("choices", "taxonomy", "textarea", "rating", "number", "datetime")


# ---------------------------------------------------------------------------
# JSONL


def jsonl_lines(t: "pa.Table") -> "tuple[pa.Array, np.ndarray] | None":
    """(each row's line, its newline included; written here?) of a batch of rows, or None for a
    table this does not write (two columns of one name, a value orjson cannot write)."""
    if len(set(t.column_names)) != t.num_columns:
        return None
    ok = np.ones(t.num_rows, dtype=bool)
    pieces: list = []
    try:
        for name, col in zip(t.column_names, t.columns):
            text, good = _row_values(name, J.plain(col))
            pieces += [("{" if not pieces else ",") + orjson.dumps(name).decode() + ":", text]
            ok &= good
    except (orjson.JSONEncodeError, TypeError):
        return None
    if not pieces:
        return pa.array(["{}\n"] * t.num_rows, pa.string()), ok
    return pc.binary_join_element_wise(*pieces, "}\n", ""), ok


def _row_values(name: str, arr: "pa.Array") -> "tuple[pa.Array, np.ndarray]":
    """(each value as JSON, null as ``null``; written here?) of a column."""
    ok = np.ones(len(arr), dtype=bool)
    texty = pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
    if name in JSON_COLUMNS and texty:
        text, ok = J.json_texts(arr, None)
    elif texty:
        text = J.quoted(arr)
    elif pa.types.is_integer(arr.type) or pa.types.is_boolean(arr.type):
        text = J.number(arr)
    elif pa.types.is_list(arr.type) and pa.types.is_string(arr.type.value_type):
        text = _string_lists(arr)
    else:
        text = J.dumped(arr.to_pylist())
    return pc.fill_null(text, "null"), ok


def _string_lists(arr: "pa.Array") -> "pa.Array":
    """Lists of texts as JSON arrays (a null list stays null, a null text is ``null``)."""
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]), pa.int32())
    items = pc.fill_null(J.quoted(pc.list_flatten(arr)), "null")
    text = pc.binary_join_element_wise("[", pc.binary_join(pa.ListArray.from_arrays(offsets, items), ","), "]", "")
    return pc.if_else(pc.is_valid(arr), text, pa.scalar(None, pa.string()))


def _inner(parts: list, n: int) -> "pa.Array":
    """The parts present (not None, not null) joined by ``,``, for n rows; null where none is."""
    parts = [pc.binary_join_element_wise(",", p, "") for p in parts if p is not None]
    if not parts:
        return pa.nulls(n, pa.string())
    inner = pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="")
    return pc.if_else(pc.equal(inner, ""), pa.scalar(None, pa.string()), pc.utf8_slice_codeunits(inner, 1))


def concat(texts: "pa.Array", sep: str = "") -> bytes:
    """The texts (none null) joined by ``sep``, as one bytes."""
    if sep:
        texts = pc.binary_join_element_wise(texts, sep, "")
    data = J.text_bytes(texts).tobytes()
    return data[:len(data) - len(sep.encode())] if sep and data else data


# ---------------------------------------------------------------------------
# JSON-MIN: checks


def _harmless(d: Any, read: frozenset) -> bool:
    """Whether a difference (``{"+": {...}, "-": [...]}``, or None) is well formed and names
    none of the fields ``read``."""
    if not d:
        return True
    if not isinstance(d, dict):
        return False
    plus, minus = d.get("+", {}), d.get("-", [])
    if not isinstance(plus, dict) or not isinstance(minus, list) or not all(isinstance(k, str) for k in minus):
        return False
    return not (read & plus.keys()) and not (read & set(minus))


def _task_provenance(tasks: "pa.Table") -> "np.ndarray | None":
    """Whether each task's difference leaves what a record reads alone; None where a task's
    place is not an integer (the batch's order may then not be ``to_tasks``')."""
    plain = J.no_provenance(tasks, J.PLACE_ONLY)
    ok = plain.copy()
    lso = J.column_or_none(tasks, "ls_original")
    for i in np.flatnonzero(~plain).tolist():
        try:
            d = json.loads(lso[i].as_py()) or {}
        except ValueError:
            return None
        if not isinstance(d, dict) or not isinstance(d.get("i", 0), int):
            return None
        ok[i] = _harmless(d, TASK_READ)
    return ok


def _data_inner(arr: "pa.Array", names: frozenset) -> "tuple[pa.Array, np.ndarray]":
    """(the fields of each task's data without braces, null for ``{}``; written here?): data
    that is an object, given back by orjson, naming none of ``names``. Each distinct text once."""
    enc = J.plain(arr).dictionary_encode()
    texts, oks = [], []
    for s in enc.dictionary.to_pylist():
        obj, ok = J.reads_back(s)
        ok = ok and isinstance(obj, dict) and not (names & obj.keys())
        texts.append(s[1:-1] or None if ok else None)
        oks.append(ok)
    idx = enc.indices
    good = np.array(oks + [False], dtype=bool)[pc.fill_null(idx, len(oks)).to_numpy(zero_copy_only=False)]
    return pa.array(texts, pa.string()).take(idx), good


def _value_facts(arr: "pa.Array") -> "tuple[np.ndarray, np.ndarray, pa.Array]":
    """(is an object, names an image size, the one choice's JSON text or null) of each value text."""
    enc = J.plain(arr).dictionary_encode()
    is_obj, sized, choice = [], [], []
    for s in enc.dictionary.to_pylist():
        try:
            v = orjson.loads(s)
        except orjson.JSONDecodeError:
            v = None
        one = v.get("choices") if isinstance(v, dict) else None
        is_obj.append(isinstance(v, dict))
        sized.append(isinstance(v, dict) and any(k in v for k in MOVED))
        choice.append(orjson.dumps(one[0]).decode() if isinstance(one, list) and len(one) == 1 else None)
    idx = pc.fill_null(enc.indices, len(is_obj)).to_numpy(zero_copy_only=False)
    return (np.array(is_obj + [False], dtype=bool)[idx], np.array(sized + [False], dtype=bool)[idx],
            pa.array(choice, pa.string()).take(enc.indices))


def _moved(arr: "pa.Array") -> "pa.Array":
    """The image size fields of each region text, as JSON-MIN adds them to the value (null for none)."""
    enc = J.plain(arr).dictionary_encode()
    out = []
    for s in enc.dictionary.to_pylist():
        try:
            r = orjson.loads(s)
        except orjson.JSONDecodeError:
            r = None
        sized = [orjson.dumps(k).decode() + ":" + orjson.dumps(r[k]).decode()
                 for k in MOVED if isinstance(r, dict) and k in r]
        out.append(",".join(sized) or None)
    return pa.array(out, pa.string()).take(enc.indices)


# ---------------------------------------------------------------------------
# JSON-MIN: result items and controls


def _min_values(s: "pa.Table") -> "tuple[pa.Array, pa.Array, np.ndarray]":
    """(each row's value as JSON-MIN writes it, its one choice, written here?) for the rows ``s``."""
    value, ok = J.json_texts(s.column("value"), None)
    _, region_ok = J.json_texts(s.column("region"), ITEM_FIELDS)
    is_obj, sized, choice = _value_facts(s.column("value"))
    moved = _moved(s.column("region"))
    has = pc.is_valid(moved).to_numpy(zero_copy_only=False)
    sep = pc.if_else(pc.equal(value, "{}"), "", ",")
    grown = pc.binary_join_element_wise(pc.utf8_slice_codeunits(value, 0, -1), sep, moved, "}", "")
    out = pc.if_else(pa.array(has & is_obj), grown, value)
    chooses = pc.fill_null(pc.equal(J.plain(s.column("type")), "choices"), False).to_numpy(zero_copy_only=False)
    ok = ok & region_ok & J.keyed(s) & ~(has & sized) & ~(chooses & ~is_obj)
    return out, choice, ok


def _controls(s: "pa.Table", gid: "np.ndarray", n_answers: int, value: "pa.Array", choice: "pa.Array"
              ) -> "pa.Array":
    """``"control":value,...`` of each answer (null for none): its result items grouped by
    control in the order they first appear, as :func:`annover.formats.json_min._record` writes them."""
    names = J.plain(s.column("from_name"))
    item = np.flatnonzero((pc.not_equal(J.plain(s.column("region_key")), "").to_numpy(zero_copy_only=False))
                          & pc.is_valid(names).to_numpy(zero_copy_only=False)
                          & pc.is_valid(value).to_numpy(zero_copy_only=False))
    if not len(item):
        return pa.nulls(n_answers, pa.string())
    enc = names.take(pa.array(item)).dictionary_encode()
    key = gid[item] * len(enc.dictionary) + enc.indices.to_numpy(zero_copy_only=False)
    _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    appear = np.argsort(first, kind="stable")  # the controls in the order they first appear
    rank = np.empty_like(appear)
    rank[appear] = np.arange(len(appear))
    rows = item[np.argsort(rank[inverse.ravel()], kind="stable")]
    firsts = item[first[appear]]
    n = counts[appear]
    offsets = pa.array(np.concatenate([[0], np.cumsum(n)]), pa.int32())
    listed = pc.binary_join_element_wise(
        "[", pc.binary_join(pa.ListArray.from_arrays(offsets, value.take(pa.array(rows))), ","), "]", "")
    at = pa.array(firsts)
    typ = J.plain(s.column("type")).take(at)
    single = pa.array(n == 1)
    one_choice = pc.and_(single, pc.fill_null(pc.equal(typ, "choices"), False))
    one_value = pc.and_(single, pc.fill_null(pc.is_in(typ, pa.array(SINGLE_VALUE_TYPES)), False))
    first_choice = choice.take(at)
    text = pc.if_else(pc.and_(one_choice, pc.is_valid(first_choice)), first_choice,
                      pc.if_else(one_value, value.take(at), listed))
    fields = pc.binary_join_element_wise(J.quoted(names.take(at)), text, ":")
    per = np.bincount(gid[firsts], minlength=n_answers)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(per)]), pa.int32()),
                                                     fields), ",")
    return pc.if_else(pa.array(per > 0), joined, pa.scalar(None, pa.string()))


# ---------------------------------------------------------------------------
# JSON-MIN: answers and records


def _email(cb: Any) -> Any:
    """``completed_by`` as a record's ``annotator``."""
    return cb.get("email") if isinstance(cb, dict) else cb


def _tail(f: "pa.Table") -> "pa.Array":
    """``"annotator":...`` and the answer's fields after it in a record, of each answer (its first row in ``f``)."""
    names = J.plain(f.column("annotator")).dictionary_encode()
    shown = J.dumped([_email(annotator_out(x)) for x in names.dictionary.to_pylist()]).take(names.indices)
    return _inner([J.field("annotator", pc.fill_null(shown, "null")),
                   J.optional(f, "ls_annotation_id", "annotation_id", J.number),
                   J.optional(f, "created_at", "created_at", J.quoted), J.optional(f, "updated_at", "updated_at", J.quoted),
                   J.field("lead_time", J.number(J.plain(f.column("lead_time"))))], f.num_rows)


def _answer_read(first: dict, d: dict) -> dict:
    """The fields of an answer a record reads, as :func:`~annover.formats.ls_writer.answer_out`
    sets them from its first row, its difference ``d`` applied (as ``placed`` applies it)."""
    a: dict[str, Any] = {}
    if first.get("ls_annotation_id") is not None:
        a["id"] = first["ls_annotation_id"]
    a["completed_by"] = annotator_out(first["annotator"])
    a["was_cancelled"] = first["was_cancelled"]
    if first["lead_time"] is not None:
        a["lead_time"] = first["lead_time"]
    for k in ("created_at", "updated_at"):
        if first.get(k) is not None:
            a[k] = first[k]
    for k in d.get("-", ()):
        a.pop(k, None)
    a.update({k: v for k, v in d.get("+", {}).items() if k in ANSWER_READ})
    return a


def _tail_text(a: dict) -> str:
    """:func:`_tail` of one answer's fields (:func:`_answer_read`); orjson may refuse a value."""
    parts = [b'"annotator":' + orjson.dumps(_email(a.get("completed_by")))]
    if "id" in a:
        parts.append(b'"annotation_id":' + orjson.dumps(a["id"]))
    parts += [orjson.dumps(k) + b":" + orjson.dumps(a[k]) for k in ("created_at", "updated_at", "lead_time") if k in a]
    return b",".join(parts).decode()


def _differences(f: "pa.Table", groups: tuple, ta: "np.ndarray", want: "np.ndarray", fix: dict) -> "np.ndarray":
    """Apply the answer differences of the tasks ``want`` to ``fix`` (``place``, ``cancelled``,
    ``tail`` of each answer); return the answers written here (their result items' differences
    naming nothing a record reads, their own leaving the result alone)."""
    ok = np.ones(len(ta), dtype=bool)
    redo: dict[int, dict] = {}
    for t, entries in J.diffs(groups, "annotation_key", want).items():
        at = int(np.searchsorted(ta, t))
        for j, (_, d, _, r_diffs) in enumerate(entries):
            g = at + j
            i = d.get("i", 2**62) if isinstance(d, dict) else None
            good = isinstance(d, dict) and _harmless(d, frozenset({"result"})) and all(
                _harmless(r, ITEM_READ) for r in r_diffs)
            if not good or not isinstance(i, int) or not -2**63 < i < 2**63:
                ok[g] = False
                continue
            fix["place"][g] = i
            if not _harmless(d, ANSWER_READ):
                redo[g] = d
    if redo:
        for g, first in zip(redo, f.take(pa.array(list(redo), pa.int64())).to_pylist()):
            a = _answer_read(first, redo[g])
            fix["cancelled"][g] = bool(a.get("was_cancelled"))
            try:
                fix["tail"][g] = _tail_text(a)
            except orjson.JSONEncodeError:
                ok[g] = False
    return ok


def _answer_records(tasks: "pa.Table", anns: "pa.Table", counts: "np.ndarray"
                    ) -> "tuple[list, np.ndarray, np.ndarray, np.ndarray, np.ndarray]":
    """(the parts of each answer's record after the task's data: the task's id, the controls,
    the answer's fields; its task; its place; written here?; skipped?) of the tasks' rows ``anns``."""
    ti = np.repeat(np.arange(len(counts)), counts)
    groups = s, order, ts, starts = J.groups(anns, ti, "annotation_key")
    n = len(starts)
    firsts = np.minimum.reduceat(order, starts) if len(order) else starts
    gid = np.repeat(np.arange(n), np.diff(np.append(starts, s.num_rows)))
    value, choice, row_ok = _min_values(s)
    row_ok &= ~pc.fill_null(pc.is_in(J.plain(s.column("from_name")), pa.array(sorted(RECORD_KEYS))),
                            False).to_numpy(zero_copy_only=False)
    f = anns.take(pa.array(firsts, pa.int64()))
    _, ok = J.json_texts(f.column("extra"), ANSWER_READ)
    ok = ok & (np.bincount(gid[~row_ok], minlength=n) == 0)
    ta = ts[starts] if n else np.zeros(0, np.int64)
    fix = {"place": np.full(n, 2**62, dtype=np.int64), "tail": [None] * n,
           "cancelled": pc.fill_null(J.plain(f.column("was_cancelled")), False).to_numpy(zero_copy_only=False).copy()}
    odd = ~J.no_provenance(s)
    if odd.any():
        ok &= _differences(f, groups, ta, np.bincount(ts[odd], minlength=len(counts)) > 0, fix)
    tail = pc.coalesce(pa.array(fix["tail"], pa.string()), _tail(f))
    tid = J.optional(tasks, "ls_task_id", "id", J.number)
    take = pa.array(ta, pa.int64())
    parts = [None if tid is None else tid.take(take), _controls(s, gid, n, value, choice), tail]
    return parts, ta, fix["place"], ok, fix["cancelled"]


def min_records(tasks: "pa.Table", anns: "pa.Table", counts: "np.ndarray"
                ) -> "tuple[pa.Array, np.ndarray, np.ndarray] | None":
    """(each JSON-MIN record of the tasks written here, in the order written; the task of each;
    which tasks are written here) of a batch of tasks (in the order written) and their annotation
    rows (each task's together, ``counts`` a task); None for a batch this does not write (a
    task's place not an integer, a provenance text that is not what the reader writes)."""
    try:
        t_ok = _task_provenance(tasks)
        names = J.plain(anns.column("from_name")).unique().drop_null().to_pylist()
        data, data_ok = _data_inner(tasks.column("data"), RECORD_KEYS | frozenset(names))
        _, extra_ok = J.json_texts(tasks.column("extra"), TASK_READ)
        parts, ta, place, a_ok, cancelled = _answer_records(tasks, anns, counts)
    except (ValueError, TypeError, AttributeError, KeyError):
        return None  # a provenance text (or a column) the general writer reads, or fails on, its own way
    if t_ok is None:
        return None
    ok = t_ok & data_ok & extra_ok & J.unique(tasks) & (np.bincount(ta[~a_ok], minlength=tasks.num_rows) == 0)
    sel = np.lexsort((np.arange(len(ta)), place, ta))
    sel = sel[~cancelled[sel] & ok[ta[sel]]]
    at = pa.array(sel, pa.int64())
    inner = _inner([data.take(pa.array(ta[sel], pa.int64()))] + [None if p is None else p.take(at) for p in parts],
                   len(sel))
    return pc.binary_join_element_wise("{", inner, "}", ""), ta[sel], ok
