"""The command line: help everywhere, exit codes, one-line errors, nothing written on error."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import annover.cli as cli_mod
from annover.cli import COMMANDS, main, run
from annover.errors import EXIT_CODES

from .conftest import ROOT, git


def invoke(*args: str):
    """Run the CLI in process through `run` (the real error handler), capturing both streams."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        code = run(list(args))
        return code, out.getvalue().decode(), err.getvalue().decode()


def _all_commands():
    ctx = click.Context(main)
    out = []
    for name in main.list_commands(ctx):
        cmd = main.get_command(ctx, name)
        out.append([name])
        if isinstance(cmd, click.Group):
            out += [[name, sub] for sub in cmd.list_commands(ctx)]
    return out


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p))
def test_every_command_has_help_with_examples(path):
    code, out, err = invoke(*path, "--help")
    assert code == 0, err
    assert "Usage: annover " + " ".join(path) in out
    assert "Example" in out


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p))
def test_every_option_of_every_command_says_what_it_does(path):
    """`annover sample --help` listed --strategy, and `annover report --help` --out, with no text."""
    cmd: click.Command = main
    for name in path:
        cmd = cmd.get_command(click.Context(cmd), name)  # type: ignore[attr-defined]
    bare = [p.opts[0] for p in cmd.params if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()]
    assert bare == [], bare


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p))
def test_every_command_that_shows_progress_takes_q(path):
    """export, gc, agreement, eval, suspects, sample, report and dataset export drew a spinner or a
    bar on a terminal's stderr with no -q to turn it off, as snapshot, diff and dataset push have."""
    cmd: click.Command = main
    for name in path:
        cmd = cmd.get_command(click.Context(cmd), name)  # type: ignore[attr-defined]
    if cmd.callback is None or isinstance(cmd, click.Group):
        return
    source = inspect.getsource(inspect.unwrap(cmd.callback))
    if "Progress(" in source or "Bars(" in source:
        opts = {o for p in cmd.params for o in p.opts}
        assert {"-q", "--quiet"} <= opts, path


@pytest.mark.parametrize("group", [[], ["dataset"], ["config"]], ids=lambda g: " ".join(["annover", *g]))
def test_a_group_help_lists_each_command_in_words_not_cut(group):
    """`annover dataset --help` listed 'Print the URL where DATASET is labeled, and open it in a...'."""
    code, out, err = invoke(*group, "--help")
    listed = out.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert code == 0 and len(listed) >= 3, out
    assert [line for line in listed if line.rstrip().endswith("...")] == [], listed


def test_every_registered_command_loads():
    ctx = click.Context(main)
    assert set(main.list_commands(ctx)) == set(COMMANDS)


def test_help_is_fast_and_imports_nothing_heavy():
    code = ("import sys, annover.cli as c; c.run(['--help']); "
            "heavy=[m for m in ('pyarrow','dvc','label_studio_sdk','pandas','duckdb','git') if m in sys.modules]; "
            "print(','.join(heavy), file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0
    assert p.stderr.strip() == ""


def test_history_commands_do_not_load_the_training_formats(two_rounds):
    """``annover log`` and ``show`` read records, not images: the training formats (COCO, YOLO,
    VOC writers, with urllib and xml.sax) were loaded by the key rule's table of image formats,
    ~60 ms of a ~0.1 s command."""
    for args in (["log"], ["show", "v1"], ["status", "--no-remote"]):
        code = (f"import sys, annover.cli as c; rc = c.run({args!r}); "
                "loaded=[m for m in ('annover.formats.training', 'annover.formats.coco', 'annover.formats.yolo') "
                "if m in sys.modules]; print(rc, ','.join(loaded), file=sys.stderr)")
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=two_rounds[0].root)
        assert p.returncode == 0 and p.stderr.strip().splitlines()[-1] == "0", (args, p.stderr)


@pytest.mark.parametrize("preset", [None, "jemalloc"])
def test_a_command_runs_on_the_system_allocator_unless_the_user_chose_one(preset):
    """``entry`` picks Arrow's memory pool before pyarrow loads; a pool the user set stays."""
    code = ("import annover.cli as c\n"
            "def run():\n"
            "    import pyarrow as pa\n"
            "    print(pa.default_memory_pool().backend_name)\n"
            "    return 3\n"
            "c.run = run\n"
            "c.entry()\n")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if preset:
        env["ARROW_DEFAULT_MEMORY_POOL"] = preset
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert p.returncode == 3, p.stderr  # entry leaves with run's code
    assert p.stdout.strip() == (preset or cli_mod.ARROW_POOL), p.stderr
    assert p.stderr == ""


def _snapshot_args(src="round1.json"):
    return ["snapshot", "--from", src, "--config", "labeling.xml", "--key", "data.ext_id", "-m", "m"]


def _fingerprint(root: Path):
    files = sorted(str(p.relative_to(root)) for p in (root / ".annover").rglob("*") if p.is_file() and p.name != "lock")
    return files, git("rev-parse", "HEAD", cwd=root), git("tag", cwd=root)


def test_snapshot_prints_the_id_on_stdout_and_messages_on_stderr(repo):
    code, out, err = invoke(*_snapshot_args(), "-q")
    assert code == 0, err
    assert out.strip() == repo.head() and err == ""  # -q: the id, nothing else
    code, out, err = invoke(*_snapshot_args("round2.json"))
    assert code == 0, err
    assert out.strip() == repo.head()
    assert "v2" in err and repo.head() not in err.split()  # the summary line, short id only
    code, out, err = invoke(*_snapshot_args("round2.json"))
    assert code == 0 and out == "" and "nothing changed" in err


def test_snapshot_q_still_warns_about_the_input(repo):
    """``-q`` dropped every warning, so a label the config does not allow, kept under --validate
    warn, went by unsaid; as ``git -q``, it now drops progress and chatter, not warnings."""
    invoke(*_snapshot_args(), "-q")
    data = json.loads(Path("round2.json").read_text())
    data[2]["annotations"][0]["result"][0]["value"]["choices"] = ["ecstatic"]
    Path("bad.json").write_text(json.dumps(data))
    code, out, err = invoke("snapshot", "--from", "bad.json", "--validate", "warn", "-m", "m", "-q")
    assert code == 0, err
    assert out.strip() == repo.head()  # the id on stdout, as before
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: bad.json: ") and "'ecstatic'" in lines[0], err
    code, out, err = invoke("snapshot", "--from", "bad.json", "--validate", "warn", "-m", "m", "-q")
    assert code == 0 and out == "" and err.startswith("warning: ") and "nothing changed" not in err, err


def test_init_warns_of_the_folder_it_picked_not_of_one_given_with_remote(tmp_path):
    """``annover init --remote FOLDER`` warned "the DVC remote 'annover' is a folder on this machine only;
    ... Share it: annover init --remote s3://..." of the folder the user had just named on purpose (and so did
    each ``annover init`` again); ``dvc remote add`` of a path says nothing. The default folder, which annover
    picks itself, keeps the warning."""
    store = tmp_path / "store"
    for _ in range(2):  # made, then already one
        code, out, err = invoke("init", str(tmp_path / "named"), "--remote", str(store))
        assert code == 0 and "warning" not in err, err
    code, out, err = invoke("init", str(tmp_path / "named"))
    assert (code, err.strip()) == (0, f"already an annover repository: {tmp_path / 'named'}"), err
    assert f"DVC remote 'annover' -> {store}" in invoke("init", str(tmp_path / "other"), "--remote", str(store))[2]
    code, out, err = invoke("init", str(tmp_path / "default"))
    assert code == 0 and "warning: the DVC remote 'annover' is a folder on this machine only" in err, err


def test_status_and_push_warn_of_the_folder_init_picked_not_of_one_named(tmp_path, monkeypatch):
    """``status`` and ``push`` still warned "a folder on this machine only ... Share it" of a remote folder the user
    had named with ``init --remote`` (a mount others read, a disk they back up), where ``init`` had stopped saying
    so; of the folder init picks (in ``$ANNOVER_REMOTE_HOME``) they still say it, every time."""
    monkeypatch.setenv("ANNOVER_REMOTE_HOME", str(tmp_path / "home"))
    sample = ROOT / "examples" / "sentiment"
    for name, remote in (("named", ["--remote", str(tmp_path / "store")]), ("picked", [])):
        root = tmp_path / name
        assert invoke("init", str(root), *remote)[0] == 0
        monkeypatch.chdir(root)
        code, _, err = invoke("snapshot", "--from", str(sample / "round1.json"), "--config",
                              str(sample / "labeling.xml"), "-m", "r1")
        assert code == 0, err
        said = [invoke("status")[2], invoke("push")[2], invoke("status")[2]]
        assert all(("folder on this machine only" in e) == (name == "picked") for e in said), (name, said)
        assert "pushed 1 of 1 version(s)" in said[1], said[1]


def test_init_tag_revert_and_reset_take_q_quiet_but_for_warnings(repo, tmp_path):
    """``annover init -q`` (as git init -q, dvc init -q) was "No such option", and so were tag -q,
    revert -q and reset -q: now nothing on success but warnings (init's remote on this machine only) and, for
    the version revert makes, its id on stdout, as snapshot -q and merge -q print it."""
    for _ in range(2):  # made, then already one
        code, out, err = invoke("init", str(tmp_path / "new"), "-q")
        assert (code, out) == (0, ""), err
        assert err.startswith("warning: the DVC remote 'annover' is a folder on this machine only") and \
            len(err.splitlines()) == 1, err
    code, out, err = invoke("init", str(tmp_path / "new"), "-q", "--remote", "s3://bucket/annover")
    assert (code, out, err) == (0, "", "")  # a shared remote: nothing to warn of
    invoke(*_snapshot_args(), "-q")
    invoke(*_snapshot_args("round2.json"), "-q")
    v2 = repo.head()
    code, out, err = invoke("revert", "-q")
    assert code == 0 and (out.strip(), err) == (repo.head(), "") and repo.head() != v2, err
    code, out, err = invoke("revert", "--to", "v3", "-q")  # HEAD holds it already: nothing to say
    assert (code, out, err) == (0, "", "")
    code, out, err = invoke("reset", "v2", "--force", "-q")
    assert (code, out, err) == (0, "", "") and repo.head() == v2
    for args in (["reviewed"], ["reviewed", "v1", "--force"], ["-d", "reviewed"]):  # quiet as git tag
        assert invoke("tag", *args, "-q") == (0, "", ""), args


@pytest.mark.parametrize("case, code", [
    ("missing file", 14), ("unknown label", 4), ("bad config", 5), ("truncated", 3), ("wrong shape", 3),
])
def test_bad_input_exit_codes_one_line_and_nothing_written(repo, case, code):
    invoke(*_snapshot_args())  # v1, so "nothing written" is checked against real state
    root = repo.root
    before = _fingerprint(root)
    args = _snapshot_args("round2.json")
    if case == "missing file":
        args[2] = "nope.json"
    elif case == "unknown label":
        data = json.loads(Path("round2.json").read_text())
        data[2]["annotations"][0]["result"][0]["value"]["choices"] = ["ecstatic"]
        Path("bad.json").write_text(json.dumps(data))
        args[2] = "bad.json"
    elif case == "bad config":
        Path("bad.xml").write_text("<View><Choices name='x'")
        args[4] = "bad.xml"
    elif case == "truncated":
        Path("bad.json").write_text(Path("round2.json").read_text()[:500])
        args[2] = "bad.json"
    elif case == "wrong shape":
        Path("bad.json").write_text('{"tasks": 5}')
        args[2] = "bad.json"
    got, out, err = invoke(*args)
    assert got == code, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and " — " in lines[0]
    assert "Traceback" not in err
    assert _fingerprint(root) == before


def test_unknown_label_error_names_file_task_and_region(repo):
    data = json.loads(Path("round1.json").read_text())
    data[2]["annotations"][0]["result"][0]["value"]["choices"] = ["ecstatic"]
    Path("bad.json").write_text(json.dumps(data))
    code, out, err = invoke(*_snapshot_args("bad.json"))
    assert code == 4
    assert "bad.json: task 2 (key rev-002), annotation 0 (id 1002), result 0 (id r1002s)" in err
    assert "'ecstatic' is not in control 'sentiment'" in err
    code, out, err = invoke(*_snapshot_args("bad.json"), "--no-validate")
    assert code == 0


def test_not_a_repo_and_unknown_revision(tmp_path, monkeypatch, repo):
    code, out, err = invoke("show", "nope")  # no version yet: said so (tests/test_leftovers_dec7.py)
    assert code == 7 and err.startswith("Error: no versions yet") and "'nope'" in err
    invoke(*_snapshot_args())
    code, out, err = invoke("show", "nope")
    assert code == 7 and err.startswith("Error: unknown revision")
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke("log")
    assert code == 6 and "annover init" in err


def test_corrupt_object_exit_code(repo):
    invoke(*_snapshot_args())
    obj = next(p for p in (repo.root / ".annover" / "objects").rglob("*") if p.is_file())
    obj.chmod(0o644)
    obj.write_bytes(obj.read_bytes() + b"x")
    code, out, err = invoke("export", "HEAD", "--format", "parquet", "--out", "x.parquet")
    assert code == 8 and "corrupt" in err and obj.name[:10] in err.replace(obj.parent.name, "")
    assert not Path("x.parquet").exists()


def test_locked_repository_exit_code(repo, monkeypatch):
    monkeypatch.setenv("ANNOVER_LOCK_TIMEOUT", "0.5")
    with repo.lock():
        code, out, err = invoke(*_snapshot_args())
    assert code == 9 and "locked" in err


def test_json_outputs(repo, tmp_path):
    code, out, _ = invoke(*_snapshot_args(), "--json")
    snap = json.loads(out)
    assert snap["changed"] and snap["tag"] == "v1" and snap["version"]["id"] == repo.head()
    code, out, _ = invoke("snapshot", "--from", "round2.json", "--key", "data.ext_id", "-m", "r2", "--json")
    v2 = json.loads(out)["version"]["id"]
    log = json.loads(invoke("log", "--json")[1])
    assert [v["id"] for v in log] == [v2, snap["version"]["id"]] and log[0]["tags"] == ["v2"]
    show = json.loads(invoke("show", "v1", "--json")[1])
    assert show["id"] == snap["version"]["id"] and show["stats"] == snap["version"]["stats"]
    st = json.loads(invoke("status", "--json")[1])
    assert st["head"] == v2 and st["pushed"] is False and st["tags"] == ["v2"]
    ex = json.loads(invoke("export", "v2", "--format", "jsonl", "--out", str(tmp_path / "a.jsonl"), "--json")[1])
    assert ex["rows"] == len((tmp_path / "a.jsonl").read_text().splitlines())
    tg = json.loads(invoke("tag", "best", "v1", "--json")[1])
    assert tg["version"] == snap["version"]["id"]
    ps = json.loads(invoke("push", "--json")[1])
    assert ps["version"] is None and ps["direction"] == "push" and ps["transferred"] > 0  # every version
    assert (ps["versions"], ps["moved"], ps["up_to_date"]) == (2, 2, 0) and v2 in ps["moved_versions"]
    assert json.loads(invoke("status", "--json")[1])["pushed"] is True


def test_log_text(repo):
    invoke(*_snapshot_args())
    invoke("snapshot", "--from", "round2.json", "--key", "data.ext_id", "-m", "second round\n\ndetails")
    code, out, err = invoke("log", "--oneline")
    lines = out.strip().splitlines()
    assert len(lines) == 2 and "(HEAD, v2) second round" in lines[0] and "(v1) m" in lines[1]
    code, out, err = invoke("show")
    assert "Labels sentiment:" in out and "Annotators:" in out


def test_readme_lists_every_exit_code():
    readme = (ROOT / "README.md").read_text()
    table = dict(re.findall(r"^\|\s*(\d+)\s*\|\s*(.+?)\s*\|$", readme, re.M))
    assert {int(k) for k in table} >= set(EXIT_CODES)


def test_secret_remote_options_stay_out_of_git(tmp_path):
    root = tmp_path / "r"
    code, out, err = invoke("init", str(root), "--remote", "s3://bucket/path",
                            "--remote-option", "endpointurl=http://127.0.0.1:9",
                            "--remote-option", "secret_access_key=SUPERSECRET123")
    assert code == 0, err
    assert "SUPERSECRET123" in (root / ".dvc" / "config.local").read_text()
    assert "SUPERSECRET123" not in (root / ".dvc" / "config").read_text()
    history = subprocess.run(["git", "log", "-p", "--all"], cwd=root, capture_output=True, text=True).stdout
    assert "SUPERSECRET123" not in history and "endpointurl" in history
    assert "SUPERSECRET123" not in out + err


def test_table_commands_spare_pyarrows_pandas_probe(repo):
    """`annover snapshot` never imports pandas (pyarrow would, for nothing); pandas still
    works for whoever asks for it afterwards."""
    code = ("import json, sys; from annover.cli import run; "
            "rc = run(['snapshot', '--from', 'round1.json', '--config', 'labeling.xml', '--key', 'data.ext_id', '-q']); "
            "seen = 'pandas' in sys.modules; "
            "import pyarrow as pa; df = pa.table({'a': [1, 2]}).to_pandas(); "
            "print(json.dumps([rc, seen, type(df).__name__]))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo.root)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) == [0, False, "DataFrame"]
