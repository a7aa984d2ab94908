"""YOLO (Ultralytics layout: ``labels/*.txt``, ``data.yaml``, ``classes.txt``) to and from annover.

One line per object, class id first, coordinates normalised to the image (0..1):

- detect: ``c cx cy w h``;
- segment: ``c x1 y1 x2 y2 ...`` (a polygon; a brush mask has no place here);
- pose: ``c cx cy w h`` then ``x y v`` per keypoint (``kpt_shape: [K, 3]``; ``x y`` where a ``[K, 2]``
  folder was imported, as the config keeps it);
- OBB (``--format yolo-obb``): ``c x1 y1 x2 y2 x3 y3 x4 y4``, the four corners.

``--format yolo`` writes pose when the objects have keypoints, else segment when there are
polygons (boxes then as their 4-corner polygon), else detect; a rotated box is written as
the box around it there (said in the notes): choose ``yolo-obb`` to keep the rotation.
Class ids are the config's object labels in document order, from 0. Numbers are written
with up to 8 decimals, enough for annover's 1e-7 of the image size, so a folder read and
written again gives the same numbers up to that (full-precision floats come back rounded
to it). OBB needs the image sizes (a rotation is in pixels).

A pose ``data.yaml`` has ``flip_idx`` (Ultralytics' left-right flip of the keypoints) when the
keypoint names pair up by side: ``left_eye``/``right_eye``, ``L_eye``/``R_eye``, ``eye_left``/
``eye_right``, ``LEye``/``REye`` (case aside), the names without a side (``nose``) mapping to
themselves. Where no name has a side, or a name with one has no partner, it has none (said in
the notes): Ultralytics then trains without left-right flips, which is safe, where a wrong
``flip_idx`` would mirror an image and leave its left wrist labeled left. A folder's own ``flip_idx`` is kept on
import as the keypoint labels' ``flip`` (``<Label value="left_eye" flip="right_eye"/>``), which the
export writes back before pairing names. Crowd regions (COCO
``iscrowd``, kept on import) are left out, as Ultralytics' own COCO converter leaves them out:
YOLO has no crowd flag, and an ordinary object would teach the crowd's outline as one object. So are
difficult objects (VOC ``difficult``, kept on import), as Ultralytics' VOC conversion leaves them out.

Export also writes ``sizes.json`` (image path -> width, height) when the sizes are known, so
the folder converts to pixels again without the images. Import reads a folder: ``data.yaml`` (``names`` as a list or a map) or ``classes.txt``, the
label files under ``labels/`` (or the folder itself), and image sizes from ``sizes.json``
(``{"images/train/1.jpg": {"width": .., "height": ..}}``) or from the images' headers when
they lie in ``images/`` beside ``labels/``; without sizes the values are kept in percent
with no ``original_width``. Task key: the label file's stem (= the image file's stem).
Lines are read as Ultralytics' label check reads them: a class id may be a float of a whole number
(``1.0``), values may lie 0.01 outside 0..1, and a line repeating one of its file is dropped (warned).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from xml.sax.saxutils import quoteattr

from annover._lazy import lazy
from annover.errors import InputError, UsageError, shown
from annover.formats.images_size import image_size
from annover.formats.images import (EDGE_SLACK, Image, Obj, categories, check_kinds, clip_boxes, clip_extent,
                                    images_of, keypoint_names, note_kept, pct, rbox_corners, rbox_from_corners,
                                    rectangle_of, side_problem, unique_names)
from annover.formats.resolve import Picked
from annover.formats.text import fail, json_problem, utf8_text
from annover.formats.folder import Folder
from annover.formats.train import (TrainInput, image_config, json_attribute, labels_tag, refuse_control, refuse_not_xml,
                                   region_id, stem_key, unique_id, unlabeled, view_kept)
from annover.model.config import LabelingConfig

if TYPE_CHECKING:
    import yaml
else:
    yaml = lazy("yaml")

__all__ = ["OWN_KEYS", "data_yaml", "drop_crowd", "flip_idx", "kept_yaml", "kpt_dim", "label_path", "read",
           "split_layout", "write"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
#: extensions of the images and videos Ultralytics reads (its IMG_FORMATS and VID_FORMATS) and ours: the
#: extension a label file's name drops; another ``.xxx`` is part of the stem (``frame.001.txt``)
MEDIA_SUFFIXES = frozenset({"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic", "gif",
                            "asf", "avi", "m4v", "mkv", "mov", "mp4", "mpeg", "mpg", "ts", "wmv", "webm"})
#: data.yaml's keys for the splits, in the order they are read and written (Ultralytics')
SPLITS = ("train", "val", "test")
#: the other names a split goes by (a ``validation`` key, Roboflow's ``valid/`` folder) -> its key
SPLIT_ALIASES = {"valid": "val", "validation": "val"}


def num(v: float) -> str:
    """A normalised coordinate as written: up to 8 decimals, no trailing zeros."""
    s = f"{v:.8f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _relative(file_name: str) -> str:
    """An image path with ``/`` between its parts, without empty and ``.`` parts (``./images//a.jpg`` ->
    ``images/a.jpg``): the path a file system makes of it, so sizes.json names the file written."""
    return "/".join(part for part in file_name.replace("\\", "/").split("/") if part not in ("", "."))


def _images_at(parts: list[str]) -> int | None:
    """The index of the last ``images`` folder among a path's parts (the file name is no folder), else None."""
    return next((i for i in range(len(parts) - 2, -1, -1) if parts[i] == "images"), None)


def _without_suffix(p: str) -> str:
    """``p`` without its file's extension when that is one of an image or video Ultralytics reads
    (``a/1.jpg`` -> ``a/1``); a name without one stays whole (``frame.001``: a stem with dots)."""
    stem, dot, ext = p.rpartition(".")
    return stem if dot and "/" not in ext and ext.lower() in MEDIA_SUFFIXES else p


def label_path(file_name: str) -> str:
    """Where an image's label file goes, by Ultralytics' rule: the last ``images`` folder of its
    path becomes ``labels`` (``images/a/1.jpg`` -> ``labels/a/1.txt``, ``valid/images/1.jpg`` ->
    ``valid/labels/1.txt``); a path without one goes under ``labels/`` (``1.jpg`` -> ``labels/1.txt``)."""
    parts = _relative(file_name).split("/")
    i = _images_at(parts)
    if i is None:
        parts.insert(0, "labels")
    else:
        parts[i] = "labels"
    return _without_suffix("/".join(parts)) + ".txt"


def _beside(image: str) -> str:
    """The label file Ultralytics reads for an image of a folder: :func:`label_path` where the path
    has an ``images`` folder, else the ``.txt`` beside the image."""
    p = _relative(image)
    return label_path(p) if _images_at(p.split("/")) is not None else _without_suffix(p) + ".txt"


# ---------------------------------------------------------------------------
# export


def split_of(data: dict) -> str | None:
    """The split a task's data names (``split``: ``train``, ``val`` or ``test``; ``valid`` and
    ``validation`` are ``val``), None without one."""
    s = data.get("split")
    s = SPLIT_ALIASES.get(s, s) if isinstance(s, str) else None
    return s if s in SPLITS else None


def or_train(given: "list[str | None]", notes: list[str], where: str) -> list[str]:
    """The splits ``given`` (:func:`split_of` of images of which one has a split at least), an image of
    none in train: said in ``notes``, with ``where`` they are (COCO's and VOC's train file)."""
    loose = sum(s is None for s in given)
    if loose:
        notes.append(f"{loose} image(s) have no split (task data 'split') beside others that have one: "
                     f"they are in {where}")
    return [s or "train" for s in given]


def image_path(file_name: str, split: str | None = None) -> str:
    """Where an image lies in the folder written: as given where its path has an ``images`` folder
    (``images/train/1.jpg``, ``valid/images/1.jpg``), else under ``images/<split>/`` (``images/``
    without a split), as Ultralytics lays a dataset out."""
    p = _relative(file_name)
    if _images_at(p.split("/")) is not None:
        return p
    return f"images/{split}/{p}" if split else "images/" + p


def _common(folders: list[list[str]]) -> str:
    """The deepest folder holding all ``folders`` (as lists of parts); ``.`` for the folder itself."""
    out = folders[0]
    for f in folders[1:]:
        n = next((i for i, (a, b) in enumerate(zip(out, f)) if a != b), min(len(out), len(f)))
        out = out[:n]
    return "/".join(out) or "."


def split_folders(paths: list[tuple[str, str | None]], notes: list[str]) -> dict[str, list[str]]:
    """data.yaml's ``train`` / ``val`` / ``test``: per split, the folder its images (``paths``: image
    path, split) lie in. Without any split known, ``train`` and ``val`` both name the folder of all
    images (``images``), as before splits were kept (said in ``notes``: validation would score training
    images); images without a split beside others with one are in ``train`` (said in ``notes``)."""
    by: dict[str | None, list[list[str]]] = {}
    for p, s in paths:
        by.setdefault(s, []).append(p.split("/")[:-1])
    loose = by.pop(None, [])
    if not by:
        d = _common(loose or [["images"]])
        notes.append(f"no task has a split (data.split): data.yaml's train and val both name {d}, the same images, "
                     "so validation scores images trained on (give some tasks split 'val')")
        return {"train": [d], "val": [d]}
    out = {s: [_common(by[s])] for s in SPLITS if s in by}
    if loose:
        notes.append(f"{len(loose)} image(s) have no split (task data 'split') beside others that have one: "
                     "data.yaml's train names their folder too")
        out.setdefault("train", [])
        out["train"] += [d for d in [_common(loose)] if d not in out["train"]]
    if "val" not in out:
        notes.append("no image is in the val split: data.yaml has no val, which Ultralytics' training needs "
                     "(give some tasks split 'val')")
    return out


def _overlap(a: str, b: str) -> bool:
    """Whether folder ``a`` holds ``b``, or ``b`` holds ``a`` (``.``: the dataset's own folder)."""
    return a == b or "." in (a, b) or a.startswith(b + "/") or b.startswith(a + "/")


def split_lists(paths: list[str], splits: list[str | None], folders: dict[str, list[str]]) -> dict[str, bytes]:
    """Per split, the list file of its images (``./images/a.jpg`` a line: Ultralytics reads ``./`` from
    the list's folder) where every image has a split and two splits' folders overlap (images of
    train and val in one ``images/`` folder, as an Ultralytics autosplit keeps them): a folder there
    would give each split the other's images too. ``{}`` otherwise (each split its folder)."""
    if None in splits or not any(_overlap(a, b) for s, ds in folders.items() for t, es in folders.items()
                                 if s < t for a in ds for b in es):
        return {}
    out: dict[str, list[str]] = {}
    for p, s in zip(paths, splits):
        out.setdefault(s, []).append(f"./{p}\n")  # type: ignore[arg-type]
    return {s: "".join(out[s]).encode("utf-8") for s in SPLITS if s in out}


def split_layout(paths: list[str], splits: list[str | None], notes: list[str]
                 ) -> tuple[dict[str, list[str]], dict[str, bytes]]:
    """data.yaml's ``train`` / ``val`` / ``test`` (:func:`split_folders`) and the list files they name
    instead where the splits share a folder (:func:`split_lists`)."""
    folders = split_folders(list(zip(paths, splits)), notes)
    lists = split_lists(paths, splits, folders)
    if not lists:
        return folders, {}
    return {k: [f"{k}.txt"] for k in lists}, {f"{k}.txt": v for k, v in lists.items()}


#: what a YAML double-quoted string must escape beyond JSON's escapes: the characters YAML does not allow
#: in a file (DEL, C1 controls, lone surrogates, U+FFFE/FFFF) and those it reads as line breaks and folds
#: into a space (NEL, U+2028, U+2029), and a byte order mark, which a reader may drop
_YAML_ESCAPE = re.compile("[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")


def yaml_str(s: str) -> str:
    """``s`` as a YAML double-quoted string that a YAML reader (PyYAML, libyaml) gives back as ``s``:
    JSON's quoting (a YAML double-quoted string is a JSON string) with what YAML refuses or folds as
    ``\\uXXXX``, so a label with a DEL, a control character, a ``:``, ``#`` or quote, or named ``yes``,
    ``null`` or ``1e3`` is read as the same string."""
    return yaml_json(s)


def yaml_json(v: Any) -> str:
    """A JSON value as YAML flow text a YAML reader gives back as ``v`` (its strings as :func:`yaml_str`)."""
    return _YAML_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(v, ensure_ascii=False))


def _yaml_path(p: str) -> str:
    return p if all(c.isalnum() or c in "_-./" for c in p) and p[:1].isalnum() else yaml_str(p)


def _task(images: list[Image], obb: bool) -> str:
    kinds = {o.kind for img in images for o in img.objects}
    if obb:
        return "obb"
    if any(o.keypoints for img in images for o in img.objects):
        return "pose"
    if "polygon" in kinds:
        return "segment"
    return "detect"


def _line(o: Obj, img: Image, cls: int, task: str, kp_names: list[str], notes: dict[str, int], dim: int = 3) -> str:
    if task == "obb":
        w, h = img.size("YOLO OBB")
        pts = rbox_corners(o, w, h)
        return " ".join([str(cls), *(num(c) for x, y in pts for c in (x / w, y / h))])
    if task == "segment" and o.kind == "polygon":
        parts = o.parts()
        if len(parts) > 1:
            notes["parts"] = notes.get("parts", 0) + 1
        return " ".join([str(cls), *(num(c / 100) for p in bridged(parts) for c in p)])
    if o.kind == "polygon":  # pose (a box a line): the box around it
        notes["boxed"] = notes.get("boxed", 0) + 1
    if o.kind == "box" and o.rotation:
        notes["rotated"] = notes.get("rotated", 0) + 1
        w, h = img.size("a rotated box in YOLO")
        bx, by, bw, bh = o.extent(w, h)
        bx, by, bw, bh = bx / w * 100, by / h * 100, bw / w * 100, bh / h * 100
    elif img.width and img.height and (o.extras.get("coco") or {}).get("bbox") is not None:
        bx, by, bw, bh = o.detection_box(img.width, img.height)  # a COCO bbox maybe: in pixels
        bx, by, bw, bh = bx / img.width * 100, by / img.height * 100, bw / img.width * 100, bh / img.height * 100
    else:
        bx, by, bw, bh = o.extent()
    (bx, by, bw, bh), clipped = clip_extent((bx, by, bw, bh), 100, 100)
    notes["clipped"] = notes.get("clipped", 0) + clipped
    if task == "segment":
        pts = [(bx, by), (bx + bw, by), (bx + bw, by + bh), (bx, by + bh)]
        return " ".join([str(cls), *(num(c / 100) for p in pts for c in p)])
    out = [str(cls), num((bx + bw / 2) / 100), num((by + bh / 2) / 100), num(bw / 100), num(bh / 100)]
    if task == "pose":
        at = {k[0]: k for k in o.keypoints}
        for name in kp_names:
            k = at.get(name)
            if k and not (-EDGE_SLACK <= k[1] <= 100 + EDGE_SLACK and -EDGE_SLACK <= k[2] <= 100 + EDGE_SLACK):
                notes["kp_outside"] = notes.get("kp_outside", 0) + 1  # Ultralytics drops an image with one
                k = None
            out += ([num(k[1] / 100), num(k[2] / 100), str(k[3])] if k else ["0", "0", "0"])[:dim]
    return " ".join(out)


def bridged(parts: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """One polygon of a polygon's ``parts`` (YOLO segment has one a line): each further part
    joined to the first at their two closest vertices, by a seam there and back (no area)."""
    out = list(parts[0])
    for part in parts[1:]:
        _, i, j = min(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2, i, j)
                      for i, a in enumerate(out) for j, b in enumerate(part))
        loop = part[j:] + part[:j] + [part[j]]  # around the part, back to where it joined
        out[i + 1:i + 1] = [*loop, out[i]]
    return out


#: a keypoint name's words: ``left_eye`` -> left, eye; ``leftEye`` -> left, Eye; ``LShoulder`` -> L, Shoulder
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
#: the words naming a side (compared lower-cased)
_SIDES = {"left": "L", "l": "L", "right": "R", "r": "R"}


def flip_idx(kp_names: list[str]) -> tuple[list[int] | None, list[str]]:
    """Ultralytics' ``flip_idx`` of the keypoints ``kp_names`` (the index each keypoint becomes when
    the image is mirrored): names that differ only in a side word (left/right, L/R; any case, any
    separator) swap, names without a side stay. None where no pair is found or a name with a side
    has no one partner; then also those names (for the note)."""
    by_key: dict[tuple[str, ...], dict[str, list[int]]] = {}
    lone: list[str] = []
    for i, name in enumerate(kp_names):
        words = _WORDS.findall(name)
        at = [j for j, w in enumerate(words) if w.lower() in _SIDES]
        if len(at) > 1:
            lone.append(name)  # two side words (``L_hand_R``): which one is the keypoint's is not clear
        elif at:
            key = tuple("*" if j == at[0] else w.lower() for j, w in enumerate(words))
            by_key.setdefault(key, {}).setdefault(_SIDES[words[at[0]].lower()], []).append(i)
    out = list(range(len(kp_names)))
    for sides in by_key.values():
        left, right = sides.get("L", []), sides.get("R", [])
        if len(left) == 1 and len(right) == 1:
            out[left[0]], out[right[0]] = right[0], left[0]
        else:
            lone += [kp_names[i] for i in left + right]
    if lone or out == list(range(len(kp_names))):
        return None, lone
    return out, []


def _flip_of(cfg: LabelingConfig | None, kp_names: list[str]) -> tuple[list[int] | None, list[str]]:
    """``flip_idx`` of the keypoints ``kp_names``: as the config's keypoint labels give it (``flip="NAME"``,
    kept from a YOLO import's data.yaml; a keypoint without one is its own mirror image), else by their
    names (:func:`flip_idx`)."""
    given = cfg.label_attributes("flip", ("KeyPointLabels",)) if cfg is not None else {}
    if not given:
        return flip_idx(kp_names)
    at = {n: i for i, n in enumerate(kp_names)}
    for n, other in given.items():
        if n in at and other not in at:
            raise UsageError(f"the labeling config gives the keypoint {n!r} the flip {other!r}, which is no keypoint "
                             "label", 'write flip="NAME" with the name of a keypoint label, or remove it')
    return [at[given.get(n, n)] for n in kp_names], []


def _flip_note(kp_names: list[str], lone: list[str]) -> str:
    shown_names = ", ".join(repr(n) for n in (lone or kp_names)[:4]) + (", ..." if len(lone or kp_names) > 4 else "")
    why = (f"the keypoint(s) {shown_names} name a side but no single keypoint names the other" if lone
           else f"the keypoint names ({shown_names}) pair up no left and right")
    own = "" if lone else f" ({list(range(len(kp_names)))} if no keypoint has a side)"
    return (f"data.yaml has no flip_idx: {why}, and Ultralytics then trains without left-right flips; "
            f"name the keypoints left_x / right_x, or add flip_idx to data.yaml yourself{own}")


def drop_crowd(images: list[Image]) -> tuple[int, int, int]:
    """Leave out the crowd regions (COCO ``iscrowd``) and the difficult objects (VOC ``difficult``),
    kept on import: how many of each, and how many images they leave with no object."""
    crowd = difficult = emptied = 0
    for img in images:
        keep = []
        for o in img.objects:
            if (o.extras.get("coco") or {}).get("iscrowd"):
                crowd += 1
            elif (o.extras.get("voc") or {}).get("difficult"):
                difficult += 1
            else:
                keep.append(o)
        if len(keep) < len(img.objects):
            emptied += not keep
            img.objects = keep
    return crowd, difficult, emptied


def data_yaml(names: list[str], task: str, kp_names: list[str], splits: dict[str, list[str]],
              flip: list[int] | None = None, kept: dict | None = None) -> str:
    """``data.yaml``: the splits' image folders (relative to the file's folder, which Ultralytics
    takes for the dataset's root when there is no ``path``); ``task`` says which lines these are
    (Ultralytics' task names), so that a folder whose lines all have 8 numbers (oriented boxes, or
    4-point polygons) is read back as written. ``kept``: what a YOLO import kept of its data.yaml
    (:func:`kept_yaml`), written back: its other keys, and ``kpt_shape: [K, 2]``."""
    out = "# written by annover\n"
    for s, dirs in splits.items():
        val = _yaml_path(dirs[0]) if len(dirs) == 1 else "[" + ", ".join(map(_yaml_path, dirs)) + "]"
        out += f"{s}: {val}\n"
    out += f"task: {task}\n"
    if task == "pose":
        out += f"kpt_shape: [{len(kp_names)}, {kpt_dim(kept, kp_names)}]\n"
        out += f"kpt_names: [{', '.join(map(yaml_str, kp_names))}]\n"
        if flip is not None:
            out += f"flip_idx: {json.dumps(flip)}\n"
    for k, v in (kept or {}).items():
        if k not in OWN_KEYS:
            key = k if _BARE_KEY.fullmatch(k) else yaml_str(k)
            out += f"{key}: {yaml_json(v)}\n"
    out += "names:\n" + "".join(f"  {i}: {yaml_str(n)}\n" for i, n in enumerate(names))
    return out


#: a data.yaml key written unquoted: a name a YAML reader reads back as that text, not one it reads as
#: null or a boolean (``null``, ``yes``, ``on``, ``Off``: YAML 1.1's words, which PyYAML resolves; ``y``, ``n``)
_BARE_KEY = re.compile(r"(?!(?i:null|true|false|yes|no|on|off|y|n)\Z)[A-Za-z_][A-Za-z0-9_]*")


#: data.yaml's keys a YOLO export writes itself, or must not write back (``path``: a folder of another
#: machine; ``download``: what Ultralytics runs where the images are missing); a YOLO import keeps the others
OWN_KEYS = frozenset({"path", "train", "val", "validation", "test", "task", "names", "nc", "kpt_shape", "kpt_names",
                      "flip_idx", "download"})


def kept_yaml(doc: dict, kpt: tuple[int, int] | None, where: str = "data.yaml") -> str:
    """What the generated config keeps of a folder's data.yaml (``<View yolo=...>``): its keys but
    :data:`OWN_KEYS` (a Roboflow ``roboflow:`` block, ``channels``...), and a ``kpt_shape`` of
    keypoints without visibility (``[K, 2]``), so that an export writes them back."""
    kept = {str(k): _plain(v) for k, v in doc.items() if k not in OWN_KEYS}
    if kpt is not None and kpt[1] == 2:
        kept["kpt_shape"] = list(kpt)
    return json_attribute("yolo", kept, where)


def _plain(v: Any) -> Any:
    """A YAML value as JSON holds it (a date as its text)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, (str, bool, int)) or isinstance(v, float) and math.isfinite(v):
        return v
    return str(v)


def kpt_dim(kept: dict | None, kp_names: list[str]) -> int:
    """2 where a YOLO import kept ``kpt_shape: [K, 2]`` of as many keypoints (x, y a keypoint), else 3."""
    return 2 if (kept or {}).get("kpt_shape") == [len(kp_names), 2] else 3


#: what the lines of a YOLO export changed, counted as they are written, and the note saying so
_COUNTED = {
    "rotated": "{n} rotated box(es) were written as the boxes around them (--format yolo-obb keeps the rotation)",
    "boxed": "{n} polygon(s) were written as the boxes around them (YOLO {task} lines hold boxes)",
    "clipped": "{n} box(es) around rotated boxes or polygons crossing the image's edge were clipped to it",
    "kp_outside": "{n} keypoint(s) outside the image were written as not labeled (0 0 0): Ultralytics' label "
                  "check refuses an image with a keypoint outside 0..1",
    "parts": "{n} polygon(s) in several parts were each written as one polygon, the parts joined at their "
             "closest vertices",
}


def write(picked: Picked, cfg: LabelingConfig | None, notes: list[str], obb: bool = False) -> dict[str, bytes]:
    """The YOLO folder of ``picked``: relative path -> bytes."""
    fmt = "YOLO OBB" if obb else "YOLO"
    images = images_of(picked, cfg, fmt, notes)
    crowd, difficult, emptied = drop_crowd(images)
    said = [f"{crowd} crowd region(s) (COCO iscrowd) were left out: {fmt} has no crowd flag, and as an ordinary "
            "object a crowd would teach its outline as one object (Ultralytics' COCO converter leaves them out too)"
            ] if crowd else []
    said += [f"{difficult} difficult object(s) (VOC <difficult>1</difficult>) were left out: {fmt} has no "
             "difficult flag, and Ultralytics' VOC conversion leaves them out too (VOC's evaluation ignores them)"
             ] if difficult else []
    if emptied:
        what = " or ".join(w for n, w in ((crowd, "crowd regions"), (difficult, "difficult objects")) if n)
        said[-1] += (f"; {emptied} image(s) held only {what} and have empty label files, which Ultralytics "
                     "reads as background")
    notes += said
    check_kinds(images, ("box", "rotated box") if obb else ("box", "rotated box", "polygon"), fmt, notes,
                keypoints=not obb)
    clip_boxes(images, fmt, notes)
    splits = [split_of(img.data) for img in images]
    paths = [image_path(img.file_name, split) for img, split in zip(images, splits)]
    unique_names(images, fmt, label_path, paths)
    note_kept(images, fmt, notes)
    names = categories(cfg, images, notes)
    if not names:  # data.yaml would say `names:` (null), which no YOLO trainer reads
        raise UsageError(f"no class to write as {fmt}: the labeling config names no object label (<RectangleLabels>, "
                         "<PolygonLabels>, <KeyPointLabels>) and no answer holds a box, polygon or keypoint",
                         "export classifications with --format hf, csv or label-studio")
    cls = {n: i for i, n in enumerate(names)}
    task = _task(images, obb)
    kp_names = keypoint_names(cfg, images) if task == "pose" else []
    flip, lone = _flip_of(cfg, kp_names) if task == "pose" else (None, [])
    if task == "pose" and flip is None:
        notes.append(_flip_note(kp_names, lone))
    counts: dict[str, int] = {}
    files: dict[str, bytes] = {}
    kept = view_kept(cfg, "yolo")
    dim = kpt_dim(kept, kp_names)
    for img, path in zip(images, paths):
        lines = [_line(o, img, cls[o.label], task, kp_names, counts, dim) for o in img.objects]
        files[label_path(path)] = "".join(line + "\n" for line in lines).encode("utf-8")
    notes += [text.format(n=counts[what], task=task) for what, text in _COUNTED.items() if counts.get(what)]
    notes.append(f"YOLO task: {task}")
    sizes = {p: {"width": img.width, "height": img.height} for img, p in zip(images, paths) if img.width and img.height}
    if sizes:
        files["sizes.json"] = (json.dumps(sizes, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    folders, lists = split_layout(paths, splits, notes)
    files.update(lists)
    files["data.yaml"] = data_yaml(names, task, kp_names, folders, flip, kept).encode("utf-8")
    files["classes.txt"] = "".join(n + "\n" for n in names).encode("utf-8")
    return files


# ---------------------------------------------------------------------------
# import


#: the files a YOLO folder names its classes in (data.yaml's names first), in the order they are looked for
_YAMLS = ("data.yaml", "dataset.yaml", "data.yml")
#: Darknet's class names, one a line as in classes.txt: CVAT's "YOLO 1.1" export and Roboflow's "YOLO Darknet"
#: (beside ``obj.data``, the labels beside their images in ``obj_train_data/`` or ``obj/``)
DARKNET_NAMES = "obj.names"
#: the text files of class names, one a line, looked for after data.yaml
NAMES_TXT = ("classes.txt", DARKNET_NAMES)


def _names(root: Path, folder: Folder) -> tuple[list[str], dict]:
    """Class names and the data.yaml document ({} without one); two classes of one name refused."""
    names, doc = _names_as_given(root, folder)
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen:
            raise fail(_names_file(root), f"classes {seen[n]} and {i} are both named {n!r}",
                       "give each class its own name (labels are kept by name)")
        seen[n] = i
    return names, doc


def _names_disagree(root: Path, folder: Folder, names: list[str]) -> list[str]:
    """A warning where the folder has a data.yaml (whose ``names`` were read) and a classes.txt that
    names the classes otherwise (label tools write one, Ultralytics reads the other)."""
    txt = root / "classes.txt"
    yml = next((root / n for n in _YAMLS if (root / n).is_file()), None)
    if yml is None or not txt.is_file():
        return []
    other = [ln.strip() for ln in utf8_text(folder.own(txt)).splitlines() if ln.strip()]
    if other == names:
        return []
    both = min(len(names), len(other))
    i = next((i for i, (a, b) in enumerate(zip(names, other)) if a != b), both)
    said = (f"class {i} is {names[i]!r} in {yml.name} and {other[i]!r} in classes.txt" if i < both
            else f"{yml.name} names {len(names)} classes and classes.txt {len(other)}")
    return [f"{root}: {said}; the labels were read with {yml.name}'s names (as Ultralytics reads them) — make the "
            "two agree, or remove the one that is wrong"]


def _names_as_given(root: Path, folder: Folder) -> tuple[list[str], dict]:
    for name in _YAMLS:
        p = root / name
        if p.is_file():
            try:
                doc = yaml.safe_load(utf8_text(folder.own(p))) or {}
            except yaml.YAMLError as e:
                raise fail(p, f"not valid YAML: {str(e).splitlines()[0]}", "fix data.yaml") from None
            names = _with_nc(p, doc) if isinstance(doc, dict) else None
            if isinstance(names, dict):
                try:
                    keys = sorted(names, key=int)
                except (TypeError, ValueError):
                    raise fail(p, "names has keys that are not class ids", "key names by 0, 1, ...") from None
                if [int(k) for k in keys] != list(range(len(names))):
                    raise fail(p, "names does not number classes 0..N-1", "number the classes from 0") from None
                return _class_names(p, [names[k] for k in keys]), doc
            if isinstance(names, list):
                return _class_names(p, names), doc
            raise fail(p, "no 'names' (the class names)", "add names: {0: first, 1: second, ...}")
    p = next((root / n for n in NAMES_TXT if (root / n).is_file()), None)
    if p is not None:
        lines = [ln.strip() for ln in utf8_text(folder.own(p)).splitlines()]
        names = [ln for ln in lines if ln]
        for i, n in enumerate(names):
            refuse_not_xml(n, p, f"class {i}")
        gap = next((i for i, ln in enumerate(lines) if not ln and any(lines[i:])), None)
        if gap is not None:  # ambiguous: skipped, the classes after it move up one id; the SDK counts it a class
            raise fail(p, f"line {gap + 1} is blank, between class names: skipped, the classes after it would "
                          "have other ids than in tools that count it as a class (label-studio-sdk does)",
                       "remove the blank line, or name the class it stands for (line N is class N-1)")
        return names, {}
    raise fail(root, "no data.yaml, classes.txt or obj.names",
               "give a YOLO folder with data.yaml (names) or classes.txt")


#: the most classes ``nc`` without ``names`` is named for (``class_0``...): more than any real dataset
#: has (ImageNet-21k: 21,841), far fewer than would fill the memory
MAX_NC = 100_000


def _with_nc(p: Path, doc: dict) -> Any:
    """data.yaml's ``names`` as Ultralytics' ``check_det_dataset`` takes them with ``nc``: without
    ``names``, ``nc`` classes named ``class_0``, ``class_1``... (at most :data:`MAX_NC`); ``names`` and an
    ``nc`` of another count refused, as it refuses them."""
    names, nc = doc.get("names"), doc.get("nc")
    if nc is None:
        return names
    if type(nc) is not int or nc < 1:
        raise fail(p, f"nc is {shown(nc)}, not a count of classes", "write nc: N (a whole number from 1), or remove it")
    if names is None and nc > MAX_NC:  # a few bytes of data.yaml would ask for a list of nc names
        raise fail(p, f"nc is {nc} without names, more classes than annover names for you (at most {MAX_NC})",
                   "write names: [...] with the class names, or fix nc")
    if names is None:
        return [f"class_{i}" for i in range(nc)]
    if isinstance(names, (list, dict)) and len(names) != nc:
        raise fail(p, f"names has {len(names)} classes and nc says {nc} (Ultralytics refuses the file)",
                   f"make them agree (nc: {len(names)}), or remove nc")
    return names


def _class_names(p: Path, names: list, what: str = "names: class") -> list[str]:
    """The class names of data.yaml's ``names``: each a string (or a number); a list, a map or
    nothing is no name (a YAML alias could nest one a million times over)."""
    for i, n in enumerate(names):
        if type(n) not in (str, int, float) or not str(n).strip():
            raise fail(p, f"{what} {i} is {shown(n)}", "give each a name: names: {0: cat, 1: dog}")
        refuse_not_xml(str(n), p, f"{what} {i}")
    return [str(n) for n in names]


def _sizes(root: Path, image_dirs: list[str], folder: Folder) -> dict[str, tuple[int, int, str]]:
    """label-file path -> (width, height, image path), from sizes.json or the headers of the images
    in ``image_dirs`` (folders of ``root``); an image is under its :func:`label_path` and the label
    file Ultralytics reads for it (:func:`_beside`), the same file in the layouts written."""
    out: dict[str, tuple[int, int, str]] = {}
    p = root / "sizes.json"
    if p.is_file():
        try:
            doc = json.loads(utf8_text(folder.own(p)))
        except json.JSONDecodeError as e:
            raise fail(p, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}", "fix sizes.json") from None
        for img, s in (doc.items() if isinstance(doc, dict) else []):
            if not isinstance(s, dict) or not all(type(s.get(k)) is int and s[k] > 0 for k in ("width", "height")):
                raise fail(p, f"{img!r}: expected {{width, height}} in pixels (integers above 0)", "fix sizes.json")
            refuse_control(img, p, "an image name")
            for k in ("width", "height"):
                if side_problem(s[k]):
                    raise fail(p, f"{img!r}: {k} {s[k]!r}: {side_problem(s[k])}",
                               "give the image's width and height in pixels")
            out[label_path(img)] = out[_beside(img)] = (s["width"], s["height"], img)
        return out
    seen: set[Path] = set()
    for d in image_dirs:
        top = root / d if d else root
        for f in [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []:
            if f.suffix.lower() in IMAGE_SUFFIXES and f not in seen:
                seen.add(f)
                rel = f.relative_to(root).as_posix()
                refuse_control(rel, f, "the image file name")
                if not f.is_file() and not f.is_dir():  # a pipe would never end; an image link is read where it leads
                    raise fail(f, "not a regular file (a pipe, a device or a socket)", "put the image there, or remove it")
                size = image_size(f, turned=False)  # as stored: Ultralytics' coordinates are of that, no EXIF turn
                if size is None:
                    raise fail(f, "cannot read the image's size: not an image Pillow reads, or a damaged one",
                               "put a readable image there, or give the sizes in sizes.json")
                out[label_path(rel)] = out[_beside(rel)] = (*size, rel)
    return out


# ---------------------------------------------------------------------------
# the splits of a folder


def _rel(root: Path, p: Path) -> str | None:
    """``p`` relative to ``root``, ``/`` between parts (``""`` for ``root``); None when outside it."""
    r = os.path.relpath(os.path.normpath(p), os.path.normpath(root)).replace(os.sep, "/")
    if r == ".." or r.startswith("../"):
        return None
    return "" if r == "." else r


def _labels_dir(images: str) -> str:
    """The label folder of an image folder, by Ultralytics' rule: its last ``images`` folder becomes
    ``labels`` (``train/images`` -> ``train/labels``, ``images/val`` -> ``labels/val``); a folder
    without one holds its labels beside its images."""
    parts = images.split("/") if images else []
    i = next((i for i in range(len(parts) - 1, -1, -1) if parts[i] == "images"), None)
    if i is None:
        return images
    parts[i] = "labels"
    return "/".join(parts)


class _Split(NamedTuple):
    """The images of a split: a folder of them (``images``) and of their labels (``labels``), or one
    image a list file names and its label file (``where``: the list file and line)."""

    split: str
    images: str
    labels: str
    where: str | None = None


#: the folder Darknet's lists name the dataset by (``data/obj_train_data/1.jpg``: CVAT's, datumaro's)
_DARKNET_DATA = "data/"


def _listed(root: Path, lst: Path, split: str, base: Path, folder: Folder) -> list[_Split]:
    """The images a split's list file names (``train: train.txt``), one path a line, resolved as
    Ultralytics resolves them: ``./x`` against the list's folder, an absolute path as it is, another
    against the dataset's root (``base``), or, where that names nothing and it starts with ``data/``
    (Darknet's folder of the dataset, as CVAT writes its lists), the rest of it against the root;
    lines that name no image are skipped, as there. A path
    that leaves ``root`` as written (``../x``, an absolute path elsewhere) is refused: a list does not
    make annover read files elsewhere. A link inside ``root`` is read wherever it leads, as a folder
    split reads it (DVC's symlink cache makes every tracked image a link into the cache)."""
    out = []
    for n, line in enumerate(utf8_text(folder.own(lst)).splitlines(), 1):
        x = line.strip().replace("\\", "/")
        if x.rpartition(".")[2].lower() not in MEDIA_SUFFIXES:
            continue
        p = Path(x) if os.path.isabs(x) else lst.parent / x[2:] if x.startswith("./") else base / x
        if x.startswith(_DARKNET_DATA) and not p.exists() and (base / x[len(_DARKNET_DATA):]).exists():
            p = base / x[len(_DARKNET_DATA):]  # Darknet's data/ folder is the dataset's (CVAT's lists)
        rel = _rel(root, p)
        if rel is None:
            raise fail(lst, f"line {n}: {x!r} is outside the dataset folder {root}",
                       "list images inside it: ./images/... (from the list's folder) or a path under it")
        out.append(_Split(split, rel, _beside(rel), f"{lst}: line {n}"))
    return out


def _named_splits(root: Path, doc: dict, folder: Folder) -> list[_Split]:
    """The splits of each folder, list file of images (:func:`_listed`) or image that data.yaml's ``train``
    / ``val`` (or ``validation``) / ``test`` name in ``root`` (a folder: its images, or its labels),
    resolved as Ultralytics resolves them: against ``path`` where that is a folder in ``root``, else
    the YAML's folder; a ``../x`` that names nothing there is ``x`` (Roboflow's ``train: ../train/images``)."""
    base = root
    p = doc.get("path")
    if isinstance(p, str) and p.strip() and _rel(root, root / p) is not None and (root / p).is_dir():
        base = root / p
    out = []
    for key, v in doc.items():
        split = SPLIT_ALIASES.get(key, key) if isinstance(key, str) else None
        if split not in SPLITS:
            continue
        for entry in v if isinstance(v, list) else [v]:
            if not isinstance(entry, str) or not entry.strip():
                continue
            for c in [entry] + ([entry[3:]] if entry.startswith("../") else []):
                img = _rel(root, base / c)
                if img and (root / img).is_file():
                    one = img.rpartition(".")[2].lower() in MEDIA_SUFFIXES  # an image (train: [a.jpg]), not a list
                    out += ([_Split(split, img, _beside(img), f"{_names_file(root)}: {key}")] if one
                            else _listed(root, root / img, split, base, folder))
                    break
                if img is not None and ((root / img).is_dir() or (root / _labels_dir(img)).is_dir()):
                    out.append(_Split(split, img, _labels_dir(img)))
                    break
            else:
                _refuse_outside(root, base / entry, key, entry)
    return out


def _refuse_outside(root: Path, p: Path, key: str, entry: str) -> None:
    """Refuse a split data.yaml names that leaves ``root`` as written (``../x``, an absolute path
    elsewhere) and is there, as a list's line that leaves it is refused (:func:`_listed`): data.yaml
    does not make annover read files elsewhere. A link inside ``root`` is read wherever it leads; a
    path that is nowhere is skipped (Roboflow names ``test`` with no test folder)."""
    p = Path(os.path.normpath(p))  # as written: ``link/../..`` is not where the link leads
    if _rel(root, p) is None and (p.exists() or Path(_labels_dir(p.as_posix())).is_dir()):
        raise fail(_names_file(root), f"{key}: {entry!r} is outside the dataset folder {root}",
                   "move or copy that split into the dataset folder and name it from there "
                   "(a link inside the folder is read wherever it leads)")


def _layout(root: Path, doc: dict, folder: Folder) -> list[_Split]:
    """The folder's splits (:func:`_named_splits`); where data.yaml names none in the folder,
    ``labels`` folders of the two usual layouts: Roboflow's ``train/labels``, ``valid/labels``,
    ``test/labels`` and Ultralytics' ``labels/train``, ``labels/val``, ``labels/test``."""
    named = _named_splits(root, doc, folder)
    if named:
        return named
    out = []
    for d in ("train", "valid", "val", "validation", "test"):
        split = SPLIT_ALIASES.get(d, d)
        out += [_Split(split, img, lbl) for img, lbl in ((f"{d}/images", f"{d}/labels"), (f"images/{d}", f"labels/{d}"))
                if (root / lbl).is_dir()]
    return out


def _is_darknet(root: Path) -> bool:
    """Whether ``root`` names its classes in Darknet's ``obj.names`` (no data.yaml or classes.txt)."""
    return _names_file(root).name == DARKNET_NAMES


def _darknet_lists(root: Path, folder: Folder) -> dict:
    """A Darknet folder's splits as data.yaml would name them: the lists its ``obj.data`` names
    (``train = data/train.txt``, ``valid = ...``) that are in ``root``, by the path after Darknet's
    ``data/`` or by their file name (Roboflow names ``/content/<project>/train.txt``); {} for none."""
    p = root / "obj.data"
    if not _is_darknet(root) or not p.is_file():
        return {}
    out = {}
    for line in utf8_text(folder.own(p)).splitlines():
        key, eq, value = (part.strip() for part in line.partition("="))
        if eq and key in ("train", "valid", "test") and value:
            value = value.replace("\\", "/")
            found = [c for c in (value.removeprefix(_DARKNET_DATA), value.rpartition("/")[2])
                     if _rel(root, root / c) and (root / c).is_file()]
            if found:
                out[key] = found[0]
    return out


def _label_files(root: Path, layout: list[_Split]) -> list[tuple[Path, str, str | None]]:
    """(file, its path as the sizes name it, split) of each label file: those in the splits' label
    folders, of their listed images, and in ``labels/``, else (no such folder) in the folder itself;
    a file of several splits (``train: images`` and ``val: images``, as annover wrote a folder of no
    split) has none."""
    splits: dict[Path, set[str]] = {}
    for split, _, lbl, where in layout:
        folder = root / lbl if lbl else root
        found = ([folder] if folder.is_file() else []) if where else folder.rglob("*.txt") if folder.is_dir() else []
        for f in found:
            splits.setdefault(f, set()).add(split)
    flat = not layout and not (root / "labels").is_dir()
    for f in (root.rglob("*.txt") if flat else (root / "labels").rglob("*.txt") if (root / "labels").is_dir() else []):
        splits.setdefault(f, set())
    top = not flat or _is_darknet(root)  # Darknet's top holds lists (train.txt) and notes, its labels obj*/
    out = []
    for f in sorted(splits):
        if f.name in NAMES_TXT or f.parent == root and top:
            continue
        rel = f.relative_to(root).as_posix()
        lp = "labels/" + rel if flat else rel
        out.append((f, lp, next(iter(splits[f])) if len(splits[f]) == 1 else None))
    return out


def _split_of_image(image: str, folders: list[_Split], listed: dict[str, set[str]]) -> str | None:
    """The split whose image folder holds ``image``, or whose list names it (None for none, or several)."""
    found = listed.get(image, set()) | {s.split for s in folders if not s.images or image.startswith(s.images + "/")}
    return next(iter(found)) if len(found) == 1 else None


def _check_listed(root: Path, layout: list[_Split], sizes: dict[str, tuple[int, int, str]]) -> None:
    """Every image a list names is there, or has its size in sizes.json (which stands for the images)."""
    for s in layout:
        if s.where and not (root / s.images).is_file() and s.labels not in sizes:
            raise InputError(f"{s.where}: image {s.images!r} is not in the dataset folder",
                             "put the image there, name its size in sizes.json, or remove the line")


def _image_guess(lp: str) -> str:
    """The image of a label file when no image or size names it: Ultralytics' rule backwards, without
    an extension (``train/labels/1.txt`` -> ``train/images/1``)."""
    parts = lp[:-len(".txt")].split("/")
    i = next((i for i in range(len(parts) - 2, -1, -1) if parts[i] == "labels"), None)
    if i is not None:
        parts[i] = "images"
    return "/".join(parts)


def _class_id(s: str, where: str) -> int:
    """A line's class id: an integer, or a number of one written as a float (``1.0``, ``1e0``), which
    Ultralytics reads alike (every value of a line is a float to it); ``1.5`` names no class."""
    try:
        return int(s)
    except ValueError:
        pass
    try:
        v = float(s)
    except ValueError:
        v = math.nan
    if not math.isfinite(v) or v != int(v):
        raise InputError(f"{where}: class {s!r} is not an integer", "a line starts with the class id")
    return int(v)


def _floats(parts: list[str], where: str) -> list[float]:
    out = []
    for i, s in enumerate(parts):
        try:
            v = float(s)
        except ValueError:
            raise InputError(f"{where}: value {i + 2} is {s!r}, not a number", "fix the label line") from None
        if not math.isfinite(v):
            raise InputError(f"{where}: value {i + 2} is {s!r}", "fix the label line")
        out.append(v)
    return out


def _obb_line(v: list[float], where: str, size: tuple[int, int] | None, extra: dict, label: str,
              fitted: list[str]) -> dict:
    """The rotated box of an OBB line's four corners; corners that are no rectangle (DOTA's
    quadrilaterals) read as the smallest rotated rectangle around them, as Ultralytics reads them
    (``where`` added to ``fitted``)."""
    if len(v) != 8:
        raise InputError(f"{where}: {len(v)} numbers after the class, an OBB line has 8 (4 corners)",
                         "write x1 y1 x2 y2 x3 y3 x4 y4")
    upright = _upright(v)
    if not size and upright is None:
        raise InputError(f"{where}: the image size is not known, and a rotated box needs it",
                         "put sizes.json or the images beside labels/")
    if size:
        w, h = size
        corners, fit = rectangle_of([(v[i] * w, v[i + 1] * h) for i in range(0, 8, 2)], w, h)
        if fit:
            fitted.append(where)
        x, y, bw, bh, rot = rbox_from_corners(corners, w, h)
    else:
        x, y, bw, bh, rot = upright
    return {"from_name": "label", "type": "rectanglelabels", **extra, "value": {
        "x": x, "y": y, "width": bw, "height": bh, "rotation": rot, "rectanglelabels": [label]}}


def _upright(v: list[float]) -> tuple[float, float, float, float, int] | None:
    """(x, y, width, height in percent, rotation 0) of four corners that are an upright rectangle (Label
    Studio's YOLO OBB export of boxes, written without the images), which need no image size; else None."""
    xs, ys = sorted(set(v[0::2])), sorted(set(v[1::2]))
    if len(xs) != 2 or len(ys) != 2 or set(zip(v[0::2], v[1::2])) != {(a, b) for a in xs for b in ys}:
        return None
    return pct(100 * xs[0]), pct(100 * ys[0]), pct(100 * (xs[1] - xs[0])), pct(100 * (ys[1] - ys[0])), 0


_BOX = ("cx", "cy", "w", "h")
#: how far outside 0..1 Ultralytics' label check lets a value be ("with 1% tolerance": up to 1.01, from -0.01)
SLACK = 0.01


def _outside(v: list[float], kpt: tuple[int, int] | None) -> tuple[str, float] | None:
    """(what, value) of a line's first number Ultralytics' label check (``verify_image_label``)
    refuses, or None: a box's cx, cy, w, h and a pose line's keypoint x, y above 1.01, or any value
    of the line below -0.01 (its 1% tolerance, :data:`SLACK`: such a value is kept as written); a polygon or OBB line is checked as Ultralytics checks it, by the box
    around its points (a point a little outside the image passes when that box is inside). A
    line of the wrong count of numbers, and a box's negative width or height, are left to their
    own errors."""
    n = len(v)
    if kpt is not None:
        k, dim = kpt
        if n != 4 + k * dim:
            return None
        names = [*_BOX, *(f"keypoint {i} {'xyv'[j]}" for i in range(k) for j in range(dim))]
        high = [(nm, x) for nm, x in zip(names[4:], v[4:]) if nm[-1] in "xy"]
        low = list(zip(names, v))
    elif n == 4:
        high = low = list(zip(_BOX, v))
    elif n >= 6 and n % 2 == 0:
        xs, ys = v[0::2], v[1::2]
        box = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, max(xs) - min(xs), max(ys) - min(ys))
        high = low = [(f"the box around its points: {nm}", x) for nm, x in zip(_BOX, box)]
    else:
        return None
    low = [(nm, x) for nm, x in low if nm not in ("w", "h")]  # a box's negative size has its own error
    return (next(((nm, x) for nm, x in high if x > 1 + SLACK), None)
            or next(((nm, x) for nm, x in low if x < -SLACK), None))


def _check_range(v: list[float], where: str, kpt: tuple[int, int] | None) -> None:
    """InputError naming the line and the value when Ultralytics would refuse the line (see
    :func:`_outside`): YOLO coordinates are fractions of the image size, 0 to 1."""
    bad = _outside(v, kpt)
    if bad is not None:
        raise InputError(f"{where}: {bad[0]} is {bad[1]:.15g}, outside 0..1 by more than {SLACK} (YOLO coordinates "
                         "are fractions of the image size; Ultralytics refuses the line)",
                         "write pixel values divided by the image width and height, or fix the line")


def _parse_line(line: str, where: str, names: list[str], task: str, kpt: tuple[int, int] | None,
                size: tuple[int, int] | None, fitted: list[str]) -> list[dict]:
    parts = line.split()
    c = _class_id(parts[0], where)
    if not 0 <= c < len(names):
        raise InputError(f"{where}: class id {c} is out of range (the folder names {len(names)} classes)",
                         "fix the class id, or add the class to data.yaml / classes.txt")
    v = _floats(parts[1:], where)
    _check_range(v, where, kpt if task != "obb" else None)
    label = names[c]
    n = len(v)
    extra: dict[str, Any] = {"to_name": "image"}
    if size:
        extra.update({"original_width": size[0], "original_height": size[1], "image_rotation": 0})
    if task == "obb":
        return [_obb_line(v, where, size, extra, label, fitted)]
    if kpt is not None:
        k, dim = kpt
        if n != 4 + k * dim:
            raise InputError(f"{where}: {n} numbers after the class, a pose line has {4 + k * dim} "
                             f"(box and {k} keypoints of {dim})", "check kpt_shape in data.yaml")
    elif n != 4 and (n < 6 or n % 2):
        raise InputError(f"{where}: {n} numbers after the class; a box has 4, a polygon an even number from 6",
                         "write c cx cy w h, or c x1 y1 x2 y2 x3 y3 ...")
    elif n != 4:
        pts = [[pct(v[i] * 100), pct(v[i + 1] * 100)] for i in range(0, n, 2)]
        return [{"from_name": "polygon", "type": "polygonlabels", **extra,
                 "value": {"points": pts, "closed": True, "polygonlabels": [label]}}]
    cx, cy, bw, bh = v[:4]
    if bw < 0 or bh < 0:
        raise InputError(f"{where}: a box of width {parts[3]} and height {parts[4]}, below 0",
                         "write c cx cy w h with w and h ≥ 0")
    box = {"from_name": "label", "type": "rectanglelabels", **extra, "value": {
        "x": pct((cx - bw / 2) * 100), "y": pct((cy - bh / 2) * 100), "width": pct(bw * 100),
        "height": pct(bh * 100), "rotation": 0, "rectanglelabels": [label]}}
    out = [box]
    if kpt is not None:
        k, dim = kpt
        pid = box["id"] = region_id(box)
        for i in range(k):
            x, y = v[4 + i * dim], v[5 + i * dim]
            vis = int(v[6 + i * dim]) if dim == 3 else (0 if x == 0 and y == 0 else 2)
            if vis == 0:
                continue
            kp: dict[str, Any] = {"from_name": "keypoints", "type": "keypointlabels", "parentID": pid, **extra,
                                  "value": {"x": pct(x * 100), "y": pct(y * 100), "keypointlabels": [f"kp_{i}"]}}
            if vis != 2:
                kp["visibility"] = vis
            out.append(kp)
    return out


def read(root: Path, obb: bool = False) -> TrainInput:
    """Label Studio tasks and a config for the YOLO folder ``root``; a task of a split (data.yaml's
    ``train`` / ``val`` / ``test``) has it in its data (``split``)."""
    if not root.is_dir():
        raise fail(root, "not a folder", "give the YOLO folder (with data.yaml or classes.txt)")
    folder = Folder(root)
    names, doc = _names(root, folder)
    doc = _ls_keypoints(root, folder, doc)
    kpt = _kpt_shape(root, doc)
    task = "obb" if obb or doc.get("task") == "obb" else "pose" if kpt else "auto"
    kp_names = _kpt_names(doc, kpt, root)
    layout = _layout(root, doc or _darknet_lists(root, folder), folder)
    files = _label_files(root, layout)
    beside = sorted({f.parent.relative_to(root).as_posix() for f, _, _ in files}) if _is_darknet(root) else []
    sizes = _sizes(root, ["images", *(s.images for s in layout), *beside], folder)  # Darknet's images: beside
    _check_listed(root, layout, sizes)
    tasks, kinds, seen, unsized = [], set(), _Seen(), []
    for f, lp, split in files:
        size = sizes.get(lp)
        if size is None:
            unsized.append(f)
        result = _file_result(utf8_text(folder.own(f)), f, names, task, kpt, size[:2] if size else None, seen)
        if kp_names:
            for r in result:
                if r["type"] == "keypointlabels":
                    i = int(r["value"]["keypointlabels"][0][3:])
                    r["value"]["keypointlabels"] = [kp_names[i]]
        kinds.update(r["type"] for r in result)
        data: dict[str, Any] = {"image": size[2] if size else _image_guess(lp)}
        refuse_control(data["image"], f, "the image file name")
        if size and not result:  # a background image keeps its size
            data.update(width=size[0], height=size[1])
        if split:
            data["split"] = split
        tasks.append({"id": stem_key(lp), "data": data, "annotations": [{"result": result}]})
    if not files and not sizes:  # with images and no label file: images not labeled yet
        raise fail(root, "no label files (*.txt under labels/, or under the label folders of data.yaml's "
                   "train, val and test) and no images (images/, sizes.json)", "give a YOLO folder with labels/*.txt")
    k_names = kp_names or ([f"kp_{i}" for i in range(kpt[0])] if kpt else [])
    flip = _flip_given(root, doc, kpt)
    warnings = seen.warnings() + _names_disagree(root, folder, names) + _unsized(root, unsized)
    backgrounds: list[str] = []
    tasks += _backgrounds(sizes, tasks, layout, backgrounds)
    warnings += unlabeled(tasks, root, "label line") or backgrounds
    config = image_config(names, kinds, k_names, view=kept_yaml(doc, kpt, str(_names_file(root))))
    return TrainInput(tasks, _with_flip(config, k_names, flip), warnings=warnings)


def _unsized(root: Path, files: list[Path]) -> list[str]:
    """A warning for label files of no image size (no image, no sizes.json entry): their regions stay in
    percent, which COCO and VOC cannot write, and their image names are guessed without an extension."""
    if not files:
        return []
    return [f"{len(files)} label file(s) have no image size (e.g. {files[0].relative_to(root).as_posix()}): no "
            "image for them in images/ nor in sizes.json, so their boxes stay in percent (enough for YOLO), and "
            "an export as COCO or VOC, which are in pixels, will be refused — put the images in images/ (or write "
            'sizes.json beside labels/: {"images/a.jpg": {"width": 640, "height": 480}}) and snapshot again']


class _Seen:
    """What a folder's lines held that a warning says: OBB lines fitted to a rectangle, duplicate lines
    dropped, files mixing box and polygon lines, and files of boxes only beside files of polygons."""

    def __init__(self) -> None:
        self.fitted: list[str] = []
        self.dups: list[str] = []
        self.mixed: list[str] = []
        self.polygons: list[str] = []  # files with a polygon line
        self.boxes: list[str] = []  # files of box lines only

    def add(self, f: Path, result: list[dict], task: str) -> None:
        types = {r["type"] for r in result}
        if task != "auto" or not types:
            return
        if "polygonlabels" in types:
            self.polygons.append(str(f))
            if "rectanglelabels" in types:
                self.mixed.append(str(f))
        else:
            self.boxes.append(str(f))

    def warnings(self) -> list[str]:
        out = []
        if self.fitted:
            out.append(f"{len(self.fitted)} OBB line(s) whose corners are no rectangle (e.g. {self.fitted[0]}) were "
                       "read as the smallest rotated rectangle around them, as Ultralytics reads them")
        if self.dups:
            out.append(f"{len(self.dups)} duplicate label line(s) (e.g. {self.dups[0]}: the class and numbers of an "
                       "earlier line of the file) were dropped, as Ultralytics drops them ('duplicate labels removed')")
        if self.mixed:
            out.append(f"{len(self.mixed)} label file(s) mix box lines with polygon lines (e.g. {self.mixed[0]}): "
                       "read as written, boxes and polygons; Ultralytics reads every line of such a file as a "
                       "polygon, a box's 4 numbers as 2 points, so its box there is not the one written")
        if self.polygons and self.boxes:
            out.append(f"{len(self.boxes)} label file(s) hold boxes only (e.g. {self.boxes[0]}) beside "
                       f"{len(self.polygons)} with polygons (e.g. {self.polygons[0]}): both are read; Ultralytics' "
                       "segment training of such a folder warns and drops every polygon (boxes only)")
        return out


def _file_result(text: str, f: Path, names: list[str], task: str, kpt: tuple[int, int] | None,
                 size: tuple[int, int] | None, seen: _Seen) -> list[dict]:
    """The regions of a label file's lines (blank lines skipped); a line of the class and numbers of an
    earlier line of the file is dropped, as Ultralytics' label check drops duplicate rows."""
    result: list[dict] = []
    lines: set[tuple[float, ...]] = set()
    parents: set[str] = set()  # the pose boxes' ids (unique_id: an equal box keeps its own keypoints)
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{f}: line {n}"
        regions = _parse_line(line, where, names, task, kpt, size, seen.fitted)
        key = tuple(float(x) for x in line.split())  # every value a number: _parse_line checked them
        if key in lines:
            seen.dups.append(where)
            if seen.fitted[-1:] == [where]:
                seen.fitted.pop()
            continue
        lines.add(key)
        if "id" in regions[0]:
            pid = regions[0]["id"] = unique_id(regions[0]["id"], parents)
            for r in regions[1:]:
                r["parentID"] = pid
        result += regions
    seen.add(f, result, task)
    return result


def _backgrounds(sizes: dict[str, tuple[int, int, str]], tasks: list[dict], layout: list[_Split],
                 warnings: list[str]) -> list[dict]:
    """A task with no objects per image (in images/, a split's image folder or sizes.json) without a
    label file: Ultralytics reads such an image as a background image, as it does one with an empty
    label file."""
    read = {t["data"]["image"] for t in tasks}
    folders = [s for s in layout if not s.where]
    listed: dict[str, set[str]] = {}
    for s in layout:
        if s.where:
            listed.setdefault(s.images, set()).add(s.split)
    out = []
    for lp, (w, h, img) in sizes.items():
        if img in read:
            continue
        read.add(img)
        data: dict[str, Any] = {"image": img, "width": w, "height": h}
        split = _split_of_image(img, folders, listed)
        if split:
            data["split"] = split
        out.append({"id": stem_key(lp), "data": data, "annotations": [{"result": []}]})
    if out:
        warnings.append(f"{len(out)} image(s) without a label file (e.g. {out[0]['data']['image']}) were read as "
                        "background images (no objects), as Ultralytics reads them")
    return out


def _names_file(root: Path) -> Path:
    """The file :func:`_names_as_given` read the classes (and data.yaml's other keys) from."""
    return next((root / f for f in (*_YAMLS, *NAMES_TXT) if (root / f).is_file()), root)


def _ls_keypoints(root: Path, folder: Folder, doc: dict) -> dict:
    """``doc`` with ``kpt_shape`` and ``kpt_names`` from Label Studio's ``notes.json`` where nothing says
    them: its YOLO export of a config with KeyPointLabels writes each box as ``c cx cy w h`` and ``x y v``
    per keypoint (as a pose folder), and names the keypoints in ``notes.json`` alone. A notes.json that is
    no JSON, or names keypoints no config can hold, is refused naming it (the lines would be read wrong)."""
    p = root / "notes.json"
    if "kpt_shape" in doc or not p.is_file():
        return doc
    text = utf8_text(folder.own(p))
    hint = "fix it, or remove it: annover reads the keypoint names Label Studio's YOLO export writes there"
    try:
        notes = json.loads(text)
    except json.JSONDecodeError as e:
        raise fail(p, json_problem(text, e)[0], hint) from None
    except RecursionError:
        raise fail(p, "JSON nested more deeply than Python can read", hint) from None
    cats = notes.get("categories") if isinstance(notes, dict) else None
    i, kps = next(((i, c["keypoints"]) for i, c in enumerate(cats) if isinstance(c, dict)
                   and isinstance(c.get("keypoints"), list) and c["keypoints"]), (0, None)) \
        if isinstance(cats, list) else (0, None)
    if kps is None:
        return doc
    where = f"categories[{i}].keypoints"
    if len(kps) > MAX_NC:
        raise fail(p, f"{where} names {len(kps)} keypoints, more than annover reads (at most {MAX_NC})", hint)
    for j, n in enumerate(kps):
        if type(n) is not str or not n.strip():
            raise fail(p, f"{where}[{j}] is {shown(n)}, not a keypoint name", hint)
        refuse_not_xml(n, p, f"{where}[{j}]")
    counts = Counter(kps)
    twice = next((n for n in kps if counts[n] > 1), None)
    if twice is not None:
        raise fail(p, f"{where} names the keypoint {twice!r} {counts[twice]} times", "give each keypoint its own name")
    return {**doc, "kpt_shape": [len(kps), 3], "kpt_names": kps}


def _kpt_shape(root: Path, doc: dict) -> tuple[int, int] | None:
    """``kpt_shape: [K, D]`` of a pose folder's data.yaml (None without one): K ≥ 1, D 2 or 3 (Ultralytics');
    K at most :data:`MAX_NC` (the keypoints are named ``kp_0``... where data.yaml names none)."""
    shape = doc.get("kpt_shape")
    if shape is None:
        return None
    if not (isinstance(shape, list) and len(shape) == 2 and all(type(n) is int for n in shape)
            and 1 <= shape[0] <= MAX_NC and shape[1] in (2, 3)):
        raise fail(_names_file(root),
                   f"kpt_shape is {shown(shape)}",
                   f"write kpt_shape: [K, 3] (or [K, 2]): K keypoints (1 to {MAX_NC}) of x, y[, visibility]")
    return shape[0], shape[1]


def _flip_given(root: Path, doc: dict, kpt: tuple[int, int] | None) -> list[int] | None:
    """data.yaml's ``flip_idx`` of a pose folder (None without one, or an empty one, which Ultralytics
    reads as none): a list of ``kpt_shape[0]`` keypoint indexes, as Ultralytics' augmentation needs it
    (it raises on another length, and an index out of range would fail at the first flip)."""
    flip = doc.get("flip_idx")
    if kpt is None or flip is None or flip == []:
        return None
    if not (isinstance(flip, list) and len(flip) == kpt[0] and all(type(i) is int and 0 <= i < kpt[0] for i in flip)):
        raise fail(_names_file(root), f"flip_idx is {shown(flip)}, not {kpt[0]} keypoint indexes (0..{kpt[0] - 1}) "
                   "as kpt_shape says", "give each keypoint the index of its mirror image (itself where it has "
                   "no side), or remove flip_idx")
    return flip


def _with_flip(config: str, kp_names: list[str], flip: list[int] | None) -> str:
    """The generated config with data.yaml's ``flip_idx`` kept: each keypoint's ``<Label>`` names its
    mirror image (``<Label value="left_eye" flip="right_eye"/>``, itself where it has no side), which a
    YOLO export writes back as ``flip_idx``; the config unchanged without one."""
    if flip is None or not kp_names:
        return config
    plain = labels_tag("KeyPointLabels", "keypoints", "image", kp_names)
    inner = "".join(f"\n    <Label value={quoteattr(n)} flip={quoteattr(kp_names[j])}/>" for n, j in zip(kp_names, flip))
    return config.replace(plain, f'  <KeyPointLabels name="keypoints" toName="image">{inner}\n  </KeyPointLabels>\n')


def _kpt_names(doc: dict, kpt: tuple[int, int] | None, root: Path) -> list[str]:
    names = doc.get("kpt_names")
    if isinstance(names, dict) and names:
        names = next(iter(names.values()))
    if kpt and isinstance(names, list) and len(names) == kpt[0]:
        out = _class_names(_names_file(root), names, "kpt_names: keypoint")
        counts = Counter(out)  # (a pairwise look took minutes for 100,000 names)
        twice = next((n for n in out if counts[n] > 1), None)
        if twice is not None:
            raise fail(_names_file(root),
                       f"kpt_names names the keypoint {twice!r} twice", "give each keypoint its own name")
        return out
    return []
