"""Bad input that was let through, or waited on, before: a named pipe given to an option that reads
a whole file; control characters in a training format's image file names; a CoNLL file of O tags
only; boxes outside their image and image sizes that are nonsense. Each case runs the real
command line (a subprocess where a wait could hang) on real files in a real repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import EXAMPLES
from .test_malformed_inputs import v1_repo  # noqa: F401  (a fixture)

CONFIG = EXAMPLES / "labeling.xml"
READ_CACHE = ".git/annover-index-agrees"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and str(p.relative_to(root)) != READ_CACHE and p.name != "lock"}


def _cli(*args: str, cwd: Path, fds: tuple[int, ...] = (), timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([sys.executable, "-m", "annover", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=timeout, pass_fds=fds)


def _one_line(p: subprocess.CompletedProcess, code: int, *says: str) -> None:
    assert p.returncode == code, p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr, p.stderr
    for s in says:
        assert s in p.stderr, p.stderr


@pytest.fixture(scope="module")
def v1(v1_repo):
    return v1_repo


# ---------------------------------------------------------------------------
# 1. a named pipe given to an option that reads a whole file


def _pipe_args(option: str, fifo: Path) -> list[str]:
    snap = ["snapshot", "--from", str(EXAMPLES / "round2.json"), "-m", "pipe", "--dry-run"]
    return {"--config": [*snap, "--config", str(fifo)],
            "--users": [*snap, "--users", str(fifo)],
            "--source": [*snap, "--source", str(fifo)],
            "--tasks-from": ["export", "v1", "--format", "csv", "--out", str(fifo.parent / "o.csv"),
                             "--tasks-from", str(fifo)],
            "FILE": ["config", "validate", str(fifo)],
            "--from": ["snapshot", "--from", str(fifo), "--format", "label-studio", "-m", "pipe"]}[option]


@pytest.mark.parametrize("option", ["--config", "--users", "--source", "--tasks-from", "FILE", "--from"])
def test_a_named_pipe_no_one_writes_is_refused_not_waited_on(v1, option):
    # was: --config, --tasks-from, config validate and --from with --format label-studio waited forever;
    # --users said "no such file" (exit 14); --source was taken for a folder of no files
    fifo = v1 / f"pipe-{option.strip('-').lower()}"  # inside the repository: --source must be
    os.mkfifo(fifo)
    try:
        before = _tree(v1)
        p = _cli(*_pipe_args(option, fifo), cwd=v1, timeout=60)
        _one_line(p, 3, f"{fifo}: is a named pipe, not a file ({option})", "write the")
        assert _tree(v1) == before
    finally:
        fifo.unlink()


def _through_a_pipe(data: bytes, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``annover ARGS`` with ``{fd}`` in ARGS replaced by a pipe a child writes ``data`` to, as a
    shell's ``<(command)`` is."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the writer
        os.close(r)
        with os.fdopen(w, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(w)
    try:
        return _cli(*[a.replace("{fd}", f"/dev/fd/{r}") for a in args], cwd=cwd, fds=(r,), timeout=120)
    finally:
        os.close(r)
        os.waitpid(pid, 0)


def test_a_pipe_the_shell_opened_is_still_read_where_it_is_read_once(v1, tmp_path):
    # `--config <(...)`, `--tasks-from <(...)`, `config validate <(...)` were read, and still are;
    # `--users <(...)` said "no such file": it is read once too, so it is read now
    snap = ["snapshot", "--from", str(EXAMPLES / "round2.json"), "-m", "pipe", "--dry-run"]
    p = _through_a_pipe(CONFIG.read_bytes(), [*snap, "--config", "{fd}"], v1)
    assert p.returncode == 0 and "would record v2" in p.stderr, p.stderr
    p = _through_a_pipe(b'{"1": "one@example.com"}', [*snap, "--users", "{fd}"], v1)
    assert p.returncode == 0 and "would record v2" in p.stderr, p.stderr
    p = _through_a_pipe(CONFIG.read_bytes(), ["config", "validate", "{fd}"], v1)
    assert p.returncode == 0 and "valid" in p.stderr, p.stderr
    keys = json.loads((EXAMPLES / "round1.json").read_text())[0]["data"]["ext_id"].encode()
    out = tmp_path / "one.csv"
    p = _through_a_pipe(keys + b"\n", ["export", "v1", "--format", "csv", "--out", str(out), "--tasks-from", "{fd}"], v1)
    assert p.returncode == 0, p.stderr
    assert len(out.read_text().splitlines()) >= 2
