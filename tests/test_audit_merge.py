"""``annover merge`` as a git user meets it, on a real export of the shared corpus: two branches
relabeling its boxes, merged; what a refusal says and that it writes nothing. Real git, real DVC."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import annover

from .conftest import git, run_cli, shared_corpus

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
        assert "git checkout -- .annover/HEAD" in p.stderr and "Traceback" not in p.stderr, p.stderr
        assert _state(root) == before, args
    git("checkout", "--", ".annover/HEAD", cwd=root)
    p = run_cli("merge", "x", cwd=root)  # restored: the merge goes on
    assert p.returncode == 0, p.stderr
    assert len(annover.Repo(root).show("HEAD").parents) == 2
