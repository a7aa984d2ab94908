"""Repository commands: init, snapshot, log, show, tag, status, export, push, pull."""

from __future__ import annotations

import click

from annover.cli import Progress, arrow_without_pandas, emit_json, info, json_option


def _repo():
    from annover.repo import Repo

    return Repo(".")


def _short(vid: str | None) -> str:
    return vid[:12] if vid else "-"


@click.command(epilog="""\b
Examples:
  annover init                         # here; DVC remote: a local folder
  annover init data-repo --remote s3://bucket/annover
  annover init --remote s3://b/p --remote-option endpointurl=http://127.0.0.1:5000
""")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--remote", help="DVC remote URL (a folder, s3://..., any DVC remote). Default: a local folder.")
@click.option("--remote-option", "remote_options", multiple=True, metavar="KEY=VALUE",
              help="An option of that remote (e.g. endpointurl=...). Keys naming secrets go to DVC's local config only.")
@json_option
def init(directory: str, remote: str | None, remote_options: tuple[str, ...], as_json: bool) -> None:
    """Make DIRECTORY an annover repository: git (if needed), DVC, a default DVC remote.

    Running it again is harmless; with --remote it sets the default remote.
    """
    from annover import porcelain
    from annover.errors import UsageError

    opts = {}
    for o in remote_options:
        if "=" not in o:
            raise UsageError(f"--remote-option {o!r} is not KEY=VALUE", "e.g. --remote-option endpointurl=http://...")
        k, v = o.split("=", 1)
        opts[k.strip()] = v
    out = porcelain.init(directory, remote=remote, remote_options=opts)
    if as_json:
        emit_json(out)
    else:
        for m in out["messages"]:
            info(m)


@click.command(epilog="""\b
Examples:
  annover snapshot --from export.json --config labeling.xml -m "round 1"
  annover snapshot --from round2.json -m "round 2, reviewed" --tag round-2
  annover snapshot --from labels.csv --key data.ext_id -m "from a CSV of (key, label)"
  annover snapshot --from export.json --source data/images --predictions preds.jsonl -m "with model v3"
  annover snapshot --label-studio my-dataset -m "pulled from Label Studio"
""")
@click.option("--from", "source", metavar="FILE",
              help="Label Studio JSON / JSON-MIN export, JSONL or CSV of (task key, label), or Parquet.")
@click.option("--label-studio", "ls_project", metavar="DATASET",
              help="Pull this Label Studio project (title or id) instead of reading a file.")
@click.option("--config", type=click.Path(dir_okay=False), help="Labeling config (Label Studio XML). Default: HEAD's.")
@click.option("-m", "--message", default="", help="Why this version exists.")
@click.option("--tag", help="Name of the new version (default: v1, v2, ...).")
@click.option("--key", help="Task key: a field of the task data, e.g. data.ext_id (default: hash of the data).")
@click.option("--source", "source_data", type=click.Path(), help="Folder (or file) of the data the tasks point at.")
@click.option("--predictions", type=click.Path(dir_okay=False), help="Model predictions (JSON/JSONL) to attach.")
@click.option("--format", "fmt", type=click.Choice(["label-studio", "json-min", "jsonl", "csv", "parquet"]),
              help="Input format (default: from the file).")
@click.option("--no-validate", is_flag=True, help="Do not check labels against the labeling config.")
@click.option("--full", is_flag=True, help="With --label-studio: fetch everything, not only what changed.")
@click.option("--ls-url", metavar="URL", help="With --label-studio: the server (default: $LABEL_STUDIO_URL).")
@click.option("--ls-api-key", metavar="KEY", help="With --label-studio: the API key (default: $LABEL_STUDIO_API_KEY).")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@json_option
def snapshot(source, ls_project, config, message, tag, key, source_data, predictions, fmt, no_validate, full,
             ls_url, ls_api_key, quiet, as_json) -> None:
    """Record a new version: canonical snapshots, a git commit and a git tag.

    When nothing changed since HEAD, says so and makes no version (exit 0).
    """
    from annover import porcelain
    from annover.errors import UsageError

    arrow_without_pandas()
    if bool(source) == bool(ls_project):
        raise UsageError("give exactly one of --from FILE and --label-studio DATASET",
                         "see `annover snapshot --help`")
    repo = _repo()
    with Progress(quiet or as_json) as progress:
        if ls_project:
            from annover.labelstudio import sync

            result = sync.snapshot_project(repo, ls_project, config=config, message=message, tag=tag, key=key,
                                           source_data=source_data, predictions=predictions,
                                           validate=not no_validate, full=full, progress=progress,
                                           url=ls_url, api_key=ls_api_key)
        else:
            result = porcelain.snapshot(repo, source, config=config, message=message, tag=tag, key=key,
                                        source_data=source_data, predictions=predictions,
                                        validate=not no_validate, fmt=fmt, progress=progress)
    for w in result.warnings:
        if w != "nothing changed since HEAD":
            info(f"warning: {w}")
    for r in result.recovered:
        info(f"recovered: {r}")
    if as_json:
        emit_json(result.to_json())
        return
    if not result.changed:
        info(f"nothing changed since HEAD ({_short(repo.head())}); no new version")
        return
    v = result.version
    s = v.stats
    info(f"{result.tag} {_short(v.id)}  {s['tasks']} tasks, {s['labeled']} labeled, {s['annotations']} annotations"
         f"{', ' + str(len(s['predictions'])) + ' model version(s)' if s['predictions'] else ''}")
    click.echo(v.id)


@click.command(epilog="""\b
Examples:
  annover log
  annover log -n 5 --oneline
  annover log v3 --json
""")
@click.argument("rev", default="HEAD")
@click.option("-n", "--max-count", type=int, help="Show at most N versions.")
@click.option("--oneline", is_flag=True, help="One line per version.")
@json_option
def log(rev: str, max_count: int | None, oneline: bool, as_json: bool) -> None:
    """List versions reachable from REV (default HEAD), newest first."""
    repo = _repo()
    versions = repo.log(rev, max_count)
    tags = repo.tags_of()
    head = repo.head()
    if as_json:
        emit_json([{**v.to_json(), "tags": tags.get(v.id, [])} for v in versions])
        return
    if not versions:
        info("no versions yet; make one with `annover snapshot`")
        return
    for v in versions:
        names = tags.get(v.id, [])
        deco = " (" + ", ".join((["HEAD"] if v.id == head else []) + names) + ")" if names or v.id == head else ""
        s = v.stats
        if oneline:
            click.echo(f"{_short(v.id)}{deco} {v.message.splitlines()[0] if v.message else ''}")
            continue
        click.echo(f"version {v.id}{deco}")
        if len(v.parents) > 1:
            click.echo("Merge:   " + " ".join(_short(p) for p in v.parents))
        click.echo(f"Author:  {v.author}")
        click.echo(f"Date:    {v.created_at}")
        click.echo(f"Stats:   {s.get('tasks', 0)} tasks, {s.get('labeled', 0)} labeled, "
                   f"{s.get('annotations', 0)} annotations, {s.get('skipped', 0)} skipped")
        click.echo("")
        for line in (v.message or "(no message)").splitlines():
            click.echo(f"    {line}")
        click.echo("")


@click.command(epilog="""\b
Examples:
  annover show              # HEAD
  annover show v2 --json
  annover show HEAD~1
""")
@click.argument("rev", default="HEAD")
@json_option
def show(rev: str, as_json: bool) -> None:
    """Show one version: its record, links (config, source data, predictions) and stats."""
    repo = _repo()
    v = repo.show(rev)
    tags = repo.tags_of().get(v.id, [])
    if as_json:
        emit_json({**v.to_json(), "tags": tags})
        return
    r = v.record
    s = v.stats
    click.echo(f"version {v.id}" + (f" ({', '.join(tags)})" if tags else ""))
    click.echo(f"Parents: {' '.join(_short(p) for p in v.parents) or '-'}")
    click.echo(f"Author:  {v.author}")
    click.echo(f"Date:    {v.created_at}")
    o = r.get("origin") or {}
    if o:
        where = o.get("path") or (f"{o.get('url')} project {o.get('project_id')}" if o.get("url") else "")
        click.echo(f"Origin:  {o.get('kind')} {where} {('(' + o['format'] + ')') if o.get('format') else ''}".rstrip())
    click.echo("")
    for line in (v.message or "(no message)").splitlines():
        click.echo(f"    {line}")
    click.echo("")
    t = r["tables"]
    click.echo("Snapshots:")
    click.echo(f"  tasks        {_short(t['tasks']['id'])}  {t['tasks']['rows']} rows")
    click.echo(f"  annotations  {_short(t['annotations']['id'])}  {t['annotations']['rows']} rows")
    for mv, p in sorted(t.get("predictions", {}).items()):
        click.echo(f"  predictions  {_short(p['id'])}  {p['rows']} rows  model_version={mv or '(none)'}")
    click.echo(f"Config:  {_short(r['config']['oid']) if r.get('config') else '-'}")
    src = r.get("source")
    if src:
        click.echo(f"Source:  {src['path']}  {src['nfiles']} files  "
                   f"{'dvc ' + src['dvc_md5'] if src.get('dvc_md5') else 'sha256 ' + src['sha256'][:12]}")
    click.echo("")
    click.echo(f"Tasks:       {s['tasks']} ({s['labeled']} labeled, {s['unlabeled']} unlabeled)")
    click.echo(f"Annotations: {s['annotations']} ({s['skipped']} skipped), {s['regions']} regions")
    if s.get("annotators"):
        click.echo("Annotators:  " + ", ".join(f"{k} {n}" for k, n in s["annotators"].items()))
    for ctl, counts in s.get("labels", {}).items():
        click.echo(f"Labels {ctl}: " + ", ".join(f"{k} {n}" for k, n in counts.items()))
    for mv, p in s.get("predictions", {}).items():
        click.echo(f"Predictions {mv or '(none)'}: {p['tasks']} tasks, {p['regions']} regions")


@click.command(epilog="""\b
Examples:
  annover tag reviewed          # names HEAD
  annover tag baseline v2
  annover tag baseline v3 --force
""")
@click.argument("name")
@click.argument("rev", default="HEAD")
@click.option("--force", is_flag=True, help="Move the tag if it exists.")
@json_option
def tag(name: str, rev: str, force: bool, as_json: bool) -> None:
    """Name version REV (default HEAD) NAME; also a git tag on the commit that made it."""
    from annover import porcelain

    out = porcelain.tag(_repo(), name, rev, force=force)
    if as_json:
        emit_json(out)
    else:
        info(f"{name} -> {_short(out['version'])}")


@click.command(epilog="""\b
Examples:
  annover status
  annover status --json
""")
@click.option("--no-remote", is_flag=True, help="Do not ask the DVC remote whether HEAD is pushed.")
@json_option
def status(no_remote: bool, as_json: bool) -> None:
    """HEAD, its tags, the DVC remote, and whether HEAD's objects are pushed."""
    from annover import porcelain

    out = porcelain.status(_repo(), remote=not no_remote)
    if as_json:
        emit_json(out)
        return
    if not out["head"]:
        click.echo("HEAD: no versions yet")
    else:
        click.echo(f"HEAD: {out['head']}" + (f" ({', '.join(out['tags'])})" if out["tags"] else ""))
    r = out["remote"]
    click.echo(f"remote: {r['name']} {r['url']}" if r else "remote: none (set one with `annover init --remote URL`)")
    if out["head"]:
        pushed = {True: "yes", False: "no (run `annover push`)", None: "unknown"}[out["pushed"]]
        click.echo(f"pushed: {pushed}")
        if out["missing_locally"]:
            click.echo(f"missing locally: {out['missing_locally']} object(s) (run `annover pull`)")
    if out["interrupted"]:
        click.echo("an interrupted snapshot was found; the next annover command repairs it")


@click.command(epilog="""\b
Examples:
  annover export v2 --format label-studio --out v2.json
  annover export HEAD --format parquet --out labels.parquet
  annover export v1 --format csv --table tasks --out tasks.csv
""")
@click.argument("rev", default="HEAD")
@click.option("--format", "fmt", required=True,
              type=click.Choice(["label-studio", "json-min", "jsonl", "csv", "parquet"]), help="Output format.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output file.")
@click.option("--table", type=click.Choice(["tasks", "annotations", "predictions"]), default="annotations",
              help="Table for jsonl/csv/parquet (default annotations).")
@json_option
def export(rev: str, fmt: str, out: str, table: str, as_json: bool) -> None:
    """Write version REV in a format to train with or to re-import into Label Studio."""
    from annover import porcelain

    arrow_without_pandas()
    res = porcelain.export(_repo(), rev, fmt, out, table)
    if as_json:
        emit_json(res)
    else:
        info(f"wrote {res['path']} ({res['format']}, {res['bytes']} bytes) from {_short(res['version'])}")


@click.command(epilog="""\b
Examples:
  annover push            # HEAD
  annover push v1
  annover push --remote backup
""")
@click.argument("rev", default="HEAD")
@click.option("--remote", help="DVC remote name (default: the default remote).")
@json_option
def push(rev: str, remote: str | None, as_json: bool) -> None:
    """Upload the objects version REV needs to the DVC remote, and only those."""
    from annover import porcelain

    out = porcelain.push(_repo(), rev, remote)
    if as_json:
        emit_json(out)
    else:
        info(f"pushed {out['pushed']} file(s) for {_short(out['version'])}")


@click.command(epilog="""\b
Examples:
  annover pull            # HEAD
  annover pull v1         # then: annover export v1 ... / annover.load('v1')
""")
@click.argument("rev", default="HEAD")
@click.option("--remote", help="DVC remote name (default: the default remote).")
@json_option
def pull(rev: str, remote: str | None, as_json: bool) -> None:
    """Download the objects version REV needs from the DVC remote, and only those."""
    from annover import porcelain

    out = porcelain.pull(_repo(), rev, remote)
    if as_json:
        emit_json(out)
    else:
        info(f"pulled {out['fetched']} file(s) for {_short(out['version'])}")
