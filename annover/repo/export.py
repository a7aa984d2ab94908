"""Versions out: ``export`` (a file to train with or to re-import) and ``load`` (an Arrow table).

``load`` also reads a repository that is not cloned: from its git URL, through DVC's
filesystem (the record from git, the objects from the DVC remote), each object verified.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from annover._lazy import lazy
from annover.errors import ObjectError, RevisionError, UsageError
from annover.files import file_mode, write_atomic, write_chunks_atomic, write_files
from annover.formats import EXPORT_FORMATS, FOLDER_FORMATS, TRAIN_FORMATS, Format
from annover.formats.write import TABLE_FORMATS, render_chunks
from annover.model import canonical as C
from annover.repo.core import ANNOVER_DIR, RepoCore, missing_objects, read_version_table
from annover.repo.export_images import (Placed, check_images_option, find_images, label_files, place_images,
                                        with_images)
from annover.repo.outputs import check_name, check_not_owned, check_writable
from annover.repo.gc import Progress
from annover.repo.reading import task_keys
from annover.repo.results import ExportResult
from annover.store import dvc as dvc_adapter
from annover.store.objects import FsStore, first_line
from annover.store.refs import is_tag_name
from annover.store.versions import Version, check_has_model

if TYPE_CHECKING:  # pragma: no cover
    import datasets
    import pyarrow as pa
    import pyarrow.compute as pc

    from annover.formats import coco, conll, hf, training
    from annover.formats.training import Rendered
else:  # the training formats' writers: only for an export to one of them
    coco = lazy("annover.formats.coco")
    conll = lazy("annover.formats.conll")
    hf = lazy("annover.formats.hf")
    training = lazy("annover.formats.training")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["TrainExportResult", "check_out", "check_table", "export", "load_hf", "load_url", "unwritable_out"]

#: revisions that name the current version (of a git URL: its default branch)
HEAD_NAMES = ("HEAD", "@")


def check_table(table: str) -> None:
    if table not in C.TABLES:
        raise UsageError(f"unknown table {table!r}", f"use one of {', '.join(C.TABLES)}")


@dataclass(frozen=True)
class TrainExportResult(ExportResult):
    """An export to a training format: also what was left out of it (``notes``), and the rule used."""

    notes: list[str] = field(default_factory=list)
    resolve: str = "only"
    predictions: str | None = None
    images: dict | None = None  # with --images: how many were put in the folder, checked, linked, copied
    warnings: list[str] = field(default_factory=list)  # said on stderr (--json: in images.size_mismatches)
    tag_scheme: str | None = None  # CoNLL: the tag scheme written (bio, iob1, bioes)

    def to_json(self) -> dict:
        out = {**super().to_json(), "notes": list(self.notes), "resolve": self.resolve,
               "predictions": self.predictions, "images": self.images}
        return out if self.tag_scheme is None else {**out, "tag_scheme": self.tag_scheme}


def check_out(path: Path, force: bool, folder: bool, option: str = "--out") -> None:
    """Refuse to replace an existing ``path`` (given as ``option``) unless ``force`` (saying what it would replace)."""
    if not path.exists() and not path.is_symlink():
        return
    what = "folder" if path.is_dir() else "file"
    if not force:
        raise UsageError(f"{path} exists (a {what}); the export would replace it",
                         f"choose another {option}, or pass --force (force=True in Python) to replace it")
    if path.is_dir() and not folder:
        raise UsageError(f"{path} is a folder; this format writes one file", f"give {option} a file name")
    whose = None if path.is_symlink() else _not_an_export(path)  # a link is replaced, not where it leads
    if whose is not None:
        raise UsageError(f"{option} {path} is {whose}; --force would replace it whole with the export",
                         f"give {option} a folder of its own: a new name, or an earlier export")


def _not_an_export(path: Path) -> str | None:
    """What folder ``path`` is when ``--force`` must not replace it (the file system's root, the home
    folder, the current folder or one holding it, a git work tree): None for any other."""
    if not path.is_dir():
        return None
    real, cwd = path.resolve(), Path.cwd().resolve()
    if real == Path(real.anchor):
        return "the file system's root"
    if real == Path.home().resolve():
        return "your home folder"
    if real == cwd or real in cwd.parents:
        return "the current folder" if real == cwd else f"a folder holding the current folder ({cwd})"
    if (real / ".git").exists():
        return "a git repository's work tree (it holds .git)"
    return None


def unwritable_out(path: Path, e: OSError, option: str = "--out") -> UsageError:
    """``option`` (``--out``) could not be written: why, in one line (a parent that is a file, a folder
    without permission, a full disk), exit 2 as every file the user named that cannot be written."""
    why = e.strerror or str(e)
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                why = f"{parent} is a file, not a folder"
            break
    if e.errno in _NO_ROOM:
        return UsageError(f"cannot write {option} {path}: {why}", _NO_ROOM[e.errno].format(option=option))
    return UsageError(f"cannot write {option} {path}: {why}", f"give {option} a path in a folder you can write to")


#: an --out refused for want of room: what to do
_NO_ROOM = {errno.ENOSPC: "free some space on its disk, or give {option} a path on another",
            errno.EDQUOT: "free some of your quota, or give {option} a path on another disk",
            errno.EFBIG: "a limit on a file's size refused it (`ulimit -f`, or the file system's largest file): "
                         "raise the limit, or write to another file system"}


_ESCAPES = re.compile(r"(?:^|/)\.\.(?:/|$)|^/", re.M)


def _write_files(files: dict[str, bytes]) -> Callable[[Path], None]:
    """Write ``files`` into a folder, once none of their paths leaves it."""
    if _ESCAPES.search("\n".join(files).replace("\\", "/")):  # one search for all; then the name, for the message
        rel = next(r for r in files if _ESCAPES.search(r.replace("\\", "/")))
        raise UsageError(f"the export would write {rel!r}, outside its folder (an image name with '..')",
                         "give the tasks image names without '..' parts")
    if "\0" in "".join(files):  # the file system takes no NUL in a name (os.open raised ValueError: a crash)
        odd = next(r for r in files if "\0" in r)
        raise UsageError(f"the export would write {odd!r}: an image name with a NUL character",
                         "give the tasks image names without NUL characters")
    return lambda folder: write_files(folder, files)


def _write_folder(path: Path, write: Callable[[Path], None], size: int | None = None) -> int:
    """Fill a new folder beside ``path`` with ``write``, then put it in place of ``path``; its size in bytes
    (``size`` when the caller knows it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    old: Path | None = None
    try:
        tmp.chmod(file_mode(folder=True))  # mkdtemp's 0o700: as readable as a folder mkdir makes
        write(tmp)
        if size is None:
            size = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())
        if path.exists() or path.is_symlink():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not path.exists():
            os.replace(old, path)
        raise
    if old is not None:  # a link --out was (to a folder too) goes, not what it leads to
        shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
    return size


def _read_version(repo: RepoCore, rev: str, predictions: str | None = None,
                  keys: "pa.Array | None" = None) -> "tuple[Version, dict[str, pa.Table], str | None]":
    """(version ``rev``, its tables, its labeling config); an object missing or corrupt said
    of ``rev``, with the command that fetches it; ``predictions``: a model version it must have;
    ``keys``: only those tasks' rows (read from the parts that can hold them)."""
    v = repo.show(rev)
    if predictions is not None:
        check_has_model(v, predictions, rev, "(none: export its answers without --predictions)")
    try:
        tables = {name: read_version_table(repo.store, v, name, keys=keys) for name in C.TABLES}
        return v, tables, repo.config_text(v.id) if v.config_ref else None
    except ObjectError as e:
        raise missing_objects(e, rev, v.id) from None


def export(repo: RepoCore, rev: str, fmt: str, out: str | Path, table: str = "annotations", *,
           resolve: str | None = None, predictions: str | None = None, force: bool = False,
           progress: "Progress | None" = None, tasks: "Any" = None, images: "str | Path | None" = None,
           tag_scheme: str | None = None) -> ExportResult:
    """Write version ``rev`` as ``fmt`` to ``out`` (written whole, then renamed into place).

    An existing ``out`` is replaced only with ``force``. For the training formats (COCO, YOLO,
    VOC, CoNLL), ``resolve`` chooses the one answer per task they hold and ``predictions``
    exports a model version's predictions instead (see :mod:`annover.formats.resolve`).
    ``progress``: told ``(step, items written, items)`` as the formats written in pieces are.
    ``tasks`` (task keys): only those tasks (the result names the keys the version lacks).
    ``images`` (YOLO, VOC, COCO): a folder the tasks' images are in, put into the export beside their
    labels (:mod:`annover.repo.export_images`; COCO is then a folder, ``annotations.json`` and ``images/``).
    ``tag_scheme`` (CoNLL: bio, iob1, bioes): the tags' scheme, by default the one the CoNLL file read in had.
    """
    keys = task_keys(tasks)
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", f"use one of {', '.join(EXPORT_FORMATS)}")
    tag_scheme = _tag_scheme(fmt, tag_scheme)
    check_table(table)
    if fmt not in TRAIN_FORMATS and (resolve or predictions):
        raise UsageError(f"--resolve and --predictions are for the training formats, not {fmt}",
                         f"use them with one of {', '.join(TRAIN_FORMATS)}")
    if table != "annotations" and fmt not in TABLE_FORMATS:
        raise UsageError(f"--table {table} is for the one-table formats ({', '.join(TABLE_FORMATS)}), not {fmt}",
                         f"leave --table out: {fmt} writes the tasks with their answers")
    if images is not None:
        check_images_option(fmt, out, predictions)
    if str(out) == STDOUT:
        return _to_stdout(repo, rev, fmt, table, resolve, predictions, keys, tag_scheme)
    path = Path(out)
    check_name(path)
    check_not_owned(repo, path)
    check_out(path, force, fmt in FOLDER_FORMATS or images is not None or _coco_folder(fmt, path, predictions)
              or _conll_folder(fmt, path))
    check_writable(path)
    v, tables, cfg_text = _read_version(repo, rev, predictions, keys)
    missing = _missing(keys, tables)
    if fmt in TRAIN_FORMATS:
        r: Rendered = training.render_train(fmt, tables, cfg_text, resolve, predictions, tag_scheme)
        placed, files = None, _split_files(fmt, r, tables["tasks"], path, images is None, predictions)
        if files is None and fmt in (Format.COCO, Format.CONLL):  # one file after all
            check_out(path, force, images is not None)
        if images is not None:  # every image found and checked before anything is written
            files = label_files(fmt, files, r.data)  # COCO: annotations.json beside images/, or its splits
            done = None if progress is None else (lambda n, total: progress("finding images", n, total))
            rows = None if r.dataset is None else r.dataset.data.column("task_key").to_pylist()
            placed = find_images(fmt, images, tables["tasks"], cfg_text, files, done, path, rows, _fetch(repo, v))
        try:
            if r.dataset is not None:  # with --images: the image column's bytes written into the dataset
                dataset = r.dataset if placed is None else with_images(r.dataset, placed, cfg_text)
                size = _write_folder(path, lambda folder: hf.save(dataset, str(folder), v.id, r.notes))
            elif files is not None:
                size = _write_folder(path, _with_images(_write_files(files), placed),
                                     sum(map(len, files.values())) + (placed.size if placed else 0))
            else:
                assert r.data is not None
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, r.data)
                size = len(r.data)
        except OSError as e:
            raise unwritable_out(path, e) from None
        return TrainExportResult(v.id, fmt, str(path), size, r.items, missing, r.notes + _said(placed),
                                 resolve or "only", predictions, placed.to_json() if placed else None,
                                 placed.warnings() if placed else [], r.tag_scheme)
    rows = _items(fmt, tables, table)
    done = None if progress is None else (lambda n: progress(f"writing {path.name}", n, rows))
    try:  # written in pieces as they are rendered: a large version is never whole in memory as text
        size = write_chunks_atomic(path, render_chunks(fmt, tables, cfg_text, table, done))
    except OSError as e:
        raise unwritable_out(path, e) from None
    return ExportResult(v.id, fmt, str(path), size, rows, missing)


def _tag_scheme(fmt: str, tag_scheme: str | None) -> str | None:
    """``tag_scheme`` checked (CoNLL's alone) and named as :data:`annover.formats.conll.SCHEMES` name it."""
    if tag_scheme is None:
        return None
    if fmt != Format.CONLL:
        raise UsageError(f"--tag-scheme is for --format conll, not {fmt}", "leave --tag-scheme out")
    return conll.scheme_name(tag_scheme)


def _coco_folder(fmt: str, path: Path, predictions: str | None) -> bool:
    """Whether a COCO export to ``path`` is a folder where the version's tasks have splits (an
    ``--out`` not ending in ``.json``; the predictions' results list is one file)."""
    return fmt == Format.COCO and predictions is None and path.suffix.lower() != ".json"


def _split_files(fmt: str, r: Rendered, tasks: "pa.Table", path: Path, no_images: bool,
                 predictions: str | None) -> dict[str, bytes] | None:
    """The files of a folder format (``r.files``); of a version whose tasks have splits, COCO's JSON per
    split (not of predictions) and CoNLL's file per split, where ``path`` names a folder; None for one file."""
    if fmt == Format.COCO and predictions is None:  # a version with splits: one JSON per split, a folder
        return _coco_splits(tasks, r.data, no_images and not _coco_folder(fmt, path, None), r.notes)
    if fmt == Format.CONLL:
        return _conll_splits(r, _conll_folder(fmt, path))
    return r.files


def _conll_folder(fmt: str, path: Path) -> bool:
    """Whether a CoNLL export to ``path`` is a folder where the version's tasks have splits (an ``--out``
    of no suffix: ``v3-conll``, where ``v3.conll`` or ``v3.txt`` is one file)."""
    return fmt == Format.CONLL and not path.suffix


def _conll_splits(r: Rendered, folder: bool) -> dict[str, bytes] | None:
    """CoNLL of a version whose tasks have splits: a file per split where the export is a ``folder``; else
    None, the notes saying that the one file holds every split (a model trained on it sees the test set)."""
    if r.splits is None:
        return None
    if not folder:
        r.notes.append("the tasks have splits (data 'split'): this one file holds them all; --out a folder name "
                       f"(no suffix) writes a file per split, {', '.join(conll.SPLIT_FILES.values())}")
        return None
    r.notes.extend(r.split_notes)
    return r.splits


def _coco_splits(tasks: "pa.Table", data: bytes | None, one_file: bool, notes: list[str]) -> dict[str, bytes] | None:
    """A COCO export of a version whose tasks have splits (``data.split``): one JSON per split
    (:func:`annover.formats.coco.by_split`), written as a folder. None where it is one file: no task
    has a split, or ``one_file`` (``--out`` a ``.json`` file, standard output; the notes say so)."""
    if data is None or not pc.any(pc.match_substring(tasks.column("data"), '"split"')).as_py():
        return None  # no task data names a split: nothing parsed
    keys = tasks.column("task_key").to_pylist()
    splits = coco.splits_of(keys, [json.loads(d) if d else {} for d in tasks.column("data").to_pylist()])
    if not any(splits.values()):
        return None
    if one_file:
        notes.append("the tasks have splits (data 'split'): this one JSON holds them all; --out a folder name "
                     f"(not .json) writes one JSON per split, {coco.SPLIT_JSON.format('<split>')}")
        return None
    return coco.by_split(data, splits, notes)


def _with_images(write: Callable[[Path], None], placed: "Placed | None") -> Callable[[Path], None]:
    """``write``, then the images ``placed`` put in the same folder."""
    if placed is None:
        return write
    return lambda folder: (write(folder), place_images(folder, placed))  # type: ignore[func-returns-value]


def _said(placed: "Placed | None") -> list[str]:
    """The note of the images an export put in its folder."""
    if placed is None:
        return []
    unchecked = len(placed.files) - placed.checked
    parts = [f"{n} {what}" for n, what in (
        (placed.linked, "hard-linked"), (placed.copied, "copied"),
        (placed.checked, "checked against the sha256 the version recorded"),
        (unchecked, "not checked (the version records no sha256 of them: `snapshot --source DATA` links it)")) if n]
    return [f"{len(placed.files)} image(s) put beside their labels: {', '.join(parts) or 'none'}"]


def _missing(keys: "pa.Array | None", tables: "dict[str, pa.Table]") -> "list[str] | None":
    """The task keys given (``--task``) that the version has no task of, once each (None: none given)."""
    if keys is None:
        return None
    lack = keys.filter(pc.invert(pc.is_in(keys, value_set=tables["tasks"].column("task_key"))))
    return list(dict.fromkeys(lack.to_pylist()))


#: ``--out -``: standard output
STDOUT = "-"


def _to_stdout(repo: RepoCore, rev: str, fmt: str, table: str, resolve: str | None,
               predictions: str | None, keys: "pa.Array | None" = None, tag_scheme: str | None = None) -> ExportResult:
    """``out="-"``: a format written as one file goes to standard output, in pieces as it is
    rendered (``annover export v2 --format jsonl --out - | head``); a folder format is refused."""
    if fmt in FOLDER_FORMATS:
        raise UsageError(f"{fmt} writes a folder, which cannot go to standard output ('--out -')",
                         "give --out a folder")
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:  # a notebook's output takes text only
        raise UsageError("standard output here takes no bytes ('--out -')", "give out= a file name")
    v, tables, cfg_text = _read_version(repo, rev, predictions, keys)
    missing = _missing(keys, tables)
    if fmt in TRAIN_FORMATS:
        r: Rendered = training.render_train(fmt, tables, cfg_text, resolve, predictions, tag_scheme)
        assert r.data is not None
        if fmt == Format.COCO and predictions is None:
            _coco_splits(tables["tasks"], r.data, True, r.notes)
        _conll_splits(r, False)
        _write_all(stream, r.data)
        stream.flush()
        return TrainExportResult(v.id, fmt, STDOUT, len(r.data), r.items, missing, r.notes, resolve or "only",
                                 predictions, tag_scheme=r.tag_scheme)
    size = 0
    for chunk in render_chunks(fmt, tables, cfg_text, table, None):
        _write_all(stream, chunk)
        size += len(chunk)
    stream.flush()
    return ExportResult(v.id, fmt, STDOUT, size, _items(fmt, tables, table), missing)


def _fetch(repo: RepoCore, v: Version) -> str | None:
    """What gets version ``v``'s images where it is linked to source data DVC tracks (``snapshot --source``):
    its ``PATH.dvc`` pulled, checked out of the version's commit first where the work tree's names other data."""
    src = v.record.get("source") or {}
    if not src.get("path") or not src.get("dvc_md5"):
        return None
    path = src["path"]
    pointer = shlex.quote(f"{path}.dvc")
    command = f"dvc pull {pointer}"
    if dvc_adapter.tracked_md5(repo.toplevel / path) != src["dvc_md5"]:
        commit = repo.commit_of(v.id)
        if commit is None:
            return None
        command = f"git checkout {commit[:12]} -- {pointer} && {command}"
    return f"the version's images are its source data {path!r}, tracked by DVC: from the repository's top, " \
           f"`{command}` gets them (then --images {shlex.quote(path)}); or give the folder they are in"


def _write_all(stream: Any, data: bytes) -> None:
    """Write all of ``data``: an unbuffered standard output (``python -u``, ``PYTHONUNBUFFERED``) is a raw
    file, whose write may take part of it and say so only by its count; a reader that left (``| head``)
    then shows as the next write's BrokenPipeError, not as bytes silently never written."""
    view = memoryview(data)
    while view:
        view = view[stream.write(view) or 0:]


def _items(fmt: str, tables: dict, table: str) -> int:
    """What an export of ``fmt`` writes one of: a row of ``table`` (the one-table formats), else a task."""
    return tables[table].num_rows if fmt in TABLE_FORMATS else tables["tasks"].num_rows


def check_load_format(format: str | None, table: str, columns: list[str] | None, keys: "pa.Array | None",
                      split: str | None = None) -> None:
    """Refuse (UsageError) a ``load`` format other than ``hf``, the arguments of a table it has no use for,
    and ``split`` without it."""
    if format is None:
        if split is not None:
            raise UsageError("split= picks rows of the Hugging Face Dataset, so it needs format='hf'",
                             "add format='hf', or leave split= out")
        return
    if format != "hf":
        raise UsageError(f"unknown load format {format!r}", "use format='hf', or none for an Arrow table")
    if columns is not None or table != "annotations" or keys is not None:
        given = "columns=" if columns is not None else "table=" if table != "annotations" else "tasks="
        raise UsageError(f"format='hf' makes one row per task of its own columns, so {given} does not apply",
                         "leave it out, or select the Dataset's rows or columns with .filter() or "
                         ".select_columns([...])")


def load_hf(repo: RepoCore, rev: str, resolve: str | None = None,
            predictions: str | None = None, split: str | None = None) -> "datasets.Dataset":
    """Version ``rev`` as a Hugging Face ``datasets.Dataset`` (one answer per task by ``resolve``,
    or model version ``predictions``), its ClassLabel features from the version's config; with ``split``,
    the rows the export writes in that split (:func:`annover.formats.hf.one_split`)."""
    _, tables, cfg_text = _read_version(repo, rev, predictions)
    return _dataset(tables, cfg_text, resolve, predictions, split)


def load_hf_url(url: str, rev: str, resolve: str | None = None,
                predictions: str | None = None, split: str | None = None) -> "datasets.Dataset":
    """:func:`load_hf` of the repository at git URL ``url``, read through DVC's API as :func:`load_url` reads."""
    fs, v = version_at_url(url, rev)
    if predictions is not None:
        check_has_model(v, predictions, rev, "(none: load its answers without model_version=)")
    store = FsStore(fs, ANNOVER_DIR)
    tables = {name: read_version_table(store, v, name) for name in C.TABLES}
    cfg_text = store.get(v.config_ref, "labeling config").decode("utf-8") if v.config_ref else None
    return _dataset(tables, cfg_text, resolve, predictions, split)


def _dataset(tables: "dict[str, pa.Table]", cfg_text: str | None, resolve: str | None,
             predictions: str | None, split: str | None = None) -> "datasets.Dataset":
    r = training.render_train(Format.HF, tables, cfg_text, resolve, predictions)
    assert r.dataset is not None
    return r.dataset if split is None else hf.one_split(r.dataset, split)


def _check_tag_at(fs: Any, url: str, rev: str, head: str) -> None:
    """Refuse a git tag moved outside annover: the tag file annover committed for ``rev``, in
    the tree the git tag names, must name the version that tree holds."""
    if rev in HEAD_NAMES or not is_tag_name(rev):
        return
    try:
        recorded = fs.read_text(f"{ANNOVER_DIR}/refs/tags/{rev}").strip()
    except Exception:  # noqa: BLE001 - a branch, a commit, or a git tag annover did not make
        return
    if recorded != head:
        raise RevisionError(f"tag {rev!r} of {dvc_adapter.redact(url)} was moved outside annover: its commit holds "
                            f"version {head[:12]}, and annover recorded {rev} as {recorded[:12]}",
                            f"read the version annover recorded by its id ({recorded[:12]}), or move the tag back "
                            f"in the repository (annover status says how)")


def load_url(url: str, rev: str, table: str, model_version: str | None = None,
             columns: list[str] | None = None, keys: "pa.Array | None" = None) -> "pa.Table":
    """A table of version ``rev`` (a git rev: a tag such as ``v2``, a branch, HEAD) of the
    repository at git URL ``url``, read through DVC's API from its DVC remote."""
    check_table(table)
    fs, version = version_at_url(url, rev)
    return read_version_table(FsStore(fs, ANNOVER_DIR), version, table, model_version, columns, keys)


def version_at_url(url: str, rev: str) -> tuple[Any, Version]:
    """The version git rev ``rev`` (a tag, a branch, a commit, HEAD) holds in the repository at git
    URL ``url``, its record checked against its id, with the DVC file system that reads its objects."""
    rev = "HEAD" if rev is None else rev  # as in a clone: None is HEAD
    if not isinstance(rev, str) or not rev.strip() or re.search(r"[~^:]", rev):
        raise UsageError(f"revision {rev!r}: over a URL, give a tag, a branch or a commit",
                         "relative revisions (HEAD~1, v2^) are read in a clone: git clone URL && dvc pull")
    git_rev = None if rev in HEAD_NAMES else rev
    try:
        with dvc_adapter.failed_clones_dropped(url):
            fs = dvc_adapter.open_fs(url, git_rev)
            head = fs.read_text(f"{ANNOVER_DIR}/HEAD").strip()
            record = json.loads(fs.read_text(f"{ANNOVER_DIR}/versions/{head}.json"))
    except Exception as e:  # noqa: BLE001 - whatever DVC or git raise: one error that names the URL
        if dvc_adapter.is_databases_error(e):  # not the URL's fault: where DVC keeps its databases here
            raise dvc_adapter.databases_refused(e) from None
        raise RevisionError(f"cannot read annover version {rev!r} from {dvc_adapter.redact(url)}: {first_line(e)}",
                            "give a git URL or path of an annover repo and a git rev (a tag like v2)") from None
    if C.json_digest(record) != head:
        raise ObjectError(f"version record {head[:12]} in {dvc_adapter.redact(url)} does not match its id",
                          "the remote repo is damaged")
    _check_tag_at(fs, url, rev, head)
    return fs, Version(head, record)
