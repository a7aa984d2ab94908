"""``annover dataset``: Label Studio projects as datasets (list, create, stats, push tasks...).

Each command is one call of :class:`annover.labelstudio.datasets.Datasets` plus rendering.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

from annover._lazy import lazy
from annover.cli import (Bars, Progress, echo, emit_json, info, json_option, not_empty, open_repo, quiet_option,
                         version_config)
from annover.cli.config_cmd import split_labels
from annover.errors import NotARepoError, NotFoundError, RevisionError, UsageError
from annover.labelstudio.client import connect
from annover.labelstudio.datasets import Datasets
from annover.repo import Repo
from annover.repo.export import check_out, unwritable_out
from annover.repo.outputs import check_name, check_not_owned, check_writable

if TYPE_CHECKING:
    from annover.repo import samples
else:
    samples = lazy("annover.repo.samples")

_CONNECTION_HELP = """\b
Connection: LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY from the environment (--url and
--api-key override them; prefer the variable for the key, a flag shows in `ps` and in
shell history). The key is never written anywhere."""


def _connection(f: Callable) -> Callable:
    f = click.option("--api-key", metavar="KEY", callback=not_empty,
                     help="API key (default: $LABEL_STUDIO_API_KEY).")(f)
    f = click.option("--url", metavar="URL", callback=not_empty,
                     help="Label Studio URL (default: $LABEL_STUDIO_URL).")(f)
    return f


def _datasets(url: str | None, api_key: str | None) -> Datasets:
    """The server's datasets, bound to the repository here if there is one."""
    client = connect(url, api_key)
    try:
        repo = open_repo()
    except NotARepoError:
        return Datasets(client)
    return repo.datasets_on(client)


@click.group(epilog=f"""\b
Examples:
  annover dataset list
  annover dataset create reviews --template text-classification --labels pos,neg
  annover dataset push reviews --from reviews.jsonl --key data.id --predictions preds.jsonl
  annover dataset annotate reviews
  annover dataset stats reviews
  annover snapshot --label-studio reviews --key data.id -m "round 1"   # keyed as pushed

{_CONNECTION_HELP}""")
def dataset() -> None:
    """Label Studio projects as datasets: list, create, send tasks, stats, annotate, delete.

    A DATASET is named by its project title or its project id.
    """


@dataset.command("list", short_help="List the projects: total, labeled and unlabeled tasks.", epilog=f"""\b
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
    ds = _datasets(url, api_key)
    rows = ds.list()
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
    if not rows:
        info(f"no datasets on {ds.client.url}; make one with `annover dataset create`")
        return
    w = max(5, max(len(str(r.tasks)) for r in rows))
    echo(f"{'ID':>5}  {'TASKS':>{w}}  {'LABELED':>{max(w, 7)}}  {'UNLABELED':>{max(w, 9)}}  TITLE")
    for r in rows:
        echo(f"{r.id:>5}  {r.tasks:>{w}}  {r.labeled:>{max(w, 7)}}  {r.unlabeled:>{max(w, 9)}}  {r.title}")


@dataset.command(short_help="Create a dataset (a Label Studio project), or get it.", epilog=f"""\b
Examples:
  annover dataset create reviews --config labeling.xml
  annover dataset create pets --template image-classification --labels cat,dog
  annover dataset create ner --template ner --labels PER,ORG --label "Smith, Jones & Co"
  annover dataset create reviews --config labeling-v2.xml --update-config
  annover dataset create reviews-2 --config v3       # the config version v3 was read with
  annover dataset create reviews-2                   # in a repository: HEAD's config

\b
Get or create: an existing project with the same config is reused (exit 0). The config
is validated first; inside an annover repository it is also recorded there
(.annover/datasets/NAME.json + .xml, one commit). --config takes a file, else a version
of the repository here (its recorded config, as `annover show REV --config` prints it);
with neither --config nor --template, a repository's HEAD config is used (said on stderr).

\b
The record keeps the task key `dataset push --key` remembered, also when the project it
named was deleted and this makes a new one: the new project's tasks are keyed as before
(said on stderr). --key data.FIELD remembers another.

{_CONNECTION_HELP}""")
@click.argument("name")
@click.option("--config", "config_file", metavar="FILE|VERSION", callback=not_empty,
              help="Labeling config: a Label Studio XML file, or a version whose config to use "
                   "(default in a repository: HEAD's).")
@click.option("--template", callback=not_empty, help="Make the config from a template (see `annover config list`).")
@click.option("--labels", "labels_csv", multiple=True, metavar="A,B,C", help="With --template: labels, comma-separated.")
@click.option("--label", "labels_one", multiple=True, metavar="LABEL", help="With --template: one label; repeatable.")
@click.option("--data-field", metavar="NAME", help="With --template: the task data key the config reads.")
@click.option("--description", help="Project description shown in Label Studio.")
@click.option("--update-config", is_flag=True, help="Replace the config of an existing project.")
@click.option("--key", callback=not_empty,
              help="Task key the dataset's record remembers for its pushes and first snapshot, e.g. data.id "
              "(default: the one it remembers, also for a project made again).")
@_connection
@json_option
def create(name: str, config_file: str | None, template: str | None, labels_csv: tuple[str, ...],
           labels_one: tuple[str, ...], data_field: str | None, description: str | None, update_config: bool,
           key: str | None, url: str | None, api_key: str | None, as_json: bool) -> None:
    """Create the dataset NAME (a Label Studio project), or get it if it exists."""
    config_text, config_file = _version_config(config_file, template)
    r = _datasets(url, api_key).create(name, config_text, config_file=config_file, template=template,
                                       labels=split_labels(labels_csv, labels_one), data_field=data_field,
                                       description=description, update_config=update_config, key=key)
    for n in r.notes:
        info(f"note: {n}")
    if as_json:
        emit_json(r.to_json())
        return
    what = "created" if r.created else "updated the config of" if r.updated else "found existing"
    info(f"{what} dataset {r.project.title!r} (project {r.project.id}): {r.url}")
    if r.recorded:
        info(f"recorded in {r.recorded}")
    echo(str(r.project.id))


def _version_config(config: str | None, template: str | None) -> tuple[str | None, str | None]:
    """``create``'s config as (text, file): ``--config`` a file, else a version of the repository
    here (its recorded config); neither --config nor --template: HEAD's config, in a repository
    whose HEAD records one. What is taken from a version is said."""
    # a folder named as a version (v3/) is no config file: the version is meant
    if template is not None or (config is not None and Path(config).exists() and not Path(config).is_dir()):
        return None, config
    try:
        repo = open_repo()
    except NotARepoError:
        return None, config
    rev = config or "HEAD"
    try:
        vid = repo.resolve(rev)
    except RevisionError:
        if config is None:  # no version yet: the usage error names --config and --template
            return None, None
        raise NotFoundError(f"--config {config}: no such file, and no version of this repository",
                            "give a Label Studio XML file, or a version (v1, HEAD) whose labeling config to use"
                            ) from None
    if config is None and repo.config_text(vid) is None:
        return None, None
    info(f"note: the labeling config of version {rev} ({vid[:12]})")
    return version_config(repo, vid, rev), None


@dataset.command(short_help="Counts of DATASET: tasks, labeled, skipped, per label.", epilog=f"""\b
Examples:
  annover dataset stats reviews
  annover dataset stats 12 --json

{_CONNECTION_HELP}""")
@click.argument("name", metavar="DATASET")
@_connection
@json_option
def stats(name: str, url: str | None, api_key: str | None, as_json: bool) -> None:
    """Counts of DATASET: tasks, labeled, unlabeled, skipped; per label; per annotator."""
    s = _datasets(url, api_key).stats(name)
    if as_json:
        emit_json(s.to_json())
        return
    echo(f"dataset {s.title} (project {s.id})  {s.url}")
    echo(f"Tasks:       {s.tasks} ({s.labeled} labeled, {s.unlabeled} unlabeled)")
    echo(f"Annotations: {s.annotations} ({s.skipped} skipped), {s.regions} regions")
    echo(f"Predictions: {s.predictions}")
    if s.annotators:
        echo("Annotators:  " + ", ".join(f"{k} {n}" for k, n in s.annotators.items()))
    for ctl, counts in s.labels.items():
        echo(f"Labels {ctl}: " + ", ".join(f"{k} {n}" for k, n in counts.items()))


def _has_display() -> bool:
    """Whether a browser can show a page here: macOS, Windows, or a Wayland or X display that answers
    (DISPLAY naming a display that is gone, as a stale ssh or tmux session leaves it, is none)."""
    if sys.platform in ("darwin", "win32"):
        return True
    wayland = os.environ.get("WAYLAND_DISPLAY")
    if wayland and _answers(socket.AF_UNIX, os.path.join(os.environ.get("XDG_RUNTIME_DIR", ""), wayland)):
        return True
    display = os.environ.get("DISPLAY") or ""
    m = re.fullmatch(r"(?P<host>[^:]*):(?P<n>\d+)(?:\.\d+)?", display)
    if m is None:  # XQuartz's launchd socket path, or no display at all
        return bool(display) and os.path.exists(display.rsplit(":", 1)[0])
    host, n = m["host"], int(m["n"])
    if host in ("", "unix"):  # the X server's socket: its file, else Linux's abstract one of that name
        return any(_answers(socket.AF_UNIX, p) for p in (f"/tmp/.X11-unix/X{n}", f"\0/tmp/.X11-unix/X{n}"))
    return _answers(socket.AF_INET, (host, 6000 + n))


def _answers(family: int, address: Any) -> bool:
    """Whether something accepts a connection at ``address`` (within a second)."""
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(address)
            return True
    except (OSError, ValueError):
        return False


@dataset.command(short_help="Print DATASET's labeling URL; open it in a browser.", epilog=f"""\b
Examples:
  annover dataset annotate reviews
  annover dataset annotate reviews --no-browser

\b
Prints the URL; opens it in a browser only where there is a display that answers
(else says to open the URL).

{_CONNECTION_HELP}""")
@click.argument("name", metavar="DATASET")
@click.option("--no-browser", is_flag=True, help="Only print the URL.")
@_connection
@json_option
def annotate(name: str, no_browser: bool, url: str | None, api_key: str | None, as_json: bool) -> None:
    """Print the URL where DATASET is labeled, and open it in a browser."""
    link = _datasets(url, api_key).annotate_url(name)
    opened = False
    if not no_browser and _has_display():
        try:
            opened = bool(webbrowser.open(link.url))
        except Exception:  # noqa: BLE001 - a browser that fails to start is not an error
            opened = False
    if as_json:
        emit_json({**link.to_json(), "opened": opened})
        return
    echo(link.url)
    if opened:
        info("opened in your browser")
    elif not no_browser:
        info(f"no browser could be opened here (no display that answers): open {link.url} in a browser")


@dataset.command(short_help="Delete DATASET from Label Studio (asks first).", epilog=f"""\b
Examples:
  annover dataset delete old-round     # asks first, on a terminal
  annover dataset delete 12 --yes      # project 12, without asking (scripts: no terminal, no --yes is exit 2)

\b
Deletes the project with its tasks, annotations and predictions from Label Studio;
versions already made from it stay in the repository. A dataset whose project was
deleted in Label Studio's UI has only its record here left: that is removed (a commit).

{_CONNECTION_HELP}""")
@click.argument("name", metavar="DATASET")
@click.option("--yes", "-y", is_flag=True, help="Do not ask.")
@_connection
@json_option
def delete(name: str, yes: bool, url: str | None, api_key: str | None, as_json: bool) -> None:
    """Delete DATASET from Label Studio (asks first)."""
    ds = _datasets(url, api_key)
    try:
        project = ds.get(name)
    except NotFoundError:
        forgot = ds.forget(name)  # deleted in Label Studio's UI: only its record is left here
        if forgot is None:
            raise
        if as_json:
            emit_json({**forgot.to_json(), "deleted": False})
            return
        info(f"dataset {forgot.project.title!r} (project {forgot.project.id}) was already deleted from "
             f"Label Studio; forgot its record {forgot.forgot}")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"not deleting {project.title!r} without confirmation", "pass --yes")
        click.confirm(f"Delete dataset {project.title!r} (project {project.id}: {project.tasks} tasks, "
                      f"{project.annotations} annotations) from {ds.client.url}? This cannot be undone",
                      abort=True, err=True)
    r = ds.delete(project.id)
    if as_json:
        emit_json(r.to_json())
        return
    info(f"deleted dataset {project.title!r} (project {project.id})")


@dataset.command(short_help="Send tasks (and model predictions) to DATASET.", epilog=f"""\b
Examples:
  annover dataset push reviews --from reviews.jsonl --key data.id
  annover dataset push reviews --from reviews.csv --key data.id --predictions preds.jsonl
  annover dataset push pets --from data/images --predictions model-v3.jsonl
  annover dataset push reviews-round-2 --from v2 --predictions v2   # tasks + predictions of a version
  annover dataset push restored --from v2.json --annotations    # an export, with its annotations
  annover dataset push reviews --from more.jsonl --key data.id --dry-run
  annover dataset push reviews --from reviews.jsonl --restore     # also tasks deleted in Label Studio
  annover dataset push reviews --from-sample 3f9c2a1b7d04            # what `annover sample` picked
  annover dataset push reviews --from-sample next.txt --from v3 --predictions bert-v2

\b
--from is a folder (one task per image / audio / video / .txt file), a .jsonl / .json /
.csv file of records (a task's data, or Label Studio tasks with "data"), or a version of
this repository. Tasks already in the dataset (same task key: --key data.FIELD, else the
hash of the task data) are not sent again; a prediction is not sent to a task that has
one of its model_version already. Predictions (--predictions FILE|VERSION): Label Studio
tasks with "predictions", or records {{task_key | data | file, model_version, score,
result}} ("file": the path below the folder sent).

\b
Tasks deleted in Label Studio are not sent back: a task of --from whose key the dataset had
at its last push (the dataset's record keeps the keys each push sent or found) or its last
pull (HEAD, when pulled from the dataset with that key) and has no more was deleted there on
purpose, and is left out; the push says how many, and which (--json: "deleted").
--restore sends them again. Tasks never seen before are sent.

\b
Local files are served by Label Studio's local storage: start Label Studio with
LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=DIR
(DIR above your data), and set the same LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT here.
A version's relative image paths (a COCO / YOLO / VOC snapshot's) are sent so too, found
below --image-root or the folder the version was read from.

{_CONNECTION_HELP}""")
@click.argument("name", metavar="DATASET")
@click.option("--from", "source", metavar="FOLDER|FILE|VERSION", callback=not_empty, help="What to send.")
@click.option("--from-sample", "sample", metavar="SAMPLE", callback=not_empty,
              help="Send the tasks of a recorded sample: its id, its record file, or a file of task keys.")
@click.option("--key", callback=not_empty,
              help="Task key: a field of the task data, e.g. data.id; remembered by the dataset's record "
              "(default: the key it was pushed with before, else a version's own key, else the hash of the data).")
@click.option("--predictions", metavar="FILE|VERSION", callback=not_empty,
              help="Model predictions to attach as pre-annotations "
              "(with --from-sample: a MODEL_VERSION stored in the sample's version; default the sample's model).")
@click.option("--annotations", is_flag=True, help="Also send the annotations the records (or version) carry.")
@click.option("--field", "field_name", metavar="NAME", callback=not_empty,
              help="For a folder: the data field files go in "
              "(default: the config's object for that kind of file).")
@click.option("--document-root", type=click.Path(file_okay=False), callback=not_empty,
              help="Label Studio's local files document root (default: $LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT).")
@click.option("--image-root", type=click.Path(file_okay=False), callback=not_empty,
              help="For a version: the folder its relative image paths are relative to "
              "(default: the folder it was read from, when in the repository).")
@click.option("--batch-size", type=click.IntRange(1), default=5000, show_default=True,
              help="Tasks per import call.")
@click.option("--dry-run", is_flag=True, help="Say what would be sent; send nothing.")
@click.option("--no-validate", is_flag=True, help="Do not check predictions and data against the config.")
@click.option("--restore", is_flag=True,
              help="Also send the tasks deleted in Label Studio since the last push or pull (left out by default).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@_connection
@json_option
def push(name: str, source: str | None, sample: str | None, key: str | None, predictions: str | None,
         annotations: bool, field_name: str | None, document_root: str | None, image_root: str | None,
         batch_size: int, dry_run: bool, no_validate: bool, restore: bool, quiet: bool, url: str | None,
         api_key: str | None, as_json: bool) -> None:
    """Send tasks (and model predictions) to DATASET; those already there are skipped."""
    chosen = None
    if sample is not None:
        if field_name or document_root or image_root or restore:
            raise UsageError("--field, --document-root, --image-root and --restore are for a folder, records or a "
                             "version", "drop them with --from-sample (which sends the sample's tasks as picked)")
        repo = open_repo()
        chosen = samples.find_sample(repo, sample, rev=source)  # before connecting: a bad sample sends nothing
        key = key or samples.push_key(repo, chosen.version)
        predictions = predictions or chosen.model
    elif source is None:
        raise UsageError("nothing to send", "give --from FOLDER|FILE|VERSION or --from-sample SAMPLE")
    version_key = _version_key(source) if chosen is None and key is None else None
    ds = _datasets(url, api_key)
    with Bars(quiet or as_json) as bar:
        if chosen is not None:
            # the version as given (--from), which find_sample checked is the sample's: messages name it so
            r = ds.push_sample(name, source or chosen.version, chosen.keys, key=key, model=predictions, annotations=annotations,
                               validate=not no_validate, dry_run=dry_run, batch_size=batch_size, progress=bar,
                               source=chosen.source)
        else:
            r = ds.push(name, str(source), key=key, predictions=predictions, annotations=annotations,
                        field_name=field_name, document_root=document_root, validate=not no_validate,
                        dry_run=dry_run, batch_size=batch_size, progress=bar, version_key=version_key,
                        image_root=image_root, restore=restore)
    for w in r.warnings:
        info(f"warning: {w}")
    for n in r.notes:
        info(f"note: {n}")
    if as_json:
        emit_json({**r.to_json(), "sample": chosen.to_json() if chosen is not None else None})
        return
    verb = "would send" if dry_run else "sent"
    info(f"{verb} {r.sent} task(s) to {r.project.title!r} (project {r.project.id}); {r.already} already there")
    if r.predictions or r.predictions_already or r.predictions_unmatched:
        info(f"{verb} {r.predictions} prediction(s); {r.predictions_already} already there"
             + (f"; {r.predictions_unmatched} of tasks not sent, left out" if r.predictions_unmatched else ""))
    if r.annotations:
        info(f"{verb} {r.annotations} annotation(s)")
    if r.storage:
        info(f"files served by Label Studio's local storage: {r.storage}")
    if not dry_run:
        echo(r.url)


def _version_key(source: str) -> str | None:
    """The ``--key`` a version sent with ``--from VERSION`` was read with (``stem:data.image`` for an image
    training format, a ``data.FIELD``), None when ``source`` is a file or folder, or no version here."""
    if Path(source).exists():
        return None  # a file of that name wins, as the push reads it
    try:
        repo = open_repo()
        return samples.push_key(repo, source)
    except (NotARepoError, RevisionError):
        return None


@dataset.command(short_help="Download DATASET's full export to a file.", epilog=f"""\b
Examples:
  annover dataset export reviews --out reviews-export.json --config-out labeling.xml
  annover snapshot --from reviews-export.json --config labeling.xml -m "same as --label-studio"

\b
The file is Label Studio's JSON export with full predictions and annotators as emails:
what `annover snapshot --label-studio` reads.

{_CONNECTION_HELP}""")
@click.argument("name", metavar="DATASET")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), callback=not_empty, help="Output file.")
@click.option("--config-out", type=click.Path(dir_okay=False), callback=not_empty,
              help="Also write the labeling config here.")
@click.option("--force", is_flag=True, help="Replace --out / --config-out if they exist.")
@_connection
@json_option
@quiet_option
def export(name: str, out: str, config_out: str | None, force: bool, url: str | None, api_key: str | None,
           as_json: bool, quiet: bool) -> None:
    """Download DATASET's full export (tasks, annotations, predictions) to a file."""
    try:
        repo: Repo | None = open_repo()
    except NotARepoError:
        repo = None
    for option, path in (("--out", out), ("--config-out", config_out)):  # before the server is asked
        if path is not None:
            check_name(path, option)  # '-' is not standard output here, as for `annover export`
            if repo is not None:
                check_not_owned(repo, path, option)
            check_out(Path(path), force, folder=False, option=option)
            check_writable(path, option)  # a parent that is a file, a folder without permission: exit 2
    made = not os.path.lexists(out)
    with Progress(as_json or quiet) as progress:
        try:
            r = _datasets(url, api_key).export(name, out, config_out=config_out, progress=progress)
        except OSError as e:  # a full disk, a file-size limit: as `annover export --out`, exit 2
            option, path = _which_out(e, out, config_out)
            if option is None:
                raise
            if option == "--config-out" and made:  # the export written, its config not: neither stays
                with contextlib.suppress(OSError):
                    os.unlink(out)
            raise unwritable_out(Path(path), e, option) from None
    if as_json:
        emit_json(r.to_json())
    else:
        info(f"wrote {out}: {r.tasks} tasks of {r.project.title!r} (project {r.project.id})")


def _which_out(e: OSError, out: str, config_out: str | None) -> tuple[str | None, str]:
    """(the option, its path) of the file ``e`` could not write: named by it (a write, its rename), or
    a temporary file beside it (``.NAME.*``, its creation); (None, '') for another file."""
    for option, path in (("--config-out", config_out), ("--out", out)):
        if path is None:
            continue
        p = Path(path).absolute()
        for name in (e.filename, e.filename2):
            if name is None:
                continue
            n = Path(os.fsdecode(name)).absolute()
            if n == p or (n.parent == p.parent and n.name.startswith(f".{p.name}.")):
                return option, path
    return None, ""
