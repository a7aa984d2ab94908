"""The notebook annotator on a real repository (git + DVC, a local DVC remote): tasks from a
version, saves that make versions, and a diff that shows exactly the session's answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import annover
from annover.errors import UsageError
from annover.labelstudio import tasks as ls_tasks
from tests.conftest import git
from tests.ls_fixtures import ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures

widget = pytest.importorskip("annover.notebook.widget")

BOB = "bob@example.com"


def _answers(result) -> list[tuple]:
    t = result.answers
    return sorted(zip(t.column("task_key").to_pylist(), t.column("annotator").to_pylist(),
                      t.column("labels").to_pylist(), t.column("was_cancelled").to_pylist()))


def test_save_makes_a_version_whose_diff_is_exactly_the_session(two_rounds):
    repo, _, v2 = two_rounds
    ann = annover.annotate(repo, "v2", annotator=BOB)
    first = [t.key for t in ann.session.tasks[:4]]
    ann.choose("positive")
    ann.skip()
    ann.choose("negative")
    ann.back()
    ann.choose("neutral")  # changes the third answer
    ann.undo()  # and takes that back
    ann.choose("negative")
    ann.choose("neutral")
    res = ann.save(message="checked in the notebook")
    assert res.tag == "v3" and res.version.parents == [v2.id]
    assert res.version.record["origin"]["kind"] == "notebook"
    expected = [(first[0], BOB, ["positive"], False), (first[1], BOB, None, True),
                (first[2], BOB, ["negative"], False), (first[3], BOB, ["neutral"], False)]
    assert _answers(res) == expected
    d = repo.diff("v2", "v3")
    rows = d.rows.to_pylist()
    assert {(r["table"], r["change"]) for r in rows} == {("annotations", "added")}
    assert sorted((r["task_key"], r["answer_key"], r["labels_b"]) for r in rows) == [
        (first[0], f"{BOB}#0", ["positive"]), (first[1], f"{BOB}#0", None),
        (first[2], f"{BOB}#0", ["negative"]), (first[3], f"{BOB}#0", ["neutral"])]
    # the new version is the old one plus these answers: nothing else moved
    old, new = repo.load("v2"), repo.load("v3")
    assert new.num_rows == old.num_rows + 4
    assert repo.load("v3", "tasks").equals(repo.load("v2", "tasks"))
    ids = lambda rev: {mv: s["id"] for mv, s in repo.show(rev).record["tables"]["predictions"].items()}
    assert ids("v3") == ids("v2") and ids("v2")
    mine = [r for r in new.to_pylist() if r["annotator"] == BOB]
    assert all(r["lead_time"] is not None and r["created_at"] for r in mine)
    assert [r["was_cancelled"] for r in mine if r["task_key"] == first[1]] == [True]


def test_a_second_save_updates_the_session_answers(two_rounds):
    repo, _, _ = two_rounds
    ann = annover.annotate(repo, "v2", only="unlabeled", annotator=BOB)
    key = ann.session.tasks[0].key
    ann.choose("positive")
    ann.save(message="first")
    assert ann.view["saved"]["text"] == "✓ saved as v3"
    ann.back()
    ann.choose("negative")
    assert ann.view["saved"]["text"] == "✓ in the journal · 1 not in a version yet"
    resumed = annover.annotate(repo, "v2", only="unlabeled", annotator=BOB)  # what a restart shows
    assert resumed.session.unsaved() == 1 and resumed.session.saved_name == "v3"
    ann.save(message="second")
    assert ann.view["saved"]["text"] == "✓ saved as v4"
    rows = repo.diff("v3", "v4").rows.to_pylist()
    assert [(r["change"], r["task_key"], r["labels_a"], r["labels_b"]) for r in rows] == [
        ("changed", key, ["positive"], ["negative"])]
    assert "relabel" in rows[0]["kinds"]


def test_a_save_after_taking_back_every_saved_answer_removes_them(two_rounds):
    """Undo of every answer a save put in a version leaves "2 not in a version yet": the next save
    makes the version without them (it is not refused as "nothing answered yet")."""
    repo, _, _ = two_rounds
    ann = annover.annotate(repo, "v2", annotator=BOB)
    keys = [t.key for t in ann.session.tasks[:2]]
    ann.choose("positive")
    ann.skip()
    ann.save(message="first")
    assert ann.undo() and ann.undo() and not ann.session.answers
    assert ann.view["saved"]["text"] == "✓ in the journal · 2 not in a version yet"
    res = ann.save(message="took them back")
    assert res.tag == "v4" and res.answers.num_rows == 0
    assert ann.view["saved"]["text"] == "✓ saved as v4"
    rows = repo.diff("v3", "v4").rows.to_pylist()
    assert sorted((r["change"], r["task_key"]) for r in rows) == sorted(("removed", k) for k in keys)
    assert repo.load("v4").equals(repo.load("v2"))


def test_only_unlabeled_disagreement_or_keys_and_predictions_preselected(two_rounds):
    repo, _, _ = two_rounds
    ann = repo.load("v2")
    live = {}
    for r in ann.to_pylist():
        if r["from_name"] == "sentiment" and not r["was_cancelled"]:
            live.setdefault(r["task_key"], set()).add(tuple(r["labels"]))
    tasks = repo.load("v2", "tasks").column("task_key").to_pylist()
    unlabeled = annover.annotate(repo, "v2", only="unlabeled", annotator=BOB).session
    assert [t.key for t in unlabeled.tasks] == [k for k in tasks if k not in live]
    with pytest.raises(UsageError, match="no tasks to label"):
        annover.annotate(repo, "v2", only="disagreement")  # the sample's annotators agree
    labeled = next(k for k in tasks if k in live)
    other = next(lab for lab in ("positive", "negative") if (lab,) not in live[labeled])
    carol = annover.annotate(repo, "v2", only=[labeled], annotator="carol@example.com")
    carol.choose(other)
    carol.save(message="a second opinion")
    dis = annover.annotate(repo, "v3", only="disagreement", annotator=BOB).session
    assert [t.key for t in dis.tasks] == [labeled]
    some = annover.annotate(repo, "v2", only=[tasks[3], tasks[1]], annotator=BOB).session
    assert [t.key for t in some.tasks] == [tasks[3], tasks[1]]
    preds = {r["task_key"]: r for r in repo.load("v2", "predictions").to_pylist() if r["from_name"] == "sentiment"}
    with_pred = next(t for t in some.tasks + unlabeled.tasks if t.key in preds)
    assert with_pred.prediction is not None and with_pred.prediction.labels == tuple(preds[with_pred.key]["labels"])
    assert with_pred.prediction.score == preds[with_pred.key]["score"]
    with pytest.raises(UsageError, match="has no task 'nope'"):
        annover.annotate(repo, "v2", only=["nope"])
    with pytest.raises(UsageError, match="only='sometimes'"):
        annover.annotate(repo, "v2", only="sometimes")


def test_resume_after_the_process_ends_then_save(two_rounds):
    repo, _, _ = two_rounds
    a = annover.annotate(repo, "v2", annotator=BOB)
    a.choose("positive")
    a.choose("negative")
    journal = a.session.journal
    assert journal.is_relative_to(repo.dir / "logs") and json.loads(journal.read_text())["position"] == 2
    b = annover.annotate(repo, "v2", annotator=BOB)  # the same call: the same session, resumed
    assert b.session.journal == journal and b.session.position == 2 and len(b.session.answers) == 2
    res = b.save(message="resumed")
    assert res.answers.num_rows == 2
    assert ".annover/logs" not in git("status", "--porcelain", "--untracked-files=all", cwd=repo.root)


def test_new_texts_go_into_a_new_repository_with_a_made_config(repo):
    ann = annover.annotate(["a fine day", "a dull day"], labels=["good", "bad"], annotator=BOB, repo=repo)
    ann.choose("good")
    ann.choose("bad")
    res = ann.save(message="two texts")
    assert res.tag == "v1"
    cfg = repo.config_text("v1")
    assert '<Choices name="label" toName="text" choice="single"' in cfg
    tasks = repo.load("v1", "tasks").to_pylist()
    assert sorted(json.loads(t["data"])["text"] for t in tasks) == ["a dull day", "a fine day"]
    out = repo.export("v1", "label-studio", "v1.json")
    exported = json.loads(open(out.path).read())
    assert sorted(t["annotations"][0]["result"][0]["value"]["choices"][0] for t in exported) == ["bad", "good"]
    # a snapshot of that export gives the same version content back (the version is like any other)
    again = repo.snapshot("v1.json", message="round trip")
    assert again.changed is False


def test_a_version_without_a_choices_control_is_a_clear_error(repo):
    (repo.root / "ner.xml").write_text('<View><Text name="text" value="$text"/><Labels name="ents" toName="text">'
                                       '<Label value="PER"/></Labels></View>')
    (repo.root / "t.json").write_text(json.dumps([{"data": {"text": "Ada"}}]))
    repo.snapshot("t.json", config="ner.xml", message="ner")
    with pytest.raises(UsageError, match="has no Choices control: the notebook annotator labels with one"):
        annover.annotate(repo, "v1")


@pytest.mark.labelstudio
def test_the_saved_version_exported_imports_into_label_studio(repo, tmp_path, ls, sdk_admin, project_factory):
    """The notebook's answers, exported as Label Studio JSON, import into a real project."""
    ann = annover.annotate([{"id": "a", "text": "a fine day"}, {"id": "b", "text": "a dull day"},
                            {"id": "c", "text": "rain"}], labels=["good", "bad"], repo=repo,
                           annotator=sdk_admin.users.whoami().email,  # a user of the server: push checks
                           key="data.id")
    ann.choose("good")
    ann.skip()
    ann.choose("bad")
    res = ann.save(message="notebook")
    out = repo.export(res.tag, "label-studio", str(tmp_path / "v.json"))
    project = project_factory("notebook", repo.config_text(res.tag))
    r = ls_tasks.push(ls, project.id, out.path, key="data.id", annotations=True)
    assert (r.sent, r.annotations) == (3, 3)
    got = {}
    for t in sdk_admin.tasks.list(project=project.id, fields="all"):
        got[t.data["id"]] = [(a["was_cancelled"], [c for i in a["result"] for c in i["value"]["choices"]])
                             for a in t.annotations]
    assert got == {"a": [(False, ["good"])], "b": [(True, [])], "c": [(False, ["bad"])]}


def test_new_texts_join_a_repository_whose_config_gives_the_labels(two_rounds):
    repo, _, _ = two_rounds
    ann = annover.annotate([{"ext_id": "new-1", "text": "Arrived broken."}], annotator=BOB, key="data.ext_id")
    assert ann.session.labels == ["positive", "negative", "neutral"] and ann.session.from_name == "sentiment"
    ann.choose("negative")
    res = ann.save(message="one more")
    rows = repo.diff("v2", res.tag).rows.to_pylist()
    assert sorted((r["table"], r["change"], r["task_key"]) for r in rows) == [
        ("annotations", "added", "new-1"), ("tasks", "added", "new-1")]
    assert repo.config_text(res.tag) == repo.config_text("v2")


def test_a_model_version_is_refused_where_the_version_has_no_predictions(two_rounds):
    repo, _, _ = two_rounds
    assert not repo.show("v1").model_versions and repo.show("v2").model_versions
    with pytest.raises(UsageError, match="version v1 has no predictions"):
        annover.annotate(repo, "v1", model_version="nope")
    with pytest.raises(UsageError, match="no predictions of model version 'nope'"):
        annover.annotate(repo, "v2", model_version="nope")


ALICE = "alice@example.com"


def _by(repo, rev: str, task: str, who: str) -> dict[str, list[dict]]:
    """annotation key -> rows of ``who``'s annotations on ``task`` in ``rev``."""
    out: dict[str, list[dict]] = {}
    for r in repo.load(rev).to_pylist():
        if r["task_key"] == task and r["annotator"] == who:
            out.setdefault(r["annotation_key"], []).append(r)
    return out


def test_answering_again_in_another_session_updates_the_persons_annotation(two_rounds, tmp_path):
    """Bob answered a task (a save), then, in another session, went to it again, answered, went
    back and answered differently: the save gave Bob a second annotation on the task (a Label
    Studio export held two by him). Label Studio keeps one per person and task, updated when they
    change it: so does the save now, and the widget says the task was answered before."""
    repo, _, _ = two_rounds
    first = annover.annotate(repo, "v2", only=["rev-001"], annotator=BOB)
    first.choose("positive")
    assert first.save(message="first").tag == "v3"
    ann = annover.annotate(repo, "v3", only=["rev-001", "rev-002"], annotator=BOB)  # another session
    task = ann.view["task"]
    assert task["key"] == "rev-001" and task["answer"] is None
    assert task["earlier"] == {"labels": ["positive"], "skipped": False}
    assert [lab["name"] for lab in ann.view["labels"] if lab["selected"]] == ["positive"]  # pre-selected
    ann.choose("negative")  # answer
    ann.back()  # go back
    ann.choose("neutral")  # answer differently
    assert {k: a.labels for k, a in ann.session.answers.items()} == {"rev-001": ("neutral",)}  # the journal: one
    res = ann.save(message="changed my mind")
    mine = _by(repo, res.tag, "rev-001", BOB)
    assert [[r["labels"] for r in rows] for rows in mine.values()] == [[["neutral"]]]
    assert _by(repo, res.tag, "rev-001", ALICE) == _by(repo, "v3", "rev-001", ALICE)  # others' kept
    rows = repo.diff("v3", res.tag).rows.to_pylist()
    assert [(r["change"], r["task_key"], r["answer_key"], r["labels_a"], r["labels_b"]) for r in rows] == [
        ("changed", "rev-001", f"{BOB}#0", ["positive"], ["neutral"])]
    out = repo.export(res.tag, "label-studio", str(tmp_path / "export.json"))
    task = next(t for t in json.loads(Path(out.path).read_text()) if t["data"]["ext_id"] == "rev-001")
    by_bob = [a for a in task["annotations"] if a["completed_by"] == {"email": BOB}]
    assert [[c for r in a["result"] for c in r["value"]["choices"]] for a in by_bob] == [["neutral"]]


def test_answering_a_label_studio_annotation_updates_it_and_undo_puts_it_back(two_rounds):
    """Alice's Label Studio annotation of rev-006 (sentiment and entities): her notebook answer
    updates it (its id, creation time and entities kept, lead times added), a second save too, and
    undo then save gives it back as it was; a task she skipped in Label Studio says so."""
    repo, _, _ = two_rounds
    (key, before), = _by(repo, "v2", "rev-006", ALICE).items()
    ann = annover.annotate(repo, "v2", only=["rev-006", "rev-017"], annotator=ALICE)
    assert ann.view["task"]["earlier"] == {"labels": ["positive"], "skipped": False}
    ann.choose("negative")
    ann.save(message="alice in the notebook")
    (key3, after), = _by(repo, "v3", "rev-006", ALICE).items()
    assert key3 == key and sorted((r["from_name"], tuple(r["labels"])) for r in after) == [
        ("entities", ("LOC",)), ("sentiment", ("negative",))]
    assert {r["ls_annotation_id"] for r in after} == {before[0]["ls_annotation_id"]}
    assert {r["created_at"] for r in after} == {before[0]["created_at"]}
    assert after[0]["lead_time"] > before[0]["lead_time"]
    ann.back()
    ann.choose("neutral")
    ann.save(message="again")  # the same session's second save: still one annotation, updated
    (_, again), = _by(repo, "v4", "rev-006", ALICE).items()
    assert sorted((r["from_name"], tuple(r["labels"])) for r in again) == [
        ("entities", ("LOC",)), ("sentiment", ("neutral",))]
    assert again[0]["lead_time"] - before[0]["lead_time"] == pytest.approx(ann.session.answers["rev-006"].lead_time)
    resumed = annover.annotate(repo, "v2", only=["rev-006", "rev-017"], annotator=ALICE)  # the journal keeps it
    assert list(resumed.session.replaced) == ["rev-006"]
    while ann.session.answers:
        ann.undo()
    ann.save(message="taken back")
    assert repo.load("v5").equals(repo.load("v2"))
    bob = annover.annotate(repo, "v2", only=["rev-017"], annotator=BOB)
    assert bob.view["task"]["earlier"] == {"labels": [], "skipped": True}
