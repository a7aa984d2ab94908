"""The daily loop with history (issue 11): detached HEADs, clones, concurrent snapshots, undo, tags.

Each test walks a user's steps with real git, real DVC and a local DVC remote.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import annover
from annover.errors import LockError

from .conftest import dvc_status_clean, git, run_cli
from .test_reading_options import _by_id, _tasks, _users_of, _write

SNAP = ("--key", "data.ext_id")


def _edited(root: Path, name: str, suffix: str, src: str = "round2.json") -> str:
    """A copy of ``src`` with the first task's text changed: a new version's worth of change."""
    data = json.loads((root / src).read_text())
    data[0]["data"]["text"] += suffix
    (root / name).write_text(json.dumps(data))
    return name


def _dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("dvc")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True)


def _checkout(root: Path, rev: str) -> None:
    """The plain git + DVC way to a version: git checkout, then dvc checkout."""
    git("checkout", "-q", rev, cwd=root)
    out = _dvc("checkout", cwd=root)
    assert out.returncode == 0, out.stderr


def _clean(root: Path) -> None:
    """git has nothing staged or modified in annover's files; DVC's pointer matches the work tree."""
    assert git("status", "--porcelain", "--", ".annover", cwd=root) == ""
    dvc_status_clean(root)


# ---------------------------------------------------------------- 11.3 detached HEAD


def test_snapshot_on_a_detached_head_is_refused_and_writes_nothing(two_rounds):
    repo, v1, v2 = two_rounds
    root = repo.root
    _checkout(root, "v1")
    before = (git("rev-parse", "HEAD", cwd=root), git("tag", cwd=root), sorted(p.name for p in
                                                                               (root / ".annover/versions").iterdir()))
    p = run_cli("snapshot", "--from", _edited(root, "r3.json", " x"), *SNAP, "-m", "on v1", cwd=root)
    assert p.returncode == 6, p.stderr
    assert "detached at v1" in p.stderr and "git switch" in p.stderr and p.stderr.count("\n") == 1
    after = (git("rev-parse", "HEAD", cwd=root), git("tag", cwd=root), sorted(p.name for p in
                                                                              (root / ".annover/versions").iterdir()))
    assert after == before
    _clean(root)
    # tagging and undoing there are refused the same way
    assert run_cli("tag", "there", cwd=root).returncode == 6
    assert run_cli("revert", cwd=root).returncode == 6
    # back on the branch: the next snapshot is v3, on top of v2
    _checkout(root, "main")
    p = run_cli("snapshot", "--from", "r3.json", *SNAP, "-m", "round 3", cwd=root)
    assert p.returncode == 0, p.stderr
    assert annover.Repo(root).resolve("v3") == annover.Repo(root).head()
    assert annover.Repo(root).show("v3").parents == [v2.id]


def test_a_branch_started_at_an_old_version_keeps_its_versions_reachable(two_rounds):
    repo, v1, v2 = two_rounds
    root = repo.root
    git("switch", "-q", "-c", "relabel", "v1", cwd=root)
    p = run_cli("snapshot", "--from", _edited(root, "r3.json", " y", "round1.json"), *SNAP, "-m", "relabel",
                cwd=root)
    assert p.returncode == 0, p.stderr
    v3 = p.stdout.strip()
    _checkout(root, "main")
    # v3 is on another branch: annover still finds it by its tag and id
    show = run_cli("show", "v3", "--json", cwd=root, check=True)
    assert json.loads(show.stdout)["id"] == v3 and json.loads(show.stdout)["parents"] == [v1.id]
    assert run_cli("show", v3[:10], cwd=root).returncode == 0
    nxt = run_cli("snapshot", "--from", _edited(root, "r4.json", " z"), *SNAP, "-m", "main", cwd=root, check=True)
    assert "v4" in nxt.stderr
    _clean(root)


# ---------------------------------------------------------------- 11.4 refs from git


def test_a_clone_detached_at_v1_loads_v2_by_its_tag(two_rounds, tmp_path):
    repo, v1, v2 = two_rounds
    root = repo.root
    remote_url = repo.dvc.remote_info().url
    for rev in ("v1", "v2"):
        run_cli("push", rev, cwd=root, check=True)
    clone = tmp_path / "clone"
    git("clone", "-q", str(root), str(clone), cwd=tmp_path)
    assert _dvc("remote", "add", "--local", "-f", "-d", "shared", remote_url, cwd=clone).returncode == 0
    git("checkout", "-q", "v1", cwd=clone)
    pulled = _dvc("pull", cwd=clone)
    assert pulled.returncode == 0, pulled.stderr
    # the v1 commit's work tree has neither v2's tag file nor its record: git's refs have them
    assert not (clone / ".annover/refs/tags/v2").exists()
    show = run_cli("show", "v2", "--json", cwd=clone, check=True)
    assert json.loads(show.stdout)["id"] == v2.id and json.loads(show.stdout)["tags"] == ["v2"]
    log = json.loads(run_cli("log", "v2", "--json", cwd=clone, check=True).stdout)
    assert [v["id"] for v in log] == [v2.id, v1.id]
    assert run_cli("pull", "v2", cwd=clone).returncode == 0
    code = (f"import annover; t = annover.load('v2'); u = annover.load({v2.id[:10]!r}, table='tasks');"
            f"print(t.num_rows, u.num_rows)")
    p = subprocess.run([sys.executable, "-c", code], cwd=clone, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [str(repo.load("v2").num_rows), str(repo.load("v2", "tasks").num_rows)]
    assert annover.load("v2", repo=clone).equals(repo.load("v2"))
    assert annover.Repo(clone).head() == v1.id  # HEAD is still what is checked out


def test_a_tag_moved_later_is_read_from_git_on_an_old_checkout(two_rounds):
    repo, v1, v2 = two_rounds
    root = repo.root
    repo.tag("baseline", "v1")
    repo.tag("baseline", "v2", force=True)
    git("checkout", "-q", "v1", cwd=root)  # its tag file says nothing of baseline
    assert annover.Repo(root).resolve("baseline") == v2.id


# ---------------------------------------------------------------- 11.5 two snapshots from one HEAD


def test_a_snapshot_that_started_before_another_landed_is_refused(one_version_repo):
    repo = one_version_repo
    root = repo.root
    _edited(root, "mine.json", " mine")
    _edited(root, "theirs.json", " theirs")
    landed = {}

    def progress(step: str) -> None:  # between reading and committing, a teammate's snapshot lands
        if step == "hashing content" and not landed:
            p = run_cli("snapshot", "--from", "theirs.json", *SNAP, "-m", "their round", cwd=root, check=True)
            landed["id"] = p.stdout.strip()

    with pytest.raises(LockError) as e:
        repo.snapshot("mine.json", key="data.ext_id", message="my round", progress=progress)
    assert e.value.exit_code == 9
    msg = str(e.value)
    assert "v2" in msg and landed["id"][:12] in msg and "their round" in msg and "annover diff" in msg
    # theirs is HEAD, mine wrote nothing
    log = json.loads(run_cli("log", "--json", cwd=root, check=True).stdout)
    assert [v["id"] for v in log][0] == landed["id"] and len(log) == 2
    _clean(root)
    # run again, now from the new HEAD: it goes through
    again = repo.snapshot("mine.json", key="data.ext_id", message="my round")
    assert again.changed and again.version.parents == [landed["id"]]


@pytest.fixture
def one_version_repo(repo):
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1")
    return repo


# ---------------------------------------------------------------- 11.7 undo


def test_revert_makes_a_new_version_with_the_parents_content(two_rounds):
    repo, v1, v2 = two_rounds
    root = repo.root
    p = run_cli("revert", "--json", cwd=root)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["changed"] and out["tag"] == "v3" and out["restored"] == v1.id and out["reverted"] == v2.id
    r = annover.Repo(root)
    v3 = r.show("v3")
    assert v3.parents == [v2.id] and v3.record["tables"] == v1.record["tables"]
    assert v3.message.startswith('Revert "round 2"') and v3.record["origin"]["kind"] == "revert"
    assert r.load("v3").equals(r.load("v1")) and r.resolve("v2") == v2.id  # v2 is kept
    _clean(root)
    # the plain DVC way gives v1's objects at v3
    _checkout(root, "v3")
    assert annover.Repo(root).load().equals(repo.load("v1"))
    _checkout(root, "main")
    # reverting a version that is not HEAD is refused with the way to do it
    p = run_cli("revert", "v2", cwd=root)
    assert p.returncode == 2 and "revert --to v2~1" in p.stderr
    # --to a version HEAD already holds: nothing to do
    p = run_cli("revert", "--to", "v1", cwd=root)
    assert p.returncode == 0 and "no new version" in p.stderr
    p = run_cli("revert", "--to", "v2", "-m", "back to round 2", "--tag", "round-2-again", cwd=root, check=True)
    assert annover.Repo(root).show("round-2-again").record["tables"] == v2.record["tables"]


def test_reset_drops_unpushed_versions_only_when_asked(two_rounds):
    repo, v1, v2 = two_rounds
    root = repo.root
    run_cli("snapshot", "--from", _edited(root, "r3.json", " oops"), *SNAP, "-m", "by accident", cwd=root,
            check=True)
    v3 = annover.Repo(root).head()
    # without --force (and no terminal to ask on): refused, nothing changes
    p = run_cli("reset", "v1", cwd=root)
    assert p.returncode == 2 and "would drop 2 version(s)" in p.stderr and "--force" in p.stderr
    assert annover.Repo(root).head() == v3
    plan = json.loads(run_cli("reset", "v1", "--dry-run", "--json", cwd=root, check=True).stdout)
    assert plan["dropped"] == [v3, v2.id] and plan["tags"] == {"v2": v2.id, "v3": v3} and not plan["done"]
    p = run_cli("reset", "v2", "--force", "--json", cwd=root)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["dropped"] == [v3]
    r = annover.Repo(root)
    assert r.head() == v2.id and "v3" not in git("tag", cwd=root).split()
    assert [v.id for v in r.log()] == [v2.id, v1.id] and r.load().equals(repo.load("v2"))
    _clean(root)
    # the next snapshot takes the freed name
    p = run_cli("snapshot", "--from", _edited(root, "r3b.json", " fixed"), *SNAP, "-m", "round 3", cwd=root,
                check=True)
    assert "v3" in p.stderr and annover.Repo(root).show("v3").parents == [v2.id]


def test_a_clone_at_an_old_tag_does_not_count_a_version_reset_dropped(two_rounds, tmp_path):
    """A version reset dropped stays in git's history behind the newer tags; a clone checked out
    at an older tag must not count it as reachable (it was never pushed: status said "not
    pushed", push failed and pull exited 10)."""
    repo, v1, v2 = two_rounds
    root = repo.root
    run_cli("snapshot", "--from", _edited(root, "r3.json", " oops"), *SNAP, "-m", "by accident", cwd=root,
            check=True)
    dropped = annover.Repo(root).head()
    run_cli("reset", "v2", "--force", cwd=root, check=True)
    run_cli("snapshot", "--from", _edited(root, "r3b.json", " fixed"), *SNAP, "-m", "round 3", "--tag", "release",
            cwd=root, check=True)
    v3 = annover.Repo(root).head()
    assert v3 != dropped
    run_cli("push", cwd=root, check=True)
    here = json.loads(run_cli("status", "--json", cwd=root, check=True).stdout)
    assert here["unpushed_versions"] == []
    clone = tmp_path / "clone"
    git("clone", "-q", str(root), str(clone), cwd=tmp_path)
    assert _dvc("remote", "add", "--local", "-f", "-d", "shared", repo.dvc.remote_info().url, cwd=clone).returncode == 0
    git("checkout", "-q", "v1", cwd=clone)
    st = json.loads(run_cli("status", "--json", cwd=clone, check=True).stdout)
    assert st["unpushed_versions"] == [] and st["versions"] == 3, st
    pulled = run_cli("pull", "--json", cwd=clone)
    assert pulled.returncode == 0, pulled.stderr
    assert run_cli("push", cwd=clone).returncode == 0
    for rev in ("v1", "v2", "release"):
        assert annover.load(rev, repo=clone).equals(repo.load(rev))
    # the dropped version is still there by its id where a tag not on HEAD's history holds it
    git("tag", "kept", dropped_commit := git("log", "--format=%H", "-1", "--diff-filter=A", "--",
                                              f".annover/versions/{dropped}.json", cwd=root).strip(), cwd=clone)
    assert dropped_commit
    st = json.loads(run_cli("status", "--json", cwd=clone, check=True).stdout)
    assert st["versions"] == 4 and st["unpushed_versions"] == [dropped], st


def test_reset_refuses_versions_already_on_a_git_remote(two_rounds, tmp_path):
    repo, v1, v2 = two_rounds
    root = repo.root
    bare = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(bare), cwd=tmp_path)
    git("remote", "add", "origin", str(bare), cwd=root)
    git("push", "-q", "origin", "main", cwd=root)
    p = run_cli("reset", "v1", "--force", cwd=root)
    assert p.returncode == 2 and "origin/main" in p.stderr and "annover revert" in p.stderr
    assert annover.Repo(root).head() == v2.id and "v2" in git("tag", cwd=root).split()


def test_undo_commands_have_help_with_examples():
    for cmd in ("revert", "reset"):
        p = run_cli(cmd, "--help")
        assert p.returncode == 0 and "Examples:" in p.stdout and "--json" in p.stdout


# ---------------------------------------------------------------- 11.9 tag --force


def test_moving_a_tag_needs_force_and_says_what_it_named(two_rounds):
    repo, v1, v2 = two_rounds
    root = repo.root
    run_cli("tag", "baseline", "v1", cwd=root, check=True)
    p = run_cli("tag", "baseline", "v2", cwd=root)
    assert p.returncode == 2 and v1.id[:12] in p.stderr and "--force" in p.stderr
    assert annover.Repo(root).resolve("baseline") == v1.id
    p = run_cli("tag", "baseline", "v2", "--force", cwd=root)
    assert p.returncode == 0 and f"named {v1.id[:12]} before" in p.stderr
    p = run_cli("tag", "baseline", "v1", "--force", "--json", cwd=root, check=True)
    assert json.loads(p.stdout)["replaced"] == v2.id
    assert git("rev-parse", "baseline^{commit}", cwd=root).strip() == annover.Repo(root).commit_of(v1.id)
    _clean(root)


# ---------------------------------------------------------------- 11.10 annotators by name in show


def test_show_names_annotators_an_older_version_knew_only_by_id(repo, tmp_path):
    tasks = _tasks(repo.root / "round1.json")
    users = _users_of(tasks)
    plain = _write(tmp_path / "plain.json", _by_id(tasks))
    root = repo.root
    run_cli("snapshot", "--from", str(plain), "--config", "labeling.xml", *SNAP, "-m", "ids", cwd=root, check=True)
    before = run_cli("show", "v1", cwd=root, check=True).stdout
    line = next(ln for ln in before.splitlines() if ln.startswith("Annotators:"))
    assert all(f"{uid} " in line and email not in line for uid, email in users.items())
    ufile = tmp_path / "users.csv"
    ufile.write_text("id,email\n" + "".join(f"{k},{v}\n" for k, v in users.items()))
    run_cli("snapshot", "--from", str(plain), "--users", str(ufile), "-m", "mapped", cwd=root, check=True)
    shown = run_cli("show", "v1", cwd=root, check=True).stdout
    line = next(ln for ln in shown.splitlines() if ln.startswith("Annotators:"))
    for uid, email in users.items():
        assert f"{email} ({uid})" in line
    raw = json.loads(run_cli("show", "v1", "--json", cwd=root, check=True).stdout)
    assert set(raw["stats"]["annotators"]) == {str(u) for u in users}  # the record is unchanged


def test_a_tag_moved_or_deleted_on_another_machine_is_told_apart_on_this_one(two_rounds, tmp_path):
    """Two clones of one git remote: A moves a tag (``annover tag --force``) and deletes another
    (``tag -d``); B pulls. git keeps B's old tags; annover says what happened and what updates
    them (``git fetch --tags --force``, ``git tag -d``), and then reads the tags as A left them."""
    repo, v1, v2 = two_rounds
    a = repo.root
    bare = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(bare), cwd=tmp_path)
    git("remote", "add", "origin", str(bare), cwd=a)
    run_cli("tag", "reviewed", "v1", cwd=a, check=True)
    run_cli("tag", "golden", "v1", cwd=a, check=True)
    git("push", "-q", "origin", "main", "--tags", cwd=a)
    b = tmp_path / "b"
    git("clone", "-q", str(bare), str(b), cwd=tmp_path)
    run_cli("tag", "reviewed", "v2", "--force", cwd=a, check=True)
    run_cli("tag", "-d", "golden", cwd=a, check=True)
    git("push", "-q", "--force", "origin", "main", "--tags", cwd=a)
    git("push", "-q", "origin", ":refs/tags/golden", cwd=a)
    git("pull", "-q", "--no-rebase", "origin", "main", cwd=b)
    p = run_cli("show", "reviewed", cwd=b)
    assert p.returncode == 7 and "git fetch --tags --force" in p.stderr, p.stderr
    p = run_cli("show", "golden", cwd=b)
    assert p.returncode == 7 and "was deleted" in p.stderr and "git tag -d golden" in p.stderr, p.stderr
    git("fetch", "-q", "--tags", "--force", "--prune", "--prune-tags", "origin", cwd=b)
    shown = json.loads(run_cli("show", "reviewed", "--json", cwd=b, check=True).stdout)
    assert shown["id"] == v2.id
    p = run_cli("show", "golden", cwd=b)
    assert p.returncode == 7 and "unknown revision" in p.stderr
    assert run_cli("log", cwd=b, check=True).stderr.count("warning") == 0
