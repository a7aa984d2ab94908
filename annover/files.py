"""File helpers every layer shares: one atomic write, one folder of many files, one file hash.

``write_atomic`` writes a temporary file in the destination's folder, fsyncs it and
renames it into place, so a reader (or a process killed half-way) sees either the old
content or the new one, never a torn file.
"""

from __future__ import annotations

import hashlib
import errno
import os
import re
import stat
import tempfile
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

__all__ = ["BOM", "NO_ROOM", "READ_ONLY", "REFUSED", "bad_name", "dvc_cache_object", "file_mode", "long_name", "naming",
           "not_a_file", "not_utf8_at", "refused_hint", "sha256_file", "under_a_file", "unwritable", "write_atomic",
           "write_chunks_atomic", "write_files"]

#: errnos of a disk (or quota) with no room left
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})
#: errnos of a place that cannot be written at all: a read-only mount, no permission
READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
#: errnos of a write the machine refused: no room (also a file-size limit, EFBIG), or not
#: writable (a read-only mount, e.g. of a DVC cache outside the repository; no permission)
REFUSED = NO_ROOM | {errno.EFBIG} | READ_ONLY

_WRITABLE = ("check its permissions and that its file system is not read-only, or run the command in a "
             "writable clone (git clone, then annover pull)")
#: what to do about a write the machine refused, by its errno: the one source of the hint the CLI's
#: line and the library's error give (``{again}``: what to do then, see :func:`refused_hint`)
_REFUSED_HINTS = {errno.EROFS: _WRITABLE, errno.EACCES: _WRITABLE, errno.EPERM: _WRITABLE,
                  errno.ENOSPC: "free some space (`annover gc` drops objects no version needs) and {again}",
                  errno.EDQUOT: "free some of your quota and {again}",
                  errno.EFBIG: "a limit on a file's size refused it (`ulimit -f`, or the file system's largest "
                               "file): raise the limit or use another file system, and {again}"}


def refused_hint(number: "int | None", again: str = "run it again") -> str | None:
    """What to do about a write the machine refused with errno ``number`` (one of :data:`REFUSED`),
    ending with ``again`` (for a full disk, a quota, a file-size limit); None for another errno."""
    hint = _REFUSED_HINTS.get(number) if number is not None else None
    return hint.format(again=again) if hint is not None else None

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_DIR_FD = os.open in os.supports_dir_fd


_UMASK: list[int] = []


def _umask() -> int:
    """The process's umask: from ``/proc/self/status`` where Linux gives it (setting the umask
    to read it would, for a moment, loosen it for every other thread), else set and set back."""
    if not _UMASK:
        try:
            with open("/proc/self/status", encoding="ascii") as f:
                found = [line.split()[1] for line in f if line.startswith("Umask:")]
            _UMASK.append(int(found[0], 8))
        except (OSError, IndexError, ValueError):
            mask = os.umask(0o022)
            os.umask(mask)
            _UMASK.append(mask)
    return _UMASK[0]


def file_mode(folder: bool = False) -> int:
    """The mode ``open`` or ``mkdir`` would give a new file (folder) here: 0o666 (0o777) less the
    umask. A temporary file (``mkstemp``: 0o600) renamed into place is set to it, so that
    what annover writes is as readable as what any other tool writes."""
    return (0o777 if folder else 0o666) & ~_umask()


@contextmanager
def naming(path: "str | Path") -> Iterator[None]:
    """An OSError raised inside that names no file (a ``write`` refused for a full disk, ENOSPC, or a
    file-size limit, EFBIG) names ``path``: the error the user sees says which file could not be written."""
    try:
        yield
    except OSError as e:
        if e.filename is None:
            e.filename = str(path)
        raise


def write_atomic(path: "str | Path", data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync and a rename."""
    write_chunks_atomic(path, [data])


def write_chunks_atomic(path: "str | Path", chunks: Iterable[bytes]) -> int:
    """Write ``chunks`` one after another to ``path`` via a temporary file, fsync and a rename
    (a large export streamed, never whole in memory); the bytes written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    size = 0
    try:
        with naming(path), os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), file_mode())
            for chunk in chunks:
                f.write(chunk)
                size += len(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return size


def write_files(folder: "str | Path", files: dict[str, bytes], threads: int = 4) -> None:
    """Create each of ``files`` (a path relative to ``folder``, with ``/`` between parts -> its
    bytes) in ``folder``; their parent folders are made, a file that exists is an error.

    A YOLO or VOC export is 100,000 small files: each is created relative to its parent
    folder's descriptor (no path walked per file), by ``threads`` threads at once (the system
    calls run outside the GIL, and a file system overlaps them). The caller checks that the
    paths stay inside ``folder`` and removes the folder if this raises.
    """
    by_parent: dict[str, list[tuple[str, bytes]]] = {}
    for rel, data in files.items():
        parent, _, name = rel.rpartition("/")
        by_parent.setdefault(parent, []).append((name, data))
    fds: list[int] = []
    work: list[tuple[int | str, str, bytes]] = []
    by_fd = _DIR_FD and len(by_parent) <= 256  # a descriptor open per folder: for a few folders only
    try:
        for parent, items in by_parent.items():
            where = os.path.join(folder, parent)
            os.makedirs(where, exist_ok=True)
            if by_fd:
                fds.append(os.open(where, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)))
            work += [(fds[-1] if by_fd else where, name, data) for name, data in items]
        k = max(1, min(threads, len(work) // 1000))
        stop = threading.Event()  # set when one thread fails or the caller is interrupted: the others stop too
        if k == 1:
            _create(work, stop)
            return
        step = -(-len(work) // k)
        with ThreadPoolExecutor(max_workers=k, thread_name_prefix="annover-write") as ex:
            try:
                futures = [ex.submit(_create, work[i:i + step], stop) for i in range(0, len(work), step)]
                if wait(futures, return_when=FIRST_EXCEPTION).not_done:  # one failed
                    stop.set()
                for f in futures:
                    f.result()
            except BaseException:
                stop.set()
                raise
    finally:
        for fd in fds:
            os.close(fd)


def _create(work: list[tuple[int | str, str, bytes]], stop: threading.Event) -> None:
    op, wr, cl = os.open, os.write, os.close
    for where, name, data in work:
        if stop.is_set():
            return
        if type(where) is int:
            fd = op(name, _FLAGS, 0o666, dir_fd=where)
        else:
            fd = op(os.path.join(where, name), _FLAGS, 0o666)
        try:
            with naming(name if type(where) is int else os.path.join(where, name)):
                n = wr(fd, data)
                while n < len(data):  # a short write (a signal, a full pipe): the rest
                    n += wr(fd, memoryview(data)[n:])
        finally:
            cl(fd)


def sha256_file(path: "str | Path") -> str:
    """The sha256 of a file's content, read in blocks (never whole into memory)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


#: Bytes a file name may have on the file systems annover writes to, less the room its temporary name takes.
_NAME_ROOM = 255 - 40


def unwritable(path: str | Path) -> str | None:
    """Why a file could not be written at ``path`` (its folder made if missing), or None: checked
    before the work that would end in writing it (a folder under a file, no permission, a name
    too long for the file system). The folders it makes to find out are removed: the command that
    writes makes them, and one that fails after the check leaves none behind."""
    p = Path(path)
    why = bad_name(p) or under_a_file(p.parent)
    if why:
        return why
    made = [d for d in (p.parent, *p.parent.parents) if not os.path.lexists(d)]  # the deepest first
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".annover-check.", suffix=".tmp", dir=p.parent)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        return e.strerror or str(e)
    finally:
        for d in made:
            try:
                d.rmdir()
            except OSError:  # not made here after all, or something landed in it meanwhile: it stays
                break
    return None


def bad_name(path: str | Path) -> str | None:
    """Why ``path`` cannot name a file to write, or None: blank, ``-`` (not standard output here),
    or a name too long for a file system. No look at the disk: such a name makes every look at
    the path fail, so it is checked first."""
    if not str(path).strip() or str(path) == "-":
        return f"{str(path)!r} is not a file name"
    return long_name(path)


def long_name(path: str | Path) -> str | None:
    """Why ``path``'s name is too long for a file system, or None (no look at the disk)."""
    n = len(os.fsencode(Path(path).name))
    return f"its name is {n} bytes long; file systems take 255" if n > _NAME_ROOM else None


def under_a_file(path: str | Path) -> str | None:
    """Why no folder can be made at ``path`` because it, or the nearest of its parents that
    exists, is a file; else None."""
    p = Path(path).absolute()
    below = next((d for d in (p, *p.parents) if d.exists()), None)
    return f"{below} is a file, not a folder" if below is not None and not below.is_dir() else None


#: what a path that is neither a file nor a folder is, by its stat mode
_SPECIAL = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISSOCK, "a socket"))


def _handed_pipe(path: Path) -> bool:
    """Whether ``path`` names a pipe this process was handed open, its writer already running:
    a shell's ``<(command)`` (``/dev/fd/N``) or a piped ``/dev/stdin``. Linux shows such a pipe
    as a link to ``pipe:[N]``; where /dev/fd holds no links (macOS), the path says it."""
    p = str(path)
    for _ in range(8):  # /dev/stdin -> /proc/self/fd/0 -> pipe:[N]
        try:
            p = os.path.join(os.path.dirname(p), os.readlink(p))
        except OSError:
            break
        if os.path.basename(p).startswith("pipe:"):
            return True
    return str(path).startswith(("/dev/fd/", "/dev/stdin"))


def not_a_file(path: str | Path, reads_once: bool = False) -> str | None:
    """What ``path`` is when an input option cannot read it as a file ("a named pipe", "a pipe",
    "a character device", ...), else None (a file, a folder, a missing path). A named pipe is
    refused always: no one may ever write to it, and reading it would wait forever. A pipe the
    shell opened (``<(command)``) is let through when ``reads_once``: its reader reads it once,
    to its end."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    kind = next((k for test, k in _SPECIAL if test(mode)), None)
    if kind is not None and stat.S_ISFIFO(mode) and _handed_pipe(Path(path)):
        return None if reads_once else "a pipe"
    return kind


#: a DVC cache object: a folder of two hex digits holding a file named by the rest of its md5
#: (``.dvc/cache/files/md5/3f/a1...`` in DVC 3, ``.dvc/cache/3f/a1...`` in DVC 2)
_DVC_OBJECT = re.compile(r"/[0-9a-f]{2}/[0-9a-f]{30}$")


def dvc_cache_object(real: str) -> bool:
    """Whether the resolved path ``real`` is a DVC cache object (where DVC's symlink cache makes each
    tracked file lead)."""
    return bool(_DVC_OBJECT.search(real.replace(os.sep, "/")))


#: the UTF-8 byte order mark (Windows editors write one)
BOM = b"\xef\xbb\xbf"


def not_utf8_at(path: Path) -> str:
    """`` at line N column C``: where the first text of ``path`` that is not UTF-8 is (the column
    counts characters), for an error said after a decoder failed somewhere in the file; '' if none."""
    try:
        with path.open("rb") as f:
            for n, raw in enumerate(f, 1):
                if n == 1 and raw.startswith(BOM):
                    raw = raw[len(BOM):]
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    return f" at line {n} column {len(raw[:e.start].decode('utf-8', 'replace')) + 1}"
    except OSError:
        return ""
