"""``annover log --author / --grep / --since / --until`` (``Repo.log``'s filters), as git log's: the filters
pick first, then ``-n`` cuts. The history (real git, real DVC) is made once: v1 by Alice ("round 1"), v2 by
Bob ("relabel task 3"), v3 by alice in lower case ("Relabel task 6")."""

from __future__ import annotations

import datetime as _dt
import json
import os

import pytest

import annover
from annover.errors import UsageError
from annover.repo.log_filter import parse_date
from tests.test_cli import invoke

from .conftest import example_repo
from .test_git_user_revisions import _relabeled

AUTHORS = {"v1": ("Alice Doe", "alice@lab.example"), "v2": ("Bob Roe", "bob@lab.example"),
           "v3": ("alice", "alice@home.example")}


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> annover.Repo:
    root = tmp_path_factory.mktemp("logf") / "repo"
    repo = example_repo(root)
    rounds = [("round1.json", "round 1"), (_relabeled(root, "b.json", 3, "negative"), "relabel task 3"),
              (_relabeled(root, "c.json", 6, "neutral"), "Relabel task 6")]
    saved = {k: os.environ.get(k) for k in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL")}
    try:
        for (name, email), (data, message) in zip(AUTHORS.values(), rounds):
            os.environ.update(GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email)
            repo.snapshot(str(root / data), config=str(root / "labeling.xml"), message=message, key="data.ext_id")
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return annover.Repo(root)


def _tags(repo: annover.Repo, versions) -> list[str]:
    names = repo.tags_of()
    return [names[v.id][0] for v in versions]


def test_author_is_a_regular_expression_on_the_recorded_author_case_sensitive_unless_ignore_case(history):
    assert _tags(history, history.log(author="Alice")) == ["v1"]
    assert _tags(history, history.log(author="alice")) == ["v3", "v1"]  # v1's email holds it too
    assert _tags(history, history.log(author="^alice <")) == ["v3"]
    assert _tags(history, history.log(author="^ALICE", ignore_case=True)) == ["v3", "v1"]
    assert _tags(history, history.log(author=r"@lab\.example>$", limit=1)) == ["v2"]  # filters first, then -n


def test_grep_searches_the_message_and_combines_with_author_and_a_range(history):
    assert _tags(history, history.log(grep="^relabel")) == ["v2"]
    assert _tags(history, history.log(grep="^relabel", ignore_case=True)) == ["v3", "v2"]
    assert _tags(history, history.log(grep="task", author="Bob")) == ["v2"]
    assert _tags(history, history.log("v2", grep="task 6")) == []
    with pytest.raises(UsageError, match="--grep"):
        history.log(grep="(")


def test_since_and_until_keep_the_versions_made_within(history):
    made = _dt.datetime.fromisoformat(history.show("v1").created_at)
    everything = ["v3", "v2", "v1"]
    assert _tags(history, history.log(since="1.hour.ago")) == everything
    assert _tags(history, history.log(since="1 hour ago", until="now")) == everything
    assert _tags(history, history.log(until="yesterday")) == []
    assert _tags(history, history.log(until=made - _dt.timedelta(seconds=1))) == []
    assert _tags(history, history.log(since=made + _dt.timedelta(days=1))) == []
    today = made.astimezone().date().isoformat()  # a date alone: all that day for --until, from its start for --since
    assert _tags(history, history.log(since=today, until=today, limit=2)) == ["v3", "v2"]


def test_dates_read_as_git_users_type_them():
    now = _dt.datetime(2026, 3, 15, 12, 0, tzinfo=_dt.timezone.utc)
    assert parse_date("2.weeks.ago", now=now) == now - _dt.timedelta(weeks=2)
    assert parse_date("3 days ago", now=now) == now - _dt.timedelta(days=3)
    assert parse_date("1.hour.ago", now=now) == now - _dt.timedelta(hours=1)
    assert parse_date("yesterday", now=now) == now - _dt.timedelta(days=1)
    assert parse_date("2026-03-01T10:00+01:00") == _dt.datetime(2026, 3, 1, 9, 0, tzinfo=_dt.timezone.utc)
    day = parse_date("2026-03-01", "--until")
    assert (day.date(), day.hour, day.minute, day.second) == (_dt.date(2026, 3, 1), 23, 59, 59)
    for bad in ("last tuesday", "2.months.ago", "2026-13-01"):
        with pytest.raises(UsageError, match="not a date"):
            parse_date(bad)


def test_cli_refuses_a_date_it_cannot_read_in_one_line_exit_2(history, monkeypatch):
    monkeypatch.chdir(history.root)
    code, out, err = invoke("log", "--since", "last tuesday", "--author", "x", "--decorate")
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and "--since 'last tuesday'" in err and "2.weeks.ago" in err, err
    code, out, err = invoke("log", "--author", "alice", "--grep", "task", "--decorate", "--oneline", "-n", "5")
    assert code == 0 and len(out.splitlines()) == 1 and "Relabel task 6" in out, (out, err)
    code, out, err = invoke("log", "v1..v3", "--author", "^Bob", "--all", "--json")  # the revisions' path too
    assert code == 0 and [v["tags"] for v in json.loads(out)] == [["v2"]], (out, err)
