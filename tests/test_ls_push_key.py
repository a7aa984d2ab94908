"""A dataset keeps the task key its tasks were pushed with, as git keeps a file's path: the
live Label Studio server on loopback, a dataset made with `annover dataset create`.

Was: `dataset push --key data.id` then a second push without `--key` matched the project's
tasks by the hash of their data, so a task whose text was fixed meanwhile was sent again (two
tasks of one id); and the first `snapshot --label-studio` without `--key` keyed the tasks by
that hash, so the next edit of a task's data read as a task removed and another added."""

from __future__ import annotations

import json
import uuid

import pytest

import annover

from .ls_fixtures import cli, ls, ls_server, sdk_admin  # noqa: F401 - fixtures
from .test_labelstudio import server_tasks

pytestmark = pytest.mark.labelstudio

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
</View>
"""


@pytest.fixture
def dataset(repo, sdk_admin, tmp_path):
    """A dataset made by `annover dataset create` in the repository (cwd); deleted after."""
    title = f"push-key-{uuid.uuid4().hex[:8]}"
    (tmp_path / "cfg.xml").write_text(CONFIG)
    code, out, err = cli("dataset", "create", title, "--config", str(tmp_path / "cfg.xml"))
    assert code == 0, err
    pid = int(out.strip().splitlines()[-1])  # the project id, on stdout
    yield title, pid
    sdk_admin.projects.delete(id=pid)


def _records(path, texts: dict[str, str]) -> str:
    path.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in texts.items()))
    return str(path)


def _push(title: str, *args: str) -> tuple[dict, str]:
    code, out, err = cli("dataset", "push", title, *args, "--json")
    assert code == 0, err
    return json.loads(out), err


def test_a_push_key_is_remembered_for_the_next_push_and_the_first_snapshot(repo, dataset, sdk_admin, tmp_path):
    title, pid = dataset
    first = _records(tmp_path / "a.jsonl", {"r1": "great phone", "r2": "broke in a day"})
    r, err = _push(title, "--from", first, "--key", "data.id")
    assert (r["sent"], r["key"]) == (2, "data.id")
    assert "note: remembered --key data.id" in err
    record = json.loads((repo.dir / "datasets" / f"{title}.json").read_text())
    assert record["key"] == "data.id" and record["project_id"] == pid
    # the same tasks, one text fixed, and a new one, pushed without --key: matched by id
    second = _records(tmp_path / "b.jsonl", {"r1": "great phone!", "r2": "broke in a day", "r3": "fine"})
    r, err = _push(title, "--from", second)
    assert (r["key"], r["sent"], r["already"]) == ("data.id", 1, 2), r
    assert "tasks keyed with --key data.id, as the dataset's earlier push sent them" in err
    assert sorted(t["data"]["id"] for t in server_tasks(sdk_admin, pid)) == ["r1", "r2", "r3"]
    # the first snapshot of the dataset keys its tasks so, and says it
    code, out, err = cli("snapshot", "--label-studio", title, "-m", "round 1")
    assert code == 0, err
    assert "note: reading with --key data.id, the key `annover dataset push` sent" in err
    v = annover.Repo(repo.root).show("HEAD")
    assert v.record["origin"]["reading"]["key"] == "data.id"
    keys = annover.load("HEAD", "tasks", columns=["task_key"], repo=repo.root).column("task_key").to_pylist()
    assert sorted(keys) == ["r1", "r2", "r3"]


def test_a_key_given_wins_and_a_dry_run_remembers_nothing(repo, dataset, tmp_path):
    title, _ = dataset
    path = _records(tmp_path / "a.jsonl", {"r1": "great phone"})
    r, err = _push(title, "--from", path, "--key", "data.id", "--dry-run")
    assert r["sent"] == 1 and "note: would remember --key data.id" in err
    record = json.loads((repo.dir / "datasets" / f"{title}.json").read_text())
    assert "key" not in record
    r, _ = _push(title, "--from", path)  # no key recorded: the data's hash, as before
    assert r["key"] is None and r["notes"] == []
    # `dataset create` again (get-or-create) keeps a recorded key
    _push(title, "--from", path, "--key", "data.id")
    (tmp_path / "cfg.xml").write_text(CONFIG)
    code, _, err = cli("dataset", "create", title, "--config", str(tmp_path / "cfg.xml"))
    assert code == 0, err
    assert json.loads((repo.dir / "datasets" / f"{title}.json").read_text())["key"] == "data.id"


def test_a_push_names_dataset_create_when_its_key_set_the_key(repo, sdk_admin, tmp_path):
    """`dataset create --key data.id` then `dataset push` without --key: the note said "as the
    dataset's earlier push sent them", of a push that never was; it names the create now."""
    title = f"push-key-{uuid.uuid4().hex[:8]}"
    (tmp_path / "cfg.xml").write_text(CONFIG)
    code, out, err = cli("dataset", "create", title, "--config", str(tmp_path / "cfg.xml"), "--key", "data.id")
    assert code == 0, err
    pid = int(out.strip().splitlines()[-1])
    try:
        for name, texts in (("a", {"r1": "great phone"}), ("b", {"r1": "great phone!", "r2": "fine"})):
            r, err = _push(title, "--from", _records(tmp_path / f"{name}.jsonl", texts))
            assert r["key"] == "data.id" and r["sent"] == 1, r
            if name == "a":
                assert "note: tasks keyed with --key data.id, as `annover dataset create --key` set it for the " \
                    "dataset" in err and "earlier push" not in err, err
        assert sorted(t["data"]["id"] for t in server_tasks(sdk_admin, pid)) == ["r1", "r2"]
    finally:
        sdk_admin.projects.delete(id=pid)
