"""A labeling team's first week with a live Label Studio: what the trial found wrong.

A project renamed in Label Studio: the hint of a name that no longer exists says "name it so, or by
its id"; after following it, the commands read the repository's record of the project (found by its
id on that server) as before the rename, rather than as if the dataset had none. A folder of new texts
pushed to a dataset keyed by a field; the warnings of an incremental pull.
"""

from __future__ import annotations

import json
import uuid

import pytest

from .conftest import git
from .ls_fixtures import TEXT_CONFIG, choice, cli, ls_server, sdk_admin  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio


def _records(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def _created(repo, name: str) -> tuple[str, int]:
    """A dataset of TEXT_CONFIG made with `dataset create` in ``repo``: (its title, its project id)."""
    title = f"t-{uuid.uuid4().hex[:8]}-{name}"
    (repo.root / "labeling.xml").write_text(TEXT_CONFIG)
    code, out, err = cli("dataset", "create", title, "--config", "labeling.xml")
    assert code == 0, err
    return title, int(out.strip().splitlines()[-1])


def _pushed_with_predictions(repo, title: str, n: int) -> None:
    """Tasks r0..r{n-1} pushed to ``title`` keyed by data.id, with model m1's 'neutral' for r0 and r1."""
    (repo.root / "t.jsonl").write_text(_records([{"id": f"r{i}", "text": f"t{i}"} for i in range(n)]))
    (repo.root / "p.jsonl").write_text(_records([{"task_key": f"r{i}", "model_version": "m1", "score": 0.5,
                                                  "result": choice("neutral")} for i in range(2)]))
    code, _, err = cli("dataset", "push", title, "--from", "t.jsonl", "--key", "data.id", "--predictions", "p.jsonl")
    assert code == 0, err


def test_a_renamed_project_keeps_its_record(ls_server, repo, sdk_admin):  # noqa: F811
    """`dataset push --key data.id` records the key; the project is renamed in Label Studio. A push by its
    new title (or id) keyed the tasks by their data's hash: a record whose text was fixed was sent again as a
    new task. The first snapshot keyed by the hash too, and `dataset delete` by the new title left the old
    record behind. The record is the project's, found by its id: all three read it, and delete removes it."""
    title, pid = _created(repo, "week")
    renamed = title + " (week 1)"
    record = repo.root / ".annover" / "datasets" / f"{title}.json"
    try:
        rows = [{"id": "r1", "text": "good"}, {"id": "r2", "text": "bda"}]
        (repo.root / "day1.jsonl").write_text(_records(rows))
        code, _, err = cli("dataset", "push", title, "--from", "day1.jsonl", "--key", "data.id")
        assert code == 0, err
        sdk_admin.projects.update(id=pid, title=renamed)
        rows[1]["text"] = "bad"  # a typo fixed in the source
        (repo.root / "day2.jsonl").write_text(_records(rows))
        for name in (renamed, str(pid)):
            code, out, err = cli("dataset", "push", name, "--from", "day2.jsonl", "--json")
            assert code == 0, err
            got = json.loads(out)
            assert (got["key"], got["sent"], got["already"]) == ("data.id", 0, 2), got
            assert any(".annover/datasets/" in n for n in got["notes"]), got["notes"]
        code, _, err = cli("dataset", "create", renamed, "--config", "labeling.xml")  # the record moves, key kept
        assert code == 0, err
        moved = record.parent / f"{title}-week-1.json"
        assert not record.exists() and json.loads(moved.read_text())["key"] == "data.id"
        assert f"its record moved from .annover/datasets/{title}.json" in git("log", "-1", "--format=%s", cwd=repo.root)
        code, out, err = cli("snapshot", "--label-studio", renamed, "-m", "day 1", "--json")
        assert code == 0, err
        assert any("reading with --key data.id" in n for n in json.loads(out)["notes"]), out
        assert sorted(t["task_key"] for t in repo.load("HEAD", table="tasks").to_pylist()) == ["r1", "r2"]
    finally:
        code, _, err = cli("dataset", "delete", renamed, "--yes")
    assert code == 0, err
    assert not list(record.parent.glob("*.json")), list(record.parent.iterdir())


def test_a_folder_pushed_to_a_dataset_keyed_by_a_field_says_where_the_key_came_from(ls_server, repo):  # noqa: F811
    """New texts arrive as a folder of .txt files, pushed to a dataset whose record remembers --key data.id.
    The error said 'choose --key data.FIELD that every task has' with no --key on the command line: the key
    comes from the record, and a folder's tasks hold only the field its files go in. It says both, nothing
    is sent, and the record keeps its key."""
    title, _ = _created(repo, "folder")
    try:
        (repo.root / "day1.jsonl").write_text(_records([{"id": "r1", "text": "good"}]))
        code, _, err = cli("dataset", "push", title, "--from", "day1.jsonl", "--key", "data.id")
        assert code == 0, err
        (repo.root / "incoming").mkdir()
        (repo.root / "incoming" / "a.txt").write_text("Ünïcödé 日本語 review\n")
        code, out, err = cli("dataset", "push", title, "--from", "incoming")
        assert code == 3 and out == "" and err.count("\n") == 1, err
        assert f"--key data.id is the key the dataset's tasks were sent with, which .annover/datasets/{title}.json " \
               "remembers" in err, err
        assert "a folder's tasks hold only the field its files go in" in err, err
        code, out, _ = cli("dataset", "stats", title, "--json")
        assert json.loads(out)["tasks"] == 1
    finally:
        code, _, err = cli("dataset", "delete", title, "--yes")
    assert code == 0, err


def test_an_incremental_pull_says_its_warnings_are_of_the_tasks_it_read(ls_server, repo, sdk_admin):  # noqa: F811
    """A label dropped from the config while two predictions still carry it: `--update-config` said nothing
    of them (Label Studio checks the answers only), and every pull then stopped with exit 4. It says so. The
    full pull (--validate warn)
    warns '2 x label ...', the next, incremental, pull '1 x' with the same source name and task places counted
    in its export of changed tasks, while the version still holds both: it read as if one was left. It names
    the tasks it read."""
    title, pid = _created(repo, "warn")
    try:
        _pushed_with_predictions(repo, title, 3)
        (repo.root / "labeling2.xml").write_text(TEXT_CONFIG.replace('<Choice value="neutral"/>', ""))
        code, _, err = cli("dataset", "create", title, "--config", "labeling2.xml", "--update-config")
        assert code == 0, err  # Label Studio checks the answers only: said, with what a pull then does
        assert "use what the new labeling config lacks: label 'neutral' of control 'sentiment' (2 predictions)" \
            in err and "stops on them (exit 4) unless given --validate warn" in err, err
        code, _, err = cli("snapshot", "--label-studio", title, "-m", "full", "--validate", "warn")
        assert code == 0 and f"Label Studio project {title!r} ({pid}): kept, not checked" in err and "2 ×" in err, err
        task = next(t for t in sdk_admin.tasks.list(project=pid) if t.data["id"] == "r0")
        sdk_admin.annotations.create(id=task.id, result=choice("pos"))
        code, _, err = cli("snapshot", "--label-studio", title, "-m", "incremental")
        assert code == 0 and "1 ×" in err, err
        assert f"Label Studio project {title!r} ({pid}), the 1 task(s) changed since the last pull: kept" in err, err
    finally:
        code, _, err = cli("dataset", "delete", title, "--yes")
    assert code == 0, err


def test_a_task_imported_twice_is_named_by_its_label_studio_ids(ls_server, repo, sdk_admin):  # noqa: F811
    """A colleague imports a record again through Label Studio's UI: the next pull stopped with 'duplicate
    task (task_key='r1')' (incremental) or 'task 0 ... task 2 has the same key' (full: places in an export),
    and a hint to change --key, while the fix is to delete the copy, which neither named. Both pulls name
    the two Label Studio task ids, the copy made last, and nothing is written."""
    title, pid = _created(repo, "twice")
    try:
        (repo.root / "t.jsonl").write_text(_records([{"id": f"r{i}", "text": f"t{i}"} for i in range(2)]))
        code, _, err = cli("dataset", "push", title, "--from", "t.jsonl", "--key", "data.id")
        assert code == 0, err
        code, _, err = cli("snapshot", "--label-studio", title, "-m", "day 1")
        assert code == 0, err
        sdk_admin.projects.import_tasks(id=pid, request=[{"data": {"id": "r1", "text": "t1, again"}}])
        ids = sorted(t.id for t in sdk_admin.tasks.list(project=pid) if t.data["id"] == "r1")
        head = git("rev-parse", "HEAD", cwd=repo.root)
        for full in ([], ["--full"]):
            code, out, err = cli("snapshot", "--label-studio", title, "-m", "day 2", *full)
            assert code == 3 and out == "" and err.count("\n") == 1, err
            assert f"tasks {ids[0]} and {ids[1]} have the same task key 'r1' (--key data.id)" in err, err
            assert f"delete the copy in Label Studio (task {ids[1]} was made last)" in err, err
        assert git("rev-parse", "HEAD", cwd=repo.root) == head
    finally:
        code, _, err = cli("dataset", "delete", title, "--yes")
    assert code == 0, err


def test_a_pull_keeps_no_relative_time_of_the_server(ls_server, repo, sdk_admin):  # noqa: F811
    """Label Studio's export says how long ago each prediction was made (``created_ago``: "0 minutes", then
    "1 minute", "2 hours"), a text of the moment of the export. Kept as provenance, it made every pull's
    predictions differ from the last pull's though nothing changed, so each new version stored its
    predictions' parts again. A pull keeps ``created_at`` (the time itself) and leaves the relative text."""
    title, _ = _created(repo, "ago")
    try:
        _pushed_with_predictions(repo, title, 2)
        code, _, err = cli("snapshot", "--label-studio", title, "-m", "pulled")
        assert code == 0, err
        preds = repo.load("HEAD", table="predictions").to_pylist()
        assert len(preds) == 2 and all(p["created_at"] for p in preds), preds
        kept = [p["ls_original"] for p in preds if p.get("ls_original")]  # what the export gives back
        assert kept and not [o for o in kept if "created_ago" in o], kept
    finally:
        code, _, err = cli("dataset", "delete", title, "--yes")
    assert code == 0, err
