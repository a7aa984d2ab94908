"""``annover log``, ``show`` and ``tag``: reading the history and naming versions."""

from __future__ import annotations

import click

from annover.cli import emit_json, info, json_option, short
from annover.repo import Repo


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
    repo = Repo(".")
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
            click.echo(f"{short(v.id)}{deco} {v.message.splitlines()[0] if v.message else ''}")
            continue
        click.echo(f"version {v.id}{deco}")
        if len(v.parents) > 1:
            click.echo("Merge:   " + " ".join(short(p) for p in v.parents))
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
    repo = Repo(".")
    v = repo.show(rev)
    tags = repo.tags_of().get(v.id, [])
    if as_json:
        emit_json({**v.to_json(), "tags": tags})
        return
    r = v.record
    s = v.stats
    click.echo(f"version {v.id}" + (f" ({', '.join(tags)})" if tags else ""))
    click.echo(f"Parents: {' '.join(short(p) for p in v.parents) or '-'}")
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
    click.echo(f"  tasks        {short(t['tasks']['id'])}  {t['tasks']['rows']} rows")
    click.echo(f"  annotations  {short(t['annotations']['id'])}  {t['annotations']['rows']} rows")
    for mv, p in sorted(t.get("predictions", {}).items()):
        click.echo(f"  predictions  {short(p['id'])}  {p['rows']} rows  model_version={mv or '(none)'}")
    click.echo(f"Config:  {short(r['config']['oid']) if r.get('config') else '-'}")
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
    out = Repo(".").tag(name, rev, force=force)
    if as_json:
        emit_json(out.to_json())
    else:
        info(f"{name} -> {short(out.version)}")
