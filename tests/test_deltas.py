"""Merge-on-read snapshots: a version stored as its parent's base parts plus deltas.

Store level: random sequences of upserts, deletes and provenance-only edits, with and
without compaction, read back as the table they were made from (same rows, same order,
same stored task hashes). Repository level: the same content snapshotted through deltas
and snapshotted fresh gives the same snapshot ids, the same ``load`` and the same diffs;
plain pyarrow and plain DuckDB read a version with deltas in a process without annover.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import annover
from annover import diffing as D
from annover.cli import run
from annover.diffing.run import transitions
from annover.diffing.tables import _Whole
from annover.model import canonical as C
from annover.store import snapshots as S
from annover.store.duck import cursor
from annover.store.objects import LocalStore

KEY_CHARS = ["a", "b", "ab", "ä", "z\x00", "é€", "0"]  # prefixes of each other, non-ASCII, a NUL byte


def _table(state: dict) -> "pa.Table":
    """The canonical annotations table of {task_key: [(annotation_key, label, ls_id)]}."""
    rows = [(k, a, lab, ls) for k in state for a, lab, ls in state[k]]
    t = pa.table({
        "task_key": [r[0] for r in rows], "annotation_key": [r[1] for r in rows],
        "region_key": ["r"] * len(rows), "from_name": ["label"] * len(rows),
        "labels": [[r[2]] for r in rows], "ls_annotation_id": pa.array([r[3] for r in rows], pa.int64()),
    })
    return C.sort_table(C.conform(t, "annotations"), "annotations")


task_keys = st.lists(st.sampled_from(KEY_CHARS), min_size=1, max_size=3).map("".join)
answers = st.lists(st.tuples(st.sampled_from(["x#1", "y#1", "z#2"]), st.sampled_from(["p", "n", "m"]),
                             st.one_of(st.none(), st.integers(0, 3))), min_size=1, max_size=3,
                   unique_by=lambda a: a[0])
step = st.tuples(st.dictionaries(task_keys, answers, max_size=6),  # upserts
                 st.lists(task_keys, max_size=4))  # deletes


def _store_chain(tmp, first: dict, steps: list, chain: int, fraction: float, monkeypatch) -> None:
    monkeypatch.setattr(S, "MIN_BASE_BYTES", 0)
    monkeypatch.setattr(S, "MAX_CHAIN", chain)
    monkeypatch.setattr(S, "MAX_DELTA_FRACTION", fraction)
    store = LocalStore(tmp)
    state, parent, kinds, prev = dict(first), None, [], None
    with ThreadPoolExecutor(max_workers=2) as pool:
        for ups, dels in [({}, []), *steps]:
            state.update(ups)
            for k in dels:
                state.pop(k, None)
            table = _table(state)
            enc = S.encode_snapshot(table, pool, "annotations", store, parent)
            if enc.delta is not None:  # its before image: the parent's rows of the tasks it names
                named = pa.concat_arrays([C.single_chunk(enc.delta.upserts.column("task_key")),
                                          C.single_chunk(enc.delta.deletes.column("task_key"))])
                assert enc.delta.before.equals(prev.filter(pc.is_in(prev.column("task_key"), value_set=named)))
            prev = table
            ref = S.store_encoding(store, "annotations", C.content_id(table, "annotations"), enc, pool, parent)
            m = S.read_manifest(store, ref)
            kinds.append(len(m.get("deltas", [])))
            assert len(m.get("deltas", [])) <= chain and m["rows"] == table.num_rows
            assert S.read_snapshot(store, ref).equals(table)
            lay = S.Layout.of(m)
            if any(r is not None for r in lay.replaces):  # the same without the in-place shortcut
                general = dataclasses.replace(lay, replaces=tuple(None for _ in lay.deltas))
                assert S.read_layout(store, "annotations", general).equals(table)
            stored = S.read_layout(store, "annotations", S.Layout.of(m), ["task_key", S.TASK_HASH])
            assert stored.column(S.TASK_HASH).equals(pa.chunked_array([S.task_hashes(table, "annotations")]))
            parent = ref
    return kinds


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.dictionaries(task_keys, answers, min_size=1, max_size=12), steps=st.lists(step, max_size=6),
       chain=st.sampled_from([1, 3, 16]), fraction=st.sampled_from([0.2, 10.0]))
def test_deltas_read_back_as_the_table_they_were_made_from(tmp_path_factory, monkeypatch, first, steps, chain,
                                                           fraction):
    _store_chain(tmp_path_factory.mktemp("store"), first, steps, chain, fraction, monkeypatch)


def test_deltas_are_written_and_compacted_at_the_threshold(tmp_path, monkeypatch):
    first = {f"t{i:03d}": [("x#1", "p", None)] for i in range(100)}
    steps = [({f"t{i:03d}": [("x#1", "n", None)]}, []) for i in range(8)]  # one task (1 row) per version
    kinds = _store_chain(tmp_path, first, steps, 16, 0.05, monkeypatch)
    assert kinds == [0, 1, 2, 3, 4, 5, 0, 1, 2]  # the sixth delta would pass 5% of 100 rows: compacted


def test_relabels_replace_only_their_columns_in_place(tmp_path, monkeypatch):
    """A chain of relabels (the same tasks, as many rows each) records the columns each delta
    changes, and the base parts are read with only those rebuilt; a delta that adds a row or
    removes a task records none, and the table is read the general way."""
    calls = []
    real = S.replace_rows
    monkeypatch.setattr(S, "replace_rows", lambda *a: calls.append(a[2]) or real(*a))
    first = {f"t{i:03d}": [("x#1", "p", None), ("y#1", "p", i)] for i in range(60)}
    relabels = [({f"t{i:03d}": [("x#1", "n", None), ("y#1", "p", i)] for i in range(j, 60, 7)}, []) for j in range(3)]
    _store_chain(tmp_path / "a", first, relabels, 16, 0.9, monkeypatch)
    assert {frozenset(c) for c in calls} == {frozenset({"labels"}), frozenset({S.TASK_HASH})}  # as each read asks
    store = LocalStore(tmp_path / "a")
    replaces = [d.get("replaces") for p in (tmp_path / "a").rglob("*") if p.is_file()
                for m in [_manifest(p)] if m for d in m.get("deltas", [])]
    assert replaces and all(r == ["labels"] for r in replaces)
    calls.clear()
    grown = ({"t001": [("x#1", "n", None), ("y#1", "p", 1), ("z#2", "m", None)]}, [])
    _store_chain(tmp_path / "b", first, [relabels[0], grown, ({}, ["t002"])], 16, 0.9, monkeypatch)
    store = LocalStore(tmp_path / "b")
    last = max((m for p in (tmp_path / "b").rglob("*") if p.is_file() for m in [_manifest(p)] if m),
               key=lambda m: len(m.get("deltas", [])))
    assert [("replaces" in d) for d in last["deltas"]] == [True, False, False]
    assert S.read_layout(store, "annotations", S.Layout.of(last)).num_rows == last["rows"]


def test_relabels_of_the_same_tasks_in_several_deltas_read_as_the_last(tmp_path, monkeypatch):
    """Deltas that relabel some of the same tasks (and some rows of a task, not all): read in
    place, each task has the rows of the last delta naming it (the deltas merged once for
    every part, :meth:`Replacing.last_of`, the same table as the general way)."""
    from annover.store.merge import Replacing

    merges = []
    real = Replacing.last_of
    monkeypatch.setattr(Replacing, "last_of", classmethod(lambda cls, ds: merges.append(len(ds)) or real.__func__(cls, ds)))
    first = {f"t{i:03d}": [("x#1", "p", None), ("y#1", "p", i)] for i in range(90)}
    rounds = [({f"t{i:03d}": [("x#1", lab, None), ("y#1", "p" if i % 2 else lab, i)] for i in range(j, 90, step)}, [])
              for j, step, lab in ((0, 3, "n"), (0, 2, "m"), (1, 5, "n"), (0, 6, "p"))]
    kinds = _store_chain(tmp_path, first, rounds, 16, 10.0, monkeypatch)
    assert kinds == [0, 1, 2, 3, 4] and max(merges) == 4  # every version read in place, through its deltas


def test_a_delta_that_does_not_line_up_is_read_the_general_way(tmp_path, monkeypatch):
    """A manifest whose delta says it replaces rows in place but adds a row (never written by
    annover, so made here by hand) reads as the general merge does."""
    first = {f"t{i:03d}": [("x#1", "p", None)] for i in range(40)}
    grown = ({"t005": [("x#1", "n", None), ("y#1", "n", None)]}, [])
    _store_chain(tmp_path, first, [grown], 16, 0.9, monkeypatch)
    store = LocalStore(tmp_path)
    m = next(m for p in tmp_path.rglob("*") if p.is_file() for m in [_manifest(p)] if m and m.get("deltas"))
    honest = S.Layout.of(m)
    assert honest.replaces == (None,)
    claimed = dataclasses.replace(honest, replaces=(frozenset({"labels"}),))
    assert S.read_layout(store, "annotations", claimed).equals(S.read_layout(store, "annotations", honest))


def _manifest(path: Path) -> dict | None:
    try:
        m = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        return None
    return m if isinstance(m, dict) and m.get("schema") in (S.MANIFEST_SCHEMA, S.DELTA_SCHEMA) else None


def test_provenance_only_edit_is_kept(tmp_path, monkeypatch):
    first = {f"t{i}": [("x#1", "p", i)] for i in range(20)}
    kinds = _store_chain(tmp_path, first, [({"t3": [("x#1", "p", 99)]}, [])], 16, 0.5, monkeypatch)
    assert kinds == [0, 1]


# ---------------------------------------------------------------------------
# repositories

XML = ('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
       '<Choice value="p"/><Choice value="n"/><Choice value="m"/></Choices></View>')


def _write(path, state: dict) -> str:
    rows = [(k, a, lab) for k, v in sorted(state.items()) for a, lab in v.items()]
    pq.write_table(pa.table({"task_key": [r[0] for r in rows], "annotator": [r[1] for r in rows],
                             "label": [r[2] for r in rows]}), path)
    return str(path)


def _rounds(root, states: list[dict], deltas: bool, monkeypatch, per_part: int | None = None) -> "annover.Repo":
    """A repository of one snapshot a state (``deltas``: each written as a delta where it can;
    ``per_part``: tasks a part)."""
    monkeypatch.setattr(S, "MIN_BASE_BYTES", 0 if deltas else 1 << 60)
    monkeypatch.setattr(S, "MAX_DELTA_FRACTION", 1.0)
    monkeypatch.setattr(S, "MAX_CHAIN", 3)
    if per_part is not None:
        monkeypatch.setattr(C, "TASKS_PER_PART", per_part)
    r = annover.init(root)
    (root / "l.xml").write_text(XML)
    for i, state in enumerate(states):
        r.snapshot(_write(root / f"in{i}.parquet", state), config=str(root / "l.xml") if i == 0 else None,
                   message=f"round {i}")
    return r


def test_the_parents_rows_are_read_while_the_input_is(tmp_path, monkeypatch):
    """The rows a delta is planned on (the parent's task keys and hashes) are read ahead, on a
    thread of their own, and the delta planned with them is the one planned without."""
    base = {f"t{i:03d}": {"a": "p", "b": "n"} for i in range(50)}
    relabel = {**base, "t007": {"a": "n", "b": "n"}}
    threads: list[str] = []
    real = S.compared_rows
    monkeypatch.setattr(S, "compared_rows", lambda *a: threads.append(threading.current_thread().name) or real(*a))
    r = _rounds(tmp_path / "ahead", [base, relabel], True, monkeypatch)
    assert len(threads) == 2 and all(t.startswith("annover-parent") for t in threads)  # tasks, annotations
    m = _manifest(r.store.path(r.show("v2").snapshot("annotations").manifest.oid))
    assert m and len(m["deltas"]) == 1 and m["deltas"][0]["upserts"]["rows"] == 2
    monkeypatch.setattr(S, "compared_rows", real)
    plain = _rounds(tmp_path / "plain", [base, relabel], True, monkeypatch)
    assert _ids(plain.show("v2")) == _ids(r.show("v2"))
    assert plain.show("v2").snapshot("annotations").manifest == r.show("v2").snapshot("annotations").manifest


def _ids(v) -> dict:
    return {t: v.record["tables"][t]["id"] for t in ("tasks", "annotations")}


repo_keys = st.sampled_from([f"k{i:02d}" for i in range(40)])
repo_answers = st.dictionaries(st.sampled_from(["a@x", "b@x"]), st.sampled_from(["p", "n", "m"]), min_size=1)
repo_step = st.tuples(st.dictionaries(repo_keys, repo_answers, max_size=4), st.lists(repo_keys, max_size=3))


def states_of(first: dict, steps: list) -> list[dict]:
    """The states of rounds of (upserts, deletes) from ``first``, each changing something."""
    states = [first]
    for ups, dels in steps:
        state = {**states[-1], **ups}
        for k in dels:
            state.pop(k, None)
        if state != states[-1] and state:
            states.append(state)
    return states


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # a shrink would snapshot for many minutes
@given(first=st.dictionaries(repo_keys, repo_answers, min_size=20, max_size=40),
       steps=st.lists(repo_step, min_size=1, max_size=4))
def test_versions_through_deltas_equal_fresh_snapshots_and_diff_alike(tmp_path_factory, monkeypatch, first, steps):
    states = states_of(first, steps)
    tmp = tmp_path_factory.mktemp("repos")
    with_deltas = _rounds(tmp / "deltas", states, True, monkeypatch)
    whole = _rounds(tmp / "whole", states, False, monkeypatch)
    dv, wv = with_deltas.log()[::-1], whole.log()[::-1]
    assert [_ids(v) for v in dv] == [_ids(v) for v in wv]
    layouts = [S.read_manifest(with_deltas.store, v.snapshot("annotations")).get("schema") for v in dv]
    assert (S.DELTA_SCHEMA in layouts) == (len(dv) > 1)  # the path under test was taken
    for a, b in zip(dv, wv):
        for t in ("tasks", "annotations"):
            assert with_deltas.load(a.id, t).equals(whole.load(b.id, t))
    pairs = [(0, len(dv) - 1), *((i, i + 1) for i in range(len(dv) - 1)), (len(dv) - 1, 0)]
    for i, j in pairs:
        got = with_deltas.diff(f"v{i + 1}", f"v{j + 1}", transitions=True)
        want = whole.diff(f"v{i + 1}", f"v{j + 1}", transitions=True)
        full = with_deltas.diff(f"v{i + 1}", f"v{j + 1}", fast=False, transitions=True)
        strip = lambda s: {k: v for k, v in s.items() if k not in ("parts", "a", "b")}  # noqa: E731
        assert strip(got.summary) == strip(want.summary) == strip(full.summary)
        assert got.rows.to_pylist() == want.rows.to_pylist() == full.rows.to_pylist()
        # labels resolved on A's side only for the tasks each read found touched: the same counts
        assert got.transitions == want.transitions == full.transitions == _whole_transitions(with_deltas, i, j)


def _whole_transitions(r, i: int, j: int) -> dict:
    """The transitions of v(i+1) -> v(j+1) with every task's labels resolved on both sides."""
    a, b = (r.show(f"v{k + 1}") for k in (i, j))
    sides = [D.Side(r.load(v.id, "tasks"), r.load(v.id, "annotations"), {}) for v in (a, b)]
    keys = pa.concat_arrays([s.annotations.column("task_key").combine_chunks() for s in sides]).unique()
    con = cursor(ordered=False)
    try:
        return transitions(con, _Whole({"a": sides[0], "b": sides[1]}), keys, D.Options(policy=D.DEFAULT_POLICY))
    finally:
        con.close()


@pytest.fixture
def chain_repo(tmp_path, monkeypatch):
    """A repository whose HEAD has two deltas (a relabel, then a task added and one removed)."""
    base = {f"k{i:03d}": {"a@x": "p", "b@x": "n"} for i in range(60)}
    second = {**base, "k005": {"a@x": "m", "b@x": "n"}}
    third = {k: v for k, v in second.items() if k != "k010"} | {"k0305": {"a@x": "m"}}
    r = _rounds(tmp_path / "repo", [base, second, third], True, monkeypatch)
    m = S.read_manifest(r.store, r.show("HEAD").snapshot("annotations"))
    assert m["schema"] == S.DELTA_SCHEMA and len(m["deltas"]) == 2
    return r


# The snippets of the README's design section ("Deltas: merge-on-read"), run as they are there.
PYARROW_SNIPPET = '''
import json, pathlib, pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
a = pathlib.Path(".annover"); obj = lambda r: str(a / "objects" / r["oid"][:2] / r["oid"][2:])
version = json.loads((a / "versions" / ((a / "HEAD").read_text().strip() + ".json")).read_text())
m = json.loads(open(obj(version["tables"]["annotations"]["manifest"])).read())
table = pq.read_table([obj(p) for p in m.get("parts") or m["base"]])
for d in m.get("deltas", []):  # in order; each names whole tasks
    named = [pq.read_table(obj(d[f]), columns=["task_key"])["task_key"] for f in ("upserts", "deletes") if d[f]]
    table = table.filter(pc.invert(pc.is_in(table["task_key"], pa.chunked_array(named).combine_chunks())))
    if d["upserts"]:
        table = pa.concat_tables([table, pq.read_table(obj(d["upserts"]))])
labels = table.sort_by([(k, "ascending") for k in m["key"]]).drop_columns(["_task_hash"])
'''

DUCKDB_SNIPPET = '''
import json, pathlib, duckdb, pyarrow as pa
a = pathlib.Path(".annover"); obj = lambda r: str(a / "objects" / r["oid"][:2] / r["oid"][2:])
version = json.loads((a / "versions" / ((a / "HEAD").read_text().strip() + ".json")).read_text())
m = json.loads(open(obj(version["tables"]["annotations"]["manifest"])).read())
q = f"SELECT * FROM read_parquet({[obj(p) for p in m.get('parts') or m['base']]})"
for d in m.get("deltas", []):  # in order; each names whole tasks
    named = " UNION ALL ".join(f"SELECT task_key FROM read_parquet('{obj(d[f])}')" for f in ("upserts", "deletes") if d[f])
    q = f"SELECT * FROM ({q}) ANTI JOIN ({named}) USING (task_key)"
    q += f" UNION ALL BY NAME SELECT * FROM read_parquet('{obj(d['upserts'])}')" if d["upserts"] else ""
labels = pa.table(duckdb.sql(f"SELECT * EXCLUDE (_task_hash) FROM ({q}) ORDER BY {', '.join(m['key'])}").arrow())
'''


def _readme_snippet(marker: str) -> str:
    """The snippet of the README's design section that follows ``marker``."""
    from .conftest import EXAMPLES

    text = (EXAMPLES.parent.parent / "README.md").read_text(encoding="utf-8")
    start = text.index("```python\n", text.index(marker)) + len("```python\n")
    return text[start:text.index("```", start)]


@pytest.mark.parametrize("snippet,marker", [(PYARROW_SNIPPET, "With pyarrow"), (DUCKDB_SNIPPET, "With DuckDB")])
def test_plain_readers_apply_the_deltas_without_annover(chain_repo, tmp_path, snippet, marker):
    assert _readme_snippet(marker).strip() == snippet.strip()  # the README shows what runs here
    out = tmp_path / "plain.parquet"
    code = (snippet + f"\nimport sys, pyarrow.parquet as _pq\n_pq.write_table(labels, {str(out)!r})\n"
            "assert not [k for k in sys.modules if k.split('.')[0] == 'annover'], 'annover was imported'\n")
    p = subprocess.run([sys.executable, "-I", "-c", code], cwd=chain_repo.root, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    got, want = pq.read_table(out), chain_repo.load("HEAD", "annotations")
    assert got.num_rows == want.num_rows > 0
    assert got.cast(want.schema).equals(want)


def test_checkout_and_dvc_pull_give_exactly_a_versions_objects(chain_repo, tmp_path):
    """Each version's DVC pointer lists its manifest, base parts and deltas: a clone at tag
    vN, after plain ``dvc pull``, holds exactly vN's objects, and plain pyarrow reads them."""
    from .conftest import git

    r = chain_repo
    r.push()  # to the repository's default DVC remote
    clone = tmp_path / "clone"
    git("clone", "-q", str(r.root), str(clone), cwd=tmp_path)
    for tag in ("v2", "v3"):
        v = r.show(tag)
        git("checkout", "-q", tag, cwd=clone)
        dvc = Path(sys.executable).with_name("dvc")
        p = subprocess.run([str(dvc), "pull", "-q"], cwd=clone, capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        have = {f.parent.name + f.name for f in (clone / ".annover" / "objects").glob("*/*")}
        assert have == {ref.oid for ref in r.objects_of(v)}
        m = S.read_manifest(r.store, v.snapshot("annotations"))
        assert m["schema"] == S.DELTA_SCHEMA and {p["oid"] for p in m["base"]} <= have
        out = tmp_path / f"{tag}.parquet"
        code = PYARROW_SNIPPET + f"\nimport pyarrow.parquet as _pq\n_pq.write_table(labels, {str(out)!r})\n"
        p = subprocess.run([sys.executable, "-I", "-c", code], cwd=clone, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        want = r.load(tag, "annotations")
        assert pq.read_table(out).cast(want.schema).equals(want)


def test_a_diff_on_one_base_reads_the_deltas_alone(chain_repo, monkeypatch):
    """Versions on one base diff from their deltas (the before images hold the older rows):
    no base part is read, and the result is the one of comparing whole tables."""
    r = chain_repo
    lay = S.Layout.of(S.read_manifest(r.store, r.show("v3").snapshot("annotations")))
    assert all(lay.imaged) and any(b is not None for b in lay.befores)  # the relabel's old rows
    base = {p.oid for p in lay.base}
    asked: list[str] = []
    real = r.store.locate
    monkeypatch.setattr(r.store, "locate", lambda ref: asked.append(ref.oid) or real(ref))
    for x, y in (("v2", "v3"), ("v3", "v2"), ("v1", "v3"), ("v3", "v1"), ("v1", "v2")):
        asked.clear()
        got = r.diff(x, y)
        assert asked and not base & set(asked), (x, y)  # v1 is the base itself: its deltas are none
        full = r.diff(x, y, fast=False, transitions=True)
        assert got.summary["annotations"] == full.summary["annotations"]
        assert got.rows.to_pylist() == full.rows.to_pylist()
        assert r.diff(x, y, transitions=True).transitions == full.transitions  # (transitions read whole tables)
        assert got.rows.num_rows > 0


def test_branches_from_one_version_diff_from_their_deltas(chain_repo, monkeypatch):
    """Two versions made on two branches from v2 (each v2's layout plus its own delta) diff
    from those two deltas: each side's rows of a task the other side changed come from the
    other delta's before image. The result is the one of comparing whole tables."""
    from .conftest import git

    r = chain_repo
    root = r.root
    git("switch", "-q", "-c", "side", "v2", cwd=root)
    side = {f"k{i:03d}": {"a@x": "p", "b@x": "n"} for i in range(60)} | {"k005": {"a@x": "m", "b@x": "n"},
                                                                          "k020": {"a@x": "n", "b@x": "n"}}
    del side["k030"]
    r.snapshot(_write(root / "side.parquet", side), message="side branch")
    git("switch", "-q", "-", cwd=root)
    lays = {t: S.Layout.of(S.read_manifest(r.store, r.show(t).snapshot("annotations"))) for t in ("v3", "v4")}
    assert lays["v3"].base == lays["v4"].base and lays["v3"].deltas[0] == lays["v4"].deltas[0]
    assert lays["v3"].deltas[1] != lays["v4"].deltas[1]  # siblings: one delta each after v2's
    base = {p.oid for p in lays["v3"].base}
    asked: list[str] = []
    real = r.store.locate
    monkeypatch.setattr(r.store, "locate", lambda ref: asked.append(ref.oid) or real(ref))
    for x, y in (("v3", "v4"), ("v4", "v3")):
        asked.clear()
        got = r.diff(x, y)
        assert asked and not base & set(asked)
        full = r.diff(x, y, fast=False, transitions=True)
        assert got.summary["annotations"] == full.summary["annotations"]
        assert got.rows.to_pylist() == full.rows.to_pylist()
        assert r.diff(x, y, transitions=True).transitions == full.transitions  # (transitions read whole tables)
        assert {row["task_key"] for row in got.rows.to_pylist()} == {"k010", "k0305", "k020", "k030"}


def test_a_manifest_with_bad_deltas_is_refused(chain_repo):
    from annover.errors import ObjectError

    v = chain_repo.show("HEAD")
    ref = v.snapshot("annotations")
    m = S.read_manifest(chain_repo.store, ref)
    m["deltas"][0]["upserts"]["oid"] = "../" * 20 + "x" * 4
    bad = chain_repo.store.put(C.canonical_json(m).encode())
    with pytest.raises(ObjectError, match="delta 0 upserts"):
        S.read_manifest(chain_repo.store, bad)


_SNAPSHOT_SMALL_THRESHOLDS = """
import sys, annover
from annover.store import snapshots as S
S.MIN_BASE_BYTES, S.MAX_DELTA_FRACTION, S.MAX_CHAIN = 0, 1.0, 2
annover.Repo(".").snapshot(sys.argv[1], message=sys.argv[2])
"""


@pytest.mark.parametrize("stage", ["after-objects", "before-dvc-add", "after-update-ref"])
def test_sigkill_during_compaction_leaves_every_version_readable(tmp_path, monkeypatch, stage):
    """v2 and v3 are deltas on v1 (a chain of 2, the limit here): v4 is a compaction,
    killed at ``stage``; every version in the log loads, and the rerun completes."""
    from annover.store.snapshots import DELTA_SCHEMA

    from .test_crash import _assert_consistent, _state

    base = {f"k{i:03d}": {"a@x": "p"} for i in range(40)}
    states = [base, {**base, "k001": {"a@x": "n"}}, {**base, "k001": {"a@x": "n"}, "k002": {"a@x": "m"}}]
    r = _rounds(tmp_path / "repo", states, True, monkeypatch)
    monkeypatch.setattr(S, "MAX_CHAIN", 2)
    schemas = [S.read_manifest(r.store, v.snapshot("annotations"))["schema"] for v in r.log()]
    assert schemas == [DELTA_SCHEMA, DELTA_SCHEMA, S.MANIFEST_SCHEMA]
    last = {**states[-1], "k003": {"a@x": "n"}}
    src = _write(tmp_path / "repo" / "in3.parquet", last)
    run = lambda env: subprocess.run([sys.executable, "-c", _SNAPSHOT_SMALL_THRESHOLDS, src, "round 4"],  # noqa: E731
                                     cwd=r.root, capture_output=True, text=True, env={**os.environ, **env})
    p = run({"ANNOVER_TEST_KILL_AT": stage})
    assert p.returncode == -signal.SIGKILL, p.stderr
    _assert_consistent(r.root)  # every version in the log loads (v3's deltas and v1's base too)
    if stage != "after-update-ref":  # not committed: the rerun makes v4
        assert len(_state(r.root)["ids"]) == 3
        p = run({})
        assert p.returncode == 0, p.stderr
    r = annover.Repo(r.root)
    head = r.show("HEAD")
    assert S.read_manifest(r.store, head.snapshot("annotations"))["schema"] == S.MANIFEST_SCHEMA  # compacted
    want = _rounds(tmp_path / "whole", [last], False, monkeypatch)
    assert r.load("HEAD").equals(want.load("HEAD"))
    _assert_consistent(r.root)



items = st.one_of(st.none(), st.sampled_from(["a", "bb", "ccc", ""]))


@settings(max_examples=200, deadline=None)
@given(old=st.lists(st.lists(items, max_size=3), min_size=1, max_size=30), data=st.data(), cut=st.integers(0, 3),
       same_lengths=st.booleans(), null_list=st.booleans())
def test_list_columns_replaced_in_place_as_a_gather_would(old, data, cut, same_lengths, null_list):
    """The list-column shortcut of replacing values (offsets kept, items gathered; what an
    in-place read of relabels takes) gives what a gather of the whole column gives, on sliced arrays too; it declines (None) rather than
    guess when a list changes length or a side has a null list."""
    import numpy as np

    from annover.model.canonical import replaced_items

    col = pa.array([["x"]] * cut + old, pa.list_(pa.string())).slice(cut)
    n = len(col)
    at = sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n)))
    if same_lengths:
        rows = [data.draw(st.lists(items, min_size=len(old[r]), max_size=len(old[r]))) for r in at]
    else:
        rows = data.draw(st.lists(st.lists(items, max_size=3), min_size=len(at), max_size=len(at)))
    if null_list:
        rows[data.draw(st.integers(0, len(rows) - 1))] = None
    new = pa.array(rows, pa.list_(pa.string()))
    order = np.arange(n)
    order[at] = n + np.arange(len(at))
    got = replaced_items(col, np.array(at), new)
    want = pa.concat_arrays([col, new]).take(pa.array(order))
    if not null_list and all(len(old[r]) == len(rows[i]) for i, r in enumerate(at)):
        assert got is not None and got.equals(want)
    else:
        assert got is None


@settings(max_examples=200, deadline=None)
@given(old=st.lists(st.lists(items, max_size=3), min_size=1, max_size=30), data=st.data(), cut=st.integers(0, 3),
       as_list=st.booleans())
def test_dictionary_encoded_columns_replaced_as_a_gather_would(old, data, cut, as_list):
    """A column as a Parquet reader gives it with ``read_dictionary`` (a dictionary array, or a
    list of one: what an in-place read of relabels decodes) is replaced into the plain column
    that replacing in the decoded column gives, on sliced arrays too."""
    import numpy as np

    rows = [["x"]] * cut + old
    if as_list:
        whole = pa.array(rows, pa.list_(pa.string()))
        coded = pa.ListArray.from_arrays(whole.offsets, whole.values.dictionary_encode())
    else:
        whole = pa.array([r[0] if r else None for r in rows], pa.string())
        coded = whole.dictionary_encode()
    col, plain = coded.slice(cut), whole.slice(cut)
    n = len(col)
    at = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n))))
    lengths = [len(old[r]) for r in at]  # lists as long as the old ones: the shortcut keeps the offsets
    new = pa.array([data.draw(st.lists(items, min_size=k, max_size=k)) for k in lengths], pa.list_(pa.string())) \
        if as_list else pa.array([data.draw(items) for _ in at], pa.string())
    assert C.plain(col).equals(plain)
    got, want = C.replaced(col, at, new), C.replaced(plain, at, new)
    assert got.type == want.type and got.equals(want)


def test_show_says_how_each_version_is_stored_and_what_it_added(chain_repo, monkeypatch):
    """``annover show`` words each table's layout (whole, or base parts plus deltas) and the
    bytes the version added over its parent, as the manifests and the object files say."""
    monkeypatch.chdir(chain_repo.root)

    def show(*args: str) -> tuple[int, str]:
        with CliRunner().isolation() as (out, _, _):
            code = run(["show", *args])
            return code, out.getvalue().decode()

    files = lambda v: {r.oid: chain_repo.store.locate(r).stat().st_size  # noqa: E731
                       for r in chain_repo.objects_of(chain_repo.show(v))}
    for rev, parent in (("v1", None), ("v2", "v1"), ("v3", "v2")):
        code, out = show(rev, "--json")
        stored = json.loads(out)["storage"]
        m = S.read_manifest(chain_repo.store, chain_repo.show(rev).snapshot("annotations"))
        ann = stored["tables"]["annotations"]
        assert ann["deltas"] == len(m.get("deltas", [])) and ann["layout"] == ("deltas" if m.get("deltas") else "whole")
        assert ann["upserted_rows"] == sum((d["upserts"] or {}).get("rows", 0) for d in m.get("deltas", []))
        mine, theirs = files(rev), files(parent) if parent else {}
        assert stored["bytes"] == sum(mine.values()) and stored["objects"] == len(mine)
        assert stored["new_bytes"] == sum(n for oid, n in mine.items() if oid not in theirs)
    assert stored["new_bytes"] < stored["bytes"] / 2  # v3: two small deltas on a shared base
    code, text = show("v3")
    assert code == 0 and "annotations" in text and "+ 2 deltas: " in text and "1 task deleted" in text
    for p in (chain_repo.root / ".annover" / "objects").rglob("*"):  # not pulled here
        if p.is_file():
            p.unlink()
    shutil.rmtree(chain_repo.dvc.cache_dir(), ignore_errors=True)
    code, out = show("v3", "--json")
    assert code == 0 and json.loads(out)["storage"] is None
    assert "its objects are not here (`annover pull v3` fetches them)" in show("v3")[1]


def test_an_empty_table_says_rows_0_and_lists_no_parts(repo, tmp_path):
    """What the README tells a plain reader to check first: a version of tasks not labeled yet
    has an annotations manifest with ``"rows": 0`` and no parts (nothing to read)."""
    tasks = [{"data": {"text": f"hello {i}", "ext_id": f"t{i}"}} for i in range(5)]
    (repo.root / "t.json").write_text(json.dumps(tasks))
    v = repo.snapshot("t.json", config="labeling.xml", key="data.ext_id", message="tasks only").version
    m = S.read_manifest(repo.store, v.snapshot("annotations"))
    assert m["rows"] == 0 and m["parts"] == [] and "base" not in m
    assert repo.load(v.id, "annotations").num_rows == 0 and repo.load(v.id, "tasks").num_rows == 5
