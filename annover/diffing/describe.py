"""The one description path of the row-level diff: kinds, words and shape score of each
changed, added or removed answers row.

The columns a row's words depend on alone (labels, control, target, type, region
attributes, skip, ground truth, annotator, lead time, score, model version, attributes)
are compared and worded a column at a time with Arrow. Values that differ are worded by
:mod:`annover.diffing.values`: label-only values and axis-aligned boxes a column at a time,
any other value in Python (:mod:`annover.diffing.words`, whose geometry is
:mod:`annover.model.geometry`'s), once per distinct pair of value texts.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.diffing import columns as K
from annover.diffing.result import BY_KEY, TABLE_ORDER, row_schema
from annover.diffing.sources import Spec
from annover.diffing.match import MAY_BE_SHAPE
from annover.diffing.values import value_changes
from annover.diffing.words import VALUE_CHANGED, attrs_words, num_s, parse_all, shape_suffix, short

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")


def _values(words: K.Words, cols: tuple[dict, dict], both: "np.ndarray", relabel: "tuple[np.ndarray, np.ndarray]"
            ) -> "tuple[np.ndarray, np.ndarray]":
    """Geometry and value words of the pairs whose value differs; (shape score, has score).
    ``relabel``: rows relabeled, and of these the ones with labels on both sides."""
    n = words.n
    va, vb = cols[0]["value"], cols[1]["value"]
    idx = np.nonzero(both & K.distinct(va, vb))[0]
    score, has_score = np.zeros(n), np.zeros(n, bool)
    if not len(idx):
        return score, has_score
    take = pa.array(idx)
    ta, tb = va.take(take), vb.take(take)
    once = K.distinct_pairs(ta, tb)  # a relabel of classifications: a few distinct pairs
    turned = K.any_turned(ta, tb)  # a turned box is shaped by its image's size too: each row with its own
    if once is None or turned:
        regions = cols[1]["region"].take(take).to_pylist() if turned else None
        found = value_changes(ta.to_pylist(), tb.to_pylist(), regions)
    else:
        first = pa.array(once[0])
        found = value_changes(ta.take(first).to_pylist(), tb.take(first).to_pylist()).expand(once[1])
    # only the labels a value holds differ: the relabel words say it all
    said = ~found.labels_only | ~relabel[1][idx]
    geo = pa.array(found.geometry, pa.string())
    keys = pa.array([k if k else VALUE_CHANGED if c and not g else None
                     for k, c, g in zip(found.keys, found.changed.tolist(), found.geometry)], pa.string())
    s = found.score
    score[idx], has_score[idx] = np.nan_to_num(s), ~np.isnan(s) & said
    words.add("geometry", _at(n, idx, K.np_bool(pc.is_valid(geo))), K.scatter(n, idx, geo))
    plain = pc.equal(keys, VALUE_CHANGED)  # "value changed" only when there is no relabel
    keep = K.np_bool(pc.is_valid(keys)) & ~(K.np_bool(plain) & relabel[0][idx])
    words.add("value", _at(n, idx, keep), K.scatter(n, idx, keys))
    return score, has_score


def _at(n: int, idx: "np.ndarray", mask: "np.ndarray") -> "np.ndarray":
    out = np.zeros(n, bool)
    out[idx[mask]] = True
    return out


def _results(words: K.Words, ca: dict, cb: dict) -> "tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]":
    """Words of the result columns; (both rows are regions, (relabeled, from labels to labels))."""
    la, lb = ca["labels"], cb["labels"]
    len_a, len_b = K.lengths(la), K.lengths(lb)
    both = K.np_bool(pc.not_equal(ca["region_key"], "")) & K.np_bool(pc.not_equal(cb["region_key"], ""))
    if not both.all():  # a result that is not a region (an empty answer): changed or not, as a whole
        differ = K.lists_differ(la, lb, len_a, len_b, empty_is_none=False)
        for col in ("from_name", "to_name", "type", "value", "region"):
            differ |= K.distinct(ca[col], cb[col])
        words.add("value", ~both & differ, "result changed")
    shown = K.concat(K.fmt_labels(la, len_a), " -> ", K.fmt_labels(lb, len_b))
    relabel = both & K.labels_differ(la, lb, len_a, len_b)
    words.add("relabel", relabel, shown)
    reordered = both & ~relabel & K.lists_differ(la, lb, len_a, len_b, empty_is_none=True)
    words.add("value", reordered, K.concat("labels reordered: ", shown))
    return both, (relabel, relabel & (len_a > 0) & (len_b > 0))


def _targets(words: K.Words, ca: dict, cb: dict, both: "np.ndarray") -> None:
    """Words of the control, target, type and region attributes of two regions."""
    for col, kind in (("from_name", "control"), ("to_name", "to_name"), ("type", "type")):
        differ = both & K.distinct(ca[col], cb[col])
        if differ.any():
            words.add(kind, differ, K.concat(f"{kind} ", K.str_or(ca[col], "None"), " -> ", K.str_or(cb[col], "None")))
    _attrs(words, "region", both & K.distinct(ca["region"], cb["region"]), ca["region"], cb["region"], "region")


def _object(text: str | None) -> Any:
    """The JSON object a text of attributes holds; None for none, or for a text that is not one."""
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _attrs(words: K.Words, kind: str, differ: "np.ndarray", xa: "pa.Array", xb: "pa.Array", what: str) -> None:
    """Rows ``differ`` have ``kind``, worded by the attributes (JSON objects ``xa``, ``xb``) that
    differ (:func:`attrs_words`), once per distinct pair of texts."""
    idx = np.nonzero(differ)[0]
    if not len(idx):
        return
    ta, tb = xa.take(pa.array(idx)), xb.take(pa.array(idx))
    once = K.distinct_pairs(ta, tb)
    pick = pa.array(once[0]) if once is not None else None
    la, lb = (t.take(pick).to_pylist() if pick is not None else t.to_pylist() for t in (ta, tb))
    memo: dict[tuple, str] = {}
    said = [memo.get((x, y)) or memo.setdefault((x, y), attrs_words(what, _object(x), _object(y)))
            for x, y in zip(la, lb)]
    text = pa.array(said, pa.string())
    words.add(kind, differ, K.scatter(words.n, idx, text.take(pa.array(once[1])) if once is not None else text))


def _numbers(words: K.Words, ca: dict, cb: dict, col: str, label: str) -> None:
    differ = K.floats_differ(ca[col], cb[col])
    if differ.any():
        i = np.nonzero(differ)[0]
        xa, xb = ca[col].take(pa.array(i)).to_pylist(), cb[col].take(pa.array(i)).to_pylist()
        said = pa.array([f"{label} {num_s(x)} -> {num_s(y)}" for x, y in zip(xa, xb)], pa.string())
        words.add(col, differ, K.scatter(words.n, i, said))


def _answers(words: K.Words, spec: Spec, ca: dict, cb: dict) -> None:
    """Words of the answer (prediction) columns."""
    if spec.is_annotations:
        for col, kind, yes, no in (("was_cancelled", "skip", "skipped", "unskipped"),
                                   ("ground_truth", "ground_truth", "ground truth set", "ground truth unset")):
            differ = K.distinct(ca[col], cb[col])
            if differ.any():
                words.add(kind, differ, pc.if_else(pc.fill_null(cb[col], False), pa.scalar(yes), pa.scalar(no)))
        differ = K.distinct(ca["annotator"], cb["annotator"])
        if differ.any():
            words.add("annotator", differ, K.concat("annotator ", K.str_or(ca["annotator"], "-", "-"), " -> ",
                                                    K.str_or(cb["annotator"], "-", "-")))
        _numbers(words, ca, cb, "lead_time", "lead time")
    else:
        _numbers(words, ca, cb, "score", "score")
        differ = K.distinct(ca["model_version"], cb["model_version"])
        if differ.any():
            words.add("model_version", differ, K.concat("model version ", K.str_or(ca["model_version"], "None"),
                                                        " -> ", K.str_or(cb["model_version"], "None")))
    _attrs(words, "attrs", K.distinct(ca["extra"], cb["extra"]), ca["extra"], cb["extra"],
           "answer" if spec.is_annotations else "prediction")


def describe_pairs(spec: Spec, a: "pa.Table", b: "pa.Table") -> "tuple[pa.Array, pa.Array, pa.Array]":
    """Kinds (list<string>), description (string) and shape score (float64, null for none)
    of each pair of rows ``a[i]``, ``b[i]`` (columns ``region_key`` and ``spec.cols``)."""
    n = a.num_rows
    if n != b.num_rows:
        raise ValueError(f"{n} rows against {b.num_rows}")
    ca = {name: K.column(a, name) for name in ("region_key", *spec.cols)}
    cb = {name: K.column(b, name) for name in ("region_key", *spec.cols)}
    words = K.Words(n)
    both, relabel = _results(words, ca, cb)
    score, has_score = _values(words, (ca, cb), both, relabel)
    _targets(words, ca, cb, both)
    _answers(words, spec, ca, cb)
    kinds, description = words.arrays()
    return kinds, description, pa.array(score, pa.float64(), mask=~has_score)


def describe_one_side(spec: Spec, t: "pa.Table") -> "pa.Array":
    """The description of each row of ``t``, added or removed: its labels (or type) and its
    shape, or without either its value; or a skip."""
    n = t.num_rows
    rk, labels, typ, value = (K.column(t, c) for c in ("region_key", "labels", "type", "value"))
    lengths = K.lengths(labels)
    text = pc.if_else(pa.array(lengths > 0), K.fmt_labels(labels, lengths), K.str_or(typ, "result", "result"))
    region = K.np_bool(pc.not_equal(rk, ""))
    shaped = K.np_bool(pc.match_substring_regex(value, MAY_BE_SHAPE.pattern))
    plain = (lengths <= 0) & ~K.is_null(value)  # no labels: the value is the words
    idx = np.nonzero(region & (shaped | plain))[0]
    texts = value.take(pa.array(idx)).to_pylist()
    parsed = parse_all(texts)
    memo: dict[tuple, str] = {}
    suffixes = []
    for v, no_labels in zip(texts, plain[idx].tolist()):
        hit = memo.get((v, no_labels))
        if hit is None:
            hit = shape_suffix(v, parsed[v])
            memo[v, no_labels] = hit = hit if hit or not no_labels else f" {short(parsed[v])}"
        suffixes.append(hit)
    out = K.concat(text, pc.fill_null(K.scatter(n, idx, pa.array(suffixes, pa.string())), ""))
    skipped = pc.fill_null(K.column(t, "was_cancelled"), False) if spec.is_annotations else \
        pa.array(np.zeros(n, bool))
    return pc.if_else(pa.array(region), out, pc.if_else(skipped, pa.scalar("skipped"), pa.scalar("empty answer")))


def _col_or_null(t: "pa.Table | None", name: str) -> Any:
    return t.column(name) if t is not None and name in t.column_names else None


def segment(spec: Spec, change: str, keys: "pa.Table", a: "pa.Table | None", b: "pa.Table | None",
            match: "pa.Array | None" = None, scores: "pa.Array | None" = None) -> "pa.Table":
    """Rows of the row-level diff from rows of A and/or B aligned with ``keys`` (task and
    answer key), worded here; ``match``/``scores``: how pairs were matched and their
    matching score (by key, with the shape score of their values, when not given)."""
    n = keys.num_rows
    pick = b if b is not None else a
    if a is not None and b is not None:
        kinds, description, shape = describe_pairs(spec, a, b)
        scores = shape if scores is None else pc.coalesce(scores, shape)
        match = pa.repeat(BY_KEY, n) if match is None else match
    else:
        kinds, description = pa.array([[]] * n, pa.list_(pa.string())), describe_one_side(spec, pick)
    cols = {
        "table": pa.repeat(spec.table, n), "change": pa.repeat(change, n),
        "task_key": keys.column("task_key"), "answer_key": keys.column("answer_key"),
        "region_key_a": _col_or_null(a, "region_key"), "region_key_b": _col_or_null(b, "region_key"),
        "annotator": _col_or_null(pick, "annotator"), "model_version": _col_or_null(pick, "model_version"),
        "from_name": _col_or_null(pick, "from_name"), "type": _col_or_null(pick, "type"),
        "match": match, "score": scores, "kinds": kinds,
        "labels_a": _col_or_null(a, "labels"), "labels_b": _col_or_null(b, "labels"),
        "value_a": _col_or_null(a, "value"), "value_b": _col_or_null(b, "value"), "description": description,
    }
    schema = row_schema()
    return pa.table([cols[f.name].cast(f.type) if cols[f.name] is not None else pa.nulls(n, f.type)
                     for f in schema], schema=schema)


def tuples_table(rows: list[tuple]) -> "pa.Table":
    """A table of :func:`row_schema` from rows given as tuples in its order of fields."""
    schema = row_schema()
    if not rows:
        return schema.empty_table()
    return pa.table([pa.array(col, f.type) for f, col in zip(schema, zip(*rows))], schema=schema)


def sorted_rows(parts: list["pa.Table"]) -> "pa.Table":
    """The row-level diff as one table, in order of table, task, answer, region and change."""
    t = pa.concat_tables(parts).combine_chunks()
    if t.num_rows == 0:
        return t
    order = pa.table({
        "t": pc.index_in(t.column("table"), value_set=pa.array(list(TABLE_ORDER))),
        "k": t.column("task_key"), "a": pc.fill_null(t.column("answer_key"), ""),
        "r": pc.fill_null(pc.coalesce(t.column("region_key_a"), t.column("region_key_b")), ""),
        "rb": pc.fill_null(t.column("region_key_b"), ""), "c": t.column("change")})
    return t.take(pc.sort_indices(order, sort_keys=[(c, "ascending") for c in order.column_names]))
