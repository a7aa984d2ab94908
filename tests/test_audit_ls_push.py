"""A daily user's audit of `annover dataset push --annotations` against the real server, with
a real export written by other people (the shared corpus): annotations that were not sent, and
annotations Label Studio gives to a user the file did not name, are said."""

from __future__ import annotations

import json

import pytest

from .conftest import shared_corpus
from .ls_fixtures import (  # noqa: F401 - fixtures
    cli,
    ls,
    ls_server,
    project_factory,
    sdk_admin,
)
from .test_labelstudio import server_tasks

pytestmark = pytest.mark.labelstudio
CORPUS = shared_corpus("label-studio")
SENTIMENT = CORPUS / "fe_sentiment_two_annotators.json"
corpus = pytest.mark.skipif(not SENTIMENT.is_file(), reason=f"the shared corpus is not here ({CORPUS})")


def _push(*args: str) -> tuple[int, dict, str]:
    code, out, err = cli("dataset", "push", *args, "--json")
    return code, (json.loads(out) if out.strip() else {}), err


@corpus
def test_annotations_of_tasks_already_there_are_said_not_sent(project_factory, sdk_admin):
    """The first push (no --annotations) says "pass --annotations to send them"; doing so on the
    same file sent nothing and said nothing: the 4 annotations never reached the project."""
    p = project_factory("sent-annotations", (CORPUS / "fe_sentiment_two_annotators.xml").read_text())
    code, first, err = _push(str(p.id), "--from", str(SENTIMENT))
    assert code == 0, err
    assert any("pass --annotations" in w for w in first["warnings"])
    code, again, err = _push(str(p.id), "--from", str(SENTIMENT), "--annotations")
    assert code == 0, err
    assert (again["sent"], again["already"], again["annotations"]) == (0, 3, 0)
    said = [w for w in again["warnings"] if "already in the project were not sent" in w]
    assert len(said) == 1 and "4 annotation(s)" in said[0], again["warnings"]
    assert said[0] in err
    assert sum(len(t["annotations"]) for t in server_tasks(sdk_admin, p.id)) == 0


@corpus
def test_who_gets_annotations_named_by_user_id_or_by_nobody_is_said(project_factory, sdk_admin):
    """The export's `completed_by: 2` is a user of the server it came from; Label Studio gives
    the annotation to ITS user 2, and one without completed_by to the key's user, silently."""
    p = project_factory("by-user-id", (CORPUS / "fe_sentiment_two_annotators.xml").read_text())
    users = {u.id: u.email for u in sdk_admin.users.list()}
    if 2 not in users:
        pytest.skip("the server has no user id 2")
    code, r, err = _push(str(p.id), "--from", str(SENTIMENT), "--annotations")
    assert code == 0, err
    assert r["annotations"] == 4
    by_id = [w for w in r["warnings"] if "by user id only" in w]
    assert len(by_id) == 1 and "1 annotation(s)" in by_id[0] and f"2 -> {users[2]}" in by_id[0], r["warnings"]
    nobody = [w for w in r["warnings"] if "have no completed_by" in w]
    assert len(nobody) == 1 and "3 annotation(s)" in nobody[0], r["warnings"]
    # what Label Studio did is what the warnings say
    got = sorted(a["completed_by"]["email"] for t in server_tasks(sdk_admin, p.id) for a in t["annotations"])
    me = sdk_admin.users.whoami().email
    assert got == sorted([users[2], me, me, me])
