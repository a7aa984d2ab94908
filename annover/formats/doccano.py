"""doccano's JSONL (its export and import shape; flair's ``JsonlCorpus`` too) and Prodigy's NER JSONL (``db-out``),
read as Label Studio tasks.

A line is one text (``text``, or flair's ``data``) and its labels (``label``, or ``labels``):

- sequence labeling: ``[[start, end, "LABEL"], ...]``, character offsets into the text, each a span
  (``Labels name="label"`` on ``<Text name="text">``); doccano's relation export gives them as
  ``entities`` (``{"start_offset", "end_offset", "label"}``), read alike (its ``relations`` are not: a
  warning counts them); Prodigy gives them as ``spans`` (``{"start", "end", "label"}``), and its ``answer``
  ``reject`` or ``ignore`` makes the answer a skipped one (``was_cancelled``), of no span;
- text classification: ``["positive", ...]``, each a choice (``Choices name="label"``, ``multiple``
  where a line has two).

Each line is a task keyed by the hash of its data (``text`` and the line's other fields but ``id``, ``meta``
and Prodigy's ``tokens``, ``answer`` and ``_`` fields; a repeated one also gets ``copy``: 1, 2, ...); ``meta``
is the task's meta (Prodigy's ``tokens`` and ``_`` fields in its ``prodigy``), ``id`` its id where every line
has a distinct one. A line of an empty list is answered with no label, unless no line has
one (texts not labeled yet: no answer).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from annover.formats import Format
from annover.formats.tables import Tables
from annover.formats.text import fail, read_jsonl
from annover.formats.train import TrainInput, labels_tag, refuse_not_xml, to_tables, unlabeled
from annover.model.config import LabelingConfig

__all__ = ["is_doccano", "read"]

#: the keys a line gives its text and its labels in
TEXT_KEYS = ("text", "data")
LABEL_KEYS = ("label", "labels", "entities", "spans")
#: keys of a line that are not task data (nor are Prodigy's ``_`` fields)
_NOT_DATA = (*LABEL_KEYS, "relations", "meta", "id", "tokens", "answer")
#: Prodigy's answers that give no labels: the answer is a skipped one
_SKIPPED = ("reject", "ignore")


def _key(row: dict, keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if k in row), None)


def is_doccano(row: Any) -> bool:
    """Whether ``row`` (a JSONL file's first line) is doccano's: a text and a list of labels, each a span
    (``[start, end, label]``, ``{start_offset, end_offset, label}``) or a class name; no Label Studio task."""
    if not isinstance(row, dict) or "annotations" in row or "task_key" in row:
        return False
    text, labels = _key(row, TEXT_KEYS), row.get(_key(row, LABEL_KEYS) or "")
    return text is not None and isinstance(row[text], str) and isinstance(labels, list) and \
        all(_span(x) is not None or isinstance(x, str) for x in labels)


def _span(x: Any) -> tuple[Any, Any, Any] | None:
    """(start, end, label) of a doccano span, None for no span."""
    if isinstance(x, list) and len(x) == 3:
        return x[0], x[1], x[2]
    if isinstance(x, dict) and {"start_offset", "end_offset", "label"} <= set(x):
        return x["start_offset"], x["end_offset"], x["label"]
    if isinstance(x, dict) and {"start", "end", "label"} <= set(x):
        return x["start"], x["end"], x["label"]
    return None


def _result(row: dict, text: str, where: str) -> tuple[list[dict], str | None]:
    """The result items of one line's labels and their kind (``labels``, ``choices``, None for none)."""
    items = row.get(_key(row, LABEL_KEYS) or "", [])
    if not isinstance(items, list):
        raise fail(where, f"'{_key(row, LABEL_KEYS)}' is {type(items).__name__}, not a list",
                   "give the labels as a list: [[start, end, \"LABEL\"], ...] or [\"class\", ...]")
    if items and all(isinstance(x, str) for x in items):
        for x in items:
            refuse_not_xml(x, where, "a class")
        return [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": items}}], "choices"
    out = []
    for x in items:
        s, e, label = _span(x) or (None, None, None)
        if not (type(s) is int and type(e) is int and 0 <= s < e <= len(text) and isinstance(label, str)):
            raise fail(where, f"{json.dumps(x)[:60]} is not a span [start, end, \"LABEL\"] within the text "
                       f"({len(text)} characters)", "give each span as character offsets into the text and a label")
        refuse_not_xml(label, where, "a span's label")
        out.append({"from_name": "label", "to_name": "text", "type": "labels",
                    "value": {"start": s, "end": e, "text": text[s:e], "labels": [label]}})
    return out, "labels" if out else None


def _task(row: Any, n: int, path: Path, seen: dict[str, int]) -> tuple[dict, str | None]:
    """The task of line ``n`` and its labels' kind."""
    where = f"{path}: line {n}"
    if not isinstance(row, dict) or not isinstance(row.get(_key(row, TEXT_KEYS) or ""), str):
        raise fail(where, "has no text (a \"text\" string)", "give each line a text: {\"text\": ..., \"label\": [...]}")
    text = row[_key(row, TEXT_KEYS) or ""]
    skipped = row.get("answer") in _SKIPPED
    result, kind = ([], None) if skipped else _result(row, text, where)
    data = {"text": text, **{k: v for k, v in row.items() if k not in (*TEXT_KEYS, *_NOT_DATA) and k[:1] != "_"}}
    copy = seen.get(json.dumps(data, sort_keys=True), 0)
    seen[json.dumps(data, sort_keys=True)] = copy + 1
    if copy:
        data["copy"] = copy
    task: dict[str, Any] = {"data": data, "annotations": [{"result": result, "was_cancelled": skipped}]}
    prodigy = {k: v for k, v in row.items() if k[:1] == "_" or k == "tokens"}
    meta = {**(row["meta"] if isinstance(row.get("meta"), dict) else {}), **({"prodigy": prodigy} if prodigy else {})}
    if meta:
        task["meta"] = meta
    return task, kind


def _config(tasks: list[dict], kinds: set[str | None], path: Path) -> str:
    """The labeling config of the labels read: spans or classes (a file of both is refused)."""
    if {"labels", "choices"} <= kinds:
        raise fail(path, "some lines label spans ([start, end, label]) and others classes ([\"class\"])",
                   "give sequence labeling and text classification as two files")
    regions = [r for t in tasks for a in t["annotations"][:1] for r in a["result"]]  # none: not labeled yet
    if "choices" in kinds:
        names = list(dict.fromkeys(c for r in regions for c in r["value"]["choices"]))
        multiple = any(len(r["value"]["choices"]) > 1 for r in regions)
        choices = "".join(f"\n    <Choice value={quoteattr(c)}/>" for c in names)
        control = (f"  <Choices name=\"label\" toName=\"text\" choice=\"{'multiple' if multiple else 'single'}\">"
                   f"{choices}\n  </Choices>\n")
    else:
        control = labels_tag("Labels", "label", "text", list(dict.fromkeys(r["value"]["labels"][0] for r in regions)))
    return "<View>\n  <Text name=\"text\" value=\"$text\"/>\n" + control + "</View>\n"


def read(path: Path, config: LabelingConfig | None, validate: bool | str) -> Tables:
    """Canonical tables of the doccano JSONL file ``path``; checked against ``config`` when given, else
    against the config generated from its labels (in the result's ``config_text``; a warning says so)."""
    rows = read_jsonl(path)
    seen: dict[str, int] = {}
    got = [_task(row, n, path, seen) for n, row in enumerate(rows, 1)]
    tasks, kinds = [t for t, _ in got], {k for _, k in got}
    ids = [r.get("id") for r in rows]
    distinct = all(type(i) is int for i in ids) and len(set(ids)) == len(ids)
    for i, (task, row) in enumerate(zip(tasks, rows)):
        task["id"] = row["id"] if distinct else i + 1
    warnings = unlabeled(tasks, path, "label", "text")
    relations = sum(len(r["relations"]) for r in rows if isinstance(r.get("relations"), list))  # not read: counted
    if relations:
        warnings.append(f"{path}: its {relations} relation(s) were not read (annover reads doccano's entities "
                        "and classes)")
    inp = TrainInput(tasks, _config(tasks, kinds, path), key=None, warnings=warnings)
    tables, text = to_tables(inp, str(path), Format.JSONL, config, validate)
    if config is None:
        tables.warnings.append(f"{path}: no labeling config given; one was generated from its doccano / Prodigy "
                               "labels")
        tables.config_text = text
    return tables
