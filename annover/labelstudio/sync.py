"""Pull a Label Studio project: its tables, config and origin, ready to become a version.

A full pull asks the server for an export snapshot with full predictions and annotators
expanded to emails, and reads it exactly as a file import of that export would
(:func:`annover.formats.label_studio.from_ls_tasks`), so the canonical rows and snapshot ids are
the same as those of ``annover snapshot --from <that export>``.

An incremental pull starts from the previous version (HEAD) when it was pulled from the
same project with the same task key and labeling config. It exports only the tasks whose
``updated_at`` is after the moment recorded in that version's origin (a data-manager
filter; the same export serializer), drops tasks deleted since (task id sets), and
replaces those tasks' rows in the previous tables. Project totals (tasks, annotations,
skips, predictions) are checked afterwards: where they disagree (a change that did not
touch its task, such as bulk-imported predictions), it falls back to a full pull, so both
ways give the same version content.

This module returns data; the repository makes the version (``annover.repo.labelstudio``).
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

from annover._lazy import lazy
from annover.errors import AnnoverError, LabelStudioConnectionError, LabelStudioError, LabelStudioServerError
from annover.formats.label_studio import RecordError, from_ls_tasks, task_key_of, users_in
from annover.formats.ls_results import strictness
from annover.formats.tables import DuplicateKey, Tables, finish
from annover.labelstudio import roundtrip
from annover.labelstudio.client import ENV_TIMEOUT, Client, Project
from annover.model.config import LabelingConfig

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

Progress = Callable[[str], None]

#: Full predictions (not ids) and annotators as {id, email, ...}: what annover needs.
EXPORT_OPTIONS = {"predictions": {"only_id": False}, "annotations__completed_by": {"only_id": False}}
#: The only datetime format Label Studio's data-manager filters accept.
LS_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
VIEW_TITLE = "annover: tasks changed since the last pull"
#: what marks a view as made by a pull (with the moment), beside its title, which a person may give a view too
VIEW_MARK = "annover incremental pull"
EXPORT_TITLE = "annover pull"
#: ``origin.kind`` of a version pulled from Label Studio.
ORIGIN_KIND = "label-studio"
TABLES = ("tasks", "annotations", "predictions")
_DONE = ("completed", "failed")


class PullMode(str, enum.Enum):
    """How a pull got the project: everything, or only what changed since the previous version."""

    FULL = "full"
    INCREMENTAL = "incremental"


class _NoIncremental(Exception):
    """Why an incremental pull cannot be done; ``quiet`` when a full pull is the expected case."""

    def __init__(self, reason: str, quiet: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.quiet = quiet


def _noop(_: str) -> None:
    pass


def parse_time(s: str) -> _dt.datetime:
    t = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


def format_time(t: _dt.datetime) -> str:
    return t.astimezone(_dt.timezone.utc).strftime(LS_TIME_FORMAT)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def source_name(project: Project) -> str:
    return f"Label Studio project {project.title!r} ({project.id})"


# ---------------------------------------------------------------------------
# export


@dataclass
class Export:
    tasks: list[dict]
    created_at: _dt.datetime  # server time at which the export began
    raw: bytes  # the export as the server wrote it


def _wait_for_export(client: Client, project: Project, snap: dict, poll: float) -> None:
    what = f"exporting project {project.id}"
    deadline = time.monotonic() + client.timeout
    while snap.get("status") not in _DONE:
        if time.monotonic() > deadline:
            raise LabelStudioError(f"the export of project {project.id} did not finish in {client.timeout:g} s",
                                   f"raise {ENV_TIMEOUT}, or check the server's workers")
        time.sleep(poll)
        snap.update(client.raw("GET", f"api/projects/{project.id}/exports/{snap['id']}", what=what))
    if snap["status"] == "failed":
        raise LabelStudioError(f"Label Studio failed to export project {project.id}", "see the Label Studio server log")


def _download(client: Client, project: Project, eid: int, progress: Progress) -> bytes:
    chunks: list[bytes] = []

    def go() -> None:
        got = 0
        for chunk in client.sdk.projects.exports.download(
                project.id, eid, export_type="JSON",
                request_options={"timeout_in_seconds": client.timeout, "chunk_size": 1 << 20}):
            chunks.append(chunk)
            got += len(chunk)
            progress(f"downloading the export: {_mb(got)}")

    client.call(f"downloading the export of project {project.id}", go)
    return b"".join(chunks)


def export_tasks(client: Client, project: Project, *, view: int | None = None,
                 progress: Progress = _noop, poll: float = 0.5) -> Export:
    """An export snapshot of the project (or of the tasks a data-manager view selects)."""
    body: dict[str, Any] = {"title": EXPORT_TITLE, "serialization_options": EXPORT_OPTIONS}
    if view is not None:
        body["task_filter_options"] = {"view": view}
    progress(f"Label Studio is exporting {'changed tasks' if view else f'{project.tasks} tasks'}")
    snap = client.raw("POST", f"api/projects/{project.id}/exports/", what=f"exporting project {project.id}",
                      json_body=body, retries=0)
    eid = int(snap["id"])
    try:
        _wait_for_export(client, project, snap, poll)
        raw = _download(client, project, eid, progress)
    finally:
        _delete_export(client, project, eid)
    _drop_stale_exports(client, project, parse_time(str(snap["created_at"])))
    progress(f"reading the export ({_mb(len(raw))})")
    try:
        tasks = json.loads(raw)
    except ValueError as e:
        raise LabelStudioError(f"the export of project {project.id} is not valid JSON: {e}",
                               "retry; see the Label Studio server log") from None
    if not isinstance(tasks, list):
        raise LabelStudioError(f"the export of project {project.id} is not a list of tasks", "retry")
    return Export(without_relative_times(tasks), parse_time(str(snap["created_at"])), raw)


#: What the server writes relative to the moment of the export ("0 minutes", "2 hours"): kept, a pull's
#: predictions and answers would differ from the last pull's though nothing changed, and each new version
#: would store them again. ``created_at`` keeps the time itself; ``raw`` (``dataset export``) keeps them.
RELATIVE_TIMES = ("created_ago",)


def without_relative_times(tasks: list[Any]) -> list[Any]:
    """``tasks`` (an export) without :data:`RELATIVE_TIMES` in their answers and predictions (changed in place)."""
    for task in tasks:
        for item in (*_items(task, "annotations"), *_items(task, "predictions")):
            for name in RELATIVE_TIMES:
                item.pop(name, None)
    return tasks


def _items(task: Any, field: str) -> list[dict]:
    got = task.get(field) if isinstance(task, dict) else None
    return [x for x in got if isinstance(x, dict)] if isinstance(got, list) else []


def _delete_export(client: Client, project: Project, eid: int) -> None:
    try:
        client.raw("DELETE", f"api/projects/{project.id}/exports/{eid}", what="removing the export", retries=0)
    except AnnoverError:
        pass  # left on the server: a later pull removes it (_drop_stale_exports)


def _drop_stale_exports(client: Client, project: Project, began: _dt.datetime) -> None:
    """Remove the exports pulls left on the server: Label Studio Community makes an export while
    it answers the request asking for it, so a pull cut short then (Ctrl-C, a lost connection)
    never learns its id, and the export, a copy of the project, would stay. Only those begun
    twice ``ANNOVER_LS_TIMEOUT`` before this pull's (``began``, the server's clock) go: a pull
    still waiting for or downloading its own is not disturbed."""
    try:
        exports = client.raw("GET", f"api/projects/{project.id}/exports/", what="listing the project's exports")
    except AnnoverError:
        return
    limit = began - _dt.timedelta(seconds=2 * client.timeout)
    for e in exports if isinstance(exports, list) else []:
        if (isinstance(e, dict) and e.get("title") == EXPORT_TITLE and isinstance(e.get("id"), int)
                and isinstance(e.get("created_at"), str)):
            try:
                stale = parse_time(e["created_at"]) < limit
            except ValueError:
                continue
            if stale:
                _delete_export(client, project, int(e["id"]))


def _changed_view(client: Client, project: Project, since: str) -> int:
    """A data-manager view of the tasks changed since ``since``, marked as annover's (``VIEW_MARK``,
    with the moment it was made) so that only annover's own are ever removed (:func:`_drop_stale_views`)."""
    mark = {"made_by": VIEW_MARK, "at": format_time(_dt.datetime.now(_dt.timezone.utc))}
    data = {"title": VIEW_TITLE, "annover": mark, "filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime", "value": since}]}}
    v = client.raw("POST", "api/dm/views/", what="making a task filter",
                   json_body={"project": project.id, "data": data}, retries=0)
    return int(v["id"])


def _delete_view(client: Client, view: int) -> None:
    try:
        client.raw("DELETE", f"api/dm/views/{view}/", what="removing a task filter", retries=0)
    except AnnoverError:
        pass


def _stale_view(v: Any, limit: _dt.datetime) -> bool:
    """Whether ``v`` is a view a pull made and could not remove (Ctrl-C, a lost connection): annover's
    title and mark, made before ``limit``. A person's view is never one, whatever its title; a view
    another pull is still exporting with (made less than twice ``ANNOVER_LS_TIMEOUT`` ago) neither."""
    data = v.get("data") if isinstance(v, dict) else None
    mark = data.get("annover") if isinstance(data, dict) else None
    if not (isinstance(mark, dict) and data.get("title") == VIEW_TITLE and mark.get("made_by") == VIEW_MARK
            and isinstance(mark.get("at"), str) and isinstance(v.get("id"), int)):
        return False
    try:
        return parse_time(mark["at"]) < limit
    except ValueError:
        return False


def _drop_stale_views(client: Client, project: Project) -> None:
    views = client.raw("GET", "api/dm/views/", what="listing task filters", params={"project": project.id}) or []
    limit = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=2 * client.timeout)
    for v in views if isinstance(views, list) else []:
        if _stale_view(v, limit):
            _delete_view(client, int(v["id"]))


def list_task_ids(client: Client, project: Project, page_size: int = 5000) -> set[int]:
    out: set[int] = set()
    page = 1
    while True:
        d = client.raw("GET", "api/tasks", what=f"listing the task ids of project {project.id}",
                       params={"project": project.id, "fields": "task_only", "include": "id",
                               "resolve_uri": "false", "page": page, "page_size": page_size})
        tasks = d.get("tasks", []) if isinstance(d, dict) else []
        out.update(int(t["id"]) for t in tasks)
        if not tasks or len(out) >= int(d.get("total", 0)):
            return out
        page += 1


# ---------------------------------------------------------------------------
# what a pull returns, and what it builds on


@dataclass
class Pull:
    """A project's tables as a version would hold them, with where they came from."""

    tables: Tables
    project: Project
    config_text: str
    origin: dict
    mode: PullMode
    fetched: int  # tasks exported
    deleted: int = 0  # tasks gone since the previous version (incremental)
    warnings: list[str] = field(default_factory=list)
    #: Label Studio user id -> e-mail, as the export named its annotators
    users: dict[int, str] = field(default_factory=dict)

    @property
    def nothing_new(self) -> bool:
        """An incremental pull that found no task changed or deleted since the previous version."""
        return self.mode is PullMode.INCREMENTAL and self.fetched == 0 and self.deleted == 0

    def to_json(self) -> dict:
        return {"dataset": self.project.title, "project_id": self.project.id, "mode": self.mode.value,
                "fetched": self.fetched, "deleted": self.deleted, "nothing_new": self.nothing_new,
                "tasks": self.tables.tasks.num_rows, "origin": self.origin, "warnings": self.warnings}


@dataclass(frozen=True)
class Previous:
    """The version a pull may build on (HEAD): its origin, and its config and tables on demand.
    ``base``: (server URL, project id) of the pull HEAD's ``--update`` versions were made on top of
    (HEAD's own when it is a plain pull): the dataset's main project, whose plain pull keeps what the
    updates added (a round's answers)."""

    origin: Mapping[str, Any]
    read_config: Callable[[], str | None]
    read_table: Callable[[str], "pa.Table"]
    base: tuple[Any, Any] | None = None

    @classmethod
    def of(cls, repo: Any, rev: str = "HEAD") -> "Previous | None":
        """From anything with ``head()``, ``version(id).record``, ``config_text(id)`` and
        ``read_table(id, name)`` (an annover repository); None when it has no version yet."""
        head = repo.head() if rev == "HEAD" else repo.resolve(rev)
        if not head:
            return None
        origin = repo.version(head).record.get("origin") or {}
        return cls(origin, lambda: repo.config_text(head), lambda name: repo.read_table(head, name),
                   _base_pull(repo, head))

    def pulled_from(self, client: Client, project_id: int) -> bool:
        o = self.origin
        return o.get("kind") == ORIGIN_KIND and o.get("url") == client.url and o.get("project_id") == project_id

    def based_on(self, client: Client, project_id: int) -> bool:
        """Whether HEAD is ``project_id``'s pull with what ``--update`` added since (a round's answers)."""
        return self.base == (client.url, project_id)

    @property
    def sync(self) -> Mapping[str, Any]:
        return self.origin.get("sync") or {}


def _base_pull(repo: Any, head: str) -> tuple[Any, Any] | None:
    """(server URL, project id) of the first version back from ``head`` (by first parents) that is not an
    ``--update``, when it is a pull; None when it is something else (a file) or there is none."""
    v: str | None = head
    while v:
        rec = repo.version(v).record
        o = rec.get("origin") or {}
        if not o.get("update"):
            return (o.get("url"), o.get("project_id")) if o.get("kind") == ORIGIN_KIND else None
        v = (rec.get("parents") or [None])[0]
    return None


def default_key(client: Client, dataset: str | int, previous: Previous | None) -> str | None:
    """The task key the previous version was pulled from ``dataset`` with, if it was."""
    if previous is None:
        return None
    o = previous.origin
    if o.get("kind") == ORIGIN_KIND and o.get("url") == client.url and str(dataset) in (
            str(o.get("project_id")), str(o.get("project"))):
        return previous.sync.get("key")
    return None


def _since(tasks: "pa.Table | list[dict]", export_created: _dt.datetime) -> str:
    """Where the next pull starts: the newest task change seen, but never after the export began
    (a task changed while the export ran may have been read before the change)."""
    if isinstance(tasks, list):
        stamps = [t.get("updated_at") for t in tasks]
    else:
        stamps = tasks.column("updated_at").to_pylist()
    seen = [parse_time(s) for s in stamps if s]
    newest = max(seen) if seen else export_created
    return format_time(min(newest, export_created))


def _origin(client: Client, project: Project, mode: PullMode, since: str, key: str | None, validate: bool | str,
            fetched: int, deleted: int) -> dict:
    return {
        "kind": ORIGIN_KIND, "url": client.url, "project_id": project.id, "project": project.title,
        "sync": {"mode": mode.value, "since": since, "key": key, "validated": _checked(validate),
                 "fetched_tasks": fetched, "deleted_tasks": deleted},
    }


def _checked(validate: bool | str) -> bool:
    """Whether every row was checked against the config: ``warn`` keeps the rows ``check`` refuses."""
    return strictness(validate) in ("check", "strict")


def _config(text: str, project: Project) -> LabelingConfig:
    """The config the pull checks labels with: the project's, or one given in its place (--config);
    the project's with the newline a file ends with (HEAD's text, see _recorded_config) is the project's."""
    given = text.strip() != project.label_config.strip()
    return LabelingConfig(text, source="the labeling config given in place of the project's" if given
                          else f"the labeling config of {project.title!r}")


# ---------------------------------------------------------------------------
# full and incremental pulls


def full_pull(client: Client, project: Project, config_text: str, *, key: str | None, validate: bool | str,
              progress: Progress = _noop, pushed: Mapping[str, Any] | None = None) -> Pull:
    """Every task of the project, from one export snapshot (read through the record of what pushes
    changed, ``pushed``: :func:`annover.labelstudio.roundtrip.restore`)."""
    cfg = _config(config_text, project)
    exp = export_tasks(client, project, progress=progress)
    roundtrip.restore(exp.tasks, pushed)
    progress(f"reading {len(exp.tasks)} tasks")
    try:
        tables = from_ls_tasks(exp.tasks, source_name(project), config=cfg, key=key, validate=validate)
    except DuplicateKey as e:
        raise _doubled(project, key, _keys_of(exp.tasks, key)) or e from None
    origin = _origin(client, project, PullMode.FULL, _since(exp.tasks, exp.created_at), key, validate,
                     len(exp.tasks), 0)
    return Pull(tables, project, config_text, origin, PullMode.FULL, len(exp.tasks), users=users_in(exp.tasks))


def _keys_of(tasks: list[dict], key: str | None) -> Iterator[tuple[str, Any]]:
    """(task key, Label Studio id) of the exported ``tasks`` that have a key."""
    for t in tasks:
        try:
            yield task_key_of(t, key, ""), t.get("id")
        except RecordError:
            continue


def _doubled(project: Project, key: str | None, pairs: Iterable[tuple[str, Any]]) -> DuplicateKey | None:
    """Tasks of ``project`` that share a task key (a task imported twice, by a colleague or two pushes at
    once): the error naming their Label Studio ids and what to delete; None when no two share one."""
    ids: dict[str, list[int]] = {}
    for k, tid in pairs:
        ids.setdefault(k, []).append(tid)
    k, same = next(((k, sorted(v)) for k, v in ids.items() if len(v) > 1), (None, []))
    if k is None:
        return None
    by = f"--key {key}" if key else "keyed by the hash of their data: the same data"
    named = f"{', '.join(map(str, same[:-1]))} and {same[-1]}"
    return DuplicateKey(f"{source_name(project)}: tasks {named} have the same task key {k!r} ({by})",
                        f"delete the copy in Label Studio (task {same[-1]} was made last) and pull again, "
                        "or pull with --key data.FIELD that tells them apart")


def _answers(t: "pa.Table", key: str) -> tuple[int, int]:
    """(answers that are not skips, skips) of an annotations / predictions table."""
    if t.num_rows == 0:
        return 0, 0
    cols = ["task_key", key] + (["was_cancelled"] if "was_cancelled" in t.column_names else [])
    g = t.select(cols).group_by(["task_key", key], use_threads=False).aggregate(
        [("was_cancelled", "min")] if "was_cancelled" in cols else [])
    if "was_cancelled_min" not in g.column_names:
        return g.num_rows, 0
    skipped = int(pc.sum(g.column("was_cancelled_min").cast("int64")).as_py() or 0)
    return g.num_rows - skipped, skipped


def _check_totals(merged: dict[str, "pa.Table"], project: Project) -> None:
    """The project's totals must add up: a change that did not touch its task's updated_at shows here."""
    done, skipped = _answers(merged["annotations"], "annotation_key")
    preds, _ = _answers(merged["predictions"], "prediction_key")
    have = {"tasks": merged["tasks"].num_rows, "annotations": done, "skipped": skipped, "predictions": preds}
    want = {"tasks": project.tasks, "annotations": project.annotations, "skipped": project.skipped,
            "predictions": project.predictions}
    for k in have:
        if have[k] != want[k]:
            raise _NoIncremental(f"the project's {k} ({want[k]}) do not add up to the {have[k]} of HEAD and the "
                                 f"tasks changed since{_UNMARKED.get(k, '')}; the whole project was read, so "
                                 "nothing is missed")


def _check_models(client: Client, project: Project, merged: dict[str, "pa.Table"]) -> None:
    """Predictions per model version must add up too: Data Manager's "Delete predictions" and the bulk
    ``import_predictions`` leave the tasks' updated_at alone, so replacing one model's predictions by
    another's keeps the project's total and changes no task the pull fetches."""
    d = client.raw("GET", f"api/projects/{project.id}/model-versions/", what="counting the project's predictions",
                   params={"extended": "true"})
    static = d.get("static") if isinstance(d, dict) else None
    if not isinstance(static, list):
        return  # a server without the per-model counts: the totals only
    want = {str(m.get("model_version") or ""): int(m.get("count") or 0) for m in static if isinstance(m, dict)}
    t = merged["predictions"]
    have: dict[str, int] = {}
    if t.num_rows:
        g = t.select(["task_key", "prediction_key", "model_version"]).group_by(
            ["task_key", "prediction_key", "model_version"], use_threads=False).aggregate([])
        for mv in g.column("model_version").to_pylist():
            have[mv or ""] = have.get(mv or "", 0) + 1
    if {k: v for k, v in want.items() if v} != have:
        raise _NoIncremental("the project's predictions per model version do not add up to HEAD's and the tasks "
                             "changed since (Data Manager's \"Delete predictions\" and predictions imported in bulk "
                             "do not mark the tasks changed); the whole project was read, so nothing is missed")


#: Why a total can differ after an incremental pull, where Label Studio 1.23 is known to change
#: a project without touching the changed tasks' ``updated_at``
_UNMARKED = {"predictions": " (predictions added to tasks already there, as `dataset push --predictions` adds "
                            "them, do not mark the tasks changed)"}


def _export_changed(client: Client, project: Project, since: str, progress: Progress) -> Export:
    _drop_stale_views(client, project)
    view = _changed_view(client, project, since)
    try:
        return export_tasks(client, project, view=view, progress=progress)
    finally:
        _delete_view(client, view)


def incremental_pull(client: Client, project: Project, config_text: str, base: dict[str, "pa.Table"], since: str,
                     *, key: str | None, validate: bool | str, progress: Progress = _noop,
                     pushed: Mapping[str, Any] | None = None) -> Pull:
    """``base`` (the previous tables) with the tasks changed since ``since`` replaced.

    Raises ``_NoIncremental`` when the result would not equal a full pull's.
    """
    cfg = _config(config_text, project)
    exp = _export_changed(client, project, since, progress)
    roundtrip.restore(exp.tasks, pushed)
    source = source_name(project)
    # what the checks say (kept labels, a task's place) is of these tasks, not of the project's
    read = f"{source}, the {len(exp.tasks)} task(s) changed since the last pull"
    changed = from_ls_tasks(exp.tasks, read, config=cfg, key=key, validate=validate)
    changed_ids = {int(t["id"]) for t in exp.tasks}
    base_ids = {i for i in base["tasks"].column("ls_task_id").to_pylist() if i is not None}
    deleted: set[int] = set()
    if project.tasks != len(base_ids | changed_ids):
        progress("looking for deleted tasks")
        deleted = base_ids - changed_ids - list_task_ids(client, project)
    drop = pa.array(sorted(changed_ids | deleted), pa.int64())
    merged = {}
    for name in TABLES:
        old = base[name]
        keep = old.filter(pc.invert(pc.fill_null(pc.is_in(old.column("ls_task_id"), value_set=drop), False)))
        rows = pa.concat_tables([keep, getattr(changed, name)])
        try:
            merged[name] = finish(rows, name, source)
        except DuplicateKey as e:
            pairs = zip(rows.column("task_key").to_pylist(), rows.column("ls_task_id").to_pylist())
            raise (_doubled(project, key, pairs) if name == "tasks" else None) or e from None
    _check_totals(merged, project)
    _check_models(client, project, merged)
    tables = Tables(merged["tasks"], merged["annotations"], merged["predictions"], "label-studio", changed.warnings)
    origin = _origin(client, project, PullMode.INCREMENTAL, _since(merged["tasks"], exp.created_at), key, validate,
                     len(exp.tasks), len(deleted))
    return Pull(tables, project, config_text, origin, PullMode.INCREMENTAL, len(exp.tasks), len(deleted),
                users=users_in(exp.tasks))


def _base(previous: Previous | None, client: Client, project: Project, key: str | None, validate: bool | str,
          config_text: str) -> tuple[dict[str, "pa.Table"], str]:
    """The previous version's tables and pull moment, when they can be the base of an incremental pull."""
    if previous is None:
        raise _NoIncremental("no previous version", quiet=True)
    if not previous.pulled_from(client, project.id):
        raise _NoIncremental("HEAD was not pulled from this project", quiet=True)
    if previous.origin.get("update"):  # HEAD's rows beside the project's would make the totals differ
        raise _NoIncremental("HEAD holds what --update added beside the project", quiet=True)  # said in pull()
    sync = previous.sync
    if not sync.get("since"):
        raise _NoIncremental("HEAD does not say when it was pulled")
    if sync.get("key") != key:
        raise _NoIncremental("the task key differs from HEAD's")
    if _checked(validate) and not sync.get("validated"):
        raise _NoIncremental("HEAD was pulled without validation")
    try:
        if (previous.read_config() or "") != config_text:
            raise _NoIncremental("the labeling config changed")
        tables = {name: previous.read_table(name) for name in TABLES}
    except AnnoverError as e:
        raise _NoIncremental(f"HEAD's tables cannot be read ({e.message})") from None
    # only what the server gave: no predictions attached from a file, no source-data hashes, no rows a round's
    # --update added, which HEAD kept beside the project's (their tasks are other projects')
    preds = tables["predictions"]
    tables["predictions"] = preds.filter(pc.is_valid(preds.column("ls_prediction_id")))
    if previous.origin.get("kept"):
        tables = own_rows(tables, project.id)
    t = tables["tasks"]
    i = t.schema.get_field_index("data_hash")
    tables["tasks"] = t.set_column(i, t.schema.field(i), pa.nulls(t.num_rows, pa.string()))
    return tables, str(sync["since"])


def own_rows(tables: dict[str, "pa.Table"], project_id: int) -> dict[str, "pa.Table"]:
    """The rows of ``tables`` that are project ``project_id``'s: its tasks, and the answers and
    predictions on them (by Label Studio task id, which is the server's, not the project's)."""
    t = tables["tasks"]
    t = t.filter(pc.fill_null(pc.equal(t.column("ls_project_id"), project_id), False))
    ids = pc.drop_null(t.column("ls_task_id")).combine_chunks()
    return {"tasks": t, **{name: tables[name].filter(pc.fill_null(pc.is_in(tables[name].column("ls_task_id"),
                                                                           value_set=ids), False))
                           for name in ("annotations", "predictions")}}


def _try_incremental(client: Client, project: Project, text: str, previous: Previous | None, *, key: str | None,
                     validate: bool | str, progress: Progress, pushed: Mapping[str, Any] | None) -> Pull:
    base, since = _base(previous, client, project, key, validate, text)
    progress("fetching the tasks changed since the last pull")
    try:
        return incremental_pull(client, project, text, base, since, key=key, validate=validate, progress=progress,
                                pushed=pushed)
    except (LabelStudioConnectionError, LabelStudioServerError):
        raise  # down, silent or failing: a full export would meet the same server, and ask it for more
    except LabelStudioError as e:  # a refusal, e.g. a key that may not make data-manager views
        raise _NoIncremental(f"the server refused the filtered export ({e.message})") from None


def _recorded_config(project: Project, given: str | None, previous: Previous | None) -> str:
    """The labeling config the version records: ``given`` (--config), else the project's.

    Label Studio stores a config without the whitespace around it (``str.strip``), so the file a
    project was made with (ending in a newline) is not the text the server gives back; where the
    two differ only there, HEAD's text is kept when it is the same config, so that a pull of an
    unchanged project does not record a config change, nor read the whole project again."""
    text = given if given is not None else project.label_config
    if text.strip() != project.label_config.strip() or previous is None:
        return text
    try:
        head = previous.read_config()
    except AnnoverError:
        return text
    return head if head is not None and head.strip() == text.strip() else text


def _without_kept(origin: Mapping[str, Any]) -> str:
    """What a pull of another project in place of HEAD leaves out of what HEAD kept of a round's."""
    kept = origin.get("kept")
    if not isinstance(kept, dict) or origin.get("update"):
        return ""
    return (f", without the {kept.get('annotations', 0)} answer(s) HEAD kept from other projects (a round's): "
            "pull with --update to add the project to HEAD instead")


def pull(client: Client, dataset: str | int, *, previous: Previous | None = None, key: str | None = None,
         config_text: str | None = None, config_source: str | None = None, validate: bool | str = True,
         full: bool = False, update: bool = False, progress: Progress = _noop,
         pushed: Mapping[str, Any] | None = None) -> Pull:
    """The project's tables: incremental from ``previous`` where possible, else a full export.

    ``config_text`` (read from ``config_source``) replaces the project's labeling config in
    the result; a warning says so when they differ. ``update``: the tables go on top of
    ``previous`` (``snapshot --update``), so the project is read whole and ``previous`` only
    gives the config's text. ``pushed``: the dataset's record, when it names this project: what pushes
    changed of the tasks they sent is read back as it was (:mod:`annover.labelstudio.roundtrip`).
    """
    project = client.project(dataset)
    pushed = pushed if pushed is not None and pushed.get("project_id") == project.id else None
    warnings: list[str] = []
    text = _recorded_config(project, config_text, previous)
    if text.strip() != project.label_config.strip():
        warnings.append(f"{config_source or 'the labeling config given'} differs from the labeling config of "
                        f"{project.title!r}; the version records the file's")
    o = previous.origin if previous is not None and not update else {}
    if o and previous.based_on(client, project.id):  # type: ignore[union-attr]
        o = {}  # the main project after a round's --update: the repository keeps what HEAD added (kept_rows)
    if o.get("kind") == ORIGIN_KIND and not previous.pulled_from(client, project.id):  # type: ignore[union-attr]
        where = "" if o.get("url") == client.url else f" on {o.get('url')}"
        warnings.append(f"HEAD was pulled from {o.get('project')!r} (project {o.get('project_id')}{where}); this "
                        f"version holds {project.title!r} (project {project.id}) in its place"
                        + (f", and what HEAD added from {o.get('project')!r} with --update is not in it: pull with "
                           "--update to add the project to HEAD instead" if o.get("update") else "")
                        + _without_kept(o))
    elif o.get("kind") == ORIGIN_KIND and o.get("update"):  # a round's answers, a file's predictions: gone unsaid
        warnings.append(f"HEAD was made with --update (what {project.title!r} holds and what was added to it: a "
                        "round's answers, predictions from a file); this version holds the project alone, read whole "
                        "as HEAD is more than the project: pull with --update to add the project to HEAD instead")
    got: Pull | None = None
    if not (full or update):
        try:
            got = _try_incremental(client, project, text, previous, key=key, validate=validate, progress=progress,
                                   pushed=pushed)
        except _NoIncremental as why:
            if not why.quiet:
                warnings.append(f"full pull: {why.reason}")
                project = client.project_by_id(project.id)
    if got is None:
        got = full_pull(client, project, text, key=key, validate=validate, progress=progress, pushed=pushed)
    got.warnings = warnings + got.warnings
    return got
