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

import json
import os
import re
import shlex
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

from annover._lazy import lazy
from annover.errors import InputError, InterruptedPartway, NotFoundError, RevisionError, UsageError
from annover.formats.label_studio import ANNOTATION_SERVER_FIELDS as ANSWER_FIELDS
from annover.formats.label_studio import PREDICTION_SERVER_FIELDS as PREDICTION_FIELDS
from annover.formats.label_studio import TASK_SERVER_FIELDS, RecordError, task_key_of, to_tasks
from annover.formats.ls_csv import LS_CSV_COLUMNS, is_label_studio_csv
from annover.formats.ls_results import STALE, Problems
from annover.formats.predictions import PredictionRecords, predictions_table, read_prediction_records
from annover.formats.records import (ANNOTATION_SERVER_FIELDS, MEDIA_TAGS, PREDICTION_SERVER_FIELDS, clean,
                                     data_objects, field_for, kind_of, read_records, task_items)
from annover.formats.text import refuse_special
from annover.formats.validate import Where, check_results
from annover.labelstudio.client import ENV_DOCUMENT_ROOT, Client, Project
from annover.model.config import ConfigObject, LabelingConfig
from annover.store.versions import check_has_model, models_named

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")


class Repo(Protocol):
    """What sending reads from a repository: versions' tables (``annover.repo.Repo`` is one)."""

    root: Path

    def resolve(self, rev: str) -> str: ...

    def version(self, vid: str) -> Any: ...

    def read_table(self, rev: str, table: str, model_version: str | None = None, columns: list[str] | None = None,
                   keys: "pa.Array | None" = None) -> "pa.Table": ...

#: progress(step, done, total)
PushProgress = Callable[[str, int, int], None]

LOCAL_FILES_PREFIX = "/data/local-files/?d="
MAX_BATCH_TASKS = 5000
MAX_BATCH_BYTES = 32 * 1024 * 1024


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
    predictions_unmatched: int = 0  # not sent: their task is neither in the source nor in the project
    annotations: int = 0
    task_ids: list[int] = field(default_factory=list)
    storage: str | None = None  # local-files storage path the files are served from
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    key: str | None = None  # the task key the tasks were matched and sent with (None: the data's hash)
    notes: list[str] = field(default_factory=list)  # what it did that was not asked (a key taken from the record)
    #: (data field, URL prefix) of a version's relative paths sent as local-files URLs (see roundtrip.py)
    pushed_paths: list[tuple[str, str]] = field(default_factory=list)
    #: task id -> (answers sent, the places among them of those of no annotator)
    unattributed_slots: dict[int, tuple[int, list[int]]] = field(default_factory=dict)
    unattributed: list[int] = field(default_factory=list)  # the Label Studio ids of those answers
    #: keys of the source's tasks not sent: known in the project before (a push, a pull) and deleted there since
    deleted: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)  # keys of the source's tasks in the project or sent

    def to_json(self) -> dict:
        return {
            "dataset": self.project.title, "project_id": self.project.id, "url": self.url, "source": self.source,
            "key": self.key, "notes": self.notes,
            "tasks": self.tasks, "sent": self.sent, "already": self.already, "predictions": self.predictions,
            "predictions_already": self.predictions_already, "predictions_unmatched": self.predictions_unmatched,
            "annotations": self.annotations, "deleted": len(self.deleted),
            "storage": self.storage, "warnings": self.warnings, "dry_run": self.dry_run,
        }


# ---------------------------------------------------------------------------
# local files


class LocalFiles:
    """URLs of local files under Label Studio's document root, and the storage that serves them."""

    def __init__(self, document_root: str | None) -> None:
        self.root = Path(document_root).expanduser().resolve() if document_root else None
        self.files: list[Path] = []

    def url(self, path: Path, what: str, resolved: bool = False) -> str:
        """The URL of ``path`` (``resolved``: absolute and normal already, a link in it kept as it is)."""
        if self.root is None:
            raise UsageError(
                f"{what}: local files need Label Studio's local file serving, and {ENV_DOCUMENT_ROOT} is not set",
                f"start Label Studio with LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and {ENV_DOCUMENT_ROOT}=DIR "
                f"(DIR holding your data), and set the same {ENV_DOCUMENT_ROOT} here (or pass --document-root DIR)")
        p = path if resolved else path.resolve()
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
        made: list[int] = []
        for d in dirs:
            if any(d == h or h in d.parents for h in have) or dry_run:
                continue
            got = client.raw("POST", "api/storages/localfiles/", what=f"connecting local storage {d}", retries=0,
                             json_body={"project": project.id, "path": str(d), "use_blob_urls": True,
                                        "title": f"annover: {d.name}"[:256], "recursive_scan": True})
            if isinstance(got, dict) and isinstance(got.get("id"), int):
                made.append(got["id"])
        if not dry_run:
            first = self.files[0]
            rel = first.relative_to(self.root).as_posix()  # type: ignore[arg-type]
            status = client.status_of("data/local-files/", params={"d": rel}, what=f"reading {first}")
            if status != 200:
                for sid in made:  # nothing is sent: the storages this push connected go too
                    client.raw("DELETE", f"api/storages/localfiles/{sid}", what=f"removing local storage {sid}")
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
    #: a version's: its answers were checked when it was made (results of a control the config lacks kept)
    checked: bool = False
    #: a version's: each item's task fields the version holds and the item does not (see :func:`_task_fields`)
    unsent: list[list[str]] = field(default_factory=list)
    #: (data field, URL prefix) of relative paths sent as local-files URLs (a version's)
    prefixes: list[tuple[str, str]] = field(default_factory=list)


def _localize(items: list[dict], objects: list[ConfigObject], base: Path, local: LocalFiles, where: str,
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


def read_folder(folder: Path, objects: list[ConfigObject], field_name: str | None, local: LocalFiles) -> Source:
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
        if kind == "text" and not p.resolve().is_relative_to(folder.resolve()):
            raise InputError(f"{p}: a link to {p.resolve()}, outside {folder}; annover sends no text from outside "
                             "the folder", "copy the file into the folder, or remove the link")
        data = {field_for(kind, objects, field_name, str(p)): _file_value(p, kind, local)}
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


def _file_value(p: Path, kind: str, local: LocalFiles) -> str:
    """A text file's content, or a media file's local-files URL."""
    if kind != "text":
        return local.url(p, str(p))
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{p}: not UTF-8 text ({e.reason})", "save text files as UTF-8") from None


def read_version(repo: "Repo", rev: str, send_annotations: bool, objects: list[ConfigObject] | None = None,
                 local: LocalFiles | None = None, image_root: str | None = None) -> Source:
    """The tasks of version ``rev`` (and, with ``send_annotations``, its annotations); relative paths
    of its media fields (a training format's) as local-files URLs where they can be served
    (:func:`localize_version`)."""
    tasks = repo.read_table(rev, "tasks").to_pylist()
    anns = repo.read_table(rev, "annotations").to_pylist() if send_annotations else []
    items, unsent = [], []
    for t in to_tasks(tasks, anns, []):
        item: dict[str, Any] = {"data": t["data"]}
        if isinstance(t.get("meta"), dict) and t["meta"]:
            item["meta"] = t["meta"]
        if send_annotations and t.get("annotations"):
            item["annotations"] = [clean(a, ANNOTATION_SERVER_FIELDS) for a in t["annotations"]]
        items.append(item)
        unsent.append(_task_fields(t))
    src = Source(items, f"version {rev}", checked=True, unsent=unsent)
    if objects is not None and local is not None:
        base = Path(image_root).expanduser() if image_root else version_folder(repo, rev)
        localize_version(src, objects, base, local, image_root is not None)
    return src


def version_folder(repo: "Repo", rev: str) -> Path | None:
    """The folder version ``rev`` was read from (a COCO file's, a YOLO or VOC folder), when its origin
    names one of the repository that is there; the repository's of a version the notebook annotator saved
    (its image paths are relative to the repository); None otherwise (a file from outside the repository)."""
    origin = repo.version(repo.resolve(rev)).record.get("origin") or {}
    if origin.get("kind") == "notebook":
        return Path(repo.root)
    path = origin.get("path")
    if origin.get("kind") != "file" or not isinstance(path, str) or not path:
        return None
    p = Path(repo.root) / path
    return p if p.is_dir() else p.parent if p.is_file() else None


def localize_version(src: Source, objects: list[ConfigObject], base: Path | None, local: LocalFiles,
                     given: bool) -> None:
    """A version's relative paths in media fields (``images/img_1.jpg``) as local-files URLs of the
    files below ``base``, the URL prefix of each field noted in ``src.prefixes`` (a pull reads the URLs
    back as the paths); when a file is not there, or Label Studio cannot serve them, the data is sent as
    it is, with one warning saying why and how to serve them. ``given``: ``base`` is ``--image-root``."""
    media = [o.field for o in objects if o.tag in MEDIA_TAGS]
    found = [(item, f, v) for item in src.items for f in media if isinstance(v := item["data"].get(f), str)
             and v and not _is_url_like(v) and not Path(v).is_absolute()]
    if not found:
        return
    root = base.resolve() if base is not None and base.is_dir() else None
    missing = next((v for _, _, v in found if root is None or not (root / v).is_file()), None)
    where = f"{'--image-root ' if given else 'the folder it was read from, '}{base}"
    why = ("the folder they are relative to is unknown (the version was read from outside the repository)"
           if base is None else f"{missing} is not in {where}" if missing is not None
           else f"{ENV_DOCUMENT_ROOT} is not set" if local.root is None
           else f"{where} is not below the document root {local.root}" if not root.is_relative_to(local.root)
           else f"{found[0][2]} would lie directly in the document root {local.root}, which Label Studio refuses"
           if root == local.root and any(len(Path(v).parts) < 2 for _, _, v in found) else None)
    if why is not None:
        src.warnings.append(
            f"{src.name}: {len(found)} image path(s) are relative (e.g. {found[0][2]}), which Label Studio cannot "
            f"load: {why}; serve them as local files with --image-root DIR (the folder they are relative to, below "
            f"Label Studio's {ENV_DOCUMENT_ROOT}, set here too), or put them in cloud storage connected to the "
            "project and snapshot a version whose data holds their URLs")
        return
    assert root is not None and local.root is not None
    below = root.relative_to(local.root).as_posix()
    prefix = LOCAL_FILES_PREFIX + ("" if below == "." else urllib.parse.quote(below) + "/")
    for item, f, v in found:
        item["data"] = {**item["data"], f: local.url(Path(os.path.normpath(root / v)), src.name, resolved=True)}
        src.files[v] = item["data"]
        if (f, prefix) not in src.prefixes:
            src.prefixes.append((f, prefix))


#: What Label Studio's import keeps of a task: its data and meta, with its answers and predictions. Measured
#: on Label Studio Community (tasks pushed, then read back with label-studio-sdk): any other task field, as
#: Label Studio Enterprise's ``agreement``, and any field of an answer or prediction that Label Studio does not
#: set itself, as Enterprise's ``reviews`` and ``history``, is dropped.
KEPT_TASK_FIELDS = frozenset({"data", "meta", "annotations", "predictions"})


def _task_fields(task: dict) -> list[str]:
    """The fields of a version's task that no import keeps (not Label Studio's own: ``agreement``...)."""
    return sorted(k for k in task if k not in TASK_SERVER_FIELDS and k not in KEPT_TASK_FIELDS)


def _unkept(new: list[dict], attach: list[dict], task_fields: list[list[str]], dataset: str,
           dry_run: bool) -> str | None:
    """The warning naming what Label Studio will not keep of what is sent (:data:`KEPT_TASK_FIELDS`): each
    field, and how many tasks, answers and predictions have it; None when it keeps it all. ``task_fields``:
    per new task, its version's fields that are not sent (none where empty)."""
    found = {"task": Counter[str](), "answer": Counter[str](), "prediction": Counter[str]()}
    for item, fields in zip(new, task_fields):
        found["task"].update(set(fields) | (set(item) - KEPT_TASK_FIELDS - TASK_SERVER_FIELDS))
        for a in item.get("annotations") or []:
            found["answer"].update(set(a) - ANSWER_FIELDS)
        for p in item.get("predictions") or []:
            found["prediction"].update(set(p) - PREDICTION_FIELDS)
    for p in attach:
        found["prediction"].update(set(p) - PREDICTION_FIELDS)
    said = [f"{kind} field(s) " + ", ".join(f"{f} ({n} {kind}(s))" for f, n in sorted(c.items()))
            for kind, c in found.items() if c]
    if not said:
        return None
    return (f"Label Studio keeps no {'; no '.join(said)} of what {'would be' if dry_run else 'is'} sent (Label "
            "Studio Enterprise's, or fields Label Studio does not know): the project will not have them, and the "
            f"next `annover snapshot --label-studio {dataset!r} --update` records them as removed (task, answer "
            "or prediction attributes changed)")


def _names_version(repo: "Repo | None", spec: str) -> bool:
    """``--predictions SPEC`` names a version of ``repo`` (a file of that name wins)."""
    return not Path(spec).exists() and _is_version(repo, spec)


def _is_version(repo: "Repo | None", spec: str) -> bool:
    if repo is None:
        return False
    try:
        repo.resolve(spec)
    except RevisionError:
        return False
    return True


def read_tasks(source: str, *, objects: list[ConfigObject], field_name: str | None, local: LocalFiles,
               repo: "Repo | None", send_annotations: bool, image_root: str | None = None) -> Source:
    """Import tasks from a folder of files, a file of records, or a version of ``repo``."""
    p = Path(source)
    if image_root is not None and (p.exists() or not _is_version(repo, source)):
        raise UsageError(f"--image-root is for a version; {source} is a file or folder",
                         "records give paths relative to their file's folder; drop --image-root")
    if p.is_dir():
        return read_folder(p, objects, field_name, local)
    refuse_special(p, "--from")  # was: "no such file" for a named pipe
    if p.is_file():
        records = read_records(p)
        _refuse_flat_export(p, records)
        got = task_items(records, source, send_annotations)
        src = Source(got.items, source, warnings=got.warnings(source))
        _localize(src.items, objects, p.parent, local, source, src.files)
        return src
    if _is_version(repo, source):
        return read_version(repo, source, send_annotations, objects, local, image_root)  # type: ignore[arg-type]
    raise NotFoundError(f"{source}: no such file, folder{' or version' if repo is not None else ''}",
                        "give a folder of files, a .jsonl / .json / .csv file, or a version of this repo")


def _refuse_flat_export(p: Path, records: list[Any]) -> None:
    """A Label Studio CSV / TSV or JSON-MIN export holds one row per annotation, its labels as
    columns: sent as records, each row would become a task, its labels task data."""
    first = next((r for r in records if isinstance(r, dict)), None)
    flat = is_label_studio_csv(p) if p.suffix.lower() in (".csv", ".tsv") else (
        first is not None and "data" not in first and LS_CSV_COLUMNS <= set(first))
    if flat:
        raise InputError(f"{p}: a Label Studio {'CSV' if p.suffix.lower() in ('.csv', '.tsv') else 'JSON-MIN'} "
                         "export (one row per annotation, its labels as columns); sent as records, each row "
                         "would become a task and its labels task data",
                         "push Label Studio's JSON export, or snapshot this file (annover snapshot --from FILE "
                         "--config CONFIG) and push the version: --from vN --annotations")


# ---------------------------------------------------------------------------
# predictions


def read_predictions(spec: str, *, key: str | None, repo: "Repo | None",
                     files: dict[str, dict], warnings: list[str] | None = None) -> dict[str, list[dict]]:
    """task key -> predictions to send, from a file (see :mod:`annover.formats.predictions`) or a version."""
    return prediction_records(spec, key=key, repo=repo, files=files, warnings=warnings).by_key


def prediction_records(spec: str, *, key: str | None, repo: "Repo | None",
                       files: dict[str, dict], warnings: list[str] | None = None) -> PredictionRecords:
    """The predictions to send by task key, each with its record in the file (for errors), from a
    file or a version (:func:`read_predictions`)."""
    p = Path(spec)
    if _names_version(repo, spec):
        by_key = _version_predictions(repo, spec, key)  # type: ignore[arg-type]
        return PredictionRecords(f"--predictions {spec}", by_key)  # named as "--predictions v3 (task K)"
    refuse_special(p, "--predictions")  # was: "no such file" for a named pipe
    if not p.is_file():
        raise NotFoundError(f"--predictions {spec}: no such file{' or version' if repo is not None else ''}",
                            "give a JSON / JSONL file of predictions, or a version that has them")
    got = read_prediction_records(p, key=key, files=files, what=spec, warnings=warnings)
    # read as a snapshot reads them, so what it refuses is refused before anything is sent: Label Studio
    # keeps a model_version object as its Python text, and drops a malformed result with a line in its log
    predictions_table(got, spec)
    got.by_key = {k: [clean(pr, PREDICTION_SERVER_FIELDS) for pr in ps] for k, ps in got.by_key.items()}
    return got


def _version_predictions(repo: "Repo", rev: str, key: str | None) -> dict[str, list[dict]]:
    """The predictions of version ``rev``, keyed as the project knows its tasks (``key``: a data
    field, else the data's hash), not by the version's own task keys, which may differ."""
    rows = repo.read_table(rev, "predictions").to_pylist()
    want = sorted({r["task_key"] for r in rows})
    mine = repo.read_table(rev, "tasks", keys=pa.array(want, pa.string())).to_pylist()  # from the parts holding them
    push_keys: dict[str, str] = {}
    for row in mine:
        data = to_tasks([row], [], [])[0]["data"]
        try:
            push_keys[row["task_key"]] = task_key_of({"data": data}, key,
                                                     f"--predictions {rev}: task {row['task_key']}")
        except RecordError as e:
            raise InputError(str(e), "send with --key data.FIELD naming a field every task has") from None
    stub = [{"task_key": k, "data": "{}", "extra": None, "ls_task_id": None} for k in want]
    return {push_keys.get(t["task_key"], t["task_key"]): [clean(pr, PREDICTION_SERVER_FIELDS)
                                                          for pr in task["predictions"]]
            for t, task in zip(stub, to_tasks(stub, [], rows))}


# ---------------------------------------------------------------------------
# the project side


def existing_tasks(client: Client, project: Project, key: str | None, page_size: int = 5000,
                   progress: PushProgress = _noop) -> tuple[dict[str, int], int, int]:
    """task key -> task id of the tasks in the project (the oldest of a key: its lowest id); how many
    have no such key; how many have the key of another task (sent twice, as two pushes at once do)."""
    out: dict[str, int] = {}
    unkeyed = twice = 0
    if project.tasks == 0:
        return out, 0, 0
    page, seen = 1, 0
    while True:
        d = client.raw("GET", "api/tasks", what=f"listing the tasks of project {project.id}",
                       params={"project": project.id, "fields": "task_only", "include": "id,data",
                               "resolve_uri": "false", "page": page, "page_size": page_size})
        tasks = d.get("tasks", []) if isinstance(d, dict) else []
        for t in tasks:
            try:
                k = task_key_of(t, key, f"task {t.get('id')}")
                twice += k in out
                out[k] = min(out.get(k, int(t["id"])), int(t["id"]))
            except RecordError:
                unkeyed += 1
        seen += len(tasks)
        total = int(d.get("total", seen)) if isinstance(d, dict) else seen
        progress("reading the project's tasks", seen, total)
        if not tasks or seen >= total:
            break
        page += 1
    return out, unkeyed, twice


def model_versions(client: Client, project: Project) -> dict[int, set[str]]:
    """task id -> model versions of its predictions."""
    d = client.raw("GET", "api/predictions/", what=f"listing the predictions of project {project.id}",
                   params={"project": project.id})
    items = d.get("results", []) if isinstance(d, dict) else (d or [])
    out: dict[int, set[str]] = {}
    for p in items:
        out.setdefault(int(p["task"]), set()).add(str(p.get("model_version") or ""))
    return out


def batches(items: list[dict], max_n: int, max_bytes: int) -> Iterable[list[dict]]:
    """``items`` in batches of at most ``max_n`` items and about ``max_bytes`` of JSON each."""
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


def _check_annotators(client: Client, items: list[tuple[str, dict]], where: str, warnings: list[str]) -> int:
    """Annotations' ``completed_by`` as Label Studio resolves them; unknown users are an error naming
    the task (``items``: (what names the task, the task sent)). An annotation without ``ground_truth``
    is sent as not ground truth, as a snapshot reads it.
    Who a bare user id or no ``completed_by`` gives an annotation to is said in ``warnings``."""
    users = client.users()
    emails = {e.lower() for e in users.values()}
    n = 0
    by_id: dict[int, int] = {}
    nobody = 0
    for task, item in items:
        for a in item.get("annotations") or []:
            n += 1
            a.setdefault("ground_truth", False)  # Label Studio's default is true; a snapshot's is false
            cb = a.get("completed_by")
            nobody += cb is None or cb == ""
            if isinstance(cb, str):
                cb = int(cb) if cb.isdigit() else {"email": cb}
                a["completed_by"] = cb
            if isinstance(cb, dict) and "email" in cb:
                a["completed_by"] = {"email": cb["email"]}
                if str(cb["email"]).lower() not in emails:
                    raise InputError(f"{where}: {task}: annotator {cb['email']} is not a user of {client.url}",
                                     "invite that user to Label Studio first, or send without --annotations")
            elif isinstance(cb, int) and cb not in users:
                raise InputError(f"{where}: {task}: annotator id {cb} is not a user of {client.url}",
                                 "annotators are matched by email or user id")
            if isinstance(cb, int):
                by_id[cb] = by_id.get(cb, 0) + 1
    if by_id:
        who = ", ".join(f"{k} -> {users[k]}" for k in sorted(by_id))
        warnings.append(f"{where}: {sum(by_id.values())} annotation(s) name their annotator by user id only; "
                        f"{client.url} gives them to its users of those ids ({who}); from another server, "
                        "give completed_by as {\"email\": ...} (annover dataset export writes emails)")
    if nobody:
        warnings.append(f"{where}: {nobody} annotation(s) have no completed_by; "
                        "Label Studio gives them to the user of the API key")
    return n


def _target(client: Client, dataset: str | int, document_root: str | None) -> tuple[Project, LabelingConfig,
                                                                                    LocalFiles]:
    project = client.project(dataset)
    cfg = LabelingConfig(project.label_config, source=f"the labeling config of {project.title!r}")
    return project, cfg, LocalFiles(document_root or os.environ.get(ENV_DOCUMENT_ROOT))


def push(client: Client, dataset: str | int, source: str, *, key: str | None = None,
         predictions: str | None = None, annotations: bool = False, field_name: str | None = None,
         document_root: str | None = None, validate: bool = True, repo: "Repo | None" = None,
         dry_run: bool = False, batch_size: int = MAX_BATCH_TASKS,
         progress: PushProgress = _noop, image_root: str | None = None, known: set[str] | None = None
         ) -> PushResult:
    """Send the tasks of ``source`` that the project does not have yet, with their predictions.

    ``source`` is a folder, a .jsonl / .json / .csv file of records, or a version of ``repo``
    (its relative image paths found below ``image_root``, else the folder it was read from);
    ``predictions`` a JSON / JSONL file or a version. Nothing is sent before everything has
    been read and checked. ``known``: keys of tasks the project had (at a push, a pull): one it has
    no more was deleted in Label Studio, and is not sent (``result.deleted``).
    """
    project, cfg, local = _target(client, dataset, document_root)
    src = read_tasks(source, objects=data_objects(cfg), field_name=field_name, local=local, repo=repo,
                     send_annotations=annotations, image_root=image_root)
    preds = prediction_records(predictions, key=key, repo=repo, files=src.files,
                               warnings=src.warnings) if predictions else PredictionRecords("--predictions")
    return deliver(client, project, cfg, src, preds.by_key, key=key, local=local, what=f"--predictions {predictions}",
                   annotations=annotations, validate=validate, dry_run=dry_run, batch_size=batch_size,
                   progress=progress, place=preds.place, known=known,
                   preds_checked=bool(predictions) and _names_version(repo, predictions))  # type: ignore[arg-type]


def push_sample(client: Client, dataset: str | int, repo: "Repo", rev: str, keys: list[str], *,
                key: str | None = None, model: str | None = None, annotations: bool = False,
                validate: bool = True, dry_run: bool = False, batch_size: int = MAX_BATCH_TASKS,
                progress: PushProgress = _noop, name: str | None = None) -> PushResult:
    """Send the tasks ``keys`` of version ``rev`` (a sample) that the project does not have yet,
    with model version ``model``'s stored predictions on them as pre-annotations.

    ``key`` is how the project's tasks are matched (``data.FIELD``, else the hash of the task
    data); nothing is sent before every key is found and everything is checked.
    """
    # the version first: a model it has no predictions of is said without asking the server
    src, preds = read_sample(repo, rev, keys, key, model, annotations, name or f"sample of version {rev}")
    project, cfg, local = _target(client, dataset, None)
    r = deliver(client, project, cfg, src, preds, key=key, local=local, what=f"the predictions of {model}",
                annotations=annotations, validate=validate, dry_run=dry_run, batch_size=batch_size,
                progress=progress, preds_checked=True)
    if model is None and repo.show(rev).model_versions:
        r.notes.append(_no_model_note(repo.show(rev).model_versions, name or f"the sample of version {rev}", dry_run))
    return r


def _no_model_note(models: list[str], name: str, dry_run: bool) -> str:
    """A sample drawn without a model (``random``, ``unlabeled``, a keys file) sends no predictions,
    though its version may hold some: bootstrapping a round with them needs ``--predictions``."""
    pick = shlex.quote(models[0]) if len(models) == 1 and models[0] else "MODEL_VERSION"
    return (f"{'would send' if dry_run else 'sent'} no predictions: {name} names no model; its version holds "
            f"predictions of {models_named(models)}: send them as pre-annotations with --predictions {pick}"
            + ("" if len(models) == 1 else " (one of those)"))


def read_sample(repo: "Repo", rev: str, keys: list[str], key: str | None, model: str | None,
                send_annotations: bool, name: str) -> tuple[Source, dict[str, list[dict]]]:
    """The tasks ``keys`` of version ``rev`` in that order, and ``model``'s predictions on them,
    keyed as the project will know them (``key``)."""
    want = pa.array(keys, pa.string())  # their rows read from the parts that hold them
    rows = {r["task_key"]: r for r in repo.read_table(rev, "tasks", keys=want).to_pylist()}
    missing = [k for k in keys if k not in rows]
    if missing:
        raise InputError(f"{name}: version {rev} has no task {missing[0]!r} ({len(missing)} key(s) missing)",
                         "give keys of that version's tasks")
    anns: dict[str, list[dict]] = {}
    if send_annotations:
        for a in repo.read_table(rev, "annotations", keys=want).to_pylist():
            anns.setdefault(a["task_key"], []).append(a)
    items, push_keys, unsent = [], {}, []
    for k in keys:
        task = to_tasks([rows[k]], anns.get(k, []), [])[0]
        unsent.append(_task_fields(task))
        item: dict[str, Any] = {"data": task["data"]}
        if isinstance(task.get("meta"), dict) and task["meta"]:
            item["meta"] = task["meta"]
        if task.get("annotations"):
            item["annotations"] = [clean(a, ANNOTATION_SERVER_FIELDS) for a in task["annotations"]]
        try:
            push_keys[k] = task_key_of(item, key, f"{name}: task {k}")
        except RecordError as e:
            raise InputError(str(e), "send with --key data.FIELD naming a field every task has") from None
        items.append(item)
    return Source(items, name, checked=True, unsent=unsent), _sample_predictions(repo, rev, want, model, push_keys)


def _sample_predictions(repo: "Repo", rev: str, want: "pa.Array", model: str | None,
                        push_keys: dict[str, str]) -> dict[str, list[dict]]:
    if model is None:
        return {}
    check_has_model(repo.show(rev), model, rev, "(none: send without --predictions)")
    preds = repo.read_table(rev, "predictions", model_version=model, keys=want)
    mine = preds.filter(pc.equal(preds.column("model_version"), model)).to_pylist()
    stub = [{"task_key": k, "data": "{}", "extra": None, "ls_task_id": None}
            for k in sorted({r["task_key"] for r in mine})]
    return {push_keys[t["task_key"]]: [clean(p, PREDICTION_SERVER_FIELDS) for p in task["predictions"]]
            for t, task in zip(stub, to_tasks(stub, [], mine))}


def deliver(client: Client, project: Project, cfg: LabelingConfig, src: Source, preds: dict[str, list[dict]], *,
            key: str | None, local: LocalFiles, what: str, annotations: bool, validate: bool, dry_run: bool,
            batch_size: int, progress: PushProgress, place: Callable[[str, int], str] | None = None,
            preds_checked: bool = False, known: set[str] | None = None) -> PushResult:
    """Check ``src``'s tasks and ``preds`` (task key -> predictions), then send what the project lacks
    but for the tasks of ``known`` keys (deleted in Label Studio since they were there);
    ``place(k, j)`` names prediction ``j`` of task ``k`` in errors (default: ``WHAT (task K)``).
    ``preds_checked``: ``preds`` are a version's (as ``src.checked``)."""
    place = place or (lambda k, j: f"{what} (task {k})")
    objects = data_objects(cfg)
    result = PushResult(project, client.project_url(project), src.name, tasks=len(src.items),
                        warnings=list(src.warnings), dry_run=dry_run)
    # a field may reach into the data: a Repeater's $images[{{idx}}].url needs "images"
    keyed = _keyed(src, key, sorted({re.split(r"[.\[]", o.field, maxsplit=1)[0] for o in objects}) if validate else [])
    if validate:
        stale = Problems()  # a version's results of a control its config lacked: kept by the snapshot, sent
        _validate(((f"{src.name}: prediction (task {k})", p) for k, it in keyed.items()
                   for p in it.get("predictions", [])), cfg, stale if src.checked else None)
        _validate(((f"{src.name}: annotation (task {k})", a) for k, it in keyed.items()
                   for a in it.get("annotations", [])), cfg, stale if src.checked else None)
        _validate(((lambda k=k, j=j: place(k, j), p) for k, ps in preds.items() for j, p in enumerate(ps)), cfg,
                  stale if preds_checked else None)
        result.warnings.extend(f"sent as the version keeps them, not checked against {cfg.source}: {line}"
                               for line in stale.lines((STALE,)))
    if project.tasks:
        progress("reading the project's tasks", 0, project.tasks)
    have, unkeyed, twice = existing_tasks(client, project, key, progress=progress)
    if unkeyed:
        result.warnings.append(f"{unkeyed} task(s) of the project have no {key!r} field; they are never matched")
    if twice:  # two pushes of the same tasks at once both find them missing: a snapshot then stops on them
        result.warnings.append(f"{twice} task(s) of the project have the task key ({key or 'the data hash'}) of "
                               "another task of it (sent twice, as two pushes at once do); `annover snapshot "
                               "--label-studio` stops on duplicate keys: delete the copies in Label Studio")
    preds = _matched(preds, keyed, have, src.name, what, key, place, result)
    new, attach = _plan(client, project, keyed, preds, have, result, known or set())
    fields = dict(zip(keyed, src.unsent))  # task key -> its version's fields not sent
    sending = [k for k in keyed if k not in have and k not in (known or ())]  # the keys of ``new``, in its order
    lost = _unkept(new, attach, [fields.get(k, []) for k in sending], project.title, dry_run)
    if lost:
        result.warnings.insert(0, lost)  # first: what the next pull will say changed
    if annotations:  # each new task named by its place in the source and its key, as _keyed names them
        at = {k: i for i, k in enumerate(keyed)}
        result.annotations = _check_annotators(client, [(f"task {at[k]} (key {k})", keyed[k]) for k in sending],
                                               src.name, result.warnings)
    left = sum(len(it.get("annotations") or []) for k, it in keyed.items() if k in have) if annotations else 0
    if left:
        result.warnings.append(f"{src.name}: {left} annotation(s) of tasks already in the project were not sent: "
                               "annotations travel only with new tasks; add them in Label Studio, or push "
                               "into a new dataset")
    result.storage = local.ensure_storage(client, project, dry_run)
    result.pushed_paths = list(src.prefixes)
    if not dry_run:
        _send(client, project, new, attach, batch_size, result, progress)
        if annotations:
            result.unattributed_slots = _unattributed_slots(new, result.task_ids)
        if not annotations:
            _undo_doubles(client, project, new, key, result, progress)
        if result.predictions:
            _check_kept(client, project, result)
    return result


def _unattributed_slots(new: list[dict], task_ids: list[int]) -> dict[int, tuple[int, list[int]]]:
    """Task id -> (answers sent with it, the places among them of those of no annotator), of the tasks
    sent (``task_ids``, in the order of ``new``) with such an answer."""
    if len(new) != len(task_ids):
        return {}
    out = {}
    for item, tid in zip(new, task_ids):
        answers = item.get("annotations") or []
        places = [j for j, a in enumerate(answers) if a.get("completed_by") in (None, "")]
        if places:
            out[tid] = (len(answers), places)
    return out


def _matched(preds: dict[str, list[dict]], keyed: dict[str, dict], have: dict[str, int], src: str, what: str,
             key: str | None, place: Callable[[str, int], str], result: PushResult) -> dict[str, list[dict]]:
    """The predictions of tasks sent or already in the project. A model run over the whole pool,
    while a day's tasks or a sample are sent, predicts tasks that are neither: theirs are left out,
    counted and said in a note. None matching is the wrong key or file: an error naming the key."""
    unknown = [k for k in preds if k not in keyed and k not in have]
    if not unknown:
        return preds
    if len(unknown) == len(preds):  # the first in the file, by its record: a hash key alone is nowhere to be found
        raise InputError(f"{place(unknown[0], 0)}: no task of {what} is in {src} or in the project "
                         f"({len(unknown)} task(s) predicted)",
                         (f"predictions are matched to tasks by {key}: give the --key the tasks were sent with, "
                          "or the predictions of these tasks" if key else "without --key predictions are matched "
                          "by the whole task data, which must be the same: --key data.FIELD matches a field"))
    result.predictions_unmatched = sum(len(preds[k]) for k in unknown)
    result.notes.append(f"{result.predictions_unmatched} prediction(s) of {what} ({len(unknown)} task(s)) match no "
                        f"task of {src} nor of the project (by {key or 'the data hash'}): left out, not sent")
    gone = set(unknown)
    return {k: ps for k, ps in preds.items() if k not in gone}


def _undo_doubles(client: Client, project: Project, new: list[dict], key: str | None, result: PushResult,
                  progress: PushProgress) -> None:
    """Two pushes of the same new tasks at once both find them missing, and both send them. When the
    project holds more tasks than before this push and those it sent (another writer was at work),
    it is listed again, and each task this push made whose key an older task also has (a lower id:
    made first) is deleted: each task is there once, whichever push ends first. Not after a push
    of annotations, whose copies may differ (the duplicate-key warning says so on the next push)."""
    now = client.project_by_id(project.id)
    if now.tasks <= project.tasks + len(result.task_ids) or len(result.task_ids) != len(new):
        return
    oldest, _, _ = existing_tasks(client, now, key, progress=progress)
    # only where an older task of its key was seen: a task the listing missed (its pages shifted by a task
    # deleted meanwhile) is no double, and deleting it lost the record
    doubles = [tid for item, tid in zip(new, result.task_ids)
               if oldest.get(task_key_of(item, key, ""), tid) != tid]
    if not doubles:
        return
    client.raw("POST", "api/dm/actions", what=f"deleting {len(doubles)} task(s) sent twice to {project.title!r}",
               params={"id": "delete_tasks", "project": project.id},
               json_body={"selectedItems": {"all": False, "included": doubles}})
    gone = set(doubles)
    result.task_ids = [t for t in result.task_ids if t not in gone]
    result.sent -= len(doubles)
    result.already += len(doubles)
    result.warnings.append(f"{len(doubles)} task(s) were sent at the same time by another push: its copies are kept "
                           "and this push's deleted" + (" (push again to attach predictions the other push did not "
                                                        "send)" if result.predictions else ""))


def _check_kept(client: Client, project: Project, result: PushResult) -> None:
    """Warn when the project holds fewer new predictions than were sent: Label Studio on SQLite
    can answer an import 201 with its tasks saved and every prediction of it dropped (its
    database busy with another writer)."""
    kept = client.project_by_id(project.id).predictions - project.predictions
    if kept < result.predictions:
        result.warnings.append(
            f"Label Studio holds {max(kept, 0)} more prediction(s) than before this push, not the "
            f"{result.predictions} sent: it dropped {result.predictions - max(kept, 0)} (its log says why); "
            "push again to attach them to the tasks that lack them")


class KeyFieldMissing(InputError):
    """A task to send lacks the task key's field (``--key data.FIELD``, or the one a dataset's record remembers)."""


def _keyed(src: Source, key: str | None, needed: list[str]) -> dict[str, dict]:
    """task key -> item, in source order; keys unique, every item holding the ``needed`` data fields."""
    keyed: dict[str, dict] = {}
    first: dict[str, int] = {}
    for i, item in enumerate(src.items):
        where = f"{src.name}: task {i}"
        try:
            k = task_key_of(item, key, where)
        except RecordError as e:
            raise KeyFieldMissing(str(e), "a folder's tasks hold only the field its files go in: send a records file "
                                  "(.jsonl, .csv) whose records hold the key's field, or choose --key data.FIELD that "
                                  "every task has" if src.files and Path(src.name).is_dir()
                                  else "choose --key data.FIELD that every task has") from None
        if k in first:
            raise InputError(f"{src.name}: tasks {first[k]} and {i} have the same key {k!r}",
                             "tasks need unique keys: choose a unique data field with --key data.FIELD")
        first[k] = i
        missing = [f for f in needed if f not in item["data"]]
        if missing:
            raise InputError(f"{where} (key {k}): no data field {missing[0]!r}, which the labeling config "
                             f"reads (${missing[0]})", "rename the field, or send to a dataset whose config "
                             "reads it (--field NAME for files)")
        keyed[k] = item
    return keyed


def _validate(answers: Iterable[tuple[Where, dict]], cfg: LabelingConfig, stale: Problems | None) -> None:
    """Refuse any result ``cfg`` does not allow; with ``stale``, results of a control it lacks (which
    a snapshot keeps, with a warning, and Label Studio imports) are counted there instead."""
    check_results(answers, cfg, "fix the label or the dataset's labeling config, or pass --no-validate",
                  stale=None if stale is None else lambda where, ri, problem: stale.add(
                      STALE, problem, lambda: f"{where() if callable(where) else where}, region {ri}"))


def _distinct(ps: list[dict]) -> list[dict]:
    """The predictions, each once: the tasks' own and a --predictions file may hold the same one
    (same model version, result and score)."""
    seen: set[str] = set()
    out = []
    for p in ps:
        ident = json.dumps([str(p.get("model_version") or ""), p.get("result"), p.get("score")], sort_keys=True,
                           default=str)
        if ident not in seen:
            seen.add(ident)
            out.append(p)
    return out


def _plan(client: Client, project: Project, keyed: dict[str, dict], preds: dict[str, list[dict]],
          have: dict[str, int], result: PushResult, known: set[str]) -> tuple[list[dict], list[dict]]:
    """(new tasks to send with their predictions, predictions to attach to tasks already there); the tasks
    of ``known`` keys the project has no more (deleted in Label Studio) neither, said in ``result.deleted``."""
    new: list[dict] = []
    old_targets: dict[str, list[dict]] = {k: _distinct(ps) for k, ps in preds.items() if k not in keyed}
    result.deleted = [k for k in keyed if k not in have and k in known]
    result.found = [k for k in keyed if k in have or k not in known]
    for k, item in keyed.items():
        if k in known and k not in have:
            continue
        ps = _distinct([*item.get("predictions", []), *preds.get(k, [])])
        if k in have:  # the task is there; its predictions may still be new
            result.already += 1
            if ps:
                old_targets[k] = ps
            continue
        new.append({**item, "predictions": ps} if ps else item)
    result.predictions = sum(len(it.get("predictions", [])) for it in new)
    result.sent = len(new)
    attach: list[dict] = []
    if old_targets:
        versions = model_versions(client, project)
        for k, ps in old_targets.items():
            tid = have[k]
            for p in ps:
                if str(p.get("model_version") or "") in versions.get(tid, set()):
                    result.predictions_already += 1
                else:
                    attach.append({**p, "task": tid})
        result.predictions += len(attach)
    return new, attach


def _send(client: Client, project: Project, new: list[dict], attach: list[dict], batch_size: int,
          result: PushResult, progress: PushProgress) -> None:
    """Import the new tasks, then the predictions of tasks already there, in batches. A Ctrl-C
    after some batches says how many went, and that the same push sends the rest."""
    done = flying = 0  # flying: the tasks of the batch under way (the server may have them before we hear)
    try:
        for batch in batches(new, max(1, batch_size), MAX_BATCH_BYTES):
            progress("sending tasks", done, len(new))
            flying = len(batch)
            r = client.call(f"sending {len(batch)} task(s) to {project.title!r}", client.sdk.projects.import_tasks,
                            id=project.id, request=batch, return_task_ids=True,
                            request_options={"max_retries": 0, "timeout_in_seconds": client.timeout})
            result.task_ids += list(r.task_ids or [])
            done, flying = done + len(batch), 0
            progress("sending tasks", done, len(new))
    except KeyboardInterrupt as e:
        if not done and not flying:
            raise
        maybe = f", and the {flying} being sent may be there too" if flying else ""
        raise InterruptedPartway(f"at least {done} of {len(new)} task(s) were sent to {project.title!r} "
                                 f"(project {project.id}) before Ctrl-C{maybe}", "run the same push again to send "
                                 "the rest: the tasks already there are not sent twice") from e
    done = 0
    for batch in batches(attach, max(1, batch_size), MAX_BATCH_BYTES):
        progress("sending predictions to tasks already there", done, len(attach))
        client.call(f"sending {len(batch)} prediction(s) to {project.title!r}",
                    client.sdk.projects.import_predictions, id=project.id, request=batch,
                    request_options={"max_retries": 0, "timeout_in_seconds": client.timeout})
        done += len(batch)
        progress("sending predictions to tasks already there", done, len(attach))
