"""Fuzzing the readers: valid inputs, mutated in structure and in bytes, are read or refused
with a documented exit code, one line naming the file; never an unexpected error.

Sources: the sample export (examples/sentiment/round1.json), the real exports of
../shared/corpus/label-studio (read in place), JSON-MIN, Label Studio CSV / TSV, flat CSV,
JSONL and Parquet rows, annover's own Parquet, and the labeling config. Each kind runs
through the library's ``read_source`` (then, when accepted, content ids and stats, as a
snapshot computes them) and a few examples of each through the CLI's ``annover snapshot``,
which must exit 0 or with a documented code other than 1, print no traceback and, when it
refuses, write nothing.

CI runs a bounded number of examples, derandomized; ``ANNOVER_FUZZ_EXAMPLES=N`` runs N per
test with fresh randomness (by hand: ``ANNOVER_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz_inputs.py``).
Every input that ever failed is a literal case in tests/test_malformed_inputs.py.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import annover
from annover.cli import run
from annover.errors import EXIT_CODES, AnnoverError
from annover.formats.json_min import to_json_min
from annover.formats.read import read_source
from annover.model import canonical as C
from annover.model import stats as S
from annover.model.config import LabelingConfig

from .conftest import DATA, EXAMPLES, git, shared_corpus

CORPUS = shared_corpus("label-studio")
CONFIG = EXAMPLES / "labeling.xml"
#: Examples per test: a bounded, derandomized run in CI; ANNOVER_FUZZ_EXAMPLES=N for longer runs by hand.
BY_HAND = int(os.environ.get("ANNOVER_FUZZ_EXAMPLES", "0"))
#: Exit codes a reader may end with: bad input, labels not in the config, bad config, no such file.
INPUT_CODES = {3, 4, 5, 14}


def fuzz(n: int):
    """Hypothesis settings of one fuzz test: ``n`` examples in CI."""
    return settings(max_examples=BY_HAND or n, deadline=None, derandomize=not BY_HAND, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


# ---------------------------------------------------------------------------
# the valid inputs mutated


def _ls_sources() -> list[tuple[str, Path, Path]]:
    """(name, export, config) of every Label Studio JSON export: the sample and the corpus."""
    out = [("round1", EXAMPLES / "round1.json", CONFIG)]
    if CORPUS.is_dir():
        out += [(p.stem, p, p.with_suffix(".xml")) for p in sorted(CORPUS.glob("*.json"))
                if p.with_suffix(".xml").is_file()]
    out += [(p.stem, p, p.with_suffix(".xml")) for p in sorted((DATA / "ls").glob("*.json"))
            if p.with_suffix(".xml").is_file() and not p.stem.endswith("_min")]
    return out


LS_SOURCES = _ls_sources()


@lru_cache(maxsize=None)
def config(path: Path) -> LabelingConfig:
    return LabelingConfig.from_file(str(path)).wait()


@lru_cache(maxsize=None)
def ls_doc(path: Path) -> list:
    """The first three tasks of an export (enough structure, quick to read)."""
    doc = json.loads(path.read_text())
    doc = doc if isinstance(doc, list) else [doc]
    return doc[:3]


@lru_cache(maxsize=None)
def json_min_doc() -> list:
    """JSON-MIN of the sample, as annover writes it (Label Studio's shape)."""
    t = read_source(EXAMPLES / "round1.json", config=config(CONFIG), key="data.ext_id")
    return to_json_min({"tasks": t.tasks, "annotations": t.annotations})[:6]


def _ls_csv_sources() -> list[tuple[Path, Path]]:
    out = [(DATA / "ls" / "unlabeled.csv", DATA / "ls" / "unlabeled.xml")]
    if CORPUS.is_dir():
        out += [(p, p.with_suffix(".xml")) for p in sorted([*CORPUS.glob("*.csv"), *CORPUS.glob("*.tsv")])]
    return out


LS_CSV_SOURCES = _ls_csv_sources()

#: Values that have broken readers before, and the ordinary kinds.
NASTY_LEAVES = st.sampled_from([
    10**400, -(10**400), 10**29, 2**63, -(2**63) - 1, 2**53 + 1, float("nan"), float("inf"), float("-inf"), 1e308,
    -0.0, "\ud800", "a\udfffb", "", " ", "²", "../../x", "\x00", '"', "\\", "\n", "NaN", "Infinity", True, None,
    "positive", "PER", "sentiment", "text", "choices", "labels", "relation", [], {}, 0, -1, "{}", "[1]",
])
LEAVES = st.one_of(NASTY_LEAVES, st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12))
JSON_VALUES = st.recursive(LEAVES, lambda c: st.lists(c, max_size=3) | st.dictionaries(
    st.one_of(st.text(max_size=6), st.sampled_from(["id", "value", "from_name", "type", "result", "data"])), c,
    max_size=3), max_leaves=8)


def _deep(n: int, obj: bool) -> object:
    v: object = 1
    for _ in range(n):
        v = {"a": v} if obj else [v]
    return v


# nested past annover's limit, within what Python's json writes (deeper: literal bytes in test_malformed_inputs)
VALUES = st.one_of(JSON_VALUES, st.builds(_deep, st.integers(90, 400), st.booleans()))


def _paths(doc: object) -> list[tuple]:
    """The path of every node of a JSON document, down to 20 levels."""
    out, stack = [], [((), doc)]
    while stack:
        at, v = stack.pop()
        out.append(at)
        if len(at) < 20 and isinstance(v, dict):
            stack += [((*at, k), x) for k, x in v.items()]
        elif len(at) < 20 and isinstance(v, list):
            stack += [((*at, i), x) for i, x in enumerate(v)]
    return sorted(out, key=lambda p: (len(p), [str(x) for x in p]))


@st.composite
def mutated(draw, doc: object) -> object:
    """``doc`` with one to three nodes replaced, removed, repeated, wrapped or renamed (the tree
    is copied down to where it changes: a repeated node is shared, as JSON text writes it twice)."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            doc = draw(st.sampled_from([draw(VALUES), [doc], {"tasks": doc}, doc]))
            continue
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        k = path[-1]
        op = draw(st.sampled_from(["replace", "replace", "delete", "repeat", "wrap", "rename"]))
        if op == "replace":
            parent[k] = draw(VALUES)
        elif op == "delete":
            del parent[k]
        elif op == "repeat" and isinstance(parent, list):
            parent.insert(k, parent[k])
        elif op == "wrap":
            parent[k] = draw(st.sampled_from([[parent[k]], {"value": parent[k]}, str(parent[k])[:50]]))
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(st.one_of(st.text(max_size=6), st.sampled_from(["id", "\udc80", ""])))] = parent.pop(k)
    return doc


def as_bytes(doc: object, ascii_only: bool) -> bytes:
    """JSON text as Python writes it (NaN, Infinity; a lone surrogate as an escape or as bad UTF-8)."""
    return json.dumps(doc, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def flipped(draw, data: bytes) -> bytes:
    """``data`` with one to four bytes changed, inserted or removed, or cut short."""
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not b:
            break
        i = draw(st.integers(0, len(b) - 1))
        op = draw(st.sampled_from(["set", "insert", "delete", "cut", "repeat"]))
        if op == "set":
            b[i] = draw(st.sampled_from([0, 0x22, 0x2C, 0x0A, 0x5B, 0x7B, 0x5C, 0xFF, 0xC3, 0xED, draw(st.integers(0, 255))]))
        elif op == "insert":
            b[i:i] = draw(st.sampled_from([b'"', b",", b"\n", b"[", b"{", b"\\u", b"NaN", b"\xff", b"\r\n", b"\t", b"\x00"]))
        elif op == "delete":
            del b[i:i + draw(st.integers(1, 8))]
        elif op == "cut":
            del b[i:]
        else:
            b[i:i] = b[i:i + draw(st.integers(1, 64))]
    return bytes(b)


# ---------------------------------------------------------------------------
# the check


def check_read(path: Path, **kw) -> AnnoverError | None:
    """``read_source`` reads ``path`` (and content ids and stats follow), or refuses it with an
    input error: one line, naming a file, a documented exit code other than 1."""
    try:
        tables = read_source(path, **kw)
    except AnnoverError as e:
        msg = str(e)
        assert e.exit_code in INPUT_CODES, f"exit {e.exit_code}: {msg}"
        assert "\n" not in msg and "\r" not in msg, msg
        assert str(path) in msg or (kw.get("config") and kw["config"].source in msg), msg
        return e
    for name in C.TABLES:
        C.content_id(getattr(tables, name), name)
    S.compute(tables.tasks, tables.annotations, {"m": tables.predictions})
    return None


KEYS = st.sampled_from([None, None, "data.ext_id", "id", "data.text", "data.image"])
LEVELS = st.sampled_from([True, "strict", "warn", "off"])


def _write(tmp_path_factory, name: str, data: bytes) -> Path:
    p = tmp_path_factory.mktemp("fuzz") / name
    p.write_bytes(data)
    return p


# ---------------------------------------------------------------------------
# Label Studio JSON exports


@fuzz(1000)
@given(src=st.sampled_from(LS_SOURCES), data=st.data(), key=KEYS, level=LEVELS, ascii_only=st.booleans())
def test_label_studio_exports_mutated_in_structure(tmp_path_factory, src, data, key, level, ascii_only):
    _, path, xml = src
    doc = data.draw(mutated(ls_doc(path)))
    p = _write(tmp_path_factory, "export.json", as_bytes(doc, ascii_only))
    check_read(p, config=config(xml), key=key, validate=level)


@fuzz(1000)
@given(src=st.sampled_from(LS_SOURCES), data=st.data(), key=KEYS, jsonl=st.booleans())
def test_label_studio_exports_mutated_in_bytes(tmp_path_factory, src, data, key, jsonl):
    _, path, xml = src
    doc = ls_doc(path)
    text = b"\n".join(as_bytes(t, True) for t in doc) if jsonl else as_bytes(doc, data.draw(st.booleans()))
    p = _write(tmp_path_factory, "export.jsonl" if jsonl else "export.json", data.draw(flipped(text)))
    check_read(p, config=config(xml), key=key)


# ---------------------------------------------------------------------------
# JSON-MIN


@fuzz(800)
@given(data=st.data(), which=st.sampled_from(["sample", "unlabeled_min"]), key=KEYS, in_bytes=st.booleans())
def test_json_min_mutated(tmp_path_factory, data, which, key, in_bytes):
    if which == "sample":
        doc, xml = json_min_doc(), CONFIG
    else:
        doc, xml = json.loads((DATA / "ls" / "unlabeled_min.json").read_text()), DATA / "ls" / "unlabeled_min.xml"
    raw = data.draw(flipped(as_bytes(doc, True))) if in_bytes else as_bytes(data.draw(mutated(doc)), False)
    p = _write(tmp_path_factory, "min.json", raw)
    check_read(p, config=config(xml), key=key, fmt=data.draw(st.sampled_from([None, "json-min"])))


# ---------------------------------------------------------------------------
# CSV and TSV: Label Studio's, and flat rows

#: cells of Label Studio CSV files and of a Parquet file's string columns (which take those below 100 characters)
SHORT_CELLS = st.one_of(
    st.text(max_size=12), st.sampled_from([
        "", '"', '""', ",", "\t", "\n", "\r\n", "[1, 2", '{"a": [', '[{"choices": ["positive"]}]', "NaN", "inf", "1e400",
        "9" * 400, "True", "-", "²", "\x00", "\ufeff", "positive", "PER", "1" * 30,
    ]),
)
#: those, and cells of 1,000 to 200,000 characters (CSV only: a Parquet column drawing one gave up on the example)
CELLS = st.one_of(SHORT_CELLS, st.builds(lambda n: "x" * n, st.integers(1000, 200_000)))


def _rows(path: Path) -> list[list[str]]:
    delim = "\t" if path.suffix == ".tsv" else ","
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=delim))


@st.composite
def mutated_table(draw, rows: list[list[str]]) -> list[list[str]]:
    """Rows of cells with cells replaced, columns repeated or dropped, rows repeated or cut."""
    rows = [list(r) for r in rows]
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["cell", "cell", "cell", "header", "dup column", "drop column", "repeat row", "ragged"]))
        width = max(len(r) for r in rows) if rows else 0
        if not width:
            break
        j = draw(st.integers(0, width - 1))
        if op == "cell" and len(rows) > 1:
            i = draw(st.integers(1, len(rows) - 1))
            if j < len(rows[i]):
                rows[i][j] = draw(CELLS)
        elif op == "header":
            rows[0][min(j, len(rows[0]) - 1)] = draw(st.sampled_from(["", "label", "task_key", "id", "annotator", "\udcff"]))
        elif op == "dup column":
            rows = [r + [r[j]] if j < len(r) else r for r in rows]
        elif op == "drop column":
            rows = [r[:j] + r[j + 1:] for r in rows]
        elif op == "repeat row" and len(rows) > 1:
            rows.append(list(rows[draw(st.integers(1, len(rows) - 1))]))
        elif op == "ragged" and len(rows) > 1:
            rows[-1] = rows[-1][: draw(st.integers(0, len(rows[-1])))]
    return rows


def csv_bytes(rows: list[list[str]], delim: str, quoting: int) -> bytes:
    f = io.StringIO()
    w = csv.writer(f, delimiter=delim, quoting=quoting, lineterminator="\n")
    for r in rows:
        w.writerow(r)
    return f.getvalue().encode("utf-8", "surrogateescape")


@fuzz(1000)
@given(src=st.sampled_from(LS_CSV_SOURCES), data=st.data(), key=KEYS, in_bytes=st.booleans())
def test_label_studio_csv_mutated(tmp_path_factory, src, data, key, in_bytes):
    path, xml = src
    delim = "\t" if path.suffix == ".tsv" else ","
    if in_bytes:
        raw = data.draw(flipped(path.read_bytes()))
    else:
        raw = csv_bytes(data.draw(mutated_table(_rows(path))), delim,
                        data.draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_NONNUMERIC, csv.QUOTE_ALL])))
    p = _write(tmp_path_factory, "export" + path.suffix, raw)
    check_read(p, config=config(xml), key=key)


FLAT_COLUMNS = ["task_key", "label", "labels", "annotator", "from_name", "to_name", "text", "ext_id", "annotation_key"]
SMALL_CELLS = st.one_of(st.text(max_size=12), st.sampled_from(["", '"', ",", "\n", "positive", "NaN", "²", "\x00", "1" * 30]))
FLAT_ROWS = st.lists(st.lists(SMALL_CELLS, min_size=2, max_size=5), min_size=1, max_size=6)


@fuzz(800)
@given(data=st.data(), header=st.lists(st.sampled_from(FLAT_COLUMNS), min_size=1, max_size=5),
       rows=FLAT_ROWS, tsv=st.booleans(), key=st.sampled_from([None, "data.ext_id", "data.text"]),
       with_config=st.booleans())
def test_flat_csv_rows(tmp_path_factory, data, header, rows, tsv, key, with_config):
    rows = [["positive" if i % 2 else "k" + str(i) for i in range(len(header))]] + rows
    raw = csv_bytes([header, *rows], "\t" if tsv else ",", data.draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
    if data.draw(st.booleans()):
        raw = data.draw(flipped(raw))
    p = _write(tmp_path_factory, "rows.tsv" if tsv else "rows.csv", raw)
    check_read(p, config=config(CONFIG) if with_config else None, key=key)


# ---------------------------------------------------------------------------
# JSONL and Parquet rows, annover's Parquet

ROW_VALUES = st.one_of(LEAVES, st.lists(LEAVES, max_size=3), st.dictionaries(st.text(max_size=4), LEAVES, max_size=2))


@fuzz(800)
@given(rows=st.lists(st.dictionaries(st.sampled_from(FLAT_COLUMNS), ROW_VALUES, min_size=1, max_size=5),
                     min_size=1, max_size=5),
       data=st.data(), key=st.sampled_from([None, "data.ext_id"]), with_config=st.booleans())
def test_jsonl_rows(tmp_path_factory, rows, data, key, with_config):
    good = {"task_key": "a", "label": "positive"}
    raw = b"\n".join(as_bytes(r, data.draw(st.booleans())) for r in [good, *rows]) + b"\n"
    if data.draw(st.booleans()):
        raw = data.draw(flipped(raw))
    p = _write(tmp_path_factory, "rows.jsonl", raw)
    check_read(p, config=config(CONFIG) if with_config else None, key=key)


ARROW_TYPES = [pa.string(), pa.large_string(), pa.int64(), pa.float64(), pa.bool_(), pa.binary(), pa.null(),
               pa.list_(pa.string()), pa.list_(pa.int64()), pa.struct([("a", pa.int64())]), pa.timestamp("s"),
               pa.dictionary(pa.int32(), pa.string()), pa.list_(pa.struct([("a", pa.string())]))]


def _arrow_values(t: pa.DataType, n: int, draw) -> pa.Array:
    if pa.types.is_dictionary(t):
        return _arrow_values(pa.string(), n, draw).dictionary_encode()
    if pa.types.is_null(t):
        return pa.nulls(n)
    leaf = {
        "string": st.one_of(st.none(), SHORT_CELLS.filter(lambda c: len(c) < 100)), "large_string": st.text(max_size=5),
        "int64": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
        "double": st.one_of(st.none(), st.floats()), "bool": st.one_of(st.none(), st.booleans()),
        "binary": st.binary(max_size=4), "timestamp[s]": st.integers(0, 2**31),
    }
    if pa.types.is_list(t):
        inner = _arrow_values(t.value_type, 3, draw).to_pylist()
        return pa.array([draw(st.one_of(st.none(), st.lists(st.sampled_from(inner), max_size=3))) for _ in range(n)], t)
    if pa.types.is_struct(t):
        return pa.StructArray.from_arrays([_arrow_values(f.type, n, draw) for f in t], fields=list(t))
    return pa.array([draw(leaf[str(t)]) for _ in range(n)], t)


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@fuzz(600)
@given(data=st.data(), columns=st.lists(st.tuples(st.sampled_from(FLAT_COLUMNS), st.sampled_from(ARROW_TYPES)),
                                        min_size=1, max_size=5),
       n=st.integers(0, 5), with_config=st.booleans())
def test_parquet_rows(tmp_path_factory, data, columns, n, with_config):
    names = [c for c, _ in columns]
    arrays = [_arrow_values(t, n, data.draw) for _, t in columns]
    raw = _parquet(pa.Table.from_arrays(arrays, names=names))
    if data.draw(st.integers(0, 4)) == 0:
        raw = data.draw(flipped(raw))
    p = _write(tmp_path_factory, "rows.parquet", raw)
    check_read(p, config=config(CONFIG) if with_config else None, key=data.draw(st.sampled_from([None, "data.text"])))


@lru_cache(maxsize=None)
def own_table() -> pa.Table:
    return read_source(EXAMPLES / "round1.json", config=config(CONFIG), key="data.ext_id").annotations


@fuzz(600)
@given(data=st.data(), with_config=st.booleans())
def test_annovers_parquet_mutated(tmp_path_factory, data, with_config):
    t = own_table()
    for _ in range(data.draw(st.integers(1, 3))):
        j = data.draw(st.integers(0, t.num_columns - 1))
        name = t.column_names[j]
        op = data.draw(st.sampled_from(["drop", "nulls", "retype", "rows", "rename"]))
        if op == "drop":
            t = t.remove_column(j)
        elif op == "nulls":
            t = t.set_column(j, pa.field(name, t.schema.field(j).type), pa.nulls(t.num_rows, t.schema.field(j).type))
        elif op == "retype":
            typ = data.draw(st.sampled_from(ARROW_TYPES))
            t = t.set_column(j, name, _arrow_values(typ, t.num_rows, data.draw))
        elif op == "rows":
            rows = data.draw(st.lists(st.integers(0, max(t.num_rows - 1, 0)), max_size=6)) if t.num_rows else []
            t = t.take(pa.array(rows, pa.int64()))
        else:
            t = t.rename_columns([data.draw(st.sampled_from(FLAT_COLUMNS)) if k == j else c
                                  for k, c in enumerate(t.column_names)])
    p = _write(tmp_path_factory, "own.parquet", _parquet(t))
    check_read(p, config=config(CONFIG) if with_config else None)


# ---------------------------------------------------------------------------
# labeling configs

SNIPPETS = [
    b'<Choice value="positive"/>', b'<Choices name="sentiment" toName="nope">', b'<Labels name="text" toName="text">',
    b'<!DOCTYPE v [<!ENTITY e "x">]>', b"&e;", b'<Text name="" value=""/>', b"</View>", b"<View>", b'name="a"',
    b'toName="text,text"', b"<Repeater on=\"$items\">", b"\xff", b"<!-- -->", b'value="$"', b"<TextArea/>",
]


@fuzz(600)
@given(data=st.data(), level=LEVELS)
def test_configs_mutated(tmp_path_factory, data, level):
    xml = CONFIG.read_bytes()
    if data.draw(st.booleans()):
        xml = data.draw(flipped(xml))
    else:
        i = data.draw(st.integers(0, len(xml)))
        j = data.draw(st.integers(i, min(len(xml), i + 60)))
        xml = xml[:i] + data.draw(st.sampled_from(SNIPPETS)) + xml[j:]
    p = _write(tmp_path_factory, "labeling.xml", xml)
    try:
        cfg = LabelingConfig.from_file(str(p)).wait()
    except AnnoverError as e:
        assert e.exit_code in INPUT_CODES and "\n" not in str(e) and str(p) in str(e), str(e)
        return
    check_read(EXAMPLES / "round1.json", config=cfg, key="data.ext_id", validate=level)


# ---------------------------------------------------------------------------
# the CLI: a few examples of each kind, through `annover snapshot`


@pytest.fixture(scope="module")
def cli_repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzzcli") / "repo"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOVER_REMOTE_HOME", str(tmp_path_factory.mktemp("remotes")))
        annover.init(root).snapshot(str(EXAMPLES / "round1.json"), config=str(CONFIG), key="data.ext_id",
                                    message="round 1")
    return root


def _state(root: Path):
    files = sorted((str(p.relative_to(root)), p.stat().st_size) for p in (root / ".annover").rglob("*")
                   if p.is_file() and p.name != "lock")
    return files, git("rev-parse", "HEAD", cwd=root), git("tag", cwd=root), git("status", "--porcelain", cwd=root)


@st.composite
def any_input(draw) -> tuple[str, bytes, Path]:
    """(file name, bytes, config) of one mutated input of any kind."""
    kind = draw(st.sampled_from(["json", "json bytes", "json-min", "ls csv", "flat csv", "jsonl", "parquet"]))
    if kind == "json":
        _, path, xml = draw(st.sampled_from(LS_SOURCES))
        return "in.json", as_bytes(draw(mutated(ls_doc(path))), draw(st.booleans())), xml
    if kind == "json bytes":
        _, path, xml = draw(st.sampled_from(LS_SOURCES))
        return "in.json", draw(flipped(as_bytes(ls_doc(path), True))), xml
    if kind == "json-min":
        return "in.json", as_bytes(draw(mutated(json_min_doc())), False), CONFIG
    if kind == "ls csv":
        path, xml = draw(st.sampled_from(LS_CSV_SOURCES))
        return "in" + path.suffix, csv_bytes(draw(mutated_table(_rows(path))), "\t" if path.suffix == ".tsv" else ",",
                                             csv.QUOTE_NONNUMERIC), xml
    if kind == "flat csv":
        rows = draw(FLAT_ROWS)
        return "in.csv", csv_bytes([["task_key", "label", "text"], *rows], ",", csv.QUOTE_MINIMAL), CONFIG
    if kind == "jsonl":
        rows = draw(st.lists(st.dictionaries(st.sampled_from(FLAT_COLUMNS), ROW_VALUES, min_size=1), min_size=1, max_size=3))
        return "in.jsonl", b"\n".join(as_bytes(r, False) for r in rows), CONFIG
    cols = draw(st.lists(st.tuples(st.sampled_from(FLAT_COLUMNS), st.sampled_from(ARROW_TYPES)), min_size=1, max_size=4))
    n = draw(st.integers(0, 3))
    table = pa.Table.from_arrays([_arrow_values(t, n, draw) for _, t in cols], names=[c for c, _ in cols])
    return "in.parquet", _parquet(table), CONFIG


@fuzz(60)
@given(inp=any_input(), key=st.sampled_from(["auto", "data.ext_id", "id"]))
def test_snapshot_exits_with_a_documented_code_and_writes_nothing_when_it_refuses(
        cli_repo, tmp_path_factory, monkeypatch, inp, key):
    name, raw, xml = inp
    src = _write(tmp_path_factory, name, raw)
    monkeypatch.chdir(cli_repo)
    before = _state(cli_repo)
    with CliRunner().isolation() as (out, err, _):
        code = run(["snapshot", "--from", str(src), "--config", str(xml), "--key", key, "-m", "fuzz"])
        stderr = err.getvalue().decode()
    assert code != 1 and code in EXIT_CODES and "Traceback" not in stderr, stderr
    if code == 0:
        if _state(cli_repo) != before:
            annover.Repo(cli_repo).reset("v1", force=True)
        return
    assert code in INPUT_CODES, stderr
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("Error: "), stderr
    assert _state(cli_repo) == before
