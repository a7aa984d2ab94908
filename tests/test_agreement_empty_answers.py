"""Region agreement counts an annotator who answered a task with no region of a control as
having drawn none there, as eval counts a label of no region: one annotator's boxes on an image
another saw as empty are a disagreement. They were left out: a task was compared only where both
had drawn something, so an annotator who missed every object never lowered anyone's F1."""

from __future__ import annotations

import json

from .test_cli import invoke

CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="objects" toName="image"><Label value="cat"/><Label value="dog"/></RectangleLabels>
  <Choices name="quality" toName="image"><Choice value="good"/><Choice value="blurry"/></Choices>
</View>
"""


def _box(i: str, x: float, label: str) -> dict:
    return {"id": i, "from_name": "objects", "to_name": "image", "type": "rectanglelabels", "original_width": 400,
            "original_height": 300, "value": {"x": x, "y": 10, "width": 20, "height": 20, "rectanglelabels": [label]}}


def _quality(i: str, q: str) -> dict:
    return {"id": i, "from_name": "quality", "to_name": "image", "type": "choices", "value": {"choices": [q]}}


def test_an_answer_with_no_box_disagrees_with_boxes(repo, tmp_path):
    def ann(n, who, result):
        return {"id": n, "completed_by": {"email": who}, "result": result}
    tasks = [
        # both drew the same cat: agree
        {"id": 1, "data": {"image": "a.png"}, "annotations": [
            ann(1, "ann@example.com", [_box("a1", 10, "cat"), _quality("q1", "good")]),
            ann(2, "bob@example.com", [_box("b1", 10, "cat"), _quality("q2", "good")])]},
        # ann drew two dogs, bob answered the image as having none (only its quality)
        {"id": 2, "data": {"image": "b.png"}, "annotations": [
            ann(3, "ann@example.com", [_box("a2", 10, "dog"), _box("a3", 50, "dog"), _quality("q3", "good")]),
            ann(4, "bob@example.com", [_quality("q4", "blurry")])]},
        # bob skipped: not an answer, so not a disagreement
        {"id": 3, "data": {"image": "c.png"}, "annotations": [
            ann(5, "ann@example.com", [_box("a4", 10, "cat")]),
            {"id": 6, "completed_by": {"email": "bob@example.com"}, "was_cancelled": True, "result": []}]},
    ]
    (tmp_path / "t.json").write_text(json.dumps(tasks))
    (tmp_path / "c.xml").write_text(CONFIG)
    repo.snapshot(str(tmp_path / "t.json"), config=str(tmp_path / "c.xml"), message="boxes")
    code, out, err = invoke("agreement", "--json")
    assert code == 0, err
    objects = json.loads(out)["controls"]["objects"]
    (pair,) = objects["pairs"]
    # 1 matched of ann's 3 and bob's 1: F1 = 2 * 1 / (3 + 1)
    assert (pair["tasks"], pair["regions_a"], pair["regions_b"], pair["matched"], pair["same_label"]) == (2, 3, 1, 1, 1)
    assert pair["f1"] == {"value": 0.5, "n": 2} and objects["tasks_with_two_or_more"] == 2
    assert objects["labels"]["dog"]["f1"]["value"] == 0.0
