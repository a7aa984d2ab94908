"""Counts as git says them: "1 task", "2 tasks". `snapshot`, `log` and `show` said "1 tasks", "1 annotations"
and "1 regions" of a version of one task."""

from __future__ import annotations

import json

from tests.test_cli import invoke


def _one_task(repo) -> None:
    tasks = json.loads((repo.root / "round1.json").read_text())[:1]
    (repo.root / "one.json").write_text(json.dumps(tasks))
    preds = [{"task_key": tasks[0]["data"]["ext_id"], "model_version": "m1", "score": 0.9,
              "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                          "value": {"choices": ["positive"]}}]}]
    (repo.root / "p.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds))


def test_one_task_one_answer_one_prediction_are_said_in_the_singular(repo):
    _one_task(repo)
    code, _, err = invoke("snapshot", "--from", "one.json", "--config", "labeling.xml", "--key", "data.ext_id",
                          "--predictions", "p.jsonl", "-m", "one")
    assert code == 0, err
    stats = repo.show("HEAD").stats
    assert (stats["tasks"], stats["annotations"]) == (1, 1), stats
    assert " 1 task, " in err and " 1 annotation" in err and "1 tasks" not in err, err
    code, out, err = invoke("log")
    assert code == 0 and "Stats:   1 task, " in out and " 1 annotation, " in out, out
    code, out, err = invoke("show")
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("Predictions of model"))
    assert line.endswith((": 1 task, 1 result", ": 1 task, 1 region")), line


def test_two_tasks_are_plural(repo):
    code, _, err = invoke("snapshot", "--from", "round1.json", "--config", "labeling.xml", "--key", "data.ext_id",
                          "-m", "all")
    n = repo.show("HEAD").stats["tasks"]
    assert code == 0 and n > 1 and f" {n} tasks, " in err, err
