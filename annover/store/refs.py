"""Refs (HEAD and tags) and the repository lock.

Refs are small text files holding a version id. They move only under the repository
lock and only by compare-and-swap (the caller says what it expects the old value to
be), and every move is logged in ``.annover/logs/HEAD`` like git's reflog.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from pathlib import Path

from annover.errors import LockError, UsageError
from annover.files import write_atomic  # re-exported: older callers import it from here

__all__ = ["RepoLock", "Refs", "check_tag_name", "write_atomic"]

_TAG_RE = re.compile(r"^(?!.*\.\.)(?!.*@\{)(?!/)(?!.*/$)(?!.*\.lock$)(?!-)[A-Za-z0-9._/-]{1,100}$")
_HEX_RE = re.compile(r"^[0-9a-f]{4,64}$")


def check_tag_name(name: str) -> None:
    """Tag names follow git's rules (they become git tags too) and must not look like ids."""
    if not _TAG_RE.match(name) or name in ("HEAD", "@") or name.startswith("HEAD~") or name.endswith("."):
        raise UsageError(f"invalid tag name {name!r}",
                         "use letters, digits and . _ - / (as in git tags), e.g. v3 or round-2")
    if _HEX_RE.match(name) and len(name) >= 7:
        raise UsageError(f"tag name {name!r} looks like a version id", "choose a name that is not all hex digits")


class RepoLock:
    """An exclusive advisory lock on ``.annover/lock`` (fcntl.flock: released if the process dies)."""

    def __init__(self, path: Path, timeout: float = 60.0) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> "RepoLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockError(f"the repository is locked by another annover process ({self.path})",
                                    "wait for it to finish and run the command again") from None
                time.sleep(0.05)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Refs:
    """HEAD and tags under ``.annover`` (``HEAD``, ``refs/tags/NAME``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        if name == "HEAD":
            return self.root / "HEAD"
        check_tag_name(name)
        return self.root / "refs" / "tags" / name

    def read(self, name: str) -> str | None:
        try:
            value = self._path(name).read_text().strip()
        except FileNotFoundError:
            return None
        return value or None

    def tags(self) -> dict[str, str]:
        base = self.root / "refs" / "tags"
        out = {}
        if base.is_dir():
            for p in sorted(base.rglob("*")):
                if p.is_file() and not p.name.startswith("."):
                    out[p.relative_to(base).as_posix()] = p.read_text().strip()
        return out

    def set(self, name: str, new: str, expected: str | None, log: str = "") -> None:
        """Set ``name`` to ``new`` if it still holds ``expected`` (None: must not exist)."""
        current = self.read(name)
        if current != expected:
            raise LockError(f"ref {name} moved: expected {expected or 'nothing'}, found {current or 'nothing'}",
                            "another process changed the repository; run the command again")
        write_atomic(self._path(name), (new + "\n").encode())
        if name == "HEAD":
            self.log(expected, new, log)

    def delete(self, name: str) -> None:
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            pass

    def log(self, old: str | None, new: str, message: str) -> None:
        logs = self.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        line = f"{old or '0' * 64} {new} {int(time.time())} {message}".replace("\n", " ")
        with open(logs / "HEAD", "a", encoding="utf-8") as f:
            f.write(line + "\n")
