"""Label Studio's CSV and TSV exports, read as JSON-MIN records (one reader for both).

Label Studio writes these with Python's ``csv.DictWriter(quoting=QUOTE_NONNUMERIC)``, one
row per annotation that is not a skip (and one row, with empty label cells, per task
without annotations). So a quoted cell is a string and an unquoted one a number (or
``True``/``False``); an empty cell is absent (Label Studio writes a missing value, None,
as ``""``); a quoted cell holding a JSON list or object is that list or object (task data
and labels that are not a single choice or text are written with ``json.dumps``). Label
columns are named after the config's controls; a data field whose name collides with a
control is written ``_data_<name>`` (read back by the JSON-MIN reader); ``<control>_transcript`` repeats a chat's messages.
The header always has :data:`LS_CSV_COLUMNS`; a CSV without them is flat rows
(:mod:`annover.formats.flat`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.formats.text import BOM, fail, fits_64_bits, not_utf8_at
from annover.model.canonical import MAX_DEPTH
from annover.model.config import LabelingConfig

if TYPE_CHECKING:
    import orjson
else:
    orjson = lazy("orjson")

__all__ = ["LS_CSV_COLUMNS", "is_label_studio_csv", "read_label_studio_csv"]

#: Columns Label Studio's CSV export always writes.
LS_CSV_COLUMNS = frozenset({"annotator", "annotation_id", "created_at", "updated_at", "lead_time"})
_INT = re.compile(r"-?\d+\Z")


def _delimiter(path: Path) -> str:
    """Tab for a ``.tsv``, and for a ``.csv`` whose header is Label Studio's split by tabs: the server's
    TSV export downloads as ``project-N-at-....csv``; else a comma."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    return "\t" if not _is_ls_header(_header(path, ",")) and _is_ls_header(_header(path, "\t")) else ","


def _header(path: Path, delim: str) -> list[str]:
    """The column names of the first line (a cheap look: the header has no newlines)."""
    try:  # the first line only: bytes that are not UTF-8 further on are the reader's to name (by line)
        with path.open("rb") as f:
            head = f.readline(1 << 20).removeprefix(BOM).decode("utf-8", "replace")
        line = re.split(r"[\r\n]", head, maxsplit=1)[0]
    except OSError:
        return []
    return [c[1:-1].replace('""', '"') if len(c) >= 2 and c[0] == c[-1] == '"' else c for c in line.split(delim)]


def _is_ls_header(names: list[str]) -> bool:
    return LS_CSV_COLUMNS <= set(names)


def is_label_studio_csv(path: Path) -> bool:
    """Whether the header is that of Label Studio's CSV / TSV export (a TSV may be named ``.csv``)."""
    return _is_ls_header(_header(path, _delimiter(path)))


def _cells(text: str, delim: str, path: Path) -> list[list[tuple[str, bool]]]:
    """Records of (cell text, was quoted), parsed by RFC 4180 with ``delim``: by the standard library's
    reader (in C), or, where it fails or reads what RFC 4180 does not allow, cell by cell (naming the fault)."""
    records = _cells_by_csv(text, delim)
    return records if records is not None else _cells_by_regex(text, delim, path)


def _cells_by_csv(text: str, delim: str) -> list[list[tuple[str, bool]]] | None:
    """:func:`_cells` by ``csv.reader``, each cell's quoting read off the record's own text; None where the
    reader fails (a fault, a cell over its size limit) or a cell is not RFC 4180 (a quote in an unquoted cell,
    a delimiter ending the file, which the regex reader reads otherwise)."""
    raw: list[str] = []

    def lines():
        for line in io.StringIO(text, newline=""):
            raw.append(line)
            yield line

    records: list[list[tuple[str, bool]]] = []
    try:
        for cells in csv.reader(lines(), delimiter=delim, quotechar='"', strict=True):
            record = "".join(raw)
            raw.clear()
            marked = _quoting(cells, record, delim) if cells else [("", False)]
            if marked is None:
                return None
            records.append(marked)
    except csv.Error:
        return None
    return records


def _quoting(cells: list[str], record: str, delim: str) -> list[tuple[str, bool]] | None:
    """(cell, was quoted) of one record read from its text ``record``; None for an unquoted cell holding a quote,
    or a record that does not end the way the regex reader ends one."""
    out = []
    pos = 0
    for c in cells:
        if record.startswith('"', pos):
            out.append((c, True))
            pos += len(c) + c.count('"') + 3
        elif '"' in c:
            return None
        else:
            out.append((c, False))
            pos += len(c) + 1
    ends_file = pos == len(record) + 1 and not record.endswith(delim)  # "a,b," at the end: the regex reads 2 cells
    return out if ends_file or (pos <= len(record) and record[pos - 1] in "\r\n") else None


def _cells_by_regex(text: str, delim: str, path: Path) -> list[list[tuple[str, bool]]]:
    """Records of (cell text, was quoted), parsed by RFC 4180 with ``delim``, one cell at a time."""
    d = re.escape(delim)
    cell = re.compile(rf'(?:"((?:[^"]|"")*)"|([^"{d}\r\n]*))({d}|\r\n|\n|\r|\Z)')
    records: list[list[tuple[str, bool]]] = []
    current: list[tuple[str, bool]] = []
    pos, n = 0, len(text)
    while pos < n:
        m = cell.match(text, pos)
        if m is None or m.end() == pos:
            raise fail(path, f"cannot read CSV at line {text.count(chr(10), 0, pos) + 1}: {_misquoted(text, pos)}",
                       "re-export the file from Label Studio")
        quoted = m.group(1) is not None
        current.append((m.group(1).replace('""', '"') if quoted else m.group(2), quoted))
        pos = m.end()
        if m.group(3) != delim:
            records.append(current)
            current = []
    if current:
        records.append(current)
    return records


def _misquoted(text: str, pos: int) -> str:
    """What is wrong at ``pos``, where no cell can start: a quote never closed, text after a closing quote, or a
    quote inside an unquoted cell."""
    if text[pos] != '"':
        return "a quote inside an unquoted cell"
    closed = re.compile(r'"(?:[^"]|"")*"').match(text, pos)
    if closed is None:
        return "a quoted cell that is never closed (no closing quote before the end of the file)"
    return f"{text[closed.end():closed.end() + 20]!r} after the closing quote of a cell (a quote inside a quoted " \
        "cell is written twice: \"\")"


def _value(text: str, quoted: bool, path: Path, line: int, column: str) -> Any:
    """A cell as Label Studio wrote it (see the module docstring); None for an empty cell; ``path``, ``line`` and
    ``column`` name it in an error."""
    if text == "":
        return None
    if quoted:
        return _json_cell(text, path, line, column) if text[0] in "[{" else text
    if text in ("True", "False"):
        return text == "True"
    try:
        return int(text) if _INT.match(text) else float(text)
    except ValueError:
        return text


def _json_cell(text: str, path: Path, line: int, column: str) -> Any:
    """A quoted cell starting with ``[`` or ``{``: the list or object it holds, else the text. orjson (C) reads
    it; a text orjson refuses (NaN, a lone surrogate, deep nesting) or may read otherwise (an integer beyond 64
    bits, :func:`~annover.formats.text.fits_64_bits`: orjson reads one below -2**63 as a float) is read by the
    standard library, as before."""
    if fits_64_bits(text):
        try:
            return orjson.loads(text)  # the text starts with [ or {: a list or an object
        except orjson.JSONDecodeError:
            pass
    try:
        v = json.loads(text)
    except ValueError:
        return text
    except RecursionError:
        raise fail(path, f"line {line}, column {column!r}: JSON nested more deeply than Python can read",
                   f"annover reads JSON nested at most {MAX_DEPTH} levels deep") from None
    return v if isinstance(v, (list, dict)) else text


def read_label_studio_csv(path: Path, config: LabelingConfig | None) -> list[dict]:
    """The JSON-MIN records of a Label Studio CSV / TSV export."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise fail(path, f"the text{not_utf8_at(path)} is not UTF-8 ({e.reason})", "save the file as UTF-8") from None
    records = _cells(text, _delimiter(path), path)
    if not records:
        raise fail(path, "no header row", "the first line names the columns")
    header = [c for c, _ in records[0]]
    counts = Counter(header)
    dup = next((h for h in header if counts[h] > 1), None)
    if dup is not None:
        raise fail(path, f"column {dup!r} appears {counts[dup]} times in the header",
                   "give each column one name; re-export the file from Label Studio")
    chats = {n for n, c in (config.controls.items() if config else ()) if c.tag.lower() == "chat"}
    names = [_column(h, chats) for h in header]
    out = []
    for i, rec in enumerate(records[1:], 2):
        if rec == [("", False)]:
            continue  # a blank line
        if len(rec) != len(header):
            raise fail(path, f"line {i} has {len(rec)} values, the header {len(header)} columns",
                       "quote values that contain the delimiter")
        out.append({name: v for name, (t, q) in zip(names, rec)  # a plain quoted text is itself: no call
                    if name is not None and (v := t if q and t and t[0] not in "[{" else _value(t, q, path, i, name))
                    is not None})
    return out


def _column(name: str, chats: set[str]) -> str | None:
    """The JSON-MIN key of a CSV column; None for a column that repeats another (a chat transcript)."""
    if name.endswith("_transcript") and name[: -len("_transcript")] in chats:
        return None
    return name  # "_data_<control>" stays: the JSON-MIN reader puts it back in the data
