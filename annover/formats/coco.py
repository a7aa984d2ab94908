"""COCO (object detection / instance segmentation / keypoints) to and from annover's tables.

Export: one JSON file, ``images`` / ``annotations`` / ``categories``. Boxes give ``bbox``;
polygons ``segmentation`` polygons (bbox their extent); brush masks uncompressed RLE;
keypoints whose region has a ``parentID`` belong to that object (``keypoints`` x, y, v in the
order of the config's KeyPointLabels). Categories: the config's object labels in document order,
each with its ``category`` id where the config gives one (a COCO import keeps the file's ids so),
the others numbered after the largest (1.. where none is given). Image ids: the tasks' COCO image
id when every task of the version has a distinct one (``data.coco_image.id``), else 1.. over all
the version's tasks in key order (the same for every export of one version, so a predictions file
matches its ground truth). Annotation ids: 1.. in export order. Pixel values are written with the fewest decimals that read back as
the same value (``174.71``, not ``174.710016``); rotated boxes and masks to 0.01.

A version whose tasks have splits (``data.split``) is dealt into one JSON per split
(:func:`by_split`, ``annotations/instances_<split>.json`` as COCO 2017 names its files), each the
images of that split and their annotations as the one JSON holds them: the same ids (unique across
the files), the same categories.

With ``predictions``, the output is COCO's results format (a list of ``image_id``,
``category_id``, ``bbox`` / ``segmentation`` / ``keypoints``, ``score``), which
``COCO.loadRes`` reads against the ground-truth file of the same version.

Import: each image is a task (``data.image`` = ``file_name``, ``data.coco_image`` = the other
image fields), keyed by the file name's stem; each annotation one region (a polygon when it
has polygon segmentation, a brush mask for RLE, else a box), keypoints regions with a
``parentID``. Fields the region cannot say (an ``area`` or ``bbox`` other than the one
computed, ``iscrowd``, ``attributes``...) are kept in the region's ``coco`` field and written
back. Category ids are kept as the generated config's ``category`` per label where numbering 1..
would not give them back; the file's other fields (``info``, ``licenses``; each category's
``supercategory``, ``keypoints``, ``skeleton``...) are kept in the generated config too
(:func:`coco_config`) and written back. Annotation ids are not kept (renumbered 1..).

A VOC difficult object (``difficult``, kept on import) is written as a crowd region (``iscrowd`` 1),
as mmdetection's VOC-to-COCO converter writes it: COCO's evaluation ignores it as VOC's does.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from annover._lazy import lazy
from annover._runtime import no_gc
from annover.errors import InputError, shown
from annover.formats.detect import COCO_HINT, coco_problem
from annover.formats.folder import Folder
from annover.formats.images import (BOX_SLACK, CATEGORY_TAGS, Image, Obj, categories, category_ids, check_kinds,
                                    clip_boxes, clip_extent, images_of, keypoint_names, mask_box, move_flag, note_kept,
                                    pct, px, px_of, rbox_corners, side_problem)
from annover.formats.resolve import Picked
from annover.formats.text import fail, json_kind, read_json
from annover.formats.train import (TrainInput, image_config, json_attribute, labels_kept, refuse_control,
                                   refuse_not_xml, region_id, stem_key, unique_id, unlabeled, view_kept)
from annover.formats.yolo import SPLITS, or_train, split_of
from annover.model.config import LabelingConfig

if TYPE_CHECKING:
    import numpy as np
    import orjson

    import label_studio_sdk.converter.brush as brush
else:
    np = lazy("numpy")
    orjson = lazy("orjson")  # JSON parsed and written at C speed
    brush = lazy("label_studio_sdk.converter.brush")

__all__ = ["ID_TYPES", "OWN_LISTS", "REBUILT_FIELDS", "SPLIT_JSON", "bool01", "box_disagreements", "by_split",
           "category_list", "coco_config", "dataset_fields", "image_fields", "image_ids", "kept_categories",
           "keypoint_names_of", "kept_ids", "numbered", "own_keypoint_names", "read", "regions_of",
           "repeated_categories", "splits_of", "write"]

#: Annotation fields rebuilt from the region (the rest is kept in the region's ``coco`` field).
REBUILT_FIELDS = {"id", "image_id", "category_id", "bbox", "area", "iscrowd", "segmentation", "keypoints",
            "num_keypoints", "score"}


# ---------------------------------------------------------------------------
# masks


def mask_of_ls(rle: list[int], width: int, height: int) -> "np.ndarray":
    """A boolean (height, width) mask from Label Studio's brush RLE."""
    return brush.decode_rle(rle).reshape(height, width, 4)[:, :, 3] > 0


def ls_of_mask(mask: "np.ndarray") -> list[int]:
    """Label Studio's brush RLE of a boolean (height, width) mask."""
    rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
    rgba[mask] = 255
    return [int(x) for x in brush.encode_rle(rgba.ravel())]


def coco_counts(mask: "np.ndarray") -> list[int]:
    """COCO's uncompressed RLE counts (column-major runs, starting with background)."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat.size and flat[0] else runs


def _string_counts(s: str) -> list[int]:
    """Counts of COCO's compressed RLE string (pycocotools' ``rleFrString``)."""
    counts: list[int] = []
    p = 0
    while p < len(s):
        x = k = 0
        more = True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def _rle_counts(seg: dict, width: int, height: int, where: str) -> list[int]:
    """The run lengths of a COCO RLE ``segmentation`` (a list, or compressed as a string), checked
    to cover the image (``size`` [height, width]) exactly, as pycocotools decodes them."""
    raw, size = seg["counts"], seg.get("size")
    if size is not None and size != [height, width]:
        raise InputError(f"{where}: segmentation size is {size!r}, the image is [{height}, {width}] (height, width)",
                         "give the mask at the image's size")
    counts: Any = raw
    if isinstance(raw, str):
        try:
            counts = _string_counts(raw)
        except IndexError:
            counts = None
    if not isinstance(counts, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                               for n in counts):
        raise InputError(f"{where}: segmentation counts {str(raw)[:40]!r} are not COCO run lengths",
                         "give counts as a list of run lengths or pycocotools' compressed string")
    if sum(counts) != width * height:
        raise InputError(f"{where}: segmentation counts cover {sum(counts)} pixels, the image has "
                         f"{width * height} ({width}x{height})", "give the mask at the image's size")
    return counts


def mask_of_coco(counts: list[int], width: int, height: int) -> "np.ndarray":
    """A boolean (height, width) mask of COCO RLE run lengths (column-major, background first)."""
    flat = np.zeros(width * height, dtype=bool)
    pos, val = 0, False
    for n in counts:
        if val:
            flat[pos:pos + n] = True
        pos += n
        val = not val
    return flat.reshape((height, width), order="F")


# ---------------------------------------------------------------------------
# export


def _poly_area(pts: list[tuple[float, float]]) -> float:
    n = len(pts)
    return abs(sum(pts[i][0] * pts[(i + 1) % n][1] - pts[(i + 1) % n][0] * pts[i][1] for i in range(n))) / 2


def _annotation(o: Obj, img: Image, cats: dict[str, int], kp_of: dict[str, list[str]]) -> dict:
    w, h = img.size("COCO")
    kept = dict(o.extras.get("coco") or {})
    ann: dict[str, Any] = {"category_id": cats[o.label]}
    if o.kind == "box" and not o.rotation:  # segmentation [] as COCO's own boxes have (pycocotools reads it)
        ann["segmentation"] = []
        ann["bbox"] = [px_of(o.x, w), px_of(o.y, h), px_of(o.w, w), px_of(o.h, h)]
        ann["area"] = px(ann["bbox"][2] * ann["bbox"][3], 10)
    elif o.kind == "box":
        pts = rbox_corners(o, w, h)
        ann["segmentation"] = [[px(c) for p in pts for c in p]]
        ann["bbox"] = [px(c) for c in clip_extent(o.extent(w, h), w, h)[0]]  # its corners may lie outside
        ann["area"] = px(_poly_area(pts))
    elif o.kind == "polygon":
        kept.pop("more", None)
        segs = [[(px_of(a, w), px_of(b, h)) for a, b in part] for part in o.parts()]
        ann["segmentation"] = [[c for p in seg for c in p] for seg in segs]
        ann["bbox"] = _extent([p for seg in segs for p in seg])
        ann["area"] = px(sum(_poly_area(seg) for seg in segs), 10)
    elif o.kind == "mask":
        m = mask_of_ls(o.rle, w, h)
        ann["segmentation"] = {"counts": coco_counts(m), "size": [h, w]}
        ann["bbox"] = [int(v) for v in mask_box(m)]  # from the mask decoded here once
        ann["area"] = int(m.sum())
    else:  # keypoints without a parent region
        ann["segmentation"] = []
        ann["bbox"] = _extent([(px_of(k[1], w), px_of(k[2], h)) for k in o.keypoints if k[3] > 0])
        ann["area"] = px(ann["bbox"][2] * ann["bbox"][3], 10)
    ann["iscrowd"] = 0
    if o.label in kp_of:
        at = {k[0]: k for k in o.keypoints}
        flat: list[float | int] = []
        for name in kp_of[o.label]:
            k = at.get(name)
            flat += [px_of(k[1], w), px_of(k[2], h), k[3]] if k else [0, 0, 0]
        ann["keypoints"] = flat
        ann["num_keypoints"] = sum(1 for k in o.keypoints if k[3] > 0)
    ann.update(kept)
    if o.score is not None:
        ann["score"] = o.score
    return ann


def _extent(pts: list[tuple[float, float]]) -> list[float | int]:
    """[x, y, w, h] of the box around pixel points."""
    if not pts:
        return [0, 0, 0, 0]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return [min(xs), min(ys), px(max(xs) - min(xs), 10), px(max(ys) - min(ys), 10)]


def _image_ids(picked: Picked) -> dict[str, int]:
    """Image id per task key, of all the version's tasks (:func:`image_ids`)."""
    return image_ids(picked.all_tasks, [picked.task_data.get(k) or {} for k in picked.all_tasks])


def image_fields(data: dict | None) -> dict:
    """The task's COCO image fields (``data.coco_image``, as a COCO import keeps them): none where
    that is no object (a string, a number: a field of the user's own, not a COCO image)."""
    fields = (data or {}).get("coco_image")
    return fields if isinstance(fields, dict) else {}


def image_ids(keys: list[str], data: list[dict]) -> dict[str, int]:
    """Image id per task key of the tasks ``keys`` (their ``data``, in the tasks table's order): the
    tasks' COCO ids when every task has a distinct one, else 1.. in that order; from all the version's
    tasks, so the ground truth and the predictions of one version (which export different tasks)
    number the same image the same way (and ``export --images`` finds each image's task by its id)."""
    return numbered(keys, [image_fields(d).get("id") for d in data])


def numbered(keys: list[str], own: list) -> dict[str, int]:
    """The rule of :func:`image_ids`, given each task's own COCO id (``own``, None where it has none):
    those ids when every one is a distinct whole number, else 1.. in the order of ``keys``."""
    if all(type(v) is int for v in own) and len(set(own)) == len(own):
        return dict(zip(keys, own))
    return {k: i for i, k in enumerate(keys, 1)}


def write(picked: Picked, cfg: LabelingConfig | None, notes: list[str], predictions: bool = False) -> bytes:
    """The COCO JSON of ``picked`` (the results format with ``predictions``)."""
    images = images_of(picked, cfg, "COCO", notes)
    check_kinds(images, ("box", "rotated box", "polygon", "mask", "points"), "COCO", notes)
    clip_boxes(images, "COCO", notes)
    if difficult := move_flag(images, "voc", "difficult", "coco", "iscrowd"):  # the reverse of the VOC export's
        notes.append(f"{difficult} difficult object(s) (VOC <difficult>1</difficult>) were written with iscrowd 1: "
                     "COCO has no difficult flag, and its evaluation ignores crowd regions as VOC's ignores "
                     "difficult objects (mmdetection's VOC-to-COCO converter writes them so)")
    note_kept(images, "COCO", notes, own="coco")
    names = categories(cfg, images, notes)
    kp_names = keypoint_names(cfg, images)
    for img in images:  # keypoints without a parent region: a category of their own (the control's name)
        names += [o.label for o in img.objects if o.kind == "points" and o.label not in names]
    cats = category_ids(cfg, names)
    kept = kept_categories(cfg)
    kp_of = _keypoints_of(images, kept, kp_names)
    ids_of = _image_ids(picked)
    out_images, anns = [], []
    for img in images:
        iid = ids_of[img.task_key]
        extra = {k: v for k, v in image_fields(img.data).items()
                 if k not in ("id", "file_name", "width", "height")}
        out_images.append({"id": iid, "file_name": img.file_name, "width": img.width, "height": img.height,
                           **extra})
        for o in img.objects:
            a = _annotation(o, img, cats, kp_of)
            anns.append({"id": len(anns) + 1, "image_id": iid, **a})
    if predictions:
        doc: Any = [{k: v for k, v in a.items() if k not in ("id", "area", "iscrowd", "num_keypoints")
                     and (k != "segmentation" or v)} for a in anns]
        for a in doc:
            a.setdefault("score", 1.0)
    else:
        doc = {**dataset_fields(cfg), "images": out_images, "annotations": anns,
               "categories": category_list(cats, kept, kp_of)}
    return _json_dumps(doc)


def dataset_fields(cfg: LabelingConfig | None) -> dict:
    """The fields a COCO file starts with: ``info`` (annover's, where the import kept none) and the
    others a COCO import kept of the file (``licenses``...) in the config's ``<View coco=...>``."""
    own = {k: v for k, v in view_kept(cfg, "coco").items() if k not in OWN_LISTS}
    return {"info": {"description": "exported by annover"}, **own}


def kept_categories(cfg: LabelingConfig | None) -> dict[str, dict]:
    """Category -> the fields a COCO import kept of it (``supercategory``, ``keypoints``, ``skeleton``...)."""
    return labels_kept(cfg, "coco", CATEGORY_TAGS[:3])


def category_list(cats: dict[str, int], kept: dict[str, dict], kp_of: dict[str, list[str]]) -> list[dict]:
    """The ``categories`` of a COCO file, in id order (:func:`_category`)."""
    return [_category(n, i, kept.get(n, {}), kp_of.get(n)) for n, i in sorted(cats.items(), key=lambda kv: kv[1])]


def _keypoints_of(images: list[Image], kept: dict[str, dict], kp_names: list[str]) -> dict[str, list[str]]:
    """Category -> the keypoint names its annotations' ``keypoints`` hold, for the categories of
    keypoints: the category's own, as a COCO import kept them (``kept``: its fields), where its
    objects' keypoints are among them, else the config's keypoint names (``kp_names``)."""
    used: dict[str, set[str]] = {}
    for img in images:
        for o in img.objects:
            if o.keypoints:
                used.setdefault(o.label, set()).update(k[0] for k in o.keypoints)
    out = {}
    for label in sorted({*used, *(n for n, f in kept.items() if f.get("keypoints"))}):
        own = kept.get(label, {}).get("keypoints")
        mine = list(map(str, own)) if isinstance(own, list) and own else None
        out[label] = mine if mine and used.get(label, set()) <= set(mine) else kp_names
    return out


def _category(name: str, cid: int, kept: dict, kps: list[str] | None) -> dict:
    """A category record: its id and name, the fields a COCO import kept (``supercategory``,
    ``skeleton``...), and for a category of keypoints (``kps``) its ``keypoints`` and ``skeleton``,
    each edge [a, b] (1-based) naming the keypoints it named in the kept ``keypoints``."""
    c: dict[str, Any] = {"id": cid, "name": name, "supercategory": "",
                         **{k: v for k, v in kept.items() if k not in ("id", "name")}}
    if kps is None:
        return c
    own, edges = kept.get("keypoints"), kept.get("skeleton")
    c["keypoints"] = kps
    if not isinstance(edges, list) or own == kps:
        c["skeleton"] = edges if isinstance(edges, list) else []
        return c
    at = {n: i for i, n in enumerate(kps, 1)}
    names = list(map(str, own)) if isinstance(own, list) else []
    named = [[names[a - 1], names[b - 1]] for a, b in (e for e in edges if isinstance(e, list) and len(e) == 2)
             if type(a) is int and type(b) is int and 0 < a <= len(names) and 0 < b <= len(names)]
    c["skeleton"] = [[at[a], at[b]] for a, b in named if a in at and b in at]
    return c


# ---------------------------------------------------------------------------
# splits

#: a version whose tasks have splits, as COCO 2017 lays a dataset out
#: (``annotations/instances_train2017.json`` and ``train2017/``): the JSON of each split's images
SPLIT_JSON = "annotations/instances_{}.json"


def splits_of(keys: list[str], data: list[dict]) -> dict[int, str | None]:
    """Image id (:func:`image_ids`) -> its task's split (``data.split``: ``train``, ``val`` or
    ``test``, as YOLO takes it), None for a task without one."""
    ids = image_ids(keys, data)
    return {ids[k]: split_of(d or {}) for k, d in zip(keys, data)}


def by_split(doc: bytes, splits: dict[int, str | None], notes: list[str]) -> dict[str, bytes] | None:
    """The COCO JSON ``doc`` dealt into one JSON per split (:data:`SPLIT_JSON`), each the images of
    that split and their annotations, with the ids, categories and bytes ``doc`` gives them (so the
    ids are unique across the files, as COCO's own train and val files number theirs); images without
    a split beside others with one go to train (said in ``notes``). None where no image has a split."""
    with no_gc():  # a large file is millions of objects and no cycles
        try:
            d = orjson.loads(doc)
            if orjson.dumps(d) + b"\n" == doc:  # orjson writes it back byte for byte: each part as json.dumps does
                return _deal(d, splits, lambda part: orjson.dumps(part) + b"\n", notes)
        except orjson.JSONDecodeError:  # a NaN
            pass
        # orjson reads an integer beyond 64 bits as a float, writes 1e-05 as 1e-5: Python's json
        return _deal(json.loads(doc), splits, _json_dumps, notes)


def _json_dumps(part: Any) -> bytes:
    """A part of a COCO JSON as :func:`write` writes it."""
    return (json.dumps(part, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _deal(d: dict, splits: dict[int, str | None], dumps: Callable[[Any], bytes], notes: list[str]
          ) -> dict[str, bytes] | None:
    """:func:`by_split` of the parsed JSON ``d``, each split's written by ``dumps``."""
    of = {im["id"]: splits.get(im["id"]) for im in d["images"]}
    if not any(of.values()):
        return None
    of = dict(zip(of, or_train(list(of.values()), notes, SPLIT_JSON.format("train"))))
    images: dict[str, list] = {}
    anns: dict[str, list] = {}
    for im in d["images"]:
        images.setdefault(of[im["id"]], []).append(im)
    for a in d["annotations"]:
        anns.setdefault(of[a["image_id"]], []).append(a)
    files = {SPLIT_JSON.format(s): dumps({**d, "images": images[s], "annotations": anns.get(s, [])})
             for s in SPLITS if s in images}
    notes.append("COCO: one JSON per split (" + ", ".join(f"{s} {len(images[s])} image(s)" for s in SPLITS
                                                          if s in images) + f"), as {SPLIT_JSON.format('<split>')}")
    return files


# ---------------------------------------------------------------------------
# import


def _num(v: Any, where: str, field: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InputError(f"{where}: {field} is {v!r}, expected a number", "fix the COCO file")
    return float(v)


def bool01(v: Any) -> int:
    if isinstance(v, str):
        return 1 if v.strip().lower() in ("1", "true", "yes") else 0
    return 1 if v else 0


def regions_of(a: dict, w: int, h: int, label: str, kp_names: list[str], where: str,
               taken: set[str] | None = None) -> list[dict]:
    """The result items of annotation ``a``: its object, then its keypoints (:func:`_keypoints`;
    ``taken``: the parent ids given in its image so far)."""
    size = {"original_width": w, "original_height": h, "image_rotation": 0}
    kept = {k: v for k, v in a.items() if k not in REBUILT_FIELDS}
    seg = a.get("segmentation")
    bbox = a.get("bbox")
    if bbox is not None and (not isinstance(bbox, list) or len(bbox) != 4):
        raise InputError(f"{where}: bbox is {bbox!r}, expected [x, y, width, height]", "fix the COCO file")
    box = [_num(v, where, "bbox") for v in bbox] if bbox else None
    if box is not None and (box[2] < 0 or box[3] < 0):
        raise InputError(f"{where}: bbox is {bbox!r}, a negative width or height",
                         "give bbox as [x, y, width, height] with width and height ≥ 0")
    iscrowd = bool01(a.get("iscrowd", 0))
    if iscrowd:
        kept["iscrowd"] = 1
    item: dict[str, Any]
    seg = _segmentation(seg, where)
    if isinstance(seg, list) and seg and isinstance(seg[0], list):
        for j, p in enumerate(seg):
            if not isinstance(p, list) or len(p) < 6 or len(p) % 2:
                raise InputError(f"{where}: segmentation polygon {j} has {len(p) if isinstance(p, list) else p!r} "
                                 "values", "give each polygon as [x1, y1, x2, y2, x3, y3, ...]: three points or more")
        pixels = [[(_num(p[i], where, "segmentation"), _num(p[i + 1], where, "segmentation"))
                   for i in range(0, len(p) - 1, 2)] for p in seg]
        parts = [[(pct(x / w * 100), pct(y / h * 100)) for x, y in part] for part in pixels]
        if len(parts) > 1:
            kept["more"] = [[list(pt) for pt in part] for part in parts[1:]]
        xs = [p[0] for part in pixels for p in part]
        ys = [p[1] for part in pixels for p in part]
        ext = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        if box is not None and any(abs(a_ - b_) > 0.01 for a_, b_ in zip(box, ext)):
            kept["bbox"] = bbox
        computed = sum(_poly_area(part) for part in pixels)
        item = {"type": "polygonlabels", "value": {"points": [list(pt) for pt in parts[0]], "closed": True,
                                                   "polygonlabels": [label]}}
    elif isinstance(seg, dict) and "counts" in seg:
        m = mask_of_coco(_rle_counts(seg, w, h, where), w, h)
        computed = float(m.sum())
        if box is not None:
            kept["bbox"] = bbox
        item = {"type": "brushlabels", "value": {"format": "rle", "rle": ls_of_mask(m), "brushlabels": [label]}}
    elif box is not None:
        computed = box[2] * box[3]
        item = {"type": "rectanglelabels", "value": {
            "x": pct(box[0] / w * 100), "y": pct(box[1] / h * 100), "width": pct(box[2] / w * 100),
            "height": pct(box[3] / h * 100), "rotation": 0, "rectanglelabels": [label]}}
    else:  # an image-level label (datumaro's COCO "labels" task) has no place among regions
        raise InputError(f"{where}: neither bbox nor segmentation (an image-level label?)",
                         "give each annotation a bbox; labels of whole images read as a Label Studio JSON or a CSV "
                         "of (image, label) with a <Choices> config")
    if "area" in a and abs(_num(a["area"], where, "area") - computed) > 0.01:
        kept["area"] = a["area"]
    name = {"polygonlabels": "polygon", "brushlabels": "mask", "rectanglelabels": "label"}[item["type"]]
    item.update({"from_name": name, "to_name": "image", **size})
    if kept:
        item["coco"] = kept
    return [item, *_keypoints(a, item, size, kp_names, where, taken if taken is not None else set())]


def _segmentation(seg: Any, where: str) -> Any:
    """``segmentation`` as the reader takes it: polygons (a list of lists), RLE (an object with
    ``counts``), none (``[]`` or left out); one flat list of numbers is one polygon, as pycocotools
    reads it. Anything else (a text, a number, an object without counts) is an InputError naming it:
    it was read as no segmentation."""
    if seg is None or isinstance(seg, dict) and "counts" in seg:
        return seg
    if isinstance(seg, list) and seg and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seg):
        return [seg]
    if isinstance(seg, list) and all(isinstance(p, list) for p in seg):
        return seg
    raise InputError(f"{where}: segmentation is {json_kind(seg)}, expected polygons "
                     "[[x1, y1, x2, y2, ...], ...] or RLE {\"counts\": ..., \"size\": [h, w]}",
                     "fix the COCO file, or leave segmentation out of a box")


#: COCO's keypoint visibility flags: not labeled, labeled but not visible, visible
VISIBILITY = (0, 1, 2)


def _keypoints(a: dict, item: dict, size: dict, kp_names: list[str], where: str, taken: set[str]) -> list[dict]:
    """The visible keypoints of annotation ``a`` as regions whose parent is ``item``, given an id from
    its content; one an earlier object of its image has (``taken``: an equal box) gets ``.1``, ``.2``...,
    so that each object keeps its own keypoints."""
    kps = a.get("keypoints")
    if not isinstance(kps, list) or not kps:
        return []
    if not kp_names:
        raise InputError(f"{where}: keypoints has {len(kps)} values, and its category names no keypoints (COCO names "
                         "them per category, in its keypoints list)", f"give the category its {len(kps) // 3} keypoint "
                         "names, in the order of the annotation's (x, y, v) triples")
    if len(kps) != 3 * len(kp_names):
        raise InputError(f"{where}: keypoints has {len(kps)} values, its category names {len(kp_names)} keypoints",
                         "give one (x, y, v) per name in the category's keypoints")
    if not any(kps[2::3]):
        return []
    w, h = size["original_width"], size["original_height"]
    pid = item["id"] = unique_id(region_id(item), taken)
    out = []
    for i, name_ in enumerate(kp_names):
        x, y, v = kps[3 * i:3 * i + 3]
        if isinstance(v, bool) or v not in VISIBILITY:
            raise InputError(f"{where}: keypoint {name_!r} has visibility {str(v)[:20]!r}, not one of COCO's 0 (not "
                             "labeled), 1 (labeled, not visible), 2 (visible)", "fix its v in keypoints [x, y, v, ...]")
        if not v:
            continue
        kp: dict[str, Any] = {"type": "keypointlabels", "from_name": "keypoints", "to_name": "image",
                              "parentID": pid, **size,
                              "value": {"x": pct(_num(x, where, "keypoints") / w * 100),
                                        "y": pct(_num(y, where, "keypoints") / h * 100),
                                        "keypointlabels": [name_]}}
        if v != 2:
            kp["visibility"] = int(v)
        out.append(kp)
    return out


#: a COCO file's own lists, rebuilt on export; its other top-level fields (``info``, ``licenses``...) are kept
OWN_LISTS = ("images", "annotations", "categories")


def coco_config(doc: dict, cats: dict, names: list[str], kinds: set[str], kp_names: list[str],
                path: Path | str = "the COCO file") -> str:
    """The config generated for a COCO file: its categories (ids kept where 1.. would not give them
    back, :func:`kept_ids`), and what it says beyond its labels, kept for the export to write back:
    the file's top-level fields but its lists (``info``, ``licenses``) on the ``<View>``, each category's
    fields but its id and name (``supercategory``, ``keypoints``, ``skeleton``...) on its ``<Label>``s
    (:func:`annover.formats.train.json_attribute`); a field COCO's export writes by itself
    (``supercategory: ""``) is not kept."""
    view = {k: v for k, v in doc.items() if k not in OWN_LISTS}
    more = {}
    for c in cats.values():
        for j, n in enumerate(map(str, c.get("keypoints") or []) if "keypointlabels" in kinds else []):
            refuse_not_xml(n, path, f"category {c['name']!r}: keypoint {j}")  # a <Label> of the KeyPointLabels
        fields = {k: v for k, v in c.items() if k not in ("id", "name") and not (k == "supercategory" and v == "")}
        more[str(c["name"])] = json_attribute("coco", fields, f"{path}: category {c['name']!r}")
    return image_config(names, kinds, kp_names, kept_ids(cats), more, json_attribute("coco", view, str(path)))


def kept_ids(cats: dict) -> dict[str, int] | None:
    """name -> id of a COCO file's categories, to keep in the generated config (the labels'
    ``category``) where an export would number them otherwise (1.. in id order); None where it
    would number them alike, or an id is not a whole number (then they are numbered 1..)."""
    ids = {str(c["name"]): c["id"] for c in cats.values()}
    if not all(type(i) is int for i in ids.values()):
        return None
    if sorted(ids.values()) == list(range(1, len(ids) + 1)):
        return None
    return ids


def keypoint_names_of(cats: dict, path: Path) -> list[str]:
    """The keypoint names of every category, in category order (the generated config's
    KeyPointLabels); a category naming one keypoint twice is refused (one would replace the other)."""
    out: list[str] = []
    for c in cats.values():
        mine = list(map(str, c.get("keypoints") or []))
        twice = next((n for i, n in enumerate(mine) if n in mine[:i]), None)
        if twice is not None:
            raise fail(path, f"category {c['name']!r} names the keypoint {twice!r} twice",
                       "give each of a category's keypoints its own name")
        out += [n for n in mine if n not in out]
    return out


def own_keypoint_names(cat: dict) -> list[str]:
    """The names of category ``cat``'s keypoints: its own ``keypoints`` list, none where it has none. COCO names
    keypoints per category (an annotation's (x, y, v) triples are its category's, in order); another category's
    names are not borrowed (they named the dog's points with the person's): its keypoints are refused instead."""
    return list(map(str, cat.get("keypoints") or []))


#: what a COCO id may be (an image's, a category's): a number, or a string as some tools write it
ID_TYPES = (int, str)


def _check_record(path: Path, where: str, rec: dict, text: tuple[str, ...]) -> None:
    """Refuse a record whose ``id`` is no number or string (a list cannot key an image), or whose
    ``text`` fields are not strings (a list was kept as the name "['a.jpg']")."""
    if type(rec["id"]) not in ID_TYPES:
        raise fail(path, f"{where}: id is {shown(rec['id'])}", "give each id as a number")
    for k in text:
        if type(rec[k]) not in (str, int):
            raise fail(path, f"{where}: {k} is {shown(rec[k])}", f"give {k} as a string")


def _check_image(path: Path, where: str, im: Any, images: dict[Any, dict]) -> None:
    """InputError naming image record ``where`` when it has no id or file_name, a file_name that is
    no string or holds a control character, or an id an earlier image has (``images``)."""
    if not isinstance(im, dict) or "id" not in im or not im.get("file_name"):
        raise fail(path, f"{where} has no id or file_name", "give each image an id and a file_name")
    _check_record(path, where, im, ())
    if type(im["file_name"]) is not str:
        raise fail(path, f"{where}: file_name is {shown(im['file_name'])}", "give file_name as a string")
    refuse_control(im["file_name"], path, f"{where} (id {im['id']!r}): file_name")
    if im["id"] in images:
        first = images[im["id"]]
        raise fail(path, f"{where} (id {im['id']!r}, file_name {shown(im['file_name'])}) and {first['where']} "
                   f"(file_name {shown(first['im']['file_name'])}) share an id: which image is an annotation's?",
                   "give each image its own id")


def repeated_categories(doc: dict, path: Path) -> tuple[dict, list[str]]:
    """``doc`` without the categories that repeat an earlier record as it is (the same id and fields:
    pycocotools indexes categories by id, so nothing is lost), and a warning naming the first; records
    that share an id and differ are kept, for the reader to refuse."""
    first: dict[Any, tuple[int, dict]] = {}
    kept, repeats = [], []
    for i, c in enumerate(doc.get("categories") or []):
        if isinstance(c, dict) and type(c.get("id")) in ID_TYPES:
            j, prior = first.setdefault(c["id"], (i, c))
            if j != i and prior == c:
                repeats.append((j, i, c))
                continue
        kept.append(c)
    if not repeats:
        return doc, []
    j, i, c = repeats[0]
    more = f", and {len(repeats) - 1} more repeated" if len(repeats) > 1 else ""
    return {**doc, "categories": kept}, [
        f"{path}: categories {j} and {i} are the same record (id {c['id']!r}, name {str(c.get('name'))!r}){more}; "
        "annover reads it once, as pycocotools does — remove the repeat"]


def shared_ids(path: Path, anns: list) -> list[str]:
    """The warning naming annotations that share an id (the first two, their images), else none.
    pycocotools indexes annotations by id (``COCO.anns``): the last record of an id replaces the
    others, and ``loadAnns`` gives it for each, on another image maybe. annover keeps every record
    (it keys regions by their image and content, not the id), as supervision's reader does."""
    ids = [a.get("id") for a in anns]
    with contextlib.suppress(TypeError):  # an id of a list: looked at one by one below
        if len(set(ids)) == len(ids):
            return []
    first: dict[Any, int] = {}
    pairs: dict[Any, tuple[int, int]] = {}
    for i, x in enumerate(ids):
        if type(x) not in (int, str, float):
            continue
        if x in first:
            pairs.setdefault(x, (first[x], i))
        else:
            first[x] = i
    if not pairs:  # ids left out (None), or lists: no id pycocotools could index
        return []
    x, (i, j) = next(iter(pairs.items()))
    more = f", and {len(pairs) - 1} more ids are shared" if len(pairs) > 1 else ""
    return [f"{path}: annotations {i} and {j} share id {x!r} (image_id {anns[i].get('image_id')!r} and "
            f"{anns[j].get('image_id')!r}){more}; annover keeps both, pycocotools (COCO.anns, loadAnns) only the "
            "last record of an id — give each annotation its own id, or train from annover's COCO export, "
            "which numbers them anew"]


def box_disagreements(path: Path, anns: list) -> list[str]:
    """The warning naming the first annotation (by id) whose ``bbox`` is not the box around its polygons by more
    than a pixel (a COCO Annotator file's, say), and how many are so, else none: COCO's tools take the bbox for
    detection (pycocotools' bbox evaluation, Ultralytics' converter) and the polygons for segmentation, so
    annover's exports do too (Pascal VOC and YOLO detect write the bbox, kept on import)."""
    found = []
    for i, a in enumerate(anns):
        seg, box = a.get("segmentation"), a.get("bbox")
        if not (isinstance(seg, list) and seg and all(isinstance(p, list) and p for p in seg) and isinstance(box, list)
                and len(box) == 4):
            continue
        xs = [x for p in seg for x in p[0::2]]
        ys = [y for p in seg for y in p[1::2]]
        with contextlib.suppress(TypeError, ValueError):  # numbers the reader has taken: else it said so
            ext = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
            if any(abs(b - e) > BOX_SLACK for b, e in zip(box, ext)):
                found.append((i, ext))
    if not found:
        return []
    i, ext = found[0]
    a = anns[i]
    more = f"; {len(found) - 1} more annotation(s) are so" if len(found) > 1 else ""
    return [f"{path}: annotation {i} (id {a.get('id')!r}): bbox {shown(a['bbox'])} is not the box around its "
            f"segmentation, [{', '.join(str(px(v)) for v in ext)}]{more}; detection exports (Pascal VOC, YOLO "
            "detect) write the bbox, as COCO's tools take it, segmentation exports the polygon — fix the bbox or "
            "the polygon if one is wrong"]


def _tasks(slots: list[dict], path: Path) -> list[dict]:
    """One task per image; image records of one file name are one image answered several times (Label Studio's
    COCO export writes an image record per annotation, alike but for the id), each an answer of its task. Records
    of one file name that differ otherwise (a size) are refused naming both: they cannot be one image."""
    tasks: list[dict] = []
    by_name: dict[str, tuple[dict, dict]] = {}
    for slot in slots:
        im = slot["im"]
        if im["file_name"] in by_name:
            task, first = by_name[im["file_name"]]
            _same_image(path, first, slot)
            task["annotations"].append({"result": slot["result"]})
            continue
        rest = {k: v for k, v in im.items() if k != "file_name"}
        task = {"id": stem_key(str(im["file_name"])), "data": {"image": str(im["file_name"]), "coco_image": rest},
                "annotations": [{"result": slot["result"]}]}
        by_name[im["file_name"]] = task, slot
        tasks.append(task)
    return tasks


def _same_image(path: Path, first: dict, slot: dict) -> None:
    """InputError naming image record ``slot`` when it names ``first``'s file with another size or field."""
    a, b = first["im"], slot["im"]
    field = next((k for k in ("width", "height", *sorted(a.keys() | b.keys())) if k != "id" and a.get(k) != b.get(k)),
                 None)
    if field is not None:
        raise fail(path, f"{slot['where']} (id {b['id']!r}): file_name {shown(b['file_name'])} is that of "
                   f"{first['where']} (id {a['id']!r}) too, with {field} {shown(b.get(field))}, "
                   f"not {shown(a.get(field))}",
                   "give each image one record (or records alike but for the id, as Label Studio's export writes "
                   "them), and two images two file names")


#: COCO's annotation files of other tasks than instances and keypoints: a field of their annotations -> what
#: the file is and how to give its labels (they hold no region: read, they failed on a missing category)
OTHER_TASKS = {
    "segments_info": ("a COCO panoptic file (its segments are in PNG maps, segments_info names them)",
                      "convert it to an instances file (panopticapi's panoptic2detection_coco_format) and give that"),
    "caption": ("a COCO captions file (its annotations are texts, not regions)",
                "give the captions as a Label Studio JSON of tasks with a <TextArea> answer; annover's COCO reader "
                "takes instances and keypoints (bbox, segmentation, keypoints)"),
}


def _refuse_other_task(a: dict, where: str) -> None:
    """Refuse an annotation of a COCO panoptic or captions file (:data:`OTHER_TASKS`) as such."""
    if "bbox" in a or "segmentation" in a:
        return
    field_ = next((f for f in OTHER_TASKS if f in a), None)
    if field_ is not None:
        what, hint = OTHER_TASKS[field_]
        raise InputError(f"{where}: has {field_} and no bbox or segmentation: {what}", hint)


def _categories(doc: dict, path: Path) -> dict[Any, dict]:
    """id -> record of the file's categories; InputError naming both records where two share an id
    (which label is an annotation's?) or a name (labels are kept by name: which id is the label's?)."""
    cats: dict[Any, dict] = {}
    at: dict[Any, int] = {}  # id and name -> the category's position
    for i, c in enumerate(doc.get("categories") or []):
        if not isinstance(c, dict) or "id" not in c or "name" not in c:
            raise fail(path, f"category {i} has no id or name", "give each category an id and a name")
        _check_record(path, f"category {i}", c, ("name",))
        refuse_not_xml(str(c["name"]), path, f"category {i} (id {c['id']!r}): name")
        name = str(c["name"])
        if ("id", c["id"]) in at or ("name", name) in at:
            j = at[("id", c["id"])] if ("id", c["id"]) in at else at[("name", name)]
            other = doc["categories"][j]
            raise fail(path, f"category {i} (id {c['id']!r}, name {name!r}) and category {j} (id {other['id']!r}, "
                       f"name {str(other['name'])!r}) share {'an id' if other['id'] == c['id'] else 'a name'}",
                       "give each category its own id and name (labels are kept by name)")
        cats[c["id"]], at[("id", c["id"])], at[("name", name)] = c, i, i
    return cats


def read(path: Path) -> TrainInput:
    """Label Studio tasks and a config for the COCO file ``path``; InputError naming the record."""
    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) or \
            not all(isinstance(doc.get(k, []), list) for k in ("annotations", "categories")):
        raise fail(path, f"not a COCO file: its {coco_problem(doc)}", COCO_HINT)
    doc, repeats = repeated_categories(doc, path)
    cats = _categories(doc, path)
    images: dict[Any, dict] = {}
    for i, im in enumerate(doc["images"]):
        _check_image(path, f"image {i}", im, images)
        images[im["id"]] = {"im": im, "result": [], "where": f"image {i}", "taken": set()}
    names = [str(c["name"]) for _, c in sorted(cats.items(), key=lambda kv: str(kv[0]).zfill(12))]
    ids = kept_ids(cats)
    kp_names = keypoint_names_of(cats, path)
    kinds: set[str] = set()
    for i, a in enumerate(doc.get("annotations") or []):
        where = f"{path}: annotation {i}" + (f" (id {a['id']})" if isinstance(a, dict) and "id" in a else "")
        if not isinstance(a, dict):
            raise InputError(f"{where} is not an object", "fix the COCO file")
        _refuse_other_task(a, where)
        slot = images.get(a.get("image_id")) if type(a.get("image_id")) in ID_TYPES else None
        if slot is None:
            raise InputError(f"{where}: image_id {shown(a.get('image_id'))} names no image",
                             "add the image to 'images' or remove the annotation")
        cat = cats.get(a.get("category_id")) if type(a.get("category_id")) in ID_TYPES else None
        if cat is None:
            raise InputError(f"{where}: category_id {shown(a.get('category_id'))} names no category",
                             "add the category to 'categories'")
        im = slot["im"]
        for f in ("width", "height"):  # needed where an annotation is converted
            why = "not a whole number" if type(im.get(f)) is not int else side_problem(im[f])
            if why:
                raise fail(path, f"{slot['where']} (id {im['id']}): {f} is {shown(im.get(f))}: {why}",
                           "give the image's width and height in pixels")
        regions = regions_of(a, im["width"], im["height"], str(cat["name"]), own_keypoint_names(cat), where,
                             slot["taken"])
        kinds.update(r["type"] for r in regions)
        slot["result"] += regions
    tasks = _tasks(list(images.values()), path)
    return TrainInput(tasks, coco_config(doc, cats, names, kinds, kp_names, path), category_ids=ids,
                      warnings=[*repeats, *unlabeled(tasks, path, "annotation"),
                                *shared_ids(path, doc.get("annotations") or []),
                                *box_disagreements(path, doc.get("annotations") or [])])
