"""``-q`` is quiet as ``git -q`` (docs/commands.md): no progress, no summary, no notes on stderr;
warnings and errors are still said, and stdout is as without it. ``export -q`` used to print its
``wrote ...`` line and its notes all the same.

One module-scoped repository: the sample's round 1 (texts with a sentiment choice and entity spans).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import example_repo
from .test_cli import invoke

#: a CoNLL export of one task and a key no task has: a note (the choice has no place in CoNLL), a
#: warning (the key), and the "wrote" line
EXPORT = ("export", "v1", "--format", "conll", "--task", "rev-001", "--task", "no-such-task", "--force", "--out")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("quiet") / "repo"
    root.mkdir()
    repo = example_repo(root)
    repo.snapshot(str(root / "round1.json"), config=str(root / "labeling.xml"), key="data.ext_id", message="r1")
    return root


def _run(root: Path, *args: str) -> tuple[int, str, list[str]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        code, out, err = invoke(*args)
    return code, out, err.splitlines()


def test_export_q_says_only_its_warnings(root):
    code, out, err = _run(root, *EXPORT, "loud.conll")
    assert code == 0 and out == ""
    assert [line.split(" ")[0] for line in err] == ["note:", "warning:", "wrote"]  # what -q leaves out, below
    code, out, quiet = _run(root, *EXPORT, "quiet.conll", "-q")
    assert code == 0 and out == ""
    assert quiet == [err[1]] and err[1].startswith("warning: 1 of the task keys given")
    assert (root / "quiet.conll").read_bytes() == (root / "loud.conll").read_bytes()


def test_export_q_to_stdout_writes_the_data_alone(root):
    code, out, err = _run(root, "export", "v1", "--format", "jsonl", "--out", "-", "-q")
    assert code == 0 and err == [] and out.count("\n") > 1


@pytest.mark.parametrize("args", [("gc",), ("snapshot", "--from", "round1.json", "-m", "again", "-n"),
                                  ("export", "v1", "--format", "csv", "--force", "--out", "v1.csv")])
def test_every_q_leaves_only_warnings_on_stderr(root, args):
    code, _, err = _run(root, *args, "-q")
    assert code == 0 and all(line.startswith(("warning:", "repaired:")) for line in err), err


def test_the_help_says_what_q_leaves_out():
    for cmd in ("export", "gc"):
        _, out, _ = invoke(cmd, "--help")
        assert "no summary (the 'wrote ...' line), no notes" in " ".join(out.split())
