"""``annover merge``: bring another branch's versions into HEAD's, as ``git merge`` does.

Three outcomes, as git's:

- **Already up to date**: REV's version is in HEAD's history; nothing is written.
- **Fast-forward**: HEAD's version is in REV's history. When git's HEAD commit is in the
  history of REV's commit too, the branch moves to REV's commit (``git merge --ff-only``);
  when it is not (commits of the user's own files on this branch since), a git merge commit
  of the two, whose annover files name REV's version (no new version: its content is REV's).
- **Merge**: a three-way merge of the two versions' tables against their nearest common
  version, task by task and answer by answer (:mod:`annover.model.threeway`), of the tasks
  either side may have changed (found from the snapshots' layouts, :mod:`annover.repo.narrowing`;
  the others are ours' as they are), and of the labeling config and source data as values.
  The result is stored through the snapshot pipeline (so its snapshot ids are those a fresh
  snapshot of the same content gets), as a new version whose ``parents`` are [HEAD's
  version, REV's], committed as a git merge commit of HEAD's commit and REV's. The user's other files are merged as git merges them
  (``git merge-tree``); a file git cannot merge stops the merge before anything is written.

Conflicts (tasks both sides changed differently) stop the merge with nothing written unless
``favor`` (``--ours`` / ``--theirs``) says which side takes every one of them, or a resolution
(``--resolve FILE``, :mod:`annover.repo.merge_resolution`) settles them one by one, ``favor``
taking those it does not name.

Crash safety is the snapshot's: objects are written once; the record, the DVC pointer and
annover's files go in one commit moved into place with a compare-and-swap ``update-ref``; the
other files the merge brings in are put into the user's index and work tree under a marker
that the next command's recovery reads, making them HEAD's again (see
:meth:`annover.store.git.Git.commit`). A kill leaves HEAD where it was or merged, never half.
Nothing like ``.git/MERGE_HEAD`` is ever left behind.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from annover._lazy import lazy
from annover.errors import (GitError, LockError, MergeConflictError, ObjectError, RevisionError, UsageError,
                            ValidationError)
from annover.formats.validate import check_label_column, controls_of
from annover.model import canonical as C
from annover.model.config import LabelingConfig
from annover.model.threeway import SIDES, Conflict, Merged, merge_blob, merge_tables
from annover.repo.core import (RepoCore, Stage, ancestors, left_out_by_git_merge, maybe_die, missing_objects,
                               read_version_table)
from annover.repo.merge_resolution import Resolution, check_against, recorded, resolution_of
from annover.repo.narrowing import Narrowed, narrow, widen
from annover.repo.reading import USERS_FILE, Reading, Users, reading_of
from annover.repo.snapshot import (Content, check_new_tag, commit_version, hash_and_encode, next_tag, noop,
                                   point_dvc_at, split_predictions, store_objects, version_record)
from annover.store import snapshots
from annover.store.objects import ObjectRef, ObjectStore
from annover.store.refs import is_version_id, version_number
from annover.store.versions import Version

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["MergeResult", "merge"]

Progress = Callable[[str], None]
#: how many tasks a result lists per kind in its text (``--json`` lists them all)
LISTED = 20


@dataclass
class MergeResult:
    """What ``annover merge`` did, or would do (``dry_run``).

    ``kind``: ``up-to-date``, ``fast-forward`` or ``merge``. ``head``: HEAD's version before;
    ``theirs``: REV's; ``base``: their nearest common version (a merge). ``version``, ``tag``
    and ``commit``: what was made (none for a dry run, or a fast-forward that made no version).
    ``git``: how the branch moved (``fast-forward`` or ``merge commit``). ``changes[side]``:
    the tasks that side alone added, removed or modified; ``combined``: tasks both changed,
    merged answer by answer; ``same``: tasks both changed alike; ``conflicts``: tasks both
    changed differently (each with the side that took it, by ``resolution`` or ``favor``, or
    none); ``config`` and ``source``: where the labeling config and the source data came from
    (``unchanged``, ``ours``, ``theirs``, ``both``, ``conflict``), and ``taken``, the side that
    took each of them that conflicted; ``files``: files git cannot merge; ``written``: whether
    anything was."""

    kind: str
    rev: str
    head: str | None
    theirs: str
    base: str | None = None
    version: Version | None = None
    tag: str | None = None
    commit: str | None = None
    git: str | None = None
    dry_run: bool = False
    favor: str | None = None
    versions: list[str] = field(default_factory=list)
    changes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    combined: list[str] = field(default_factory=list)
    same: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    config: str = "unchanged"
    source: str = "unchanged"
    files: list[str] = field(default_factory=list)
    #: this branch's version numbers REV gave too (two clones), and the ones they were given
    renumbered: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: whether a version or commit was made (False: a dry run, up to date, or refused)
    written: bool = False
    #: the side that took the labeling config (``config``) and the source data (``source``)
    #: where they conflicted and a side was given
    taken: dict[str, str] = field(default_factory=dict)
    #: the conflicts settled one by one (``--resolve``), or None
    resolution: Resolution | None = None
    #: why tags both sides gave stop the merge, and what to do (a dry run says it as the merge would)
    clash: str | None = None
    #: those of ``renumbered`` that were REV's (a git merge kept this branch's tag files: :func:`_left_numbers`)
    theirs_renumbered: list[str] = field(default_factory=list)

    @property
    def conflicted(self) -> bool:
        """Whether anything conflicts (tasks, config, source data or files)."""
        return bool(self.conflicts or self.files or "conflict" in (self.config, self.source))

    @property
    def unsettled(self) -> list[Conflict]:
        """The conflicting tasks no side took (neither the resolution nor ``favor`` names them)."""
        return [c for c in self.conflicts if c.taken is None]

    @property
    def unsettled_blobs(self) -> list[str]:
        """``config`` and ``source`` where they conflict and no side took them."""
        return [n for n in ("config", "source") if getattr(self, n) == "conflict" and n not in self.taken]

    @property
    def stops(self) -> bool:
        """Whether the merge stops here, nothing written (exit 16): a conflict no side took, or a
        file git cannot merge (which no side settles)."""
        return bool(self.files or self.unsettled or self.unsettled_blobs)

    def to_json(self) -> dict:
        return {"kind": self.kind, "rev": self.rev, "head": self.head, "theirs": self.theirs, "base": self.base,
                "written": self.written, "dry_run": self.dry_run, "favor": self.favor, "git": self.git,
                "tag": self.tag, "commit": self.commit, "versions": self.versions,
                "version": self.version.to_json() if self.version else None,
                "changes": self.changes, "combined": self.combined, "same": self.same,
                "conflicts": [c.to_json() for c in self.conflicts], "config": self.config, "source": self.source,
                "taken": self.taken, "files": self.files, "renumbered": self.renumbered,
                "warnings": self.warnings}


# ---------------------------------------------------------------------------- history


def merge_base(ours: dict[str, Version], theirs: dict[str, Version]) -> list[str]:
    """The nearest common versions of two histories (each :func:`ancestors`): the common ones
    no other common one descends from, newest first (one but after criss-cross merges)."""
    common = ours.keys() & theirs.keys()
    below = {p for c in common for p in ours[c].parents}
    best = [c for c in common if c not in below]
    return sorted(best, key=lambda c: (ours[c].created_at, c), reverse=True)


def _commit_of(repo: RepoCore, rev: str, vid: str) -> str:
    """The git commit REV names as a side of the merge: a branch's or tag's commit (or a commit
    given as such) when it holds version ``vid``, else the commit that made ``vid``."""
    named = repo.scm.rev_parse(rev)
    if named:
        at = (repo.scm.show(named, repo.rel(repo.dir / "HEAD")) or "").strip()
        if at == vid:
            return named
    commit = repo.commit_of(vid)
    if commit is None:
        raise RevisionError(f"no git commit made version {vid[:12]} ({rev})",
                            "fetch the git history that has it (git fetch), then run the command again")
    return commit


# ---------------------------------------------------------------------------- tables


def row_hashes(table: "pa.Table", name: str, columns: "list[str] | tuple[str, ...]") -> "np.ndarray":
    """A 64-bit hash per row of ``columns`` (the snapshot's row hashes: a float's -0.0 is 0.0 and
    every NaN one NaN), in row order: what :func:`annover.model.threeway.merge_tables` compares."""
    if table.num_rows == 0:
        return np.zeros(0, dtype=np.uint64)
    return np.asarray(snapshots.row_hashes(table, name, columns).to_numpy(zero_copy_only=False), dtype=np.uint64)


def _tables(repo: RepoCore, v: Version, rev: str) -> dict[str, "pa.Table"]:
    try:
        return {name: read_version_table(repo.store, v, name) for name in C.TABLES}
    except ObjectError as e:
        raise missing_objects(e, rev, v.id) from None


@dataclass
class _Merge:
    """A three-way merge of the versions' tables: ``merged`` says what came from where, and holds
    the merged tables, or only the candidates' rows when the merge was ``narrowed`` to them
    (:mod:`annover.repo.narrowing`); ``ours``: HEAD's version, whose other rows the merge takes."""

    merged: Merged
    narrowed: Narrowed | None
    store: ObjectStore
    ours: Version
    _whole: "tuple[pa.Table, pa.Table, dict[str, pa.Table]] | None" = None

    def tables(self) -> "tuple[pa.Table, pa.Table, dict[str, pa.Table]]":
        """(tasks, annotations, predictions by model version) of the merge, whole (made once)."""
        if self._whole is None:
            m = self.merged
            self._whole = (m.tasks, m.annotations, split_predictions(m.predictions)) if self.narrowed is None \
                else widen(self.store, self.ours, m, self.narrowed.keys)
        return self._whole

    def whole(self) -> Merged:
        """The merged tables, whole, as :func:`merge_tables` of the whole versions gives them."""
        if self.narrowed is None:
            return self.merged
        tasks, annotations, by_model = self.tables()
        preds = C.sort_table(pa.concat_tables(list(by_model.values())), "predictions") if by_model else \
            C.schema("predictions").empty_table()
        return Merged(tasks, annotations, preds)


def merge_whole(repo: RepoCore, versions: "tuple[Version, Version, Version]", revs: "tuple[str, str, str]",
                favor: str | None, take: Mapping[str, str] | None = None) -> Merged:
    """:func:`merge_tables` of the three versions (base, ours, theirs) read whole: what a merge
    narrowed to the candidates (:func:`_merged`) must give, and the way when they are most tasks."""
    tables = [_tables(repo, v, rev) for v, rev in zip(versions, revs)]
    return merge_tables(*tables, row_hashes, favor, take)


def _merged(repo: RepoCore, versions: "tuple[Version, Version, Version]", rev: str, favor: str | None,
            take: Mapping[str, str] | None, progress: Progress) -> _Merge:
    """The three-way merge of ``versions`` (base, ours, theirs): of the candidates' rows alone
    when they are few (:func:`annover.repo.narrowing.narrow`), else of the versions whole.
    ``take``: the side of each conflicting task a resolution names (``favor`` the others')."""
    progress("finding the tasks either side changed")
    narrowed = narrow(repo.store, *versions)
    if narrowed is None:
        progress("reading the three versions")
        merged = merge_whole(repo, versions, (versions[0].id[:12], "HEAD", rev), favor, take)
        return _Merge(merged, None, repo.store, versions[1])
    progress(f"merging task by task: the {len(narrowed.keys):,} of {narrowed.tasks:,} tasks a side changed "
             "(the others are taken as they are)")
    rows = narrowed.rows
    return _Merge(merge_tables(rows["base"], rows["ours"], rows["theirs"], row_hashes, favor, take), narrowed,
                  repo.store, versions[1])


def _check_labels(config: bytes | None, merged: Merged, level: str) -> list[str]:
    """Warnings for merged labels the merged labeling config does not allow (one side changed the
    config, the other labeled with what it had); none under ``--validate off``."""
    if config is None or level == "off":
        return []
    cfg = LabelingConfig(config.decode("utf-8"), source="the merged labeling config")
    out = []
    for name in ("annotations", "predictions"):
        t = merged.table(name)
        if not t.num_rows:
            continue
        names = [fn for fn in pc.unique(t.column("from_name")).to_pylist() if fn is not None]
        labels = C.single_chunk(t.column("labels"))
        try:
            check_label_column(pc.list_flatten(labels), pc.list_parent_indices(labels),
                               C.single_chunk(t.column("from_name")), t.column("task_key"),
                               controls_of(names, cfg, f"merged {name}", True), cfg, f"merged {name}")
        except ValidationError as e:
            out.append(f"{e.message} (one side changed the labeling config, the other labeled with the old one: "
                       "relabel, or fix the config, in a new version)")
    return out


# ---------------------------------------------------------------------------- git


def _own_paths(repo: RepoCore) -> dict[str, str]:
    """annover's files a merge writes itself, whatever git makes of them (name -> path)."""
    return {n: repo.rel(repo.dir / n) for n in ("HEAD", "objects.dvc", ".gitignore", USERS_FILE)}


def _users_union(repo: RepoCore, theirs_commit: str) -> bytes | None:
    """The users file with what REV's knows added (ours' entries win where both know an id), or
    None when REV has none (git's merge is then HEAD's). Written whenever REV has one: git's
    textual merge of the two could hold conflict markers."""
    path = repo.rel(repo.dir / USERS_FILE)
    data = repo.scm.blobs([f"{theirs_commit}:{path}"])[0]
    if not data:
        return None
    ours = Users.load(repo.dir)
    try:
        doc = json.loads(data)
        other = Users({url: {int(k): v for k, v in (m or {}).items()} for url, m in (doc.get("servers") or {}).items()},
                      {int(k): v for k, v in (doc.get("given") or {}).items()})
    except (ValueError, AttributeError, TypeError):
        raise UsageError(f"{path} of {theirs_commit[:12]} is damaged", "fix it on that branch first") from None
    for url, m in other.servers.items():
        ours.servers.setdefault(url, {})
        for uid, email in m.items():
            ours.servers[url].setdefault(uid, email)
    for uid, email in other.given.items():
        ours.given.setdefault(uid, email)
    return ours.to_bytes()


@dataclass
class _GitPlan:
    tree: str
    files: list[str]  # files git cannot merge (but tags both sides gave: ``tags``)
    local: list[str]  # files the merge changes that the user changed here
    #: tag names both sides gave to versions of their own (two clones numbered alike), and
    #: how this branch's would be renumbered ({} when they cannot be: see :func:`_renumbering`)
    tags: list[str] = field(default_factory=list)
    renumber: dict[str, str] = field(default_factory=dict)
    #: those of ``local`` that are untracked files (``git stash`` leaves them where they are)
    untracked: list[str] = field(default_factory=list)
    #: the branch HEAD is on, when ``tags`` cannot be renumbered here but REV's (a local branch)
    #: can by merging the other way: that branch into REV, then REV into it
    other_way: str | None = None


def _git_plan(repo: RepoCore, ours_commit: str, theirs_commit: str, rev: str | None = None) -> _GitPlan:
    """What git makes of the merge; with ``rev``, also whether clashing tags it cannot renumber
    here could be merged the other way (``other_way``)."""
    tree, conflicted = repo.scm.merge_tree(ours_commit, theirs_commit)
    own = set(_own_paths(repo).values())
    tags_dir = _tags_dir(repo) + "/"
    tags = [p[len(tags_dir):] for p in conflicted if p.startswith(tags_dir)]
    files = [p for p in conflicted if p not in own and not p.startswith(tags_dir)]
    changed = [p for p in repo.scm.changed_paths(ours_commit, tree) if p not in own]
    local = repo.scm.local_changes(changed)
    plan = _GitPlan(tree, files, local, tags, _renumbering(repo, tags, ours_commit, theirs_commit) if tags else {},
                    _untracked(repo, ours_commit, local))
    if tags and not plan.renumber and rev is not None and f"refs/heads/{rev}" in repo.scm.branches_named(rev) \
            and _renumbering(repo, tags, theirs_commit, ours_commit):
        plan.other_way = (repo.scm.branch() or "").removeprefix("refs/heads/") or None
    return plan


def _untracked(repo: RepoCore, commit: str, local: list[str]) -> list[str]:
    """Those of ``local`` that ``commit`` lacks: untracked files in the way of the merge."""
    return [p for p in local if p not in repo.scm.ls_tree(commit, p)]


def _refuse_git(plan: _GitPlan, rev: str, result: MergeResult, renumber: bool = False) -> None:
    """Refuse what git cannot merge, nothing written; tags both sides gave pass when this
    branch's can be renumbered (``renumber``: a three-way merge, which does so)."""
    if plan.tags and not (renumber and plan.renumber):
        raise MergeConflictError(*_clash(plan, rev), result)
    if plan.files:
        listed = ", ".join(plan.files[:5]) + (f" and {len(plan.files) - 5} more" if len(plan.files) > 5 else "")
        raise MergeConflictError(
            f"git cannot merge {len(plan.files)} file(s) of this branch and {rev}: {listed}; nothing written",
            f"make them agree first with a commit on either branch (e.g. `git checkout {rev} -- FILE` and "
            "`git commit`), then run annover merge again", result)
    changed = [p for p in plan.local if p not in plan.untracked]
    if changed:
        listed = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise UsageError(f"your local changes to {listed} would be overwritten by the merge; nothing written",
                         "commit or stash them (git stash), then run annover merge again")
    if plan.untracked:
        n = len(plan.untracked)
        listed = ", ".join(plan.untracked[:5]) + (f" and {n - 5} more" if n > 5 else "")
        raise UsageError(f"untracked file(s) {listed} would be overwritten by the merge (it brings in files of "
                         "those names); nothing written",
                         "move or remove them (or `git stash -u`: plain `git stash` leaves untracked files), then "
                         "run annover merge again")


def _clash(plan: _GitPlan, rev: str) -> tuple[str, str]:
    """Why the tags both sides gave (``plan.tags``) stop the merge, and what to do."""
    tag = plan.tags[0]
    said = (f"this branch and {rev} each gave tag {tag} to a version of their own (made in two clones), and this "
            "branch's is not a number annover gave, or is on a git remote already; nothing written")
    if plan.other_way:
        return said, (f"{rev}'s {tag} is on no git remote: merge the other way, which renumbers it (`git switch {rev}"
                      f" && annover merge {plan.other_way}`), then `git switch {plan.other_way} && annover merge "
                      f"{rev}`")
    return said, (f"a name of your own: delete it on one side (`annover tag -d {tag}`, then name that version anew); "
                  f"a number already pushed: bring {rev}'s labels over with `annover revert --to {rev}`")


def _unmergeable(repo: RepoCore, plan: _GitPlan, renumber: bool = True) -> list[str]:
    """The files git cannot merge, with the clashing tags' that will not be renumbered."""
    kept = [] if renumber and plan.renumber else [f"{_tags_dir(repo)}/{t}" for t in plan.tags]
    return plan.files + kept


def _next_after(tag: str, renumbered: dict[str, str]) -> str:
    """The number a version made now gets (``tag``, :func:`next_tag`), or the one after those
    this branch's versions would be renumbered to first."""
    return f"v{max([int(tag[1:]), *(int(n[1:]) + 1 for n in renumbered.values())])}"


def _tags_dir(repo: RepoCore) -> str:
    return repo.rel(repo.dir / "refs" / "tags")


def _numbers(repo: RepoCore, *commits: str) -> set[int]:
    """The version numbers (``vN``) the tags of ``commits`` and git's tags use."""
    names = [p.rsplit("/", 1)[-1] for c in commits for p in repo.scm.ls_tree(c, _tags_dir(repo))]
    return {n for t in [*names, *repo.scm.tag_commits()] if (n := version_number(t)) is not None}


def _renumbering(repo: RepoCore, names: list[str], ours_commit: str, theirs_commit: str) -> dict[str, str]:
    """New numbers for this branch's versions whose numbers REV gave to versions of its own (two
    clones each made a ``v5`` from one HEAD): the next free ones, when each clashing name is a
    number annover gave and this branch's version is known by it on no git remote (never pushed, or
    pushed where the remote's git tag of that name is another's: :func:`_unpublished`); else {}
    (the merge is refused)."""
    ours = {n: (repo.scm.show(ours_commit, f"{_tags_dir(repo)}/{n}") or "").strip() for n in names}
    if any(version_number(n) is None for n in names) or not all(ours.values()):
        return {}
    asked: dict[str, dict[str, str] | None] = {}  # each remote asked once for all the names
    for name, vid in ours.items():
        commit = repo.commit_of(vid)
        if commit is None or not _unpublished(repo, name, commit, asked):
            return {}
    free = max(_numbers(repo, ours_commit, theirs_commit), default=0) + 1
    return {n: f"v{free + i}" for i, n in enumerate(sorted(names, key=lambda x: int(x[1:])))}


def _unpublished(repo: RepoCore, name: str, commit: str, asked: "dict[str, dict[str, str] | None]") -> bool:
    """Whether no one can know ``commit``'s version by ``name``: no remote-tracking branch holds
    the commit, or every git remote that holds it gave git tag ``name`` to another commit (it went
    out by a plain ``git push``, its tag refused there), as ``git ls-remote`` says now (``asked``:
    each remote's tags, None where it could not be asked). A remote that cannot be asked, or has
    no such tag, counts as publishing it."""
    holders = repo.scm.remote_refs_containing(commit)
    remotes = sorted(repo.scm.remotes(), key=len, reverse=True)
    for holder in {next((r for r in remotes if h.startswith(r + "/")), h) for h in holders}:
        if holder not in asked:
            try:
                asked[holder] = repo.scm.remote_tags(holder)
            except GitError:
                asked[holder] = None
        there = asked[holder]
        if there is None or there.get(name) in (None, commit):
            return False
    return True


def _left_numbers(repo: RepoCore, tree: str, theirs_commit: str, taken: "Iterable[str]") -> dict[str, str]:
    """REV's version numbers that git's merged ``tree`` gives to other versions while git's tag still
    names REV's: a ``git merge -X`` (or a side taken by hand) kept this branch's tag files, so no clash
    shows. Their next free numbers after ``taken``, when no git remote knows REV's by them; else {}."""
    tags_dir, git_tags, found = _tags_dir(repo), repo.scm.tag_commits(), {}
    changed = repo.scm.run("diff-tree", "-r", "-z", "--name-only", "--diff-filter=M", tree, theirs_commit, "--",
                           tags_dir)  # the tag files both have, naming different versions
    for path in filter(None, changed.split("\0")):
        name = path[len(tags_dir) + 1:]
        if version_number(name) is None or name not in git_tags:
            continue
        ours, theirs = ((repo.scm.show(c, path) or "").strip() for c in (tree, theirs_commit))
        commit = repo.commit_of(theirs) if ours and theirs else None
        if commit is not None and git_tags[name] == commit:
            found[name] = commit
    asked: dict[str, dict[str, str] | None] = {}
    if not found or not all(_unpublished(repo, n, c, asked) for n, c in found.items()):
        return {}
    free = max([*_numbers(repo, tree, theirs_commit), *(int(t[1:]) for t in taken)], default=0) + 1
    return {n: f"v{free + i}" for i, n in enumerate(sorted(found, key=lambda x: int(x[1:])))}


def _renumber_theirs(repo: RepoCore, names: dict[str, str], head_commit: str, theirs_commit: str, rev: str) -> str:
    """Give REV's versions of ``names`` their new numbers in a commit on this branch, and move git's
    tags with them (the old names' git tags are made again for this branch's versions by
    ``ensure_git_tags``); returns the new head commit. Under the repository lock."""
    tags_dir = _tags_dir(repo)
    vids = {old: (repo.scm.show(theirs_commit, f"{tags_dir}/{old}") or "").strip() for old in names}
    files: dict[str, bytes | None] = {f"{tags_dir}/{new}": (vids[old] + "\n").encode() for old, new in names.items()}
    title = "annover: renumber " + ", ".join(f"{o} -> {n}" for o, n in names.items()) + \
        f" ({rev}'s: this branch gave those numbers to versions of its own)"
    commit = repo.commit(files, title, head_commit, "the renumbering of the merged branch's versions")
    for old, new in names.items():
        made = repo.commit_of(vids[old])
        if made:
            repo.scm.tag(new, made, force=True)
            repo.scm.delete_tag(old, old=made)
    return commit


def _renumber(repo: RepoCore, plan: _GitPlan, head_commit: str, rev: str) -> str:
    """Rename this branch's clashing numbers (``plan.renumber``) in one commit, and move git's
    tags with them; returns the new head commit. Under the repository lock."""
    tags_dir = _tags_dir(repo)
    files: dict[str, bytes | None] = {}
    vids = {}
    for old, new in plan.renumber.items():
        vids[old] = (repo.scm.show(head_commit, f"{tags_dir}/{old}") or "").strip()
        files[f"{tags_dir}/{old}"] = None
        files[f"{tags_dir}/{new}"] = (vids[old] + "\n").encode()
    title = "annover: renumber " + ", ".join(f"{o} -> {n}" for o, n in plan.renumber.items()) + \
        f" ({rev} gave those numbers to versions of its own)"
    commit = repo.commit(files, title, head_commit, "the renumbering of this branch's versions")
    git_tags = repo.scm.tag_commits()
    for old, new in plan.renumber.items():
        made = repo.commit_of(vids[old])
        if made:
            repo.scm.tag(new, made, force=True)
            if git_tags.get(old) == made:
                repo.scm.delete_tag(old, old=made)
    return commit


# ---------------------------------------------------------------------------- merge


@dataclass
class _Sides:
    """The two sides of a merge: HEAD's version and commit, REV's, and their histories."""

    start: str | None
    theirs: str
    head_commit: str
    theirs_commit: str
    ours_hist: dict[str, Version]
    theirs_hist: dict[str, Version]


def merge(repo: RepoCore, rev: str, favor: str | None = None, dry_run: bool = False, message: str | None = None,
          tag_name: str | None = None, progress: Progress = noop,
          resolve: "Resolution | Mapping[str, Any] | None" = None) -> MergeResult:
    """Merge version ``rev`` (a branch, tag, version id...) into HEAD's; see the module docstring.
    Conflicts raise :class:`MergeConflictError` (nothing written) unless ``favor`` is
    ``"ours"`` or ``"theirs"``, or ``resolve`` (:mod:`annover.repo.merge_resolution`) gives the
    side of each (``favor`` taking those it does not name); ``dry_run`` returns what would be
    done, writing nothing."""
    if favor not in (None, *SIDES):
        raise UsageError(f"favor={favor!r}: take 'ours' or 'theirs' for the conflicts", "or leave it out")
    resolution = resolution_of(resolve) if resolve is not None else None
    if message is not None and (not isinstance(message, str) or not message.strip()):
        raise UsageError("an empty message: give one, or leave it out", "see `annover merge --help`")
    start = repo.begin_write()
    repo.head()  # .annover/HEAD edited or deleted by hand: named (exit 8), as a snapshot does, not committed over
    head_commit = repo.head_commit()
    if head_commit is None:
        raise RevisionError("this branch has no commit yet", "run `annover init` first")
    theirs = repo.resolve(rev)
    theirs_commit = _commit_of(repo, rev, theirs)
    tags = repo.tags_of()
    ours_hist = ancestors(repo, start) if start else {}
    _check_git_merge(repo, head_commit, ours_hist, theirs, tags)
    if theirs in ours_hist:
        _no_conflict_to_settle(resolution, rev)
        res = MergeResult("up-to-date", rev, start, theirs, base=theirs, dry_run=dry_run, favor=favor)
        if not repo.scm.merge_base_is(theirs_commit, head_commit):
            res.warnings.append(f"{rev}'s commit {theirs_commit[:12]} has commits this branch lacks, but no version "
                                "HEAD lacks: merge its other files with `git merge`")
        return res
    sides = _Sides(start, theirs, head_commit, theirs_commit, ours_hist, ancestors(repo, theirs))
    res = MergeResult("merge", rev, start, theirs, dry_run=dry_run, favor=favor, resolution=resolution)
    res.versions = [v.id for v in sorted((v for k, v in sides.theirs_hist.items() if k not in ours_hist),
                                         key=lambda v: (v.created_at, v.id), reverse=True)]
    if start is None or start in sides.theirs_hist:
        _no_conflict_to_settle(resolution, rev)
        res.kind, res.base = "fast-forward", start
        return _fast_forward(repo, res, sides.theirs_hist[theirs], start, head_commit, theirs_commit, tags)
    bases = merge_base(ours_hist, sides.theirs_hist)
    if not bases:
        raise UsageError(f"HEAD ({repo.name_of(start, True, tags)}) and {rev} ({repo.name_of(theirs, True, tags)}) "
                         "share no "
                         "version: there is nothing to merge them against",
                         f"bring {rev}'s content over with `annover revert --to {rev}`")
    res.base = bases[0]
    if len(bases) > 1:
        res.warnings.append(f"HEAD and {rev} have {len(bases)} nearest common versions (criss-cross merges); merged "
                            f"against the newest, {repo.name_of(bases[0], True, tags)}")
    if tag_name is not None:  # before the read, and in a dry run too: the merge would refuse it
        check_new_tag(repo, tag_name)
    content, tree = _three_way(repo, res, sides, tags, progress)
    if dry_run:
        res.tag = tag_name or _next_after(next_tag(repo), res.renumbered)  # as snapshot --dry-run says
        return res
    assert content is not None
    _write(repo, res, sides, content, tree, message, tag_name, progress)
    return res


def _no_conflict_to_settle(resolution: Resolution | None, rev: str) -> None:
    """Refuse a resolution that names anything where the merge has no conflict (up to date, a
    fast-forward): it was made for another merge."""
    if resolution is not None:
        check_against(resolution, [], {}, rev)


def _three_way(repo: RepoCore, res: MergeResult, sides: _Sides, tags: dict[str, list[str]], progress: Progress
               ) -> "tuple[Content | None, str]":
    """The merged content (not stored; None for a dry run) and git's merged tree; ``res`` says what
    came from where."""
    rev, favor = res.rev, res.favor
    base_v, ours_v = sides.ours_hist[res.base], sides.ours_hist[sides.start]
    theirs_v = sides.theirs_hist[sides.theirs]
    ours_read, theirs_read = reading_of(ours_v) or Reading(), reading_of(theirs_v) or Reading()
    if ours_read.key != theirs_read.key:
        raise UsageError(f"HEAD keys tasks by {Reading.describe_key(ours_read.key)} and {rev} by "
                         f"{Reading.describe_key(theirs_read.key)}: a merge task by task would pair none of them",
                         "snapshot one side again with the other's --key, then merge")
    if (reading_of(base_v) or Reading()).key != ours_read.key:
        res.warnings.append(f"both sides changed the task key scheme since {repo.name_of(base_v.id, True, tags)}: its "
                            "tasks show as removed, and theirs as added, on both")
    _check_objects_here(repo, rev, (base_v, ours_v, theirs_v), tags)
    resolution = res.resolution
    merged = _merged(repo, (base_v, ours_v, theirs_v), rev, favor, resolution.tasks if resolution else None, progress)
    report = merged.merged
    res.changes, res.combined, res.same, res.conflicts = report.changes, report.combined, report.same, report.conflicts
    config_ref, source = _merge_blobs(res, (base_v, ours_v, theirs_v))
    if resolution is not None:  # before anything is written, in a dry run too
        check_against(resolution, res.conflicts, {"config": res.config, "source": res.source}, rev)
    git_plan = _git_plan(repo, sides.head_commit, sides.theirs_commit, rev)
    res.files, res.git, res.renumbered = _unmergeable(repo, git_plan), "merge commit", dict(git_plan.renumber)
    if git_plan.tags and not git_plan.renumber:
        res.clash = " — ".join(_clash(git_plan, rev))
    elif res.dry_run:  # what _settle_left will renumber
        left = _left_numbers(repo, git_plan.tree, sides.theirs_commit, res.renumbered.values())
        res.renumbered.update(left)
        res.theirs_renumbered = list(left)
    config_bytes = repo.store.get(ObjectRef.from_json(config_ref), "labeling config") if config_ref else None
    if res.config in ("ours", "theirs", "conflict"):
        res.warnings += _check_labels(config_bytes, merged.whole(), ours_read.validate)
    if res.dry_run:
        return None, git_plan.tree
    origin = {"kind": "merge", "versions": [sides.start, sides.theirs], "base": res.base, "rev": rev,
              "favor": favor, "conflicts": len(res.conflicts), "reading": ours_read.to_json()}
    if resolution is not None:
        origin["resolved"] = recorded(resolution, res.conflicts, res.taken)
    tasks, annotations, by_model = merged.tables()
    return Content(tasks, annotations, by_model, origin, config_bytes, source), git_plan.tree


def _check_objects_here(repo: RepoCore, rev: str, versions: "tuple[Version, Version, Version]",
                        tags: dict[str, list[str]]) -> None:
    """ObjectError (exit 8) naming, at once, every version of the merge (base, ours, theirs)
    whose objects are not all here, and the pulls that fetch them: ``annover pull`` those HEAD
    reaches, ``annover pull REV`` REV's (it may be on no tag nor HEAD's history)."""
    missing: list[tuple[str, str]] = []  # (the side, the version as named)
    for v, side in zip(versions, ("the base", "HEAD", rev)):
        try:
            repo.check_objects_here(v, side)
        except ObjectError:
            name = repo.name_of(v.id, True, tags)
            given = side == rev and rev not in tags.get(v.id, []) and not v.id.startswith(rev)
            missing.append((side, f"{rev} at {name}" if given else f"{side} {name}" if side != rev else name))
    if not missing:
        return
    said = ", ".join(named for _, named in missing)
    pulls = ["`annover pull`"] if any(side != rev for side, _ in missing) else []
    pulls += [f"`annover pull {rev}`"] if any(side == rev for side, _ in missing) else []
    raise ObjectError(f"merging {rev} reads {len(missing)} version(s) whose objects are not all here: {said}",
                      f"fetch them from the DVC remote first: {' then '.join(pulls)}, then run the merge again")


def _merge_blobs(res: MergeResult, versions: "tuple[Version, Version, Version]") -> "tuple[dict | None, dict | None]":
    """(the merged labeling config's object ref, the merged source data record) of ``versions``
    (base, ours, theirs), each taken as :func:`merge_blob` says, a conflict from the side the
    resolution gives it, else ``favor``'s; ``res`` says where they came from."""
    resolution = res.resolution
    sides = {n: (resolution.side_of(n) if resolution else None) or res.favor for n in ("config", "source")}
    cfgs = [v.record.get("config") for v in versions]
    config, res.config = merge_blob(*[c["oid"] if c else None for c in cfgs], sides["config"])
    srcs = [v.record.get("source") for v in versions]
    source_key, res.source = merge_blob(*[C.canonical_json(s) if s else None for s in srcs], sides["source"])
    res.taken = {n: side for n, side in sides.items() if getattr(res, n) == "conflict" and side is not None}
    return (next((c for c in cfgs if c and c["oid"] == config), None),
            next((dict(s) for s in srcs if s and C.canonical_json(s) == source_key), None))


def _write(repo: RepoCore, res: MergeResult, sides: _Sides, content: Content, tree: str, message: str | None,
           tag_name: str | None, progress: Progress) -> None:
    """Store the merged content as a new version in a git merge commit (or refuse, writing nothing)."""
    rev = res.rev
    _refuse_git(_git_plan(repo, sides.head_commit, sides.theirs_commit, rev), rev, res, renumber=True)
    if res.stops:
        raise _conflict_error(res, rev)
    if tag_name is not None:
        check_new_tag(repo, tag_name)
    author = repo.author()  # git can make the merge commit (an identity, a signature) before the objects are stored
    if message is None:
        message = f"Merge {rev} into {(repo.scm.branch() or '').removeprefix('refs/heads/')}"
    users_file = _users_union(repo, sides.theirs_commit)
    ours_v = sides.ours_hist[sides.start]
    pool = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)), thread_name_prefix="annover")
    try:
        progress("hashing content")
        enc = hash_and_encode(content, pool, repo, sides.start)
        with repo.lock(expect_head=sides.start):
            repo.recover()
            _check_unmoved(repo, sides.head_commit)
            head_commit, tree = _settle_tags(repo, res, sides)  # again, locked; this branch's clashing numbers renamed
            tag = tag_name or next_tag(repo)
            progress("writing snapshots")
            stored = store_objects(repo, content, enc, pool, ours_v)
            maybe_die(Stage.AFTER_OBJECTS)
            record = version_record(repo, content, stored, sides.start, enc.stats.result(), message, author)
            record["parents"] = [sides.start, sides.theirs]
            res.version, res.commit = commit_version(repo, record, ours_v, tag, message, head_commit, progress,
                                                     users_file, what="merge", base=tree,
                                                     merged=(sides.theirs_commit,),
                                                     extra=_dropped_records(repo, tree, sides.theirs_commit,
                                                                            res.versions))
            res.tag, res.written = tag, True
            repo.ensure_git_tags()  # REV's numbers a fetch could not bring while this branch held them
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _settle_tags(repo: RepoCore, res: MergeResult, sides: _Sides) -> tuple[str, str]:
    """(head commit, merged tree) to commit the merge on: git's plan checked again under the
    lock, and this branch's numbers that REV gave too renamed first, in a commit of their own."""
    plan = _git_plan(repo, sides.head_commit, sides.theirs_commit, res.rev)
    _refuse_git(plan, res.rev, res, renumber=True)
    if not plan.tags:
        return _settle_left(repo, res, sides, sides.head_commit, plan.tree)
    head = _renumber(repo, plan, sides.head_commit, res.rev)
    res.renumbered = dict(plan.renumber)
    plan = _git_plan(repo, head, sides.theirs_commit)
    _refuse_git(plan, res.rev, res)  # no clash is left
    return _settle_left(repo, res, sides, head, plan.tree)


def _settle_left(repo: RepoCore, res: MergeResult, sides: _Sides, head: str, tree: str) -> tuple[str, str]:
    """(head commit, merged tree) once REV's numbers a git merge left to this branch's versions are
    renumbered (:func:`_left_numbers`), in a commit of their own."""
    left = _left_numbers(repo, tree, sides.theirs_commit, res.renumbered.values())
    if not left:
        return head, tree
    head = _renumber_theirs(repo, left, head, sides.theirs_commit, res.rev)
    res.renumbered.update(left)
    res.theirs_renumbered = list(left)
    plan = _git_plan(repo, head, sides.theirs_commit)
    _refuse_git(plan, res.rev, res)
    return head, plan.tree


def _dropped_records(repo: RepoCore, tree: str, theirs_commit: str, versions: list[str]) -> dict[str, bytes]:
    """The records of REV's ``versions`` that git's merged ``tree`` lacks, from REV's commit. git
    drops one where this branch deleted it since the commits' merge base: an ``annover reset``
    that undid an earlier fast-forward to REV. Without it the merge's parent would be in no
    tree, and push, gc and a clone would miss it."""
    vdir = repo.rel(repo.dir / "versions")
    held, wanted = repo.scm.ls_tree(tree, vdir), {f"{vdir}/{vid}.json" for vid in versions}
    return {p: repo.scm.blob(oid) for p, oid in repo.scm.ls_tree(theirs_commit, vdir).items()
            if p in wanted and p not in held}


def _check_git_merge(repo: RepoCore, head_commit: str, ours_hist: dict[str, Version], theirs: str,
                     tags: dict[str, list[str]]) -> None:
    """Refuse (exit 8) when git's HEAD commit is a git merge that left a version out of HEAD's
    history (:func:`left_out_by_git_merge`): its labels would be lost without a word ("Already up
    to date"). Merging that version (``theirs`` reaches it) is the way out, and goes on."""
    left = left_out_by_git_merge(repo, head_commit, ours_hist, theirs)
    if left is None:
        return
    vid, parent = left
    path = repo.rel(repo.dir / "HEAD")
    named = repo.name_of(vid, True, tags)
    raise ObjectError(
        f"git's HEAD commit {head_commit[:12]} is a git merge that kept one side's {path}: version {named}, "
        f"of its parent {parent[:12]}, is in no version HEAD reaches (git merged annover's files line by line: "
        "`git merge -X ours/theirs`, or a conflict settled by taking a side), so its labels are left out",
        f"take that commit back (`git reset --hard HEAD~1`) and run `annover merge BRANCH`, which merges "
        f"task by task; or keep it and bring them in with `annover merge {vid[:12]}`")


def _check_unmoved(repo: RepoCore, head_commit: str) -> None:
    if repo.head_commit() != head_commit:
        raise LockError("git HEAD moved while annover merge was reading (a commit landed meanwhile)",
                        "run annover merge again")


def _conflict_error(res: MergeResult, rev: str) -> MergeConflictError:
    """The error of a merge that stops at conflicts: those no side took (a resolution settles the others)."""
    left = res.unsettled
    what = [f"{len(left)} task(s)"] if left else []
    what += ["the labeling config" if n == "config" else "the source data" for n in res.unsettled_blobs]
    said = f"merging {rev}: both sides changed {' and '.join(what)} differently"
    r = res.resolution
    if r is None:
        return MergeConflictError(f"{said}; nothing written",
                                  f"see `annover diff HEAD {rev}`; rerun with --ours or --theirs to take that side for "
                                  "every conflict, or --resolve FILE to take a side task by task (or make the sides "
                                  "agree in a new version first)", res)
    settled = len(res.conflicts) - len(left)
    how = (f"`annover merge {rev} --resolve {r.where} --dry-run --json` lists them with \"taken\": null"
           if r.from_file else "the result's `unsettled` lists them")
    return MergeConflictError(f"{said}, and {r.where} names no side for them (it settles {settled} conflicting "
                              "task(s)); nothing written",
                              f"give each a side in {r.where} ({how}), or add --ours or --theirs to take that side "
                              "for the rest", res)


def _fast_forward(repo: RepoCore, res: MergeResult, theirs_v: Version, start: str | None, head_commit: str,
                  theirs_commit: str, tags: dict[str, list[str]]) -> MergeResult:
    """HEAD's version is in REV's history: move to REV's version as git fast-forwards (or, where
    git cannot, a merge commit naming REV's version)."""
    ff = repo.scm.merge_base_is(head_commit, theirs_commit)
    res.git = "fast-forward" if ff else "merge commit"
    own = set(_own_paths(repo).values())
    if ff:
        changed = [p for p in repo.scm.changed_paths(head_commit, theirs_commit) if p not in own]
        local = repo.scm.local_changes(changed)
        plan = _GitPlan(theirs_commit, [], local, untracked=_untracked(repo, head_commit, local))
    else:
        plan = _git_plan(repo, head_commit, theirs_commit)
    res.files = _unmergeable(repo, plan, renumber=False)
    if res.dry_run:
        return res
    _refuse_git(plan, res.rev, res)
    repo.check_objects_here(theirs_v, res.rev)
    if not ff:
        repo.author()  # git can make the merge commit (an identity, a signature) before DVC's pointer changes
    ours_v = repo.version(start) if start else None
    with repo.lock(expect_head=start):
        repo.recover()
        _check_unmoved(repo, head_commit)
        if ff:
            repo.check_on_branch()
            repo.scm.advance(head_commit, theirs_commit, f"merge {res.rev}: fast-forward", stage=maybe_die)
            res.commit = theirs_commit
            repo.recover(view=True)  # the working store: exactly the new HEAD's objects
        else:
            plan = _git_plan(repo, head_commit, theirs_commit)
            _refuse_git(plan, res.rev, res)
            point_dvc_at(repo, theirs_v, ours_v)
            files: dict[str, Any] = {
                repo.rel(repo.dir / "HEAD"): (theirs_v.id + "\n").encode(),
                repo.rel(repo.dir / "objects.dvc"): repo.dir / "objects.dvc",
                repo.rel(repo.dir / ".gitignore"): repo.dir / ".gitignore",
            }
            users_file = _users_union(repo, theirs_commit)
            if users_file is not None:
                files[repo.rel(repo.dir / USERS_FILE)] = users_file
            files.update(_dropped_records(repo, plan.tree, theirs_commit, res.versions))
            branch = (repo.scm.branch() or "").removeprefix("refs/heads/")
            res.commit = repo.commit(files, f"annover: Merge {res.rev} into {branch} (fast-forward to "
                                            f"{repo.name_of(theirs_v.id, True, tags)})\n\nannover-version: {theirs_v.id}\n",
                                     head_commit, base=plan.tree, merged=(theirs_commit,))
        repo.refs.log(start, theirs_v.id, f"merge {res.rev}: fast-forward")
        res.written = True
    return res
