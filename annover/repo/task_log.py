"""The history of a few tasks, as ``git log -- PATH`` gives a file's: the versions that
changed their rows (``annover log --task``), and a diff narrowed to them (``annover diff
--task``).

A version's rows of the tasks are read from its parts, each part cut down to those tasks as
it is read (never a whole table in memory), and each part object read once however many
versions hold it; a table whose snapshot id a version shares with another is read once. A
version changed the tasks when their rows (key and content columns, as snapshot ids count
them; not provenance) differ from those of each of its parents, as git shows a commit that
is not the same as any parent for the path; a first version, when it holds any of them.
History is simplified as git's is: a merge whose rows of the tasks are one parent's is
followed through that parent only.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Sequence

from annover._lazy import lazy
from annover.errors import ObjectError, UsageError
from annover.model import canonical as C
from annover.repo.core import newest_first
from annover.store.objects import ObjectStore
from annover.store.snapshots import Layout, read_layout, read_manifest
from annover.store.versions import Version

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from annover import diffing
    from annover.diffing import DiffResult
    from annover.repo.core import RepoCore
else:
    pa = lazy("pyarrow")
    diffing = lazy("annover.diffing")

#: what a version's rows of the tasks are compared by: (table, model version) -> content id
Fingerprint = dict[tuple[str, str | None], str]


def task_keys(tasks: Sequence[str] | str) -> list[str]:
    """The task keys given, checked: a list of non-empty texts (a text alone is one key)."""
    keys = [tasks] if isinstance(tasks, str) else tasks
    if not isinstance(keys, (list, tuple)) or not keys or not all(isinstance(k, str) and k for k in keys):
        raise UsageError(f"tasks={tasks!r} is not a list of task keys",
                         "give the keys `annover diff --rows` shows, e.g. tasks=['img_001.jpg']")
    return list(dict.fromkeys(keys))


class TaskRows:
    """The rows of some tasks in versions of one store."""

    def __init__(self, store: ObjectStore, keys: Sequence[str]) -> None:
        self.store = store
        self.keys = pa.array(sorted(set(keys)), pa.string())
        self._parts: dict = {}  # part objects cut down to the tasks, by object and columns
        self._tables: dict[str, "pa.Table"] = {}  # by snapshot id
        self._prints: dict[str, Fingerprint] = {}  # by version id
        self._configs: dict[str, str] = {}  # labeling configs by object id (versions share one)

    def table(self, v: Version, name: str, model_version: str | None = None) -> "pa.Table":
        """Version ``v``'s rows of the tasks in table ``name`` (key order)."""
        snap = v.snapshot(name, model_version) if name == "predictions" else v.snapshot(name)
        if snap is None:
            return C.schema(name).empty_table()
        if snap.id not in self._tables:
            m = read_manifest(self.store, snap)
            cols = [c[0] for c in C.COLUMNS[name]]  # named: a part is cached alike whether a layout has deltas or not
            self._tables[snap.id] = read_layout(self.store, m["table"], Layout.of(m), cols, keys=self.keys,
                                                cache=self._parts)
        return self._tables[snap.id]

    def predictions(self, v: Version, every: bool = False) -> dict[str, "pa.Table"]:
        """The model versions of ``v`` with predictions on the tasks, and those predictions (with
        ``every``, each model version of ``v``, of no row where it predicted none of the tasks)."""
        out = {mv: self.table(v, "predictions", mv) for mv in v.model_versions}
        return out if every else {mv: t for mv, t in out.items() if t.num_rows}

    def fingerprint(self, v: Version) -> Fingerprint:
        """Content ids of ``v``'s rows of the tasks, per table (tables without such rows left out)."""
        if v.id not in self._prints:
            tables = {("tasks", None): self.table(v, "tasks"), ("annotations", None): self.table(v, "annotations"),
                      **{("predictions", mv): t for mv, t in self.predictions(v).items()}}
            self._prints[v.id] = {k: C.content_id(t, k[0]) for k, t in tables.items() if t.num_rows}
        return self._prints[v.id]

    def side(self, v: Version, rev: str) -> "diffing.Side":
        """``v``'s rows of the tasks as one side of a diff (its labeling config whole; every model
        version of ``v``, as the whole diff has them: a model v1 has, of no row of the tasks there,
        is compared row by row with v2's predictions of them, not taken as a model added)."""
        ref = v.config_ref
        if ref is not None and ref.oid not in self._configs:
            self._configs[ref.oid] = self.store.get(ref, "labeling config").decode("utf-8")
        config = self._configs[ref.oid] if ref is not None else None
        return diffing.Side(self.table(v, "tasks"), self.table(v, "annotations"), self.predictions(v, every=True),
                            config=config, id=v.id, rev=rev)


def _changed(rows: TaskRows, v: Version, parents: list[Version]) -> bool:
    mine = rows.fingerprint(v)
    if not parents:
        return bool(mine)
    return all(rows.fingerprint(p) != mine for p in parents)


def _missing(e: ObjectError, v: Version, repo: "RepoCore") -> ObjectError:
    name = repo.name_of(v.id)
    return ObjectError(f"{name}: {e.message}", f"run `annover pull {name}` (or `annover pull` for every version) "
                       "to fetch its objects from the DVC remote")


@dataclass
class TaskLog:
    """What ``annover log --task`` shows: the versions that changed the tasks, newest first,
    each with its diff from its first parent narrowed to them when asked for (``-p``), and
    the keys no version read holds (mistyped, or of another dataset)."""

    entries: list[tuple[Version, "DiffResult | None"]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def versions(self) -> list[Version]:
        return [v for v, _ in self.entries]


def log_tasks(repo: "RepoCore", rev: str, tasks: Sequence[str] | str, limit: int | None = None,
              patch: bool = False) -> TaskLog:
    """The versions reachable from ``rev`` that changed the rows of ``tasks``, newest first, at
    most ``limit`` (with ``patch``, each one's diff from its first parent, of those tasks)."""
    rows = TaskRows(repo.store, task_keys(tasks))
    out, seen = TaskLog(), []
    for v, parents in _history(repo, rev, rows):
        if limit is not None and len(out.entries) >= limit:
            return out  # older versions unread: a key may be there
        seen.append(v)
        try:
            if _changed(rows, v, parents):
                out.entries.append((v, _patch(repo, rows, v, parents[0] if parents else None) if patch else None))
        except ObjectError as e:
            raise _missing(e, v, repo) from None
    out.unknown = held(rows, seen) if seen else []  # no version at all: nothing to hold them
    return out


def _history(repo: "RepoCore", rev: str, rows: TaskRows) -> "Iterator[tuple[Version, list[Version]]]":
    """(version, its parents) reachable from ``rev``, newest first, as ``git log -- PATH`` walks
    them: a merge whose rows of the tasks are one parent's is followed through that parent only
    (what the other side did to them did not reach it: a conflict settled with --ours, say)."""
    if rev == "HEAD" and repo.head() is None:
        return
    start = repo.version(repo.resolve(rev))
    heap, seen = [(newest_first(start.created_at), start.id, start)], {start.id}
    while heap:
        v = heapq.heappop(heap)[2]
        parents = [repo.version(p) for p in v.parents]
        yield v, parents
        follow = parents
        if len(parents) > 1:
            try:
                follow = [p for p in parents if rows.fingerprint(p) == rows.fingerprint(v)][:1] or parents
            except ObjectError as e:
                raise _missing(e, v, repo) from None
        for p in follow:
            if p.id not in seen:
                seen.add(p.id)
                heapq.heappush(heap, (newest_first(p.created_at), p.id, p))


def _patch(repo: "RepoCore", rows: TaskRows, v: Version, parent: Version | None) -> "DiffResult":
    b = rows.side(v, repo.name_of(v.id))
    a = rows.side(parent, repo.name_of(parent.id)) if parent is not None else diffing.Side(
        C.schema("tasks").empty_table(), C.schema("annotations").empty_table(), config=b.config)
    return diffing.diff_tables(a, b)


def held(rows: TaskRows, versions: Sequence[Version]) -> list[str]:
    """The task keys that no version of ``versions`` holds (a mistyped key finds nothing)."""
    seen: set[str] = set()
    for v in versions:
        for name in ("tasks", "annotations"):
            seen.update(rows.table(v, name).column("task_key").to_pylist())
        for t in rows.predictions(v).values():
            seen.update(t.column("task_key").to_pylist())
    return [k for k in rows.keys.to_pylist() if k not in seen]


def diff_tasks(repo: "RepoCore", va: Version, vb: Version, revs: tuple[str, str], tasks: Sequence[str] | str,
               options: "diffing.Options", rows: TaskRows | None = None) -> "DiffResult":
    """The diff of ``va`` and ``vb`` narrowed to ``tasks``: their rows of those tasks compared
    as two sides (:func:`annover.diffing.diff_tables`); counts are of those tasks."""
    rows = rows or TaskRows(repo.store, task_keys(tasks))
    try:
        a, b = rows.side(va, revs[0]), rows.side(vb, revs[1])
    except ObjectError as e:
        raise ObjectError(f"{revs[0]} -> {revs[1]}: {e.message}", f"run `annover pull {revs[0]}` and "
                          f"`annover pull {revs[1]}` to fetch the two versions' objects from the DVC remote") from None
    result = diffing.diff_tables(a, b, iou_threshold=options.iou_threshold, overlap_threshold=options.overlap_threshold,
                                 policy=options.policy, transitions=options.transitions)
    gone = held(rows, [va, vb])
    if gone:
        result.summary.setdefault("warnings", []).append(
            f"{', '.join(map(repr, gone[:5]))}{' ...' if len(gone) > 5 else ''}: no such task in {revs[0]} or "
            f"{revs[1]} (task keys are those `annover diff --rows` and `annover.load` show)")
    return result
