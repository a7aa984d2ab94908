"""Pull a Label Studio project into a version: ``annover snapshot --label-studio NAME``.

A full pull asks the server for an export snapshot with full predictions and annotators
expanded to emails, and reads it exactly as a file import of that export would
(:func:`annover.formats.ingest.from_ls_tasks`), so the canonical rows and snapshot ids are
the same as those of ``annover snapshot --from <that export>``.

An incremental pull starts from HEAD when HEAD was pulled from the same project with the
same task key and labeling config. It exports only the tasks whose ``updated_at`` is after
the moment recorded in HEAD's origin (a data-manager filter; the same export serializer),
drops tasks deleted since (task id sets), and replaces those tasks' rows in HEAD's tables.
Project totals (tasks, annotations, skips, predictions) are checked afterwards: where they
disagree (a change that did not touch its task, such as bulk-imported predictions), it falls
back to a full pull, so both ways give the same version content.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from annover.errors import AnnoverError, LabelStudioConnectionError, LabelStudioError
from annover.labelstudio.client import Client, Project, connect

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from annover.formats.ingest import Tables
    from annover.porcelain import SnapshotResult
    from annover.repo import Repo

Progress = Callable[[str], None]

#: Full predictions (not ids) and annotators as {id, email, ...}: what annover needs.
EXPORT_OPTIONS = {"predictions": {"only_id": False}, "annotations__completed_by": {"only_id": False}}
#: The only datetime format Label Studio's data-manager filters accept.
LS_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
VIEW_TITLE = "annover: tasks changed since the last pull"
EXPORT_TITLE = "annover pull"
NO_HEAD = "no previous version"
OTHER_ORIGIN = "HEAD was not pulled from this project"


def _noop(_: str) -> None:
    pass


def parse_time(s: str) -> _dt.datetime:
    t = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


def format_time(t: _dt.datetime) -> str:
    return t.astimezone(_dt.timezone.utc).strftime(LS_TIME_FORMAT)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


# ---------------------------------------------------------------------------
# export


@dataclass
class Export:
    tasks: list[dict]
    created_at: _dt.datetime  # server time at which the export began
    raw: bytes  # the export as the server wrote it


def export_tasks(client: Client, project: Project, *, view: int | None = None,
                 progress: Progress = _noop, poll: float = 0.5) -> Export:
    """An export snapshot of the project (or of the tasks a data-manager view selects)."""
    what = f"exporting project {project.id}"
    body: dict[str, Any] = {"title": EXPORT_TITLE, "serialization_options": EXPORT_OPTIONS}
    if view is not None:
        body["task_filter_options"] = {"view": view}
    progress(f"Label Studio is exporting {'changed tasks' if view else f'{project.tasks} tasks'}")
    snap = client.raw("POST", f"api/projects/{project.id}/exports/", what=what, json_body=body, retries=0)
    eid = int(snap["id"])
    try:
        deadline = time.monotonic() + client.timeout
        while snap.get("status") not in ("completed", "failed"):
            if time.monotonic() > deadline:
                raise LabelStudioError(f"the export of project {project.id} did not finish in {client.timeout:.0f} s",
                                       "raise ANNOVER_LS_TIMEOUT, or check the server's workers")
            time.sleep(poll)
            snap = client.raw("GET", f"api/projects/{project.id}/exports/{eid}", what=what)
        if snap["status"] == "failed":
            raise LabelStudioError(f"Label Studio failed to export project {project.id}",
                                   "see the Label Studio server log")
        chunks: list[bytes] = []
        got = 0

        def download() -> None:
            nonlocal got
            for chunk in client.sdk.projects.exports.download(
                    project.id, eid, export_type="JSON",
                    request_options={"timeout_in_seconds": client.timeout, "chunk_size": 1 << 20}):
                chunks.append(chunk)
                got += len(chunk)
                progress(f"downloading the export: {_mb(got)}")

        client.call(f"downloading the export of project {project.id}", download)
    finally:
        try:
            client.raw("DELETE", f"api/projects/{project.id}/exports/{eid}", what="removing the export", retries=0)
        except AnnoverError:
            pass  # a leftover export file on the server is harmless
    progress(f"reading the export ({_mb(got)})")
    raw = b"".join(chunks)
    try:
        tasks = json.loads(raw)
    except ValueError as e:
        raise LabelStudioError(f"the export of project {project.id} is not valid JSON: {e}",
                               "retry; see the Label Studio server log") from None
    if not isinstance(tasks, list):
        raise LabelStudioError(f"the export of project {project.id} is not a list of tasks", "retry")
    return Export(tasks, parse_time(str(snap["created_at"])), raw)


def _changed_view(client: Client, project: Project, since: str) -> int:
    data = {"title": VIEW_TITLE, "filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime", "value": since}]}}
    v = client.raw("POST", "api/dm/views/", what="making a task filter", json_body={"project": project.id, "data": data},
                   retries=0)
    return int(v["id"])


def _drop_stale_views(client: Client, project: Project) -> None:
    views = client.raw("GET", "api/dm/views/", what="listing task filters", params={"project": project.id}) or []
    for v in views:
        if (v.get("data") or {}).get("title") == VIEW_TITLE:
            try:
                client.raw("DELETE", f"api/dm/views/{v['id']}/", what="removing a task filter", retries=0)
            except AnnoverError:
                pass


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
# pull


@dataclass
class Pull:
    tables: "Tables"
    project: Project
    config_text: str
    origin: dict
    mode: str  # "full" or "incremental"
    fetched: int
    deleted: int = 0
    notes: list[str] = field(default_factory=list)


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


def _origin(client: Client, project: Project, mode: str, since: str, key: str | None, validate: bool,
            fetched: int, deleted: int) -> dict:
    return {
        "kind": "label-studio", "url": client.url, "project_id": project.id, "project": project.title,
        "sync": {"mode": mode, "since": since, "key": key, "validated": validate,
                 "fetched_tasks": fetched, "deleted_tasks": deleted},
    }


def full_pull(client: Client, project: Project, config_text: str, *, key: str | None, validate: bool,
              progress: Progress = _noop) -> Pull:
    from annover.formats.ingest import from_ls_tasks
    from annover.model.config import LabelingConfig

    cfg = LabelingConfig(config_text, source=f"the labeling config of {project.title!r}")
    exp = export_tasks(client, project, progress=progress)
    progress(f"reading {len(exp.tasks)} tasks")
    tables = from_ls_tasks(exp.tasks, source_name(client, project), config=cfg, key=key, validate=validate)
    origin = _origin(client, project, "full", _since(exp.tasks, exp.created_at), key, validate, len(exp.tasks), 0)
    return Pull(tables, project, config_text, origin, "full", len(exp.tasks))


def source_name(client: Client, project: Project) -> str:
    return f"Label Studio project {project.title!r} ({project.id})"


def _answers(t: "pa.Table", key: str) -> tuple[int, int]:
    """(answers that are not skips, skips) of an annotations / predictions table."""
    import pyarrow.compute as pc

    if t.num_rows == 0:
        return 0, 0
    cols = ["task_key", key] + (["was_cancelled"] if "was_cancelled" in t.column_names else [])
    g = t.select(cols).group_by(["task_key", key], use_threads=False).aggregate(
        [("was_cancelled", "min")] if "was_cancelled" in cols else [])
    if "was_cancelled_min" not in g.column_names:
        return g.num_rows, 0
    skipped = int(pc.sum(g.column("was_cancelled_min").cast("int64")).as_py() or 0)
    return g.num_rows - skipped, skipped


def incremental_pull(client: Client, project: Project, config_text: str, base: dict, since: str, *,
                     key: str | None, validate: bool, progress: Progress = _noop) -> Pull | str:
    """HEAD's tables with the tasks changed since ``since`` replaced; or why it cannot be done."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from annover.formats.ingest import Tables, finish, from_ls_tasks
    from annover.model.config import LabelingConfig

    cfg = LabelingConfig(config_text, source=f"the labeling config of {project.title!r}")
    _drop_stale_views(client, project)
    view = _changed_view(client, project, since)
    try:
        exp = export_tasks(client, project, view=view, progress=progress)
    finally:
        try:
            client.raw("DELETE", f"api/dm/views/{view}/", what="removing a task filter", retries=0)
        except AnnoverError:
            pass
    changed = from_ls_tasks(exp.tasks, source_name(client, project), config=cfg, key=key, validate=validate)
    changed_ids = {int(t["id"]) for t in exp.tasks}
    base_ids = {i for i in base["tasks"].column("ls_task_id").to_pylist() if i is not None}
    deleted: set[int] = set()
    if project.tasks != len(base_ids | changed_ids):
        progress("looking for deleted tasks")
        deleted = base_ids - changed_ids - list_task_ids(client, project)
    drop = pa.array(sorted(changed_ids | deleted), pa.int64())
    merged = {}
    for name in ("tasks", "annotations", "predictions"):
        old = base[name]
        keep = old.filter(pc.invert(pc.fill_null(pc.is_in(old.column("ls_task_id"), value_set=drop), False)))
        merged[name] = finish(pa.concat_tables([keep, getattr(changed, name)]), name, source_name(client, project))
    # totals: a change that did not touch its task's updated_at shows here
    done, skipped = _answers(merged["annotations"], "annotation_key")
    preds, _ = _answers(merged["predictions"], "prediction_key")
    have = {"tasks": merged["tasks"].num_rows, "annotations": done, "skipped": skipped, "predictions": preds}
    want = {"tasks": project.tasks, "annotations": project.annotations, "skipped": project.skipped,
            "predictions": project.predictions}
    off = [k for k in have if have[k] != want[k]]
    if off:
        return (f"the project's {off[0]} ({want[off[0]]}) do not add up to {have[off[0]]} "
                "after fetching only what changed")
    tables = Tables(merged["tasks"], merged["annotations"], merged["predictions"], "label-studio", changed.warnings)
    origin = _origin(client, project, "incremental", _since(merged["tasks"], exp.created_at), key, validate,
                     len(exp.tasks), len(deleted))
    return Pull(tables, project, config_text, origin, "incremental", len(exp.tasks), len(deleted))


def _base(repo: "Repo", client: Client, project: Project, key: str | None, validate: bool,
          config_text: str) -> tuple[dict, str] | str:
    """HEAD's tables and pull moment when HEAD can be the base of an incremental pull; else why not."""
    import pyarrow as pa
    import pyarrow.compute as pc

    head = repo.head()
    if not head:
        return NO_HEAD
    v = repo.version(head)
    o = v.record.get("origin") or {}
    if o.get("kind") != "label-studio" or o.get("url") != client.url or o.get("project_id") != project.id:
        return OTHER_ORIGIN
    sync = o.get("sync") or {}
    if not sync.get("since"):
        return "HEAD does not say when it was pulled"
    if sync.get("key") != key:
        return "the task key differs from HEAD's"
    if validate and not sync.get("validated"):
        return "HEAD was pulled without validation"
    try:
        if (repo.config_text(head) or "") != config_text:
            return "the labeling config changed"
        tables = {name: repo.read_table(head, name) for name in ("tasks", "annotations", "predictions")}
    except AnnoverError as e:
        return f"HEAD's tables cannot be read ({e.message})"
    # only what the server gave: no predictions attached from a file, no source-data hashes
    preds = tables["predictions"]
    tables["predictions"] = preds.filter(pc.is_valid(preds.column("ls_prediction_id")))
    t = tables["tasks"]
    i = t.schema.get_field_index("data_hash")
    tables["tasks"] = t.set_column(i, t.schema.field(i), pa.nulls(t.num_rows, pa.string()))
    return tables, str(sync["since"])


def pull(client: Client, dataset: str | int, *, repo: "Repo | None" = None, key: str | None = None,
         config_text: str | None = None, validate: bool = True, full: bool = False,
         progress: Progress = _noop) -> Pull:
    """The project's tables: incremental from HEAD where possible, else a full export."""
    project = client.project(dataset)
    text = config_text if config_text is not None else project.label_config
    notes: list[str] = []
    if not full and repo is not None:
        base = _base(repo, client, project, key, validate, text)
        if isinstance(base, str) and base not in (NO_HEAD, OTHER_ORIGIN):
            notes.append(f"full pull: {base}")
        if isinstance(base, tuple):
            progress("fetching the tasks changed since the last pull")
            try:
                got: Pull | str = incremental_pull(client, project, text, base[0], base[1], key=key,
                                                   validate=validate, progress=progress)
            except LabelStudioConnectionError:
                raise
            except LabelStudioError as e:  # e.g. a key that may not make data-manager views
                got = f"the server refused the filtered export ({e.message})"
            if isinstance(got, Pull):
                return got
            notes.append(f"full pull: {got}")
            project = client.project_by_id(project.id)
    p = full_pull(client, project, text, key=key, validate=validate, progress=progress)
    p.notes = notes
    return p


def _default_key(repo: "Repo", client: Client, dataset: str | int) -> str | None:
    head = repo.head()
    if not head:
        return None
    o = repo.version(head).record.get("origin") or {}
    if o.get("kind") == "label-studio" and o.get("url") == client.url and str(dataset) in (
            str(o.get("project_id")), str(o.get("project"))):
        return (o.get("sync") or {}).get("key")
    return None


def snapshot_project(repo: "Repo", dataset: str | int, *, config: str | None = None, message: str = "",
                     tag: str | None = None, key: str | None = None, source_data: str | None = None,
                     predictions: str | None = None, validate: bool = True, full: bool = False,
                     progress: Progress = _noop, client: Client | None = None, url: str | None = None,
                     api_key: str | None = None) -> "SnapshotResult":
    """``annover snapshot --label-studio DATASET``: pull the project and make a version of it.

    The version's labeling config is the project's (or ``config``, a file, when given); its
    origin records the server URL, project id and title and where the next pull starts; the
    API key is recorded nowhere. ``key`` defaults to the one HEAD was pulled with.
    """
    from annover import porcelain

    client = client or connect(url, api_key)
    if key is None:
        key = _default_key(repo, client, dataset)
    config_text = None
    if config:
        from annover.model.config import LabelingConfig

        config_text = LabelingConfig.from_file(config).text
    got = pull(client, dataset, repo=repo, key=key, config_text=config_text, validate=validate, full=full,
               progress=progress)
    progress("making the version")
    result = porcelain.snapshot(repo, tables=got.tables, origin=got.origin, config_text=got.config_text,
                                message=message, tag=tag, key=key, source_data=source_data, predictions=predictions,
                                validate=validate, progress=progress)
    if config_text is not None and config_text != got.project.label_config:
        result.warnings.append(f"--config {config} differs from the labeling config of {got.project.title!r}; "
                               "the version records the file's")
    result.warnings.extend(got.notes)
    return result
