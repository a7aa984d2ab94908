"""The top-level API (``annover.load``, ``annover.snapshot``...): each is one :class:`Repo` method,
with the repository as the keyword ``repo`` (a path, a :class:`Repo`, or, for ``load``, a
git URL); by default the repository at or above the current folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from annover._lazy import lazy
from annover.errors import NotARepoError, NotFoundError, UsageError
from annover.model import canonical as C
from annover.repo.commands import Repo, check_path_arg
from annover.repo.results import ExportResult, SnapshotResult
from annover.store.git import foreign_owner

if TYPE_CHECKING:  # pragma: no cover
    import datasets
    import pyarrow as pa

    from annover.diffing import DiffResult
    from annover.labelstudio.client import Client
    from annover.repo import export as export_
    from annover.repo import reading
else:  # loaded on first use, as in annover.repo.commands
    export_ = lazy("annover.repo.export")
    reading = lazy("annover.repo.reading")

__all__ = ["diff", "export", "init", "load", "open_clone", "open_repo", "resolve", "snapshot"]

RepoLike = str | Path | Repo | None
#: What DVC reads as a git URL rather than a path: a scheme (https://, ssh://, file://...) or scp's user@host:path.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://|[^/@:]+@[^/:]+:")


def open_repo(repo: RepoLike = None) -> Repo:
    """``repo`` itself, or the repository at (or above) that path, default the current folder; an
    empty or non-path ``repo`` (``repo=""``, ``repo=3``) is a UsageError."""
    if repo is not None and not isinstance(repo, Repo):
        check_path_arg(repo, "repo")
    return repo if isinstance(repo, Repo) else Repo(repo if repo is not None else ".")


def open_clone(repo: RepoLike, what: str) -> Repo:
    """:func:`open_repo` for a reader that needs the repository here: a git URL (which
    :func:`load` takes) is a UsageError saying to clone it, not a path joined to the current folder."""
    if isinstance(repo, (str, Path)) and _URL.match(str(repo)) and not Path(repo).exists():
        raise UsageError(f"{what} reads the version's record from a clone of the repository, and repo={str(repo)!r} "
                         "is a git URL", "clone it (git clone URL; no dvc pull needed) and pass the clone's path")
    return open_repo(repo)


def init(path: str | Path = ".", remote: str | None = None, remote_options: dict[str, str] | None = None) -> Repo:
    """``annover init [DIR] [--remote URL] [--remote-option K=V]``: make ``path`` an annover
    repository (git if needed, DVC, the default DVC remote; harmless when it is one) and open it.

    Returns the :class:`Repo` (``Repo.init`` returns an ``InitResult`` saying what was done).
    Raises :class:`~annover.errors.UsageError` for ``path=""`` (not the current folder) or a
    file; :class:`~annover.errors.NotARepoError` in a git repository whose HEAD is detached.

        repo = annover.init("my-labels", remote="s3://bucket/labels")
    """
    return Repo.init(path, remote, remote_options).repo  # type: ignore[return-value]


def load(rev: str = "HEAD", table: str = "annotations", *, repo: RepoLike = None, model_version: str | None = None,
         columns: list[str] | None = None, format: str | None = None,
         resolve: str | None = None, tasks: Iterable[str] | None = None, split: str | None = None
         ) -> pa.Table | datasets.Dataset:
    """Table ``table`` of version ``rev`` as a pyarrow Table.

    ``tasks`` (task keys): only the rows of those tasks, the same rows, order and schema as
    the whole table filtered to them; only the Parquet parts whose task key range can hold
    one of them are read. A key no task has selects nothing; one string is a UsageError.

    ``repo`` is a repository (a path or a :class:`Repo`; default: the current one) or, for a
    repository you have not cloned, a git URL: then ``rev`` is a git rev (a tag such as
    ``v2``, a branch, ``HEAD``) and everything is read through DVC's API from the DVC remote.

    ``format="hf"``: the version as a Hugging Face ``datasets.Dataset`` instead (here or by URL), one row per
    task, ClassLabel features from the labeling config, one answer per task by ``resolve``
    (or ``model_version``'s predictions); one ``Dataset`` of every task whatever its split (a task's
    ``data.split`` is in the last column, ``_annover``: ``export --format hf`` writes a ``DatasetDict`` of the
    splits), or with ``split="train"``, ``"validation"`` or ``"test"`` that split's rows of it; see docs/formats.md.

    Returns a ``pyarrow.Table`` (``.to_pandas()``, ``polars.from_arrow(...)``), or the
    ``datasets.Dataset``. Errors are :class:`~annover.errors.AnnoverError` subclasses, with
    the CLI's message: ``RevisionError`` (unknown ``rev``), ``UsageError`` (unknown ``table``
    or column, ``repo=""``), ``ObjectError`` (the version's objects not pulled).

        annover.load("v2")                                     # annotations of v2, this repository
        annover.load("v2", "predictions", model_version="bert-v2", columns=["task_key", "labels", "score"])
        annover.load("v2", tasks=["img_001.jpg"], repo="../labels").to_pandas()
        annover.load("v2", repo="git@github.com:team/labels.git")   # not cloned: read through DVC

    ``model_version`` with a ``table`` other than ``"predictions"``, and ``columns`` or ``table``
    with ``format="hf"``, are a :class:`~annover.errors.UsageError` (not ignored); a ``repo`` path
    that does not exist and is not a git URL is a :class:`~annover.errors.NotFoundError`.
    """
    local = _local_repo(repo)
    if local is not None:
        return local.load(rev, table, model_version=model_version, columns=columns, format=format, resolve=resolve,
                          tasks=tasks, split=split)
    keys = reading.task_keys(tasks) if tasks is not None else None
    if format is not None or split is not None:  # (a table's load imports no export module)
        export_.check_load_format(format, table, columns, keys, split)
    if format is not None:
        return export_.load_hf_url(str(repo), rev, resolve, model_version, split)
    return C.nullable_ids(export_.load_url(str(repo), rev, table, model_version, columns, keys), table)


def resolve(rev: str = "HEAD", *, repo: RepoLike = None) -> str:
    """The id of the version ``rev`` names, as :func:`load` reads it: what to log with a model trained
    on ``annover.load(rev)`` (MLflow, W&B), since a branch or ``HEAD`` moves on and an id never does.

    ``repo`` is what :func:`load` takes: a repository here (default: the current one), where ``rev`` is
    any revision (a tag, an id or its prefix, ``HEAD~1``, a git branch or commit), or a git URL, where it
    is a tag, a branch or a commit, read from git alone (no objects, no DVC remote). Raises
    :class:`~annover.errors.RevisionError` for a revision there is not.

        mlflow.log_param("labels", annover.resolve("v2"))      # the 64 hex digits of v2's version id
        annover.resolve("v2", repo="https://github.com/org/labels")
    """
    local = _local_repo(repo)
    return local.resolve(rev) if local is not None else export_.version_at_url(str(repo), rev)[1].id


def _local_repo(repo: RepoLike) -> Repo | None:
    """The repository ``repo`` names when it is one here (opened once: opening settles it), else None."""
    if repo is None or isinstance(repo, Repo):
        return open_repo(repo)
    check_path_arg(repo, "repo")
    if not Path(repo).is_dir():
        if not _URL.match(str(repo)) and Path(repo).exists():  # a file: Repo() says "not an annover repository"
            return open_repo(repo)
        if not _URL.match(str(repo)) and not Path(repo).exists():
            raise NotFoundError(f"repo={str(repo)!r}: no such folder, and not a git URL",
                                "give the path of an annover repository, or a git URL (https://, ssh://, git@host:)")
        return None
    try:
        return Repo(repo)
    except NotARepoError:
        if not _in_git(Path(repo)) or foreign_owner(Path(repo)) is not None:  # DVC cannot read it by path either:
            raise  # the CLI's own "not an annover repository", or git's refusal of another user's repository
        return None


def _in_git(folder: Path) -> bool:
    """``folder`` is in a git work tree, or is a bare git repository (what DVC reads by path)."""
    folder = folder.resolve()
    if (folder / "HEAD").is_file() and (folder / "objects").is_dir():
        return True
    return any((p / ".git").exists() for p in (folder, *folder.parents))


def snapshot(source: str | None = None, *, repo: RepoLike = None, config: str | None = None, message: str = "",
             tag: str | None = None, key: str | None = None, source_data: str | None = None,
             predictions: str | None = None, validate: bool | str | None = None, fmt: str | None = None,
             users: str | None = None, label_studio: str | int | None = None, full: bool = False,
             url: str | None = None, api_key: str | None = None, client: Client | None = None,
             progress: Callable[[str], None] | None = None, dry_run: bool = False,
             format: str | None = None, update: bool = False, allow_empty: bool = False) -> SnapshotResult:
    """``annover snapshot --from FILE`` (or ``--label-studio DATASET``): read, validate, store,
    commit and tag a new version; see :meth:`Repo.snapshot` for every option.

    The keywords are the CLI's options: ``source`` is ``--from``, ``source_data`` ``--source``,
    ``format`` (or ``fmt``) ``--format``, ``label_studio`` ``--label-studio``, ``url``/``api_key``
    ``--ls-url``/``--ls-api-key``, ``dry_run`` ``-n``, ``update`` ``--update``, ``allow_empty``
    ``--allow-empty``. Returns a :class:`SnapshotResult` (``.version``, ``.tag``, ``.changed``;
    ``.to_json()`` is ``--json``'s). Raises
    ``InputError`` (bad file), ``ValidationError`` (labels the config does not allow),
    ``ConfigError``, ``UsageError``, as the CLI's exit codes 3, 4, 5, 2.

        res = annover.snapshot("export.json", config="labeling.xml", message="round 3")
        res.tag, res.version.stats["tasks"]
    """
    return open_repo(repo).snapshot(source, config=config, message=message, tag=tag, key=key,
                                    source_data=source_data, predictions=predictions, validate=validate, fmt=fmt,
                                    users=users, label_studio=label_studio, full=full, url=url, api_key=api_key,
                                    client=client, progress=progress, dry_run=dry_run,
                                    format=format, update=update, allow_empty=allow_empty)


def diff(a: str, b: str | None = None, *, repo: RepoLike = None, iou_threshold: float | None = None,
         overlap_threshold: float | None = None, policy: str | None = None, transitions: bool = False,
         fast: bool = True, tasks: list[str] | None = None, keep_rows: bool = True,
         summary: bool = True) -> DiffResult:
    """``annover diff A B``: what changed from version ``a`` to ``b`` (default HEAD); see
    :meth:`Repo.diff`. ``policy``, ``iou_threshold``, ``overlap_threshold``, ``transitions``
    and ``tasks`` are ``--policy``, ``--iou-threshold``, ``--overlap-threshold``,
    ``--transitions`` and ``--task``; ``summary=False``: the touched tasks and transitions alone.

    Returns a ``DiffResult``: ``.summary`` (a dict; ``.to_json()`` is what ``--json`` prints),
    ``.rows`` (a ``pyarrow.Table``, one row per change), ``.identical``; nothing is printed.
    An unknown rev is a ``RevisionError``.

        d = annover.diff("v1", "v2")
        d.summary["tasks"], d.rows.to_pandas().head()
    """
    return open_repo(repo).diff(a, b, iou_threshold=iou_threshold, overlap_threshold=overlap_threshold,
                                policy=policy, transitions=transitions, fast=fast, tasks=tasks, keep_rows=keep_rows,
                                summary=summary)


def export(rev: str, fmt: str, out: str | Path, *, repo: RepoLike = None, table: str = "annotations",
           resolve: str | None = None, predictions: str | None = None, force: bool = False,
           progress: Callable[[str, int, int], None] | None = None,
           tasks: Iterable[str] | None = None, images: str | Path | None = None,
           tag_scheme: str | None = None) -> ExportResult:
    """``annover export REV --format FMT --out OUT``: write version ``rev`` for Label Studio
    (``label-studio``, ``json-min``, ``jsonl``, ``csv``, ``parquet``) or a trainer (``coco``,
    ``yolo``, ``yolo-obb``, ``voc``, ``conll``, ``hf``); see :meth:`Repo.export`.
    ``resolve``, ``predictions``, ``tasks``, ``images``, ``force``, ``tag_scheme`` are ``--resolve``,
    ``--predictions``, ``--task``, ``--images``, ``--force``, ``--tag-scheme``.

    Returns an :class:`ExportResult` (``.path``, ``.rows``, ``.bytes``). An existing ``out``
    without ``force``, an unknown format or ``out=""`` is a ``UsageError``.

        annover.export("v2", "coco", "v2_coco.json", resolve="majority")
    """
    return open_repo(repo).export(rev, fmt, out, table, resolve, predictions, force, progress, tasks, images,
                                  tag_scheme)
