"""Region matching: pair the regions of one answer that the key join left over, by shape."""

from __future__ import annotations

import json
import re
from typing import Any

from annover.diffing.result import BY_CONTROL, BY_IOU, BY_OVERLAP, BY_POINT, Options
from annover.model.geometry import POINT, SHAPE_KEYS, SPAN, Shape, score_matrix, shape_on

#: A value text that may be a shape (one of :data:`SHAPE_KEYS` as a key): most values
#: (choices, text) have none and are not parsed.
MAY_BE_SHAPE = re.compile("\"(?:" + "|".join(SHAPE_KEYS) + ")\":")
#: Result types whose values are never shapes (a choice, a taxonomy path, a text, a number), as SQL.
PLAIN_TYPES = "('choices', 'taxonomy', 'textarea', 'rating', 'number', 'datetime')"


def plain_sql(p: str = "") -> str:
    """Whether a row (columns prefixed ``p``) is of a type whose value is never a shape (DuckDB);
    tested before :func:`has_shape_sql`, it spares the regular expression most rows."""
    return f"coalesce({p}type, '') IN {PLAIN_TYPES}"


def has_shape_sql(p: str = "") -> str:
    """Whether a row's value text may be a shape (:data:`MAY_BE_SHAPE`), as SQL (DuckDB)."""
    return f"regexp_matches(coalesce({p}value, ''), '{MAY_BE_SHAPE.pattern.replace(chr(39), chr(39) * 2)}')"


def region_row_sql(p: str = "") -> str:
    """Whether a row is a region (a value with a shape) of a region control: a box, a span, a polygon,
    a keypoint; not a classification, though a per-region one carries its region's shape. The one
    reading of a region row of the diff (:mod:`annover.diffing.sql`) and the loop
    (``annover.loop.queries.answered(shape=True)``)."""
    return f"NOT {plain_sql(p)} AND {has_shape_sql(p)}"
_UNSET: Any = object()


def shape_of_text(text: str | None, region: str | None = None) -> Shape | None:
    """The shape of a value given as JSON text (None for no shape); ``region``: the JSON text of
    the region's other fields (annover's ``region`` column), read for the image's size where the
    value is turned (:func:`annover.model.geometry.turned`)."""
    if text is None or not MAY_BE_SHAPE.search(text):
        return None
    return shape_on(json.loads(text), region)


class Region:
    """One row left over on one side of an answer: what matching needs, and where the row is."""

    __slots__ = ("region_key", "from_name", "labels", "value", "index", "region", "_shape")

    def __init__(self, region_key: str, from_name: str | None, labels: list | None, value: str | None,
                 index: int = -1, region: str | None = None) -> None:
        self.region_key, self.from_name, self.labels, self.value = region_key, from_name, labels, value
        self.index = index  # the row's number in its side's table
        self.region = region  # the row's ``region`` text: the image size a turned box is drawn on
        self._shape = _UNSET

    def shape(self) -> Shape | None:
        if self._shape is _UNSET:
            self._shape = shape_of_text(self.value, self.region)
        return self._shape


Pair = tuple[Region, Region, str, "float | None"]


def _candidates(ga: list[Region], gb: list[Region], opts: Options) -> list[tuple]:
    """Pairs of one control's regions whose shapes overlap enough, best first."""
    sa = [r.shape() for r in ga]
    scores = score_matrix(sa, [r.shape() for r in gb])
    cands = []
    for i, j, s in ((i, j, s) for i, row in enumerate(scores) for j, s in enumerate(row) if s > 0):
        span = sa[i].family == SPAN
        if s >= (opts.overlap_threshold if span else opts.iou_threshold):
            ka, kb = ga[i].region_key, gb[j].region_key
            how = BY_OVERLAP if span else BY_POINT if sa[i].family == POINT else BY_IOU
            cands.append((-s, min(ka, kb), max(ka, kb), i, j, how, s))
    cands.sort(key=lambda c: c[:3])
    return cands


def _match_group(ga: list[Region], gb: list[Region], opts: Options) -> tuple[list[Pair], list[Region], list[Region]]:
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs: list[Pair] = []
    for _, _, _, i, j, how, s in _candidates(ga, gb, opts):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((ga[i], gb[j], how, s))
    plain_a = [i for i in range(len(ga)) if i not in used_a and ga[i].shape() is None]
    plain_b = [j for j in range(len(gb)) if j not in used_b and gb[j].shape() is None]
    if len(plain_a) == 1 and len(plain_b) == 1:  # one plain result of the control on each side
        pairs.append((ga[plain_a[0]], gb[plain_b[0]], BY_CONTROL, None))
        used_a.add(plain_a[0])
        used_b.add(plain_b[0])
    return (pairs, [r for i, r in enumerate(ga) if i not in used_a],
            [r for j, r in enumerate(gb) if j not in used_b])


def match_regions(removed: list[Region], added: list[Region], opts: Options,
                  renames: dict[str, str] | None = None) -> tuple[list[Pair], list[Region], list[Region]]:
    """Pair regions of one answer left over after the key join (same control, by shape).

    Boxes and polygons pair by IoU >= ``opts.iou_threshold``, keypoints by their similarity
    (:func:`annover.model.geometry.shape_score`) >= the same threshold, spans by overlap >=
    ``opts.overlap_threshold`` (best pairs first); other results pair when the control
    has exactly one left on each side. ``renames`` maps side-A control names to side B's.
    Returns (pairs as (a, b, how, score), unmatched a rows, unmatched b rows).
    """
    renames = renames or {}
    groups: dict[Any, tuple[list[Region], list[Region]]] = {}
    for r in removed:
        groups.setdefault(renames.get(r.from_name, r.from_name), ([], []))[0].append(r)
    for r in added:
        groups.setdefault(r.from_name, ([], []))[1].append(r)
    pairs: list[Pair] = []
    rest_a: list[Region] = []
    rest_b: list[Region] = []
    for _, (ga, gb) in sorted(groups.items(), key=lambda kv: str(kv[0])):
        if not ga or not gb:
            rest_a += ga
            rest_b += gb
            continue
        p, ra, rb = _match_group(ga, gb, opts)
        pairs += p
        rest_a += ra
        rest_b += rb
    return pairs, rest_a, rest_b
