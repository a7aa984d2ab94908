"""What the dataset's record tells when its name no longer finds one project, on a real Label Studio.

Two cases a daily user meets: someone makes a project of the same title in the UI (a copy,
a second round named alike), and the recorded project is deleted in the UI before a sample
is sent to it. The repository's record names the project it made: the error says which.
And the `dataset export --help` examples, which a user types as written.
"""

from __future__ import annotations

import json
import shlex
import uuid

import pytest

from annover.cli.dataset_cmd import dataset

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


def test_the_dataset_export_help_examples_run_as_written(tmp_path, monkeypatch, ls, sdk_admin):  # noqa: F811
    """`annover dataset export --help` lists an export and its snapshot; the second read a
    labeling.xml the first never wrote (exit 14). Typed as written, in a folder that is not a
    repository, the title made unique."""
    epilog = dataset.get_command(None, "export").epilog
    lines = [ln.strip() for ln in epilog.split("Examples:", 1)[1].split("\n\n", 1)[0].splitlines() if ln.strip()]
    assert len(lines) == 2 and all(ln.startswith("annover ") for ln in lines), lines
    title = f"t-{uuid.uuid4().hex[:8]}-reviews"
    monkeypatch.chdir(tmp_path)
    assert cli("init", "labels")[0] == 0
    monkeypatch.chdir(tmp_path / "labels")
    pid = sdk_admin.projects.create(title=title, label_config=LS.joinpath("ner_predictions_nerine.xml").read_text()).id
    try:
        sdk_admin.projects.import_tasks(id=pid, request=[{"text": "Sigrid Brekke", "doc_name": "a"}])
        for line in lines:
            code, _, err = cli(*shlex.split(line.replace(" reviews ", f" {title} "))[1:])
            assert code == 0, (line, err)
    finally:
        sdk_admin.projects.delete(id=pid)
