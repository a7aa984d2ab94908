"""`status` with many tags: every walk of the history named `--tags` (`git rev-list HEAD --tags`,
then the commits no tip reaches, then `--tags --not HEAD`), and with 500 loose tags each cost git
10-16 ms of CPU more than a walk of HEAD. Where every git tag is on HEAD's history (annover's are,
unless a branch or a reset left one off it) the walks are of HEAD alone; the answer is the same."""

from __future__ import annotations

import subprocess

import annover

from .test_status_reads import _fresh_status, _git_spy, _repo, _snapshot


def _walks_of_tags(calls: list[tuple[list[str], bytes]]) -> list[list[str]]:
    return [a for a, _ in calls if "--tags" in a]


def test_status_walks_no_tag_when_every_tag_is_on_heads_history(tmp_path, monkeypatch):
    _repo(tmp_path, monkeypatch)
    root = tmp_path / "r"
    subprocess.run(["git", "tag", "-a", "-m", "release", "rel-1", "v1"], check=True, cwd=root)  # a user's own
    annover.Repo(root).status(remote=False)
    calls = _git_spy(monkeypatch)
    out = annover.Repo(root).status(remote=False)
    assert out.versions == 2 and _walks_of_tags(calls) == [], calls
    assert out == _fresh_status(root, remote=False)


def test_a_tag_off_heads_history_is_still_walked(tmp_path, monkeypatch):
    """A version on a branch, tagged, HEAD back on the main branch; and a tag of a tree: the tags'
    walks are made, and status says what it says with nothing remembered."""
    _repo(tmp_path, monkeypatch)
    root = tmp_path / "r"
    subprocess.run(["git", "switch", "-q", "-c", "side", "v1"], check=True, cwd=root)
    _snapshot(annover.Repo(root), tmp_path, "a")  # v3, on the side branch only
    subprocess.run(["git", "switch", "-q", "-"], check=True, cwd=root)
    calls = _git_spy(monkeypatch)
    out = annover.Repo(root).status(remote=False)
    assert out.versions == 3 and _walks_of_tags(calls) != []
    assert out == _fresh_status(root, remote=False)
    subprocess.run(["git", "branch", "-q", "-D", "side"], check=True, cwd=root)
    subprocess.run(["git", "tag", "a-tree", "HEAD^{tree}"], check=True, cwd=root)
    out = annover.Repo(root).status(remote=False)
    assert out.versions == 3 and out == _fresh_status(root, remote=False)
