"""What the dataset's record tells when its name no longer finds one project, on a real Label Studio.

Two cases a daily user meets: someone makes a project of the same title in the UI (a copy,
a second round named alike), and the recorded project is deleted in the UI before a sample
is sent to it. The repository's record names the project it made: the error says which.
"""

from __future__ import annotations

import json
import uuid

import pytest

from .ls_fixtures import cli, ls, ls_server, sdk_admin  # noqa: F401 - fixtures
from .test_sample_push_model import LS, ner_repo  # noqa: F401 - the fixture

pytestmark = pytest.mark.labelstudio


@pytest.fixture
def recorded(ner_repo, sdk_admin):  # noqa: F811
    """A dataset made with `annover dataset create` here (its record committed), deleted at the end."""
    title = f"t-{uuid.uuid4().hex[:8]}-rec-ner"
    code, out, err = cli("dataset", "create", title, "--config", str(LS / "ner_predictions_nerine.xml"))
    assert code == 0, err
    pid = int(out.strip())
    yield title, pid
    for p in sdk_admin.projects.list():
        if p.title == title:
            sdk_admin.projects.delete(id=p.id)


def test_a_title_used_twice_names_the_project_the_record_made(recorded, sdk_admin):  # noqa: F811
    title, pid = recorded
    other = sdk_admin.projects.create(title=title).id  # made in the UI, the same title
    for args in (["dataset", "stats", title], ["snapshot", "--label-studio", title, "-m", "x"]):
        code, _, err = cli(*args)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert f"ids {min(pid, other)}, {max(pid, other)}" in err, err
        assert f"records it as project {pid}" in err, err
    code, _, err = cli("dataset", "stats", str(pid))
    assert code == 0, err


def test_a_sample_sent_to_a_project_deleted_in_the_ui_says_what_the_record_knows(recorded, sdk_admin):  # noqa: F811
    title, pid = recorded
    code, out, err = cli("sample", "--strategy", "random", "--n", "2", "--json")
    assert code == 0, err
    sdk_admin.projects.delete(id=pid)
    code, _, err = cli("dataset", "push", title, "--from-sample", json.loads(out)["id"])
    assert code == 14 and len(err.strip().splitlines()) == 1, err
    assert f"records it as project {pid}, which this server no longer has" in err, err
