"""The one reader of model predictions (``snapshot --predictions``, ``dataset push --predictions``).

A file (JSON list or JSONL) holds Label Studio tasks with ``predictions``, or one record per
prediction: ``model_version``, ``score``, ``result`` and the task it is for, by ``task_key``,
by the task's ``data`` (keyed as the tasks are, ``--key``), or, for tasks sent from files,
by ``file``: the path relative to the folder or records file they were sent from.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from annover.errors import InputError, NotFoundError
from annover.formats.label_studio import RecordError, from_ls_tasks, task_key_of, task_predictions
from annover.formats.tables import empty
from annover.formats.text import check_readable, read_json_list
from annover.model.config import LabelingConfig

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["predictions_table", "read_predictions", "read_predictions_table"]

#: Fields of a prediction record that say which task it is for (not part of the prediction).
TARGET_FIELDS = ("task_key", "data")
#: The data field that carries a given task key through the Label Studio reader.
_KEY_FIELD = "__annover_task_key__"


def read_predictions(path: str | Path, *, key: str | None = None, files: dict[str, dict] | None = None,
                     what: str | None = None, warnings: list[str] | None = None) -> dict[str, list[dict]]:
    """task key -> the Label Studio predictions for it in ``path``.

    ``files`` maps a sent file's relative path to its task data (records with ``file``);
    ``what`` names the file in errors (default: its path); ``warnings`` is told of predictions
    given as ids only, left out (a file of nothing else is an error).
    """
    label = what or str(path)
    p = Path(path)
    check_readable(p, option="--predictions")
    if not p.is_file():
        raise NotFoundError(f"{label}: no such file (--predictions)", "give a JSON or JSONL file of predictions")
    out: dict[str, list[dict]] = {}
    ids_only = 0
    for i, rec in enumerate(read_json_list(p, "predictions")):
        where = f"{label}: record {i}"
        if not isinstance(rec, dict):
            raise InputError(f"{where}: not an object", "each prediction is a JSON object")
        try:
            if isinstance(rec.get("data"), dict) and isinstance(rec.get("predictions"), list):
                k = task_key_of(rec, key, where)
                # the snapshot's rule, skipping what is no prediction; a plain export's ids: those its annotations give
                got = task_predictions(rec, where, strict=False)
                ids_only += got.ids_only
                preds = [_prediction(x, f"{where}, prediction {j}", ()) for j, x in enumerate(got.predictions)]
            else:
                k, used = _target(rec, key, files, where)
                preds = [_prediction(rec, where, used)]
        except RecordError as e:
            raise InputError(str(e), "use the same --key for tasks and predictions") from None
        out.setdefault(k, []).extend(preds)
    if ids_only and not any(out.values()):
        raise InputError(f"{label}: its {ids_only} prediction(s) are ids only (a Label Studio export made without "
                         "them in full), so there is no prediction to read",
                         "export the project with its predictions in full: annover dataset export DATASET --out FILE")
    if ids_only and warnings is not None:
        warnings.append(f"{label}: {ids_only} prediction(s) given as ids only (nowhere in full) were left out; "
                        "export the project with its predictions in full (annover dataset export) to read them")
    return out


def _target(rec: dict, key: str | None, files: dict[str, dict] | None, where: str) -> tuple[str, tuple[str, ...]]:
    """(the task key of a prediction record, the fields that said it)."""
    if "task_key" in rec:
        k = rec["task_key"]
        if isinstance(k, bool) or not isinstance(k, (str, int)) or k == "":
            raise InputError(f"{where}, field task_key: is {k!r:.40}, expected a task key (text or an integer)",
                             "say which task each prediction is for with its task key")
        return str(k), TARGET_FIELDS
    if isinstance(rec.get("data"), dict):
        return task_key_of(rec, key, where), TARGET_FIELDS
    if "file" in rec and files is not None:
        data = files.get(Path(str(rec["file"])).as_posix())
        if data is None:
            raise InputError(f"{where}: file {rec['file']!r} is not one of the files sent",
                             "give the path relative to the folder (or records file) sent with --from")
        return task_key_of({"data": data}, key, where), (*TARGET_FIELDS, "file")
    raise InputError(f"{where}: no task_key or data{' or file' if files is not None else ''}",
                     "say which task each prediction is for (task_key, or the task's data)")


def _prediction(rec: dict, where: str, drop: tuple[str, ...]) -> dict[str, Any]:
    """A prediction as Label Studio takes it: a result list, a numeric score."""
    if not isinstance(rec.get("result"), list):
        raise InputError(f"{where}: no result list", "a prediction needs a 'result' list")
    score = rec.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise InputError(f"{where}: score {score!r} is not a number", "give score as a number")
    return {k: v for k, v in rec.items() if k not in drop}


def predictions_table(by_key: dict[str, list[dict]], source: str, config: LabelingConfig | None = None,
                      validate: bool = True) -> "pa.Table":
    """The canonical predictions table of predictions by task key (checked against ``config``)."""
    tasks = [{"data": {_KEY_FIELD: k}, "predictions": ps} for k, ps in by_key.items()]
    if not tasks:
        return empty("predictions")
    return from_ls_tasks(tasks, source, config=config, key=f"data.{_KEY_FIELD}", validate=validate).predictions


def read_predictions_table(path: str, key: str | None, config: LabelingConfig | None,
                           validate: bool, warnings: list[str] | None = None) -> "pa.Table":
    """The canonical predictions table of a predictions file (``snapshot --predictions``)."""
    return predictions_table(read_predictions(path, key=key, what=f"--predictions {path}", warnings=warnings),
                             path, config, validate)
