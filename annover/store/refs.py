"""Refs (HEAD and tags) and the repository lock.

Refs are small text files holding a version id. They move only under the repository
lock and only by compare-and-swap (the caller says what it expects the old value to
be), and every move is logged in ``.annover/logs/HEAD`` like git's reflog.

Tag names come from files a cloned repository may have planted, so a name is checked
by git's ref-name rules (and annover's: no leading ``-``, no id look-alikes) wherever it
is read; a file whose name or content fails is left out and listed in ``Refs.rejected``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from pathlib import Path
from typing import Iterable

from annover.errors import LockError, NotARepoError, NotWritableError, UsageError
from annover.files import NO_ROOM, refused_hint, write_atomic  # write_atomic re-exported: older callers import it

__all__ = ["RepoLock", "Refs", "check_no_links", "check_tag_name", "flock_within", "is_tag_name", "is_version_id",
           "not_writable", "tag_order", "version_number", "write_atomic"]

_TAG_CHARS = re.compile(r"^[A-Za-z0-9._/-]{1,100}$")
_HEX_RE = re.compile(r"^[0-9a-f]{4,64}$")
_VERSION_ID = re.compile(r"^[0-9a-f]{64}$")
#: the most of a ref file read: a version id and a newline, with room to spare
_REF_BYTES = 4096


def _tag_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a tag (git's ``check-ref-format`` rules, narrowed), or None."""
    if not _TAG_CHARS.match(name):
        return "use letters, digits and . _ - / (as in git tags), e.g. v3 or round-2"
    if name.startswith("-"):
        return "a tag name cannot start with '-'"
    if name in ("HEAD", "@") or name.startswith("HEAD~") or name.startswith("HEAD^"):
        return "HEAD is a revision, not a tag name"
    if name.startswith("refs/"):  # refs/tags/refs/heads/main: read as the branch by git, as the tag by annover
        return "a tag name cannot start with 'refs/' (it reads as a full git ref name, such as a branch's)"
    if ".." in name or "//" in name or name.endswith(".") or name.endswith("/"):
        return "git forbids '..', '//' and a trailing '.' or '/' in ref names"
    for part in name.split("/"):
        if not part or part.startswith(".") or part.endswith(".lock"):
            return "git forbids an empty part, a part starting with '.' and a part ending in '.lock'"
    return None


_VERSION_NUMBER = re.compile(r"v(\d+)")


def version_number(name: str) -> int | None:
    """N of a version number annover gives (``vN``); None for any other name."""
    m = _VERSION_NUMBER.fullmatch(name)
    return int(m.group(1)) if m else None


def tag_order(name: str) -> tuple:
    """A sort key for tag names: vN tags by their number first (v2 before v10), then the others by
    name, as people read them."""
    n = version_number(name)
    return (0, n, name) if n is not None else (1, 0, name)


def is_tag_name(name: str) -> bool:
    """Whether ``name`` is a tag name annover accepts (see :func:`check_tag_name`)."""
    return _tag_name_problem(name) is None and not (_HEX_RE.match(name) and len(name) >= 7)


def is_version_id(value: str) -> bool:
    """Whether ``value`` has the form of a version id (64 lowercase hex digits)."""
    return bool(_VERSION_ID.match(value))


def check_tag_name(name: str) -> None:
    """Tag names follow git's rules (they become git tags too) and must not look like ids."""
    problem = _tag_name_problem(name)
    if problem:
        raise UsageError(f"invalid tag name {name!r}", problem)
    if _HEX_RE.match(name) and len(name) >= 7:
        raise UsageError(f"tag name {name!r} looks like a version id", "choose a name that is not all hex digits")


def _files_under(folder: str, parts: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """(path parts under the first ``folder``, path) of the files in ``folder`` and its folders, as
    ``Path.rglob`` with ``is_file`` finds them: a link to a file is one, a link to a folder is not
    followed (one ``scandir`` a folder, no ``stat`` of a plain file)."""
    out: list[tuple[tuple[str, ...], str]] = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return out
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            out += _files_under(e.path, (*parts, e.name))
        elif e.is_file():
            out.append(((*parts, e.name), e.path))
    return out


def flock_within(fd: int, timeout: float, how: int = fcntl.LOCK_EX) -> bool:
    """Take a ``flock`` of ``fd`` (exclusive, or ``how``: ``fcntl.LOCK_SH``), waiting up to
    ``timeout`` seconds; False if not had."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, how | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


#: annover's own paths a command writes in place or into (the lock, the log it appends to, the
#: folders it writes files in): a symbolic link there, which a repository someone clones can hold
#: (git checks out a committed link, also in a folder .gitignore names), leads the write outside
_WRITTEN = ("lock", "logs", "logs/HEAD", "logs/notebook", "objects", "refs", "samples", "tmp", "versions")


def check_no_links(adir: Path) -> None:
    """NotARepoError (exit 6) naming the first of annover's own paths in ``adir`` that is a symbolic
    link: one of :data:`_WRITTEN`, a shard folder of the store (``objects/ab``), a folder of the
    tags (``refs/tags/team``). A file of the store may be one (DVC's symlink cache makes them)."""
    found = [adir / n for n in _WRITTEN if (adir / n).is_symlink()]
    if not found and (adir / "objects").is_dir():
        found = sorted(Path(e.path) for e in os.scandir(adir / "objects") if e.is_symlink())
    if not found and (adir / "refs").is_dir():
        found = sorted(Path(here, d) for here, dirs, _ in os.walk(adir / "refs") for d in dirs
                       if Path(here, d).is_symlink())
    if found:
        rel = f"{adir.name}/{found[0].relative_to(adir).as_posix()}"
        raise NotARepoError(f"{rel} is a symbolic link (to {os.readlink(found[0])}): annover writes there, so it "
                            "would write where the link leads, outside the repository",
                            f"remove it (annover never makes one; `git rm --cached -- {rel}` too if a commit added "
                            "it), then run the command again")


def not_writable(e: OSError, again: str = "run it again") -> NotWritableError:
    """A write the machine refused (``e``, its errno one of :data:`annover.files.REFUSED`) as
    annover's error, exit 6: the file it names, why, and what to do (``again``: then what)."""
    filename = os.fsdecode(e.filename) if isinstance(e.filename, (str, bytes, os.PathLike)) else e.filename
    return NotWritableError(None if filename is None else str(filename), e.strerror or str(e), e.errno,
                            refused_hint(e.errno, again))


class RepoLock:
    """An exclusive advisory lock on ``.annover/lock`` (fcntl.flock: released if the process dies).

    While held, the lock file holds the holder's pid (on a full disk, as many zero bytes, a hole
    that needs no block); a clean exit empties it. A lock file
    that is not empty while nobody holds the lock is what a killed writer left
    (:meth:`left_by_dead_writer`): the next command repairs the repository.
    """

    def __init__(self, path: Path, timeout: float = 60.0) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None
        #: whether the lock file still held a pid when this process took the lock: its last
        #: holder died holding it (a clean exit empties it), so what it wrote may be half done
        self.inherited = False

    def __enter__(self) -> "RepoLock":
        check_no_links(self.path.parent)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as e:  # a read-only folder or file system: nothing can be written, say so in one line
            raise NotARepoError(f"the repository cannot be written: {self.path}: {e.strerror or e}",
                                "make it writable (its folder, .annover/, .git/ and .dvc/), or run the command in "
                                "a writable clone (git clone, then annover pull)") from None
        if not flock_within(fd, self.timeout):
            os.close(fd)
            raise LockError(f"the repository is locked by another annover process ({self.path})",
                            "wait for it to finish and run the command again")
        self._fd = fd
        self.inherited = bool(os.pread(fd, 64, 0).strip())  # a pid, or the zeros of a full disk's mark
        os.ftruncate(fd, 0)
        mark = f"{os.getpid()}\n".encode()
        try:
            os.pwrite(fd, mark, 0)
        except OSError as e:  # a full disk: the pid's few bytes need a block, refused; the lock is still
            if e.errno not in NO_ROOM:  # held, so that `annover gc` can free space (a write's own ENOSPC
                self.__exit__()  # names its file), and marked taken by its size alone (:meth:`_mark_by_size`)
                raise
            self._mark_by_size(fd, len(mark))
        return self

    @staticmethod
    def _mark_by_size(fd: int, size: int) -> None:
        """Mark the lock file taken without writing a byte: ``size`` bytes of a hole (``ftruncate``
        past the end needs no block, so a full disk allows it), read back as zeros, which
        :attr:`inherited` and :meth:`left_by_dead_writer` see as a pid. A file system with no holes
        (FAT) may refuse it too: the lock is then held unmarked (a mark, best effort), and a holder
        killed then is not seen by the next command (its repair waits for the next kill that is)."""
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def left_by_dead_writer(self) -> bool:
        """Whether a process died holding the lock (its pid is still in the lock file).

        Also true for a moment while a live process holds it; callers then find the lock busy.
        """
        try:
            return self.path.stat().st_size > 0
        except OSError:
            return False


class Refs:
    """HEAD and tags under ``.annover`` (``HEAD``, ``refs/tags/NAME``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        #: tag files the last :meth:`tags` left out (a name git would refuse, or not a version id)
        self.rejected: list[str] = []

    def _path(self, name: str) -> Path:
        if name == "HEAD":
            return self.root / "HEAD"
        check_tag_name(name)
        return self.root / "refs" / "tags" / name

    def read(self, name: str) -> str | None:
        try:  # a ref is a line: read no more (a clone's link to /dev/zero took all memory)
            with open(self._path(name), "rb") as f:
                value = f.read(_REF_BYTES).decode().strip()
        except FileNotFoundError:
            return None
        return value or None

    def tags(self) -> dict[str, str]:
        """``{name: version id}`` of the tag files; a bad name or content goes to :attr:`rejected`."""
        out: dict[str, str] = {}
        rejected: list[str] = []
        for parts, path in sorted(_files_under(str(self.root / "refs" / "tags"), ())):
            if parts[-1].startswith("."):  # temporary files of write_atomic
                continue
            name = "/".join(parts)
            try:
                with open(path, "rb") as f:
                    value = f.read().decode("ascii").strip()
            except (OSError, UnicodeDecodeError):
                value = ""
            if is_tag_name(name) and is_version_id(value):
                out[name] = value
            else:
                rejected.append(name)
        self.rejected = rejected
        return out

    def clash(self, name: str, others: Iterable[str] = ()) -> str | None:
        """A tag that a new tag ``name`` cannot sit beside, as git refuses it too: one named by a
        folder of ``name`` (``x`` for ``x/y``), or one inside it (``x/y`` for ``x``); among the
        tag files here and ``others`` (git's tags)."""
        names = set(self.tags()) | set(others)
        return next((t for t in sorted(names) if name.startswith(t + "/") or t.startswith(name + "/")), None)

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
