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
    disagreeing", where the annotators do disagree; it ranks by classification labels, which this
    version has none of. It says so (exit 2, naming the region controls), as rare-labels does;
    uncertainty and margin rank by the predictions' scores, unlabeled and random work."""
    ann = answers_table([
        {"task": "t1", "who": "alice", "labels": ["PER"], "type": "labels", "control": "ner", "value": _span(0, 5, "PER")},
        {"task": "t1", "who": "bob", "labels": ["ORG"], "type": "labels", "control": "ner", "value": _span(0, 5, "ORG")}])
    tasks = pa.table({"task_key": ["t1", "t2"]})
    preds = predictions_table([{"task": "t2", "model": "m1", "labels": ["PER"], "score": 0.4, "control": "ner",
                                "type": "labels", "value": _span(0, 5, "PER")}])
    for strategy in ("disagreement", "rare-labels"):
        with pytest.raises(UsageError) as e:
            sample(tasks, ann, preds, strategy, 2)
        assert f"--strategy {strategy} ranks tasks by their classification labels" in str(e.value)
        assert "only regions of ner (spans, boxes)" in str(e.value)
        assert "--strategy uncertainty or margin (by the predictions' scores), unlabeled or random" in str(e.value)
    assert sample(tasks, ann, preds, "unlabeled", 2).keys == ["t2"]
    assert sorted(sample(tasks, ann, preds, "random", 2).keys) == ["t1", "t2"]


def test_uncertainty_of_boxes_and_spans_ranks_the_unlabeled_tasks_by_their_prediction_s_score():
    """A detector's or a tagger's week: ``sample --strategy uncertainty`` (and ``margin``) refused
    a version of boxes or spans ("ranks tasks by their classification labels"), so the least sure
    predictions could not be sent for labeling. They rank the unlabeled tasks by the score of the
    model's prediction, lowest first (margin: 2·score − 1), as for a classification."""
    ann = answers_table([{"task": "t1", "who": "alice", "labels": ["PER"], "type": "labels", "control": "ner",
                          "value": _span(0, 5, "PER")}])
    scores = {"t1": 0.1, "t2": 0.9, "t3": 0.3, "t4": 0.6}  # t1 is labeled: not a candidate
    tasks = pa.table({"task_key": [*scores, "t5"]})  # t5: no prediction
    preds = predictions_table([{"task": k, "model": "m1", "labels": ["ORG"], "score": x, "control": "ner",
                                "type": "labels", "value": _span(1, 4, "ORG")} for k, x in scores.items()])
    want = sorted((k for k in scores if k != "t1"), key=scores.get)
    got = sample(tasks, ann, preds, "uncertainty", 10)
    assert (got.keys, got.candidates) == (want, len(want))
    assert got.scores == pytest.approx([scores[k] for k in want])
    got = sample(tasks, ann, preds, "margin", 10)
    assert got.keys == want and got.scores == pytest.approx([2 * scores[k] - 1 for k in want])


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
