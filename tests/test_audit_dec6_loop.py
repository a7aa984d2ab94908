"""Fresh-eyes audit of the labeling loop (Dec 6) against a real Label Studio, on data other people wrote.

Each test is one thing a new user met while running the loop as the README tells it: a dataset
created from a corpus config, tasks pushed with a model's predictions, answers given through the
API by the admin and annotator2, pulled into versions, then eval, suspects, sample. The numbers
are worked out by hand from what was put in.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from label_studio_sdk import LabelStudio

import annover

from .conftest import shared_corpus
from .ls_fixtures import choice, cli, ls_server  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio

CORPUS = shared_corpus("label-studio")


def _env(mp: pytest.MonkeyPatch, d: Path) -> None:
    for k, v in {"ANNOVER_REMOTE_HOME": str(d / "remotes"), "ANNOVER_CACHE_DIR": str(d / "cache"),
                 "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.com",
                 "GIT_COMMITTER_NAME": "Test Author", "GIT_COMMITTER_EMAIL": "author@example.com"}.items():
        mp.setenv(k, v)


def _ok(*args: str) -> str:
    code, out, err = cli(*args)
    assert code == 0, (args, err)
    return out


@pytest.fixture
def boxes(ls_server, tmp_path, monkeypatch) -> Iterator[dict[str, Any]]:  # noqa: F811
    """evalme_bbox_multi (5 highway images, a model's boxes on each) snapshotted as v1, sent to a
    fresh project with the model's boxes as pre-annotations; the admin accepts them on two images
    as they are, and on a third with its first box relabeled; pulled as v2 (3 of 5 labeled)."""
    _env(monkeypatch, tmp_path)
    repo = annover.init(tmp_path / "repo")
    monkeypatch.chdir(repo.root)
    title = f"t-{uuid.uuid4().hex[:8]}-boxes"
    admin = LabelStudio(base_url=ls_server.url, api_key=ls_server.api_key, timeout=300)
    _ok("snapshot", "--from", str(CORPUS / "evalme_bbox_multi.json"), "--config",
        str(CORPUS / "evalme_bbox_multi.xml"), "-m", "the export")
    pid = int(_ok("dataset", "create", title, "--config", "v1").split()[0])
    try:
        _ok("dataset", "push", title, "--from", "v1", "--predictions", "v1")
        accepted = []
        for i, task in enumerate(sorted(admin.tasks.list(project=pid), key=lambda t: t.id)[:3]):
            pred = admin.predictions.list(task=task.id)[0]
            result = copy.deepcopy(pred.result)
            if i == 2:
                other = next(x for x in ("Car", "Obstacle") if x != result[0]["value"]["rectanglelabels"][0])
                result[0]["value"]["rectanglelabels"] = [other]
            admin.annotations.create(id=task.id, result=result)
            accepted.append(len(result))
        _ok("snapshot", "--label-studio", title, "-m", "bootstrapped from the model")
        yield {"repo": repo, "accepted": accepted}
    finally:
        admin.projects.delete(id=pid)


def test_region_eval_leaves_out_tasks_nobody_labeled(boxes):
    """``annover eval`` of a version where the model predicted all 5 images and 3 are labeled
    counted the boxes predicted on the 2 unlabeled images as false positives (precision 15/30 =
    0.500 where it is 15/17): an image nobody answered has no labels to be wrong against, as a
    classification task predicted and not labeled is left out. It is now left out and counted
    in the text ("not scored: 2 task(s) predicted, not labeled") and in --json."""
    n = sum(boxes["accepted"])  # the admin's boxes: the model's, one of them relabeled
    code, out, err = cli("eval", "v2")
    assert code == 0, err
    assert f"label: matched regions on 3 task(s)\n  not scored: 2 task(s) predicted, not labeled\n" in out, out
    doc = json.loads(_ok("eval", "v2", "--json"))["controls"]["label"]
    assert (doc["tasks"], doc["predicted_not_labeled"]) == (3, 2)
    for t in ("0.5", "0.75"):
        x = doc["thresholds"][t]
        assert (x["matched"], x["precision"], x["recall"]) == (n - 1, round((n - 1) / n, 6), round((n - 1) / n, 6))


@pytest.fixture
def reviews(ls_server, tmp_path, monkeypatch) -> Iterator[dict[str, Any]]:  # noqa: F811
    """The corpus' sentiment config; four reviews of fe_sentiment_two_annotators and
    ls_ground_truth_choices pushed with sent-v1's predictions; the admin and annotator2 answer."""
    if not ls_server.annotator2_key:
        pytest.skip("the Label Studio server gives no second annotator's key")
    _env(monkeypatch, tmp_path)
    repo = annover.init(tmp_path / "repo")
    monkeypatch.chdir(repo.root)
    texts = [t["data"]["reviewText"] for t in json.loads((CORPUS / "fe_sentiment_two_annotators.json").read_text())]
    texts += [t["data"]["text"] for t in json.loads((CORPUS / "ls_ground_truth_choices.json").read_text())][:1]
    title = f"t-{uuid.uuid4().hex[:8]}-reviews"
    clients = {"admin": LabelStudio(base_url=ls_server.url, api_key=ls_server.api_key, timeout=300),
               "annotator2": LabelStudio(base_url=ls_server.url, api_key=ls_server.annotator2_key, timeout=300)}
    pid = int(_ok("dataset", "create", title, "--config", str(CORPUS / "fe_sentiment_two_annotators.xml")).split()[0])
    try:
        recs = tmp_path / "reviews.jsonl"
        recs.write_text("".join(json.dumps({"id": f"r{i}", "reviewText": t}) + "\n" for i, t in enumerate(texts)))
        yield {"repo": repo, "title": title, "pid": pid, "clients": clients, "records": recs, "dir": tmp_path}
    finally:
        clients["admin"].projects.delete(id=pid)


def _preds(path: Path, labels: dict[str, tuple[str, float]]) -> str:
    path.write_text("".join(json.dumps({"task_key": k, "model_version": "sent-v1", "score": s,
                                        "result": choice(lab, to_name="my_text")}) + "\n"
                            for k, (lab, s) in labels.items()))
    return str(path)


def test_macro_f1_counts_a_label_the_model_predicted_and_nobody_gave(reviews):
    """Labels (ties to annotator2's, the latest): r0 Negative, r1 Positive, r2 Positive, r3
    Negative; sent-v1 says Negative, Neutral, Neutral, Positive. Per label F1: Negative 2/3,
    Positive 0, Neutral 0 (predicted twice, never given). Macro F1 is their mean, 0.222, as
    scikit-learn's f1_score(average="macro") gives; it was 0.333, the mean of the two labels
    someone gave, while the table under it showed Neutral's F1 0.000."""
    preds = _preds(reviews["dir"] / "preds.jsonl", {"r0": ("Negative", 0.97), "r1": ("Neutral", 0.55),
                                                    "r2": ("Neutral", 0.95), "r3": ("Positive", 0.6)})
    _ok("dataset", "push", reviews["title"], "--from", str(reviews["records"]), "--key", "data.id",
        "--predictions", preds)
    admin, a2 = reviews["clients"]["admin"], reviews["clients"]["annotator2"]
    ids = {t.data["id"]: t.id for t in admin.tasks.list(project=reviews["pid"])}
    for who, answers in ((admin, ["Negative", "Neutral", "Positive", "Positive"]),
                         (a2, ["Negative", "Positive", "Positive", "Negative"])):
        for i, lab in enumerate(answers):
            who.annotations.create(id=ids[f"r{i}"], result=choice(lab, to_name="my_text"))
    _ok("snapshot", "--label-studio", reviews["title"], "-m", "round 1")
    code, out, err = cli("eval", "v1")
    assert code == 0, err
    assert "sentiment: accuracy 0.250 (1 of 4), macro F1 0.222\n" in out, out
    doc = json.loads(_ok("eval", "v1", "--json"))["controls"]["sentiment"]
    assert doc["macro_f1"] == 0.222222
    assert {k: v["f1"] for k, v in doc["labels"].items()} == {"Negative": 0.666667, "Neutral": 0.0, "Positive": 0.0}


def test_push_names_the_record_whose_annotator_is_unknown(reviews):
    """A records file whose first task the project has and whose second carries an annotation by
    someone not on the server: the error said "task 0", the place among the tasks still to send,
    naming the first record, which has no annotation; it now names record 1 and its key."""
    _ok("dataset", "push", reviews["title"], "--from", str(reviews["records"]), "--key", "data.id")
    first = json.loads(reviews["records"].read_text().splitlines()[0])
    f = reviews["dir"] / "with-answers.json"
    f.write_text(json.dumps([{"data": first}, {"data": {"id": "new-1", "reviewText": "arrived today"},
                                               "annotations": [{"completed_by": {"email": "nobody@example.com"},
                                                                "result": choice("Positive", to_name="my_text")}]}]))
    code, out, err = cli("dataset", "push", reviews["title"], "--from", str(f), "--annotations")
    assert code == 3, err
    assert err.startswith(f"Error: {f}: task 1 (key new-1): annotator nobody@example.com is not a user of "), err
    assert out == ""


def test_stratified_sample_short_of_a_round_takes_the_best_ranked_labels(reviews):
    """The admin labels r0 Negative and r1 Neutral; r2 and r3 are unlabeled, sent-v1 predicting
    Negative (0.9) on r2 and Positive (0.4) on r3. Positive is the rarest label (given 0 times)
    and r3 the least certain task, so ``--stratify -n 1`` of ``rare-labels`` and of
    ``uncertainty`` pick r3. Each round of the round-robin went by label name, so both picked
    r2 (Negative sorts first): the strategy's own ranking lost to the alphabet."""
    preds = _preds(reviews["dir"] / "preds.jsonl", {"r2": ("Negative", 0.9), "r3": ("Positive", 0.4)})
    _ok("dataset", "push", reviews["title"], "--from", str(reviews["records"]), "--key", "data.id",
        "--predictions", preds)
    admin = reviews["clients"]["admin"]
    ids = {t.data["id"]: t.id for t in admin.tasks.list(project=reviews["pid"])}
    for k, lab in (("r0", "Negative"), ("r1", "Neutral")):
        admin.annotations.create(id=ids[k], result=choice(lab, to_name="my_text"))
    _ok("snapshot", "--label-studio", reviews["title"], "-m", "round 1")
    for strategy in ("rare-labels", "uncertainty"):
        code, out, err = cli("sample", "v1", "--strategy", strategy, "-n", "1", "--stratify", "--no-record")
        assert (code, out) == (0, "r3\n"), (strategy, err)
        code, out, err = cli("sample", "v1", "--strategy", strategy, "-n", "2", "--stratify", "--no-record")
        assert (code, out) == (0, "r3\nr2\n"), (strategy, err)


def test_a_pull_of_the_config_a_project_was_made_with_is_no_config_change(ls_server, tmp_path, monkeypatch):  # noqa: F811
    """The README's loop from an export: snapshot it with its config file (which ends in a
    newline, as files do), ``dataset create`` with HEAD's config, push the version, pull. Label
    Studio stores a config stripped of the whitespace around it, so the pull recorded another
    text: ``annover diff v1 v2`` said "Config: changed (text only, same controls and labels)",
    and ``snapshot --label-studio --config`` of the very file the project was made with warned
    that it "differs" and read the whole project again. Both now see the same config."""
    _env(monkeypatch, tmp_path)
    repo = annover.init(tmp_path / "repo")
    monkeypatch.chdir(repo.root)
    config = CORPUS / "fe_sentiment_two_annotators.xml"
    assert config.read_text().endswith("</View>\n")
    _ok("snapshot", "--from", str(CORPUS / "fe_sentiment_two_annotators.json"), "--config", str(config), "-m", "x")
    title = f"t-{uuid.uuid4().hex[:8]}-made-from-v1"
    admin = LabelStudio(base_url=ls_server.url, api_key=ls_server.api_key, timeout=300)
    pid = int(_ok("dataset", "create", title).split()[0])
    try:
        _ok("dataset", "push", title, "--from", "v1")
        _ok("snapshot", "--label-studio", title, "-m", "pulled")
        doc = json.loads(_ok("diff", "v1", "v2", "--json"))
        assert doc["config"]["changed"] is False, doc["config"]
        assert _ok("show", "v2", "--config") == _ok("show", "v1", "--config")
        first = next(t.id for t in admin.tasks.list(project=pid))
        admin.annotations.create(id=first, result=choice("Positive", to_name="my_text"))
        code, out, err = cli("snapshot", "--label-studio", title, "--config", str(config), "-m", "answered")
        assert code == 0, err
        assert "differs" not in err and "full pull" not in err, err
        origin = json.loads(_ok("show", "v3", "--json"))["origin"]
        assert (origin["sync"]["mode"], origin["sync"]["fetched_tasks"]) == ("incremental", 1)
    finally:
        admin.projects.delete(id=pid)


def test_region_agreement_of_three_annotators_checked_by_hand(tmp_path, monkeypatch):
    """evalme_bbox_multi: three annotators drew boxes on each of 5 images. The text said "5
    task(s) with two annotators" of tasks with three; it says "two annotators or more". The
    figures, paired by hand (IoU >= 0.5, best pairs first; image 189's 'Car' pair has IoU
    exactly 1/2): pair F1 0.367 (annotator1/2), 0.820 (1/3), 0.361 (2/3), pooled 0.516."""
    _env(monkeypatch, tmp_path)
    repo = annover.init(tmp_path / "repo")
    monkeypatch.chdir(repo.root)
    _ok("snapshot", "--from", str(CORPUS / "evalme_bbox_multi.json"), "--config",
        str(CORPUS / "evalme_bbox_multi.xml"), "-m", "three annotators")
    out = _ok("agreement")
    assert "label (regions; 5 task(s) with two annotators or more)\n  F1 0.516 (n=5)" in out, out
    doc = json.loads(_ok("agreement", "--json"))
    pairs = {(p["a"], p["b"]): p["f1"]["value"] for p in doc["controls"]["label"]["pairs"]}
    assert {k: round(v, 3) for k, v in pairs.items()} == {
        ("annotator1@example.com", "annotator2@example.com"): 0.367,
        ("annotator1@example.com", "annotator3@example.com"): 0.820,
        ("annotator2@example.com", "annotator3@example.com"): 0.361}
