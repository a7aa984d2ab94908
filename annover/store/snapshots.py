"""Snapshots: one canonical table stored as Parquet part objects plus a manifest object.

A snapshot's id is the hash of its logical content (see :mod:`annover.model.canonical`); its
manifest lists the part objects, which are split at key-defined boundaries so that
parts unchanged between two versions are stored (and pushed) once.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from annover._lazy import lazy
from annover.errors import ObjectError
from annover.model import canonical as C
from annover.store.duck import cursor, fetch
from annover.store.objects import SHA256_RE, TAMPERED, ObjectRef, ObjectStore

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pq = lazy("pyarrow.parquet")

MANIFEST_SCHEMA = "annover.snapshot/1"

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


def row_hash_sql(name: str) -> str:
    """DuckDB expression of a row's hash in table ``name``: of its key and content columns,
    equal for rows the canonical encoding calls equal (a float's -0.0 is 0.0, every NaN is NaN)."""
    kinds = {c[0]: c[1] for c in C.COLUMNS[name]}
    parts = []
    for col in C.HASHED[name]:
        if kinds[col] == "float64":
            parts.append(f"CASE WHEN isnan({col}) THEN 'NaN'::DOUBLE ELSE {col} + 0.0 END")
        else:
            parts.append(col)
    return "hash(" + ", ".join(parts) + ")"


def warm_up() -> None:
    """Import DuckDB, open its database and fingerprint the hash ahead of use, e.g. in a
    thread while a snapshot reads its input."""
    hash_probe()


def row_hashes(table: "pa.Table", name: str) -> "pa.Array":
    """:func:`row_hash_sql` of every row of a conformed table, in row order (uint64)."""
    con = cursor()  # hashes in row order
    try:
        con.register("__t", table.select(C.HASHED[name]))
        out = fetch(con, f"SELECT {row_hash_sql(name)} AS h FROM __t")
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
    return pa.array(out, mask=~first)


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


def part_bytes(table: "pa.Table") -> bytes:
    """Parquet bytes of one part: one row group, fixed writer options, no pandas metadata."""
    sink = pa.BufferOutputStream()
    pq.write_table(
        table.replace_schema_metadata(None), sink, row_group_size=max(1, table.num_rows),
        compression="zstd", compression_level=3,
        use_dictionary=[c for c in table.column_names if c not in _PLAIN_COLUMNS],
        write_statistics=[c for c in _STATS_COLUMNS if c in table.column_names],
        version="2.6", data_page_version="1.0", write_page_index=False, store_schema=True,
    )
    return sink.getvalue().to_pybytes()


def encode_parts(table: "pa.Table", pool: Executor, name: str) -> "tuple[list[int], list[Future[bytes]], pa.Table]":
    """Start encoding each part of a conformed, key-sorted table of ``name``: (rows per part,
    futures of bytes, the table as the parts hold it: with its :data:`TASK_HASH` column).

    Parquet encoding releases the GIL, so a snapshot encodes its parts while it hashes
    the content and counts the stats.
    """
    bounds = C.part_bounds(table)
    table = table.append_column(pa.field(TASK_HASH, pa.uint64()), task_hashes(table, name))
    return ([b - a for a, b in bounds], [pool.submit(part_bytes, table.slice(a, b - a)) for a, b in bounds], table)


def collect_parts(rows: Sequence[int], futures: "Sequence[Future[bytes]]", table: "pa.Table") -> list[bytes]:
    """The bytes of each part :func:`encode_parts` started; a cancelled one is encoded here."""
    out, start = [], 0
    for n, f in zip(rows, futures):
        out.append(part_bytes(table.slice(start, n)) if f.cancelled() else f.result())
        start += n
    return out


def store_snapshot(store: ObjectStore, name: str, sid: str, rows: Sequence[int], parts: "Sequence[bytes]",
                   pool: Executor | None = None) -> SnapshotRef:
    """Store encoded parts (write-once) and their manifest; return the snapshot's reference."""
    refs = list(pool.map(store.put, parts)) if pool is not None else [store.put(b) for b in parts]
    manifest = {
        "schema": MANIFEST_SCHEMA, "hash": "sha256", "table": name,
        "table_schema": C.TABLE_SCHEMA_VERSION, "id": sid, "rows": sum(rows),
        "key": C.KEYS[name], "parts": [{**r.to_json(), "rows": n} for r, n in zip(refs, rows)],
    }
    probe = hash_probe()
    if probe:
        manifest["task_hash"] = probe
    mref = store.put(C.canonical_json(manifest).encode())
    return SnapshotRef(sid, mref, sum(rows))


def read_manifest(store: ObjectStore, ref: SnapshotRef | ObjectRef) -> dict:
    """A snapshot's manifest, verified by hash, its table and part references checked for their form."""
    mref = ref.manifest if isinstance(ref, SnapshotRef) else ref
    what = f"snapshot manifest {mref.oid[:12]}"
    try:
        m = json.loads(store.get(mref, "snapshot manifest"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ObjectError(f"{what} is not JSON", "the store is damaged; pull it again") from None
    if not isinstance(m, dict) or m.get("table") not in C.TABLES or not isinstance(m.get("parts"), list):
        raise ObjectError(f"{what} is not a snapshot manifest (a table name and a list of parts)", TAMPERED)
    for i, p in enumerate(m["parts"]):
        ObjectRef.from_json(p, f"{what}, part {i}")
    return m


def object_refs(store: ObjectStore, ref: SnapshotRef) -> list[ObjectRef]:
    """Every object a snapshot needs: its manifest and its parts."""
    m = read_manifest(store, ref)
    return [ref.manifest, *(ObjectRef.from_json(p) for p in m["parts"])]


def read_snapshot(store: ObjectStore, ref: SnapshotRef, columns: Sequence[str] | None = None) -> "pa.Table":
    """The snapshot's table (parts verified by hash and concatenated in key order)."""
    m = read_manifest(store, ref)
    name = m["table"]
    parts = [ObjectRef.from_json(p) for p in m["parts"]]

    def load(p: ObjectRef) -> "pa.Table":
        data = store.get(p, f"{name} part")
        # ParquetFile without the dataset scanner and without pre-buffering: both start
        # Arrow I/O threads that can abort the interpreter at exit (apache/arrow#34314);
        # the bytes are in memory already
        f = pq.ParquetFile(pa.BufferReader(data), pre_buffer=False)
        # only the table's columns: not the stored task hash (see TASK_HASH)
        return f.read(columns=list(columns) if columns else [n for n in f.schema_arrow.names if n != TASK_HASH])

    if not parts:
        schema = C.schema(name)
        return schema.empty_table().select(list(columns)) if columns else schema.empty_table()
    if len(parts) == 1:
        tables = [load(parts[0])]
    else:
        with ThreadPoolExecutor(max_workers=4) as ex:
            tables = list(ex.map(load, parts))
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]
