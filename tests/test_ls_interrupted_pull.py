"""What a pull cut short by Ctrl-C leaves on a real Label Studio, and who removes it.

Label Studio Community makes an export while it answers the request that asks for it, so a
pull interrupted during that request (a large project: tens of seconds) never learns the
export's id and cannot remove it: the export, a full copy of the project's tasks, stays on
the server's disk and in the project's export list. The test leaves one the same way (the
request made, its answer never used), then checks that a later pull removes it, once it is
too old to be a pull still downloading it.
"""

from __future__ import annotations

import time

import pytest

from annover.labelstudio import Datasets
from annover.labelstudio.sync import EXPORT_TITLE

from .ls_fixtures import cli, ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio

TIMEOUT = 3  # ANNOVER_LS_TIMEOUT of the pulls below, seconds


def _exports(ls, pid: int) -> list[dict]:  # noqa: F811
    return [e for e in ls.raw("GET", f"api/projects/{pid}/exports/", what="listing exports")
            if e["title"] == EXPORT_TITLE]


def _left_by_an_interrupted_pull(ls, pid: int) -> int:  # noqa: F811
    """The export a pull asks for, as a Ctrl-C during that request leaves it: made, never removed."""
    body = {"title": EXPORT_TITLE, "serialization_options": {"predictions": {"only_id": False}}}
    return int(ls.raw("POST", f"api/projects/{pid}/exports/", what="exporting", json_body=body)["id"])


@pytest.mark.parametrize("command", ["snapshot", "dataset export"])
def test_a_later_pull_removes_the_export_an_interrupted_pull_left(ls, project_factory, tmp_path,  # noqa: F811
                                                                  monkeypatch, command):
    p = project_factory("interrupted-pull")
    Datasets(ls).push(p.id, _records(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert cli("init", "repo")[0] == 0
    monkeypatch.chdir(tmp_path / "repo")
    env = {"ANNOVER_LS_TIMEOUT": str(TIMEOUT)}
    left = _left_by_an_interrupted_pull(ls, p.id)
    args = (["snapshot", "--label-studio", str(p.id), "-m", "after Ctrl-C"] if command == "snapshot"
            else ["dataset", "export", str(p.id), "--out", str(tmp_path / "export.json")])

    # a pull at once (the same command run again after Ctrl-C) leaves it: it may be another pull's, still downloading
    code, _, err = cli(*args, env=env)
    assert code == 0, err
    assert [e["id"] for e in _exports(ls, p.id)] == [left]

    time.sleep(2 * TIMEOUT + 1)  # older than any pull still running could be
    code, _, err = cli(*args, "--force", env=env) if command != "snapshot" else cli(*args, env=env)
    assert code == 0, err
    assert _exports(ls, p.id) == [], "the export an interrupted pull left is still on the server"


def _records(tmp_path) -> str:
    f = tmp_path / "records.jsonl"
    f.write_text("".join(f'{{"id": "r{i}", "text": "review {i}"}}\n' for i in range(3)))
    return str(f)
