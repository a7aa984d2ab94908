"""Write-once, verified object stores.

Objects are addressed by the sha256 of their bytes and laid out as ``oid[:2]/oid[2:]``.
Every store re-hashes an object on read (:meth:`ObjectStore.get`), and checks an id
before it becomes part of a path. Each object's md5 travels with it in every reference,
because DVC's cache is md5-addressed: an object that is not in the working store (an
older version's part) is read straight from the DVC cache.

Two implementations share the :class:`ObjectStore` interface: :class:`LocalStore` (a
folder, writable, with md5-addressed fallback folders such as the DVC cache) and
:class:`FsStore` (read-only, through an fsspec filesystem such as DVC's, for a
repository that is not cloned).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from annover.errors import ObjectError, RemoteError
from annover.files import file_mode, naming, sha256_file
from annover.store.credentials import redact_text

__all__ = ["SHA256_RE", "TAMPERED", "FsStore", "LocalStore", "ObjectRef", "ObjectStore", "check_md5", "check_oid",
           "first_line", "sha256_file", "shard", "verify"]

SHA256_RE = re.compile(r"[0-9a-f]{64}")
_MD5_RE = re.compile(r"[0-9a-f]{32}")
#: The hint of a record or manifest whose references are not in annover's form.
TAMPERED = ("the record or manifest was edited or damaged: restore it from git (`git log -p` on the file) "
             "or pull the version again")
_PULL_HINT = ("run `annover pull` (every version) or `annover pull <rev>` (the version that needs it) to "
              "fetch it from the DVC remote")


@dataclass(frozen=True)
class ObjectRef:
    """Where an object is and how to check it: sha256 (its id), md5 (DVC's key), size."""

    oid: str
    md5: str
    size: int

    def to_json(self) -> dict:
        return {"oid": self.oid, "md5": self.md5, "size": self.size}

    @classmethod
    def from_json(cls, d: Any, where: str = "an object reference") -> "ObjectRef":
        """The reference a record or manifest holds, its fields checked for their form (they
        become paths in the store and DVC's cache); ObjectError naming ``where`` otherwise."""
        if not isinstance(d, dict):
            raise ObjectError(f"{where} is {type(d).__name__}, not an object reference", TAMPERED)
        oid, md5, size = d.get("oid"), d.get("md5"), d.get("size")
        if not isinstance(oid, str) or not SHA256_RE.fullmatch(oid):
            raise ObjectError(f"{where}: oid {_shown(oid)} is not 64 hex digits (sha256)", TAMPERED)
        if not isinstance(md5, str) or not _MD5_RE.fullmatch(md5):
            raise ObjectError(f"{where}: md5 {_shown(md5)} is not 32 hex digits", TAMPERED)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ObjectError(f"{where}: size {_shown(size)} is not a byte count", TAMPERED)
        return cls(oid, md5, size)

    @classmethod
    def of(cls, data: bytes) -> "ObjectRef":
        """The reference of ``data``."""
        return cls(hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), len(data))


def _shown(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 70 else text[:67] + "..."


def check_oid(oid: str) -> str:
    """``oid`` if it is a sha256 in hex (so it is safe in a path); ObjectError otherwise."""
    if not isinstance(oid, str) or not SHA256_RE.fullmatch(oid):
        raise ObjectError(f"invalid object id {oid!r}", "object ids are 64 hex digits (sha256)")
    return oid


def check_md5(md5: str) -> str:
    """``md5`` if it is an md5 in hex (DVC's cache key); ObjectError otherwise."""
    if not isinstance(md5, str) or not _MD5_RE.fullmatch(md5):
        raise ObjectError(f"invalid object md5 {md5!r}", "object md5s are 32 hex digits")
    return md5


def shard(key: str) -> str:
    """The ``ab/cdef...`` layout of a checked key (git's, DVC's and annover's)."""
    return f"{key[:2]}/{key[2:]}"


def verify(ref: ObjectRef, data: bytes, what: str, where: str, hint: str) -> bytes:
    """``data`` when it hashes to ``ref``'s sha256; ObjectError naming ``where`` otherwise."""
    if hashlib.sha256(data).hexdigest() != ref.oid:
        raise ObjectError(f"{what} {ref.oid[:12]} is corrupt: its content does not match its hash ({where})", hint)
    return data


class ObjectStore(ABC):
    """What every store does: find, check and read objects by reference; writable ones store them."""

    #: ``put`` works (a read-only store raises ObjectError).
    writable: bool = False

    @abstractmethod
    def locate(self, ref: ObjectRef) -> Path | None:
        """A local file holding the object, or None (not here, or not a local store)."""

    @abstractmethod
    def has(self, ref: ObjectRef) -> bool:
        """The store can give the object (its content is not checked)."""

    @abstractmethod
    def get(self, ref: ObjectRef, what: str = "object") -> bytes:
        """The object's bytes, verified against its sha256; ObjectError if missing or corrupt."""

    def put(self, data: bytes) -> ObjectRef:
        """Store ``data`` once; return its reference."""
        raise ObjectError(f"{type(self).__name__} is read-only", "write to the repository's own store")


class LocalStore(ObjectStore):
    """Objects in a folder (the DVC-tracked working store), with md5-addressed fallbacks to read from.

    ``find_fallbacks`` is called when an object is in neither the folder nor the fallbacks
    found so far, so that reading the newest version never looks for the DVC cache, and a
    Repo kept open (a notebook's) finds the cache again after ``dvc cache dir`` moved it.
    """

    writable = True

    def __init__(self, root: Path, fallbacks: Iterable[Path] = (),
                 find_fallbacks: Callable[[], Iterable[Path]] | None = None) -> None:
        self.root = Path(root)
        #: md5-addressed folders (DVC's ``files/md5``) tried when the folder lacks an object.
        self.fallbacks = list(fallbacks)
        self._given = list(fallbacks)
        self._find_fallbacks = find_fallbacks
        self._finding = threading.Lock()
        self._looked = 0  # how many times find_fallbacks was called

    def path(self, oid: str) -> Path:
        """Where object ``oid`` lives (or would) in the folder."""
        return self.root / shard(check_oid(oid))

    def put(self, data: bytes) -> ObjectRef:
        ref = ObjectRef.of(data)
        dest = self.path(ref.oid)
        if dest.exists():
            return ref
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
        try:
            with naming(dest), os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), file_mode())
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return ref

    def _in_fallbacks(self, ref: ObjectRef) -> Path | None:
        key = shard(check_md5(ref.md5))
        for cache in self.fallbacks:
            q = cache / key
            if q.exists():
                return q
        return None

    def locate(self, ref: ObjectRef) -> Path | None:
        p = self.path(ref.oid)
        if p.exists():
            return p
        return self._fallback(ref)

    def _fallback(self, ref: ObjectRef) -> Path | None:
        """The object's file in a fallback (the DVC cache); on a miss the fallbacks are looked for
        again (the cache may have moved since: a config read, on a miss only)."""
        looked = self._looked
        q = self._in_fallbacks(ref)
        if q is None and self._find_fallbacks is not None:
            with self._finding:  # parts are read in threads: the others wait for the first to find them
                if self._looked == looked:  # no other thread looked since this one missed
                    found = list(self._find_fallbacks())
                    self.fallbacks = self._given + [f for f in found if f not in self._given]
                    self._looked += 1
            q = self._in_fallbacks(ref)
        return q

    def has(self, ref: ObjectRef) -> bool:
        return self.locate(ref) is not None

    def get(self, ref: ObjectRef, what: str = "object") -> bytes:
        p = self.locate(ref)
        if p is None:
            raise ObjectError(f"{what} {ref.oid[:12]} is not here", _PULL_HINT)
        hint = "delete the file and run `annover pull <rev>` with the version that needs it, to fetch a good copy"
        try:
            return verify(ref, p.read_bytes(), what, p.name, hint)
        except ObjectError:  # a damaged copy in the folder: the DVC cache's may be good (`annover pull` mends it)
            q = self._fallback(ref) if p == self.path(ref.oid) else None
            if q is None or q.samefile(p):
                raise
            return verify(ref, q.read_bytes(), what, q.name, hint)


class FsStore(ObjectStore):
    """Objects read through an fsspec filesystem (e.g. DVC's, for a repository at a git rev); read-only."""

    def __init__(self, fs: Any, prefix: str) -> None:
        self.fs = fs
        self.prefix = prefix.rstrip("/")

    def _path(self, ref: ObjectRef) -> str:
        return f"{self.prefix}/objects/{shard(check_oid(ref.oid))}"

    def locate(self, ref: ObjectRef) -> Path | None:
        check_oid(ref.oid)
        return None

    def has(self, ref: ObjectRef) -> bool:
        try:
            return bool(self.fs.exists(self._path(ref)))
        except OSError:
            return False

    def get(self, ref: ObjectRef, what: str = "object") -> bytes:
        path = self._path(ref)
        try:
            with self.fs.open(path, "rb") as f:
                data = f.read()
        except Exception as e:  # fsspec backends raise their own errors
            raise unreadable(e, f"{what} {ref.oid[:12]} could not be read",
                             "check that the version was pushed to the DVC remote",
                             "check the remote's address and credentials (read from the environment, such as "
                             "AWS_ACCESS_KEY_ID, or DVC's global config: a clone has no .dvc/config.local)") from None
        return verify(ref, data, what, path, "delete that object on the remote, then push a good copy from a "
                      "clone that has it: `annover push` (a push leaves an object already there as it is)")


def unreadable(e: BaseException, what: str, not_pushed: str, no_remote: str) -> ObjectError | RemoteError:
    """The error for an object a remote's file system could not give (``what``: which, and from
    where): not on the remote (:func:`not_found`, with the hint ``not_pushed``), else the remote
    itself (no answer, no keys: a RemoteError with the hint ``no_remote``)."""
    if not_found(e):  # the object, or the listing naming it, is not on the remote
        return ObjectError(f"{what}: {first_line(e)}", not_pushed)
    return RemoteError(f"{what}: {first_line(e)}", no_remote)


def not_found(e: BaseException | None) -> bool:
    """Whether ``e``, or an error it was raised from, is a file not found (DVC wraps it)."""
    seen = 0
    while e is not None and seen < 10:
        if isinstance(e, FileNotFoundError):
            return True
        e, seen = e.__cause__ or e.__context__, seen + 1
    return False


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (a library's failure quoted in one of ours); a
    first line that only leads in to the next (``Parameter validation failed:``, botocore's)
    with that next line. A URL's ``user:password@`` in it is shown as ``***@`` (DVC's failure to copy a
    file names its URL as the remote's config gives it)."""
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    if not lines:
        return type(e).__name__
    return redact_text(f"{lines[0]} {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0])

