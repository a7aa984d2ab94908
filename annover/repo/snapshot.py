"""The snapshot pipeline: input -> checked tables -> content ids -> objects -> record -> commit and tag.

The steps, in order (:func:`make_version` runs them):

1. :func:`read_inputs`: the labeling config (checked by label-studio-sdk in a thread while
   the data is read), the tables, predictions and source data; everything is read and
   checked before anything is written.
2. :func:`hash_and_encode`: content ids, stats and Parquet parts at once in a thread pool
   (mostly outside the GIL). Encoding is speculative: nothing is stored before the lock.
   A table whose HEAD snapshot is large is encoded as HEAD's layout plus a delta of the
   tasks that changed (:func:`annover.store.snapshots.encode_snapshot`), until the deltas
   pass their threshold and the table is written whole again.
3. :func:`same_content` against HEAD: when the content looks unchanged the encoding still
   queued is cancelled; the check is made again under the lock, where HEAD may have moved
   (a cancelled part is then encoded after all).
4. Under the repository lock: :func:`store_objects` (write-once: an interrupted run leaves
   only harmless strays), :func:`version_record`, then :func:`commit_version` (the record,
   the DVC pointer of exactly this version's objects, one commit, the tag).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from annover._lazy import lazy
from annover.errors import InputError, ObjectError, UsageError
from annover.files import sha256_file, write_atomic
from annover.formats import TRAIN_FORMATS
from annover.formats.predictions import predictions_file, predictions_table, read_prediction_records
from annover.formats.read import read_source
from annover.formats.tables import Tables, empty, finish
from annover.model import canonical as C
from annover.model import stats as S
from annover.model.config import HEAD_CONFIG, LabelingConfig
from annover.repo.core import VERSION_SCHEMA, RepoCore, Stage, maybe_die
from annover.repo.reading import (USERS_FILE, Reading, Users, key_change, own_reading, read_users_file, reading_of,
                                  remembered)
from annover.repo.results import SnapshotResult
from annover.repo.source_data import data_hashes, hash_source
from annover.store import snapshots
from annover.store.dvc import Dvc
from annover.store.objects import ObjectRef
from annover.store.refs import check_tag_name, version_number
from annover.store.snapshots import SnapshotRef
from annover.store.versions import Version, models_named

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from annover.formats import train
else:
    np = lazy("numpy")
    train = lazy("annover.formats.train")  # the training formats' helpers: only for a version read from one
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["Content", "Encoded", "SnapshotInput", "make_version"]

Progress = Callable[[str], None]
#: a snapshot's key in a pipeline: a table name, or ("predictions", model version)
Key = str | tuple[str, str]
PREDICTIONS = "predictions"
NO_CONFIG_WARNING = "no labeling config (--config): labels are not validated"


def noop(_: str) -> None:
    pass


@dataclass
class SnapshotInput:
    """What a snapshot is made from: a ``source`` file or ready ``tables``, and the options.

    ``tables`` with ``origin`` and ``config_text`` come from a Label Studio pull; ``config``
    is a file; with neither config, HEAD's config is used. ``key`` and ``validate`` left None
    are HEAD's (see :mod:`annover.repo.reading`); ``users`` is a file of Label Studio user ids
    and e-mails, ``learned_users`` the (server, map) a pull learned.
    """

    source: str | None = None
    tables: Tables | None = None
    origin: dict | None = None
    config: str | None = None
    config_text: str | None = None
    message: str = ""
    tag: str | None = None
    key: str | None = None
    source_data: str | None = None
    predictions: str | None = None
    validate: bool | str | None = None
    fmt: str | None = None
    users: str | None = None
    learned_users: tuple[str | None, dict[int, str]] | None = None
    #: the input updates HEAD (``--update``): its tasks, answers and predictions added, those of the
    #: same keys replaced, nothing of HEAD's removed (see :func:`onto_head`)
    update: bool = False
    #: an input of no task makes a version of none (``--allow-empty``); else it is refused (:func:`check_not_empty`)
    allow_empty: bool = False

    @property
    def predictions_only(self) -> bool:
        """``snapshot --predictions FILE`` alone: HEAD's tasks, answers and config with the file's
        predictions added as ``--update`` adds them (a model run over the tasks of HEAD)."""
        return self.source is None and self.tables is None and self.predictions is not None

    def __post_init__(self) -> None:
        if self.message is None:
            self.message = ""  # the record's message is text (schemas/version.schema.json)
        if not isinstance(self.message, str):
            raise UsageError(f"message {self.message!r} is not text", "give the version's message as a string")
        for name in ("source", "config", "source_data", "predictions", "users"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                setattr(self, name, os.fspath(value))
            elif value is not None and not isinstance(value, str):
                raise UsageError(f"{name}= is a {type(value).__name__}, not a file path",
                                 "write the data to a file (df.to_parquet('round.parquet'), json.dump(...)) and "
                                 "give its path")
        if self.predictions_only:
            self.update = True


@dataclass
class Content:
    """The checked content of the version to make, before anything is stored."""

    tasks: "pa.Table"
    annotations: "pa.Table"
    by_model: dict[str, "pa.Table"]
    origin: dict
    config_bytes: bytes | None
    source_link: dict | None = None
    source_files: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    reading: Reading = field(default_factory=Reading)
    remembered: list[str] = field(default_factory=list)
    users_file: bytes | None = None  # the repository's new users map, when it learned something
    #: ``--update`` without HEAD's tables: per table, HEAD's snapshot and the new rows of the input's
    #: tasks (the table above holds those rows alone); and the stats, brought up to date from HEAD's
    spliced: "dict[Key, Spliced]" = field(default_factory=dict)
    stats: dict | None = None

    @property
    def named(self) -> dict[Key, "pa.Table"]:
        return {"tasks": self.tasks, "annotations": self.annotations,
                **{(PREDICTIONS, mv): t for mv, t in self.by_model.items()}}

    @property
    def config_oid(self) -> str | None:
        return hashlib.sha256(self.config_bytes).hexdigest() if self.config_bytes else None


@dataclass
class Spliced:
    """One table of ``--update``: HEAD's snapshot ``head`` with the rows of the ``named`` tasks
    replaced by ``block`` (key-sorted), never made whole: hashed by
    :func:`annover.store.snapshots.spliced_id`, stored as HEAD's layout plus ``delta``."""

    head: SnapshotRef
    named: "pa.Array"
    block: "pa.Table"
    delta: snapshots.Delta
    rows: int
    whole: Callable[[], "pa.Table"]  # the table made after all (should HEAD's snapshot not be the parent)


@dataclass
class Encoded:
    """Per snapshot: its table kind, content id and encoding (whole parts or a delta); the stats."""

    kind: dict[Key, str]
    id_futures: "dict[Key, Future[str]]"
    parts: dict[Key, snapshots.Encoding]
    stats: "Future[dict]"

    @property
    def sids(self) -> dict[Key, str]:
        """The content ids (waited for: they are hashed while the parts are encoded)."""
        return {k: f.result() for k, f in self.id_futures.items()}

    @property
    def ids(self) -> dict[str, str]:
        return {"tasks": self.sids["tasks"], "annotations": self.sids["annotations"]}

    @property
    def pred_ids(self) -> dict[str, str]:
        return {k[1]: v for k, v in self.sids.items() if isinstance(k, tuple)}

    def cancel(self) -> None:
        """Stop encoding what has not started (most likely nothing is to be written)."""
        for enc in self.parts.values():
            enc.cancel()


# ---------------------------------------------------------------------------
# 1. read and check


def check_new_tag(repo: RepoCore, tag: str | None) -> None:
    if tag is not None:
        check_tag_name(tag)
        if tag in repo.refs.tags() or repo.scm.tags(tag):
            raise UsageError(f"tag {tag!r} already exists", "choose another name with --tag")
        check_tag_beside(repo, tag)


def check_tag_beside(repo: RepoCore, tag: str) -> None:
    """Refuse a tag name that an existing tag's name is a folder of, or inside (``x`` and ``x/y``):
    neither annover's tag files nor git's refs can hold both; one that is the start of a
    version's id (``f34c``): the tag would hide that version's short id; and one that is a git
    branch's name (``main``, ``origin/main``): git would read the name as ambiguous."""
    if re.fullmatch(r"[0-9a-f]{4,6}", tag):
        hit = next((v for v in repo.version_ids() if v.startswith(tag)), None)
        if hit is not None:
            raise UsageError(f"tag {tag!r} is the start of version {hit[:12]}'s id: the tag would hide it",
                             "choose a name that is not all hex digits")
    branch = repo.scm.branches_named(tag)
    if branch:  # git would read the name as ambiguous: `git push origin main` fails, `git log main` shows the tag
        kind = "branch" if branch[0].startswith("refs/heads/") else "remote-tracking branch"
        raise UsageError(f"tag {tag!r} is also the name of a git {kind} ({branch[0]}): git would read {tag!r} as "
                         "ambiguous (`git push origin NAME` fails, `git log NAME` shows the tag)",
                         "choose another name for the tag")
    other = repo.refs.clash(tag, repo.scm.tags())
    if other is not None:
        raise UsageError(f"tag {tag!r} cannot sit beside tag {other!r} (git keeps tags as files and folders)",
                         "choose a name that is neither a folder of an existing tag nor inside one")


def open_config(repo: RepoCore, inp: SnapshotInput) -> LabelingConfig | None:
    """The labeling config, its SDK check started in the background: given, from a file, or HEAD's."""
    if inp.config_text is not None:
        return LabelingConfig(inp.config_text, source="labeling config", background=True)
    if inp.config:
        return LabelingConfig.from_file(inp.config, background=True)
    head = repo.head()
    if head and repo.version(head).config_ref:
        return LabelingConfig(repo.config_text("HEAD"), source=HEAD_CONFIG, background=True)
    return None


def _display_path(repo: RepoCore, p: str) -> str:
    """How a version records where its file came from: the path inside the repository, or
    only the file's name for a file outside it (a path of this machine means nothing in a
    clone, and says more about the machine than a record should)."""
    try:
        rel = repo.rel(Path(p))
    except ValueError:
        rel = ".."
    return Path(p).name if rel == ".." or rel.startswith("../") else rel


#: Inputs from this size on import DVC's modules in a thread while they are read; below it the
#: imports (0.1 s of the interpreter's lock) would slow the read more than they save.
WARM_UP_BYTES = 1 << 20


def read_tables(repo: RepoCore, inp: SnapshotInput, cfg: LabelingConfig | None, reading: Reading,
                users: dict[int, str], progress: Progress) -> tuple[Tables, dict | None]:
    """(tables, origin): ``inp.tables`` as given, or the source file read (hashed meanwhile)."""
    if inp.tables is not None:
        return inp.tables, inp.origin
    if inp.predictions_only:  # no tables: the predictions go onto HEAD's (see attach_predictions)
        assert inp.predictions is not None
        origin = {"kind": "predictions", "path": _display_path(repo, inp.predictions),
                  "sha256": sha256_file(predictions_file(inp.predictions))}
        return Tables(empty("tasks"), empty("annotations"), empty(PREDICTIONS)), origin
    if inp.source is None:
        raise UsageError("nothing to snapshot", "give --from FILE (or --label-studio NAME)")
    progress(f"reading {inp.source}")
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="annover-read") as ex:
        hash_file = inp.origin is None and Path(inp.source).is_file()  # a folder (YOLO, VOC) has no one hash
        file_sha = ex.submit(sha256_file, inp.source) if hash_file else None  # while it is parsed
        ex.submit(snapshots.warm_up)  # DuckDB for the parts' task hashes: ready when they are
        if hash_file and Path(inp.source).stat().st_size >= WARM_UP_BYTES:  # a small input: in the way
            ex.submit(Dvc.warm_up)  # DVC's listing and YAML for the pointer, ready when it is written
        tables = read_source(inp.source, config=cfg, key=reading.key, fmt=inp.fmt, validate=reading.validate,
                             users=users, encoded=True)
        origin = inp.origin or {"kind": "file", "path": _display_path(repo, inp.source), "format": tables.format,
                                "sha256": file_sha.result() if file_sha else None}
    return tables, origin


def check_not_empty(repo: RepoCore, inp: SnapshotInput, tables: Tables, origin: dict | None, head: str | None
                    ) -> None:
    """An input of no task is refused unless ``allow_empty``: an export that came out empty (another
    project, a filter, an export that had not finished) would make a version removing every task of HEAD."""
    if inp.update or inp.allow_empty or tables.tasks.num_rows:
        return
    what = (f"Label Studio dataset {(origin or {}).get('project')!r}" if inp.source is None
            else _display_path(repo, inp.source))
    removed = f": the version would remove every task of HEAD ({repo.name_of(head)})" if head else ""
    raise InputError(f"{what} holds no task{removed}",
                     "check the export (the project, its filters, an export that finished), or give "
                     "--allow-empty to record a version with no task")


def attach_predictions(inp: SnapshotInput, tables: Tables, cfg: LabelingConfig | None, reading: Reading,
                       warnings: list[str], progress: Progress, known: "pa.Array | None" = None) -> "pa.Table":
    """The tables' predictions with those of ``inp.predictions`` (matched to tasks by key) added;
    predictions of tasks not in the data (``known``: these task keys, HEAD's for predictions alone) are
    left out, with a warning that counts them. Predictions alone are for HEAD's tasks: when at most half
    the tasks they name are HEAD's, the file was keyed another way (or is of other data), and is refused."""
    preds = tables.predictions
    if not inp.predictions:
        return preds
    progress(f"reading predictions {inp.predictions}")
    records = read_prediction_records(inp.predictions, key=reading.key, what=f"--predictions {inp.predictions}",
                                      warnings=warnings)
    extra = predictions_table(records, inp.predictions, cfg, reading.validate, warnings)
    if not extra.num_rows:
        return preds
    known = tables.tasks.column("task_key") if known is None else known
    inside = pc.is_in(extra.column("task_key"), value_set=known)
    n_out = extra.num_rows - pc.sum(inside).as_py()
    if n_out:
        unknown = set(pc.filter(extra.column("task_key"), pc.invert(inside)).to_pylist())
        first = next(k for k in records.by_key if k in unknown)  # the first such record in the file
        at = f"{records.record(records.origin[first][0][0])} (key {first})" if records.origin else f"task key {first}"
        if inp.predictions_only:
            _most_of_head(inp.predictions, len(unknown), len(pc.unique(extra.column("task_key"))), at, reading)
        if n_out == extra.num_rows:
            raise InputError(f"{inp.predictions}: none of its {n_out} predictions is for a task in the data "
                             f"(e.g. {at})",
                             f"key predictions the way the tasks are keyed ({Reading.describe_key(reading.key)})")
        warnings.append(f"{inp.predictions}: {n_out} prediction(s) of {len(unknown)} task(s) not in "
                        f"{'HEAD' if inp.predictions_only else 'the data'} were left out (e.g. {at})")
        extra = extra.filter(inside)
    return finish(pa.concat_tables([preds, extra]), PREDICTIONS, inp.predictions)


def _most_of_head(path: str | None, unknown: int, named: int, at: str, reading: Reading) -> None:
    """Predictions alone: refused unless most of the tasks they name are HEAD's."""
    if unknown * 2 >= named:
        raise InputError(f"{path}: {unknown} of the {named} tasks its predictions are for are not HEAD's (e.g. {at})",
                         f"key the predictions as HEAD's tasks are keyed ({Reading.describe_key(reading.key)}), or "
                         "give the tasks too with --from FILE --predictions FILE")


def split_predictions(preds: "pa.Table") -> dict[str, "pa.Table"]:
    """One predictions table per model version, in model-version order."""
    if preds.num_rows == 0:
        return {}
    out = {}
    for mv in sorted(pc.unique(preds.column("model_version")).to_pylist()):
        out[mv] = preds.filter(pc.equal(preds.column("model_version"), mv))
    return out


def known_users(repo: RepoCore, inp: SnapshotInput) -> tuple[dict[int, str], bytes | None]:
    """The id -> e-mail map to read with, and the repository's users file when it learned something."""
    users = Users.load(repo.dir)
    before = users.to_bytes()
    if inp.users:
        users.learn(None, read_users_file(inp.users))
    if inp.learned_users:
        users.learn(*inp.learned_users)
    after = users.to_bytes()
    return users.mapping(), (after if after != before else None)


def generated_config(tables: Tables, source: object) -> LabelingConfig:
    """The labeling config a training-format reader generated for ``source``. A file of no label
    (a CoNLL file whose every tag is O, a COCO file of no category, a YOLO folder of no class, VOC
    files of no <object>) has none to generate one from: said so (exit 3, give --config), not as
    Label Studio's refusal of a config the user never wrote (exit 5), nor recorded with a labels
    control of no label (refused later by Label Studio). The readers themselves read such a file
    (a round trip of no label holds): only a version needs the config."""
    problem = train.config_needed(tables.format or "", tables.config_text or "", source)
    if problem is not None:
        raise problem
    return LabelingConfig(tables.config_text or "", source=f"the config generated for {source}")


def unlabeled_records(tables: Tables, cfg: LabelingConfig | None) -> list[str]:
    """A warning where flat records read as Label Studio JSON-MIN (its task import: a record's fields named as
    a control are its label, the others its data) hold no field named as any of the config's controls: every
    record became an unlabeled task, in silence (the labels were under other names, ``mood`` for ``sentiment``)."""
    if tables.format != "json-min" or cfg is None or not cfg.controls or not tables.tasks.num_rows \
            or tables.annotations.num_rows or tables.predictions.num_rows:
        return []
    names = sorted(cfg.controls)
    if any(json.loads(d or "{}").keys() & cfg.controls.keys() for d in tables.tasks.column("data").to_pylist()):
        return []  # some record names a control, with no value: unlabeled as it said
    first = min(cfg.controls.values(), key=lambda c: (c.choice is None, c.name))  # a choice is the plainest value
    example = json.dumps({first.name: first.labels[0] if first.labels else "..."})[1:-1]
    return [f"none of the {tables.tasks.num_rows} records holds a label of controls {', '.join(names)}: read as "
            f"unlabeled tasks; to give labels, name a record's field as its control ({example}), or give a Label "
            "Studio JSON export (with annotations)"]


def read_inputs(repo: RepoCore, inp: SnapshotInput, head: str | None, progress: Progress,
                splice: bool = False) -> Content:
    """Everything the version will hold, read and checked against ``head``; nothing written.
    ``splice``: an ``--update`` may leave its tables unmade (:func:`spliced_onto_head`)."""
    head_version = repo.version(head) if head else None
    if inp.predictions_only and head_version is None:
        raise UsageError("--predictions alone adds a model's predictions to HEAD's tasks, and there is no version yet",
                         "make the first version with --from FILE --predictions FILE")
    head_reading = reading_of(head_version) if head_version else None
    reading, taken = remembered(head_reading, inp.key, inp.validate)
    users, users_file = known_users(repo, inp)
    cfg = open_config(repo, inp)
    warnings = [] if cfg is not None else [NO_CONFIG_WARNING]
    tables, origin = read_tables(repo, inp, cfg, reading, users, progress)
    check_not_empty(repo, inp, tables, origin, head)
    if (fmt := (origin or {}).get("format")) in TRAIN_FORMATS:  # the key its reader gave the tasks
        reading, taken = own_reading(fmt, inp.key, reading, taken, tables.key_rule)
    if cfg is None and tables.config_text:  # generated by a training-format reader: the version keeps it
        cfg, warnings = generated_config(tables, inp.source), []
    if cfg is not None:
        cfg.wait()
    change = key_change(head_reading, reading, f"since HEAD ({repo.name_of(head)})")
    warnings += tables.warnings + ([change] if change else []) + unlabeled_records(tables, cfg)
    head_keys = repo.read_table(head, "tasks", columns=["task_key"]).column("task_key") \
        if inp.predictions_only and head else None
    preds = attach_predictions(inp, tables, cfg, reading, warnings, progress, head_keys)
    tasks, link, files = source_link(repo, inp, head_version, tables.tasks, progress)
    annotations, fast = tables.annotations, None
    if inp.update:
        progress("reading HEAD's rows")
        fast = spliced_onto_head(repo, head, tasks, annotations, preds) if splice else None
        if fast is None:
            tasks, annotations, preds, updated = onto_head(repo, head, tasks, annotations, preds)
        else:
            tasks, annotations, by_model, updated = fast.tasks, fast.annotations, fast.by_model, fast.updated
        origin = {**(origin or {}), **({} if inp.predictions_only else {"update": updated})}
    origin = {**(origin or {}), "reading": reading.to_json()}
    by_model = split_predictions(preds) if fast is None else by_model
    if head_version and not inp.update:
        warnings += dropped_models(head_version, by_model, repo.name_of(head))
    return Content(tasks, annotations, by_model, origin,
                   cfg.text.encode("utf-8") if cfg else None, link, files, warnings, reading, taken, users_file,
                   spliced=fast.spliced if fast else {}, stats=fast.stats if fast else None)


def source_link(repo: RepoCore, inp: SnapshotInput, head_version: Version | None, tasks: "pa.Table",
                progress: Progress) -> tuple["pa.Table", dict | None, dict[str, str]]:
    """(tasks with their source files' hashes, the version's source link, the listing to store): the data
    ``--source`` names, hashed; else, for a version made on HEAD's (``--update``, ``--predictions`` alone),
    HEAD's link, the input's tasks hashed against HEAD's listing: HEAD's data did not change, and the link
    was dropped (a round brought back with ``--update`` made a version linked to no data)."""
    if inp.source_data:
        progress(f"hashing source data {inp.source_data}")
        link, files = hash_source(repo, inp.source_data)
        return data_hashes(tasks, files, link["path"]), link, files
    link = head_version.record.get("source") if head_version and (inp.update or inp.predictions_only) else None
    if not link:
        return tasks, None, {}
    if link.get("files") and tasks.num_rows:
        listing = json.loads(repo.store.get(ObjectRef.from_json(link["files"]), "source file list"))
        tasks = data_hashes(tasks, listing, link["path"])
    return tasks, dict(link), {}


def dropped_models(parent: Version, by_model: dict[str, "pa.Table"], name: str) -> list[str]:
    """A warning naming the model versions HEAD holds predictions of and the new version will not: a round
    read from an export without them (a file, JSON-MIN, a pull of a project they were never sent to) drops
    them, and ``eval`` and ``sample`` then say there are none, where only ``diff`` would have told."""
    gone = [m for m in parent.model_versions if m not in by_model]
    if not gone:
        return []
    return [f"HEAD ({name}) holds predictions of model version(s) {models_named(gone)} that this input does not "
            "have: the new version leaves them out — give them again with --predictions FILE, or add the round "
            "to HEAD with --update"]


#: the keys of a row each table's ``--update`` replaces HEAD's row of (the others are kept)
UPDATE_KEYS = {"tasks": ["task_key"], "annotations": ["task_key", "annotation_key"],
               "predictions": ["task_key", "prediction_key"]}


def _keyed_in(t: "pa.Table", other: "pa.Table", keys: list[str]) -> "pa.Array":
    """Whether each row of ``t`` has its ``keys`` in some row of ``other`` (a join of the keys alone:
    the other columns, lists among them, are not carried through it)."""
    rows = pa.array(range(t.num_rows), pa.int64())
    hit = t.select(keys).append_column("__row", rows).join(other.select(keys).group_by(keys).aggregate([]),
                                                           keys=keys, join_type="left semi")
    return pc.is_in(rows, value_set=hit.column("__row"))


def _merged(rest: "pa.Table", block: "pa.Table") -> "pa.Table":
    """Two tables in key order, whose tasks are apart (``block``'s tasks none of ``rest``'s), as one
    in key order: ``block``'s runs of rows go in where their task keys fall among ``rest``'s (a
    search of the few and slices of the rest, not a sort nor a gather of every row)."""
    if not block.num_rows or not rest.num_rows:
        return pa.concat_tables([rest, block]).combine_chunks()
    at = np.searchsorted(rest.column("task_key").to_numpy(zero_copy_only=False),
                         block.column("task_key").to_numpy(zero_copy_only=False), side="left")
    starts = np.flatnonzero(np.concatenate([[True], at[1:] != at[:-1]]))  # the block's rows go in by runs
    pieces, done = [], 0
    for s, e in zip(starts.tolist(), [*starts[1:].tolist(), len(at)]):
        pieces += [rest.slice(done, int(at[s]) - done), block.slice(s, e - s)]
        done = int(at[s])
    return pa.concat_tables([*pieces, rest.slice(done)]).combine_chunks()


def _numbered(key: str) -> tuple[str, int]:
    """``("<annotator>", n)`` of an annotation key ``<annotator>#<n>`` (n -1 when it has none)."""
    who, _, n = key.rpartition("#")
    return (who, int(n)) if n.isdigit() else (key, -1)


def _answers(t: "pa.Table") -> dict[tuple[str, str], tuple[Any, frozenset]]:
    """Each answer of ``t`` ((task key, annotation key)): its Label Studio id and its region keys."""
    cols = ("task_key", "annotation_key", "ls_annotation_id", "region_key")
    out: dict[tuple[str, str], tuple[Any, set]] = {}
    for task, key, i, region in zip(*(t.column(c).to_pylist() for c in cols)):
        out.setdefault((task, key), (i, set()))[1].add(region)
    return {k: (i, frozenset(r)) for k, (i, r) in out.items()}


def _touched_answers(near: "pa.Table", given: "pa.Table") -> "pa.Array":
    """The tasks where an input answer may not simply replace HEAD's of its key: its key is HEAD's
    for another Label Studio answer (another id), or its id is HEAD's under another key. A pull of
    the project HEAD came from has none (found by two joins of the answers, not row by row)."""
    cols = ["task_key", "annotation_key", "ls_annotation_id"]
    h, g = (t.select(cols).group_by(cols).aggregate([]) for t in (near, given))
    by_key = g.join(h, keys=cols[:2], join_type="inner", right_suffix=" head")
    by_id = g.join(h, keys=[cols[0], cols[2]], join_type="inner", right_suffix=" head")
    other = pc.fill_null(pc.not_equal(by_key.column(cols[2]), by_key.column(cols[2] + " head")), False)
    moved = pc.fill_null(pc.not_equal(by_id.column(cols[1]), by_id.column(cols[1] + " head")), False)
    return pc.unique(pa.chunked_array([by_key.filter(other).column(cols[0]).combine_chunks(),
                                       by_id.filter(moved).column(cols[0]).combine_chunks()], pa.string()))


def _answers_beside(near: "pa.Table", given: "pa.Table") -> "pa.Table":
    """``--update``: the input's answers keyed so that another answer than HEAD's of the same key
    stands beside it. An answer key ranks one annotator's answers on a task (``<annotator>#<n>``)
    in the project it was read from: a round's project (a sample sent for review) ranks its
    reviewer's answer ``#0`` again, and it replaced their answer of the main project (a skip
    there too), which the next pull of the main project then put back. An input answer that is
    HEAD's (the same Label Studio answer id; or the same regions, as a version pushed into a new
    project gives them with new ids) takes HEAD's key; another one, whose key HEAD gives to
    another answer, takes the annotator's next free rank on the task."""
    tasks = _touched_answers(near, given)
    if not len(tasks):
        return given
    inside = pc.is_in(given.column("task_key"), value_set=tasks)
    mine_rows, rest = given.filter(inside), given.filter(pc.invert(inside))
    head, mine = _answers(near.filter(pc.is_in(near.column("task_key"), value_set=tasks))), _answers(mine_rows)
    by_id = {(t, i): k for (t, k), (i, _) in head.items() if i is not None}
    used: dict[tuple[str, str], int] = {}
    for t, k in [*head, *mine]:
        who, n = _numbered(k)
        used[(t, who)] = max(used.get((t, who), -1), n)
    rename = {(t, k): by_id[(t, i)] for (t, k), (i, _) in mine.items() if (t, i) in by_id}
    taken = {(t, v) for (t, _), v in rename.items()}
    for (t, k), (i, regions) in mine.items():
        if (t, k) in rename:
            continue
        other = head.get((t, k))
        if (t, k) in taken or (other is not None and None not in (i, other[0]) and other[1] != regions):
            who, _ = _numbered(k)
            used[(t, who)] += 1
            rename[(t, k)] = f"{who}#{used[(t, who)]}"
        taken.add((t, rename.get((t, k), k)))
    pairs = zip(*(mine_rows.column(c).to_pylist() for c in ("task_key", "annotation_key")))
    keys = [rename.get(tk, tk[1]) for tk in pairs]
    at = given.schema.get_field_index("annotation_key")
    mine_rows = mine_rows.set_column(at, given.schema.field(at), pa.array(keys, given.schema.field(at).type))
    return pa.concat_tables([rest, mine_rows])


def onto_head(repo: RepoCore, head: str | None, tasks: "pa.Table", annotations: "pa.Table", predictions: "pa.Table"
              ) -> "tuple[pa.Table, pa.Table, pa.Table, dict]":
    """``--update``: HEAD's tables with the input's tasks, answers and predictions added, each of
    HEAD's rows of the same task (answer, prediction) replaced by the input's, nothing of HEAD's
    removed; and what it did (tasks the input holds, of them new to HEAD; HEAD's answers kept on
    them). A Label Studio project of some tasks (a sample sent to a project of its own) so comes
    back into the dataset without dropping the tasks it does not hold."""
    if head is None:
        raise UsageError("--update adds to HEAD's tasks, and there is no version yet",
                         "make the first version without --update")
    out, new, head_tasks = [], {"tasks": tasks, "annotations": annotations, "predictions": predictions}, None
    for name, keys in UPDATE_KEYS.items():
        old, given = C.conform(repo.read_table(head, name), name), C.conform(new[name], name)
        if name == PREDICTIONS and len(repo.version(head).model_versions) > 1:
            old = C.sort_table(old, name)  # one model's rows after another's: in key order, as _merged needs
        head_tasks = old.column("task_key") if name == "tasks" else head_tasks
        if not old.num_rows or not given.num_rows:
            out.append(finish(pa.concat_tables([old, given]), name, "--update"))
            continue
        touched = pc.is_in(old.column("task_key"), value_set=pc.unique(given.column("task_key")))
        near = old.filter(touched)  # HEAD's rows of the input's tasks: those of its keys replaced, the others kept
        given = _answers_beside(near, given) if name == "annotations" else given
        near = near.filter(pc.invert(_keyed_in(near, given, keys)))
        out.append(_merged(old.filter(pc.invert(touched)), finish(pa.concat_tables([near, given]), name, "--update")))
    given_tasks = pc.unique(tasks.column("task_key"))
    fresh = len(given_tasks) - pc.sum(pc.is_in(given_tasks, value_set=head_tasks)).as_py() if len(given_tasks) else 0
    return out[0], out[1], out[2], {"tasks": len(given_tasks), "new_tasks": int(fresh or 0)}


def beside_pull(pulled: dict[str, "pa.Table"], kept: dict[str, "pa.Table"]) -> dict[str, "pa.Table"]:
    """A pull of the dataset's main project with the rows HEAD kept from other projects (a round's
    answers, brought back with ``--update``) added: a kept answer whose key the pull gives another
    answer takes its annotator's next rank on the task, as ``--update`` ranks it; a kept row whose
    keys the pull has (the same answer, prediction or task) is the pull's."""
    out = {}
    for name, keys in UPDATE_KEYS.items():
        old, given = C.conform(pulled[name], name), C.conform(kept[name], name)
        if given.num_rows and old.num_rows:
            near = old.filter(pc.is_in(old.column("task_key"), value_set=pc.unique(given.column("task_key"))))
            given = _answers_beside(near, given) if name == "annotations" else given
            given = given.filter(pc.invert(_keyed_in(given, old, keys)))
        out[name] = finish(pa.concat_tables([old, given]), name, "the rows HEAD keeps") if given.num_rows else old
    return out


@dataclass
class Update:
    """What :func:`spliced_onto_head` gives: per table the new rows of the input's tasks (those
    of a :class:`Spliced` table only), the tables kept as HEAD's plus those rows, what the
    update did, and the version's stats."""

    tasks: "pa.Table"
    annotations: "pa.Table"
    by_model: dict[str, "pa.Table"]
    updated: dict
    spliced: dict[Key, Spliced]
    stats: dict


def _head_rows(repo: RepoCore, ref: SnapshotRef | None, name: str, named: "pa.Array") -> "pa.Table":
    """HEAD's rows of the ``named`` tasks in snapshot ``ref``, conformed, with their task hashes
    (read from the parts whose key range can hold them)."""
    if ref is None or not ref.rows or not len(named):
        t = C.schema(name).empty_table()
        return t.append_column(pa.field(snapshots.TASK_HASH, pa.uint64()), pa.array([], pa.uint64()))
    cols = [*C.schema(name).names, snapshots.TASK_HASH]
    t = snapshots.read_snapshot(repo.store, ref, cols, named)
    return C.conform(t, name).append_column(t.schema.field(snapshots.TASK_HASH), t.column(snapshots.TASK_HASH))


def _spliced(repo: RepoCore, name: str, ref: SnapshotRef, named: "pa.Array", before: "pa.Table",
             block: "pa.Table") -> Spliced | None:
    """The table of HEAD's snapshot ``ref`` with the ``named`` tasks' rows (``before``, with task
    hashes) replaced by ``block``, as HEAD's layout plus a delta; None when no delta may be written
    on ``ref`` (a small table, or one due for compaction)."""
    if not before.num_rows and not block.num_rows:  # the update leaves the table as it was: HEAD's snapshot
        none = pa.array([], pa.string())
        same = snapshots.Delta(ref.manifest, {}, before, pa.table({"task_key": none}), C.schema(name).empty_table())
        return Spliced(ref, none, block, same, ref.rows,
                       lambda: C.conform(snapshots.read_snapshot(repo.store, ref), name))
    budget = snapshots.delta_budget(repo.store, name, ref)
    if budget is None:
        return None
    stored = block.append_column(pa.field(snapshots.TASK_HASH, pa.uint64()), snapshots.task_hashes(block, name))
    delta = snapshots.plan_delta(repo.store, stored, name, ref, budget, before)
    if delta is None:
        return None

    def whole() -> "pa.Table":
        old = C.conform(snapshots.read_snapshot(repo.store, ref), name)
        return _merged(old.filter(pc.invert(pc.is_in(old.column("task_key"), value_set=named))), block)
    return Spliced(ref, named, block, delta, ref.rows - before.num_rows + block.num_rows, whole)


def _head_refs(v: Version, name: str) -> "dict[Key, SnapshotRef | None]":
    if name == PREDICTIONS:
        return {(PREDICTIONS, mv): v.snapshot(PREDICTIONS, mv) for mv in v.model_versions}
    return {name: v.snapshot(name)}


def spliced_onto_head(repo: RepoCore, head: str | None, tasks: "pa.Table", annotations: "pa.Table",
                      predictions: "pa.Table") -> Update | None:
    """:func:`onto_head` without HEAD's tables: HEAD's rows of the input's tasks read from the parts
    that can hold them, each table kept as HEAD's snapshot plus the new rows of those tasks
    (:class:`Spliced`), the stats brought up to date from HEAD's. None where that cannot be (no
    HEAD, a table written by another schema, small or due for compaction, stats an older annover
    wrote): :func:`onto_head` then reads HEAD's tables."""
    v = repo.version(head) if head else None
    if v is None or v.record.get("table_schema") != C.TABLE_SCHEMA_VERSION:
        return None
    new = {"tasks": tasks, "annotations": annotations, PREDICTIONS: predictions}
    out: dict[Key, "pa.Table"] = {}
    befores: dict[Key, "pa.Table"] = {}
    spliced: dict[Key, Spliced] = {}
    for name, keys in UPDATE_KEYS.items():
        refs = _head_refs(v, name)
        given = C.conform(new[name], name)
        named = C.single_chunk(pc.unique(given.column("task_key")))
        here = {k: _head_rows(repo, ref, name, named) for k, ref in refs.items()}
        old = pa.concat_tables([C.conform(t, name) for t in here.values()]) if here else C.schema(name).empty_table()
        if old.num_rows:  # HEAD's rows of the input's tasks: those of its keys replaced, the others kept
            given = _answers_beside(old, given) if name == "annotations" else given
            old = old.filter(pc.invert(_keyed_in(old, given, keys)))
        block = finish(pa.concat_tables([old, given]), name, "--update") if given.num_rows else given
        parts = {(PREDICTIONS, mv): t for mv, t in split_predictions(block).items()} \
            if name == PREDICTIONS else {name: block}
        for k in sorted(set(here) | set(parts), key=str):
            ref, before = refs.get(k), here[k] if k in here else _head_rows(repo, None, name, named)
            part = parts.get(k, C.schema(name).empty_table())
            if name == PREDICTIONS and (ref.rows if ref else 0) - before.num_rows + part.num_rows == 0:
                continue  # a model's predictions all replaced by another's
            befores[k], out[k] = before, part
            if ref is not None and ref.rows:  # else a table HEAD has none of: the new rows are all of it
                if (sp := _spliced(repo, name, ref, named, before, part)) is None:
                    return None
                spliced[k] = sp
    given_tasks = len(pc.unique(tasks.column("task_key")))
    return _update_of(v, out, befores, spliced, given_tasks, befores["tasks"].num_rows if given_tasks else 0)


def _update_of(v: Version, out: dict, befores: dict, spliced: dict, given: int, known: int) -> Update | None:
    """The :class:`Update` of the new rows ``out`` and HEAD's ``befores`` of each table (``given``
    tasks in the input, ``known`` of them to HEAD); None when HEAD's stats cannot be brought up to date."""
    preds = {k[1]: t for k, t in out.items() if isinstance(k, tuple)}
    drop = lambda t: t.drop_columns([snapshots.TASK_HASH])  # noqa: E731
    before = S.tallies(drop(befores["tasks"]), drop(befores["annotations"]),
                       {k[1]: drop(t) for k, t in befores.items() if isinstance(k, tuple)})
    after = S.tallies(out["tasks"], out["annotations"], preds)
    stats = S.updated(v.record.get("stats"), before, after, sorted(preds))
    if stats is None:
        return None
    return Update(out["tasks"], out["annotations"], preds, {"tasks": given, "new_tasks": given - known},
                  spliced, stats)


# ---------------------------------------------------------------------------
# 2-3. hash, encode, compare


def parent_snapshot(parent: Version | None, key: Key) -> SnapshotRef | None:
    """The snapshot of ``key`` in ``parent`` (what a delta is relative to), if any."""
    if parent is None:
        return None
    return parent.snapshot(key) if isinstance(key, str) else parent.snapshot(PREDICTIONS, key[1])


def hash_and_encode(content: Content, pool: ThreadPoolExecutor, repo: RepoCore | None = None,
                    head: str | None = None, compared: "dict[Key, Future] | None" = None) -> Encoded:
    """Content ids, stats and part encodings submitted at once (none waited for).
    With ``repo`` and ``head``, each table may be encoded as a delta on HEAD's snapshot
    (``compared``: :func:`annover.store.snapshots.compared_rows` of its tables, read ahead)."""
    named, cut = content.named, content.spliced
    kind = {k: k if isinstance(k, str) else PREDICTIONS for k in named}
    id_futs = {k: pool.submit(snapshots.spliced_id, repo.store, kind[k], cut[k].head, cut[k].named, t)  # type: ignore
               if k in cut else pool.submit(C.content_id, t, kind[k]) for k, t in named.items()}
    if content.stats is None:
        stats = pool.submit(S.compute, content.tasks, content.annotations, content.by_model)
    else:
        stats = Future()
        stats.set_result(content.stats)
    parent = repo.version(head) if repo is not None and head else None
    store = repo.store if repo is not None else None
    ahead = compared or {}
    parts = {k: _spliced_encoding(cut[k], pool) if k in cut else
             snapshots.encode_snapshot(t, pool, kind[k], store, parent_snapshot(parent, k), ahead.get(k))
             for k, t in named.items()}
    return Encoded(kind, id_futs, parts, stats)


def _spliced_encoding(sp: Spliced, pool: ThreadPoolExecutor) -> snapshots.Encoding:
    """A :class:`Spliced` table's delta, its parts encoding in ``pool``."""
    sp.delta.futures = [pool.submit(snapshots.part_bytes, t) if t.num_rows else None for t in sp.delta.tables]
    return snapshots.Encoding([], [], sp.block, sp.delta, sp.whole, total=sp.rows)


def same_content(parent: Version, sids: dict[Key, str], content: Content) -> bool:
    """Whether ``parent`` holds exactly this content (tables, predictions, config, source data),
    the tables' content ids given (:attr:`Encoded.sids`)."""
    t = parent.record["tables"]
    if t["tasks"]["id"] != sids["tasks"] or t["annotations"]["id"] != sids["annotations"]:
        return False
    if {mv: s["id"] for mv, s in t.get(PREDICTIONS, {}).items()} != {k[1]: v for k, v in sids.items()
                                                                      if isinstance(k, tuple)}:
        return False
    pc_ = parent.record.get("config")
    if (pc_["oid"] if pc_ else None) != content.config_oid:
        return False
    ps = parent.record.get("source")
    return (ps or {}).get("sha256") == (content.source_link or {}).get("sha256")


def next_tag(repo: RepoCore) -> str:
    """``v<N+1>`` for the largest N of the ``vN`` tags in annover and git, or the next number that is no
    git branch's name: a version tagged as a branch is named (``git branch v5``) is one git reads as
    ambiguous (`git push origin v5` fails), as ``annover tag`` refuses such a name."""
    names = set(repo.refs.tags()) | repo.scm.tags()
    n = max([n for t in names if (n := version_number(t)) is not None] or [0]) + 1
    while repo.scm.branches_named(f"v{n}"):
        n += 1
    return f"v{n}"


# ---------------------------------------------------------------------------
# 4. store, record, commit (under the lock)


@dataclass
class Stored:
    snaps: dict[Key, SnapshotRef]
    config_ref: ObjectRef | None


def store_objects(repo: RepoCore, content: Content, enc: Encoded, pool: ThreadPoolExecutor,
                  parent: Version | None = None) -> Stored:
    """Write every object (write-once); a part whose encoding was cancelled is encoded now; a
    delta planned on another HEAD than ``parent`` is written whole instead."""
    snaps = {k: snapshots.store_encoding(repo.store, enc.kind[k], enc.sids[k], enc.parts[k], pool,
                                         parent_snapshot(parent, k)) for k in content.named}
    config_ref = repo.store.put(content.config_bytes) if content.config_bytes else None
    if content.source_files:
        content.source_link["files"] = repo.store.put(C.canonical_json(content.source_files).encode()).to_json()
    return Stored(snaps, config_ref)


def version_record(repo: RepoCore, content: Content, stored: Stored, parent_id: str | None, stats: dict,
                   message: str, author: str) -> dict:
    """The version record (its id is the sha256 of its canonical JSON); ``author``: what
    ``repo.author()`` gave as the command started, before anything was written."""
    snaps = stored.snaps
    return {
        "schema": VERSION_SCHEMA, "hash": "sha256", "parents": [parent_id] if parent_id else [],
        "tables": {"tasks": snaps["tasks"].to_json(), "annotations": snaps["annotations"].to_json(),
                   PREDICTIONS: {k[1]: s.to_json() for k, s in snaps.items() if isinstance(k, tuple)}},
        "table_schema": C.TABLE_SCHEMA_VERSION,
        "config": stored.config_ref.to_json() if stored.config_ref else None,
        "source": content.source_link,
        "author": author,
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "message": message,
        "origin": content.origin,
        "stats": stats,
    }


def prune_view(repo: RepoCore, keep: set[str], known_md5: dict[str, str]) -> None:
    """Leave in the working store only the objects the new version needs.

    An object of the parent version is removed only if the DVC cache has it (so the
    parent stays readable); strays from an interrupted run are not referenced by any
    committed pointer and go.
    """
    cache: Path | None = None
    objdir = repo.dir / "objects"
    for sub in objdir.iterdir() if objdir.is_dir() else []:
        if not sub.is_dir():
            continue
        for f in sub.iterdir():
            oid = sub.name + f.name
            if oid in keep:
                continue
            if f.name.startswith(".tmp-"):
                f.unlink(missing_ok=True)
                continue
            md5 = known_md5.get(oid)
            if md5 is not None:
                if cache is None:
                    cache = repo.dvc.cache_dir()
                if not (cache / md5[:2] / md5[2:]).exists():
                    continue
            f.unlink(missing_ok=True)
        try:
            sub.rmdir()
        except OSError:
            pass


def point_dvc_at(repo: RepoCore, version: Version, parent: Version | None) -> None:
    """The working store and its DVC pointer cover exactly ``version``'s objects."""
    needed = repo.objects_of(version)
    known = {r.oid: r.md5 for r in (repo.objects_of(parent) if parent else [])}
    prune_view(repo, {r.oid for r in needed}, known)
    for r in needed:  # objects shared with an older version may only be in the DVC cache
        if not repo.store.path(r.oid).exists():
            repo.store.put(repo.store.get(r))
    maybe_die(Stage.BEFORE_DVC_ADD)
    repo.dvc.record(repo.store, needed, repo.dir / "objects.dvc")
    maybe_die(Stage.AFTER_DVC_ADD)


def commit_version(repo: RepoCore, record: dict, parent: Version | None, tag: str, message: str,
                   expected_commit: str | None, progress: Progress,
                   users_file: bytes | None = None, what: str | None = "snapshot", *, base: str | None = None,
                   merged: tuple[str, ...] = (), extra: dict[str, bytes] | None = None) -> tuple[Version, str]:
    """Write the version record, point DVC at its objects, commit and tag: (version, commit).

    ``what`` names the command in the reflog and in a title without a message (``snapshot
    v3``); None: the tag alone. ``merged`` and ``base``: a merge commit's other parents and
    merged tree (see :meth:`annover.repo.core.RepoCore.commit`); ``extra``: more files to
    commit, ``{path: bytes}``."""
    vid = C.json_digest(record)
    vpath = repo.version_path(vid)
    write_atomic(vpath, (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode())
    version = Version(vid, record)
    progress("updating the DVC pointer")
    point_dvc_at(repo, version, parent)
    progress("committing")
    files: dict[str, Any] = {
        repo.rel(vpath): vpath,
        repo.rel(repo.dir / "objects.dvc"): repo.dir / "objects.dvc",
        repo.rel(repo.dir / ".gitignore"): repo.dir / ".gitignore",
        repo.rel(repo.dir / "HEAD"): (vid + "\n").encode(),
        repo.rel(repo.dir / "refs" / "tags" / tag): (vid + "\n").encode(),
    }
    if users_file is not None:
        files[repo.rel(repo.dir / USERS_FILE)] = users_file
    files.update(extra or {})
    named = f"{what} {tag}" if what else tag
    title = message.splitlines()[0] if message else named
    commit = repo.commit(files, f"annover: {title} ({tag})\n\nannover-version: {vid}\n", expected_commit,
                         base=base, merged=merged)
    repo.refs.log(parent.id if parent else None, vid, f"{named}: {title}")
    maybe_die(Stage.BEFORE_GIT_TAG)
    repo.scm.tag(tag, commit)
    return version, commit


def commit_users(repo: RepoCore, inp: SnapshotInput, content: Content, expected_commit: str | None) -> bool:
    """A snapshot that finds nothing changed still commits the users map it learned (``--users``, a
    pull's server users), alone: given once, a map names the ids of every later file read. Whether
    it did. (Dropped, the next snapshot of the same ids without ``--users`` made a version of ids.)"""
    if content.users_file is None:
        return False
    given = f" of {Path(inp.users).name}" if inp.users else " of the Label Studio server"
    repo.commit({repo.rel(repo.dir / USERS_FILE): content.users_file},
                f"annover: remember the users{given}\n\nNothing else changed since {repo.name_of(repo.head())}.\n",
                expected_commit, what="the users map")
    return True


def _locked(repo: RepoCore, inp: SnapshotInput, content: Content, enc: Encoded, pool: ThreadPoolExecutor,
            progress: Progress, author: str) -> SnapshotResult:
    """The steps under the repository lock: recheck HEAD, store, record, commit, tag. The lock is
    taken while the content is hashed: git's answers here come meanwhile."""
    recovered = repo.recover()
    parent_id = repo.head()
    parent = repo.version(parent_id) if parent_id else None
    expected_commit = repo.head_commit()
    tag = inp.tag or next_tag(repo)
    if parent and same_content(parent, enc.sids, content):  # waits for the content ids
        enc.cancel()
        return SnapshotResult(None, False, warnings=content.warnings, recovered=recovered, head=parent_id,
                              reading=content.reading.to_json(), remembered=content.remembered,
                              users_committed=commit_users(repo, inp, content, expected_commit))
    progress("writing snapshots")
    stored = store_objects(repo, content, enc, pool, parent)
    maybe_die(Stage.AFTER_OBJECTS)
    record = version_record(repo, content, stored, parent_id, enc.stats.result(), inp.message, author)
    version, commit = commit_version(repo, record, parent, tag, inp.message, expected_commit, progress,
                                     content.users_file)
    return SnapshotResult(version, True, tag, commit, content.warnings, recovered, head=version.id,
                          reading=content.reading.to_json(), remembered=content.remembered)


def check_head_here(repo: RepoCore, head: str | None) -> None:
    """A new version is stored as what changed since HEAD's, so HEAD's objects must be here. In a
    clone that has not pulled them, a snapshot read its whole input, wrote its objects and record,
    then stopped at exit 8 naming a manifest, and left the record for the next command to remove."""
    if head is None:
        return
    try:
        here = all(repo.store.has(r) for r in repo.objects_of(repo.version(head)))
    except ObjectError:  # a manifest is not here, nor then the list of its parts
        here = False
    if not here:
        tags = sorted(repo.tags_of().get(head, []), key=lambda t: (len(t), t))
        name = f"{tags[0]} ({head[:12]})" if tags else head[:12]
        raise ObjectError(f"HEAD's version {name} is not pulled here: a clone or a git pull brings its record, "
                          "not its objects", "run `annover pull` to fetch them from the DVC remote, then run the "
                          "command again")


#: ``make_version(start=...)`` not given: HEAD is read as the snapshot starts.
NOW = object()


def make_version(repo: RepoCore, inp: SnapshotInput, progress: Progress = noop, *,
                 start: "str | None | object" = NOW) -> SnapshotResult:
    """Make a version from ``inp``; ``changed=False`` (no version) when HEAD holds the same content.

    ``start``: the HEAD version the input was read against (a Label Studio pull records it
    before the pull); a version landed since then refuses this one.
    """
    check_new_tag(repo, inp.tag)
    if start is NOW:
        start = repo.begin_write()  # HEAD as reading starts (refused on a detached git HEAD)
    author = repo.author()  # git can make the commit (an identity, a signature) before the input is read
    head = repo.head()
    check_head_here(repo, head)
    ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="annover-parent")
    pool = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)), thread_name_prefix="annover")
    try:
        parent = repo.version(head) if head else None  # its rows a delta is planned on, read while the input is
        compared = {k: ahead.submit(snapshots.compared_rows, repo.store, k, parent_snapshot(parent, k))
                    for k in ("tasks", "annotations")} if parent and not inp.update else {}
        content = read_inputs(repo, inp, head, progress, splice=True)
        progress("hashing content")
        enc = hash_and_encode(content, pool, repo, head, compared)
        with repo.lock(expect_head=start):  # refused if another version landed meanwhile
            return _locked(repo, inp, content, enc, pool, progress, author)
    finally:
        ahead.shutdown(wait=False, cancel_futures=True)  # after an error, not waited for (read only)
        pool.shutdown(wait=True, cancel_futures=True)
