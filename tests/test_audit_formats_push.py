"""dataset push --from a Label Studio export reads its predictions as a snapshot does: those given
in full only inside ``annotations[].prediction`` (the task's ``predictions`` being bare ids) are
sent, not warned about as "given as ids only"."""

from __future__ import annotations

import json
import pytest

from annover.formats.label_studio import from_ls_tasks
from annover.formats.records import task_items
from .conftest import shared_corpus

NERINE = shared_corpus("label-studio") / "ner_predictions_nerine.json"


@pytest.fixture()
def nerine() -> list:
    if not NERINE.exists():
        pytest.skip("the shared corpus is not here")
    return json.loads(NERINE.read_text(encoding="utf-8"))


def test_embedded_predictions_are_sent(nerine: list) -> None:
    got = task_items(nerine, "ner.json", send_annotations=False)
    assert got.prediction_ids == 0
    assert got.warnings("ner.json") == ["ner.json: 5 annotation(s) not sent (pass --annotations to send them)"]
    for rec, item in zip(nerine, got.items):
        (pred,) = item["predictions"]
        embedded = rec["annotations"][0]["prediction"]
        assert pred["result"] == embedded["result"]
        assert pred["model_version"] == embedded["model_version"] == "llm-preannotation-v1-cleaned"
        assert "id" not in pred and "task" not in pred and "project" not in pred  # Label Studio sets these


def test_same_predictions_as_a_snapshot(nerine: list) -> None:
    tables = from_ls_tasks(nerine, "ner.json", validate=False)
    per_task = tables.predictions.group_by("task_key").aggregate([("prediction_key", "count_distinct")])
    assert sorted(per_task.column("prediction_key_count_distinct").to_pylist()) == [1] * 5
    got = task_items(nerine, "ner.json", send_annotations=False)
    regions = sum(len(p["result"]) for it in got.items for p in it["predictions"])
    assert regions == tables.predictions.num_rows


def test_ids_without_a_prediction_in_full_are_still_counted() -> None:
    pred = {"id": 3, "model_version": "m", "result": []}
    recs = [
        {"data": {"t": "a"}, "predictions": [3, 4], "annotations": [{"result": [], "prediction": pred}]},
        # a prediction deleted since: the task's list does not name it, so it is not sent (as a snapshot)
        {"data": {"t": "b"}, "predictions": [], "annotations": [{"result": [], "prediction": {**pred, "id": 9}}]},
        # no list at all: the embedded one is all there is
        {"data": {"t": "c"}, "annotations": [{"result": [], "prediction": {**pred, "id": 7}},
                                             {"result": [], "prediction": {**pred, "id": 7}}]},
    ]
    got = task_items(recs, "x.json", send_annotations=False)
    assert got.prediction_ids == 1  # id 4
    assert [len(it.get("predictions", [])) for it in got.items] == [1, 0, 1]


def test_a_label_studio_export_as_predictions_file_gives_its_embedded_predictions(nerine: list) -> None:
    """--predictions ner_predictions_nerine.json (push or snapshot) read no prediction: its tasks list
    them as ids, and the ids were skipped as saying nothing."""
    from annover.formats.predictions import read_predictions, read_predictions_table

    got = read_predictions(NERINE)
    assert sorted(len(v) for v in got.values()) == [1] * 5
    for rec in nerine:
        (pred,) = [p for ps in got.values() for p in ps if p["id"] == rec["predictions"][0]]
        assert pred["result"] == rec["annotations"][0]["prediction"]["result"]
    table = read_predictions_table(str(NERINE), None, None, False)
    snap = from_ls_tasks(nerine, "ner.json", validate=False).predictions
    assert table.num_rows == snap.num_rows == sum(len(r["annotations"][0]["prediction"]["result"]) for r in nerine)
