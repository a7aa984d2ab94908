"""`annover snapshot --predictions FILE` alone: a model run over HEAD's tasks, recorded as a version.

The labeling loop runs a new model over the tasks of the current version and wants a version of its
predictions (to `eval` them, `sample` by uncertainty, push them as pre-annotations). That was exit 2
("give exactly one of --from FILE and --label-studio DATASET"); the way round was an export of HEAD
snapshotted again with `--predictions`. Real git, real DVC; the files are the sample dataset's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import annover
from annover.errors import InputError, NotFoundError, UsageError

from .conftest import EXAMPLES
from .test_cli import invoke

ROUND1, CONFIG = EXAMPLES / "round1.json", EXAMPLES / "labeling.xml"


def _keys() -> list[str]:
    return [t["data"]["ext_id"] for t in json.loads(ROUND1.read_text())]


def _preds(path: Path, model: str, label_of: dict[str, str]) -> str:
    """A JSONL file of one ``sentiment`` prediction of ``model`` per task key of ``label_of``."""
    rows = [{"task_key": k, "model_version": model, "score": 0.7, "result": [
        {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [c]}}]}
        for k, c in label_of.items()]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _ids(repo: annover.Repo, rev: str) -> dict:
    """Each table's snapshot id (predictions: each model version's): the version's content."""
    return {name: t["id"] if "id" in t else {mv: x["id"] for mv, x in t.items()}
            for name, t in repo.show(rev).record["tables"].items()}


def _labels(repo: annover.Repo, rev: str, model: str) -> dict[str, list]:
    t = repo.load(rev, "predictions", model_version=model).select(["task_key", "labels"])
    return dict(zip(t.column("task_key").to_pylist(), t.column("labels").to_pylist()))


def test_predictions_alone_make_head_with_the_model_added(repo, tmp_path):
    with pytest.raises(UsageError, match="no version yet"):
        repo.snapshot(predictions=_preds(tmp_path / "early.jsonl", "m", {"rev-000": "positive"}))
    v1 = repo.snapshot(str(ROUND1), config=str(CONFIG), key="data.ext_id", message="round 1").version
    keys = _keys()
    first = {k: "negative" for k in keys[:15]} | {"not-a-task": "positive"}  # most are HEAD's: one is left out
    res = repo.snapshot(predictions=_preds(tmp_path / "v3.jsonl", "model-v3", first), message="model v3")
    assert res.changed and res.tag == "v2"
    assert [w for w in res.warnings if "left out" in w and "line 16 (key not-a-task)" in w], res.warnings
    v2 = res.version
    assert {k: _ids(repo, "v2")[k] for k in ("tasks", "annotations")} == \
        {k: _ids(repo, "v1")[k] for k in ("tasks", "annotations")}
    assert v2.config_ref == v1.config_ref and v2.model_versions == ["model-v3"]
    assert v2.record["origin"]["kind"] == "predictions" and v2.record["origin"]["path"] == "v3.jsonl"
    assert set(_labels(repo, "v2", "model-v3")) == set(keys[:15])
    assert "sentiment" in repo.eval("v2", model="model-v3").controls
    d = repo.diff("v1", "v2").summary
    assert d["predictions"]["model_versions_added"] == ["model-v3"]
    assert d["predictions"]["model_versions"]["model-v3"]["predictions"]["added"] == 15

    # the ids are the content's: round 1 read with the same predictions in a fresh repository gives them all
    other = annover.init(tmp_path / "other")
    fresh = other.snapshot(str(ROUND1), config=str(CONFIG), key="data.ext_id",
                           predictions=str(tmp_path / "v3.jsonl"), message="at once")
    assert _ids(other, fresh.version.id) == _ids(repo, "v2")
    assert not repo.snapshot(predictions=str(tmp_path / "v3.jsonl"), dry_run=True).changed

    # as --update: a model's predictions of the tasks given replace HEAD's of that model, the others kept
    again = {k: "neutral" for k in keys[:2]}
    later = repo.snapshot(predictions=_preds(tmp_path / "again.jsonl", "model-v3", again), message="re-run")
    repo.snapshot(predictions=_preds(tmp_path / "v4.jsonl", "model-v4", {keys[0]: "positive"}), message="v4")
    assert later.version.model_versions == ["model-v3"]
    assert _labels(repo, "v4", "model-v3") == {**_labels(repo, "v2", "model-v3"), **{k: ["neutral"] for k in again}}
    assert repo.show("v4").model_versions == ["model-v3", "model-v4"]


def test_predictions_mostly_for_tasks_head_lacks_are_refused(repo, tmp_path):
    """Keyed another way than HEAD (or of other data): one line naming the first such record, exit 3, nothing
    written; options that only a read of tasks takes are a usage error."""
    repo.snapshot(str(ROUND1), config=str(CONFIG), key="data.ext_id", message="round 1")
    head = repo.head()
    keys = _keys()
    wrong = {k: "positive" for k in keys[:2]} | {f"x-{k}": "positive" for k in keys[2:5]}
    code, out, err = invoke("snapshot", "--predictions", _preds(tmp_path / "wrong.jsonl", "m", wrong), "-m", "x")
    assert code == InputError.exit_code and not out, err
    assert len(err.strip().splitlines()) <= 2 and "3 of the 5 tasks" in err and "line 3 (key x-rev-002)" in err, err
    code, _, err = invoke("snapshot", "--predictions", str(tmp_path / "wrong.jsonl"), "--config", str(CONFIG))
    assert code == UsageError.exit_code and "--config goes with --from FILE" in err, err
    code, out, err = invoke("snapshot", "--predictions", str(tmp_path / "missing.jsonl"), "-m", "x")
    assert code == NotFoundError.exit_code and not out and "Traceback" not in err, err  # was: "a bug in annover"
    assert len(err.strip().splitlines()) == 1 and "missing.jsonl: no such file (--predictions)" in err, err
    assert repo.head() == head
