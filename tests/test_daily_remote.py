"""The daily loop with a remote (issue 11): a default repository a clone can `dvc pull`, push and
pull like git, status against an unreachable remote, the demo's temp folder, and reading a
version in a clone without annover. Real git, real DVC, a local folder remote and moto's S3."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import annover
from annover.cli import run
from annover.errors import ObjectError, RemoteError, RemoteUnreachableError
from annover.store.dvc import endpoint as dvc_endpoint
from click.testing import CliRunner

from .conftest import EXAMPLES, ROOT, git, run_cli
from .test_s3 import s3_env, s3_server  # noqa: F401  (fixtures: moto's S3 server on 127.0.0.1)

DVC = Path(sys.executable).with_name("dvc")
STORE = ".annover"


@pytest.fixture(autouse=True)
def _patient_remote(monkeypatch):
    """Two busy cores can keep moto's first answer past the default 5 s: only the timeout tests
    (which pass --timeout) are about the wait."""
    monkeypatch.setenv("ANNOVER_REMOTE_TIMEOUT", "60")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")


def invoke(*args: str) -> tuple[int, str, str]:
    """The CLI in process through `run` (its real error handler): exit code, stdout, stderr."""
    with CliRunner().isolation() as (out, err, _):
        code = run(list(args))
        return code, out.getvalue().decode(), err.getvalue().decode()


def ok(*args: str) -> tuple[str, str]:
    code, out, err = invoke(*args)
    assert code == 0, f"annover {' '.join(args)} -> {code}: {err}"
    return out, err


def as_json(*args: str) -> dict:
    return json.loads(ok(*args, "--json")[0])


def dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(DVC), *args], cwd=cwd, capture_output=True, text=True)


def copy_sample(root: Path) -> None:
    for f in ("labeling.xml", "round1.json", "round2.json"):
        shutil.copy(EXAMPLES / f, root / f)
    tasks = json.loads((EXAMPLES / "round2.json").read_text())
    tasks[0]["annotations"][0]["result"][0]["value"]["choices"] = ["negative"]  # a reviewer's fix
    (root / "round3.json").write_text(json.dumps(tasks))


def snapshot(n: int) -> None:
    args = ["snapshot", "--from", f"round{n}.json", "--key", "data.ext_id", "-m", f"round {n}"]
    ok(*args, *(["--config", "labeling.xml"] if n == 1 else []))


def clone(src: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(src), str(dest)], check=True)
    return dest


def checkout_and_dvc_pull(clone_dir: Path, tag: str) -> None:
    """The training script's two commands: plain git and plain DVC."""
    subprocess.run(["git", "checkout", "-q", tag], cwd=clone_dir, check=True)
    p = dvc("pull", "-q", cwd=clone_dir)
    assert p.returncode == 0, f"dvc pull at {tag}: {p.stdout}{p.stderr}"


def same_table(a: pa.Table, b: pa.Table) -> bool:
    return a.replace_schema_metadata(None).equals(b.replace_schema_metadata(None))


def files_needed(repo, *vids: str) -> set[str]:
    return {r.md5 for v in vids for r in repo.objects_of(repo.version(v))}


# ---------------------------------------------------------------------- item 1


def test_default_init_says_its_remote_is_this_machines_and_a_clone_here_pulls_every_version(tmp_path, monkeypatch):
    root = tmp_path / "labels"
    p = run_cli("init", str(root), check=True)  # a fresh process: DVC imported there
    assert "folder on this machine only" in p.stderr and "annover init --remote" in p.stderr
    assert "Initialized DVC repository" not in p.stderr + p.stdout  # DVC's own notes stay quiet
    monkeypatch.chdir(root)
    assert "annover" in git("show", "HEAD:.dvc/config", cwd=root)  # every commit from here on names it
    copy_sample(root)
    snapshot(1)
    snapshot(2)
    out, err = ok("status")
    assert "versions not pushed: 2 of 2" in out and "folder on this machine only" in err
    _, err = ok("push")
    assert "pushed 2 of 2 version(s), " in err and "folder on this machine only" in err
    repo = annover.Repo(root)
    train = clone(root, tmp_path / "train")
    for tag in ("v1", "v2"):
        checkout_and_dvc_pull(train, tag)
        assert same_table(annover.Repo(train).read_table("HEAD"), repo.read_table(tag))


def test_init_run_again_says_again_that_its_remote_is_this_machines(tmp_path):
    """The README: init, status and push say so "every time"; a second init on a repository whose
    remote is a local folder said only 'already an annover repository'."""
    root = tmp_path / "labels"
    ok("init", str(root))
    _, err = ok("init", str(root))
    assert "already an annover repository" in err and "folder on this machine only" in err
    ok("init", str(tmp_path / "other"), "--remote", "s3://bucket/labels")
    _, err = ok("init", str(tmp_path / "other"))
    assert "already an annover repository" in err and "folder on this machine only" not in err


def test_push_and_pull_q_say_nothing_on_success(tmp_path, monkeypatch):
    """As git push -q and git pull -q: the notes and warnings that say nothing failed (the branch
    against its git remote, a remote that is a folder on this machine) are for the plain command;
    push -q said them every time."""
    root, origin = tmp_path / "labels", tmp_path / "origin.git"
    ok("init", str(root))
    monkeypatch.chdir(root)
    copy_sample(root)
    snapshot(1)
    git("init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp_path)
    git("remote", "add", "origin", str(origin), cwd=root)
    _, err = ok("push")
    assert "folder on this machine only" in err and "is on no git remote yet" in err
    assert ok("push", "-q") == ("", "")
    assert json.loads(ok("push", "-q", "--json")[0])["up_to_date"] == 1
    snapshot(2)
    git("push", "-q", "-u", "origin", "main", "--tags", cwd=root)
    git("reset", "-q", "--hard", "v1", cwd=root)  # origin/main is a version ahead
    _, err = ok("pull")
    assert "origin/main has 1 commit(s) not here" in err, err
    assert ok("pull", "-q") == ("", "")
    code, _, err = invoke("pull", "-q", "--remote", "nowhere")  # errors are still said
    assert code == 2 and err.startswith("Error:")


def test_a_file_url_remote_is_the_folder_it_names(tmp_path, monkeypatch):
    """DVC reads ``file:///x`` as a folder named ``file:`` in the repository: init gives DVC the path."""
    root, remote = tmp_path / "labels", tmp_path / "store"
    ok("init", str(root), "--remote", remote.as_uri())
    assert f"url = {remote}" in git("show", "HEAD:.dvc/config", cwd=root)
    monkeypatch.chdir(root)
    copy_sample(root)
    snapshot(1)
    ok("push")
    repo = annover.Repo(root)
    assert files_needed(repo, repo.show("v1").id) <= {p.parent.name + p.name for p in remote.rglob("*") if p.is_file()}
    assert not [p for p in root.iterdir() if p.name.startswith("file:")]  # nothing landed in the work tree
    train = clone(root, tmp_path / "train")
    checkout_and_dvc_pull(train, "v1")
    assert same_table(annover.Repo(train).read_table("HEAD"), repo.read_table("v1"))


def test_a_file_url_remote_in_the_local_config_is_fixed_by_its_hint(tmp_path, monkeypatch):
    """A clone pointed at ``file:///x`` with ``dvc remote add --local``: the hint named the
    committed config (`dvc remote modify annover url ...`, then `git commit`), which the local
    one overrides, so running it left status at exit 10; it names ``--local``."""
    root, remote = tmp_path / "labels", tmp_path / "store"
    ok("init", str(root), "--remote", str(remote))
    monkeypatch.chdir(root)
    copy_sample(root)
    snapshot(1)
    dvc_exe = str(Path(sys.executable).with_name("dvc"))
    subprocess.run([dvc_exe, "remote", "add", "--local", "-f", "annover", remote.as_uri()], check=True, cwd=root)
    code, _, err = invoke("status")
    assert code == 10 and "file:// URL" in err, err
    hint = re.search(r"dvc remote modify (--local )?annover url (\S+)", err)
    assert hint and hint.group(1) and hint.group(2) == str(remote), err
    subprocess.run([dvc_exe, "remote", "modify", "--local", "annover", "url", hint.group(2)], check=True, cwd=root)
    ok("push")
    ok("status")


def test_a_file_url_remote_set_before_is_named_and_fixed_by_its_hint(tmp_path, monkeypatch):
    """A remote recorded as ``file:///x`` (as annover did before, or by hand): push and
    status refuse it in one line, before DVC writes into a folder named ``file:``, and the
    hint's command makes it work."""
    root, remote = tmp_path / "labels", tmp_path / "store"
    ok("init", str(root), "--remote", str(remote))
    monkeypatch.chdir(root)
    copy_sample(root)
    snapshot(1)
    subprocess.run([str(Path(sys.executable).with_name("dvc")), "remote", "modify", "annover", "url", remote.as_uri()],
                   check=True, cwd=root)
    for cmd in ("push", "status"):
        code, out, err = invoke(cmd)
        assert code == 10 and "file:// URL" in err and len(err.strip().splitlines()) <= 2, (cmd, err)
    assert not [p for p in root.iterdir() if p.name.startswith("file:")]
    assert not [p for p in remote.rglob("*") if p.is_file()]
    hint = re.search(r"dvc remote modify annover url (\S+)", err)
    assert hint and hint.group(1) == str(remote)
    subprocess.run([str(Path(sys.executable).with_name("dvc")), "remote", "modify", "annover", "url", hint.group(1)],
                   check=True, cwd=root)
    ok("push")
    repo = annover.Repo(root)
    assert files_needed(repo, repo.show("v1").id) <= {p.parent.name + p.name for p in remote.rglob("*") if p.is_file()}


@pytest.mark.parametrize("args, said", [
    (["--remote", "/tmp/x", "--remote-option", "bogus_opt=1"], "extra keys not allowed"),
    (["--remote", "foo://bucket/x"], "Unsupported URL type foo://"),
    (["--remote", "s3://b/x", "--remote-option", "use_ssl=maybe"], "use_ssl"),
    (["--remote", "file://host/x"], "absolute path"),
    (["--remote-option", "endpointurl=http://127.0.0.1:9"], "without a remote"),
])
def test_init_refuses_a_remote_dvc_would_refuse_and_makes_nothing(tmp_path, args, said):
    root = tmp_path / "labels"
    code, out, err = invoke("init", str(root), *args)
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not root.exists()


def test_a_clone_elsewhere_of_a_default_repository_is_told_how_to_reach_the_data(tmp_path, monkeypatch):
    root = tmp_path / "labels"
    ok("init", str(root))
    monkeypatch.chdir(root)
    copy_sample(root)
    snapshot(1)
    ok("push")
    shared = tmp_path / "shared"  # what the team copies the folder to (or any DVC URL)
    shutil.copytree(annover.Repo(root).status().remote.url, shared)
    shutil.rmtree(Path(os.environ["ANNOVER_REMOTE_HOME"]))  # another machine: the folder is not there
    train = clone(root, tmp_path / "train")
    monkeypatch.chdir(train)
    for cmd in ("status", "pull"):
        code, out, err = invoke(cmd)
        assert code == 10 and out == ""
        assert "is a folder that does not exist on this machine" in err
        assert "dvc remote add --local -f annover URL" in err
    assert dvc("remote", "add", "--local", "-f", "annover", str(shared), cwd=train).returncode == 0
    assert as_json("pull")["moved"] == 1
    checkout_and_dvc_pull(train, "v1")


@pytest.mark.s3
def test_a_shared_remote_set_after_v2_serves_every_version_to_a_clone_elsewhere(tmp_path, monkeypatch, s3_env):
    endpoint, bucket = s3_env
    root = tmp_path / "labels"
    ok("init", str(root))
    monkeypatch.chdir(root)
    copy_sample(root)
    snapshot(1)
    snapshot(2)
    url = f"s3://{bucket}/store"
    _, err = ok("init", ".", "--remote", url, "--remote-option", f"endpointurl={endpoint}")
    line = re.search(r"in each clone, once: (.+?) \(git-ignored", err)
    assert line, err
    commands = line.group(1).split(" && ")
    assert commands == [f"dvc remote add --local -f annover {url}",
                        f"dvc remote modify --local annover endpointurl {endpoint}"]
    snapshot(3)
    pushed = as_json("push")
    assert (pushed["versions"], pushed["moved"]) == (3, 3) and pushed["remote"]["this_machine"] is False
    assert as_json("status")["unpushed"] == 0
    repo = annover.Repo(root)
    # another machine: the folder the old commits name does not exist there
    shutil.rmtree(Path(os.environ["ANNOVER_REMOTE_HOME"]))
    train = clone(root, tmp_path / "train")
    subprocess.run(["git", "checkout", "-q", "v1"], cwd=train, check=True)
    assert dvc("pull", "-q", cwd=train).returncode != 0  # v1's commit names the old folder
    for cmd in commands:  # what the message says to type, as typed
        p = subprocess.run(cmd.replace("dvc", str(DVC), 1).split(), cwd=train, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
    for tag in ("v1", "v2", "v3"):
        checkout_and_dvc_pull(train, tag)
        assert same_table(annover.Repo(train).read_table("HEAD"), repo.read_table(tag))


# ---------------------------------------------------------------------- item 2


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def remote_url(request, tmp_path) -> tuple[str, list[str]]:
    """A remote URL and its `--remote-option`s: a local folder, or a bucket on moto's server."""
    if request.param == "local":
        return str(tmp_path / "dvc-remote"), []
    endpoint, bucket = request.getfixturevalue("s3_env")
    return f"s3://{bucket}/store", ["--remote-option", f"endpointurl={endpoint}"]


def test_push_sends_what_the_remote_lacks_of_every_version_and_pull_is_symmetric(tmp_path, monkeypatch,
                                                                              remote_url):
    url, options = remote_url
    root = tmp_path / "labels"
    ok("init", str(root), "--remote", url, *options)
    monkeypatch.chdir(root)
    copy_sample(root)
    snapshot(1)
    snapshot(2)
    repo = annover.Repo(root)
    v1, v2 = repo.resolve("v1"), repo.resolve("v2")
    st = as_json("status")
    assert (st["versions"], st["unpushed"], st["pushed"]) == (2, 2, False)
    one = as_json("push", "v1")
    assert (one["version"], one["moved"], one["moved_versions"]) == (v1, 1, [v1])
    assert one["transferred"] == len(files_needed(repo, v1)) + 1  # its files and its listing
    assert as_json("status")["unpushed_versions"] == [v2]
    # `annover push`: every version the remote lacks, and of those only the files it lacks
    rest = as_json("push")
    assert (rest["versions"], rest["moved"], rest["up_to_date"], rest["moved_versions"]) == (2, 1, 1, [v2])
    assert rest["transferred"] == len(files_needed(repo, v2) - files_needed(repo, v1)) + 1
    again = as_json("push")
    assert (again["moved"], again["up_to_date"], again["transferred"]) == (0, 2, 0)
    snapshot(3)
    v3 = repo.resolve("v3")
    new = as_json("push")
    assert new["moved_versions"] == [v3]
    assert new["transferred"] == len(files_needed(repo, v3) - files_needed(repo, v1, v2)) + 1
    st = as_json("status")
    assert (st["versions"], st["unpushed"], st["pushed"]) == (3, 0, True)
    # a clone: `annover pull` fetches every version, then nothing; each reads as pushed
    train = clone(root, tmp_path / "train")
    monkeypatch.chdir(train)
    got = as_json("pull")
    assert (got["versions"], got["moved"]) == (3, 3)
    assert got["transferred"] == len(files_needed(repo, v1, v2, v3)) + 3
    assert as_json("pull") | {"remote": None} == got | {"moved": 0, "up_to_date": 3, "transferred": 0,
                                                          "moved_versions": [], "remote": None}
    c = annover.Repo(train)
    assert all(c.store.has(r) for r in c.objects_of(c.version(v3)))  # HEAD's objects in the work tree
    for tag in ("v1", "v2", "v3"):
        assert same_table(c.read_table(tag), repo.read_table(tag))


def test_pull_of_a_version_nobody_pushed_names_it(tmp_path, monkeypatch):
    root = tmp_path / "labels"
    ok("init", str(root), "--remote", str(tmp_path / "dvc-remote"))
    monkeypatch.chdir(root)
    copy_sample(root)
    snapshot(1)
    snapshot(2)
    ok("push", "v2")
    train = clone(root, tmp_path / "train")
    monkeypatch.chdir(train)
    code, out, err = invoke("pull")
    assert code == RemoteError.exit_code and out == ""
    assert "1 version(s) not on the remote: v1 (" in err and "annover push" in err
    assert annover.Repo(train).read_table("v2").num_rows > 0  # what was there was pulled
    assert any(p.is_file() for p in (train / STORE / "objects").rglob("*"))  # and HEAD's checked out


def test_push_to_a_second_remote_names_the_version_this_clone_does_not_have(tmp_path, monkeypatch):
    root = tmp_path / "labels"
    ok("init", str(root), "--remote", str(tmp_path / "dvc-remote"))
    monkeypatch.chdir(root)
    copy_sample(root)
    snapshot(1)
    snapshot(2)
    ok("push")
    train = clone(root, tmp_path / "train")
    monkeypatch.chdir(train)
    ok("pull", "v2")  # v2 only: v1's objects are not here
    backup = tmp_path / "backup"
    assert dvc("remote", "add", "--local", "backup", str(backup), cwd=train).returncode == 0
    code, out, err = invoke("push", "--remote", "backup")
    assert code == ObjectError.exit_code and out == ""
    assert "1 version(s) not pushed" in err and "v1 (" in err and "1 other version(s) moved" in err
    assert as_json("push", "v2", "--remote", "backup")["up_to_date"] == 1  # v2 went before the error


# ---------------------------------------------------------------------- item 6


@pytest.fixture
def silent_endpoint():
    """An S3 endpoint that accepts connections and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def test_status_against_a_remote_that_does_not_answer_exits_10_after_the_timeout(tmp_path, monkeypatch,
                                                                                silent_endpoint):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "annover-test-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "annover-test-secret")
    root = tmp_path / "labels"
    ok("init", str(root), "--remote", "s3://nowhere/store", "--remote-option", f"endpointurl={silent_endpoint}")
    monkeypatch.chdir(root)
    copy_sample(root)
    snapshot(1)
    p = run_cli("status", "--timeout", "1", cwd=root)
    assert p.returncode == RemoteUnreachableError.exit_code == 10 and p.stdout == ""
    assert re.fullmatch(r"Error: the DVC remote 'annover' \(s3://nowhere/store\) did not answer within 1 s — "
                        r".*--timeout SECONDS.*--no-remote.*\n", p.stderr), p.stderr
    p = run_cli("push", "--timeout", "1", cwd=root)
    assert p.returncode == 10 and "did not answer within 1 s" in p.stderr
    out, _ = ok("status", "--no-remote")
    assert "HEAD: " in out and "versions not pushed" not in out
    with pytest.raises(RemoteUnreachableError, match="did not answer"):
        annover.Repo(root).status(timeout=0.5)


def test_status_against_a_refused_connection_exits_10(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "annover-test-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "annover-test-secret")
    root = tmp_path / "labels"
    ok("init", str(root), "--remote", "s3://nowhere/store", "--remote-option", f"endpointurl=http://127.0.0.1:{port}")
    monkeypatch.chdir(root)
    copy_sample(root)
    snapshot(1)
    code, out, err = invoke("status", "--timeout", "1")
    assert code == 10 and out == "" and err.startswith("Error: the DVC remote 'annover'") and err.count("\n") == 1


def test_a_refused_connection_is_told_at_once_not_after_the_timeout(tmp_path, monkeypatch):
    """Nothing listens at the endpoint: status and push say so (the S3 client would retry
    the refused connection until the timeout, 5 s for status and 30 s for push and pull,
    and then say only that the remote did not answer)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "annover-test")
    monkeypatch.setenv("ANNOVER_REMOTE_TIMEOUT", "10")  # without the check: 10 s each, then "did not answer"
    root = tmp_path / "labels"
    ok("init", str(root), "--remote", "s3://nowhere/store", "--remote-option", f"endpointurl=http://127.0.0.1:{port}")
    monkeypatch.chdir(root)
    copy_sample(root)
    snapshot(1)
    for cmd in ("status", "push"):  # (pull with every object here asks nothing)
        code, out, err = invoke(cmd)
        assert code == RemoteUnreachableError.exit_code and out == "", (cmd, err)
        assert re.fullmatch(r"Error: the DVC remote 'annover' \(s3://nowhere/store\) refused the connection: "
                            rf"nothing listens at 127\.0\.0\.1:{port} — start its server.*\n", err), (cmd, err)
        # status may go on without the remote; push cannot (its hint named `status --no-remote`)
        assert ("`annover status --no-remote` does not ask" in err) == (cmd == "status"), (cmd, err)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")  # a proxy: the client's own answer
    code, _, err = invoke("status", "--timeout", "1")
    assert code == 10 and "refused the connection" not in err


def test_endpoint_is_the_address_the_client_connects_to(monkeypatch):
    for v in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(v, raising=False)
    assert dvc_endpoint("s3://b/p", {"endpointurl": "http://minio.local:9000"}) == ("minio.local", 9000)
    assert dvc_endpoint("s3://b/p", {"endpointurl": "https://storage.example"}) == ("storage.example", 443)
    assert dvc_endpoint("s3://b/p", {}) is None  # the client's own default endpoint
    assert dvc_endpoint("https://host.example/dvc", {}) == ("host.example", 443)
    assert dvc_endpoint("/srv/remote", {}) is None and dvc_endpoint("gs://b/p", {}) is None
    assert dvc_endpoint("s3://b/p", {"endpointurl": "http://h:notaport"}) is None


# ---------------------------------------------------------------------- item 11


def _fake_venv(tmp_path: Path) -> Path:
    """A venv whose pip prints this machine's mirror notes, as the real one does here."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    real = Path(sys.executable).parent
    py = venv / "bin" / "python"
    py.write_text(f"""#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  echo "WARNING: Location 'file:///opt/mirror' is ignored: it is neither a file nor a directory." >&2
  ln -sf "{real / 'annover'}" "{venv / 'bin' / 'annover'}"
  exit 0
fi
exec "{real / 'python'}" "$@"
""")
    py.chmod(0o755)
    return venv


@pytest.mark.slow
def test_demo_removes_its_temporary_folder_unless_DEMO_DIR_and_hides_pips_notes(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "ANNOVER_VENV": str(_fake_venv(tmp_path)),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("DEMO_DIR", None)
    p = subprocess.run(["bash", str(ROOT / "examples" / "demo.sh")], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "installing annover" in p.stderr and "WARNING: Location" not in p.stderr
    assert "sentiment labels:" in p.stdout
    work = Path(re.search(r"^demo folder (.+): removed on exit", p.stdout, re.M).group(1))
    assert work.parent == tmp and not work.exists()  # the temporary folder is gone
    keep = tmp_path / "keep"
    p = subprocess.run(["bash", str(ROOT / "examples" / "demo.sh")], env={**env, "DEMO_DIR": str(keep)},
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (keep / "labels" / STORE).is_dir() and f"demo repository: {keep}/labels" in p.stdout
    assert not [d for d in tmp.iterdir() if d.is_dir()]  # nothing else made a folder there


def test_demo_refuses_a_DEMO_DIR_inside_a_git_repository_and_makes_nothing(tmp_path):
    """DEMO_DIR in a git work tree (a clone of annover, a project): annover would version the labels
    in that repository and the demo's clone of its own repository would fail half-way; it stops first."""
    proj = tmp_path / "proj"
    proj.mkdir()
    git("init", "-q", cwd=proj)
    env = {**os.environ, "ANNOVER_VENV": str(_fake_venv(tmp_path)), "DEMO_DIR": str(proj / "demo" / "here"),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    p = subprocess.run(["bash", str(ROOT / "examples" / "demo.sh")], env=env, capture_output=True, text=True)
    assert p.returncode == 2 and f"inside the git repository {proj}" in p.stderr, p.stderr
    assert sorted(d.name for d in proj.iterdir()) == [".git"]


# ---------------------------------------------------------------------- item 12


def readme_block(heading: str) -> str:
    """The first ```python block after ``heading`` in the README."""
    text = (ROOT / "README.md").read_text()
    after = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", after, re.S).group(1)


def _pyarrow_pin() -> str:
    pins = (ROOT / ".ci" / "constraints.txt").read_text()
    m = re.search(r"^pyarrow==\S+$", pins, re.M)
    return m.group(0) if m else "pyarrow"


@pytest.mark.slow
def test_a_training_script_without_annover_reads_a_version_with_the_readme_example(tmp_path, monkeypatch):
    code = readme_block("### Reading a version without annover")
    assert len(code.strip().splitlines()) <= 5
    root = tmp_path / "labels"
    ok("init", str(root), "--remote", str(tmp_path / "dvc-remote"))
    monkeypatch.chdir(root)
    copy_sample(root)
    snapshot(1)
    snapshot(2)
    ok("push")
    repo = annover.Repo(root)
    venv = tmp_path / "plain-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # no system site-packages
    py = venv / "bin" / "python"
    p = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", _pyarrow_pin()],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert subprocess.run([str(py), "-c", "import annover"], capture_output=True).returncode != 0
    train = clone(root, tmp_path / "train")
    for tag in ("v1", "v2"):
        checkout_and_dvc_pull(train, tag)
        script = code + "\nimport pyarrow.parquet\npyarrow.parquet.write_table(labels, 'out.parquet')\n"
        p = subprocess.run([str(py), "-c", script], cwd=train, capture_output=True, text=True,
                           env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        assert p.returncode == 0, p.stderr
        got = pq.read_table(train / "out.parquet")
        assert same_table(got, repo.read_table(tag))
