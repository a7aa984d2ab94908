"""``annover gc``: remove from the local DVC cache what no version a user can name needs (dry run first)."""

from __future__ import annotations

import click

from annover.cli import (BAR_AFTER, Bars, echo, emit_json, info, json_option, quiet_said_option, say_repaired, short,
                         size_text)
from annover.errors import UsageError
from annover.repo import Repo
from annover.repo.gc import GcResult
from annover.repo.gc import gc as collect


def _render(out: GcResult, quiet: bool) -> None:
    """The files on stdout (md5, bytes), the summary on stderr (not with ``-q``: only the warning)."""
    for md5, size in sorted(out.objects.items()):
        echo(f"{md5}  {size}")
    kept = f"{len(out.kept)} version(s) kept"
    if out.not_here:
        kept += (f" ({len(out.not_here)} not in this cache: gc keeps what annover knows they need, "
                 "`annover pull` fetches the rest)")
    if out.reflog_only:
        kept += (f" ({len(out.reflog_only)} only by git's reflog, as `git gc` keeps them: "
                 f"{', '.join(short(v) for v in out.reflog_only[:5])}{', ...' if len(out.reflog_only) > 5 else ''}; "
                 "they go once git expires those entries: `git reflog expire`, "
                 "gc.reflogExpireUnreachable)")
    remote = "the DVC remote is not touched"
    if out.shared:
        info(f"warning: the DVC cache is outside this repository ({out.cache}); if other clones share it, "
             "what their versions need is not known here (--force needs --shared-cache)")
    if quiet:
        return
    if not out.objects and not out.partial:
        info(f"nothing to remove: every object of annover's in the DVC cache is needed; {kept}; {remote}")
        return
    what = _what(out)
    if out.done:
        info(f"removed {what}; {size_text(out.freed)} freed on disk; {kept}; {remote}")
    else:
        info(f"would remove {what}; {size_text(out.freed)} would be freed on disk; {kept}; {remote}. "
             "Run `annover gc --force` to remove them")


def _what(out: GcResult) -> str:
    """What goes: the objects, of which versions, and DVC's partial downloads."""
    said = []
    if out.objects:
        versions = ", ".join(short(v) for v in out.dropped[:5]) + (", ..." if len(out.dropped) > 5 else "")
        of = f" of {len(out.dropped)} version(s) no version or tag reaches ({versions})" if out.dropped else \
            " of versions no commit names (a snapshot that did not finish, or history git no longer has)"
        said.append(f"{len(out.objects)} object(s) ({len(out.listings)} listing(s)), {size_text(out.bytes)}"
                    + (f" + {len(out.view)} file(s) of the working store" if out.view else "") + of)
    if out.partial:
        said.append(f"{len(out.partial)} partial download(s), {size_text(sum(out.partial.values()))}, that a pull "
                    "cut short left in the DVC cache")
    return "; and ".join(said)


@click.command(epilog="""\b
Examples:
  annover gc                 # dry run: what would go, with counts and bytes
  annover gc --force         # remove it
  annover gc -n --json       # the dry run as JSON (objects, bytes, bytes_freed, versions kept)
  annover reset v3 --force && annover gc -f   # drop v4, then free its objects

\b
Removes from the local DVC cache (and the working store) the objects of versions no one
can name any more: dropped by `annover reset`, left by a snapshot that did not finish,
on a deleted branch; and DVC's half-written downloads a pull cut short (Ctrl-C) left.
Kept: every object of a version HEAD's history, a branch, a remote-tracking branch, a
tag (also one on a version a reset dropped), the stash or another worktree's HEAD
reaches, as `git gc` what only git's reflog still reaches (until `git reflog expire`
drops the entry), and every file that is not annover's (the user's own DVC data).
Without --force nothing is removed. The DVC remote is never touched: a version pushed
before is pulled again once git reaches its commit again (`git tag NAME COMMIT`, then
`annover pull ID`). A cache outside the repository (`dvc cache dir`), which other clones
may share, is removed from only with --shared-cache.

\b
Exit 2 for --force on a cache outside the repository without --shared-cache; exit 6
when the repository has pending state (a command killed while writing, or annover's
files in the work tree or git's index differing from HEAD's commit, or a command killed
in another worktree); exit 9 when another annover command, here or in another worktree
(`git worktree add`), holds the repository lock past ANNOVER_LOCK_TIMEOUT; with --force,
also when an annover pull, or a DVC command (a plain `dvc pull`), holds its lock that long
(gc --force holds DVC's lock as `dvc gc` does: a `dvc pull` meanwhile refuses).
""")
@click.option("-n", "--dry-run", is_flag=True, help="Only list what would be removed (the default).")
@click.option("-f", "--force", is_flag=True, help="Remove it (without --force, gc is a dry run).")
@click.option("--shared-cache", is_flag=True,
              help="Remove from a DVC cache outside the repository too (`dvc cache dir`): only when no other "
                   "clone or project uses it (without it, --force on such a cache is exit 2).")
@json_option
@quiet_said_option
def gc(dry_run: bool, force: bool, shared_cache: bool, as_json: bool, quiet: bool) -> None:
    """Remove from the local DVC cache the objects no reachable version or tag needs.

    A dry run unless --force: the objects that would go are listed on stdout (md5, bytes),
    the counts and bytes on stderr."""
    if dry_run and force:
        raise UsageError("give --dry-run or --force, not both", "see `annover gc --help`")
    repo = Repo(".")
    with Bars(as_json or quiet, after=BAR_AFTER, transient=True) as bar:
        out = collect(repo, force=force, progress=bar, shared_cache=shared_cache)
    say_repaired(repo)
    if as_json:
        emit_json(out.to_json())
    else:
        _render(out, quiet)
