"""What an audit of the history commands and the Python API found, each with real git and DVC:
a revert that forgot the key the data was read with, tag names git cannot hold beside each
other, repositories inside repositories, non-ASCII paths DVC cannot record, git merges left
alone, ``A..B`` ranges, outputs that replace files only with --force, and reads by URL that
must not answer for a moved tag or a relative revision."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import annover
from annover.errors import NotFoundError, RevisionError, UsageError

from .conftest import EXAMPLES, git
from .test_daily_remote import invoke


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in err, err
    return lines[0]


def _ok(*args: str) -> str:
    code, out, err = invoke(*args)
    assert code == 0, f"annover {' '.join(args)} -> {code}: {err}"
    return out


def test_a_revert_keeps_the_key_its_content_was_read_with(two_rounds):
    repo, _, _ = two_rounds
    _ok("revert")  # v3: v1's content again
    v3 = repo.show("v3")
    assert v3.record["origin"]["reading"]["key"] == "data.ext_id"
    code, _, err = invoke("snapshot", "--from", "round2.json", "-m", "again")
    assert code == 0 and "--key data.ext_id" in err, err  # read as HEAD's history says
    d = repo.diff("v2", "HEAD")
    assert d.identical and not d.summary.get("warnings")
    assert not repo.diff("v1", "v3").summary.get("warnings")


def test_a_tag_beside_a_tag_folder_is_refused_before_anything_is_written(two_rounds):
    repo, _, _ = two_rounds
    _ok("tag", "x/y", "v1")
    before = (repo.log(), git("status", "--porcelain", cwd=repo.root))
    for args in (["snapshot", "--from", "round1.json", "--tag", "x", "-m", "clash"], ["tag", "x", "v1"],
                 ["tag", "x/y/z", "v2"], ["revert", "--tag", "x"]):
        code, _, err = invoke(*args)
        assert code == 2 and "cannot sit beside tag 'x/y'" in _one_line(err), (args, err)
        assert (repo.log(), git("status", "--porcelain", cwd=repo.root)) == before
    _ok("tag", "x-y", "v2")  # a name beside it, not in its way


def test_init_in_a_non_ascii_folder_works_and_a_non_ascii_remote_is_refused_first(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOVER_REMOTE_HOME", str(tmp_path / "remotes"))
    root = tmp_path / "ünï labels"
    _ok("init", str(root))
    monkeypatch.chdir(root)
    shutil.copy(EXAMPLES / "round1.json", root)
    shutil.copy(EXAMPLES / "labeling.xml", root)
    _ok("snapshot", "--from", "round1.json", "--config", "labeling.xml", "--key", "data.ext_id", "-m", "r1")
    _ok("push")
    assert git("status", "--porcelain", "--", ".annover", ".dvc", cwd=root) == ""
    other = tmp_path / "other"
    code, _, err = invoke("init", str(other), "--remote", str(tmp_path / "rem ü"))
    assert code == 2 and "non-ASCII" in _one_line(err) and not other.exists(), err


def test_a_repository_inside_another_or_on_a_file_is_refused(two_rounds, tmp_path):
    repo, _, _ = two_rounds
    for inner in (repo.root / "inner", repo.root / ".annover" / "x"):
        code, _, err = invoke("init", str(inner))
        assert code == 2 and "is inside the annover repository" in _one_line(err) and not inner.exists(), err
    f = tmp_path / "notes.txt"
    f.write_text("x")
    code, _, err = invoke("init", str(f))
    assert code == 2 and "is a file" in _one_line(err) and f.read_text() == "x"


def test_a_git_merge_in_progress_is_left_to_git(two_rounds):
    """A conflicting merge of two branches' versions: reads touch neither git's index nor the
    work tree, and writes are refused until the merge is finished or aborted."""
    repo, _, _ = two_rounds
    root = repo.root
    git("switch", "-q", "-c", "relabel", cwd=root)
    data = json.loads((root / "round2.json").read_text())
    data[0]["annotations"][0]["result"][0]["value"]["choices"] = ["negative"]
    (root / "r3.json").write_text(json.dumps(data))
    _ok("snapshot", "--from", "r3.json", "-m", "on a branch")
    git("switch", "-q", "main", cwd=root)
    data[1]["annotations"][0]["result"][0]["value"]["choices"] = ["negative"]
    (root / "r4.json").write_text(json.dumps(data))
    _ok("snapshot", "--from", "r4.json", "-m", "on main")
    merged = subprocess.run(["git", "merge", "-q", "relabel"], cwd=root, capture_output=True, text=True)
    assert merged.returncode != 0 and (root / ".git" / "MERGE_HEAD").exists()
    state = (git("status", "--porcelain", cwd=root), (root / ".git" / "index").read_bytes())
    for cmd in ("log", "status"):
        code, _, err = invoke(cmd)
        assert code in (0, 6) and "Traceback" not in err, err
    assert (git("status", "--porcelain", cwd=root), (root / ".git" / "index").read_bytes()) == state
    code, _, err = invoke("snapshot", "--from", "round1.json", "-m", "mid-merge")
    assert code == 6 and "in the middle of a merge" in _one_line(err), err
    git("merge", "--abort", cwd=root)
    assert _ok("log", "--oneline")
    branch_version = repo.show("v3")  # the branch's version: its labels brought over as the README says
    _ok("revert", "--to", "v3")
    assert repo.show("HEAD").record["tables"]["annotations"]["id"] == \
        branch_version.record["tables"]["annotations"]["id"]


def test_diff_takes_a_range_and_refuses_an_empty_revision(two_rounds, tmp_path):
    repo, _, _ = two_rounds
    assert json.loads(_ok("diff", "v1..v2", "--json")) == json.loads(_ok("diff", "v1", "v2", "--json"))
    assert json.loads(_ok("diff", "v1..", "--json")) == json.loads(_ok("diff", "v1", "HEAD", "--json"))
    code, _, err = invoke("diff", "v1..v2", "v2")
    assert code == 2 and "not both" in _one_line(err)
    for args in (["show", ""], ["diff", "", "v2"]):
        code, _, err = invoke(*args)
        assert code == 7 and "empty revision" in _one_line(err), (args, err)
    with pytest.raises(RevisionError, match="not text"):
        annover.load(1)


def test_outputs_replace_a_file_only_with_force(two_rounds, tmp_path):
    repo, _, _ = two_rounds
    out = tmp_path / "notes.parquet"  # a name diff --output takes; suspects and sample write any
    for args in (["diff", "v1", "v2", "--output", str(out)], ["suspects", "v2", "--out", str(out)],
                 ["sample", "v2", "--strategy", "random", "--n", "2", "--out", str(out), "--no-record"]):
        out.write_text("precious")
        code, _, err = invoke(*args)
        assert code == 2 and "exists" in _one_line(err) and out.read_text() == "precious", (args, err)
        code, _, err = invoke(*args, "--force")
        assert code == 0 and out.read_bytes() != b"precious", (args, err)
    d = repo.diff("v1", "v2")
    head = (repo.root / ".git" / "HEAD").read_bytes()
    with pytest.raises(UsageError, match="git, DVC and annover keep"):
        d.write_parquet(str(repo.root / ".git" / "HEAD"), force=True)
    assert (repo.root / ".git" / "HEAD").read_bytes() == head
    out.write_text("precious")
    with pytest.raises(UsageError, match="exists"):
        d.write_parquet(str(out))
    d.write_parquet(str(out), force=True)
    assert pq.read_table(out).num_rows == d.rows.num_rows


def test_reading_by_url_refuses_a_moved_tag_and_a_relative_revision(two_rounds, tmp_path, monkeypatch):
    repo, _, _ = two_rounds
    repo.push()  # a clone reads the objects from the DVC remote
    url = "file://" + str(repo.root)
    monkeypatch.chdir(tmp_path)
    assert annover.load("v1", repo=url).equals(repo.read_table("v1"))
    for rev in ("HEAD~1", "v2^", ""):
        with pytest.raises(UsageError, match="over a URL"):
            annover.load(rev, repo=url)
    moved = tmp_path / "moved"
    subprocess.run(["git", "clone", "-q", str(repo.root), str(moved)], check=True)
    git("tag", "-f", "v1", "v2", cwd=moved)
    with pytest.raises(RevisionError, match="moved outside annover"):
        annover.load("v1", repo="file://" + str(moved))
    assert annover.load("v2", repo="file://" + str(moved)).equals(repo.read_table("v2"))
    with pytest.raises(UsageError, match="format='hf' makes one row per task"):  # checked as in a clone
        annover.load("v2", repo=url, format="hf", columns=["task_key"])


def test_load_checks_columns_whatever_the_layout(two_rounds):
    repo, _, _ = two_rounds
    assert annover.load("v2", columns=["task_key", "labels"]).column_names == ["task_key", "labels"]
    for table, columns, said in (("annotations", ["nope"], "no column 'nope'"),
                                 ("annotations", "task_key", "not a list"),
                                 ("tasks", ["nope"], "no column 'nope'"),
                                 ("predictions", ["nope"], "no column 'nope'"),
                                 ("annotations", ["_task_hash"], "no column '_task_hash'")):
        with pytest.raises(UsageError, match=said):
            annover.load("v2", table, columns=columns)


def test_load_refuses_options_it_would_ignore_and_a_repo_path_that_is_not_there(two_rounds, tmp_path):
    """model_version= with a table that is not predictions, and columns= or table= with format='hf', gave
    annotations (or the whole Dataset) in silence; a mistyped repo path was tried as a URL ('SCM error')."""
    repo, _, _ = two_rounds
    with pytest.raises(UsageError, match="model_version='sentiment-bert-v1' selects predictions.*table='predictions'"):
        annover.load("v2", model_version="sentiment-bert-v1")
    with pytest.raises(UsageError, match="table 'tasks' has none"):
        repo.load("v2", "tasks", model_version="sentiment-bert-v1")
    assert annover.load("v2", "predictions", model_version="sentiment-bert-v1").num_rows > 0
    with pytest.raises(UsageError, match="columns= does not apply"):
        annover.load("v2", format="hf", columns=["task_key"])
    with pytest.raises(UsageError, match="table= does not apply"):
        repo.load("v2", "tasks", format="hf")
    with pytest.raises(NotFoundError, match="no such folder, and not a git URL") as e:
        annover.load("v2", repo=tmp_path / "no-such-labels")
    assert "\n" not in str(e.value) and e.value.exit_code == 14
    repo.push()
    url = "file://" + str(repo.root)
    assert annover.load(None, repo=url).equals(annover.load(None))  # None is HEAD by URL too, as in a clone


def test_snapshot_arguments_of_the_wrong_kind_and_a_version_without_answers(repo, tmp_path):
    pd = pytest.importorskip("pandas")
    with pytest.raises(UsageError, match="not a file path"):
        repo.snapshot(pd.DataFrame({"text": ["a"]}))
    tasks = [{"data": t["data"]} for t in json.loads(Path("round1.json").read_text())]
    Path("bare.json").write_text(json.dumps(tasks))
    r = repo.snapshot(Path("bare.json"), config="labeling.xml", key="data.ext_id", message=None)
    assert r.version.record["message"] == ""
    datasets = pytest.importorskip("datasets")
    ds = annover.load("HEAD", format="hf")
    assert isinstance(ds, datasets.Dataset) and ds.num_rows == 0 and "sentiment" in ds.features
    os.chdir(tmp_path)


def test_a_load_by_url_leaves_no_clone_behind(two_rounds, tmp_path):
    """DVC clones the repository into the temporary folder to read it by URL: the process
    removes that clone and its cache when it ends, as DVC's own command line does."""
    repo, _, _ = two_rounds
    repo.push()
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    code = f"import annover; print(annover.load('v2', repo={'file://' + str(repo.root)!r}).num_rows)"
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "TMPDIR": str(tmp)})
    assert p.returncode == 0 and int(p.stdout) == repo.read_table("v2").num_rows, p.stderr
    assert sorted(x.name for x in tmp.iterdir()) == []


def test_tag_d_deletes_a_name_and_git_tag_d_alone_is_put_back(two_rounds, tmp_path):
    repo, v1, _ = two_rounds
    _ok("tag", "baseline", "v1")
    out = json.loads(_ok("tag", "-d", "baseline", "--json"))
    assert out["deleted"] is True and out["version"] == v1.id
    assert "baseline" not in repo.tags() and "baseline" not in git("tag", cwd=repo.root).split()
    assert git("status", "--porcelain", "--", ".annover", cwd=repo.root) == ""
    assert "delete tag baseline" in git("log", "-1", "--format=%s", cwd=repo.root)
    _ok("snapshot", "--from", "round1.json", "-m", "after")  # a write does not bring it back
    assert "baseline" not in git("tag", cwd=repo.root).split()
    code, _, err = invoke("show", "baseline")
    assert code == 7, err
    code, _, err = invoke("tag", "-d", "baseline")
    assert code == 7 and "no tag 'baseline'" in _one_line(err)
    code, _, err = invoke("tag", "-d", "v1")  # numbers stay: deleted, the next snapshot would get it
    assert code == 2 and "version number" in _one_line(err) and "v1" in repo.tags()
    git("tag", "-d", "v2", cwd=repo.root)  # git's own delete: annover's tag file is the record
    _ok("tag", "other", "v2")
    assert "v2" in git("tag", cwd=repo.root).split()


def test_repo_none_is_the_repository_here_as_the_functions_take_it(two_rounds, monkeypatch, tmp_path):
    repo, v1, v2 = two_rounds
    monkeypatch.chdir(repo.root)
    assert annover.Repo(None).root == repo.root and annover.Repo(None).head() == v2.id
    assert annover.load("v1", repo=None).equals(annover.Repo(None).load("v1"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(annover.errors.NotARepoError):
        annover.Repo(None)


def test_init_with_the_remote_it_has_commits_nothing_and_gives_no_clone_advice(two_rounds, tmp_path, monkeypatch):
    repo, v1, v2 = two_rounds
    monkeypatch.chdir(repo.root)
    code, _, err = invoke("init", ".", "--remote", str(tmp_path / "shared"))
    assert code == 0 and "dvc remote add --local" in err  # a new remote: committed, and clones told
    commits = git("rev-list", "--count", "HEAD", cwd=repo.root)
    for _ in range(2):
        code, _, err = invoke("init", ".", "--remote", str(tmp_path / "shared"))
        assert code == 0 and "nothing committed" in err and "dvc remote add" not in err, err
    assert git("rev-list", "--count", "HEAD", cwd=repo.root) == commits
    assert git("status", "--porcelain", "--", ".dvc", cwd=repo.root) == ""
    code, _, err = invoke("init", ".", "--remote", str(tmp_path / "other"))
    assert code == 0 and int(git("rev-list", "--count", "HEAD", cwd=repo.root)) == int(commits) + 1


@pytest.mark.parametrize("name, value", [("ANNOVER_LOCK_TIMEOUT", "x"), ("ANNOVER_LOCK_TIMEOUT", "-1"),
                                         ("ANNOVER_REMOTE_TIMEOUT", "abc"), ("ANNOVER_REMOTE_TIMEOUT", "nan")])
def test_a_timeout_setting_that_is_not_seconds_is_a_usage_error(two_rounds, monkeypatch, name, value):
    repo, v1, v2 = two_rounds
    monkeypatch.chdir(repo.root)
    monkeypatch.setenv(name, value)
    head = git("rev-parse", "HEAD", cwd=repo.root)
    code, out, err = invoke(*(("tag", "zz") if "LOCK" in name else ("status",)))
    assert code == UsageError.exit_code, err
    assert f"{name}={value!r}" in err and err.count("\n") == 1 and "Traceback" not in err
    assert git("rev-parse", "HEAD", cwd=repo.root) == head


def test_the_detached_head_hint_names_a_branch_that_exists(two_rounds, monkeypatch):
    repo, v1, v2 = two_rounds
    root = repo.root
    monkeypatch.chdir(root)
    git("branch", "-q", "-m", "labels", cwd=root)  # no branch called main
    git("checkout", "-q", "v1", cwd=root)
    code, _, err = invoke("tag", "there")
    assert code == 6 and "`git switch labels`" in err, err
    git("switch", "-q", "labels", cwd=root)
    assert invoke("tag", "there")[0] == 0


def test_revert_of_an_older_version_gives_a_hint_that_runs(two_rounds, monkeypatch):
    repo, v1, v2 = two_rounds
    monkeypatch.chdir(repo.root)
    code, _, err = invoke("revert", "v1")  # the first version: there is nothing before it
    assert code == 2 and "first version" in err and "v1~1" not in err and "v1 is v1" not in err, err
    code, _, err = invoke("revert", "v2~0")
    assert code == 0, err  # HEAD itself, named another way
    code, _, err = invoke("revert", "v2")  # now not HEAD, and it has a parent: the hint runs
    assert code == 2 and "`annover revert --to v2~1`" in err, err
    assert invoke("revert", "--to", "v2~1")[0] == 0


def test_a_loop_command_on_a_version_not_pulled_names_it_by_its_tag(two_rounds, tmp_path, monkeypatch):
    repo, v1, v2 = two_rounds
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo.root), str(clone), cwd=tmp_path)
    monkeypatch.chdir(clone)
    for cmd in (("agreement", "v2"), ("suspects", "v2"), ("export", "v2", "--format", "csv", "--out", "x.csv")):
        code, _, err = invoke(*cmd)
        assert code == 8 and re.search(r"`annover pull v[12]`", err) and v1.id not in err and v2.id not in err, (cmd, err)


def test_status_of_a_version_neither_here_nor_on_the_remote_says_where_to_push_it(two_rounds, tmp_path, monkeypatch):
    repo, v1, v2 = two_rounds  # nothing pushed
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo.root), str(clone), cwd=tmp_path)
    monkeypatch.chdir(clone)
    code, out, err = invoke("status")
    assert code == 0 and "not here either" in out and "clone that made the version" in out, out
    monkeypatch.chdir(repo.root)
    code, out, err = invoke("status")
    assert code == 0 and "pushed: no (run `annover push`)" in out, out


@pytest.mark.parametrize("cmd", [("log",), ("show", "v2"), ("agreement", "v2"), ("diff", "v1", "v2", "--rows")])
def test_a_reader_that_leaves_early_is_not_an_error(two_rounds, cmd):
    """``annover log | head -1``: the reader closes the pipe; annover ends quietly with 0 (click
    turned EPIPE into exit 1, some of the time, by its own sys.exit)."""
    repo, v1, v2 = two_rounds
    for _ in range(3):
        p = subprocess.Popen([sys.executable, "-m", "annover", *cmd], cwd=repo.root, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        p.stdout.readline()
        p.stdout.close()  # as `head -1` does once it has its line
        err = p.stderr.read().decode()
        assert p.wait(timeout=120) == 0, (cmd, p.returncode, err)
        assert not any(w in err for w in ("Error", "Traceback", "Exception ignored")), (cmd, err)  # notes may stay


def test_init_where_nothing_can_be_made_is_exit_2_and_makes_nothing(tmp_path, monkeypatch):
    """A remote that is a file (or under one), a folder that cannot be made, a name too long:
    exit 2 before anything is made (these were 'unexpected' errors, exit 1, and a file remote
    left a half-made repository)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    for args in ([str(tmp_path / "r"), "--remote", str(tmp_path / "afile")],
                 [str(tmp_path / "r"), "--remote", str(tmp_path / "afile" / "sub")],
                 [str(tmp_path / "afile" / "r")],
                 [str(tmp_path / ("b" * 300))],
                 [str(tmp_path / "r"), "--remote", str(tmp_path / ("c" * 300))]):
        code, out, err = invoke("init", *args)
        assert code == 2 and err.count("\n") == 1 and "unexpected" not in err, (args, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize("value", ["nan", "inf", "1e20", "-1"])
def test_a_timeout_of_no_sensible_length_is_refused(two_rounds, monkeypatch, value):
    repo, v1, v2 = two_rounds
    monkeypatch.chdir(repo.root)
    for cmd in ("status", "push", "pull"):
        code, out, err = invoke(cmd, "--timeout", value)
        assert code == 2 and "--timeout" in err and err.count("\n") == 1, (cmd, err)


def test_a_missing_choice_option_is_one_line(two_rounds, monkeypatch):
    repo, v1, v2 = two_rounds
    monkeypatch.chdir(repo.root)
    code, out, err = invoke("export", "v2", "--out", "x")
    assert code == 2 and err.count("\n") == 1 and "label-studio" in err and "coco" in err, err


def test_a_tag_that_is_the_start_of_a_version_id_is_refused(two_rounds, monkeypatch):
    repo, v1, v2 = two_rounds
    monkeypatch.chdir(repo.root)
    for name in (v1.id[:4], v1.id[:6]):
        code, out, err = invoke("tag", name)
        assert code == 2 and "would hide it" in err, err
    assert annover.Repo(repo.root).resolve(v1.id[:6]) == v1.id


def test_load_with_no_columns_gives_the_rows_and_no_column(two_rounds):
    """``columns=[]`` gave every column; pyarrow's ``read_table(columns=[])`` gives the rows
    and none, and so does annover now, for every table (predictions of one model too)."""
    repo, _, v2 = two_rounds
    for table, kw in (("annotations", {}), ("tasks", {}), ("predictions", {})):
        whole = repo.load("v2", table, **kw)
        none = repo.load("v2", table, columns=[], **kw)
        assert none.num_columns == 0 and none.num_rows == whole.num_rows > 0, table
    assert annover.load("v2", columns=[]).num_columns == 0
