"""The source data of two versions compared: items added, removed, modified, renamed."""

from __future__ import annotations

from typing import Any


def diff_source(link_a: dict | None, link_b: dict | None, files_a: dict[str, str] | None,
                files_b: dict[str, str] | None) -> dict | None:
    """Items of the linked source data added, removed, changed (by content hash), renamed."""
    if link_a is None and link_b is None and files_a is None and files_b is None:
        return None
    out: dict[str, Any] = {"path_a": (link_a or {}).get("path"), "path_b": (link_b or {}).get("path"),
                           "changed": False, "files_before": None, "files_after": None,
                           "added": [], "removed": [], "modified": [], "renamed": []}
    sha_a, sha_b = (link_a or {}).get("sha256"), (link_b or {}).get("sha256")
    if files_a is not None:
        out["files_before"] = len(files_a)
    elif link_a:
        out["files_before"] = link_a.get("nfiles")
    if files_b is not None:
        out["files_after"] = len(files_b)
    elif link_b:
        out["files_after"] = link_b.get("nfiles")
    if files_a is None or files_b is None:
        out["changed"] = (sha_a != sha_b) or (files_a is None) != (files_b is None) or bool(link_a) != bool(link_b)
        if files_a is None and files_b is not None and link_a is None:
            out["added"] = sorted(files_b)
        if files_b is None and files_a is not None and link_b is None:
            out["removed"] = sorted(files_a)
        return out
    added = sorted(set(files_b) - set(files_a))
    removed = sorted(set(files_a) - set(files_b))
    by_hash: dict[str, list[str]] = {}
    for p in added:
        by_hash.setdefault(files_b[p], []).append(p)
    renamed = []
    for p in removed:
        cands = by_hash.get(files_a[p])
        if cands:
            q = cands.pop(0)
            renamed.append({"from": p, "to": q})
    gone = {r["from"] for r in renamed}
    new = {r["to"] for r in renamed}
    out["added"] = [p for p in added if p not in new]
    out["removed"] = [p for p in removed if p not in gone]
    out["modified"] = sorted(p for p in set(files_a) & set(files_b) if files_a[p] != files_b[p])
    out["renamed"] = renamed
    out["changed"] = bool(out["added"] or out["removed"] or out["modified"] or out["renamed"])
    return out
