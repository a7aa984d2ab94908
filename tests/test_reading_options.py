"""Reading options a repository remembers (``--key``, ``--validate``) and the annotators it
knows (``--users``, learned from Label Studio), walked the way a user types them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import annover
from annover.errors import InputError, LockError, ObjectError, ValidationError
from annover.labelstudio import tasks as ls_tasks

from .conftest import EXAMPLES, ROOT, git, run_cli
from .ls_fixtures import annotator2, choice, ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures


def _tasks(path: Path) -> list[dict]:
    return json.loads(path.read_text())


def _write(path: Path, tasks: list[dict]) -> Path:
    path.write_text(json.dumps(tasks, indent=1))
    return path


def _by_id(tasks: list[dict]) -> list[dict]:
    """The export as a plain Label Studio JSON export names annotators: by numeric user id."""
    out = json.loads(json.dumps(tasks))
    for t in out:
        for a in t.get("annotations", []):
            if isinstance(a.get("completed_by"), dict):
                a["completed_by"] = a["completed_by"]["id"]
    return out


def _users_of(tasks: list[dict]) -> dict[int, str]:
    return {a["completed_by"]["id"]: a["completed_by"]["email"] for t in tasks for a in t.get("annotations", [])
            if isinstance(a.get("completed_by"), dict)}


def _ext_ids(path: Path) -> set[str]:
    return {t["data"]["ext_id"] for t in _tasks(path)}


# ---------------------------------------------------------------------------
# --key


def test_key_is_remembered_from_head(repo):
    v1 = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1")
    v2 = repo.snapshot("round2.json", message="round 2")  # no --key: HEAD's
    assert v2.remembered == ["--key data.ext_id"]
    assert v2.version.record["origin"]["reading"] == {"key": "data.ext_id", "validate": "check"}
    keys1, keys2 = _ext_ids(repo.root / "round1.json"), _ext_ids(repo.root / "round2.json")
    s = repo.diff("v1", "v2").summary
    assert s["tasks"]["added"] == len(keys2 - keys1)
    assert s["tasks"]["removed"] == len(keys1 - keys2)
    assert set(repo.load("v2", "tasks").column("task_key").to_pylist()) == keys2
    assert not any("scheme" in w for w in v1.warnings + v2.warnings + s["warnings"])


def test_a_change_of_key_scheme_is_said_at_the_snapshot_and_in_the_diff(repo):
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1")
    res = repo.snapshot("round1.json", key="auto", message="keys from content")
    assert res.changed and res.remembered == []
    assert any("task keys changed scheme, from --key data.ext_id" in w and "since HEAD (v1)" in w
               for w in res.warnings), res.warnings
    d = repo.diff("v1", "v2")
    n = len(_tasks(repo.root / "round1.json"))
    assert d.summary["tasks"]["added"] == d.summary["tasks"]["removed"] == n
    assert any("v1 -> v2: task keys changed scheme" in w for w in d.summary["warnings"])
    # and the CLI says it on stderr
    p = run_cli("diff", "v1", "v2", cwd=repo.root)
    assert p.returncode == 0 and "task keys changed scheme" in p.stderr


# ---------------------------------------------------------------------------
# --validate


def _with_unknown_label(src: Path, dst: Path) -> Path:
    tasks = _tasks(src)
    ann = next(a for t in tasks for a in t.get("annotations", []) if a["result"])
    ann["result"][0] = {**ann["result"][0], "value": {"choices": ["sarcastic"]}}
    assert ann["result"][0]["from_name"] == "sentiment"
    return _write(dst, tasks)


def test_strictness_is_remembered_and_can_be_changed(repo):
    bad1 = _with_unknown_label(repo.root / "round1.json", repo.root / "bad1.json")
    with pytest.raises(ValidationError, match="sarcastic"):
        repo.snapshot(str(bad1), config="labeling.xml", key="data.ext_id", message="checked by default")
    assert repo.head() is None  # nothing written
    v1 = repo.snapshot(str(bad1), config="labeling.xml", key="data.ext_id", validate="warn", message="round 1")
    assert any("sarcastic" in w for w in v1.warnings)
    bad2 = _with_unknown_label(repo.root / "round2.json", repo.root / "bad2.json")
    v2 = repo.snapshot(str(bad2), message="round 2")  # warn, as HEAD
    assert v2.changed and set(v2.remembered) == {"--key data.ext_id", "--validate warn"}
    assert any("sarcastic" in w for w in v2.warnings)
    with pytest.raises(ValidationError):
        repo.snapshot(str(bad1), validate="check", message="back to checking")
    assert repo.show("HEAD").id == v2.version.id


def test_cli_validate_levels_and_the_quiet_flag(repo):
    bad1 = _with_unknown_label(repo.root / "round1.json", repo.root / "bad1.json")
    p = run_cli("snapshot", "--from", str(bad1), "--config", "labeling.xml", "--key", "data.ext_id",
                "--validate", "strict", cwd=repo.root)
    assert p.returncode == ValidationError.exit_code and "sarcastic" in p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    p = run_cli("snapshot", "--from", str(bad1), "--config", "labeling.xml", "--key", "data.ext_id",
                "--no-validate", "--validate", "warn", cwd=repo.root)
    assert p.returncode != 0 and "disagree" in p.stderr
    p = run_cli("snapshot", "--from", str(bad1), "--config", "labeling.xml", "--key", "data.ext_id",
                "--validate", "warn", "-q", cwd=repo.root)
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"[0-9a-f]{64}\n", p.stdout)
    assert p.stdout.strip() == repo.head()
    lines = p.stderr.splitlines()  # -q: no summary, but the label kept unchecked is still said
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "sarcastic" in lines[0], p.stderr


# ---------------------------------------------------------------------------
# annotators: --users and the repository's map


def test_numeric_annotators_are_named_and_mapped_with_a_users_file(repo, tmp_path):
    tasks = _tasks(repo.root / "round1.json")
    users = _users_of(tasks)
    assert users, "the sample names its annotators by e-mail"
    plain = _write(tmp_path / "plain.json", _by_id(tasks))
    # unmapped: said, by id
    other = annover.init(tmp_path / "other")
    res = other.snapshot(str(plain), config=str(repo.root / "labeling.xml"), key="data.ext_id", message="ids")
    named = [w for w in res.warnings if "numeric" in w]
    assert named and all(str(uid) in named[0] for uid in users), res.warnings
    assert set(other.load("HEAD").column("annotator").to_pylist()) - {None} == {str(u) for u in users}
    # mapped by a users file: the same snapshot ids as the export that names them by e-mail
    ufile = tmp_path / "users.csv"
    ufile.write_text("id,email\n" + "".join(f"{k},{v}\n" for k, v in users.items()))
    v1 = repo.snapshot(str(plain), config="labeling.xml", key="data.ext_id", users=str(ufile), message="mapped")
    assert not any("numeric" in w for w in v1.warnings)
    assert git("show", "HEAD:.annover/users.json", cwd=repo.root)  # committed with the version
    emails = repo.snapshot("round1.json", message="the export with e-mails")
    assert not emails.changed, "the same labels, named two ways, are the same content"
    # the map is remembered: a plain export later needs no --users
    again = repo.snapshot(str(plain), message="plain again")
    assert not again.changed and not any("numeric" in w for w in again.warnings)


def test_a_users_map_given_to_a_snapshot_that_changes_nothing_is_remembered(repo, tmp_path):
    """HEAD read from an export naming annotators by e-mail; the UI export of the same labels with
    --users is the same content, so no version: the map was dropped unsaid, and the next snapshot of
    that export without --users made a version whose annotators were ids. It is now committed alone."""
    tasks = _tasks(repo.root / "round1.json")
    plain = _write(tmp_path / "plain.json", _by_id(tasks))
    ufile = tmp_path / "users.csv"
    ufile.write_text("id,email\n" + "".join(f"{k},{v}\n" for k, v in _users_of(tasks).items()))
    run_cli("snapshot", "--from", "round1.json", "--config", "labeling.xml", "--key", "data.ext_id", "-m", "r1",
            cwd=repo.root, check=True)
    v1, before = repo.head(), git("rev-parse", "HEAD", cwd=repo.root)
    p = run_cli("snapshot", "--from", str(plain), "--users", str(ufile), "--dry-run", cwd=repo.root)
    assert p.returncode == 0 and "would remember the users" in p.stderr, p.stderr
    assert git("rev-parse", "HEAD", cwd=repo.root) == before  # a dry run writes nothing
    p = run_cli("snapshot", "--from", str(plain), "--users", str(ufile), "-m", "ids", cwd=repo.root)
    assert p.returncode == 0 and p.stdout == "", p.stderr
    assert "nothing changed" in p.stderr and "remembered the users" in p.stderr and "warning" not in p.stderr
    assert repo.head() == v1 and git("tag", cwd=repo.root).split() == ["v1"]  # no version
    assert git("rev-parse", "HEAD~1", cwd=repo.root) == before  # one commit: the map alone
    assert git("diff", "--name-only", "HEAD~1", "HEAD", cwd=repo.root).split() == [".annover/users.json"]
    assert "remember the users of users.csv" in git("log", "-1", "--format=%s", cwd=repo.root)
    assert git("status", "--porcelain", "--", ".annover", cwd=repo.root) == ""
    p = run_cli("snapshot", "--from", str(plain), "-m", "ids again", cwd=repo.root)  # no --users: the map is known
    assert p.returncode == 0 and p.stdout == "" and "nothing changed" in p.stderr and "numeric" not in p.stderr
    p = run_cli("snapshot", "--from", str(plain), "--users", str(ufile), "--json", "-m", "x", cwd=repo.root)
    assert json.loads(p.stdout)["users_committed"] is False, p.stderr
    p = run_cli("snapshot", "--from", str(plain), "--users", str(ufile), "-m", "x", cwd=repo.root)
    assert "no new user ids" in p.stderr and "remembered" not in p.stderr
    assert repo.head() == v1


@pytest.mark.parametrize("shape", ["json-object", "api-list", "bad"])
def test_users_file_shapes(repo, tmp_path, shape):
    plain = _write(tmp_path / "plain.json", _by_id(_tasks(repo.root / "round1.json")))
    users = _users_of(_tasks(repo.root / "round1.json"))
    f = tmp_path / "users.json"
    if shape == "json-object":
        f.write_text(json.dumps({str(k): v for k, v in users.items()}))
    elif shape == "api-list":
        f.write_text(json.dumps({"results": [{"id": k, "email": v, "first_name": ""} for k, v in users.items()]}))
    else:
        f.write_text(json.dumps({"alice": "alice@example.com"}))
    if shape == "bad":
        with pytest.raises(InputError, match="entry 'alice'"):
            repo.snapshot(str(plain), config="labeling.xml", key="data.ext_id", users=str(f), message="x")
        assert repo.head() is None and not (repo.dir / "users.json").exists()
        return
    res = repo.snapshot(str(plain), config="labeling.xml", key="data.ext_id", users=str(f), message="x")
    assert set(repo.load("HEAD").column("annotator").to_pylist()) - {None} == set(users.values())
    assert res.changed


# ---------------------------------------------------------------------------
# the README's Quickstart, typed as written


def _quickstart() -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split("## Quickstart", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return block


def test_quickstart_typed_literally_gives_a_sensible_diff(tmp_path):
    lines = [ln for ln in _quickstart().splitlines() if ln.strip() and not ln.startswith("pip install")]
    assert any("annover diff v1 v2" in ln for ln in lines)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    script = "set -euo pipefail\n" + "\n".join(lines) + "\nannover diff v1 v2 --json > ~/diff.json\n"
    p = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "diff v1" in p.stdout
    s = json.loads((home / "diff.json").read_text())
    keys1, keys2 = _ext_ids(EXAMPLES / "round1.json"), _ext_ids(EXAMPLES / "round2.json")
    assert s["tasks"]["added"] == len(keys2 - keys1)
    assert s["tasks"]["removed"] == len(keys1 - keys2)


# ---------------------------------------------------------------------------
# a live Label Studio project: pulled, and exported the way the UI exports it


@pytest.mark.labelstudio
def test_live_pull_and_the_ui_export_give_the_same_snapshot(repo, tmp_path, ls, project_factory, sdk_admin,
                                                            annotator2, ls_server):
    p = project_factory("ui-export")
    src = tmp_path / "records.jsonl"
    src.write_text("".join(json.dumps({"id": f"r{i}", "text": f"review {i}"}) + "\n" for i in range(1, 5)))
    ls_tasks.push(ls, p.id, str(src), key="data.id")
    ids = {t.data["id"]: t.id for t in sdk_admin.tasks.list(project=p.id)}
    sdk_admin.annotations.create(id=ids["r1"], result=choice("pos"))
    sdk_admin.annotations.create(id=ids["r2"], result=choice("neg"))
    client2, email2, completed_by2 = annotator2
    kw = {"completed_by": completed_by2} if completed_by2 is not None else {}
    client2.annotations.create(id=ids["r1"], result=choice("neg"), **kw)

    live = repo.snapshot(label_studio=p.id, client=ls, key="data.id", message="pulled live")
    assert live.changed
    assert email2 in set(repo.load("HEAD").column("annotator").to_pylist())
    # the UI's Export button: plain JSON, annotators as numeric user ids (with the unlabeled
    # tasks too, which the plain export leaves out unless asked: annover's pull has them)
    r = httpx.get(f"{ls_server.url}/api/projects/{p.id}/export",
                  params={"exportType": "JSON", "download_all_tasks": "true"},
                  headers={"Authorization": f"Token {ls_server.api_key}"}, timeout=120)
    r.raise_for_status()
    exported = r.json()
    assert any(isinstance(a["completed_by"], int) for t in exported for a in t["annotations"])
    ui = _write(tmp_path / "ui-export.json", exported)
    same = repo.snapshot(str(ui), message="the UI export")
    assert not same.changed, "the repository learned the annotators from the server"
    assert not any("numeric" in w for w in same.warnings)
    # a repository that never talked to the server says so, and agrees once given the users
    fresh = annover.init(tmp_path / "fresh")
    cfg = tmp_path / "labeling.xml"
    cfg.write_text(repo.config_text("HEAD"))
    res = fresh.snapshot(str(ui), config=str(cfg), key="data.id", message="ids only")
    assert any("numeric" in w for w in res.warnings)
    users = tmp_path / "users.json"
    users.write_text(json.dumps([{"id": u.id, "email": u.email} for u in sdk_admin.users.list()]))
    mapped = fresh.snapshot(str(ui), users=str(users), message="mapped")
    t = mapped.version.record["tables"]
    assert (t["tasks"]["id"], t["annotations"]["id"]) == (live.version.record["tables"]["tasks"]["id"],
                                                         live.version.record["tables"]["annotations"]["id"])


# ---------------------------------------------------------------------------
# messages that say the right thing (issue 11, item 8)


def test_missing_files_are_exit_14_whatever_the_option(repo, tmp_path):
    cases = [("--from", "nope.json"), ("--config", "nope.xml"), ("--predictions", "nope.jsonl"),
             ("--users", "nope.csv"), ("--source", "nope-folder")]
    base = {"--from": "round1.json", "--config": "labeling.xml", "--key": "data.ext_id"}
    for opt, name in cases:
        p = run_cli("snapshot", *[x for kv in {**base, opt: name}.items() for x in kv], cwd=repo.root)
        assert p.returncode == 14, (opt, p.stderr)
        assert p.stderr.startswith("Error: ") and name in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert repo.head() is None


def test_json_that_is_empty_cut_off_or_invalid_is_told_apart(repo):
    text = (repo.root / "round1.json").read_text()
    cases = {"empty.json": ("", "the file is empty"),
             "cut.json": (text[:300], "truncated JSON: the file ends at line"),
             "cut-number.json": (text[:text.index('"id"', 10) + 6], "truncated JSON"),
             "bad.json": (text.replace('"data"', 'data', 1), "invalid JSON at line")}
    for name, (body, want) in cases.items():
        (repo.root / name).write_text(body)
        p = run_cli("snapshot", "--from", name, "--config", "labeling.xml", cwd=repo.root)
        assert p.returncode == InputError.exit_code and want in p.stderr, (name, p.stderr)
        assert "Unterminated string starting at —" not in p.stderr


def test_a_key_error_names_the_fields_that_exist(repo):
    p = run_cli("snapshot", "--from", "round1.json", "--config", "labeling.xml", "--key", "data.doc_id",
                cwd=repo.root)
    fields = sorted(_tasks(repo.root / "round1.json")[0]["data"])
    assert p.returncode == InputError.exit_code
    assert "no field doc_id" in p.stderr and f"its fields: {', '.join(fields)}" in p.stderr, p.stderr
    assert "'data.doc_id'" not in p.stderr


def test_click_usage_errors_are_one_line(repo):
    p = run_cli("snapshot", "--bogus", cwd=repo.root)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--bogus" in p.stderr and "--help" in p.stderr, p.stderr


def test_a_missing_object_names_the_version_and_the_command_that_fetches_it(two_rounds):
    repo, v1, v2 = two_rounds
    before = repo.load("v1")
    repo.push("v1")
    shutil.rmtree(repo.dvc.cache_dir())
    for p in (repo.dir / "objects").rglob("*"):
        if p.is_file():
            p.unlink()
    with pytest.raises(ObjectError) as e:
        repo.load("v1")
    assert e.value.message.startswith(f"version v1 ({v1.id[:12]}): ") and e.value.hint.startswith("run `annover pull v1`")
    assert "dvc pull" not in str(e.value)
    with pytest.raises(ObjectError) as e:  # export and diff name it too
        repo.export("v1", "csv", str(repo.root / "out.csv"))
    assert e.value.message.startswith(f"version v1 ({v1.id[:12]}): ") and e.value.hint.startswith("run `annover pull v1`")
    with pytest.raises(ObjectError) as e:
        repo.diff("v1", "v2")
    assert e.value.message.startswith("v1 -> v2: ") and "`annover pull v1` and `annover pull v2`" in e.value.hint
    assert "VERSION" not in str(e.value)
    repo.pull("v1")
    assert repo.load("v1").equals(before)


def test_a_file_outside_the_repository_is_recorded_by_its_name_only(repo, tmp_path):
    outside = tmp_path / "elsewhere" / "deep"
    outside.mkdir(parents=True)
    shutil.copy(repo.root / "round1.json", outside / "export.json")
    res = repo.snapshot(str(outside / "export.json"), config="labeling.xml", key="data.ext_id", message="x")
    assert res.version.record["origin"]["path"] == "export.json"
    assert str(tmp_path) not in json.dumps(res.version.record) and ".." not in res.version.record["origin"]["path"]
    inside = repo.snapshot("round2.json", message="y")
    assert inside.version.record["origin"]["path"] == "round2.json"


@pytest.mark.labelstudio
def test_a_version_landing_during_a_label_studio_pull_refuses_the_pull(repo, tmp_path, ls, project_factory,
                                                                      sdk_admin):
    p = project_factory("landing")
    src = tmp_path / "records.jsonl"
    src.write_text("".join(json.dumps({"id": f"r{i}", "text": f"review {i}"}) + "\n" for i in range(1, 4)))
    ls_tasks.push(ls, p.id, str(src), key="data.id")
    first = repo.snapshot(label_studio=p.id, client=ls, key="data.id", message="pulled")
    task = next(iter(sdk_admin.tasks.list(project=p.id)))
    sdk_admin.annotations.create(id=task.id, result=choice("pos"))
    exported = _write(tmp_path / "teammate.json", [
        {"id": t.id, "data": t.data, "annotations": [{"completed_by": {"id": 1, "email": "t@example.com"},
                                                        "result": choice("neg")}]}
        for t in sdk_admin.tasks.list(project=p.id)])
    landed = {}

    def progress(step: str) -> None:  # while the server exports, a teammate's version lands
        if step.startswith("Label Studio is exporting") and not landed:
            q = run_cli("snapshot", "--from", str(exported), "-m", "their round", cwd=repo.root)
            assert q.returncode == 0, q.stderr
            landed["id"] = q.stdout.strip()

    with pytest.raises(LockError) as e:
        repo.snapshot(label_studio=p.id, client=ls, message="my pull", full=True, progress=progress)
    assert landed and landed["id"][:12] in str(e.value) and "their round" in str(e.value)
    assert [v.id for v in repo.log()] == [landed["id"], first.version.id]


# ---------------------------------------------------------------------------
# --users FILE: any bytes give a map or a one-line InputError, never another exception

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from annover.errors import InputError  # noqa: E402
from annover.repo.reading import read_users_file  # noqa: E402

_USERS_SAMPLES = [
    b'{"1": "alice@example.com", "2": "bob@example.com"}',
    b'[{"id": 3, "email": "carol@example.com"}]',
    b"id,email\n4,dave@example.com\n",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from(_USERS_SAMPLES), suffix=st.sampled_from([".json", ".csv"]),
       cut=st.integers(0, 60), junk=st.binary(max_size=24))
def test_users_file_any_bytes_is_a_map_or_one_line_error(tmp_path, base, suffix, cut, junk):
    data = base[:cut] + junk + base[cut:]
    p = tmp_path / f"users{suffix}"
    p.write_bytes(data)
    try:
        users = read_users_file(p)
    except InputError as e:
        assert "\n" not in str(e) and str(p) in str(e)
        return
    assert all(isinstance(k, int) and isinstance(v, str) and v for k, v in users.items())


@pytest.mark.parametrize("name,data,says", [
    ("users.json", b'{"1": "a@x"}\xff', "not UTF-8"),
    ("users.json", b"[" * 100_000, "nested too deeply"),
    ("users.csv", b'id,email\n1,"' + b"x" * 200_000 + b'"\n', "not valid CSV"),
    ("users.json", '{"²": "a@x"}'.encode(), "numeric Label Studio user id"),
])
def test_users_file_malformed_is_named(tmp_path, name, data, says):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(InputError) as e:
        read_users_file(p)
    assert says in str(e.value) and str(p) in str(e.value)
