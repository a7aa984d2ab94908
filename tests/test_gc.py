"""``annover gc`` (issue 14, item 4): what no version or tag reaches leaves the local DVC cache,
nothing a reachable version needs does. Real git, real DVC, a local DVC remote.

The oracle for "what a version needs" is annover's own record of it (``objects_of``: the
manifests), independent of the DVC listings gc works from.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import annover
from annover.errors import NotARepoError, ObjectError
from annover.repo.gc import gc
from annover.store.refs import RepoLock

from .conftest import EXAMPLES, git, run_cli
from .test_cli import invoke

SNAP = ("--key", "data.ext_id")
#: examples of the property test: a bounded, derandomized run in CI; ANNOVER_GC_EXAMPLES=N by hand
BY_HAND = int(os.environ.get("ANNOVER_GC_EXAMPLES", "0"))


def _dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("dvc")), *args], cwd=cwd, capture_output=True,
                          text=True)


def _edited(root: Path, k: int, suffix: str = "") -> str:
    """round2.json with task ``k``'s text changed: a version that shares most parts with the others."""
    data = json.loads((root / "round2.json").read_text())
    data[k]["data"]["text"] += f" edit {k}{suffix}"
    name = f"edit-{k}{suffix}.json"
    (root / name).write_text(json.dumps(data))
    return name


def _cache(repo: annover.Repo) -> dict[str, int]:
    """Every file of the DVC cache (md5 -> size)."""
    d = repo.dvc.cache_dir()
    return {p.parent.name + p.name: p.stat().st_size for p in d.glob("*/*") if p.is_file()}


def _needs(repo: annover.Repo, vid: str) -> set[str]:
    """What version ``vid`` needs in the cache: its listing and its objects (annover's own record)."""
    commit = repo.commit_of(vid)
    listing = repo.dvc.pointer_hash(repo.scm, commit, repo.rel(repo.dir / "objects.dvc"))
    return {listing} | {r.md5 for r in repo.objects_of(repo.version(vid))}


def _tables(repo: annover.Repo, vid: str) -> tuple:
    return repo.load(vid), repo.load(vid, table="tasks")


def _same(repo: annover.Repo, vid: str, tables: tuple) -> bool:
    a, t = _tables(repo, vid)
    return a.equals(tables[0]) and t.equals(tables[1])


def _gc_json(*args: str) -> dict:
    code, out, err = invoke("gc", *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def four(repo):
    """v1..v4, each a small edit of the last (most parts shared), and each version's tables."""
    root = repo.root
    vids = [repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1").version.id]
    for k in (0, 3, 7):
        vids.append(repo.snapshot(_edited(root, k), message=f"edit {k}").version.id)
    return repo, vids, {v: _tables(repo, v) for v in vids}


def _unique(repo: annover.Repo, vid: str, others: list[str]) -> set[str]:
    kept = set().union(*(_needs(repo, v) for v in others))
    return _needs(repo, vid) - kept


# ---------------------------------------------------------------- reset, then gc


def test_gc_after_reset_frees_exactly_the_dropped_versions_unique_objects(four):
    repo, vids, tables = four
    root = repo.root
    unique = _unique(repo, vids[3], vids[:3])
    assert unique and any(m.endswith(".dir") for m in unique)  # v4 has objects of its own, and its listing
    run_cli("reset", "v3", "--force", cwd=root, check=True)
    before = _cache(repo)
    assert unique <= set(before)
    # the dry run (the default, and -n) lists exactly those, and removes nothing
    code, out, err = invoke("gc")
    assert code == 0, err
    assert {ln.split()[0] for ln in out.splitlines()} == unique
    assert "would remove" in err and "--force" in err and "remote is not touched" in err
    plan = _gc_json("-n")
    assert set(plan["md5s"]) == unique and plan["dry_run"] and plan["objects"] == len(unique)
    assert plan["bytes"] == sum(before[m] for m in unique) and plan["dropped"] == [vids[3]]
    assert sorted(plan["kept"]) == sorted(vids[:3]) and plan["versions_kept"] == 3
    assert _cache(repo) == before
    # --force removes exactly them
    done = _gc_json("--force")
    assert set(done["md5s"]) == unique and done["done"] and done["bytes_freed"] <= done["bytes"]
    assert _cache(repo) == {m: s for m, s in before.items() if m not in unique}
    with pytest.raises(ObjectError):  # v4 is gone from here for good (it was never pushed)
        _tables(annover.Repo(root), vids[3])
    for vid in vids[:3]:
        assert _same(annover.Repo(root), vid, tables[vid])
    assert _gc_json("--force")["objects"] == 0  # nothing left to collect


def test_gc_removes_what_dvc_gc_of_every_branch_and_tag_would(four, tmp_path):
    """DVC's own answer, on a copy of the repository: ``dvc gc --workspace --all-branches
    --all-tags`` removes the same files (every version here has its tag)."""
    repo, vids, _ = four
    root = repo.root
    run_cli("reset", "v3", "--force", cwd=root, check=True)
    plan = set(_gc_json("-n")["md5s"])
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, symlinks=True)
    before = _cache(annover.Repo(copy))
    out = _dvc("gc", "--workspace", "--all-branches", "--all-tags", "--force", cwd=copy)
    assert out.returncode == 0, out.stderr
    assert plan and set(before) - set(_cache(annover.Repo(copy))) == plan


def test_every_version_checks_out_with_git_and_dvc_after_gc(four):
    repo, vids, tables = four
    root = repo.root
    run_cli("reset", "v3", "--force", cwd=root, check=True)
    assert _gc_json("-f")["objects"] > 0
    for n, vid in enumerate(vids[:3], start=1):
        git("checkout", "-q", f"v{n}", cwd=root)
        out = _dvc("checkout", cwd=root)
        assert out.returncode == 0, out.stderr
        objdir = root / ".annover" / "objects"
        here = {p.parent.name + p.name for p in objdir.glob("*/*")}
        assert here >= {r.oid for r in repo.objects_of(repo.version(vid))}
        assert _dvc("status", "-q", cwd=root).returncode == 0
        assert _same(annover.Repo(root), vid, tables[vid])
    git("checkout", "-q", "main", cwd=root)
    assert _dvc("checkout", cwd=root).returncode == 0
    assert git("status", "--porcelain", "--", ".annover", cwd=root) == ""


def test_gc_on_a_detached_head_keeps_the_branchs_newer_versions(four):
    repo, vids, tables = four
    root = repo.root
    git("checkout", "-q", "v1", cwd=root)
    assert _dvc("checkout", cwd=root).returncode == 0
    assert _gc_json("--force")["objects"] == 0
    for vid in vids:
        assert _same(annover.Repo(root), vid, tables[vid])


# ---------------------------------------------------------------- what a tag or a branch keeps


def test_a_tag_on_a_version_reset_dropped_keeps_its_objects(four):
    repo, vids, tables = four
    root = repo.root
    run_cli("reset", "v3", "--force", cwd=root, check=True)
    run_cli("tag", "keep", vids[3], cwd=root, check=True)
    before = _cache(repo)
    out = _gc_json("--force")
    assert out["objects"] == 0 and vids[3] in out["kept"]
    assert _cache(repo) == before and _same(annover.Repo(root), vids[3], tables[vids[3]])


def test_a_git_tag_alone_keeps_a_version_the_branch_no_longer_has(four):
    repo, vids, tables = four
    root = repo.root
    unique = _unique(repo, vids[3], vids[:3])
    git("reset", "-q", "--hard", "HEAD~1", cwd=root)  # the branch rewound past v4: only git's tag v4 reaches it
    assert _dvc("checkout", cwd=root).returncode == 0
    assert annover.Repo(root).head() == vids[2]
    assert _gc_json("--force")["objects"] == 0
    assert _same(annover.Repo(root), vids[3], tables[vids[3]])
    git("tag", "-d", "v4", cwd=root)
    out = _gc_json("--force")  # HEAD's reflog still holds it (`git reset --hard HEAD@{1}`), as for `git gc`
    assert out["objects"] == 0 and out["reflog_only"] == [vids[3]]
    git("reflog", "expire", "--expire=now", "--expire-unreachable=now", "--all", cwd=root)
    out = _gc_json("--force")
    assert set(out["md5s"]) == unique and out["reflog_only"] == []
    for vid in vids[:3]:
        assert _same(annover.Repo(root), vid, tables[vid])


def test_a_branch_keeps_its_versions_until_it_is_deleted(four):
    repo, vids, tables = four
    root = repo.root
    git("switch", "-q", "-c", "side", "v2", cwd=root)
    assert _dvc("checkout", cwd=root).returncode == 0
    p = run_cli("snapshot", "--from", _edited(root, 11, " side"), *SNAP, "-q", cwd=root, check=True)
    side = p.stdout.strip()
    side_tables = _tables(annover.Repo(root), side)
    unique = _unique(annover.Repo(root), side, vids)
    git("switch", "-q", "main", cwd=root)
    assert _dvc("checkout", cwd=root).returncode == 0
    assert _gc_json("-f")["objects"] == 0
    assert _same(annover.Repo(root), side, side_tables)
    git("branch", "-q", "-D", "side", cwd=root)
    assert _gc_json("-f")["objects"] == 0  # its tag (v5) still reaches it
    git("tag", "-d", "v5", cwd=root)
    assert _gc_json("-f")["reflog_only"] == [side]  # HEAD's reflog still has it: `git switch -c side HEAD@{1}`
    git("reflog", "expire", "--expire=now", "--expire-unreachable=now", "--all", cwd=root)
    out = _gc_json("-f")
    assert set(out["md5s"]) == unique and out["reflog_only"] == []
    for vid in vids:
        assert _same(annover.Repo(root), vid, tables[vid])


def test_the_users_own_dvc_data_is_never_removed(four):
    """A file the user tracks with DVC whose bytes are one of v4's objects: kept, committed or not."""
    repo, vids, tables = four
    root = repo.root
    unique = _unique(repo, vids[3], vids[:3])
    shared = sorted(m for m in unique if not m.endswith(".dir"))[0]
    cache = repo.dvc.cache_dir()
    (root / "mine.bin").write_bytes((cache / shared[:2] / shared[2:]).read_bytes())
    assert _dvc("add", "mine.bin", cwd=root).returncode == 0  # not committed
    run_cli("reset", "v3", "--force", cwd=root, check=True)
    assert set(_gc_json("-n")["md5s"]) == unique - {shared}
    git("add", "mine.bin.dvc", ".gitignore", cwd=root)
    git("commit", "-q", "-m", "my data", cwd=root)
    git("rm", "-q", "mine.bin.dvc", cwd=root)
    git("commit", "-q", "-m", "no longer", cwd=root)  # only history names it now
    assert set(_gc_json("-f")["md5s"]) == unique - {shared}
    assert (cache / shared[:2] / shared[2:]).exists()


def test_a_cache_outside_the_repository_needs_shared_cache(tmp_path, monkeypatch):
    """``dvc cache dir`` elsewhere (other clones may share it): --force alone is exit 2, removing nothing."""
    root = tmp_path / "repo"
    annover.init(root)
    assert _dvc("cache", "dir", "--local", str(tmp_path / "shared-cache"), cwd=root).returncode == 0
    for f in ("round1.json", "round2.json", "labeling.xml"):
        shutil.copy(EXAMPLES / f, root / f)
    monkeypatch.chdir(root)
    repo = annover.Repo(root)
    v1 = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id").version.id
    v2 = repo.snapshot(_edited(root, 2)).version.id
    unique = _unique(repo, v2, [v1])
    run_cli("reset", "v1", "--force", cwd=root, check=True)
    assert repo.dvc.cache_dir().is_relative_to(tmp_path / "shared-cache")
    before = _cache(repo)
    plan = _gc_json("-n")
    assert plan["cache_outside_repo"] and set(plan["md5s"]) == unique
    code, out, err = invoke("gc", "--force")
    assert code == 2 and "--shared-cache" in err and err.count("\n") == 1 and _cache(repo) == before
    assert set(_gc_json("--force", "--shared-cache")["md5s"]) == unique
    assert _cache(repo) == {m: s for m, s in before.items() if m not in unique}


# ---------------------------------------------------------------- pending state, locks, crashes


def test_pending_state_is_refused_in_one_line_and_nothing_goes(four):
    repo, vids, _ = four
    root = repo.root
    run_cli("reset", "v3", "--force", cwd=root, check=True)
    pointer = root / ".annover" / "objects.dvc"
    committed = pointer.read_bytes()
    v4_commit = repo.commit_of(vids[3])
    pointer.write_bytes(git("show", f"{v4_commit}:.annover/objects.dvc", cwd=root).encode())  # v4's listing
    before = _cache(repo)
    for args in (("gc",), ("gc", "--force")):
        code, out, err = invoke(*args)
        assert code == 6 and err.count("\n") == 1 and ".annover/objects.dvc differs" in err, err
        assert out == ""
    assert _cache(repo) == before
    pointer.write_bytes(committed)
    (root / ".annover" / "HEAD").write_text(vids[0] + "\n")
    code, _, err = invoke("gc", "--force")
    assert code == 6 and "differs" in err and _cache(repo) == before


def test_gc_waits_for_the_lock_then_exits_9(four, monkeypatch):
    repo, _, _ = four
    run_cli("reset", "v3", "--force", cwd=repo.root, check=True)
    before = _cache(repo)
    monkeypatch.setenv("ANNOVER_LOCK_TIMEOUT", "0.3")
    with RepoLock(repo.dir / "lock", 1):
        code, out, err = invoke("gc", "--force")
    assert code == 9 and "locked" in err and err.count("\n") == 1
    assert _cache(repo) == before


def test_a_command_killed_after_the_repository_was_opened_is_refused(four):
    """Its pid still in the lock file when gc takes the lock: what it wrote may be half done."""
    repo, vids, _ = four
    run_cli("reset", "v3", "--force", cwd=repo.root, check=True)
    before = _cache(repo)
    opened = annover.Repo(repo.root)
    (repo.dir / "lock").write_text("4194304\n")  # a writer that died holding the lock
    with pytest.raises(NotARepoError, match="interrupted annover command"):
        gc(opened, force=True)
    assert _cache(repo) == before


def test_what_a_killed_snapshot_left_in_the_cache_is_collected(four):
    repo, vids, tables = four
    root = repo.root
    before = _cache(repo)
    p = run_cli("snapshot", "--from", _edited(root, 13, " killed"), *SNAP, cwd=root,
                env={"ANNOVER_TEST_KILL_AT": "after-dvc-add"})
    assert p.returncode == -9
    assert set(_cache(repo)) > set(before)  # its objects and listing went into the cache
    p = run_cli("gc", "--force", "--json", cwd=root)
    assert p.returncode == 0, p.stderr
    assert "repaired" in p.stderr and json.loads(p.stdout)["dropped"] == []
    assert _cache(repo) == before
    for vid in vids:
        assert _same(annover.Repo(root), vid, tables[vid])
    assert git("status", "--porcelain", "--", ".annover", cwd=root) == ""


def test_gc_options_and_help(four):
    code, out, err = invoke("gc", "-n", "-f")
    assert code == 2 and "not both" in err
    code, out, err = invoke("gc", "--help")
    assert code == 0 and "Examples:" in out and "--json" in out and "--force" in out and "--dry-run" in out
    assert "remote is never touched" in out and "exit 6" in out and "--shared-cache" in out


# ---------------------------------------------------------------- property


OPS = st.lists(st.one_of(st.tuples(st.just("snap"), st.integers(0, 3)),
                         st.tuples(st.just("reset"), st.integers(1, 2)),
                         st.tuples(st.just("tag"), st.integers(0, 30)),
                         st.tuples(st.just("gc"), st.booleans())), min_size=2, max_size=7)


def _apply(repo: annover.Repo, op: tuple, made: list[str], tags: dict[str, str], tables: dict,
           collected: set[str]) -> object:
    kind, n = op
    if kind == "snap":
        res = repo.snapshot(_edited(repo.root, n))
        if res.changed:
            made.append(res.version.id)
            tables[res.version.id] = _tables(repo, res.version.id)
            collected.discard(res.version.id)
    elif kind == "reset":
        if len(repo.log()) > n:
            out = repo.reset(f"HEAD~{n}", force=True)
            for name in out.tags:
                tags.pop(name, None)
    elif kind == "tag":
        live = [v for v in made if v not in collected]  # a collected version's objects are gone for good
        chain = {v.id for v in repo.log()}
        pick = [v for v in live if v not in chain] if n % 2 else live  # odd: a version HEAD no longer has
        name = f"t{len(tags)}-{n}"
        if pick and name not in tags:
            tags[name] = pick[n % len(pick)]
            repo.tag(name, tags[name])
    elif kind == "gc":
        return gc(repo, force=n)
    return None


@settings(max_examples=BY_HAND or 5, deadline=None, derandomize=not BY_HAND, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS)
@example(ops=[("snap", 1), ("snap", 2), ("reset", 1), ("tag", 1), ("gc", True), ("reset", 1), ("gc", True)])
@example(ops=[("snap", 1), ("reset", 1), ("gc", True), ("snap", 1), ("snap", 2), ("reset", 2), ("gc", False)])
def test_every_reachable_version_loads_as_before_whatever_the_history(ops, monkeypatch):
    """Random snapshots (some of content a dropped version had), resets, tags (also on dropped
    versions) and gc runs: after each gc every version HEAD's history or a tag reaches loads
    as it did when made, and a gc --force leaves nothing more to collect."""
    with tempfile.TemporaryDirectory() as tmp, monkeypatch.context() as mp:
        root = Path(tmp) / "repo"
        repo = annover.Repo.init(root).repo
        for f in ("round1.json", "round2.json", "labeling.xml"):
            shutil.copy(EXAMPLES / f, root / f)
        mp.chdir(root)  # back where it was before tmp goes
        first = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id").version.id
        made, tags, tables, collected = [first], {}, {first: _tables(repo, first)}, set()
        for op in [*ops, ("gc", True)]:
            res = _apply(repo, op, made, tags, tables, collected)
            if op[0] != "gc":
                continue
            repo = annover.Repo(root)
            reachable = {v.id for v in repo.log()} | set(tags.values())
            for vid in reachable:
                assert _same(repo, vid, tables[vid]), (ops, vid)
            if op[1]:
                assert not set(res.dropped) & reachable and set(res.dropped) <= set(made)
                assert gc(repo).objects == {}  # nothing is left to collect
                collected |= set(made) - reachable


def test_push_sends_a_version_only_a_tag_keeps_after_a_reset(four):
    """`annover push` (and status) count a version a tag names after `annover reset` dropped it
    from HEAD's tree: its objects reach the remote, as gc keeps them locally."""
    repo, vids, tables = four
    root = repo.root
    run_cli("reset", "v3", "--force", cwd=root, check=True)
    run_cli("tag", "keep", vids[3], cwd=root, check=True)
    r = annover.Repo(root)
    assert vids[3] in r.tags_of()
    run_cli("push", cwd=root, check=True)
    remote = Path(r.dvc.remote_info().url)
    on_remote = {p.parent.name + p.name for p in (remote / "files" / "md5").glob("*/*")}
    assert _needs(r, vids[3]) <= on_remote
