"""What an ML engineer training detectors hit on first use (a trial on the shared corpus).

- COCO results (``export --format coco --predictions MODEL``) gave every box its prediction's
  score, not the box's own (Label Studio's per-result ``score``, what a detector gives each box,
  which ``suspects`` already reads): pycocotools ranks a model's boxes by it, so AP was computed
  on ties.
- ``dataset push DATASET --from v1 --predictions preds.jsonl``, v1 a snapshot of a YOLO, COCO or VOC
  folder (whose tasks the reader keys by the image's file name, ``stem:data.image``), matched the
  predictions' ``task_key`` (``img_1``) against the hash of the task data: exit 3, "no task of
  --predictions ... is in version v1", though v1's tasks are keyed ``img_1``. A version sent
  without ``--key`` is keyed as it was read (and the dataset remembers it), as ``--from-sample``
  already did.

The other tests here say what they fix in their own docstrings (each failed before its fix)."""

from __future__ import annotations

import json
import re
import shutil
import uuid

import pytest

from .conftest import shared_corpus
from .ls_fixtures import cli, ls, ls_server, sdk_admin  # noqa: F401 - fixtures
from .test_cli import invoke

CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image"><Label value="car"/><Label value="bus"/></RectangleLabels>
</View>
"""


def _box(x: float, label: str, score: float | None = None) -> dict:
    r = {"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 200,
         "original_height": 100, "value": {"x": x, "y": 10, "width": 20, "height": 30, "rotation": 0,
                                           "rectanglelabels": [label]}}
    return r if score is None else {**r, "score": score}


def test_coco_results_give_each_box_its_own_score(repo, tmp_path):
    from pycocotools.coco import COCO

    tasks = [{"data": {"image": "a.jpg"}, "annotations": [{"result": [_box(10, "car"), _box(50, "bus")]}],
              "predictions": [{"model_version": "det-1", "score": 0.5,
                               "result": [_box(10, "car", 0.93), _box(50, "bus", 0.27), _box(70, "car")]}]}]
    (tmp_path / "t.json").write_text(json.dumps(tasks))
    (tmp_path / "c.xml").write_text(CONFIG)
    repo.snapshot(str(tmp_path / "t.json"), config=str(tmp_path / "c.xml"), message="boxes")
    gt, dt = tmp_path / "gt.json", tmp_path / "dt.json"
    assert invoke("export", "--format", "coco", "--out", str(gt))[0] == 0
    code, _, err = invoke("export", "--format", "coco", "--out", str(dt), "--predictions", "det-1")
    assert code == 0, err
    res = COCO(str(gt)).loadRes(str(dt))
    got = sorted((a["bbox"][0], a["score"]) for a in res.anns.values())
    assert got == [(20, 0.93), (100, 0.27), (140, 0.5)]  # a box without its own score: the prediction's


@pytest.mark.labelstudio
def test_a_version_is_pushed_keyed_as_it_was_read(repo, sdk_admin, tmp_path):
    repo.snapshot(str(shared_corpus("formats") / "yolo_detect_lssdk"), message="yolo")
    preds = [{"task_key": k, "model_version": "det-1", "score": 0.8, "result": [_box(10, "car", 0.9)]}
             for k in ("img_1", "img_2")]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds))
    cfg = tmp_path / "c.xml"
    cfg.write_text(CONFIG.replace('<Label value="car"/>', '<Label value="car"/><Label value="closed_door"/>'
                                  '<Label value="opened_door"/><Label value="number"/>'))
    title = f"h2-keyed-{uuid.uuid4().hex[:8]}"
    code, out, err = cli("dataset", "create", title, "--config", str(cfg))
    assert code == 0, err
    pid = int(out.strip().splitlines()[-1])
    try:
        code, out, err = cli("dataset", "push", title, "--from", "v1", "--predictions", str(tmp_path / "p.jsonl"),
                             "--json")
        assert code == 0, err
        r = json.loads(out)
        assert (r["sent"], r["predictions"], r["key"]) == (7, 2, "stem:data.image")
        assert "keyed with --key stem:data.image, as version v1 was read" in err
        record = json.loads((repo.dir / "datasets" / f"{title}.json").read_text())
        assert record["key"] == "stem:data.image"  # remembered: later pushes of files, the first snapshot
        code, out, err = cli("dataset", "push", title, "--from", "v1", "--json")
        assert code == 0 and json.loads(out)["already"] == 7, err
    finally:
        sdk_admin.projects.delete(id=pid)


def test_yolo_labels_without_images_say_so_at_the_snapshot_and_the_export(repo, tmp_path):
    """Was: the snapshot of a YOLO folder of labels alone (the images elsewhere) said nothing, and the COCO
    export then asked for original_width/original_height in the results, which a YOLO user never wrote."""
    src = tmp_path / "yolo"
    shutil.copytree(shared_corpus("formats") / "yolo_detect_lssdk", src, ignore=shutil.ignore_patterns("sizes.json"))
    code, _, err = invoke("snapshot", "--from", str(src), "-m", "labels alone")
    assert code == 0, err
    assert "7 label file(s) have no image size (e.g. labels/img_1.txt)" in err and "sizes.json" in err
    code, _, err = invoke("export", "--format", "coco", "--out", str(tmp_path / "c.json"))
    assert code == 3 and "a version of a YOLO folder: snapshot the folder again" in err, err
    assert not (tmp_path / "c.json").exists()
    code, _, err = invoke("snapshot", "--from", str(shared_corpus("formats") / "yolo_detect_lssdk"))
    assert code == 0 and "no image size" not in err, err


def test_a_yolo_labels_folder_given_for_its_dataset_names_the_dataset(repo):
    """``--from ds/labels`` (the folder of the .txt files, the commonest slip) said to give "a YOLO folder"."""
    ds = shared_corpus("formats") / "yolo_detect_lssdk"
    code, _, err = invoke("snapshot", "--from", str(ds / "labels"), "-n")
    assert code == 3 and f"give the YOLO folder it is in, {ds} (its classes.txt and labels/" in err, err


def test_a_voc_folder_gives_a_config_of_each_class_once(repo):
    """Was: the first file's objects all went into the generated config, a label per object: BCCD's
    first file has 19 RBC cells, so the config (Label Studio's buttons, `dataset create`) had 19 RBC labels."""
    repo.snapshot(str(shared_corpus("formats") / "voc_bccd"), message="bccd")
    labels = re.findall(r'<Label value="([^"]+)"', repo.config_text("HEAD"))
    assert labels == ["WBC", "RBC", "Platelets"]  # first seen: BloodImage_00000 has a WBC, then RBC; Platelets later


def test_a_new_class_against_heads_config_says_how_to_add_it(repo, tmp_path):
    """A second round with a class the first had not (HEAD's generated config lacks it) was told to "fix the
    results or the labeling config of HEAD", with no word of how; the hint's own commands now work."""
    formats = shared_corpus("formats")
    repo.snapshot(str(formats / "voc_bccd"), message="cells")
    code, _, err = invoke("snapshot", "--from", str(formats / "voc_raccoon_labelimg"))
    assert code == 4 and "`annover show --config > labeling.xml`, add it there" in err, err
    code, out, err = invoke("show", "--config")
    assert code == 0, err
    added = out.replace('<Label value="WBC"/>', '<Label value="WBC"/><Label value="raccoon"/>')
    (tmp_path / "labeling.xml").write_text(added)
    code, _, err = invoke("snapshot", "--from", str(formats / "voc_raccoon_labelimg"), "--config",
                          str(tmp_path / "labeling.xml"))
    assert code == 0, err
