"""``annover merge``: two branches' labeling rounds merged task by task, as git merges code.

Every test builds its branches with real git, real DVC and a local DVC remote, through the
public API and CLI, and checks the result from the outside (tables loaded, git's graph, the
work tree). The property test computes what a merge must give from the inputs alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import annover
from annover.errors import MergeConflictError, UsageError

from .conftest import EXAMPLES, ROOT, dvc_status_clean, git, run_cli

KEY = "data.ext_id"
LABELS = ("positive", "negative", "neutral")
#: a task: (its text, {annotator: label})
Task = tuple[str, dict[str, str]]


def _ls(tasks: dict[str, Task]) -> list[dict]:
    """Label Studio JSON of ``tasks``: one choice per annotator."""
    out = []
    for k, (text, answers) in sorted(tasks.items()):
        anns = [{"completed_by": {"email": a}, "was_cancelled": False, "ground_truth": False,
                 "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                             "value": {"choices": [label]}}]} for a, label in sorted(answers.items())]
        out.append({"data": {"ext_id": k, "text": text}, "annotations": anns})
    return out


class Labels:
    """A repository to make rounds in, with its inputs kept outside the work tree."""

    def __init__(self, root: Path, inputs: Path, config: Path | None = None) -> None:
        self.root, self.inputs = root, inputs
        self.config = config or EXAMPLES / "labeling.xml"
        self.n = 0

    @property
    def repo(self) -> annover.Repo:
        """The repository, opened afresh (as a new command would, after git moved)."""
        return annover.Repo(self.root)

    def snap(self, tasks: dict[str, Task], message: str, config: Path | None = None) -> str:
        self.n += 1
        path = self.inputs / f"round{self.n}.json"
        path.write_text(json.dumps(_ls(tasks)))
        res = self.repo.snapshot(str(path), config=str(config or self.config), key=KEY, message=message)
        assert res.changed, message
        return res.version.id

    def git(self, *args: str) -> str:
        return git(*args, cwd=self.root)

    def commit(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def table(self, rev: str = "HEAD") -> dict[str, Task]:
        """The version's content as ``{task: (text, {annotator: label})}``."""
        tasks = annover.Repo(self.root).load(rev, table="tasks").to_pylist()
        out = {t["task_key"]: (json.loads(t["data"])["text"], {}) for t in tasks}
        for a in annover.Repo(self.root).load(rev).to_pylist():
            out[a["task_key"]][1][a["annotator"]] = a["labels"][0]
        return out


def _init(tmp_path: Path, monkeypatch, name: str = "repo") -> Labels:
    root, inputs = tmp_path / name, tmp_path / f"{name}-inputs"
    annover.init(root)
    inputs.mkdir()
    monkeypatch.chdir(root)
    return Labels(root, inputs)


BASE: dict[str, Task] = {
    "t1": ("one", {"alice@x.org": "positive"}),
    "t2": ("two", {"alice@x.org": "negative"}),
    "t3": ("three", {}),
    "t4": ("four", {"bob@x.org": "neutral"}),
    "t5": ("five", {"alice@x.org": "positive", "bob@x.org": "positive"}),
}


def _edit(tasks: dict[str, Task], **changes: Task | None) -> dict[str, Task]:
    out = {k: (t, dict(a)) for k, (t, a) in tasks.items()}
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = (v[0], dict(v[1]))
    return out


def _branches(lab: Labels, ours: dict[str, Task], theirs: dict[str, Task], base: dict[str, Task] = BASE
              ) -> tuple[str, str, str]:
    """(base, ours, theirs) versions: the base on main, theirs on branch ``b``, ours on main."""
    v_base = lab.snap(base, "base")
    lab.git("switch", "-q", "-c", "b")
    v_theirs = lab.snap(theirs, "theirs")
    lab.git("switch", "-q", "main")
    v_ours = lab.snap(ours, "ours")
    return v_base, v_ours, v_theirs


def _clean(root: Path) -> None:
    assert git("status", "--porcelain", cwd=root) == ""
    assert not (root / ".git" / "MERGE_HEAD").exists()
    dvc_status_clean(root)


def _parents(root: Path, rev: str = "HEAD") -> list[str]:
    return git("rev-list", "--parents", "-n", "1", rev, cwd=root).split()[1:]


# ---------------------------------------------------------------- the daily case


def test_disjoint_edits_on_two_branches_merge_to_the_union(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    ours = _edit(BASE, t1=("one", {"alice@x.org": "negative"}), t6=("six", {"alice@x.org": "neutral"}))
    theirs = _edit(BASE, t2=("two, reworded", {"alice@x.org": "negative"}), t3=None,
                   t4=("four", {"bob@x.org": "neutral", "carol@x.org": "negative"}))
    v_base, v_ours, v_theirs = _branches(lab, ours, theirs)
    # a file of the user's, committed on the other branch only: merged as git merges it
    lab.git("switch", "-q", "b")
    (lab.root / "notes.md").write_text("round notes\n")
    lab.git("add", "notes.md")
    lab.git("commit", "-q", "-m", "notes")
    b_commit = lab.commit()
    lab.git("switch", "-q", "main")
    main_commit = lab.commit()

    p = run_cli("merge", "b", "--dry-run", "--json", cwd=lab.root)  # the tag it would get, as snapshot -n
    assert p.returncode == 0 and json.loads(p.stdout)["tag"] == "v4" and not json.loads(p.stdout)["written"]
    assert "would merge b v2" in p.stderr and "as v4" in p.stderr, p.stderr
    p = run_cli("merge", "b", "--json", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["kind"] == "merge" and out["written"] and out["base"] == v_base and out["tag"] == "v4"
    assert out["changes"]["ours"] == {"added": ["t6"], "removed": [], "modified": ["t1"]}
    assert out["changes"]["theirs"] == {"added": [], "removed": ["t3"], "modified": ["t2", "t4"]}
    assert out["conflicts"] == [] and out["config"] == "unchanged"

    expected = _edit(BASE, t1=ours["t1"], t6=ours["t6"], t2=theirs["t2"], t3=None, t4=theirs["t4"])
    assert lab.table() == expected
    # the version: two parents, a merge origin, its own tag, the default message
    repo = annover.Repo(lab.root)
    v = repo.show("HEAD")
    assert v.parents == [v_ours, v_theirs] and repo.resolve("v4") == v.id
    assert v.record["origin"]["kind"] == "merge" and v.record["origin"]["base"] == v_base
    assert v.message == "Merge b into main"
    jsonschema.validate(v.record, json.loads((ROOT / "schemas" / "version.schema.json").read_text()))
    # git: a merge commit of both branches' commits; git sees b as merged
    assert _parents(lab.root) == [main_commit, b_commit]
    assert subprocess.run(["git", "merge-base", "--is-ancestor", "b", "HEAD"], cwd=lab.root).returncode == 0
    assert "|\\" in git("log", "--graph", "--oneline", cwd=lab.root)
    assert (lab.root / "notes.md").read_text() == "round notes\n"
    _clean(lab.root)
    # log, diff and load see it
    log = run_cli("log", cwd=lab.root, check=True).stdout
    assert f"Merge:   {v_ours[:12]} {v_theirs[:12]}" in log and "Merge b into main" in log
    d = json.loads(run_cli("diff", "HEAD~1", "HEAD", "--json", cwd=lab.root, check=True).stdout)
    assert d["tasks"]["removed"] == 1 and d["tasks"]["added"] == 0
    d = json.loads(run_cli("diff", "b", "HEAD", "--json", cwd=lab.root, check=True).stdout)
    assert d["tasks"]["added"] == 1  # t6, from ours
    assert annover.load("HEAD").num_rows == sum(len(a) or 1 for _, a in expected.values())
    # the same content snapshotted afresh: the same snapshot ids (nothing changed since HEAD)
    again = lab.repo.snapshot(str(_write(lab, expected)), key=KEY, message="same")
    assert not again.changed
    # and a snapshot after the merge is an ordinary version on top of it
    nxt = _edit(expected, t5=("five", {"alice@x.org": "negative", "bob@x.org": "positive"}))
    v5 = lab.snap(nxt, "after the merge")
    assert annover.Repo(lab.root).show(v5).parents == [v.id]
    assert lab.table() == nxt
    _clean(lab.root)


def _write(lab: Labels, tasks: dict[str, Task]) -> Path:
    lab.n += 1
    path = lab.inputs / f"round{lab.n}.json"
    path.write_text(json.dumps(_ls(tasks)))
    return path


def test_the_merged_snapshot_ids_are_those_of_a_fresh_snapshot(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    ours = _edit(BASE, t1=("one", {"alice@x.org": "negative"}))
    theirs = _edit(BASE, t5=None, t7=("seven", {"bob@x.org": "positive"}))
    _branches(lab, ours, theirs)
    merged = lab.repo.merge("b")
    fresh = _init(tmp_path, monkeypatch, "fresh")
    vid = fresh.snap(_edit(BASE, t1=ours["t1"], t5=None, t7=theirs["t7"]), "the merged content")
    a, b = merged.version.record, annover.Repo(fresh.root).show(vid).record
    for name in ("tasks", "annotations"):
        assert a["tables"][name]["id"] == b["tables"][name]["id"], name
    assert a["config"]["oid"] == b["config"]["oid"] and a["stats"] == b["stats"]


def test_the_same_edit_on_both_sides_is_taken_once(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    same = ("one", {"alice@x.org": "neutral"})
    ours = _edit(BASE, t1=same, t2=("two", {"alice@x.org": "positive"}))
    theirs = _edit(BASE, t1=same, t4=("four", {"bob@x.org": "negative"}))
    _branches(lab, ours, theirs)
    res = lab.repo.merge("b")
    assert res.same == ["t1"] and res.conflicts == [] and res.kind == "merge"
    assert lab.table() == _edit(BASE, t1=same, t2=ours["t2"], t4=theirs["t4"])


def test_two_annotators_on_one_task_keep_both_answers(tmp_path, monkeypatch):
    """Alice and Bob each label task t3 on their branch: a task both changed, answer by answer."""
    lab = _init(tmp_path, monkeypatch)
    ours = _edit(BASE, t3=("three", {"alice@x.org": "positive"}))
    theirs = _edit(BASE, t3=("three", {"bob@x.org": "negative"}))
    _branches(lab, ours, theirs)
    res = lab.repo.merge("b")
    assert res.combined == ["t3"] and not res.conflicts
    assert lab.table()["t3"] == ("three", {"alice@x.org": "positive", "bob@x.org": "negative"})


# ---------------------------------------------------------------- conflicts


def _state(lab: Labels) -> tuple:
    versions = sorted(p.name for p in (lab.root / ".annover/versions").iterdir())
    return lab.commit(), annover.Repo(lab.root).head(), versions, lab.git("tag").split()


def test_a_conflict_writes_nothing_then_ours_or_theirs_settle_it(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    ours = _edit(BASE, t1=("one", {"alice@x.org": "negative"}), t2=("two", {"alice@x.org": "positive"}))
    theirs = _edit(BASE, t1=("one", {"alice@x.org": "neutral"}), t4=("four", {"bob@x.org": "positive"}))
    _, v_ours, v_theirs = _branches(lab, ours, theirs)
    before = _state(lab)

    p = run_cli("merge", "b", cwd=lab.root)
    assert p.returncode == 16, p.stderr
    assert "t1: changed differently on both sides: annotation alice@x.org#0" in p.stderr, p.stderr
    assert "nothing written" in p.stderr and "--ours or --theirs" in p.stderr
    p = run_cli("merge", "b", "--json", cwd=lab.root)
    assert p.returncode == 16
    out = json.loads(p.stdout)
    assert [c["task_key"] for c in out["conflicts"]] == ["t1"] and not out["written"]
    assert out["conflicts"][0]["kind"] == "changed" and out["conflicts"][0]["parts"] == ["annotation alice@x.org#0"]
    p = run_cli("merge", "b", "--dry-run", cwd=lab.root)
    assert p.returncode == 16 and "would merge" in p.stderr and "t1" in p.stderr
    with pytest.raises(MergeConflictError) as e:
        lab.repo.merge("b")
    assert e.value.exit_code == 16 and [c.task_key for c in e.value.result.conflicts] == ["t1"]
    assert _state(lab) == before
    _clean(lab.root)

    p = run_cli("merge", "b", "--ours", "-q", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    assert "conflicts (taken from ours): 1 task(s)" in p.stderr
    assert lab.table() == _edit(BASE, t1=ours["t1"], t2=ours["t2"], t4=theirs["t4"])
    v = annover.Repo(lab.root).show("HEAD")
    assert v.parents == [v_ours, v_theirs] and v.record["origin"]["favor"] == "ours"
    _clean(lab.root)

    # undone, then merged again taking theirs
    assert run_cli("reset", "HEAD~1", "--force", cwd=lab.root).returncode == 0
    p = run_cli("merge", "b", "--theirs", "-m", "take bob's side", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    assert lab.table() == _edit(BASE, t1=theirs["t1"], t2=ours["t2"], t4=theirs["t4"])
    assert annover.Repo(lab.root).show("HEAD").message == "take bob's side"
    _clean(lab.root)


def test_merge_q_is_quiet_on_success_and_still_says_conflicts(tmp_path, monkeypatch):
    """As git merge -q: nothing on stderr for a merge that goes through (the new version's id alone
    on stdout, as snapshot -q); what stops it, or what --ours settled, is still said."""
    lab = _init(tmp_path, monkeypatch)
    ours = _edit(BASE, t1=("one", {"alice@x.org": "negative"}), t2=("two", {"alice@x.org": "positive"}))
    theirs = _edit(BASE, t1=("one", {"alice@x.org": "neutral"}), t4=("four", {"bob@x.org": "positive"}))
    _branches(lab, ours, theirs)
    p = run_cli("merge", "b", "--dry-run", "-q", cwd=lab.root)
    assert p.returncode == 16 and "t1: changed differently on both sides" in p.stderr, p.stderr
    assert "from theirs" not in p.stderr and p.stdout == ""
    p = run_cli("merge", "b", "-q", cwd=lab.root)
    assert p.returncode == 16 and "t1: changed differently on both sides" in p.stderr and "Error:" in p.stderr
    assert "from theirs" not in p.stderr
    p = run_cli("merge", "b", "--ours", "-q", "--dry-run", cwd=lab.root)
    assert (p.returncode, p.stdout) == (0, "") and "from theirs" not in p.stderr
    assert "conflicts (taken from ours): 1 task(s)" in p.stderr, p.stderr
    # no conflict: silent, the id on stdout
    assert run_cli("reset", "HEAD~1", "--force", cwd=lab.root).returncode == 0  # main back to the base
    lab.snap(_edit(BASE, t2=("two", {"alice@x.org": "positive"})), "ours, apart from theirs")
    for args in (("--dry-run", "-q"), ("-q",)):
        p = run_cli("merge", "b", *args, cwd=lab.root)
        assert p.returncode == 0 and p.stderr == "", p.stderr
    assert p.stdout.strip() == annover.Repo(lab.root).head()
    assert json.loads(run_cli("merge", "b", "-q", "--json", cwd=lab.root).stdout)["kind"] == "up-to-date"
    p = run_cli("merge", "b", "-q", cwd=lab.root)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")  # not "Already up to date."
    lab.git("switch", "-q", "-c", "c", "v1")
    p = run_cli("merge", "b", "-q", cwd=lab.root)  # a fast-forward
    assert (p.returncode, p.stderr) == (0, "") and p.stdout.strip() == annover.Repo(lab.root).resolve("b")
    _clean(lab.root)


def test_tasks_added_on_one_side_and_removed_on_the_other(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    ours = _edit(BASE, t2=None, t7=("seven", {"alice@x.org": "positive"}), t4=None)
    theirs = _edit(BASE, t3=None, t8=("eight", {}), t4=("four", {"bob@x.org": "negative"}))
    _branches(lab, ours, theirs)
    res = lab.repo.merge("b", dry_run=True)
    assert res.changes["ours"] == {"added": ["t7"], "removed": ["t2"], "modified": []}
    assert res.changes["theirs"] == {"added": ["t8"], "removed": ["t3"], "modified": []}
    assert [(c.task_key, c.kind) for c in res.conflicts] == [("t4", "removed-by-ours")]
    union = _edit(BASE, t2=None, t3=None, t7=ours["t7"], t8=theirs["t8"])
    with pytest.raises(MergeConflictError):
        lab.repo.merge("b")
    lab.repo.merge("b", favor="ours")  # removed, as ours has it
    assert lab.table() == _edit(union, t4=None)
    lab.repo.reset("HEAD~1", force=True)
    lab.repo.merge("b", favor="theirs")  # theirs' task, whole
    assert lab.table() == _edit(union, t4=theirs["t4"])


def test_files_git_cannot_merge_stop_the_merge_before_anything_is_written(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    ours = _edit(BASE, t1=("one", {"alice@x.org": "negative"}))
    theirs = _edit(BASE, t2=("two", {"alice@x.org": "positive"}))
    _branches(lab, ours, theirs)
    for branch, text in (("b", "theirs\n"), ("main", "ours\n")):
        lab.git("switch", "-q", branch)
        (lab.root / "notes.md").write_text(text)
        lab.git("add", "notes.md")
        lab.git("commit", "-q", "-m", f"notes on {branch}")
    before = _state(lab)
    p = run_cli("merge", "b", "--theirs", cwd=lab.root)
    assert p.returncode == 16 and "git cannot merge 1 file(s)" in p.stderr and "notes.md" in p.stderr, p.stderr
    assert _state(lab) == before
    _clean(lab.root)
    # made to agree on this branch: the merge goes through
    lab.git("checkout", "b", "--", "notes.md")
    lab.git("commit", "-q", "-m", "take their notes")
    assert run_cli("merge", "b", cwd=lab.root).returncode == 0
    assert (lab.root / "notes.md").read_text() == "theirs\n"
    _clean(lab.root)


def test_local_changes_the_merge_would_overwrite_are_refused(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    _branches(lab, _edit(BASE, t1=("one", {})), _edit(BASE, t2=("two", {})))
    lab.git("switch", "-q", "b")
    (lab.root / "notes.md").write_text("theirs\n")
    lab.git("add", "notes.md")
    lab.git("commit", "-q", "-m", "notes")
    lab.git("switch", "-q", "main")
    (lab.root / "notes.md").write_text("mine, not committed\n")
    before = _state(lab)
    with pytest.raises(UsageError, match="notes.md would be overwritten"):
        lab.repo.merge("b")
    assert _state(lab) == before and (lab.root / "notes.md").read_text() == "mine, not committed\n"


# ---------------------------------------------------------------- fast-forward, up to date


def test_fast_forward_and_already_up_to_date(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    v1 = lab.snap(BASE, "base")
    lab.git("switch", "-q", "-c", "b")
    lab.snap(_edit(BASE, t1=("one", {"alice@x.org": "neutral"})), "b1")
    (lab.root / "notes.md").write_text("b\n")
    lab.git("add", "notes.md")
    lab.git("commit", "-q", "-m", "notes")
    v3 = lab.snap(_edit(BASE, t1=("one", {"alice@x.org": "neutral"}), t9=("nine", {})), "b2")
    b_commit = lab.commit()
    lab.git("switch", "-q", "main")

    p = run_cli("merge", "b", "--dry-run", "--json", cwd=lab.root)
    assert p.returncode == 0 and json.loads(p.stdout)["kind"] == "fast-forward"
    assert lab.repo.head() == v1
    p = run_cli("merge", "b", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    assert "fast-forward" in p.stderr and p.stdout.strip() == v3
    assert lab.commit() == b_commit and annover.Repo(lab.root).head() == v3  # git moved as --ff-only does
    assert (lab.root / "notes.md").exists() and lab.table()["t9"] == ("nine", {})
    _clean(lab.root)

    for rev in ("b", "v1", "v2"):
        p = run_cli("merge", rev, cwd=lab.root)
        assert p.returncode == 0 and "Already up to date" in p.stderr and p.stdout == ""
        assert lab.commit() == b_commit

    # this branch has a commit of its own: git cannot fast-forward; a merge commit names b's version
    lab.git("switch", "-q", "-c", "c", "v1")
    (lab.root / "other.md").write_text("c\n")
    lab.git("add", "other.md")
    lab.git("commit", "-q", "-m", "c's own file")
    c_commit = lab.commit()
    res = annover.Repo(lab.root).merge("b")
    assert res.kind == "fast-forward" and res.git == "merge commit" and res.version is None
    assert annover.Repo(lab.root).head() == v3 and _parents(lab.root) == [c_commit, b_commit]
    assert (lab.root / "notes.md").exists() and (lab.root / "other.md").exists()
    _clean(lab.root)


def test_merge_is_refused_where_git_is_busy_or_detached(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    _branches(lab, _edit(BASE, t1=("one", {})), _edit(BASE, t2=("two", {})))
    lab.git("checkout", "-q", "--detach")
    assert run_cli("merge", "b", cwd=lab.root).returncode == 6
    lab.git("switch", "-q", "main")
    assert run_cli("merge", "nope", cwd=lab.root).returncode == 7
    assert run_cli("merge", "", cwd=lab.root).returncode == 7  # an empty revision, as for log, diff, reset...
    for tag in ("v1", "bad name"):  # the dry run refuses the --tag the merge would refuse, not "would merge"
        for dry in (["--dry-run"], []):
            p = run_cli("merge", "b", "--tag", tag, *dry, cwd=lab.root)
            assert p.returncode == 2 and "would merge" not in p.stderr and p.stderr.count("\n") == 1, p.stderr
    both = run_cli("merge", "b", "--ours", "--theirs", cwd=lab.root)  # not the last one silently
    assert both.returncode == 2 and "--ours" in both.stderr and both.stderr.count("\n") == 1, both.stderr
    assert _parents(lab.root) == [lab.git("rev-parse", "HEAD~1").strip()]


def _with_predictions(tasks: dict[str, Task], preds: dict[str, dict[str, str]]) -> list[dict]:
    """Label Studio JSON of ``tasks`` with model predictions ``{task: {model_version: label}}``."""
    out = _ls(tasks)
    for t in out:
        t["predictions"] = [{"model_version": mv, "score": 0.5,
                             "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                         "value": {"choices": [label]}}]}
                            for mv, label in sorted(preds.get(t["data"]["ext_id"], {}).items())]
    return out


def test_predictions_merge_by_model_version_and_task(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)

    def snap(preds: dict, message: str) -> str:
        lab.n += 1
        path = lab.inputs / f"round{lab.n}.json"
        path.write_text(json.dumps(_with_predictions(BASE, preds)))
        return lab.repo.snapshot(str(path), config=str(lab.config), key=KEY, message=message).version.id

    base = {"t1": {"m1": "positive"}, "t2": {"m1": "negative"}}
    snap(base, "base")
    lab.git("switch", "-q", "-c", "b")
    snap({"t1": {"m1": "neutral"}, "t2": {"m1": "negative"}}, "theirs: m1 again on t1")
    lab.git("switch", "-q", "main")
    snap({**base, "t3": {"m2": "positive"}}, "ours: a new model on t3")
    res = lab.repo.merge("b")
    assert res.changes["theirs"]["modified"] == ["t1"] and res.changes["ours"]["modified"] == ["t3"]
    got = {(p["task_key"], p["model_version"], p["labels"][0])
           for p in annover.Repo(lab.root).load("HEAD", table="predictions").to_pylist()}
    assert got == {("t1", "m1", "neutral"), ("t2", "m1", "negative"), ("t3", "m2", "positive")}
    assert annover.Repo(lab.root).show("HEAD").model_versions == ["m1", "m2"]
    # the same prediction changed differently on both sides: a conflict on that prediction
    lab.git("switch", "-q", "b")
    snap({"t1": {"m1": "negative"}, "t2": {"m1": "negative"}}, "theirs: m1 once more")
    lab.git("switch", "-q", "main")
    snap({"t1": {"m1": "positive"}, "t2": {"m1": "negative"}, "t3": {"m2": "positive"}}, "ours: m1 back")
    with pytest.raises(MergeConflictError) as e:
        lab.repo.merge("b")
    assert [(c.task_key, c.parts) for c in e.value.result.conflicts] == [("t1", ("prediction m1#0",))]


def test_gc_push_and_status_after_a_merge_keep_every_version(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    _branches(lab, _edit(BASE, t1=("one", {"alice@x.org": "neutral"})), _edit(BASE, t2=None))
    merged = lab.repo.merge("b").version.id
    assert run_cli("gc", "--force", cwd=lab.root).returncode == 0
    for v in json.loads(run_cli("log", "--json", cwd=lab.root, check=True).stdout):
        assert annover.Repo(lab.root).load(v["id"]).num_rows > 0
    assert run_cli("push", cwd=lab.root).returncode == 0
    st = json.loads(run_cli("status", "--json", cwd=lab.root, check=True).stdout)
    assert st["head"] == merged and st["pushed"] and not st["unpushed"], st


def test_a_branch_merged_again_after_a_reset_dropped_it_keeps_its_version_record(tmp_path, monkeypatch):
    """Fast-forward to b, ``annover reset`` back, new work, merge b again: git counts b's commit
    as merged already, so its tree drops b's version record; the merge must put it back, or
    push, gc and a clone's merge lose the merged version's parent."""
    lab = _init(tmp_path, monkeypatch)
    v1 = lab.snap(BASE, "base")
    lab.git("switch", "-q", "-c", "b")
    v_b = lab.snap(_edit(BASE, t1=("one", {"alice@x.org": "neutral"})), "b")
    lab.git("switch", "-q", "main")
    assert lab.repo.merge("b").kind == "fast-forward"
    assert run_cli("reset", "v1", "--force", cwd=lab.root).returncode == 0
    lab.snap(_edit(BASE, t2=("two", {"alice@x.org": "positive"})), "main")
    merged = lab.repo.merge("b").version.id
    assert lab.repo.version(merged).parents[1] == v_b and v1 != v_b
    held = lab.git("ls-tree", "-r", "--name-only", "HEAD", "--", ".annover/versions")
    assert f"{v_b}.json" in held
    assert run_cli("gc", "--force", cwd=lab.root).returncode == 0
    assert lab.repo.load(v_b).num_rows > 0
    pushed = json.loads(run_cli("push", "--json", cwd=lab.root, check=True).stdout)
    assert pushed["versions"] == len(json.loads(run_cli("log", "--json", cwd=lab.root, check=True).stdout))
    _clean(lab.root)

    # the same where git cannot fast-forward: HEAD's version becomes b's, whose record must be there
    lab.git("switch", "-q", "-c", "c", "b")
    lab.git("switch", "-q", "main")
    lab.git("branch", "-q", "-D", "b")
    lab.git("switch", "-q", "-c", "d")
    v_d = lab.snap(_edit(BASE, t3=("three", {"bob@x.org": "negative"})), "d")
    lab.git("switch", "-q", "c")
    assert lab.repo.merge("d").kind == "fast-forward"
    assert run_cli("reset", v_b, "--force", cwd=lab.root).returncode == 0
    (lab.root / "own.md").write_text("c\n")
    lab.git("add", "own.md")
    lab.git("commit", "-q", "-m", "own file")
    res = lab.repo.merge("d")
    assert res.kind == "fast-forward" and res.git == "merge commit" and lab.repo.head() == v_d
    assert f"{v_d}.json" in lab.git("ls-tree", "-r", "--name-only", "HEAD", "--", ".annover/versions")
    _clean(lab.root)


# ---------------------------------------------------------------- config and source data


def _config(tmp_path: Path, extra: str, name: str) -> Path:
    text = (EXAMPLES / "labeling.xml").read_text().replace('<Choice value="neutral"/>',
                                                           f'<Choice value="neutral"/><Choice value="{extra}"/>')
    p = tmp_path / name
    p.write_text(text)
    return p


def test_a_config_changed_on_one_side_only_is_taken(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    mixed = _config(tmp_path, "mixed", "mixed.xml")
    lab.snap(BASE, "base")
    lab.git("switch", "-q", "-c", "b")
    theirs = _edit(BASE, t3=("three", {"bob@x.org": "mixed"}))
    v_theirs = lab.snap(theirs, "new label", config=mixed)
    lab.git("switch", "-q", "main")
    ours = _edit(BASE, t1=("one", {"alice@x.org": "negative"}))
    lab.snap(ours, "ours")
    res = lab.repo.merge("b")
    assert res.config == "theirs" and not res.warnings
    repo = annover.Repo(lab.root)
    assert repo.show("HEAD").record["config"] == repo.show(v_theirs).record["config"]
    assert lab.table() == _edit(BASE, t1=ours["t1"], t3=theirs["t3"])


def test_labels_the_merged_config_lacks_are_warned_about(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    base = _edit(BASE, t4=("four", {}))  # no "neutral" label left
    lab.snap(base, "base")
    lab.git("switch", "-q", "-c", "b")
    no_neutral = tmp_path / "no-neutral.xml"
    no_neutral.write_text((EXAMPLES / "labeling.xml").read_text().replace('<Choice value="neutral"/>', ""))
    lab.snap(_edit(base, t1=("one", {"alice@x.org": "negative"})), "neutral dropped", config=no_neutral)
    lab.git("switch", "-q", "main")
    lab.snap(_edit(base, t3=("three", {"bob@x.org": "neutral"})), "bob said neutral")
    p = run_cli("merge", "b", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    assert "warning:" in p.stderr and "'neutral'" in p.stderr and "t3" in p.stderr, p.stderr


def test_a_config_changed_differently_on_both_sides_is_a_conflict(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    lab.snap(BASE, "base")
    lab.git("switch", "-q", "-c", "b")
    v_theirs = lab.snap(BASE, "config b", config=_config(tmp_path, "mixed", "b.xml"))
    lab.git("switch", "-q", "main")
    v_ours = lab.snap(BASE, "config main", config=_config(tmp_path, "unsure", "main.xml"))
    p = run_cli("merge", "b", "--json", cwd=lab.root)
    assert p.returncode == 16 and json.loads(p.stdout)["config"] == "conflict"
    assert "labeling config: changed differently on both sides" in p.stderr
    res = lab.repo.merge("b", favor="theirs")
    repo = annover.Repo(lab.root)
    assert res.config == "conflict" and repo.show("HEAD").record["config"] == repo.show(v_theirs).record["config"]
    assert repo.show("HEAD").parents == [v_ours, v_theirs]


def test_source_data_linked_on_one_side_is_taken_with_its_listing(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    lab.snap(BASE, "base")
    lab.git("switch", "-q", "-c", "b")
    (lab.root / "texts").mkdir()
    (lab.root / "texts" / "t1.txt").write_text("one\n")
    lab.git("add", "texts")
    lab.git("commit", "-q", "-m", "the texts")
    path = _write(lab, BASE)
    v_theirs = lab.repo.snapshot(str(path), key=KEY, source_data="texts", message="linked").version.id
    lab.git("switch", "-q", "main")
    lab.snap(_edit(BASE, t1=("one", {"alice@x.org": "neutral"})), "ours")
    res = lab.repo.merge("b")
    repo = annover.Repo(lab.root)
    assert res.source == "theirs" and repo.show("HEAD").record["source"] == repo.show(v_theirs).record["source"]
    assert (lab.root / "texts" / "t1.txt").exists()
    _clean(lab.root)
    assert run_cli("gc", "--force", cwd=lab.root).returncode == 0 and run_cli("push", cwd=lab.root).returncode == 0


# ---------------------------------------------------------------- clones and DVC


def test_a_fresh_clone_at_the_merge_commit_gets_its_objects_with_dvc_pull(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    _branches(lab, _edit(BASE, t1=("one", {"alice@x.org": "neutral"})),
              _edit(BASE, t6=("six", {"bob@x.org": "negative"})))
    res = lab.repo.merge("b")
    remote = annover.Repo(lab.root).dvc.remote_info().url
    assert run_cli("push", cwd=lab.root).returncode == 0
    clone = tmp_path / "clone"
    git("clone", "-q", str(lab.root), str(clone), cwd=tmp_path)
    dvc = Path(sys.executable).with_name("dvc")
    subprocess.run([str(dvc), "remote", "add", "--local", "-f", "-d", "shared", remote], cwd=clone, check=True,
                   capture_output=True)
    pulled = subprocess.run([str(dvc), "pull"], cwd=clone, capture_output=True, text=True)
    assert pulled.returncode == 0, pulled.stderr
    code = "import annover; print(annover.load('HEAD').num_rows, annover.Repo('.').head())"
    p = subprocess.run([sys.executable, "-c", code], cwd=clone, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [str(annover.load("HEAD").num_rows), res.version.id]


def test_the_annotators_both_sides_learned_are_kept(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    lab.snap(BASE, "base")
    for branch, uid, email, edit in (("b", "7", "bob@x.org", {"t1": ("one", {})}),
                                     ("main", "8", "carol@x.org", {"t2": ("two", {})})):
        lab.git("switch", "-q", *(["-c", branch] if branch == "b" else [branch]))
        users = lab.inputs / f"users-{uid}.json"
        users.write_text(json.dumps({uid: email}))
        res = lab.repo.snapshot(str(_write(lab, _edit(BASE, **edit))), key=KEY, users=str(users), message=branch)
        assert res.changed
    lab.repo.merge("b")
    given = json.loads((lab.root / ".annover/users.json").read_text())["given"]
    assert given == {"7": "bob@x.org", "8": "carol@x.org"}
    _clean(lab.root)


def two_clones(tmp_path, monkeypatch, bob_edit: dict | None = None, pull: bool = True):
    """Alice's and Bob's clones each made a v2 from the same v1 (Alice's relabels alice@x.org's
    answer on t1; Bob's is ``bob_edit`` of the base, by default an answer of his own on t2); Bob
    has fetched Alice's branch ``a`` with git and, with ``pull``, its objects (annover pull origin/a)."""
    alice = _init(tmp_path, monkeypatch, "alice")
    alice.snap(BASE, "base")
    bob_root = tmp_path / "bob"
    git("clone", "-q", str(alice.root), str(bob_root), cwd=tmp_path)
    bob = Labels(bob_root, alice.inputs)
    alice.git("switch", "-q", "-c", "a")
    alice.snap(_edit(BASE, t1=("one", {"alice@x.org": "neutral"})), "alice's round")
    assert run_cli("push", cwd=alice.root).returncode == 0
    monkeypatch.chdir(bob_root)
    assert run_cli("pull", cwd=bob_root).returncode == 0
    bob.snap(bob_edit if bob_edit is not None else _edit(BASE, t2=("two", {"bob@x.org": "neutral"})), "bob's round")
    bob.git("fetch", "-q", "origin", "a")
    if pull:
        assert run_cli("pull", "origin/a", cwd=bob_root).returncode == 0
    return alice, bob


def test_two_clones_that_numbered_versions_alike_merge_with_this_sides_number_moved(tmp_path, monkeypatch):
    """The everyday team case: both clones made a v2 from one HEAD. Bob's v2 is on no git remote
    (git refused its tag, or it was never pushed), so the merge gives it the next free number in a
    commit of its own, and Alice's keeps v2 (git's tags follow); nothing is lost."""
    alice, bob = two_clones(tmp_path, monkeypatch)
    bobs, alices = bob.repo.resolve("v2"), alice.repo.resolve("v2")
    dry = bob.repo.merge("origin/a", dry_run=True)
    assert dry.renumbered == {"v2": "v3"} and not dry.conflicted and not dry.written
    assert dry.tag == "v4"  # after the renumbered v3, as the merge then names it
    p = run_cli("merge", "origin/a", cwd=bob.root)
    assert p.returncode == 0, p.stderr
    assert "renumbered this branch's v2 as v3" in p.stderr
    repo = annover.Repo(bob.root)
    assert (repo.resolve("v2"), repo.resolve("v3")) == (alices, bobs)
    merged = repo.show("v4")
    assert merged.parents == [bobs, alices] and repo.head() == merged.id
    tags = {n: c for n, c in repo.scm.tag_commits().items()}
    assert tags["v2"] == repo.commit_of(alices) and tags["v3"] == repo.commit_of(bobs)
    def labels(rev: str, key: str) -> list:
        return sorted((r["annotation_key"], tuple(r["labels"] or ())) for r in annover.load(rev).to_pylist()
                      if r["task_key"] == key)

    assert labels("v4", "t1") == labels("v2", "t1") != labels("v1", "t1")  # Alice's round
    assert labels("v4", "t2") == labels("v3", "t2") != labels("v1", "t2")  # Bob's round
    log = git("log", "--format=%s", "-3", cwd=bob.root).splitlines()
    assert log[1].startswith("annover: renumber v2 -> v3 (origin/a gave")
    _clean(bob.root)


def test_status_after_a_refused_push_says_what_to_type_and_it_works(tmp_path, monkeypatch):
    """Both clones snapshot on main; Bob fetches: status says the branches diverged and names the
    commands, which, typed literally, merge (renumbering Bob's v2)."""
    alice = _init(tmp_path, monkeypatch, "alice")
    alice.snap(BASE, "base")
    bob_root = tmp_path / "bob"
    git("clone", "-q", str(alice.root), str(bob_root), cwd=tmp_path)
    bob = Labels(bob_root, alice.inputs)
    alice.snap(_edit(BASE, t1=("one", {"alice@x.org": "neutral"})), "alice's round")
    assert run_cli("push", cwd=alice.root).returncode == 0
    monkeypatch.chdir(bob_root)
    assert run_cli("pull", cwd=bob_root).returncode == 0
    bob.snap(_edit(BASE, t2=("two", {"bob@x.org": "neutral"})), "bob's round")
    bob.git("fetch", "-q", "origin")
    p = run_cli("status", "--no-remote", cwd=bob_root)
    said = "origin/main has 1 commit(s) not here: the two have diverged (`annover pull origin/main`, then " \
           "`annover merge origin/main`)"
    assert said in p.stdout, p.stdout
    for cmd in ("annover pull origin/main", "annover merge origin/main"):
        p = run_cli(*cmd.split()[1:], cwd=bob_root)
        assert p.returncode == 0, (cmd, p.stderr)
    repo = annover.Repo(bob_root)
    assert repo.show("HEAD").parents == [repo.resolve("v3"), repo.resolve("v2")] and repo.show("HEAD").id == \
        repo.resolve("v4")
    assert "diverged" not in run_cli("status", "--no-remote", cwd=bob_root).stdout
    _clean(bob_root)


def test_a_clashing_number_a_git_remote_knows_is_refused(tmp_path, monkeypatch):
    """Bob's v2 went to a git remote that has no tag v2 of another version (a plain ``git push`` of
    his branch to a backup): others there may cite it by that name, so it is not renamed; the merge
    is refused by name, nothing written."""
    alice, bob = two_clones(tmp_path, monkeypatch)
    git("init", "-q", "--bare", str(tmp_path / "backup.git"), cwd=tmp_path)
    bob.git("remote", "add", "backup", str(tmp_path / "backup.git"))
    bob.git("push", "-q", "backup", "HEAD:bob")
    before = _state(bob)
    p = run_cli("merge", "origin/a", cwd=bob.root)
    assert p.returncode == 16 and "each gave tag v2" in p.stderr and "on a git remote already" in p.stderr, p.stderr
    assert _state(bob) == before


def test_a_clashing_number_pushed_where_the_remotes_tag_names_another_version_is_renumbered(tmp_path, monkeypatch):
    """Bob's v2 went out by a plain ``git push`` (no tags) to origin, whose git tag v2 is Alice's:
    no clone of origin can know Bob's version as v2 (its fetched tag names Alice's), so the merge
    renumbers it as it does an unpushed one, and then publishes."""
    alice, bob = two_clones(tmp_path, monkeypatch)
    bobs, alices = bob.repo.resolve("v2"), alice.repo.resolve("v2")
    bob.git("push", "-q", "origin", "HEAD:bob")
    bob.git("fetch", "-q", "origin")
    assert bob.repo.scm.remote_refs_containing(bob.repo.commit_of(bobs))
    p = run_cli("merge", "origin/a", cwd=bob.root)
    assert p.returncode == 0 and "renumbered this branch's v2 as v3" in p.stderr, p.stderr
    repo = annover.Repo(bob.root)
    assert (repo.resolve("v2"), repo.resolve("v3")) == (alices, bobs)
    assert run_cli("push", cwd=bob.root).returncode == 0
    bob.git("push", "-q", "--atomic", "origin", "HEAD:bob", "--tags")
    there = repo.scm.remote_tags("origin")
    assert (there["v2"], there["v3"]) == (repo.commit_of(alices), repo.commit_of(bobs))
    _clean(bob.root)


def test_a_clash_this_branch_published_says_to_merge_the_other_way_and_that_works(tmp_path, monkeypatch):
    """Bob's unpushed v2 sits on his branch ``mine``; his main took Alice's published v2. Merging
    ``mine`` into main cannot renumber main's v2 (on origin): the merge, and its dry run alike, say
    so and name the merge the other way, which, typed literally, renumbers Bob's v2 and then
    fast-forwards main; `annover revert --to` (which would drop Alice's round) is not offered."""
    alice, bob = two_clones(tmp_path, monkeypatch)
    bobs, alices = bob.repo.resolve("v2"), alice.repo.resolve("v2")
    bob.git("branch", "mine")
    bob.git("reset", "-q", "--hard", "origin/a")
    dry = run_cli("merge", "mine", "--dry-run", cwd=bob.root)
    real = run_cli("merge", "mine", cwd=bob.root)
    hint = "merge the other way, which renumbers it (`git switch mine && annover merge main`), then " \
           "`git switch main && annover merge mine`"
    for p in (dry, real):
        assert p.returncode == 16 and "each gave tag v2" in p.stderr and hint in p.stderr, p.stderr
        assert "revert --to" not in p.stderr and "make them agree with a commit" not in p.stderr, p.stderr
    for cmd in ("git switch -q mine", "annover merge main", "git switch -q main", "annover merge mine"):
        p = bob.git(*cmd.split()[1:]) if cmd.startswith("git") else run_cli(*cmd.split()[1:], cwd=bob.root)
        assert cmd.startswith("git") or p.returncode == 0, (cmd, p.stderr)
    repo = annover.Repo(bob.root)
    assert (repo.resolve("v2"), repo.resolve("v3")) == (alices, bobs)
    assert repo.show("HEAD").parents == [bobs, alices]
    _clean(bob.root)


def test_a_version_a_git_merge_left_out_gets_a_free_number_when_merged_in(tmp_path, monkeypatch):
    """Bob settles the diverged histories with `git merge -X theirs origin/a`: HEAD's files take
    Alice's v2, his own v2 is left out and keeps git's tag v2. `annover merge ID`, as status says,
    brought it in still named v2 by git's tag (HEAD's files give v2 to Alice's): `git push --tags`
    refused, a moved-tag warning on every command. It is renumbered, as a clash git shows is."""
    alice, bob = two_clones(tmp_path, monkeypatch)
    bobs, alices = bob.repo.resolve("v2"), alice.repo.resolve("v2")
    bob.git("merge", "-q", "-X", "theirs", "origin/a", "-m", "plain git merge")
    dry = bob.repo.merge(bobs, dry_run=True)
    assert (dry.renumbered, dry.tag, dry.written) == ({"v2": "v3"}, "v4", False)
    p = run_cli("merge", bobs, cwd=bob.root)
    assert p.returncode == 0 and f"renumbered {bobs}'s v2 as v3" in p.stderr, p.stderr
    repo = annover.Repo(bob.root)
    assert (repo.resolve("v2"), repo.resolve("v3")) == (alices, bobs)
    tags = repo.scm.tag_commits()
    assert (tags["v2"], tags["v3"]) == (repo.commit_of(alices), repo.commit_of(bobs))
    assert repo.show("HEAD").parents[1] == bobs and repo.resolve("v4") == repo.head()
    assert "moved tag" not in run_cli("status", "--no-remote", cwd=bob.root).stdout
    _clean(bob.root)


# ---------------------------------------------------------------- crash safety


STAGES = ["after-objects", "before-dvc-add", "after-dvc-add", "before-index-sync", "before-update-ref",
          "after-update-ref", "before-git-tag"]


@pytest.mark.parametrize("stage", STAGES)
def test_a_merge_killed_at_each_stage_leaves_head_unchanged_or_merged(tmp_path, monkeypatch, stage):
    lab = _init(tmp_path, monkeypatch)
    ours = _edit(BASE, t1=("one", {"alice@x.org": "negative"}))
    theirs = _edit(BASE, t2=("two", {"alice@x.org": "positive"}))
    _, v_ours, _ = _branches(lab, ours, theirs)
    lab.git("switch", "-q", "b")
    (lab.root / "notes.md").write_text("theirs\n")
    lab.git("add", "notes.md")
    lab.git("commit", "-q", "-m", "notes")
    lab.git("switch", "-q", "main")
    main_commit = lab.commit()
    p = run_cli("merge", "b", cwd=lab.root, env={"ANNOVER_TEST_KILL_AT": stage})
    assert p.returncode == -signal.SIGKILL, p.stderr
    log = json.loads(run_cli("log", "--json", cwd=lab.root, check=True).stdout)
    merged = stage in ("after-update-ref", "before-git-tag")
    if merged:
        assert log[0]["parents"][0] == v_ours and lab.commit() != main_commit
        assert (lab.root / "notes.md").exists()
        assert lab.table() == _edit(BASE, t1=ours["t1"], t2=theirs["t2"])
    else:
        assert log[0]["id"] == v_ours and lab.commit() == main_commit
        assert not (lab.root / "notes.md").exists()
    _clean(lab.root)
    again = run_cli("merge", "b", cwd=lab.root)
    assert again.returncode == 0, again.stderr
    assert lab.table() == _edit(BASE, t1=ours["t1"], t2=theirs["t2"])
    assert git("tag", "--points-at", "HEAD", cwd=lab.root).split() == ["v4"]
    _clean(lab.root)


@pytest.mark.parametrize("stage", ["before-update-ref", "after-update-ref"])
def test_a_fast_forward_killed_leaves_head_unchanged_or_moved(tmp_path, monkeypatch, stage):
    lab = _init(tmp_path, monkeypatch)
    v1 = lab.snap(BASE, "base")
    lab.git("switch", "-q", "-c", "b")
    (lab.root / "notes.md").write_text("b\n")
    lab.git("add", "notes.md")
    lab.git("commit", "-q", "-m", "notes")
    v2 = lab.snap(_edit(BASE, t3=None), "b1")
    b_commit = lab.commit()
    lab.git("switch", "-q", "main")
    main_commit = lab.commit()
    p = run_cli("merge", "b", cwd=lab.root, env={"ANNOVER_TEST_KILL_AT": stage})
    assert p.returncode == -signal.SIGKILL, p.stderr
    moved = stage == "after-update-ref"
    assert annover.Repo(lab.root).head() == (v2 if moved else v1)
    assert lab.commit() == (b_commit if moved else main_commit)
    assert (lab.root / "notes.md").exists() == moved
    assert set(lab.table()) == set(BASE) - ({"t3"} if moved else set())
    _clean(lab.root)
    again = run_cli("merge", "b", cwd=lab.root)
    assert again.returncode == 0, again.stderr
    assert lab.commit() == b_commit and annover.Repo(lab.root).head() == v2
    _clean(lab.root)


def test_merge_help_has_examples():
    p = run_cli("merge", "--help")
    assert p.returncode == 0 and "Examples:" in p.stdout and "--theirs" in p.stdout and "--dry-run" in p.stdout


# ---------------------------------------------------------------- the rule, as a property


ANNOTATORS = ("alice@x.org", "bob@x.org")
KEYS = ("k0", "k1", "k2", "k3", "k4")
_task = st.tuples(st.sampled_from(("a", "b", "c")),
                  st.dictionaries(st.sampled_from(ANNOTATORS), st.sampled_from(LABELS), max_size=2))
_tasks = st.dictionaries(st.sampled_from(KEYS), _task, min_size=1, max_size=len(KEYS))


def _edits(base: dict[str, Task]):
    """A side: ``base`` with each task kept, removed, or changed (its text or its answers), and new tasks."""
    ops = st.sampled_from(("keep", "keep", "remove", "text", "answers"))
    return st.tuples(st.fixed_dictionaries({k: st.tuples(ops, _task) for k in base}),
                     st.dictionaries(st.sampled_from(("n0", "n1")), _task, max_size=2)).map(
        lambda e: {**_apply(base, e[0]), **e[1]}).filter(bool)


def _apply(base: dict[str, Task], ops: dict) -> dict[str, Task]:
    out = {}
    for k, (op, (text, answers)) in ops.items():
        t, a = base[k]
        if op == "keep":
            out[k] = (t, dict(a))
        elif op == "text":
            out[k] = (text, dict(a))
        elif op == "answers":
            out[k] = (t, dict(answers))
    return out


def _expected(base: dict[str, Task], ours: dict[str, Task], theirs: dict[str, Task], favor: str
              ) -> tuple[dict[str, Task], set[str]]:
    """The merge as the rule says, from the three sides' tasks alone: (the result with ``favor``
    taking each conflict; the tasks in conflict). Later wins: ours' changes applied to the base,
    then theirs' (``favor == "theirs"``), or the other way round."""
    first, last = (ours, theirs) if favor == "theirs" else (theirs, ours)
    out: dict[str, Task] = {}
    conflicts = set()
    for k in sorted(set(base) | set(ours) | set(theirs)):
        b, o, t = base.get(k), ours.get(k), theirs.get(k)
        if o == b:
            r = t
        elif t == b or o == t:
            r = o
        elif b is not None and (o is None or t is None):  # removed on one side, changed on the other
            conflicts.add(k)
            r = last.get(k)
        else:
            text_b = b[0] if b else None
            f, l = first[k], last[k]
            if o[0] != text_b and t[0] != text_b and o[0] != t[0]:
                conflicts.add(k)
            text = l[0] if l[0] != text_b else f[0]
            answers = {}
            ab = b[1] if b else {}
            for a in set(ab) | set(o[1]) | set(t[1]):
                vb, vo, vt = ab.get(a), o[1].get(a), t[1].get(a)
                if vo != vb and vt != vb and vo != vt:
                    conflicts.add(k)
                vf, vl = f[1].get(a), l[1].get(a)
                v = vl if vl != vb else vf
                if v is not None:
                    answers[a] = v
            r = (text, answers)
        if r is not None:
            out[k] = r
    return out, conflicts


@settings(max_examples=int(os.environ.get("ANNOVER_MERGE_EXAMPLES", "20")), deadline=None,
          derandomize=not os.environ.get("ANNOVER_MERGE_EXAMPLES"),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_merge_with_theirs_is_ours_changes_then_theirs(tmp_path_factory, data):
    base = data.draw(_tasks, "base")
    ours = data.draw(_edits(base), "ours")
    theirs = data.draw(_edits(base), "theirs")
    favor = data.draw(st.sampled_from(("theirs", "ours")), "favor")
    tmp = tmp_path_factory.mktemp("prop")
    root, inputs = tmp / "repo", tmp / "inputs"
    annover.init(root)
    inputs.mkdir()
    lab = Labels(root, inputs)
    v_base = lab.snap(base, "base")
    lab.git("switch", "-q", "-c", "b")
    v_theirs = _snap_any(lab, theirs, "theirs") or v_base
    lab.git("switch", "-q", "main")
    v_ours = _snap_any(lab, ours, "ours") or v_base
    want, conflicts = _expected(base, ours, theirs, favor)
    plan = lab.repo.merge("b", dry_run=True)
    if plan.kind == "merge":
        assert {c.task_key for c in plan.conflicts} == conflicts
    res = lab.repo.merge("b", favor=favor)
    if os.environ.get("ANNOVER_MERGE_TRACE"):
        print("TRACE", res.kind, len(res.conflicts), len(res.combined), len(res.same), file=sys.stderr)
    assert lab.table() == want
    if res.kind == "merge":
        assert annover.Repo(root).show("HEAD").parents == [v_ours, v_theirs]
    _clean(root)


def _snap_any(lab: Labels, tasks: dict[str, Task], message: str) -> str | None:
    """A version of ``tasks``, or None when it is HEAD's content already."""
    path = _write(lab, tasks)
    res = lab.repo.snapshot(str(path), config=str(lab.config), key=KEY, message=message)
    return res.version.id if res.changed else None


@pytest.mark.parametrize("favor", ["ours", "theirs"])
def test_log_of_a_task_after_a_settled_conflict_follows_the_side_kept(tmp_path, monkeypatch, favor):
    """As git log -- PATH simplifies history: the merge kept one side's answer for t1, so the task's
    log follows that side only; the other side's discarded relabel is not shown as its history."""
    lab = _init(tmp_path, monkeypatch)
    v_base, v_ours, v_theirs = _branches(lab, _edit(BASE, t1=("one", {"alice@x.org": "negative"})),
                                         _edit(BASE, t1=("one", {"alice@x.org": "neutral"})))
    merged = lab.repo.merge("b", favor=favor).version
    kept = v_ours if favor == "ours" else v_theirs
    assert [v.id for v in lab.repo.log(tasks=["t1"])] == [kept, v_base]
    # a task both sides left alone: the first version only; one changed on one side: that side's
    assert [v.id for v in lab.repo.log(tasks=["t3"])] == [v_base]
    assert [v.id for v in lab.repo.log()][0] == merged.id
