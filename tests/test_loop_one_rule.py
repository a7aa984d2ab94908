"""One rule for who said what (docs/loop.md): an annotator's answer on a task is their latest one,
skips aside. An annotator who answers a task again and this time gives no box, or no choice for a
control, has withdrawn what the earlier answer gave: agreement, suspects and eval read nothing of it.

They did: classification ratings came from each annotator's latest answer *that gives the control*
and region agreement and suspects from their latest answer *that has regions*, so the withdrawn
labels were counted (and a withdrawn ground-truth answer still won the task's label).

The inputs are corpus projects relabeled here: evalme_bbox_multi (three annotators' boxes), where
annotator2 answers image 0 again with no box, annotator3 answers image 2 again with half of their
boxes (their earlier answer there marked ground truth) and annotator1 skips image 3 after
answering it; and multiturn_chat_choices (12 choices controls) answered by four annotators, the
fourth answering chat 0 again with nothing (their earlier answer there marked ground truth) and
chat 1 again with the first turn's choices only, the second skipping chat 2 after answering it.
Every expected figure comes from the raw file here (the reference packages of
tests/test_loop_references.py).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import Counter

import pytest
from sklearn.metrics import accuracy_score, confusion_matrix

import annover
from annover.loop import api

from .conftest import shared_corpus
from .test_cli import invoke
from .test_loop_references import (THRESHOLDS, _close, _load, _ratings, _region_reference, _resolved_labels,
                                   _who, check_classification_agreement, check_region_agreement, latest_answers,
                                   region_majority_weights)

LS = shared_corpus("label-studio")
pytestmark = pytest.mark.skipif(not (LS / "multiturn_chat_choices.json").is_file(),
                                reason=f"the shared corpus is not here ({LS})")
LATER = "2030-01-01T00:00:{:02d}Z"  # after every answer of the corpus files


def _again(answer: dict, n: int, result: list[dict], **fields) -> dict:
    """The same annotator's answer given again, later (``n``: its id and second)."""
    out = copy.deepcopy(answer)
    out.update({"id": 90000 + n, "result": copy.deepcopy(result), "created_at": LATER.format(n),
                "updated_at": LATER.format(n), "ground_truth": False, "was_cancelled": False, **fields})
    return out


def _person(n: int) -> dict:
    return {"id": n, "email": f"annotator{n}@example.com"}


def _boxes() -> list[dict]:
    tasks = _load(LS / "evalme_bbox_multi.json")
    by = [{_who(a): a for a in t["annotations"]} for t in tasks]
    a2, a3, a1 = by[0]["annotator2@example.com"], by[2]["annotator3@example.com"], by[3]["annotator1@example.com"]
    tasks[0]["annotations"].append(_again(a2, 1, []))
    a3["ground_truth"] = True
    tasks[2]["annotations"].append(_again(a3, 2, a3["result"][: len(a3["result"]) // 2]))
    tasks[3]["annotations"].append(_again(a1, 3, [], was_cancelled=True))
    return tasks


def _chats() -> list[dict]:
    tasks = _load(LS / "multiturn_chat_choices.json")
    said = [t["annotations"][0]["result"] for t in tasks]
    for i, t in enumerate(tasks):
        first = t["annotations"][0]
        first["completed_by"] = _person(1)
        t["annotations"] += [_again(first, 10 + 10 * i + k, said[(i + k) % 3], completed_by=_person(k + 1))
                             for k in (1, 2)]
        # a model that gives each chat its first annotator's answers
        t["predictions"] = [{"id": i + 1, "model_version": "m", "score": 0.7, "result": copy.deepcopy(said[i])}]
    fourth = [_again(tasks[i]["annotations"][0], 40 + i, said[(i + 1) % 3], completed_by=_person(4))
              for i in (0, 1)]
    fourth[0]["ground_truth"] = True
    for i, answer in enumerate(fourth):
        tasks[i]["annotations"].append(answer)
    tasks[0]["annotations"].append(_again(fourth[0], 50, []))
    tasks[1]["annotations"].append(_again(fourth[1], 51, [r for r in fourth[1]["result"]
                                                         if r["from_name"].startswith("turn1_")]))
    tasks[2]["annotations"].append(_again(tasks[2]["annotations"][1], 52, [], was_cancelled=True))
    return tasks


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """name -> (repo, raw tasks) of the two relabeled projects."""
    base = tmp_path_factory.mktemp("one_rule")
    out: dict[str, tuple[annover.Repo, list[dict]]] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOVER_REMOTE_HOME", str(base / "remotes"))
        mp.setenv("ANNOVER_CACHE_DIR", str(base / "cache"))
        for name, tasks, config in (("boxes", _boxes(), "evalme_bbox_multi.xml"),
                                    ("chats", _chats(), "multiturn_chat_choices.xml")):
            (base / f"{name}.json").write_text(json.dumps(tasks))
            repo = annover.init(base / name)
            repo.snapshot(str(base / f"{name}.json"), config=str(LS / config), message=name)
            out[name] = (repo, tasks)
        yield out


def _controls(tasks: list[dict]) -> list[str]:
    return sorted({r["from_name"] for t in tasks for a in t["annotations"] for r in a["result"]})


def test_the_inputs_relabel_as_described(made):
    """The premise, read from the raw files: who answered what last."""
    _, chats = made["chats"]
    last = [latest_answers(t) for t in chats]
    assert [sorted(x) for x in last] == [[f"annotator{k}@example.com" for k in ks] for ks in ("1234", "1234", "123")]
    assert last[0]["annotator4@example.com"]["result"] == [] and chats[0]["annotations"][3]["ground_truth"]
    assert len(chats[2]["annotations"]) == 4  # annotator2's skip there is not an answer
    assert {r["from_name"][:6] for r in last[1]["annotator4@example.com"]["result"]} == {"turn1_"}
    _, boxes = made["boxes"]
    assert latest_answers(boxes[0])["annotator2@example.com"]["result"] == []
    assert not latest_answers(boxes[2])["annotator3@example.com"]["ground_truth"]


def test_classification_agreement_reads_each_annotators_latest_answer(made):
    """Per control, Krippendorff's alpha, Fleiss' kappa (statsmodels, on the controls every task of
    which has the same raters: turn2 and turn3's) and each pair's Cohen's kappa over each annotator's
    latest answer. Annotator4 withdrew every label of chat 0 and the second and third turns' of chat
    1: on those controls they rate no task, and pair with no one."""
    repo, tasks = made["chats"]
    got = repo.agreement().controls
    controls = _controls(tasks)
    assert sorted(got) == controls
    single = [c for c in controls if all(len(v.split(", ")) == 1 for v in _ratings(tasks, c).values())]
    assert len(single) >= 6
    for ctl in single:
        ratings = _ratings(tasks, ctl)
        check_classification_agreement(got[ctl], ratings)
        raters = Counter(i for i, _ in ratings)
        assert raters == ({0: 3, 1: 4, 2: 3} if ctl.startswith("turn1_") else {0: 3, 1: 3, 2: 3}), ctl
    assert all(p["b"] != "annotator4@example.com" for p in got["turn2_user_intent"]["pairs"])


def test_classification_eval_and_suspects_read_each_annotators_latest_answer(made):
    """eval's accuracy and confusion matrix (scikit-learn) against the labels resolved from each
    annotator's latest answer: chat 0's ground-truth answer was replaced by one with no label, so
    the majority decides there. The ``majority`` reason: a label a strict majority of two or more
    others contradicts, weight their share."""
    repo, tasks = made["chats"]
    got = repo.eval(model="m").controls
    suspects = repo.suspects().items
    for ctl in _controls(tasks):
        truth = _resolved_labels(tasks, ctl)
        pred = {i: ", ".join(sorted(next(r["value"]["choices"] for r in t["predictions"][0]["result"]
                                         if r["from_name"] == ctl))) for i, t in enumerate(tasks)}
        y, p = [truth[i] for i in sorted(truth)], [pred[i] for i in sorted(truth)]
        labels = sorted(set(y) | set(p))
        assert _close(got[ctl]["accuracy"], accuracy_score(y, p)), ctl
        assert got[ctl]["confusion"]["matrix"] == confusion_matrix(y, p, labels=labels).tolist(), ctl
        want = Counter()
        ratings = _ratings(tasks, ctl)
        for (i, w), lab in ratings.items():
            others = Counter(v for (j, x), v in ratings.items() if j == i and x != w)
            n = sum(others.values())
            top, votes = max(others.items(), key=lambda kv: kv[1]) if others else (None, 0)
            if n >= 2 and votes * 2 > n and top != lab:
                want[(w, round(votes / n, 6))] += 1
        mine = Counter((r["annotator"], r["weight"]) for it in suspects if it["control"] == ctl
                       for r in it["reasons"] if r["kind"] == "majority")
        assert mine == want, ctl


def test_region_agreement_and_majority_read_each_annotators_latest_answer(made):
    """Region F1 per pair, label and control (the greedy match at IoU 0.5), and the region
    ``majority`` weights, from each annotator's latest answer: annotator2's on image 0 has no box
    (they drew none there, though their earlier answer drew six), annotator3's on image 2 half of
    their boxes; annotator1's skip of image 3 leaves their answer there standing."""
    repo, tasks = made["boxes"]
    check_region_agreement(repo.agreement().controls["label"], tasks)
    got = Counter(round(r["weight"], 6) for it in repo.suspects().items for r in it["reasons"]
                  if r["kind"] == "majority")
    assert got == region_majority_weights(tasks)


def test_region_eval_scores_the_latest_of_the_annotators_answers(made):
    """eval's matched boxes against the resolved answer: a ground-truth one of the annotators' latest
    answers, else the latest. Annotator3's ground-truth answer on image 2 was replaced by their later
    answer (not marked), which is then the latest."""
    repo, tasks = made["boxes"]
    got = repo.eval(model="1").controls["label"]["thresholds"]
    for thr in THRESHOLDS:
        want = _region_reference(tasks, thr)["all"]
        mine = got[str(thr)]
        assert all(_close(g, w) for g, w in zip((mine["precision"], mine["recall"], mine["f1"]), want)), (thr, mine)


def test_the_reports_history_does_not_read_an_agreement_the_earlier_rule_cached(made, tmp_path, monkeypatch):
    """The report's history keeps each version's agreement in the per-user cache, named by the
    version's annotations and its config's labels: an entry an annover of the earlier rule wrote
    (format 1) would have been read as this version's figure. Its format is now 2."""
    repo, _ = made["boxes"]
    monkeypatch.setenv("ANNOVER_CACHE_DIR", str(tmp_path))
    v = repo.show("HEAD")
    labels = api.config_labels(repo, v)
    sid = v.record["tables"]["annotations"]["id"]
    stale = tmp_path / "agreement" / (hashlib.sha256(json.dumps([1, sid, labels], sort_keys=True).encode())
                                      .hexdigest() + ".json")
    stale.parent.mkdir()
    stale.write_text(json.dumps({"format": 1, "controls": {"label": 0.125}}))
    assert api.history_agreement(repo, v) == api.headline(repo.agreement().to_json())


def test_agreement_of_a_range_says_why_a_version_has_no_figure(made, tmp_path, monkeypatch):
    """``agreement A..B``: a version whose answers are all skips printed its name and nothing else."""
    _, tasks = made["chats"]
    skipped = copy.deepcopy(tasks)
    for t in skipped:
        for a in t["annotations"]:
            a["was_cancelled"] = True
    monkeypatch.setenv("ANNOVER_REMOTE_HOME", str(tmp_path / "remotes"))
    repo = annover.init(tmp_path / "repo")
    for name, data in (("chats", tasks), ("skipped", skipped)):
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
        repo.snapshot(str(tmp_path / f"{name}.json"), config=str(LS / "multiturn_chat_choices.xml"), message=name)
    monkeypatch.chdir(repo.root)
    code, out, err = invoke("agreement", "HEAD~1..HEAD")
    assert code == 0, err
    last = out.splitlines()[-1]
    assert last.split()[1:] == ["no", "control", "with", "labels", "(0", "annotator(s)", "answered)"], out
