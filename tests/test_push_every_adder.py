"""A version's record added again by a later commit on HEAD's history, beside another version's
objects pointer (a teammate's branch that squashed our versions in, merged with plain ``git
merge``): push, pull and status go by the version's own commit, the one that made it, not by the
newest commit that added its record. Real git, real DVC, a local folder remote."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import annover
from annover.repo.remote import reachable
from annover.store import git as git_mod
from annover.store import memo

from .conftest import git
from .test_daily_remote import as_json, ok
from .test_status_reads import _git_spy


_HEAD, _POINTER = ".annover/HEAD", ".annover/objects.dvc"


def _listing(root: Path, rev: str) -> str:
    """The ``.dir`` md5 ``rev``'s objects pointer records."""
    text = git("show", f"{rev}:{_POINTER}", cwd=root)
    return next(ln.split()[-1] for ln in text.splitlines() if ".dir" in ln)


def _merge_their_squash(root: Path, they_merge: bool = False) -> str:
    """A teammate's branch from the first commit that took our versions in as one squashed commit
    (made after ours), merged into ours by plain git (``they_merge``: ours merged into theirs,
    then ours fast-forwarded to it: their side is the merge's first parent): its commit adds
    v1's record again beside v2's objects pointer. Returns that commit."""
    ours = git("rev-parse", "--abbrev-ref", "HEAD", cwd=root).strip()
    first = git("rev-list", "--max-parents=0", "HEAD", cwd=root).strip()
    later = str(int(git("log", "-1", "--format=%ct", cwd=root)) + 3600)
    git("checkout", "-q", "-b", "theirs", first, cwd=root)
    git("merge", "-q", "--squash", ours, cwd=root)
    dated = {**os.environ, "GIT_AUTHOR_DATE": f"@{later}", "GIT_COMMITTER_DATE": f"@{later}"}
    subprocess.run(["git", "commit", "-q", "-m", "their copy of the labels"], cwd=root, env=dated, check=True)
    squash = git("rev-parse", "HEAD", cwd=root).strip()
    if they_merge:
        git("merge", "-q", "--no-edit", ours, cwd=root)
    git("checkout", "-q", ours, cwd=root)
    git("merge", "-q", "--no-edit", "theirs", cwd=root)
    return squash


def _merge_their_cherry_picks(root: Path) -> str:
    """A teammate's branch from the first commit that cherry-picked v2's commit, then v1's, keeping
    their objects pointer (v2's) where v1's conflicted with it, and v1's ``.annover/HEAD``; merged
    into ours by plain git, our HEAD kept where theirs conflicted. Returns the commit that added
    v1's record again."""
    ours = git("rev-parse", "--abbrev-ref", "HEAD", cwd=root).strip()
    first = git("rev-list", "--max-parents=0", "HEAD", cwd=root).strip()
    later = str(int(git("log", "-1", "--format=%ct", cwd=root)) + 3600)
    dated = {**os.environ, "GIT_COMMITTER_DATE": f"@{later}", "GIT_EDITOR": "true"}

    def run(*args: str, check: bool = True) -> None:
        subprocess.run(["git", *args], cwd=root, env=dated, check=check, capture_output=True)

    def take(side: str, *files: str) -> None:
        git("checkout", side, "--", *files, cwd=root)
        git("add", "--", *files, cwd=root)

    git("checkout", "-q", "-b", "theirs", first, cwd=root)
    run("cherry-pick", "v2", check=False)  # HEAD and the pointer: not here, changed there
    take("--theirs", _HEAD, _POINTER)
    run("cherry-pick", "--continue")
    run("cherry-pick", "v1", check=False)  # HEAD and the pointer: added on both sides
    take("--ours", _POINTER)
    take("--theirs", _HEAD)
    run("cherry-pick", "--continue")
    picked = git("rev-parse", "HEAD", cwd=root).strip()
    git("checkout", "-q", ours, cwd=root)
    run("merge", "--no-edit", "theirs", check=False)  # HEAD: v2 here, v1 there
    take("--ours", _HEAD)
    run("commit", "-q", "--no-edit")
    return picked


_MERGES = {"squash": _merge_their_squash, "squash-they-merge": lambda root: _merge_their_squash(root, True),
           "cherry-pick": _merge_their_cherry_picks}


@pytest.fixture(params=sorted(_MERGES))
def merged(request, two_rounds):
    """``two_rounds`` with a teammate's copy of its versions merged in (squashed, or cherry-picked
    with a conflict resolved their way): (repo, v1, v2, the commit that added v1's record again,
    beside v2's objects pointer)."""
    repo, v1, v2 = two_rounds
    root = Path(repo.root)
    again = _MERGES[request.param](root)
    assert _listing(root, again) == _listing(root, "v2") != _listing(root, "v1")
    assert git("merge-base", "--is-ancestor", again, "HEAD", cwd=root) == ""
    return repo, v1, v2, again


def test_status_counts_a_version_whose_record_a_later_commit_added_again(merged):
    """Was: v1 counted by the newest commit adding its record (the squashed one, v2's pointer):
    status said nothing was to push once v2's listing was on the remote."""
    repo, v1, v2, _ = merged
    root = Path(repo.root)
    found = reachable(annover.Repo(root))
    assert found[v1.id][1] == _listing(root, "v1") and found[v2.id][1] == _listing(root, "v2")
    ok("push", "v2")
    assert as_json("status")["unpushed_versions"] == [v1.id]
    ok("push")
    assert as_json("status")["unpushed_versions"] == []


def test_a_fresh_clone_pulls_and_reads_every_version_after_the_merge(merged, tmp_path, monkeypatch):
    """Was: push sent v2's listing alone (v1 mapped to it too); the clone's pull reported both
    versions pulled, and loading or exporting v1 there failed for its missing objects."""
    repo, v1, v2, _ = merged
    ok("push")
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo.root), str(clone), cwd=tmp_path)
    monkeypatch.chdir(clone)
    pulled = as_json("pull")
    assert pulled["versions"] == 2 and set(pulled["moved_versions"]) == {v1.id, v2.id}, pulled
    there = annover.Repo(clone)
    assert there.load("v1").num_rows == repo.load("v1").num_rows > 0
    ok("export", "v1", "--format", "jsonl", "-o", str(tmp_path / "v1.jsonl"))
    assert len((tmp_path / "v1.jsonl").read_text().splitlines()) == repo.load("v1").num_rows


def test_pull_of_one_version_fetches_its_own_listing(merged, tmp_path, monkeypatch):
    """`annover pull v1` in a fresh clone. Was: the newest commit adding v1's record named v2's
    listing, so the pull fetched v2's objects (or refused the listing as not v1's)."""
    repo, v1, _, _ = merged
    ok("push")
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo.root), str(clone), cwd=tmp_path)
    monkeypatch.chdir(clone)
    pulled = as_json("pull", "v1")
    assert pulled["version"] == v1.id and pulled["commit"] == git("rev-parse", "v1", cwd=clone).strip(), pulled
    assert annover.Repo(clone).load("v1").num_rows == repo.load("v1").num_rows > 0


def test_pull_checks_out_heads_own_listing_when_head_is_such_a_version(merged, tmp_path, monkeypatch):
    """v2's commit undone by `git revert` after the merge: HEAD names v1 again, whose record the
    merged commit added too. Was: the pull checked out the listing of the newest commit adding
    v1's record (v2's) against v1's objects, and refused it; now v1's own."""
    repo, v1, _, _ = merged
    root = Path(repo.root)
    git("revert", "--no-edit", "v2", cwd=root)
    assert annover.Repo(root).head() == v1.id
    ok("push")
    clone = tmp_path / "clone"
    git("clone", "-q", str(root), str(clone), cwd=tmp_path)
    monkeypatch.chdir(clone)
    ok("pull")
    there = annover.Repo(clone)
    assert there.status(remote=False).missing_locally == 0
    assert there.load().num_rows == repo.load("v1").num_rows > 0


def _heads_read(calls: list[tuple[list[str], bytes]], commit: str) -> list[bytes]:
    """What the git calls among ``calls`` that read ``commit``'s ``.annover/HEAD`` were given."""
    return [stdin for _, stdin in calls if f"{commit}:{_HEAD}\n".encode() in stdin]


def test_the_commits_heads_are_read_once_and_only_where_a_record_was_added_again(merged, monkeypatch):
    """Which version a commit's `.annover/HEAD` names is read only of the commits adding a record
    another commit adds too, in one git call, and remembered in the memo: the next status (a new
    process) reads none."""
    repo, _, _, again = merged
    root = Path(repo.root)
    calls = _git_spy(monkeypatch)
    found = reachable(annover.Repo(root))
    assert len(_heads_read(calls, again)) == 1
    calls.clear()
    git_mod._BLOBS.clear()  # what this process read of git's blobs: a new process has none
    assert reachable(annover.Repo(root)) == found
    assert _heads_read(calls, again) == []


def test_a_version_added_once_reads_no_head(two_rounds):
    """Most days every version's record was added by one commit: no commit's HEAD is read for it
    (the memo's lines say none was)."""
    repo, _, _ = two_rounds
    assert len(reachable(annover.Repo(repo.root))) == 2
    lines = (repo.scm.git_dir / memo.MEMO_FILE).read_text().splitlines()[1:]
    assert len([ln for ln in lines if not ln.startswith("^")]) == 2
    assert all(len(ln.split("\t")) == 3 for ln in lines if not ln.startswith("^")), lines


def test_gc_in_a_clone_that_pulled_one_version_says_the_other_is_not_here(merged, tmp_path, monkeypatch):
    """A fresh clone that pulled v2 alone: v1's listing is not in its cache. Was: gc took v1's
    listing to be the one of the newest commit adding its record (v2's, pulled), and said every
    kept version was here."""
    repo, v1, _, _ = merged
    ok("push")
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo.root), str(clone), cwd=tmp_path)
    monkeypatch.chdir(clone)
    ok("pull", "v2")
    assert as_json("gc")["not_here"] == [v1.id]


def test_a_tag_goes_on_the_commit_that_made_the_version(merged):
    """`annover tag NAME v1` after the merge. Was: the git tag went on the newest commit that added
    v1's record (their copy, beside v2's objects pointer), so `git checkout NAME && dvc pull` gave
    v2's objects, or a HEAD naming v2; now on the commit that made v1, as push and pull take it."""
    repo, v1, _, again = merged
    root = Path(repo.root)
    ok("tag", "best", "v1")
    tagged = git("rev-parse", "best^{commit}", cwd=root).strip()
    assert tagged != again
    assert git("show", f"{tagged}:{_HEAD}", cwd=root).strip() == v1.id
    assert _listing(root, tagged) == _listing(root, "v1") == reachable(annover.Repo(root))[v1.id][1]
