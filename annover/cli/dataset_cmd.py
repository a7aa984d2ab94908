"""``annover dataset``: Label Studio projects as datasets (list, create, stats, push tasks...)."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import click

from annover.cli import emit_json, info, json_option

_CONNECTION_HELP = """\b
Connection: LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY from the environment (--url and
--api-key override them; prefer the variable for the key, a flag shows in `ps` and in
shell history). The key is never written anywhere."""


def _connection(f: Callable) -> Callable:
    f = click.option("--api-key", metavar="KEY", help="API key (default: $LABEL_STUDIO_API_KEY).")(f)
    f = click.option("--url", metavar="URL", help="Label Studio URL (default: $LABEL_STUDIO_URL).")(f)
    return f


def _client(url: str | None, api_key: str | None) -> Any:
    from annover.labelstudio.client import connect

    return connect(url, api_key)


def _repo_or_none() -> Any:
    from annover.errors import NotARepoError
    from annover.repo import Repo

    try:
        return Repo(".")
    except NotARepoError:
        return None


@click.group(epilog=f"""\b
Examples:
  annover dataset list
  annover dataset create reviews --template text-classification --labels pos,neg
  annover dataset push reviews --from reviews.jsonl --key data.id --predictions preds.jsonl
  annover dataset annotate reviews
  annover dataset stats reviews
  annover snapshot --label-studio reviews -m "round 1"

{_CONNECTION_HELP}""")
def dataset() -> None:
    """Label Studio projects as datasets: list, create, send tasks, stats, annotate, delete.

    A DATASET is named by its project title or its project id.
    """


@dataset.command("list", epilog=f"""\b
Examples:
  annover dataset list
  annover dataset list --json

{_CONNECTION_HELP}""")
@_connection
@json_option
def list_(url: str | None, api_key: str | None, as_json: bool) -> None:
    """List the projects with their total / labeled / unlabeled task counts.

    Labeled: tasks with at least one annotation that is not a skip.
    """
    from annover.labelstudio.datasets import list_datasets

    client = _client(url, api_key)
    rows = list_datasets(client)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        info(f"no datasets on {client.url}; make one with `annover dataset create`")
        return
    w = max(5, max(len(str(r["tasks"])) for r in rows))
    click.echo(f"{'ID':>5}  {'TASKS':>{w}}  {'LABELED':>{max(w, 7)}}  {'UNLABELED':>{max(w, 9)}}  TITLE")
    for r in rows:
        click.echo(f"{r['id']:>5}  {r['tasks']:>{w}}  {r['labeled']:>{max(w, 7)}}  {r['unlabeled']:>{max(w, 9)}}  "
                   f"{r['title']}")


@dataset.command(epilog=f"""\b
Examples:
  annover dataset create reviews --config labeling.xml
  annover dataset create pets --template image-classification --labels cat,dog
  annover dataset create ner --template ner --labels PER,ORG --label "Smith, Jones & Co"
  annover dataset create reviews --config labeling-v2.xml --update-config

\b
Get or create: an existing project with the same config is reused (exit 0). The config
is validated first; inside an annover repository it is also recorded there
(.annover/datasets/NAME.json + .xml, one commit).

{_CONNECTION_HELP}""")
@click.argument("name")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Labeling config (Label Studio XML).")
@click.option("--template", help="Make the config from a template (see `annover config list`).")
@click.option("--labels", "labels_csv", multiple=True, metavar="A,B,C", help="With --template: labels, comma-separated.")
@click.option("--label", "labels_one", multiple=True, metavar="LABEL", help="With --template: one label; repeatable.")
@click.option("--data-field", metavar="NAME", help="With --template: the task data key the config reads.")
@click.option("--description", help="Project description shown in Label Studio.")
@click.option("--update-config", is_flag=True, help="Replace the config of an existing project.")
@_connection
@json_option
def create(name: str, config_file: str | None, template: str | None, labels_csv: tuple[str, ...],
           labels_one: tuple[str, ...], data_field: str | None, description: str | None, update_config: bool,
           url: str | None, api_key: str | None, as_json: bool) -> None:
    """Create the dataset NAME (a Label Studio project), or get it if it exists."""
    from annover.errors import UsageError
    from annover.model.config import LabelingConfig
    from annover.labelstudio import datasets

    if bool(config_file) == bool(template):
        raise UsageError("give exactly one of --config FILE and --template NAME",
                         "e.g. --template text-classification --labels pos,neg")
    if config_file:
        if labels_csv or labels_one or data_field:
            raise UsageError("--labels, --label and --data-field go with --template", "drop them, or use --template")
        cfg = LabelingConfig.from_file(config_file)
        text, source = cfg.text, config_file
    else:
        from annover.model.templates import render

        labels = [part for c in labels_csv for part in c.split(",")] + list(labels_one)
        text, source = render(template, labels, data_field), f"template {template}"
    client = _client(url, api_key)
    out = datasets.create_dataset(client, name, text, description=description, update_config=update_config,
                                  source=source)
    project = out["project"]
    repo = _repo_or_none()
    recorded = datasets.record(repo, client, project) if repo is not None else None
    data = {"id": project.id, "title": project.title, "url": client.project_url(project), "created": out["created"],
            "updated": out["updated"], "recorded": recorded}
    if as_json:
        emit_json(data)
        return
    what = "created" if out["created"] else "updated the config of" if out["updated"] else "found existing"
    info(f"{what} dataset {project.title!r} (project {project.id}): {data['url']}")
    if recorded:
        info(f"recorded in {recorded}")
    click.echo(project.id)


@dataset.command(epilog=f"""\b
Examples:
  annover dataset stats reviews
  annover dataset stats 12 --json

{_CONNECTION_HELP}""")
@click.argument("name", metavar="DATASET")
@_connection
@json_option
def stats(name: str, url: str | None, api_key: str | None, as_json: bool) -> None:
    """Counts of DATASET: tasks, labeled, unlabeled, skipped; per label; per annotator."""
    from annover.labelstudio.datasets import dataset_stats

    s = dataset_stats(_client(url, api_key), name)
    if as_json:
        emit_json(s)
        return
    click.echo(f"dataset {s['title']} (project {s['id']})  {s['url']}")
    click.echo(f"Tasks:       {s['tasks']} ({s['labeled']} labeled, {s['unlabeled']} unlabeled)")
    click.echo(f"Annotations: {s['annotations']} ({s['skipped']} skipped), {s['regions']} regions")
    click.echo(f"Predictions: {s['predictions']}")
    if s["annotators"]:
        click.echo("Annotators:  " + ", ".join(f"{k} {n}" for k, n in s["annotators"].items()))
    for ctl, counts in s["labels"].items():
        click.echo(f"Labels {ctl}: " + ", ".join(f"{k} {n}" for k, n in counts.items()))


def _has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@dataset.command(epilog=f"""\b
Examples:
  annover dataset annotate reviews
  annover dataset annotate reviews --no-browser

\b
Prints the URL; opens it in a browser only where there is a display.

{_CONNECTION_HELP}""")
@click.argument("name", metavar="DATASET")
@click.option("--no-browser", is_flag=True, help="Only print the URL.")
@_connection
@json_option
def annotate(name: str, no_browser: bool, url: str | None, api_key: str | None, as_json: bool) -> None:
    """Print the URL where DATASET is labeled, and open it in a browser."""
    client = _client(url, api_key)
    project = client.project(name)
    link = client.project_url(project)
    opened = False
    if not no_browser and _has_display():
        try:
            import webbrowser

            opened = bool(webbrowser.open(link))
        except Exception:  # noqa: BLE001 - a browser that fails to start is not an error
            opened = False
    if as_json:
        emit_json({"id": project.id, "title": project.title, "url": link, "opened": opened})
        return
    click.echo(link)
    if opened:
        info("opened in your browser")


@dataset.command(epilog=f"""\b
Examples:
  annover dataset delete old-round
  annover dataset delete 12 --yes

\b
Deletes the project with its tasks, annotations and predictions from Label Studio;
versions already made from it stay in the repository.

{_CONNECTION_HELP}""")
@click.argument("name", metavar="DATASET")
@click.option("--yes", "-y", is_flag=True, help="Do not ask.")
@_connection
@json_option
def delete(name: str, yes: bool, url: str | None, api_key: str | None, as_json: bool) -> None:
    """Delete DATASET from Label Studio (asks first)."""
    from annover.errors import UsageError
    from annover.labelstudio import datasets

    client = _client(url, api_key)
    project = client.project(name)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"not deleting {project.title!r} without confirmation", "pass --yes")
        click.confirm(f"Delete dataset {project.title!r} (project {project.id}: {project.tasks} tasks, "
                      f"{project.annotations} annotations) from {client.url}? This cannot be undone",
                      abort=True, err=True)
    datasets.delete_dataset(client, project.id)
    repo = _repo_or_none()
    forgot = datasets.forget(repo, project) if repo is not None else None
    if as_json:
        emit_json({"id": project.id, "title": project.title, "deleted": True, "forgot": forgot})
        return
    info(f"deleted dataset {project.title!r} (project {project.id})")


class _Bar:
    """A rich progress bar on stderr (one line per step) where stderr is a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self._p: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> "_Bar":
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                               TimeRemainingColumn(), console=Console(stderr=True), transient=False)
            self._p.__enter__()
        return self

    def __call__(self, step: str, done: int, total: int) -> None:
        if self._p is None:
            return
        if step not in self._tasks:
            self._tasks[step] = self._p.add_task(step, total=max(total, 1))
        self._p.update(self._tasks[step], completed=done, total=max(total, 1))

    def __exit__(self, *exc: Any) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)


@dataset.command(epilog=f"""\b
Examples:
  annover dataset push reviews --from reviews.jsonl --key data.id
  annover dataset push reviews --from reviews.csv --key data.id --predictions preds.jsonl
  annover dataset push pets --from data/images --predictions model-v3.jsonl
  annover dataset push pets --from v2 --predictions v2          # tasks + predictions of a version
  annover dataset push restore --from v2.json --annotations     # an export, with its annotations
  annover dataset push reviews --from more.jsonl --key data.id --dry-run

\b
--from is a folder (one task per image / audio / video / .txt file), a .jsonl / .json /
.csv file of records (a task's data, or Label Studio tasks with "data"), or a version of
this repository. Tasks already in the dataset (same task key: --key data.FIELD, else the
hash of the task data) are not sent again; a prediction is not sent to a task that has
one of its model_version already. Predictions (--predictions FILE|VERSION): Label Studio
tasks with "predictions", or records {{task_key | data | file, model_version, score,
result}} ("file": the path below the folder sent).

\b
Local files are served by Label Studio's local storage: start Label Studio with
LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=DIR
(DIR above your data), and set the same LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT here.

{_CONNECTION_HELP}""")
@click.argument("name", metavar="DATASET")
@click.option("--from", "source", required=True, metavar="FOLDER|FILE|VERSION", help="What to send.")
@click.option("--key", help="Task key: a field of the task data, e.g. data.id (default: hash of the data).")
@click.option("--predictions", metavar="FILE|VERSION", help="Model predictions to attach as pre-annotations.")
@click.option("--annotations", is_flag=True, help="Also send the annotations the records (or version) carry.")
@click.option("--field", "field_name", metavar="NAME", help="For a folder: the data field files go in "
              "(default: the config's object for that kind of file).")
@click.option("--document-root", type=click.Path(file_okay=False),
              help="Label Studio's local files document root (default: $LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT).")
@click.option("--batch-size", type=click.IntRange(1), default=5000, show_default=True,
              help="Tasks per import call.")
@click.option("--dry-run", is_flag=True, help="Say what would be sent; send nothing.")
@click.option("--no-validate", is_flag=True, help="Do not check predictions and data against the config.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@_connection
@json_option
def push(name: str, source: str, key: str | None, predictions: str | None, annotations: bool,
         field_name: str | None, document_root: str | None, batch_size: int, dry_run: bool, no_validate: bool,
         quiet: bool, url: str | None, api_key: str | None, as_json: bool) -> None:
    """Send tasks (and model predictions) to DATASET; those already there are skipped."""
    from annover.labelstudio.tasks import push as push_tasks

    client = _client(url, api_key)
    with _Bar(quiet or as_json) as bar:
        r = push_tasks(client, name, source, key=key, predictions=predictions, annotations=annotations,
                       field_name=field_name, document_root=document_root, validate=not no_validate,
                       repo=_repo_or_none(), dry_run=dry_run, batch_size=batch_size, progress=bar)
    for w in r.warnings:
        info(f"warning: {w}")
    if as_json:
        emit_json(r.to_json())
        return
    verb = "would send" if dry_run else "sent"
    info(f"{verb} {r.sent} task(s) to {r.project.title!r} (project {r.project.id}); {r.already} already there")
    if r.predictions or r.predictions_already:
        info(f"{verb} {r.predictions} prediction(s); {r.predictions_already} already there")
    if r.annotations:
        info(f"{verb} {r.annotations} annotation(s)")
    if r.storage:
        info(f"files served by Label Studio's local storage: {r.storage}")
    if not dry_run:
        click.echo(r.url)


@dataset.command(epilog=f"""\b
Examples:
  annover dataset export reviews --out reviews-export.json
  annover snapshot --from reviews-export.json --config labeling.xml -m "same as --label-studio"

\b
The file is Label Studio's JSON export with full predictions and annotators as emails:
what `annover snapshot --label-studio` reads.

{_CONNECTION_HELP}""")
@click.argument("name", metavar="DATASET")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output file.")
@click.option("--config-out", type=click.Path(dir_okay=False), help="Also write the labeling config here.")
@_connection
@json_option
def export(name: str, out: str, config_out: str | None, url: str | None, api_key: str | None,
           as_json: bool) -> None:
    """Download DATASET's full export (tasks, annotations, predictions) to a file."""
    from pathlib import Path

    from annover.cli import Progress
    from annover.labelstudio.sync import export_tasks
    from annover.store.refs import write_atomic

    client = _client(url, api_key)
    project = client.project(name)
    with Progress(as_json) as progress:
        exp = export_tasks(client, project, progress=progress)
    write_atomic(Path(out), exp.raw)
    if config_out:
        write_atomic(Path(config_out), project.label_config.encode("utf-8"))
    data = {"id": project.id, "title": project.title, "tasks": len(exp.tasks), "path": out, "config": config_out}
    if as_json:
        emit_json(data)
    else:
        info(f"wrote {out}: {len(exp.tasks)} tasks of {project.title!r} (project {project.id})")
