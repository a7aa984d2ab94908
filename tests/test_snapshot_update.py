"""`annover snapshot --update`: a file or a Label Studio project of some of the tasks comes back
into the dataset. The input's tasks, answers and predictions are added to HEAD's, those of the
same keys replaced, nothing of HEAD's removed.

The labeling loop sends a sample to a project of its own (docs/loop.md: `dataset push round-4
--from-sample ...`); pulling that project made a version of the sample's tasks alone, in place
of HEAD's (with a warning), and no command brought its answers back into the dataset.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

from label_studio_sdk import LabelStudio

import annover

from .conftest import EXAMPLES
from .ls_fixtures import ls_server  # noqa: F401 - a fixture
from .test_cli import invoke

ROUND1, ROUND2, CONFIG = (EXAMPLES / n for n in ("round1.json", "round2.json", "labeling.xml"))


def _tasks(path: Path) -> list[dict]:
    return json.loads(path.read_text())


def _ids(repo: annover.Repo, rev: str) -> dict:
    """Each table's snapshot id (predictions: each model version's): the version's content."""
    return {name: t["id"] if "id" in t else {mv: x["id"] for mv, x in t.items()}
            for name, t in repo.show(rev).record["tables"].items()}


def _write(path: Path, tasks: list[dict]) -> str:
    path.write_text(json.dumps(tasks))
    return str(path)


def test_an_update_is_head_with_the_input_s_tasks_in_place_and_new_ones_added(repo, tmp_path):
    """Round 2's later state of three tasks and a task HEAD lacks, on top of round 1: the same
    content as a whole snapshot of round 1 with those tasks taken from round 2."""
    r1, r2 = _tasks(ROUND1), _tasks(ROUND2)
    keys1 = [t["data"]["ext_id"] for t in r1]
    spread = keys1[1::6]  # tasks apart from each other among HEAD's: the round's rows go in at several places
    later = [t for t in r2 if t["data"]["ext_id"] in spread]
    new = [t for t in r2 if t["data"]["ext_id"] not in keys1][:1]
    assert len(later) == len(spread) >= 3 and len(new) == 1
    part = _write(tmp_path / "part.json", later + new)
    repo.snapshot(str(ROUND1), config=str(CONFIG), key="data.ext_id", message="r1")
    code, out, err = invoke("snapshot", "--from", part, "--update", "-m", "part", "--json")
    assert code == 0, err
    assert json.loads(out)["changed"] is True
    took = {t["data"]["ext_id"] for t in later + new}
    whole = [t for t in r1 if t["data"]["ext_id"] not in took] + later + new
    other = annover.init(tmp_path / "other")
    other.snapshot(_write(tmp_path / "whole.json", whole), config=str(CONFIG), key="data.ext_id", message="whole")
    assert _ids(repo, "HEAD") == _ids(other, "HEAD")
    for name, keys in (("tasks", ["task_key"]), ("annotations", ["task_key", "annotation_key", "region_key"])):
        got = repo.load("HEAD", name).select(keys)  # the rows in key order, as every version's are
        assert got.equals(other.load("HEAD", name).select(keys)), name
        assert got.to_pylist() == sorted(got.to_pylist(), key=lambda r: [r[k] for k in keys]), name
    assert repo.show("HEAD").record["origin"]["update"] == {"tasks": len(spread) + 1, "new_tasks": 1}
    assert repo.show("v1").record["stats"]["tasks"] + 1 == repo.show("v2").record["stats"]["tasks"]


def test_head_s_answers_the_input_does_not_hold_are_kept(repo, tmp_path):
    """A second annotator's answer to a task (a project of its own): the first one's stays."""
    r1 = _tasks(ROUND1)
    task = next(t for t in r1 if t.get("annotations"))
    extra = copy.deepcopy(task)
    ann = copy.deepcopy(task["annotations"][0])
    ann["id"] = 987654
    ann["completed_by"] = {"id": 4242, "email": "third@example.com"}
    extra["annotations"] = [ann]
    extra.pop("predictions", None)
    repo.snapshot(str(ROUND1), config=str(CONFIG), key="data.ext_id", message="r1")
    before = repo.load("v1", "annotations")
    code, _, err = invoke("snapshot", "--from", _write(tmp_path / "third.json", [extra]), "--update", "-m", "3rd")
    assert code == 0, err
    after = repo.load("v2", "annotations")
    key = task["data"]["ext_id"]
    who = lambda t: sorted(r["annotator"] for r in t.to_pylist() if r["task_key"] == key)  # noqa: E731
    assert who(after) == sorted(set(who(before)) | {"third@example.com"}) or \
        set(who(after)) == set(who(before)) | {"third@example.com"}
    assert after.num_rows > before.num_rows
    assert repo.load("v2", "tasks").num_rows == repo.load("v1", "tasks").num_rows


def test_an_update_with_no_version_yet_is_refused_and_writes_nothing(repo):
    code, _, err = invoke("snapshot", "--from", str(ROUND1), "--config", str(CONFIG), "--update", "-m", "x")
    assert code == 2, err
    assert "--update adds to HEAD's tasks, and there is no version yet" in err and "Traceback" not in err
    assert repo.head() is None


def test_the_dry_run_of_an_update_says_what_it_would_change(repo, tmp_path):
    r2 = _tasks(ROUND2)
    new = [t for t in r2 if t["data"]["ext_id"] not in {t["data"]["ext_id"] for t in _tasks(ROUND1)}][:2]
    repo.snapshot(str(ROUND1), config=str(CONFIG), key="data.ext_id", message="r1")
    code, out, err = invoke("snapshot", "--from", _write(tmp_path / "n.json", new), "--update", "-n", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["dry_run"] is True and doc["diff"]["tasks"]["added"] == 2 and doc["diff"]["tasks"]["removed"] == 0
    assert repo.show("HEAD").record["message"] == "r1"


def test_a_sample_s_project_comes_back_into_the_dataset(repo, tmp_path, ls_server):  # noqa: F811
    """The loop as docs/loop.md has it, on the running Label Studio: two of HEAD's tasks sent to a
    project of their own, answered there, then pulled with --update: every other task of HEAD is
    still in the version, the two carry the new answers, and no 'in its place' warning."""
    repo.snapshot(str(ROUND1), config=str(CONFIG), key="data.ext_id", message="r1")
    title = f"t-{uuid.uuid4().hex[:8]}-round"
    keys = sorted(repo.load("v1", "tasks").column("task_key").to_pylist())[:2]
    (tmp_path / "next.txt").write_text("\n".join(keys) + "\n")
    admin = LabelStudio(base_url=ls_server.url, api_key=ls_server.api_key, timeout=300)
    code, out, err = invoke("dataset", "create", title)
    assert code == 0, err
    pid = int(out.split()[0])
    try:
        code, _, err = invoke("dataset", "push", title, "--from-sample", str(tmp_path / "next.txt"), "--from", "v1")
        assert code == 0, err
        for task in admin.tasks.list(project=pid):
            admin.annotations.create(id=task.id, result=[{"from_name": "sentiment", "to_name": "text",
                                                          "type": "choices", "value": {"choices": ["neutral"]}}])
        code, _, err = invoke("snapshot", "--label-studio", title, "--update", "-m", "round")
        assert code == 0, err
        assert "in its place" not in err
        v1, v2 = repo.load("v1", "tasks"), repo.load("v2", "tasks")
        assert set(v2.column("task_key").to_pylist()) == set(v1.column("task_key").to_pylist())
        ann = [r for r in repo.load("v2", "annotations").to_pylist() if r["task_key"] in keys]
        assert sum(r["labels"] == ["neutral"] and r["from_name"] == "sentiment" for r in ann) >= 2, ann
        assert repo.show("v2").record["origin"]["update"]["tasks"] == 2
    finally:
        admin.projects.delete(id=pid)


def test_an_update_keeps_every_model_s_predictions_of_the_tasks_it_does_not_hold(repo, tmp_path):
    """HEAD with two models' predictions of every task, and an update of a few tasks apart: each
    model's predictions of the other tasks are HEAD's, once each. HEAD's predictions were read as
    one table, model after model, which is not in task order; their rows were put back in by a
    search of that order, so a model's predictions of tasks between the update's came back twice
    (the review of 11 suspect images of 25 gave one model 461 rows where it had 372) or not at all."""
    r2 = _tasks(ROUND2)
    models = ("sentiment-bert-v1", "sentiment-bert-v2")
    for t in r2:
        base = next(iter(t.get("predictions") or []), None) or {"result": [], "score": 0.5}
        t["predictions"] = [{**copy.deepcopy(base), "model_version": mv} for mv in models]
    repo.snapshot(_write(tmp_path / "both.json", r2), config=str(CONFIG), key="data.ext_id", message="two models")
    later = [copy.deepcopy(t) for t in r2[2::7]]
    for t in later:
        t["predictions"] = t["predictions"][1:]  # the round sends one model's predictions, scored anew
        t["predictions"][0]["score"] = 0.123
    code, _, err = invoke("snapshot", "--from", _write(tmp_path / "round.json", later), "--update", "-m", "round")
    assert code == 0, err
    for mv in models:
        before = repo.load("v1", "predictions", model_version=mv).select(["task_key", "prediction_key", "region_key"])
        after = repo.load("v2", "predictions", model_version=mv).select(["task_key", "prediction_key", "region_key"])
        assert sorted(after.to_pylist(), key=str) == sorted(before.to_pylist(), key=str), mv
    assert {mv: s["rows"] for mv, s in repo.show("v2").record["tables"]["predictions"].items()} == \
        {mv: s["rows"] for mv, s in repo.show("v1").record["tables"]["predictions"].items()}


def test_a_round_s_answer_by_an_annotator_of_head_stands_beside_theirs(repo, tmp_path):
    """A round's project (a sample sent for review) ranks its reviewer's answer ``#0`` again: it
    replaced the same annotator's answer in HEAD (a skip there too, losing their labels), and the
    next pull of the main project put the old one back. Another Label Studio answer (another id)
    now stands beside HEAD's, under the annotator's next rank; the same answer pulled again (its
    id) replaces itself, so a second update changes nothing."""
    r1 = _tasks(ROUND1)
    task = next(t for t in r1 if t.get("annotations"))
    mine = task["annotations"][0]
    review = copy.deepcopy(task)
    review.pop("predictions", None)
    fixed, skip = copy.deepcopy(mine), copy.deepcopy(mine)
    fixed.update(id=mine["id"] + 50000, updated_at="2031-01-01T00:00:00Z", created_at="2031-01-01T00:00:00Z")
    fixed["result"] = [dict(fixed["result"][0], id="rev1", value={"choices": ["neutral"]})]
    skip.update(id=mine["id"] + 50001, was_cancelled=True, result=[], completed_by={"id": 77, "email": "bob@x.org"})
    review["annotations"] = [fixed, skip]
    repo.snapshot(str(ROUND1), config=str(CONFIG), key="data.ext_id", message="r1")
    before = {r["annotation_key"] for r in repo.load("v1", "annotations").to_pylist()
              if r["task_key"] == task["data"]["ext_id"]}
    f = _write(tmp_path / "review.json", [review])
    code, _, err = invoke("snapshot", "--from", f, "--update", "-m", "review")
    assert code == 0, err
    rows = [r for r in repo.load("v2", "annotations").to_pylist() if r["task_key"] == task["data"]["ext_id"]]
    who = mine["completed_by"]["email"]
    n = max(int(k.rpartition("#")[2]) for k in before if k.startswith(who + "#"))
    assert {r["annotation_key"] for r in rows} == before | {f"{who}#{n + 1}", "bob@x.org#0"}
    assert {r["annotation_key"]: r["ls_annotation_id"] for r in rows if r["ls_annotation_id"] == mine["id"]} == \
        {f"{who}#0": mine["id"]}  # theirs, as it was
    assert invoke("snapshot", "--from", f, "--update", "-m", "again")[0] == 0
    assert repo.head() == repo.resolve("v2")  # nothing changed: no v3
