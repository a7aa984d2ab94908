"""Text files read into Python values: JSON, JSONL and CSV records.

Errors are one line, naming the file and the line or position, so a user can find the
bad record.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from annover.errors import InputError, NotFoundError

__all__ = ["JSONL_SUFFIXES", "fail", "read_csv_records", "read_json", "read_json_list", "read_jsonl"]

JSONL_SUFFIXES = (".jsonl", ".ndjson")


def fail(path: str | Path, msg: str, hint: str) -> InputError:
    """An InputError whose message starts with the file's name."""
    return InputError(f"{path}: {msg}", hint)


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


def read_json(path: Path) -> Any:
    """The JSON document in ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise missing(path) from None
    except UnicodeDecodeError as e:
        raise fail(path, f"not UTF-8 text ({e.reason} at byte {e.start})", "export the file as UTF-8 JSON") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise fail(path, *json_problem(text, e)) from None


def read_jsonl(path: Path) -> list[Any]:
    """One JSON value per non-blank line of ``path``."""
    rows = []
    try:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    what, _ = json_problem(line, e)
                    raise fail(path, f"line {n}: {what.replace(' at line 1 ', ' at ')}",
                               "each line must be one complete JSON object") from None
    except FileNotFoundError:
        raise missing(path) from None
    except UnicodeDecodeError as e:
        raise fail(path, f"not UTF-8 text ({e.reason})", "save the file as UTF-8") from None
    return rows


def read_json_list(path: Path, what: str = "records") -> list[Any]:
    """A JSONL file, or a JSON list (or ``{"tasks": [...]}``, or one task object), as a list."""
    if path.suffix.lower() in JSONL_SUFFIXES:
        return read_jsonl(path)
    doc = read_json(path)
    if isinstance(doc, dict) and isinstance(doc.get("tasks"), list):
        doc = doc["tasks"]
    elif isinstance(doc, dict) and isinstance(doc.get("data"), dict):
        doc = [doc]  # one task: Label Studio exports a single task so
    if not isinstance(doc, list):
        raise fail(path, f"expected a JSON list of {what}, got a JSON {type(doc).__name__}",
                   f"give a JSON list of {what} or a JSONL file")
    return doc


def read_csv_records(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV (``.tsv``: tab-separated) file with a header, values as strings."""
    delim = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f, delimiter=delim)
            if not reader.fieldnames:
                raise fail(path, "no header row", "the first line names the columns")
            rows = []
            for n, row in enumerate(reader, 2):
                if None in row:
                    raise fail(path, f"line {n} has more values than the header has columns",
                               "quote values that contain the delimiter")
                rows.append({k: ("" if v is None else v) for k, v in row.items()})
            return rows
    except UnicodeDecodeError as e:
        raise fail(path, f"not UTF-8 text ({e.reason})", "save the file as UTF-8") from None
    except csv.Error as e:
        raise fail(path, f"cannot read CSV: {e}", "check the quoting") from None
