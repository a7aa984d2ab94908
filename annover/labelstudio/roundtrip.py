"""What a push changed of a version's tasks and answers, undone when the dataset is pulled back.

A version read from a training format (COCO, YOLO, VOC) holds image paths relative to its folder
(``images/img_1.jpg``) and answers of no annotator. Label Studio loads neither as they are: a push
sends the paths as local-files URLs (``/data/local-files/?d=coco/images/img_1.jpg``), and Label
Studio gives an answer of no annotator to the user of the API key. The dataset's record
(``.annover/datasets/NAME.json``) keeps what the push did, and a pull reads the project back through
it: the URLs as the paths they were made from, the answers the push made as answers of no
annotator. ``annover diff`` of the version pushed and the version pulled then shows what people
changed in Label Studio, and nothing of the trip.

The record's fields (both lists grow with each push):

- ``pushed_paths``: ``[{"field": "image", "prefix": "/data/local-files/?d=coco/"}, ...]``: a value of
  that data field starting with the prefix is read as the path after it (URL-decoded).
- ``unattributed``: the ids of the Label Studio annotations the push made for answers of no
  annotator, as ranges ``[[first, last], ...]`` (a push's annotations take consecutive ids: a push of
  50,000 answers is a line or a few, not 50,000). Only those: an answer a person makes in Label Studio
  has another id, and stays theirs.
- ``pushed_tasks``: ``{"key": "data.id", "keys": [...]}``: the keys of the tasks pushes found in the
  project or sent (not undone by a pull: a push reads them, so that a task deleted in Label Studio is
  not sent again, see :func:`annover.labelstudio.datasets.Datasets.push`).
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Iterable, Mapping

#: the record's fields (see the module's doc)
PATHS = "pushed_paths"
UNATTRIBUTED = "unattributed"
#: the task keys of the tasks pushes found in the project or sent: ``{"key": KEY or null, "keys": [...]}``
#: (``key``: the task key they are of); a key of them the project no longer has was deleted in Label Studio
PUSHED = "pushed_tasks"


def merged(record: Mapping[str, Any] | None, prefixes: Iterable[tuple[str, str]], ids: Iterable[int],
           pushed: tuple[str | None, Iterable[str]] | None = None) -> dict:
    """The record's round-trip fields with a push's ``prefixes`` ((field, URL prefix)) and
    annotation ``ids`` added, and ``pushed`` ((task key, keys of tasks the push found or sent): added to
    the keys the record has of that task key, in place of those of another); only the fields that hold
    something."""
    had = of_record(record)
    paths = list(had[PATHS])
    for f, p in prefixes:
        if {"field": f, "prefix": p} not in paths:
            paths.append({"field": f, "prefix": p})
    out: dict[str, Any] = {}
    if paths:
        out[PATHS] = paths
    unattributed = ranges(set(had[UNATTRIBUTED]) | set(ids))
    if unattributed:
        out[UNATTRIBUTED] = unattributed
    key, keys = pushed_keys(record)
    if pushed is not None:
        keys = (keys if pushed[0] == key else set()) | set(pushed[1])
        key = pushed[0]
    if keys:
        out[PUSHED] = {"key": key, "keys": sorted(keys)}
    return out


def pushed_keys(record: Mapping[str, Any] | None) -> tuple[str | None, set[str]]:
    """(the task key, the keys of the tasks pushes found in the project or sent) a dataset record keeps
    (none when it has none, or what it has is not of that shape)."""
    got = (record or {}).get(PUSHED)
    if not isinstance(got, dict) or not isinstance(got.get("keys"), list) \
            or not isinstance(got.get("key"), (str, type(None))):
        return None, set()
    return got["key"], {k for k in got["keys"] if isinstance(k, str)}


def ranges(ids: Iterable[int]) -> list[list[int]]:
    """``ids`` as sorted ``[first, last]`` runs of consecutive ids."""
    out: list[list[int]] = []
    for i in sorted(set(ids)):
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def _ids(value: Any) -> list[int]:
    """The ids a record's ``unattributed`` names (its runs, or bare ids); what is not of that shape: none."""
    out: list[int] = []
    for x in value if isinstance(value, list) else ():
        if type(x) is int:
            out.append(x)
        elif isinstance(x, list) and len(x) == 2 and all(type(i) is int for i in x) and 0 <= x[1] - x[0] < 10**7:
            out.extend(range(x[0], x[1] + 1))
    return out


def of_record(record: Mapping[str, Any] | None) -> dict[str, list]:
    """The round-trip fields of a dataset record (empty where it has none, or what it has is not of their shape)."""
    rec = record or {}
    paths = rec.get(PATHS)
    ids = rec.get(UNATTRIBUTED)
    return {PATHS: [p for p in paths if isinstance(p, dict) and isinstance(p.get("field"), str)
                    and isinstance(p.get("prefix"), str) and p["prefix"]] if isinstance(paths, list) else [],
            UNATTRIBUTED: _ids(ids)}


def restore(tasks: list[dict], record: Mapping[str, Any] | None) -> None:
    """Read exported ``tasks`` (in place) as the version pushed: the URLs a push made of paths as the
    paths, and the answers it made of no annotator as such."""
    fields = of_record(record)
    paths: list[dict] = fields[PATHS]
    ids = set(fields[UNATTRIBUTED])
    if not paths and not ids:
        return
    for t in tasks:
        data = t.get("data")
        if paths and isinstance(data, dict):
            for p in paths:
                v = data.get(p["field"])
                if isinstance(v, str) and v.startswith(p["prefix"]) and len(v) > len(p["prefix"]):
                    data[p["field"]] = urllib.parse.unquote(v[len(p["prefix"]):])
        if not ids:
            continue
        for a in t.get("annotations") or ():
            if isinstance(a, dict) and a.get("id") in ids:
                a["completed_by"] = None
