"""Rotated boxes and ellipses on images that are not square, as Label Studio draws them: turned
about the top-left corner (an ellipse about its centre) in pixels, while ``x, width`` are
percent of the image's width and ``y, height`` percent of its height. The shared corpus's
sdk_yolo_obb export (597x768 images) is the real case: two boxes whose pixel IoU is 0.56
scored 0.497 when they were turned in percent units, and agreement, eval and the diff did not
pair them at IoU 0.5. The reference here is shapely on the pixel polygons."""

from __future__ import annotations

import copy
import json
import math

import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from annover.diffing.match import shape_of_text
from annover.diffing.words import value_change
from annover.model.geometry import polygon_iou, shape_of

from .conftest import shared_corpus
from .test_cli import invoke

LS = shared_corpus("label-studio")
needs_corpus = pytest.mark.skipif(not (LS / "sdk_yolo_obb.json").is_file(), reason="the shared corpus is not here")


def _pixels(v: dict, w: float, h: float) -> list[tuple[float, float]]:
    """A Label Studio rectangle's corners in pixels, turned about its top-left corner."""
    x0, y0, bw, bh = v["x"] * w / 100, v["y"] * h / 100, v["width"] * w / 100, v["height"] * h / 100
    c, s = math.cos(math.radians(v["rotation"])), math.sin(math.radians(v["rotation"]))
    return [(x0, y0), (x0 + bw * c, y0 + bw * s), (x0 + bw * c - bh * s, y0 + bw * s + bh * c), (x0 - bh * s, y0 + bh * c)]


def _ellipse_pixels(v: dict, w: float, h: float, n: int = 32) -> list[tuple[float, float]]:
    cx, cy, rx, ry = v["x"] * w / 100, v["y"] * h / 100, v["radiusX"] * w / 100, v["radiusY"] * h / 100
    c, s = math.cos(math.radians(v["rotation"])), math.sin(math.radians(v["rotation"]))
    pts = []
    for i in range(n):
        t = 2 * math.pi * i / n
        ex, ey = rx * math.cos(t), ry * math.sin(t)
        pts.append((cx + ex * c - ey * s, cy + ex * s + ey * c))
    return pts


def _iou(p: list, q: list) -> float:
    a, b = Polygon(p), Polygon(q)
    return a.intersection(b).area / a.union(b).area


pct = st.floats(1, 60)
side = st.integers(16, 4000)
turn = st.floats(-359, 359).filter(lambda r: abs(r % 360) > 1e-3)


@settings(max_examples=150, deadline=None)
@given(x=pct, y=pct, w=pct, h=pct, r1=turn, r2=turn, dx=st.floats(-5, 5), width=side, height=side)
def test_property_turned_boxes_score_their_pixel_iou(x, y, w, h, r1, r2, dx, width, height):
    """The IoU of two turned boxes in percent units, on an image of any size, is their IoU in pixels."""
    a = {"x": x, "y": y, "width": w, "height": h, "rotation": r1}
    b = {"x": x + dx, "y": y, "width": w, "height": h * 0.8, "rotation": r2}
    aspect = width / height
    got = polygon_iou(shape_of(a, aspect).geom, shape_of(b, aspect).geom)
    assert got == pytest.approx(_iou(_pixels(a, width, height), _pixels(b, width, height)), abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(x=pct, y=pct, rx=pct, ry=pct, r1=turn, r2=turn, width=side, height=side)
def test_property_turned_ellipses_score_their_pixel_iou(x, y, rx, ry, r1, r2, width, height):
    a = {"x": x, "y": y, "radiusX": rx, "radiusY": ry, "rotation": r1}
    b = {"x": x, "y": y, "radiusX": rx, "radiusY": ry * 0.7, "rotation": r2}
    aspect = width / height
    got = polygon_iou(shape_of(a, aspect).geom, shape_of(b, aspect).geom)
    assert got == pytest.approx(_iou(_ellipse_pixels(a, width, height), _ellipse_pixels(b, width, height)), abs=1e-6)


def _obb_task() -> tuple[dict, dict, float]:
    """The corpus's first sdk_yolo_obb task with one box, that box turned 15 degrees more, and
    their IoU in pixels."""
    task = json.loads((LS / "sdk_yolo_obb.json").read_text())[0]
    first = task["annotations"][0]
    first["result"] = first["result"][:1]
    r = first["result"][0]
    w, h = r["original_width"], r["original_height"]
    assert (w, h) == (597, 768)  # not square: a turn in percent units is out of shape
    turned = copy.deepcopy(r)
    turned["id"] = "turned"
    turned["value"]["rotation"] = r["value"]["rotation"] + 15
    iou = _iou(_pixels(r["value"], w, h), _pixels(turned["value"], w, h))
    assert 0.55 < iou < 0.57  # they pair at IoU 0.5 (in percent units they scored 0.497)
    task["predictions"] = []
    return task, turned, iou


@needs_corpus
def test_two_annotators_rotated_boxes_pair_by_their_pixel_iou(repo, tmp_path):
    task, turned, _ = _obb_task()
    first = task["annotations"][0]
    second = copy.deepcopy(first)
    second["id"], second["completed_by"] = first["id"] + 1000, {"email": "other@example.com"}
    second["result"] = [turned]
    task["annotations"] = [first, second]
    (tmp_path / "obb.json").write_text(json.dumps([task]))
    repo.snapshot(str(tmp_path / "obb.json"), config=str(LS / "sdk_yolo_obb.xml"), message="obb")
    code, out, err = invoke("agreement", "--json")
    assert code == 0, err
    pair = json.loads(out)["controls"]["label"]["pairs"][0]
    assert pair["matched"] == 1 and pair["f1"] == {"value": 1.0, "n": 1}


@needs_corpus
def test_a_turned_prediction_matches_the_label_at_its_pixel_iou(repo, tmp_path):
    task, turned, _ = _obb_task()
    task["predictions"] = [{"model_version": "obb-v1", "score": 0.9, "result": [turned]}]
    (tmp_path / "obb.json").write_text(json.dumps([task]))
    repo.snapshot(str(tmp_path / "obb.json"), config=str(LS / "sdk_yolo_obb.xml"), message="obb")
    code, out, err = invoke("eval", "--json")
    assert code == 0, err
    at = json.loads(out)["controls"]["label"]["thresholds"]
    assert at["0.5"]["matched"] == 1 and at["0.75"]["matched"] == 0, at


@needs_corpus
def test_the_diff_pairs_a_turned_box_and_words_its_pixel_iou(repo, tmp_path):
    """v2 turns the box 15 degrees more under a new region id: one region changed, paired by
    IoU (not one removed and one added), and the words give the pixel IoU."""
    task, turned, iou = _obb_task()
    (tmp_path / "v1.json").write_text(json.dumps([task]))
    repo.snapshot(str(tmp_path / "v1.json"), config=str(LS / "sdk_yolo_obb.xml"), message="v1")
    task["annotations"][0]["result"] = [turned]
    (tmp_path / "v2.json").write_text(json.dumps([task]))
    repo.snapshot(str(tmp_path / "v2.json"), message="v2")
    d = repo.diff("v1", "v2")
    regions = d.summary["regions"]
    assert (regions["added"], regions["removed"], regions["changed"]) == (0, 0, 1), regions
    (row,) = d.rows.filter(pc.equal(d.rows.column("table"), "annotations")).to_pylist()
    assert row["match"] == "iou" and row["score"] == pytest.approx(iou, abs=1e-6), row
    assert f"IoU {iou:.2f}" in row["description"], row
    # the same box kept its id and turned: paired by key, worded with the same IoU
    turned["id"] = task["annotations"][0]["result"][0]["id"] = json.loads(
        (LS / "sdk_yolo_obb.json").read_text())[0]["annotations"][0]["result"][0]["id"]
    (tmp_path / "v3.json").write_text(json.dumps([task]))
    repo.snapshot(str(tmp_path / "v3.json"), message="v3")
    rows = repo.diff("v1", "v3").rows
    (row,) = rows.filter(pc.equal(rows.column("table"), "annotations")).to_pylist()
    assert row["match"] == "key" and row["score"] == pytest.approx(iou, abs=1e-6), row
    assert f"IoU {iou:.2f}" in row["description"], row


@pytest.mark.parametrize("region", ["other", "", "[1, 2]", "null", '{"original_width": 10, "original_height": 0}',
                                    '{"original_width": "10", "original_height": 5}', '{"origin": "manual"}'])
def test_a_region_text_that_names_no_image_size_takes_the_image_as_square(region):
    """The region column's text is the region's other fields as JSON; one that is not JSON, not an
    object, or has no usable size leaves a turned box as it was read before (square), never an error
    (a diff of such rows raised JSONDecodeError)."""
    value = json.dumps({"x": 10, "y": 10, "width": 20, "height": 10, "rotation": 30})
    assert shape_of_text(value, region) == shape_of_text(value, None) == shape_of(json.loads(value), 1.0)
    assert value_change(value, value.replace('"x": 10', '"x": 12'), None, region) == \
        value_change(value, value.replace('"x": 10', '"x": 12'))
