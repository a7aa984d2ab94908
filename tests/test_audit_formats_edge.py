"""A box that crosses the image's edge (Label Studio keeps x + width > 100) is clipped to the image
in YOLO, YOLO OBB, COCO and Pascal VOC exports, and a note counts it; a box wholly outside is left out."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image as PILImage

from annover.formats.label_studio import from_ls_tasks
from annover.formats.training import render_train
from annover.model.config import LabelingConfig

from .conftest import shared_corpus

LS = shared_corpus("label-studio")
CFG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
       '<Label value="a"/><Label value="b"/></RectangleLabels></View>')


def _box(x: float, y: float, w: float, h: float, label: str = "a") -> dict:
    return {"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 200,
            "original_height": 100, "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0,
                                              "rectanglelabels": [label]}}


def _render(fmt: str, tasks: list, cfg: str, out: Path) -> list[str]:
    t = from_ls_tasks(tasks, "test", config=LabelingConfig(cfg), validate=False)
    r = render_train(fmt, {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}, cfg)
    if r.files is None:
        out.write_bytes(r.data)
    for rel, data in (r.files or {}).items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    return r.notes


TASKS = [{"id": 1, "data": {"image": "one.jpg"}, "annotations": [{"result": [
    _box(92.93, 57.39, 7.5, 44.18),        # past the right and bottom edges
    _box(-5, -10, 20, 30, "b"),            # before the left and top edges
    _box(10, 10, 20, 20),                  # inside
    _box(101, 20, 5, 5),                   # wholly outside
]}]}]


def test_yolo_boxes_stay_inside_the_image(tmp_path):
    for fmt in ("yolo", "yolo-obb"):
        out = tmp_path / fmt
        notes = _render(fmt, TASKS, CFG, out)
        rows = [[float(v) for v in line.split()] for line in (out / "labels" / "one.txt").read_text().splitlines()]
        assert len(rows) == 3, rows
        assert any("2 box(es) crossing the image's edge were clipped" in n for n in notes), notes
        assert any("1 box(es) wholly outside the image were left out" in n for n in notes), notes
        for row in rows:
            if fmt == "yolo":
                _, cx, cy, w, h = row
                assert -1e-9 <= cx - w / 2 and cx + w / 2 <= 1 + 1e-9 and -1e-9 <= cy - h / 2 and cy + h / 2 <= 1 + 1e-9
            else:
                assert all(0 <= v <= 1 for v in row[1:]), row
    rows = [line.split() for line in (tmp_path / "yolo" / "labels" / "one.txt").read_text().splitlines()]
    assert rows[0] == ["0", "0.96465", "0.78695", "0.0707", "0.4261"]
    assert rows[1] == ["1", "0.075", "0.1", "0.15", "0.2"]


def test_coco_and_voc_boxes_stay_inside_the_image(tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    notes = _render("coco", TASKS, CFG, tmp_path / "c.json")
    assert any("2 box(es) crossing" in n for n in notes), notes
    doc = json.loads((tmp_path / "c.json").read_text())
    assert [a["bbox"] for a in doc["annotations"]] == [[185.86, 57.39, 14.14, 42.61], [0, 0, 30, 20], [20, 10, 40, 20]]
    assert [a["area"] for a in doc["annotations"]] == [pytest.approx(14.14 * 42.61), 600, 800]
    gt = COCO(str(tmp_path / "c.json"))
    dt = gt.loadRes([{**a, "score": 1.0} for a in doc["annotations"]])
    ev = COCOeval(gt, dt, "bbox")
    ev.evaluate(), ev.accumulate(), ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)
    _render("voc", TASKS, CFG, tmp_path / "voc")
    root = ET.parse(tmp_path / "voc" / "Annotations" / "one.xml").getroot()
    boxes = [[float(o.find("bndbox").findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
             for o in root.findall("object")]
    assert boxes == [[185.86, 57.39, 200, 100], [0, 0, 30, 20], [20, 10, 60, 30]]


@pytest.mark.skipif(not (LS / "sdk_bbox_reviews_predictions.json").exists(), reason="the shared corpus is not here")
def test_label_studio_export_with_a_box_past_the_edge(tmp_path):
    """label-studio-sdk's fixture: a car box at x 92.93 + width 7.5, y 57.39 + height 44.18 (768 x 510)."""
    sv = pytest.importorskip("supervision")
    tasks = json.loads((LS / "sdk_bbox_reviews_predictions.json").read_text())
    cfg = (LS / "sdk_bbox_reviews_predictions.xml").read_text()
    out = tmp_path / "y"
    notes = _render("yolo", tasks, cfg, out)
    assert any("1 box(es) crossing" in n for n in notes), notes
    sizes = json.loads((out / "sizes.json").read_text())
    for rel, s in sizes.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        PILImage.new("RGB", (s["width"], s["height"])).save(out / rel)
    ds = sv.DetectionDataset.from_yolo(str(out / "images"), str(out / "labels"), str(out / "data.yaml"))
    for path, image, det in ds:
        h, w = image.shape[:2]
        assert (det.xyxy[:, [0, 1]] >= -1e-6).all() and (det.xyxy[:, 2] <= w + 1e-6).all() and \
            (det.xyxy[:, 3] <= h + 1e-6).all(), (path, det.xyxy)


def test_plain_boxes_past_the_edge_leave_the_column_path_to_the_general_writers():
    from annover.formats import boxes_fast

    cfg = LabelingConfig(CFG)
    inside = [{"id": 1, "data": {"image": "one.jpg"}, "annotations": [{"result": [_box(10, 10, 20, 20)]}]}]
    past = [{"id": 1, "data": {"image": "one.jpg"}, "annotations": [{"result": [_box(92.93, 57.39, 7.5, 44.18)]}]}]
    for tasks, fast in ((inside, True), (past, False)):
        t = from_ls_tasks(tasks, "test", config=cfg, validate=False)
        tables = {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}
        assert (boxes_fast.plain_boxes(tables, cfg, None, None) is not None) == fast


def test_a_six_decimal_yolo_box_at_the_edge_is_not_clipped(tmp_path):
    """0.133333 +- 0.266667 / 2 starts at -5e-7: the rounding of 6 decimals, not a box past the edge."""
    notes = _render("yolo", [{"id": 1, "data": {"image": "one.jpg"}, "annotations": [{"result": [
        _box(-0.00005, 10, 26.6667, 20)]}]}], CFG, tmp_path / "y")
    assert not any("clipped" in n for n in notes)
    assert (tmp_path / "y" / "labels" / "one.txt").read_text().split()[1:4:2] == ["0.133333", "0.266667"]


@pytest.mark.skipif(not (shared_corpus("formats") / "yolo_obb_datumaro").is_dir(), reason="the shared corpus is not here")
def test_the_box_around_a_rotated_box_past_the_edge_is_clipped(tmp_path):
    """datumaro's OBB fixture: a corner at y = -0.009808 of a 15 x 10 image. Written as the box around
    it (YOLO detect, VOC, COCO's bbox), that box is clipped to the image; OBB keeps the corners."""
    from annover.formats.training import read_train

    t = read_train(shared_corpus("formats") / "yolo_obb_datumaro", "yolo-obb", None, True)
    tables = {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}
    yolo = render_train("yolo", tables, t.config_text)
    assert any("1 box(es) around rotated boxes or polygons crossing the image's edge were clipped" in n
               for n in yolo.notes), yolo.notes
    for line in yolo.files["labels/train/1.txt"].decode().splitlines():
        _, cx, cy, w, h = map(float, line.split())
        assert cx - w / 2 >= -1e-9 and cy - h / 2 >= -1e-9 and cx + w / 2 <= 1 + 1e-9 and cy + h / 2 <= 1 + 1e-9
    voc = render_train("voc", tables, t.config_text)
    assert any("1 of these boxes crossed the image's edge" in n for n in voc.notes), voc.notes
    root = ET.fromstring(voc.files["Annotations/1.xml"])
    for o in root.findall("object"):
        b = [float(o.find("bndbox").findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
        assert 0 <= b[0] <= b[2] <= 15 and 0 <= b[1] <= b[3] <= 10, b
    doc = json.loads(render_train("coco", tables, t.config_text).data)
    for a in doc["annotations"]:
        x, y, w, h = a["bbox"]
        assert x >= 0 and y >= 0 and x + w <= 15 + 1e-9 and y + h <= 10 + 1e-9, a["bbox"]
    obb = render_train("yolo-obb", tables, t.config_text)
    assert min(float(v) for line in obb.files["labels/train/1.txt"].decode().splitlines()
               for v in line.split()[1:]) < 0  # the file's own corner, as Ultralytics reads OBB lines


def test_a_yolo_pose_keypoint_outside_the_image_is_written_as_not_labeled():
    """Ultralytics' verify_image_label refuses an image whose pose line has a keypoint above 1 or
    below 0 (the whole image's labels dropped): such a keypoint is written 0 0 0, and said."""
    cfg = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
           '<Label value="p"/></RectangleLabels><KeyPointLabels name="kp" toName="image"><Label value="nose"/>'
           '<Label value="eye"/><Label value="ear"/></KeyPointLabels></View>')
    size = {"original_width": 200, "original_height": 100, "to_name": "image"}

    def kp(i: str, x: float, y: float, label: str) -> dict:
        return {**size, "id": i, "parentID": "b1", "from_name": "kp", "type": "keypointlabels",
                "value": {"x": x, "y": y, "width": 0.5, "keypointlabels": [label]}}

    tasks = [{"id": 1, "data": {"image": "a.jpg"}, "annotations": [{"result": [
        {**_box(80, 10, 19, 50, "p"), "id": "b1"}, kp("k1", 101, 20, "nose"), kp("k2", 90, -3, "eye"),
        kp("k3", 85, 30, "ear")]}]}]
    t = from_ls_tasks(tasks, "test", config=LabelingConfig(cfg), validate=False)
    r = render_train("yolo", {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}, cfg)
    row = r.files["labels/a.txt"].decode().split()
    assert row[5:] == ["0", "0", "0", "0", "0", "0", "0.85", "0.3", "2"], row
    assert all(0 <= float(v) <= 1 for i, v in enumerate(row[1:]) if i < 4 or (i - 4) % 3 != 2)
    assert any("2 keypoint(s) outside the image were written as not labeled" in n for n in r.notes), r.notes
