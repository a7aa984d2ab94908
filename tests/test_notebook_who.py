"""Who the notebook's annotator is, among a version's annotators: Label Studio names one person by
e-mail (a live pull, a full export's user object) or by numeric user id (the UI's plain export).
Their earlier answers are theirs (shown as answered before, updated by a new answer) when the data
says the id is their e-mail, and an e-mail matches in any case; different people never match.
Real git and DVC; the shared corpus's Label Studio exports read in place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import annover
from tests.conftest import EXAMPLES, shared_corpus

widget = pytest.importorskip("annover.notebook.widget")

CORPUS = shared_corpus("label-studio")
#: multiturn_chat_choices.json names its annotator by numeric id (completed_by: 1), a plain export
CHAT, CHAT_CONTROL = CORPUS / "multiturn_chat_choices.json", "turn1_response_address_intent"
ANN1 = "annotator1@example.com"


def _earlier(ann) -> dict | None:
    task = ann.view["task"]
    return task["earlier"] if task else None


def _diff(repo, a: str, b: str) -> list[tuple]:
    return sorted((r["change"], r["task_key"], r["answer_key"], r["labels_a"], r["labels_b"])
                  for r in repo.diff(a, b).rows.to_pylist())


@pytest.fixture
def chat_repo(tmp_path, monkeypatch):
    """The corpus's plain export (annotator 1) snapshotted without a users map (v1: annotator "1"),
    then with one saying user 1 is annotator1@example.com (v2: the e-mail)."""
    root = tmp_path / "chat"
    repo = annover.init(root)
    monkeypatch.chdir(root)
    (root / "users.json").write_text(json.dumps({"1": ANN1}))
    v1 = repo.snapshot(str(CHAT), config=str(CHAT.with_suffix(".xml")), message="plain export")
    v2 = repo.snapshot(str(CHAT), users="users.json", message="the same, users known")
    assert {r["annotator"] for r in repo.load(v1.tag).to_pylist()} == {"1"}
    assert {r["annotator"] for r in repo.load(v2.tag).to_pylist()} == {ANN1}
    return repo


def test_a_user_id_the_repository_maps_to_the_persons_email_is_them(chat_repo):
    """v1 names the annotator 1; the repository's users map says 1 is annotator1@example.com: their
    answers in v1 are theirs (before, nothing was shown as answered before)."""
    ann = annover.annotate(chat_repo, "v1", control=CHAT_CONTROL, annotator=ANN1)
    first = ann.session.tasks[0]
    assert ann.view["task"]["key"] == first.key
    labels = [r["labels"] for r in chat_repo.load("v1").to_pylist()
              if r["task_key"] == first.key and r["from_name"] == CHAT_CONTROL]
    assert _earlier(ann) == {"labels": labels[0], "skipped": False}
    assert all(t.earlier is not None for t in ann.session.tasks)


def test_an_email_matches_in_any_case_and_the_answer_updates_the_annotation(chat_repo):
    """git's user.email written in other case is the same person: answered before is shown, and the
    save updates their annotation (one per person and task) instead of adding a second."""
    ann = annover.annotate(chat_repo, "v2", control=CHAT_CONTROL, annotator="Annotator1@Example.COM")
    assert _earlier(ann) is not None
    key = ann.session.tasks[0].key
    before = _earlier(ann)["labels"]
    other = next(lab for lab in ann.session.labels if lab not in before)
    ann.choose(other)
    res = ann.save(message="changed in the notebook")
    rows = _diff(chat_repo, "v2", res.tag)  # the answer's other controls' rows: changed (its lead time)
    assert {r[:3] for r in rows} == {("changed", key, f"{ANN1}#0")}
    assert [r for r in rows if r[3] != r[4]] == [("changed", key, f"{ANN1}#0", before, [other])]


def test_the_id_of_someone_else_or_of_no_known_person_is_not_them(chat_repo):
    """Another e-mail, a login name, or an id nobody mapped are not annotator1."""
    for who in ("annotator2@example.com", "annotator1", "1@example.com"):
        assert _earlier(annover.annotate(chat_repo, "v1", control=CHAT_CONTROL, annotator=who)) is None, who
    (chat_repo.dir / "users.json").unlink()  # the repository forgets the map: 1 is no one known
    assert _earlier(annover.annotate(chat_repo, "v1", control=CHAT_CONTROL, annotator=ANN1)) is None


def _export(path: Path, annotations: list[tuple[str, object, str]]) -> Path:
    """A Label Studio export of the sample's texts: (ext_id, completed_by, sentiment) each."""
    texts = {"a-1": "The battery lasts all day.", "a-2": "The screen cracked.", "a-3": "It is a phone."}
    tasks = []
    for i, (ext_id, text) in enumerate(texts.items()):
        anns = [{"id": 500 + j, "completed_by": who, "was_cancelled": False, "ground_truth": False,
                 "created_at": "2026-10-02T10:00:00.000000Z", "updated_at": "2026-10-02T10:00:00.000000Z",
                 "lead_time": 3.0, "result": [{"id": f"r{j}", "from_name": "sentiment", "to_name": "text",
                                                 "type": "choices", "value": {"choices": [lab]}}]}
                for j, (k, who, lab) in enumerate(annotations) if k == ext_id]
        tasks.append({"id": 100 + i, "data": {"ext_id": ext_id, "text": text}, "annotations": anns})
    path.write_text(json.dumps(tasks))
    return path


def test_a_version_that_gives_the_id_with_the_email_says_who_the_id_is(repo, tmp_path):
    """One export names Alice as {id: 12, email} on a-1 and as 12 on a-2 (no users map): the version
    itself says 12 is Alice, so a-2 is hers too; her answer updates that annotation under the name
    it had (as Label Studio keeps an edited annotation's completed_by): the diff says changed.
    User 13 is nobody known: Bob's answer on a-3 stands beside it."""
    alice, bob = "alice@example.com", "bob@example.com"
    f = _export(tmp_path / "mixed.json", [("a-1", {"id": 12, "email": alice}, "positive"),
                                          ("a-2", 12, "negative"), ("a-3", 13, "neutral")])
    v1 = repo.snapshot(str(f), config=str(EXAMPLES / "labeling.xml"), key="data.ext_id", message="mixed")
    ann = annover.annotate(repo, v1.tag, only=["a-2", "a-3"], control="sentiment", annotator=alice)
    assert _earlier(ann) == {"labels": ["negative"], "skipped": False}
    ann.choose("neutral")
    assert _earlier(ann) is None  # a-3: user 13's, not hers
    res = ann.save(message="alice")
    assert _diff(repo, v1.tag, res.tag) == [("changed", "a-2", "12#0", ["negative"], ["neutral"])]
    bob_ann = annover.annotate(repo, res.tag, only=["a-2", "a-3"], control="sentiment", annotator=bob)
    assert _earlier(bob_ann) is None
    bob_ann.goto(1)
    assert _earlier(bob_ann) is None
    bob_ann.choose("positive")
    res2 = bob_ann.save(message="bob")
    assert _diff(repo, res.tag, res2.tag) == [("added", "a-3", f"{bob}#0", None, ["positive"])]


def test_an_id_the_repository_and_the_version_map_to_different_people_is_no_ones(repo, tmp_path):
    """The repository's users map says 12 is Carol; the version gives 12 as Alice: which server's
    12 it is cannot be told, so neither is shown an answer as theirs."""
    alice, carol = "alice@example.com", "carol@example.com"
    (repo.root / "users.json").write_text(json.dumps({"12": carol}))
    f = _export(tmp_path / "mixed.json", [("a-1", {"id": 12, "email": alice}, "positive"), ("a-2", 7, "negative"),
                                          ("a-3", 12, "negative")])
    v1 = repo.snapshot(str(f), config=str(EXAMPLES / "labeling.xml"), key="data.ext_id", users="users.json",
                       message="mixed")
    assert {r["annotator"] for r in repo.load(v1.tag).to_pylist()} == {alice, carol, "7"}  # 12 read as Carol
    for who in (alice, carol):
        ann = annover.annotate(repo, v1.tag, only=["a-3"], control="sentiment", annotator=who)
        assert _earlier(ann) == ({"labels": ["negative"], "skipped": False} if who == carol else None), who


def test_tasks_given_as_a_list_show_the_persons_earlier_answer(repo):
    """Texts given as a plain list, some of them answered and saved before by this person in
    another session: those show "answered before", pre-selected (they did not)."""
    texts = ["great phone", "awful battery", "fine screen"]
    first = annover.annotate(texts, labels=["positive", "negative"], annotator="ann@example.com")
    first.choose("positive")
    first.skip()
    first.save(message="first pass")
    again = annover.annotate(texts[:2] + ["new one"], labels=["positive", "negative"], annotator="ann@example.com")
    assert _earlier(again) == {"labels": ["positive"], "skipped": False}
    assert [lab["name"] for lab in again.view["labels"] if lab["selected"]] == ["positive"]
    again.forward()
    assert _earlier(again) == {"labels": [], "skipped": True}
    again.forward()
    assert _earlier(again) is None
    other = annover.annotate(texts[:2], labels=["positive", "negative"], annotator="someone@example.com")
    assert _earlier(other) is None
    records = annover.annotate([{"text": t} for t in texts[:1]], labels=["positive", "negative"],
                               annotator="ann@example.com")
    assert _earlier(records) == {"labels": ["positive"], "skipped": False}
