"""Datasets (Label Studio projects): list, create, stats, delete, and their record in the repo.

A dataset created from annover is recorded in the repository as
``.annover/datasets/<name>.json`` (project id, server URL, config hash) and
``.annover/datasets/<name>.xml`` (the labeling config), committed to git, so the config a
dataset was created with is versioned with the labels. The API key is never recorded.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from annover.errors import ConfigError, UsageError
from annover.labelstudio.client import Client, Project

if TYPE_CHECKING:  # pragma: no cover
    from annover.repo import Repo

#: Tasks with at least one annotation that is not a skip / with at least one skip.
LABELED_FILTER = {"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0}
SKIPPED_FILTER = {"filter": "filter:tasks:cancelled_annotations", "operator": "greater", "type": "Number", "value": 0}


def task_query(*items: dict, conjunction: str = "and") -> str:
    """A data-manager ``query`` parameter selecting tasks by ``items`` (filters)."""
    return json.dumps({"filters": {"conjunction": conjunction, "items": list(items)}})


def count_tasks(client: Client, project: Project, *filters: dict, conjunction: str = "and") -> int:
    """How many tasks of ``project`` match the data-manager ``filters`` (one small request)."""
    d = client.raw("GET", "api/tasks", what=f"counting tasks of project {project.id}",
                   params={"project": project.id, "page_size": 1, "fields": "task_only", "include": "id",
                           "resolve_uri": "false", "query": task_query(*filters, conjunction=conjunction)})
    return int(d.get("total", 0)) if isinstance(d, dict) else 0


def summary(client: Client, project: Project) -> dict:
    """Counts of one project; ``labeled`` = tasks with at least one annotation that is not a skip."""
    labeled = count_tasks(client, project, LABELED_FILTER) if project.tasks else 0
    return {
        "id": project.id, "title": project.title, "tasks": project.tasks, "labeled": labeled,
        "unlabeled": project.tasks - labeled, "annotations": project.annotations, "skipped": project.skipped,
        "predictions": project.predictions, "url": client.project_url(project),
    }


def list_datasets(client: Client) -> list[dict]:
    """Every project the key can see, with total / labeled / unlabeled counts, by id."""
    return [summary(client, p) for p in sorted(client.projects(), key=lambda p: p.id)]


def _same_config(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def create_dataset(client: Client, name: str, config_text: str, *, description: str | None = None,
                   update_config: bool = False, source: str = "labeling config") -> dict:
    """Get or create the project titled ``name`` with ``config_text`` (validated first).

    An existing project keeps its config unless it is the same; a different one is an error,
    or, with ``update_config``, replaces it (Label Studio refuses changes that would orphan
    existing labels).
    """
    from annover.model.config import LabelingConfig

    LabelingConfig(config_text, source=source)
    title = name.strip()
    if not title:
        raise UsageError("empty dataset name", "give the project a title")
    if title.isdigit():
        raise UsageError(f"dataset name {title!r} is all digits", "digits name projects by id; choose a title")
    existing = client.projects(title=title)
    if len(existing) > 1:
        raise UsageError(f"{len(existing)} Label Studio projects are already titled {title!r}",
                         "give a title no other project has")
    if existing:
        project = client.project_by_id(existing[0].id)
        if _same_config(project.label_config, config_text):
            return {"project": project, "created": False, "updated": False}
        if not update_config:
            raise ConfigError(f"dataset {title!r} exists (project {project.id}) with a different labeling config",
                              "pass --update-config to replace it, or choose another name")
        client.raw("PATCH", f"api/projects/{project.id}/", what=f"updating the labeling config of {title!r}",
                   json_body={"label_config": config_text})
        return {"project": client.project_by_id(project.id), "created": False, "updated": True}
    body: dict[str, Any] = {"title": title, "label_config": config_text}
    if description:
        body["description"] = description
    d = client.raw("POST", "api/projects/", what=f"creating project {title!r}", json_body=body, retries=0)
    return {"project": client.project_by_id(int(d["id"])), "created": True, "updated": False}


def delete_dataset(client: Client, name: str | int) -> Project:
    """Delete the project (its tasks, annotations and predictions) from Label Studio."""
    project = client.project(name)
    client.raw("DELETE", f"api/projects/{project.id}/", what=f"deleting project {project.title!r}", retries=0)
    return project


def fetch_labeled_tasks(client: Client, project: Project, page_size: int = 1000) -> list[dict]:
    """Tasks with an annotation or a skip, as export-shaped dicts (annotators as emails)."""
    users = client.users()
    out: list[dict] = []
    page = 1
    query = task_query(LABELED_FILTER, SKIPPED_FILTER, conjunction="or")
    while True:
        d = client.raw("GET", "api/tasks", what=f"listing labeled tasks of project {project.id}",
                       params={"project": project.id, "fields": "all", "resolve_uri": "false",
                               "page": page, "page_size": page_size, "query": query})
        tasks = d.get("tasks", []) if isinstance(d, dict) else []
        for t in tasks:
            for a in t.get("annotations") or []:
                cb = a.get("completed_by")
                if isinstance(cb, int) and not isinstance(cb, bool):
                    a["completed_by"] = {"id": cb, "email": users.get(cb, str(cb))}
        out += tasks
        if not tasks or len(out) >= int(d.get("total", 0)):
            break
        page += 1
    return out


def dataset_stats(client: Client, name: str | int) -> dict:
    """total, labeled, unlabeled, skipped; regions per label; answers per annotator.

    Computed like ``annover show`` computes a version's stats, from the labeled tasks only
    (one filtered listing, so it stays fast on large projects).
    """
    from annover.model import stats as S
    from annover.formats.ingest import from_ls_tasks

    project = client.project(name)
    tasks = fetch_labeled_tasks(client, project)
    # stats need no task data: key each task by its id so equal data cannot collide
    slim = [{"data": {"id": t["id"]}, "annotations": t.get("annotations") or []} for t in tasks]
    tables = from_ls_tasks(slim, f"project {project.id}", key="data.id", validate=False)
    s = S.compute(tables.tasks, tables.annotations, {})
    return {
        "id": project.id, "title": project.title, "url": client.project_url(project),
        "tasks": project.tasks, "labeled": s["labeled"], "unlabeled": project.tasks - s["labeled"],
        "skipped": s["skipped"], "annotations": s["annotations"], "regions": s["regions"],
        "predictions": project.predictions, "labels": s["labels"], "annotators": s["annotators"],
    }


# ---------------------------------------------------------------------------
# record in the repository


def slug(title: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", title.strip()).strip("-.").lower()
    return s or "dataset"


def record(repo: "Repo", client: Client, project: Project) -> str:
    """Commit the dataset's record and labeling config to the repo; returns the record path."""
    base = repo.dir / "datasets" / slug(project.title)
    meta = {
        "title": project.title, "project_id": project.id, "url": client.url,
        "config_sha256": hashlib.sha256(project.label_config.encode("utf-8")).hexdigest(),
    }
    files = {
        repo.rel(base.with_suffix(".json")): (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode(),
        repo.rel(base.with_suffix(".xml")): project.label_config.encode("utf-8"),
    }
    with repo.lock():
        repo.recover()
        head = repo.head_commit()
        same = head is not None and all(
            repo.git("cat-file", "-p", f"{head}:{p}", check=False) == data.decode("utf-8") for p, data in files.items())
        if not same:
            repo.commit(dict(files), f"annover: dataset {project.title} (Label Studio project {project.id})", head)
    return repo.rel(base.with_suffix(".json"))


def forget(repo: "Repo", project: Project) -> str | None:
    """Remove the dataset's record from the repo (a commit), if it has one for this project."""
    base = repo.dir / "datasets" / slug(project.title)
    j = base.with_suffix(".json")
    if not j.is_file():
        return None
    try:
        if json.loads(j.read_text()).get("project_id") != project.id:
            return None
    except ValueError:
        return None
    files: dict[str, Any] = {repo.rel(j): None, repo.rel(base.with_suffix(".xml")): None}
    with repo.lock():
        repo.recover()
        repo.commit(files, f"annover: forget dataset {project.title} (deleted from Label Studio)", repo.head_commit())
    return repo.rel(j)
