"""annover's own files edited or deleted by hand in the work tree (``.annover/HEAD``, HEAD's version
record): every command that commits refuses (exit 8, nothing written, the ``git checkout`` that
restores the file named), as snapshot and merge do; the reads say what is wrong. Real git, real DVC,
the sample dataset snapshotted twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import git, run_cli


def _state(root: Path) -> tuple[str, str, str]:
    """(git HEAD's commit, git's tags, ``git status`` of the work tree): what a refusal leaves as it was."""
    return (git("rev-parse", "HEAD", cwd=root), git("tag", cwd=root),
            git("status", "--porcelain", "--untracked-files=no", cwd=root))


def _hand_edit(root: Path, edit: str, head: str) -> str:
    """Edit ``.annover/HEAD`` (``edited``: a line appended; ``deleted``) or delete HEAD's version
    record (``record``); the path the fix must name."""
    if edit == "record":
        path = f".annover/versions/{head}.json"
        (root / path).unlink()
        return path
    path = root / ".annover" / "HEAD"
    if edit == "edited":
        path.write_text(path.read_text() + "junk\n")
    else:
        path.unlink()
    return ".annover/HEAD"


WRITES = [["tag", "foo"], ["tag", "foo", "v1"], ["tag", "-d", "keep"], ["tag", "v1", "v2", "--force"],
          ["sample", "v1", "--strategy", "random", "--n", "3"], ["revert"],
          ["reset", "HEAD~1", "--dry-run"], ["reset", "HEAD~1", "--force"],
          ["snapshot", "--from", "round1.json", "--dry-run"], ["snapshot", "--from", "round1.json"]]


@pytest.mark.parametrize("edit", ["edited", "deleted", "record"])
def test_every_write_refuses_a_hand_edited_or_deleted_annover_file(two_rounds, edit):
    """``annover tag`` (and ``tag -d``, ``sample``'s record) took the lock and its repair put the
    user's ``.annover/HEAD`` back from git in silence, then committed (exit 0); a snapshot, revert
    or reset went on over HEAD's version record deleted by hand, though the README says such a file
    is named with exit 8. Each is refused now, before anything is written, naming the file and the
    ``git checkout`` that restores it; restored, they go on."""
    repo, _, v2 = two_rounds
    root = Path(repo.root)
    assert run_cli("tag", "keep", "v1", cwd=root).returncode == 0
    path = _hand_edit(root, edit, v2.id)
    before = _state(root)
    for args in WRITES:
        p = run_cli(*args, cwd=root)
        assert p.returncode == 8, (args, p.returncode, p.stderr)
        assert f"git checkout HEAD -- {path}" in p.stderr and "Traceback" not in p.stderr, (args, p.stderr)
        assert p.stderr.count("\n") == 1, (args, p.stderr)
        assert _state(root) == before, args
    assert not (root / ".annover" / "samples").exists()
    p = run_cli("status", "--no-remote", cwd=root)  # a read: says it, as a pending state with its fix
    assert p.returncode == 0, p.stderr
    assert f"edited by hand: {path}" in p.stdout and f"git checkout HEAD -- {path}" in p.stdout, p.stdout
    assert f"HEAD: {v2.id} (v2)" in p.stdout, p.stdout  # read from git's HEAD commit
    hand_edit = json.loads(run_cli("status", "--no-remote", "--json", cwd=root).stdout)["hand_edit"]
    assert f"git checkout HEAD -- {path}" in hand_edit
    for args in (["log"], ["show"], ["diff", "v1", "v2"]):  # HEAD's file is named; a record is read from git
        p = run_cli(*args, cwd=root)
        assert p.returncode == (0 if edit == "record" or args[0] == "diff" else 8), (args, p.stderr)
        assert p.returncode == 0 or f"git checkout HEAD -- {path}" in p.stderr, p.stderr
    assert _state(root) == before
    git("checkout", "--", path, cwd=root)
    assert "edited by hand" not in run_cli("status", "--no-remote", cwd=root).stdout
    for args in (["tag", "foo"], ["tag", "-d", "keep"], ["sample", "v1", "--strategy", "random", "--n", "3"]):
        p = run_cli(*args, cwd=root)
        assert p.returncode == 0, (args, p.stderr)


def test_status_names_a_version_a_plain_git_merge_left_out(repo, tmp_path):
    """`git merge -X theirs x` settles the conflict in annover's files by taking x's
    ``.annover/HEAD``: main's v3 is in no version HEAD reaches. `annover status` said nothing (and
    `annover merge x` only refuses when asked); it names v3 and the `annover merge` that brings it
    back (``--json``: ``left_out_by_git_merge``), and is quiet once that merge is made."""
    root = Path(repo.root)
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1")
    git("switch", "-q", "-c", "x", cwd=root)
    assert run_cli("snapshot", "--from", "round2.json", "-m", "x", cwd=root).returncode == 0
    git("switch", "-q", "main", cwd=root)
    relabeled = tmp_path / "main.json"
    relabeled.write_text((root / "round1.json").read_text().replace('"positive"', '"neutral"', 1))
    assert run_cli("snapshot", "--from", str(relabeled), "-m", "main", cwd=root).returncode == 0
    v3 = (root / ".annover" / "HEAD").read_text().strip()
    p = run_cli("status", "--no-remote", cwd=root)
    assert p.returncode == 0 and "left out" not in p.stdout, p.stdout
    git("merge", "-q", "-X", "theirs", "x", "-m", "plain git merge", cwd=root)
    p = run_cli("status", "--no-remote", cwd=root)
    assert p.returncode == 0, p.stderr
    assert f"left out by a git merge: version v3 ({v3[:12]})" in p.stdout, p.stdout
    assert f"`annover merge {v3[:12]}`" in p.stdout, p.stdout
    p = run_cli("status", "--no-remote", "--json", cwd=root)
    assert json.loads(p.stdout)["left_out_by_git_merge"] == v3
    assert run_cli("merge", v3[:12], cwd=root).returncode == 0
    p = run_cli("status", "--no-remote", cwd=root)
    assert p.returncode == 0 and "left out" not in p.stdout, p.stdout
    assert json.loads(run_cli("status", "--no-remote", "--json", cwd=root).stdout)["left_out_by_git_merge"] is None
