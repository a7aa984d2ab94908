"""``annover status``, ``push`` and ``pull``: a repository and its DVC remote."""

from __future__ import annotations

import contextlib
from typing import Iterator

import click

from annover.cli import Progress, echo, emit_json, info, json_option, open_repo, short
from annover.errors import AnnoverError
from annover.repo import StatusResult, TransferResult
from annover.repo.remote import picked_by_init
from annover.store.dvc import REMOTE_TIMEOUT, TIMEOUT_ENV, TRANSFER_TIMEOUT, RemoteInfo, this_machine_warning
from annover.store.git import Tracking

_PUSHED = {True: "yes", False: "no (run `annover push`)", None: "unknown"}

remote_option = click.option("--remote", help="DVC remote name (default: the default remote).")
quiet = click.option("-q", "--quiet", is_flag=True,
                     help="Quiet, as git push -q: no spinner, no summary line, and none of the notes and warnings "
                          "that say nothing failed (the branch against its git remote, a remote on this machine "
                          "only); errors are still said.")


class Seconds(click.FloatRange):
    """Seconds from 0.1 to a day; NaN refused too (a range lets it through: it compares false)."""

    name = "number of seconds"

    def __init__(self) -> None:
        super().__init__(min=0.1, max=86400.0)

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        v = super().convert(value, param, ctx)
        if v != v:
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return v


timeout_option = click.option(
    "--timeout", type=Seconds(), metavar="SECONDS",
    help=f"How long to wait for the remote's first answer, then exit 10 (default: ${TIMEOUT_ENV}, else "
         f"{REMOTE_TIMEOUT:g} for status, {TRANSFER_TIMEOUT:g} for push and pull).")


def _warn_this_machine(remote: RemoteInfo | None) -> None:
    if picked_by_init(remote):  # not of a folder the user named
        info(this_machine_warning(remote))


def _render_status(out: StatusResult) -> None:
    if not out.head:
        echo("HEAD: no versions yet")
    else:
        echo(f"HEAD: {out.head}" + (f" ({', '.join(out.tags)})" if out.tags else ""))
    r = out.remote
    echo(f"remote: {r.name} {r.url}" if r else "remote: none (set one with `annover init --remote URL`)")
    if out.head:
        nowhere = out.pushed is False and out.missing_locally  # neither here nor there: push and pull cannot help
        if nowhere:
            echo("pushed: no, and its objects are not here either (push them from the clone that made the "
                 "version: `annover push` there)")
        else:
            echo(f"pushed: {_PUSHED[out.pushed]}")
        if out.unpushed is not None:
            hint = ("" if not out.unpushed else " (run `annover push`)" if not nowhere else
                    " (`annover push` sends those whose objects are here; HEAD's, the clone that made it)")
            echo(f"versions not pushed: {len(out.unpushed)} of {out.versions}{hint}")
        if out.missing_locally:
            count = f"{out.missing_locally} object(s)" if out.missing_counted else \
                f"up to {out.missing_locally} object(s), HEAD's manifests not here to count them"
            echo(f"missing locally: {count}" + (" (not on the remote either)" if nowhere else " (run `annover pull`)"))
        if out.not_pulled:
            echo(f"versions not pulled: {len(out.not_pulled)} of {out.versions} (their objects are not here: "
                 "`annover pull` fetches them all, `annover pull REV` one)")
    if out.hand_edit:
        echo(f"edited by hand: {out.hand_edit} (annover's writes refuse until then)")
    elif out.interrupted:
        echo("an interrupted snapshot was found; the next annover command repairs it")
    if out.detached is not None:  # as git status's first line; a write there is refused (exit 6)
        at = out.detached["at"] or "a commit with no version yet"
        echo(f"git: HEAD detached at {at}: a snapshot, tag, merge or revert "
             f"needs a branch (`git switch {out.detached['back_to']}`, or `git switch -c NAME` to start one here)")
    if out.git is not None:
        echo(f"git: {_tracking(out.git)}")
    if out.stray_tags:
        echo(f"tags on no branch: {', '.join(t.name for t in out.stray_tags)} (`git push --tags` would publish them; "
             "`annover tag --prune` deletes them, -n lists them)")
    _warn_this_machine(r)


def _tracking(t: Tracking) -> str:
    """The branch against its git remote, as git last saw it (annover push and pull move objects only)."""
    if t.upstream is None:
        return f"branch {t.branch} is on no git remote yet (`{t.publish}` shares its versions)"
    said = [f"{t.branch} is {t.ahead} commit(s) ahead of {t.upstream} (`{t.publish}` shares their versions)"
            ] if t.ahead else []
    if t.behind and t.ahead:  # diverged: git pull would conflict in annover's files
        said.append(f"{t.upstream} has {t.behind} commit(s) not here: the two have diverged (`annover pull "
                    f"{t.upstream}`, then `annover merge {t.upstream}`)")
    elif t.behind:
        said.append(f"{t.upstream} has {t.behind} commit(s) not here (`git pull`, then `annover pull`)")
    said = "; ".join(said) or f"{t.branch} is up to date with {t.upstream} as of the last git fetch"
    if not t.configured:  # pushed without -u: git pull and git status do not know the remote branch
        said += f" (no upstream set: `git branch -u {t.upstream}` sets it)"
    return said


@click.command(epilog="""\b
Examples:
  annover status
  annover status --json
  annover status --timeout 30      # a slow remote
  annover status --no-remote       # offline: do not ask the remote

\b
Exit 10 when the remote does not answer within --timeout.
""")
@click.option("--no-remote", is_flag=True, help="Do not ask the DVC remote what it lacks.")
@timeout_option
@json_option
def status(no_remote: bool, timeout: float | None, as_json: bool) -> None:
    """HEAD, its tags, the DVC remote, and how many versions it lacks."""
    repo = open_repo()
    out = repo.status(remote=not no_remote, timeout=timeout)
    moved = repo.moved_tags()
    if as_json:
        emit_json({**out.to_json(), "moved_tags": [m.to_json() for m in moved]})
        _warn_this_machine(out.remote)  # on stderr too, as in the text
    else:
        _render_status(out)
        for m in moved:
            echo(f"moved tag: {m.describe(repo)} — {m.fix()}")
        if out.left_out:
            echo(f"left out by a git merge: version {repo.name_of(out.left_out, True)} is in no version HEAD reaches "
                 "(git merged annover's files line by line: `git merge -X ours/theirs`, or a conflict settled by "
                 f"taking a side) — bring its labels in with `annover merge {out.left_out[:12]}`")


@contextlib.contextmanager
def _report_on_failure(as_json: bool) -> Iterator[None]:
    """With ``--json``, a push or pull that moved some versions and failed on others still prints its
    document (what moved, what failed and why, the error) on stdout; the error goes on as ever (stderr, exit)."""
    try:
        yield
    except AnnoverError as e:
        if as_json and isinstance(e.result, TransferResult):
            emit_json(e.result.to_json())
        raise


def _render_transfer(out: TransferResult, verb: str, there: str) -> None:
    total = len(out.moved) + len(out.up_to_date)
    what = f" ({short(out.version)})" if out.version else ""
    info(f"{verb} {len(out.moved)} of {total} version(s){what}, {out.transferred} file(s); "
         f"{len(out.up_to_date)} already {there}")


@click.command(epilog="""\b
Examples:
  annover push            # every version reachable from HEAD and the tags that the remote lacks
  annover push v1         # one version
  annover push --remote backup --json
  annover push -q         # quiet: nothing on success, errors only

\b
Exit 8 when an object's copy in the DVC cache is corrupt or missing (named; that version is not
pushed), 10 when the remote does not answer or does not hold what was sent.
""")
@click.argument("rev", required=False)
@remote_option
@timeout_option
@quiet
@json_option
def push(rev: str | None, remote: str | None, timeout: float | None, quiet: bool, as_json: bool) -> None:
    """Upload to the DVC remote what it lacks: of version REV, or of every version reachable
    from HEAD and the tags (like `git push`). What is there is not sent again."""
    repo = open_repo()
    with _report_on_failure(as_json), Progress(quiet) as progress:
        progress("asking the DVC remote what it lacks, and sending it")
        out = repo.push(rev, remote, timeout=timeout)
    if as_json:
        emit_json(out.to_json())
    if quiet:  # as git push -q: nothing on success
        return
    if not as_json:
        _render_transfer(out, "pushed", "on the remote")
    if out.git is not None and (out.git.ahead or out.git.upstream is None):  # the objects are out, the records not
        info(f"note: annover push moved the objects; the versions' records go by git: {_tracking(out.git)}")
    _warn_this_machine(out.remote if remote is None else None)


@click.command(epilog="""\b
Examples:
  annover pull            # every version reachable from HEAD and the tags that this clone lacks
  annover pull v1         # one version; then: annover export v1 ... / annover.load('v1')
  annover pull -q         # quiet: nothing on success, errors only

\b
Exit 8 when a DVC listing or pointer from the remote names anything but the version's own
objects (refused before anything is written), 10 when the remote does not answer or lacks a
version, or DVC cannot check a file out.
""")
@click.argument("rev", required=False)
@remote_option
@timeout_option
@quiet
@json_option
def pull(rev: str | None, remote: str | None, timeout: float | None, quiet: bool, as_json: bool) -> None:
    """Download from the DVC remote what the local DVC cache lacks: of version REV, or of every
    version reachable from HEAD and the tags; HEAD's objects land in the work tree."""
    repo = open_repo()
    with _report_on_failure(as_json), Progress(quiet) as progress:
        progress("fetching from the DVC remote what is not here")
        out = repo.pull(rev, remote, timeout=timeout)
    if as_json:
        emit_json(out.to_json())
    if quiet:
        return
    if not as_json:
        _render_transfer(out, "pulled", "here")
    if out.not_checked_out:
        info(f"warning: HEAD's files were not checked out into the work tree ({out.not_checked_out}); "
             "annover reads them from the DVC cache, a reader without annover needs a writable clone")
    if out.git is not None and out.git.behind:  # the versions others made come by git first
        info(f"note: annover pull fetched objects of the versions here; {_tracking(out.git)}")
