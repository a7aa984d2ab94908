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
    pc = lazy("pyarrow.compute")


def _codes(col: "pa.Array | pa.ChunkedArray", null: str) -> tuple["np.ndarray", list[str]]:
    """(integer code per row, the distinct values) of a string column; nulls count as ``null``."""
    if col.null_count:
        col = pc.fill_null(col, null)
    enc = pc.dictionary_encode(single_chunk(col))
    return enc.indices.to_numpy(zero_copy_only=False), enc.dictionary.to_pylist()


def _counts(codes: "np.ndarray", values: list[str]) -> dict[str, int]:
    n = np.bincount(codes, minlength=len(values)) if len(codes) else np.zeros(len(values), dtype=np.int64)
    return {v: int(c) for v, c in zip(values, n.tolist()) if c}


def label_counts(ann: "pa.Table", live: "np.ndarray | None" = None) -> dict[str, dict[str, int]]:
    """control -> label -> number of regions carrying it (skips excluded).

    ``live``: a bool mask of the rows to count (default: the rows that are not skips).
    """
    if ann.num_rows == 0:
        return {}
    if live is None:
        live = ~ann.column("was_cancelled").to_numpy(zero_copy_only=False).astype(bool)
    labels = ann.column("labels")  # a null list has no elements: nothing to count
    parents = pc.list_parent_indices(labels).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(labels)
    if len(flat) == 0:
        return {}
    ctl_codes, ctls = _codes(ann.column("from_name"), "")
    lab_codes, labs = _codes(flat, "")
    keep = live[parents]
    pair = ctl_codes[parents[keep]].astype(np.int64) * max(len(labs), 1) + lab_codes[keep]
    counts = np.bincount(pair, minlength=len(ctls) * len(labs)).reshape(len(ctls), max(len(labs), 1))
    out: dict[str, dict[str, int]] = {}
    for i, j in zip(*np.nonzero(counts)):
        out.setdefault(ctls[i], {})[labs[j]] = int(counts[i, j])
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def compute(tasks: "pa.Table", ann: "pa.Table", preds: dict[str, "pa.Table"] | None = None) -> dict:
    """tasks, labeled, unlabeled, skipped, annotations, regions, per annotator, per label, predictions."""
    n_tasks = tasks.num_rows
    labeled = skipped = answers = regions = 0
    per_annotator: dict[str, int] = {}
    labels: dict[str, dict[str, int]] = {}
    if ann.num_rows:
        task_start = first_of_runs(ann, ["task_key"])
        rows = np.flatnonzero(task_start | first_of_runs(ann, ["annotation_key"]))  # the first row of each answer
        cancelled = ann.column("was_cancelled").to_numpy(zero_copy_only=False).astype(bool)
        answers = len(rows)
        skipped = int(cancelled[rows].sum())
        # a task is labeled when one of its answers is not a skip
        task_of_row = np.cumsum(task_start) - 1
        live_tasks = task_of_row[rows[~cancelled[rows]]]  # non-decreasing: count its runs
        labeled = int(np.count_nonzero(np.diff(live_tasks)) + 1) if len(live_tasks) else 0
        codes, names = _codes(ann.column("annotator"), "-")
        per_annotator = _counts(codes[rows], names)
        regions = int(pc.sum(pc.greater(pc.binary_length(ann.column("region_key")), 0)).as_py() or 0)
        labels = label_counts(ann, ~cancelled)
    out = {
        "tasks": n_tasks,
        "labeled": labeled,
        "unlabeled": n_tasks - labeled,
        "skipped": skipped,
        "annotations": answers,
        "regions": regions,
        "annotators": dict(sorted(per_annotator.items())),
        "labels": labels,
        "predictions": {},
    }
    for mv, t in sorted((preds or {}).items()):
        out["predictions"][mv] = {
            "tasks": len(pc.unique(t.column("task_key"))) if t.num_rows else 0,
            "regions": int(pc.sum(pc.greater(pc.binary_length(t.column("region_key")), 0)).as_py() or 0)
            if t.num_rows else 0,
        }
    return out
