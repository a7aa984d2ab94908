"""Sending tasks to a dataset: from a folder of files, a JSONL / CSV / JSON file of records,
or the tasks of an annover version, with model predictions as pre-annotations.

Incremental by task key: a task whose key (``--key data.FIELD``, else the hash of its data:
:func:`annover.formats.label_studio.task_key_of`, the key snapshots use) is already in the
project is not sent again, and a prediction is not sent to a task that already has one of
the same ``model_version``.

Local files reach Label Studio through its local storage: annover connects the folder to the
project as a local-files storage and sends tasks whose data is
``/data/local-files/?d=<path below the document root>``, the URL Label Studio itself writes.
The server must run with ``LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true`` and
``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=DIR``; annover reads the same variable (or
``document_root=``) to build the URLs, and checks that the server serves the first file.
"""

from __future__ import annotations

import csv
import json
import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from annover.errors import InputError, NotFoundError, RevisionError, UsageError, ValidationError
from annover.labelstudio.client import ENV_DOCUMENT_ROOT, Client, Project

if TYPE_CHECKING:  # pragma: no cover
    from annover.model.config import LabelingConfig
    from annover.repo import Repo

#: progress(step, done, total)
PushProgress = Callable[[str, int, int], None]

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
LOCAL_FILES_PREFIX = "/data/local-files/?d="
MAX_BATCH_TASKS = 5000
MAX_BATCH_BYTES = 32 * 1024 * 1024

_PRED_KEEP_OUT = {"id", "task", "project", "created_at", "updated_at", "created_ago", "cluster", "neighbors",
                  "mislabeling", "model", "model_run"}
_ANN_KEEP_OUT = {"id", "task", "project", "created_at", "updated_at", "updated_by", "result_count", "unique_id",
                 "import_id", "last_action", "last_created_by", "bulk_created", "draft_created_at", "prediction",
                 "parent_prediction", "parent_annotation", "created_username", "created_ago", "state"}


def _noop(step: str, done: int, total: int) -> None:
    pass


@dataclass
class PushResult:
    """What a send did (or, with ``dry_run``, would do)."""

    project: Project
    url: str
    source: str
    tasks: int = 0  # tasks in the source
    sent: int = 0  # new tasks sent
    already: int = 0  # tasks already in the project (by key)
    predictions: int = 0  # predictions sent (with new tasks and to tasks already there)
    predictions_already: int = 0  # not sent: the task has that model_version already
    annotations: int = 0
    task_ids: list[int] = field(default_factory=list)
    storage: str | None = None  # local-files storage path the files are served from
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict:
        return {
            "dataset": self.project.title, "project_id": self.project.id, "url": self.url, "source": self.source,
            "tasks": self.tasks, "sent": self.sent, "already": self.already, "predictions": self.predictions,
            "predictions_already": self.predictions_already, "annotations": self.annotations,
            "storage": self.storage, "warnings": self.warnings, "dry_run": self.dry_run,
        }


# ---------------------------------------------------------------------------
# the labeling config's objects


@dataclass(frozen=True)
class Obj:
    tag: str
    name: str
    field: str

    @property
    def kind(self) -> str:
        return OBJECT_KINDS[self.tag]


def config_objects(config_text: str) -> list[Obj]:
    """The object tags that read task data (``<Image value="$image">`` -> Obj("Image", ..., "image"))."""
    import defusedxml.ElementTree as DET

    out = []
    for el in DET.fromstring(config_text).iter():
        value = el.attrib.get("value", "")
        if el.tag in OBJECT_KINDS and value.startswith("$") and el.attrib.get("name"):
            if el.tag == "Text" and el.attrib.get("valueType") == "url":
                continue
            out.append(Obj(el.tag, el.attrib["name"], value[1:]))
    return out


def kind_of(path: Path) -> str | None:
    ext = path.suffix.lower()
    return next((k for k, exts in KINDS.items() if ext in exts), None)


def _field_for(kind: str, objects: list[Obj], field_name: str | None, what: str) -> str:
    if field_name:
        return field_name
    fields = sorted({o.field for o in objects if o.kind == kind})
    if len(fields) == 1:
        return fields[0]
    if not fields:
        have = ", ".join(f"<{o.tag} value=\"${o.field}\">" for o in objects) or "none"
        raise InputError(f"{what}: the labeling config has no object that shows {kind} files (objects: {have})",
                         "send files the config can show, or pick the data field with --field NAME")
    raise UsageError(f"the labeling config has {len(fields)} objects for {kind} files ({', '.join(fields)})",
                     "choose the data field with --field NAME")


# ---------------------------------------------------------------------------
# local files


class LocalFiles:
    """URLs of local files under Label Studio's document root, and the storage that serves them."""

    def __init__(self, document_root: str | None) -> None:
        self.root = Path(document_root).expanduser().resolve() if document_root else None
        self.files: list[Path] = []

    def url(self, path: Path, what: str) -> str:
        if self.root is None:
            raise UsageError(
                f"{what}: local files need Label Studio's local file serving, and {ENV_DOCUMENT_ROOT} is not set",
                f"start Label Studio with LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and {ENV_DOCUMENT_ROOT}=DIR "
                f"(DIR holding your data), and set the same {ENV_DOCUMENT_ROOT} here (or pass --document-root DIR)")
        p = path.resolve()
        try:
            rel = p.relative_to(self.root)
        except ValueError:
            raise InputError(f"{what}: {path} is not below the document root {self.root}",
                             f"move the data below {self.root}, or start Label Studio with a document root "
                             f"that holds it ({ENV_DOCUMENT_ROOT})") from None
        if len(rel.parts) < 2:
            raise InputError(f"{what}: {path} is directly in the document root {self.root}",
                             "put the files in a folder below the document root (Label Studio refuses the root)")
        self.files.append(p)
        return LOCAL_FILES_PREFIX + urllib.parse.quote(rel.as_posix())

    def storage_dirs(self) -> list[Path]:
        """Folders to connect: per top-level folder below the root, the deepest one holding its files."""
        assert self.root is not None or not self.files
        groups: dict[str, list[Path]] = {}
        for f in self.files:
            groups.setdefault(f.relative_to(self.root).parts[0], []).append(f.parent)  # type: ignore[arg-type]
        return sorted(Path(os.path.commonpath([str(d) for d in dirs])) for dirs in groups.values())

    def ensure_storage(self, client: Client, project: Project, dry_run: bool) -> str | None:
        """Connect (once) local-files storages covering the files, then check one file is served."""
        dirs = self.storage_dirs()
        if not dirs:
            return None
        listing = client.raw("GET", "api/storages/localfiles/", what="listing local storages",
                             params={"project": project.id})
        have = [Path(s["path"]) for s in (listing or []) if s.get("path")]
        for d in dirs:
            if any(d == h or h in d.parents for h in have) or dry_run:
                continue
            client.raw("POST", "api/storages/localfiles/", what=f"connecting local storage {d}", retries=0,
                       json_body={"project": project.id, "path": str(d), "use_blob_urls": True,
                                  "title": f"annover: {d.name}"[:256], "recursive_scan": True})
        if not dry_run:
            first = self.files[0]
            rel = first.relative_to(self.root).as_posix()  # type: ignore[arg-type]
            status = client.status_of("data/local-files/", params={"d": rel}, what=f"reading {first}")
            if status != 200:
                raise InputError(
                    f"Label Studio cannot serve {first} (HTTP {status} for {LOCAL_FILES_PREFIX}{rel})",
                    f"the server's {ENV_DOCUMENT_ROOT} must be {self.root}, with "
                    "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true")
        return ", ".join(str(d) for d in dirs)


def _is_url_like(v: str) -> bool:
    return "://" in v or v.startswith(("/data/", "data:", "http:", "https:"))


# ---------------------------------------------------------------------------
# reading the source


@dataclass
class Source:
    items: list[dict]  # Label Studio import tasks: data, meta, predictions, annotations
    name: str
    files: dict[str, dict] = field(default_factory=dict)  # source file (posix, relative) -> task data
    warnings: list[str] = field(default_factory=list)


def _read_json_any(path: Path) -> list:
    from annover.formats.ingest import _read_json, _read_jsonl

    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return _read_jsonl(path)
    doc = _read_json(path)
    if isinstance(doc, dict) and isinstance(doc.get("tasks"), list):
        doc = doc["tasks"]
    if not isinstance(doc, list):
        raise InputError(f"{path}: expected a JSON list of records, got a JSON {type(doc).__name__}",
                         "give a list of tasks or records")
    return doc


def _read_csv(path: Path) -> list[dict]:
    delim = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f, delimiter=delim)
            if not reader.fieldnames:
                raise InputError(f"{path}: no header row", "the first line names the columns")
            rows = []
            for n, row in enumerate(reader, 2):
                if None in row:
                    raise InputError(f"{path}: line {n} has more values than the header has columns",
                                     "quote values that contain the delimiter")
                rows.append({k: ("" if v is None else v) for k, v in row.items()})
            return rows
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e.reason})", "save the file as UTF-8") from None
    except csv.Error as e:
        raise InputError(f"{path}: cannot read CSV: {e}", "check the quoting") from None


def _task_of_record(rec: Any, i: int, where: str, send_annotations: bool, counts: dict) -> dict:
    if not isinstance(rec, dict):
        raise InputError(f"{where}: record {i} is {type(rec).__name__}, expected an object",
                         "each record is a JSON object (a task's data, or a task with a 'data' field)")
    if not isinstance(rec.get("data"), dict):
        return {"data": rec}
    item: dict[str, Any] = {"data": rec["data"]}
    if isinstance(rec.get("meta"), dict) and rec["meta"]:
        item["meta"] = rec["meta"]
    preds = rec.get("predictions") or []
    if preds:
        if not isinstance(preds, list):
            raise InputError(f"{where}: record {i}: 'predictions' is not a list", "give a list of predictions")
        full = [p for p in preds if isinstance(p, dict)]
        if len(full) != len(preds):
            counts["pred_ids"] += len(preds) - len(full)
        if full:
            item["predictions"] = [_clean(p, _PRED_KEEP_OUT) for p in full]
    anns = rec.get("annotations", rec.get("completions")) or []
    if anns:
        if send_annotations:
            if not isinstance(anns, list) or not all(isinstance(a, dict) for a in anns):
                raise InputError(f"{where}: record {i}: 'annotations' is not a list of objects",
                                 "give Label Studio annotations")
            item["annotations"] = [_clean(a, _ANN_KEEP_OUT) for a in anns]
        else:
            counts["ann_dropped"] += len(anns) if isinstance(anns, list) else 1
    return item


def _clean(d: dict, drop: set[str]) -> dict:
    return {k: v for k, v in d.items() if k not in drop}


def _localize(items: list[dict], objects: list[Obj], base: Path, local: LocalFiles, where: str,
              files: dict[str, dict]) -> None:
    """Local paths in media fields become local-files URLs; a missing file is an error."""
    media = [o.field for o in objects if o.tag in MEDIA_TAGS]
    for i, item in enumerate(items):
        data = item["data"]
        for f in media:
            v = data.get(f)
            if not isinstance(v, str) or not v or _is_url_like(v):
                continue
            p = Path(v).expanduser()
            p = p if p.is_absolute() else base / p
            if not p.is_file():
                raise InputError(f"{where}: record {i}, field {f!r}: file {v} not found ({p})",
                                 "fix the path (relative paths are read from the records file's folder)")
            data = {**data, f: local.url(p, f"{where}: record {i}")}
            try:
                files[p.resolve().relative_to(base.resolve()).as_posix()] = data
            except ValueError:
                files[str(p.resolve())] = data
        item["data"] = data


def read_folder(folder: Path, objects: list[Obj], field_name: str | None, local: LocalFiles) -> Source:
    """One task per file: text files inline, media files as local-files URLs."""
    items: list[dict] = []
    files: dict[str, dict] = {}
    unknown: list[str] = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or p.is_dir():
            continue
        if p.is_symlink() and not p.exists():
            raise InputError(f"{p}: a link to a file that is missing", "fix or remove the link")
        kind = kind_of(p)
        if kind is None:
            unknown.append(rel.as_posix())
            continue
        f = _field_for(kind, objects, field_name, str(p))
        if kind == "text":
            try:
                value = p.read_text(encoding="utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"{p}: not UTF-8 text ({e.reason})", "save text files as UTF-8") from None
        else:
            value = local.url(p, str(p))
        data = {f: value}
        items.append({"data": data})
        files[rel.as_posix()] = data
    src = Source(items, str(folder), files)
    if unknown:
        src.warnings.append(f"{folder}: {len(unknown)} file(s) of a type annover does not send were left out, "
                            f"e.g. {unknown[0]}")
    if not items:
        raise InputError(f"{folder}: no files to send (images, audio, video or .txt)",
                         "give a folder of files, or a JSONL / CSV file of records")
    return src


def read_version(repo: "Repo", rev: str, send_annotations: bool) -> Source:
    """The tasks of version ``rev`` (and, with ``send_annotations``, its annotations)."""
    from annover.formats.label_studio import to_tasks

    tasks = repo.read_table(rev, "tasks").to_pylist()
    anns = repo.read_table(rev, "annotations").to_pylist() if send_annotations else []
    items = []
    for t in to_tasks(tasks, anns, []):
        item: dict[str, Any] = {"data": t["data"]}
        if isinstance(t.get("meta"), dict) and t["meta"]:
            item["meta"] = t["meta"]
        if send_annotations and t.get("annotations"):
            item["annotations"] = [_clean(a, _ANN_KEEP_OUT) for a in t["annotations"]]
        items.append(item)
    return Source(items, f"version {rev}")


def read_source(source: str, *, objects: list[Obj], field_name: str | None, local: LocalFiles,
                repo: "Repo | None", send_annotations: bool) -> Source:
    p = Path(source)
    if p.is_dir():
        return read_folder(p, objects, field_name, local)
    if p.is_file():
        ext = p.suffix.lower()
        if ext in (".csv", ".tsv"):
            records: list = _read_csv(p)
        elif ext in (".json", ".jsonl", ".ndjson"):
            records = _read_json_any(p)
        else:
            raise InputError(f"{source}: unknown file type {ext or '(none)'}",
                             "give a folder, a .jsonl / .json / .csv file of records, or a version (v2, HEAD)")
        counts = {"pred_ids": 0, "ann_dropped": 0}
        items = [_task_of_record(r, i, source, send_annotations, counts) for i, r in enumerate(records)]
        src = Source(items, source)
        _localize(items, objects, p.parent, local, source, src.files)
        if counts["ann_dropped"]:
            src.warnings.append(f"{source}: {counts['ann_dropped']} annotation(s) not sent "
                                "(pass --annotations to send them)")
        if counts["pred_ids"]:
            src.warnings.append(f"{source}: {counts['pred_ids']} prediction(s) given as ids only were left out")
        return src
    if repo is not None:
        try:
            repo.resolve(source)
        except RevisionError:
            pass
        else:
            return read_version(repo, source, send_annotations)
    raise NotFoundError(f"{source}: no such file, folder{' or version' if repo is not None else ''}",
                        "give a folder of files, a .jsonl / .json / .csv file, or a version of this repo")


# ---------------------------------------------------------------------------
# predictions


def _prediction(rec: dict, where: str) -> dict:
    if "result" not in rec or not isinstance(rec["result"], list):
        raise InputError(f"{where}: no result list", "a prediction needs a 'result' list")
    out = _clean(rec, _PRED_KEEP_OUT | {"task_key", "data", "file"})
    score = out.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise InputError(f"{where}: score {score!r} is not a number", "give score as a number")
    return out


def read_predictions(spec: str, *, key: str | None, repo: "Repo | None",
                     files: dict[str, dict]) -> dict[str, list[dict]]:
    """task key -> predictions to send, from a file or a version.

    A file holds Label Studio tasks with ``predictions``, or one record per prediction with
    ``task_key`` (or the task's ``data``, or, for tasks sent from files, the ``file`` path
    relative to the folder / records file) plus ``model_version``, ``score``, ``result``.
    """
    from annover.formats.label_studio import RecordError, task_key_of, to_tasks

    out: dict[str, list[dict]] = {}
    p = Path(spec)
    if not p.is_file():
        if repo is not None and not p.exists():
            try:
                repo.resolve(spec)
            except RevisionError:
                pass
            else:
                rows = repo.read_table(spec, "predictions").to_pylist()
                stub = [{"task_key": k, "data": "{}", "extra": None, "ls_task_id": None}
                        for k in sorted({r["task_key"] for r in rows})]
                for t, task in zip(stub, to_tasks(stub, [], rows)):
                    out[t["task_key"]] = [_clean(pr, _PRED_KEEP_OUT) for pr in task["predictions"]]
                return out
        raise NotFoundError(f"--predictions {spec}: no such file{' or version' if repo is not None else ''}",
                            "give a JSON / JSONL file of predictions, or a version that has them")
    records = _read_json_any(p)
    for i, rec in enumerate(records):
        where = f"{spec}: record {i}"
        if not isinstance(rec, dict):
            raise InputError(f"{where}: not an object", "each prediction is a JSON object")
        try:
            if isinstance(rec.get("data"), dict) and isinstance(rec.get("predictions"), list):
                k = task_key_of(rec, key, where)
                preds = [_prediction(x, f"{where}, prediction {j}") for j, x in enumerate(rec["predictions"])
                         if isinstance(x, dict)]
            else:
                if "task_key" in rec:
                    k = str(rec["task_key"])
                elif isinstance(rec.get("data"), dict):
                    k = task_key_of(rec, key, where)
                elif "file" in rec:
                    data = files.get(Path(str(rec["file"])).as_posix())
                    if data is None:
                        raise InputError(f"{where}: file {rec['file']!r} is not one of the files sent",
                                         "give the path relative to the folder (or records file) sent with --from")
                    k = task_key_of({"data": data}, key, where)
                else:
                    raise InputError(f"{where}: no task_key, data or file",
                                     "say which task each prediction is for (task_key, data or file)")
                preds = [_prediction(rec, where)]
        except RecordError as e:
            raise InputError(str(e), "use the same --key for tasks and predictions") from None
        out.setdefault(k, []).extend(preds)
    return out


def _validate(items: Iterable[tuple[str, dict]], cfg: "LabelingConfig", where: str) -> None:
    for k, answer in items:
        for ri, region in enumerate(answer.get("result") or []):
            if not isinstance(region, dict):
                raise InputError(f"{where} (task {k}): region {ri} is not an object", "fix the result")
            errors = cfg.region_errors(region)
            if errors:
                raise ValidationError(f"{where} (task {k}), region {ri} ({region.get('from_name')}): {errors[0]}",
                                      "fix the label or the dataset's labeling config, or pass --no-validate")


# ---------------------------------------------------------------------------
# the project side


def existing_tasks(client: Client, project: Project, key: str | None, page_size: int = 5000,
                   progress: PushProgress = _noop) -> tuple[dict[str, int], int]:
    """task key -> task id of the tasks in the project; and how many have no such key."""
    from annover.formats.label_studio import RecordError, task_key_of

    out: dict[str, int] = {}
    unkeyed = 0
    if project.tasks == 0:
        return out, 0
    page, seen = 1, 0
    while True:
        d = client.raw("GET", "api/tasks", what=f"listing the tasks of project {project.id}",
                       params={"project": project.id, "fields": "task_only", "include": "id,data",
                               "resolve_uri": "false", "page": page, "page_size": page_size})
        tasks = d.get("tasks", []) if isinstance(d, dict) else []
        for t in tasks:
            try:
                out.setdefault(task_key_of(t, key, f"task {t.get('id')}"), int(t["id"]))
            except RecordError:
                unkeyed += 1
        seen += len(tasks)
        total = int(d.get("total", seen)) if isinstance(d, dict) else seen
        progress("reading the project's tasks", seen, total)
        if not tasks or seen >= total:
            break
        page += 1
    return out, unkeyed


def model_versions(client: Client, project: Project) -> dict[int, set[str]]:
    """task id -> model versions of its predictions."""
    d = client.raw("GET", "api/predictions/", what=f"listing the predictions of project {project.id}",
                   params={"project": project.id})
    items = d.get("results", []) if isinstance(d, dict) else (d or [])
    out: dict[int, set[str]] = {}
    for p in items:
        out.setdefault(int(p["task"]), set()).add(str(p.get("model_version") or ""))
    return out


def _batches(items: list[dict], max_n: int, max_bytes: int) -> Iterable[list[dict]]:
    batch: list[dict] = []
    size = 0
    for it in items:
        n = len(json.dumps(it, ensure_ascii=False, default=str))
        if batch and (len(batch) >= max_n or size + n > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(it)
        size += n
    if batch:
        yield batch


def _check_annotators(client: Client, items: list[dict], where: str) -> int:
    """Annotations' ``completed_by`` as Label Studio resolves them; unknown users are an error."""
    users = client.users()
    emails = {e.lower() for e in users.values()}
    n = 0
    for i, item in enumerate(items):
        for a in item.get("annotations") or []:
            n += 1
            cb = a.get("completed_by")
            if isinstance(cb, str):
                cb = int(cb) if cb.isdigit() else {"email": cb}
                a["completed_by"] = cb
            if isinstance(cb, dict) and "email" in cb:
                a["completed_by"] = {"email": cb["email"]}
                if str(cb["email"]).lower() not in emails:
                    raise InputError(f"{where}: task {i}: annotator {cb['email']} is not a user of {client.url}",
                                     "invite that user to Label Studio first, or send without --annotations")
            elif isinstance(cb, int) and cb not in users:
                raise InputError(f"{where}: task {i}: annotator id {cb} is not a user of {client.url}",
                                 "annotators are matched by email or user id")
    return n


def push(client: Client, dataset: str | int, source: str, *, key: str | None = None,
         predictions: str | None = None, annotations: bool = False, field_name: str | None = None,
         document_root: str | None = None, validate: bool = True, repo: "Repo | None" = None,
         dry_run: bool = False, batch_size: int = MAX_BATCH_TASKS,
         progress: PushProgress = _noop) -> PushResult:
    """Send the tasks of ``source`` that the project does not have yet, with their predictions.

    ``source`` is a folder, a .jsonl / .json / .csv file of records, or a version of ``repo``;
    ``predictions`` a JSON / JSONL file or a version. Nothing is sent before everything has
    been read and checked.
    """
    from annover.formats.label_studio import RecordError, task_key_of
    from annover.model.config import LabelingConfig

    project = client.project(dataset)
    cfg = LabelingConfig(project.label_config, source=f"the labeling config of {project.title!r}")
    objects = config_objects(project.label_config)
    local = LocalFiles(document_root or os.environ.get(ENV_DOCUMENT_ROOT))
    src = read_source(source, objects=objects, field_name=field_name, local=local, repo=repo,
                      send_annotations=annotations)
    result = PushResult(project, client.project_url(project), src.name, tasks=len(src.items),
                        warnings=list(src.warnings), dry_run=dry_run)

    # keys, and the data the config reads
    keyed: list[tuple[str, dict]] = []
    first: dict[str, int] = {}
    needed = [o.field for o in objects]
    for i, item in enumerate(src.items):
        where = f"{src.name}: task {i}"
        try:
            k = task_key_of(item, key, where)
        except RecordError as e:
            raise InputError(str(e), "choose --key data.FIELD that every task has") from None
        if k in first:
            raise InputError(f"{src.name}: tasks {first[k]} and {i} have the same key {k!r}",
                             "tasks need unique keys: choose a unique data field with --key data.FIELD")
        first[k] = i
        if validate:
            missing = [f for f in needed if f not in item["data"]]
            if missing:
                raise InputError(f"{where} (key {k}): no data field {missing[0]!r}, which the labeling config "
                                 f"reads (${missing[0]})", "rename the field, or send to a dataset whose config "
                                 "reads it (--field NAME for files)")
        keyed.append((k, item))
    if validate:
        _validate(((k, p) for k, it in keyed for p in it.get("predictions", [])), cfg, f"{src.name}: prediction")
        _validate(((k, a) for k, it in keyed for a in it.get("annotations", [])), cfg, f"{src.name}: annotation")

    preds = read_predictions(predictions, key=key, repo=repo, files=src.files) if predictions else {}
    if validate and preds:
        _validate(((k, p) for k, ps in preds.items() for p in ps), cfg, f"--predictions {predictions}")

    if project.tasks:
        progress("reading the project's tasks", 0, project.tasks)
    have, unkeyed = existing_tasks(client, project, key, progress=progress)
    if unkeyed:
        result.warnings.append(f"{unkeyed} task(s) of the project have no {key!r} field; they are never matched")
    unknown = [k for k in preds if k not in first and k not in have]
    if unknown:
        raise InputError(f"--predictions {predictions}: predictions for {len(unknown)} task(s) neither in "
                         f"{src.name} nor in the project, e.g. {sorted(unknown)[0]!r}",
                         "match predictions to tasks by the same --key")

    new: list[dict] = []
    old_targets: dict[str, list[dict]] = {k: ps for k, ps in preds.items() if k not in first}
    for k, item in keyed:
        ps = [*item.get("predictions", []), *preds.get(k, [])]
        if k in have:  # the task is there; its predictions may still be new
            result.already += 1
            if ps:
                old_targets[k] = ps
            continue
        new.append({**item, "predictions": ps} if ps else item)
    result.annotations = _check_annotators(client, new, src.name) if annotations else 0
    result.predictions = sum(len(it.get("predictions", [])) for it in new)

    attach: list[dict] = []
    if old_targets:
        versions = model_versions(client, project)
        for k, ps in old_targets.items():
            tid = have[k]
            for p in ps:
                mv = str(p.get("model_version") or "")
                if mv in versions.get(tid, set()):
                    result.predictions_already += 1
                else:
                    attach.append({**p, "task": tid})
        result.predictions += len(attach)
    result.sent = len(new)

    result.storage = local.ensure_storage(client, project, dry_run)
    if dry_run:
        return result
    done = 0
    for batch in _batches(new, max(1, batch_size), MAX_BATCH_BYTES):
        progress("sending tasks", done, len(new))
        r = client.call(f"sending {len(batch)} task(s) to {project.title!r}", client.sdk.projects.import_tasks,
                        id=project.id, request=batch, return_task_ids=True,
                        request_options={"max_retries": 0, "timeout_in_seconds": client.timeout})
        result.task_ids += list(r.task_ids or [])
        done += len(batch)
        progress("sending tasks", done, len(new))
    done = 0
    for batch in _batches(attach, max(1, batch_size), MAX_BATCH_BYTES):
        progress("sending predictions to tasks already there", done, len(attach))
        client.call(f"sending {len(batch)} prediction(s) to {project.title!r}",
                    client.sdk.projects.import_predictions, id=project.id, request=batch,
                    request_options={"max_retries": 0, "timeout_in_seconds": client.timeout})
        done += len(batch)
        progress("sending predictions to tasks already there", done, len(attach))
    return result
