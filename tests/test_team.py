"""Two users, two clones, one bare git remote and one DVC remote (a folder), following the
README's team and remote sections: what each user sees at each step. Real git, real DVC."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from annover.cli import run

from .conftest import EXAMPLES, git


@pytest.fixture(autouse=True)
def _quiet_dvc(monkeypatch):
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("ANNOVER_REMOTE_TIMEOUT", "60")


def annover_in(where: Path, *args: str) -> tuple[int, str, str]:
    """The CLI in process, in folder ``where``: exit code, stdout, stderr."""
    with CliRunner().isolation() as (out, err, _):
        with pytest.MonkeyPatch.context() as m:
            m.chdir(where)
            code = run(list(args))
        return code, out.getvalue().decode(), err.getvalue().decode()


def ok(where: Path, *args: str) -> tuple[str, str]:
    code, out, err = annover_in(where, *args)
    assert code == 0, f"annover {' '.join(args)} -> {code}: {err}"
    return out, err


def porcelain(where: Path) -> str:
    """git status of the work tree, ignored files left out (what a user sees as changed)."""
    return git("status", "--porcelain", cwd=where)


@dataclass
class Team:
    origin: Path  # the bare git remote
    remote: Path  # the DVC remote
    a: Path
    b: Path
    data: Path  # the input files, outside both clones

    def clone(self, name: str) -> Path:
        dest = self.origin.parent / name
        subprocess.run(["git", "clone", "-q", str(self.origin), str(dest)], check=True)
        git("config", "user.email", f"{name}@example.com", cwd=dest)
        git("config", "user.name", name, cwd=dest)
        return dest


@pytest.fixture
def team(tmp_path) -> Team:
    """User A made v1 (tagged ``reviewed``), pushed it with ``annover push`` and ``git push
    --tags``; user B cloned the git remote and has not pulled anything yet."""
    origin, remote, data = tmp_path / "origin.git", tmp_path / "dvc-remote", tmp_path / "data"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    remote.mkdir()
    data.mkdir()
    for f in ("labeling.xml", "round1.json", "round2.json"):
        shutil.copy(EXAMPLES / f, data / f)
    a = tmp_path / "A"
    ok(tmp_path, "init", str(a), "--remote", str(remote))
    git("config", "user.email", "a@example.com", cwd=a)
    git("config", "user.name", "A", cwd=a)
    git("remote", "add", "origin", str(origin), cwd=a)
    ok(a, "snapshot", "--from", str(data / "round1.json"), "--config", str(data / "labeling.xml"),
       "--key", "data.ext_id", "-m", "round 1")
    ok(a, "tag", "reviewed")
    ok(a, "push")
    git("push", "-q", "-u", "origin", "main", "--tags", cwd=a)
    t = Team(origin, remote, a, tmp_path / "B", data)
    t.clone("B")
    return t


def test_a_snapshot_in_a_clone_that_has_not_pulled_stops_before_writing(team):
    """B snapshots right after cloning: it read the whole input, wrote objects and a version
    record, then stopped (exit 8) naming a manifest; the record stayed in the work tree (`git
    status`: untracked) until the next command said it removed it. Now: refused first, nothing
    written, naming HEAD's version and `annover pull`."""
    b = team.b
    before = porcelain(b)
    code, out, err = annover_in(b, "snapshot", "--from", str(team.data / "round2.json"), "-m", "round 2")
    assert code == 8 and out == "", err
    head = json.loads(ok(b, "status", "--no-remote", "--json")[0])["head"]
    assert err.startswith(f"Error: HEAD's version v1 ({head[:12]}) is not pulled here"), err
    assert "run `annover pull`" in err and len(err.strip().splitlines()) == 1
    assert porcelain(b) == before == "" and len(list((b / ".annover" / "versions").iterdir())) == 1
    ok(b, "pull")
    out, err = ok(b, "snapshot", "--from", str(team.data / "round2.json"), "-m", "round 2")
    assert "recovered" not in err and "v2" in err
