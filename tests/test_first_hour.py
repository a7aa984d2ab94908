"""A first hour with annover as a git / DVC user would spend it: what they type without reading."""

from __future__ import annotations

import fnmatch
import json
import os
import signal
import subprocess
import sys

import click

from annover.cli import GIT_WORDS, main

from .conftest import git
from .test_cli import invoke

_CTRL_C_IN_A_SNAPSHOT = """
import os, signal, sys
from annover import cli
from annover.repo import snapshot
signal.signal(signal.SIGINT, signal.default_int_handler)  # as on a terminal, whatever ran pytest
real = snapshot.maybe_die

def ctrl_c(stage):  # the user's Ctrl-C lands while the snapshot stores its objects
    if stage == snapshot.Stage.AFTER_DVC_ADD:
        os.kill(os.getpid(), signal.SIGINT)
    real(stage)

snapshot.maybe_die = ctrl_c
sys.argv = ["annover", "snapshot", "--from", "round2.json", "-m", "round 2"]
cli.entry()
"""


def test_ctrl_c_in_a_snapshot_is_one_line_and_commits_nothing(repo):
    """Ctrl-C in the middle of a snapshot: exit 130 and one line, ``Interrupted.``, as annover's
    other handlers say it; click's KeyboardInterrupt handler wrote a blank line, then ``Aborted.``."""
    v1 = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1").version
    before = git("log", "--oneline", "--all", cwd=repo.root)
    p = subprocess.run([sys.executable, "-c", _CTRL_C_IN_A_SNAPSHOT],
                       cwd=repo.root, capture_output=True, text=True, timeout=120)
    assert p.returncode == 128 + signal.SIGINT, (p.returncode, p.stderr[-2000:])
    assert p.stderr == "Interrupted.\n"
    assert p.stdout == ""
    assert git("log", "--oneline", "--all", cwd=repo.root) == before  # nothing committed
    code, out, err = invoke("log", "--oneline")
    assert code == 0 and out.split()[0] == v1.id[:12], (out, err)


def test_a_typo_of_a_command_names_the_one_meant():
    """``annover stauts``: click's suggestion looked in the commands loaded, none in a lazy group, so
    a typo of a command got no 'Did you mean'; a git word (``commit``) now names annover's command."""
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        typo = name[:-2] + name[-1] + name[-2]  # the last two letters swapped
        if typo in main.list_commands(ctx) or len(name) < 4:  # gc and cg: too few letters to tell a typo
            continue
        code, out, err = invoke(typo)
        assert code == 2 and out == "", (typo, err)
        assert f"No such command {typo!r}. Did you mean " in err and repr(name) in err, err
        assert len(err.splitlines()) == 1, err
    for word, job in GIT_WORDS.items():
        code, _, err = invoke(word, "-m", "round 1")
        assert code == 2 and f"No such command {word!r}: {job}" in err, err
    code, _, err = invoke("xyzzy")
    assert code == 2 and err.startswith("Error: No such command 'xyzzy'. — see"), err


def test_log_takes_a_count_as_git_log_does(two_rounds):
    """``annover log -1`` (as ``git log -1``) was 'No such option'; it is ``-n 1``, before or after
    other options. A ``-1`` that is an option's value (``--task -1``) stays the value."""
    versions = [line.split()[0] for line in invoke("log", "--oneline")[1].splitlines()]
    for n in range(1, len(versions) + 1):
        for args in (["log", f"-{n}", "--oneline"], ["log", "--oneline", f"-{n}"]):
            code, out, err = invoke(*args)
            assert code == 0, err
            assert [line.split()[0] for line in out.splitlines()] == versions[:n]
            assert invoke(*args)[1] == invoke("log", "--oneline", "-n", str(n))[1]
    code, out, err = invoke("log", "--task", "-1")
    assert code == 0 and "'-1'" in err, err  # the task key -1, which no version holds


def test_tag_lists_with_l_and_a_pattern_as_git_tag_does(two_rounds):
    """``annover tag -l`` / ``--list`` (git's spelling of the listing) was 'No such option' (and
    --list suggested --quiet); ``-l PATTERN`` lists the tags matching it, as ``git tag -l 'v*'``."""
    repo, v1, _ = two_rounds
    assert invoke("tag", "round-a", "v1", "-q")[0] == 0
    listed = invoke("tag")[1]
    names = [line.split()[0] for line in listed.splitlines()]
    assert invoke("tag", "-l") == (0, listed, "") and invoke("tag", "--list") == (0, listed, "")
    for pattern in ("v*", "round-?", "[vr]*", "nothing*"):
        code, out, err = invoke("tag", "-l", pattern)
        assert code == 0, err
        assert [line.split()[0] for line in out.splitlines()] == [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    code, out, _ = invoke("tag", "-l", "round-*", "--json")
    assert code == 0 and json.loads(out) == [{"tag": "round-a", "version": v1.id}]
    for args in (["-l", "v*", "v1"], ["-l", "-d", "v1"], ["-l", "--force"]):
        code, out, err = invoke("tag", *args)
        assert code == 2 and out == "" and len(err.splitlines()) == 1, (args, err)
    assert git("tag", "-l", cwd=repo.root).split() == sorted(names)  # listing changed nothing


def test_log_of_a_range_lists_what_b_has_and_a_has_not(two_rounds):
    """``annover log v1..v3`` (as ``git log v1..v3``) was 'unknown revision'; it lists the versions
    B reaches and A does not, newest first (a side left out is HEAD), with -N and --json too."""
    repo, _, _ = two_rounds
    repo.snapshot("round1.json", message="round 1 again")  # v3

    def listed(*args: str) -> list[str]:
        code, out, err = invoke("log", "--json", *args)
        assert code == 0, err
        return [v["id"] for v in json.loads(out)] if out else []

    for a, b in (("v1", "v3"), ("v2", "v3"), ("v1", "v2"), ("v3", "v1"), ("HEAD~1", "HEAD")):
        hidden = {v.id for v in repo.log(a)}
        assert listed(f"{a}..{b}") == [v.id for v in repo.log(b) if v.id not in hidden], (a, b)
        assert listed(f"{a}..{b}", "-1") == listed(f"{a}..{b}")[:1]
    assert listed("v1..") == listed("v1..HEAD") and listed("..v1") == listed("HEAD..v1") == []
    code, _, err = invoke("log", "v3..v1")
    assert code == 0 and "no versions in v3..v1" in err, err
    # A...B, as git log: what either reaches alone; on one line of history, A..B or B..A
    assert listed("v1...v3") == listed("v3...v1") == listed("v1..v3")
    code, out, err = invoke("log", "v1..v3", "--task", "rev-003")
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err


def test_ctrl_c_in_a_snapshot_leaves_git_status_as_it_was(repo):
    """After a Ctrl-C in a snapshot, ``git status`` showed its half-written work (``M .annover/objects.dvc``,
    an untracked version record) until the next command that writes: a read (``log``, ``status``) left
    them, and a ``git commit -a`` would have committed them. The interrupted command takes them back."""
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1")
    before = git("status", "--porcelain", cwd=repo.root)
    p = subprocess.run([sys.executable, "-c", _CTRL_C_IN_A_SNAPSHOT], cwd=repo.root, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 128 + signal.SIGINT, (p.returncode, p.stderr[-2000:])
    assert git("status", "--porcelain", cwd=repo.root) == before


_CHOICES = """<View><Text name="text" value="$text"/>
<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>"""


def test_export_to_a_reader_that_leaves_says_not_that_it_wrote_all(repo, tmp_path):
    """``PYTHONUNBUFFERED=1 annover export v1 --format csv --out - | head -c 100``: standard output is
    then a raw file, whose write takes what the pipe holds and returns its count; annover took the
    part for the whole and said ``wrote standard output (csv, N bytes)`` for bytes the reader never got."""
    tasks = [{"id": i, "data": {"text": f"task {i} " + "words " * 200},
              "annotations": [{"id": i, "completed_by": 1, "result": [
                  {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]}]}
             for i in range(1, 400)]
    (tmp_path / "big.json").write_text(json.dumps(tasks))
    (tmp_path / "choices.xml").write_text(_CHOICES)
    repo.snapshot(str(tmp_path / "big.json"), config=str(tmp_path / "choices.xml"), message="big")
    annover = [sys.executable, "-c", "from annover.cli import entry; entry()"]
    export = subprocess.Popen([*annover, "export", "HEAD", "--format", "csv", "--table", "tasks", "--out", "-"],
                              cwd=repo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert export.stdout is not None and export.stderr is not None
    head = export.stdout.read(100)  # as head -c 100: read a little, then leave
    export.stdout.close()
    err = export.stderr.read().decode()
    assert export.wait(timeout=120) == 0 and len(head) == 100, err
    assert "wrote" not in err and "Traceback" not in err, err
