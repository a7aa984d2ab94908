"""A COCO annotation whose ``bbox`` is not the box around its polygon (COCO Annotator's file in the corpus: one
box of 89x89 on a polygon of 341x412). COCO's tools take the bbox for detection (pycocotools' bbox evaluation,
Ultralytics' converter) and the polygon for segmentation; annover's Pascal VOC and YOLO boxes were the polygon's,
in silence. Both COCO readers now warn naming the annotation, and the detection boxes are the bbox."""

from __future__ import annotations

import contextlib
import io
import json
import xml.etree.ElementTree as ET

import pytest

from annover.formats import coco
from annover.formats.train import to_tables
from annover.formats.training import read_train, render_train

from .conftest import shared_corpus

CORPUS = shared_corpus("formats")
ANNOTATOR = CORPUS / "coco_polygons_cocoannotator.json"


def _pycocotools(path) -> "object":
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # its progress lines
        return COCO(str(path))


def _render(t, fmt: str):
    return render_train(fmt, {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions},
                        t.config_text)


def test_a_bbox_that_is_not_its_polygon_s_box_is_a_warning_and_the_voc_box():
    api = _pycocotools(ANNOTATOR)
    assert [a["id"] for a in api.anns.values() if not _inside(a)] == [1000]  # the file's one such annotation
    for t in (read_train(ANNOTATOR, "coco", None, True), to_tables(coco.read(ANNOTATOR), str(ANNOTATOR), "coco",
                                                                    None, True)[0]):
        said = [w for w in t.warnings if "is not the box around its segmentation" in w]
        assert len(said) == 1 and said[0].startswith(f"{ANNOTATOR}: annotation 1 (id 1000): bbox [5040, 1686, 89, "
                                                     "89]"), t.warnings
        files = _render(t, "voc").files
        for a in api.anns.values():
            im = api.imgs[a["image_id"]]["file_name"].rsplit(".", 1)[0]
            box = ET.fromstring(next(v for k, v in files.items() if k.endswith(f"{im}.xml"))).find("object/bndbox")
            x0, y0, x1, y1 = (float(box.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
            if _inside(a):  # a pixel off: the same box, as the polygon's extent
                assert [x0, y0, x1 - x0, y1 - y0] == pytest.approx(_extent(a), abs=0.01)
            else:  # COCO's box, not the polygon's
                assert [x0, y0, x1 - x0, y1 - y0] == a["bbox"]
        back = json.loads(_render(t, "coco").data)
        assert sorted(a["bbox"] for a in back["annotations"]) == sorted(a["bbox"] for a in api.anns.values())


def _extent(a: dict) -> list[float]:
    xs = [x for p in a["segmentation"] for x in p[0::2]]
    ys = [y for p in a["segmentation"] for y in p[1::2]]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def _inside(a: dict) -> bool:
    """Whether the polygon's box is the bbox within a pixel (COCO Annotator rounds its boxes outwards)."""
    return all(abs(b - e) <= 1 for b, e in zip(a["bbox"], _extent(a)))


def test_a_yolo_box_of_a_polygon_with_keypoints_is_its_bbox(tmp_path):
    """mmpose's COCO persons (polygons and keypoints: YOLO pose, a box a line), one bbox moved off its polygon."""
    doc = json.loads((CORPUS / "coco_person_keypoints_mmpose.json").read_text())
    moved = next(a for a in doc["annotations"] if a["num_keypoints"] and len(a["segmentation"]) == 1)
    moved["bbox"] = [moved["bbox"][0] + 5, moved["bbox"][1] + 7, moved["bbox"][2] / 2, moved["bbox"][3] / 2]
    src = tmp_path / "moved.json"
    src.write_text(json.dumps(doc))
    api = _pycocotools(src)
    t = read_train(src, "coco", None, True)
    assert any(f"(id {moved['id']}): bbox" in w for w in t.warnings), t.warnings
    im = api.imgs[moved["image_id"]]
    files = _render(t, "yolo").files
    lines = next(v for k, v in files.items() if k.endswith(im["file_name"].rsplit(".", 1)[0] + ".txt")).decode()
    x, y, w, h = moved["bbox"]
    want = [(x + w / 2) / im["width"], (y + h / 2) / im["height"], w / im["width"], h / im["height"]]
    got = [[float(v) for v in line.split()[1:5]] for line in lines.splitlines()]
    assert any(all(abs(g - e) < 1e-6 for g, e in zip(box, want)) for box in got), (got, want)
