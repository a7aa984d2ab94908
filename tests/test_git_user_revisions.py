"""Revisions and states as a git and DVC user names them daily: a branch per labeling round,
``A...B``, a detached HEAD after ``git checkout vN && dvc pull``.

Each test walks a user's steps with real git, real DVC and a local DVC remote.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import invoke

from .conftest import git, run_cli

SNAP = ("--key", "data.ext_id")


def _relabeled(root: Path, name: str, index: int, label: str) -> str:
    """round2.json with task ``index``'s sentiment answers set to ``label``: a labeling round's change."""
    data = json.loads((root / "round2.json").read_text())
    for ann in data[index]["annotations"]:
        for r in ann["result"]:
            if r["from_name"] == "sentiment":
                r["value"]["choices"] = [label]
    (root / name).write_text(json.dumps(data))
    return name


@pytest.fixture
def rounds_on_branches(two_rounds):
    """v1, v2 on main; branch round-a relabels task 3 (v3), then main relabels task 6 (v4)."""
    repo, v1, v2 = two_rounds
    root = repo.root
    git("switch", "-q", "-c", "round-a", cwd=root)
    run_cli("snapshot", "--from", _relabeled(root, "a.json", 3, "negative"), *SNAP, "-m", "round a", cwd=root,
            check=True)
    git("switch", "-q", "main", cwd=root)
    run_cli("snapshot", "--from", _relabeled(root, "m.json", 6, "neutral"), *SNAP, "-m", "main's round", cwd=root,
            check=True)
    return repo, v2


def test_diff_a_three_dots_b_is_what_b_changed_since_the_two_forked(rounds_on_branches):
    """``git diff main...round-a``: what the branch changed since it left main (the nearest common
    version, v2, against round-a). It was refused as having "no meaning here"."""
    repo, v2 = rounds_on_branches
    root = repo.root
    want = json.loads(run_cli("diff", "v2", "round-a", "--json", "--no-drift", cwd=root, check=True).stdout)
    for spec in ("main...round-a", "v4...v3", "...round-a"):
        p = run_cli("diff", spec, "--json", "--no-drift", cwd=root)
        assert p.returncode == 0, p.stderr
        got = json.loads(p.stdout)
        assert got["a"]["id"] == v2.id and got["b"]["id"] == want["b"]["id"], spec
        assert got["annotations"] == want["annotations"] and want["annotations"]["changed"] == 1
    stat = run_cli("diff", "main...round-a", "--stat", cwd=root, check=True).stdout
    assert stat == run_cli("diff", "v2", "round-a", "--stat", cwd=root, check=True).stdout
    # the other way round: main's own change since the fork, not round-a's undone
    back = json.loads(run_cli("diff", "round-a...main", "--json", "--no-drift", cwd=root, check=True).stdout)
    assert back["a"]["id"] == v2.id and back["b"]["id"] == repo.resolve("v4")
    # the API takes it as the command line does
    assert repo.diff("main...round-a").summary["a"]["id"] == v2.id


def test_log_a_three_dots_b_is_what_either_has_alone(rounds_on_branches):
    """``git log main...round-a``: the versions either side reaches and the other does not."""
    repo, v2 = rounds_on_branches
    root = repo.root
    got = json.loads(run_cli("log", "main...round-a", "--json", cwd=root, check=True).stdout)
    assert sorted(v["id"] for v in got) == sorted([repo.resolve("v3"), repo.resolve("v4")])
    assert [v["created_at"] for v in got] == sorted((v["created_at"] for v in got), reverse=True)
    # -n 1 is the newest of them (v3 and v4 may share their second: then either, as the whole list has it)
    newest = json.loads(run_cli("log", "v3...v4", "--json", cwd=root, check=True).stdout)[0]["id"]
    one = run_cli("log", "v3...v4", "--oneline", "-n", "1", cwd=root, check=True).stdout.splitlines()
    assert len(one) == 1 and one[0].startswith(newest[:12])
    none = run_cli("log", "v2...v2", cwd=root)
    assert none.returncode == 0 and none.stdout == "" and "no versions in v2...v2" in none.stderr


def test_status_on_a_detached_head_says_so_as_git_status_does(two_rounds):
    """After `git checkout v1 && dvc pull` (README's way to a version), `annover status` said HEAD and
    "pushed", nothing of git's HEAD being on no branch; the next snapshot was then refused (exit 6)."""
    repo, v1, _ = two_rounds
    root = repo.root
    git("checkout", "-q", "v1", cwd=root)
    p = run_cli("status", "--no-remote", cwd=root)
    assert p.returncode == 0, p.stderr
    said = [ln for ln in p.stdout.splitlines() if ln.startswith("git: HEAD detached")]
    assert said == ["git: HEAD detached at v1: a snapshot, tag, merge or revert needs a branch (`git switch main`, "
                    "or `git switch -c NAME` to start one here)"], p.stdout
    doc = json.loads(run_cli("status", "--no-remote", "--json", cwd=root, check=True).stdout)
    assert doc["head"] == v1.id and doc["detached"] == {"at": "v1", "back_to": "main"}
    git("switch", "-q", "main", cwd=root)
    run_cli("tag", "baseline", "v2", cwd=root, check=True)
    git("checkout", "-q", "v2", cwd=root)  # named as checked out, as git status names it, not by its first tag
    assert "git: HEAD detached at v2:" in run_cli("status", "--no-remote", cwd=root, check=True).stdout
    git("checkout", "-q", "--detach", "main", cwd=root)  # no tag checked out: the version's first tag
    back = json.loads(run_cli("status", "--no-remote", "--json", cwd=root, check=True).stdout)["detached"]
    assert back == {"at": "baseline", "back_to": "main"}
    git("switch", "-q", "-c", "relabel", cwd=root)
    assert json.loads(run_cli("status", "--no-remote", "--json", cwd=root, check=True).stdout)["detached"] is None


def test_diff_in_a_clone_names_the_pull_of_the_version_not_here_only(two_rounds, tmp_path):
    """A `git clone` that pulled v1 only: `annover diff v1 v2` said to run `annover pull v1` and
    `annover pull v2`; v1 is here, so the command that helps is the pull of v2 alone."""
    repo, _, _ = two_rounds
    run_cli("push", cwd=repo.root, check=True)
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo.root), str(clone), cwd=tmp_path)
    run_cli("pull", "v1", cwd=clone, check=True)
    for args in (("v1", "v2"), ("v2", "v1"), ("v1..v2",)):
        p = run_cli("diff", *args, cwd=clone)
        assert p.returncode == 8 and p.stdout == "" and p.stderr.count("\n") == 1, p.stderr
        assert "`annover pull v2`" in p.stderr and "pull v1" not in p.stderr, p.stderr
    run_cli("pull", "v2", cwd=clone, check=True)
    assert run_cli("diff", "v1", "v2", "--stat", cwd=clone).returncode == 0


def test_caret_n_names_a_merge_versions_nth_parent_as_git_does(rounds_on_branches):
    """``HEAD^2`` after `annover merge round-a`: round-a's version, as git's ``HEAD^2`` is the merged branch.
    It was handed to git as a commit, so it worked only while HEAD's commit was the merge's own: after
    `annover tag` (a commit of its own) it was "unknown revision", and ``v5~1^2`` walked git's commits."""
    repo, v2 = rounds_on_branches
    root = repo.root
    run_cli("merge", "round-a", cwd=root, check=True)
    run_cli("tag", "reviewed", cwd=root, check=True)  # HEAD's git commit is now the tag's, not the merge's

    def shown(rev: str) -> str:
        p = run_cli("show", rev, "--json", cwd=root)
        assert p.returncode == 0, (rev, p.stderr)
        return json.loads(p.stdout)["id"]

    v3, v4, v5 = (shown(t) for t in ("v3", "v4", "v5"))
    assert json.loads(run_cli("show", "v5", "--json", cwd=root, check=True).stdout)["parents"] == [v4, v3]
    assert shown("HEAD^2") == shown("reviewed^2") == shown("v5^2") == v3
    assert shown("HEAD^1") == shown("HEAD^") == shown("HEAD~") == v4
    assert shown("HEAD^0") == v5 and shown("HEAD^2~1") == shown("HEAD^2^") == v2.id
    for bad, why in (("HEAD^3", "has 2 parents"), ("v3^2", "has 1 parent"), ("v1^1", "has no parent")):
        p = run_cli("show", bad, cwd=root)
        assert p.returncode == 7 and p.stdout == "" and why in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert run_cli("diff", "HEAD^2", "HEAD", "--stat", cwd=root).returncode == 0


def test_log_all_lists_every_branchs_versions_as_git_log_all(rounds_on_branches):
    """A branch per labeling round: `annover log --all` (as `git log --all`) was "No such option"."""
    repo, v2 = rounds_on_branches
    root = repo.root
    git("switch", "-q", "-c", "round-b", "v2", cwd=root)
    run_cli("snapshot", "--from", _relabeled(root, "b.json", 7, "positive"), *SNAP, "-m", "round b", cwd=root,
            check=True)
    git("switch", "-q", "main", cwd=root)
    p = run_cli("log", "--all", "--json", cwd=root)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    ids = {json.loads(run_cli("show", t, "--json", cwd=root, check=True).stdout)["id"] for t in
           ("v1", "v2", "v3", "v4", "v5")}
    assert [v["id"] for v in got if v["id"] in ids] == [v["id"] for v in got] and {v["id"] for v in got} == ids
    assert [v["created_at"] for v in got] == sorted((v["created_at"] for v in got), reverse=True)
    assert len(run_cli("log", "--all", "--oneline", "-n", "2", cwd=root, check=True).stdout.splitlines()) == 2
    p = run_cli("log", "--all", "--task", "x", cwd=root)
    assert p.returncode == 2 and p.stdout == "" and p.stderr.count("\n") == 1, p.stderr


def test_versions_made_within_one_second_are_listed_child_first(two_rounds):
    """``log A...B`` and ``log --all`` list versions from several histories newest first; a version made in
    the second its parent was (created_at has seconds) came after it where its id sorted after the parent's,
    so they disagreed with ``annover log``. Versions are made until a child and its parent share a second
    and the child's id sorts after the parent's (the order that showed it), then each listing is compared."""
    repo, v1, _ = two_rounds
    data = json.loads((repo.root / "round2.json").read_text())
    for i in range(60):
        data[0]["data"]["text"] = f"edited {i}"
        (repo.root / "edited.json").write_text(json.dumps(data))
        repo.snapshot("edited.json", key="data.ext_id", message=f"edit {i}")
        newest, parent = repo.log("HEAD")[:2]
        if newest.created_at == parent.created_at and newest.id > parent.id:
            break
    history = [v.id for v in repo.log("HEAD")]

    def listed(*args: str) -> list[str]:
        code, out, err = invoke("log", "--json", *args)
        assert code == 0, err
        return [v["id"] for v in json.loads(out)]

    assert listed() == history
    assert listed(f"{v1.id}...HEAD") == listed(f"HEAD...{v1.id}") == history[:-1]
    assert listed("--all") == history
