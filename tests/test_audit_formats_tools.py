"""<Labels> beside an image tool (<Rectangle>, <Brush>, <MagicWand>): Label Studio writes each region as
two results of one id, the tool's shape without labels and a "labels" result with them (and, for a
mask, the RLE). Training exports write one object with the labels, its category from the config."""

from __future__ import annotations

import json

import numpy as np
import pytest

from annover.formats.label_studio import from_ls_tasks
from annover.formats.training import render_train
from annover.model.config import LabelingConfig

from .conftest import shared_corpus

LS = shared_corpus("label-studio")


def _tables(tasks: list, cfg: str) -> dict:
    t = from_ls_tasks(tasks, "test", config=LabelingConfig(cfg), validate=False)
    return {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}


@pytest.mark.skipif(not (LS / "fe_magicwand_rle.json").exists(), reason="the shared corpus is not here")
def test_magic_wand_masks_reach_coco_with_the_config_categories(tmp_path):
    from label_studio_sdk.converter import brush
    from pycocotools.coco import COCO

    tasks = json.loads((LS / "fe_magicwand_rle.json").read_text())
    cfg = (LS / "fe_magicwand_rle.xml").read_text()
    r = render_train("coco", _tables(tasks, cfg), cfg)
    assert not any("have no place" in n for n in r.notes), r.notes
    (tmp_path / "c.json").write_bytes(r.data)
    doc = json.loads(r.data)
    assert [(c["id"], c["name"]) for c in doc["categories"]] == [
        (1, "Snow"), (2, "Cloud Shadow"), (3, "Haze"), (4, "Cloud"), (5, "Exclude")]
    gt = COCO(str(tmp_path / "c.json"))
    labeled = [x for x in tasks[0]["annotations"][0]["result"] if x["type"] == "labels"]
    assert len(gt.dataset["annotations"]) == len(labeled) == 2
    for ann, src in zip(gt.dataset["annotations"], labeled):
        assert gt.cats[ann["category_id"]]["name"] == src["value"]["labels"][0]
        want = brush.decode_rle(src["value"]["rle"]).reshape(2860, 3000, 4)[:, :, 3] > 0
        assert np.array_equal(gt.annToMask(ann).astype(bool), want)


CFG = ('<View><Image name="image" value="$image"/><Labels name="kind" toName="image">'
       '<Label value="cat"/><Label value="dog"/></Labels><Rectangle name="box" toName="image"/></View>')


def _box_labeled_dog() -> dict:
    """One <Rectangle> region labeled "dog" by the image's <Labels>, as Label Studio writes it."""
    geo = {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0}
    size = {"original_width": 200, "original_height": 100, "to_name": "image", "id": "r1"}
    tasks = [{"id": 1, "data": {"image": "a.jpg"}, "annotations": [{"result": [
        {**size, "from_name": "box", "type": "rectangle", "value": dict(geo)},
        {**size, "from_name": "kind", "type": "labels", "value": {**geo, "labels": ["dog"]}}]}]}]
    return _tables(tasks, CFG)


def test_a_rectangle_labeled_by_a_labels_control_is_one_box_of_that_label():
    tables = _box_labeled_dog()
    y = render_train("yolo", tables, CFG)
    assert y.files["labels/a.txt"].decode().split() == ["1", "0.25", "0.4", "0.3", "0.4"]
    assert y.files["classes.txt"].decode().split() == ["cat", "dog"]
    assert not any("no place" in n for n in y.notes), y.notes
    doc = json.loads(render_train("coco", tables, CFG).data)
    assert [(a["category_id"], a["bbox"]) for a in doc["annotations"]] == [(2, [20, 20, 60, 40])]


@pytest.mark.skipif(not (shared_corpus("formats") / "coco_person_keypoints_mmpose.json").exists(),
                    reason="the shared corpus is not here")
def test_hf_keypoints_keep_coco_visibility():
    """COCO val2017's persons: 164 visible keypoints (v 2) and 17 labeled but hidden (v 1), as COCO and
    YOLO pose exports keep them; the Hugging Face rows said nothing of v."""
    from annover.formats.training import read_train

    t = read_train(shared_corpus("formats") / "coco_person_keypoints_mmpose.json", "coco", None, True)
    ds = render_train("hf", {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions},
                      t.config_text).dataset
    assert "visibility" in ds.features["keypoints"].feature
    got = [k["visibility"] for row in ds for k in row["keypoints"]]
    assert (got.count(2), got.count(1), len(got)) == (164, 17, 181)


def _hf_back(ds, tmp_path):
    """The Hugging Face export saved and read back as `snapshot --from DIR` reads it (no --config)."""
    from annover.formats.training import read_train

    ds.save_to_disk(str(tmp_path / "hf"))
    t = read_train(tmp_path / "hf", "hf", None, True)
    return {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}, t.config_text


def test_hf_box_labeled_by_a_labels_control_is_a_box_of_that_label(tmp_path):
    """The Hugging Face export took the <Labels> on the image for spans on a text: its column was empty, the
    image's file name a token tagged O, and the <Rectangle> column the box as JSON without its label."""
    tables = _box_labeled_dog()
    r = render_train("hf", tables, CFG)
    ds = r.dataset
    assert {"tokens", "kind", "kind_tags"}.isdisjoint(ds.features), ds.features
    assert ds.features["box"].feature["label"].names == ["cat", "dog"]
    assert ds[0]["box"] == [{"bbox": [10.0, 20.0, 30.0, 40.0], "rotation": 0.0, "label": 1}]
    assert not any("left out" in n for n in r.notes), r.notes
    back, cfg = _hf_back(ds, tmp_path)  # read back, the box keeps its label: the same COCO file
    assert render_train("coco", back, cfg).data == render_train("coco", tables, CFG).data


@pytest.mark.skipif(not (LS / "fe_magicwand_rle.json").exists(), reason="the shared corpus is not here")
def test_hf_masks_labeled_by_a_labels_control_keep_their_labels(tmp_path):
    """The corpus's magic-wand masks, their tool named as in the config: the Hugging Face rows held no label
    of them (the masks as JSON without labels), and read back they were masks of no category."""
    tasks = json.loads((LS / "fe_magicwand_rle.json").read_text().replace("magicwand_tool_1", "magicwand_1"))
    cfg = (LS / "fe_magicwand_rle.xml").read_text()
    tables = _tables(tasks, cfg)
    ds = render_train("hf", tables, cfg).dataset
    assert "tokens" not in ds.features and "labels_1" not in ds.features
    labeled = [x["value"]["labels"] for x in tasks[0]["annotations"][0]["result"] if x["type"] == "labels"]
    assert [json.loads(m)["labels"] for m in ds[0]["magicwand_1"]] == labeled
    back, carried = _hf_back(ds, tmp_path)
    assert render_train("coco", back, carried).data == render_train("coco", tables, cfg).data
