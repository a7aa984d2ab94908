"""A teammate's day beside the happy path: a clone whose S3 DVC remote names a bucket that does not
exist (a typo in `dvc remote add --local`, a bucket not made yet: moto's S3 server on 127.0.0.1),
a merge stopped at conflicts. Real git and DVC."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import annover

from .conftest import EXAMPLES, run_cli
from .test_audit_team_cli import _two_clones_that_relabeled_one_answer
from .test_s3 import s3_env, s3_server  # noqa: F401  (fixtures: moto's S3 server on 127.0.0.1)

@pytest.mark.s3
def test_a_pull_from_a_bucket_that_does_not_exist_says_so_not_that_nobody_pushed(tmp_path, s3_env):
    """`annover status` and `push` said "The specified bucket does not exist"; `annover pull` said
    "3 version(s) not on the remote — push them from a clone that has them", sending the user to a
    teammate whose push was fine. It now names the bucket (exit 10), and nothing is fetched."""
    endpoint, bucket = s3_env
    a = annover.init(tmp_path / "A", remote=f"s3://{bucket}/store", remote_options={"endpointurl": endpoint})
    a.snapshot(EXAMPLES / "round1.json", config=EXAMPLES / "labeling.xml", key="data.ext_id", message="r1")
    a.push()
    b = tmp_path / "B"
    subprocess.run(["git", "clone", "-q", str(a.root), str(b)], check=True)
    dvc = Path(sys.executable).with_name("dvc")
    subprocess.run([str(dvc), "remote", "modify", "--local", "annover", "url", f"s3://{bucket}-typo/store"], cwd=b,
                   check=True)
    for cmd in ("pull", "status", "push"):
        p = run_cli(cmd, cwd=b)
        assert p.returncode == 10 and "bucket" in p.stderr and "does not exist" in p.stderr, (cmd, p.stderr)
        assert "push them from" not in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert not list((b / ".dvc" / "cache").rglob("*.dir"))
    subprocess.run([str(dvc), "remote", "modify", "--local", "annover", "url", f"s3://{bucket}/store"], cwd=b,
                   check=True)
    assert run_cli("pull", cwd=b).returncode == 0
    assert annover.Repo(b).read_table("v1").equals(a.read_table("v1"))


def test_a_merge_stopped_by_conflicts_names_every_way_on_in_its_error(tmp_path, monkeypatch):
    """`annover merge origin/a -q` shows the error line alone: it said "rerun with --ours or --theirs
    ... (or make the sides agree in a new version first)", leaving out --resolve FILE, the way to take
    a side task by task that --dry-run and `merge --abort` name."""
    bob = _two_clones_that_relabeled_one_answer(tmp_path, monkeypatch)
    p = run_cli("merge", "origin/a", "-q", cwd=bob.root)
    assert p.returncode == 16, p.stderr
    error = [ln for ln in p.stderr.splitlines() if ln.startswith("Error:")]
    assert len(error) == 1 and "--ours or --theirs" in error[0] and "--resolve FILE" in error[0], p.stderr
