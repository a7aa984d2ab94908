"""Malformed input is a one-line error with its exit code, naming the file, the record and the
field, and writes nothing; never an unexpected error (exit 1) or a traceback.

Every input the fuzz suite (tests/test_fuzz_inputs.py) or the hardening probe (issue 16) ever
found failing is kept here as a small literal case.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import annover
from annover.cli import run
from annover.errors import ObjectError
from annover.formats.records import read_records
from annover.model import canonical as C
from annover.store.objects import ObjectRef
from annover.store.snapshots import SnapshotRef

from .conftest import EXAMPLES, git

CONFIG = EXAMPLES / "labeling.xml"


def invoke(*args: str) -> tuple[int, str, str]:
    """The CLI in process through `run` (the real error handler), both streams captured."""
    with CliRunner().isolation() as (out, err, _):
        code = run(list(args))
        return code, out.getvalue().decode(), err.getvalue().decode()


def _task(text: str = "good", ext_id: str = "t1", result: list | None = None, **extra) -> dict:
    """A small Label Studio task with one annotation of the sample config."""
    result = result if result is not None else [
        {"id": "r1", "from_name": "sentiment", "to_name": "text", "type": "choices",
         "value": {"choices": ["positive"]}}]
    ann = {"id": 1, "completed_by": 1, "result": result, "lead_time": 1.5}
    ann.update(extra.pop("annotation", {}))
    return {"id": 1, "data": {"text": text, "ext_id": ext_id}, "annotations": [ann], **extra}


def _json(*tasks: dict) -> bytes:
    return json.dumps(list(tasks)).encode()


def _parquet(table: pa.Table, **options) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return sink.getvalue()


_SPAN = {"id": "s1", "from_name": "entities", "to_name": "text", "type": "labels",
         "value": {"start": 0, "end": 4, "text": "good", "labels": ["PER"]}}
_LS_CSV_HEAD = "annotation_id,annotator,created_at,id,lead_time,sentiment,text,updated_at\n"

#: (case, file name, bytes, extra CLI args, exit code, what the message must say)
CASES = [
    # found by the fuzz suite in CI: an integer beyond 64 bits inside a list in a JSONL row
    ("huge integer in a list in JSONL", "in.jsonl", b'{"task_key": [100000000000000000000000000000, ""]}\n',
     ["--key", "auto"], 3, ["too large for a 64-bit integer"]),
    # 16.6: errors that were unexpected (exit 1)
    ("nesting 600 levels in data", "t.json",
     json.dumps([{"data": {"text": "x", "ext_id": "a", "deep": json.loads("[" * 600 + "]" * 600)}}]).encode(),
     [], 3, ["task 0", "field data.deep", "nested more than 100 levels"]),
    ("nesting 100000 levels", "t.json", b"[" * 100000 + b"]" * 100000, [], 3, ["nested more deeply"]),
    ("nesting in a result value", "t.json",
     _json(_task(result=[{**_SPAN, "value": {**_SPAN["value"], "meta": json.loads("[" * 300 + "]" * 300)}}])),
     [], 3, ["result 0", "field value", "nested"]),
    ("lone surrogate escaped", "t.json", _json(_task()).replace(b"good", b"go\\ud800od"), [], 3,
     ["task 0 (id 1)", "field data.text", "lone surrogate"]),
    # two bad values: the first in the file is named (the walk named the last one), so fixing goes top down
    ("two bad values, the first named", "t.json",
     _json(_task(ext_id="a"), {**_task(ext_id="b"), "id": 2}, {**_task(ext_id="c"), "id": 3})
     .replace(b'"b"}', b'"b", "n": NaN}').replace(b'"c"}', b'"c\\ud800"}'), [], 3,
     ["task 1 (id 2)", "field data.n", "NaN"]),
    ("lone surrogate in a key", "t.json", _json(_task()).replace(b'"ext_id"', b'"\\udc00"'), [], 3,
     ["task 0", "lone surrogate"]),
    ("lone surrogate as raw bytes", "t.json", _json(_task()).replace(b"good", b"go\xed\xa0\x80od"), [], 3,
     ["not UTF-8"]),
    ("lone surrogate in a JSONL line", "t.jsonl",
     json.dumps(_task()).replace("good", "go\\udfffod").encode() + b"\n", [], 3, ["line 1", "field data.text"]),
    ("10**400 in a result value", "t.json",
     _json(_task(result=[{**_SPAN, "value": {**_SPAN["value"], "end": 10**400}}])), [], 3,
     ["field annotations[0].result[0].value.end", "beyond the range"]),
    ("10**400 lead time", "t.json", _json(_task(annotation={"lead_time": 10**400})), [], 3,
     ["lead_time", "beyond the range"]),
    ("1e400 lead time", "t.json", _json(_task()).replace(b'"lead_time": 1.5', b'"lead_time": 1e400'), [], 3,
     ["field annotations[0].lead_time", "Infinity"]),
    ("an integer of 5000 digits", "t.json", _json(_task()).replace(b'"lead_time": 1.5', b'"lead_time": ' + b"9" * 5000),
     [], 3, ["a number is too long"]),
    ("30-digit task id", "t.json", _json({**_task(), "id": 123456789012345678901234567890}), [], 3,
     ["task 0", "field id", "64-bit"]),
    ("30-digit annotation id", "t.json", _json(_task(annotation={"id": -(10**29)})), [], 3,
     ["annotation 0", "field id", "64-bit"]),
    ("30-digit task id keyed by id", "t.json", _json({**_task(), "id": 10**29}), ["--key", "id"], 3, ["field id"]),
    ("NaN coordinate", "t.json",
     _json(_task(result=[{**_SPAN, "value": {**_SPAN["value"], "start": float("nan")}}])), [], 3,
     ["result[0].value.start", "NaN"]),
    ("Infinity coordinate", "t.json",
     _json(_task(result=[{**_SPAN, "value": {**_SPAN["value"], "end": float("inf")}}])), [], 3,
     ["value.end", "Infinity"]),
    ("-Infinity score", "t.json",
     _json({**_task(), "predictions": [{"model_version": "m", "score": float("-inf"), "result": []}]}), [], 3,
     ["predictions[0].score", "Infinity"]),
    ("NaN in task data", "t.jsonl", b'{"data": {"text": "x", "ext_id": "a", "v": NaN}}\n', [], 3,
     ["line 1", "field data.v", "NaN"]),
    ("duplicate CSV columns", "t.csv", b"task_key,label,label\na,positive,negative\n", [], 3,
     ["column 'label' appears 2 times"]),
    ("duplicate columns in a Label Studio CSV", "t.csv",
     (_LS_CSV_HEAD.replace("sentiment", "sentiment,sentiment") + '1,"1","x",1,1.0,"positive","negative","hi","x"\n')
     .encode(), [], 3, ["column 'sentiment' appears 2 times"]),
    ("invalid UTF-8 in a CSV header", "t.csv", b"task_key,lab\xffel\na,positive\n", [], 3,
     ["column 2 is not UTF-8"]),
    ("invalid UTF-8 in a Label Studio CSV header", "t.csv",
     _LS_CSV_HEAD.replace("text", "te\udcffxt").encode("utf-8", "surrogateescape") + b'1,"1","x",1,1.0,"positive","hi","x"\n',
     [], 3, ["is not UTF-8"]),
    ("struct task key in JSONL", "t.jsonl", b'{"task_key": {"a": 1}, "label": "positive"}\n', [], 3,
     ["row 0, column 'task_key'", "expected a string"]),
    ("list task key in JSONL", "t.jsonl", b'{"task_key": ["a"], "label": "positive"}\n', [], 3,
     ["column 'task_key'"]),
    ("struct label in JSONL", "t.jsonl", b'{"task_key": "a", "label": {"x": 1}}\n', [], 3, ["column 'label'"]),
    ("struct from_name in JSONL", "t.jsonl", b'{"task_key": "a", "label": "positive", "from_name": {"a": 1}}\n',
     [], 3, ["column 'from_name'"]),
    ("list annotator in JSONL", "t.jsonl", b'{"task_key": "a", "label": "positive", "annotator": [1]}\n', [], 3,
     ["column 'annotator'"]),
    ("struct task key in Parquet", "t.parquet",
     _parquet(pa.table({"task_key": pa.array([{"a": 1}]), "label": ["positive"]})), [], 3, ["column 'task_key'"]),
    ("struct label in Parquet", "t.parquet",
     _parquet(pa.table({"task_key": ["a"], "label": pa.array([{"a": 1}])})), [], 3, ["column 'label'"]),
    ("list of structs as labels in Parquet", "t.parquet",
     _parquet(pa.table({"task_key": ["a"], "labels": pa.array([[{"a": 1}]])})), [], 3, ["column 'labels'"]),
    ("binary task data in Parquet", "t.parquet",
     _parquet(pa.table({"task_key": ["a"], "label": ["positive"], "blob": pa.array([b"\x00"], pa.binary())})), [], 3,
     ["task key a, column blob", "bytes is not JSON"]),
    ("NaN task data in Parquet", "t.parquet",
     _parquet(pa.table({"task_key": ["a"], "label": ["positive"], "x": [float("nan")]})), [], 3,
     ["task key a, column x", "finite"]),
    ("a non-string result type", "t.json", _json(_task(result=[{**_SPAN, "type": {"a": 1}}])), [], 3,
     ["result 0", "field type", "expected a string"]),
    ("a non-string region id", "t.json", _json(_task(result=[{**_SPAN, "id": [1]}])), [], 3, ["field id"]),
    ("a superscript digit as annotator", "t.json", _json(_task(annotation={"completed_by": "²"})),
     ["--users", "USERS"], 0, []),
    # found by the fuzz suite
    ("a JSONL starting with a NUL byte", "t.jsonl", b'\x00"id": 1, "data": {"text": "x"}}\n{"data": {}}\n', [], 3,
     ["line 1"]),
    ("a newline in a column name", "t.csv", b'"task\nkey",label\na,positive\n', [], 3,
     ["no key column 'task_key'", "task\\nkey"]),
    ("a newline in a task key", "t.csv", b'task_key,label\n"a\nb",ecstatic\n', [], 4, ["(key a\\nb)"]),
    ("a Parquet column name that is not UTF-8", "t.parquet",
     _parquet(pa.table({"task_key": ["a"], "label": ["positive"]}), store_schema=False).replace(b"task_key", b"\xffask_key"),
     [], 3, ["cannot read Parquet", "not UTF-8"]),
    ("invalid UTF-8 inside a JSONL string", "t.jsonl",
     b'{"task_key": "a", "label": "positive"}\n{"task_key": "0", "label": "positive", "from_name": ",\x80"}\n', [], 3,
     ["not UTF-8"]),
    ("invalid UTF-8 in a JSONL field name", "t.jsonl",
     b'{"task_key": "a", "label": "positive"}\n{"\xfftask_key": null}\n', [], 3, ["not UTF-8"]),
    ("a string where annover's JSONL table has a list of labels", "t.jsonl",
     b'{"task_key": "a", "annotation_key": "1", "region_key": "r", "labels": ["x"]}\n'
     b'{"task_key": "b", "annotation_key": "1", "region_key": "r", "labels": "oops"}\n', [], 3,
     ["line 2", "'labels'", "not a list"]),
    ("a list where annover's JSONL table has a number", "t.jsonl",
     b'{"task_key": "a", "annotation_key": "1", "region_key": "r"}\n'
     b'{"task_key": "b", "annotation_key": "1", "region_key": "r", "lead_time": [1]}\n', [], 3,
     ["line 2", "'lead_time'", "not double"]),
    ("a line of annover's JSONL table that is not an object", "t.jsonl",
     b'{"task_key": "a", "annotation_key": "1", "region_key": "r"}\n[1, 2]\n', [], 3, ["line 2", "not a JSON object"]),
    ("a list as a prediction id", "t.json",
     _json({**_task(), "predictions": [{"id": [1], "model_version": "m", "result": []}]}), [], 3,
     ["prediction 0", "field id", "expected an integer id"]),
    ("a list as an embedded prediction's id", "t.json",
     _json(_task(annotation={"prediction": {"id": [1], "result": [_SPAN]}})), [], 3, ["field id"]),
    # found by the fuzz suite of the training formats (tests/test_fuzz_training.py)
    ("a COCO category's extra field nested 150 levels", "t.json",
     json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
                 "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]}],
                 "categories": [{"id": 1, "name": "cat", "x": json.loads("[" * 150 + "]" * 150)}]}).encode(), [], 3,
     ["category 'cat': field x[0][0]", "nested more than 100 levels"]),
    ("doccano lines none of which has a label", "t.jsonl",
     b'{"text": "a", "label": []}\n{"text": "b", "label": [], "relations": [1]}\n', [], 0, []),
    ("doccano relations that are a number", "t.jsonl",
     b'{"text": "Ann met Bob.", "entities": [{"start_offset": 0, "end_offset": 3, "label": "PER"}], '
     b'"relations": 1}\n', [], 0, []),
    ("a datasets Parquet file with a string that is not UTF-8", "t.parquet",
     _parquet(pa.table({"text": pa.array([b"\xffgood", b"bad"]).view(pa.string()), "label": [1, 0]})
              .replace_schema_metadata({"huggingface": json.dumps({"info": {"features": {
                  "text": {"dtype": "string", "_type": "Value"},
                  "label": {"names": ["negative", "positive"], "_type": "ClassLabel"}}}})})), [], 3,
     ["cannot be read as Arrow", "Invalid UTF8"]),
    ("a datasets Parquet file whose feature is a string", "t.parquet",
     _parquet(pa.table({"label": [0]}).replace_schema_metadata(
         {"huggingface": json.dumps({"info": {"features": {"label": "ClassLabel"}}})})), [], 3,
     ["datasets cannot load the feature of column 'label'", "Dataset.to_parquet"]),
    ("a datasets Parquet file whose features nest 300 levels", "t.parquet",
     _parquet(pa.table({"task_key": ["a"], "label": ["positive"]}).replace_schema_metadata(
         {"huggingface": json.dumps({"info": {"features": {"label": json.loads('{"a":' * 300 + "1" + "}" * 300)}}})})),
     [], 0, []),
    # 16.7: malformed input that was accepted
    ("empty key in a CSV row", "t.csv", b"task_key,label\n,positive\nb,negative\n", [], 3,
     ["row 0: empty task key"]),
    ("empty key in a JSONL row", "t.jsonl", b'{"task_key": "", "label": "positive"}\n', [], 3, ["empty task key"]),
    ("empty key in Parquet", "t.parquet", _parquet(pa.table({"task_key": [""], "label": ["positive"]})), [], 3,
     ["empty task key"]),
    ("empty key field in a Label Studio task", "t.json", _json(_task(ext_id="")), ["--key", "data.ext_id"], 3,
     ["task 0", "'data.ext_id' is empty"]),
    ("result.from_name null", "t.json",
     _json(_task(result=[{"id": "r1", "from_name": None, "to_name": "text", "type": "choices",
                          "value": {"choices": ["positive"]}}])), [], 3,
     ["annotation 0 (id 1), result 0 (id r1), field from_name", "missing"]),
    ("result.from_name a number", "t.json", _json(_task(result=[{**_SPAN, "from_name": 7}])), [], 3,
     ["field from_name", "expected a string"]),
    ("annotation_key column, not annover's table", "t.parquet",
     _parquet(pa.table({"task_key": ["a"], "annotation_key": ["x"], "label": ["ecstatic"]})), [], 4,
     ["row 0 (key a)", "'ecstatic'"]),
    ("annover's table with an empty task key", "t.parquet",
     _parquet(pa.table({"task_key": [""], "annotation_key": ["a#0"], "region_key": ["r"], "from_name": ["sentiment"],
                        "labels": [["positive"]]})), [], 3, ["row 0: empty task_key"]),
]


@pytest.fixture(scope="module")
def v1_repo(tmp_path_factory):
    """A repository holding v1 of the sample (module-wide: cases only read it and must not write)."""
    root = tmp_path_factory.mktemp("malformed") / "repo"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOVER_REMOTE_HOME", str(tmp_path_factory.mktemp("remotes")))
        repo = annover.init(root)
        repo.snapshot(str(EXAMPLES / "round1.json"), config=str(CONFIG), key="data.ext_id", message="round 1")
    return root


def _fingerprint(root: Path):
    files = sorted((str(p.relative_to(root)), p.stat().st_size) for p in (root / ".annover").rglob("*")
                   if p.is_file() and p.name != "lock")
    return files, git("rev-parse", "HEAD", cwd=root), git("tag", cwd=root), git("status", "--porcelain", cwd=root)


@pytest.mark.parametrize("case, name, content, args, code, says", CASES, ids=[c[0] for c in CASES])
def test_malformed_input_is_one_line_naming_the_place_and_writes_nothing(
        v1_repo, tmp_path, monkeypatch, case, name, content, args, code, says):
    monkeypatch.chdir(v1_repo)
    src = tmp_path / name
    src.write_bytes(content)
    users = tmp_path / "users.json"
    users.write_text('{"1": "a@example.com"}')
    args = [str(users) if a == "USERS" else a for a in args] + ([] if "--key" in args else ["--key", "auto"])
    before = _fingerprint(v1_repo)
    got, out, err = invoke("snapshot", "--from", str(src), "--config", str(CONFIG), "-m", case, *args)
    assert "Traceback" not in err and "unexpected" not in err, err
    assert got == code, err
    if code == 0:
        # accepted: roll the version back so the next case starts from v1
        annover.Repo(v1_repo).reset("v1", force=True)
        return
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and " — " in lines[0], err
    assert str(src) in lines[0]
    for s in says:
        assert s in lines[0], lines[0]
    assert out == ""
    assert _fingerprint(v1_repo) == before


def test_a_cell_over_a_megabyte_is_read_or_refused_cleanly(v1_repo, tmp_path, monkeypatch):
    monkeypatch.chdir(v1_repo)
    big = "x" * 1_100_000
    files = {
        "flat.csv": f"task_key,label,text\nb,negative,short\na,positive,{big}\n",
        "quoted.csv": f'task_key,label,text\na,positive,"{big[:600_000]}\n{big[:600_000]}"\n',
        "ls.csv": _LS_CSV_HEAD + f'1,"1","x",1,1.0,"positive","{big}","x"\n',
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        before = _fingerprint(v1_repo)
        got, _, err = invoke("snapshot", "--from", str(tmp_path / name), "--config", str(CONFIG), "-m", name)
        assert got in (0, 3) and "Traceback" not in err and "unexpected" not in err, err
        if got == 0:
            annover.Repo(v1_repo).reset("v1", force=True)
        else:
            assert len(err.strip().splitlines()) == 1 and _fingerprint(v1_repo) == before


# ---------------------------------------------------------------------------
# 16.8: object references of records and manifests are checked before they become paths


@pytest.mark.parametrize("field, value", [
    ("md5", "../../x"), ("md5", "/etc/passwd"), ("oid", "../" * 21 + "x"), ("md5", 5), ("size", -1), ("oid", None),
])
def test_a_reference_not_in_annovers_form_is_refused_when_parsed(field, value):
    d = {"oid": "a" * 64, "md5": "b" * 32, "size": 3, field: value}
    with pytest.raises(ObjectError) as e:
        ObjectRef.from_json(d, "version record 0123, field config")
    assert e.value.exit_code == 8 and "version record 0123, field config" in str(e.value) and field in str(e.value)
    with pytest.raises(ObjectError):
        SnapshotRef.from_json({"id": "c" * 64, "rows": 1, "manifest": d})


def test_a_snapshot_id_not_in_form_is_refused():
    ok = {"oid": "a" * 64, "md5": "b" * 32, "size": 3}
    for bad in ({"id": "../x", "rows": 1, "manifest": ok}, {"id": "c" * 64, "rows": "1", "manifest": ok}, [1]):
        with pytest.raises(ObjectError):
            SnapshotRef.from_json(bad, "here")


def _plant(root: Path, record: dict) -> str:
    """Commit a version record under its own id (as a cloned repository could hold one)."""
    vid = C.json_digest(record)
    path = root / ".annover" / "versions" / f"{vid}.json"
    path.write_text(json.dumps(record))
    git("add", str(path), cwd=root)
    git("commit", "-q", "-m", "planted", cwd=root)
    return vid


def test_a_record_whose_md5_is_a_path_reads_nothing_outside_the_store(repo, tmp_path):
    v1 = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1").version
    record = json.loads(Path(f".annover/versions/{v1.id}.json").read_text())
    # an object this store lacks, so the md5 (DVC's cache key) would be looked up
    outside = tmp_path / "secret"
    outside.write_text("not annover's")
    record["tables"]["annotations"]["manifest"].update(oid="0" * 64, md5=f"../../../../../../..{outside}")
    vid = _plant(repo.root, record)
    for args in (["export", vid, "--format", "jsonl", "--out", str(tmp_path / "o.jsonl")], ["diff", "v1", vid]):
        code, out, err = invoke(*args)
        assert code == 8, err
        line = err.strip()
        assert len(line.splitlines()) == 1 and "Traceback" not in err
        assert f"version record {vid[:12]}, field tables.annotations, manifest: md5" in line
    with pytest.raises(ObjectError, match="md5"):
        annover.load(vid, repo=repo.root)


def test_a_manifest_part_whose_md5_is_a_path_is_refused_naming_the_manifest(repo, tmp_path):
    v1 = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1").version
    record = json.loads(Path(f".annover/versions/{v1.id}.json").read_text())
    mref = ObjectRef.from_json(record["tables"]["annotations"]["manifest"])
    manifest = json.loads(repo.store.get(mref))
    manifest["parts"][0].update(oid="1" * 64, md5="../../../x")
    bad = repo.store.put(C.canonical_json(manifest).encode())
    record["tables"]["annotations"]["manifest"] = bad.to_json()
    vid = _plant(repo.root, record)
    code, _, err = invoke("export", vid, "--format", "jsonl", "--out", str(tmp_path / "o.jsonl"))
    assert code == 8, err
    assert f"snapshot manifest {bad.oid[:12]}, part 0: md5 '../../../x'" in err


def test_a_config_reference_whose_md5_is_a_path_is_refused(repo):
    v1 = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1").version
    record = json.loads(Path(f".annover/versions/{v1.id}.json").read_text())
    record["config"]["md5"] = "../x"
    record["config"]["oid"] = "2" * 64
    vid = _plant(repo.root, record)
    code, _, err = invoke("export", vid, "--format", "label-studio", "--out", "x.json")
    assert code == 8 and "field config: md5 '../x'" in err, err


def test_predictions_with_an_empty_task_key_are_refused_through_the_cli(v1_repo, tmp_path, monkeypatch):
    monkeypatch.chdir(v1_repo)
    preds = tmp_path / "preds.jsonl"
    preds.write_text('{"task_key": "", "model_version": "m", "result": []}\n')
    before = _fingerprint(v1_repo)
    code, _, err = invoke("snapshot", "--from", str(EXAMPLES / "round1.json"), "--predictions", str(preds), "-m", "p")
    assert code == 3 and "preds.jsonl: line 1, field task_key" in err and len(err.strip().splitlines()) == 1, err
    assert _fingerprint(v1_repo) == before


def test_records_to_send_with_a_repeated_column_are_refused(tmp_path):
    p = tmp_path / "tasks.csv"
    p.write_text("text,text\na,b\n")
    with pytest.raises(annover.AnnoverError, match="column 'text' appears 2 times") as e:
        read_records(p)
    assert e.value.exit_code == 3


@pytest.mark.parametrize("fmt", ["coco", "conll", "label-studio", "jsonl", "json-min", "csv", "parquet"])
def test_a_folder_given_to_a_one_file_format_is_one_line_and_writes_nothing(v1_repo, tmp_path, monkeypatch, fmt):
    monkeypatch.chdir(v1_repo)
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / "a.json").write_text("[]")
    before = _fingerprint(v1_repo)
    got, out, err = invoke("snapshot", "--from", str(folder), "--format", fmt, "-m", "folder")
    assert got == 3 and "Traceback" not in err and "unexpected" not in err, err
    assert err.count("\n") == 1 and str(folder) in err and "is a folder" in err and out == ""
    assert _fingerprint(v1_repo) == before


# ---------------------------------------------------------------------------
# a Hugging Face save_to_disk folder (found by tests/test_fuzz_training.py)


@pytest.mark.parametrize("splits, says", [
    (b'{"splits": []}', ["dataset_dict.json: 'splits' is empty"]),
    (b'{"splits": ["\\ud800train", "test"]}', ["dataset_dict.json: splits[0] is", "not the name of a folder"]),
    (b'{"splits": ["\xed\xa0\x80train", "test"]}', ["dataset_dict.json: splits[0] is"]),
], ids=["no split", "a lone surrogate escaped", "a lone surrogate's bytes"])
def test_a_dataset_dict_json_naming_no_split_is_one_line_and_writes_nothing(
        v1_repo, tmp_path, monkeypatch, splits, says):
    ds = datasets.Dataset.from_dict({"text": ["good"], "label": [0]}, features=datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["positive", "negative"])}))
    folder = tmp_path / "ds"
    datasets.DatasetDict({"train": ds, "test": ds}).save_to_disk(str(folder))
    (folder / "dataset_dict.json").write_bytes(splits)
    monkeypatch.chdir(v1_repo)
    before = _fingerprint(v1_repo)
    code, out, err = invoke("snapshot", "--from", str(folder), "-m", "hf")
    assert code == 3 and out == "" and "Traceback" not in err and "unexpected" not in err, err
    assert len(err.strip().splitlines()) == 1 and str(folder) in err, err
    for s in says:
        assert s in err, err
    assert _fingerprint(v1_repo) == before


def test_doccano_lines_of_no_label_without_a_config_ask_for_a_config_of_spans(repo, tmp_path):
    """Texts not labeled yet (every line's label list empty) and no --config in a repository of no version:
    the hint writes a config of spans on text (`config new ner`), not the image one COCO or VOC get."""
    src = tmp_path / "t.jsonl"
    src.write_text('{"text": "a", "label": []}\n{"text": "b", "label": []}\n')
    before = _fingerprint(repo.root)
    code, out, err = invoke("snapshot", "--from", str(src), "-m", "doccano")
    assert code == 3 and out == "" and len(err.strip().splitlines()) == 1, err
    assert str(src) in err and "<Labels> would list no label" in err and "annover config new ner" in err, err
    assert _fingerprint(repo.root) == before
