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
