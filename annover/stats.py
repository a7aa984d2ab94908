"""Summary statistics of a version's tables. Pure: Arrow tables in, plain data out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .canonical import first_of_runs

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa


def _answers(ann: "pa.Table") -> "pa.Table":
    """One row per answer (task_key, annotation_key): its annotator and was_cancelled.

    The table is sorted by key, so an answer's rows are adjacent: take the first of each run.
    """
    import pyarrow as pa

    cols = ann.select(["task_key", "annotation_key", "annotator", "was_cancelled"])
    return cols.filter(pa.array(first_of_runs(cols, ["task_key", "annotation_key"])))


def label_counts(ann: "pa.Table") -> dict[str, dict[str, int]]:
    """control -> label -> number of regions carrying it (skips excluded)."""
    import pyarrow.compute as pc

    live = ann.select(["from_name", "labels", "was_cancelled"])
    live = live.filter(pc.invert(live.column("was_cancelled")))
    if live.num_rows == 0:
        return {}
    labels = live.column("labels")
    parents = pc.list_parent_indices(labels)
    pair = pc.binary_join_element_wise(pc.fill_null(pc.take(live.column("from_name"), parents), ""),
                                       pc.list_flatten(labels), "\x1f")
    out: dict[str, dict[str, int]] = {}
    for item in pc.value_counts(pair).to_pylist():
        ctl, _, label = item["values"].partition("\x1f")
        out.setdefault(ctl, {})[label] = item["counts"]
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def compute(tasks: "pa.Table", ann: "pa.Table", preds: dict[str, "pa.Table"] | None = None) -> dict:
    """tasks, labeled, unlabeled, skipped, annotations, regions, per annotator, per label, predictions."""
    import pyarrow.compute as pc

    answers = _answers(ann) if ann.num_rows else None
    n_tasks = tasks.num_rows
    labeled = 0
    skipped = 0
    per_annotator: dict[str, int] = {}
    if answers is not None:
        live = answers.filter(pc.invert(answers.column("was_cancelled")))
        labeled = int(first_of_runs(live, ["task_key"]).sum())  # answers are task-sorted
        skipped = answers.num_rows - live.num_rows
        for item in pc.value_counts(pc.fill_null(answers.column("annotator"), "-")).to_pylist():
            per_annotator[item["values"]] = item["counts"]
    regions = int(pc.sum(pc.not_equal(ann.column("region_key"), "")).as_py() or 0) if ann.num_rows else 0
    out = {
        "tasks": n_tasks,
        "labeled": labeled,
        "unlabeled": n_tasks - labeled,
        "skipped": skipped,
        "annotations": answers.num_rows if answers is not None else 0,
        "regions": regions,
        "annotators": dict(sorted(per_annotator.items())),
        "labels": label_counts(ann) if ann.num_rows else {},
        "predictions": {},
    }
    for mv, t in sorted((preds or {}).items()):
        out["predictions"][mv] = {
            "tasks": len(pc.unique(t.column("task_key"))) if t.num_rows else 0,
            "regions": int(pc.sum(pc.not_equal(t.column("region_key"), "")).as_py() or 0) if t.num_rows else 0,
        }
    return out
