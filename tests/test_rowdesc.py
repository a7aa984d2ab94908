"""The column-at-a-time row descriptions (annover.diffing.rowdesc) against the Python path.

The property tests generate pairs of rows (boxes of every kind of number and rotation,
spans, polygons, ellipses, choices, text areas, odd and null values, labels with quotes
and commas, empty answers, skips, lead times with NaN and -0.0...) and check that
``describe_pairs`` and ``describe_one_side`` say, row for row, what
``diffs._describe_pair`` and ``diffs._one_side_description`` say. Other tests check that
the common cases really take the fast path, and that the whole row table of a diff (worded
by the fast path) is the one the Python path words.
"""

from __future__ import annotations

import copy
import json
import math

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from annover.diffing import core as D
from annover.diffing import rowdesc as R
from annover.model.canonical import canonical_json

SPECS = {"annotations": D._ANN, "predictions": D._PRED}
TYPES = {"region_key": pa.string(), "annotator": pa.string(), "was_cancelled": pa.bool_(),
         "ground_truth": pa.bool_(), "lead_time": pa.float64(), "extra": pa.string(), "model_version": pa.string(),
         "score": pa.float64(), "from_name": pa.string(), "to_name": pa.string(), "type": pa.string(),
         "labels": pa.list_(pa.string()), "value": pa.string(), "region": pa.string()}

# ---------------------------------------------------------------------------
# generating rows

PLAIN_LABEL = st.sampled_from(["cat", "dog", "bird", "positive", "negative", "", "a, b", "é", "]"])
LABEL = st.one_of(PLAIN_LABEL, PLAIN_LABEL, PLAIN_LABEL,
                  st.sampled_from(['say "hi"', "back\\slash", "new\nline", '","', '["x"]']))
LABELS = st.one_of(st.none(), st.just([]), st.lists(LABEL, min_size=1, max_size=3))
#: rarely, a list of labels with a null item (the Python path may fail on it; so must the fast one)
ODD_LABELS = st.lists(st.one_of(LABEL, st.none()), min_size=1, max_size=2)
NUM = st.one_of(
    st.integers(-20, 120), st.integers(0, 100), st.floats(0, 100, allow_nan=False),
    st.sampled_from([0, 0.0, -0.0, 0.5, 12.5, 0.1, 0.30000000000000004, 33.333333333333336, 99.99999999999999,
                     1e-7, 2.5e-5, 10**15 - 1, 10**15, 10**16, 2**53 + 1, 1e16, 1.5e300, 123456789.123]),
    st.floats(-200, 200, allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),
)
SIZE = st.one_of(st.integers(0, 60), st.floats(0, 80, allow_nan=False), st.sampled_from([-5, 0, 1e-9]))
ROTATION = st.sampled_from([None, 0, 0, 0, 0.0, 360, 720, -360, 90, 45.5, 359.99999999999994, 1e16])
TEXT = st.one_of(st.sampled_from(["abc", "a \"quoted\" word", "line\nbreak", "tab\t", "é", "\\", ""]),
                 st.text(max_size=8))
FLOAT = st.one_of(st.none(), st.sampled_from([math.nan, -0.0, 0.0, 1.5, 10.0, 1e20, 1e-5, 123456.5, -3.0]),
                  st.floats(allow_infinity=True, allow_nan=True))
LABEL_KEYS = ["rectanglelabels", "labels", "choices", "taxonomy", "polygonlabels"]
ANSWER_VALUES = {"annotator": st.sampled_from(["ann1", "ann2", "", None]), "was_cancelled": st.booleans(),
                 "ground_truth": st.booleans(), "lead_time": FLOAT, "score": FLOAT,
                 "model_version": st.sampled_from(["m1", "m2", "", None]), "extra": st.sampled_from([None, '{"k":2}'])}


def put(d: dict, k: str, v) -> dict:
    if v is not None:
        d[k] = v
    return d


@st.composite
def value(draw, labels):
    """A result value (a dict, mostly) for a row with ``labels``."""
    kind = draw(st.sampled_from(["rect", "rect", "rect", "span", "span", "choices", "choices", "polygon", "ellipse",
                                 "textarea", "none", "odd", "global", "nested"]))
    lab = labels if labels and draw(st.integers(0, 4)) else draw(st.one_of(LABELS, LABELS, LABELS, ODD_LABELS))
    lk = draw(st.sampled_from(LABEL_KEYS))
    extra = draw(st.sampled_from([None] * 9 + [("original_width", 640), ("score", 0.5), ("flag", True)]))
    if kind == "rect":
        v = {"x": draw(NUM), "y": draw(NUM), "width": draw(SIZE), "height": draw(SIZE)}
        put(v, "rotation", draw(ROTATION))
    elif kind == "span":
        s = draw(st.one_of(st.integers(0, 50), NUM))
        v = {"start": s, "end": draw(st.one_of(st.integers(0, 60), st.just(s), NUM))}
        if draw(st.booleans()):
            v["text"] = draw(TEXT)
    elif kind == "choices":
        return put({}, "choices", lab)
    elif kind == "polygon":
        n = draw(st.integers(2, 5))
        v = {"points": [[draw(st.integers(0, 50)), draw(st.integers(0, 50))] for _ in range(n)]}
    elif kind == "ellipse":
        v = {"x": draw(st.integers(0, 50)), "y": draw(st.integers(0, 50)), "radiusX": draw(st.integers(0, 9)),
             "radiusY": draw(st.integers(1, 9))}
        put(v, "rotation", draw(ROTATION))
    elif kind == "textarea":
        return {"text": [draw(TEXT)]}
    elif kind == "none":
        return None
    elif kind == "odd":
        return draw(st.sampled_from([{}, {"x": "a", "y": 1, "width": 1, "height": 1}, {"x": True, "y": 1, "width": 2,
                                     "height": 2}, {"start": 1}, "plain", 5, [1, 2], {"start": "/p[1]", "end": "/p[2]",
                                     "startOffset": 0, "endOffset": 3}, {"x": 1, "start": 2, "end": 5}]))
    elif kind == "global":
        v = {"start": "/p[1]", "end": "/p[1]", "globalOffsets": {"start": draw(st.integers(0, 9)),
                                                                   "end": draw(st.integers(9, 20))}}
    else:
        v = {"x": 1, "y": 2, "width": 3, "height": 4, "meta": {"x": 5}}
    put(v, lk, lab)
    if extra:
        v[extra[0]] = extra[1]
    return v


def text(v) -> str | None:
    return None if v is None else canonical_json(v)


@st.composite
def row(draw, spec):
    labels = draw(st.one_of(LABELS, LABELS, LABELS, ODD_LABELS)) if draw(st.integers(0, 9)) else None
    d = {"region_key": draw(st.sampled_from(["r1", "r1", "r1", "r1", ""])),
         "from_name": draw(st.sampled_from(["objects", "objects", "sentiment", None])),
         "to_name": draw(st.sampled_from(["img", "img", "text", None])),
         "type": draw(st.sampled_from(["rectanglelabels", "choices", "labels", "", None])),
         "labels": labels, "value": text(draw(value(labels))),
         "region": draw(st.sampled_from([None, None, '{"origin":"manual"}', '{"score":0.5}'])),
         "extra": draw(st.sampled_from([None, None, '{"k":1}']))}
    if spec is D._ANN:
        d.update(annotator=draw(st.sampled_from(["ann1", "ann1", "ann2", "", None])),
                 was_cancelled=draw(st.booleans()), ground_truth=draw(st.booleans()), lead_time=draw(FLOAT))
    else:
        d.update(model_version=draw(st.sampled_from(["m1", "m1", "m2", "", None])), score=draw(FLOAT))
    return d


def _edit_value(draw, v, b):
    """One change of a value dict (in place), as a tool or a person would make it."""
    if not isinstance(v, dict):
        return
    op = draw(st.sampled_from(["move", "move", "move", "resize", "resize", "rotate", "span", "span", "span",
                               "retext", "key", "labels"]))
    if op == "move":
        for k in ("x", "y"):
            if isinstance(v.get(k), (int, float)) and not isinstance(v.get(k), bool) and draw(st.booleans()):
                v[k] = v[k] + draw(st.sampled_from([1, -2, 0.5, 0.1, 1e-9, 0]))
    elif op == "resize":
        for k in ("width", "height", "radiusX"):
            if isinstance(v.get(k), (int, float)) and not isinstance(v.get(k), bool) and draw(st.booleans()):
                v[k] = v[k] + draw(st.sampled_from([1, 3, 0.25]))
    elif op == "rotate":
        put(v, "rotation", draw(ROTATION)) if draw(st.booleans()) else v.pop("rotation", None)
    elif op == "span":
        for k in ("start", "end"):
            if isinstance(v.get(k), (int, float)) and not isinstance(v.get(k), bool) and draw(st.booleans()):
                v[k] = v[k] + draw(st.sampled_from([1, -1, 2, 0.5]))
    elif op == "retext":
        v["text"] = draw(TEXT)
    elif op == "key":
        v["meta"] = draw(st.sampled_from([1, 2, "a", [1], None]))
    else:  # the value's labels, the labels column left alone
        for k in LABEL_KEYS:
            if k in v:
                v[k] = draw(LABELS)


@st.composite
def pair(draw, spec):
    """Two rows: B an edit of A (or, now and then, a row of its own)."""
    a = draw(row(spec))
    if not draw(st.integers(0, 7)):
        return a, draw(row(spec))
    b = copy.deepcopy(a)
    v = json.loads(a["value"]) if a["value"] is not None else None
    ops = ["relabel", "relabel", "value", "value", "value", "value", "new_value", "column", "answer", "answer",
           "region_key", "labels_column"]
    for op in draw(st.lists(st.sampled_from(ops), max_size=3)):
        if op == "relabel":  # labels column and the value's labels together
            new = draw(st.lists(LABEL, min_size=1, max_size=2))
            if isinstance(v, dict):
                for k in LABEL_KEYS:
                    if k in v and v[k] == b["labels"]:
                        v[k] = new
            b["labels"] = new
        elif op == "value":
            _edit_value(draw, v, b)
        elif op == "new_value":
            v = draw(value(b["labels"]))
        elif op == "labels_column":
            b["labels"] = draw(LABELS)
        elif op == "column":
            col = draw(st.sampled_from(["from_name", "to_name", "type", "region"]))
            b[col] = draw(st.sampled_from([None, "", "other", '{"origin":"auto"}']))
        elif op == "answer":
            col = draw(st.sampled_from(list(spec.answer_cols)))
            b[col] = draw(ANSWER_VALUES[col])
        else:
            b["region_key"] = draw(st.sampled_from(["", "r2"]))
    try:
        b["value"] = text(v)
    except ValueError:  # a number pushed out of range
        pass
    return a, b


COORD = st.one_of(st.integers(0, 100), st.floats(0, 100, allow_nan=False),
                  st.sampled_from([12.345678901234567, 33.333333333333336, 0.1, 99.99999999999999, 50]))


@st.composite
def common_pair(draw, spec):
    """Two rows as labeling rounds make them: a box moved, resized or turned by 360, a span
    moved or widened, a choice or label changed, an answer's columns changed."""
    a = draw(row(spec))
    a["region_key"] = "r1"
    labels = draw(st.lists(PLAIN_LABEL, min_size=1, max_size=2))
    kind = draw(st.sampled_from(["rect", "span", "choices"]))
    if kind == "rect":
        lk = draw(st.sampled_from(["rectanglelabels", "labels"]))
        v = {"x": draw(COORD), "y": draw(COORD), "width": draw(COORD), "height": draw(COORD), lk: labels}
        put(v, "rotation", draw(st.sampled_from([None, 0, 0, 360, 90])))
    elif kind == "span":
        lk, start = "labels", draw(st.integers(0, 50))
        v = {"start": start, "end": start + draw(st.integers(0, 20)), lk: labels}
        put(v, "text", draw(st.one_of(st.none(), TEXT)))
    else:
        lk, v = "choices", {"choices": labels}
    a["labels"], a["value"] = labels, text(v)
    b = copy.deepcopy(a)
    for op in draw(st.lists(st.sampled_from(["relabel", "move", "move", "resize", "answer", "rotation_key"]),
                            min_size=1, max_size=3)):
        if op == "rotation_key":  # a rotation of 0 written or dropped: the value changes, the box does not
            if kind == "rect":
                v.pop("rotation") if "rotation" in v else v.update(rotation=0)
        elif op == "relabel":
            b["labels"] = v[lk] = draw(st.lists(PLAIN_LABEL, min_size=1, max_size=2))
        elif op == "answer":
            col = draw(st.sampled_from(list(spec.answer_cols)))
            b[col] = draw(ANSWER_VALUES[col])
        else:
            keys = {"rect": ("x", "y") if op == "move" else ("width", "height", "rotation"),
                    "span": ("start", "end")}.get(kind, ())
            for k in keys:
                if draw(st.booleans()):
                    v[k] = (v.get(k) or 0) + draw(st.sampled_from([1, -1, 2, 0.5, 360, 1e-9]))
    b["value"] = text(v)
    return a, b


# ---------------------------------------------------------------------------
# the two paths


def table(spec, rows: list[dict], chunks: int = 1, offset: int = 0) -> pa.Table:
    """Rows as a table of the columns the row descriptions read, in ``chunks`` chunks
    (``offset`` rows in front, sliced off: arrays that do not start at 0)."""
    cols = ["region_key", *spec.cols]
    rows = [rows[0]] * offset + rows if rows else rows
    t = pa.table({c: pa.array([r[c] for r in rows], TYPES[c]) for c in cols})
    if chunks > 1 and t.num_rows > 1:
        step = max(1, t.num_rows // chunks)
        t = pa.concat_tables([t.slice(i, step) for i in range(0, t.num_rows, step)])
    return t.slice(offset)


def python_pairs(spec, a: pa.Table, b: pa.Table) -> list[tuple]:
    memo: dict = {}
    rows = zip(D._py_rows(a, spec.cols), D._py_rows(b, spec.cols))
    return [D._describe_pair(spec, x, y, None, memo) for x, y in rows]


def python_one_side(spec, t: pa.Table) -> list[str]:
    cols = ["labels", "type", "value"] + (["was_cancelled"] if spec is D._ANN else [])
    memo: dict = {}
    return [D._one_side_description(spec, r, memo) for r in D._py_rows(t, cols)]


def same_score(x, y) -> bool:
    return x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))


def check_pairs(spec, a: pa.Table, b: pa.Table) -> None:
    try:
        want = python_pairs(spec, a, b)
    except Exception as e:  # the fast path fails where the Python path does (it hands such rows over)
        with pytest.raises(type(e)):
            R.describe_pairs(spec, a, b)
        return
    kinds, words, scores = R.describe_pairs(spec, a, b)
    assert kinds.type == pa.list_(pa.string()) and words.type == pa.string() and scores.type == pa.float64()
    got = list(zip(kinds.to_pylist(), words.to_pylist(), scores.to_pylist()))
    assert len(got) == len(want)
    for i, ((k, w, s), (k2, w2, s2)) in enumerate(zip(want, got)):
        ra, rb = a.slice(i, 1).to_pylist()[0], b.slice(i, 1).to_pylist()[0]
        assert (list(k), w) == (k2, w2), (ra, rb)
        assert same_score(s, s2), (s, s2, ra, rb)


def check_one_side(spec, t: pa.Table) -> None:
    try:
        want = python_one_side(spec, t)
    except Exception as e:
        with pytest.raises(type(e)):
            R.describe_one_side(spec, t)
        return
    got = R.describe_one_side(spec, t)
    assert got.type == pa.string()
    for i, (w, g) in enumerate(zip(want, got.to_pylist())):
        assert w == g, t.slice(i, 1).to_pylist()[0]


# ---------------------------------------------------------------------------
# properties


@pytest.mark.parametrize("table_name", ["annotations", "predictions"])
@given(data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_pairs_are_described_as_the_python_path_does(table_name, data):
    spec = SPECS[table_name]
    pairs = data.draw(st.lists(st.one_of(pair(spec), common_pair(spec)), min_size=1, max_size=12))
    chunks, offset = data.draw(st.integers(1, 3)), data.draw(st.integers(0, 2))
    check_pairs(spec, table(spec, [p[0] for p in pairs], chunks, offset), table(spec, [p[1] for p in pairs], chunks))


@pytest.mark.parametrize("table_name", ["annotations", "predictions"])
@given(data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_one_side_rows_are_described_as_the_python_path_does(table_name, data):
    spec = SPECS[table_name]
    rows = data.draw(st.lists(st.one_of(row(spec), common_pair(spec).map(lambda p: p[1])), min_size=1, max_size=12))
    check_one_side(spec, table(spec, rows, data.draw(st.integers(1, 3)), data.draw(st.integers(0, 2))))


@given(st.lists(st.tuples(st.integers(-30, 130), st.integers(-30, 130), st.integers(0, 40), st.integers(0, 40),
                          st.sampled_from([0, 0.5, 1, -1, 0.25, 1e-9, 7.125])), min_size=1, max_size=30))
@settings(max_examples=100, deadline=None)
def test_moved_boxes_are_described_as_the_python_path_does(moves):
    """Many boxes moved and resized by small amounts: IoU near every rounding edge."""
    a, b = [], []
    for x, y, w, h, d in moves:
        base = {"region_key": "r", "annotator": "a", "was_cancelled": False, "ground_truth": False, "lead_time": 1.0,
                "extra": None, "from_name": "objects", "to_name": "img", "type": "rectanglelabels",
                "labels": ["cat"], "region": None}
        a.append({**base, "value": canonical_json({"x": x, "y": y, "width": w, "height": h, "rotation": 0,
                                                     "rectanglelabels": ["cat"]})})
        b.append({**base, "value": canonical_json({"x": x + d, "y": y, "width": w + 2 * d, "height": h,
                                                     "rotation": 0, "rectanglelabels": ["cat"]})})
    check_pairs(D._ANN, table(D._ANN, a), table(D._ANN, b))


@given(st.lists(st.one_of(st.floats(0, 1), st.sampled_from([0.125, 0.375, 0.005, 0.015, 0.0000005, 0.9999995,
                                                            0.1234565, 0.8250000000000001, 0.825, 1.0, 0.0])),
                min_size=1, max_size=50))
@settings(max_examples=200, deadline=None)
def test_rounding_and_formatting_of_scores(xs):
    import numpy as np

    s = np.array(xs, dtype=float)
    assert R._round6(s).tolist() == [round(x, 6) for x in xs]
    r = [round(x, 6) for x in xs]
    assert R._fmt2(np.array(r)).to_pylist() == [f"{x:.2f}" for x in r]


@given(st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**15 + 1, 10**15 - 1)),
                min_size=1, max_size=20))
@settings(max_examples=150, deadline=None)
def test_numbers_are_read_as_json_loads_reads_them(xs):
    v = R._Values(pa.array([canonical_json({"x": x, "y": 0, "width": 1, "height": 1}) for x in xs]))
    for i, x in enumerate(xs):
        text = canonical_json(x)
        if v.ok[i]:
            assert v.num["x"][i] == json.loads(text)
        else:  # only exponents and long integers are left to json.loads
            assert "e" in text or len(text.lstrip("-")) > 15


#: Value texts no canonical writer makes: the fast path must read them as json.loads does, or
#: leave them to it (which fails on the invalid ones, and so must the fast path).
ODD_TEXTS = [
    '{"height":4,"rectanglelabels":["cat"],"width":3,"x":1,"y":2}',
    '{"x":1,"y":2,"width":3,"height":4,"rectanglelabels":["cat"]}',  # keys out of order
    '{"height": 4,"rectanglelabels":["cat"],"width":3,"x":1,"y":2}',  # a space
    '{"height":4.0,"rectanglelabels":["cat"],"width":3,"x":1,"y":2}',  # 4.0 is 4
    '{"height":4,"rectanglelabels":["cat"],"width":3,"x":-0,"y":2}',
    '{"height":4,"rectanglelabels":["cat"],"width":3,"x":0.10000000000000001,"y":2}',  # 0.1
    '{"height":4,"rectanglelabels":["cat"],"width":3,"x":0.1,"y":2}',
    '{"height":4,"rectanglelabels":["cat"],"width":3,"x":1e0,"y":2}',
    '{"height":4,"rectanglelabels":["cat"],"width":3,"x":5,"x":1,"y":2}',  # a key twice: the last wins
    '{"height":4,"rectanglelabels":["cat"],"rectanglelabels":["dog"],"width":3,"x":1,"y":2}',
    '{"height":4,"rectanglelabels":["\\u0063at"],"width":3,"x":1,"y":2}',  # an escaped label
    '{"height":4,"rectanglelabels":["cat"],"width":3,"x":true,"y":2}',
    '{"height":4,"rectanglelabels":["cat"],"width":3,"x":1,"y":2,}',  # not JSON
    '{"height":4,"rectanglelabels":["cat"],"width":3,"x":1,"y":2}}',
    '{"end":9,"labels":["PER"],"start":3,"text":"a\\"b"}',
    '{"end":9,"labels":["PER"],"start":3,"text":"a\\u0022b"}',  # the same text, escaped otherwise
    '{"end":9.0,"labels":["PER"],"start":3,"text":"ab"}',
    '{"end":10,"labels":["PER"],"start":3,"text":"ab","text":"cd"}',
    '{"end":10,"labels":["PER"],"start":3,"text":"x\\":1,"}',
]


@pytest.mark.parametrize("table_name", ["annotations", "predictions"])
def test_odd_value_texts(table_name):
    spec = SPECS[table_name]
    base = {"region_key": "r1", "annotator": "a", "was_cancelled": False, "ground_truth": False, "lead_time": 1.0,
            "model_version": "m", "score": 0.5, "extra": None, "from_name": "objects", "to_name": "img",
            "type": "rectanglelabels", "region": None}
    rows = [{**base, "labels": labels, "value": v} for v in ODD_TEXTS for labels in (["cat"], ["PER"], None)]
    for i in range(len(rows)):  # one text at a time, as the Python path may fail on one
        check_one_side(spec, table(spec, [rows[i]]))
        check_pairs(spec, table(spec, rows), table(spec, rows[i:] + rows[:i]))
    good = [r for r in rows if r["value"][-2:] not in (",}", "}}")]
    for i in range(len(good)):
        check_pairs(spec, table(spec, good), table(spec, good[i:] + good[:i]))
    check_one_side(spec, table(spec, good))


# ---------------------------------------------------------------------------
# the common cases take the fast path


def ann(rk="r1", value=None, labels=None, **kw) -> dict:
    d = {"region_key": rk, "annotator": "ann1", "was_cancelled": False, "ground_truth": False, "lead_time": 12.5,
         "extra": None, "from_name": "objects", "to_name": "img", "type": "rectanglelabels", "labels": labels,
         "value": None if value is None else canonical_json(value), "region": None}
    d.update(kw)
    return d


def rect(x, y, w, h, labels, rotation=0):
    return {"x": x, "y": y, "width": w, "height": h, "rotation": rotation, "rectanglelabels": labels}


def choices(labels):
    return {"choices": labels}


def span_value(s, e, labels, text="abc"):
    return {"start": s, "end": e, "labels": labels, "text": text}


COMMON_PAIRS = [
    # relabeled choices
    (ann(value=choices(["positive"]), labels=["positive"], from_name="sentiment", type="choices"),
     ann(value=choices(["negative"]), labels=["negative"], from_name="sentiment", type="choices")),
    # moved, resized, rotated 0 -> 360, moved with long floats, relabeled and moved
    (ann(value=rect(36, 76, 14, 9, ["car"]), labels=["car"]), ann(value=rect(37, 76, 14, 9, ["car"]), labels=["car"])),
    (ann(value=rect(1, 2, 3, 4, ["car"]), labels=["car"]), ann(value=rect(1, 2, 5, 4, ["car"]), labels=["car"])),
    (ann(value=rect(1, 2, 3, 4, ["car"]), labels=["car"]),
     ann(value=rect(1, 2, 3, 4, ["car"], rotation=360), labels=["car"])),
    (ann(value=rect(12.345678901234567, 45.67890123456789, 10.5, 20.25, ["cat"]), labels=["cat"]),
     ann(value=rect(13.345678901234567, 45.67890123456789, 10.5, 22.25, ["cat"]), labels=["cat"])),
    (ann(value=rect(1, 2, 3, 4, ["cat"]), labels=["cat"]), ann(value=rect(2, 2, 3, 4, ["dog"]), labels=["dog"])),
    (ann(value=rect(1, 2, 3, 4, ["cat"]), labels=["cat"]), ann(value=rect(1, 2, 3, 4, ["dog"]), labels=["dog"])),
    (ann(value=rect(0, 0, 10, 10, ["cat"]), labels=["cat"]), ann(value=rect(50, 50, 10, 10, ["cat"]), labels=["cat"])),
    # spans moved, widened, narrowed, relabeled
    (ann(value=span_value(3, 9, ["PER"]), labels=["PER"], type="labels"),
     ann(value=span_value(4, 10, ["PER"], "bcd"), labels=["PER"], type="labels")),
    (ann(value=span_value(3, 9, ["PER"]), labels=["PER"], type="labels"),
     ann(value=span_value(2, 9, ["PER"]), labels=["PER"], type="labels")),
    (ann(value=span_value(3, 9, ["PER"]), labels=["PER"], type="labels"),
     ann(value=span_value(3, 9, ["ORG"]), labels=["ORG"], type="labels")),
    # answer-level changes, the same content, columns of the result
    (ann(value=choices(["a"]), labels=["a"]), ann(value=choices(["a"]), labels=["a"], lead_time=13.0)),
    (ann(value=choices(["a"]), labels=["a"]), ann(value=choices(["a"]), labels=["a"], lead_time=None)),
    (ann(value=choices(["a"]), labels=["a"]), ann(value=choices(["a"]), labels=["a"], annotator="ann2")),
    (ann(value=choices(["a"]), labels=["a"]), ann(value=choices(["a"]), labels=["a"], ground_truth=True,
                                                   was_cancelled=True, extra='{"k":1}')),
    (ann(value=choices(["a"]), labels=["a"]), ann(value=choices(["a"]), labels=["a"])),
    (ann(value=choices(["a"]), labels=["a"]), ann(value=choices(["a"]), labels=["a"], from_name="other",
                                                   to_name="t2", type="labels", region='{"origin":"x"}')),
    # empty answers
    (ann(rk=""), ann(rk="", was_cancelled=True)),
    (ann(rk=""), ann(value=choices(["a"]), labels=["a"])),
]

COMMON_ONE_SIDE = [
    ann(value=rect(1, 2, 3, 4, ["cat"]), labels=["cat"]), ann(value=rect(1, 2, 3, 4, ["cat"], 30), labels=["cat"]),
    ann(value=rect(1.5, 2.25, 3, 4, ["cat"]), labels=["cat"]), ann(value=span_value(3, 9, ["PER"]), labels=["PER"]),
    ann(value=choices(["positive"]), labels=["positive"]), ann(value=choices(["a", "b"]), labels=["a", "b"]),
    ann(rk=""), ann(rk="", was_cancelled=True), ann(value=None, labels=None, type="relation"),
    ann(value=rect(1, 2, 3, 4, []), labels=[]),
]


def counting(monkeypatch) -> list[int]:
    """Patch the hand-over to the Python path so that it counts the rows it is given."""
    handed: list[int] = []
    py_pairs, py_one_side = R._py_pairs, R._py_one_side

    def pairs(spec, a, b, idx):
        handed.append(len(idx))
        return py_pairs(spec, a, b, idx)

    def one_side(spec, t, idx):
        handed.append(len(idx))
        return py_one_side(spec, t, idx)

    monkeypatch.setattr(R, "_py_pairs", pairs)
    monkeypatch.setattr(R, "_py_one_side", one_side)
    return handed


def test_common_cases_take_the_fast_path(monkeypatch):
    handed = counting(monkeypatch)
    a, b = table(D._ANN, [p[0] for p in COMMON_PAIRS]), table(D._ANN, [p[1] for p in COMMON_PAIRS])
    check_pairs(D._ANN, a, b)
    check_one_side(D._ANN, table(D._ANN, COMMON_ONE_SIDE))
    assert handed == []
    kinds, words, scores = R.describe_pairs(D._ANN, a, b)
    assert words.to_pylist()[:3] == ["positive -> negative", "box moved, IoU 0.87", "box resized, IoU 0.60"]
    assert handed == []


def test_other_cases_are_handed_to_the_python_path(monkeypatch):
    handed = counting(monkeypatch)
    poly = lambda pts: {"points": pts, "polygonlabels": ["cat"]}  # noqa: E731
    odd = [
        (ann(value=poly([[0, 0], [4, 0], [4, 4]]), labels=["cat"]), ann(value=poly([[1, 0], [5, 0], [5, 4]]),
                                                                         labels=["cat"])),
        (ann(value=rect(1, 2, 3, 4, ["cat"], 30), labels=["cat"]), ann(value=rect(2, 2, 3, 4, ["cat"], 30),
                                                                        labels=["cat"])),
        (ann(value={**rect(1, 2, 3, 4, ["cat"]), "meta": 1}, labels=["cat"]),
         ann(value={**rect(1, 2, 3, 4, ["cat"]), "meta": 2}, labels=["cat"])),
        (ann(value=span_value(3, 9, ["PER"], "a"), labels=["PER"]), ann(value=span_value(3, 9, ["PER"], "b"),
                                                                         labels=["PER"])),
    ]
    check_pairs(D._ANN, table(D._ANN, [p[0] for p in odd]), table(D._ANN, [p[1] for p in odd]))
    assert handed == [len(odd)]
    handed.clear()
    check_one_side(D._ANN, table(D._ANN, [ann(value={"text": ["free text"]}, labels=None, type="textarea"),
                                          ann(value=poly([[0, 0], [1, 0], [1, 1]]), labels=["cat"])]))
    assert handed == [2]


def test_empty_tables():
    for spec in SPECS.values():
        t = table(spec, [])
        kinds, words, scores = R.describe_pairs(spec, t, t)
        assert (len(kinds), len(words), len(scores)) == (0, 0, 0)
        assert len(R.describe_one_side(spec, t)) == 0


# ---------------------------------------------------------------------------
# the whole row table: diffs words rows with the fast path; the reference is the Python path


def _python_pair_rows(spec, keys, a, b):
    memo: dict = {}
    out = [D._describe_pair(spec, ra, rb, None, memo)
           for ra, rb in zip(D._py_rows(a, spec.cols), D._py_rows(b, spec.cols))]
    kinds, words, scores = ([list(x) for x in zip(*out)] if out else ([], [], []))
    return D._segment(spec, "changed", keys, a, b, kinds, words, scores)


def _python_one_side_rows(spec, change, keys, t):
    cols = ["labels", "type", "value"] + (["was_cancelled"] if spec is D._ANN else [])
    memo: dict = {}
    words = [D._one_side_description(spec, r, memo) for r in D._py_rows(t, cols)]
    a, b = (None, t) if change == "added" else (t, None)
    return D._segment(spec, change, keys, a, b, [[]] * keys.num_rows, words, None)


def _edited():
    from tests.test_diff import edited

    return edited()


@given(case=st.deferred(_edited))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_row_table_is_the_same_as_the_python_paths(case):
    from tests.test_diff import side

    ta, ca, tb, cb = case[:4]
    sa, sb = side(ta, ca), side(tb, cb)
    got = D.diff_tables(sa, sb).rows
    assume(got.num_rows)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(D, "_pair_rows", _python_pair_rows)
        mp.setattr(D, "_one_side_rows", _python_one_side_rows)
        want = D.diff_tables(sa, sb).rows
    assert got.schema == want.schema
    assert got.to_pylist() == want.to_pylist()
