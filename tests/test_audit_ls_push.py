"""A daily user's audit of `annover dataset push --annotations` against the real server, with
a real export written by other people (the shared corpus): annotations that were not sent, and
annotations Label Studio gives to a user the file did not name, are said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import annover

from .conftest import shared_corpus
from .ls_fixtures import (  # noqa: F401 - fixtures
    choice,
    cli,
    ls,
    ls_server,
    project_factory,
    sdk_admin,
)
from .test_labelstudio import server_tasks

pytestmark = pytest.mark.labelstudio
CORPUS = shared_corpus("label-studio")
SENTIMENT = CORPUS / "fe_sentiment_two_annotators.json"
corpus = pytest.mark.skipif(not SENTIMENT.is_file(), reason=f"the shared corpus is not here ({CORPUS})")


def _push(*args: str) -> tuple[int, dict, str]:
    code, out, err = cli("dataset", "push", *args, "--json")
    return code, (json.loads(out) if out.strip() else {}), err


@corpus
def test_annotations_of_tasks_already_there_are_said_not_sent(project_factory, sdk_admin):
    """The first push (no --annotations) says "pass --annotations to send them"; doing so on the
    same file sent nothing and said nothing: the 4 annotations never reached the project."""
    p = project_factory("sent-annotations", (CORPUS / "fe_sentiment_two_annotators.xml").read_text())
    code, first, err = _push(str(p.id), "--from", str(SENTIMENT))
    assert code == 0, err
    assert any("pass --annotations" in w for w in first["warnings"])
    code, again, err = _push(str(p.id), "--from", str(SENTIMENT), "--annotations")
    assert code == 0, err
    assert (again["sent"], again["already"], again["annotations"]) == (0, 3, 0)
    said = [w for w in again["warnings"] if "already in the project were not sent" in w]
    assert len(said) == 1 and "4 annotation(s)" in said[0], again["warnings"]
    assert said[0] in err
    assert sum(len(t["annotations"]) for t in server_tasks(sdk_admin, p.id)) == 0


@corpus
def test_who_gets_annotations_named_by_user_id_or_by_nobody_is_said(project_factory, sdk_admin):
    """The export's `completed_by: 2` is a user of the server it came from; Label Studio gives
    the annotation to ITS user 2, and one without completed_by to the key's user, silently."""
    p = project_factory("by-user-id", (CORPUS / "fe_sentiment_two_annotators.xml").read_text())
    users = {u.id: u.email for u in sdk_admin.users.list()}
    if 2 not in users:
        pytest.skip("the server has no user id 2")
    code, r, err = _push(str(p.id), "--from", str(SENTIMENT), "--annotations")
    assert code == 0, err
    assert r["annotations"] == 4
    by_id = [w for w in r["warnings"] if "by user id only" in w]
    assert len(by_id) == 1 and "1 annotation(s)" in by_id[0] and f"2 -> {users[2]}" in by_id[0], r["warnings"]
    nobody = [w for w in r["warnings"] if "have no completed_by" in w]
    assert len(nobody) == 1 and "3 annotation(s)" in nobody[0], r["warnings"]
    # what Label Studio did is what the warnings say
    got = sorted(a["completed_by"]["email"] for t in server_tasks(sdk_admin, p.id) for a in t["annotations"])
    me = sdk_admin.users.whoami().email
    assert got == sorted([users[2], me, me, me])


def test_a_prediction_deleted_in_label_studio_is_gone_from_the_pull(project_factory, sdk_admin, tmp_path,
                                                                   monkeypatch):
    """An annotation started from a prediction keeps a copy of it (`annotations[].prediction`,
    as it was then). Once the prediction is deleted in Label Studio, the pull made a prediction
    row of that stale copy: the version kept a prediction the server no longer has, with its old
    score, and `annover diff` called the deletion a score change (0.99 -> 0.7)."""
    p = project_factory("deleted-prediction")
    (tmp_path / "repo").mkdir()
    annover.init(tmp_path / "repo")
    src = tmp_path / "r.jsonl"
    src.write_text("".join(json.dumps({"id": f"r{i}", "text": f"review {i}"}) + "\n" for i in (1, 2)))
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"task_key": f"r{i}", "model_version": "m1", "score": 0.7,
                                         "result": choice("pos")}) + "\n" for i in (1, 2)))
    code, _, err = _push(str(p.id), "--from", str(src), "--key", "data.id", "--predictions", str(preds))
    assert code == 0, err
    tids = {t.data["id"]: t.id for t in sdk_admin.tasks.list(project=p.id)}
    pred = {x.task: x.id for x in sdk_admin.predictions.list(project=p.id)}
    sdk_admin.annotations.create(id=tids["r1"], result=choice("pos"), parent_prediction=pred[tids["r1"]])
    sdk_admin.predictions.update(id=pred[tids["r1"]], score=0.99)
    sdk_admin.annotations.create(id=tids["r1"], result=choice("neg"), parent_prediction=pred[tids["r1"]])
    monkeypatch.chdir(tmp_path / "repo")
    code, _, err = cli("snapshot", "--label-studio", str(p.id), "--key", "data.id", "-m", "r1")
    assert code == 0, err
    sdk_admin.actions.create(id="delete_tasks_predictions", project=p.id,
                             selected_items={"all": False, "included": [tids["r1"]]})
    code, _, err = cli("snapshot", "--label-studio", str(p.id), "-m", "r2")
    assert code == 0, err
    rows = annover.load("HEAD", table="predictions").to_pylist()
    assert sorted((r["task_key"], r["score"]) for r in rows) == [("r2", 0.7)]
    code, out, err = cli("diff", "HEAD~1", "HEAD", "--rows", "--no-drift")
    assert code == 0, err
    assert "score 0.99 -> 0.7" not in out and "removed" in out
    code, out, _ = cli("dataset", "stats", str(p.id), "--json")
    assert json.loads(out)["predictions"] == len(rows)


def test_validate_warn_is_heard_by_a_pull(project_factory, sdk_admin, tmp_path, monkeypatch):
    """After a label was renamed in the project's config (Label Studio accepts it while only
    predictions use the label), the pull is refused, exit 4, saying "keep them with a warning: --validate
    warn"; `--validate warn` was read as `check` and refused the same."""
    p = project_factory("validate-warn")
    src = tmp_path / "r.jsonl"
    src.write_text("".join(json.dumps({"id": f"r{i}", "text": f"review {i}"}) + "\n" for i in (1, 2)))
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"task_key": "r1", "model_version": "m1", "score": 0.5, "result": choice("neutral")}))
    code, _, err = _push(str(p.id), "--from", str(src), "--key", "data.id", "--predictions", str(preds))
    assert code == 0, err
    repo = tmp_path / "repo"
    annover.init(repo)
    monkeypatch.chdir(repo)
    assert cli("snapshot", "--label-studio", str(p.id), "--key", "data.id", "-m", "r1")[0] == 0
    config = sdk_admin.projects.get(id=p.id).label_config
    sdk_admin.projects.update(id=p.id, label_config=config.replace('"neutral"', '"mixed"'))
    code, _, err = cli("snapshot", "--label-studio", str(p.id), "-m", "r2")
    assert code == 4 and "--validate warn (validate='warn' in Python)" in err, err
    code, out, err = cli("snapshot", "--label-studio", str(p.id), "-m", "r2", "--validate", "warn")
    assert code == 0, err
    assert "label 'neutral' is not in control 'sentiment'" in err
    assert annover.load("HEAD", table="predictions").column("labels").to_pylist() == [["neutral"]]
    # warn kept rows that check refuses: a later check pull reads the whole project again
    code, _, err = cli("snapshot", "--label-studio", str(p.id), "-m", "r3", "--validate", "check")
    assert code == 4, err


def test_a_pull_of_another_project_than_heads_is_said(project_factory, tmp_path, monkeypatch):
    """A mistyped dataset name in a repository whose HEAD was pulled from another project made a
    version of the other project (every task of HEAD removed) without a word."""
    a, b = project_factory("head-project"), project_factory("other-project")
    for p, n in ((a, 1), (b, 2)):
        src = tmp_path / f"{n}.jsonl"
        src.write_text(json.dumps({"id": f"r{n}", "text": f"review {n}"}) + "\n")
        assert _push(str(p.id), "--from", str(src), "--key", "data.id")[0] == 0
    annover.init(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    code, _, err = cli("snapshot", "--label-studio", str(a.id), "--key", "data.id", "-m", "a")
    assert code == 0 and "was pulled from" not in err, err
    code, _, err = cli("snapshot", "--label-studio", str(b.id), "--key", "data.id", "-m", "b", "--dry-run")
    assert code == 0, err
    assert f"HEAD was pulled from {a.title!r} (project {a.id})" in err and f"(project {b.id})" in err, err
    code, _, err = cli("snapshot", "--label-studio", str(a.id), "-m", "a again")
    assert code == 0 and "was pulled from" not in err, err


def test_predictions_swapped_by_bulk_calls_are_not_missed(project_factory, sdk_admin, tmp_path, monkeypatch):
    """The usual way to replace a model's pre-annotations: Data Manager's "Delete predictions",
    then import the new model's. Neither call touches a task's updated_at, and the project's
    prediction total stays the same: the incremental pull said "nothing changed since HEAD"."""
    p = project_factory("swap-predictions")
    src = tmp_path / "r.jsonl"
    src.write_text("".join(json.dumps({"id": f"r{i}", "text": f"review {i}"}) + "\n" for i in (1, 2)))
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"task_key": f"r{i}", "model_version": "m1", "score": 0.5,
                                         "result": choice("pos")}) + "\n" for i in (1, 2)))
    assert _push(str(p.id), "--from", str(src), "--key", "data.id", "--predictions", str(preds))[0] == 0
    annover.init(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    assert cli("snapshot", "--label-studio", str(p.id), "--key", "data.id", "-m", "m1")[0] == 0
    tids = sorted(t.id for t in sdk_admin.tasks.list(project=p.id))
    sdk_admin.actions.create(id="delete_tasks_predictions", project=p.id,
                             selected_items={"all": False, "included": tids})
    sdk_admin.projects.import_predictions(id=p.id, request=[
        {"task": t, "model_version": "m2", "score": 0.9, "result": choice("neg")} for t in tids])
    code, out, err = cli("snapshot", "--label-studio", str(p.id), "-m", "m2")
    assert code == 0 and "nothing changed" not in err, err
    rows = annover.load("HEAD", table="predictions").to_pylist()
    assert sorted((r["task_key"], r["model_version"]) for r in rows) == [("r1", "m2"), ("r2", "m2")]
    code, _, err = cli("snapshot", "--label-studio", str(p.id), "--full", "-m", "again")
    assert code == 0 and "nothing changed" in err, err


def test_labels_refused_by_a_given_config_name_that_config(project_factory, sdk_admin, tmp_path, monkeypatch):
    """`snapshot --label-studio --config OLD.xml` refused a label OLD.xml lacks, telling the user
    to fix "the labeling config of 'PROJECT'", which has the label."""
    p = project_factory("given-config")
    src = tmp_path / "r.jsonl"
    src.write_text(json.dumps({"id": "r1", "text": "review 1"}) + "\n")
    assert _push(str(p.id), "--from", str(src), "--key", "data.id")[0] == 0
    tid = next(iter(sdk_admin.tasks.list(project=p.id))).id
    sdk_admin.annotations.create(id=tid, result=choice("neutral"))
    old = tmp_path / "old.xml"
    old.write_text(sdk_admin.projects.get(id=p.id).label_config.replace('<Choice value="neutral"/>', ""))
    annover.init(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    code, _, err = cli("snapshot", "--label-studio", str(p.id), "--key", "data.id", "--config", str(old), "-m", "x")
    assert code == 4, err
    assert f"labeling config of {p.title!r}" not in err and "in place of the project's" in err, err


@corpus
@pytest.mark.parametrize("name", ["derived_csv_sentiment.csv", "sdk_csv_export_tsv.tsv", "json-min"])
def test_a_flat_label_studio_export_is_refused_as_records(project_factory, sdk_admin, tmp_path, name):
    """`dataset push --from` Label Studio's CSV export sent its 4 rows (one per annotation) as 4
    tasks, task 1 twice, with `sentiment`, `annotator`, `annotation_id` as task data; the
    snapshot of the same file reads 3 tasks and 4 annotations."""
    cfg = CORPUS / (Path(name).stem + ".xml" if name != "json-min" else "derived_csv_sentiment.xml")
    src = CORPUS / name
    if name == "json-min":  # as Label Studio writes it (label_studio_sdk's converter)
        src = tmp_path / "min.json"
        src.write_text(json.dumps([{"id": 1, "reviewText": "What a waste", "sentiment": "Negative",
                                    "annotator": "admin@example.com", "annotation_id": 7, "lead_time": 3.5,
                                    "created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-01T12:00:00Z"}]))
    p = project_factory("flat-export", cfg.read_text())
    code, out, err = _push(str(p.id), "--from", str(src))
    assert code == 3 and out == {}, err
    assert "one row per annotation" in err and "--from vN --annotations" in err and err.count("\n") == 1, err
    assert list(sdk_admin.tasks.list(project=p.id)) == []
