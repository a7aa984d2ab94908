"""``annover export --task KEY`` / ``--tasks-from FILE`` (``Repo.export(tasks=...)``): only those
tasks, exactly the rows the whole export holds of them, the keys the version lacks said."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli


def _keys(repo, rev="v2") -> list[str]:
    return repo.load(rev, "tasks", columns=["task_key"]).column(0).to_pylist()


def _records(path, fmt: str) -> list[dict]:
    text = path.read_text()
    return [json.loads(ln) for ln in text.splitlines() if ln.strip()] if fmt == "jsonl" else json.loads(text)


def _key_of(record: dict, fmt: str) -> str:
    """The task key of a record (the sample is keyed by ``data.ext_id``)."""
    return {"label-studio": lambda: record["data"]["ext_id"], "json-min": lambda: record["ext_id"],
            "jsonl": lambda: record["task_key"]}[fmt]()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_an_export_of_some_tasks_is_the_whole_export_of_those_tasks(two_rounds, tmp_path, data):
    repo, _, _ = two_rounds
    keys = _keys(repo)
    fmt = data.draw(st.sampled_from(["jsonl", "json-min", "label-studio"]))
    table = data.draw(st.sampled_from(["annotations", "tasks"])) if fmt == "jsonl" else "annotations"
    picked = data.draw(st.lists(st.sampled_from(keys + ["no-such-task", "é"]), max_size=8))
    whole, part = tmp_path / f"whole.{fmt}", tmp_path / f"part.{fmt}"
    repo.export("v2", fmt, whole, table, force=True)
    res = repo.export("v2", fmt, part, table, force=True, tasks=picked)
    want = [r for r in _records(whole, fmt) if _key_of(r, fmt) in set(picked)]
    assert _records(part, fmt) == want
    assert res.missing_tasks == list(dict.fromkeys(k for k in picked if k not in keys))
    assert res.to_json()["missing_tasks"] == res.missing_tasks


def test_export_without_tasks_says_nothing_of_missing_tasks(two_rounds, tmp_path):
    repo, _, _ = two_rounds
    res = repo.export("v2", "jsonl", tmp_path / "a.jsonl")
    assert res.missing_tasks is None and "missing_tasks" not in res.to_json()


def test_the_cli_takes_keys_given_and_from_a_file(two_rounds, tmp_path):
    repo, _, _ = two_rounds
    keys = _keys(repo)
    listed = tmp_path / "keys.txt"
    listed.write_text(f"  {keys[1]}\n\n{keys[2]}\nnope\n")
    out = tmp_path / "t.jsonl"
    p = run_cli("export", "v2", "--format", "jsonl", "--table", "tasks", "--out", str(out), "--task", keys[0],
                "--tasks-from", str(listed), "--task", keys[0], "--json", cwd=repo.root)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["missing_tasks"] == ["nope"]
    assert "warning: 1 of the task keys given are in no task of v2: 'nope'" in p.stderr
    assert sorted(r["task_key"] for r in _records(out, "jsonl")) == sorted(keys[:3])


@pytest.mark.parametrize("content, needle", [(None, "No such file"), (b"\xff\xfe\x00k", "is not UTF-8 text")])
def test_a_keys_file_that_cannot_be_read_is_exit_3_and_writes_nothing(two_rounds, tmp_path, content, needle):
    repo, _, _ = two_rounds
    listed = tmp_path / "keys.txt"
    if content is not None:
        listed.write_bytes(content)
    out = tmp_path / "x.jsonl"
    p = run_cli("export", "v2", "--format", "jsonl", "--out", str(out), "--tasks-from", str(listed), cwd=repo.root)
    assert p.returncode == 3 and needle in p.stderr and str(listed) in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
    assert not out.exists()


def test_one_string_as_tasks_is_refused(two_rounds, tmp_path):
    from annover.errors import UsageError

    repo, _, _ = two_rounds
    with pytest.raises(UsageError, match="one string"):
        repo.export("v2", "jsonl", tmp_path / "a.jsonl", tasks=_keys(repo)[0])
    assert not (tmp_path / "a.jsonl").exists()
