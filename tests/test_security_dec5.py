"""Hostile and careless input to what landed on Dec 5 (COCO/HF export --images, YOLO nc and
flip_idx, tag --prune asking git remotes): each is a one-line error with the documented exit code,
or is read safely; nothing runs that the user did not ask for. Real git, real files."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

import annover

from tests.test_yolo_ultralytics import _folder, _tree, empty_repo  # noqa: F401 (a fixture)

#: the address space a command run here may take: a bug that asks for terabytes fails fast, not the machine
_MEMORY = 3 * 2**30


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY, _MEMORY))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([sys.executable, "-m", "annover", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120, preexec_fn=_capped)


def _refused(root: Path, code: int, args: list[str], *says: str) -> None:
    """``annover ARGS`` in ``root`` is exit ``code``, one line naming what is wrong, no traceback, nothing written."""
    before = _tree(root)
    p = _cli(*args, cwd=root)
    assert p.returncode == code, p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr and p.stderr.startswith("Error: "), p.stderr
    for s in says:
        assert s in p.stderr, p.stderr
    assert _tree(root) == before


# ---------------------------------------------------------------------------
# YOLO data.yaml: nc without names


def test_a_huge_nc_without_names_is_refused_not_a_memory_error(empty_repo, tmp_path):  # noqa: F811
    # was: `nc: 1000000000000` made a list of 10**12 class names: MemoryError (exit 1) or the
    # machine's memory exhausted; the 24 bytes of data.yaml asked for terabytes
    src = _folder(tmp_path / "y", {"data.yaml": "nc: 1000000000000\n", "labels/a.txt": "0 0.5 0.5 0.2 0.2\n"})
    _refused(empty_repo, 3, ["snapshot", "--from", str(src), "--format", "yolo", "-m", "bad"],
             f"{src / 'data.yaml'}: nc is 1000000000000", "write names")


# ---------------------------------------------------------------------------
# tag --prune asks the git remotes: a remote's name is no option of git's


def test_a_remote_named_like_an_option_runs_nothing(tmp_path, monkeypatch):
    """`git remote add -- --upload-pack=PROG URL` is a remote git accepts. Was: prune (even -n) ran
    `git ls-remote --tags --upload-pack=PROG`, so PROG ran; now the name is the repository argument
    (after `--`), and the remote is asked as any other."""
    from tests.test_team_index import _stray

    lab, v2 = _stray(tmp_path, monkeypatch)
    ran = tmp_path / "ran"
    prog = tmp_path / "prog.sh"
    prog.write_text(f"#!/bin/sh\ntouch {ran}\nexit 1\n")
    prog.chmod(0o755)
    name = f"--upload-pack={prog}"
    lab.git("remote", "rename", "--", "origin", name)
    assert lab.git("remote").split() == [name]
    p = _cli("tag", "--prune", "-n", "--json", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    assert not ran.exists()
    out = json.loads(p.stdout)
    assert out["unasked"] == [] and [(t["tag"], t["remote"]) for t in out["kept"]] == [("v2", name), ("best", name)]


def test_a_remote_url_password_is_not_shown_when_it_cannot_be_asked(tmp_path, monkeypatch):
    """A git remote whose URL holds USER:PASSWORD@ and does not answer: the warning names the remote,
    not the password (a guard: git's own message leaves the password out)."""
    from tests.test_team_index import _stray

    lab, _ = _stray(tmp_path, monkeypatch)
    lab.git("remote", "set-url", "origin", "https://alice:s3cr3t-pw@127.0.0.1:9/repo.git")
    p = _cli("tag", "--prune", "-n", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    assert "could not ask git remote origin" in p.stderr and "s3cr3t" not in p.stderr + p.stdout, p.stderr
