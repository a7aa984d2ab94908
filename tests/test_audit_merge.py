"""``annover merge`` as a git user meets it, on a real export of the shared corpus: two branches
relabeling its boxes, merged; what a refusal says and that it writes nothing. Real git, real DVC."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

import annover
from annover.model import canonical as C
from annover.model.threeway import merge_tables
from annover.repo.merging import row_hashes

from .conftest import git, run_cli, shared_corpus
from .test_merge import BASE, _branches, _edit, _init

CORPUS = shared_corpus("label-studio")
EXPORT, CONFIG = CORPUS / "evalme_bbox_multi.json", CORPUS / "evalme_bbox_multi.xml"


def _relabeled(out: Path, *edits: tuple[int, str, str]) -> str:
    """The corpus export with, per (task id, annotator e-mail, label), that annotator's first box
    on that task relabeled, written to ``out`` (outside the work tree)."""
    tasks = copy.deepcopy(json.loads(EXPORT.read_text()))
    for tid, email, label in edits:
        task = next(t for t in tasks if t["id"] == tid)
        ann = next(a for a in task["annotations"] if a["completed_by"]["email"] == email)
        ann["result"][0]["value"]["rectanglelabels"] = [label]
    out.write_text(json.dumps(tasks))
    return str(out)


@pytest.fixture
def branches(tmp_path, monkeypatch):
    """v1 the corpus export on main; branch ``x`` relabels a box of task 187 (v2), main one of
    task 188 (v3): a merge with nothing in conflict, HEAD on main."""
    root, inputs = tmp_path / "labels", tmp_path / "inputs"
    inputs.mkdir()
    annover.init(root)
    monkeypatch.chdir(root)
    repo = annover.Repo(root)
    repo.snapshot(str(EXPORT), config=str(CONFIG), key="id", message="corpus export")
    git("switch", "-q", "-c", "x", cwd=root)
    annover.Repo(root).snapshot(_relabeled(inputs / "x.json", (187, "annotator1@example.com", "Road")), message="x")
    git("switch", "-q", "main", cwd=root)
    annover.Repo(root).snapshot(_relabeled(inputs / "main.json", (188, "annotator2@example.com", "Road")),
                                message="main")
    return root


def _state(root: Path) -> tuple[str, str, str]:
    """(git HEAD's commit, git's tags, the work tree's .annover/HEAD or '-' when missing)."""
    head = root / ".annover" / "HEAD"
    return (git("rev-parse", "HEAD", cwd=root), git("tag", cwd=root),
            head.read_text() if head.exists() else "-")


@pytest.mark.parametrize("edit", ["edited", "deleted"])
def test_a_merge_over_a_hand_edited_annover_head_is_refused_and_keeps_the_edit(branches, edit):
    """``.annover/HEAD`` edited (or deleted) by hand in the work tree is named with the ``git
    checkout`` that restores it, exit 8, as a snapshot does: the merge must not commit over it
    (it did: a new version, and the user's file replaced without a word), dry run included."""
    root = branches
    head = root / ".annover" / "HEAD"
    if edit == "edited":
        head.write_text(head.read_text() + "junk\n")
    else:
        head.unlink()
    before = _state(root)
    for args in (["merge", "x", "--dry-run"], ["merge", "x"], ["merge", "x", "--theirs"]):
        p = run_cli(*args, cwd=root)
        assert p.returncode == 8, (args, p.stderr)
        assert "git checkout HEAD -- .annover/HEAD" in p.stderr and "Traceback" not in p.stderr, p.stderr
        assert _state(root) == before, args
    git("checkout", "--", ".annover/HEAD", cwd=root)
    p = run_cli("merge", "x", cwd=root)  # restored: the merge goes on
    assert p.returncode == 0, p.stderr
    assert len(annover.Repo(root).show("HEAD").parents) == 2


def test_a_conflict_names_the_control_and_what_each_side_labeled(tmp_path, branches):
    """Both branches relabel the same box of task 189 differently: the conflict line (and --json)
    names the answer, the control and each side's label, so the user can pick --ours or --theirs
    without a diff first (it named the answer only); refused, nothing written."""
    root = branches
    inputs = tmp_path / "inputs"
    git("switch", "-q", "x", cwd=root)  # each branch keeps its first relabel (the fixture's), and relabels 189
    annover.Repo(root).snapshot(_relabeled(inputs / "x2.json", (187, "annotator1@example.com", "Road"),
                                           (189, "annotator3@example.com", "Obstacle")), message="x: 189")
    git("switch", "-q", "main", cwd=root)
    annover.Repo(root).snapshot(_relabeled(inputs / "main2.json", (188, "annotator2@example.com", "Road"),
                                           (189, "annotator3@example.com", "Road")), message="main: 189")
    before = _state(root)
    p = run_cli("merge", "x", cwd=root)
    assert p.returncode == 16, p.stderr
    assert ("189: changed differently on both sides: annotation annotator3@example.com#0 "
            "(label: ours 'Road' | theirs 'Obstacle')") in p.stderr, p.stderr
    assert "--ours or --theirs" in p.stderr and _state(root) == before
    p = run_cli("merge", "x", "--json", cwd=root)
    assert p.returncode == 16 and _state(root) == before
    (conflict,) = json.loads(p.stdout)["conflicts"]
    assert conflict["task_key"] == "189" and conflict["sides"] == [
        {"part": "annotation annotator3@example.com#0", "control": "label", "ours": ["Road"], "theirs": ["Obstacle"]}]
    p = run_cli("merge", "x", "--theirs", cwd=root)  # settled: theirs' box
    assert p.returncode == 0, p.stderr
    assert "conflicts (taken from theirs): 1 task(s)" in p.stderr and "theirs 'Obstacle'" in p.stderr
    def labels(rev: str) -> list:
        return sorted((r["region_key"], r["labels"][0]) for r in annover.Repo(root).load(rev).to_pylist()
                      if r["task_key"] == "189" and r["annotator"] == "annotator3@example.com")
    assert labels("HEAD") == labels("x") != labels("HEAD~1")


def test_a_choices_conflict_reads_as_the_readme_shows_it(tmp_path, monkeypatch):
    """The README's example line, as a merge of two branches that answered one choice differently
    says it; and an answer whose labels agree but whose other values differ says so."""
    lab = _init(tmp_path, monkeypatch)
    base = _edit(BASE, t1=("one", {"alice@x.org": "neutral"}))
    _branches(lab, _edit(base, t1=("one", {"alice@x.org": "positive"})),
              _edit(base, t1=("one", {"alice@x.org": "negative"})), base)
    p = run_cli("merge", "b", cwd=lab.root)
    assert p.returncode == 16, p.stderr
    assert ("t1: changed differently on both sides: annotation alice@x.org#0 (sentiment: ours 'positive' | "
            "theirs 'negative')") in p.stderr, p.stderr


def test_a_conflict_whose_labels_agree_says_other_values_differ():
    """Model level: both sides keep the label but change the answer otherwise (here its lead
    time), differently: the conflict says the label is the same on both."""
    def table(lead: float) -> dict:
        ann = pa.table({"task_key": ["t1"], "annotation_key": ["a#0"], "region_key": ["r1"],
                        "annotator": ["a"], "from_name": ["sentiment"], "to_name": ["text"], "type": ["choices"],
                        "labels": [["positive"]], "was_cancelled": [False], "ground_truth": [False],
                        "lead_time": [lead], "position": [0]})
        return {"tasks": pa.table({"task_key": ["t1"], "data": ['{"text": "one"}']}), "annotations": ann,
                "predictions": C.schema("predictions").empty_table()}
    merged = merge_tables(table(1.0), table(2.0), table(3.0), row_hashes)
    (c,) = merged.conflicts
    assert c.sides == (("annotation a#0", "sentiment", ("positive",), ("positive",)),)
    assert c.describe() == ("changed differently on both sides: annotation a#0 (sentiment: 'positive' on both, "
                            "other values differ)")


def _labels_of(root: Path, rev: str, task: str) -> list:
    return sorted((r["annotator"], r["region_key"], r["labels"][0]) for r in annover.Repo(root).load(rev).to_pylist()
                  if r["task_key"] == task)


def test_after_a_plain_git_merge_that_kept_theirs_annover_merge_does_not_say_up_to_date(branches):
    """`git merge -X theirs x` (a git user's way to settle conflicts) merges annover's files line
    by line: .annover/HEAD becomes x's v2, and main's v3 is in no version HEAD reaches. `annover
    merge x` said "Already up to date" (exit 0), so v3's relabel was lost without a word; it is
    refused (exit 8, nothing written) with the way back, and merging v3 brings it in."""
    root = branches
    git("merge", "-q", "-X", "theirs", "x", "-m", "plain git merge", cwd=root)
    before = _state(root)
    p = run_cli("merge", "x", cwd=root)
    assert p.returncode == 8, p.stderr
    assert "v3" in p.stderr and "git reset --hard HEAD~1" in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert _state(root) == before
    assert run_cli("merge", "x", "--dry-run", cwd=root).returncode == 8 and _state(root) == before
    p = run_cli("merge", "v3", cwd=root)  # the way out the error names: bring v3 in
    assert p.returncode == 0, p.stderr
    for task, rev in (("187", "x"), ("188", "v3")):
        assert _labels_of(root, "HEAD", task) == _labels_of(root, rev, task) != _labels_of(root, "v1", task)
    assert run_cli("merge", "x", cwd=root).stderr.strip() == "Already up to date."


def test_after_a_git_merge_settled_with_ours_annover_merge_brings_theirs_in(branches):
    """The conflict settled the other way (`git checkout --ours` of annover's files): HEAD's
    version is main's v3 and x's v2 is what is missing, so `annover merge x` merges it as usual."""
    root = branches
    p = subprocess.run(["git", "merge", "-q", "x"], cwd=root, capture_output=True, text=True)
    assert p.returncode == 1  # .annover/HEAD conflicts, as the README says
    git("checkout", "--ours", "--", ".annover/HEAD", ".annover/objects.dvc", cwd=root)
    git("add", ".annover", cwd=root)
    git("commit", "-q", "-m", "settled with ours", cwd=root)
    p = run_cli("merge", "x", cwd=root)
    assert p.returncode == 0, p.stderr
    for task, rev in (("187", "x"), ("188", "v3")):
        assert _labels_of(root, "HEAD", task) == _labels_of(root, rev, task)


@pytest.mark.parametrize("flag", ["--abort", "--continue", "--quit"])
def test_merge_abort_says_there_is_nothing_to_abort(tmp_path, flag):
    """A git user whose merge stopped at conflicts types `annover merge --abort`: it answered
    "No such option '--abort'. Did you mean '--ours'?", pointing at the flag that settles every
    conflict with HEAD's side. It says a stopped merge wrote nothing, and how to go on."""
    p = run_cli("merge", flag, cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert f"annover merge {flag}: no annover merge is under way" in p.stderr and "git merge --abort" in p.stderr
    assert "Did you mean" not in p.stderr and "Traceback" not in p.stderr
    assert p.stderr.count("\n") == 1 and p.stdout == ""


def test_an_untracked_file_in_the_way_is_named_so_with_a_hint_that_moves_it(branches):
    """Branch x commits a file of the user's (guide.md) beside its version; main has an untracked
    guide.md. The merge is refused, exit 2, nothing written, as git refuses; it said "your local
    changes ... commit or stash them (git stash)", and plain `git stash` leaves an untracked file
    where it is, so the merge stayed refused. It names it untracked, with `git stash -u`."""
    root = branches
    git("switch", "-q", "x", cwd=root)
    (root / "guide.md").write_text("x's guide\n")
    git("add", "guide.md", cwd=root)
    git("commit", "-q", "-m", "guide", cwd=root)
    git("switch", "-q", "main", cwd=root)
    (root / "guide.md").write_text("my notes\n")
    before = _state(root)
    p = run_cli("merge", "x", cwd=root)
    assert p.returncode == 2, p.stderr
    assert "untracked file(s) guide.md would be overwritten" in p.stderr and "git stash -u" in p.stderr, p.stderr
    assert _state(root) == before and (root / "guide.md").read_text() == "my notes\n"
    assert git("stash", "-u", cwd=root) and not (root / "guide.md").exists()  # the hint, followed
    assert run_cli("merge", "x", cwd=root).returncode == 0
    assert (root / "guide.md").read_text() == "x's guide\n"
