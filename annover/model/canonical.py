"""Canonical encoding and content hashing of annover's three tables.

Pure functions over Arrow tables and plain data: no I/O. The snapshot id is a hash
of the *logical* content (rows in key order, values encoded by rules defined here
from the Arrow columnar spec), never of file bytes, so it does not move with the
pyarrow version, the machine, the import order or the source format.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from annover._lazy import lazy

if TYPE_CHECKING:
    import concurrent.futures as futures

    import numpy as np
    import orjson
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    futures = lazy("concurrent.futures")  # threads for large takes only; its import pulls in logging
    np = lazy("numpy")
    orjson = lazy("orjson")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

#: Version of the table schemas below; recorded in every snapshot and version.
TABLE_SCHEMA_VERSION = 1

TABLES = ("tasks", "annotations", "predictions")

# Columns per table: (name, type, nullable, role). role is "key" (sort key, hashed),
# "content" (hashed) or "provenance" (stored, not hashed: the tool's own ids, times
# and positions, which differ between two Label Studio projects holding the same labels,
# and ``ls_original``: what the input held that the other columns do not give back as it was
# written, so an export returns it; see docs/inputs.md).
_REGION_COLUMNS = [
    ("from_name", "string", True, "content"),
    ("to_name", "string", True, "content"),
    ("type", "string", True, "content"),
    ("labels", "list<string>", True, "content"),
    ("value", "json", True, "content"),
    ("region", "json", True, "content"),
]

COLUMNS: dict[str, list[tuple[str, str, bool, str]]] = {
    "tasks": [
        ("task_key", "string", False, "key"),
        ("data", "json", False, "content"),
        ("data_hash", "string", True, "content"),
        ("extra", "json", True, "content"),
        ("ls_task_id", "int64", True, "provenance"),
        ("ls_project_id", "int64", True, "provenance"),
        ("created_at", "string", True, "provenance"),
        ("updated_at", "string", True, "provenance"),
        ("ls_original", "json", True, "provenance"),
    ],
    "annotations": [
        ("task_key", "string", False, "key"),
        ("annotation_key", "string", False, "key"),
        ("region_key", "string", False, "key"),
        ("annotator", "string", True, "content"),
        *_REGION_COLUMNS,
        ("was_cancelled", "bool", False, "content"),
        ("ground_truth", "bool", False, "content"),
        ("lead_time", "float64", True, "content"),
        ("extra", "json", True, "content"),
        ("position", "int32", False, "provenance"),
        ("ls_annotation_id", "int64", True, "provenance"),
        ("ls_task_id", "int64", True, "provenance"),
        ("created_at", "string", True, "provenance"),
        ("updated_at", "string", True, "provenance"),
        ("ls_parent_prediction_id", "int64", True, "provenance"),
        ("ls_parent_annotation_id", "int64", True, "provenance"),
        ("ls_original", "json", True, "provenance"),
    ],
    "predictions": [
        ("task_key", "string", False, "key"),
        ("prediction_key", "string", False, "key"),
        ("region_key", "string", False, "key"),
        ("model_version", "string", False, "content"),
        ("score", "float64", True, "content"),
        *_REGION_COLUMNS,
        ("extra", "json", True, "content"),
        ("position", "int32", False, "provenance"),
        ("ls_prediction_id", "int64", True, "provenance"),
        ("ls_task_id", "int64", True, "provenance"),
        ("created_at", "string", True, "provenance"),
        ("updated_at", "string", True, "provenance"),
        ("ls_original", "json", True, "provenance"),
    ],
}

KEYS: dict[str, list[str]] = {
    t: [c[0] for c in cols if c[3] == "key"] for t, cols in COLUMNS.items()
}
HASHED: dict[str, list[str]] = {
    t: [c[0] for c in cols if c[3] != "provenance"] for t, cols in COLUMNS.items()
}

#: Expected number of tasks per Parquet part. Part boundaries fall after a task whose
#: key hash is 0 modulo this, so inserting a task rewrites one part, not all of them.
TASKS_PER_PART = 16384


def arrow_type(name: str) -> "pa.DataType":
    return {
        "string": pa.string(),
        "json": pa.string(),
        "int64": pa.int64(),
        "int32": pa.int32(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "list<string>": pa.list_(pa.string()),
    }[name]


def schema(table: str) -> "pa.Schema":
    """The Arrow schema of one canonical table."""
    return pa.schema(
        [
            pa.field(n, arrow_type(t), nullable=nullable, metadata={"role": role, "type": t})
            for n, t, nullable, role in COLUMNS[table]
        ]
    )


def nullable_ids(table: "pa.Table", name: str) -> "pa.Table":
    """``table`` (canonical table ``name``, or some of its columns) with the pandas metadata by which
    ``to_pandas()`` gives its 64-bit integer columns (the tool's ids, missing where the source has none) as
    pandas' nullable ``Int64``: 17, not 17.0, and an id beyond 2**53 whole, where a column with a missing id
    would otherwise be float64 (and int64 in a version with none missing). The metadata names every id
    column of ``name`` whichever were read, so that some columns read are the whole table's selected.
    Other readers of the table (polars, duckdb, ``pd.ArrowDtype``) ignore it."""
    if not table.num_columns:  # (pyarrow would drop the rows of a table of no columns)
        return table
    columns = [{"name": n, "field_name": n, "pandas_type": "int64", "numpy_type": "Int64", "metadata": None}
               for n, t, _, _ in COLUMNS[name] if t == "int64"]
    meta = {"index_columns": [], "column_indexes": [], "columns": columns}
    return table.replace_schema_metadata({**(table.schema.metadata or {}), b"pandas": json.dumps(meta).encode()})


# ---------------------------------------------------------------------------
# canonical JSON


#: How deeply canonical JSON may nest (objects and lists); deeper is refused, never a RecursionError.
MAX_DEPTH = 100


def _canon(obj: Any, path: str = "$", depth: int = 0) -> Any:
    if isinstance(obj, (dict, list, tuple)) and depth >= MAX_DEPTH:
        raise ValueError(f"{path[:60]}...: nested more than {MAX_DEPTH} levels deep")
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"{path}: object key {k!r} is not a string")
            out[k] = _canon(v, f"{path}.{k}", depth + 1)
        return out
    if isinstance(obj, (list, tuple)):
        return [_canon(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj)]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"{path}: {obj!r} is not a finite number")
        if obj.is_integer() and abs(obj) < 2**53:
            return int(obj)  # 1.0 and 1 are the same value in JSON
        return obj
    raise TypeError(f"{path}: {type(obj).__name__} is not JSON")


def canonical_json(obj: Any) -> str:
    """Canonical JSON text: sorted keys, no spaces, UTF-8, integral floats as ints."""
    return json.dumps(_canon(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


#: Bits of :func:`json_kind`: two questions about one JSON value, answered in one walk by one rule but for a
#: float (:func:`_float_kind`), where each difference is needed: canonical JSON writes a whole float below 2**53
#: as an int (``80.0`` is ``80``: not its own canonical form, yet orjson writes it as ``json.dumps`` does, which
#: :func:`json_text` keeps), and orjson writes a float below 1e-4 (but 0) without an exponent (its own canonical
#: form, yet not for orjson). :func:`canonical_json_plain` asks PLAIN (orjson writes it where ORJSON is also
#: set), :func:`json_text` asks ORJSON. No bit: neither, or canonical JSON refuses it (a tuple, a key that is no
#: text, a float that is not finite, too deep).
NOT_PLAIN = 0
#: The value is its own canonical form: :func:`canonical_json` keeps it as it is (it turns a whole float below
#: 2**53 into an int), so its canonical JSON is ``json.dumps`` of it and reads back equal to it, number types too.
PLAIN = 1
#: orjson writes the value as ``json.dumps(..., ensure_ascii=False, separators=(",", ":"), sort_keys=True)``
#: does: it writes a float below 1e-4 (but 0) without an exponent, ``0.0000999`` for ``9.99e-05``.
ORJSON = 2
#: Both bits.
ORJSON_PLAIN = PLAIN | ORJSON


def json_kind(obj: Any, need: int = ORJSON_PLAIN, depth: int = 0) -> int:
    """The bits (:data:`PLAIN`, :data:`ORJSON`) of a JSON value as a parser gives it: both need dicts with text
    keys, lists, leaves of exactly ``str``, ``int``, ``bool``, ``None`` or a finite ``float`` (of which
    :func:`_float_kind` tells each bit), nested at most :data:`MAX_DEPTH` deep. A walk that builds nothing; it
    stops, giving :data:`NOT_PLAIN`, at the first value that leaves no bit of ``need`` (the caller's question).
    orjson also refuses an integer beyond 64 bits and a lone surrogate: the callers fall back to the standard
    library then."""
    t = type(obj)
    if t is not dict and t is not list:  # containers first: a leaf is seldom given alone
        if t is float:
            return _float_kind(obj)
        return ORJSON_PLAIN if t is str or t is int or t is bool or obj is None else NOT_PLAIN
    if depth >= MAX_DEPTH or t is dict and not _text_keys(obj):
        return NOT_PLAIN
    kind = ORJSON_PLAIN
    for v in obj.values() if t is dict else obj:
        tv = type(v)
        if tv is str or tv is int or tv is bool or v is None:
            continue
        kind &= _float_kind(v) if tv is float else json_kind(v, need, depth + 1)
        if not kind & need:
            return NOT_PLAIN
    return kind


def _float_kind(f: float) -> int:
    """:func:`json_kind` of a float: :data:`PLAIN` unless whole below 2**53 (1.0 and 1 are the same value in
    canonical JSON), :data:`ORJSON` unless below 1e-4 but not 0; neither if not finite. (Comparisons and
    ``% 1.0`` for the usual float, a coordinate or a score: no call.)"""
    if 1e-4 <= f < 2.0**53 or -2.0**53 < f <= -1e-4:
        return ORJSON_PLAIN if f % 1.0 else ORJSON  # a whole float leaves no remainder
    if -1e-4 < f < 1e-4:  # below 1e-4 nothing is whole but 0
        return PLAIN if f else ORJSON
    return ORJSON_PLAIN if math.isfinite(f) else NOT_PLAIN  # whole from 2**53 up; NaN, infinity


def _text_keys(obj: dict) -> bool:
    """Whether every key of ``obj`` is exactly a ``str`` (a set of the keys' types, made in C)."""
    return not obj or {*map(type, obj)} == _STR


_STR = {str}


def canonical_json_plain(obj: Any) -> tuple[str, bool]:
    """(:func:`canonical_json` of ``obj``, whether ``obj`` is its own canonical form: :data:`PLAIN`): the same
    text, made without the copy :func:`canonical_json` walks where the object is plain already, and by orjson
    where it writes the same (an integer beyond 64 bits, a lone surrogate it refuses: then the standard library)."""
    kind = json_kind(obj, PLAIN)
    if kind == ORJSON_PLAIN:
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode(), True
        except TypeError:
            pass
    if kind & PLAIN:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False), True
    return canonical_json(obj), False


def json_text(obj: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)``: numbers as they are
    (``80.0`` stays ``80.0``); made by orjson where it writes the same (:data:`ORJSON`)."""
    if json_kind(obj, ORJSON) & ORJSON:
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # an integer beyond 64 bits, a lone surrogate
            pass
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def canonical_json_or_none(obj: Any) -> str | None:
    if obj is None or obj == {} or obj == []:
        return None
    return canonical_json(obj)


def json_digest(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


# ---------------------------------------------------------------------------
# table canonicalisation and hashing


def conform(table: "pa.Table", name: str, dictionary: bool = False) -> "pa.Table":
    """Cast ``table`` to the canonical schema of ``name`` (column order and types).

    Missing nullable columns are added as nulls; missing provenance ``position`` as 0.
    ``dictionary``: a text column encoded as a dictionary of texts stays encoded (see
    :func:`encoded`).
    """
    target = schema(name)
    arrays = []
    n = table.num_rows
    nulls: dict = {}  # one array of nulls a type, shared by the columns of that type (immutable)
    for field in target:
        if field.name in table.column_names:
            col = table.column(field.name)
            if col.type != field.type and not (dictionary and col.type == pa.dictionary(pa.int32(), field.type)):
                col = col.cast(field.type)
            arrays.append(col)
        elif field.name == "position":
            arrays.append(pa.array(np.zeros(n, dtype=np.int32)))
        elif field.type == pa.bool_():
            arrays.append(pa.repeat(pa.scalar(False), n) if n else pa.array([], pa.bool_()))
        elif field.nullable:
            if field.type not in nulls:
                nulls[field.type] = pa.nulls(n, field.type)
            arrays.append(nulls[field.type])
        else:
            raise ValueError(f"{name}: required column {field.name!r} is missing")
    return retyped(target, arrays) if dictionary else pa.Table.from_arrays(arrays, schema=target)


def encoded(indices: "pa.Array", values: "pa.Array", as_dictionary: bool = True) -> "pa.Array":
    """``values.take(indices)``, kept as a dictionary array (indices, and each value once) when
    ``as_dictionary`` and no value is null: a snapshot's hashes, counts and Parquet parts read
    a repeated text once that way, and its content id is that of the texts (see :func:`content_id`)."""
    if not as_dictionary or values.null_count or indices.null_count:
        return values.take(indices)
    words = single_chunk(pc.dictionary_encode(values))  # each text once
    if len(words.dictionary) == 1:
        indices = int_array(np.zeros(len(indices), dtype=np.int32), "int32")
    elif len(words.dictionary) < len(values):
        indices = words.indices.take(indices)
    return pa.DictionaryArray.from_arrays(indices.cast(pa.int32()), words.dictionary)


def key_order(table: "pa.Table", name: str) -> tuple[bool, "np.ndarray"]:
    """(whether rows are in key order, per adjacent pair of rows whether their keys are equal),
    in one vectorised pass over the key columns (no copy)."""
    n = table.num_rows
    if n <= 1:
        return True, np.zeros(0, dtype=bool)
    ok = None  # per adjacent pair: "row i <= row i+1" decided on the keys so far
    undecided = None
    for k in KEYS[name]:
        col = table.column(k)
        a, b = col.slice(0, n - 1), col.slice(1)
        lt, eq = pc.less(a, b), pc.equal(a, b)
        if ok is None:
            ok, undecided = lt, eq
        else:
            ok = pc.or_(ok, pc.and_(undecided, lt))
            undecided = pc.and_(undecided, eq)
    return bool(pc.all(pc.or_(ok, undecided)).as_py()), undecided.to_numpy(zero_copy_only=False)


def sorted_table(table: "pa.Table", name: str, sort: "Any" = None) -> tuple["pa.Table", "np.ndarray"]:
    """(rows in key order, per adjacent pair whether their keys are equal, as :func:`key_order`);
    no copy when they already are. ``sort``: a function like :func:`sort_indices` (the default)
    that gives the order (byte order of the UTF-8 keys)."""
    ordered, same = key_order(table, name)
    if ordered:
        return table, same
    table = take(table, (sort or sort_indices)(table, KEYS[name]))
    return table, key_order(table, name)[1]


def sort_table(table: "pa.Table", name: str) -> "pa.Table":
    """Rows in key order (byte order of the UTF-8 keys); no copy when they already are."""
    return sorted_table(table, name)[0]


def take(table: "pa.Table", indices: Any) -> "pa.Table":
    """``table.take(indices)``, a column per thread (Arrow takes one column after another).

    Arrow's kernels release the GIL, so on a million rows two cores gather two columns at once.
    """
    workers = min(table.num_columns, os.cpu_count() or 1, 4)
    if table.num_rows < 65536 or workers < 2:
        return table.take(indices)
    with futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="annover-take") as ex:
        columns = list(ex.map(lambda c: c.take(indices), table.columns))
    return pa.Table.from_arrays(columns, schema=table.schema)


def single_chunk(arr: "pa.Array | pa.ChunkedArray") -> "pa.Array":
    """One contiguous array: a plain array as it is, a chunked one combined (no copy when it has one chunk)."""
    if isinstance(arr, pa.ChunkedArray):
        return arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr


def replaced(values: "pa.Array | pa.ChunkedArray", at: "np.ndarray", new: "pa.Array") -> "pa.Array":
    """``values`` with the value at each position ``at[i]`` replaced by ``new[i]`` (one gather;
    a list column whose replaced lists keep their lengths keeps its offsets, see :func:`replaced_items`).
    ``values`` may be dictionary-encoded (strings, or the items of a list, as a Parquet reader
    gives them with ``read_dictionary``): the result is plain, built by one gather from the
    dictionary and ``new`` (a small source instead of the whole column)."""
    if pa.types.is_list(values.type):
        kept = replaced_items(single_chunk(values), at, single_chunk(new))
        if kept is not None:
            return kept
        values = plain(values)
    if pa.types.is_dictionary(values.type):
        return _replaced_in_dictionary(single_chunk(values), at, single_chunk(new))
    n = len(values)
    order = np.arange(n, dtype=np.int64)
    order[at] = n + np.arange(len(at))
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    return pa.concat_arrays([*chunks, new]).take(int_array(order))


def _replaced_in_dictionary(old: "pa.DictionaryArray", at: "np.ndarray", new: "pa.Array") -> "pa.Array":
    """:func:`replaced` of a dictionary-encoded array: its indices, those at ``at`` pointing
    past its dictionary at ``new``, decoded from the dictionary followed by ``new``."""
    words = old.dictionary
    if old.null_count or len(words) + len(new) >= 2**31 - 1:
        return replaced(old.dictionary_decode(), at, new)
    idx = np.array(old.indices.to_numpy(zero_copy_only=False), dtype=np.int32)  # a copy to write in
    idx[at] = len(words) + np.arange(len(at), dtype=np.int32)
    return pa.concat_arrays([words, new.cast(words.type)]).take(int_array(idx, "int32"))


def retyped(schema: "pa.Schema", columns: list) -> "pa.Table":
    """A table of ``columns`` under ``schema``'s names, nullability and metadata, each field
    taking its column's type (a column decoded from a dictionary, or kept as one)."""
    return pa.Table.from_arrays(columns, schema=pa.schema(
        [f.with_type(c.type) for f, c in zip(schema, columns)], metadata=schema.metadata))


def plain(values: "pa.Array | pa.ChunkedArray") -> "pa.Array | pa.ChunkedArray":
    """``values`` with dictionary-encoded strings (or list items) decoded; others as they are."""
    if pa.types.is_dictionary(values.type):
        return values.dictionary_decode() if isinstance(values, pa.Array) else \
            pa.chunked_array([c.dictionary_decode() for c in values.chunks], values.type.value_type)
    if pa.types.is_list(values.type) and pa.types.is_dictionary(values.type.value_type):
        arr = single_chunk(values)
        items = arr.values.dictionary_decode()
        kind = pa.list_(values.type.value_field.with_type(items.type))
        return pa.ListArray.from_arrays(arr.offsets, items, type=kind, mask=arr.is_null() if arr.null_count else None)
    return values


def plain_table(table: "pa.Table", keep: "Sequence[str] | frozenset[str]" = ()) -> "pa.Table":
    """``table`` with its dictionary-encoded columns (strings, or list items) decoded, but those
    named in ``keep``; as it is when it has none."""
    if not any(pa.types.is_dictionary(f.type) or (pa.types.is_list(f.type) and pa.types.is_dictionary(
            f.type.value_type)) for f in table.schema if f.name not in keep):
        return table
    return retyped(table.schema, [c if n in keep else plain(c) for n, c in zip(table.column_names, table.columns)])


def replaced_items(old: "pa.ListArray", at: "np.ndarray", new: "pa.ListArray") -> "pa.ListArray | None":
    """:func:`replaced` of a list column when every list ``new[i]`` is as long as ``old[at[i]]``
    and neither side has a null list: the offsets stay, and only the items are gathered (a
    list gather builds both). None otherwise."""
    if old.null_count or new.null_count:
        return None
    off, lengths = old.offsets.to_numpy(), np.diff(new.offsets.to_numpy())
    if not np.array_equal(off[at + 1] - off[at], lengths):
        return None
    items_old, items_new = old.flatten(), new.flatten()  # the items of the lists as sliced
    base, total = int(off[0]), int(lengths.sum())
    within = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    gathered = replaced(items_old, np.repeat(off[at] - base, lengths) + within, items_new)
    kind = pa.list_(old.type.value_field.with_type(gathered.type))
    return pa.ListArray.from_arrays(int_array(off - base, "int32"), gathered, type=kind)


def int_array(values: "np.ndarray", dtype: str = "int64") -> "pa.Array":
    """A numpy integer array as an Arrow int64 (or ``dtype``) array, zero-copy when it is of that
    type already (``pa.array`` would import pandas on its first call in a process, a quarter of a second)."""
    values = np.ascontiguousarray(values, dtype=dtype)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])


def repeat_string(value: str, n: int) -> "pa.Array":
    """A string array of ``n`` times ``value``, built from buffers (``pa.repeat`` makes one scalar a row)."""
    b = value.encode("utf-8")
    if n * len(b) >= 2**31 - 1:
        return pa.repeat(pa.scalar(value, pa.string()), n)
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(len(b))
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(b * n)])


def dense_rank(col: "pa.Array | pa.ChunkedArray", distinct: "Callable[[pa.Array], Any] | None" = None):
    """(rank per row as numpy int32, number of distinct values) of a string column without nulls.

    Ranks follow Arrow's order of the values (byte order for strings). The distinct
    values are found by hashing and only they are sorted, so a column with many
    repeats (task keys of several answers, a few annotators) costs far less than a sort.
    ``distinct``: gives the indices that sort an array of distinct values (default Arrow's
    ``sort_indices``; DuckDB sorts many on all its threads, see :mod:`annover.store.duck`).
    """
    rank, values = ranked(col, distinct)
    return rank, len(values)


def ranked(col: "pa.Array | pa.ChunkedArray", distinct: "Callable[[pa.Array], Any] | None" = None
           ) -> "tuple[np.ndarray, pa.Array]":
    """(rank per row as numpy int32, the distinct values in rank order) of a string column
    without nulls: :func:`dense_rank`, with the sorted distinct values (``values.take(rank)``
    is the column; in rank order, a gather from them reads the texts in sequence). Ranks are
    int32 (Arrow's dictionary codes are): half the fresh memory of int64 at a million rows."""
    enc = pc.dictionary_encode(single_chunk(col))
    order = np.asarray((distinct or pc.sort_indices)(enc.dictionary), dtype=np.int64)
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    rows = int_array(rank, "int32").take(enc.indices)  # Arrow's gather of int32 codes: quicker than numpy's
    return rows.to_numpy(zero_copy_only=False), enc.dictionary.take(int_array(order))


def _codes(col: "pa.Array | pa.ChunkedArray", distinct: "Callable[[pa.Array], Any] | None") -> "tuple[np.ndarray, int]":
    """(a non-negative integer code per row that orders as the values do, the codes' span): an
    integer column of small non-negative values as it is (a rank already; no int64 copy), else
    :func:`dense_rank`."""
    if pa.types.is_integer(col.type):
        bounds = pc.min_max(col)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low is not None and low >= 0 and high < max(4 * len(col), 1 << 16):
            return single_chunk(col).to_numpy(zero_copy_only=False), high + 1
    return dense_rank(col, distinct)


def order_of_codes(codes, span: int):
    """The stable sorting permutation of non-negative int64 ``codes`` below ``span``.

    Distinct codes in a range not much wider than their number (key tuples are distinct
    in a valid table) sort by placing each at its code: O(n + span). Otherwise a radix
    sort, 16 bits a pass (numpy sorts 16-bit integers stably by radix): O(n) a pass.
    """
    n = len(codes)
    if 0 < n and span <= 4 * n:
        slots = np.full(span, -1, dtype=np.int64)
        slots[codes] = np.arange(n, dtype=np.int64)
        order = slots[slots >= 0]
        if len(order) == n:  # no code repeated
            return order
    # digit k of each code is its k-th 16-bit word (little-endian): a view, gathered as 16-bit
    # words (no shifted or gathered int64 copy of the codes a pass); codes of 32 bits have two
    if np.dtype(codes.dtype).kind not in "iu" or np.dtype(codes.dtype).itemsize not in (4, 8):
        codes = np.asarray(codes, dtype=np.int64)
    codes = np.ascontiguousarray(codes, dtype=np.dtype(codes.dtype).newbyteorder("<"))
    digits = codes.view("<u2").reshape(-1, codes.itemsize // 2)
    order = None
    k = 0
    while order is None or (1 << (16 * k)) < span:
        digit = digits[:, k] if order is None else digits[:, k][order]
        step = np.argsort(digit, kind="stable")
        order = step if order is None else order[step]
        k += 1
    return order


def sort_indices(table: "pa.Table", keys: list[str], distinct: "Callable[[pa.Array], Any] | None" = None):
    """Indices that put ``table`` in the order of ``keys`` (stable; byte order of strings).

    For several keys, each column becomes a code that orders as its values do (a dense rank,
    :func:`dense_rank`, or a small integer as it is) and the codes one integer (32 bits when
    the tuples fit, else 64: ``((r1 * n2) + r2) * n3 + r3``): one integer sort instead of Arrow's multi-key comparison
    sort. ``distinct``: how the distinct values of a text key are sorted (see :func:`dense_rank`).
    Keys with nulls, keys of other types, or too many distinct tuples for an int64 take
    Arrow's sort.
    """
    cols = [table.column(k) for k in keys]
    if len(keys) > 1 and all((pa.types.is_string(c.type) or pa.types.is_integer(c.type)) and c.null_count == 0
                             for c in cols):
        codes, span = [], 1
        for c in cols:
            rank, n = _codes(c, distinct)
            codes.append((rank, max(n, 1)))
            span *= max(n, 1)
            if span >= 2**62:
                break
        else:
            # one integer of 32 bits when the tuples fit (half the memory of 64), written in place
            combined = np.array(codes[0][0], dtype=np.uint32 if span <= 2**32 else np.int64)
            for rank, n in codes[1:]:
                combined *= combined.dtype.type(n)
                np.add(combined, rank, out=combined, casting="unsafe")  # rank: non-negative, below n
            return int_array(order_of_codes(combined, span))
    return pc.sort_indices(table.select(keys), sort_keys=[(k, "ascending") for k in keys])


def compared(col: "pa.Array | pa.ChunkedArray") -> "pa.Array | pa.ChunkedArray":
    """What to compare a column's rows by for equality: a dictionary array's codes when its
    dictionary holds each value once (as :func:`encoded` makes it: equal codes, equal values;
    comparing the texts would decode them all), else the column itself."""
    if not pa.types.is_dictionary(col.type):
        return col
    arr = single_chunk(col)
    if arr.null_count or arr.dictionary.null_count or len(pc.unique(arr.dictionary)) != len(arr.dictionary):
        return col
    return arr.indices


def first_of_runs(table: "pa.Table", keys: list[str]):
    """numpy bool mask of the first row of each run of equal ``keys`` (for key-sorted tables)."""
    n = table.num_rows
    mask = np.zeros(n, dtype=bool)
    if n:
        mask[0] = True
        changed = None
        for k in keys:
            col = compared(table.column(k))
            ne = pc.not_equal(col.slice(1), col.slice(0, n - 1))
            changed = ne if changed is None else pc.or_(changed, ne)
        if n > 1:
            mask[1:] = changed.to_numpy(zero_copy_only=False)
    return mask


def duplicate_keys(table: "pa.Table", name: str, limit: int = 3, same: "np.ndarray | None" = None) -> list[dict[str, Any]]:
    """Key tuples that occur more than once in a *sorted* table (at most ``limit``); ``same``:
    the table's pairs of equal keys, as :func:`key_order` gives them, when already known."""
    if table.num_rows < 2:
        return []
    hits = np.flatnonzero(key_order(table, name)[1] if same is None else same)[:limit]
    return [{k: table.column(k)[int(i) + 1].as_py() for k in KEYS[name]} for i in hits]


def _text_buffers(arr: "pa.Array") -> "tuple[np.ndarray, Any]":
    """(offsets as numpy, concatenated UTF-8 data) of a string array, nulls as ''; buffer views,
    no copy of the data (an empty array: one offset, no data)."""
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    arr = single_chunk(arr)
    if len(arr) == 0:
        return np.zeros(1, dtype="<i8"), b""
    if arr.type not in (pa.string(), pa.large_string()):
        arr = arr.cast(pa.large_string())
    width = 4 if arr.type == pa.string() else 8
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=f"<i{width}", count=len(arr) + 1, offset=arr.offset * width)
    data = memoryview(bufs[2])[int(offsets[0]) : int(offsets[-1])] if bufs[2] is not None else b""
    return offsets, data


#: The bytes JSON text escapes (``"``, ``\\``, control characters) and DEL: none is part of another
#: character's UTF-8 encoding, so a text holds one exactly when its bytes do.
_JSON_ESCAPED = frozenset([0x22, 0x5C, 0x7F, *range(0x20)])


def needs_json_escape(arr: "pa.Array | pa.ChunkedArray") -> bool:
    """Whether a string column (nulls read as '') holds a character JSON text escapes, or DEL:
    one table lookup a byte over the column's data, a slice at a time (a regular expression
    over each value took three times as long)."""
    _, data = _text_buffers(single_chunk(arr))
    raw = np.frombuffer(data, dtype=np.uint8)
    table = np.zeros(256, dtype=bool)
    table[list(_JSON_ESCAPED)] = True
    step = PIECE * 16
    return any(bool(table[raw[a : a + step]].any()) for a in range(0, len(raw), step))


def _string_bytes(arr: "pa.Array") -> tuple[Any, Any]:
    """(lengths as int64 LE, concatenated UTF-8 data) of a string array, nulls as ''."""
    offsets, data = _text_buffers(arr)
    if len(offsets) == 1:
        return b"", b""
    return memoryview(np.diff(offsets).astype("<i8")).cast("B"), data


#: Rows of a long chunk of the encoding (string lengths, validity) made and hashed at a time:
#: the chunk is never in memory whole (at 10M rows, a string column's lengths are 80 MB).
PIECE = 1 << 16


@dataclass(frozen=True)
class _Streamed:
    """A chunk of the canonical encoding given as its byte length and its bytes in pieces."""

    size: int
    pieces: Iterator[Any]


def _ones(n: int) -> _Streamed:
    """``n`` bytes 1 (the validity of a column without nulls)."""
    one = np.ones(min(n, PIECE), dtype=np.uint8)
    return _Streamed(n, (one[: min(PIECE, n - a)] for a in range(0, n, PIECE)))


def _zeros(n: int) -> _Streamed:
    """``n`` bytes 0."""
    zero = np.zeros(min(n, PIECE * 8), dtype=np.uint8)
    return _Streamed(n, (zero[: min(len(zero), n - a)] for a in range(0, n, len(zero) or 1)))


def _lengths(offsets: "np.ndarray") -> _Streamed:
    """The int64 LE lengths between consecutive ``offsets``, a piece at a time in one buffer."""
    n = len(offsets) - 1
    buf = np.empty(min(n, PIECE), dtype="<i8")

    def pieces() -> Iterator[Any]:
        for a in range(0, n, PIECE):
            b = min(n, a + PIECE)
            yield np.subtract(offsets[a + 1 : b + 1], offsets[a:b], out=buf[: b - a], dtype="<i8")
    return _Streamed(n * 8, pieces())


def _string_parts(arr: "pa.Array") -> "tuple[_Streamed, Any]":
    """:func:`_string_bytes` with the lengths streamed (:func:`_lengths`)."""
    if arr.null_count == len(arr):  # every value null, as '': lengths 0, no data
        return _zeros(len(arr) * 8), b""
    if pa.types.is_dictionary(arr.type) and not arr.null_count and not arr.dictionary.null_count:
        return _dictionary_parts(arr)
    offsets, data = _text_buffers(arr)
    return _lengths(offsets), data


def _dictionary_parts(arr: "pa.DictionaryArray") -> "tuple[_Streamed, _Streamed]":
    """:func:`_string_parts` of a dictionary array without nulls, decoded a piece at a time:
    the lengths gathered from the dictionary's, the texts taken from it (the bytes of the
    decoded column, never in memory whole)."""
    words = arr.dictionary if arr.dictionary.type == pa.string() else arr.dictionary.cast(pa.string())
    offsets, data = _text_buffers(words)
    sizes = np.diff(offsets).astype("<i8")
    if len(words) == 1:  # one text in every row (a file's one control, its type): no row read
        return _repeated(sizes[:1].view(np.uint8), len(arr)), _repeated(np.frombuffer(data, dtype=np.uint8), len(arr))
    codes = arr.indices.to_numpy(zero_copy_only=False)
    n = len(codes)
    total = int(np.bincount(codes, minlength=len(sizes)) @ sizes) if n else 0
    buf = np.empty(min(n, PIECE), dtype="<i8")

    def lengths() -> Iterator[Any]:
        for a in range(0, n, PIECE):
            yield np.take(sizes, codes[a : a + PIECE], out=buf[: min(PIECE, n - a)])

    def texts() -> Iterator[Any]:
        for a in range(0, n, PIECE):
            yield _text_buffers(words.take(arr.indices.slice(a, PIECE)))[1]
    return _Streamed(n * 8, lengths()), _Streamed(total, texts())


def _repeated(row: "np.ndarray", n: int) -> _Streamed:
    """``n`` times the bytes ``row`` (uint8), in pieces of one buffer made once."""
    block = np.tile(row, min(n, PIECE))

    def pieces() -> Iterator[Any]:
        for a in range(0, n, PIECE):
            yield block[: len(row) * min(PIECE, n - a)]
    return _Streamed(len(row) * n, pieces())


def _validity(arr: "pa.Array") -> Any:
    """One byte a value, 1 where it is not null."""
    if not arr.null_count:
        return _ones(len(arr))
    if arr.null_count == len(arr):
        return _zeros(len(arr))
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False)).view(np.uint8)


def _column_chunks(col: "pa.ChunkedArray", kind: str):
    """Yield the canonical byte encoding of one column (see module docstring), each chunk as
    bytes or as :class:`_Streamed`."""
    arr = single_chunk(col)
    if pa.types.is_dictionary(arr.type) and arr.dictionary.null_count:  # a null is in its values, not its codes
        arr = plain(arr)
    yield _validity(arr)
    if kind in ("string", "json"):
        yield from _string_parts(arr)
    elif kind == "list<string>" and len(arr) and not arr.null_count and pa.types.is_list(arr.type):
        # no null list: the lengths are those between the list's offsets, streamed (no int32
        # and int64 array of a million lengths made and dropped), the texts its values
        yield _lengths(np.frombuffer(arr.buffers()[1], dtype="<i4", count=len(arr) + 1, offset=arr.offset * 4))
        flat = pc.list_flatten(arr)
        yield _validity(single_chunk(flat))
        yield from _string_parts(single_chunk(flat))
    elif kind == "list<string>":
        lens = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
        yield np.ascontiguousarray(lens, dtype="<i8")  # hashed as it is (no bytes copy of it)
        flat = pc.list_flatten(pc.fill_null(arr, pa.scalar([], arr.type))) if len(arr) else pa.array([], pa.string())
        yield _validity(single_chunk(flat))
        yield from _string_parts(single_chunk(flat))
    elif kind in ("int64", "int32", "float64", "bool") and arr.null_count == len(arr):
        yield _zeros(len(arr) * (1 if kind == "bool" else 8))  # nulls encode as 0, 0.0, false
    elif kind in ("int64", "int32"):
        v = pc.fill_null(arr, 0).to_numpy(zero_copy_only=False)
        yield np.ascontiguousarray(v, dtype="<i8")
    elif kind == "float64":
        v = np.array(pc.fill_null(arr, 0.0).to_numpy(zero_copy_only=False), dtype="<f8")  # a copy, mended in place
        v[v == 0.0] = 0.0  # -0.0 == 0.0
        v[np.isnan(v)] = np.nan  # one NaN
        yield v
    elif kind == "bool":
        v = pc.fill_null(arr, False).to_numpy(zero_copy_only=False)
        yield np.ascontiguousarray(v).view(np.uint8)
    else:  # pragma: no cover - schema and encoder kept in step by tests
        raise TypeError(kind)


def content_id(table: "pa.Table", name: str) -> str:
    """Snapshot id: sha256 over the canonical encoding of a conformed, sorted table."""
    return content_id_of(name, table.num_rows, table.column)


def content_id_of(name: str, rows: int, column: "Callable[[str], pa.ChunkedArray | pa.Array]") -> str:
    """:func:`content_id` of a table of ``rows`` rows given a column at a time: ``column(name)``
    is asked for each hashed column in turn, so the table need never be in memory whole."""
    h = hashlib.sha256()
    header = {
        "table": name,
        "schema": TABLE_SCHEMA_VERSION,
        "rows": rows,
        "columns": [[c[0], c[1]] for c in COLUMNS[name] if c[3] != "provenance"],
    }
    h.update(canonical_json(header).encode())
    kinds = {c[0]: c[1] for c in COLUMNS[name]}
    for col in HASHED[name]:
        h.update(b"\x00" + col.encode() + b"\x00")
        for chunk in _column_chunks(column(col), kinds[col]):
            if isinstance(chunk, _Streamed):
                h.update(chunk.size.to_bytes(8, "little"))
                for piece in chunk.pieces:
                    h.update(piece)
            else:
                h.update(memoryview(chunk).nbytes.to_bytes(8, "little"))  # bytes, not items
                h.update(chunk)
    return h.hexdigest()


def splitmix64(x: "np.ndarray") -> "np.ndarray":
    """splitmix64's finaliser of each uint64 (a new array; arithmetic wraps mod 2**64)."""
    x = np.array(x, dtype=np.uint64)  # a copy, mixed in place
    flat = x.reshape(-1)
    # a piece at a time through one small buffer: no 8 MB temporary a shift at 1M values, and
    # the piece stays in cache from step to step (1.6 ms at 1M values, 3.2 ms a whole array at a time)
    tmp = np.empty(min(len(flat), PIECE), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for a in range(0, len(flat), PIECE):
            v = flat[a : a + PIECE]
            t = tmp[: len(v)]
            v ^= np.right_shift(v, np.uint64(30), out=t)
            v *= np.uint64(0xBF58476D1CE4E5B9)
            v ^= np.right_shift(v, np.uint64(27), out=t)
            v *= np.uint64(0x94D049BB133111EB)
            v ^= np.right_shift(v, np.uint64(31), out=t)
    return x


# A fixed table of pseudo-random 64-bit weights (splitmix64), one per byte position:
# the key hash below is defined here, so part boundaries never move with a library.
_WEIGHTS: list[Any] = []


def _weights(n: int):
    if not _WEIGHTS or len(_WEIGHTS[0]) < n:
        size = max(n, 256)
        with np.errstate(over="ignore"):  # splitmix64's states: i * golden gamma, i = 1, 2, ...
            states = np.arange(1, size + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        _WEIGHTS[:] = [splitmix64(states)]
    return _WEIGHTS[0][:n]


def key_hashes(keys: "pa.Array"):
    """A stable 64-bit hash per string (numpy uint64 array), vectorised."""
    lens_b, data = _string_bytes(keys)
    lengths = np.frombuffer(lens_b, dtype="<i8")
    n = len(lengths)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    raw = np.frombuffer(data, dtype=np.uint8)
    shortest, longest = int(lengths.min()), int(lengths.max())
    with np.errstate(over="ignore"):
        # sum over a key's bytes of (byte + 1) * weight[position], mod 2**64: keys of one
        # length at a time, a byte position at a time (no keys x length matrix of uint64:
        # at 333k keys of 12 bytes that is 32 MB of fresh pages, slow when threads fault too)
        if shortest == longest:  # the usual case: the data is the (keys x length) byte matrix
            sums = _weighted_bytes(raw.reshape(n, longest).T, longest, n)
        else:
            sums, starts = np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.int64)
            np.cumsum(lengths[:-1], out=starts[1:])
            for length in np.unique(lengths).tolist():
                rows = np.flatnonzero(lengths == length)
                at = starts[rows]
                sums[rows] = _weighted_bytes((raw[at + j] for j in range(length)), length, len(rows))
        h = sums ^ ((lengths.astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15))
        h = (h ^ (h >> np.uint64(29))) * np.uint64(0xBF58476D1CE4E5B9)
        h = h ^ (h >> np.uint64(32))
    return h


def _weighted_bytes(columns: "Iterable[np.ndarray]", length: int, n: int) -> "np.ndarray":
    """Per key, the sum of (byte + 1) * weight[position] (mod 2**64) over ``columns``: the
    keys' bytes at position 0, 1, ... ``length - 1`` (uint8 arrays of ``n``)."""
    w = _weights(length)
    acc = np.full(n, np.add.reduce(w, dtype=np.uint64), dtype=np.uint64)  # the "+ 1" of each byte
    for j, col in enumerate(columns):
        acc += col * w[j]
    return acc


def part_bounds(table: "pa.Table", per_part: int | None = None) -> list[tuple[int, int]]:
    """Split a table sorted by task_key into (start, stop) row ranges.

    A part ends after the last row of a task whose key hash is 0 modulo ``per_part``:
    boundaries depend only on the keys, so an edit rewrites only the parts it touches.
    """
    per_part = per_part or TASKS_PER_PART
    n = table.num_rows
    if n == 0:
        return []
    keys = table.column("task_key")
    last_of_task = np.ones(n, dtype=bool)
    if n > 1:
        last_of_task[:-1] = pc.not_equal(keys.slice(0, n - 1), keys.slice(1)).to_numpy(zero_copy_only=False)
    ends_of_tasks = np.flatnonzero(last_of_task)
    task_keys = pc.take(keys, pa.array(ends_of_tasks))  # one key per task: hash each once
    cut = key_hashes(task_keys) % np.uint64(per_part) == 0
    ends = (ends_of_tasks[cut] + 1).tolist()
    if not ends or ends[-1] != n:
        ends.append(n)
    bounds, start = [], 0
    for end in ends:
        bounds.append((start, end))
        start = end
    return bounds
