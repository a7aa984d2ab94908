"""The repository's side of Label Studio: dataset records committed, versions made from a pull.

The Label Studio layer returns data (a :class:`~annover.labelstudio.sync.Pull`, a
:class:`~annover.labelstudio.datasets.RecordChange`); the commits are made here.
"""

from __future__ import annotations

import dataclasses
import json
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from annover._lazy import lazy
from annover.labelstudio import sync as ls_sync
from annover.labelstudio.client import AmbiguousTitleError, Client, connect
from annover.labelstudio.datasets import RECORD_DIR, Datasets, RecordAction, RecordChange, legacy_slug, slug
from annover.errors import LabelStudioError, NotFoundError, UsageError
from annover.formats.tables import Tables
from annover.model import canonical as C
from annover.model.config import LabelingConfig
from annover.repo import dry_run as dry
from annover.repo.core import RepoCore, lock_timeout
from annover.repo.reading import reading_of, remembered
from annover.repo.results import SnapshotResult
from annover.repo.snapshot import SnapshotInput, beside_pull, check_head_here, make_version

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["datasets_on", "save_dataset_record", "snapshot_label_studio"]

Progress = Callable[[str], None]


def _with_legacy_record(repo: RepoCore, change: RecordChange) -> RecordChange:
    """``change`` applied to the record of its project under the name a title in another script
    had before (:func:`legacy_slug`: ``dataset.json``) when that record is there, else under the
    project's former title (renamed in Label Studio since) when the change's own is not its project's."""
    legacy = f"{RECORD_DIR}/{legacy_slug(change.title)}.json"
    path = repo.dir / legacy
    if change.title and legacy != change.path and path.is_file() and change.names_project(path.read_bytes()):
        return change.renamed(legacy)
    own = repo.dir / change.path
    if not change.url or (own.is_file() and change.names_project(own.read_bytes())):
        return change
    former = _record_file(repo, change.project_id, change.url)
    if former is None:
        return change
    moved = change.renamed(former.relative_to(repo.dir).as_posix())
    if change.action is RecordAction.WRITE:  # the commit says where the record was
        moved = dataclasses.replace(moved, message=f"{change.message}: renamed in Label Studio, its record moved "
                                                   f"from {repo.rel(former)}")
    return moved


def save_dataset_record(repo: RepoCore, change: RecordChange) -> str | None:
    """Write and commit a dataset record; its path, or None when a REMOVE found nothing of its project.

    A WRITE whose files are those of HEAD already makes no commit.
    """
    with repo.lock():
        repo.recover()
        return _save_locked(repo, change)


def _save_locked(repo: RepoCore, change: RecordChange) -> str | None:
    """:func:`save_dataset_record`, the lock held by the caller."""
    change = _with_legacy_record(repo, change)
    files = {repo.rel(repo.dir / p): data for p, data in change.files.items()}
    record = repo.dir / change.path
    head = repo.head_commit()
    if change.action is RecordAction.REMOVE:
        if not record.is_file() or not change.names_project(record.read_bytes()):
            return None
    elif head is not None and all(data is not None and repo.scm.show(head, p) == data.decode()
                                  for p, data in files.items()):
        return repo.rel(record)
    repo.commit(dict(files), change.message, head, what="the dataset's record")
    return repo.rel(record)


@contextmanager
def recording_dataset(repo: RepoCore, title: str) -> Iterator[None]:
    """Around a change on the server that a dataset record follows: the checks of
    :func:`check_dataset_record`, then the repository's lock, held until the record is committed
    (by ``datasets_on``'s saver). Another command holding the lock is exit 9 before the server
    is changed: the project was made, then the record refused, and the project left unrecorded."""
    check_dataset_record(repo, title)
    with repo.lock():
        repo.recover()
        yield


def check_dataset_record(repo: RepoCore, title: str) -> None:
    """Before a dataset is made or deleted on the server: its record can be committed here (git
    HEAD on a branch, a lock timeout that is seconds), and its file is this title's, not another
    dataset's of the same slug."""
    repo.check_on_branch("the dataset's record")
    lock_timeout()  # a bad ANNOVER_LOCK_TIMEOUT is exit 2 now, before the server is asked
    record = repo.dir / RECORD_DIR / f"{slug(title)}.json"
    if not record.is_file():
        return
    try:
        other = json.loads(record.read_text(encoding="utf-8")).get("title")
    except (ValueError, OSError, AttributeError):
        return
    if isinstance(other, str) and other != title:
        raise UsageError(f"dataset {title!r} would be recorded as {repo.rel(record)}, the record of dataset {other!r}",
                         "choose a title that differs from it in more than case, spaces and punctuation")


def _users(client: Client) -> dict[int, str]:
    """The server's users (id -> e-mail); empty when this API key may not list them."""
    try:
        return client.users()
    except LabelStudioError:
        return {}


def datasets_on(repo: RepoCore, client: Client | None = None) -> Datasets:
    """The datasets of a Label Studio server (``client``, else the environment's on first use),
    bound to ``repo``: records are committed there, versions can be sent."""
    # every save follows a change made under recording_dataset, which holds the lock
    ds = Datasets(client, repo, save_record=lambda change: _save_locked(repo, change),
                  check_record=lambda title: recording_dataset(repo, title),
                  read_record=lambda name: dataset_record(repo, name) if isinstance(name, str)
                  else recorded(repo, name, ds.client.url))
    return ds


def dataset_record(repo: RepoCore, title: str) -> dict | None:
    """The record of dataset ``title`` (its JSON; under its name, or the name it had before:
    :func:`legacy_slug`), when it is there and names that title."""
    for name in dict.fromkeys((slug(title), legacy_slug(title))):
        try:
            rec = json.loads((repo.dir / RECORD_DIR / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(rec, dict) and rec.get("title") == title:
            return rec
    return None


def snapshot_label_studio(repo: RepoCore, dataset: str | int, inp: SnapshotInput, *, full: bool,
                          client: Client | None, url: str | None, api_key: str | None,
                          progress: Progress, dry_run: bool = False) -> SnapshotResult:
    """``annover snapshot --label-studio DATASET``: pull the project (incrementally from HEAD where
    it can), then make the version (``dry_run``: say what it would be; see :mod:`annover.repo.dry_run`).
    ``inp.key`` defaults to the one HEAD was pulled with."""
    start = repo.begin_write()  # before the pull: a version landing during it refuses this one; a detached
    # git HEAD refuses the snapshot, so its dry run too
    check_head_here(repo, repo.head() if dry_run else start)  # before the pull too: HEAD's objects are needed
    client = client or connect(url, api_key, flags=("--ls-url", "--ls-api-key"))
    previous = ls_sync.Previous.of(repo)
    head = repo.head()
    key, notes = inp.key, []
    if key is None and head is None:  # a first snapshot keys the tasks as `dataset push --key` sent them
        key = recorded_key(repo, dataset, client.url, client)
        if key is not None:
            notes.append(f"reading with --key {key}, the key `annover dataset push` sent the dataset's tasks with "
                         "(--key auto to key them by their data's hash)")
    reading, _ = remembered(reading_of(repo.version(head)) if head else None, key, inp.validate)
    config_text = LabelingConfig.from_file(inp.config).text if inp.config else None
    try:
        got = ls_sync.pull(client, dataset, previous=previous, key=reading.key, config_text=config_text,
                           config_source=f"--config {inp.config}" if inp.config else None,
                           validate=reading.validate, full=full, update=inp.update, progress=progress,
                           pushed=recorded(repo, dataset, client.url, client))
    except (NotFoundError, AmbiguousTitleError) as e:  # a dataset this repository records: say what it knows
        raise datasets_on(repo, client).explained(e, dataset) from None
    if head and not inp.update and previous is not None and previous.based_on(client, got.project.id) and (
            previous.origin.get("update") or previous.origin.get("kept")):
        notes += keep_rounds(repo, head, got)
    pulled = SnapshotInput(tables=got.tables, origin=got.origin, config_text=got.config_text, message=inp.message,
                           tag=inp.tag, key=key, source_data=inp.source_data, predictions=inp.predictions,
                           validate=inp.validate, learned_users=(client.url, {**_users(client), **got.users}),
                           update=inp.update, allow_empty=inp.allow_empty)
    if dry_run:
        result = dry.dry_run(repo, pulled, progress, f"Label Studio {dataset}")
    else:
        progress("making the version")
        result = make_version(repo, pulled, progress, start=start)
    result.warnings.extend(got.warnings)
    result.notes[:0] = notes
    return result


def keep_rounds(repo: RepoCore, head: str, got: ls_sync.Pull) -> list[str]:
    """A pull of the dataset's main project after a round was brought back with ``--update`` (a sample
    answered in a project of its own): HEAD's rows of no task of the project (the round's answers and
    predictions, its new tasks; answers read from a file) are kept beside the pull's, as ``--update``
    put them, so a plain pull of the main project loses no label. ``got`` is changed in place; the
    note saying so is returned (none when HEAD kept nothing)."""
    old = {name: C.conform(repo.read_table(head, name), name) for name in ls_sync.TABLES}
    mine = ls_sync.own_rows(old, got.project.id)["tasks"].column("ls_task_id")
    pulled = got.tables.tasks
    own = pc.unique(_ints(mine, pulled.column("ls_task_id")))
    kept = {}
    for name in ("annotations", "predictions"):
        ids = old[name].column("ls_task_id")
        other = pc.invert(pc.fill_null(pc.is_in(ids, value_set=own), False))  # of no task of the project
        kept[name] = old[name].filter(other if name == "annotations" else pc.and_(other, pc.is_valid(ids)))
    on = pc.unique(pa.concat_arrays([kept[n].column("task_key").combine_chunks().cast(pa.string()) for n in kept]))
    t = old["tasks"]
    elsewhere = pc.invert(pc.fill_null(pc.equal(t.column("ls_project_id"), got.project.id), False))
    pulled_keys = pulled.column("task_key").combine_chunks()
    kept["tasks"] = t.filter(pc.and_(pc.or_(elsewhere, pc.is_in(t.column("task_key"), value_set=on)),
                                     pc.invert(pc.is_in(t.column("task_key"), value_set=pulled_keys))))
    if not any(kept[n].num_rows for n in kept):
        return []
    pulled_t = {"tasks": pulled, "annotations": got.tables.annotations, "predictions": got.tables.predictions}
    merged = beside_pull(pulled_t, kept)
    counts = {"tasks": merged["tasks"].num_rows - pulled.num_rows,  # what the pull did not have itself
              **{n: _answers_in(merged[n]) - _answers_in(pulled_t[n]) for n in ("annotations", "predictions")}}
    if not any(counts.values()):
        return []
    got.tables = Tables(merged["tasks"], merged["annotations"], merged["predictions"], got.tables.format,
                        got.tables.warnings, got.tables.config_text, got.tables.key_rule)
    got.origin["kept"] = counts
    preds = f" and {counts['predictions']} prediction(s)" if counts["predictions"] else ""
    tasks = f", and {counts['tasks']} task(s) of HEAD the project does not have" if counts["tasks"] else ""
    return [f"kept {counts['annotations']} answer(s){preds} HEAD has on tasks of other projects than "
            f"{got.project.title!r} (a round brought back with --update) beside the project's{tasks}"]


def _ints(*columns: "pa.ChunkedArray") -> "pa.Array":
    """The values of ``columns`` (Label Studio ids) as one int64 array without nulls."""
    return pc.drop_null(pa.concat_arrays([c.combine_chunks().cast(pa.int64()) for c in columns]))


def _answers_in(t: "pa.Table") -> int:
    """Answers (annotations, or predictions) of table ``t``, each once however many regions it has."""
    key = "annotation_key" if "annotation_key" in t.column_names else "prediction_key"
    return t.select(["task_key", key]).group_by(["task_key", key], use_threads=False).aggregate([]).num_rows


def recorded_key(repo: RepoCore, dataset: str | int, server_url: str, client: Client | None = None) -> str | None:
    """The task key the dataset's record (a project of the server at ``server_url``, named by
    title or id; with ``client``, renamed since) says its tasks were pushed with (``dataset push --key``), if any."""
    key = (recorded(repo, dataset, server_url, client) or {}).get("key")
    return key if isinstance(key, str) else None


def _records(repo: RepoCore, server_url: str) -> Iterator[tuple[Path, dict]]:
    """The dataset records of projects of the server at ``server_url``: (file, JSON)."""
    folder = repo.dir / RECORD_DIR
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(rec, dict) and str(rec.get("url", "")).rstrip("/") == server_url.rstrip("/"):
            yield path, rec


def _record_file(repo: RepoCore, project_id: int, server_url: str) -> Path | None:
    """The file of the record of project ``project_id`` of the server at ``server_url``, whatever its title."""
    return next((path for path, rec in _records(repo, server_url) if rec.get("project_id") == project_id), None)


def recorded(repo: RepoCore, dataset: str | int, server_url: str, client: Client | None = None) -> dict | None:
    """The record of the dataset (a project of the server at ``server_url``, named by title or id), if any.
    With ``client``, a title no record has is looked up on the server: the record of the project it names,
    made under the title the project had (renamed in Label Studio since)."""
    found = [rec for _, rec in _records(repo, server_url)]
    rec = next((r for r in found if r.get("title") == dataset or str(r.get("project_id")) == str(dataset)), None)
    if rec is not None or client is None or not found:
        return rec
    try:
        pid = client.project(dataset).id
    except (NotFoundError, AmbiguousTitleError):
        return None  # the pull says so, with what the records know
    return next((r for r in found if r.get("project_id") == pid), None)
