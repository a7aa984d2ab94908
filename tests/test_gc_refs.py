"""``annover gc`` keeps what git can still take a user back to, as ``git gc`` does: a version
only git's reflog holds (a ``git reset --hard``, a deleted branch, a commit left behind by a
checkout), only a stash holds, or only another worktree's HEAD holds. Real git, real DVC.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import annover
from annover.repo.gc import gc
from annover.store.refs import RepoLock

from .conftest import EXAMPLES, git, run_cli
from .test_cli import invoke
from .test_gc import _cache, _dvc, _edited, _gc_json, _same, _tables, _unique, four  # noqa: F401 (four: the fixture)

#: examples of the property test: a bounded, derandomized run in CI; ANNOVER_GC_EXAMPLES=N by hand, fresh randomness
BY_HAND = int(os.environ.get("ANNOVER_GC_EXAMPLES", "0"))
EXPIRE = ("reflog", "expire", "--expire=now", "--expire-unreachable=now", "--all")


def _rewind_v4(root: Path) -> None:
    """``git reset --hard HEAD~1`` past v4, then its git tag deleted: only the reflog holds v4."""
    git("reset", "-q", "--hard", "HEAD~1", cwd=root)
    assert _dvc("checkout", cwd=root).returncode == 0
    run_cli("tag", "--prune", cwd=root, check=True)  # v4's tag is on no branch: deleted
    assert "v4" not in git("tag", cwd=root).split()


def _back(root: Path, rev: str, vid: str, tables: dict) -> None:
    """``git checkout REV && dvc checkout``: HEAD is ``vid`` again, and it loads as it did."""
    git("checkout", "-q", "--detach", rev, cwd=root)
    assert _dvc("checkout", cwd=root).returncode == 0
    r = annover.Repo(root)
    assert r.head() == vid and _same(r, vid, tables[vid])
    git("checkout", "-q", "main", cwd=root)
    assert _dvc("checkout", cwd=root).returncode == 0


def test_a_version_only_the_reflog_holds_is_kept_until_the_reflog_expires(four):
    repo, vids, tables = four
    root = repo.root
    unique = _unique(repo, vids[3], vids[:3])
    c4 = repo.commit_of(vids[3])
    _rewind_v4(root)
    before = _cache(repo)
    out = _gc_json("--force")
    assert out["objects"] == 0 and out["reflog_only"] == [vids[3]] and vids[3] in out["kept"]
    assert _cache(repo) == before
    _back(root, c4, vids[3], tables)  # as `git reset --hard HEAD@{1}` would find it: whole
    code, _, err = invoke("gc")
    assert code == 0 and "1 only by git's reflog" in err and "git reflog expire" in err, err
    # what `git gc` does once the entries are old enough; as the README says, not --all (the stash)
    git("reflog", "expire", "--expire-unreachable=now", "HEAD", "main", cwd=root)
    out = _gc_json("--force")
    assert set(out["md5s"]) == unique and out["reflog_only"] == []
    for vid in vids[:3]:
        assert _same(annover.Repo(root), vid, tables[vid])


def test_a_deleted_branch_checked_out_before_is_kept_while_heads_reflog_has_it(four):
    """`git branch -D` prints the commit so that it can be made again: HEAD's reflog holds it."""
    repo, vids, tables = four
    root = repo.root
    git("switch", "-q", "-c", "side", "v2", cwd=root)
    assert _dvc("checkout", cwd=root).returncode == 0
    side = repo.snapshot(_edited_side(root), message="side").version.id
    side_tables = _tables(repo, side)
    unique = _unique(repo, side, vids)
    git("switch", "-q", "main", cwd=root)
    assert _dvc("checkout", cwd=root).returncode == 0
    git("branch", "-q", "-D", "side", cwd=root)
    run_cli("tag", "--prune", cwd=root, check=True)
    out = _gc_json("--force")
    assert out["objects"] == 0 and out["reflog_only"] == [side]
    lost = git("rev-list", "--reflog", "--not", "--all", cwd=root).split()[0]
    _back(root, lost, side, {side: side_tables})  # `git switch -c side COMMIT`, as `branch -D` said
    _back(root, "main", vids[3], tables)
    git(*EXPIRE, cwd=root)
    out = _gc_json("--force")
    assert set(out["md5s"]) == unique and out["reflog_only"] == []
    for vid in vids:
        assert _same(annover.Repo(root), vid, tables[vid])


def test_a_version_only_a_stash_holds_is_kept(four):
    """`git reset --soft HEAD~1 && git stash`: v4's files are in the stash, nowhere else."""
    repo, vids, tables = four
    root = repo.root
    unique = _unique(repo, vids[3], vids[:3])
    git("reset", "-q", "--soft", "HEAD~1", cwd=root)
    git("stash", "-q", cwd=root)
    assert _dvc("checkout", cwd=root).returncode == 0
    git("tag", "-d", "v4", cwd=root)
    git(*EXPIRE, cwd=root)  # not the stash's own entry: refs/stash names it
    assert vids[3] in git("ls-tree", "-r", "--name-only", "stash@{0}", cwd=root)
    out = _gc_json("--force")
    assert out["objects"] == 0 and vids[3] in out["kept"] and out["reflog_only"] == []
    git("stash", "drop", "-q", cwd=root)
    git(*EXPIRE, cwd=root)
    assert set(_gc_json("--force")["md5s"]) == unique


def test_another_worktrees_head_sharing_the_cache_keeps_its_version(four, tmp_path):
    """A worktree (`git worktree add --detach`) whose DVC cache is this one's: its HEAD's
    version stays, though no ref and no reflog of this worktree reaches it."""
    repo, vids, tables = four
    root = repo.root
    unique = _unique(repo, vids[3], vids[:3])
    c4 = repo.commit_of(vids[3])
    _rewind_v4(root)
    wt = tmp_path / "wt"
    git("worktree", "add", "-q", "--detach", str(wt), c4, cwd=root)
    assert _dvc("cache", "dir", "--local", str(root / ".dvc" / "cache"), cwd=wt).returncode == 0
    assert _dvc("checkout", cwd=wt).returncode == 0
    git(*EXPIRE, cwd=root)
    out = _gc_json("--force")
    assert out["objects"] == 0 and vids[3] in out["kept"]
    assert _same(annover.Repo(wt), vids[3], tables[vids[3]])
    git("worktree", "remove", "--force", str(wt), cwd=root)
    git(*EXPIRE, cwd=root)
    assert set(_gc_json("--force")["md5s"]) == unique


def _edited_side(root: Path) -> str:
    data = json.loads((root / "round2.json").read_text())
    data[11]["data"]["text"] += " side"
    (root / "side.json").write_text(json.dumps(data))
    return "side.json"



def test_gc_waits_for_a_command_in_another_worktree_and_leaves_its_lock_as_it_was(four, tmp_path, monkeypatch):
    """A snapshot running in a worktree that shares this DVC cache has objects and a listing in
    it before its commit exists: gc takes that worktree's lock too (exit 9 while it is held), and a
    pid a killed writer left in it is refused (exit 6), not erased (that worktree's repair needs it)."""
    repo, vids, _ = four
    root = repo.root
    run_cli("reset", "v3", "--force", "-q", cwd=root, check=True)
    wt = tmp_path / "wt"
    git("worktree", "add", "-q", "-b", "side", str(wt), "main", cwd=root)
    assert _dvc("cache", "dir", "--local", str(root / ".dvc" / "cache"), cwd=wt).returncode == 0
    annover.Repo(wt)  # an annover repository there too
    before = _cache(repo)
    monkeypatch.setenv("ANNOVER_LOCK_TIMEOUT", "0.3")
    with RepoLock(wt / ".annover" / "lock", 1):
        code, out, err = invoke("gc", "--force")
    assert code == 9 and "another worktree" in err and err.count("\n") == 1, err
    assert _cache(repo) == before
    (wt / ".annover" / "lock").write_text("4194304\n")  # a writer killed there, holding the lock
    code, out, err = invoke("gc", "--force")
    assert code == 6 and "annover status" in err and err.count("\n") == 1, err
    assert (wt / ".annover" / "lock").read_text() == "4194304\n" and _cache(repo) == before
    run_cli("status", "--no-remote", cwd=wt, check=True)  # repairs there, empties its lock
    assert _gc_json("--force")["dropped"] == [vids[3]]


# ---------------------------------------------------------------- property: what git can take a user back to


GIT_OPS = st.lists(st.sampled_from(["snap", "reset", "rewind", "prune", "expire", "gc"]), min_size=3, max_size=7)


def _git_op(root: Path, op: str, made: dict[str, tuple], n: int) -> None:
    repo = annover.Repo(root)
    if op == "snap":
        res = repo.snapshot(_edited(root, n % 12, f" p{n}"))
        if res.changed:
            made[res.version.id] = _tables(repo, res.version.id)
    elif op == "reset" and len(repo.log()) > 1:
        repo.reset("HEAD~1", force=True)
    elif op == "rewind" and len(repo.log()) > 1:
        git("reset", "-q", "--hard", "HEAD~1", cwd=root)  # git's own undo: the reflog holds what it left
        assert _dvc("checkout", cwd=root).returncode == 0
    elif op == "prune":
        run_cli("tag", "--prune", "-q", cwd=root, check=True)
    elif op == "expire":
        git(*EXPIRE, cwd=root)
    elif op == "gc":
        gc(repo, force=True)


def _git_can_reach(root: Path) -> list[str]:
    """The commits git can take a user back to: every ref's tip, HEAD, and each reflog entry no ref reaches."""
    tips = git("rev-list", "--no-walk", "--all", cwd=root).split()
    lost = set(git("rev-list", "--reflog", "--not", "--all", cwd=root).split())
    entries = git("log", "-g", "--all", "--format=%H", cwd=root).split()
    return list(dict.fromkeys([*tips, *(c for c in entries if c in lost)]))


@settings(max_examples=BY_HAND or 3, deadline=None, derandomize=not BY_HAND, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=GIT_OPS)
@example(ops=["snap", "rewind", "prune", "gc", "snap", "expire"])
def test_every_commit_git_can_take_a_user_back_to_checks_out_and_loads_after_gc(ops, monkeypatch):
    """Random snapshots, `annover reset`s, `git reset --hard` rewinds, tag prunes, reflog expiries
    and gc runs: after the last gc, `git checkout C && dvc checkout` of every commit git can still
    take a user back to (ref tips, reflog entries no ref reaches) gives a version that loads as made."""
    with tempfile.TemporaryDirectory() as tmp, monkeypatch.context() as mp:
        root = Path(tmp) / "repo"
        repo = annover.Repo.init(root).repo
        for f in ("round1.json", "round2.json", "labeling.xml"):
            shutil.copy(EXAMPLES / f, root / f)
        mp.chdir(root)
        first = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id").version.id
        made = {first: _tables(repo, first)}
        for n, op in enumerate([*ops, "gc"]):
            _git_op(root, op, made, n)
            if op == "gc":
                _check_reachable(root, made, ops)


def _check_reachable(root: Path, made: dict[str, tuple], ops: list[str]) -> None:
    branch = git("branch", "--show-current", cwd=root).strip()
    for c in _git_can_reach(root):
        git("checkout", "-q", "--detach", c, cwd=root)
        assert _dvc("checkout", cwd=root).returncode == 0, (ops, c)
        r = annover.Repo(root)
        vid = r.head()
        if vid is not None and vid in made:
            assert _same(r, vid, made[vid]), (ops, c, vid)
    git("checkout", "-q", branch, cwd=root)
    assert _dvc("checkout", cwd=root).returncode == 0
