"""Reading every source format into the canonical tables, and the errors for bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annover.model import canonical as C
from annover.errors import ConfigError, InputError, UsageError, ValidationError
from annover.formats import EXPORT_FORMATS, INPUT_FORMATS, Format
from annover.formats import flat
from annover.formats import write as W
from annover.formats.label_studio import LABEL_KEYS, from_ls_tasks, labels_of, to_tasks
from annover.formats.predictions import read_predictions, read_predictions_table
from annover.formats.read import read_source
from annover.formats.training import TRAIN_FORMATS
from annover.model.config import LabelingConfig
from annover.store import duck

from .conftest import DATA, EXAMPLES, shared_corpus


@pytest.fixture(scope="module")
def all_cfg():
    return LabelingConfig.from_file(str(DATA / "all_types.xml"))


def test_every_result_type_is_kept(all_cfg):
    raw = json.loads((DATA / "all_types.json").read_text())
    t = read_source(DATA / "all_types.json", config=all_cfg, key="data.uid")
    rows = t.annotations.to_pylist()
    raw_items = [i for a in raw[0]["annotations"] for i in a["result"]]
    assert sorted(r["type"] for r in rows if r["type"]) == sorted(i["type"] for i in raw_items)
    # every value comes back exactly, and labels are extracted for every labelled type
    for item in raw_items:
        match = [r for r in rows if r["type"] == item["type"] and r["from_name"] == item.get("from_name")
                 and (item.get("value") is None or json.loads(r["value"]) == item["value"])]
        assert match, item
        assert match[0]["labels"] == labels_of(item)
    skip = [r for r in rows if r["was_cancelled"]]
    assert len(skip) == 1 and skip[0]["region_key"] == "" and skip[0]["annotator"] == "bo@example.com"
    gt = {r["ground_truth"] for r in rows if r["annotator"] == "ann@example.com"}
    assert gt == {True}
    assert {r["lead_time"] for r in rows} == {a["lead_time"] for a in raw[0]["annotations"]}
    # tasks: data canonical, meta kept, server counters dropped
    tasks = {r["task_key"]: r for r in t.tasks.to_pylist()}
    assert json.loads(tasks["img-1"]["extra"]) == {"meta": raw[0]["meta"]}
    assert json.loads(tasks["img-1"]["data"]) == raw[0]["data"]
    preds = t.predictions.to_pylist()
    assert {p["model_version"] for p in preds} == {"yolo-v8", "clip-v2"}
    assert {p["score"] for p in preds} == {0.91, 0.5}


def test_label_studio_round_trip_is_exact(all_cfg):
    t = read_source(DATA / "all_types.json", config=all_cfg, key="data.uid")
    back = to_tasks(t.tasks.to_pylist(), t.annotations.to_pylist(), t.predictions.to_pylist())
    t2 = from_ls_tasks(json.loads(json.dumps(back)), "again", config=all_cfg, key="data.uid")
    for name in C.TABLES:
        assert C.content_id(getattr(t, name), name) == C.content_id(getattr(t2, name), name)
        assert getattr(t, name).equals(getattr(t2, name))


def test_per_region_controls_sharing_an_id_are_two_regions(all_cfg):
    t = read_source(DATA / "all_types.json", config=all_cfg, key="data.uid")
    keys = [r for r in t.annotations.column("region_key").to_pylist() if r.startswith("b1/")]
    assert sorted(keys) == ["b1/box", "b1/caption"]


def _write(tmp_path: Path, name: str, obj) -> Path:
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def test_unknown_label_names_task_and_region(tmp_path, all_cfg):
    raw = json.loads((DATA / "all_types.json").read_text())
    raw[0]["annotations"][0]["result"][1]["value"]["rectanglelabels"] = ["zebra"]
    p = _write(tmp_path, "bad.json", raw)
    with pytest.raises(ValidationError) as e:
        read_source(p, config=all_cfg, key="data.uid")
    msg = str(e.value)
    assert "bad.json" in msg and "task 0 (key img-1)" in msg and "result 1" in msg and "annotation 0" in msg and "zebra" in msg
    assert "\n" not in msg
    # --no-validate reads it
    assert read_source(p, config=all_cfg, key="data.uid", validate=False).annotations.num_rows > 0


def test_unknown_control_is_kept_with_a_warning_and_refused_when_strict(tmp_path, all_cfg):
    """A control the config no longer has (an edited config): kept, said; refused with strict."""
    raw = json.loads((DATA / "all_types.json").read_text())
    raw[0]["annotations"][0]["result"][0]["from_name"] = "nope"
    p = _write(tmp_path, "bad.json", raw)
    t = read_source(p, config=all_cfg, key="data.uid")
    assert "nope" in t.annotations.column("from_name").to_pylist()
    assert any("1 × control 'nope' is not in the labeling config" in w and "annotation 0" in w for w in t.warnings)
    with pytest.raises(ValidationError, match=r"nope.*task 0 \(key img-1\), annotation 0 \(id 11\), result 0"):
        read_source(p, config=all_cfg, key="data.uid", validate="strict")


@pytest.mark.parametrize("content, needle", [
    ('[{"data": {"text": "a"}', "truncated JSON"),
    ("{not json", "invalid JSON"),
    ('{"a": 1}', "expected a JSON list"),
    ('[{"data": "text"}]', "task 0.data"),
    ('[{"data": {"t": 1}, "annotations": [{"result": {"a": 1}}]}]', "result"),
    ('[{"data": {"t": 1}, "annotations": [{"result": [], "lead_time": "slow"}]}]', "lead_time"),
    ('[{"data": {"t": 1}, "annotations": [{"result": [], "was_cancelled": "yes"}]}]', "was_cancelled"),
    ('[1, 2]', "task 0"),
])
def test_bad_json_gives_one_line_error_naming_file_and_record(tmp_path, content, needle):
    p = _write(tmp_path, "export.json", content)
    with pytest.raises(InputError) as e:
        read_source(p, fmt="label-studio")
    assert needle in str(e.value) and "export.json" in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_key_field_and_duplicate_keys(tmp_path):
    p = _write(tmp_path, "e.json", [{"data": {"text": "a"}}])
    with pytest.raises(InputError, match="no field uid .--key data.uid.; its fields: text"):
        read_source(p, key="data.uid")
    p = _write(tmp_path, "e.json", [{"data": {"uid": "x", "t": 1}}, {"data": {"uid": "x", "t": 2}}])
    with pytest.raises(InputError, match="duplicate task .*'x'"):
        read_source(p, key="data.uid")


@pytest.mark.parametrize("xml, needle", [
    ("not xml at all", "not valid XML"),
    ("<View><Choices name='c' toName='missing'><Choice value='a'/></Choices></View>", "missing"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><View>&e;</View>', "unsafe XML"),
    ("<View><Text name='t' value='$t'/></View>", "no control"),
    ("", "empty"),
])
def test_bad_config(xml, needle):
    with pytest.raises(ConfigError) as e:
        LabelingConfig(xml, source="cfg.xml")
    assert needle in str(e.value) and "cfg.xml" in str(e.value)


def test_flat_csv_equals_label_studio_export_of_the_same_labels(tmp_path):
    cfg = LabelingConfig.from_file(str(EXAMPLES / "labeling.xml"))
    rows = [("a", "positive", "x@e.org"), ("b", "negative", "x@e.org"), ("b", "neutral", "y@e.org")]
    csv = tmp_path / "labels.csv"
    csv.write_text("task_key,label,annotator\n" + "\n".join(",".join(r) for r in rows) + "\n")
    tasks = {}
    for key, label, who in rows:
        t = tasks.setdefault(key, {"data": {"task_key": key}, "annotations": []})
        t["annotations"].append({"completed_by": {"email": who}, "result": [
            {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]})
    ls = _write(tmp_path, "ls.json", list(tasks.values()))
    jl = tmp_path / "labels.jsonl"
    jl.write_text("".join(json.dumps({"task_key": k, "label": l, "annotator": w}) + "\n" for k, l, w in rows))
    pq_path = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"task_key": [r[0] for r in rows], "label": [r[1] for r in rows],
                             "annotator": [r[2] for r in rows]}), pq_path)
    a = read_source(csv, config=cfg)
    b = read_source(ls, config=cfg, key="data.task_key")
    c = read_source(jl, config=cfg)
    d = read_source(pq_path, config=cfg)
    for name in ("tasks", "annotations"):
        ids = {C.content_id(getattr(x, name), name) for x in (a, b, c, d)}
        assert len(ids) == 1, name


def test_flat_rows_with_several_labels_become_one_region(tmp_path):
    cfg = LabelingConfig("<View><Text name='t' value='$t'/><Choices name='c' toName='t' choice='multiple'>"
                         "<Choice value='x'/><Choice value='y'/></Choices></View>")
    p = tmp_path / "l.csv"
    p.write_text("task_key,label\nk,y\nk,x\n")
    t = read_source(p, config=cfg)
    assert t.annotations.num_rows == 1
    assert t.annotations.column("labels").to_pylist() == [["x", "y"]]


def test_flat_unknown_label_is_refused_with_row(tmp_path):
    cfg = LabelingConfig.from_file(str(EXAMPLES / "labeling.xml"))
    p = tmp_path / "l.csv"
    p.write_text("task_key,label\nk1,positive\nk2,angry\n")
    with pytest.raises(ValidationError, match=r"row 1 \(key k2\).*'angry'"):
        read_source(p, config=cfg)


def test_json_min_reads_like_the_full_export(tmp_path):
    cfg = LabelingConfig.from_file(str(EXAMPLES / "labeling.xml"))
    full = read_source(EXAMPLES / "round1.json", config=cfg, key="data.ext_id")
    tables = {n: getattr(full, n) for n in C.TABLES}
    mini = _write(tmp_path, "min.json", W.json_min(tables).decode())
    back = read_source(mini, config=cfg, key="data.ext_id")
    live = full.annotations.filter(pa.compute.invert(full.annotations.column("was_cancelled")))
    # JSON-MIN keeps the labels of every non-skipped answer (not region ids or flags)
    got = sorted((r["task_key"], r["annotator"], r["from_name"], tuple(r["labels"] or ()))
                 for r in back.annotations.to_pylist())
    want = sorted((r["task_key"], r["annotator"], r["from_name"], tuple(r["labels"] or ()))
                  for r in live.to_pylist())
    assert got == want


def test_ids_only_predictions_warn(tmp_path):
    p = _write(tmp_path, "plain.json", [{"data": {"t": "a"}, "predictions": [5, 6]}])
    t = read_source(p)
    assert t.predictions.num_rows == 0
    assert any("ids only" in w for w in t.warnings)


def test_unsupported_extension(tmp_path):
    p = tmp_path / "x.xlsx"
    p.write_bytes(b"PK")
    with pytest.raises(InputError, match="unknown file type"):
        read_source(p)


def test_one_list_of_formats():
    assert INPUT_FORMATS == ("label-studio", "json-min", "jsonl", "csv", "parquet", "coco", "yolo", "yolo-obb", "voc",
                             "conll", "hf")
    assert EXPORT_FORMATS == INPUT_FORMATS
    assert Format("json-min") is Format.JSON_MIN and f"{Format.CSV}" == "csv"
    assert "choices" in LABEL_KEYS and "rectanglelabels" in LABEL_KEYS


def test_every_export_format_is_written():
    cfg = LabelingConfig.from_file(str(EXAMPLES / "labeling.xml"))
    t = read_source(EXAMPLES / "round1.json", config=cfg, key="data.ext_id")
    tables = {n: getattr(t, n) for n in C.TABLES}
    for fmt in EXPORT_FORMATS:
        if fmt not in TRAIN_FORMATS:  # the training formats: tests/test_formats_train.py
            assert W.render(fmt, tables), fmt
    with pytest.raises(UsageError, match="unknown export format"):
        W.render("xlsx", tables)


PRED_RECORDS = [
    {"task_key": "k1", "model_version": "m", "score": 0.5, "result": []},
    {"data": {"ext_id": "k2", "text": "b"}, "model_version": "m", "result": [], "id": 7},
    {"data": {"ext_id": "k3", "text": "c"}, "predictions": [{"model_version": "n", "result": []}, 12]},
    {"file": "sub/x.png", "model_version": "m", "result": []},
]


def test_one_predictions_reader_takes_key_data_tasks_and_files(tmp_path):
    p = tmp_path / "p.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in PRED_RECORDS))
    got = read_predictions(p, key="data.ext_id", files={"sub/x.png": {"ext_id": "k4", "image": "x.png"}})
    assert got == {"k1": [{"model_version": "m", "score": 0.5, "result": []}],
                   "k2": [{"model_version": "m", "result": [], "id": 7}],
                   "k3": [{"model_version": "n", "result": []}],  # an id alone (a plain export) says nothing
                   "k4": [{"model_version": "m", "result": []}]}
    # without the files sent (a snapshot), a record by file names no task
    with pytest.raises(InputError, match="no task_key or data"):
        read_predictions(p, key="data.ext_id")


def test_predictions_table_keys_and_ranks(tmp_path):
    p = tmp_path / "p.json"
    p.write_text(json.dumps(PRED_RECORDS[:3] + [{"task_key": "k1", "model_version": "m", "result": []}]))
    t = read_predictions_table(str(p), "data.ext_id", None, True)
    rows = sorted((r["task_key"], r["prediction_key"], r["ls_prediction_id"]) for r in t.to_pylist())
    assert rows == [("k1", "m#0", None), ("k1", "m#1", None), ("k2", "m#0", 7), ("k3", "n#0", None)]


@pytest.mark.parametrize("record, needle", [
    ({"task_key": "k", "model_version": "m"}, "no result list"),
    ({"task_key": "k", "result": [], "score": "high"}, "not a number"),
    ({"model_version": "m", "result": []}, "no task_key or data"),
    ([1], "not an object"),
])
def test_bad_prediction_records(tmp_path, record, needle):
    p = tmp_path / "p.json"
    p.write_text(json.dumps([record]))
    with pytest.raises(InputError, match=needle):
        read_predictions(p)


def test_predictions_are_checked_against_the_config(tmp_path):
    cfg = LabelingConfig.from_file(str(EXAMPLES / "labeling.xml"))
    p = tmp_path / "p.json"
    item = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["furious"]}}
    p.write_text(json.dumps([{"task_key": "k", "model_version": "m", "result": [item]}]))
    with pytest.raises(ValidationError, match=r"furious.*: record 0 \(key k\), result 0"):
        read_predictions_table(str(p), None, cfg, True)
    assert read_predictions_table(str(p), None, cfg, False).num_rows == 1


@pytest.mark.parametrize("rows", [3, 60_000])  # 60,000 rows span several of Arrow's 1 MB parallel blocks
def test_flat_csv_with_line_breaks_inside_quoted_cells(tmp_path, rows):
    """A quoted cell may hold line breaks (RFC 4180): the CSV reads as the same rows as JSONL."""
    import csv
    cfg_text = ('<View><Text name="text" value="$text"/><Choices name="c" toName="text">'
                '<Choice value="cat"/><Choice value="dog"/></Choices></View>')
    recs = [{"task_key": f"t{i:06d}", "label": "cat" if i % 3 else "dog", "text": f"first line {i}\nsecond, \"quoted\""}
            for i in range(rows)]
    with open(tmp_path / "flat.csv", "w", newline="") as f:
        w = csv.DictWriter(f, ["task_key", "label", "text"])
        w.writeheader()
        w.writerows(recs)
    (tmp_path / "flat.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    cfg = LabelingConfig(cfg_text)
    a = read_source(tmp_path / "flat.csv", config=cfg)
    b = read_source(tmp_path / "flat.jsonl", config=cfg)
    assert a.tasks.num_rows == rows
    assert json.loads(a.tasks.column("data")[rows - 1].as_py())["text"] == recs[-1]["text"]
    for name in ("tasks", "annotations"):
        assert C.content_id(getattr(a, name), name) == C.content_id(getattr(b, name), name)


# ---------------------------------------------------------------------------
# exports written in batches (never whole in memory) are byte for byte the whole render

_CORPUS_LS = shared_corpus("label-studio")
_BATCH_SOURCES = sorted([*(_CORPUS_LS.glob("*.json") if _CORPUS_LS.is_dir() else []),
                         *(DATA / "ls").glob("*.json"), DATA / "all_types.json"])


def _whole(fmt: str, tables: dict, table: str = "annotations") -> bytes:
    """The definition of each format, rendered in one piece."""
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    from annover.formats.label_studio import to_tasks as ls_to_tasks
    from annover.formats.json_min import to_json_min

    if fmt == "label-studio":
        doc = ls_to_tasks(tables["tasks"].to_pylist(), tables["annotations"].to_pylist(),
                          tables["predictions"].to_pylist())
    elif fmt == "json-min":
        doc = to_json_min(tables)
    elif fmt == "jsonl":
        out = []
        for r in tables[table].to_pylist():
            out.append(json.dumps({k: json.loads(v) if k in W.JSON_COLUMNS and isinstance(v, str) else v
                                   for k, v in r.items()}, ensure_ascii=False, separators=(",", ":")) + "\n")
        return "".join(out).encode()
    else:
        t = tables[table]
        cols = [pc.binary_join(c, "|") if pa.types.is_list(c.type) else c for c in t.columns]
        sink = pa.BufferOutputStream()
        pcsv.write_csv(pa.table(cols, names=t.column_names), sink)
        return sink.getvalue().to_pybytes()
    if not doc:
        return b"[]\n"  # a JSON array, one item a line, compact within it
    return ("[\n" + ",\n".join(json.dumps(x, ensure_ascii=False, separators=(",", ":")) for x in doc)
            + "\n]\n").encode()


@pytest.mark.parametrize("src", _BATCH_SOURCES, ids=lambda p: p.name)
def test_exports_in_batches_equal_the_whole(src, monkeypatch):
    cfg = src.with_suffix(".xml")
    config = LabelingConfig.from_file(str(cfg)) if cfg.exists() else None
    key = "data.uid" if src.name == "all_types.json" else ("id" if src.name == "ls_ground_truth_dup_ids.json" else None)
    t = read_source(src, config=config, key=key, validate=False)
    tables = {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}
    for fmt in ("label-studio", "json-min", "jsonl", "csv"):
        for table in (("annotations", "tasks", "predictions") if fmt in ("jsonl", "csv") else ("annotations",)):
            expected = _whole(fmt, tables, table)
            for size in (1, 3, 10**6):
                monkeypatch.setattr(W, "BATCH", size)
                assert b"".join(W.render_chunks(fmt, tables, None, table)) == expected, (fmt, table, size)


@pytest.mark.parametrize("controls", [["cls"], ["cls", "box"]])
def test_a_large_flat_file_reads_as_the_one_thread_way(tmp_path, monkeypatch, all_cfg, controls):
    """From the sizes on where a flat file is sorted by DuckDB and its tasks built on a thread,
    the tables are those of the one-thread Arrow way, answers with several labels merged."""
    rng = random.Random(11)
    n = duck.SORT_ROWS + 20_000
    who = ["alice", "bob", "-", "é", "a b", None, "zed"]
    rows = {"task_key": [f"t{rng.randrange(40_000):05d}" for _ in range(n)],
            "annotator": [rng.choice(who) for _ in range(n)],
            "from_name": [rng.choice(controls) for _ in range(n)],
            "label": [rng.choice(["cat", "dog"]) for _ in range(n)]}
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table(rows), path)
    fast = read_source(str(path), config=all_cfg)
    monkeypatch.setattr(duck, "SORT_ROWS", 10**9)
    monkeypatch.setattr(flat, "THREADED_ROWS", 10**9)
    plain = read_source(str(path), config=all_cfg)
    assert fast.annotations.num_rows < n  # answers of one annotator, task and control merged
    for name in ("tasks", "annotations"):
        assert getattr(fast, name).equals(getattr(plain, name)), name


_KEY_TEXT = st.text(alphabet=st.sampled_from("ab1é€ -#~\U0001F600"), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(_KEY_TEXT, st.one_of(st.none(), st.sampled_from(["a", "a-b", "a b", "é", "z#0"])),
                               st.sampled_from(["cat", "dog"])), min_size=0, max_size=40),
       sort_rows=st.sampled_from([1, 10**9]))
def test_a_flat_file_of_one_control_comes_out_in_key_order(rows, sort_rows):
    """With one control, from_flat trusts its own order (no second check): the annotations are
    in key order with unique keys, whichever sort ordered them (DuckDB or Arrow), and
    checking and sorting them again changes nothing."""
    cfg = LabelingConfig("<View><Text name='text' value='$text'/><Choices name='cls' toName='text'>"
                         "<Choice value='cat'/><Choice value='dog'/></Choices></View>")
    table = pa.table({"task_key": [r[0] for r in rows], "annotator": [r[1] for r in rows],
                      "label": [r[2] for r in rows]}, schema=pa.schema([("task_key", pa.string()),
                                                                        ("annotator", pa.string()),
                                                                        ("label", pa.string())]))
    keep = duck.SORT_ROWS
    duck.SORT_ROWS = sort_rows
    try:
        ann = flat.from_flat(table, "rows.parquet", config=cfg).annotations
    finally:
        duck.SORT_ROWS = keep
    ordered, same = C.key_order(ann, "annotations")
    assert ordered and not same.any()
    assert C.sort_table(ann, "annotations").equals(ann)
    assert ann.num_rows == len({(k, w or "-") for k, w, _ in rows})
    # an unknown annotator stays unknown (its answer key is "-#0"); each answer names its own
    assert set(zip(ann.column("task_key").to_pylist(), ann.column("annotator").to_pylist())) == {
        (k, w) for k, w, _ in rows}
    assert all(a == f"{w or '-'}#0" for w, a in zip(ann.column("annotator").to_pylist(),
                                                    ann.column("annotation_key").to_pylist()))


def test_label_studio_json_holds_what_orjson_refuses(tmp_path):
    """Task data with an integer beyond 64 bits (which orjson refuses): that batch is written
    by the standard library, and the file reads back to the same tasks."""
    tasks = [{"id": i, "data": {"ext_id": f"t{i}", "big": 2**70 + i, "text": "é ✓"},
              "annotations": [{"id": 10 + i, "result": [{"from_name": "s", "to_name": "text", "type": "choices",
                                                          "value": {"choices": ["a"]}}]}]} for i in range(5)]
    src = tmp_path / "big.json"
    src.write_text(json.dumps(tasks))
    t = read_source(src, key="data.ext_id", validate=False)
    tables = {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}
    for size in (2, 10**6):
        W.TASK_BATCH, keep = size, W.TASK_BATCH
        try:
            text = b"".join(W.render_chunks("label-studio", tables, None, "annotations"))
        finally:
            W.TASK_BATCH = keep
        back = json.loads(text)
        assert [x["data"]["big"] for x in back] == [2**70 + i for i in range(5)]
        assert [x["data"]["text"] for x in back] == ["é ✓"] * 5 and b"\\u" not in text  # UTF-8, not escaped


@pytest.mark.parametrize("fmt", ["label-studio", "json-min", "jsonl", "csv"])
def test_export_pieces_tell_the_items_done(fmt, monkeypatch):
    """The formats written in pieces tell how many items (tasks; rows of one-table formats)
    are rendered after each piece: rising, ending at all of them; the file is the same."""
    src = EXAMPLES / "round2.json"
    t = read_source(src, key="data.ext_id", validate=False)
    tables = {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}
    whole = b"".join(W.render_chunks(fmt, tables))
    monkeypatch.setattr(W, "TASK_BATCH", 3)
    monkeypatch.setattr(W, "BATCH", 2)
    told: list[int] = []
    assert b"".join(W.render_chunks(fmt, tables, done=told.append)) == whole
    total = t.annotations.num_rows if fmt in ("jsonl", "csv") else t.tasks.num_rows
    assert len(told) > 1 and told == sorted(told) and told[-1] == total and len(set(told)) == len(told)


def test_an_export_holding_nan_is_written_as_python_reads_it_back():
    """orjson writes NaN and infinities as null; a version holding one (a float column, or
    the word in a JSON text column) is exported by the standard library, so the values read
    back as they were; without one, orjson's bytes are the standard library's."""
    t = read_source(EXAMPLES / "round2.json", key="data.ext_id", validate=False)
    tables = {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}
    assert W.json_encoder(tables.values()) is W._json_item
    ann = t.annotations
    lead = pa.array([float("nan")] + [1.0] * (ann.num_rows - 1), pa.float64())
    odd = {**tables, "annotations": ann.set_column(ann.schema.get_field_index("lead_time"), "lead_time", lead)}
    assert W.json_encoder(odd.values()) is W._json_item_std
    back = json.loads(b"".join(W.render_chunks("label-studio", odd)))
    leads = [a.get("lead_time") for task in back for a in task["annotations"]]
    assert sum(1 for x in leads if isinstance(x, float) and x != x) == 1  # NaN, not null
    rows = [json.loads(line) for line in b"".join(W.render_chunks("jsonl", odd)).splitlines()]
    assert sum(1 for r in rows if r["lead_time"] != r["lead_time"]) == 1
    tasks = t.tasks.set_column(t.tasks.schema.get_field_index("data"), "data",
                               pa.array(['{"x":"NaN is a word"}'] * t.tasks.num_rows))
    assert W.json_encoder([tasks]) is W._json_item_std  # a word, not a number: slower, the same


def test_answers_given_since_to_a_task_imported_without_an_annotations_key_are_written():
    """A Label Studio import file's tasks have no "annotations" key; the Label Studio JSON export
    gives such a task back as it came, so answers it was given since (by a merge, the notebook)
    went with the key: the version held them, its export did not."""
    bare = from_ls_tasks([{"id": 7, "data": {"text": "hello"}}], "import.json", key="data.text")
    result = [{"id": "r", "from_name": "s", "to_name": "text", "type": "choices", "value": {"choices": ["a"]}}]
    answered = from_ls_tasks([{"id": 7, "data": {"text": "hello"}, "annotations": [{"id": 1, "result": result}]}],
                             "later.json", key="data.text")
    assert bare.tasks.column("task_key").to_pylist() == answered.tasks.column("task_key").to_pylist()
    (task,) = to_tasks(bare.tasks.to_pylist(), answered.annotations.to_pylist(), [])
    assert [a["result"] for a in task["annotations"]] == [result]
    # and a task still without answers comes back as it came: no key added
    (plain,) = to_tasks(bare.tasks.to_pylist(), [], [])
    assert "annotations" not in plain and plain["data"] == {"text": "hello"}
