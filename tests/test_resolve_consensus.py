"""``--resolve consensus`` on a training export: region by region, what a strict majority of a
task's answers give. Checked on a real three-annotator box export (every box that goes out is
an annotator's own box that a majority drew, by an IoU computed here from the raw JSON), on a
hand-made task, read back by pycocotools, and by a property over generated annotators."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools.coco import COCO

import annover
from annover.formats.resolve import pick

from .conftest import shared_corpus
from .test_cli import invoke
from .test_json_schemas import validator

CONFIG = ('<View><Image name="image" value="$image"/>'
          '<RectangleLabels name="box" toName="image"><Label value="car"/><Label value="dog"/></RectangleLabels>'
          '<TextArea name="note" toName="image" perRegion="true"/>'
          '<Choices name="quality" toName="image"><Choice value="good"/><Choice value="bad"/></Choices></View>')


def _iou(a: dict, b: dict) -> float:
    ax1, ay1, bx1, by1 = a["x"] + a["width"], a["y"] + a["height"], b["x"] + b["width"], b["y"] + b["height"]
    inter = max(0.0, min(ax1, bx1) - max(a["x"], b["x"])) * max(0.0, min(ay1, by1) - max(a["y"], b["y"]))
    union = a["width"] * a["height"] + b["width"] * b["height"] - inter
    return inter / union if union > 0 else 0.0


def _box(rid: str, label: str, x: float, y: float, w: float = 10.0, h: float = 10.0, **extra) -> dict:
    return {"id": rid, "from_name": "box", "to_name": "image", "type": "rectanglelabels",
            "original_width": 200, "original_height": 100,
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}, **extra}


def _answer(n: int, who: int, results: list[dict], day: int) -> dict:
    return {"id": n, "completed_by": {"id": who + 1, "email": f"a{who}@example.com"}, "result": results,
            "created_at": f"2024-01-{day:02d}T00:00:00Z", "updated_at": f"2024-01-{day:02d}T00:00:00Z"}


def _snapshot(root: Path, tasks: list[dict]) -> None:
    """A version of ``tasks`` in the repository at ``root`` (the current folder)."""
    (root / "tasks.json").write_text(json.dumps(tasks))
    (root / "config.xml").write_text(CONFIG)
    code, out, err = invoke("snapshot", "--from", "tasks.json", "--config", "config.xml", "-m", "r1")
    assert code == 0, err


def _tables(root: Path) -> dict:
    return {t: annover.load("HEAD", table=t, repo=root) for t in ("tasks", "annotations", "predictions")}


def test_consensus_keeps_what_most_annotators_drew_once(repo, tmp_path):
    """Three annotators: a car all three drew (apart by a pixel or two), a dog two drew, a car one
    drew, and the image's quality two called good. The export holds the car once (the drawing
    nearest the other two, with its per-region note), the dog, and good; not the lone car."""
    cars = [_box("c0", "car", 10, 10), _box("c1", "car", 11, 10), _box("c2", "car", 12, 11)]
    note = {"id": "c1", "from_name": "note", "to_name": "image", "type": "textarea", "value": {"text": ["red"]}}
    dogs = [_box("d0", "dog", 50, 50), _box("d2", "dog", 51, 50, w=11)]
    lone = _box("l1", "car", 80, 80)
    good = {"from_name": "quality", "to_name": "image", "type": "choices", "value": {"choices": ["good"]}}
    bad = {**good, "value": {"choices": ["bad"]}}
    tasks = [{"id": 1, "data": {"image": "/data/upload/1/a.jpg"}, "annotations": [
        _answer(10, 0, [cars[0], dogs[0], good], 1), _answer(11, 1, [cars[1], note, lone, bad], 2),
        _answer(12, 2, [cars[2], dogs[1], good], 3)]}]
    _snapshot(Path.cwd(), tasks)
    picked = pick(_tables(Path.cwd()), "consensus")
    (item,) = picked.items
    kept = [(g.from_name, g.labels, g.value) for g in item.regions]
    # the car every other drawing overlaps most: computed here, by IoU from the raw JSON
    middle = max(cars, key=lambda c: sum(_iou(c["value"], o["value"]) for o in cars if o is not c))
    dog = max(dogs, key=lambda d: (sum(_iou(d["value"], o["value"]) for o in dogs if o is not d), d["id"]))
    assert ("box", ["car"], middle["value"]) in kept and ("box", ["dog"], dog["value"]) in kept
    assert ("box", ["car"], lone["value"]) not in kept
    assert ("note", [], {"text": ["red"]}) in kept if middle is cars[1] else ("note", [], {"text": ["red"]}) not in kept
    assert [(f, lab) for f, lab, _ in kept if f == "quality"] == [("quality", ["good"])]
    assert any("2 region(s) or label(s) given by no majority" in n for n in picked.notes), picked.notes

    out = tmp_path / "coco.json"
    code, _, err = invoke("export", "HEAD", "--format", "coco", "--resolve", "consensus", "--out", str(out))
    assert code == 0, err
    coco = COCO(str(out))
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert sorted(names[a["category_id"]] for a in coco.loadAnns(coco.getAnnIds())) == ["car", "dog"]


def test_consensus_leaves_out_a_task_nobody_agrees_on_and_keeps_an_agreed_nothing(repo):
    """Three boxes far apart (no majority on any object): left out, said. Two "nothing here"
    answers and one box: the majority says nothing, so the item goes out empty. A task of one
    answer goes out as it is (was: refused, as a task of several is by `only`)."""
    apart = [_answer(20 + i, i, [_box(f"b{i}", "car", 30 * i, 10)], i + 1) for i in range(3)]
    empty = [_answer(30, 0, [], 1), _answer(31, 1, [], 2), _answer(32, 2, [_box("z", "dog", 5, 5)], 3)]
    one = [_answer(40, 1, [_box("o", "dog", 7, 7)], 1)]
    _snapshot(Path.cwd(), [{"id": 1, "data": {"image": "a.jpg", "k": "apart"}, "annotations": apart},
                           {"id": 2, "data": {"image": "b.jpg", "k": "empty"}, "annotations": empty},
                           {"id": 3, "data": {"image": "c.jpg", "k": "one"}, "annotations": one}])
    picked = pick(_tables(Path.cwd()), "consensus")
    assert {i.data["k"]: [g.value for g in i.regions] for i in picked.items} == {
        "empty": [], "one": [one[0]["result"][0]["value"]]}
    assert any("1 task(s) whose answers agree on nothing" in n for n in picked.notes), picked.notes
    assert not any("without a usable answer" in n for n in picked.notes), picked.notes


def test_every_rule_is_one_the_export_schema_names(repo):
    """`export --json`'s `resolve` for each rule validates. Was: the schema named four of the
    rules, and `all` and `annotator:EMAIL` went out of it."""
    _snapshot(Path.cwd(), [{"id": 1, "data": {"image": "a.jpg"}, "annotations": [
        _answer(1, 0, [_box("a", "car", 1, 1)], 1), _answer(2, 1, [_box("b", "car", 1, 1)], 2)]}])
    check = validator("export")
    for rule in ("consensus", "all", "annotator:a0@example.com", "latest", "majority"):
        code, out, err = invoke("export", "HEAD", "--format", "yolo", "--resolve", rule, "--out", "y", "--force",
                                "--json")
        assert code == 0, err
        assert json.loads(out)["resolve"] == rule
        check.validate(json.loads(out))


KP_CONFIG = ('<View><Image name="image" value="$image"/>'
             '<RectangleLabels name="box" toName="image"><Label value="person"/></RectangleLabels>'
             '<KeyPointLabels name="kp" toName="image"><Label value="nose"/><Label value="hand"/></KeyPointLabels>'
             '</View>')


def _person(rid: str, x: float, nose: float) -> list[dict]:
    """A person box and its two keypoints (``parentID``: the box)."""
    box = _box(rid, "person", x, 10, w=20, h=40)
    box["value"]["rectanglelabels"] = ["person"]
    kps = [{"id": f"{rid}-{name}", "parentID": rid, "from_name": "kp", "to_name": "image", "type": "keypointlabels",
            "original_width": 200, "original_height": 100,
            "value": {"x": x + dx, "y": 12 + dy, "width": 0.5, "keypointlabels": [name]}}
           for name, dx, dy in (("nose", nose, 0), ("hand", 2, 30))]
    return [box, *kps]


def test_consensus_keeps_a_boxs_keypoints_with_it(repo):
    """Keypoints go with the box their ``parentID`` names: the chosen drawing's own, not
    keypoints voted apart (an annotator's nose placed far from the others' would otherwise
    be left out, and the box's keypoints mixed from several answers)."""
    answers = [_answer(1, 0, _person("p0", 10, 5), 1), _answer(2, 1, _person("p1", 11, 15), 2),
               _answer(3, 2, _person("p2", 12, 6), 3)]
    Path("tasks.json").write_text(json.dumps([{"id": 1, "data": {"image": "a.jpg"}, "annotations": answers}]))
    Path("config.xml").write_text(KP_CONFIG)
    assert invoke("snapshot", "--from", "tasks.json", "--config", "config.xml", "-m", "kp")[0] == 0
    (item,) = pick(_tables(Path.cwd()), "consensus").items
    boxes = [g for g in item.regions if g.from_name == "box"]
    assert len(boxes) == 1
    chosen = boxes[0].id
    kps = [(g.region.get("parentID"), g.labels) for g in item.regions if g.from_name == "kp"]
    assert kps == [(chosen, ["nose"]), (chosen, ["hand"])], (chosen, kps)


def test_consensus_is_for_answers_not_a_models_predictions(repo):
    tasks = [{"id": 1, "data": {"image": "a.jpg"}, "annotations": [_answer(1, 0, [_box("a", "car", 1, 1)], 1)],
              "predictions": [{"model_version": "m1", "score": 0.9, "result": [_box("p", "car", 1, 1)]}]}]
    _snapshot(Path.cwd(), tasks)
    code, out, err = invoke("export", "HEAD", "--format", "yolo", "--resolve", "consensus", "--predictions", "m1",
                            "--out", "y")
    assert code == 2 and "--resolve consensus is for the answers" in err and not Path("y").exists(), err


def test_consensus_on_a_real_three_annotator_export(repo):
    """evalme_bbox_multi (three annotators of cars, roads, obstacles): every box that goes out is
    one annotator's own box, and at least two annotators drew a box of its label there (IoU
    >= 0.5, computed here from the raw export)."""
    corpus = shared_corpus("label-studio")
    raw = json.loads((corpus / "evalme_bbox_multi.json").read_text())
    code, _, err = invoke("snapshot", "--from", str(corpus / "evalme_bbox_multi.json"), "--config",
                          str(corpus / "evalme_bbox_multi.xml"), "-m", "r1")
    assert code == 0, err
    picked = pick(_tables(Path.cwd()), "consensus")
    by_image = {json.dumps(t["data"], sort_keys=True): t for t in raw}
    kept = 0
    for item in picked.items:
        task = by_image[json.dumps(item.data, sort_keys=True)]
        drawn = [(a["completed_by"], r) for a in task["annotations"] for r in a["result"] if "x" in r["value"]]
        for g in item.regions:
            mine = [r for _, r in drawn if r["value"] == g.value]
            assert mine, g.value  # an annotator's own box, unchanged
            near = {json.dumps(who, sort_keys=True) for who, r in drawn
                    if r["value"].get(r["type"]) == g.labels and _iou(r["value"], g.value) >= 0.5}
            assert len(near) >= 2, (g.value, near)
            kept += 1
    assert 0 < kept < sum(len(a["result"]) for t in raw for a in t["annotations"])


OFFSETS = st.floats(-0.8, 0.8, allow_nan=False)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(2, 5), shared=st.lists(st.sampled_from(["car", "dog"]), min_size=0, max_size=4),
       lone=st.lists(st.integers(0, 4), max_size=4), jitter=st.data())
def test_every_shared_object_goes_out_once_and_no_lone_one(tmp_path_factory, n, shared, lone, jitter):
    """n annotators each draw the same objects (a box per 20% column, moved under a pixel) and some
    draw one more of their own (in a row below, apart from everything): the export holds each
    shared object once, with its label, and none of the lone ones."""
    root = tmp_path_factory.mktemp("consensus")
    assert invoke("init", str(root))[0] == 0
    with contextlib.chdir(root):
        _draw(root, n, shared, lone, jitter)


def _draw(root: Path, n: int, shared: list[str], lone: list[int], jitter) -> None:
    answers = []
    for who in range(n):
        boxes = [_box(f"s{who}-{j}", label, 20 * j + jitter.draw(OFFSETS), 10 + jitter.draw(OFFSETS))
                 for j, label in enumerate(shared)]
        boxes += [_box(f"l{who}", "car", 20 * (who % 4), 60)] if who in lone else []
        answers.append(_answer(who + 1, who, boxes, who + 1))
    _snapshot(root, [{"id": 1, "data": {"image": "a.jpg"}, "annotations": answers}])
    picked = pick(_tables(root), "consensus")
    drew = sum(who in lone for who in range(n))
    if not shared and n - drew < n // 2 + 1:
        assert picked.items == []  # no majority drew nothing, and none agrees on a box
        return
    (item,) = picked.items
    got = sorted((round(g.value["x"] / 20), g.labels[0]) for g in item.regions)
    assert got == sorted(enumerate(shared))
