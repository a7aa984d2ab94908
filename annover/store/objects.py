"""A write-once, verified object store.

Objects are addressed by the sha256 of their bytes and laid out as ``oid[:2]/oid[2:]``.
They are written to a temporary name and renamed into place, never rewritten, and
re-hashed on every read. Each object's md5 travels with it in every reference, because
DVC's cache is md5-addressed: an object that is not in the working store (an older
version's part) is read straight from the DVC cache.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from annover.errors import ObjectError


def sha256_file(path: "str | Path") -> str:
    """The sha256 of a file's content, read in blocks (never whole into memory)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(frozen=True)
class ObjectRef:
    """Where an object is and how to check it: sha256 (its id), md5 (DVC's key), size."""

    oid: str
    md5: str
    size: int

    def to_json(self) -> dict:
        return {"oid": self.oid, "md5": self.md5, "size": self.size}

    @classmethod
    def from_json(cls, d: dict) -> "ObjectRef":
        return cls(d["oid"], d["md5"], int(d["size"]))


def _relpath(oid: str) -> str:
    if len(oid) != 64 or any(c not in "0123456789abcdef" for c in oid):
        raise ObjectError(f"invalid object id {oid!r}", "object ids are 64 hex digits (sha256)")
    return f"{oid[:2]}/{oid[2:]}"


class ObjectStore:
    """Objects under ``root`` (the DVC-tracked working store), with fallbacks to read from."""

    def __init__(self, root: Path, fallbacks: list[Path] | None = None) -> None:
        self.root = Path(root)
        #: md5-addressed DVC caches (``files/md5`` folders) tried when the working store lacks an object.
        self.fallbacks = list(fallbacks or [])

    def path(self, oid: str) -> Path:
        return self.root / _relpath(oid)

    def put(self, data: bytes) -> ObjectRef:
        """Store ``data`` once; return its reference. Existing objects are not rewritten."""
        oid = hashlib.sha256(data).hexdigest()
        ref = ObjectRef(oid, hashlib.md5(data).hexdigest(), len(data))
        dest = self.path(oid)
        if dest.exists():
            return ref
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, dest)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return ref

    def locate(self, ref: ObjectRef) -> Path | None:
        p = self.path(ref.oid)
        if p.exists():
            return p
        for cache in self.fallbacks:
            q = cache / ref.md5[:2] / ref.md5[2:]
            if q.exists():
                return q
        return None

    def has(self, ref: ObjectRef) -> bool:
        return self.locate(ref) is not None

    def get(self, ref: ObjectRef, what: str = "object") -> bytes:
        """The object's bytes, verified against its sha256; ObjectError if missing or corrupt."""
        p = self.locate(ref)
        if p is None:
            raise ObjectError(
                f"{what} {ref.oid[:12]} is not here",
                "run `annover pull REV` (or `dvc pull`) to fetch it from the DVC remote",
            )
        data = p.read_bytes()
        if hashlib.sha256(data).hexdigest() != ref.oid:
            raise ObjectError(
                f"{what} {ref.oid[:12]} is corrupt: its content does not match its hash ({p.name})",
                "delete the file and run `annover pull REV` to fetch a good copy",
            )
        return data
