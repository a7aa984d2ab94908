"""``annover gc --force`` beside a plain ``dvc pull`` (not annover's): gc removes the temporary files a pull
cut short left in the DVC cache (``ab/.NAME.tmp``), which a DVC command running at that moment is writing.
DVC's own commands guard this with DVC's repository lock (``.dvc/tmp/lock``, taken by ``dvc pull`` and
``dvc gc``): gc --force now holds it too. Real processes both ways: gc refuses (exit 9, one line, nothing
removed) while DVC's lock is held by its own lock class, as a DVC command holds it; and a real ``dvc pull``
started while gc holds it refuses as it does beside ``dvc gc``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dvc.repo

from annover.errors import LockError
from annover.repo.remote import pull_lock

from .conftest import git
from .test_daily_fixes_2 import _partial_download, _two_versions
from .test_daily_remote import ok

DVC = Path(sys.executable).with_name("dvc")


def _annover(root: Path, *args: str, wait: str) -> subprocess.Popen:
    env = {**os.environ, "ANNOVER_LOCK_TIMEOUT": wait}
    return subprocess.Popen([sys.executable, "-m", "annover", *args], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _cache(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in (root / ".dvc" / "cache").rglob("*") if p.is_file()}


def test_gc_force_refuses_while_a_dvc_command_holds_dvcs_lock(tmp_path, monkeypatch):
    root = _two_versions(tmp_path, monkeypatch)
    ok("reset", "v1", "--force")  # v2's objects are garbage: gc --force would remove them
    left = _partial_download(root)
    before = _cache(root)
    with dvc.repo.Repo(str(root)) as d, d.lock:  # as `dvc pull` holds it while it downloads
        gc = _annover(root, "gc", "--force", wait="0.2")
        out, err = gc.communicate(timeout=120)
    assert gc.returncode == LockError.exit_code, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "a DVC command (dvc pull, dvc gc...) holds DVC's lock (.dvc/tmp/lock)" in err, err
    assert left.exists() and _cache(root) == before
    done = _annover(root, "gc", "--force", "--json", wait="0.2")  # the lock released: gc goes on
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    assert json.loads(out)["partial_downloads"] == 1 and not left.exists() and _cache(root) < before


def test_dvc_pull_refuses_while_gc_force_holds_dvcs_lock(tmp_path, monkeypatch):
    """gc is held mid-way by an annover pull in another worktree of the repository (it waits for that
    worktree's pull lock once it holds DVC's lock here); a `dvc pull` here then gets DVC's own refusal."""
    root = _two_versions(tmp_path, monkeypatch)
    ok("push")
    other = tmp_path / "other"
    git("worktree", "add", "-q", str(other), cwd=root)
    lock = root / ".dvc" / "tmp" / "lock"
    with pull_lock(other / ".annover"):  # as `annover pull` there holds it while it downloads
        gc = _annover(root, "gc", "--force", wait="120")
        try:
            deadline = time.monotonic() + 60
            while not (lock.is_file() and lock.read_text().split() == [str(gc.pid)]):
                assert gc.poll() is None and time.monotonic() < deadline, gc.communicate()
                time.sleep(0.05)
            pull = subprocess.run([str(DVC), "pull"], cwd=root, capture_output=True, text=True, timeout=120)
        finally:
            still_running = gc.poll() is None
    out, err = gc.communicate(timeout=120)
    assert still_running and gc.returncode == 0, err
    assert pull.returncode != 0 and "Unable to acquire lock" in pull.stderr, pull.stderr
    after = subprocess.run([str(DVC), "pull"], cwd=root, capture_output=True, text=True, timeout=120)
    assert after.returncode == 0, after.stderr  # gc done: DVC's lock is free again
