"""``annover export --images DIR``: a YOLO, VOC or COCO folder with its images in it, ready to train
on, or a Hugging Face dataset holding them.

A folder export holds one label file per image (YOLO ``labels/.../x.txt``, VOC
``Annotations/x.xml``, its splits' lists ``ImageSets/Main/<split>.txt`` naming the stems the images
are found by); a COCO export with its images is a folder too, its JSON as
``annotations.json`` beside ``images/``, each image at ``images/<file_name>`` (the ``file_name``
the JSON gives it, the same as without ``--images``); of a version whose tasks have splits, each
split's JSON ``annotations/instances_<split>.json`` and its images ``<split>/<file_name>``, as COCO
2017 lays out ``train2017/``. The images are the tasks' files. They are
found in ``DIR`` by the path the task's data gives (its longest tail that names a file there:
``/data/local-files/?d=imgs/a.jpg``, ``s3://bucket/imgs/a.jpg`` and ``imgs/a.jpg`` all find
``DIR/imgs/a.jpg``, or ``DIR/a.jpg``) and put where the format's trainers look for them: YOLO
``images/.../x.jpg`` beside ``labels/``, VOC ``JPEGImages/x.jpg``, COCO ``images/<file_name>`` (or
``<split>/<file_name>``).
Each is a hard link to the file where the file system allows one (no space used), else a copy.
Hugging Face: the image column becomes a ``datasets.Image`` of those files, their bytes copied
into the dataset by ``save_to_disk``. A task that records the sha256 of its file (``data_hash``: a
version linked to its source data, ``snapshot --source``) gets exactly that content or the export
stops: the images must be the ones the version was labeled on.

Everything is found and checked before anything is written.
"""

from __future__ import annotations

import errno
import json
import os
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Callable

from annover._lazy import lazy
from annover.errors import InputError, NotFoundError, UsageError
from annover.files import dvc_cache_object, sha256_file
from annover.formats import Format
from annover.model.config import LabelingConfig

if TYPE_CHECKING:  # pragma: no cover
    import datasets
    import pyarrow as pa

    from annover.formats import coco, hf, images, images_size, voc, yolo
else:  # the training formats' writers and image helpers: only for an export with --images
    coco = lazy("annover.formats.coco")
    hf = lazy("annover.formats.hf")
    images = lazy("annover.formats.images")
    images_size = lazy("annover.formats.images_size")
    voc = lazy("annover.formats.voc")
    yolo = lazy("annover.formats.yolo")

__all__ = ["COCO_IMAGES", "COCO_JSON", "WITH_IMAGES", "Mismatch", "Placed", "check_images_option", "find_images",
           "label_files", "place_images", "with_images"]

#: the formats ``--images`` fills: folders whose trainers read images beside the labels (COCO: a
#: folder of its JSON and its images, as detectron2, mmdetection and torchvision read one; Hugging Face:
#: the image column a ``datasets.Image``, the images' bytes in the dataset)
WITH_IMAGES = (Format.YOLO, Format.YOLO_OBB, Format.VOC, Format.COCO, Format.HF)
#: a COCO export with its images: the JSON's name in the folder, and the folder its ``file_name``\ s are below
COCO_JSON = "annotations.json"
COCO_IMAGES = "images"

#: where a hard link cannot be made, and a copy is
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES}


@dataclass(frozen=True)
class Mismatch:
    """An image whose size (``actual``, as shown: EXIF orientation applied) is not the one its labels
    record (``recorded``: Label Studio's original_width x original_height)."""

    task: str
    file: str
    recorded: tuple[int, int]
    actual: tuple[int, int]

    def to_json(self) -> dict:
        return {"task": self.task, "file": self.file,
                "recorded": {"width": self.recorded[0], "height": self.recorded[1]},
                "actual": {"width": self.actual[0], "height": self.actual[1]}}

    def said(self) -> str:
        """What is wrong, as the warning or the error names it."""
        return (f"task {self.task!r}: {self.file} is {self.actual[0]}x{self.actual[1]} pixels, but its labels were "
                f"made on a {self.recorded[0]}x{self.recorded[1]} image (original_width x original_height)")

    def warning(self) -> str:
        """:meth:`said`, and whether the image is a resized copy (the same shape, to a pixel), which a
        YOLO export's boxes, fractions of the image, still fit."""
        (aw, ah), (rw, rh) = self.actual, self.recorded
        return self.said() + (": a resized copy? its boxes, fractions of the image, still fit it"
                              if abs(aw * rh - ah * rw) <= max(rw, rh) else
                              ": not the same shape: another image, or another crop, which its boxes do not fit")


#: the images of another size than their labels' a warning names one by one (then counts)
SIZES_SAID = 5


@dataclass
class Placed:
    """The images an export puts in its folder: path in the folder -> the file found for it."""

    files: dict[str, str]  # path in the folder (Hugging Face: the row's task key) -> the file found for it
    checked: int  # how many were checked against the sha256 the version recorded
    size: int = 0  # their bytes
    linked: int = 0
    copied: int = 0
    #: YOLO: the images whose size is not the one their labels were made on (COCO and VOC refuse them)
    mismatched: list[Mismatch] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"images": len(self.files), "checked": self.checked, "linked": self.linked, "copied": self.copied,
                "size_mismatches": [m.to_json() for m in self.mismatched]}

    def warnings(self) -> list[str]:
        """A warning for each image (up to :data:`SIZES_SAID`, then their count) whose size is not the one
        its labels were made on, which a YOLO export keeps (COCO and VOC refuse them)."""
        found = self.mismatched
        more = [f"and {len(found) - SIZES_SAID} more image(s) of another size than their labels' ({len(found)} in "
                "all; --json lists them: images.size_mismatches)"] if len(found) > SIZES_SAID else []
        return [m.warning() for m in found[:SIZES_SAID]] + more


def check_images_option(fmt: str, out: "str | Path", predictions: str | None) -> None:
    """Refuse ``--images`` where it cannot give a folder to train on (exit 2), before anything is read."""
    if fmt not in WITH_IMAGES:
        raise UsageError(f"--images is for the formats {', '.join(WITH_IMAGES)}, not {fmt}",
                         "leave --images out, or export --format yolo, voc, coco or hf")
    if str(out) == "-":
        raise UsageError(f"--images: {fmt} with its images is a folder, which cannot go to standard output "
                         "('--out -')", "give --out a folder")
    if fmt != Format.COCO:
        return
    if predictions is not None:
        raise UsageError("--images with --predictions: COCO's results list names no image file",
                         "export the ground truth with --images, and the predictions without it")
    if Path(out).suffix.lower() == ".json":
        raise UsageError(f"--out {out}: with --images, COCO is a folder ({COCO_JSON} and {COCO_IMAGES}/), not a "
                         ".json file", "give --out a folder name (v3-coco), or leave --images out")


def label_files(fmt: str, files: dict[str, bytes] | None, data: bytes | None) -> dict[str, bytes]:
    """The files of the export's folder before its images: the label files, COCO's JSON as
    ``annotations.json`` or, for a version with splits, its JSON per split (``files``: one
    ``annotations/instances_<split>.json`` each; Hugging Face: none, ``save_to_disk`` writes the folder)."""
    if fmt == Format.COCO and not files:
        assert data is not None
        return {COCO_JSON: data}
    return files or {}


def with_images(dataset: "datasets.Dataset", placed: Placed, cfg_text: str | None) -> "datasets.Dataset":
    """The Hugging Face ``dataset`` with its image column the images ``placed`` (their bytes copied into
    the dataset as ``save_to_disk`` writes it)."""
    cfg = LabelingConfig(cfg_text, source="the version's labeling config", validate=False) if cfg_text else None
    keys = dataset.data.column("task_key").to_pylist()
    placed.copied = len(placed.files)
    return hf.with_images(dataset, _image_object(cfg), [placed.files.get(k) for k in keys])


def _image_object(cfg: LabelingConfig | None) -> str:
    """The task data field the labeling config's one <Image> reads (exit 2 for a config of none)."""
    fields = [o.field for o in (cfg.objects.values() if cfg is not None else []) if o.tag == "Image"]
    if not fields:
        raise UsageError("--images: the version's labeling config labels no <Image>",
                         "leave --images out: the tasks have no images to put in the dataset")
    return fields[0]


def _destination(fmt: str, file_name: str, data: dict) -> tuple[str, str]:
    """(where the image goes in the folder, the label file the writer made for it)."""
    if fmt == Format.VOC:
        return "JPEGImages/" + file_name.replace("\\", "/").rsplit("/", 1)[-1], voc.xml_path(file_name)
    path = yolo.image_path(file_name, yolo.split_of(data))
    return path, yolo.label_path(path)


def _index(root: Path, skip: Path | None = None) -> dict[str, list[str]]:
    """Every file below ``root`` (links followed to files, as a trainer reads them) by each tail of its
    relative path (``a/b/c.jpg``, ``b/c.jpg``, ``c.jpg``); none of the export's own folder ``skip`` (an
    earlier export there, its temporary folder)."""
    by: dict[str, list[str]] = {}
    real = Path(os.path.realpath(root))
    stack: list[tuple[str, list[str]]] = [(str(root), [])]
    while stack:
        folder, parts = stack.pop()
        beside = skip is not None and real.joinpath(*parts) == skip.parent  # where the export's folders are
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            if beside and _under(real.joinpath(*parts, e.name), skip):  # type: ignore[arg-type]
                continue
            if e.is_dir(follow_symlinks=False):
                stack.append((e.path, [*parts, e.name]))
            elif e.is_file():
                path = [*parts, e.name]
                for i in range(len(path)):
                    by.setdefault("/".join(path[i:]), []).append(e.path)
    return by


def _under(f: Path, out: Path) -> bool:
    """Whether ``f`` is in the export folder ``out`` or the temporary folder it is written in first."""
    return any(p == out or (p.parent == out.parent and p.name.startswith(f".{out.name}.")) for p in (f, *f.parents))


#: (task key, image value, place in the folder, recorded sha256, the size its labels were made on)
Wanted = tuple[str, str, str, "str | None", "tuple[int, int] | None"]
#: a VOC file's size, as :func:`annover.formats.voc.write` writes it
_VOC_SIZE = re.compile(rb"<size>\s*<width>(\d+)</width>\s*<height>(\d+)</height>")


def _wanted(fmt: str, tasks: "pa.Table", cfg_text: str | None, files: dict[str, bytes],
            rows: list[str] | None = None) -> list[Wanted]:
    """(task key, image value, place in the folder, recorded sha256, recorded size) of each image the
    folder's label files stand for (Hugging Face: of each row, by its task key, ``rows``; no size). The
    size is the one the folder's labels give: YOLO's sizes.json, VOC's ``<size>``, COCO's ``images``."""
    cfg = LabelingConfig(cfg_text, source="the version's labeling config", validate=False) if cfg_text else None
    if cfg is not None and sum(o.tag == "Image" for o in cfg.objects.values()) > 1:
        raise UsageError("--images: the labeling config has several <Image> objects; a YOLO, VOC or COCO folder "
                         "holds one image a task", "export without --images and place the images yourself")
    hashes = tasks.column("data_hash").to_pylist() if "data_hash" in tasks.column_names else [None] * tasks.num_rows
    if fmt == Format.COCO:
        return _coco_wanted(tasks, cfg, files, hashes)
    if fmt == Format.HF:
        return _hf_wanted(tasks, cfg, rows or [], hashes)
    sizes = json.loads(files["sizes.json"]) if fmt != Format.VOC and "sizes.json" in files else {}
    out: list[Wanted] = []
    for key, data_json, h in zip(tasks.column("task_key").to_pylist(), tasks.column("data").to_pylist(), hashes):
        data = json.loads(data_json)
        try:
            value = data[images.image_field(cfg, data, None)]
        except (InputError, KeyError):
            continue  # no image: the writers wrote no label file for it either
        dest, label = _destination(fmt, images.file_name_of(value), data)
        if label in files:
            found = _VOC_SIZE.search(files[label]) if fmt == Format.VOC else None
            size = (int(found[1]), int(found[2])) if found else (sizes[dest]["width"], sizes[dest]["height"]) \
                if dest in sizes else None
            out.append((key, str(value), dest, h, size))
    return out


def _hf_wanted(tasks: "pa.Table", cfg: LabelingConfig | None, rows: list[str], hashes: list) -> list[Wanted]:
    """(task key, image value, the task key, recorded sha256) of each row of the Hugging Face dataset
    whose task names an image."""
    field = _image_object(cfg)
    keys = tasks.column("task_key").to_pylist()
    at = {k: i for i, k in enumerate(keys)}
    datas = tasks.column("data").to_pylist()
    out = []
    for key in rows:
        value = json.loads(datas[at[key]]).get(field)
        if value is not None:
            out.append((key, str(value), key, hashes[at[key]], None))
    return out


def _coco_wanted(tasks: "pa.Table", cfg: LabelingConfig | None, files: dict[str, bytes],
                 hashes: list) -> list[Wanted]:
    """(task key, image value, place in the folder, recorded sha256) of each image of the COCO JSON
    (``images/<file_name>``) or of each split's (``<split>/<file_name>``, as COCO 2017 puts
    ``train2017/``), its task found by its image id (numbered as :func:`annover.formats.coco.image_ids`
    numbers them)."""
    keys = tasks.column("task_key").to_pylist()
    datas = [json.loads(d) for d in tasks.column("data").to_pylist()]
    row = {k: i for i, k in enumerate(keys)}
    task_of = {iid: k for k, iid in coco.image_ids(keys, datas).items()}
    docs = [(COCO_IMAGES, files[COCO_JSON])] if COCO_JSON in files else \
        [(s, files[coco.SPLIT_JSON.format(s)]) for s in yolo.SPLITS if coco.SPLIT_JSON.format(s) in files]
    out: list[Wanted] = []
    for folder, doc_bytes in docs:
        for im in json.loads(doc_bytes)["images"]:
            key = task_of[im["id"]]
            data = datas[row[key]]
            size = (im["width"], im["height"]) if im.get("width") and im.get("height") else None
            out.append((key, str(data[images.image_field(cfg, data, None)]), _coco_place(folder, im["file_name"], key),
                        hashes[row[key]], size))
    return out


def _coco_place(folder: str, name: str, key: str) -> str:
    """Where the image of COCO ``file_name`` ``name`` goes: below ``folder``, which it must not leave."""
    if name.startswith("/") or ".." in name.split("/"):
        raise UsageError(f"--images: task {key!r}: its COCO file_name {name!r} would put its image outside "
                         f"{folder}/", "give the tasks image names without '..' parts")
    if not name.strip("/.") or name.endswith("/") or "\0" in name:
        raise UsageError(f"--images: task {key!r}: its COCO file_name {name!r} names no file",
                         "give the tasks image names a file can have")
    return posixpath.normpath(f"{folder}/{name}")


def find_images(fmt: str, images_dir: str | Path, tasks: "pa.Table", cfg_text: str | None, files: dict[str, bytes],
                progress: Callable[[int, int], None] | None = None, out: Path | None = None,
                rows: list[str] | None = None, fetch: str | None = None) -> Placed:
    """The file of ``images_dir`` for each image of the folder ``files`` (Hugging Face: of the dataset's
    rows, their task keys ``rows``): found by its tail, and checked against the sha256 the task recorded
    (exit 14 for one not found, 3 for one that differs). ``fetch``: how to get the version's images, the
    hint of a folder or image not found (a version linked to source data DVC tracks)."""
    if fmt not in WITH_IMAGES:
        raise UsageError(f"--images is for the formats {', '.join(WITH_IMAGES)}, not {fmt}",
                         "leave --images out, or export --format yolo, voc, coco or hf")
    root = Path(images_dir)
    if not root.is_dir():
        raise NotFoundError(f"--images {images_dir}: no such folder",
                            fetch or "give the folder the tasks' images are in")
    skip = None if out is None else Path(os.path.realpath(Path(out).parent)) / Path(out).name
    if skip is not None and _under(Path(os.path.realpath(root)), skip):
        raise UsageError(f"--images {images_dir} is --out {out} or inside it: the export replaces --out, and the "
                         "images' folder with it", "give --out a folder outside the images' folder")
    index = _index(root, skip)
    wanted = _wanted(fmt, tasks, cfg_text, files, rows)
    tails = [images.path_tails(w[1]) for w in wanted]
    lost = [(w[0], w[1]) for w, ts in zip(wanted, tails) if not any(t in index for t in ts)]
    if lost:
        more = f" (and {len(lost) - 1} more)" if len(lost) > 1 else ""
        raise NotFoundError(f"--images {images_dir}: task {lost[0][0]!r}: its image {lost[0][1]!r} is in no file "
                            f"below it{more}", fetch or "give the folder the tasks' images are in (the path the "
                            "task gives, or its file name, below it)")
    found: dict[str, str] = {}
    whose: dict[str, str] = {}  # path in the folder -> the task whose image it is
    mismatched: list[Mismatch] = []
    checked = size = 0
    for n, ((key, value, dest, h, recorded), ts) in enumerate(zip(wanted, tails), 1):
        f = _one(index, ts, key, value, h, root)
        _no_stray_link(f, root)
        actual = images_size.image_size(f) if recorded else None
        if actual and actual != recorded:
            mismatched.append(Mismatch(key, f, recorded, actual))  # type: ignore[arg-type]
        if h:
            if sha256_file(f) != h:
                raise InputError(f"{f}: not the image task {key!r} was labeled on (its sha256 differs from the "
                                 "version's data_hash)", "check out the version's data (git checkout REV -- DATA.dvc "
                                 "&& dvc checkout), or give --images the folder of those images")
            checked += 1
        if dest in found:  # COCO: two tasks whose file_name is one (s3://a/x.jpg, s3://b/x.jpg)
            _one_file(dest, found[dest], f, whose[dest], key)
        else:
            found[dest], whose[dest] = f, key
            size += os.stat(f).st_size
        if progress is not None:
            progress(n, len(wanted))
    _check_nested(whose)
    _check_sizes(fmt, root, mismatched)
    return Placed(found, checked, size, mismatched=mismatched)


def _check_sizes(fmt: str, root: Path, mismatched: list[Mismatch]) -> None:
    """Refuse (exit 3) for COCO and VOC images whose size is not the one their labels were made on: those
    formats' boxes are pixels of that size, and every one of them would miss in the image put beside it
    (a wrong image, or a resized copy). YOLO's boxes are fractions of the image: said, not refused."""
    if not mismatched or fmt not in (Format.COCO, Format.VOC):
        return
    more = f" (and {len(mismatched) - 1} more image(s))" if len(mismatched) > 1 else ""
    raise InputError(f"--images {root}: {mismatched[0].said()}{more}: every {fmt.upper()} box of it, in pixels of that "
                     "size, would miss", "give --images the images the tasks were labeled on (a resized copy: "
                     "--format yolo, whose boxes are fractions of the image), or fix original_width/original_height "
                     "and snapshot again")


def _no_stray_link(f: str, root: Path) -> None:
    """Refuse (exit 3) an image that is a link out of ``root`` to a file named as no image, not a DVC
    cache object (``cat.jpg -> ~/.aws/credentials``: a link a repository's author can commit): the
    export would put that file in the folder, or its bytes in the dataset, to be sent for training."""
    if not os.path.islink(f):
        return
    real = os.path.realpath(f)
    if real.startswith(os.path.realpath(root).rstrip(os.sep) + os.sep) or dvc_cache_object(real) \
            or real.lower().endswith(yolo.IMAGE_SUFFIXES):
        return
    raise InputError(f"--images: {f} is a link to {real}, outside {root} and not named as an image; annover "
                     "puts no such file in an export", "put the image itself there, or remove the link")


def _check_nested(whose: dict[str, str]) -> None:
    """Refuse (exit 2) two images of which one would be a folder the other is in (task images ``x.jpg``
    and ``x.jpg/y.jpg``): the folder cannot be written, and the error would blame ``--out``."""
    for dest, key in whose.items():
        for parent in PurePosixPath(dest).parents:
            if str(parent) in whose:
                raise UsageError(f"--images: task {key!r}: its image would be {dest}, inside {parent}, which is a "
                                 f"file: the image of task {whose[str(parent)]!r}",
                                 "give the tasks image names of which none is a folder of another, or export "
                                 "without --images")


def _one_file(dest: str, first: str, other: str, first_key: str, key: str) -> None:
    """Two tasks' images that would be one file ``dest`` of the folder: the same file (or the same
    bytes) is put there once; two that differ are refused (exit 2)."""
    if os.path.samefile(first, other) or sha256_file(first) == sha256_file(other):
        return
    raise UsageError(f"--images: tasks {first_key!r} and {key!r} would both be {dest}, and their images differ "
                     f"({first}, {other})", "give the tasks distinct image file names (a folder in the name keeps "
                     "them apart), or export without --images")


def _one(index: dict[str, list[str]], tails: list[str], key: str, value: str, h: str | None, root: Path) -> str:
    """The one file ``value`` names below ``root``: its longest tail found there (by the recorded
    sha256 where that tail names several files)."""
    for tail in tails:
        got = index.get(tail)
        if not got:
            continue
        if len(got) > 1 and h:
            got = [f for f in got if sha256_file(f) == h] or got
        if len(got) > 1:
            raise InputError(f"--images {root}: task {key!r}: its image {value!r} could be {got[0]} or {got[1]}",
                             "give --images the folder whose paths match the tasks' (or a folder with one of them)")
        return got[0]
    raise AssertionError(f"{value!r} was found by find_images")  # pragma: no cover - lost ones are refused first


def place_images(folder: Path, placed: Placed) -> None:
    """Put each image in ``folder`` (a new export folder): a hard link where one can be made, else a copy."""
    made: set[str] = set()
    for rel, found in placed.files.items():
        if rel.startswith("/") or ".." in rel.split("/"):  # as the label files' paths are refused
            raise UsageError(f"the export would write {rel!r}, outside its folder", "give the tasks image names "
                             "without '..' parts")
        dest = os.path.join(folder, rel)
        parent = os.path.dirname(dest)
        if parent not in made:  # each folder made once, not once an image
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        # a symlink's file: os.link links the symlink itself (a relative one breaks)
        src = os.path.realpath(found) if os.path.islink(found) else str(found)
        try:
            os.link(src, dest)
            placed.linked += 1
        except OSError as e:
            if e.errno not in _NO_LINK:
                raise
            shutil.copyfile(src, dest)
            placed.copied += 1
