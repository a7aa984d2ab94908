"""Row descriptions worked out a column at a time: the fast path of the row-level diff.

:func:`describe_pairs` and :func:`describe_one_side` give, for whole Arrow tables, the
kinds, words and scores that :func:`annover.diffing.core._describe_pair` and
:func:`annover.diffing.core._one_side_description` give row by row, and the same ones. They
handle the common cases with pyarrow and numpy:

- the answer columns (skip, ground truth, annotator, lead time, score, model version,
  attributes), changes of control, target, type and region attributes, results that are
  not regions (empty answers);
- relabels, whose value text differs only in its list of labels (as
  ``diffs._only_labels_differ`` tells), and values equal as text;
- values of one strict form, read without ``json.loads`` (:class:`_Values`): canonical
  JSON objects whose keys are those of a box or a span (plain numbers), label keys
  (lists of plain strings) and a span's ``text``. Two axis-aligned boxes whose numbers
  differ ("box moved, IoU 0.82"), two spans with integer ends whose ends differ ("span
  widened 3-9 -> 2-9"), and on one side boxes of any rotation and spans ("cat, box").

Every other row is handed to the Python functions, one at a time: polygons, ellipses,
rotated boxes, values with other keys, escaped strings, floats written with an exponent,
two shapes whose numbers are all equal (their values may differ in labels or text, or
not at all), null items in a list of labels, a value without labels on one side (its
JSON is quoted). So the output is the same either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa

# ---------------------------------------------------------------------------
# the one form of value read here

#: A number that ``json.loads`` and Arrow's cast read into the same double, exactly: an
#: integer of at most 15 digits, or a plain decimal (no exponent, no trailing zero, no -0).
_NUM = r"(?:-?(?:[1-9][0-9]{0,14}(?:\.[0-9]*[1-9])?|0\.[0-9]*[1-9])|0)"
#: A string with nothing escaped.
_PLAIN_STR = r'"[^"\\\x00-\x1f]*"'
#: Any JSON string (the ``text`` of a span).
_JSON_STR = r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"'
_LIST = r"\[(?:" + _PLAIN_STR + r"(?:," + _PLAIN_STR + r")*)?\]"
#: Number keys of a box or a span; with ``text``, every key but labels that the form has.
_NUM_KEYS = ("end", "height", "rotation", "start", "width", "x", "y")
_BOX_KEYS = ("height", "width", "x", "y")
_SPAN_KEYS = ("end", "start")
_SHAPE_RE = r'"(?:x|points|start|globalOffsets)":'  # as diffs._SHAPE_KEYS

_FORM: list[tuple[str, dict[str, bool]]] = []


def _tail(key: str) -> int:
    """The last two bytes of ``"key`` as one number (what :class:`_Values` tells keys by)."""
    b = b'"' + key.encode()
    return b[-1] * 256 + b[-2]


def _form() -> tuple[str, dict[str, bool]]:
    """The regex of the one value form read here: an object whose keys are number keys of a
    box or a span, label keys holding lists of plain strings, and ``text`` (a string); and,
    for the number keys and ``text``, whether another key of the form ends in the same two
    bytes. Order is free, as it is to ``json.loads``; :class:`_Values` checks that no number
    key and no ``text`` comes twice (a label key may: the words never read a value's labels)."""
    if not _FORM:
        from annover.diffing.core import _label_keys

        labels = sorted(_label_keys())
        entry = (f'"(?:{"|".join(labels)})":{_LIST}|"(?:{"|".join(_NUM_KEYS)})":{_NUM}'
                 + f'|"text":{_JSON_STR}')
        keys = [*_NUM_KEYS, "text", *labels]
        tails = [_tail(k) for k in keys]
        _FORM.append(("^\\{(?:(?:" + entry + ")(?:,(?:" + entry + "))*)?\\}$",
                      {k: tails.count(_tail(k)) > 1 for k in (*_NUM_KEYS, "text")}))
    return _FORM[0]


class _Values:
    """Value texts of the form of :func:`_form`, read without ``json.loads``.

    ``ok``: the text has the form; ``has[k]``: it has key ``k`` (a number key or
    ``text``); for the keys ``numbers``, ``num[k]``: that number as ``json.loads`` reads it
    (0.0 without the key), ``whole[k]``: it is written as an integer, :meth:`token`: its text.
    """

    def __init__(self, texts: "pa.Array", numbers: tuple[str, ...] = _NUM_KEYS) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        n = self.n = len(texts)
        if texts.type != pa.string():  # large_string: 32-bit offsets for the byte work below
            texts = texts.cast(pa.string())
        regex, ambiguous = _form()
        self.ok = _np_bool(pc.match_substring_regex(texts, regex))
        self.has = {k: np.zeros(n, bool) for k in (*_NUM_KEYS, "text")}
        self.num = {k: np.zeros(n) for k in _NUM_KEYS}
        self.whole = {k: np.zeros(n, bool) for k in _NUM_KEYS}
        self._at: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        offsets, data = _buffers(texts)
        self._data = data
        if not self.ok.any():
            return
        # In a text of the form, every '"' inside a string has a backslash before it, so a
        # key ends at each '":' without one; and every key is one of the form's.
        q = np.flatnonzero(data[offsets[0]:offsets[-1]] == 58) + (offsets[0] - 1)  # the '"' before a ':'
        q = q[q > offsets[0]]
        q = q[(data[q] == 34) & (data[q - 1] != 92)]
        row = np.repeat(np.arange(n, dtype=np.int32), np.diff(offsets))[q - offsets[0]].astype(np.int64)
        keep = self.ok[row]
        q, row = q[keep], row[keep]
        tail = data[q - 1].astype(np.int32) * 256 + data[q - 2]
        found = []
        for k in self.has:
            key = b'"' + k.encode()
            sel = np.flatnonzero(tail == _tail(k))
            if ambiguous[k]:  # another key of the form ends the same: compare the whole key
                for j in range(len(key) - 2):
                    sel = sel[data[q[sel] - len(key) + j] == key[j]]
            r = row[sel]
            count = np.bincount(r, minlength=n)
            self.ok &= count <= 1  # a key twice: json.loads keeps the last
            self.has[k] = count > 0
            if k in numbers:
                found.append((k, r, q[sel] + 2))
        for k in self.has:
            self.has[k] &= self.ok
        if not found:
            return
        starts = np.concatenate([f[2] for f in found])
        values, whole, ends = _numbers(data, starts)
        i = 0
        for k, r, start in found:
            j = i + len(r)
            self.num[k][r] = values[i:j]
            self.whole[k][r] = whole[i:j]
            self._at[k] = (r, start, ends[i:j])
            i = j

    def token(self, k: str) -> "tuple[np.ndarray, pa.Array]":
        """(rows, text of the number of key ``k`` in each of these rows)."""
        row, start, end = self._at[k]
        return row, _substrings(self._data, start, end)

    def part(self, start: int, stop: int) -> "_Values":
        """The texts ``start:stop``, sharing what was read."""
        out = _Values.__new__(_Values)
        out.n, out.ok, out._data = stop - start, self.ok[start:stop], self._data
        out.has = {k: v[start:stop] for k, v in self.has.items()}
        out.num = {k: v[start:stop] for k, v in self.num.items()}
        out.whole = {k: v[start:stop] for k, v in self.whole.items()}
        out._at = {}
        for k, (row, s, e) in self._at.items():
            sel = (row >= start) & (row < stop)
            out._at[k] = (row[sel] - start, s[sel], e[sel])
        return out

    def shape(self) -> "tuple[np.ndarray, np.ndarray]":
        """What ``shape_of`` makes of each text of the form: (a box, a span)."""
        box = self.ok.copy()
        for k in _BOX_KEYS:
            box &= self.has[k]
        return box, self.ok & ~box & self.has["start"] & self.has["end"]

    def rect(self) -> "np.ndarray":
        """A box and labels, nothing else (no span key, whose words would be left over)."""
        out = self.shape()[0]
        for k in (*_SPAN_KEYS, "text"):
            out &= ~self.has[k]
        return out

    def span(self) -> "np.ndarray":
        """A span, its text and labels, nothing else (no key of a box)."""
        out = self.shape()[1]
        for k in (*_BOX_KEYS, "rotation"):
            out &= ~self.has[k]
        return out


# ---------------------------------------------------------------------------
# column helpers


def _col(t: "pa.Table", name: str) -> "pa.Array":
    c = t.column(name)
    return c.combine_chunks() if hasattr(c, "combine_chunks") else c


def _buffers(arr: "pa.Array") -> "tuple[np.ndarray, np.ndarray]":
    """(offsets, bytes) of a string array; one more offset than items."""
    import numpy as np

    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], np.int32)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


def _substrings(data: "np.ndarray", starts: "np.ndarray", ends: "np.ndarray") -> "pa.Array":
    """The strings ``data[starts[i]:ends[i]]``."""
    import numpy as np
    import pyarrow as pa

    lens = ends - starts
    offs = np.zeros(len(lens) + 1, np.int64)
    np.cumsum(lens, out=offs[1:])
    idx = np.repeat(starts - offs[:-1], lens) + np.arange(offs[-1])
    return pa.StringArray.from_buffers(len(lens), pa.py_buffer(offs.astype(np.int32)), pa.py_buffer(data[idx]))


def _numbers(data: "np.ndarray", starts: "np.ndarray") -> "tuple[np.ndarray, np.ndarray, np.ndarray]":
    """The numbers (of the form's grammar) at ``starts``: their values as doubles, which are
    integers, and where each ends (at a ',' or '}'). Integers (at most 15 digits: exact) are
    read digit by digit; decimals by Arrow's cast, which rounds correctly as ``float()`` does."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    m = len(starts)
    value = np.zeros(m, np.int64)
    whole = np.ones(m, bool)
    ends = np.zeros(m, np.int64)
    live, at = np.arange(m), starts + (data[starts] == 45)  # after a '-'
    val = np.zeros(m, np.int64)
    while len(live):
        c = data[at]
        stop = (c == 44) | (c == 125)
        if stop.any():
            done = live[stop]
            ends[done], value[done] = at[stop], val[stop]
            go = ~stop
            live, at, val, c = live[go], at[go], val[go], c[go]
        digit = c.astype(np.int64) - 48
        dot = digit < 0  # '.': the rest is a fraction, read by the cast below
        if dot.any():
            whole[live[dot]] = False
        val = np.where(dot, val, val * 10 + digit)
        at = at + 1
    out = np.where(data[starts] == 45, -value, value).astype(np.float64)
    if not whole.all():
        i = np.flatnonzero(~whole)
        out[i] = pc.cast(_substrings(data, starts[i], ends[i]), pa.float64()).to_numpy(zero_copy_only=False)
    return out, whole, ends


def _np_bool(arr: Any) -> "np.ndarray":
    """A boolean Arrow array as numpy, nulls false."""
    import pyarrow.compute as pc

    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False)


def _is_null(arr: "pa.Array") -> "np.ndarray":
    import numpy as np

    if not arr.null_count:
        return np.zeros(len(arr), bool)
    return arr.is_null().to_numpy(zero_copy_only=False)


def _distinct(x: "pa.Array", y: "pa.Array") -> "np.ndarray":
    """``x != y`` of the Python values (None equal to None only)."""
    import pyarrow.compute as pc

    ne = pc.not_equal(x, y)
    if not x.null_count and not y.null_count:
        return ne.to_numpy(zero_copy_only=False)
    return (_is_null(x) != _is_null(y)) | _np_bool(ne)


def _float_differ(x: "pa.Array", y: "pa.Array") -> "np.ndarray":
    """``not diffs._same_float(x, y)``: nulls equal, NaNs equal, -0.0 equal to 0.0."""
    import numpy as np

    nx, ny = _is_null(x), _is_null(y)
    fx, fy = x.to_numpy(zero_copy_only=False), y.to_numpy(zero_copy_only=False)  # nulls are NaN
    with np.errstate(invalid="ignore"):
        eq = (fx == fy) | (np.isnan(fx) & np.isnan(fy))
    return (nx != ny) | (~nx & ~ny & ~eq)


def _lengths(x: "pa.Array") -> "np.ndarray":
    """Length of each list, -1 for a null list."""
    import pyarrow.compute as pc

    return pc.fill_null(pc.list_value_length(x), -1).to_numpy(zero_copy_only=False)


def _flat(x: "pa.Array", lengths: "np.ndarray | None" = None) -> "tuple[pa.Array, np.ndarray]":
    """The items of a list array and the row of each (null lists hold none)."""
    import numpy as np
    import pyarrow.compute as pc

    n = _lengths(x) if lengths is None else lengths
    return pc.list_flatten(x), np.repeat(np.arange(len(x)), np.maximum(n, 0))


def _null_items(x: "pa.Array", lengths: "np.ndarray") -> "np.ndarray":
    """Rows of a list array with a null item."""
    import numpy as np

    flat, parent = _flat(x, lengths)
    out = np.zeros(len(x), bool)
    if flat.null_count:
        out[parent[_is_null(flat)]] = True
    return out


def _lists_differ(x: "pa.Array", y: "pa.Array", lx: "np.ndarray", ly: "np.ndarray",
                  empty_is_none: bool) -> "np.ndarray":
    """``x != y`` of the Python lists, or ``(x or None) != (y or None)`` with ``empty_is_none``
    (``lx``, ``ly``: :func:`_lengths`)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if empty_is_none:
        lx, ly = np.where(lx == 0, -1, lx), np.where(ly == 0, -1, ly)
    differ = lx != ly
    idx = np.nonzero(~differ & (lx > 0))[0]
    if len(idx):
        take = pa.array(idx)
        sx, sy = (x, y) if len(idx) == len(x) else (x.take(take), y.take(take))
        fx, parent = _flat(sx, lx[idx])
        ne = _np_bool(pc.not_equal(fx, pc.list_flatten(sy))) | _is_null(fx)
        bad = np.zeros(len(idx), bool)
        bad[parent[ne]] = True
        differ[idx[bad]] = True
    return differ


def _fmt_labels(x: "pa.Array", lengths: "np.ndarray") -> "pa.Array":
    """``diffs.fmt_labels`` of each list (rows with null items excepted)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.if_else(pa.array(lengths > 0), pc.binary_join(x, ", "), pa.scalar("(none)"))


def _str_or(x: "pa.Array", none: str, empty: str | None = None) -> "pa.Array":
    """``x`` with None written ``none`` (and "" written ``empty``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = pc.fill_null(x, none)
    if empty is not None:
        out = pc.if_else(pc.equal(out, ""), pa.scalar(empty), out)
    return out


def _concat(*parts: Any) -> "pa.Array":
    """Strings joined item by item (a ``str`` part is the same for every item)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*[pa.scalar(p) if isinstance(p, str) else p for p in parts], "")


def _scatter(n: int, idx: "np.ndarray", values: "pa.Array") -> "pa.Array":
    """An array of ``n`` nulls but ``values`` at ``idx``."""
    import numpy as np
    import pyarrow as pa

    where = np.full(n, len(values), dtype=np.int64)
    where[idx] = np.arange(len(values))
    return pa.concat_arrays([values, pa.nulls(1, values.type)]).take(pa.array(where))


def _merge(n: int, fast: list["pa.Array"], idx: "np.ndarray", slow: list["pa.Array"]) -> list["pa.Array"]:
    """Arrays of ``n`` items: those of ``fast`` but at ``idx``, where ``slow``'s are."""
    import numpy as np
    import pyarrow as pa

    order = np.arange(n)
    order[idx] = n + np.arange(len(idx))
    take = pa.array(order)
    return [pa.concat_arrays([f, s.cast(f.type)]).take(take) for f, s in zip(fast, slow)]


# ---------------------------------------------------------------------------
# numbers, operation for operation as the Python path


def _pymin(p: "np.ndarray", q: "np.ndarray") -> "np.ndarray":
    """Python's ``min(p, q)``: ``p`` unless ``q < p``."""
    import numpy as np

    return np.where(q < p, q, p)


def _pymax(p: Any, q: "np.ndarray") -> "np.ndarray":
    """Python's ``max(p, q)``: ``p`` unless ``q > p``."""
    import numpy as np

    return np.where(q > p, q, p)


def _near_half(t: "np.ndarray") -> "np.ndarray":
    """Where rounding ``t`` to an integer could go either way by the error of computing ``t``."""
    import numpy as np

    return np.abs(t - np.floor(t) - 0.5) < 1e-6


def _round6(s: "np.ndarray") -> "np.ndarray":
    """``round(s, 6)`` of each item (Python's correctly rounded result; 0 <= s <= 1)."""
    import numpy as np

    t = s * 1e6
    out = np.rint(t) / 1e6
    for i in np.nonzero(_near_half(t))[0]:
        out[i] = round(float(s[i]), 6)
    return out


_HUNDREDTHS: list["pa.Array"] = []


def _fmt2(s: "np.ndarray") -> "pa.Array":
    """``f"{s:.2f}"`` of each item (0 <= s <= 1, as scores are)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not _HUNDREDTHS:
        _HUNDREDTHS.append(pa.array([f"{k // 100}.{k % 100:02d}" for k in range(101)]))
    t = s * 100
    k = np.rint(t).astype(np.int64)
    odd = _near_half(t) | (k < 0) | (k > 100)
    out = _HUNDREDTHS[0].take(pa.array(np.where(odd, 0, k)))
    if odd.any():
        idx = np.nonzero(odd)[0]
        out = pc.coalesce(_scatter(len(s), idx, pa.array([f"{float(s[i]):.2f}" for i in idx], pa.string())), out)
    return out


def _box_iou(a: tuple, b: tuple) -> "np.ndarray":
    """``diffs.box_iou`` of each pair of (x, y, width, height) columns."""
    import numpy as np

    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    ax0, ay0, ax1, ay1 = _pymin(ax, ax + aw), _pymin(ay, ay + ah), _pymax(ax, ax + aw), _pymax(ay, ay + ah)
    bx0, by0, bx1, by1 = _pymin(bx, bx + bw), _pymin(by, by + bh), _pymax(bx, bx + bw), _pymax(by, by + bh)
    iw = _pymax(0.0, _pymin(ax1, bx1) - _pymax(ax0, bx0))
    ih = _pymax(0.0, _pymin(ay1, by1) - _pymax(ay0, by0))
    inter = iw * ih
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    flat = union <= 0
    same = (ax == bx) & (ay == by) & (aw == bw) & (ah == bh)
    return np.where(flat, np.where(same, 1.0, 0.0), inter / np.where(flat, 1.0, union))


def _span_overlap(a0: "np.ndarray", a1: "np.ndarray", b0: "np.ndarray", b1: "np.ndarray") -> "np.ndarray":
    """``diffs.span_overlap`` of each pair of spans."""
    import numpy as np

    inter = _pymin(a1, b1) - _pymax(a0, b0)
    shorter = _pymin(a1 - a0, b1 - b0)
    empty = shorter <= 0
    return np.where(empty, np.where(inter >= 0, 1.0, 0.0), _pymax(0.0, inter) / np.where(empty, 1.0, shorter))


# ---------------------------------------------------------------------------
# kinds and words into arrays

_KINDS = ("relabel", "geometry", "value", "control", "to_name", "type", "region", "skip", "ground_truth",
          "annotator", "lead_time", "score", "model_version", "attrs")
_K = {k: i for i, k in enumerate(_KINDS)}
_MOVES = ["", "rotated", "resized", "resized and rotated", "moved", "moved and rotated", "moved and resized",
          "moved, resized and rotated"]  # by 4*moved + 2*resized + rotated


class _Words:
    """Kinds and words of each row, kind by kind; a row's come out in the order of :data:`_KINDS`."""

    def __init__(self, n: int) -> None:
        import numpy as np

        self.n = n
        self.mask = np.zeros((n, len(_KINDS)), bool)
        self.words: dict[int, Any] = {}  # kind -> a string, or an array of one per row

    def add(self, kind: str, mask: "np.ndarray", words: Any) -> None:
        """Rows ``mask`` have ``kind``, worded ``words`` (a string, or an array of one per row)."""
        import pyarrow as pa
        import pyarrow.compute as pc

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
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        mask = self.mask
        none = ~mask.any(axis=1)
        mask[none, _K["region"]] = True
        rows, kinds = np.nonzero(mask)
        offsets = pa.array(np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int32))
        kind_list = pa.ListArray.from_arrays(offsets, pa.array(_KINDS).take(pa.array(kinds)))
        sources = []
        start = np.zeros(len(_KINDS) + 1, np.int64)
        per_row = np.zeros(len(_KINDS) + 1, bool)
        pos = 0
        for k, w in self.words.items():
            arr = pa.array([w]) if isinstance(w, str) else w.cast(pa.string())
            start[k], per_row[k] = pos, not isinstance(w, str)
            sources.append(arr)
            pos += len(arr)
        sources.append(pa.array(["region id changed"]))
        idx = np.where(none[rows], pos, start[kinds] + np.where(per_row[kinds], rows, 0))
        flat = pa.concat_arrays(sources).take(pa.array(idx))
        return kind_list, pc.binary_join(pa.ListArray.from_arrays(offsets, flat), "; ")


# ---------------------------------------------------------------------------
# the Python path, for the rows the fast path leaves


def _py_pairs(spec: Any, a: "pa.Table", b: "pa.Table", idx: "np.ndarray") -> list[tuple[list[str], str, Any]]:
    """``diffs._describe_pair`` of the pairs at ``idx``."""
    import pyarrow as pa

    from annover.diffing import core as D

    memo: dict = {}
    take = pa.array(idx, pa.int64())
    return [D._describe_pair(spec, ra, rb, None, memo)
            for ra, rb in zip(D._py_rows(a.take(take), spec.cols), D._py_rows(b.take(take), spec.cols))]


def _py_one_side(spec: Any, t: "pa.Table", idx: "np.ndarray") -> list[str]:
    """``diffs._one_side_description`` of the rows at ``idx``."""
    import pyarrow as pa

    from annover.diffing import core as D

    cols = ["labels", "type", "value"] + (["was_cancelled"] if spec is D._ANN else [])
    memo: dict = {}
    return [D._one_side_description(spec, r, memo) for r in D._py_rows(t.take(pa.array(idx, pa.int64())), cols)]


# ---------------------------------------------------------------------------
# pairs

#: Above this many distinct pairs of label lists, _only_labels_differ goes row by row.
_MAX_LABEL_GROUPS = 64


def _only_labels_differ(va: "pa.Array", vb: "pa.Array", la: "pa.Array", lb: "pa.Array",
                        cand: "np.ndarray") -> "np.ndarray":
    """``diffs._only_labels_differ`` of the rows ``cand`` (both lists of labels non-empty,
    null-free and different, both values there): the labels' JSON is once in value A, and
    B's in its place gives value B. Worked out once for each distinct pair of lists."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from annover.diffing import core as D

    out = np.zeros(len(cand), bool)
    idx = np.nonzero(cand)[0]
    if not len(idx):
        return out
    take = pa.array(idx)
    la, lb = la.take(take), lb.take(take)
    # labels joined by '","': the inside of their JSON when no label has a '"' (those go row by row)
    ja, jb = pc.binary_join(la, '","'), pc.binary_join(lb, '","')
    quoted = _np_bool(pc.or_(pc.match_substring(ja, '"'), pc.match_substring(jb, '"')))
    ja, jb = ja.dictionary_encode(), jb.dictionary_encode()
    ia, ib = ja.indices.to_numpy(zero_copy_only=False), jb.indices.to_numpy(zero_copy_only=False)
    code = np.where(quoted, -1 - np.arange(len(idx)), ia.astype(np.int64) * len(jb.dictionary) + ib)
    groups, first, inv = np.unique(code, return_index=True, return_inverse=True)
    pats = [(D._labels_json(la[int(i)].as_py()), D._labels_json(lb[int(i)].as_py())) for i in first]
    order = np.argsort(inv.ravel(), kind="stable")
    rows = pa.array(idx[order])
    xs, ys = va.take(rows), vb.take(rows)
    if len(groups) > _MAX_LABEL_GROUPS:
        g = inv.ravel()[order]
        out[idx[order]] = [x.count(pats[k][0]) == 1 and x.replace(*pats[k]) == y
                           for x, y, k in zip(xs.to_pylist(), ys.to_pylist(), g)]
        return out
    bounds = np.searchsorted(inv.ravel()[order], np.arange(len(groups) + 1))
    res = []
    for g, (p, q) in enumerate(pats):
        lo, hi = int(bounds[g]), int(bounds[g + 1])
        x = xs.slice(lo, hi - lo)
        once = pc.equal(pc.count_substring(x, p), 1)
        res.append(_np_bool(pc.and_(once, pc.equal(pc.replace_substring(x, p, q), ys.slice(lo, hi - lo)))))
    out[idx[order]] = np.concatenate(res)
    return out


def _shape_words(va: "pa.Array", vb: "pa.Array") -> "tuple[np.ndarray, pa.Array, np.ndarray]":
    """For pairs of value texts that differ (and not only in their labels): where the fast
    path knows the words, the geometry's words (null: none) and the shape score.

    Known: two boxes (not rotated) or two spans (integer ends) of the form of
    :func:`_form` whose numbers differ. Their values differ then, and every key is one that
    ``_geometry_change`` accounts for or a label key: the words are the geometry's (or
    "value changed")."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    m = len(va)
    both = _Values(pa.concat_arrays([va, vb]))
    A, B = both.part(0, m), both.part(m, 2 * m)
    geo = pa.nulls(m, pa.string())
    same = np.ones(m, bool)
    for k in _NUM_KEYS:
        same &= (A.has[k] == B.has[k]) & (A.num[k] == B.num[k])
    rect = A.rect() & B.rect() & ~same
    span = A.span() & B.span() & ~same
    rot_a, rot_b = A.num["rotation"], B.num["rotation"]  # 0.0 without one, as `or 0`
    rect &= (np.fmod(rot_a, 360) == 0) & (np.fmod(rot_b, 360) == 0)  # else a polygon
    span &= A.whole["start"] & A.whole["end"] & B.whole["start"] & B.whole["end"]  # else "%g"
    known = rect | span
    if not known.any():
        return known, geo, np.zeros(m)
    box = lambda v: tuple(v.num[k] for k in ("x", "y", "width", "height"))  # noqa: E731
    (a0, a1), (b0, b1) = (A.num["start"], A.num["end"]), (B.num["start"], B.num["end"])
    with np.errstate(invalid="ignore", divide="ignore"):
        score = _round6(np.where(rect, _box_iou(box(A), box(B)),
                                 np.where(span, _span_overlap(a0, a1, b0, b1), 0.0)))
    if rect.any():
        moved = (A.num["x"] != B.num["x"]) | (A.num["y"] != B.num["y"])
        resized = (A.num["width"] != B.num["width"]) | (A.num["height"] != B.num["height"])
        code = 4 * moved + 2 * resized + (rot_a != rot_b)
        words = _concat("box ", pa.array(_MOVES).take(pa.array(code)), ", IoU ", _fmt2(score))
        geo = pc.if_else(pa.array(rect & (code > 0)), words, geo)
    if span.any():
        wider, narrower = (b0 <= a0) & (b1 >= a1), (b0 >= a0) & (b1 <= a1)
        how = pa.array(["span widened", "span narrowed", "span moved"]).take(
            pa.array(np.where(wider, 0, np.where(narrower, 1, 2))))
        ends = [_scatter(m, *v.token(k)) for v in (A, B) for k in ("start", "end")]
        words = _concat(how, " ", ends[0], "-", ends[1], " -> ", ends[2], "-", ends[3])
        geo = pc.if_else(pa.array(span), words, geo)
    return known, geo, score


def describe_pairs(spec: Any, a: "pa.Table", b: "pa.Table") -> "tuple[pa.Array, pa.Array, pa.Array]":
    """Kinds (list<string>), description (string) and shape score (float64, null for none)
    of each pair of rows ``a[i]``, ``b[i]`` (columns ``region_key`` and ``spec.cols``):
    those of ``diffs._describe_pair(spec, a[i], b[i], None)``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from annover.diffing import core as D

    n = a.num_rows
    if n != b.num_rows:
        raise ValueError(f"{n} rows against {b.num_rows}")
    ca = {name: _col(a, name) for name in ("region_key", *spec.cols)}
    cb = {name: _col(b, name) for name in ("region_key", *spec.cols)}
    words = _Words(n)
    score = np.zeros(n)
    has_score = np.zeros(n, bool)
    la, lb = ca["labels"], cb["labels"]
    len_a, len_b = _lengths(la), _lengths(lb)
    slow = _is_null(ca["region_key"]) | _is_null(cb["region_key"]) | _null_items(la, len_a) | _null_items(lb, len_b)
    both = _np_bool(pc.not_equal(ca["region_key"], "")) & _np_bool(pc.not_equal(cb["region_key"], ""))

    # a result that is not a region (an empty answer) on either side: changed or not, as a whole
    if not both.all():
        differ = _lists_differ(la, lb, len_a, len_b, empty_is_none=False)
        for col in ("from_name", "to_name", "type", "value", "region"):
            differ |= _distinct(ca[col], cb[col])
        words.add("value", ~both & differ, "result changed")

    # labels
    relabel = both & _lists_differ(la, lb, len_a, len_b, empty_is_none=True)
    if relabel.any():
        words.add("relabel", relabel, _concat(_fmt_labels(la, len_a), " -> ", _fmt_labels(lb, len_b)))

    # the value: equal as text, or differing only in its labels, or a box or a span changed
    va, vb = ca["value"], cb["value"]
    vdiff = both & _distinct(va, vb) & ~slow
    cand = vdiff & relabel & (len_a > 0) & (len_b > 0) & ~_is_null(va) & ~_is_null(vb)
    parse = vdiff & ~_only_labels_differ(va, vb, la, lb, cand)
    if parse.any():
        idx = np.nonzero(parse)[0]
        take = pa.array(idx)
        known, geo, gscore = _shape_words(va.take(take), vb.take(take))
        slow[idx[~known]] = True
        has_score[idx[known]] = True
        score[idx[known]] = gscore[known]
        has_geo = np.zeros(n, bool)
        has_geo[idx] = _np_bool(pc.is_valid(geo))
        words.add("geometry", has_geo, _scatter(n, idx, geo))
        words.add("value", has_score & ~has_geo & ~relabel, "value changed")

    # control, target, type, region attributes
    for col, kind in (("from_name", "control"), ("to_name", "to_name"), ("type", "type")):
        differ = both & _distinct(ca[col], cb[col])
        if differ.any():
            words.add(kind, differ, _concat(f"{kind} ", _str_or(ca[col], "None"), " -> ", _str_or(cb[col], "None")))
    words.add("region", both & _distinct(ca["region"], cb["region"]), "region attributes changed")

    # the answer (prediction) columns
    def numbers(col: str, label: str) -> None:
        differ = _float_differ(ca[col], cb[col])
        if differ.any():
            i = np.nonzero(differ)[0]
            xa, xb = ca[col].take(pa.array(i)).to_pylist(), cb[col].take(pa.array(i)).to_pylist()
            said = [f"{label} {D._num_s(x)} -> {D._num_s(y)}" for x, y in zip(xa, xb)]
            words.add(col, differ, _scatter(n, i, pa.array(said, pa.string())))

    if spec is D._ANN:
        for col, kind, yes, no in (("was_cancelled", "skip", "skipped", "unskipped"),
                                   ("ground_truth", "ground_truth", "ground truth set", "ground truth unset")):
            differ = _distinct(ca[col], cb[col])
            if differ.any():
                words.add(kind, differ, pc.if_else(pc.fill_null(cb[col], False), pa.scalar(yes), pa.scalar(no)))
        differ = _distinct(ca["annotator"], cb["annotator"])
        if differ.any():
            words.add("annotator", differ, _concat("annotator ", _str_or(ca["annotator"], "-", "-"), " -> ",
                                                   _str_or(cb["annotator"], "-", "-")))
        numbers("lead_time", "lead time")
    else:
        numbers("score", "score")
        differ = _distinct(ca["model_version"], cb["model_version"])
        if differ.any():
            words.add("model_version", differ, _concat("model version ", _str_or(ca["model_version"], "None"),
                                                       " -> ", _str_or(cb["model_version"], "None")))
    words.add("attrs", _distinct(ca["extra"], cb["extra"]),
              "answer attributes changed" if spec is D._ANN else "prediction attributes changed")

    kinds, description = words.arrays()
    scores = pa.array(score, pa.float64(), mask=~has_score)
    idx = np.nonzero(slow)[0]
    if len(idx):
        rows = _py_pairs(spec, a, b, idx)
        kinds, description, scores = _merge(n, [kinds, description, scores], idx, [
            pa.array([r[0] for r in rows], pa.list_(pa.string())), pa.array([r[1] for r in rows], pa.string()),
            pa.array([r[2] for r in rows], pa.float64())])
    return kinds, description, scores


# ---------------------------------------------------------------------------
# rows on one side


def describe_one_side(spec: Any, t: "pa.Table") -> "pa.Array":
    """The description (string) of each row of ``t``, added or removed: that of
    ``diffs._one_side_description(spec, t[i])``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from annover.diffing import core as D

    n = t.num_rows
    rk, labels, typ, value = (_col(t, c) for c in ("region_key", "labels", "type", "value"))
    lengths = _lengths(labels)
    slow = _is_null(rk) | _null_items(labels, lengths)
    has_labels = lengths > 0
    out = pc.if_else(pa.array(has_labels), _fmt_labels(labels, lengths), _str_or(typ, "result", "result"))
    region = _np_bool(pc.not_equal(rk, ""))
    shaped = region & _np_bool(pc.match_substring_regex(value, _SHAPE_RE))
    # no shape: the labels; without labels, the value's JSON (left to the Python path)
    slow |= region & ~shaped & ~has_labels & ~_is_null(value)
    if shaped.any():
        idx = np.nonzero(shaped)[0]
        m = len(idx)
        v = _Values(value.take(pa.array(idx)), numbers=_SPAN_KEYS)
        box, span = v.shape()
        span &= v.whole["start"] & v.whole["end"]  # else "%g" (left to the Python path)
        slow[idx[~(box | span)]] = True
        suffix = pc.if_else(pa.array(box), pa.scalar(", box"), pa.scalar(None, pa.string()))
        if span.any():
            spans = _concat(", span ", _scatter(m, *v.token("start")), "-", _scatter(m, *v.token("end")))
            suffix = pc.if_else(pa.array(span), spans, suffix)
        suffix = _scatter(n, idx, suffix)
        out = pc.if_else(pc.is_valid(suffix), _concat(out, pc.fill_null(suffix, "")), out)
    if spec is D._ANN:
        skipped = pc.fill_null(_col(t, "was_cancelled"), False)
    else:
        skipped = pa.array(np.zeros(n, bool))
    out = pc.if_else(pa.array(region), out, pc.if_else(skipped, pa.scalar("skipped"), pa.scalar("empty answer")))
    idx = np.nonzero(slow)[0]
    if len(idx):
        (out,) = _merge(n, [out], idx, [pa.array(_py_one_side(spec, t, idx), pa.string())])
    return out
