"""Three-way merge of two versions' tables against their merge base, by task and by answer.

Pure logic over Arrow tables (no I/O); the repository layer reads the three versions and
gives each row's hashes (:data:`Hasher`), and stores what comes out through the snapshot
pipeline. The rules (the README's "Merging two branches' labels" is the reference):

- The **unit** of the merge is a task with what is said about it: its row in ``tasks``
  (data, data hash, extra), and each of its answers: an annotation (``annotation_key``,
  one annotator's answer, all its regions together) or a prediction (``prediction_key``,
  one model version's answer).
- A task one side did not change is taken from the other (added, removed or modified
  there). A task both sides changed is merged answer by answer: a part one side changed is
  taken from it, a part both changed to the same content is taken once; a part both
  changed differently is a **conflict**, and so is a task one side removed while the other
  changed it (removed/changed), since keeping part of it is no state anyone made.
- Equality is by content (the columns a snapshot id hashes). Where only provenance differs
  (the tool's ids and times), the side that changed the rows is taken; where both did and
  the content is the same, ours.
- ``favor`` (``"ours"`` / ``"theirs"``, as ``git merge -X``) resolves every conflict with
  that side: a conflicting part takes that side's, a removed/changed task is taken whole
  from that side (removed if it removed it). ``take`` does the same task by task (a side
  per conflicting task key), ``favor`` taking the conflicts it does not name.

:func:`merge_blob` applies the same rule to one value (the labeling config, the source data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from annover._lazy import lazy
from annover.model import canonical as C

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["Conflict", "Hasher", "Merged", "SIDES", "merge_blob", "merge_tables"]

#: the two sides, in the order of a merge's parents
SIDES = ("ours", "theirs")
#: per row of a table, a 64-bit hash of the given columns (equal rows, equal hashes)
Hasher = Callable[["pa.Table", str, Sequence[str]], "np.ndarray"]
#: the tables merged, and the column that names an answer in each (None: the task row)
_PARTS = (("tasks", None), ("annotations", "annotation_key"), ("predictions", "prediction_key"))
_GOLDEN = 0x9E3779B97F4A7C15


@dataclass(frozen=True)
class Conflict:
    """A task both sides changed differently: ``kind`` is ``changed`` (both changed it),
    ``added`` (both added it), ``removed-by-ours`` / ``removed-by-theirs`` (one side removed
    it, the other changed it); ``parts`` names what differs (``task`` for its data,
    ``annotation KEY``, ``prediction KEY``)."""

    task_key: str
    kind: str
    parts: tuple[str, ...] = ()
    #: per conflicting answer and control, the labels of the regions that differ: (part,
    #: control, ours', theirs'), each label a region's (``a+b`` for several, its value where none)
    sides: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = ()
    #: the side that took it (``ours`` / ``theirs``), or None: left unsettled
    taken: str | None = None

    def describe(self) -> str:
        if self.kind.startswith("removed-by-"):
            gone = self.kind.removeprefix("removed-by-")
            other = "theirs" if gone == "ours" else "ours"
            return f"removed in {gone}, changed in {other}"
        what = ", ".join(self._part(p) for p in self.parts) or "the task"
        return f"{'added' if self.kind == 'added' else 'changed'} differently on both sides: {what}"

    def _part(self, part: str) -> str:
        """``part`` with what each side holds where they differ: ``annotation a@x#0 (label: ours
        'Road' | theirs 'Obstacle')``."""
        said = []
        for p, control, ours, theirs in self.sides:
            if p != part:
                continue
            if ours == theirs:
                said.append(f"{control}: {_said(ours)} on both, other values differ")
            else:
                said.append(f"{control}: ours {_said(ours)} | theirs {_said(theirs)}")
        return f"{part} ({'; '.join(said)})" if said else part

    def to_json(self) -> dict:
        return {"task_key": self.task_key, "kind": self.kind, "parts": list(self.parts), "reason": self.describe(),
                "sides": [{"part": p, "control": c, "ours": list(o), "theirs": list(t)} for p, c, o, t in self.sides],
                "taken": self.taken}


def _said(labels: tuple[str, ...], shown: int = 5) -> str:
    """Labels as a conflict line says them: quoted, the first ``shown``, or ``(none)``."""
    if not labels:
        return "(none)"
    more = f", ... {len(labels) - shown} more" if len(labels) > shown else ""
    return ", ".join(repr(x) for x in labels[:shown]) + more


@dataclass
class Merged:
    """The merged tables (conformed, key-sorted; predictions of every model version in one
    table) and what was taken from where: per side, the tasks it ``added``, ``removed`` and
    ``modified`` that the other did not touch; tasks both changed, ``combined`` part by part
    or changed the ``same`` way; and the ``conflicts`` (each with the side it was ``taken`` from, by
    ``take`` or ``favor``, or None)."""

    tasks: "pa.Table"
    annotations: "pa.Table"
    predictions: "pa.Table"
    changes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    combined: list[str] = field(default_factory=list)
    same: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    def table(self, name: str) -> "pa.Table":
        return getattr(self, name)


def merge_blob(base: Any, ours: Any, theirs: Any, favor: str | None = None) -> tuple[Any, str]:
    """(the merged value, where it came from: ``unchanged``, ``ours``, ``theirs``, ``both``
    or ``conflict``) of one value three sides hold (the labeling config's id, the source
    data's record). A conflict takes ``favor``'s value (ours' without one: the caller refuses)."""
    if ours == theirs:
        return ours, ("unchanged" if ours == base else "both")
    if theirs == base:
        return ours, "ours"
    if ours == base:
        return theirs, "theirs"
    return (theirs if favor == "theirs" else ours), "conflict"


def _mix(x: "np.ndarray") -> "np.ndarray":
    return C.splitmix64(x)


def _units(table: "pa.Table", name: str, answer: str | None, hasher: Hasher
           ) -> "tuple[pa.Table, np.ndarray, np.ndarray]":
    """(one row per unit of ``table``: task_key, unit, hf (all columns), hc (key and content
    columns), i (its number); the rows each unit has, in order; each row's content hash) of a
    conformed, key-sorted table."""
    n = table.num_rows
    full = hasher(table, name, [c[0] for c in C.COLUMNS[name]])
    content = hasher(table, name, C.HASHED[name])
    starts = np.flatnonzero(C.first_of_runs(table, ["task_key"] + ([answer] if answer else []))) \
        if n else np.zeros(0, np.int64)
    counts = np.diff(np.append(starts, n)).astype(np.uint64)
    with np.errstate(over="ignore"):
        mixed = counts * np.uint64(_GOLDEN)
        hf = _mix(np.add.reduceat(_mix(full), starts) ^ mixed) if n else np.zeros(0, np.uint64)
        hc = _mix(np.add.reduceat(_mix(content), starts) ^ mixed) if n else np.zeros(0, np.uint64)
    idx = C.int_array(starts)
    keys = C.single_chunk(table.column("task_key")).take(idx)
    unit = C.single_chunk(table.column(answer)).take(idx).cast(pa.string()) if answer else \
        pa.array([""] * len(starts), pa.string())
    units = pa.table({"task_key": keys.cast(pa.string()), "unit": unit, "hf": pa.array(hf, pa.uint64()),
                      "hc": pa.array(hc, pa.uint64()), "i": C.int_array(np.arange(len(starts)))})
    return units, counts.astype(np.int64), content


def _join(sides: "dict[str, pa.Table]") -> "pa.Table":
    """The units of the three sides in one table, by (task_key, part, unit): ``hf_S``, ``hc_S``,
    ``i_S`` per side S, null where S lacks the unit."""
    out = None
    for s, t in sides.items():
        t = t.rename_columns(["task_key", "part", "unit", f"hf_{s}", f"hc_{s}", f"i_{s}"])
        out = t if out is None else out.join(t, keys=["task_key", "part", "unit"], join_type="full outer")
    return out


def _np(col: "pa.ChunkedArray | pa.Array", fill: int = 0) -> "np.ndarray":
    return np.asarray(pc.fill_null(C.single_chunk(col), fill).to_numpy(zero_copy_only=False))


class _Units:
    """The units of the three sides joined by (task_key, part, unit), as numpy arrays: ``have``,
    ``hf`` and ``hc`` per side (present, full hash, content hash), ``part``, and each row's
    task (``code`` into ``names``)."""

    def __init__(self, joined: "pa.Table") -> None:
        self.joined = joined
        self.m = joined.num_rows
        self.part = _np(joined.column("part")).astype(np.int8)
        sides = ("base", *SIDES)
        self.have = {s: np.asarray(pc.is_valid(joined.column(f"i_{s}")).to_numpy(zero_copy_only=False))
                     for s in sides}
        self.hf = {s: _np(joined.column(f"hf_{s}")).astype(np.uint64) for s in sides}
        self.hc = {s: _np(joined.column(f"hc_{s}")).astype(np.uint64) for s in sides}
        enc = C.single_chunk(pc.dictionary_encode(C.single_chunk(joined.column("task_key"))))
        self.code = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        self.names = np.array(enc.dictionary.to_pylist(), dtype=object)

    def same(self, h: dict, a: str, b: str) -> "np.ndarray":
        """Per unit: ``a`` and ``b`` both lack it, or both have it with equal hashes ``h``."""
        return (self.have[a] == self.have[b]) & (~self.have[a] | (h[a] == h[b]))

    def any_of(self, mask: "np.ndarray") -> "np.ndarray":
        """Per task: whether any of its units is in ``mask``."""
        n = len(self.names)
        return np.bincount(self.code, weights=mask.astype(np.float64), minlength=n) > 0 if self.m else np.zeros(n, bool)

    def index(self, side: str) -> "np.ndarray":
        return _np(self.joined.column(f"i_{side}")).astype(np.int64)


def _read_sides(given: "dict[str, dict[str, pa.Table]]", hasher: Hasher
                ) -> "tuple[dict[str, dict[str, pa.Table]], dict[tuple[str, str], np.ndarray], _Units, dict]":
    """(each side's tables, conformed and sorted; the rows of each side's units per table; the
    units of the three sides joined; each side's rows' content hashes per table)."""
    tables: dict[str, dict[str, pa.Table]] = {s: {} for s in given}
    counts: dict[tuple[str, str], np.ndarray] = {}
    content: dict[tuple[str, str], np.ndarray] = {}
    per_side: dict[str, list[pa.Table]] = {s: [] for s in given}
    for p, (name, answer) in enumerate(_PARTS):
        for s, tabs in given.items():
            t = C.sort_table(C.conform(C.plain_table(tabs[name]), name), name)
            tables[s][name] = t
            units, counts[(s, name)], content[(s, name)] = _units(t, name, answer, hasher)
            per_side[s].append(units.add_column(1, "part", pa.array(np.full(units.num_rows, p, np.int8))))
    return tables, counts, _Units(_join({s: pa.concat_tables(ts) for s, ts in per_side.items()})), content


def _decide(u: _Units) -> "np.ndarray":
    """Per unit: 0 take ours, 1 take theirs, 2 conflict (see the module docstring)."""
    fo_ft, ft_fb, fo_fb = u.same(u.hf, "ours", "theirs"), u.same(u.hf, "theirs", "base"), u.same(u.hf, "ours", "base")
    co_ct, co_cb, ct_cb = u.same(u.hc, "ours", "theirs"), u.same(u.hc, "ours", "base"), u.same(u.hc, "theirs", "base")
    return np.where(fo_ft | ft_fb, 0, np.where(fo_fb, 1, np.where(co_ct, 0, np.where(co_cb, 1, np.where(ct_cb, 0, 2)))))


def merge_tables(base: "dict[str, pa.Table]", ours: "dict[str, pa.Table]", theirs: "dict[str, pa.Table]",
                 hasher: Hasher, favor: str | None = None, take: Mapping[str, str] | None = None) -> Merged:
    """Merge ``ours`` and ``theirs`` against ``base`` (each ``{"tasks", "annotations",
    "predictions"}``, predictions of every model version in one table), task by task and
    answer by answer (see the module docstring). A conflicting task takes the side ``take``
    gives its key, else ``favor``'s; without either it takes ours' and is listed unsettled
    (``taken`` None: the caller refuses to write such a merge). Keys of ``take`` that do not
    conflict are left out (the caller says so)."""
    if favor not in (None, *SIDES):
        raise ValueError(f"favor must be 'ours', 'theirs' or None, not {favor!r}")
    if take and not set(take.values()) <= set(SIDES):
        raise ValueError(f"take: each side must be 'ours' or 'theirs', not {sorted(set(take.values()) - set(SIDES))}")
    tables, counts, u, content = _read_sides({"base": base, "ours": ours, "theirs": theirs}, hasher)
    pick = _decide(u)
    has_row = {s: u.any_of((u.part == 0) & u.have[s]) for s in ("base", *SIDES)}
    touched = {s: u.any_of(~u.same(u.hc, s, "base")) for s in SIDES}  # by content
    gone = {s: has_row["base"] & ~has_row[s] for s in SIDES}
    removed_changed = {"ours": gone["ours"] & ~gone["theirs"] & touched["theirs"],
                       "theirs": gone["theirs"] & ~gone["ours"] & touched["ours"]}
    whole = removed_changed["ours"] | removed_changed["theirs"]
    conflicted_part = pick == 2
    conflicted = u.any_of(conflicted_part) | whole
    side = _sides_taken(u.names, conflicted, favor, take)
    # a conflicting part, and a removed/changed task whole, from the side its task takes (unsettled: ours)
    pick = np.where(conflicted_part | whole[u.code], np.maximum(side, 0)[u.code], pick)

    out: dict[str, pa.Table] = {}
    for p, (name, _) in enumerate(_PARTS):
        kept = []
        for s, choice in (("ours", 0), ("theirs", 1)):
            keep = np.zeros(len(counts[(s, name)]), dtype=bool)
            keep[u.index(s)[(u.part == p) & (pick == choice) & u.have[s]]] = True
            mask = np.repeat(keep, counts[(s, name)])
            t = tables[s][name]
            kept.append(t if mask.all() else t.filter(pa.array(mask, pa.bool_())))
        out[name] = C.sort_table(pa.concat_tables(kept), name)
    res = Merged(out["tasks"], out["annotations"], out["predictions"])
    _report(res, u, has_row, conflicted_part, conflicted, removed_changed,
            _sides_of(u, tables, counts, content, np.flatnonzero(conflicted_part)), side)
    return res


def _sides_taken(names: "np.ndarray", conflicted: "np.ndarray", favor: str | None, take: Mapping[str, str] | None
                 ) -> "np.ndarray":
    """Per task (``names``): the side its conflicts take, 0 ours, 1 theirs, -1 none (unsettled):
    ``take``'s for a conflicting task it names, else ``favor``'s."""
    side = np.full(len(names), -1 if favor is None else SIDES.index(favor), dtype=np.int8)
    if take:
        for t in np.flatnonzero(conflicted).tolist():
            s = take.get(str(names[t]))
            if s is not None:
                side[t] = SIDES.index(s)
    return side


def _report(res: Merged, u: _Units, has_row: dict, conflicted_part: "np.ndarray", conflicted: "np.ndarray",
            removed_changed: dict, sides: dict[int, list], taken: "np.ndarray") -> None:
    """Fill ``res``'s account of what came from where, and its conflicts (``sides``: what each
    side holds of a conflicting answer, :func:`_sides_of`; ``taken``: the side each task's
    conflicts took, :func:`_sides_taken`)."""
    keys = u.names
    touched_full = {s: u.any_of(~u.same(u.hf, s, "base")) for s in SIDES}
    for s in SIDES:
        other = "theirs" if s == "ours" else "ours"
        only = touched_full[s] & ~touched_full[other]
        res.changes[s] = {
            "added": sorted(keys[only & ~has_row["base"] & has_row[s]].tolist()),
            "removed": sorted(keys[only & has_row["base"] & ~has_row[s]].tolist()),
            "modified": sorted(keys[only & has_row["base"] & has_row[s]].tolist()),
        }
    both = touched_full["ours"] & touched_full["theirs"] & ~conflicted
    alike = ~u.any_of(~(u.same(u.hf, "ours", "theirs") | u.same(u.hc, "ours", "theirs")))
    res.same = sorted(keys[both & alike].tolist())
    res.combined = sorted(keys[both & ~alike].tolist())
    labels = {0: "task", 1: "annotation", 2: "prediction"}
    at = np.flatnonzero(conflicted_part)
    units = C.single_chunk(u.joined.column("unit")).take(C.int_array(at)).to_pylist()
    by_task: dict[int, list[str]] = {}
    said: dict[int, list] = {}
    for j, unit in zip(at.tolist(), units):
        part = labels[int(u.part[j])] + (f" {unit}" if u.part[j] else "")
        by_task.setdefault(int(u.code[j]), []).append(part)
        said.setdefault(int(u.code[j]), []).extend((part, *x) for x in sides.get(j, []))
    for t in np.flatnonzero(conflicted).tolist():
        if removed_changed["ours"][t]:
            kind = "removed-by-ours"
        elif removed_changed["theirs"][t]:
            kind = "removed-by-theirs"
        else:
            kind = "changed" if has_row["base"][t] else "added"
        shown = () if kind.startswith("removed-by-") else tuple(sorted(said.get(t, [])))  # one side holds none
        res.conflicts.append(Conflict(str(keys[t]), kind, tuple(sorted(by_task.get(t, []))), shown,
                                      SIDES[taken[t]] if taken[t] >= 0 else None))
    res.conflicts.sort(key=lambda c: c.task_key)


def _rows_of(u: _Units, counts: "np.ndarray", side: str, js: "np.ndarray") -> "tuple[np.ndarray, np.ndarray]":
    """(the rows of ``side``'s table that units ``js`` have there, in unit order; how many each has)."""
    off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    have, i = u.have[side][js], u.index(side)[js]
    starts = np.where(have, off[i], 0)
    lens = np.where(have, off[np.minimum(i + 1, len(off) - 1)] - starts, 0)
    total = int(lens.sum())
    firsts = np.cumsum(lens) - lens
    return np.repeat(starts, lens) + (np.arange(total) - np.repeat(firsts, lens)), lens


def _regions(table: "pa.Table", hashes: "np.ndarray", rows: "np.ndarray", lens: "np.ndarray", side: str
             ) -> "pa.Table":
    """The regions of the units (``lens`` rows each, ``rows`` of ``table``): ``k`` (the unit's
    place), ``region_key``, and per ``side`` its control, label (``a+b``; its value, shortened,
    where it has none) and content hash."""
    t = table.select(["region_key", "from_name", "labels", "value"]).take(C.int_array(rows))
    joined = pc.binary_join(t.column("labels"), "+")
    value = pc.fill_null(t.column("value"), "")
    short = pc.if_else(pc.greater(pc.utf8_length(value), 40),
                       pc.binary_join_element_wise(pc.utf8_slice_codeunits(value, 0, 37), "...", ""), value)
    label = pc.if_else(pc.fill_null(pc.greater(pc.utf8_length(joined), 0), False), joined, short)
    return pa.table({"k": C.int_array(np.repeat(np.arange(len(lens)), lens)), "region_key": t.column("region_key"),
                     f"c_{side}": pc.fill_null(t.column("from_name"), ""), f"l_{side}": label,
                     f"h_{side}": pa.array(hashes[rows], pa.uint64())})


def _differing(regions: "dict[str, pa.Table]") -> "dict[str, list]":
    """The regions the two sides hold differently (on one side only, or with other content), by
    unit and region key, as columns."""
    both = regions["ours"].join(regions["theirs"], keys=["k", "region_key"], join_type="full outer")
    h_o, h_t = both.column("h_ours"), both.column("h_theirs")
    same = pc.fill_null(pc.equal(h_o, h_t), False)
    return both.filter(pc.invert(same)).sort_by([("k", "ascending"), ("region_key", "ascending")]).to_pydict()


def _sides_of(u: _Units, tables: "dict[str, dict[str, pa.Table]]", counts: dict, content: dict, at: "np.ndarray"
              ) -> dict[int, list[tuple[str, tuple[str, ...], tuple[str, ...]]]]:
    """Per conflicting answer (its unit ``j`` in ``at``): (control, ours' labels, theirs') of the
    regions the two sides hold differently (one side only, or other content), control by control."""
    out: dict[int, list[tuple[str, tuple[str, ...], tuple[str, ...]]]] = {}
    for p, (name, _) in enumerate(_PARTS):
        js = at[u.part[at] == p] if p else at[:0]
        if not len(js):
            continue
        d = _differing({s: _regions(tables[s][name], content[(s, name)], *_rows_of(u, counts[(s, name)], s, js), s)
                        for s in SIDES})
        per: dict[int, dict[str, tuple[list[str], list[str]]]] = {}
        for k, c_o, c_t, l_o, l_t in zip(d["k"], d["c_ours"], d["c_theirs"], d["l_ours"], d["l_theirs"]):
            pair = per.setdefault(k, {}).setdefault(c_o if c_o is not None else c_t, ([], []))
            if l_o is not None:
                pair[0].append(l_o)
            if l_t is not None:
                pair[1].append(l_t)
        js_list = js.tolist()
        for k, by_control in per.items():
            out[js_list[k]] = [(c, tuple(o), tuple(t)) for c, (o, t) in sorted(by_control.items())]
    return out
