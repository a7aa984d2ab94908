"""The one git adapter: every git command annover runs goes through :class:`Git`.

git runs as a subprocess (``git`` on PATH), not through gitpython: importing gitpython
would cost ``annover log`` a large part of its startup, and gitpython runs git as a
subprocess for these plumbing calls anyway. One error policy: :meth:`Git.run` raises :class:`GitError` with
git's last message line when the command fails, or (``check=False``) returns ``""``; a write git could not
make for want of room (a full disk, a quota) is a :class:`GitNoRoomError` naming git's folder (exit 6).

Where a ref or path comes from data, git's options end with ``--`` (or
``--end-of-options``) so a value can never be read as an option.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from annover.errors import GitError, GitNoRoomError, NotARepoError, UsageError
from annover.files import NO_ROOM, naming, refused_hint, write_atomic
from annover.store import gitrefs

__all__ = ["Git", "Tracking", "ZERO_OID", "Stage", "foreign_owner", "found_repository", "own_repository"]

#: git's "no object" id: update-ref's expected value for a ref that must not exist yet.
ZERO_OID = "0" * 40
#: Called with a stage name at the commit's points of no return (the crash tests' hook).
Stage = Callable[[str], None]

_PRIVATE_INDEX = "annover-index"
#: seconds a git remote is given to say which tags it has (``annover tag --prune``)
REMOTE_TAGS_TIMEOUT = 20.0
_SYNC_MARKER = "annover-syncing"
#: In the git dir while a merge (or fast-forward) brings other paths into the user's index and
#: work tree: those paths, NUL-separated; the next command makes them HEAD's again (see
#: :meth:`Git.finish_interrupted_checkout`).
_CHECKOUT_MARKER = "annover-checkout"
#: In the git dir: the index file and HEAD commit last seen agreeing with each other (see
#: :meth:`Git.index_agrees`).
_AGREES = "annover-index-agrees"
#: ``COMMIT:PATH`` blobs read, by git dir: a commit's files never change. Found ones only (an
#: object a fetch brings later must not stay missing), and at most this many.
_BLOBS: "dict[tuple[str, str], bytes]" = {}
_BLOBS_MAX = 1 << 16
_FILE_MODE = "100644"
_HINT = "check the git repository (git status) and try again"
#: Settings of a user's git config that change the output annover parses, turned off for annover's
#: git runs: ``log.showSignature`` puts gpg's verdict between the lines of ``git log --format=%H``, and
#: ``log.follow`` makes ``git log -- PATH`` of one path follow renames, which walks no merge's other side, and
#: ``core.quotePath`` (on unless set off) quotes a path's non-ASCII letters in ``--name-only`` and ``ls-tree``
#: lines: an annover repository in a folder ``données`` of a git repository lost its HEAD and records.
_AS_PARSED = ("-c", "log.showSignature=false", "-c", "log.follow=false", "-c", "core.quotePath=false")
#: The git settings annover's commits follow: the identity (``user.useConfigOnly``: never a guessed
#: one) and ``commit.gpgSign`` (signed, as ``git commit`` signs).
_COMMIT_SETTINGS = r"^(user\.(name|email|useconfigonly)|commit\.gpgsign)$"
#: git's commands that write (objects, the index, refs, the config) as annover runs them. One that fails on a
#: disk with no room may say no why ("unable to write new index file", "couldn't write '.git/refs/heads/main.lock'",
#: or a translation): the disk is then asked (:func:`_refused_now`)
_WRITERS = frozenset({"checkout", "commit-tree", "config", "hash-object", "init", "merge-tree", "mktree",
                      "read-tree", "rm", "update-index", "update-ref", "write-tree"})
#: what git's message quotes, each text between two quotes (a path, but also the ``t write `` of "couldn't write
#: 'PATH'"): a folder of git's it could not write (``refs``, ``objects``) may be on a disk of its own
_QUOTED = re.compile(r"(?='([^'\n]+)')")


def _reflog_says(title: str) -> str:
    """HEAD's reflog entry for a move annover made, as git's says ``commit: TITLE``: ``annover: TITLE``
    (a commit's title that already says annover is not prefixed again)."""
    return title if title.startswith(("annover:", "annover ")) else f"annover: {title}"


def _git_bool(value: "str | None") -> bool:
    """A git config boolean as git reads it (``true``/``yes``/``on``/a number other than 0; unset: false)."""
    v = (value or "").strip().lower()
    if v in ("true", "yes", "on"):
        return True
    try:
        return int(v) != 0
    except ValueError:
        return False


def _noop(_: str) -> None:
    pass


def run_git(args: list[str], cwd: Path, *, env: Mapping[str, str] | None = None, input: bytes | None = None,
            check: bool = True, timeout: float | None = None, git_dir: "Path | None" = None) -> bytes:
    """Run ``git ARGS`` in ``cwd``; its stdout. Failed: GitError (a write git's disk had no room for:
    :func:`_no_room`, naming ``git_dir``, else the one git finds), or ``b""`` when not ``check``;
    one that runs past ``timeout`` seconds (a git remote asked, which may hang) is ended: GitError."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    try:
        p = _run(["git", *_AS_PARSED, *args], cwd, full_env, input, timeout)
    except FileNotFoundError:
        raise GitError("git is not installed (no `git` on PATH)", "install git") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not answer in {timeout:g} s", _HINT) from None
    if p.returncode != 0:
        if not check:
            return b""
        msg = (p.stderr or p.stdout).decode(errors="replace").strip().splitlines()
        raise (_no_room(args, p, cwd, git_dir)
               or GitError(f"git {args[0]} failed: {msg[-1] if msg else p.returncode}", _HINT))
    return p.stdout


def _no_room(args: "Sequence[str]", p: "subprocess.CompletedProcess[bytes]", cwd: Path,
            git_dir: "Path | None" = None) -> "GitNoRoomError | None":
    """The error of ``git ARGS`` (run in ``cwd``, failed: ``p``) where git's disk had no room for its write
    (a full disk, a quota): git's message says so (:data:`annover.files.NO_ROOM`'s words), or, a command
    that writes (:data:`_WRITERS`), git's folder (``git_dir``: asked of git when not given) or a folder
    of it the message quotes refuses a block now. One line naming git's folder, with the hint of
    annover's own writes the disk refuses; None for any other failure."""
    said = p.stderr.decode(errors="replace")
    number = next((n for n in sorted(NO_ROOM) if os.strerror(n) in said), None)
    verb = next((a for a in args if not a.startswith("-")), "")
    if number is None and verb not in _WRITERS:
        return None
    where = git_dir or _git_dir_of(cwd)
    if number is None:
        quoted = (Path(cwd, q).parent for q in _QUOTED.findall(said))
        folders = dict.fromkeys([where, *(f for f in quoted if f.is_relative_to(where) and ".." not in f.parts)])
        number = next((n for n in map(_refused_now, folders) if n is not None), None)
    if number is None:
        return None
    error = GitNoRoomError(str(where), f"{os.strerror(number)} (git {verb} could not write)", number,
                           refused_hint(number))
    error.__cause__ = OSError(number, os.strerror(number), str(where))
    return error


def _git_dir_of(cwd: Path) -> Path:
    """The git dir of the repository ``cwd`` is in (``cwd`` itself where git finds none)."""
    p = _run(["git", "rev-parse", "--absolute-git-dir"], cwd, {**os.environ, "GIT_TERMINAL_PROMPT": "0"}, None, None)
    return Path(p.stdout.decode(errors="replace").strip() or cwd) if p.returncode == 0 else Path(cwd)


def _refused_now(folder: Path) -> "int | None":
    """The errno (one of :data:`annover.files.NO_ROOM`) with which ``folder``'s disk refuses a block
    written to a new file there now (the file leaves nothing behind); None where it takes it, or
    refuses it for another reason."""
    try:
        with tempfile.TemporaryFile(dir=folder) as f:
            f.write(bytes(4096))
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        return e.errno if e.errno in NO_ROOM else None
    return None


def _run(argv: list[str], cwd: Path, env: Mapping[str, str], input: bytes | None,
         timeout: float | None) -> "subprocess.CompletedProcess[bytes]":
    """``subprocess.run``; with a ``timeout``, git runs in a process group of its own, all of which
    is ended when the time is up: the ssh (or ``ext::`` command) git started for a remote, which
    killing git alone leaves running, holding the connection."""
    if timeout is None:
        return subprocess.run(argv, cwd=cwd, env=env, input=input, capture_output=True)
    with subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, start_new_session=True) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def detached_head(path: Path) -> bool:
    """Whether ``path`` is in a git work tree whose HEAD is a commit on no branch."""
    return bool(run_git(["rev-parse", "-q", "--verify", "HEAD"], path, check=False).strip()) and \
        not run_git(["symbolic-ref", "-q", "HEAD"], path, check=False).strip()


def branch_back(path: Path) -> str:
    """The branch to name in a hint for leaving a detached HEAD: the one checked out before
    (``@{-1}``, what ``git switch -`` goes to), else the first local branch, else ``main``."""
    before = run_git(["rev-parse", "-q", "--symbolic-full-name", "@{-1}"], path, check=False).decode().strip()
    if before.startswith("refs/heads/"):
        return before.removeprefix("refs/heads/")
    heads = run_git(["for-each-ref", "--format=%(refname:short)", "refs/heads"], path, check=False).decode().split()
    return heads[0] if heads else "main"


def checked_out_as(path: Path) -> str:
    """The name git's last checkout moved HEAD to (``git checkout v2``: ``v2``), as ``git status`` says
    "HEAD detached at v2"; "" when the reflog does not say (none kept, or HEAD moved otherwise)."""
    said = run_git(["reflog", "-1", "--format=%gs", "HEAD"], path, check=False).decode("utf-8", "replace").strip()
    return said.rpartition(" to ")[2] if said.startswith("checkout: moving from ") else ""


def orphan_branch(path: Path) -> "tuple[str, str] | None":
    """(the branch HEAD names, a branch with commits to go back to) where ``path`` is in a git work
    tree whose HEAD is on a branch with no commit while other branches have some (``git checkout
    --orphan``, ``git switch --orphan``); None otherwise."""
    if run_git(["rev-parse", "-q", "--verify", "HEAD"], path, check=False).strip():
        return None
    head = run_git(["symbolic-ref", "-q", "--short", "HEAD"], path, check=False).decode().strip()
    heads = run_git(["for-each-ref", "--format=%(refname:short)", "refs/heads"], path, check=False).decode().split()
    return (head, branch_back(path)) if head and heads else None


def unborn_clone(path: Path) -> "tuple[str, list[str]] | None":
    """(the branch HEAD names, the remote-tracking branches) where ``path`` is in a git clone that
    checked nothing out: HEAD names a branch with no commit while its remote has branches (a clone
    of a bare remote whose HEAD names a branch no one pushed: ``git init --bare`` made ``master``,
    the versions went to ``main``); None otherwise (no git, or a commit checked out)."""
    if run_git(["rev-parse", "-q", "--verify", "HEAD"], path, check=False).strip():
        return None
    head = run_git(["symbolic-ref", "-q", "--short", "HEAD"], path, check=False).decode().strip()
    refs = run_git(["for-each-ref", "--format=%(refname:short)", "refs/remotes"], path, check=False).decode().split()
    refs = [r for r in refs if "/" in r and not r.endswith("/HEAD")]
    return (head, refs) if head and refs else None


#: Environment variables that change where git finds a repository: with any of them set, git is asked.
_DISCOVERY_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES",
                  "GIT_DISCOVERY_ACROSS_FILESYSTEM")


def _discover(cwd: Path) -> "tuple[Path, Path] | None":
    """(top level, git dir) of the work tree ``cwd`` is in, found as git finds it in the common
    case (the nearest folder up holding a ``.git`` folder, owned by this user) without running
    git (2 ms a command); None where git must be asked: the environment points git elsewhere,
    ``.git`` is a file (a linked work tree, a submodule), a bare repository is on the way, or
    another user owns it (git's safe.directory rule)."""
    if any(v in os.environ for v in _DISCOVERY_ENV) or not hasattr(os, "getuid"):
        return None
    here = Path(cwd).resolve()
    for d in (here, *here.parents):
        dot = d / ".git"
        try:
            if dot.is_dir() and (dot / "HEAD").is_file() and (dot / "objects").is_dir():
                config = (dot / "config").read_bytes().lower() if (dot / "config").is_file() else b""
                if b"worktree" in config or b"bare" in config.replace(b"bare = false", b""):
                    return None  # core.worktree puts the work tree elsewhere; a bare repository has none
                return (d, dot) if dot.stat().st_uid == os.getuid() == d.stat().st_uid else None
            if os.path.lexists(dot) or ((d / "HEAD").is_file() and (d / "objects").is_dir()):
                return None
        except OSError:
            return None
    return None


def own_repository(path: Path) -> "tuple[Path, Path] | None":
    """(top level, git dir) of the git repository ``path`` is in as git finds it from the folders
    alone, ``GIT_DIR``, ``GIT_WORK_TREE`` and ``GIT_COMMON_DIR`` left out: the work tree's own; None
    where git finds none."""
    return found_repository(path, own=True)


def found_repository(path: Path, own: bool = False) -> "tuple[Path, Path] | None":
    """(top level, git dir) of the git repository git finds in ``path``, the environment as it is
    (``own``: see :func:`own_repository`); None where git finds none."""
    left_out = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR") if own else ()
    env = {k: v for k, v in os.environ.items() if k not in left_out}
    p = _run(["git", "rev-parse", "--show-toplevel", "--absolute-git-dir"], path, {**env, "GIT_TERMINAL_PROMPT": "0"},
             None, None)
    lines = p.stdout.decode(errors="replace").splitlines() if p.returncode == 0 else []
    return (Path(lines[0]).resolve(), Path(lines[1]).resolve()) if len(lines) == 2 else None


def foreign_owner(cwd: Path) -> "Path | None":
    """The work tree at or above ``cwd`` that another user owns (it or its ``.git``), which git
    refuses unless ``safe.directory`` lists it; None where this user owns it, or there is none."""
    if not hasattr(os, "getuid"):
        return None
    here = Path(cwd).resolve()
    for d in (here, *here.parents):
        dot = d / ".git"
        try:
            if os.path.lexists(dot):
                return d if os.getuid() != d.stat().st_uid or os.getuid() != dot.stat().st_uid else None
        except OSError:
            return None
    return None


def _guessed_remote(remotes: list[str]) -> str:
    """The git remote a branch with no upstream goes to: the only one, else ``origin`` if there."""
    return remotes[0] if len(remotes) == 1 else "origin" if "origin" in remotes else "REMOTE"


@dataclass(frozen=True)
class Tracking:
    """A branch against its git remote as git last saw it: ``upstream`` (``origin/main``; None when
    the branch has none), the commits only here (``ahead``) and only there (``behind``).
    ``configured``: the branch's upstream is set (``git push -u``); when it is not, ``upstream``
    is the remote's branch of the same name where git has seen one (``git push origin main``
    without ``-u``), and publishing sets it. ``moved_tags`` / ``deleted_tags``: tags the commits
    only here move or delete that the remote has (as the branch's history it has holds them), which
    ``--tags`` would not publish (git refuses a moved tag, deletes none): :attr:`publish` names them."""

    branch: str
    remotes: list[str]
    upstream: str | None
    ahead: int
    behind: int
    configured: bool = True
    moved_tags: tuple[str, ...] = ()
    deleted_tags: tuple[str, ...] = ()

    @property
    def remote(self) -> str:
        """The git remote to publish to: the upstream's, else the only one, else ``origin`` if there."""
        return self.upstream.split("/", 1)[0] if self.upstream else _guessed_remote(self.remotes)

    @property
    def publish(self) -> str:
        """The git command that publishes the versions' commits and tags (annover's tags are lightweight:
        ``--follow-tags`` leaves them behind), all or nothing: a tag the remote refuses (another clone
        published that number first) must not leave the branch pushed without it, which would make
        this clone's version published and no longer one ``annover merge`` may renumber."""
        refs = [shlex.quote(f"+refs/tags/{n}") for n in self.moved_tags]
        refs += [shlex.quote(f":refs/tags/{n}") for n in self.deleted_tags]
        return (f"git push --atomic {'' if self.upstream and self.configured else '-u '}{self.remote} "
                f"{self.branch} --tags" + "".join(" " + r for r in refs))

    def to_json(self) -> dict:
        return {"branch": self.branch, "upstream": self.upstream, "upstream_set": self.configured,
                "ahead": self.ahead, "behind": self.behind,
                "publish": self.publish if self.ahead or not self.upstream else None}


class Git:
    """A git work tree, seen from ``cwd`` (a folder inside it)."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = Path(cwd)
        self._toplevel: Path | None = None
        self._git_dir: Path | None = None
        #: found on the file system (a plain ``.git`` folder): its refs may be read as files
        self._plain = False
        self._shallow_file: Path | None = None

    # ------------------------------------------------------------------ setup

    @staticmethod
    def toplevel_of(path: Path) -> Path | None:
        """The work tree ``path`` is in, or None outside any."""
        out = run_git(["rev-parse", "--show-toplevel"], path, check=False).decode().strip()
        return Path(out).resolve() if out else None

    @staticmethod
    def init(path: Path, branch: str | None = None) -> None:
        """``git init``: on ``branch``, else on git's ``init.defaultBranch`` where the user set one, else on main."""
        branch = branch or run_git(["config", "--get", "init.defaultBranch"], path, check=False).decode().strip()
        run_git(["init", "-q", "-b", branch or "main"], path, git_dir=Path(path, ".git"))

    def _locate(self) -> None:
        """The top level and the git dir: found on the file system as git finds them, else asked of git once."""
        found = _discover(self.cwd)
        if found is not None:
            self._toplevel, self._git_dir = found
            self._plain = True
            return
        out = run_git(["rev-parse", "--show-toplevel", "--absolute-git-dir"], self.cwd, check=False).decode()
        lines = out.splitlines()
        if len(lines) != 2:
            owned = foreign_owner(self.cwd)
            if owned is not None:  # git refuses it (safe.directory): not "no repository", nor `annover init`
                raise NotARepoError(f"git refuses the repository at {owned}: another user owns it (git's "
                                    "safe.directory rule)", f"if you trust it: git config --global --add "
                                    f"safe.directory {owned} (a home you cannot write: export GIT_CONFIG_COUNT=1 "
                                    f"GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0={owned})")
            raise NotARepoError(f"{self.cwd} is not inside a git work tree", "run `annover init` here")
        self._toplevel, self._git_dir = Path(lines[0]).resolve(), Path(lines[1])

    @property
    def toplevel(self) -> Path:
        if self._toplevel is None:
            self._locate()
        return self._toplevel  # type: ignore[return-value]

    @property
    def git_dir(self) -> Path:
        if self._git_dir is None:
            self._locate()
        return self._git_dir  # type: ignore[return-value]

    @property
    def plain(self) -> bool:
        """The git dir is a plain ``.git`` folder found as git finds it (see :func:`_discover`):
        its files may be read (refs) and written (annover's own) directly."""
        if self._git_dir is None:
            self._locate()
        return self._plain

    def rel(self, path: Path) -> str:
        """``path`` relative to the top level, posix style (what git plumbing takes)."""
        return Path(os.path.relpath(Path(path).resolve(), self.toplevel)).as_posix()

    # ------------------------------------------------------------------ commands

    def run(self, *args: str, env: Mapping[str, str] | None = None, input: bytes | None = None,
            check: bool = True, timeout: float | None = None) -> str:
        """``git ARGS`` at the top level; stdout as text (see :func:`run_git` for failures)."""
        return run_git(list(args), self.toplevel, env=env, input=input, check=check, timeout=timeout,
                       git_dir=self._git_dir).decode()

    def rev_parse(self, rev: str) -> str | None:
        """The commit ``rev`` names, or None."""
        out = self.run("rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}", check=False)
        return out.strip() or None

    def head_commit(self) -> str | None:
        """The commit HEAD is on, or None: read from git's files where they say (:meth:`head_oid`),
        else asked of git. Read afresh each time (a snapshot asks before and under the lock)."""
        return self.head_oid() or self.rev_parse("HEAD")

    def head_oid(self) -> str | None:
        """The commit HEAD is on, read from git's files without running git; None when they
        do not say (see :mod:`annover.store.gitrefs`): then ask git (``HEAD``)."""
        return gitrefs.head_commit(self.git_dir) if self.git_dir and self._plain else None

    def branch(self) -> str | None:
        """The branch HEAD is on (``refs/heads/...``), or None when HEAD is detached: read from
        git's HEAD file where it says (:func:`gitrefs.head_branch`), else asked of git."""
        found = gitrefs.head_branch(self.git_dir) if self.git_dir and self._plain else None
        if found is not None:
            return found or None
        return self.run("symbolic-ref", "-q", "HEAD", check=False).strip() or None

    def tracking(self) -> "Tracking | None":
        """Where HEAD's branch stands against its git remote, as git last saw it (no network: the
        remote-tracking branch of the last fetch or push); None without a git remote or a branch."""
        branch = self.branch()
        remotes = self.run("remote", check=False).split()
        if branch is None or not remotes:
            return None
        name = branch.removeprefix("refs/heads/")
        upstream = self.run("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}", check=False).strip()
        configured = bool(upstream)
        if not upstream:  # pushed without -u: the remote's branch of this name, where git has seen one
            seen = f"{_guessed_remote(remotes)}/{name}"
            if not self.run("rev-parse", "--verify", "-q", f"refs/remotes/{seen}^{{commit}}", check=False).strip():
                return Tracking(name, remotes, None, 0, 0)
            upstream = seen
        counts = self.run("rev-list", "--left-right", "--count", f"HEAD...{upstream}", check=False).split()
        ahead, behind = (int(counts[0]), int(counts[1])) if len(counts) == 2 else (0, 0)
        return Tracking(name, remotes, upstream, ahead, behind, configured)

    def refs_containing(self, commit: str, *namespaces: str, short: bool = False) -> list[str]:
        """The refs under ``namespaces`` (``refs/heads``, ``refs/remotes``) whose history holds ``commit``
        (a remote's ``HEAD`` alias left out), full names or (``short``) short ones."""
        fmt = "%(refname:short)" if short else "%(refname)"
        out = self.run("for-each-ref", f"--format={fmt}", f"--contains={commit}", *namespaces, check=False)
        return [ln for ln in out.splitlines() if ln and not ln.endswith("/HEAD")]

    def remote_refs_containing(self, commit: str) -> list[str]:
        """The remote-tracking refs (``origin/main``) whose history holds ``commit``."""
        return self.refs_containing(commit, "refs/remotes", short=True)

    def show(self, commit: str, path: str) -> str | None:
        """The text of ``path`` at ``commit``, or None where it has none (or it is empty)."""
        return run_git(["cat-file", "blob", f"{commit}:{path}"], self.toplevel, check=False).decode() or None

    def reads_as(self, path: str, blob: str) -> bool:
        """Whether git reads the work tree's file ``path`` as blob ``blob``: through its filters, as ``git
        status`` compares them (``core.autocrlf`` checks annover's files out with CRLF line ends)."""
        return self.run("hash-object", "--", path, check=False).strip() == blob

    def blob(self, oid: str) -> bytes:
        return run_git(["cat-file", "blob", oid], self.toplevel)

    def ls_tree(self, commit: str, path: str) -> dict[str, str]:
        """``{path: blob id}`` of the files under ``path`` at ``commit``."""
        return {p: blob for p, _, blob in self._ls_tree(commit, path)}

    def _ls_tree(self, commit: str, path: str) -> list[tuple[str, str, str]]:
        """(path, mode, blob id) of the files under ``path`` at ``commit``."""
        out = self.run("ls-tree", "-r", "--end-of-options", commit, "--", path, check=False)
        rows = []
        for ln in out.splitlines():
            meta, p = ln.split("\t", 1)
            mode, _, blob = meta.split()
            rows.append((p, mode, blob))
        return rows

    def shallow(self) -> frozenset[str]:
        """The boundary commits of a shallow clone (``git clone --depth N``): git shows each as adding
        every file its tree holds, since their parents are not here. Empty in a full clone."""
        plain = self.git_dir / "shallow" if self._plain else None
        if plain is not None:
            try:
                return frozenset(plain.read_text().split())
            except FileNotFoundError:
                return frozenset()
        if self._shallow_file is None:  # asked of git once (a linked work tree keeps it in the common dir)
            where = self.run("rev-parse", "--git-path", "shallow", check=False).strip() or "shallow"
            self._shallow_file = Path(where) if Path(where).is_absolute() else self.toplevel / where
        path = self._shallow_file
        return frozenset(path.read_text().split()) if path.is_file() else frozenset()

    def commit_adding(self, path: str, everywhere: bool = False) -> str | None:
        """The commit that added ``path`` on HEAD's history (``everywhere``: on any ref's or reflog's).
        A merge commit adds the paths new to every parent (``-c``), not those it brings from one."""
        return self.run("log", *(["--all", "--reflog"] if everywhere else []), "-c", "-s", "--format=%H",
                        "--diff-filter=A", "-1", "--", path, check=False).strip() or None

    def commits_adding(self, path: str, everywhere: bool = False) -> list[str]:
        """Every commit that added ``path``, newest first, on HEAD's history (``everywhere``: on any
        ref's or reflog's), merges' sides walked each (``--full-history``): one most days; more where a
        later commit added it again (a cherry-pick, a teammate's copy merged by git)."""
        return self.run("log", *(["--all", "--reflog"] if everywhere else []), "--full-history", "-c", "-s",
                        "--format=%H", "--diff-filter=A", "--", path, check=False).split()

    def blobs(self, specs: list[str]) -> list[bytes | None]:
        """The content of each ``REV:PATH`` in ``specs`` (None where there is none), in one git
        call; none when every REV is a commit id whose file this process read before."""
        if not specs:
            return []
        if any("\n" in sp for sp in specs):
            raise ValueError("a git object name cannot hold a newline")
        where = str(self.git_dir)
        known = {sp: _BLOBS[(where, sp)] for sp in specs if (where, sp) in _BLOBS}
        asked = [sp for sp in dict.fromkeys(specs) if sp not in known]
        got = dict(zip(asked, self._cat_blobs(asked))) if asked else {}
        if len(_BLOBS) > _BLOBS_MAX:
            _BLOBS.clear()
        for sp, data in got.items():
            if data is not None and gitrefs.is_object_id(sp.split(":", 1)[0]):
                _BLOBS[(where, sp)] = data
        return [known[sp] if sp in known else got[sp] for sp in specs]

    def _cat_blobs(self, specs: list[str]) -> list[bytes | None]:
        """:meth:`blobs`, asked of ``git cat-file --batch``."""
        out = run_git(["cat-file", "--batch"], self.toplevel, input="".join(f"{sp}\n" for sp in specs).encode(),
                      check=False)
        result: list[bytes | None] = []
        pos = 0
        for _ in specs:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].split()
            pos = nl + 1
            if len(header) == 3 and len(header[0]) in (40, 64) and header[2].isdigit():
                size = int(header[2])
                result.append(out[pos:pos + size] if header[1] == b"blob" else None)
                pos += size + 1
            else:  # "<spec> missing" (or ambiguous)
                result.append(None)
        return result

    # ------------------------------------------------------------------ tags

    def last_changes(self, path: str) -> dict[str, str | None]:
        """``{file: blob id}`` under ``path`` as the newest commit on any ref that changed each
        file left it (None: that commit deleted it); one history walk, children before parents. A
        merge counts where the file differs from one parent (``-m``), not all (``-c``): a merge that
        took the file from the branch merged in (a renumbering merge brings the other clone's ``v2``
        back after a commit deleting this clone's) is what it was left as, not that deletion."""
        out = self.run("log", "--all", "--date-order", "-m", "--format=", "--raw", "--no-abbrev", "--no-renames",
                       "--", f"{path}/", check=False)
        newest: dict[str, str | None] = {}
        for ln in out.splitlines():
            if not ln.startswith(":") or "\t" not in ln:
                continue
            meta, p = ln.split("\t", 1)
            n = len(meta) - len(meta.lstrip(":"))  # parents: a merge commit's combined line has one colon each
            fields = meta.lstrip(":").split()
            if p not in newest and len(fields) >= 2 * n + 3:
                new, status = fields[2 * n + 1], fields[2 * n + 2]
                newest[p] = None if status.startswith("D") or set(new) == {"0"} else new
        return newest

    def blob_id(self, data: bytes, like: str) -> str:
        """The id git gives a blob of ``data``, in the hash of object id ``like`` (sha1 or sha256)."""
        h = hashlib.sha256() if len(like) == 64 else hashlib.sha1()
        h.update(b"blob %d\0" % len(data) + data)
        return h.hexdigest()

    def tags(self, name: str | None = None) -> set[str]:
        """Every tag name (or ``{name}`` if that tag exists)."""
        if name is not None:
            return {name} if self.tag_commits().get(name) else set()
        return set(self.tag_commits())

    def branches_named(self, name: str) -> list[str]:
        """The branches (``refs/heads/NAME``) and remote-tracking branches (``refs/remotes/NAME``)
        named exactly ``name``: a tag of that name would make git read ``name`` as ambiguous."""
        wanted = {f"refs/heads/{name}", f"refs/remotes/{name}"}
        out = self.run("for-each-ref", "--format=%(refname)", *sorted(wanted), check=False)
        return [ref for ref in out.split() if ref in wanted]

    def tag_commits(self) -> dict[str, str]:
        """``{tag name: the commit it names}`` (annotated tags peeled), from git's refs: read as
        files where they are plain files (:mod:`annover.store.gitrefs`), else asked of git."""
        found = gitrefs.tag_commits(self.git_dir) if self.git_dir and self._plain else None
        if found is not None:
            return found
        out = self.run("for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)", "refs/tags",
                       check=False)
        tags = {}
        for ln in out.splitlines():
            ref, obj, peeled = ln.split("\0")
            tags[ref[len("refs/tags/"):]] = peeled or obj
        return tags

    def tag(self, name: str, commit: str, force: bool = False, check: bool = True,
            old: str | None = None) -> None:
        """Point tag ``name`` at ``commit``: a new tag, or (``force``) a moved one; ``old``, when
        given, is the commit it must still name (compare-and-swap). Set by its full ref name,
        so a name can never be read as an option."""
        expected = [old] if old else ([] if force else [ZERO_OID])
        self.run("update-ref", "-m", f"annover: tag {name}", "--", f"refs/tags/{name}", commit, *expected,
                 check=check)

    def remote_tags(self, remote: str) -> dict[str, str]:
        """``{tag name: the commit it names}`` on git remote ``remote`` now (``git ls-remote --tags``:
        asks the remote, annotated tags peeled); GitError when it cannot be asked, or does not answer
        in :data:`REMOTE_TAGS_TIMEOUT` seconds."""
        tags: dict[str, str] = {}
        # no stdin (an ssh password prompt ends at once), and an end to a remote that does not answer
        # `--`: a remote's name is the repository, never an option (`git remote add -- --upload-pack=PROG URL`)
        for ln in self.run("ls-remote", "--tags", "--", remote, input=b"", timeout=REMOTE_TAGS_TIMEOUT).splitlines():
            oid, _, ref = ln.partition("\t")
            name = ref.removeprefix("refs/tags/")
            if name.endswith("^{}"):
                tags[name[:-3]] = oid
            else:
                tags.setdefault(name, oid)
        return tags

    def remotes(self) -> list[str]:
        """The git remotes' names (``git remote``)."""
        return self.run("remote", check=False).splitlines()  # one a line (a name set in .git/config may hold a space)

    def delete_tag(self, name: str, old: str | None = None) -> None:
        """Delete tag ``name`` (only if it still names ``old``, when given)."""
        self.run("update-ref", "-d", "--", f"refs/tags/{name}", *([old] if old else []))

    # ------------------------------------------------------------------ identity

    def _settings(self) -> dict[str, str]:
        """The git settings a commit of annover's follows (:data:`_COMMIT_SETTINGS`), by lower-case
        key, as git's config has them (a key with no ``=``: ``true``): one git run (the last value of
        a key given twice wins, as ``git config KEY`` reads it)."""
        out = self.run("config", "-z", "--get-regexp", _COMMIT_SETTINGS, check=False)
        found = {}
        for item in out.split("\0"):
            if item:
                key, nl, value = item.partition("\n")
                found[key.lower()] = value if nl else "true"
        return found

    def _identity(self, settings: "Mapping[str, str] | None" = None) -> tuple[str, str]:
        """(user.name, user.email) as git's config has them, '' where unset."""
        found = self._settings() if settings is None else settings
        return found.get("user.name", "").strip(), found.get("user.email", "").strip()

    def identity_env(self, settings: "Mapping[str, str] | None" = None) -> dict[str, str]:
        """git author/committer, falling back to 'annover' where git has no identity; refused
        (GitError) where ``user.useConfigOnly`` forbids git to guess one, as ``git commit`` refuses."""
        settings = self._settings() if settings is None else settings
        name, email = self._identity(settings)
        env = {}
        if not name and "GIT_AUTHOR_NAME" not in os.environ:
            env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = os.environ.get("USER") or "annover"
        if not email and "GIT_AUTHOR_EMAIL" not in os.environ and not os.environ.get("EMAIL"):
            env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "annover@localhost"
        wanted = (("user.name", name, "GIT_AUTHOR_NAME"), ("user.email", email, "GIT_AUTHOR_EMAIL"))
        missing = [k for k, given, var in wanted if not given and var not in os.environ]  # nor $EMAIL, as git's
        if missing and _git_bool(settings.get("user.useconfigonly")):
            example = {"user.name": "Your Name", "user.email": "you@example.com"}
            raise GitError(f"git's config has no {' and no '.join(missing)} and user.useConfigOnly forbids "
                           "guessing one; nothing committed",
                           " and ".join(f'`git config --global {k} "{example[k]}"`' for k in missing)
                           + ", then run the command again")
        return env

    def signs(self, settings: "Mapping[str, str] | None" = None) -> bool:
        """Whether git's config asks for signed commits (``commit.gpgSign``): annover's are then signed."""
        return _git_bool((self._settings() if settings is None else settings).get("commit.gpgsign"))

    def author(self) -> str:
        """The author git gives the commit: GIT_AUTHOR_NAME / GIT_AUTHOR_EMAIL over git's config
        (as git reads them), then annover's fallback. Asked before a command writes anything, it also
        checks that git can make the commit: an identity where ``user.useConfigOnly`` is set, and a
        signature where ``commit.gpgSign`` is (a commit of the empty tree, signed, nothing refers to)."""
        settings = self._settings()
        name, email = self._identity(settings)
        fallback = self.identity_env(settings)
        if self.signs(settings):
            self._commit_tree([self.run("mktree", input=b"").strip(), "-m", "annover: can git sign?"],
                              fallback, sign=True)
        name = os.environ.get("GIT_AUTHOR_NAME") or name or fallback.get("GIT_AUTHOR_NAME", "")
        email = (os.environ.get("GIT_AUTHOR_EMAIL") or email or os.environ.get("EMAIL")
                 or fallback.get("GIT_AUTHOR_EMAIL", ""))
        return f"{name} <{email}>"

    def _commit_tree(self, args: "list[str]", env: Mapping[str, str], sign: bool) -> str:
        """``git commit-tree ARGS`` (``-S``: signed as ``git commit -S`` signs; commit-tree reads no
        ``commit.gpgSign``); the new commit's id. A signature git cannot make is one line naming why."""
        p = _run(["git", "commit-tree", *(["-S"] if sign else []), *args], self.toplevel,
                 {**os.environ, "GIT_TERMINAL_PROMPT": "0", **env}, None, None)
        if p.returncode == 0:
            return p.stdout.decode().strip()
        refused = _no_room(["commit-tree"], p, self.toplevel, self._git_dir)
        if refused is not None:  # not a signature git cannot make: no room for the commit's object
            raise refused
        lines = [ln.strip() for ln in p.stderr.decode(errors="replace").splitlines()
                 if ln.strip() and "failed to write commit object" not in ln]
        why = lines[0].removeprefix("error: ").removeprefix("fatal: ") if lines else f"exit {p.returncode}"
        if sign:
            raise GitError(f"git could not sign annover's commit (commit.gpgSign is set): {why}; nothing committed",
                           "make `git commit -S` work here (a key for user.signingKey, gpg-agent running), or "
                           "turn signing off for this repository: `git config commit.gpgSign false`")
        raise GitError(f"git commit-tree failed: {lines[-1] if lines else p.returncode}", _HINT)

    # ------------------------------------------------------------------ commits

    def commit(self, files: "dict[str, bytes | Path | None]", message: str, expected: str | None,
               stage: Stage = _noop, *, base: str | None = None, merged: "Sequence[str]" = ()) -> str:
        """Commit exactly ``files`` (paths relative to the top level) on top of ``expected``.

        A private index keeps the user's staged changes out, and they stay staged; one to a file of
        ``files`` is refused before anything is written (:meth:`refuse_staged`). HEAD moves only if it still is
        ``expected`` (compare-and-swap ``update-ref``). The work tree and the user's index
        take the new files *before* HEAD moves, so no moment exists where the index stages
        the deletion of what HEAD just gained (a user's ``git commit`` after a kill there
        would have deleted the version); before HEAD moves, they are what the next
        command's recovery resets. ``stage`` is called at each of these points.

        A merge commit: ``merged`` names its other parents and ``base`` the tree ``files`` are
        laid over (``git merge-tree``'s); every other path where ``base`` differs from
        ``expected`` is brought into the user's index and work tree as ``git merge`` does,
        under a marker the next command's recovery reads (:meth:`finish_interrupted_checkout`).
        """
        index_info = self._index_info(files)
        if expected:
            self.refuse_staged(expected, list(files), "annover's commit", index_info)
        settings = self._settings()
        env = {"GIT_INDEX_FILE": str(self.git_dir / _PRIVATE_INDEX), **self.identity_env(settings)}
        start = base or expected
        self.clear_private_index()
        try:
            self.run("read-tree", *([start] if start else ["--empty"]), env=env)
            self.run("update-index", "--index-info", env=env, input=index_info)
            tree = self.run("write-tree", env=env).strip()
            parents = [p for c in ([expected] if expected else []) + list(merged) for p in ("-p", c)]
            commit = self._commit_tree([tree, *parents, "-m", message], env, sign=self.signs(settings))
        finally:  # a failed commit leaves nothing behind (a killed one is cleared by the next)
            self.clear_private_index()
        if self.head_commit() != expected:
            raise GitError("git HEAD moved while annover was committing", "run the command again")
        others = [p for p in self.changed_paths(expected, commit) if p not in files] if base and expected else []
        if others:
            self._begin_checkout(others)
            self.take_paths(commit, others)
        for path, content in files.items():
            target = self.toplevel / path
            if isinstance(content, bytes):
                write_atomic(target, content)
            elif content is None:
                target.unlink(missing_ok=True)
        stage("before-index-sync")
        self._begin_sync(list(files))  # held until HEAD moved: a kill between leaves the index to repair
        self.run("update-index", "--index-info", input=index_info)
        stage("before-update-ref")
        title = message.splitlines()[0] if message else ""
        try:
            self.run("update-ref", "-m", _reflog_says(title), "--", "HEAD", commit, expected or ZERO_OID)
        except GitError:
            self.reset_paths(list(files), keep_work_tree=[p for p, c in files.items() if isinstance(c, Path)])
            if others:
                self.finish_interrupted_checkout()
            (self.git_dir / _SYNC_MARKER).unlink(missing_ok=True)
            raise
        stage("after-update-ref")
        (self.git_dir / _SYNC_MARKER).unlink(missing_ok=True)
        (self.git_dir / _CHECKOUT_MARKER).unlink(missing_ok=True)
        return commit

    # ------------------------------------------------------------------ merges

    def merge_base_is(self, ancestor: str, commit: str) -> bool:
        """Whether ``ancestor`` is ``commit`` or in its history."""
        p = subprocess.run(["git", "merge-base", "--is-ancestor", "--end-of-options", ancestor, commit],
                           cwd=self.toplevel, capture_output=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        if p.returncode not in (0, 1):
            msg = p.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(f"git merge-base failed: {msg[-1] if msg else p.returncode}", _HINT)
        return p.returncode == 0

    def merge_tree(self, ours: str, theirs: str) -> "tuple[str, list[str]]":
        """(the tree ``git merge`` would make of commits ``ours`` and ``theirs``, with conflict markers
        where it cannot; the paths it could not merge), computed without the index or the work tree."""
        p = subprocess.run(["git", "merge-tree", "--write-tree", "--no-messages", "--name-only", "-z",
                            "--end-of-options", ours, theirs], cwd=self.toplevel, capture_output=True,
                           env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        if p.returncode not in (0, 1):
            msg = p.stderr.decode(errors="replace").strip().splitlines()
            raise _no_room(["merge-tree"], p, self.toplevel, self._git_dir) or GitError(
                f"git merge-tree failed: {msg[-1] if msg else p.returncode}",
                "git 2.38 or later is needed for annover merge; check `git --version`")
        fields = p.stdout.decode("utf-8", errors="surrogateescape").split("\0")
        tree, rest = fields[0].strip(), fields[1:]
        conflicted: list[str] = []
        for f in rest:
            if not f:
                break  # the end of the conflicted file list
            conflicted.append(f)
        return tree, sorted(dict.fromkeys(conflicted))

    def changed_paths(self, a: str, b: str) -> list[str]:
        """The files that differ between tree-ishes ``a`` and ``b`` (added, removed, changed)."""
        out = run_git(["diff-tree", "-r", "-z", "--no-renames", "--name-only", "--end-of-options", a, b],
                      self.toplevel).decode("utf-8", errors="surrogateescape")
        return [p for p in out.split("\0") if p]

    def local_changes(self, paths: "Sequence[str]") -> list[str]:
        """Those of ``paths`` the user's index or work tree changed from HEAD, or that are
        untracked files HEAD lacks (``git merge`` refuses to overwrite either)."""
        if not paths:
            return []
        out = run_git(["status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=all"],
                      self.toplevel).decode("utf-8", errors="surrogateescape")
        touched = {entry[3:] for entry in out.split("\0") if len(entry) > 3}
        return sorted(touched.intersection(paths))

    def advance(self, expected: str, new: str, message: str, stage: Stage = _noop) -> None:
        """Fast-forward: HEAD from ``expected`` to its descendant ``new`` (compare-and-swap), the
        user's index and work tree taking every path that differs first, under the marker."""
        paths = self.changed_paths(expected, new)
        if self.head_commit() != expected:
            raise GitError("git HEAD moved while annover was merging", "run the command again")
        if paths:
            self._begin_checkout(paths)
            self.take_paths(new, paths)
        stage("before-update-ref")
        try:
            self.run("update-ref", "-m", _reflog_says(message), "--", "HEAD", new, expected)
        except GitError:
            if paths:
                self.finish_interrupted_checkout()
            raise
        stage("after-update-ref")
        (self.git_dir / _CHECKOUT_MARKER).unlink(missing_ok=True)

    def _begin_checkout(self, paths: "Sequence[str]") -> None:
        write_atomic(self.git_dir / _CHECKOUT_MARKER, "\0".join(paths).encode("utf-8", errors="surrogateescape"))

    def take_paths(self, commit: str, paths: "Sequence[str]") -> None:
        """The user's index and work tree hold ``paths`` as ``commit`` has them (removed where it has none)."""
        present = set(self.run("ls-tree", "-r", "-z", "--name-only", "--end-of-options", commit,
                               check=False).split("\0"))
        there = [p for p in paths if p in present]
        gone = [p for p in paths if p not in present]
        nul = lambda ps: "".join(f"{p}\0" for p in ps).encode("utf-8", errors="surrogateescape")  # noqa: E731
        if there:
            self.run("--literal-pathspecs", "checkout", "-q", commit, "--pathspec-from-file=-",
                     "--pathspec-file-nul", input=nul(there))
        if gone:
            self.run("--literal-pathspecs", "rm", "-q", "--cached", "--ignore-unmatch", "--pathspec-from-file=-",
                     "--pathspec-file-nul", input=nul(gone))
            for p in gone:
                target = self.toplevel / p
                if target.is_file() or target.is_symlink():
                    target.unlink()
                for parent in target.parents:  # as git leaves no empty folder behind
                    if parent == self.toplevel:
                        break
                    try:
                        parent.rmdir()
                    except OSError:
                        break

    def finish_interrupted_checkout(self) -> bool:
        """Make the paths a merge killed (or refused) mid-way was bringing in HEAD's again, in
        the user's index and work tree (run under annover's lock); True if there was one."""
        marker = self.git_dir / _CHECKOUT_MARKER
        try:
            data = marker.read_bytes()
        except FileNotFoundError:
            return False
        paths = [p for p in data.decode("utf-8", errors="surrogateescape").split("\0") if p]
        (self.git_dir / "index.lock").unlink(missing_ok=True)  # left by our own killed checkout
        head = self.head_commit()
        if head and paths:
            self.take_paths(head, paths)
        marker.unlink(missing_ok=True)
        return True

    def reset_paths(self, paths: list[str], keep_work_tree: "list[str] | tuple[str, ...]" = ()) -> None:
        """Put ``paths`` back as HEAD has them, in the work tree (but ``keep_work_tree``) and the index."""
        head = self.head_commit()
        wt = [p for p in paths if p not in keep_work_tree]
        for path, data in zip(wt, self.blobs([f"{head}:{p}" for p in wt]) if head else [None] * len(wt)):
            if data is None:
                (self.toplevel / path).unlink(missing_ok=True)
            else:
                write_atomic(self.toplevel / path, data)
        if head:
            self._sync_paths(paths)

    def staged(self, commit: str, paths: "Sequence[str]") -> dict[str, str | None]:
        """``{path: its blob id in the user's index (None: removed)}`` of those of ``paths`` whose
        entry there differs from ``commit``'s (a ``git add``, ``git rm --cached``), as ``git diff
        --cached COMMIT -- PATHS`` names them."""
        if not paths:
            return {}
        out = self.run("--literal-pathspecs", "diff-index", "--cached", "--no-renames", "-z", "--end-of-options",
                       commit, "--", *paths, check=False).split("\0")
        return {p: (None if meta.split()[3] == ZERO_OID else meta.split()[3])
                for meta, p in zip(out[0::2], out[1::2]) if meta.startswith(":")}

    def _added(self, commit: str, paths: "Sequence[str]") -> set[str]:
        """Those of ``paths`` ``commit`` lacks."""
        out = self.run("--literal-pathspecs", "ls-tree", "-z", "--name-only", "--end-of-options", commit, "--",
                       *paths, check=False)
        return set(paths) - set(out.split("\0"))

    def refuse_staged(self, commit: str, paths: "Sequence[str]", what: str, index_info: bytes | None = None) -> None:
        """Refuse (exit 2) where the user's index stages a change to one of ``paths`` that ``what``
        (the write about to commit them) would overwrite, as ``git merge`` refuses to overwrite local
        changes; staged changes to other paths stay staged. ``index_info``, when given: the entries
        the write commits (:meth:`_index_info`); a path staged as it commits it is not overwritten,
        nor a file ``commit`` lacks and the write adds (``dvc init`` stages the files it makes, which
        ``annover init`` then commits)."""
        wanted: dict[str, str | None] = {}
        for ln in (index_info or b"").decode("utf-8", errors="surrogateescape").splitlines():
            meta, _, p = ln.partition("\t")
            blob = meta.split()[1]
            wanted[p] = None if blob == ZERO_OID else blob
        staged = {p: blob for p, blob in self.staged(commit, paths).items() if p not in wanted or wanted[p] != blob}
        if index_info is not None and staged:
            new = self._added(commit, list(staged))
            staged = {p: blob for p, blob in staged.items() if p not in new or wanted.get(p, "") is None}
        staged = sorted(staged)
        if staged:
            listed = ", ".join(staged[:5]) + (f" and {len(staged) - 5} more" if len(staged) > 5 else "")
            one = len(staged) == 1
            raise UsageError(f"your staged change{'' if one else 's'} to {listed} would be overwritten by {what}; "
                             "nothing committed",
                             f"unstage {'it' if one else 'them'} with `git restore --staged -- {' '.join(staged)}` "
                             f"(or commit {'it' if one else 'them'} with `git commit`), then run the command again")

    def _index_info(self, files: "dict[str, bytes | Path | None]") -> bytes:
        """``update-index --index-info`` lines for ``files``; their blobs written to git."""
        items = sorted(files.items())
        blobs = iter(self._write_blobs([c if isinstance(c, bytes) else (self.toplevel / p).read_bytes()
                                        for p, c in items if c is not None]))
        entries = [f"0 {ZERO_OID}\t{path}" if content is None else f"{_FILE_MODE} {next(blobs)}\t{path}"
                   for path, content in items]
        return ("\n".join(entries) + "\n").encode()

    def _write_blobs(self, contents: list[bytes]) -> list[str]:
        """Write each content as a blob, as it is (no filters), in one git run; their ids in order.
        A write the disk refuses names the git dir (the files written for git there are gone)."""
        if not contents:
            return []
        with naming(self.git_dir), tempfile.TemporaryDirectory(prefix="annover-blobs-", dir=self.git_dir) as tmp:
            paths = [Path(tmp) / str(i) for i in range(len(contents))]
            for path, content in zip(paths, contents):
                path.write_bytes(content)
            out = self.run("hash-object", "-w", "--no-filters", "--stdin-paths",
                           input="".join(f"{p}\n" for p in paths).encode())
        return out.split()

    def clear_private_index(self) -> bool:
        """Remove a private index (and its lock) an earlier commit left; True if there was one."""
        found = False
        for stale in (self.git_dir / _PRIVATE_INDEX, self.git_dir / f"{_PRIVATE_INDEX}.lock"):
            if stale.exists():
                found = True
                stale.unlink(missing_ok=True)
        return found

    def in_progress(self) -> str | None:
        """The git operation under way (``merge``, ``rebase``, ``cherry-pick``, ``revert``), None
        when there is none: the user is combining histories, annover's files included."""
        if not self.git_dir:
            return None
        for name, what in (("MERGE_HEAD", "merge"), ("rebase-merge", "rebase"), ("rebase-apply", "rebase"),
                           ("CHERRY_PICK_HEAD", "cherry-pick"), ("REVERT_HEAD", "revert")):
            if (self.git_dir / name).exists():
                return what
        return None

    def interrupted(self) -> bool:
        """A commit or an index sync was cut short (their files are still there)."""
        return any((self.git_dir / name).exists() for name in (_SYNC_MARKER, _PRIVATE_INDEX, _CHECKOUT_MARKER))

    def index_differences(self, *paths: str) -> bytes:
        """``update-index --index-info`` lines that make the index agree with HEAD under ``path``
        (empty when it does): HEAD's entry for a path that differs, a removal for one HEAD lacks."""
        out = run_git(["diff-index", "--cached", "--no-renames", "-z", "HEAD", "--", *paths], self.toplevel,
                      check=False)
        fields = out.split(b"\0")
        lines = []
        for meta, p in zip(fields[0::2], fields[1::2]):
            if not meta.startswith(b":"):
                continue
            head_mode, _, head_blob = meta[1:].split()[:3]
            if head_mode == b"000000":  # staged here, absent from HEAD
                lines.append(b"0 " + ZERO_OID.encode() + b"\t" + p + b"\n")
            else:
                lines.append(head_mode + b" " + head_blob + b"\t" + p + b"\n")
        return b"".join(lines)

    def index_agrees(self, path: str) -> bool:
        """Whether the index agrees with HEAD under ``path`` (:meth:`index_differences` is empty).

        A yes is remembered in the git dir with the index file's identity (inode, size, times)
        and HEAD's commit it was found with, and holds while both stay: git replaces the index
        by renaming a new file over it, and a commit's tree never changes. So a repository
        opened again runs no git for it (2 ms a command)."""
        seen = self._index_state(path)
        marker = self.git_dir / _AGREES
        try:
            if seen is not None and marker.read_text() == seen:
                return True
        except (OSError, UnicodeDecodeError):
            pass
        if self.index_differences(path):
            return False
        if seen is not None and self._index_state(path) == seen:  # nothing moved while git looked
            try:
                write_atomic(marker, seen.encode())
            except OSError:
                pass  # a read-only repository: ask git each time
        return True

    def _index_state(self, path: str) -> str | None:
        """What :meth:`index_agrees` remembers an answer by, or None when it cannot tell."""
        head = self.head_oid()
        try:
            st = (self.git_dir / "index").stat()
        except OSError:
            return None
        if head is None:
            return None
        return f"{path}\0{head}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\n"

    def _begin_sync(self, paths: "Sequence[str]") -> None:
        """Mark an index update of ``paths`` under way (until HEAD moved to the commit that holds them)."""
        write_atomic(self.git_dir / _SYNC_MARKER, "\0".join(paths).encode("utf-8", errors="surrogateescape"))

    def _synced_paths(self, default: str) -> "list[str] | None":
        """The paths the sync marker names (an older marker, ``1``: ``default``), None without one."""
        try:
            data = (self.git_dir / _SYNC_MARKER).read_bytes()
        except FileNotFoundError:
            return None
        paths = [p for p in data.decode("utf-8", errors="surrogateescape").split("\0") if p]
        return [default] if paths in ([], ["1"]) else paths

    def _sync_paths(self, paths: "Sequence[str]") -> bool:
        """Make the user's index agree with HEAD for the files under ``paths``; whether anything changed."""
        index_info = self.index_differences(*paths)
        if index_info:
            self.run("update-index", "--index-info", input=index_info)
        return bool(index_info)

    def sync_index(self, path: str = ".") -> bool:
        """Undo what annover's own index update, cut short, left in the user's index: the files the
        sync marker names made to agree with HEAD (whether anything had to change). Without the
        marker nothing is touched: what the index stages then is the user's (a ``git add`` of
        annover's files stays staged; a write that commits such a file refuses, see :meth:`refuse_staged`)."""
        paths = self._synced_paths(path)
        if paths is None:
            return False
        (self.git_dir / "index.lock").unlink(missing_ok=True)  # left by our own killed update-index
        changed = self._sync_paths(paths)
        (self.git_dir / _SYNC_MARKER).unlink(missing_ok=True)
        return changed

    def finish_interrupted_sync(self, path: str) -> bool:
        """Finish an index update a killed process left (run under annover's lock); True if one was."""
        if not (self.git_dir / _SYNC_MARKER).exists():
            return False
        self.sync_index(path)
        return True
