"""`snapshot --update` without HEAD's tables: HEAD's rows of the input's tasks are read, the
new version is stored as HEAD's layout plus a delta, its ids hashed from HEAD's columns and
the input's rows, its stats brought up to date from HEAD's. Property: for random HEADs and
random update inputs (answers replaced and added, skips, new tasks, predictions of several
models), the same version content as the update that reads HEAD whole: snapshot ids, ``load``
of every table, stats, what the update says it did; and ids those of a fresh snapshot of the
loaded tables."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import annover
from annover.model import canonical as C
from annover.repo import snapshot as SN
from annover.store import snapshots as S

from .conftest import EXAMPLES

CONFIG = EXAMPLES / "labeling.xml"
KEYS = ["a", "b", "ab", "ä", "z", "é€", "0", "b0", "aa", "zz"]  # prefixes of each other, non-ASCII
WHO = ["alice@example.com", "bob@example.com", "carol@example.com"]
LABELS = ["positive", "negative", "neutral"]


def _answer(who: int, label: int, n: int, cancelled: bool) -> dict:
    result = [] if cancelled else [{"id": f"r{n}", "from_name": "sentiment", "to_name": "text", "type": "choices",
                                    "value": {"choices": [LABELS[label]]}}]
    return {"id": n, "completed_by": {"id": who + 1, "email": WHO[who]}, "result": result,
            "was_cancelled": cancelled, "lead_time": float(n % 7)}


def _prediction(model: int, label: int) -> dict:
    return {"model_version": f"m{model}", "score": 0.5, "result": [
        {"id": f"p{model}", "from_name": "sentiment", "to_name": "text", "type": "choices",
         "value": {"choices": [LABELS[label]]}}]}


answer = st.tuples(st.integers(0, 2), st.integers(0, 2), st.booleans())
task = st.tuples(st.lists(answer, max_size=3, unique_by=lambda a: a[0]),
                 st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), max_size=2, unique_by=lambda p: p[0]),
                 st.integers(0, 3))
tasks = st.dictionaries(st.sampled_from(KEYS), task, min_size=1, max_size=8)


def _export(state: dict, start: int) -> list[dict]:
    """A Label Studio JSON export of {task key: (answers, predictions, text)}."""
    out = []
    for i, (key, (answers, preds, text)) in enumerate(sorted(state.items())):
        out.append({"id": start + i, "data": {"ext_id": key, "text": f"text {text}"},
                    "annotations": [_answer(w, lab, start * 10 + 10 * i + j, c)
                                    for j, (w, lab, c) in enumerate(answers)],
                    "predictions": [_prediction(m, lab) for m, lab in preds]})
    return out


def _content(repo: annover.Repo) -> dict:
    """What HEAD holds: ids, stats, the update's counts, and the loaded tables."""
    rec = repo.show("HEAD").record
    return {"ids": {k: v["id"] if "id" in v else {mv: x["id"] for mv, x in v.items()}
                    for k, v in rec["tables"].items()},
            "stats": rec["stats"], "update": rec["origin"]["update"],
            "tables": {k: repo.load("HEAD", k).to_pylist() for k in ("tasks", "annotations", "predictions")}}


def _updated(root: Path, head: list[dict], update: list[dict], whole: bool, used: list) -> dict:
    """HEAD's content after ``update`` snapshotted ``--update`` onto ``head``; ``whole``: by the
    update that reads HEAD whole. ``used`` gets each update spliced onto HEAD."""
    repo = annover.init(root)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        (root / "head.json").write_text(json.dumps(head))
        (root / "round.json").write_text(json.dumps(update))
        repo.snapshot("head.json", config=str(CONFIG), key="data.ext_id", message="head")
        with pytest.MonkeyPatch.context() as mp:
            real = SN.spliced_onto_head
            mp.setattr(SN, "spliced_onto_head", (lambda *a: None) if whole else
                       (lambda *a: used.append(r) or r if (r := real(*a)) is not None else None))
            res = repo.snapshot("round.json", message="round", update=True)
        return _content(repo) if res.changed else {"changed": False}
    finally:
        os.chdir(cwd)


def _content_ids(tables: dict) -> dict:
    """The snapshot ids of loaded tables (predictions: per model version), as a fresh snapshot gives them."""
    def sid(name: str, rows: list[dict]) -> str:
        t = C.conform(pa.Table.from_pylist(rows, schema=C.schema(name)), name)
        return C.content_id(C.sort_table(t, name), name)
    preds: dict[str, list] = {}
    for r in tables["predictions"]:
        preds.setdefault(r["model_version"], []).append(r)
    return {"tasks": sid("tasks", tables["tasks"]), "annotations": sid("annotations", tables["annotations"]),
            "predictions": {mv: sid("predictions", rows) for mv, rows in preds.items()}}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=tasks, update=tasks, few=st.sampled_from([0, 10**9]), runs=st.sampled_from([0, 10**9]))
def test_an_update_spliced_onto_head_is_the_update_that_reads_head_whole(tmp_path_factory, head, update, few, runs):
    used: list = []
    with pytest.MonkeyPatch.context() as mp:  # every table a delta may be written on
        mp.setattr(S, "MIN_BASE_BYTES", 0)
        mp.setattr(S, "MAX_DELTA_FRACTION", 100.0)
        mp.setattr(S, "FEW_TASKS", few)  # the new rows placed by binary searches or by one search of every key
        mp.setattr(S, "SPLICED_RUNS", runs)  # the columns made by slices or by a gather
        exported, round_ = _export(head, 1), _export(update, 500)
        fast = _updated(tmp_path_factory.mktemp("fast"), exported, round_, False, used)
        whole = _updated(tmp_path_factory.mktemp("whole"), exported, round_, True, [])
    assert fast == whole
    assert used, "the update was spliced onto HEAD"
    if fast.get("changed", True):
        assert fast["ids"] == _content_ids(fast["tables"])


def test_predictions_of_several_models_come_out_in_key_order(tmp_path):
    """HEAD's predictions of two models read whole are one model's rows after the other's: the
    update's rows went in where their keys fell among rows out of key order, and the version
    recorded a predictions id no fresh snapshot of its content gives (the table as it was
    before sorting). Small tables: the update that reads HEAD whole."""
    head = {"0": ([(0, 1, False)], [(1, 0), (2, 0)], 3), "zz": ([(1, 1, False)], [(1, 2), (2, 0)], 3)}
    update = {"ab": ([(0, 1, True)], [(1, 2)], 0)}
    used: list = []
    got = _updated(tmp_path / "r", _export(head, 1), _export(update, 500), False, used)
    assert not used  # a small HEAD: read whole
    assert got["ids"] == _content_ids(got["tables"])
    assert [r["task_key"] for r in got["tables"]["predictions"] if r["model_version"] == "m1"] == ["0", "ab", "zz"]
