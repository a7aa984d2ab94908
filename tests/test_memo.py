"""What `status` remembers of each commit (`annover/store/memo.py`) in a repository whose history
is mostly not annover's: the memo held a line for every commit `git rev-list` gave, so a code
project of 50,000 commits paid 50,000 lines in the file, read and hashed on every status. It now
holds the commits that added version records and the tips every diffed commit is reachable from;
whatever the branches do, it gives what git gives afresh."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import annover
from annover.store import memo

from .test_status_reads import _diffs, _fresh_status, _git_spy, _repo, _snapshot, added_records


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def code_commits(root: Path, n: int, tag: str = "") -> None:
    """``n`` commits that are not annover's (a file of ``code/`` changed each) on the branch checked
    out, made by one ``git fast-import``, and checked out."""
    ref, head = _git(root, "symbolic-ref", "HEAD").strip(), _git(root, "rev-parse", "HEAD").strip()
    now = int(time.time())
    chunks = []
    for i in range(n):
        msg, body = f"code {tag}{i}\n".encode(), f"{tag}{i}\n".encode()
        chunks.append(f"commit {ref}\nmark :{i + 1}\ncommitter Dev <dev@example.invalid> {now} +0000\n".encode()
                      + f"data {len(msg)}\n".encode() + msg + (f"from :{i}\n" if i else f"from {head}\n").encode()
                      + f"M 644 inline code/f{i % 10}.txt\ndata {len(body)}\n".encode() + body + b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(chunks), check=True)
    _git(root, "reset", "-q", "--hard")


def _memo_file(root: Path) -> Path:
    return annover.Repo(root).scm.git_dir / memo.MEMO_FILE


def test_the_memo_does_not_grow_with_commits_not_annovers(tmp_path, monkeypatch):
    """2,000 code commits after two versions: the file held 2,000 lines more; now a line per commit
    that added a version and a tip. The next version's commit is the only one diffed."""
    _repo(tmp_path, monkeypatch)
    root = tmp_path / "r"
    code_commits(root, 2000)
    out = annover.Repo(root).status(remote=False)
    assert out.versions == 2 and out == _fresh_status(root, remote=False)
    annover.Repo(root).status(remote=False)
    lines = _memo_file(root).read_text().splitlines()
    assert len(lines) <= 6, len(lines)  # the header, v1's and v2's commits, a tip or two
    _snapshot(annover.Repo(root), tmp_path, "b")
    code_commits(root, 500, "more")
    calls = _git_spy(monkeypatch)
    out = annover.Repo(root).status(remote=False)
    assert out.versions == 3
    (_, stdin), = _diffs(calls)
    assert len(stdin.split()) == 501  # the version's commit and the code commits after it, once
    calls.clear()
    assert annover.Repo(root).status(remote=False) == out and _diffs(calls) == []
    assert len(_memo_file(root).read_text().splitlines()) <= 7
    assert out == _fresh_status(root, remote=False)


def _same_as_git(root: Path) -> None:
    """The memo, as it was left and then with nothing remembered, gives the walks git gives afresh."""
    repo = annover.Repo(root)
    vdir = f"{repo.rel(repo.dir / 'versions')}/"
    for revs in (("HEAD", "--tags"), ("--tags", "--not", "HEAD"), ("--all", "--reflog")):
        want = list(added_records(repo, *revs, "--", vdir).items())
        m = memo.CommitMemo(repo.scm, vdir, repo.rel(repo.dir / "objects.dvc"))
        assert list(m.added(*revs).items()) == want, revs
        m.save()
    assert annover.Repo(root).status(remote=False) == _fresh_status(root, remote=False)


def test_branches_rebased_reset_and_deleted_give_what_git_gives(tmp_path, monkeypatch):
    """New commits on another branch, a branch rebased onto new code commits, a reset back past a
    version and a deleted branch: the tips seen before reach none of the new commits, or reach
    commits no ref reaches any more; every answer is git's."""
    _repo(tmp_path, monkeypatch)
    root = tmp_path / "r"
    code_commits(root, 30)
    _same_as_git(root)
    main = _git(root, "symbolic-ref", "--short", "HEAD").strip()
    _git(root, "switch", "-q", "-c", "side", "v1")
    _snapshot(annover.Repo(root), tmp_path, "a")  # v3 on the side branch, off v1
    code_commits(root, 20, "side")
    _same_as_git(root)
    _git(root, "switch", "-q", main)
    code_commits(root, 20, "main")
    _same_as_git(root)
    _git(root, "switch", "-q", "side")  # the side rewritten: its version's commit amended, new code on it
    _git(root, "reset", "-q", "--hard", "HEAD~20")
    _git(root, "commit", "-q", "--amend", "-m", "round a, amended")
    code_commits(root, 20, "again")
    _same_as_git(root)
    _git(root, "switch", "-q", main)
    _git(root, "reset", "-q", "--hard", "HEAD~51")  # past the code commits and v2's commit (its tag stays)
    _same_as_git(root)
    _git(root, "branch", "-q", "-D", "side")
    _git(root, "reflog", "expire", "--expire=now", "--expire-unreachable=now", "--all")
    _same_as_git(root)
    _snapshot(annover.Repo(root), tmp_path, "a")
    _same_as_git(root)


def test_a_shallow_clone_of_a_long_history_remembers_no_tip(tmp_path, monkeypatch):
    """A shallow clone's boundary shows every record as added; a tip recorded there would, once
    the history is fetched, reach commits never diffed: none is recorded until it is fetched."""
    _repo(tmp_path, monkeypatch)
    root = tmp_path / "r"
    code_commits(root, 50)
    _snapshot(annover.Repo(root), tmp_path, "b")
    code_commits(root, 50, "after")
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "60", f"file://{root}", str(clone)], check=True)
    for _ in range(2):
        assert annover.Repo(clone).status(remote=False) == _fresh_status(clone, remote=False)
        annover.Repo(clone).status(remote=False)
    assert not [ln for ln in _memo_file(clone).read_text().splitlines() if ln.startswith("^")]
    _git(clone, "fetch", "-q", "--unshallow", "--tags")
    out = annover.Repo(clone).status(remote=False)
    assert out.versions == 3 and out == _fresh_status(clone, remote=False)
    assert [ln for ln in _memo_file(clone).read_text().splitlines() if ln.startswith("^")]


def test_with_a_replace_ref_nothing_is_remembered(tmp_path, monkeypatch):
    """`git replace` changes what a commit id shows: the memo is neither read nor written."""
    _repo(tmp_path, monkeypatch)
    root = tmp_path / "r"
    code_commits(root, 20)
    annover.Repo(root).status(remote=False)
    before = _memo_file(root).read_bytes()
    v2 = _git(root, "rev-list", "-n", "1", "v2").strip()
    _git(root, "replace", "--graft", v2)  # v2's commit as a root: it adds every record there
    out = annover.Repo(root).status(remote=False)
    assert out.versions == 2
    _snapshot(annover.Repo(root), tmp_path, "b")
    assert annover.Repo(root).status(remote=False).versions == 3
    assert _memo_file(root).read_bytes() == before
    _same_as_git(root)
