"""The labeling configs of two versions compared: controls and labels added, removed,
renamed, changed; labels the annotations use that a config lacks.

The configs are read by the one config model (:func:`annover.model.config.config_structure`,
parsed safely with defusedxml), the reading validation, snapshots and exports use: no
second reader of the format here."""

from __future__ import annotations

from typing import Any

from annover.model.config import config_structure, repeated_name

__all__ = ["UNCHANGED", "config_structure", "config_warnings", "diff_config"]

#: The summary's config section when the two configs are the same.
UNCHANGED = {"changed": False, "controls_added": [], "controls_removed": [], "controls_renamed": [],
             "controls_changed": [], "labels_added": {}, "labels_removed": {}, "labels_renamed": {}}


def _jaccard(x: list[str], y: list[str]) -> float:
    sx, sy = set(x), set(y)
    return len(sx & sy) / len(sx | sy) if sx | sy else 1.0


def diff_config(text_a: str | None, text_b: str | None) -> dict:
    """Controls and labels added, removed, renamed (where the structure shows it), changed."""
    ca, cb = config_structure(text_a), config_structure(text_b)
    out: dict[str, Any] = {
        "changed": (text_a or "") != (text_b or ""), "controls_added": [], "controls_removed": [],
        "controls_renamed": [], "controls_changed": [], "labels_added": {}, "labels_removed": {},
        "labels_renamed": {},
    }
    removed = sorted(set(ca) - set(cb))
    added = sorted(set(cb) - set(ca))
    cands = []
    for x in removed:
        for y in added:
            if ca[x]["tag"] != cb[y]["tag"]:
                continue
            j = _jaccard(ca[x]["labels"], cb[y]["labels"])
            same_obj = ca[x]["to_name"] == cb[y]["to_name"]
            if (ca[x]["labels"] or cb[y]["labels"]) and j >= 0.5 or (not ca[x]["labels"] and not cb[y]["labels"] and same_obj):
                cands.append((-j, not same_obj, x, y))
    cands.sort()
    pairs: dict[str, str] = {}
    for _, _, x, y in cands:
        if x not in pairs and y not in pairs.values():
            pairs[x] = y
    out["controls_renamed"] = [{"from": x, "to": y} for x, y in sorted(pairs.items())]
    out["controls_removed"] = [x for x in removed if x not in pairs]
    out["controls_added"] = [y for y in added if y not in pairs.values()]
    both = [(n, n) for n in sorted(set(ca) & set(cb))] + sorted(pairs.items())
    for x, y in both:
        a, b = ca[x], cb[y]
        change = {}
        if a["tag"] != b["tag"]:
            change["tag"] = [a["tag"], b["tag"]]
        if a["to_name"] != b["to_name"]:
            change["to_name"] = [a["to_name"], b["to_name"]]
        if change:
            out["controls_changed"].append({"control": y, **change})
        la, lb = a["labels"], b["labels"]
        rem = [l for l in la if l not in lb]
        add = [l for l in lb if l not in la]
        renamed = []
        common = [l for l in la if l in lb]
        if rem and add and all(la.index(c) == lb.index(c) for c in common):
            for l in list(rem):
                i = la.index(l)
                if i < len(lb) and lb[i] in add:
                    renamed.append({"from": l, "to": lb[i]})
                    rem.remove(l)
                    add.remove(lb[i])
        if rem:
            out["labels_removed"][y] = rem
        if add:
            out["labels_added"][y] = add
        if renamed:
            out["labels_renamed"][y] = renamed
    return out


def config_warnings(text_b: str | None, labels_b: dict[str, dict[str, int]], side: str = "B") -> list[str]:
    """Labels (and controls) the annotations of a side use that its config lacks."""
    if not text_b:
        return []
    cb = config_structure(text_b)
    out = []
    for ctl, counts in sorted(labels_b.items()):
        if ctl == "":
            continue
        # a Repeater's labels_0 is its labels_{{idx}}
        c = cb.get(ctl) or (cb.get(repeated_name(ctl, cb) or "") if "{{" in text_b else None)
        if c is None:
            n = sum(counts.values())
            out.append(f"{side}'s annotations use control {ctl!r} ({n} label(s)) that {side}'s config lacks")
            continue
        if not c["labels"] or c["dynamic"]:
            continue
        allowed = set(c["labels"])
        for lab, n in sorted(counts.items()):
            parts = lab.split("/") if c["tag"] == "Taxonomy" else [lab]
            if not all(p in allowed for p in parts):
                out.append(f"{side}'s annotations use label {lab!r} of control {ctl!r} ({n} region(s)) "
                           f"that {side}'s config lacks")
    return out
