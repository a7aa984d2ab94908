"""A Hugging Face ``datasets`` folder (``save_to_disk`` of a ``Dataset`` or a ``DatasetDict``), or an
``.arrow`` file of a dataset, read as Label Studio tasks with one answer each, and a labeling config
made from its features.

A ``DatasetDict``'s rows keep their split in ``data.split`` (``validation`` as ``val``, as the YOLO
reader names it); in annover's export of a version of splits (a row's carried data names one), a row whose
carried data names the split it is in (``valid`` for ``validation``...), or none where it is in ``train``,
keeps that data as it was. Two shapes are read:

- annover's own export (:mod:`annover.formats.hf`, recognised by its ``task_key`` column): each
  column read back into the regions it was written from (choices, spans, percent boxes, polygons,
  keypoints with their object, text areas, numbers; ``tokens`` and ``<control>_tags`` are derived and
  skipped), keyed by ``task_key``. With the version's labeling config (``--config``, or HEAD's) the
  annotations come back as they were (same snapshot id); without one, a config is made from the
  columns, each object named after its data field (as the COCO, YOLO and CoNLL readers name theirs).
  Where the export carries the rest of each task (:func:`annover.formats.hf.carried_column`), the
  config it holds stands for ``--config``'s and is the one read, and each task gets back its other data
  fields and its other fields (meta...): the version comes back whole.
- a dataset as the hub declares its features: a ``ClassLabel`` is a ``<Choices>`` (text or image
  classification), a list of ``ClassLabel`` a ``<Choices choice="multiple">``, or where its names are
  BIO tags (``O``, ``B-X``, ``I-X``) and a ``tokens`` column is beside it, spans on the tokens joined by
  single spaces (as a CoNLL file's); ``objects`` (a list of ``{bbox: [x, y, width, height] in pixels,
  category}``) boxes, as COCO's, on an image of the ``width`` / ``height`` columns (else its header's
  size). A ``ClassLabel`` of ``-1`` (or none) with nothing else labeled is a task not labeled yet.

An ``Image`` column is the task's ``image``: the path ``datasets`` recorded for it, else
``<split>-<row>.<ext>`` (``<row>.<ext>`` without a split) by its bytes; an image's task is keyed by that
name without folder and extension, as COCO's and YOLO's are; other rows by the hash of their data (a
repeated one gets ``data.copy``). Plain values (and lists of them) are kept as task data, but a column
named after a ``<Choices>`` of the given config, read as its labels; a ``ClassLabel`` column named after a
control of the config is read as that control. Any other column is an error naming it and its feature.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from annover._lazy import lazy
from annover.errors import InputError, UsageError, shown
from annover.formats import Format
from annover.formats.coco import regions_of
from annover.formats.conll import entity_spans, sentence_result
from annover.formats.folder import Folder
from annover.formats.hf import (INSTALL_HINT, LS_ID, METADATA_KEY, PARQUET_FIX, TOOLS, carried_column,
                                carried_fields, declares_class_label, image_labelers, metadata_document,
                                metadata_fault, quiet, thawed)
from annover.formats.label_studio import STEM_PREFIX, TASK_ID_KEY, stem_key
from annover.formats.tables import HEAD_KEY, Tables, empty, finish
from annover.formats.text import fail, is_utf8
from annover.formats.train import (TrainInput, labels_tag, refuse_not_xml, region_id, unique_id, unlabeled,
                                   unlabeled_note)
from annover.formats.yolo import SPLIT_ALIASES, split_of
from annover.model import canonical as C
from annover.model.canonical import canonical_json
from annover.model.config import Control, LabelingConfig

if TYPE_CHECKING:
    import datasets
    import numpy as np
    import PIL.Image as PILImage
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
else:
    datasets = lazy("datasets")
    pq = lazy("pyarrow.parquet")
    np = lazy("numpy")
    PILImage = lazy("PIL.Image")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["read", "read_tables"]

#: the column annover's own export keys its rows by
KEY = "task_key"
#: rows read at a time: Python objects of a batch's rows, never of the whole dataset (nor all its images' bytes)
BATCH = 2048
#: the most bytes read of a folder's JSON file (``dataset_dict.json``, ``state.json``, ``dataset_info.json``):
#: ``save_to_disk`` writes kilobytes, megabytes for a ClassLabel of very many names
JSON_LIMIT = 64 * 2**20
#: the deepest a column's feature may nest in ``dataset_info.json`` (the hub's nest a few levels)
DEPTH_LIMIT = 20
_SAVED = "give the folder Dataset.save_to_disk or DatasetDict.save_to_disk wrote"
#: the columns of an image's size in pixels
SIZES = ("width", "height")
#: the control of each own-export column of region dicts, by the dict's keys
_OWN_DICTS = {frozenset({"start", "end", "text", "label"}): "Labels",
              frozenset({"bbox", "rotation", "label"}): "RectangleLabels",
              frozenset({"points", "label"}): "PolygonLabels",
              frozenset({"x", "y", "label", "visibility", "object_control", "object_index"}): "KeyPointLabels"}
#: the tags of controls on an image (the others label text)
_IMAGE_TAGS = ("RectangleLabels", "PolygonLabels", "KeyPointLabels")
#: the controls annover's export writes as JSON texts, by the key of their labels in a value (the result type)
_JSON_TAGS = {t.lower(): t for t in ("BrushLabels", "EllipseLabels", "HyperTextLabels", "ParagraphLabels",
                                     "TimeSeriesLabels", "VideoRectangle")}
#: of those, the tags whose regions keep the image's size
_SIZED_JSON = ("BrushLabels", "EllipseLabels")


@dataclass
class _Col:
    """A column read as a control's answers: ``kind`` says how its values are read."""

    name: str
    kind: str  # choice, choices, bio, boxes, polygons, keypoints, spans, objects, texts, number, json
    tag: str
    control: str
    to: str = ""
    names: list[str] | None = None  # the ClassLabel's names (None: the values are the labels)
    labeler: str = ""  # the <Labels> on the image that labels this tool's regions (hf.image_labelers)


@dataclass
class _Plan:
    """How a dataset's columns are read: the controls', the task data's, the image's and its size."""

    cols: list[_Col] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    image: str | None = None  # an Image column
    tokens: str | None = None  # the tokens of BIO columns
    objects: dict[str, tuple[str, str]] = field(default_factory=dict)  # object name -> (tag, data field)
    own: bool = False
    carried: str | None = None  # the column annover's export carries the rest of each task in
    config: str | None = None  # the labeling config that column's feature holds
    split_kept: bool = False  # a row of that column names a split: the export of a version of splits
    ls_id: str | None = None  # the column of the tasks' Label Studio ids (hf.LS_ID)


def _load(root: Path) -> list[tuple[str | None, "datasets.Dataset"]]:
    """(split, dataset) of the folder: one of no split for a ``Dataset`` (or an ``.arrow`` or ``.parquet``
    file of one: its features from the schema's ``huggingface`` metadata)."""
    if root.is_dir():
        _check_folder(root)
    try:
        with quiet():
            ds = _from_file(root) if root.is_file() else datasets.load_from_disk(str(root))
    except ImportError:
        raise UsageError("reading a Hugging Face dataset needs the datasets library", INSTALL_HINT) from None
    except _load_errors() as e:
        raise fail(root, f"datasets cannot load the {'file' if root.is_file() else 'folder'} ({_said(e)})",
                   PARQUET_FIX if root.suffix.lower() == ".parquet" and root.is_file() else _SAVED) from None
    if isinstance(ds, datasets.DatasetDict):
        return [(SPLIT_ALIASES.get(s, s), d) for s, d in ds.items()]
    return [(None, ds)]


def _load_errors() -> tuple[type[BaseException], ...]:
    """The errors ``datasets`` raises on a dataset it cannot load (features it cannot read: a string, a list)."""
    return (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, pa.ArrowException)


#: the most characters of what an error says quoted in a message (datasets' list of its feature types: ~280)
SAID_LIMIT = 400
_CLOSING = {"[": "]", "(": ")", "{": "}"}


def _said(e: BaseException) -> str:
    """The first line of what an error says, else its type's name; one longer than :data:`SAID_LIMIT` cut
    after the last item or sentence before it, ``...`` put there and the brackets it opened closed, so the
    quote reads whole."""
    line = str(e).splitlines()[0] if str(e).strip() else type(e).__name__
    if len(line) <= SAID_LIMIT:
        return line
    head = line[:SAID_LIMIT]
    cut = max(head.rfind(", "), head.rfind(". "), head.rfind("; "))
    head = head[:cut + 1] if cut > 0 else head
    opened: list[str] = []
    for c in head:
        if c in _CLOSING:
            opened.append(_CLOSING[c])
        elif opened and c == opened[-1]:
            opened.pop()
    return f"{head} ...{''.join(reversed(opened))}"


def _from_file(path: Path) -> "datasets.Dataset":
    """The dataset of one ``.arrow`` file (memory-mapped) or ``.parquet`` file (read into memory, as
    ``datasets`` would into its cache, but writing nothing); a Parquet file whose features ``datasets``
    cannot load is an error naming the column whose feature it cannot, or what is wrong with the metadata,
    and either file whose ClassLabel ``datasets`` drops (:func:`_refuse_dropped_class_label`) one naming the column."""
    if path.suffix.lower() != ".parquet":
        ds = datasets.Dataset.from_file(str(path))
        with pa.memory_map(str(path)) as source:  # the features the file says, which datasets may have dropped
            schema = pa.ipc.open_stream(source).schema
        _refuse_dropped_class_label(path, schema, ds, "write the dataset again with Dataset.save_to_disk")
        return ds
    table = pq.read_table(path)
    try:
        ds = datasets.Dataset(datasets.table.InMemoryTable(table))
    except _load_errors() as e:
        fault = metadata_fault(table.schema.metadata)
        if fault is not None:
            raise fail(path, fault, PARQUET_FIX) from None
        column, said = next(_column_faults(table), (None, ""))
        if column is None:  # no column's feature alone: what datasets said of the whole file
            raise
        raise fail(path, f"datasets cannot load the feature of column {column!r} ({said})",
                   f"give column {column!r} a feature datasets reads and {PARQUET_FIX}") from None
    _refuse_dropped_class_label(path, table.schema, ds, PARQUET_FIX)
    return ds


def _refuse_dropped_class_label(path: Path, schema: "pa.Schema", ds: "datasets.Dataset", fix: str,
                                features: Mapping | None = None, named: str = "the file's 'huggingface' metadata",
                                outcome: str = "datasets reads the column as it is, the ClassLabel dropped") -> None:
    """InputError naming the first column whose feature in the file's ``huggingface`` metadata (or ``features``:
    those ``named`` there) is (or holds) a ``ClassLabel`` where the column holds no class ids (the label names as
    text, say): ``datasets`` then drops the ClassLabel without a word and reads the column as it is (``outcome``),
    so its labels would be read as task data."""
    doc = metadata_document(schema.metadata)
    said = features if features is not None else doc["info"]["features"] if doc is not None else {}
    read = ds.features.to_dict()
    for name, f in said.items():
        if name in read and declares_class_label(f) and not declares_class_label(read[name]):
            one = isinstance(f, Mapping) and f.get("_type") == "ClassLabel"
            feature = "ClassLabel(names=[...])" if one else "List(ClassLabel(names=[...]))"
            raise fail(path, f"column {name!r} holds {schema.field(name).type}, not the int64 class ids of the "
                       f"{'ClassLabel' if one else 'ClassLabels'} its feature in {named} names: {outcome}",
                       f"make them class ids with datasets (ds.cast_column({name!r}, {feature}) turns label names "
                       f"into ids) and {fix}")


def _refuse_folder_class_labels(folder: Path, state: Any, info: Any) -> None:
    """:func:`_refuse_dropped_class_label` of a ``save_to_disk`` folder's first data file (``state.json``'s): by
    its own metadata (with no ``features`` in ``dataset_info.json``, ``datasets`` drops the ClassLabel so), and by
    ``dataset_info.json``'s features (``datasets`` then refuses the folder, saying only that they do not match)."""
    names = [f.get("filename") for f in (state.get("_data_files") or []) if isinstance(f, dict)] \
        if isinstance(state, dict) else []
    if not names or not (folder / names[0]).is_file():
        return  # datasets says what is missing
    try:
        ds = datasets.Dataset.from_file(str(folder / names[0]))  # memory-mapped: the features its metadata says
        with pa.memory_map(str(folder / names[0])) as source:
            schema = pa.ipc.open_stream(source).schema
    except _load_errors():
        return  # a data file datasets cannot read: its loading says so
    fix = "save_to_disk again"
    _refuse_dropped_class_label(folder / names[0], schema, ds, fix)
    feats = info.get("features") if isinstance(info, dict) else None
    if isinstance(feats, dict):
        _refuse_dropped_class_label(folder / "dataset_info.json", schema, ds, fix, feats, "dataset_info.json",
                                    "datasets refuses the folder (its features do not match the data)")


def _column_faults(table: "pa.Table") -> Iterator[tuple[str, str]]:
    """(column, what ``datasets`` said) of each column of ``table`` whose feature, in the table's
    ``huggingface`` schema metadata (one :func:`~annover.formats.hf.metadata_fault` finds nothing wrong
    with, or none), ``datasets`` cannot load alone with its column."""
    doc = metadata_document(table.schema.metadata) or {"info": {"features": {}}}
    features = doc["info"]["features"]
    for i, name in enumerate(table.column_names):
        if name not in features:
            continue
        one = dict(doc, info=dict(doc["info"], features={name: features[name]}))
        try:
            datasets.Dataset(datasets.table.InMemoryTable(
                table.select([i]).replace_schema_metadata({METADATA_KEY: json.dumps(one, default=thawed).encode()})))
        except _load_errors() as e:
            yield name, _said(e)


def _check_folder(root: Path) -> None:
    """Refuse, before ``datasets`` reads it, a folder whose JSON files name splits or data files outside it
    (``../x``, an absolute path, a link leading out: ``datasets`` follows such names where they point), are
    not JSON, are bigger than :data:`JSON_LIMIT` or nest features deeper than :data:`DEPTH_LIMIT` (which
    ``datasets`` recurses into). Files are read as the other readers read a folder's (:class:`Folder`)."""
    files = Folder(root)
    listed = root / "dataset_dict.json"
    splits = _folder_json(files, listed)
    if splits is not None:
        names = splits.get("splits") if isinstance(splits, dict) else None
        if not isinstance(names, list):
            raise fail(listed, f"'splits' is {shown(names)}, not a list of the splits' folder names", _SAVED)
        if not names:
            raise fail(listed, "'splits' is empty: the DatasetDict has no split, hence no rows to read",
                       "save a DatasetDict of one split at least, or give the split's folder")
        for k, name in enumerate(names):
            if not _plain_name(name) or not (root / name).resolve().is_relative_to(root.resolve()):
                raise fail(listed, f"splits[{k}] is {shown(name)}, not the name of a folder in the dataset's folder",
                           "name each split after its folder beside dataset_dict.json (DatasetDict.save_to_disk)")
            _check_split(files, root / name)
    _check_split(files, root)


def _check_split(files: Folder, folder: Path) -> None:
    """A ``Dataset`` folder's ``state.json`` (its data files, by name in the folder) and ``dataset_info.json``."""
    state_path = folder / "state.json"
    state = _folder_json(files, state_path)
    data = state.get("_data_files") if isinstance(state, dict) else None
    if state is not None and not (isinstance(data, list) and all(isinstance(f, dict) for f in data)):
        raise fail(state_path, f"'_data_files' is {shown(data)}, not a list of {{\"filename\": ...}}", _SAVED)
    for k, f in enumerate(data or []):
        if not _plain_name(f.get("filename")):
            raise fail(state_path, f"_data_files[{k}].filename is {shown(f.get('filename'), 300)}, not the name of "
                       "a file in the folder (datasets would read it wherever it points)",
                       "keep the .arrow files in the folder and name them without a path (Dataset.save_to_disk)")
        files.own(folder / f["filename"])
    info_path = folder / "dataset_info.json"
    info = _folder_json(files, info_path)
    feats = info.get("features") if isinstance(info, dict) else None
    for name, f in feats.items() if isinstance(feats, dict) else ():
        if _depth(f) > DEPTH_LIMIT:
            raise fail(info_path, f"features[{shown(name)}] nests deeper than {DEPTH_LIMIT} levels",
                       "give the column a feature of fewer levels (cast_column), then save_to_disk")
    _refuse_folder_class_labels(folder, state, info)


def _plain_name(name: Any) -> bool:
    """A name of a file or folder, not a path (no separator, not ``..``, no lone surrogate: JSON's ``\\ud800``
    names no file)."""
    return isinstance(name, str) and name not in ("", ".", "..") and not any(c in name for c in "/\\\0") \
        and is_utf8(name)


def _folder_json(files: Folder, path: Path) -> Any:
    """The JSON of a folder's file (None where there is none: ``datasets`` says what is missing; a pipe or
    a link out is refused, :meth:`Folder.own`)."""
    if not path.exists() and not path.is_symlink():
        return None
    size = files.own(path).stat().st_size
    if size > JSON_LIMIT:
        raise fail(path, f"{size:,} bytes, more than the {JSON_LIMIT:,} a dataset's JSON file may have", _SAVED)
    try:
        return json.loads(path.read_bytes())
    except ValueError as e:
        raise fail(path, f"not JSON ({shown(str(e), 120)})", _SAVED) from None
    except RecursionError:
        raise fail(path, "JSON nested deeper than Python's JSON parser reads", _SAVED) from None


def _depth(value: Any) -> int:
    """How deep a JSON value nests (without recursion: a deep one must not overflow the stack)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        v, d = todo.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d)
            todo += [(x, d + 1) for x in (v.values() if isinstance(v, dict) else v)]
    return deepest


def _batches(root: Path, ds: "datasets.Dataset", columns: list[str] | None = None) -> Iterator["pa.Table"]:
    """The dataset's rows (of ``columns``, else all) as Arrow tables of :data:`BATCH` rows: a ClassLabel's
    ids, an Image's ``{bytes, path}``, nothing decoded; a data file Arrow cannot read is an InputError."""
    rows = ds.select_columns(columns) if columns is not None else ds
    batches = iter(rows.with_format("arrow").iter(batch_size=BATCH))
    while True:
        try:
            batch = next(batches)
            batch.validate(full=True)  # a string that is not UTF-8 (a data file's bytes changed): Arrow reads it as is
        except StopIteration:
            return
        except (pa.ArrowException, OSError, ValueError) as e:
            raise fail(root, f"a data file of the dataset cannot be read as Arrow ({_said(e)})",
                       "write the folder again with save_to_disk (a file was cut short or replaced)") from None
        yield batch


def _inner(f: Any) -> Any:
    """The feature of a list's items (``List``, ``LargeList``, an old ``Sequence``), else None."""
    return f.feature if isinstance(f, (datasets.List, datasets.LargeList, datasets.Sequence)) else None


def _dict_keys(f: Any) -> frozenset[str] | None:
    """The keys of a column of dicts: a list of dicts (annover's export) or a dict of lists (a hub ``Sequence``)."""
    if isinstance(_inner(f), dict):
        return frozenset(_inner(f))
    if isinstance(f, dict) and f and all(_inner(v) is not None for v in f.values()):
        return frozenset(f)
    return None


def _item(f: Any, key: str) -> Any:
    """The feature of ``key`` in each dict of a column of dicts."""
    return _inner(f)[key] if isinstance(_inner(f), dict) else _inner(f[key])


def _class_names(f: Any) -> list[str] | None:
    return list(f.names) if isinstance(f, datasets.ClassLabel) else None


def _plain(f: Any) -> bool:
    """A plain value (a number, a text, a bool), or a list of them: kept as task data."""
    return isinstance(f, datasets.Value) or _inner(f) is not None and _plain(_inner(f))


def _check_names(root: Path, column: str, f: Any) -> None:
    """InputError naming the column where a ClassLabel in its feature has a name that is not a text, or one
    XML cannot hold: the labeling config made from it names each class (``datasets`` keeps any JSON there)."""
    if isinstance(f, datasets.ClassLabel):
        for k, n in enumerate(f.names):
            where = f"column {column!r}, ClassLabel name {k}"
            if not isinstance(n, str):
                raise fail(root, f"{where} is {shown(n)}, not a text: a labeling config names each class",
                           "give the ClassLabel names as texts (cast_column), then save_to_disk")
            refuse_not_xml(n, root, where)
    for inner in f.values() if isinstance(f, dict) else [_inner(f)] if _inner(f) is not None else []:
        _check_names(root, column, inner)


def _is_bio(names: list[str] | None) -> bool:
    return bool(names) and "O" in names and all(n == "O" or n[:2] in ("B-", "I-") for n in names)


def _bad(root: Path, name: str, f: Any, what: str = "which annover reads as neither labels nor task data"
         ) -> InputError:
    kind = shown(repr(f))
    return fail(root, f"column {name!r} is {kind}, {what}",
                f"drop the column (dataset.remove_columns([{name!r}]), then save_to_disk); labels are read from "
                "ClassLabel columns (or a column of labels a --config control is named after), BIO tags beside "
                "tokens and objects of bbox and category")


def _json_tag(sample: Any) -> str | None:
    """The control whose results a JSON text of annover's export holds (its labels' key), else None."""
    try:
        value = json.loads(sample) if isinstance(sample, str) else None
    except ValueError:
        return None
    return next((_JSON_TAGS[k] for k in value if k in _JSON_TAGS), None) if isinstance(value, dict) else None


def _own_kind(root: Path, name: str, f: Any, c: Any, sample: Any) -> tuple[str, str]:
    """(kind, tag) of an own-export column: the config's control ``c`` says, else the feature (and for a
    list of texts its first one, ``sample``: a TextArea's text, or another control's result as JSON)."""
    keys = _dict_keys(f)
    tag = c.tag if c is not None else (
        _OWN_DICTS.get(keys) if keys else "Choices" if _class_names(f) or _class_names(_inner(f)) else
        _json_tag(sample) or "TextArea" if _inner(f) is not None else
        "Number" if isinstance(f, datasets.Value) else None)
    kinds = {"Labels": "spans", "RectangleLabels": "boxes", "PolygonLabels": "polygons",
             "KeyPointLabels": "keypoints", "TextArea": "texts", "Number": "number", "Rating": "number",
             "Taxonomy": "choices"}
    if tag is None:
        raise _bad(root, name, f)
    single = tag == "Choices" and (c.choice != "multiple" if c is not None else _inner(f) is None)
    kind = "choice" if single else "choices" if tag == "Choices" else kinds.get(tag, "json")
    if not _own_fits(kind, tag, f):
        raise _bad(root, name, f, f"and the labeling config's control {name!r} is a <{tag}>, whose column annover's "
                   "export writes otherwise: give the config of the version exported (--config)")
    return kind, tag


def _own_fits(kind: str, tag: str, f: Any) -> bool:
    """Whether an own-export column of feature ``f`` is what the export writes for a ``tag`` control."""
    one = (datasets.ClassLabel, datasets.Value)
    if kind == "choice":
        return isinstance(f, one)
    if kind in ("choices", "texts", "json"):
        return isinstance(_inner(f), one)
    if kind == "number":
        return isinstance(f, datasets.Value)
    return _dict_keys(f) == next(k for k, t in _OWN_DICTS.items() if t == tag)


def _own_plan(root: Path, feats: dict, config: LabelingConfig | None, sample: Callable[[str], Any]) -> _Plan:
    """The plan of annover's own export: a column per control, named after it (``sample``: a column's
    first value that is not empty)."""
    plan = _Plan(own=True)
    controls = config.controls if config is not None else {}
    labelers = image_labelers(config) if config is not None else {}
    spans = [n for n, f in feats.items() if n in controls and controls[n].tag == "Labels" or
             config is None and _dict_keys(f) == frozenset({"start", "end", "text", "label"})]
    derived = {"tokens", *(f"{s}_tags" for s in spans)} if spans else set()
    for name, f in feats.items():
        c = controls.get(name)
        if name == KEY or name in SIZES or name in derived:
            continue
        if name == LS_ID and c is None and isinstance(f, datasets.Value) and f.dtype.startswith("int"):
            plan.ls_id = name  # the tasks' Label Studio ids
            continue
        if c is None and isinstance(f, (datasets.Value, datasets.Image)) and (
                isinstance(f, datasets.Image) or f.dtype in ("string", "large_string")):
            plan.data.append(name)
            continue
        by = _labeler(c, f, labelers)
        labeled = replace(c, tag=TOOLS[c.tag]) if by is not None and c.tag in TOOLS else c  # as the export wrote it
        kind, tag = _own_kind(root, name, f, labeled, sample(name) if c is None and _inner(f) is not None else None)
        names = _class_names(f) or _class_names(_inner(f)) or (
            _class_names(_item(f, "label")) if _dict_keys(f) and "label" in _dict_keys(f) else None)
        plan.cols.append(_Col(name, kind, c.tag if by is not None else tag, name,
                              c.to_name[0] if c is not None and c.to_name else "", names, by.name if by else ""))
    _own_objects(plan, feats, config)
    return plan


#: the image tools whose regions the export writes as JSON (a mask's RLE), with the labels of a <Labels> in it
_JSON_TOOLS = ("Brush", "MagicWand", "Ellipse", "BitMask")


def _labeler(c: Control | None, f: Any, labelers: dict[str, Control]) -> Control | None:
    """The ``<Labels>`` on its image that labels the regions of the tool control ``c`` (:func:`hf.image_labelers`),
    where its column ``f`` holds them so: a ``<Rectangle>``'s, ``<Polygon>``'s or ``<KeyPoint>``'s objects (an
    export made before wrote them as JSON with no label, read as before), a mask's JSON."""
    if c is None or not c.to_name or not (c.tag in TOOLS and _dict_keys(f) or c.tag in _JSON_TOOLS):
        return None
    return labelers.get(c.to_name[0])


def _own_objects(plan: _Plan, feats: dict, config: LabelingConfig | None) -> None:
    """The objects the columns label: the config's, else one named after its data field (an ``<Image>``
    where the export wrote sizes or a control labels an image, else a ``<Text>``)."""
    if config is not None:
        plan.objects = {o.name: (o.tag, o.field) for o in config.objects.values() if o.field in plan.data}
        return
    sized = all(s in feats for s in SIZES) or any(c.tag in (*_IMAGE_TAGS, *_SIZED_JSON) for c in plan.cols)
    prefer = "image" if sized else "text"
    field_ = prefer if prefer in plan.data else plan.data[0] if plan.data else prefer
    plan.objects = {field_: ("Image" if sized else "Text", field_)}
    for c in plan.cols:
        c.to = field_


def _text_tags(root: Path, feats: dict, ds: "datasets.Dataset") -> list[str]:
    """The columns of lists of texts beside ``tokens`` whose first rows are BIO (BIOES, BILOU) tags: a dataset
    made from tag strings (``Dataset.from_dict``), no ClassLabel; read as a ClassLabel's BIO tags are. A list of
    numbers named ``*_tags`` there is refused: with no ClassLabel, nothing names its tags."""
    out = []
    for name, f in feats.items():
        inner = _inner(f)
        if name == "tokens" or not isinstance(inner, datasets.Value) or "tokens" not in feats:
            continue
        if name.endswith("tags") and inner.dtype.startswith(("int", "uint")):
            raise fail(root, f"column {name!r} holds tag numbers that no ClassLabel names (a list of {inner.dtype})",
                       f"name them: ds = ds.cast_column({name!r}, Sequence(ClassLabel(names=['O', 'B-PER', "
                       "'I-PER', ...]))), then save_to_disk")
        batch = next(_batches(root, ds, [name]), None) if inner.dtype in ("string", "large_string") else None
        tags = [t for v in (batch.column(0).to_pylist()[:100] if batch is not None else []) for t in v or []]
        if any(t != "O" for t in tags) and all(t == "O" or len(t) > 2 and t[1] == "-" and t[0] in "BIESLU"
                                               for t in tags):
            out.append(name)
    return out


def _hub_plan(root: Path, feats: dict, config: LabelingConfig | None, text_tags: list[str]) -> _Plan:
    """The plan of a dataset as the hub declares its features (module docstring); ``text_tags``: the columns
    of BIO tags as texts (:func:`_text_tags`)."""
    plan = _Plan()
    controls = config.controls if config is not None else {}
    tokens = "tokens" if "tokens" in feats and _plain(feats["tokens"]) and _inner(feats["tokens"]) is not None else None
    bio = [n for n, f in feats.items() if tokens and (_is_bio(_class_names(_inner(f))) or n in text_tags)]
    for name, f in feats.items():
        keys = _dict_keys(f)
        c = controls.get(name)
        if isinstance(f, datasets.Image):
            if plan.image is not None:
                raise _bad(root, name, f, f"a second image (the first is {plan.image!r})")
            plan.image = name
        elif name in bio:
            plan.tokens = tokens
            plan.cols.append(_Col(name, "bio", "Labels", "label" if len(bio) == 1 else name.removesuffix("_tags"),
                                  names=_class_names(_inner(f))))
        elif keys and "bbox" in keys and ({"category", "label"} & keys):
            cat = "category" if "category" in keys else "label"
            plan.cols.append(_Col(name, "objects", "RectangleLabels", "label" if "label" not in feats else name,
                                  names=_class_names(_item(f, cat))))
        elif _class_names(f) is not None or _class_names(_inner(f)) is not None:
            single = _class_names(f) is not None
            plan.cols.append(_Col(name, "choice" if single else "choices", "Choices", name,
                                  names=_class_names(f) or _class_names(_inner(f))))
        elif name == tokens and bio:  # the BIO columns' tokens, joined into the text
            pass
        elif c is not None and c.tag in ("Choices", "Taxonomy") and _plain(f):  # labels as plain values
            kind = "choice" if _inner(f) is None and c.tag == "Choices" and c.choice != "multiple" else "choices"
            plan.cols.append(_Col(name, kind, c.tag, name))
        elif _plain(f):
            plan.data.append(name)
        else:
            raise _bad(root, name, f)
        if c is not None and plan.cols and plan.cols[-1].name == name:  # named after a control of the config
            _bind(root, plan.cols[-1], c.name, c.tag, f)
    _hub_objects(root, plan, feats, config)
    return plan


#: the control tags each kind of hub column can be read as
_HUB_TAGS = {"choice": ("Choices", "Taxonomy"), "choices": ("Choices", "Taxonomy"), "bio": ("Labels",),
             "objects": ("RectangleLabels",)}


def _bind(root: Path, col: _Col, control: str, tag: str, f: Any) -> None:
    """Read ``col`` as the config's control of its name; InputError where that control's tag cannot hold it."""
    if tag not in _HUB_TAGS[col.kind]:
        raise _bad(root, col.name, f, f"and the labeling config's control {control!r} of that name is a <{tag}>, "
                   f"which cannot hold it (a <{'> or <'.join(_HUB_TAGS[col.kind])}> can)")
    col.control, col.tag = control, tag


def _hub_objects(root: Path, plan: _Plan, feats: dict, config: LabelingConfig | None) -> None:
    """The object each control labels: the image, else the text (the tokens, a ``text`` column, else the
    first column of text), named ``image`` or ``text``; a control of the config keeps its own ``toName``
    (that object reading the same column)."""
    if plan.image is not None:
        obj = ("image", "Image", plan.image)
    else:
        texts = [n for n in plan.data if isinstance(feats[n], datasets.Value) and feats[n].dtype == "string"]
        text = "text" if plan.tokens or "text" in texts else texts[0] if texts else None
        if text is None and plan.cols:
            raise fail(root, "no image and no column of text for the labels to be on",
                       "give the dataset an Image column or a column of text")
        obj = ("text", "Text", text or "text")
    given = config.controls if config is not None else {}
    for c in plan.cols:
        g = given.get(c.control)
        o = config.objects.get(g.to_name[0]) if config is not None and g is not None and g.to_name else None
        c.to = o.name if o is not None else obj[0]
        plan.objects[c.to] = (o.tag if o is not None else obj[1], obj[2])
    if not plan.objects:
        plan.objects[obj[0]] = (obj[1], obj[2])


def _label(v: Any, names: list[str] | None, where: str) -> str | None:
    """The label a value names: a ClassLabel's name (None for -1 and none), or the value itself."""
    if v is None or names is None:
        return None if v is None else str(v)
    if v == -1:
        return None
    if not isinstance(v, int) or not 0 <= v < len(names):
        raise InputError(f"{where}: {shown(v)} is no class of the {len(names)} the feature names",
                         "give class ids 0..N-1 (or -1 for no label)")
    return names[v]


def _dicts(v: Any) -> list[dict]:
    """A column of dicts' value as a list of dicts (a hub ``Sequence`` of a dict holds a dict of lists)."""
    if isinstance(v, dict):
        n = max((len(x) for x in v.values() if isinstance(x, list)), default=0)
        return [{k: x[i] if isinstance(x, list) and i < len(x) else None for k, x in v.items()} for i in range(n)]
    return list(v or [])


def _image_names(column: "pa.ChunkedArray", split: str | None, start: int) -> list[str | None]:
    """Each image's name in a batch of an Image column (from row ``start``): the path ``datasets`` recorded,
    else ``<split>-<row>.<ext>`` by its bytes (read only for an image of no path), None for no image."""
    names = pc.struct_field(column, "path").to_pylist()
    blobs = pc.struct_field(column, "bytes") if not all(names) else None
    for j, name in enumerate(names):
        if name:
            continue
        data = blobs[j].as_py() if blobs is not None else None
        if data:
            fmt, i = _image_format(data), start + j
            names[j] = f"{split}-{i}.{fmt}" if split else f"{i}.{fmt}"
        else:
            names[j] = None
    return names


def _image_format(data: bytes) -> str:
    try:
        with PILImage.open(io.BytesIO(data)) as im:
            return (im.format or "png").lower().replace("jpeg", "jpg")
    except (OSError, SyntaxError, ValueError):
        return "png"


def _size(row: dict, plan: _Plan, where: str, image_bytes: Callable[[], bytes | None]) -> tuple[int, int] | None:
    """The image's size in pixels: the ``width`` and ``height`` columns, else its header's."""
    w, h = row.get("width"), row.get("height")
    if type(w) is int and type(h) is int and w > 0 and h > 0:
        return w, h
    data = image_bytes() if plan.image and not plan.own else None
    if data:
        try:
            with PILImage.open(io.BytesIO(data)) as im:
                return im.size
        except (OSError, SyntaxError, ValueError):
            raise InputError(f"{where}: column {plan.image!r} holds bytes Pillow cannot read as an image",
                             "give readable images, or width and height columns") from None
    return None


def _sized(size: tuple[int, int] | None) -> dict:
    return {"original_width": size[0], "original_height": size[1], "image_rotation": 0} if size else {}


def _own_value(col: _Col, d: dict, labels: list[str]) -> dict:
    """The ``value`` of a region annover's export wrote as the dict ``d``."""
    key = col.tag.lower()
    if col.kind == "boxes":
        x, y, w, h = d["bbox"]
        return {"x": x, "y": y, "width": w, "height": h, "rotation": d.get("rotation") or 0, key: labels}
    if col.kind == "polygons":
        return {"points": d["points"], "closed": True, key: labels}
    if col.kind == "spans":
        return {"start": d["start"], "end": d["end"], "text": d["text"], key: labels}
    return {"x": d["x"], "y": d["y"], key: labels}


def _region_items(col: _Col, v: Any, size: tuple[int, int] | None, where: str) -> list[dict]:
    """The result items of one column's value in one row (keypoints' objects linked later)."""
    base = {"from_name": col.control, "to_name": col.to, "type": col.tag.lower()}
    at = f"{where}, column {col.name!r}"
    if col.kind in ("choice", "choices"):
        labels = [lb for x in ([v] if col.kind == "choice" else v or []) if (lb := _label(x, col.names, at))]
        if not labels:
            return []
        key = "taxonomy" if col.tag == "Taxonomy" else "choices"
        return [{**base, "value": {key: [lb.split("/") for lb in labels] if key == "taxonomy" else labels}}]
    if col.kind == "texts":
        return [{**base, "value": {"text": [str(t) for t in v]}}] if v else []
    if col.kind == "number":
        return [] if v is None else [{**base, "value": {col.tag.lower(): v}}]
    taken: set[str] = set()
    if col.kind == "json":
        sized = _sized(size) if col.tag in _SIZED_JSON or col.labeler else {}
        return [x for s in v or [] for x in _paired(col, {**base, **sized, "value": _json_value(s, at)}, taken)]
    if col.kind == "objects":
        return [_object(col, d, size, f"{at}, object {j}") for j, d in enumerate(_dicts(v))]
    out = []
    for j, d in enumerate(_dicts(v)):
        lb = _label(d.get("label"), col.names, f"{at}, item {j}")
        item = {**base, "value": _own_value(col, d, [lb] if lb is not None else [])}
        if col.kind in ("boxes", "polygons", "keypoints"):
            item.update(_sized(size))
        if col.kind == "keypoints" and d.get("visibility") not in (None, 2):
            item["visibility"] = d["visibility"]
        out += _paired(col, item, taken)
    return out


def _paired(col: _Col, item: dict, taken: set[str]) -> list[dict]:
    """A region of a tool (``<Rectangle>``, ``<Brush>``...) that the image's ``<Labels>`` labels, as Label Studio
    writes it: the tool's result without labels and a ``labels`` result with them, of one id (from the content,
    as the COCO reader's); other regions as they are. The export wrote its labels in the value (:mod:`hf`)."""
    if not col.labeler:
        return [item]
    labels = item["value"].pop(col.tag.lower(), None) or item["value"].pop("labels", None) or []
    if not labels:
        return [item]
    item["id"] = unique_id(region_id(item), taken)
    return [item, {**item, "from_name": col.labeler, "type": "labels", "value": {**item["value"], "labels": labels}}]


def _json_value(s: Any, where: str) -> Any:
    try:
        value = json.loads(s)
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise InputError(f"{where}: {shown(s)} is not a result value as JSON (an object)",
                         "give the control's results as annover's export writes them, or drop the column")
    return value


def _object(col: _Col, d: dict, size: tuple[int, int] | None, where: str) -> dict:
    """A hub object (``{bbox: [x, y, w, h] in pixels, category}``) as the COCO reader reads a box."""
    cat = "category" if "category" in d else "label"
    label = _label(d.get(cat), col.names, where)
    if label is None:
        raise InputError(f"{where}: no {cat}", f"give each object a {cat}")
    if size is None:
        raise InputError(f"{where}: the image's size is not known (no width and height columns, no image bytes)",
                         "add width and height columns (pixels) to the dataset")
    item = regions_of({k: x for k, x in d.items() if k != cat}, size[0], size[1], label, [], where)[0]
    item.update(from_name=col.control, to_name=col.to)
    return item


def _link_keypoints(items: dict[str, list[dict]], rows: dict[str, Any], plan: _Plan) -> None:
    """Give the object each keypoint names (``object_control``, ``object_index``) an id from its content
    (the COCO and YOLO readers' rule) and the keypoint its ``parentID``."""
    taken: set[str] = set()
    for col in plan.cols:
        if col.kind != "keypoints":
            continue
        for kp, d in zip(items[col.name], _dicts(rows[col.name])):
            objs = items.get(str(d.get("object_control")), [])
            j = d.get("object_index")
            if isinstance(j, int) and 0 <= j < len(objs):
                obj = objs[j]
                if "id" not in obj:
                    obj["id"] = unique_id(region_id(obj), taken)
                kp["parentID"] = obj["id"]


@dataclass
class _TokenPlaces:
    """``where[k]``: token ``k`` of a column, as an error names it (made only for an error, not per token)."""

    at: str

    def __getitem__(self, k: int) -> str:
        return f"{self.at}, token {k}"


def _bio(plan: _Plan, row: dict, data: dict, where: str) -> list[dict]:
    """Spans of each BIO column on the tokens, joined into ``data.text``."""
    toks = [str(t) for t in row[plan.tokens] or []] if plan.tokens else []
    out = []
    for col in plan.cols:
        if col.kind != "bio":
            continue
        names, at = col.names or [], f"{where}, column {col.name!r}"
        tags = [names[t] if type(t) is int and 0 <= t < len(names) else _label(t, col.names, at) or "O"
                for t in row[col.name] or []]
        if len(tags) != len(toks):
            raise InputError(f"{where}: column {col.name!r} has {len(tags)} tags for {len(toks)} tokens",
                             "give one tag a token")
        ents = entity_spans(tags, _TokenPlaces(at))
        data[plan.objects[col.to][1]], items = sentence_result(toks, ents, col.control, col.to)
        out += items
    return out


def _row_task(plan: _Plan, row: dict, split: str | None, where: str,
              image_bytes: Callable[[], bytes | None]) -> dict:
    """The Label Studio task of one row (its Image columns already as names, :func:`_rows`): its data, and
    its answer (none for a row of no label); ``image_bytes`` reads the bytes of its image."""
    data: dict[str, Any] = {n: row[n] for n in plan.data if row[n] is not None}
    if plan.image is not None:
        data[plan.image] = row[plan.image]
        if data[plan.image] is None:
            raise InputError(f"{where}: column {plan.image!r} holds no image", "give each row its image")
    sized = any(c.kind in ("boxes", "polygons", "keypoints", "objects") or c.tag in _SIZED_JSON or c.labeler
                for c in plan.cols)
    size = _size(row, plan, where, image_bytes) if sized else None
    items = {c.name: _region_items(c, row[c.name], size, where) for c in plan.cols if c.kind != "bio"}
    _link_keypoints(items, row, plan)
    result = [r for c in plan.cols for r in items.get(c.name, [])] + _bio(plan, row, data, where)
    carried, extra = carried_fields(row[plan.carried], f"{where}, column {plan.carried!r}") \
        if plan.carried else ({}, {})
    data.update(carried)
    if split is not None and not (plan.split_kept and (split_of(data) or "train") == split):
        data["split"] = split  # a task of annover's export of splits keeps the split it carries (none: in train)
    task: dict[str, Any] = {**extra, "data": data}
    if plan.own:
        task["id"] = row[KEY]
    elif plan.image is not None:
        task["id"] = stem_key(data[plan.image])
    unlabeled_row = not plan.own and not result and any(
        c.kind == "choice" and _label(row[c.name], c.names, where) is None for c in plan.cols)
    task["annotations"] = [] if unlabeled_row else [{"result": result}]
    return task


def _rows(root: Path, plan: _Plan, split: str | None, ds: "datasets.Dataset"
          ) -> Iterator[tuple[int, list[dict], "pa.ChunkedArray | None"]]:
    """(first row, rows, the image column) of each batch: the rows as dicts but for their Image columns,
    read as names (:func:`_image_names`), their bytes left in the batch's column."""
    images = [n for n, f in ds.features.items() if isinstance(f, datasets.Image)]
    start = 0
    for batch in _batches(root, ds):
        rows = batch.drop_columns(images).to_pylist()
        for n in images:
            for row, name in zip(rows, _image_names(batch.column(n), split, start)):
                row[n] = name
        yield start, rows, batch.column(plan.image) if plan.image is not None else None
        start += batch.num_rows


def _image_bytes(column: "pa.ChunkedArray | None", j: int) -> bytes | None:
    """The bytes of row ``j``'s image in a batch's Image column (None: no column, no image)."""
    value = column[j] if column is not None else None
    return value["bytes"].as_py() if value is not None and value.is_valid else None


def _plan_of(root: Path, parts: list[tuple[str | None, Any]], config: LabelingConfig | None) -> _Plan:
    feats = dict(parts[0][1].features)
    for split, ds in parts[1:]:
        if dict(ds.features) != feats:
            raise fail(root, f"split {split!r} has other features than split {parts[0][0]!r}",
                       "give every split the same columns and features (cast_column)")
    for name, f in feats.items():
        _check_names(root, name, f)
    own = KEY in feats and isinstance(feats[KEY], datasets.Value) and feats[KEY].dtype == "string"
    if not own:
        return _hub_plan(root, feats, config, _text_tags(root, feats, parts[0][1]))
    carried, given = carried_column(feats), config is not None
    if carried is not None:
        feats.pop(carried[0])
        config = config or LabelingConfig(carried[1], source=f"{root}: annover's export's labeling config",
                                          validate=False)

    def sample(name: str) -> Any:
        return next((x for _, ds in parts for b in _batches(root, ds, [name]) for v in b.column(0).to_pylist()
                     if v for x in v if x), None)
    plan = _own_plan(root, feats, config, sample)
    if carried is not None:
        plan.carried, plan.config = carried[0], None if given else carried[1]
        plan.split_kept = parts[0][0] is not None and _splits_carried(root, parts, carried[0])
    return plan


def _splits_carried(root: Path, parts: list[tuple[str | None, Any]], carry: str) -> bool:
    """Whether a row's carried data names a split (:func:`annover.formats.yolo.split_of`): the DatasetDict
    of a version of splits, whose tasks of none are in ``train`` (an export of none is split by its user)."""
    for _, ds in parts:
        for batch in _batches(root, ds, [carry]):
            cells = batch.column(0)
            for cell in cells.filter(pc.fill_null(pc.match_substring(cells, '"split"'), False)).to_pylist():
                try:
                    doc = json.loads(cell)
                except (ValueError, RecursionError):
                    continue  # the row's own reading says what is wrong
                data = doc.get("data") if isinstance(doc, dict) else None
                if isinstance(data, dict) and split_of(data) is not None:
                    return True
    return False


def read(root: Path, config: LabelingConfig | None = None) -> TrainInput:
    """Label Studio tasks and a config for the ``save_to_disk`` folder ``root`` (module docstring);
    columns named after a control of ``config`` are read as that control. Read :data:`BATCH` rows at a
    time: an image's bytes are read where its name or size needs them, never the column's all at once."""
    parts = _load(root)
    plan = _plan_of(root, parts, config)
    tasks: list[dict] = []
    seen: dict[Any, int] = {}
    ls_ids: dict[str, int] = {}
    for split, ds in parts:
        prefix = f"{root}: " + (f"split {split!r}, " if split else "")
        for start, rows, images in _rows(root, plan, split, ds):
            for j, row in enumerate(rows):
                task = _row_task(plan, row, split, f"{prefix}row {start + j}", lambda j=j: _image_bytes(images, j))
                if "id" not in task:  # keyed by the hash of its data: a repeated row gets data.copy, as in CoNLL
                    same = _same_data(task["data"])
                    copy = seen[same] = seen.get(same, -1) + 1
                    if copy:
                        task["data"]["copy"] = copy
                elif plan.ls_id is not None and row[plan.ls_id] is not None:
                    ls_ids[task["id"]] = row[plan.ls_id]
                tasks.append(task)
    warnings = [] if plan.own else unlabeled(tasks, root, "label", "row")
    key = TASK_ID_KEY if plan.own or plan.image is not None else None
    rule = HEAD_KEY if plan.own else f"{STEM_PREFIX}data.{plan.image}" if plan.image is not None else None
    return TrainInput(tasks, plan.config or _config(plan, tasks), key=key, warnings=warnings, key_rule=rule,
                      carried_config=plan.config is not None, ls_ids=ls_ids)


def _same_data(data: dict) -> Any:
    """What two tasks of the same data share: their fields (all texts: the common case, quick), else their
    JSON (``1`` and ``1.0`` and ``true`` stay apart)."""
    if all(type(v) is str for v in data.values()):
        return tuple(sorted(data.items()))
    return json.dumps(data, sort_keys=True, default=str)


def _config(plan: _Plan, tasks: list[dict]) -> str:
    """A labeling config of the plan's objects and controls, their labels the features' names (and any
    other label an answer gives)."""
    used: dict[str, list[str]] = {}
    for t in tasks:
        for a in t["annotations"]:
            for r in a["result"]:
                labels = r["value"].get(r["type"])
                for lb in labels if isinstance(labels, list) else []:
                    used.setdefault(r["from_name"], []).append("/".join(lb) if isinstance(lb, list) else str(lb))
    out = "<View>\n" + "".join(f"  <{tag} name={quoteattr(n)} value={quoteattr('$' + f)}/>\n"
                               for n, (tag, f) in plan.objects.items())
    done: set[str] = set()
    for c in plan.cols:
        if c.control in done:
            continue
        done.add(c.control)
        names = [n[2:] for n in c.names or [] if n[:2] == "B-"] if c.kind == "bio" else list(c.names or [])
        labels = list(dict.fromkeys(names + used.get(c.control, [])))
        if c.tag in ("Choices", "Taxonomy"):
            choice = ' choice="multiple"' if c.kind == "choices" else ""
            out += (f"  <{c.tag} name={quoteattr(c.control)} toName={quoteattr(c.to)}{choice}>"
                    + "".join(f"\n    <Choice value={quoteattr(lb)}/>" for lb in labels) + f"\n  </{c.tag}>\n")
        elif c.tag.endswith("Labels"):
            out += labels_tag(c.tag, c.control, c.to, labels)
        else:
            out += f"  <{c.tag} name={quoteattr(c.control)} toName={quoteattr(c.to)}/>\n"
    return out + "</View>\n"


# ---------------------------------------------------------------------------
# the hub's classification layouts, column-wise


class _General(Exception):
    """The dataset needs the general reader (:func:`read` then the Label Studio reader)."""


def read_tables(root: Path) -> tuple[Tables, str] | None:
    """Canonical tables and the generated config of a hub classification dataset read without a config
    (text or image columns, ``ClassLabel`` and lists of ``ClassLabel`` columns): the same tables (hence
    snapshot ids) as :func:`read` then :func:`annover.formats.train.to_tables`, the answers built as Arrow
    columns (one region key per distinct label set) instead of a Label Studio task per row. None for any
    other dataset, or one with a value the general path would refuse (it says where)."""
    parts = _load(root)
    if KEY in parts[0][1].features:  # annover's own export: its plan samples columns, for nothing here
        return None
    plan = _plan_of(root, parts, None)
    if not _column_wise(plan, parts[0][1].features):
        return None
    try:
        return _classified_tables(root, plan, parts)
    except _General:
        return None


def _column_wise(plan: _Plan, feats: Any) -> bool:
    """Whether the plan is one of ClassLabel choices on text or an image, its data plain texts."""
    return (not plan.own and plan.carried is None and plan.tokens is None and bool(plan.cols)
            and all(c.kind in ("choice", "choices") and c.tag == "Choices" and c.names is not None for c in plan.cols)
            and all(isinstance(feats[n], datasets.Value) and feats[n].dtype in ("string", "large_string")
                    for n in plan.data))


def _classified_tables(root: Path, plan: _Plan, parts: list[tuple[str | None, Any]]) -> tuple[Tables, str]:
    """The tables of a plan :func:`_column_wise` takes; _General where a value needs the general path."""
    source = str(root)
    columns: dict[str, list[Any]] = {n: [] for n in [*plan.data, *(c.name for c in plan.cols)]}
    images: list[str | None] = []
    splits: list[Any] = []
    for split, ds in parts:
        start = 0
        for batch in _batches(root, ds):
            for n, chunks in columns.items():
                chunks += batch.column(n).chunks
            if plan.image is not None:
                images += _image_names(batch.column(plan.image), split, start)
            start += batch.num_rows
        splits.append(C.repeat_string(split, start) if split is not None else None)
    types = parts[0][1].data.schema  # the same in each split
    cols = {n: pa.chunked_array(v, types.field(n).type).combine_chunks() for n, v in columns.items()}
    keys, data = _task_texts(plan, cols, images, splits)
    if plan.image is not None and len(pc.unique(keys)) != len(keys):
        raise _General  # two images of one name: the general path says which
    anns, labeled = _choice_answers(plan, keys, cols)
    warnings = [] if labeled or not len(keys) else [unlabeled_note(root, len(keys), "label", "row")]
    tasks = finish(pa.table({"task_key": keys, "data": data}), "tasks", source)
    annotations = finish(anns if labeled else empty("annotations"), "annotations", source)
    rule = f"{STEM_PREFIX}data.{plan.image}" if plan.image is not None else None
    return Tables(tasks, annotations, empty("predictions"), Format.HF, warnings, key_rule=rule), _config(plan, [])


def _task_texts(plan: _Plan, cols: dict[str, "pa.Array"], images: list[str | None], splits: list[Any]
                ) -> tuple["pa.Array", "pa.Array"]:
    """(task key, data as canonical JSON) of each row, as :func:`read` and the Label Studio reader make them:
    an image's stem, else the hash of the data, a repeated one's ``copy`` its count of those before it."""
    fields = {n: cols[n] for n in plan.data}
    if plan.image is not None:
        if None in images:
            raise _General  # a row of no image: the general path says where
        fields[plan.image] = pa.array(images, pa.string())
    if splits[0] is not None:
        fields["split"] = pa.concat_arrays(splits)
    data = _json_objects({n: _json_strings(v) for n, v in fields.items()})
    if plan.image is not None:
        return pa.array([stem_key(name) for name in images], pa.string()), data
    same = C.single_chunk(pc.dictionary_encode(data)).indices.to_numpy(zero_copy_only=False)
    order = np.argsort(same, kind="stable")
    ranked = same[order]
    first = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    copy = np.empty(len(same), dtype=np.int64)
    copy[order] = np.arange(len(same)) - np.repeat(first, np.diff(np.r_[first, len(same)]))
    if copy.any():
        fields["copy"] = pc.if_else(pa.array(copy > 0), pa.array(copy.astype(str)), pa.nulls(len(copy), pa.string()))
        data = _json_objects({n: v if n == "copy" else _json_strings(v) for n, v in fields.items()})
    return pa.array([hashlib.sha256(t.encode()).hexdigest()[:16] for t in data.to_pylist()], pa.string()), data


def _json_strings(texts: "pa.Array") -> "pa.Array":
    """Each text as JSON writes it (``json.dumps(ensure_ascii=False)``); a null stays null."""
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(pc.replace_substring(
        texts, "\\", "\\\\"), '"', '\\"'), '"', "")
    controls = pc.fill_null(pc.match_substring_regex(texts, "[\\x00-\\x1f]"), False)
    if not pc.any(controls).as_py():
        return quoted
    fixed = [json.dumps(t, ensure_ascii=False) for t in texts.filter(controls).to_pylist()]
    return pc.replace_with_mask(quoted, controls, pa.array(fixed, pa.string()))


def _json_objects(fields: dict[str, "pa.Array"]) -> "pa.Array":
    """Each row's JSON object of ``fields`` (each value JSON already; a null one left out), keys sorted."""
    pairs = [pc.fill_null(pc.binary_join_element_wise(json.dumps(n, ensure_ascii=False) + ":", v, ",", ""), "")
             for n, v in sorted(fields.items())]  # "key":value, (a JSON value never ends in a comma)
    body = pc.utf8_rtrim(pc.binary_join_element_wise(*pairs, ""), ",")  # (join's null skipping lost rows)
    return pc.binary_join_element_wise("{", body, "}", "")


def _class_ids(values: "pa.Array", names: list[str]) -> "np.ndarray":
    """A column's class ids (-1 for none); _General for an id no class has (the general path says where)."""
    ids = pc.fill_null(values, -1).to_numpy(zero_copy_only=False)
    if len(ids) and (ids.min() < -1 or ids.max() >= len(names)):
        raise _General
    return ids


def _label_sets(col: _Col, values: "pa.Array", n: int) -> tuple["np.ndarray", "np.ndarray", list[list[str]]]:
    """(whether each row has a label, its label set's code, the label sets by code) of a ClassLabel column
    (one a row) or a list of them (in the list's order, repeats kept, -1 and none left out)."""
    names = col.names or []
    if col.kind == "choice":
        ids = _class_ids(values, names)
        return ids != -1, np.maximum(ids, 0), [[x] for x in names]
    ids = _class_ids(pc.list_flatten(values), names)
    keep = ids != -1
    parents = pc.list_parent_indices(values).to_numpy(zero_copy_only=False)[keep]
    counts = np.bincount(parents, minlength=n)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, pa.array(ids[keep]).cast(pa.string())), ",")
    enc = pc.dictionary_encode(joined)
    sets = [[names[int(k)] for k in s.split(",")] if s else [] for s in enc.dictionary.to_pylist()]
    return counts > 0, enc.indices.to_numpy(zero_copy_only=False), sets


def _choice_answers(plan: _Plan, task_keys: "pa.Array", labels: dict[str, "pa.Array"]
                    ) -> tuple["pa.Table", bool]:
    """(the annotations, whether any row is labeled): a row's answer has a region a column of a label in it,
    at its place among them; a row of none but a ClassLabel of -1 has no answer (not labeled yet), one of
    only empty lists an answer of no region."""
    n = len(task_keys)
    sets = {c.name: _label_sets(c, labels[c.name], n) for c in plan.cols}
    has_any = np.zeros(n, dtype=bool)
    for has, _, _ in sets.values():
        has_any |= has
    answered = has_any if any(c.kind == "choice" for c in plan.cols) else np.ones(n, dtype=bool)
    place = np.zeros(n, dtype=np.int32)
    parts = []
    for c in plan.cols:
        has, code, label_sets = sets[c.name]
        rows = np.flatnonzero(has & answered)
        values = [canonical_json({"choices": s}) for s in label_sets]
        region_keys = ["~" + hashlib.sha256(canonical_json([c.control, c.to, "choices", v, None]).encode()
                                            ).hexdigest()[:12] for v in values]
        at = code[rows]
        parts.append(_answer_rows(task_keys, rows, place[rows], {
            "region_key": pa.array(region_keys, pa.string()).take(at),
            "from_name": C.repeat_string(c.control, len(rows)),
            "to_name": C.repeat_string(c.to, len(rows)), "type": C.repeat_string("choices", len(rows)),
            "labels": pa.array(label_sets, pa.list_(pa.string())).take(at),
            "value": pa.array(values, pa.string()).take(at)}))
        place += has
    empty_rows = np.flatnonzero(answered & ~has_any)
    parts.append(_answer_rows(task_keys, empty_rows, np.full(len(empty_rows), -1, dtype=np.int32),
                              {"region_key": C.repeat_string("", len(empty_rows))}))
    return pa.concat_tables([C.conform(t, "annotations") for t in parts]), bool(has_any.any())


def _answer_rows(task_keys: "pa.Array", rows: "np.ndarray", position: "np.ndarray", columns: dict) -> "pa.Table":
    """Annotation rows of tasks ``rows``: one answer each, of no annotator (``-#0``), not cancelled."""
    k = len(rows)
    false = pa.array(np.zeros(k, dtype=bool))
    return pa.table({"task_key": task_keys.take(pa.array(rows, pa.int64())),
                     "annotation_key": C.repeat_string("-#0", k), "annotator": pa.nulls(k, pa.string()),
                     **columns, "was_cancelled": false, "ground_truth": false,
                     "position": pa.array(position, pa.int32())})
