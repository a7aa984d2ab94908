"""The user's own git setup: a global git config (``GIT_CONFIG_GLOBAL``) that signs commits,
runs hooks, converts line ends, names the first branch or forbids a guessed identity, and
settings that change what ``git log`` prints. Real git, real gpg, real DVC."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import annover
from tests.conftest import EXAMPLES, git, run_cli

ROUND1, ROUND2, CONFIG = (str(EXAMPLES / n) for n in ("round1.json", "round2.json", "labeling.xml"))


@pytest.fixture
def gitconfig(tmp_path, monkeypatch):
    """The user's global git config, a file of this test's (the real ~/.gitconfig is never read):
    ``gitconfig(KEY, VALUE, ...)`` sets keys in it."""
    path = tmp_path / "gitconfig"
    path.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")

    def set_(*pairs: str) -> Path:
        for key, value in zip(pairs[0::2], pairs[1::2]):
            subprocess.run(["git", "config", "-f", str(path), key, value], check=True)
        return path
    return set_


@pytest.fixture
def gnupg(tmp_path, monkeypatch):
    """An empty ``GNUPGHOME`` (no key); ``gnupg(True)`` makes a signing key for the test's identity."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))

    def make_key(with_key: bool) -> None:
        if with_key:
            subprocess.run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
                            "Test Author <author@example.com>", "ed25519", "sign", "never"],
                           check=True, capture_output=True)
    yield make_key
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True)  # the agent gpg started for this home


def _one_line_error(p: subprocess.CompletedProcess, *words: str) -> None:
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), p.stderr
    assert "Traceback" not in p.stderr
    for w in words:
        assert w in lines[0], lines[0]


def _signatures(root: Path) -> list[str]:
    return git("-c", "log.showSignature=false", "log", "--format=%G?", cwd=root).split()


@pytest.mark.parametrize("with_key", [True, False], ids=["a-key", "no-key"])
def test_commit_gpgsign_is_honoured_or_refused_in_one_line(tmp_path, gitconfig, gnupg, with_key):
    """commit.gpgSign: annover's commits are signed, as `git commit`'s are; where git cannot sign,
    the command is exit 15 in one line and nothing is made or committed (init included: a run after
    the fix starts afresh). tag.gpgSign does not apply: annover's tags are lightweight."""
    gitconfig("commit.gpgSign", "true", "tag.gpgSign", "true", "log.showSignature", "true")
    gnupg(with_key)
    root = tmp_path / "labels"
    p = run_cli("init", str(root))
    if with_key:
        assert p.returncode == 0, p.stderr
        repo = annover.Repo(root)
        repo.snapshot(ROUND1, config=CONFIG, key="data.ext_id", message="round 1")
        repo.snapshot(ROUND2, key="data.ext_id", message="round 2")
        assert repo.tag("best", "v1").version == repo.resolve("v1")  # git log prints gpg's verdicts here
        repo.revert(message="undo")
        assert _signatures(root) == ["G"] * 5
        assert git("cat-file", "-t", "v1", cwd=root).strip() == "commit"  # lightweight, as annover's tags are
        return
    assert p.returncode == 15, (p.stdout, p.stderr)
    _one_line_error(p, "commit.gpgSign", "git config commit.gpgSign false")
    assert not (root / ".dvc").exists() and not (root / ".annover").exists()
    git("config", "commit.gpgSign", "false", cwd=root)
    assert run_cli("init", str(root)).returncode == 0
    git("config", "commit.gpgSign", "true", cwd=root)
    shutil.copy(ROUND1, root / "round1.json")
    before = git("rev-parse", "HEAD", cwd=root)
    p = run_cli("snapshot", "--from", "round1.json", "--config", CONFIG, "--key", "data.ext_id", cwd=root)
    assert p.returncode == 15, (p.stdout, p.stderr)
    _one_line_error(p, "commit.gpgSign")
    assert git("rev-parse", "HEAD", cwd=root) == before
    assert git("status", "--porcelain", "--", ".annover", cwd=root) == ""
    assert git("tag", cwd=root) == ""
    assert run_cli("log", cwd=root).stderr.startswith("no versions yet")
    p = run_cli("init", str(root), "--remote", str(tmp_path / "another-remote"))  # commits .dvc/config
    assert p.returncode == 15, (p.stdout, p.stderr)
    _one_line_error(p, "commit.gpgSign")
    assert git("status", "--porcelain", cwd=root) == "?? round1.json\n"  # .dvc/config as committed


HOSTILE_LOG = ("log.follow", "true", "log.diffMerges", "first-parent", "log.decorate", "full",
               "log.abbrevCommit", "true", "log.date", "relative", "format.pretty", "oneline", "color.ui", "always",
               "core.abbrev", "20", "diff.renames", "copies", "diff.relative", "true", "core.quotePath", "false")


@pytest.mark.parametrize("settings", [("log.follow", "true"), HOSTILE_LOG], ids=["log.follow", "every-log-setting"])
def test_settings_that_change_git_log_change_nothing(tmp_path, gitconfig, settings):
    """log.follow made `git log -- PATH` follow one path's renames and so miss the commit that added a
    version on another branch: `annover reset` then dropped that branch's version too."""
    repo = annover.init(tmp_path / "labels")
    root = repo.root
    repo.snapshot(ROUND1, config=CONFIG, key="data.ext_id", message="round 1")
    repo.snapshot(ROUND2, key="data.ext_id", message="round 2")
    git("switch", "-q", "-c", "relabel", "v1", cwd=root)
    v3 = repo.snapshot(ROUND2, key="data.ext_id", message="relabel").version
    git("switch", "-q", "main", cwd=root)
    v4 = repo.merge("relabel", favor="theirs", message="merge relabel").version
    gitconfig(*settings)
    repo = annover.Repo(root)
    assert repo.reset("v2", dry_run=True).dropped == [v4.id]
    assert repo.commit_of(v3.id) == git("rev-parse", "v3^{commit}", cwd=root).strip()


@pytest.mark.parametrize("setup", ["core.autocrlf", "core.autocrlf+safecrlf", "gitattributes-eol-crlf", "hand-edit"])
def test_line_ends_git_converts_are_not_repaired(tmp_path, gitconfig, setup):
    """core.autocrlf (or a user's `* text eol=crlf`) checks annover's files out with CRLF ends: git
    reads them as HEAD has them (git status is clean), and so does annover: no `recovered: restored
    ...` at every command after a `git checkout`. A real edit is still put back."""
    repo = annover.init(tmp_path / "labels")
    root = repo.root
    repo.snapshot(ROUND1, config=CONFIG, key="data.ext_id", message="round 1")
    repo.snapshot(ROUND2, key="data.ext_id", message="round 2")
    if setup.startswith("core.autocrlf"):
        gitconfig("core.autocrlf", "true", *(("core.safecrlf", "true") if "safecrlf" in setup else ()))
    elif setup == "gitattributes-eol-crlf":
        (root / ".git" / "info" / "attributes").write_text("* text eol=crlf\n")
    git("checkout", "-q", "v1", cwd=root)
    git("switch", "-q", "main", cwd=root)
    head = root / ".annover" / "HEAD"
    if setup == "hand-edit":
        head.write_text(head.read_text().replace("\n", "\r\n"))
    else:
        assert head.read_bytes().endswith(b"\r\n")  # what git checked out
    assert git("status", "--porcelain", cwd=root) == ("" if setup != "hand-edit" else " M .annover/HEAD\n")
    notes = annover.Repo(root).recover()
    restored = [n for n in notes if n.startswith("restored")]
    assert restored == (["restored .annover/HEAD from the last commit"] if setup == "hand-edit" else [])
    assert git("status", "--porcelain", cwd=root) == ""


@pytest.mark.parametrize("default_branch", ["trunk", None])
def test_init_takes_git_default_branch(tmp_path, gitconfig, default_branch):
    """annover init makes git's repository on init.defaultBranch where the user set it, else on main."""
    if default_branch:
        gitconfig("init.defaultBranch", default_branch)
    repo = annover.init(tmp_path / "labels")
    assert git("branch", "--show-current", cwd=repo.root).strip() == (default_branch or "main")


@pytest.mark.parametrize("case", ["useConfigOnly", "useConfigOnly+EMAIL", "EMAIL", "guessed"])
def test_identity_use_config_only(tmp_path, gitconfig, monkeypatch, case):
    """user.useConfigOnly with no user.email: refused in one line (exit 15) before anything is made,
    as `git commit` refuses (even with $EMAIL set, as git's), not committed as annover's guess.
    Without it, $EMAIL is the email, as git takes it, else annover's fallback identity."""
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(var, raising=False)
    gitconfig("user.name", "Ann Otator", *(("user.useConfigOnly", "true") if "useConfigOnly" in case else ()))
    if case.endswith("EMAIL"):
        monkeypatch.setenv("EMAIL", "ann@example.com")
    root = tmp_path / "labels"
    p = run_cli("init", str(root))
    if case.startswith("useConfigOnly"):
        assert p.returncode == 15, (p.stdout, p.stderr)
        _one_line_error(p, "user.email", "user.useConfigOnly", "git config --global user.email")
        assert not (root / ".dvc").exists() and not (root / ".annover").exists()
        return
    assert p.returncode == 0, p.stderr
    repo = annover.Repo(root)
    repo.snapshot(ROUND1, config=CONFIG, key="data.ext_id", message="round 1")
    want = "ann@example.com" if case.endswith("EMAIL") else "annover@localhost"
    assert git("log", "-1", "--format=%ae", cwd=root).strip() == want
    assert repo.version(repo.resolve("v1")).record["author"] == f"Ann Otator <{want}>"


HOOKS = {"pre-commit-fails": ("pre-commit", "exit 1"),
         "pre-commit-edits": ("pre-commit", "find .annover -name '*.json' -exec sh -c 'printf x >> \"$1\"' _ {} \\;"),
         "commit-msg-fails": ("commit-msg", "exit 1")}


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_commit_hooks_are_not_run(tmp_path, gitconfig, hook):
    """annover commits as git plumbing does (DVC's commits do too): no pre-commit, commit-msg hook
    runs, so a failing one refuses nothing and a formatter (pre-commit framework) never edits a
    version record whose id is its content's hash."""
    name, body = HOOKS[hook]
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    marker = tmp_path / "ran"
    (hooks / name).write_text(f"#!/bin/sh\necho ran >> '{marker}'\n{body}\n")
    (hooks / name).chmod(0o755)
    gitconfig("core.hooksPath", str(hooks))
    repo = annover.init(tmp_path / "labels")
    v1 = repo.snapshot(ROUND1, config=CONFIG, key="data.ext_id", message="round 1").version
    assert not marker.exists()
    assert git("status", "--porcelain", cwd=repo.root) == ""
    assert annover.Repo(repo.root).resolve("v1") == v1.id


GIT_ENV = {  # where: (GIT_DIR, GIT_WORK_TREE) as folders of the test's, None: unset; what the refusal says
    "this-repository": (("labels/.git", "labels"), None),
    "this-git-dir": ((".git", None), None),  # relative, as git sets it for its hooks
    "another-repository": (("other/.git", "other"), ("is outside git's work tree",
                                                      "GIT_DIR and GIT_WORK_TREE point git elsewhere",
                                                      "unset GIT_DIR and GIT_WORK_TREE")),
    "another-empty-git-dir": (("other/.git", None), ("has no commit", "GIT_DIR points git elsewhere", "unset GIT_DIR")),
    "another-repository-with-commits": (("other/.git", "other"), ("is outside git's work tree",
                                                                  "GIT_DIR and GIT_WORK_TREE point git elsewhere",
                                                                  "unset GIT_DIR and GIT_WORK_TREE")),
    "another-git-dir-with-commits": (("other/.git", None), ("has no record of version", "GIT_DIR points git elsewhere",
                                                            "unset GIT_DIR (git then finds this work tree's own")),
    "a-work-tree-above": ((None, "."), ("git's work tree is", "GIT_WORK_TREE points git elsewhere",
                                        "unset GIT_WORK_TREE")),
}


@pytest.mark.parametrize("where", list(GIT_ENV))
def test_git_dir_in_the_environment(tmp_path, monkeypatch, where):
    """GIT_DIR / GIT_WORK_TREE naming this repository's: annover follows git there. Naming another
    repository: refused in one line (exit 6), where annover made a root commit in an empty one, or,
    in one with commits, a version there (GIT_DIR alone: its tree plus annover's files) and removed
    this work tree's records as uncommitted; likewise a work tree above this one's (annover's files
    under other paths)."""
    repo = annover.init(tmp_path / "labels")
    root = repo.root
    repo.snapshot(ROUND1, config=CONFIG, key="data.ext_id", message="round 1")
    other = tmp_path / "other"
    git("init", "-q", str(other), cwd=tmp_path)
    if where.endswith("with-commits"):
        (other / "notes.txt").write_text("another project\n")
        git("add", "notes.txt", cwd=other)
        git("-c", "user.name=U", "-c", "user.email=u@example.com", "commit", "-q", "-m", "start", cwd=other)
    other_head = subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=other, capture_output=True).stdout
    (git_dir, work_tree), refused = GIT_ENV[where]
    for var, value in (("GIT_DIR", git_dir), ("GIT_WORK_TREE", work_tree)):
        if value is not None:
            monkeypatch.setenv(var, value if value == ".git" else str(tmp_path / value))
    p = run_cli("snapshot", "--from", ROUND2, "--key", "data.ext_id", "-m", "round 2", cwd=root)
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)
    if refused is None:
        assert p.returncode == 0, p.stderr
        assert git("log", "--format=%s", cwd=root).splitlines()[0] == "annover: round 2 (v2)"
        return
    assert p.returncode == 6, (p.stdout, p.stderr)
    _one_line_error(p, *refused)
    assert subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=other,
                          capture_output=True).stdout == other_head
    assert git("status", "--porcelain", cwd=root) == ""
    assert [v.message for v in annover.Repo(root).log()] == ["round 1"]


@pytest.mark.parametrize("folder", ["données ü", "数据"])
def test_repository_in_a_non_ascii_folder_of_a_git_repository(tmp_path, folder):
    """git quotes non-ASCII letters of paths it prints (core.quotePath, on by default): annover's
    repository in such a folder of a git repository read its own committed files as other names, and
    its second command removed .annover/HEAD and the records as uncommitted."""
    top = tmp_path / "project"
    git("init", "-q", str(top), cwd=tmp_path)
    git("commit", "-q", "--allow-empty", "-m", "start", cwd=top)
    repo = annover.init(top / folder)
    repo.snapshot(ROUND1, config=CONFIG, key="data.ext_id", message="round 1")
    v2 = annover.Repo(top / folder).snapshot(ROUND2, key="data.ext_id", message="round 2").version
    repo = annover.Repo(top / folder)
    assert repo.recover() == []
    assert [v.id for v in repo.log()] == [v2.id, repo.resolve("v1")]
    assert repo.reset("v1", dry_run=True).dropped == [v2.id]
    assert git("status", "--porcelain", cwd=top) == ""


def _work_tree_state(root: Path) -> "tuple[str, str, dict[str, bytes]]":
    """(git's HEAD commit, `git status --porcelain`, every file under .annover with its bytes: the
    working store's objects too; not the lock file nor HEAD's reflog)."""
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / ".annover").rglob("*"))
             if p.is_file() and p.name != "lock" and "logs" not in p.relative_to(root).parts}
    return git("rev-parse", "HEAD", cwd=root), git("status", "--porcelain", "--untracked-files=all", cwd=root), files


UNSIGNED = {"reset": ("reset", "v1", "--force"), "tag": ("tag", "best", "v1"), "tag-delete": ("tag", "-d", "old"),
            "merge-commit": ("merge", "relabel")}


@pytest.mark.parametrize("command", sorted(UNSIGNED))
def test_a_command_git_cannot_sign_writes_nothing(tmp_path, gitconfig, gnupg, command):
    """`annover reset --force` where git cannot sign pointed DVC at the older version's objects
    (.annover/objects.dvc, the working store) before git refused the commit: the next command put them
    back. Now it asks git first, as snapshot and revert do: exit 15, one line, nothing written. So
    does a merge git cannot fast-forward (a commit of the user's on the branch), which takes back
    the DVC pointer it wrote, as every commit git refuses does."""
    gnupg(False)
    repo = annover.init(tmp_path / "labels")
    root = repo.root
    repo.snapshot(ROUND1, config=CONFIG, key="data.ext_id", message="round 1")
    if command == "merge-commit":
        git("switch", "-q", "-c", "relabel", cwd=root)
    repo.snapshot(ROUND2, key="data.ext_id", message="round 2")
    repo.tag("old", "v1")
    if command == "merge-commit":
        git("switch", "-q", "main", cwd=root)
        (root / "notes.txt").write_text("the user's own file\n")
        git("add", "notes.txt", cwd=root)
        git("-c", "user.name=U", "-c", "user.email=u@example.com", "commit", "-q", "-m", "notes", cwd=root)
        annover.Repo(root).recover(view=True)  # the working store: v1's objects, not those git switch left
    gitconfig("commit.gpgSign", "true")
    before = _work_tree_state(root)
    p = run_cli(*UNSIGNED[command], cwd=root)
    assert p.returncode == 15, (p.stdout, p.stderr)
    _one_line_error(p, "commit.gpgSign", "nothing committed")
    assert _work_tree_state(root) == before
    assert git("status", "--porcelain", cwd=root) == ""


REFUSED_REF = {"snapshot": ("snapshot", "--from", ROUND1, "--key", "data.ext_id", "-m", "round 3"),
               "revert": ("revert",), "reset": ("reset", "v1", "--force"), "tag": ("tag", "best", "v1")}


@pytest.mark.parametrize("command", sorted(REFUSED_REF))
def test_a_reference_transaction_hook_that_refuses(tmp_path, gitconfig, command):
    """git's `reference-transaction` hook refusing the move of HEAD ("prepared" state): exit 15 in one
    line, and the command takes back what it wrote for the commit (the version record, objects.dvc,
    the working store's objects), as it does for a write the disk refuses: `git status` is clean, not
    only after the next command's repair."""
    repo = annover.init(tmp_path / "labels")
    root = repo.root
    repo.snapshot(ROUND1, config=CONFIG, key="data.ext_id", message="round 1")
    repo.snapshot(ROUND2, config=CONFIG, key="data.ext_id", message="round 2")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "reference-transaction").write_text('#!/bin/sh\n[ "$1" = prepared ] && exit 1\nexit 0\n')
    (hooks / "reference-transaction").chmod(0o755)
    before = _work_tree_state(root)
    gitconfig("core.hooksPath", str(hooks))
    p = run_cli(*REFUSED_REF[command], cwd=root)
    assert p.returncode == 15, (p.stdout, p.stderr)
    _one_line_error(p)
    assert git("status", "--porcelain", cwd=root) == ""
    assert _work_tree_state(root) == before
