"""The repository end to end on real git and real DVC."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import annover
from annover.model import canonical as C
from annover.errors import NotARepoError, ObjectError, RevisionError, UsageError

from .conftest import git


def test_init_makes_git_dvc_and_layout(tmp_path):
    r = annover.init(tmp_path / "r")
    root = tmp_path / "r"
    assert (root / ".git").is_dir() and (root / ".dvc").is_dir()
    assert (root / ".annover" / "config.json").is_file()
    assert git("status", "--porcelain", cwd=root) == ""
    assert "annover init" in git("log", "--format=%s", cwd=root)
    # the default remote is a local folder, outside the repo, committed in .dvc/config (issue 11)
    assert "annover" in git("show", "HEAD:.dvc/config", cwd=root) and r.status().remote.this_machine
    assert r.head() is None


def test_init_twice_is_harmless_and_bad_state_is_reported(tmp_path):
    annover.init(tmp_path / "r")
    before = git("rev-parse", "HEAD", cwd=tmp_path / "r")
    annover.init(tmp_path / "r")
    assert git("rev-parse", "HEAD", cwd=tmp_path / "r") == before
    bad = tmp_path / "bad"
    (bad / ".annover").mkdir(parents=True)
    with pytest.raises(NotARepoError, match="no config.json"):
        annover.init(bad)
    assert not (bad / ".annover" / "config.json").exists()


def test_init_inside_existing_git_repo_keeps_user_history(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    (root / "train.py").write_text("print(1)\n")
    git("add", "train.py", cwd=root)
    git("commit", "-q", "-m", "code", cwd=root)
    annover.init(root)
    log = git("log", "--format=%s", cwd=root).split("\n")
    assert log[:2] == ["annover init", "code"]


@pytest.mark.parametrize("own_remote", [False, True])
def test_init_in_a_folder_of_a_dvc_project_commits_the_remote_it_sets_and_keeps_the_projects(tmp_path, own_remote):
    """An ML project with git and DVC at its top, annover started in ``labels/``: the versions use
    the project's DVC. The remote annover set in the project's ``.dvc/config`` (where it had none) is
    committed with the rest, as at the top (it was left as a local change: ``git status`` dirty, and
    a clone had no remote to ``dvc pull``); a default remote of the project's own stays its own."""
    root = tmp_path / "proj"
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True)
    if own_remote:
        subprocess.run([sys.executable, "-m", "dvc", "remote", "add", "-q", "-d", "mine", str(tmp_path / "mine")],
                       cwd=root, check=True)
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "ml project", cwd=root)
    before = (root / ".dvc" / "config").read_text()
    r = annover.init(root / "labels")
    assert git("status", "--porcelain", cwd=root) == ""
    committed = git("show", "HEAD:.dvc/config", cwd=root)
    assert committed == (root / ".dvc" / "config").read_text()
    assert (committed == before) == own_remote
    assert r.status().remote.name == ("mine" if own_remote else "annover")


def test_snapshot_log_show_and_stats(two_rounds):
    repo, v1, v2 = two_rounds
    assert repo.resolve("v1") == v1.id and repo.resolve("v2") == v2.id == repo.head()
    assert [v.id for v in repo.log()] == [v2.id, v1.id]
    assert v2.parents == [v1.id]
    raw = json.loads(Path("round2.json").read_text())
    s = v2.stats
    assert s["tasks"] == len(raw)
    assert s["annotations"] == sum(len(t["annotations"]) for t in raw)
    assert s["skipped"] == sum(a["was_cancelled"] for t in raw for a in t["annotations"])
    labeled = sum(any(not a["was_cancelled"] for a in t["annotations"]) for t in raw)
    assert s["labeled"] == labeled and s["unlabeled"] == len(raw) - labeled
    want: dict[str, int] = {}
    for t in raw:
        for a in t["annotations"]:
            want[a["completed_by"]["email"]] = want.get(a["completed_by"]["email"], 0) + 1
    assert s["annotators"] == want
    sentiments: dict[str, int] = {}
    for t in raw:
        for a in t["annotations"]:
            for r in a["result"]:
                if r["from_name"] == "sentiment":
                    lab = r["value"]["choices"][0]
                    sentiments[lab] = sentiments.get(lab, 0) + 1
    assert s["labels"]["sentiment"] == dict(sorted(sentiments.items()))
    assert set(s["predictions"]) == {p["model_version"] for t in raw for p in t["predictions"]}
    # the record links config, origin and predictions
    assert v2.record["config"]["oid"] == v1.record["config"]["oid"]
    assert v2.record["origin"] == {"kind": "file", "path": "round2.json", "format": "label-studio",
                                   "sha256": __import__("hashlib").sha256(Path("round2.json").read_bytes()).hexdigest(),
                                   "reading": {"key": "data.ext_id", "validate": "check"}}


def test_each_snapshot_is_one_commit_with_only_annover_files_and_a_tag(repo):
    Path("notes.txt").write_text("user work in progress\n")
    git("add", "notes.txt", cwd=Path.cwd())
    res = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1")
    files = git("show", "--name-only", "--format=", "HEAD", cwd=Path.cwd()).split()
    assert files and all(f.startswith(".annover/") for f in files)
    assert ".annover/objects.dvc" in files and f".annover/versions/{res.version.id}.json" in files
    assert git("rev-parse", "v1^{commit}", cwd=Path.cwd()).strip() == res.commit
    # the user's staged file is still staged, not committed
    assert "A  notes.txt" in git("status", "--porcelain", cwd=Path.cwd())
    assert " .annover" not in git("status", "--porcelain", cwd=Path.cwd())


def test_nothing_changed_makes_no_version(two_rounds):
    repo, v1, v2 = two_rounds
    head_commit = git("rev-parse", "HEAD", cwd=Path.cwd())
    res = repo.snapshot("round2.json", key="data.ext_id", message="again")
    assert not res.changed and res.version is None
    assert repo.head() == v2.id and git("rev-parse", "HEAD", cwd=Path.cwd()) == head_commit


def test_rev_parsing(two_rounds):
    repo, v1, v2 = two_rounds
    assert repo.resolve("HEAD~1") == v1.id == repo.resolve("HEAD^") == repo.resolve("v2~1")
    assert repo.resolve(v1.id[:8]) == v1.id and repo.resolve(v2.id) == v2.id
    with pytest.raises(RevisionError, match="no parent"):
        repo.resolve("HEAD~2")
    with pytest.raises(RevisionError, match="unknown revision"):
        repo.resolve("nope")
    with pytest.raises(RevisionError):
        repo.resolve("0000000")


def test_tag_names_a_version_in_annover_and_git(two_rounds):
    repo, v1, v2 = two_rounds
    out = repo.tag("baseline", "v1")
    assert repo.resolve("baseline") == v1.id
    assert git("rev-parse", "baseline^{commit}", cwd=Path.cwd()).strip() == out.commit == repo.commit_of(v1.id)
    with pytest.raises(UsageError, match="already exists"):
        repo.tag("baseline", "v2")
    repo.tag("baseline", "v2", force=True)
    assert repo.resolve("baseline") == v2.id
    with pytest.raises(UsageError, match="invalid tag"):
        repo.tag("bad name", "v1")


def test_load_returns_arrow_in_schema(two_rounds):
    repo, v1, v2 = two_rounds
    t = annover.load("v1")
    assert isinstance(t, pa.Table) and t.schema.names == C.schema("annotations").names
    assert t.num_rows == v1.record["tables"]["annotations"]["rows"]
    assert annover.load("v2", table="predictions").num_rows == v2.record["tables"]["predictions"]["sentiment-bert-v1"]["rows"]
    tasks = annover.load("v2", table="tasks", repo=str(repo.root))
    assert tasks.num_rows == v2.stats["tasks"]
    with pytest.raises(UsageError):
        annover.load("v2", table="nope")


def test_export_label_studio_round_trip_gives_same_ids(two_rounds, tmp_path):
    repo, v1, v2 = two_rounds
    out = tmp_path / "v2.json"
    repo.export("v2", "label-studio", out)
    res = repo.snapshot(str(out), key="data.ext_id", message="re-import")
    assert not res.changed  # same content as HEAD (v2): no new version
    other = annover.init(tmp_path / "other")
    res = other.snapshot(str(out), config="labeling.xml", key="data.ext_id", message="elsewhere")
    for name in ("tasks", "annotations"):
        assert res.version.record["tables"][name]["id"] == v2.record["tables"][name]["id"]
    assert {mv: s["id"] for mv, s in res.version.record["tables"]["predictions"].items()} == \
        {mv: s["id"] for mv, s in v2.record["tables"]["predictions"].items()}


@pytest.mark.parametrize("fmt", ["json-min", "jsonl", "csv", "parquet"])
def test_export_formats(two_rounds, tmp_path, fmt):
    repo, v1, v2 = two_rounds
    out = tmp_path / f"out.{fmt}"
    res = repo.export("v2", fmt, out)
    assert out.exists() and res.bytes == out.stat().st_size
    ann = annover.load("v2")
    if fmt == "parquet":
        assert pq.read_table(out).equals(ann)
    elif fmt == "jsonl":
        rows = [json.loads(x) for x in out.read_text().splitlines()]
        assert len(rows) == ann.num_rows
        assert [r["labels"] for r in rows] == ann.column("labels").to_pylist()
    elif fmt == "csv":
        import pyarrow.csv as pcsv

        assert pcsv.read_csv(out).num_rows == ann.num_rows
    else:
        rows = json.loads(out.read_text())
        live = {(r["task_key"], r["annotation_key"]) for r in ann.to_pylist() if not r["was_cancelled"]}
        assert len(rows) == len(live)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_own_export_snapshots_back_to_the_same_annotations(two_rounds, tmp_path, fmt):
    """annover's annotations table exported as Parquet or JSONL (JSON columns embedded as
    objects) reads back as that table: skips, ground truth and provenance included, the same id."""
    repo, v1, v2 = two_rounds
    tasks = json.loads(Path("round2.json").read_text())
    tasks[0]["annotations"].append({"id": 999, "completed_by": 3, "was_cancelled": True, "result": []})
    tasks[1]["annotations"][0]["ground_truth"] = True
    Path("round3.json").write_text(json.dumps(tasks))
    v3 = repo.snapshot("round3.json", message="a skip and a ground truth").version
    out = tmp_path / f"ann.{fmt}"
    repo.export("v3", fmt, out)
    other = annover.init(tmp_path / "other")
    res = other.snapshot(str(out), message=f"from {fmt}")
    assert res.version.record["tables"]["annotations"]["id"] == v3.record["tables"]["annotations"]["id"]
    assert other.read_table("HEAD").equals(repo.read_table("v3"))


def test_flipped_byte_in_a_part_is_never_loaded(two_rounds):
    repo, v1, v2 = two_rounds
    ref = repo.version(v2.id).snapshot("annotations")
    from annover.store.snapshots import read_manifest

    part = read_manifest(repo.store, ref)["parts"][0]["oid"]
    p = repo.store.path(part)
    p.chmod(0o644)
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))
    with pytest.raises(ObjectError, match=part[:12] + ".*corrupt"):
        annover.load("v2")


def test_older_versions_are_read_from_the_dvc_cache(two_rounds):
    repo, v1, v2 = two_rounds
    # the working store holds only HEAD's objects
    present = {p.parent.name + p.name for p in (repo.dir / "objects").glob("*/*")}
    assert present == {r.oid for r in repo.objects_of(v2)}
    assert annover.load("v1").num_rows == v1.record["tables"]["annotations"]["rows"]


def test_push_and_pull_move_only_one_versions_objects(two_rounds, tmp_path):
    repo, v1, v2 = two_rounds
    remote = tmp_path / "remote"
    annover.init(".", remote=str(remote))
    repo.push("v1")
    pushed = {p.parent.name + p.name for p in remote.rglob("*") if p.is_file() and not p.name.endswith(".dir")}
    need_v1 = {r.md5 for r in repo.objects_of(v1)}
    need_v2 = {r.md5 for r in repo.objects_of(v2)}
    assert need_v1 <= pushed
    assert not (need_v2 - need_v1) & pushed
    assert repo.status().pushed is False
    repo.push("v2")
    assert repo.status().pushed is True
    # a fresh clone reads v1 after pulling it, and only it
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.root), str(clone)], check=True)
    c = annover.Repo(clone)
    with pytest.raises(ObjectError, match="annover pull"):
        c.read_table("v1")
    c.pull("v1")
    assert c.read_table("v1").equals(repo.read_table("v1"))


def test_training_script_with_plain_git_and_dvc(tmp_path, monkeypatch):
    """git clone + checkout v1 + dvc pull, then annover.load from inside and from a git URL."""
    from .conftest import EXAMPLES

    remote = tmp_path / "remote"
    repo = annover.init(tmp_path / "data-repo", remote=str(remote))
    monkeypatch.chdir(repo.root)
    v1 = repo.snapshot(str(EXAMPLES / "round1.json"), config=str(EXAMPLES / "labeling.xml"), key="data.ext_id",
                       message="round 1").version
    v2 = repo.snapshot(str(EXAMPLES / "round2.json"), key="data.ext_id", message="round 2").version
    repo.push("v1")
    repo.push("v2")
    clone = tmp_path / "train"
    subprocess.run(["git", "clone", "-q", str(repo.root), str(clone)], check=True)
    subprocess.run(["git", "checkout", "-q", "v1"], cwd=clone, check=True)
    dvc = Path(sys.executable).with_name("dvc")
    subprocess.run([str(dvc), "pull", "-q"], cwd=clone, check=True)
    files = {p.parent.name + p.name for p in (clone / ".annover" / "objects").glob("*/*")}
    assert files == {r.oid for r in repo.objects_of(v1)}  # exactly v1's objects
    code = "import annover; print(annover.load('HEAD').num_rows)"
    out = subprocess.run([sys.executable, "-c", code], cwd=clone, capture_output=True, text=True, check=True)
    assert int(out.stdout) == v1.record["tables"]["annotations"]["rows"]
    # from outside any repo, by git URL and a tag, through DVC's API
    monkeypatch.chdir(tmp_path)
    t = annover.load("v2", repo="file://" + str(repo.root))
    assert t.equals(repo.read_table("v2"))
    t = annover.load("v1", table="tasks", repo="file://" + str(repo.root))
    assert t.equals(repo.read_table("v1", "tasks"))


def test_source_data_link_and_data_hashes(repo):
    imgs = Path("data/images")
    imgs.mkdir(parents=True)
    (imgs / "a.png").write_bytes(b"\x89PNG-a")
    (imgs / "b.png").write_bytes(b"\x89PNG-b")
    tasks = [{"data": {"image": "/data/local-files/?d=data/images/a.png"}},
             {"data": {"image": "data/images/b.png"}}, {"data": {"image": "http://elsewhere/c.png"}}]
    Path("img.json").write_text(json.dumps(tasks))
    res = repo.snapshot("img.json", source_data="data/images", message="images")
    src = res.version.record["source"]
    assert src["path"] == "data/images" and src["nfiles"] == 2
    hashes = dict(zip(*[repo.read_table("HEAD", "tasks").column(c).to_pylist() for c in ("data", "data_hash")]))
    import hashlib

    want = {json.dumps(t["data"], separators=(",", ":")): None for t in tasks}
    got = {json.dumps(json.loads(k), separators=(",", ":")): v for k, v in hashes.items()}
    assert got[json.dumps(tasks[0]["data"], separators=(",", ":"))] == hashlib.sha256(b"\x89PNG-a").hexdigest()
    assert got[json.dumps(tasks[1]["data"], separators=(",", ":"))] == hashlib.sha256(b"\x89PNG-b").hexdigest()
    assert got[json.dumps(tasks[2]["data"], separators=(",", ":"))] is None
    assert set(got) == set(want)
    # changing an image changes the version's source link and the task's content
    (imgs / "a.png").write_bytes(b"\x89PNG-a2")
    res2 = repo.snapshot("img.json", source_data="data/images", message="images changed")
    assert res2.changed and res2.version.record["source"]["sha256"] != src["sha256"]
    assert res2.version.record["tables"]["tasks"]["id"] != res.version.record["tables"]["tasks"]["id"]


def test_source_outside_repo_is_refused(repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    from annover.errors import InputError

    with pytest.raises(InputError, match="outside the repository"):
        repo.snapshot("round1.json", config="labeling.xml", source_data=str(outside), message="x")
    with pytest.raises(InputError, match="outside the repository"):
        repo.snapshot("round1.json", config="labeling.xml", source_data="../outside", message="x")
    assert repo.head() is None


def test_predictions_file_by_task_key(repo, tmp_path):
    p = tmp_path / "preds.jsonl"
    p.write_text("".join(json.dumps({"task_key": f"rev-{i:03d}", "model_version": "m2", "score": 0.5 + i / 100,
                                     "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                                 "value": {"choices": ["neutral"]}}]}) + "\n" for i in range(5)))
    res = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", predictions=str(p), message="p")
    assert res.version.stats["predictions"] == {"m2": {"tasks": 5, "regions": 5}}
    t = repo.read_table("HEAD", "predictions", model_version="m2")
    assert sorted(t.column("task_key").to_pylist()) == [f"rev-{i:03d}" for i in range(5)]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"task_key": "nope", "model_version": "m2", "result": []}) + "\n")
    from annover.errors import InputError

    with pytest.raises(InputError, match="none of its 1 predictions is for a task in the data"):
        repo.snapshot("round1.json", key="data.ext_id", predictions=str(bad), message="p")
    # some of them elsewhere: left out, counted
    bad.write_text(p.read_text().replace("rev-000", "nope").replace("rev-001", "gone").replace('"m2"', '"m3"'))
    res = repo.snapshot("round1.json", predictions=str(bad), message="p3")
    assert any("2 prediction(s) of 2 task(s) not in the data were left out" in w for w in res.warnings)
    assert res.version.stats["predictions"]["m3"] == {"tasks": 3, "regions": 3}


def test_large_table_is_split_into_parts_and_unchanged_parts_are_shared(repo, tmp_path, monkeypatch):
    monkeypatch.setattr(C, "TASKS_PER_PART", 64)
    n = 3000
    rows = {"task_key": [f"t{i:05d}" for i in range(n)], "label": ["positive"] * n}
    pq.write_table(pa.table(rows), tmp_path / "a.parquet")
    rows["label"][10] = "negative"
    pq.write_table(pa.table(rows), tmp_path / "b.parquet")
    a = repo.snapshot(str(tmp_path / "a.parquet"), config="labeling.xml", message="a").version
    b = repo.snapshot(str(tmp_path / "b.parquet"), message="b").version
    from annover.store.snapshots import read_manifest

    pa_ = {p["oid"] for p in read_manifest(repo.store, a.snapshot("annotations"))["parts"]}
    pb_ = {p["oid"] for p in read_manifest(repo.store, b.snapshot("annotations"))["parts"]}
    assert len(pa_) > 10
    assert len(pb_ - pa_) == 1  # one label changed: one new part
    assert repo.read_table(b.id).num_rows == n


def test_edited_version_record_is_detected(two_rounds):
    repo, v1, v2 = two_rounds
    p = repo.version_path(v1.id)
    rec = json.loads(p.read_text())
    rec["message"] = "rewritten history"
    p.write_text(json.dumps(rec))
    with pytest.raises(ObjectError, match="does not match its id"):
        repo.show("v1")


def test_cancelled_part_encodings_are_redone(two_rounds):
    """Encoding runs ahead of the lock and is cancelled when the content looks like HEAD's;
    parts it cancelled are encoded when the snapshot goes on (HEAD moved meanwhile)."""
    from concurrent.futures import ThreadPoolExecutor

    from annover.store.snapshots import TASK_HASH, collect_parts, encode_parts, part_bytes

    repo, v1, _ = two_rounds
    table = repo.load(v1.id, table="annotations")
    with ThreadPoolExecutor(max_workers=1) as pool:
        rows, futures, stored = encode_parts(table, pool, "annotations")
    assert stored.column_names == [*table.column_names, TASK_HASH]
    cancelled = [pool_future_cancelled() for _ in futures]
    want = [part_bytes(stored.slice(sum(rows[:i]), n)) for i, n in enumerate(rows)]
    assert collect_parts(rows, cancelled, stored) == want
    assert collect_parts(rows, futures, stored) == want


def pool_future_cancelled():
    from concurrent.futures import Future

    f = Future()
    assert f.cancel()
    return f


def test_snapshot_of_heads_content_after_head_moved(two_rounds, monkeypatch):
    """The content is read and encoded against v1 (HEAD as the snapshot starts, stale); under
    the lock HEAD is v2, whose content differs: the snapshot of round 1 again is a complete
    new version with v1's content, on v2 (nothing planned against v1 is taken as it is)."""
    repo, v1, v2 = two_rounds
    monkeypatch.setattr(C, "TASKS_PER_PART", 2)  # many small parts
    real_head = type(repo).head
    calls = []

    def stale_head(self):
        calls.append(1)
        return v1.id if len(calls) == 1 else real_head(self)

    monkeypatch.setattr(type(repo), "head", stale_head)
    res = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1 again")
    monkeypatch.undo()
    assert len(calls) >= 2  # read stale as it started, then under the lock
    assert res.changed and res.version.parents == [v2.id]
    assert res.version.record["tables"]["annotations"]["id"] == v1.record["tables"]["annotations"]["id"]
    assert repo.load(res.version.id, table="annotations").equals(repo.load(v1.id, table="annotations"))
    assert repo.load(res.version.id, table="tasks").equals(repo.load(v1.id, table="tasks"))


def test_unchanged_snapshot_says_so_in_a_field(two_rounds):
    repo, v1, v2 = two_rounds
    res = repo.snapshot("round2.json", key="data.ext_id", message="again")
    assert not res.changed and res.head == v2.id
    assert not any("nothing changed" in w for w in res.warnings)
    assert res.to_json()["changed"] is False and res.to_json()["head"] == v2.id


def test_push_and_pull_return_the_same_result_shape(two_rounds, tmp_path):
    repo, v1, v2 = two_rounds
    annover.init(".", remote=str(tmp_path / "remote"))
    pushed, pulled = repo.push("v1"), repo.pull("v1")
    assert type(pushed) is type(pulled)
    assert pushed.to_json().keys() == pulled.to_json().keys() >= {"direction", "version", "commit", "transferred"}
    assert (pushed.direction.value, pulled.direction.value) == ("push", "pull")
    assert pushed.version == pulled.version == v1.id and pushed.transferred > 0


def test_top_level_functions_take_the_repository_as_a_keyword(two_rounds, tmp_path, monkeypatch):
    repo, v1, v2 = two_rounds
    monkeypatch.chdir(tmp_path)  # outside the repository: repo= says which
    assert annover.diff("v1", "v2", repo=repo.root).summary == repo.diff("v1", "v2").summary
    out = annover.export("v1", "parquet", tmp_path / "v1.parquet", repo=str(repo.root))
    assert out.version == v1.id and pq.read_table(tmp_path / "v1.parquet").equals(repo.load("v1"))
    assert annover.load("v1", repo=repo).equals(repo.load("v1"))
    res = annover.snapshot(str(repo.root / "round1.json"), repo=repo.root, key="data.ext_id", message="again")
    assert res.changed and res.version.record["tables"]["annotations"]["id"] == \
        v1.record["tables"]["annotations"]["id"]
    with pytest.raises(UsageError, match="exactly one"):
        repo.snapshot()


def test_dataset_records_are_committed_by_the_repository(repo):
    """What ``Datasets`` hands a bound repository: a record written once, removed only for its project."""
    from annover.labelstudio.client import Project
    from annover.labelstudio.datasets import RecordChange

    import dataclasses

    project = Project(id=7, title="Reviews", label_config="<View/>", tasks=0, annotations=0, skipped=0,
                      predictions=0, ls_labeled=0)
    head = git("rev-parse", "HEAD", cwd=repo.root)
    path = repo.save_dataset_record(RecordChange.write(project, "http://ls.example"))
    assert path == ".annover/datasets/reviews.json" and (repo.root / path).is_file()
    first = git("rev-parse", "HEAD", cwd=repo.root)
    assert first != head and "dataset Reviews" in git("log", "-1", "--format=%s", cwd=repo.root)
    assert repo.save_dataset_record(RecordChange.write(project, "http://ls.example")) == path
    assert git("rev-parse", "HEAD", cwd=repo.root) == first  # the same record: no commit
    other = dataclasses.replace(project, id=8)
    assert repo.save_dataset_record(RecordChange.remove(other)) is None  # not this project's record
    assert repo.save_dataset_record(RecordChange.remove(project)) == path
    assert not (repo.root / path).exists() and git("status", "--porcelain", "--", ".annover", cwd=repo.root) == ""
    assert repo.datasets_on().repo is repo


def test_a_dataset_record_under_its_old_name_is_found_for_its_project(repo):
    """A title in another script was recorded as ``dataset.json`` (ASCII letters only) before
    it kept its letters: deleting that dataset removes that record, and writing it again
    moves it to its own name (it was left behind, committed, for good)."""
    from annover.labelstudio.client import Project
    from annover.labelstudio.datasets import RECORD_DIR, RecordAction, RecordChange

    project = Project(id=7, title="Отзывы", label_config="<View/>", tasks=0, annotations=0, skipped=0,
                      predictions=0, ls_labeled=0)
    new = RecordChange.write(project, "http://ls.example")
    assert new.path == f"{RECORD_DIR}/отзывы.json"

    def old_record() -> str:  # what the earlier code committed for this title
        files = {p.replace("отзывы", "dataset"): data for p, data in new.files.items()}
        old = RecordChange(RecordAction.WRITE, 7, f"{RECORD_DIR}/dataset.json", files, new.message)
        return repo.save_dataset_record(old)

    legacy = old_record()
    assert legacy == ".annover/datasets/dataset.json" and (repo.root / legacy).is_file()
    assert repo.save_dataset_record(RecordChange.remove(project)) == legacy
    assert not (repo.root / legacy).exists() and not (repo.root / legacy).with_suffix(".xml").exists()
    old_record()
    path = repo.save_dataset_record(new)
    assert path == ".annover/datasets/отзывы.json" and (repo.root / path).is_file()
    assert sorted(f.name for f in (repo.root / ".annover/datasets").iterdir()) == ["отзывы.json", "отзывы.xml"]
    assert git("status", "--porcelain", "--", ".annover", cwd=repo.root) == ""
    other = Project(id=8, title="Товары", label_config="<View/>", tasks=0, annotations=0, skipped=0,
                    predictions=0, ls_labeled=0)
    old_record()  # another project's old record is not touched by this one's removal
    assert repo.save_dataset_record(RecordChange.remove(other)) is None and (repo.root / legacy).is_file()


def test_a_git_branch_or_commit_names_the_version_head_was_at_there(repo):
    """A load by URL takes git revisions (``annover.load("main", repo=URL)``); in a clone
    "main" was an unknown revision. A branch, a commit, and ~N after them resolve to the
    version HEAD was at there; an annover tag or version id still comes first."""
    v1 = repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1").version
    git("checkout", "-q", "-b", "exp", cwd=repo.root)
    v2 = repo.snapshot("round2.json", key="data.ext_id", message="round 2").version
    exp_commit = git("rev-parse", "HEAD", cwd=repo.root).strip()
    git("checkout", "-q", "main", cwd=repo.root)
    assert repo.resolve("main") == v1.id and repo.resolve("exp") == v2.id
    assert repo.resolve(exp_commit) == repo.resolve(exp_commit[:10]) == v2.id and repo.resolve("exp~1") == v1.id
    assert repo.load("exp").num_rows == repo.load(v2.id).num_rows != repo.load("main").num_rows
    assert repo.diff("main", "exp").summary["tasks"] == repo.diff(v1.id, v2.id).summary["tasks"]
    first = git("rev-list", "--max-parents=0", "HEAD", cwd=repo.root).strip()
    with pytest.raises(RevisionError, match=r"holds no annover version"):
        repo.resolve(first)
    for bad in ("nope", "-x", "exp..main"):
        with pytest.raises(RevisionError, match="unknown revision"):
            repo.resolve(bad)
