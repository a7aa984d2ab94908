"""The live loop with real exports of the shared corpus: snapshot, push to a new project,
pull back with ``snapshot --label-studio --update``, against a real Label Studio."""

from __future__ import annotations

import json
import uuid

import pytest

from .conftest import shared_corpus
from .ls_fixtures import cli, ls_server, sdk_admin  # noqa: F401 - fixtures
from .test_labelstudio import server_tasks

pytestmark = pytest.mark.labelstudio

CORPUS = shared_corpus("label-studio")


def _config_oid(rev: str) -> str:
    code, out, err = cli("show", rev, "--json")
    assert code == 0, err
    return json.loads(out)["config"]["oid"]


def test_update_of_an_unchanged_project_keeps_heads_config_and_makes_no_version(ls_server, sdk_admin,  # noqa: F811
                                                                                repo):
    """Label Studio keeps a config without its trailing newline. A plain pull keeps HEAD's text
    where the two differ only there; ``--update`` took the server's, so every pull of a project
    made from a config file recorded a config change, and a project nobody touched gave a new
    version whose only change was that newline."""
    name = "fe_sentiment_two_annotators"
    xml = CORPUS / f"{name}.xml"
    assert xml.read_text().endswith("\n")
    title = f"t-{uuid.uuid4().hex[:8]}-{name}"
    code, _, err = cli("snapshot", "--from", str(CORPUS / f"{name}.json"), "--config", str(xml), "-m", "file")
    assert code == 0, err
    code, out, err = cli("dataset", "create", title, "--config", str(xml))
    assert code == 0, err
    pid = int(out.split()[0])
    try:
        code, _, err = cli("dataset", "push", title, "--from", "v1", "--annotations")
        assert code == 0, err
        code, _, err = cli("snapshot", "--label-studio", title, "--update", "-m", "round")
        assert code == 0, err
        assert _config_oid("v2") == _config_oid("v1")
        code, out, err = cli("snapshot", "--label-studio", title, "--update", "-m", "again")
        assert code == 0, err
        assert "nothing changed since HEAD" in out + err
        code, out, err = cli("log", "--json")
        assert len(json.loads(out)) == 2, out
    finally:
        sdk_admin.projects.delete(id=pid)


@pytest.mark.parametrize("name, stale, table", [("fe_mixed_controls", "tag", "predictions"),
                                                ("fe_magicwand_rle", "magicwand_tool_1", "annotations")])
def test_a_version_with_results_of_a_control_the_config_lacks_goes_back(ls_server, sdk_admin, repo,  # noqa: F811
                                                                        name, stale, table):
    """``snapshot`` keeps (with a warning) results of a control its config lacks, as Label Studio
    leaves them after a config edit, and Label Studio imports them; ``dataset push`` of that version
    refused them (exit 4), so a version of these real exports could not go back without
    ``--no-validate``. Sent now with the snapshot's warning, and they come back as they went, the
    pull's warning naming the project's config (HEAD's text of it: a newline more)."""
    xml = CORPUS / f"{name}.xml"
    code, _, err = cli("snapshot", "--from", str(CORPUS / f"{name}.json"), "--config", str(xml), "-m", "file")
    assert code == 0 and f"control {stale!r} is not in the labeling config" in err, err
    title = f"t-{uuid.uuid4().hex[:8]}-{name}"
    code, out, err = cli("dataset", "create", title, "--config", str(xml))
    assert code == 0, err
    pid = int(out.split()[0])
    try:
        code, _, err = cli("dataset", "push", title, "--from", "v1", "--annotations", "--predictions", "v1")
        assert code == 0, err
        assert f"control {stale!r} is not in the labeling config" in err, err
        (task,) = server_tasks(sdk_admin, pid)
        names = [r["from_name"] for answer in task[table] for r in answer["result"]]
        want = [r["from_name"] for t in json.loads((CORPUS / f"{name}.json").read_text()) for answer in t[table]
                for r in answer["result"]]
        assert names == want and stale in names, (names, want)
        code, _, err = cli("snapshot", "--label-studio", title, "-m", "pulled")  # no --config: the warning
        assert code == 0, err  # names the project's config (it said "the labeling config given in place of ...")
        assert f"kept, not checked against the labeling config of {title!r}" in err, err
    finally:
        sdk_admin.projects.delete(id=pid)


def test_pushed_answers_are_ground_truth_only_where_the_version_says(ls_server, sdk_admin, repo):  # noqa: F811
    """Label Studio makes an imported annotation without ``ground_truth`` a ground truth; a
    snapshot reads a missing ``ground_truth`` as false. Real exports (the frontend's examples)
    leave it out, so pushing their version made every answer ground truth on the server and in
    the next pull, a change nobody made."""
    name = "fe_sentiment_two_annotators"
    xml = CORPUS / f"{name}.xml"
    assert not any("ground_truth" in a for t in json.loads((CORPUS / f"{name}.json").read_text())
                   for a in t["annotations"])
    code, _, err = cli("snapshot", "--from", str(CORPUS / f"{name}.json"), "--config", str(xml), "-m", "file")
    assert code == 0, err
    title = f"t-{uuid.uuid4().hex[:8]}-{name}"
    code, out, err = cli("dataset", "create", title, "--config", str(xml))
    assert code == 0, err
    pid = int(out.split()[0])
    try:
        code, _, err = cli("dataset", "push", title, "--from", "v1", "--annotations")
        assert code == 0, err
        got = [a["ground_truth"] for t in server_tasks(sdk_admin, pid) for a in t["annotations"]]
        assert got == [False] * 4, got
        code, _, err = cli("snapshot", "--label-studio", title, "-m", "pulled")
        assert code == 0, err
        code, out, err = cli("export", "v2", "--format", "jsonl", "-o", "-")
        assert code == 0, err
        assert [json.loads(line)["ground_truth"] for line in out.splitlines()] == [False] * 4, out
    finally:
        sdk_admin.projects.delete(id=pid)
