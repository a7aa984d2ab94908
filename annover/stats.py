"""Summary statistics of a version's tables. Pure: Arrow tables in, plain data out."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa


def _answers(ann: "pa.Table") -> "pa.Table":
    """One row per answer (task_key, annotation_key) with its annotator and was_cancelled."""
    return ann.select(["task_key", "annotation_key", "annotator", "was_cancelled"]).group_by(
        ["task_key", "annotation_key"], use_threads=False
    ).aggregate([("annotator", "min"), ("was_cancelled", "min")])


def label_counts(ann: "pa.Table") -> dict[str, dict[str, int]]:
    """control -> label -> number of regions carrying it (skips excluded)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    live = ann.filter(pc.invert(ann.column("was_cancelled")))
    if live.num_rows == 0:
        return {}
    parents = pc.list_parent_indices(live.column("labels"))
    flat = pa.table({
        "from_name": pc.fill_null(pc.take(live.column("from_name"), parents), ""),
        "label": pc.list_flatten(live.column("labels")),
    })
    out: dict[str, dict[str, int]] = {}
    for row in flat.group_by(["from_name", "label"], use_threads=False).aggregate([("label", "count")]).to_pylist():
        out.setdefault(row["from_name"], {})[row["label"]] = row["label_count"]
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
        live = answers.filter(pc.invert(answers.column("was_cancelled_min")))
        labeled = len(pc.unique(live.column("task_key")))
        skipped = answers.num_rows - live.num_rows
        for row in answers.group_by("annotator_min", use_threads=False).aggregate(
                [("annotation_key", "count")]).to_pylist():
            per_annotator[row["annotator_min"] if row["annotator_min"] is not None else "-"] = row["annotation_key_count"]
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
