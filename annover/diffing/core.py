"""What changed between two versions: tasks, answers, regions, config, predictions, source data.

Two layers. The pure layer (:func:`diff_tables`) compares the canonical tables of two
sides and returns data, never text: a summary (plain dict, the ``--json`` document) and a
row-level table (one row per changed task, annotation row or prediction row). The entry
point :func:`diff` resolves two revisions of a repository and reads only what differs:
tables whose snapshot ids are equal are not read at all, and of the others only the
Parquet parts that the two versions do not share.

Skipping shared parts is exact because parts end at task boundaries (see
:func:`annover.model.canonical.part_bounds`): all rows of one task are in one part, so a part
both versions hold contains whole tasks that are the same on both sides.

Rows are matched by their keys ``(task_key, annotation_key, region_key)``. Within an
answer present on both sides, the regions left over are matched by shape: boxes and
polygons by IoU, spans by overlap (the shared length over the shorter span), other
results of one control one to one. So a moved box whose region key is a content hash is
one changed region, not a removal plus an addition.

SQL runs in DuckDB, over Arrow tables or straight over the (verified) Parquet parts.
Parts store a hash per task (:data:`annover.store.snapshots.TASK_HASH`): when both sides' are
comparable, one join of those hashes (one row per task) finds the tasks that differ, and
only their rows are read. Otherwise, answers: one full outer join on the task key and a
64-bit hash of the keys and the content, in which one side streams its whole rows and
the other brings only those two; then one more read of that side's rows of the tasks
touched. Either way the result is A's rows that differ and B's rows of the touched
tasks, which tell what each touched answer holds on both sides. The summary is counted
from these in SQL and Arrow, so that Python sees only the few rows left to match by
shape. Tasks are compared by the same stored hash, else by a plain join. Window
functions give the label each task resolves to (transitions, prediction agreement).
Row descriptions ("cat -> dog", "box moved, IoU 0.82") are written only when the rows
are asked for, a column at a time (:mod:`annover.diffing.rowdesc`).
"""

from __future__ import annotations

import gc
import json
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from annover.model import canonical as C
from annover.store.duck import fetch as _fetch

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from annover.repo import Repo

SCHEMA = "annover.diff/1"
POLICIES = ("latest", "majority", "ground-truth")
#: The default resolution policy of ``--transitions`` and of prediction agreement: a
#: ground-truth answer wins; otherwise (and among several ground truths) the majority;
#: ties go to the latest answer.
DEFAULT_POLICY = "ground-truth"
DEFAULT_IOU = 0.5
DEFAULT_OVERLAP = 0.5
NO_LABEL = "(none)"
NO_TASK = "(no task)"

#: Kinds of change a row can carry, by what they are about.
TASK_KINDS = ("data", "data_hash", "attrs")
REGION_KINDS = ("relabel", "geometry", "value", "control", "to_name", "type", "region")
ANSWER_KINDS = ("skip", "ground_truth", "annotator", "lead_time", "score", "model_version", "attrs")

_ROW_COLUMNS = [
    ("table", "string"), ("change", "string"), ("task_key", "string"), ("answer_key", "string"),
    ("region_key_a", "string"), ("region_key_b", "string"), ("annotator", "string"),
    ("model_version", "string"), ("from_name", "string"), ("type", "string"), ("match", "string"),
    ("score", "float64"), ("kinds", "list<string>"), ("labels_a", "list<string>"), ("labels_b", "list<string>"),
    ("value_a", "string"), ("value_b", "string"), ("description", "string"),
]
ROW_FIELDS = [c[0] for c in _ROW_COLUMNS]
_TABLE_ORDER = {"tasks": 0, "annotations": 1, "predictions": 2}


def row_schema() -> "pa.Schema":
    """Arrow schema of the row-level diff (``DiffResult.rows``, ``--output``)."""
    import pyarrow as pa

    return pa.schema([pa.field(n, C.arrow_type(t)) for n, t in _ROW_COLUMNS])


# ---------------------------------------------------------------------------
# options and results


@dataclass(frozen=True)
class Options:
    iou_threshold: float = DEFAULT_IOU
    overlap_threshold: float = DEFAULT_OVERLAP
    policy: str = DEFAULT_POLICY
    transitions: bool = False

    def check(self) -> "Options":
        from annover.errors import UsageError

        for name in ("iou_threshold", "overlap_threshold"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise UsageError(f"{name.replace('_', ' ')} {v!r} is not between 0 and 1",
                                 "give a number such as 0.5")
        if self.policy not in POLICIES:
            raise UsageError(f"unknown policy {self.policy!r}", f"use one of {', '.join(POLICIES)}")
        return self

    def to_json(self) -> dict:
        return {"iou_threshold": self.iou_threshold, "overlap_threshold": self.overlap_threshold,
                "policy": self.policy}


class DiffResult:
    """The diff of two versions: ``summary`` (plain data), ``rows`` (Arrow), ``transitions``.

    The row table, with its descriptions, is built when first asked for.
    """

    def __init__(self, summary: dict, rows: "pa.Table | Callable[[], pa.Table]",
                 transitions: dict | None = None) -> None:
        self.summary = summary
        self._rows = rows
        self.transitions = transitions

    @property
    def rows(self) -> "pa.Table":
        if callable(self._rows):
            self._rows = self._rows()
        return self._rows

    @property
    def identical(self) -> bool:
        return bool(self.summary["identical"])

    def __bool__(self) -> bool:  # truthy when there are differences, like a non-empty diff
        return not self.identical

    def rows_json(self, limit: int | None = None) -> list[dict]:
        t = self.rows if limit is None else self.rows.slice(0, limit)
        return t.to_pylist()

    def write_parquet(self, path: str) -> None:
        """Write the row-level diff to ``path`` (a temporary file renamed into place)."""
        import os
        from pathlib import Path

        import pyarrow.parquet as pq

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        try:
            pq.write_table(self.rows, tmp, compression="zstd")
            os.replace(tmp, p)
        finally:
            tmp.unlink(missing_ok=True)

    def to_json(self, rows: bool = False, limit: int | None = None) -> dict:
        """The ``--json`` document (``schemas/diff.schema.json``)."""
        out = dict(self.summary)
        out["transitions"] = self.transitions
        if rows:
            items = self.rows_json(limit)
            out["rows"] = {"total": self.rows.num_rows, "shown": len(items), "items": items}
        else:
            out["rows"] = None
        return out


@dataclass
class Side:
    """One side of a pure diff: canonical tables (conformed, key-sorted) and what goes with them."""

    tasks: "pa.Table"
    annotations: "pa.Table"
    predictions: dict[str, "pa.Table"] = field(default_factory=dict)
    config: str | None = None
    #: source data as {relpath: sha256}, or None when the side links none
    source: dict[str, str] | None = None
    stats: dict | None = None
    id: str | None = None
    rev: str | None = None


# ---------------------------------------------------------------------------
# table sources: an Arrow table or Parquet part files, registered in DuckDB


@dataclass(frozen=True)
class Source:
    """Rows of one canonical table: an Arrow table, or Parquet files (verified as they are read).

    Registered in DuckDB as a view (or an Arrow table) under a given name.
    """

    name: str
    table: Any = None
    paths: tuple[str, ...] = ()
    #: the parts carry stored task hashes comparable with the other side's (see
    #: :data:`annover.store.snapshots.TASK_HASH`): the diff reads the task key and the hash first
    hashed: bool = False

    def register(self, con: Any, alias: str) -> str:
        if self.paths:
            files = ", ".join("'" + p.replace("'", "''") + "'" for p in self.paths)
            con.execute(f"CREATE OR REPLACE TEMP VIEW {alias} AS SELECT * FROM read_parquet([{files}])")
            return alias
        empty = C.schema(self.name).empty_table()
        if self.hashed:
            import pyarrow as pa

            from annover.store.snapshots import TASK_HASH

            empty = empty.append_column(TASK_HASH, pa.array([], pa.uint64()))
        con.register(alias, self.table if self.table is not None else empty)
        return alias


#: The result (region) columns of a row, the same in both answers tables.
_RESULT_COLS = ("from_name", "to_name", "type", "labels", "value", "region")


@dataclass
class _Spec:
    """What differs between the annotations and the predictions tables."""

    table: str
    answer_key: str
    answer_cols: tuple[str, ...]
    region_cols: tuple[str, ...] = _RESULT_COLS

    @property
    def cols(self) -> tuple[str, ...]:
        return self.answer_cols + self.region_cols


_ANN = _Spec("annotations", "annotation_key", ("annotator", "was_cancelled", "ground_truth", "lead_time", "extra"))
_PRED = _Spec("predictions", "prediction_key", ("model_version", "score", "extra"))


# ---------------------------------------------------------------------------
# geometry: boxes, polygons, spans


def _num(v: Any) -> bool:
    t = type(v)
    return t is int or (t is float and math.isfinite(v))


def _rect_polygon(x: float, y: float, w: float, h: float, rot: float) -> list[tuple[float, float]]:
    """Corners of a Label Studio rectangle rotated by ``rot`` degrees about its top-left corner."""
    c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    return [(x, y), (x + w * c, y + w * s), (x + w * c - h * s, y + w * s + h * c), (x - h * s, y + h * c)]


def shape_of(value: dict | None) -> tuple[str, str, Any] | None:
    """(family, form, geometry) of a result value: ("area", "box"|"polygon"|"ellipse", ...) or ("span", "span", (start, end))."""
    if not isinstance(value, dict):
        return None
    v = value
    if "x" in v and _num(v["x"]) and _num(v.get("y")) and _num(v.get("width")) and _num(v.get("height")):
        rot = v.get("rotation") or 0
        if _num(rot) and rot % 360:
            return ("area", "box", _rect_polygon(v["x"], v["y"], v["width"], v["height"], rot))
        return ("area", "box", (float(v["x"]), float(v["y"]), float(v["width"]), float(v["height"])))
    if "radiusX" in v and _num(v.get("x")) and _num(v.get("y")) and _num(v["radiusX"]) and _num(v.get("radiusY")):
        rot = math.radians(v.get("rotation") or 0) if _num(v.get("rotation") or 0) else 0.0
        pts = []
        for i in range(32):
            t = 2 * math.pi * i / 32
            ex, ey = v["radiusX"] * math.cos(t), v["radiusY"] * math.sin(t)
            pts.append((v["x"] + ex * math.cos(rot) - ey * math.sin(rot), v["y"] + ex * math.sin(rot) + ey * math.cos(rot)))
        return ("area", "ellipse", pts)
    pts = v.get("points")
    if isinstance(pts, list) and len(pts) >= 3 and all(
            isinstance(p, (list, tuple)) and len(p) >= 2 and _num(p[0]) and _num(p[1]) for p in pts):
        return ("area", "polygon", [(float(p[0]), float(p[1])) for p in pts])
    if _num(v.get("start")) and _num(v.get("end")):
        return ("span", "span", (float(v["start"]), float(v["end"])))
    g = v.get("globalOffsets")
    if isinstance(g, dict) and _num(g.get("start")) and _num(g.get("end")):
        return ("span", "span", (float(g["start"]), float(g["end"])))
    return None


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """IoU of two axis-aligned boxes (x, y, width, height)."""
    ax0, ay0, ax1, ay1 = min(a[0], a[0] + a[2]), min(a[1], a[1] + a[3]), max(a[0], a[0] + a[2]), max(a[1], a[1] + a[3])
    bx0, by0, bx1, by1 = min(b[0], b[0] + b[2]), min(b[1], b[1] + b[3]), max(b[0], b[0] + b[2]), max(b[1], b[1] + b[3])
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = iw * ih
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    if union <= 0:
        return 1.0 if a == b else 0.0
    return inter / union


def _area(p: list[tuple[float, float]]) -> float:
    return abs(_signed_area(p))


def _signed_area(p: list[tuple[float, float]]) -> float:
    """Shoelace formula: positive for counter-clockwise vertices."""
    return 0.5 * sum(p[i - 1][0] * p[i][1] - p[i][0] * p[i - 1][1] for i in range(len(p)))


def _convex(p: list[tuple[float, float]]) -> bool:
    sign = 0
    n = len(p)
    for i in range(n):
        (x0, y0), (x1, y1), (x2, y2) = p[i], p[(i + 1) % n], p[(i + 2) % n]
        cross = (x1 - x0) * (y2 - y1) - (y1 - y0) * (x2 - x1)
        if abs(cross) > 1e-12:
            s = 1 if cross > 0 else -1
            if sign and s != sign:
                return False
            sign = s
    return True


def _clip(subject: list[tuple[float, float]], clip: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sutherland-Hodgman: ``subject`` clipped by the convex polygon ``clip``."""
    if _signed_area(clip) < 0:
        clip = clip[::-1]
    out = list(subject)
    for i in range(len(clip)):
        if not out:
            break
        (cx0, cy0), (cx1, cy1) = clip[i - 1], clip[i]

        def inside(p: tuple[float, float]) -> bool:
            return (cx1 - cx0) * (p[1] - cy0) - (cy1 - cy0) * (p[0] - cx0) >= 0

        def cut(p: tuple[float, float], q: tuple[float, float]) -> tuple[float, float]:
            dx, dy = q[0] - p[0], q[1] - p[1]
            ex, ey = cx1 - cx0, cy1 - cy0
            den = dx * ey - dy * ex
            if den == 0:
                return q
            t = ((cx0 - p[0]) * ey - (cy0 - p[1]) * ex) / den
            return (p[0] + t * dx, p[1] + t * dy)

        inp, out = out, []
        for j in range(len(inp)):
            cur, prev = inp[j], inp[j - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(cut(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cut(prev, cur))
    return out


def _sampled_iou(p: list[tuple[float, float]], q: list[tuple[float, float]], n: int = 256) -> float:
    import numpy as np

    xs = [x for x, _ in p + q]
    ys = [y for _, y in p + q]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    gx, gy = np.meshgrid(np.linspace(x0, x1, n, endpoint=False) + (x1 - x0) / (2 * n),
                         np.linspace(y0, y1, n, endpoint=False) + (y1 - y0) / (2 * n))

    def inside(poly: list[tuple[float, float]]):
        res = np.zeros(gx.shape, dtype=bool)
        for i in range(len(poly)):
            (xa, ya), (xb, yb) = poly[i - 1], poly[i]
            cond = (ya > gy) != (yb > gy)
            with np.errstate(divide="ignore", invalid="ignore"):
                xint = xa + (gy - ya) * (xb - xa) / (yb - ya)
            res ^= cond & (gx < xint)
        return res

    ip, iq = inside(p), inside(q)
    union = np.count_nonzero(ip | iq)
    return float(np.count_nonzero(ip & iq) / union) if union else 0.0


def polygon_iou(p: list[tuple[float, float]], q: list[tuple[float, float]]) -> float:
    """IoU of two simple polygons: exact when one is convex, sampled on a grid otherwise."""
    ap, aq = _area(p), _area(q)
    if ap <= 0 or aq <= 0:
        return 1.0 if p == q else 0.0
    if _convex(q):
        inter = _area(_clip(p, q))
    elif _convex(p):
        inter = _area(_clip(q, p))
    else:
        return _sampled_iou(p, q)
    return max(0.0, min(1.0, inter / (ap + aq - inter)))


def span_overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Shared length over the length of the shorter span (1.0 when one contains the other)."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    shorter = min(a[1] - a[0], b[1] - b[0])
    if shorter <= 0:  # an empty span overlaps a span it lies in
        return 1.0 if inter >= 0 else 0.0
    return max(0.0, inter) / shorter


def _as_polygon(form: str, geom: Any) -> list[tuple[float, float]]:
    if form == "box" and len(geom) == 4 and not isinstance(geom[0], tuple):
        x, y, w, h = geom
        return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    return geom


def shape_score(sa: tuple[str, str, Any], sb: tuple[str, str, Any]) -> float | None:
    """IoU of two areas or overlap of two spans; None when they are not comparable."""
    if sa[0] != sb[0]:
        return None
    if sa[0] == "span":
        s = span_overlap(sa[2], sb[2])
    elif sa[1] == "box" and sb[1] == "box" and not isinstance(sa[2][0], tuple) and not isinstance(sb[2][0], tuple):
        s = box_iou(sa[2], sb[2])
    else:
        pa_, pb_ = _as_polygon(sa[1], sa[2]), _as_polygon(sb[1], sb[2])
        if (pb_, pa_) < (pa_, pb_):  # same float rounding whichever side is which
            pa_, pb_ = pb_, pa_
        s = polygon_iou(pa_, pb_)
    return round(s, 6)


# ---------------------------------------------------------------------------
# describing one change


def _loads(s: str | None) -> Any:
    return None if s is None else json.loads(s)


_LABEL_KEYS_CACHE: list[frozenset[str]] = []


def _label_keys() -> frozenset[str]:
    """Keys of a result value that hold its labels (as the Label Studio reader defines them)."""
    if not _LABEL_KEYS_CACHE:
        from annover.formats.label_studio import _LABEL_KEYS

        _LABEL_KEYS_CACHE.append(frozenset(_LABEL_KEYS))
    return _LABEL_KEYS_CACHE[0]


def fmt_labels(labels: list[str] | None) -> str:
    return ", ".join(labels) if labels else NO_LABEL


def _short(v: Any, n: int = 40) -> str:
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True)
    return s if len(s) <= n else s[: n - 3] + "..."


def _num_s(v: Any) -> str:
    return "-" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def _geometry_change(sa: tuple, sb: tuple, va: dict, vb: dict, score: float | None) -> tuple[str, set[str]]:
    """Words for a change of shape, and the value keys they account for."""
    if sa[0] == "span" and sb[0] == "span":
        (a0, a1), (b0, b1) = sa[2], sb[2]
        used = {"start", "end", "text", "globalOffsets", "startOffset", "endOffset"}
        if (a0, a1) == (b0, b1):
            return ("span text changed" if va.get("text") != vb.get("text") else ""), used
        if b0 <= a0 and b1 >= a1:
            word = "span widened"
        elif b0 >= a0 and b1 <= a1:
            word = "span narrowed"
        else:
            word = "span moved"
        return f"{word} {_num_s(_int_if(a0))}-{_num_s(_int_if(a1))} -> {_num_s(_int_if(b0))}-{_num_s(_int_if(b1))}", used
    form = sb[1] if sa[1] == sb[1] else f"{sa[1]} -> {sb[1]}"
    iou = f", IoU {score:.2f}" if score is not None else ""
    if sa[1] in ("box", "ellipse") and sb[1] == sa[1]:
        pos = ("x", "y")
        size = ("width", "height") if sa[1] == "box" else ("radiusX", "radiusY")
        moves = []
        if any(va.get(k) != vb.get(k) for k in pos):
            moves.append("moved")
        if any(va.get(k) != vb.get(k) for k in size):
            moves.append("resized")
        if (va.get("rotation") or 0) != (vb.get("rotation") or 0):
            moves.append("rotated")
        used = {*pos, *size, "rotation"}
        if not moves:
            return "", used
        words = moves[0] if len(moves) == 1 else ", ".join(moves[:-1]) + " and " + moves[-1]
        return f"{form} {words}{iou}", used
    if sa[1] == "polygon" and sb[1] == "polygon":
        pa_, pb_ = sa[2], sb[2]
        if pa_ == pb_:
            return "", {"points"}
        if len(pa_) == len(pb_):
            d = {(round(q[0] - p[0], 9), round(q[1] - p[1], 9)) for p, q in zip(pa_, pb_)}
            if len(d) == 1:
                return f"polygon moved{iou}", {"points"}
        return f"polygon changed{iou}", {"points"}
    return f"{form} changed{iou}", {"x", "y", "width", "height", "rotation", "points", "radiusX", "radiusY"}


def _int_if(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


class _Row:
    """One side of one annotation/prediction row (what the comparison needs)."""

    __slots__ = ("region_key", "data", "_value", "_shape")

    def __init__(self, region_key: str, data: dict) -> None:
        self.region_key = region_key
        self.data = data  # column -> value (content columns of the spec)
        self._value: Any = _UNSET
        self._shape: Any = _UNSET

    def value(self) -> Any:
        if self._value is _UNSET:
            self._value = _loads(self.data["value"])
        return self._value

    def shape(self) -> tuple[str, str, Any] | None:
        if self._shape is _UNSET:
            text = self.data["value"]
            # shape_of needs one of these keys; most values (choices, text) have none: no parse
            if text is None or not _SHAPE_KEYS.search(text):
                self._shape = None
            else:
                self._shape = shape_of(self.value())
        return self._shape


_UNSET = object()
_SHAPE_KEYS = re.compile(r'"(?:x|points|start|globalOffsets)":')


def _compare(spec: _Spec, a: _Row, b: _Row, memo: dict | None = None) -> tuple[list[str], str, float | None]:
    """Kinds, description and shape score of a matched pair of rows.

    The result part (labels, value, control...) depends only on the result columns of the
    two rows, so with ``memo`` (one dict for the rows of one table) it is worked out once
    per distinct pair of results: a round of labeling repeats the same flips ("positive ->
    negative") many times. The answer part is cheap and worked out for each pair.
    """
    if memo is None:
        kinds, words, score = _compare_result(a, b)
    else:
        key = _result_key(a, b)
        hit = memo.get(key)
        if hit is None:
            hit = memo[key] = _compare_result(a, b)
        kinds, words, score = hit
    akinds, awords = _compare_answer(spec, a.data, b.data)
    return [*kinds, *akinds], "; ".join([*words, *awords]), score


def _result_key(a: _Row, b: _Row) -> tuple:
    """What :func:`_compare_result` depends on: whether both rows are regions, and their result columns."""
    da, db = a.data, b.data
    la, lb = da["labels"], db["labels"]
    return (a.region_key != "" and b.region_key != "",
            da["from_name"], da["to_name"], da["type"], None if la is None else tuple(la), da["value"], da["region"],
            db["from_name"], db["to_name"], db["type"], None if lb is None else tuple(lb), db["value"], db["region"])


def _compare_result(a: _Row, b: _Row) -> tuple[tuple[str, ...], tuple[str, ...], float | None]:
    """Kinds, words and shape score of what changed in the result columns of a matched pair."""
    da, db = a.data, b.data
    kinds: list[str] = []
    words: list[str] = []
    score: float | None = None
    if a.region_key != "" and b.region_key != "":
        if (da["labels"] or None) != (db["labels"] or None):
            kinds.append("relabel")
            words.append(f"{fmt_labels(da['labels'])} -> {fmt_labels(db['labels'])}")
        va = vb = None
        if da["value"] != db["value"] and not _only_labels_differ(da, db):
            va, vb = a.value(), b.value()
        if va != vb:
            sa, sb = a.shape(), b.shape()
            used: set[str] = set(_label_keys())
            if sa and sb:
                score = shape_score(sa, sb)
                text, gused = _geometry_change(sa, sb, va, vb, score)
                used |= gused
                if text:
                    kinds.append("geometry")
                    words.append(text)
            va_d = va if isinstance(va, dict) else {"value": va}
            vb_d = vb if isinstance(vb, dict) else {"value": vb}
            rest = [k for k in sorted(set(va_d) | set(vb_d)) if k not in used and va_d.get(k) != vb_d.get(k)]
            if rest:
                kinds.append("value")
                words.append("; ".join(f"{k} {_short(va_d.get(k))} -> {_short(vb_d.get(k))}" for k in rest[:3])
                             + ("; ..." if len(rest) > 3 else ""))
            elif "geometry" not in kinds and "relabel" not in kinds:
                kinds.append("value")
                words.append("value changed")
        for col, kind in (("from_name", "control"), ("to_name", "to_name"), ("type", "type")):
            if da[col] != db[col]:
                kinds.append(kind)
                words.append(f"{kind} {da[col]} -> {db[col]}")
        if da["region"] != db["region"]:
            kinds.append("region")
            words.append("region attributes changed")
    elif any(da[c] != db[c] for c in _RESULT_COLS):
        kinds.append("value")
        words.append("result changed")
    return tuple(kinds), tuple(words), score


def _compare_answer(spec: _Spec, da: dict, db: dict) -> tuple[list[str], list[str]]:
    """Kinds and words of what changed in the answer (prediction) columns of a matched pair."""
    kinds: list[str] = []
    words: list[str] = []
    if spec is _ANN:
        if da["was_cancelled"] != db["was_cancelled"]:
            kinds.append("skip")
            words.append("skipped" if db["was_cancelled"] else "unskipped")
        if da["ground_truth"] != db["ground_truth"]:
            kinds.append("ground_truth")
            words.append("ground truth set" if db["ground_truth"] else "ground truth unset")
        if da["annotator"] != db["annotator"]:
            kinds.append("annotator")
            words.append(f"annotator {da['annotator'] or '-'} -> {db['annotator'] or '-'}")
        if not _same_float(da["lead_time"], db["lead_time"]):
            kinds.append("lead_time")
            words.append(f"lead time {_num_s(da['lead_time'])} -> {_num_s(db['lead_time'])}")
    else:
        if not _same_float(da["score"], db["score"]):
            kinds.append("score")
            words.append(f"score {_num_s(da['score'])} -> {_num_s(db['score'])}")
        if da["model_version"] != db["model_version"]:
            kinds.append("model_version")
            words.append(f"model version {da['model_version']} -> {db['model_version']}")
    if da["extra"] != db["extra"]:
        kinds.append("attrs")
        words.append("answer attributes changed" if spec is _ANN else "prediction attributes changed")
    return kinds, words


def _only_labels_differ(da: dict, db: dict) -> bool:
    """Whether two value texts differ only in the one place that holds their labels (no parse)."""
    la, lb, va, vb = da["labels"], db["labels"], da["value"], db["value"]
    if not la or not lb or la == lb or va is None or vb is None:
        return False
    ja, jb = _labels_json(la), _labels_json(lb)
    return va.count(ja) == 1 and va.replace(ja, jb) == vb


def _labels_json(labels: list) -> str:
    """Canonical JSON of a list of labels (plain ``json.dumps`` is canonical for strings)."""
    if all(type(x) is str for x in labels):
        return json.dumps(labels, separators=(",", ":"), ensure_ascii=False)
    return C.canonical_json(labels)


def _same_float(x: float | None, y: float | None) -> bool:
    if x is None or y is None:
        return x is y
    if math.isnan(x) and math.isnan(y):
        return True
    return x == y


def _one_side_description(spec: _Spec, r: _Row, memo: dict | None = None) -> str:
    """The words for a row added or removed: its labels and shape (with ``memo``, a dict for
    the rows of one table, worked out once per distinct row content)."""
    d = r.data
    if memo is not None:
        labels = d["labels"]
        key = (r.region_key == "", spec is _ANN and bool(d.get("was_cancelled")),
               None if labels is None else tuple(labels), d["type"], d["value"])
        text = memo.get(key)
        if text is None:
            text = memo[key] = _one_side_description(spec, r)
        return text
    if r.region_key == "":
        if spec is _ANN and d.get("was_cancelled"):
            return "skipped"
        return "empty answer"
    text = fmt_labels(d["labels"]) if d["labels"] else (d["type"] or "result")
    s = r.shape()
    if s is not None:
        if s[0] == "span":
            text += f", span {_num_s(_int_if(s[2][0]))}-{_num_s(_int_if(s[2][1]))}"
        else:
            text += f", {s[1]}"
    elif not d["labels"] and d["value"] is not None:
        text += f" {_short(r.value())}"
    return text


# ---------------------------------------------------------------------------
# region matching


def match_regions(removed: list[_Row], added: list[_Row], opts: Options, renames: dict[str, str] | None = None
                  ) -> tuple[list[tuple[_Row, _Row, str, float | None]], list[_Row], list[_Row]]:
    """Pair regions of one answer left over after the key join (same control, by shape).

    Boxes and polygons pair by IoU >= ``opts.iou_threshold``, spans by overlap >=
    ``opts.overlap_threshold`` (best pairs first); other results pair when the control
    has exactly one left on each side. ``renames`` maps side-A control names to side B's.
    Returns (pairs as (a, b, how, score), unmatched a rows, unmatched b rows).
    """
    renames = renames or {}
    groups: dict[Any, tuple[list[_Row], list[_Row]]] = {}
    for r in removed:
        groups.setdefault(renames.get(r.data["from_name"], r.data["from_name"]), ([], []))[0].append(r)
    for r in added:
        groups.setdefault(r.data["from_name"], ([], []))[1].append(r)
    pairs: list[tuple[_Row, _Row, str, float | None]] = []
    rest_a: list[_Row] = []
    rest_b: list[_Row] = []
    for _, (ga, gb) in sorted(groups.items(), key=lambda kv: str(kv[0])):
        if not ga or not gb:
            rest_a += ga
            rest_b += gb
            continue
        shapes_a = [r.shape() for r in ga]
        shapes_b = [r.shape() for r in gb]
        cands = []
        for i, sa in enumerate(shapes_a):
            if sa is None:
                continue
            for j, sb in enumerate(shapes_b):
                if sb is None:
                    continue
                s = shape_score(sa, sb)
                if s is None or s <= 0:
                    continue
                need = opts.overlap_threshold if sa[0] == "span" else opts.iou_threshold
                if s >= need:
                    ka, kb = ga[i].region_key, gb[j].region_key
                    cands.append((-s, min(ka, kb), max(ka, kb), i, j, "overlap" if sa[0] == "span" else "iou", s))
        cands.sort(key=lambda c: c[:3])
        used_a: set[int] = set()
        used_b: set[int] = set()
        for _, _, _, i, j, how, s in cands:
            if i in used_a or j in used_b:
                continue
            used_a.add(i)
            used_b.add(j)
            pairs.append((ga[i], gb[j], how, s))
        left_a = [i for i in range(len(ga)) if i not in used_a]
        left_b = [j for j in range(len(gb)) if j not in used_b]
        plain_a = [i for i in left_a if shapes_a[i] is None]
        plain_b = [j for j in left_b if shapes_b[j] is None]
        if len(plain_a) == 1 and len(plain_b) == 1:
            pairs.append((ga[plain_a[0]], gb[plain_b[0]], "control", None))
            used_a.add(plain_a[0])
            used_b.add(plain_b[0])
        rest_a += [ga[i] for i in range(len(ga)) if i not in used_a]
        rest_b += [gb[j] for j in range(len(gb)) if j not in used_b]
    return pairs, rest_a, rest_b


# ---------------------------------------------------------------------------
# comparing one table pair


class _Change:
    """One changed row of an answers table; its kinds and words are worked out on demand."""

    __slots__ = ("spec", "change", "task_key", "answer_key", "a", "b", "match", "score")

    def __init__(self, spec: _Spec, change: str, task_key: str, answer_key: str, a: _Row | None, b: _Row | None,
                 match: str | None = None, score: float | None = None) -> None:
        self.spec, self.change, self.task_key, self.answer_key = spec, change, task_key, answer_key
        self.a, self.b, self.match, self.score = a, b, match, score

    def row(self) -> tuple:
        """The row of the row-level diff, its values in the order of :data:`ROW_FIELDS`."""
        a, b = self.a, self.b
        score = self.score
        if self.change == "changed":
            kinds, description, score = _describe_pair(self.spec, a, b, score)
        else:
            kinds, description = [], _one_side_description(self.spec, a or b)
        da = a.data if a else {}
        db = b.data if b else {}
        pick = db if b else da
        return (self.spec.table, self.change, self.task_key, self.answer_key,
                a.region_key if a else None, b.region_key if b else None,
                pick.get("annotator"), pick.get("model_version"), pick.get("from_name"), pick.get("type"),
                self.match, score, kinds, da.get("labels") if a else None, db.get("labels") if b else None,
                da.get("value") if a else None, db.get("value") if b else None, description)


def _describe_pair(spec: _Spec, a: _Row, b: _Row, score: float | None, memo: dict | None = None
                   ) -> tuple[list[str], str, float | None]:
    """Kinds, description and score of a changed row (a pair of rows); ``memo`` as in :func:`_compare`."""
    kinds, description, s2 = _compare(spec, a, b, memo)
    if score is None:
        score = s2
    if not kinds:  # matched by shape, same content: only the tool's region id changed
        kinds, description = ["region"], "region id changed"
    return kinds, description, score


def _no_rows() -> list:
    return []


@dataclass
class _TableDiff:
    """What differs between two answers tables, counted: answers added, removed and changed,
    regions added, removed and changed, relabels, skips, answers per annotator; the changed
    rows themselves (tables of :func:`row_schema`) are built only when asked for."""

    added: int = 0  # answers
    removed: int = 0
    changed: int = 0
    tasks: int = 0  # tasks with an answer added, removed or changed
    skips_added: int = 0
    skips_removed: int = 0
    #: annotator (or model version; "-" for none) -> {"added", "removed", "changed"} answers
    per_annotator: dict[str, dict[str, int]] = field(default_factory=dict)
    regions: dict[str, int] = field(default_factory=lambda: {"added": 0, "removed": 0, "changed": 0})
    #: (control, labels before, labels after) -> regions relabeled so
    relabels: dict[tuple[str, str, str], int] = field(default_factory=dict)
    any_rows: bool = False
    rows: Callable[[], list["pa.Table"]] = _no_rows


@dataclass
class _TaskDiff:
    """Tasks added, removed and changed (data, source item or attributes); rows on demand."""

    added: int = 0
    removed: int = 0
    changed: int = 0
    rows: Callable[[], list[tuple]] = _no_rows

    @property
    def any_rows(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def _differing(con: Any, name: str, a: str, b: str, keys: list[str], content: list[str]) -> "pa.Table":
    """The rows of registered table ``a`` with no identical row in ``b``, and where ``b``'s are.

    One full outer join on the first key (``task_key``) and a 64-bit hash of the keys and
    the content (:func:`annover.store.snapshots.row_hash_sql`, the hash parts store; computed
    here for parts written without it): side A streams its whole rows through it,
    side B brings only those two, so that the join moves no wide rows and compares no
    long strings but the task key. Returns A's unmatched rows (keys and content; ``__bh``
    null) and B's as their task key ``__key`` and hash ``__bh``, which identify them.
    A row that differs would go unseen only if its hash equalled that of a row of the
    same task on the other side: a 2**-64 chance for each such pair.
    """
    from annover.store.snapshots import row_hash_sql

    first = keys[0]
    h = row_hash_sql(name)
    return _fetch(con, f"""
        WITH x AS (SELECT {", ".join(keys + content)}, {h} AS __h FROM {a}),
             y AS (SELECT {first}, {h} AS __h FROM {b})
        SELECT {", ".join(f"x.{c}" for c in keys + content)}, coalesce(x.{first}, y.{first}) AS __key, y.__h AS __bh
        FROM x FULL OUTER JOIN y ON x.{first} = y.{first} AND x.__h = y.__h
        WHERE x.__h IS NULL OR y.__h IS NULL""")


def _presence_sql(spec: _Spec, ua: str, bt: str) -> str:
    """Per touched answer (one with a row that differs): on which sides it is, its annotator
    (model version) and whether it is a skip on each side. ``ua``: A's rows that differ;
    ``bt``: B's rows of the touched tasks, ``__u`` marking those that differ (the others
    are identical to a row of A, so they also stand for A's rows that did not change)."""
    ak = spec.answer_key
    who = "annotator" if spec is _ANN else "model_version"
    skip = "was_cancelled" if spec is _ANN else "false"
    return f"""
        WITH t AS (SELECT task_key, {ak} FROM {ua} UNION SELECT task_key, {ak} FROM {bt} WHERE __u),
        s AS (SELECT false AS b, task_key, {ak}, {who} AS who, {skip} AS skip FROM {ua}
              UNION ALL SELECT false, task_key, {ak}, {who}, {skip} FROM {bt} WHERE NOT __u
              UNION ALL SELECT true, task_key, {ak}, {who}, {skip} FROM {bt})
        SELECT s.task_key, s.{ak} AS answer_key, bool_or(NOT s.b) AS in_a, bool_or(s.b) AS in_b,
               any_value(s.who) FILTER (WHERE NOT s.b) AS who_a, any_value(s.who) FILTER (WHERE s.b) AS who_b,
               coalesce(bool_or(s.skip) FILTER (WHERE NOT s.b), false) AS skip_a,
               coalesce(bool_or(s.skip) FILTER (WHERE s.b), false) AS skip_b
        FROM s SEMI JOIN t ON s.task_key = t.task_key AND s.{ak} = t.{ak}
        GROUP BY ALL"""


def _delta_sql(spec: _Spec, ua: str, bt: str, presence: str) -> str:
    """The rows that differ, paired by key: where each is in ``ua`` / ``bt`` (``__ia``,
    ``__ib``) and what the counts need: ``__rc`` a pair is a changed region (a region
    column differs), ``__rl`` a relabeled one (``__fa -> __fb``); ``__m`` a row left over
    in an answer on both sides that has rows left over on the other side too, to be
    matched by shape."""
    ak = spec.answer_key
    differs = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in spec.cols)
    region = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in spec.region_cols)
    labels = lambda s: f"CASE WHEN len({s}.labels) > 0 THEN {s}.labels END"  # noqa: E731  [] is no labels
    fmt = lambda s: f"coalesce(array_to_string({s}, ', '), '{NO_LABEL}')"  # noqa: E731  as fmt_labels
    return f"""
        WITH d AS (
            SELECT coalesce(a.task_key, b.task_key) AS task_key, coalesce(a.{ak}, b.{ak}) AS answer_key,
                   a.region_key AS region_key_a, b.region_key AS region_key_b, a.__i AS __ia, b.__i AS __ib,
                   b.from_name AS from_name_b,
                   coalesce(a.region_key <> '' AND b.region_key <> '' AND ({region}), false) AS __rc,
                   {labels("a")} AS __la, {labels("b")} AS __lb
            FROM {ua} AS a FULL OUTER JOIN (SELECT * FROM {bt} WHERE __u) AS b
              ON a.task_key = b.task_key AND a.{ak} = b.{ak} AND a.region_key = b.region_key
            WHERE a.task_key IS NULL OR b.task_key IS NULL OR {differs}),
        mixed AS (SELECT task_key, answer_key FROM d WHERE region_key_b IS NULL
                  INTERSECT SELECT task_key, answer_key FROM d WHERE region_key_a IS NULL)
        SELECT d.* EXCLUDE (__la, __lb), __rc AND __la IS DISTINCT FROM __lb AS __rl,
               CASE WHEN __rc THEN {fmt("__la")} END AS __fa, CASE WHEN __rc THEN {fmt("__lb")} END AS __fb,
               (region_key_a IS NULL OR region_key_b IS NULL) AND coalesce(p.in_a AND p.in_b, false)
                 AND m.task_key IS NOT NULL AS __m
        FROM d LEFT JOIN {presence} AS p ON d.task_key = p.task_key AND d.answer_key = p.answer_key
               LEFT JOIN mixed AS m ON d.task_key = m.task_key AND d.answer_key = m.answer_key"""


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cycle collector while building many small acyclic objects (row
    descriptions): left on, it walks them again and again, and doubles the time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _sorted_rows(parts: list["pa.Table"]) -> "pa.Table":
    """The row-level diff as one table, in order of table, task, answer, region and change."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = pa.concat_tables(parts).combine_chunks()
    if t.num_rows == 0:
        return t
    order = pa.table({
        "t": pc.index_in(t.column("table"), value_set=pa.array(list(_TABLE_ORDER))),
        "k": t.column("task_key"), "a": pc.fill_null(t.column("answer_key"), ""),
        "r": pc.fill_null(pc.coalesce(t.column("region_key_a"), t.column("region_key_b")), ""),
        "rb": pc.fill_null(t.column("region_key_b"), ""), "c": t.column("change")})
    return t.take(pc.sort_indices(order, sort_keys=[(c, "ascending") for c in order.column_names]))


def _count_true(arr: Any) -> int:
    """How many values of a boolean array are true (nulls are not)."""
    import pyarrow.compute as pc

    return int(pc.sum(pc.cast(pc.fill_null(arr, False), "int64")).as_py() or 0)


def _touched(con: Any, spec: _Spec, an: str, bn: str, prefix: str, hashed: bool = False
             ) -> tuple["pa.Table", "pa.Table"] | None:
    """A's rows that differ, and B's rows of the tasks touched (None when nothing differs).

    B's table has ``__u``: the row differs; the rows that do not are each identical to a
    row of A, so that with A's rows that differ they tell what every touched answer holds
    on both sides. Both tables get a row number ``__i``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from annover.store.snapshots import row_hash_sql

    keys = ["task_key", spec.answer_key, "region_key"]
    cols = keys + list(spec.cols)
    if hashed:
        return _touched_by_stored_hash(con, spec, an, bn, prefix)
    found = _differing(con, spec.table, an, bn, keys, list(spec.cols))
    if found.num_rows == 0:
        return None
    in_b = pc.is_valid(found.column("__bh"))
    con.register(f"{prefix}_t", pa.table({"task_key": pc.unique(found.column("__key"))}))
    con.register(f"{prefix}_u", found.filter(in_b).select(["__key", "__bh"]))
    bt = _fetch(con, f"""
        WITH z AS (SELECT {", ".join(cols)}, {row_hash_sql(spec.table)} AS __h
                   FROM {bn} SEMI JOIN {prefix}_t AS t USING (task_key)),
             u AS (SELECT DISTINCT __key, __bh FROM {prefix}_u)
        SELECT {", ".join("z." + c for c in cols)}, u.__key IS NOT NULL AS __u
        FROM z LEFT JOIN u ON z.task_key = u.__key AND z.__h = u.__bh""")
    con.unregister(f"{prefix}_t")
    con.unregister(f"{prefix}_u")
    ua = found.filter(pc.invert(in_b)).select(cols)
    return _numbered(ua), _numbered(bt)


def _numbered(t: "pa.Table") -> "pa.Table":
    import numpy as np
    import pyarrow as pa

    return t.append_column("__i", pa.array(np.arange(t.num_rows)))


def _unmatched_hashes(con: Any, an: str, bn: str) -> "pa.Table":
    """(task key, A's hash, B's hash) of the tasks of ``an`` and ``bn`` whose stored task hash
    (of the task's rows, key and content) the other side lacks: a join on one integer column
    of one row per task, the key carried along (joining on it too is twice as slow),
    nothing else decoded."""
    from annover.store.snapshots import TASK_HASH as H

    return _fetch(con, f"""
        SELECT coalesce(a.task_key, b.task_key) AS __key, a.{H} AS __ah, b.{H} AS __bh
        FROM (SELECT task_key, {H} FROM {an} WHERE {H} IS NOT NULL) AS a
        FULL OUTER JOIN (SELECT task_key, {H} FROM {bn} WHERE {H} IS NOT NULL) AS b ON a.{H} = b.{H}
        WHERE a.{H} IS NULL OR b.{H} IS NULL""")


def _touched_by_stored_hash(con: Any, spec: _Spec, an: str, bn: str, prefix: str
                            ) -> tuple["pa.Table", "pa.Table"] | None:
    """:func:`_touched` from the parts' stored task hashes: the tasks that differ are those
    whose hash the other side lacks, found from one row per task; both sides' rows of these
    tasks are read (each side once) and compared as :func:`_touched` compares them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = _unmatched_hashes(con, an, bn)
    if found.num_rows == 0:
        return None
    names = {k: f"{prefix}_{k}" for k in ("tt", "ta", "tb")}
    con.register(names["tt"], pa.table({"task_key": pc.unique(found.column("__key"))}))
    cols = ", ".join(["task_key", spec.answer_key, "region_key", *spec.cols])
    try:
        for side, src in (("ta", an), ("tb", bn)):
            con.register(names[side], _fetch(con, f"SELECT {cols} FROM {src} SEMI JOIN {names['tt']} USING (task_key)"))
        return _touched(con, spec, names["ta"], names["tb"], prefix)
    finally:
        for n in names.values():
            con.unregister(n)


def _count_answers(p: "pa.Table", out: _TableDiff) -> None:
    """Answers added, removed, changed, skips and answers per annotator, from :func:`_presence_sql`."""
    import pyarrow.compute as pc

    in_a, in_b = pc.fill_null(p.column("in_a"), False), pc.fill_null(p.column("in_b"), False)
    both = pc.and_(in_a, in_b)
    out.added, out.removed = _count_true(pc.and_not(in_b, in_a)), _count_true(pc.and_not(in_a, in_b))
    out.changed = _count_true(both)
    out.tasks = pc.count_distinct(p.column("task_key")).as_py()
    skip_a, skip_b = pc.and_(in_a, p.column("skip_a")), pc.and_(in_b, p.column("skip_b"))
    out.skips_added = _count_true(pc.and_not(skip_b, skip_a))
    out.skips_removed = _count_true(pc.and_not(skip_a, skip_b))
    # an answer changed by its own annotator counts as changed; one whose annotator changed
    # as removed for the one and added for the other
    who_a, who_b = p.column("who_a"), p.column("who_b")
    same = pc.or_(pc.fill_null(pc.equal(who_a, who_b), False), pc.and_(pc.is_null(who_a), pc.is_null(who_b)))
    kept = pc.and_(both, same)
    for what, who, mask in (("added", who_b, pc.and_not(in_b, kept)), ("removed", who_a, pc.and_not(in_a, kept)),
                            ("changed", who_b, kept)):
        for vc in pc.value_counts(who.filter(mask)).to_pylist():
            name = vc["values"] if vc["values"] is not None else "-"
            out.per_annotator.setdefault(name, {"added": 0, "removed": 0, "changed": 0})[what] += vc["counts"]


def _diff_answers(con: Any, spec: _Spec, a: Source, b: Source, opts: Options, renames: dict[str, str],
                  prefix: str) -> _TableDiff:
    """Diff of two annotations (or predictions) tables, with region matching; rows on demand."""
    import pyarrow.compute as pc

    out = _TableDiff()
    touched = _touched(con, spec, a.register(con, f"{prefix}_a"), b.register(con, f"{prefix}_b"), prefix,
                       a.hashed and b.hashed)
    if touched is None:
        return out
    ua, bt = touched
    names = {k: f"{prefix}_{k}" for k in ("ua", "bt", "p")}
    con.register(names["ua"], ua)
    con.register(names["bt"], bt)
    p = _fetch(con, _presence_sql(spec, names["ua"], names["bt"]))
    con.register(names["p"], p)
    delta = _fetch(con, _delta_sql(spec, names["ua"], names["bt"], names["p"]))
    for n in names.values():
        con.unregister(n)
    if delta.num_rows == 0:
        return out
    _count_answers(p, out)

    # regions: pairs by key, and rows left over (matched by shape within an answer on both sides)
    regions, relabels = out.regions, out.relabels
    regions["changed"] = _count_true(delta.column("__rc"))
    rl = delta.filter(delta.column("__rl")).select(["from_name_b", "__fa", "__fb"])
    for r in rl.group_by(["from_name_b", "__fa", "__fb"]).aggregate([([], "count_all")]).to_pylist():
        key3 = (r["from_name_b"] or "", r["__fa"], r["__fb"])
        relabels[key3] = relabels.get(key3, 0) + r["count_all"]
    rka, rkb = delta.column("region_key_a"), delta.column("region_key_b")
    plain = pc.invert(pc.fill_null(delta.column("__m"), False))
    regions["removed"] = _count_true(pc.and_(pc.and_(pc.is_null(rkb), plain), pc.not_equal(rka, "")))
    regions["added"] = _count_true(pc.and_(pc.and_(pc.is_null(rka), plain), pc.not_equal(rkb, "")))

    matched: list[_Change] = []
    left: dict[tuple, tuple[list[_Row], list[_Row]]] = {}
    mrows = delta.filter(pc.invert(plain))
    for k1, k2, ra, rb in zip(mrows.column("task_key").to_pylist(), mrows.column("answer_key").to_pylist(),
                              _py_rows(ua.take(mrows.column("__ia")), spec.cols),
                              _py_rows(bt.take(mrows.column("__ib")), spec.cols)):
        slot = left.setdefault((k1, k2), ([], []))
        (slot[0] if ra is not None else slot[1]).append(ra if ra is not None else rb)
    for k, (rem, add) in left.items():
        pairs, rest_a, rest_b = match_regions([r for r in rem if r.region_key != ""],
                                              [r for r in add if r.region_key != ""], opts, renames)
        regions["changed"] += len(pairs)  # a pair matched by shape is a changed region
        regions["removed"] += len(rest_a)
        regions["added"] += len(rest_b)
        for ra, rb, _, _ in pairs:
            if (ra.data["labels"] or None) != (rb.data["labels"] or None):
                key3 = (rb.data["from_name"] or "", fmt_labels(ra.data["labels"]), fmt_labels(rb.data["labels"]))
                relabels[key3] = relabels.get(key3, 0) + 1
        matched += [_Change(spec, "changed", *k, ra, rb, how, score) for ra, rb, how, score in pairs]
        matched += [_Change(spec, "removed", *k, r, None) for r in [r for r in rem if r.region_key == ""] + rest_a]
        matched += [_Change(spec, "added", *k, None, r) for r in [r for r in add if r.region_key == ""] + rest_b]

    def rows() -> list["pa.Table"]:
        rest = delta.filter(plain)
        ta, tb = ua.take(rest.column("__ia")), bt.take(rest.column("__ib"))
        in_a, in_b = pc.is_valid(rest.column("__ia")), pc.is_valid(rest.column("__ib"))
        pair = pc.and_(in_a, in_b)
        keys = rest.select(["task_key", "answer_key"])
        return [_tuples_table([c.row() for c in matched]),
                _pair_rows(spec, keys.filter(pair), ta.filter(pair), tb.filter(pair)),
                _one_side_rows(spec, "removed", keys.filter(pc.invert(in_b)), ta.filter(pc.invert(in_b))),
                _one_side_rows(spec, "added", keys.filter(pc.invert(in_a)), tb.filter(pc.invert(in_a)))]

    out.any_rows, out.rows = True, rows
    return out


def _segment(spec: _Spec, change: str, keys: "pa.Table", a: "pa.Table | None", b: "pa.Table | None",
             kinds: "list | pa.Array", descriptions: "list[str] | pa.Array", scores: "list | pa.Array | None"
             ) -> "pa.Table":
    """Rows of the row-level diff from rows of A and/or B (aligned with ``keys``) and their words
    (lists or Arrow arrays)."""
    import pyarrow as pa

    schema = row_schema()
    n = keys.num_rows
    pick = b if b is not None else a

    def col(t: "pa.Table | None", name: str) -> Any:
        return t.column(name) if t is not None and name in t.column_names else None

    cols = {
        "table": pa.repeat(spec.table, n), "change": pa.repeat(change, n),
        "task_key": keys.column("task_key"), "answer_key": keys.column("answer_key"),
        "region_key_a": col(a, "region_key"), "region_key_b": col(b, "region_key"),
        "annotator": col(pick, "annotator"), "model_version": col(pick, "model_version"),
        "from_name": col(pick, "from_name"), "type": col(pick, "type"),
        "match": pa.repeat("key", n) if change == "changed" else None,
        "score": pa.array(scores, pa.float64()) if scores is not None else None,
        "kinds": pa.array(kinds, pa.list_(pa.string())),
        "labels_a": col(a, "labels"), "labels_b": col(b, "labels"), "value_a": col(a, "value"),
        "value_b": col(b, "value"), "description": pa.array(descriptions, pa.string()),
    }
    return pa.table([cols[f.name] if cols[f.name] is not None else pa.nulls(n, f.type) for f in schema],
                    schema=schema)


def _py_rows(t: "pa.Table", cols: Iterable[str]) -> list[_Row | None]:
    """:class:`_Row` objects of the rows of ``t`` with the columns ``cols`` (None for a null
    row, which a null index to ``take`` gives)."""
    d = t.select(["region_key", *cols]).to_pydict()
    keys = d.pop("region_key")
    names = list(d)
    return [_Row(k, dict(zip(names, vals))) if k is not None else None for k, vals in zip(keys, zip(*d.values()))]


def _pair_rows(spec: _Spec, keys: "pa.Table", a: "pa.Table", b: "pa.Table") -> "pa.Table":
    """Rows changed in place (paired by key), with their kinds, words and shape score: worded a
    column at a time (:mod:`annover.diffing.rowdesc`), the rows it is not sure of by :func:`_describe_pair`."""
    from annover.diffing.rowdesc import describe_pairs

    kinds, words, scores = describe_pairs(spec, a, b)
    return _segment(spec, "changed", keys, a, b, kinds, words, scores)


def _one_side_rows(spec: _Spec, change: str, keys: "pa.Table", t: "pa.Table") -> "pa.Table":
    """Rows added (or removed), with their words: worded a column at a time
    (:mod:`annover.diffing.rowdesc`), the rows it is not sure of by :func:`_one_side_description`."""
    from annover.diffing.rowdesc import describe_one_side

    a, b = (None, t) if change == "added" else (t, None)
    return _segment(spec, change, keys, a, b, [[]] * keys.num_rows, describe_one_side(spec, t), None)


def _tuples_table(rows: list[tuple]) -> "pa.Table":
    """A table of :func:`row_schema` from rows given as tuples in the order of :data:`ROW_FIELDS`."""
    import pyarrow as pa

    schema = row_schema()
    if not rows:
        return schema.empty_table()
    return pa.table([pa.array(col, f.type) for f, col in zip(schema, zip(*rows))], schema=schema)


_TASKS_DIFF_SQL = """
    SELECT coalesce(a.task_key, b.task_key) AS task_key, a.task_key IS NOT NULL AS in_a,
           b.task_key IS NOT NULL AS in_b, a.data AS data_a, b.data AS data_b,
           a.data_hash AS data_hash_a, b.data_hash AS data_hash_b, a.extra AS extra_a, b.extra AS extra_b
    FROM {a} AS a FULL OUTER JOIN {b} AS b ON a.task_key = b.task_key
    WHERE a.task_key IS NULL OR b.task_key IS NULL OR a.data IS DISTINCT FROM b.data
       OR a.data_hash IS DISTINCT FROM b.data_hash OR a.extra IS DISTINCT FROM b.extra"""


def _diff_tasks(con: Any, a: Source, b: Source) -> _TaskDiff:
    """Tasks added, removed and changed: tasks are narrow rows, so a plain full outer join
    on the task key that compares their content is as fast as any shortcut, and exact.
    With stored task hashes on both sides, the counts come from the task keys and hashes
    alone, and the tasks' data is read only when the rows are asked for."""
    an, bn = a.register(con, "tasks_fa"), b.register(con, "tasks_fb")
    if a.hashed and b.hashed:
        return _diff_tasks_by_stored_hash(con, a, b, an, bn)
    diff = _fetch(con, _TASKS_DIFF_SQL.format(a=an, b=bn))
    if diff.num_rows == 0:
        return _TaskDiff()
    in_a, in_b = diff.column("in_a").to_pylist(), diff.column("in_b").to_pylist()
    both = sum(x and y for x, y in zip(in_a, in_b))
    return _TaskDiff(added=in_b.count(True) - both, removed=in_a.count(True) - both, changed=both,
                     rows=lambda: _task_rows(diff))


def _diff_tasks_by_stored_hash(con: Any, a: Source, b: Source, an: str, bn: str) -> _TaskDiff:
    import pyarrow as pa
    import pyarrow.compute as pc

    found = _unmatched_hashes(con, an, bn)
    if found.num_rows == 0:
        return _TaskDiff()
    keys = pc.unique(found.column("__key"))
    in_a = pc.is_in(keys, value_set=found.filter(pc.is_valid(found.column("__ah"))).column("__key"))
    in_b = pc.is_in(keys, value_set=found.filter(pc.is_valid(found.column("__bh"))).column("__key"))
    both = _count_true(pc.and_(in_a, in_b))

    def rows() -> list[tuple]:
        c = _connect()
        try:
            c.register("tasks_k", pa.table({"task_key": keys}))
            side = lambda src, alias: (  # noqa: E731
                f"(SELECT * FROM {src.register(c, alias)} SEMI JOIN tasks_k USING (task_key))")
            return _task_rows(_fetch(c, _TASKS_DIFF_SQL.format(a=side(a, "tasks_fa"), b=side(b, "tasks_fb"))))
        finally:
            c.close()

    return _TaskDiff(added=_count_true(in_b) - both, removed=_count_true(in_a) - both, changed=both, rows=rows)


def _task_rows(diff: "pa.Table") -> list[tuple]:
    """Rows of the row-level diff for tasks (see :meth:`_Change.row`)."""
    out = []
    for r in diff.to_pylist():
        base = dict.fromkeys(ROW_FIELDS)
        base.update(table="tasks", task_key=r["task_key"], kinds=[], value_a=r["data_a"], value_b=r["data_b"])
        if r["in_a"] and r["in_b"]:
            kinds, words = [], []
            if r["data_a"] != r["data_b"]:
                kinds.append("data")
                da, db = _loads(r["data_a"]), _loads(r["data_b"])
                if isinstance(da, dict) and isinstance(db, dict):
                    ks = [k for k in sorted(set(da) | set(db)) if da.get(k) != db.get(k)]
                    words.append("; ".join(f"data.{k} {_short(da.get(k))} -> {_short(db.get(k))}" for k in ks[:3])
                                 + ("; ..." if len(ks) > 3 else ""))
                else:
                    words.append("data changed")
            if r["data_hash_a"] != r["data_hash_b"]:
                kinds.append("data_hash")
                words.append(f"source item {(r['data_hash_a'] or '-')[:12]} -> {(r['data_hash_b'] or '-')[:12]}")
            if r["extra_a"] != r["extra_b"]:
                kinds.append("attrs")
                words.append("task attributes changed")
            base.update(change="changed", kinds=kinds, description="; ".join(words))
        elif r["in_b"]:
            base.update(change="added", value_a=None, description=_short(_loads(r["data_b"]), 60))
        else:
            base.update(change="removed", value_b=None, description=_short(_loads(r["data_a"]), 60))
        out.append(tuple(base.values()))
    return out


# ---------------------------------------------------------------------------
# resolved labels: transitions and prediction agreement


def _resolved_sql(src: str, policy: str) -> str:
    """Per (task, control): the label (sorted distinct labels of one answer, ', '-joined) the policy picks."""
    order = {
        "latest": "ts DESC, annotation_key DESC",
        "majority": "votes DESC, ts DESC, annotation_key DESC",
        "ground-truth": "gt DESC, votes DESC, ts DESC, annotation_key DESC",
    }[policy]
    return f"""
        WITH r AS (
            SELECT task_key, annotation_key, from_name,
                   array_to_string(list_sort(list_distinct(flatten(list(labels)))), ', ') AS label,
                   bool_or(ground_truth) AS gt,
                   max(coalesce(updated_at, created_at, '')) AS ts
            FROM {src}
            WHERE NOT was_cancelled AND region_key <> '' AND from_name IS NOT NULL
              AND labels IS NOT NULL AND len(labels) > 0
            GROUP BY task_key, annotation_key, from_name),
        v AS (SELECT *, count(*) OVER (PARTITION BY task_key, from_name, label) AS votes FROM r)
        SELECT task_key, from_name, label FROM v
        QUALIFY row_number() OVER (PARTITION BY task_key, from_name ORDER BY {order}) = 1"""


def _transitions(con: Any, ann_a: Source, ann_b: Source, tasks_a: Source, tasks_b: Source, policy: str) -> dict:
    a, b = ann_a.register(con, "tr_ann_a"), ann_b.register(con, "tr_ann_b")
    ta, tb = tasks_a.register(con, "tr_tasks_a"), tasks_b.register(con, "tr_tasks_b")
    rows = _fetch(con, f"""
        WITH ra AS ({_resolved_sql(a, policy)}), rb AS ({_resolved_sql(b, policy)}),
        ctl AS (SELECT from_name FROM ra UNION SELECT from_name FROM rb),
        tk AS (SELECT task_key, bool_or(sa) AS in_a, bool_or(sb) AS in_b FROM (
                 SELECT task_key, true AS sa, false AS sb FROM {ta} UNION ALL
                 SELECT task_key, true, false FROM ra UNION ALL
                 SELECT task_key, false, true FROM {tb} UNION ALL
                 SELECT task_key, false, true FROM rb) GROUP BY task_key),
        grid AS (SELECT tk.task_key, tk.in_a, tk.in_b, ctl.from_name FROM tk CROSS JOIN ctl)
        SELECT grid.from_name AS control,
               coalesce(ra.label, CASE WHEN grid.in_a THEN '{NO_LABEL}' ELSE '{NO_TASK}' END) AS "from",
               coalesce(rb.label, CASE WHEN grid.in_b THEN '{NO_LABEL}' ELSE '{NO_TASK}' END) AS "to",
               count(*) AS count
        FROM grid LEFT JOIN ra ON ra.task_key = grid.task_key AND ra.from_name = grid.from_name
                  LEFT JOIN rb ON rb.task_key = grid.task_key AND rb.from_name = grid.from_name
        GROUP BY ALL ORDER BY control, count DESC, "from", "to" """).to_pylist()
    controls: dict[str, list[dict]] = {}
    for r in rows:
        controls.setdefault(r["control"], []).append({"from": r["from"], "to": r["to"], "count": r["count"]})
    return {"policy": policy, "controls": controls}


def _agreement(con: Any, ann: Source, preds: Source, policy: str, prefix: str) -> dict:
    a, p = ann.register(con, f"{prefix}_ann"), preds.register(con, f"{prefix}_pred")
    r = _fetch(con, f"""
        WITH ann AS ({_resolved_sql(a, policy)}),
        p AS (SELECT task_key, prediction_key, from_name,
                     array_to_string(list_sort(list_distinct(flatten(list(labels)))), ', ') AS label,
                     max(score) AS score
              FROM {p} WHERE region_key <> '' AND from_name IS NOT NULL AND labels IS NOT NULL AND len(labels) > 0
              GROUP BY task_key, prediction_key, from_name),
        best AS (SELECT * FROM p QUALIFY row_number() OVER (
                    PARTITION BY task_key, from_name ORDER BY score DESC NULLS LAST, prediction_key) = 1)
        SELECT count(*) AS pairs, count(*) FILTER (WHERE ann.label = best.label) AS agree
        FROM ann JOIN best ON ann.task_key = best.task_key AND ann.from_name = best.from_name""").to_pylist()[0]
    pairs, agree = int(r["pairs"]), int(r["agree"] or 0)
    return {"pairs": pairs, "agree": agree, "rate": round(agree / pairs, 6) if pairs else None}


# ---------------------------------------------------------------------------
# labeling config: structure only (controls, their object and labels)


def config_structure(text: str | None) -> dict[str, dict]:
    """control name -> {"tag", "to_name", "labels", "dynamic"} of a Label Studio XML config.

    A structural reading (elements with ``name`` and ``toName`` are controls; ``Label`` /
    ``Choice`` below them are labels, by ``alias`` where given), parsed safely.
    """
    if not text:
        return {}
    import defusedxml.ElementTree as DET

    from annover.errors import ConfigError

    try:
        root = DET.fromstring(text)
    except Exception as e:
        raise ConfigError(f"labeling config is not readable XML: {e}", "check the config of that version") from None
    out: dict[str, dict] = {}
    for el in root.iter():
        name, to = el.get("name"), el.get("toName")
        if not name or not to:
            continue
        labels: list[str] = []
        for sub in el.iter():
            if sub is not el and sub.tag in ("Label", "Choice", "Relation") and sub.get("value") is not None:
                lab = sub.get("alias") or sub.get("value")
                if lab not in labels:
                    labels.append(lab)
        out[name] = {"tag": el.tag, "to_name": [t.strip() for t in to.split(",") if t.strip()], "labels": labels,
                     "dynamic": str(el.get("value") or "").startswith("$")}
    return out


def _jaccard(x: list[str], y: list[str]) -> float:
    sx, sy = set(x), set(y)
    return len(sx & sy) / len(sx | sy) if sx | sy else 1.0


def diff_config(text_a: str | None, text_b: str | None) -> dict:
    """Controls and labels added, removed, renamed (where the structure shows it), changed."""
    ca, cb = config_structure(text_a), config_structure(text_b)
    out: dict[str, Any] = {
        "changed": (text_a or "") != (text_b or ""), "controls_added": [], "controls_removed": [],
        "controls_renamed": [], "controls_changed": [], "labels_added": {}, "labels_removed": {},
        "labels_renamed": {},
    }
    removed = sorted(set(ca) - set(cb))
    added = sorted(set(cb) - set(ca))
    cands = []
    for x in removed:
        for y in added:
            if ca[x]["tag"] != cb[y]["tag"]:
                continue
            j = _jaccard(ca[x]["labels"], cb[y]["labels"])
            same_obj = ca[x]["to_name"] == cb[y]["to_name"]
            if (ca[x]["labels"] or cb[y]["labels"]) and j >= 0.5 or (not ca[x]["labels"] and not cb[y]["labels"] and same_obj):
                cands.append((-j, not same_obj, x, y))
    cands.sort()
    pairs: dict[str, str] = {}
    for _, _, x, y in cands:
        if x not in pairs and y not in pairs.values():
            pairs[x] = y
    out["controls_renamed"] = [{"from": x, "to": y} for x, y in sorted(pairs.items())]
    out["controls_removed"] = [x for x in removed if x not in pairs]
    out["controls_added"] = [y for y in added if y not in pairs.values()]
    both = [(n, n) for n in sorted(set(ca) & set(cb))] + sorted(pairs.items())
    for x, y in both:
        a, b = ca[x], cb[y]
        change = {}
        if a["tag"] != b["tag"]:
            change["tag"] = [a["tag"], b["tag"]]
        if a["to_name"] != b["to_name"]:
            change["to_name"] = [a["to_name"], b["to_name"]]
        if change:
            out["controls_changed"].append({"control": y, **change})
        la, lb = a["labels"], b["labels"]
        rem = [l for l in la if l not in lb]
        add = [l for l in lb if l not in la]
        renamed = []
        common = [l for l in la if l in lb]
        if rem and add and all(la.index(c) == lb.index(c) for c in common):
            for l in list(rem):
                i = la.index(l)
                if i < len(lb) and lb[i] in add:
                    renamed.append({"from": l, "to": lb[i]})
                    rem.remove(l)
                    add.remove(lb[i])
        if rem:
            out["labels_removed"][y] = rem
        if add:
            out["labels_added"][y] = add
        if renamed:
            out["labels_renamed"][y] = renamed
    return out


def config_warnings(text_b: str | None, labels_b: dict[str, dict[str, int]], side: str = "B") -> list[str]:
    """Labels (and controls) the annotations of a side use that its config lacks."""
    if not text_b:
        return []
    cb = config_structure(text_b)
    out = []
    for ctl, counts in sorted(labels_b.items()):
        if ctl == "":
            continue
        if ctl not in cb:
            n = sum(counts.values())
            out.append(f"{side}'s annotations use control {ctl!r} ({n} label(s)) that {side}'s config lacks")
            continue
        c = cb[ctl]
        if not c["labels"] or c["dynamic"]:
            continue
        allowed = set(c["labels"])
        for lab, n in sorted(counts.items()):
            parts = lab.split("/") if c["tag"] == "Taxonomy" else [lab]
            if not all(p in allowed for p in parts):
                out.append(f"{side}'s annotations use label {lab!r} of control {ctl!r} ({n} region(s)) "
                           f"that {side}'s config lacks")
    return out


# ---------------------------------------------------------------------------
# source data


def diff_source(link_a: dict | None, link_b: dict | None, files_a: dict[str, str] | None,
                files_b: dict[str, str] | None) -> dict | None:
    """Items of the linked source data added, removed, changed (by content hash), renamed."""
    if link_a is None and link_b is None and files_a is None and files_b is None:
        return None
    out: dict[str, Any] = {"path_a": (link_a or {}).get("path"), "path_b": (link_b or {}).get("path"),
                           "changed": False, "files_before": None, "files_after": None,
                           "added": [], "removed": [], "modified": [], "renamed": []}
    sha_a, sha_b = (link_a or {}).get("sha256"), (link_b or {}).get("sha256")
    if files_a is not None:
        out["files_before"] = len(files_a)
    elif link_a:
        out["files_before"] = link_a.get("nfiles")
    if files_b is not None:
        out["files_after"] = len(files_b)
    elif link_b:
        out["files_after"] = link_b.get("nfiles")
    if files_a is None or files_b is None:
        out["changed"] = (sha_a != sha_b) or (files_a is None) != (files_b is None) or bool(link_a) != bool(link_b)
        if files_a is None and files_b is not None and link_a is None:
            out["added"] = sorted(files_b)
        if files_b is None and files_a is not None and link_b is None:
            out["removed"] = sorted(files_a)
        return out
    added = sorted(set(files_b) - set(files_a))
    removed = sorted(set(files_a) - set(files_b))
    by_hash: dict[str, list[str]] = {}
    for p in added:
        by_hash.setdefault(files_b[p], []).append(p)
    renamed = []
    for p in removed:
        cands = by_hash.get(files_a[p])
        if cands:
            q = cands.pop(0)
            renamed.append({"from": p, "to": q})
    gone = {r["from"] for r in renamed}
    new = {r["to"] for r in renamed}
    out["added"] = [p for p in added if p not in new]
    out["removed"] = [p for p in removed if p not in gone]
    out["modified"] = sorted(p for p in set(files_a) & set(files_b) if files_a[p] != files_b[p])
    out["renamed"] = renamed
    out["changed"] = bool(out["added"] or out["removed"] or out["modified"] or out["renamed"])
    return out


# ---------------------------------------------------------------------------
# the comparison


@dataclass
class _Plan:
    """What to compare: the rows that may differ (None: identical) and how to read everything."""

    a: dict  # {"rev", "id"}
    b: dict
    stats_a: dict
    stats_b: dict
    tasks: tuple[Source, Source] | None
    annotations: tuple[Source, Source] | None
    predictions: dict[str, tuple[Source, Source] | None]  # model versions on both sides
    mv_a: list[str]
    mv_b: list[str]
    config_a: Callable[[], str | None]
    config_b: Callable[[], str | None]
    config_changed: bool
    source: Callable[[], dict | None]
    full_tasks: Callable[[str], Source]
    full_annotations: Callable[[str], Source]
    full_predictions: Callable[[str, str], Source]
    same_agreement_input: Callable[[str], bool] = lambda mv: False
    parts: dict = field(default_factory=lambda: {"compared": 0, "skipped": 0})
    #: warnings found while reading (appended to the summary's)
    warnings: list[str] = field(default_factory=list)


def _connect() -> Any:
    """A DuckDB connection of its own for one diff (every result is keyed or sorted later)."""
    from annover.store.duck import cursor

    return cursor(ordered=False)


def _run(plan: _Plan, opts: Options) -> DiffResult:
    import pyarrow as pa

    con = _connect()
    try:
        cfg_a, cfg_b = plan.config_a(), plan.config_b()
        config = diff_config(cfg_a, cfg_b) if plan.config_changed else {
            "changed": False, "controls_added": [], "controls_removed": [], "controls_renamed": [],
            "controls_changed": [], "labels_added": {}, "labels_removed": {}, "labels_renamed": {}}
        renames = {r["from"]: r["to"] for r in config["controls_renamed"]}
        warnings = config_warnings(cfg_b, plan.stats_b.get("labels", {}))
        config["warnings"] = list(warnings)

        tasks = _diff_tasks(con, *plan.tasks) if plan.tasks else _TaskDiff()
        ann = _diff_answers(con, _ANN, *plan.annotations, opts, renames, "ann") if plan.annotations else _TableDiff()
        preds: dict[str, _TableDiff] = {}
        for mv, pair in plan.predictions.items():
            preds[mv] = _diff_answers(con, _PRED, *pair, opts, renames, f"pred{len(preds)}") if pair else _TableDiff()

        def make_rows() -> "pa.Table":
            from concurrent.futures import ThreadPoolExecutor

            # the tasks' rows may read the tasks' data (a DuckDB query, outside the GIL):
            # in a thread, while the answers' rows are worded here
            with _no_gc(), ThreadPoolExecutor(max_workers=1) as ex:
                task_rows = ex.submit(tasks.rows)
                parts = list(ann.rows())
                for mv in sorted(preds):
                    parts += preds[mv].rows()
                return _sorted_rows([_tuples_table(task_rows.result()), *parts])

        summary = _summary(plan, opts, tasks, ann, preds, config, con)
        summary["warnings"] = warnings + plan.warnings
        transitions = None
        if opts.transitions:
            transitions = _transitions(con, plan.full_annotations("a"), plan.full_annotations("b"),
                                       plan.full_tasks("a"), plan.full_tasks("b"), opts.policy)
        return DiffResult(summary, make_rows, transitions)
    finally:
        con.close()


def _summary(plan: _Plan, opts: Options, task_diff: _TaskDiff, ann: _TableDiff, preds: dict[str, _TableDiff],
             config: dict, con: Any) -> dict:
    sa, sb = plan.stats_a, plan.stats_b
    tasks = {"before": sa.get("tasks", 0), "after": sb.get("tasks", 0), "added": task_diff.added,
             "removed": task_diff.removed, "data_changed": task_diff.changed}
    tasks["with_annotation_changes"] = ann.tasks
    annotations = {"before": sa.get("annotations", 0), "after": sb.get("annotations", 0),
                   "added": ann.added, "removed": ann.removed, "changed": ann.changed}
    regions = {"before": sa.get("regions", 0), "after": sb.get("regions", 0), **ann.regions}
    skipped = {"before": sa.get("skipped", 0), "after": sb.get("skipped", 0), "added": ann.skips_added,
               "removed": ann.skips_removed}

    labels: dict[str, dict[str, dict]] = {}
    la, lb = sa.get("labels", {}), sb.get("labels", {})
    for ctl in sorted(set(la) | set(lb)):
        for lab in sorted(set(la.get(ctl, {})) | set(lb.get(ctl, {}))):
            before, after = la.get(ctl, {}).get(lab, 0), lb.get(ctl, {}).get(lab, 0)
            labels.setdefault(ctl, {})[lab] = {"before": before, "after": after, "delta": after - before}

    relabel_list = [{"control": c, "from": f, "to": t, "count": n}
                    for (c, f, t), n in sorted(ann.relabels.items(), key=lambda kv: (-kv[1], kv[0]))]

    per = ann.per_annotator
    aa, ab = sa.get("annotators", {}), sb.get("annotators", {})
    annotators = {}
    for name in sorted(set(aa) | set(ab) | set(per)):
        d = per.get(name, {"added": 0, "removed": 0, "changed": 0})
        annotators[name] = {"before": aa.get(name, 0), "after": ab.get(name, 0), **d}

    predictions = _prediction_summary(plan, opts, preds, con)
    source = plan.source()
    identical = not (task_diff.any_rows or ann.any_rows or any(p.any_rows for p in preds.values()) or config["changed"]
                     or predictions["model_versions_added"] or predictions["model_versions_removed"]
                     or (source and source["changed"]))
    return {
        "schema": SCHEMA, "a": plan.a, "b": plan.b, "identical": identical, "options": opts.to_json(),
        "tasks": tasks, "annotations": annotations, "regions": regions, "skipped": skipped,
        "labeled": {"before": sa.get("labeled", 0), "after": sb.get("labeled", 0)},
        "unlabeled": {"before": sa.get("unlabeled", 0), "after": sb.get("unlabeled", 0)},
        "labels": labels, "relabels": relabel_list, "annotators": annotators, "config": config,
        "predictions": predictions, "source": source, "parts": dict(plan.parts),
    }


def _prediction_summary(plan: _Plan, opts: Options, preds: dict[str, _TableDiff], con: Any) -> dict:
    pa_, pb_ = plan.stats_a.get("predictions", {}), plan.stats_b.get("predictions", {})
    out: dict[str, Any] = {"model_versions_added": sorted(set(plan.mv_b) - set(plan.mv_a)),
                           "model_versions_removed": sorted(set(plan.mv_a) - set(plan.mv_b)), "model_versions": {}}
    for i, mv in enumerate(sorted(set(plan.mv_a) | set(plan.mv_b))):
        in_a, in_b = mv in plan.mv_a, mv in plan.mv_b
        d = preds.get(mv, _TableDiff())
        status = "added" if not in_a else "removed" if not in_b else "changed" if d.any_rows else "unchanged"
        agree = {}
        for side, present in (("a", in_a), ("b", in_b)):
            if not present:
                agree[side] = None
                continue
            if side == "b" and in_a and plan.same_agreement_input(mv):
                agree["b"] = agree["a"]
                continue
            agree[side] = _agreement(con, plan.full_annotations(side), plan.full_predictions(side, mv), opts.policy,
                                     f"ag{i}{side}")
        sa_, sb_ = pa_.get(mv, {}), pb_.get(mv, {})
        out["model_versions"][mv] = {
            "status": status,
            "tasks": {"before": sa_.get("tasks", 0), "after": sb_.get("tasks", 0)},
            "predictions": {"added": d.added, "removed": d.removed, "changed": d.changed},
            "regions": {"before": sa_.get("regions", 0), "after": sb_.get("regions", 0), **d.regions},
            "agreement": {"before": agree["a"]["rate"] if agree["a"] else None,
                          "after": agree["b"]["rate"] if agree["b"] else None,
                          "pairs_before": agree["a"]["pairs"] if agree["a"] else 0,
                          "pairs_after": agree["b"]["pairs"] if agree["b"] else 0},
        }
    return out


# ---------------------------------------------------------------------------
# pure entry point: two sides of Arrow tables


def diff_tables(a: Side, b: Side, *, iou_threshold: float = DEFAULT_IOU, overlap_threshold: float = DEFAULT_OVERLAP,
                policy: str = DEFAULT_POLICY, transitions: bool = False, stored_hashes: bool = False) -> DiffResult:
    """Diff two sides given as canonical Arrow tables (no repository, no I/O).

    ``stored_hashes``: take the path of parts that store task hashes (the hashes computed
    here as a snapshot stores them); the result is the same, which tests check.
    """
    from annover.model import stats as S

    opts = Options(iou_threshold, overlap_threshold, policy, transitions).check()

    def empty(name: str) -> "pa.Table":
        return C.schema(name).empty_table()

    def compared(name: str, t: "pa.Table") -> Source:
        if not stored_hashes:
            return Source(name, t)
        from annover.store.snapshots import TASK_HASH, task_hashes

        return Source(name, t.append_column(TASK_HASH, task_hashes(t, name)), hashed=True)

    sides = {"a": a, "b": b}
    pair = lambda name, get: (compared(name, get(a)), compared(name, get(b)))  # noqa: E731
    mvs = sorted(set(a.predictions) & set(b.predictions))
    plan = _Plan(
        a={"rev": a.rev, "id": a.id}, b={"rev": b.rev, "id": b.id},
        stats_a=a.stats if a.stats is not None else S.compute(a.tasks, a.annotations, a.predictions),
        stats_b=b.stats if b.stats is not None else S.compute(b.tasks, b.annotations, b.predictions),
        tasks=pair("tasks", lambda s: s.tasks), annotations=pair("annotations", lambda s: s.annotations),
        predictions={mv: (compared("predictions", a.predictions[mv]), compared("predictions", b.predictions[mv]))
                     for mv in mvs},
        mv_a=sorted(a.predictions), mv_b=sorted(b.predictions),
        config_a=lambda: a.config, config_b=lambda: b.config, config_changed=(a.config or "") != (b.config or ""),
        source=lambda: diff_source({"sha256": None} if a.source is not None else None,
                                   {"sha256": None} if b.source is not None else None, a.source, b.source),
        full_tasks=lambda s: Source("tasks", sides[s].tasks),
        full_annotations=lambda s: Source("annotations", sides[s].annotations),
        full_predictions=lambda s, mv: Source("predictions", sides[s].predictions.get(mv, empty("predictions"))),
    )
    return _run(plan, opts)


# ---------------------------------------------------------------------------
# repository entry point


def _located(repo: "Repo", refs: list[Any]) -> list[tuple[Any, Any]]:
    """(ref, local path) of part objects; ObjectError for the first that is not here."""
    from annover.errors import ObjectError

    located = []
    for ref in refs:  # the first miss may open DVC to find its cache: not in threads
        p = repo.store.locate(ref)
        if p is None:
            raise ObjectError(f"snapshot part {ref.oid[:12]} is not here",
                              "run `annover pull REV` (or `dvc pull`) to fetch it from the DVC remote")
        located.append((ref, p))
    return located


def _check_part(ref: Any, path: Any) -> str:
    """``path`` as a string, after checking that its content has the object's hash."""
    from annover.errors import ObjectError
    from annover.store.objects import sha256_file

    if sha256_file(path) != ref.oid:
        raise ObjectError(f"snapshot part {ref.oid[:12]} is corrupt: its content does not match its hash",
                          "delete the file and run `annover pull REV` to fetch a good copy")
    return str(path)


def _verified_paths(repo: "Repo", refs: list[Any]) -> tuple[str, ...]:
    """Local paths of part objects, each re-hashed first (objects are verified on read)."""
    from concurrent.futures import ThreadPoolExecutor

    located = _located(repo, refs)
    if len(located) <= 1:
        return tuple(_check_part(*x) for x in located)
    with ThreadPoolExecutor(max_workers=4) as ex:
        return tuple(ex.map(lambda x: _check_part(*x), located))


@contextmanager
def _verifying(located: list[tuple[Any, Any]]) -> Iterator[None]:
    """Check the parts' hashes in a thread while the block reads them (hashlib releases the
    GIL, and the files are read once more from the page cache): the block's result counts
    only when every part checked out. When the block fails, a corrupt part is the reason
    given (DuckDB's error about a damaged file would be the symptom)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as ex:
        done = ex.submit(lambda: [_check_part(*x) for x in located])
        try:
            yield
        except BaseException:
            done.result()  # raises ObjectError for a corrupt part
            raise
        done.result()


def _seed_dvc_cache(repo: "Repo") -> None:
    """Look in DVC's default cache folder first, so reading an older version needs no DVC import."""
    try:
        d = repo.dvc_root / ".dvc" / "cache" / "files" / "md5"
    except Exception:
        return
    if d.is_dir() and d not in repo.store.fallbacks:
        repo.store.fallbacks.append(d)


def diff(repo: "Repo | str", a: str, b: str = "HEAD", *, iou_threshold: float = DEFAULT_IOU,
         overlap_threshold: float = DEFAULT_OVERLAP, policy: str = DEFAULT_POLICY, transitions: bool = False,
         fast: bool = True) -> DiffResult:
    """``annover diff A B``: what changed from version ``a`` to version ``b`` (default HEAD).

    Reads only what differs: nothing of a table whose snapshot id is the same on both
    sides, and of the others only the Parquet parts the two versions do not share
    (``fast=False`` compares every part, for checking). Returns a :class:`DiffResult`.
    """
    from annover.errors import ObjectError
    from annover.store.objects import ObjectRef
    from annover.repo import Repo
    from annover.store.snapshots import read_manifest

    if not isinstance(repo, Repo):
        repo = Repo(repo)
    opts = Options(iou_threshold, overlap_threshold, policy, transitions).check()
    va, vb = repo.show(a), repo.show(b)
    _seed_dvc_cache(repo)
    versions = {"a": va, "b": vb}
    parts = {"compared": 0, "skipped": 0}
    late_warnings: list[str] = []
    manifests: dict[str, tuple[list[Any], str | None]] = {}

    def manifest(snap: Any) -> tuple[list[Any], str | None]:
        """(part refs, stored task hash fingerprint) of a snapshot."""
        if snap is None:
            return [], None
        key = snap.manifest.oid
        if key not in manifests:
            m = read_manifest(repo.store, snap)
            manifests[key] = ([ObjectRef.from_json(p) for p in m["parts"]], m.get("task_hash"))
        return manifests[key]

    def part_refs(snap: Any) -> list[Any]:
        return manifest(snap)[0]

    def hashed(sa: Any, sb: Any) -> bool:
        """Whether both snapshots' parts store task hashes of the same function."""
        probe = manifest(sa)[1] if sa is not None else None
        return probe is not None and probe == (manifest(sb)[1] if sb is not None else None)

    def pair(name: str, sa: Any, sb: Any) -> tuple[str, list[Any], list[Any], bool] | None:
        """The parts of each side to compare (None: none) and whether they store comparable hashes."""
        ra, rb = part_refs(sa), part_refs(sb)
        if fast and sa is not None and sb is not None and sa.id == sb.id:
            parts["skipped"] += len(ra) + len(rb)
            return None
        if fast:
            shared = {r.oid for r in ra} & {r.oid for r in rb}
        else:
            shared = set()
        keep_a = [r for r in ra if r.oid not in shared]
        keep_b = [r for r in rb if r.oid not in shared]
        parts["skipped"] += (len(ra) - len(keep_a)) + (len(rb) - len(keep_b))
        parts["compared"] += len(keep_a) + len(keep_b)
        if not keep_a and not keep_b:
            return None
        return name, keep_a, keep_b, hashed(sa, sb)

    full_cache: dict[tuple, Source] = {}

    def full(name: str, side: str, mv: str | None = None) -> Source:
        key = (name, side, mv)
        if key not in full_cache:
            v = versions[side]
            snap = v.snapshot(name, mv) if name == "predictions" else v.snapshot(name)
            full_cache[key] = Source(name, paths=_verified_paths(repo, part_refs(snap)))
        return full_cache[key]

    def config_text(v: Any) -> str | None:
        return repo.store.get(v.config_ref, "labeling config").decode("utf-8") if v.config_ref else None

    def source() -> dict | None:
        la, lb = va.record.get("source"), vb.record.get("source")
        if not la and not lb:
            return None
        if la and lb and la.get("sha256") == lb.get("sha256"):
            n = la.get("nfiles")
            return {"path_a": la.get("path"), "path_b": lb.get("path"), "changed": False, "files_before": n,
                    "files_after": n, "added": [], "removed": [], "modified": [], "renamed": []}

        def files(link: dict | None, rev: str) -> dict | None:
            if not link or not link.get("files"):
                return None
            try:
                return json.loads(repo.store.get(ObjectRef.from_json(link["files"]), "source file list"))
            except ObjectError as e:
                late_warnings.append(f"the source file list of {rev} is not available ({e.message}); "
                                     "source data compared by its overall hash only")
                return None

        fa, fb = files(la, a), files(lb, b)
        if (la and la.get("files") and fa is None) or (lb and lb.get("files") and fb is None):
            fa = fb = None
        return diff_source(la, lb, fa, fb)

    def same_agreement_input(mv: str) -> bool:
        sa_, sb_ = va.snapshot("annotations"), vb.snapshot("annotations")
        pa_, pb_ = va.snapshot("predictions", mv), vb.snapshot("predictions", mv)
        return bool(sa_ and sb_ and pa_ and pb_ and sa_.id == sb_.id and pa_.id == pb_.id)

    mv_a, mv_b = va.model_versions, vb.model_versions
    ca, cb = va.config_ref, vb.config_ref
    todo = {(name, None): pair(name, va.snapshot(name), vb.snapshot(name)) for name in ("tasks", "annotations")}
    for mv in sorted(set(mv_a) & set(mv_b)):
        todo["predictions", mv] = pair("predictions", va.snapshot("predictions", mv), vb.snapshot("predictions", mv))
    # every part to read, located now and verified while DuckDB reads it (see _verifying)
    refs = {r.oid: r for p in todo.values() if p for r in p[1] + p[2]}
    located = _located(repo, list(refs.values()))
    paths = {ref.oid: str(p) for ref, p in located}
    sources = {k: (Source(p[0], paths=tuple(paths[r.oid] for r in p[1]), hashed=p[3]),
                   Source(p[0], paths=tuple(paths[r.oid] for r in p[2]), hashed=p[3])) if p else None
               for k, p in todo.items()}
    plan = _Plan(
        a={"rev": a, "id": va.id}, b={"rev": b, "id": vb.id},
        stats_a=va.stats or _stats_of(repo, va), stats_b=vb.stats or _stats_of(repo, vb),
        tasks=sources[("tasks", None)], annotations=sources[("annotations", None)],
        predictions={k[1]: v for k, v in sources.items() if k[0] == "predictions"},
        mv_a=mv_a, mv_b=mv_b,
        config_a=lambda: config_text(va), config_b=lambda: config_text(vb),
        config_changed=(ca.oid if ca else None) != (cb.oid if cb else None),
        source=source,
        full_tasks=lambda s: full("tasks", s), full_annotations=lambda s: full("annotations", s),
        full_predictions=lambda s, mv: full("predictions", s, mv),
        same_agreement_input=same_agreement_input, parts=parts, warnings=late_warnings,
    )
    with _verifying(located):
        return _run(plan, opts)


def _stats_of(repo: "Repo", v: Any) -> dict:
    from annover.model import stats as S
    from annover.repo import read_version_table

    preds = {mv: read_version_table(repo.store, v, "predictions", mv) for mv in v.model_versions}
    return S.compute(read_version_table(repo.store, v, "tasks"), read_version_table(repo.store, v, "annotations"), preds)


__all__ = ["DiffResult", "Options", "POLICIES", "DEFAULT_POLICY", "Side", "diff", "diff_tables", "diff_config",
           "diff_source", "config_structure", "match_regions", "row_schema"]
