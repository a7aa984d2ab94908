"""File helpers every layer shares: one atomic write, one file hash.

``write_atomic`` writes a temporary file in the destination's folder, fsyncs it and
renames it into place, so a reader (or a process killed half-way) sees either the old
content or the new one, never a torn file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterable

__all__ = ["sha256_file", "write_atomic", "write_chunks_atomic"]


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
        with os.fdopen(fd, "wb") as f:
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


def sha256_file(path: "str | Path") -> str:
    """The sha256 of a file's content, read in blocks (never whole into memory)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
