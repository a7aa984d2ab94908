"""What a week of the labeling loop on boxes and spans ran into, without a server: each test one
thing a command did wrong (the week itself, against Label Studio: tests/test_loop_week_ls.py)."""

from __future__ import annotations

import copy
import json

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("label-studio")


def _boxes_two_models(repo, tmp_path) -> None:
    """The corpus's boxes (several annotators an image, model "1"'s predictions), with a second
    model "2" that predicts each image's first answer: v1 of ``repo``."""
    tasks = json.loads((CORPUS / "evalme_bbox_multi.json").read_text())
    for t in tasks:
        first = copy.deepcopy(t["annotations"][0]["result"])
        t["predictions"] = [p for p in t["predictions"] if isinstance(p, dict)]
        t["predictions"].append({"model_version": "2", "score": 0.8, "result": first})
    (tmp_path / "boxes.json").write_text(json.dumps(tasks))
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "boxes.json"), "--config",
                          str(CORPUS / "evalme_bbox_multi.xml"), "-m", "boxes")
    assert code == 0, err


def test_two_models_compared_on_boxes_give_each_one_s_figures(repo, tmp_path):
    """`eval --model A --model B` on a box control printed its first line and nothing else: only
    classification figures were written, though --json held each model's matched regions."""
    _boxes_two_models(repo, tmp_path)
    code, out, err = invoke("eval", "--model", "1", "--model", "2")
    assert code == 0, err
    code, js, _ = invoke("eval", "--model", "1", "--model", "2", "--json")
    doc = json.loads(js)["versions"][0]
    lines = out.splitlines()
    assert lines[0] == f"1 vs 2 on {doc['tasks']} task(s) both predicted"
    for side in ("a", "b"):
        e = doc[side]["controls"]["label"]
        x = e["thresholds"]["0.5"]
        line = next(ln for ln in lines if ln.startswith(f"  {doc[side]['model']} label: "))
        assert f"matched regions on {e['tasks']} task(s)" in line
        assert f"at 0.5: precision {x['precision']:.3f}, recall {x['recall']:.3f}, F1 {x['f1']:.3f}" in line
