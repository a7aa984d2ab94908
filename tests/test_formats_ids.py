"""Ids and links a training format keeps. COCO category ids survive a round trip: a COCO file's ids (1, 2, 4; Roboflow's from 0) are kept as
the labels' ``category`` in the generated labeling config (as label-studio-sdk's converter reads
them), so an export of the version writes them back, and a model head trained on them still fits.
The Hugging Face export links each keypoint to its object."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annover.formats import coco
from annover.formats.train import to_tables
from annover.formats.images import category_ids
from annover.formats.training import read_train, render_train
from annover.model.config import LabelingConfig

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("formats")


def _tables(t) -> dict:
    return {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}


def _ids(doc: dict) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """name -> id of a COCO document's categories, and (image id, category name) per annotation."""
    names = {c["id"]: c["name"] for c in doc["categories"]}
    return ({c["name"]: c["id"] for c in doc["categories"]},
            sorted((a["image_id"], names[a["category_id"]]) for a in doc["annotations"]))


@st.composite
def _coco_docs(draw) -> dict:
    n = draw(st.integers(1, 6))
    ids = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n, unique=True))
    cats = [{"id": i, "name": f"c{k}", "supercategory": ""} for k, i in enumerate(ids)]
    images = [{"id": i, "file_name": f"im{i}.jpg", "width": 100, "height": 80} for i in range(1, 4)]
    anns = []
    for _ in range(draw(st.integers(1, 8))):
        cat, img = draw(st.sampled_from(ids)), draw(st.integers(1, 3))
        a = {"id": len(anns) + 1, "image_id": img, "category_id": cat, "bbox": [10, 10, 20, 30], "area": 600,
             "iscrowd": 0, "segmentation": []}
        if draw(st.booleans()):  # a polygon: the general writer; else plain boxes, the column-at-a-time one
            a["segmentation"] = [[10, 10, 30, 10, 30, 40, 10, 40]]
        anns.append(a)
    return {"images": images, "annotations": anns, "categories": cats}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=_coco_docs())
def test_property_sparse_category_ids_survive_coco_version_coco(doc, tmp_path):
    from pycocotools.coco import COCO

    src = tmp_path / "in.json"
    src.write_text(json.dumps(doc))
    want = _ids(doc)
    for t, text in ((read_train(src, "coco", None, True), None),  # the column-at-a-time reader
                    to_tables(coco.read(src), str(src), "coco", None, True)):  # the general one
        cfg = t.config_text or text
        out = tmp_path / "out.json"
        out.write_bytes(render_train("coco", _tables(t), cfg).data)
        got = json.loads(out.read_text())
        assert _ids(got) == want
        gt = COCO(str(out))  # pycocotools loads it, every annotation's category among its categories
        assert set(gt.getCatIds()) == set(want[0].values()) and all(
            a["category_id"] in gt.cats for a in gt.dataset["annotations"])


@pytest.mark.parametrize("name", ["coco_instances_rle_datumaro.json", "coco_chess_roboflow.json"])
def test_coco_ids_survive_a_snapshot(repo, tmp_path, name):
    """datumaro's file (ids 1, 2, 4) came back as 1, 2, 3; Roboflow's (from 0) as 1..14."""
    code, _, err = invoke("snapshot", "--from", str(CORPUS / name), "-m", name)
    assert code == 0, err
    out = tmp_path / "out.json"
    code, _, err = invoke("export", "--format", "coco", "--out", str(out))
    assert code == 0, err
    src, got = json.loads((CORPUS / name).read_text()), json.loads(out.read_text())
    assert {(c["id"], c["name"]) for c in got["categories"]} == {(c["id"], c["name"]) for c in src["categories"]}
    by_id = {c["id"]: c["name"] for c in src["categories"]}
    assert sorted((a["image_id"], by_id[a["category_id"]]) for a in src["annotations"]) == \
        sorted((a["image_id"], by_id[a["category_id"]]) for a in got["annotations"])


def test_labels_without_an_id_get_ids_after_the_largest():
    cfg = LabelingConfig('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
                         '<Label value="a" category="7"/><Label value="b"/><Label value="c" category="3"/>'
                         '</RectangleLabels></View>', validate=False)
    assert category_ids(cfg, ["a", "b", "c", "d"]) == {"a": 7, "b": 8, "c": 3, "d": 9}
    assert category_ids(None, ["a", "b"]) == {"a": 1, "b": 2}


def test_a_given_config_without_the_files_ids_is_said(tmp_path):
    """With --config, the config numbers the categories: a file whose ids differ gets a warning."""
    src = CORPUS / "coco_instances_rle_datumaro.json"
    cfg = LabelingConfig('<View><Image name="image" value="$image"/><PolygonLabels name="p" toName="image">'
                         '<Label value="a"/><Label value="b"/><Label value="c"/></PolygonLabels>'
                         '<BrushLabels name="m" toName="image"><Label value="a"/><Label value="b"/>'
                         '<Label value="c"/></BrushLabels></View>')
    t = read_train(src, "coco", cfg, True)
    assert any("other category ids than the file (a=1, b=2, c=4)" in w for w in t.warnings), t.warnings


def test_hf_keypoints_name_their_object(repo, tmp_path):
    """Label Studio links a keypoint to its box by ``parentID`` (the corpus' pose export: 17 joints of
    a person box); the HF column had x, y and label only, so which person a joint was of was lost."""
    import annover

    lsc = CORPUS.parent / "label-studio"
    code, _, err = invoke("snapshot", "--from", str(lsc / "sdk_keypoints_pose.json"), "--config",
                          str(lsc / "sdk_keypoints_pose.xml"), "-m", "pose")
    assert code == 0, err
    ds = annover.load("HEAD", format="hf")
    src = json.loads((lsc / "sdk_keypoints_pose.json").read_text())
    tasks = src if isinstance(src, list) else [src]
    for row, task in zip(ds, tasks):
        result = task["annotations"][0]["result"]
        boxes = [r["id"] for r in result if r["type"] == "rectanglelabels"]
        want = sorted((round(r["value"]["x"], 6), boxes.index(r["parentID"])) for r in result
                      if r["type"] == "keypointlabels")
        got = sorted((round(k["x"], 6), k["object_index"]) for k in row["keypoints"])
        assert got == want and {k["object_control"] for k in row["keypoints"]} == {"bbox"}
