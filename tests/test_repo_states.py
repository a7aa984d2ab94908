"""The repository in the states users get it into: each a one-line error naming what is wrong and
the command that fixes it, a documented exit code, nothing written, nothing lost.

Real git, real DVC with a local folder remote, the real ``annover`` entry point in a subprocess.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from annover.errors import NotARepoError
from annover.repo.gc import gc as collect
from annover.store import refs
from annover.store.snapshots import object_refs

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


# ---------------------------------------------------------------- a corrupt object in the DVC cache


def test_pull_of_a_version_fetches_again_what_is_corrupt_in_the_cache(pushed):
    """A flipped byte in an object of v1 (not HEAD): every read of v1 says 'corrupt — run `annover pull
    v1`'; that pull said '1 already here' and fixed nothing."""
    repo = pushed
    v1 = repo.resolve("v1")
    head_objects = {r.md5 for r in repo.objects_of(repo.version(repo.head()))}
    only_v1 = [r for r in repo.objects_of(repo.version(v1)) if r.md5 not in head_objects]
    assert only_v1
    cache = repo.dvc.cache_dir()
    for r in only_v1:
        _flip_a_byte(cache / r.md5[:2] / r.md5[2:])
    err = _one_line_error(run_cli("export", "v1", "--format", "csv", "--out", "v1.csv", cwd=repo.root), 8)
    assert "corrupt" in err and "annover pull v1" in err
    assert not (repo.root / "v1.csv").exists()
    pull = run_cli("pull", "v1", cwd=repo.root)
    assert pull.returncode == 0, pull.stderr
    run_cli("export", "v1", "--format", "csv", "--out", "v1.csv", cwd=repo.root, check=True)
    run_cli("diff", "v1", "v2", cwd=repo.root, check=True)


# ---------------------------------------------------------------- an orphan branch


def test_an_orphan_branch_is_one_line_and_nothing_is_written(two_rounds):
    """`git checkout --orphan fresh` keeps annover's files staged on a branch with no commit: reads
    said 'tag v1 was moved outside annover', a snapshot committed a new root there and the next
    command removed the records of v1 and v2 from the work tree."""
    repo, _, _ = two_rounds
    git("checkout", "-q", "--orphan", "fresh", cwd=repo.root)
    before = git("status", "--porcelain", cwd=repo.root), git("for-each-ref", cwd=repo.root)
    records = sorted(p.name for p in (repo.dir / "versions").iterdir())
    for args in (["show", "v1"], ["log"], ["diff", "v1", "v2"], ["gc"], ["tag", "x", "v1"],
                 ["snapshot", "--from", "round1.json", "-m", "x"], ["status", "--no-remote"]):
        err = _one_line_error(run_cli(*args, cwd=repo.root), 6)
        assert "fresh" in err and "git checkout main" in err, err
    assert (git("status", "--porcelain", cwd=repo.root), git("for-each-ref", cwd=repo.root)) == before
    assert sorted(p.name for p in (repo.dir / "versions").iterdir()) == records
    git("checkout", "-q", "-f", "main", cwd=repo.root)
    run_cli("diff", "v1", "v2", cwd=repo.root, check=True)


# ---------------------------------------------------------------- hand-edited files of annover's


def test_a_record_that_is_not_json_names_the_command_that_restores_it(two_rounds):
    repo, _, v2 = two_rounds
    p = repo.version_path(v2.id)
    p.write_text(p.read_text()[:-20])
    err = _one_line_error(run_cli("show", cwd=repo.root), 8)
    assert f"git checkout HEAD -- .annover/versions/{v2.id}.json" in err, err


def test_a_hand_edited_head_file_is_named(two_rounds):
    repo, _, v2 = two_rounds
    (repo.dir / "HEAD").write_text(v2.id + "\nx\n")
    err = _one_line_error(run_cli("show", cwd=repo.root), 8)
    assert ".annover/HEAD" in err and "git checkout HEAD -- .annover/HEAD" in err, err


def test_an_orphan_branch_that_dropped_annovers_files_names_the_branch_to_go_back_to(two_rounds):
    """`git switch --orphan fresh` empties the work tree but for git-ignored files (.annover/objects):
    the hint was 'move .annover away and run `annover init`', a second history."""
    repo, _, _ = two_rounds
    git("switch", "-q", "--orphan", "fresh", cwd=repo.root)
    for args in (["log"], ["snapshot", "--from", "round1.json", "--config", "labeling.xml", "-m", "x"], ["gc"]):
        err = _one_line_error(run_cli(*args, cwd=repo.root), 6)
        assert "fresh" in err and "git checkout main" in err and "annover init" not in err, err
    git("checkout", "-q", "main", cwd=repo.root)
    run_cli("diff", "v1", "v2", cwd=repo.root, check=True)


def test_the_reports_diff_names_the_versions_to_pull_by_tag(pushed, tmp_path):
    """`annover report` diffs each version with its parent by full id: a corrupt object said
    `run annover pull <64 hex digits>` twice."""
    repo = pushed
    v1 = repo.resolve("v1")
    tasks = repo.version(v1).snapshot("tasks")
    parts = {r.md5 for r in object_refs(repo.store, tasks)} - {tasks.manifest.md5}
    only_v1 = parts - {r.md5 for r in repo.objects_of(repo.version(repo.head()))}
    assert only_v1
    for md5 in only_v1:  # a tasks part: the report's diff is the first to read it
        _flip_a_byte(repo.dvc.cache_dir() / md5[:2] / md5[2:])
    err = _one_line_error(run_cli("report", "--out", str(tmp_path / "r.html"), cwd=repo.root), 8)
    assert "`annover pull v1` and `annover pull v2`" in err and v1 not in err, err
    assert not (tmp_path / "r.html").exists()


def _merge_of_two_rounds(root: Path) -> subprocess.CompletedProcess:
    """``git merge`` (not annover's) of a branch from v1 that made a version of its own into main,
    which made v2: both changed annover's files, so git's merge conflicts in them."""
    git("switch", "-q", "-c", "other", "v1", cwd=root)
    data = json.loads((root / "round2.json").read_text())
    (root / "other.json").write_text(json.dumps(data[:-2]))
    run_cli("snapshot", "--from", "other.json", "-m", "other", cwd=root, check=True)
    git("switch", "-q", "main", cwd=root)
    return subprocess.run(["git", "merge", "-q", "other"], cwd=root, capture_output=True)


def test_a_git_merge_conflicting_in_annovers_files_says_to_abort_it_and_merge_with_annover(two_rounds):
    """`git merge` of two branches that both made versions conflicts in .annover/HEAD and objects.dvc.
    gc said 'restore it: git checkout -- .annover/HEAD && dvc checkout' (which git refuses mid-merge),
    every other command 'finish it (git merge --continue ...)', which would commit the markers."""
    repo, _, _ = two_rounds
    root = repo.root
    assert _merge_of_two_rounds(root).returncode != 0
    state = git("status", "--porcelain", cwd=root), (root / ".git" / "index").read_bytes()
    for args in (["gc"], ["gc", "--force"], ["log"], ["snapshot", "--from", "round1.json", "-m", "x"]):
        err = _one_line_error(run_cli(*args, cwd=root), 6)
        assert "git merge --abort" in err and "annover merge BRANCH" in err and "--continue" not in err, err
    assert (git("status", "--porcelain", cwd=root), (root / ".git" / "index").read_bytes()) == state
    git("merge", "--abort", cwd=root)
    run_cli("merge", "other", "-q", cwd=root, check=True)
    run_cli("gc", cwd=root, check=True)


def test_gc_dry_run_reads_a_read_only_repository(two_rounds, monkeypatch):
    """On a read-only mount the dry run (a read) was refused as 'the repository cannot be written'.
    chmod does not stop root, so the refusal to open the lock file for writing is simulated."""
    repo, _, _ = two_rounds
    real_open = os.open

    def read_only(path, flags, *a, **k):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *a, **k)

    cache = sorted(p for p in repo.dvc.cache_dir().rglob("*") if p.is_file())
    monkeypatch.setattr(refs.os, "open", read_only)
    dry = collect(repo)
    assert not dry.done and len(dry.kept) == 2 and not dry.objects
    with pytest.raises(NotARepoError, match=r"cannot be written: .*lock: Read-only file system"):
        collect(repo, force=True)
    assert sorted(p for p in repo.dvc.cache_dir().rglob("*") if p.is_file()) == cache


def test_a_staged_edit_of_annovers_files_is_said_as_what_it_is(two_rounds):
    """A `git add` of an edited .annover/config.json, with the user's own file staged beside it: the
    repair said 'an interrupted command left it staging their deletion'. A read now leaves both staged
    (it never touches git's index) and says what is staged, not a deletion."""
    repo, _, _ = two_rounds
    root = repo.root
    (root / "notes.txt").write_text("mine\n")
    config = repo.dir / "config.json"
    config.write_text(config.read_text() + " ")
    git("add", "notes.txt", ".annover/config.json", cwd=root)
    log = run_cli("log", "--oneline", cwd=root)
    assert log.returncode == 0 and ".annover/config.json" in log.stderr and "deletion" not in log.stderr, log.stderr
    assert "repaired" not in log.stderr and "git restore --staged" in log.stderr, log.stderr
    assert git("diff", "--cached", "--name-only", cwd=root).split() == [".annover/config.json", "notes.txt"]


def test_a_git_merge_committed_with_its_conflict_markers_is_refused_not_fast_forwarded(two_rounds):
    """`git merge other`, conflicts, `git add . && git commit`: git's HEAD commit holds conflict markers
    in .annover/HEAD. Reads said 'restore it: git checkout -- .annover/HEAD' (which restores the
    markers), and `annover merge other` read HEAD as no version and fast-forwarded to other's: v2 left
    HEAD's history."""
    repo, v1, v2 = two_rounds
    root = repo.root
    _merge_of_two_rounds(root)
    git("add", ".annover", cwd=root)
    git("commit", "-q", "-m", "merged by hand", cwd=root)
    commit = git("rev-parse", "HEAD", cwd=root)
    for args in (["log"], ["merge", "other"], ["snapshot", "--from", "round1.json", "-m", "x"], ["revert"], ["gc"]):
        err = _one_line_error(run_cli(*args, cwd=root), 8)
        assert "in git's HEAD commit" in err and "git reset --hard HEAD~1" in err and "annover merge" in err, err
    assert git("rev-parse", "HEAD", cwd=root) == commit
    git("reset", "-q", "--hard", "HEAD~1", cwd=root)
    run_cli("merge", "other", "-q", cwd=root, check=True)
    history = {v["id"] for v in json.loads(run_cli("log", "--json", cwd=root, check=True).stdout)}
    assert {v1.id, v2.id} <= history


def test_a_damaged_copy_in_the_working_store_is_read_from_the_cache_and_pull_mends_it(pushed, tmp_path):
    """A flipped byte in HEAD's manifest in .annover/objects (a copy: the DVC cache's is good): every
    read of HEAD said 'corrupt — run annover pull HEAD', and that pull stopped on the same error."""
    repo = pushed
    manifest = repo.version(repo.head()).snapshot("annotations").manifest
    work = repo.store.path(manifest.oid)
    data = bytearray(work.read_bytes())
    work.unlink()  # a file of its own: the cache's copy stays good
    data[len(data) // 2] ^= 0xFF
    work.write_bytes(bytes(data))
    run_cli("export", "HEAD", "--format", "csv", "--out", str(tmp_path / "head.csv"), cwd=repo.root, check=True)
    assert work.read_bytes() == bytes(data)  # a read changes nothing
    run_cli("pull", cwd=repo.root, check=True)
    assert hashlib.sha256(work.read_bytes()).hexdigest() == manifest.oid


def test_a_shallow_clone_never_takes_its_boundary_commit_for_an_older_versions(pushed, tmp_path):
    """`git clone --depth 1` shows the one commit it has as adding every record: v1 was taken as made
    there. `annover pull` stopped ('refused the DVC listing ... of version v1'), and the next write
    made the missing git tag v1 on v2's commit (`git checkout v1 && dvc pull` then gave v2's labels)."""
    repo = pushed
    bare = tmp_path / "labels.git"
    git("init", "-q", "--bare", "-b", "main", str(bare), cwd=tmp_path)
    git("push", "-q", str(bare), "main", "--tags", cwd=repo.root)
    clone = tmp_path / "shallow"
    git("clone", "-q", "--depth", "1", f"file://{bare}", str(clone), cwd=tmp_path)
    assert git("tag", cwd=clone).split() == ["v2"]
    run_cli("pull", cwd=clone, check=True)
    err = _one_line_error(run_cli("pull", "v1", cwd=clone), 6)
    assert "git fetch --unshallow" in err, err
    assert "git fetch --unshallow" in _one_line_error(run_cli("gc", cwd=clone), 6)
    (clone / "round1.json").write_bytes((repo.root / "round1.json").read_bytes())
    run_cli("snapshot", "--from", "round1.json", "-m", "in the shallow clone", cwd=clone, check=True)
    assert "v1" not in git("tag", cwd=clone).split()  # never on a commit that did not make it
    git("fetch", "-q", "--unshallow", "--tags", cwd=clone)
    assert git("rev-parse", "v1", cwd=clone) == git("rev-parse", "v1", cwd=repo.root)
    run_cli("pull", "v1", cwd=clone, check=True)
    run_cli("export", "v1", "--format", "csv", "--out", str(tmp_path / "a.csv"), cwd=clone, check=True)
    run_cli("export", "v1", "--format", "csv", "--out", str(tmp_path / "b.csv"), cwd=repo.root, check=True)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


@pytest.mark.parametrize("name", ["HEAD", "config.json"])
def test_a_file_of_annovers_deleted_from_the_work_tree_is_named_with_the_command_that_restores_it(two_rounds, name):
    """.annover/HEAD deleted: `annover log` listed nothing and `show` said 'no versions yet — make one
    with annover snapshot'. .annover/config.json deleted: 'move .annover away and run annover init'."""
    repo, _, v2 = two_rounds
    (repo.dir / name).unlink()
    for args in (["log"], ["show"], ["gc"], ["status", "--no-remote"]):
        if name == "HEAD" and args[0] == "status":  # said as a pending state, exit 0 (tests/test_hand_edits.py)
            out = run_cli(*args, cwd=repo.root, check=True).stdout
            assert "edited by hand: .annover/HEAD is missing" in out, out
            assert "git checkout HEAD -- .annover/HEAD" in out, out
            continue
        err = _one_line_error(run_cli(*args, cwd=repo.root), 8 if name == "HEAD" and args != ["gc"] else 6)
        assert f"git checkout HEAD -- .annover/{name}" in err and "annover init" not in err, err
    assert not (repo.dir / name).exists()  # a read changes nothing
    git("checkout", "--", f".annover/{name}", cwd=repo.root)
    assert json.loads(run_cli("show", "--json", cwd=repo.root, check=True).stdout)["id"] == v2.id


def test_a_clone_not_pulled_is_told_the_one_pull_that_fetches_every_version_a_command_reads(pushed, tmp_path):
    """A command that reads two versions (diff, suspects, report) in a clone that pulled none named
    one version's `annover pull v1`, then, once run, the other's: two rounds. The hint now also
    names `annover pull`, which fetches every version HEAD and the tags reach, after which the
    command works."""
    repo = pushed
    bare = tmp_path / "labels.git"
    git("init", "-q", "--bare", "-b", "main", str(bare), cwd=tmp_path)
    git("push", "-q", str(bare), "main", "--tags", cwd=repo.root)
    clone = tmp_path / "clone"
    git("clone", "-q", f"file://{bare}", str(clone), cwd=tmp_path)
    err = _one_line_error(run_cli("suspects", "--since", "v1", cwd=clone), 8)
    assert "`annover pull` fetches every version HEAD and the tags reach" in err, err
    run_cli("pull", cwd=clone, check=True)
    mine, theirs = (run_cli("suspects", "--since", "v1", "--json", cwd=root, check=True).stdout
                    for root in (clone, repo.root))
    assert json.loads(mine) == json.loads(theirs)
