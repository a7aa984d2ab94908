"""The daily loop against a real Label Studio: a version keyed by a data field sent back with
its own predictions, and datasets whose titles are not ASCII."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from .ls_fixtures import (  # noqa: F401 - fixtures
    TEXT_CONFIG,
    choice,
    cli,
    ls,
    ls_server,
    project_factory,
    sdk_admin,
)
from .test_labelstudio import server_tasks, write_jsonl

pytestmark = pytest.mark.labelstudio


def _version_keyed_by_id(repo, tmp_path: Path):
    rows = [{"id": f"r{i}", "data": {"id": f"r{i}", "text": t}, "predictions": [
        {"model_version": "bert-v1", "score": 0.5 + i / 10, "result": choice(lab)}]}
        for i, (t, lab) in enumerate([("good", "pos"), ("bad", "neg"), ("Très bien — ça marche", "pos")])]
    src = tmp_path / "tasks.json"
    src.write_text(json.dumps(rows, ensure_ascii=False))
    cfg = tmp_path / "config.xml"
    cfg.write_text(TEXT_CONFIG)
    return repo.snapshot(str(src), config=str(cfg), key="data.id", message="tasks").version


def test_a_version_keyed_by_a_field_sends_its_own_predictions(ls_server, project_factory, sdk_admin, repo,
                                                              tmp_path, monkeypatch):  # noqa: F811
    """``dataset push --from v1 --predictions v1`` (the documented call) on a version read with
    ``--key data.id``: every prediction arrives with its model version and score, none is taken
    for a task "neither in version v1 nor in the project"; a second push sends nothing."""
    monkeypatch.chdir(repo.root)
    _version_keyed_by_id(repo, tmp_path)
    p = project_factory("version-preds")
    for sent in (3, 0):
        code, out, err = cli("dataset", "push", p.title, "--from", "v1", "--predictions", "v1", "--json")
        assert code == 0, err
        got = json.loads(out)
        assert (got["sent"], got["predictions"]) == (sent, sent), got
    on_server = {t["data"]["id"]: t for t in server_tasks(sdk_admin, p.id)}
    assert sorted(on_server) == ["r0", "r1", "r2"]
    for tid, want in (("r0", 0.5), ("r1", 0.6), ("r2", 0.7)):
        preds = on_server[tid]["predictions"]
        assert [(pr["model_version"], pr["score"]) for pr in preds] == [("bert-v1", pytest.approx(want))], tid


def test_datasets_with_titles_in_another_script_each_get_their_own_record(ls_server, sdk_admin, repo,
                                                                          monkeypatch):  # noqa: F811
    """Two Cyrillic titles (and a Japanese one) were all recorded as the same ASCII-only file
    name, so the second ``dataset create`` was refused as "the record of dataset 'Отзывы ...'"."""
    monkeypatch.chdir(repo.root)
    tag = uuid.uuid4().hex[:8]
    titles = [f"Отзывы {tag}", f"Товары {tag}", f"東京 {tag}"]
    made = []
    try:
        for title in titles:
            code, out, err = cli("dataset", "create", title, "--template", "text-classification",
                                 "--labels", "Позитив,Négatif,中立")
            assert code == 0, err
            made.append(int(out.split()[0]))
        records = {json.loads(f.read_text(encoding="utf-8"))["title"]: f.name
                   for f in (repo.root / ".annover" / "datasets").glob("*.json")}
        assert {t: records.get(t) for t in titles} == {
            titles[0]: f"отзывы-{tag}.json", titles[1]: f"товары-{tag}.json", titles[2]: f"東京-{tag}.json"}
        code, out, err = cli("dataset", "delete", titles[1], "--yes")
        assert code == 0, err
        made.remove(made[1])
        left = sorted(f.name for f in (repo.root / ".annover" / "datasets").glob("*.json"))
        assert left == sorted([f"отзывы-{tag}.json", f"東京-{tag}.json"]), left
    finally:
        for pid in made:
            sdk_admin.projects.delete(id=pid)


@pytest.mark.parametrize("path", ["/api", "/projects/1"])
def test_a_url_that_is_not_the_servers_root_says_so(ls_server, path, repo, monkeypatch):  # noqa: F811
    """LABEL_STUDIO_URL pasted with /api (or a page's path): the project list is a 404 there,
    which was reported as 'listing projects: not found' with the hint to run `annover dataset
    list`, the very command that failed, exit 14 (no such dataset)."""
    monkeypatch.chdir(repo.root)
    for args in (["dataset", "list"], ["snapshot", "--label-studio", "anything", "-m", "x"]):
        code, out, err = cli(*args, env={"LABEL_STUDIO_URL": ls_server.url + path})
        lines = err.strip().splitlines()
        assert code == 11 and len(lines) == 1 and lines[0].startswith("Error: "), err
        assert "HOST:PORT" in lines[0] and "no /api" in lines[0] and "dataset list" not in lines[0], err


def test_a_dataset_deleted_in_label_studio_leaves_a_record_that_delete_removes(ls_server, sdk_admin, repo,
                                                                               monkeypatch):  # noqa: F811
    """A project deleted in Label Studio's UI: ``dataset delete NAME`` was exit 14 (no such
    dataset) and the record stayed committed for good. Now it removes just the record; a
    record of another server's project, or a name with no record, is still exit 14."""
    monkeypatch.chdir(repo.root)
    title = f"gone {uuid.uuid4().hex[:8]}"
    code, out, err = cli("dataset", "create", title, "--template", "text-classification", "--labels", "a,b")
    assert code == 0, err
    pid = int(out.split()[0])
    record = repo.root / ".annover" / "datasets" / f"{title.replace(' ', '-')}.json"
    assert json.loads(record.read_text())["project_id"] == pid
    sdk_admin.projects.delete(id=pid)  # as in the UI
    elsewhere = json.loads(record.read_text())
    record.write_text(json.dumps({**elsewhere, "url": "http://127.0.0.1:9"}))  # another server's record
    code, _, err = cli("dataset", "delete", title, "--yes")
    assert code == 14 and record.is_file(), err
    record.write_text(json.dumps(elsewhere))
    code, out, err = cli("dataset", "delete", title, "--yes", "--json")
    assert code == 0, err
    assert json.loads(out) == {"id": pid, "title": title, "deleted": False,
                               "forgot": f".annover/datasets/{record.name}"}
    assert not record.exists() and not record.with_suffix(".xml").exists()
    assert repo.scm.run("status", "--porcelain", "--", ".annover") == ""  # committed
    code, _, err = cli("dataset", "delete", title, "--yes")
    assert code == 14, err
