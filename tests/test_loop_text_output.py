"""The loop's plain-text output, audited on the shared corpus's real export with a label that
holds quotes, newlines, tabs and Cyrillic, answered again by more annotators, and a label in
CJK: columns that stay aligned, the reasons of figures shown as "-", eval's controls the model
did not predict, and one model named twice."""

from __future__ import annotations

import copy
import json
import re

import pytest

from annover.cli import shown_width as _width
from tests.conftest import shared_corpus
from tests.test_cli import invoke

LS = shared_corpus("label-studio")
NAME = "sdk_unicode_nested_data"


def _answer(base: dict, who: str, label: str, n: int) -> dict:
    a = copy.deepcopy(base)
    a["id"], a["completed_by"] = 90000 + n, {"email": who}
    a["result"][0]["value"]["choices"] = [label]
    return a


@pytest.fixture
def versions(repo, tmp_path):
    """v1: the export's one task answered by three people (two give its odd label, one 'No'),
    with a model's prediction; v2: a config with a CJK label, a second choice control of one
    label, two tasks answered by two people."""
    task = json.loads((LS / f"{NAME}.json").read_text())
    task = task[0] if isinstance(task, list) else task
    base = task["annotations"][0]
    odd = base["result"][0]["value"]["choices"][0]
    task["annotations"] = [base, _answer(base, "b@example.com", odd, 1), _answer(base, "c@example.com", "No", 2)]
    task["predictions"] = [{"model_version": "m1", "score": 0.95, "result": [dict(base["result"][0], id="p1",
                                                                                 value={"choices": ["No"]})]}]
    (tmp_path / "one.json").write_text(json.dumps([task]))
    repo.snapshot(str(tmp_path / "one.json"), config=str(LS / f"{NAME}.xml"), message="one")
    cfg = """<View><Text name="t" value="$text"/>
      <Choices name="mood" toName="t"><Choice value="中立"/><Choice value="Positive"/><Choice value="Mixed"/></Choices>
      <Choices name="ok" toName="t"><Choice value="yes"/></Choices></View>"""
    (tmp_path / "cfg.xml").write_text(cfg)

    def ans(i, who, mood):
        return {"id": i, "completed_by": {"email": who}, "result": [
            {"id": f"m{i}", "from_name": "mood", "to_name": "t", "type": "choices", "value": {"choices": [mood]}},
            {"id": f"o{i}", "from_name": "ok", "to_name": "t", "type": "choices", "value": {"choices": ["yes"]}}]}
    pred = [{"model_version": "m1", "score": 0.8, "result": [
        {"id": "p", "from_name": "mood", "to_name": "t", "type": "choices", "value": {"choices": ["中立"]}}]}]
    tasks = [{"id": 1, "data": {"text": "a"}, "annotations": [ans(1, "x@example.com", "中立"), ans(2, "y@example.com", "中立")],
              "predictions": pred},
             {"id": 2, "data": {"text": "b"}, "annotations": [ans(3, "x@example.com", "Positive"),
                                                             ans(4, "y@example.com", "Positive")], "predictions": pred}]
    (tmp_path / "two.json").write_text(json.dumps(tasks, ensure_ascii=False))
    repo.snapshot(str(tmp_path / "two.json"), config=str(tmp_path / "cfg.xml"), message="two")
    return odd


def _second_column(lines: list[str]) -> set[int]:
    """The display columns where each line's second cell starts."""
    return {_width(re.match(r"\s+\S+(?: \S+)*\s\s+", line).group()) for line in lines}


def test_width_counts_what_the_terminal_shows():
    assert _width("abc") == 3 and _width("中立") == 4 and _width("a\tb") == len("a\\x09b") and _width("é") == 1


def test_agreement_columns_align_after_an_escaped_label_and_a_cjk_label(versions):
    code, out, err = invoke("agreement", "v1")
    assert code == 0, err
    table = [line for line in out.splitlines() if "(n=1)" in line and "Cohen" not in line]
    assert len(table) == 3  # (control), the odd label, No
    assert len(_second_column(table)) == 1, out  # the alpha column starts at one place on every row
    code, out, err = invoke("agreement", "v2")
    assert code == 0, err
    rows = [line for line in out.splitlines() if re.match(r"\s+(\(control\)|中立|Positive|Mixed)\s", line)]
    assert len(_second_column(rows)) == 1, out


def test_agreement_says_why_a_figure_shown_as_dash_is_undefined(versions):
    code, out, err = invoke("agreement", "v2")
    assert code == 0, err
    assert "  note: (control), yes: undefined: every answer has the same label" in out
    assert "  note: Mixed: nobody used this label" in out
    doc = json.loads(invoke("agreement", "v2", "--json")[1])
    assert doc["controls"]["mood"]["labels"]["Mixed"]["krippendorff_alpha"]["note"] == "nobody used this label"


def test_eval_says_why_a_control_is_not_scored_instead_of_an_empty_table(versions):
    code, out, err = invoke("eval", "v2")
    assert code == 0, err
    ok = out.split("\nok: ")[1].split("\n\n")[0]
    assert "note: no task has both a label and a prediction of this control" in ok
    assert "confusion" not in ok and "precision" not in ok
    mood = out.split("\nmood: ")[1]
    assert "confusion (rows: label, columns: predicted):" in mood
    conf = mood.split("confusion (rows: label, columns: predicted):\n")[1].splitlines()[1:3]
    assert _second_column(conf) == {len("    Positive  ")}, conf


def test_eval_refuses_one_model_named_twice(versions):
    code, out, err = invoke("eval", "v2", "--model", "m1", "--model", "m1")
    assert code == 2 and out == ""
    assert "--model 'm1' is given twice" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_report_says_why_a_figure_is_undefined(versions, tmp_path):
    out = tmp_path / "r.html"
    code, _, err = invoke("report", "v2", "--out", str(out))
    assert code == 0, err
    html = out.read_text()
    assert "nobody used this label" in html and "undefined: every answer has the same label" in html


def test_report_says_why_a_control_the_model_did_not_predict_has_no_figures(versions, tmp_path):
    out = tmp_path / "r.html"
    code, _, err = invoke("report", "v2", "--out", str(out))
    assert code == 0, err
    ok = out.read_text().split("<h4>ok: accuracy")[1].split("</h4>", 1)[1].split("<h")[0]
    assert "no task has both a label and a prediction of this control" in ok
    assert "<table" not in ok and "nothing to show" not in ok


def test_report_lists_the_suspect_boxes(repo, tmp_path):
    """The corpus's evalme export: boxes only, where suspects (classification labels) checked
    nothing and said so; it now reads boxes: the report's top suspects are boxes both other
    annotators have no box for."""
    repo.snapshot(str(LS / "evalme_bbox_multi.json"), config=str(LS / "evalme_bbox_multi.xml"), message="boxes")
    out = tmp_path / "r.html"
    code, _, err = invoke("report", "--out", str(out))
    assert code == 0, err
    section = out.read_text().split("Top suspects</h2>")[1]
    assert "no suspect labels" not in section and "suspects reads classification labels" not in section
    assert "of 2 others, 2 have no region there" in section


@pytest.mark.parametrize("args", [("suspects", "v1..v2"), ("sample", "v1..v2", "--strategy", "random", "--n", "1",
                                                                   "--no-record")])
def test_a_range_where_one_version_is_read_is_a_usage_error_not_an_unknown_revision(versions, args):
    code, out, err = invoke(*args)
    assert code == 2 and out == "", err
    assert f"{args[0]} reads one version, not the range v1..v2" in err and "unknown revision" not in err
    assert len(err.strip().splitlines()) == 1


def test_diff_columns_align_after_a_cjk_label(versions):
    """``annover diff`` pads its tables by the width a cell shows, as the loop's commands do."""
    code, out, err = invoke("diff", "v1", "v2")
    assert code == 0, err
    rows = [line for line in out.splitlines() if re.match(r"\s+(中立|Positive)\s", line)]
    assert len(rows) == 2, out
    assert len(_second_column(rows)) == 1, out
