"""``annover.load(rev, tasks=[...])``: the rows of some tasks, read from the parts that can hold them.

The identity: ``load(rev, tasks=S)`` is ``load(rev)`` filtered to S (the same rows, in the same
order, with the same schema), for versions stored whole and through deltas (with and without
compaction), unknown and repeated keys in S, ``columns=`` and predictions. And the point of it:
a part whose task key range holds none of S is not read.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import annover
from annover.errors import UsageError
from annover.model import canonical as C
from annover.store import snapshots as S
from annover.store.objects import LocalStore

from .conftest import DATA, EXAMPLES
from .test_deltas import KEY_CHARS, repo_answers, repo_keys, repo_step, states_of
from .test_deltas import _rounds as rounds_of

def _filtered(t: pa.Table, keys: list[str]) -> pa.Table:
    return t.filter(pc.is_in(t.column("task_key"), value_set=pa.array(keys, pa.string())))


def _same(got: pa.Table, want: pa.Table) -> None:
    assert got.schema.equals(want.schema, check_metadata=True)
    assert got.equals(want)


@pytest.fixture
def reads(monkeypatch):
    """The part objects read (base parts and deltas): (object id, what, columns)."""
    seen: list[tuple] = []
    real = S.read_part
    monkeypatch.setattr(S, "read_part", lambda store, p, what, cols, *a, **k:
                        seen.append((p.oid, what, cols)) or real(store, p, what, cols, *a, **k))
    return seen


# ---------------------------------------------------------------------------
# store level: random chains of upserts and deletes


def _table(state: dict) -> pa.Table:
    rows = [(k, a, lab) for k in state for a, lab in state[k]]
    t = pa.table({"task_key": [r[0] for r in rows], "annotation_key": [r[1] for r in rows],
                  "region_key": ["r"] * len(rows), "from_name": ["label"] * len(rows),
                  "labels": [[r[2]] for r in rows]})
    return C.sort_table(C.conform(t, "annotations"), "annotations")


task_keys = st.lists(st.sampled_from(KEY_CHARS), min_size=1, max_size=3).map("".join)
answers = st.lists(st.tuples(st.sampled_from(["x#1", "y#1", "z#2"]), st.sampled_from(["p", "n", "m"])),
                   min_size=1, max_size=3, unique_by=lambda a: a[0])
step = st.tuples(st.dictionaries(task_keys, answers, max_size=6), st.lists(task_keys, max_size=4))
columns = st.one_of(st.none(), st.lists(st.sampled_from(["task_key", "labels", "annotation_key", "region_key"]),
                                        min_size=1, max_size=3, unique=True))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.dictionaries(task_keys, answers, min_size=1, max_size=14), steps=st.lists(step, max_size=5),
       chain=st.sampled_from([1, 3, 16]), per_part=st.sampled_from([1, 3, 16384]),
       picks=st.lists(st.lists(task_keys, max_size=6), min_size=1, max_size=3), cols=columns)
def test_a_snapshot_read_for_some_tasks_is_the_whole_filtered(tmp_path_factory, monkeypatch, first, steps, chain,
                                                              per_part, picks, cols):
    """Every version of a chain (deltas, compaction: ``chain`` 1 writes every third whole), read
    for random keys (known, unknown, repeated, none) equals the whole table filtered."""
    monkeypatch.setattr(S, "MIN_BASE_BYTES", 0)
    monkeypatch.setattr(S, "MAX_CHAIN", chain)
    monkeypatch.setattr(S, "MAX_DELTA_FRACTION", 10.0)
    monkeypatch.setattr(C, "TASKS_PER_PART", per_part)
    store = LocalStore(tmp_path_factory.mktemp("store"))
    state, parent = dict(first), None
    with ThreadPoolExecutor(max_workers=2) as pool:
        for ups, dels in [({}, []), *steps]:
            state.update(ups)
            for k in dels:
                state.pop(k, None)
            table = _table(state)
            enc = S.encode_snapshot(table, pool, "annotations", store, parent)
            parent = S.store_encoding(store, "annotations", C.content_id(table, "annotations"), enc, pool, parent)
            whole = S.read_snapshot(store, parent)
            for keys in [*picks, [*state][:2] * 2]:
                want = _filtered(whole, keys)
                _same(S.read_snapshot(store, parent, cols, pa.array(keys, pa.string())),
                      want.select(cols) if cols else want)


# ---------------------------------------------------------------------------
# repositories


def _rounds(root, states: list[dict], deltas: bool, monkeypatch, per_part: int = 4) -> annover.Repo:
    return rounds_of(root, states, deltas, monkeypatch, per_part)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # a shrink would snapshot for many minutes
@given(first=st.dictionaries(repo_keys, repo_answers, min_size=20, max_size=40),
       steps=st.lists(repo_step, min_size=1, max_size=4), deltas=st.booleans(),
       picks=st.lists(st.lists(st.one_of(repo_keys, st.just("nope")), max_size=8), min_size=1, max_size=3))
def test_load_of_some_tasks_is_load_filtered(tmp_path_factory, monkeypatch, first, steps, deltas, picks):
    r = _rounds(tmp_path_factory.mktemp("repos") / "r", states_of(first, steps), deltas, monkeypatch)
    for v in r.log():
        for table in ("tasks", "annotations"):
            whole = r.load(v.id, table)
            for keys in picks:
                _same(annover.load(v.id, table, repo=r, tasks=keys), _filtered(whole, keys))
                _same(r.load(v.id, table, tasks=iter(keys), columns=["labels"] if table == "annotations" else
                             ["data"]), _filtered(whole, keys).select(["labels" if table == "annotations" else "data"]))


def test_only_the_parts_that_can_hold_the_tasks_are_read(tmp_path, monkeypatch, reads):
    """200 tasks in parts of a few tasks each: one task's rows come from its one part; a key
    outside every part's range reads none; through a delta, its part and the delta."""
    base = {f"k{i:03d}": {"a@x": "p", "b@x": "n"} for i in range(200)}
    r = _rounds(tmp_path / "r", [base, {**base, "k150": {"a@x": "m"}}], True, monkeypatch, per_part=8)
    store = r.store
    m1 = S.read_manifest(store, r.show("v1").snapshot("annotations"))
    assert len(m1["parts"]) > 10
    reads.clear()
    whole = r.load("v1")
    assert len(reads) == len(m1["parts"])
    reads.clear()
    _same(r.load("v1", tasks=["k042", "k042"]), _filtered(whole, ["k042"]))
    assert len(reads) == 1
    reads.clear()
    _same(r.load("v1", tasks=["zzz", "", "k042x"]), _filtered(whole, []))
    assert len(reads) <= 1  # "k042x" sorts inside k042's part's range: that part is read and holds none of it
    reads.clear()
    assert r.load("v1", tasks=[]).num_rows == 0 and not reads
    m2 = S.read_manifest(store, r.show("v2").snapshot("annotations"))
    assert m2.get("deltas")
    whole = r.load("v2")
    reads.clear()
    _same(r.load("v2", tasks=["k150"]), _filtered(whole, ["k150"]))
    assert len(reads) == 2  # k150's base part and the delta's upserts (the delta deletes no task)


def test_predictions_and_columns(repo, tmp_path):
    p = tmp_path / "preds.jsonl"
    p.write_text("".join(json.dumps({"task_key": f"rev-{i:03d}", "model_version": mv, "score": 0.5 + i / 100,
                                     "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                                 "value": {"choices": ["neutral"]}}]}) + "\n"
                         for mv in ("m1", "m2") for i in range(0, 12, 1 if mv == "m1" else 2)))
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", predictions=str(p), message="p")
    keys = ["rev-003", "rev-004", "rev-999", "rev-004"]
    for mv in (None, "m1", "m2"):
        whole = repo.load("HEAD", "predictions", model_version=mv)
        _same(repo.load("HEAD", "predictions", model_version=mv, tasks=keys), _filtered(whole, keys))
        _same(annover.load("HEAD", "predictions", model_version=mv, columns=["score"], tasks=keys),
              _filtered(whole, keys).select(["score"]))
    got = annover.load("HEAD", columns=[], tasks=keys)
    assert got.num_columns == 0 and got.num_rows == _filtered(annover.load("HEAD"), keys).num_rows > 0
    empty = annover.load("HEAD", "tasks", tasks=[])
    _same(empty, annover.load("HEAD", "tasks").slice(0, 0))
    arrow = pa.chunked_array([pa.array(["rev-003", None]), pa.array(["rev-004"], pa.large_string())
                              .cast(pa.string())])
    _same(annover.load("HEAD", tasks=arrow), _filtered(annover.load("HEAD"), ["rev-003", "rev-004"]))


def test_tasks_must_be_a_list_of_keys(repo):
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="1")
    with pytest.raises(UsageError, match=r"tasks='rev-001' is one string.*\[.rev-001.\]"):
        annover.load("HEAD", tasks="rev-001")
    with pytest.raises(UsageError, match="item 1 is int"):
        repo.load("HEAD", tasks=["rev-001", 7])
    with pytest.raises(UsageError, match="not a list of task keys"):
        repo.load("HEAD", tasks=12)
    with pytest.raises(UsageError, match="item 2 .* not valid Unicode"):
        repo.load("HEAD", tasks=["rev-001", "é", "a\ud800"])
    with pytest.raises(UsageError, match="tasks= does not apply"):
        repo.load("HEAD", format="hf", tasks=["rev-001"])


def test_an_old_repository_reads_some_tasks_as_a_filter(tmp_path):
    with tarfile.open(DATA / "repo-before-restructure.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    old = annover.Repo(tmp_path / "repo")
    for rev in ("v1", "round-2"):
        for table in ("tasks", "annotations"):
            whole = old.load(rev, table)
            keys = whole.column("task_key").to_pylist()[3:9:2] + ["nope"]
            _same(old.load(rev, table, tasks=keys), _filtered(whole, keys))



def test_suspects_read_only_the_touched_tasks_of_the_earlier_version(tmp_path, monkeypatch, reads):
    """``annover suspects`` compares with the earlier version's rows of the tasks whose rows
    changed: those rows come from the parts that hold them, not from a read of the whole version."""
    from annover.loop import api

    base = {f"k{i:03d}": {"a@x": "p", "b@x": "n"} for i in range(200)}
    r = _rounds(tmp_path / "r", [base, {**base, "k150": {"a@x": "m", "b@x": "n"}}], False, monkeypatch, per_part=8)
    n = len(S.read_manifest(r.store, r.show("v2").snapshot("annotations"))["parts"])
    reads.clear()
    api.run_suspects(r, "v2")
    whole = [oid for oid, what, cols in reads if what == "annotations part" and cols != ["task_key", S.TASK_HASH]]
    assert len(whole) == n + 1  # v2's parts, and v1's one part holding k150 (2n: v1 read whole too)


def test_a_sample_is_read_from_the_parts_that_hold_its_tasks(tmp_path, monkeypatch, reads):
    """``dataset push --from-sample`` reads the sample's tasks and annotations from the parts
    holding them (each table used to be read whole and filtered): the same tasks, in order."""
    from annover.labelstudio.tasks import read_sample

    base = {f"k{i:03d}": {"a@x": "p", "b@x": "n"} for i in range(200)}
    r = _rounds(tmp_path / "r", [base], False, monkeypatch, per_part=8)
    keys = ["k150", "k042"]
    reads.clear()
    src, _ = read_sample(r, "v1", keys, None, None, True, "sample")
    assert len(reads) == 4  # each key's part, of tasks and of annotations (30 parts each)
    anns = _filtered(r.load("v1"), ["k150"]).to_pylist()
    assert [len(i["annotations"]) for i in src.items] == [len(anns), 2]
    tasks = r.load("v1", "tasks")
    assert [i["data"] for i in src.items] == [json.loads(_filtered(tasks, [k])["data"][0].as_py()) for k in keys]


def test_load_by_url_reads_some_tasks(tmp_path, monkeypatch):
    """By git URL (through DVC's API), the same rows as the version's table filtered."""
    repo = annover.init(tmp_path / "data-repo", remote=str(tmp_path / "remote"))
    monkeypatch.chdir(repo.root)
    repo.snapshot(str(EXAMPLES / "round1.json"), config=str(EXAMPLES / "labeling.xml"), key="data.ext_id",
                  message="round 1")
    repo.push("v1")
    monkeypatch.chdir(tmp_path)
    keys = ["rev-004", "rev-001", "nope"]
    url = "file://" + str(repo.root)
    _same(annover.load("v1", repo=url, tasks=keys), _filtered(repo.load("v1"), keys))  # as here, pandas dtypes too
    _same(annover.load("v1", "tasks", repo=url, columns=["data"], tasks=keys),
          _filtered(repo.load("v1", "tasks"), keys).select(["data"]))
    with pytest.raises(UsageError, match="one string"):
        annover.load("v1", repo=url, tasks="rev-004")


def test_a_load_without_tasks_imports_no_reader(repo):
    """``tasks=`` is checked in annover.repo.reading, which imports the formats' readers: a
    load that does not give it does not import them."""
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="1")
    code = ("import sys, annover; n = annover.load('HEAD').num_rows; "
            "print(n, [m for m in ('annover.repo.reading', 'annover.formats.label_studio') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True, check=True)
    assert out.stdout.split(" ", 1)[1].strip() == "[]", out.stdout
