"""Audit of the ``annover dataset`` commands as a daily user runs them, against a real Label Studio.

Each test is a case the audit found wrong: a server URL copied with a query (a browser's address
bar), the hint of a refused key that named the variable when the key came from a flag, a version
with a Repeater config that ``dataset push`` refused to send back.
"""

from __future__ import annotations

import json
import uuid

import pytest

from .conftest import git, shared_corpus
from .ls_fixtures import cli, ls_server, sdk_admin  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio

BAD_KEY = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize("tail", ["/?token=s3cret", "/projects/1/data?tab=1&task=3", "#top"])
@pytest.mark.parametrize("command", [["dataset", "list"], ["dataset", "stats", "x"],
                                     ["snapshot", "--label-studio", "x", "-m", "m"]])
def test_url_with_query_or_fragment_is_a_usage_error(ls_server, repo, tail, command):  # noqa: F811
    """A URL with ``?...`` or ``#...`` (copied from a browser) was sent with the API's paths glued after its
    query, and the server's HTML login page came back: exit 11 'answered listing projects with something that
    is not JSON', which blames the server. It is the address that is wrong: exit 2 before any request, saying
    so, without showing the query (it may hold a token)."""
    flag = "--ls-url" if command[0] == "snapshot" else "--url"
    code, out, err = cli(*command, flag, ls_server.url + tail)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("Error: ") and "Traceback" not in err
    assert f"{flag} holds a query or fragment" in err and "HOST:PORT" in err
    assert "s3cret" not in err and "tab=1" not in err and out == ""


@pytest.mark.parametrize("command, flag, env", [
    (["dataset", "list"], "--api-key", "LABEL_STUDIO_API_KEY"),
    (["snapshot", "--label-studio", "x", "-m", "m"], "--ls-api-key", "LABEL_STUDIO_API_KEY"),
])
def test_refused_key_hint_names_where_the_key_came_from(ls_server, repo, command, flag, env):  # noqa: F811
    """A key given with --api-key (or --ls-api-key) that the server refuses: the hint said 'check
    LABEL_STUDIO_API_KEY', a variable that may hold the right key, and the user checks the wrong place.
    It names the flag; a refused key from the variable names the variable."""
    code, out, err = cli(*command, flag, BAD_KEY)
    assert code == 13, err
    assert f"check {flag}:" in err and f"check {env}" not in err
    assert BAD_KEY not in err and out == ""
    code, _, err = cli(*command, env={env: BAD_KEY})
    assert code == 13, err
    assert f"check {env}:" in err and BAD_KEY not in err


def _project_id(out: str) -> int:
    return int(out.strip().splitlines()[-1])


def test_a_repeater_version_pushes_back_and_a_wrong_label_in_it_is_still_refused(ls_server, repo, sdk_admin):  # noqa: F811
    """A Repeater config (``labels_{{idx}}`` answers as ``labels_0``) was snapshotted by annover, which reads
    Repeater names, but `dataset push --from v1 --annotations` asked label-studio-sdk alone, which does not:
    exit 4 "'from_name' 'labels_0' not found in configuration" for the labels annover itself had kept.
    Push now checks as a snapshot does: the version goes back, and a pull of it gives its labels; a label no
    Repeater control allows is still exit 4, nothing sent."""
    corpus = shared_corpus("label-studio")
    code, _, err = cli("snapshot", "--from", str(corpus / "sdk_repeater_taxonomy.json"),
                       "--config", str(corpus / "sdk_repeater_taxonomy.xml"), "-m", "v1")
    assert code == 0, err
    title = f"t-{uuid.uuid4().hex[:8]}-repeater"
    code, out, err = cli("dataset", "create", title, "--config", "v1")
    assert code == 0, err
    pid = _project_id(out)
    try:
        bad = repo.root / "bad.json"
        task = json.loads((corpus / "sdk_repeater_taxonomy.json").read_text())[0]
        task["annotations"][0]["result"][0]["value"]["rectanglelabels"] = ["Nope"]
        task["data"]["images"][0]["url"] = "https://example.org/other.jpeg"
        bad.write_text(json.dumps([task]))
        code, _, err = cli("dataset", "push", title, "--from", str(bad), "--annotations")
        assert code == 4 and "'Nope'" in err and err.count("\n") == 1, err
        assert sdk_admin.projects.get(id=pid).task_number == 0
        code, _, err = cli("dataset", "push", title, "--from", "v1", "--annotations")
        assert code == 0, err
        code, _, err = cli("snapshot", "--label-studio", title, "-m", "v2")
        assert code == 0, err
        v1, v2 = repo.show("v1").stats, repo.show("v2").stats
        assert (v2["tasks"], v2["regions"], v2["labels"]) == (v1["tasks"], v1["regions"], v1["labels"])
        assert v2["labels"] == {"categories_0": {"Archaea": 1}, "labels_0": {"Document Title": 1}}
    finally:
        sdk_admin.projects.delete(id=pid)


def test_the_commit_remembering_a_key_says_so(ls_server, repo, sdk_admin):  # noqa: F811
    """`dataset push --key data.id` commits the key into the dataset's record; its commit had the very
    message of the record's creation ('annover: dataset T (Label Studio project N)'), so `git log` showed
    the same line twice and hid what changed. It says the key it remembers."""
    title = f"t-{uuid.uuid4().hex[:8]}-keyed"
    code, out, err = cli("dataset", "create", title, "--template", "text-classification", "--labels", "pos,neg")
    assert code == 0, err
    pid = _project_id(out)
    try:
        (repo.root / "r.jsonl").write_text("".join(json.dumps({"id": f"r{i}", "text": f"t {i}"}) + "\n"
                                                   for i in range(3)))
        code, _, err = cli("dataset", "push", title, "--from", "r.jsonl", "--key", "data.id")
        assert code == 0, err
        subjects = git("log", "-2", "--format=%s", cwd=repo.root).splitlines()
        assert subjects == [f"annover: dataset {title} remembers --key data.id (Label Studio project {pid})",
                            f"annover: dataset {title} (Label Studio project {pid})"]
    finally:
        sdk_admin.projects.delete(id=pid)


def test_a_recorded_dataset_whose_project_was_deleted_or_renamed_says_so(ls_server, repo, sdk_admin):  # noqa: F811
    """The repository records dataset T as project N; someone deletes N in Label Studio (or renames it).
    `dataset stats T`, `dataset push T` and `snapshot --label-studio T` said only 'no dataset T ... make it
    with `annover dataset create T`', as if the repository knew nothing of it. The hint now names the
    record and what became of its project: gone (create makes a new one, delete forgets the record), or
    renamed (its title now, its id)."""
    title = f"t-{uuid.uuid4().hex[:8]}-gone"
    code, out, err = cli("dataset", "create", title, "--template", "text-classification", "--labels", "pos,neg")
    assert code == 0, err
    pid = _project_id(out)
    record = f".annover/datasets/{title}.json"
    (repo.root / "r.jsonl").write_text(json.dumps({"id": "r0", "text": "t"}) + "\n")
    commands = (["dataset", "stats", title], ["dataset", "push", title, "--from", "r.jsonl"],
                ["snapshot", "--label-studio", title, "-m", "m"])
    try:
        sdk_admin.projects.update(id=pid, title=title + "-renamed")
        for command in commands:
            code, out, err = cli(*command)
            assert code == 14 and err.count("\n") == 1 and out == "", err
            assert f"{record} records it as project {pid}, now titled {title + '-renamed'!r}" in err, err
    finally:
        sdk_admin.projects.delete(id=pid)
    for command in commands:
        code, out, err = cli(*command)
        assert code == 14 and err.count("\n") == 1 and out == "", err
        assert f"{record} records it as project {pid}, which this server no longer has" in err, err
        assert f"`annover dataset delete {title}` forgets the record" in err
    head = git("rev-parse", "HEAD", cwd=repo.root)
    code, _, err = cli("dataset", "delete", title, "--yes")
    assert code == 0 and "was already deleted" in err, err
    assert git("rev-parse", "HEAD", cwd=repo.root) != head and not (repo.root / record).exists()


def test_tasks_sent_twice_by_two_pushes_at_once_are_said_by_the_next_push(ls_server, repo, sdk_admin):  # noqa: F811
    """Two `dataset push` of the same new tasks at once (a cron and a person) both find them missing and
    both send them: measured, 500 new records pushed twice at once left 999 tasks. The next push said
    '500 already there' and nothing else, and `snapshot --label-studio` then stopped on duplicate task
    keys (exit 3). The next push now warns that tasks of the project share a key (stderr and --json)."""
    title = f"t-{uuid.uuid4().hex[:8]}-twice"
    code, out, err = cli("dataset", "create", title, "--template", "text-classification", "--labels", "pos,neg")
    assert code == 0, err
    pid = _project_id(out)
    try:
        records = [{"id": f"r{i}", "text": f"t {i}"} for i in range(3)]
        (repo.root / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        code, _, err = cli("dataset", "push", title, "--from", "r.jsonl", "--key", "data.id")
        assert code == 0 and "warning" not in err, err
        sdk_admin.projects.import_tasks(id=pid, request=[{"data": records[1]}])  # the other push's copy
        code, out, err = cli("dataset", "push", title, "--from", "r.jsonl", "--json")
        assert code == 0, err
        got = json.loads(out)
        assert (got["sent"], got["already"]) == (0, 3)
        assert [w for w in got["warnings"] if "1 task(s) of the project have the task key (data.id)" in w], got
        assert "sent twice" in err
    finally:
        sdk_admin.projects.delete(id=pid)
