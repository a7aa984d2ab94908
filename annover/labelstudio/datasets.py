"""Datasets (Label Studio projects) as library calls: what ``annover dataset ...`` does.

    from annover.labelstudio.datasets import Datasets
    ds = Datasets()                                  # LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY
    ds.create("reviews", template="text-classification", labels=["pos", "neg"])
    ds.push("reviews", "reviews.jsonl", key="data.id", predictions="preds.jsonl")
    ds.stats("reviews").to_json()

Every call returns a dataclass with ``to_json()``; nothing is printed. Bound to a
repository, a dataset created from annover is recorded there as
``.annover/datasets/<name>.json`` (project id, server URL, config hash) and ``.xml`` (the
labeling config), so the config a dataset was made with is versioned with the labels.
This module only says what to record (:class:`RecordChange`); the repository writes and
commits it through the ``save_record`` callable it passes in. The API key is never recorded.
"""

from __future__ import annotations

import builtins
import dataclasses
import enum
import hashlib
import json
import re
import shlex
import unicodedata
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, Sequence

from annover.errors import AnnoverError, ConfigError, LabelStudioError, NotFoundError, UsageError
from annover.files import write_atomic
from annover.formats.label_studio import from_ls_tasks
from annover.formats.ls_results import labels_of
from annover.labelstudio import roundtrip, sync, tasks
from annover.labelstudio.client import AmbiguousTitleError, Client, Project, connect
from annover.model import stats as model_stats
from annover.model.config import LabelingConfig
from annover.model.templates import render

#: Tasks with at least one annotation that is not a skip / with at least one skip, as the tasks'
#: stored counters say (Label Studio updates them as annotations are saved; they can lag, see
#: :func:`count_labeled`).
LABELED_FILTER = {"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0}
SKIPPED_FILTER = {"filter": "filter:tasks:cancelled_annotations", "operator": "greater", "type": "Number", "value": 0}
#: ... with no annotation / no skip, as those counters say
UNLABELED_FILTER = {**LABELED_FILTER, "operator": "equal"}
UNSKIPPED_FILTER = {**SKIPPED_FILTER, "operator": "equal"}
#: Tasks with an annotation of any kind, from the annotations themselves (a join, never a counter)
ANNOTATED_FILTER = {"filter": "filter:tasks:annotations_ids", "operator": "greater", "type": "Number", "value": 0}
#: Tasks with a prediction, as the tasks' stored counter says
PREDICTED_FILTER = {"filter": "filter:tasks:total_predictions", "operator": "greater", "type": "Number", "value": 0}
#: Where dataset records live, relative to the repository's ``.annover/`` folder.
RECORD_DIR = "datasets"


def task_query(*items: dict, conjunction: str = "and") -> str:
    """A data-manager ``query`` parameter selecting tasks by ``items`` (filters)."""
    return json.dumps({"filters": {"conjunction": conjunction, "items": list(items)}})


def count_labeled(client: Client, project: Project) -> int:
    """Tasks of ``project`` with an annotation that is not a skip.

    Label Studio's filter on the tasks' stored ``total_annotations`` counts them in one small
    request, and its answer adds up the annotations of the tasks it selected. A counter that lagged
    (an annotation saved while another project was being deleted keeps its task at 0) makes that
    sum miss the project's own count, which Label Studio takes from the annotations themselves;
    the tasks the counters call unlabeled that have annotations are then read (few), and when
    even they do not make up the difference, every labeled task (:func:`fetch_labeled_tasks`)."""
    d = client.raw("GET", "api/tasks", what=f"counting tasks of project {project.id}",
                   params={"project": project.id, "page_size": 1, "fields": "task_only", "include": "id",
                           "resolve_uri": "false", "query": task_query(LABELED_FILTER)})
    total, summed = (d.get("total"), d.get("total_annotations")) if isinstance(d, dict) else (None, None)
    if not _count(total, project.tasks) or not _count(summed):  # not counts: the tasks tell
        return labeled_count(fetch_labeled_tasks(client, project))
    if summed == project.annotations:
        return total
    missed = _list_tasks(client, project, 1000, task_query(UNLABELED_FILTER, ANNOTATED_FILTER))
    if summed + _answers(missed)[0] == project.annotations:
        return total + labeled_count(missed)
    return labeled_count(fetch_labeled_tasks(client, project))


def _count(v: Any, most: int | None = None) -> bool:
    """Whether ``v`` is a count Label Studio could send: a whole number, not negative (at most ``most``)."""
    return type(v) is int and v >= 0 and (most is None or v <= most)


def _page(client: Client, project: Project, d: Any, page: int) -> tuple[list[dict], int]:
    """(the tasks, the total) of a page of api/tasks, or exit 11 saying what is wrong with it."""
    tasks, total = (d.get("tasks"), d.get("total")) if isinstance(d, dict) else (None, None)
    why = ("no object" if not isinstance(d, dict) else "no count of tasks ('total')" if not _count(total)
           else "no list of tasks" if not isinstance(tasks, list)
           else "a task that is no object with a number 'id'" if not all(
               isinstance(t, dict) and type(t.get("id")) is int for t in tasks)
           else "annotations that are no list of objects" if not all(
               isinstance(t.get("annotations") or [], list) and all(isinstance(a, dict) for a in t.get("annotations")
                                                                    or []) for t in tasks)
           else None)
    if why is not None:
        raise LabelStudioError(f"{client.url} answered page {page} of the tasks of project {project.id} with {why}",
                               f"is {client.url_from} the address of a Label Studio server? see its log")
    return tasks, total


def fetch_labeled_tasks(client: Client, project: Project, page_size: int = 1000) -> list[dict]:
    """Tasks with an annotation or a skip, as export-shaped dicts (annotators as emails).

    One filtered listing on the tasks' stored counters, checked against the project's counts of
    annotations and skips (which Label Studio takes from the annotations themselves). A counter
    that lagged makes them differ: the tasks the counters call unanswered that have annotations
    are read too, and when even they do not make up the difference, every task of the project."""
    found = _list_tasks(client, project, page_size, task_query(LABELED_FILTER, SKIPPED_FILTER, conjunction="or"))
    if _answers(found) != (project.annotations, project.skipped):
        seen = {t.get("id") for t in found}
        found += [t for t in _list_tasks(client, project, page_size,
                                         task_query(UNLABELED_FILTER, UNSKIPPED_FILTER, ANNOTATED_FILTER))
                  if t.get("id") not in seen]
    if _answers(found) != (project.annotations, project.skipped):
        found = [t for t in _list_tasks(client, project, page_size, None) if t.get("annotations")]
    users = client.users()
    for t in found:
        for a in t.get("annotations") or []:
            cb = a.get("completed_by")
            if isinstance(cb, int) and not isinstance(cb, bool):
                a["completed_by"] = {"id": cb, "email": users.get(cb, str(cb))}
    return found


def _answers(found: list[dict]) -> tuple[int, int]:
    """(annotations that are not skips, skips) of listed tasks."""
    answers = [a for t in found for a in t.get("annotations") or [] if isinstance(a, dict)]
    skips = sum(1 for a in answers if a.get("was_cancelled"))
    return len(answers) - skips, skips


def _list_tasks(client: Client, project: Project, page_size: int, query: str | None) -> list[dict]:
    """Every task of ``project`` the data-manager ``query`` selects (all with None), in full."""
    params: dict[str, Any] = {"project": project.id, "fields": "all", "resolve_uri": "false", "page_size": page_size}
    if query is not None:
        params["query"] = query
    out: list[dict] = []
    seen: set[int] = set()
    page = 1
    while True:
        d = client.raw("GET", "api/tasks", what=f"listing labeled tasks of project {project.id}",
                       params={**params, "page": page})
        found, total = _page(client, project, d, page)
        if found and seen.issuperset(t["id"] for t in found):  # a server paging for ever
            raise LabelStudioError(f"{client.url} answered page {page} of the tasks of project {project.id} with "
                                   "the tasks of the pages before", "see the Label Studio server log")
        seen.update(t["id"] for t in found)
        out += found
        if not found or len(out) >= total:
            return out
        page += 1


def labeled_count(found: list[dict]) -> int:
    """Tasks with an annotation that is not a skip, of listed tasks."""
    return sum(1 for t in found if any(isinstance(a, dict) and not a.get("was_cancelled")
                                       for a in t.get("annotations") or []))


def orphaned(found: list[dict], config: LabelingConfig, answers: str = "annotations") -> dict[str, int]:
    """What ``config`` lacks that the annotations (or ``answers="predictions"``) of listed tasks use
    ("control 'x'", "label 'y' of control 'x'") -> how many of them use it, in the order first met."""
    lacking: dict[str, int] = {}
    for t in found:
        for a in t.get(answers) or []:
            result = a.get("result") if isinstance(a, dict) else None
            missing: set[str] = set()
            for item in result if isinstance(result, list) else ():
                if not isinstance(item, dict) or item.get("type") == "relation" or not item.get("from_name"):
                    continue
                ctl = config.control_for(item["from_name"])
                if ctl is None:
                    missing.add(f"control {item['from_name']!r}")
                elif ctl.labels and not ctl.dynamic and item.get("type") != "taxonomy":
                    missing |= {f"label {x!r} of control {ctl.name!r}" for x in labels_of(item) or ()
                                if x not in ctl.labels}
            for what in sorted(missing):
                lacking[what] = lacking.get(what, 0) + 1
    return lacking


def _quiet(*_: Any) -> None:
    pass


def slug(title: str) -> str:
    """A dataset title as a file name: letters and digits of any script kept (NFC), lower case,
    the rest as ``-`` (an ASCII title gives the name it always gave)."""
    s = re.sub(r"[^\w.-]+", "-", unicodedata.normalize("NFC", title.strip())).strip("-.").lower()
    return s or "dataset"


def legacy_slug(title: str) -> str:
    """The file name a record had before titles in other scripts kept their letters (ASCII
    letters and digits only): what a repository made then may hold."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", title.strip()).strip("-.").lower() or "dataset"


def _same_config(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


# ---------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class DatasetSummary:
    """One project with its counts; ``labeled``: tasks with an annotation that is not a skip;
    ``annotations``: every annotation, skips included (of them ``skipped``), as ``dataset stats``
    and ``annover show`` count them."""

    id: int
    title: str
    tasks: int
    labeled: int
    annotations: int
    skipped: int
    predictions: int
    url: str

    @property
    def unlabeled(self) -> int:
        return self.tasks - self.labeled

    def to_json(self) -> dict:
        return {"id": self.id, "title": self.title, "tasks": self.tasks, "labeled": self.labeled,
                "unlabeled": self.unlabeled, "annotations": self.annotations, "skipped": self.skipped,
                "predictions": self.predictions, "url": self.url}


@dataclass(frozen=True)
class DatasetStats:
    """Counts of a project, computed as ``annover show`` computes a version's."""

    id: int
    title: str
    url: str
    tasks: int
    labeled: int
    skipped: int
    annotations: int
    regions: int
    predictions: int
    labels: dict[str, dict[str, int]]  # control -> label -> regions
    annotators: dict[str, int]  # annotator -> answers

    @property
    def unlabeled(self) -> int:
        return self.tasks - self.labeled

    def to_json(self) -> dict:
        return {"id": self.id, "title": self.title, "url": self.url, "tasks": self.tasks, "labeled": self.labeled,
                "unlabeled": self.unlabeled, "skipped": self.skipped, "annotations": self.annotations,
                "regions": self.regions, "predictions": self.predictions, "labels": self.labels,
                "annotators": self.annotators}


@dataclass(frozen=True)
class Created:
    """What ``create`` did: made the project, replaced its config, or found it as it was."""

    project: Project
    url: str
    created: bool
    updated: bool
    recorded: str | None = None  # the record's path in the repository, when bound to one
    notes: tuple[str, ...] = ()  # what became of the task key the record remembers

    def to_json(self) -> dict:
        return {"id": self.project.id, "title": self.project.title, "url": self.url, "created": self.created,
                "updated": self.updated, "recorded": self.recorded, "notes": list(self.notes)}


@dataclass(frozen=True)
class DatasetLink:
    """Where a person labels a project in a browser."""

    project: Project
    url: str

    def to_json(self) -> dict:
        return {"id": self.project.id, "title": self.project.title, "url": self.url}


@dataclass(frozen=True)
class Deleted:
    project: Project
    forgot: str | None = None  # the record removed from the repository, if there was one

    def to_json(self) -> dict:
        return {"id": self.project.id, "title": self.project.title, "deleted": True, "forgot": self.forgot}


@dataclass(frozen=True)
class Exported:
    project: Project
    tasks: int
    path: str
    config: str | None = None  # where the labeling config was written, if asked

    def to_json(self) -> dict:
        return {"id": self.project.id, "title": self.project.title, "tasks": self.tasks, "path": self.path,
                "config": self.config}


# ---------------------------------------------------------------------------
# the record of a dataset in a repository


class RecordAction(str, enum.Enum):
    WRITE = "write"
    REMOVE = "remove"


@dataclass(frozen=True)
class RecordChange:
    """Files under ``.annover/`` to write (bytes) or remove (None) in one commit, for one dataset.

    The repository applies it: a WRITE only when the files differ from HEAD's, a REMOVE
    only when the record there names ``project_id`` (:meth:`names_project`).
    """

    action: RecordAction
    project_id: int
    path: str  # the record (.json), relative to .annover/
    files: dict[str, bytes | None]
    message: str
    title: str = ""
    url: str = ""  # the server of the project, when known: a record of it under another title is its own

    def renamed(self, path: str) -> "RecordChange":
        """This change applied to the record at ``path`` (a legacy name, :func:`legacy_slug`, or the
        project's former title) instead: a REMOVE removes that record; a WRITE writes its own and removes
        that one."""
        base, old = path[: -len(".json")], {path: None, path[: -len(".json")] + ".xml": None}
        if self.action is RecordAction.REMOVE:
            return dataclasses.replace(self, path=path, files={f"{base}.json": None, f"{base}.xml": None})
        return dataclasses.replace(self, files={**old, **self.files})

    def names_project(self, record: bytes) -> bool:
        """Whether ``record`` (a dataset record file's content) is this change's project's."""
        try:
            return json.loads(record).get("project_id") == self.project_id
        except (ValueError, AttributeError):
            return False

    @classmethod
    def write(cls, project: Project, server_url: str, key: str | None = None,
              remembering: bool = False, kept: bool = False, key_by: str | None = None,
              trip: dict | None = None) -> "RecordChange":
        """The record of ``project``; ``key``: the task key its tasks were sent with (``dataset
        push --key``), which later pushes and the first snapshot of it take by default
        (``remembering``: the change is that key, and the commit message says so; ``kept``: the
        key the record of a project of that title had, kept for this new project, said so too;
        ``key_by``: the command that set the key, ``dataset create`` or ``dataset push``, for its notes;
        ``trip``: what pushes changed of the tasks sent, undone by a pull, :mod:`annover.labelstudio.roundtrip`)."""
        base = f"{RECORD_DIR}/{slug(project.title)}"
        meta = {"title": project.title, "project_id": project.id, "url": server_url,
                "config_sha256": hashlib.sha256(project.label_config.encode("utf-8")).hexdigest()}
        if key is not None:
            meta["key"] = key
            if key_by is not None:
                meta["key_by"] = key_by
        meta.update(trip or {})
        files: dict[str, bytes | None] = {
            f"{base}.json": (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode(),
            f"{base}.xml": project.label_config.encode("utf-8")}
        said = "remembers" if remembering else "keeps" if kept else None
        what = f" {said} --key {key}" if key is not None and said is not None else ""
        return cls(RecordAction.WRITE, project.id, f"{base}.json", files,
                   f"annover: dataset {project.title}{what} (Label Studio project {project.id})", project.title,
                   server_url)

    @classmethod
    def remove(cls, project: Project, server_url: str = "") -> "RecordChange":
        base = f"{RECORD_DIR}/{slug(project.title)}"
        return cls(RecordAction.REMOVE, project.id, f"{base}.json", {f"{base}.json": None, f"{base}.xml": None},
                   f"annover: forget dataset {project.title} (deleted from Label Studio)", project.title, server_url)


RecordSaver = Callable[[RecordChange], "str | None"]


@contextmanager
def _said_remembered(key: str | None, record: dict | None) -> Iterator[None]:
    """A task without the field of ``key``, the one the dataset's ``record`` remembers (no --key given): the
    error says where that key came from, which the command line did not show."""
    try:
        yield
    except tasks.KeyFieldMissing as e:
        if key is not None and record is not None:
            e.hint = (f"--key {key} is the key the dataset's tasks were sent with, which "
                      f".annover/{RECORD_DIR}/{slug(str(record.get('title')))}.json remembers; {e.hint}")
        raise


def _deleted_note(r: tasks.PushResult, source: str, dry_run: bool) -> str:
    """What a push says of the tasks of ``source`` it did not send, deleted in Label Studio (``r.deleted``)."""
    shown = ", ".join(r.deleted[:5]) + (", ..." if len(r.deleted) > 5 else "")
    return (f"{len(r.deleted)} task(s) of {source} {'would not be' if dry_run else 'were not'} sent: "
            f"{r.project.title!r} had them at its last push or pull and they were deleted in Label Studio since "
            f"({shown}); --restore sends them again")


def _key_source(record: dict | None) -> str:
    """Where a dataset record's key came from, as a push's note says it."""
    by = (record or {}).get("key_by")
    if by == "dataset create":
        return "as `annover dataset create --key` set it for the dataset"
    if by == "dataset push":
        return "as the dataset's earlier push sent them"
    return "the key the dataset's record remembers"  # a record older than key_by


# ---------------------------------------------------------------------------
# the library calls


def _config_of(config_text: str | None, config_file: str | None, template: str | None, labels: Sequence[str],
               data_field: str | None) -> LabelingConfig:
    """The labeling config from exactly one of text, a file, or a template with labels (validated)."""
    if sum(x is not None for x in (config_text, config_file, template)) != 1:
        raise UsageError("give exactly one of --config FILE and --template NAME",
                         "e.g. --template text-classification --labels pos,neg")
    if template is None and (labels or data_field):
        raise UsageError("--labels, --label and --data-field go with --template", "drop them, or use --template")
    if config_file is not None:
        return LabelingConfig.from_file(config_file)
    if template is not None:
        return LabelingConfig(render(template, list(labels), data_field), source=f"template {template}")
    return LabelingConfig(str(config_text), source="labeling config")


def _check_title(name: str) -> str:
    title = name.strip()
    if not title:
        raise UsageError("empty dataset name", "give the project a title")
    if title.isdigit():
        raise UsageError(f"dataset name {title!r} is all digits", "digits name projects by id; choose a title")
    return title


class Datasets:
    """The datasets (projects) of one Label Studio server, optionally bound to a repository.

    ``client`` defaults to :func:`~annover.labelstudio.client.connect` (the environment),
    made on first use. ``repo`` lets ``push`` send a version; ``save_record`` writes and
    commits a :class:`RecordChange` in that repository and returns the record's path.
    """

    def __init__(self, client: Client | None = None, repo: Any = None, *,
                 save_record: RecordSaver | None = None,
                 check_record: "Callable[[str], ContextManager[None]] | None" = None,
                 read_record: "Callable[[str | int], dict | None] | None" = None) -> None:
        self._client = client
        self.repo = repo
        self._save_record = save_record
        #: around a change on the server whose record is saved: refuses first when the record could not be
        #: saved, and holds what saving needs (the repository's lock) until the record is saved
        self._check_record = check_record
        #: the repository's record (its JSON), if any, of a title, or of a project id of this server (whatever
        #: title it was recorded under: the project may have been renamed in Label Studio since)
        self._read_record = read_record

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = connect()
        return self._client

    def get(self, name: str | int) -> Project:
        """The project titled ``name`` (or with id ``name``); NotFoundError otherwise, whose hint says
        what became of the project the bound repository's record of ``name`` names, if it has one."""
        try:
            return self.client.project(name)
        except (NotFoundError, AmbiguousTitleError) as e:
            raise self.explained(e, name) from None

    def explained(self, e: NotFoundError | AmbiguousTitleError, name: str | int) -> AnnoverError:
        """``e``, a name that found no project or several, with what the bound repository's record
        of ``name`` says: the project gone or renamed, or which of those titled so it made."""
        if isinstance(e, AmbiguousTitleError):
            rec = self._record_here(str(name).strip())
            if rec is not None and rec["project_id"] in e.ids:
                e.hint = (f"name the dataset by its project id: .annover/{RECORD_DIR}/{slug(str(name).strip())}.json "
                          f"records it as project {rec['project_id']}, the one made from this repository")
            return e
        e.hint = self.gone_hint(str(name).strip()) or e.hint
        return e

    def _record_here(self, title: str) -> dict | None:
        """The repository's record of ``title`` when it names a project of this server, else None."""
        rec = self._read_record(title) if self._read_record is not None else None
        if not rec or type(rec.get("project_id")) is not int \
                or str(rec.get("url", "")).rstrip("/") != self.client.url.rstrip("/"):
            return None
        return rec

    def gone_hint(self, title: str) -> str | None:
        """For a title no project has: what became of the project the repository's record of it (made
        on this server) names: renamed, or gone from the server; None without such a record."""
        rec = self._record_here(title)
        if rec is None:
            return None
        pid, where = rec["project_id"], f".annover/{RECORD_DIR}/{slug(title)}.json"
        try:
            now = self.client.project_by_id(pid)
        except NotFoundError:
            return (f"{where} records it as project {pid}, which this server no longer has (deleted in Label "
                    f"Studio?): `annover dataset create {shlex.quote(title)}` makes a new project, `annover "
                    f"dataset delete {shlex.quote(title)}` forgets the record")
        if now.title == title:  # there as recorded: what was not found is something else
            return None
        return f"{where} records it as project {pid}, now titled {now.title!r}: name it so, or by its id {pid}"

    def _summary(self, project: Project) -> DatasetSummary:
        """The counts of ``project``, from its own counts when they tell how many tasks are labeled
        (no request), else with :func:`count_labeled`."""
        labeled = project.labeled_exactly
        if labeled is None:
            labeled = count_labeled(self.client, project) if project.tasks else 0
        # Label Studio's project count of annotations leaves the skips out
        return DatasetSummary(project.id, project.title, project.tasks, labeled, project.annotations + project.skipped,
                              project.skipped, project.predictions, self.client.project_url(project))

    def create(self, name: str, config_text: str | None = None, *, config_file: str | None = None,
               template: str | None = None, labels: Sequence[str] = (), data_field: str | None = None,
               description: str | None = None, update_config: bool = False, key: str | None = None) -> Created:
        """Get or create the project titled ``name`` with a labeling config (validated first).

        An existing project keeps its config when it is the same; a different one is an
        error or, with ``update_config``, replaces it. Bound to a repository, the dataset is
        recorded there, with the task key its record remembers (``dataset push --key``), also
        when the recorded project is gone and a new one is made in its place: its tasks are
        keyed as before. ``key`` (``data.FIELD``) is remembered instead.
        """
        config = _config_of(config_text, config_file, template, labels, data_field)
        text, title = config.text, _check_title(name)
        if key is not None and self._read_record is None:
            raise UsageError("--key is remembered in the dataset's record in an annover repository, and there is none "
                             "here", "run `annover dataset create` inside the repository, or give --key to "
                             "`annover dataset push`")
        with self._recording(title):
            existing = self.client.projects(title=title)
            if len(existing) > 1:
                raise UsageError(f"{len(existing)} Label Studio projects are already titled {title!r}",
                                 "give a title no other project has")
            created = updated = False
            if existing:
                project = self.client.project_by_id(existing[0].id)
                if not _same_config(project.label_config, text):
                    project = self._replace_config(project, config, update_config)
                    updated = True
            else:
                project = self._make(title, text, description)
                created = True
            change, notes = self._created_record(project, key, found=not created)
            recorded = self._save(change)
        if updated:
            notes += self._stale_predictions(project, config)
        return Created(project, self.client.project_url(project), created, updated, recorded, tuple(notes))

    def _created_record(self, project: Project, key: str | None, found: bool = False
                        ) -> tuple[RecordChange, list[str]]:
        """The record ``create`` writes for ``project``, and what to say of its key: the key the
        repository's record of the title remembers is kept, also when that record names another
        project (deleted in Label Studio, and made again): the new project's tasks are keyed as
        the dataset's always were. A ``key`` given is remembered in its place. A project ``found``
        with tasks that this repository has no record of was sent its tasks elsewhere (another
        repository, whose record holds their key): said, since the first snapshot would key them
        by their data's hash."""
        rec = self._read_record(project.title) if self._read_record is not None else None
        rec = rec if rec is not None else self._renamed_record(project)
        had = rec.get("key") if rec is not None and isinstance(rec.get("key"), str) else None
        other = rec is not None and rec.get("project_id") != project.id
        trip = None if other else roundtrip.merged(rec, (), ())  # the project's own: its pushes' record kept
        where = f".annover/{RECORD_DIR}/{slug(project.title)}.json"
        if key is not None and key != had:
            instead = f" in place of --key {had}" if had is not None else ""
            return (RecordChange.write(project, self.client.url, key, remembering=True, key_by="dataset create",
                                       trip=trip),
                    [f"remembered --key {key}{instead} for {project.title!r}: its pushes and its first snapshot "
                     "key its tasks so"])
        by = rec.get("key_by") if rec is not None else None
        if had is None or not other:
            unknown = found and rec is None and had is None and project.tasks and self._read_record is not None
            return RecordChange.write(project, self.client.url, had, key_by=by, trip=trip), (
                [f"{project.title!r} has {project.tasks} task(s), sent without this repository's record, so the "
                 "key they were sent with is not known here: `annover dataset create` with --key data.FIELD "
                 "remembers it, else the first snapshot keys them by their data's hash"] if unknown else [])
        return (RecordChange.write(project, self.client.url, had, kept=True, key_by=by),
                [f"kept --key {had}, which {where} remembered for project {rec.get('project_id')}: pushes to "
                 f"project {project.id} and its first snapshot key its tasks as before (`--key data.FIELD` "
                 "remembers another)"])

    def _recording(self, title: str) -> "ContextManager[None]":
        """Around a change on the server that a record follows: the bound repository's checks, and
        its lock held until the record is committed (another command holding it: exit 9 before the
        server is changed, never a project made and left unrecorded)."""
        return self._check_record(title) if self._check_record is not None else nullcontext()

    def _replace_config(self, project: Project, config: LabelingConfig, allowed: bool) -> Project:
        text = config.text
        if not allowed:
            raise ConfigError(f"dataset {project.title!r} exists (project {project.id}) with a different "
                              "labeling config", "pass --update-config to replace it, or choose another name")
        self._check_in_use(project, config)
        what = f"checking the new labeling config of {project.title!r}"
        try:  # Label Studio's own check: its UI refuses a config that orphans labels annotations use
            self.client.raw("POST", f"api/projects/{project.id}/validate/", json_body={"label_config": text},
                            what=what, retries=0)
        except LabelStudioError as e:
            if "HTTP 400" not in e.message:
                raise
            raise ConfigError(f"Label Studio refuses the new labeling config of {project.title!r}: "
                              f"{e.message.split(f'to {what}: ', 1)[-1]}",
                              "keep what the project's annotations use in the config (labels, control "
                              "names), or change those annotations first; nothing was changed") from None
        self.client.raw("PATCH", f"api/projects/{project.id}/", json_body={"label_config": text},
                        what=f"updating the labeling config of {project.title!r}")
        return self.client.project_by_id(project.id)

    def _check_in_use(self, project: Project, config: LabelingConfig) -> None:
        """Refuse ``config`` when it lacks a control or a label the project's annotations use. Label
        Studio's own check reads a stored count of them, which an annotation saved while another
        project was being deleted never reached (and its "reset" of that count keeps only the last
        annotation's labels): the annotations are read here instead."""
        if not project.annotations + project.skipped:
            return
        lacking = orphaned(fetch_labeled_tasks(self.client, project), config)
        if lacking:
            shown = "; ".join(f"{what} ({n} annotation{'s' if n > 1 else ''})" for what, n in list(lacking.items())[:5])
            raise ConfigError(f"the new labeling config of {project.title!r} lacks what its annotations use: {shown}"
                              f"{' ...' if len(lacking) > 5 else ''}",
                              "keep what the project's annotations use in the config (labels, control "
                              "names), or change those annotations first; nothing was changed")

    def _stale_predictions(self, project: Project, config: LabelingConfig) -> list[str]:
        """After ``--update-config``: what the new config lacks that the project's predictions use, which
        Label Studio's check of a config leaves out and a pull's check of labels refuses (exit 4)."""
        if not project.predictions:
            return []
        found = _list_tasks(self.client, project, 1000, task_query(PREDICTED_FILTER))
        if sum(len(t.get("predictions") or []) for t in found) != project.predictions:  # a counter that lagged
            found = _list_tasks(self.client, project, 1000, None)
        lacking = orphaned(found, config, "predictions")
        if not lacking:
            return []
        shown = "; ".join(f"{what} ({n} prediction{'s' if n > 1 else ''})" for what, n in list(lacking.items())[:5])
        return [f"the predictions of {project.title!r} use what the new labeling config lacks: {shown}"
                f"{' ...' if len(lacking) > 5 else ''}. `annover snapshot --label-studio` stops on them (exit 4) "
                "unless given --validate warn, which keeps them with a warning; or delete them in Label Studio"]

    def _make(self, title: str, text: str, description: str | None) -> Project:
        body: dict[str, Any] = {"title": title, "label_config": text}
        if description:
            body["description"] = description
        d = self.client.raw("POST", "api/projects/", what=f"creating project {title!r}", json_body=body, retries=0)
        return self.client.project_by_id(int(d["id"]))

    def _save(self, change: RecordChange) -> str | None:
        return self._save_record(change) if self._save_record is not None else None

    def _record(self, project: Project) -> dict | None:
        """The bound repository's record of ``project`` (its JSON), if it has one: under its title, else under
        the title it had (renamed in Label Studio since)."""
        rec = self._read_record(project.title) if self._read_record is not None else None
        return rec if rec is not None and rec.get("project_id") == project.id else self._renamed_record(project)

    def _renamed_record(self, project: Project) -> dict | None:
        """The bound repository's record of ``project`` made under another title, which someone renamed
        in Label Studio since: found by its id and this server's URL."""
        rec = self._read_record(project.id) if self._read_record is not None else None
        if not rec or rec.get("project_id") != project.id \
                or str(rec.get("url", "")).rstrip("/") != self.client.url.rstrip("/"):
            return None
        return rec

    def _keyed(self, name: str | int, key: str | None) -> tuple[Project | None, dict | None, str | None]:
        """(the project, its record, the key to push with): ``key`` when given, else the one the
        record says the dataset's tasks were sent with (None for both when the repository has no
        record of it)."""
        if self._read_record is None:
            return None, None, key
        project = self.get(name)
        record = self._record(project)
        recorded = record.get("key") if record is not None else None
        return project, record, key if key is not None else recorded if isinstance(recorded, str) else None

    def stats(self, name: str | int) -> DatasetStats:
        """tasks, labeled, unlabeled, skipped; regions per label; answers per annotator.

        Computed from the labeled tasks only (one filtered listing), as ``annover show``
        computes a version's stats.
        """
        project = self.get(name)
        found = fetch_labeled_tasks(self.client, project)
        # stats need no task data: key each task by its id so equal data cannot collide
        slim = [{"data": {"id": t["id"]}, "annotations": t.get("annotations") or []} for t in found]
        tables = from_ls_tasks(slim, f"project {project.id}", key="data.id", validate=False)
        s = model_stats.compute(tables.tasks, tables.annotations, {})
        return DatasetStats(project.id, project.title, self.client.project_url(project), project.tasks,
                            s["labeled"], s["skipped"], s["annotations"], s["regions"], project.predictions,
                            s["labels"], s["annotators"])

    def annotate_url(self, name: str | int) -> DatasetLink:
        """Where ``name`` is labeled in a browser."""
        project = self.get(name)
        return DatasetLink(project, self.client.project_url(project))

    def delete(self, name: str | int) -> Deleted:
        """Delete the project (its tasks, annotations and predictions) from Label Studio, and its record."""
        project = self.get(name)
        with self._recording(project.title):
            self.client.raw("DELETE", f"api/projects/{project.id}/", what=f"deleting project {project.title!r}",
                            retries=0)
            return Deleted(project, self._save(RecordChange.remove(project, self.client.url)))

    def forget(self, name: str | int) -> Deleted | None:
        """Remove the record of dataset ``name`` whose project this server no longer has (deleted
        in Label Studio's UI); None when there is no such record (of this server's URL)."""
        rec = self._read_record(str(name).strip()) if self._read_record is not None else None
        if not rec or not isinstance(rec.get("project_id"), int) or not isinstance(rec.get("title"), str) \
                or str(rec.get("url", "")).rstrip("/") != self.client.url.rstrip("/"):
            return None
        try:
            self.client.project_by_id(rec["project_id"])
            return None  # still there (under another title): not gone
        except NotFoundError:
            pass
        gone = Project(rec["project_id"], rec["title"], "", 0, 0, 0, 0, 0)
        with self._recording(gone.title):
            return Deleted(gone, self._save(RecordChange.remove(gone)))

    def push(self, name: str | int, source: str, *, key: str | None = None, predictions: str | None = None,
             annotations: bool = False, field_name: str | None = None, document_root: str | None = None,
             validate: bool = True, dry_run: bool = False, batch_size: int = tasks.MAX_BATCH_TASKS,
             progress: tasks.PushProgress = _quiet, version_key: str | None = None,
             image_root: str | None = None, restore: bool = False) -> tasks.PushResult:
        """Send the tasks of ``source`` (folder, records file, or a version of the repository)
        that ``name`` does not have yet, with their predictions.

        Bound to a repository that records the dataset, ``key`` defaults to the key its tasks were
        sent with before, and a ``key`` given is recorded (committed) for the next push and the
        first snapshot of the dataset: tasks are matched by one key scheme, as git matches files
        by one path. ``version_key``, the key the version ``source`` was read with, is the key where
        neither gives one, recorded as a given one is (its predictions' ``task_key`` are its tasks').
        The record also keeps what the push changed of the tasks and answers it sent (a version's relative
        image paths sent as URLs, found below ``image_root`` or the folder the version was read from; the
        answers of no annotator Label Studio gives the API key's user), which a pull reads back as they were
        (:mod:`annover.labelstudio.roundtrip`), and the keys of the tasks it sent or found in the project: a
        task of ``source`` the project had at the last push or pull (:meth:`_known`) and has no more was deleted
        in Label Studio, and is not sent (``restore``: it is); a note says so."""
        project, record, used = self._keyed(name, key)
        own = version_key if used is None else None
        used = used if own is None else own
        given = key if key is not None else own
        remember = project is not None and record is not None and given is not None and given != record.get("key")
        tripping = record is not None and (annotations or tasks._names_version(self.repo, source))
        keeping = record is not None and self._on_branch()
        saving = project if (remember or tripping or keeping) and not dry_run else None
        known = self._known(project, record, used) if project is not None and not restore else None
        # the record's checks (and the lock, held until it is committed) before anything is sent
        with self._recording(saving.title) if saving is not None else nullcontext(), \
                _said_remembered(used if key is None and own is None else None, record):
            r = tasks.push(self.client, project.id if project is not None else name, source, key=used,  # found once
                           predictions=predictions, annotations=annotations,
                           field_name=field_name, document_root=document_root, validate=validate,
                           repo=self.repo, dry_run=dry_run, batch_size=batch_size, progress=progress,
                           image_root=image_root, known=known)
            found = (used, r.found) if keeping else None
            trip = roundtrip.merged(record, r.pushed_paths, self._unattributed(r), found) if saving is not None else {}
            saved = saving is not None and (remember or trip != roundtrip.merged(record, (), ()))
            if saved and saving is not None:
                self._save(RecordChange.write(saving, self.client.url, given if remember else record.get("key"),
                                              remembering=remember, key_by="dataset push" if remember
                                              else record.get("key_by"), trip=trip))
        r.key = used
        # the record's file: under the project's title, else (renamed in Label Studio, not saved since) the one it had
        where = f".annover/{RECORD_DIR}/{slug(r.project.title if saved or not record else str(record['title']))}.json"
        if r.deleted:
            r.notes.append(_deleted_note(r, source, dry_run))
        if r.unattributed and saved:
            r.notes.append(f"the dataset's record ({where}) keeps the "
                           f"{len(r.unattributed)} answer(s) of no annotator: `annover snapshot --label-studio` reads "
                           "them back so, not as the API key's user's")
        if own is not None:
            r.notes.append(f"tasks keyed with --key {own}, as version {source} was read (--key to choose another)")
        elif key is None and used is not None:
            r.notes.append(f"tasks keyed with --key {used}, {_key_source(record)} ({where})")
        if remember:
            r.notes.append(f"{'would remember' if dry_run else 'remembered'} --key {given} for {r.project.title!r}: "
                           "its later pushes and its first snapshot key its tasks so")
        return r

    def _on_branch(self) -> bool:
        """Whether a push may commit the keys of the tasks it sent and found to the record: git HEAD on a
        branch. A push from a detached HEAD (`git checkout v2`) is not refused for them (as for a version's
        paths and answers of no annotator, which a pull must undo); a pull still knows what it read."""
        return self.repo is not None and self.repo.scm.branch() is not None

    def _known(self, project: Project, record: dict | None, key: str | None) -> set[str]:
        """The keys (of task key ``key``) of the tasks ``project`` had at the last push (its ``record``)
        and at the last pull (HEAD, when pulled from it with that key)."""
        had, keys = roundtrip.pushed_keys(record)
        known = set(keys) if had == key else set()
        previous = sync.Previous.of(self.repo) if self.repo is not None else None
        if previous is not None and previous.pulled_from(self.client, project.id) and previous.sync.get("key") == key:
            t = self.repo.read_table("HEAD", "tasks", columns=["task_key", "ls_project_id"]).to_pydict()
            known.update(k for k, p in zip(t["task_key"], t["ls_project_id"]) if p == project.id)
        return known

    def _unattributed(self, r: tasks.PushResult) -> list[int]:
        """The ids of the answers of no annotator that push ``r`` made (``r.unattributed``, also set here):
        the tasks it made read back in one listing, each task's answers by id in the order they were sent."""
        if not r.unattributed_slots:
            return []
        ids = sorted(r.unattributed_slots)
        query = task_query({"filter": "filter:tasks:id", "operator": "in", "type": "Number",
                            "value": {"min": ids[0], "max": ids[-1]}})
        for t in _list_tasks(self.client, r.project, 1000, query):
            sent, places = r.unattributed_slots.get(t["id"], (0, []))
            made = sorted(a["id"] for a in t.get("annotations") or [] if type(a.get("id")) is int)
            if places and len(made) == sent:  # else another answer came meanwhile: which are the push's is unknown
                r.unattributed += [made[j] for j in places]
        return r.unattributed

    def push_sample(self, name: str | int, version: str, keys: list[str], *, key: str | None = None,
                    model: str | None = None, annotations: bool = False, validate: bool = True,
                    dry_run: bool = False, batch_size: int = tasks.MAX_BATCH_TASKS,
                    progress: tasks.PushProgress = _quiet, source: str | None = None) -> tasks.PushResult:
        """Send the tasks ``keys`` of ``version`` (a sample: ``annover dataset push --from-sample``)
        that ``name`` does not have yet, with model version ``model``'s stored predictions.

        ``key`` matches them with the project's tasks (``data.FIELD``, else the data's hash);
        ``source`` names the sample in messages. Needs a bound repository."""
        if self.repo is None:
            raise UsageError("sending a sample needs the repository it was drawn from",
                             "run this inside the annover repository")
        try:
            return tasks.push_sample(self.client, name, self.repo, version, keys, key=key, model=model,
                                     annotations=annotations, validate=validate, dry_run=dry_run,
                                     batch_size=batch_size, progress=progress, name=source)
        except (NotFoundError, AmbiguousTitleError) as e:  # the sample is read first: the project is looked up there
            raise self.explained(e, name) from None

    def export(self, name: str | int, out: str | Path, *, config_out: str | Path | None = None,
               progress: sync.Progress = _quiet) -> Exported:
        """Write the project's full export (what ``snapshot --label-studio`` reads) to ``out``."""
        project = self.get(name)
        exp = sync.export_tasks(self.client, project, progress=progress)
        write_atomic(out, exp.raw)
        if config_out is not None:
            write_atomic(config_out, project.label_config.encode("utf-8"))
        return Exported(project, len(exp.tasks), str(out), str(config_out) if config_out is not None else None)

    def list(self) -> builtins.list[DatasetSummary]:
        """Every project the key can see, with total / labeled / unlabeled counts, by id; a project
        deleted between the listing and its count (by someone else, on a shared server) is left out."""
        out = []
        for p in sorted(self.client.projects(), key=lambda p: p.id):
            try:
                out.append(self._summary(p))
            except NotFoundError:
                continue
        return out
