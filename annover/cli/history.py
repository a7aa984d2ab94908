"""``annover log``, ``show``, ``tag``, ``revert`` and ``reset``: reading, naming and undoing versions."""

from __future__ import annotations

import fnmatch
import re
import shlex
import sys
from typing import TYPE_CHECKING

import click

from annover._lazy import lazy
from annover.cli import (Progress, counted, echo, emit_json, info, json_option, not_blank, not_empty, open_repo, safe,
                         say_repaired, short, size_text, table, version_config)
from annover.errors import AnnoverError, UsageError
from annover.model.names import label_name

if TYPE_CHECKING:  # pragma: no cover
    from annover.cli import diff_cmd
    from annover.model import stats as model_stats
    from annover.repo import Repo, layout, log_filter, reading, revisions
    from annover.repo.history import PruneResult
    from annover.store import refs, versions
    from annover.store.versions import Version
else:
    diff_cmd = lazy("annover.cli.diff_cmd")  # its rendering of rows, for -p (it imports the diff)
    # the repository's modules load when a command runs, not for its --help
    layout = lazy("annover.repo.layout")
    model_stats = lazy("annover.model.stats")
    log_filter = lazy("annover.repo.log_filter")
    reading = lazy("annover.repo.reading")
    revisions = lazy("annover.repo.revisions")
    refs = lazy("annover.store.refs")
    versions = lazy("annover.store.versions")


def warn_moved_tags(repo: Repo) -> None:
    """Say on stderr which tags were moved outside annover, and the commands that settle each."""
    for m in repo.moved_tags():
        info(f"warning: {m.describe(repo)} — {m.fix()}")


class CountLikeGit(click.Command):
    """``annover log -3``: git's short form of ``-n 3`` (click takes no option named by digits). A
    ``-3`` given as an option's value (``--task -3``) stays that value. ``--not``, as git log's: the
    revisions after it (up to the next ``--not``) are left out, each read as ``^REV``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value = {o for p in self.params if isinstance(p, click.Option) and not p.is_flag for o in p.opts}
        out: list[str] = []
        negate = False
        for i, arg in enumerate(args):
            if arg == "--":
                out += args[i:]
                break
            value = bool(out) and out[-1] in takes_value
            count = re.fullmatch(r"-(\d+)", arg)
            if arg == "--not" and not value:
                negate = not negate
            elif negate and not value and not arg.startswith("-"):
                out.append(arg[1:] if arg.startswith("^") else f"^{arg}")  # git: --not ^A is A again
            else:
                out += ["-n", count[1]] if count and not value else [arg]
        return super().parse_args(ctx, out)


@click.command(cls=CountLikeGit, epilog="""\b
Examples:
  annover log
  annover log -n 5 --oneline
  annover log -1                        # as git log -1: the newest version (-n 1)
  annover log v3 --json
  annover log v1..v3 --oneline          # the versions v3 reaches and v1 does not, as git log v1..v3
  annover log main...relabel --oneline  # those either branch has and the other not, as git log A...B
  annover log relabel review ^v2        # those either branch reaches and v2 does not, as git log A B ^C
  annover log main --not origin/main    # what main has that origin/main has not (^origin/main)
  annover log --all --oneline           # every branch's and tag's versions, as git log --all
  annover log --graph --oneline --all   # ... drawn as a graph of branches and merges, as git log --graph
  annover log --task img_042.jpg        # the versions that changed this task's labels
  annover log --task img_042.jpg -p     # ... each with what it changed (as git log -p)
  annover log --author alice --since 2.weeks.ago --oneline   # alice's versions of the last two weeks
  annover log --grep '^relabel' -i --until 2026-03-01 -n 3    # as git log's filters, then -n
""")
@click.argument("revs", nargs=-1, metavar="[REV | ^REV | A..B | A...B]...")
@click.option("-n", "--max-count", type=click.IntRange(min=1), help="Show at most N versions.")
@click.option("--oneline", is_flag=True, help="One line per version.")
@click.option("--graph", is_flag=True, help="Draw the versions' history beside them, merges and branches, as git "
              "log --graph (text; --json gives each version's parents).")
@click.option("--reverse", is_flag=True, help="Oldest first (after -n picks the newest N), as git log --reverse.")
@click.option("--task", "tasks", multiple=True, metavar="KEY", callback=not_empty,
              help="Only the versions that changed this task's rows (its data, answers or predictions), as "
                   "git log -- PATH; repeat for several. Keys are those `annover diff --rows` shows.")
@click.option("-p", "--patch", is_flag=True, help="With --task: each version's changes to those tasks, "
              "as `annover diff --rows` words them (from its first parent).")
@click.option("--all", "every", is_flag=True, help="The versions every branch, remote-tracking branch and tag "
              "reaches (and HEAD), as git log --all: a branch per labeling round, side by side.")
@click.option("--author", metavar="PATTERN", help="Only versions whose recorded author (`Name <email>`) "
              "matches this regular expression (a word matches as a substring), as git log --author.")
@click.option("--grep", metavar="PATTERN", help="Only versions whose message matches this regular expression.")
@click.option("-i", "--regexp-ignore-case", "ignore_case", is_flag=True, help="--author and --grep in any case.")
@click.option("--since", "--after", metavar="DATE", help="Only versions made at DATE or later: an ISO date or "
              "time, now, today, yesterday, or N.UNIT.ago / 'N UNIT ago' (seconds to weeks: 2.weeks.ago).")
@click.option("--until", "--before", metavar="DATE", help="Only versions made at DATE or earlier (a date alone: "
              "up to its end).")
@click.option("--decorate", is_flag=True, help="Accepted as git's: log always names each version's tags.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr (--task reads each version's rows).")
@json_option
def log(revs: tuple[str, ...], max_count: int | None, oneline: bool, graph: bool, reverse: bool,
        tasks: tuple[str, ...], patch: bool, every: bool, author: str | None, grep: str | None, ignore_case: bool,
        since: str | None, until: str | None, decorate: bool, quiet: bool, as_json: bool) -> None:
    """List versions reachable from REV (default HEAD), newest first; with several, those any reaches;
    ^REV leaves out what REV reaches; A..B is ^A B; A...B, those either reaches and the other does not.

    With --task, only those that changed the given tasks, and with -p what each changed. --author,
    --grep, --since and --until keep those that match (all given), before -n cuts, as git log's.
    """
    _check_log_options(revs, patch, every, tasks, graph, as_json)
    filters = {"author": author, "grep": grep, "since": since, "until": until, "ignore_case": ignore_case}
    only = log_filter.LogFilter.of(**filters)  # a bad date: exit 2, nothing read
    if graph and reverse:
        raise UsageError("--graph draws each version above its parents: --reverse cannot go with it, as in git",
                         "leave one of them out")
    repo = open_repo()
    rev = revs[0] if revs else "HEAD"
    patches: dict = {}
    if every or graph or revisions.is_set(revs):
        versions = repo.log(list(revs), max_count, all=every, **filters)
        if every or revisions.is_set(revs):
            return _print_log(repo, versions[::-1] if reverse else versions, patches, oneline, as_json,
                              _none(only) if only else
                              f"no versions in {' '.join(revs)}: the versions left out reach all the others do", graph,
                              branches=revisions.branch_tips(repo) if every else {})
    elif tasks:
        with Progress(quiet) as progress:
            progress(f"reading the versions' rows of {len(tasks)} task(s)")
            found = repo.task_log(list(tasks), rev, None if only else max_count, patch)
        versions = only.pick(found.versions, max_count)
        patches = {v.id: d for v, d in found.entries if d is not None}
        for key in found.unknown:
            info(f"warning: no version reachable from {rev} holds task {key!r} "
                 "(task keys are those `annover diff --rows` and `annover.load` show)")
    elif max_count is None:
        versions = repo.log(rev, **filters)
    else:  # only the printed versions' git tags checked (every tag file still compared with HEAD's)
        with repo.tags_of_versions():
            versions = repo.log(rev, max_count, **filters)
            repo.shown(*(v.id for v in versions))
            _print_log(repo, versions[::-1] if reverse else versions, patches, oneline, as_json, _none(only))
        return
    _print_log(repo, versions[::-1] if reverse else versions, patches, oneline, as_json, _none(only, tasks),
               graph=graph)


def _none(only: "log_filter.LogFilter", tasks: tuple[str, ...] = ()) -> str:
    """What ``log`` says on stderr when it lists no version (HEAD has one)."""
    return ("no version matches --author, --grep, --since and --until as given" if only
            else "no version changed them" if tasks else "no versions")


def _check_log_options(revs: tuple[str, ...], patch: bool, every: bool, tasks: tuple[str, ...], graph: bool,
                       as_json: bool) -> None:
    """The combinations of ``log``'s options it refuses, each with what to give instead."""
    if patch and not tasks:
        raise UsageError("-p shows what a version changed of the tasks --task names",
                         "add --task KEY, or see a version's whole change with `annover diff REV~1 REV --rows`")
    if every and tasks:
        raise UsageError("--all lists every branch's and tag's versions, not --task's",
                         "give --all alone (with -n, --oneline, --graph, --json), or leave it out")
    if tasks and revisions.is_set(revs):
        raise UsageError(f"--task reads the versions reachable from one REV, not {' '.join(revs)}",
                         "give one REV (`annover log B --task KEY`)")
    if graph and (tasks or as_json):
        raise UsageError(f"--graph draws the history in text, not with {'--json' if as_json else '--task'}",
                         "--json gives each version's parents; leave --graph out" if as_json else
                         "leave --graph out with --task (the versions it lists are not each other's parents)")


def _print_log(repo: Repo, versions: "list[Version]", patches: dict, oneline: bool, as_json: bool,
               none: str = "no version changed them", graph: bool = False,
               branches: "dict[str, list[str]] | None" = None) -> None:
    tags = repo.tags_of()
    say_repaired(repo)
    warn_moved_tags(repo)
    head = repo.head()
    if as_json:
        emit_json([{**v.to_json(), "tags": tags.get(v.id, []),
                    **({"changes": patches[v.id].rows_json(None)} if v.id in patches else {})} for v in versions])
        return
    if not versions:
        info("no versions yet; make one with `annover snapshot`" if not repo.head() else none)
        return
    drawn = Graph({v.id for v in versions}) if graph else None
    for v in versions:
        names = tags.get(v.id, []) + (branches or {}).get(v.id, [])
        deco = " (" + ", ".join((["HEAD"] if v.id == head else []) + names) + ")" if names or v.id == head else ""
        lines = [f"{short(v.id)}{deco} {v.message.splitlines()[0] if v.message else ''}".rstrip()] if oneline \
            else _version_lines(v, deco)
        if v.id in patches:
            lines += [f"    {line}" for line in diff_cmd.render_rows(patches[v.id].rows_json(None))] + [""]
        for line in drawn.draw(v, lines) if drawn else lines:
            echo(line)


def _version_lines(v: "Version", deco: str) -> list[str]:
    """A version as ``log`` shows it without --oneline, a line each (git log's medium format)."""
    s = v.stats
    merge = ["Merge:   " + " ".join(short(p) for p in v.parents)] if len(v.parents) > 1 else []
    stats = (f"Stats:   {counted(s.get('tasks', 0), 'tasks')}, {s.get('labeled', 0)} labeled, "
             f"{counted(s.get('annotations', 0), 'annotations')}, {s.get('skipped', 0)} skipped")
    message = [f"    {line}" for line in (v.message or "(no message)").splitlines()]
    return [f"version {v.id}{deco}", *merge, f"Author:  {v.author}", f"Date:    {v.created_at}", stats, "",
            *message, ""]


class Graph:
    """``log --graph``: git's drawing of the history beside each version, a column per line of history
    open at that point. A version is ``*`` in its column; below a merge its parents' lines fork (``|\\``),
    where two lines reach the same version they join (``|/``). Only the parents among the versions listed
    are drawn (``-n``, ``A..B`` cut the lines there)."""

    def __init__(self, listed: set[str]) -> None:
        self.listed = listed
        self.columns: list[str] = []  # the version each open line leads to

    def draw(self, v: "Version", lines: list[str]) -> list[str]:
        """``lines`` (the version's text) with the graph before each, then the rows that move the lines
        from this version to its parents."""
        if v.id not in self.columns:
            self.columns.append(v.id)
        at = self.columns.index(v.id)
        star = " ".join("*" if i == at else "|" for i in range(len(self.columns)))
        parents = [p for p in dict.fromkeys(v.parents) if p in self.listed]
        after = [c for i, c in enumerate(self.columns) if i != at or parents]
        rest = " ".join("|" for _ in after) or " "  # below the last line's end: its text indented as the others'
        out = [f"{star} {lines[0]}"] + [f"{rest} {x}".rstrip() for x in lines[1:]]
        return out + self._move(at, parents)

    def _move(self, at: int, parents: list[str]) -> list[str]:
        """The rows that take each open line from its column to its next one: a version's column forks to
        its parents (a merge's second parent beside the first), lines leading to one version join, and the
        lines right of a closed one move left; a line moves one column a row (``/`` left, ``\\`` right)."""
        new: list[str] = []
        starts: list[tuple[int, str]] = []
        for i, c in enumerate(self.columns):
            for target in (parents if i == at else [c]):
                starts.append((i, target))
                if target not in new:
                    new.append(target)
        self.columns = new
        moving = [(2 * i, 2 * new.index(t)) for i, t in starts]
        rows: list[str] = []
        while any(a != b for a, b in moving):
            row = [" "] * (2 * max(len(starts), len(new)) + 2)
            for k, (a, b) in enumerate(moving):
                step = (b > a) - (b < a)
                row[a + step] = row[a + step] if row[a + step] != " " else "|\\/"[step] if step else "|"
                moving[k] = (a + 2 * step, b)
            rows.append("".join(row).rstrip())
        return rows

def _annotator_names(repo: Repo) -> dict[str, str]:
    """Label Studio user ids the repository knows as e-mails, for display (``id`` -> ``email (id)``)."""
    try:
        return {str(uid): f"{email} ({uid})" for uid, email in reading.Users.load(repo.dir).mapping().items()}
    except AnnoverError:
        return {}


def _layout(t: dict | None) -> str:
    """How one table is stored, as ``show`` words it after its row count."""
    if t is None:
        return ""
    parts = f"{t['base_parts']} part{'s' if t['base_parts'] != 1 else ''}"
    if t["layout"] == "whole":
        return f"  ({parts})"
    n = t["deleted_tasks"]
    deleted = f", {n} task{'s' if n != 1 else ''} deleted" if n else ""
    return (f"  ({parts} + {t['deltas']} delta{'s' if t['deltas'] != 1 else ''}: "
            f"{t['upserted_rows']} rows upserted{deleted})")


def _stored(stored: dict | None, rev: str) -> str:
    if stored is None:
        return f"its objects are not here (`annover pull {rev}` fetches them)"
    out = f"{stored['objects']} objects, {size_text(stored['bytes'])}"
    if stored["new_bytes"] is None:
        return out
    return out + f"; new in this version: {stored['new_objects']} objects, {size_text(stored['new_bytes'])}"


def _show_config(repo: Repo, rev: str, as_json: bool) -> None:
    """``show --config``: the version's config text as stored (``--json``: with its ids)."""
    v = repo.show(rev)
    repo.shown(v.id)
    warn_moved_tags(repo)
    text = version_config(repo, v.id, rev)
    if as_json:
        emit_json({"version": v.id, "config": {"oid": v.config_ref.oid, "text": text}})
        return
    if sys.stdout.isatty():  # a terminal sees no escape sequence a config may hold; a file gets its bytes
        text = safe(text, lines=True)
    click.echo(text, nl=not text.endswith("\n"))


def _origin(repo: Repo, o: dict) -> str:
    """Where a version's content came from, as ``show`` words it: a file, a Label Studio project, or
    for a merge and a revert the versions it was made of (the record's ``origin``)."""
    def name(vid: str | None) -> str:
        return repo.name_of(vid, with_id=True) if vid else "?"

    if o.get("kind") == "merge":
        ours, theirs = (o.get("versions") or [None, None])[:2]
        n = o.get("conflicts") or 0
        settled = f"; {n} conflict(s) taken from {o.get('favor')}" if n and o.get("favor") else ""
        r = o.get("resolved")
        if isinstance(r, dict):  # settled one by one (merge --resolve)
            took = ", ".join(f"{r[s]} from {s}" for s in ("ours", "theirs") if isinstance(r.get(s), int) and r[s])
            settled = f"; {n} conflict(s) settled one by one: {took}" if n else ""
            settled += "".join(f"; the {w} from {r[k]}" for k, w in (("config", "labeling config"),
                                                                     ("source", "source data")) if r.get(k))
        return f"merge of {o.get('rev')} {name(theirs)} into {name(ours)} against {name(o.get('base'))}{settled}"
    if o.get("kind") == "revert":
        undone = f", undoing {name(o['reverts'])}" if o.get("reverts") else ""
        return f"revert: the content of {name(o.get('version'))}{undone}"
    where = o.get("path") or (f"{o.get('url')} project {o.get('project_id')}" if o.get("url") else "")
    return f"{o.get('kind')} {where} {('(' + o['format'] + ')') if o.get('format') else ''}".rstrip()


@click.command(epilog="""\b
Examples:
  annover show              # HEAD
  annover show v2 --json
  annover show HEAD~1
  annover show v2 --config > labeling.xml   # the labeling config v2 was read with

\b
--config prints the version's labeling config (Label Studio XML) as it was recorded, byte for
byte, and nothing else (as `git show v2:FILE`); a version that records none is exit 14.
""")
@click.argument("rev", default="HEAD")
@click.option("--config", "config_only", is_flag=True,
              help="Print only the version's labeling config (XML) on stdout.")
@json_option
def show(rev: str, config_only: bool, as_json: bool) -> None:
    """Show one version: its record, links (config, source data, predictions) and stats."""
    repo = open_repo()
    with repo.tags_of_versions():  # only the git tags of the versions shown checked
        if config_only:
            _show_config(repo, rev, as_json)
        else:
            _show(repo, rev, as_json)


def _show(repo: Repo, rev: str, as_json: bool) -> None:
    v = repo.show(rev)
    o = v.record.get("origin") or {}
    named = [o.get("base"), o.get("version"), o.get("reverts"),
             *(o.get("versions") if isinstance(o.get("versions"), list) else [])]
    repo.shown(v.id, *(x for x in named if isinstance(x, str)))  # _origin names them
    tags = repo.tags_of().get(v.id, [])
    say_repaired(repo)
    warn_moved_tags(repo)
    stored = layout.storage(repo, v)
    if as_json:
        emit_json({**v.to_json(), "tags": tags, "storage": stored})
        return
    r = v.record
    s = v.stats
    echo(f"version {v.id}" + (f" ({', '.join(tags)})" if tags else ""))
    echo(f"Parents: {' '.join(short(p) for p in v.parents) or '-'}")
    echo(f"Author:  {v.author}")
    echo(f"Date:    {v.created_at}")
    if o:
        echo(f"Origin:  {_origin(repo, o)}")
    echo("")
    for line in (v.message or "(no message)").splitlines():
        echo(f"    {line}")
    echo("")
    t = r["tables"]
    laid = (stored or {}).get("tables", {})
    echo("Snapshots:")
    echo(f"  tasks        {short(t['tasks']['id'])}  {t['tasks']['rows']} rows{_layout(laid.get('tasks'))}")
    echo(f"  annotations  {short(t['annotations']['id'])}  {t['annotations']['rows']} rows"
         f"{_layout(laid.get('annotations'))}")
    for mv, p in sorted(t.get("predictions", {}).items()):
        echo(f"  predictions  {short(p['id'])}  {p['rows']} rows  model_version={mv or '(none)'}"
             f"{_layout(laid.get(f'predictions {mv}'))}")
    echo(f"Storage: {_stored(stored, rev)}")
    echo(f"Config:  {short(r['config']['oid']) if r.get('config') else '-'}")
    src = r.get("source")
    if src:
        echo(f"Source:  {src['path']}  {src['nfiles']} files  "
                   f"{'dvc ' + src['dvc_md5'] if src.get('dvc_md5') else 'sha256 ' + src['sha256'][:12]}")
    echo("")
    echo(f"Tasks:       {s['tasks']} ({s['labeled']} labeled, {s['unlabeled']} unlabeled)")
    word = v.items_word
    echo(f"Annotations: {s['annotations']} ({s['skipped']} skipped), {s['regions']} {word}")
    if s.get("annotators"):
        names = _annotator_names(repo)
        echo("Annotators:  " + ", ".join(f"{names.get(k, model_stats.annotator_shown(k))} {n}"
                                         for k, n in s["annotators"].items()))
    for ctl, counts in s.get("labels", {}).items():
        echo(f"Labels {ctl}: " + ", ".join(f"{label_name(k)} {n}" for k, n in counts.items()))
    for mv, p in s.get("predictions", {}).items():
        echo(f"Predictions of model {versions.model_named(mv)}: {counted(p['tasks'], 'tasks')}, "
             f"{counted(p['regions'], word)}")


@click.command(epilog="""\b
Examples:
  annover tag                   # lists the tags and the versions they name, as git tag lists
  annover tag -l 'round-*'      # those whose name matches, as git tag -l PATTERN
  annover tag reviewed          # names HEAD
  annover tag baseline v2
  annover tag baseline v3 --force   # moves it; says which version it named before
  annover tag -d baseline           # deletes it (the version stays; v1, v2... are not deleted)
  annover tag --prune -n            # the tags of versions no branch reaches (a deleted branch's)
  annover tag --prune               # deletes those git tags (`annover status` lists them too)
""")
@click.argument("name", required=False)
@click.argument("rev", required=False)
@click.option("--force", is_flag=True, help="Move the tag if it exists (says what it named before).")
@click.option("-d", "--delete", is_flag=True, help="Delete tag NAME: its annover ref (in a commit) and its git tag.")
@click.option("--prune", is_flag=True, help="Delete the git tags annover made of versions no branch reaches (a "
              "deleted branch's, a `git reset --hard`'s), which `git push --tags` would publish; each is said with "
              "its commit. A tag a git remote has (asked with git ls-remote) and a tag of yours are left, and said.")
@click.option("-n", "--dry-run", is_flag=True, help="With --prune: only list the tags it would delete.")
@click.option("-l", "--list", "list_", is_flag=True,
              help="List the tags (as without NAME); a NAME is then a pattern (`v*`), as git tag -l's.")
@click.option("-q", "--quiet", is_flag=True,
              help="Quiet, as git tag is: nothing on success (nor the version a moved or deleted tag named); "
                   "warnings and errors are still said on stderr.")
@json_option
def tag(name: str | None, rev: str | None, force: bool, delete: bool, prune: bool, dry_run: bool, list_: bool,
        quiet: bool, as_json: bool) -> None:
    """Name version REV (default HEAD) NAME; also a git tag on the commit that made it. Without
    NAME, list the tags (vN in number order, then the others) and the versions they name.

    Unlike git tag, naming, moving (--force) or deleting (-d) a tag makes a commit on the current
    branch: it records .annover/refs/tags/NAME, annover's record of the name. A git fetch does not
    move or delete a tag it already has, so that commit, pushed and pulled with the branch, is how
    a teammate's clone learns a name moved or went; and it tells a tag moved with git from one moved
    with annover. The git tag is for git checkout NAME, dvc get --rev NAME."""
    if prune or dry_run:
        return _prune_tags(name, force or delete or list_, dry_run, prune, quiet, as_json)
    if name is None or list_:
        _check_listing(list_, rev, "--force" if force else "-d" if delete else None)
        return _list_tags(open_repo(), as_json, name)
    if delete and rev is not None:  # it would be ignored: the tag is deleted whatever it names
        raise click.UsageError(f"tag -d takes one NAME; {rev!r} is one argument too many",
                               click.get_current_context())
    repo = open_repo()
    out = repo.untag(name) if delete else repo.tag(name, "HEAD" if rev is None else rev, force=force)
    say_repaired(repo)
    if as_json:
        emit_json(out.to_json())
    elif quiet:
        return
    elif out.deleted:
        info(f"deleted tag {name}" + (f" (it named {short(out.version)})" if out.version else ""))
        _say_publish(repo, name, deleted=True)
    elif out.replaced:
        info(f"{name} -> {short(out.version)} (moved; it named {short(out.replaced)} before)")
        _say_publish(repo, name, deleted=False)
    else:
        info(f"{name} -> {short(out.version)}")


def _check_listing(list_: bool, rev: str | None, other: str | None) -> None:
    """A listing takes no REV, --force nor -d (with -l, NAME is its pattern)."""
    ctx = click.get_current_context()
    if list_ and rev is not None:
        raise click.UsageError(f"-l takes one PATTERN; {rev!r} is one argument too many", ctx)
    if other is not None:
        raise click.UsageError(f"-l lists the tags: {other} goes without it" if list_ else
                               f"{other} needs the tag's NAME", ctx)


def _say_publish(repo: Repo, name: str, deleted: bool) -> None:
    """How to publish a tag's move or deletion with the commit that records it, all or nothing: a git
    remote that has the tag refuses `git push --tags` (and `--atomic ... --tags`) a moved tag, and
    deletes none; `git push --force --tags` would leave the commit behind."""
    t = repo.scm.tracking()
    if t is None:
        return
    ref = shlex.quote(f"{':' if deleted else '+'}refs/tags/{name}")
    info(f"note: publish the {'deletion' if deleted else 'move'} with the commit that records it: `git push "
         f"--atomic {shlex.quote(t.remote)} {shlex.quote(t.branch)} {ref}` (a git remote that has {name} "
         f"{'keeps it with --tags' if deleted else 'refuses it with --tags'})")


def _prune_tags(name: str | None, other: bool, dry_run: bool, prune: bool, quiet: bool, as_json: bool) -> None:
    if not prune or name is not None or other:
        raise click.UsageError("-n goes with --prune" if not prune else "--prune takes no NAME, --force, -d nor -l",
                               click.get_current_context())
    repo = open_repo()
    out = repo.prune_tags(dry_run=dry_run)
    say_repaired(repo)
    for remote, why in out.unasked:  # a warning, said with -q and --json too
        info(f"warning: could not ask git remote {remote} which tags it has ({why}): a tag it has comes back with the "
             "next `git fetch --tags`")
    if as_json:
        emit_json(out.to_json())
    elif not quiet:
        _say_pruned(out)


def _push_delete(remote: str, tag: str) -> str:
    """The ``git push`` that deletes ``tag`` on ``remote``, as a command to paste: the name quoted, and
    after ``--`` where git would read it as an option (``git remote add -- --upload-pack=...``)."""
    return f"git push --delete {'-- ' if remote.startswith('-') else ''}{shlex.quote(remote)} {shlex.quote(tag)}"


def _say_pruned(out: "PruneResult") -> None:
    verb = "would delete" if out.dry_run else "deleted"
    for t in out.deleted:
        info(f"{verb} tag {t.name} (it named {short(t.version)}, commit {t.commit[:12]}; "
             f"`git tag {t.name} {t.commit[:12]}` makes it again)")
    for t, remote in out.kept:
        info(f"kept tag {t.name} (it names {short(t.version)}, commit {t.commit[:12]}): {remote} has it, and "
             f"`git fetch --tags` would bring it back; `{_push_delete(remote, t.name)}` deletes it there, "
             "then `annover tag --prune` here")
    for t in out.others:
        info(f"left tag {t.name} alone (commit {t.commit[:12]}, on no branch): annover did not make it; "
             f"`git tag -d {t.name}` deletes it")
    if not (out.deleted or out.kept or out.others):
        info("no tag to prune: every version a tag names is on a branch")


def _list_tags(repo: Repo, as_json: bool, pattern: str | None = None) -> None:
    warn_moved_tags(repo)  # the list gives git's tags: one a fetch did not move names the old version
    tags = sorted(((t, v) for t, v in repo.tags().items() if pattern is None or fnmatch.fnmatchcase(t, pattern)),
                  key=lambda kv: refs.tag_order(kv[0]))
    if as_json:
        emit_json([{"tag": t, "version": v} for t, v in tags])
        return
    for line in table([[t, short(v)] for t, v in tags], indent=""):
        echo(line)


@click.command(epilog="""\b
Examples:
  annover revert                # a new version undoing HEAD: its parent's content
  annover revert --to v2        # a new version holding v2's content
  annover revert --to v2 -m "back to the reviewed labels" --json

\b
Nothing is lost: the undone version keeps its tag and stays in the history
(see also: annover reset, which drops versions that are not pushed yet).
""")
@click.argument("rev", required=False)
@click.option("--to", "to", metavar="REV", help="Restore this version's content instead of HEAD's parent's.")
@click.option("-m", "--message", callback=not_blank, help="Message of the new version (default: Revert \"...\").")
@click.option("--tag", "tag_name", help="Name of the new version (default: the next vN).")
@click.option("-q", "--quiet", is_flag=True,
              help="Quiet, as snapshot -q: no summary on stderr; the new version's id is still printed on stdout, "
                   "warnings and errors on stderr.")
@json_option
def revert(rev: str | None, to: str | None, message: str | None, tag_name: str | None, quiet: bool,
           as_json: bool) -> None:
    """Make a new version that undoes HEAD (REV must be HEAD), or with --to, holds REV's content."""
    if rev is not None and to is not None:
        raise UsageError("give REV or --to REV, not both", "see `annover revert --help`")
    repo = open_repo()
    out = repo.revert("HEAD" if rev is None else rev, to=to, message=message, tag=tag_name)
    say_repaired(repo)
    if as_json:
        emit_json(out.to_json())
        return
    if out.version is None:
        if not quiet:
            info(f"HEAD already holds the content of {short(out.restored)}; no new version")
        return
    if not quiet:
        info(f"{out.tag} {short(out.version.id)}  content of {short(out.restored)}"
             + (f", undoing {short(out.reverted)}" if out.reverted else ""))
    click.echo(out.version.id)


@click.command(epilog="""\b
Examples:
  annover reset v2 --dry-run    # what would be dropped
  annover reset v2              # asks before dropping the versions after v2
  annover reset HEAD~1 --force  # drop HEAD without asking (scripts)

\b
HEAD goes back to REV; the versions after it lose their tags (annover's and
git's) and their records, in a new commit (git's history keeps them). Versions
already on a git remote are never dropped: undo those with `annover revert`.
""")
@click.argument("rev")
@click.option("--force", is_flag=True, help="Drop without asking.")
@click.option("--dry-run", is_flag=True, help="Only list what would be dropped.")
@click.option("-q", "--quiet", is_flag=True,
              help="Quiet, as git reset -q: nothing on success (nor what --dry-run would drop: --json gives it); "
                   "warnings, errors and the question without --force are still said on stderr.")
@json_option
def reset(rev: str, force: bool, dry_run: bool, quiet: bool, as_json: bool) -> None:
    """Move HEAD back to version REV, dropping the versions made after it (not pushed ones only)."""
    repo = open_repo()
    plan = repo.reset(rev, dry_run=True)
    tags = repo.tags_of()
    listed = [f"{short(v)} {' '.join(sorted(tags.get(v, [])))}".rstrip() for v in plan.dropped]
    if dry_run or not plan.dropped:
        if as_json:
            emit_json(plan.to_json())
        elif not quiet:
            info(f"would drop {len(plan.dropped)} version(s): {', '.join(listed)}" if plan.dropped
                 else f"HEAD is already {short(plan.target)}; nothing to drop")
        return
    if not force:
        if not sys.stdin.isatty():
            raise UsageError(f"reset to {rev} would drop {len(plan.dropped)} version(s): {', '.join(listed)}",
                             "pass --force to drop them, or undo with a new version: annover revert --to " + rev)
        if not click.confirm(f"Drop {len(plan.dropped)} version(s) ({', '.join(listed)})?", err=True):
            raise click.exceptions.Abort()
    out = repo.reset(rev, force=True, asked=plan.head)  # what landed since the question is not dropped
    say_repaired(repo)
    if as_json:
        emit_json(out.to_json())
    elif not quiet:
        info(f"HEAD is now {short(out.target)}; dropped {', '.join(listed)}")
