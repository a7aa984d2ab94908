"""The files of a dataset folder a training-format reader (YOLO, Pascal VOC) may read.

A folder given to ``annover snapshot --from`` is read, not trusted: a label file, class list or
VOC XML that is a link leading out of the folder (``labels/a.txt -> ~/.aws/credentials``) is
refused before a byte of it is read, since its text would go into the version (class names into
the committed labeling config) or into an error message. Links within the folder are read, and
so are links into a DVC cache (DVC's ``symlink`` cache type makes every tracked file one). A
pipe or device named like a label file is refused too: reading it would never end.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from annover.errors import InputError
from annover.files import dvc_cache_object, not_a_file

__all__ = ["Folder"]


class Folder:
    """A dataset folder whose files a reader opens: :meth:`own` refuses those it must not read."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real = os.path.realpath(root)
        self._prefix = self.real.rstrip(os.sep) + os.sep
        self._dirs: dict[str, str] = {}  # folder -> where it leads: one realpath per folder, not per file

    def _inside(self, real: str) -> bool:
        return real == self.real or real.startswith(self._prefix)

    def own(self, f: Path) -> Path:
        """``f`` once its text may be read: a regular file that lies in the folder where it leads (or a
        DVC cache object: DVC's symlink cache makes each tracked file a link into it); InputError naming
        it otherwise. A link leading elsewhere (``labels/a.txt -> ~/.aws/credentials``) is not read: its
        text would go into the version or an error message. A FIFO or device would never end."""
        path = os.fspath(f)
        parent, name = os.path.split(path)
        known = self._dirs.get(parent)
        if known is None:
            known = self._dirs[parent] = self._listing(parent)
        where, plain = known
        if name in plain:  # a regular file, no link, in a folder inside: the common case, no system call
            return f
        link = os.path.islink(path)
        real = os.path.realpath(path) if link else os.path.join(where, name)
        if not self._inside(real) and not dvc_cache_object(real):
            raise InputError(f"{f}: a link to {real}, outside the dataset folder {self.root}; annover reads no "
                             "labels from outside it", "copy the file into the folder, or remove the link "
                             "(a link inside the folder, or into a DVC cache, is read)")
        try:
            mode = os.stat(path).st_mode
        except OSError as e:  # a link to nothing
            raise InputError(f"{f}: cannot be read ({e.strerror})", "put the file itself there, or remove it") from None
        if not stat.S_ISREG(mode):
            what = "a folder" if stat.S_ISDIR(mode) else not_a_file(path) or "not a regular file"
            raise InputError(f"{f}: {what}, where a file is read", "put the file itself there, or remove it")
        return f

    def _listing(self, folder: str) -> tuple[str, frozenset[str]]:
        """(where ``folder`` leads, the names of its regular files that are no links) when it lies
        inside the dataset folder (no names otherwise): one directory read tells them apart, where a
        system call per file would cost as much as reading it."""
        where = os.path.realpath(folder)
        if not self._inside(where):
            return where, frozenset()
        try:
            with os.scandir(folder) as it:
                return where, frozenset(e.name for e in it if e.is_file(follow_symlinks=False))
        except OSError:
            return where, frozenset()
