"""A push does not bring back the tasks a team deleted in Label Studio on purpose.

Found in a trial: junk tasks (r2, r3) deleted in Label Studio were sent again by the next
`annover dataset push DATASET --from same-source.jsonl`: tasks already there are skipped by key,
and the deleted ones, not there any more, looked new. The dataset's record keeps the keys each push
sent or found, and HEAD (pulled from the project) the keys it had: a task of the source the project
had and has no more is left out and said; --restore sends it.
"""

from __future__ import annotations

import json
import uuid

import pytest

from .conftest import git
from .ls_fixtures import TEXT_CONFIG, cli, ls_server, sdk_admin  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio


def _source(repo, ids: list[str]) -> None:
    (repo.root / "src.jsonl").write_text("".join(json.dumps({"id": i, "text": f"text {i}"}) + "\n" for i in ids))


def _push(*args: str) -> dict:
    code, out, err = cli("dataset", "push", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def _delete(sdk_admin, pid: int, key: str) -> None:  # noqa: F811
    """What a person does in Label Studio's UI: delete the task of ``key``."""
    sdk_admin.tasks.delete(id=next(t.id for t in sdk_admin.tasks.list(project=pid) if t.data["id"] == key))


def test_tasks_deleted_in_label_studio_are_not_pushed_again(ls_server, repo, sdk_admin):  # noqa: F811
    title = f"t-{uuid.uuid4().hex[:8]}-deleted"
    (repo.root / "labeling.xml").write_text(TEXT_CONFIG)
    code, out, err = cli("dataset", "create", title, "--config", "labeling.xml")
    assert code == 0, err
    pid = int(out.strip().splitlines()[-1])
    try:
        _source(repo, [f"r{i}" for i in range(5)])
        assert _push(title, "--from", "src.jsonl", "--key", "data.id")["sent"] == 5
        # no pull in between: the record of the push knows r2 was there
        _delete(sdk_admin, pid, "r2")
        _source(repo, [f"r{i}" for i in range(6)])  # r5 is new
        got = _push(title, "--from", "src.jsonl")
        assert (got["sent"], got["already"], got["deleted"]) == (1, 4, 1), got
        note = next(n for n in got["notes"] if "deleted in Label Studio" in n)
        assert "1 task(s) of src.jsonl were not sent" in note and "(r2)" in note and "--restore" in note, note
        got = _push(title, "--from", "src.jsonl", "--dry-run")  # said again, and nothing sent
        assert (got["sent"], got["deleted"]) == (0, 1), got
        # a task made in Label Studio, then pulled: HEAD knows it, though no push sent it
        sdk_admin.tasks.create(project=pid, data={"id": "x1", "text": "made in the UI"})
        code, _, err = cli("snapshot", "--label-studio", title, "-m", "pulled")
        assert code == 0, err
        _delete(sdk_admin, pid, "x1")
        _delete(sdk_admin, pid, "r3")
        _source(repo, ["x1", *[f"r{i}" for i in range(6)]])
        code, out, err = cli("dataset", "push", title, "--from", "src.jsonl")
        assert code == 0, err
        assert "note: 3 task(s) of src.jsonl were not sent" in err and "(x1, r2, r3)" in err, err
        assert "sent 0 task(s)" in err, err
        got = _push(title, "--from", "src.jsonl", "--restore")
        assert (got["sent"], got["deleted"]) == (3, 0), got
        assert sorted(t.data["id"] for t in sdk_admin.tasks.list(project=pid)) == \
            ["r0", "r1", "r2", "r3", "r4", "r5", "x1"]
    finally:
        code, _, err = cli("dataset", "delete", title, "--yes")
    assert code == 0, err


def test_a_push_from_a_detached_head_is_not_refused_for_the_keys_it_would_record(ls_server, repo):  # noqa: F811
    """`git checkout v1` and push new data: the push commits the keys it sent to the dataset's record where
    git HEAD is on a branch; on a detached HEAD, which takes no commit, it sends and records nothing, as a push
    did before it kept keys (it was refused, exit 6, over a record it had no need to write)."""
    title = f"t-{uuid.uuid4().hex[:8]}-detached"
    (repo.root / "labeling.xml").write_text(TEXT_CONFIG)
    code, out, err = cli("dataset", "create", title, "--config", "labeling.xml")
    assert code == 0, err
    try:
        _source(repo, ["r0"])
        assert _push(title, "--from", "src.jsonl", "--key", "data.id")["sent"] == 1
        git("checkout", "-q", "--detach", cwd=repo.root)
        before = git("rev-parse", "HEAD", cwd=repo.root)
        _source(repo, ["r0", "r1"])
        assert _push(title, "--from", "src.jsonl")["sent"] == 1
        assert git("rev-parse", "HEAD", cwd=repo.root) == before
    finally:
        git("checkout", "-q", "-", cwd=repo.root)  # back on the branch, where the record's removal is committed
        code, _, err = cli("dataset", "delete", title, "--yes")
    assert code == 0, err

def test_annotate_without_a_display_says_to_open_the_url(ls_server, repo):  # noqa: F811
    """DISPLAY naming a display that is gone (a stale ssh session): it said 'opened in your browser'
    or nothing; it says which URL to open."""
    title = f"t-{uuid.uuid4().hex[:8]}-annotate"
    (repo.root / "labeling.xml").write_text(TEXT_CONFIG)
    code, out, err = cli("dataset", "create", title, "--config", "labeling.xml")
    assert code == 0, err
    try:
        code, out, err = cli("dataset", "annotate", title, env={"DISPLAY": ":97", "WAYLAND_DISPLAY": None,
                                                                "BROWSER": None})
        assert code == 0, err
        url = out.strip()
        assert "opened in your browser" not in err and f"open {url} in a browser" in err, err
    finally:
        code, _, err = cli("dataset", "delete", title, "--yes")
    assert code == 0, err
