"""Rotated boxes in the loop, audited on the shared corpus's sdk_yolo_obb export (images of
597x768 pixels): Label Studio turns a box about its top-left corner in pixels, so on an image
that is not square the turned box is not the percent box turned in percent units. The pairing
(annover.model.geometry.rect_polygon, used by agreement, eval and the diff) turns it in percent
units, and two boxes whose pixel IoU is 0.56 score 0.497 and do not pair at IoU 0.5.

Left as a known failure for the geometry's owner: the fix needs each value's image size
(the ``region`` column's original_width/height) passed to ``shape_of``."""

from __future__ import annotations

import copy
import json
import math

import pytest
from shapely.geometry import Polygon

from tests.conftest import shared_corpus
from tests.test_cli import invoke

LS = shared_corpus("label-studio")


def _pixels(v: dict, w: float, h: float) -> Polygon:
    x0, y0, bw, bh = v["x"] * w / 100, v["y"] * h / 100, v["width"] * w / 100, v["height"] * h / 100
    c, s = math.cos(math.radians(v["rotation"])), math.sin(math.radians(v["rotation"]))
    return Polygon([(x0, y0), (x0 + bw * c, y0 + bw * s), (x0 + bw * c - bh * s, y0 + bw * s + bh * c),
                    (x0 - bh * s, y0 + bh * c)])


@pytest.mark.xfail(strict=True, reason="rotated boxes are turned in percent units, not pixels (see the module)")
def test_two_annotators_rotated_boxes_pair_by_their_pixel_iou(repo, tmp_path):
    task = json.loads((LS / "sdk_yolo_obb.json").read_text())[0]
    first = task["annotations"][0]
    first["result"] = first["result"][:1]
    r = first["result"][0]
    w, h = r["original_width"], r["original_height"]
    assert (w, h) == (597, 768)
    second = copy.deepcopy(first)
    second["id"], second["completed_by"] = first["id"] + 1000, {"email": "other@example.com"}
    second["result"][0]["id"] = "turned"
    second["result"][0]["value"]["rotation"] = r["value"]["rotation"] + 15
    a, b = _pixels(r["value"], w, h), _pixels(second["result"][0]["value"], w, h)
    iou = a.intersection(b).area / a.union(b).area
    assert 0.55 < iou < 0.57  # the same box turned 15 degrees more: they pair at IoU 0.5
    task["annotations"] = [first, second]
    task["predictions"] = []
    (tmp_path / "obb.json").write_text(json.dumps([task]))
    repo.snapshot(str(tmp_path / "obb.json"), config=str(LS / "sdk_yolo_obb.xml"), message="obb")
    code, out, err = invoke("agreement", "--json")
    assert code == 0, err
    pair = json.loads(out)["controls"]["label"]["pairs"][0]
    assert pair["matched"] == 1 and pair["f1"] == 1.0
