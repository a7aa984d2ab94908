"""The one reader of model predictions (``snapshot --predictions``, ``dataset push --predictions``).

A file (JSON list or JSONL) holds Label Studio tasks with ``predictions``, or one record per
prediction: ``model_version``, ``score``, ``result`` and the task it is for, by ``task_key``,
by the task's ``data`` (keyed as the tasks are, ``--key``), or, for tasks sent from files,
by ``file``: the path relative to the folder or records file they were sent from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annover.errors import InputError, NotFoundError
from annover.formats.label_studio import KEEP_WITH_A_WARNING, RecordError, from_ls_tasks, task_key_of, task_predictions
from annover.formats.ls_results import check_answers, strictness
from annover.formats.tables import empty
from annover.formats.text import JSONL_SUFFIXES, check_readable, read_json_list
from annover.model.config import LabelingConfig

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["PredictionRecords", "predictions_file", "predictions_table", "read_prediction_records", "read_predictions",
           "read_predictions_table"]

#: Fields of a prediction record that say which task it is for (not part of the prediction).
TARGET_FIELDS = ("task_key", "data")
#: The data field that carries a given task key through the Label Studio reader.
_KEY_FIELD = "__annover_task_key__"


@dataclass
class PredictionRecords:
    """The predictions of a file by task key, each with the record it came from, so that an error
    names what the user can find in the file: ``preds.jsonl: line 3 (key r-002)``."""

    #: the file, as errors name it
    label: str
    #: task key -> its predictions, in the order of the file
    by_key: dict[str, list[dict]] = field(default_factory=dict)
    #: task key -> (record number, where in the record: "" or ", prediction 2" in a task) of each prediction
    origin: dict[str, list[tuple[int, str]]] | None = None
    #: JSONL: the line of each record (records are counted from 0 in a JSON list)
    lines: list[int] | None = None

    def place(self, k: str, j: int = 0) -> str:
        """Where prediction ``j`` of task ``k`` is: ``FILE: line N (key K)[, prediction P]``; for
        predictions not read from a file (a version's), ``LABEL (task K)``."""
        if self.origin is None or k not in self.origin:
            return f"{self.label} (task {k})"
        i, inside = self.origin[k][j]
        return f"{self.label}: {self.record(i)} (key {k}){inside}"

    def record(self, i: int) -> str:
        return f"line {self.lines[i]}" if self.lines is not None else f"record {i}"


def read_predictions(path: str | Path, *, key: str | None = None, files: dict[str, dict] | None = None,
                     what: str | None = None, warnings: list[str] | None = None) -> dict[str, list[dict]]:
    """task key -> the Label Studio predictions for it in ``path`` (see :func:`read_prediction_records`)."""
    return read_prediction_records(path, key=key, files=files, what=what, warnings=warnings).by_key


def predictions_file(path: str | Path, label: str | None = None) -> Path:
    """``path`` as a predictions file that can be read; NotFoundError / InputError naming it otherwise."""
    p = Path(path)
    check_readable(p, option="--predictions")
    if not p.is_file():
        raise NotFoundError(f"{label or path}: no such file (--predictions)",
                            "give a JSON or JSONL file of predictions")
    return p


def read_prediction_records(path: str | Path, *, key: str | None = None, files: dict[str, dict] | None = None,
                            what: str | None = None, warnings: list[str] | None = None) -> PredictionRecords:
    """The predictions in ``path`` by task key, each with its record.

    ``files`` maps a sent file's relative path to its task data (records with ``file``);
    ``what`` names the file in errors (default: its path); ``warnings`` is told of predictions
    given as ids only, left out (a file of nothing else is an error).
    """
    label = what or str(path)
    p = predictions_file(path, label)
    records = read_json_list(p, "predictions")
    out = PredictionRecords(label, origin={}, lines=_lines(p) if p.suffix.lower() in JSONL_SUFFIXES else None)
    ids_only = 0
    for i, rec in enumerate(records):
        where = f"{label}: {out.record(i)}"
        if not isinstance(rec, dict):
            raise InputError(f"{where}: not an object", "each prediction is a JSON object")
        try:
            if isinstance(rec.get("data"), dict) and isinstance(rec.get("predictions"), list):
                k = task_key_of(rec, key, where)
                # the snapshot's rule, skipping what is no prediction; a plain export's ids: those its annotations give
                head = f"{where} (key {k})"
                got = task_predictions(rec, head, strict=False)
                ids_only += got.ids_only
                preds = [_prediction(x, pwhere, ()) for x, _, pwhere in got.found]
                places = [(i, pwhere[len(head):]) for _, _, pwhere in got.found]
            else:
                k, used = _target(rec, key, files, where)
                preds, places = [_prediction(rec, f"{where} (key {k})", used)], [(i, "")]
        except RecordError as e:
            raise InputError(str(e), "use the same --key for tasks and predictions") from None
        out.by_key.setdefault(k, []).extend(preds)
        out.origin.setdefault(k, []).extend(places)  # type: ignore[union-attr]
    if ids_only and not any(out.by_key.values()):
        raise InputError(f"{label}: its {ids_only} prediction(s) are ids only (a Label Studio export made without "
                         "them in full), so there is no prediction to read",
                         "export the project with its predictions in full: annover dataset export DATASET --out FILE")
    if not records:  # attaching none, silently, was what an empty file (or list) did
        raise InputError(f"{label}: holds no prediction (the file is empty)",
                         "give the model's predictions (JSON or JSONL of {task_key, model_version, score, result}, "
                         "or Label Studio tasks with predictions), or leave --predictions out")
    if ids_only and warnings is not None:
        warnings.append(f"{label}: {ids_only} prediction(s) given as ids only (nowhere in full) were left out; "
                        "export the project with its predictions in full (annover dataset export) to read them")
    return out


def _lines(path: Path) -> list[int]:
    """The line number of each record of a JSONL file (blank lines hold none), as read_jsonl reads them."""
    with path.open(encoding="utf-8-sig") as f:
        return [n for n, line in enumerate(f, 1) if line.strip()]


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


def predictions_table(preds: PredictionRecords, source: str, config: LabelingConfig | None = None,
                      validate: bool | str = True, warnings: list[str] | None = None) -> "pa.Table":
    """The canonical predictions table of ``preds``, checked against ``config`` at ``validate`` (True:
    ``check``, or a strictness); ``warnings`` is told what ``warn`` keeps. Errors name the record."""
    tasks = [{"data": {_KEY_FIELD: k}, "predictions": ps} for k, ps in preds.by_key.items()]
    if not tasks:
        return empty("predictions")
    level = strictness(validate)
    # malformed first (exit 3), then not allowed by the config (exit 4), as a snapshot reads tasks; each
    # prediction named by its record, not by the made-up task holding it
    table = from_ls_tasks(tasks, source, key=f"data.{_KEY_FIELD}", validate=False, place=preds.place).predictions
    if config is not None and level != "off":
        kept = check_answers(((lambda k=k, j=j: preds.place(k, j), p) for k, ps in preds.by_key.items()
                              for j, p in enumerate(ps)), config, level, source, _hint(config, validate))
        if warnings is not None:
            warnings.extend(kept)
    return table


def _hint(config: LabelingConfig, validate: bool | str) -> str:
    if validate is True:  # no strictness chosen for the predictions: only checking or not
        return f"fix the predictions' results or {config.source}, or pass --no-validate (nothing is checked then)"
    if validate == "strict":
        return f"fix the predictions' results or {config.source}, or check less strictly"
    return f"fix the predictions' results or {config.source}; or {KEEP_WITH_A_WARNING}"


def read_predictions_table(path: str, key: str | None, config: LabelingConfig | None,
                           validate: bool | str, warnings: list[str] | None = None) -> "pa.Table":
    """The canonical predictions table of a predictions file (``snapshot --predictions``); ``validate``:
    True / False, or a strictness."""
    preds = read_prediction_records(path, key=key, what=f"--predictions {path}", warnings=warnings)
    return predictions_table(preds, path, config, validate, warnings)
