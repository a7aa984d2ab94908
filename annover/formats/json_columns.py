"""Pieces of JSON built column-wise by Arrow kernels, shared by the column-wise writers of
Label Studio JSON (:mod:`annover.formats.ls_columns`) and of JSON-MIN and JSONL
(:mod:`annover.formats.min_columns`): texts quoted, numbers and fields written, a column's JSON
texts checked to read back as orjson writes them, the answers' rows grouped in the general
writer's order and their provenance differences read.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import orjson
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")
    orjson = lazy("orjson")


#: How deep below a task's top a JSON text may sit in it, with a margin: a text is checked
#: wrapped in as many lists, so a task orjson would refuse (too deeply nested) is not written here.
DEPTH = 8


#: The nesting orjson writes at most (deeper is an error, and that task the standard library's).
ORJSON_DEPTH = 255


#: A character orjson (and the standard library) writes escaped in a JSON string.
ESCAPED = r'[\x00-\x1f"\\]'


#: ``ls_original`` of a task that holds only its place in the input (or nothing).
PLACE_ONLY = r'^\{("i":-?[0-9]+)?\}$'


def plain(col: Any) -> "pa.Array":
    """One array of ``col`` (a column or an array), dictionary texts decoded."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr


def dumped(values: list) -> "pa.Array":
    """Each value as orjson writes it (None stays null)."""
    return pa.array([None if v is None else orjson.dumps(v).decode() for v in values], pa.string())


def quoted(arr: "pa.Array") -> "pa.Array":
    """Texts as JSON strings (null stays null)."""
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        return dumped(arr.to_pylist())
    if escapes(arr):
        return dumped(arr.to_pylist())
    return pc.binary_join_element_wise('"', arr.cast(pa.string()), '"', "")


def text_bytes(arr: "pa.Array") -> "np.ndarray":
    """The UTF-8 bytes of an array of texts, one after another (a null's too, if it has any)."""
    bufs = arr.buffers()
    if bufs[2] is None or len(arr) == 0:
        return np.zeros(0, np.uint8)
    wide = pa.types.is_large_string(arr.type)
    off = np.frombuffer(bufs[1], np.int64 if wide else np.int32)[arr.offset:arr.offset + len(arr) + 1]
    return np.frombuffer(bufs[2], np.uint8)[int(off[0]):int(off[-1])]


def escapes(arr: "pa.Array") -> bool:
    """Whether a text holds a character a JSON string has escaped (:data:`ESCAPED`): a scan of
    the bytes (a byte below 0x20, ``"`` or ``\\`` is that character in UTF-8), not a regex a text."""
    b = text_bytes(arr)
    return bool(((b < 0x20) | (b == 0x22) | (b == 0x5C)).any())


def number(arr: "pa.Array") -> "pa.Array":
    """Integers (or any value) as JSON (null stays null)."""
    if pa.types.is_integer(arr.type):
        return arr.cast(pa.string())
    if pa.types.is_boolean(arr.type):
        return pc.if_else(arr, "true", "false")
    return dumped(arr.to_pylist())


def field(name: str, text: "pa.Array") -> "pa.Array":
    """``"name":text`` for each text (null where the text is null: the field is left out)."""
    return pc.binary_join_element_wise(orjson.dumps(name).decode() + ":", text, "")


def column_or_none(t: "pa.Table", name: str) -> "pa.Array | None":
    return plain(t.column(name)) if name in t.column_names else None


def optional(t: "pa.Table", column: str, name: str, render: Any) -> "pa.Array | None":
    """``"name":value`` of a column that may be absent (a row's null leaves the field out)."""
    col = column_or_none(t, column)
    return None if col is None else field(name, render(col))


def json_texts(arr: "pa.Array", merged: frozenset | None) -> "tuple[pa.Array, np.ndarray]":
    """(text to write, written here?) of each JSON text: the text itself, or for an object
    merged into the writer's (``merged``: the fields the writer sets) its fields without braces
    (null where it adds none). Each distinct text is checked once."""
    arr = plain(arr)
    enc = arr.dictionary_encode()
    texts, oks = [], []
    for s in enc.dictionary.to_pylist():
        text, ok = _checked(s, merged)
        texts.append(text)
        oks.append(ok)
    idx = enc.indices
    ok = np.array(oks + [True], dtype=bool)[pc.fill_null(idx, len(oks)).to_numpy(zero_copy_only=False)]
    return pa.array(texts, pa.string()).take(idx), ok


def reads_back(s: str) -> "tuple[Any, bool]":
    """(``s`` read by orjson, whether orjson writes it back as ``s``, nested DEPTH deeper)."""
    try:
        obj = orjson.loads(s)
        if s.count("[") + s.count("{") + DEPTH < ORJSON_DEPTH:  # a bound on its nesting
            return obj, orjson.dumps(obj) == s.encode()
        wrapped = obj
        for _ in range(DEPTH):
            wrapped = [wrapped]
        return obj, orjson.dumps(wrapped) == b"[" * DEPTH + s.encode() + b"]" * DEPTH
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, UnicodeEncodeError):
        return None, False


def _checked(s: str, merged: frozenset | None) -> "tuple[str | None, bool]":
    """(what to write, whether orjson writes ``json.loads(s)`` as ``s``, nested DEPTH deeper)."""
    obj, same = reads_back(s)
    if not same:
        return None, False
    if merged is None:
        return s, True
    if not obj:
        return None, True
    if not isinstance(obj, dict) or merged & obj.keys():
        return None, False
    return s[1:-1], True


def no_provenance(t: "pa.Table", pattern: str = r"^\{\}$") -> "np.ndarray":
    """Rows whose ``ls_original`` is null or matches ``pattern``."""
    col = column_or_none(t, "ls_original")
    if col is None:
        return np.ones(t.num_rows, dtype=bool)
    return pc.fill_null(pc.match_substring_regex(col, pattern), True).to_numpy(zero_copy_only=False)


def keyed(t: "pa.Table") -> "np.ndarray":
    """Rows whose keys and position are there (the general writer sorts by them; a null it
    cannot compare with a value is its to fail on)."""
    names = [n for n in ("annotation_key", "prediction_key", "region_key", "position") if n in t.column_names]
    ok = np.ones(t.num_rows, dtype=bool)
    for n in names:
        ok &= pc.is_valid(t.column(n)).to_numpy(zero_copy_only=False)
    return ok


def groups(t: "pa.Table", ti: "np.ndarray", key: str) -> "tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]":
    """(``t`` in the writer's order: task, answer key, position, region key, then ``t``'s
    order; the row of ``t`` each of its rows is; the task of each; the start of each answer's rows)."""
    n = t.num_rows
    pos = column_or_none(t, "position")
    cols = {"t": pa.array(ti), "k": plain(t.column(key)),
            "p": pos if pos is not None else pa.array(np.zeros(n, np.int32)),
            "r": plain(t.column("region_key")), "o": pa.array(np.arange(n))}
    order = pc.sort_indices(pa.table(cols), [(c, "ascending") for c in cols]).to_numpy()
    s = t.take(pa.array(order))
    k, ts = plain(s.column(key)), ti[order]
    first = np.ones(n, dtype=bool)
    if n > 1:
        first[1:] = (ts[1:] != ts[:-1]) | pc.not_equal(k.slice(1), k.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    return s, order, ts, np.flatnonzero(first)


def provenance_of(text: str | None) -> Any:
    """A provenance text as the general writer reads it (the standard library; {} for none)."""
    return (None if text is None else json.loads(text)) or {}


def diffs(grouped: tuple, key: str, want: "np.ndarray") -> "dict[int, list]":
    """For each task of ``want`` (a mask of the batch's tasks): [answer key, its answer-level
    difference, the row it came from, its result items' differences] of each of its answers,
    in the order the column-wise text has them (:func:`groups`)."""
    s, order, ts, starts = grouped
    rows = np.flatnonzero(want[ts]) if len(ts) else np.zeros(0, np.int64)
    out: dict[int, list] = {}
    if not len(rows):
        return out
    at = pa.array(rows)
    lso = column_or_none(s, "ls_original")
    texts = lso.take(at).to_pylist() if lso is not None else [None] * len(rows)
    cols = [plain(s.column(n)).take(at).to_pylist() for n in (key, "region_key")]
    gids = (np.searchsorted(starts, rows, side="right") - 1).tolist()
    last, entry = -1, []
    for t, g, row, text, akey, rk in zip(ts[rows].tolist(), gids, order[rows].tolist(), texts, *cols):
        o = provenance_of(text)
        if g != last:
            last, entry = g, [akey, {}, 2**63, []]
            out.setdefault(t, []).append(entry)
        if "a" in o and row < entry[2]:  # the first row of the answer, in the table's order, that has one
            entry[1], entry[2] = o["a"], row
        if rk != "":
            entry[3].append(o.get("r"))
    return out


def unique(tasks: "pa.Table") -> "np.ndarray":
    """The tasks whose key no other task of the batch has (to_tasks gives each of two the answers of both)."""
    keys = plain(tasks.column("task_key")).dictionary_encode().indices.to_numpy(zero_copy_only=False)
    return np.bincount(keys, minlength=1)[keys] == 1
