"""A dataset made again after its project was deleted keeps the task key its record remembers.

`dataset push --key data.id` remembers the key in `.annover/datasets/NAME.json`. When the project
is deleted in Label Studio (by the user, by someone else) and `annover dataset create NAME` makes it
again (what the "no longer has" hint says to do), the record was rewritten without the key: the
next push matched tasks by their data's hash (a record whose text was fixed was sent again, a
duplicate task), and the dataset's first snapshot keyed its tasks by hash, not by data.id.
"""

from __future__ import annotations

import json
import uuid

import pytest

from .conftest import git
from .ls_fixtures import cli, ls_server, sdk_admin  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio

TEMPLATE = ("--template", "text-classification", "--labels", "pos,neg")


def _records(path, texts: list[str]) -> None:
    path.write_text("".join(json.dumps({"id": f"r{i}", "uid": f"u{i}", "text": t}) + "\n" for i, t in enumerate(texts)))


def _pid(out: str) -> int:
    return int(out.strip().splitlines()[-1])


def _record(repo, title: str) -> dict:
    return json.loads((repo.root / ".annover" / "datasets" / f"{title}.json").read_text())


def _tasks(sdk_admin, pid: int) -> int:  # noqa: F811
    return sdk_admin.projects.get(id=pid).task_number


@pytest.fixture
def deleted_dataset(ls_server, repo, sdk_admin):  # noqa: F811
    """A dataset pushed with --key data.id whose project was then deleted in Label Studio; yields
    (title, a list collecting the ids of projects to delete at the end)."""
    title = f"t-{uuid.uuid4().hex[:8]}-recreate"
    made: list[int] = []
    try:
        code, out, err = cli("dataset", "create", title, *TEMPLATE)
        assert code == 0, err
        made.append(_pid(out))
        _records(repo.root / "r.jsonl", ["a", "b", "c"])
        code, _, err = cli("dataset", "push", title, "--from", "r.jsonl", "--key", "data.id")
        assert code == 0 and _record(repo, title)["key"] == "data.id", err
        sdk_admin.projects.delete(id=made[0])  # as in Label Studio's UI
        yield title, made
    finally:
        for pid in made:
            try:
                sdk_admin.projects.delete(id=pid)
            except Exception:  # noqa: BLE001 - deleted above, or by the test
                pass


def test_a_dataset_made_again_keeps_its_remembered_key(repo, sdk_admin, deleted_dataset):  # noqa: F811
    title, made = deleted_dataset
    old = made[0]
    code, out, err = cli("dataset", "create", title, *TEMPLATE, "--json")
    assert code == 0, err
    created = json.loads(out)
    pid = created["id"]
    made.append(pid)
    assert pid != old and created["created"]
    assert [n for n in created["notes"] if n.startswith("kept --key data.id")] and all(
        f"note: {n}" in err for n in created["notes"]), (created, err)
    rec = _record(repo, title)
    assert (rec["project_id"], rec["key"]) == (pid, "data.id")
    assert (f"note: kept --key data.id, which .annover/datasets/{title}.json remembered for project {old}: "
            f"pushes to project {pid}") in err, err
    assert git("log", "-1", "--format=%s", cwd=repo.root).strip() == \
        f"annover: dataset {title} keeps --key data.id (Label Studio project {pid})"

    # the next pushes match tasks by data.id: a record whose text was fixed is no new task
    code, _, err = cli("dataset", "push", title, "--from", "r.jsonl")
    assert code == 0 and "tasks keyed with --key data.id" in err, err
    _records(repo.root / "r.jsonl", ["a fixed", "b", "c"])
    code, _, err = cli("dataset", "push", title, "--from", "r.jsonl")
    assert code == 0 and "sent 0 task(s)" in err and "3 already there" in err, err
    assert _tasks(sdk_admin, pid) == 3

    # and the dataset's first snapshot keys its tasks by it
    code, _, err = cli("snapshot", "--label-studio", title, "-m", "v1")
    assert code == 0, err
    assert sorted(repo.load("v1", "tasks").column("task_key").to_pylist()) == ["r0", "r1", "r2"]

    # create again, the project there: nothing to say, nothing committed
    head = git("rev-parse", "HEAD", cwd=repo.root).strip()
    code, _, err = cli("dataset", "create", title, *TEMPLATE)
    assert code == 0 and "note:" not in err, err
    assert git("rev-parse", "HEAD", cwd=repo.root).strip() == head and _record(repo, title)["key"] == "data.id"


def test_a_key_given_to_create_is_remembered_in_place_of_the_old_one(repo, sdk_admin, deleted_dataset):  # noqa: F811
    title, made = deleted_dataset
    code, out, err = cli("dataset", "create", title, *TEMPLATE, "--key", "data.uid")
    assert code == 0, err
    pid = _pid(out)
    made.append(pid)
    assert _record(repo, title)["key"] == "data.uid"
    assert f"note: remembered --key data.uid in place of --key data.id for {title!r}" in err, err
    assert git("log", "-1", "--format=%s", cwd=repo.root).strip() == \
        f"annover: dataset {title} remembers --key data.uid (Label Studio project {pid})"
    code, _, err = cli("dataset", "push", title, "--from", "r.jsonl")
    assert code == 0 and "tasks keyed with --key data.uid" in err, err


def test_create_key_outside_a_repository_is_a_usage_error(ls_server, tmp_path, monkeypatch, sdk_admin):  # noqa: F811
    """--key is remembered by a repository's record: outside one it would be dropped silently."""
    monkeypatch.chdir(tmp_path)
    title = f"t-{uuid.uuid4().hex[:8]}-norepo"
    code, out, err = cli("dataset", "create", title, *TEMPLATE, "--key", "data.id")
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("Error: "), err
    assert "--key is remembered in the dataset's record" in err
    assert not [p for p in sdk_admin.projects.list() if p.title == title]
