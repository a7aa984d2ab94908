"""The diff's agreement of a model with the answers, on region controls (NER spans, boxes): the
region F1 of each (task, control), regions paired by shape, not the equality of the sets of labels."""

from __future__ import annotations

import copy
import json

import pytest

import pyarrow.compute as pc

from annover.cli.diff_cmd import render_summary, render_transitions
from annover.diffing import Side, diff_tables
from annover.formats.ingest import from_ls_tasks
from tests.conftest import shared_corpus
from tests.test_diff import validate

LS = shared_corpus("label-studio")


def side(tasks: list[dict]) -> Side:
    t = from_ls_tasks(copy.deepcopy(tasks), "test", key="id", validate=False)
    p = t.predictions
    return Side(t.tasks, t.annotations, {"m1": p.filter(pc.equal(p.column("model_version"), "m1"))})


def _with_predictions(name: str) -> list[dict]:
    """The export's tasks, with a model that predicted exactly what the first answer says."""
    tasks = json.loads((LS / name).read_text())
    for t in tasks:
        t["predictions"] = [{"model_version": "m1", "score": 0.9,
                             "result": copy.deepcopy(t["annotations"][0]["result"])}]
    return tasks


@pytest.fixture(scope="module")
def ner() -> list[dict]:
    return _with_predictions("ner_predictions_nerine.json")


def _expected(tasks: list[dict], changed: dict[int, int]) -> float:
    """Mean over tasks of 2 * same / (answer's regions + prediction's), ``changed``: task -> regions
    whose labels (or place) no longer agree."""
    f1s = [(len(t["annotations"][0]["result"]) - changed.get(i, 0)) / len(t["annotations"][0]["result"])
           for i, t in enumerate(tasks)]
    return sum(f1s) / len(f1s)


def test_three_relabeled_spans_lower_the_region_f1_of_their_task_only(ner):
    after = copy.deepcopy(ner)
    spans = [r for r in after[0]["annotations"][0]["result"] if r["value"]["labels"] == ["PER"]][:3]
    for r in spans:
        r["value"]["labels"] = ["ORG"]
    doc = diff_tables(side(ner), side(after)).to_json()
    validate(doc)
    ag = doc["predictions"]["model_versions"]["m1"]["agreement"]
    assert ag["before"] == 1.0
    # a set of labels per task (the figure before) read 80%: one task of five, whatever its 11 other spans
    assert ag["after"] == pytest.approx(_expected(ner, {0: 3}), abs=1e-6)
    assert ag["measure"] == "region F1" and ag["pairs_before"] == ag["pairs_after"] == len(ner)
    line = next(x for x in render_summary(doc) if "m1" in x)
    assert "agreement with annotations (region F1) 100.0% -> " in line, line  # the text says what it is


def test_a_box_moved_off_its_object_is_one_region_the_model_misses():
    tasks = _with_predictions("evalme_bbox_multi.json")
    for t in tasks:  # one annotator's boxes: the answer the model copied is the one resolved
        t["annotations"] = t["annotations"][:1]
    after = copy.deepcopy(tasks)
    box = after[0]["annotations"][0]["result"][0]["value"]
    box["x"] = (box["x"] + 50) % 100  # no overlap with where it was: the model's box pairs with none
    doc = diff_tables(side(tasks), side(after)).to_json()
    ag = doc["predictions"]["model_versions"]["m1"]["agreement"]
    assert ag["after"] == pytest.approx(_expected(tasks, {0: 1}), abs=1e-6)
    assert ag["measure"] == "region F1"


def test_transitions_of_spans_count_regions_paired_by_position(ner):
    """PER -> ORG on three spans reads as 3 PER -> ORG, a span added as (none) -> its label, one
    removed as its label -> (none); the spans no edit touched stay on the diagonal, label by label."""
    after = copy.deepcopy(ner)
    result = after[0]["annotations"][0]["result"]
    spans = [r for r in result if r["value"]["labels"] == ["PER"]][:3]
    for r in spans:
        r["value"]["labels"] = ["ORG"]
    gone = after[1]["annotations"][0]["result"].pop()
    doc = diff_tables(side(ner), side(after), transitions=True).to_json()
    validate(doc)
    tr = doc["transitions"]
    cells = {(c["from"], c["to"]): c["count"] for c in tr["controls"]["label"]}
    assert cells.pop(("PER", "ORG")) == len(spans)
    assert cells.pop((gone["value"]["labels"][0], "(none)")) == 1
    before = {}
    for t in ner:
        for r in t["annotations"][0]["result"]:
            before[r["value"]["labels"][0]] = before.get(r["value"]["labels"][0], 0) + 1
    before["PER"] -= len(spans)
    before[gone["value"]["labels"][0]] -= 1
    assert cells == {(lab, lab): n for lab, n in before.items() if n}
    assert tr["regions"] == ["label"]
    head = render_transitions(tr)[0]
    assert head.startswith("Transitions label (regions paired by shape, policy "), head
