"""A team's clone whose `annover pull` from S3 (moto's server on 127.0.0.1, behind a slow relay so
that a download is in flight) is cut short by Ctrl-C, then run again: what the interruption left
in the DVC cache, and what `annover gc` says of it and removes. Real git, DVC and S3 client."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import annover

from .conftest import git, run_cli
from .test_json_schemas import validator
from .test_s3 import s3_env, s3_server  # noqa: F401  (fixtures: moto's S3 server on 127.0.0.1)

pytestmark = pytest.mark.s3

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
</View>
"""


class SlowRelay:
    """A TCP relay on 127.0.0.1 to ``port`` that sends at most ``rate`` bytes a second each way: a
    remote slow enough that a pull's downloads are still under way when the user presses Ctrl-C."""

    def __init__(self, port: int, rate: int) -> None:
        self.port, self.rate = port, rate
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:  # closed
                return
            upstream = socket.create_connection(("127.0.0.1", self.port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(16384):
                time.sleep(len(data) / self.rate)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()


def _export(path: Path, n: int, seed: int) -> None:
    """A Label Studio export of ``n`` tasks whose texts do not compress: its Parquet parts weigh
    a megabyte or so, which the slow relay takes seconds to bring."""
    rnd = random.Random(seed)
    tasks = [{"id": i + 1, "data": {"text": "".join(rnd.choices("abcdefghijklmnopqrstuvwxyz ", k=400))},
              "annotations": [{"id": i + 1, "completed_by": 1,
                               "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                           "value": {"choices": [rnd.choice(["pos", "neg"])]}}]}]}
             for i in range(n)]
    path.write_text(json.dumps(tasks))


def _partial(clone: Path) -> list[Path]:
    """DVC's temporary files in the clone's cache (``xx/.NAME.tmp``): downloads not finished."""
    return sorted((clone / ".dvc" / "cache" / "files" / "md5").glob("*/.*.tmp"))


def _started(clone: Path) -> bool:
    """Whether a download under way has brought a hundred kilobytes (a file may go as it is read)."""
    sizes = []
    for f in _partial(clone):
        try:
            sizes.append(f.stat().st_size)
        except FileNotFoundError:
            pass
    return any(s > 100_000 for s in sizes)


def _ctrl_c_during_a_download(clone: Path) -> subprocess.CompletedProcess:
    """``annover pull`` in ``clone``, sent SIGINT (as Ctrl-C does) once a Parquet part is being
    downloaded (a hundred kilobytes of it there: not a small file the main thread fetches alone,
    whose download the interruption unwinds and DVC removes)."""
    p = subprocess.Popen([sys.executable, "-m", "annover", "pull"], cwd=clone, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # a terminal's
    deadline = time.monotonic() + 120
    while not _started(clone) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


#: clones cut short until one has a download left: a Ctrl-C that lands while the main thread itself
#: downloads unwinds there, and DVC removes that file (a real race: about one run in three, under load)
ATTEMPTS = 4


def _cut_clone(origin: Path, b: Path, endpoint: str, dvc: Path) -> "tuple[subprocess.CompletedProcess, list[Path]]":
    """Clone ``origin`` into ``b``, pull it through a slow relay to ``endpoint`` and Ctrl-C the pull
    mid-download: (the cut pull, the partial downloads it left)."""
    subprocess.run(["git", "clone", "-q", str(origin), str(b)], check=True)
    relay = SlowRelay(int(endpoint.rsplit(":", 1)[1]), 150_000)
    try:
        subprocess.run([str(dvc), "remote", "modify", "--local", "annover", "endpointurl", relay.url], cwd=b,
                       check=True)
        cut = _ctrl_c_during_a_download(b)
    finally:
        relay.close()
    return cut, _partial(b) if cut.returncode == 130 else []


@pytest.fixture
def pulled_after_ctrl_c(tmp_path, s3_env):
    """User A pushed v1 and v2 to S3; user B cloned, pressed Ctrl-C in the middle of `annover
    pull` (through a slow relay), then ran `annover pull` again (straight to S3), which succeeded."""
    endpoint, bucket = s3_env
    a = annover.init(tmp_path / "A", remote=f"s3://{bucket}/store", remote_options={"endpointurl": endpoint})
    config = tmp_path / "labeling.xml"
    config.write_text(CONFIG)
    for n, seed in ((1, 3000), (2, 3001)):
        _export(tmp_path / f"round{n}.json", 3000, seed)
        a.snapshot(tmp_path / f"round{n}.json", config=config if n == 1 else None, key="id", message=f"round {n}")
    a.push()
    dvc = Path(sys.executable).with_name("dvc")
    for attempt in range(ATTEMPTS):
        b = tmp_path / f"B{attempt}"
        cut, left = _cut_clone(a.root, b, endpoint, dvc)
        if left:
            break
    subprocess.run([str(dvc), "remote", "modify", "--local", "annover", "endpointurl", endpoint], cwd=b, check=True)
    assert cut.returncode == 130, cut.stderr
    assert left, f"the Ctrl-C came when no download was under way, {ATTEMPTS} times"
    again = run_cli("pull", cwd=b, env={"ANNOVER_REMOTE_TIMEOUT": "60"})
    assert again.returncode == 0, again.stderr
    return a, b, left


def test_gc_removes_the_partial_downloads_a_pull_cut_short_left(pulled_after_ctrl_c):
    """A pull cut short by Ctrl-C left DVC's half-written downloads in the cache (DVC removes them
    only in `dvc gc`); the pull run again does not see them. `annover gc` said "nothing to
    remove" and `gc --force` left them there for good: megabytes a Ctrl-C'd pull of a large
    version leaves, gigabytes. gc lists them (dry run, counted in the bytes it frees) and
    `--force` removes them; every version loads as before."""
    a, b, left = pulled_after_ctrl_c
    size = sum(p.stat().st_size for p in left)
    dry = run_cli("gc", "--json", cwd=b)
    assert dry.returncode == 0, dry.stderr
    out = json.loads(dry.stdout)
    validator("gc").validate(out)
    assert out["partial_downloads"] == len(left) and out["bytes_freed"] == size, out
    assert out["objects"] == 0 and _partial(b) == left  # nothing of a version's; a dry run removes nothing
    said = run_cli("gc", cwd=b)
    assert f"{len(left)} partial download(s)" in said.stderr and "nothing to remove" not in said.stderr, said.stderr
    done = run_cli("gc", "--force", cwd=b)
    assert done.returncode == 0 and "removed" in done.stderr, done.stderr
    assert _partial(b) == []
    assert "nothing to remove" in run_cli("gc", cwd=b).stderr
    assert git("status", "--porcelain", cwd=b) == ""
    for v in ("v1", "v2"):
        assert annover.Repo(b).read_table(v).equals(a.read_table(v))
