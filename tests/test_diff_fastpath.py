"""The diff's value words worked out a column at a time (annover.diffing.values) say what the
reference path (annover.diffing.words.value_change, one pair at a time in Python) says.

Generated pairs of values (boxes of every kind of number and rotation, label-only values,
spans, polygons, ellipses, odd JSON, and texts that are not canonical) go through both
paths; so do whole rows through describe_pairs, with the fast path swapped for the
reference.
"""

from __future__ import annotations

import copy
import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import pyarrow as pa
import pyarrow.compute as pc

from annover.diffing import answers as A
from annover.diffing import columns as K
from annover.diffing import describe as R
from annover.diffing import values as V
from annover.diffing.values import ValueChanges, value_changes
from annover.diffing.match import MAY_BE_SHAPE
from annover.diffing.words import parse_all, value_change
from annover.model.canonical import canonical_json
from tests.test_describe import (LABEL, LABELS, NUM, ROTATION, SPECS, _edit_value, ann, common_pair, described,
                                 pair, valid_json, value)


def reference(texts_a: list, texts_b: list, regions: list | None = None) -> ValueChanges:
    parsed = parse_all(texts_a + texts_b)
    regions = regions if regions is not None else [None] * len(texts_a)
    return ValueChanges.of([value_change(a, b, parsed, r) for a, b, r in zip(texts_a, texts_b, regions)])


def assert_same(got: ValueChanges, want: ValueChanges, pairs) -> None:
    for i, (a, b) in enumerate(pairs):
        g = (bool(got.changed[i]), got.geometry[i], got.keys[i], bool(got.labels_only[i]))
        w = (bool(want.changed[i]), want.geometry[i], want.keys[i], bool(want.labels_only[i]))
        assert g == w, (a, b, g, w)
        gs, ws = got.score[i], want.score[i]
        assert (math.isnan(gs) and math.isnan(ws)) or gs == ws, (a, b, gs, ws)


def check(pairs: list[tuple[str | None, str | None]]) -> None:
    ta, tb = [p[0] for p in pairs], [p[1] for p in pairs]
    assert_same(value_changes(ta, tb), reference(ta, tb), pairs)


def text(v) -> str | None:
    return None if v is None else canonical_json(v)


# ---------------------------------------------------------------------------
# generated pairs of values

BOX_NUM = st.one_of(NUM, st.integers(-(2**53) - 2, -(2**53) + 2), st.integers(2**53 - 2, 2**53 + 2),
                    st.floats(allow_nan=False, allow_infinity=False, width=32))
LABEL_KEY = st.sampled_from(["rectanglelabels", "labels", "choices", "taxonomy", "rating", "ranker"])


@st.composite
def box(draw) -> dict:
    """A box value with labels (and, now and then, a rotation or a key of another kind)."""
    v = {"x": draw(BOX_NUM), "y": draw(BOX_NUM), "width": draw(BOX_NUM), "height": draw(BOX_NUM)}
    rot = draw(st.one_of(ROTATION, ROTATION, st.just("absent"), BOX_NUM))
    if rot != "absent":
        v["rotation"] = rot
    for _ in range(draw(st.integers(0, 2))):
        v[draw(LABEL_KEY)] = draw(st.one_of(LABELS, st.lists(st.one_of(LABEL, st.integers(0, 2), st.booleans()),
                                                              max_size=2)))
    if not draw(st.integers(0, 9)):
        v[draw(st.sampled_from(["meta", "score", "radiusX", "points"]))] = draw(st.sampled_from([1, True, [1, 2]]))
    return v


@st.composite
def labels_only(draw) -> dict:
    """A value that holds labels only (a ranker's may hold a dict with shape-like keys)."""
    v = {}
    for _ in range(draw(st.integers(0, 2))):
        k = draw(LABEL_KEY)
        v[k] = draw(st.one_of(LABELS, st.lists(st.one_of(LABEL, st.integers(0, 2), st.booleans(), st.just(1.0)),
                                               max_size=2),
                              st.just({"x": [1], "y": 2})))
    return v


def edit(draw, v):
    """B of a pair: A edited as a labeling round would, or with numbers of another type."""
    b = copy.deepcopy(v)
    if not isinstance(b, dict):
        return draw(st.one_of(box(), labels_only(), value(None)))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["edit", "edit", "num", "type", "labels", "rotation", "drop", "other"]))
        if op == "edit":
            _edit_value(draw, b, None)
        elif op == "num" and b:
            k = draw(st.sampled_from(sorted(b)))
            b[k] = draw(BOX_NUM)
        elif op == "type" and b:  # the same number as int, float or bool
            k = draw(st.sampled_from(sorted(b)))
            x = b[k]
            if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and abs(x) < 1e300:
                b[k] = draw(st.sampled_from([float(x), int(x), bool(x)]))
        elif op == "labels":
            b[draw(LABEL_KEY)] = draw(LABELS)
        elif op == "rotation":
            b["rotation"] = draw(ROTATION)
        elif op == "drop" and b:
            b.pop(draw(st.sampled_from(sorted(b))))
        elif op == "other":
            return draw(st.one_of(box(), labels_only(), value(None)))
    return b


@st.composite
def value_pair(draw) -> tuple[str | None, str | None]:
    a = draw(st.one_of(box(), box(), labels_only(), value(None)))
    b = edit(draw, a)
    try:
        return text(a), text(b)
    except ValueError:  # a number out of canonical JSON's range
        return text(a), text(a)


@given(st.lists(value_pair(), min_size=1, max_size=20))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_value_changes_say_what_value_change_says(pairs):
    check(pairs)


@given(st.lists(st.tuples(st.sampled_from(['{"x" : 1, "y": 2, "width": 3, "height": 4}',
                                           '{"height":4,"width":3,"x":1,"y":2}',
                                           '{"height":4,"width":3,"x":1.0,"y":2}',
                                           '{"height":4,"labels":["a"],"width":3,"x":1,"y":2}',
                                           '{"height":4,"labels":["\\u0061"],"width":3,"x":1,"y":2}',
                                           '{"height":4,"labels":[true],"width":3,"x":1,"y":2}',
                                           '{"height":4,"labels":[1],"width":3,"x":1,"y":2}',
                                           '{"height":NaN,"width":3,"x":1,"y":2}',
                                           '{"height":Infinity,"width":3,"x":1,"y":2}',
                                           '{"height":4,"width":3,"x":1e400,"y":2}',
                                           '{"height":4,"width":3,"x":9007199254740993,"y":2}',
                                           '{"height":4,"width":3,"x":9007199254740992.0,"y":2}',
                                           '{"height":4,"rotation":null,"width":3,"x":1,"y":2}',
                                           '{"height":4,"rotation":360,"width":3,"x":1,"y":2}',
                                           '{"height":4,"rotation":"0","width":3,"x":1,"y":2}',
                                           '{"choices":["a"]}', '{"choices":["b"]}', '{"choices":[true]}',
                                           '{"choices":[1]}', '{"choices":[1.0]}', '{}', '[]', '5', 'null',
                                           '{"ranker":{"x":[1],"y":2}}', '{"ranker":{"x":[2],"y":2}}']),
                          st.sampled_from(['{"height":4,"width":3,"x":1,"y":2}', '{"height":4,"width":3,"x":2,"y":2}',
                                           '{"height":4,"labels":["a"],"width":3,"x":2,"y":2}',
                                           '{"height":4,"labels":["b"],"width":3,"x":1,"y":2}',
                                           '{"height":4,"labels":[1.0],"width":3,"x":1,"y":2}',
                                           '{"height":4,"rotation":0,"width":3,"x":1,"y":2}',
                                           '{"height":4,"rotation":-360,"width":5,"x":1,"y":2}',
                                           '{"height":4,"width":3,"x":9007199254740992,"y":2}',
                                           '{"choices":["a"]}', '{"choices":[1]}', '{"labels":["a"]}',
                                           '{"ranker":{"x":[1],"y":2}}', '{"start":1,"end":4}'])),
                min_size=1, max_size=12))
@settings(max_examples=200, deadline=None)
def test_odd_texts_go_the_reference_way(pairs):
    """Texts that are not canonical, numbers a float cannot hold, NaN, bools among numbers."""
    check(pairs)


def test_the_benchmark_s_pairs():
    """A moved box and a relabeled choice, as the diff benchmark makes them."""
    pairs = [(text({"height": 14, "rectanglelabels": ["bird"], "rotation": 0, "width": 16, "x": 44, "y": 59}),
              text({"height": 14, "rectanglelabels": ["bird"], "rotation": 0, "width": 16, "x": 45, "y": 59})),
             (text({"choices": ["negative"]}), text({"choices": ["neutral"]}))]
    got = value_changes([p[0] for p in pairs], [p[1] for p in pairs])
    assert got.geometry == ["bird box moved, IoU 0.88", None] and got.keys == [None, None]
    assert got.changed.tolist() == [True, True] and got.labels_only.tolist() == [False, True]
    assert got.score[0] == 0.882353 and math.isnan(got.score[1])
    check(pairs)


def test_no_pairs():
    got = value_changes([], [])
    assert len(got.changed) == len(got.score) == len(got.labels_only) == 0 and got.geometry == got.keys == []


# ---------------------------------------------------------------------------
# whole rows: describe_pairs with the fast path against describe_pairs with the reference


@pytest.mark.parametrize("table_name", ["annotations", "predictions"])
@given(data=st.data())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_rows_are_worded_as_by_the_reference_path(table_name, data):
    spec = SPECS[table_name]
    pairs = data.draw(st.lists(st.one_of(pair(spec), common_pair(spec)), min_size=1, max_size=12))
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    assume(valid_json(a + b))
    chunks = data.draw(st.integers(1, 3))
    fast = described(spec, a, b, chunks)
    R.value_changes = reference
    try:
        slow = described(spec, a, b, chunks)
    finally:
        R.value_changes = value_changes
    for f, s, x, y in zip(fast, slow, a, b):
        assert f[:2] == s[:2] and (f[2] == s[2] or (f[2] != f[2] and s[2] != s[2])), (x, y, f, s)


def test_the_fast_path_is_taken_for_boxes_and_labels():
    """The property tests exercise the fast path: only the span goes to value_change."""
    calls = []
    V.value_change = lambda *a: calls.append(a[:2]) or value_change(*a)
    try:
        value_changes([text({"x": 1, "y": 2, "width": 3, "height": 4}), text({"choices": ["a"]}),
                       text({"start": 1, "end": 2})],
                      [text({"x": 2, "y": 2, "width": 3, "height": 4}), text({"choices": ["b"]}),
                       text({"start": 1, "end": 3})])
    finally:
        V.value_change = value_change
    assert calls == [(text({"start": 1, "end": 2}), text({"start": 1, "end": 3}))]


# ---------------------------------------------------------------------------
# values that repeat (a relabel of classifications): worked out once per distinct value or pair


@pytest.mark.parametrize("table_name", ["annotations", "predictions"])
@given(data=st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_rows_worded_once_per_distinct_pair_as_one_by_one(table_name, data):
    """Pairs repeated (as a relabel of a classification repeats them) and worded through
    their distinct pairs say what each pair worded on its own says."""
    spec = SPECS[table_name]
    pairs = data.draw(st.lists(st.one_of(pair(spec), common_pair(spec)), min_size=1, max_size=4))
    rows = data.draw(st.permutations(pairs * data.draw(st.integers(4, 6))))
    a, b = [p[0] for p in rows], [p[1] for p in rows]
    assume(valid_json(a + b))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(K, "repeats", lambda x: True)
        once = described(spec, a, b)
        mp.setattr(K, "distinct_pairs", lambda x, y: None)
        each = described(spec, a, b)
    for f, s, x, y in zip(once, each, a, b):
        assert f[:2] == s[:2] and (f[2] == s[2] or (f[2] != f[2] and s[2] != s[2])), (x, y, f, s)


def test_a_relabel_of_many_rows_is_worded_once_per_distinct_pair(monkeypatch):
    """10,000 rows of two relabels and a box moved, then one box resized: the values go
    through their distinct pairs (four), and say what they say one by one."""
    spec = SPECS["annotations"]
    choice = lambda c: ann("r1", {"choices": [c]}, [c], from_name="sentiment", type="choices")  # noqa: E731
    box = lambda x, w: ann("r2", {"x": x, "y": 2, "width": w, "height": 4})  # noqa: E731
    a = [choice("positive"), choice("negative"), box(1, 3)] * 3_333 + [box(1, 3)]
    b = [choice("negative"), choice("neutral"), box(2, 3)] * 3_333 + [box(1, 5)]
    calls = []
    monkeypatch.setattr(R, "value_changes", lambda x, y, *r: calls.append(len(x)) or value_changes(x, y, *r))
    once = described(spec, a, b)
    monkeypatch.setattr(K, "distinct_pairs", lambda x, y: None)
    each = described(spec, a, b)
    assert calls == [4, len(a)] and once == each
    assert len({once[i][1] for i in (0, 1, 2, -1)}) == 4 and once[:3] == once[3:6]


@settings(deadline=None)
@given(data=st.data())
def test_distinct_pairs_give_back_every_pair(data):
    some = data.draw(st.lists(st.tuples(st.sampled_from(["a", "b", "", None]), st.sampled_from(["a", "c", None])),
                              min_size=1, max_size=5))
    pairs = data.draw(st.permutations(some * data.draw(st.integers(1, 6))))
    x, y = pa.array([p[0] for p in pairs], pa.string()), pa.array([p[1] for p in pairs], pa.string())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(K, "repeats", lambda v: True)
        got = K.distinct_pairs(x, y)
    if got is None:  # too few repeats to be worth it
        assert 4 * len(set(pairs)) > len(pairs)
        return
    first, rows = got
    distinct = [pairs[i] for i in first]
    assert len(set(distinct)) == len(distinct) == len(set(pairs))
    assert [distinct[j] for j in rows] == pairs


def test_repeats_looks_at_a_sample():
    many = pa.array(['{"choices": ["a"]}', '{"choices": ["b"]}'] * 10_000)
    assert K.repeats(many) and not K.repeats(many.slice(0, 100))  # short: not worth a dictionary
    assert not K.repeats(pa.array([str(i) for i in range(20_000)]))


@settings(deadline=None)
@given(st.lists(st.sampled_from([None, text({"choices": ["a"]}), text({"x": 1, "y": 2, "width": 3, "height": 4}),
                                 text({"start": 0, "end": 3, "labels": ["P"]}), '{"points": []}', "x"]),
                min_size=1, max_size=30))
def test_may_be_shape_through_a_dictionary_as_value_by_value(values):
    v = pa.array(values, pa.string())
    want = pc.match_substring_regex(v, MAY_BE_SHAPE.pattern).to_pylist()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(K, "repeats", lambda x: True)
        got = A._may_be_shape(v).to_pylist()
    assert got == want == [None if t is None else bool(MAY_BE_SHAPE.search(t)) for t in values]
