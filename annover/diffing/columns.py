"""Arrow and numpy helpers for wording rows a column at a time: comparisons with Python's
notion of equal (None equal to None only), string building, and kinds gathered per row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.diffing.result import NO_LABEL

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

#: Kinds of change of an answers row, in the order a row lists them.
KINDS = ("relabel", "geometry", "value", "control", "to_name", "type", "region", "skip", "ground_truth",
         "annotator", "lead_time", "score", "model_version", "attrs")
_K = {k: i for i, k in enumerate(KINDS)}
#: The words of a row matched by shape whose content is the same: only the tool's region id changed.
REGION_ID_CHANGED = "region id changed"


def column(t: "pa.Table", name: str) -> "pa.Array":
    """Column ``name`` as one array: its one chunk as it is (no copy) unless that is a slice
    (some Arrow kernels refuse a sliced list with nulls), else its chunks combined."""
    c = t.column(name)
    if hasattr(c, "num_chunks") and c.num_chunks == 1 and not c.chunk(0).offset:
        return c.chunk(0)
    return c.combine_chunks() if hasattr(c, "combine_chunks") else c


def np_bool(arr: Any) -> "np.ndarray":
    """A boolean Arrow array as numpy, nulls false."""
    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False)


def is_null(arr: "pa.Array") -> "np.ndarray":
    if not arr.null_count:
        return np.zeros(len(arr), bool)
    return arr.is_null().to_numpy(zero_copy_only=False)


def distinct(x: "pa.Array", y: "pa.Array") -> "np.ndarray":
    """``x != y`` of the Python values (None equal to None only)."""
    ne = pc.not_equal(x, y)
    if not x.null_count and not y.null_count:
        return ne.to_numpy(zero_copy_only=False)
    return (is_null(x) != is_null(y)) | np_bool(ne)


def floats_differ(x: "pa.Array", y: "pa.Array") -> "np.ndarray":
    """Two float columns differ: nulls equal, NaNs equal, -0.0 equal to 0.0."""
    nx, ny = is_null(x), is_null(y)
    fx, fy = x.to_numpy(zero_copy_only=False), y.to_numpy(zero_copy_only=False)  # nulls are NaN
    with np.errstate(invalid="ignore"):
        eq = (fx == fy) | (np.isnan(fx) & np.isnan(fy))
    return (nx != ny) | (~nx & ~ny & ~eq)


def lengths(x: "pa.Array") -> "np.ndarray":
    """Length of each list, -1 for a null list."""
    return pc.fill_null(pc.list_value_length(x), -1).to_numpy(zero_copy_only=False)


def lists_differ(x: "pa.Array", y: "pa.Array", lx: "np.ndarray", ly: "np.ndarray",
                 empty_is_none: bool) -> "np.ndarray":
    """``x != y`` of the Python lists, or ``(x or None) != (y or None)`` with ``empty_is_none``
    (``lx``, ``ly``: :func:`lengths`)."""
    if empty_is_none:
        lx, ly = np.where(lx == 0, -1, lx), np.where(ly == 0, -1, ly)
    differ = lx != ly
    idx = np.nonzero(~differ & (lx > 0))[0]
    if len(idx):
        take = pa.array(idx)
        sx, sy = (x, y) if len(idx) == len(x) else (x.take(take), y.take(take))
        fx = pc.list_flatten(sx)
        parent = np.repeat(np.arange(len(idx)), lx[idx])
        ne = np_bool(pc.not_equal(fx, pc.list_flatten(sy))) | (is_null(fx) != is_null(pc.list_flatten(sy)))
        bad = np.zeros(len(idx), bool)
        bad[parent[ne]] = True
        differ[idx[bad]] = True
    return differ


def labels_differ(x: "pa.Array", y: "pa.Array", lx: "np.ndarray", ly: "np.ndarray") -> "np.ndarray":
    """Whether two regions' labels differ as a relabel: ``(x or None) != (y or None)`` of the
    lists in sorted order (a region's labels in another order are the same labels; Label
    Studio keeps them in the order they were clicked)."""
    differ = lists_differ(x, y, lx, ly, empty_is_none=True)
    idx = np.flatnonzero(differ & (lx == ly) & (lx > 1))  # as long, several labels: maybe reordered only
    if len(idx):
        take = pa.array(idx)
        sx, sy = _sorted_items(x.take(take), lx[idx]), _sorted_items(y.take(take), ly[idx])
        ne = np_bool(pc.not_equal(sx, sy)) | (is_null(sx) != is_null(sy))
        same = np.ones(len(idx), bool)
        same[np.repeat(np.arange(len(idx)), lx[idx])[ne]] = False
        differ[idx[same]] = False
    return differ


def _sorted_items(lists: "pa.Array", lengths: "np.ndarray") -> "pa.Array":
    """The items of ``lists`` end to end, each list's sorted (nulls last)."""
    items = pc.list_flatten(lists)
    parent = pa.array(np.repeat(np.arange(len(lengths)), lengths))
    order = pc.sort_indices(pa.table({"p": parent, "v": items}), sort_keys=[("p", "ascending"), ("v", "ascending")])
    return items.take(order)


def _label_order(v: Any) -> tuple:
    return (v is None, v or "")


def same_labels(a: "list | None", b: "list | None") -> bool:
    """:func:`labels_differ` of two Python lists, negated."""
    return sorted(a or [], key=_label_order) == sorted(b or [], key=_label_order)


def repeats(x: "pa.Array", head: int = 1024) -> bool:
    """Whether ``x``'s values repeat enough to be worked out once each, through a dictionary:
    long, and few distinct values in its first ``head`` (a sample, so that a column of
    distinct values costs no dictionary)."""
    first = x.slice(0, head)
    return len(x) > 8 * head and pc.count_distinct(first, mode="all").as_py() * 8 < len(first)


def distinct_pairs(x: "pa.Array", y: "pa.Array") -> "tuple[np.ndarray, np.ndarray] | None":
    """(first row of each distinct pair, the distinct pair of each row) of two aligned arrays
    whose pairs repeat; None when they do not (then each row is its own)."""
    if not (repeats(x) and repeats(y)):
        return None
    ex, ey = pc.dictionary_encode(x, null_encoding="encode"), pc.dictionary_encode(y, null_encoding="encode")
    code = (ex.indices.to_numpy(zero_copy_only=False).astype(np.int64) * max(len(ey.dictionary), 1)
            + ey.indices.to_numpy(zero_copy_only=False))
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    return None if 4 * len(first) > len(x) else (first, inverse.reshape(-1))


def any_turned(*values: "pa.Array") -> bool:
    """Whether a value text of ``values`` may be turned (holds a ``rotation`` key: its shape then
    depends on the image's size, see :func:`annover.model.geometry.turned`)."""
    return any(bool(pc.any(pc.match_substring(v, '"rotation":')).as_py()) for v in values)


def fmt_labels(x: "pa.Array", n: "np.ndarray") -> "pa.Array":
    """:func:`annover.diffing.result.fmt_labels` of each list (``n``: their lengths)."""
    if pc.list_flatten(x).null_count:  # a null label is written as ""
        x = x.cast(pa.list_(pa.string()))
        x = pa.ListArray.from_arrays(x.offsets, pc.fill_null(x.values, ""), mask=x.is_null())
    return pc.if_else(pa.array(n > 0), pc.binary_join(x, ", "), pa.scalar(NO_LABEL))


def str_or(x: "pa.Array", none: str, empty: str | None = None) -> "pa.Array":
    """``x`` with None written ``none`` (and "" written ``empty``)."""
    out = pc.fill_null(x, none)
    if empty is not None:
        out = pc.if_else(pc.equal(out, ""), pa.scalar(empty), out)
    return out


def concat(*parts: Any) -> "pa.Array":
    """Strings joined item by item (a ``str`` part is the same for every item)."""
    return pc.binary_join_element_wise(*[pa.scalar(p) if isinstance(p, str) else p for p in parts], "")


def scatter(n: int, idx: "np.ndarray", values: "pa.Array") -> "pa.Array":
    """An array of ``n`` nulls but ``values`` at ``idx``."""
    where = np.full(n, len(values), dtype=np.int64)
    where[idx] = np.arange(len(values))
    return pa.concat_arrays([values, pa.nulls(1, values.type)]).take(pa.array(where))


class Words:
    """Kinds and words of each row, kind by kind; a row's come out in the order of :data:`KINDS`."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.mask = np.zeros((n, len(KINDS)), bool)
        self.words: dict[int, Any] = {}  # kind -> a string, or an array of one per row

    def add(self, kind: str, mask: "np.ndarray", words: Any) -> None:
        """Rows ``mask`` have ``kind``, worded ``words`` (a string, or an array of one per row)."""
        k = _K[kind]
        if not mask.any():
            return
        if k in self.words:  # more rows of a kind: their words too
            rep = lambda w: pa.repeat(pa.scalar(w), self.n) if isinstance(w, str) else w  # noqa: E731
            words = pc.if_else(pa.array(mask & ~self.mask[:, k]), rep(words), rep(self.words[k]))
        self.mask[:, k] |= mask
        self.words[k] = words

    def arrays(self) -> "tuple[pa.Array, pa.Array]":
        """(kinds, description); a row with no kind is a changed region id."""
        mask = self.mask
        none = ~mask.any(axis=1)
        mask[none, _K["region"]] = True
        rows, kinds = np.nonzero(mask)
        offsets = pa.array(np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int32))
        kind_list = pa.ListArray.from_arrays(offsets, pa.array(KINDS).take(pa.array(kinds)))
        sources = []
        start = np.zeros(len(KINDS) + 1, np.int64)
        per_row = np.zeros(len(KINDS) + 1, bool)
        pos = 0
        for k, w in self.words.items():
            arr = pa.array([w]) if isinstance(w, str) else w.cast(pa.string())
            start[k], per_row[k] = pos, not isinstance(w, str)
            sources.append(arr)
            pos += len(arr)
        sources.append(pa.array([REGION_ID_CHANGED]))
        idx = np.where(none[rows], pos, start[kinds] + np.where(per_row[kinds], rows, 0))
        flat = pa.concat_arrays(sources).take(pa.array(idx))
        return kind_list, pc.binary_join(pa.ListArray.from_arrays(offsets, flat), "; ")
