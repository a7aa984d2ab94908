"""Image regions between Label Studio's values and the pixel or normalised coordinates of
the training formats (COCO, YOLO, Pascal VOC): objects, sizes, file names, categories.

Label Studio keeps geometry in percent of the image (``x, y, width, height``, a rotation in
degrees about the top-left corner, in pixels; polygon and keypoint ``[x, y]`` points) with
the image size in ``original_width`` / ``original_height``. annover rounds what it reads
from a training format to :data:`PCT_DIGITS` decimals of a percent (1e-7 of the image
size), so a COCO file and the YOLO folder of the same boxes give the same values, hence
the same snapshot ids.
"""

from __future__ import annotations

import itertools
import math
import posixpath
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

from annover._lazy import lazy
from annover.errors import InputError, UsageError
from annover.formats.resolve import Item, Picked, Region
from annover.model.config import LabelingConfig

np = lazy("numpy")
brush = lazy("label_studio_sdk.converter.brush")

__all__ = ["BOX_SLACK", "CATEGORY_TAGS", "EDGE_SLACK", "MAX_SIDE", "PCT_DIGITS", "Image", "Obj", "categories",
           "category_ids", "clip_boxes", "clip_extent", "config_categories", "crosses_edge", "file_name_of",
           "image_field", "images_of", "pct", "mask_box", "note_kept", "note_kept_fields", "px", "px_of",
           "rbox_corners", "rbox_from_corners", "path_tails", "rectangle_of", "side_problem", "size_of",
           "uploaded_name"]

#: Decimals of a percent kept from a training format (1e-7 of the image size).
PCT_DIGITS = 5
#: Decimals of a pixel written to COCO and VOC where no exact value is known (rotated boxes, masks).
PX_DIGITS = 2
#: Control tags whose labels are object categories.
CATEGORY_TAGS = ("RectangleLabels", "PolygonLabels", "BrushLabels", "KeyPointLabels")
#: Result types that become objects.
BOX_TYPES = ("rectanglelabels", "rectangle")
POLYGON_TYPES = ("polygonlabels", "polygon")
BRUSH_TYPES = ("brushlabels", "brush", "magicwand")
KEYPOINT_TYPES = ("keypointlabels", "keypoint")
#: pixels a COCO ``bbox`` may be off the box around its polygon and be that box (COCO Annotator rounds outwards)
BOX_SLACK = 1.0
#: Result item fields holding what a format's import kept that Label Studio has no field for
#: (``{"coco": {"area": .., "iscrowd": 1}}``, ``{"voc": {"difficult": 1}}``); keypoints keep
#: a visibility other than 2 (visible) in ``visibility``.
KEPT = ("coco", "voc")


#: The longest image side a training format's size may give, in pixels. Percent kept to
#: PCT_DIGITS decimals holds 1e-7 of the image: above 1e7 pixels a whole pixel would no longer
#: come back exact (and no image format in use stores a side that long: PNG's limit is 2^31).
MAX_SIDE = 10_000_000


def side_problem(v: Any) -> str | None:
    """What is wrong with ``v`` as an image side in pixels, or None: not a number, not finite, not
    a whole number, not above 0, or above :data:`MAX_SIDE`."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "not a number"
    if not math.isfinite(v):
        return "not a finite number"
    if v != int(v):
        return "not a whole number of pixels"
    if v <= 0:
        return "not above 0"
    if v > MAX_SIDE:
        return f"above {MAX_SIDE:,} pixels, beyond any image (and beyond what percent to 1e-7 keeps to the pixel)"
    return None


def pct(v: float) -> float:
    """A percent as annover stores one read from a training format."""
    r = round(float(v), PCT_DIGITS)
    return 0.0 if r == 0 else r


def px(v: float, digits: int = PX_DIGITS) -> float | int:
    """A pixel value rounded to ``digits`` decimals (integral values as integers)."""
    r = round(float(v), digits)
    return int(r) if r.is_integer() else r


def px_of(p: float, size: int) -> float | int:
    """The pixel value of the percent ``p`` of ``size`` pixels, with the fewest decimals that
    read back as the same percent (:func:`pct`): ``27.29844`` % of 640 -> ``174.71``."""
    target = pct(p)
    center = target * size / 100
    half = 0.5 * 10 ** -PCT_DIGITS * size / 100  # pixels that round to the same percent lie within this
    for d in range(11):
        r = round(center, d)
        if abs(r - center) <= half * 1.01 and pct(r / size * 100) == target:  # a cheap test first
            return int(r) if float(r).is_integer() else r
    return px(center, 10)


@dataclass
class Obj:
    """One object of an image: a box (``rotation`` 0), a rotated box, a polygon, a mask, keypoints."""

    kind: str  # "box", "polygon", "mask", "points" (keypoints without a parent region)
    label: str
    x: float = 0.0  # percent; a box's top-left corner
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    rotation: float = 0.0  # degrees, clockwise about (x, y), in pixels
    points: list[tuple[float, float]] = field(default_factory=list)  # polygon, percent
    rle: list[int] = field(default_factory=list)  # Label Studio's brush RLE
    keypoints: list[tuple[str, float, float, int]] = field(default_factory=list)  # (name, x%, y%, visibility)
    extras: dict = field(default_factory=dict)  # {"coco": {...}}: a format's fields kept on import
    score: float | None = None

    def extent(self, width: float = 100.0, height: float = 100.0) -> tuple[float, float, float, float]:
        """(x, y, w, h) of the axis-aligned box around the object, in units of ``width`` / ``height``."""
        if self.kind == "box" and not self.rotation:
            return self.x * width / 100, self.y * height / 100, self.w * width / 100, self.h * height / 100
        if self.kind == "box":
            pts = rbox_corners(self, width, height)
        elif self.kind == "mask":
            return self._mask_extent(width, height)
        else:
            pts = [(a * width / 100, b * height / 100) for a, b in
                   ([p for part in self.parts() for p in part] or [(k[1], k[2]) for k in self.keypoints if k[3] > 0])]
        if not pts:
            return 0.0, 0.0, 0.0, 0.0
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)

    def detection_box(self, width: float, height: float) -> tuple[float, float, float, float]:
        """(x, y, w, h) in units of ``width`` / ``height`` (the image's size in pixels) of the object as a
        detection format's box: a polygon's COCO ``bbox`` kept on import where it is not the box around the
        polygon (by more than :data:`BOX_SLACK`: the import warned of it), as COCO's own tools take the bbox for
        detection (pycocotools' bbox evaluation, Ultralytics' COCO converter); else :meth:`extent` (a bbox a
        pixel off is the same box, rounded another way)."""
        ext = self.extent(width, height)
        kept = (self.extras.get("coco") or {}).get("bbox") if self.kind == "polygon" else None
        slack = BOX_SLACK + 0.01  # (and percent's rounding)
        if isinstance(kept, list) and len(kept) == 4 and all(type(v) in (int, float) for v in kept) and \
                width and height and any(abs(a - b) > slack for a, b in zip(kept, ext)):
            return float(kept[0]), float(kept[1]), float(kept[2]), float(kept[3])
        return ext

    def parts(self) -> list[list[tuple[float, float]]]:
        """A polygon's parts, in percent: its points, then those a COCO file gave it beyond the first."""
        more = (self.extras.get("coco") or {}).get("more") or []
        return [p for p in [self.points, *([(float(a), float(b)) for a, b in part] for part in more)] if p]

    def _mask_extent(self, width: float, height: float) -> tuple[float, float, float, float]:
        """The box around a mask's pixels (COCO's: the far edge one past the last pixel), in
        pixels of the image's ``width`` x ``height``; zeros for an empty mask or another size."""
        w, h = int(width), int(height)
        try:
            alpha = brush.decode_rle(self.rle).reshape(h, w, 4)[:, :, 3] > 0
        except (ValueError, IndexError):  # the RLE is of an image of another size
            return 0.0, 0.0, 0.0, 0.0
        return mask_box(alpha)


def mask_box(mask: "np.ndarray") -> tuple[float, float, float, float]:
    """(x, y, w, h) in pixels of the box around a boolean mask's pixels, COCO's way (the far
    edge one past the last pixel); zeros for an empty mask."""
    ys, xs = np.nonzero(mask)
    if not xs.size:
        return 0.0, 0.0, 0.0, 0.0
    return float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)


@dataclass
class Image:
    """A task as an image: its key, file name, size (None when not known) and objects."""

    task_key: str
    file_name: str
    width: int | None
    height: int | None
    data: dict
    objects: list[Obj] = field(default_factory=list)

    def size(self, fmt: str) -> tuple[int, int]:
        """(width, height); InputError naming the task when the size is not known."""
        if not self.width or not self.height:
            raise InputError(f"task {self.task_key!r} ({self.file_name}): the image size is not known, "
                             f"and {fmt} needs it",
                             "give original_width/original_height in the results, or width and height "
                             "in the task data (a version of a YOLO folder: snapshot the folder again with its "
                             "images in images/, or a sizes.json beside labels/)")
        return self.width, self.height


def rbox_corners(o: Obj, width: float, height: float) -> list[tuple[float, float]]:
    """The four corners of a (rotated) box in units of ``width`` / ``height``, Label Studio's order."""
    x0, y0 = o.x * width / 100, o.y * height / 100
    w, h = o.w * width / 100, o.h * height / 100
    c, s = math.cos(math.radians(o.rotation)), math.sin(math.radians(o.rotation))
    return [(x0, y0), (x0 + w * c, y0 + w * s), (x0 + w * c - h * s, y0 + w * s + h * c), (x0 - h * s, y0 + h * c)]


def rectangle_of(pts: list[tuple[float, float]], width: float, height: float) -> tuple[list[tuple[float, float]], bool]:
    """``pts`` (four corners, pixels) when they make a rectangle within 1e-5 of the image size; else the
    smallest rotated rectangle around them (OpenCV's ``minAreaRect``, as Ultralytics reads an OBB line)
    from its corner nearest the first point, and True."""
    tol = 1e-5 * max(width, height)
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts
    ex, ey, fx, fy = x1 - x0, y1 - y0, x3 - x0, y3 - y0
    if math.hypot(x1 + x3 - x0 - x2, y1 + y3 - y0 - y2) <= tol and \
            abs(ex * fx + ey * fy) <= tol * max(math.hypot(ex, ey), math.hypot(fx, fy)):
        return pts, False
    best: tuple[float, ...] | None = None
    for (ax, ay), (bx, by) in itertools.combinations(pts, 2):  # a side of the smallest one lies on a hull edge
        d = math.hypot(bx - ax, by - ay)
        if d == 0:
            continue
        ux, uy = (bx - ax) / d, (by - ay) / d
        us, vs = [x * ux + y * uy for x, y in pts], [y * ux - x * uy for x, y in pts]
        area = (max(us) - min(us)) * (max(vs) - min(vs))
        if best is None or area < best[0]:
            best = (area, ux, uy, min(us), max(us), min(vs), max(vs))
    if best is None:
        return pts, False
    _, ux, uy, u0, u1, v0, v1 = best
    rect = [(u * ux - v * uy, u * uy + v * ux) for u, v in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))]
    i = min(range(4), key=lambda k: (rect[k][0] - x0) ** 2 + (rect[k][1] - y0) ** 2)
    return rect[i:] + rect[:i], True


def rbox_from_corners(pts: list[tuple[float, float]], width: float, height: float) -> tuple[float, ...]:
    """(x%, y%, w%, h%, rotation) of the box whose corners (pixels) are ``pts``, in either winding."""
    (x0, y0), (x1, y1), _, (x3, y3) = pts
    if (x1 - x0) * (y3 - y0) - (y1 - y0) * (x3 - x0) < 0:  # counter-clockwise on screen: walk it the other way
        (x1, y1), (x3, y3) = (x3, y3), (x1, y1)
    w = math.hypot(x1 - x0, y1 - y0)
    h = math.hypot(x3 - x0, y3 - y0)
    rot = math.degrees(math.atan2(y1 - y0, x1 - x0)) % 360
    rot = round(rot, PCT_DIGITS) % 360
    return pct(x0 / width * 100), pct(y0 / height * 100), pct(w / width * 100), pct(h / height * 100), rot


#: a file Label Studio stored from an upload: ``/data/upload/<project>/<8 hex>-<the name uploaded>``
_UPLOADED = re.compile(r"/data/upload/[^/]+/[0-9a-f]{8}-([^/]+)$")


def uploaded_name(value: Any) -> str | None:
    """The name a file had before Label Studio's upload prefixed it (``/data/upload/3/1a2b3c4d-a.jpg``
    -> ``a.jpg``), so that the file uploaded is found in the folder it came from; None for any
    other value."""
    m = _UPLOADED.search(urllib.parse.unquote(str(value).split("?", 1)[0]))
    return m.group(1) if m else None


def path_tails(value: Any) -> list[str]:
    """The tails of the file path an image value of the task data names, longest first: of a
    Label Studio local file (``/data/local-files/?d=imgs/a.jpg``) the path after ``d=``, of a URL
    (``s3://bucket/imgs/a.jpg``) the path after its scheme, without a query; URL-decoded; ``.`` and ``..`` parts
    left out; a Label Studio upload's name as uploaded last (:func:`uploaded_name`). What a file of a
    folder is found by (``export --images``, ``snapshot --source``)."""
    s = str(value)
    if "?d=" in s:  # Label Studio's local files: the path below its document root
        s = s.split("?d=", 1)[1]
    elif "://" in s:
        s = s.split("://", 1)[1].split("?", 1)[0]
    parts = [p for p in urllib.parse.unquote(s).replace("\\", "/").split("/") if p not in ("", ".", "..")]
    upload = uploaded_name(value)
    return ["/".join(parts[i:]) for i in range(len(parts))] + ([upload] if upload else [])


def file_name_of(value: Any) -> str:
    """The file name a format gets for an image URL or path of the task data.

    A URL (``s3://b/a.jpg``, ``http://host/x/a.jpg``, Label Studio's ``/data/upload/1/a.jpg`` or
    ``/data/local-files/?d=dir/a.jpg``) gives its last path segment; a relative path stays as it is.
    """
    s = str(value)
    parsed = urllib.parse.urlparse(s)
    if parsed.query and "d=" in parsed.query:
        s = urllib.parse.parse_qs(parsed.query).get("d", [s])[0]
        return posixpath.basename(s)
    if parsed.scheme or s.startswith("/"):
        return posixpath.basename(urllib.parse.unquote(parsed.path)) or s
    return s


def image_field(cfg: LabelingConfig | None, data: dict, to_name: str | None) -> str:
    if cfg is not None:
        obj = cfg.objects.get(to_name or "") if to_name else None
        if obj is None:
            imgs = [o for o in cfg.objects.values() if o.tag == "Image"]
            obj = imgs[0] if len(imgs) == 1 else None
        if obj is not None and obj.field in data:
            return obj.field
    for k in ("image", "img", "file_name", "url"):
        if isinstance(data.get(k), str):
            return k
    strings = [k for k, v in data.items() if isinstance(v, str)]
    if len(strings) == 1:
        return strings[0]
    raise InputError(f"task data {sorted(data)} has no field the image is in",
                     "give a labeling config with an <Image value=\"$field\"> tag")


def size_of(data: dict, regions: list[Region]) -> tuple[int | None, int | None]:
    for r in regions:
        w, h = r.region.get("original_width"), r.region.get("original_height")
        if w and h:
            return int(w), int(h)
    for src in (data, data.get("coco_image") if isinstance(data.get("coco_image"), dict) else {}):
        w, h = src.get("width"), src.get("height")
        if isinstance(w, (int, float)) and isinstance(h, (int, float)) and w and h:
            return int(w), int(h)
    return None, None


def _obj(r: Region, label: str) -> Obj | None:
    v = r.value
    extras = {k: r.region[k] for k in KEPT if isinstance(r.region.get(k), dict)}
    t = r.type or ""
    if t in BOX_TYPES:
        return Obj("box", label, float(v.get("x", 0)), float(v.get("y", 0)), float(v.get("width", 0)),
                   float(v.get("height", 0)), float(v.get("rotation") or 0), extras=extras, score=r.score)
    if t in POLYGON_TYPES:
        return Obj("polygon", label, points=[(float(p[0]), float(p[1])) for p in v.get("points") or []],
                   extras=extras, score=r.score)
    if (t in BRUSH_TYPES and v.get("format", "rle") == "rle") or (t == "labels" and isinstance(v.get("rle"), list)):
        return Obj("mask", label, rle=list(v.get("rle") or []), extras=extras, score=r.score)
    return None


def images_of(picked: Picked, cfg: LabelingConfig | None, fmt: str, notes: list[str]) -> list[Image]:
    """The picked items as images with their objects; what has no place in ``fmt`` is counted in ``notes``."""
    out = []
    skipped: dict[str, int] = {}
    multi = 0
    for it in picked.items:
        out.append(_image(it, cfg, skipped))
        multi += sum(1 for r in it.regions if len(r.labels) > 1)
    for t, n in sorted(skipped.items()):
        notes.append(f"{n} region(s) of type {t} have no place in {fmt} and were left out")
    if multi:
        notes.append(f"{multi} region(s) with several labels were written with their first label")
    return out


def _image(it: Item, cfg: LabelingConfig | None, skipped: dict[str, int]) -> Image:
    to_name = next((r.to_name for r in it.regions), None)
    try:
        name = file_name_of(it.data[image_field(cfg, it.data, to_name)])
    except InputError as e:
        raise InputError(f"task {it.task_key!r}: {e.message}", e.hint) from None
    w, h = size_of(it.data, it.regions)
    if w is None and it.size is not None:
        w, h = it.size
    img = Image(it.task_key, name, w, h, it.data)
    by_id: dict[str, Obj] = {}
    loose: dict[str, Obj] = {}
    points: list[Region] = []
    # Label Studio's <Labels> beside a tool (<Rectangle>, <Brush>, <MagicWand>...) gives one region as
    # two results of one id: the tool's shape without labels, and a "labels" result with the labels
    tools = {r.id for r in it.regions if r.id is not None and (r.type or "") != "labels"}
    named = {r.id: r.labels for r in it.regions if (r.type or "") == "labels" and r.id in tools and r.labels}
    for r in it.regions:
        if (r.type or "") == "labels" and r.id in tools:
            continue  # its labels are the tool's result's
        if (r.type or "") in KEYPOINT_TYPES:
            points.append(r)
            continue
        labels = r.labels or named.get(r.id or "") or []
        label = labels[0] if labels else (r.from_name or "")
        o = _obj(r, label)
        if o is None:
            skipped[r.type or "?"] = skipped.get(r.type or "?", 0) + 1
            continue
        img.objects.append(o)
        if r.id is not None:
            by_id[r.id] = o
    for r in points:
        labels = r.labels or named.get(r.id or "") or []
        kp = (labels[0] if labels else "", float(r.value.get("x", 0)), float(r.value.get("y", 0)),
              int(r.region.get("visibility", 2)))
        parent = by_id.get(str(r.region.get("parentID"))) if r.region.get("parentID") is not None else None
        if parent is None:
            ctl = r.from_name or "keypoints"
            parent = loose.get(ctl)
            if parent is None:
                parent = loose[ctl] = Obj("points", ctl, score=r.score)
                img.objects.append(parent)
        parent.keypoints.append(kp)
    return img


def config_categories(cfg: LabelingConfig | None) -> list[str]:
    """The config's object labels in document order: its ``RectangleLabels``, ``PolygonLabels`` and
    ``BrushLabels``, and a ``Labels`` on an ``<Image>`` (beside a ``Rectangle``, ``Brush`` or
    ``MagicWand`` tool, whose regions it labels)."""
    names: list[str] = []
    for c in cfg.controls.values() if cfg is not None else []:
        on_image = any(getattr(cfg.objects.get(t), "tag", None) == "Image" for t in c.to_name)
        if c.tag in CATEGORY_TAGS[:3] or (c.tag == "Labels" and on_image):
            names += [n for n in c.labels if n not in names]
    return names


def categories(cfg: LabelingConfig | None, images: list[Image], notes: list[str]) -> list[str]:
    """Category names in a stable order: the config's object labels in document order, then
    labels the data has and the config does not (sorted, said in ``notes``)."""
    names = config_categories(cfg)
    seen = sorted({o.label for img in images for o in img.objects} - set(names))
    if seen and names:
        notes.append(f"labels not in the labeling config were added after its labels: {', '.join(seen[:5])}")
    return names + seen


def category_ids(cfg: LabelingConfig | None, names: list[str]) -> dict[str, int]:
    """COCO category id per name of ``names``: the ``category`` the config gives its label
    (``<Label value="cat" category="4"/>``, as label-studio-sdk's converter reads it, and as a COCO
    import keeps the file's ids), else the next id after the largest (1.. where none is given)."""
    given = cfg.label_attributes("category", (*CATEGORY_TAGS[:3], "Labels")) if cfg is not None else {}
    out: dict[str, int] = {}
    by_id: dict[int, str] = {}
    for n in names:
        if n not in given:
            continue
        try:
            i = int(given[n])
        except ValueError:
            raise UsageError(f"the labeling config gives the label {n!r} the category {given[n]!r}, not a "
                             "whole number", 'write category="ID" with a number, or remove it') from None
        if i in by_id:
            raise UsageError(f"the labeling config gives the labels {by_id[i]!r} and {n!r} one category, {i}",
                             "give each label its own category id")
        out[n] = by_id[i] = i
    nxt = max(by_id, default=0) + 1
    for n in names:
        if n not in out:
            out[n], nxt = nxt, nxt + 1
    return {n: out[n] for n in names}


def keypoint_names(cfg: LabelingConfig | None, images: list[Image]) -> list[str]:
    """Keypoint names in a stable order: the config's KeyPointLabels labels, then others seen (sorted)."""
    names: list[str] = []
    if cfg is not None:
        for c in cfg.controls.values():
            if c.tag == "KeyPointLabels":
                names += [n for n in c.labels if n not in names]
    seen = sorted({k[0] for img in images for o in img.objects for k in o.keypoints} - set(names))
    return names + seen


def check_kinds(images: list[Image], allowed: tuple[str, ...], fmt: str, notes: list[str],
                keypoints: bool = True) -> None:
    """Drop objects of kinds ``fmt`` cannot hold, and (``keypoints`` false) the keypoints of
    those it keeps, counting them in ``notes``."""
    dropped: dict[str, int] = {}
    points = 0
    for img in images:
        keep = []
        for o in img.objects:
            kind = "rotated box" if o.kind == "box" and o.rotation else o.kind
            if kind in allowed:
                keep.append(o)
                if not keypoints and o.keypoints:
                    points += len(o.keypoints)
                    o.keypoints = []
            else:
                dropped[kind] = dropped.get(kind, 0) + 1
        img.objects = keep
    for k, n in sorted(dropped.items()):
        notes.append(f"{n} {k} object(s) have no place in {fmt} and were left out")
    if points:
        notes.append(f"{points} keypoint(s) of boxes and polygons have no place in {fmt} and were left out")


#: How far (percent) a box may reach past the image's edge and still count as inside it: 1e-6 of
#: the image, the rounding of a YOLO file written with 6 decimals (``0.133333 0.3 0.266667 ...``
#: starts at -5e-7); such a box is written as it is, so that file comes back with the same numbers.
EDGE_SLACK = 1e-4


def move_flag(images: list[Image], source: str, flag: str, target: str, as_: str) -> int:
    """Each object whose fields kept from format ``source`` set ``flag`` (VOC ``difficult``, COCO
    ``iscrowd``) gets ``as_`` set to 1 among its ``target`` fields instead, ``flag`` then said (no
    longer a field of ``source`` without a place in ``target``); how many."""
    n = 0
    for img in images:
        for o in img.objects:
            kept = o.extras.get(source)
            if isinstance(kept, dict) and kept.get(flag):
                o.extras = {**o.extras, source: {k: v for k, v in kept.items() if k != flag},
                            target: {**(o.extras.get(target) or {}), as_: 1}}
                n += 1
    return n


def crosses_edge(x: Any, y: Any, w: Any, h: Any) -> Any:
    """Whether a box (percent; numbers or numpy arrays) reaches past the image's edge."""
    return (x < -EDGE_SLACK) | (y < -EDGE_SLACK) | (x + w > 100 + EDGE_SLACK) | (y + h > 100 + EDGE_SLACK)


def clip_extent(box: tuple[float, float, float, float], width: float, height: float
                ) -> tuple[tuple[float, float, float, float], bool]:
    """A box around an object (x, y, w, h in units of ``width`` / ``height``: pixels, or 100 for
    percent) clipped to the image, and whether it crossed the edge (by more than :data:`EDGE_SLACK`)."""
    x, y, w, h = box
    slack = EDGE_SLACK / 100 * max(width, height)
    if x >= -slack and y >= -slack and x + w <= width + slack and y + h <= height + slack:
        return box, False
    x0, y0 = max(x, 0.0), max(y, 0.0)
    return (x0, y0, max(min(x + w, width) - x0, 0.0), max(min(y + h, height) - y0, 0.0)), True


def clip_boxes(images: list[Image], fmt: str, notes: list[str]) -> None:
    """Clip the boxes (not rotated) that cross the image's edge to it, as Ultralytics' loader clips
    them; a box with nothing inside the image is left out. Both are counted in ``notes``."""
    clipped = outside = 0
    for img in images:
        keep = []
        for o in img.objects:
            if o.kind != "box" or o.rotation or not crosses_edge(o.x, o.y, o.w, o.h):
                keep.append(o)
                continue
            x0, y0 = max(o.x, 0.0), max(o.y, 0.0)
            x1, y1 = min(o.x + o.w, 100.0), min(o.y + o.h, 100.0)
            if (x1 <= x0 or y1 <= y0) and not o.keypoints:
                outside += 1
                continue
            o.x, o.y, o.w, o.h = pct(x0), pct(y0), pct(max(x1 - x0, 0.0)), pct(max(y1 - y0, 0.0))
            if isinstance(o.extras.get("coco"), dict):  # a COCO area or bbox kept on import was the unclipped box's
                o.extras["coco"] = {k: v for k, v in o.extras["coco"].items() if k not in ("area", "bbox")}
            clipped += 1
            keep.append(o)
        img.objects = keep
    if clipped:
        notes.append(f"{clipped} box(es) crossing the image's edge were clipped to it ({fmt} holds boxes inside "
                     "the image)")
    if outside:
        notes.append(f"{outside} box(es) wholly outside the image were left out")


def note_kept(images: list[Image], fmt: str, notes: list[str], own: str | None = None) -> None:
    """Count in ``notes`` the objects holding fields another format's import kept (:data:`KEPT`, but
    ``own``) that ``fmt`` has no place for; COCO crowd regions apart: they are written as ordinary objects."""
    note_kept_fields([o.extras for img in images for o in img.objects], f"{fmt} has", notes, own)


def note_kept_fields(extras: list[dict], place: str, notes: list[str], own: str | None = None,
                     things: str = "object") -> None:
    """:func:`note_kept` of each object's (region's) kept fields by source format (``extras``:
    ``{"coco": {...}}``...); ``place``: what has no place for them (``"YOLO has"``)."""
    for src in KEPT:
        if src == own:
            continue
        fields: set[str] = set()
        n = crowd = 0
        for kept in (x.get(src) for x in extras):
            if isinstance(kept, dict) and set(kept) - {"more"}:  # a polygon's further parts are written
                n += 1
                fields |= set(kept) - {"more"}
                crowd += bool(kept.get("iscrowd"))
        if n:
            notes.append(f"{n} {things}(s) hold {src.upper()} fields {place} no place for "
                         f"({', '.join(sorted(fields))}), left out"
                         + (f"; {crowd} of them crowd regions (iscrowd), written as ordinary {things}s" if crowd
                            else ""))


def unique_names(images: list[Image], fmt: str, path: Callable[[str], str] | None = None,
                 placed: list[str] | None = None) -> None:
    """Refuse two images with one file name, or whose files ``path`` (image file name, or its place
    in the folder written, ``placed``, where given -> the file the format writes for it) makes one:
    their files would overwrite each other."""
    seen: dict[str, Image] = {}
    for i, img in enumerate(images):
        name = placed[i] if placed is not None else img.file_name
        p = path(name) if path is not None else name
        first = seen.setdefault(p, img)
        if first is img:
            continue
        if first.file_name == img.file_name:
            raise UsageError(f"tasks {first.task_key!r} and {img.task_key!r} both name the image "
                             f"{img.file_name!r}; {fmt} keys files by image name",
                             "give the tasks distinct image file names")
        raise UsageError(f"tasks {first.task_key!r} and {img.task_key!r} name the images {first.file_name!r} "
                         f"and {img.file_name!r}, which {fmt} writes to one file, {p!r}",
                         "give the tasks image file names that differ in more than their extension"
                         + (" or folder" if fmt == "Pascal VOC" else ""))
