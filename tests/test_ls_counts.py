"""``dataset list`` / ``dataset stats`` count labeled tasks from the annotations themselves.

Label Studio keeps a stored ``total_annotations`` per task (what its data-manager filter
``total_annotations > 0`` reads) and a stored count of the labels in use (what its check of a
new labeling config reads), both updated by Django ``post_save`` handlers. Deleting a project
(``DELETE api/projects/ID``) takes every model signal receiver of the server process away while
it runs (``temporary_disconnect_all_signals``) and puts back what it took: an annotation saved
meanwhile by another request leaves its task at 0 and its label uncounted, and two deletions
that overlap leave the receivers away for good (the second took the empty list and puts that
back last), so from then on every annotation does. CI's two workers share one server and delete
their projects as tests end: on a long-used server ``dataset list`` and ``dataset stats`` came
out short, and a config dropping a label in use went through.

That is done here on purpose, on a private server of its own (a shared one would stay so for
every test after): a few tasks are annotated, two projects of answered tasks are deleted at
once, and more are annotated, which the counters then miss (checked).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Iterator

import httpx
import pytest

from annover.labelstudio import datasets
from annover.labelstudio.client import Client, Project

from .ls_fixtures import (TEXT_CONFIG, choice, cli, ls, ls_server, project_factory,  # noqa: F401
                          sdk_admin, started_labelstudio)

pytestmark = pytest.mark.labelstudio

LABELS = [f"c{i}" for i in range(300)]
WIDE_CONFIG = ('<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
               + "".join(f'<Choice value="{v}"/>' for v in LABELS) + "</Choices></View>")
LABELED = json.dumps({"filters": {"conjunction": "and", "items": [
    {"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0}]}})


@pytest.fixture(scope="module")
def private_ls(tmp_path_factory) -> Iterator[dict[str, str]]:
    """A Label Studio of this module's own (``.ci/labelstudio.sh start``): URL and admin key."""
    with started_labelstudio(tmp_path_factory.mktemp("private-ls")) as env:
        yield {"LABEL_STUDIO_URL": env["LABEL_STUDIO_URL"], "LABEL_STUDIO_API_KEY": env["LABEL_STUDIO_API_KEY"]}


def _http(env: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=env["LABEL_STUDIO_URL"], timeout=600,
                        headers={"Authorization": f"Token {env['LABEL_STUDIO_API_KEY']}"})


def _tasks(http: httpx.Client, pid: int, **params: str) -> dict:
    r = http.get("/api/tasks", params={"project": pid, "page_size": 1000, **params})
    r.raise_for_status()
    return r.json()


def _annotate(http: httpx.Client, tids: list[int], made: dict[int, str]) -> None:
    """One annotation on each task, labels c0, c1, ... in turn (recorded in ``made``)."""
    for tid in tids:
        label = LABELS[len(made)]
        http.post(f"/api/tasks/{tid}/annotations/", json={"result": choice(label)}).raise_for_status()
        made[tid] = label


def _lose_signals(http: httpx.Client, tries: int = 4) -> None:
    """Delete two projects of answered tasks at once, the second started as the first runs and
    bigger, until annotations no longer reach their tasks' counters (a canary project says)."""
    for n in range(tries):
        doomed = []
        for size in (1000 * (n + 1), 3000 * (n + 1)):
            pid = http.post("/api/projects/", json={"title": f"doomed-{uuid.uuid4().hex[:8]}",
                                                    "label_config": TEXT_CONFIG}).json()["id"]
            http.post(f"/api/projects/{pid}/import", json=[
                {"data": {"text": f"t{i}"}, "annotations": [{"result": choice("pos")}]} for i in range(size)]
            ).raise_for_status()
            doomed.append(pid)
        first = threading.Thread(target=lambda: _own(http).delete(f"/api/projects/{doomed[0]}/"))
        first.start()
        time.sleep(0.05)
        _own(http).delete(f"/api/projects/{doomed[1]}/")
        first.join()
        canary = http.post("/api/projects/", json={"title": "canary", "label_config": TEXT_CONFIG}).json()["id"]
        http.post(f"/api/projects/{canary}/import", json=[{"data": {"text": "c"}}]).raise_for_status()
        tid = _tasks(http, canary, fields="task_only")["tasks"][0]["id"]
        http.post(f"/api/tasks/{tid}/annotations/", json={"result": choice("pos")}).raise_for_status()
        lost = _tasks(http, canary, fields="all")["tasks"][0]["total_annotations"] == 0
        http.delete(f"/api/projects/{canary}/")
        if lost:
            return
    pytest.fail(f"annotations still reached their counters after {tries} pairs of overlapping deletions")


def _own(http: httpx.Client) -> httpx.Client:
    """A client of its own, for a call made alongside another."""
    return httpx.Client(base_url=http.base_url, headers=http.headers, timeout=600)


@pytest.fixture(scope="module")
def stale_project(private_ls) -> dict:
    """A project of 300 tasks, 2 annotated while the server was whole, 3 after it lost its signal
    receivers: their task counters stay at 0 (checked)."""
    http = _http(private_ls)
    title = f"t-{uuid.uuid4().hex[:8]}-stale"
    pid = http.post("/api/projects/", json={"title": title, "label_config": WIDE_CONFIG}).json()["id"]
    http.post(f"/api/projects/{pid}/import", json=[{"data": {"text": f"s{i}"}} for i in range(300)]).raise_for_status()
    made: dict[int, str] = {}
    tids = [t["id"] for t in _tasks(http, pid, fields="task_only")["tasks"]]
    _annotate(http, tids[:2], made)
    _lose_signals(http)
    _annotate(http, tids[2:5], made)
    stale = [t["id"] for t in _tasks(http, pid, fields="all")["tasks"] if t["annotations"] and not t["total_annotations"]]
    assert stale == tids[2:5]
    # what Label Studio's filter counts is short by the stale tasks: the bug's conditions hold
    assert _tasks(http, pid, fields="task_only", page_size="1", query=LABELED)["total"] == len(made) - len(stale)
    return {"pid": pid, "title": title, "made": made, "stale": stale, "env": private_ls, "http": http}


def _by(way: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Take the way asked: without the project's own count of labeled tasks (as for a project with
    ground-truth answers), and/or without the filter that finds the tasks whose counters lagged
    (as if Label Studio had no such filter: every task is read). The projects whose every task was
    read, filled in as they are."""
    whole: list[int] = []
    if way in ("checked count", "every task"):
        monkeypatch.setattr(Project, "labeled_exactly", property(lambda self: None), raising=False)
    if way == "every task":
        monkeypatch.setattr(datasets, "ANNOTATED_FILTER", {**datasets.LABELED_FILTER, "value": 10**9},
                            raising=False)
    real = getattr(datasets, "_list_tasks", None)
    if real is not None:
        def recording(client, project, page_size, query):
            if query is None:
                whole.append(project.id)
            return real(client, project, page_size, query)

        monkeypatch.setattr(datasets, "_list_tasks", recording)
    return whole


@pytest.mark.parametrize("way", ["project counts", "checked count", "every task"])
def test_dataset_list_counts_a_task_whose_counter_stayed_at_zero(stale_project, way, monkeypatch):
    """``dataset list`` counted labeled tasks with the filter ``total_annotations > 0``, which
    leaves out a task whose counter missed its annotation. Counted from the project's own counts,
    or (as for a project with ground-truth answers) with the filter's count, checked, and the
    tasks it missed read; or, that failing, every labeled task read."""
    whole = _by(way, monkeypatch)
    code, out, err = cli("dataset", "list", "--json", env=stale_project["env"])
    assert code == 0, err
    row = next(d for d in json.loads(out) if d["id"] == stale_project["pid"])
    n = len(stale_project["made"])
    assert (row["tasks"], row["labeled"], row["unlabeled"], row["annotations"]) == (300, n, 300 - n, n)
    assert (stale_project["pid"] in whole) == (way == "every task")


@pytest.mark.parametrize("way", ["project counts", "every task"])
def test_dataset_stats_counts_the_answers_of_such_a_task(stale_project, way, monkeypatch):
    """``dataset stats`` read only the tasks that filter selected: the stale task's answer, its
    region, its annotator and its label were missing. The tasks it missed are read too (or, that
    failing, every task)."""
    whole = _by(way, monkeypatch)
    code, out, err = cli("dataset", "stats", stale_project["title"], "--json", env=stale_project["env"])
    assert code == 0, err
    doc = json.loads(out)
    n = len(stale_project["made"])
    assert (doc["tasks"], doc["labeled"], doc["annotations"], doc["regions"]) == (300, n, n, n)
    assert doc["labels"]["sentiment"] == {label: 1 for label in stale_project["made"].values()}
    assert sum(doc["annotators"].values()) == n
    assert (stale_project["pid"] in whole) == (way == "every task")


def test_update_config_is_refused_for_a_label_only_such_an_annotation_uses(stale_project, tmp_path):
    """Label Studio's check of a new config reads its stored count of the labels in use, which the
    same annotation never reached: a config without its label went through, leaving it orphaned.
    ``--update-config`` now has Label Studio recount them first."""
    label = stale_project["made"][stale_project["stale"][0]]
    without = tmp_path / "without.xml"
    without.write_text(WIDE_CONFIG.replace(f'<Choice value="{label}"/>', ""))
    code, out, err = cli("dataset", "create", stale_project["title"], "--config", str(without), "--update-config",
                         env=stale_project["env"])
    assert code == 5 and label in err and "nothing was changed" in err, (code, out, err)
    config = stale_project["http"].get(f"/api/projects/{stale_project['pid']}/").json()["label_config"]
    assert f'<Choice value="{label}"/>' in config


def test_list_counts_ground_truth_and_result_less_answers_as_labeled(ls_server, project_factory):  # noqa: F811
    """Label Studio's own count of labeled tasks leaves out tasks whose only answer is ground
    truth or has no result; annover counts them (an answer that is not a skip), as ``stats`` and
    ``annover show`` do: such a project is counted with the filter, checked."""
    p = project_factory("gt-counts", TEXT_CONFIG)
    http = _http({"LABEL_STUDIO_URL": ls_server.url, "LABEL_STUDIO_API_KEY": ls_server.api_key})
    http.post(f"/api/projects/{p.id}/import", json=[{"data": {"text": f"g{i}"}} for i in range(5)]).raise_for_status()
    ids = [t["id"] for t in _tasks(http, p.id, fields="task_only")["tasks"]]
    for tid, body in zip(ids, ({"result": choice("pos"), "ground_truth": True}, {},
                               {"result": choice("neg")}, {"result": [], "was_cancelled": True})):
        http.post(f"/api/tasks/{tid}/annotations/", json=body).raise_for_status()
    code, out, err = cli("dataset", "list", "--json")
    assert code == 0, err
    row = next(d for d in json.loads(out) if d["id"] == p.id)
    stats = json.loads(cli("dataset", "stats", p.title, "--json")[1])
    assert (row["labeled"], row["skipped"], row["annotations"]) == (stats["labeled"], stats["skipped"],
                                                                    stats["annotations"]) == (3, 1, 4)


def test_list_asks_nothing_per_project_when_the_projects_counts_tell(ls_server, project_factory,  # noqa: F811
                                                                    monkeypatch):
    """A project without ground-truth or result-less answers is counted from the project listing
    alone: no request per project (it was one count request each)."""
    p = project_factory("plain-counts", TEXT_CONFIG)
    http = _http({"LABEL_STUDIO_URL": ls_server.url, "LABEL_STUDIO_API_KEY": ls_server.api_key})
    http.post(f"/api/projects/{p.id}/import", json=[{"data": {"text": f"p{i}"}} for i in range(3)]).raise_for_status()
    ids = [t["id"] for t in _tasks(http, p.id, fields="task_only")["tasks"]]
    http.post(f"/api/tasks/{ids[0]}/annotations/", json={"result": choice("pos")}).raise_for_status()
    http.post(f"/api/tasks/{ids[1]}/annotations/", json={"result": [], "was_cancelled": True}).raise_for_status()
    asked: list[tuple[str, object]] = []
    real = Client.raw

    def recording(self, method, path, **kw):
        asked.append((path, (kw.get("params") or {}).get("project")))
        return real(self, method, path, **kw)

    monkeypatch.setattr(Client, "raw", recording)
    code, out, err = cli("dataset", "list", "--json")
    assert code == 0, err
    row = next(d for d in json.loads(out) if d["id"] == p.id)
    assert (row["tasks"], row["labeled"], row["skipped"], row["annotations"]) == (3, 1, 1, 2)
    assert ("api/tasks", p.id) not in asked, asked
