"""The repository's plumbing: object store, refs and version records, glued to git and DVC.

Layout (everything under ``.annover/`` beside ``.dvc/`` in a git work tree)::

    config.json            repository format                      (git)
    HEAD                   id of the current version              (git)
    refs/tags/NAME         version ids by name                    (git; also git tags)
    versions/ID.json       version records                        (git)
    objects/               objects the HEAD version needs         (DVC: objects.dvc)
    objects.dvc            DVC pointer of objects/                (git)
    lock, logs/            lock file and HEAD's reflog            (local, ignored)

Older versions' objects live in the DVC cache (they were ``dvc add``-ed when made) and
on the DVC remote; the store reads them from the cache by the md5 each reference
carries. Each snapshot is one git commit made with a private index (so it holds
annover's files only) and moved into place with a compare-and-swap ``update-ref``.

git is the truth: tags are git's tags (annover's tag files fill in names git lacks), a
version record missing from the work tree is read from the commit that added it, and
opening a repository repairs what a killed command left (unless a live one is writing),
so every command sees the committed state whatever is checked out.

:class:`RepoCore` is this plumbing; :class:`annover.repo.Repo` adds the commands.
"""

from __future__ import annotations

import contextlib
import difflib
import heapq
import json
import os
import re
import signal
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from annover._lazy import lazy
from annover.errors import (AmbiguousRevisionWarning, AnnoverError, GitError, LockError, NotARepoError, ObjectError,
                            RevisionError, UsageError, env_seconds)
from annover.files import REFUSED, write_atomic
from annover.model import canonical as C
from annover.store import dvc as dvc_adapter
from annover.store.dvc import Dvc
from annover.store.git import Git, branch_back, checked_out_as, orphan_branch, own_repository, run_git, unborn_clone
from annover.store.objects import LocalStore, ObjectRef, ObjectStore
from annover.store.refs import Refs, RepoLock, is_tag_name, is_version_id, not_writable, tag_order, version_number
from annover.store.snapshots import (TASK_HASH, Layout, differing_tasks, hash_probe, object_refs, read_layout,
                                    read_manifest, read_snapshot)
from annover.store.versions import Version

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
else:
    pa = lazy("pyarrow")

FORMAT = 1
VERSION_SCHEMA = "annover.version/1"
ANNOVER_DIR = ".annover"
GITIGNORE = "/objects\n/lock\n/logs/\n/tmp/\n"


def lock_timeout() -> float:
    """Seconds a command waits for the repository lock: ``ANNOVER_LOCK_TIMEOUT`` (default 60); a
    setting that is not seconds is a usage error (checked first by a command that changes
    something elsewhere before it takes the lock)."""
    return env_seconds("ANNOVER_LOCK_TIMEOUT", 60)
#: the environment variable naming the stage at which the crash tests kill annover
KILL_AT_ENV = "ANNOVER_TEST_KILL_AT"
_REV_RE = re.compile(r"^(?P<base>.+?)(?P<ops>(?:~\d*|\^\d*)*)$")
#: ``lock(expect_head=...)``'s default: no check of HEAD
_ANY = object()


def find_root(start: str | Path = ".") -> Path:
    """The nearest folder at or above ``start`` holding ``.annover/config.json``."""
    p = Path(start).resolve()
    for d in (p, *p.parents):
        a = d / ANNOVER_DIR
        if a.is_dir():
            if not (a / "config.json").is_file():
                _check_not_orphan(d)
                _check_config_not_deleted(a)
                raise NotARepoError(f"{a} exists but has no config.json",
                                    "this is not an annover repository; move .annover away and run `annover init`")
            return d
    unborn = unborn_clone(p) if p.is_dir() else None
    if unborn is not None:  # `annover init` here would start another history: say what git left out
        head, refs = unborn
        branch = next((r for r in refs if r.endswith("/main")), refs[0])
        raise NotARepoError(f"not an annover repository (or any parent): {p}: this git clone checked nothing "
                            f"out, its HEAD names branch {head}, which its remote does not have (a bare remote "
                            "made by `git init --bare` without `-b main`)",
                            f"`git checkout {branch.split('/', 1)[1]}` (and on the remote, once: `git symbolic-ref "
                            f"HEAD refs/heads/{branch.split('/', 1)[1]}`)")
    raise NotARepoError(f"not an annover repository (or any parent): {p}", "run `annover init` first")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def git_elsewhere(why: str, then: str) -> NotARepoError:
    """The refusal (exit 6) of ``GIT_DIR`` / ``GIT_WORK_TREE`` pointing git at another repository
    than annover's (``why``), naming the variables set; ``then``: what unsetting them leads to
    (``{them}`` in it: "them", or "it" for one variable)."""
    elsewhere = [v for v in ("GIT_DIR", "GIT_WORK_TREE") if v in os.environ]
    named, several = " and ".join(elsewhere), len(elsewhere) > 1
    return NotARepoError(f"{why} ({named} point{'' if several else 's'} git elsewhere)",
                         f"unset {named}{then.replace('{them}', 'them' if several else 'it')}")


def made_it(vid: str, adders: list[str], made: "dict[str, str | None]") -> str:
    """Of the commits that added version ``vid``'s record (``adders``, newest first), the one that
    made it: the oldest whose ``.annover/HEAD`` names it (``made``: commit -> the version its HEAD
    names), else the oldest. annover commits a version's record, HEAD and objects pointer together;
    a later commit that adds the record again (a teammate's branch that took it in beside another
    version's pointer, merged by plain git; a cherry-pick whose conflict kept the other side's
    pointer) comes after what it copies."""
    return ([c for c in adders if made.get(c) == vid] or adders)[-1]


def _check_config_not_deleted(adir: Path) -> None:
    """Refuse, with the command that restores it, an ``.annover/config.json`` deleted from the work
    tree while git's HEAD commit has it (not a folder to move away and `annover init` again)."""
    if run_git(["ls-tree", "--name-only", "HEAD", "--", f"{ANNOVER_DIR}/config.json"], adir.parent, check=False):
        raise NotARepoError(f"{adir / 'config.json'} is missing, and git's HEAD commit has it (deleted by hand?)",
                            f"restore it from git: git checkout HEAD -- {ANNOVER_DIR}/config.json")


def _check_not_orphan(root: Path) -> None:
    """Refuse, naming the branch to go back to, a git HEAD on a branch with no commit yet (an
    orphan branch) where annover's files are left over or staged (see :meth:`RepoCore._check_born`)."""
    orphan = orphan_branch(root)
    if orphan is not None:
        raise NotARepoError(f"git's branch {orphan[0]} has no commit yet (an orphan branch): annover's files are "
                            "not committed on it, its versions are on other branches",
                            f"check out a branch that has them: `git checkout {orphan[1]}` (add -f to drop what "
                            "is staged on the new branch)")


class RepoCore:
    """An annover repository's plumbing (see the module docstring for the layout)."""

    def __init__(self, path: str | Path | None = ".") -> None:
        self.root = find_root("." if path is None else path)  # None: here, as the functions' repo=None
        self.dir = self.root / ANNOVER_DIR
        try:
            cfg = json.loads((self.dir / "config.json").read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise NotARepoError(f"{self.dir / 'config.json'} is unreadable: {e}",
                                "restore it from git: git checkout HEAD -- .annover/config.json") from None
        if cfg.get("format") != FORMAT:
            raise NotARepoError(f"unsupported annover repository format {cfg.get('format')!r}",
                                "upgrade annover")
        self.refs = Refs(self.dir)
        #: the git adapter (commands run at the work tree's top level)
        self.scm = Git(self.root)
        #: the working store; older versions' objects are read from the DVC cache, looked up
        #: only when an object is missing (so reading HEAD never reads DVC's config)
        self.store = LocalStore(self.dir / "objects", find_fallbacks=self._dvc_caches)
        self._dvc: Dvc | None = None
        #: what opening the repository repaired (a killed command's leftovers) or left out
        self.recovered: list[str] = []
        self._version_at: dict[str, str | None] = {}  # commit -> the version HEAD names there
        self._record_hint: dict[str, str] = {}  # version id -> a commit whose tree holds its record
        self._killed = False  # a command was killed holding the lock: its half-written files are repaired
        self._moved: list[MovedTag] | None = None
        self._git_tags: dict[str, str] = {}  # git's tags as tags() last read them: name -> commit
        self._tags_read: dict[str, str] = {}  # tags() as moved_tags() last read them
        self._held_tags: dict[str, str] | None = None  # tags() kept by held_tags() (None: read each time)
        self._held_commits: dict[str, str] | None = None  # git_tag_commits() kept by held_tags()
        self._holding = False
        self._locked = 0  # the lock is held (what moved_tags() read is kept within)
        #: within :meth:`tags_of_versions`: (the versions printed, the tag names asked for), and the
        #: tag files and HEAD's as read once for it
        self._scope: tuple[set[str], set[str]] | None = None
        self._scope_files: tuple[dict[str, str], dict[str, str]] | None = None
        self._listed_at: dict[str, dict[str, str]] = {}  # commit -> its tag files' blob ids (_tag_blobs_at_head)
        self._blob_texts: dict[str, str] = {}  # blob id -> the text of a tag file read from git
        self._no_head_at: str | None = None  # a commit known to hold no .annover/HEAD (no version yet)
        self._ambiguity_checked: set[str] = set()  # tag names looked for among git's branches (one warning each)
        self._check_git_elsewhere()
        self._check_born()
        self.settle()

    # ------------------------------------------------------------------ git / DVC

    @property
    def toplevel(self) -> Path:
        return self.scm.toplevel

    @property
    def git_dir(self) -> Path:
        return self.scm.git_dir

    def git(self, *args: str, env: dict | None = None, input: bytes | None = None, check: bool = True) -> str:
        """``git ARGS`` at the top level (see :meth:`annover.store.git.Git.run`)."""
        return self.scm.run(*args, env=env, input=input, check=check)

    def rel(self, path: Path) -> str:
        """``path`` relative to the git top level, posix style (for git plumbing)."""
        return self.scm.rel(path)

    @property
    def dvc_root(self) -> Path:
        root = dvc_adapter.find_root(self.root, self.toplevel)
        if root is None:
            raise NotARepoError(f"no DVC repository at or above {self.root}", "run `annover init` to set DVC up")
        return root

    @property
    def dvc(self) -> Dvc:
        """The DVC adapter of the DVC repository this one is in."""
        if self._dvc is None:
            self._dvc = Dvc(self.dvc_root)
        return self._dvc

    def _dvc_caches(self) -> list[Path]:
        try:
            return [self.dvc.cache_dir()]
        except NotARepoError:
            return []

    @contextlib.contextmanager
    def lock(self, timeout: float | None = None, expect_head: "str | None | object" = _ANY) -> Iterator[RepoLock]:
        """The repository lock; waits ``ANNOVER_LOCK_TIMEOUT`` seconds (default 60) for it.

        With ``expect_head`` (the HEAD version a command started from, see :meth:`begin_write`),
        refuses like a non-fast-forward when another command committed a version meanwhile.
        A write the machine refuses within is taken back and raised as a NotWritableError (exit 6).
        """
        if timeout is None:
            timeout = lock_timeout()
        with RepoLock(self.dir / "lock", timeout) as held:
            self._killed = self._killed or held.inherited
            self._moved, self._locked = None, self._locked + 1
            try:
                yield from self._locked_body(held, expect_head)
            finally:
                self._locked -= 1

    def _locked_body(self, held: RepoLock, expect_head: "str | None | object") -> Iterator[RepoLock]:
        """:meth:`lock`'s body, the lock held: HEAD checked, a refused write taken back."""
        if expect_head is not _ANY:
            self.check_unmoved(expect_head)  # type: ignore[arg-type]
        try:
            yield held
        except KeyboardInterrupt:  # Ctrl-C: what it wrote that no commit names goes now, not at the next write
            self._undo_refused_write()
            raise
        except OSError as e:  # a write refused: taken back, and told as annover's error (exit 6)
            if e.errno not in REFUSED:
                raise
            self._undo_refused_write()
            raise not_writable(e) from e

    def _undo_refused_write(self) -> None:
        """A write the machine refused (a full disk, a quota, a file-size limit, a read-only DVC
        cache), or a commit git refused (a ``reference-transaction`` hook, a signature it cannot
        make), stopped a command holding the lock: what it wrote that no commit names goes (its
        objects in the working store, a version record, the DVC pointer), as the next command would
        after a kill, so that the space is free again and ``git status`` is as before. Best effort:
        what cannot be done now is done by the next command that repairs."""
        with contextlib.suppress(AnnoverError, OSError):
            self.recover(view=True)

    def settle(self) -> None:
        """See the committed state: repair what a killed command left (see :meth:`recover`).

        Only a killed command's leftovers are repaired: a writer's pid left in the lock file, or
        annover's markers in the git dir. git's index staging changes to annover's files with no
        such sign is the user's ``git add`` (or ``git rm --cached``, ``git reset --soft``): a read
        leaves the index and the work tree as they are and says so (:meth:`_say_staged`).
        Cheap when there is nothing to do (a look at the lock file and one ``git diff-index``,
        none when the index and HEAD are those last seen agreeing: :meth:`Git.index_agrees`).
        A live annover process holding the lock is left alone: it repairs what it finds.
        """
        if self.scm.in_progress():  # the user's merge or rebase holds annover's files: read, touch nothing
            return
        lock = RepoLock(self.dir / "lock", 0)
        try:
            if not (lock.left_by_dead_writer() or self.scm.interrupted()):
                self._say_staged()
                return
            with lock:
                self._killed = self._killed or lock.inherited
                self.recovered += self.recover(view=True)
        except (LockError, NotARepoError, GitError, OSError):
            return  # busy (a live writer), no git here, or a read-only copy: read what is there
        except AnnoverError as e:
            self.recovered.append(f"could not repair what an interrupted command left: {e}")

    def _say_staged(self) -> None:
        """Note (as ``ignored ...``, a warning) the changes to annover's files git's index stages
        against HEAD's commit, and what a ``git commit`` of them would do; the index stays."""
        reld = self.rel(self.dir)
        if self.scm.index_agrees(reld):
            return
        out = self.git("diff-index", "--cached", "--name-status", "--no-renames", "-z", "HEAD", "--", reld,
                       check=False).split("\0")
        staged = dict(zip(out[1::2], out[0::2]))  # path -> A, M, D...
        if not staged:
            return
        shown = ", ".join(sorted(staged)[:5]) + (f" and {len(staged) - 5} more" if len(staged) > 5 else "")
        gone = [p for p, st in staged.items() if st == "D" and "/versions/" in f"/{p}"]
        risk = f"; a `git commit` now would delete {len(gone)} version record(s) HEAD holds" if gone else ""
        self.recovered.append(f"ignored what git's index stages for annover's files ({shown}): annover reads "
                              f"its commits, not git's index{risk} — `git restore --staged -- {reld}` unstages "
                              "them (a write that commits one of them refuses until then)")

    def _check_born(self) -> None:
        """Refuse a git HEAD on a branch with no commit (``git checkout --orphan``) where annover's
        files name a version: they are staged there, not committed, so tags read as moved by hand
        and a version made there would start a second history. (Cheap: git's files say HEAD's
        commit; git is asked only when they do not. ``annover init`` opens a repository before its
        first commit, when no version is named yet.)"""
        if self.scm.head_oid() is None and (self.dir / "HEAD").is_file() and self.head_commit() is None:
            _check_not_orphan(self.toplevel)
            why = (f"git's repository {self.git_dir} has no commit, yet {self.rel(self.dir / 'HEAD')} names a "
                   "version: annover's files were committed in another git repository")
            if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
                raise git_elsewhere(why, " (or point {them} at this repository's)")
            raise NotARepoError(why, "work in the git repository that has annover's commits (a clone of it)")

    def _check_git_elsewhere(self) -> None:
        """Refuse (exit 6, before the repair :meth:`settle` does, which would remove this work tree's
        records as uncommitted) ``GIT_DIR`` / ``GIT_WORK_TREE`` set to another git repository than the
        one annover's files are committed in: this folder outside the work tree they name, this folder's
        own git dir (the one git finds from the folders alone, :func:`own_repository`) with another work
        tree (annover's paths would be others), or another git dir whose history has no record of the
        version ``.annover/HEAD`` names (with no version yet: of the ``.annover/config.json`` ``annover
        init`` committed). A version made there would start another history. Asked of git only where one
        of them is set; an empty one where HEAD names a version is :meth:`_check_born`'s. Set to this
        repository's, as git sets ``GIT_DIR`` for its hooks, or to a git dir that holds annover's
        commits: followed."""
        if "GIT_DIR" not in os.environ and "GIT_WORK_TREE" not in os.environ:
            return
        top = self.toplevel
        own_top, own_dir = own_repository(self.root) or (None, None)
        ours = own_dir is not None and _same_file(own_dir, self.git_dir)
        vid = self.refs.read("HEAD")
        if self.root != top and top not in self.root.parents:
            why = f"{self.root} is outside git's work tree {top}, where annover's files cannot be committed"
        elif ours and own_top != top:
            why = (f"git's work tree is {top}, not {own_top}, the one of its git dir {own_dir}: "
                   "annover's files would be read and committed under other paths")
        elif ours:
            return
        elif vid is None:  # no version yet: told by the config `annover init` committed
            head, config = self.head_commit(), self.rel(self.dir / "config.json")
            if head is not None and self.scm.show(head, config) is not None:
                return
            why = (f"git's repository {self.git_dir} has no {config} "
                   + ("in its HEAD commit" if head else "(it has no commit)")
                   + ", which `annover init` committed: annover's files are committed in another git repository")
        elif not is_version_id(vid) or self.head_commit() is None or self._record_in_git(vid)[1] is not None:
            return  # a HEAD file other checks name, an empty repository (_check_born), or one that has it
        else:
            why = (f"git's repository {self.git_dir} has no record of version {vid[:12]}, which {ANNOVER_DIR}/HEAD "
                   "names: annover's files are committed in another git repository")
        raise git_elsewhere(why, f" (git then finds this work tree's own, {own_dir})" if own_dir else
                            " (or point {them} at the git repository that has annover's commits)")

    def begin_write(self, what: str = "a new version") -> str | None:
        """The HEAD version a command that makes a version (or moves HEAD: ``what``) starts from;
        refuses a detached git HEAD, a merge or rebase under way, and a staged change to the files
        every new version commits (``HEAD``, ``objects.dvc``, ``.gitignore``), before any input is read
        (:meth:`Git.refuse_staged`)."""
        self.check_no_git_operation()
        self.check_on_branch()
        head = self.head_commit()
        if head:
            self.scm.refuse_staged(head, [self.rel(self.dir / f) for f in ("HEAD", "objects.dvc", ".gitignore")], what)
        return self.committed_head()

    def committed_head(self) -> str | None:
        """The version HEAD names in git's HEAD commit (the work tree's file may lag a killed command)."""
        head = self.head_commit()  # by its id: a file of a commit is read from git once a process (Git.blobs)
        data = self.scm.blobs([f"{head}:{self.rel(self.dir / 'HEAD')}"])[0] if head else None
        vid = (data or b"").decode(errors="replace").strip()
        if vid and not is_version_id(vid):  # never read as "no version": a merge would fast-forward over HEAD's
            raise self._bad_head(vid, committed=True)
        return vid or None

    def check_on_branch(self, what: str = "a version made here", instead: str = "") -> None:
        """Refuse to commit on a detached git HEAD: the version (``what``) would be on no branch;
        ``instead``: another way out, for the hint.

        *Design choice:* refuse rather than follow git (which commits there and warns on
        leaving): a version is named by a tag as soon as it is made, and a tag on a commit
        no branch holds is a version the next snapshot on the branch silently reverts.
        """
        self.check_hand_edits()  # every write takes it before anything: one function, here
        detached = self.detached(self.head() if self.scm.branch() is None else None)
        if detached is None:
            return
        at = detached["at"] and (f" at {detached['at']}" if detached["tagged"] else f" at version {detached['at']}")
        raise NotARepoError(f"git HEAD is detached{at}: {what} would be on no branch",
                            f"switch to a branch first: `git switch {detached['back_to']}` (or "
                            "`git switch -c NAME` to start one "
                            f"from here), then run the command again{instead}")

    def detached(self, head: str | None) -> dict | None:
        """Where git's HEAD is on no branch (``git checkout v1 && dvc pull``): ``at``, HEAD's version
        ``head`` as named (its first tag, else its short id; "" before any), ``tagged``, and ``back_to``,
        the branch to switch to; None on a branch (or before the first commit). Said by a refused write
        and by status."""
        if self.scm.branch() is not None or self.head_commit() is None:
            return None
        names = sorted(self.tags_of().get(head or "", []))
        as_checked_out = checked_out_as(self.toplevel)  # `git checkout v2`: v2, not another tag of the version
        names = [as_checked_out] if as_checked_out in names else names
        return {"at": names[0] if names else (head or "")[:12], "tagged": bool(names),
                "back_to": branch_back(self.toplevel)}

    def check_unmoved(self, start: str | None) -> None:
        """Refuse (like git's non-fast-forward) when HEAD is no longer ``start``, naming what landed."""
        now = self.committed_head()
        if now == start:
            return
        names = self.tags_of()
        landed = []
        for v in self.log(now, limit=20) if now else []:
            if v.id == start:
                break
            tag = sorted(names.get(v.id, []))
            title = v.message.splitlines()[0] if v.message else ""
            landed.append(f"{tag[0] if tag else v.id[:12]} ({v.id[:12]}{', ' + repr(title) if title else ''})")
        what = ", ".join(landed) or f"version {now[:12] if now else '(none)'}"
        base = start[:12] if start else "no version"
        raise LockError(f"HEAD moved while this command was reading: {what} landed meanwhile (it started from {base})",
                        f"a version holds a full state, so this one would undo theirs: see `annover diff "
                        f"{start[:12] if start else now} HEAD`, include their labels in your input (export again "
                        f"from the labeling tool), and run the command again")

    # ------------------------------------------------------------------ versions

    def head(self) -> str | None:
        """The version ``.annover/HEAD`` names (None: no version yet); ObjectError naming the file
        when it holds something else (an edit by hand, a conflict marker)."""
        vid = self.refs.read("HEAD")
        if vid is None and not (self.dir / "HEAD").exists():
            self._check_head_not_deleted()
        if vid is not None and not is_version_id(vid):
            self.check_no_git_operation()  # a merge's conflict in .annover/HEAD, say
            path = self.rel(self.dir / "HEAD")
            committed = self.head_commit() is not None and (self.scm.show("HEAD", path) or "").strip() == vid
            raise self._bad_head(vid, committed)
        return vid

    def check_hand_edits(self) -> str | None:
        """The version ``.annover/HEAD`` names, refusing (ObjectError, exit 8: the file named with
        the ``git checkout`` that restores it) the annover files a write would commit over when
        they were edited or deleted by hand in the work tree: ``.annover/HEAD`` (see :meth:`head`)
        and HEAD's version record, which git's HEAD commit holds. Taken by every command that
        commits (:meth:`check_on_branch`, :meth:`begin_write`) before it reads its input or takes
        the lock, whose repair (:meth:`recover`) would otherwise put the files back in silence."""
        vid = self.head()
        if vid is None or self.version_path(vid).is_file():
            return vid
        path = self.rel(self.version_path(vid))
        commit = self.head_commit()
        if commit is not None and not self.scm.in_progress() and self.scm.show(commit, path):
            raise ObjectError(f"{path}, the record of HEAD's version {vid[:12]}, is missing, and git's HEAD commit "
                              "has it (deleted by hand?)", f"restore it from git: git checkout HEAD -- {path}")
        return vid

    def _check_head_not_deleted(self) -> None:
        """ObjectError when ``.annover/HEAD`` is not in the work tree but git's HEAD commit has it
        (deleted by hand): read as 'no versions yet', the versions would look gone. Asked of git
        once per commit (a repository with no version yet has no HEAD file either)."""
        commit = self.scm.head_oid() or self.head_commit()
        if commit is None or commit == self._no_head_at:
            return
        path = self.rel(self.dir / "HEAD")
        if self.scm.in_progress() or not (self.scm.show(commit, path) or "").strip():
            self._no_head_at = commit
            return
        raise ObjectError(f"{path} is missing, and git's HEAD commit has it (deleted by hand?)",
                          f"restore it from git: git checkout HEAD -- {path}")

    def _bad_head(self, text: str, committed: bool) -> ObjectError:
        """``.annover/HEAD`` holding ``text``, not a version id: edited by hand (``git checkout``
        restores it), or so in git's HEAD commit (a git merge committed with its conflict markers)."""
        path = self.rel(self.dir / "HEAD")
        if not committed:
            return ObjectError(f"{path} holds {text[:80]!r}, not a version id (edited by hand, or a conflict)",
                               f"restore it from git: git checkout HEAD -- {path}")
        return ObjectError(f"{path} holds {text[:80]!r} in git's HEAD commit, not a version id (a git merge "
                           "committed with its conflict markers, or an edit committed by hand)",
                           "take that commit back (`git reset --hard HEAD~1`, or `git revert -m 1 HEAD` once pushed) "
                           "and join the branches with `annover merge BRANCH`")

    def version_path(self, vid: str) -> Path:
        return self.dir / "versions" / f"{vid}.json"

    def version(self, vid: str) -> Version:
        """Version ``vid``'s record: from the work tree, else from the git commit that holds it."""
        if not is_version_id(vid):
            self.check_no_git_operation()  # a merge's conflict in .annover/HEAD, say
            raise ObjectError(f"{vid[:80]!r} is not a version id", "restore the record or ref that names it from git")
        p = self.version_path(vid)
        source = None
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            source, data = self._record_in_git(vid)
            if data is None:
                raise RevisionError(f"version {vid[:12]} has no record here ({self.rel(p)}) nor in git's history",
                                    "fetch the git history that has it (git fetch --tags)") from None
        try:
            record = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ObjectError(f"version record {vid[:12]} is not JSON: {e}",
                              f"restore it from git: git checkout HEAD -- {self.rel(p)}") from None
        if C.json_digest(record) != vid:
            raise ObjectError(f"version record {vid[:12]} does not match its id (edited or corrupt)",
                              f"restore it from git: git checkout HEAD -- {self.rel(p)}")
        v = Version(vid, record, config_text=lambda: self.config_text(vid))
        if source:  # its ancestors' records are in the same tree
            for pid in v.parents:
                self._record_hint.setdefault(pid, source)
        return v

    def record_at(self, vid: str, commit: str) -> None:
        """Say that ``commit``'s tree holds version ``vid``'s record (its own commit, as ``status`` knows each
        reachable version's): :meth:`version` reads it there, not after a ``git log`` for the commit adding it."""
        self._record_hint.setdefault(vid, commit)

    def _record_in_git(self, vid: str) -> tuple[str | None, bytes | None]:
        """(commit, record bytes) of ``vid`` from git: a commit known to hold it, else the one that added it."""
        path = self.rel(self.version_path(vid))
        try:
            commit = self._record_hint.get(vid) or self.scm.commit_adding(path, everywhere=True)
            data = self.scm.blobs([f"{commit}:{path}"])[0] if commit else None
        except (NotARepoError, GitError):
            return None, None
        return (commit, data) if data is not None else (None, None)

    def version_ids(self) -> list[str]:
        d = self.dir / "versions"
        return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []

    def _version_ids_in_git(self) -> list[str]:
        """Ids of every version record any git ref's history, or a reflog, added (for short ids of
        versions not checked out; a version a ``git reset`` dropped, as ``git show SHA`` finds it)."""
        vdir = self.rel(self.dir / "versions")
        try:
            out = self.scm.run("log", "--all", "--reflog", "-c", "--format=", "--name-only", "--diff-filter=A",
                               "--", vdir, check=False)  # -c: with the records merge commits add
        except NotARepoError:
            return []
        ids = {Path(ln).stem for ln in out.splitlines() if ln.endswith(".json")}
        return sorted(i for i in ids if is_version_id(i))

    def tags(self) -> dict[str, str]:
        """``{tag: version id}``, whatever is checked out: git's tags (the version HEAD names in the
        tagged commit), and annover's tag files for names git does not have (yet). Read each time,
        but once within :meth:`held_tags`."""
        if not self._holding:
            return self._read_tags()
        if self._held_tags is None:
            self._held_tags = self._read_tags()
        return dict(self._held_tags)

    @contextlib.contextmanager
    def held_tags(self) -> Iterator[None]:
        """Within: the tags read once and kept, for a command that only reads and asks for them
        several times (``status``: every tag file and git tag read and checked three times), and
        git's tags (:meth:`git_tag_commits`: every tag ref read twice) likewise."""
        self._holding, self._held_tags, self._held_commits = True, None, None
        try:
            yield
        finally:
            self._holding, self._held_tags, self._held_commits = False, None, None

    def git_tag_commits(self) -> dict[str, str]:
        """git's tags, ``{name: the commit it names}`` (:meth:`Git.tag_commits`): read each time, but
        once within :meth:`held_tags`."""
        if not self._holding:
            return self.scm.tag_commits()
        if self._held_commits is None:
            self._held_commits = self.scm.tag_commits()
        return dict(self._held_commits)

    @contextlib.contextmanager
    def tags_of_versions(self, vids: "Iterable[str]" = ()) -> Iterator[None]:
        """Within: git's tags checked (the version their commit holds read) only where they can
        name one of ``vids`` (the versions a command prints; :meth:`shown` adds more) or are
        asked for by name (a revision :meth:`resolve` is given): a git tag whose tag file, here or
        in HEAD's commit, names one of them, one with no tag file or whose file differs from
        HEAD's, one on HEAD's commit or on the commit of a tag checked. Every tag file is still
        compared with HEAD's. :meth:`tags_of` and :meth:`moved_tags` answer for those (``log -n``
        and ``show``: every tag was read and checked, 0.3 ms a version); the tag files are read
        once for the block. Outside, every git tag is checked."""
        self._scope, self._scope_files, self._moved = (set(vids), set()), None, None
        try:
            yield
        finally:
            self._scope, self._scope_files, self._moved = None, None, None

    def shown(self, *vids: str) -> None:
        """Within :meth:`tags_of_versions`: ``vids`` are printed too (their tags are wanted)."""
        if self._scope is not None and not set(vids) <= self._scope[0]:
            self._scope[0].update(vids)
            self._moved = None

    def _asked_for(self, name: str) -> None:
        """Within :meth:`tags_of_versions`: tag ``name`` is asked for by name."""
        if self._scope is not None and name not in self._scope[1]:
            self._scope[1].add(name)
            self._moved = None

    def _read_tags(self, files: "dict[str, str] | None" = None, at_head: "dict[str, str] | None" = None
                   ) -> dict[str, str]:
        """:meth:`tags`, of the tag files ``files`` when read already; the git tags checked (every
        one, or within :meth:`tags_of_versions` those :meth:`_wanted` keeps, given HEAD's tag files
        ``at_head``) are left in ``_git_tags``."""
        out = dict(self.refs.tags() if files is None else files)
        for name in self.refs.rejected:
            note = f"ignored .annover/refs/tags/{name}: not a valid tag name or version id"
            if note not in self.recovered:
                self.recovered.append(note)
        try:
            commits = {n: c for n, c in self.git_tag_commits().items() if is_tag_name(n)}
        except (NotARepoError, GitError):
            self._git_tags = {}
            return out
        scoped = self._scope is not None and at_head is not None
        checked = self._wanted(commits, out, at_head or {}) if scoped else commits
        head = self.scm.head_oid() if scoped else None  # tags on HEAD's commit come free with it
        self._versions_at({*checked.values(), *([head] if head else [])})
        if scoped:  # and those on a commit read for another tag
            checked = {n: c for n, c in commits.items() if n in checked or c in self._version_at}
        self._git_tags = checked
        for name, c in checked.items():
            vid = self._version_at.get(c)
            if vid:
                out[name] = vid
                self._record_hint.setdefault(vid, c)
        return out

    def _versions_at(self, commits: "set[str]") -> None:
        """Read the version each of ``commits`` holds (its ``.annover/HEAD``) into ``_version_at``,
        those not read before, in one git call."""
        todo = sorted(c for c in commits if c not in self._version_at)
        head_path = self.rel(self.dir / "HEAD")
        for c, data in zip(todo, self.scm.blobs([f"{c}:{head_path}" for c in todo]) if todo else []):
            vid = (data or b"").decode("ascii", errors="replace").strip()
            self._version_at[c] = vid if is_version_id(vid) else None

    def _wanted(self, commits: dict[str, str], files: dict[str, str], at_head: dict[str, str]) -> dict[str, str]:
        """The git tags :meth:`tags_of_versions` checks: any whose tag file (here or in HEAD's
        commit) names a version printed, is asked for, has no tag file or one differing from
        HEAD's, or whose commit was read; the others name what their tag file says, not printed."""
        assert self._scope is not None
        vids, names = self._scope
        return {n: c for n, c in commits.items()
                if n in names or c in self._version_at or files.get(n) is None or files.get(n) != at_head.get(n)
                or files[n] in vids}

    def _tag_files(self) -> "tuple[dict[str, str], dict[str, str]]":
        """(the tag files here, ``{name: text}`` of those HEAD's commit holds): the names and blob
        ids of one ``git ls-tree``, a blob read only where its id is not that of the file here
        (kept within :meth:`tags_of_versions`)."""
        if self._scope is not None and self._scope_files is not None:
            return self._scope_files
        files = self.refs.tags()
        listed = self._tag_blobs_at_head()
        at_head = {n: files[n] for n, oid in listed.items()
                   if n in files and self.scm.blob_id(f"{files[n]}\n".encode(), oid) == oid}
        rest = sorted(n for n in listed if n not in at_head and listed[n] not in self._blob_texts)
        for n, data in zip(rest, self.scm.blobs([listed[n] for n in rest]) if rest else []):
            if data is not None:  # a blob never changes: kept by its id
                self._blob_texts[listed[n]] = data.decode("ascii", "replace").strip()
        at_head.update({n: self._blob_texts.get(oid, "") for n, oid in listed.items() if n not in at_head})
        if self._scope is not None:
            self._scope_files = (files, at_head)
        return files, at_head

    def _tag_blobs_at_head(self) -> dict[str, str]:
        """``{name: blob id}`` of the tag files git's HEAD commit holds (one ``git ls-tree``), kept by
        the commit's id (a commit never changes; HEAD's moves are seen as another id)."""
        head = self.scm.head_oid()
        if head is not None and head in self._listed_at:
            return self._listed_at[head]
        tag_dir = self.rel(self.dir / "refs" / "tags")
        listed: dict[str, str] = {}
        out = run_git(["--literal-pathspecs", "ls-tree", "-r", "-z", head or "HEAD", "--", f"{tag_dir}/"],
                      self.toplevel, check=False)
        for rec in out.decode("utf-8", "replace").split("\0"):
            meta, tab, path = rec.partition("\t")
            parts = meta.split()
            if tab and len(parts) == 3 and parts[1] == "blob" and path.startswith(f"{tag_dir}/"):
                listed[path[len(tag_dir) + 1:]] = parts[2]
        if head is not None and listed:  # an empty answer may be git's failure: asked again next time
            self._listed_at[head] = listed
        return listed

    def resolve_all(self, *revs: str) -> list[str]:
        """:meth:`resolve` of each revision, git's tags read once for them all (a diff's two)."""
        if len(revs) < 2:
            return [self.resolve(r) for r in revs]
        tags = self._current_tags()
        return [self._resolve(r, tags) for r in revs]

    def _current_tags(self) -> dict[str, str]:
        """:meth:`tags`, read by :meth:`moved_tags` when it has not looked yet (or keeps nothing), else read now."""
        fresh = self._moved is None or not self._keeps_moved()  # moved_tags() reads the tags (as tags() would) once
        self.moved_tags()
        if self._scope is not None:  # read once for the block
            return self._tags_read
        if fresh and self._holding and self._held_tags is None:
            self._held_tags = dict(self._tags_read)
        return self._tags_read if fresh else self.tags()

    def resolve(self, rev: str = "HEAD") -> str:
        """A version id from a tag, a full or unique short id, HEAD, and ~N / ^ suffixes."""
        return self._resolve(rev, None)

    def _resolve(self, rev: str, tags: "dict[str, str] | None") -> str:
        """:meth:`resolve` with git's tags as ``tags`` (None: read them)."""
        if rev is None:
            rev = "HEAD"
        if not isinstance(rev, str):
            raise RevisionError(f"revision {rev!r} is not text", "give a tag, a version id or HEAD, as a string")
        rev = rev.strip()
        if not rev:
            raise RevisionError("an empty revision", "give a tag, a version id or HEAD")
        m = _REV_RE.match(rev)
        base, ops = (m.group("base"), m.group("ops")) if m else (rev, "")
        if base in ("HEAD", "@"):
            vid = self.head()
            if vid is None:
                raise RevisionError("no versions yet (HEAD is empty)", "make one with `annover snapshot`")
        else:
            self._asked_for(base)
            tags = self._current_tags() if tags is None else tags
            vid = tags.get(base) or self._by_prefix_or_none_yet(base, rev)
            if base in tags:
                self._warn_if_branch(base, vid)
            moved = next((m for m in self._moved_just_read() if m.name == base), None)
            if moved is not None:
                raise RevisionError(moved.describe(self), moved.fix())
        for op, n in re.findall(r"([~^])(\d*)", ops):  # ~N: N first parents back; ^N: parent N (of a merge)
            count = int(n) if n else 1
            for nth in [1] * count if op == "~" else [count] if count else []:  # ^0: the version itself
                vid = self._parent(vid, nth, rev)
        return vid

    def _warn_if_branch(self, name: str, vid: str) -> None:
        """Warn (once per name) that tag ``name`` is also a git branch's name: annover reads the tag, as
        git does, where a git user may have meant the branch (git says ``refname 'v3' is ambiguous``)."""
        if name in self._ambiguity_checked:
            return
        self._ambiguity_checked.add(name)
        branch = next(iter(self.scm.branches_named(name)), None)
        if branch is not None:
            kind = "branch" if branch.startswith("refs/heads/") else "remote-tracking branch"
            fix = f"`git branch -m {name} NEW` renames the branch" if kind == "branch" else \
                f"`git branch -dr {name}` deletes it"
            warnings.warn(f"refname '{name}' is ambiguous: tag {name} (version {vid[:12]}) and git {kind} {branch}; "
                          f"annover reads the tag, as git does ({fix})", AmbiguousRevisionWarning, stacklevel=4)

    def _parent(self, vid: str, nth: int, rev: str) -> str:
        """Version ``vid``'s parent ``nth`` (1: the first, HEAD's side of a merge; 2: the merged one), as
        git's ``^N`` names a commit's, by the versions' own parents (a tag's commit between is none)."""
        parents = self.version(vid).parents
        if len(parents) >= nth:
            return parents[nth - 1]
        if not parents:
            raise RevisionError(f"{rev}: {vid[:12]} has no parent", "use a smaller number after ~ or ^")
        raise RevisionError(f"{rev}: {vid[:12]} has {len(parents)} parent{'s' if len(parents) > 1 else ''}, "
                            f"not {nth}", "^2 is a merge's second parent (the merged branch's version); "
                            "see `annover show` for a version's parents")

    def _by_prefix_or_none_yet(self, prefix: str, rev: str) -> str:
        """:meth:`_by_prefix`; in a repository with no version yet, what it cannot find is said to be
        that (as `annover show` says it), not an "unknown revision" that sends the user looking for a tag."""
        try:
            return self._by_prefix(prefix, rev)
        except RevisionError:
            if self.head() is not None:
                raise
            raise RevisionError(f"no versions yet (HEAD is empty), so no revision {rev!r}",
                                "make one with `annover snapshot`") from None

    def _by_prefix(self, prefix: str, rev: str) -> str:
        """The version whose id starts with ``prefix``, else the one HEAD was at in git
        revision ``prefix`` (a branch, a commit: what a load by URL takes)."""
        hits: list[str] = []
        if re.fullmatch(r"[0-9a-f]{4,64}", prefix):
            hits = [v for v in self.version_ids() if v.startswith(prefix)]
            if not hits:  # a version not checked out: ask git's history
                hits = [v for v in self._version_ids_in_git() if v.startswith(prefix)]
        if not hits:
            return self._at_git_rev(prefix, rev)
        if len(hits) > 1:
            raise RevisionError(f"ambiguous revision {rev!r}: {', '.join(h[:12] for h in hits[:5])}",
                                "give more digits of the id")
        return hits[0]

    def _at_git_rev(self, name: str, rev: str) -> str:
        """The version HEAD was at in git revision ``name``; RevisionError when git has none."""
        commit = self.scm.rev_parse(name)
        if commit is None:
            raise RevisionError(f"unknown revision {rev!r}", self._near_tags(name) + "use a tag (annover log shows "
                                "them), a version id, a git branch or commit, HEAD or HEAD~N")
        vid = (self.scm.show(commit, self.rel(self.dir / "HEAD")) or "").strip()
        if not is_version_id(vid):
            raise RevisionError(f"git revision {rev!r} ({commit[:12]}) holds no annover version",
                                "name a later commit, a tag or a version id (see `annover log`)")
        return vid

    def _near_tags(self, name: str) -> str:
        """The start of an unknown revision's hint: the tag it may have meant (another case, a typo), or,
        for a ``vN`` past the numbers given, the highest one ("" when nothing is near)."""
        tags = sorted(self._current_tags(), key=tag_order)
        by_lower = {t.lower(): t for t in tags}
        near = [by_lower[m] for m in difflib.get_close_matches(name.lower(), list(by_lower), n=2, cutoff=0.75)]
        if near:
            return f"did you mean {' or '.join(near)}? "
        numbers = [n for n in map(version_number, tags) if n is not None]
        wanted = version_number(name.lower())
        if wanted is not None and numbers and wanted > max(numbers):
            return f"the versions are numbered up to v{max(numbers)}; "
        return ""

    def show(self, rev: str = "HEAD") -> Version:
        return self.version(self.resolve(rev))

    def log(self, rev: str = "HEAD", limit: int | None = None) -> list[Version]:
        """Versions reachable from ``rev``, newest first (all parents, like ``git log``), each after its
        children (:func:`date_order`; with ``limit``, the newest walked first: a version made in its child's
        second may come before another child of it)."""
        if rev == "HEAD" and self.head() is None:
            return []
        start = self.version(self.resolve(rev))
        out: list[Version] = []
        seen = {start.id}
        heap = [(newest_first(start.created_at), start.id, start)]
        while heap and (limit is None or len(out) < limit):
            _, _, v = heapq.heappop(heap)
            out.append(v)
            for pid in v.parents:
                if pid not in seen:
                    seen.add(pid)
                    p = self.version(pid)
                    heapq.heappush(heap, (newest_first(p.created_at), p.id, p))
        return out if limit is not None else date_order(out)

    def check_objects_here(self, v: Version, rev: str) -> None:
        """ObjectError (with ``annover pull REV``) when the local store lacks any object of version ``v``."""
        try:  # the manifest itself not here (a version never pulled) says the same pull
            missing = [r for r in self.objects_of(v) if not self.store.has(r)]
        except ObjectError as e:
            raise missing_objects(e, rev, v.id) from None
        if missing:
            raise ObjectError(f"{len(missing)} object(s) of {self.name_of(v.id, True)} are not here",
                              f"fetch them first: annover pull {rev}")

    def name_of(self, vid: str | None, with_id: bool = False, tags: "dict[str, list[str]] | None" = None) -> str:
        """A version as people name it: its first tag (in sort order), else its short id; with
        ``with_id``, ``v3 (0123456789ab)``. ``tags``: :meth:`tags_of`, when the caller has it."""
        names = sorted((tags if tags is not None else self.tags_of()).get(vid or "", []))
        short = (vid or "")[:12]
        return (f"{names[0]} ({short})" if with_id else names[0]) if names else short

    def tags_of(self) -> dict[str, list[str]]:
        """version id -> its tag names."""
        out: dict[str, list[str]] = {}
        for name, vid in self._current_tags().items():  # with moved_tags(), in one read
            out.setdefault(vid, []).append(name)
        return out

    def moved_tags(self) -> list["MovedTag"]:
        """Tags moved outside annover: git's tag moved (``git tag -f``) away from the version annover
        recorded for it (the tag file as the newest commit on any ref that wrote it left it: a
        snapshot's, or ``annover tag``'s), or its file under ``refs/tags/`` changed or added by hand
        and not committed (within :meth:`tags_of_versions`: the git tags of the versions printed).
        Where git's tags agree with HEAD's tag files, one ``ls-tree`` of HEAD's tag files and one
        batch read of the tagged commits' HEAD files; else also one walk of the tag files' history."""
        if self._moved is not None and self._keeps_moved():
            return self._moved
        tag_dir = self.rel(self.dir / "refs" / "tags")

        def text(data: bytes | None) -> str:
            return (data or b"").decode("ascii", "replace").strip()

        try:  # HEAD's tag files (one ls-tree), git's tags and the version each tagged commit holds
            files, at_head = self._tag_files()
            self._tags_read = self._read_tags(files, at_head)
            git_tags = self._git_tags
            recorded = {n: at_head.get(n, "") for n in git_tags}
            deleted: set[str] = set()
            if any(recorded[n] != self._version_at.get(c) for n, c in git_tags.items()):
                changes = {p[len(tag_dir) + 1:]: b for p, b in self.scm.last_changes(tag_dir).items()}
                deleted = {n for n, b in changes.items() if b is None and n not in files}  # by annover tag -d
                last = {n: b for n, b in changes.items() if b}
                recorded = {n: text(d) for n, d in zip(last, self.scm.blobs(list(last.values())))}
        except (NotARepoError, GitError):
            return []
        moved = self._clashes(git_tags, at_head)
        for name, commit in sorted(git_tags.items()):
            was, now = recorded.get(name), self._version_at.get(commit)
            if name in moved:
                continue
            if was and is_version_id(was) and now != was:
                moved[name] = MovedTag(name, was, now, "git", commit)
            elif name in deleted and now:
                moved[name] = MovedTag(name, None, now, "deleted", commit)
        for name in sorted(files):
            was = at_head.get(name, "")
            if was != files[name]:  # changed, or added, by hand
                moved.setdefault(name, MovedTag(name, was if is_version_id(was) else None, files[name], "file"))
        self._moved = list(moved.values())
        return self._moved

    def _clashes(self, git_tags: dict[str, str], at_head: dict[str, str]) -> dict[str, "MovedTag"]:
        """The version numbers two branches gave out alike: git's tag ``vN`` names a version this branch
        does not have (made on another branch, not merged), while HEAD's tag file gives ``vN`` to another
        (a ``git pull`` brought a teammate's ``vN`` over one made here). Read through, ``vN`` would be this
        clone's own version where every other clone's is the teammate's. Asked of git only where they differ."""
        head = None
        out: dict[str, MovedTag] = {}
        for name, commit in sorted(git_tags.items()):
            said, now = at_head.get(name, ""), self._version_at.get(commit)
            if version_number(name) is None or not is_version_id(said) or not now or now == said:
                continue
            head = head or self.scm.head_oid()
            if head and not self.scm.merge_base_is(commit, head):
                made_on = self.scm.refs_containing(commit, "refs/heads", short=True)
                out[name] = MovedTag(name, said, now, "clash", commit, made_on[0] if made_on else None,
                                     (self.scm.branch() or "").removeprefix("refs/heads/") or None)
        return out

    def _keeps_moved(self) -> bool:
        """Whether :meth:`moved_tags` answers with what it read before: within a command (the lock held,
        :meth:`tags_of_versions`, :meth:`held_tags`). Outside, each call reads again: a ``Repo`` kept open
        (a notebook's) sees a ``git tag -f``, an ``annover tag --force`` made beside it in a terminal."""
        return self._locked > 0 or self._scope is not None or self._holding

    def _moved_just_read(self) -> list["MovedTag"]:
        """:meth:`moved_tags` as :meth:`_current_tags` just read it (with the tags a revision was resolved by)."""
        return self._moved if self._moved is not None else self.moved_tags()

    # ------------------------------------------------------------------ tables

    def read_table(self, rev: str = "HEAD", table: str = "annotations", model_version: str | None = None,
                   columns: list[str] | None = None, keys: "pa.Array | None" = None) -> "pa.Table":
        """One table of a version as a pyarrow Table (predictions: all model versions, or one);
        ``keys``: only the rows of those tasks (see :func:`read_version_table`)."""
        if table not in C.TABLES:
            raise UsageError(f"unknown table {table!r}", f"use one of {', '.join(C.TABLES)}")
        v = self.show(rev)
        try:
            return read_version_table(self.store, v, table, model_version, columns, keys)
        except ObjectError as e:  # a version given by its whole id (as the loop's commands pass it) named by its tag
            raise missing_objects(e, rev if rev != v.id else self.name_of(v.id), v.id) from None

    def config_text(self, rev: str = "HEAD") -> str | None:
        v = self.show(rev)
        ref = v.config_ref
        return self.store.get(ref, "labeling config").decode("utf-8") if ref else None

    def objects_of(self, v: Version) -> list[ObjectRef]:
        """Every object version ``v`` needs (manifests, parts, config)."""
        refs: list[ObjectRef] = []
        for name in ("tasks", "annotations"):
            s = v.snapshot(name)
            if s:
                refs += object_refs(self.store, s)
        for mv in v.model_versions:
            refs += object_refs(self.store, v.snapshot("predictions", mv))
        if v.config_ref:
            refs.append(v.config_ref)
        files = (v.record.get("source") or {}).get("files")
        if files:  # the {relpath: sha256} listing of the source data
            refs.append(ObjectRef.from_json(files))
        seen, out = set(), []
        for r in refs:
            if r.oid not in seen:
                seen.add(r.oid)
                out.append(r)
        return out

    # ------------------------------------------------------------------ commits

    def author(self) -> str:
        return self.scm.author()

    def head_commit(self) -> str | None:
        return self.scm.head_commit()

    def commit(self, files: dict[str, bytes | Path | None], message: str, expected: str | None,
               what: str = "a version made here", *, base: str | None = None, merged: tuple[str, ...] = ()) -> str:
        """Commit exactly ``files`` (paths relative to the git top level) on top of HEAD.

        Content is bytes (written to git, then to the work tree), a Path (taken from the
        work tree) or None (deleted). Uses a private index, so the user's staged changes
        stay out of it; HEAD moves only if it is still ``expected`` (compare-and-swap).
        Refused on a detached git HEAD (see :meth:`check_on_branch`; ``what`` names what is committed).
        A commit git refuses takes back what the command wrote for it (:meth:`_undo_refused_write`).
        A merge commit: ``merged``, its other parents; ``base``, the merged tree ``files`` go over
        (see :meth:`annover.store.git.Git.commit`).
        """
        self.check_on_branch(what)
        try:
            return self.scm.commit(files, message, expected, stage=maybe_die, base=base, merged=merged)
        except GitError:  # refused by git (a reference-transaction hook, a signature it cannot make)
            self._undo_refused_write()
            raise

    def recover(self, view: bool = False) -> list[str]:
        """Repair what an interrupted command left behind (run under the lock); what it did.

        ``view``: also make the working store hold exactly HEAD's objects again (a killed
        snapshot may have pruned it for a version that was never committed).

        git's HEAD commit is the truth: annover's tracked files in the work tree are reset to
        it, records and tags it does not have removed, stale private-index files removed,
        git's index made to agree with it for annover's files (a sync cut short leaves it
        staging the deletion of the new version), and missing git tags made.
        """
        self.check_no_git_operation()
        notes: list[str] = []
        reld = self.rel(self.dir)
        killed = self._killed or self.scm.interrupted()
        if self.scm.clear_private_index():
            notes.append("removed the private index of an interrupted commit")
        if self.scm.finish_interrupted_sync(reld):
            notes.append("finished an interrupted index update")
        if self.scm.finish_interrupted_checkout():
            notes.append("put back as HEAD has them the files an interrupted merge was bringing in")
        head = self.head_commit()
        if head is None:
            return notes
        tracked = self.scm.ls_tree(head, reld)
        prefix = f"{reld}/refs/" if reld != "." else "refs/"
        wanted: dict[str, str | None] = {}
        for sub in ("HEAD", "objects.dvc", ".gitignore"):
            path = f"{reld}/{sub}" if reld != "." else sub
            wanted[path] = tracked.get(path)
        wanted.update({p: b for p, b in tracked.items()
                       if p.startswith(prefix) and ".." not in p.split("/")})  # git's trees can hold ".." names
        present = {p: b for p, b in wanted.items() if b is not None}
        contents = dict(zip(present, self.scm.blobs(list(present.values()))))
        # a tag file changed by hand is the user's move, reported (moved_tags), never put back;
        # after a killed command (it held the lock, or left git's markers) it is a half-done write
        for path, blob in wanted.items():
            target = self.toplevel / path
            if not killed and path.startswith(prefix) and target.is_file():
                continue
            if blob is None:
                if path.endswith("/HEAD") or path == "HEAD":
                    if target.exists():
                        target.unlink()
                        notes.append("removed an uncommitted HEAD")
                continue
            data = contents.get(path)
            if data is not None and (not target.exists() or (target.read_bytes() != data
                                                              and not self.scm.reads_as(path, blob))):
                write_atomic(target, data)
                notes.append(f"restored {path} from the last commit")
        notes += self._remove_uncommitted(tracked, killed)
        if self.scm.sync_index(reld):
            notes.append("made git's index agree with the last commit for annover's files (it staged changes "
                         "to them: a `git add` of annover's files, or a command interrupted while updating it)")
        committed = {p[len(prefix) + len("tags/"):]: (contents.get(p) or b"").decode("ascii", "replace").strip()
                     for p in wanted if p.startswith(prefix + "tags/")}
        notes += self.ensure_git_tags(committed)
        self._moved = None
        if view:
            notes += self._restore_view()
        return notes

    def _remove_uncommitted(self, tracked: dict[str, str], killed: bool) -> list[str]:
        """Remove the records of versions that never got their commit and, after a killed
        command, the tags it left uncommitted and its temporary files; what was removed."""
        notes = []
        vdir = self.dir / "versions"
        if vdir.is_dir():
            for p in vdir.glob("*.json"):  # only annover's own names: a file of another name is not its to remove
                if is_version_id(p.stem) and self.rel(p) not in tracked:
                    p.unlink()
                    notes.append(f"removed the record of uncommitted version {p.stem[:12]}")
        if not killed:
            return notes
        notes += self._remove_temp_files()
        tag_dir = self.dir / "refs" / "tags"
        for p in tag_dir.rglob("*") if tag_dir.is_dir() else []:
            if p.is_file() and self.rel(p) not in tracked:
                p.unlink()
                notes.append(f"removed uncommitted tag {p.relative_to(tag_dir).as_posix()}")
        return notes

    def check_no_git_operation(self) -> None:
        """Refuse to write while git merges or rebases: its index and work tree are the user's,
        mid-way, and nothing there is to be repaired."""
        op = self.scm.in_progress()
        if not op:
            return
        reld = self.rel(self.dir)
        unmerged = self.git("diff", "--name-only", "--diff-filter=U", "--", reld, check=False).split()
        if unmerged:  # finished by hand, the conflict markers or one side's HEAD would be committed
            raise NotARepoError(f"git is in the middle of a {op} with conflicts in annover's files ({unmerged[0]})",
                                f"abort it (`git {op} --abort`); versions of two branches are joined by "
                                "`annover merge BRANCH`, task by task")
        raise NotARepoError(f"git is in the middle of a {op}", f"finish it (`git {op} --continue`, or `git commit` "
                            f"for a merge) or abort it (`git {op} --abort`), then run the command again")

    def _remove_temp_files(self) -> list[str]:
        """Remove the temporary files a write killed before its rename left (``.NAME.*.tmp``
        next to HEAD, objects.dvc, records and tags; git would list them as untracked)."""
        places = [self.dir, self.dir / "versions", *(p for p in (self.dir / "refs").rglob("*") if p.is_dir())]
        temps = [p for d in places if d.is_dir() for p in d.glob(".*.tmp") if p.is_file()]
        for p in temps:
            p.unlink(missing_ok=True)
        return [f"removed {len(temps)} temporary file(s) of an interrupted write"] if temps else []

    def _restore_view(self) -> list[str]:
        """The working store holds HEAD's objects and nothing else (what DVC's pointer lists).

        An object HEAD does not need is in the DVC cache (committed versions' objects are) or
        is a stray of a version never committed: either way it can go.
        """
        head = self.head()
        needed = {r.oid: r for r in self.objects_of(self.version(head))} if head else {}
        notes = []
        objdir = self.dir / "objects"
        strays = [f for f in objdir.glob("*/*") if f.parent.name + f.name not in needed] if objdir.is_dir() else []
        for f in strays:
            f.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                f.parent.rmdir()
        if strays:
            notes.append(f"removed {len(strays)} object(s) HEAD does not need from {self.rel(objdir)}")
        missing = 0
        for r in needed.values():
            if not self.store.path(r.oid).exists():
                try:
                    self.store.put(self.store.get(r))
                    missing += 1
                except ObjectError:
                    pass  # not here at all: `annover pull` fetches it, status counts it
        if missing:
            notes.append(f"put back {missing} object(s) of HEAD in {self.rel(objdir)} from the DVC cache")
        return notes

    def commit_of(self, vid: str) -> str | None:
        """The git commit that made version ``vid`` (on HEAD's history, else on any ref's): of those
        that added its record, the one :func:`made_it` picks, as push and pull take it. Their
        ``.annover/HEAD`` files are read only where there are several (one git call)."""
        path = self.rel(self.version_path(vid))
        adders = [c for c in self.scm.commits_adding(path) or self.scm.commits_adding(path, everywhere=True)
                  if self.made_by(vid, c)]
        if len(adders) < 2:
            return adders[0] if adders else None
        return made_it(vid, adders, dict(zip(adders, self.heads_at(adders))))

    def heads_at(self, commits: list[str]) -> list[str | None]:
        """The text of each commit's ``.annover/HEAD`` (None: none), stripped (one ``cat-file --batch``)."""
        path = self.rel(self.dir / "HEAD")
        return [None if b is None else b.decode("utf-8", "replace").strip()
                for b in self.scm.blobs([f"{c}:{path}" for c in commits])]

    def made_by(self, vid: str, commit: str) -> bool:
        """Whether ``commit``, which git says added version ``vid``'s record, did: not so for the
        boundary commit of a shallow clone (``git clone --depth 1``), which git shows adding every
        record its tree holds, unless its ``.annover/HEAD`` names ``vid``. (Tagged or checked out
        at it, an older version's objects would be the newer one's.)"""
        if commit not in self.scm.shallow():
            return True
        return (self.scm.show(commit, self.rel(self.dir / "HEAD")) or "").strip() == vid

    def ensure_git_tags(self, committed: dict[str, str] | None = None) -> list[str]:
        """Every annover tag HEAD's commit holds (``committed``: ``{name: version id}``, default the
        tag files) also exists as a git tag on the commit that made its version; what was made."""
        existing = self.scm.tag_commits()
        made = []
        for name, vid in (self.refs.tags() if committed is None else committed).items():
            if name in existing or not is_tag_name(name) or not is_version_id(vid):
                continue
            commit = self.commit_of(vid)
            if commit:
                self.scm.tag(name, commit, check=False)
                made.append(f"made the missing git tag {name}")
        return made


@dataclass(frozen=True)
class MovedTag:
    """A tag moved outside annover: the version annover ``recorded`` for it (None: none) and the
    one it names ``now`` (None: git's tag names a ``commit`` that holds no version), ``by`` git's
    tag (``git``), its tag file changed by hand (``file``), or git's tag left after ``annover tag
    -d`` deleted the tag in a commit pulled here (``deleted``)."""

    name: str
    recorded: str | None
    now: str | None
    by: str
    commit: str | None = None
    branch: str | None = None  # clash: the branch that made ``now``, and the one checked out (not in to_json)
    here: str | None = None

    def describe(self, repo: "RepoCore") -> str:
        def named(vid: str) -> str:
            try:
                title = repo.version(vid).message.splitlines()[0]
            except (AnnoverError, IndexError):
                title = ""
            return f"{vid[:12]}" + (f" ({title!r})" if title else "")

        now = named(self.now) if self.now else f"commit {(self.commit or '')[:12]}, which holds no version"
        if self.by == "deleted":
            return (f"tag {self.name} was deleted (`annover tag -d`, in a commit on a branch here), but git's tag "
                    f"{self.name} is left and names {now}")
        if self.by == "clash":
            return (f"tag {self.name} names two versions: this branch's record gives {self.name} to "
                    f"{named(self.recorded or '')}, git's tag {self.name} names {now}, made on "
                    f"{f'branch {self.branch}' if self.branch else 'another branch'} and not merged here "
                    f"(two branches numbered a version {self.name})")
        was = f"it was made for {named(self.recorded)}" if self.recorded else "annover never recorded it"
        if self.by == "git":  # a git tag -f here, or (in a team) an annover tag --force in another clone
            return (f"git's tag {self.name} does not name the version annover recorded (moved with git here, or "
                    f"by `annover tag --force` in another clone, which a git fetch does not follow): {was}, "
                    f"but git's tag names {now}")
        return (f"tag {self.name} was moved outside annover: {was}, but its file .annover/refs/tags/{self.name} "
                f"was changed by hand to {now}")

    def fix(self) -> str:
        if self.by == "clash":
            if not self.branch:
                return f"`annover tag --prune` deletes git's tag {self.name} of a version no branch has"
            here = self.here or "THIS-BRANCH"
            return (f"merge the other way, which renumbers {self.branch}'s {self.name}: `git switch {self.branch} && "
                    f"annover merge {here}`, then `git switch {here} && annover merge {self.branch}`; until then "
                    "name either version by its id")
        if self.by == "deleted":
            return (f"`git tag -d {self.name}` removes git's tag (`git fetch --prune --prune-tags` does so for every "
                    f"tag the git remote deleted), or `annover tag {self.name} REV --force` makes it again")
        keep = f"`annover tag {self.name} {self.now[:12]} --force` records the move" if self.now else ""
        back = f"`annover tag {self.name} {self.recorded[:12]} --force` puts it back" if self.recorded else ""
        fixes = ", or ".join(x for x in (keep, back) if x) or f"`annover tag {self.name} REV --force` says where it points"
        if self.by == "git":  # the usual cause in a team: the tag was moved on another machine
            fixes = ("if it was moved with `annover tag --force` elsewhere, `git fetch --tags --force` brings git's "
                     "tag up to date; else " + fixes)
        return fixes

    def to_json(self) -> dict:
        return {"name": self.name, "recorded": self.recorded, "now": self.now, "by": self.by, "commit": self.commit}


def missing_objects(e: ObjectError, rev: str, vid: str) -> ObjectError:
    """``e`` (an object missing or corrupt) said of version ``rev``, with the command that fetches it:
    ``annover pull REV`` (plain ``dvc pull`` fetches only the checked-out version's objects)."""
    name = rev if rev == vid[: len(rev)] else f"{rev} ({vid[:12]})"
    return ObjectError(f"version {name}: {e.message}",
                       f"run `annover pull {rev}` to fetch that version's objects from the DVC remote "
                       "(`annover pull` fetches every version HEAD and the tags reach, for a command that "
                       "reads several)")


def check_model_version(table: str, model_version: str | None) -> None:
    """Refuse a ``model_version`` given with a table other than predictions (it would be ignored)."""
    if model_version is not None and table != "predictions":
        raise UsageError(f"model_version={model_version!r} selects predictions, and table {table!r} has none",
                         "pass table='predictions' to read that model's predictions (or leave model_version out)")


def read_version_table(store: ObjectStore, v: Version, table: str, model_version: str | None = None,
                       columns: list[str] | None = None, keys: "pa.Array | None" = None) -> "pa.Table":
    """One table of version ``v`` read from ``store`` (predictions: all model versions, or one).
    ``keys`` (task keys): only those tasks' rows, as the whole table filtered to them, read
    from the parts that can hold them (:func:`annover.store.snapshots.read_snapshot`)."""
    if columns is not None:
        check_columns(table, columns)
        if not columns:  # the rows and no column, as pyarrow reads columns=[] (it gave every column)
            return read_version_table(store, v, table, model_version, ["task_key"], keys).select([])
    check_model_version(table, model_version)
    if table == "predictions":
        mvs = [model_version] if model_version is not None else v.model_versions
        if model_version is not None and model_version not in v.model_versions:
            raise UsageError(f"version {v.id[:12]} has no predictions of model_version {model_version!r}",
                             f"its model versions: {', '.join(v.model_versions) or 'none'}")
        parts = [read_snapshot(store, v.snapshot("predictions", mv), columns, keys) for mv in mvs]
        if not parts:
            s = C.schema("predictions")
            return s.empty_table().select(columns) if columns else s.empty_table()
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    ref = v.snapshot(table)
    if ref is None:
        s = C.schema(table)
        return s.empty_table().select(columns) if columns else s.empty_table()
    return read_snapshot(store, ref, columns, keys)


def touched_tasks(store: ObjectStore, va: Version, vb: Version, table: str = "annotations") -> "pa.Array | None":
    """Keys of the tasks whose rows of ``table`` may differ between ``va`` and ``vb``: those whose
    stored task hash (:data:`TASK_HASH`, one column of one row per task) the other side lacks;
    every other task has the same rows on both sides. None when the parts cannot tell (no
    stored hashes, or not this DuckDB's)."""
    sides = []
    for v in (va, vb):
        ref = v.snapshot(table)
        if ref is None:
            return None
        m = read_manifest(store, ref)
        if not hash_probe() or m.get("task_hash") != hash_probe():
            return None
        sides.append(read_layout(store, table, Layout.of(m), ["task_key", TASK_HASH]))
    a, b = sides
    return differing_tasks(a, a.column(TASK_HASH), b, b.column(TASK_HASH))


def check_columns(table: str, columns: Any) -> None:
    """Refuse ``columns`` that are not a list of the table's column names (a name the table does
    not have read as nothing, or as no rows at all, and a string as its letters)."""
    if isinstance(columns, str) or not isinstance(columns, (list, tuple)) or \
            not all(isinstance(c, str) for c in columns):
        raise UsageError(f"columns={columns!r} is not a list of column names", "e.g. columns=['task_key', 'labels']")
    known = C.schema(table).names
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise UsageError(f"table {table} has no column {unknown[0]!r}", f"its columns: {', '.join(known)}")


def date_order(versions: "list[Version]") -> "list[Version]":
    """Versions of one or several histories in log's order: newest first, then by id, and never a version
    before one of its children (two made within one second keep their history's order, as ``git log
    --date-order``): ``log --graph`` draws a line down to each parent."""
    by_id = {v.id: v for v in versions}
    rank = {t: i for i, t in enumerate(sorted({v.created_at for v in versions}, reverse=True))}
    waiting = dict.fromkeys(by_id, 0)  # children in ``versions`` not listed yet
    for v in versions:
        for p in set(v.parents) & by_id.keys():
            waiting[p] += 1
    ready = [(rank[v.created_at], v.id) for v in versions if not waiting[v.id]]
    heapq.heapify(ready)
    out = []
    while ready:
        v = by_id[heapq.heappop(ready)[1]]
        out.append(v)
        for p in set(v.parents) & by_id.keys():
            waiting[p] -= 1
            if not waiting[p]:
                heapq.heappush(ready, (rank[by_id[p].created_at], p))
    return out


def newest_first(s: str) -> tuple[int, ...]:
    """A key that sorts ISO timestamps newest first."""
    return tuple(-ord(c) for c in s)


class Stage(StrEnum):
    """The fault-injection points of a snapshot and of every commit."""

    AFTER_OBJECTS = "after-objects"
    BEFORE_DVC_ADD = "before-dvc-add"
    AFTER_DVC_ADD = "after-dvc-add"
    BEFORE_GIT_TAG = "before-git-tag"
    # the git adapter's, around update-ref and the sync of the user's index
    BEFORE_UPDATE_REF = "before-update-ref"
    AFTER_UPDATE_REF = "after-update-ref"
    BEFORE_INDEX_SYNC = "before-index-sync"


def maybe_die(stage: str) -> None:
    """Fault injection for the crash tests: SIGKILL ourselves at a named stage."""
    if os.environ.get(KILL_AT_ENV) == stage:
        os.kill(os.getpid(), signal.SIGKILL)


def ancestors(repo: RepoCore, vid: str) -> dict[str, Version]:
    """Every version reachable from ``vid`` (itself included), by id."""
    seen: dict[str, Version] = {}
    todo = [vid]
    while todo:
        v = todo.pop()
        if v in seen:
            continue
        seen[v] = repo.version(v)
        todo.extend(p for p in seen[v].parents if p not in seen)
    return seen


def left_out_by_git_merge(repo: RepoCore, head_commit: str | None, ours: "dict[str, Version] | str",
                          theirs: str | None = None) -> tuple[str, str] | None:
    """(version, parent commit) when git's HEAD commit is a git merge of two branches that both
    made versions, which git settled by taking one side's ``.annover/HEAD`` (``git merge -X
    theirs``, or a conflict resolved with ``git checkout --theirs``): the other side's version
    is in no version HEAD reaches (``ours``: their ids, or HEAD's version, whose history is read
    only for a two-parent commit). None
    when there is none, or ``theirs`` (a version being merged) reaches it. Also said by ``status``."""
    parents = repo.scm.run("rev-parse", f"{head_commit}^@", check=False).split() if head_commit else []
    if len(parents) != 2:
        return None
    path = repo.rel(repo.dir / "HEAD")
    base = repo.scm.run("merge-base", *parents, check=False).strip()
    at_base = (repo.scm.show(base, path) or "").strip() if base else ""
    ours = ancestors(repo, ours) if isinstance(ours, str) else ours
    for parent in parents:
        vid = (repo.scm.show(parent, path) or "").strip()
        if vid in ours or vid == at_base or not is_version_id(vid) or (theirs and vid in ancestors(repo, theirs)):
            continue  # that side made no version git's merge could drop, or this merge brings it in
        return vid, parent
    return None
