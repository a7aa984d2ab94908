"""The README's shell examples typed as written, in a temporary folder: the "In a team" block,
with two clones and a bare git remote (the Quickstart runs in test_reading_options.py).
Each block is read from README.md, so a change of the README's commands is run here too."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import EXAMPLES, ROOT


def _team_steps() -> dict[str, str]:
    """The "In a team" block: each `# who, when` comment -> the shell lines under it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text.split("### In a team", 1)[1], re.S).group(1)
    steps: dict[str, list[str]] = {}
    for line in block.splitlines():
        if line.startswith("#"):
            steps[line[1:].strip()] = current = []
        elif line.strip():
            current.append(line)
    return {who: "\n".join(lines) for who, lines in steps.items()}


def _run(script: str, cwd: Path, env: dict, fail: bool = False) -> subprocess.CompletedProcess:
    p = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=300)
    assert (p.returncode != 0) == fail, f"{script!r} -> {p.returncode}\n{p.stdout[-1500:]}\n{p.stderr[-1500:]}"
    return p


def _step(steps: dict[str, str], starts: str) -> str:
    found = [text for who, text in steps.items() if who.startswith(starts)]
    assert len(found) == 1, f"the README's 'In a team' block has no single '# {starts}...' step: {list(steps)}"
    return found[0]


def test_the_readme_team_block_runs_as_written_with_two_clones(tmp_path):
    steps = _team_steps()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    sample = f"--from {EXAMPLES}/round1.json --config {EXAMPLES}/labeling.xml --key data.ext_id"
    _run(_step(steps, "once"), tmp_path, env)
    assert (tmp_path / "labels.git" / "HEAD").read_text().strip() == "ref: refs/heads/main"
    # user A: a repository, its git remote the bare one (as the block says), and a first version
    _run("annover init -q A", tmp_path, env)
    a, b = tmp_path / "A", tmp_path / "labels"
    _run(_step(steps, "user A, once").replace("<git remote>", "../labels.git"), a, env)
    _run(f"annover snapshot -q {sample} -m r1", a, env)
    _run(_step(steps, "user A, after"), a, env)
    _run(_step(steps, "user B, once").replace("<git remote>", "labels.git"), tmp_path, env)
    assert "(HEAD, v1) r1" in _run("annover log --oneline", b, env).stdout
    _run(f"annover snapshot -q --from {EXAMPLES}/round2.json -m r2", a, env)
    _run(_step(steps, "user A, after"), a, env)
    others = [text for who, text in steps.items() if who == "user B, when others pushed"]
    assert len(others) == 1, list(steps)
    _run(others[0], b, env)
    assert "(HEAD, v2) r2" in _run("annover log --oneline", b, env).stdout
    # both make a version from v2: A's goes first, B's git push is refused ("fetch first")
    _run("annover revert -q", a, env)
    _run(_step(steps, "user A, after"), a, env)
    _run(f"annover snapshot -q {sample} -m 'B: round 1 again'", b, env)
    refused = _run("git push origin main --tags", b, env, fail=True)
    assert "fetch first" in refused.stderr
    _run(_step(steps, "user B, when others pushed while"), b, env)
    log = _run("annover log --oneline", b, env).stdout
    assert re.search(r"\(HEAD, v5\) Merge origin/main", log) and "(v4) B: round 1 again" in log, log
    # A takes B's merge back the way B took A's versions
    _run(others[0], a, env)
    assert _run("annover log --oneline -n 1", a, env).stdout == _run("annover log --oneline -n 1", b, env).stdout
