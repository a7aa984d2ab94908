"""Keypoints pair by the distance between them, as boxes pair by IoU and spans by overlap.

A Label Studio keypoint (``keypointlabels``: ``x, y`` in percent of the image, ``width`` the
dot's size as drawn) had no shape, so region matching paired keypoints of a control only
when there was one on each side: two annotators who placed the same joints a pixel apart
agreed with F1 0, a model whose keypoints equal the labels scored 0, and a diff of moved
keypoints without region ids said every one was removed and another added. Points now
score ``exp(-ln 2 * (d / 2)**2)`` of their distance ``d`` in percent of the image's diagonal
(annover.model.geometry), and pair when that reaches the IoU threshold.

The end-to-end cases read the corpus's real pose export (label-studio-sdk's keypoint test
data: 3 joints and the person's box) through the command line.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annover.model.geometry import POINT, POINT_HALF, shape_of, shape_on, shape_score

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("label-studio")
POSE = CORPUS / "sdk_keypoints_pose.json"
POSE_XML = CORPUS / "sdk_keypoints_pose.xml"


def _point(x: float, y: float, lab: str = "nose") -> dict:
    return {"x": x, "y": y, "width": 0.23, "keypointlabels": [lab]}


def test_a_keypoint_is_a_point_and_not_a_box():
    s = shape_of(_point(10, 20))
    assert s is not None and s.family == POINT
    assert shape_of({"x": 1, "y": 2, "width": 3, "height": 4, "rectanglelabels": ["a"]}).family != POINT
    assert shape_of({"x": 1, "y": 2, "radiusX": 3, "radiusY": 4}).family != POINT
    assert shape_of({"x": True, "y": 2}) is None  # a bool is no number


def test_similarity_is_half_at_point_half_of_the_diagonal_on_the_image_s_own_shape():
    # a 2:1 image: 1% of the width is twice as many pixels as 1% of the height
    region = json.dumps({"original_width": 200, "original_height": 100})
    a, b = shape_on(_point(10, 10), region), shape_on(_point(10, 10 + POINT_HALF * math.hypot(2, 1)), region)
    assert shape_score(a, b) == pytest.approx(0.5, abs=1e-6)
    across = shape_on(_point(10 + POINT_HALF * math.hypot(2, 1) / 2, 10), region)
    assert shape_score(a, across) == pytest.approx(0.5, abs=1e-6)
    # no size given: the image is taken as square
    sq = shape_score(shape_of(_point(0, 0)), shape_of(_point(POINT_HALF * math.sqrt(2), 0)))
    assert sq == pytest.approx(0.5, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 100), st.floats(0, 100), st.floats(0, 100), st.floats(0, 100), st.floats(0.01, 30))
def test_similarity_is_symmetric_one_at_the_same_spot_and_falls_with_distance(x, y, u, v, further):
    a, b = shape_of(_point(x, y)), shape_of(_point(u, v))
    s = shape_score(a, b)
    assert s == shape_score(b, a) and 0 <= s <= 1
    assert shape_score(a, a) == 1.0
    far = shape_of(_point(u + (further if u >= x else -further), v))  # b moved away from a
    if (x, y) != (u, v):
        assert shape_score(a, far) <= s


def _jittered(doc: list, step: float, far: str | None = None, drop_ids: bool = False) -> list:
    """The export with every keypoint moved by ``step`` percent on both axes (``far``: that joint
    moved 30% instead), optionally without region ids (keys then come from the content)."""
    out = copy.deepcopy(doc)
    for task in out:
        for ann in task["annotations"]:
            for r in ann["result"]:
                if r["type"] == "keypointlabels":
                    d = 30 if far in r["value"]["keypointlabels"] else step
                    r["value"]["x"] = min(100, r["value"]["x"] + d)
                    r["value"]["y"] = min(100, r["value"]["y"] + d * 0.5)
                if drop_ids:
                    r.pop("id", None)
                    r.pop("parentID", None)
    return out


def _second_annotator(doc: list, other: list) -> list:
    """The tasks of ``doc`` with ``other``'s annotation added, by another annotator."""
    out = copy.deepcopy(doc)
    for task, t2 in zip(out, other):
        extra = copy.deepcopy(t2["annotations"][0])
        extra["id"] = extra.get("id", 0) + 1000
        extra["completed_by"] = {"id": 77, "email": "second@example.com"}
        task["annotations"].append(extra)
    return out


def _write(path: Path, doc: list) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


def _joints(doc: list) -> int:
    return sum(r["type"] == "keypointlabels" for r in doc[0]["annotations"][0]["result"])


def test_agreement_pairs_keypoints_placed_a_little_apart(repo, tmp_path):
    doc = json.loads(POSE.read_text())
    both = _second_annotator(doc, _jittered(doc, 0.3, far="nose"))
    src = _write(tmp_path / "two.json", both)
    assert invoke("snapshot", "--from", src, "--config", str(POSE_XML), "-m", "two")[0] == 0
    code, out, err = invoke("agreement", "--json")
    assert code == 0, err
    kp = json.loads(out)["controls"]["keypoints"]
    n = _joints(doc)
    # every joint but the nose within 0.3% (similarity ~0.96), the nose 30% away: n-1 pairs of n and n
    assert kp["f1"]["value"] == pytest.approx(2 * (n - 1) / (2 * n))
    assert kp["labels"]["left_eye"]["f1"]["value"] == 1.0 and kp["labels"]["nose"]["f1"]["value"] == 0.0
    strict = json.loads(invoke("agreement", "--json", "--iou", "0.99")[1])
    assert strict["controls"]["keypoints"]["f1"]["value"] == 0.0  # 0.3% apart is below 0.99


def test_eval_of_a_model_whose_keypoints_are_the_labels(repo, tmp_path):
    doc = json.loads(POSE.read_text())
    preds = copy.deepcopy(doc)
    for task, t in zip(preds, _jittered(doc, 0.1)):
        task["predictions"] = [{"model_version": "pose-m", "score": 0.9, "result": t["annotations"][0]["result"]}]
    src = _write(tmp_path / "pred.json", preds)
    assert invoke("snapshot", "--from", src, "--config", str(POSE_XML), "-m", "p")[0] == 0
    code, out, err = invoke("eval", "--model", "pose-m", "--json")
    assert code == 0, err
    at = json.loads(out)["controls"]["keypoints"]["thresholds"]
    assert at["0.5"]["f1"] == 1.0 and at["0.5"]["matched"] == _joints(doc)


@pytest.mark.parametrize("drop_ids", [False, True], ids=["region ids", "no ids"])
def test_diff_says_a_keypoint_moved(repo, tmp_path, drop_ids):
    doc = json.loads(POSE.read_text())
    v1 = _jittered(doc, 0, drop_ids=drop_ids)
    assert invoke("snapshot", "--from", _write(tmp_path / "v1.json", v1), "--config", str(POSE_XML), "-m", "v1")[0] == 0
    v2 = _jittered(doc, 0.4, drop_ids=drop_ids)
    assert invoke("snapshot", "--from", _write(tmp_path / "v2.json", v2), "-m", "v2")[0] == 0
    rows_file = tmp_path / "rows.parquet"
    code, out, err = invoke("diff", "v1", "v2", "--json", "-o", str(rows_file))
    assert code == 0, err
    regions = json.loads(out)["regions"]
    n = _joints(doc)
    assert (regions["changed"], regions["added"], regions["removed"]) == (n, 0, 0)
    rows = [r for r in pq.read_table(rows_file).to_pylist() if r["type"] == "keypointlabels"]
    assert len(rows) == n
    assert {r["match"] for r in rows} == {"key" if not drop_ids else "point"}
    assert all(r["description"].startswith(f"{r['labels_b'][0]} moved") for r in rows), rows[0]["description"]
    assert all(0.5 < r["score"] < 1 for r in rows)
