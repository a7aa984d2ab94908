"""Snapshots: one canonical table stored as Parquet part objects plus a manifest object.

A snapshot's id is the hash of its logical content (see :mod:`annover.canonical`); its
manifest lists the part objects, which are split at key-defined boundaries so that
parts unchanged between two versions are stored (and pushed) once.
"""

from __future__ import annotations

import json
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from . import canonical as C
from .errors import ObjectError
from .objects import ObjectRef, ObjectStore

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

MANIFEST_SCHEMA = "annover.snapshot/1"


@dataclass(frozen=True)
class SnapshotRef:
    """What a version records of one snapshot: its content id, manifest object and size."""

    id: str
    manifest: ObjectRef
    rows: int

    def to_json(self) -> dict:
        return {"id": self.id, "manifest": self.manifest.to_json(), "rows": self.rows}

    @classmethod
    def from_json(cls, d: dict) -> "SnapshotRef":
        return cls(d["id"], ObjectRef.from_json(d["manifest"]), int(d["rows"]))


# Columns whose values are (nearly) all distinct: Parquet would build a dictionary, find
# it over its 1 MB limit part-way and fall back to plain pages, having hashed every value
# for nothing. Plain pages + zstd are smaller (tasks parts: 2.3 MB instead of 3.5 MB at
# a million rows) and quicker to write. Every other column is dictionary-encoded.
_PLAIN_COLUMNS = frozenset({"task_key", "data", "data_hash"})
# Min/max statistics only where a reader can use them: the task key a part starts and
# ends at (the other columns' statistics cost a quarter of the encoding time).
_STATS_COLUMNS = ["task_key"]


def part_bytes(table: "pa.Table") -> bytes:
    """Parquet bytes of one part: one row group, fixed writer options, no pandas metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(
        table.replace_schema_metadata(None), sink, row_group_size=max(1, table.num_rows),
        compression="zstd", compression_level=3,
        use_dictionary=[c for c in table.column_names if c not in _PLAIN_COLUMNS],
        write_statistics=[c for c in _STATS_COLUMNS if c in table.column_names],
        version="2.6", data_page_version="1.0", write_page_index=False, store_schema=True,
    )
    return sink.getvalue().to_pybytes()


def encode_parts(table: "pa.Table", pool: Executor) -> "tuple[list[int], list[Future[bytes]]]":
    """Start encoding each part of a conformed, key-sorted table: (rows per part, futures of bytes).

    Parquet encoding releases the GIL, so a snapshot encodes its parts while it hashes
    the content and counts the stats.
    """
    bounds = C.part_bounds(table)
    return [b - a for a, b in bounds], [pool.submit(part_bytes, table.slice(a, b - a)) for a, b in bounds]


def collect_parts(table: "pa.Table", rows: Sequence[int], futures: "Sequence[Future[bytes]]") -> list[bytes]:
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
    mref = store.put(C.canonical_json(manifest).encode())
    return SnapshotRef(sid, mref, sum(rows))


def read_manifest(store: ObjectStore, ref: SnapshotRef | ObjectRef) -> dict:
    mref = ref.manifest if isinstance(ref, SnapshotRef) else ref
    try:
        return json.loads(store.get(mref, "snapshot manifest"))
    except json.JSONDecodeError:
        raise ObjectError(f"snapshot manifest {mref.oid[:12]} is not JSON", "the store is damaged; pull it again") from None


def object_refs(store: ObjectStore, ref: SnapshotRef) -> list[ObjectRef]:
    """Every object a snapshot needs: its manifest and its parts."""
    m = read_manifest(store, ref)
    return [ref.manifest, *(ObjectRef.from_json(p) for p in m["parts"])]


def read_snapshot(store: ObjectStore, ref: SnapshotRef, columns: Sequence[str] | None = None) -> "pa.Table":
    """The snapshot's table (parts verified by hash and concatenated in key order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    m = read_manifest(store, ref)
    name = m["table"]
    parts = [ObjectRef.from_json(p) for p in m["parts"]]

    def load(p: ObjectRef) -> "pa.Table":
        data = store.get(p, f"{name} part")
        # ParquetFile without the dataset scanner and without pre-buffering: both start
        # Arrow I/O threads that can abort the interpreter at exit (apache/arrow#34314);
        # the bytes are in memory already
        return pq.ParquetFile(pa.BufferReader(data), pre_buffer=False).read(columns=list(columns) if columns else None)

    if not parts:
        schema = C.schema(name)
        return schema.empty_table().select(list(columns)) if columns else schema.empty_table()
    if len(parts) == 1:
        tables = [load(parts[0])]
    else:
        with ThreadPoolExecutor(max_workers=4) as ex:
            tables = list(ex.map(load, parts))
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]
