"""A ``Repo`` kept open all day (a notebook's kernel) while a terminal beside it changes the
repository: each library call answers as a fresh ``annover`` process does then, not with what the
object read before. The terminal side runs as subprocesses (git, ``python -m annover``)."""

from __future__ import annotations

import json

import pytest

import annover
from annover.errors import RevisionError
from tests.conftest import git, run_cli


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    """(the Repo kept open, v1's id, v2's id): v1 and v2 tagged, each tag asked for once already."""
    from tests.conftest import example_repo

    repo = example_repo(tmp_path_factory.mktemp("kept") / "repo")
    root = repo.root
    v1 = repo.snapshot(str(root / "round1.json"), config=str(root / "labeling.xml"), key="data.ext_id",
                       message="round 1").version.id
    v2 = repo.snapshot(str(root / "round2.json"), key="data.ext_id", message="round 2").version.id
    assert repo.resolve_all("v1", "v2") == [v1, v2]
    assert repo.moved_tags() == []
    return repo, v1, v2


def _fresh_show(repo, rev: str):
    return run_cli("show", rev, "--json", cwd=repo.root, process=True)


def test_git_tag_moved_in_a_terminal_is_refused_as_a_fresh_process_does(kept):
    repo, v1, v2 = kept
    assert repo.resolve("v1") == v1 and repo.tags_of()[v1] == ["v1"]
    commit = git("rev-list", "-n1", "v1", cwd=repo.root).strip()
    git("tag", "-f", "v1", "v2", cwd=repo.root)  # the terminal moves git's tag
    try:
        fresh = _fresh_show(repo, "v1")
        assert fresh.returncode == RevisionError.exit_code, fresh.stderr
        with pytest.raises(RevisionError, match="tag v1 does not name the version annover recorded"):
            repo.resolve("v1")  # not v2's id, read through the moved tag as if nothing happened
        with pytest.raises(RevisionError, match="tag v1"):
            repo.load("v1")
        with pytest.raises(RevisionError, match="tag v1"):
            repo.diff("v1", "v2")
        assert [(m.name, m.recorded, m.now) for m in repo.moved_tags()] == [("v1", v1, v2)]
    finally:
        git("tag", "-f", "v1", commit, cwd=repo.root)  # put back for the next test


def test_moved_tag_settled_in_a_terminal_is_read_again(kept):
    repo, v1, v2 = kept
    git("tag", "-f", "v1", "v2", cwd=repo.root)
    with pytest.raises(RevisionError):
        repo.resolve("v1")
    assert run_cli("tag", "v1", v2, "--force", cwd=repo.root, process=True).returncode == 0  # records the move
    assert _fresh_show(repo, "v1").returncode == 0
    assert repo.moved_tags() == []
    assert repo.resolve("v1") == v2 and annover.resolve("v1", repo=str(repo.root)) == v2


def _as_fresh(repo, rev: str) -> "str | int":
    """What a fresh process says of ``rev``: the version id, or the exit code."""
    p = run_cli("show", rev, "--json", cwd=repo.root)
    return json.loads(p.stdout)["id"] if p.returncode == 0 else p.returncode


def _as_kept(repo, rev: str) -> "str | int":
    try:
        return repo.resolve(rev)
    except annover.AnnoverError as e:
        return e.exit_code


def test_kept_repo_answers_as_a_fresh_one_after_each_terminal_step(kept):
    repo, v1, v2 = kept
    steps = [["annover", "tag", "best", "v1"], ["git", "tag", "-f", "v2", "v1"],
             ["git", "reset", "-q", "--hard", "HEAD~1"],
             ["git", "reset", "-q", "--hard", "HEAD@{1}"], ["annover", "tag", "v2", v2, "--force"],
             ["git", "tag", "-d", "best"]]
    for step in steps:
        if step[0] == "git":
            git(*step[1:], cwd=repo.root)
        else:
            run_cli(*step[1:], cwd=repo.root, process=True, check=True)
        for rev in ("HEAD", "HEAD~1", "v1", "v2", "best"):
            assert _as_kept(repo, rev) == _as_fresh(repo, rev), (step, rev)
        assert [m.to_json() for m in repo.moved_tags()] == [m.to_json() for m in annover.Repo(repo.root).moved_tags()]
