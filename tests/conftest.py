"""Shared fixtures: real git, real DVC, a local DVC remote in a temp folder."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "sentiment"
DATA = Path(__file__).resolve().parent / "data"

# DVC's command line sends a usage report from a daemon it spawns, writing the report to a
# temporary file first; the tests run ``dvc`` often, the network here is loopback only, and
# each report was left behind in the temporary folder. Set before any fixture runs ``dvc``.
os.environ["DVC_NO_ANALYTICS"] = "1"

# Property tests: CI (``.ci/run``) runs the "ci" profile, the same examples for the same code on every clean clone,
# so a run's verdict is the code's; ``.ci/soak`` explores with fresh seeds, round after round, and prints the seed
# of any round that fails (``pytest --hypothesis-seed=SEED`` replays it). A test's own settings come first.
# No deadline: an example's time is the machine's load (a loaded CI runner failed a 200 ms deadline on a
# first example that imported a library), and no test here asserts a timing.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("soak", database=None, print_blob=True, deadline=None)


def shared_corpus(kind: str) -> Path:
    """The shared corpus's folder ``kind`` ("label-studio", "formats"), read in place: beside the
    project, or (a clone elsewhere, as CI's) where this machine keeps it."""
    here = ROOT.parent / "shared" / "corpus" / kind
    return here if here.is_dir() else Path("/work/shared/corpus") / kind


@contextmanager
def pipe_of(data: bytes) -> Iterator[int]:
    """The read end of a pipe a child process writes ``data`` to, as a shell's ``<(command)``
    is (``/dev/fd/N`` of it names a pipe handed open; pass the descriptor to the command)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the writer
        os.close(r)
        with os.fdopen(w, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(w)
    try:
        yield r
    finally:
        os.close(r)
        os.waitpid(pid, 0)


@pytest.fixture(scope="session")
def _cache_home(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch, _cache_home):
    """Nothing a test does lands in the home folder; git has an identity."""
    home = tmp_path_factory.mktemp("remotes")
    monkeypatch.setenv("ANNOVER_REMOTE_HOME", str(home))
    monkeypatch.setenv("ANNOVER_CACHE_DIR", str(_cache_home))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Author")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "author@example.com")
    monkeypatch.delenv("ANNOVER_TEST_KILL_AT", raising=False)
    yield


def example_repo(root: Path):
    """A fresh annover repository at ``root`` with the sample dataset (its JSON and XML) copied in."""
    import annover

    r = annover.init(root)
    for f in EXAMPLES.iterdir():
        if f.suffix in (".json", ".xml"):
            shutil.copy(f, root / f.name)
    return r


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A fresh annover repository (cwd) with the sample dataset copied in."""
    r = example_repo(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    return r


@pytest.fixture
def two_rounds(repo):
    """The sample dataset snapshotted twice: v1 (round 1) and v2 (round 2)."""
    r1 = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1")
    r2 = repo.snapshot("round2.json", key="data.ext_id", message="round 2")
    return repo, r1.version, r2.version


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, check: bool = False,
            timeout: float = 120, process: bool = False) -> subprocess.CompletedProcess:
    """``annover ARGS`` as a user runs it: exit code, stdout, stderr.

    In this process by default (``annover.cli.run``, the entry point's own handler of errors and
    exit codes, with ``cwd`` and ``env`` set for the call), as a notebook calls the library again and
    again; a command's process cost about half a second of CPU, most of it imports, at every call.
    ``process=True`` (or ``ANNOVER_TEST_CLI_PROCESS=1`` for every call) runs the real entry point in
    a subprocess: for kill, concurrency and terminal tests, and what depends on a fresh process; a call
    that sets ``ANNOVER_TEST_KILL_AT`` (the command kills itself at a stage) always has its process."""
    if process or os.environ.get("ANNOVER_TEST_CLI_PROCESS") or "ANNOVER_TEST_KILL_AT" in (env or {}):
        p = subprocess.run([sys.executable, "-m", "annover", *args], cwd=cwd, capture_output=True, text=True,
                           env={**os.environ, **(env or {})}, timeout=timeout)
    else:
        p = _run_here(list(args), cwd, env or {})
    if check and p.returncode != 0:
        raise AssertionError(f"annover {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def _run_here(args: list[str], cwd: Path | None, env: dict) -> subprocess.CompletedProcess:
    """:func:`run_cli` in this process: stdin empty, stdout and stderr captured apart."""
    from click.testing import CliRunner

    from annover.cli import run

    before = Path.cwd()
    try:
        os.chdir(cwd or before)
        with CliRunner().isolation(env={k: str(v) for k, v in env.items()}) as (out, err, _):
            code = run(args)
            sys.stdout.flush()
            sys.stderr.flush()
            stdout, stderr = out.getvalue(), err.getvalue()
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(["annover", *args], code, stdout.decode(errors="replace"),
                                       stderr.decode(errors="replace"))


def dvc_status_clean(root: Path) -> None:
    """What ``dvc status -q`` checks, exit 0: every output DVC tracks in ``root`` matches its pointer
    file and is in the cache. DVC's own call in this process (the one its command line makes), where
    the command was half a second of CPU, most of it imports, at every check."""
    from dvc.repo import Repo as DvcRepo

    with DvcRepo(str(root)) as dvc:
        changed = dvc.status()
    assert changed == {}, changed


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def on_a_terminal(*args: str) -> tuple[int, str, str]:
    """``annover ARGS`` as a process whose stderr is a terminal (a pseudo-terminal) and whose
    stdout is a pipe: (exit code, stdout, what the terminal showed)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "TERM": "xterm", "COLUMNS": "100"}
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([sys.executable, "-m", "annover", *args], env=env, stdout=subprocess.PIPE,
                             stderr=slave, stdin=subprocess.DEVNULL)
        os.close(slave)
        shown = bytearray()
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the process closed its end
                break
            if not chunk:
                break
            shown += chunk
        out = p.stdout.read().decode()
        code = p.wait()
    finally:
        os.close(master)
    return code, out, shown.decode(errors="replace")
