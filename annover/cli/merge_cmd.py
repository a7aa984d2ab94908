"""``annover merge``: bring another branch's versions into HEAD's (three-way, by task and answer)."""

from __future__ import annotations

import click

from annover.cli import (Progress, echo, emit_json, info, json_option, not_blank, not_empty, open_repo, say_repaired,
                         short)
from annover.errors import MergeConflictError, UsageError
from annover.model.threeway import Conflict
from annover.repo import Repo
from annover.repo.merge_resolution import read_resolution
from annover.repo.merging import LISTED, MergeResult


def _named(repo: Repo, vid: str | None) -> str:
    """A version as people know it: ``v3 (0123456789ab)``, or its short id."""
    return repo.name_of(vid, with_id=True) if vid else short(vid)


def _keys(keys: list[str]) -> str:
    shown = ", ".join(keys[:LISTED])
    return shown + (f" and {len(keys) - LISTED} more" if len(keys) > LISTED else "")


def _counts(changes: dict[str, list[str]]) -> str:
    return ", ".join(f"{len(changes[k])} {k}" for k in ("added", "removed", "modified") if changes.get(k)) or "nothing"


def _render(res: MergeResult, quiet: bool = False) -> None:
    """What was taken from where, the conflicts and how they were settled, on stderr; ``quiet``
    (``-q``): only the conflicts, the files git cannot merge, the renumbered tags and the warnings."""
    if not quiet:
        _render_sides(res)
    _render_conflicts(res)
    for old, new in res.renumbered.items():
        done = 'renumbered' if res.written else 'would renumber'
        if old in res.theirs_renumbered:
            info(f"  {done} {res.rev}'s {old} as {new}: this branch gave {old} to a version of its own (a git merge "
                 f"kept this branch's tag files; {res.rev}'s was on no git remote)")
        else:
            info(f"  {done} this branch's {old} as {new}: {res.rev} gave {old} to a version of its own (two clones "
                 "numbered alike; this branch's was on no git remote)")
    for w in res.warnings:
        info(f"warning: {w}")


def _render_sides(res: MergeResult) -> None:
    """What was taken from each side, and what both changed alike."""
    for side in ("theirs", "ours"):
        ch = res.changes.get(side) or {}
        if any(ch.values()):
            info(f"  from {side}: {_counts(ch)} task(s)")
            for k in ("added", "removed", "modified"):
                if ch.get(k):
                    info(f"    {k}: {_keys(ch[k])}")
    if res.combined:
        info(f"  combined answer by answer (both changed other parts): {len(res.combined)} task(s): "
             f"{_keys(res.combined)}")
    if res.same:
        info(f"  changed alike on both sides: {len(res.same)} task(s): {_keys(res.same)}")
    for name, label in (("config", "labeling config"), ("source", "source data")):
        where = getattr(res, name)
        if where in ("ours", "theirs", "both"):
            info(f"  {label}: {'changed alike on both sides' if where == 'both' else 'from ' + where}")


def _render_conflicts(res: MergeResult) -> None:
    """The conflicts and how they were settled, and the files git cannot merge. With a
    resolution (``--resolve``) that leaves some unsettled, only those are listed."""
    if res.conflicts or "conflict" in (res.config, res.source):
        info(f"  conflicts{_settled(res)}: {len(res.conflicts)} task(s)")
        r = res.resolution
        shown = res.unsettled if r is not None and res.stops else res.conflicts
        for c in shown[:LISTED]:
            side = f" ({c.taken})" if r is not None and c.taken else ""
            info(f"    {c.task_key}{side}: {c.describe()}")
        if len(shown) > LISTED:
            info(f"    ... and {len(shown) - LISTED} more (--json lists them all)")
        for name, label in (("config", "labeling config"), ("source", "source data")):
            if getattr(res, name) == "conflict":
                side = f" (taken from {res.taken[name]})" if r is not None and name in res.taken else ""
                info(f"    {label}: changed differently on both sides{side}")
    for f in res.files[:LISTED]:
        info(f"  git cannot merge: {f}")


def _settled(res: MergeResult) -> str:
    """How the conflicting tasks were settled: `` (taken from ours)``; with a resolution, ``
    (2 settled by r.json: 1 from ours, 1 from theirs; 1 left)``."""
    r = res.resolution
    if r is None:
        return f" (taken from {res.favor})" if res.favor else ""
    named = [c for c in res.conflicts if c.task_key in r.tasks]
    said = f"{len(named)} settled by {r.where}" + (f": {_sides(named)}" if named else "")
    rest = len(res.conflicts) - len(named)
    if rest:
        said += f"; {rest} taken from {res.favor}" if res.favor else f"; {rest} left"
    return f" ({said})"


def _sides(conflicts: list[Conflict]) -> str:
    n = {s: sum(1 for c in conflicts if c.taken == s) for s in ("ours", "theirs")}
    return ", ".join(f"{k} from {s}" for s, k in n.items() if k)


def _nothing_under_way(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--abort`` / ``--continue`` / ``--quit``, as a git user types them after a conflict: there
    is no annover merge under way (a stopped one wrote nothing), said before REV is asked for."""
    if not value or ctx.resilient_parsing:
        return
    raise UsageError(f"annover merge {param.opts[0]}: no annover merge is under way: one that stops at conflicts "
                     "(exit 16) writes nothing, so there is nothing to abort or continue",
                     "rerun it with --ours or --theirs, or --resolve FILE to take a side task by task, or make the "
                     "sides agree in a new version and merge again; "
                     "a git merge under way (git status says so) is ended with `git merge --abort`")


@click.command(epilog="""\b
Examples:
  annover merge relabel                 # bring branch relabel's versions into this one
  annover merge relabel --dry-run       # what would be taken from each side, and the conflicts
  annover merge relabel --theirs        # conflicting tasks take relabel's answers

\b
  # settle the conflicts one by one: a side per task, in a JSON file
  annover merge relabel --dry-run --json \\
    | jq '{tasks: (.conflicts | map({key: .task_key, value: "ours"}) | from_entries)}' > sides.json
  # ... edit sides.json: "ours" or "theirs" for each task ("config", "source" too)
  annover merge relabel --resolve sides.json           # exit 16 if a conflict is left out
  annover merge relabel --resolve sides.json --theirs  # relabel's side for those left out
  annover merge v7 -m "merge bob's round" --json
  annover merge relabel -q              # quiet: only the merged version's id on stdout

\b
Like git merge: REV already in HEAD's history is "Already up to date"; HEAD's
version in REV's history is a fast-forward; otherwise a three-way merge by task
and answer against the nearest common version, committed as a new version (vN)
whose parents are HEAD's version and REV's, in a git merge commit. A task, or
an answer, one side changed is taken from it; both sides changing the same one
differently is a conflict: nothing is written (exit 16) unless --ours or
--theirs takes that side for every conflict, or --resolve FILE gives each its
side ({"tasks": {"t1": "ours", "t4": "theirs"}, "config": "theirs"}; --ours or
--theirs then takes those it does not name). A bad FILE, or one naming what is
not a conflict of this merge, is exit 3, nothing written. The labeling config
and source data merge the same way. Other files merge as git merges them; one
git cannot merge stops the merge before anything is written.
""")
@click.argument("rev")  # an empty one is exit 7, as for every revision (README: Exit codes)
@click.option("--abort", is_flag=True, hidden=True, is_eager=True, expose_value=False, callback=_nothing_under_way)
@click.option("--continue", is_flag=True, hidden=True, is_eager=True, expose_value=False, callback=_nothing_under_way)
@click.option("--quit", is_flag=True, hidden=True, is_eager=True, expose_value=False, callback=_nothing_under_way)
@click.option("--ours", is_flag=True,
              help="Take HEAD's side for every conflict (like git merge -X ours); with --resolve, for every "
                   "conflict FILE does not name.")
@click.option("--theirs", is_flag=True,
              help="Take REV's side for every conflict (like git merge -X theirs); with --resolve, for every "
                   "conflict FILE does not name.")
@click.option("--resolve", "resolve_file", metavar="FILE", callback=not_empty,
              help='Settle the conflicts one by one: FILE is a JSON object {"tasks": {"TASK_KEY": "ours" or '
                   '"theirs", ...}, "config": ..., "source": ...}, every member optional (see the examples).')
@click.option("--dry-run", is_flag=True,
              help="Say what would be taken from each side, and the conflicts; write nothing.")
@click.option("-m", "--message", callback=not_blank,
              help='Message of the merge version (default: "Merge REV into BRANCH").')
@click.option("--tag", "tag_name", help="Name of the merge version (default: the next vN).")
@click.option("-q", "--quiet", is_flag=True,
              help="Quiet, as git merge -q: no progress and no summary on stderr; conflicts, files git cannot "
                   "merge, renumbered tags, warnings and errors are still said, and the new version's id is "
                   "still printed on stdout.")
@json_option
def merge(rev: str, ours: bool, theirs: bool, resolve_file: str | None, dry_run: bool, message: str | None,
          tag_name: str | None, quiet: bool, as_json: bool) -> None:
    """Merge version REV (a branch, tag or version) into HEAD's, as git merge does."""
    if ours and theirs:
        raise click.UsageError("--ours and --theirs together: take one side for the conflicts")
    favor = "ours" if ours else "theirs" if theirs else None
    resolution = read_resolution(resolve_file) if resolve_file is not None else None  # a bad one: nothing read more
    repo = open_repo()
    try:
        with Progress(quiet or as_json) as progress:
            res = repo.merge(rev, favor=favor, resolve=resolution, dry_run=dry_run, message=message, tag=tag_name,
                             progress=progress)
    except MergeConflictError as e:
        res = e.result if isinstance(e.result, MergeResult) else None
        if res is not None:
            if as_json:
                emit_json(res.to_json())
            info(f"merging {rev} {_named(repo, res.theirs)} into HEAD {_named(repo, res.head)} against "
                 f"{_named(repo, res.base)}: nothing written")
            _render(res, quiet)
        raise
    say_repaired(repo)
    if as_json:
        emit_json(res.to_json())
    _report(repo, res, quiet)
    if res.kind != "up-to-date" and not dry_run and not as_json:  # the new HEAD's id: data, with -q too
        echo((res.version.id if res.version else "") if res.kind == "merge" else res.theirs)


def _report(repo: Repo, res: MergeResult, quiet: bool) -> None:
    """What the merge did (or would do), on stderr; with ``quiet``, only what is not plain success."""
    rev = res.rev
    if res.kind == "up-to-date":
        if not quiet:
            info("Already up to date.")
        for w in res.warnings:
            info(f"warning: {w}")
        return
    if res.kind == "fast-forward":
        verb = "would fast-forward" if res.dry_run else "fast-forward"
        how = "" if res.git == "fast-forward" else " (a git merge commit: this branch has commits of its own)"
        if not quiet:
            info(f"{verb} to {rev} {_named(repo, res.theirs)}: {len(res.versions)} version(s){how}")
        for f in res.files[:LISTED]:
            info(f"  git cannot merge: {f}")
        return
    stops = res.stops
    if not res.dry_run:
        if not quiet:
            info(f"{res.tag} {short(res.version.id if res.version else None)}  merged {rev} "
                 f"{_named(repo, res.theirs)} into HEAD {_named(repo, res.head)} against {_named(repo, res.base)}")
    elif not quiet or stops:
        info(f"would merge {rev} {_named(repo, res.theirs)} into HEAD {_named(repo, res.head)} against "
             f"{_named(repo, res.base)} as {res.tag}:")
    _render(res, quiet)
    if res.dry_run and stops:
        r = res.resolution
        if res.clash:  # as the merge itself would say it
            info(f"the merge would stop: {res.clash}")
        elif res.files and not (res.unsettled or res.unsettled_blobs):
            info("the merge would stop at the files git cannot merge: make them agree with a commit on either "
                 "branch first")
        elif r is None:
            info("the merge would stop at these conflicts: rerun with --ours or --theirs to take that side for "
                 "each, or --resolve FILE to take a side task by task")
        else:
            info(f"the merge would stop at the conflicts {r.where} names no side for: give each one in it, or add "
                 "--ours or --theirs to take that side for the rest")
        raise click.exceptions.Exit(MergeConflictError.exit_code)
