"""Rows of two answers tables paired by key, in Arrow and numpy: which rows differ, on
which sides each touched answer is, and the pairs the diff counts and words.

A row is keyed by (task, answer, region) and the keys are unique within a table, so two
rows are the same row on both sides when their keys are equal, and identical when their
content is equal too (floats as values: nulls equal, NaNs equal, -0.0 equal to 0.0).
Keys are compared as integer codes from one dictionary per key column over both sides,
which is exact (no hash) and quicker than a join of strings.

The diff of tables held in memory (a version's deltas against its parent's, the rows of
the tasks whose stored hashes differ) is worked out here whole; tables read from files
are narrowed first by one streaming join in DuckDB (:func:`annover.diffing.sql.differing`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from annover._lazy import lazy
from annover.diffing import columns as K
from annover.diffing.sources import Spec

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

#: codes combine while the product of dictionary sizes stays below this (int64, with room)
_CODE_LIMIT = 1 << 62
#: the columns of an answer's code and a row's code (see :func:`coded`)
ANSWER, ROW = "__ka", "__kr"


def row_keys(spec: Spec) -> list[str]:
    return ["task_key", spec.answer_key, "region_key"]


def _column(tables: Sequence["pa.Table"], name: str) -> "pa.ChunkedArray":
    """Column ``name`` of the tables end to end (of the first table's type; not copied)."""
    typ = tables[0].schema.field(name).type
    return pa.chunked_array([ch if ch.type == typ else ch.cast(typ) for t in tables for ch in t.column(name).chunks],
                            typ)


def then(code: "np.ndarray", values: "pa.ChunkedArray | pa.Array") -> "np.ndarray":
    """Codes of (what ``code`` codes, ``values``): equal for two rows exactly when both are."""
    if not isinstance(values, pa.ChunkedArray):
        values = pa.chunked_array([values], values.type)
    enc = pc.dictionary_encode(values, null_encoding="encode")  # one dictionary over the chunks
    if not enc.num_chunks:
        return code
    idx = np.concatenate([ch.indices.to_numpy(zero_copy_only=False) for ch in enc.chunks]).astype(np.int64)
    size = max(max(len(ch.dictionary) for ch in enc.chunks), 1)
    if len(code) and int(code.max()) >= _CODE_LIMIT // size:  # re-rank before the product could overflow
        code = np.unique(code, return_inverse=True)[1].astype(np.int64)
    return code * size + idx


def _split(code: "np.ndarray", tables: Sequence["pa.Table"]) -> list["np.ndarray"]:
    return np.split(code, np.cumsum([t.num_rows for t in tables])[:-1])


def coded(spec: Spec, tables: Sequence["pa.Table"]) -> list["pa.Table"]:
    """The tables with the codes of each row's answer (:data:`ANSWER`: task and answer key)
    and of the row (:data:`ROW`: the region key too), comparable across the tables; tables
    coded together already are returned as they are."""
    if all(ROW in t.column_names for t in tables):
        return list(tables)
    # one chunk a column (DuckDB gives many): every take and comparison after reads them whole
    tables = [t.drop_columns([c for c in (ANSWER, ROW) if c in t.column_names]).combine_chunks() for t in tables]
    answer = then(then(np.zeros(sum(t.num_rows for t in tables), np.int64), _column(tables, "task_key")),
                   _column(tables, spec.answer_key))
    row = then(answer, _column(tables, "region_key"))
    return [t.append_column(ANSWER, pa.array(x)).append_column(ROW, pa.array(y))
            for t, x, y in zip(tables, _split(answer, tables), _split(row, tables))]


def stored_codes(t: "pa.Table", name: str) -> "np.ndarray":
    return K.column(t, name).to_numpy(zero_copy_only=False)


def positions(x: "np.ndarray", y: "np.ndarray") -> "np.ndarray":
    """Position in ``y`` of each value of ``x`` (-1 where ``y`` lacks it; ``y``'s values unique)."""
    if not len(x) or not len(y):
        return np.full(len(x), -1, np.int64)
    found = pc.index_in(pa.array(x), value_set=pa.array(y))
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def rows_differ(ta: "pa.Table", tb: "pa.Table", cols: Sequence[str]) -> "np.ndarray":
    """Row by row, whether two aligned tables differ in any of ``cols`` (as the Python values)."""
    out = np.zeros(ta.num_rows, bool)
    for name in cols:
        x, y = K.column(ta, name), K.column(tb, name)
        if x.type != y.type:
            y = y.cast(x.type)
        if pa.types.is_list(x.type) or pa.types.is_large_list(x.type):
            out |= K.lists_differ(x, y, K.lengths(x), K.lengths(y), empty_is_none=False)
        elif pa.types.is_floating(x.type):
            out |= K.floats_differ(x, y)
        else:
            out |= K.distinct(x, y)
    return out


def _at(values: "np.ndarray") -> "pa.Array":
    """Indices for ``take``, null where negative."""
    return pa.array(values, pa.int64(), mask=values < 0)


def touched(spec: Spec, a: "pa.Table", b: "pa.Table") -> "tuple[pa.Table, pa.Table] | None":
    """A's rows with no identical row in B, and B's rows of the tasks touched, ``__u``
    marking those with no identical row in A (None when nothing differs): what
    :func:`annover.diffing.answers.touched` gives of tables held in memory (:func:`coded`)."""
    cols = row_keys(spec) + list(spec.cols)
    a, b = coded(spec, [a.select(cols), b.select(cols)])
    at_b = positions(stored_codes(a, ROW), stored_codes(b, ROW))
    paired = np.flatnonzero(at_b >= 0)
    same = np.zeros(a.num_rows, bool)
    if len(paired):
        content = list(spec.cols)
        same[paired] = ~rows_differ(a.select(content).take(pa.array(paired)),
                                    b.select(content).take(pa.array(at_b[paired])), content)
    b_same = np.zeros(b.num_rows, bool)
    b_same[at_b[same]] = True
    if same.all() and b_same.all():
        return None
    keys = [t.select(["task_key"]).filter(pa.array(~m)) for t, m in ((a, same), (b, b_same))]
    tasks = pc.unique(_column(keys, "task_key"))
    in_t = K.np_bool(pc.is_in(b.column("task_key"), value_set=tasks))
    bt = _rows(b, in_t).append_column("__u", pa.array(~b_same[in_t]))
    return _rows(a, ~same), bt


def _rows(t: "pa.Table", mask: "np.ndarray") -> "pa.Table":
    """``t``'s rows where ``mask`` (``t`` itself, not a copy, when that is every row)."""
    return t if mask.all() else t.filter(pa.array(mask))


def _side(spec: Spec, t: "pa.Table", rows: "np.ndarray | None" = None) -> "tuple[np.ndarray, pa.Table]":
    """(answer codes, who and skip) of the rows of ``t`` (at ``rows``; skip false where the
    table has none: predictions)."""
    skip = t.column(spec.skip) if spec.skip in t.column_names else pa.array(np.zeros(t.num_rows, bool))
    side = pa.table({"who": t.column(spec.who), "skip": skip})
    code = stored_codes(t, ANSWER)
    return (code, side) if rows is None else (code[rows], side.take(pa.array(rows)))


def _on_side(answers: "np.ndarray", sides: list[tuple["np.ndarray", "pa.Table"]]
             ) -> "tuple[pa.Array, pa.Array, pa.Array]":
    """(on the side, its who: the first non-null, any skip) of each answer (codes, sorted),
    from the rows of one side (:func:`_side` of each of its tables)."""
    code = np.concatenate([c for c, _ in sides])
    t = pa.concat_tables([s for _, s in sides], promote_options="permissive")
    pos = np.clip(np.searchsorted(answers, code), 0, max(len(answers) - 1, 0))
    hit = (answers[pos] == code) if len(answers) else np.zeros(len(code), bool)
    on, skip = np.zeros(len(answers), bool), np.zeros(len(answers), bool)
    on[pos[hit]] = True
    skip[pos[hit & K.np_bool(t.column("skip"))]] = True
    named = np.flatnonzero(hit & ~K.is_null(K.column(t, "who")))
    first = np.full(len(answers), -1, np.int64)
    first[pos[named[::-1]]] = named[::-1]  # the last write is the first row
    return pa.array(on), t.column("who").take(_at(first)), pa.array(skip)


def presence(spec: Spec, ua: "pa.Table", bt: "pa.Table") -> "pa.Table":
    """Per touched answer: on which sides it is, its annotator (model version) on each and
    whether it is a skip on each, and its code (:data:`ANSWER`). ``ua``, ``bt``: as
    :func:`touched` gives them, :func:`coded` together (B's rows that do not differ stand
    for A's identical rows)."""
    u = K.np_bool(bt.column("__u"))
    changed = np.concatenate([stored_codes(ua, ANSWER), stored_codes(bt, ANSWER)[u]])
    answers, first = np.unique(changed, return_index=True)
    in_a, who_a, skip_a = _on_side(answers, [_side(spec, ua), _side(spec, bt, np.flatnonzero(~u))])
    in_b, who_b, skip_b = _on_side(answers, [_side(spec, bt)])
    names = ["task_key", spec.answer_key]
    keys = pa.concat_tables([ua.select(names), bt.filter(pa.array(u)).select(names)],
                            promote_options="permissive").take(pa.array(first))
    return pa.table({"task_key": keys.column(0), "answer_key": keys.column(1), "in_a": in_a, "in_b": in_b,
                     "who_a": who_a, "who_b": who_b, "skip_a": skip_a, "skip_b": skip_b, ANSWER: pa.array(answers)})


def _paired(ua: "pa.Table", bt: "pa.Table", cols: Sequence[str]) -> "tuple[np.ndarray, np.ndarray]":
    """(row of ``ua``, row of ``bt``; -1 for none) of the rows that differ, paired by key:
    A's rows that differ, with B's of the same key (where B has one that differs), then
    B's that differ and pair with none. A pair whose ``cols`` are the same is no row."""
    u_idx = np.flatnonzero(K.np_bool(bt.column("__u")))
    at = positions(stored_codes(ua, ROW), stored_codes(bt, ROW)[u_idx])
    pairs = np.flatnonzero(at >= 0)
    keep = at < 0
    if len(pairs):
        keep[pairs] = rows_differ(ua.select(cols).take(pa.array(pairs)),
                                  bt.select(cols).take(pa.array(u_idx[at[pairs]])), cols)
    alone_b = np.ones(len(u_idx), bool)
    alone_b[at[pairs]] = False
    ia = np.flatnonzero(keep)
    ib = np.where(at[ia] >= 0, u_idx[np.maximum(at[ia], 0)] if len(u_idx) else -1, -1)
    return (np.concatenate([ia, np.full(int(alone_b.sum()), -1, np.int64)]),
            np.concatenate([ib, u_idx[alone_b]]).astype(np.int64))


def _mixed(answer: "np.ndarray", alone_a: "np.ndarray", alone_b: "np.ndarray", p: "pa.Table") -> "np.ndarray":
    """Rows on one side only, of an answer on both sides with rows on one side only on each
    side: left to matching by shape (``answer``: the rows' answer codes, each one of ``p``'s)."""
    at = positions(answer, stored_codes(p, ANSWER))
    found = at >= 0
    at = np.maximum(at, 0)
    alone_here_a, alone_here_b = np.zeros(p.num_rows, bool), np.zeros(p.num_rows, bool)
    alone_here_a[at[alone_a & found]] = True
    alone_here_b[at[alone_b & found]] = True
    both = K.np_bool(pc.and_(p.column("in_a"), p.column("in_b")))
    return (alone_a | alone_b) & found & (alone_here_a & alone_here_b & both)[at]


def delta(spec: Spec, ua: "pa.Table", bt: "pa.Table", p: "pa.Table") -> "pa.Table":
    """The rows that differ, paired by key: where each is in ``ua`` / ``bt`` (``__ia``,
    ``__ib``); ``__rc`` a pair is a changed region, ``__rl`` a relabeled one (``__fa ->
    __fb``, of control ``from_name_b``; null on other rows); ``__m`` a row left over in an
    answer on both sides that has rows left over on the other side too, to be matched by
    shape. ``p``: :func:`presence`. Only the pairs' region columns are read."""
    ia, ib = _paired(ua, bt, spec.cols)
    keys = ["task_key", spec.answer_key, "region_key"]
    ta, tb = ua.select(keys).take(_at(ia)), bt.select(keys).take(_at(ib))
    marks = _regions_changed(spec, ua, bt, ia, ib)
    answer = np.where(ia >= 0, stored_codes(ua, ANSWER)[np.maximum(ia, 0)] if ua.num_rows else 0,
                      stored_codes(bt, ANSWER)[np.maximum(ib, 0)] if bt.num_rows else 0)
    return pa.table({
        "task_key": pc.coalesce(K.column(ta, "task_key"), K.column(tb, "task_key")),
        "answer_key": pc.coalesce(K.column(ta, spec.answer_key), K.column(tb, spec.answer_key)),
        "region_key_a": K.column(ta, "region_key"), "region_key_b": K.column(tb, "region_key"),
        "__ia": _at(ia), "__ib": _at(ib), **marks, "__m": pa.array(_mixed(answer, ib < 0, ia < 0, p))})


def _regions_changed(spec: Spec, ua: "pa.Table", bt: "pa.Table", ia: "np.ndarray", ib: "np.ndarray"
                     ) -> dict[str, "pa.Array"]:
    """:func:`delta`'s ``__rc``, ``__rl``, ``__fa``, ``__fb`` and ``from_name_b`` of the rows
    at ``ia`` / ``ib``, worked out on the pairs alone (rows on one side are neither)."""
    n, pair = len(ia), np.flatnonzero((ia >= 0) & (ib >= 0))
    rc, rl = np.zeros(n, bool), np.zeros(n, bool)
    none = pa.nulls(n, pa.string())
    out = {"from_name_b": none, "__rc": rc, "__rl": rl, "__fa": none, "__fb": none}
    if len(pair):
        cols = ["region_key", *spec.region_cols]
        ra, rb = ua.select(cols).take(pa.array(ia[pair])), bt.select(cols).take(pa.array(ib[pair]))
        rc_p = (K.np_bool(pc.not_equal(K.column(ra, "region_key"), ""))
                & K.np_bool(pc.not_equal(K.column(rb, "region_key"), "")))
        rc_p &= rows_differ(ra, rb, spec.region_cols)
        la, lb = K.column(ra, "labels"), K.column(rb, "labels")
        na, nb = K.lengths(la), K.lengths(lb)
        rc[pair], rl[pair] = rc_p, rc_p & K.labels_differ(la, lb, na, nb)
        at = np.flatnonzero(rc_p)
        shown = lambda x, m: K.scatter(n, pair[at], K.fmt_labels(x.take(pa.array(at)), m[at]))  # noqa: E731
        out.update(__fa=shown(la, na), __fb=shown(lb, nb), from_name_b=K.scatter(
            n, pair[at], K.column(rb, "from_name").take(pa.array(at))))
    return {k: pa.array(v) if isinstance(v, np.ndarray) else v for k, v in out.items()}
