"""The tasks a three-way merge must look at, found from the three versions' snapshot layouts.

A snapshot's parts are split at key-defined boundaries and stored by the hash of their
bytes, so a part object two versions share holds exactly the same rows (provenance
included) of exactly the same tasks, and a task's rows are all in one part. A task that sits
in no part one side does not share with the base, and that no delta after the deltas they
have in common names, is the same in the base and on that side, in content and provenance.
A task that is so on both sides and in every table is taken by the merge as it is (ours'
rows) and shows in no list of its report. :func:`narrow` finds the others, the candidates
(a candidate that turns out unchanged is just merged as any other), and reads only their
rows; :func:`widen` puts the merged rows of the candidates back into ours' whole tables.

Where every side's layout has the same base parts and the deltas after their common ones
record before images, the candidates' rows come from those deltas alone (each delta's before
image holds the rows the layouts share; :func:`annover.store.merge.rows_after`), and nothing
of the base parts is read for the tasks they name.

Where the layouts share too little (a side written whole: a round past the compaction
threshold, or a version made elsewhere), the candidates come from the parts' stored task
hashes and provenance columns instead (:func:`annover.store.snapshots.changed_tasks`): a task
whose hash and provenance are the same in the base and on a side is unchanged there. Only
when those are many too (or the hashes are not comparable) are the versions merged whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from annover._lazy import lazy
from annover.model import canonical as C
from annover.model.threeway import Merged
from annover.repo.core import read_version_table
from annover.store.merge import apply_deltas, rows_after
from annover.store.objects import ObjectRef, ObjectStore
from annover.store.snapshots import (Layout, changed_tasks, compared_columns, hash_probe, read_layout,
                                     read_manifest, read_part)
from annover.store.versions import Version

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["Narrowed", "WHOLE_ABOVE", "narrow", "widen"]

#: Candidates above this share of the tasks (or parts to look into above this share of a
#: table's rows): the three versions are merged whole, as the candidates would be most of them.
WHOLE_ABOVE = 0.5
#: the three versions of a merge, in the order :func:`annover.model.threeway.merge_tables` takes them
VERSIONS = ("base", "ours", "theirs")
#: a table: ``tasks``, ``annotations`` or (``predictions``, model version)
Key = Union[str, "tuple[str, str]"]


@dataclass
class Narrowed:
    """The candidates of a merge (task keys, sorted, each once), the number of tasks of the
    largest of the three versions, and each version's rows of the candidates (``tasks``,
    ``annotations``, ``predictions`` of every model version), for :func:`merge_tables`."""

    keys: "pa.Array"
    tasks: int
    rows: "dict[str, dict[str, pa.Table]]"


@dataclass(frozen=True)
class _Table:
    """One table's snapshots in the three versions: manifest object id (None: the version has no
    such snapshot) and layout, by version."""

    name: str
    manifests: dict[str, str | None]
    layouts: dict[str, Layout]
    #: the fingerprint of the task hashes each version's parts store (None: none stored)
    probes: dict[str, str | None]

    @property
    def same(self) -> bool:
        """Whether the three versions hold the same snapshot object: the same rows."""
        return len(set(self.manifests.values())) == 1

    def imaged(self) -> int | None:
        """The number of deltas the three layouts have in common when they share their base parts and
        every delta after those records a before image; None otherwise."""
        lays = list(self.layouts.values())
        if any(lay.base != lays[0].base for lay in lays):
            return None
        common = min(_common(lays[0].deltas, lay.deltas) for lay in lays[1:])
        return common if all(all(lay.imaged[common:]) for lay in lays) else None


def _common(a: tuple, b: tuple) -> int:
    """How many leading deltas two layouts have in common."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _tables(store: ObjectStore, versions: dict[str, Version]) -> list[_Table]:
    """The tables of the three versions: tasks, annotations, and the predictions of every model
    version any of them has."""
    mvs = sorted({mv for v in versions.values() for mv in v.model_versions})
    keys: list[Key] = ["tasks", "annotations", *(("predictions", mv) for mv in mvs)]
    out = []
    for key in keys:
        name = key if isinstance(key, str) else key[0]
        manifests, layouts, probes = {}, {}, {}
        for side, v in versions.items():
            snap = v.snapshot(key) if isinstance(key, str) else v.snapshot(*key)
            m = read_manifest(store, snap) if snap is not None else None
            manifests[side] = snap.manifest.oid if snap is not None else None
            layouts[side] = Layout.of(m) if m is not None else Layout(())
            probes[side] = m.get("task_hash") if m is not None else None
        out.append(_Table(name, manifests, layouts, probes))
    return out


def _named(store: ObjectStore, name: str, deltas: tuple) -> "list[pa.Array]":
    """The task keys ``deltas`` name (upserted or deleted)."""
    return [read_part(store, ref, f"{name} delta", ["task_key"]).column("task_key").combine_chunks()
            for d in deltas for ref in d if ref is not None]


def _candidates_of(store: ObjectStore, t: _Table, tasks: int) -> "list[pa.Array] | None":
    """The task keys that may differ between the base and either side in table ``t``: from the
    deltas the layouts do not share, else from the parts they do not share, else from the
    stored task hashes; None when none of these tells (then most tasks may be candidates)."""
    if t.same:
        return []
    common = t.imaged()
    if common is not None:
        return [k for lay in t.layouts.values() for k in _named(store, t.name, lay.deltas[common:])]
    by_parts = _by_parts(store, t, tasks)
    return by_parts if by_parts is not None else _by_hashes(store, t)


def _by_parts(store: ObjectStore, t: _Table, tasks: int) -> "list[pa.Array] | None":
    """The task keys of the parts and deltas a side does not share with the base in table ``t``;
    None when those parts hold more than :data:`WHOLE_ABOVE` of a version's rows of the table
    and of its number of ``tasks``."""
    base, out = t.layouts["base"], []
    for side in VERSIONS[1:]:
        lay = t.layouts[side]
        if t.manifests[side] == t.manifests["base"]:
            continue
        shared = {r.oid for r in base.base} & {r.oid for r in lay.base}
        for one in (base, lay):
            rows = sum(n for r, n in zip(one.base, one.base_rows) if r.oid not in shared)
            if rows > WHOLE_ABOVE * max(sum(one.base_rows), tasks):
                return None
        parts = {r.oid: r for r in (*base.base, *lay.base) if r.oid not in shared}
        out += [read_part(store, r, f"{t.name} part", ["task_key"]).column("task_key").combine_chunks()
                for r in parts.values()]
        common = _common(base.deltas, lay.deltas)
        out += _named(store, t.name, base.deltas[common:] + lay.deltas[common:])
    return out


def _by_hashes(store: ObjectStore, t: _Table) -> "list[pa.Array] | None":
    """The task keys whose stored task hash or provenance differs between the base and either side
    in table ``t`` (a table one of them lacks: the other's every task); None when a version's
    parts store no hashes this DuckDB computes alike."""
    probe, read, out = hash_probe(), {}, []

    def rows(side: str) -> "pa.Table":  # the base's, read once for both sides
        if side not in read:
            read[side] = read_layout(store, t.name, t.layouts[side], compared_columns(t.name))
        return read[side]
    for side in VERSIONS[1:]:
        if t.manifests[side] == t.manifests["base"]:
            continue
        lacking = [s for s in ("base", side) if t.manifests[s] is None]
        if lacking:
            other = side if lacking == ["base"] else "base"
            out.append(read_layout(store, t.name, t.layouts[other], ["task_key"]).column("task_key").combine_chunks())
            continue
        if not probe or t.probes["base"] != probe or t.probes[side] != probe:
            return None
        keys = changed_tasks(rows(side), rows("base"), t.name)
        if keys is None:
            return None
        out.append(keys)
    return out


def _empty(name: str) -> "pa.Table":
    return C.schema(name).empty_table()


def _keys_of(arrays: "list[pa.Array]") -> "pa.Array":
    """The distinct keys of ``arrays``, sorted."""
    if not arrays:
        return pa.array([], pa.string())
    keys = pc.unique(pa.concat_arrays([a.cast(pa.string()) for a in arrays]))
    return keys.take(pc.sort_indices(keys))


def _rows_imaged(store: ObjectStore, t: _Table, common: int, keys: "pa.Array") -> "dict[str, pa.Table]":
    """Each version's rows of the candidates ``keys`` in a table whose layouts share their base parts
    and ``common`` deltas: the tasks the deltas after those name from the deltas and their before
    images; the other candidates from the layout the three share, read once for all three."""
    read: dict[str, pa.Table] = {}

    def table(ref: ObjectRef, what: str) -> "pa.Table":
        if ref.oid not in read:
            read[ref.oid] = read_part(store, ref, f"{t.name} {what}", None)
        return read[ref.oid]
    after = {s: [(*d, lay.befores[j]) for j, d in enumerate(lay.deltas) if j >= common]
             for s, lay in t.layouts.items()}
    named = [table(r, "delta").column("task_key").combine_chunks() for ds in after.values() for d in ds
             for r in d[:2] if r is not None]
    rest = keys.filter(pc.invert(pc.is_in(keys, value_set=_keys_of(named)))) if named else keys
    lay = t.layouts["base"]
    shared = read_layout(store, t.name, Layout(lay.base, lay.deltas[:common]), keys=rest, cache={}) if len(rest) \
        else _empty(t.name)
    out = {}
    for s, mine in after.items():
        ups = [table(u, "delta") if u is not None else None for u, _, _ in mine]
        dels = [table(d, "delta").column("task_key") if d is not None else None for _, d, _ in mine]
        others = [(pa.concat_arrays([table(r, "delta").column("task_key").combine_chunks().cast(pa.string())
                                     for r in d[:2] if r is not None] or [pa.array([], pa.string())]),
                   table(d[2], "before image") if d[2] is not None else None)
                  for o, ds in after.items() if o != s for d in ds]
        out[s] = pa.concat_tables([C.conform(rows_after(t.name, ups, dels, others), t.name),
                                   C.conform(shared, t.name)])
    return out


def _rows_of(store: ObjectStore, t: _Table, keys: "pa.Array") -> "dict[str, pa.Table]":
    """Each version's rows of the candidates ``keys`` in table ``t``."""
    common = None if t.same else t.imaged()
    if common is not None:
        return _rows_imaged(store, t, common, keys)
    cache: dict = {}  # a part two versions share is read once
    if t.same:
        one = C.conform(read_layout(store, t.name, t.layouts["base"], keys=keys, cache=cache), t.name)
        return {s: one for s in VERSIONS}
    return {s: C.conform(read_layout(store, t.name, lay, keys=keys, cache=cache), t.name)
            for s, lay in t.layouts.items()}


def narrow(store: ObjectStore, base: Version, ours: Version, theirs: Version) -> Narrowed | None:
    """The candidates of a merge of ``ours`` and ``theirs`` against ``base`` and their rows (see
    the module docstring); None when they would be more than :data:`WHOLE_ABOVE` of the tasks:
    merge the versions whole then."""
    versions = dict(zip(VERSIONS, (base, ours, theirs)))
    tables = _tables(store, versions)
    n = max(snap.rows if (snap := v.snapshot("tasks")) is not None else 0 for v in versions.values())
    found = []
    for t in tables:
        keys = _candidates_of(store, t, n)
        if keys is None:
            return None
        found += keys
    keys = _keys_of(found)
    if len(keys) > WHOLE_ABOVE * n:
        return None
    rows: dict[str, dict[str, list[pa.Table]]] = {s: {name: [] for name in C.TABLES} for s in VERSIONS}
    for t in tables:
        for s, r in (_rows_of(store, t, keys) if len(keys) else {}).items():
            rows[s][t.name].append(r)
    return Narrowed(keys, n, {s: {name: pa.concat_tables(ts) if ts else _empty(name) for name, ts in by.items()}
                              for s, by in rows.items()})


def widen(store: ObjectStore, ours: Version, merged: Merged, keys: "pa.Array"
          ) -> "tuple[pa.Table, pa.Table, dict[str, pa.Table]]":
    """(tasks, annotations, predictions by model version) of the merge: ``ours``' whole tables,
    each read once, with the rows of every candidate ``keys`` replaced by ``merged``'s (the merge
    of the candidates' rows), in key order: what :func:`merge_tables` of the whole versions gives."""
    tasks, annotations = (C.conform(apply_deltas(read_version_table(store, ours, name), [merged.table(name)],
                                                 [keys]), name) for name in ("tasks", "annotations"))
    preds = merged.predictions
    by_model = {}
    for mv in sorted(set(ours.model_versions) | set(pc.unique(preds.column("model_version")).to_pylist())):
        mine = read_version_table(store, ours, "predictions", mv) if mv in ours.model_versions \
            else _empty("predictions")
        t = apply_deltas(mine, [preds.filter(pc.equal(preds.column("model_version"), mv))], [keys])
        if t.num_rows:
            by_model[mv] = C.conform(t, "predictions")
    return tasks, annotations, by_model
