"""``annover export --images DIR``: a YOLO or VOC folder with its images in it, ready to train on.

A folder export holds one label file per image (YOLO ``labels/.../x.txt``, VOC
``Annotations/x.xml``); the images are the tasks' files. They are found in ``DIR`` by the path
the task's data gives (its longest tail that names a file there: ``/data/local-files/?d=imgs/a.jpg``,
``s3://bucket/imgs/a.jpg`` and ``imgs/a.jpg`` all find ``DIR/imgs/a.jpg``, or ``DIR/a.jpg``) and put
where the format's trainers look for them: YOLO ``images/.../x.jpg`` beside ``labels/``, VOC
``JPEGImages/x.jpg``. Each is a hard link to the file where the file system allows one (no
space used), else a copy. A task that records the sha256 of its file (``data_hash``: a version
linked to its source data, ``snapshot --source``) gets exactly that content or the export stops:
the images must be the ones the version was labeled on.

Everything is found and checked before anything is written.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from annover.errors import InputError, NotFoundError, UsageError
from annover.files import sha256_file
from annover.formats import Format
from annover.formats.images import file_name_of, image_field, path_tails
from annover.formats import voc, yolo
from annover.model.config import LabelingConfig

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["WITH_IMAGES", "Placed", "find_images", "place_images"]

#: the formats ``--images`` fills: folders whose trainers read images beside the labels
WITH_IMAGES = (Format.YOLO, Format.YOLO_OBB, Format.VOC)

#: where a hard link cannot be made, and a copy is
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES}


@dataclass
class Placed:
    """The images an export puts in its folder: path in the folder -> the file found for it."""

    files: dict[str, str]  # path in the folder -> the file found for it
    checked: int  # how many were checked against the sha256 the version recorded
    size: int = 0  # their bytes
    linked: int = 0
    copied: int = 0

    def to_json(self) -> dict:
        return {"images": len(self.files), "checked": self.checked, "linked": self.linked, "copied": self.copied}


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


def _wanted(fmt: str, tasks: "pa.Table", cfg_text: str | None,
            files: dict[str, bytes]) -> list[tuple[str, str, str, str | None]]:
    """(task key, image value, place in the folder, recorded sha256) of each image the folder's
    label files stand for."""
    cfg = LabelingConfig(cfg_text, source="the version's labeling config", validate=False) if cfg_text else None
    if cfg is not None and sum(o.tag == "Image" for o in cfg.objects.values()) > 1:
        raise UsageError("--images: the labeling config has several <Image> objects; a YOLO or VOC folder holds one "
                         "image a task", "export without --images and place the images yourself")
    out = []
    hashes = tasks.column("data_hash").to_pylist() if "data_hash" in tasks.column_names else [None] * tasks.num_rows
    for key, data_json, h in zip(tasks.column("task_key").to_pylist(), tasks.column("data").to_pylist(), hashes):
        data = json.loads(data_json)
        try:
            value = data[image_field(cfg, data, None)]
        except (InputError, KeyError):
            continue  # no image: the writers wrote no label file for it either
        dest, label = _destination(fmt, file_name_of(value), data)
        if label in files:
            out.append((key, str(value), dest, h))
    return out


def find_images(fmt: str, images_dir: str | Path, tasks: "pa.Table", cfg_text: str | None, files: dict[str, bytes],
                progress: Callable[[int, int], None] | None = None, out: Path | None = None) -> Placed:
    """The file of ``images_dir`` for each image of the folder ``files``: found by its tail, and
    checked against the sha256 the task recorded (exit 14 for one not found, 3 for one that differs)."""
    if fmt not in WITH_IMAGES:
        raise UsageError(f"--images is for the folder formats {', '.join(WITH_IMAGES)}, not {fmt}",
                         "leave --images out, or export --format yolo or voc")
    root = Path(images_dir)
    if not root.is_dir():
        raise NotFoundError(f"--images {images_dir}: no such folder", "give the folder the tasks' images are in")
    skip = None if out is None else Path(os.path.realpath(Path(out).parent)) / Path(out).name
    if skip is not None and _under(Path(os.path.realpath(root)), skip):
        raise UsageError(f"--images {images_dir} is --out {out} or inside it: the export replaces --out, and the "
                         "images' folder with it", "give --out a folder outside the images' folder")
    index = _index(root, skip)
    wanted = _wanted(fmt, tasks, cfg_text, files)
    tails = [path_tails(value) for _, value, _, _ in wanted]
    lost = [(w[0], w[1]) for w, ts in zip(wanted, tails) if not any(t in index for t in ts)]
    if lost:
        more = f" (and {len(lost) - 1} more)" if len(lost) > 1 else ""
        raise NotFoundError(f"--images {images_dir}: task {lost[0][0]!r}: its image {lost[0][1]!r} is in no file "
                            f"below it{more}", "give the folder the tasks' images are in (the path the task "
                            "gives, or its file name, below it)")
    found: dict[str, str] = {}
    checked = size = 0
    for n, ((key, value, dest, h), ts) in enumerate(zip(wanted, tails), 1):
        f = _one(index, ts, key, value, h, root)
        if h:
            if sha256_file(f) != h:
                raise InputError(f"{f}: not the image task {key!r} was labeled on (its sha256 differs from the "
                                 "version's data_hash)", "check out the version's data (git checkout REV -- DATA.dvc "
                                 "&& dvc checkout), or give --images the folder of those images")
            checked += 1
        found[dest] = f
        size += os.stat(f).st_size
        if progress is not None:
            progress(n, len(wanted))
    return Placed(found, checked, size)


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
