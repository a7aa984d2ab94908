"""Features of annotation files written by other people (found in public repositories: Label Studio's
own test samples, CVAT/datumaro and Roboflow exports, NER corpora), each reproduced by a small input
written here: what such a file made annover do (a crash, a refusal of a valid file, an unclear
message), and what it does now. The files themselves are not copied (docs/inputs.md says what reads).
"""

from __future__ import annotations

import json

import annover

from .ls_fixtures import cli


def _snapshot(tmp_path, monkeypatch, src, *args: str) -> tuple[int, str, str]:
    """``annover snapshot --from src`` in a fresh repository (the cwd): (exit code, stdout, stderr)."""
    annover.init(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    return cli("snapshot", "--from", str(src), "-m", "wild", *args)


def test_json_min_export_of_a_task_with_no_answer(tmp_path, monkeypatch):
    """Label Studio's own sample ``text_with_2_predictions.json`` (a task of predictions only), or any
    task with no ``annotations`` key read without a config: ``export --format json-min`` stopped with
    'unexpected KeyError: annotations' (exit 1). It writes one record per answer, none for such a task."""
    tasks = [{"data": {"text": "only predicted"},
              "predictions": [{"model_version": "m1", "result": [
                  {"from_name": "c", "to_name": "text", "type": "choices", "value": {"choices": ["x"]}}]}]},
             {"data": {"text": "not labeled"}},
             {"data": {"text": "answered"}, "annotations": [{"result": [
                 {"from_name": "c", "to_name": "text", "type": "choices", "value": {"choices": ["y"]}}]}]}]
    (tmp_path / "in.json").write_text(json.dumps(tasks))
    code, _, err = _snapshot(tmp_path, monkeypatch, tmp_path / "in.json")
    assert code == 0, err
    code, _, err = cli("export", "HEAD", "--format", "json-min", "--out", str(tmp_path / "min.json"))
    assert code == 0, err
    records = json.loads((tmp_path / "min.json").read_text())
    answered = [t for t in tasks if t.get("annotations")]
    assert [r["text"] for r in records] == [t["data"]["text"] for t in answered]
    assert [r["c"] for r in records] == [t["annotations"][0]["result"][0]["value"]["choices"][0] for t in answered]
