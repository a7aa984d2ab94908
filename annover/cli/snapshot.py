"""``annover init`` and ``annover snapshot``: making a repository and its versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from annover._lazy import lazy
from annover.cli import (Progress, arrow_without_pandas, counted, emit_json, info, json_option, not_blank, not_empty,
                         open_repo, say, short)
from annover.errors import UsageError
from annover.formats import INPUT_FORMATS
from annover.formats.ls_results import LEVELS

if TYPE_CHECKING:  # pragma: no cover
    from annover import repo as repo_
    from annover.cli import diff_cmd
    from annover.model import config as model_config
    from annover.repo import Repo, SnapshotResult
else:
    diff_cmd = lazy("annover.cli.diff_cmd")  # its summary, for --dry-run (it imports the diff)
    model_config = lazy("annover.model.config")
    repo_ = lazy("annover.repo")  # when a command runs, not for its --help


def _options(pairs: tuple[str, ...]) -> dict[str, str]:
    """``KEY=VALUE`` strings as a dict."""
    out = {}
    for o in pairs:
        if "=" not in o:
            raise UsageError(f"--remote-option {o!r} is not KEY=VALUE", "e.g. --remote-option endpointurl=http://...")
        k, v = o.split("=", 1)
        out[k.strip()] = v
    return out


@click.command(epilog="""\b
Examples:
  annover init                         # here; DVC remote: a local folder
  annover init data-repo --remote s3://bucket/annover
  annover init --remote s3://b/p --remote-option endpointurl=http://127.0.0.1:5000
""")
@click.argument("directory", default=".", type=click.Path(file_okay=False), callback=not_empty)
@click.option("--remote", callback=not_empty,
              help="DVC remote URL (a folder, s3://..., any DVC remote). Default: a local folder.")
@click.option("--remote-option", "remote_options", multiple=True, metavar="KEY=VALUE",
              help="An option of that remote (e.g. endpointurl=...). Keys naming secrets go to DVC's local config only.")
@click.option("-q", "--quiet", is_flag=True,
              help="Quiet, as git init -q: nothing on success but warnings (a DVC remote on this machine only) "
                   "and errors, on stderr.")
@json_option
def init(directory: str, remote: str | None, remote_options: tuple[str, ...], quiet: bool, as_json: bool) -> None:
    """Make DIRECTORY an annover repository: git (if needed), DVC, a default DVC remote.

    Running it again is harmless; with --remote it sets the default remote.
    """
    out = repo_.Repo.init(directory, remote=remote, remote_options=_options(remote_options))
    if as_json:
        emit_json(out.to_json())
    for m in out.messages:  # with --json or -q, the warnings alone, on stderr
        if not (as_json or quiet) or m.startswith("warning:"):
            info(m)


def _report(result: SnapshotResult, users: str | None) -> None:
    """The one-line summary of a new version on stderr, its id on stdout."""
    v = result.version
    if v is None:
        info(f"nothing changed since HEAD ({short(result.head)}); no new version")
        if result.users_committed:
            info("remembered the users it was read with in .annover/users.json (committed): later snapshots name "
                 "those ids' annotators by e-mail")
        elif users:
            info(f"--users {users}: no new user ids, and HEAD's annotators are already as the map names them "
                 "(a Label Studio file's ids are mapped; flat rows' annotators are taken as written)")
        return
    s = v.stats
    info(f"{result.tag} {short(v.id)}  {counted(s['tasks'], 'tasks')}, {s['labeled']} labeled, "
         f"{counted(s['annotations'], 'annotations')}"
         f"{', ' + str(len(s['predictions'])) + ' model version(s)' if s['predictions'] else ''}")
    click.echo(v.id)


def _notes(result: SnapshotResult, quiet: bool, as_json: bool) -> None:
    """What the snapshot did that was not asked (``--json`` has them under ``notes``)."""
    for n in result.notes:
        say(f"note: {n}", quiet or as_json)


def _report_dry(repo: Repo, result: SnapshotResult, quiet: bool, as_json: bool) -> None:
    """A dry run: the diff's summary on stdout (as ``annover diff``), what would happen on stderr."""
    if as_json:
        emit_json(result.to_json())
    elif result.remembered and not quiet:
        info(f"reading with {' '.join(result.remembered)}, as HEAD was (--key auto / --validate to change)")
    _notes(result, quiet, as_json)
    for w in result.warnings:
        info(f"warning: {w}")
    if as_json or quiet:
        return
    assert result.diff is not None
    head_config = repo.config_text(result.head) if result.head else None
    for line in diff_cmd.render_summary(result.diff.summary, model_config.results_word(head_config,
                                                                                      result.config_text)):
        click.echo(line)
    if result.changed:
        on = result.diff.summary["a"]["rev"] if result.head else "an empty repository"
        info(f"dry run: would record {result.tag} on {on}; nothing written")
    else:
        info(f"dry run: nothing changed since HEAD ({short(result.head)}); a snapshot would make no version"
             + (", and would remember the users it was read with" if result.users_committed else ""))


@click.command(epilog="""\b
Examples:
  annover snapshot --from export.json --config labeling.xml -m "round 1"
  annover snapshot --from round2.json -m "round 2, reviewed" --tag round-2
  annover snapshot --from labels.csv --key data.ext_id -m "from a CSV of (key, label)"
  annover snapshot --from round2.json -m "round 2"      # --key, --validate: HEAD's
  annover snapshot --from ui-export.json --users users.csv -m "annotators by id"
  annover snapshot --from export.json --validate warn -m "config edited after labeling"
  annover snapshot --from export.json --source data/images --predictions preds.jsonl -m "with model v3"
  annover snapshot --predictions preds.jsonl -m "model v3"   # HEAD plus a model's predictions of its tasks
  annover snapshot --label-studio my-dataset -m "pulled from Label Studio"
  annover snapshot --from instances.json -m "COCO in"   # COCO recognised; a labeling config is generated
  annover snapshot --from yolo-folder --format yolo --config labeling.xml -m "YOLO, checked against a config"
  annover snapshot --from v3-hf -m "relabeled in HF"      # a datasets save_to_disk folder (annover's export too)
  annover snapshot --from round3.json --dry-run          # what it would record; nothing written
  annover snapshot --label-studio my-dataset --dry-run   # what Label Studio has that HEAD has not
  annover snapshot --label-studio round-4 --update -m "round 4"   # a sample's project, into HEAD's tasks
""")
@click.option("--from", "source", metavar="FILE", callback=not_empty,
              help="Label Studio JSON / JSON-MIN export, JSONL or CSV of (task key, label), or Parquet; "
                   "a COCO file, a YOLO, VOC or Hugging Face datasets folder, a CoNLL file (recognised, or named "
                   "with --format).")
@click.option("--label-studio", "ls_project", metavar="DATASET", callback=not_empty,
              help="Pull this Label Studio project (title or id) instead of reading a file.")
@click.option("--config", type=click.Path(dir_okay=False), callback=not_empty,
              help="Labeling config (Label Studio XML). Default: HEAD's.")
@click.option("-m", "--message", callback=not_blank, help="Why this version exists.")
@click.option("--tag", help="Name of the new version (default: v1, v2, ...).")
@click.option("--key", callback=not_empty,
              help="Task key: a field of the task data (data.ext_id), the file name in one without folder "
              "and extension (stem:data.image, as COCO/YOLO/VOC key images), Label Studio's task id (id), or "
              "auto (a task_key column, else a hash of the data). Default: HEAD's, else auto.")
@click.option("--source", "source_data", type=click.Path(), callback=not_empty,
              help="Folder (or file) of the data the tasks point at.")
@click.option("--predictions", type=click.Path(dir_okay=False), callback=not_empty,
              help="Model predictions (JSON/JSONL) to attach. Alone (no --from, no --label-studio): HEAD's "
                   "tasks, answers and config with these added as --update adds them, matched by HEAD's --key; "
                   "refused when at most half the tasks they name are HEAD's.")
@click.option("--format", "fmt", type=click.Choice(INPUT_FORMATS),
              help="Input format (default: from the file or folder; a folder of 4-corner lines needs yolo or yolo-obb).")
@click.option("--validate", "level", type=click.Choice(LEVELS),
              help="How strictly labels are checked against the labeling config: strict (every problem is an "
                   "error), check (errors, except what Label Studio itself leaves behind: warned), warn (all "
                   "warned), off. Default: HEAD's, else check.")
@click.option("--no-validate", is_flag=True, help="Same as --validate off.")
@click.option("--users", "users", type=click.Path(dir_okay=False), metavar="FILE", callback=not_empty,
              help="Label Studio user ids -> e-mails (JSON {id: email}, /api/users/ output, or CSV id,email), "
                   "for exports that name annotators by id. Remembered by the repository.")
@click.option("--full", is_flag=True, help="With --label-studio: fetch everything, not only what changed.")
@click.option("--update", is_flag=True,
              help="Add the input's tasks, answers and predictions to HEAD's, replacing those of the same keys, "
                   "removing none: a file or project of some of the tasks (a sample's round) comes back into "
                   "the dataset.")
@click.option("--allow-empty", is_flag=True,
              help="Record a version of no task from an input that holds none (refused otherwise, exit 3: an "
                   "export that came out empty would remove every task of HEAD).")
@click.option("--ls-url", metavar="URL", callback=not_empty,
              help="With --label-studio: the server (default: $LABEL_STUDIO_URL).")
@click.option("--ls-api-key", metavar="KEY", callback=not_empty,
              help="With --label-studio: the API key (default: $LABEL_STUDIO_API_KEY).")
@click.option("-n", "--dry-run", is_flag=True,
              help="Read and check the input, then show what the version would change since HEAD (the summary "
                   "`annover diff HEAD` would give after it) and its tag; write nothing. Exit 0 either way.")
@click.option("-q", "--quiet", is_flag=True,
              help="Quiet, as git -q: no progress, no summary, no notes; warnings about the input (labels the "
                   "config does not allow under --validate warn, predictions left out...) and errors are still "
                   "said on stderr, and the new version's id is printed on stdout.")
@json_option
def snapshot(source: str | None, ls_project: str | None, config: str | None, message: str | None, tag: str | None,
             key: str | None, source_data: str | None, predictions: str | None, fmt: str | None, level: str | None,
             no_validate: bool, users: str | None, full: bool, update: bool, allow_empty: bool, ls_url: str | None,
             ls_api_key: str | None, dry_run: bool, quiet: bool, as_json: bool) -> None:
    """Record a new version: canonical snapshots, a git commit and a git tag.

    When nothing changed since HEAD, says so and makes no version (exit 0). With -q, only
    the new version's id is printed, and warnings and errors on stderr.
    """
    if no_validate and level not in (None, "off"):
        raise UsageError(f"--no-validate and --validate {level} disagree", "give one of them")
    arrow_without_pandas()
    repo = open_repo()  # says what opening it repaired (a killed snapshot's leftovers), with -q too
    with Progress(quiet or as_json) as progress:
        result = repo.snapshot(source, config=config, message=message or "", tag=tag, key=key, source_data=source_data,
                               predictions=predictions, validate="off" if no_validate else level, fmt=fmt,
                               users=users, label_studio=ls_project, full=full, url=ls_url, api_key=ls_api_key,
                               progress=progress, dry_run=dry_run, update=update, allow_empty=allow_empty)
    if dry_run:
        return _report_dry(repo, result, quiet, as_json)
    if as_json:
        emit_json(result.to_json())
    elif result.remembered and not quiet:
        info(f"reading with {' '.join(result.remembered)}, as HEAD was (--key auto / --validate to change)")
    _notes(result, quiet, as_json)
    for w in result.warnings:  # what is wrong with the input: on stderr with --json and -q too, as git -q warns
        info(f"warning: {w}")
    if as_json:
        return
    for r in result.recovered:  # a repair is said with -q too, as merge, log and gc say theirs
        info(f"recovered: {r}")
    if not quiet:
        _report(result, users)
    elif result.version is not None:  # -q: the new version's id, no summary
        click.echo(result.version.id)
