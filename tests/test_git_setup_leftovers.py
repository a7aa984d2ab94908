"""The user's git setup, what was left after tests/test_git_setup.py: ``annover init`` with git
pointed elsewhere, a merge commit git cannot sign, and a tag the disk refuses. Real git, real gpg,
real DVC, a real full disk (a small tmpfs, else a real file-size limit)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import annover
from annover.errors import NotARepoError

from .conftest import EXAMPLES, git, run_cli
from .test_disk_full import cli, fill, one_line, small_disk  # noqa: F401 (a fixture)
from .test_git_setup import _one_line_error, gitconfig, gnupg  # noqa: F401 (fixtures)

ROUND1, ROUND2, CONFIG = (str(EXAMPLES / n) for n in ("round1.json", "round2.json", "labeling.xml"))


def _head(repo: Path) -> bytes:
    return subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=repo, capture_output=True).stdout


INIT_ENV = {  # where: (GIT_DIR, GIT_WORK_TREE) as folders of the test's, None: unset; what the refusal says
    "this-git-dir": ((".git", None), None),  # relative, as git sets it for its hooks
    "this-repository": (("labels/.git", "labels"), None),
    "another-repository": (("other/.git", "other"), ("git is pointed at", "not",
                                                      "GIT_DIR and GIT_WORK_TREE point git elsewhere",
                                                      "unset GIT_DIR and GIT_WORK_TREE")),
    "another-git-dir": (("other/.git", None), ("git is pointed at", "GIT_DIR points git elsewhere", "unset GIT_DIR")),
    "another-empty-git-dir": (("empty/.git", None), ("git is pointed at", "GIT_DIR points git elsewhere",
                                                     "unset GIT_DIR")),
    "a-work-tree-above": ((None, "."), ("git's work tree is", "GIT_WORK_TREE points git elsewhere",
                                        "unset GIT_WORK_TREE")),
    "this-git-dir-another-work-tree": (("labels/.git", "other"), ("git's work tree is", "GIT_DIR and GIT_WORK_TREE",
                                                                  "unset GIT_DIR and GIT_WORK_TREE")),
    "a-new-folder": (("other/.git", None), ("no git repository for `annover init`", "GIT_DIR points git elsewhere",
                                            "then makes git's repository in")),
}


@pytest.mark.parametrize("where", list(INIT_ENV))
def test_init_with_git_pointed_elsewhere(tmp_path, monkeypatch, where):
    """`annover init` with GIT_DIR / GIT_WORK_TREE naming another repository stopped in DVC's
    "unexpected InitError" (exit 1, "a bug in annover"), or made its files to commit them there.
    Now it is refused as every other command refuses it: exit 6 in one line naming the variables,
    before anything is made (no .annover, no .dvc; the other repository as it was). Naming this
    folder's own git repository (as git does for its hooks) is followed."""
    other, labels = tmp_path / "other", tmp_path / "labels"
    for repo in (other, tmp_path / "empty"):
        git("init", "-q", str(repo), cwd=tmp_path)
    (other / "notes.txt").write_text("another project\n")
    git("add", "notes.txt", cwd=other)
    git("commit", "-q", "-m", "start", cwd=other)
    if where != "a-new-folder":
        git("init", "-q", str(labels), cwd=tmp_path)  # the folder's own git repository, no commit yet
    before = _head(other), git("status", "--porcelain", "--ignored", cwd=other)
    (git_dir, work_tree), refused = INIT_ENV[where]
    for var, value in (("GIT_DIR", git_dir), ("GIT_WORK_TREE", work_tree)):
        if value is not None:
            monkeypatch.setenv(var, value if value == ".git" else str(tmp_path / value))
    p = run_cli("init", ".", cwd=labels) if labels.is_dir() else run_cli("init", str(labels), cwd=tmp_path)
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)
    if refused is None:
        assert p.returncode == 0, p.stderr
        assert git("log", "--format=%s", cwd=labels) == "annover init\n"
        assert git("status", "--porcelain", cwd=labels) == ""
    else:
        assert p.returncode == 6, (p.stdout, p.stderr)
        _one_line_error(p, *refused)
        assert not (labels / ".annover").exists() and not (labels / ".dvc").exists()
        assert (_head(other), git("status", "--porcelain", "--ignored", cwd=other)) == before
        assert _head(labels) == b"" if labels.exists() else True
    assert _head(tmp_path / "empty") == b""


def test_init_from_python_with_git_pointed_elsewhere(tmp_path, monkeypatch):
    """`annover.init(...)` refuses as the command line does (NotARepoError, exit code 6)."""
    other, labels = tmp_path / "other", tmp_path / "labels"
    for repo in (other, labels):
        git("init", "-q", str(repo), cwd=tmp_path)
    git("commit", "-q", "--allow-empty", "-m", "start", cwd=other)
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    with pytest.raises(NotARepoError, match="GIT_DIR points git elsewhere") as e:
        annover.init(labels)
    assert e.value.exit_code == 6
    monkeypatch.delenv("GIT_DIR")
    assert sorted(p.name for p in labels.iterdir()) == [".git"]
    assert git("log", "--format=%s", cwd=other) == "start\n"
    annover.init(labels)
    assert git("log", "--format=%s", cwd=labels) == "annover init\n"


NO_VERSION_ENV = {"another-git-dir-with-commits": "other", "another-empty-git-dir": "empty", "this-git-dir": None}


@pytest.mark.parametrize("where", list(NO_VERSION_ENV))
@pytest.mark.parametrize("command", ["snapshot", "init-remote"])
def test_a_repository_with_no_version_yet_and_git_pointed_elsewhere(tmp_path, monkeypatch, where, command):
    """A repository `annover init` made, with no version yet, and GIT_DIR naming another git dir:
    a snapshot committed its version there (and left this work tree's records untracked), `init
    --remote` its DVC config. Now refused in one line (exit 6): git's HEAD there lacks the
    .annover/config.json `annover init` committed. This git dir is followed."""
    root = annover.init(tmp_path / "labels").root
    for name in ("other", "empty"):
        git("init", "-q", str(tmp_path / name), cwd=tmp_path)
    git("commit", "-q", "--allow-empty", "-m", "start", cwd=tmp_path / "other")
    before = _head(tmp_path / "other"), _head(root)
    other = NO_VERSION_ENV[where]
    monkeypatch.setenv("GIT_DIR", str(tmp_path / other / ".git") if other else ".git")
    args = (("snapshot", "--from", ROUND1, "--config", CONFIG, "--key", "data.ext_id", "-m", "round 1")
            if command == "snapshot" else ("init", ".", "--remote", str(tmp_path / "another-remote")))
    p = run_cli(*args, cwd=root)
    monkeypatch.delenv("GIT_DIR")
    if other is None:
        assert p.returncode == 0, p.stderr
        assert git("status", "--porcelain", cwd=root) == ""
        return
    assert p.returncode == 6, (p.stdout, p.stderr)
    _one_line_error(p, ".annover/config.json", "GIT_DIR points git elsewhere", "unset GIT_DIR")
    assert (_head(tmp_path / "other"), _head(root)) == before and _head(tmp_path / "empty") == b""
    assert git("status", "--porcelain", cwd=root) == ""


def _files(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the work tree outside .git: its bytes and its modification time."""
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def _write_tasks(path: Path, changed: str) -> str:
    """ROUND1 with the first task's text changed (a relabel of one side's own)."""
    tasks = json.loads(Path(ROUND1).read_text())
    tasks[0]["data"]["text"] = changed
    path.write_text(json.dumps(tasks))
    return str(path)


@pytest.mark.parametrize("kind", ["merge-commit", "three-way"])
def test_a_merge_git_cannot_sign_writes_nothing(tmp_path, gitconfig, gnupg, kind):
    """A merge git cannot fast-forward makes a merge commit; with commit.gpgSign and no key it wrote
    the DVC pointer (a three-way merge: its objects too), then took them back when git refused to
    sign. Now it asks git first, as snapshot, revert and reset do: exit 15 in one line, and every
    file is as it was, its time too."""
    gnupg(False)
    repo = annover.init(tmp_path / "labels")
    root = repo.root
    repo.snapshot(ROUND1, config=CONFIG, key="data.ext_id", message="round 1")
    git("switch", "-q", "-c", "relabel", cwd=root)
    repo.snapshot(ROUND2, key="data.ext_id", message="round 2")
    git("switch", "-q", "main", cwd=root)
    if kind == "merge-commit":  # a commit of the user's: git cannot fast-forward
        (root / "notes.txt").write_text("the user's own file\n")
        git("add", "notes.txt", cwd=root)
        git("commit", "-q", "-m", "notes", cwd=root)
    else:  # a version of this branch's own: a three-way merge
        annover.Repo(root).snapshot(_write_tasks(tmp_path / "ours.json", "ours"), key="data.ext_id", message="ours")
    annover.Repo(root).recover(view=True)  # the working store: HEAD's objects, not those git switch left
    gitconfig("commit.gpgSign", "true")
    before, head = _files(root), _head(root)
    p = run_cli("merge", "relabel", cwd=root)
    assert p.returncode == 15, (p.stdout, p.stderr)
    _one_line_error(p, "commit.gpgSign", "nothing committed")
    assert _files(root) == before
    assert _head(root) == head
    assert git("status", "--porcelain", cwd=root) == ""


def test_a_tag_the_disk_cannot_hold(small_disk, tmp_path):  # noqa: F811 (the fixture)
    """`annover tag` on a full disk said 'Error: a file: No space left on device': the blob of the
    tag's file, written for git in its folder, named no file. Now the message names git's folder
    (exit 6, the disk's hint), nothing is tagged, and with room again the same tag is made."""
    root = (small_disk or tmp_path) / "repo"
    annover.init(root)
    annover.Repo(root).snapshot(ROUND1, config=CONFIG, key="data.ext_id", message="round 1")
    filler = fill(small_disk, 0) if small_disk is not None else None
    p = cli("tag", "best", "v1", cwd=root, fsize=None if small_disk is not None else 40)
    err = one_line(p)
    assert p.returncode == 6, p.stderr
    assert "Error: a file:" not in err and f"Error: {root}/.git" in err, err
    assert ("No space left on device" in err and "free some space" in err if small_disk is not None
            else "File too large" in err and "ulimit -f" in err), err
    if filler is not None:
        filler.unlink()
    assert git("tag", cwd=root) == "v1\n" and "best" not in annover.Repo(root).tags()
    assert git("status", "--porcelain", "--", ".annover", cwd=root) == ""
    assert cli("tag", "best", "v1", cwd=root).returncode == 0
    assert annover.Repo(root).tags()["best"] == annover.Repo(root).resolve("v1")


def test_a_snapshot_git_cannot_sign_stores_nothing(tmp_path, gitconfig, gnupg):
    """commit.gpgSign with no key. Was: the snapshot read its input, stored the new version's
    objects in the working store (git-ignored, left behind), and only then found that git could not
    sign its commit; now it asks git before it reads the input: exit 15 in one line, every file as
    it was."""
    gnupg(False)
    repo = annover.init(tmp_path / "labels")
    root = repo.root
    repo.snapshot(ROUND1, config=CONFIG, key="data.ext_id", message="round 1")
    gitconfig("commit.gpgSign", "true")
    before, head = _files(root), _head(root)
    p = run_cli("snapshot", "--from", ROUND2, "--key", "data.ext_id", "-m", "round 2", cwd=root)
    assert p.returncode == 15, (p.stdout, p.stderr)
    _one_line_error(p, "commit.gpgSign", "nothing committed")
    assert _files(root) == before
    assert _head(root) == head
