"""``annover sample`` and ``annover suspects`` on a version whose answers and predictions are all regions (spans)."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

from annover.errors import UsageError
from annover.loop.sample import sample
from annover.loop.suspects import suspects
from tests.reference_sample import sample as reference
from tests.test_loop import answers_table, predictions_table


def _span(a: int, b: int, label: str) -> dict:
    return {"start": a, "end": b, "text": "x" * (b - a), "labels": [label]}


def test_strategies_that_rank_by_labels_refuse_a_version_of_regions_only():
    """Two annotators who disagree on the spans of t1, and t2 unlabeled with a model's spans:
    ``--strategy disagreement`` said "no labeled task has annotators (or the model)
    disagreeing" and ``uncertainty`` "0 task(s) qualify", where the annotators do disagree and
    t2 is unlabeled and predicted; both rank by classification labels, which this version has
    none of. They now say so (exit 2, naming the region controls); unlabeled and random work."""
    ann = answers_table([
        {"task": "t1", "who": "alice", "labels": ["PER"], "type": "labels", "control": "ner", "value": _span(0, 5, "PER")},
        {"task": "t1", "who": "bob", "labels": ["ORG"], "type": "labels", "control": "ner", "value": _span(0, 5, "ORG")}])
    tasks = pa.table({"task_key": ["t1", "t2"]})
    preds = predictions_table([{"task": "t2", "model": "m1", "labels": ["PER"], "score": 0.4, "control": "ner",
                                "type": "labels", "value": _span(0, 5, "PER")}])
    for strategy in ("disagreement", "uncertainty", "margin", "rare-labels"):
        with pytest.raises(UsageError) as e:
            sample(tasks, ann, preds, strategy, 2)
        assert f"--strategy {strategy} ranks tasks by their classification labels" in str(e.value)
        assert "only regions of ner (spans, boxes)" in str(e.value) and "--strategy unlabeled or random" in str(e.value)
    assert sample(tasks, ann, preds, "unlabeled", 2).keys == ["t2"]
    assert sorted(sample(tasks, ann, preds, "random", 2).keys) == ["t1", "t2"]


def test_suspects_of_a_version_of_regions_only_says_why_it_finds_none():
    """``annover suspects`` of a NER version printed "0 suspect label(s)" and nothing else, where
    the annotators' spans disagree. Two annotators and no predictions: no region reason can fire
    (majority needs three, missed and swapped a model), and the notes say so."""
    ann = answers_table([
        {"task": "t1", "who": "alice", "labels": ["PER"], "type": "labels", "control": "ner", "value": _span(0, 5, "PER")},
        {"task": "t1", "who": "bob", "labels": ["ORG"], "type": "labels", "control": "ner", "value": _span(0, 5, "ORG")}])
    res = suspects(ann)
    assert res.total == 0 and res.notes == [
        "no predictions in this version: the missed and swapped reasons were not checked",
        "1 task(s) with regions have two annotators: the majority reason needs three or more "
        "(`annover agreement` compares two)"]
    both = answers_table([{"task": "t1", "who": "alice", "labels": ["a"]},
                          {"task": "t1", "who": "bob", "labels": ["PER"], "type": "labels", "control": "ner",
                           "value": _span(0, 5, "PER")}])
    assert suspects(both).notes[0] == "no predictions in this version: the model, missed and swapped reasons were " \
                                      "not checked"  # a classification control and a region one


@pytest.mark.parametrize("strategy", ["uncertainty", "margin", "disagreement", "rare-labels"])
def test_a_version_with_no_answer_is_not_refused_as_regions_only(strategy):
    """The refusal is for a version of regions: one with no answer and no prediction at all picks
    nothing, as the reference implementation does (Hypothesis drew it in CI: the refusal then
    named no region)."""
    tasks = pa.table({"task_key": ["t00"]})
    empty = answers_table([])
    try:
        want = reference(tasks, empty, None, strategy, n=1).to_json()
    except UsageError as e:  # a strategy that needs predictions: refused for that, by both
        with pytest.raises(UsageError, match=re.escape(e.message)):
            sample(tasks, empty, None, strategy, n=1)
        return
    assert sample(tasks, empty, None, strategy, n=1).to_json() == want
