"""Hardening of refs and commits (issue 16): kills around the commit, tag names from a clone.

Real git, real DVC, the real ``annover`` entry point in a subprocess.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import annover
from annover.errors import UsageError
from annover.store.refs import Refs, check_tag_name, is_tag_name

from .conftest import dvc_status_clean, git, run_cli

SNAP = ("snapshot", "--from", "round2.json", "--key", "data.ext_id", "-m", "round 2")


@pytest.fixture
def v1(repo):
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1")
    return repo


# ---------------------------------------------------------------- 16.2 kill between commit and index sync


@pytest.mark.parametrize("stage", ["before-index-sync", "before-update-ref", "after-update-ref"])
def test_a_kill_around_the_commit_never_stages_the_deletion_of_a_version(v1, stage):
    root = v1.root
    old = v1.head()
    p = run_cli(*SNAP, cwd=root, env={"ANNOVER_TEST_KILL_AT": stage})
    assert p.returncode == -signal.SIGKILL, p.stderr
    committed = (git("show", "HEAD:.annover/HEAD", cwd=root).strip() != old)
    assert committed == (stage == "after-update-ref")
    # before any annover command: nothing staged deletes what HEAD holds
    staged = git("diff", "--cached", "--name-status", "--no-renames", "HEAD", "--", ".annover", cwd=root)
    assert not [ln for ln in staged.splitlines() if ln.startswith("D")], staged
    # a read sees the committed state, repairs the rest and says so
    log = run_cli("log", "--json", cwd=root)
    assert log.returncode == 0, log.stderr
    ids = [v["id"] for v in json.loads(log.stdout)]
    assert (len(ids) == 2) == committed and ids[-1] == old
    assert "repaired:" in log.stderr
    assert git("status", "--porcelain", "--", ".annover", cwd=root) == ""
    dvc_status_clean(root)
    if committed:
        assert git("rev-parse", "v2^{commit}", cwd=root).strip() == git("rev-parse", "HEAD", cwd=root).strip()
        status = json.loads(run_cli("status", "--json", cwd=root, check=True).stdout)
        assert status["head"] == ids[0] and not status["interrupted"]
    # the user's own next commit keeps every version
    (root / "notes.txt").write_text("mine\n")
    git("add", "notes.txt", cwd=root)
    git("commit", "-q", "-m", "notes", cwd=root)
    changed = git("show", "--name-status", "--format=", "HEAD", cwd=root).split()
    assert changed == ["A", "notes.txt"]
    again = run_cli(*SNAP, cwd=root)
    assert again.returncode == 0, again.stderr
    assert len(json.loads(run_cli("log", "--json", cwd=root, check=True).stdout)) == 2


def test_an_index_left_staging_the_deletion_by_an_older_annover_is_named_by_a_read_and_kept_by_a_write(v1):
    """The exact state 16.2 found: HEAD has the new version, git's index still the old tree. With
    no sign of a killed command it reads as the user's own staging: a read never touches git's
    index, so it says what a `git commit` would delete; a write that commits other files leaves it
    staged too (it unstaged it silently, as it did a user's `git add`); `git restore --staged` ends it."""
    root = v1.root
    run_cli(*SNAP, cwd=root, check=True)
    git("read-tree", "HEAD~1", cwd=root)  # the index as the old sync-after-update-ref left it
    assert "D  .annover/versions/" in git("status", "--porcelain", cwd=root)
    p = run_cli("show", "--json", cwd=root)
    assert p.returncode == 0 and "would delete 1 version record(s)" in p.stderr, p.stderr
    assert "D  .annover/versions/" in git("status", "--porcelain", cwd=root)
    assert annover.Repo(root).resolve("v2") == json.loads(p.stdout)["id"]
    w = run_cli("tag", "reviewed", cwd=root)
    assert w.returncode == 0 and "git restore --staged -- .annover" in w.stderr, w.stderr
    assert "D  .annover/versions/" in git("status", "--porcelain", cwd=root)
    git("restore", "--staged", "--", ".annover", cwd=root)
    assert git("status", "--porcelain", "--", ".annover", cwd=root) == ""


def test_a_read_only_sees_committed_state_when_a_live_writer_holds_the_lock(v1):
    root = v1.root
    with v1.lock():  # as a live snapshot would: the reader neither waits nor repairs
        p = run_cli("log", "--json", cwd=root, env={"ANNOVER_LOCK_TIMEOUT": "0"})
    assert p.returncode == 0 and len(json.loads(p.stdout)) == 1 and "repaired" not in p.stderr


# ---------------------------------------------------------------- 16.4 tag names from a clone


def _planted_clone(v1, tmp_path: Path, name: str) -> Path:
    """A clone of a repository whose history holds ``.annover/refs/tags/NAME``."""
    root = v1.root
    f = root / ".annover" / "refs" / "tags" / name
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(v1.head() + "\n")
    git("add", "--", str(f.relative_to(root)), cwd=root)
    git("commit", "-q", "-m", "planted", cwd=root)
    run_cli("push", "v1", cwd=root, check=True)
    clone = tmp_path / "clone"
    git("clone", "-q", str(root), str(clone), cwd=tmp_path)
    exe = Path(sys.executable).with_name("dvc")
    for args in (("remote", "add", "--local", "-f", "-d", "shared", v1.dvc.remote_info().url), ("pull",)):
        out = subprocess.run([str(exe), *args], cwd=clone, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
    return clone


@pytest.mark.parametrize("name", ["-Fplanted.txt", "-a", "--contains", "a..b", "x.lock", "deadbeef00"])
def test_planted_tag_files_never_reach_git_as_options(v1, tmp_path, name):
    clone = _planted_clone(v1, tmp_path, name)
    git("tag", "-d", "v1", cwd=clone)  # so that annover makes the git tags it finds missing
    before = set(git("for-each-ref", "--format=%(refname)", cwd=clone).split())
    log = run_cli("log", "--json", cwd=clone, env={"GIT_EDITOR": "false"})
    assert log.returncode == 0, log.stderr
    assert [v["tags"] for v in json.loads(log.stdout)] == [["v1"]]  # the bad name is not a tag
    assert "warning: ignored" in log.stderr and name in log.stderr
    snap = run_cli("snapshot", "--from", str(v1.root / "round2.json"), "--key", "data.ext_id", "-m", "round 2",
                   cwd=clone, env={"GIT_EDITOR": "false"})
    assert snap.returncode == 0, snap.stderr
    tags = set(git("tag", "--list", cwd=clone).split())
    assert tags == {"v1", "v2"}, tags
    refs = set(git("for-each-ref", "--format=%(refname)", cwd=clone).split())
    assert refs - before == {"refs/tags/v1", "refs/tags/v2"}
    with pytest.raises(UsageError):
        annover.Repo(clone).tag(name)


def test_tag_files_with_a_value_that_is_not_a_version_id_are_ignored(v1):
    tags = v1.dir / "refs" / "tags"
    (tags / "evil").write_text("../../../etc/passwd\n")
    refs = Refs(v1.dir)
    assert refs.tags() == {"v1": v1.head()} and refs.rejected == ["evil"]


def test_tag_names_follow_gits_rules():
    for ok in ("v1", "round-3", "team/a/v2", "r.1", "a-", "my-refs/x"):
        check_tag_name(ok)
    for bad in ("-x", "a..b", "a//b", "a/", "/a", ".a", "a/.b", "a.lock", "a/b.lock/c", "a b", "HEAD", "HEAD~1",
                "a.", "deadbeef12", "ä", "a:b", "a\\b", "a\nb", "", "refs/heads/main", "refs/tags/v1"):
        assert not is_tag_name(bad), bad
        with pytest.raises(UsageError):
            check_tag_name(bad)


def test_init_on_a_detached_head_makes_nothing(tmp_path):
    """`annover init` in a git repository whose HEAD is detached is refused before it writes
    anything (it used to leave .dvc/ and .annover/ made and staged); on the branch it works."""
    root = tmp_path / "detached"
    root.mkdir()
    git("init", "-q", cwd=root)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "first", cwd=root)
    branch = git("symbolic-ref", "--short", "HEAD", cwd=root).strip()
    git("checkout", "-q", "--detach", cwd=root)
    before = sorted(p.name for p in root.iterdir())
    p = run_cli("init", cwd=root)
    assert p.returncode == 6, p.stderr
    assert "detached" in p.stderr and "git switch" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in root.iterdir()) == before
    assert git("status", "--porcelain", cwd=root) == ""
    git("switch", "-q", branch, cwd=root)
    run_cli("init", cwd=root, check=True)
    assert (root / ".annover").is_dir() and git("status", "--porcelain", cwd=root) == ""


def test_revisions_resolved_together_read_gits_tags_once(two_rounds, monkeypatch):
    """A diff resolves both its revisions from one read of git's tags, and gets what resolving
    each alone gives (tags, ids, prefixes, HEAD~N); a moved tag is refused the same way."""
    import annover
    from annover.errors import RevisionError
    from annover.store import git as G

    repo, v1, v2 = two_rounds
    revs = ["v1", "v2", "HEAD", "HEAD~1", v1.id, v2.id[:10], "v2^"]
    want = [annover.Repo(".").resolve(r) for r in revs]
    assert want == [v1.id, v2.id, v2.id, v1.id, v1.id, v2.id, v1.id]
    calls: list = []
    real = G.Git.tag_commits
    monkeypatch.setattr(G.Git, "tag_commits", lambda self: (calls.append("tags"), real(self))[1])
    fresh = annover.Repo(".")
    calls.clear()
    assert fresh.resolve_all(*revs) == want
    assert calls.count("tags") == 1
    calls.clear()
    fresh.diff("v1", "v2")
    assert calls.count("tags") <= 1
    git("tag", "-f", "v1", git("rev-parse", "HEAD", cwd=Path(".")).strip(), cwd=Path("."))  # v1 moved by hand
    with pytest.raises(RevisionError, match="v1"):
        annover.Repo(".").resolve_all("v2", "v1")


def test_the_work_tree_is_found_as_git_finds_it(tmp_path, monkeypatch):
    """The git dir and top level found on the file system are what `git rev-parse` says; where
    git's own rules decide (a linked work tree, GIT_DIR set, no repository), git is asked."""
    from annover.store import git as G

    def asked(path: Path) -> "tuple[Path, Path] | None":
        out = subprocess.run(["git", "rev-parse", "--show-toplevel", "--absolute-git-dir"], cwd=path,
                             capture_output=True, text=True).stdout.splitlines()
        return (Path(out[0]).resolve(), Path(out[1])) if len(out) == 2 else None

    main = tmp_path / "main"
    (main / "a" / "b").mkdir(parents=True)
    git("init", "-q", cwd=main)
    for where in (main, main / "a", main / "a" / "b"):
        assert G._discover(where) == asked(where) is not None
    git("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "--allow-empty", "-m", "one", cwd=main)
    git("worktree", "add", "-q", str(tmp_path / "linked"), cwd=main)
    assert G._discover(tmp_path / "linked") is None and asked(tmp_path / "linked") is not None
    assert G._discover(tmp_path) is None and asked(tmp_path) is None
    monkeypatch.setenv("GIT_DIR", str(main / ".git"))
    assert G._discover(main / "a") is None
    monkeypatch.delenv("GIT_DIR")
    g = G.Git(tmp_path / "linked")  # asked of git: the linked tree's own top level
    assert (g.toplevel, g.git_dir) == asked(tmp_path / "linked")


def test_a_work_tree_set_in_gits_config_is_asked_of_git(tmp_path):
    """core.worktree moves the work tree away from .git's folder: git decides, not the file system."""
    from annover.store import git as G

    repo, tree = tmp_path / "store", tmp_path / "tree"
    repo.mkdir(), tree.mkdir()
    git("init", "-q", cwd=repo)
    assert G._discover(repo) is not None
    git("config", "core.worktree", str(tree), cwd=repo)
    assert G._discover(repo) is None
