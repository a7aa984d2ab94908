"""What an ML engineer training detectors hit on first use (a trial on the shared corpus).

- COCO results (``export --format coco --predictions MODEL``) gave every box its prediction's
  score, not the box's own (Label Studio's per-result ``score``, what a detector gives each box,
  which ``suspects`` already reads): pycocotools ranks a model's boxes by it, so AP was computed
  on ties."""

from __future__ import annotations

import json

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
