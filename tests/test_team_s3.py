"""A teammate's clone whose S3 DVC remote names a bucket that does not exist (a typo in
`dvc remote add --local`, a bucket not made yet): moto's S3 server on 127.0.0.1, real git and DVC."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import annover

from .conftest import EXAMPLES, run_cli
from .test_s3 import s3_env, s3_server  # noqa: F401  (fixtures: moto's S3 server on 127.0.0.1)

pytestmark = pytest.mark.s3


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
