"""The formats people train on (COCO, YOLO, YOLO OBB, Pascal VOC, CoNLL, Hugging Face datasets):
one entry to read them into canonical tables and one to write a version's
tables out in them.

Writing picks one answer per task first (:mod:`annover.formats.resolve`), then renders; the
output is one file (COCO, CoNLL), a folder (YOLO, VOC) as ``{relative path: bytes}``, or a
``datasets.Dataset`` (HF).
What had no place in the format is said in ``notes``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from annover._runtime import no_gc
from annover.errors import UsageError
from annover.formats import FOLDER_FORMATS, IMAGE_FORMATS, TRAIN_FORMATS, Format
from annover.formats import boxes_fast, coco, coco_fast, conll, hf, hf_read, voc, yolo
from annover.formats.label_studio import unprefixed_stems
from annover.formats.resolve import pick, task_meta
from annover.formats.tables import DuplicateKey, Tables
from annover.formats.text import fail
from annover.formats.train import TrainInput, to_tables
from annover.model.config import LabelingConfig

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

__all__ = ["FOLDER_FORMATS", "TRAIN_FORMATS", "Rendered", "read_train", "render_train", "train_input"]


@dataclass
class Rendered:
    """A version in a training format: one file's bytes, a folder's files, or a Hugging Face
    dataset (written with ``save_to_disk``); what was left out."""

    files: dict[str, bytes] | None = None
    data: bytes | None = None
    dataset: "datasets.Dataset | None" = None
    items: int = 0
    notes: list[str] = field(default_factory=list)
    tag_scheme: str | None = None  # CoNLL: the tag scheme written (bio, iob1, bioes)
    #: CoNLL of tasks with splits: a file per split (:func:`annover.formats.conll.by_split`), written instead
    #: of ``data`` where the export is a folder (each file rendered as it is read), and what to say then
    splits: "conll.SplitFiles | None" = None
    split_notes: list[str] = field(default_factory=list)


def train_input(path: Path, fmt: str, config: LabelingConfig | None = None) -> TrainInput:
    """``path`` read as Label Studio tasks and a generated labeling config (a Hugging Face dataset's
    columns are read as the controls of ``config`` they are named after); an image is keyed by its stem
    without the prefix Label Studio's export adds to a file named after a URL (:func:`unprefixed_stems`)."""
    if fmt == Format.COCO:
        got = coco.read(path)
    elif fmt in (Format.YOLO, Format.YOLO_OBB):
        got = yolo.read(path, obb=fmt == Format.YOLO_OBB)
    elif fmt == Format.VOC:
        got = voc.read(path)
    elif fmt == Format.CONLL:
        return conll.read(path)
    elif fmt == Format.HF:
        return hf_read.read(path, config)
    else:
        raise UsageError(f"{fmt!r} is not a training format", f"use one of {', '.join(TRAIN_FORMATS)}")
    for task, k in zip(got.tasks, unprefixed_stems([t["id"] for t in got.tasks])):
        task["id"] = k
    return got


def read_train(path: Path, fmt: str, config: LabelingConfig | None, validate: bool | str) -> Tables:
    """Canonical tables of a training-format file or folder; checked against ``config`` when given.

    Without a config, the generated one is in the result's ``config_text`` (the snapshot
    stores it) and a warning says so. A COCO file without a config is read straight into
    columns (:mod:`annover.formats.coco_fast`: the same tables, faster), so is a Hugging Face dataset
    of classification columns (:func:`annover.formats.hf_read.read_tables`).
    """
    path = Path(path)
    with no_gc():  # millions of parsed objects and no cycles: the collector's passes would cost twice the parse
        try:
            fast = None if config is not None else coco_fast.read_tables(path, fmt) if fmt == Format.COCO else \
                hf_read.read_tables(path) if fmt == Format.HF else None
            got = None if fast else train_input(path, fmt, config)
            tables, text = fast or to_tables(got, str(path), fmt, config or _carried(got, path), validate)
        except DuplicateKey as e:
            if fmt not in IMAGE_FORMATS:
                raise
            raise DuplicateKey(e.message, f"{fmt} keys an image by its file name without folder and extension "
                               "(--key does not apply): give the two images distinct file names") from None
    if config is None:
        if got is None or not got.carried_config:
            tables.warnings.append(f"{path}: no labeling config given; one was generated from the {fmt} labels")
        tables.config_text = text
    return tables




def _carried(got: TrainInput | None, path: Path) -> LabelingConfig | None:
    """The labeling config the input carries (annover's own HF export), to check its data against as a config
    given with --config is. Data of controls or objects it does not have (its feature id edited, another
    dataset's config) are refused naming them: the version would keep a config that does not describe it."""
    if got is None or not got.carried_config:
        return None
    cfg = LabelingConfig(got.config, source=f"{path}: the labeling config annover's export carries", validate=False)
    named = {(r.get("from_name"), r.get("to_name")) for t in got.tasks for a in t.get("annotations", [])
             for r in a.get("result", [])}
    controls = sorted({c for c, _ in named if c not in cfg.controls}, key=str)
    objects = sorted({o for _, o in named if o and o not in cfg.objects}, key=str)
    given = {k for t in got.tasks for k in t.get("data", {})}
    fields = sorted({o.field for o in cfg.objects.values() if o.from_data and got.tasks} - given)
    if controls or objects or fields:
        lack = "; ".join(f"{what} {_some(names)}" for what, names in (("control", controls), ("object", objects))
                         if names)
        said = "; ".join(([f"has no {lack}, which its columns hold"] if lack else [])
                         + ([f"reads the data field {_some(fields)}, which no column holds"] if fields else []))
        raise fail(path, f"the labeling config it carries (in the last column's feature id) {said}: it is another "
                   "dataset's", "export the version again, or give the version's labeling config with --config")
    return cfg


def _some(names: list[str]) -> str:
    return ", ".join(map(repr, names[:5])) + (" ..." if len(names) > 5 else "")


TEXT_TAGS = frozenset({"Text", "HyperText", "Paragraphs"})


def _check_images(fmt: str, cfg: LabelingConfig | None) -> None:
    """Refuse an image format for a labeling config that labels no <Image> (text, audio...): its
    tasks' text would be written as image file names; and CoNLL for one that labels no text
    (image file names would be written as tokens) or draws no span (<Labels>: a text classified with
    <Choices> has no entity to tag). The hint names only formats that take the labels."""
    tags = sorted({o.tag for o in cfg.objects.values()}) if cfg is not None else []
    labeled = ", ".join(f"<{t}>" for t in tags)
    if fmt in IMAGE_FORMATS and tags and "Image" not in tags:
        raise UsageError(f"{fmt} holds image annotations, and the version's labeling config labels {labeled}, "
                         "no <Image>", _instead(tags))
    if fmt == Format.CONLL and tags and not TEXT_TAGS & set(tags):
        raise UsageError(f"conll holds spans on text, and the version's labeling config labels {labeled}, no <Text>",
                         _instead(tags))
    controls = sorted({f"<{c.tag}>" for c in cfg.controls.values()}) if cfg is not None else []
    if fmt == Format.CONLL and controls and "<Labels>" not in controls:
        raise UsageError(f"conll holds spans on text (<Labels>), and the version's labeling config has none, only "
                         f"{', '.join(controls)}", "export these labels as hf, csv, parquet, json-min, jsonl or "
                         "label-studio")


#: the region types of Label Studio's image tools (``rectanglelabels``, ``polygon``, ``brushlabels``...)
IMAGE_TOOLS = ("rectangle", "polygon", "keypoint", "ellipse", "brush", "magicwand", "bitmask")
#: the task data fields an image format takes the image from without a config (:func:`images.image_field`)
IMAGE_FIELDS = ("image", "img", "file_name", "url")


def _check_untold_images(fmt: str, tables: dict[str, "pa.Table"]) -> None:
    """Refuse an image format for a version with no labeling config whose tasks are no image task: no
    region of an image tool and no task data naming an image file. Read as images, a text's one data
    field was taken for the file name ("the image size is not known"), two for none ("no field the image
    is in"): neither said that the version is text."""
    types = {t for name in ("annotations", "predictions") if name in tables
             for t in tables[name].column("type").unique().to_pylist() if t}
    if any(t.startswith(IMAGE_TOOLS) for t in types) or any(map(_names_an_image, tables["tasks"].column("data"))):
        return
    said = f"its regions are {', '.join(sorted(types))}, of no image tool" if types else "it has no region"
    raise UsageError(f"{fmt} holds image annotations, and the version is no image task (no labeling config; {said}, "
                     "and no task's data names an image file)", _instead(["Text"] if "labels" in types else []))


def _names_an_image(data: "pa.Scalar") -> bool:
    """Whether task data (JSON) has a field an image is read from, or a value that is an image file's name."""
    fields = json.loads(data.as_py() or "{}")
    return any(k in IMAGE_FIELDS or (isinstance(v, str) and v.lower().endswith(yolo.IMAGE_SUFFIXES))
               for k, v in fields.items())


def _instead(tags: list[str]) -> str:
    """The formats that hold labels of objects ``tags``: the training formats of their kind, and those of every kind."""
    kinds = (["coco, yolo, voc"] if "Image" in tags else []) + (["conll (spans)"] if TEXT_TAGS & set(tags) else [])
    return f"export these labels as {', '.join(kinds + ['hf, csv, parquet, json-min, jsonl or label-studio'])}"


def render_train(fmt: str, tables: dict[str, "pa.Table"], cfg_text: str | None, resolve: str | None = None,
                 predictions: str | None = None, tag_scheme: str | None = None) -> Rendered:
    """A version's tables in a training format, one answer per task chosen by ``resolve`` (or
    the predictions of model version ``predictions``); CoNLL's tags in ``tag_scheme`` (bio, iob1,
    bioes), by default the one the tasks' CoNLL file was in (bio for tasks of no CoNLL file)."""
    if tag_scheme is not None:
        tag_scheme = conll.scheme_name(tag_scheme)
    with no_gc():  # many small objects and no cycles: the collector's passes would cost a third of the time
        out = _render(fmt, tables, cfg_text, resolve, predictions, tag_scheme)
    out.notes += _meta_left_out(fmt, tables["tasks"]) if fmt != Format.HF else []  # hf carries the meta
    return out


#: the formats whose import keeps what a file says beyond its labels in the task meta (``meta.voc``...)
_META = {"voc": "Pascal VOC", "conll": "CoNLL"}


def _meta_left_out(fmt: str, tasks: "pa.Table") -> list[str]:
    """The notes of the tasks holding what a file of another format said beyond its labels (a VOC
    file's ``path`` and ``source``, a CoNLL file's POS column): ``fmt`` has no place for it."""
    counts: dict[str, int] = {}
    for meta in task_meta(tasks).values():
        for src in _META:
            if src != fmt and src in meta:
                counts[src] = counts.get(src, 0) + 1
    return [f"{n} task(s) hold what their {_META[src]} file said beyond its labels (the task meta's {src}), which "
            f"{fmt} has no place for: left out (an export as {src} writes it back)" for src, n in counts.items()]


def _render(fmt: str, tables: dict[str, "pa.Table"], cfg_text: str | None, resolve: str | None,
            predictions: str | None, tag_scheme: str | None = None) -> Rendered:
    cfg = LabelingConfig(cfg_text, source="the version's labeling config", validate=False) if cfg_text else None
    _check_images(fmt, cfg)
    if cfg is None and fmt in IMAGE_FORMATS:
        _check_untold_images(fmt, tables)
    if fmt in (Format.COCO, Format.YOLO):
        boxes = boxes_fast.plain_boxes(tables, cfg, resolve, predictions)
        if boxes is not None:  # plain boxes, one answer per task: the same output, a column at a time
            out = Rendered(items=len(boxes.keys), notes=list(boxes.notes))
            if fmt == Format.COCO:
                out.data = boxes_fast.coco_bytes(boxes, cfg, out.notes)
            else:
                out.files = boxes_fast.yolo_files(boxes, cfg, out.notes)
            return out
    picked = pick(tables, resolve, predictions)
    notes = list(picked.notes)
    out = Rendered(items=len(picked.items), notes=notes)
    if fmt == Format.COCO:
        out.data = coco.write(picked, cfg, notes, predictions=predictions is not None)
    elif fmt in (Format.YOLO, Format.YOLO_OBB):
        out.files = yolo.write(picked, cfg, notes, obb=fmt == Format.YOLO_OBB)
    elif fmt == Format.VOC:
        out.files = voc.write(picked, cfg, notes)
    elif fmt == Format.CONLL:
        out.tag_scheme = tag_scheme or conll.file_scheme(picked, notes)
        edges = conll.span_edges(tables)
        out.data = conll.write(picked, cfg, notes, edges, out.tag_scheme, tag_scheme is not None)
        out.splits = conll.by_split(picked, cfg, out.split_notes, edges, out.tag_scheme, tag_scheme is not None)
    elif fmt == Format.HF:
        out.dataset = hf.to_dataset(picked, cfg, notes, conll.span_edges(tables), tables["tasks"])
    else:
        raise UsageError(f"{fmt!r} is not a training format", f"use one of {', '.join(TRAIN_FORMATS)}")
    return out
