"""How many pairs of result values differ, at once: what :func:`annover.diffing.words.value_change`
says of each pair, with the two commonest kinds of value worked out a column at a time.

- values that hold labels only (``{"choices": [...]}``): the same, or only their labels differ;
- axis-aligned boxes (``x, y, width, height``, a rotation that is a multiple of 360, and
  labels): moved, resized or rotated, and their IoU, computed with numpy in the order of
  operations of :func:`annover.model.geometry.box_iou`, so to the same bits.

Any other pair (polygons, spans, ellipses, rotated boxes, other keys, numbers a float
cannot hold exactly, odd JSON) goes through ``value_change``, once per distinct pair.
A property test checks that both paths say the same of every pair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Sequence

from annover._lazy import lazy
from annover.diffing.words import BOX_KEYS, LABEL_KEYS, ValueChange, joined, parse_all, region_name, value_change

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
else:
    np = lazy("numpy")

#: A value of these keys, the first four always there, is a box if its numbers are.
_BOX = BOX_KEYS - {"rotation"}
_BOX_OR_LABELS = BOX_KEYS | LABEL_KEYS
#: Numbers up to this size are floats exactly, so numpy compares them as Python does.
_EXACT = 2**53
_NUMBER = frozenset({int, float})
#: What a box that changed is said to have done, by (moved, resized, rotated).
_MOVES = {(m, s, r): joined([w for w, on in (("moved", m), ("resized", s), ("rotated", r)) if on])
          for m in (False, True) for s in (False, True) for r in (False, True)}


class ValueChanges(NamedTuple):
    """What :func:`value_change` says of each pair, as columns."""

    changed: "np.ndarray"  # bool
    geometry: list[str | None]
    keys: list[str | None]
    score: "np.ndarray"  # float64, NaN where there is none
    labels_only: "np.ndarray"  # bool

    @classmethod
    def of(cls, found: Sequence[ValueChange]) -> "ValueChanges":
        """The columns of a list of :class:`ValueChange` (the reference path's answer)."""
        return cls(np.array([c.changed for c in found], bool), [c.geometry for c in found],
                   [c.keys for c in found], np.array([np.nan if c.score is None else c.score for c in found], float),
                   np.array([c.labels_only for c in found], bool))

    def expand(self, rows: "np.ndarray") -> "ValueChanges":
        """The changes of ``rows`` (indices into these)."""
        pick = lambda xs: np.array(xs, dtype=object)[rows].tolist() if len(rows) else []  # noqa: E731
        return ValueChanges(self.changed[rows], pick(self.geometry), pick(self.keys), self.score[rows],
                            self.labels_only[rows])


def _box(v: dict) -> tuple | None:
    """(x, y, width, height, rotation) of a value with a box's keys and labels, if it is an
    axis-aligned box whose numbers a float holds exactly (bools are not numbers)."""
    b = (v["x"], v["y"], v["width"], v["height"], v.get("rotation", 0))
    if _NUMBER.issuperset(map(type, b)) and -_EXACT < min(b) and max(b) < _EXACT:
        total = sum(b)
        if total - total == 0 and not b[4] % 360:  # no NaN; a rotation of 360 is none
            return b
    return None


def _box_name(va: dict, vb: dict, ka: "set | frozenset") -> str:
    """The start of a changed box's words, "car box " (:func:`region_name`; ``ka``: the keys of both,
    box keys and labels): one label kept under one key, the common case, without its sorts."""
    labels = ka - BOX_KEYS
    if len(labels) == 1:
        (k,) = labels
        a = va[k]
        if type(a) is list and len(a) == 1 and a == vb[k]:
            name = str(a[0])
            return f"{name} box " if name else "box "
    name = region_name(va, vb)
    return f"{name} box " if name else "box "


def _min(a: "np.ndarray", b: "np.ndarray") -> "np.ndarray":
    return np.where(b < a, b, a)  # Python's min(a, b)


def _max(a: "np.ndarray", b: "np.ndarray") -> "np.ndarray":
    return np.where(b > a, b, a)  # Python's max(a, b)


def _ious(ga: "np.ndarray", gb: "np.ndarray") -> list[float]:
    """:func:`annover.model.geometry.shape_score` of axis-aligned boxes, rows of (x, y, w, h)."""
    ax, ay, aw, ah = ga.T
    bx, by, bw, bh = gb.T
    ax0, ay0, ax1, ay1 = _min(ax, ax + aw), _min(ay, ay + ah), _max(ax, ax + aw), _max(ay, ay + ah)
    bx0, by0, bx1, by1 = _min(bx, bx + bw), _min(by, by + bh), _max(bx, bx + bw), _max(by, by + bh)
    zero = np.zeros(len(ga))
    with np.errstate(all="ignore"):
        inter = _max(zero, _min(ax1, bx1) - _max(ax0, bx0)) * _max(zero, _min(ay1, by1) - _max(ay0, by0))
        union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
        s = np.where(union <= 0, (ga == gb).all(axis=1).astype(float), inter / np.where(union <= 0, 1.0, union))
    return [round(x, 6) for x in s.tolist()]


def value_changes(texts_a: Sequence[str | None], texts_b: Sequence[str | None],
                  regions: Sequence[str | None] | None = None) -> ValueChanges:
    """:func:`value_change` of each pair ``texts_a[i]``, ``texts_b[i]`` (canonical JSON texts);
    ``regions``: the ``region`` column's text of each pair, whose image size shapes a turned box."""
    n = len(texts_a)
    regions = regions if regions is not None else [None] * n
    parsed = parse_all([*texts_a, *texts_b])
    changed, labels_only = np.zeros(n, bool), np.zeros(n, bool)
    score = np.full(n, np.nan)
    geometry: list[str | None] = [None] * n
    keys: list[str | None] = [None] * n
    boxes: list[tuple[int, tuple, tuple, str]] = []
    memo: dict[tuple, ValueChange] = {}
    for i, (ta, tb, region) in enumerate(zip(texts_a, texts_b, regions)):
        va, vb = parsed[ta], parsed[tb]
        if type(va) is dict and type(vb) is dict:
            ka, kb = va.keys(), vb.keys()
            if ka <= LABEL_KEYS and kb <= LABEL_KEYS:  # labels only: no shape, no other key
                if va != vb:
                    changed[i] = labels_only[i] = True
                continue
            # '"x":' in the texts: MAY_BE_SHAPE finds them shapes, as value_change reads them
            if ka == kb and _BOX <= ka <= _BOX_OR_LABELS and '"x":' in ta and '"x":' in tb:
                ba, bb = _box(va), _box(vb)
                if ba is not None and bb is not None:
                    if va != vb:
                        boxes.append((i, ba, bb, _box_name(va, vb, ka)))
                    continue
        c = memo.get((ta, tb, region))
        if c is None:
            c = memo[ta, tb, region] = value_change(ta, tb, parsed, region)
        changed[i], geometry[i], keys[i], labels_only[i] = c.changed, c.geometry, c.keys, c.labels_only
        if c.score is not None:
            score[i] = c.score
    if boxes:
        at = np.array([b[0] for b in boxes])
        ga = np.array([b[1] for b in boxes], float)
        gb = np.array([b[2] for b in boxes], float)
        ious = _ious(ga[:, :4], gb[:, :4])
        diff = ga != gb
        moved, resized, rotated = (diff[:, 0] | diff[:, 1]), (diff[:, 2] | diff[:, 3]), diff[:, 4]
        changed[at] = True
        labels_only[at] = ~(moved | resized | rotated)  # only the labels the value holds differ
        score[at] = ious
        for (i, _, _, box), m, s, r, iou in zip(boxes, moved.tolist(), resized.tolist(), rotated.tolist(), ious):
            if m or s or r:
                geometry[i] = f"{box}{_MOVES[m, s, r]}, IoU {iou:.2f}"
    return ValueChanges(changed, geometry, keys, score, labels_only)
