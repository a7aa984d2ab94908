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

from typing import TYPE_CHECKING, Callable, NamedTuple, Sequence

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
#: the columns of a task's code, an answer's code and a row's code (see :func:`coded`)
TASK, ANSWER, ROW = "__kt", "__ka", "__kr"
#: the column of a row of A that differs: the row of B of its key (-1 for none; see :func:`touched`)
AT_B = "__pb"


def row_keys(spec: Spec) -> list[str]:
    return ["task_key", spec.answer_key, "region_key"]


def joined_column(tables: Sequence["pa.Table"], name: str) -> "pa.ChunkedArray":
    """Column ``name`` of the tables end to end (of the first table's type; not copied)."""
    typ = tables[0].schema.field(name).type
    return pa.chunked_array([ch if ch.type == typ else ch.cast(typ) for t in tables for ch in t.column(name).chunks],
                            typ)


def encoded(values: "pa.ChunkedArray | pa.Array") -> "tuple[np.ndarray, pa.Array]":
    """(code of each value, the distinct values): one dictionary over the chunks, nulls a value
    of their own; the chunks' codes end to end (a chunk may be left out when empty)."""
    if not isinstance(values, pa.ChunkedArray):
        values = pa.chunked_array([values], values.type)
    enc = pc.dictionary_encode(values, null_encoding="encode")
    if not enc.num_chunks:
        return np.zeros(0, np.int64), pa.array([], values.type)
    idx = np.concatenate([ch.indices.to_numpy(zero_copy_only=False) for ch in enc.chunks]).astype(np.int64)
    return idx, max((ch.dictionary for ch in enc.chunks), key=len)  # the last chunk's holds them all


def _run_starts(chunk: "pa.Array") -> "np.ndarray":
    """Where each run of equal adjacent values of ``chunk`` starts (nulls equal to nulls)."""
    starts = np.ones(len(chunk), bool)
    if len(chunk) > 1:
        starts[1:] = K.distinct(chunk.slice(1), chunk.slice(0, len(chunk) - 1))
    return np.flatnonzero(starts)


def encoded_runs(values: "pa.ChunkedArray | pa.Array") -> "tuple[np.ndarray, pa.Array]":
    """:func:`encoded` of values that come in runs (a table's task keys, its rows grouped by
    task): the first value of each run encoded, its code repeated over the run; the same
    codes and values as :func:`encoded` (the first values occur in the same order)."""
    if not isinstance(values, pa.ChunkedArray):
        values = pa.chunked_array([values], values.type)
    if pa.types.is_dictionary(values.type):
        return encoded(values)
    chunks = [ch for ch in values.chunks if len(ch)]
    starts = [_run_starts(ch) for ch in chunks]
    if sum(len(s) for s in starts) * 2 > len(values):  # runs too short to pay
        return encoded(values)
    heads = pa.chunked_array([ch.take(pa.array(s)) for ch, s in zip(chunks, starts)], values.type)
    code, words = encoded(heads)
    lengths = [np.diff(np.append(s, len(ch))) for ch, s in zip(chunks, starts)]
    return np.repeat(code, np.concatenate(lengths)) if lengths else code, words


def then(code: "np.ndarray", values: "pa.ChunkedArray | pa.Array", runs: bool = False) -> "np.ndarray":
    """Codes of (what ``code`` codes, ``values``): equal for two rows exactly when both are
    (``runs``: the values come in runs, see :func:`encoded_runs`)."""
    idx, words = (encoded_runs if runs else encoded)(values)
    if not len(idx):
        return code
    size = max(len(words), 1)
    if len(code) and int(code.max()) >= _CODE_LIMIT // size:  # re-rank before the product could overflow
        code = np.unique(code, return_inverse=True)[1].astype(np.int64)
    return code * size + idx


def _split(code: "np.ndarray", tables: Sequence["pa.Table"]) -> list["np.ndarray"]:
    return np.split(code, np.cumsum([t.num_rows for t in tables])[:-1])


def coded(spec: Spec, tables: Sequence["pa.Table"]) -> list["pa.Table"]:
    """The tables with the codes of each row's task (:data:`TASK`: from 0, dense), answer
    (:data:`ANSWER`: task and answer key) and row (:data:`ROW`: the region key too),
    comparable across the tables; tables coded together already are returned as they are."""
    if all(ROW in t.column_names for t in tables):
        return list(tables)
    # one chunk a column (DuckDB gives many): every take and comparison after reads them whole
    tables = [t.drop_columns([c for c in (TASK, ANSWER, ROW, AT_B) if c in t.column_names]).combine_chunks()
              for t in tables]
    task = then(np.zeros(sum(t.num_rows for t in tables), np.int64), joined_column(tables, "task_key"), runs=True)
    answer = then(task, joined_column(tables, spec.answer_key))
    row = then(answer, joined_column(tables, "region_key"))
    return [t.append_column(TASK, pa.array(k)).append_column(ANSWER, pa.array(x)).append_column(ROW, pa.array(y))
            for t, k, x, y in zip(tables, _split(task, tables), _split(answer, tables), _split(row, tables))]


def first_rows(code: "np.ndarray") -> "np.ndarray":
    """The row of the first occurrence of each distinct value of ``code`` (small integers
    from 0, as :data:`TASK`), ascending: what ``pc.unique`` keeps, without a hash."""
    if not len(code):
        return np.zeros(0, np.int64)
    first = np.full(int(code.max()) + 1, len(code), np.int64)
    np.minimum.at(first, code, np.arange(len(code)))
    return np.sort(first[first < len(code)])


def distinct_count(code: "np.ndarray") -> int:
    """How many distinct values ``code`` holds (small integers from 0, as :data:`TASK`)."""
    return int(np.count_nonzero(np.bincount(code))) if len(code) else 0


def task_keys(tables: Sequence["pa.Table"]) -> "pa.Array":
    """The distinct task keys of :func:`coded` tables (plain strings), in the order of
    ``pc.unique`` of their keys end to end."""
    rows = first_rows(np.concatenate([stored_codes(t, TASK) for t in tables]))
    return joined_column(tables, "task_key").take(pa.array(rows)).combine_chunks().cast(pa.string())


def stored_codes(t: "pa.Table", name: str) -> "np.ndarray":
    return K.column(t, name).to_numpy(zero_copy_only=False)


def positions(x: "np.ndarray", y: "np.ndarray") -> "np.ndarray":
    """Position in ``y`` of each value of ``x`` (-1 where ``y`` lacks it; ``y``'s values unique):
    ``y`` sorted and searched (a quarter of the CPU of a hash lookup, ``pc.index_in``, at
    250,000 integer codes a side)."""
    if not len(x) or not len(y):
        return np.full(len(x), -1, np.int64)
    order = np.argsort(y, kind="stable")
    at = np.minimum(np.searchsorted(y[order], x), len(y) - 1)
    return np.where(y[order[at]] == x, order[at], -1).astype(np.int64)


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
    ka, kb = stored_codes(a, TASK), stored_codes(b, TASK)
    hit = np.zeros(int(max(ka.max(initial=-1), kb.max(initial=-1))) + 1, bool)  # the tasks touched
    hit[ka[~same]], hit[kb[~b_same]] = True, True
    in_t = hit[kb]
    bt = _rows(b, in_t).append_column("__u", pa.array(~b_same[in_t]))
    # where B's row of the same key is, in ``bt``: a row of A that differs pairs with one of
    # B's that differs too (keys are unique), which :func:`delta` need not look up again
    at = at_b[~same]
    if len(bt):
        at = np.where(at >= 0, (np.cumsum(in_t) - 1)[np.maximum(at, 0)], -1)
    return _rows(a, ~same).append_column(AT_B, pa.array(at, pa.int64())), bt


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
    first = np.full(len(answers), len(code), np.int64)
    np.minimum.at(first, pos[named], named)
    first[first == len(code)] = -1
    return pa.array(on), t.column("who").take(_at(first)), pa.array(skip)


class Presence(NamedTuple):
    """:func:`presence`: a table of the touched answers (sorted by code), and the row of it
    of each of ``ua``'s rows, then of each of ``bt``'s rows that differ (``__u``)."""

    table: "pa.Table"
    answer_of: "np.ndarray"


def presence(spec: Spec, ua: "pa.Table", bt: "pa.Table") -> Presence:
    """Per touched answer: on which sides it is, its annotator (model version) on each and
    whether it is a skip on each, its task's code (:data:`TASK`) and its code
    (:data:`ANSWER`). ``ua``, ``bt``: as :func:`touched` gives them, :func:`coded` together
    (B's rows that do not differ stand for A's identical rows)."""
    u = K.np_bool(bt.column("__u"))
    changed = np.concatenate([stored_codes(ua, ANSWER), stored_codes(bt, ANSWER)[u]])
    answers, first, inverse = np.unique(changed, return_index=True, return_inverse=True)
    in_a, who_a, skip_a = _on_side(answers, [_side(spec, ua), _side(spec, bt, np.flatnonzero(~u))])
    in_b, who_b, skip_b = _on_side(answers, [_side(spec, bt)])
    task = np.concatenate([stored_codes(ua, TASK), stored_codes(bt, TASK)[u]])[first]
    return Presence(pa.table({"in_a": in_a, "in_b": in_b, "who_a": who_a, "who_b": who_b, "skip_a": skip_a,
                              "skip_b": skip_b, TASK: pa.array(task), ANSWER: pa.array(answers)}),
                    inverse.reshape(-1).astype(np.int64))


def _paired(ua: "pa.Table", bt: "pa.Table", cols: Sequence[str]) -> "tuple[np.ndarray, np.ndarray]":
    """(row of ``ua``, row of ``bt``; -1 for none) of the rows that differ, paired by key:
    A's rows that differ, with B's of the same key (where B has one that differs), then
    B's that differ and pair with none. A pair whose ``cols`` are the same is no row."""
    u = K.np_bool(bt.column("__u"))
    u_idx = np.flatnonzero(u)
    if AT_B in ua.column_names:  # found by :func:`touched`: the row of B is one that differs
        at = stored_codes(ua, AT_B)
        at = np.where(at >= 0, (np.cumsum(u) - 1)[np.maximum(at, 0)], -1) if len(u) else at
    else:
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


def _mixed(at: "np.ndarray", alone_a: "np.ndarray", alone_b: "np.ndarray", p: "pa.Table") -> "np.ndarray":
    """Rows on one side only, of an answer on both sides with rows on one side only on each
    side: left to matching by shape (``at``: each row's answer, a row of ``p``)."""
    alone_here_a, alone_here_b = np.zeros(p.num_rows, bool), np.zeros(p.num_rows, bool)
    alone_here_a[at[alone_a]] = True
    alone_here_b[at[alone_b]] = True
    both = K.np_bool(pc.and_(p.column("in_a"), p.column("in_b")))
    return (alone_a | alone_b) & (alone_here_a & alone_here_b & both)[at]


def _answer_rows(ua: "pa.Table", bt: "pa.Table", ia: "np.ndarray", ib: "np.ndarray", pr: Presence) -> "np.ndarray":
    """The answer (a row of ``pr.table``) of each row at ``ia`` / ``ib`` (:func:`_paired`)."""
    on_a = ia >= 0
    rank_u = np.cumsum(K.np_bool(bt.column("__u"))) - 1  # B's rows that differ follow A's in ``answer_of``
    out = np.empty(len(ia), np.int64)
    out[on_a] = pr.answer_of[ia[on_a]]
    out[~on_a] = pr.answer_of[ua.num_rows + rank_u[ib[~on_a]]]
    return out


def _either(ua: "pa.Table", bt: "pa.Table", name: str, ia: "np.ndarray", ib: "np.ndarray") -> "pa.Array":
    """Column ``name`` of each row at ``ia`` / ``ib``: A's where the row is on A, else B's."""
    on_a = ia >= 0
    x, y = K.column(ua, name).take(pa.array(ia[on_a])), K.column(bt, name).take(pa.array(ib[~on_a]))
    both = pa.concat_arrays([x, y if y.type == x.type else y.cast(x.type)])
    if on_a[:len(x)].all():  # A's rows come first (:func:`_paired`)
        return both
    order = np.empty(len(ia), np.int64)
    order[on_a], order[~on_a] = np.arange(len(x)), np.arange(len(x), len(ia))
    return both.take(pa.array(order))


def at_sides(rows: "pa.Table") -> "tuple[np.ndarray, np.ndarray]":
    """(row in ``ua``, row in ``bt``; -1 for none) of rows of :func:`delta`."""
    return tuple(pc.fill_null(rows.column(c), -1).to_numpy(zero_copy_only=False)  # type: ignore[return-value]
                 for c in ("__ia", "__ib"))


def keys_of(spec: Spec, ua: "pa.Table", bt: "pa.Table", rows: "pa.Table") -> "pa.Table":
    """``task_key`` and ``answer_key`` of rows of :func:`delta` (``rows``: some of them, with
    ``__ia`` / ``__ib``), each from the side its row is on: taken when asked for (the row
    table, the answers left to matching by shape), not for every row that differs."""
    ia, ib = at_sides(rows)
    return pa.table({"task_key": _either(ua, bt, "task_key", ia, ib),
                     "answer_key": _either(ua, bt, spec.answer_key, ia, ib)})


def from_sides(ua: "pa.Table", bt: "pa.Table", ia: "np.ndarray", ib: "np.ndarray",
               of: "Callable[[pa.Table, np.ndarray], np.ndarray]") -> "np.ndarray":
    """``of(table, rows)`` of each row at ``ia`` / ``ib`` (:func:`at_sides`), from the side it
    is on (each side's rows taken once)."""
    on_a = ia >= 0
    x, y = of(ua, ia[on_a]), of(bt, ib[~on_a])
    out = np.empty(len(ia), x.dtype)
    out[on_a], out[~on_a] = x, y
    return out


def taken(name: str, then: "Callable[[pa.Array], pa.Array]") -> "Callable[[pa.Table, np.ndarray], np.ndarray]":
    """``then`` of column ``name`` at the rows: worked out on the whole column when the rows
    are most of it (no take of its values), else on the rows taken."""
    def of(t: "pa.Table", rows: "np.ndarray") -> "np.ndarray":
        if 2 * len(rows) >= t.num_rows:
            return K.np_bool(then(K.column(t, name)))[rows]
        return K.np_bool(then(K.column(t, name).take(pa.array(rows, pa.int64()))))
    return of


def delta(spec: Spec, ua: "pa.Table", bt: "pa.Table", pr: Presence) -> "pa.Table":
    """The rows that differ, paired by key: where each is in ``ua`` / ``bt`` (``__ia``,
    ``__ib``); ``__rc`` a pair is a changed region, ``__rl`` a relabeled one (``__fa ->
    __fb``, of control ``from_name_b``; null on other rows); ``__m`` a row left over in an
    answer on both sides that has rows left over on the other side too, to be matched by
    shape; ``__pa`` its answer (a row of ``pr.table``); ``__re`` its region key (on its side)
    is not empty. ``pr``: :func:`presence`. Only the pairs' region columns are read; the
    rows' keys are taken when asked for (:func:`keys_of`)."""
    ia, ib = _paired(ua, bt, spec.cols)
    marks = _regions_changed(spec, ua, bt, ia, ib)
    at = _answer_rows(ua, bt, ia, ib, pr)
    region = from_sides(ua, bt, ia, ib, taken("region_key", lambda v: pc.not_equal(v, "")))
    return pa.table({
        "__ia": _at(ia), "__ib": _at(ib), **marks, "__m": pa.array(_mixed(at, ib < 0, ia < 0, pr.table)),
        "__pa": pa.array(at), "__re": pa.array(region)})


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
