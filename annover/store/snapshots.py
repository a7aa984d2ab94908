"""Snapshots: one canonical table stored as Parquet part objects plus a manifest object.

A snapshot's id is the hash of its logical content (see :mod:`annover.model.canonical`); its
manifest lists the part objects, which are split at key-defined boundaries so that
parts unchanged between two versions are stored (and pushed) once.

Two manifest layouts, both read (the id never depends on the layout):

- ``annover.snapshot/1``: ``parts``, the whole table in key order.
- ``annover.snapshot/2`` (merge-on-read): ``base``, parts as above (those of an earlier
  snapshot), and ``deltas``, applied in order. A delta holds ``upserts`` (every row of
  each task added or changed, key-sorted, as a part) and ``deletes`` (the task keys
  removed, one column ``task_key``); either may be null. A task's rows are those of the
  last delta naming its key (none if that delta deletes it), else the base's. A delta
  written since the diff reads deltas alone also holds ``before`` (null when empty): the
  rows the snapshot before it held of the tasks it names, so that a diff between versions
  on one base reads their deltas and nothing of the base; readers of the table ignore
  it. A snapshot whose parent's deltas would pass :data:`MAX_DELTA_FRACTION` of the base rows, or
  :data:`MAX_CHAIN` deltas, is written whole again (compaction), as a v1 manifest.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from annover._lazy import lazy
from annover.errors import ObjectError
from annover.model import canonical as C
from annover.store.duck import cursor, fetch, quoted
from annover.store.merge import READERS, NotInPlace, Replacing, apply_by_part, replace_rows
from annover.store.objects import SHA256_RE, TAMPERED, ObjectRef, ObjectStore

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")
    pq = lazy("pyarrow.parquet")

MANIFEST_SCHEMA = "annover.snapshot/1"
#: The merge-on-read layout: base parts and deltas (see the module docstring).
DELTA_SCHEMA = "annover.snapshot/2"

#: Compaction thresholds. A delta is written when the accumulated deltas (upserted rows and
#: deleted task keys, this version's included) stay within this fraction of the base rows ...
MAX_DELTA_FRACTION = 0.10
#: ... the chain stays within this many deltas ...
MAX_CHAIN = 16
#: ... and the base is at least this large (smaller tables are cheap to write whole).
MIN_BASE_BYTES = 1 << 20

#: A column every part written since the diff's fast path carries besides the table's own:
#: on the first row of each task, a 64-bit hash of all that task's rows in the table (keys
#: and content); null on its other rows. A diff finds the tasks that differ by reading this
#: column and the task key only (see :mod:`annover.diffing`). Derived, not content: snapshot
#: ids and ``annover.load`` ignore it. The manifest records the fingerprint of the hash
#: (:func:`hash_probe`); stored hashes of two snapshots are compared only when equal.
TASK_HASH = "_task_hash"


@dataclass(frozen=True)
class SnapshotRef:
    """What a version records of one snapshot: its content id, manifest object and size."""

    id: str
    manifest: ObjectRef
    rows: int

    def to_json(self) -> dict:
        return {"id": self.id, "manifest": self.manifest.to_json(), "rows": self.rows}

    @classmethod
    def from_json(cls, d: Any, where: str = "a snapshot reference") -> "SnapshotRef":
        """The reference a version record holds, checked for its form; ObjectError naming ``where``."""
        if not isinstance(d, dict):
            raise ObjectError(f"{where} is {type(d).__name__}, not a snapshot reference", TAMPERED)
        sid, rows = d.get("id"), d.get("rows")
        if not isinstance(sid, str) or not SHA256_RE.fullmatch(sid):
            raise ObjectError(f"{where}: id {sid!r:.70} is not 64 hex digits (a snapshot id)", TAMPERED)
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
            raise ObjectError(f"{where}: rows {rows!r:.70} is not a row count", TAMPERED)
        return cls(sid, ObjectRef.from_json(d.get("manifest"), f"{where}, manifest"), rows)


# Columns whose values are (nearly) all distinct: Parquet would build a dictionary, find
# it over its 1 MB limit part-way and fall back to plain pages, having hashed every value
# for nothing. Plain pages + zstd are smaller (tasks parts: 2.3 MB instead of 3.5 MB at
# a million rows) and quicker to write. Every other column is dictionary-encoded.
_PLAIN_COLUMNS = frozenset({"task_key", "data", "data_hash", TASK_HASH})
# Min/max statistics only where a reader can use them: the task key a part starts and
# ends at (the other columns' statistics cost a quarter of the encoding time).
_STATS_COLUMNS = ["task_key"]


def row_hash_sql(name: str, constant: "dict[str, str] | None" = None, columns: "Sequence[str] | None" = None) -> str:
    """DuckDB expression of a row's hash in table ``name``: of its key and content columns
    (or of ``columns``), equal for rows the canonical encoding calls equal (a float's -0.0 is
    0.0, every NaN is NaN). ``constant``: columns given as an SQL literal of the value every row
    holds (:func:`constant_sql`; DuckDB's hash is of the value, so the hashes are the same)."""
    kinds = {c[0]: c[1] for c in C.COLUMNS[name]}
    parts = []
    for col in columns if columns is not None else C.HASHED[name]:
        q = f'"{col}"'
        if constant and col in constant:
            parts.append(constant[col])
        elif kinds[col] == "float64":
            parts.append(f"CASE WHEN isnan({q}) THEN 'NaN'::DOUBLE ELSE {q} + 0.0 END")
        else:
            parts.append(q)
    return "hash(" + ", ".join(parts) + ")"


#: The DuckDB type of each canonical column kind (for a typed NULL literal).
_SQL_TYPES = {"string": "VARCHAR", "json": "VARCHAR", "list<string>": "VARCHAR[]", "int64": "BIGINT",
              "int32": "INTEGER", "float64": "DOUBLE", "bool": "BOOLEAN"}


def constant_sql(col: "pa.ChunkedArray | pa.Array", kind: str) -> str | None:
    """An SQL literal of the value every row of ``col`` holds, where that is seen without reading
    the rows' values: every row null, a dictionary of one text and no null, booleans all alike.
    None otherwise. A flat file's snapshot has 8 such columns of 14 (those the file does not
    have, its one control): a literal is not scanned into DuckDB (0.115 -> 0.102 s at 1M rows)."""
    n = len(col)
    if n == 0:
        return None
    if col.null_count == n:
        return f"NULL::{_SQL_TYPES[kind]}"
    if col.null_count:
        return None
    if pa.types.is_dictionary(col.type) and pa.types.is_string(col.type.value_type):
        arr = C.single_chunk(col)
        if len(arr.dictionary) == 1 and not arr.dictionary.null_count and "\0" not in (v := arr.dictionary[0].as_py()):
            return quoted(v) + "::VARCHAR"
        return None
    if kind == "bool" and pa.types.is_boolean(col.type):
        trues = pc.sum(col).as_py() or 0
        return "false" if trues == 0 else "true" if trues == n else None
    return None


def warm_up() -> None:
    """Import DuckDB, open its database and fingerprint the hash ahead of use, e.g. in a
    thread while a snapshot reads its input."""
    hash_probe()


def row_hashes(table: "pa.Table", name: str, columns: "Sequence[str] | None" = None) -> "pa.Array":
    """:func:`row_hash_sql` of every row of a conformed table (of its key and content columns,
    or of ``columns``), in row order (uint64)."""
    kinds = {c[0]: c[1] for c in C.COLUMNS[name]}
    hashed = list(columns) if columns is not None else C.HASHED[name]
    constant = {c: lit for c in hashed if c not in C.KEYS[name]
                and (lit := constant_sql(table.column(c), kinds[c])) is not None}
    con = cursor()  # hashes in row order
    try:
        con.register("__t", table.select([c for c in hashed if c not in constant]))
        out = fetch(con, f"SELECT {row_hash_sql(name, constant, hashed)} AS h FROM __t")
    finally:
        con.close()
    h = out.column("h")
    return C.single_chunk(h) if h.num_chunks else pa.array([], pa.uint64())


def task_hashes(table: "pa.Table", name: str) -> "pa.Array":
    """:data:`TASK_HASH` of a conformed, key-sorted table: per task, the mixed sum of its
    rows' :func:`row_hashes` (splitmix64-mixed) and its row count, on the task's first row
    (uint64; null on the others). :func:`hash_probe` fingerprints the whole scheme."""
    n = table.num_rows
    if n == 0:
        return pa.array([], pa.uint64())
    rows = row_hashes(table, name).to_numpy()
    first = C.first_of_runs(table, ["task_key"])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, n)).astype(np.uint64)
    with np.errstate(over="ignore"):
        sums = np.add.reduceat(C.splitmix64(rows), starts)
        per_task = C.splitmix64(sums ^ (counts * np.uint64(0x9E3779B97F4A7C15)))
    out = np.zeros(n, dtype=np.uint64)
    out[starts] = per_task
    # the array over these buffers (pa.array with a mask copies the values and builds the validity from it)
    valid = np.packbits(first, bitorder="little")
    return pa.Array.from_buffers(pa.uint64(), n, [pa.py_buffer(valid), pa.py_buffer(out)], null_count=n - len(starts))


def differing_tasks(a: "pa.Table", ha: "pa.Array | pa.ChunkedArray", b: "pa.Table",
                    hb: "pa.Array | pa.ChunkedArray") -> "pa.Array":
    """Keys of the tasks whose rows differ between tables ``a`` and ``b``, given their task hashes
    ``ha`` and ``hb`` (:func:`task_hashes`, or a stored :data:`TASK_HASH` column: one a task, on
    its first row): ``a``'s tasks whose hash ``b`` lacks, then those of ``b``'s whose hash ``a``
    lacks that are not among them (a task changed on both sides is named once)."""
    firsts = [(t.column("task_key").filter(pc.is_valid(h)), h.filter(pc.is_valid(h))) for t, h in ((a, ha), (b, hb))]
    (ka, xa), (kb, xb) = firsts
    lack_a, lack_b = (k.filter(pc.invert(pc.is_in(x, value_set=other))) for k, x, other in ((ka, xa, xb), (kb, xb, xa)))
    lack_b = lack_b.filter(pc.invert(pc.is_in(lack_b, value_set=lack_a)))
    chunks = [c for k in (lack_a, lack_b) for c in (k.chunks if isinstance(k, pa.ChunkedArray) else [k])]
    return pa.chunked_array(chunks, pa.string()).combine_chunks()


_PROBE: list[str] = []


def hash_probe() -> str:
    """A fingerprint of :func:`task_hashes` as this DuckDB computes them: the hashes of a fixed
    set of rows of every table (every column type, nulls, NaN, -0.0, long and short and
    non-ASCII strings), one task each. Two snapshots' stored hashes are comparable when
    their probes match."""
    if not _PROBE:
        h = hashlib.sha256(b"annover task hash 1\0")  # the scheme on top of DuckDB's hash()
        floats = [0.0, -0.0, float("nan"), 1.5, -2.25e300, None, 3.0]
        for name in C.TABLES:
            schema = C.schema(name)
            rows = []
            for i, text in enumerate(["", "a", "ä €", "x" * 11, "y" * 13, "z" * 300, None]):
                row: dict = {}
                for f in schema:
                    if pa.types.is_string(f.type):
                        row[f.name] = text if f.nullable or text is not None else f"k{i}"
                    elif pa.types.is_list(f.type):
                        row[f.name] = None if text is None else [text, "b", None][: i % 4]
                    elif pa.types.is_boolean(f.type):
                        row[f.name] = i % 2 == 1
                    elif pa.types.is_floating(f.type):
                        row[f.name] = floats[i]
                    else:
                        row[f.name] = i
                rows.append(row)
            hashes = task_hashes(pa.Table.from_pylist(rows, schema=schema), name)  # every task key differs
            h.update(name.encode() + b"\0" + hashes.to_numpy().astype("<u8").tobytes())
        _PROBE.append(h.hexdigest()[:16])
    return _PROBE[0]


def _leaf(field: "pa.Field") -> str:
    """A column's Parquet path as the writer's options name it: a list column's values are
    ``NAME.list.element`` (named ``NAME``, a list of labels was written plain: 3.8x the bytes)."""
    return f"{field.name}.list.element" if pa.types.is_list(field.type) else field.name


def part_bytes(table: "pa.Table") -> bytes:
    """Parquet bytes of one part: one row group, fixed writer options, no pandas metadata.
    A column of nulls only is written plain and uncompressed: its page is a run of null
    levels, a few bytes that zstd would only frame (a dozen such columns cost a part more
    than a millisecond). A text column may come as a dictionary array (see
    :func:`annover.model.canonical.encoded`): its dictionary is written as it is, and the
    Arrow schema stored is that of the texts, so every reader reads texts, with the
    canonical fields' metadata (the bytes pyarrow writes for the plain table)."""
    sink = pa.BufferOutputStream()
    table = table.replace_schema_metadata(None)
    stored = table.schema  # the Arrow schema readers get back: texts, not dictionaries
    if any(pa.types.is_dictionary(c.type) for c in table.columns):
        stored = pa.schema([f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
                            for f in table.schema])
        table = C.retyped(table.schema, [_first_seen(c) if pa.types.is_dictionary(c.type) else c for c in table.columns])
    nulls = {f.name for f, c in zip(table.schema, table.columns) if c.null_count == len(c) > 0}
    with pq.ParquetWriter(
        sink, table.schema,
        compression={_leaf(f): "none" if f.name in nulls else "zstd" for f in table.schema},
        compression_level={_leaf(f): 3 for f in table.schema if f.name not in nulls},
        use_dictionary=[_leaf(f) for f in table.schema if f.name not in _PLAIN_COLUMNS | nulls],
        write_statistics=[c for c in _STATS_COLUMNS if c in table.column_names],
        version="2.6", data_page_version="1.0", write_page_index=False, store_schema=False,
    ) as writer:
        writer.write_table(table, row_group_size=max(1, table.num_rows))
        writer.add_key_value_metadata({_ARROW_SCHEMA: base64.b64encode(stored.serialize().to_pybytes()).decode()})
    return sink.getvalue().to_pybytes()


#: The key under which pyarrow stores a file's Arrow schema (``store_schema=True``).
_ARROW_SCHEMA = "ARROW:schema"


def _first_seen(col: "pa.ChunkedArray | pa.Array") -> "pa.Array":
    """A dictionary column (a part's slice of the table's) with only the values it uses, in
    the order they first occur: the dictionary the Parquet writer builds from the texts
    themselves, so the part's bytes are those of its texts alone (a value elsewhere in the
    table, or the same texts given plain, write the same part: unchanged parts are shared)."""
    arr = C.single_chunk(col)
    if arr.null_count or arr.dictionary.null_count:
        return C.plain(arr)
    if len(arr.dictionary) == 1 and len(arr):  # one text, in every row (a file's one control): as it is
        return arr
    used = pc.unique(arr.indices)  # codes, in order of first occurrence
    words = C.single_chunk(pc.dictionary_encode(arr.dictionary.take(used)))  # their texts, each once
    codes = np.zeros(len(arr.dictionary), dtype=np.int32)
    codes[used.to_numpy(zero_copy_only=False)] = words.indices.to_numpy(zero_copy_only=False)
    indices = C.int_array(codes, "int32").take(arr.indices)  # Arrow's gather: quicker than numpy's from int32
    return pa.DictionaryArray.from_arrays(indices, words.dictionary)


def encode_parts(table: "pa.Table", pool: Executor, name: str, stored: "pa.Table | None" = None
                 ) -> "tuple[list[int], list[Future[bytes]], pa.Table]":
    """Start encoding each part of a conformed, key-sorted table of ``name``: (rows per part,
    futures of bytes, the table as the parts hold it: with its :data:`TASK_HASH` column, which
    ``stored`` already has when given).

    Parquet encoding releases the GIL, so a snapshot encodes its parts while it hashes
    the content and counts the stats.
    """
    bounds = C.part_bounds(table)
    table = stored if stored is not None else table.append_column(pa.field(TASK_HASH, pa.uint64()),
                                                                   task_hashes(table, name))
    return ([b - a for a, b in bounds], [pool.submit(part_bytes, table.slice(a, b - a)) for a, b in bounds], table)


def collect_parts(rows: Sequence[int], futures: "Sequence[Future[bytes]]", table: "pa.Table") -> list[bytes]:
    """The bytes of each part :func:`encode_parts` started; a cancelled one is encoded here."""
    out, start = [], 0
    for n, f in zip(rows, futures):
        out.append(part_bytes(table.slice(start, n)) if f.cancelled() else f.result())
        start += n
    return out


def _manifest_head(name: str, sid: str, rows: int, schema: str) -> dict:
    m = {"schema": schema, "hash": "sha256", "table": name, "table_schema": C.TABLE_SCHEMA_VERSION, "id": sid,
         "rows": rows, "key": C.KEYS[name]}
    probe = hash_probe()
    if probe:
        m["task_hash"] = probe
    return m


#: Threads that store a snapshot's parts: a write ends in an fsync, which waits on the disk,
#: not on a core (the 50 parts of a 1M-row snapshot: 76 ms on one thread, 51 ms on two, 39 ms on four).
WRITERS = 4


def store_snapshot(store: ObjectStore, name: str, sid: str, rows: Sequence[int], parts: "Sequence[bytes]"
                   ) -> SnapshotRef:
    """Store encoded parts (write-once) and their manifest; return the snapshot's reference."""
    if len(parts) > 1:
        with ThreadPoolExecutor(max_workers=min(WRITERS, len(parts)), thread_name_prefix="annover-put") as io:
            refs = list(io.map(store.put, parts))
    else:
        refs = [store.put(b) for b in parts]
    manifest = {**_manifest_head(name, sid, sum(rows), MANIFEST_SCHEMA),
                "parts": [{**r.to_json(), "rows": n} for r, n in zip(refs, rows)]}
    mref = store.put(C.canonical_json(manifest).encode())
    return SnapshotRef(sid, mref, sum(rows))


def _part_list(m: Any, field: str, what: str) -> None:
    if not isinstance(m.get(field), list):
        raise ObjectError(f"{what} is not a snapshot manifest (a table name and a list of {field})", TAMPERED)
    label = "part" if field == "parts" else f"{field} part"
    for i, p in enumerate(m[field]):
        ObjectRef.from_json(p, f"{what}, {label} {i}")
        _row_count(p, f"{what}, {label} {i}")


def _row_count(p: dict, where: str) -> int:
    n = p.get("rows", 0)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ObjectError(f"{where}: rows {n!r:.70} is not a row count", TAMPERED)
    return n


def _check_deltas(m: dict, what: str) -> None:
    if not isinstance(m.get("deltas"), list):
        raise ObjectError(f"{what} has no list of deltas", TAMPERED)
    names = {c[0] for c in C.COLUMNS[m["table"]]}
    for i, d in enumerate(m["deltas"]):
        if not isinstance(d, dict):
            raise ObjectError(f"{what}, delta {i} is {type(d).__name__}, not a delta", TAMPERED)
        for field in ("upserts", "deletes", "before"):
            if d.get(field) is not None:
                ObjectRef.from_json(d[field], f"{what}, delta {i} {field}")
                _row_count(d[field], f"{what}, delta {i} {field}")
        if "replaces" in d and (d.get("deletes") is not None or d.get("upserts") is None
                                or not isinstance(d["replaces"], list)
                                or not all(isinstance(c, str) and c in names for c in d["replaces"])):
            raise ObjectError(f"{what}, delta {i}: replaces {d['replaces']!r:.70} is not a list of "
                              f"the table's columns (of a delta that upserts and removes no task)", TAMPERED)


def read_manifest(store: ObjectStore, ref: SnapshotRef | ObjectRef) -> dict:
    """A snapshot's manifest, verified by hash, its table and part references checked for their form
    (a v2 manifest's base parts and deltas too; see the module docstring)."""
    mref = ref.manifest if isinstance(ref, SnapshotRef) else ref
    what = f"snapshot manifest {mref.oid[:12]}"
    try:
        m = json.loads(store.get(mref, "snapshot manifest"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ObjectError(f"{what} is not JSON", "the store is damaged; pull it again") from None
    if not isinstance(m, dict) or m.get("table") not in C.TABLES:
        raise ObjectError(f"{what} is not a snapshot manifest (a table name and a list of parts)", TAMPERED)
    if m.get("schema") == DELTA_SCHEMA:
        _part_list(m, "base", what)
        _check_deltas(m, what)
    else:
        _part_list(m, "parts", what)
    return m


@dataclass(frozen=True)
class Layout:
    """Where a snapshot's rows are: base parts in key order, then deltas (upserts, deletes) applied in order."""

    base: tuple[ObjectRef, ...]
    deltas: tuple[tuple[ObjectRef | None, ObjectRef | None], ...] = ()
    #: rows per base part, and per delta (upserted rows, deleted task keys)
    base_rows: tuple[int, ...] = ()
    delta_rows: tuple[tuple[int, int], ...] = ()
    #: per delta, its before image (the rows the snapshot before it held of the tasks it
    #: names; None when it names no task that snapshot held) ...
    befores: tuple[ObjectRef | None, ...] = ()
    #: ... and whether it records one (deltas written before images were, do not)
    imaged: tuple[bool, ...] = ()
    #: per delta, the columns whose values it changes when it replaces tasks' rows in place
    #: (the same tasks as the snapshot before it held, with as many rows each); else None
    replaces: tuple[frozenset[str] | None, ...] = ()

    @classmethod
    def of(cls, m: dict) -> "Layout":
        """The layout a manifest checked by :func:`read_manifest` describes."""
        ref = lambda p: ObjectRef.from_json(p) if p is not None else None  # noqa: E731
        if m.get("schema") != DELTA_SCHEMA:
            return cls(tuple(ref(p) for p in m["parts"]), (), tuple(p.get("rows", 0) for p in m["parts"]))
        deltas = tuple((ref(d.get("upserts")), ref(d.get("deletes"))) for d in m["deltas"])
        rows = tuple(tuple((d.get(f) or {}).get("rows", 0) for f in ("upserts", "deletes")) for d in m["deltas"])
        return cls(tuple(ref(p) for p in m["base"]), deltas, tuple(p.get("rows", 0) for p in m["base"]), rows,
                   tuple(ref(d.get("before")) for d in m["deltas"]), tuple("before" in d for d in m["deltas"]),
                   tuple(frozenset(d["replaces"]) if "replaces" in d else None for d in m["deltas"]))

    @property
    def in_place(self) -> bool:
        """Every delta replaces rows in place and says which columns (see :func:`read_layout`)."""
        return bool(self.base and self.deltas) and len(self.replaces) == len(self.deltas) and \
            all(r is not None for r in self.replaces)

    def objects(self) -> list[ObjectRef]:
        return [*self.base, *(r for d in self.deltas for r in d if r is not None),
                *(r for r in self.befores if r is not None)]


def object_refs(store: ObjectStore, ref: SnapshotRef) -> list[ObjectRef]:
    """Every object a snapshot needs: its manifest, its parts, and its deltas."""
    return [ref.manifest, *Layout.of(read_manifest(store, ref)).objects()]


def read_part(store: ObjectStore, p: ObjectRef, what: str, columns: Sequence[str] | None,
              keep_hash: bool = False, dictionary: Sequence[str] = (), keys: "pa.Array | None" = None
              ) -> "pa.Table":
    """One part object as a table, verified by hash (see :func:`decode_part`)."""
    return decode_part(store.get(p, what), columns, keep_hash, dictionary, keys)


def decode_part(data: bytes, columns: Sequence[str] | None, keep_hash: bool = False,
                dictionary: Sequence[str] = (), keys: "pa.Array | None" = None) -> "pa.Table":
    """A part's bytes as a table (``columns``, or all but :data:`TASK_HASH` unless
    ``keep_hash``), decoded on the calling thread.

    A text column (or list of texts) stored with a small dictionary is read as its indices
    and dictionary and decoded by one gather from the dictionary: a fifth quicker than the
    Parquet reader's own decoding of a 1M-row annotations table. The columns named in
    ``dictionary`` are left dictionary-encoded (see :func:`annover.model.canonical.plain`).
    ``keys``: only the rows of those tasks (``columns`` must hold ``task_key``), kept before
    the dictionaries are decoded, so that only their rows are gathered."""
    # ParquetFile without the dataset scanner and without pre-buffering: both start
    # Arrow I/O threads that can abort the interpreter at exit (apache/arrow#34314);
    # the bytes are in memory already
    f = pq.ParquetFile(pa.BufferReader(data), pre_buffer=False)
    # only the table's columns: not the stored task hash (see TASK_HASH) unless asked for
    names = f.schema_arrow.names
    cols = list(columns) if columns else [n for n in names if keep_hash or n != TASK_HASH]
    leaves = _dictionary_leaves(f, cols)
    if not leaves:
        return _rows_of(f.read(columns=cols, use_threads=False), keys)  # parts are read in parallel (_read_many)
    f = pq.ParquetFile(pa.BufferReader(data), pre_buffer=False, read_dictionary=leaves, metadata=f.metadata)
    return C.plain_table(_rows_of(f.read(columns=cols, use_threads=False), keys), frozenset(dictionary))


def _rows_of(t: "pa.Table", keys: "pa.Array | None") -> "pa.Table":
    """The rows of ``t`` whose task key is one of ``keys`` (all of them for None)."""
    if keys is None:
        return t
    return t.filter(pc.is_in(C.plain(t.column("task_key")), value_set=keys))


#: A dictionary page up to this size (compressed) is small enough to decode from: a larger one
#: holds many distinct values (region values of boxes) or the writer fell back to plain pages.
SMALL_DICTIONARY = 1 << 16


def _dictionary_leaves(f: "pq.ParquetFile", columns: Sequence[str]) -> list[str]:
    """The Parquet paths of ``columns`` (texts, or lists of them) that ``f`` stores with a small
    dictionary in every row group (:data:`SMALL_DICTIONARY`)."""
    meta = f.metadata
    paths = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    out = []
    for c in columns:
        for path in (c, f"{c}.list.element"):
            i = paths.get(path)
            if i is None or meta.schema.column(i).physical_type != "BYTE_ARRAY":
                continue
            chunks = [meta.row_group(g).column(i) for g in range(meta.num_row_groups)]
            if chunks and all(k.has_dictionary_page and k.data_page_offset - k.dictionary_page_offset <= SMALL_DICTIONARY
                              for k in chunks):
                out.append(path)
    return out


def _empty(name: str, columns: Sequence[str] | None) -> "pa.Table":
    t = C.schema(name).empty_table()
    if columns and TASK_HASH in columns:
        t = t.append_column(pa.field(TASK_HASH, pa.uint64()), pa.array([], pa.uint64()))
    return t.select(list(columns)) if columns else t


def _read_many(store: ObjectStore, jobs: list[tuple[ObjectRef, str, Sequence[str] | None]],
               keys: "pa.Array | None" = None, cache: dict | None = None) -> "list[pa.Table]":
    """Parts read (verified) in a few threads, the largest first: (ref, what, columns) each;
    with ``keys``, each cut down to the rows of those tasks as it is read. ``cache``: the
    tables already read, by object and columns (for reads of the same ``keys``: a part whose
    statistics hold none of them is not read at all, and each part is cut down by the keys
    within its statistics' bounds alone, :func:`_span_of`)."""
    ordered = _sorted_keys(keys, cache) if keys is not None and cache is not None else None

    def load(j: tuple) -> "pa.Table":
        at = (j[0].oid, tuple(j[2] or ()))
        if cache is not None and at in cache:
            return cache[at]
        span = _span_of(store, j[0], ordered[1]) if ordered is not None else None
        if span is None:
            t = read_part(store, *j, keys=keys)
        elif span[1] == span[2]:
            t = span[0].empty_table().select(list(j[2]) if j[2] else [n for n in span[0].names if n != TASK_HASH])
        else:
            t = read_part(store, *j, keys=ordered[0].slice(span[1], span[2] - span[1]))  # type: ignore[index]
        if cache is not None:
            cache[at] = t
        return t
    if len(jobs) <= 1:
        return [load(j) for j in jobs]
    with ThreadPoolExecutor(max_workers=READERS) as ex:
        futures = {i: ex.submit(load, jobs[i]) for i in _largest_first([j[0] for j in jobs])}
        return [futures[i].result() for i in range(len(jobs))]


def _sorted_keys(keys: "pa.Array", cache: dict) -> "tuple[pa.Array, list[str]]":
    """(``keys`` sorted, as an array and as a list), made once for the reads sharing ``cache``."""
    at = ("sorted keys", id(keys))
    if at not in cache:
        arr = keys.cast(pa.string())
        arr = arr.take(pc.sort_indices(arr))
        cache[at] = (arr, arr.to_pylist())
    return cache[at]


def _span_of(store: ObjectStore, ref: ObjectRef, keys: list[str]) -> "tuple[pa.Schema, int, int] | None":
    """(the part's schema, lo, hi): ``keys[lo:hi]`` (sorted) are those between the smallest and
    the largest task key of the part's row groups that hold one (lo == hi: no row group's bounds
    hold any); None when the part cannot be looked at (it is then read, and checked)."""
    path = store.locate(ref)
    try:
        meta = pq.read_metadata(path) if path is not None else None
        col = meta.schema.names.index("task_key") if meta is not None else -1
    except (OSError, ValueError, pa.ArrowException):
        return None
    if col < 0:
        return None
    lo, hi = len(keys), 0
    for g in range(meta.num_row_groups):
        st = meta.row_group(g).column(col).statistics
        if st is None or not st.has_min_max:
            return None
        i, j = bisect.bisect_left(keys, st.min), bisect.bisect_right(keys, st.max)
        if i < j:
            lo, hi = min(lo, i), max(hi, j)
    return meta.schema.to_arrow_schema(), min(lo, hi), hi


def _largest_first(refs: Sequence[ObjectRef]) -> list[int]:
    """Indices of ``refs``, the largest object first: read in that order, the last to finish is a small one."""
    return sorted(range(len(refs)), key=lambda i: -refs[i].size)


def read_snapshot(store: ObjectStore, ref: SnapshotRef, columns: Sequence[str] | None = None,
                  keys: "pa.Array | None" = None) -> "pa.Table":
    """The snapshot's table (parts verified by hash and concatenated in key order; deltas applied).

    ``keys`` (task keys; unknown and repeated ones allowed): only the rows of those tasks, the
    same rows in the same order and with the same schema as the whole table filtered to them.
    A part (base or delta) whose task key statistics leave out every key is not read at all
    (:func:`_span_of`); the others are cut down to those tasks as each is read."""
    m = read_manifest(store, ref)
    if keys is None:
        return read_layout(store, m["table"], Layout.of(m), columns)
    want = list(columns) if columns else None
    read = want if want is None or "task_key" in want else ["task_key", *want]
    t = read_layout(store, m["table"], Layout.of(m), read, keys=keys, cache={})  # a cache: parts are pruned
    return t.select(want) if want else t


def read_layout(store: ObjectStore, name: str, lay: Layout, columns: Sequence[str] | None = None,
                keys: "pa.Array | None" = None, cache: dict | None = None) -> "pa.Table":
    """The table of ``name`` a layout holds (``columns``: only these, :data:`TASK_HASH` included if named;
    ``keys``: only the rows of these tasks, each part cut down as it is read, so the whole
    table is never in memory; ``columns`` must then hold ``task_key``). ``cache``: parts read
    before, for reads of several layouts with the same ``keys`` (see :func:`_read_many`)."""
    return _with_canonical_fields(_read_layout(store, name, lay, columns, keys, cache), name)


def _with_canonical_fields(t: "pa.Table", name: str) -> "pa.Table":
    """``t`` with the canonical fields' metadata (role, type) where its parts lack it: annover
    from b1d588a until e94e8f9 (2026-12-04) wrote parts without the Arrow schema, which read
    back with the same columns, types and values but none of that metadata."""
    if all(f.metadata or f.name == TASK_HASH for f in t.schema):
        return t
    canon = C.schema(name)
    fields = [f.with_metadata(canon.field(f.name).metadata) if not f.metadata and f.name in canon.names else f
              for f in t.schema]
    return t.cast(pa.schema(fields, metadata=t.schema.metadata))


def _read_layout(store: ObjectStore, name: str, lay: Layout, columns: Sequence[str] | None,
                 keys: "pa.Array | None", cache: dict | None) -> "pa.Table":
    want = list(columns) if columns else None
    if not lay.deltas:
        if not lay.base:
            return _empty(name, want)
        tables = _read_many(store, [(p, f"{name} part", want) for p in lay.base], keys, cache)
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    cols = want or [c[0] for c in C.COLUMNS[name]]
    read = cols if "task_key" in cols else ["task_key", *cols]
    if keys is None and lay.in_place:
        try:
            return _read_replacing(store, name, lay, read).select(cols)
        except NotInPlace:
            pass  # a manifest that promised more than its deltas hold: the general way
    jobs = [(p, f"{name} part", read) for p in lay.base]
    for up, dl in lay.deltas:
        if up is not None:
            jobs.append((up, f"{name} delta", read))
        if dl is not None:
            jobs.append((dl, f"{name} delta", ["task_key"]))
    tables = iter(_read_many(store, jobs, keys, cache))
    base = [next(tables) for _ in lay.base]
    ups, dels = [], []
    for up, dl in lay.deltas:
        ups.append(next(tables) if up is not None else None)
        dels.append(next(tables).column("task_key") if dl is not None else None)
    return apply_by_part(base or [_empty(name, read)], ups, dels).select(cols)


def _read_replacing(store: ObjectStore, name: str, lay: Layout, read: Sequence[str]) -> "pa.Table":
    """:func:`read_layout` of a layout whose deltas all replace rows in place: the deltas'
    changed columns and the base parts read in one pool (deltas first, then parts, the
    largest first), each part given its replacements on the thread that decoded it
    (:func:`annover.store.merge.replace_rows`). The task hash changes with any content."""
    changed = frozenset().union(*lay.replaces, {TASK_HASH}) & set(read)  # type: ignore[arg-type]
    if not changed:
        raise NotInPlace("no column to replace")
    small = ["task_key", *(c for c in read if c in changed)]
    with ThreadPoolExecutor(max_workers=READERS) as ex:  # FIFO: every delta starts before any part waits on one
        pending = [ex.submit(lambda up: Replacing.of(read_part(store, up, f"{name} delta", small)), up)
                   for up, _ in lay.deltas]
        together = ex.submit(lambda: Replacing.last_of([f.result() for f in pending]))  # after them

        def merged(p: ObjectRef) -> "tuple[pa.Table, int]":
            # the replaced text columns as the part stores them, indices and dictionary: rebuilt
            # from the dictionary and the deltas' values, not gathered from the decoded column
            part = read_part(store, p, f"{name} part", read, dictionary=sorted(changed - {TASK_HASH}))
            t, used = replace_rows(part, together.result(), changed)
            return C.plain_table(t), used  # those no delta replaced here
        futures = {i: ex.submit(merged, lay.base[i]) for i in _largest_first(lay.base)}
        done = [futures[i].result() for i in range(len(lay.base))]
    if sum(used for _, used in done) != together.result().rows.num_rows:
        raise NotInPlace("a delta names a task outside the base parts")
    return pa.concat_tables([t for t, _ in done])


# ---------------------------------------------------------------------------
# writing a snapshot as its parent's layout plus a delta


@dataclass
class Delta:
    """A snapshot to store as its parent's layout plus one delta (see :func:`plan_delta`)."""

    parent: ObjectRef  # the parent snapshot's manifest, which the delta is relative to
    manifest: dict  # that manifest
    upserts: "pa.Table"  # every row of the tasks added or changed, key-sorted, with TASK_HASH
    deletes: "pa.Table"  # the task keys removed
    before: "pa.Table"  # the parent's rows of the tasks changed or removed (the table's columns)
    futures: list = field(default_factory=list)  # their Parquet bytes (None for an empty one)

    @property
    def replaces(self) -> list[str] | None:
        """The columns whose values differ when the delta replaces rows in place (the parent's
        tasks, as many rows each, none removed: a relabel), else None. Recorded in the
        manifest, it lets a reader rebuild only those columns (see :func:`read_layout`)."""
        up, before = self.upserts, self.before
        if self.deletes.num_rows or up.num_rows != before.num_rows or not up.num_rows or \
                not C.single_chunk(up.column("task_key")).equals(C.single_chunk(before.column("task_key"))):
            return None
        return [c for c in before.column_names
                if not C.single_chunk(up.column(c)).equals(C.single_chunk(before.column(c)))]

    @property
    def tables(self) -> "tuple[pa.Table, pa.Table, pa.Table]":
        return self.upserts, self.deletes, self.before


@dataclass
class Encoding:
    """One snapshot's encoding under way: whole parts (rows, futures, stored table), or a delta."""

    rows: list[int]
    futures: list
    table: "pa.Table"
    delta: Delta | None = None
    #: the conformed, key-sorted table (to encode whole after all, when the parent moved), or
    #: what makes it (a delta of ``snapshot --update``, planned without the table)
    source: "pa.Table | Callable[[], pa.Table] | None" = None
    #: the table's rows, when ``table`` does not hold them all
    total: int | None = None

    @property
    def rows_total(self) -> int:
        return self.total if self.total is not None else self.table.num_rows

    def cancel(self) -> None:
        for f in self.futures + (self.delta.futures if self.delta else []):
            if f is not None:
                f.cancel()


def _first_rows(t: "pa.Table") -> "tuple[np.ndarray, np.ndarray, np.ndarray]":
    """(first row of each task, its row count, its TASK_HASH) of a key-sorted table holding TASK_HASH."""
    h = C.single_chunk(t.column(TASK_HASH))
    starts = np.flatnonzero(h.is_valid().to_numpy(zero_copy_only=False))
    counts = np.diff(np.append(starts, t.num_rows))
    return starts, counts, pc.drop_null(h).to_numpy()


def _provenance_changed(new: "pa.Table", old: "pa.Table", rows_new, rows_old, name: str):
    """Row indices (into ``rows_new``) of the rows whose provenance differs from the aligned old row:
    tasks with equal task hashes have the same keys, so their rows align one to one."""
    out = np.zeros(len(rows_new), dtype=bool)
    sel_new, sel_old = pa.array(rows_new), pa.array(rows_old)
    for col, _, _, role in C.COLUMNS[name]:
        if role != "provenance":
            continue
        a, b = new.column(col), old.column(col)
        if a.null_count == len(a) and b.null_count == len(b):
            continue
        a, b = C.single_chunk(a).take(sel_new), C.single_chunk(b).take(sel_old)
        differs = pc.or_(pc.fill_null(pc.not_equal(a, b), False), pc.xor(pc.is_null(a), pc.is_null(b)))
        out |= differs.to_numpy(zero_copy_only=False)
    return np.flatnonzero(out)


def _changes(new: "pa.Table", old: "pa.Table", name: str) -> "tuple[np.ndarray, pa.Array] | None":
    """(row mask of ``new``'s tasks added or changed, task keys of ``old`` removed); None when the
    task hashes do not line up (then the snapshot is written whole)."""
    sn, cn, hn = _first_rows(new)
    so, co, ho = _first_rows(old)
    kn, ko = new.column("task_key").take(C.int_array(sn)), old.column("task_key").take(C.int_array(so))
    if len(sn) == len(so) and kn.equals(ko):  # the same tasks in the same order (relabels): compare in place
        same_n = hn == ho
        same_o = same_n.copy()
    else:
        an, ao = C.int_array(hn, "uint64"), C.int_array(ho, "uint64")
        same_n = pc.is_in(an, value_set=ao).to_numpy(zero_copy_only=False)
        same_o = pc.is_in(ao, value_set=an).to_numpy(zero_copy_only=False)
    rows_n, rows_o = np.flatnonzero(np.repeat(same_n, cn)), np.flatnonzero(np.repeat(same_o, co))
    if len(rows_n) != len(rows_o):
        return None
    moved = _provenance_changed(new, old, rows_n, rows_o, name)
    if len(moved):
        first = np.zeros(new.num_rows, dtype=bool)
        first[sn] = True
        task_of_row = np.cumsum(first) - 1
        same_n[task_of_row[rows_n[moved]]] = False
    changed_keys = C.single_chunk(kn.filter(pa.array(~same_n)))
    gone = C.single_chunk(ko.filter(pa.array(~same_o)))
    gone = gone.filter(pc.invert(pc.is_in(gone, value_set=changed_keys)))
    return np.repeat(~same_n, cn), gone


def delta_budget(store: ObjectStore, name: str, parent: SnapshotRef) -> "tuple[dict, Layout, float] | None":
    """(parent's manifest, its layout, the rows a new delta may hold) when a snapshot of ``name``
    may be written as a delta on ``parent``; None: write it whole (the parent has no comparable
    task hashes, is small, or its deltas reached :data:`MAX_DELTA_FRACTION` or :data:`MAX_CHAIN`)."""
    m = read_manifest(store, parent)
    probe = hash_probe()
    if not probe or m.get("task_hash") != probe or m["table"] != name:
        return None
    lay = Layout.of(m)
    if sum(r.size for r in lay.base) < MIN_BASE_BYTES or len(lay.deltas) + 1 > MAX_CHAIN:
        return None
    budget = MAX_DELTA_FRACTION * sum(lay.base_rows) - sum(u + d for u, d in lay.delta_rows)
    return (m, lay, budget) if budget > 0 else None


def compared_rows(store: ObjectStore, name: str, parent: SnapshotRef | None
                  ) -> "tuple[tuple[dict, Layout, float], pa.Table] | None":
    """What :func:`plan_delta` compares a new table of ``name`` with: (:func:`delta_budget`,
    ``parent``'s task keys, task hashes and provenance columns), or None when no delta may be
    written on ``parent``. A snapshot reads it ahead, in a thread while it reads its input."""
    budget = delta_budget(store, name, parent) if parent is not None else None
    if budget is None:
        return None
    return budget, read_layout(store, name, budget[1], compared_columns(name))


def compared_columns(name: str) -> list[str]:
    """What tells whether a task's rows in ``name`` differ, without reading their content: the
    task key, the stored :data:`TASK_HASH` (of keys and content) and the provenance columns."""
    return ["task_key", TASK_HASH, *(c[0] for c in C.COLUMNS[name] if c[3] == "provenance")]


def changed_tasks(new: "pa.Table", old: "pa.Table", name: str) -> "pa.Array | None":
    """Keys of the tasks whose rows differ between two key-sorted tables of ``name`` holding
    :func:`compared_columns` (hashes of the same :func:`hash_probe`): added, changed in content
    or provenance, or removed, each once; None when the hashes do not line up."""
    found = _changes(new, old, name)
    if found is None:
        return None
    mask, gone = found
    first = pc.is_valid(C.single_chunk(new.column(TASK_HASH))).to_numpy(zero_copy_only=False)
    changed = C.single_chunk(new.column("task_key")).filter(pa.array(mask & first))
    return pa.concat_arrays([changed.cast(pa.string()), gone.cast(pa.string())])


def plan_delta(store: ObjectStore, stored: "pa.Table", name: str, parent: SnapshotRef,
               budget: "tuple[dict, Layout, float]", old: "pa.Table") -> Delta | None:
    """``stored`` (a key-sorted table of ``name`` with its TASK_HASH column) as ``parent``'s
    layout plus one delta of the tasks whose rows differ, or None when that delta would pass
    the budget (:func:`delta_budget`) or the task hashes do not line up. ``budget`` and
    ``old``: :func:`compared_rows`."""
    m, lay, rows_left = budget
    found = _changes(stored, old, name)
    if found is None:
        return None
    mask, gone = found
    upserts = C.plain_table(stored.filter(pa.array(mask)))  # compared with the parent's rows as texts
    if upserts.num_rows + len(gone) > rows_left:
        return None  # an empty delta: the same content (the snapshot is the parent's)
    named = pa.concat_arrays([C.single_chunk(pc.unique(upserts.column("task_key"))), C.single_chunk(gone)])
    before = C.schema(name).empty_table()
    held = pc.is_in(old.column("task_key"), value_set=named)
    if len(named) and pc.any(held).as_py():  # only when the parent held a task the delta names
        before = _before_image(store, name, lay, old.filter(held), named)
    return Delta(parent.manifest, m, upserts, pa.table({"task_key": gone}), before)


def _before_image(store: ObjectStore, name: str, lay: Layout, held: "pa.Table", named: "pa.Array") -> "pa.Table":
    """The rows ``lay`` holds of the ``named`` tasks: the columns ``held`` (those rows of
    :func:`compared_rows`: keys, hashes, provenance) lacks read from the layout, the others taken
    from it (both in the layout's order: decoding a column of every part costs what its values do)."""
    target = C.schema(name)
    have = [f.name for f in target if f.name in held.column_names]
    if len(have) == len(target):  # every column held (``snapshot --update`` read those tasks' rows whole)
        return pa.Table.from_arrays([held.column(c) for c in have], schema=target)
    rest = read_layout(store, name, lay, ["task_key", *(f.name for f in target if f.name not in have)], keys=named)
    if rest.num_rows != held.num_rows or not rest.column("task_key").equals(held.column("task_key")):
        return read_layout(store, name, lay, keys=named)  # pragma: no cover - the two reads disagree: read it whole
    cols = {c: held.column(c) for c in have} | {c: rest.column(c) for c in rest.column_names}
    return pa.Table.from_arrays([cols[f.name] for f in target], schema=target)


def encode_snapshot(table: "pa.Table", pool: Executor, name: str, store: ObjectStore | None = None,
                    parent: SnapshotRef | None = None, ahead: "Future | None" = None) -> Encoding:
    """Start encoding a conformed, key-sorted table of ``name``: as a delta on ``parent`` when
    :func:`plan_delta` finds one, else whole (:func:`encode_parts`). ``ahead``: the future of
    :func:`compared_rows` of ``parent``, when it was read ahead."""
    compared = stored = delta = None
    try:
        if store is not None and parent is not None and table.num_rows:
            compared = ahead.result() if ahead is not None else compared_rows(store, name, parent)
        if compared is not None:
            stored = table.append_column(pa.field(TASK_HASH, pa.uint64()), task_hashes(table, name))
            delta = plan_delta(store, stored, name, parent, *compared)  # type: ignore[arg-type]
    except ObjectError:  # the parent's objects are not here (a clone that did not pull them)
        delta = None
    if delta is None:
        encoded = encode_parts(table, pool, name) if stored is None else encode_parts(table, pool, name, stored)
        return Encoding(*encoded, source=table)
    delta.futures = [pool.submit(part_bytes, t) if t.num_rows else None for t in delta.tables]
    return Encoding([], [], stored, delta, table)


def _delta_bytes(delta: Delta) -> "list[bytes | None]":
    out = []
    for t, f in zip(delta.tables, delta.futures):
        out.append(None if f is None else part_bytes(t) if f.cancelled() else f.result())
    return out


def store_encoding(store: ObjectStore, name: str, sid: str, enc: Encoding, pool: Executor | None = None,
                   parent: SnapshotRef | None = None) -> SnapshotRef:
    """Store an encoding's objects and manifest; nothing when the delta planned on ``parent``
    found every row the same. A delta is stored only on the parent it was planned against;
    when HEAD moved meanwhile the table is encoded and stored whole."""
    delta = enc.delta
    planned = delta is not None and parent is not None and parent.manifest == delta.parent
    empty = delta is not None and delta.upserts.num_rows + delta.deletes.num_rows == 0
    if planned and empty and parent.id == sid:  # every row as the parent's, provenance too
        return parent
    if delta is not None and (not planned or empty):
        assert enc.source is not None
        whole = enc.source() if callable(enc.source) else enc.source
        with ThreadPoolExecutor(max_workers=2) as own:
            stored = enc.table if enc.total is None else None
            rows, futures, table = encode_parts(whole, pool or own, name, stored=stored)
            parts = collect_parts(rows, futures, table)
        return store_snapshot(store, name, sid, rows, parts)
    if delta is None:
        return store_snapshot(store, name, sid, enc.rows, collect_parts(enc.rows, enc.futures, enc.table))
    entry = {f: ({**store.put(b).to_json(), "rows": t.num_rows} if b is not None else None)
             for f, b, t in zip(("upserts", "deletes", "before"), _delta_bytes(delta), delta.tables)}
    replaces = delta.replaces
    if replaces is not None:
        entry["replaces"] = replaces
    pm = delta.manifest
    base = pm["base"] if pm.get("schema") == DELTA_SCHEMA else pm["parts"]
    rows = enc.rows_total
    manifest = {**_manifest_head(name, sid, rows, DELTA_SCHEMA), "base": base,
                "deltas": [*pm.get("deltas", []), entry]}
    mref = store.put(C.canonical_json(manifest).encode())
    return SnapshotRef(sid, mref, rows)


# ---------------------------------------------------------------------------
# a parent's snapshot with some tasks' rows replaced (``snapshot --update``), never made whole


def spliced_id(store: ObjectStore, name: str, parent: SnapshotRef, named: "pa.Array", block: "pa.Table") -> str:
    """The content id of ``parent``'s table of ``name`` with the rows of the ``named`` tasks replaced
    by ``block``'s rows (conformed, key-sorted, of the named tasks), as
    :func:`annover.model.canonical.content_id` of that table gives it, without making the table:
    the parent's hashed columns are read (not its provenance, nor its task hashes) and each
    column of the result is made, hashed and dropped in turn."""
    if not len(named):
        return parent.id
    old = read_layout(store, name, Layout.of(read_manifest(store, parent)), C.HASHED[name])
    src = spliced_order(old.column("task_key"), named, block.column("task_key")).to_numpy()
    cols, n = {c: old.column(c) for c in C.HASHED[name]}, old.num_rows
    del old
    cut = np.concatenate([[0], np.flatnonzero((np.diff(src) != 1) | (src[1:] == n)) + 1])  # runs from one side
    runs = list(zip(src[cut].tolist(), np.diff(np.append(cut, len(src))).tolist())) if len(src) else []

    def column(c: str) -> "pa.Array":
        mine, theirs = cols.pop(c), C.single_chunk(block.column(c))
        theirs = theirs.cast(mine.type) if theirs.type != mine.type else theirs
        if len(runs) > SPLICED_RUNS:  # many runs: one gather beats as many slices
            return C.single_chunk(pa.chunked_array([*mine.chunks, theirs], mine.type).take(C.int_array(src)))
        return pa.concat_arrays([x for a, k in runs for x in (mine.slice(a, k).chunks if a < n
                                                                 else [theirs.slice(a - n, k)])])
    return C.content_id_of(name, len(src), column)


#: New tasks fewer than the old rows over this are placed by binary searches among the old keys
#: (a Python string made of each key looked at), more by one search of every key as a string
FEW_TASKS = 64
#: Up to this many runs (of rows kept and of rows put in), a spliced column is made from slices
#: (one copy of each run), past it by one gather
SPLICED_RUNS = 4096


def spliced_order(old: "pa.ChunkedArray", named: "pa.Array", new: "pa.ChunkedArray | pa.Array") -> "pa.Array":
    """Row indices into ``old`` then ``new`` (task keys, each in key order) of the table whose rows
    are ``old``'s but those of the ``named`` tasks, with ``new``'s rows (of named tasks) where their
    keys fall."""
    keys, given = C.single_chunk(old), C.single_chunk(new)
    touched = pc.is_in(keys, value_set=named).to_numpy(zero_copy_only=False)
    kept = np.flatnonzero(~touched)
    starts = np.flatnonzero(C.first_of_runs(pa.table({"task_key": given}), ["task_key"]))
    firsts = given.take(C.int_array(starts)).to_pylist()  # the new rows' tasks, each once
    if len(firsts) * FEW_TASKS < len(keys):  # a few: a binary search each among the old keys, as texts
        view = _Texts(keys)
        pos = np.array([bisect.bisect_left(view, k) for k in firsts], dtype=np.int64)
        at = pos - np.concatenate([[0], np.cumsum(touched)])[pos]  # among the kept rows
    else:
        at = np.searchsorted(keys.filter(pa.array(~touched)).to_numpy(zero_copy_only=False),
                             np.array(firsts, dtype=object), side="left")
    at = np.repeat(at, np.diff(np.append(starts, len(given))))
    src = np.empty(len(kept) + len(given), dtype=np.int64)
    mine = np.zeros(len(src), dtype=bool)
    mine[at + np.arange(len(given))] = True
    src[mine] = len(keys) + np.arange(len(given))
    src[~mine] = kept
    return C.int_array(src)


class _Texts:
    """A text array as a sequence of Python strings, each made when looked at (for :mod:`bisect`)."""

    def __init__(self, arr: "pa.Array") -> None:
        self.arr = arr

    def __len__(self) -> int:
        return len(self.arr)

    def __getitem__(self, i: int) -> str:
        return self.arr[i].as_py()
