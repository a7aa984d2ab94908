"""What the daily commands start: the modules a process imports, the git commands it runs, how
often it opens DVC's repository. No timings (benchmarks/bench_cli_start.py measures them): each
test counts something a slower start would have more of, in a real process or on real git/DVC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dvc.repo
import pytest

from annover.store import git as G
from tests.conftest import git, run_cli

HEAVY = {"pandas", "numpy", "pyarrow", "duckdb", "dvc", "dvc_data", "label_studio_sdk", "jsonschema", "rich",
         "datasets", "pydantic", "httpx"}

#: ``annover ARGS``, then the names of the modules loaded, one JSON line on stdout
SHOW_MODULES = ("import json, sys\nfrom annover.cli import run\ncode = run(sys.argv[1:])\n"
                "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))")


def modules_of(root: Path, *args: str) -> set[str]:
    """The top-level packages a new ``annover ARGS`` process has imported when it ends."""
    p = subprocess.run([sys.executable, "-c", SHOW_MODULES, *args], cwd=root, capture_output=True, text=True,
                       timeout=120)
    last = json.loads(p.stdout.strip().splitlines()[-1])
    assert last["code"] == 0, p.stderr
    return {m.split(".")[0] for m in last["modules"]}


def git_commands(root: Path, tmp: Path, *args: str) -> list[list[str]]:
    """The git commands a new ``annover ARGS`` process runs, each as its argv after ``git``, read from
    git's own trace (``GIT_TRACE``: every git process writes a line as it starts)."""
    trace = tmp / f"git-trace-{len(list(tmp.glob('git-trace-*')))}"
    run_cli(*args, cwd=root, env={"GIT_TRACE": str(trace)}, check=True)
    out = []
    for ln in trace.read_text().splitlines():
        if "trace: built-in: git " in ln:
            out.append(ln.split("trace: built-in: git ", 1)[1].split())
    return out


@pytest.fixture
def rounds(two_rounds):
    repo, v1, v2 = two_rounds
    repo.tag("good", v2.id)
    return repo


@pytest.mark.parametrize("args", [("log",), ("show", "v2"), ("tag",), ("log", "--json"), ("status", "--no-remote"),
                                  ("--help",), ("tag", "--help"), ("config", "list")])
def test_reading_commands_import_no_heavy_library(rounds, args):
    """`log`, `show`, `tag`, `status --no-remote`, `config list` and the helps read git's files and
    annover's small records: none of pyarrow, DuckDB, DVC, pandas, the SDK or rich is theirs to load."""
    loaded = modules_of(rounds.toplevel, *args)
    assert "annover" in loaded
    assert not loaded & HEAVY, f"annover {' '.join(args)} imported {sorted(loaded & HEAVY)}"


def test_export_jsonl_imports_no_pandas_duckdb_dvc_or_sdk(rounds, tmp_path):
    """A JSONL export reads Parquet (pyarrow) and writes lines: no pandas, DuckDB, DVC or SDK."""
    loaded = modules_of(rounds.toplevel, "export", "v2", "--format", "jsonl", "--out", str(tmp_path / "v2.jsonl"))
    assert (tmp_path / "v2.jsonl").stat().st_size > 0
    assert not loaded & {"pandas", "duckdb", "dvc", "label_studio_sdk", "jsonschema", "rich"}, sorted(loaded & HEAVY)


def _head_reads(cmds: list[list[str]]) -> list[list[str]]:
    """The git runs that ask where HEAD is: ``rev-parse ... HEAD^{commit}`` and ``symbolic-ref HEAD``."""
    return [c for c in cmds if (c[0] == "rev-parse" and c[-1] == "HEAD^{commit}") or c[0] == "symbolic-ref"]


def test_snapshot_reads_head_from_gits_files(rounds, tmp_path):
    """A snapshot asks where HEAD is before it reads, and again under the lock and as it commits:
    each time from git's files (a plain `.git`), never by running git (it did 8 times), and the
    version HEAD names in HEAD's commit once (it read it twice, before the lock and under it)."""
    root = rounds.toplevel
    (root / "round3.json").write_text(json.dumps(json.loads((root / "round1.json").read_text())[:3]))
    cmds = git_commands(root, tmp_path, "snapshot", "--from", "round3.json", "-m", "round 3", "-q")
    assert _head_reads(cmds) == []
    head_files = [c for c in cmds if c[0] == "cat-file" and c[-1].endswith(":.annover/HEAD")]
    assert head_files == []
    assert git("describe", "--tags", "--exact-match", "HEAD", cwd=root).strip() == "v3"
    assert rounds.head() == json.loads(run_cli("show", "HEAD", "--json", cwd=root, check=True).stdout)["id"]


def test_status_and_dry_run_run_no_git_for_head(rounds, tmp_path):
    root = rounds.toplevel
    for args in (("status", "--no-remote"), ("snapshot", "--from", "round2.json", "--dry-run")):
        assert _head_reads(git_commands(root, tmp_path, *args)) == [], args


def test_detached_head_still_refused(rounds):
    """HEAD read from git's file: a detached HEAD is still seen, and a snapshot there refused (exit 6)."""
    root = rounds.toplevel
    git("checkout", "-q", "v1", cwd=root)
    p = run_cli("snapshot", "--from", "round2.json", "-m", "here", cwd=root)
    assert p.returncode == 6 and "detached" in p.stderr
    git("switch", "-q", "main", cwd=root)
    assert run_cli("snapshot", "--from", "round1.json", "-m", "back", "-q", cwd=root).returncode == 0


def _gits_branch(root: Path) -> str | None:
    p = subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], cwd=root, capture_output=True, text=True)
    return p.stdout.strip() or None


def _gits_head(root: Path) -> str | None:
    p = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD^{commit}"], cwd=root, capture_output=True,
                       text=True)
    return p.stdout.strip() or None


def test_branch_and_head_agree_with_git(tmp_path):
    """Git.branch() and Git.head_commit(), read from git's files, say what git says: an unborn
    branch, a commit, a packed branch, a detached HEAD, a branch named with a slash, a linked work tree."""
    root = tmp_path / "r"
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    states = []

    def check(where: Path) -> None:
        g = G.Git(where)
        assert (g.branch(), g.head_commit()) == (_gits_branch(where), _gits_head(where))
        states.append((g.branch(), g.head_commit()))

    check(root)  # unborn
    (root / "f").write_text("1")
    git("add", "f", cwd=root)
    git("commit", "-q", "-m", "one", cwd=root)
    check(root)
    git("pack-refs", "--all", cwd=root)
    check(root)
    git("switch", "-q", "-c", "team/relabel", cwd=root)
    check(root)
    git("checkout", "-q", "--detach", cwd=root)
    check(root)
    git("worktree", "add", "-q", str(tmp_path / "wt"), "-b", "other", cwd=root)
    check(tmp_path / "wt")
    assert {b for b, _ in states} == {None, "refs/heads/main", "refs/heads/team/relabel", "refs/heads/other"}


def test_push_opens_dvcs_repo_once(rounds, monkeypatch):
    """A push asks DVC's repo for the remote's objects and then for the remote's name: one repo,
    opened once (it was opened twice; a pull's transfer likewise, its checkout opening its own)."""
    opened = []
    real = dvc.repo.Repo.__init__

    def counting(self, *a, **k):
        opened.append(a)
        return real(self, *a, **k)

    monkeypatch.setattr(dvc.repo.Repo, "__init__", counting)
    out = rounds.push()
    assert sorted(out.moved + out.up_to_date) == sorted(v.id for v in rounds.log()) and out.remote is not None
    assert len(opened) == 1
    opened.clear()
    out = rounds.pull()
    assert sorted(out.up_to_date) == sorted(v.id for v in rounds.log()) and out.remote is not None
    assert len(opened) == 2  # the transfer, then the checkout
    assert os.path.isfile(rounds.dir / "objects.dvc")


@pytest.mark.parametrize("args", [("log", "--help"), ("show", "--help"), ("tag", "--help"), ("revert", "--help"),
                                  ("reset", "--help"), ("snapshot", "--help"), ("init", "--help")])
def test_help_of_a_command_opens_no_repository_code(tmp_path, args):
    """A command's --help is its click options: the repository's modules (annover.repo, annover.store)
    load when the command runs, not for its help (they did: about 40 ms of a 100 ms process)."""
    p = subprocess.run([sys.executable, "-c", SHOW_MODULES, *args], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    last = json.loads(p.stdout.strip().splitlines()[-1])
    assert last["code"] == 0 and "Usage: annover" in p.stdout, p.stderr
    loaded = [m for m in last["modules"] if m.startswith(("annover.repo", "annover.store"))]
    assert loaded == [], loaded
