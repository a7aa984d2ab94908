"""An answer with two choices of a ``choice="single"`` control (Label Studio's interface cannot make one,
its API and scripts can) is kept, as a result of a control the config lacks is, with one warning counting
them and naming the file, task, answer and control; ``--validate strict`` refuses it. Every input read
with a config: Label Studio JSON, JSON-MIN, CSV, and a live Label Studio project (the real server)."""

from __future__ import annotations

import csv
import json

import pytest

from .ls_fixtures import TEXT_CONFIG, cli, ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures

TASKS = [{"id": 1, "data": {"text": "good and bad"}, "annotations": [{"id": 11, "result": [
            {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos", "neg"]}}]}]},
         {"id": 2, "data": {"text": "fine"}, "annotations": [{"id": 12, "result": [
            {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]}]},
         {"id": 3, "data": {"text": "two items"}, "annotations": [{"id": 13, "result": [
            {"id": "a", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["neg"]}},
            {"id": "b", "from_name": "sentiment", "to_name": "text", "type": "choices",
             "value": {"choices": ["neutral"]}}]}]}]
CHOSEN = {1: ["pos", "neg"], 2: ["pos"], 3: ["neg", "neutral"]}  # each task's answer, in result order
WARNING = 'allows one choice: 2 × control \'sentiment\' (choice="single") given more than one choice'


def _write(fmt: str, root) -> str:
    if fmt == "json":
        (root / "in.json").write_text(json.dumps(TASKS))
        return "in.json"
    stamp = "2024-05-01T10:00:00.000000Z"
    records = [{"id": t["id"], "text": t["data"]["text"], "annotation_id": t["annotations"][0]["id"],
                "annotator": "a@example.org", "created_at": stamp, "updated_at": stamp, "lead_time": 2.5,
                "sentiment": {"choices": CHOSEN[t["id"]]} if len(CHOSEN[t["id"]]) > 1 else CHOSEN[t["id"]][0]}
               for t in TASKS]
    if fmt == "json-min":
        (root / "in.json").write_text(json.dumps(records))
        return "in.json"
    with open(root / "in.csv", "w", newline="") as f:  # Label Studio's CSV: a JSON object where a value is one
        w = csv.DictWriter(f, fieldnames=list(records[0]))
        w.writeheader()
        w.writerows({**r, "sentiment": json.dumps(r["sentiment"]) if isinstance(r["sentiment"], dict)
                     else r["sentiment"]} for r in records)
    return "in.csv"


def _said_once(err: str, source: str) -> None:
    (line,) = [x for x in err.splitlines() if "allows one choice" in x]
    assert line.startswith(f"warning: {source}: kept, though ") and WARNING in line, err
    assert "annotation 0 (id 11): 'pos', 'neg'" in line and "'neg', 'neutral'" in line, line
    assert "(id 12)" not in line, line


@pytest.mark.parametrize("fmt", ["json", "json-min", "csv"])
def test_two_choices_of_a_single_choice_control_in_a_file_are_kept_with_one_warning(repo, fmt):
    (repo.root / "c.xml").write_text(TEXT_CONFIG)
    src = _write(fmt, repo.root)
    code, out, err = cli("snapshot", "--from", src, "--config", "c.xml", "-m", "two choices")
    assert code == 0, err
    _said_once(err, src)
    code, out, _ = cli("export", "v1", "--format", "label-studio", "--out", "-")
    got = {t["data"]["text"]: [c for r in t["annotations"][0]["result"] for c in r["value"]["choices"]]
           for t in json.loads(out)}
    assert got == {t["data"]["text"]: CHOSEN[t["id"]] for t in TASKS}
    code, _, err = cli("snapshot", "--from", src, "--config", "c.xml", "--validate", "strict", "-m", "strict")
    assert code == 4 and err.count("\n") == 1 and WARNING.split(": ", 1)[1] in err, err


def test_two_choices_of_a_single_choice_control_in_label_studio_are_kept_with_one_warning(
        repo, ls, sdk_admin, project_factory):  # noqa: F811
    """The API takes such an answer: a pull keeps it and says so, naming the project."""
    p = project_factory("single")
    sdk_admin.projects.import_tasks(id=p.id, request=[{"data": t["data"], "annotations": [
        {"result": t["annotations"][0]["result"]}]} for t in TASKS])
    code, out, err = cli("snapshot", "--label-studio", p.title, "-m", "pulled")
    assert code == 0, err
    (line,) = [x for x in err.splitlines() if "allows one choice" in x]
    assert WARNING in line and p.title in line and "'pos', 'neg'" in line and "'neg', 'neutral'" in line, err
    code, out, _ = cli("log", "--json")
    assert code == 0 and len(json.loads(out)) == 1
