"""What an audit of the Label Studio commands found, each against the real server: keys and
timeouts a request cannot carry, outputs onto the repository's own files, server changes
refused before they happen when their record could not be committed, predictions sent once,
Repeater configs, terminal escapes from project titles, and the loop's refusals."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import annover
from annover.labelstudio import Datasets, tasks

from .conftest import git, shared_corpus
from annover.errors import InputError

from .ls_fixtures import (  # noqa: F401 - fixtures
    IMAGE_CONFIG,
    TEXT_CONFIG,
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
from .test_labelstudio import records, server_tasks, write_jsonl

pytestmark = pytest.mark.labelstudio
CORPUS = shared_corpus("label-studio")


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("key", ["abcdef\nghijkl", "kéy-0123456789", "abc def 0123456789"])
def test_a_key_no_request_can_carry_is_a_usage_error_that_does_not_show_it(ls_server, key):
    for args in (["dataset", "list"], ["dataset", "list", "--api-key", key]):
        code, out, err = cli(*args, env={"LABEL_STUDIO_API_KEY": key})
        line = _one_line(err)
        assert code == 2 and "API key" in line and "bug" not in line, err
        assert key not in err and key.split()[0] not in err and out == ""


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "soon"])
def test_a_timeout_that_is_no_number_of_seconds_is_said_as_such(ls_server, value):
    code, _, err = cli("dataset", "list", env={"ANNOVER_LS_TIMEOUT": value})
    assert code == 2 and f"ANNOVER_LS_TIMEOUT={value!r}" in _one_line(err), err


def test_the_missing_url_hint_names_the_commands_own_options(repo):
    code, _, err = cli("snapshot", "--label-studio", "x", "-m", "x", env={"LABEL_STUDIO_URL": None})
    assert code == 2 and "--ls-url" in _one_line(err), err
    code, _, err = cli("dataset", "list", env={"LABEL_STUDIO_URL": None})
    assert code == 2 and "pass --url" in _one_line(err), err
    code, _, err = cli("snapshot", "--label-studio", "x", "-m", "x", env={"LABEL_STUDIO_API_KEY": None})
    assert code == 2 and "--ls-api-key" in _one_line(err), err


def test_dataset_export_refuses_the_repositorys_files_and_an_existing_file(ls, project_factory, repo, tmp_path):
    p = project_factory("export")
    tasks.push(ls, p.id, str(write_jsonl(tmp_path / "r.jsonl", records(3))), key="data.id")
    head = (repo.root / ".annover" / "HEAD").read_bytes() if (repo.root / ".annover" / "HEAD").exists() else None
    config = (repo.root / ".git" / "config").read_bytes()
    for args in (["--out", ".annover/HEAD"], ["--out", str(tmp_path / "e.json"), "--config-out", ".git/config"]):
        code, _, err = cli("dataset", "export", p.title, *args)
        assert code == 2 and "git, DVC and annover keep" in _one_line(err), err
    assert (repo.root / ".git" / "config").read_bytes() == config and not (tmp_path / "e.json").exists()
    assert ((repo.root / ".annover" / "HEAD").read_bytes() if head is not None else None) == head
    out = tmp_path / "e.json"
    out.write_text("mine")
    code, _, err = cli("dataset", "export", p.title, "--out", str(out))
    assert code == 2 and "exists" in _one_line(err) and out.read_text() == "mine"
    code, _, err = cli("dataset", "export", p.title, "--out", str(out), "--force")
    assert code == 0, err
    assert len(json.loads(out.read_text())) == 3


def test_create_and_delete_on_a_detached_head_change_nothing_on_the_server(ls, repo, sdk_admin):
    title = f"t-{uuid.uuid4().hex[:8]}-detached"
    code, _, err = cli("dataset", "create", title, "--template", "text-classification", "--labels", "a,b")
    assert code == 0, err
    git("checkout", "-q", "--detach", cwd=repo.root)
    try:
        code, _, err = cli("dataset", "delete", title, "--yes")
        assert code == 6 and "the dataset's record would be on no branch" in _one_line(err), err
        assert ls.projects(title=title)  # still on the server
        other = f"t-{uuid.uuid4().hex[:8]}-never"
        code, _, err = cli("dataset", "create", other, "--template", "text-classification", "--labels", "a,b")
        assert code == 6 and not ls.projects(title=other), err
    finally:
        git("checkout", "-q", "-", cwd=repo.root)
    code, _, err = cli("dataset", "delete", title, "--yes")
    assert code == 0 and not ls.projects(title=title), err
    assert not list((repo.root / ".annover" / "datasets").glob("*detached*"))


def _hold_lock(repo) -> "subprocess.Popen":
    """Another process holding the repository's lock until its standard input closes."""
    code = ("import sys; from pathlib import Path; from annover.store.refs import RepoLock\n"
            "with RepoLock(Path(sys.argv[1]), 5):\n    print('held', flush=True); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(repo.dir / "lock")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def test_create_and_delete_while_another_command_holds_the_lock_change_nothing_on_the_server(ls, repo, sdk_admin):
    """dataset create made the project, then waited for the lock to commit its record and gave up
    (exit 9): the project stayed on the server, unrecorded. Now the lock comes first."""
    title = f"t-{uuid.uuid4().hex[:8]}-locked"
    head = git("rev-parse", "HEAD", cwd=repo.root)
    holder = _hold_lock(repo)
    try:
        code, _, err = cli("dataset", "create", title, "--template", "text-classification", "--labels", "a,b",
                           env={"ANNOVER_LOCK_TIMEOUT": "0.2"})
        assert code == 9 and "locked by another annover process" in _one_line(err), err
        assert not ls.projects(title=title) and git("rev-parse", "HEAD", cwd=repo.root) == head
    finally:
        holder.communicate("")
    code, _, err = cli("dataset", "create", title, "--template", "text-classification", "--labels", "a,b")
    assert code == 0 and len(ls.projects(title=title)) == 1, err
    assert (repo.root / ".annover" / "datasets" / f"{title}.json").is_file()
    holder = _hold_lock(repo)
    try:
        code, _, err = cli("dataset", "delete", title, "--yes", env={"ANNOVER_LOCK_TIMEOUT": "0.2"})
        assert code == 9 and ls.projects(title=title), err  # still there, and still recorded
        assert (repo.root / ".annover" / "datasets" / f"{title}.json").is_file()
    finally:
        holder.communicate("")
    code, _, err = cli("dataset", "delete", title, "--yes")
    assert code == 0 and not ls.projects(title=title), err
    assert not (repo.root / ".annover" / "datasets" / f"{title}.json").exists()


def test_a_title_whose_record_another_dataset_has_is_refused_before_the_server(ls, repo, sdk_admin):
    tag = uuid.uuid4().hex[:8]
    first, second = f"My Reviews {tag}", f"my-reviews-{tag}"
    code, _, err = cli("dataset", "create", first, "--template", "text-classification", "--labels", "pos,neg")
    assert code == 0, err
    record = repo.root / ".annover" / "datasets" / f"my-reviews-{tag}.json"
    before = record.read_bytes()
    try:
        code, _, err = cli("dataset", "create", second, "--template", "ner", "--labels", "PER,ORG")
        assert code == 2 and f"the record of dataset {first!r}" in _one_line(err), err
        assert not ls.projects(title=second) and record.read_bytes() == before
    finally:
        for p in ls.projects(title=first):
            sdk_admin.projects.delete(id=p.id)


def test_predictions_in_the_tasks_and_in_a_predictions_file_are_sent_once(ls, project_factory, sdk_admin, tmp_path):
    p = project_factory("dup-preds")
    rows = [{**r, "predictions": [{"model_version": "m1", "score": 0.8, "result": choice("pos")}]}
            for r in records(3)]
    items = [{"data": {k: v for k, v in r.items() if k != "predictions"}, "predictions": r["predictions"]}
             for r in rows]
    src = tmp_path / "tasks.json"
    src.write_text(json.dumps(items))
    preds = write_jsonl(tmp_path / "p.jsonl", [{"task_key": r["id"], **r["predictions"][0]} for r in rows])
    res = tasks.push(ls, p.id, str(src), key="data.id", predictions=str(preds))
    assert res.predictions == 3
    got = server_tasks(sdk_admin, p.id)
    assert [len(t["predictions"]) for t in got] == [1, 1, 1]
    again = tasks.push(ls, p.id, str(src), key="data.id", predictions=str(preds))
    assert (again.predictions, again.predictions_already) == (0, 3)


def test_a_repeater_config_takes_its_tasks(ls, repo, sdk_admin):
    stem = "sdk_repeater_taxonomy"
    title = f"t-{uuid.uuid4().hex[:8]}-repeater"
    code, _, err = cli("dataset", "create", title, "--config", str(CORPUS / f"{stem}.xml"))
    assert code == 0, err
    try:
        code, _, err = cli("dataset", "push", title, "--from", str(CORPUS / f"{stem}.json"))
        assert code == 0, err
        n = len(json.loads((CORPUS / f"{stem}.json").read_text()))
        assert ls.project_by_id(ls.projects(title=title)[0].id).tasks == n
    finally:
        for p in ls.projects(title=title):
            sdk_admin.projects.delete(id=p.id)


def test_list_and_stats_escape_what_a_title_or_label_would_do_to_the_terminal(ls, sdk_admin):
    title = f"t-{uuid.uuid4().hex[:8]}-evil\x1b[31mred"
    p = Datasets(ls).create(title, TEXT_CONFIG).project
    try:
        for args in (["dataset", "list"], ["dataset", "stats", str(p.id)]):
            code, out, err = cli(*args)
            assert code == 0, err
            assert "\x1b" not in out and "evil\\x1b[31mred" in out
    finally:
        sdk_admin.projects.delete(id=p.id)


def test_suspects_threshold_and_sample_control_are_checked(two_rounds):
    repo, _, _ = two_rounds
    for value in ("nan", "inf", "-inf", "1e400"):
        code, _, err = cli("suspects", "--threshold", value)
        assert code == 2 and "not a finite number" in _one_line(err), err
    code, _, err = cli("sample", "--strategy", "random", "--n", "3", "--control", "nonesuch", "--no-record")
    line = _one_line(err)
    assert code == 2 and "'nonesuch'" in line and "sentiment" in line, err
    git("checkout", "-q", "--detach", cwd=repo.root)
    try:
        code, _, err = cli("sample", "--strategy", "random", "--n", "3")
        line = _one_line(err)
        assert code == 6 and "the sample's record would be on no branch" in line and "--no-record" in line, err
        code, out, err = cli("sample", "--strategy", "random", "--n", "3", "--no-record")
        assert code == 0 and len(out.split()) == 3, err
    finally:
        git("checkout", "-q", "-", cwd=repo.root)
    assert annover.Repo(repo.root).log()  # the repository is as it was


def test_a_coco_dataset_pushed_to_label_studio_pulls_back_as_the_same_tasks(ls_server, project_factory, sdk_admin,
                                                                            repo, monkeypatch):  # noqa: F811
    """COCO keys images by file name; a push of the version to a real project and a pull back
    keep those keys (the pull reads with the version's recorded ``stem:data.image``): no task
    added or removed, and the server holds each image once after a second push."""
    src = shared_corpus("formats") / "coco_polygons_cocoannotator.json"
    monkeypatch.chdir(repo.root)
    v1 = repo.snapshot(str(src), message="coco").version
    p = project_factory("coco-keys", repo.config_text("v1"))
    for _ in range(2):
        code, out, err = cli("dataset", "push", p.title, "--from", "v1", "--annotations", "--json")
        assert code == 0, err
    assert len(server_tasks(sdk_admin, p.id)) == repo.load("v1", "tasks").num_rows
    code, out, err = cli("snapshot", "--label-studio", p.title, "-m", "pulled", "--json")
    assert code == 0, err
    assert annover.Repo(repo.root).show("HEAD").record["origin"]["sync"]["key"] == "stem:data.image"
    d = annover.Repo(repo.root).diff(v1.id, "HEAD").summary
    assert (d["tasks"]["added"], d["tasks"]["removed"]) == (0, 0), d["tasks"]
    keys = lambda rev: sorted(annover.Repo(repo.root).load(rev, "tasks").column("task_key").to_pylist())  # noqa: E731
    assert keys("HEAD") == keys("v1")


def test_update_config_that_orphans_labels_in_use_is_refused_as_label_studio_does(ls_server, project_factory,
                                                                                   sdk_admin, tmp_path):  # noqa: F811
    """``dataset create --update-config`` asks Label Studio's own check first: a config without a
    label the annotations use is refused (exit 5) and the project keeps its config; one that
    keeps it goes through."""
    p = project_factory("orphans", TEXT_CONFIG)
    sdk_admin.projects.import_tasks(id=p.id, request=[{"data": {"text": "fine"}}])
    task = next(iter(sdk_admin.tasks.list(project=p.id)))
    sdk_admin.annotations.create(id=task.id, result=choice("neutral"))
    without = tmp_path / "without.xml"
    without.write_text(TEXT_CONFIG.replace('<Choice value="neutral"/>', ""))
    code, out, err = cli("dataset", "create", p.title, "--config", str(without), "--update-config")
    line = _one_line(err)
    assert code == 5 and "neutral" in line and "nothing was changed" in line, err
    assert "neutral" in sdk_admin.projects.get(id=p.id).label_config
    more = tmp_path / "more.xml"
    more.write_text(TEXT_CONFIG.replace('<Choice value="neutral"/>', '<Choice value="neutral"/><Choice value="mixed"/>'))
    code, out, err = cli("dataset", "create", p.title, "--config", str(more), "--update-config")
    assert code == 0, err
    assert "mixed" in sdk_admin.projects.get(id=p.id).label_config


def test_a_push_whose_files_the_server_cannot_serve_leaves_no_storage_behind(ls, ls_server, project_factory,
                                                                            sdk_admin, data_dir):  # noqa: F811
    """--document-root a folder below the server's real one: the storage is connected, then the
    check that Label Studio serves a file fails (HTTP 404); nothing is sent and the storage this
    push connected is removed."""
    p = project_factory("storage", IMAGE_CONFIG)
    folder = data_dir / "imgs"
    folder.mkdir()
    (folder / "a.png").write_bytes(png_bytes((255, 0, 0)))
    before = ls.raw("GET", "api/storages/localfiles/", what="listing", params={"project": p.id})
    with pytest.raises(InputError, match="cannot serve"):
        tasks.push(ls, p.id, str(folder), document_root=str(data_dir))
    after = ls.raw("GET", "api/storages/localfiles/", what="listing", params={"project": p.id})
    assert after == before == [] and server_tasks(sdk_admin, p.id) == []
