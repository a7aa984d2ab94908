"""Label Studio JSON tasks written column-wise: each task's text built by Arrow kernels from
a batch's tables, with no Python object per row.

It writes a task only where that gives exactly the bytes
:func:`~annover.formats.ls_writer.to_tasks` and orjson give: every JSON text of the task reads
back and is written again by orjson as it is (so a float written ``1e-07``, an integer beyond 64
bits, a text that is not compact are not), no merged object (``extra``, ``region``) names a
field the writer sets itself, no other task of the batch has its key, and no row of it lacks a
key or position. A task with provenance differences (``ls_original`` beyond its place: a Label
Studio export as read) is written so, read back by orjson, its differences applied by the same
functions ``to_tasks`` uses, and encoded as ``to_tasks``' output is. :func:`task_texts` returns
None for the other tasks, and the caller writes those through ``to_tasks``: the choice is made
task by task, from the data.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from annover._lazy import lazy
from annover.formats.ls_writer import annotator_out, apply, finish, item_id, placed

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

__all__ = ["task_texts"]

#: Fields :func:`~annover.formats.ls_writer.task_out` sets; a task's ``extra`` naming one is not written here.
TASK_FIELDS = frozenset({"id", "data", "annotations", "predictions", "created_at", "updated_at", "project"})
#: Fields :func:`~annover.formats.ls_writer.answer_out` sets (annotations and predictions).
ANSWER_FIELDS = frozenset({"id", "completed_by", "result", "was_cancelled", "ground_truth", "lead_time",
                           "parent_prediction", "parent_annotation", "created_at", "updated_at",
                           "model_version", "score"})
#: Fields :func:`~annover.formats.ls_writer.item_out` sets.
ITEM_FIELDS = frozenset({"id", "from_name", "to_name", "type", "value"})
#: How deep below a task's top a JSON text may sit in it, with a margin: a text is checked
#: wrapped in as many lists, so a task orjson would refuse (too deeply nested) is not written here.
DEPTH = 8
#: The nesting orjson writes at most (deeper is an error, and that task the standard library's).
ORJSON_DEPTH = 255
#: A character orjson (and the standard library) writes escaped in a JSON string.
_ESCAPED = r'[\x00-\x1f"\\]'
#: ``ls_original`` of a task that holds only its place in the input (or nothing).
_PLACE_ONLY = r'^\{("i":-?[0-9]+)?\}$'


def _plain(col: Any) -> "pa.Array":
    """One array of ``col`` (a column or an array), dictionary texts decoded."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr


def _dumped(values: list) -> "pa.Array":
    """Each value as orjson writes it (None stays null)."""
    return pa.array([None if v is None else orjson.dumps(v).decode() for v in values], pa.string())


def _quoted(arr: "pa.Array") -> "pa.Array":
    """Texts as JSON strings (null stays null)."""
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        return _dumped(arr.to_pylist())
    if _escapes(arr):
        return _dumped(arr.to_pylist())
    return pc.binary_join_element_wise('"', arr.cast(pa.string()), '"', "")


def text_bytes(arr: "pa.Array") -> "np.ndarray":
    """The UTF-8 bytes of an array of texts, one after another (a null's too, if it has any)."""
    bufs = arr.buffers()
    if bufs[2] is None or len(arr) == 0:
        return np.zeros(0, np.uint8)
    wide = pa.types.is_large_string(arr.type)
    off = np.frombuffer(bufs[1], np.int64 if wide else np.int32)[arr.offset:arr.offset + len(arr) + 1]
    return np.frombuffer(bufs[2], np.uint8)[int(off[0]):int(off[-1])]


def _escapes(arr: "pa.Array") -> bool:
    """Whether a text holds a character a JSON string has escaped (:data:`_ESCAPED`): a scan of
    the bytes (a byte below 0x20, ``"`` or ``\\`` is that character in UTF-8), not a regex a text."""
    b = text_bytes(arr)
    return bool(((b < 0x20) | (b == 0x22) | (b == 0x5C)).any())


def _number(arr: "pa.Array") -> "pa.Array":
    """Integers (or any value) as JSON (null stays null)."""
    if pa.types.is_integer(arr.type):
        return arr.cast(pa.string())
    if pa.types.is_boolean(arr.type):
        return pc.if_else(arr, "true", "false")
    return _dumped(arr.to_pylist())


def _field(name: str, text: "pa.Array") -> "pa.Array":
    """``"name":text`` for each text (null where the text is null: the field is left out)."""
    return pc.binary_join_element_wise(orjson.dumps(name).decode() + ":", text, "")


def _column(t: "pa.Table", name: str) -> "pa.Array | None":
    return _plain(t.column(name)) if name in t.column_names else None


def _optional(t: "pa.Table", column: str, name: str, render: Any) -> "pa.Array | None":
    """``"name":value`` of a column that may be absent (a row's null leaves the field out)."""
    col = _column(t, column)
    return None if col is None else _field(name, render(col))


def _joined(parts: list, n: int) -> "pa.Array":
    """``{`` + the parts present (not None, not null) joined by ``,`` + ``}``, for n rows. (Each
    part carries its comma: ``binary_join_element_wise`` skipping nulls drops a row of nulls.)"""
    parts = [pc.binary_join_element_wise(",", p, "") for p in parts if p is not None]
    if not parts:
        return pa.array(["{}"] * n, pa.string())
    inner = pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="")
    return pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(inner, 1), "}", "")


def _json_texts(arr: "pa.Array", merged: frozenset | None) -> "tuple[pa.Array, np.ndarray]":
    """(text to write, written here?) of each JSON text: the text itself, or for an object
    merged into the writer's (``merged``: the fields the writer sets) its fields without braces
    (null where it adds none). Each distinct text is checked once."""
    arr = _plain(arr)
    enc = arr.dictionary_encode()
    texts, oks = [], []
    for s in enc.dictionary.to_pylist():
        text, ok = _checked(s, merged)
        texts.append(text)
        oks.append(ok)
    idx = enc.indices
    ok = np.array(oks + [True], dtype=bool)[pc.fill_null(idx, len(oks)).to_numpy(zero_copy_only=False)]
    return pa.array(texts, pa.string()).take(idx), ok


def reads_back(s: str) -> "tuple[Any, bool]":
    """(``s`` read by orjson, whether orjson writes it back as ``s``, nested DEPTH deeper)."""
    try:
        obj = orjson.loads(s)
        if s.count("[") + s.count("{") + DEPTH < ORJSON_DEPTH:  # a bound on its nesting
            return obj, orjson.dumps(obj) == s.encode()
        wrapped = obj
        for _ in range(DEPTH):
            wrapped = [wrapped]
        return obj, orjson.dumps(wrapped) == b"[" * DEPTH + s.encode() + b"]" * DEPTH
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, UnicodeEncodeError):
        return None, False


def _checked(s: str, merged: frozenset | None) -> "tuple[str | None, bool]":
    """(what to write, whether orjson writes ``json.loads(s)`` as ``s``, nested DEPTH deeper)."""
    obj, same = reads_back(s)
    if not same:
        return None, False
    if merged is None:
        return s, True
    if not obj:
        return None, True
    if not isinstance(obj, dict) or merged & obj.keys():
        return None, False
    return s[1:-1], True


def _no_provenance(t: "pa.Table", pattern: str = r"^\{\}$") -> "np.ndarray":
    """Rows whose ``ls_original`` is null or matches ``pattern``."""
    col = _column(t, "ls_original")
    if col is None:
        return np.ones(t.num_rows, dtype=bool)
    return pc.fill_null(pc.match_substring_regex(col, pattern), True).to_numpy(zero_copy_only=False)


def _item_ids(t: "pa.Table") -> "pa.Array":
    """``"id":...`` of each result item (null where the region key is a content hash, or '')."""
    rk, fn = _plain(t.column("region_key")), _plain(t.column("from_name"))
    has = pc.and_(pc.invert(pc.starts_with(rk, "~")), pc.not_equal(rk, "")).to_numpy(zero_copy_only=False)
    at = np.flatnonzero(has)
    ids: list = [None] * t.num_rows
    for i, key, name in zip(at.tolist(), rk.take(pa.array(at)).to_pylist(), fn.take(pa.array(at)).to_pylist()):
        ids[i] = item_id(key, name)
    return _field("id", _dumped(ids) if len(at) else pa.nulls(t.num_rows, pa.string()))


def _items(t: "pa.Table") -> "tuple[pa.Array, np.ndarray]":
    """(text, written here?) of each row's result item (null for an answer's empty row)."""
    region, region_ok = _json_texts(t.column("region"), ITEM_FIELDS)
    value, value_ok = _json_texts(t.column("value"), None)
    parts = [_item_ids(t), region] + [_field(k, _quoted(_plain(t.column(k)))) for k in ("from_name", "to_name", "type")]
    text = _joined(parts + [_field("value", value)], t.num_rows)
    empty = pc.equal(_plain(t.column("region_key")), "")
    return pc.if_else(empty, pa.scalar(None, pa.string()), text), region_ok & value_ok & _keyed(t)


def _keyed(t: "pa.Table") -> "np.ndarray":
    """Rows whose keys and position are there (the general writer sorts by them; a null it
    cannot compare with a value is its to fail on)."""
    names = [n for n in ("annotation_key", "prediction_key", "region_key", "position") if n in t.column_names]
    ok = np.ones(t.num_rows, dtype=bool)
    for n in names:
        ok &= pc.is_valid(t.column(n)).to_numpy(zero_copy_only=False)
    return ok


def _lists(texts: "pa.Array", offsets: "np.ndarray") -> "pa.Array":
    """``[`` + the texts of each run (``offsets``, nulls left out) joined by ``,`` + ``]``."""
    keep = pc.is_valid(texts).to_numpy(zero_copy_only=False)
    kept = np.concatenate([[0], np.cumsum(keep)])[offsets]
    lists = pa.ListArray.from_arrays(pa.array(kept, pa.int32()), texts.filter(pa.array(keep)))
    return pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")


def _groups(t: "pa.Table", ti: "np.ndarray", key: str) -> "tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]":
    """(``t`` in the writer's order: task, answer key, position, region key, then ``t``'s
    order; the row of ``t`` each of its rows is; the task of each; the start of each answer's rows)."""
    n = t.num_rows
    pos = _column(t, "position")
    cols = {"t": pa.array(ti), "k": _plain(t.column(key)),
            "p": pos if pos is not None else pa.array(np.zeros(n, np.int32)),
            "r": _plain(t.column("region_key")), "o": pa.array(np.arange(n))}
    order = pc.sort_indices(pa.table(cols), [(c, "ascending") for c in cols]).to_numpy()
    s = t.take(pa.array(order))
    k, ts = _plain(s.column(key)), ti[order]
    first = np.ones(n, dtype=bool)
    if n > 1:
        first[1:] = (ts[1:] != ts[:-1]) | pc.not_equal(k.slice(1), k.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    return s, order, ts, np.flatnonzero(first)


def _answer_fields(f: "pa.Table", annotation: bool, result: "pa.Array") -> list:
    """The fields of each answer, in :func:`~annover.formats.ls_writer.answer_out`'s order,
    from its first row (``f``) and its result list."""
    if annotation:
        names = _plain(f.column("annotator")).dictionary_encode()
        shown = _dumped([annotator_out(x) for x in names.dictionary.to_pylist()]).take(names.indices)
        return [_optional(f, "ls_annotation_id", "id", _number),
                _field("completed_by", pc.fill_null(shown, "null")),
                _field("result", result),
                _field("was_cancelled", pc.fill_null(_number(_plain(f.column("was_cancelled"))), "null")),
                _field("ground_truth", pc.fill_null(_number(_plain(f.column("ground_truth"))), "null")),
                _field("lead_time", _number(_plain(f.column("lead_time")))),
                _optional(f, "ls_parent_prediction_id", "parent_prediction", _number),
                _optional(f, "ls_parent_annotation_id", "parent_annotation", _number)]
    return [_optional(f, "ls_prediction_id", "id", _number),
            _field("model_version", pc.fill_null(_quoted(_plain(f.column("model_version"))), "null")),
            _field("score", _number(_plain(f.column("score")))),
            _field("result", result)]


def _answers(t: "pa.Table", counts: "np.ndarray", annotation: bool) -> "tuple[pa.Array, np.ndarray, tuple]":
    """(``[...]`` of each task's answers, written here?, the rows in that order with their
    answers: :func:`_groups`) for the answer rows ``t`` of a batch's tasks, ``counts`` rows a
    task, the tasks' rows together."""
    n = len(counts)
    ti = np.repeat(np.arange(n), counts)
    groups = s, order, ts, starts = _groups(t, ti, "annotation_key" if annotation else "prediction_key")
    firsts = np.minimum.reduceat(order, starts) if len(order) else starts
    items, ok = _items(s)
    f = t.take(pa.array(firsts))
    extra, extra_ok = _json_texts(f.column("extra"), ANSWER_FIELDS)
    fields = _answer_fields(f, annotation, _lists(items, np.append(starts, s.num_rows)))
    fields += [_optional(f, k, k, _quoted) for k in ("created_at", "updated_at")] + [extra]
    per_task = np.bincount(ti[firsts], minlength=n)
    bad = np.bincount(ti[firsts][~extra_ok], minlength=n) + np.bincount(ts[~ok], minlength=n)
    answers = _lists(_joined(fields, f.num_rows), np.concatenate([[0], np.cumsum(per_task)]))
    return answers, bad == 0, groups


def _loads(text: str | None) -> Any:
    """A provenance text as the general writer reads it (the standard library; {} for none)."""
    return (None if text is None else json.loads(text)) or {}


def _diffs(groups: tuple, key: str, want: "np.ndarray") -> "dict[int, list]":
    """For each task of ``want`` (a mask of the batch's tasks): [answer key, its answer-level
    difference, the row it came from, its result items' differences] of each of its answers,
    in the order the column-wise text has them (:func:`_groups`)."""
    s, order, ts, starts = groups
    rows = np.flatnonzero(want[ts]) if len(ts) else np.zeros(0, np.int64)
    out: dict[int, list] = {}
    if not len(rows):
        return out
    at = pa.array(rows)
    lso = _column(s, "ls_original")
    texts = lso.take(at).to_pylist() if lso is not None else [None] * len(rows)
    cols = [_plain(s.column(n)).take(at).to_pylist() for n in (key, "region_key")]
    gids = (np.searchsorted(starts, rows, side="right") - 1).tolist()
    last, entry = -1, []
    for t, g, row, text, akey, rk in zip(ts[rows].tolist(), gids, order[rows].tolist(), texts, *cols):
        o = _loads(text)
        if g != last:
            last, entry = g, [akey, {}, 2**63, []]
            out.setdefault(t, []).append(entry)
        if "a" in o and row < entry[2]:  # the first row of the answer, in the table's order, that has one
            entry[1], entry[2] = o["a"], row
        if rk != "":
            entry[3].append(o.get("r"))
    return out


def _with_provenance(text: bytes, t_diff: dict, anns: list, preds: list) -> dict:
    """The task of a column-wise ``text`` (written as if it had no provenance) with its
    differences applied as :func:`~annover.formats.ls_writer.to_tasks` applies them."""
    task = orjson.loads(text)
    placed_answers = []
    for kind, entries in (("annotations", anns), ("predictions", preds)):
        built = []
        for obj, (akey, a_diff, _, r_diffs) in zip(task[kind], entries):
            for item, r in zip(obj["result"], r_diffs):
                apply(item, r)
            built.append((akey, obj, a_diff))
        placed_answers.append(placed(built))
    return finish(task, placed_answers[0], placed_answers[1], t_diff)


def _task_fields(t: "pa.Table", anns: "pa.Array", preds: "pa.Array") -> "tuple[list, np.ndarray]":
    """(the fields of each task in :func:`~annover.formats.ls_writer.task_out`'s order, written here?)."""
    data, data_ok = _json_texts(t.column("data"), None)
    extra, extra_ok = _json_texts(t.column("extra"), TASK_FIELDS)
    fields = [_optional(t, "ls_task_id", "id", _number), _field("data", pc.fill_null(data, "null")), extra,
              _field("annotations", anns), _field("predictions", preds),
              _optional(t, "created_at", "created_at", _quoted), _optional(t, "updated_at", "updated_at", _quoted),
              _optional(t, "ls_project_id", "project", _number)]
    return fields, data_ok & extra_ok


def _unique(tasks: "pa.Table") -> "np.ndarray":
    """The tasks whose key no other task of the batch has (to_tasks gives each of two the answers of both)."""
    keys = _plain(tasks.column("task_key")).dictionary_encode().indices.to_numpy(zero_copy_only=False)
    return np.bincount(keys, minlength=1)[keys] == 1


def _plain_tasks(tasks: "pa.Table", *answers: "tuple[pa.Table, np.ndarray]") -> "np.ndarray":
    """The tasks with no provenance difference, on them and on their answer rows (``answers``:
    each table of rows, and how many rows a task)."""
    ok = _no_provenance(tasks, _PLACE_ONLY)
    for t, counts in answers:
        ti = np.repeat(np.arange(len(counts)), counts)
        ok &= np.bincount(ti[~_no_provenance(t)], minlength=len(counts)) == 0
    return ok


def task_texts(tasks: "pa.Table", anns: "pa.Table", ann_counts: "np.ndarray", preds: "pa.Table",
               pred_counts: "np.ndarray", encode: "Callable[[object], bytes]") -> "list[bytes | None]":
    """The JSON text of each of ``tasks`` (a batch, in the order written) as
    :func:`~annover.formats.ls_writer.to_tasks` and orjson write it, or None for a task this
    cannot write exactly. ``anns`` / ``preds``: the tasks' answer rows, each task's together,
    ``ann_counts`` / ``pred_counts`` rows a task. A task with provenance differences is written
    column-wise, read back by orjson, its differences applied and written by ``encode``."""
    unique = _unique(tasks)
    if not unique.any():
        return [None] * tasks.num_rows
    a, a_ok, a_groups = _answers(anns, ann_counts, True)
    p, p_ok, p_groups = _answers(preds, pred_counts, False)
    fields, ok = _task_fields(tasks, a, p)
    ok = unique & ok & a_ok & p_ok
    texts = _joined(fields, tasks.num_rows).cast(pa.binary()).to_pylist()
    odd = ok & ~_plain_tasks(tasks, (anns, ann_counts), (preds, pred_counts))
    if odd.any():
        lso = _column(tasks, "ls_original")
        t_diffs = lso.to_pylist() if lso is not None else [None] * tasks.num_rows
        a_d, p_d = _diffs(a_groups, "annotation_key", odd), _diffs(p_groups, "prediction_key", odd)
        for i in np.flatnonzero(odd).tolist():
            task = _with_provenance(texts[i], _loads(t_diffs[i]), a_d.get(i, []), p_d.get(i, []))
            texts[i] = encode(task)
    return [x if good else None for x, good in zip(texts, ok.tolist())]
