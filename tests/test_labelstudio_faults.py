"""Label Studio faults with a real server (issue 16.11): killed in the middle of a full export and
of an incremental pull, answering 500, not answering at all.

The server killed here is this module's own second Label Studio (started the way
``.ci/labelstudio.sh`` starts one, on another loopback port, with its own data dir), never the
one the other tests share; it is killed and restarted by its PID. The 500 and the silence come
from a small loopback proxy in front of it, since a real server cannot produce them on demand.
Whatever happens, a pull makes a whole version or none, exits 11 or 12 with one line, and the
next pull completes.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from label_studio_sdk import LabelStudio

import annover
from annover.labelstudio.client import Client

from .conftest import git
from .ls_fixtures import SCRIPT, TEXT_CONFIG, _read_env_file, choice, cli

pytestmark = pytest.mark.labelstudio

CACHE = Path(os.environ.get("ANNOVER_CI_CACHE") or Path.home() / ".cache" / "annover-ci")
#: a bound for each faulty pull (the client's own limit is a few seconds here)
BOUND = 90


def _health(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
            return b"UP" in r.read()
    except OSError:
        return False


@dataclass
class OwnServer:
    """A Label Studio this module started and may kill: its PID, port and data dir."""

    env_file: Path
    url: str
    api_key: str
    pid: int
    dir: Path
    docroot: str
    proc: subprocess.Popen | None = None
    kills: int = field(default=0)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return not (self.proc is not None and self.proc.poll() is not None)

    def kill(self) -> None:
        """SIGKILL, by PID (the server leads its own process group): no chance to finish anything."""
        os.killpg(self.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.kills += 1

    def restart(self) -> None:
        """The same server again: same data dir, same port, the environment the CI script gives it."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the killed server's port is free again
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    break
            time.sleep(0.2)
        d = self.dir
        for sub in ("home", "tmp", "xdg/config", "xdg/cache", "xdg/data"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        venv = CACHE / "ls-venv"
        env = {
            "PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin", "HOME": f"{d}/home", "TMPDIR": f"{d}/tmp",
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "XDG_CONFIG_HOME": f"{d}/xdg/config",
            "XDG_CACHE_HOME": f"{d}/xdg/cache", "XDG_DATA_HOME": f"{d}/xdg/data",
            "LABEL_STUDIO_BASE_DATA_DIR": f"{d}/data", "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
            "LABEL_STUDIO_COLLECT_ANALYTICS": "false", "LABEL_STUDIO_SENTRY_DSN": "",
            "LABEL_STUDIO_FRONTEND_SENTRY_DSN": "", "LABEL_STUDIO_CONVERTER_DOWNLOAD_RESOURCES": "false",
            "LABEL_STUDIO_FEATURE_FLAGS_OFFLINE": "true", "PYTHONUNBUFFERED": "1",
            "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true", "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": self.docroot,
        }
        log = open(d / "server-restarted.log", "ab")
        self.proc = subprocess.Popen(
            [str(venv / "bin" / "label-studio"), "start", "--no-browser", "--internal-host", "127.0.0.1",
             "--port", str(self.port), "--data-dir", f"{d}/data"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.pid = self.proc.pid
        deadline = time.monotonic() + 180
        while not _health(self.url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Label Studio did not come back: see {d}/server-restarted.log")
            time.sleep(0.3)

    def ensure_up(self) -> None:
        if not (self.alive() and _health(self.url)):
            if self.alive():
                self.kill()
            self.restart()


@pytest.fixture(scope="module")
def own_ls(tmp_path_factory) -> Iterator[OwnServer]:
    if not SCRIPT.exists():
        pytest.skip("no .ci/labelstudio.sh to start a second Label Studio")
    env_file = tmp_path_factory.mktemp("own-ls") / "ls.env"
    p = subprocess.run(["bash", str(SCRIPT), "start", str(env_file)], capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        pytest.fail(f"could not start a second Label Studio:\n{p.stderr[-3000:]}")
    e = _read_env_file(env_file)
    server = OwnServer(env_file, e["LABEL_STUDIO_URL"], e["LABEL_STUDIO_API_KEY"], int(e["ANNOVER_TEST_LS_PID"]),
                       Path(e["ANNOVER_TEST_LS_DIR"]), e["LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"])
    try:
        yield server
    finally:
        if server.proc is not None and server.alive():  # one this module restarted: stop it by its PID
            server.kill()
        subprocess.run(["bash", str(SCRIPT), "stop", str(env_file)], capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------- a loopback proxy for 500 and silence


class Proxy:
    """Forwards to Label Studio, except requests matching a rule: ``500`` answers the HTML page
    Django serves on a server error, ``hang`` never answers (until the test ends),
    ``drop-predictions`` forwards an import without its tasks' predictions (what Label Studio
    on SQLite does when its database is busy: tasks saved, predictions dropped, 201)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.split("://", 1)[1]
        self.rules: list[tuple[str, re.Pattern, str]] = []
        self.hits: list[str] = []
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                for method, pattern, action in proxy.rules:
                    if method == self.command and pattern.search(self.path):
                        proxy.hits.append(f"{action} {self.command} {self.path}")
                        if action == "hang":
                            proxy.release.wait(BOUND)
                            self.close_connection = True
                            return
                        if action == "drop-predictions":
                            body = json.dumps([{k: v for k, v in t.items() if k != "predictions"}
                                               for t in json.loads(body)]).encode()
                            break
                        page = b"<!doctype html><html><head><title>Server Error (500)</title></head>" \
                               b"<body><h1>Server Error (500)</h1></body></html>"
                        self.send_response(500)
                        self.send_header("Content-Type", "text/html")
                        self.send_header("Content-Length", str(len(page)))
                        self.end_headers()
                        self.wfile.write(page)
                        return
                conn = http.client.HTTPConnection(proxy.upstream, timeout=BOUND)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection", "content-length")}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                r = conn.getresponse()
                data = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail(self, method: str, pattern: str, action: str = "500") -> None:
        self.rules = [(method, re.compile(pattern), action)]

    def heal(self) -> None:
        self.rules = []

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(own_ls) -> Iterator[Proxy]:
    own_ls.ensure_up()
    p = Proxy(own_ls.url)
    try:
        yield p
    finally:
        p.close()


# ---------------------------------------------------------------- helpers


@pytest.fixture
def project(own_ls):
    """A project on the module's own server: 12 tasks, 4 of them labeled."""
    own_ls.ensure_up()
    sdk = LabelStudio(base_url=own_ls.url, api_key=own_ls.api_key, timeout=120)
    p = sdk.projects.create(title=f"faults-{uuid.uuid4().hex[:8]}", label_config=TEXT_CONFIG)
    sdk.projects.import_tasks(id=p.id, request=[{"data": {"id": f"r{i}", "text": f"review {i}"}} for i in range(12)])
    ids = {t.data["id"]: t.id for t in sdk.tasks.list(project=p.id)}
    for i in range(4):
        sdk.annotations.create(id=ids[f"r{i}"], result=choice("pos" if i % 2 else "neg"))
    return sdk, p.id, ids


def _env(url: str, key: str, timeout: str = "20") -> dict[str, str]:
    return {"LABEL_STUDIO_URL": url, "LABEL_STUDIO_API_KEY": key, "ANNOVER_LS_TIMEOUT": timeout}


def _pull(pid: int, env: dict, *extra: str) -> tuple[int, str, str]:
    return cli("snapshot", "--label-studio", str(pid), "--key", "data.id", "-m", "pull", *extra, env=env)


def _whole_or_none(repo_root: Path, versions: int) -> None:
    """Exactly ``versions`` versions, each loadable; nothing half-written in git's view of annover's files."""
    r = annover.Repo(repo_root)
    log = r.log()
    assert len(log) == versions
    for v in log:
        assert r.read_table(v.id, "tasks").num_rows == v.stats["tasks"]
    assert git("status", "--porcelain", "--", ".annover", cwd=repo_root) == ""
    assert sorted(git("tag", cwd=repo_root).split()) == [f"v{i}" for i in range(1, versions + 1)]


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("Error: ") and "Traceback" not in err, err
    return lines[-1]


def _kill_after(monkeypatch, server: OwnServer, method: str, pattern: str) -> list[str]:
    """Kill the server as soon as the client's ``method`` call to a path matching ``pattern`` returns."""
    real = Client.raw
    fired: list[str] = []

    def raw(self, m, path, **kw):
        out = real(self, m, path, **kw)
        if not fired and m == method and re.search(pattern, path):
            fired.append(path)
            server.kill()
        return out

    monkeypatch.setattr(Client, "raw", raw)
    return fired


# ---------------------------------------------------------------- the server killed


def test_server_killed_during_a_full_export_makes_no_version(own_ls, project, repo):
    sdk, pid, ids = project
    env = _env(own_ls.url, own_ls.api_key)
    t0 = time.monotonic()
    with pytest.MonkeyPatch.context() as mp:
        fired = _kill_after(mp, own_ls, "POST", r"api/projects/\d+/exports/?$")  # the export has begun
        code, out, err = _pull(pid, env)
    assert fired and time.monotonic() - t0 < BOUND
    assert code == 12, err
    assert "cannot reach Label Studio" in _one_line(err)
    assert repo.head() is None and list((repo.dir / "versions").glob("*.json")) == []
    assert git("tag", cwd=repo.root) == "" and git("status", "--porcelain", "--", ".annover", cwd=repo.root) == ""

    own_ls.restart()
    code, out, err = _pull(pid, env)
    assert code == 0, err
    v = annover.Repo(repo.root).show("v1")
    assert (v.stats["tasks"], v.stats["annotations"]) == (12, 4)
    _whole_or_none(repo.root, 1)


def test_server_killed_during_an_incremental_pull_makes_no_version(own_ls, project, repo):
    sdk, pid, ids = project
    env = _env(own_ls.url, own_ls.api_key)
    code, _, err = _pull(pid, env)
    assert code == 0, err
    for i in (5, 6):
        sdk.annotations.create(id=ids[f"r{i}"], result=choice("neutral"))

    with pytest.MonkeyPatch.context() as mp:
        fired = _kill_after(mp, own_ls, "POST", r"api/dm/views/?$")  # the changed-tasks filter is made
        code, out, err = _pull(pid, env)
    assert fired and code == 12, err
    _one_line(err)
    _whole_or_none(repo.root, 1)

    own_ls.restart()
    code, out, err = _pull(pid, env)
    assert code == 0, err
    r = annover.Repo(repo.root)
    v2 = r.show("v2")
    assert v2.record["origin"]["sync"]["mode"] == "incremental" and v2.stats["annotations"] == 6
    _whole_or_none(repo.root, 2)
    # the same content a full export gives
    code, out, err = _pull(pid, env, "--full")
    assert code == 0 and len(annover.Repo(repo.root).log()) == 2, err
    sdk.projects.delete(id=pid)


# ---------------------------------------------------------------- 500 and silence, through the proxy


def test_a_server_answering_500_is_exit_11_and_no_version(own_ls, project, proxy, repo):
    sdk, pid, ids = project
    env = _env(proxy.url, own_ls.api_key)
    code, _, err = _pull(pid, env)
    assert code == 0, err
    sdk.annotations.create(id=ids["r7"], result=choice("pos"))

    for method, pattern, extra in (("POST", r"/api/dm/views/?$", ()),                      # incremental filter
                                   ("POST", r"/api/projects/\d+/exports/?$", ()),           # the export
                                   ("GET", r"/api/projects/\d+/exports/\d+/download", ()),  # its download
                                   ("POST", r"/api/projects/\d+/exports/?$", ("--full",))):
        proxy.fail(method, pattern, "500")
        t0 = time.monotonic()
        code, out, err = _pull(pid, env, *extra)
        assert time.monotonic() - t0 < BOUND
        assert code == 11, (pattern, err)
        assert "HTTP 500" in _one_line(err) and "Server Error (500)" in err
        _whole_or_none(repo.root, 1)
    assert proxy.hits

    proxy.heal()
    code, out, err = _pull(pid, env)
    assert code == 0, err
    v2 = annover.Repo(repo.root).show("v2")
    assert v2.record["origin"]["sync"]["mode"] == "incremental" and v2.stats["annotations"] == 5
    _whole_or_none(repo.root, 2)
    sdk.projects.delete(id=pid)


def test_a_server_that_does_not_answer_is_exit_12_and_no_version(own_ls, project, proxy, repo):
    sdk, pid, ids = project
    env = _env(proxy.url, own_ls.api_key, timeout="3")
    code, _, err = _pull(pid, env)
    assert code == 0, err
    sdk.annotations.create(id=ids["r8"], result=choice("neg"))

    for method, pattern in (("GET", r"/api/projects/\d+/?(\?|$)"),
                            ("POST", r"/api/dm/views/?$"),
                            ("GET", r"/api/projects/\d+/exports/\d+/download")):
        proxy.fail(method, pattern, "hang")
        t0 = time.monotonic()
        code, out, err = _pull(pid, env)
        assert time.monotonic() - t0 < BOUND
        assert code == 12, (pattern, err)
        assert "did not answer in time" in _one_line(err)
        _whole_or_none(repo.root, 1)

    proxy.heal()
    code, out, err = _pull(pid, env)
    assert code == 0, err
    assert annover.Repo(repo.root).show("v2").stats["annotations"] == 5
    _whole_or_none(repo.root, 2)
    sdk.projects.delete(id=pid)


def test_predictions_the_server_drops_are_a_warning_and_the_next_push_attaches_them(own_ls, proxy, tmp_path):
    own_ls.ensure_up()
    sdk = LabelStudio(base_url=own_ls.url, api_key=own_ls.api_key, timeout=120)
    pid = sdk.projects.create(title=f"faults-{uuid.uuid4().hex[:8]}", label_config=TEXT_CONFIG).id
    records = tmp_path / "reviews.jsonl"
    records.write_text("".join(json.dumps({"id": f"r{i}", "text": f"review {i}"}) + "\n" for i in range(5)))
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"task_key": f"r{i}", "model_version": "m1", "score": 0.5 + i / 20,
                                         "result": choice(("pos", "neg")[i % 2])}) + "\n" for i in range(4)))
    env = _env(proxy.url, own_ls.api_key)
    push = ("dataset", "push", str(pid), "--from", str(records), "--key", "data.id",
            "--predictions", str(preds), "--json")

    proxy.fail("POST", r"/api/projects/\d+/import\b", "drop-predictions")
    code, out, err = cli(*push, env=env)
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["sent"], doc["predictions"]) == (5, 4) and proxy.hits
    assert [w for w in doc["warnings"] if "dropped 4" in w and "push again" in w], doc["warnings"]
    assert "dropped 4" in err  # said on stderr too
    assert sdk.projects.get(id=pid).total_predictions_number == 0

    proxy.heal()
    code, out, err = cli(*push, env=env)
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["sent"], doc["already"], doc["predictions"], doc["warnings"]) == (0, 5, 4, [])
    got = {t.data["id"]: [p.model_version for p in sdk.predictions.list(task=t.id)]
           for t in sdk.tasks.list(project=pid)}
    assert got == {f"r{i}": ["m1"] if i < 4 else [] for i in range(5)}
    sdk.projects.delete(id=pid)
