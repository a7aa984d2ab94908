"""``Repo``: an annover repository, with one method per command of the command line.

    repo = Repo(".")                                  # searches parent folders
    res = repo.snapshot("export.json", config="labeling.xml", message="round 1")
    repo.log(); repo.show("v2"); repo.diff("v1", "v2"); repo.push("v2")

Every method returns data (a version, a table, a result dataclass with ``to_json()``) and
prints nothing.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from annover._lazy import lazy
from annover.errors import NotARepoError, ObjectError, UsageError
from annover.files import long_name
from annover.model import canonical as C
from annover.repo import remote as remote_
from annover.repo import revisions
from annover.repo.outputs import check_output
from annover.store import git as git_
from annover.repo.core import RepoCore, ancestors, touched_tasks
from annover.repo.log_filter import LogFilter
from annover.repo.results import (ExportResult, InitResult, Log, SnapshotResult, StatusResult, TagResult,
                                  TransferResult)
from annover.repo.revisions import split_range

# The commands that read, diff or talk to Label Studio bind their modules here and load them
# on first use (as heavy libraries are bound), so `annover log` does not import the diff,
# the readers or the Label Studio client. import-linter reads the TYPE_CHECKING branch.
if TYPE_CHECKING:  # pragma: no cover
    from datetime import datetime

    import datasets
    import pyarrow as pa

    from annover import diffing
    from annover.diffing import DiffResult
    from annover.labelstudio.client import Client
    from annover.labelstudio.datasets import Datasets, RecordChange
    from annover.loop import api as loop_api
    from annover.loop import report as loop_report
    from annover.loop.agreement import AgreementResult
    from annover.loop.evaluate import EvalResult
    from annover.loop.report import ReportResult
    from annover.loop.sample import SampleResult
    from annover.loop.suspects import SuspectsResult
    from annover.repo import export as export_
    from annover.repo import history
    from annover.repo import labelstudio as ls
    from annover.repo import merging
    from annover.repo import reading
    from annover.repo import dry_run as dry
    from annover.repo import snapshot as snap
    from annover.repo import task_log
    from annover.repo.history import ResetResult, RevertResult
    from annover.repo.merging import MergeResult
    from annover.store.versions import Version
else:
    diffing = lazy("annover.diffing")
    dry = lazy("annover.repo.dry_run")
    export_ = lazy("annover.repo.export")
    history = lazy("annover.repo.history")
    ls = lazy("annover.repo.labelstudio")
    merging = lazy("annover.repo.merging")
    loop_api = lazy("annover.loop.api")
    loop_report = lazy("annover.loop.report")
    reading = lazy("annover.repo.reading")
    snap = lazy("annover.repo.snapshot")
    task_log = lazy("annover.repo.task_log")

__all__ = ["Repo"]

Progress = Callable[[str], None]


def _refuse_stray(given: dict[str, Any], goes_with: str, hint: str) -> None:
    """Refuse the options of ``given`` that were given (not None or False): they go with
    ``goes_with`` (``hint``'s ``{}``: it or them)."""
    stray = [o for o, v in given.items() if v not in (None, False)]
    if stray:
        one = len(stray) == 1
        raise UsageError(f"{' and '.join(stray)} go{'es' if one else ''} with {goes_with}",
                         hint.format("it" if one else "them"))


def check_path_arg(value: object, keyword: str) -> None:
    """A path given to the API (``out=``, ``repo=``, ``source=``...): a str or ``os.PathLike``, and
    not the empty string, which the CLI refuses too (``--out "$UNSET"``: an unset variable, never
    the current folder)."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise UsageError(f"{keyword}={value!r:.60} is {type(value).__name__}, not a path",
                         f"give {keyword}= as a str or a pathlib.Path")
    check_not_empty(value, keyword)


def check_not_empty(value: object, keyword: str) -> None:
    """The empty string given for a path or name is refused, as the CLI refuses ``--out ""``."""
    if isinstance(value, str) and value == "":
        raise UsageError(f"{keyword}='': it is empty (an unset variable?)", "give a value, or leave it out")


def check_int_arg(value: object, keyword: str, least: int | None = None) -> None:
    """A count given to the API (``limit=``, ``n=``...): an int (not a bool, not "3"), at least ``least``."""
    if isinstance(value, bool) or not isinstance(value, int) or (least is not None and value < least):
        wanted = "a whole number" if least is None else f"a whole number of at least {least}"
        raise UsageError(f"{keyword}={value!r:.60} is not {wanted}", f"give e.g. {keyword}={max(least or 0, 1) * 10}")


def check_seconds_arg(value: object, keyword: str = "timeout") -> None:
    """A timeout given to the API: seconds from 0.1 to a day, as ``--timeout`` takes (None: the default)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) \
            or not 0.1 <= value <= 86400:
        raise UsageError(f"{keyword}={value!r:.60} is not a number of seconds from 0.1 to 86400 (a day)",
                         f"give e.g. {keyword}=30, or leave it out for the default")


def _one_policy(resolve: str | None, policy: str | None) -> str | None:
    """``resolve=`` (the CLI's ``--resolve``, as ``load`` and ``export`` name it) or its older name ``policy=``."""
    if resolve is not None and policy is not None and resolve != policy:
        raise UsageError(f"resolve={resolve!r} and policy={policy!r} name the same rule (policy= is its older name)",
                         "give resolve= alone")
    return resolve if resolve is not None else policy


def diff_range(repo: RepoCore, a: str, b: str | None = None) -> tuple[str, str]:
    """(A, B) of ``diff A B``, ``diff A`` (B left out: HEAD), ``diff A..B`` (a side left out is
    HEAD, as in git), or ``diff A...B``: from the nearest common version of A and B to B, as ``git diff
    A...B`` diffs from their merge base (what a round's branch changed since it left main; ``repo``
    finds that version), for ``annover diff`` and ``Repo.diff`` alike."""
    ends = split_range(a) if isinstance(a, str) else None
    if ends is None:
        return a, "HEAD" if b is None else b  # an empty B is refused as a revision, not taken as HEAD
    if b is not None:
        raise UsageError(f"{a!r} is a range and {b!r} a second version", "give A B or A..B, not both")
    left, right, both = ends
    return (fork_point(repo, left, right, a) if both else left), right


def fork_point(repo: RepoCore, a: str, b: str, spec: str) -> str:
    """The nearest common version of revisions ``a`` and ``b`` as people name it (git's merge base;
    the newest of several after criss-cross merges, as ``annover merge`` takes), for ``A...B``."""
    va, vb = repo.resolve_all(a, b)
    bases = merging.merge_base(ancestors(repo, va), ancestors(repo, vb))
    if not bases:
        raise UsageError(f"{spec!r}: {a} ({repo.name_of(va, True)}) and {b} ({repo.name_of(vb, True)}) share "
                         "no version, so none they forked from", f"compare them whole: annover diff {a} {b}")
    return repo.name_of(bases[0])


def _one_format(fmt: str | None, format: str | None) -> str | None:
    """``snapshot(format=)`` (the CLI's ``--format``, as ``load`` names it) or its older name ``fmt=``."""
    if fmt is not None and format is not None and fmt != format:
        raise UsageError(f"format={format!r} and fmt={fmt!r} name the same thing (fmt= is its older name)",
                         "give format= alone")
    return format if format is not None else fmt


def _check_tag_name(name: object) -> None:
    if not isinstance(name, str):
        raise UsageError(f"tag name {name!r:.60} is {type(name).__name__}, not text",
                         "give the name as a string, e.g. 'v3' or 'round-2'")


#: What ``dir(repo)`` and tab completion list: the commands' methods (README's "Python API" and
#: "The labeling loop"), the read-only questions a script asks of versions (``resolve``, ``show``,
#: ``head``, ``tags``, ``version``, ``config_text``, ``commit_of``), and ``root``; not RepoCore's plumbing.
PUBLIC = ("agreement", "commit_of", "config_text", "datasets", "datasets_on", "diff", "eval", "export", "head",
          "init", "load", "log", "merge", "prune_tags", "pull", "push", "report", "reset", "resolve", "revert", "root",
          "sample", "show", "snapshot", "status", "suspects", "tag", "tags", "task_log", "touched_tasks", "untag",
          "version")


class Repo(RepoCore):
    """An annover repository. ``Repo(path)`` opens one (searching parent folders);
    ``Repo.init(path)`` makes one.

        repo = annover.Repo(".")          # NotARepoError (exit 6) when no folder at or above is one
        repo.log(limit=3); repo.load("v2"); repo.diff("v1", "v2")
    """

    def __init__(self, path: str | Path | None = ".") -> None:
        """Open the repository at or above ``path`` (None: the current folder); an empty or non-path
        ``path`` is a :class:`~annover.errors.UsageError` (``Repo("")`` is not the current folder)."""
        if path is not None:
            check_path_arg(path, "path")
        super().__init__(path)

    def __repr__(self) -> str:
        return f"Repo({str(self.root)!r})"

    def __dir__(self) -> list[str]:
        """What tab completion offers: :data:`PUBLIC` (the documented API), not the plumbing
        (``commit``, ``lock``, ``store``...), which stays callable; dunder names as usual."""
        return sorted(PUBLIC + tuple(n for n in super().__dir__() if n.startswith("__")))

    @classmethod
    def init(cls, path: str | Path = ".", remote: str | None = None,
             remote_options: dict[str, str] | None = None) -> InitResult:
        """``annover init``: make ``path`` a repository (harmless when it is one); ``.repo`` opens it.

        Refused, before anything is made, inside a git repository whose HEAD is detached:
        the commit ``init`` makes would be on no branch; ``path=""`` is a UsageError, as
        ``annover init ''`` is (not the current folder).
        """
        check_path_arg(path, "path")
        if not long_name(path) and Path(path).is_dir() and git_.detached_head(Path(path)):  # a long name: init says
            raise NotARepoError(f"git HEAD is detached in {Path(path).resolve()}: annover's first commit would be on "
                                "no branch", f"switch to a branch first: `git switch {git_.branch_back(Path(path))}` "
                                "(or `git switch -c NAME`), "
                                "then run `annover init` again")
        return remote_.init(cls, path, remote, remote_options)

    def snapshot(self, source: str | None = None, *, config: str | None = None, message: str = "",
                 tag: str | None = None, key: str | None = None, source_data: str | None = None,
                 predictions: str | None = None, validate: bool | str | None = None, fmt: str | None = None,
                 users: str | None = None, label_studio: str | int | None = None, full: bool = False,
                 url: str | None = None, api_key: str | None = None, client: Client | None = None,
                 progress: Progress | None = None, dry_run: bool = False, format: str | None = None,
                 update: bool = False, allow_empty: bool = False) -> SnapshotResult:
        """``annover snapshot``: a new version from the file ``source`` or the Label Studio
        project ``label_studio`` (``full``, ``url``, ``api_key``, ``client`` are for that pull).

        ``key`` (``"auto"``: the format's default) and ``validate`` (True/False or ``strict``,
        ``check``, ``warn``, ``off``) left None are HEAD's; ``users`` is a file mapping Label
        Studio user ids to e-mails, remembered by the repository. ``dry_run``: nothing written;
        the result says whether a version would be made, its tag, and ``diff`` from HEAD. ``update``
        (``--update``): the input's tasks, answers and predictions are added to HEAD's, those of the
        same keys replaced, nothing of HEAD's removed (a project of some of the tasks: a sample's round).
        ``predictions`` alone (no ``source``, no ``label_studio``): HEAD with that file's predictions
        added, as ``--update`` adds them (a model run over HEAD's tasks; see docs/loop.md). An input of no
        task is refused (``InputError``: an empty export would remove every task) unless ``allow_empty``.

        Returns a :class:`SnapshotResult` (``.version``, ``.tag``, ``.changed``; ``changed=False``:
        HEAD already holds this content, nothing made). Raises ``InputError`` (exit 3: the file),
        ``ValidationError`` (4: labels the config does not allow), ``ConfigError`` (5),
        ``UsageError`` (2), ``LockError`` (9), with the CLI's one-line message. ``format`` is
        ``--format`` (as ``load(format=)`` names it; ``fmt=`` is the older name, kept).

            res = repo.snapshot("export.json", config="labeling.xml", message="round 3")
            res.tag, res.version.id[:12], res.warnings
        """
        fmt = _one_format(fmt, format)
        for keyword, value in (("key", key), ("tag", tag), ("format", fmt)):
            if value is not None and not isinstance(value, str):
                raise UsageError(f"{keyword}={value!r:.60} is {type(value).__name__}, not text",
                                 f"give {keyword}= as a string (see `annover snapshot --help`)")
        if label_studio is None:  # a pull's options on a file would be ignored in silence
            _refuse_stray({"--full": full, "--ls-url": url, "--ls-api-key": api_key}, "--label-studio DATASET",
                          "pull a Label Studio project with --label-studio DATASET, or leave {} out to read --from FILE")
        else:  # a pull reads the server's JSON and its users
            _refuse_stray({"--format": fmt, "--users": users}, "--from FILE",
                          "a Label Studio pull reads the server's own export and its users' e-mails; leave {} out")
        for keyword, value in (("source", source), ("config", config), ("source_data", source_data),
                               ("predictions", predictions), ("users", users)):
            check_not_empty(value, keyword)  # an empty --from, --config...: exit 2 (types: SnapshotInput)
        alone = source is None and label_studio is None and predictions is not None
        if alone:  # HEAD's tasks, answers, config and key rule, with the file's predictions
            _refuse_stray({"--config": config, "--key": key, "--source": source_data, "--format": fmt,
                           "--users": users}, "--from FILE",
                          "--predictions alone adds a model's predictions to HEAD's tasks, read with HEAD's "
                          "config and key rule; leave {} out, or give the tasks too with --from FILE")
        elif (source is None) == (label_studio is None):
            raise UsageError("give exactly one of --from FILE and --label-studio DATASET (or --predictions FILE "
                             "alone, to add a model's predictions to HEAD)", "see `annover snapshot --help`")
        inp = snap.SnapshotInput(source=source, config=config, message=message, tag=tag, key=key,
                                 source_data=source_data, predictions=predictions, validate=validate, fmt=fmt,
                                 users=users, update=bool(update), allow_empty=bool(allow_empty))
        if label_studio is not None:
            return ls.snapshot_label_studio(self, label_studio, inp, full=full, client=client, url=url,
                                            api_key=api_key, progress=progress or snap.noop, dry_run=dry_run)
        if dry_run:
            return dry.dry_run(self, inp, progress or snap.noop, str(predictions if alone else source))
        return snap.make_version(self, inp, progress or snap.noop)

    def tag(self, name: str, rev: str = "HEAD", force: bool = False) -> TagResult:
        """``annover tag``: name a version (an annover ref committed to git, and a git tag on its
        commit); an existing name moves only with ``force`` (``.replaced`` says what it named)."""
        _check_tag_name(name)
        return history.tag(self, name, rev, force)

    def untag(self, name: str) -> TagResult:
        """``annover tag -d``: delete tag ``name`` (its annover ref, in a commit, and its git tag);
        the version stays. The numbers annover gives (``v3``) are not deleted: the next snapshot
        would be given the number."""
        _check_tag_name(name)
        return history.untag(self, name)

    def revert(self, rev: str | None = "HEAD", *, to: str | None = None, message: str | None = None,
               tag: str | None = None) -> RevertResult:
        """``annover revert``: a new version undoing HEAD (its parent's content), or with ``to``
        holding version ``to``'s content; the history keeps everything."""
        return history.revert(self, rev, to, message, tag)

    def merge(self, rev: str, *, favor: str | None = None, resolve: Mapping[str, Any] | None = None,
              dry_run: bool = False, message: str | None = None, tag: str | None = None,
              progress: Progress | None = None) -> MergeResult:
        """``annover merge``: bring version ``rev`` (a branch, tag or version) into HEAD's, as ``git
        merge`` does: already up to date, a fast-forward, or a three-way merge by task and answer
        against their nearest common version, committed as a new version with two parents (and a
        git merge commit). Conflicts raise :class:`annover.errors.MergeConflictError` with nothing
        written unless ``favor`` (``"ours"`` / ``"theirs"``) takes that side for every one, or
        ``resolve`` gives each its side, one by one (``{"tasks": {"t1": "theirs", ...}, "config":
        "ours", "source": "theirs"}``, what ``annover merge --resolve FILE`` reads; ``favor`` then
        takes those it does not name); ``dry_run`` says what would be done and writes nothing."""
        return merging.merge(self, rev, favor, dry_run, message, tag, progress or (lambda _: None), resolve)

    def reset(self, rev: str, *, force: bool = False, dry_run: bool = False, asked: str | None = None) -> ResetResult:
        """``annover reset``: HEAD back to ``rev``, dropping the unpublished versions after it
        (``force`` to do it, ``dry_run`` to see what would go; ``asked``: the HEAD the user confirmed)."""
        return history.reset(self, rev, force, dry_run, asked)

    def status(self, remote: bool = True, timeout: float | None = None) -> StatusResult:
        """``annover status``: HEAD, its tags, the DVC remote (waiting ``timeout`` s for its first
        answer), and the versions it lacks. Returns a :class:`StatusResult` (``.head``, ``.tags``,
        ``.pushed``, ``.unpushed``; ``remote=False``: the remote is not asked, both None).

            repo.status(timeout=5).unpushed
        """
        check_seconds_arg(timeout)
        return remote_.status(self, remote, timeout)

    def prune_tags(self, dry_run: bool = False) -> history.PruneResult:
        """``annover tag --prune``: delete the git tags annover made of versions no branch,
        remote-tracking branch or HEAD reaches (a deleted branch's, a `git reset --hard`'s); what was
        deleted (``dry_run``: would be), and what was left: a tag a git remote has (`git fetch --tags`
        would bring it back), a user's own tag (on any commit)."""
        return history.prune_tags(self, dry_run)

    def export(self, rev: str, fmt: str, out: str | Path, table: str = "annotations", resolve: str | None = None,
               predictions: str | None = None, force: bool = False,
               progress: Callable[[str, int, int], None] | None = None,
               tasks: Iterable[str] | None = None, images: str | Path | None = None,
               tag_scheme: str | None = None) -> ExportResult:
        """``annover export``: write version ``rev`` as ``fmt`` to ``out`` (replacing it only with
        ``force``); for the training formats ``resolve`` picks one answer per task and
        ``predictions`` a model version's predictions instead (docs/formats.md). ``progress``:
        told ``(step, items written, items)`` as Label Studio JSON, JSON-MIN, JSONL and CSV are.
        ``tasks`` (task keys): only those tasks, as :meth:`load` reads them; the keys the version
        has no task of are the result's ``missing_tasks``. ``images`` (YOLO, VOC): the folder the
        tasks' images are in, put into the export beside their labels (checked against the sha256
        the version recorded of each, where it did). ``tag_scheme`` (CoNLL: ``bio``, ``iob1``, ``bioes``;
        seqeval's ``IOB2``, ``IOBES`` too): the tags' scheme, by default the one the CoNLL file read in had.

        Returns an :class:`ExportResult` (``.path``, ``.rows``, ``.bytes``); an existing ``out``
        without ``force`` is a ``UsageError``, as ``--out`` without ``--force`` is.

            repo.export("v2", "yolo", "yolo-v2", resolve="majority", images="images/")
        """
        check_path_arg(out, "out")
        if images is not None:
            check_path_arg(images, "images")
        return export_.export(self, rev, fmt, out, table, resolve=resolve, predictions=predictions, force=force,
                              progress=progress, tasks=tasks, images=images, tag_scheme=tag_scheme)

    def push(self, rev: str | None = None, remote: str | None = None,
             timeout: float | None = None) -> TransferResult:
        """``annover push``: what the DVC remote lacks of version ``rev``, or (None) of every
        version reachable from HEAD and the tags, like ``git push``. Returns a
        :class:`TransferResult` (``.moved``, ``.up_to_date``: version ids; ``.transferred``: files);
        a remote that does not answer within ``timeout`` s is a ``RemoteUnreachableError`` (exit 10).
        Versions that cannot be moved raise once the others are: the error's ``result`` is the
        :class:`TransferResult` of what moved, its ``failed`` each version not moved and why.

            repo.push().moved
        """
        check_seconds_arg(timeout)
        return remote_.push(self, rev, remote, timeout)

    def pull(self, rev: str | None = None, remote: str | None = None,
             timeout: float | None = None) -> TransferResult:
        """``annover pull``: what the DVC cache lacks of version ``rev``, or (None) of every
        version reachable from HEAD and the tags; HEAD's objects land in the work tree. Returns a
        :class:`TransferResult`, as :meth:`push`.

            repo.pull("v1")              # then repo.load("v1") reads it here
        """
        check_seconds_arg(timeout)
        return remote_.pull(self, rev, remote, timeout)

    def load(self, rev: str = "HEAD", table: str = "annotations", *, model_version: str | None = None,
             columns: list[str] | None = None, format: str | None = None,
             resolve: str | None = None, tasks: Iterable[str] | None = None, split: str | None = None
             ) -> pa.Table | datasets.Dataset:
        """Table ``table`` of version ``rev`` (predictions: of all model versions, or one); with
        ``format="hf"`` the version as a Hugging Face ``datasets.Dataset`` (one answer per task by
        ``resolve``, or ``model_version``'s predictions; ClassLabels from the config; every task whatever
        its split, which ``export --format hf`` writes as a ``DatasetDict``: ``split="train"``,
        ``"validation"`` or ``"test"`` gives that split's rows of it).

        ``tasks`` (task keys): only those tasks' rows, the same rows, order and schema as the
        whole table filtered to them, read from the Parquet parts whose key range can hold them
        (a key no task has selects nothing; a single string is a UsageError).

        Returns a ``pyarrow.Table`` (or the ``datasets.Dataset``); an unknown ``rev`` is a
        ``RevisionError``, an unknown ``table``, column or ``model_version`` a ``UsageError``,
        objects not pulled an ``ObjectError``.

            repo.load("v2", columns=["task_key", "annotator", "labels"]).to_pandas()
            repo.load("v2", "predictions", model_version="bert-v2")
        """
        keys = reading.task_keys(tasks) if tasks is not None else None  # (a load without tasks= imports no reader)
        if format is not None or split is not None:  # (a table's load imports no export module)
            export_.check_load_format(format, table, columns, keys, split)
        if format is not None:
            return export_.load_hf(self, rev, resolve, model_version, split)
        return C.nullable_ids(self.read_table(rev, table, model_version, columns, keys), table)

    def log(self, rev: str | list[str] | tuple[str, ...] = "HEAD", limit: int | None = None, *,
            all: bool = False, tasks: list[str] | None = None, author: str | None = None, grep: str | None = None,
            since: str | datetime | None = None, until: str | datetime | None = None,
            ignore_case: bool = False) -> list[Version]:
        """Versions reachable from ``rev``, newest first (all parents, like ``git log``). ``rev`` may name a
        set as git rev-list takes it (:mod:`annover.repo.revisions`): ``"v1..v4"`` (what v4 reaches and v1
        does not), ``"main...side"`` (what either reaches and the other not), ``"^v2"`` (what v2 reaches left
        out), or a list of those (``["side", "^main"]``; an empty list: HEAD). ``all`` adds HEAD, every
        branch, remote-tracking branch and tag, as ``git log --all``. With ``tasks`` (task keys, with one
        ``rev``), only those that changed those tasks' rows, as ``git log -- PATH`` (``annover log --task``;
        see :mod:`annover.repo.task_log`). ``limit`` (``-n``): at most that many.
        ``author`` / ``grep`` (regular expressions searched in the recorded author and the message;
        ``ignore_case`` as git's ``-i``) and ``since`` / ``until`` (``"2.weeks.ago"``, ``"2026-03-01"``,
        a datetime) keep the versions that match, before ``limit`` cuts, as git log's options
        (:mod:`annover.repo.log_filter`); a date or pattern it cannot read is a ``UsageError``.

        Returns a list of :class:`Version` (``.id``, ``.message``, ``.created_at``, ``.stats``).

            [(v.id[:12], v.message) for v in repo.log(limit=5)]
            repo.log(author="alice", since="2.weeks.ago")
            repo.log("v1..v4"); repo.log(["side", "^main"]); repo.log(all=True, limit=10)
        """
        if limit is not None:
            check_int_arg(limit, "limit", 0)
        only = LogFilter.of(author, grep, since, until, ignore_case)
        walk = None if only else limit
        revs = list(rev) if isinstance(rev, (list, tuple)) else [rev]
        if tasks is not None:
            if all or revisions.is_set(revs):
                raise UsageError(f"tasks= reads the versions reachable from one rev, not "
                                 f"{'all=True' if all else ' '.join(map(str, revs))}",
                                 "give one rev (repo.log('B', tasks=[...]))")
            one = revs[0] if revs else "HEAD"
            return Log(only.pick(task_log.log_tasks(self, one, tasks, walk).versions, limit), self.tags_of)
        if all and rev == "HEAD":  # all=True takes HEAD, if there is one
            revs = []
        if all or isinstance(rev, (list, tuple)) or revisions.is_set(revs):
            return Log(only.pick(revisions.versions(self, revs, all), limit), self.tags_of)
        return Log(only.pick(super().log(rev, walk), limit), self.tags_of)

    def task_log(self, tasks: list[str] | str, rev: str = "HEAD", limit: int | None = None,
                 patch: bool = False) -> task_log.TaskLog:
        """``annover log --task KEY [-p]``: the versions reachable from ``rev`` that changed the
        rows of ``tasks`` (task keys), newest first; with ``patch``, each with its diff from its
        first parent narrowed to those tasks; and the keys no version read holds."""
        return task_log.log_tasks(self, rev, tasks, limit, patch)

    def touched_tasks(self, a: str, b: str = "HEAD", table: str = "annotations") -> pa.Array | None:
        """Keys of the tasks whose rows of ``table`` may differ between versions ``a`` and ``b``,
        from the parts' stored task hashes (every other task has the same rows on both sides);
        None when the parts cannot tell."""
        va, vb = (self.version(v) for v in self.resolve_all(a, b))
        return touched_tasks(self.store, va, vb, table)

    def diff(self, a: str, b: str | None = None, *, iou_threshold: float | None = None,
             overlap_threshold: float | None = None, policy: str | None = None, transitions: bool = False,
             fast: bool = True, tasks: list[str] | None = None, keep_rows: bool = True,
             summary: bool = True) -> DiffResult:
        """``annover diff A B``: what changed from version ``a`` to version ``b`` (default HEAD); reads only the
        Parquet parts the two do not share (``fast=False`` compares every part, for checking).
        With ``tasks`` (task keys), only what changed of those tasks (``annover diff --task``).
        ``keep_rows=False``: hold none of the rows read for ``.rows`` (the summary of a large
        diff in less memory; ``.rows``, if asked for, reads them again). ``summary=False``: only
        ``.touched`` (the tasks whose answers differ) and ``.transitions``, what ``annover report``
        shows; nothing counted (``.summary`` names the sides alone, ``.rows`` is refused).

        A threshold or policy left None is the diff's default (``annover.diffing.DEFAULT_IOU``,
        ``DEFAULT_OVERLAP``, ``DEFAULT_POLICY``: what ``annover diff`` uses). ``a`` may be a range
        as the CLI takes it: ``"v1..v2"``, ``"v1.."`` (to HEAD), ``"main...relabel"`` (from the two's nearest
        common version to ``relabel``, as ``git diff A...B``).

            d = repo.diff("v1..v2")       # the same as repo.diff("v1", "v2")
            d.summary["tasks"], d.rows.num_rows
        """
        a, b = diff_range(self, a, b)
        given = {"iou_threshold": iou_threshold, "overlap_threshold": overlap_threshold, "policy": policy}
        options = diffing.Options(transitions=transitions, keep_rows=keep_rows, summary=summary,
                                  **{k: v for k, v in given.items() if v is not None})
        va, vb = (self.version(v) for v in self.resolve_all(a, b))
        if tasks is not None:
            result = task_log.diff_tasks(self, va, vb, (a, b), tasks, options.check())
            result.check_output = lambda path, force: check_output(self, path, "path", force)
            return result
        try:
            result = diffing.diff_versions(self.store, va, vb, rev_a=a, rev_b=b, options=options, fast=fast)
        except ObjectError as e:  # a version given by its full id (as the report gives them) named as people do
            na, nb = (self.name_of(v.id) if rev == v.id else rev for rev, v in ((a, va), (b, vb)))
            raise ObjectError(f"{na} -> {nb}: {e.message}", self._pull_hint((na, va), (nb, vb))) from None
        change = reading.key_change(reading.reading_of(va), reading.reading_of(vb), f"{a} -> {b}")
        if change:
            result.summary.setdefault("warnings", []).append(change)
        result.check_output = lambda path, force: check_output(self, path, "path", force)
        return result

    def _pull_hint(self, *sides: "tuple[str, Version]") -> str:
        """The pulls that fetch what a diff of ``sides`` (name, version) lacks: of the versions whose
        objects are not all here (a clone that pulled one side names the other alone)."""
        lacking = [name for name, v in dict(sides).items() if not self._all_here(v)] or [n for n, _ in sides]
        pulls = " and ".join(f"`annover pull {n}`" for n in dict.fromkeys(lacking))
        whose = "the two versions'" if len(lacking) > 1 else "that version's"
        return f"run {pulls} to fetch {whose} objects from the DVC remote"

    def _all_here(self, v: "Version") -> bool:
        try:
            self.check_objects_here(v, v.id)
        except ObjectError:
            return False
        return True

    def datasets_on(self, client: Client | None = None) -> Datasets:
        """The datasets of a Label Studio server, bound to this repository (``annover dataset``)."""
        return ls.datasets_on(self, client)

    @property
    def datasets(self) -> Datasets:
        """The datasets of the environment's Label Studio server (connected on first use)."""
        return self.datasets_on()

    def save_dataset_record(self, change: RecordChange) -> str | None:
        """Commit a dataset's record (what ``Datasets`` hands a bound repository)."""
        return ls.save_dataset_record(self, change)

    # the labeling loop (docs/loop.md): agreement, model vs labels, suspects, sampling, the report

    def agreement(self, rev: str = "HEAD", *, iou_threshold: float | None = None,
                  overlap_threshold: float | None = None) -> AgreementResult | loop_api.Series:
        """``annover agreement REV``: agreement between annotators per control and label
        (``A..B``: one figure per version of the range). ``iou_threshold`` and
        ``overlap_threshold`` are ``--iou`` and ``--overlap``.

        Returns an ``AgreementResult`` (``.controls``: per control and label, each figure with
        the ``n`` tasks it rests on; ``.to_json()`` is ``--json``'s), or for ``A..B`` a
        ``Series`` (``.versions``: one entry per version).

            repo.agreement("v3").to_json()["controls"]
        """
        return loop_api.run_agreement(self, rev, iou_threshold, overlap_threshold)

    def eval(self, rev: str = "HEAD", *, model: str | None = None, resolve: str | None = None,
             against: str | None = None, policy: str | None = None) -> EvalResult | loop_api.Series:
        """``annover eval REV --model M``: model ``model``'s predictions against the labels resolved
        by ``resolve`` (``--resolve``; ``policy=`` is its older name, kept) (``A..B``: per version;
        ``against``: a second model on the tasks both predicted).

        Returns an ``EvalResult`` (``.controls``: accuracy, per-label P/R/F1, confusion matrix;
        ``.to_json()`` is ``--json``'s), or a ``Series`` for ``A..B`` or with ``against``.

            repo.eval("v3", model="bert-v2", resolve="majority").to_json()
        """
        rule = _one_policy(resolve, policy)
        return loop_api.run_eval(self, rev, model, rule or loop_api.DEFAULT_POLICY, against)

    def suspects(self, rev: str = "HEAD", *, threshold: float | None = None, policy: str | None = None,
                 since: str | None = None, models: list[str] | None = None, limit: int | None = None,
                 resolve: str | None = None, model: str | None = None) -> SuspectsResult:
        """``annover suspects REV``: labels worth a second look, ranked, with reasons (``since``:
        the version an answer's label is compared with; default REV's parent; ``limit`` (``-n``): only
        the top ``limit`` worded, ``total`` still counting them all). ``resolve`` (``--resolve``;
        ``policy=`` is its older name, kept) picks the answer a label is; ``models`` (or one
        ``model``, as ``--model M``): trust only those model versions.

        Returns a ``SuspectsResult``: ``.top(n)`` the first ``n`` as dicts, each with its
        reasons; ``.items`` all of them; ``.task_keys()``; ``.total``; ``.to_json()`` is ``--json``'s.

            repo.suspects("v3", model="bert-v2").top(20)
        """
        if model is not None:
            if models is not None and list(models) != [model]:
                raise UsageError(f"model={model!r} and models={models!r} both given", "give models=[...] alone")
            models = [model]
        if limit is not None:
            check_int_arg(limit, "limit", 0)
        rule = _one_policy(resolve, policy)
        return loop_api.run_suspects(self, rev, loop_api.DEFAULT_THRESHOLD if threshold is None else threshold,
                                     rule or loop_api.DEFAULT_POLICY, since, models, limit)

    def sample(self, rev: str = "HEAD", *, strategy: str = "uncertainty", n: int = 100, seed: int = 0,
               model: str | None = None, stratify: bool = False, control: str | None = None,
               out: str | None = None, record: bool = True, force: bool = False) -> SampleResult:
        """``annover sample REV``: ``n`` task keys to label next, chosen by ``strategy``, written to
        ``out`` (an existing file replaced only with ``force``) and recorded (committed) under
        ``.annover/samples/`` unless ``record=False`` (``--no-record``).

        Returns a ``SampleResult``: ``.keys`` (the task keys, in order), ``.scores``, ``.id``
        (what ``dataset push --from-sample`` and ``annotate(sample=)`` take).

            picked = repo.sample("v3", strategy="margin", n=100, seed=1)
            annover.load("v3", tasks=picked.keys)
        """
        check_int_arg(n, "n")
        check_int_arg(seed, "seed")
        if out is not None:
            check_path_arg(out, "out")
            check_output(self, out, "--out", force)
        return loop_api.run_sample(self, rev, strategy, n, seed, model, stratify, control, out, record)

    def report(self, rev: str = "HEAD", out: str | Path = "report.html", *, force: bool = False,
               progress: Progress | None = None) -> ReportResult:
        """``annover report [REV | A..B]``: one self-contained HTML page of the loop's figures,
        written to ``out`` (replaced only with ``force``)."""
        check_path_arg(out, "out")
        check_output(self, out, "--out", force)
        return loop_report.write_report(self, rev, out, progress=progress)
