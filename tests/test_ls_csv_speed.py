"""Label Studio CSV / TSV read by the standard library's reader in C: the same records as the cell-by-cell
reader (which still names a fault), on generated files of every shape Label Studio and hand edits write."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annover.errors import InputError
from annover.formats import ls_csv
from annover.model.config import LabelingConfig

CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
<Labels name="label" toName="text"><Label value="PER"/></Labels></View>"""

_CELL_TEXT = st.text(alphabet=st.sampled_from(list('ab1.-"\r\n\t,{}[]: eTrueFalsнé\x00')), max_size=8)
_VALUES = st.one_of(_CELL_TEXT, st.integers(-10**20, 10**20), st.floats(allow_nan=False), st.booleans(),
                    st.none(), st.just(""), st.lists(st.dictionaries(st.sampled_from(["start", "end", "labels"]),
                                                                     st.integers(0, 9), max_size=2), max_size=2),
                    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2))


@st.composite
def _raw_texts(draw) -> tuple[str, str]:
    """(text, delimiter): cells joined by hand, quoted or not, with any line ending; faults included."""
    delim = draw(st.sampled_from([",", "\t"]))
    pieces = draw(st.lists(st.tuples(_CELL_TEXT, st.booleans(), st.sampled_from([delim, "\n", "\r\n", "\r"])),
                           max_size=12))
    text = "".join((f'"{c.replace(chr(34), chr(34) * 2)}"' if q else c) + end for c, q, end in pieces)
    return (text if draw(st.booleans()) else text.rstrip("\r\n"), delim)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_raw_texts())
def test_csv_cells_are_the_regex_cells(case: tuple[str, str]) -> None:
    """Whatever the text, the C reader's records are the cell-by-cell reader's, or it leaves the text to it."""
    text, delim = case
    try:
        want = ls_csv._cells_by_regex(text, delim, Path("x.csv"))
    except InputError:
        want = None
    got = ls_csv._cells_by_csv(text, delim)
    assert got is None or got == want


def _write_ls_csv(path: Path, records: list[dict], delim: str, crlf: bool, bom: bool) -> None:
    """What Label Studio's export writes: ``csv.DictWriter`` with ``QUOTE_NONNUMERIC``, JSON cells dumped."""
    header = sorted({k for r in records for k in r} | ls_csv.LS_CSV_COLUMNS)
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=header, quoting=csv.QUOTE_NONNUMERIC, delimiter=delim,
                       lineterminator="\r\n" if crlf else "\n")
    w.writeheader()
    for r in records:
        w.writerow({k: json.dumps(r[k]) if isinstance(r.get(k), (list, dict)) else r.get(k, "") for k in header})
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8"))


_RECORDS = st.lists(st.fixed_dictionaries(
    {"id": st.integers(1, 4), "text": _VALUES},
    optional={"sentiment": st.sampled_from(["pos", "neg", ""]), "label": _VALUES, "annotator": _VALUES,
              "annotation_id": st.integers(1, 10**6), "lead_time": _VALUES, "created_at": _VALUES,
              "_data_sentiment": _VALUES, "meta": _VALUES}), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(_RECORDS, st.sampled_from([",", "\t"]), st.booleans(), st.booleans(), st.booleans())
def test_export_reads_as_before(tmp_path: Path, records: list[dict], delim: str, crlf: bool, bom: bool,
                                tsv_named_csv: bool) -> None:
    """A Label Studio CSV / TSV export (a TSV named ``.csv`` too) gives the records and tables the cell-by-cell
    reader gives."""
    path = tmp_path / ("export.csv" if delim == "," or tsv_named_csv else "export.tsv")
    _write_ls_csv(path, records, delim, crlf, bom)
    config = LabelingConfig(CONFIG)
    got = ls_csv.read_label_studio_csv(path, config)
    fast = ls_csv._cells_by_csv
    try:
        ls_csv._cells_by_csv = lambda text, delim: None  # the cell-by-cell reader alone, as before
        want = ls_csv.read_label_studio_csv(path, config)
    finally:
        ls_csv._cells_by_csv = fast
    assert got == want  # the same records: the JSON-MIN reader makes the same tables of them


@pytest.mark.parametrize("text", ['a,b\n"x"y,z\n', 'a,b\n"open,z\n', 'a,b\nx"y,z\n'])
def test_faults_still_named(tmp_path: Path, text: str) -> None:
    """A fault the C reader refuses or reads leniently is named by the cell-by-cell reader, as before."""
    with pytest.raises(InputError, match="cannot read CSV at line 2"):
        ls_csv._cells(text, ",", tmp_path / "x.csv")


_JSON_TEXT = st.one_of(
    st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=4),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
                 max_leaves=8).map(lambda v: json.dumps([v], ensure_ascii=False)[1:-1]).filter(lambda t: t[:1] in "[{"),
    st.text(alphabet=st.sampled_from(list('[]{}",:1e-.0 \\ud800nulNaIfity\n')), max_size=12).map(lambda t: "[" + t))


@settings(max_examples=400, deadline=None)
@given(_JSON_TEXT)
def test_json_cell_is_the_standard_librarys(text: str) -> None:
    """A JSON cell reads as ``json.loads`` reads it (a list or an object), else stays the text."""
    try:
        v = json.loads(text)
        want = v if isinstance(v, (list, dict)) else text
    except ValueError:
        want = text
    got = ls_csv._json_cell(text, Path("x.csv"), 2, "c")
    assert json.dumps(got) == json.dumps(want) and type(got) is type(want)
