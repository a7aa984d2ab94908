"""What an NLP team's first rounds showed on the corpus's own exports (a user trial).

``annover agreement`` of a round one annotator labeled printed, per control, a table of
dashes (every label, ``- (n=0)``): the multi-turn chat project's 12 controls made 80 lines that
said nothing; they are one line now, and the report's per-label table leaves them out (60 rows
of dashes under the per-control table that says why). ``annover eval`` of a span (NER) control printed the
control's matched-region figures only: the per-entity-type precision, recall and F1 that
``--json`` has were in neither the text nor the report.
"""

from __future__ import annotations

import json
import re

import pytest

import annover

from .conftest import shared_corpus
from .ls_fixtures import cli

LS = shared_corpus("label-studio")


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    """name -> repository folder: the chat project (one annotator) and the NER project (its LLM's spans)."""
    base = tmp_path_factory.mktemp("trial")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOVER_REMOTE_HOME", str(base / "remotes"))
        mp.setenv("ANNOVER_CACHE_DIR", str(base / "cache"))
        out = {}
        for name, src in (("chat", "multiturn_chat_choices"), ("ner", "ner_predictions_nerine")):
            r = annover.init(base / name)
            r.snapshot(str(LS / f"{src}.json"), config=str(LS / f"{src}.xml"), key="id", message=name)
            out[name] = base / name
            if name == "chat":  # a model's run over the round, as its own version (v2 over v1's labels)
                keys = r.load("v1", table="tasks", columns=["task_key"]).column("task_key").to_pylist()
                res = [{"from_name": name, "to_name": "turn1_prg", "type": "choices",
                        "value": {"choices": ["Product Inquiry"]}} for name in ("turn1_user_intent", "turn1_intent")]
                (base / "m.jsonl").write_text("".join(json.dumps({"task_key": k, "model_version": "intent v1",
                                                                  "score": 0.5, "result": res}) + "\n" for k in keys))
                r.snapshot(predictions=str(base / "m.jsonl"), message="intent v1")
                r.snapshot(str(LS / f"{src}.json"), key="id", message="again, no predictions")  # v3
        yield out


def test_agreement_of_one_annotator_is_one_line_not_tables_of_dashes(repos, monkeypatch, tmp_path):
    monkeypatch.chdir(repos["chat"])
    code, out, err = cli("agreement", "v1")
    assert code == 0, err
    doc = json.loads(cli("agreement", "v1", "--json")[1])
    controls = list(doc["controls"])
    assert len(controls) == 12 and all(not e["tasks_with_two_or_more"] for e in doc["controls"].values())
    assert "Krippendorff's alpha" not in out and "(n=0)" not in out
    line = "no task has two annotators' answers, nothing to compare: " + ", ".join(controls)
    assert line in out.splitlines()
    code, _, err = cli("report", "v1", "--out", str(tmp_path / "r.html"))  # the note per control, no label rows
    page = (tmp_path / "r.html").read_text()
    assert code == 0 and "Agreement per label" not in page, err
    assert page.count("no task of this control has two annotators&#x27; answers") == 12


def test_eval_of_spans_gives_each_entity_type_in_the_text_and_the_report(repos, monkeypatch, tmp_path):
    monkeypatch.chdir(repos["ner"])
    doc = json.loads(cli("eval", "--json")[1])
    code, out, err = cli("eval")
    assert code == 0, err
    at = doc["controls"]["label"]["thresholds"]
    labels = at["0.5"]["labels"]
    assert len(labels) == 7
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("  ")}
    for lab, x in labels.items():
        hi = at["0.75"]["labels"][lab]
        want = [f"{y[k]:.3f}" for y in (x, hi) for k in ("precision", "recall", "f1")]
        assert rows[lab] == [str(x["support"])] + want
    code, _, err = cli("report", "--out", str(tmp_path / "r.html"))
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert "precision @0.5" in page and re.search(rf"<td[^>]*>{labels['ITEM']['recall']:.3f}</td>", page)
    nb = annover.Repo(repos["ner"]).eval("HEAD")._repr_html_()
    assert "regions per label" in nb and "ITEM" in nb


def test_the_loop_on_the_labels_points_to_the_version_holding_the_models_predictions(repos, monkeypatch, tmp_path):
    """``snapshot --predictions`` makes a version over the labels' (v2 over v1): ``eval v1`` said
    "v1 has predictions of 0 model versions — snapshot with --predictions FILE first", as if they
    were not stored; it names v2 now, and how to ask it."""
    monkeypatch.chdir(repos["chat"])
    for args, then in ((["eval", "v1"], "annover eval v2"),
                       (["eval", "v1", "--model", "intent v1"], "annover eval v2 --model 'intent v1'"),
                       (["suspects", "v1", "--model", "intent v1"], "annover suspects v2 --model 'intent v1'"),
                       (["sample", "v1", "-n", "1", "--no-record"], "annover sample v2")):
        code, out, err = cli(*args)
        assert code == 2 and out == "", (args, err)
        assert err.startswith("Error: version v1 (") and f"v2 has them (snapshot --predictions made a version " \
            f"of its own) — {then}" in err, (args, err)
    code, out, err = cli("eval", "v2")
    assert code == 0 and "turn1_user_intent: accuracy" in out, err
    code, out, err = cli("report", "v2", "--out", str(tmp_path / "r.html"))
    assert code == 0, err
    # a control the config lacks, "turn1_intent" (a from_name from another project, a typo), says so
    said = ("the labeling config has no control 'turn1_intent' (did you mean 'turn1_user_intent'?): the model's "
            "results name another control than the labels' — fix their from_name")
    assert said in cli("eval", "v2")[1] and said.replace("'", "&#x27;") in (tmp_path / "r.html").read_text()
    code, _, err = cli("sample", "v3", "-n", "1", "--no-record")  # no version after it: sample's own advice
    assert code == 2 and "needs a model's predictions and this version has none — snapshot with --predictions " \
        "FILE, or use --strategy unlabeled or random" in err, err
    code, _, err = cli("eval", "v1", "--model", "other")
    assert code == 2 and "has no predictions of model version 'other' — snapshot --predictions FILE" in err, err
