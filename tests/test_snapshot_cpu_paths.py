"""The quicker paths of a snapshot's encoding give what the plain ones do: a list column's
canonical bytes from its offsets, the JSON escape check by bytes, the sort on 32-bit codes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from annover.model import canonical as C

_TEXTS = st.text(alphabet=st.sampled_from(["a", "é", "€", "\U0001F600", '"', "\\", "\x00", "\x1f", " ", "\x7f", "\t"]),
                 max_size=4)


def _bytes(chunks) -> bytes:
    """The canonical encoding of one column as content_id hashes it: each chunk's byte length, then its bytes."""
    out = []
    for chunk in chunks:
        if isinstance(chunk, C._Streamed):
            pieces = b"".join(bytes(memoryview(p).cast("B")) for p in chunk.pieces)
            size = chunk.size() if callable(chunk.size) else chunk.size
            assert size == len(pieces)
            out += [size.to_bytes(8, "little"), pieces]
        else:
            data = bytes(memoryview(chunk).cast("B"))
            out += [len(data).to_bytes(8, "little"), data]
    return b"".join(out)


def _list_reference(arr: pa.Array) -> bytes:
    """A list<string> column's encoding by its definition: validity, lengths (int64, a null list
    has none), the values' validity, their lengths and their UTF-8 bytes."""
    rows = arr.to_pylist()
    values = [v for r in rows for v in (r or [])]
    parts = [bytes(r is not None for r in rows), np.array([len(r or []) for r in rows], dtype="<i8").tobytes(),
             bytes(v is not None for v in values),
             np.array([len((v or "").encode()) for v in values], dtype="<i8").tobytes(),
             b"".join((v or "").encode() for v in values)]
    return b"".join(len(p).to_bytes(8, "little") + p for p in parts)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.one_of(st.none(), _TEXTS), max_size=3)), max_size=40),
       st.integers(0, 5), st.integers(1, 3))
def test_a_list_columns_encoding_is_its_definition_sliced_or_not(rows, cut, piece):
    """Lists without a null are encoded from their offsets (lengths streamed), others through
    Arrow's list lengths: both give the bytes of the definition, for a slice too, in any piece size."""
    arr = pa.array(rows, pa.list_(pa.string()))
    keep, C.PIECE = C.PIECE, piece
    try:
        for a in (arr, arr.slice(min(cut, len(arr))), arr.slice(0, max(len(arr) - cut, 0))):
            assert _bytes(C._column_chunks(pa.chunked_array([a], a.type), "list<string>")) == _list_reference(a)
    finally:
        C.PIECE = keep


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), _TEXTS), max_size=12), st.integers(0, 3))
def test_the_json_escape_check_by_bytes_is_the_regular_expressions(values, cut):
    arr = pa.array(values, pa.string())
    arr = arr.slice(min(cut, len(arr)))
    want = bool(pc.any(pc.match_substring_regex(pc.fill_null(arr, ""), r'["\\\x00-\x1f\x7f]')).as_py() or False)
    assert C.needs_json_escape(arr) == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), max_size=300))
def test_order_of_32_bit_codes_is_a_stable_sort(codes):
    c = np.array(codes, dtype=np.uint32)
    span = int(c.max()) + 1 if len(c) else 1
    assert C.order_of_codes(c, span).tolist() == np.argsort(c, kind="stable").tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 70_000), st.integers(0, 70_000), st.integers(0, 3)), max_size=80))
def test_sort_codes_of_32_and_64_bits_agree_with_arrow(rows):
    """Two integer keys whose spans multiply past 2**32 (a 64-bit code), and one of them with a
    small third (a 32-bit code when it fits): the order is Arrow's stable sort either way."""
    t = pa.table({"a": pa.array([r[0] for r in rows], pa.int32()), "b": pa.array([r[1] for r in rows], pa.int64()),
                  "c": pa.array([r[2] for r in rows], pa.int8())})
    for keys in (["a", "b"], ["a", "c"], ["a", "b", "c"], ["c", "a"]):
        want = pc.sort_indices(t, sort_keys=[(k, "ascending") for k in keys]).to_numpy()
        assert C.sort_indices(t, keys).to_numpy().tolist() == want.tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=40), st.integers(1, 7))
def test_splitmix64_a_piece_at_a_time_is_the_finaliser(values, piece):
    """Mixed through one small buffer a piece at a time, each value is splitmix64's finaliser of it."""
    def finaliser(v: int) -> int:
        m = (1 << 64) - 1
        v ^= v >> 30
        v = (v * 0xBF58476D1CE4E5B9) & m
        v ^= v >> 27
        v = (v * 0x94D049BB133111EB) & m
        return v ^ (v >> 31)

    x = np.array(values, dtype=np.uint64)
    keep, C.PIECE = C.PIECE, piece
    try:
        got = C.splitmix64(x)
    finally:
        C.PIECE = keep
    assert got.tolist() == [finaliser(v) for v in values]
    assert x.tolist() == values  # the input is not written
