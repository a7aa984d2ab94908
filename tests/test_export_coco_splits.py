"""COCO export of a version whose tasks have splits (``data.split``), as COCO 2017 lays a dataset out:
``annotations/instances_<split>.json`` per split and, with ``--images``, each split's images in
``<split>/<file_name>`` (detectron2's ``register_coco_instances(name, {}, json, image_root)``,
mmdetection's ``ann_file`` / ``data_prefix``, torchvision's ``CocoDetection(root, annFile)``).
Checked per split with pycocotools (``COCO(json)``, ``COCOeval`` of the split's own boxes) and
supervision's ``DetectionDataset.from_coco``, on the shared corpus's Roboflow COCO file and its YOLO
sample dealt into Roboflow's splits (images made here at their sizes: the corpus holds annotations only).

Was: COCO ignored the splits (one JSON of every task) while YOLO wrote them, so a COCO user split the
file by hand. And the COCO image-id rule was written twice (``coco.image_ids``, ``boxes_fast._image_ids``);
both crashed (AttributeError) on a task whose ``coco_image`` is no object."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest
import supervision as sv
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import annover
from annover.formats import boxes_fast, coco

from tests.test_cli import invoke
from tests.test_export_images_coco import CHESS, _boxes, _chess_images
from tests.test_formats_splits import _corpus_split

SPLITS = ("train", "val", "test")


@pytest.fixture(params=["fast", "general"])
def writer(request, monkeypatch):
    """Both COCO writers: the column-at-a-time one for plain boxes, and the general one."""
    if request.param == "general":
        monkeypatch.setattr(boxes_fast, "plain_boxes", lambda *a, **k: None)
    return request.param


@pytest.fixture
def chess_split(repo, tmp_path):
    """The Roboflow COCO file snapshotted (v1), then its tasks given splits in Label Studio JSON (v2):
    every third image train, val, test, but two images with none."""
    code, _, err = invoke("snapshot", "--from", str(CHESS), "-m", "chess", "-q")
    assert code == 0, err
    code, _, err = invoke("export", "v1", "--format", "label-studio", "-o", str(tmp_path / "ls.json"))
    assert code == 0, err
    tasks = json.loads((tmp_path / "ls.json").read_text())
    for i, t in enumerate(tasks):
        if i not in (4, 7):
            t["data"]["split"] = ("train", "valid", "test")[i % 3]  # Roboflow's 'valid' is val
    (tmp_path / "ls.json").write_text(json.dumps(tasks))
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "ls.json"), "-m", "splits", "-q")
    assert code == 0, err
    return {t["data"]["image"]: {"valid": "val"}.get(t["data"].get("split"), t["data"].get("split", "train"))
            for t in tasks}


def _check_split_folder(out: Path, whole: dict, split_of: dict[str, str]) -> dict[str, COCO]:
    """Each split's JSON read by pycocotools and supervision: the whole export's images of that split,
    their annotations with the same ids, the same categories; images below ``<split>/``."""
    files = sorted(p.name for p in (out / "annotations").iterdir())
    want = sorted({s for s in split_of.values()})
    assert files == [f"instances_{s}.json" for s in want]
    got, image_ids, ann_ids = {}, [], []
    for s in want:
        doc = json.loads((out / "annotations" / f"instances_{s}.json").read_text())
        assert doc["categories"] == whole["categories"] and doc["info"] == whole["info"]
        assert doc["images"] == [im for im in whole["images"] if split_of[im["file_name"]] == s]
        ids = {im["id"] for im in doc["images"]}
        assert doc["annotations"] == [a for a in whole["annotations"] if a["image_id"] in ids]
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO(str(out / "annotations" / f"instances_{s}.json"))
        assert len(coco.imgs) == len(doc["images"]) and len(coco.anns) == len(doc["annotations"])
        image_ids += list(coco.imgs)
        ann_ids += list(coco.anns)
        if (out / s).is_dir():
            for im in coco.imgs.values():
                with Image.open(out / s / im["file_name"]) as f:
                    assert f.size == (im["width"], im["height"])
            ds = sv.DetectionDataset.from_coco(images_directory_path=str(out / s),
                                               annotations_path=str(out / "annotations" / f"instances_{s}.json"))
            assert len(ds) == len(coco.imgs)
            boxes = {os.path.relpath(p, out / s): sorted(tuple(round(float(v), 2) for v in b) for b in det.xyxy)
                     for p, _, det in ds}
            assert boxes == _boxes(coco)
        got[s] = coco
    # ids unique across the files (as COCO's train and val number theirs), every one of the whole export's
    assert sorted(image_ids) == sorted(im["id"] for im in whole["images"]) and len(set(image_ids)) == len(image_ids)
    assert sorted(ann_ids) == [a["id"] for a in whole["annotations"]] and min(ann_ids) >= 1
    return got


def _evaluates_to_one(gt: COCO) -> None:
    """COCOeval of the split's own boxes as detections: AP 1 (its ids are ones COCOeval takes)."""
    dets = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
            for a in gt.dataset["annotations"]]
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(gt, gt.loadRes(dets), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[1] == pytest.approx(1.0)  # AP at IoU 0.5


def test_a_coco_export_with_images_of_a_split_version_is_one_json_and_one_image_folder_per_split(
        chess_split, writer, tmp_path):
    made = _chess_images(tmp_path / "data")
    code, stdout, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "whole.json"))
    assert code == 0, err
    assert "the tasks have splits (data 'split'): this one JSON holds them all" in err
    whole = json.loads((tmp_path / "whole.json").read_text())
    out = tmp_path / "chess-coco"
    code, stdout, err = invoke("export", "--format", "coco", "-o", str(out), "--images", str(tmp_path / "data"),
                               "--json")
    assert code == 0, err
    res = json.loads(stdout)
    assert res["images"] == {"images": 29, "checked": 0, "linked": 29, "copied": 0, "size_mismatches": []}
    assert sorted(p.name for p in out.iterdir()) == ["annotations", "test", "train", "val"]
    assert "2 image(s) have no split (task data 'split') beside others that have one: they are in " \
           "annotations/instances_train.json" in res["notes"]
    assert "COCO: one JSON per split (train 12 image(s), val 8 image(s), test 9 image(s)), as " \
           "annotations/instances_<split>.json" in res["notes"]
    cocos = _check_split_folder(out, whole, chess_split)
    for s, coco in cocos.items():
        for im in coco.imgs.values():
            assert os.path.samefile(out / s / im["file_name"], made[im["file_name"]])
        _evaluates_to_one(coco)
    # the splits' boxes together are the Roboflow file's
    assert {k: v for c in cocos.values() for k, v in _boxes(c).items()} == _boxes(COCO(str(CHESS)))


def test_a_roboflow_yolo_split_exports_to_coco_per_split_with_its_images(repo, writer, tmp_path):
    src = _corpus_split(tmp_path / "rf")  # the corpus' YOLO sample in train/valid/test, a background image
    code, _, err = invoke("snapshot", "--from", str(src), "-m", "roboflow", "-q")
    assert code == 0, err
    code, _, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "whole.json"))
    assert code == 0, err
    whole = json.loads((tmp_path / "whole.json").read_text())
    out = tmp_path / "out"
    res = annover.Repo(repo.root).export("HEAD", "coco", out, images=src)
    assert res.images["images"] == 8
    split_of = {im["file_name"]: {"valid": "val"}.get(im["file_name"].split("/")[0], im["file_name"].split("/")[0])
                for im in whole["images"]}
    cocos = _check_split_folder(out, whole, split_of)
    assert {s: len(c.imgs) for s, c in cocos.items()} == {"train": 3, "val": 3, "test": 2}
    # the file_name keeps the task's path (as without splits), below the split's folder
    assert sorted(p.relative_to(out).as_posix() for p in (out / "val").rglob("*.*")) == [
        "val/valid/images/bg.jpg", "val/valid/images/img_4.png", "val/valid/images/img_5.jpg"]
    for s in ("train", "val"):
        _evaluates_to_one(cocos[s])


def test_without_images_a_split_version_is_a_folder_of_the_split_jsons_unless_out_is_a_json_file(
        chess_split, writer, tmp_path):
    code, _, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "whole.json"))
    assert code == 0, err
    whole = json.loads((tmp_path / "whole.json").read_text())
    code, _, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "plain"))
    assert code == 0, err
    assert sorted(p.relative_to(tmp_path / "plain").as_posix() for p in (tmp_path / "plain").rglob("*")) == [
        "annotations", "annotations/instances_test.json", "annotations/instances_train.json",
        "annotations/instances_val.json"]
    _check_split_folder(tmp_path / "plain", whole, chess_split)
    # with --images, the same JSONs byte for byte
    _chess_images(tmp_path / "data")
    code, _, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "with"), "--images", str(tmp_path / "data"))
    assert code == 0, err
    for s in SPLITS:
        rel = f"annotations/instances_{s}.json"
        assert (tmp_path / "with" / rel).read_bytes() == (tmp_path / "plain" / rel).read_bytes()
    # standard output: the one JSON, said
    code, stdout, err = invoke("export", "--format", "coco", "-o", "-")
    assert code == 0 and stdout.encode() == (tmp_path / "whole.json").read_bytes()
    assert "this one JSON holds them all" in err
    code, _, err = invoke("export", "v1", "--format", "coco", "-o", str(tmp_path / "v1"))
    assert code == 0, err
    assert (tmp_path / "v1").is_file()  # v1 has no split: one file, whatever --out is named


def test_a_version_without_splits_is_one_json_as_before(repo, tmp_path):
    code, _, err = invoke("snapshot", "--from", str(CHESS), "-m", "chess", "-q")
    assert code == 0, err
    for out in ("a.json", "a-coco"):
        code, _, err = invoke("export", "--format", "coco", "-o", str(tmp_path / out))
        assert code == 0, err
        assert "data 'split'" not in err and "per split" not in err
    assert (tmp_path / "a-coco").read_bytes() == (tmp_path / "a.json").read_bytes()
    (tmp_path / "d").mkdir()  # a folder --out of a one-file export: refused as before, even with --force
    code, _, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "d"), "--force")
    assert code == 2 and "is a folder; this format writes one file" in err


def test_a_split_export_replaces_an_earlier_one_only_with_force(chess_split, tmp_path):
    out = tmp_path / "o"
    out.write_text("an earlier one-file export\n")
    code, _, err = invoke("export", "--format", "coco", "-o", str(out))
    assert code == 2 and "the export would replace it" in err
    code, _, err = invoke("export", "--format", "coco", "-o", str(out), "--force")
    assert code == 0, err
    assert (out / "annotations" / "instances_val.json").is_file()


@pytest.mark.parametrize("value", ["x", [1], 7, None])
def test_a_coco_image_field_that_is_no_object_gives_no_id_and_no_crash(repo, monkeypatch, tmp_path, value):
    """Both writers number the images 1.. by one rule (coco.image_ids); a ``coco_image`` of the user's
    own that is no object is no COCO image (was: AttributeError, a traceback)."""
    tasks = [{"id": i + 1, "data": {"image": f"im{i}.jpg", "coco_image": value},
              "annotations": [{"result": [{"from_name": "label", "to_name": "image", "type": "rectanglelabels",
                                           "original_width": 100, "original_height": 50,
                                           "value": {"x": 1, "y": 2, "width": 3, "height": 4, "rotation": 0,
                                                     "rectanglelabels": ["a"]}}]}]}
             for i in range(3)]
    tasks[1].pop("annotations")  # a task without an answer still counts in the numbering
    (tmp_path / "t.json").write_text(json.dumps(tasks))
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "t.json"), "-m", "t", "-q")
    assert code == 0, err
    code, _, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "fast.json"))
    assert code == 0, err
    monkeypatch.setattr(boxes_fast, "plain_boxes", lambda *a, **k: None)
    code, _, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "general.json"))
    assert code == 0, err
    assert (tmp_path / "fast.json").read_bytes() == (tmp_path / "general.json").read_bytes()
    doc = json.loads((tmp_path / "fast.json").read_text())
    rows = sorted((r["task_key"], json.loads(r["data"])["image"]) for r in repo.load("HEAD", "tasks").to_pylist())
    position = {image: i for i, (_, image) in enumerate(rows, 1)}  # 1.. in task-key order, of all three tasks
    assert len(doc["images"]) == 2 and all(set(im) == {"id", "file_name", "width", "height"} for im in doc["images"])
    for im in doc["images"]:
        assert im["id"] == position[im["file_name"]]
    assert sorted(a["image_id"] for a in doc["annotations"]) == sorted(im["id"] for im in doc["images"])


@pytest.mark.parametrize("odd", [1e-05, 1e16, float("nan"), 2 ** 70, "é\u2028\x07", None])
def test_each_split_json_has_the_bytes_the_whole_one_gives_its_parts(odd):
    """The splits' JSONs are the whole JSON's images and annotations as it writes them (orjson where it
    writes the whole file back byte for byte, else Python's json: ``1e-05``, NaN, an integer beyond 64
    bits kept from an import)."""
    doc = {"info": {"description": "exported by annover"},
           "images": [{"id": i, "file_name": f"{i}.jpg", "width": 10, "height": 10, "odd": odd} for i in (1, 2, 3)],
           "annotations": [{"id": j, "image_id": 1 + j % 3, "category_id": 1, "bbox": [0, 0, 1.5, odd if
                            isinstance(odd, float) else 2], "coco_extra": odd} for j in range(1, 7)],
           "categories": [{"id": 1, "name": "a", "supercategory": ""}]}
    dump = lambda d: (json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")  # noqa: E731
    notes: list[str] = []
    files = coco.by_split(dump(doc), {1: "val", 2: None, 3: "train"}, notes)
    assert files is not None and list(files) == ["annotations/instances_train.json", "annotations/instances_val.json"]
    for s, ids in (("train", {2, 3}), ("val", {1})):
        part = {**doc, "images": [im for im in doc["images"] if im["id"] in ids],
                "annotations": [a for a in doc["annotations"] if a["image_id"] in ids]}
        assert files[f"annotations/instances_{s}.json"] == dump(part)
    assert notes[0].startswith("1 image(s) have no split")
    assert coco.by_split(dump(doc), {1: None, 2: None, 3: None}, []) is None
