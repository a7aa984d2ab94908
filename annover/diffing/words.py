"""The words for what changed in a result value: its geometry ("box moved, IoU 0.82", "span
widened 5-9 -> 3-9") and its other keys ("text "a" -> "b""). Worked out once per distinct
pair of value texts, in Python: a value is JSON whose shape only :mod:`annover.model.geometry`
reads."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from annover.diffing.match import MAY_BE_SHAPE
from annover.diffing.result import fmt_labels
from annover.formats import label_studio as _ls
from annover.model.geometry import BOX, ELLIPSE, POLYGON, SPAN, Shape, shape_of, shape_score

#: Keys of a result value that hold its labels (as the Label Studio reader defines them);
#: the relabel words account for them.
LABEL_KEYS = frozenset(getattr(_ls, "LABEL_KEYS", None) or _ls._LABEL_KEYS)
SPAN_KEYS = frozenset({"start", "end", "text", "globalOffsets", "startOffset", "endOffset"})
AREA_KEYS = frozenset({"x", "y", "width", "height", "rotation", "points", "radiusX", "radiusY"})
BOX_KEYS = frozenset({"x", "y", "width", "height", "rotation"})
ELLIPSE_KEYS = frozenset({"x", "y", "radiusX", "radiusY", "rotation"})
POLYGON_KEYS = frozenset({"points"})
#: How many differing keys of a value the words name before "..."
KEYS_SHOWN = 3
VALUE_CHANGED = "value changed"


def num_s(v: Any, whole: bool = False) -> str:
    """A number as the words write it: integers plainly, floats by ``%g`` (``whole``: a float
    that is an integer as an integer), None as "-"."""
    if v is None:
        return "-"
    if whole and isinstance(v, float) and v.is_integer():
        v = int(v)
    return f"{v:g}" if isinstance(v, float) else str(v)


def short(v: Any, n: int = 40) -> str:
    """A value as a string of at most ``n`` characters (JSON unless a string)."""
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True)
    return s if len(s) <= n else s[: n - 3] + "..."


def keys_changed(da: dict, db: dict, prefix: str = "", skip: frozenset = frozenset()) -> list[str]:
    """Words for the keys whose values differ: ``k a -> b`` for the first few."""
    ks = [k for k in sorted(set(da) | set(db)) if k not in skip and da.get(k) != db.get(k)]
    return [f"{prefix}{k} {short(da.get(k))} -> {short(db.get(k))}" for k in ks[:KEYS_SHOWN]] + \
        (["..."] if len(ks) > KEYS_SHOWN else [])


def _span_words(sa: Shape, sb: Shape, va: dict, vb: dict) -> str:
    (a0, a1), (b0, b1) = sa.geom, sb.geom
    if (a0, a1) == (b0, b1):
        return "span text changed" if va.get("text") != vb.get("text") else ""
    if b0 <= a0 and b1 >= a1:
        word = "span widened"
    elif b0 >= a0 and b1 <= a1:
        word = "span narrowed"
    else:
        word = "span moved"
    return f"{word} {num_s(a0, True)}-{num_s(a1, True)} -> {num_s(b0, True)}-{num_s(b1, True)}"


def _moves(form: str, va: dict, vb: dict) -> str:
    """"moved", "resized", "rotated" (joined) of a box or an ellipse."""
    size = ("width", "height") if form == BOX else ("radiusX", "radiusY")
    moves = []
    if any(va.get(k) != vb.get(k) for k in ("x", "y")):
        moves.append("moved")
    if any(va.get(k) != vb.get(k) for k in size):
        moves.append("resized")
    if (va.get("rotation") or 0) != (vb.get("rotation") or 0):
        moves.append("rotated")
    return moves[0] if len(moves) == 1 else ", ".join(moves[:-1]) + " and " + moves[-1] if moves else ""


def geometry_words(sa: Shape, sb: Shape, va: dict, vb: dict, score: float | None) -> tuple[str, frozenset]:
    """Words for a change of shape ("" for none), and the value keys they account for."""
    if sa.family == SPAN and sb.family == SPAN:
        return _span_words(sa, sb, va, vb), SPAN_KEYS
    form = sb.form if sa.form == sb.form else f"{sa.form} -> {sb.form}"
    iou = f", IoU {score:.2f}" if score is not None else ""
    if sa.form in (BOX, ELLIPSE) and sb.form == sa.form:
        moves = _moves(sa.form, va, vb)
        return (f"{form} {moves}{iou}" if moves else ""), BOX_KEYS if sa.form == BOX else ELLIPSE_KEYS
    if sa.form == POLYGON and sb.form == POLYGON:
        if sa.geom == sb.geom:
            return "", POLYGON_KEYS
        if len(sa.geom) == len(sb.geom):
            d = {(round(q[0] - p[0], 9), round(q[1] - p[1], 9)) for p, q in zip(sa.geom, sb.geom)}
            if len(d) == 1:
                return f"polygon moved{iou}", POLYGON_KEYS
        return f"polygon changed{iou}", POLYGON_KEYS
    return f"{form} changed{iou}", AREA_KEYS


class ValueChange(NamedTuple):
    """What differs between two values: geometry words, words for other keys, the shape score."""

    changed: bool
    geometry: str | None = None
    keys: str | None = None
    score: float | None = None
    #: only the labels the value holds differ (the relabel words account for them, if any)
    labels_only: bool = False


_SAME = ValueChange(False)


def _without_labels(v: Any) -> Any:
    return {k: x for k, x in v.items() if k not in LABEL_KEYS} if isinstance(v, dict) else v


def value_change(text_a: str | None, text_b: str | None) -> ValueChange:
    """How two value texts (canonical JSON) differ, apart from their labels."""
    va = None if text_a is None else json.loads(text_a)
    vb = None if text_b is None else json.loads(text_b)
    if va == vb:
        return _SAME
    sa = shape_of(va) if text_a is not None and MAY_BE_SHAPE.search(text_a) else None
    sb = shape_of(vb) if text_b is not None and MAY_BE_SHAPE.search(text_b) else None
    if _without_labels(va) == _without_labels(vb):
        return ValueChange(True, score=shape_score(sa, sb) if sa and sb else None, labels_only=True)
    used = LABEL_KEYS
    geometry, score = None, None
    if sa and sb:
        score = shape_score(sa, sb)
        geometry, gused = geometry_words(sa, sb, va, vb, score)
        used = used | gused
    da = va if isinstance(va, dict) else {"value": va}
    db = vb if isinstance(vb, dict) else {"value": vb}
    keys = keys_changed(da, db, skip=used)
    return ValueChange(True, geometry or None, "; ".join(keys) or None, score)


def region_text(labels: list | None, typ: str | None, value: str | None) -> str:
    """The words for a region added or removed: its labels (or type) and its shape."""
    text = fmt_labels(labels) if labels else (typ or "result")
    s = shape_of(json.loads(value)) if value is not None and MAY_BE_SHAPE.search(value) else None
    if s is not None:
        return text + (f", span {num_s(s.geom[0], True)}-{num_s(s.geom[1], True)}" if s.family == SPAN else f", {s.form}")
    if not labels and value is not None:
        return f"{text} {short(json.loads(value))}"
    return text
