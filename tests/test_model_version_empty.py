"""Predictions without a ``model_version`` (Label Studio leaves it out when the ML backend sets none)
are stored as model version "". The loop's texts name it ``"" (no model_version)``, so a user
sees what to pass (``--model ""``); they said "2 model versions (, m1)" and " against the labels"."""

from __future__ import annotations

import json

import pytest

from annover.store.versions import NO_MODEL_VERSION

from .test_cli import invoke


@pytest.fixture
def unnamed_and_m1(repo):
    """v1 of the sample round 1 with two predictions a task: one of no model version, one of m1."""
    preds = []
    for t in json.loads((repo.root / "round1.json").read_text()):
        res = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["positive"]}}]
        preds += [{"task_key": t["data"]["ext_id"], "score": 0.4, "result": res},
                  {"task_key": t["data"]["ext_id"], "model_version": "m1", "score": 0.6, "result": res}]
    (repo.root / "preds.json").write_text(json.dumps(preds))
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", predictions="preds.json", message="r1")
    assert sorted(repo.show("v1").model_versions) == ["", "m1"]
    return repo


def test_the_loop_names_the_model_version_left_out(unnamed_and_m1):
    code, _, err = invoke("eval", "v1")
    assert code == 2 and f"2 model versions ({NO_MODEL_VERSION}, m1)" in err, err
    code, out, err = invoke("eval", "v1", "--model", "")
    assert code == 0, err
    assert out.splitlines()[0].startswith(f"{NO_MODEL_VERSION} against the labels of v1"), out
    code, out, err = invoke("eval", "v1", "--model", "", "--model", "m1")
    assert code == 0 and out.splitlines()[0].startswith(f"{NO_MODEL_VERSION} vs m1 on "), (out, err)
    code, _, err = invoke("sample", "v1", "--strategy", "uncertainty", "-n", "3")
    assert code == 2 and f"({NO_MODEL_VERSION}, m1)" in err, err


def test_show_names_each_model_as_the_loop_does(unnamed_and_m1):
    """`annover show`'s predictions lines name the model. Was: "Predictions (none): ..." beside
    "Predictions m1: ...", and a model version "1" read as a count ("Predictions 1: 5 tasks")."""
    code, out, err = invoke("show", "v1")
    assert code == 0, err
    said = [line.split(":")[0] for line in out.splitlines() if line.startswith("Predictions")]
    assert said == [f"Predictions of model {m}" for m in (NO_MODEL_VERSION, "m1")], out
