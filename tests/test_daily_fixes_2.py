"""Daily use, second pass: what a user meets with push and pull --json when one version fails,
status and push after `annover tag --force`, export --images against the images' real size,
and gc --force beside a running pull. Real git, real DVC (a local folder remote)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import annover
from annover.errors import ObjectError, RemoteError
from annover.store.objects import shard

from .conftest import EXAMPLES, git
from .test_daily_remote import invoke, ok
from .test_json_schemas import validator
from .test_team import ok as ok_in
from .test_team import team  # noqa: F401  (the fixture: two clones, a bare git remote, a DVC remote)

DVC = Path(sys.executable).with_name("dvc")


def _two_versions(tmp_path: Path, monkeypatch) -> Path:
    """A repository with v1 and v2 and a local DVC remote; the working folder is the repository."""
    root = tmp_path / "labels"
    ok("init", str(root), "--remote", str(tmp_path / "dvc-remote"))
    monkeypatch.chdir(root)
    for f in ("labeling.xml", "round1.json", "round2.json"):
        shutil.copy(EXAMPLES / f, root / f)
    ok("snapshot", "--from", "round1.json", "--config", "labeling.xml", "--key", "data.ext_id", "-m", "round 1")
    ok("snapshot", "--from", "round2.json", "-m", "round 2")
    return root


def _failed_json(command: str, *args: str, code: int) -> tuple[dict, str]:
    """``annover COMMAND ARGS --json`` that fails with ``code``: its document (checked against its
    schema) and its stderr."""
    got, out, err = invoke(command, *args, "--json")
    assert got == code, err
    assert err.startswith("Error: ") and err.count("\n") == 1, err  # the one-line error, as without --json
    doc = json.loads(out)
    assert not list(validator(command).iter_errors(doc))
    assert doc["error"] and err == f"Error: {doc['error']}\n"
    return doc, err


# ---------------------------------------------------------------------- item 1: --json of a push or pull that fails


def test_pull_json_says_what_was_pulled_and_which_version_the_remote_lacks(tmp_path, monkeypatch):
    root = _two_versions(tmp_path, monkeypatch)
    ok("push", "v2")  # v1 never pushed
    repo = annover.Repo(root)
    v1, v2 = repo.resolve("v1"), repo.resolve("v2")
    train = tmp_path / "train"
    git("clone", "-q", str(root), str(train), cwd=tmp_path)
    monkeypatch.chdir(train)
    doc, err = _failed_json("pull", code=RemoteError.exit_code)
    assert doc["moved_versions"] == [v2] and doc["transferred"] > 0
    assert doc["failed"] == [{"version": v1, "tags": ["v1"], "reason": "not-on-remote"}]
    assert "1 version(s) not on the remote: v1 (" in err
    assert annover.Repo(train).read_table("v2").num_rows > 0  # what the document says was pulled is here


def test_push_json_says_what_was_pushed_and_which_version_is_not_here(tmp_path, monkeypatch):
    root = _two_versions(tmp_path, monkeypatch)
    ok("push")
    train = tmp_path / "train"
    git("clone", "-q", str(root), str(train), cwd=tmp_path)
    monkeypatch.chdir(train)
    ok("pull", "v2")  # v1's objects are not in this clone
    backup = tmp_path / "backup"
    assert subprocess.run([str(DVC), "remote", "add", "--local", "backup", str(backup)], cwd=train).returncode == 0
    repo = annover.Repo(train)
    doc, err = _failed_json("push", "--remote", "backup", code=ObjectError.exit_code)
    assert doc["moved_versions"] == [repo.resolve("v2")] and doc["remote"]["name"] == "backup"
    assert doc["failed"] == [{"version": repo.resolve("v1"), "tags": ["v1"], "reason": "not-here"}]
    assert "1 version(s) not pushed" in err


def test_push_json_names_the_version_whose_cache_copy_is_corrupt(tmp_path, monkeypatch):
    root = _two_versions(tmp_path, monkeypatch)
    repo = annover.Repo(root)
    v1 = repo.version(repo.resolve("v1"))
    only_v1 = {r.md5 for r in repo.objects_of(v1)} - {r.md5 for r in repo.objects_of(repo.version(repo.head()))}
    cached = repo.dvc.cache_dir() / shard(sorted(only_v1)[0])
    cached.chmod(0o644)
    cached.write_bytes(b"bit rot" + cached.read_bytes()[7:])
    doc, err = _failed_json("push", code=ObjectError.exit_code)
    assert doc["moved_versions"] == [repo.head()]
    assert "corrupt" in err, err
    assert doc["failed"] == [{"version": v1.id, "tags": ["v1"], "reason": "corrupt-here"}]
    assert "corrupt" in err, err


def test_push_and_pull_json_say_no_failure_on_success(tmp_path, monkeypatch):
    _two_versions(tmp_path, monkeypatch)
    for command in ("push", "pull"):
        code, out, err = invoke(command, "--json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["failed"] == [] and doc["error"] is None


# ---------------------------------------------------------------------- item 2: the git push status and push say


def _said_publish(text: str) -> list[str]:
    """The `git push ...` command in backquotes in ``text``, as words."""
    found = re.search(r"`(git push [^`]*)`", text)
    assert found, text
    return shlex.split(found.group(1))


def test_status_and_push_say_a_git_push_the_remote_accepts_after_a_tag_moved(team):
    """`reviewed` is on the git remote; A moves it with `annover tag --force`. `annover status` and
    `annover push` said `git push --atomic origin main --tags`, which git refuses (the remote has the
    tag). They now name the moved tag with a + (known offline, from the branch's history the remote
    has): run as said, it publishes the commit and the move; a deletion is said with a :, the same way."""
    a = team.a
    ok_in(a, "snapshot", "--from", str(team.data / "round2.json"), "-m", "round 2")
    ok_in(a, "push")
    git("push", "-q", "--atomic", "origin", "main", "--tags", cwd=a)
    ok_in(a, "tag", "reviewed", "v2", "--force")
    git("remote", "set-url", "origin", "ssh://annover-test.invalid/origin.git", cwd=a)  # not asked: no network
    publish = _said_publish(ok_in(a, "status", "--no-remote")[0])
    assert publish == ["git", "push", "--atomic", "origin", "main", "--tags", "+refs/tags/reviewed"]
    assert json.loads(ok_in(a, "status", "--no-remote", "--json")[0])["git"]["publish"] == shlex.join(publish)
    assert _said_publish(ok_in(a, "push")[1]) == publish
    git("remote", "set-url", "origin", str(team.origin), cwd=a)
    refused = subprocess.run(["git", "push", "--atomic", "origin", "main", "--tags"], cwd=a, capture_output=True)
    assert refused.returncode != 0  # what status said before
    subprocess.run(publish, cwd=a, check=True, capture_output=True)
    assert git("ls-remote", "--tags", "origin", "reviewed", cwd=a).split()[0] == git("rev-parse", "reviewed", cwd=a).strip()
    assert "up to date with origin/main" in ok_in(a, "status", "--no-remote")[0]
    ok_in(a, "tag", "-d", "reviewed")
    publish = _said_publish(ok_in(a, "status", "--no-remote")[0])
    assert publish == ["git", "push", "--atomic", "origin", "main", "--tags", ":refs/tags/reviewed"]
    subprocess.run(publish, cwd=a, check=True, capture_output=True)
    assert git("ls-remote", "--tags", "origin", "reviewed", cwd=a) == ""


def test_status_says_the_plain_git_push_for_new_tags(team):
    a = team.a
    ok_in(a, "snapshot", "--from", str(team.data / "round2.json"), "-m", "round 2")
    ok_in(a, "tag", "gold", "v2")
    assert _said_publish(ok_in(a, "status", "--no-remote")[0]) == ["git", "push", "--atomic", "origin", "main", "--tags"]
