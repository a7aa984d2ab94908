"""Audit of the notebook annotator's save on versions as a data scientist makes them (real git
and DVC; texts from the shared corpus)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import annover
from tests.conftest import run_cli, shared_corpus

pytest.importorskip("annover.notebook.widget")

CONLL = shared_corpus("formats") / "conll_flair_fashion.conll"
CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
</View>
"""


def _sentences(path: Path) -> list[str]:
    """The sentences of a CoNLL file (its first column, a blank line between sentences)."""
    out, cur = [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.strip() and not line.startswith("-DOCSTART-"):
            cur.append(line.split()[0])
        elif cur:
            out.append(" ".join(cur))
            cur = []
    return out


@pytest.fixture
def import_file_version(tmp_path, monkeypatch):
    """A version read from a Label Studio import file: tasks with data and a model's predictions,
    no "annotations" key (what one imports into Label Studio before anybody labels)."""
    if not CONLL.exists():
        pytest.skip("needs the shared corpus")
    sents = _sentences(CONLL)
    tasks = [{"data": {"text": s, "ext_id": f"s{i}"},
              "predictions": [{"model_version": "m1", "score": 0.5, "result": [
                  {"from_name": "sentiment", "to_name": "text", "type": "choices",
                   "value": {"choices": ["Neutral"]}}]}]} for i, s in enumerate(sents)]
    root = tmp_path / "repo"
    repo = annover.init(root)
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    (tmp_path / "config.xml").write_text(CONFIG)
    monkeypatch.chdir(root)
    repo.snapshot(str(tmp_path / "tasks.json"), config=str(tmp_path / "config.xml"), key="data.ext_id",
                  message="tasks to label")
    return repo, len(sents)


def test_save_on_a_version_whose_tasks_have_no_annotations_key(import_file_version):
    """save() raised KeyError: 'annotations' (a traceback) on a version read from a Label Studio
    import file, whose tasks have no "annotations" key: the writer gives the task back as it was."""
    repo, n = import_file_version
    ann = annover.annotate(repo, "v1", annotator="ds@example.com")
    ann.choose("Positive")
    ann.skip()
    ann.submit()  # the model's suggestion, Neutral
    res = ann.save(message="first answers")
    got = {r["task_key"]: (r["labels"], r["was_cancelled"]) for r in res.answers.to_pylist()}
    assert got == {"s0": (["Positive"], False), "s1": (None, True), "s2": (["Neutral"], False)}
    rows = repo.diff("v1", res.tag).rows.to_pylist()
    assert sorted((r["change"], r["task_key"], r["answer_key"]) for r in rows) == [
        ("added", f"s{i}", "ds@example.com#0") for i in range(3)]
    loaded = repo.load(res.tag, "annotations").to_pylist()
    assert sorted((r["task_key"], r["labels"], r["was_cancelled"]) for r in loaded) == sorted(
        (k, labs, sk) for k, (labs, sk) in got.items())
    assert repo.load(res.tag, "tasks").num_rows == n


def test_an_export_of_the_saved_version_holds_the_answers(import_file_version, tmp_path):
    """The answers given on tasks read from an import file were in the version (load, diff) but not
    in its Label Studio export: the task's provenance says its input had no "annotations" key, so
    the writer left the key, and the answers, out. `annover export` now writes them."""
    repo, _ = import_file_version
    ann = annover.annotate(repo, "v1", annotator="ds@example.com")
    ann.choose("Negative")
    ann.skip()
    res = ann.save(message="answers")
    out = tmp_path / "export.json"
    p = run_cli("export", res.tag, "--format", "label-studio", "--out", str(out), cwd=repo.root)
    assert p.returncode == 0, p.stderr
    tasks = {t["data"]["ext_id"]: t for t in json.loads(out.read_text())}
    got = {k: [(a["completed_by"], a["was_cancelled"], [r["value"]["choices"] for r in a["result"]])
               for a in t["annotations"]] for k, t in tasks.items() if t.get("annotations")}
    assert got == {"s0": [({"email": "ds@example.com"}, False, [["Negative"]])],
                   "s1": [({"email": "ds@example.com"}, True, [])]}
    assert "annotations" not in tasks["s2"]  # an unanswered task is written as it was read
    assert tasks["s0"]["predictions"][0]["model_version"] == "m1"
    assert repo.diff("v1", res.tag).summary["tasks"]["data_changed"] == 0


def test_a_save_while_another_session_saves_keeps_both(two_rounds, monkeypatch):
    """Two people label v2 in two kernels and save at the same moment. A save read HEAD's tables
    before make_version took HEAD as its start, so a version landing in between (the other
    session's save) was built over and its answers silently dropped from HEAD. HEAD is now taken
    before reading; the save is refused by the lock and made again on top of the other one."""
    from annover.notebook import answers as answers_

    repo, _, _ = two_rounds
    a = annover.annotate(repo, "v2", annotator="a@example.com")
    b = annover.annotate(repo, "v2", annotator="b@example.com")
    a.choose("neutral")
    b.choose("positive")
    real, landed = answers_.new_rows, []

    def meanwhile(*args, **kwargs):  # while b's save reads, a's save lands (real git, real DVC)
        if not landed:
            landed.append(None)
            landed[0] = a.save(message="a's answers").tag
        return real(*args, **kwargs)

    monkeypatch.setattr(answers_, "new_rows", meanwhile)
    res = b.save(message="b's answers")
    assert landed == ["v3"] and res.tag == "v4" and res.version.parents == [repo.show("v3").id]
    head = repo.load("HEAD", "annotations").to_pylist()
    first = a.session.tasks[0].key
    mine = sorted((r["annotator"], r["labels"]) for r in head if r["annotator"] in ("a@example.com", "b@example.com"))
    assert mine == [("a@example.com", ["neutral"]), ("b@example.com", ["positive"])]
    assert {r["task_key"] for r in head if r["annotator"] == "b@example.com"} == {first}
    rows = repo.diff("v3", "v4").rows.to_pylist()
    assert [(r["change"], r["answer_key"]) for r in rows] == [("added", "b@example.com#0")]


def test_a_folder_of_images_in_a_repository_of_texts_is_refused(two_rounds, tmp_path):
    """A folder of images given to annotate() in a repository whose HEAD labels texts became text
    tasks: each image's path shown as a text to classify, and saved as one into the text dataset.
    It is refused, saying why; kind="text" says they are meant as texts."""
    from annover.errors import UsageError
    from PIL import Image

    repo, _, _ = two_rounds
    pics = repo.root / "pics"
    pics.mkdir()
    Image.new("RGB", (64, 48), "red").save(pics / "a.jpg")
    with pytest.raises(UsageError) as e:
        annover.annotate(str(pics), labels=["positive", "negative"], annotator="x@example.com")
    assert str(e.value).startswith("these tasks are images, and the labeling config of HEAD labels text "
                                   "(control 'sentiment' on 'text')")
    ann = annover.annotate(str(pics), labels=["positive"], kind="text", annotator="x@example.com")
    assert ann.session.tasks[0].kind == "text" and ann.session.tasks[0].value.endswith("pics/a.jpg")



def test_a_save_also_exports_answers_an_earlier_save_left_out(import_file_version, tmp_path):
    """A version saved before that fix keeps its answered tasks marked as read without an
    "annotations" key (made here as such a save made it: v1's tasks as they were, plus the
    session's rows); the next save clears the mark on every task with answers, not only its own
    session's, so the export holds them all."""
    from annover.formats.tables import Tables, finish
    from annover.notebook import answers as answers_
    from annover.repo.snapshot import SnapshotInput, make_version

    repo, _ = import_file_version
    old = annover.annotate(repo, "v1", annotator="old@example.com")
    old.choose("Positive")
    tasks, anns = repo.load("v1", "tasks"), repo.load("v1", "annotations")
    _, rows, _ = answers_.new_rows(old.session, tasks, anns, None)
    tables = Tables(tasks, finish(answers_._table(rows, "annotations"), "annotations", "test"),
                    repo.load("v1", "predictions"), "notebook")
    v2 = make_version(repo, SnapshotInput(tables=tables, origin={"kind": "notebook"}, config_text=CONFIG,
                                          message="as a save made before the fix")).tag
    first = repo.load(v2, "tasks").column("ls_original")[0].as_py()
    assert v2 == "v2" and json.loads(first) == {"-": ["annotations"]}
    new = annover.annotate(repo, v2, only=["s5"], annotator="new@example.com")
    new.choose("Negative")
    v3 = new.save(message="later").tag
    out = tmp_path / "export.json"
    assert run_cli("export", v3, "--format", "label-studio", "--out", str(out), cwd=repo.root).returncode == 0
    got = {t["data"]["ext_id"]: [a["completed_by"]["email"] for a in t["annotations"]]
           for t in json.loads(out.read_text()) if t.get("annotations")}
    assert got == {"s0": ["old@example.com"], "s5": ["new@example.com"]}
