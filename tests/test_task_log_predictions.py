"""``annover diff A B --task KEY`` and ``annover log --task KEY -p`` of a task whose model's
predictions arrived with it: the rows are the whole diff's rows of the task, predictions included.

The model version is in both versions (v1 predicted other tasks), so the whole diff compares its
predictions row by row; the narrowed diff read the task's rows alone, found no prediction of the
model in v1 there, took the model as added to v2 and listed none of its rows.
"""

from __future__ import annotations

import json

from tests.test_diff_cli import cli

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
</View>"""


def _task(key: str, label: str, predicted: str, model: str = "m1") -> dict:
    res = lambda v: [{"from_name": "sentiment", "to_name": "text", "type": "choices",  # noqa: E731
                      "value": {"choices": [v]}}]
    return {"data": {"id": key, "text": f"review {key}"},
            "annotations": [{"completed_by": {"email": "ann@example.com"}, "result": res(label)}],
            "predictions": [{"model_version": model, "score": 0.9, "result": res(predicted)}]}


def _snapshot(repo, tmp_path, name: str, tasks: list[dict]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(tasks))
    return repo.snapshot(str(path), config=str(tmp_path / "labeling.xml"), key="data.id", message=name).version.id


def test_a_new_tasks_predictions_are_in_its_narrowed_diff_and_log(repo, tmp_path):
    (tmp_path / "labeling.xml").write_text(CONFIG)
    v1 = _snapshot(repo, tmp_path, "round 1", [_task("a", "pos", "pos")])
    v2 = _snapshot(repo, tmp_path, "round 2", [_task("a", "pos", "pos"), _task("b", "neg", "pos"),
                                               _task("c", "neg", "neg", model="m2")])
    for key in ("b", "c"):
        whole = [r for r in repo.diff(v1, v2).rows_json(None) if r["task_key"] == key]
        assert repo.diff(v1, v2, tasks=[key]).rows_json(None) == whole
    whole_b = [r for r in repo.diff(v1, v2).rows_json(None) if r["task_key"] == "b"]
    assert [r["model_version"] for r in whole_b if r["table"] == "predictions"] == ["m1"]
    code, out, err = cli("log", "--task", "b", "-p")
    assert code == 0, err
    assert "+ b model m1 sentiment added pos" in " ".join(out.split())
    code, out, err = cli("diff", v1, v2, "--task", "b", "--rows", "--json")
    assert code == 0, err
    assert json.loads(out)["rows"]["items"] == whole_b
