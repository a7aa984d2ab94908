"""A YOLO import reads each image's size from its header (:func:`annover.formats.images_size.image_size`,
as stored: ``turned=False``), the size Pillow's ``Image.open(p).size`` gives and Ultralytics' coordinates are
relative to: an EXIF orientation does not swap the sides. The shared corpus's YOLO folders with images of the
sizes their sizes.json records, and generated images of every kind, EXIF orientation 6 among them."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from annover.formats import yolo
from annover.formats.images_size import image_size

from .conftest import shared_corpus

CORPUS = shared_corpus("formats")
FOLDERS = sorted(p.name for p in CORPUS.glob("yolo_*")) if CORPUS.is_dir() else []


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def _image(p: Path, size: tuple[int, int], orientation: int | None = None) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, (200, 30, 30))
    kind = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".gif": "GIF", ".webp": "WEBP",
            ".tif": "TIFF", ".tiff": "TIFF"}[p.suffix.lower()]
    im.save(p, kind, **({"exif": _exif(orientation)} if orientation else {}))


def _read_sizes(root: Path) -> dict[str, tuple[int, int]]:
    """image -> (width, height) as the import gives it: its regions' original size, else a background's."""
    out = {}
    for task in yolo.read(root).tasks:
        d = task["data"]
        for r in task["annotations"][0]["result"]:
            out[d["image"]] = (r["original_width"], r["original_height"])
        if "width" in d:
            out[d["image"]] = (d["width"], d["height"])
    return out


def _pillow_sizes(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for p in sorted((root / "images").rglob("*")):
        if p.is_file():
            with Image.open(p) as im:
                out[p.relative_to(root).as_posix()] = im.size
    return out


@pytest.mark.skipif(not FOLDERS, reason="the shared corpus of training formats is not here")
@pytest.mark.parametrize("name", FOLDERS)
def test_the_corpus_folders_with_their_images_read_the_sizes_pillow_reads(tmp_path, name):
    root = tmp_path / name
    shutil.copytree(CORPUS / name, root)
    recorded = json.loads((root / "sizes.json").read_text())
    (root / "sizes.json").unlink()  # the sizes are now read from the images' headers
    for i, (img, s) in enumerate(sorted(recorded.items())):
        _image(root / img, (s["width"], s["height"]), orientation=6 if i % 2 else None)
    want = _pillow_sizes(root)
    assert want == {img: (s["width"], s["height"]) for img, s in recorded.items()}
    assert _read_sizes(root) == want


KINDS = [".jpg", ".jpeg", ".png", ".webp", ".tif", ".bmp", ".gif"]


def test_generated_images_of_every_kind_turned_or_not_read_as_stored(tmp_path):
    """EXIF orientation 6 (a portrait photo stored sideways) is where the shown and stored sizes differ:
    the import takes the stored one, as Ultralytics does; an image without labels (background) too."""
    root = tmp_path / "y"
    (root / "classes.txt").parent.mkdir(parents=True)
    (root / "classes.txt").write_text("cat\n")
    for i, ext in enumerate(KINDS):
        for turn in (None, 6, 8, 3):
            if turn and ext in (".bmp", ".gif"):  # no EXIF in these
                continue
            stem = f"{ext[1:]}_{turn or 1}"
            _image(root / "images" / f"{stem}{ext}", (40 + 7 * i, 20 + i), turn)
            if turn != 8:  # orientation 8 stays a background image
                (root / "labels").mkdir(exist_ok=True)
                (root / "labels" / f"{stem}.txt").write_text("0 0.5 0.5 0.2 0.3\n")
    want = _pillow_sizes(root)
    assert len(want) == 22
    assert _read_sizes(root) == want
    for img, size in want.items():
        assert image_size(root / img, turned=False) == size
        # Pillow's size of a TIFF is already turned (its decoder applies the orientation): shown as it is
        turned = ("_6." in img or "_8." in img) and not img.endswith(".tif")
        assert image_size(root / img) == (size[::-1] if turned else size), img


def _png_header_only(p: Path, width: int, height: int) -> None:
    """A PNG whose header says ``width`` x ``height`` (its one row of data is short: no reader decodes it here)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) +
                  chunk(b"IEND", b""))


def test_a_very_large_image_is_read_from_its_header(tmp_path):
    """An aerial image of 20000 x 12000 pixels: Pillow's open refuses it as a decompression bomb (above twice
    its MAX_IMAGE_PIXELS), which stopped the import with a traceback; its header gives the size."""
    root = tmp_path / "y"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "classes.txt").write_text("field\n")
    _png_header_only(root / "images" / "big.png", 20000, 12000)
    (root / "labels" / "big.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    assert 20000 * 12000 > 2 * Image.MAX_IMAGE_PIXELS
    assert _read_sizes(root) == {"images/big.png": (20000, 12000)}
