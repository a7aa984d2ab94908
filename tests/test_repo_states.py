"""The repository in the states users get it into: each a one-line error naming what is wrong and
the command that fixes it, a documented exit code, nothing written, nothing lost.

Real git, real DVC with a local folder remote, the real ``annover`` entry point in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import git, run_cli


@pytest.fixture
def pushed(two_rounds):
    """v1 and v2, pushed to the DVC remote (so a damaged local copy can be fetched again)."""
    repo, v1, v2 = two_rounds
    run_cli("push", "-q", cwd=repo.root, check=True)
    return repo


def _one_line_error(p: subprocess.CompletedProcess, code: int) -> str:
    assert p.returncode == code, (p.returncode, p.stderr)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip() and not ln.startswith(("repaired:", "warning:"))]
    assert len(lines) == 1 and lines[0].startswith("Error: "), p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


def _flip_a_byte(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


# ---------------------------------------------------------------- a tag named like a branch


@pytest.mark.parametrize("how", [("tag", "main", "v1"), ("snapshot", "--from", "round1.json", "-m", "again",
                                                           "--tag", "main")])
def test_a_tag_named_like_a_branch_is_refused(two_rounds, how):
    """`annover tag main` was taken: git then reads `main` as ambiguous (`git log main` showed the tag,
    `git push origin main` failed: "src refspec main matches more than one")."""
    repo, _, _ = two_rounds
    before = git("for-each-ref", cwd=repo.root)
    err = _one_line_error(run_cli(*how, cwd=repo.root), 2)
    assert "'main'" in err and "branch" in err
    assert git("for-each-ref", cwd=repo.root) == before  # no tag, no commit
    git("branch", "topic", cwd=repo.root)
    assert "branch" in _one_line_error(run_cli("tag", "topic", cwd=repo.root), 2)
    git("update-ref", "refs/remotes/origin/main", "HEAD", cwd=repo.root)
    assert "branch" in _one_line_error(run_cli("tag", "origin/main", cwd=repo.root), 2)
