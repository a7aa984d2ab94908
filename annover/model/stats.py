"""Summary statistics of a version's tables. Pure: Arrow tables in, plain data out.

Tables are key-sorted, so an answer's rows (and a task's answers) are adjacent: counts
come from run starts and integer codes (numpy ``bincount``), not from grouping strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from annover._lazy import lazy
from annover.model.canonical import first_of_runs, single_chunk

if TYPE_CHECKING:
    import pyarrow as pa
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")


#: The key of the answers that name no annotator (a Label Studio export without e-mails) in
#: stats, the diff and agreement; :data:`UNNAMED` is how text output says it.
UNNAMED_KEY = "-"
UNNAMED = "(unnamed)"


def annotator_shown(name: str | None) -> str:
    """An annotator as text output says it: the key of none (or None) as :data:`UNNAMED`."""
    return UNNAMED if name is None or name == UNNAMED_KEY else name


def _codes(col: "pa.Array | pa.ChunkedArray", null: str) -> tuple["np.ndarray", list[str]]:
    """(integer code per row, the distinct values) of a string column; nulls count as ``null``."""
    if col.null_count:
        col = pc.fill_null(col, null)
    enc = pc.dictionary_encode(single_chunk(col))
    return enc.indices.to_numpy(zero_copy_only=False), enc.dictionary.to_pylist()


def _nonempty(col: "pa.Array | pa.ChunkedArray") -> int:
    """How many values of a text column (or a dictionary of texts) are neither null nor ''."""
    col = single_chunk(col)
    if pa.types.is_dictionary(col.type) and not col.null_count and not col.dictionary.null_count:  # each text once
        full = pc.greater(pc.binary_length(col.dictionary), 0).to_numpy(zero_copy_only=False)
        codes = col.indices.to_numpy(zero_copy_only=False)
        return int(np.bincount(codes, minlength=len(full))[full].sum()) if len(codes) else 0
    return int(pc.sum(pc.greater(pc.binary_length(col), 0)).as_py() or 0)


def _counts(codes: "np.ndarray", values: list[str]) -> dict[str, int]:
    n = np.bincount(codes, minlength=len(values)) if len(codes) else np.zeros(len(values), dtype=np.int64)
    return {v: int(c) for v, c in zip(values, n.tolist()) if c}


#: ``labels_by_annotator`` is kept in a version's stats only up to this many (control,
#: annotator, label) cells: a taxonomy of thousands of labels and many annotators would
#: make the record large; drift then counts the table itself (and caches the result).
MAX_ANNOTATOR_CELLS = 10_000


def label_counts(ann: "pa.Table", live: "np.ndarray | None" = None) -> dict[str, dict[str, int]]:
    """control -> label -> number of regions carrying it (skips excluded).

    ``live``: a bool mask of the rows to count (default: the rows that are not skips).
    """
    return label_counts_of(label_cells(ann, live))


def label_counts_of(cells: dict[tuple[str, str, str], int]) -> dict[str, dict[str, int]]:
    """control -> label -> regions, summed over the annotators of :func:`label_cells`."""
    by_control: dict[str, dict[str, int]] = {}
    for (ctl, _who, lab), n in cells.items():
        counts = by_control.setdefault(ctl, {})
        counts[lab] = counts.get(lab, 0) + n
    return {k: dict(sorted(v.items())) for k, v in sorted(by_control.items())}


def label_cells(ann: "pa.Table", live: "np.ndarray | None" = None,
                who: "tuple[np.ndarray, list[str]] | None" = None) -> dict[tuple[str, str, str], int]:
    """(control, annotator, label) -> number of regions carrying the label (skips excluded;
    annotator ``-`` when unknown): one integer code per row and a ``bincount``. ``who``: the
    annotator column's :func:`_codes`, when the caller has them."""
    if ann.num_rows == 0:
        return {}
    if live is None:
        live = ~ann.column("was_cancelled").to_numpy(zero_copy_only=False).astype(bool)
    labels = ann.column("labels")  # a null list has no elements: nothing to count
    flat = pc.list_flatten(labels)
    if len(flat) == 0:
        return {}
    ctl_codes, ctls = _codes(ann.column("from_name"), "")
    who_codes, whos = who or _codes(ann.column("annotator"), UNNAMED_KEY)
    lab_codes, labs = _codes(flat, "")
    nw, nl = max(len(whos), 1), max(len(labs), 1)
    if len(flat) == ann.num_rows and live.all() and _one_each(labels):  # each row its one label, counted
        cell = (ctl_codes.astype(np.int64) * nw + who_codes) * nl + lab_codes
    else:
        parents = pc.list_parent_indices(labels).to_numpy(zero_copy_only=False)
        keep = live[parents]
        rows = parents[keep]
        cell = (ctl_codes[rows].astype(np.int64) * nw + who_codes[rows]) * nl + lab_codes[keep]
    if len(ctls) * nw * nl <= 1 << 24:
        n = np.bincount(cell, minlength=len(ctls) * nw * nl)
        found = np.flatnonzero(n)
        counts = n[found]
    else:
        found, counts = np.unique(cell, return_counts=True)
    out: dict[tuple[str, str, str], int] = {}
    for c, k in zip(found.tolist(), counts.tolist()):
        rest, lab = divmod(c, nl)
        i, w = divmod(rest, nw)
        out[(ctls[i], whos[w], labs[lab])] = int(k)
    return out


def _one_each(labels: "pa.ChunkedArray") -> bool:
    """Whether every row holds a list of exactly one label (a flat file's rows): the flattened
    labels are then the rows, and counting them needs no gather by parent row."""
    bounds = pc.min_max(pc.list_value_length(labels))
    return labels.null_count == 0 and bounds["min"].as_py() == 1 and bounds["max"].as_py() == 1


def by_annotator(cells: dict[tuple[str, str, str], int]) -> dict[str, dict[str, dict[str, int]]] | None:
    """control -> annotator -> label -> regions, sorted; None beyond :data:`MAX_ANNOTATOR_CELLS` cells."""
    if len(cells) > MAX_ANNOTATOR_CELLS:
        return None
    out: dict[str, dict[str, dict[str, int]]] = {}
    for (ctl, who, lab), n in sorted(cells.items()):
        out.setdefault(ctl, {}).setdefault(who, {})[lab] = n
    return out


def compute(tasks: "pa.Table", ann: "pa.Table", preds: dict[str, "pa.Table"] | None = None) -> dict:
    """tasks, labeled, unlabeled, skipped, annotations, regions, per annotator, per label, predictions."""
    return _shaped(tallies(tasks, ann, preds))


def tallies(tasks: "pa.Table", ann: "pa.Table", preds: dict[str, "pa.Table"] | None = None) -> dict:
    """What :func:`compute` counts, before it is shaped: sums over tasks (each task's rows whole in
    the tables), so the tallies of HEAD's rows of some tasks and of their new rows turn HEAD's
    stats into those of the update (:func:`updated`)."""
    labeled = skipped = answers = regions = 0
    per_annotator: dict[str, int] = {}
    cells: dict[tuple[str, str, str], int] = {}
    if ann.num_rows:
        task_start = first_of_runs(ann, ["task_key"])
        rows = np.flatnonzero(task_start | first_of_runs(ann, ["annotation_key"]))  # the first row of each answer
        cancelled = ann.column("was_cancelled").to_numpy(zero_copy_only=False).astype(bool)
        answers = len(rows)
        skipped = int(cancelled[rows].sum())
        # a task is labeled when one of its answers is not a skip (every task, when none is)
        if skipped:
            task_of_row = np.cumsum(task_start) - 1
            live_tasks = task_of_row[rows[~cancelled[rows]]]  # non-decreasing: count its runs
            labeled = int(np.count_nonzero(np.diff(live_tasks)) + 1) if len(live_tasks) else 0
        else:
            labeled = int(np.count_nonzero(task_start))
        codes, names = _codes(ann.column("annotator"), UNNAMED_KEY)
        per_annotator = _counts(codes[rows], names)
        regions = _nonempty(ann.column("region_key"))
        cells = label_cells(ann, ~cancelled, (codes, names))
    predictions = {mv: {"tasks": len(pc.unique(t.column("task_key"))) if t.num_rows else 0,
                        "regions": int(pc.sum(pc.greater(pc.binary_length(t.column("region_key")), 0)).as_py() or 0)
                        if t.num_rows else 0} for mv, t in sorted((preds or {}).items())}
    return {"tasks": tasks.num_rows, "labeled": labeled, "skipped": skipped, "annotations": answers,
            "regions": regions, "rows": ann.num_rows, "annotators": per_annotator, "cells": cells,
            "predictions": predictions}


def _shaped(t: dict) -> dict:
    """The stats a version records, from :func:`tallies`."""
    out = {
        "tasks": t["tasks"],
        "labeled": t["labeled"],
        "unlabeled": t["tasks"] - t["labeled"],
        "skipped": t["skipped"],
        "annotations": t["annotations"],
        "regions": t["regions"],
        "annotators": dict(sorted(t["annotators"].items())),
        "labels": label_counts_of(t["cells"]) if t["rows"] else {},
        "predictions": {mv: dict(p) for mv, p in sorted(t["predictions"].items())},
    }
    cells_by = by_annotator(t["cells"]) if t["rows"] else {}
    if cells_by is not None:  # drift between versions reads these instead of the tables
        out["labels_by_annotator"] = cells_by
    return out


#: the stats :func:`updated` builds on (a version's stats written before one of these was counted
#: cannot be brought up to date without its tables)
_TALLIED = ("tasks", "labeled", "skipped", "annotations", "regions", "annotators", "labels_by_annotator",
            "predictions")


def updated(head: dict, before: dict, after: dict, model_versions: list[str]) -> dict | None:
    """HEAD's ``stats`` with the :func:`tallies` of HEAD's rows of some tasks (``before``) taken out
    and those of their new rows (``after``) put in: the stats of the updated tables (predictions of
    ``model_versions``), as :func:`compute` of them gives. None when HEAD's stats lack a count
    (written by an older annover, or the per-annotator cells were over :data:`MAX_ANNOTATOR_CELLS`)."""
    if not isinstance(head, dict) or any(k not in head for k in _TALLIED):
        return None
    cells = {(ctl, who, lab): n for ctl, by in head["labels_by_annotator"].items() for who, labs in by.items()
             for lab, n in labs.items()}
    preds = {mv: dict(p) for mv, p in head["predictions"].items()}
    out = {k: head[k] - before[k] + after[k] for k in ("tasks", "labeled", "skipped", "annotations", "regions")}
    out["annotators"] = _plus(_plus(dict(head["annotators"]), before["annotators"], -1), after["annotators"], 1)
    out["cells"] = _plus(_plus(cells, before["cells"], -1), after["cells"], 1)
    for mv in set(before["predictions"]) | set(after["predictions"]):
        p = preds.setdefault(mv, {"tasks": 0, "regions": 0})
        for k in ("tasks", "regions"):
            p[k] = p[k] - before["predictions"].get(mv, {}).get(k, 0) + after["predictions"].get(mv, {}).get(k, 0)
    out["predictions"] = {mv: preds[mv] for mv in model_versions}
    out["rows"] = out["annotations"]  # rows are there when answers are
    return _shaped(out)


def _plus(into: dict, counts: dict, sign: int) -> dict:
    """``into`` with ``sign`` times ``counts`` added, counts of 0 left out."""
    for k, n in counts.items():
        into[k] = into.get(k, 0) + sign * n
        if not into[k]:
            del into[k]
    return into
