"""The labeling loop's numbers against the tools that define them, on real data with predictions.

Every expected figure is computed here from the raw input file (never from annover's output):
scikit-learn (accuracy, per-label P/R/F1, macro F1, confusion matrix, Cohen's kappa), seqeval
(entity-level F1 of spans), statsmodels (Fleiss' kappa), the ``krippendorff`` package, scipy
(chi-square, Jensen-Shannon), and, for regions, a greedy pairing written below at the threshold
docs/loop.md gives (boxes by IoU, spans by the shared length over the shorter, best pairs first,
labels aside; a pair counts when its labels are the same).

The data: the shared corpus's exports with predictions (ner_predictions_nerine: spans;
sdk_bbox_reviews_predictions and evalme_bbox_multi: boxes, the latter by three annotators), its
classification exports (fe_sentiment_two_annotators, ls_ground_truth_choices) given a model's
predictions here, and the project's sample dataset (examples/sentiment: two rounds, a model, a
ground-truth answer, a skip, tasks answered twice).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import html
import io
import itertools
import json
import math
import re
import warnings
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency
from seqeval.metrics import f1_score as seq_f1
from seqeval.metrics import precision_score as seq_precision
from seqeval.metrics import recall_score as seq_recall
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, f1_score
from sklearn.metrics import precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

import annover
from annover.loop.api import diff_drift

from .conftest import EXAMPLES, shared_corpus
from .test_cli import invoke

LS = shared_corpus("label-studio")
pytestmark = pytest.mark.skipif(not (LS / "evalme_bbox_multi.json").is_file(),
                                reason=f"the shared corpus is not here ({LS})")
THRESHOLDS = (0.5, 0.75)


# ---- the raw files, read without annover ----

def _load(path: Path) -> list[dict]:
    d = json.loads(path.read_text())
    return d if isinstance(d, list) else [d]


def _who(a: dict) -> str:
    cb = a.get("completed_by")
    cb = cb.get("email") if isinstance(cb, dict) else cb
    return "-" if cb is None else str(cb)  # an answer nobody is named on is annotator "-"


def _ts(a: dict) -> str:
    return a.get("updated_at") or a.get("created_at") or ""


def _answers(t: dict) -> list[dict]:
    return [a for a in t.get("annotations", []) if not a.get("was_cancelled")]


def latest_answers(t: dict) -> dict[str, dict]:
    """docs/loop.md "Who said what": annotator -> their answer, the latest they gave (skips are not answers)."""
    out: dict[str, dict] = {}
    for a in _answers(t):
        w = _who(a)
        if w not in out or (_ts(a), str(a.get("id"))) > (_ts(out[w]), str(out[w].get("id"))):
            out[w] = a
    return out


def _resolved_answer(t: dict) -> dict | None:
    """docs/loop.md: the task's resolved answer for regions is a ground-truth one of the annotators'
    answers, else the latest."""
    answers = list(latest_answers(t).values())
    if not answers:
        return None
    return max(answers, key=lambda a: (bool(a.get("ground_truth")), _ts(a), str(a.get("id"))))


def _best_prediction(t: dict) -> dict | None:
    """The task's best-scored prediction: its list, and those an export gives only in an answer."""
    preds = [p for p in t.get("predictions", []) if isinstance(p, dict)]
    preds += [a["prediction"] for a in t.get("annotations", []) if (a.get("prediction") or {}).get("result")]
    preds = list({p["id"]: p for p in preds}.values())
    return max(preds, key=lambda p: -math.inf if p.get("score") is None else p["score"], default=None)


def _regions(result: list[dict]) -> list[dict]:
    out = []
    for r in result:
        v = r.get("value", {})
        labels = v.get("labels") or v.get("rectanglelabels")
        if not labels:
            continue
        shape = ("span", v["start"], v["end"]) if "start" in v else ("box", v["x"], v["y"], v["width"], v["height"])
        out.append({"id": r.get("id"), "shape": shape, "labels": tuple(sorted(labels)), "score": r.get("score")})
    return out


def _similarity(a: tuple, b: tuple) -> float:
    if a[0] == "span":
        shorter = min(a[2] - a[1], b[2] - b[1])
        return max(0, min(a[2], b[2]) - max(a[1], b[1])) / shorter if shorter > 0 else 0.0
    # exact arithmetic: an IoU of exactly 0.5 (evalme's image 189: 480 of 960 pixels) is 0.4999999999999997
    # in floats, and ">= 0.5" must pair it
    ax, ay, aw, ah = map(Fraction, a[1:])
    bx, by, bw, bh = map(Fraction, b[1:])
    inter = max(0, min(ax + aw, bx + bw) - max(ax, bx)) * max(0, min(ay + ah, by + bh) - max(ay, by))
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else Fraction(0)


def _greedy(g: list[dict], p: list[dict], threshold: float) -> list[tuple[int, int]]:
    """Best pairs first, each region in one pair, labels aside."""
    cands = sorted(((_similarity(a["shape"], b["shape"]), i, j) for i, a in enumerate(g) for j, b in enumerate(p)),
                   key=lambda c: -c[0])
    used_g, used_p, pairs = set(), set(), []
    for sim, i, j in cands:
        if sim >= threshold and i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
            pairs.append((i, j))
    return pairs


def _prf(tp: int, npred: int, ntrue: int) -> tuple[float | None, float | None, float | None]:
    return (tp / npred if npred else None, tp / ntrue if ntrue else None,
            2 * tp / (npred + ntrue) if npred + ntrue else None)


def _region_reference(tasks: list[dict], threshold: float) -> dict[str, Any]:
    """eval's matched-region figures, from the raw tasks: answered and predicted tasks only."""
    tp = npred = ntrue = 0
    per: dict[str, list[int]] = {}
    for t in tasks:
        a, p = _resolved_answer(t), _best_prediction(t)
        if a is None or p is None:
            continue
        g, q = _regions(a["result"]), _regions(p["result"])
        ntrue, npred = ntrue + len(g), npred + len(q)
        for r in g:
            for lab in r["labels"]:
                per.setdefault(lab, [0, 0, 0])[2] += 1
        for r in q:
            for lab in r["labels"]:
                per.setdefault(lab, [0, 0, 0])[1] += 1
        for i, j in _greedy(g, q, threshold):
            tp += g[i]["labels"] == q[j]["labels"]
            for lab in set(g[i]["labels"]) & set(q[j]["labels"]):
                per[lab][0] += 1
    return {"all": _prf(tp, npred, ntrue), "labels": {k: _prf(*v) for k, v in per.items()}}


def _close(got: float | None, want: float | None) -> bool:
    return (got is None and want is None) or (got is not None and want is not None and abs(got - want) < 1e-6)


# ---- the repositories ----

def _snapshot(root: Path, source: Path, config: Path, key: str | None = None) -> annover.Repo:
    repo = annover.init(root)
    repo.snapshot(str(source), config=str(config), key=key, message=source.stem)
    return repo


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """name -> (repo, raw tasks): one repository per data set, made once for the module."""
    out: dict[str, tuple[annover.Repo, list[dict]]] = {}
    base = tmp_path_factory.mktemp("refs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOVER_REMOTE_HOME", str(base / "remotes"))
        mp.setenv("ANNOVER_CACHE_DIR", str(base / "cache"))
        for k, v in {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "T",
                     "GIT_COMMITTER_EMAIL": "t@example.com"}.items():
            mp.setenv(k, v)
        for name in ("ner_predictions_nerine", "sdk_bbox_reviews_predictions", "evalme_bbox_multi"):
            out[name] = (_snapshot(base / name, LS / f"{name}.json", LS / f"{name}.xml"), _load(LS / f"{name}.json"))
        # evalme again, then a review: annotator2's answer on the first image made empty (it is the
        # latest answer there), and on the second image two boxes of an earlier answer relabeled
        empty = _load(LS / "evalme_bbox_multi.json")
        latest = max(empty[0]["annotations"], key=_ts)
        latest["result"] = []
        for r in min(empty[1]["annotations"], key=_ts)["result"][:2]:
            r["value"]["rectanglelabels"] = ["Obstacle" if r["value"]["rectanglelabels"] != ["Obstacle"] else "Car"]
        (base / "evalme_empty.json").write_text(json.dumps(empty))
        review = _snapshot(base / "evalme_empty", LS / "evalme_bbox_multi.json", LS / "evalme_bbox_multi.xml")
        review.snapshot(str(base / "evalme_empty.json"), message="review")
        out["evalme_empty"] = (review, empty)
        # the classification exports, given a model's choices here (the corpus has none for them)
        for name, model in (("fe_sentiment_two_annotators", _sentiment_model),
                            ("ls_ground_truth_choices", _humor_model)):
            tasks = model(_load(LS / f"{name}.json"))
            (base / f"{name}.json").write_text(json.dumps(tasks))
            out[name] = (_snapshot(base / name, base / f"{name}.json", LS / f"{name}.xml"), tasks)
        tasks = _text_model(_load(LS / "llm_answer_textarea_preds.json"))
        (base / "llm.json").write_text(json.dumps(tasks))
        out["llm"] = (_snapshot(base / "llm", base / "llm.json", LS / "llm_answer_textarea_preds.xml"), tasks)
        chat = _load(LS / "multiturn_chat_choices.json")
        for i, t in enumerate(chat):  # a model that gives each chat the next one's answers
            nxt = chat[(i + 1) % len(chat)]["annotations"][0]["result"]
            t["predictions"] = [{"id": i + 1, "model_version": "rot", "score": 0.7, "result": copy.deepcopy(nxt)}]
        (base / "chat.json").write_text(json.dumps(chat))
        out["chat"] = (_snapshot(base / "chat", base / "chat.json", LS / "multiturn_chat_choices.xml"), chat)
        rounds = _snapshot(base / "sentiment", EXAMPLES / "round1.json", EXAMPLES / "labeling.xml", key="data.ext_id")
        rounds.snapshot(str(EXAMPLES / "round2.json"), key="data.ext_id", message="round 2")
        out["sentiment"] = (rounds, _load(EXAMPLES / "round2.json"))
        split = _load(LS / "fe_sentiment_two_annotators.json")  # the two annotators of task 1 disagree here
        split[0]["annotations"][1]["result"][0]["value"]["choices"] = ["Positive"]
        (base / "split.json").write_text(json.dumps(split))
        out["split"] = (_snapshot(base / "split", base / "split.json", LS / "fe_sentiment_two_annotators.xml"), split)
        # ground truth: the split task's first answer marked, so its label wins the 1-1 tie; and
        # annotator1's boxes (the earliest answers) marked on two images of evalme
        marked = _sentiment_model(split)
        marked[0]["annotations"][0]["ground_truth"] = True
        (base / "marked.json").write_text(json.dumps(marked))
        out["split_gt"] = (_snapshot(base / "split_gt", base / "marked.json", LS / "fe_sentiment_two_annotators.xml"),
                           marked)
        boxes = _load(LS / "evalme_bbox_multi.json")
        for t in boxes[1:3]:
            min(t["annotations"], key=_ts)["ground_truth"] = True
        (base / "evalme_gt.json").write_text(json.dumps(boxes))
        out["evalme_gt"] = (_snapshot(base / "evalme_gt", base / "evalme_gt.json", LS / "evalme_bbox_multi.xml"), boxes)
        opened = _load(EXAMPLES / "round2.json")
        for t in opened[::2]:
            t["annotations"] = []
        (base / "open.json").write_text(json.dumps(opened))
        out["sentiment_open"] = (_snapshot(base / "open", base / "open.json", EXAMPLES / "labeling.xml",
                                           key="data.ext_id"), opened)
        mp.chdir(base)
        yield out


def _choice(label: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "my_text", "type": "choices", "value": {"choices": [label]}}]


def _sentiment_model(tasks: list[dict]) -> list[dict]:
    """Model "m": 'Neutral' on task 1 (0.6), on task 2 'Positive' (0.3) and 'Neutral' (0.8, its best),
    none on task 3; so 'Negative' is labeled and never predicted, 'Positive' never the best. Model
    "m2" says 'Negative' everywhere (several model versions on one task)."""
    tasks = copy.deepcopy(tasks)
    preds = {0: [("m", "Neutral", 0.6)], 1: [("m", "Positive", 0.3), ("m", "Neutral", 0.8)], 2: []}
    pid = itertools.count(1)
    for i, t in enumerate(tasks):
        t["predictions"] = [{"id": next(pid), "model_version": m, "score": s, "result": _choice(lab)}
                            for m, lab, s in preds[i] + [("m2", "Negative", 0.5)]]
    return tasks


def _humor_model(tasks: list[dict]) -> list[dict]:
    tasks = copy.deepcopy(tasks)
    for i, t in enumerate(tasks):
        t["predictions"] = [{"id": i + 1, "model_version": "m", "score": 0.9,
                             "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                         "value": {"choices": ["Humor" if i else "Not Humor"]}}]}]
    return tasks


def _text(text: list[str]) -> list[dict]:
    return [{"from_name": "answer", "to_name": "question", "type": "textarea", "value": {"text": text}}]


def _text_model(tasks: list[dict]) -> list[dict]:
    """The LLM answers' export (its predictions are ids only) given model "llm"'s text answers (the
    annotator's on two tasks, another text, an empty one) and a second annotator: an empty answer
    on the first task, the same text on the second."""
    tasks = copy.deepcopy(tasks)
    for i, t in enumerate(tasks):
        text = t["annotations"][0]["result"][0]["value"]["text"]
        t["predictions"] = [{"id": 100 + i, "model_version": "llm", "score": 0.5 + i / 10,
                             "result": _text(text if i < 2 else [["another answer"], [""]][i - 2])}]
    for i, said in ((0, [""]), (1, tasks[1]["annotations"][0]["result"][0]["value"]["text"])):
        second = copy.deepcopy(tasks[i]["annotations"][0])
        second.update(id=900 + i, completed_by=2, result=_text(said), created_at="2024-12-01T00:00:00Z",
                      updated_at="2024-12-01T00:00:00Z")
        tasks[i]["annotations"].append(second)
    return tasks


# ---- eval: regions ----

@pytest.mark.parametrize("name", ["ner_predictions_nerine", "sdk_bbox_reviews_predictions", "evalme_bbox_multi",
                                  "evalme_empty", "evalme_gt"])
def test_region_eval_is_the_greedy_match_at_the_documented_thresholds(made, name):
    """Precision, recall and F1 of the matched regions, overall and per label, at IoU (overlap) 0.5
    and 0.75. evalme_empty: the latest answer of one image has no box; eval scored that image
    against an earlier answer's boxes (P 0.400, R 0.387 where the documented rule gives 10/30 and
    10/24): the answers without a region were left out before the latest was picked."""
    repo, tasks = made[name]
    (model,) = {p["model_version"] for t in tasks for p in [_best_prediction(t)] if p}
    got = repo.eval(model=model).controls["label"]["thresholds"]
    for thr in THRESHOLDS:
        want = _region_reference(tasks, thr)
        mine = got[str(thr)]
        assert all(_close(g, w) for g, w in zip((mine["precision"], mine["recall"], mine["f1"]), want["all"])), \
            (thr, mine, want["all"])
        assert set(mine["labels"]) == set(want["labels"])
        for lab, w in want["labels"].items():
            m = mine["labels"][lab]
            assert all(_close(g, x) for g, x in zip((m["precision"], m["recall"], m["f1"]), w)), (thr, lab, m, w)


def _coco_recall(tasks: list[dict], thresholds: tuple[float, ...]) -> dict[float, dict[str, float]]:
    """pycocotools' COCOeval recall per category (maxDets 100, every area) of each task's resolved
    answer's boxes against its best prediction's, in pixels of the recorded image size."""
    cats = sorted({lab for t in tasks for a in t["annotations"] for r in _regions(a["result"]) for lab in r["labels"]})
    images, gts, dets = [], [], []
    for i, t in enumerate(tasks):
        answer, pred = _resolved_answer(t), _best_prediction(t)
        w, h = answer["result"][0]["original_width"], answer["result"][0]["original_height"]
        images.append({"id": i + 1, "width": w, "height": h})
        for src, out in ((answer, gts), (pred, dets)):
            for r in src["result"]:
                v = r["value"]
                box = [v["x"] * w / 100, v["y"] * h / 100, v["width"] * w / 100, v["height"] * h / 100]
                cat = cats.index(v["rectanglelabels"][0]) + 1
                score = r.get("score") if r.get("score") is not None else src.get("score")
                out.append({"id": len(out) + 1, "image_id": i + 1, "category_id": cat, "bbox": box,
                            "area": box[2] * box[3], "iscrowd": 0, "score": score})
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints as it goes
        truth = COCO()
        truth.dataset = {"images": images, "annotations": gts,
                         "categories": [{"id": k + 1, "name": c} for k, c in enumerate(cats)]}
        truth.createIndex()
        ev = COCOeval(truth, truth.loadRes(dets), "bbox")
        ev.params.iouThrs = np.array(thresholds)
        ev.params.areaRng, ev.params.areaRngLbl = [[0, 1e10]], ["all"]
        ev.evaluate()
        ev.accumulate()
    return {thr: {c: float(ev.eval["recall"][i, k, 0, -1]) for k, c in enumerate(cats)}
            for i, thr in enumerate(thresholds)}


@pytest.mark.parametrize("name", ["sdk_bbox_reviews_predictions", "evalme_bbox_multi", "evalme_gt"])
def test_box_recall_per_label_is_cocoeval_recall(made, name):
    """Per label, eval's recall of boxes equals pycocotools' COCOeval recall at the same IoU. (eval
    reports no AP, and its precision is of the boxes, not COCO's curve; it pairs boxes labels aside,
    so the two could differ where a box's best pair is one of another label: not in these files.)"""
    repo, tasks = made[name]
    (model,) = {_best_prediction(t)["model_version"] for t in tasks}
    got = repo.eval(model=model).controls["label"]["thresholds"]
    for thr, recalls in _coco_recall(tasks, THRESHOLDS).items():
        assert {c: got[str(thr)]["labels"][c]["recall"] for c in recalls} == pytest.approx(recalls, abs=1e-6), thr


def _bio(length: int, regions: list[dict]) -> list[str]:
    tags = ["O"] * length
    for r in sorted(regions, key=lambda r: r["shape"][1]):
        _, start, end = r["shape"]
        assert all(x == "O" for x in tags[start:end]), "nested spans: BIO cannot say them"
        tags[start:end] = [f"B-{r['labels'][0]}"] + [f"I-{r['labels'][0]}"] * (end - start - 1)
    return tags


def test_span_eval_is_seqeval_when_every_pair_is_exact(made):
    """nerine's LLM spans against the annotator's: seqeval's entity-level figures (character
    tags, so its entities are exactly the spans) equal eval's at overlap 0.75, since every span
    eval pairs there has the same start and end (checked here from the file)."""
    repo, tasks = made["ner_predictions_nerine"]
    truth, pred = [], []
    for t in tasks:
        g, q = _regions(_resolved_answer(t)["result"]), _regions(_best_prediction(t)["result"])
        assert all(g[i]["shape"] == q[j]["shape"] for i, j in _greedy(g, q, 0.75))
        truth.append(_bio(len(t["data"]["text"]), g))
        pred.append(_bio(len(t["data"]["text"]), q))
    got = repo.eval(model="llm-preannotation-v1-cleaned").controls["label"]["thresholds"]["0.75"]
    assert _close(got["precision"], seq_precision(truth, pred))
    assert _close(got["recall"], seq_recall(truth, pred))
    assert _close(got["f1"], seq_f1(truth, pred))
    per = seq_f1(truth, pred, average=None)
    labels = sorted({tag[2:] for seq in truth + pred for tag in seq if tag != "O"})
    assert {lab: got["labels"][lab]["f1"] for lab in labels} == pytest.approx(dict(zip(labels, per)), abs=1e-6)


# ---- eval: classification ----

def _resolved_labels(tasks: list[dict], control: str) -> dict[int, str]:
    """docs/loop.md's ground-truth policy from the raw tasks: of each annotator's latest answer, those
    giving the control; a ground-truth answer's label, else the majority, ties to the latest answer's."""
    out = {}
    for i, t in enumerate(tasks):
        latest = {w: a for w, a in latest_answers(t).items()
                  if any(r.get("from_name") == control and r["value"].get("choices") for r in a["result"])}
        if not latest:
            continue

        def label(a: dict) -> str:
            return ", ".join(sorted(next(r["value"]["choices"] for r in a["result"] if r.get("from_name") == control)))

        gt = [a for a in latest.values() if a.get("ground_truth")]
        if gt:
            out[i] = label(max(gt, key=lambda a: (_ts(a), str(a.get("id")))))
            continue
        votes = Counter(label(a) for a in latest.values())
        top = max(votes.values())
        tied = [a for a in latest.values() if votes[label(a)] == top]
        out[i] = label(max(tied, key=lambda a: (_ts(a), str(a.get("id")))))
    return out


def _predicted_labels(tasks: list[dict], control: str, model: str) -> dict[int, str]:
    out = {}
    for i, t in enumerate(tasks):
        mine = [p for p in t.get("predictions", []) if p.get("model_version") == model
                and any(r.get("from_name") == control for r in p["result"])]
        if mine:
            best = max(mine, key=lambda p: p.get("score") or 0)
            out[i] = ", ".join(sorted(next(r["value"]["choices"] for r in best["result"] if r["from_name"] == control)))
    return out


@pytest.mark.parametrize("name,model", [("sentiment", "sentiment-bert-v1"), ("fe_sentiment_two_annotators", "m"),
                                        ("fe_sentiment_two_annotators", "m2"), ("ls_ground_truth_choices", "m"),
                                        ("split_gt", "m"), ("split_gt", "m2")])
def test_classification_eval_is_scikit_learn(made, name, model):
    """Accuracy, per-label precision/recall/F1 and support, macro F1 and the confusion matrix
    against scikit-learn on the tasks with a resolved label and the model's best prediction; the
    tasks labeled and not predicted counted apart. A label never predicted has precision 0/0:
    scikit-learn's 0 (zero_division) is annover's ``None``; its F1 is 0 in both."""
    repo, tasks = made[name]
    truth, pred = _resolved_labels(tasks, "sentiment"), _predicted_labels(tasks, "sentiment", model)
    both = sorted(set(truth) & set(pred))
    y, p = [truth[i] for i in both], [pred[i] for i in both]
    got = repo.eval(model=model).controls["sentiment"]
    assert got["tasks"] == len(both)
    assert got["labeled_not_predicted"] == len(set(truth) - set(pred))
    assert got["predicted_not_labeled"] == len(set(pred) - set(truth))
    assert _close(got["accuracy"], accuracy_score(y, p))
    labels = sorted(set(y) | set(p))
    assert got["confusion"]["labels"] == labels
    assert got["confusion"]["matrix"] == confusion_matrix(y, p, labels=labels).tolist()
    assert _close(got["macro_f1"], f1_score(y, p, average="macro", labels=labels, zero_division=0))
    prec, rec, f1, support = precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    for k, lab in enumerate(labels):
        m = got["labels"][lab]
        assert m["support"] == support[k]
        assert _close(m["recall"], rec[k] if support[k] else None)
        assert _close(m["precision"], prec[k] if lab in p else None)
        assert _close(m["f1"], f1[k]), (lab, m)


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")  # scikit-learn's, of a one-label control
def test_multi_label_eval_is_scikit_learn_multilabel(made):
    """multiturn_chat_choices (12 choices controls, some answers with several labels), a model that
    gives each chat the next one's answers: per control, accuracy is scikit-learn's subset accuracy,
    per-label P/R/F1 and macro F1 its multilabel figures (MultiLabelBinarizer: each label a yes/no
    question), the confusion matrix that of the label sets (``a, b``)."""
    repo, tasks = made["chat"]
    got = repo.eval(model="rot").controls
    controls = sorted({r["from_name"] for t in tasks for r in t["annotations"][0]["result"]})
    assert sorted(got) == controls
    several = 0
    for ctl in controls:
        def sets(results: list[dict]) -> list[str]:
            return sorted(next(r["value"]["choices"] for r in results if r["from_name"] == ctl))
        y = [sets(t["annotations"][0]["result"]) for t in tasks]
        p = [sets(t["predictions"][0]["result"]) for t in tasks]
        several += any(len(x) > 1 for x in y)
        mlb = MultiLabelBinarizer().fit(y + p)
        yb, pb = mlb.transform(y), mlb.transform(p)
        mine = got[ctl]
        assert _close(mine["accuracy"], accuracy_score(yb, pb)), ctl
        assert _close(mine["macro_f1"], f1_score(yb, pb, average="macro", zero_division=0)), ctl
        prec, rec, f1, support = precision_recall_fscore_support(yb, pb, zero_division=0)
        for k, lab in enumerate(mlb.classes_):
            m = mine["labels"][lab]
            assert m["support"] == support[k]
            assert _close(m["precision"], prec[k] if pb[:, k].any() else None)
            assert _close(m["recall"], rec[k] if support[k] else None)
            assert _close(m["f1"], f1[k]), (ctl, lab)
        ys, ps = [", ".join(x) for x in y], [", ".join(x) for x in p]
        labels = sorted(set(ys) | set(ps))
        assert mine["confusion"] == {"labels": labels, "matrix": confusion_matrix(ys, ps, labels=labels).tolist()}
    assert several


def test_two_models_are_scored_on_the_tasks_both_predicted(made):
    """``eval --model m --model m2``: each against scikit-learn on the tasks both predicted, and the
    share of them where the two give the same label."""
    repo, tasks = made["fe_sentiment_two_annotators"]
    truth = _resolved_labels(tasks, "sentiment")
    a, b = _predicted_labels(tasks, "sentiment", "m"), _predicted_labels(tasks, "sentiment", "m2")
    common = sorted(set(a) & set(b))
    got = repo.eval(model="m", against="m2").versions[0]
    assert got["tasks"] == len(common)
    for side, preds in (("a", a), ("b", b)):
        scored = [i for i in common if i in truth]
        acc = accuracy_score([truth[i] for i in scored], [preds[i] for i in scored])
        assert _close(got[side]["controls"]["sentiment"]["accuracy"], acc)
    same = got["agreement"]["sentiment"]
    assert (same["tasks"], same["same"]) == (len(common), sum(a[i] == b[i] for i in common))


# ---- agreement ----

def _ratings(tasks: list[dict], control: str) -> dict[tuple[int, str], str]:
    """(task, annotator) -> label, of each annotator's latest answer where it gives the control."""
    out: dict[tuple[int, str], str] = {}
    for i, t in enumerate(tasks):
        for w, a in latest_answers(t).items():
            labs = [r["value"]["choices"] for r in a["result"] if r.get("from_name") == control]
            if labs and labs[0]:
                out[(i, w)] = ", ".join(sorted(labs[0]))
    return out


@pytest.mark.parametrize("name", ["sentiment", "fe_sentiment_two_annotators", "split"])
def test_classification_agreement_is_the_reference_packages(made, name):
    """Krippendorff's alpha (the ``krippendorff`` package), Fleiss' kappa (statsmodels) and each
    pair's Cohen's kappa (scikit-learn) over the tasks two annotators or more answered; where the
    reference is NaN (every answer the same label) annover says ``None`` with a note."""
    repo, tasks = made[name]
    check_classification_agreement(repo.agreement().controls["sentiment"], _ratings(tasks, "sentiment"))


def check_classification_agreement(got: dict, ratings: dict[tuple[int, str], str]) -> None:
    """A control's agreement (``got``) against the reference packages, from its ratings ((task,
    annotator) -> label). statsmodels' Fleiss' kappa takes the same number of raters on every task:
    where they differ, Fleiss 1971's formula with each task's own number of raters is."""
    people = sorted({w for _, w in ratings})
    units = sorted({i for i, _ in ratings if sum(1 for j, _ in ratings if j == i) >= 2})
    cats = sorted(set(ratings.values()))
    reliability = np.array([[cats.index(ratings[(u, w)]) if (u, w) in ratings else np.nan for u in units]
                            for w in people], dtype=float)
    alpha = krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal") \
        if len(set(reliability[~np.isnan(reliability)])) > 1 else float("nan")
    table = np.array([[sum(1 for w in people if ratings.get((u, w)) == c) for c in cats] for u in units])
    wanted = [("krippendorff_alpha", alpha)]
    with np.errstate(invalid="ignore", divide="ignore"):
        if len(set(table.sum(1))) < 2:
            wanted.append(("fleiss_kappa", sm_fleiss(table) if len(units) else float("nan")))
        else:  # docs/loop.md: each task's agreement over its own raters (Fleiss 1971 with n_i for n)
            n_i = table.sum(1)
            p_bar = np.mean((table * (table - 1)).sum(1) / (n_i * (n_i - 1)))
            p_e = float(((table.sum(0) / table.sum()) ** 2).sum())
            wanted.append(("fleiss_kappa", (p_bar - p_e) / (1 - p_e)))
    for key, want in wanted:
        assert got[key]["n"] == len(units)
        assert (got[key]["value"] is None) == bool(np.isnan(want)), (key, got[key], want)
        if not np.isnan(want):
            assert got[key]["value"] == pytest.approx(want, abs=1e-6), key
    for lab in cats:  # per label: "is L the label?", a yes/no question
        yes = np.where(np.isnan(reliability), np.nan, reliability == cats.index(lab))
        binary = krippendorff.alpha(reliability_data=yes, level_of_measurement="nominal") \
            if len(set(yes[~np.isnan(yes)])) > 1 else float("nan")
        mine = got["labels"][lab]["krippendorff_alpha"]
        assert (mine["value"] is None) == bool(np.isnan(binary)), (lab, mine, binary)
        if not np.isnan(binary):
            assert mine["value"] == pytest.approx(binary, abs=1e-6), lab
    pairs = {tuple(sorted((p["a"], p["b"]))): p for p in got["pairs"]}
    for x, y in itertools.combinations(people, 2):
        shared = [u for u in units if (u, x) in ratings and (u, y) in ratings]
        assert bool(shared) == ((x, y) in pairs), (x, y)  # a pair with no task in common is not listed
        if not shared:
            continue
        pair = pairs[(x, y)]
        with warnings.catch_warnings():  # one label only: scikit-learn warns, and says NaN
            warnings.simplefilter("ignore")
            kappa = cohen_kappa_score([ratings[(u, x)] for u in shared], [ratings[(u, y)] for u in shared])
        assert pair["cohen_kappa"]["n"] == len(shared)
        if np.isnan(kappa):
            assert pair["cohen_kappa"]["value"] is None
        else:
            assert pair["cohen_kappa"]["value"] == pytest.approx(kappa, abs=1e-6)


def test_region_agreement_is_pairwise_f1_of_the_greedy_match(made):
    """evalme_bbox_multi, three annotators on each image: F1 = 2·paired with the same labels /
    (regions of one + of the other) per pair, pooled over pairs for the control, and per label."""
    repo, tasks = made["evalme_bbox_multi"]
    check_region_agreement(repo.agreement().controls["label"], tasks)


def check_region_agreement(got: dict, tasks: list[dict]) -> None:
    """A region control's agreement (``got``) against the greedy match of each annotator's latest
    answer's regions (an answer with none drew none), pair by pair."""
    pooled = [0, 0, 0, 0]  # same labels, paired at all, regions of one, of the other
    per_label: dict[str, list[int]] = {}
    per_pair: dict[tuple[str, str], list[int]] = {}
    for t in tasks:
        mine = {w: _regions(a["result"]) for w, a in latest_answers(t).items()}
        for x, y in itertools.combinations(sorted(mine), 2):
            ga, gb = mine[x], mine[y]
            pairs = _greedy(ga, gb, 0.5)
            same = sum(ga[i]["labels"] == gb[j]["labels"] for i, j in pairs)
            for k, v in enumerate((same, len(pairs), len(ga), len(gb))):
                pooled[k] += v
            c = per_pair.setdefault((x, y), [0, 0, 0])
            c[0], c[1], c[2] = c[0] + same, c[1] + len(ga), c[2] + len(gb)
            for lab in {lab for r in ga + gb for lab in r["labels"]}:
                v = per_label.setdefault(lab, [0, 0, 0])
                v[0] += sum(1 for i, j in pairs if ga[i]["labels"] == gb[j]["labels"] and lab in ga[i]["labels"])
                v[1] += sum(lab in r["labels"] for r in ga)
                v[2] += sum(lab in r["labels"] for r in gb)
    assert got["f1"]["value"] == pytest.approx(2 * pooled[0] / (pooled[2] + pooled[3]), abs=1e-6)
    assert got["f1_any_label"]["value"] == pytest.approx(2 * pooled[1] / (pooled[2] + pooled[3]), abs=1e-6)
    for lab, (same, a, b) in per_label.items():
        assert got["labels"][lab]["f1"]["value"] == pytest.approx(2 * same / (a + b), abs=1e-6), lab
    pairs = {tuple(sorted((p["a"], p["b"]))): p for p in got["pairs"]}
    for (x, y), (same, a, b) in per_pair.items():
        assert pairs[(x, y)]["f1"]["value"] == pytest.approx(2 * same / (a + b), abs=1e-6), (x, y)


# ---- suspects ----

def test_missed_regions_are_those_the_resolved_answer_lacks(made):
    """``missed``: a predicted box scored at least 0.9 that pairs with no box of the task's resolved
    answer (the latest). On evalme_empty the latest answer of the first image has no box, so all
    six predicted boxes there are missed; before, they were paired with an earlier answer's boxes
    (that answer was taken as the resolved one, having boxes) and three of them were not."""
    for name in ("evalme_bbox_multi", "evalme_empty"):
        repo, tasks = made[name]
        want = Counter()
        for t in tasks:
            a, p = _resolved_answer(t), _best_prediction(t)
            q = [r for r in _regions(p["result"]) if (r["score"] if r["score"] is not None else p["score"]) >= 0.9]
            g = _regions(a["result"])
            paired = {j for _, j in _greedy(g, q, 0.5)}
            want[t["id"]] += sum(1 for j in range(len(q)) if j not in paired)
        got = [it for it in repo.suspects(threshold=0.9).items
               if any(r["kind"] == "missed" for r in it["reasons"])]
        assert len(got) == sum(want.values()), name
        if name == "evalme_empty":
            assert want[tasks[0]["id"]] == len(_regions(_best_prediction(tasks[0])["result"])) == 6


@pytest.mark.parametrize("name", ["evalme_bbox_multi", "evalme_empty"])
def test_region_majority_reason_is_the_pairwise_match(made, name):
    """``majority`` of a region: of the task's other annotators (two or more), a strict majority
    have no region paired with it or one of other labels; weight their share. Each pair of
    annotators is matched as agreement matches them (greedy, IoU >= 0.5, labels aside)."""
    repo, tasks = made[name]
    want = region_majority_weights(tasks)
    got = Counter(round(r["weight"], 6) for it in repo.suspects().items for r in it["reasons"]
                  if r["kind"] == "majority")
    assert got == want and sum(want.values()) > 10


def region_majority_weights(tasks: list[dict]) -> Counter:
    """The weights of the region ``majority`` reasons (each how many times), from each annotator's
    latest answer's regions."""
    want = Counter()
    for t in tasks:
        mine = {w: _regions(a["result"]) for w, a in latest_answers(t).items()}
        if len(mine) < 3:
            continue
        seen: dict[tuple[str, int], dict[str, tuple]] = {}
        for x, y in itertools.combinations(sorted(mine), 2):
            for i, j in _greedy(mine[x], mine[y], 0.5):
                seen.setdefault((x, i), {})[y] = mine[y][j]["labels"]
                seen.setdefault((y, j), {})[x] = mine[x][i]["labels"]
        others = len(mine) - 1
        for w, regions in mine.items():
            for i, r in enumerate(regions):
                paired = seen.get((w, i), {})
                dissent = others - len(paired) + sum(labels != r["labels"] for labels in paired.values())
                if dissent * 2 > others:
                    want[round(dissent / others, 6)] += 1
    return want


def test_changed_reason_is_the_same_answers_labels_before(made):
    """``changed`` (weight 0.5): a label, or a region's labels, differing from the same answer's (the
    same region's) in the parent version: the sample rounds' one relabeled review, and the two boxes
    relabeled in evalme's review (the emptied answer's boxes are gone, not changed)."""
    for name, before in (("sentiment", _load(EXAMPLES / "round1.json")),
                         ("evalme_empty", _load(LS / "evalme_bbox_multi.json"))):
        repo, after = made[name]

        def labels(tasks: list[dict]) -> dict[tuple, list[str]]:
            return {(t["id"], a["id"], r["id"]): sorted(r["value"].get("choices") or r["value"].get("labels")
                                                        or r["value"].get("rectanglelabels") or [])
                    for t in tasks for a in latest_answers(t).values() for r in a["result"]}

        old, new = labels(before), labels(after)
        want = sorted(k for k in new if k in old and old[k] != new[k])
        got = [r for it in repo.suspects().items for r in it["reasons"] if r["kind"] == "changed"]
        assert len(got) == len(want) == {"sentiment": 1, "evalme_empty": 2}[name]
        assert {r["weight"] for r in got} == {0.5}


@pytest.mark.parametrize("name", ["sentiment", "split"])
def test_split_and_model_reasons(made, name):
    """``model``: the resolved label differs from a prediction scored >= 0.9 (weight the score);
    ``split``: no label leads (weight the share of the answers that do not give the taken one).
    The sentiment rounds have two of the first and none of the second; fe_sentiment with its two
    annotators disagreeing on task 1 has one split."""
    repo, tasks = made[name]
    truth = _resolved_labels(tasks, "sentiment")
    pred = {i: (p["result"][0]["value"]["choices"][0], p["score"]) for i, t in enumerate(tasks)
            for p in t.get("predictions", []) if p["result"]}
    want_model = {i: s for i, (lab, s) in pred.items() if i in truth and s >= 0.9 and truth[i] != lab}
    ratings = _ratings(tasks, "sentiment")
    want_split = {}
    for i in truth:
        votes = Counter(v for (j, _), v in ratings.items() if j == i)
        top = max(votes.values())
        gt = any(a.get("ground_truth") for a in _answers(tasks[i]))
        if sum(1 for v in votes.values() if v == top) > 1 and not gt:
            want_split[i] = 1 - votes[truth[i]] / sum(votes.values())
    assert (len(want_model), len(want_split)) == {"sentiment": (2, 0), "split": (0, 1)}[name]
    items = [it for it in repo.suspects(threshold=0.9).items if it["control"] == "sentiment"]
    got = [{r["kind"]: r["weight"] for r in it["reasons"]} for it in items]
    assert sorted(v["model"] for v in got if "model" in v) == pytest.approx(sorted(want_model.values()))
    assert sorted(v["split"] for v in got if "split" in v) == pytest.approx(sorted(want_split.values()))


# ---- sample ----

def _tie(seed: int, key: str) -> str:
    """docs/loop.md: ties go by sha256 of the seed and the task key."""
    return hashlib.sha256(f"{seed}\0{key}".encode()).hexdigest()


def test_uncertainty_sample_is_lowest_score_first(made):
    """``sample --strategy uncertainty`` on the second round with every other task's answers taken
    out: the unlabeled tasks with a prediction (a skip is not an answer), lowest score first,
    ties by sha256 of the seed and the key."""
    repo, tasks = made["sentiment_open"]
    cands = {t["data"]["ext_id"]: max(p["score"] for p in t["predictions"]) for t in tasks
             if t["predictions"] and not _answers(t)}
    got = repo.sample(strategy="uncertainty", n=len(tasks), seed=3, record=False)
    assert got.candidates == len(cands) > 10
    assert got.keys == sorted(cands, key=lambda k: (cands[k], _tie(3, k)))
    assert got.scores == pytest.approx([cands[k] for k in got.keys])


def test_margin_and_rare_labels_samples(made):
    """``margin``: with one prediction a task's gap is 2·score − 1, smallest first; ``rare-labels``:
    the unlabeled tasks whose predicted label has the fewest resolved labels in the version first."""
    repo, tasks = made["sentiment_open"]
    open_ = {t["data"]["ext_id"]: t["predictions"] for t in tasks if t["predictions"] and not _answers(t)}
    assert all(len(p) == 1 for p in open_.values())
    margin = {k: 2 * p[0]["score"] - 1 for k, p in open_.items()}
    got = repo.sample(strategy="margin", n=len(tasks), seed=1, record=False)
    assert got.keys == sorted(margin, key=lambda k: (margin[k], _tie(1, k)))
    assert got.scores == pytest.approx([margin[k] for k in got.keys])
    resolved = Counter(_resolved_labels(tasks, "sentiment").values())
    rare = {k: resolved[p[0]["result"][0]["value"]["choices"][0]] for k, p in open_.items()}
    got = repo.sample(strategy="rare-labels", n=len(tasks), seed=1, record=False)
    assert got.keys == sorted(rare, key=lambda k: (rare[k], _tie(1, k)))
    assert got.scores == [rare[k] for k in got.keys]


def test_disagreement_sample_is_entropy_first(made):
    """``sample --strategy disagreement`` on the second round: the labeled tasks whose annotators
    disagree or whose resolved label the model contradicts; score the entropy (nats) of the
    annotators' labels plus 0.001 where the model contradicts; highest first, ties by the hash."""
    repo, tasks = made["sentiment"]
    truth, pred = _resolved_labels(tasks, "sentiment"), _predicted_labels(tasks, "sentiment", "sentiment-bert-v1")
    ratings = _ratings(tasks, "sentiment")
    want = {}
    for i in truth:
        votes = Counter(v for (j, _), v in ratings.items() if j == i)
        m = sum(votes.values())
        score = -sum(k / m * math.log(k / m) for k in votes.values()) + (0.001 if i in pred and pred[i] != truth[i]
                                                                         else 0)
        if score > 0:
            want[tasks[i]["data"]["ext_id"]] = score
    assert len(want) >= 3
    got = repo.sample(strategy="disagreement", n=len(tasks), seed=5, record=False)
    assert got.keys == sorted(want, key=lambda k: (-want[k], _tie(5, k)))
    assert got.scores == pytest.approx([want[k] for k in got.keys])


# ---- drift ----

def _check_drift(entry: dict, a: Counter, b: Counter, labels: list[str]) -> None:
    assert entry["a"] == [a[x] for x in labels] and entry["b"] == [b[x] for x in labels]
    if not sum(a.values()) or not sum(b.values()):  # scipy: a zero expected count; annover: null and a note
        assert entry["chi_square"]["statistic"] is None and entry["jensen_shannon"] is None
        return
    used = [x for x in labels if a[x] + b[x]]  # a label neither side used is left out of the test
    stat, p, dof, _ = chi2_contingency(np.array([[a[x] for x in used], [b[x] for x in used]]), correction=False)
    assert entry["chi_square"]["statistic"] == pytest.approx(stat, abs=1e-5)
    assert entry["chi_square"]["dof"] == dof
    assert entry["chi_square"]["p_value"] == pytest.approx(p, abs=1e-5)
    js = jensenshannon([a[x] for x in labels], [b[x] for x in labels], base=2) ** 2
    assert entry["jensen_shannon"] == pytest.approx(js, abs=1e-5)


def test_drift_is_scipy_on_the_two_rounds_label_counts(made):
    """Drift between the sample dataset's two rounds: per control and per annotator, the label
    counts (regions per label, skips left out), scipy's chi2_contingency (no correction) and
    jensenshannon (base 2, squared)."""
    repo, r2 = made["sentiment"]
    r1 = _load(EXAMPLES / "round1.json")
    got = diff_drift(repo, "v1", "v2")["controls"]
    for control in ("sentiment", "entities"):
        a, b = _label_counts(r1).get(control, Counter()), _label_counts(r2).get(control, Counter())
        labels = sorted(set(a) | set(b))
        assert got[control]["labels"] == labels
        _check_drift(got[control], a, b, labels)
        for who, entry in got[control]["annotators"].items():
            _check_drift(entry, _label_counts(r1, who).get(control, Counter()),
                         _label_counts(r2, who).get(control, Counter()), entry["labels"])
    assert len(got["sentiment"]["annotators"]) == 2


def _label_counts(tasks: list[dict], who: str | None = None) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for t in tasks:
        for a in _answers(t):
            if who is not None and _who(a) != who:
                continue
            for r in a["result"]:
                v = r["value"]
                for lab in v.get("choices") or v.get("labels") or []:
                    out.setdefault(r["from_name"], Counter())[lab] += 1
    return out


# ---- text answers ----

def test_text_answers_are_not_measured_and_sample_says_what_they_are(made):
    """Text answers (TextArea) carry no label: eval, agreement and suspects measure nothing of them
    (docs/loop.md), empty or not. ``sample --strategy uncertainty`` refuses the version; it said
    its answers were "only regions of answer (spans, boxes)", which a text answer is not."""
    repo, tasks = made["llm"]
    assert all(r["type"] == "textarea" for t in tasks for a in t["annotations"] for r in a["result"])
    res = repo.eval(model="llm")
    assert res.controls == {} and res.notes == ["no control has both labels and predictions of this model"]
    assert repo.agreement().controls == {}
    assert repo.suspects().total == 0
    with pytest.raises(annover.errors.UsageError) as e:
        repo.sample(strategy="uncertainty", n=2, record=False)
    assert "results with no label of answer (text answers, numbers)" in str(e.value)
    assert "regions" not in str(e.value)


# ---- report ----

def _page_text(repo: annover.Repo, out: Path) -> str:
    """The report's words, tags and charts left out, cells parted by ' | '."""
    repo.report(out=str(out), force=True)
    page = re.sub(r"<svg.*?</svg>|<style.*?</style>", "", out.read_text(), flags=re.S)
    cells = (html.unescape(c).strip() for c in re.split(r"<[^>]+>", page))
    return " | ".join(c for c in cells if c)


def test_report_prints_the_reference_figures(made, tmp_path):
    """The report's model section: the accuracy, macro F1 and per-label rows of the sentiment rounds
    (scikit-learn), and the matched-region rows of evalme_bbox_multi (the greedy match), as printed."""
    repo, tasks = made["sentiment"]
    truth, pred = _resolved_labels(tasks, "sentiment"), _predicted_labels(tasks, "sentiment", "sentiment-bert-v1")
    both = sorted(set(truth) & set(pred))
    y, p = [truth[i] for i in both], [pred[i] for i in both]
    text = _page_text(repo, tmp_path / "sentiment.html")
    assert (f"sentiment: accuracy {accuracy_score(y, p):.3f} on {len(both)} task(s), "
            f"macro F1 {f1_score(y, p, average='macro', zero_division=0):.3f}") in text
    labels = sorted(set(y) | set(p))
    prec, rec, f1, support = precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    for k, lab in enumerate(labels):
        assert f"| {lab} | {prec[k]:.3f} | {rec[k]:.3f} | {f1[k]:.3f} | {support[k]} |" in text, lab
    repo, tasks = made["evalme_bbox_multi"]
    text = _page_text(repo, tmp_path / "boxes.html")
    for thr in THRESHOLDS:
        want = _region_reference(tasks, thr)["all"]
        n_true = sum(len(_regions(_resolved_answer(t)["result"])) for t in tasks)
        assert f"| {thr} | {want[0]:.3f} | {want[1]:.3f} | {want[2]:.3f} | {n_true} |" in text, thr


# ---- the commands' text ----

def test_eval_and_agreement_text_print_the_reference_figures(made, monkeypatch):
    """What ``annover eval`` and ``annover agreement`` print for evalme_bbox_multi and nerine: the
    greedy match's figures, three decimals."""
    for name in ("evalme_bbox_multi", "ner_predictions_nerine"):
        repo, tasks = made[name]
        monkeypatch.chdir(repo.root)
        code, out, err = invoke("eval", "HEAD")
        assert code == 0, err
        for thr in THRESHOLDS:
            p, r, f = _region_reference(tasks, thr)["all"]
            assert f"  at {thr}: precision {p:.3f}, recall {r:.3f}, F1 {f:.3f}" in out.splitlines(), (name, out)
    repo, tasks = made["evalme_bbox_multi"]
    monkeypatch.chdir(repo.root)
    code, out, err = invoke("agreement", "HEAD")
    assert code == 0, err
    same = regions = 0
    for t in tasks:
        mine = [_regions(a["result"]) for a in latest_answers(t).values()]
        for ga, gb in itertools.combinations(mine, 2):
            same += sum(ga[i]["labels"] == gb[j]["labels"] for i, j in _greedy(ga, gb, 0.5))
            regions += len(ga) + len(gb)
    assert f"  F1 {2 * same / regions:.3f} (n={len(tasks)}); ignoring labels" in out, out
