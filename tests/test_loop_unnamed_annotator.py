"""The suspects' reasons name an annotator as every other loop text does: answers that name no annotator
(a COCO file's, most of a Label Studio example's) are ``(unnamed)``, as ``agreement`` and ``show`` say, where
the reasons said "- said 'Neutral'" and "no region of -'s answer is there"."""

from __future__ import annotations

import copy
import json

from annover.model.stats import UNNAMED

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("label-studio")
FORMATS = shared_corpus("formats")


def test_an_unnamed_annotator_outvoted_on_a_choice_is_named_so(repo, tmp_path):
    """The corpus's sentiment task answered by no one named and by annotator 2, given a third answer:
    the unnamed one says 'Neutral' where the two others say 'Negative'."""
    tasks = json.loads((CORPUS / "fe_sentiment_two_annotators.json").read_text())
    answers = tasks[0]["annotations"]
    answers[0]["result"][0]["value"]["choices"] = ["Neutral"]
    third = copy.deepcopy(answers[1])
    third.update(id=99, completed_by=3)
    answers.append(third)
    (tmp_path / "three.json").write_text(json.dumps(tasks))
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "three.json"), "--config",
                          str(CORPUS / "fe_sentiment_two_annotators.xml"), "-m", "three")
    assert code == 0, err
    code, out, err = invoke("suspects", "v1")
    assert code == 0 and f"  {UNNAMED} said Neutral; 2 of 2 others said Negative" in out, (out, err)
    assert "- said" not in out


def test_a_box_the_detector_finds_on_an_unnamed_answer_names_it_so(repo, tmp_path):
    """The corpus's COCO chess boards (answers of no annotator), a detector that finds each board's
    boxes and one more (score 0.95) on the first board: that box is missed by the unnamed answer."""
    code, _, err = invoke("snapshot", "--from", str(FORMATS / "coco_chess_roboflow.json"), "-m", "coco")
    assert code == 0, err
    code, _, err = invoke("export", "v1", "--format", "label-studio", "--out", str(tmp_path / "ls.json"))
    assert code == 0, err
    tasks = json.loads((tmp_path / "ls.json").read_text())
    board = next(t for t in tasks if t["annotations"][0]["result"])
    extra = copy.deepcopy(board["annotations"][0]["result"][0])
    extra["value"].update(x=0.5, y=0.5, width=3, height=3)
    preds = [{"data": t["data"], "predictions": [{"model_version": "yolo", "score": 0.95, "result":
                                                  t["annotations"][0]["result"] + ([extra] if t is board else [])}]}
             for t in tasks]
    (tmp_path / "preds.json").write_text(json.dumps(preds))
    code, _, err = invoke("snapshot", "--predictions", str(tmp_path / "preds.json"), "-m", "yolo")
    assert code == 0, err
    code, out, err = invoke("suspects", "v2")
    assert code == 0, err
    missed = [ln for ln in out.splitlines() if " predicts " in ln]
    assert len(missed) == 1 and missed[0].endswith(f"(score 0.95); no region of {UNNAMED}'s answer is there"), out


def test_an_image_both_the_labels_and_the_detector_leave_empty_is_a_task_scored(repo, tmp_path):
    """The corpus's COCO chess boards hold one image of no box; a detector that finds every board's boxes,
    and none on that image: `eval` scored "matched regions on 28 task(s)" of the 29 labeled and predicted,
    where an image the labels leave empty and the model fills counts (its boxes false positives)."""
    code, _, err = invoke("snapshot", "--from", str(FORMATS / "coco_chess_roboflow.json"), "-m", "coco")
    assert code == 0, err
    invoke("export", "v1", "--format", "label-studio", "--out", str(tmp_path / "ls.json"))
    tasks = json.loads((tmp_path / "ls.json").read_text())
    assert sum(not t["annotations"][0]["result"] for t in tasks) == 1
    preds = [{"data": t["data"], "predictions": [{"model_version": "yolo", "score": 0.9,
                                                  "result": t["annotations"][0]["result"]}]} for t in tasks]
    (tmp_path / "preds.json").write_text(json.dumps(preds))
    code, _, err = invoke("snapshot", "--predictions", str(tmp_path / "preds.json"), "-m", "yolo")
    assert code == 0, err
    doc = json.loads(invoke("eval", "v2", "--json")[1])
    e = doc["controls"]["label"]
    assert e["tasks"] == len(tasks) and e["thresholds"]["0.5"]["f1"] == 1.0, doc


def test_the_report_names_an_unnamed_annotator_so(repo, tmp_path):
    """The report of the COCO boards, two versions: its answers per annotator and its per-annotator drift
    named the annotator of none '-'."""
    code, _, err = invoke("snapshot", "--from", str(FORMATS / "coco_chess_roboflow.json"), "-m", "coco")
    assert code == 0, err
    invoke("export", "v1", "--format", "label-studio", "--out", str(tmp_path / "ls.json"))
    preds = [{"data": t["data"], "predictions": [{"model_version": "yolo", "score": 0.9,
                                                  "result": t["annotations"][0]["result"]}]}
             for t in json.loads((tmp_path / "ls.json").read_text())]
    (tmp_path / "preds.json").write_text(json.dumps(preds))
    for args in (["snapshot", "--predictions", str(tmp_path / "preds.json"), "-m", "yolo"],
                 ["report", "v1..v2", "--out", str(tmp_path / "r.html")]):
        code, _, err = invoke(*args)
        assert code == 0, (args, err)
    page = (tmp_path / "r.html").read_text()
    assert f'data-h="annotator">{UNNAMED}<' in page and 'data-h="annotator">-<' not in page
    assert f"{UNNAMED}: 29" in page and "-: 29" not in page


def test_the_report_s_disagreeing_pairs_name_an_unnamed_annotator_so(repo, tmp_path):
    """The corpus's sentiment task answered by no one named ('Neutral', here) and by annotator 2
    ('Negative'): the report's most disagreeing pairs named the first '-'."""
    tasks = json.loads((CORPUS / "fe_sentiment_two_annotators.json").read_text())
    tasks[0]["annotations"][0]["result"][0]["value"]["choices"] = ["Neutral"]
    (tmp_path / "two.json").write_text(json.dumps(tasks))
    for args in (["snapshot", "--from", str(tmp_path / "two.json"), "--config",
                  str(CORPUS / "fe_sentiment_two_annotators.xml"), "-m", "two"],
                 ["report", "v1", "--out", str(tmp_path / "r.html")]):
        code, _, err = invoke(*args)
        assert code == 0, (args, err)
    page = (tmp_path / "r.html").read_text()
    assert "Most disagreeing pairs" in page and 'data-h="annotator">-<' not in page
    notebook = repo.agreement("v1")._repr_html_()  # a notebook's table of the same pairs
    assert "most disagreeing pairs" in notebook and f">{UNNAMED}<" in notebook and ">-<" not in notebook, notebook
