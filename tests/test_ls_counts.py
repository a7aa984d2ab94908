"""``dataset list`` / ``dataset stats`` count labeled tasks from the annotations themselves.

Label Studio keeps a stored ``total_annotations`` per task (what its data-manager filter
``total_annotations > 0`` reads) and a stored count of the labels in use (what its check of a
new labeling config reads), both updated by Django ``post_save`` handlers. Deleting a project
(``DELETE api/projects/ID``) disconnects every model signal of the server process while it
runs, so an annotation another request saves meanwhile leaves its task at 0 and its label
uncounted. On a shared server (CI's two workers, one deleting a finished test's project) the
labeled counts of ``dataset list`` and ``dataset stats`` came out short, and a config dropping
a label such an annotation used went through.

The race is made here on purpose, on a private server of its own (it would leave counters
behind in whatever other tests run against a shared one meanwhile): a project of a few
thousand answered tasks is deleted while annotations are saved, one after another, into the
project under test, until one of them misses its counter.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import uuid
from typing import Iterator

import httpx
import pytest

from annover.labelstudio.client import Client, Project

from .ls_fixtures import (SCRIPT, TEXT_CONFIG, _read_env_file, choice, cli, ls, ls_server,  # noqa: F401
                          project_factory, sdk_admin)

pytestmark = pytest.mark.labelstudio

LABELS = [f"c{i}" for i in range(300)]
WIDE_CONFIG = ('<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
               + "".join(f'<Choice value="{v}"/>' for v in LABELS) + "</Choices></View>")
LABELED = json.dumps({"filters": {"conjunction": "and", "items": [
    {"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0}]}})


@pytest.fixture(scope="module")
def private_ls(tmp_path_factory) -> Iterator[dict[str, str]]:
    """A Label Studio of this module's own (``.ci/labelstudio.sh start``): URL and admin key."""
    if not SCRIPT.exists() or shutil.which("bash") is None:
        pytest.skip("needs .ci/labelstudio.sh and bash to start a private Label Studio")
    env_file = tmp_path_factory.mktemp("private-ls") / "ls.env"
    p = subprocess.run(["bash", str(SCRIPT), "start", str(env_file)], capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        pytest.fail(f"could not start a private Label Studio:\n{p.stderr[-3000:]}")
    try:
        env = _read_env_file(env_file)
        yield {"LABEL_STUDIO_URL": env["LABEL_STUDIO_URL"], "LABEL_STUDIO_API_KEY": env["LABEL_STUDIO_API_KEY"]}
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(env_file)], capture_output=True, text=True, timeout=120)


def _http(env: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=env["LABEL_STUDIO_URL"], timeout=600,
                        headers={"Authorization": f"Token {env['LABEL_STUDIO_API_KEY']}"})


def _tasks(http: httpx.Client, pid: int, **params: str) -> dict:
    r = http.get("/api/tasks", params={"project": pid, "page_size": 1000, **params})
    r.raise_for_status()
    return r.json()


def _answer_while_a_project_is_deleted(http: httpx.Client, pid: int, rounds: int = 8,
                                       big: int = 3000) -> tuple[dict[int, str], list[int]]:
    """Annotate tasks of ``pid`` (one label each, c0, c1, ...) while projects of ``big`` answered
    tasks are deleted, until a task keeps ``total_annotations`` 0 under its annotation: (task id ->
    label annotated, the tasks whose counter stayed behind)."""
    free = [t["id"] for t in _tasks(http, pid, fields="task_only")["tasks"]]
    made: dict[int, str] = {}
    for _ in range(rounds):
        doomed = http.post("/api/projects/", json={"title": f"doomed-{uuid.uuid4().hex[:8]}",
                                                   "label_config": TEXT_CONFIG}).json()["id"]
        http.post(f"/api/projects/{doomed}/import", json=[
            {"data": {"text": f"t{i}"}, "annotations": [{"result": choice("pos")}]} for i in range(big)]
        ).raise_for_status()
        done = threading.Event()

        def delete(doomed: int = doomed) -> None:
            try:
                _http_like(http).delete(f"/api/projects/{doomed}/")
            finally:
                done.set()

        deleting = threading.Thread(target=delete)
        deleting.start()
        while not done.is_set() and free:
            tid = free.pop(0)
            label = LABELS[len(made)]
            http.post(f"/api/tasks/{tid}/annotations/", json={"result": choice(label)}).raise_for_status()
            made[tid] = label
        deleting.join()
        stale = [t["id"] for t in _tasks(http, pid, fields="all")["tasks"]
                 if t["annotations"] and t["total_annotations"] == 0]
        if stale:
            return made, stale
    pytest.fail(f"no annotation missed its counter in {rounds} deletions of {big}-task projects")


def _http_like(http: httpx.Client) -> httpx.Client:
    """A client of its own for another thread (httpx clients are not shared across threads here)."""
    return httpx.Client(base_url=http.base_url, headers=http.headers, timeout=600)


@pytest.fixture(scope="module")
def stale_project(private_ls) -> dict:
    """A project of 300 tasks, some annotated while another project was deleted: at least one of
    them with its task counter left at 0 (checked)."""
    http = _http(private_ls)
    title = f"t-{uuid.uuid4().hex[:8]}-stale"
    pid = http.post("/api/projects/", json={"title": title, "label_config": WIDE_CONFIG}).json()["id"]
    http.post(f"/api/projects/{pid}/import", json=[{"data": {"text": f"s{i}"}} for i in range(300)]).raise_for_status()
    made, stale = _answer_while_a_project_is_deleted(http, pid)
    # what Label Studio's filter counts is short by the stale tasks: the bug's conditions hold
    assert _tasks(http, pid, fields="task_only", page_size="1", query=LABELED)["total"] == len(made) - len(stale)
    return {"pid": pid, "title": title, "made": made, "stale": stale, "env": private_ls, "http": http}


@pytest.mark.parametrize("by", ["project counts", "checked count"])
def test_dataset_list_counts_a_task_whose_counter_stayed_at_zero(stale_project, by, monkeypatch):
    """``dataset list`` counted labeled tasks with the filter ``total_annotations > 0``, which
    leaves out a task whose counter missed its annotation. Counted from the project's own counts,
    or (as for a project with ground-truth answers) with the filter's count, checked."""
    if by == "checked count":
        monkeypatch.setattr(Project, "labeled_exactly", property(lambda self: None), raising=False)
    code, out, err = cli("dataset", "list", "--json", env=stale_project["env"])
    assert code == 0, err
    row = next(d for d in json.loads(out) if d["id"] == stale_project["pid"])
    n = len(stale_project["made"])
    assert (row["tasks"], row["labeled"], row["unlabeled"], row["annotations"]) == (300, n, 300 - n, n)


def test_dataset_stats_counts_the_answers_of_such_a_task(stale_project):
    """``dataset stats`` read only the tasks that filter selected: the stale task's answer, its
    region, its annotator and its label were missing."""
    code, out, err = cli("dataset", "stats", stale_project["title"], "--json", env=stale_project["env"])
    assert code == 0, err
    doc = json.loads(out)
    n = len(stale_project["made"])
    assert (doc["tasks"], doc["labeled"], doc["annotations"], doc["regions"]) == (300, n, n, n)
    assert doc["labels"]["sentiment"] == {label: 1 for label in stale_project["made"].values()}
    assert sum(doc["annotators"].values()) == n


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
