"""How the loop's sentences name the model they quote, on the corpus's exports. A prediction without a
``model_version`` (Label Studio leaves it out when the ML backend sets none) made the suspects say
"labeled 'Negative';  says 'Neutral'", a model of no name; a model version that is a number (the corpus's
boxes are model "1"'s) read as a count: "1 against the labels of v1", "1 predicts 'Car'". And two models
compared did not say which version's labels, resolved by which policy, they were scored against."""

from __future__ import annotations

import html
import json

import pytest

from annover.store.versions import NO_MODEL_VERSION

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("label-studio")


@pytest.fixture
def unnamed_model(repo, tmp_path):
    """v1: the corpus's sentiment tasks, each predicted 'Positive' (score 0.97) by a model of no model_version,
    where every answer is 'Negative' or 'Neutral'."""
    tasks = json.loads((CORPUS / "fe_sentiment_two_annotators.json").read_text())
    for t in tasks:
        t["predictions"] = [{"score": 0.97, "result": [{"from_name": "sentiment", "to_name": "my_text",
                                                        "type": "choices", "value": {"choices": ["Positive"]}}]}]
    (tmp_path / "unnamed.json").write_text(json.dumps(tasks))
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "unnamed.json"), "--config",
                          str(CORPUS / "fe_sentiment_two_annotators.xml"), "-m", "unnamed model")
    assert code == 0, err


@pytest.fixture
def numbered_models(repo, tmp_path):
    """v1: the corpus's boxes, model "1"'s predictions and model "2"'s (each image's first answer)."""
    tasks = json.loads((CORPUS / "evalme_bbox_multi.json").read_text())
    for t in tasks:
        t["predictions"].append({"model_version": "2", "score": 0.8, "result": t["annotations"][0]["result"]})
    (tmp_path / "boxes.json").write_text(json.dumps(tasks))
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "boxes.json"), "--config",
                          str(CORPUS / "evalme_bbox_multi.xml"), "-m", "boxes")
    assert code == 0, err


def test_a_model_of_no_model_version_is_named_where_it_contradicts_a_label(unnamed_model):
    code, out, err = invoke("suspects", "v1")
    assert code == 0, err
    said = [ln for ln in out.splitlines() if "says Positive" in ln]
    assert said and all(f"; {NO_MODEL_VERSION} says Positive (score 0.97)" in ln for ln in said), out
    code, js, err = invoke("suspects", "v1", "--json")
    reasons = [r for s in json.loads(js)["suspects"] for r in s["reasons"] if r["kind"] == "model"]
    assert reasons and all(r["model"] == "" and f"{NO_MODEL_VERSION} says" in r["text"] for r in reasons), js


def test_a_model_version_that_is_a_number_is_called_a_model(numbered_models):
    code, out, err = invoke("eval", "v1", "--model", "1")
    assert code == 0 and out.splitlines()[0] == ("model 1 against the labels of v1 (regions of a ground-truth answer, "
                                                 "else of the latest)"), (out, err)
    code, out, err = invoke("suspects", "v1", "--model", "1", "-n", "100")
    assert code == 0, err
    predicted = [ln for ln in out.splitlines() if " predicts " in ln]
    assert predicted and all("  model 1 predicts " in ln for ln in predicted), out
    code, js, _ = invoke("suspects", "v1", "--model", "1", "--json")
    models = [r for s in json.loads(js)["suspects"] for r in s["reasons"] if r["kind"] in ("missed", "swapped")]
    assert models and all(r["model"] == "1" and r["text"].startswith("model 1 predicts") for r in models
                          if r["kind"] == "missed"), js


def test_two_models_compared_say_against_which_labels(numbered_models):
    code, out, err = invoke("eval", "v1", "--model", "1", "--model", "2", "--resolve", "majority")
    assert code == 0, err
    doc = json.loads(invoke("eval", "v1", "--model", "1", "--model", "2", "--resolve", "majority", "--json")[1])
    tasks = doc["versions"][0]["tasks"]
    assert out.splitlines()[0] == (f"model 1 vs model 2 on {tasks} task(s) both predicted, "
                                   "against the labels of v1 (regions of a ground-truth answer, else of the latest)"), \
        out


def test_suspects_n_0_counts_them_and_lists_none(unnamed_model):
    """``-n 0`` (the count alone) said "3 suspect label(s), top 0:", a list to follow that never came."""
    code, out, err = invoke("suspects", "v1", "-n", "0")
    total = json.loads(invoke("suspects", "v1", "--json")[1])["total"]
    assert code == 0 and total and out == f"{total} suspect label(s)\n", (out, err)


def test_the_report_heads_each_model_s_figures_with_its_name(unnamed_model, tmp_path):
    """The report's "Model vs labels" headed a model of no model_version with an empty heading."""
    code, _, err = invoke("report", "v1", "--out", str(tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text()
    assert code == 0 and f"<h3>{html.escape(NO_MODEL_VERSION)}</h3>" in page and "<h3></h3>" not in page, err
