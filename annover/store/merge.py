"""Applying a snapshot's deltas to its base parts (merge-on-read; see :mod:`annover.store.snapshots`).

Two ways, one result (the table in key order, each task with the rows of the last delta
naming it):

- :func:`replace_rows`, for deltas that each replace tasks' rows in place (the same tasks
  with as many rows each, as a relabel does; the manifest says so, with the columns whose
  values changed): each base part keeps its columns but those, which are rebuilt with one
  gather each, as the part is read. The deltas' rows (a few percent of the table) are
  merged once, last delta winning (:meth:`Replacing.last_of`), and each part looks its
  tasks up in them once; the base is never sorted or copied whole.
- :func:`apply_by_part` for any deltas (tasks added, removed, or given other rows): the
  deltas resolved into one key-sorted set of rows, then spliced into each part.

:func:`rows_after` gives the diff one side's rows of the tasks two snapshots' deltas name,
from those deltas and their before images alone.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from annover._lazy import lazy
from annover.model import canonical as C

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")


#: Threads that decode parts (and merge deltas into them): one a core, at least two. Decoding
#: is CPU work with the GIL released; on 2 cores, 4 threads read a version with three
#: deltas 8% slower than 2 (they contend for the cores and the memory bus).
READERS = max(2, min(8, os.cpu_count() or 2))


class NotInPlace(Exception):
    """Deltas said to replace rows in place do not line up with the base (read them the general way)."""


@dataclass(frozen=True)
class Replacing:
    """One delta that replaces tasks' rows in place, as :func:`replace_rows` reads it."""

    rows: "pa.Table"  # key-sorted, whole tasks
    tasks: "np.ndarray"  # each task's key (:func:`sortable`), in order
    starts: "np.ndarray"  # the row each task starts at in ``rows``, then the row count

    @classmethod
    def of(cls, rows: "pa.Table") -> "Replacing":
        keys = sortable(rows.column("task_key"))
        if keys is None:
            raise NotInPlace("task keys numpy cannot order")
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if len(keys) else np.zeros(0, int)
        return cls(rows, keys[starts], np.append(starts, len(keys)))

    @classmethod
    def last_of(cls, deltas: "Sequence[Replacing]") -> "Replacing":
        """One delta with, for each task any of ``deltas`` names, the rows of the last naming
        it: what they replace together, merged once for every part (their rows gathered in
        one take), so a part looks its tasks up once, not once a delta."""
        if len(deltas) == 1:
            return deltas[0]
        keys = np.concatenate([d.tasks for d in deltas])
        order = np.argsort(keys, kind="stable")  # a task named twice: the later delta's last
        keys = keys[order]
        last = np.append(keys[1:] != keys[:-1], True)
        shift = np.cumsum([0, *(d.rows.num_rows for d in deltas[:-1])])
        begins = np.concatenate([d.starts[:-1] + k for d, k in zip(deltas, shift)])[order[last]]
        counts = np.concatenate([np.diff(d.starts) for d in deltas])[order[last]]
        ends = np.cumsum(counts)
        rows = pa.concat_tables([d.rows for d in deltas]).take(
            C.int_array(np.repeat(begins - (ends - counts), counts) + np.arange(int(ends[-1]) if len(ends) else 0)))
        return cls(rows, keys[last], np.append(0, ends))


def replace_rows(part: "pa.Table", delta: Replacing, changed: "frozenset[str]") -> "tuple[pa.Table, int]":
    """(``part`` with the rows of every task ``delta`` names replaced by the delta's rows; the
    number of delta rows used). ``delta``: the deltas of a version merged, the last naming a
    task winning (:meth:`Replacing.last_of`). Every column outside ``changed`` is kept as it
    is; each in it is rebuilt with one gather (:func:`annover.model.canonical.replaced`).
    Raises :class:`NotInPlace` when a task the delta names in the part's key range has
    another number of rows in the part."""
    n = part.num_rows
    kb = sortable(part.column("task_key")) if n else None
    if kb is None:
        if n:
            raise NotInPlace("task keys numpy cannot order")
        return part, 0
    u0, u1 = int(np.searchsorted(delta.tasks, kb[0], "left")), int(np.searchsorted(delta.tasks, kb[-1], "right"))
    if u1 <= u0:
        return part, 0
    tasks, starts = delta.tasks[u0:u1], delta.starts[u0:u1 + 1]
    counts = np.diff(starts)
    lo = np.searchsorted(kb, tasks, "left")
    end = lo + counts  # the part holds these tasks' rows at lo..end, and no more of them
    if end[-1] > n or not (kb[end - 1] == tasks).all() or ((end < n) & (kb[np.minimum(end, n - 1)] == tasks)).any():
        raise NotInPlace("a task has other rows than the base's")
    i0, m = int(starts[0]), int(starts[-1] - starts[0])
    at = np.repeat(lo - (starts[:-1] - i0), counts) + np.arange(m)  # the part's row of each delta row
    source = delta.rows.slice(i0, m)
    cols = [C.replaced(col, at, C.single_chunk(source.column(name))) if name in changed else col
            for name, col in zip(part.column_names, part.columns)]
    return C.retyped(part.schema, cols), m  # a replaced dictionary column comes back plain


def rows_after(name: str, ups: "Sequence[pa.Table | None]", dels: "Sequence[pa.Array | None]",
               theirs: "Sequence[tuple[pa.Array, pa.Table | None]]") -> "pa.Table":
    """One side's rows of the tasks named by the deltas either of two snapshots has after a
    layout both share, from those deltas alone: ``ups``/``dels``, this side's deltas
    (upserted rows, deleted task keys) in order; ``theirs``, the other side's, as (the task
    keys it names, its before image) in order. A task this side's deltas name has the rows
    of the last of them (none if that one deletes it); any other has the shared layout's
    rows, which the before image of the first of the other side's deltas naming it holds."""
    schema = C.schema(name)
    rows, named = _resolve(ups, dels)
    out = [rows.select(schema.names).cast(schema)] if rows is not None and rows.num_rows else []
    seen = [C.single_chunk(named)] if named is not None and len(named) else []
    for keys, before in theirs:
        if before is not None and before.num_rows:
            if seen:
                before = before.filter(pc.invert(pc.is_in(before.column("task_key"),
                                                          value_set=pa.concat_arrays(seen))))
            out.append(before.select(schema.names).cast(schema))
        seen.append(C.single_chunk(keys).cast(pa.string()))
    return pa.concat_tables(out) if out else schema.empty_table()


def apply_by_part(parts: "Sequence[pa.Table]", upserts: "Sequence[pa.Table | None]",
                  deletes: "Sequence[pa.Array | None]") -> "pa.Table":
    """:func:`apply_deltas` on base parts in key order, each part with the delta rows and keys
    of its key range, in a few threads (a part no delta touches is kept as it is)."""
    rows, named = _resolve(upserts, deletes)
    parts = [p for p in parts if p.num_rows] or list(parts[:1])
    if named is None:
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    lasts = sortable(pa.array([p.column("task_key")[-1].as_py() for p in parts[:-1]], pa.string()))
    kd = sortable(rows.column("task_key")) if rows is not None else np.zeros(0, "S1")
    kn = sortable(named)
    if lasts is None or kd is None or kn is None or len(parts) == 1:
        return apply_deltas(pa.concat_tables(parts), [rows], [named])
    order = np.argsort(kn, kind="stable")
    named, kn = named.take(pa.array(order)), kn[order]
    cut_rows = [0, *np.searchsorted(kd, lasts, side="right").tolist(), len(kd)]
    cut_named = [0, *np.searchsorted(kn, lasts, side="right").tolist(), len(kn)]
    jobs = []
    for i, part in enumerate(parts):
        r0, r1, n0, n1 = cut_rows[i], cut_rows[i + 1], cut_named[i], cut_named[i + 1]
        jobs.append((part, rows.slice(r0, r1 - r0) if rows is not None and r1 > r0 else None,
                     named.slice(n0, n1 - n0) if n1 > n0 else None))
    merge = lambda j: _apply(j[0], j[1], j[2]) if j[2] is not None else j[0]  # noqa: E731 (named holds rows' keys)
    with ThreadPoolExecutor(max_workers=READERS) as ex:
        return pa.concat_tables(list(ex.map(merge, jobs)))


def sortable(keys: "pa.Array"):
    """Strings as a numpy ``S`` array ordered as Arrow orders them (byte order), or None when
    a key holds a NUL byte (numpy pads with NULs, so it would compare equal to a shorter key)."""
    keys = C.single_chunk(keys)
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype="S1")
    if keys.null_count or keys.type != pa.string():
        return None
    offsets = np.frombuffer(keys.buffers()[1], dtype=np.int32, count=n + 1, offset=keys.offset * 4)
    start, data = int(offsets[0]), keys.buffers()[2]
    offsets = offsets - start
    raw = (np.frombuffer(data, dtype=np.uint8, count=int(offsets[-1]), offset=start) if data is not None
           else np.zeros(0, np.uint8))
    if raw.size and not raw.all():
        return None
    lengths = np.diff(offsets)
    width = max(1, int(lengths.max()))
    if int(lengths.min()) == width:  # every key as long: the data is the matrix
        return raw.reshape(n, width).view(f"S{width}").ravel()
    out = np.zeros((n, width), dtype=np.uint8)
    for length in np.unique(lengths).tolist():
        if length:
            rows = np.flatnonzero(lengths == length)
            out[rows, :length] = raw[offsets[rows, None] + np.arange(length)]
    return out.view(f"S{width}").ravel()


def _resolve(upserts: "Sequence[pa.Table | None]", deletes: "Sequence[pa.Array | None]"
             ) -> "tuple[pa.Table | None, pa.Array | None]":
    """(rows the deltas leave, key-sorted; every task key they name): a task's rows are
    those of the last delta naming it."""
    named, later, kept, order = [], [], [], []
    for up, dl in reversed(list(zip(upserts, deletes))):
        if up is not None and up.num_rows:
            ks = sortable(up.column("task_key"))
            if ks is None:
                return _resolve_arrow(upserts, deletes)
            if later:
                seen = np.unique(np.concatenate(later))
                pos = np.minimum(np.searchsorted(seen, ks), len(seen) - 1)
                fresh = seen[pos] != ks
                if not fresh.all():
                    up, ks = up.filter(pa.array(fresh)), ks[fresh]
            if up.num_rows:
                kept.append(up)
                order.append(ks)
                named.append(up.column("task_key"))
                later.append(ks)
        if dl is not None and len(dl):
            kd = sortable(dl)
            if kd is None:
                return _resolve_arrow(upserts, deletes)
            named.append(dl)
            later.append(kd)
    keys = pa.concat_arrays([C.single_chunk(a).cast(pa.string()) for a in named]) if named else None
    if not kept:
        return None, keys
    if len(kept) == 1:
        return kept[0], keys
    rows = pa.concat_tables(kept)  # tasks of different deltas are disjoint: a stable sort on the task key
    return C.take(rows, pa.array(np.argsort(np.concatenate(order), kind="stable"))), keys


def _resolve_arrow(upserts: "Sequence[pa.Table | None]", deletes: "Sequence[pa.Array | None]"
             ) -> "tuple[pa.Table | None, pa.Array | None]":
    """:func:`_resolve` with Arrow's kernels (for keys :func:`_sortable` cannot order)."""
    named: list = []
    kept = []
    for up, dl in reversed(list(zip(upserts, deletes))):
        if up is not None and up.num_rows:
            if named:
                later = pa.concat_arrays([C.single_chunk(a) for a in named])
                up = up.filter(pc.invert(pc.is_in(up.column("task_key"), value_set=later)))
            if up.num_rows:
                kept.append(up)
                named.append(pc.unique(up.column("task_key")))
        if dl is not None and len(dl):
            named.append(dl)
    keys = pa.concat_arrays([C.single_chunk(a).cast(pa.string()) for a in named]) if named else None
    if not kept:
        return None, keys
    rows = kept[0] if len(kept) == 1 else pa.concat_tables(kept[::-1])
    if len(kept) > 1:  # tasks of different deltas are disjoint: a stable sort on the task key alone
        rows = C.take(rows, pc.sort_indices(rows.column("task_key")))
    return rows, keys


def _named_rows(kb, named) -> "np.ndarray":
    """Mask of the rows of a key-sorted table (task keys ``kb``, :func:`_sortable`) whose task is in ``named``."""
    if len(named) > 1:  # np.unique, without its sort when the keys come in order (a delta's do)
        if not (named[1:] >= named[:-1]).all():
            named = np.sort(named)
        named = named[np.concatenate(([True], named[1:] != named[:-1]))]
    lo, hi = np.searchsorted(kb, named, side="left"), np.searchsorted(kb, named, side="right")
    edges = np.zeros(len(kb) + 1, dtype=np.int64)
    np.add.at(edges, lo, 1)
    np.add.at(edges, hi, -1)
    return np.cumsum(edges[:-1]) > 0


def _in_place(base: "pa.Table", rows: "pa.Table", at) -> "pa.Table | None":
    """``base`` with its rows ``at`` (whole tasks) replaced by ``rows`` when these hold the
    same tasks with as many rows each (a relabel): the rows keep their places, and only the
    columns whose values differ are rebuilt; None when the tasks differ."""
    old = base.take(pa.array(at))  # every column's old values in one call
    if not C.single_chunk(old.column("task_key")).equals(C.single_chunk(rows.column("task_key"))):
        return None
    cols = []
    for name in base.column_names:
        col, new = base.column(name), C.single_chunk(rows.column(name))
        cols.append(col if C.single_chunk(old.column(name)).equals(new) else C.replaced(col, at, new))
    return pa.Table.from_arrays(cols, schema=base.schema)


def apply_deltas(base: "pa.Table", upserts: "Sequence[pa.Table | None]",
                 deletes: "Sequence[pa.Array | None]") -> "pa.Table":
    """``base`` (in key order) with the deltas applied in order, in key order: the rows of
    every task a delta names are dropped from the base, and each task takes the rows of the
    last delta that names it (none if that one deletes it). ``upserts`` have ``base``'s columns."""
    rows, named = _resolve(upserts, deletes)
    return base if named is None else _apply(base, rows, named)


def _apply(base: "pa.Table", rows: "pa.Table | None", named: "pa.Array") -> "pa.Table":
    """:func:`apply_deltas` of resolved deltas: ``rows``, key-sorted; ``named``, every task key
    they name (``rows``' included)."""
    n = base.num_rows
    kb, kn = sortable(base.column("task_key")), sortable(named)
    kd = sortable(rows.column("task_key")) if rows is not None else np.zeros(0, "S1")
    if kb is None or kn is None or kd is None:  # keys with NUL bytes: a stable sort on the task key
        keep = pc.invert(pc.is_in(base.column("task_key"), value_set=named))
        both = pa.concat_tables([base.filter(keep), *([rows.select(base.column_names).cast(base.schema)]
                                                      if rows is not None else [])])
        return C.take(both, pc.sort_indices(both.column("task_key")))
    drop = _named_rows(kb, kn) if n else np.zeros(0, dtype=bool)
    keep = np.flatnonzero(~drop)
    if rows is None or rows.num_rows == 0:
        return base.take(pa.array(keep)) if len(keep) < n else base
    rows = rows.select(base.column_names).cast(base.schema)
    m = rows.num_rows
    if n - len(keep) == m:
        same = _in_place(base, rows, np.flatnonzero(drop))
        if same is not None:
            return same
    before = np.searchsorted(kb, kd, side="left")  # base rows before each delta row ...
    dropped = np.concatenate([[0], np.cumsum(drop)])
    at = before - dropped[before] + np.arange(m)  # ... less those dropped, plus the delta rows before it
    order = np.empty(len(keep) + m, dtype=np.int64)
    is_delta = np.zeros(len(order), dtype=bool)
    is_delta[at] = True
    order[at] = n + np.arange(m)
    order[~is_delta] = keep
    return C.take(pa.concat_tables([base, rows]).combine_chunks(), pa.array(order))
