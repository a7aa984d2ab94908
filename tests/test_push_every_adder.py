"""A version's record added again by a later commit on HEAD's history, beside another version's
objects pointer (a teammate's branch that squashed our versions in, merged with plain ``git
merge``): push, pull and status go by the version's own commit, the one that made it, not by the
newest commit that added its record. Real git, real DVC, a local folder remote."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import annover
from annover.repo.remote import reachable

from .conftest import git
from .test_daily_remote import as_json, ok


def _listing(root: Path, rev: str) -> str:
    """The ``.dir`` md5 ``rev``'s objects pointer records."""
    text = git("show", f"{rev}:.annover/objects.dvc", cwd=root)
    return next(ln.split()[-1] for ln in text.splitlines() if ".dir" in ln)


def _merge_their_squash(root: Path) -> str:
    """A teammate's branch from the first commit that took our versions in as one squashed commit
    (made after ours), merged into ours by plain git: its commit adds v1's record again beside
    v2's objects pointer. Returns that commit."""
    ours = git("rev-parse", "--abbrev-ref", "HEAD", cwd=root).strip()
    first = git("rev-list", "--max-parents=0", "HEAD", cwd=root).strip()
    later = str(int(git("log", "-1", "--format=%ct", cwd=root)) + 3600)
    git("checkout", "-q", "-b", "theirs", first, cwd=root)
    git("merge", "-q", "--squash", ours, cwd=root)
    dated = {**os.environ, "GIT_AUTHOR_DATE": f"@{later}", "GIT_COMMITTER_DATE": f"@{later}"}
    subprocess.run(["git", "commit", "-q", "-m", "their copy of the labels"], cwd=root, env=dated, check=True)
    squash = git("rev-parse", "HEAD", cwd=root).strip()
    git("checkout", "-q", ours, cwd=root)
    git("merge", "-q", "--no-edit", "theirs", cwd=root)
    return squash


@pytest.fixture
def merged(two_rounds):
    """``two_rounds`` with their squashed copy merged in: (repo, v1, v2, the squashed commit)."""
    repo, v1, v2 = two_rounds
    root = Path(repo.root)
    squash = _merge_their_squash(root)
    assert _listing(root, squash) == _listing(root, "v2") != _listing(root, "v1")
    return repo, v1, v2, squash


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
