"""Ctrl-C during ``annover dataset push`` on a real Label Studio, half the tasks sent.

The push sends in batches; a SIGINT after some of them left ``Interrupted.`` alone, with no
word of what was sent or what to do, though the project holds part of the tasks. The
line says how many went and that the same push run again sends the rest; run again, it does,
each task once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from .ls_fixtures import ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio

N = 200


def _count(sdk, pid: int) -> int:
    return sdk.projects.get(id=pid).task_number or 0


def test_ctrl_c_half_way_says_what_was_sent_and_the_same_push_sends_the_rest(project_factory, sdk_admin,  # noqa: F811
                                                                            tmp_path):
    p = project_factory("push-ctrl-c")
    records = tmp_path / "reviews.jsonl"
    records.write_text("".join(json.dumps({"id": f"r{i:04d}", "text": f"review {i}"}) + "\n" for i in range(N)))
    cmd = [sys.executable, "-m", "annover", "dataset", "push", str(p.id), "--from", str(records), "--key", "data.id",
           "--batch-size", "1", "-q"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        while _count(sdk_admin, p.id) == 0 and proc.poll() is None:  # the first batches are in: Ctrl-C now
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    sent = _count(sdk_admin, p.id)
    assert proc.returncode == 130 and 0 < sent < N, (proc.returncode, sent, err)
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("Interrupted: ") and f"of {N} task(s)" in err and "run the same push again" in err, err

    # the same push, in larger batches (quicker)
    again = subprocess.run(cmd[:-3], cwd=tmp_path, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert again.returncode == 0, again.stderr
    assert _count(sdk_admin, p.id) == N
