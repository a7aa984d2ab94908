"""``annover tag NAME`` makes a commit, where ``git tag`` makes none: its help says so and why."""

from __future__ import annotations

from .conftest import git
from .test_cli import invoke


def test_tag_says_it_commits_and_commits_the_tag_file_only(two_rounds):
    repo, _, _ = two_rounds
    code, page, _ = invoke("tag", "--help")
    assert code == 0
    said = " ".join(page.split())
    assert "Unlike git tag" in said and "makes a commit on the current branch" in said, page
    before = git("rev-parse", "HEAD", cwd=repo.root).strip()
    for args in (["reviewed", "v1"], ["reviewed", "v2", "--force"], ["-d", "reviewed"]):
        assert invoke("tag", *args, "-q")[0] == 0
        after = git("rev-parse", "HEAD", cwd=repo.root).strip()
        assert git("rev-parse", f"{after}~1", cwd=repo.root).strip() == before, args  # one commit each
        files = git("diff-tree", "--no-commit-id", "--name-only", "-r", after, cwd=repo.root).split()
        assert files == [".annover/refs/tags/reviewed"], (args, files)
        before = after
