"""The diff's pairing of rows in memory (annover.diffing.pairing) against plain Python:
key codes are exact, positions are a dict lookup, rows differ as their Python values
differ (floats as values), and the touched rows are those a set of row tuples gives."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from annover.diffing import answers
from annover.diffing import pairing as P
from annover.diffing.sources import ANN

TEXT = st.one_of(st.none(), st.sampled_from(["", "a", "b", "ab", "a\x00", "é"]))
FLOAT = st.one_of(st.none(), st.sampled_from([0.0, -0.0, 1.5, float("nan"), float("inf")]))
LABELS = st.one_of(st.none(), st.lists(st.one_of(st.none(), st.sampled_from(["x", "y"])), max_size=2))


@st.composite
def keyed(draw, n_max: int = 6) -> list[tuple]:
    rows = draw(st.lists(st.tuples(st.sampled_from(["t1", "t2", "t3"]), st.sampled_from(["1", "2"]),
                                   st.sampled_from(["", "r1", "r2"])), max_size=n_max, unique=True))
    return rows


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(TEXT, TEXT, st.one_of(st.none(), st.integers(0, 3))), max_size=8), min_size=1,
                max_size=3), st.sampled_from([P._CODE_LIMIT, 8]))
def test_codes_are_equal_exactly_when_the_values_are(tables, limit):
    import unittest.mock as mock

    arrow = [pa.table({"a": pa.array([r[0] for r in t], pa.string()), "b": pa.array([r[1] for r in t], pa.string()),
                       "c": pa.array([r[2] for r in t], pa.int64())}) for t in tables]
    with mock.patch.object(P, "_CODE_LIMIT", limit):  # 8: codes re-ranked before each product
        code = np.zeros(sum(t.num_rows for t in arrow), np.int64)
        for name in ("a", "b", "c"):
            code = P.then(code, pa.chunked_array([c for t in arrow for c in t.column(name).chunks],
                                                 arrow[0].schema.field(name).type))
        got = np.split(code, np.cumsum([t.num_rows for t in arrow])[:-1])
    rows = [r for t in tables for r in t]
    flat = [int(c) for cs in got for c in cs]
    assert [len(c) for c in got] == [len(t) for t in tables]
    for i in range(len(rows)):
        for j in range(len(rows)):
            assert (flat[i] == flat[j]) == (rows[i] == rows[j])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(TEXT, st.integers(1, 4)), max_size=6), min_size=1, max_size=3))
def test_codes_of_values_in_runs_are_those_of_each_value(chunks):
    """encoded_runs (the first value of each run coded, as the task keys of rows grouped by
    task) gives the codes and values encoded gives, nulls a value of their own."""
    values = pa.chunked_array([pa.array([v for v, n in ch for _ in range(n)], pa.string()) for ch in chunks],
                              pa.string())
    want_codes, want_values = P.encoded(values)
    got_codes, got_values = P.encoded_runs(values)
    assert got_codes.tolist() == want_codes.tolist()
    assert got_values.to_pylist() == want_values.to_pylist()


@settings(deadline=None)
@given(st.lists(st.integers(0, 9), max_size=12), st.lists(st.integers(0, 9), max_size=12, unique=True))
def test_positions_are_a_lookup(x, y):
    at = {v: i for i, v in enumerate(y)}
    assert P.positions(np.array(x, np.int64), np.array(y, np.int64)).tolist() == [at.get(v, -1) for v in x]


def _same_float(x, y) -> bool:
    if x is None or y is None:
        return x is None and y is None
    return (math.isnan(x) and math.isnan(y)) or x == y


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT, FLOAT, FLOAT, LABELS, LABELS, st.booleans(), st.booleans()), max_size=10))
def test_rows_differ_as_their_python_values(pairs):
    ta = pa.table({"s": pa.array([p[0] for p in pairs], pa.string()), "f": pa.array([p[2] for p in pairs], pa.float64()),
                   "l": pa.array([p[4] for p in pairs], pa.list_(pa.string())), "b": pa.array([p[6] for p in pairs], pa.bool_())})
    tb = pa.table({"s": pa.array([p[1] for p in pairs], pa.string()), "f": pa.array([p[3] for p in pairs], pa.float64()),
                   "l": pa.array([p[5] for p in pairs], pa.list_(pa.string())), "b": pa.array([p[7] for p in pairs], pa.bool_())})
    want = [p[0] != p[1] or not _same_float(p[2], p[3]) or p[4] != p[5] or p[6] != p[7] for p in pairs]
    assert P.rows_differ(ta, tb, ["s", "f", "l", "b"]).tolist() == want


def _answers(keys: list[tuple], values: list) -> pa.Table:
    n = len(keys)
    text = lambda xs: pa.array(xs, pa.string())  # noqa: E731
    cols = {"task_key": text([k[0] for k in keys]), "annotation_key": text([k[1] for k in keys]),
            "region_key": text([k[2] for k in keys]), "annotator": text(["a@x"] * n),
            "was_cancelled": pa.array([False] * n), "ground_truth": pa.array([False] * n),
            "lead_time": pa.array([None] * n, pa.float64()), "extra": text([None] * n),
            "from_name": text(["c"] * n), "to_name": text(["t"] * n), "type": text(["choices"] * n),
            "labels": pa.array([[v] for v in values], pa.list_(pa.string())),
            "value": text([f'{{"choices":["{v}"]}}' for v in values]), "region": text([None] * n)}
    return pa.table(cols)


@settings(max_examples=150, deadline=None)
@given(keyed(), keyed(), st.lists(st.sampled_from(["x", "y"]), min_size=6, max_size=6),
       st.lists(st.sampled_from(["x", "y"]), min_size=6, max_size=6))
def test_touched_rows_are_those_a_set_of_rows_gives(ka, kb, va, vb):
    a, b = _answers(ka, va[:len(ka)]), _answers(kb, vb[:len(kb)])
    row = lambda r: (r["task_key"], r["annotation_key"], r["region_key"], r["labels"][0])  # noqa: E731
    ra, rb = [row(r) for r in a.to_pylist()], [row(r) for r in b.to_pylist()]
    only_a, only_b = [r for r in ra if r not in rb], [r for r in rb if r not in ra]
    got = P.touched(ANN, a, b)
    if not only_a and not only_b:
        assert got is None
        return
    ua, bt = got
    assert sorted(row(r) for r in ua.to_pylist()) == sorted(only_a)
    tasks = {r[0] for r in only_a + only_b}
    assert sorted((row(r), r["__u"]) for r in bt.to_pylist()) == sorted((r, r in only_b) for r in rb if r[0] in tasks)


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans(), st.booleans()), max_size=40),
       st.sampled_from([1, 1 << 40]))
def test_one_each_pairs_the_groups_of_one_row_a_side_and_no_shape(rows, scale):
    """Pairing by control: a group (an answer's control) of exactly two rows, one on each
    side, neither a possible shape, gives its (first, last) rows by ascending group; as a
    dict of lists finds them (small codes are counted in an array, large ones sorted)."""
    g = np.array([r[0] * scale for r in rows], np.int64)
    on_a, shape = np.array([r[1] for r in rows], bool), np.array([r[2] for r in rows], bool)
    groups: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(r[0], []).append(i)
    want = [(m[0], m[1]) for _, m in sorted(groups.items())
            if len(m) == 2 and on_a[m[0]] != on_a[m[1]] and not shape[m].any()]
    first, last = answers._one_each(g, on_a, shape)
    assert list(zip(first.tolist(), last.tolist())) == want


SINGLE = st.one_of(st.none(), st.lists(st.sampled_from(["x", "y", "(none)", ""]), max_size=1))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(SINGLE, st.one_of(st.none(), st.sampled_from(["c1", "c2"]))), min_size=1, max_size=8),
       st.lists(st.tuples(SINGLE, st.one_of(st.none(), st.sampled_from(["c1", "c3"]))), min_size=1, max_size=8),
       st.data())
def test_relabels_of_single_labels_count_as_the_lists_formatted(a, b, data):
    """Pairs of rows holding one label at most are counted as integers; the relabels are
    those the lists formatted and grouped give (empty and no labels alike, a label "(none)"
    written as no label is)."""
    ua = pa.table({"labels": pa.array([r[0] for r in a], pa.list_(pa.string())),
                   "from_name": pa.array([r[1] for r in a], pa.string())})
    bt = pa.table({"labels": pa.array([r[0] for r in b], pa.list_(pa.string())),
                   "from_name": pa.array([r[1] for r in b], pa.string())})
    n = data.draw(st.integers(0, 10))
    ia = np.array(data.draw(st.lists(st.integers(0, len(a) - 1), min_size=n, max_size=n)), np.int64)
    ib = np.array(data.draw(st.lists(st.integers(0, len(b) - 1), min_size=n, max_size=n)), np.int64)
    fast, slow = answers.TableDiff(), answers.TableDiff()
    assert answers._count_single_relabels(ua, bt, ia, ib, answers._coded_both(ua, bt, "from_name"), fast)
    answers._count_relabels(ua.column("labels").take(pa.array(ia, pa.int64())),
                            bt.column("labels").take(pa.array(ib, pa.int64())),
                            bt.column("from_name").take(pa.array(ib, pa.int64())), slow)
    assert fast.relabels == slow.relabels
    # rows of several labels are left to the lists' own count
    several = ua.set_column(0, "labels", pa.array([["x", "y"]] * len(a), pa.list_(pa.string())))
    assert not answers._count_single_relabels(several, bt, ia, ib, answers._coded_both(several, bt, "from_name"),
                                              answers.TableDiff())
