"""The one geometry module (annover.model.geometry): shapes of result values, IoU, span overlap."""

from __future__ import annotations

import math

import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from annover.model.geometry import (AREA, BOX, ELLIPSE, NO_SCORE, POLYGON, SPAN, Shape, as_polygon, box_iou,
                                    pair_scores, polygon_iou, rect_polygon, score_matrix, shape_of, shape_score,
                                    span_overlap)

COORD = st.integers(-50, 150) | st.floats(-50, 150, allow_nan=False)
SIZE = st.integers(1, 60) | st.floats(0.5, 60, allow_nan=False)
BOXES = st.tuples(COORD, COORD, SIZE, SIZE)
SPANS = st.tuples(st.integers(0, 100), st.integers(0, 40)).map(lambda t: (t[0], t[0] + t[1]))


@st.composite
def polygons(draw):
    """A simple polygon: points around a centre at increasing angles (star-shaped, often not convex)."""
    n = draw(st.integers(3, 9))
    cx, cy = draw(st.integers(0, 100)), draw(st.integers(0, 100))
    angles = sorted(draw(st.lists(st.floats(0, 2 * math.pi, exclude_max=True), min_size=n, max_size=n, unique=True)))
    assume(all(b - a > 1e-3 for a, b in zip(angles, angles[1:])))
    radii = draw(st.lists(st.floats(1, 50), min_size=n, max_size=n))
    pts = [(cx + r * math.cos(t), cy + r * math.sin(t)) for t, r in zip(angles, radii)]
    assume(shapely.Polygon(pts).is_valid and shapely.Polygon(pts).area > 1e-6)
    return pts


def test_shapes_of_values():
    assert shape_of({"x": 1, "y": 2, "width": 3, "height": 4}) == (AREA, BOX, (1.0, 2.0, 3.0, 4.0))
    assert shape_of({"x": 1, "y": 2, "width": 3, "height": 4, "rotation": 360}).geom == (1.0, 2.0, 3.0, 4.0)
    rotated = shape_of({"x": 1, "y": 2, "width": 3, "height": 4, "rotation": 90})
    assert rotated.form == BOX and not rotated.axis_box and len(rotated.geom) == 4
    assert shape_of({"x": 5, "y": 5, "radiusX": 2, "radiusY": 1}).form == ELLIPSE
    assert shape_of({"points": [[0, 0], [1, 0], [1, 1]]}) == (AREA, POLYGON, [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)])
    assert shape_of({"start": 3, "end": 9, "labels": ["PER"]}) == (SPAN, SPAN, (3.0, 9.0))
    assert shape_of({"start": "/p[1]", "end": "/p[1]", "globalOffsets": {"start": 2, "end": 5}}).geom == (2.0, 5.0)
    for odd in ({"x": True, "y": 1, "width": 1, "height": 1}, {"points": [[0, 0], [1, 1]]}, {"start": 1}, [1], None,
                {"choices": ["a"]}, {"x": "a", "y": 1, "width": 1, "height": 1}):
        assert shape_of(odd) is None


@settings(deadline=None)
@given(BOXES, BOXES)
def test_box_iou_is_symmetric_bounded_and_exact(a, b):
    iou = box_iou(a, b)
    assert box_iou(b, a) == iou and 0.0 <= iou <= 1.0
    pa_, pb_ = shapely.box(a[0], a[1], a[0] + a[2], a[1] + a[3]), shapely.box(b[0], b[1], b[0] + b[2], b[1] + b[3])
    want = pa_.intersection(pb_).area / pa_.union(pb_).area
    assert iou == pytest.approx(want, abs=1e-9)
    assert polygon_iou(as_polygon(shape_of(dict(zip(("x", "y", "width", "height"), a)))),
                       as_polygon(shape_of(dict(zip(("x", "y", "width", "height"), b))))) == pytest.approx(iou, abs=1e-9)


@settings(deadline=None)
@given(BOXES)
def test_identical_shapes_have_iou_one(a):
    assert box_iou(a, a) == 1.0
    v = dict(zip(("x", "y", "width", "height"), a))
    s = shape_of(v)
    assert shape_score(s, s) == 1.0
    r = shape_of({**v, "rotation": 37})
    assert shape_score(r, r) == 1.0


@settings(deadline=None)
@given(BOXES, st.floats(1, 100))
def test_disjoint_shapes_have_iou_zero(a, gap):
    b = (a[0] + a[2] + gap, a[1], a[2], a[3])
    assert box_iou(a, b) == 0.0
    pa_, pb_ = as_polygon(shape_of(dict(zip(("x", "y", "width", "height"), a)))), \
        as_polygon(shape_of(dict(zip(("x", "y", "width", "height"), b))))
    assert polygon_iou(pa_, pb_) == 0.0


@settings(deadline=None)
@given(BOXES, BOXES)
def test_a_rotated_box_at_angle_zero_is_the_axis_box(a, b):
    keys = ("x", "y", "width", "height")
    va, vb = dict(zip(keys, a)), dict(zip(keys, b))
    assert shape_of({**va, "rotation": 0}) == shape_of(va)
    for got, want in zip(rect_polygon(*a, 0), as_polygon(shape_of(va))):
        assert got == pytest.approx(want)
    assert polygon_iou(rect_polygon(*a, 0), rect_polygon(*b, 0)) == pytest.approx(box_iou(a, b), abs=1e-9)
    # a full turn is no rotation; a rotation turns both the same way: IoU kept
    assert shape_of({**va, "rotation": 360}) == shape_of(va)
    turned = shape_score(shape_of({**va, "rotation": 30}), shape_of({**vb, "rotation": 30}))
    assert 0.0 <= turned <= 1.0


@settings(max_examples=60, deadline=None)
@given(polygons(), polygons())
def test_polygon_iou_agrees_with_shapely_areas(p, q):
    iou = polygon_iou(p, q)
    gp, gq = shapely.Polygon(p), shapely.Polygon(q)
    inter = gp.intersection(gq).area
    assert iou == pytest.approx(inter / (gp.area + gq.area - inter), abs=1e-9)
    assert polygon_iou(q, p) == pytest.approx(iou, abs=1e-12)
    assert polygon_iou(p, p) == pytest.approx(1.0, abs=1e-12)
    assert polygon_iou(p, list(reversed(p))) == pytest.approx(1.0, abs=1e-12)
    s = shape_score(shape_of({"points": [list(x) for x in p]}), shape_of({"points": [list(x) for x in q]}))
    assert s == shape_score(shape_of({"points": [list(x) for x in q]}), shape_of({"points": [list(x) for x in p]}))


def test_a_non_convex_polygon_is_exact():
    l_shape = [(0, 0), (10, 0), (10, 5), (5, 5), (5, 10), (0, 10)]
    notch = [(5, 0), (10, 0), (10, 10), (5, 10)]
    assert polygon_iou(l_shape, notch) == pytest.approx(25 / (75 + 50 - 25), abs=1e-12)


@settings(deadline=None)
@given(SPANS, SPANS)
def test_span_overlap(a, b):
    s = span_overlap(a, b)
    assert span_overlap(b, a) == s and 0.0 <= s <= 1.0
    assert span_overlap(a, a) == 1.0
    if b[0] > a[1] or a[0] > b[1]:
        assert s == 0.0
    if a[0] <= b[0] and b[1] <= a[1]:
        assert s == 1.0  # one contains the other


def test_spans_and_areas_do_not_compare():
    assert shape_score(shape_of({"start": 0, "end": 5}), shape_of({"x": 0, "y": 0, "width": 5, "height": 5})) is None
    assert shape_score(shape_of({"start": 0, "end": 10}), shape_of({"start": 5, "end": 15})) == 0.5


@pytest.mark.parametrize("w, h, rot", [(1.6356785844585858e+308, 1.6356785844585878e+308, 6),
                                       (1.7868598779512487e+292, 2.855087589331132e+306, 1)])
def test_boxes_past_the_range_of_doubles_compare_without_error(w, h, rot):
    """Found by the diff's property test: corners past the range of a double (inf) or a topology
    the geometry library cannot settle at that magnitude; such boxes are the same or not."""
    a, b = rect_polygon(0, 0, w, h, rot), rect_polygon(1, 0, w, h, rot)
    assert polygon_iou(a, list(a)) == 1.0
    assert 0.0 <= polygon_iou(a, b) <= 1.0


#: A box of any signed size (negative widths and heights, zero-size boxes), a few coordinates
#: often so that boxes coincide, share an edge or are equal; now and then past the range of a double
_EDGE = st.sampled_from([0.0, -0.0, 1.0, 10.0, 33.3, 1e308])
_SIGNED = st.floats(-60, 60, allow_nan=False) | _EDGE | st.just(-1e308)
_ANY_BOX = st.tuples(st.floats(-50, 150, allow_nan=False) | _EDGE, st.floats(-50, 150, allow_nan=False) | _EDGE,
                     _SIGNED, _SIGNED).map(lambda g: Shape(AREA, BOX, tuple(map(float, g))))
_ANY_SPAN = st.tuples(st.integers(-5, 100) | st.floats(-1e308, 1e308, allow_nan=False),
                      st.integers(-5, 100) | st.floats(-1e308, 1e308, allow_nan=False)).map(
    lambda g: Shape(SPAN, SPAN, tuple(map(float, g))))
_ANY_SHAPE = (_ANY_BOX | _ANY_SPAN | st.none()
              | st.builds(lambda v: shape_of(v), st.fixed_dictionaries(
                  {"x": st.integers(0, 90), "y": st.integers(0, 90), "width": st.integers(0, 30),
                   "height": st.integers(0, 30), "rotation": st.sampled_from([0, 30, 90])}))
              | st.builds(lambda x, y: shape_of({"x": x, "y": y}), st.integers(0, 100), st.integers(0, 100)))


@settings(max_examples=300, deadline=None)
@given(st.lists(_ANY_SHAPE, max_size=7), st.lists(_ANY_SHAPE, max_size=7), st.data())
def test_score_matrix_gives_shape_score_of_every_pair(a, b, data):
    """The matrix (boxes and spans at once with numpy) holds shape_score's very numbers, pair by pair:
    equal boxes, zero-size ones, negative sizes, mixed shapes, and a box equal to one on the other side."""
    if a and b:
        a[data.draw(st.integers(0, len(a) - 1))] = data.draw(st.sampled_from(b))
    m = score_matrix(a, b)
    assert len(m) == len(a) and all(len(row) == len(b) for row in m)
    flat = pair_scores([sa for sa in a for _ in b], list(b) * len(a))  # at once from 32 pairs on
    for i, sa in enumerate(a):
        for j, sb in enumerate(b):
            want = None if sa is None or sb is None else shape_score(sa, sb)
            for got in (m[i][j], flat[i * len(b) + j]):
                assert (got == NO_SCORE and want is None) or got == want or (math.isnan(got) and math.isnan(want)), \
                    (sa, sb, got, want)
