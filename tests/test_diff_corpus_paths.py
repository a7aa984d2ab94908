"""The diff's fast paths against its general ones on real Label Studio exports.

Each export of the shared corpus (``../shared/corpus/label-studio``, written by other people,
read in place) is diffed against itself with every label rotated to the next label its
control uses in the file (choices, span, box, polygon, keypoint labels; annotations and
predictions). The same diff is worked out by every path the diff can take, and each must
give the same summary and rows: in memory; by stored task hashes; in parts, with each
part's range of keys read whole; with the pairing by control a column at a time left out
(region by region matching instead); with relabels counted from the formatted lists rather
than as single-label integers; and through DuckDB's join (the rows read from files).
"""

from __future__ import annotations

import copy
import json
from contextlib import ExitStack
from unittest import mock

import pytest

import annover.diffing.answers as answers
from annover.diffing import Side, diff_tables
from annover.diffing.sources import Source
from annover.formats.ingest import from_ls_tasks

from .test_corpus_labelstudio import CORPUS, KEYS, _files, corpus

#: the label lists of a result's value that a relabel changes
LABEL_KEYS = ("choices", "labels", "rectanglelabels", "polygonlabels", "keypointlabels", "brushlabels",
              "ellipselabels", "hypertextlabels", "paragraphlabels", "timeserieslabels")


def _results(tasks: list) -> list[dict]:
    return [r for t in tasks for group in ("annotations", "predictions") for x in (t.get(group) or [])
            if isinstance(x, dict)  # an export may list ids only
            for r in (x.get("result") or []) if isinstance(r, dict) and isinstance(r.get("value"), dict)]


def rotated(tasks: list) -> tuple[list, int]:
    """The tasks with every label turned into the next label its control uses in them, and
    how many labels changed."""
    seen: dict[str, set[str]] = {}
    for r in _results(tasks):
        for k in LABEL_KEYS:
            seen.setdefault(r.get("from_name", ""), set()).update(x for x in r["value"].get(k) or [] if isinstance(x, str))
    nxt = {fn: dict(zip(sorted(ls), sorted(ls)[1:] + sorted(ls)[:1])) for fn, ls in seen.items() if len(ls) > 1}
    out, changed = copy.deepcopy(tasks), 0
    for r in _results(out):
        m = nxt.get(r.get("from_name", ""), {})
        for k in LABEL_KEYS:
            if isinstance(r["value"].get(k), list):
                r["value"][k] = [m.get(x, x) if isinstance(x, str) else x for x in r["value"][k]]
                changed += sum(1 for x in r["value"][k] if isinstance(x, str) and x in m.values())
    return out, changed


def without_ids(tasks: list) -> list:
    """The tasks with no result ids: each region's key then follows its content, so that a
    relabeled region pairs by no key (as a flat file's rows do) and is paired by control."""
    out = copy.deepcopy(tasks)
    for r in _results(out):
        r.pop("id", None)
        r.pop("parentID", None)
    return out


def side(tasks: list, name: str, config: str) -> Side:
    t = from_ls_tasks(copy.deepcopy(tasks), "corpus", key=KEYS.get(name), validate=False)
    preds = {}
    if t.predictions.num_rows:
        import pyarrow.compute as pc

        for mv in sorted(set(t.predictions.column("model_version").to_pylist())):
            preds[mv] = t.predictions.filter(pc.equal(t.predictions.column("model_version"), mv))
    return Side(t.tasks, t.annotations, preds, config=config)


PATHS = {
    "stored task hashes": (dict(stored_hashes=True), []),
    "parts, ranges read whole": (dict(stored_hashes=True), [(answers, "PARTITION_TASKS", 1), (answers, "PARTS", 3),
                                                            (answers, "WHOLE_RANGE_SHARE", 0)]),
    "parts of a few rows, read again for the row table": (dict(stored_hashes=True), [
        (answers, "PARTITION_TASKS", 1), (answers, "PART_ROWS", 5), (answers, "KEEP_ROWS", 0)]),
    "region by region": ({}, [(answers, "_by_control", lambda ua, bt, mrows, out: (None, mrows))]),
    "relabels from lists": (dict(stored_hashes=True), [(answers, "_single_labels", lambda ua, bt: None)]),
    "DuckDB's join": ({}, [(Source, "in_memory", lambda self: None)]),
}


@corpus
@pytest.mark.parametrize("ids", ["kept", "dropped"])
@pytest.mark.parametrize("name", [n for n in _files(CORPUS) if n.endswith(".json")])
def test_every_path_of_the_diff_gives_the_same_diff_of_a_real_export(name, ids):
    src = CORPUS / name
    doc = json.loads(src.read_text(encoding="utf-8"))
    tasks = doc if isinstance(doc, list) else [doc]
    if ids == "dropped":
        tasks = without_ids(tasks)
    config = src.with_suffix(".xml").read_text(encoding="utf-8")
    relabeled, changed = rotated(tasks)
    sa, sb = side(tasks, name, config), side(relabeled, name, config)
    want = diff_tables(sa, sb)
    rows = want.rows.to_pylist()
    if changed:  # the rotation shows: some region changed
        assert want.summary["regions"]["changed"] + want.summary["regions"]["added"] > 0, name
    for path, (kw, patches) in PATHS.items():
        with ExitStack() as stack:
            for p in patches:
                stack.enter_context(mock.patch.object(*p))
            got = diff_tables(sa, sb, **kw)
            got_rows = got.rows.to_pylist()
        assert got.summary == want.summary, (name, path)
        assert got_rows == rows, (name, path)

