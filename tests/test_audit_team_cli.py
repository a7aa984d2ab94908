"""A team's day with git and DVC, as two users see it on the command line: what each command
says, and that it says what happened (not what would have). Real git, real DVC, real files."""

from __future__ import annotations


import annover

from .conftest import git, run_cli
from .test_merge import BASE, Labels, _edit, _init


def _two_clones_that_relabeled_one_answer(tmp_path, monkeypatch) -> Labels:
    """Alice and Bob each made a v2 from one v1, both changing alice@x.org's answer on t1, each
    their own way; Bob's v2 is on no git remote, and Bob has fetched Alice's (as origin/a)."""
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
    bob.snap(_edit(BASE, t1=("one", {"alice@x.org": "negative"})), "bob's round")
    bob.git("fetch", "-q", "origin", "a")
    assert run_cli("pull", "origin/a", cwd=bob_root).returncode == 0
    return bob


def test_a_merge_stopped_by_conflicts_says_it_would_renumber_not_that_it_did(tmp_path, monkeypatch):
    """The merge stops at the conflict (exit 16, nothing written): Bob's v2 keeps its number, so
    the line about it must say what the merge would do, as --dry-run says it."""
    bob = _two_clones_that_relabeled_one_answer(tmp_path, monkeypatch)
    before = bob.commit()
    p = run_cli("merge", "origin/a", cwd=bob.root)
    assert p.returncode == 16, p.stderr
    assert bob.commit() == before and annover.Repo(bob.root).name_of(annover.Repo(bob.root).head()) == "v2"
    assert "would renumber this branch's v2 as v3" in p.stderr, p.stderr
    assert "renumbered this branch's" not in p.stderr, p.stderr
    p = run_cli("merge", "origin/a", "--theirs", cwd=bob.root)  # settled: now it did
    assert p.returncode == 0, p.stderr
    assert "renumbered this branch's v2 as v3" in p.stderr, p.stderr
