"""Text files read into Python values: JSON, JSONL and CSV records.

Errors are one line, naming the file and the line or position, so a user can find the
bad record.
"""

from __future__ import annotations

import csv
import json
import math
import re
import stat
from pathlib import Path
from typing import Any

from annover._runtime import no_gc
from annover.errors import InputError, NotFoundError
from annover.files import BOM, not_a_file, not_utf8_at
from annover.model.canonical import MAX_DEPTH

__all__ = ["JSONL_SUFFIXES", "check_readable", "fail", "first_jsonl", "fits_64_bits", "is_utf8", "json_kind",
           "json_value_problem", "not_utf8_at", "read_csv_records", "read_json", "read_json_list", "read_jsonl",
           "refuse_special"]

JSONL_SUFFIXES = (".jsonl", ".ndjson")


class _Numbers:
    """json.loads' number hooks, noting a value annover cannot keep (NaN, Infinity, a float that
    overflows, an integer beyond a float's range) while parsing at little cost: only then is the
    parsed document walked to say where it is."""

    def __init__(self) -> None:
        self.odd = False

    def constant(self, s: str) -> float:  # NaN, Infinity, -Infinity: not JSON, Python's json reads them
        self.odd = True
        return float(s)

    def float(self, s: str) -> float:
        v = float(s)
        if v in (math.inf, -math.inf):
            self.odd = True
        return v

    def int(self, s: str) -> int:
        if len(s) > 300:
            self.odd = True
        return int(s)


#: how snapshot --from reads a pipe, said when it refuses one
_STREAMED = "; `<(command)` is read, once, with --format label-studio or json-min"


def refuse_special(path: str | Path, option: str, reads_once: bool = False, hint: str = "") -> None:
    """InputError (exit 3) naming ``path`` and ``option`` when it is a named pipe, a device or a
    socket, or a pipe its reader would read more than once (see :func:`annover.files.not_a_file`);
    ``hint`` is added to the fix."""
    kind = not_a_file(path, reads_once)
    if kind is not None:
        raise fail(path, f"is {kind}, not a file ({option})",
                   "write the data to a file first (`command > FILE`) and give that file" + hint)


def fail(path: str | Path, msg: str, hint: str) -> InputError:
    """An InputError whose message starts with the file's name."""
    return InputError(f"{path}: {msg}", hint)


def utf8_text(path: Path, fix: str = "save the file as UTF-8") -> str:
    """The text of ``path`` without a leading byte order mark (Windows editors write one), or an
    InputError naming it when it is not UTF-8 (``fix``: how to fix it)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise fail(path, f"the text{not_utf8_at(path)} is not UTF-8 ({e.reason})", fix) from None


def check_readable(path: Path, streams: bool = False, option: str = "--from") -> None:
    """InputError naming ``path`` when it cannot be read as an input file: a named pipe, a device
    or a socket (annover reads most inputs more than once, and a pipe no one writes to would
    wait forever; ``streams``: the reader reads it once, so a pipe the shell opened, ``<(command)``,
    is let through; see :func:`annover.files.not_a_file`), or a file the user may not read. A
    folder or a missing path is left to the caller."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if stat.S_ISDIR(mode):
        return
    refuse_special(path, option, streams, _STREAMED if option == "--from" else "")
    if stat.S_ISREG(mode):  # not a pipe let through: opening it here would take what the reader needs
        try:
            with path.open("rb") as f:
                wide = _wide_text(f.read(4))
        except PermissionError as e:
            raise fail(path, f"cannot be read: {e.strerror} ({option})",
                       "give yourself read permission (chmod u+r FILE) or copy the file somewhere you can read it"
                       ) from None
        if wide:
            raise fail(path, f"is {wide} text, not UTF-8",
                       "save it as UTF-8 (a spreadsheet: 'CSV UTF-8'; an editor: encoding UTF-8) and give that file")


#: byte order marks of the text encodings that are not UTF-8 (UTF-32's first: it starts as UTF-16LE's)
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
              (b"\xfe\xff", "UTF-16"))


def _wide_text(head: bytes) -> str | None:
    """The encoding of a file starting with ``head`` when it is UTF-16 or UTF-32 (a byte order
    mark, or ASCII characters each with a NUL byte beside it, as Windows' "Unicode" text is),
    else None."""
    bom = next((name for mark, name in _WIDE_BOMS if head.startswith(mark)), None)
    if bom is not None:
        return bom
    printable = [32 <= b < 127 or b in (9, 10, 13) for b in head]
    if len(head) == 4 and head[1] == head[3] == 0 and printable[0] and printable[2]:
        return "UTF-16 (little-endian)"
    if len(head) == 4 and head[0] == head[2] == 0 and printable[1] and printable[3]:
        return "UTF-16 (big-endian)"
    return None


def missing(path: str | Path, option: str = "--from") -> NotFoundError:
    """The error for an input file that does not exist (exit code 14, whatever the file)."""
    return NotFoundError(f"{path}: no such file ({option})", f"check the path given to {option}")


def json_problem(text: str, e: "json.JSONDecodeError") -> tuple[str, str]:
    """(what is wrong, how to fix it) for JSON that does not parse: empty, cut off, or invalid."""
    if not text.strip():
        return "the file is empty", "export the data again; a Label Studio export is a JSON list of tasks"
    where = f"line {e.lineno} column {e.colno}"
    if e.msg.startswith("Unterminated string") or e.pos >= len(text.rstrip()):
        return (f"truncated JSON: the file ends at {where} before the document is closed",
                "the file was cut off: export or copy it again")
    return f"invalid JSON at {where}: {e.msg}", "fix the JSON there, or export the file again"


def _loads(text: str, path: Path, where: str = "") -> tuple[Any, bool]:
    """(``json.loads(text)``, whether it may hold a value annover cannot keep), with what it
    raises besides JSONDecodeError said as an InputError."""
    seen = _Numbers()
    try:
        with no_gc():  # many small objects and no cycles (see annover._runtime.no_gc)
            doc = json.loads(text, parse_float=seen.float, parse_int=seen.int, parse_constant=seen.constant)
        return doc, seen.odd or "\\ud" in text or "\\uD" in text  # a surrogate escape, maybe lone
    except RecursionError:
        raise fail(path, f"{where}JSON nested more deeply than Python can read",
                   f"annover reads JSON nested at most {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError:
        raise
    except ValueError as e:  # an integer of more digits than int() takes
        raise fail(path, f"{where}a number is too long: {str(e).splitlines()[0]}",
                   "give numbers that fit in 64 bits, or write them as strings") from None


def json_value_problem(doc: Any) -> tuple[str, str] | None:
    """(where, what) of the first value, in the document's order, of a parsed document annover cannot keep: a
    string with a lone surrogate (not UTF-8), NaN or an infinite number, an integer beyond a float's range;
    None when there is none. ``where`` is a path such as ``[3].data.text`` (a key's: its object's path)."""
    stack: list[tuple[Any, str, Any]] = [(doc, "", None)]  # (value, its path, the key it is under)
    while stack:
        v, at, key = stack.pop()
        if isinstance(key, str) and not is_utf8(key):  # a key given in Python may be a number
            return at[:-len(key) - 1], f"key {key!r} holds a lone surrogate (not UTF-8 text)"
        if isinstance(v, dict):
            stack.extend((x, f"{at}.{k}", k) for k, x in reversed(v.items()))
            continue
        if isinstance(v, list):
            stack.extend((v[i], f"{at}[{i}]", None) for i in range(len(v) - 1, -1, -1))
            continue
        what = _bad_value(v)
        if what:
            return at, what
    return None


def is_utf8(s: str) -> bool:
    """Whether a text encodes as UTF-8 (holds no lone surrogate, which a JSON or Python text can)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_value(v: Any) -> str | None:
    if isinstance(v, str):
        return f"{v[:40]!r} holds a lone surrogate (not UTF-8 text)" if not is_utf8(v) else None
    if isinstance(v, float) and not math.isfinite(v):
        return ("NaN is not a number JSON allows" if math.isnan(v)
                else "Infinity, or a number too large for a float, is not a number JSON allows")
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**1023:
        return f"{str(v)[:20]}... ({len(str(abs(v)))} digits) is beyond the range of a number"
    return None


def check_json_values(doc: Any, path: str | Path, record: str = "record", line: str = "") -> None:
    """InputError naming the record and field of the first value :func:`json_value_problem`
    finds. ``record`` names a list's items; ``line`` the JSONL line."""
    found = json_value_problem(doc)
    if found is None:
        return
    at, what = found
    items = doc["tasks"] if isinstance(doc, dict) and isinstance(doc.get("tasks"), list) else doc
    head = "[" if items is doc else ".tasks["
    if not line and isinstance(items, list) and at.startswith(head):
        i, _, at = at[len(head):].partition("]")
        place = f"{record} {i}{_id_in(items[int(i)])}, "
    else:
        place = f"{line}{_id_in(doc)}, " if line else ""
    raise fail(path, f"{place}field {at.lstrip('.') or '(the whole value)'}: {what}",
               "fix the value (numbers must be finite and text UTF-8), or export the file again")


def _id_in(rec: Any) -> str:
    rid = rec.get("id") if isinstance(rec, dict) else None
    return f" (id {rid})" if isinstance(rid, (int, str)) and not isinstance(rid, bool) and len(str(rid)) < 40 else ""


#: A run of 19 digits or more: an integer of it may be beyond 64 bits (2**63 has 19 digits), which orjson and
#: pyarrow's JSON and CSV readers read as a float (2**64 as 1.8446744073709552e+19) where Python's json keeps it
#: exact. :func:`fits_64_bits` looks closer at each run it finds. (A scan by ``re`` takes ~0.9 s of CPU for 85 MB:
#: it tries the class at every byte; bytes are first asked by :func:`_has_long_run`, in C loops.)
_LONG_DIGITS = re.compile(rb"[0-9]{19,}")
_LONG_DIGITS_TEXT = re.compile(r"[0-9]{19,}")  # the same in a str (ASCII digits: \d would take others)

#: Characters beside a run of digits that make it part of a float, never an integer: a fraction's digits follow
#: ".", an exponent's follow "e", and an integer part is followed by "." or "e". (Within a string, a run does
#: not matter to either reader: it is read as text.)
_FLOAT_MARKS = (b".eE", ".eE")


def fits_64_bits(data: bytes | str) -> bool:
    """Whether the text ``data`` (bytes, or a str) holds no integer beyond 64 bits (:data:`_LONG_DIGITS`): then
    orjson reads it as ``json.loads`` does, and pyarrow's readers infer no float column of such integers. A long
    fraction (0.0005294537911137427, a box's coordinate as Python writes it) is no such integer: the fast reader
    keeps it."""
    text = isinstance(data, str)
    if not text and not _has_long_run(data):
        return True
    marks = _FLOAT_MARKS[text]
    for m in (_LONG_DIGITS_TEXT if text else _LONG_DIGITS).finditer(data):
        start, end = m.span()
        if (start == 0 or data[start - 1:start] not in marks) and (end == len(data) or data[end:end + 1] not in marks):
            return False
    return True


#: every digit as "0", any other byte as ".": a run of 19 digits is then 19 zeros, found by ``bytes.find``
_DIGITS_AS_ZEROS = bytes(48 if 48 <= b <= 57 else 46 for b in range(256))
#: the bytes translated at a time (a copy of this size, not of the whole file)
_RUN_CHUNK = 1 << 22


def _has_long_run(data: bytes) -> bool:
    """Whether ``data`` holds 19 digits in a row: ``bytes.translate`` and a substring search, both C loops
    (0.14 s of CPU for 85 MB, where the regex takes 0.9 s), a chunk at a time (overlapping by 18 bytes)."""
    run = b"0" * 19
    return any(run in data[i:i + _RUN_CHUNK + 18].translate(_DIGITS_AS_ZEROS) for i in range(0, len(data), _RUN_CHUNK))


def json_bytes(path: Path) -> bytes:
    """The bytes of a JSON file without a leading UTF-8 byte order mark (Windows tools write one;
    RFC 8259 lets a reader ignore it), for a parser of bytes."""
    data = path.read_bytes()
    return data[3:] if data.startswith(BOM) else data




def read_json(path: Path, record: str = "record") -> Any:
    """The JSON document in ``path`` (a leading byte order mark ignored); ``record`` names its items in errors."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise missing(path) from None
    except UnicodeDecodeError as e:
        raise fail(path, f"the text{not_utf8_at(path)} is not UTF-8 ({e.reason})", "export the file as UTF-8 JSON") from None
    try:
        doc, odd = _loads(text, path)
    except json.JSONDecodeError as e:
        raise fail(path, *json_problem(text, e)) from None
    if odd:
        check_json_values(doc, path, record)
    return doc


def read_jsonl(path: Path) -> list[Any]:
    """One JSON value per non-blank line of ``path`` (a leading byte order mark ignored)."""
    rows = []
    try:
        with path.open(encoding="utf-8-sig") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row, odd = _loads(line, path, f"line {n}: ")
                except json.JSONDecodeError as e:
                    what, _ = json_problem(line, e)
                    raise fail(path, f"line {n}: {what.replace(' at line 1 ', ' at ')}",
                               "each line must be one complete JSON object") from None
                if odd:
                    check_json_values(row, path, line=f"line {n}")
                rows.append(row)
    except FileNotFoundError:
        raise missing(path) from None
    except UnicodeDecodeError as e:
        raise fail(path, f"the text{not_utf8_at(path)} is not UTF-8 ({e.reason})", "save the file as UTF-8") from None
    return rows


def first_jsonl(path: Path) -> Any:
    """The JSON value of the first non-blank line of ``path``, None where there is none or it is no JSON
    (its reader then says what is wrong)."""
    try:
        with path.open(encoding="utf-8-sig") as f:
            line = next((ln for ln in f if ln.strip()), "")
        return json.loads(line) if line else None
    except (ValueError, OSError):
        return None


def read_json_list(path: Path, what: str = "records") -> list[Any]:
    """A JSONL file, or a JSON list (or ``{"tasks": [...]}``, or one task object), as a list."""
    if path.suffix.lower() in JSONL_SUFFIXES:
        return read_jsonl(path)
    doc = read_json(path, "task" if what == "tasks" else "record")
    if isinstance(doc, dict) and isinstance(doc.get("tasks"), list):
        doc = doc["tasks"]
    elif isinstance(doc, dict) and isinstance(doc.get("data"), dict):
        doc = [doc]  # one task: Label Studio exports a single task so
    if isinstance(doc, dict) and "tasks" in doc:
        raise fail(path, f"field tasks: expected a list of {what}, got {json_kind(doc['tasks'])}",
                   f"give a JSON list of {what} or a JSONL file")
    if not isinstance(doc, list):
        names = list(doc)[:5] if isinstance(doc, dict) else []
        keys = f" (keys: {', '.join(map(repr, names))}{', ...' if len(doc) > 5 else ''})" if names else ""
        raise fail(path, f"expected a JSON list of {what}, got {json_kind(doc)}{keys}",
                   f"give a JSON list of {what} or a JSONL file")
    return doc


def json_kind(v: Any) -> str:
    """What a parsed JSON value is, in JSON's words (an object, a list, text, a number, null...)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    kind = {dict: "an object", list: "a list", str: "text"}.get(type(v), "a number")
    return f"{kind} {str(v)[:30]!r}" if isinstance(v, (str, int, float)) else kind


def read_csv_records(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV (``.tsv``: tab-separated) file with a header, values as strings."""
    delim = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f, delimiter=delim)
            if not reader.fieldnames:
                raise fail(path, "no header row", "the first line names the columns")
            dup = next((c for i, c in enumerate(reader.fieldnames) if c in reader.fieldnames[:i]), None)
            if dup is not None:
                raise fail(path, f"column {dup!r} appears {reader.fieldnames.count(dup)} times",
                           "give each column one name; rename or drop the repeated ones")
            rows = []
            for n, row in enumerate(reader, 2):
                if None in row:
                    raise fail(path, f"line {n} has more values than the header has columns",
                               "quote values that contain the delimiter")
                rows.append({k: ("" if v is None else v) for k, v in row.items()})
            return rows
    except UnicodeDecodeError as e:
        raise fail(path, f"the text{not_utf8_at(path)} is not UTF-8 ({e.reason})", "save the file as UTF-8") from None
    except csv.Error as e:
        raise fail(path, f"cannot read CSV: {e}", "check the quoting") from None
