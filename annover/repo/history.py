"""Naming and undoing versions: ``annover tag``, ``annover revert`` and ``annover reset``.

Each is a commit of annover's files on the branch git's HEAD is on (never on a detached
HEAD), under the repository lock:

- ``tag`` names a version; moving an existing name needs ``force`` and says what it named.
- ``revert`` undoes by adding: a new version whose content (tables, config, source data)
  is that of HEAD's parent (``revert HEAD``) or of any version (``revert --to REV``). The
  history keeps everything, so it is safe on versions others already have.
- ``reset`` undoes by dropping: HEAD goes back to an older version and the versions after
  it lose their tags (annover's and git's) and their records. It is refused for versions
  already on a git remote (a remote-tracking branch holds their commit: others may have
  them; revert instead) and needs ``force``. Of a merge, it drops the merge version and only
  those of the merged-in versions no other branch holds. *Design choice:* the branch is not rewound;
  the reset is a new commit, so commits of the user's own files on the branch stay, and
  the dropped versions' commits remain in git's history for whoever needs them back.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from annover.errors import GitError, LockError, RevisionError, UsageError
from annover.repo.core import VERSION_SCHEMA, RepoCore
from annover.repo.reading import Reading, reading_of
from annover.repo.remote import made_by_annover, stray_tags
from annover.repo.results import StrayTag, TagResult
from annover.repo.snapshot import check_tag_beside, commit_version, next_tag, noop, point_dvc_at
from annover.store.refs import check_tag_name, version_number
from annover.store.versions import Version

__all__ = ["PruneResult", "ResetResult", "RevertResult", "prune_tags", "reset", "revert", "tag"]

#: what a revert copies from the version whose content it restores
_CONTENT_FIELDS = ("tables", "table_schema", "config", "source", "stats")


@dataclass(frozen=True)
class RevertResult:
    """``annover revert``: the new version (None when HEAD already holds that content), its tag,
    the version whose content it restores and the one it undoes (None with ``--to``)."""

    version: Version | None
    changed: bool
    restored: str
    reverted: str | None
    tag: str | None = None
    commit: str | None = None

    def to_json(self) -> dict:
        return {"changed": self.changed, "tag": self.tag, "commit": self.commit, "restored": self.restored,
                "reverted": self.reverted, "version": self.version.to_json() if self.version else None}


@dataclass(frozen=True)
class ResetResult:
    """``annover reset``: HEAD before and after, the versions dropped (newest first) and the tags
    they lose; ``done`` is False for a dry run (or when there was nothing to drop)."""

    head: str
    target: str
    dropped: list[str]
    tags: dict[str, str] = field(default_factory=dict)
    done: bool = False
    commit: str | None = None

    def to_json(self) -> dict:
        return {"head": self.head, "target": self.target, "dropped": self.dropped, "tags": self.tags,
                "done": self.done, "commit": self.commit}


def _name(repo: RepoCore, vid: str, tags: dict[str, list[str]] | None = None, but: str | None = None) -> str:
    """A version as people know it: its first tag (other than ``but``) and short id, e.g. ``v3 (0123456789ab)``."""
    names = sorted(n for n in (tags if tags is not None else repo.tags_of()).get(vid, []) if n != but)
    return f"{names[0]} ({vid[:12]})" if names else vid[:12]


def _refuse_staged(repo: RepoCore, paths: "list[Any]", what: str) -> None:
    """Refuse, before anything is written, a write whose commit would overwrite what the user's
    index stages for one of ``paths`` (see :meth:`annover.store.git.Git.refuse_staged`)."""
    head = repo.head_commit()
    if head:
        repo.scm.refuse_staged(head, [repo.rel(p) for p in paths], what)


# ---------------------------------------------------------------------------- tag


def tag(repo: RepoCore, name: str, rev: str = "HEAD", force: bool = False) -> TagResult:
    """Name version ``rev`` ``name`` (an annover ref committed to git, and a git tag on the
    commit that made it). An existing name moves only with ``force``; the result says what
    it named before (``replaced``)."""
    check_tag_name(name)
    repo.check_on_branch(f"the commit recording tag {name}")  # a tag makes no version: say what would be lost
    with repo.lock():
        repo.recover()
        vid = repo.resolve(rev)  # after the repair: never a version an interrupted command left
        check_tag_beside(repo, name)
        moved = next((m for m in repo.moved_tags() if m.name == name), None)
        old = moved.recorded if moved else repo.tags().get(name)
        git_old = repo.scm.tag_commits().get(name)
        if (old or git_old or moved) and not force:
            was = f" (it names {_name(repo, old, but=name)})" if old else ""
            if moved:
                was = f" ({moved.describe(repo)})"
            raise UsageError(f"tag {name!r} already exists{was}",
                             "choose another name, or pass --force to move it (a training record may cite it)")
        commit = repo.commit_of(vid)
        path = repo.dir / "refs" / "tags" / name
        _refuse_staged(repo, [path], f"annover tag {name}")
        head = repo.head_commit()
        committed = (repo.scm.show(head, repo.rel(path)) or "").strip() if head else ""
        if committed != vid or repo.refs.read(name) != vid:  # records it (and a hand-edited file)
            title = f"annover: tag {name} -> {vid[:12]}" + (f" (was {old[:12]})" if old and old != vid else "")
            repo.commit({repo.rel(path): (vid + "\n").encode()}, title, head)
        if commit and commit != git_old:
            repo.scm.tag(name, commit, force=force, old=git_old)
    replaced = old if old != vid else (moved.now if moved and moved.now != vid else None)
    return TagResult(name, vid, commit, replaced=replaced)


def untag(repo: RepoCore, name: str) -> TagResult:
    """Delete tag ``name``: its annover ref (in a commit) and its git tag. A number annover gives
    (``v3``) is refused: the next snapshot would be given it, and a record citing it would name
    other labels."""
    check_tag_name(name)
    if version_number(name) is not None:
        raise UsageError(f"{name!r} is a version number annover gives; deleted, it would be given to the next "
                         "version, and a training record citing it would name other labels",
                         f"give the version another name too: annover tag NAME {name}")
    repo.check_on_branch("the tag's removal")
    with repo.lock():
        repo.recover()
        old = repo.tags().get(name)
        git_old = repo.scm.tag_commits().get(name)
        if old is None and git_old is None:
            raise RevisionError(f"no tag {name!r}", "list the tags with `annover log`")
        _refuse_staged(repo, [repo.dir / "refs" / "tags" / name], f"annover tag -d {name}")
        path = repo.rel(repo.dir / "refs" / "tags" / name)
        head = repo.head_commit()
        if old is not None or (head and repo.scm.show(head, path)):
            repo.commit({path: None}, f"annover: delete tag {name}" + (f" (was {old[:12]})" if old else ""), head,
                        what="the tag's removal")
        if git_old:
            repo.scm.delete_tag(name, git_old)
    return TagResult(name, old or "", git_old, deleted=True)


@dataclass(frozen=True)
class PruneResult:
    """``annover tag --prune``: the git tags deleted (``dry_run``: that would be); those left because
    a git remote has them (``kept``: tag, remote), since ``git fetch --tags`` would bring them back;
    those on such commits that annover did not make (``others``: a user's own); and the remotes that
    could not be asked which tags they have (``unasked``: remote, why)."""

    deleted: list[StrayTag]
    kept: list[tuple[StrayTag, str]] = field(default_factory=list)
    others: list[StrayTag] = field(default_factory=list)
    unasked: list[tuple[str, str]] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict:
        return {"dry_run": self.dry_run, "tags": [t.to_json() for t in self.deleted],
                "kept": [{**t.to_json(), "remote": r} for t, r in self.kept],
                "others": [t.to_json() for t in self.others],
                "unasked": [{"remote": r, "error": e} for r, e in self.unasked]}


def _on_remotes(repo: RepoCore, stray: list[StrayTag]) -> "tuple[dict[str, str], list[tuple[str, str]]]":
    """({tag: the first git remote that has a tag of that name}, [(remote, why) it could not be asked])."""
    found: dict[str, str] = {}
    unasked: list[tuple[str, str]] = []
    for remote in repo.scm.remotes() if stray else []:
        try:
            there = repo.scm.remote_tags(remote)
        except GitError as e:
            unasked.append((remote, e.message))
            continue
        for t in stray:
            if t.name in there:
                found.setdefault(t.name, remote)
    return found, unasked


def prune_tags(repo: RepoCore, dry_run: bool = False) -> PruneResult:
    """``annover tag --prune``: delete the git tags :func:`stray_tags` finds that annover made (each
    only if it still names its commit), but those a git remote has; (``dry_run``: would) delete.
    Their numbers are free again."""
    if dry_run:
        return _prune_plan(repo, True)
    with repo.lock():
        result = _prune_plan(repo, False)
        for t in result.deleted:
            repo.scm.delete_tag(t.name, t.commit)
    return result


def _prune_plan(repo: RepoCore, dry_run: bool) -> PruneResult:
    found = stray_tags(repo)
    own = made_by_annover(repo, found) if found else set()
    mine = [t for t in found if t.name in own]
    remote_has, unasked = _on_remotes(repo, mine)
    return PruneResult([t for t in mine if t.name not in remote_has],
                       [(t, remote_has[t.name]) for t in mine if t.name in remote_has],
                       [t for t in found if t.name not in own], unasked, dry_run)


#: the names annover numbers versions with


# ---------------------------------------------------------------------------- revert


def _same_content(a: Version, b: Version) -> bool:
    return all(a.record.get(k) == b.record.get(k) for k in ("tables", "config", "source"))


def revert(repo: RepoCore, rev: str | None = "HEAD", to: str | None = None, message: str | None = None,
           tag_name: str | None = None) -> RevertResult:
    """A new version on top of HEAD that undoes ``rev`` (HEAD: its content becomes its parent's),
    or, with ``to``, whose content is version ``to``'s. HEAD already holding it: no version."""
    start = repo.begin_write("annover revert")
    if start is None:
        raise RevisionError("no versions yet (HEAD is empty)", "make one with `annover snapshot`")
    head = repo.version(start)
    reverted = None
    if to is not None:
        target = repo.resolve(to)
        target_rev = to
    else:
        reverted = repo.resolve("HEAD" if rev is None else rev)  # an empty rev is refused, not HEAD
        if reverted != start:
            named = _name(repo, reverted)
            what = named if named.startswith(f"{rev} ") else f"{rev} ({named})"
            if not repo.version(reverted).parents:
                raise UsageError(f"{what} is the first version, not HEAD: there is no state before it",
                                 "to make HEAD hold another version's content, run `annover revert --to REV`")
            raise UsageError(f"{what} is not HEAD: a version holds a full state, so undoing it "
                             "alone is not defined", "to make HEAD hold the state before it (a new version), "
                             f"run `annover revert --to {rev}~1`")
        if not head.parents:
            raise UsageError(f"{_name(repo, start)} is the first version: there is no state before it",
                             "to drop it, run `annover reset` (see annover reset --help)")
        target = head.parents[0]
        target_rev = f"{rev or 'HEAD'}~1"
    restored = repo.version(target)
    if _same_content(head, restored):
        return RevertResult(None, False, target, reverted)
    if tag_name is not None:
        check_tag_name(tag_name)
        if tag_name in repo.tags():
            raise UsageError(f"tag {tag_name!r} already exists", "choose another name with --tag")
        check_tag_beside(repo, tag_name)
    repo.check_objects_here(restored, target_rev)
    tags = repo.tags_of()
    if message is None:
        if reverted:
            old = head.message.splitlines()[0] if head.message else ""
            message = f'Revert "{old}"\n\nThis reverts {_name(repo, reverted, tags)}.' if old else \
                f"Revert {_name(repo, reverted, tags)}"
        else:
            message = f"Restore the content of {_name(repo, target, tags)}"
    with repo.lock(expect_head=start):
        repo.recover()
        name = tag_name or next_tag(repo)
        _refuse_staged(repo, [repo.dir / f for f in ("HEAD", "objects.dvc", ".gitignore", f"refs/tags/{name}")],
                       "annover revert")
        record = {
            "schema": VERSION_SCHEMA, "hash": "sha256", "parents": [start],
            **{k: restored.record.get(k) for k in _CONTENT_FIELDS},
            "author": repo.author(),
            "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "message": message,
            # the restored content was read with its version's key: the next snapshot reads so too
            "origin": {"kind": "revert", "version": target, "reverts": reverted,
                       "reading": (reading_of(restored) or Reading()).to_json()},
        }
        version, commit = commit_version(repo, record, head, name, message, repo.head_commit(), noop, what=None)
    return RevertResult(version, True, target, reverted, name, commit)


# ---------------------------------------------------------------------------- reset


def _dropped(repo: RepoCore, reachable: list[Version], keep: set[str], rev: str) -> list[Version]:
    """The versions a reset to ``rev`` drops: those after it on this branch's line (first
    parents from HEAD; one on a remote-tracking branch refuses the reset) and, of those a
    dropped merge brought in, the ones no other branch or remote-tracking branch holds (the
    others stay their branch's, tags and all, as `git reset --hard` of a merge leaves them)."""
    by_id = {v.id: v for v in reachable}
    line: set[str] = set()
    vid: str | None = reachable[0].id if reachable else None
    while vid is not None and vid in by_id and vid not in keep:
        line.add(vid)
        vid = by_id[vid].parents[0] if by_id[vid].parents else None
    branch = repo.scm.branch()
    tags_of = repo.tags_of()
    dropped = []
    for v in (v for v in reachable if v.id not in keep):
        commit = repo.commit_of(v.id)
        if v.id in line:
            published = repo.scm.remote_refs_containing(commit) if commit else []
            if published:
                merge = (f" (a merge too: the new version holds {rev}'s content, the merged versions stay in the "
                         "history)") if len(v.parents) > 1 else ""
                raise UsageError(f"{_name(repo, v.id, tags_of)} is already on {published[0]}: others may have it",
                                 f"undo it with a new version instead: annover revert --to {rev}{merge}")
        elif commit and _held_elsewhere(repo, commit, branch):
            continue
        dropped.append(v)
    return dropped


def _held_elsewhere(repo: RepoCore, commit: str, branch: str | None) -> bool:
    """Whether a branch other than ``branch`` (a full ref name), or a remote-tracking branch, holds ``commit``."""
    return any(ref != branch for ref in repo.scm.refs_containing(commit, "refs/heads", "refs/remotes"))


def reset(repo: RepoCore, rev: str, force: bool = False, dry_run: bool = False,
          asked: str | None = None) -> ResetResult:
    """Move HEAD back to ``rev`` (one of its ancestors), dropping the versions after it.

    ``dry_run``: only say what would be dropped. Without ``force``, dropping anything is
    refused (the command line asks on a terminal). Versions already on a git remote are
    never dropped. ``asked``: the HEAD version the user was asked about; a version that
    landed since is refused (exit 9), as the yes did not cover dropping it.
    """
    start = repo.begin_write(f"annover reset {rev}")
    if start is None:
        raise RevisionError("no versions yet (HEAD is empty)", "make one with `annover snapshot`")
    if asked is not None and start != asked:
        raise LockError(f"HEAD moved while annover reset was asking: {_name(repo, start)} landed meanwhile "
                        f"(the question was about {asked[:12]})",
                        f"nothing dropped; run `annover reset {rev}` again to see what it would drop now")
    target = repo.resolve(rev)
    if target == start:
        return ResetResult(start, target, [])
    reachable = repo.log(start)
    if target not in {v.id for v in reachable}:
        raise UsageError(f"{rev} ({target[:12]}) is not an ancestor of HEAD: reset only goes back",
                         "to make HEAD hold its content, run `annover revert --to " + rev + "`")
    dropped = _dropped(repo, reachable, {v.id for v in repo.log(target)}, rev)
    names = repo.tags()
    lost = {n: vid for n, vid in sorted(names.items()) if vid in {v.id for v in dropped}}
    tags_of = repo.tags_of()
    result = ResetResult(start, target, [v.id for v in dropped], lost)
    if dry_run:
        return result
    if not force:
        listed = ", ".join(_name(repo, v.id, tags_of) for v in dropped)
        raise UsageError(f"reset to {rev} would drop {len(dropped)} version(s): {listed}",
                         "pass --force to drop them (annover reset asks on a terminal), or undo with a new version: "
                         f"annover revert --to {rev}")
    target_v = repo.version(target)
    repo.check_objects_here(target_v, rev)
    repo.author()  # git can make the commit (an identity, a signature) before DVC's pointer changes
    with repo.lock(expect_head=start):
        repo.recover()
        _refuse_staged(repo, [repo.dir / f for f in ("HEAD", "objects.dvc", ".gitignore")]
                       + [repo.dir / "refs" / "tags" / n for n in lost] + [repo.version_path(v.id) for v in dropped],
                       f"annover reset {rev}")
        git_tags = repo.scm.tag_commits()
        point_dvc_at(repo, target_v, repo.version(start))
        files: dict[str, Any] = {
            repo.rel(repo.dir / "HEAD"): (target + "\n").encode(),
            repo.rel(repo.dir / "objects.dvc"): repo.dir / "objects.dvc",
            repo.rel(repo.dir / ".gitignore"): repo.dir / ".gitignore",
        }
        for n in lost:
            if (repo.dir / "refs" / "tags" / n).exists():
                files[repo.rel(repo.dir / "refs" / "tags" / n)] = None
        for v in dropped:
            if repo.version_path(v.id).exists():
                files[repo.rel(repo.version_path(v.id))] = None
        what = ", ".join(_name(repo, v.id, tags_of) for v in dropped)
        commit = repo.commit(files, f"annover: reset to {_name(repo, target, tags_of)}\n\nDrops {what}.\n",
                             repo.head_commit())
        repo.refs.log(start, target, f"reset: moving to {rev}")
        for n in lost:
            if n in git_tags:
                repo.scm.delete_tag(n, old=git_tags[n])
    return ResetResult(start, target, [v.id for v in dropped], lost, True, commit)
