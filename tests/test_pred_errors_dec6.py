"""Errors about a predictions file name the record a user can find in it (Dec 6 audit).

``snapshot --predictions FILE`` and ``dataset push --predictions FILE`` named a wrong prediction
by the task it was grouped under ("task 1 (key 8de56c97301fa8b5), prediction 0"): its place
among the distinct task keys, and, without --key, a hash of the task data, neither of which is
in the file. Errors now say the record's place in the file (line N of a JSONL file, record I of
a JSON list), its key, and the field: ``preds.jsonl: line 4 (key r-001), result 0, field value``.

The HTML report (``annover report``) did not show what ``eval`` leaves out of a control's
figures (``not scored: 2 task(s) predicted, not labeled``); it shows it under the figures' heading.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

import annover
from annover.errors import InputError
from annover.formats.predictions import read_predictions

from .conftest import shared_corpus
from .ls_fixtures import cli, ls_server  # noqa: F401 - fixtures

CORPUS = shared_corpus("label-studio")
SENTIMENT = CORPUS / "fe_sentiment_two_annotators.json"  # 3 reviews, to_name my_text, no unique data field
corpus = pytest.mark.skipif(not SENTIMENT.is_file(), reason=f"the shared corpus is not here ({CORPUS})")

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
  </Choices>
</View>
"""
RECORDS = [{"ext_id": "r-001", "text": "great"}, {"ext_id": "r-002", "text": "awful"}]


def _result(label: str, to_name: str = "text") -> list[dict]:
    return [{"from_name": "sentiment", "to_name": to_name, "type": "choices", "value": {"choices": [label]}}]


def _pred(ext_id: str, label: str, **kw) -> dict:
    text = next(r["text"] for r in RECORDS if r["ext_id"] == ext_id)
    return {"data": {"ext_id": ext_id, "text": text}, "model_version": "m1", "score": 0.9,
            "result": _result(label), **kw}


def _jsonl(path: Path, lines: list) -> Path:
    """A JSONL file of ``lines`` (None: a blank line, as editors and ``cat a b`` leave them)."""
    path.write_text("".join("\n" if x is None else json.dumps(x) + "\n" for x in lines))
    return path


@pytest.fixture()
def repo(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "repo"
    annover.init(root)
    (root / "config.xml").write_text(CONFIG)
    (root / "export.json").write_text(json.dumps([{"id": i + 1, "data": r} for i, r in enumerate(RECORDS)]))
    monkeypatch.chdir(root)
    return root


def _versions(root: Path) -> list[str]:
    return sorted(p.name for p in (root / ".annover" / "versions").glob("*.json"))


def _snapshot(*args: str) -> tuple[int, str, str]:
    return cli("snapshot", "--from", "export.json", "--config", "config.xml", *args, "-m", "with the model")


def _one_line(err: str) -> None:
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


# ---------------------------------------------------------------------------
# snapshot --predictions


def test_snapshot_names_the_line_and_key_of_a_label_the_config_does_not_allow(repo):
    """Two predictions for r-001 (lines 1 and 4, a blank line between): the second's label is
    not in the config. It was "task 0 (key r-001), prediction 1", the place of r-001 among the
    keys; it is line 4, the line the user opens."""
    f = _jsonl(repo / "preds.jsonl", [_pred("r-001", "Positive"), _pred("r-002", "Negative"), None,
                                      _pred("r-001", "Postive", model_version="m2")])
    code, out, err = _snapshot("--key", "data.ext_id", "--predictions", "preds.jsonl")
    assert (code, out) == (4, ""), err
    assert "label 'Postive' is not in control 'sentiment'" in err, err
    assert f"(at --predictions {f.name}: line 4 (key r-001), result 0, field value)" in err, err
    _one_line(err)
    assert _versions(repo) == []


def test_snapshot_without_key_names_the_line_beside_the_hash(repo):
    """Without --key a task's key is a hash of its data, found nowhere in the file: the line is
    said with it (it was "task 1 (key <hash>)", with no line at all)."""
    _jsonl(repo / "preds.jsonl", [_pred("r-001", "Positive"), None, _pred("r-002", "Negatve")])
    code, out, err = _snapshot("--predictions", "preds.jsonl")
    assert (code, out) == (4, ""), err
    assert "(at --predictions preds.jsonl: line 3 (key " in err and "), result 0, field value)" in err, err
    _one_line(err)
    assert _versions(repo) == []


def test_snapshot_names_the_record_of_a_json_list(repo):
    """A JSON list: the record's index in the list (records 0 and 2 are both r-002's)."""
    (repo / "preds.json").write_text(json.dumps([_pred("r-002", "Negative"), _pred("r-001", "Positive"),
                                                 {"task_key": "r-002", "model_version": "m2",
                                                  "result": _result("Neutral")}]))
    code, out, err = _snapshot("--key", "data.ext_id", "--predictions", "preds.json")
    assert (code, out) == (4, ""), err
    assert "(at --predictions preds.json: record 2 (key r-002), result 0, field value)" in err, err
    assert _versions(repo) == []


def test_snapshot_names_the_line_of_a_malformed_result(repo):
    """A result whose value is no object is malformed (exit 3), said at its line."""
    bad = _pred("r-002", "Negative")
    bad["result"][0]["value"] = 3
    _jsonl(repo / "preds.jsonl", [_pred("r-001", "Positive"), None, bad])
    code, out, err = _snapshot("--key", "data.ext_id", "--predictions", "preds.jsonl")
    assert (code, out) == (3, ""), err
    assert err.startswith("Error: --predictions preds.jsonl: line 3 (key r-002), result 0.value: is a number '3', "
                          "expected an object"), err
    _one_line(err)
    assert _versions(repo) == []


def test_snapshot_names_the_prediction_inside_a_task_record(repo):
    """A record that is a Label Studio task with a list of predictions: the line and the
    prediction's place in its list."""
    task = {"data": RECORDS[1], "predictions": [{"model_version": "m1", "result": _result("Negative")},
                                                 {"model_version": "m2", "result": _result("Bad")}]}
    _jsonl(repo / "preds.jsonl", [_pred("r-001", "Positive"), task])
    code, out, err = _snapshot("--key", "data.ext_id", "--predictions", "preds.jsonl")
    assert code == 4, err
    assert "(at --predictions preds.jsonl: line 2 (key r-002), prediction 1, result 0, field value)" in err, err


def test_snapshot_checks_the_predictions_at_its_strictness(repo):
    """A prediction's label the config lacks: under the default `check` an error whose hint
    offers `--validate warn`; under `--validate warn` that keeps it, with a warning naming
    its line (before, the predictions were checked or not, and warn was still exit 4)."""
    _jsonl(repo / "preds.jsonl", [_pred("r-001", "Postive")])
    code, out, err = _snapshot("--key", "data.ext_id", "--predictions", "preds.jsonl")
    assert code == 4 and "--validate warn (validate='warn' in Python)" in err, err
    _one_line(err)
    assert _versions(repo) == []
    code, out, err = _snapshot("--validate", "warn", "--key", "data.ext_id", "--predictions", "preds.jsonl")
    assert code == 0, err
    assert "warning:" in err and "preds.jsonl: line 1 (key r-001)" in err and "Postive" in err, err
    assert len(_versions(repo)) == 1


@corpus
def test_snapshot_of_a_corpus_export_names_the_line_of_its_prediction(repo):
    """The corpus' sentiment export, keyed by its data hash; its tasks written back as a JSONL
    predictions file (one task per line, with a prediction each), the third's label misspelt."""
    tasks = json.loads(SENTIMENT.read_text())
    labels = ["Negative", "Neutral", "Positve"]
    lines = [{"data": t["data"], "predictions": [{"model_version": "m1", "result": _result(lab, "my_text")}]}
             for t, lab in zip(tasks, labels)]
    _jsonl(repo / "preds.jsonl", lines)
    code, out, err = cli("snapshot", "--from", str(SENTIMENT), "--config", str(SENTIMENT.with_suffix(".xml")),
                         "--predictions", "preds.jsonl", "-m", "corpus")
    assert (code, out) == (4, ""), err
    assert "(at --predictions preds.jsonl: line 3 (key " in err and "), prediction 0, result 0" in err, err
    assert _versions(repo) == []


# ---------------------------------------------------------------------------
# the reader, for both commands


@pytest.mark.parametrize("record, said", [
    ({"score": "high"}, "line 3 (key r-002): score 'high' is not a number"),
    ({"result": None}, "line 3 (key r-002): no result list"),
])
def test_a_bad_prediction_record_is_named_by_its_line_and_key(tmp_path, record, said):
    f = _jsonl(tmp_path / "preds.jsonl", [_pred("r-001", "Positive"), None, {**_pred("r-002", "Negative"), **record}])
    with pytest.raises(InputError) as e:
        read_predictions(f, key="data.ext_id")
    assert str(e.value).startswith(f"{f}: {said}"), e.value
    assert e.value.exit_code == 3


def test_a_record_missing_the_key_field_is_named_by_its_line(tmp_path):
    f = _jsonl(tmp_path / "preds.jsonl", [None, _pred("r-001", "Positive"), {"data": {"text": "x"}, "result": []}])
    with pytest.raises(InputError, match=r"preds\.jsonl: line 3: the task data has no field ext_id"):
        read_predictions(f, key="data.ext_id")


# ---------------------------------------------------------------------------
# dataset push --predictions, against the real server


@pytest.fixture
def project(ls_server, tmp_path, monkeypatch):  # noqa: F811
    """A fresh project of CONFIG, empty, and the records file to push to it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.xml").write_text(CONFIG)
    title = f"t-{uuid.uuid4().hex[:8]}-preds"
    code, out, err = cli("dataset", "create", title, "--config", "config.xml")
    assert code == 0, err
    _jsonl(tmp_path / "records.jsonl", RECORDS)
    yield {"title": title, "dir": tmp_path}
    cli("dataset", "delete", title, "--yes")


def _tasks(title: str) -> int:
    code, out, err = cli("dataset", "stats", title, "--json")
    assert code == 0, err
    return json.loads(out)["tasks"]


@pytest.mark.labelstudio
def test_push_names_the_line_of_a_prediction_the_config_refuses(project):
    """It was "--predictions preds.jsonl (task r-002), region 0": no line; without --key the
    hash of the data."""
    f = _jsonl(project["dir"] / "preds.jsonl", [_pred("r-001", "Positive"), None, _pred("r-002", "Negatve")])
    for key in (["--key", "data.ext_id"], []):
        code, out, err = cli("dataset", "push", project["title"], "--from", "records.jsonl", *key,
                             "--predictions", str(f))
        assert (code, out) == (4, ""), err
        assert err.startswith(f"Error: {f}: line 3 (key {'r-002' if key else ''}"), err
        assert "region 0 (sentiment)" in err and "Negatve" in err, err
        _one_line(err)
    assert _tasks(project["title"]) == 0


@pytest.mark.labelstudio
def test_push_names_the_line_of_a_prediction_for_no_task(project):
    """A predictions file of no task pushed nor in the project: the error gave only its key
    ("e.g. '161a0da4b2a7d7e9'" without --key); it names the first such record's line. (A file
    of which some predictions match is sent, the others left out: tests/test_loop_week_fixes.py.)"""
    other = {"data": {"ext_id": "r-009", "text": "not sent"}, "model_version": "m1", "result": _result("Positive")}
    f = _jsonl(project["dir"] / "preds.jsonl", [None, other])
    code, out, err = cli("dataset", "push", project["title"], "--from", "records.jsonl", "--predictions", str(f))
    assert (code, out) == (3, ""), err
    assert err.startswith(f"Error: {f}: line 2 (key "), err
    assert "no task of --predictions" in err and "is in records.jsonl or in the project" in err, err
    _one_line(err)
    code, out, err = cli("dataset", "push", project["title"], "--from", "records.jsonl", "--key", "data.ext_id",
                         "--predictions", str(f))
    assert code == 3 and err.startswith(f"Error: {f}: line 2 (key r-009): no task of"), err
    assert "predictions are matched to tasks by data.ext_id" in err, err
    assert _tasks(project["title"]) == 0


# ---------------------------------------------------------------------------
# the HTML report shows what eval left out of its figures


BOXES = CORPUS / "evalme_bbox_multi.json"  # 5 highway images, each with 3 answers and the model's boxes


def _report_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tasks: list, config: Path, *key: str) -> str:
    root = tmp_path / "repo"
    annover.init(root)
    monkeypatch.chdir(root)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    code, _, err = cli("snapshot", "--from", str(export), "--config", str(config), *key, "-m", "round 1")
    assert code == 0, err
    code, _, err = cli("report", "v1", "--out", str(tmp_path / "report.html"))
    assert code == 0, err
    return (tmp_path / "report.html").read_text()


def _models_section(page_html: str) -> str:
    return page_html.split(">Model vs labels</h2>", 1)[1].split("<h2", 1)[0]


@pytest.mark.skipif(not BOXES.is_file(), reason=f"the shared corpus is not here ({CORPUS})")
def test_report_says_the_region_tasks_predicted_and_not_labeled(tmp_path, monkeypatch):
    """The corpus' boxes with the answers of 2 images taken away: eval scores 3 images and says
    "not scored: 2 task(s) predicted, not labeled"; the report gave the 3 and not the 2."""
    tasks = json.loads(BOXES.read_text())
    for t in tasks[3:]:
        t["annotations"] = []
    models = _models_section(_report_of(tmp_path, monkeypatch, tasks, BOXES.with_suffix(".xml")))
    head = "<h4>label: matched regions on 3 task(s)</h4>"
    assert head + '<p class="muted not-scored">not scored: 2 task(s) predicted, not labeled</p><table' in models, models
    _in_chromium(tmp_path / "report.html", "label: matched regions on 3 task(s)",
                 "not scored: 2 task(s) predicted, not labeled")


def test_report_says_the_classification_tasks_left_out(tmp_path, monkeypatch):
    """5 reviews: r0, r1 labeled and predicted, r2 labeled only, r3 and r4 predicted only."""
    (tmp_path / "config.xml").write_text(CONFIG)
    plan = [("Positive", "Positive"), ("Negative", "Positive"), ("Positive", None), (None, "Negative"),
            (None, "Negative")]
    tasks = [{"id": i + 1, "data": {"ext_id": f"r{i}", "text": f"review {i}"},
              "annotations": [{"id": i + 1, "completed_by": {"email": "a@example.com"}, "result": _result(lab)}]
              if lab else [],
              "predictions": [{"model_version": "m1", "score": 0.7, "result": _result(pred)}] if pred else []}
             for i, (lab, pred) in enumerate(plan)]
    models = _models_section(_report_of(tmp_path, monkeypatch, tasks, tmp_path / "config.xml", "--key", "data.ext_id"))
    assert ("sentiment: accuracy 0.500 on 2 task(s), macro F1 0.333</h4><p class=\"muted not-scored\">not scored: 1 "
            "task(s) labeled, not predicted; 2 task(s) predicted, not labeled</p>") in models, models
    _in_chromium(tmp_path / "report.html", "sentiment: accuracy 0.500 on 2 task(s), macro F1 0.333",
                 "not scored: 1 task(s) labeled, not predicted; 2 task(s) predicted, not labeled")


def _in_chromium(page: Path, heading: str, text: str) -> None:
    """In a real Chromium, ``text`` is shown (visible, laid out) right under the figures' ``heading``."""
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("needs Chromium: apt-get install chromium")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            tab = browser.new_page(viewport={"width": 1200, "height": 2000})
            tab.goto(page.as_uri())
            tab.wait_for_load_state("load")
            line = tab.locator(".not-scored")
            assert line.count() == 1 and line.is_visible() and line.inner_text() == text
            head = tab.locator("h4", has_text=heading)
            assert head.inner_text() == heading
            below, above = line.bounding_box(), head.bounding_box()
            assert below and above and below["height"] > 0 and 0 <= below["y"] - (above["y"] + above["height"]) < 20
        finally:
            browser.close()


def test_predictions_of_no_task_in_the_data_are_named_by_their_line(repo):
    """Predictions keyed by a task the data lacks: the error (none match) and the warning (some
    do not) name the first such record's line and key, not only a key (a hash of the data
    without --key) the user cannot find in the file."""
    stray = {"task_key": "r-009", "model_version": "m1", "result": _result("Positive")}
    _jsonl(repo / "preds.jsonl", [None, stray])
    code, out, err = _snapshot("--key", "data.ext_id", "--predictions", "preds.jsonl")
    assert code == 3 and "none of its 1 predictions is for a task in the data (e.g. line 2 (key r-009))" in err, err
    _one_line(err)
    assert _versions(repo) == []
    _jsonl(repo / "preds.jsonl", [_pred("r-001", "Positive"), None, stray])
    code, out, err = _snapshot("--key", "data.ext_id", "--predictions", "preds.jsonl")
    assert code == 0, err
    assert "1 prediction(s) of 1 task(s) not in the data were left out (e.g. line 3 (key r-009))" in err, err
