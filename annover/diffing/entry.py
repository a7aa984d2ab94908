"""The entry of the diff over a store: two versions, their Parquet parts read where they differ.

:func:`diff_versions` takes what it needs as data (an object store and two version
records); the repository resolves the revisions (``Repo.diff``).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from annover._lazy import lazy
from annover.diffing.plan import Pair, Plan
from annover.diffing.result import DiffResult, Options
from annover.diffing.run import run
from annover.diffing.source_data import diff_source
from annover.diffing.sources import Source, locate, merged_sql, shared_rows_sql, verified_paths, verifying
from annover.errors import ObjectError
from annover.model import canonical as C
from annover.model import stats as S
from annover.store.objects import ObjectRef, ObjectStore
from annover.store.merge import rows_after
from annover.store.snapshots import Layout, SnapshotRef, decode_part, read_manifest, read_snapshot
from annover.store.versions import Version

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
else:
    pa = lazy("pyarrow")

TABLES = ("tasks", "annotations")
_NONE = Layout(())


@dataclass(frozen=True)
class _Side:
    """What a diff reads of one side of a table: whole base parts (``parts``) and, for a
    snapshot with deltas, the deltas applied to them; with ``keys`` (delta files), the
    ``shared`` base parts too, for the tasks those keys name only."""

    parts: tuple[ObjectRef, ...]
    deltas: tuple = ()
    shared: tuple[ObjectRef, ...] = ()
    keys: tuple[ObjectRef, ...] = ()
    #: the shared parts' rows of the named tasks, read once for both sides (see Source.prelude)
    cache: dict | None = field(default=None, compare=False)

    def refs(self) -> list[ObjectRef]:
        return [*self.parts, *self.shared, *self.keys, *(r for d in self.deltas for r in d if r is not None)]

    def source(self, name: str, paths: dict[str, str], hashed: bool) -> Source:
        if not self.deltas and not self.shared:
            return Source(name, paths=tuple(paths[r.oid] for r in self.parts), hashed=hashed)
        at = lambda rs: [paths[r.oid] for r in rs]  # noqa: E731
        deltas = [tuple(paths[r.oid] if r is not None else None for r in d) for d in self.deltas]
        if self.cache is not None and self.shared and self.keys:
            table = f"__base_{id(self.cache):x}"
            return Source(name, view=merged_sql(at(self.parts), deltas, keys=at(self.keys), shared_table=table), hashed=hashed,
                          materialize=not self.parts, prelude=(table, shared_rows_sql(at(self.shared), at(self.keys))),
                          shared=self.cache)
        return Source(name, view=merged_sql(at(self.parts), deltas, at(self.shared), at(self.keys)), hashed=hashed,
                      materialize=bool(self.keys) and not self.parts)


@dataclass(frozen=True)
class _Imaged:
    """One side's rows of the tasks named by the deltas either side has after a layout both
    share, from those deltas alone (their before images hold the shared layout's rows;
    :func:`annover.store.merge.rows_after`)."""

    mine: tuple  # (upserts, deletes, before) of this side's deltas after the shared layout
    theirs: tuple  # the same of the other side's
    #: the delta files read, by object id (both sides share it: each file is read once)
    read: dict = field(default_factory=dict, compare=False)

    def refs(self) -> list[ObjectRef]:
        return [r for d in self.mine + self.theirs for r in d if r is not None]

    def source(self, name: str, paths: dict[str, str], hashed: bool) -> Source:
        todo = list(dict.fromkeys(r.oid for r in self.refs() if r.oid not in self.read))
        if todo:  # both sides' delta files, each decoded once, at once (decoding releases the GIL)
            with ThreadPoolExecutor(max_workers=min(4, len(todo)), thread_name_prefix="annover-delta") as ex:
                tables = ex.map(lambda oid: decode_part(Path(paths[oid]).read_bytes(), None, keep_hash=True), todo)
                self.read.update(zip(todo, tables))

        def table(ref: ObjectRef) -> "pa.Table":  # verified by diff_versions while the diff runs (see verifying)
            return self.read[ref.oid]

        def keys(d: tuple) -> "pa.Array":
            named = [c for r in d[:2] if r is not None for c in table(r).column("task_key").chunks]
            # chunks, not columns: pa.chunked_array converts a column given as a chunk row by row
            return pa.chunked_array(named, pa.string()).combine_chunks() if named else pa.array([], pa.string())

        ups = [table(u) if u is not None else None for u, _, _ in self.mine]
        dels = [table(d).column("task_key") if d is not None else None for _, d, _ in self.mine]
        theirs = [(keys(d), table(d[2]) if d[2] is not None else None) for d in self.theirs]
        return Source(name, table=rows_after(name, ups, dels, theirs))


def _imaged(la: Layout, lb: Layout, common: int) -> "tuple[_Imaged, _Imaged] | None":
    """Both sides from their deltas after the ``common`` ones, when every one of those has a before image."""
    if not all(la.imaged[common:]) or not all(lb.imaged[common:]):
        return None
    ea = tuple((*d, la.befores[j]) for j, d in enumerate(la.deltas) if j >= common)
    eb = tuple((*d, lb.befores[j]) for j, d in enumerate(lb.deltas) if j >= common)
    read: dict = {}
    return _Imaged(ea, eb, read), _Imaged(eb, ea, read)


def _common(a: tuple, b: tuple) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


@dataclass
class _Parts:
    """The part objects of snapshots (manifests read once) and which of them a diff reads."""

    store: ObjectStore
    fast: bool
    counts: dict = field(default_factory=lambda: {"compared": 0, "skipped": 0})
    _manifests: dict = field(default_factory=dict)

    def manifest(self, snap: SnapshotRef | None) -> tuple[Layout, str | None]:
        """(layout: base parts and deltas, stored task hash fingerprint) of a snapshot."""
        if snap is None:
            return _NONE, None
        key = snap.manifest.oid
        if key not in self._manifests:
            m = read_manifest(self.store, snap)
            self._manifests[key] = (Layout.of(m), m.get("task_hash"))
        return self._manifests[key]

    def hashed(self, sa: SnapshotRef | None, sb: SnapshotRef | None) -> bool:
        """Whether both snapshots' parts store task hashes of the same function."""
        probe = self.manifest(sa)[1]
        return sa is not None and sb is not None and probe is not None and probe == self.manifest(sb)[1]

    def to_read(self, sa: SnapshotRef | None, sb: SnapshotRef | None) -> tuple[_Side, _Side] | None:
        """What to compare of each side (None: nothing): the parts the two sides do not share;
        with deltas, also the tasks named by the deltas the two sides do not share."""
        la, lb = self.manifest(sa)[0], self.manifest(sb)[0]
        if self.fast and sa is not None and sb is not None and sa.id == sb.id:
            self.counts["skipped"] += len(la.objects()) + len(lb.objects())
            return None
        shared = {r.oid for r in la.base} & {r.oid for r in lb.base} if self.fast else set()
        keep_a = tuple(r for r in la.base if r.oid not in shared)
        keep_b = tuple(r for r in lb.base if r.oid not in shared)
        if la.deltas or lb.deltas:  # and the tasks named by the deltas after a common base and chain
            common = _common(la.deltas, lb.deltas) if la.base == lb.base and self.fast else 0
            keys = tuple(r for d in la.deltas[common:] + lb.deltas[common:] for r in d if r is not None)
            if not keys:  # the same layout
                return None
            imaged = _imaged(la, lb, common) if la.base == lb.base and self.fast else None
            if imaged is None:
                cache: dict = {}
                imaged = tuple(_Side(keep, lay.deltas, tuple(r for r in lay.base if r.oid in shared), keys, cache)
                               for lay, keep in ((la, keep_a), (lb, keep_b)))
            read = len({r.oid for r in imaged[0].refs() + imaged[1].refs()})
            self.counts["compared"] += read
            self.counts["skipped"] += max(0, len({r.oid for r in la.objects() + lb.objects()}) - read)
            return imaged
        self.counts["skipped"] += (len(la.base) - len(keep_a)) + (len(lb.base) - len(keep_b))
        self.counts["compared"] += len(keep_a) + len(keep_b)
        return (_Side(keep_a), _Side(keep_b)) if keep_a or keep_b else None


@dataclass
class _Whole:
    """Both sides' whole tables as verified parts, located when first asked for."""

    parts: _Parts
    versions: dict[str, Version]
    _cache: dict = field(default_factory=dict)

    def _source(self, name: str, side: str, mv: str | None = None) -> Source:
        key = (name, side, mv)
        if key not in self._cache:
            v = self.versions[side]
            snap = v.snapshot(name, mv) if name == "predictions" else v.snapshot(name)
            lay = self.parts.manifest(snap)[0]
            refs = lay.objects()
            paths = dict(zip((r.oid for r in refs), verified_paths(self.parts.store, refs)))
            self._cache[key] = _Side(lay.base, lay.deltas).source(name, paths, False)
        return self._cache[key]

    def tasks(self, side: str) -> Source:
        return self._source("tasks", side)

    def annotations(self, side: str) -> Source:
        return self._source("annotations", side)

    def predictions(self, side: str, model_version: str) -> Source:
        return self._source("predictions", side, model_version)

    def same_agreement_input(self, model_version: str) -> bool:
        va, vb = self.versions["a"], self.versions["b"]
        sa, sb = va.snapshot("annotations"), vb.snapshot("annotations")
        pa_, pb_ = va.snapshot("predictions", model_version), vb.snapshot("predictions", model_version)
        return bool(sa and sb and pa_ and pb_ and sa.id == sb.id and pa_.id == pb_.id)


def _file_list(store: ObjectStore, link: dict | None, rev: str, warnings: list[str]) -> dict | None:
    if not link or not link.get("files"):
        return None
    try:
        return json.loads(store.get(ObjectRef.from_json(link["files"]), "source file list"))
    except ObjectError as e:
        warnings.append(f"the source file list of {rev} is not available ({e.message}); "
                        "source data compared by its overall hash only")
        return None


def _source_data(store: ObjectStore, va: Version, vb: Version, revs: tuple[str, str], warnings: list[str]
                 ) -> dict | None:
    """The source data of the two versions compared (by file lists when both have one)."""
    la, lb = va.record.get("source"), vb.record.get("source")
    if not la and not lb:
        return None
    if la and lb and la.get("sha256") == lb.get("sha256"):
        n = la.get("nfiles")
        return {"path_a": la.get("path"), "path_b": lb.get("path"), "changed": False, "files_before": n,
                "files_after": n, "added": [], "removed": [], "modified": [], "renamed": []}
    fa, fb = _file_list(store, la, revs[0], warnings), _file_list(store, lb, revs[1], warnings)
    if (la and la.get("files") and fa is None) or (lb and lb.get("files") and fb is None):
        fa = fb = None
    return diff_source(la, lb, fa, fb)


def _table(store: ObjectStore, snap: SnapshotRef | None, name: str) -> "pa.Table":
    return read_snapshot(store, snap) if snap is not None else C.schema(name).empty_table()


def _stats(store: ObjectStore, v: Version) -> dict:
    """A version's stats: from its record, else computed from its tables."""
    if v.stats:
        return v.stats
    preds = {mv: _table(store, v.snapshot("predictions", mv), "predictions") for mv in v.model_versions}
    return S.compute(_table(store, v.snapshot("tasks"), "tasks"), _table(store, v.snapshot("annotations"),
                                                                          "annotations"), preds)


def _config_text(store: ObjectStore, v: Version) -> str | None:
    return store.get(v.config_ref, "labeling config").decode("utf-8") if v.config_ref else None


def diff_versions(store: ObjectStore, version_a: Version, version_b: Version, *, rev_a: str, rev_b: str,
                  options: Options | None = None, fast: bool = True) -> DiffResult:
    """What changed from ``version_a`` to ``version_b``, reading objects from ``store``.

    ``rev_a``/``rev_b`` are the names the summary shows. Reads only what differs: nothing of
    a table whose snapshot id is the same on both sides, and of the others only the Parquet
    parts the two versions do not share (``fast=False`` compares every part, for checking).
    Every part read is verified against its hash. Parts must be local (``store.locate``):
    ObjectError names the first that is not.
    """
    opts = (options or Options()).check()
    va, vb = version_a, version_b
    parts = _Parts(store, fast)
    todo: dict[tuple[str, str | None], tuple] = {}
    for name in TABLES if opts.summary else ("annotations",):  # without it, the touched tasks alone
        todo[name, None] = (name, va.snapshot(name), vb.snapshot(name))
    for mv in sorted(set(va.model_versions) & set(vb.model_versions)) if opts.summary else ():
        todo["predictions", mv] = ("predictions", va.snapshot("predictions", mv), vb.snapshot("predictions", mv))
    reads = {k: (name, parts.to_read(sa, sb), parts.hashed(sa, sb)) for k, (name, sa, sb) in todo.items()}
    refs = {r.oid: r for _, found, _ in reads.values() if found for r in found[0].refs() + found[1].refs()}
    located = locate(store, list(refs.values()))  # verified while DuckDB reads them (see verifying)
    paths = {ref.oid: str(p) for ref, p in located}

    def sources(name: str, found: tuple | None, hashed: bool) -> Pair | None:
        if found is None:
            return None
        return found[0].source(name, paths, hashed), found[1].source(name, paths, hashed)

    pairs = {k: sources(*v) for k, v in reads.items()}
    warnings: list[str] = []
    ca, cb = va.config_ref, vb.config_ref
    whole = opts.summary  # else the stats, configs and source data are not read: nothing counts them
    plan = Plan(
        a={"rev": rev_a, "id": va.id}, b={"rev": rev_b, "id": vb.id}, stats_a=_stats(store, va) if whole else {},
        stats_b=_stats(store, vb) if whole else {}, tasks=pairs.get(("tasks", None)),
        annotations=pairs["annotations", None],
        predictions={k[1]: v for k, v in pairs.items() if k[0] == "predictions"},
        mv_a=va.model_versions, mv_b=vb.model_versions,
        config_a=_config_text(store, va) if whole else None, config_b=_config_text(store, vb) if whole else None,
        config_changed=(ca.oid if ca else None) != (cb.oid if cb else None),
        source=_source_data(store, va, vb, (rev_a, rev_b), warnings) if whole else None,
        whole=_Whole(parts, {"a": va, "b": vb}), parts=parts.counts, warnings=warnings,
    )
    with verifying(located):
        return run(plan, opts)
