"""The diff's transitions of region controls (NER spans, boxes): regions paired by shape, counted one
a region, not the sets of labels of a task."""

from __future__ import annotations

import copy
import json

import pytest

import pyarrow.compute as pc

from annover.cli.diff_cmd import render_transitions
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
