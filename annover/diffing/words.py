"""The words for what changed in a result value: its geometry ("box moved, IoU 0.82", "span
widened 5-9 -> 3-9", "nose moved 1.2% of the image's diagonal, similarity 0.70") and its
other keys ("text "a" -> "b"", of a long value the part that differs). Worked out once per distinct
pair of value texts, in Python: a value is JSON whose shape only :mod:`annover.model.geometry`
reads."""

from __future__ import annotations

import json
from typing import Any, Iterable, NamedTuple

from annover.diffing.match import MAY_BE_SHAPE
from annover.formats import label_studio as _ls
from annover.model.geometry import BOX, ELLIPSE, POINT, POLYGON, SPAN, Shape, point_distance, shape_on, shape_score
from annover.model.names import label_name, label_set_name, labels_named  # noqa: F401 - the diff's words

#: Keys of a result value that hold its labels (as the Label Studio reader defines them);
#: the relabel words account for them.
LABEL_KEYS = frozenset(getattr(_ls, "LABEL_KEYS", None) or _ls._LABEL_KEYS)
SPAN_KEYS = frozenset({"start", "end", "text", "globalOffsets", "startOffset", "endOffset"})
AREA_KEYS = frozenset({"x", "y", "width", "height", "rotation", "points", "radiusX", "radiusY"})
BOX_KEYS = frozenset({"x", "y", "width", "height", "rotation"})
ELLIPSE_KEYS = frozenset({"x", "y", "radiusX", "radiusY", "rotation"})
POLYGON_KEYS = frozenset({"points"})
#: a keypoint's place (its ``width`` is the dot's size as drawn: a key of its own in the words)
POINT_KEYS = frozenset({"x", "y"})
#: How many differing keys of a value the words name before "..."
KEYS_SHOWN = 3
#: How many characters of a value the words show, and how many before the first that differs
SHOWN = 40
CONTEXT = 12
VALUE_CHANGED = "value changed"


def num_s(v: Any, whole: bool = False) -> str:
    """A number as the words write it: integers plainly, floats by ``%g`` (``whole``: a float
    that is an integer as an integer), None as "-"."""
    if v is None:
        return "-"
    if whole and isinstance(v, float) and v.is_integer():
        v = int(v)
    return f"{v:g}" if isinstance(v, float) else str(v)


def short(v: Any, n: int = SHOWN) -> str:
    """A value as a string of at most ``n`` characters (JSON unless a string)."""
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True)
    return s if len(s) <= n else s[: n - 3] + "..."


def _fits(v: Any, n: int = SHOWN) -> bool:
    return len(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True)) <= n


def _leaves(path: str, a: Any, b: Any) -> list[tuple[str, Any, Any]]:
    """(path, a, b) of the parts of two differing values that differ, each shown whole if it fits:
    a value too long to show is followed into its keys (``chatmessage.content``) and into the
    items of lists of one length (``text[0]``), so the words name what changed."""
    if _fits(a) and _fits(b):
        return [(path, a, b)]
    if isinstance(a, dict) and isinstance(b, dict):
        return [leaf for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)
                for leaf in _leaves(f"{path}.{k}", a.get(k), b.get(k))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [leaf for i, (x, y) in enumerate(zip(a, b)) if x != y for leaf in _leaves(f"{path}[{i}]", x, y)]
    return [(path, a, b)]


def _excerpts(a: Any, b: Any) -> str:
    """``a -> b`` whole when both fit, else their JSON texts from a little before the first
    character they differ at: two long texts that differ near their end do not read the same."""
    if _fits(a) and _fits(b):
        return f"{short(a)} -> {short(b)}"
    ta, tb = (json.dumps(v, ensure_ascii=False, sort_keys=True) for v in (a, b))
    same = next((i for i, (x, y) in enumerate(zip(ta, tb)) if x != y), min(len(ta), len(tb)))
    start = max(0, same - CONTEXT)
    cut = lambda t: short(("..." if start else "") + t[start:])  # noqa: E731
    return f"{cut(ta)} -> {cut(tb)}"


def keys_changed(da: dict, db: dict, prefix: str = "", keys: list[str] | None = None) -> list[str]:
    """Words for the keys whose values differ (``keys``: those, sorted, if known): ``k a -> b``
    for the first few; of a value too long to show, the part that differs (:func:`_leaves`)."""
    ks = keys if keys is not None else [k for k in sorted(da.keys() | db.keys()) if da.get(k) != db.get(k)]
    leaves = [leaf for k in ks for leaf in _leaves(f"{prefix}{k}", da.get(k), db.get(k))]
    return [f"{path} {_excerpts(a, b)}" for path, a, b in leaves[:KEYS_SHOWN]] + \
        (["..."] if len(leaves) > KEYS_SHOWN else [])


def attrs_words(what: str, a: Any, b: Any) -> str:
    """Words for the attributes of a region, answer or prediction (JSON objects or None) that
    differ: ``region attributes changed: origin prediction -> prediction-changed``."""
    said = keys_changed(a if isinstance(a, dict) else {}, b if isinstance(b, dict) else {})
    return f"{what} attributes changed" + (f": {'; '.join(said)}" if said else "")


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
    return joined(moves)


def joined(words: list[str]) -> str:
    """"a", "a and b", "a, b and c" ("" for none)."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1] if words else ""


def region_name(va: dict, vb: dict) -> str:
    """The labels a region kept on both sides ("car", "nose": which of an image's 12 cars or a
    pose's joints changed), "" for none: unlabeled or relabeled (the relabel words name both)."""
    la, lb = ([x for k in sorted(v.keys() & LABEL_KEYS) if isinstance(v[k], list) for x in v[k]] for v in (va, vb))
    return ", ".join(map(str, la)) if la and la == lb else ""


def _named(name: str, what: str) -> str:
    return f"{name} {what}" if name else what


def geometry_words(sa: Shape, sb: Shape, va: dict, vb: dict, score: float | None) -> tuple[str, frozenset]:
    """Words for a change of shape ("" for none), and the value keys they account for."""
    name = region_name(va, vb)
    if sa.family == SPAN and sb.family == SPAN:
        said = _span_words(sa, sb, va, vb)
        return (_named(name, said) if said else ""), SPAN_KEYS
    if sa.family == POINT and sb.family == POINT:
        d = point_distance(sa, sb)
        similar = f", similarity {score:.2f}" if score is not None else ""
        return (f"{name or 'point'} moved {d:.2g}% of the image's diagonal{similar}" if d else ""), POINT_KEYS
    form = _named(name, sb.form if sa.form == sb.form else f"{sa.form} -> {sb.form}")
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
                return f"{form} moved{iou}", POLYGON_KEYS
        return f"{form} changed{iou}", POLYGON_KEYS
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


def parse_all(texts: Iterable[str | None]) -> dict[str | None, Any]:
    """Distinct JSON texts parsed, in one call of the parser (None stays None)."""
    distinct = list({t for t in texts if t is not None})
    parsed = json.loads("[" + ",".join(distinct) + "]") if distinct else []
    out: dict[str | None, Any] = dict(zip(distinct, parsed))
    out[None] = None
    return out


def _shape(text: str | None, value: Any, region: str | None = None) -> Shape | None:
    return shape_on(value, region) if text is not None and MAY_BE_SHAPE.search(text) else None


def value_change(text_a: str | None, text_b: str | None, parsed: dict | None = None,
                 region: str | None = None) -> ValueChange:
    """How two value texts (canonical JSON) differ, apart from their labels (``parsed``:
    texts already parsed, from :func:`parse_all`; ``region``: the region column's text, whose
    image size shapes a turned box)."""
    parsed = parsed if parsed is not None else parse_all((text_a, text_b))
    va, vb = parsed[text_a], parsed[text_b]
    if va == vb:
        return _SAME
    da = va if isinstance(va, dict) else {"value": va}
    db = vb if isinstance(vb, dict) else {"value": vb}
    differ = [k for k in sorted(da.keys() | db.keys()) if da.get(k) != db.get(k)]
    sa, sb = _shape(text_a, va, region), _shape(text_b, vb, region)
    score = shape_score(sa, sb) if sa and sb else None
    if all(k in LABEL_KEYS for k in differ):
        return ValueChange(True, score=score, labels_only=True)
    geometry, used = None, LABEL_KEYS
    if sa and sb:
        geometry, gused = geometry_words(sa, sb, va, vb, score)
        used = used | gused
    keys = keys_changed(da, db, keys=[k for k in differ if k not in used])
    return ValueChange(True, geometry or None, "; ".join(keys) or None, score)


def shape_suffix(text: str | None, value: Any) -> str:
    """What the words for a region added or removed say of its shape ("" for none)."""
    s = _shape(text, value)
    if s is None:
        return ""
    return f", span {num_s(s.geom[0], True)}-{num_s(s.geom[1], True)}" if s.family == SPAN else f", {s.form}"
