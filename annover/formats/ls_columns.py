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

from typing import TYPE_CHECKING, Callable

from annover._lazy import lazy
from annover.formats import json_columns as J
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


def _joined(parts: list, n: int) -> "pa.Array":
    """``{`` + the parts present (not None, not null) joined by ``,`` + ``}``, for n rows. (Each
    part carries its comma: ``binary_join_element_wise`` skipping nulls drops a row of nulls.)"""
    parts = [pc.binary_join_element_wise(",", p, "") for p in parts if p is not None]
    if not parts:
        return pa.array(["{}"] * n, pa.string())
    inner = pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="")
    return pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(inner, 1), "}", "")


def _item_ids(t: "pa.Table") -> "pa.Array":
    """``"id":...`` of each result item (null where the region key is a content hash, or '')."""
    rk, fn = J.plain(t.column("region_key")), J.plain(t.column("from_name"))
    has = pc.and_(pc.invert(pc.starts_with(rk, "~")), pc.not_equal(rk, "")).to_numpy(zero_copy_only=False)
    at = np.flatnonzero(has)
    ids: list = [None] * t.num_rows
    for i, key, name in zip(at.tolist(), rk.take(pa.array(at)).to_pylist(), fn.take(pa.array(at)).to_pylist()):
        ids[i] = item_id(key, name)
    return J.field("id", J.dumped(ids) if len(at) else pa.nulls(t.num_rows, pa.string()))


def _items(t: "pa.Table") -> "tuple[pa.Array, np.ndarray]":
    """(text, written here?) of each row's result item (null for an answer's empty row)."""
    region, region_ok = J.json_texts(t.column("region"), ITEM_FIELDS)
    value, value_ok = J.json_texts(t.column("value"), None)
    parts = [_item_ids(t), region] + [J.field(k, J.quoted(J.plain(t.column(k)))) for k in ("from_name", "to_name", "type")]
    text = _joined(parts + [J.field("value", value)], t.num_rows)
    empty = pc.equal(J.plain(t.column("region_key")), "")
    return pc.if_else(empty, pa.scalar(None, pa.string()), text), region_ok & value_ok & J.keyed(t)


def _lists(texts: "pa.Array", offsets: "np.ndarray") -> "pa.Array":
    """``[`` + the texts of each run (``offsets``, nulls left out) joined by ``,`` + ``]``."""
    keep = pc.is_valid(texts).to_numpy(zero_copy_only=False)
    kept = np.concatenate([[0], np.cumsum(keep)])[offsets]
    lists = pa.ListArray.from_arrays(pa.array(kept, pa.int32()), texts.filter(pa.array(keep)))
    return pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")


def _answer_fields(f: "pa.Table", annotation: bool, result: "pa.Array") -> list:
    """The fields of each answer, in :func:`~annover.formats.ls_writer.answer_out`'s order,
    from its first row (``f``) and its result list."""
    if annotation:
        names = J.plain(f.column("annotator")).dictionary_encode()
        shown = J.dumped([annotator_out(x) for x in names.dictionary.to_pylist()]).take(names.indices)
        return [J.optional(f, "ls_annotation_id", "id", J.number),
                J.field("completed_by", pc.fill_null(shown, "null")),
                J.field("result", result),
                J.field("was_cancelled", pc.fill_null(J.number(J.plain(f.column("was_cancelled"))), "null")),
                J.field("ground_truth", pc.fill_null(J.number(J.plain(f.column("ground_truth"))), "null")),
                J.field("lead_time", J.number(J.plain(f.column("lead_time")))),
                J.optional(f, "ls_parent_prediction_id", "parent_prediction", J.number),
                J.optional(f, "ls_parent_annotation_id", "parent_annotation", J.number)]
    return [J.optional(f, "ls_prediction_id", "id", J.number),
            J.field("model_version", pc.fill_null(J.quoted(J.plain(f.column("model_version"))), "null")),
            J.field("score", J.number(J.plain(f.column("score")))),
            J.field("result", result)]


def _answers(t: "pa.Table", counts: "np.ndarray", annotation: bool) -> "tuple[pa.Array, np.ndarray, tuple]":
    """(``[...]`` of each task's answers, written here?, the rows in that order with their
    answers: :func:`J.groups`) for the answer rows ``t`` of a batch's tasks, ``counts`` rows a
    task, the tasks' rows together."""
    n = len(counts)
    ti = np.repeat(np.arange(n), counts)
    groups = s, order, ts, starts = J.groups(t, ti, "annotation_key" if annotation else "prediction_key")
    firsts = np.minimum.reduceat(order, starts) if len(order) else starts
    items, ok = _items(s)
    f = t.take(pa.array(firsts))
    extra, extra_ok = J.json_texts(f.column("extra"), ANSWER_FIELDS)
    fields = _answer_fields(f, annotation, _lists(items, np.append(starts, s.num_rows)))
    fields += [J.optional(f, k, k, J.quoted) for k in ("created_at", "updated_at")] + [extra]
    per_task = np.bincount(ti[firsts], minlength=n)
    bad = np.bincount(ti[firsts][~extra_ok], minlength=n) + np.bincount(ts[~ok], minlength=n)
    answers = _lists(_joined(fields, f.num_rows), np.concatenate([[0], np.cumsum(per_task)]))
    return answers, bad == 0, groups


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
    data, data_ok = J.json_texts(t.column("data"), None)
    extra, extra_ok = J.json_texts(t.column("extra"), TASK_FIELDS)
    fields = [J.optional(t, "ls_task_id", "id", J.number), J.field("data", pc.fill_null(data, "null")), extra,
              J.field("annotations", anns), J.field("predictions", preds),
              J.optional(t, "created_at", "created_at", J.quoted), J.optional(t, "updated_at", "updated_at", J.quoted),
              J.optional(t, "ls_project_id", "project", J.number)]
    return fields, data_ok & extra_ok


def _plain_tasks(tasks: "pa.Table", *answers: "tuple[pa.Table, np.ndarray]") -> "np.ndarray":
    """The tasks with no provenance difference, on them and on their answer rows (``answers``:
    each table of rows, and how many rows a task)."""
    ok = J.no_provenance(tasks, J.PLACE_ONLY)
    for t, counts in answers:
        ti = np.repeat(np.arange(len(counts)), counts)
        ok &= np.bincount(ti[~J.no_provenance(t)], minlength=len(counts)) == 0
    return ok


def task_texts(tasks: "pa.Table", anns: "pa.Table", ann_counts: "np.ndarray", preds: "pa.Table",
               pred_counts: "np.ndarray", encode: "Callable[[object], bytes]") -> "list[bytes | None]":
    """The JSON text of each of ``tasks`` (a batch, in the order written) as
    :func:`~annover.formats.ls_writer.to_tasks` and orjson write it, or None for a task this
    cannot write exactly. ``anns`` / ``preds``: the tasks' answer rows, each task's together,
    ``ann_counts`` / ``pred_counts`` rows a task. A task with provenance differences is written
    column-wise, read back by orjson, its differences applied and written by ``encode``."""
    unique = J.unique(tasks)
    if not unique.any():
        return [None] * tasks.num_rows
    a, a_ok, a_groups = _answers(anns, ann_counts, True)
    p, p_ok, p_groups = _answers(preds, pred_counts, False)
    fields, ok = _task_fields(tasks, a, p)
    ok = unique & ok & a_ok & p_ok
    texts = _joined(fields, tasks.num_rows).cast(pa.binary()).to_pylist()
    odd = ok & ~_plain_tasks(tasks, (anns, ann_counts), (preds, pred_counts))
    if odd.any():
        lso = J.column_or_none(tasks, "ls_original")
        t_diffs = lso.to_pylist() if lso is not None else [None] * tasks.num_rows
        a_d, p_d = J.diffs(a_groups, "annotation_key", odd), J.diffs(p_groups, "prediction_key", odd)
        for i in np.flatnonzero(odd).tolist():
            task = _with_provenance(texts[i], J.provenance_of(t_diffs[i]), a_d.get(i, []), p_d.get(i, []))
            texts[i] = encode(task)
    return [x if good else None for x, good in zip(texts, ok.tolist())]
