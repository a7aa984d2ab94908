"""The labeling loop's library: agreement, eval, suspects, sample, drift, over Arrow tables.

Numbers are checked against the reference implementations (the ``krippendorff`` package,
statsmodels' ``fleiss_kappa``, scikit-learn's metrics) on random answer sets made into
annover's annotations table, so the queries that gather the answers are checked too.
"""

from __future__ import annotations

import json
import re
import math
import random

import krippendorff
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, precision_recall_fscore_support
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from annover.diffing.sql import resolved as diff_resolved
from annover.errors import UsageError
from annover.loop import queries as Q
from annover.loop.agreement import agreement
from annover.loop.api import sample_record
from annover.loop.drift import drift
from annover.loop.evaluate import compare_models, evaluate
from annover.loop.sample import SampleResult, sample
from annover.loop.suspects import suspects
from annover.repo.samples import _read_record

LABELS = ["a", "b", "c", "d"]


def answers_table(rows: list[dict]) -> pa.Table:
    """An annotations table with the columns the loop reads. A row: task, who, labels (None: a skip),
    and optionally control, value, gt, ts, key, region."""
    cols: dict[str, list] = {k: [] for k in ("task_key", "annotation_key", "region_key", "annotator", "from_name",
                                             "to_name", "type", "labels", "value", "was_cancelled", "ground_truth",
                                             "created_at", "updated_at")}
    for i, r in enumerate(rows):
        skip = r.get("labels") is None
        ctl = r.get("control", "ctl")
        cols["task_key"].append(r["task"])
        cols["annotation_key"].append(r.get("key", f"{r['who']}#0"))
        cols["region_key"].append("" if skip else r.get("region", f"r{i}/{ctl}"))
        cols["annotator"].append(r["who"])
        cols["from_name"].append(None if skip else ctl)
        cols["to_name"].append(None if skip else "text")
        cols["type"].append(None if skip else r.get("type", "choices"))
        cols["labels"].append(None if skip else r["labels"])
        cols["value"].append(None if skip else json.dumps(r.get("value", {"choices": r["labels"]})))
        cols["was_cancelled"].append(skip)
        cols["ground_truth"].append(r.get("gt", False))
        cols["created_at"].append(r.get("ts", "2026-01-01T00:00:00Z"))
        cols["updated_at"].append(r.get("ts", "2026-01-01T00:00:00Z"))
    return pa.table(cols, schema=pa.schema([
        (k, pa.list_(pa.string()) if k == "labels" else pa.bool_() if k in ("was_cancelled", "ground_truth")
         else pa.string()) for k in cols]))


def predictions_table(rows: list[dict]) -> pa.Table:
    """A predictions table: task, model, labels, score, optionally control, value, key."""
    cols: dict[str, list] = {k: [] for k in ("task_key", "prediction_key", "region_key", "model_version", "score",
                                             "from_name", "to_name", "type", "labels", "value")}
    for i, r in enumerate(rows):
        ctl = r.get("control", "ctl")
        cols["task_key"].append(r["task"])
        cols["prediction_key"].append(r.get("key", f"{r['model']}#0"))
        cols["region_key"].append(f"p{i}/{ctl}")
        cols["model_version"].append(r["model"])
        cols["score"].append(r.get("score"))
        cols["from_name"].append(ctl)
        cols["to_name"].append("text")
        cols["type"].append(r.get("type", "choices"))
        cols["labels"].append(r["labels"])
        cols["value"].append(json.dumps(r.get("value", {"choices": r["labels"]})))
    return pa.table(cols, schema=pa.schema([
        (k, pa.list_(pa.string()) if k == "labels" else pa.float64() if k == "score" else pa.string())
        for k in cols]))


def _no_nan(doc) -> None:
    json.dumps(doc, allow_nan=False)  # raises on NaN or inf anywhere


# ---------------------------------------------------------------- agreement, against the references


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 4), st.integers(2, 4), st.integers(2, 25), st.randoms(use_true_random=False))
def test_agreement_matches_krippendorff_sklearn_and_statsmodels(k, coders, units, rnd):
    labels = LABELS[:k]
    data = np.full((coders, units), np.nan)
    rows = []
    for j in range(units):
        for i in range(coders):
            if rnd.random() < 0.8:
                v = rnd.randrange(k)
                data[i, j] = v
                rows.append({"task": f"t{j:03d}", "who": f"w{i}", "labels": [labels[v]]})
    if not rows:
        return
    res = agreement(answers_table(rows)).to_json()
    _no_nan(res)
    e = res["controls"]["ctl"]
    counts = np.zeros((units, k), int)
    for i in range(coders):
        for j in range(units):
            if not math.isnan(data[i, j]):
                counts[j, int(data[i, j])] += 1
    pairable = counts.sum(1) >= 2
    assert e["krippendorff_alpha"]["n"] == e["fleiss_kappa"]["n"] == int(pairable.sum())
    if (counts[pairable].sum(0) > 0).sum() >= 2:
        ref = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal",
                                 value_domain=sorted({int(x) for x in data[~np.isnan(data)]}))
        assert e["krippendorff_alpha"]["value"] == pytest.approx(ref, abs=1e-6)
    else:
        assert e["krippendorff_alpha"]["value"] is None and e["krippendorff_alpha"]["note"]
    full = counts[counts.sum(1) == coders]  # statsmodels needs the same number of raters per unit
    if len(full) and (counts.sum(1)[pairable] == coders).all() and e["fleiss_kappa"]["value"] is not None:
        assert e["fleiss_kappa"]["value"] == pytest.approx(sm_fleiss(full, method="fleiss"), abs=1e-6)
    for p in e["pairs"]:
        a, b = int(p["a"][1:]), int(p["b"][1:])
        both = ~np.isnan(data[a]) & ~np.isnan(data[b])
        assert p["tasks"] == int(both.sum())
        with np.errstate(all="ignore"):
            ref = cohen_kappa_score(data[a][both], data[b][both])
        if math.isnan(ref):
            assert p["cohen_kappa"]["value"] is None
        else:
            assert p["cohen_kappa"]["value"] == pytest.approx(ref, abs=1e-6)


def test_multi_label_is_one_yes_no_question_per_label():
    rng = random.Random(3)
    rows, per_label = [], {lab: np.full((3, 30), np.nan) for lab in LABELS[:3]}
    for j in range(30):
        for i in range(3):
            chosen = sorted(rng.sample(LABELS[:3], rng.randint(1, 2)))
            rows.append({"task": f"t{j}", "who": f"w{i}", "labels": chosen})
            for lab in LABELS[:3]:
                per_label[lab][i, j] = 1.0 if lab in chosen else 0.0
    e = agreement(answers_table(rows), {"ctl": LABELS}).to_json()["controls"]["ctl"]
    assert e["multi_label"] and "pooled" in e["note"]
    for lab in LABELS[:3]:
        ref = krippendorff.alpha(reliability_data=per_label[lab], level_of_measurement="nominal")
        assert e["labels"][lab]["krippendorff_alpha"]["value"] == pytest.approx(ref, abs=1e-6)
    # pooled: every (task, label) one unit
    pooled = np.hstack([per_label[lab] for lab in LABELS[:3]])
    ref = krippendorff.alpha(reliability_data=pooled, level_of_measurement="nominal")
    assert e["krippendorff_alpha"]["value"] == pytest.approx(ref, abs=1e-6)
    unused = e["labels"]["d"]  # in the config, used by nobody
    assert unused["answers"] == 0 and unused["krippendorff_alpha"] == {"value": None, "n": 30,
                                                                        "note": "nobody used this label"}


def test_one_annotator_all_skips_and_a_label_nobody_used_are_defined_with_notes():
    one = agreement(answers_table([{"task": f"t{i}", "who": "w0", "labels": ["a"]} for i in range(5)]),
                    {"ctl": ["a", "b"]}).to_json()
    _no_nan(one)
    e = one["controls"]["ctl"]
    assert e["krippendorff_alpha"] == {"value": None, "n": 0, "note": "no task has two answers or more"}
    assert e["pairs"] == [] and e["cohen_kappa_mean"] == {"value": None, "pairs": 0}
    assert any("1 annotator(s)" in n for n in one["notes"])
    skips = agreement(answers_table([{"task": f"t{i}", "who": w, "labels": None} for i in range(3)
                                     for w in ("w0", "w1")])).to_json()
    _no_nan(skips)
    assert skips["controls"] == {} and skips["skipped"] == 6 and skips["annotators"] == {}
    assert any("skipped" in n for n in skips["notes"]) and any("0 annotator(s)" in n for n in skips["notes"])
    same = agreement(answers_table([{"task": f"t{i}", "who": w, "labels": ["a"]} for i in range(4)
                                    for w in ("w0", "w1")])).to_json()
    _no_nan(same)
    assert same["controls"]["ctl"]["krippendorff_alpha"]["value"] is None
    assert same["controls"]["ctl"]["pairs"][0]["cohen_kappa"]["note"].startswith("undefined")


def test_a_later_answer_of_the_same_annotator_replaces_the_earlier_one():
    rows = [{"task": "t1", "who": "w0", "labels": ["a"], "key": "w0#0", "ts": "2026-01-01"},
            {"task": "t1", "who": "w0", "labels": ["b"], "key": "w0#1", "ts": "2026-01-02"},
            {"task": "t1", "who": "w1", "labels": ["b"]}]
    e = agreement(answers_table(rows)).to_json()["controls"]["ctl"]
    assert e["pairs"][0]["agree"] == 1 and e["pairs"][0]["tasks"] == 1


def _span(start: int, end: int, label: str) -> dict:
    return {"start": start, "end": end, "labels": [label]}


def test_span_agreement_pairs_regions_by_overlap_and_gives_f1():
    rows = [  # w0: 3 spans; w1: 2 matching (one with another label), 1 extra
        {"task": "t1", "who": "w0", "control": "ner", "type": "labels", "labels": ["PER"], "value": _span(0, 5, "PER")},
        {"task": "t1", "who": "w0", "control": "ner", "type": "labels", "labels": ["LOC"], "value": _span(10, 16, "LOC")},
        {"task": "t1", "who": "w0", "control": "ner", "type": "labels", "labels": ["ORG"], "value": _span(20, 24, "ORG")},
        {"task": "t1", "who": "w1", "control": "ner", "type": "labels", "labels": ["PER"], "value": _span(0, 4, "PER")},
        {"task": "t1", "who": "w1", "control": "ner", "type": "labels", "labels": ["ORG"], "value": _span(10, 16, "ORG")},
        {"task": "t1", "who": "w1", "control": "ner", "type": "labels", "labels": ["LOC"], "value": _span(40, 44, "LOC")},
    ]
    res = agreement(answers_table(rows)).to_json()
    e = res["controls"]["ner"]
    assert e["kind"] == "regions"
    assert e["f1"] == {"value": pytest.approx(2 * 1 / 6), "n": 1}  # one pair with the same label
    assert e["f1_any_label"]["value"] == pytest.approx(2 * 2 / 6)  # two pairs by overlap
    assert e["labels"]["PER"]["f1"]["value"] == 1.0
    assert e["labels"]["LOC"]["f1"]["value"] == 0.0
    assert res["disagreeing_pairs"][0]["measure"] == "f1"
    strict = agreement(answers_table(rows), overlap_threshold=1.0).to_json()["controls"]["ner"]
    assert strict["f1_any_label"]["value"] == pytest.approx(2 * 2 / 6)  # 0..4 lies in 0..5: overlap 1


def test_box_agreement_uses_iou_threshold():
    box = lambda x, lab: {"x": x, "y": 0, "width": 10, "height": 10, "rectanglelabels": [lab]}  # noqa: E731
    rows = [{"task": "t1", "who": "w0", "control": "box", "type": "rectanglelabels", "labels": ["car"], "value": box(0, "car")},
            {"task": "t1", "who": "w1", "control": "box", "type": "rectanglelabels", "labels": ["car"], "value": box(3, "car")}]
    iou = 70 / 130
    assert agreement(answers_table(rows), iou_threshold=0.5).to_json()["controls"]["box"]["f1"]["value"] == 1.0
    assert agreement(answers_table(rows), iou_threshold=0.6).to_json()["controls"]["box"]["f1"]["value"] == 0.0
    assert iou < 0.6


# ---------------------------------------------------------------- eval


def test_eval_matches_scikit_learn():
    rng = random.Random(5)
    truth, pred, rows, prows = [], [], [], []
    for j in range(80):
        t = rng.choice(LABELS[:3])
        p = t if rng.random() < 0.7 else rng.choice(LABELS[:3])
        truth.append(t)
        pred.append(p)
        rows.append({"task": f"t{j:02d}", "who": "w0", "labels": [t]})
        prows.append({"task": f"t{j:02d}", "model": "m1", "labels": [p], "score": rng.random()})
    prows.append({"task": "t99", "model": "m1", "labels": ["a"], "score": 0.5})  # no label: not counted
    res = evaluate(answers_table(rows), predictions_table(prows), "m1").to_json()
    _no_nan(res)
    e = res["controls"]["ctl"]
    assert e["accuracy"] == pytest.approx(accuracy_score(truth, pred), abs=1e-6)
    labels = e["confusion"]["labels"]
    assert e["confusion"]["matrix"] == confusion_matrix(truth, pred, labels=labels).tolist()
    p, r, f, s = precision_recall_fscore_support(truth, pred, labels=labels, zero_division=0)
    for i, lab in enumerate(labels):
        assert e["labels"][lab]["precision"] == pytest.approx(p[i], abs=1e-6)
        assert e["labels"][lab]["recall"] == pytest.approx(r[i], abs=1e-6)
        assert e["labels"][lab]["f1"] == pytest.approx(f[i], abs=1e-6)
        assert e["labels"][lab]["support"] == s[i]
    assert e["predicted_not_labeled"] == 1 and e["labeled_not_predicted"] == 0


def test_eval_resolves_labels_by_the_policy_and_refuses_unknown_models():
    rows = [{"task": "t1", "who": "w0", "labels": ["a"], "ts": "2026-01-03"},
            {"task": "t1", "who": "w1", "labels": ["b"], "ts": "2026-01-01"},
            {"task": "t1", "who": "w2", "labels": ["b"], "ts": "2026-01-02", "gt": True}]
    preds = predictions_table([{"task": "t1", "model": "m", "labels": ["a"], "score": 0.9}])
    assert evaluate(answers_table(rows), preds, "m", "latest").controls["ctl"]["accuracy"] == 1.0
    assert evaluate(answers_table(rows), preds, "m", "majority").controls["ctl"]["accuracy"] == 0.0
    with pytest.raises(UsageError, match="no predictions of model version 'x'"):
        evaluate(answers_table(rows), preds, "x")


def test_eval_boxes_precision_recall_at_iou_thresholds():
    box = lambda x, lab: {"x": x, "y": 0, "width": 10, "height": 10, "rectanglelabels": [lab]}  # noqa: E731
    ann = answers_table([
        {"task": "t1", "who": "w0", "control": "box", "type": "rectanglelabels", "labels": ["car"], "value": box(0, "car")},
        {"task": "t1", "who": "w0", "control": "box", "type": "rectanglelabels", "labels": ["bus"], "value": box(50, "bus")}])
    preds = predictions_table([  # IoU 0.6 with the car; a bus nowhere near the bus
        {"task": "t1", "model": "m", "control": "box", "type": "rectanglelabels", "labels": ["car"], "value": box(2.5, "car"),
         "score": 0.8},
        {"task": "t1", "model": "m", "control": "box", "type": "rectanglelabels", "labels": ["bus"], "value": box(90, "bus"),
         "score": 0.8}])
    e = evaluate(ann, preds, "m").to_json()["controls"]["box"]
    assert e["thresholds"]["0.5"]["precision"] == 0.5 and e["thresholds"]["0.5"]["recall"] == 0.5
    assert e["thresholds"]["0.75"]["precision"] == 0.0
    assert e["thresholds"]["0.5"]["labels"]["car"]["f1"] == 1.0


def test_two_models_on_the_tasks_both_predicted():
    ann = answers_table([{"task": f"t{i}", "who": "w0", "labels": ["a"]} for i in range(4)])
    preds = predictions_table([{"task": f"t{i}", "model": "m1", "labels": ["a"], "score": 0.9} for i in range(4)]
                              + [{"task": f"t{i}", "model": "m2", "labels": ["a" if i else "b"], "score": 0.9}
                                 for i in range(1, 3)])
    out = compare_models(ann, preds, "m1", "m2")
    assert out["tasks"] == 2 and out["agreement"]["ctl"] == {"tasks": 2, "same": 2, "rate": 1.0}
    assert out["a"]["controls"]["ctl"]["tasks"] == 2 and out["b"]["controls"]["ctl"]["accuracy"] == 1.0


# ---------------------------------------------------------------- suspects


def test_suspects_rank_majority_model_and_changed_with_reasons():
    rows = [{"task": "t1", "who": w, "labels": [lab]} for w, lab in (("w0", "a"), ("w1", "b"), ("w2", "b"))]
    rows += [{"task": "t2", "who": "w0", "labels": ["a"]}, {"task": "t3", "who": "w0", "labels": ["c"]}]
    preds = predictions_table([{"task": "t2", "model": "m", "labels": ["b"], "score": 0.97},
                               {"task": "t3", "model": "m", "labels": ["b"], "score": 0.5}])
    before = answers_table([{"task": "t3", "who": "w0", "labels": ["b"]}])
    res = suspects(answers_table(rows), preds, before, threshold=0.9, since="v1")
    doc = res.to_json()
    _no_nan(doc)
    assert [(i["task_key"], [r["kind"] for r in i["reasons"]]) for i in doc["suspects"]] == [
        ("t1", ["majority"]), ("t2", ["model"]), ("t3", ["changed"])]
    assert doc["suspects"][0]["reasons"][0]["text"] == "w0 said a; 2 of 2 others said b"
    assert "m says b (score 0.97)" in doc["suspects"][1]["reasons"][0]["text"]
    assert "changed since v1: b -> c" in doc["suspects"][2]["reasons"][0]["text"]
    assert res.task_keys() == ["t1", "t2", "t3"]
    assert doc["counts"] == {"majority": 1, "model": 1, "changed": 1}
    assert suspects(answers_table(rows), preds, threshold=0.99).items[0]["task_key"] == "t1"
    odd = 'say "hi" it\'s'  # as every text output names a label: as it is (it neither holds ", " nor starts quoted)
    rows = [{"task": "t1", "who": w, "labels": [lab]} for w, lab in (("w0", odd), ("w1", "b"), ("w2", "b"))]
    text = suspects(answers_table(rows), None).to_json()["suspects"][0]["reasons"][0]["text"]
    assert text == "w0 said say \"hi\" it's; 2 of 2 others said b", text


def test_a_suspect_shows_the_task_s_resolved_label_not_the_first_dissenting_answer():
    """Two annotators dissent from a task's label: the suspect's label was the first one's
    answer ('c'), as if that were the task's label; it is the label the policy resolves
    (majority: 'a', two votes; latest: the last answer, 'd', all at one time and w3#0 last)."""
    rows = [{"task": "t1", "who": w, "labels": [lab]} for w, lab in (("w0", "a"), ("w1", "a"), ("w2", "c"),
                                                                     ("w3", "d"))]
    rows += [{"task": "t2", "who": w, "labels": [lab]} for w, lab in (("w0", "b"), ("w1", "b"), ("w2", "a"))]
    ann = answers_table(rows)
    for policy, want in (("majority", {"t1": "a", "t2": "b"}), ("latest", {"t1": "d", "t2": "a"})):
        items = {i["task_key"]: i for i in suspects(ann, None, policy=policy).items}
        assert [r["text"].split(" said")[0] for r in items["t1"]["reasons"]] == ["w2", "w3"]
        assert {t: i["label"] for t, i in items.items()} == want, policy


# ---------------------------------------------------------------- sample


def _pool(n: int = 40):
    tasks = pa.table({"task_key": [f"t{i:02d}" for i in range(n)]})
    ann = answers_table([{"task": f"t{i:02d}", "who": w, "labels": [LABELS[(i + k * (i % 3 == 0)) % 3]]}
                         for i in range(10) for k, w in enumerate(("w0", "w1"))])
    preds = predictions_table([{"task": f"t{i:02d}", "model": "m", "labels": [LABELS[i % 3]],
                                "score": round(0.3 + (i * 37 % 60) / 100, 2)} for i in range(n)])
    return tasks, ann, preds


@pytest.mark.parametrize("strategy", ["uncertainty", "margin", "disagreement", "rare-labels", "unlabeled", "random"])
def test_sample_is_reproducible_whatever_the_input_order(strategy):
    tasks, ann, preds = _pool()
    one = sample(tasks, ann, preds, strategy, 7, seed=4)
    rev = lambda t: t.take(list(range(t.num_rows - 1, -1, -1)))  # noqa: E731
    two = sample(rev(tasks), rev(ann), rev(preds), strategy, 7, seed=4)
    assert one.keys == two.keys and len(set(one.keys)) == len(one.keys)
    labeled = {f"t{i:02d}" for i in range(10)}
    if strategy in ("uncertainty", "margin", "rare-labels", "unlabeled"):
        assert not set(one.keys) & labeled
    if strategy == "disagreement":
        assert set(one.keys) <= labeled and one.keys[0] in {"t00", "t03", "t06", "t09"}
        # the score is the entropy of the annotators' labels (two of them disagreeing: ln 2), highest first
        assert one.scores == sorted(one.scores, reverse=True)
        assert one.scores[0] == pytest.approx(math.log(2), abs=0.002)
    if strategy == "uncertainty":
        scores = one.scores
        assert scores == sorted(scores)
    if strategy in ("random", "unlabeled"):
        assert sample(tasks, ann, preds, strategy, 7, seed=5).keys != one.keys


def test_sample_stratified_spreads_over_labels_and_says_when_short():
    tasks, ann, preds = _pool()
    res = sample(tasks, ann, preds, "uncertainty", 6, seed=1, stratify=True)
    assert sorted(res.labels) == ["a", "a", "b", "b", "c", "c"] and res.stratify == "ctl"
    short = sample(tasks, ann, preds, "unlabeled", 100)
    assert len(short.keys) == 30 and "fewer than the 100" in short.notes[0]
    with pytest.raises(UsageError, match="unknown strategy"):
        sample(tasks, ann, preds, "loudest", 5)
    with pytest.raises(UsageError, match="needs a model"):
        sample(tasks, ann, None, "uncertainty", 5)


def test_disagreement_says_when_it_read_no_model_of_several():
    """With two model versions and no --model, disagreement reads the annotators alone: a note
    says so and names the models, rather than leaving their contradictions out unsaid."""
    tasks, _, preds = _pool()
    ann = answers_table([{"task": f"t{i:02d}", "who": w, "labels": [LABELS[i % 3]]} for i in range(10)
                         for w in ("w0", "w1")])
    other = predictions_table([{"task": f"t{i:02d}", "model": "m2", "labels": [LABELS[(i + 1) % 3]], "score": 0.9}
                               for i in range(10)])
    both = pa.concat_tables([preds, other])
    res = sample(tasks, ann, both, "disagreement", 3)
    assert res.keys == [] and res.model is None
    assert any("m, m2" in n and "--model" in n for n in res.notes), res.notes
    assert sample(tasks, ann, both, "disagreement", 3, model="m2").keys  # m2 contradicts every label
    assert not any("--model" in n for n in sample(tasks, ann, preds, "disagreement", 3).notes)


@pytest.mark.parametrize("strategy", ["random", "unlabeled"])
def test_a_sample_by_hash_rates_only_the_answers_of_its_picks(monkeypatch, strategy):
    """random and unlabeled order tasks by the seeded hash alone: the answers rated (for the
    picks' labels) are those of the picks, not the version's; stratified, every task's label
    ranks, so all are rated. The keys and labels are the same either way (the reference test)."""
    tasks, ann, preds = _pool()
    preds = preds.filter(pa.compute.less(preds.column("task_key"), "t05"))  # some picks labeled by their answers
    rated: list[int] = []
    real = Q.build_ratings

    def spy(s, src, name):
        rated.append(s.one(f"SELECT count(DISTINCT task_key) FROM {src}")[0])
        real(s, src, name)
    monkeypatch.setattr(Q, "build_ratings", spy)
    res = sample(tasks, ann, preds, strategy, 30, seed=2)
    assert rated == [len({k for k in res.keys if k < "t10"})]  # the labeled tasks among the picks
    if strategy == "random":
        assert 0 < rated[0] < 10 and all(lab is not None for k, lab in zip(res.keys, res.labels) if k < "t10")
    rated.clear()
    sample(tasks, ann, preds, strategy, 3, seed=2, stratify=True)
    assert rated == [10]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_sample_ranked_in_sql_picks_what_the_reference_picks(data):
    """Random answers (some tasks with none, skips, labels of one or two choices), predictions with
    equal scores (ties go to the seeded hash) and 0 scores: every strategy, stratified or not,
    picks the keys, scores, labels and notes the former implementation (every candidate sorted
    in Python, kept in tests) picks."""
    from tests.reference_sample import sample as reference

    n_tasks = data.draw(st.integers(1, 25))
    tasks = pa.table({"task_key": [f"t{i:02d}" for i in range(n_tasks)]})
    label = st.one_of(st.sampled_from([["a"], ["b"], ["c"]]), st.lists(st.sampled_from(LABELS), min_size=1, max_size=2))
    rows, seen = [], set()
    for t, w, lab, skip in data.draw(st.lists(st.tuples(st.integers(0, n_tasks - 1), st.sampled_from(["w0", "w1", "w2"]),
                                                        label, st.booleans()), max_size=30)):
        if (t, w) not in seen:
            seen.add((t, w))
            rows.append({"task": f"t{t:02d}", "who": w, "labels": None if skip else lab})
    ann = answers_table(rows)
    score = st.sampled_from([0.0, 0.25, 0.5, 0.5, 0.9, 1.0, 0.123456789])
    preds = [{"task": f"t{t:02d}", "model": "m", "labels": lab, "score": sc, "key": f"m#{j}"}
             for t, lab, sc, j in data.draw(st.lists(st.tuples(st.integers(0, n_tasks - 1), label, score,
                                                                st.integers(0, 1)), max_size=30))]
    preds = list({(p["task"], p["key"]): p for p in preds}.values())
    ptable = predictions_table(preds) if preds else None
    strategy = data.draw(st.sampled_from(["uncertainty", "margin", "disagreement", "rare-labels", "unlabeled", "random"]))
    kw = {"n": data.draw(st.integers(1, 12)), "seed": data.draw(st.integers(-3, 3)), "stratify": data.draw(st.booleans())}
    try:
        want = reference(tasks, ann, ptable, strategy, **kw).to_json()
    except UsageError as e:
        with pytest.raises(UsageError, match=re.escape(e.message)):
            sample(tasks, ann, ptable, strategy, **kw)
        return
    assert sample(tasks, ann, ptable, strategy, **kw).to_json() == want


# ---------------------------------------------------------------- drift


def test_drift_counts_chi_square_and_per_annotator_shift():
    a = answers_table([{"task": f"t{i}", "who": "w0" if i % 2 else "w1", "labels": ["a" if i < 30 else "b"]}
                       for i in range(40)])
    b = answers_table([{"task": f"t{i}", "who": "w0" if i % 2 else "w1",
                        "labels": ["a" if (i < 30 if i % 2 == 0 else i < 10) else "b"]} for i in range(40)])
    d = drift(a, b)
    _no_nan(d)
    e = d["controls"]["ctl"]
    assert e["labels"] == ["a", "b"] and e["a"] == [30, 10] and e["b"] == [20, 20]
    stat, p, dof, _ = chi2_contingency(np.array([[30, 10], [20, 20]]), correction=False)
    assert e["chi_square"]["statistic"] == pytest.approx(stat, abs=1e-5)
    assert e["chi_square"]["p_value"] == pytest.approx(p, abs=1e-5)
    assert e["annotators"]["w1"]["jensen_shannon"] == 0.0  # w1 kept labeling as before
    assert e["annotators"]["w0"]["jensen_shannon"] > 0.1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(LABELS), st.booleans()), max_size=60),
       st.lists(st.tuples(st.integers(0, 3), st.sampled_from(LABELS), st.booleans()), max_size=60))
def test_drift_of_counts_is_scipy_on_the_counts(side_a, side_b):
    """Random answers on two sides: the counts are the rows', chi-square and JS are scipy's, never NaN."""
    def table(side):
        return answers_table([{"task": f"t{i}", "who": f"w{who}", "labels": None if skip else [lab]}
                              for i, (who, lab, skip) in enumerate(side)])

    def counts(side, who=None):
        return [sum(1 for w, lab_, skip in side if lab_ == lab and not skip and who in (None, w)) for lab in LABELS]

    d = drift(table(side_a), table(side_b))
    _no_nan(d)
    e = d["controls"].get("ctl")
    if e is None:
        assert sum(counts(side_a)) + sum(counts(side_b)) == 0
        return
    used = [i for i, lab in enumerate(LABELS) if lab in e["labels"]]
    a, b = [counts(side_a)[i] for i in used], [counts(side_b)[i] for i in used]
    assert (e["a"], e["b"]) == (a, b)
    if sum(a) and sum(b) and len(used) > 1:
        stat, p, dof, _ = chi2_contingency(np.array([a, b]), correction=False)
        assert (e["chi_square"]["statistic"], e["chi_square"]["p_value"], e["chi_square"]["dof"]) == \
            (pytest.approx(stat, abs=1e-5), pytest.approx(p, abs=1e-5), dof)
        assert e["jensen_shannon"] == pytest.approx(jensenshannon(a, b, base=2) ** 2, abs=1e-5)
    else:
        assert e["chi_square"]["p_value"] in (None, 1.0) and "note" in e["chi_square"]
    for who, x in e["annotators"].items():
        mine = [counts(side_a, int(who[1:])), counts(side_b, int(who[1:]))]
        assert x["a"] == [mine[0][LABELS.index(lab)] for lab in x["labels"]]
        assert x["b"] == [mine[1][LABELS.index(lab)] for lab in x["labels"]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=12)
                .map(str.strip).filter(bool), min_size=1, max_size=20, unique=True),
       st.sampled_from(["uncertainty", "random", "unlabeled"]), st.integers(1, 500), st.integers(0, 2**31),
       st.one_of(st.none(), st.text(min_size=1, max_size=10)))
def test_a_sample_record_round_trips_and_its_id_is_its_content(tmp_path_factory, keys, strategy, n, seed, model):
    res = SampleResult(keys, strategy, n, seed, model, len(keys) + 3)
    doc = sample_record("v" * 40, res, None)
    assert doc["id"] == sample_record("v" * 40, SampleResult(list(keys), strategy, n, seed, model, len(keys) + 3),
                                      None)["id"]
    changed = [SampleResult(keys, strategy, n + 1, seed, model, len(keys) + 3),
               SampleResult(keys, strategy, n, seed + 1, model, len(keys) + 3),
               SampleResult(keys[::-1] + ["another"], strategy, n, seed, model, len(keys) + 3)]
    assert doc["id"] not in {sample_record("v" * 40, r, None)["id"] for r in changed}
    assert sample_record("w" * 40, res, None)["id"] != doc["id"]
    path = tmp_path_factory.mktemp("s") / f"{doc['id']}.json"
    path.write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    sel = _read_record(path, "sample")
    assert (sel.id, sel.version, sel.keys, sel.model) == (doc["id"], "v" * 40, keys, model)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.sampled_from(LABELS[:3]), st.integers(0, 3),
                          st.booleans()), min_size=1, max_size=40),
       st.sampled_from(["latest", "majority", "ground-truth"]))
def test_labels_resolve_as_the_diff_resolves_them(answers, policy):
    """The loop's resolution (two GROUP BYs) picks what the diff's query (a window) picks."""
    seen, rows = set(), []
    for task, who, lab, day, gt in answers:
        if (task, who) in seen:
            continue  # one answer per annotator and task, as the diff counts answers
        seen.add((task, who))
        rows.append({"task": f"t{task}", "who": f"w{who}", "labels": [lab], "ts": f"2026-01-0{day + 1}", "gt": gt})
    with Q.Session(ann=answers_table(rows)) as s:
        Q.build_ratings(s, "ann", "ratings")
        ours = sorted((t, c, Q.shown(lab)) for t, c, lab in s.con.execute(
            f"SELECT task_key, from_name, label FROM ({Q.resolved('ratings', policy)})").fetchall())
        theirs = sorted(s.con.execute(diff_resolved("ann", policy)).fetchall())
    assert ours == theirs


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_suspects_ranked_in_sql_are_the_reference_s_items(data):
    """Random answers (several annotators and controls, skips), predictions (scores on and off
    Python's rounding ties, such as 125/128) and an earlier version: the items, counts and
    notes are the reference implementation's (every suspect built in Python), and a limit
    gives the first items of the whole ranking, with the whole total."""
    from tests.reference_suspects import suspects as reference

    tasks = [f"t{i}" for i in range(data.draw(st.integers(1, 5)))]
    who = st.sampled_from(["w0", "w1", "w2", "w3", "w4", "w5"])
    label = st.one_of(st.sampled_from([["a"], ["b"]]), st.lists(st.sampled_from(LABELS), min_size=1, max_size=2))
    control = st.sampled_from(["ctl", "other"])

    def answers(draw_rows: list) -> "pa.Table":
        seen, rows = set(), []
        for t, w, c, lab, skip, gt in draw_rows:
            if (t, w, c) not in seen:
                seen.add((t, w, c))
                rows.append({"task": t, "who": w, "control": c, "labels": None if skip else lab,
                             "key": f"{w}#{c}", "gt": gt})
        return answers_table(rows)

    # ground truth on some answers: it decides a tied label under the ground-truth policy (no split)
    row = st.tuples(st.sampled_from(tasks), who, control, label, st.booleans(), st.sampled_from([False] * 4 + [True]))
    ann = answers(data.draw(st.lists(row, max_size=40)))
    prev = answers(data.draw(st.lists(row, max_size=40))) if data.draw(st.booleans()) else None
    score = st.one_of(st.floats(0, 1), st.sampled_from([0.9765625, 0.0078125, 0.9921875, 0.95, 1.0]))
    prow = st.fixed_dictionaries({"task": st.sampled_from(tasks), "model": st.sampled_from(["m1", "m2"]),
                                  "labels": label, "score": score, "control": control})
    preds = data.draw(st.lists(prow, max_size=12))
    seen: set = set()
    preds = [p for p in preds if (k := (p["task"], p["model"], p["control"])) not in seen and not seen.add(k)]
    ptable = predictions_table([{**p, "key": f"{p['model']}#{p['control']}"} for p in preds]) if preds else None
    threshold = data.draw(st.sampled_from([0.0, 0.5, 0.9]))
    policy = data.draw(st.sampled_from(["latest", "majority", "ground-truth"]))
    kw = {"threshold": threshold, "policy": policy, "since": "v1" if prev is not None else None}
    want = reference(ann, ptable, prev, **kw).to_json()
    got = suspects(ann, ptable, prev, **kw).to_json()
    assert got["suspects"] == want["suspects"]
    assert (got["counts"], got["notes"], got["total"]) == (want["counts"], want["notes"], len(want["suspects"]))
    limit = data.draw(st.integers(0, 5))
    top = suspects(ann, ptable, prev, limit=limit, **kw)
    assert top.items == want["suspects"][:limit] and top.total == len(want["suspects"])
