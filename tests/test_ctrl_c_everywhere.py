"""Ctrl-C is one line, ``Interrupted.``, and exit 130 wherever it lands: while ``annover`` parses
its own options or writes a ``--help`` page, while a command's module loads, at a question.
Each test sends a real SIGINT to a real ``annover`` process."""

from __future__ import annotations

import contextlib
import os
import pty
import signal
import subprocess
import sys
import time

import pytest

from annover.cli import COMMANDS

from .test_audit_team_cli import _read_until

_CTRL_C_AT_A_LOOKUP = """
import os, runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as on a terminal, whatever ran pytest
module, sys.argv = sys.argv[1], ["annover", *sys.argv[2:]]
class CtrlC:  # the user's Ctrl-C lands while the command line looks the module up (imports, lists it)
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == module:
            sys.meta_path.remove(CtrlC)
            os.kill(os.getpid(), signal.SIGINT)
sys.meta_path.insert(0, CtrlC)
runpy.run_module("annover", run_name="__main__", alter_sys=True)
"""

_LOG = COMMANDS["log"][0].split(":")[0]  # the module of `annover log`
_FIRST = COMMANDS[next(iter(COMMANDS))][0].split(":")[0]  # the first module `annover --help` lists


@pytest.mark.parametrize("module, args", [
    (_FIRST, ["--help"]),  # annover's own help page: it looks every command's module up
    (_FIRST, ["-h"]),
    ("importlib.metadata", ["--version"]),  # annover's --version reads the installed package's metadata
    (_LOG, ["log"]),  # the command's module loads
    (_LOG, ["log", "--help"]),  # the command's help page
])
def test_ctrl_c_while_the_command_line_parses_is_one_line(tmp_path, module, args):
    """A Ctrl-C while ``annover --help`` or ``--version`` was being written went to click's own
    handler: a blank line, then ``Aborted.``; inside a command it was ``Interrupted.``."""
    p = subprocess.run([sys.executable, "-c", _CTRL_C_AT_A_LOOKUP, module, *args], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 130, (p.returncode, p.stderr[-2000:])
    assert p.stderr == "Interrupted.\n"


def _sigint_as_on_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a shell's `&` that ran pytest ignores it


def test_ctrl_c_at_a_question_is_interrupted_and_a_no_is_aborted(two_rounds):
    """``annover reset`` asks before it drops versions. Ctrl-C at the question was click's
    ``Aborted.``, as answering no is: it is the interruption, ``Interrupted.``, as everywhere
    else. Answering no stays ``Aborted.``. Both exit 130 and drop nothing."""
    repo, _, v2 = two_rounds
    for answer in (None, b"n\n"):
        master, slave = pty.openpty()
        p = subprocess.Popen([sys.executable, "-m", "annover", "reset", "v1"], cwd=repo.root, stdin=slave,
                             stderr=slave, stdout=subprocess.PIPE, preexec_fn=_sigint_as_on_a_terminal)
        os.close(slave)
        try:
            shown = _read_until(master, "Drop 1 version(s)")
            if answer is None:
                _ctrl_c_until_it_ends(p)
            else:
                os.write(master, answer)
            code = p.wait(timeout=120)
            shown += _the_rest(master)
        finally:
            p.kill()
            os.close(master)
        assert code == 130, shown
        lines = shown.replace("\r", "").rstrip("\n").splitlines()
        assert len(lines) >= 2 and lines[-2].startswith("Drop 1 version(s)"), shown  # its own line, after the question
        assert lines[-1] == ("Interrupted." if answer is None else "Aborted."), shown
        assert repo.head() == v2.id


def _ctrl_c_until_it_ends(p: subprocess.Popen) -> None:
    """Ctrl-C, again every second while the process runs: one that lands after Python wrote the question
    but before it waits for the answer is seen only when the read returns (CPython's input() reads on)."""
    end = time.monotonic() + 120
    while p.poll() is None and time.monotonic() < end:
        p.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(1)


def _the_rest(master: int) -> str:
    """What the terminal shows after the process ended."""
    chunks = []
    with contextlib.suppress(OSError):  # EIO: the process closed the terminal, all it wrote read
        while chunk := os.read(master, 4096):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")
