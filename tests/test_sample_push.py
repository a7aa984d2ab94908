"""``annover dataset push --from-sample``: what ``annover sample`` chose, sent to a real Label Studio.

The repository is the loop's three generated rounds (tests/test_report.py), keyed by
``data.ext_id``; the project gets the repository's labeling config. Checked on the server's
own export: exactly the sampled tasks, each with the model's stored prediction; sending
again duplicates nothing; a bad sample sends nothing.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLES
from tests.ls_fixtures import cli, ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures
from tests.test_labelstudio import server_tasks
from tests.test_report import loop_repo  # noqa: F401 - the fixture

pytestmark = pytest.mark.labelstudio

CONFIG = (EXAMPLES / "labeling.xml").read_text()


def _sample(*args: str) -> dict:
    code, out, err = cli("sample", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def _stored(repo, rev: str, model: str) -> dict[str, list]:
    """task key -> the labels of ``model``'s stored predictions, read from the version."""
    out: dict[str, list] = {}
    for r in repo.load(rev, "predictions").to_pylist():
        if r["model_version"] == model:
            out.setdefault(r["task_key"], []).append(sorted(r["labels"] or []))
    return out


def _on_server(sdk, pid: int) -> dict[str, dict]:
    tasks = server_tasks(sdk, pid)
    keys = [t["data"]["ext_id"] for t in tasks]
    assert len(keys) == len(set(keys)), f"a task is in the project twice: {sorted(keys)}"
    return {t["data"]["ext_id"]: t for t in tasks}


def _labels(task: dict, model: str) -> list[list]:
    return [sorted(r["value"]["choices"]) for p in task["predictions"] if p["model_version"] == model
            for r in p["result"]]


def test_push_sends_exactly_the_sample_with_its_model_predictions(loop_repo, project_factory, sdk_admin):  # noqa: F811
    p = project_factory("sample", CONFIG)
    chosen = _sample("--strategy", "disagreement", "--n", "6", "--model", "sentiment-bert-v2", "--seed", "4")
    code, out, err = cli("dataset", "push", p.title, "--from-sample", chosen["id"], "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["sent"], doc["already"], doc["predictions"]) == (6, 0, 6)
    assert doc["sample"]["sample"] == chosen["id"] and doc["sample"]["model"] == "sentiment-bert-v2"
    got = _on_server(sdk_admin, p.id)
    assert sorted(got) == sorted(chosen["keys"])
    stored = _stored(loop_repo, "v3", "sentiment-bert-v2")
    for k, task in got.items():
        assert _labels(task, "sentiment-bert-v2") == stored[k]
        assert task["data"]["text"] == json.loads(next(r["data"] for r in loop_repo.load("v3", "tasks").to_pylist()
                                                        if r["task_key"] == k))["text"]

    # again: nothing new; then a second sample overlapping the first adds only its new tasks
    code, out, err = cli("dataset", "push", p.title, "--from-sample", chosen["id"][:6], "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["sent"], doc["already"], doc["predictions"], doc["predictions_already"]) == (0, 6, 0, 6)
    more = _sample("--strategy", "disagreement", "--n", "9", "--model", "sentiment-bert-v2", "--seed", "4")
    new = set(more["keys"]) - set(chosen["keys"])
    assert new and set(chosen["keys"]) <= set(more["keys"])
    doc = json.loads(cli("dataset", "push", p.title, "--from-sample", more["id"], "--json")[1])
    assert (doc["sent"], doc["already"]) == (len(new), 6)
    got = _on_server(sdk_admin, p.id)
    assert sorted(got) == sorted(more["keys"])
    assert all(len(t["predictions"]) == 1 for t in got.values())


def test_a_keys_file_with_its_version_and_another_model(loop_repo, project_factory, sdk_admin, tmp_path):  # noqa: F811
    p = project_factory("keys-file", CONFIG)
    keys = tmp_path / "next.txt"
    code, _, err = cli("sample", "v2", "--strategy", "random", "--n", "5", "--seed", "1", "--no-record",
                       "--out", str(keys))
    assert code == 0, err
    code, out, err = cli("dataset", "push", p.title, "--from-sample", str(keys), "--from", "v2",
                         "--predictions", "sentiment-bert-v1", "--json")
    assert code == 0, err
    got = _on_server(sdk_admin, p.id)
    assert sorted(got) == sorted(keys.read_text().split())
    stored = _stored(loop_repo, "v2", "sentiment-bert-v1")
    assert all(_labels(t, "sentiment-bert-v1") == stored.get(k, []) for k, t in got.items())
    assert json.loads(out)["predictions"] == sum(len(stored.get(k, [])) for k in got)


def test_a_bad_sample_sends_nothing(loop_repo, project_factory, sdk_admin, tmp_path):  # noqa: F811
    p = project_factory("bad-sample", CONFIG)
    chosen = _sample("--strategy", "unlabeled", "--n", "3")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**json.loads((loop_repo.dir / "samples" / f"{chosen['id']}.json").read_text()),
                                  "keys": ["rev-001", 7]}))
    cases = [(["--from-sample", "abcdef12"], 14), (["--from-sample", str(broken)], 3),
             (["--from-sample", chosen["id"], "--predictions", "no-such-model"], 2)]
    for extra, want in cases:
        code, out, err = cli("dataset", "push", p.title, *extra)
        assert code == want, (extra, err)
        assert err.startswith("Error: ") and len(err.strip().splitlines()) == 1, err
    # a model the version lacks is said of the version as given (--from), with its id; it said the whole id alone
    keys = tmp_path / "next.txt"
    keys.write_text("rev-001\n")
    v2, v3 = loop_repo.resolve("v2"), loop_repo.resolve("v3")
    for extra, named in ((["--from-sample", str(keys), "--from", "v2"], f"v2 ({v2[:12]})"),
                         (["--from-sample", chosen["id"]], v3[:12])):
        code, _, err = cli("dataset", "push", p.title, *extra, "--predictions", "no-such-model")
        assert code == 2 and err.startswith(f"Error: version {named} has no predictions of model version "
                                            "'no-such-model' — use one of: sentiment-bert-v1"), err
    assert server_tasks(sdk_admin, p.id) == []
