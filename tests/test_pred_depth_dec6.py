"""A predictions file's errors are named by its records where they are made, and ``dataset push
--predictions`` refuses what ``snapshot --predictions`` refuses (Dec 6 audit).

The canonical reader named a prediction of the made-up task a predictions file is grouped into
(``SOURCE: task 1 (key K), prediction 0``) and predictions.py rewrote that message with a regex
into the record's place; a prediction with an ``id`` inside a task record came out with its id
twice (``prediction 1 (id 7) (id 7)``). The reader now takes ``place(task_key, i)`` and names
the prediction by it in the first place.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

import annover
from annover.errors import InputError, ValidationError
from annover.formats.label_studio import from_ls_tasks, parse_tasks
from annover.formats.predictions import read_prediction_records, read_predictions_table
from annover.model.config import LabelingConfig

from .ls_fixtures import cli, ls_server  # noqa: F401 - fixtures
from .test_pred_errors_dec6 import CONFIG, RECORDS, _jsonl


def _result(label, value=None) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices",
             "value": {"choices": [label]} if value is None else value}]


def test_a_prediction_with_an_id_in_a_task_record_is_named_once(tmp_path):
    """Line 2 is a task with two predictions, the second with id 7 and a value that is no object:
    it was "line 2 (key r-002), prediction 1 (id 7) (id 7), result 0.value"."""
    task = {"data": {"ext_id": "r-002", "text": "awful"},
            "predictions": [{"model_version": "m1", "result": _result("Negative")},
                            {"id": 7, "model_version": "m2", "result": _result("Negative", 3)}]}
    f = _jsonl(tmp_path / "preds.jsonl", [{"task_key": "r-001", "result": _result("Positive")}, task])
    with pytest.raises(InputError) as e:
        read_predictions_table(str(f), "data.ext_id", None, False)
    assert str(e.value).startswith(f"--predictions {f}: line 2 (key r-002), prediction 1 (id 7), result 0.value: "
                                   "is a number '3', expected an object"), e.value
    assert e.value.exit_code == 3


def test_a_record_with_a_bad_field_is_named_by_its_line(tmp_path):
    """The canonical reader's own checks (model_version, created_at), named by the record."""
    f = _jsonl(tmp_path / "preds.jsonl", [{"task_key": "r-001", "result": _result("Positive")}, None,
                                          {"task_key": "r-002", "created_at": 5, "result": _result("Negative")}])
    with pytest.raises(InputError, match=r"^--predictions .*preds\.jsonl: line 3 \(key r-002\), field created_at: "
                                         r"is int 5, expected a date-time as text"):
        read_predictions_table(str(f), None, None, False)


def _tasks() -> list[dict]:
    return [{"data": {"ext_id": "a", "text": "x"}, "predictions": [
        {"model_version": "m1", "result": _result("Positive")},
        {"model_version": "m1", "result": _result("Postive")},
        {"model_version": ["m"], "result": _result("Positive")}]}]


def _place(k: str, i: int) -> str:
    return f"preds.jsonl: line {10 + i} (key {k})"


def test_the_reader_names_a_prediction_by_the_place_it_is_given():
    with pytest.raises(Exception) as e:
        parse_tasks(_tasks(), key="data.ext_id", source="made-up", place=_place)
    assert str(e.value) == "preds.jsonl: line 12 (key a), field model_version: is list ['m'], expected text"


def test_the_config_check_names_a_prediction_by_the_place_it_is_given():
    tasks = _tasks()
    del tasks[0]["predictions"][2]
    cfg = LabelingConfig(CONFIG, source="config.xml")
    with pytest.raises(ValidationError) as e:
        from_ls_tasks(tasks, "made-up", config=cfg, key="data.ext_id", place=_place)
    assert "(at preds.jsonl: line 11 (key a), result 0, field value)" in str(e.value), e.value
    assert "made-up: task 0" not in str(e.value)


def test_without_a_place_the_wording_is_the_tasks():
    """Every other reader of tasks (snapshot of an export) keeps its wording."""
    with pytest.raises(Exception) as e:
        parse_tasks(_tasks(), key="data.ext_id", source="export.json")
    assert str(e.value) == "export.json: task 0 (key a), prediction 2, field model_version: is list ['m'], expected text"


def test_records_keep_their_places(tmp_path):
    f = _jsonl(tmp_path / "p.jsonl", [None, {"task_key": "k", "result": []}])
    assert read_prediction_records(f).place("k", 0) == f"{f}: line 2 (key k)"


# ---------------------------------------------------------------------------
# dataset push --predictions refuses what snapshot --predictions refuses, before sending anything


@pytest.fixture
def both(ls_server, tmp_path, monkeypatch):  # noqa: F811
    """A repository to snapshot into and an empty project of CONFIG to push to, in one folder."""
    annover.init(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.xml").write_text(CONFIG)
    (tmp_path / "export.json").write_text(json.dumps([{"id": i + 1, "data": r} for i, r in enumerate(RECORDS)]))
    _jsonl(tmp_path / "records.jsonl", RECORDS)
    title = f"t-{uuid.uuid4().hex[:8]}-depth"
    code, out, err = cli("dataset", "create", title, "--config", "config.xml")
    assert code == 0, err
    yield title
    cli("dataset", "delete", title, "--yes")


def _tasks_in(title: str) -> tuple[int, int]:
    code, out, err = cli("dataset", "stats", title, "--json")
    assert code == 0, err
    return json.loads(out)["tasks"], json.loads(out).get("predictions", 0)


GOOD = _result("Positive")


@pytest.mark.labelstudio
@pytest.mark.parametrize("bad, said", [
    # Label Studio keeps these as their Python text: "{'name': 'x'}", "True", "['m', 2]"
    ({"model_version": {"name": "x"}}, "field model_version: is dict {'name': 'x'}, expected text"),
    ({"model_version": True}, "field model_version: is bool True, expected text"),
    ({"model_version": ["m", 2]}, "field model_version: is list ['m', 2], expected text"),
    # Label Studio answers 201 and drops these ("Prediction validation failed" in its log)
    ({"result": [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": 3}]},
     "result 0.value: is a number '3', expected an object"),
    ({"result": ["Positive"]}, "result 0: result item is text 'Positive', expected an object"),
    ({"result": [{"to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]},
     "result 0, field from_name: is missing or empty"),
    # push leaves it out; a snapshot refuses the file
    ({"created_at": 5}, "field created_at: is int 5, expected a date-time as text"),
])
def test_push_refuses_a_prediction_a_snapshot_refuses(both, bad, said):
    """Line 3 (after a blank line) is the bad one; push said nothing and sent it (exit 0), under
    --no-validate too. Both commands now give the same error (each names the file as it always
    has: snapshot "--predictions FILE"), exit 3, and push sends nothing."""
    _jsonl(Path("preds.jsonl"), [{"task_key": "r-001", "model_version": "m1", "result": GOOD}, None,
                                 {"task_key": "r-002", "model_version": "m1", "result": GOOD, **bad}])
    code, out, snap_err = cli("snapshot", "--from", "export.json", "--config", "config.xml", "--key", "data.ext_id",
                              "--no-validate", "--predictions", "preds.jsonl", "-m", "m")
    assert (code, out) == (3, ""), snap_err
    assert snap_err.startswith(f"Error: --predictions preds.jsonl: line 3 (key r-002), {said}"), snap_err
    for validate in ([], ["--no-validate"]):
        code, out, err = cli("dataset", "push", both, "--from", "records.jsonl", "--key", "data.ext_id",
                             "--predictions", "preds.jsonl", *validate)
        assert (code, out) == (3, ""), err
        assert err == snap_err.replace("Error: --predictions ", "Error: ", 1), err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert _tasks_in(both)[0] == 0


@pytest.mark.labelstudio
def test_push_sends_a_model_version_given_as_a_number(both):
    """What a snapshot takes (a number as model_version: its text) push still sends."""
    _jsonl(Path("preds.jsonl"), [{"task_key": "r-001", "model_version": 2, "result": GOOD}])
    code, out, err = cli("dataset", "push", both, "--from", "records.jsonl", "--key", "data.ext_id",
                         "--predictions", "preds.jsonl")
    assert code == 0, err
    assert "sent 1 prediction(s)" in err, err
    assert _tasks_in(both)[0] == 2
