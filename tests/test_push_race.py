"""Two `annover dataset push` of the same new tasks at once, on the real Label Studio. Both list
the project before either sends, so both find the tasks missing and both send them. Was: the
project held each task twice (a warning on the next push, and `snapshot --label-studio` stopped
on the duplicate keys until someone deleted the copies by hand). Now the push that finds another
push's copies older than its own deletes its own: each task is there once.

The other push is made by the test through the SDK, at the moment this push starts sending (its
progress callback), which is where a real race puts it."""

from __future__ import annotations

import json

from annover.labelstudio import Datasets

from .ls_fixtures import ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures


def _records(tmp_path, n: int) -> tuple[list[dict], str]:
    records = [{"id": f"t{i}", "text": f"review number {i}"} for i in range(n)]
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return records, str(path)


def _project_keys(sdk_admin, pid: int) -> dict[int, str]:
    return {t.id: t.data["id"] for t in sdk_admin.tasks.list(project=pid, fields="task_only")}


def test_a_push_racing_another_deletes_its_own_copies(ls, project_factory, sdk_admin, tmp_path):
    project = project_factory("race")
    records, path = _records(tmp_path, 6)
    raced = records[1:5]  # the other push sends some of the same tasks, first
    other: list[int] = []

    def other_push(stage: str, done: int, total: int) -> None:
        if stage == "sending tasks" and done == 0 and not other:
            sent = sdk_admin.projects.import_tasks(id=project.id, request=[{"data": r} for r in raced],
                                                   return_task_ids=True)
            other.extend(sent.task_ids)

    result = Datasets(ls).push(project.id, path, key="data.id", progress=other_push)
    held = _project_keys(sdk_admin, project.id)
    assert sorted(held.values()) == sorted(r["id"] for r in records), held  # each task once
    assert set(other) <= set(held) and len(other) == len(raced)  # the older copies are the ones kept
    assert result.sent == len(records) - len(raced) and result.already == len(raced), result
    assert set(result.task_ids) <= set(held) and len(result.task_ids) == result.sent, result
    assert any(f"{len(raced)} task(s) were sent at the same time by another push" in w for w in result.warnings), \
        result.warnings
    again = Datasets(ls).push(project.id, path, key="data.id")  # and the next push finds nothing twice
    assert again.sent == 0 and not any("task key" in w for w in again.warnings), again.warnings


def test_a_push_with_no_one_else_at_work_deletes_nothing(ls, project_factory, sdk_admin, tmp_path):
    """Tasks added by someone else during the push with keys of their own are not doubles."""
    project = project_factory("norace")
    records, path = _records(tmp_path, 4)

    def someone_else(stage: str, done: int, total: int) -> None:
        if stage == "sending tasks" and done == 0:
            sdk_admin.projects.import_tasks(id=project.id, request=[{"data": {"id": "x1", "text": "another"}}])

    result = Datasets(ls).push(project.id, path, key="data.id", progress=someone_else)
    held = _project_keys(sdk_admin, project.id)
    assert sorted(held.values()) == sorted([*(r["id"] for r in records), "x1"]), held
    assert result.sent == len(records) and not result.warnings, result
