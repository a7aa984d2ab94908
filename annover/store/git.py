"""The one git adapter: every git command annover runs goes through :class:`Git`.

git runs as a subprocess (``git`` on PATH), not through gitpython: importing gitpython
would cost ``annover log`` a large part of its startup, and gitpython runs git as a
subprocess for these plumbing calls anyway. One error policy: :meth:`Git.run` raises :class:`GitError` with
git's last message line when the command fails, or (``check=False``) returns ``""``.

Where a ref or path comes from data, git's options end with ``--`` (or
``--end-of-options``) so a value can never be read as an option.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable, Mapping

from annover.errors import GitError, NotARepoError
from annover.files import write_atomic

__all__ = ["Git", "ZERO_OID", "Stage"]

#: git's "no object" id: update-ref's expected value for a ref that must not exist yet.
ZERO_OID = "0" * 40
#: Called with a stage name at the commit's points of no return (the crash tests' hook).
Stage = Callable[[str], None]

_PRIVATE_INDEX = "annover-index"
_SYNC_MARKER = "annover-syncing"
_FILE_MODE = "100644"
_HINT = "check the git repository (git status) and try again"


def _noop(_: str) -> None:
    pass


def run_git(args: list[str], cwd: Path, *, env: Mapping[str, str] | None = None, input: bytes | None = None,
            check: bool = True) -> bytes:
    """Run ``git ARGS`` in ``cwd``; its stdout. Failed: GitError, or ``b""`` when not ``check``."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    try:
        p = subprocess.run(["git", *args], cwd=cwd, env=full_env, input=input, capture_output=True)
    except FileNotFoundError:
        raise GitError("git is not installed (no `git` on PATH)", "install git") from None
    if p.returncode != 0:
        if not check:
            return b""
        msg = (p.stderr or p.stdout).decode(errors="replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {msg[-1] if msg else p.returncode}", _HINT)
    return p.stdout


class Git:
    """A git work tree, seen from ``cwd`` (a folder inside it)."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = Path(cwd)
        self._toplevel: Path | None = None
        self._git_dir: Path | None = None

    # ------------------------------------------------------------------ setup

    @staticmethod
    def toplevel_of(path: Path) -> Path | None:
        """The work tree ``path`` is in, or None outside any."""
        out = run_git(["rev-parse", "--show-toplevel"], path, check=False).decode().strip()
        return Path(out).resolve() if out else None

    @staticmethod
    def init(path: Path, branch: str = "main") -> None:
        run_git(["init", "-q", "-b", branch], path)

    @property
    def toplevel(self) -> Path:
        if self._toplevel is None:
            top = self.toplevel_of(self.cwd)
            if top is None:
                raise NotARepoError(f"{self.cwd} is not inside a git work tree", "run `annover init` here")
            self._toplevel = top
        return self._toplevel

    @property
    def git_dir(self) -> Path:
        if self._git_dir is None:
            self._git_dir = Path(self.run("rev-parse", "--absolute-git-dir").strip())
        return self._git_dir

    def rel(self, path: Path) -> str:
        """``path`` relative to the top level, posix style (what git plumbing takes)."""
        return Path(os.path.relpath(Path(path).resolve(), self.toplevel)).as_posix()

    # ------------------------------------------------------------------ commands

    def run(self, *args: str, env: Mapping[str, str] | None = None, input: bytes | None = None,
            check: bool = True) -> str:
        """``git ARGS`` at the top level; stdout as text (see :func:`run_git` for failures)."""
        return run_git(list(args), self.toplevel, env=env, input=input, check=check).decode()

    def rev_parse(self, rev: str) -> str | None:
        """The commit ``rev`` names, or None."""
        out = self.run("rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}", check=False)
        return out.strip() or None

    def head_commit(self) -> str | None:
        return self.rev_parse("HEAD")

    def show(self, commit: str, path: str) -> str | None:
        """The text of ``path`` at ``commit``, or None where it has none (or it is empty)."""
        return run_git(["cat-file", "blob", f"{commit}:{path}"], self.toplevel, check=False).decode() or None

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

    def commit_adding(self, path: str) -> str | None:
        """The commit that added ``path`` (on HEAD's history)."""
        return self.run("log", "--format=%H", "--diff-filter=A", "-1", "--", path, check=False).strip() or None

    # ------------------------------------------------------------------ tags

    def tags(self, name: str | None = None) -> set[str]:
        """Every tag name (or ``{name}`` if that tag exists)."""
        args = ["tag", "--list"] + (["--", name] if name is not None else [])
        return set(self.run(*args, check=False).split())

    def tag(self, name: str, commit: str, force: bool = False, check: bool = True) -> None:
        self.run("tag", *(["-f"] if force else []), "--", name, commit, check=check)

    # ------------------------------------------------------------------ identity

    def _config(self, key: str) -> str:
        return self.run("config", key, check=False).strip()

    def identity_env(self) -> dict[str, str]:
        """git author/committer, falling back to 'annover' where git has no identity."""
        env = {}
        if not self._config("user.name") and "GIT_AUTHOR_NAME" not in os.environ:
            env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = os.environ.get("USER") or "annover"
        if not self._config("user.email") and "GIT_AUTHOR_EMAIL" not in os.environ:
            env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "annover@localhost"
        return env

    def author(self) -> str:
        env = {**os.environ, **self.identity_env()}
        name = self._config("user.name") or env.get("GIT_AUTHOR_NAME", "")
        email = self._config("user.email") or env.get("GIT_AUTHOR_EMAIL", "")
        return f"{name} <{email}>"

    # ------------------------------------------------------------------ commits

    def commit(self, files: "dict[str, bytes | Path | None]", message: str, expected: str | None,
               stage: Stage = _noop) -> str:
        """Commit exactly ``files`` (paths relative to the top level) on top of ``expected``.

        A private index keeps the user's staged changes out; HEAD moves only if it still is
        ``expected`` (compare-and-swap ``update-ref``). Then the work tree and the user's
        index follow. ``stage`` is called just before and after HEAD moves.
        """
        env = {"GIT_INDEX_FILE": str(self.git_dir / _PRIVATE_INDEX), **self.identity_env()}
        self.clear_private_index()
        try:
            self.run("read-tree", *([expected] if expected else ["--empty"]), env=env)
            index_info = self._index_info(files)
            self.run("update-index", "--index-info", env=env, input=index_info)
            tree = self.run("write-tree", env=env).strip()
            commit = self.run("commit-tree", tree, *(["-p", expected] if expected else []), "-m", message,
                              env=env).strip()
            stage("before-update-ref")
            title = message.splitlines()[0] if message else ""
            self.run("update-ref", "-m", f"annover: {title}", "--", "HEAD", commit, expected or ZERO_OID)
        finally:  # a failed commit leaves nothing behind (a killed one is cleared by the next)
            self.clear_private_index()
        stage("after-update-ref")
        for path, content in files.items():
            target = self.toplevel / path
            if isinstance(content, bytes):
                write_atomic(target, content)
            elif content is None:
                target.unlink(missing_ok=True)
        self.sync_index(index_info=index_info)
        return commit

    def _index_info(self, files: "dict[str, bytes | Path | None]") -> bytes:
        """``update-index --index-info`` lines for ``files``; their blobs written to git."""
        entries = []
        for path, content in sorted(files.items()):
            if content is None:
                entries.append(f"0 {ZERO_OID}\t{path}")
                continue
            data = content if isinstance(content, bytes) else (self.toplevel / path).read_bytes()
            blob = self.run("hash-object", "-w", "--stdin", input=data).strip()
            entries.append(f"{_FILE_MODE} {blob}\t{path}")
        return ("\n".join(entries) + "\n").encode()

    def clear_private_index(self) -> bool:
        """Remove a private index (and its lock) an earlier commit left; True if there was one."""
        found = False
        for stale in (self.git_dir / _PRIVATE_INDEX, self.git_dir / f"{_PRIVATE_INDEX}.lock"):
            if stale.exists():
                found = True
                stale.unlink(missing_ok=True)
        return found

    def interrupted(self) -> bool:
        """A commit or an index sync was cut short (their files are still there)."""
        return (self.git_dir / _SYNC_MARKER).exists() or (self.git_dir / _PRIVATE_INDEX).exists()

    def sync_index(self, path: str = ".", index_info: bytes | None = None) -> None:
        """Make the user's index agree with HEAD for the files under ``path`` (marker-guarded)."""
        marker = self.git_dir / _SYNC_MARKER
        write_atomic(marker, b"1")
        if index_info is None:
            index_info = b"".join(f"{mode} {blob}\t{p}\n".encode()
                                  for p, mode, blob in self._ls_tree("HEAD", path))
        if index_info:
            self.run("update-index", "--index-info", input=index_info)
        marker.unlink(missing_ok=True)


    def finish_interrupted_sync(self, path: str) -> bool:
        """Finish an index sync a killed process left (run under annover's lock); True if one was."""
        if not (self.git_dir / _SYNC_MARKER).exists():
            return False
        (self.git_dir / "index.lock").unlink(missing_ok=True)  # left by our own killed update-index
        self.sync_index(path)
        return True
