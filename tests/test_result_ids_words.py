"""A classification project's words and ids: the unnamed annotator and "results" in show,
diff and agreement; a result id that carries no meaning (a Label Studio CSV export has none)
is no change, while two regions' own ids stay compared. Read from the shared corpus's
sentiment export and the CSV Label Studio's exporter made of it (MANIFEST: derived from
fe_sentiment_two_annotators.json)."""

from __future__ import annotations

import copy
import csv
import functools
import json
from contextlib import nullcontext
from unittest import mock

import pytest
from click.testing import CliRunner

import annover
from annover.cli import run
from annover.diffing import Side, diff_tables
from annover.diffing.sources import Source
from annover.formats.ingest import from_ls_tasks
from annover.formats.read import read_source
from annover.model.config import LabelingConfig
from tests.conftest import shared_corpus

LS = shared_corpus("label-studio")
JSON, CSV, XML = (LS / f"{n}" for n in ("fe_sentiment_two_annotators.json", "derived_csv_sentiment.csv",
                                        "fe_sentiment_two_annotators.xml"))
corpus = pytest.mark.skipif(not CSV.exists(), reason="the shared corpus is not on this machine")
#: the diff's paths: tables in memory, parts with stored task hashes, DuckDB's join of rows read as files
PATHS = {"in memory": ({}, None), "stored hashes": ({"stored_hashes": True}, None),
         "DuckDB": ({}, (Source, "in_memory", lambda self: None))}


@functools.lru_cache(maxsize=None)
def _side(path) -> Side:
    text = XML.read_text(encoding="utf-8")
    t = read_source(path, config=LabelingConfig(text))
    return Side(t.tasks, t.annotations, {}, config=text)


def _diffs(a: Side, b: Side):
    for path, (kw, patch) in PATHS.items():
        with mock.patch.object(*patch) if patch else nullcontext():
            yield path, diff_tables(a, b, **kw)


@corpus
def test_the_csv_export_of_a_json_export_is_no_change():
    a, b = _side(JSON), _side(CSV)
    for path, d in _diffs(a, b):
        assert d.identical, (path, d.summary["annotations"], d.summary["regions"])


@corpus
def test_a_label_changed_in_the_csv_is_one_relabel(tmp_path):
    lines = CSV.read_text(encoding="utf-8").splitlines(keepends=True)  # one record a line in this export
    at = next(csv.reader(lines[:1])).index("id")
    (i,) = [i for i, line in enumerate(lines[1:], 1) if next(csv.reader([line]))[at] == "2"]
    was = next(csv.DictReader(lines[:1] + lines[i:i + 1]))["sentiment"]
    assert lines[i].count(f'"{was}"') == 1
    lines[i] = lines[i].replace(f'"{was}"', '"Positive"')
    (tmp_path / "relabeled.csv").write_text("".join(lines), encoding="utf-8")
    a, b = _side(JSON), _side(tmp_path / "relabeled.csv")
    for path, d in _diffs(a, b):
        s = d.summary
        assert (s["annotations"]["changed"], s["regions"]["changed"], s["tasks"]["with_annotation_changes"]) \
            == (1, 1, 1), path
        assert [(r["control"], r["from"], r["to"], r["count"]) for r in s["relabels"]] \
            == [("sentiment", was, "Positive", 1)], path


def _box_task(box_id: str | None, choice_id: str | None) -> list[dict]:
    box = {"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 100,
           "original_height": 100, "value": {"x": 10, "y": 10, "width": 20, "height": 30, "rotation": 0,
                                             "rectanglelabels": ["Cat"]}}
    choice = {"from_name": "kind", "to_name": "image", "type": "choices", "value": {"choices": ["Indoor"]}}
    for r, rid in ((box, box_id), (choice, choice_id)):
        if rid is not None:
            r["id"] = rid
    return [{"id": 1, "data": {"image": "a.jpg"},
             "annotations": [{"id": 10, "completed_by": {"email": "a@x"}, "result": [box, choice]}]}]


BOX_XML = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="Cat"/></RectangleLabels>
<Choices name="kind" toName="image"><Choice value="Indoor"/></Choices></View>"""


def _box_side(tasks: list[dict]) -> Side:
    t = from_ls_tasks(copy.deepcopy(tasks), "boxes", validate=False)
    return Side(t.tasks, t.annotations, {}, config=BOX_XML)


def test_a_box_drawn_again_keeps_its_id_change_a_choice_or_an_id_less_export_does_not():
    a = _box_side(_box_task("r1", "c1"))
    for path, d in _diffs(a, _box_side(_box_task("r2", "c2"))):  # new ids of both: the box's is said
        assert (d.summary["regions"]["changed"], d.summary["annotations"]["changed"]) == (1, 1), path
        (row,) = d.rows.to_pylist()
        assert (row["from_name"], row["description"]) == ("label", "region id changed"), path
    for path, d in _diffs(a, _box_side(_box_task(None, None))):  # the same export without ids
        assert d.identical, path


@corpus
def test_show_diff_and_agreement_say_unnamed_and_results(tmp_path, monkeypatch):
    repo = annover.init(tmp_path / "r")
    repo.snapshot(str(JSON), config=str(XML), message="json")
    repo.snapshot(str(CSV), message="csv")
    monkeypatch.chdir(tmp_path / "r")

    def out(*args: str) -> str:
        with CliRunner().isolation() as (o, e, _):
            code = run(list(args))
        assert code == 0, e.getvalue().decode()
        return o.getvalue().decode()

    answers = [a for t in json.loads(JSON.read_text(encoding="utf-8")) for a in t["annotations"]]
    unnamed = sum(1 for a in answers if a.get("completed_by") is None)
    (named,) = {str(a["completed_by"]) for a in answers if a.get("completed_by") is not None}  # a user id
    results = sum(len(a["result"]) for a in answers)
    show = out("show", "v1")
    assert f"Annotators:  (unnamed) {unnamed}, {named} {len(answers) - unnamed}" in show, show
    assert f"(0 skipped), {results} results" in show and "regions" not in show, show
    assert "no differences" in out("diff", "v1", "v2")
    assert f"Cohen's kappa (unnamed) / {named}" in out("agreement", "v1")
    dry = out("snapshot", "--from", str(JSON), "-n")  # the JSON again: the results ids CSV lacked, no change
    assert "no differences" in dry and "Regions" not in dry, dry
    (tmp_path / "empty.json").write_text("[]")
    dry = out("snapshot", "--from", str(tmp_path / "empty.json"), "--allow-empty", "-n")
    assert f"Results:      {results} -> 0" in dry and "Regions" not in dry, dry
    report = repo.report("v2", tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert f"<b>{results}</b><span>results</span>" in page and "<span>regions</span>" not in page, report
