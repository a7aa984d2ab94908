"""Reading any supported file into the three canonical tables: detection and dispatch.

Nothing is written before everything has been read and checked; errors name the file,
the record and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from annover._lazy import lazy
from annover.errors import AnnoverError, InputError
from annover.formats import FOLDER_FORMATS, INPUT_FORMATS, TRAIN_FORMATS, Format
from annover.formats.detect import coco_export_file, detect_train
from annover.formats.flat import from_flat, is_canonical_row, read_csv, read_jsonl_rows, read_jsonl_table
from annover.formats.json_min import from_json_min
from annover.formats.label_studio import from_ls_tasks
from annover.formats.ls_csv import is_label_studio_csv, read_label_studio_csv
from annover.formats.ls_results import strictness
from annover.formats.own_parquet import canonical_rows, from_canonical, is_canonical, read_parquet
from annover.formats.tables import Tables
from annover.formats.text import JSONL_SUFFIXES, check_readable, fail, first_jsonl, missing, read_json_list, read_jsonl
from annover.model.config import LabelingConfig

if TYPE_CHECKING:
    from annover.formats import doccano, training
else:  # a Label Studio export, CSV or Parquet file does not import every training format's reader
    doccano = lazy("annover.formats.doccano")
    training = lazy("annover.formats.training")

__all__ = ["JSON", "detect_format", "looks_like_tasks", "read_source"]

#: What detection says of a ``.json`` file until its content tells a full export from JSON-MIN.
JSON = "json"
_SUFFIXES: dict[str, str] = {
    **dict.fromkeys(JSONL_SUFFIXES, Format.JSONL), ".csv": Format.CSV, ".tsv": Format.CSV,
    ".parquet": Format.PARQUET, ".pq": Format.PARQUET, ".json": JSON,
}


def detect_format(path: Path) -> str:
    """The format of ``path`` by its name: a :class:`Format`, or :data:`JSON` (decided by content)."""
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise fail(path, f"unknown file type {path.suffix.lower() or '(none)'}",
                   "use .json (Label Studio export or JSON-MIN), .jsonl, .csv or .parquet, or pass --format")
    return kind


def looks_like_tasks(doc: list) -> bool:
    """Whether parsed records are Label Studio tasks (rather than JSON-MIN or flat rows)."""
    first = next((x for x in doc if isinstance(x, dict)), None)
    return first is None or "data" in first or "annotations" in first or "completions" in first


def read_source(path: str | Path, *, config: LabelingConfig | None = None, key: str | None = None,
                fmt: str | None = None, validate: bool | str = True,
                users: dict[int, str] | None = None, encoded: bool = False) -> Tables:
    """Read ``path`` into canonical tables; InputError / ValidationError on bad input.
    A file a ``--format`` (``fmt``) cannot read that reads as another format: its error's hint says which.

    ``validate``: True / False or a strictness (``strict``, ``check``, ``warn``, ``off``; see
    :mod:`annover.formats.ls_results`), which Label Studio's own shapes (JSON, JSON-MIN, CSV)
    follow; flat rows and annover's Parquet are checked unless it is ``off``. ``users`` maps
    numeric Label Studio user ids to e-mails (``completed_by`` of a plain export).
    ``encoded``: text columns a flat file repeats may be dictionary arrays (for a snapshot,
    which hashes and stores them so; see :func:`annover.model.canonical.encoded`).
    """
    try:
        return _read_source(Path(path), config, key, fmt, validate, users, encoded)
    except InputError as e:
        if fmt is not None and type(e) is InputError and (seen := _reads_as(Path(path))) not in (None, fmt):
            e.hint = f"{e.hint + '; ' if e.hint else ''}{Path(path).name} reads as {seen}: give --format {seen}, " \
                     "or leave --format out"
        raise


def _reads_as(path: Path) -> str | None:
    """The format detection gives ``path`` (None: none, or a ``.json`` list of either Label Studio shape)."""
    try:
        seen = detect_train(path) or (detect_format(coco_export_file(path)) if path.is_file() else None)
    except AnnoverError:
        return None
    return seen if seen in INPUT_FORMATS else None


def _read_source(path: Path, config: LabelingConfig | None, key: str | None, fmt: str | None,
                 validate: bool | str, users: dict[int, str] | None, encoded: bool) -> Tables:
    """:func:`read_source` with ``fmt`` as given."""
    if not path.exists():
        raise missing(path)
    if fmt in (None, Format.COCO):
        path = coco_export_file(path)
    check_readable(path, streams=fmt in (Format.LABEL_STUDIO, Format.JSON_MIN))
    if fmt is not None and path.is_dir() and fmt not in FOLDER_FORMATS:
        raise fail(path, f"is a folder, and --format {fmt} reads one file",
                   f"give the file, or a folder format ({', '.join(FOLDER_FORMATS)})")
    if fmt is None:
        fmt = detect_train(path)  # a COCO file, a YOLO, VOC or HF folder, a CoNLL file; None: decided below
    if fmt in TRAIN_FORMATS:
        return training.read_train(path, fmt, config, validate)
    kind = fmt or detect_format(path)
    level = strictness(validate)
    opts = {"config": config, "key": key, "validate": level != "off", "encoded": encoded}
    ls_opts = {"config": config, "key": key, "validate": level, "users": users}
    if kind in (JSON, Format.LABEL_STUDIO, Format.JSON_MIN):
        return _read_json(path, kind, ls_opts)
    if kind == Format.JSONL:
        return _read_jsonl(path, opts, ls_opts)
    if kind == Format.CSV:
        if is_label_studio_csv(path):
            return from_json_min(read_label_studio_csv(path, config), str(path), fmt=Format.CSV, **ls_opts)
        table = read_csv(path)
        if is_canonical(table):  # flat rows would make its columns task data and each region a label
            raise fail(path, "is annover's own `export --format csv` (its annotations table), which is not read "
                             "back: CSV cannot tell an empty text from a missing one",
                       "export the version with --format parquet or jsonl and snapshot that")
        return from_flat(table, str(path), fmt=Format.CSV, **opts)
    if kind == Format.PARQUET:
        table = read_parquet(path)
        if is_canonical(table):
            return from_canonical(table, str(path), config=config, validate=level != "off")
        return from_flat(table, str(path), fmt=Format.PARQUET, **opts)
    raise fail(path, f"unknown format {kind!r}", f"use one of {', '.join(INPUT_FORMATS)}")


def _read_json(path: Path, kind: str, opts: dict) -> Tables:
    """A JSON list: Label Studio tasks or JSON-MIN records (by content when not said)."""
    doc = read_json_list(path, "tasks")
    if kind == JSON:
        _refuse_spacy(path, doc)
        kind = Format.LABEL_STUDIO if looks_like_tasks(doc) else Format.JSON_MIN
    if kind == Format.LABEL_STUDIO:
        return from_ls_tasks(doc, str(path), **opts)
    return from_json_min(doc, str(path), **opts)


#: how to turn spaCy v2's JSON training file into CoNLL (its tokens' ``orth`` and BILUO ``ner`` tags, a line each)
SPACY_TO_CONLL = "jq -r '.[].paragraphs[].sentences[] | (.tokens[] | \"\\(.orth) \\(.ner)\"), \"\"' FILE > FILE.conll"


def _refuse_spacy(path: Path, doc: list) -> None:
    """Refuse spaCy v2's JSON training format (documents of ``paragraphs``), naming it and the way in: read
    as JSON-MIN it was 'needs the labeling config'."""
    first = next((x for x in doc if isinstance(x, dict)), None)
    if first is not None and isinstance(first.get("paragraphs"), list) and "data" not in first:
        raise fail(path, "is spaCy v2's JSON training format (paragraphs of tokens with BILUO ner tags), which "
                         "annover does not read",
                   f"write its tokens and tags as CoNLL and snapshot that: {SPACY_TO_CONLL}")


def _read_jsonl(path: Path, opts: dict, ls_opts: dict) -> Tables:
    """JSONL: doccano's (a text and its labels a line), flat rows (read by pyarrow where it can), or Label
    Studio tasks one a line."""
    if doccano.is_doccano(first_jsonl(path)):
        return doccano.read(path, opts["config"], ls_opts["validate"])
    flat = read_jsonl_table(path)
    if flat is not None:
        return from_flat(flat, str(path), fmt=Format.JSONL, **opts)
    rows = read_jsonl(path)
    if not rows:
        raise fail(path, "the file is empty (no JSON lines)",
                   "export the data again; a JSONL file holds one JSON object (a task or a row) a line")
    if isinstance(rows[0], dict) and is_canonical_row(rows[0]):  # annover's own table (export --format jsonl)
        if any(not isinstance(r, dict) for r in rows):
            n = next(i for i, r in enumerate(rows) if not isinstance(r, dict))
            raise fail(path, f"line {n + 1}: not a JSON object", "each line must be one JSON object")
        table = canonical_rows(rows, str(path))
        return from_canonical(table, str(path), config=opts["config"], validate=opts["validate"])
    if rows and looks_like_tasks(rows):
        return from_ls_tasks(rows, str(path), fmt=Format.JSONL, **ls_opts)
    return from_flat(read_jsonl_rows(path, rows), str(path), fmt=Format.JSONL, **opts)
