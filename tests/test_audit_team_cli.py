"""A team's day with git and DVC, as two users see it on the command line: what each command
says, and that it says what happened (not what would have). Real git, real DVC, real files."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import annover

from .conftest import git, run_cli
from .test_merge import BASE, Labels, _edit, _init, two_clones


def _two_clones_that_relabeled_one_answer(tmp_path, monkeypatch) -> Labels:
    """Alice and Bob each made a v2 from one v1, both changing alice@x.org's answer on t1, each
    their own way; Bob's v2 is on no git remote, and Bob has fetched Alice's (as origin/a)."""
    return two_clones(tmp_path, monkeypatch, _edit(BASE, t1=("one", {"alice@x.org": "negative"})))[1]


def test_a_merge_stopped_by_conflicts_says_it_would_renumber_not_that_it_did(tmp_path, monkeypatch):
    """The merge stops at the conflict (exit 16, nothing written): Bob's v2 keeps its number, so
    the line about it must say what the merge would do, as --dry-run says it."""
    bob = _two_clones_that_relabeled_one_answer(tmp_path, monkeypatch)
    before = bob.commit()
    p = run_cli("merge", "origin/a", cwd=bob.root)
    assert p.returncode == 16, p.stderr
    assert bob.commit() == before and annover.Repo(bob.root).name_of(annover.Repo(bob.root).head()) == "v2"
    assert "would renumber this branch's v2 as v3" in p.stderr, p.stderr
    assert "renumbered this branch's" not in p.stderr, p.stderr
    p = run_cli("merge", "origin/a", "--theirs", cwd=bob.root)  # settled: now it did
    assert p.returncode == 0, p.stderr
    assert "renumbered this branch's v2 as v3" in p.stderr, p.stderr


def _on_a_terminal(args: list[str], cwd: Path) -> tuple[subprocess.Popen, int]:
    """``annover ARGS`` with stdin and stderr on a pseudo-terminal (as a user at a prompt types)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "annover", *args], cwd=cwd, stdin=slave, stderr=slave,
                         stdout=subprocess.PIPE, env={**os.environ, "TERM": "xterm"})
    os.close(slave)
    return p, master


def _read_until(master: int, text: str, timeout: float = 60) -> str:
    shown, end = "", time.monotonic() + timeout
    while text not in shown and time.monotonic() < end:
        if select.select([master], [], [], 0.5)[0]:
            try:
                shown += os.read(master, 4096).decode(errors="replace")
            except OSError:
                break
    assert text in shown, shown
    return shown


def test_reset_drops_only_what_the_user_said_yes_to(two_rounds, tmp_path):
    """`annover reset v1` asks about dropping v2; while the question waits, a teammate's command
    (or another terminal) makes v3. The yes was for v2 alone: v3 must not go with it, nor be
    left unsaid. The reset stops (exit 9, as any write that finds HEAD moved) and drops nothing."""
    repo, v1, v2 = two_rounds
    p, master = _on_a_terminal(["reset", "v1"], repo.root)
    try:
        _read_until(master, "Drop 1 version(s)")
        data = json.loads((repo.root / "round2.json").read_text())
        data[0]["data"]["text"] = "changed while the question waited"
        (tmp_path / "round3.json").write_text(json.dumps(data))
        v3 = annover.Repo(repo.root).snapshot(str(tmp_path / "round3.json"), message="round 3").version
        os.write(master, b"y\n")
        shown = ""
        try:
            while chunk := os.read(master, 4096):
                shown += chunk.decode(errors="replace")
        except OSError:
            pass
        code = p.wait(timeout=60)
    finally:
        os.close(master)
    after = annover.Repo(repo.root)
    assert after.head() == v3.id, shown
    assert {after.resolve("v2"), after.resolve("v3")} == {v2.id, v3.id}
    assert code == 9, shown
    assert "v3" in shown and "run" in shown, shown


def test_a_version_fetched_by_git_but_not_pulled_names_the_pull_that_brings_it(tmp_path, monkeypatch):
    """Bob fetched Alice's branch with git but not its objects (the README's `annover pull
    origin/a` left out): merge and revert --to say which pull brings them, not `annover pull <rev>`."""
    _, bob = two_clones(tmp_path, monkeypatch, pull=False)
    bob_root = bob.root
    before = bob.commit()
    for args in (["merge", "origin/a"], ["merge", "origin/a", "--dry-run"], ["revert", "--to", "origin/a"]):
        p = run_cli(*args, cwd=bob_root)
        assert p.returncode == 8, (args, p.stderr)
        assert "annover pull origin/a" in p.stderr and "<rev>" not in p.stderr, (args, p.stderr)
        assert p.stderr.count("\n") == 1 and bob.commit() == before, (args, p.stderr)
    assert run_cli("pull", "origin/a", cwd=bob_root).returncode == 0
    assert run_cli("merge", "origin/a", cwd=bob_root).returncode == 0


def test_show_says_what_a_merge_and_a_revert_were_made_of(tmp_path, monkeypatch):
    """`annover show` of a merge names the branch merged, both versions, the base and how the
    conflicts were settled (as `git show` of a merge commit names its parents); of a revert, the
    version whose content it holds and the one it undid. It said `Origin:  merge` alone."""
    bob = _two_clones_that_relabeled_one_answer(tmp_path, monkeypatch)
    assert run_cli("merge", "origin/a", "--theirs", cwd=bob.root).returncode == 0
    repo = annover.Repo(bob.root)
    ours, theirs, base = (repo.name_of(repo.resolve(r), with_id=True) for r in ("v3", "v2", "v1"))
    shown = run_cli("show", cwd=bob.root, check=True).stdout
    assert f"Origin:  merge of origin/a {theirs} into {ours} against {base}; 1 conflict(s) taken from theirs\n" \
        in shown, shown
    assert run_cli("revert", "-q", cwd=bob.root).returncode == 0
    shown = run_cli("show", cwd=bob.root, check=True).stdout
    merged = repo.name_of(repo.resolve("v4"), with_id=True)
    assert f"Origin:  revert: the content of {ours}, undoing {merged}\n" in shown, shown


def test_status_of_a_head_pushed_by_git_alone_sends_no_one_to_a_pull_or_push_that_fails(tmp_path, monkeypatch):
    """Alice made v2 and ran `git push` but not `annover push`; Bob pulled it with git. Bob's
    status said `pushed: no, and its objects are not here either`, then `(run annover push)` (exit 8
    here: nothing to send) and `missing locally: ... (run annover pull)` (exit 10: not on the
    remote). The lines now agree: the objects are on neither side, HEAD's are pushed from Alice's."""
    alice = _init(tmp_path, monkeypatch, "alice")
    alice.snap(BASE, "base")
    assert run_cli("push", cwd=alice.root).returncode == 0
    bob_root = tmp_path / "bob"
    git("clone", "-q", str(alice.root), str(bob_root), cwd=tmp_path)
    alice.snap(_edit(BASE, t1=("one", {"alice@x.org": "neutral"})), "alice's round, not annover-pushed")
    assert run_cli("pull", cwd=bob_root).returncode == 0  # v1's objects
    git("pull", "-q", "origin", "main", cwd=bob_root)
    p = run_cli("status", cwd=bob_root)
    assert p.returncode == 0, p.stderr
    assert "not here either" in p.stdout, p.stdout
    assert "(run `annover pull`)" not in p.stdout and "(run `annover push`)" not in p.stdout, p.stdout
    assert "missing locally: " in p.stdout and "(not on the remote either)" in p.stdout, p.stdout
    assert run_cli("push", cwd=bob_root).returncode == 8 and run_cli("pull", cwd=bob_root).returncode == 10
    p = run_cli("status", cwd=alice.root)  # where the objects are, the hint stays
    assert "versions not pushed: 1 of 2 (run `annover push`)" in p.stdout, p.stdout
