"""``annover diff`` end to end: a real repository made with ``annover init`` and
``annover snapshot`` (real git, real DVC), the CLI run through its real entry point."""

from __future__ import annotations

import copy
import functools
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

import annover
from annover.cli import run
from annover.repo import Repo
from tests.conftest import on_a_terminal

ROOT = Path(__file__).parents[1]
EX = ROOT / "examples" / "sentiment"
SCHEMA = json.loads((ROOT / "schemas" / "diff.schema.json").read_text())


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``annover ARGS`` through the real entry point; (exit code, stdout, stderr)."""
    with CliRunner().isolation() as (out, err, _):
        code = run(list(args))
    return code, out.getvalue().decode(), err.getvalue().decode()


def ok(*args: str) -> str:
    code, out, err = cli(*args)
    assert code == 0, f"annover {' '.join(args)} -> {code}: {err}"
    return out


def validate(doc: dict) -> None:
    import jsonschema

    jsonschema.validate(doc, SCHEMA)


def relabels_between(round_a: list[dict], round_b: list[dict]) -> list[tuple[str, str, str, str]]:
    """(task, annotator, old, new) for every sentiment choice that differs, read from the exports."""
    def choices(tasks):
        out = {}
        for t in tasks:
            for a in t["annotations"]:
                for r in a["result"]:
                    if r["from_name"] == "sentiment":
                        out[(t["data"]["ext_id"], a["completed_by"]["email"])] = r["value"]["choices"][0]
        return out

    ca, cb = choices(round_a), choices(round_b)
    return sorted((k[0], k[1], ca[k], cb[k]) for k in ca.keys() & cb.keys() if ca[k] != cb[k])


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """v1 round 1; v2 round 2; v3 a label renamed in the config; v4/v5 with source data, then changed."""

    root = tmp_path_factory.mktemp("sample")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOVER_REMOTE_HOME", str(tmp_path_factory.mktemp("remotes")))
        mp.setenv("DVC_NO_ANALYTICS", "1")  # no telemetry id written to the home folder
        mp.chdir(root)
        ok("init")
        ok("snapshot", "--from", str(EX / "round1.json"), "--config", str(EX / "labeling.xml"),
           "--key", "data.ext_id", "-m", "round 1", "-q")
        ok("snapshot", "--from", str(EX / "round2.json"), "--key", "data.ext_id", "-m", "round 2", "-q")
        renamed = (EX / "labeling.xml").read_text().replace('"neutral"', '"mixed"')
        (root / "renamed.xml").write_text(renamed)
        ok("snapshot", "--from", str(EX / "round2.json"), "--config", "renamed.xml", "--key", "data.ext_id",
           "--no-validate", "-m", "neutral is now mixed", "-q")
        data = root / "data"
        data.mkdir()
        for name, text in (("a.txt", "A"), ("b.txt", "B"), ("c.txt", "C")):
            (data / name).write_text(text)
        ok("snapshot", "--from", str(EX / "round2.json"), "--config", str(EX / "labeling.xml"),
           "--key", "data.ext_id", "--source", "data", "-m", "with source", "-q")
        (data / "b.txt").write_text("B2")
        (data / "d.txt").write_text("D")
        (data / "c.txt").rename(data / "e.txt")
        ok("snapshot", "--from", str(EX / "round2.json"), "--key", "data.ext_id", "--source", "data",
           "-m", "source changed", "-q")
        yield root


@pytest.fixture(autouse=True)
def _quiet_dvc(monkeypatch):
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")


@pytest.fixture
def in_repo(repo, monkeypatch, tmp_path_factory):
    monkeypatch.chdir(repo)
    monkeypatch.setenv("ANNOVER_REMOTE_HOME", str(tmp_path_factory.mktemp("remotes")))
    return repo


def stats(rev: str) -> dict:
    return json.loads(ok("show", rev, "--json"))["stats"]


def test_summary_counts_agree_with_the_versions_stats(in_repo):
    doc = json.loads(ok("diff", "v1", "v2", "--json"))
    validate(doc)
    sa, sb = stats("v1"), stats("v2")
    for area in ("tasks", "annotations", "regions", "skipped"):
        assert (doc[area]["before"], doc[area]["after"]) == (sa[area], sb[area])
        assert doc[area]["after"] - doc[area]["before"] == doc[area]["added"] - doc[area]["removed"]
    assert (doc["labeled"], doc["unlabeled"]) == ({"before": sa["labeled"], "after": sb["labeled"]},
                                                  {"before": sa["unlabeled"], "after": sb["unlabeled"]})
    # the label counts the changed rows add and take away are the change of each label's count
    rows = json.loads(ok("diff", "v1", "v2", "--json", "--rows", "--limit", "0"))["rows"]["items"]
    moved = Counter()
    for r in rows:
        if r["table"] == "annotations":
            moved.update((r["from_name"], lab) for lab in r["labels_b"] or [])
            moved.subtract((r["from_name"], lab) for lab in r["labels_a"] or [])
    for ctl in set(sa["labels"]) | set(sb["labels"]):
        for lab in set(sa["labels"].get(ctl, {})) | set(sb["labels"].get(ctl, {})):
            want = sb["labels"].get(ctl, {}).get(lab, 0) - sa["labels"].get(ctl, {}).get(lab, 0)
            assert doc["labels"][ctl][lab]["delta"] == want == moved[(ctl, lab)]
    for who, d in doc["annotators"].items():
        assert (d["before"], d["after"]) == (sa["annotators"].get(who, 0), sb["annotators"].get(who, 0))
        assert d["after"] - d["before"] == d["added"] - d["removed"]
    # round 2 attached a model's predictions
    assert doc["predictions"]["model_versions_added"] == sorted(sb["predictions"])
    assert not doc["identical"]


def test_summary_text(in_repo):
    out = ok("diff", "v1", "v2")
    doc = json.loads(ok("diff", "v1", "v2", "--json"))
    t, a, r = doc["tasks"], doc["annotations"], doc["regions"]
    assert out.splitlines()[0] == f"diff v1 ({doc['a']['id'][:12]}) -> v2 ({doc['b']['id'][:12]})"
    assert f"Tasks:        {t['before']} -> {t['after']}  +{t['added']} added, -{t['removed']} removed" in out
    assert f"+{a['added']} added, -{a['removed']} removed, ~{a['changed']} changed" in out
    assert f"+{r['added']} added, -{r['removed']} removed, ~{r['changed']} changed" in out
    for mv in doc["predictions"]["model_versions_added"]:
        assert f"+ {mv}  added" in out
    assert "Config: unchanged" in out
    stat = ok("diff", "v1", "v2", "--stat")
    assert stat.splitlines()[1].split() == ["annotations", f"+{a['added']}", f"-{a['removed']}", f"~{a['changed']}"]


def test_rows_show_each_relabel(in_repo):
    r1, r2 = json.loads((EX / "round1.json").read_text()), json.loads((EX / "round2.json").read_text())
    want = relabels_between(r1, r2)
    assert want  # the sample data has a reviewed relabel
    out = ok("diff", "v1", "v2", "--rows", "--limit", "0")
    for task, who, old, new in want:
        line = next(ln for ln in out.splitlines() if ln.split()[1:3] == [task, who])
        assert line.startswith("~") and f"{old} -> {new}" in line
    doc = json.loads(ok("diff", "v1", "v2", "--json", "--rows", "--limit", "0"))
    validate(doc)
    got = sorted((r["task_key"], r["annotator"], r["labels_a"][0], r["labels_b"][0])
                 for r in doc["rows"]["items"] if "relabel" in r["kinds"])
    assert got == want
    # the rows add up to the summary
    items = doc["rows"]["items"]
    assert doc["rows"]["total"] == len(items)
    assert sum(1 for r in items if r["table"] == "tasks" and r["change"] == "added") == doc["tasks"]["added"]
    assert len({(r["task_key"], r["answer_key"]) for r in items
                if r["table"] == "annotations" and r["change"] == "added"}) >= doc["annotations"]["added"]


def test_limit_and_output_parquet(in_repo, tmp_path):
    import pyarrow.parquet as pq

    code, out, err = cli("diff", "v1", "v2", "--rows", "--limit", "3")
    assert code == 0 and len(out.splitlines()) == 3
    full = json.loads(ok("diff", "v1", "v2", "--json", "--rows", "--limit", "0"))["rows"]
    assert f"3 of {full['total']} rows shown" in err
    target = tmp_path / "out" / "diff.parquet"
    code, out, err = cli("diff", "v1", "v2", "--output", str(target), "--stat")
    assert code == 0 and f"wrote {target} ({full['total']} rows)" in err
    assert pq.read_table(target).to_pylist() == full["items"]


def test_output_parquet_schema(in_repo, tmp_path):
    import pyarrow.parquet as pq

    from annover.diffing import row_schema

    target = tmp_path / "d.parquet"
    ok("diff", "v1", "v2", "--output", str(target))
    assert pq.read_schema(target).remove_metadata() == row_schema()


def test_default_b_is_head_and_library_matches_cli(in_repo):
    head = json.loads(ok("show", "--json"))["id"]
    assert json.loads(ok("diff", "v1", "--json"))["b"] == {"rev": "HEAD", "id": head}
    assert ok("diff", "v1", "--rows") == ok("diff", "v1", "HEAD", "--rows")
    res = annover.diff("v1", "v2")
    cli_doc = json.loads(ok("diff", "v1", "v2", "--json"))
    assert res.to_json() == {k: v for k, v in cli_doc.items() if k != "drift"}  # drift: the CLI's (test_loop_cli)
    assert annover.Repo(".").diff("v1", "v2").summary == res.summary


def test_a_diff_that_keeps_no_rows_reads_them_again_for_the_row_table(in_repo, monkeypatch):
    """``keep_rows=False`` (what ``annover diff`` without --rows or --output asks for): the same
    summary and rows, the rows read again when asked for, after the diff's connection closed."""
    import annover.diffing.answers as D

    reads = []
    real = D.Parts.read
    monkeypatch.setattr(D.Parts, "read", lambda self, i: (reads.append(self.con is None), real(self, i))[1])
    kept = annover.Repo(".").diff("v1", "v2")
    want_rows, after_kept = kept.rows.to_pylist(), list(reads)
    reads.clear()
    lean = annover.diff("v1", "v2", keep_rows=False)
    assert reads and not any(reads)  # read during the diff, on its connection
    assert lean.summary == kept.summary
    assert lean.rows.to_pylist() == want_rows and want_rows
    assert any(reads) and not any(after_kept)  # read again for the rows, on a connection of their own


def test_diff_with_itself_and_mirror(in_repo):
    doc = json.loads(ok("diff", "v2", "v2", "--json", "--rows"))
    assert doc["identical"] and doc["rows"]["total"] == 0
    assert doc["parts"]["compared"] == 0  # same snapshot ids: nothing read
    fwd = annover.diff("v1", "v2", repo=".")
    back = annover.Repo(".").diff("v2", "v1")
    for area in ("tasks", "annotations", "regions", "skipped"):
        assert fwd.summary[area]["added"] == back.summary[area]["removed"]
        assert fwd.summary[area]["before"] == back.summary[area]["after"]
    assert fwd.summary["predictions"]["model_versions_added"] == back.summary["predictions"]["model_versions_removed"]
    swap = {"added": "removed", "removed": "added", "changed": "changed"}
    assert Counter((r["table"], swap[r["change"]], r["task_key"], r["answer_key"], r["region_key_b"], r["region_key_a"])
                   for r in fwd.rows.to_pylist()) == \
        Counter((r["table"], r["change"], r["task_key"], r["answer_key"], r["region_key_a"], r["region_key_b"])
                for r in back.rows.to_pylist())


def test_exit_codes(in_repo):
    assert cli("diff", "v1", "v2", "--exit-code", "--stat")[0] == 1
    assert cli("diff", "v2", "v2", "--exit-code")[0] == 0
    assert cli("diff", "v4", "v2", "--exit-code")[0] == 1  # only the source link differs
    code, out, err = cli("diff", "nope")
    assert code == 7 and err.startswith("Error: unknown revision 'nope'")
    assert cli("diff", "v1", "v2", "--policy", "newest")[0] == 2
    assert cli("diff", "v1", "v2", "--iou-threshold", "1.5")[0] == 2


def test_exit_code_from_a_real_process(in_repo):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    p = subprocess.run([sys.executable, "-m", "annover", "diff", "v1", "--exit-code", "--stat"], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 1 and p.stdout.startswith("tasks")
    p = subprocess.run([sys.executable, "-m", "annover", "diff", "HEAD", "--exit-code"], env=env, capture_output=True,
                       text=True)
    assert p.returncode == 0 and "no differences" in p.stdout


def test_a_spinner_on_a_terminal_and_nothing_on_a_pipe(in_repo, tmp_path):
    """While it works, the diff shows its step on stderr where that is a terminal (data stays on
    stdout); -q, or stderr not a terminal, shows nothing."""
    code, out, shown = on_a_terminal("diff", "v1", "v2", "--stat", "--output", str(tmp_path / "rows.parquet"))
    assert code == 0 and out.startswith("tasks") and "comparing v1 and v2" not in out
    assert "comparing v1 and v2" in shown and f"wrote {tmp_path / 'rows.parquet'}" in shown
    code, out, shown = on_a_terminal("diff", "v1", "v2", "--stat", "-q")
    assert code == 0 and out.startswith("tasks") and "comparing" not in shown
    code, out, err = cli("diff", "v1", "v2", "--stat")
    assert code == 0 and "comparing" not in err and "comparing" not in out


@functools.lru_cache(maxsize=1)
def _test_diff():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_test_diff_oracle", Path(__file__).with_name("test_diff.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def oracle_resolve(tasks: list[dict], policy: str) -> dict:
    """The plain-Python oracle of the resolution policies, shared with test_diff.py."""
    return _test_diff().oracle_resolve(tasks, policy)


def test_transitions(in_repo):
    r1, r2 = json.loads((EX / "round1.json").read_text()), json.loads((EX / "round2.json").read_text())
    for policy in ("ground-truth", "latest", "majority"):
        doc = json.loads(ok("diff", "v1", "v2", "--transitions", "--policy", policy, "--json"))
        validate(doc)
        ra, rb = oracle_resolve(r1, policy), oracle_resolve(r2, policy)
        keys_a = {t["data"]["ext_id"] for t in r1}
        keys_b = {t["data"]["ext_id"] for t in r2}
        want = Counter()
        for k in keys_a | keys_b:
            want[(ra.get((k, "sentiment"), "(none)" if k in keys_a else "(no task)"),
                  rb.get((k, "sentiment"), "(none)" if k in keys_b else "(no task)"))] += 1
        got = Counter({(c["from"], c["to"]): c["count"] for c in doc["transitions"]["controls"]["sentiment"]})
        assert got == want
    out = ok("diff", "v1", "v2", "--transitions")
    assert "Transitions sentiment (tasks, policy ground-truth" in out
    moved = [(f, t, n) for (f, t), n in want.items() if f != t]
    line = next(ln for ln in out.split("Transitions sentiment")[1].splitlines() if ln.strip().startswith("changed:"))
    for f, t, n in moved:
        assert f"{n} {f} -> {t}" in line


def test_config_rename_and_warning(in_repo):
    code, out, err = cli("diff", "v2", "v3", "--json")
    assert code == 0
    doc = json.loads(out)
    validate(doc)
    assert doc["config"]["changed"]
    assert doc["config"]["labels_renamed"] == {"sentiment": [{"from": "neutral", "to": "mixed"}]}
    n = stats("v3")["labels"]["sentiment"]["neutral"]
    assert doc["warnings"] == [f"B's annotations use label 'neutral' of control 'sentiment' ({n} region(s)) "
                               "that B's config lacks"]
    assert f"warning: {doc['warnings'][0]}" in err
    assert doc["rows"] is None and doc["annotations"]["changed"] == 0  # same labels, new config
    text = ok("diff", "v2", "v3")
    assert "Config: changed: 1 label(s) renamed" in text and "> sentiment: neutral -> mixed" in text


def test_source_data_diff(in_repo):
    doc = json.loads(ok("diff", "v4", "v5", "--json"))
    validate(doc)
    s = doc["source"]
    assert (s["added"], s["removed"], s["modified"], s["renamed"]) == (
        ["d.txt"], [], ["b.txt"], [{"from": "c.txt", "to": "e.txt"}])
    assert (s["files_before"], s["files_after"]) == (3, 4) and not doc["identical"]
    text = ok("diff", "v4", "v5")
    assert "+ d.txt" in text and "~ b.txt" in text and "> c.txt -> e.txt" in text
    assert json.loads(ok("diff", "v2", "v3", "--json"))["source"] is None


def test_source_diff_without_the_file_lists(in_repo):
    """When a version's source file list object is not here, the overall hash still tells."""
    from annover.store.objects import ObjectRef

    repo = annover.Repo(".")
    ref = ObjectRef.from_json(repo.show("v4").record["source"]["files"])
    path = repo.store.locate(ref)
    saved = path.read_bytes()
    os.chmod(path, 0o644)
    path.unlink()
    try:
        code, out, err = cli("diff", "v4", "v5", "--json")
        doc = json.loads(out)
        assert code == 0 and doc["source"]["changed"] and doc["source"]["modified"] == []
        assert (doc["source"]["files_before"], doc["source"]["files_after"]) == (3, 4)
        assert any("source file list of v4 is not available" in w for w in doc["warnings"])
        assert "warning: the source file list of v4" in err
    finally:
        path.write_bytes(saved)


def test_core_keeps_the_source_file_list(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOVER_REMOTE_HOME", str(tmp_path / "remotes"))
    root = tmp_path / "r"
    root.mkdir()
    monkeypatch.chdir(root)
    ok("init")
    (root / "data").mkdir()
    (root / "data" / "a.txt").write_text("A")
    ok("snapshot", "--from", str(EX / "round1.json"), "--config", str(EX / "labeling.xml"), "--key", "data.ext_id",
       "--source", "data", "-q")
    from annover.store.objects import ObjectRef

    repo = annover.Repo(".")
    ref = ObjectRef.from_json(repo.show("HEAD").record["source"]["files"])
    assert json.loads(repo.store.get(ref)) == {"a.txt": __import__("hashlib").sha256(b"A").hexdigest()}


def test_help_has_examples_and_every_option():
    code, out, _ = cli("diff", "--help")
    assert code == 0 and "Examples:" in out
    for opt in ("--stat", "--json", "--rows", "--limit", "--output", "--transitions", "--policy", "--iou-threshold",
                "--overlap-threshold", "--exit-code"):
        assert opt in out
    import annover.diffing as D
    from annover.cli import diff_cmd

    assert diff_cmd.POLICIES == D.POLICIES
    assert "ground-truth" in out.split("--policy")[1].split("--iou")[0] and D.DEFAULT_POLICY == "ground-truth"


def test_cli_module_imports_nothing_heavy():
    code = ("import sys, annover.cli.diff_cmd; "
            "print(','.join(m for m in ('duckdb', 'pyarrow', 'dvc', 'label_studio_sdk') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == ""


# ---------------------------------------------------------------------------
# the fast path: versions that share Parquet parts


def ls_tasks(n: int) -> list[dict]:
    labels = ["positive", "negative", "neutral"]
    return [{"id": i, "data": {"ext_id": f"k{i:05d}", "text": f"text {i}"}, "annotations": [
        {"id": 10 * i, "completed_by": {"email": "a@x"}, "result": [
            {"id": f"r{i}", "from_name": "sentiment", "to_name": "text", "type": "choices",
             "value": {"choices": [labels[i % 3]]}}]}]} for i in range(n)]


def fresh_repo(tmp_path: Path, monkeypatch, name: str) -> Path:
    """``annover init`` in a new folder ``name`` (made the working folder), its DVC remote in tmp_path."""
    monkeypatch.setenv("ANNOVER_REMOTE_HOME", str(tmp_path / "remotes"))
    root = tmp_path / name
    root.mkdir()
    monkeypatch.chdir(root)
    ok("init")
    return root


@pytest.fixture
def parted(tmp_path, monkeypatch):
    """A repo whose snapshots are cut into many small parts (about 8 tasks each)."""
    from annover.model import canonical as C

    orig = C.part_bounds
    monkeypatch.setattr(C, "part_bounds", lambda table, per_part=8: orig(table, 8))
    root = fresh_repo(tmp_path, monkeypatch, "parted")
    a = ls_tasks(300)
    b = copy.deepcopy(a)
    b[17]["annotations"][0]["result"][0]["value"]["choices"] = ["negative"]  # k00017: neutral -> negative
    del b[200]
    b.append({"id": 999, "data": {"ext_id": "k99999", "text": "new"}, "annotations": [
        {"id": 9990, "completed_by": {"email": "b@x"}, "result": [], "was_cancelled": True}]})
    for name, tasks in (("a.json", a), ("b.json", b)):
        (tmp_path / name).write_text(json.dumps(tasks))
    xml = str(EX / "labeling.xml")
    ok("snapshot", "--from", str(tmp_path / "a.json"), "--config", xml, "--key", "data.ext_id", "-m", "a", "-q")
    ok("snapshot", "--from", str(tmp_path / "b.json"), "--key", "data.ext_id", "-m", "b", "-q")
    return root


def test_fast_path_reads_only_the_parts_that_differ(parted):
    repo = annover.Repo(".")
    fast = repo.diff("v1", "v2")
    full = repo.diff("v1", "v2", fast=False)
    assert fast.summary["parts"]["skipped"] > 10 * fast.summary["parts"]["compared"] > 0
    assert full.summary["parts"]["skipped"] == 0
    assert fast.rows.to_pylist() == full.rows.to_pylist()
    strip = lambda s: {k: v for k, v in s.items() if k != "parts"}  # noqa: E731
    assert strip(fast.summary) == strip(full.summary)
    rows = {(r["table"], r["change"], r["task_key"], r["description"]) for r in fast.rows.to_pylist()}
    assert ("annotations", "changed", "k00017", "neutral -> negative") in rows
    assert ("tasks", "removed", "k00200", '{"ext_id": "k00200", "text": "text 200"}') in rows
    assert {r[:3] for r in rows} == {("annotations", "changed", "k00017"), ("tasks", "removed", "k00200"),
                                     ("annotations", "removed", "k00200"), ("tasks", "added", "k99999"),
                                     ("annotations", "added", "k99999")}
    sa, sb = repo.show("v1").stats, repo.show("v2").stats
    s = fast.summary
    assert (s["skipped"]["added"], s["annotators"]["b@x"]["added"]) == (1, 1)
    for area in ("tasks", "annotations", "regions", "skipped"):
        assert s[area]["after"] - s[area]["before"] == s[area]["added"] - s[area]["removed"] == sb[area] - sa[area]


def test_a_corrupt_part_is_refused(parted):
    from annover.store.snapshots import read_manifest
    from annover.store.objects import ObjectRef

    repo = annover.Repo(".")
    v1 = repo.show("v1")
    mine = {ObjectRef.from_json(p).oid for p in read_manifest(repo.store, v1.snapshot("annotations"))["parts"]}
    theirs = {ObjectRef.from_json(p).oid for p in read_manifest(repo.store, repo.show("v2").snapshot("annotations"))["parts"]}
    ref = next(ObjectRef.from_json(p) for p in read_manifest(repo.store, v1.snapshot("annotations"))["parts"]
               if p["oid"] in mine - theirs)
    path = repo.store.locate(ref)
    data = path.read_bytes()
    os.chmod(path, 0o644)
    try:
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
        code, out, err = cli("diff", "v1", "v2")
        assert code == 8 and "is corrupt" in err
    finally:
        path.write_bytes(data)
    assert cli("diff", "v1", "v2")[0] == 0


def test_parts_store_the_hash_the_diff_would_compute(parted):
    """Every part stores, on each task's first row, the hash of that task's rows; the row
    hash under it is the one DuckDB computes from the part's rows (the diff's other path),
    and ``load`` leaves the column out."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from annover.model import canonical as C
    from annover.store.objects import ObjectRef
    from annover.store.snapshots import TASK_HASH, hash_probe, read_manifest, row_hash_sql, row_hashes, task_hashes

    repo = annover.Repo(".")
    v = repo.show("v2")
    for name in ("tasks", "annotations"):
        m = read_manifest(repo.store, v.snapshot(name))
        assert m["task_hash"] == hash_probe()
        files = [str(repo.store.locate(ObjectRef.from_json(p))) for p in m["parts"]]
        stored = pa.concat_arrays([pq.read_table(f, columns=[TASK_HASH]).column(0).combine_chunks() for f in files])
        table = repo.load("v2", table=name)
        assert table.column_names == [c[0] for c in C.COLUMNS[name]]
        assert stored.equals(task_hashes(table, name))
        assert stored.null_count == table.num_rows - len(set(table.column("task_key").to_pylist()))
        from_parquet = duckdb.connect().execute(f"SELECT {row_hash_sql(name)} FROM read_parquet({files!r})").fetchall()
        assert [h for (h,) in from_parquet] == row_hashes(table, name).to_pylist()


def test_parts_without_stored_hashes_diff_the_same(tmp_path, monkeypatch):
    """A version written before parts stored row hashes (or by another hash function) is
    diffed by computing the hashes: the same result as the stored-hash path."""
    from concurrent.futures import Future

    import annover.diffing.answers as D
    import annover.store.snapshots as S
    from annover.model import canonical as C

    fresh_repo(tmp_path, monkeypatch, "r")
    a = ls_tasks(60)
    b = copy.deepcopy(a)
    choice = b[5]["annotations"][0]["result"][0]["value"]
    choice["choices"] = ["positive"] if choice["choices"] == ["negative"] else ["negative"]
    del b[30]
    xml = str(EX / "labeling.xml")
    files = {}
    for name, tasks in (("a", a), ("b", b)):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(tasks))

    def old_format(t, pool, name):
        """Parts as annover wrote them before: the table's own columns only (the cancelled
        futures make collect_parts encode them from ``t``)."""
        rows = [stop - start for start, stop in C.part_bounds(t)]
        never = [Future() for _ in rows]
        for f in never:
            f.cancel()
        return rows, never, t

    with monkeypatch.context() as m:  # v1: the old part format (no column, no fingerprint)
        m.setattr(S, "encode_parts", old_format)
        m.setattr(S, "hash_probe", lambda: None)
        ok("snapshot", "--from", str(files["a"]), "--config", xml, "--key", "data.ext_id", "-m", "old", "-q")
    with monkeypatch.context() as m:  # v2: stored hashes of another function
        m.setattr(S, "hash_probe", lambda: "0123456789abcdef")
        ok("snapshot", "--from", str(files["b"]), "--key", "data.ext_id", "-m", "other", "-q")
    ok("snapshot", "--from", str(files["a"]), "--key", "data.ext_id", "-m", "new", "-q")
    ok("snapshot", "--from", str(files["b"]), "--key", "data.ext_id", "-m", "new", "-q")

    repo = annover.Repo(".")
    assert "task_hash" not in S.read_manifest(repo.store, repo.show("v1").snapshot("annotations"))
    calls = []
    real_touched = D.touched_by_stored_hash
    monkeypatch.setattr(D, "touched_by_stored_hash", lambda *x: (calls.append(1), real_touched(*x))[1])
    results = {pair: repo.diff(*pair) for pair in (("v1", "v2"), ("v1", "v4"), ("v3", "v2"), ("v3", "v4"))}
    assert calls == [1]  # only v3 -> v4 has comparable stored hashes on both sides
    want = results["v3", "v4"]
    assert want.summary["annotations"]["changed"] == 1 and want.summary["tasks"]["removed"] == 1
    for pair, res in results.items():
        assert res.rows.to_pylist() == want.rows.to_pylist(), pair
        assert {k: v for k, v in res.summary.items() if k not in ("a", "b", "parts")} == \
            {k: v for k, v in want.summary.items() if k not in ("a", "b", "parts")}, pair


def test_output_named_other_than_parquet_is_refused(in_repo, tmp_path):
    for name in ("diff.csv", "diff.json", "diff"):
        code, out, err = cli("diff", "v1", "v2", "--output", str(tmp_path / name))
        assert code == 2 and ".parquet" in err and err.count("\n") == 1 and not (tmp_path / name).exists(), err
