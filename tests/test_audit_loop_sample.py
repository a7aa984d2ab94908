"""`sample --stratify` audited on a version with one model: an `unlabeled` (or `random`)
sample did not take the version's only model, so every unlabeled pick's label was "(none)"
and the stratification did nothing unless --model was given."""

from __future__ import annotations

import json

from tests.test_cli import invoke

LABELS = ["Positive", "Negative", "Neutral"]
CONFIG = """<View><Text name="t" value="$text"/><Choices name="c" toName="t">
  <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/></Choices></View>"""


def _version(repo, tmp_path):
    """12 unlabeled tasks, 8 predicted Positive, 2 Negative, 2 Neutral; 2 labeled tasks."""
    pred = ["Positive"] * 8 + ["Negative"] * 2 + ["Neutral"] * 2
    tasks = [{"id": i, "data": {"text": f"t{i}"}, "annotations": [], "predictions": [
        {"model_version": "m1", "score": 0.5 + i / 100, "result": [
            {"id": f"p{i}", "from_name": "c", "to_name": "t", "type": "choices", "value": {"choices": [p]}}]}]}
             for i, p in enumerate(pred)]
    tasks += [{"id": 100 + i, "data": {"text": f"l{i}"}, "annotations": [{"completed_by": {"email": "a@example.com"}, "result": [
        {"id": f"a{i}", "from_name": "c", "to_name": "t", "type": "choices", "value": {"choices": ["Negative"]}}]}]}
              for i in range(2)]
    (tmp_path / "x.json").write_text(json.dumps(tasks))
    (tmp_path / "c.xml").write_text(CONFIG)
    repo.snapshot(str(tmp_path / "x.json"), config=str(tmp_path / "c.xml"), key="id", message="x")


def test_unlabeled_stratified_spreads_over_the_only_models_labels(repo, tmp_path):
    _version(repo, tmp_path)
    code, out, err = invoke("sample", "--strategy", "unlabeled", "--stratify", "--n", "3", "--seed", "1",
                            "--no-record", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["model"] == "m1"
    assert sorted(i["label"] for i in doc["items"]) == ["Negative", "Neutral", "Positive"]
    named = json.loads(invoke("sample", "--strategy", "unlabeled", "--stratify", "--n", "3", "--seed", "1",
                              "--model", "m1", "--no-record", "--json")[1])
    assert named["keys"] == doc["keys"] and named["id"] == doc["id"]  # the only model, named or not


def test_unstratified_unlabeled_and_random_still_take_no_model(repo, tmp_path):
    _version(repo, tmp_path)
    for strategy in ("unlabeled", "random"):
        code, out, err = invoke("sample", "--strategy", strategy, "--n", "3", "--no-record", "--json")
        assert code == 0, err
        assert json.loads(out)["model"] is None


def test_n_has_its_short_form_as_head_and_git_log_have(repo, tmp_path):
    """`sample -n 3` (as `head -n`, `git log -n`) was "No such option '-n'", exit 2."""
    _version(repo, tmp_path)
    short = invoke("sample", "--strategy", "random", "-n", "3", "--seed", "4", "--no-record", "--json")
    long = invoke("sample", "--strategy", "random", "--n", "3", "--seed", "4", "--no-record", "--json")
    assert short[0] == 0, short[2]
    assert json.loads(short[1])["keys"] == json.loads(long[1])["keys"] and len(json.loads(short[1])["keys"]) == 3
