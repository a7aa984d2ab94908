"""git's refs read from its files, as git's "files" ref backend keeps them, without running git.

Opening a repository asks git for its tags (``git for-each-ref``) and for the commit HEAD
is on: a command each, ~2 ms apiece, paid by every ``annover.load``. Where the refs are plain
files this module reads them as git does: a loose ref (a file under ``refs/``) wins over its
line in ``packed-refs``; an annotated tag is peeled to the commit it tags (``packed-refs``
gives the peeled id on the line after; a loose tag object is read from the object store).

Anything else returns None, and the caller asks git: another ref backend (reftable), a
symbolic ref, a packed-refs file that does not say its tags are peeled, a loose annotated
tag whose object is in a pack, a tag of a tag, or a file that does not read as expected.
A ref being rewritten is never half-read: git writes ``NAME.lock`` and renames it over NAME.
"""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path

__all__ = ["head_branch", "head_commit", "is_object_id", "tag_commits"]

_OID = re.compile(rb"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_TAGS = "refs/tags/"


def is_object_id(text: str) -> bool:
    """Whether ``text`` is a full git object id (sha1 or sha256, lower-case hex)."""
    return _OID.fullmatch(text.encode("ascii", "replace")) is not None


class _Unreadable(Exception):
    """The refs are not plain files this module reads: ask git."""


def tag_commits(git_dir: Path) -> "dict[str, str] | None":
    """``{tag name: the commit it names}`` (annotated tags peeled), or None: ask git."""
    try:
        packed, peeled = _packed(git_dir)
        tags = {name[len(_TAGS):]: peeled.get(name, oid) for name, oid in packed.items() if name.startswith(_TAGS)}
        for name, oid in _loose(git_dir, _TAGS).items():
            tags[name] = _peel(git_dir, oid)
        return tags
    except (_Unreadable, OSError, UnicodeDecodeError, zlib.error):
        return None


def head_commit(git_dir: Path) -> "str | None":
    """The commit HEAD is on, or None: ask git (HEAD on a branch with no commit yet too)."""
    try:
        _plain(git_dir)
        head = (git_dir / "HEAD").read_bytes().strip()
        if _OID.fullmatch(head):
            return head.decode()
        if not head.startswith(b"ref: refs/heads/"):
            return None
        ref = head[len(b"ref: "):].decode()
        if any(part in ("", ".", "..") for part in ref.split("/")):
            return None  # git would refuse it; never a path out of the git dir
        loose = _ref_file(git_dir, ref)
        return loose if loose is not None else _packed(git_dir)[0].get(ref)
    except (_Unreadable, OSError, UnicodeDecodeError):
        return None


def head_branch(git_dir: Path) -> "str | None":
    """The branch HEAD is on (``refs/heads/NAME``), ``""`` when HEAD is detached (it holds a commit
    id), or None: ask git (``git symbolic-ref HEAD``)."""
    try:
        _plain(git_dir)
        head = (git_dir / "HEAD").read_bytes().strip()
        ref = head[len(b"ref: "):].decode() if head.startswith(b"ref: refs/heads/") else ""
    except (_Unreadable, OSError, UnicodeDecodeError):
        return None
    if _OID.fullmatch(head):
        return ""
    if not ref or any(part in ("", ".", "..") for part in ref.split("/")) or not ref.isprintable():
        return None  # not a branch (a symbolic ref elsewhere), or a name git would refuse: git says
    return ref


def _plain(git_dir: Path) -> None:
    """Refuse a git dir whose refs are not in the files backend (or are shared elsewhere)."""
    if (git_dir / "reftable").exists() or (git_dir / "commondir").exists() or not (git_dir / "refs").is_dir():
        raise _Unreadable("not the files ref backend")


def _packed(git_dir: Path) -> "tuple[dict[str, str], dict[str, str]]":
    """(``{ref: id}``, ``{ref: peeled id}``) of ``packed-refs`` (both empty when there is none)."""
    _plain(git_dir)
    try:
        data = (git_dir / "packed-refs").read_bytes()
    except FileNotFoundError:
        return {}, {}
    refs: dict[str, str] = {}
    peeled: dict[str, str] = {}
    lines = data.splitlines()
    traits = lines[0].split() if lines and lines[0].startswith(b"# pack-refs with:") else []
    last = None
    for ln in lines:
        if not ln or ln.startswith(b"#"):
            continue
        if ln.startswith(b"^"):
            if last is None or not _OID.fullmatch(ln[1:]):
                raise _Unreadable("a peeled line that follows no ref")
            peeled[last] = ln[1:].decode()
            continue
        oid, _, name = ln.partition(b" ")
        if not _OID.fullmatch(oid) or not name:
            raise _Unreadable("an unexpected packed-refs line")
        last = name.decode()
        refs[last] = oid.decode()
    if b"peeled" not in traits and b"fully-peeled" not in traits and any(r.startswith(_TAGS) for r in refs):
        raise _Unreadable("packed tags that may be annotated, unpeeled")
    return refs, peeled


def _ref_file(git_dir: Path, ref: str) -> "str | None":
    """The id a loose ref file holds, None when there is no such file."""
    try:
        data = (git_dir / ref).read_bytes().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError:
        raise _Unreadable("a folder where a ref was expected") from None
    if not _OID.fullmatch(data):
        raise _Unreadable("a symbolic or unreadable ref")  # "ref: ..." or anything else
    return data.decode()


def _loose(git_dir: Path, prefix: str) -> dict[str, str]:
    """``{name under prefix: id}`` of the loose ref files under ``prefix``."""
    _plain(git_dir)
    root = os.path.join(git_dir, prefix)
    out: dict[str, str] = {}
    for folder, _, files in os.walk(root):
        under = os.path.relpath(folder, root).replace(os.sep, "/")
        for f in files:
            if f.endswith(".lock"):
                continue  # a ref being written: git renames it over the ref when done
            name = f if under == "." else f"{under}/{f}"
            oid = _ref_file(git_dir, prefix + name)
            if oid is not None:
                out[name] = oid
    return out


def _peel(git_dir: Path, oid: str) -> str:
    """The commit a loose tag ref names: ``oid`` when it is a commit, the tagged commit of an
    annotated tag; read from the loose object (one in a pack: ask git)."""
    try:
        raw = (git_dir / "objects" / oid[:2] / oid[2:]).read_bytes()
    except FileNotFoundError:
        raise _Unreadable("an object in a pack") from None
    head = zlib.decompressobj().decompress(raw, 64)
    if head.startswith(b"commit "):
        return oid
    if not head.startswith(b"tag "):
        raise _Unreadable("a tag of something else than a commit")
    body = zlib.decompress(raw).split(b"\0", 1)[1]
    fields = dict(ln.split(b" ", 1) for ln in body.split(b"\n\n", 1)[0].splitlines() if b" " in ln)
    target = fields.get(b"object", b"")
    if fields.get(b"type") != b"commit" or not _OID.fullmatch(target):
        raise _Unreadable("a tag of a tag")
    return target.decode()
