"""The COCO image-id rule, one for both writers (``coco.image_ids``; ``boxes_fast`` had its own copy,
``_image_ids``). Was: both crashed (AttributeError, a traceback) on a task whose ``coco_image`` is
no object."""

from __future__ import annotations

import json

import pytest

from annover.formats import boxes_fast

from tests.test_cli import invoke


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
