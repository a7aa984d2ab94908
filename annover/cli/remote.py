"""``annover status``, ``push`` and ``pull``: a repository and its DVC remote."""

from __future__ import annotations

import click

from annover.cli import emit_json, info, json_option, short
from annover.repo import Repo, StatusResult

_PUSHED = {True: "yes", False: "no (run `annover push`)", None: "unknown"}


def _render_status(out: StatusResult) -> None:
    if not out.head:
        click.echo("HEAD: no versions yet")
    else:
        click.echo(f"HEAD: {out.head}" + (f" ({', '.join(out.tags)})" if out.tags else ""))
    r = out.remote
    click.echo(f"remote: {r.name} {r.url}" if r else "remote: none (set one with `annover init --remote URL`)")
    if out.head:
        click.echo(f"pushed: {_PUSHED[out.pushed]}")
        if out.missing_locally:
            click.echo(f"missing locally: {out.missing_locally} object(s) (run `annover pull`)")
    if out.interrupted:
        click.echo("an interrupted snapshot was found; the next annover command repairs it")


@click.command(epilog="""\b
Examples:
  annover status
  annover status --json
""")
@click.option("--no-remote", is_flag=True, help="Do not ask the DVC remote whether HEAD is pushed.")
@json_option
def status(no_remote: bool, as_json: bool) -> None:
    """HEAD, its tags, the DVC remote, and whether HEAD's objects are pushed."""
    out = Repo(".").status(remote=not no_remote)
    if as_json:
        emit_json(out.to_json())
    else:
        _render_status(out)


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
    out = Repo(".").push(rev, remote)
    if as_json:
        emit_json(out.to_json())
    else:
        info(f"pushed {out.transferred} file(s) for {short(out.version)}")


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
    out = Repo(".").pull(rev, remote)
    if as_json:
        emit_json(out.to_json())
    else:
        info(f"pulled {out.transferred} file(s) for {short(out.version)}")
