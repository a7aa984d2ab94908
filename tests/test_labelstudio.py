"""Label Studio, live: datasets, sending tasks with predictions, pulling versions.

Every test here talks to a real Label Studio server (see ``ls_fixtures``); annotations are
made through the API as two different users, the way people make them in the UI.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

import annover
from annover.errors import ConfigError, InputError, UsageError, ValidationError
from annover.labelstudio import Datasets, PullMode, RecordAction, datasets, sync, tasks

from .conftest import run_cli
from .ls_fixtures import (  # noqa: F401 - fixtures
    IMAGE_CONFIG,
    annotator2,
    choice,
    cli,
    data_dir,
    ls,
    ls_server,
    png_bytes,
    project_factory,
    sdk_admin,
)

pytestmark = pytest.mark.labelstudio


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def records(n: int, start: int = 1) -> list[dict]:
    return [{"id": f"r{i}", "text": f"review number {i}: {'good' if i % 2 else 'bad'} product"}
            for i in range(start, start + n)]


def prediction(key: str, label: str, mv: str = "m1", score: float = 0.5) -> dict:
    return {"task_key": key, "model_version": mv, "score": score, "result": choice(label)}


def pull_version(repo, dataset, client, **kw):
    """``snapshot --label-studio`` as a library call: the pull, then the repository's snapshot step."""
    return repo.snapshot(label_studio=dataset, client=client, **kw)


def ids_of(v) -> tuple:
    t = v.record["tables"]
    return t["tasks"]["id"], t["annotations"]["id"], {mv: s["id"] for mv, s in t["predictions"].items()}


def server_tasks(sdk, pid: int) -> list[dict]:
    """The project as Label Studio exports it (full predictions, annotator emails)."""
    s = sdk.projects.exports.create(pid, title="test", serialization_options=sync.EXPORT_OPTIONS)
    data = json.loads(b"".join(sdk.projects.exports.download(pid, s.id, export_type="JSON")))
    sdk.projects.exports.delete(pid, s.id)
    return sorted(data, key=lambda t: t["id"])


def by_key(tasks_: list[dict], field: str = "id") -> dict[str, dict]:
    return {t["data"][field]: t for t in tasks_}


def annotate(sdk, task_id: int, result: list, as_user=None, **kw):
    """An annotation by ``as_user`` = (client, email, completed_by) or the admin."""
    if as_user is None:
        return sdk.annotations.create(id=task_id, result=result, **kw)
    client, _, completed_by = as_user
    if completed_by is not None:
        kw["completed_by"] = completed_by
    return client.annotations.create(id=task_id, result=result, **kw)


@pytest.fixture(scope="module")
def admin_email(sdk_admin) -> str:
    return sdk_admin.users.whoami().email


@pytest.fixture(scope="module")
def labeled(ls, project_factory, sdk_admin, annotator2, tmp_path_factory):
    """A project with 6 tasks, predictions of two models, and annotations by two people:
    r1 by both (admin pos, annotator2 neg), r2 skipped by annotator2, r3 ground truth (admin)."""
    p = project_factory("labeled")
    d = tmp_path_factory.mktemp("labeled")
    src = write_jsonl(d / "reviews.jsonl", records(6))
    preds = write_jsonl(d / "preds.jsonl", [prediction("r1", "pos", "m1", 0.9), prediction("r2", "neg", "m1", 0.4),
                                            prediction("r3", "neg", "m1", 0.7), prediction("r1", "neg", "m2", 0.2)])
    tasks.push(ls, p.id, str(src), key="data.id", predictions=str(preds))
    ids = {t["data"]["id"]: t["id"] for t in server_tasks(sdk_admin, p.id)}
    annotate(sdk_admin, ids["r1"], choice("pos"), lead_time=2.5)
    annotate(sdk_admin, ids["r1"], choice("neg"), annotator2, lead_time=4.0)
    annotate(sdk_admin, ids["r2"], [], annotator2, was_cancelled=True)
    annotate(sdk_admin, ids["r3"], choice("neg"), ground_truth=True)
    return p, ids, annotator2[1]


# ---------------------------------------------------------------------------
# datasets


def test_create_list_stats_annotate_delete(ls, ls_server, repo, sdk_admin, annotator2, admin_email, monkeypatch):
    title = f"t-{uuid.uuid4().hex[:8]}-cli"
    code, out, err = cli("dataset", "create", title, "--template", "text-classification", "--labels", "pos,neg")
    assert code == 0, err
    pid = int(out)
    on_server = sdk_admin.projects.get(id=pid)
    assert on_server.title == title
    # the config is recorded in the repo, committed
    rec = repo.root / ".annover" / "datasets" / f"{datasets.slug(title)}.json"
    assert json.loads(rec.read_text())["project_id"] == pid
    assert rec.with_suffix(".xml").read_text() == on_server.label_config
    assert f"dataset {title}" in subprocess.run(["git", "log", "-1", "--format=%s"], cwd=repo.root,
                                                capture_output=True, text=True).stdout
    # get or create: the same call finds it; a different config is refused
    code, out, _ = cli("dataset", "create", title, "--template", "text-classification", "--labels", "pos,neg")
    assert (code, int(out)) == (0, pid)
    code, _, err = cli("dataset", "create", title, "--template", "text-classification", "--labels", "pos,neg,x")
    assert code == 5 and "different labeling config" in err
    assert sum(1 for p in sdk_admin.projects.list() if p.title == title) == 1
    # an invalid config is refused before anything reaches the server
    Path("bad.xml").write_text('<View><Choices name="c" toName="nothing"><Choice value="a"/></Choices></View>')
    bad_title = title + "-bad"
    code, _, err = cli("dataset", "create", bad_title, "--config", "bad.xml")
    assert code == 5, err
    assert not any(p.title == bad_title for p in sdk_admin.projects.list())

    # three tasks; r1 labeled by two people, r2 skipped
    sdk_admin.projects.import_tasks(id=pid, request=[{"data": {"text": f"t{i}"}} for i in range(3)])
    tids = sorted(t.id for t in sdk_admin.tasks.list(project=pid, fields="task_only"))
    r = lambda v: [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [v]}}]  # noqa: E731
    annotate(sdk_admin, tids[0], r("pos"))
    annotate(sdk_admin, tids[0], r("neg"), annotator2)
    annotate(sdk_admin, tids[1], [], annotator2, was_cancelled=True)

    code, out, err = cli("dataset", "list", "--json")
    assert code == 0, err
    row = next(x for x in json.loads(out) if x["id"] == pid)
    assert (row["title"], row["tasks"], row["labeled"], row["unlabeled"]) == (title, 3, 1, 2)
    code, out, _ = cli("dataset", "list")
    assert any(line.split()[0] == str(pid) and line.split()[1:4] == ["3", "1", "2"] for line in out.splitlines())

    code, out, err = cli("dataset", "stats", title, "--json")
    assert code == 0, err
    s = json.loads(out)
    assert (s["tasks"], s["labeled"], s["unlabeled"], s["skipped"], s["annotations"]) == (3, 1, 2, 1, 3)
    assert s["labels"] == {"label": {"neg": 1, "pos": 1}}
    assert s["annotators"] == {annotator2[1]: 2, admin_email: 1}
    code, out, _ = cli("dataset", "stats", str(pid))
    assert "Tasks:       3 (1 labeled, 2 unlabeled)" in out

    # annotate: the URL on stdout; no display here, so no browser and no failure
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    code, out, err = cli("dataset", "annotate", title)
    assert (code, out.strip()) == (0, f"{ls_server.url.rstrip('/')}/projects/{pid}/data"), err
    code, out, _ = cli("dataset", "annotate", title, "--json")
    assert json.loads(out)["opened"] is False

    # delete asks (and refuses without a terminal), --yes deletes, the record goes too
    code, _, err = cli("dataset", "delete", title)
    assert code == 2 and "--yes" in err
    assert sdk_admin.projects.get(id=pid).id == pid
    code, _, err = cli("dataset", "delete", title, "--yes")
    assert code == 0, err
    assert not any(p.id == pid for p in sdk_admin.projects.list())
    assert not rec.exists()
    code, _, err = cli("dataset", "stats", title)
    assert code == 14 and len(err.strip().splitlines()) == 1


def test_datasets_as_library_calls(ls, sdk_admin, tmp_path):
    """What the `dataset` commands do, as calls that return data; the record goes to the saver."""
    saved = []
    ds = Datasets(ls, save_record=lambda change: saved.append(change) or change.path)
    title = f"t-{uuid.uuid4().hex[:8]}-lib"
    r = ds.create(title, template="text-classification", labels=["pos", "neg"])
    pid = r.project.id
    try:
        rec, xml = f"datasets/{datasets.slug(title)}.json", f"datasets/{datasets.slug(title)}.xml"
        assert r.to_json() == {"id": pid, "title": title, "url": ls.project_url(r.project), "created": True,
                               "updated": False, "recorded": rec, "notes": []}
        (change,) = saved
        assert (change.action, change.project_id, change.path) == (RecordAction.WRITE, pid, rec)
        assert change.files[xml] == r.project.label_config.encode()
        assert json.loads(change.files[rec])["project_id"] == pid and change.names_project(change.files[rec])
        again = ds.create(title, config_text=r.project.label_config)
        assert (again.created, again.updated, again.project.id) == (False, False, pid)
        with pytest.raises(ConfigError, match="different labeling config"):
            ds.create(title, template="text-classification", labels=["pos", "neg", "x"])
        with pytest.raises(UsageError, match="exactly one"):
            ds.create(title, config_text=r.project.label_config, template="ner")
        with pytest.raises(UsageError, match="go with --template"):
            ds.create(title, config_text=r.project.label_config, labels=["a"])

        sdk_admin.projects.import_tasks(id=pid, request=[{"data": {"text": "a"}}, {"data": {"text": "b"}}])
        (row,) = [x for x in ds.list() if x.id == pid]
        assert (row.title, row.tasks, row.labeled, row.unlabeled) == (title, 2, 0, 2)
        assert row.to_json()["unlabeled"] == 2
        s = ds.stats(title)
        assert (s.tasks, s.labeled, s.unlabeled, s.annotations, s.labels) == (2, 0, 2, 0, {})
        assert ds.annotate_url(pid).to_json() == {"id": pid, "title": title, "url": ls.project_url(r.project)}
        e = ds.export(title, tmp_path / "e.json", config_out=tmp_path / "c.xml")
        assert e.to_json() == {"id": pid, "title": title, "tasks": 2, "path": str(tmp_path / "e.json"),
                               "config": str(tmp_path / "c.xml")}
        assert sorted(t["data"]["text"] for t in json.loads((tmp_path / "e.json").read_text())) == ["a", "b"]
        assert (tmp_path / "c.xml").read_text() == r.project.label_config

        d = ds.delete(title)
        assert d.to_json() == {"id": pid, "title": title, "deleted": True, "forgot": rec}
        assert (saved[-1].action, saved[-1].files) == (RecordAction.REMOVE, {rec: None, xml: None})
        assert not saved[-1].names_project(b'{"project_id": 0}')
        assert not any(p.id == pid for p in sdk_admin.projects.list())
    finally:
        if any(p.id == pid for p in sdk_admin.projects.list()):
            sdk_admin.projects.delete(id=pid)


# ---------------------------------------------------------------------------
# sending tasks


def test_push_records_with_predictions_is_incremental(ls, project_factory, sdk_admin, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = project_factory("push")
    src = write_jsonl(tmp_path / "reviews.jsonl", records(5))
    preds = write_jsonl(tmp_path / "preds.jsonl", [prediction("r1", "pos", score=0.9), prediction("r2", "neg", score=0.3),
                                                   prediction("r4", "neutral", score=0.5)])
    code, out, err = cli("dataset", "push", p.title, "--from", str(src), "--key", "data.id",
                         "--predictions", str(preds), "--json")
    assert code == 0, err
    r = json.loads(out)
    assert (r["sent"], r["already"], r["predictions"]) == (5, 0, 3)
    got = by_key(server_tasks(sdk_admin, p.id))
    assert {k: t["data"] for k, t in got.items()} == {x["id"]: x for x in records(5)}
    for want in [json.loads(line) for line in preds.read_text().splitlines()]:
        (pr,) = got[want["task_key"]]["predictions"]
        assert (pr["model_version"], pr["score"], pr["result"]) == (want["model_version"], want["score"], want["result"])
    assert got["r3"]["predictions"] == []

    # the same send again sends nothing
    r2 = tasks.push(ls, p.id, str(src), key="data.id", predictions=str(preds))
    assert (r2.sent, r2.already, r2.predictions, r2.predictions_already) == (0, 5, 0, 3)
    assert sdk_admin.projects.get(id=p.id).task_number == 5

    # a CSV with one task already there and two new; a new model version for an old task
    (tmp_path / "more.csv").write_text('id,text\nr5,"review number 5: good product"\nr6,"six, with a comma"\nr7,seven\n')
    more_preds = write_jsonl(tmp_path / "m2.jsonl", [prediction("r1", "neg", "m2", 0.1), prediction("r6", "pos", "m2", 1.0)])
    r3 = tasks.push(ls, p.id, str(tmp_path / "more.csv"), key="data.id", predictions=str(more_preds))
    assert (r3.sent, r3.already, r3.predictions) == (2, 1, 2)
    got = by_key(server_tasks(sdk_admin, p.id))
    assert len(got) == 7 and got["r6"]["data"] == {"id": "r6", "text": "six, with a comma"}
    assert sorted(x["model_version"] for x in got["r1"]["predictions"]) == ["m1", "m2"]
    assert [x["model_version"] for x in got["r6"]["predictions"]] == ["m2"]
    # Label Studio tasks (data + meta) as records: meta arrives too
    (tmp_path / "t.json").write_text(json.dumps([{"id": 99, "data": {"id": "r8", "text": "eight"},
                                                  "meta": {"source": "crawl", "n": 1}}]))
    assert tasks.push(ls, p.id, str(tmp_path / "t.json"), key="data.id").sent == 1
    assert by_key(server_tasks(sdk_admin, p.id))["r8"]["meta"] == {"source": "crawl", "n": 1}

    # predictions for a task nowhere, or with a label the config does not have: nothing is sent
    bad = write_jsonl(tmp_path / "bad.jsonl", [prediction("r99", "pos")])
    with pytest.raises(InputError, match="r99"):
        tasks.push(ls, p.id, str(src), key="data.id", predictions=str(bad))
    write_jsonl(tmp_path / "new.jsonl", records(1, start=50))
    bad = write_jsonl(tmp_path / "bad2.jsonl", [prediction("r50", "ecstatic")])
    with pytest.raises(ValidationError, match="ecstatic"):
        tasks.push(ls, p.id, str(tmp_path / "new.jsonl"), key="data.id", predictions=str(bad))
    assert sdk_admin.projects.get(id=p.id).task_number == 8
    # a dry run says what would be sent and sends nothing
    r4 = tasks.push(ls, p.id, str(tmp_path / "new.jsonl"), key="data.id", dry_run=True)
    assert (r4.sent, r4.already, r4.dry_run) == (1, 0, True)
    assert sdk_admin.projects.get(id=p.id).task_number == 8
    # a source that does not exist names itself, exit 14
    code, _, err = cli("dataset", "push", p.title, "--from", "nope.jsonl")
    assert code == 14 and "nope.jsonl" in err


def test_push_folder_of_images_served_by_local_storage(ls, ls_server, project_factory, sdk_admin, data_dir, tmp_path):
    p = project_factory("images", IMAGE_CONFIG)
    folder = data_dir / "pets"
    (folder / "sub").mkdir(parents=True)
    files = {"cat 1.png": png_bytes((255, 0, 0)), "sub/dog#2&x.png": png_bytes((0, 255, 0))}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "notes.md").write_text("not an image")
    (folder / ".hidden.png").write_bytes(png_bytes((0, 0, 255)))
    preds = write_jsonl(tmp_path / "preds.jsonl", [{"file": "sub/dog#2&x.png", "model_version": "cnn", "score": 0.8,
                                                    "result": choice("dog", "label", "image")}])
    r = tasks.push(ls, p.id, str(folder), predictions=str(preds))
    assert (r.sent, r.predictions) == (2, 1)
    assert any("notes.md" in w for w in r.warnings)
    got = server_tasks(sdk_admin, p.id)
    assert len(got) == 2
    served = {}
    for t in got:
        url = t["data"]["image"]
        assert url.startswith("/data/local-files/?d=")
        resp = httpx.get(ls_server.url.rstrip("/") + url, headers={"Authorization": f"Token {ls_server.api_key}"})
        assert resp.status_code == 200
        served[resp.content] = [x["model_version"] for x in t["predictions"]]
    assert served == {files["cat 1.png"]: [], files["sub/dog#2&x.png"]: ["cnn"]}
    # again: nothing new
    r = tasks.push(ls, p.id, str(folder), predictions=str(preds))
    assert (r.sent, r.already, r.predictions, r.predictions_already) == (0, 2, 0, 1)
    # records that point at files: relative paths are read from the records file's folder;
    # a missing file is an error naming it, and nothing is sent
    (data_dir / "recs.csv").write_text("image,note\npets/cat 1.png,dup\npets/missing.png,gone\n")
    with pytest.raises(InputError, match="missing.png"):
        tasks.push(ls, p.id, str(data_dir / "recs.csv"))
    (data_dir / "recs.csv").write_text("image,note\npets/cat 1.png,same file other note\n")
    r = tasks.push(ls, p.id, str(data_dir / "recs.csv"))
    assert r.sent == 1
    new = [t for t in server_tasks(sdk_admin, p.id) if t["data"].get("note")]
    assert new[0]["data"]["image"] == next(t["data"]["image"] for t in got if "cat" in t["data"]["image"])


# ---------------------------------------------------------------------------
# pulling versions


def test_pull_makes_a_version_with_every_annotator_skip_and_ground_truth(ls, ls_server, repo, labeled, admin_email):
    p, ids, email2 = labeled
    code, out, err = cli("snapshot", "--label-studio", p.title, "--key", "data.id", "-m", "round 1")
    assert code == 0, err
    v = repo.show("HEAD")
    assert out.strip() == v.id
    ann = repo.read_table("HEAD", "annotations").to_pylist()
    answers = {(a["task_key"], a["annotator"], tuple(a["labels"] or ()), a["was_cancelled"], a["ground_truth"],
                a["lead_time"]) for a in ann}
    assert answers == {("r1", admin_email, ("pos",), False, False, 2.5),
                       ("r1", email2, ("neg",), False, False, 4.0),
                       ("r2", email2, (), True, False, None),
                       ("r3", admin_email, ("neg",), False, True, None)}
    preds = repo.read_table("HEAD", "predictions").to_pylist()
    assert {(x["task_key"], x["model_version"], x["score"], tuple(x["labels"])) for x in preds} == {
        ("r1", "m1", 0.9, ("pos",)), ("r2", "m1", 0.4, ("neg",)), ("r3", "m1", 0.7, ("neg",)),
        ("r1", "m2", 0.2, ("neg",))}
    assert sorted(t["task_key"] for t in repo.read_table("HEAD", "tasks").to_pylist()) == [f"r{i}" for i in range(1, 7)]
    o = v.record["origin"]
    assert (o["kind"], o["url"], o["project_id"], o["project"]) == ("label-studio", ls_server.url.rstrip("/"), p.id,
                                                                     p.title)
    assert o["sync"]["mode"] == "full" and o["sync"]["key"] == "data.id"
    assert repo.config_text("HEAD") == p.label_config
    assert (v.stats["labeled"], v.stats["skipped"], v.stats["tasks"]) == (2, 1, 6)
    # nothing changed on the server: no new version
    code, out, err = cli("snapshot", "--label-studio", p.title, "-m", "again")
    assert code == 0 and out == "" and "nothing changed" in err


def test_pull_is_the_same_as_a_file_import_of_the_same_export(ls, repo, labeled, sdk_admin, tmp_path, monkeypatch):
    p, _, _ = labeled
    pulled = pull_version(repo, p.title, ls, key="data.id", message="pulled").version
    # the server's own export snapshot, with the same options, to a file; a pull leaves out what the server
    # says relative to the moment of the export (created_ago: docs/label-studio.md), a file keeps what it has
    export = tmp_path / "export.json"
    exported = server_tasks(sdk_admin, p.id)
    assert any(sync.RELATIVE_TIMES[0] in x for t in exported for x in t["predictions"]), exported
    export.write_text(json.dumps(sync.without_relative_times(exported)))
    (tmp_path / "labeling.xml").write_text(p.label_config)
    other = annover.init(tmp_path / "other")
    monkeypatch.chdir(other.root)
    code, _, err = cli("snapshot", "--from", str(export), "--config", str(tmp_path / "labeling.xml"),
                       "--key", "data.id", "-m", "file")
    assert code == 0, err
    assert ids_of(other.show("HEAD")) == ids_of(pulled)
    for name in ("tasks", "annotations", "predictions"):
        assert other.read_table("HEAD", name).equals(repo.read_table(pulled.id, name)), name


def test_round_trip_through_a_fresh_project(ls, repo, labeled, project_factory, tmp_path, monkeypatch):
    p, _, _ = labeled
    first = pull_version(repo, p.id, ls, key="data.id", message="pulled").version
    code, _, err = cli("export", first.id, "--format", "label-studio", "--out", str(tmp_path / "v.json"))
    assert code == 0, err
    # the tasks and predictions of a version (no annotations) into another project
    bare = project_factory("from-version")
    code, out, err = cli("dataset", "push", bare.title, "--from", "HEAD", "--predictions", first.id,
                         "--key", "data.id", "--json")
    assert code == 0, err
    assert (json.loads(out)["sent"], json.loads(out)["predictions"], json.loads(out)["annotations"]) == (6, 4, 0)
    got = pull_version(repo, bare.id, ls, key="data.id", message="bare").version
    assert ids_of(got)[0] == ids_of(first)[0] and ids_of(got)[2] == ids_of(first)[2]
    assert got.stats["annotations"] == 0

    fresh = project_factory("copy")
    r = tasks.push(ls, fresh.id, str(tmp_path / "v.json"), key="data.id", annotations=True)
    assert (r.sent, r.annotations, r.predictions) == (6, 4, 4)
    other = annover.init(tmp_path / "other")
    monkeypatch.chdir(other.root)
    code, _, err = cli("snapshot", "--label-studio", fresh.title, "--key", "data.id", "-m", "copy")
    assert code == 0, err
    again = other.show("HEAD")
    assert again.record["origin"]["project_id"] == fresh.id != first.record["origin"]["project_id"]
    assert ids_of(again) == ids_of(first)


def test_incremental_pull_equals_full_pull(ls, repo, project_factory, sdk_admin, annotator2, tmp_path):
    p = project_factory("incremental")
    tasks.push(ls, p.id, str(write_jsonl(tmp_path / "r.jsonl", records(8))), key="data.id",
               predictions=str(write_jsonl(tmp_path / "p.jsonl", [prediction("r1", "pos"), prediction("r5", "neg")])))
    ids = {t["data"]["id"]: t["id"] for t in server_tasks(sdk_admin, p.id)}
    a1 = annotate(sdk_admin, ids["r1"], choice("pos"))
    a2 = annotate(sdk_admin, ids["r2"], choice("neg"), annotator2)
    v1 = pull_version(repo, p.id, ls, key="data.id", message="v1").version
    assert v1.record["origin"]["sync"]["mode"] == "full"

    def full_ids() -> tuple:
        other = annover.init(tmp_path / f"full-{uuid.uuid4().hex[:6]}")
        return ids_of(pull_version(other, p.id, ls, key="data.id", message="full", full=True).version)

    # round 2: an update, a delete of an annotation, a skip, a deleted task, a new task with a prediction
    sdk_admin.annotations.update(id=a1.id, result=choice("neutral"))
    sdk_admin.annotations.delete(id=a2.id)
    annotate(sdk_admin, ids["r3"], [], annotator2, was_cancelled=True)
    sdk_admin.tasks.delete(id=ids["r4"])  # not the last: sqlite gives the last id to the next task
    sdk_admin.projects.import_tasks(id=p.id, request=[{"data": {"id": "r9", "text": "nine"}, "predictions": [
        {"model_version": "m1", "score": 0.1, "result": choice("neg")}]}])
    r = pull_version(repo, p.id, ls, message="v2")  # key: HEAD's
    v2 = r.version
    s = v2.record["origin"]["sync"]
    assert (s["mode"], s["key"], s["deleted_tasks"]) == ("incremental", "data.id", 1), r.warnings
    assert s["fetched_tasks"] == 4  # r1, r2, r3 and the new r9: not the other 4
    assert ids_of(v2) == full_ids()
    assert v2.stats["tasks"] == 8 and v2.stats["skipped"] == 1
    diff = annover.diff(v1.id, v2.id, repo=repo)
    assert diff.summary["tasks"]["removed"] == 1 and diff.summary["tasks"]["added"] == 1
    assert diff.summary["annotations"]["changed"] + diff.summary["annotations"]["removed"] >= 2

    # round 3: predictions bulk-imported onto existing tasks do not touch the tasks' updated_at;
    # the totals show it and the pull falls back to a full export (same result either way)
    r3 = tasks.push(ls, p.id, str(write_jsonl(tmp_path / "r6.jsonl", records(1, start=6))), key="data.id",
                    predictions=str(write_jsonl(tmp_path / "p2.jsonl", [prediction("r6", "neg", "m2", 0.6)])))
    assert (r3.sent, r3.predictions) == (0, 1)
    r = pull_version(repo, p.id, ls, message="v3")
    assert r.version.record["origin"]["sync"]["mode"] == "full"
    assert any("predictions" in w for w in r.warnings), r.warnings
    assert "m2" in r.version.record["tables"]["predictions"]
    assert ids_of(r.version) == full_ids()
    # round 4: nothing changed
    assert not pull_version(repo, p.id, ls, message="v4").changed
    # the pull alone returns data: incremental from HEAD and nothing new, or full without a previous version
    got = sync.pull(ls, p.id, previous=sync.Previous.of(repo), key="data.id")
    assert (got.mode, got.nothing_new, got.warnings) == (PullMode.INCREMENTAL, True, [])
    assert got.to_json()["mode"] == "incremental" and got.tables.tasks.num_rows == 8
    got = sync.pull(ls, p.id, key="data.id")
    assert (got.mode, got.nothing_new, got.fetched) == (PullMode.FULL, False, 8)
    assert got.origin == {**got.origin, "kind": "label-studio", "project_id": p.id}


# ---------------------------------------------------------------------------
# errors and secrets


def _one_line_error(p: subprocess.CompletedProcess) -> str:
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in p.stderr, p.stderr
    return lines[0]


def test_wrong_key_missing_project_and_server_down_exit_codes(ls_server, labeled, repo):
    p, _, _ = labeled
    wrong = "0123456789abcdef-wrong-key"
    r = run_cli("dataset", "list", env={"LABEL_STUDIO_API_KEY": wrong})
    assert r.returncode == 13
    line = _one_line_error(r)
    assert "API key" in line and wrong not in line
    r = run_cli("snapshot", "--label-studio", p.title, "-m", "x", cwd=repo.root, env={"LABEL_STUDIO_API_KEY": wrong})
    assert r.returncode == 13, r.stderr
    r = run_cli("dataset", "stats", f"no-such-dataset-{uuid.uuid4().hex[:6]}")
    assert r.returncode == 14 and "no-such-dataset" in _one_line_error(r)
    r = run_cli("snapshot", "--label-studio", "999999", "-m", "x", cwd=repo.root)
    assert r.returncode == 14, r.stderr
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    s.close()  # nothing listens there now: Label Studio "down"
    r = run_cli("dataset", "push", p.title, "--from", "x.jsonl", env={"LABEL_STUDIO_URL": closed})
    assert r.returncode == 12 and closed in _one_line_error(r)
    assert repo.head() is None  # nothing was made



def test_a_dataset_name_in_another_case_is_named_in_the_hint(ls_server, project_factory):
    """Titles are matched as written: a name that differs only in case was a bare 'no dataset',
    the project beside it unmentioned; the hint now names it (and its id), and a part of a
    title names the titles that hold it."""
    p = project_factory("CaseHint")
    r = run_cli("dataset", "stats", p.title.lower())
    assert r.returncode == 14, r.stderr
    line = _one_line_error(r)
    assert f"{p.title!r} (id {p.id})" in line and "case" in line, line
    part = p.title.split("-")[1]  # the title's unique hex: held by it alone
    line = _one_line_error(run_cli("dataset", "stats", part))
    assert repr(p.title) in line, line
    assert run_cli("dataset", "stats", p.title).returncode == 0


def test_listing_and_counting_do_not_import_the_sdks_full_client(ls_server, project_factory):
    """The SDK's full client imports label_interface, jsonschema and pandas (~2 s of CPU): a
    command that lists or counts projects makes its calls through the SDK's core alone, with
    the same answers; a call only the full client makes (an import of tasks) still imports it."""
    p = project_factory("lean")
    code = ("import sys, json\n"
            "from annover.labelstudio.client import connect\n"
            "c = connect()\n"
            f"titles = [x.title for x in c.projects()]; one = c.project({p.id})\n"
            "lean = 'label_studio_sdk.client' not in sys.modules\n"
            "c.call('importing', c.sdk.projects.import_tasks, id=one.id, request=[{'data': {'text': 'x'}}])\n"
            "print(json.dumps([lean, 'label_studio_sdk.client' in sys.modules, one.title, titles]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lean, full, title, titles = json.loads(r.stdout)
    assert (lean, full, title) == (True, True, p.title) and p.title in titles

def test_the_api_key_is_written_nowhere(ls, ls_server, repo, labeled, tmp_path):
    p, _, _ = labeled
    key = ls_server.api_key.encode()
    code, _, err = cli("dataset", "create", p.title, "--config", str(_write(tmp_path / "c.xml", p.label_config)))
    assert code == 0, err
    code, _, err = cli("snapshot", "--label-studio", p.title, "--key", "data.id", "-m", "pulled")
    assert code == 0, err
    seen = []
    for f in repo.root.rglob("*"):
        if f.is_file() and key in f.read_bytes():
            seen.append(f)
    history = subprocess.run(["git", "log", "-p", "--all", "--format=%B"], cwd=repo.root, capture_output=True).stdout
    assert seen == [] and key not in history
    record = json.dumps(repo.show("HEAD").record).encode()
    assert key not in record and b"label-studio" in record  # the record is the one pulled


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
