"""Two users, two clones, one bare git remote and one DVC remote (a folder), following the
README's team and remote sections: what each user sees at each step. Real git, real DVC."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from annover import Repo
from annover.cli import run

from .conftest import EXAMPLES, git, run_cli
from .test_s3 import s3_env, s3_server  # noqa: F401  (fixtures: moto's S3 server on 127.0.0.1)


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


def test_a_clone_of_a_bare_remote_whose_head_is_master_is_told_to_check_out_main(team, tmp_path):
    """`git init --bare` on a git whose default branch is master (no init.defaultBranch) makes a remote
    whose HEAD names master; the versions are pushed to main, so a clone checks nothing out (git:
    "remote HEAD refers to nonexistent ref"). annover said "not an annover repository — run `annover
    init` first", which would start another history there; it now says what git left out."""
    origin = tmp_path / "master.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "master", str(origin)], check=True)
    git("push", "-q", str(origin), "main", "--tags", cwd=team.a)
    c = tmp_path / "C"
    subprocess.run(["git", "clone", "-q", str(origin), str(c)], check=True, capture_output=True)
    assert not (c / ".annover").exists()
    for args in (("pull",), ("status",), ("log",)):
        code, out, err = annover_in(c, *args)
        assert (code, out) == (6, "") and len(err.strip().splitlines()) == 1, err
        assert "its HEAD names branch master, which its remote does not have" in err, err
        assert "`git checkout main`" in err and "git symbolic-ref HEAD refs/heads/main" in err, err
    git("checkout", "-q", "main", cwd=c)
    ok(c, "pull")
    assert "v1" in ok(c, "log", "--oneline")[0]
    # outside any git repository, the hint is annover init's, as before
    code, _, err = annover_in(tmp_path, "log")
    assert code == 6 and err.rstrip().endswith("run `annover init` first"), err


def test_push_status_and_pull_say_what_git_still_has_to_carry(team):
    """`annover push` said "pushed 1 of 1 version(s)" and status "pushed: yes" while the git remote
    had none of the version's commits or tags, so a teammate's clone had nothing to pull (the
    README's quickstart has no `git push`). Now push and status say what git lacks and the command
    that shares it; pull says when the git remote has versions that are not here yet."""
    a, b = team.a, team.b
    out, _ = ok(a, "status")
    assert "git: main is up to date with origin/main as of the last git fetch" in out
    ok(a, "snapshot", "--from", str(team.data / "round2.json"), "-m", "round 2")
    out, _ = ok(a, "status")
    assert "git: main is 1 commit(s) ahead of origin/main (`git push --atomic origin main --tags` shares their versions)" in out
    _, err = ok(a, "push")
    assert "pushed 1 of 2 version(s)" in err and "note: annover push moved the objects; the versions' records go " \
           "by git: main is 1 commit(s) ahead of origin/main (`git push --atomic origin main --tags`" in err
    doc = json.loads(ok(a, "push", "--json")[0])
    assert doc["git"] == {"branch": "main", "upstream": "origin/main", "upstream_set": True, "ahead": 1, "behind": 0,
                          "publish": "git push --atomic origin main --tags"}
    git("push", "-q", "origin", "main", "--tags", cwd=a)  # what it says, literally
    _, err = ok(a, "push")
    assert "note:" not in err
    git("fetch", "-q", cwd=b)
    _, err = ok(b, "pull")
    assert "note: annover pull fetched objects of the versions here; origin/main has 1 commit(s) not here " \
           "(`git pull`, then `annover pull`)" in err
    git("pull", "-q", cwd=b)
    _, err = ok(b, "pull")
    assert "note:" not in err and git("tag", cwd=b).split() == ["reviewed", "v1", "v2"]
    git("switch", "-q", "-c", "relabel", cwd=b)  # a branch of B's own: on no git remote yet
    out, _ = ok(b, "status", "--no-remote")
    assert "git: branch relabel is on no git remote yet (`git push --atomic -u origin relabel --tags` shares its versions)" \
        in out
    assert json.loads(ok(b, "status", "--no-remote", "--json")[0])["git"]["upstream"] is None
    # pushed without -u: the branch is on the remote, git just does not track it (it was "on no git remote yet")
    git("push", "-q", "origin", "relabel", "--tags", cwd=b)
    out, _ = ok(b, "status", "--no-remote")
    assert "git: relabel is up to date with origin/relabel as of the last git fetch (no upstream set: " \
           "`git branch -u origin/relabel` sets it)" in out, out
    doc = json.loads(ok(b, "status", "--no-remote", "--json")[0])["git"]
    assert (doc["upstream"], doc["upstream_set"], doc["ahead"], doc["publish"]) == ("origin/relabel", False, 0, None)
    ok(b, "snapshot", "--from", str(team.data / "round1.json"), "-m", "back to round 1")
    out, _ = ok(b, "status", "--no-remote")
    assert "relabel is 1 commit(s) ahead of origin/relabel (`git push --atomic -u origin relabel --tags` shares" in out, out
    lone = team.origin.parent / "lone"
    ok(team.origin.parent, "init", str(lone), "--remote", str(team.remote))
    out, _ = ok(lone, "status", "--no-remote")
    assert "git:" not in out and json.loads(ok(lone, "status", "--no-remote", "--json")[0])["git"] is None


def test_a_remote_that_lost_a_file_is_repaired_by_pushing_the_version_by_name(team):
    """A file of v2 gone from the DVC remote: B's pull said so after DVC's own multi-line warning
    (`name: None, md5: ...`) and told B to `annover push` from a clone that has it, but A's `annover
    push` found v2's listing there and sent nothing: no way out. Now the pull is one line naming
    `annover push v2`, and that push asks the remote for each of v2's files and sends what it lost."""
    a, b = team.a, team.b
    ok(a, "snapshot", "--from", str(team.data / "round2.json"), "-m", "round 2")
    ok(a, "push")
    git("push", "-q", "origin", "main", "--tags", cwd=a)
    repo = Repo(a)
    only_v2 = sorted({r.md5 for r in repo.objects_of(repo.show("v2"))}
                     - {r.md5 for r in repo.objects_of(repo.show("v1"))})
    lost = team.remote / "files" / "md5" / only_v2[0][:2] / only_v2[0][2:]
    lost.unlink()
    git("pull", "-q", cwd=b)
    p = run_cli("pull", cwd=b)  # a process of its own: DVC's logging goes to its real stderr
    code, err = p.returncode, p.stderr
    assert code == 10 and len(err.strip().splitlines()) == 1 and "md5:" not in err, err
    assert "not on the remote: v2 (" in err and "push them from a clone that has them: `annover push v2`" in err
    _, err = ok(a, "push")  # a listing on the remote stands for its files: DVC's rule, kept for speed
    assert "pushed 0 of 2 version(s)" in err and not lost.exists()
    _, err = ok(a, "push", "v2")
    assert "pushed 1 of 1 version(s)" in err and lost.is_file()
    _, err = ok(b, "pull")
    assert "pulled" in err
    assert Repo(b).load("v2").equals(repo.load("v2"))


def test_a_clone_without_the_s3_keys_is_told_how_to_give_them_and_no_key_reaches_git(tmp_path, monkeypatch,
                                                                                      s3_env):  # noqa: F811
    """A set the S3 keys with `annover init --remote-option` (kept in .dvc/config.local, as the README
    says); B's clone has none, and pull said "Unable to locate credentials — check the URL, the
    network and the credentials". Now it names the `dvc remote modify --local` commands (or the
    variables); with them B pulls, snapshots and pushes, and no key is in any git object."""
    endpoint, bucket = s3_env
    key_id, secret = "AKIDANNOVERTEAM0001", "annover-team-secret-0123456789"
    for v in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(v)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    origin, a = tmp_path / "origin.git", tmp_path / "A"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    ok(tmp_path, "init", str(a), "--remote", f"s3://{bucket}/store", "--remote-option", f"endpointurl={endpoint}",
       "--remote-option", f"access_key_id={key_id}", "--remote-option", f"secret_access_key={secret}")
    git("remote", "add", "origin", str(origin), cwd=a)
    ok(a, "snapshot", "--from", str(EXAMPLES / "round1.json"), "--config", str(EXAMPLES / "labeling.xml"),
       "--key", "data.ext_id", "-m", "round 1")
    ok(a, "push")
    git("push", "-q", "-u", "origin", "main", "--tags", cwd=a)
    b = tmp_path / "B"
    subprocess.run(["git", "clone", "-q", str(origin), str(b)], check=True)
    for args in (["pull"], ["status"]):
        code, _, err = annover_in(b, *args)
        assert code == 10 and "Unable to locate credentials" in err and len(err.strip().splitlines()) == 1, err
        assert "this clone has no keys for it (they stay out of git): `dvc remote modify --local annover " \
               "access_key_id KEY` and `... secret_access_key SECRET`, or set AWS_ACCESS_KEY_ID and " \
               "AWS_SECRET_ACCESS_KEY" in err, err
    dvc = Path(sys.executable).with_name("dvc")
    for k, v in (("access_key_id", key_id), ("secret_access_key", secret)):
        subprocess.run([str(dvc), "remote", "modify", "--local", "annover", k, v], cwd=b, check=True)
    ok(b, "pull")
    git("config", "user.email", "b@example.com", cwd=b)
    ok(b, "snapshot", "--from", str(EXAMPLES / "round2.json"), "-m", "round 2")
    ok(b, "push")
    git("push", "-q", "origin", "main", "--tags", cwd=b)
    for repo in (origin, a / ".git", b / ".git"):
        objects = subprocess.run("git rev-list --all --objects | cut -d' ' -f1 | git cat-file --batch", shell=True,
                                 cwd=repo, capture_output=True, check=True).stdout
        assert objects and key_id.encode() not in objects and secret.encode() not in objects


TRAIN = """
import json, pathlib, sys, pyarrow.parquet as pq
a = pathlib.Path(".annover"); obj = lambda oid: str(a / "objects" / oid[:2] / oid[2:])
version = json.loads((a / "versions" / ((a / "HEAD").read_text().strip() + ".json")).read_text())
manifest = json.loads(open(obj(version["tables"]["annotations"]["manifest"]["oid"])).read())
labels = pq.read_table([obj(p["oid"]) for p in manifest["parts"]]).drop_columns(["_task_hash"])
assert "annover" not in sys.modules
pq.write_table(labels, sys.argv[1])
"""


def test_a_training_script_pinned_to_a_tag_gets_that_versions_rows_with_git_dvc_and_pyarrow(team, tmp_path):
    """The README's recipe, in a clone of the git remote: `git checkout TAG && dvc pull`, then
    pyarrow alone; B's newer version does not leak in, and a tag A moved (`annover tag --force`,
    published with `git push --force --tags`) is followed after `git fetch --tags --force`."""
    a, b = team.a, team.b
    ok(b, "pull")
    git("config", "user.email", "b@example.com", cwd=b)
    ok(b, "snapshot", "--from", str(team.data / "round2.json"), "-m", "round 2")
    ok(b, "push")
    git("push", "-q", "origin", "main", "--tags", cwd=b)
    train = tmp_path / "train"
    subprocess.run(["git", "clone", "-q", str(team.origin), str(train)], check=True)
    dvc = str(Path(sys.executable).with_name("dvc"))

    def rows_at(tag: str) -> pa.Table:
        git("checkout", "-q", tag, cwd=train)
        subprocess.run([dvc, "pull", "-q"], cwd=train, check=True, capture_output=True)
        out = tmp_path / f"{tag}.parquet"
        subprocess.run([sys.executable, "-c", TRAIN, str(out)], cwd=train, check=True)
        return pq.read_table(out)

    assert rows_at("reviewed").equals(Repo(a).load("v1"))
    git("pull", "-q", cwd=a)
    ok(a, "tag", "reviewed", "v2", "--force")
    git("push", "-q", "--force", "origin", "main", "--tags", cwd=a)
    git("checkout", "-q", "main", cwd=train)
    git("pull", "-q", "--tags", "--force", cwd=train)
    assert rows_at("reviewed").equals(Repo(b).load("v2"))


def test_a_tag_moved_or_deleted_in_another_clone_is_said_so_in_this_one(team):
    """A moves `reviewed` with `annover tag --force` and publishes it; B's `git pull` brings the tag
    file, not git's tag. B was told "tag reviewed was moved outside annover", which nobody did.
    Now: git's tag does not name the version annover recorded, moved with git here or by `annover
    tag --force` in another clone; `git fetch --tags --force` settles it. A deletion likewise."""
    a, b = team.a, team.b
    ok(a, "snapshot", "--from", str(team.data / "round2.json"), "-m", "round 2")
    ok(a, "push")
    ok(a, "tag", "reviewed", "v2", "--force")
    git("push", "-q", "--force", "origin", "main", "--tags", cwd=a)
    git("pull", "-q", cwd=b)
    out, _ = ok(b, "status", "--no-remote")
    assert "moved tag: git's tag reviewed does not name the version annover recorded (moved with git here, or by " \
           "`annover tag --force` in another clone, which a git fetch does not follow)" in out, out
    assert "outside annover" not in out and "`git fetch --tags --force`" in out
    assert annover_in(b, "show", "reviewed")[0] == 7
    git("fetch", "-q", "--tags", "--force", cwd=b)
    out, _ = ok(b, "status", "--no-remote")
    assert "moved tag" not in out and "HEAD: " in out and "(reviewed, v2)" in out
    ok(a, "tag", "-d", "reviewed")
    git("push", "-q", "origin", "main", ":refs/tags/reviewed", cwd=a)
    git("pull", "-q", cwd=b)
    out, _ = ok(b, "status", "--no-remote")
    assert "moved tag: tag reviewed was deleted" in out and "git fetch --prune --prune-tags" in out
    git("fetch", "-q", "--prune", "--prune-tags", cwd=b)
    out, _ = ok(b, "status", "--no-remote")
    assert "moved tag" not in out and "reviewed" not in out


def test_push_and_pull_show_a_spinner_and_take_q(two_rounds):
    """push and pull take seconds on a large version: a spinner on a terminal's stderr, and -q
    (as git push -q, which users type) for none and no summary line."""
    from tests.conftest import on_a_terminal
    from tests.test_diff_cli import cli

    code, out, shown = on_a_terminal("push")
    assert code == 0 and "asking the DVC remote what it lacks" in shown and "pushed 2 of 2 version(s)" in shown
    code, out, shown = on_a_terminal("pull", "-q")
    assert code == 0 and "fetching" not in shown and "pulled" not in shown
    assert shown == "", repr(shown)  # not even the blank lines DVC's checkout bars end with
    code, out, shown = on_a_terminal("pull")  # the spinner keeps to one line: none left behind above the summary
    assert code == 0 and len([ln for ln in shown.split("\n") if "fetching" in ln]) == 1, repr(shown)
    assert "pulled 0 of 2 version(s)" in shown
    code, out, err = cli("push", "-q")
    assert (code, out) == (0, "") and "pushed" not in err
    code, out, err = cli("pull")
    assert code == 0 and "pulled 0 of 2 version(s)" in err and "fetching" not in err
