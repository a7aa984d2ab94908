"""COCO and YOLO of a version of plain boxes, a column at a time.

The general writers (:mod:`annover.formats.coco`, :mod:`annover.formats.yolo`) pick an answer
per task, parse each region's JSON and build an object per box. For the common case, a
version whose answers are plain boxes (``rectanglelabels``, one label, no rotation, nothing a
format's import kept), one answer per task and no skips, this module gives the same bytes from
the canonical columns: the value and region JSON parsed by Arrow, the percent-to-pixel and
percent-to-normalised numbers computed with numpy and written as the general writers write
them (:func:`annover.formats.images.px_of`, :func:`annover.formats.yolo.num`), the lines joined
by Arrow. What stays per image is its task data (file name, size, COCO image fields) and, for
YOLO, its file. Anything else returns None and the general writers run.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from annover._lazy import lazy
from annover.errors import InputError
from annover.formats.coco import category_list, dataset_fields, image_fields, kept_categories, numbered
from annover.formats.coco_fast import json_numbers, pct_array, round_exact, scaled_integers
from annover.formats.images import (PCT_DIGITS, Image, image_field, size_of, category_ids, config_categories,
                                    crosses_edge, file_name_of, unique_names)
from annover.formats.resolve import rule_of
from annover.formats.train import view_kept
from annover.formats.text import fits_64_bits
from annover.formats.yolo import data_yaml, image_path, label_path, num, split_layout, split_of
from annover.model.config import LabelingConfig

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj
    import orjson
else:
    orjson = lazy("orjson")  # JSON parsed at C speed
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")
    pj = lazy("pyarrow.json")

__all__ = ["Boxes", "coco_bytes", "plain_boxes", "yolo_files"]


@dataclass
class Boxes:
    """The picked images (in task-key order) and their boxes (in image, then result order)."""

    all_tasks: list[str]
    keys: list[str]  # task key per image
    data: list[dict]  # task data per image
    names: list[str]  # file name per image
    width: list[int | None]
    height: list[int | None]
    image: "np.ndarray"  # per box: its image's index
    x: "np.ndarray"  # per box: percent values as stored
    y: "np.ndarray"
    w: "np.ndarray"
    h: "np.ndarray"
    label: "pa.Array"
    notes: list[str]
    other_ids: dict = field(default_factory=dict)  # task key -> its own COCO image id, of the tasks not picked


def _runs(col: "pa.ChunkedArray") -> "np.ndarray":
    """Whether each row starts a new run of equal values (the first row does)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    n = len(arr)
    starts = np.ones(n, dtype=bool)
    if n > 1:
        starts[1:] = ~np.asarray(pc.fill_null(pc.equal(arr.slice(1), arr.slice(0, n - 1)), False))
    return starts


def _parse(texts: "pa.Array", fields: list[tuple[str, "pa.DataType"]]) -> "pa.Table":
    """JSON object texts (one a row, none null) parsed into columns by Arrow."""
    data = _joined(pc.binary_join_element_wise(texts, "\n", ""))
    opts = pj.ParseOptions(explicit_schema=pa.schema(fields), unexpected_field_behavior="ignore")
    return pj.read_json(io.BytesIO(data), parse_options=opts, read_options=pj.ReadOptions(block_size=1 << 24))


def _picked_rows(tables: dict[str, "pa.Table"], resolve: str | None, predictions: str | None) -> "pa.Table | None":
    if predictions is not None or rule_of(resolve)[0] == "annotator":
        return None
    t = tables["annotations"]
    if t.num_rows == 0 or pc.any(t.column("was_cancelled")).as_py():
        return None
    new_task = _runs(t.column("task_key"))
    same_answer = ~_runs(t.column("annotation_key"))
    if not np.all(new_task | same_answer):  # a task with two answers: the general path chooses
        return None
    boxes = pc.not_equal(t.column("region_key"), "")
    typ = pc.fill_null(pc.equal(t.column("type"), "rectanglelabels"), False)
    if not pc.all(pc.or_(pc.invert(boxes), typ)).as_py():
        return None
    return t


def plain_boxes(tables: dict[str, "pa.Table"], cfg: LabelingConfig | None, resolve: str | None,
                predictions: str | None) -> Boxes | None:
    """The version's plain boxes, or None when the general writers must run (see the module)."""
    if any(f.get("keypoints") for f in kept_categories(cfg).values()):
        return None  # a category of keypoints (kept by a COCO import): its boxes have keypoints in COCO
    t = _picked_rows(tables, resolve, predictions)
    if t is None:
        return None
    t = t.select(["task_key", "region_key", "to_name", "labels", "value", "region", "position"])
    image_starts = _runs(t.column("task_key"))
    image = np.cumsum(image_starts) - 1
    is_box = np.asarray(pc.not_equal(t.column("region_key"), ""))
    order = np.lexsort((np.asarray(t.column("position")), image))
    box_rows = order[is_box[order]]
    bt = t.take(pa.array(box_rows))
    if bt.num_rows == 0 or not _plain(bt):  # no boxes: the general writers, at no cost
        return None
    try:
        v = _parse(bt.column("value").combine_chunks(), [(k, pa.float64()) for k in ("x", "y", "width", "height",
                                                                                      "rotation")])
        regions = bt.column("region").combine_chunks().dictionary_encode()  # a few sizes: each parsed once
        if _kept_by_import(regions.dictionary):
            return None
        r = _parse(regions.dictionary, [("original_width", pa.float64()), ("original_height", pa.float64())])
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    cols = {k: v.column(k).combine_chunks() for k in ("x", "y", "width", "height")}
    rot = v.column("rotation")
    if any(c.null_count for c in cols.values()) or pc.any(pc.fill_null(pc.not_equal(rot, 0), False)).as_py():
        return None
    if np.any(crosses_edge(*(cols[k].to_numpy() for k in ("x", "y", "width", "height")))):
        return None  # boxes to clip: the general writers clip them and say so
    at = regions.indices.to_numpy(zero_copy_only=False)
    ow, oh = (np.asarray(pc.fill_null(r.column(k), 0))[at] for k in ("original_width", "original_height"))
    if not (np.all(ow > 0) and np.all(oh > 0)):  # a size from the task data instead: the general path
        return None
    box_image = image[box_rows]
    first = _runs(pa.array(box_image))
    same = np.ones(len(box_image), dtype=bool)
    same[1:] = (ow[1:] == ow[:-1]) & (oh[1:] == oh[:-1])
    if not np.all(first | same):  # boxes of one image with different sizes
        return None
    return _boxes(tables, t, cfg, image_starts, bt, box_image, first, ow, oh, cols)


def _plain(bt: "pa.Table") -> bool:
    """One label each, a value and a region."""
    lengths = pc.list_value_length(bt.column("labels"))
    if not pc.all(pc.fill_null(pc.equal(lengths, 1), False)).as_py():
        return False
    if bt.column("value").null_count or bt.column("region").null_count:
        return False
    return True


def _kept_by_import(regions: "pa.Array") -> bool:
    """Whether a region text holds what a format's import kept (a COCO area, VOC flags)."""
    return pc.any(pc.match_substring(regions, '"coco"')).as_py() or pc.any(pc.match_substring(regions, '"voc"')).as_py()


def _boxes(tables: dict[str, "pa.Table"], t: "pa.Table", cfg: LabelingConfig | None, image_starts: "np.ndarray",
           bt: "pa.Table", box_image: "np.ndarray", first: "np.ndarray", ow: "np.ndarray", oh: "np.ndarray",
           cols: dict) -> Boxes:
    tasks = tables["tasks"]
    all_tasks = tasks.column("task_key").to_pylist()
    keys = t.column("task_key").filter(pa.array(image_starts)).to_pylist()
    at = {k: i for i, k in enumerate(all_tasks)}
    data = _documents(tasks.column("data").take(pa.array([at[k] for k in keys], pa.int64())).to_pylist())
    n = len(keys)
    width: list[int | None] = [None] * n
    height: list[int | None] = [None] * n
    to_name: list[str | None] = [None] * n
    firsts = np.flatnonzero(first)
    imgs = box_image[firsts].tolist()
    for i, w_, h_, tn in zip(imgs, ow[firsts].astype(np.int64).tolist(), oh[firsts].astype(np.int64).tolist(),
                             bt.column("to_name").take(pa.array(firsts)).to_pylist()):
        width[i], height[i], to_name[i] = w_, h_, tn
    for i in range(n):
        if width[i] is None:
            width[i], height[i] = size_of(data[i], [])
    names = [_file_name(k, d, cfg, tn) for k, d, tn in zip(keys, data, to_name)]
    notes = []
    unlabeled = len(all_tasks) - n
    if unlabeled:
        notes.append(f"{unlabeled} task(s) without a usable answer were left out")
    if tables["predictions"].num_rows:
        notes.append("predictions are not exported (choose a model with --predictions MODEL_VERSION)")
    labels = pc.list_flatten(bt.column("labels").combine_chunks())
    picked = set(keys)
    rest = [i for i, k in enumerate(all_tasks) if k not in picked] if unlabeled else []
    other = _documents(tasks.column("data").take(pa.array(rest, pa.int64())).to_pylist()) if rest else []
    return Boxes(all_tasks, keys, data, names, width, height, box_image,
                 *(cols[k].to_numpy() for k in ("x", "y", "width", "height")), labels, notes,
                 {all_tasks[i]: image_fields(d).get("id") for i, d in zip(rest, other)})


def _documents(texts: list[str]) -> list[dict]:
    """The JSON documents (task data), parsed in one call by orjson where it reads them exactly."""
    joined = ("[" + ",".join(texts) + "]").encode()
    if fits_64_bits(joined):  # else orjson would read an integer beyond 64 bits as a float
        return orjson.loads(joined)
    return [json.loads(t) for t in texts]


_URL_ODD = frozenset("?#;%[]\t\r\n")
_SCHEME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")


def quick_file_name(s: str) -> str:
    """:func:`annover.formats.images.file_name_of` without parsing the URL, for the paths and
    URLs that have no query, fragment, parameters, escapes or spaces around them (else that function)."""
    if not s or s[0] <= " " or s[-1] <= " " or not _URL_ODD.isdisjoint(s):
        return file_name_of(s)
    i = s.find(":")
    scheme = i > 0 and s[0].isascii() and s[0].isalpha() and _SCHEME.issuperset(s[:i])
    rest = s[i + 1:] if scheme else s
    if rest.startswith("//"):  # a network location, then the path
        j = rest.find("/", 2)
        rest = rest[j:] if j >= 0 else ""
    elif not scheme and not s.startswith("/"):
        return s
    return rest.rpartition("/")[2] or s


def _file_name(key: str, data: dict, cfg: LabelingConfig | None, to_name: str | None) -> str:
    try:
        value = data[image_field(cfg, data, to_name)]
        return quick_file_name(value) if type(value) is str else file_name_of(value)
    except InputError as e:
        raise InputError(f"task {key!r}: {e.message}", e.hint) from None


# ---------------------------------------------------------------------------
# numbers as the general writers write them


def px_of_array(p: "np.ndarray", size: "np.ndarray") -> "np.ndarray":
    """:func:`annover.formats.images.px_of` of each percent (the fewest decimals that read back)."""
    target = pct_array(p)
    center = target * size / 100
    half = 0.5 * 10 ** -PCT_DIGITS * size / 100
    out = np.full(len(p), np.nan)
    todo = np.arange(len(p))
    for d in range(11):
        if not todo.size:
            break
        c, s = center[todo], size[todo]
        r = round_exact(c, d)
        ok = (np.abs(r - c) <= half[todo] * 1.01) & (pct_array(r / s * 100) == target[todo])
        out[todo[ok]] = r[ok]
        todo = todo[~ok]
    if todo.size:
        out[todo] = round_exact(center[todo], 10)
    return out


def num_texts(v: "np.ndarray") -> "pa.Array":
    """:func:`annover.formats.yolo.num` of each value: up to 8 decimals, no trailing zeros."""
    n, near = scaled_integers(v, 1e8)
    k = np.where(near, 0, n).astype(np.int64)
    absk = np.abs(k)
    ip = pc.cast(pa.array(absk // 10 ** 8), pa.string())
    fp = pc.utf8_rtrim(pc.utf8_lpad(pc.cast(pa.array(absk % 10 ** 8), pa.string()), 8, "0"), characters="0")
    out = pc.if_else(pc.equal(fp, ""), ip, pc.binary_join_element_wise(ip, ".", fp, ""))
    out = pc.if_else(pa.array(k < 0), pc.binary_join_element_wise("-", out, ""), out)
    if near.any():
        texts = out.to_pylist()
        for i in np.flatnonzero(near).tolist():
            texts[i] = num(float(v[i]))
        out = pa.array(texts, pa.string())
    return out


def _offsets(texts: "pa.Array") -> "np.ndarray":
    """Where each text starts in its data buffer (and where the last ends), from 0."""
    if not len(texts):
        return np.zeros(1, dtype=np.int64)
    raw = np.frombuffer(texts.buffers()[1], dtype=np.int32, count=len(texts) + 1, offset=texts.offset * 4)
    return raw.astype(np.int64) - int(raw[0])


def _joined(texts: "pa.Array") -> bytes:
    """The texts one after another (each already ends with its separator), from Arrow's buffer."""
    if not len(texts):
        return b""
    raw = np.frombuffer(texts.buffers()[1], dtype=np.int32, count=len(texts) + 1, offset=texts.offset * 4)
    return texts.buffers()[2].to_pybytes()[int(raw[0]):int(raw[-1])]


# ---------------------------------------------------------------------------
# writers


def _categories(cfg: LabelingConfig | None, b: Boxes, notes: list[str]) -> list[str]:
    """:func:`annover.formats.images.categories` of the boxes."""
    names = config_categories(cfg)
    seen = sorted(set(pc.unique(b.label).to_pylist()) - set(names))
    if seen and names:
        notes.append(f"labels not in the labeling config were added after its labels: {', '.join(seen[:5])}")
    return names + seen


def _class_of(b: Boxes, names: list[str], ids: list[int] | None = None) -> "pa.Array":
    """Each box's class as text: the index of its label in ``names``, or that label's id in ``ids``."""
    idx = pc.index_in(b.label, value_set=pa.array(names, pa.string()))
    if ids is not None:
        idx = pc.take(pa.array(ids, pa.int64()), idx)
    return pc.cast(idx, pa.string())


def _image_ids(b: Boxes) -> list[int]:
    """Each picked image's id, by :func:`annover.formats.coco.image_ids`' rule over all the version's tasks."""
    own = dict(b.other_ids)
    own.update(zip(b.keys, [image_fields(d).get("id") for d in b.data]))
    ids = numbered(b.all_tasks, [own[k] for k in b.all_tasks])
    return [ids[k] for k in b.keys]


def coco_bytes(b: Boxes, cfg: LabelingConfig | None, notes: list[str]) -> bytes:
    """What :func:`annover.formats.coco.write` writes of these boxes."""
    names = _categories(cfg, b, notes)
    cat_ids = category_ids(cfg, names)
    ids = _image_ids(b)
    images = []
    for iid, fn, w, h, d in zip(ids, b.names, b.width, b.height, b.data):
        extra = {k: v for k, v in image_fields(d).items() if k not in ("id", "file_name", "width", "height")}
        images.append({"id": iid, "file_name": fn, "width": w, "height": h, **extra})
    width = np.array([w or 0 for w in b.width], dtype=np.int64)[b.image]
    height = np.array([h or 0 for h in b.height], dtype=np.int64)[b.image]
    bx, by, bw, bh = (px_of_array(v, s) for v, s in ((b.x, width), (b.y, height), (b.w, width), (b.h, height)))
    area = round_exact(bw * bh, 10)
    n = len(b.image)
    texts = pc.binary_join_element_wise(
        '{"id":', pc.cast(pa.array(np.arange(1, n + 1)), pa.string()),
        ',"image_id":', pa.array([str(i) for i in ids], pa.string()).take(pa.array(b.image, pa.int64())),
        ',"category_id":', _class_of(b, names, [cat_ids[n] for n in names]), ',"segmentation":[],"bbox":[', json_numbers(bx), ",", json_numbers(by), ",",
        json_numbers(bw), ",", json_numbers(bh), '],"area":', json_numbers(area), ',"iscrowd":0},', "")
    cats = category_list(cat_ids, kept_categories(cfg), {})
    dumps = json.dumps
    head = dumps(dataset_fields(cfg), ensure_ascii=False, separators=(",", ":"))[:-1] + ',"images":' + \
        dumps(images, ensure_ascii=False, separators=(",", ":")) + ',"annotations":['
    body = _joined(texts)[:-1]
    tail = "]," + '"categories":' + dumps(cats, ensure_ascii=False, separators=(",", ":")) + "}\n"
    return head.encode("utf-8") + body + tail.encode("utf-8")


def _sizes_json(sizes: dict[str, tuple[int, int]]) -> bytes:
    """``json.dumps({path: {"width": w, "height": h}}, indent=1)`` and a newline, as the general
    writer writes sizes.json (json's indented output is its pure-Python encoder: slow on 100,000 images)."""
    q = json.encoder.encode_basestring
    body = ",\n ".join(f'{q(k)}: {{\n  "width": {w},\n  "height": {h}\n }}' for k, (w, h) in sizes.items())
    return ("{\n " + body + "\n}\n").encode("utf-8")


def yolo_files(b: Boxes, cfg: LabelingConfig | None, notes: list[str]) -> dict[str, bytes]:
    """What :func:`annover.formats.yolo.write` writes of these boxes (YOLO detect)."""
    splits = [split_of(d) for d in b.data]
    paths = [image_path(fn, s) for fn, s in zip(b.names, splits)]
    if len({label_path(p) for p in paths}) != len(paths):
        unique_names([Image(k, fn, w, h, d) for k, fn, w, h, d in zip(b.keys, b.names, b.width, b.height, b.data)],
                     "YOLO", label_path, paths)
    names = _categories(cfg, b, notes)
    bx, by, bw, bh = (v * 100 / 100 for v in (b.x, b.y, b.w, b.h))
    lines = pc.binary_join_element_wise(
        _class_of(b, names), " ", num_texts((bx + bw / 2) / 100), " ", num_texts((by + bh / 2) / 100), " ",
        num_texts(bw / 100), " ", num_texts(bh / 100), "\n", "")
    blob = _joined(lines)
    offsets = _offsets(lines)
    ends = np.searchsorted(b.image, np.arange(len(b.keys)), side="right")
    starts = np.searchsorted(b.image, np.arange(len(b.keys)), side="left")
    files: dict[str, bytes] = {}
    for p, s, e in zip(paths, offsets[starts].tolist(), offsets[ends].tolist()):
        files[label_path(p)] = blob[s:e]
    notes.append("YOLO task: detect")
    sizes = {p: (w, h) for p, w, h in zip(paths, b.width, b.height) if w and h}
    if sizes:
        files["sizes.json"] = _sizes_json(sizes)
    folders, lists = split_layout(paths, splits, notes)
    files.update(lists)
    files["data.yaml"] = data_yaml(names, "detect", [], folders, kept=view_kept(cfg, "yolo")).encode("utf-8")
    files["classes.txt"] = "".join(n + "\n" for n in names).encode("utf-8")
    return files
