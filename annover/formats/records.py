"""Task records (JSON / JSONL / CSV) as Label Studio import tasks, for sending to a dataset.

A record is a task's data, or a Label Studio task (``data`` with ``meta``, ``predictions``,
``annotations``). What Label Studio computes itself (ids, times, counters) is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annover.errors import InputError, UsageError
from annover.formats.label_studio import RecordError, check_annotation, task_predictions
from annover.formats.text import JSONL_SUFFIXES, read_csv_records, read_json_list
from annover.model.config import ConfigObject, LabelingConfig

__all__ = ["ANNOTATION_SERVER_FIELDS", "KINDS", "MEDIA_TAGS", "OBJECT_KINDS", "PREDICTION_SERVER_FIELDS",
           "RECORD_SUFFIXES", "TaskItems", "clean", "data_objects", "field_for", "kind_of", "read_records",
           "task_items"]

#: Prediction fields Label Studio sets itself; not sent.
PREDICTION_SERVER_FIELDS = frozenset({
    "id", "task", "project", "created_at", "updated_at", "created_ago", "cluster", "neighbors", "mislabeling",
    "model", "model_run"})
#: Annotation fields Label Studio sets itself; not sent.
ANNOTATION_SERVER_FIELDS = frozenset({
    "id", "task", "project", "created_at", "updated_at", "updated_by", "result_count", "unique_id", "import_id",
    "last_action", "last_created_by", "bulk_created", "draft_created_at", "prediction", "parent_prediction",
    "parent_annotation", "created_username", "created_ago", "state"})
RECORD_SUFFIXES = (".csv", ".tsv", ".json", *JSONL_SUFFIXES)
#: File kinds by name suffix (a folder of such files is one task per file).
KINDS: dict[str, set[str]] = {
    "image": {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".svg", ".avif", ".heic"},
    "audio": {".wav", ".mp3", ".flac", ".ogg", ".oga", ".m4a", ".aac", ".opus"},
    "video": {".mp4", ".webm", ".mov", ".mkv", ".avi", ".m4v", ".ogv"},
    "text": {".txt"},
}
#: Label Studio object tags and the kind of file each shows.
OBJECT_KINDS = {"Image": "image", "Audio": "audio", "AudioPlus": "audio", "Video": "video",
                "Text": "text", "HyperText": "text"}
#: Objects whose data value is a URL (a local path there is a file to serve).
MEDIA_TAGS = {"Image", "Audio", "AudioPlus", "Video"}


def clean(d: dict, drop: frozenset[str] | set[str]) -> dict:
    """``d`` without the keys in ``drop``."""
    return {k: v for k, v in d.items() if k not in drop}


def read_records(path: Path) -> list[Any]:
    """The records of a CSV / TSV (values as strings), JSON list or JSONL file."""
    ext = path.suffix.lower()
    if ext in (".csv", ".tsv"):
        return read_csv_records(path)
    if ext in RECORD_SUFFIXES:
        return read_json_list(path, "records")
    if ext in (".parquet", ".pq"):  # annover's own tables, or a flat file: a version holds them
        raise InputError(f"{path}: a Parquet file is not sent as it is", "snapshot it first (annover snapshot --from "
                         f"{path.name}), then send the version: --from HEAD")
    raise InputError(f"{path}: unknown file type {ext or '(none)'}",
                     "give a folder, a .jsonl / .json / .csv file of records, or a version (v2, HEAD)")


@dataclass
class TaskItems:
    """Import tasks made from records, and what was left out of them."""

    items: list[dict] = field(default_factory=list)
    prediction_ids: int = 0  # predictions given as ids only (or as neither an object nor an id): left out
    annotations_dropped: int = 0  # annotations not sent (send_annotations=False)

    def warnings(self, source: str) -> list[str]:
        out = []
        if self.annotations_dropped:
            out.append(f"{source}: {self.annotations_dropped} annotation(s) not sent (pass --annotations to send them)")
        if self.prediction_ids:
            out.append(f"{source}: {self.prediction_ids} prediction(s) given as ids only were left out")
        return out


def task_items(records: list[Any], source: str, send_annotations: bool) -> TaskItems:
    """Import tasks of ``records``; annotations only with ``send_annotations``."""
    out = TaskItems()
    for i, rec in enumerate(records):
        out.items.append(_item(rec, f"{source}: record {i}", send_annotations, out))
    return out


def _item(rec: Any, where: str, send_annotations: bool, counts: TaskItems) -> dict:
    if not isinstance(rec, dict):
        raise InputError(f"{where} is {type(rec).__name__}, expected an object",
                         "each record is a JSON object (a task's data, or a task with a 'data' field)")
    if not isinstance(rec.get("data"), dict):
        return {"data": rec}
    item: dict[str, Any] = {"data": rec["data"]}
    if isinstance(rec.get("meta"), dict) and rec["meta"]:
        item["meta"] = rec["meta"]
    anns = rec.get("annotations", rec.get("completions")) or []
    try:
        preds = task_predictions(rec, where, strict=False)  # the snapshot's rule, skipping what is no prediction
    except RecordError as e:
        raise InputError(str(e), e.hint or "give a list of predictions, or leave the field out") from None
    counts.prediction_ids += preds.ids_only + preds.skipped
    if preds.found:
        item["predictions"] = [clean(p, PREDICTION_SERVER_FIELDS) for p in preds.predictions]
    if anns and send_annotations:
        if not isinstance(anns, list) or not all(isinstance(a, dict) for a in anns):
            raise InputError(f"{where}: 'annotations' is not a list of objects", "give Label Studio annotations")
        for ai, a in enumerate(anns):  # what a snapshot refuses is not sent either
            try:
                check_annotation(a, f"{where}, annotation {ai}")
            except RecordError as e:
                raise InputError(str(e), e.hint or "fix the annotation, or send without --annotations") from None
        item["annotations"] = [clean(a, ANNOTATION_SERVER_FIELDS) for a in anns]
    elif anns:
        counts.annotations_dropped += len(anns) if isinstance(anns, list) else 1
    return item


# ---------------------------------------------------------------------------
# files and the objects that show them


def data_objects(config: LabelingConfig) -> list[ConfigObject]:
    """The object tags that show task data of a file kind (``<Image value="$image">``)."""
    return [o for o in config.objects.values()
            if o.tag in OBJECT_KINDS and o.from_data and not (o.tag == "Text" and o.value_type == "url")]


def kind_of(path: Path) -> str | None:
    """The kind of file ``path`` is by its name (image, audio, video, text), None for others."""
    ext = path.suffix.lower()
    return next((k for k, exts in KINDS.items() if ext in exts), None)


def field_for(kind: str, objects: list[ConfigObject], field_name: str | None, what: str) -> str:
    """The data field a file of ``kind`` goes in: ``field_name``, else the one object showing that kind."""
    if field_name:
        return field_name
    fields = sorted({o.field for o in objects if OBJECT_KINDS[o.tag] == kind})
    if len(fields) == 1:
        return fields[0]
    if not fields:
        have = ", ".join(f"<{o.tag} value=\"${o.field}\">" for o in objects) or "none"
        raise InputError(f"{what}: the labeling config has no object that shows {kind} files (objects: {have})",
                         "send files the config can show, or pick the data field with --field NAME")
    raise UsageError(f"the labeling config has {len(fields)} objects for {kind} files ({', '.join(fields)})",
                     "choose the data field with --field NAME")
