"""``annover snapshot --dry-run``: what a snapshot would record, written nowhere.

The input is read and checked exactly as the snapshot reads it against HEAD (HEAD's key,
validation level and config by default; a Label Studio pull as incremental as the
snapshot's), then compared with HEAD as ``annover diff HEAD`` would compare the version the
snapshot would make: whether it would make one (the content ids, config and source data, as
the snapshot decides), the tag it would get, and the diff. Nothing is stored, committed or
tagged; the repository lock is not taken (nothing to protect), so HEAD may move meanwhile,
as ``git diff`` races a commit.

The diff compares only the tasks whose rows differ: the input's task hashes (as the snapshot
computes them) against those HEAD's parts store, as a snapshot plans its delta; HEAD's
record gives its stats, and what the summary reads whole (agreement of predictions) reads
HEAD's tables whole on demand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.model import canonical as C
from annover.model import stats as S
from annover.repo.core import RepoCore, read_version_table
from annover.repo.results import SnapshotResult
from annover.repo.snapshot import (Content, Progress, SnapshotInput, check_head_here, check_new_tag, next_tag, read_inputs,
                                   same_content)
from annover.store.objects import ObjectRef
from annover.store.snapshots import (TASK_HASH, Layout, SnapshotRef, differing_tasks, hash_probe, read_layout,
                                    read_manifest, task_hashes)
from annover.store.versions import Version

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import pyarrow.compute as pc

    from annover import diffing
    from annover.diffing import sources
else:
    diffing = lazy("annover.diffing")
    sources = lazy("annover.diffing.sources")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")


def version_side(repo: RepoCore, v: Version | None, rev: str, tables: bool = True) -> "diffing.Side":
    """Version ``v``'s tables whole as one side of a diff (nothing for None: a first snapshot;
    ``tables=False``: its config and source data, no table)."""
    if v is None:
        return diffing.Side(C.schema("tasks").empty_table(), C.schema("annotations").empty_table())
    link = v.record.get("source") or {}
    files = json.loads(repo.store.get(ObjectRef.from_json(link["files"]), "source file list")) \
        if link.get("files") else None
    config = repo.store.get(v.config_ref, "labeling config").decode("utf-8") if v.config_ref else None
    if not tables:
        return diffing.Side(C.schema("tasks").empty_table(), C.schema("annotations").empty_table(), config=config,
                            source=files, stats=v.stats or None, id=v.id, rev=rev)
    return diffing.Side(read_version_table(repo.store, v, "tasks"), read_version_table(repo.store, v, "annotations"),
                        {mv: read_version_table(repo.store, v, "predictions", mv) for mv in v.model_versions},
                        config=config, source=files, stats=v.stats or None, id=v.id, rev=rev)


def _with_hashes(repo: RepoCore, snap: SnapshotRef | None, name: str) -> "pa.Table | None":
    """A snapshot's whole table with its stored task hashes (:data:`TASK_HASH`); None when they
    are not this DuckDB's."""
    cols = [c[0] for c in C.COLUMNS[name]]
    if snap is None:
        return C.schema(name).empty_table().append_column(TASK_HASH, pa.array([], pa.uint64()))
    m = read_manifest(repo.store, snap)
    if not hash_probe() or m.get("task_hash") != hash_probe():
        return None
    return read_layout(repo.store, name, Layout.of(m), [*cols, TASK_HASH])


def _differing(old: "pa.Table", new: "pa.Table", name: str) -> "pa.Array":
    """Keys of the tasks whose rows differ between ``old`` (with its stored task hashes) and ``new``."""
    return differing_tasks(new, task_hashes(new, name), old, old.column(TASK_HASH))


@dataclass
class _Narrowed:
    """The whole tables of both sides of a dry run's diff whose sides were cut down to the tasks
    that differ (:func:`narrowed_sides`), for what the diff reads whole (the agreement of
    predictions with the answers): HEAD's read when first asked for, the content's as read."""

    repo: RepoCore
    head: Version
    content: Content
    tables: dict[str, Any] = field(default_factory=dict)

    def tasks(self, side: str) -> "sources.Source":
        return self._whole(side, "tasks")

    def annotations(self, side: str) -> "sources.Source":
        return self._whole(side, "annotations")

    def predictions(self, side: str, model_version: str) -> "sources.Source":
        return self._whole(side, "predictions", model_version)

    def same_agreement_input(self, model_version: str) -> bool:
        return False

    def _whole(self, side: str, name: str, mv: str | None = None) -> "sources.Source":
        key = (side, name, mv)
        if key not in self.tables:
            if side == "b":
                t = self.content.by_model[mv] if mv is not None else getattr(self.content, name)
            else:
                t = read_version_table(self.repo.store, self.head, name, mv)
            self.tables[key] = t
        return sources.Source(name, self.tables[key])


def _head_tables(repo: RepoCore, head: Version, content: Content
                 ) -> "tuple[dict[tuple[str, str | None], pa.Table], pa.Array] | None":
    """HEAD's tables compared row by row (model versions on both sides), read whole with their
    stored task hashes, and the keys of the tasks whose rows differ from ``content``'s in any
    of them; None when HEAD's parts cannot tell."""
    named: dict[tuple[str, str | None], tuple] = {("tasks", None): (head.snapshot("tasks"), content.tasks),
                                                  ("annotations", None): (head.snapshot("annotations"),
                                                                          content.annotations)}
    for mv in sorted(set(head.model_versions) & set(content.by_model)):
        named[("predictions", mv)] = (head.snapshot("predictions", mv), content.by_model[mv])
    tables, keys = {}, []
    for (name, mv), (snap, table) in named.items():
        old = _with_hashes(repo, snap, name)
        if old is None:
            return None
        tables[(name, mv)] = old
        keys.append(_differing(old, table, name))
    return tables, pc.unique(pa.chunked_array(keys, pa.string()).combine_chunks())


def narrowed_sides(repo: RepoCore, head: Version, content: Content, rev: str, label: str
                   ) -> "tuple[diffing.Side, diffing.Side, _Narrowed] | None":
    """HEAD's and the content's sides cut down to the tasks whose rows differ (:func:`_head_tables`;
    a model version on one side only is read whole by the diff's summary, through the
    :class:`_Narrowed` given back), or None when HEAD's parts cannot tell or its record has no stats."""
    found = _head_tables(repo, head, content) if head.stats else None
    if found is None:
        return None
    old, touched = found

    def cut(t: "pa.Table") -> "pa.Table":
        return C.plain_table(t.filter(pc.is_in(t.column("task_key"), value_set=touched)))

    none = C.schema("predictions").empty_table()  # a model version HEAD alone has: read whole by the summary
    base = version_side(repo, head, rev, tables=False)
    a = diffing.Side(*(cut(old[(n, None)].drop_columns([TASK_HASH])) for n in ("tasks", "annotations")),
                     {mv: cut(old[("predictions", mv)].drop_columns([TASK_HASH])) if ("predictions", mv) in old
                      else none for mv in head.model_versions},
                     config=base.config, source=base.source, stats=head.stats, id=head.id, rev=rev)
    b = content_side(content, label)
    b = diffing.Side(cut(content.tasks), cut(content.annotations), {mv: cut(t) for mv, t in content.by_model.items()},
                     config=b.config, source=b.source, rev=label,
                     stats=S.compute(content.tasks, content.annotations, content.by_model))
    return a, b, _Narrowed(repo, head, content)


def content_side(content: Content, rev: str) -> "diffing.Side":
    """What a snapshot read, as the other side."""
    return diffing.Side(content.tasks, content.annotations, dict(content.by_model),
                        config=content.config_bytes.decode("utf-8") if content.config_bytes else None,
                        source=content.source_files if content.source_link else None, rev=rev)


def dry_run(repo: RepoCore, inp: SnapshotInput, progress: Progress, label: str) -> SnapshotResult:
    """The snapshot of ``inp`` not made: ``changed`` (a version would be made), ``tag`` (its
    name), ``diff`` (HEAD -> it; ``label`` names the input in the diff)."""
    check_new_tag(repo, inp.tag)
    repo.begin_write()  # a detached git HEAD (or git's merge under way) refuses the snapshot, so its dry run
    head = repo.head()
    check_head_here(repo, head)  # compared with HEAD's tables: a clone that has not pulled them is told so first
    content = read_inputs(repo, inp, head, progress)
    parent = repo.version(head) if head else None
    progress("comparing with HEAD")
    sids = {k: C.content_id(t, k if isinstance(k, str) else "predictions") for k, t in content.named.items()}
    changed = parent is None or not same_content(parent, sids, content)
    name = repo.name_of(head) if head else "(nothing)"
    diff = compare(repo, parent, content, name, label)
    return SnapshotResult(None, changed, (inp.tag or next_tag(repo)) if changed else None, None, content.warnings,
                          head=head, reading=content.reading.to_json(), remembered=content.remembered,
                          diff=diff, dry_run=True, users_committed=not changed and content.users_file is not None,
                          config_text=content.config_bytes.decode("utf-8") if content.config_bytes else None)


def compare(repo: RepoCore, head: Version | None, content: Content, rev: str, label: str) -> "diffing.DiffResult":
    """``annover diff HEAD`` of the version ``content`` would make: of the tasks whose rows
    differ only (:func:`narrowed_sides`) when HEAD's parts tell which, else of the whole tables."""
    sides = narrowed_sides(repo, head, content, rev, label) if head is not None else None
    if sides is None:
        return diffing.diff_tables(version_side(repo, head, rev), content_side(content, label))
    return diffing.diff_tables(sides[0], sides[1], whole=sides[2])
