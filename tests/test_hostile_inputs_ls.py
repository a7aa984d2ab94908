"""Hostile input files on disk given to ``annover snapshot --from`` (Label Studio exports, flat
files, annover's own Parquet): each is refused with ONE line naming the file, the record and
the field and how to fix it, a documented exit code, no traceback, and nothing written (git,
``.annover``, the DVC cache: every file byte for byte), with and without ``--dry-run``; or,
when it is valid (a byte order mark), read as the clean file is.

The inputs are real exports of ../shared/corpus/label-studio (read in place) and the sample,
mutated here. Each case is one a reader fell short on (see the commit that added it).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import annover
from annover.cli import run
from annover.errors import AnnoverError
from annover.formats.read import read_source
from annover.model.config import LabelingConfig

from .conftest import EXAMPLES, pipe_of, shared_corpus
from .test_malformed_inputs import v1_repo  # noqa: F401  (a fixture)

CORPUS = shared_corpus("label-studio")
CONFIG = EXAMPLES / "labeling.xml"
#: what any read writes: annover's note that git's index agrees with HEAD (a cache; README)
READ_CACHE = ".git/annover-index-agrees"


def invoke(*args: str) -> tuple[int, str, str]:
    with CliRunner().isolation() as (out, err, _):
        code = run(list(args))
        return code, out.getvalue().decode(), err.getvalue().decode()


def _tree(root: Path) -> dict[str, bytes]:
    """Every file of the repository (git's, .annover, the DVC cache), by path, with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and str(p.relative_to(root)) != READ_CACHE and p.name != "lock"}


@pytest.fixture(scope="module")
def v1(v1_repo):
    """A repository holding v1 of the sample (cases only read it, or are rolled back)."""
    return v1_repo


def refused(root: Path, src: Path, args: list[str], code: int, says: list[str]) -> str:
    """``snapshot --from src ARGS`` (and its ``--dry-run``) exits ``code`` with one line naming
    ``src`` and saying each of ``says``, and writes nothing; the line."""
    before = _tree(root)
    line = ""
    for dry in ([], ["--dry-run"]):
        got, out, err = invoke("snapshot", "--from", str(src), "-m", "hostile", *args, *dry)
        assert "Traceback" not in err and "unexpected" not in err, err
        assert got == code, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and " — " in lines[0], err
        line = lines[0]
        assert str(src) in line, line
        for s in says:
            assert s in line, line
        assert _tree(root) == before
    return line


def _sample() -> list:
    return json.loads((EXAMPLES / "round1.json").read_text())


def _result(d: list) -> dict:
    return d[0]["annotations"][0]["result"][0]


def _set(path: tuple, value):
    """A mutation of the sample: the field at ``path`` (from task 0) set to ``value``."""
    def f(d):
        obj = d[0]
        for k in path[:-1]:
            obj = obj[k]
        obj[path[-1]] = value
    return f


_ANN = ("annotations", 0)
_RES = (*_ANN, "result", 0)

#: (case, mutation of the sample export, exit code, what the line must say)
LS_CASES = [
    # Python's text of a value was kept as the annotator / time / model version
    ("completed_by a list", _set((*_ANN, "completed_by"), [1]), 3,
     ["task 0 (key rev-000), annotation 0 (id 1000), field completed_by", "is list [1]", "user id"]),
    ("completed_by a float", _set((*_ANN, "completed_by"), 1.5), 3, ["field completed_by", "is float 1.5"]),
    ("completed_by email a list", _set((*_ANN, "completed_by"), {"id": 1, "email": ["a"]}), 3,
     ["field completed_by"]),
    ("created_at an object", _set((*_ANN, "created_at"), {"a": 1}), 3,
     ["annotation 0 (id 1000), field created_at", "expected a date-time as text", "ISO 8601"]),
    ("updated_at a list", _set((*_ANN, "updated_at"), [1]), 3, ["field updated_at"]),
    ("task created_at a number", _set(("created_at",), 5), 3, ["task 0, field created_at", "is int 5"]),
    ("model_version a list",
     _set(("predictions",), [{"model_version": ["m"], "result": []}]), 3,
     ["prediction 0, field model_version", "is list ['m']", "expected text"]),
    # an empty object / text where a list is: taken as an empty list
    ("annotations {}", _set(("annotations",), {}), 3, ["task 0 (key rev-000).annotations", "is dict {}",
                                                       "expected a list"]),
    ("annotations ''", _set(("annotations",), ""), 3, [".annotations", "is str ''"]),
    ("result {}", _set((*_ANN, "result"), {}), 3, ["annotation 0 (id 1000).result", "is dict {}"]),
    ("result 0", _set((*_ANN, "result"), 0), 3, [".result", "is int 0"]),
    ("predictions false", _set(("predictions",), False), 3, [".predictions", "is bool False"]),
    # label-studio-sdk's Python exception text was the message (and the field was wrong)
    ("type null", _set((*_RES, "type"), None), 4,
     ["result 0 (id r1000s), field type", "the result has no type"]),
    ("value null", _set((*_RES, "value"), None), 4,
     ["result 0 (id r1000s), field value", "the result has no value"]),
    ("choices a list in a list", _set((*_RES, "value"), {"choices": [["positive"]]}), 4,
     ["field value", "value.choices holds list ['positive'], expected label text"]),
    # --key id with an id of the wrong type said the task had none
    ("--key id, id a float", _set(("id",), 1.5), 3, ["task 0, field id: is float 1.5, not a task id"]),
    ("--key id, id true", _set(("id",), True), 3, ["task 0, field id: is bool True, not a task id"]),
    # Python's type names: "is NoneType, expected an object", "key field 'data.ext_id' is dict"
    ("data null", _set(("data",), None), 3, ["task 0.data: is null, expected an object"]),
    ("ext_id an object", _set(("data", "ext_id"), {"a": 1}), 3, ["key field 'data.ext_id' is an object"]),
    ("a result item null", _set(_RES, None), 3, ["annotation 0 (id 1000), result 0: result item is null"]),
    ("value text", _set((*_RES, "value"), "positive"), 3, ["result 0 (id r1000s).value: is text 'positive'"]),
    # a repeated task did not say where its twin is
    ("a task repeated, labeled otherwise",
     lambda d: d.append({**d[0], "annotations": [{**d[0]["annotations"][0], "result": [
         {**_result(d), "value": {"choices": ["negative"]}}]}]}), 3,
     ["task 20 (key rev-000): duplicate task (task_key='rev-000'): task 0 has the same key", "--key data.FIELD"]),
]


@pytest.mark.parametrize("case, mutate, code, says", LS_CASES, ids=[c[0] for c in LS_CASES])
def test_a_wrong_field_of_a_label_studio_export_is_one_line_naming_it(v1, tmp_path, monkeypatch, case, mutate,
                                                                      code, says):
    monkeypatch.chdir(v1)
    d = _sample()
    mutate(d)
    src = tmp_path / "export.json"
    src.write_text(json.dumps(d))
    key = ["--key", "id"] if case.startswith("--key id") else ["--key", "data.ext_id"]
    refused(v1, src, ["--config", str(CONFIG), *key], code, says)


def test_the_same_wrong_fields_in_json_min_are_refused_too(v1, tmp_path, monkeypatch):
    monkeypatch.chdir(v1)
    rec = {"ext_id": "x1", "text": "hi", "id": 1, "sentiment": "positive", "annotator": [1], "annotation_id": 5}
    src = tmp_path / "min.json"
    src.write_text(json.dumps([rec]))
    refused(v1, src, ["--config", str(CONFIG), "--key", "data.ext_id"], 3, ["field completed_by", "is list [1]"])


# ---------------------------------------------------------------------------
# annover's own Parquet (export --format parquet) edited by hand


def _own(v1: Path, tmp_path: Path) -> pa.Table:
    out = tmp_path / "own.parquet"
    code, _, err = invoke("export", "v1", "--format", "parquet", "--out", str(out))
    assert code == 0, err
    return pq.read_table(out)


def _with(table: pa.Table, name: str, values: list, type_=pa.string()) -> bytes:
    t = table.set_column(table.schema.get_field_index(name), name, pa.array(values, type_))
    sink = io.BytesIO()
    pq.write_table(t, sink)
    return sink.getvalue()


@pytest.mark.parametrize("column, text, says", [
    ("value", "{not json", "'{not json' is not a JSON object"),
    ("value", "[1]", "is not a JSON object"),
    ("region", '"x"', "is not a JSON object"),
    ("extra", "5", "is not a JSON object"),
    ("ls_original", "{oops", "is not a JSON object"),
    ("ls_original", '{"a": 5}', "is not annover's provenance"),
    ("ls_original", '{"r": {"+": 5}}', "is not annover's provenance: r.+ is int"),
])
def test_own_parquet_with_text_that_is_not_json_is_refused_before_a_version_keeps_it(
        v1, tmp_path, monkeypatch, column, text, says):
    # was: accepted, and every later `export --format label-studio` of that version failed (exit 1)
    monkeypatch.chdir(v1)
    own = _own(v1, tmp_path)
    src = tmp_path / "edited.parquet"
    src.write_bytes(_with(own, column, [text] * own.num_rows))
    refused(v1, src, ["--key", "auto"], 3, [f"row 0 (task_key rev-000), column {column!r}", says,
                                              "written by annover export"])


def test_own_parquet_with_a_column_of_the_wrong_type_names_the_column(v1, tmp_path, monkeypatch):
    # was: "a column has the wrong type: Failed to parse value: x", no column named
    monkeypatch.chdir(v1)
    own = _own(v1, tmp_path)
    src = tmp_path / "edited.parquet"
    src.write_bytes(_with(own, "was_cancelled", ["x"] * own.num_rows))
    refused(v1, src, ["--key", "auto"], 3, ["column 'was_cancelled' is string, expected bool"])
    src.write_bytes(_with(own, "labels", ["positive"] * own.num_rows))
    refused(v1, src, ["--key", "auto"], 3, ["column 'labels' is string, expected list<item: string>"])


def test_own_parquet_as_exported_is_still_read(v1, tmp_path, monkeypatch):
    monkeypatch.chdir(v1)
    src = tmp_path / "own.parquet"
    pq.write_table(_own(v1, tmp_path), src)
    code, _, err = invoke("snapshot", "--from", str(src), "--key", "auto", "-m", "own", "--dry-run")
    assert code == 0, err


# ---------------------------------------------------------------------------
# files that are not files, or not readable


def _cli(*args: str, cwd: Path, prefix: tuple[str, ...] = (), timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([*prefix, sys.executable, "-m", "annover", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=timeout)


@pytest.mark.parametrize("option", ["--from", "--predictions"])
def test_a_named_pipe_no_one_writes_is_refused_not_waited_on(v1, tmp_path, option):
    # was: annover waited forever (detection opens the file, then the reader opens it again)
    fifo = tmp_path / "export.json"
    os.mkfifo(fifo)
    before = _tree(v1)
    args = (["--from", str(fifo)] if option == "--from"
            else ["--from", str(EXAMPLES / "round2.json"), "--predictions", str(fifo)])
    p = _cli("snapshot", *args, "-m", "pipe", cwd=v1, timeout=60)
    assert p.returncode == 3, p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert f"{fifo}: is a named pipe, not a file ({option})" in p.stderr and "write the data to a file" in p.stderr
    assert _tree(v1) == before


def test_a_pipe_is_still_read_once_with_format_label_studio(v1):
    # `--from <(jq ... export.json) --format label-studio` read the stream once, and still does
    with pipe_of((EXAMPLES / "round2.json").read_bytes()) as r:
        p = subprocess.run([sys.executable, "-m", "annover", "snapshot", "--from", f"/dev/fd/{r}", "--format",
                            "label-studio", "-m", "pipe", "--dry-run"], cwd=v1, capture_output=True, text=True,
                           env={**os.environ}, timeout=120, pass_fds=(r,))
    assert p.returncode == 0, p.stderr
    assert "would record v2" in p.stderr


def _without_read_rights() -> tuple[str, ...] | None:
    """A command prefix under which a file of mode 000 cannot be read (root reads it: drop the
    capabilities that let it), or None when there is none here."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    caps = "-dac_override,-dac_read_search"
    prefix = (setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}")
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    return prefix if probe.returncode == 0 else None


@pytest.mark.parametrize("name, content", [
    ("export.json", (EXAMPLES / "round2.json").read_bytes()),
    ("labels.csv", b"task_key,label\na,positive\n"),
    ("rows.jsonl", b'{"task_key": "a", "label": "positive"}\n'),
])
def test_a_file_without_read_permission_is_an_input_error_naming_it(v1, tmp_path, name, content):
    # was: exit 6 with "check its permissions ... or run the command in a writable clone" (about
    # the repository), or for a CSV exit 3 with "check the CSV header and quoting"
    prefix = _without_read_rights()
    if prefix is None:
        pytest.skip("no way here to make a file unreadable for this user")
    src = tmp_path / name
    src.write_bytes(content)
    src.chmod(0)
    before = _tree(v1)
    try:
        p = _cli("snapshot", "--from", str(src), "--key", "auto", "-m", "unreadable", cwd=v1, prefix=prefix)
    finally:
        src.chmod(0o644)
    assert p.returncode == 3, p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert f"{src}: cannot be read: Permission denied (--from)" in p.stderr and "chmod u+r" in p.stderr
    assert _tree(v1) == before


# ---------------------------------------------------------------------------
# encodings and delimiters


_CSV = "task_key,label\na,positive\nb,negative\n"


@pytest.mark.parametrize("name, content, says", [
    ("export.json", (EXAMPLES / "round1.json").read_text().encode("utf-16"), "is UTF-16 text, not UTF-8"),
    ("export.json", (EXAMPLES / "round1.json").read_text().encode("utf-16-le"), "is UTF-16 (little-endian) text"),
    ("labels.csv", _CSV.encode("utf-16"), "is UTF-16 text"),
    ("labels.csv", _CSV.encode("utf-16-be"), "is UTF-16 (big-endian) text"),
    ("rows.jsonl", b'{"task_key": "a", "label": "positive"}\n'.decode().encode("utf-32"), "is UTF-32 text"),
    ("ls.csv", (CORPUS / "derived_csv_sentiment.csv").read_text().encode("utf-16"), "is UTF-16 text"),
])
def test_a_utf16_file_is_named_as_such(v1, tmp_path, monkeypatch, name, content, says):
    # was: "invalid JSON at line 1 column 2", "CSV parse error: Expected 2 columns, got 1: \x00"
    monkeypatch.chdir(v1)
    src = tmp_path / name
    src.write_bytes(content)
    refused(v1, src, ["--key", "auto", "--config", str(CONFIG)], 3, [says, "save it as UTF-8"])


def _cell_short(tsv: bytes) -> bytes:
    """``tsv`` with the last cell of its line 2 cut off."""
    head, second, rest = tsv.split(b"\n", 2)
    return b"\n".join((head, second.rsplit(b"\t", 1)[0], rest))


@pytest.mark.parametrize("content, says", [
    (b"task_key,label,text\na,positive\nb,negative,x\n", "line 2 has 2 values, the header 3 columns"),
    (b"task_key,label\na,positive\nb,negative,x,y\n", "line 3 has 4 values, the header 2 columns"),
    (b'task_key,label,text\na,positive,"two\nlines"\nb,negative\n', "line 4 has 2 values, the header 3 columns"),
])
def test_a_ragged_csv_row_is_named_by_its_line(v1, tmp_path, monkeypatch, content, says):
    # was: "cannot read CSV: CSV parse error: Expected 3 columns, got 2: a,positive" (no line)
    monkeypatch.chdir(v1)
    src = tmp_path / "labels.csv"
    src.write_bytes(content)
    refused(v1, src, ["--key", "auto"], 3, [says, "one value per column"])


def test_a_ragged_row_of_label_studios_tsv_named_csv_is_named_by_its_line(v1, tmp_path, monkeypatch):
    """Label Studio's TSV export, which the server downloads named .csv (read as TSV), line 2 a cell short."""
    monkeypatch.chdir(v1)
    tsv = (CORPUS / "sdk_csv_export_tsv.tsv").read_bytes()
    columns = tsv.split(b"\n", 1)[0].count(b"\t") + 1
    src = tmp_path / "project-1-at-2026-12-07.csv"
    src.write_bytes(_cell_short(tsv))
    refused(v1, src, ["--key", "auto"], 3, [f"line 2 has {columns - 1} values, the header {columns} columns"])


@pytest.mark.parametrize("sep", [";", "\t"])
def test_a_csv_separated_otherwise_says_so(v1, tmp_path, monkeypatch, sep):
    monkeypatch.chdir(v1)
    src = tmp_path / "labels.csv"
    src.write_text(_CSV.replace(",", sep))
    refused(v1, src, ["--key", "auto"], 3, ["no key column 'task_key'", f"the header is one column holding {sep!r}"])


@pytest.mark.parametrize("name, content", [
    ("export.json", (EXAMPLES / "round2.json").read_bytes()),
    ("labels.csv", _CSV.encode()),
    ("rows.jsonl", b'{"task_key": "a", "label": "positive"}\n{"task_key": "b", "label": "neutral"}\n'),
    ("ls.csv", (CORPUS / "derived_csv_sentiment.csv").read_bytes()),
])
def test_a_byte_order_mark_reads_as_the_clean_file(tmp_path, monkeypatch, name, content):
    """Valid: the clean file makes a version; the same file with a UTF-8 byte order mark then
    changes nothing (the same tables, so the same snapshot ids)."""
    root = tmp_path / "repo"
    annover.init(root)
    monkeypatch.chdir(root)
    config = CORPUS / "derived_csv_sentiment.xml" if name == "ls.csv" else CONFIG
    clean, bom = tmp_path / name, tmp_path / f"bom-{name}"
    clean.write_bytes(content)
    bom.write_bytes(b"\xef\xbb\xbf" + content)
    code, out, err = invoke("snapshot", "--from", str(clean), "--config", str(config), "--key", "auto", "-m", "clean")
    assert code == 0 and "v1" in out + err, err
    head = annover.Repo(root).head()
    code, out, err = invoke("snapshot", "--from", str(bom), "--key", "auto", "-m", "bom")
    assert code == 0, err
    assert annover.Repo(root).head() == head, "the byte order mark changed the content"


# ---------------------------------------------------------------------------
# where in a text file the bad bytes or values are


@pytest.mark.parametrize("name, content, says", [
    ("rows.jsonl", b'{"task_key": "a", "label": "positive"}\n{"task_key": "b", "label": "pos\xe9"}\n',
     "the text at line 2 column 32 is not UTF-8"),
    ("export.json", b'[\n{"data": {"text": "caf\xe9"}}]', "the text at line 2 column 23 is not UTF-8"),
    ("labels.csv", b"task_key,label\na,positive\nb,caf\xe9\n", "the text at line 3 column 6 is not UTF-8"),
    # in a data column: was "task key a, column text: bytes is not JSON — give task data as text..."
    ("labels.csv", b"task_key,label,text\na,positive,caf\xe9\n", "the text at line 2 column 15 is not UTF-8"),
    # Label Studio's TSV with one such byte in a cell was taken for flat rows: "no key column 'task_key'"
    ("ls.tsv", (CORPUS / "sdk_csv_export_tsv.tsv").read_bytes().replace(b"CHENG", b"CH\xe9NG"),
     "the text at line 2 column"),
])
def test_bytes_that_are_not_utf8_are_named_by_line_and_column(v1, tmp_path, monkeypatch, name, content, says):
    # was: "not UTF-8 text (invalid continuation byte)", or "at byte 20588", no line
    monkeypatch.chdir(v1)
    src = tmp_path / name
    src.write_bytes(content)
    config = CORPUS / "sdk_csv_export_tsv.xml" if name == "ls.tsv" else CONFIG
    refused(v1, src, ["--key", "auto", "--config", str(config)], 3, [says, "UTF-8"])


@pytest.mark.parametrize("content, says", [
    (b'{"task_key": "a", "label": "positive"}\n{"task_key": 5, "label": "positive"}\n',
     "row 1, field 'task_key': number 5 where row 0 has text: mixed types in one column"),
    (b'{"task_key": "a", "label": "positive", "x": [1]}\n{"task_key": "b", "label": "positive", "x": "s"}\n',
     "row 1, field 'x': text 's' where row 0 has list"),
    (b'{"task_key": [100000000000000000000000000000, ""]}\n',
     "row 0, field 'task_key': a number is too large for a 64-bit integer"),
])
def test_jsonl_rows_of_mixed_types_name_the_row_and_field(v1, tmp_path, monkeypatch, content, says):
    # was: "columns of mixed types: Expected bytes, got a 'int' object", no row, no column
    monkeypatch.chdir(v1)
    src = tmp_path / "rows.jsonl"
    src.write_bytes(content)
    refused(v1, src, ["--key", "auto"], 3, [says])


@pytest.mark.parametrize("name, content", [("rows.jsonl", b""), ("rows.jsonl", b"\n \n"), ("labels.csv", b""),
                                           ("labels.tsv", b"\n"), ("export.json", b"")])
def test_an_empty_file_says_it_is_empty(v1, tmp_path, monkeypatch, name, content):
    # was, for JSONL: "no key column 'task_key' (columns: none)"; for CSV: "cannot read CSV: Empty CSV file"
    monkeypatch.chdir(v1)
    src = tmp_path / name
    src.write_bytes(content)
    refused(v1, src, ["--key", "auto"], 3, ["the file is empty", "export the data again"])


# ---------------------------------------------------------------------------
# any cut of a real export: read (a cut in trailing blanks) or refused naming where


_CUT_SOURCES = sorted([*CORPUS.glob("*.json"), *CORPUS.glob("*.csv"), *CORPUS.glob("*.tsv")]) if CORPUS.is_dir() else []
#: what names a place in a one-line error: a line, a task, a row, a record, a column or a field
_PLACE = ("line ", "task ", "row ", "record ", "column", "field", "the file is empty")


def _cut_is_refused_naming_where(src: Path, data: bytes, cut: int, tmp: Path) -> None:
    path = tmp / f"cut{src.suffix}"
    path.write_bytes(data[:cut])
    try:
        read_source(path, config=LabelingConfig.from_file(str(src.with_suffix(".xml"))).wait())
    except AnnoverError as e:
        msg = str(e)
        assert e.exit_code in (3, 4) and "\n" not in msg and str(path) in msg and " — " in msg, msg
        assert any(p in msg.split(" — ")[0] for p in _PLACE), msg
        return
    assert not data[cut:].strip() or src.suffix != ".json", f"a cut at byte {cut} of {src.name} was read"


@pytest.mark.skipif(not _CUT_SOURCES, reason="no corpus on this machine")
def test_any_cut_of_a_corpus_export_is_refused_naming_the_place(tmp_path):
    @settings(max_examples=150, deadline=None, derandomize=True, database=None)
    @given(st.sampled_from(_CUT_SOURCES), st.floats(0, 1))
    def check(src, at):
        data = src.read_bytes()
        _cut_is_refused_naming_where(src, data, int(at * (len(data) - 1)), tmp_path)

    check()


@pytest.mark.parametrize("content, says", [
    (b'{"a": 1, "b": 2}', "expected a JSON list of tasks, got an object (keys: 'a', 'b')"),
    (b"null", "expected a JSON list of tasks, got null"),
    (b'"tasks"', "expected a JSON list of tasks, got text 'tasks'"),
    (b'{"tasks": {"a": 1}}', "field tasks: expected a list of tasks, got an object"),
])
def test_a_json_document_that_is_not_a_list_says_what_it_is_in_jsons_words(v1, tmp_path, monkeypatch, content, says):
    # was: "got a JSON dict", "got a JSON NoneType" (Python's names)
    monkeypatch.chdir(v1)
    src = tmp_path / "export.json"
    src.write_bytes(content)
    refused(v1, src, ["--key", "auto"], 3, [says, "give a JSON list of tasks"])
