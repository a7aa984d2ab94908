"""Numbers and ids at the edges kept exactly through a reader, the version and a writer: an integer beyond
64 bits (which orjson, the fast parser, reads as a float where Python's json keeps it), an image id beyond
int64, the smallest and largest floats. The oracle is the reference reader of the format (pycocotools
for COCO, pandas and Python's json for tables and Label Studio JSON). pandas gives Label Studio's ids as
nullable integers, whole.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import annover
from annover.formats.text import fits_64_bits

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("formats")
EDGES = [2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 1e-7, 5e-324, 1e308]


def _pycocotools(path) -> "object":
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # its progress lines
        return COCO(str(path))


def _edited_chess(tmp_path, value, field: str):
    """The Roboflow COCO file with its first image's ``field`` set to ``value`` (the id: its annotations'
    image_id too)."""
    doc = json.loads((CORPUS / "coco_chess_roboflow.json").read_text())
    first = doc["images"][0]
    if field == "id":
        for a in doc["annotations"]:
            if a["image_id"] == first["id"]:
                a["image_id"] = value
    first[field] = value
    src = tmp_path / f"in_{field}.json"
    src.write_text(json.dumps(doc))
    return src


@pytest.mark.parametrize("value", EDGES)
def test_an_image_field_at_the_edge_is_kept_through_snapshot_load_and_coco_export(repo, tmp_path, value):
    src = _edited_chess(tmp_path, value, "camera_serial")
    assert invoke("snapshot", "--from", str(src), "-m", "edge")[0] == 0
    want = _pycocotools(src).imgs  # the reference reader: Python's json
    name = want[json.loads(src.read_text())["images"][0]["id"]]["file_name"]
    data = [json.loads(d) for d in annover.load(table="tasks").column("data").to_pylist()]
    kept = [d["coco_image"]["camera_serial"] for d in data if d["image"] == name]
    assert kept == [value] and type(kept[0]) is type(value)
    out = tmp_path / "out.json"
    assert invoke("export", "--format", "coco", "--out", str(out))[0] == 0
    back = [im for im in _pycocotools(out).imgs.values() if im["file_name"] == name]
    assert [(im["camera_serial"], type(im["camera_serial"])) for im in back] == [(value, type(value))]


@pytest.mark.parametrize("value", [2**63, 2**64, -(2**63) - 1, 10**30])
def test_an_image_id_beyond_int64_is_written_back_with_its_annotations(repo, tmp_path, value):
    src = _edited_chess(tmp_path, value, "id")
    assert invoke("snapshot", "--from", str(src), "-m", "big id")[0] == 0
    out = tmp_path / "out.json"
    code, _, err = invoke("export", "--format", "coco", "--out", str(out))
    assert code == 0, err
    want, got = _pycocotools(src), _pycocotools(out)
    assert sorted(got.imgs) == sorted(want.imgs)
    assert value in got.imgs
    assert len(got.getAnnIds(imgIds=[value])) == len(want.getAnnIds(imgIds=[value])) > 0


@given(st.lists(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()), max_size=8))
def test_property_where_fits_64_bits_says_so_orjson_reads_what_json_reads(values):
    import orjson

    data = json.dumps(values).encode()
    if fits_64_bits(data):
        got = orjson.loads(data)
        assert [(v, type(v)) for v in got] == [(v, type(v)) for v in json.loads(data)]
    else:
        assert any(c.isdigit() for c in data.decode())  # a run of 19 digits, somewhere


def test_fits_64_bits_refuses_every_integer_orjson_makes_a_float():
    import orjson

    for v in (2**64, -(2**63) - 1, 10**30):
        data = json.dumps([v]).encode()
        assert type(orjson.loads(data)[0]) is float and not fits_64_bits(data)


def test_fits_64_bits_lets_a_long_fraction_or_a_floats_digits_through():
    """A box coordinate as Python writes it (0.0005294537911137427: 19 digits after the point) is a float to
    both readers: the file keeps orjson's speed. An integer of 19 digits or more anywhere (a list's first
    or last value, after a minus sign) sends the text to the exact reader."""
    import orjson

    for floats in ([0.0005294537911137427, 1.0], [12345678901234567890.5], [1.2345e-300]):
        data = json.dumps(floats).encode()
        assert fits_64_bits(data) and orjson.loads(data) == json.loads(data), data
    for text in (b"18446744073709551616", b"[-9223372036854775809]", b'{"a":0.5,"b":10000000000000000000}'):
        assert not fits_64_bits(text), text


@given(st.lists(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()), max_size=8))
def test_property_fits_64_bits_says_of_a_str_what_it_says_of_its_bytes(values):
    """One rule for a file's bytes and a cell's text (the Label Studio CSV reader's JSON cells): a long
    fraction goes to orjson in both, an integer beyond 64 bits to the exact reader."""
    text = json.dumps(values, ensure_ascii=False)
    assert fits_64_bits(text) is fits_64_bits(text.encode())


def test_fits_64_bits_of_a_str_counts_ascii_digits_only():
    """Nineteen Arabic-Indic digits are no number to a JSON reader: the text fits, as its bytes do."""
    for text in ('["\u0661' + "\u0662" * 18 + '"]', '[0.0005294537911137427]'):
        assert fits_64_bits(text) and fits_64_bits(text.encode()), text
    for text in ("[-9223372036854775809]", '{"a":0.5,"b":10000000000000000000}'):
        assert not fits_64_bits(text), text


_CONFIG = """<View><Text name="t" value="$task_key"/>
<Choices name="c" toName="t"><Choice value="pos"/><Choice value="neg"/></Choices></View>"""


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
@pytest.mark.parametrize("value", EDGES)
def test_a_flat_table_number_is_kept_as_pandas_reads_it_or_refused(repo, tmp_path, suffix, value):
    import pandas as pd

    src = tmp_path / f"in{suffix}"
    rows = [{"task_key": "a", "label": "pos", "n": value}, {"task_key": "b", "label": "neg", "n": 1}]
    if suffix == ".csv":
        src.write_text("task_key,label,n\n" + "".join(f"{r['task_key']},{r['label']},{json.dumps(r['n'])}\n"
                                                     for r in rows))
        want = pd.read_csv(src, dtype={"n": object})["n"][0]  # the text, read exactly below
        want = json.loads(want)
    else:
        src.write_text("".join(json.dumps(r) + "\n" for r in rows))
        want = json.loads(src.read_text().splitlines()[0])["n"]  # Python's json: the reference
    (tmp_path / "c.xml").write_text(_CONFIG)
    code, _, err = invoke("snapshot", "--from", str(src), "--config", str(tmp_path / "c.xml"), "-m", "edge")
    if code:  # refused: in one line naming the field, never kept as another number
        assert code == 3 and "field 'n'" in err and len(err.strip().splitlines()) == 1, err
        assert isinstance(want, int) and not -(2**63) <= want < 2**63
        return
    tasks = annover.load(table="tasks")
    got = dict(zip(tasks.column("task_key").to_pylist(), (json.loads(d) for d in tasks.column("data").to_pylist())))
    assert got["a"]["n"] == want and type(got["a"]["n"]) is type(want)


def test_pandas_gives_label_studio_ids_as_nullable_integers_whole(repo, tmp_path):
    """A task id missing (an id given as text is kept in extra) and an annotation id beyond 2**53: pandas
    reads the ids as Python's json does (17, not 17.0; 2**53 + 1 whole), and the dtype is the same with
    no id missing."""
    import pandas as pd

    corpus = shared_corpus("label-studio")
    tasks = json.loads((corpus / "fe_sentiment_two_annotators.json").read_text())
    tasks[0]["id"] = "007"
    tasks[1]["annotations"][0]["id"] = 2**53 + 1
    src = tmp_path / "in.json"
    src.write_text(json.dumps(tasks))
    config = str(corpus / "fe_sentiment_two_annotators.xml")
    assert invoke("snapshot", "--from", str(src), "--config", config, "-m", "ids")[0] == 0
    ann = annover.load(table="annotations").to_pandas()
    task_ids = annover.load(table="tasks").to_pandas()["ls_task_id"]
    want = {t["id"] for t in tasks if type(t["id"]) is int}
    assert {v for v in task_ids.tolist() if v is not pd.NA} == want and task_ids.isna().sum() == 1
    want_ann = {a["id"] for t in tasks for a in t["annotations"] if type(a.get("id")) is int}
    assert {int(v) for v in ann["ls_annotation_id"].dropna()} == want_ann
    assert str(ann["ls_annotation_id"].dtype) == str(task_ids.dtype) == "Int64"
    full = annover.load(table="tasks", columns=["task_key", "ls_task_id"]).to_pandas()
    assert str(full["ls_task_id"].dtype) == "Int64"



@pytest.mark.parametrize("value", ["1000000000000000000", "-9223372036854775808", "0000000000000000000042"])
def test_a_19_digit_integer_within_64_bits_in_a_float_csv_column_is_the_float_it_equals(repo, tmp_path, value):
    """pyarrow reads a column of ``1.5`` and such an integer as floats, the integer exactly: it is read (as
    pandas reads it), not refused as an integer beyond 64 bits."""
    import pandas as pd

    src = tmp_path / "in.csv"
    src.write_text(f"task_key,label,n\na,pos,{value}\nb,neg,1.5\n")
    (tmp_path / "c.xml").write_text(_CONFIG)
    code, _, err = invoke("snapshot", "--from", str(src), "--config", str(tmp_path / "c.xml"), "-m", "19 digits")
    assert code == 0, err
    tasks = annover.load(table="tasks")
    got = dict(zip(tasks.column("task_key").to_pylist(), (json.loads(d) for d in tasks.column("data").to_pylist())))
    assert got["a"]["n"] == pd.read_csv(src)["n"][0] == int(value)


@pytest.mark.parametrize("row, fast", [
    ({"id": "12345678901234567890123"}, True),  # a long integer in a text: pyarrow keeps the text
    ({"box": [0.0005294537911137427, 0.25]}, True),  # a long fraction is no integer
    ({"box": [1.5, 1e19]}, False),  # a float of 2**63 or more may have been one: the Python reader decides
    ({"id": 2**64}, False), ({"ids": [1, -(2**63) - 1]}, False), ({"o": {"n": 10**30}}, False),
])
def test_pyarrow_reads_a_jsonl_table_unless_it_made_an_integer_beyond_64_bits_a_float(tmp_path, row, fast):
    """read_jsonl_table reads the file once, by pyarrow, and gives it to the Python reader (None) only where
    pyarrow made an integer beyond 64 bits a float: in a column, a list or an object."""
    from annover.formats.flat import read_jsonl_table

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"task_key": k, "label": "pos", **row}) + "\n" for k in "ab"))
    table = read_jsonl_table(src)
    assert (table is not None) is fast
    if fast:
        kept = json.loads(src.read_text().splitlines()[0])
        assert {k: table.column(k)[0].as_py() for k in row} == {k: kept[k] for k in row}


@pytest.mark.parametrize("at", [0, -19, -10, -1, 1])
def test_fits_64_bits_finds_a_run_of_19_digits_across_the_chunks_it_scans(at):
    """The bytes are scanned a chunk at a time: a run over a chunk's end is found, a run of 18 is none."""
    from annover.formats.text import _RUN_CHUNK

    where = _RUN_CHUNK + at
    data = bytearray(b" " * (2 * _RUN_CHUNK + 40))
    data[where:where + 19] = b"9" * 19
    assert not fits_64_bits(bytes(data))
    data[where + 18] = ord(" ")
    assert fits_64_bits(bytes(data))
