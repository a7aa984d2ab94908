"""DVC's ``.dir`` listings of annover's store, checked before any entry becomes a path.

A listing a remote sends (or a clone's ``objects.dvc`` names) is data from elsewhere: its
entries must be objects of annover's store (``ab/`` and 62 more hex digits, a 32-hex md5),
each once, its bytes must hash to its name, and, for a version, its entries must be exactly
the objects the version's manifests name.
"""

from __future__ import annotations

import hashlib
import json
import re

from annover.errors import ObjectError, shown

__all__ = ["DIR_SUFFIX", "MD5_RE", "TAMPERED", "check_listing", "parse_listing"]

#: What DVC appends to the md5 of a directory's listing.
DIR_SUFFIX = ".dir"
#: An entry of a listing of annover's store: ``ab/`` and the other 62 hex digits of a sha256.
_OBJECT_PATH = re.compile(r"[0-9a-f]{2}/[0-9a-f]{62}")
MD5_RE = re.compile(r"[0-9a-f]{32}")
TAMPERED = ("the DVC remote or the version's objects.dvc was altered or damaged: see who changed them "
             "(git log -p -- .annover/objects.dvc) and do not `dvc pull` this version")

def parse_listing(data: bytes, listing: str) -> dict[str, str]:
    """The ``{relpath: md5}`` entries of the ``.dir`` listing ``listing`` (its bytes), checked before
    any becomes a path.

    A listing of annover's store names objects only: ``ab/cdef...`` (a sha256 as the store lays it
    out) with a 32-hex md5, each once, and its bytes hash to its name. Anything else (``../x``, an
    absolute path, a backslash, an md5 that is not hex) is an ObjectError naming the entry.
    """
    def refuse(what: str) -> ObjectError:
        return ObjectError(f"refused the DVC listing {listing}: {what}; nothing was written", TAMPERED)

    if hashlib.md5(data).hexdigest() != listing.removesuffix(DIR_SUFFIX):
        raise refuse("its content does not match its md5 (altered after DVC made it)")
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError):
        raise refuse("it is not JSON") from None
    if not isinstance(raw, list):
        raise refuse("it is not a list of entries")
    entries: dict[str, str] = {}
    for i, e in enumerate(raw):
        rel, md5 = (e.get("relpath"), e.get("md5")) if isinstance(e, dict) else (None, None)
        if not isinstance(rel, str) or not _OBJECT_PATH.fullmatch(rel):
            raise refuse(f"entry {i} has relpath {shown(rel)}, not an object of annover's store "
                         "(2 hex digits, '/', 62 hex digits)")
        if not isinstance(md5, str) or not MD5_RE.fullmatch(md5):
            raise refuse(f"entry {i} ({rel}) has md5 {shown(md5)}, not 32 hex digits")
        if rel in entries:
            raise refuse(f"entry {i} names {rel} a second time")
        entries[rel] = md5
    return entries


def check_listing(entries: dict[str, str], expected: dict[str, str], name: str) -> None:
    """Refuse (ObjectError) the listing ``name`` unless its ``{relpath: md5}`` entries are exactly
    ``expected`` (what the version's manifests name)."""
    def refuse(what: str) -> ObjectError:
        return ObjectError(f"refused {name}: {what}; nothing was written", TAMPERED)

    for rel, md5 in entries.items():
        if rel not in expected:
            raise refuse(f"its entry {rel} is not one of the {len(expected)} objects the version's manifests name")
        if md5 != expected[rel]:
            raise refuse(f"its entry {rel} has md5 {md5}, the version's manifests say {expected[rel]}")
    lacking = [rel for rel in expected if rel not in entries]
    if lacking:
        raise refuse(f"it lacks {len(lacking)} of the version's objects ({lacking[0]}...)")
