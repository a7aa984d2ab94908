"""Rough edges of annover in a git and DVC team flow, each with the real CLI, real git (a
bare remote on disk) and real DVC (a local remote folder):

1. a read (log, show, status, diff, tag, load) never touches git's index: a user's ``git add``
   of annover's own files stays staged, and the read says so;
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import git, run_cli


def _index(root: Path) -> str:
    """git's index as ``git ls-files --stage`` shows it, and what it stages against HEAD."""
    return git("ls-files", "--stage", cwd=root) + git("diff", "--cached", "--name-status", cwd=root)


# ---------------------------------------------------------------- 1. reads leave git's index alone


def test_reads_leave_a_users_git_add_of_annovers_files_staged(two_rounds):
    """A tag file written by hand and an edit of .annover/.gitignore, both `git add`-ed: every
    read left them unstaged (and put .gitignore back as committed). Now the index and the work
    tree stay as the user left them, and the read says what is staged and how to unstage it."""
    repo, v1, _ = two_rounds
    root = repo.root
    (root / ".annover" / "refs" / "tags" / "best").write_text(v1.id + "\n")
    gitignore = root / ".annover" / ".gitignore"
    gitignore.write_text(gitignore.read_text() + "# mine\n")
    git("add", ".annover/refs/tags/best", ".annover/.gitignore", cwd=root)
    before = _index(root)
    assert "A\t.annover/refs/tags/best" in before and "M\t.annover/.gitignore" in before
    for args in (["log", "--oneline"], ["show", "v1"], ["status", "--no-remote"], ["diff", "v1", "v2"], ["tag"],
                 ["export", "v2", "--format", "jsonl", "--out", str(root.parent / "v2.jsonl")]):
        p = run_cli(*args, cwd=root)
        assert p.returncode == 0, (args, p.stderr)
        assert "repaired" not in p.stderr, (args, p.stderr)
        assert "git restore --staged -- .annover" in p.stderr and ".annover/refs/tags/best" in p.stderr, p.stderr
        assert _index(root) == before, args
        assert gitignore.read_text().endswith("# mine\n")
    code = "import annover; print(annover.load('v1').num_rows)"
    p = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert p.returncode == 0 and int(p.stdout) > 0, p.stderr
    assert _index(root) == before
    git("restore", "--staged", "--", ".annover", cwd=root)  # what the warning says: then nothing to say
    p = run_cli("log", "--oneline", cwd=root)
    assert p.returncode == 0 and "git restore" not in p.stderr, p.stderr


def test_a_read_names_a_staged_deletion_of_a_version_record_and_leaves_it(two_rounds):
    """`git rm --cached` of a record HEAD holds: a `git commit` would delete the version. The read
    says so, and leaves the index to the user (a write repairs it, as it did before)."""
    repo, _, v2 = two_rounds
    root = repo.root
    git("rm", "-q", "--cached", f".annover/versions/{v2.id}.json", cwd=root)
    before = _index(root)
    p = run_cli("show", "--json", cwd=root)
    assert p.returncode == 0 and json.loads(p.stdout)["id"] == v2.id, p.stderr
    assert "would delete 1 version record(s)" in p.stderr and _index(root) == before, p.stderr
