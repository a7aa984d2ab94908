"""A detection data pipeline on one pinned version: COCO and YOLO with the images, read back as
the trainers read them (pycocotools, supervision), every box checked against its image.

In a clone of the labels repository, after `git checkout v2 && dvc pull` (the labels and the
images, tracked by DVC in `data/`):

    python detection_pipeline.py v2 data out/

writes `out/coco` (`annover export v2 --format coco --out out/coco --images data`) and `out/yolo`,
then prints one JSON line: the version, per split the images and boxes each reader found, the
class names, and the sha256 of every file written (the same on every machine and every run).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import supervision as sv
from pycocotools.coco import COCO

import annover


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def coco_split(out: Path, split: str) -> dict:
    coco = COCO(str(out / "annotations" / f"instances_{split}.json"))
    for img in coco.loadImgs(coco.getImgIds()):
        assert (out / split / img["file_name"]).is_file(), img["file_name"]
        for a in coco.loadAnns(coco.getAnnIds(imgIds=img["id"])):
            x, y, w, h = a["bbox"]
            assert 0 <= x and 0 <= y and x + w <= img["width"] and y + h <= img["height"], (img, a)
    ds = sv.DetectionDataset.from_coco(str(out / split), str(out / "annotations" / f"instances_{split}.json"))
    boxes = sum(len(ds[i][2]) for i in range(len(ds)))
    assert boxes == len(coco.getAnnIds()), (boxes, len(coco.getAnnIds()))
    return {"images": len(coco.getImgIds()), "boxes": boxes, "classes": ds.classes}


def yolo_split(out: Path, split: str) -> dict:
    ds = sv.DetectionDataset.from_yolo(str(out / "images" / split), str(out / "labels" / split),
                                       str(out / "data.yaml"))
    for i in range(len(ds)):
        _, image, det = ds[i]
        h, w = image.shape[:2]
        assert (det.xyxy >= -1e-3).all() and (det.xyxy[:, [0, 2]] <= w + 1e-3).all(), ds.image_paths[i]
        assert (det.xyxy[:, [1, 3]] <= h + 1e-3).all(), ds.image_paths[i]
    return {"images": len(ds), "boxes": sum(len(ds[i][2]) for i in range(len(ds))), "classes": ds.classes}


def main(rev: str, images: str, out: str) -> dict:
    version = annover.resolve(rev)
    out_ = Path(out)
    annover.export(rev, "coco", out_ / "coco", images=images)
    annover.export(rev, "yolo", out_ / "yolo", images=images)
    splits = sorted(p.stem.removeprefix("instances_") for p in (out_ / "coco" / "annotations").glob("*.json"))
    return {"version": version,
            "coco": {s: coco_split(out_ / "coco", s) for s in splits},
            "yolo": {s: yolo_split(out_ / "yolo", s) for s in splits},
            "files": {"coco": digests(out_ / "coco"), "yolo": digests(out_ / "yolo")}}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
