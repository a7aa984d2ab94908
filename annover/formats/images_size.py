"""An image file's size in pixels as a viewer shows it, read from its header only.

``annover export --images`` compares it with the size the labels were made on (Label Studio's
``original_width`` / ``original_height``): the pixel boxes of COCO and VOC are that size's. PNG and
JPEG, the images labeled nearly always, are read here from their first bytes (PNG's IHDR and the
chunks before its data, JPEG's segments up to its frame header): about 20 us a file, a quarter of
what Pillow's ``open`` costs. Any other kind goes through Pillow, which opens a file lazily: the
pixels are never decoded. An EXIF orientation 5 to 8 (a phone's portrait photo stored sideways) swaps
the two sides, as a browser shows the image, and so as Label Studio measured it; a YOLO import asks for
the size as stored (``turned=False``), which Ultralytics' normalised coordinates are relative to.
"""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from annover._lazy import lazy

if TYPE_CHECKING:  # pragma: no cover
    import PIL.Image as PILImage
else:
    PILImage = lazy("PIL.Image")

__all__ = ["image_size"]

#: the EXIF tag of the orientation, and its values that turn the image a quarter (sides swapped)
_ORIENTATION = 0x0112
_QUARTER_TURNS = (5, 6, 7, 8)
_PNG = b"\x89PNG\r\n\x1a\n"
#: JPEG's frame headers (SOF0..SOF15 but DHT, JPG and DAC), which give the size
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def image_size(path: str | Path, turned: bool = True) -> tuple[int, int] | None:
    """(width, height) of the image at ``path`` as shown (EXIF orientation applied), or as stored with
    ``turned=False`` (Pillow's ``Image.open(path).size``, what Ultralytics' labels are relative to); None
    where it cannot be read (not an image, or one of a kind Pillow does not know)."""
    try:
        fd = os.open(path, os.O_RDONLY)  # no Python file object: a third of the cost of a small read
    except OSError:
        return None
    try:
        head = _Head(fd, os.read(fd, _FIRST))
        if head.at(0, 8) == _PNG and head.at(12, 4) == b"IHDR":
            w, h = struct.unpack(">II", head.at(16, 8))
            return None if not (w and h) else (h, w) if turned and _png_turned(head) else (w, h)
        if head.at(0, 2) == b"\xff\xd8":
            found = _jpeg_size(head, turned)
            if found is not None:
                return found
    except (OSError, struct.error):
        return None
    finally:
        os.close(fd)
    return _pillow_size(path, turned)


#: the bytes read first: a PNG's header chunks, a JPEG's segments up to its frame header but a long EXIF
_FIRST = 4096


class _Head:
    """The first bytes of an open file, and the others read where asked for (``pread``)."""

    def __init__(self, fd: int, first: bytes) -> None:
        self.fd, self.first = fd, first

    def at(self, offset: int, n: int) -> bytes:
        """``n`` bytes from ``offset`` (fewer at the end of the file)."""
        if offset + n <= len(self.first):
            return self.first[offset:offset + n]
        return os.pread(self.fd, n, offset)


def _png_turned(head: _Head) -> bool:
    """Whether an EXIF chunk (``eXIf``, before the image data) turns the PNG a quarter."""
    at = 33  # past the signature and IHDR (its data and CRC)
    while True:
        chunk = head.at(at, 8)
        if len(chunk) < 8 or chunk[4:] in (b"IDAT", b"IEND"):
            return False
        length = struct.unpack(">I", chunk[:4])[0]
        if chunk[4:] == b"eXIf":
            return _orientation(head.at(at + 8, length)) in _QUARTER_TURNS
        at += 12 + length  # the chunk's length, type, data and CRC


def _jpeg_size(head: _Head, exif: bool) -> tuple[int, int] | None:
    """The size a JPEG's frame header gives (sides swapped by an EXIF orientation before it where ``exif``);
    None where its segments do not read as JPEG's (Pillow is asked then)."""
    turned, at = False, 2
    while True:
        mark = head.at(at, 2)
        if len(mark) == 2 and mark == b"\xff\xff":  # a fill byte before a marker
            at += 1
            continue
        if len(mark) < 2 or mark[0] != 0xFF or mark[1] in (0xD9, 0xDA):  # no frame header before the end, the scan
            return None
        if mark[1] == 0x01 or 0xD0 <= mark[1] <= 0xD8:  # markers without a length
            at += 2
            continue
        length = struct.unpack(">H", head.at(at + 2, 2))[0]
        if length < 2:
            return None
        if mark[1] in _SOF:
            h, w = struct.unpack(">xHH", head.at(at + 4, 5))
            return ((h, w) if turned else (w, h)) if w and h else None
        if mark[1] == 0xE1 and exif:  # APP1: EXIF, read for its orientation
            body = head.at(at + 4, length - 2)
            turned = turned or (body.startswith(b"Exif\0\0") and _orientation(body[6:]) in _QUARTER_TURNS)
        at += 2 + length


def _orientation(tiff: bytes) -> int | None:
    """The orientation EXIF's first IFD holds (a TIFF structure), None where it holds none."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return None
    at = struct.unpack(order + "I", tiff[4:8])[0]
    count = struct.unpack(order + "H", tiff[at:at + 2])[0]
    for i in range(count):
        entry = tiff[at + 2 + 12 * i:at + 14 + 12 * i]
        if len(entry) == 12 and struct.unpack(order + "H", entry[:2])[0] == _ORIENTATION:
            return int(struct.unpack(order + "H", entry[8:10])[0])
    return None


def _pillow_size(path: str | Path, exif: bool) -> tuple[int, int] | None:
    """The size Pillow reads from the header (another kind than PNG and JPEG), sides swapped by an EXIF
    orientation where ``exif``."""
    try:
        with warnings.catch_warnings():  # a damaged EXIF, a very large image: Pillow's warnings, not the user's
            warnings.simplefilter("ignore")
            with PILImage.open(path) as im:
                w, h = im.size
                # only where the header holds EXIF: asked otherwise, a PNG's getexif() decodes the whole image
                turned = exif and "exif" in im.info and im.getexif().get(_ORIENTATION) in _QUARTER_TURNS
    except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError):  # UnidentifiedImageError: an OSError
        return None
    return (h, w) if turned else (w, h)
