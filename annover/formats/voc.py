"""Pascal VOC (one XML file per image, ``Annotations/<stem>.xml``) to and from annover.

Export: ``<annotation>`` with ``folder``, ``filename``, ``size`` (width, height, depth 3),
``segmented`` 0 and one ``<object>`` per box (``name``, ``pose``, ``truncated``,
``difficult``, ``bndbox`` in pixels: the fewest decimals that read back as the same box;
integral values as integers). Only
boxes have a place in VOC: a rotated box is written as the box around it, polygons and
masks as the box around them, keypoints are left out (all said in the notes). VOC needs the
image size. A crowd region (COCO ``iscrowd``, kept on import) is written with ``difficult`` 1:
VOC has no crowd flag, and difficult is what it has to say "do not count this one": VOC's
evaluation ignores difficult objects as COCO's ignores crowd regions, and trainers reading VOC
leave them out (Ultralytics' VOC.yaml conversion) or mark them ignored (mmdetection).

Import reads ``*.xml`` in a folder (or its ``Annotations``/``annotations`` subfolder): a task
per file (``data.image`` = ``filename``, key = its stem), a box per ``<object>``. ``pose``,
``truncated``, ``difficult``, ``occluded`` other than the defaults, ``<part>``s, ``<actions>``
and the object's other elements are kept in the region's ``voc`` field and written back; so are
the image's (the task's ``meta.voc``: the root's attributes, ``folder``, ``segmented`` and
``depth`` other than the defaults, ``path``, ``source``, ``owner`` and any other element), so that
an export gives back each file element by element. A file of nothing beyond the defaults keeps
nothing (its snapshot ids are what they were), and a version without them exports as before.

Splits: the devkit names them by list files, ``ImageSets/Main/<split>.txt`` (an image stem a line),
which torchvision's ``VOCDetection(image_set=...)`` and mmdetection's ``VOCDataset``
(``ann_file="ImageSets/Main/trainval.txt"``) read. The export writes ``train.txt``, ``val.txt`` and
``test.txt`` of the tasks' splits (``data.split``, as YOLO and COCO take it; images without one beside
others with one go to train) and ``trainval.txt`` (train and val), each in the export's image order;
a version of no split lists every image in ``train.txt`` and ``trainval.txt``. The import gives each
task the split whose list names its XML file's stem; per-class lists (``dog_train.txt``) are not
splits and are not read.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from annover._lazy import lazy
from annover.errors import InputError, UsageError
from annover.formats.detect import voc_files
from annover.formats.folder import Folder
from annover.formats.images import (Image, Obj, categories, check_kinds, clip_boxes, clip_extent, images_of,
                                    move_flag, note_kept, pct, px, px_of, side_problem, unique_names)
from annover.formats.resolve import Picked
from annover.formats.text import fail, utf8_text
from annover.formats.train import TrainInput, image_config, refuse_control, stem_key, unlabeled
from annover.formats.yolo import SPLITS, or_train, split_of
from annover.model.config import LabelingConfig

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

    import defusedxml
    import defusedxml.ElementTree as DET
else:
    defusedxml = lazy("defusedxml")
    DET = lazy("defusedxml.ElementTree")

__all__ = ["SPLIT_LIST", "read", "split_lists", "write"]

#: a split's list of image stems, as the VOC devkit names it
SPLIT_LIST = "ImageSets/Main/{}.txt"

_DEFAULTS = {"pose": "Unspecified", "truncated": 0, "difficult": 0}
#: an object's children read into fields of their own (the others are kept as they are, in ``elements``)
_OBJECT_TAGS = ("name", "bndbox", "pose", "truncated", "difficult", "occluded", "part", "actions")
#: the image-level elements the export writes, and what it writes where a file gave none (kept where a
#: file gives another value; the others but ``filename``, ``size`` and ``object`` are kept in ``elements``)
_IMAGE_DEFAULTS = {"folder": "JPEGImages", "depth": "3", "segmented": "0"}
#: an XML name as the export writes one (a tag or an attribute)
_NAME = re.compile(r"[^\W\d][\w.-]*\Z")


def _n(v: float) -> str:
    return str(px(v, 10))


def _far_edge(lo: float, p: float, size: int) -> float | int:
    """``xmax`` (``ymax``) for a box from ``lo`` (as written) that is ``p`` percent of ``size`` wide:
    the fewest decimals whose difference from ``lo`` reads back as the same percent (the sum
    ``lo + width`` alone can land a digit off once both are rounded)."""
    target = pct(p)
    center = lo + target * size / 100
    for d in range(11):
        r = round(center, d)
        if pct((r - lo) / size * 100) == target:
            return int(r) if float(r).is_integer() else r
    return px(center, 10)


def _object(o: Obj, img: Image, notes: dict[str, int]) -> str:
    w, h = img.size("Pascal VOC")
    if o.kind != "box" or o.rotation:
        kind = o.kind if o.kind != "box" else "rotated box"
        notes[kind] = notes.get(kind, 0) + 1
    if o.kind == "box" and not o.rotation:
        x, y, bw, bh = px_of(o.x, w), px_of(o.y, h), px_of(o.w, w), px_of(o.h, h)
    else:
        box, clipped = clip_extent(o.detection_box(w, h), w, h)
        notes["clipped"] = notes.get("clipped", 0) + clipped
        x, y, bw, bh = (px(c) for c in box)
    kept = dict(o.extras.get("voc") or {})
    fields = {**_DEFAULTS, **{k: v for k, v in kept.items() if k in ("pose", "truncated", "difficult", "occluded")}}
    out = f"  <object>\n    <name>{escape(o.label)}</name>\n"
    out += "".join(f"    <{k}>{escape(str(v))}</{k}>\n" for k, v in fields.items())
    if o.kind == "box" and not o.rotation:  # the far edges that read back as the same width and height
        x, y = px(x, 10), px(y, 10)
        x2, y2 = _far_edge(x, o.w, w), _far_edge(y, o.h, h)
    else:
        x2, y2 = x + bw, y + bh
    out += (f"    <bndbox>\n      <xmin>{_n(x)}</xmin>\n      <ymin>{_n(y)}</ymin>\n"
            f"      <xmax>{_n(x2)}</xmax>\n      <ymax>{_n(y2)}</ymax>\n    </bndbox>\n")
    for part in kept.get("parts", []):
        b = part["bndbox"]
        out += (f"    <part>\n      <name>{escape(str(part['name']))}</name>\n      <bndbox>\n"
                + "".join(f"        <{k}>{_n(b[k])}</{k}>\n" for k in ("xmin", "ymin", "xmax", "ymax"))
                + "      </bndbox>\n    </part>\n")
    if kept.get("actions"):
        out += "    <actions>\n" + "".join(f"      <{escape(k)}>{int(v)}</{escape(k)}>\n"
                                           for k, v in kept["actions"].items()) + "    </actions>\n"
    out += _elements(kept.get("elements"), 2, f"task {img.task_key!r}: an object's voc.elements")
    return out + "  </object>\n"


def _tree(el: "ET.Element") -> list:
    """An element as it is kept: ``[tag, text]`` (stripped), ``[tag, [children...]]`` for one with
    children, each in this form, in document order; ``[tag, value, {attribute: value}]`` where it has
    attributes."""
    kids = [_tree(c) for c in el]
    out: list = [_local(el.tag), kids if kids else (el.text or "").strip()]
    return out + [{_local(k): v for k, v in el.attrib.items()}] if el.attrib else out


def _local(name: str) -> str:
    """An element's or attribute's name without the namespace the parser puts before it (``{uri}name``)."""
    return name.rsplit("}", 1)[-1]


def _attributes(attrs: Any, where: str) -> str:
    """`` name="value"`` of each of the attributes ``attrs`` (kept as read); UsageError naming ``where``
    when they are not names and strings."""
    if not isinstance(attrs, dict) or not all(isinstance(k, str) and _NAME.match(k) and isinstance(v, str)
                                              for k, v in attrs.items()):
        raise UsageError(f"{where}: the attributes {str(attrs)[:80]} are not names and their text",
                         "fix the task's meta, or remove it")
    return "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())


def _elements(kept: Any, depth: int, where: str) -> str:
    """The XML of elements kept by :func:`_tree`, indented ``depth`` levels; UsageError naming ``where``
    when they are not what :func:`_tree` keeps (a task meta edited by hand)."""
    if kept is None:
        return ""
    if not isinstance(kept, list):
        raise UsageError(f"{where} is {type(kept).__name__}, not a list of [tag, value] elements",
                         "fix the task's meta, or remove it")
    out, pad = "", "  " * depth
    for el in kept:
        ok = isinstance(el, list) and len(el) in (2, 3) and isinstance(el[0], str) and _NAME.match(el[0])
        if not ok or not isinstance(el[1], (str, list)):
            raise UsageError(f"{where}: {str(el)[:80]} is not a [tag, value] element (a tag, its text or its "
                             "elements, and maybe its attributes)", "fix the task's meta, or remove it")
        head = el[0] + _attributes(el[2] if len(el) == 3 else {}, where)
        if isinstance(el[1], str):
            out += f"{pad}<{head}>{escape(el[1])}</{el[0]}>\n"
        else:
            out += f"{pad}<{head}>\n" + _elements(el[1], depth + 1, where) + f"{pad}</{el[0]}>\n"
    return out


def _document(img: Image, kept: Any, counts: dict[str, int]) -> str:
    """The XML file of ``img``; ``kept``: the image fields its VOC file gave (the task's ``meta.voc``),
    written back where they were (the defaults of :data:`_IMAGE_DEFAULTS` where it gave none)."""
    where = f"task {img.task_key!r}: meta.voc"
    if kept is None:
        kept = {}
    if not isinstance(kept, dict):
        raise UsageError(f"{where} is {type(kept).__name__}, not an object", "fix the task's meta, or remove it")
    f = {k: kept.get(k, v) for k, v in _IMAGE_DEFAULTS.items()}
    bad = [k for k, v in f.items() if not isinstance(v, str)]
    if bad:
        raise UsageError(f"{where}.{bad[0]} is {f[bad[0]]!r}, not a string", "fix the task's meta, or remove it")
    head = "<annotation" + _attributes(kept.get("attrib", {}), where + ".attrib")
    w, h = img.size("Pascal VOC")
    return (f"{head}>\n  <folder>{escape(f['folder'])}</folder>\n"
            f"  <filename>{escape(_base(img.file_name))}</filename>\n"
            + _elements(kept.get("elements"), 1, where + ".elements")
            + f"  <size>\n    <width>{w}</width>\n    <height>{h}</height>\n"
            f"    <depth>{escape(f['depth'])}</depth>\n  </size>\n  <segmented>{escape(f['segmented'])}</segmented>\n"
            + "".join(_object(o, img, counts) for o in img.objects) + "</annotation>\n")


def _base(file_name: str) -> str:
    return file_name.replace("\\", "/").rsplit("/", 1)[-1]


def xml_path(file_name: str) -> str:
    """Where an image's XML goes: ``Annotations/<stem>.xml`` (the file name's folders are not kept)."""
    return f"Annotations/{stem_key(_base(file_name))}.xml"


def write(picked: Picked, cfg: LabelingConfig | None, notes: list[str]) -> dict[str, bytes]:
    """The VOC folder of ``picked``: ``Annotations/<stem>.xml`` per image, and ``labels.txt``."""
    images = images_of(picked, cfg, "Pascal VOC", notes)
    check_kinds(images, ("box", "rotated box", "polygon", "mask"), "Pascal VOC", notes, keypoints=False)
    clip_boxes(images, "Pascal VOC", notes)
    unique_names(images, "Pascal VOC", xml_path)
    crowd = move_flag(images, "coco", "iscrowd", "voc", "difficult")
    if crowd:
        notes.append(f"{crowd} crowd region(s) (COCO iscrowd) were written with <difficult>1</difficult>: VOC has no "
                     "crowd flag, and its evaluation and trainers leave difficult objects out, as COCO's leaves crowd "
                     "regions out")
    note_kept(images, "Pascal VOC", notes, own="voc")
    names = categories(cfg, images, notes)
    counts: dict[str, int] = {}
    files: dict[str, bytes] = {}
    for img in images:
        doc = _document(img, picked.task_meta.get(img.task_key, {}).get("voc"), counts)
        files[xml_path(img.file_name)] = doc.encode("utf-8")
    clipped = counts.pop("clipped", 0)
    for k, n in sorted(counts.items()):
        notes.append(f"{n} {k} object(s) were written as the boxes around them (VOC holds boxes)")
    if clipped:
        notes.append(f"{clipped} of these boxes crossed the image's edge and were clipped to it")
    files["labels.txt"] = "".join(n + "\n" for n in names).encode("utf-8")
    files.update(split_lists(images, notes))
    return files


def _listable(images: list[Image], notes: list[str]) -> list[Image]:
    """Those of ``images`` whose stem a list's line holds as it is read (stripped, one a line); the
    others (a line break in the name, spaces at its ends) are in no list, said in ``notes``."""
    stems = [stem_key(_base(img.file_name)) for img in images]
    bad = [s for s in stems if s.splitlines() != [s] or s != s.strip()]
    if bad:
        notes.append(f"{len(bad)} image(s) whose name has a line break or spaces at its ends ({bad[0]!r}...) are in no "
                     f"{SPLIT_LIST.format('<split>')} list, which holds one name a line (read stripped): rename them "
                     "to list them")
    unlisted = set(bad)
    return [img for img, s in zip(images, stems) if s not in unlisted]


def split_lists(images: list[Image], notes: list[str]) -> dict[str, bytes]:
    """``ImageSets/Main/<split>.txt`` of ``images`` (their stems, as their XML files are named, in
    their order): one list per split (``data.split``; images without one beside others with one go to
    train, said in ``notes``) and ``trainval.txt``, train and val. Of images of no split, every stem
    in ``train.txt`` and ``trainval.txt`` (no ``val.txt``: there is no validation set of its own)."""
    images = _listable(images, notes)
    stems = [stem_key(_base(img.file_name)) for img in images]
    given = [split_of(img.data) for img in images]
    other = sorted({_base(img.file_name) for img in images if not _base(img.file_name).endswith(".jpg")})
    if other:
        notes.append(f"{len(other)} image(s) are not .jpg files ({other[0]!r}...): torchvision's VOCDetection and "
                     "mmdetection's VOCDataset open JPEGImages/<stem>.jpg for each stem the lists name")
    if not any(given):
        every = "".join(s + "\n" for s in stems).encode("utf-8")
        notes.append(f"no task has a split (data.split): {SPLIT_LIST.format('train')} and "
                     f"{SPLIT_LIST.format('trainval')} list every image; there is no val.txt or test.txt")
        return {SPLIT_LIST.format("train"): every, SPLIT_LIST.format("trainval"): every}
    of = or_train(given, notes, SPLIT_LIST.format("train"))
    out: dict[str, list[str]] = {}
    for stem, s in zip(stems, of):
        out.setdefault(s, []).append(stem)
        if s in ("train", "val"):
            out.setdefault("trainval", []).append(stem)
    notes.append("Pascal VOC: " + ", ".join(f"{s} {len(out[s])} image(s)" for s in (*SPLITS, "trainval") if s in out)
                 + f", listed in {SPLIT_LIST.format('<split>')}")
    return {SPLIT_LIST.format(s): "".join(x + "\n" for x in out[s]).encode("utf-8")
            for s in (*SPLITS, "trainval") if s in out}


def _text(el: "ET.Element", tag: str, where: str, required: bool = True) -> str | None:
    child = el.find(tag)
    if child is None or child.text is None or not child.text.strip():
        if required:
            raise InputError(f"{where}: no <{tag}>", f"give each object a <{tag}>")
        return None
    return child.text.strip()


def _coord(el: "ET.Element", tag: str, where: str) -> float:
    s = _text(el, tag, where)
    try:
        v = float(s or "")
    except ValueError:
        raise InputError(f"{where}: <{tag}> is {s!r}, not a number", "fix the box") from None
    if not math.isfinite(v):
        raise InputError(f"{where}: <{tag}> is {s!r}", "fix the box")
    return v


def _box(el: "ET.Element", where: str) -> dict[str, float]:
    b = el.find("bndbox")
    if b is None:
        raise InputError(f"{where}: no <bndbox>", "give each object a <bndbox>")
    box = {k: _coord(b, k, f"{where}, bndbox") for k in ("xmin", "ymin", "xmax", "ymax")}
    if box["xmin"] > box["xmax"] or box["ymin"] > box["ymax"]:
        axis = "x" if box["xmin"] > box["xmax"] else "y"
        raise InputError(f"{where}: {axis}min {box[axis + 'min']:g} > {axis}max {box[axis + 'max']:g}",
                         "swap the corners so that min <= max")
    return box


def _side(size: "ET.Element", tag: str, f: Path) -> int:
    """The image side ``<size><tag>`` in pixels; InputError naming the file when it is no whole
    number above 0, or an absurd one (``1e23``: its boxes would have come out as 0 percent)."""
    s = _text(size, tag, f"{f}: <size>")
    try:
        v: float | None = float(s or "")
    except ValueError:
        v = None
    why = "not a number" if v is None else side_problem(v)
    if why:
        raise fail(f, f"<size> <{tag}> is {s!r}: {why}", "give the image's width and height in pixels")
    return int(v or 0)


def _read_file(f: Path, folder: Folder) -> tuple[dict, list[str]]:
    folder.own(f)  # a link out of the folder, or a pipe: refused unread
    try:
        root = DET.parse(str(f), forbid_dtd=True).getroot()
    except defusedxml.DefusedXmlException as e:  # a DTD, an entity: never expanded, never fetched
        raise fail(f, f"refused: the XML declares a <!DOCTYPE> or <!ENTITY> ({type(e).__name__}), which a VOC "
                   "file has none of", "remove the <!DOCTYPE ...> declaration from the file") from None
    except Exception as e:  # ParseError
        raise fail(f, f"not readable XML: {e}", "fix the VOC file") from None
    if root.tag != "annotation":
        raise fail(f, f"root element is <{root.tag}>, not <annotation>", "give Pascal VOC XML")
    name = _text(root, "filename", str(f), required=False) or f.stem  # without <filename>: the XML file's stem
    refuse_control(name, f, "<filename>")
    size = root.find("size")
    if size is None:
        raise fail(f, "no <size>", "give the image width and height in <size>")
    w, h = (_side(size, k, f) for k in ("width", "height"))
    result, labels = [], []
    for i, ob in enumerate(root.findall("object")):
        item = _object_item(ob, f"{f}: object {i}", w, h)
        result.append(item)
        labels.append(item["value"]["rectanglelabels"][0])
    data: dict[str, Any] = {"image": name} if result else {"image": name, "width": w, "height": h}
    task: dict[str, Any] = {"id": stem_key(name), "data": data, "annotations": [{"result": result}]}
    kept = _image_kept(root, size)
    if kept:
        task["meta"] = {"voc": kept}
    return task, labels


def _image_kept(root: "ET.Element", size: "ET.Element") -> dict[str, Any]:
    """What the file says of its image beside its file name, size and objects, where it is not what the
    export writes anyway: the root's attributes (labelImg's ``verified``), ``folder``, ``segmented`` and
    ``size``'s ``depth`` other than the defaults, and the other elements (``path``, ``source``,
    ``owner``...) as :func:`_tree` keeps them."""
    kept: dict[str, Any] = {"attrib": {_local(k): v for k, v in root.attrib.items()}} if root.attrib else {}
    for k, default in _IMAGE_DEFAULTS.items():
        el = (size if k == "depth" else root).find(k)
        if el is not None and (el.text or "").strip() != default:
            kept[k] = (el.text or "").strip()
    others = [_tree(c) for c in root if c.tag not in ("filename", "size", "object", *_IMAGE_DEFAULTS)]
    if others:
        kept["elements"] = others
    return kept


def _object_item(ob: "ET.Element", where: str, w: int, h: int) -> dict[str, Any]:
    """The result item of one ``<object>``: its box, and in ``voc`` what else it says (:func:`_object`
    writes it back)."""
    label = _text(ob, "name", where) or ""
    b = _box(ob, where)
    kept: dict[str, Any] = {}
    for k in ("pose", "truncated", "difficult", "occluded"):
        v = _text(ob, k, where, required=False)
        if v is None:
            continue
        val: Any = _flag(v, where, k) if k != "pose" else v
        if _DEFAULTS.get(k) != val:
            kept[k] = val
    parts = [{"name": _text(p, "name", f"{where}, part") or "", "bndbox": _box(p, f"{where}, part")}
             for p in ob.findall("part")]
    if parts:
        kept["parts"] = parts
    acts = ob.find("actions")
    if acts is not None:
        kept["actions"] = {_local(a.tag): _flag((a.text or "0").strip(), f"{where}, actions", _local(a.tag))
                           for a in acts}  # without the namespace: the export writes the tag as a name
    others = [_tree(c) for c in ob if c.tag not in _OBJECT_TAGS]
    if others:
        kept["elements"] = others
    item: dict[str, Any] = {"from_name": "label", "to_name": "image", "type": "rectanglelabels",
                            "original_width": w, "original_height": h, "image_rotation": 0, "value": {
                                "x": pct(b["xmin"] / w * 100), "y": pct(b["ymin"] / h * 100),
                                "width": pct((b["xmax"] - b["xmin"]) / w * 100),
                                "height": pct((b["ymax"] - b["ymin"]) / h * 100), "rotation": 0,
                                "rectanglelabels": [label]}}
    if kept:
        item["voc"] = kept
    return item


def _flag(v: str, where: str, tag: str) -> int:
    """A VOC flag (``difficult``, ``truncated``, an action) as an integer."""
    try:
        return int(float(v))
    except (ValueError, OverflowError):
        raise InputError(f"{where}: <{tag}> is {v!r}, expected a number (0 or 1)", f"write <{tag}>0</{tag}> "
                         f"or <{tag}>1</{tag}>") from None


def read(root: Path) -> TrainInput:
    """Label Studio tasks and a config for the VOC folder (or one XML file) ``root``."""
    if root.is_file():
        files = [root]
    else:
        files = voc_files(root)
        if not files:
            raise fail(root, "no *.xml files", "give a Pascal VOC folder (Annotations/*.xml)")
    tasks, names = [], []
    folder = Folder(root)
    listed, warnings = _listed_splits(root, folder, {f.stem for f in files}) if root.is_dir() else ({}, [])
    for f in files:
        task, labels = _read_file(f, folder)
        if f.stem in listed:
            task["data"]["split"] = listed[f.stem]
        tasks.append(task)
        names += [lb for lb in dict.fromkeys(labels) if lb not in names]  # a file names a class once per object
    warnings += unlabeled(tasks, root, "<object>") + _renamed(files, tasks)
    return TrainInput(tasks, image_config(names, {"rectanglelabels"}), warnings=warnings)


def _renamed(files: list[Path], tasks: list[dict]) -> list[str]:
    """A warning where XML files name in ``<filename>`` an image of another stem than their own
    (mmdetection's test fixture ``000001.xml`` says ``000002.jpg``): the task is that image, keyed by
    its stem, where VOC's loaders open ``JPEGImages/<the XML file's stem>.jpg``."""
    other = [(f, t["data"]["image"]) for f, t in zip(files, tasks) if t["id"] != stem_key(f.name)]
    if not other:
        return []
    f, image = other[0]
    return [f"{len(other)} VOC file(s) name another image in <filename> than their own name (e.g. {f}: {image!r}): "
            "read as that image, keyed by its stem, and exported under it; torchvision's VOCDetection and "
            "mmdetection open JPEGImages/<the XML file's stem>.jpg instead"]


def _list_stems(p: Path, folder: Folder) -> list[tuple[str, int]]:
    """(stem, line number) of each line of the list file ``p`` (its text stripped, as torchvision's
    VOCDetection reads it; blank lines skipped)."""
    lines = utf8_text(folder.own(p)).splitlines()
    return [(ln.strip(), n) for n, ln in enumerate(lines, 1) if ln.strip()]


def _listed_splits(root: Path, folder: Folder, stems: set[str]) -> tuple[dict[str, str], list[str]]:
    """XML file stem -> split, from ``ImageSets/Main/{train,val,test}.txt`` of the folder ``root``, and
    the warnings: stems a list names that have no XML file (VOC's test lists name images whose
    annotations are withheld), a ``trainval.txt`` that is not train and val. A stem in two splits'
    lists is an InputError naming both files and the stem: an image in two splits is a leak between
    training and evaluation that no choice of annover's would mend. Lists that make every image train
    (and none val or test) give no split: they are what the export writes for a version of none, and
    the export writes the same lists for either, so the version read back is the one written."""
    base = root / "ImageSets" / "Main"
    where: dict[str, tuple[str, Path, int]] = {}
    for s in SPLITS:
        p = base / f"{s}.txt"
        if not p.is_file():
            continue
        for stem, n in _list_stems(p, folder):
            first = where.setdefault(stem, (s, p, n))
            if first[0] != s:
                raise fail(p, f"line {n}: {stem!r} is also in {first[1]} (line {first[2]}): an image is in one "
                           "split", "remove it from one of the two lists")
    added, warnings = _trainval(base / "trainval.txt", folder, where)
    missing = [s for s in where if s not in stems]
    if missing:
        warnings.append(f"{base}: {len(missing)} image(s) the lists name have no annotation file "
                        f"(Annotations/{missing[0]}.xml...): they are not in the version")
    if {s for s, _, _ in where.values()} == {"train"} and stems <= where.keys():
        return {}, warnings  # every image train: what the export writes for a version of no split
    if added:
        warnings.append(f"{base / 'trainval.txt'}: {added} image(s) it lists are in neither train.txt nor val.txt: "
                        "recorded as split train (the export writes them to train.txt and trainval.txt)")
    return {stem: s for stem, (s, _, _) in where.items()}, warnings


def _trainval(p: Path, folder: Folder, where: dict[str, tuple[str, Path, int]]) -> tuple[int, list[str]]:
    """Read ``trainval.txt`` beside the splits' lists ``where``: a stem it names that neither train.txt
    nor val.txt does is train (added to ``where``; in test.txt, an InputError). How many were added,
    and the warning of the images of train.txt and val.txt it lacks."""
    if not p.is_file():
        return 0, []
    stems = _list_stems(p, folder)
    added = set()
    for stem, n in stems:
        first = where.setdefault(stem, ("train", p, n))
        if first[0] == "test":
            raise fail(p, f"line {n}: {stem!r} is also in {first[1]} (line {first[2]}): an image is in one "
                       "split", "remove it from one of the two lists")
        if first[1] == p:
            added.add(stem)
    warnings = []
    named = {s for s, _ in stems}
    lacking = [s for s, (sp, _, _) in where.items() if sp in ("train", "val") and s not in named]
    if lacking:
        warnings.append(f"{p}: it lacks {len(lacking)} image(s) of train.txt or val.txt ({lacking[0]!r}...): the "
                        "export writes trainval.txt as train and val")
    return len(added), warnings
