"""A few tasks' history: ``annover log --task KEY [-p]`` (the versions that changed them, as
``git log -- PATH``) and ``annover diff A B --task KEY`` (the diff narrowed to them).

The oracle is the whole version read plainly (``read_table``, every part) and filtered to
the tasks in pyarrow, and the whole diff's rows of those tasks: neither goes through the
narrowed reads (parts skipped by their statistics, parts shared between versions read once)
that the history uses.
"""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_diff_cli import cli, validate
from annover.model import canonical as C
from annover.store import snapshots as S

LABELS = ["positive", "negative", "neutral"]
N = 400


def _rounds(seed: int = 7) -> list[dict]:
    """Flat rounds of labels: {task_key: [label per annotator]}; each round relabels, adds and
    removes a few tasks and leaves the rest."""
    rng = random.Random(seed)
    state = {f"t{i:04d}": [rng.choice(LABELS) for _ in range(rng.randint(1, 2))] for i in range(N)}
    out = [dict(state)]
    for r in range(5):
        for k in rng.sample(sorted(state), 6):  # relabel
            state[k] = [rng.choice(LABELS) for _ in state[k]]
        for k in rng.sample(sorted(state), 2):  # remove
            del state[k]
        for i in range(3):  # add, keys among the old ones
            state[f"t{rng.randrange(N):04d}x{r}{i}"] = [rng.choice(LABELS)]
        out.append(dict(state))
    return out


def _flat(state: dict, path) -> str:
    rows = [(k, f"ann{j}@example.com", lab) for k, labs in state.items() for j, lab in enumerate(labs)]
    pq.write_table(pa.table({"task_key": [r[0] for r in rows], "annotator": [r[1] for r in rows],
                             "label": [r[2] for r in rows]}), path)
    return str(path)


@pytest.fixture
def history(repo, tmp_path, monkeypatch):
    """Six versions of 400 tasks in many small parts, most stored as deltas."""
    monkeypatch.setattr(C, "TASKS_PER_PART", 16)
    monkeypatch.setattr(S, "MIN_BASE_BYTES", 0)
    rounds = _rounds()
    for i, state in enumerate(rounds):
        extra = {"config": "labeling.xml"} if i == 0 else {}
        repo.snapshot(_flat(state, tmp_path / f"r{i}.parquet"), message=f"round {i}", **extra)
    versions = list(reversed(repo.log()))
    assert len(versions) == len(rounds)
    assert any(S.read_manifest(repo.store, v.snapshot("annotations")).get("deltas") for v in versions)
    return repo, versions, rounds


def _rows_of(repo, v, keys: list[str]) -> dict:
    """The version's rows of the tasks, key and content columns, read whole and filtered."""
    out = {}
    for name in ("tasks", "annotations"):
        t = repo.read_table(v.id, name)
        t = t.filter(pc.is_in(t.column("task_key"), value_set=pa.array(keys, pa.string())))
        out[name] = t.select(C.HASHED[name]).to_pylist()
    return out


def _expected_log(repo, versions, keys: list[str]) -> list[str]:
    rows = {v.id: _rows_of(repo, v, keys) for v in versions}
    empty = {"tasks": [], "annotations": []}
    out = []
    for v in versions:
        parents = [rows[p] for p in v.parents] or [empty]
        if all(rows[v.id] != p for p in parents):
            out.append(v.id)
    return list(reversed(out))  # newest first


def _all_keys(rounds) -> list[str]:
    return sorted({k for r in rounds for k in r})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_log_of_tasks_is_the_versions_whose_rows_of_them_differ_from_their_parents(history, data):
    repo, versions, rounds = history
    keys = data.draw(st.lists(st.sampled_from(_all_keys(rounds)), min_size=1, max_size=3, unique=True))
    found = repo.task_log(keys)
    assert [v.id for v in found.versions] == _expected_log(repo, versions, keys)
    assert found.unknown == []
    assert [v.id for v in repo.log(tasks=keys)] == [v.id for v in found.versions]


def test_log_of_tasks_finds_the_rounds_that_touched_one(history):
    """One task relabeled in some rounds and not others: exactly those rounds, newest first."""
    repo, versions, rounds = history
    for key in _all_keys(rounds)[:40]:
        states = [tuple(r.get(key, ())) for r in rounds]
        want = [versions[i].id for i in range(len(rounds)) if states[i] != (states[i - 1] if i else ())]
        assert [v.id for v in repo.log(tasks=[key])] == list(reversed(want)), key


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_diff_of_tasks_is_the_whole_diffs_rows_of_them(history, data):
    repo, versions, rounds = history
    a, b = sorted(data.draw(st.lists(st.sampled_from(range(len(versions))), min_size=2, max_size=2, unique=True)))
    keys = data.draw(st.lists(st.sampled_from(_all_keys(rounds)), min_size=1, max_size=4, unique=True))
    va, vb = versions[a].id, versions[b].id
    whole = [r for r in repo.diff(va, vb).rows_json(None) if r["task_key"] in keys]
    narrowed = repo.diff(va, vb, tasks=keys)
    assert narrowed.rows_json(None) == whole
    assert narrowed.identical == (not whole)
    absent = [k for k in sorted(keys) if k not in rounds[a] and k not in rounds[b]]
    warned = [w for w in narrowed.summary["warnings"] if "no such task" in w]
    assert warned == ([] if not absent else [warned[0]])
    assert all(repr(k) in warned[0] for k in absent[:5])


def test_diff_of_tasks_counts_those_tasks_only(history):
    repo, versions, rounds = history
    key = next(k for k in _all_keys(rounds) if rounds[0].get(k) != rounds[-1].get(k) and k in rounds[0]
               and k in rounds[-1])
    s = repo.diff(versions[0].id, versions[-1].id, tasks=[key]).summary
    assert s["tasks"]["before"] == s["tasks"]["after"] == 1
    assert s["annotations"]["before"] == len(rounds[0][key]) and s["annotations"]["after"] == len(rounds[-1][key])


def test_an_unknown_task_is_warned_of_and_finds_nothing(history):
    repo, versions, _ = history
    found = repo.task_log(["no-such-task", "t0001"])
    assert found.unknown == ["no-such-task"]
    d = repo.diff(versions[0].id, versions[-1].id, tasks=["no-such-task"])
    assert d.identical and any("'no-such-task': no such task" in w for w in d.summary["warnings"])
    code, out, err = cli("log", "--task", "no-such-task")
    assert code == 0 and out == ""
    assert "no version reachable from HEAD holds task 'no-such-task'" in err


def test_parts_without_the_tasks_are_not_read(history, monkeypatch):
    """The narrowed read opens only parts whose key statistics may hold a task, and each part once."""
    repo, versions, rounds = history
    opened = []
    real = S.read_part
    monkeypatch.setattr(S, "read_part", lambda store, p, *a, **k: opened.append(p.oid) or real(store, p, *a, **k))
    repo.task_log(["t0200"])
    parts = {r.oid for v in versions for name in ("tasks", "annotations")
             for r in S.Layout.of(S.read_manifest(repo.store, v.snapshot(name))).objects()}
    assert opened and len(opened) == len(set(opened))
    assert len(set(opened)) < len(parts) / 4


def test_cli_log_task_patch_and_json(history):
    repo, versions, rounds = history
    key = next(k for k in _all_keys(rounds) if k in rounds[0] and rounds[0][k] != rounds[-1].get(k))
    want = _expected_log(repo, versions, [key])
    code, out, err = cli("log", "--task", key, "-p", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert [e["id"] for e in doc] == want
    for e in doc:
        v = repo.show(e["id"])
        parent = v.parents[0] if v.parents else None
        rows = repo.diff(parent, v.id, tasks=[key]).rows_json(None) if parent else None
        assert e["changes"] and all(c["task_key"] == key for c in e["changes"])
        if rows is not None:
            assert e["changes"] == rows
    code, out, err = cli("log", "--task", key, "-p")
    assert code == 0
    assert [line.split()[1] for line in out.splitlines() if line.startswith("version ")] == want
    assert f"  {key}  " in out
    code, out, err = cli("log", "--task", key, "--oneline")
    assert [line.split()[0] for line in out.splitlines()] == [w[:12] for w in want]


def test_cli_diff_task(history):
    repo, versions, rounds = history
    key = next(k for k in _all_keys(rounds) if k in rounds[0] and rounds[0][k] != rounds[-1].get(k))
    code, out, err = cli("diff", versions[0].id, "HEAD", "--task", key, "--rows", "--json")
    assert code == 0, err
    doc = json.loads(out)
    validate(doc)
    assert doc["drift"] is None
    assert {row["task_key"] for row in doc["rows"]["items"]} == {key}
    assert doc["rows"]["items"] == [x for x in repo.diff(versions[0].id, "HEAD").rows_json(None) if x["task_key"] == key]


@pytest.mark.parametrize("args, msg", [
    (["log", "-p"], "-p shows what a version changed of the tasks --task names"),
    (["log", "--task", ""], "it is empty"),
    (["diff", "HEAD", "--task", ""], "it is empty"),
])
def test_cli_task_options_refused(two_rounds, args, msg):
    code, out, err = cli(*args)
    assert code == 2 and msg in err


def test_task_keys_checked_in_python(two_rounds):
    repo, v1, v2 = two_rounds
    from annover.errors import UsageError

    for bad in ([], [""], [3], None):
        with pytest.raises(UsageError, match="is not a list of task keys"):
            repo.task_log(bad)
    assert [v.id for v in repo.log(tasks="rev-000")] == [v.id for v in repo.log(tasks=["rev-000"])]


def test_log_of_a_task_in_an_empty_repository(repo):
    found = repo.task_log(["x"])
    assert (found.entries, found.unknown) == ([], [])
    code, out, err = cli("log", "--task", "x")
    assert code == 0 and out == "" and "warning" not in err and "no versions yet" in err


def test_log_oneline_of_a_version_without_a_message_has_no_trailing_space(repo):
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id")
    code, out, _ = cli("log", "--oneline")
    assert code == 0 and out.splitlines() and all(line == line.rstrip() for line in out.splitlines())
