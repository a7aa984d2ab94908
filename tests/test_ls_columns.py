"""Label Studio JSON written column-wise (annover.formats.ls_columns) is byte for byte what the
general path writes (``to_tasks``, then each task by orjson or the standard library)."""

from __future__ import annotations

import json
import tracemalloc

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import annover
from annover.formats import write as W
from annover.formats.label_studio import to_tasks
from annover.formats.ls_columns import task_texts
from annover.formats.read import read_source
from annover.model import canonical as C

from annover.labelstudio import tasks as ls_tasks

from .conftest import EXAMPLES
from .ls_fixtures import ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures
from .test_formats import _CORPUS_LS

_CHARS = st.sampled_from('ab"\\\n\t\x01\x7fé€😀 /:,{}[]0eE-#~')
_TEXT = st.text(alphabet=_CHARS, max_size=6)
_ODD = (st.integers(-2**70, 2**70) | st.sampled_from([2**63, 2**64 - 1, 2**64, -2**63, 1e-7, 1.5e16, 1e300, -0.0])
        | st.floats(allow_nan=False, allow_infinity=False))  # most of these the column-wise path leaves alone
_SCALAR = st.one_of(*[st.none(), st.booleans(), st.integers(-999, 999), _TEXT, _TEXT,
                      st.floats(-1e4, 1e4).map(lambda x: round(x, 3))] * 2, _ODD)
_JSON = st.recursive(_SCALAR, lambda kids: st.lists(kids, max_size=3)
                     | st.dictionaries(_TEXT | st.sampled_from(["id", "data", "value", "type", "result"]), kids,
                                       max_size=3), max_leaves=8)
_PLAIN_OBJECT = st.dictionaries(_TEXT, _JSON, max_size=3)
#: now and then an object naming a field the writer sets (which the column-wise path leaves alone)
_OBJECT = st.one_of(*[_PLAIN_OBJECT] * 6, st.dictionaries(
    st.sampled_from(["id", "from_name", "meta", "score", "completed_by", "data"]), _JSON, min_size=1, max_size=2))


def _text(draw, obj):
    """A JSON text as a snapshot holds it (canonical), or now and then as another writer wrote it."""
    if obj is None:
        return None
    how = draw(st.sampled_from(["canonical"] * 14 + ["spaced", "ascii"]))
    if how == "canonical":
        return C.canonical_json(obj)
    return json.dumps(obj) if how == "ascii" else json.dumps(obj, ensure_ascii=False, indent=1)


def _maybe(draw, strategy, p_none: int = 3):
    return None if draw(st.integers(0, p_none)) == 0 else draw(strategy)


def _dump(obj) -> str | None:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True) if obj else None


def _difference(keys: list[str]):
    """A provenance difference (ls_writer.diff's shape) over fields named ``keys``."""
    return st.fixed_dictionaries({}, optional={
        "+": st.dictionaries(st.sampled_from(keys), _JSON, min_size=1, max_size=2),
        "-": st.lists(st.sampled_from(keys), min_size=1, max_size=2)})


_ANSWER_KEYS = ["id", "completed_by", "result", "was_cancelled", "lead_time", "score", "created_at", "task",
                "unique_id"]
_ROW_PROVENANCE = st.fixed_dictionaries({}, optional={
    "a": _difference(_ANSWER_KEYS).flatmap(lambda d: st.fixed_dictionaries(
        {k: st.just(v) for k, v in d.items()},
        optional={"i": st.integers(0, 3), "as": st.sampled_from(["id", "embedded"])})),
    "r": _difference(["id", "value", "from_name", "origin", "score"])}).map(_dump)
_TASK_KEYS = ["id", "data", "meta", "inner_id", "annotations", "predictions", "created_at", "project", "drafts"]
_TASK_PROVENANCE = _difference(_TASK_KEYS).map(
    lambda d: {**d, "+": {**d["+"], "predictions": [3, 4]}} if "predictions" in d.get("+", {}) else d)


def _answer_rows(draw, task_key: str, annotation: bool) -> list[dict]:
    who = draw(st.sampled_from(["alice@x.org", "12", "007", "bob", "é", "1234567890123456789", None]))
    key = f"{who or '-'}#{draw(st.integers(0, 2))}" if annotation else f"{draw(st.sampled_from(['m1', '', 'é']))}#0"
    base = {"task_key": task_key, "extra": _text(draw, _maybe(draw, _OBJECT, 1)),
            "created_at": _maybe(draw, _TEXT), "updated_at": _maybe(draw, _TEXT)}
    if annotation:
        base.update(annotation_key=key, annotator=who, was_cancelled=draw(st.booleans()),
                    ground_truth=draw(st.booleans()), lead_time=_maybe(draw, st.floats(0, 1e20)),
                    ls_annotation_id=_maybe(draw, st.integers(0, 2**62)),
                    ls_parent_prediction_id=_maybe(draw, st.integers(0, 99), 1),
                    ls_parent_annotation_id=_maybe(draw, st.integers(0, 99), 1))
    else:
        base.update(prediction_key=key, model_version=key[:-2], score=_maybe(draw, st.floats(-1e3, 1e3)),
                    ls_prediction_id=_maybe(draw, st.integers(0, 2**62)))
    rows = []
    for j in range(draw(st.integers(1, 3))):
        control = draw(st.sampled_from(["sentiment", "box", "é/x", None]))
        rk = draw(st.sampled_from(["", f"~{j}abc", f"r{j}/{control}", f"r{j}/{control}#1", f"x{j}#2", "ü#3\n"]))
        own = {"created_at": draw(_TEXT)} if draw(st.integers(0, 3)) == 0 else {}  # rows of an answer may differ
        rows.append({**base, **own, "region_key": rk, "from_name": control, "to_name": _maybe(draw, _TEXT),
                     "type": draw(st.sampled_from(["choices", "rectanglelabels", 'q"'])),
                     "value": _text(draw, _maybe(draw, _JSON | _OBJECT)), "region": _text(draw, _maybe(draw, _OBJECT)),
                     "position": draw(st.integers(-1, 2)),
                     "ls_original": draw(_ROW_PROVENANCE) if draw(st.booleans()) else None})
    return rows


@st.composite
def _tables(draw) -> dict:
    tasks, rows = [], {"annotations": [], "predictions": []}
    for i in range(draw(st.integers(0, 6))):
        key = draw(st.sampled_from(["t", "é", "a b"])) + str(i)
        place = draw(_TASK_PROVENANCE) if draw(st.integers(0, 3)) == 0 else {}
        if draw(st.booleans()):
            place = {**place, "i": 5 - i}
        place = _dump(place)
        tasks.append({"task_key": key, "data": _text(draw, draw(_JSON)),
                      "extra": _text(draw, _maybe(draw, _OBJECT, 1)), "ls_task_id": _maybe(draw, st.integers(0, 2**62)),
                      "ls_project_id": _maybe(draw, st.integers(0, 9)),
                      "created_at": _maybe(draw, _TEXT), "updated_at": _maybe(draw, _TEXT), "ls_original": place})
        for name in rows:
            for _ in range(draw(st.integers(0, 2))):
                rows[name].extend(_answer_rows(draw, key, name == "annotations"))
    for name in rows:
        rows[name] = draw(st.permutations(rows[name]))
    return {"tasks": pa.Table.from_pylist(tasks, schema=C.schema("tasks")),
            **{name: pa.Table.from_pylist(r, schema=C.schema(name)) for name, r in rows.items()}}


def _general(tables: dict) -> bytes:
    """The general path: every task through ``to_tasks`` and the version's encoder."""
    encode = W.json_encoder(tables.values())
    tasks = to_tasks(*(tables[n].to_pylist() for n in C.TABLES))
    return b"[]\n" if not tasks else b"[\n" + b",\n".join(encode(t) for t in tasks) + b"\n]\n"


def _rendered(tables: dict, size: int) -> bytes:
    W.TASK_BATCH, keep = size, W.TASK_BATCH
    try:
        return b"".join(W.render_chunks("label-studio", tables))
    finally:
        W.TASK_BATCH = keep


@settings(max_examples=80, deadline=None)
@given(tables=_tables(), size=st.sampled_from([1, 2, 1000]))
def test_the_column_wise_tasks_are_the_general_paths_bytes(tables, size):
    assert _rendered(tables, size) == _general(tables)


def _fast(tables: dict) -> list:
    return [x for b in W.table_batches(tables) for x in task_texts(*b, W._json_item)]


def test_a_plain_version_is_written_column_wise_whole():
    """Not vacuous: a version with no provenance differences takes the column-wise path for
    every task (a float written 1e-07 or a text not compact sends its task to the other)."""
    rows = [{"task_key": f"t{i}", "data": C.canonical_json({"text": f"é \"{i}\"\n", "n": i + 0.5}),
             "ls_task_id": i} for i in range(5)]
    ann = [{"task_key": f"t{i}", "annotation_key": f"a@x.org#{j}", "region_key": f"r{j}/sentiment",
            "annotator": "a@x.org" if j else "12", "from_name": "sentiment", "to_name": "text", "type": "choices",
            "value": '{"choices":["pos"]}', "was_cancelled": False, "ground_truth": j == 1, "lead_time": 1.5,
            "position": 0} for i in range(5) for j in range(2)]
    tables = {"tasks": pa.Table.from_pylist(rows, schema=C.schema("tasks")),
              "annotations": pa.Table.from_pylist(ann, schema=C.schema("annotations")),
              "predictions": C.schema("predictions").empty_table()}
    assert None not in _fast(tables)
    assert _rendered(tables, 2) == _general(tables)
    odd = rows[:3] + [{**rows[3], "data": '{"n":1e-07}'}, {**rows[4], "data": '{"n": 1}'}]
    tables["tasks"] = pa.Table.from_pylist(odd, schema=C.schema("tasks"))
    assert [x is None for x in _fast(tables)] == [False, False, False, True, True]
    assert _rendered(tables, 2) == _general(tables)


def test_a_value_nested_as_deep_as_orjson_refuses_is_written_by_the_general_path():
    deep: object = 1
    for _ in range(250):
        deep = [deep]
    ann = [{"task_key": "t", "annotation_key": "a#0", "region_key": "~1", "from_name": "c",
            "value": json.dumps({"v": deep}, separators=(",", ":")), "was_cancelled": False, "ground_truth": False,
            "position": 0}]
    tables = {"tasks": pa.Table.from_pylist([{"task_key": "t", "data": "{}"}], schema=C.schema("tasks")),
              "annotations": pa.Table.from_pylist(ann, schema=C.schema("annotations")),
              "predictions": C.schema("predictions").empty_table()}
    assert _fast(tables) == [None]
    assert _rendered(tables, 10) == _general(tables)


def test_a_row_without_its_position_is_left_to_the_general_path():
    ann = [{"task_key": "t", "annotation_key": "a#0", "region_key": f"~{i}", "from_name": "c", "position": pos,
            "was_cancelled": False, "ground_truth": False} for i, pos in enumerate([0, None])]
    schema = C.schema("annotations")
    schema = schema.set(schema.get_field_index("position"), pa.field("position", pa.int32(), nullable=True))
    tables = {"tasks": pa.Table.from_pylist([{"task_key": "t", "data": "{}"}], schema=C.schema("tasks")),
              "annotations": pa.Table.from_pylist(ann, schema=schema),
              "predictions": C.schema("predictions").empty_table()}
    assert _fast(tables) == [None]


def test_the_sample_and_a_real_export_write_what_the_general_path_writes():
    """End to end through the reader: the sample's rounds and real Label Studio exports of the
    shared corpus, with their provenance differences and without (as a version read back from
    JSONL has none)."""
    sources = [EXAMPLES / "round1.json", EXAMPLES / "round2.json",
               *sorted(_CORPUS_LS.glob("*.json"))[:30]]
    for src in sources:
        key = "data.ext_id" if src.parent == EXAMPLES else ("id" if "dup_ids" in src.name else None)
        t = read_source(src, key=key, validate=False)
        tables = {n: getattr(t, n) for n in C.TABLES}
        bare = {n: tables[n].drop_columns(["ls_original"]) for n in C.TABLES}
        for version in (tables, bare):
            assert _rendered(version, 3) == _general(version), src.name
            assert None not in _fast(version), src.name  # not vacuous: every task column-wise


@pytest.mark.labelstudio
def test_a_column_wise_export_imports_into_label_studio(ls, sdk_admin, project_factory, tmp_path):
    """The file written column-wise (every task of a version with no provenance) is a Label
    Studio import: a real server takes every task and annotation, and gives the labels back."""
    me = sdk_admin.users.whoami().email
    rows = [{"task_key": f"r{i}", "data": C.canonical_json({"id": f"r{i}", "text": f"review é \"{i}\"\n"})}
            for i in range(3)]
    ann = [{"task_key": f"r{i}", "annotation_key": f"{me}#{j}", "region_key": f"~{i}{j}", "annotator": me,
            "from_name": "sentiment", "to_name": "text", "type": "choices", "labels": [label],
            "value": C.canonical_json({"choices": [label]}), "was_cancelled": False, "ground_truth": False,
            "lead_time": 2.5, "position": 0}
           for i, j, label in [(0, 0, "pos"), (1, 0, "neg"), (1, 1, "pos"), (2, 0, "neutral")]]
    tables = {"tasks": pa.Table.from_pylist(rows, schema=C.schema("tasks")),
              "annotations": pa.Table.from_pylist(ann, schema=C.schema("annotations")),
              "predictions": C.schema("predictions").empty_table()}
    assert None not in _fast(tables)
    out = tmp_path / "v.json"
    out.write_bytes(_rendered(tables, 2))
    assert out.read_bytes() == _general(tables)
    p = project_factory("column-wise")
    r = ls_tasks.push(ls, p.id, str(out), key="data.id", annotations=True)
    assert (r.sent, r.annotations) == (3, 4)
    got = annover.init(tmp_path / "back").snapshot(label_studio=p.id, client=ls, key="data.id", message="back")
    back = annover.Repo(tmp_path / "back").read_table(got.version.id, "annotations")
    assert sorted(zip(back.column("task_key").to_pylist(), back.column("labels").to_pylist())) == \
        [("r0", ["pos"]), ("r1", ["neg"]), ("r1", ["pos"]), ("r2", ["neutral"])]


def test_two_tasks_of_one_key_are_written_as_the_general_path_writes_them():
    """Not a version annover makes, but a table it may be given: as before, each task of a key
    twice in one batch gets the answers of both (batch by batch ``to_tasks``; whole, it would not)."""
    ann = [{"task_key": "t", "annotation_key": "a#0", "region_key": "~1", "from_name": "c", "position": 0,
            "was_cancelled": False, "ground_truth": False}]
    tables = {"tasks": pa.Table.from_pylist([{"task_key": "t", "data": "{}"}, {"task_key": "t", "data": "[]"},
                                             {"task_key": "u", "data": "{}"}], schema=C.schema("tasks")),
              "annotations": pa.Table.from_pylist(ann, schema=C.schema("annotations")),
              "predictions": C.schema("predictions").empty_table()}
    assert _fast(tables) == [None, None, b'{"data":{},"annotations":[],"predictions":[]}']
    for size in (1, 2, 10):
        encode = W.json_encoder(tables.values())
        texts = [encode(x) for b in W.task_batches(tables, size) for x in to_tasks(*b)]
        assert _rendered(tables, size) == b"[\n" + b",\n".join(texts) + b"\n]\n"


def test_an_answers_difference_is_its_first_rows_in_the_tables_order():
    """Two rows of one answer each holding an answer-level difference (not what the reader
    writes, but a table may hold it): the one of the row first in the table, as to_tasks takes it."""
    ann = [{"task_key": "t", "annotation_key": "a#0", "region_key": rk, "from_name": "c", "position": 0,
            "was_cancelled": False, "ground_truth": False, "ls_original": _dump({"a": {"+": {"task": n}}})}
           for rk, n in [("~2", 2), ("~1", 1), ("~3", 3)]]
    tables = {"tasks": pa.Table.from_pylist([{"task_key": "t", "data": "{}"}], schema=C.schema("tasks")),
              "annotations": pa.Table.from_pylist(ann, schema=C.schema("annotations")),
              "predictions": C.schema("predictions").empty_table()}
    assert _fast(tables) != [None]
    assert b'"task":2' in _rendered(tables, 1) == _general(tables)


def _many_tasks(n: int) -> dict:
    keys = pa.array([f"t{i:07d}" for i in range(n)], pa.string())
    ann = pa.table({"task_key": keys, "annotation_key": pa.array(["a#0"] * n), "region_key": pa.array(["~1"] * n),
                    "from_name": pa.array(["c"] * n), "was_cancelled": pa.array([False] * n),
                    "ground_truth": pa.array([False] * n), "position": pa.array([0] * n, pa.int32())})
    return {"tasks": C.conform(pa.table({"task_key": keys, "data": pa.array(["{}"] * n)}), "tasks"),
            "annotations": C.conform(ann, "annotations"), "predictions": C.schema("predictions").empty_table()}


def test_a_batch_of_tasks_allocates_for_its_own_tasks_not_for_the_whole_table():
    """Each batch copied every task's first row and row count (the annotations' and the
    predictions'), so an export of N tasks in N / 2,000 batches did O(N^2) work: 10M rows to
    Label Studio JSON spent tens of seconds copying. numpy reports its arrays to tracemalloc."""
    tables = _many_tasks(200_000)  # a copy of one table's runs: 1.6 MB of first rows, 1.6 MB of counts
    batches = W.table_batches(tables, size=10)
    next(batches)  # the lookups made once for every batch
    tracemalloc.start()
    try:
        for _ in range(3):
            next(batches)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 400_000, peak
