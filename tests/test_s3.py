"""An S3 DVC remote (moto's server on 127.0.0.1): push, clone, pull, load; keys stay local."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import annover

from .conftest import EXAMPLES

pytestmark = pytest.mark.s3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """moto's S3 server on a free port of 127.0.0.1 (``env``: its environment), once it answers:
    (the process, its endpoint URL). The caller ends the process."""
    port = _free_port()
    exe = Path(sys.executable).with_name("moto_server")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "moto.server"]
    proc = subprocess.Popen([*cmd, "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail("moto server did not start")


@pytest.fixture(scope="module")
def s3_server():
    if importlib_missing("moto") or importlib_missing("dvc_s3"):
        pytest.skip("moto[server] and dvc-s3 are test dependencies: pip install -e '.[test]'")
    proc, url = start_moto()
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def importlib_missing(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is None


@pytest.fixture
def s3_env(monkeypatch, s3_server):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "annover-test-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "annover-test-secret-0123456789")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import boto3

    bucket = f"annover-{os.getpid()}-{time.monotonic_ns()}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=bucket)
    return s3_server, bucket


def test_push_clone_pull_load_over_s3(tmp_path, monkeypatch, s3_env):
    endpoint, bucket = s3_env
    repo = annover.init(tmp_path / "labels", remote=f"s3://{bucket}/store", remote_options={"endpointurl": endpoint})
    monkeypatch.chdir(repo.root)
    for f in ("labeling.xml", "round1.json", "round2.json"):
        shutil.copy(EXAMPLES / f, f)
    v1 = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="r1").version
    v2 = repo.snapshot("round2.json", key="data.ext_id", message="r2").version
    assert repo.status().pushed is False
    repo.push("v1")
    repo.push("v2")
    assert repo.status().pushed is True
    import boto3

    keys = {o["Key"] for o in boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=bucket)["Contents"]}
    md5s = {k.split("/")[-2] + k.split("/")[-1] for k in keys}
    assert {r.md5 for r in repo.objects_of(v1)} | {r.md5 for r in repo.objects_of(v2)} <= md5s
    # a training machine: clone, checkout v1, dvc pull, load
    clone = tmp_path / "train"
    subprocess.run(["git", "clone", "-q", str(repo.root), str(clone)], check=True)
    subprocess.run(["git", "checkout", "-q", "v1"], cwd=clone, check=True)
    dvc = Path(sys.executable).with_name("dvc")
    subprocess.run([str(dvc), "pull", "-q"], cwd=clone, check=True)
    assert annover.Repo(clone).read_table("HEAD").equals(repo.read_table("v1"))
    # back on main (HEAD = v2): annover pull of one version at a time
    subprocess.run(["git", "checkout", "-q", "main"], cwd=clone, check=True)
    c = annover.Repo(clone)
    c.pull("v2")
    assert c.read_table("v2").equals(repo.read_table("v2"))
    assert c.read_table("v1").equals(repo.read_table("v1"))
    # the credentials never land in the repository or its history
    history = subprocess.run(["git", "log", "-p", "--all"], cwd=repo.root, capture_output=True, text=True).stdout
    tracked = subprocess.run(["git", "grep", "-I", "annover-test-secret", "HEAD"], cwd=repo.root,
                             capture_output=True, text=True)
    assert "annover-test-secret" not in history and tracked.stdout == ""


def test_a_push_sees_what_dvc_wrote_beside_a_listed_folder(tmp_path, s3_env):
    """s3fs caches the listing of each two-letter folder it read; an object DVC writes there
    afterwards (through its own client) is seen by annover's next check of the remote, not
    hidden by that cache (a version whose listing shares its first two letters with one of
    its files' was refused after a complete push)."""
    import boto3

    from annover.store.dvc import Dvc, _on_remote

    endpoint, bucket = s3_env
    repo = annover.init(tmp_path / "labels", remote=f"s3://{bucket}/store", remote_options={"endpointurl": endpoint})
    s3 = boto3.client("s3", endpoint_url=endpoint)
    first, second = "ab" + "0" * 30, "ab" + "1" * 30 + ".dir"
    s3.put_object(Bucket=bucket, Key=f"store/files/md5/ab/{first[2:]}", Body=b"x")
    with Dvc(repo.root)._remote(None, 30) as (_, odb):
        folder = odb.fs.parent(odb.oid_to_path(first))
        assert odb.fs.ls(folder)  # the folder's listing, now cached
        s3.put_object(Bucket=bucket, Key=f"store/files/md5/ab/{second[2:]}", Body=b"[]")
        assert _on_remote(odb, [first, second]) == {first, second}
        assert _on_remote(odb, [second, "cd" + "2" * 30]) == {second}


def test_a_load_by_url_tells_a_remote_it_cannot_read_from_a_version_not_pushed(tmp_path, monkeypatch, s3_env):
    """Loading by URL (a bare git repository; objects from the S3 remote): without keys it is a
    remote error (exit 10) naming where keys come from; a version not pushed is exit 8."""
    endpoint, bucket = s3_env
    repo = annover.init(tmp_path / "labels", remote=f"s3://{bucket}/store", remote_options={"endpointurl": endpoint})
    monkeypatch.chdir(repo.root)
    for f in ("labeling.xml", "round1.json", "round2.json"):
        shutil.copy(EXAMPLES / f, f)
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="r1")
    repo.snapshot("round2.json", key="data.ext_id", message="r2")
    repo.push("v1")
    bare = tmp_path / "labels.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.root), str(bare)], check=True)
    monkeypatch.chdir(tmp_path)
    assert annover.load("v1", repo=str(bare)).equals(repo.read_table("v1"))
    with pytest.raises(annover.errors.ObjectError, match="pushed"):
        annover.load("v2", repo=str(bare))
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(annover.errors.RemoteError) as e:
        annover.load("v1", repo=str(bare))
    assert e.value.exit_code == 10 and "AWS_ACCESS_KEY_ID" in e.value.hint
