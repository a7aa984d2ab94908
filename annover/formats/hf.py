"""A version as a Hugging Face ``datasets.Dataset``, its features from the labeling config.

One row per task that has an answer (chosen by ``--resolve``, or a model's predictions, as
for the other training formats), in the CoNLL export's order (:func:`annover.formats.resolve.in_task_order`):
``task_key``, the task's Label Studio id (``ls_task_id``, where a task has one: a CoNLL sentence's place in
its file, an exported task's id), the task data fields the config's objects read (``image``, ``text``...), and
a column per control, named after it:

- ``Choices`` (single): a ``ClassLabel`` (None when the answer has no choice); ``choice="multiple"``
  and ``Taxonomy``: a list of ``ClassLabel``;
- ``Labels`` on a ``Text``: a list of ``{start, end, text, label}`` (``label`` a ``ClassLabel``),
  plus ``tokens`` and ``<control>_tags``: the tokens and BIO tags of the CoNLL export (same
  tokenisation), the tags a list of ``ClassLabel`` (``O``, then ``B-``/``I-`` of each label);
- ``RectangleLabels``: a list of ``{bbox: [x, y, width, height], rotation, label}``;
  ``PolygonLabels``: ``{points: [[x, y], ...], label}``; ``KeyPointLabels``: ``{x, y, label,
  visibility, object_control, object_index}`` (visibility as COCO's: 2 visible, 1 labeled but hidden) (the box or polygon its ``parentID`` names: its control's column
  and its index there; None for a keypoint of no object); in
  percent of the image as Label Studio keeps them, with the image's ``width`` / ``height`` in
  pixels where known;
- a ``Labels`` on an ``Image`` (beside a ``Rectangle``, ``Brush``... tool): no column; the regions it labels are
  in their tool's column with its labels (:func:`image_labelers`);
- ``TextArea``: a list of strings; ``Rating`` / ``Number``: a number; other controls: the
  results' values as JSON text.

Label ids come from the config's labels in document order, so they are the same in every
version with that config.

After those, one column (``_annover``, a name no other column has) carries the rest of each task as JSON
(``{"data": the fields the columns do not give exactly, "extra": the task's other fields}``, None where
there is none); its feature's ``id`` says it is annover's (:data:`MARK`) and holds the labeling config,
so :mod:`annover.formats.hf_read` reads the export back whole without ``--config``.

Where a task's data names a split (``split``: ``train``, ``val``, ``test``, as YOLO takes it), :func:`save`
writes a ``DatasetDict`` of the splits, named as the hub names them (``train``, ``validation``, ``test``),
the rows of a task of no split beside others with one in ``train``; otherwise one ``Dataset``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.errors import InputError, UsageError, shown
from annover.formats.conll import Edges, tokens
from annover.formats.images import note_kept_fields
from annover.formats.label_studio import TASK_SERVER_FIELDS
from annover.formats.resolve import Picked, Region, in_task_order
from annover.formats.yolo import SPLIT_ALIASES, SPLITS, bridged, split_of
from annover.model.config import Control, LabelingConfig, taxonomy_paths

if TYPE_CHECKING:
    import datasets
    import orjson
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    datasets = lazy("datasets")
    orjson = lazy("orjson")
    pc = lazy("pyarrow.compute")

__all__ = ["HUB_SPLITS", "INSTALL_HINT", "LS_ID", "MARK", "METADATA_KEY", "PARQUET_FIX", "TOOLS", "by_split",
           "carried_column", "carried_fields", "declares_class_label", "image_labelers", "metadata_document",
           "metadata_fault", "one_split", "quiet", "save", "thawed", "to_dataset", "with_images"]

INSTALL_HINT = "install the Hugging Face extra: pip install 'annover[hf]' (or pip install datasets)"
#: the mark, in the ``id`` of the feature of the column carrying the rest of each task, of annover's export
MARK = "annover.hf/1"
#: the column of each row's Label Studio task id (the tasks table's ``ls_task_id``): the CoNLL export's order
#: and the Label Studio export's ids come back from the export read again
LS_ID = "ls_task_id"
#: the ``DatasetDict`` split of the tasks of each split (:func:`annover.formats.yolo.split_of`): the hub's name
HUB_SPLITS = {"train": "train", "val": "validation", "test": "test"}
#: the schema metadata key ``datasets`` keeps a file's features in (Parquet and Arrow files)
METADATA_KEY = b"huggingface"
#: how to mend a Parquet file whose features ``datasets`` cannot load
PARQUET_FIX = ("write the file again with datasets (Dataset.to_parquet), or drop the file's 'huggingface' schema "
               "metadata to read it as flat rows (pyarrow: pq.write_table(table.replace_schema_metadata(None), PATH))")


def metadata_fault(metadata: dict | None) -> str | None:
    """That the ``huggingface`` entry of a file's schema ``metadata``, where ``datasets`` writes
    ``{"info": {"features": {column: feature}}}``, cannot be read, and why (not JSON, not of that shape);
    None when it holds features as an object, or when there is none (a file ``datasets`` did not write)."""
    said = (metadata or {}).get(METADATA_KEY)
    fault = None if said is None else _parsed(said)[1]
    if fault is None:
        return None
    return f"the file's 'huggingface' schema metadata (the features datasets wrote) cannot be read: {fault}"


def metadata_document(metadata: dict | None) -> Mapping | None:
    """The ``huggingface`` entry of a file's schema ``metadata`` parsed, its features (a feature per column, as
    ``datasets`` writes them) at ``["info"]["features"]``; None when there is none or it cannot be read
    (:func:`metadata_fault` says why). Parsed once a text, whoever asks (the detector, the Hugging Face reader,
    the flat reader's refusal), so read-only all the way down (:func:`_frozen`): a caller that changed it would
    change what the next one reads. ``json.dumps(..., default=thawed)`` writes it."""
    said = (metadata or {}).get(METADATA_KEY)
    return None if said is None else _parsed(said)[0]


def thawed(value: Any) -> Any:
    """A read-only object of :func:`metadata_document` as a dict (``json.dumps``'s ``default``: it writes
    the tuples of its arrays as lists itself)."""
    if isinstance(value, MappingProxyType):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _frozen(doc: Any) -> Any:
    """Parsed JSON (no one else's) read-only: each object a ``MappingProxyType``, each array a tuple (its
    containers done before those holding them, without recursion: the metadata may nest deeper than Python
    recurses; an array of plain values, a ClassLabel's million names, copied at C speed)."""
    order, nested, todo = [], set(), [doc] if type(doc) in (dict, list) else []
    while todo:
        v = todo.pop()
        order.append(v)
        items = v.values() if type(v) is dict else v
        if kinds := set(map(type, items)) & {dict, list}:
            nested.add(id(v))
            todo.extend(x for x in items if type(x) in kinds)
    made: dict[int, Any] = {}
    for v in reversed(order):  # (every container is alive in doc: no two share an id)
        if type(v) is dict:
            if id(v) in nested:
                v.update((k, made[id(x)]) for k, x in list(v.items()) if id(x) in made)
            made[id(v)] = MappingProxyType(v)
        elif type(v) is list:
            made[id(v)] = tuple(made.get(id(x), x) for x in v) if id(v) in nested else tuple(v)
    return made.get(id(doc), doc)


@functools.lru_cache(maxsize=2)
def _parsed(said: bytes) -> tuple[Mapping | None, str | None]:
    """(the document, None) of the text of a ``huggingface`` schema metadata entry, or (None, what is wrong).
    orjson parses it (a ClassLabel of many names makes megabytes); Python's json a text orjson refuses (one it
    reads otherwise, or to say what is wrong)."""
    try:
        doc = orjson.loads(said)
    except orjson.JSONDecodeError:
        try:
            doc = json.loads(said)
        except RecursionError:
            return None, "JSON nested deeper than Python's JSON parser reads"
        except ValueError as e:  # UnicodeDecodeError is one
            return None, f"not JSON ({str(e)[:120]})"
    info = doc.get("info") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or not isinstance(info, dict):
        return None, f"it is {shown(doc, 60)}, not an object with an 'info' object"
    if not isinstance(info.get("features"), dict):
        return None, f"its info.features is {shown(info.get('features'), 60)}, not an object (a feature per column)"
    return _frozen(doc), None


def declares_class_label(feature: Any) -> bool:
    """Whether a feature as ``datasets`` writes it in a file's metadata names a ``ClassLabel``, in itself or in
    a list or dict of it: its ``_type``, or the bare name, which ``datasets`` says it cannot load (walked without
    recursion: the metadata may nest deeper than Python recurses)."""
    todo = [feature]
    while todo:
        f = todo.pop()
        if f == "ClassLabel":
            return True
        if isinstance(f, (dict, MappingProxyType)):
            todo.extend(f)
            todo.extend(f.values())
        elif isinstance(f, (list, tuple)):
            todo.extend(f)
    return False


def carried_column(features: dict) -> tuple[str, str] | None:
    """(name, labeling config) of the column annover's export carries the rest of each task in, by its
    feature's ``id`` (:data:`MARK`); None for a dataset of none (another tool's, an older export's)."""
    for name, f in features.items():
        said = getattr(f, "id", None) if isinstance(f, datasets.Value) else None
        try:
            mark = json.loads(said) if isinstance(said, str) and said.startswith("{") else None
        except ValueError:
            continue
        if isinstance(mark, dict) and mark.get("annover") == MARK and isinstance(mark.get("config"), str):
            return name, mark["config"]
    return None


def carried_fields(cell: str | None, where: str) -> tuple[dict, dict]:
    """(data, extra) of a carrying column's cell (:func:`_carried`: ``{"data": ..., "extra": ...}``, None for
    none); InputError naming ``where`` (the row and column) for a cell that is not such an object, nests deeper
    than Python reads, or whose ``extra`` names a field of the task itself (its answers, id, data: the columns')."""
    hint = "give the cell as annover's export writes it (or None), or drop the column (the others are read without it)"
    if cell is None:
        return {}, {}
    try:
        doc = json.loads(cell) if isinstance(cell, str) else None
    except ValueError:
        doc = None
    except RecursionError:
        raise InputError(f"{where}: JSON nested more deeply than Python can read", hint) from None
    if not isinstance(doc, dict) or set(doc) - {"data", "extra"} or \
            not all(isinstance(doc.get(k, {}), dict) for k in ("data", "extra")):
        raise InputError(f"{where}: {shown(cell)} is not annover's JSON of a task's rest (an object of objects "
                         "'data' and 'extra')", hint)
    extra = doc.get("extra", {})
    own = sorted(k for k in extra if k in TASK_SERVER_FIELDS)
    if own:
        raise InputError(f"{where}: extra.{own[0]} is a field of the task itself (the export writes its answers, "
                         "id and data in the other columns), not one it carries", hint)
    return doc.get("data", {}), extra


def _carried(data: dict, fields: list[str], extra: dict | None) -> str | None:
    """A task's JSON in the carrying column: its data fields the columns do not give exactly (a field no
    object reads, or not a text) and its other fields (``extra``: meta...); None where there is none."""
    rest = {k: v for k, v in data.items() if k not in fields or not isinstance(v, str)}
    out = {k: v for k, v in (("data", rest), ("extra", extra)) if v}
    return json.dumps(out, sort_keys=True, ensure_ascii=False) if out else None


def _features_module() -> Any:
    try:
        return datasets.Features
    except ImportError:
        raise UsageError("the Hugging Face format needs the datasets library", INSTALL_HINT) from None


def _label(names: list[str]) -> "datasets.ClassLabel":
    return datasets.ClassLabel(names=names)


def _span_tags(labels: tuple[str, ...]) -> list[str]:
    return ["O", *(f"{p}-{lb}" for lb in labels for p in ("B", "I"))]


def _feature(c: Control) -> dict[str, Any]:
    """The columns of one control."""
    cl = _label(list(c.labels)) if c.labels else datasets.Value("string")
    if c.tag == "Choices" and c.choice != "multiple":
        return {c.name: cl}
    if c.tag in ("Choices", "Taxonomy"):
        return {c.name: datasets.Sequence(cl)}
    if c.tag == "Labels":
        return {c.name: [{"start": datasets.Value("int64"), "end": datasets.Value("int64"),
                          "text": datasets.Value("string"), "label": cl}],
                "tokens": datasets.Sequence(datasets.Value("string")),
                f"{c.name}_tags": datasets.Sequence(_label(_span_tags(c.labels)))}
    if c.tag == "RectangleLabels":
        return {c.name: [{"bbox": datasets.Sequence(datasets.Value("float64"), length=4),
                          "rotation": datasets.Value("float64"), "label": cl}]}
    if c.tag == "PolygonLabels":
        return {c.name: [{"points": datasets.Sequence(datasets.Sequence(datasets.Value("float64"), length=2)),
                          "label": cl}]}
    if c.tag == "KeyPointLabels":
        return {c.name: [{"x": datasets.Value("float64"), "y": datasets.Value("float64"), "label": cl,
                          "visibility": datasets.Value("int64"),
                          "object_control": datasets.Value("string"), "object_index": datasets.Value("int64")}]}
    if c.tag == "TextArea":
        return {c.name: datasets.Sequence(datasets.Value("string"))}
    if c.tag in ("Rating", "Number"):
        return {c.name: datasets.Value("float64")}
    return {c.name: datasets.Sequence(datasets.Value("string"))}


#: the tools a ``<Labels>`` on an ``<Image>`` labels, written as the labeled control their shape has
TOOLS = {"Rectangle": "RectangleLabels", "Polygon": "PolygonLabels", "KeyPoint": "KeyPointLabels"}


def image_labelers(cfg: LabelingConfig) -> dict[str, Control]:
    """The ``<Labels>`` control on each ``<Image>`` (by the image's name): it labels the regions of the image's
    tools (``<Rectangle>``, ``<Brush>``...), which Label Studio writes as a tool result and a ``labels`` result
    of one id; they have no text, so no spans, tokens or tags."""
    out: dict[str, Control] = {}
    for c in cfg.controls.values():
        if c.tag == "Labels" and c.to_name and getattr(cfg.objects.get(c.to_name[0]), "tag", None) == "Image":
            out.setdefault(c.to_name[0], c)
    return out


def _labeled(c: Control, labelers: dict[str, Control]) -> Control:
    """A tool control labeled by its image's ``<Labels>`` as the labeled control of its shape (a ``<Rectangle>``
    as a ``<RectangleLabels>`` of those labels), so its column is the same objects with a ``ClassLabel``."""
    by = labelers.get(c.to_name[0]) if c.to_name else None
    return replace(c, tag=TOOLS[c.tag], labels=by.labels) if by is not None and c.tag in TOOLS else c


def _folded(regions: list[Region], labelers: set[str]) -> list[Region]:
    """Each tool result with the labels of the ``labels`` result of its id (that result left out), as the
    other training exports write the pair (:func:`annover.formats.images.images_of`); a tool written as JSON
    (a ``<Brush>`` mask) holds them as ``labels`` in its value, as Label Studio's ``labels`` result does."""
    tools = {r.id for r in regions if r.id is not None and (r.type or "") != "labels"}
    named = {r.id: r.labels for r in regions if r.from_name in labelers and r.id in tools and r.labels}
    return [replace(r, labels=named[r.id], value={**r.value, "labels": named[r.id]}) if r.id in named and not r.labels
            else r for r in regions if not (r.from_name in labelers and r.id in tools)]


def _adopted(regions: list[Region], cfg: LabelingConfig, moved: dict[tuple[str, str], int]) -> list[Region]:
    """Each region of a control the config does not have as the region of the config's one control of its result
    type on its object (a ``magicwand`` result of a ``<MagicWand>`` named otherwise, as Label Studio's own example
    writes them): in that control's column, as the image exports write it (by the result's type, not its
    control), where it was left out; counted in ``moved`` by (its control, the config's)."""
    out = []
    for r in regions:
        same = [c.name for c in cfg.controls.values() if c.tag.lower() == r.type and c.to_name
                and c.to_name[0] == r.to_name] if r.from_name not in cfg.controls and r.type else []
        if len(same) == 1:
            moved[(r.from_name, same[0])] = moved.get((r.from_name, same[0]), 0) + 1
            r = replace(r, from_name=same[0])
        out.append(r)
    return out


def _adopted_notes(moved: dict[tuple[str, str], int], cfg: LabelingConfig) -> list[str]:
    return [f"{k} region(s) of control {src!r}, which the config does not have, were written in the column of its "
            f"<{cfg.controls[dst].tag}> {dst!r} on the same object, as the image exports (COCO...) write them; read "
            "back, they are that control's" for (src, dst), k in moved.items()]


def _parts(r: Region) -> list[list]:
    """A polygon region's parts: its points, then those a COCO file gave it beyond the first."""
    parts = [list(r.value.get("points") or []), *((r.region.get("coco") or {}).get("more") or [])]
    return [p for p in parts if p] or [[]]


def _objects(controls: list[Control], regions: list[Region]) -> dict[str, tuple[str, int]]:
    """Region id -> (control, index in that control's column) of the boxes and polygons: what a
    keypoint's ``parentID`` (or a keypoint of the same id) names as its object."""
    out: dict[str, tuple[str, int]] = {}
    for c in controls:
        if c.tag in ("RectangleLabels", "PolygonLabels"):
            for i, r in enumerate(r for r in regions if r.from_name == c.name):
                if r.id is not None:
                    out.setdefault(r.id, (c.name, i))
    return out


def _keypoint(r: Region, objects: dict[str, tuple[str, int]]) -> dict[str, Any]:
    pid = r.region.get("parentID")
    obj = objects.get(str(pid)) if pid is not None else objects.get(r.id or "")
    return {"x": float(r.value.get("x", 0)), "y": float(r.value.get("y", 0)),
            "label": r.labels[0] if r.labels else None, "visibility": int(r.region.get("visibility", 2)),
            "object_control": obj[0] if obj else None, "object_index": obj[1] if obj else None}


def _value(c: Control, regions: list[Region], text: str | None,
           objects: dict[str, tuple[str, int]] | None = None, cuts: "set[int] | frozenset[int]" = frozenset()
           ) -> dict[str, Any]:
    """A control's columns of one row; ``cuts``: the task's span edges over the version (the CoNLL
    export's: :func:`annover.formats.conll.span_edges`), where tokens are cut too."""
    mine = [r for r in regions if r.from_name == c.name]
    labels = [lb for r in mine for lb in r.labels]
    if c.tag == "Choices" and c.choice != "multiple":
        return {c.name: labels[0] if labels else None}
    if c.tag in ("Choices", "Taxonomy"):
        return {c.name: labels}
    if c.tag == "Labels":
        spans = sorted(((int(r.value.get("start", 0)), int(r.value.get("end", 0)), r.labels[0] if r.labels else "")
                        for r in mine if "start" in r.value), key=lambda s: (s[0], -s[1]))
        out: dict[str, Any] = {c.name: [{"start": s, "end": e, "text": (text or "")[s:e], "label": lb}
                                        for s, e, lb in spans]}
        toks = tokens(text or "", {x for s, e, _ in spans for x in (s, e)} | set(cuts))
        tags = ["O"] * len(toks)
        last = -1
        for s, e, lb in spans:
            if s < last:
                continue  # overlapping: as in CoNLL, the first (longer) span is kept
            inside = [i for i, (ts, te) in enumerate(toks) if s <= ts and te <= e]
            for j, i in enumerate(inside):
                tags[i] = ("B-" if j == 0 else "I-") + lb
            last = e
        out["tokens"] = [(text or "")[a:b] for a, b in toks]
        out[f"{c.name}_tags"] = tags
        return out
    if c.tag == "RectangleLabels":
        return {c.name: [{"bbox": [float(r.value.get(k, 0)) for k in ("x", "y", "width", "height")],
                          "rotation": float(r.value.get("rotation") or 0), "label": r.labels[0] if r.labels else None}
                         for r in mine]}
    if c.tag == "PolygonLabels":  # a polygon in several parts (COCO's) joined into one, as YOLO writes it
        return {c.name: [{"points": [[float(x), float(y)] for x, y in bridged(_parts(r))],
                          "label": r.labels[0] if r.labels else None} for r in mine]}
    if c.tag == "KeyPointLabels":
        return {c.name: [_keypoint(r, objects or {}) for r in mine]}
    if c.tag == "TextArea":
        return {c.name: [str(t) for r in mine for t in (r.value.get("text") or [])]}
    if c.tag in ("Rating", "Number"):
        v = next((r.value.get(c.tag.lower()) for r in mine), None)
        return {c.name: float(v) if isinstance(v, (int, float)) else None}
    return {c.name: [json.dumps(r.value, sort_keys=True, ensure_ascii=False) for r in mine]}


#: the notes of :func:`to_dataset`, by what they count
_NOTES = {
    "stale": "{} region(s) with labels the config does not have were left out",
    "unknown": "{} region(s) of controls the config does not have ({}) were left out",
    "lone": "{} region(s) of a <Labels> on an image with no tool region of their id (<Rectangle>, <Brush>...) have "
            "no column and were left out",
    "relations": "{} region(s) of type relation have no place in the Hugging Face columns and were left out",
    "parted": "{} polygon(s) in several parts were each written as one polygon, the parts joined at their closest "
              "vertices",
    "several": "{} single-choice answer(s) held several labels (answers merged by --resolve all, or a choice made "
               "several times): the first was kept; choose one answer a task with --resolve ground-truth, latest "
               "or annotator:EMAIL"}


def to_dataset(picked: Picked, cfg: LabelingConfig | None, notes: list[str],
               edges: "Edges | None" = None, tasks: "pa.Table | None" = None) -> "datasets.Dataset":
    """The picked answers as a ``datasets.Dataset`` with features from ``cfg``; ``edges``: the span
    edges of the version (:func:`annover.formats.conll.span_edges`), so ``tokens`` are the CoNLL
    export's whichever answer or model is written; ``tasks``: the version's, whose ``extra`` the last
    column carries (else the tasks' meta alone)."""
    Features = _features_module()
    if cfg is None:
        raise UsageError("this version has no labeling config, and the Hugging Face features come from one",
                         "snapshot it with --config labeling.xml")
    picked = replace(picked, items=in_task_order(picked))  # rows in the CoNLL export's order
    paths = taxonomy_paths(cfg.text)  # a Taxonomy's labels as its answers give them: Three/Sub
    labelers = image_labelers(cfg)
    by = {c.name for c in labelers.values()}
    controls = [_labeled(replace(c, labels=tuple(paths[c.name])) if c.name in paths else c, labelers)
                for c in cfg.controls.values() if c.name not in by]
    fields = sorted({o.field for o in cfg.objects.values() if o.from_data})
    spec: dict[str, Any] = {"task_key": datasets.Value("string")}
    spec.update({f: datasets.Value("string") for f in fields})
    sized = any(o.tag == "Image" for o in cfg.objects.values())  # an image's size; text has none
    if sized:
        spec.update({"width": datasets.Value("int64"), "height": datasets.Value("int64")})
    for c in controls:
        spec.update(_feature(c))
    text_of = {c.name: cfg.objects[c.to_name[0]].field for c in controls
               if c.tag == "Labels" and c.to_name and c.to_name[0] in cfg.objects}
    rows: list[dict] = []
    moved: dict[tuple[str, str], int] = {}  # regions of a control the config lacks written as its tool's (_adopted)
    unknown: set[str] = set()  # the controls the config lacks whose regions were left out
    n = dict.fromkeys(_NOTES, 0)  # what was left out or changed, by kind: the notes
    single = [c.name for c in controls if c.tag == "Choices" and c.choice != "multiple"]
    allowed = {c.name: set(c.labels) for c in (*controls, *labelers.values()) if c.labels and not c.dynamic}
    for it in picked.items:
        keep = [r for r in it.regions if r.from_name not in allowed or not r.labels
                or all(lb in allowed[r.from_name] for lb in r.labels)]
        n["stale"] += len(it.regions) - len(keep)
        it = type(it)(it.task_key, it.data, _adopted(_folded(keep, by), cfg, moved), it.size)
        n["lone"] += sum(1 for r in it.regions if r.from_name in by)  # a <Labels> result of no tool's id
        row: dict[str, Any] = {"task_key": it.task_key}
        row.update({f: None if it.data.get(f) is None else str(it.data.get(f)) for f in fields})
        if sized:
            size = next(((r.region.get("original_width"), r.region.get("original_height")) for r in it.regions
                         if r.region.get("original_width")), it.size or (None, None))
            row["width"], row["height"] = size
        objects = _objects(controls, it.regions)
        for c in controls:
            cuts = (edges or {}).get(it.task_key, {}).get(c.to_name[0] if c.to_name else None, frozenset())
            row.update(_value(c, it.regions, it.data.get(text_of.get(c.name, "")), objects, cuts))
        n["several"] += sum(1 for c in single if len({lb for r in it.regions if r.from_name == c
                                                      for lb in r.labels}) > 1)
        gone = [r.from_name for r in it.regions if r.from_name not in cfg.controls and r.type != "relation"]
        n["unknown"], unknown = n["unknown"] + len(gone), unknown | set(gone)
        n["relations"] += sum(1 for r in it.regions if r.type == "relation")
        n["parted"] += sum(1 for r in it.regions if len(_parts(r)) > 1 and r.from_name in cfg.controls
                           and cfg.controls[r.from_name].tag == "PolygonLabels")
        rows.append(row)
    names = ", ".join(map(repr, sorted(unknown)))  # the "unknown" note's
    notes += [_NOTES[k].format(v, names) for k, v in n.items() if v]
    notes += _adopted_notes(moved, cfg)
    note_kept_fields([r.region for it in picked.items for r in it.regions], "the Hugging Face columns have", notes,
                     things="region")  # a COCO crowd region is an ordinary one here
    return _dataset(Features, spec, rows, picked, cfg.text, fields, tasks)


def _dataset(Features: Any, spec: dict[str, Any], rows: list[dict], picked: Picked, config: str, fields: list[str],
             tasks: "pa.Table | None") -> "datasets.Dataset":
    """The rows (one an item of ``picked``) as a Dataset of the features ``spec``, their tasks' Label Studio ids
    after ``task_key`` (:data:`LS_ID`, where one has an id), then the column carrying the rest of each task (the
    module's docstring), named as no other column is."""
    if LS_ID not in spec and any(picked.task_ids.get(it.task_key) is not None for it in picked.items):
        spec = {"task_key": spec.pop("task_key"), LS_ID: datasets.Value("int64"), **spec}
        # after the key: Dataset.from_list orders the columns as the first row's keys
        rows = [{"task_key": row["task_key"], LS_ID: picked.task_ids.get(it.task_key), **row}
                for row, it in zip(rows, picked.items)]
    carry = next(n for i in range(len(spec) + 1) if (n := "_" * i + "_annover") not in spec)
    spec = {**spec, carry: datasets.Value("string", id=json.dumps({"annover": MARK, "config": config}))}
    wanted = {it.task_key for it in picked.items}  # the tasks written: only theirs are parsed
    extras = {k: json.loads(e) for k, e in zip(tasks.column("task_key").to_pylist(),
                                                tasks.column("extra").to_pylist()) if e and k in wanted} \
        if tasks is not None else {k: {"meta": m} for k, m in picked.task_meta.items()}
    for row, it in zip(rows, picked.items):
        row[carry] = _carried(it.data, fields, extras.get(it.task_key))
    features = Features(spec)
    info = datasets.DatasetInfo(features=features, description=f"Exported by annover. The last column, {carry}, "
                                "holds what the others do not (the labeling config, each task's other data) for "
                                f"annover snapshot --from; drop it to train: remove_columns([{carry!r}]).")
    if not rows:  # from_list cannot tell the columns of no rows
        return datasets.Dataset.from_dict({name: [] for name in spec}, features=features, info=info)
    return datasets.Dataset.from_list(rows, features=features, info=info)


@contextmanager
def quiet() -> Iterator[None]:
    """Without the progress bars ``datasets`` draws on stderr (saving, loading)."""
    shown = datasets.utils.logging.is_progress_bar_enabled()
    datasets.utils.logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            datasets.utils.logging.enable_progress_bar()


def _row_splits(dataset: "datasets.Dataset") -> list[str | None]:
    """Each row's split (:func:`annover.formats.yolo.split_of` of its task's data): the ``split`` the carrying
    column's data gives, else a ``split`` string column's; all None for a dataset of neither."""
    carry = carried_column(dataset.features)
    own = dataset.features.get("split")
    column = dataset.data.column("split").to_pylist() \
        if isinstance(own, datasets.Value) and own.dtype == "string" else [None] * dataset.num_rows
    if carry is None or not pc.any(pc.match_substring(dataset.data.column(carry[0]), '"split"')).as_py():
        return [split_of({"split": s}) for s in column]  # no row carries a split: nothing parsed
    cells = [json.loads(c).get("data", {}) if c else {} for c in dataset.data.column(carry[0]).to_pylist()]
    return [split_of(d if "split" in d else {"split": s}) for d, s in zip(cells, column)]


def by_split(dataset: "datasets.Dataset", notes: list[str]) -> "datasets.Dataset | datasets.DatasetDict":
    """``dataset`` as a ``DatasetDict`` of its tasks' splits (:data:`HUB_SPLITS`), the rows of a task of no
    split beside others with one in ``train`` (said in ``notes``); ``dataset`` itself where no task has one."""
    given = _row_splits(dataset)
    if not any(given):
        return dataset
    rows: dict[str, list[int]] = {}
    for i, s in enumerate(given):
        rows.setdefault(s or "train", []).append(i)
    if None in given:
        notes.append(f"{given.count(None)} task(s) have no split (task data 'split') beside others that have one: "
                     "they are in the train split")
    notes.append("the tasks have splits (data 'split'): a DatasetDict of them (" +
                 ", ".join(f"{HUB_SPLITS[s]} {len(rows[s])} row(s)" for s in SPLITS if s in rows) + ")")
    return datasets.DatasetDict({HUB_SPLITS[s]: dataset.select(rows[s]) for s in SPLITS if s in rows})


def one_split(dataset: "datasets.Dataset", split: str) -> "datasets.Dataset":
    """The rows :func:`save` writes in ``split`` (``train``, ``validation`` or ``test``; ``val`` is
    ``validation``); UsageError for another name, or where no task has a split (the export is one Dataset)."""
    name = HUB_SPLITS.get(SPLIT_ALIASES.get(split, split), split) if isinstance(split, str) else split
    if name not in HUB_SPLITS.values():
        raise UsageError(f"split={shown(split)} is not a split of the Hugging Face export",
                         "use split='train', 'validation' or 'test'")
    dealt = by_split(dataset, [])
    if not isinstance(dealt, datasets.DatasetDict):
        raise UsageError("no task of this version has a split (data 'split'), so its Dataset has none",
                         "leave split= out")
    return dealt[name] if name in dealt else dataset.select([])


def save(dataset: "datasets.Dataset", folder: str, version: str | None = None, notes: list[str] | None = None
         ) -> None:
    """``save_to_disk`` into ``folder`` of the ``dataset``, a ``DatasetDict`` of its splits where its tasks
    have some (:func:`by_split`, its notes in ``notes``), without the progress bar ``datasets`` draws on
    stderr; the ``DatasetInfo``'s description of annover's export names the ``version`` it was exported from."""
    out = by_split(dataset, notes if notes is not None else [])
    if version is not None and carried_column(dataset.features) is not None:
        said = f"annover version {version}. {dataset.info.description}"
        for part in out.values() if isinstance(out, datasets.DatasetDict) else [out]:
            part.info.description = said
    with quiet():
        out.save_to_disk(folder)


def with_images(dataset: "datasets.Dataset", field: str, files: list[str | None]) -> "datasets.Dataset":
    """``dataset`` whose column ``field`` (the image's path as the task gives it) is the image files
    ``files``, one a row, as a ``datasets.Image`` column: ``save_to_disk`` writes their bytes into
    the dataset, so ``load_from_disk`` gives each row's image (a PIL image) wherever the folder is; the
    carrying column keeps the field's value where the file's name (what ``save_to_disk`` records) is not it."""
    order = list(dataset.column_names)
    out = dataset.remove_columns(field).add_column(field, files).select_columns(order)
    if (carry := carried_column(dataset.features)) is not None:
        rows = [json.loads(v) if v else {} for v in dataset.data.column(carry[0]).to_pylist()]
        for row, name, file in zip(rows, dataset.data.column(field).to_pylist(), files):
            if name is not None and (file is None or Path(file).name != name):
                row["data"] = {**row.get("data", {}), field: name}
        out = out.remove_columns(carry[0]).add_column(carry[0], [json.dumps(r, sort_keys=True, ensure_ascii=False)
                                                                 if r else None for r in rows],
                                                      feature=dataset.features[carry[0]])
    return out.cast_column(field, datasets.Image())
