"""JSON-MIN and JSONL written column-wise (annover.formats.min_columns) are byte for byte what
the general writers write (``to_tasks`` / ``to_pylist``, then orjson or the standard library),
kept callable as ``write.json_min_general_chunks`` and ``write.jsonl_general_chunks``."""

from __future__ import annotations

import json

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from annover.formats import write as W
from annover.formats.min_columns import jsonl_lines, min_records
from annover.formats.read import read_source
from annover.model import canonical as C
from annover.model.config import LabelingConfig

from .test_formats import _CORPUS_LS
from .test_ls_columns import _JSON, _TEXT, _dump, _maybe, _tables

#: Each strategy in two kinds: ``clean`` (a task the column-wise path should take whole: its
#: differences only those it applies) and any (with what it leaves to the general writer: a
#: data key the record sets, a text not canonical, a float ``1e-07``, an integer beyond 64 bits,
#: a region naming a field the writer sets, a difference changing a result, a place not an integer).
_SAFE_KEYS = ["text", "image", "é", "a\"b", "meta"]
_DATA_KEYS = {True: st.sampled_from(_SAFE_KEYS),
              False: st.sampled_from(_SAFE_KEYS + ["id", "annotator", "sentiment", "box", "lead_time"])}
_CONTROLS = {True: st.sampled_from(["sentiment", "box", "label", "é/x", "txt", None]),
             False: st.sampled_from(["sentiment", "box", "label", "annotator", "id", None])}
_TYPES = st.sampled_from(["choices", "choices", "rectanglelabels", "textarea", "rating", "labels", None, 'q"'])
_SIZE = {True: st.sampled_from([0, 800, 600]), False: st.sampled_from([800, 1e-7, 2**64, "x"])}
_SAFE_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | _TEXT
                          | st.floats(1e-4, 1e15, exclude_min=True, exclude_max=True)
                          | st.floats(-1e15, -1e-4, exclude_min=True, exclude_max=True),
                          lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_TEXT, kids, max_size=3),
                          max_leaves=6)


def _value(clean: bool):
    base = [st.lists(st.sampled_from(["pos", "neg", "é\n", 'q"', "\x01", 7]), max_size=2).map(lambda c: {"choices": c}),
            st.fixed_dictionaries({"x": st.floats(0, 100) if not clean else st.sampled_from([0, 33.25, 1e-4]),
                                   "width": st.sampled_from([1, 2.5])},
                                  optional={"original_width": _SIZE[clean], "rectanglelabels": st.just(["Cat"])}),
            st.lists(_TEXT, max_size=2).map(lambda t: {"text": t}), st.dictionaries(_TEXT, _SAFE_JSON, max_size=2)]
    return st.one_of(*base) if clean else st.one_of(*base, _JSON, st.just({"choices": 1e-7}))


def _region(clean: bool):
    sized = st.fixed_dictionaries({}, optional={"original_width": _SIZE[clean], "original_height": _SIZE[clean],
                                                "image_rotation": st.just(0), "origin": _TEXT})
    return sized if clean else sized | st.just({"id": "x"}) | st.just({"value": 1})  # fields the writer sets


def _text(draw, obj, clean: bool = True):
    """A JSON text as a snapshot holds it (canonical), or (not clean) now and then as another writer wrote it."""
    if obj is None:
        return None
    how = "canonical" if clean else draw(st.sampled_from(["canonical"] * 6 + ["spaced", "ascii"]))
    if how == "canonical":
        return C.canonical_json(obj)
    return json.dumps(obj) if how == "ascii" else json.dumps(obj, ensure_ascii=False, indent=1)


def _difference(keys: list[str]):
    return st.fixed_dictionaries({}, optional={
        "+": st.dictionaries(st.sampled_from(keys), _SAFE_JSON | st.fixed_dictionaries({"email": _TEXT}), max_size=2),
        "-": st.lists(st.sampled_from(keys), max_size=2)})


#: the answer fields a record reads (a difference is applied) and others; ``result`` it leaves alone
_A_KEYS = ["completed_by", "was_cancelled", "id", "created_at", "updated_at", "lead_time", "task", "unique_id"]


def _answer_difference(clean: bool):
    """An answer's difference: fields (``result`` not clean) and its place in its task."""
    places = [0, 1, 3, 2**62] if clean else [1.5, 2**70, "x"]
    return _difference(_A_KEYS if clean else _A_KEYS + ["result"]).flatmap(lambda d: st.fixed_dictionaries(
        {k: st.just(v) for k, v in d.items()}, optional={"i": st.sampled_from(places)}))


def _row_provenance(draw, answer: dict | None, clean: bool) -> str | None:
    """A row's ``ls_original``: now and then a result item's difference; the answer's (as the
    reader writes it on each row of the answer) on most rows, now and then another one's."""
    r_keys = ["id", "origin", "score"] if clean else ["id", "value", "from_name", "original_width", "type"]
    a = answer if draw(st.integers(0, 4)) else draw(st.none() | _answer_difference(clean))
    r = draw(st.none() | _difference(r_keys))
    return _dump({**({"a": a} if a else {}), **({"r": r} if r else {})})


def _rows(draw, key: str, clean: bool) -> list[dict]:
    """The rows of one annotation of task ``key``: result items of several controls, sometimes
    none (an empty answer's row), sometimes skipped, now and then with provenance differences.
    In a clean task each field is now and then not clean on its own (one thing the column-wise
    path leaves to the general writer in a task otherwise its)."""
    def fine() -> bool:
        return clean and draw(st.integers(0, 15)) > 0

    who = draw(st.sampled_from(["a@x.org", "12", "bob", "é", "1234567890123456789", None]))
    a_clean = fine()
    base = {"task_key": key, "annotation_key": f"{who or '-'}#{draw(st.integers(0, 2))}", "annotator": who,
            "was_cancelled": draw(st.booleans()) and draw(st.booleans()), "ground_truth": draw(st.booleans()),
            "lead_time": _maybe(draw, st.sampled_from([1.5, 1e-7, 3.0, 12345.678, 1e16])),
            "ls_annotation_id": _maybe(draw, st.integers(0, 2**62)), "created_at": _maybe(draw, _TEXT),
            "updated_at": _maybe(draw, _TEXT, 1), "extra": _text(draw, _maybe(draw, st.dictionaries(
                st.sampled_from(["task", "unique_id"] if a_clean else ["completed_by", "lead_time"]), _SAFE_JSON,
                max_size=1), 1), fine())}
    rows = []
    answer = draw(_answer_difference(a_clean)) if draw(st.booleans()) else None
    for j in range(draw(st.integers(1, 4))):
        rk = draw(st.sampled_from(["", f"~{j}", f"r{j}/box", f"r{j}#1", "r0/box"]))
        value_clean = fine()
        rows.append({**base, "region_key": rk, "from_name": draw(_CONTROLS[fine()]), "to_name": "text",
                     "type": draw(_TYPES), "value": _text(draw, _maybe(draw, _value(value_clean), 6), fine()),
                     "region": _text(draw, _maybe(draw, _region(fine()), 1), fine()),
                     "position": draw(st.integers(0, 1)), "labels": _maybe(draw, st.lists(_TEXT | st.none())),
                     "ls_original": _row_provenance(draw, answer, fine())})
        if rows[-1]["type"] == "choices" and value_clean:  # a choice's value is an object (the general writer fails else)
            rows[-1]["value"] = _text(draw, draw(_value(True).filter(lambda v: isinstance(v, dict))))
    return rows


@st.composite
def _min_tables(draw) -> dict:
    """A version shaped like what JSON-MIN writes: object data, choices and boxes, image sizes;
    about half its tasks clean."""
    tasks, anns = [], []
    for i in range(draw(st.integers(0, 7))):
        clean = draw(st.booleans())
        key = draw(st.sampled_from(["t", "é", "a b"])) + str(i % 6)  # now and then a key twice
        data = draw(st.dictionaries(_DATA_KEYS[clean], _SAFE_JSON if clean else _JSON, max_size=3)
                    if clean or draw(st.booleans()) else _JSON)
        places = [i, 5 - i, 2**62] if clean or draw(st.integers(0, 5)) else [1.5, "x"]  # odd: the whole batch general
        place = {"i": draw(st.sampled_from(places))} if draw(st.booleans()) else {}
        diff = draw(_difference(["meta", "drafts", "inner_id"] if clean else ["data", "id", "annotations"]))
        tasks.append({"task_key": key, "data": _text(draw, data, clean),
                      "ls_task_id": _maybe(draw, st.integers(0, 2**62)),
                      "extra": _text(draw, _maybe(draw, st.dictionaries(st.sampled_from(["meta"] if clean else ["id"]),
                                                                        _JSON, max_size=1), 1), clean),
                      "ls_original": _dump({**diff, **place})})
        for _ in range(draw(st.integers(1 if clean else 0, 4))):
            anns.extend(_rows(draw, key, clean))
    anns = draw(st.permutations(anns))
    return {"tasks": pa.Table.from_pylist(tasks, schema=C.schema("tasks")),
            "annotations": pa.Table.from_pylist(anns, schema=C.schema("annotations")),
            "predictions": C.schema("predictions").empty_table()}


def _json_min(tables: dict, size: int, general: bool = False) -> bytes:
    W.TASK_BATCH, keep = size, W.TASK_BATCH
    try:
        return b"".join((W.json_min_general_chunks if general else W.json_min_chunks)(tables))
    finally:
        W.TASK_BATCH = keep


def _jsonl(t: pa.Table, size: int, general: bool = False) -> bytes:
    W.BATCH, keep = size, W.BATCH
    try:
        return b"".join((W.jsonl_general_chunks if general else W.jsonl_chunks)(t))
    finally:
        W.BATCH = keep


def _same_or_same_error(f, *args):
    """f's bytes, or the type of what it raised (the general writer fails on some tables:
    data that is not an object, a place that is not a number; the new one must fail alike)."""
    try:
        return f(*args)
    except Exception as e:  # noqa: BLE001 - compared with the general writer's
        return type(e)


@settings(max_examples=80, deadline=None)  # new examples each run
@given(tables=_min_tables(), size=st.sampled_from([1, 2, 3, 1000]))
def test_json_min_column_wise_is_the_general_writers_bytes(tables, size):
    got = _same_or_same_error(_json_min, tables, size)
    assert got == _same_or_same_error(_json_min, tables, size, True)


@settings(max_examples=80, deadline=None)  # new examples each run
@given(tables=_tables(), size=st.sampled_from([1, 2, 1000]))
def test_json_min_of_label_studio_shaped_tables_is_the_general_writers_bytes(tables, size):
    """The tables of the Label Studio JSON property test: any JSON data, provenance of every kind."""
    got = _same_or_same_error(_json_min, tables, size)
    assert got == _same_or_same_error(_json_min, tables, size, True)


@settings(max_examples=100, deadline=None)
@given(tables=_min_tables() | _tables(), size=st.sampled_from([1, 3, 1000]), nan=st.integers(0, 9))
def test_jsonl_column_wise_is_the_general_writers_bytes(tables, size, nan):
    for name in C.TABLES:
        t = tables[name]
        if nan == 0 and name == "annotations" and t.num_rows:  # a NaN: the standard library's, throughout
            t = t.set_column(t.schema.get_field_index("lead_time"), "lead_time",
                             pa.array([float("nan")] * t.num_rows, pa.float64()))
        assert _jsonl(t, size) == _jsonl(t, size, True), name


def _plain_version() -> dict:
    """Every shape the column-wise JSON-MIN takes: several controls, a box with the image size
    in its region, one choice and several, a textarea, a skipped annotation, an empty one,
    escapes, task ids, and provenance differences it applies (an answer's completed_by, id,
    place; a task's place and server fields)."""
    tasks = [{"task_key": f"t{i}", "data": C.canonical_json({"text": f"é \"{i}\"\n", "n": i + 0.5}),
              "ls_task_id": i or None, "ls_original": _dump({"i": 3 - i, "+": {"drafts": []}} if i else {})}
             for i in range(4)]
    ann = []
    for i in range(4):
        for j, who in enumerate(["a@x.org", "12", "bob"]):
            base = {"task_key": f"t{i}", "annotation_key": f"{who}#0", "annotator": who, "was_cancelled": j == 2 and i == 1,
                    "ground_truth": False, "lead_time": 1.5 * j or None, "ls_annotation_id": 10 * i + j or None,
                    "created_at": "2024-01-01" if j else 'at "noon" \\ é', "position": 0}
            o = _dump({"a": {"+": {"completed_by": {"email": "z@x.org", "id": 3}, "id": 7}}} if j == 1
                      else {"a": {"i": 0}} if j == 2 else {})  # bob's answer first in its task
            ann += [{**base, "region_key": f"b{j}/box", "from_name": "box", "to_name": "img", "type": "rectanglelabels",
                     "value": '{"rectanglelabels":["Cat"],"x":1.5}',
                     "region": '{"image_rotation":0,"original_height":600,"original_width":800}', "ls_original": o},
                    {**base, "region_key": f"c{j}/box", "from_name": "box", "to_name": "img", "type": "rectanglelabels",
                     "value": '{"x":2}', "ls_original": o},
                    {**base, "region_key": "~1", "from_name": "sentiment", "to_name": "text", "type": "choices",
                     "value": '{"choices":["pos"]}' if j else '{"choices":["pos","neg"]}', "ls_original": o},
                    {**base, "region_key": "~2", "from_name": "note", "to_name": "text", "type": "textarea",
                     "value": '{"text":["a\\nb"]}', "ls_original": o}]
        ann.append({"task_key": f"t{i}", "annotation_key": "empty#0", "annotator": "empty", "region_key": "",
                    "was_cancelled": False, "ground_truth": False, "position": 0})
    return {"tasks": pa.Table.from_pylist(tasks, schema=C.schema("tasks")),
            "annotations": pa.Table.from_pylist(ann, schema=C.schema("annotations")),
            "predictions": C.schema("predictions").empty_table()}


def _fast_share(tables: dict, size: int = 3) -> tuple[int, int]:
    """(tasks the column-wise JSON-MIN writes, tasks)."""
    got = [min_records(b[0], b[1], b[2]) for b in W.table_batches(tables, size)]
    return sum(int(g[2].sum()) for g in got if g is not None), tables["tasks"].num_rows


def test_a_plain_version_is_written_column_wise_whole():
    tables = _plain_version()
    assert _fast_share(tables) == (4, 4)
    out = _json_min(tables, 3)
    assert out == _json_min(tables, 3, True)
    records = json.loads(out)
    assert [r["annotator"] for r in records[:4]] == ["bob", "z@x.org", "a@x.org", "empty"]  # t3: the first task
    assert records[2]["created_at"] == 'at "noon" \\ é'
    assert len(records) == 15 and {"annotator": "z@x.org", "annotation_id": 7} in [
        {k: r.get(k) for k in ("annotator", "annotation_id")} for r in records]
    assert records[0]["box"][0] == {"rectanglelabels": ["Cat"], "x": 1.5, "original_width": 800, "original_height": 600}
    for name in C.TABLES:
        lines = jsonl_lines(tables[name])
        assert lines is not None and lines[1].all()
        assert _jsonl(tables[name], 5) == _jsonl(tables[name], 5, True)


def test_texts_the_column_wise_path_cannot_give_back_are_left_to_the_general_writer():
    tables = _plain_version()
    t = tables["tasks"].to_pylist()
    t[1]["data"] = '{"n":1e-07}'  # orjson writes 1e-7
    t[2]["data"] = '{"text": "spaced"}'
    t[3]["data"] = '{"annotator":"in the data"}'  # a key the record sets
    tables["tasks"] = pa.Table.from_pylist(t, schema=C.schema("tasks"))
    assert _fast_share(tables, 10) == (1, 4)
    assert _json_min(tables, 10) == _json_min(tables, 10, True)
    a = tables["annotations"].to_pylist()
    a[0]["value"] = '{"n":123456789012345678901234567890}'  # beyond 64 bits: orjson reads a float
    tables["annotations"] = pa.Table.from_pylist(a, schema=C.schema("annotations"))
    lines = jsonl_lines(tables["annotations"])
    assert lines[1].tolist() == [False] + [True] * (len(a) - 1)
    assert _jsonl(tables["annotations"], 3) == _jsonl(tables["annotations"], 3, True)
    assert b"123456789012345678901234567890" in _jsonl(tables["annotations"], 3)


def _corpus() -> list:
    """Every Label Studio export of the shared corpus, read with its labeling config."""
    same_config = {"derived_csv_sentiment": "fe_sentiment_two_annotators",
                   "sdk_csv_export_tsv": "sdk_unicode_nested_data"}
    out = []
    for src in sorted(p for p in _CORPUS_LS.iterdir() if p.suffix in (".json", ".csv", ".tsv")):
        cfg = LabelingConfig.from_file(str(_CORPUS_LS / (same_config.get(src.stem, src.stem) + ".xml")))
        out.append((src, read_source(src, config=cfg, key="id" if "dup_ids" in src.name else None, validate=False)))
    return out


def test_every_corpus_export_is_written_as_the_general_writers_write_it():
    """Real Label Studio exports, with their provenance differences and without (as a version
    read back from JSONL has none), as JSON-MIN and each table as JSONL; and not vacuous: the
    column-wise paths write nearly all of it."""
    sources = _corpus()
    assert len(sources) >= 20
    fast = tasks = lines = rows = 0
    for src, t in sources:
        tables = {n: getattr(t, n) for n in C.TABLES}
        bare = {n: tables[n].drop_columns(["ls_original"]) for n in C.TABLES}
        for version in (tables, bare):
            assert _json_min(version, 3) == _json_min(version, 3, True), src.name
            done = _fast_share(version)
            fast, tasks = fast + done[0], tasks + done[1]
            for name in C.TABLES:
                assert _jsonl(version[name], 7) == _jsonl(version[name], 7, True), (src.name, name)
                got = jsonl_lines(version[name])
                lines, rows = lines + int(got[1].sum()), rows + version[name].num_rows
    assert fast >= 0.9 * tasks and lines >= 0.9 * rows, (fast, tasks, lines, rows)


def test_a_batch_arrow_cannot_hold_goes_to_the_general_writer(monkeypatch):
    """More than 2 GB of texts in a batch (20,000 rows of 100 KB documents) is more than one
    Arrow array holds: the batch is written by the general writer, the same bytes. The fault is
    made by hand: a real one needs 2 GB of text."""
    tables = _plain_version()
    want_min, want_jsonl = _json_min(tables, 3, True), _jsonl(tables["annotations"], 3, True)

    def full(*_args):
        raise pa.ArrowCapacityError("array cannot contain more than 2147483646 bytes")

    monkeypatch.setattr(W, "min_records", full)
    monkeypatch.setattr(W, "jsonl_lines", full)
    assert _json_min(tables, 3) == want_min
    assert _jsonl(tables["annotations"], 3) == want_jsonl
