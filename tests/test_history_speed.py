"""The daily read commands do not pay for what they do not print: `status --no-remote` names the
remote from DVC's config files without importing DVC (a tenth of a second or two), `status` opens
DVC's repository once, and `log -n N` / `show` check only the tags of the versions they print
(every tag file and git tag was read and checked: 0.3 ms a version in each command).

Each test runs real git and real DVC; what the commands print is compared with what they printed
before (DVC's own reading of its config, every tag checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import annover

from .conftest import git, run_cli

# ---------------------------------------------------------------- status: the remote named without DVC


def _dvc(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, check=True, capture_output=True)


def test_status_no_remote_does_not_import_dvc(two_rounds):
    repo, _, _ = two_rounds
    code = ("import io, contextlib, sys\n"
            "from annover.cli import run\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    rc = run(['status', '--no-remote'])\n"
            "print(json.dumps({'rc': rc, 'out': out.getvalue(), 'dvc': sorted(m for m in sys.modules\n"
            "                  if m == 'dvc' or m.startswith('dvc.'))}))\n")
    p = subprocess.run([sys.executable, "-c", "import json\n" + code], cwd=repo.root, capture_output=True, text=True)
    got = json.loads(p.stdout)
    assert got["rc"] == 0 and "remote: annover " in got["out"], (got, p.stderr)
    assert "dvc.repo" not in got["dvc"] and got["dvc"] == [], got["dvc"]


def test_status_opens_dvcs_repository_once(two_rounds, monkeypatch):
    repo, _, _ = two_rounds
    import dvc.repo

    opened = []
    real = dvc.repo.Repo.__init__
    monkeypatch.setattr(dvc.repo.Repo, "__init__", lambda self, *a, **k: opened.append(1) or real(self, *a, **k))
    out = annover.Repo(repo.root).status()
    assert out.remote is not None and out.remote.name == "annover" and out.unpushed is not None
    assert len(opened) == 1, len(opened)


@pytest.mark.parametrize("case", ["local", "relative", "home", "local-name", "credentials", "none", "broken"])
def test_the_remote_named_from_the_config_files_is_dvcs(two_rounds, tmp_path, monkeypatch, case):
    """What `status --no-remote` reads (the files) is what DVC reads, `.dvc/config.local` over
    `.dvc/config`; credentials in a URL are not shown."""
    repo, _, _ = two_rounds
    root = repo.root
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if case == "local":  # a clone's own copy of the remote, set with --local
        _dvc("remote", "add", "--local", "-f", "annover", str(tmp_path / "elsewhere"), cwd=root)
    elif case == "relative":
        _dvc("remote", "add", "--local", "-f", "annover", "../../shared-remote", cwd=root)
    elif case == "home":
        _dvc("remote", "add", "--local", "-f", "annover", "~/remotes/r", cwd=root)
    elif case == "local-name":  # another default remote, named in config.local only
        _dvc("remote", "add", "--local", "-d", "backup", "s3://bucket/path", cwd=root)
    elif case == "credentials":
        (root / ".dvc" / "config.local").write_text('[\'remote "annover"\']\n    url = https://user:secret@host/x\n')
    elif case == "none":
        _dvc("remote", "default", "--unset", cwd=root)
    else:
        (root / ".dvc" / "config.local").write_text("[core\nremote = x\n")  # configobj (and DVC) refuse it
    dvc = annover.Repo(root).dvc
    assert dvc.configured_remote() == dvc.remote_info()
    st = json.loads(run_cli("status", "--no-remote", "--json", cwd=root, check=True).stdout)
    assert st["remote"] == (dvc.remote_info().to_json() if dvc.remote_info() else None)
    assert "secret" not in json.dumps(st)
    if case == "local":
        assert st["remote"]["url"] == str(tmp_path / "elsewhere")
        text = run_cli("status", "--no-remote", cwd=root, check=True).stdout
        assert f"remote: annover {tmp_path / 'elsewhere'}" in text


# ---------------------------------------------------------------- log -n / show: the printed versions' tags


def _versions(tmp_path, monkeypatch, n: int = 4) -> annover.Repo:
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], check=True)
    monkeypatch.chdir(tmp_path / "r")
    annover.init(".")
    cfg = tmp_path / "c.xml"
    cfg.write_text('<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="a"/>'
                   '<Choice value="b"/></Choices></View>')
    repo = annover.Repo(".")
    for i in range(n):
        flat = tmp_path / f"{i}.csv"
        flat.write_text(f"task_key,label,annotator\nt1,{'ab'[i % 2]},x@y\nt{i + 2},a,x@y\n")
        repo.snapshot(str(flat), config=str(cfg) if i == 0 else None, message=f"round {i}")
    return annover.Repo(".")


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    from annover.cli import run

    capsys.readouterr()
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _every_tag_checked(monkeypatch) -> None:
    """As before: every git tag checked, whatever the command prints."""
    from annover.repo.core import RepoCore

    monkeypatch.setattr(RepoCore, "_wanted", lambda self, commits, files, at_head: commits)


COMMANDS = [("log", "-n", "1"), ("log", "-n", "2", "--json"), ("log", "-n", "9", "--oneline"), ("show", "v2"),
            ("show", "v2", "--json"), ("show", "v1"), ("show",), ("show", "v4", "--config"), ("log",)]


def _same_as_every_tag_checked(capsys, monkeypatch, commands=COMMANDS) -> dict:
    got = {c: _cli(capsys, *c) for c in commands}
    with monkeypatch.context() as m:
        _every_tag_checked(m)
        for c in commands:
            assert _cli(capsys, *c) == got[c], c
    return got


def test_log_n_and_show_read_the_version_of_the_printed_versions_tags_only(tmp_path, monkeypatch, capsys):
    from annover.store.git import Git

    _versions(tmp_path, monkeypatch, 6)
    asked: list[str] = []
    blobs = Git.blobs
    monkeypatch.setattr(Git, "blobs", lambda self, specs: asked.extend(specs) or blobs(self, specs))
    for args in (("log", "-n", "1"), ("show", "v2"), ("show",)):
        asked.clear()
        assert _cli(capsys, *args)[0] == 0
        at = [s for s in asked if s.endswith(":.annover/HEAD")]
        assert len(at) <= 2, (args, at)  # the printed version's tag's commit (and HEAD's); was: one a tag
        assert not [s for s in asked if ":.annover/refs/tags/" in s], asked  # HEAD's tag files: one ls-tree
    asked.clear()
    _cli(capsys, "log")  # every version printed: every tag checked
    assert len([s for s in asked if s.endswith(":.annover/HEAD")]) >= 6


def test_a_git_tag_moved_by_hand_is_still_reported_by_log_n_and_show(tmp_path, monkeypatch, capsys):
    repo = _versions(tmp_path, monkeypatch)
    v2, v4 = repo.resolve("v2"), repo.resolve("v4")
    git("tag", "-f", "v1", "v2", cwd=repo.root)  # moved onto a printed version's commit
    printing_v1_or_v2 = [("log", "-n", "9", "--oneline"), ("log", "-n", "3"), ("show", "v2"), ("show", "v2", "--json"),
                         ("show", "v1")]
    got = _same_as_every_tag_checked(capsys, monkeypatch, printing_v1_or_v2)
    assert "git's tag v1 does not name" in got[("log", "-n", "3")][2]
    code, out, err = got[("show", "v2")]
    assert code == 0 and "git's tag v1 does not name the version annover recorded" in err
    assert sorted(json.loads(got[("show", "v2", "--json")][1])["tags"]) == ["v1", "v2"]
    assert got[("show", "v1")][0] == 7
    git("tag", "-f", "v1", "v4", cwd=repo.root)  # onto the version log -n 1 prints, from one it does not
    code, out, err = _same_as_every_tag_checked(capsys, monkeypatch, [("log", "-n", "1", "--json")])[
        ("log", "-n", "1", "--json")]
    assert sorted(json.loads(out)[0]["tags"]) == ["v1", "v4"] and json.loads(out)[0]["id"] == v4
    assert "git's tag v1 does not name the version annover recorded" in err and v2 != v4
    git("tag", "-f", "v1", "v3", cwd=repo.root)  # between two versions log -n 1 and show v4 do not print
    for args in (("log", "-n", "1"), ("show", "v4")):
        assert "git's tag v1" not in _cli(capsys, *args)[2], args  # said by the commands that read every tag:
    assert "moved tag: git's tag v1 does not name" in _cli(capsys, "status", "--no-remote")[1]
    assert "git's tag v1 does not name" in _cli(capsys, "log")[2] and _cli(capsys, "show", "v1")[0] == 7


def test_a_tag_file_moved_by_hand_is_still_reported_by_log_n_and_show(tmp_path, monkeypatch, capsys):
    repo = _versions(tmp_path, monkeypatch)
    (repo.dir / "refs" / "tags" / "v1").write_text(repo.resolve("v4") + "\n")
    got = _same_as_every_tag_checked(capsys, monkeypatch)
    assert "was changed by hand" in got[("log", "-n", "1")][2]
    assert "was changed by hand" in got[("show", "v2")][2]  # a tag file is compared with HEAD's, every one


def test_the_users_own_git_tags_and_other_versions_tags(tmp_path, monkeypatch, capsys):
    repo = _versions(tmp_path, monkeypatch)
    root = repo.root
    git("tag", "mine", "v2", cwd=root)  # a user's tag: no tag file
    git("commit", "-q", "--allow-empty", "-m", "notes", cwd=root)
    git("tag", "later", "HEAD", cwd=root)  # on a commit that made no version, holding v4
    git("tag", "-a", "-m", "annotated", "ann", "v3", cwd=root)
    repo.tag("best", "v1")  # annover's, on another version
    got = _same_as_every_tag_checked(capsys, monkeypatch)
    assert sorted(json.loads(got[("show", "v2", "--json")][1])["tags"]) == ["mine", "v2"]
    assert json.loads(got[("log", "-n", "2", "--json")][1])[0]["tags"] == ["v4", "later"]  # best: v1's, not shown
    assert "best" not in got[("log", "-n", "9", "--oneline")][1].splitlines()[0]
    assert "best" in got[("log", "-n", "9", "--oneline")][1]


def test_an_old_checkout_and_a_deleted_git_tag_read_as_before(tmp_path, monkeypatch, capsys):
    repo = _versions(tmp_path, monkeypatch)
    root = repo.root
    repo.tag("best", "v3")
    git("tag", "-d", "v2", cwd=root)
    _same_as_every_tag_checked(capsys, monkeypatch)
    git("checkout", "-q", "v1", cwd=root)  # HEAD's tag files know nothing of v2..v4 nor best
    _same_as_every_tag_checked(capsys, monkeypatch, [c for c in COMMANDS if c != ("show", "v4", "--config")])
