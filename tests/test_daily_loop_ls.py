"""A day of the labeling loop against a real Label Studio, on texts other people wrote.

One story, built once for the module: a dataset created from a labeling config, texts of the
shared corpus pushed with a model's predictions, two annotators (the admin and annotator2, each
with their own key) answering through the API with disagreements, a skip and an edit, pulled
into v1; then more texts and answers, pulled into v2. Each test asks one thing of the loop
commands a user runs on it, with the numbers worked out by hand from what was put in.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from label_studio_sdk import LabelStudio

import annover
from annover.labelstudio.client import Client

from .conftest import shared_corpus
from .ls_fixtures import choice, cli, ls_server  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio

CORPUS = shared_corpus("label-studio")

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
</View>
"""

#: the model's (label, score) per task, and each annotator's labels per round
PRED = {"t0": ("Negative", 0.97), "t1": ("Positive", 0.55), "t2": ("Negative", 0.62), "t3": ("Neutral", 0.91),
        "t4": ("Neutral", 0.70), "t5": ("Neutral", 0.95), "t6": ("Neutral", 0.93), "t7": ("Neutral", 0.60),
        "t8": ("Positive", 0.85), "t9": ("Neutral", 0.92), "t10": ("Positive", 0.40)}
ROUND1 = {"admin": {"t0": "Negative", "t1": "Neutral", "t2": "Negative", "t3": "Neutral", "t4": "Positive",
                    "t5": "Neutral"},
          "annotator2": {"t0": "Negative", "t1": "Positive", "t2": "Neutral", "t3": "Neutral", "t4": "Positive",
                         "t5": "Negative", "t6": "Neutral"}}
ROUND2 = {"admin": {"t9": "Neutral", "t10": "Neutral"}, "annotator2": {"t9": "Negative", "t10": "Positive"}}


def _texts() -> list[str]:
    """Texts of the corpus' text exports (reviews, headlines, questions, reports), in a fixed order."""
    out: list[str] = []
    for name, field in (("fe_sentiment_two_annotators.json", "reviewText"), ("fe_taxonomy.json", "reviewText"),
                        ("ls_ground_truth_choices.json", "text"), ("sdk_history_sentiment.json", "text"),
                        ("llm_answer_textarea_preds.json", "question"), ("ner_predictions_nerine.json", "text")):
        doc = json.loads((CORPUS / name).read_text(encoding="utf-8"))
        for t in doc if isinstance(doc, list) else [doc]:
            if t["data"][field] not in out:
                out.append(t["data"][field])
    return out


def _jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def _push(title: str, keys: list[str], texts: dict[str, str], d: Path, name: str) -> None:
    tasks = _jsonl(d / f"{name}.jsonl", [{"id": k, "text": texts[k]} for k in keys])
    preds = _jsonl(d / f"{name}-preds.jsonl", [
        {"task_key": k, "model_version": "sent-v1", "score": PRED[k][1], "result": choice(PRED[k][0])} for k in keys])
    code, _, err = cli("dataset", "push", title, "--from", tasks, "--key", "data.id", "--predictions", preds)
    assert code == 0, err


def _answer(clients: dict[str, Any], pid: int, labels: dict[str, dict[str, str]]) -> dict[tuple[str, str], int]:
    ids = {t.data["id"]: t.id for t in clients["admin"].tasks.list(project=pid)}
    made = {}
    for who, mine in labels.items():
        for k, lab in mine.items():
            made[(who, k)] = clients[who].annotations.create(id=ids[k], result=choice(lab)).id
    return made


@pytest.fixture(scope="module")
def story(ls_server, tmp_path_factory) -> Iterator[dict[str, Any]]:  # noqa: F811
    """v1 and v2 of a dataset labeled by two annotators (see the module); yields the repository."""
    texts = _texts()
    assert len(texts) >= 11, "the corpus' text exports changed"
    texts = {f"t{i}": t for i, t in enumerate(texts[:11])}
    if not ls_server.annotator2_key:
        pytest.skip("the Label Studio server gives no second annotator's key")
    d = tmp_path_factory.mktemp("daily-loop")
    title = f"t-{uuid.uuid4().hex[:8]}-daily-loop"
    admin = LabelStudio(base_url=ls_server.url, api_key=ls_server.api_key, timeout=300)
    clients = {"admin": admin, "annotator2": LabelStudio(base_url=ls_server.url, api_key=ls_server.annotator2_key,
                                                          timeout=300)}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"ANNOVER_REMOTE_HOME": str(d / "remotes"), "ANNOVER_CACHE_DIR": str(d / "cache"),
                     "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.com",
                     "GIT_COMMITTER_NAME": "Test Author", "GIT_COMMITTER_EMAIL": "author@example.com"}.items():
            mp.setenv(k, v)
        repo = annover.init(d / "repo")
        mp.chdir(repo.root)
        (d / "labeling.xml").write_text(CONFIG)
        code, out, err = cli("dataset", "create", title, "--config", str(d / "labeling.xml"))
        assert code == 0, err
        pid = int(out.split()[0])
        try:
            _push(title, [f"t{i}" for i in range(9)], texts, d, "round1")
            made = _answer(clients, pid, ROUND1)
            ids = {t.data["id"]: t.id for t in admin.tasks.list(project=pid)}
            admin.annotations.create(id=ids["t7"], result=[], was_cancelled=True)  # a skip
            admin.annotations.update(id=made[("admin", "t1")], result=choice("Positive"))  # an edit
            code, _, err = cli("snapshot", "--label-studio", title, "--key", "data.id", "-m", "round 1")
            assert code == 0, err
            _push(title, ["t9", "t10"], texts, d, "round2")
            _answer(clients, pid, ROUND2)
            code, _, err = cli("snapshot", "--label-studio", title, "-m", "round 2")
            assert code == 0, err
            yield {"repo": repo, "root": repo.root, "title": title, "pid": pid, "dir": d}
        finally:
            try:
                admin.projects.delete(id=pid)
            except Exception:
                pass


@pytest.fixture
def in_story(story, monkeypatch) -> dict[str, Any]:
    monkeypatch.chdir(story["root"])
    return story


def test_the_story_holds_what_was_put_in(in_story):
    """v1: 9 tasks, 7 labeled (t0-t6), 14 answers of which 1 skip; v2: 11 tasks, 9 labeled."""
    code, out, err = cli("show", "v1", "--json")
    assert code == 0, err
    stats = json.loads(out)["stats"]
    assert (stats["tasks"], stats["labeled"], stats["annotations"], stats["skipped"]) == (9, 7, 14, 1)
    assert stats["labels"]["sentiment"] == {"Negative": 4, "Neutral": 5, "Positive": 4}
    code, out, err = cli("show", "v2", "--json")
    stats = json.loads(out)["stats"]
    assert (stats["tasks"], stats["labeled"], stats["annotations"]) == (11, 9, 18)


def test_eval_over_a_range_takes_the_only_model_as_eval_of_one_version_does(in_story):
    """``annover eval v1..v2`` was refused ("eval over a range needs the model") where every
    version has predictions of one model, which ``annover eval v1`` takes without asking; the
    range's text and --json now name the model and the policy they scored with.

    v1's resolved labels (ties to the latest answer, annotator2's): t0 Negative, t1 Positive,
    t2 Neutral, t3 Neutral, t4 Positive, t5 Negative, t6 Neutral; the model agrees on t0, t1,
    t3, t6: 4 of 7. v2 adds t9 (Negative, model Neutral) and t10 (Positive, model Positive):
    5 of 9."""
    code, out, err = cli("eval", "v1..v2")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "sent-v1 against the labels of v1..v2 (ground-truth)"
    assert lines[1].split() == ["v1", "sentiment:", "accuracy", "0.571", "on", "7,", "macro", "F1", "0.579"]
    assert lines[2].split()[:6] == ["v2", "sentiment:", "accuracy", "0.556", "on", "9,"]
    code, out, err = cli("eval", "v1..v2", "--json")
    doc = json.loads(out)
    assert (doc["model"], doc["policy"]) == ("sent-v1", "ground-truth")
    assert [v["controls"]["sentiment"]["tasks"] for v in doc["versions"]] == [7, 9]
    assert [round(v["controls"]["sentiment"]["accuracy"], 6) for v in doc["versions"]] == [0.571429, 0.555556]


def test_eval_and_agreement_text_count_what_they_leave_out(in_story):
    """The text said "accuracy 0.571 (4 of 7)" without the tasks it did not score, which only
    --json carried (t7, skipped, and t8, never answered, have predictions and no label); and
    "14 answer(s)" for 13 answers and a skip (the annotators' counts add up to 13)."""
    code, out, err = cli("eval", "v1")
    assert code == 0, err
    assert "sentiment: accuracy 0.571 (4 of 7), macro F1 0.579\n  not scored: 2 task(s) predicted, not labeled\n" \
        in out, out
    doc = json.loads(cli("eval", "v1", "--json")[1])["controls"]["sentiment"]
    assert (doc["labeled_not_predicted"], doc["predicted_not_labeled"]) == (0, 2)
    code, out, err = cli("agreement", "v1")
    assert out.startswith("agreement at v1: 8 task(s) with answers, 14 answer(s) (1 of them skipped), "
                          "2 annotator(s)\n"), out
    doc = json.loads(cli("agreement", "v1", "--json")[1])
    assert (doc["tasks"], doc["answers"], doc["skipped"]) == (8, 14, 1)
    assert sorted(doc["annotators"].values()) == [6, 7]


def test_dataset_list_counts_annotations_as_stats_and_show_do(in_story):
    """``dataset list --json`` gave 17 annotations where ``dataset stats --json`` and ``annover
    show`` of a pull of the same project give 18 (Label Studio's project count leaves skips out;
    annover's counts hold them, beside ``skipped``)."""
    code, out, err = cli("dataset", "list", "--json")
    assert code == 0, err
    listed = next(d for d in json.loads(out) if d["id"] == in_story["pid"])
    stats = json.loads(cli("dataset", "stats", in_story["title"], "--json")[1])
    shown = json.loads(cli("show", "v2", "--json")[1])["stats"]
    assert (listed["annotations"], listed["skipped"]) == (stats["annotations"], stats["skipped"]) \
        == (shown["annotations"], shown["skipped"]) == (18, 1)
    assert (listed["tasks"], listed["labeled"], listed["unlabeled"]) == (11, 9, 2)


def test_dataset_list_skips_a_project_deleted_while_it_counts(in_story, ls_server, monkeypatch):  # noqa: F811
    """On a shared server, a project another user deleted between the listing and its count made
    the whole ``dataset list`` fail ("counting tasks of project 22: not found"); it now lists the
    projects that are still there, and one whose counts the listing itself gave as it was then
    (no request of its own follows: see tests/test_ls_counts.py)."""
    admin = LabelStudio(base_url=ls_server.url, api_key=ls_server.api_key, timeout=300)
    doomed = admin.projects.create(title=f"t-{uuid.uuid4().hex[:8]}-doomed", label_config=CONFIG).id
    admin.projects.import_tasks(id=doomed, request=[{"data": {"text": "a task to count"}}])
    real = Client.projects

    def projects_then_someone_deletes(self, *a, **k):
        found = real(self, *a, **k)
        admin.projects.delete(id=doomed)  # after the listing, before the counts
        return found

    monkeypatch.setattr(Client, "projects", projects_then_someone_deletes)
    try:
        code, out, err = cli("dataset", "list", "--json")
    finally:
        try:
            admin.projects.delete(id=doomed)
        except Exception:
            pass
    assert code == 0, err
    rows = {d["id"]: d for d in json.loads(out)}
    assert in_story["pid"] in rows
    assert doomed not in rows or (rows[doomed]["tasks"], rows[doomed]["labeled"]) == (1, 0)


def test_a_pull_after_new_predictions_says_why_it_read_the_whole_project(ls_server, tmp_path, repo,
                                                                        monkeypatch):  # noqa: F811
    """Predictions of a new model pushed onto the tasks already labeled (``dataset push
    --predictions``, the documented way to add a model's guesses) make the next pull read the
    whole project. It warned "full pull: the project's predictions (4) do not add up to 2 after
    fetching only what changed", which reads as if something were lost; it now says the whole
    project was read, so nothing is missed, and why the counts differ."""
    monkeypatch.chdir(repo.root)
    texts = _texts()[:2]
    title = f"t-{uuid.uuid4().hex[:8]}-new-model"
    (tmp_path / "c.xml").write_text(CONFIG)
    code, out, err = cli("dataset", "create", title, "--config", str(tmp_path / "c.xml"))
    assert code == 0, err
    pid = int(out.split()[0])
    try:
        src = _jsonl(tmp_path / "t.jsonl", [{"id": f"k{i}", "text": t} for i, t in enumerate(texts)])
        for model in ("m1", "m2"):
            preds = _jsonl(tmp_path / f"{model}.jsonl", [{"task_key": f"k{i}", "model_version": model, "score": 0.5,
                                                          "result": choice("Neutral")} for i in range(2)])
            code, _, err = cli("dataset", "push", title, "--from", src, "--key", "data.id", "--predictions", preds)
            assert code == 0, err
            code, out, err = cli("snapshot", "--label-studio", title, "--key", "data.id", "-m", model)
            assert code == 0, err
        assert "warning: full pull: the project's predictions (4) do not add up to the 2 of HEAD and the tasks " \
               "changed since (predictions added to tasks already there, as `dataset push --predictions` adds " \
               "them, do not mark the tasks changed); the whole project was read, so nothing is missed" in err, err
        assert repo.show("HEAD").record["origin"]["sync"]["mode"] == "full"
        assert sorted(repo.show("HEAD").model_versions) == ["m1", "m2"]
    finally:
        LabelStudio(base_url=ls_server.url, api_key=ls_server.api_key, timeout=300).projects.delete(id=pid)


def test_the_dataset_help_snapshots_with_the_key_it_pushed_with():
    """``annover dataset --help`` pushed with ``--key data.id`` and then snapshotted without it, so
    the version keyed its tasks by a hash of their data: ``annover log --task r17`` found nothing
    and later pushes keyed by ``data.id`` did not meet the version's keys. docs/label-studio.md
    gives the key to both; so does the help now."""
    code, out, err = cli("dataset", "--help")
    assert code == 0, err
    lines = [x.strip() for x in out.splitlines() if x.strip().startswith("annover ")]
    pushed = [x for x in lines if x.startswith("annover dataset push") and "--key data.id" in x]
    snapshots = [x for x in lines if x.startswith("annover snapshot --label-studio")]
    assert pushed and snapshots and all("--key data.id" in x for x in snapshots), lines


def test_suspects_show_where_two_annotators_split(in_story):
    """With two annotators the majority reason cannot fire (it needs two others), so ``annover
    suspects v1`` listed t5 alone (the model contradicts it) and said nothing of t2, whose label
    (Neutral) is annotator2's only because their answer came after the admin's Negative: the
    label a training export takes there is a coin toss. The ``split`` reason names such ties."""
    code, out, err = cli("suspects", "v1", "--json")
    assert code == 0, err
    doc = json.loads(out)
    got = {i["task_key"]: (i["label"], i["score"], [r["kind"] for r in i["reasons"]]) for i in doc["suspects"]}
    assert got == {"t5": ("Negative", 1.45, ["model", "split"]), "t2": ("Neutral", 0.5, ["split"])}
    assert [i["task_key"] for i in doc["suspects"]] == ["t5", "t2"] and doc["counts"] == {"model": 1, "split": 2}
    (split,) = [r for r in doc["suspects"][1]["reasons"]]
    assert split["text"].startswith("no majority: Neutral, Negative have 1 of 2 answers each; ")
    assert split["text"].endswith("'s, the latest, was taken")
    code, out, err = cli("suspects", "v1")
    assert out.splitlines()[0] == "2 suspect label(s):" and "t2  sentiment=Neutral  no majority" in out
