"""SIGKILL at any point and concurrent snapshots leave a usable, consistent repository."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path

import pytest

import annover.store.dvc as dvc_mod
import annover.store.objects as objects_mod
import annover.store.refs as refs
from annover.errors import NotARepoError

from .conftest import dvc_status_clean, git, run_cli
from .ls_fixtures import ls_server  # noqa: F401 - a fixture
from .test_cli import invoke  # the in-process CLI with its real error handler

STAGES = ["after-objects", "before-dvc-add", "after-dvc-add", "before-index-sync", "before-update-ref",
          "after-update-ref", "before-git-tag"]
#: the stages after git's HEAD moved: the version is committed
COMMITTED = ("after-update-ref", "before-git-tag")


def _state(root: Path) -> dict:
    log = run_cli("log", "--json", cwd=root, check=True)
    versions = json.loads(log.stdout)
    return {"ids": [v["id"] for v in versions], "tags": {t for v in versions for t in v["tags"]}}


def _assert_consistent(root: Path, st: dict | None = None) -> None:
    """Every version in the log loads, the work tree matches the last commit, DVC agrees.
    ``st``: the log's state the caller has just read (no write since), not read again."""
    st = st or _state(root)
    # every version in one fresh process (a process each cost a second of imports per version)
    code = f"import annover\nfor vid in {st['ids']!r}:\n    annover.load(vid); annover.load(vid, table='tasks')"
    p = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    assert git("status", "--porcelain", "--", ".annover", cwd=root) == ""
    dvc_status_clean(root)


@pytest.fixture
def one_version(repo):
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1")
    return repo


@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_at_each_stage_then_rerun(one_version, stage):
    root = one_version.root
    v1 = one_version.head()
    p = run_cli("snapshot", "--from", "round2.json", "--key", "data.ext_id", "-m", "round 2", cwd=root,
                env={"ANNOVER_TEST_KILL_AT": stage})
    assert p.returncode == -signal.SIGKILL, p.stderr
    # before any write: reads see the committed state (and repair the rest)
    st = _state(root)
    if stage in COMMITTED:
        assert st["ids"][-1] == v1 and len(st["ids"]) == 2 and st["tags"] == {"v1", "v2"}
    else:
        assert st["ids"] == [v1]  # the previous HEAD, intact; no half-written version
    _assert_consistent(root, st)
    again = run_cli("snapshot", "--from", "round2.json", "--key", "data.ext_id", "-m", "round 2", cwd=root)
    assert again.returncode == 0, again.stderr
    st = _state(root)
    assert len(st["ids"]) == 2 and st["ids"][-1] == v1
    assert st["tags"] == {"v1", "v2"}
    assert git("rev-parse", "v2^{commit}", cwd=root).strip() == git("rev-parse", "HEAD", cwd=root).strip()
    _assert_consistent(root, st)


def _holds_lock(root: Path, proc: subprocess.Popen, limit: float = 120) -> bool:
    """Wait until ``proc`` holds the repository's lock (its pid in the lock file) or has ended;
    whether it holds it (polled)."""
    lock, mark, end = root / ".annover" / "lock", str(proc.pid), time.monotonic() + limit
    while proc.poll() is None and time.monotonic() < end:
        try:
            if lock.read_text().strip() == mark:
                return True
        except OSError:
            pass
        time.sleep(0.002)
    return False


def _edit_of_round2(root: Path, name: str) -> str:
    data = json.loads((root / "round2.json").read_text())
    data[0]["data"]["text"] += f" {name}"
    (root / f"{name}.json").write_text(json.dumps(data))
    return f"{name}.json"


def _snapshot_process(root: Path, src: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "annover", "snapshot", "--from", src, "--key", "data.ext_id",
                             "-m", src], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sigkill_at_random_moments(one_version):
    """Kills at random moments of snapshots, half before the lock is taken (the parts written
    to the store) and half while it is held (DVC's pointer, the record, git's commit and tag).
    The moments are drawn within the phases of a snapshot run here first, timed from its
    start and from when it held the lock: timed from the start alone, a loaded machine killed
    most runs in their imports, and the locked phase (a tenth of a second) was rarely hit."""
    root = one_version.root
    rnd = random.Random(int(os.environ.get("ANNOVER_TEST_SEED", "1")))
    started, proc = time.monotonic(), _snapshot_process(root, _edit_of_round2(root, "timed"))
    assert _holds_lock(root, proc), proc.stderr.read() if proc.stderr else ""
    locked = time.monotonic()
    assert proc.wait() == 0, proc.stderr.read() if proc.stderr else ""
    to_lock, held = locked - started, time.monotonic() - locked
    n = len(_state(root)["ids"])
    for i in range(4):
        proc = _snapshot_process(root, _edit_of_round2(root, f"edit-{i}"))
        if i % 2:  # while the lock is held
            assert _holds_lock(root, proc) or proc.wait() == 0, proc.stderr.read() if proc.stderr else ""
            time.sleep(rnd.uniform(0, held))
        else:  # in the second half of the way to the lock
            time.sleep(rnd.uniform(to_lock / 2, to_lock))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        st = _state(root)
        before = st["ids"]
        _assert_consistent(root, st)  # before the next write, too
        again = run_cli("snapshot", "--from", f"edit-{i}.json", "--key", "data.ext_id", "-m", f"edit-{i}.json",
                        cwd=root)
        assert again.returncode == 0, again.stderr
        after = _state(root)["ids"]
        assert after[1:] == before or after == before  # one new version on top, or it had landed
        assert len(after) == n + 1
        n = len(after)
    _assert_consistent(root)


def test_temporary_files_of_a_killed_write_are_removed(one_version):
    """A kill between a write's temporary file and its rename (write_atomic) leaves a
    ``.NAME.*.tmp`` file that git lists as untracked: the next command removes it."""
    root = one_version.root
    p = run_cli("snapshot", "--from", "round2.json", "--key", "data.ext_id", "-m", "round 2", cwd=root,
                env={"ANNOVER_TEST_KILL_AT": "before-update-ref"})
    assert p.returncode == -signal.SIGKILL, p.stderr
    adir = root / ".annover"
    # what write_atomic leaves when killed before its rename (a kill cannot be timed into it)
    left = [Path(tempfile.mkstemp(dir=d, prefix=f".{name}.", suffix=".tmp")[1])
            for d, name in ((adir, "objects.dvc"), (adir, "HEAD"), (adir / "versions", "x.json"),
                            (adir / "refs" / "tags", "v2"))]
    keep = adir / "notes.tmp"  # not a temporary name of ours: the user's file stays
    keep.write_text("mine")
    assert git("status", "--porcelain", "--", ".annover", cwd=root) != ""
    run_cli("log", cwd=root, check=True)
    assert [p for p in left if p.exists()] == []
    assert keep.read_text() == "mine"
    keep.unlink()
    _assert_consistent(root)


def test_two_snapshots_at_once_serialise(one_version):
    root = one_version.root
    for name, suffix in (("a.json", " A"), ("b.json", " B")):
        data = json.loads((root / "round2.json").read_text())
        data[1]["data"]["text"] += suffix
        (root / name).write_text(json.dumps(data))
    procs = [subprocess.Popen([sys.executable, "-m", "annover", "snapshot", "--from", n, "--key", "data.ext_id",
                               "-m", n], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in ("a.json", "b.json")]
    results = [(p.wait(timeout=180), p.stderr.read()) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes in ([0, 0], [0, 9]), results  # serialised, or one refused cleanly (locked)
    st = _state(root)
    assert len(st["ids"]) == 1 + codes.count(0)
    # a linear chain: no version lost, none overwritten
    versions = json.loads(run_cli("log", "--json", cwd=root, check=True).stdout)
    for child, parent in zip(versions, versions[1:]):
        assert child["parents"] == [parent["id"]]
    _assert_consistent(root, st)


def test_snapshot_says_what_it_repaired_with_q_too(one_version):
    """A snapshot after a killed one repaired its leftovers when it opened the repository and said
    nothing (log and merge say "repaired: ..."); it now says so, with -q too, beside its id."""
    root = one_version.root
    p = run_cli("snapshot", "--from", "round2.json", "-m", "round 2", cwd=root,
                env={"ANNOVER_TEST_KILL_AT": "before-update-ref"})
    assert p.returncode == -signal.SIGKILL, p.stderr
    p = run_cli("snapshot", "--from", "round2.json", "-m", "round 2", "-q", cwd=root)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == one_version.head()
    lines = p.stderr.splitlines()
    assert lines and all(ln.startswith("repaired: ") for ln in lines), p.stderr
    assert any("removed uncommitted tag v2" in ln for ln in lines), p.stderr
    _assert_consistent(root)


@pytest.mark.parametrize("args", [["status", "--no-remote"], ["diff", "v1"], ["export", "v1", "--format", "jsonl",
                                   "--out", "x.jsonl"], ["push", "-q"], ["pull", "-q"], ["agreement", "v1"]],
                         ids=lambda a: a[0])
def test_every_command_says_what_opening_the_repository_repaired(one_version, args):
    """status, diff, export, push, pull and the labeling-loop commands repaired a killed snapshot's
    leftovers in silence, where log, merge, gc and snapshot say "repaired: ..." (with -q too)."""
    _killed_then(one_version.root, args)


def test_dataset_commands_say_what_opening_the_repository_repaired(one_version, ls_server):  # noqa: F811
    _killed_then(one_version.root, ["dataset", "list"])


def _killed_then(root: Path, args: list[str]) -> None:
    p = run_cli("snapshot", "--from", "round2.json", "-m", "round 2", cwd=root,
                env={"ANNOVER_TEST_KILL_AT": "before-update-ref"})
    assert p.returncode == -signal.SIGKILL, p.stderr
    p = run_cli(*args, cwd=root)
    assert p.returncode == 0, p.stderr
    assert "repaired: removed uncommitted tag v2" in p.stderr.splitlines(), p.stderr
    _assert_consistent(root)


def test_stale_index_lock_from_a_killed_sync_is_recovered(one_version):
    """A kill inside our own index update leaves git's index.lock: the next run clears it."""
    root = one_version.root
    gd = root / ".git"
    (gd / "annover-syncing").write_text("1")
    (gd / "index.lock").write_text("")
    p = run_cli("snapshot", "--from", "round2.json", "--key", "data.ext_id", "-m", "round 2", cwd=root)
    assert p.returncode == 0, p.stderr
    assert not (gd / "index.lock").exists()
    _assert_consistent(root)


_CTRL_C_WHILE_LOADING = """
import os, runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as on a terminal, whatever ran pytest (a shell's & ignores it)
class CtrlC:  # the user's Ctrl-C lands while the command line imports click
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "click":
            sys.meta_path.remove(CtrlC)
            os.kill(os.getpid(), signal.SIGINT)
sys.meta_path.insert(0, CtrlC)
sys.argv = ["annover", "log"]
runpy.run_module("annover", run_name="__main__", alter_sys=True)
"""


def test_ctrl_c_while_the_command_line_loads_is_one_line(tmp_path):
    """A Ctrl-C before the command runs (its imports take a few hundred ms) is exit 130 and
    one line, as later: it was Python's traceback of the interrupted import, and exit -2."""
    p = subprocess.run([sys.executable, "-c", _CTRL_C_WHILE_LOADING], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 130, (p.returncode, p.stderr[-2000:])
    assert p.stderr == "Interrupted.\n"
    # the installed `annover` script goes through the same module
    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["annover"] == "annover.__main__:entry"


_CTRL_C_IN_A_QUERY = """
import signal, sys
from annover import cli
from annover.store import duck
signal.signal(signal.SIGINT, signal.default_int_handler)  # as on a terminal, whatever ran pytest
cli.catch_interrupts()  # what the command's entry does before it runs

def open_repo(*a, **k):  # `annover log` opens the repository, here with a long DuckDB query
    print("querying", file=sys.stderr, flush=True)
    con = duck.cursor()  # annover's queries run on these
    con.execute("SET enable_progress_bar = false")  # nothing of its own on stderr
    con.execute("SELECT sum(hash(range)) FROM range(20000000000)").fetchall()  # tens of seconds, at most

cli.open_repo = open_repo  # the commands' modules load later, and take it from there
sys.argv = ["annover", "log"]
cli.entry()  # the command's entry: its handler, then os._exit
"""


def _cpu_seconds(pid: int) -> float:
    """The CPU time a process has used so far, all its threads (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_ctrl_c_during_a_duckdb_query_is_exit_130_not_a_bug(tmp_path):
    """DuckDB ends a query Ctrl-C reaches with its own error ("Query interrupted"): the
    command said "unexpected ... this is a bug" and exit 1; it is the interruption, exit 130.
    The user's Ctrl-C comes from outside (this test), again every second until the command ends:
    DuckDB looks for it only now and then, and the later ones test the command's exit."""
    p = subprocess.Popen([sys.executable, "-c", _CTRL_C_IN_A_QUERY], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stderr.readline() == "querying\n"
        # into the query: its threads have used CPU since (however long a loaded machine takes)
        start, deadline = _cpu_seconds(p.pid), time.monotonic() + 240
        while p.poll() is None and _cpu_seconds(p.pid) < start + 0.5 and time.monotonic() < deadline:
            time.sleep(0.01)
        while p.poll() is None and time.monotonic() < deadline:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(1)
            except subprocess.TimeoutExpired:
                pass
        err = p.stderr.read()
    finally:
        p.kill()
    # 130 whenever the Ctrl-Cs land: the later ones, while it cleans up and exits, are ignored (one of
    # them ended the exit in a traceback, -SIGINT); its queries stop at once (one the Ctrl-C reached
    # outside DuckDB's own check ran to its end, minutes on a loaded machine: past the deadline)
    assert p.returncode == 130, (p.returncode, err[-2000:])
    # DuckDB's error, made the interruption; or, where DuckDB missed every signal and the query
    # ended, the next one in Python: one line either way
    assert err == "Interrupted.\n", err


def test_ctrl_c_stops_the_duckdb_queries_running(monkeypatch):
    """The command's Ctrl-C handler interrupts the queries on annover's DuckDB cursors. DuckDB
    checks for Ctrl-C now and then while it runs a query, but one it catches while it settles
    the result ended the result without stopping its threads: the command waited for the whole
    query before it could exit, and ignored every later Ctrl-C (minutes, on a loaded machine)."""
    from annover import cli
    from annover.store import duck
    monkeypatch.setitem(cli._SIGINT, "seen", False)
    cur = duck.cursor()
    ended: list[BaseException] = []

    def query() -> None:  # hours of work: it ends only if interrupted
        try:
            cur.execute("SELECT sum(hash(range)) FROM range(1000000000000)").fetchall()
        except BaseException as e:  # noqa: BLE001 - what ended it is the answer
            ended.append(e)

    start = _cpu_seconds(os.getpid())
    worker = threading.Thread(target=query, daemon=True)
    worker.start()
    try:
        while _cpu_seconds(os.getpid()) < start + 0.5:  # the query is running: its threads use CPU
            assert worker.is_alive(), ended
            time.sleep(0.01)
        with pytest.raises(KeyboardInterrupt):
            cli._on_sigint(signal.SIGINT, None)  # the handler, as the user's Ctrl-C runs it
        worker.join(timeout=120)
        assert not worker.is_alive(), "the query ran on after the Ctrl-C"
        assert "interrupted" in str(ended[0]).lower(), ended
    finally:
        cur.interrupt()  # before the fix: stop it here
        worker.join(timeout=120)
        cur.close()


_SECOND_CTRL_C_IN_A_CLEAN_UP = """
import os, signal, sys, time
from annover import cli
signal.signal(signal.SIGINT, signal.default_int_handler)  # as on a terminal, whatever ran pytest
cli.catch_interrupts()

def open_repo(*a, **k):  # a command's write, interrupted, removes what it half wrote
    try:
        print("writing", file=sys.stderr, flush=True)
        while True:
            time.sleep(0.01)  # until the first Ctrl-C
    finally:
        print("cleaning up", file=sys.stderr, flush=True)
        while not os.path.exists("second-sent"):  # a slow clean-up, which the second Ctrl-C reaches
            time.sleep(0.01)
        print("cleaned up", file=sys.stderr, flush=True)

cli.open_repo = open_repo
sys.exit(cli.run(["log"]))
"""


def test_a_second_ctrl_c_while_the_first_cleans_up_is_ignored(tmp_path):
    """The user presses Ctrl-C again while the command cleans up after the first: that second
    KeyboardInterrupt cut the clean-up short (what it removes stayed half written), or, once it
    was done, ended the exit in a traceback (exit -2). The command finishes its clean-up, exit 130."""
    p = subprocess.Popen([sys.executable, "-c", _SECOND_CTRL_C_IN_A_CLEAN_UP], cwd=tmp_path, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert p.stderr.readline() == "writing\n"
        p.send_signal(signal.SIGINT)
        assert p.stderr.readline() == "cleaning up\n"
        p.send_signal(signal.SIGINT)  # delivered to the sleeping child at once: before it sees the file
        (tmp_path / "second-sent").touch()
        err = p.stderr.read()
        p.wait(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 130, (p.returncode, err[-2000:])
    assert err.splitlines() == ["cleaned up", "Interrupted."], err  # the whole clean-up, then one line


def test_a_read_only_repository_is_one_line_and_reads_still_work(one_version, monkeypatch):
    """A repository on a read-only file system (a read-only mount; chmod does not stop root,
    so the refusal of the lock file's open is simulated): commands that write stop with exit 6
    naming the file and what to do, instead of 'unexpected OSError ... a bug'; reads work."""
    real_open = os.open

    def read_only(path, flags, *a, **k):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *a, **k)

    v1 = one_version.head()
    monkeypatch.setattr(refs.os, "open", read_only)
    with pytest.raises(NotARepoError, match=r"cannot be written: .*lock: Read-only file system") as e:
        one_version.tag("mine", "v1")
    assert e.value.exit_code == 6 and "\n" not in str(e.value)
    with pytest.raises(NotARepoError, match="cannot be written"):
        one_version.snapshot("round2.json", key="data.ext_id", message="round 2")
    assert [v.id for v in one_version.log()] == [v1]
    assert one_version.load("v1").num_rows > 0


@pytest.mark.parametrize("err", [errno.EROFS, errno.ENOSPC])
def test_a_file_system_that_refuses_a_write_is_one_line_not_a_bug(one_version, monkeypatch, err):
    """A write refused by the machine below annover's own lock (DVC's fetch of `annover pull`
    in a read-only mount; a disk that fills up during a snapshot) said 'unexpected OSError ...
    a bug in annover', exit 1: it is one line naming the file and what to do, exit 6, and the
    repository stays as it was (the next command works). (A checkout of HEAD's files refused
    where annover reads them anyway is not an error: tests/test_readonly.py.)"""
    v1 = one_version.head()
    strerror = os.strerror(err)

    def refused(*a, **k):
        raise OSError(err, strerror, ".dvc/tmp/lock")
    target = (dvc_mod.Dvc, "pull") if err == errno.EROFS else (objects_mod.LocalStore, "put")
    real = vars(target[0])[target[1]]
    monkeypatch.setattr(*target, refused)
    args = ["pull"] if err == errno.EROFS else ["snapshot", "--from", "round2.json", "-m", "round 2"]
    code, out, err_text = invoke(*args)
    assert code == 6 and out == "", err_text
    assert err_text.startswith(f"Error: .dvc/tmp/lock: {strerror} — ") and err_text.count("\n") == 1, err_text
    assert "bug" not in err_text
    monkeypatch.setattr(*target, real)  # the real one again (undo() would also undo the cwd)
    assert [v.id for v in one_version.log()] == [v1]
    assert one_version.snapshot("round2.json", key="data.ext_id", message="round 2").changed


def test_recovery_removes_only_records_it_could_have_written(one_version):
    """A record of a version that never got its commit is removed at the next write; a file of
    another name in .annover/versions/ (not a version id: someone's own) was removed too."""
    vdir = one_version.root / ".annover" / "versions"
    stray = vdir / ("ab" * 32 + ".json")  # a version id: what a killed snapshot leaves
    stray.write_text("{}")
    mine = vdir / "notes.json"
    mine.write_text('{"mine": true}')
    notes = one_version.recover()
    assert not stray.exists() and any("ababababab" in n for n in notes), notes
    assert mine.read_text() == '{"mine": true}'
    assert one_version.snapshot("round2.json", key="data.ext_id", message="round 2").changed
