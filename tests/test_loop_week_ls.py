"""A week of the labeling loop on boxes, against a real Label Studio, through the CLI as the docs write it.

Blood-cell images of the shared corpus (Pascal VOC, BCCD): day 1 a dataset is created from a labeling
config, the first images pushed with a detector's boxes as pre-annotations (its noise made from the
corpus' boxes), two annotators answer through the API (accepting the model's boxes, correcting them,
disagreeing, one skipping), and the project is pulled into v1. Day 2 more images arrive and are synced,
a second detector's predictions are stored, `eval` compares the two, `suspects` chooses the images to
look at again and `sample` the ones to label next, the suspects go to a review project, are answered
(by the same people), come back with `snapshot --update`, and `diff`, `export` and `report` follow.
Every count is checked against one the test makes from the Label Studio API, not from annover.
"""

from __future__ import annotations

import json
import random
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest
from label_studio_sdk import LabelStudio

import annover
from annover.loop.sample import tie_key

from .conftest import shared_corpus
from .ls_fixtures import cli, ls_server  # noqa: F401 - a fixture

pytestmark = pytest.mark.labelstudio

CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="cell" toName="image">
    <Label value="WBC"/><Label value="RBC"/><Label value="Platelets"/>
  </RectangleLabels>
</View>
"""
LABELS = ("WBC", "RBC", "Platelets")
DAY1, DAY2 = 10, 15  # images pushed by the end of each day


def _images() -> dict[str, list[dict]]:
    """The corpus' BCCD images: key -> its boxes as Label Studio results (percent of the image)."""
    out = {}
    for f in sorted((shared_corpus("formats") / "voc_bccd" / "Annotations").glob("*.xml"))[:DAY2]:
        r = ET.parse(f).getroot()
        w, h = (int(r.find(f"size/{k}").text) for k in ("width", "height"))  # type: ignore[union-attr]
        boxes = []
        for o in r.findall("object"):
            x0, y0, x1, y1 = (float(o.find(f"bndbox/{k}").text)  # type: ignore[union-attr]
                              for k in ("xmin", "ymin", "xmax", "ymax"))
            boxes.append({"from_name": "cell", "to_name": "image", "type": "rectanglelabels",
                          "original_width": w, "original_height": h, "image_rotation": 0,
                          "value": {"x": round(100 * x0 / w, 3), "y": round(100 * y0 / h, 3), "rotation": 0,
                                    "width": round(100 * (x1 - x0) / w, 3), "height": round(100 * (y1 - y0) / h, 3),
                                    "rectanglelabels": [o.find("name").text]}})  # type: ignore[union-attr]
        out[f.stem] = boxes
    return out


def _model(images: dict[str, list[dict]], seed: int, miss: float) -> list[dict]:
    """A detector's predictions: the true boxes, some missed, some of another label, moved a little."""
    rnd, out = random.Random(seed), []
    for k, boxes in images.items():
        res = []
        for b in boxes:
            if rnd.random() < miss:
                continue
            v = {**b["value"], "x": round(b["value"]["x"] + rnd.uniform(-1, 1), 3)}
            if rnd.random() < miss:
                v["rectanglelabels"] = [rnd.choice([x for x in LABELS if x != v["rectanglelabels"][0]])]
            res.append({**b, "value": v})
        out.append({"task_key": k, "model_version": f"det-v{seed}", "score": round(rnd.uniform(0.3, 0.99), 3),
                    "result": res})
    return out


def _jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _ok(*args: str) -> str:
    code, out, err = cli(*args)
    assert code == 0, f"annover {' '.join(args)}: {err}"
    return out


def _server(sdk: LabelStudio, *pids: int) -> dict[str, Any]:
    """What the projects hold, counted from the Label Studio API: answers (skips apart), regions,
    regions per label, predictions per model, and each task's answers by annotator."""
    c: dict[str, Any] = {"tasks": set(), "answers": 0, "skips": 0, "regions": 0, "labels": Counter(),
                         "preds": Counter(), "by": {}, "ids": {}}
    for pid in pids:
        for t in sdk.tasks.list(project=pid, fields="all"):
            t = t.model_dump()
            c["tasks"].add(t["data"]["id"])
            c["ids"].setdefault(pid, {})[t["data"]["id"]] = t["id"]
            c["preds"].update(p["model_version"] for p in t["predictions"])
            for a in t["annotations"]:
                c["answers"] += 1
                c["skips"] += bool(a["was_cancelled"])
                c["regions"] += len(a["result"])
                c["labels"].update(lab for r in a["result"] for lab in r["value"]["rectanglelabels"])
                c["by"].setdefault(t["data"]["id"], []).append((a["completed_by"], a["was_cancelled"]))
    return c


def _stats_match(rev: str, c: dict[str, Any], answers: int | None = None) -> None:
    """``annover show REV``'s counts are the server's."""
    s = annover.Repo().show(rev).record["stats"]
    labeled = sum(1 for k, who in c["by"].items() if any(not skip for _, skip in who))
    assert (s["tasks"], s["labeled"], s["annotations"]) == (len(c["tasks"]), labeled, answers or c["answers"]), s


@pytest.fixture(scope="module")
def week(ls_server, tmp_path_factory) -> Iterator[dict[str, Any]]:  # noqa: F811
    """A repository, two clients (admin, annotator2) and the corpus' images; the projects made are deleted."""
    if not ls_server.annotator2_key:
        pytest.skip("the Label Studio server gives no second annotator's key")
    d = tmp_path_factory.mktemp("week")
    sdk = {"admin": LabelStudio(base_url=ls_server.url, api_key=ls_server.api_key, timeout=300),
           "annotator2": LabelStudio(base_url=ls_server.url, api_key=ls_server.annotator2_key, timeout=300)}
    made: list[int] = []
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"ANNOVER_REMOTE_HOME": str(d / "remotes"), "ANNOVER_CACHE_DIR": str(d / "cache"),
                     "GIT_AUTHOR_NAME": "Week", "GIT_AUTHOR_EMAIL": "week@example.com",
                     "GIT_COMMITTER_NAME": "Week", "GIT_COMMITTER_EMAIL": "week@example.com"}.items():
            mp.setenv(k, v)
        mp.chdir(annover.init(d / "repo").root)
        (d / "cells.xml").write_text(CONFIG)
        try:
            yield {"dir": d, "sdk": sdk, "made": made, "images": _images(), "tag": uuid.uuid4().hex[:8]}
        finally:
            for pid in made:
                try:
                    sdk["admin"].projects.delete(id=pid)
                except Exception:
                    pass


def _day1(w: dict[str, Any]) -> tuple[str, int]:
    d, images, sdk = w["dir"], w["images"], w["sdk"]
    title = f"cells-{w['tag']}"
    pid = int(_ok("dataset", "create", title, "--config", str(d / "cells.xml")).split()[0])
    w["made"].append(pid)
    keys = sorted(images)[:DAY1]
    tasks = _jsonl(d / "day1.jsonl", [{"id": k, "image": f"https://images.example.org/bccd/{k}.jpg"} for k in keys])
    v1 = _model(images, 1, 0.2)
    sent = json.loads(_ok("dataset", "push", title, "--from", tasks, "--key", "data.id", "--predictions",
                          _jsonl(d / "det-v1-day1.jsonl", [p for p in v1 if p["task_key"] in keys]), "--json"))
    assert (sent["sent"], sent["predictions"], sent["key"]) == (DAY1, DAY1, "data.id")
    ids = _server(sdk["admin"], pid)["ids"][pid]
    pred = {p["task_key"]: p["result"] for p in v1}
    for i, k in enumerate(keys[:8]):  # the admin accepts the model's boxes on 3 images, corrects 5
        sdk["admin"].annotations.create(id=ids[k], result=pred[k] if i < 3 else images[k], lead_time=2.0)
    for i, k in enumerate(keys[:6]):  # annotator2: the true boxes, one called WBC on two images, a skip
        res = [dict(b) for b in images[k]]
        if i in (1, 2):
            res[-1] = {**res[-1], "value": {**res[-1]["value"], "rectanglelabels": ["WBC"]}}
        sdk["annotator2"].annotations.create(id=ids[k], result=[] if i == 5 else res, was_cancelled=i == 5)
    _ok("snapshot", "--label-studio", title, "-m", "day 1")
    c = _server(sdk["admin"], pid)
    _stats_match("v1", c)
    s = annover.Repo().show("v1").record["stats"]
    assert s["labels"]["cell"] == dict(c["labels"]) and s["skipped"] == c["skips"] == 1
    both = sum(1 for who in c["by"].values() if len({u for u, skip in who if not skip}) == 2)
    agreement = json.loads(_ok("agreement", "v1", "--json"))
    assert agreement["controls"]["cell"]["f1"]["n"] == both == 5
    return title, pid


def _day2(w: dict[str, Any], title: str, pid: int) -> None:
    d, images, sdk = w["dir"], w["images"], w["sdk"]
    keys = sorted(images)
    tasks = _jsonl(d / "day2.jsonl", [{"id": k, "image": f"https://images.example.org/bccd/{k}.jpg"} for k in keys])
    v1, v2 = _model(images, 1, 0.2), _model(images, 2, 0.05)
    sync = ["dataset", "push", title, "--from", tasks, "--predictions", _jsonl(d / "det-v1.jsonl", v1), "--json"]
    sent = json.loads(_ok(*sync))  # new images arrive (keyed by data.id, as the dataset remembers)
    assert (sent["sent"], sent["already"], sent["predictions"]) == (DAY2 - DAY1, DAY1, DAY2 - DAY1)
    sent = json.loads(_ok(*sync))  # the same command again sends nothing
    assert (sent["sent"], sent["already"], sent["predictions"]) == (0, DAY2, 0)
    sent = json.loads(_ok("dataset", "push", title, "--from", tasks, "--predictions", _jsonl(d / "det-v2.jsonl", v2),
                          "--json"))
    assert (sent["sent"], sent["predictions"]) == (0, DAY2)
    ids = _server(sdk["admin"], pid)["ids"][pid]
    for k in keys[DAY1:DAY1 + 3]:
        sdk["admin"].annotations.create(id=ids[k], result=images[k])
    _ok("snapshot", "--label-studio", title, "-m", "day 2")
    c = _server(sdk["admin"], pid)
    _stats_match("v2", c)
    assert {mv: s["tasks"] for mv, s in annover.Repo().show("v2").record["stats"]["predictions"].items()} == \
        dict(c["preds"]) == {"det-v1": DAY2, "det-v2": DAY2}
    out = _ok("eval", "v2", "--model", "det-v1", "--model", "det-v2")
    assert all(any(ln.startswith(f"  {m} cell: matched regions on ") for ln in out.splitlines())
               for m in ("det-v1", "det-v2")), out
    unlabeled = sorted(k for k in c["tasks"] if not any(not skip for _, skip in c["by"].get(k, [])))
    score = {p["task_key"]: p["score"] for p in v2}
    picked = json.loads(_ok("sample", "v2", "--strategy", "uncertainty", "--model", "det-v2", "--n", "3", "--json"))
    assert picked["keys"] == sorted(unlabeled, key=lambda k: (score[k], tie_key(0, k)))[:3]
    assert picked["candidates"] == len(unlabeled)


def _review(w: dict[str, Any], title: str, pid: int) -> tuple[str, int, list[str]]:
    """The suspects of v2 sent to a review project of their own; the admin redraws two images (one box
    fewer than the truth: another answer than theirs of the main project) and annotator2 skips one."""
    d, images, sdk = w["dir"], w["images"], w["sdk"]
    _ok("suspects", "v2", "--out", str(d / "recheck.txt"))
    keys = (d / "recheck.txt").read_text().split()
    assert len(keys) >= 3
    review = f"cells-review-{w['tag']}"
    rid = int(_ok("dataset", "create", review).split()[0])  # HEAD's labeling config
    w["made"].append(rid)
    push = ["dataset", "push", review, "--from-sample", str(d / "recheck.txt"), "--from", "v2", "--predictions",
            "det-v2", "--json"]
    sent = json.loads(_ok(*push))
    assert (sent["sent"], sent["predictions"]) == (len(keys), len(keys))
    assert json.loads(_ok(*push))["sent"] == 0
    ids = _server(sdk["admin"], rid)["ids"][rid]
    assert sorted(ids) == sorted(keys)  # the same task keys on both sides
    for k in keys[:2]:
        sdk["admin"].annotations.create(id=ids[k], result=images[k][:-1])
    sdk["annotator2"].annotations.create(id=ids[keys[2]], result=[], was_cancelled=True)
    return review, rid, keys


def test_a_week_of_boxes_the_loop_s_numbers_are_the_server_s(week):
    """Day 1, day 2, a review round and back, every count against the Label Studio API's."""
    title, pid = _day1(week)
    _day2(week, title, pid)
    review, rid, keys = _review(week, title, pid)
    _ok("snapshot", "--label-studio", review, "--update", "-m", "review")
    both = _server(week["sdk"]["admin"], pid, rid)  # every answer of both projects: the reviewers' beside theirs
    _stats_match("v3", both)
    diff = json.loads(_ok("diff", "v2", "v3", "--json"))
    assert (diff["annotations"]["added"], diff["annotations"]["removed"], diff["skipped"]["added"]) == (3, 0, 1)
    assert diff["regions"]["added"] == sum(len(week["images"][k]) - 1 for k in keys[:2])
    head = annover.Repo().head()
    _ok("snapshot", "--label-studio", review, "--update", "-m", "again")  # nothing new: no version
    _ok("snapshot", "--label-studio", title, "--update", "-m", "main")  # the main project, unchanged: no version
    assert annover.Repo().head() == head
    code, _, err = cli("snapshot", "--label-studio", title, "--dry-run", "-m", "main alone")
    assert code == 0 and "kept 3 answer(s)" in err and "warning" not in err, err  # the round's, beside
    left = sorted(both["tasks"] - set(both["by"]))[0]  # day 3: an image nobody answered, answered in the main project
    week["sdk"]["admin"].annotations.create(id=both["ids"][pid][left], result=week["images"][left])
    _ok("snapshot", "--label-studio", title, "--update", "-m", "day 3")
    _stats_match("v4", _server(week["sdk"]["admin"], pid, rid))  # the round's answers kept
    code, _, err = cli("snapshot", "--label-studio", title, "--dry-run", "-m", "main alone")
    assert code == 0 and "kept 3 answer(s)" in err and "warning" not in err, err  # a pull without it too
    out = week["dir"] / "coco.json"
    _ok("export", "v3", "--format", "coco", "--resolve", "latest", "--out", str(out))
    labeled = {k for k, who in both["by"].items() if any(not skip for _, skip in who)}
    assert len(json.loads(out.read_text())["images"]) == len(labeled)
    _ok("report", "v1..v4", "--out", str(week["dir"] / "report.html"))
    for name in (review, title):
        _ok("dataset", "delete", name, "--yes")
    assert not list(Path(".annover/datasets").glob("*.json"))
