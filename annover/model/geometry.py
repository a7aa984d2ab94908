"""The geometry of Label Studio regions: what shape a result value has, and how much two overlap.

One module for the diff's region matching and its wording alike. A value is a shape when
it has the keys of one (numbers, not booleans):

- an axis-aligned box ``x, y, width, height`` (``rotation`` 0 or absent), kept as
  ``(x, y, width, height)``; a rotated one becomes the polygon of its corners, rotated
  about the top-left corner in pixels as Label Studio draws it (the image's width / height,
  from the region's ``original_width`` and ``original_height``, shapes it);
- an ellipse ``x, y, radiusX, radiusY`` (a 32-gon), a polygon ``points`` (three or more);
- a span ``start, end`` (or ``globalOffsets``);
- a point ``x, y`` with neither ``height`` nor ``radiusX`` nor ``points`` (a keypoint: its
  ``width`` is the radius of the dot drawn, no size of the point).

Areas compare by IoU, computed exactly with shapely for polygons, ellipses and rotated
boxes; spans by overlap, the shared length over the shorter span; points by a similarity
of their distance ``d``, in percent of the image's diagonal (from the image's size where
the region gives it): ``exp(-ln 2 * (d / POINT_HALF)**2)``, 1 at the same spot and 0.5 at
:data:`POINT_HALF` percent apart, the form of COCO's object keypoint similarity without a
per-object scale (Label Studio keypoints belong to no object).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from annover._lazy import lazy

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import shapely
else:
    np = lazy("numpy")
    shapely = lazy("shapely")

AREA = "area"
SPAN = "span"
POINT = "point"
BOX, POLYGON, ELLIPSE = "box", "polygon", "ellipse"
#: Two points this many percent of the image's diagonal apart have a similarity of 0.5 (see the module).
POINT_HALF = 2.0
#: Keys of a value that one of the shapes reads (a value without any of them is no shape).
SHAPE_KEYS = ("x", "points", "start", "globalOffsets")
#: Vertices of the polygon an ellipse is taken as.
ELLIPSE_VERTICES = 32

Point = tuple[float, float]


class Shape(NamedTuple):
    """``family`` (area, span or point), ``form`` (box, polygon, ellipse, span or point) and the
    geometry: ``(x, y, w, h)`` of an axis-aligned box, a list of points, ``(start, end)``, or a
    point's ``(u, v)``: percent of the image's diagonal (see :func:`_point`)."""

    family: str
    form: str
    geom: Any

    @property
    def axis_box(self) -> bool:
        return self.form == BOX and not isinstance(self.geom[0], tuple)


def _num(v: Any) -> bool:
    t = type(v)
    return t is int or (t is float and math.isfinite(v))


def rect_polygon(x: float, y: float, w: float, h: float, rot: float, aspect: float = 1.0) -> list[Point]:
    """Corners of a Label Studio rectangle rotated by ``rot`` degrees about its top-left corner.

    Label Studio turns the box in pixels, while ``x, width`` are percent of the image's width and
    ``y, height`` of its height: on an image ``aspect`` (width / height) times as wide as high, a
    turned side's run across is ``1 / aspect`` of its percent and its rise ``aspect`` times it.
    The corners stay in percent units (an affine map of the pixels, so IoU is the same)."""
    c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    ws, hs = w * s * aspect, h * s / aspect
    return [(x, y), (x + w * c, y + ws), (x + w * c - hs, y + ws + h * c), (x - hs, y + h * c)]


def _ellipse(v: dict, aspect: float = 1.0) -> list[Point]:
    """The polygon of an ellipse turned (in pixels, as :func:`rect_polygon`) about its centre."""
    rot = math.radians(v.get("rotation") or 0) if _num(v.get("rotation") or 0) else 0.0
    c, s = math.cos(rot), math.sin(rot)
    pts = []
    for i in range(ELLIPSE_VERTICES):
        t = 2 * math.pi * i / ELLIPSE_VERTICES
        ex, ey = v["radiusX"] * math.cos(t), v["radiusY"] * math.sin(t)
        pts.append((v["x"] + ex * c - ey * s / aspect, v["y"] + ex * s * aspect + ey * c))
    return pts


def _point(x: float, y: float, aspect: float) -> Point:
    """A point at ``x`` percent of the image's width and ``y`` of its height, in percent of its
    diagonal on both axes (``aspect``: width / height), so that distances are in those units."""
    diagonal = math.hypot(aspect, 1.0)
    return (x * aspect / diagonal, y / diagonal)


def is_point(value: Any) -> bool:
    """Whether a result value is a point (a keypoint's ``x, y``: see the module)."""
    return (isinstance(value, dict) and not ("height" in value or "radiusX" in value or "points" in value)
            and _num(value.get("x")) and _num(value.get("y")))


def turned(value: Any) -> bool:
    """Whether a result value is turned (a ``rotation`` that is not a whole turn): its shape
    then depends on the image's :func:`aspect_of`."""
    rot = value.get("rotation") if isinstance(value, dict) else None
    return _num(rot) and bool(rot % 360)


def aspect_of(region: Any) -> float:
    """Width / height of the image a region is on, from Label Studio's ``original_width`` and
    ``original_height`` beside its value (annover's ``region`` column); 1.0 where they are
    missing or no size (a square image is the only guess that turns nothing out of shape)."""
    if not isinstance(region, dict):
        return 1.0
    w, h = region.get("original_width"), region.get("original_height")
    return w / h if _num(w) and _num(h) and w > 0 and h > 0 else 1.0


def shape_of(value: Any, aspect: float = 1.0) -> Shape | None:
    """The shape of a result value (a parsed JSON object), or None; ``aspect``: the image's
    width / height (:func:`aspect_of`), which shapes a turned box or ellipse."""
    if not isinstance(value, dict):
        return None
    v = value
    if "x" in v and _num(v["x"]) and _num(v.get("y")) and _num(v.get("width")) and _num(v.get("height")):
        rot = v.get("rotation") or 0
        if _num(rot) and rot % 360:
            return Shape(AREA, BOX, rect_polygon(v["x"], v["y"], v["width"], v["height"], rot, aspect))
        return Shape(AREA, BOX, (float(v["x"]), float(v["y"]), float(v["width"]), float(v["height"])))
    if "radiusX" in v and _num(v.get("x")) and _num(v.get("y")) and _num(v["radiusX"]) and _num(v.get("radiusY")):
        return Shape(AREA, ELLIPSE, _ellipse(v, aspect))
    pts = v.get("points")
    if isinstance(pts, list) and len(pts) >= 3 and all(
            isinstance(p, (list, tuple)) and len(p) >= 2 and _num(p[0]) and _num(p[1]) for p in pts):
        return Shape(AREA, POLYGON, [(float(p[0]), float(p[1])) for p in pts])
    if _num(v.get("start")) and _num(v.get("end")):
        return Shape(SPAN, SPAN, (float(v["start"]), float(v["end"])))
    g = v.get("globalOffsets")
    if isinstance(g, dict) and _num(g.get("start")) and _num(g.get("end")):
        return Shape(SPAN, SPAN, (float(g["start"]), float(g["end"])))
    if is_point(v):
        return Shape(POINT, POINT, _point(float(v["x"]), float(v["y"]), aspect))
    return None


def shape_on(value: Any, region: str | None) -> Shape | None:
    """:func:`shape_of` a value on the image its region's other fields name (``region``: their
    JSON text, annover's ``region`` column; read only where the value is :func:`turned` or a
    point; a text that is not a JSON object names no size)."""
    sized = region and (turned(value) or is_point(value))
    return shape_of(value, aspect_of(_json_or_none(region)) if sized else 1.0)


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def box_iou(a: tuple, b: tuple) -> float:
    """IoU of two axis-aligned boxes ``(x, y, width, height)``."""
    ax0, ay0, ax1, ay1 = min(a[0], a[0] + a[2]), min(a[1], a[1] + a[3]), max(a[0], a[0] + a[2]), max(a[1], a[1] + a[3])
    bx0, by0, bx1, by1 = min(b[0], b[0] + b[2]), min(b[1], b[1] + b[3]), max(b[0], b[0] + b[2]), max(b[1], b[1] + b[3])
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    if union <= 0:
        return 1.0 if tuple(a) == tuple(b) else 0.0
    return inter / union


def span_overlap(a: tuple, b: tuple) -> float:
    """Shared length over the length of the shorter span (1.0 when one contains the other)."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    shorter = min(a[1] - a[0], b[1] - b[0])
    if shorter <= 0:  # an empty span overlaps a span it lies in
        return 1.0 if inter >= 0 else 0.0
    return max(0.0, inter) / shorter


def _polygon(points: list[Point]) -> Any:
    poly = shapely.Polygon(points)
    return poly if poly.is_valid else shapely.make_valid(poly)


def polygon_iou(p: list[Point], q: list[Point]) -> float:
    """Exact IoU of two polygons (self-intersecting ones made valid first). Polygons beyond
    what the geometry can compute (corners or areas past the range of a double: a box
    millions of light years wide) count as the same or not, like empty ones."""
    degenerate = 1.0 if p == q else 0.0
    if not all(math.isfinite(c) for pt in (*p, *q) for c in pt):
        return degenerate
    try:
        gp, gq = _polygon(p), _polygon(q)
        if not (0 < gp.area < math.inf and 0 < gq.area < math.inf):
            return degenerate
        inter = gp.intersection(gq).area
    except shapely.errors.GEOSException:  # a topology the library cannot settle at such magnitudes
        return degenerate
    union = gp.area + gq.area - inter
    iou = inter / union if union > 0 else 0.0
    return max(0.0, min(1.0, iou)) if math.isfinite(iou) else degenerate


def as_polygon(s: Shape) -> list[Point]:
    """The points of an area (an axis-aligned box as its four corners)."""
    if s.axis_box:
        x, y, w, h = s.geom
        return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    return s.geom


def point_distance(sa: Shape, sb: Shape) -> float:
    """The distance of two points, in percent of the image's diagonal."""
    return math.hypot(sa.geom[0] - sb.geom[0], sa.geom[1] - sb.geom[1])


def shape_score(sa: Shape, sb: Shape) -> float | None:
    """IoU of two areas, overlap of two spans or similarity of two points (see the module), rounded
    to 6 places; None when they are not comparable."""
    if sa.family != sb.family:
        return None
    if sa.family == POINT:
        s = math.exp(-math.log(2) * (point_distance(sa, sb) / POINT_HALF) ** 2)
    elif sa.family == SPAN:
        s = span_overlap(sa.geom, sb.geom)
    elif sa.axis_box and sb.axis_box:
        s = box_iou(sa.geom, sb.geom)
    else:
        pa_, pb_ = as_polygon(sa), as_polygon(sb)
        if (pb_, pa_) < (pa_, pb_):  # the same float rounding whichever side is which
            pa_, pb_ = pb_, pa_
        s = polygon_iou(pa_, pb_)
    return round(s, 6)


#: :func:`score_matrix`'s score of two shapes that are not comparable (or a missing shape)
NO_SCORE = -1.0


def _box_ious(a: "np.ndarray", b: "np.ndarray") -> "np.ndarray":
    """:func:`box_iou` of the boxes ``(x, y, w, h)`` (the last axis) of ``a`` and ``b`` (broadcast),
    unrounded: the same operations in the same order on doubles, so the same numbers (a NaN only
    ever comes of corners past the range of a double, as it does there)."""
    def corners(g: "np.ndarray") -> tuple:
        far = g[..., :2] + g[..., 2:]
        lo, hi = np.minimum(g[..., :2], far), np.maximum(g[..., :2], far)
        size = hi - lo
        return lo, hi, size[..., 0] * size[..., 1]
    (alo, ahi, aarea), (blo, bhi, barea) = corners(a), corners(b)
    side = np.maximum(np.minimum(ahi, bhi) - np.maximum(alo, blo), 0.0)
    inter = side[..., 0] * side[..., 1]
    union = aarea + barea - inter
    empty = union <= 0
    out = inter / np.where(empty, 1.0, union)
    if empty.any():  # no area: the same box or not
        out[empty] = (a == b).all(axis=-1)[empty]
    return out


def _span_overlaps(a: "np.ndarray", b: "np.ndarray") -> "np.ndarray":
    """:func:`span_overlap` of the spans ``(start, end)`` (the last axis) of ``a`` and ``b`` (broadcast), unrounded."""
    inter = np.minimum(a[..., 1], b[..., 1]) - np.maximum(a[..., 0], b[..., 0])
    shorter = np.minimum(a[..., 1] - a[..., 0], b[..., 1] - b[..., 0])
    empty = shorter <= 0  # an empty span overlaps a span it lies in
    out = np.maximum(inter, 0.0) / np.where(empty, 1.0, shorter)
    if empty.any():
        out[empty] = inter[empty] >= 0
    return out


def box_bounds(s: "Shape | None") -> tuple[float, float, float, float] | None:
    """An axis-aligned box's corners ``(x0, y0, x1, y1)``, where they are within the range of a
    double (None for other shapes and for such boxes: no quick test, see :func:`bounds_apart`)."""
    if s is None or not s.axis_box:
        return None
    x, y, w, h = s.geom
    x1, y1 = x + w, y + h
    if not (math.isfinite(x1) and math.isfinite(y1)):
        return None
    (x0, x1), (y0, y1) = (x1, x) if w < 0 else (x, x1), (y1, y) if h < 0 else (y, y1)
    return x0, y0, x1, y1


def bounds_apart(a: tuple | None, b: tuple | None) -> bool:
    """Two boxes (:func:`box_bounds`) that share no area: their IoU is 0, so no need to compute it."""
    return a is not None and b is not None and a != b and (
        a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])


#: Below this many pairs :func:`pair_scores` scores pair by pair (numpy's cost per call is more)
SMALL = 32
#: What :func:`pair_scores` scores at once with numpy (:func:`_kind` 0 and 1): pairs of axis-aligned boxes, of spans
_AT_ONCE = (_box_ious, _span_overlaps)


def _kind(s: "Shape | None") -> int:
    """Which of :data:`_AT_ONCE` scores a shape with its like: 0 an axis-aligned box, 1 a span;
    2 none (scored pair by pair); -1 no shape."""
    return -1 if s is None else 0 if s.axis_box else 1 if s.family == SPAN else 2


def pair_scores(a: Sequence["Shape | None"], b: Sequence["Shape | None"]) -> list[float]:
    """:func:`shape_score` of each pair ``(a[k], b[k])``, the same numbers (rounded as it rounds),
    :data:`NO_SCORE` where it gives None or a shape is None. Pairs of axis-aligned boxes and of
    spans are scored at once with numpy; other pairs (polygons, turned boxes, ellipses, points),
    and all of fewer than :data:`SMALL` pairs, one by one (boxes that are apart, :func:`bounds_apart`:
    0 without computing it)."""
    if len(a) < SMALL:
        bounds = {k: box_bounds(s) for k, s in {id(s): s for s in (*a, *b)}.items()}  # once a shape
        return [NO_SCORE if sa is None or sb is None else 0.0 if bounds_apart(bounds[id(sa)], bounds[id(sb)])
                else _or_none(shape_score(sa, sb)) for sa, sb in zip(a, b)]
    kinds = {id(s): _kind(s) for s in (*a, *b)}
    ka, kb = np.array([kinds[id(s)] for s in a], int), np.array([kinds[id(s)] for s in b], int)
    out = np.full(len(a), NO_SCORE)
    for k, scores in enumerate(_AT_ONCE):
        if len(at := np.flatnonzero((ka == k) & (kb == k)).tolist()):
            out[at] = _rounded(scores, np.array([a[x].geom for x in at], float),
                               np.array([b[x].geom for x in at], float))
    for x in np.flatnonzero((ka >= 0) & (kb >= 0) & ((ka != kb) | (ka >= len(_AT_ONCE)))).tolist():
        out[x] = _or_none(shape_score(a[x], b[x]))
    return out.tolist()


def _rounded(scores: Any, a: "np.ndarray", b: "np.ndarray") -> "np.ndarray":
    """``scores(a, b)``, rounded to 6 places as Python's round rounds (numpy's may differ in the last place)."""
    with np.errstate(all="ignore"):
        raw = scores(a, b)
    nonzero = np.flatnonzero(raw != 0)
    raw.flat[nonzero] = [round(v, 6) for v in raw.flat[nonzero].tolist()]
    return raw


def score_matrix(a: Sequence["Shape | None"], b: Sequence["Shape | None"]) -> list[list[float]]:
    """:func:`pair_scores` of every ``(a[i], b[j])``, as ``len(a)`` rows of ``len(b)`` (boxes and
    spans from one array of each side's shapes)."""
    if len(a) * len(b) < SMALL:
        ba, bb = [box_bounds(s) for s in a], [box_bounds(s) for s in b]
        return [[NO_SCORE if sa is None or sb is None else 0.0 if bounds_apart(ba[i], bb[j])
                 else _or_none(shape_score(sa, sb)) for j, sb in enumerate(b)] for i, sa in enumerate(a)]
    out = np.full((len(a), len(b)), NO_SCORE)
    of_a: dict[int, list[int]] = {}
    of_b: dict[int, list[int]] = {}
    for shapes, of in ((a, of_a), (b, of_b)):
        for i, s in enumerate(shapes):
            of.setdefault(_kind(s), []).append(i)
    for k, scores in enumerate(_AT_ONCE):
        if (ia := of_a.get(k)) and (jb := of_b.get(k)):
            out[np.ix_(ia, jb)] = _rounded(scores, np.array([a[i].geom for i in ia], float)[:, None],
                                           np.array([b[j].geom for j in jb], float)[None])
    for ka, ia in of_a.items():  # the rest pair by pair
        jb = [j for kb, js in of_b.items() if ka >= 0 and kb >= 0 and (kb != ka or kb >= len(_AT_ONCE)) for j in js]
        for i in ia:
            for j in jb:
                out[i, j] = _or_none(shape_score(a[i], b[j]))
    return out.tolist()


def _or_none(s: float | None) -> float:
    return NO_SCORE if s is None else s


__all__ = ["AREA", "SPAN", "POINT", "POINT_HALF", "BOX", "POLYGON", "ELLIPSE", "SHAPE_KEYS", "Shape", "shape_of",
           "box_iou", "span_overlap", "polygon_iou", "as_polygon", "shape_score", "score_matrix", "pair_scores",
           "NO_SCORE", "box_bounds", "bounds_apart", "point_distance", "rect_polygon", "is_point"]
