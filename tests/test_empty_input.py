"""An input of no task is refused unless --allow-empty: an export that came out empty (another project,
a filter, an export that had not finished) made a version removing every task, with exit 0."""

from __future__ import annotations

import pytest

import annover
from annover.errors import InputError

from .conftest import git
from .ls_fixtures import cli, ls, ls_server, project_factory, sdk_admin  # noqa: F401  (fixtures)


def _state(root) -> tuple[str, str, str]:
    return (git("rev-parse", "HEAD", cwd=root), git("tag", "--list", cwd=root), git("status", "--porcelain", cwd=root))


@pytest.fixture
def v1(repo):
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1")
    (repo.root / "empty.json").write_text("[]")
    return repo


def test_an_empty_export_is_refused_naming_it_and_nothing_is_written(v1):
    before = _state(v1.root)
    with pytest.raises(InputError) as e:
        v1.snapshot("empty.json", message="oops")
    assert e.value.exit_code == 3
    assert str(e.value).startswith("empty.json holds no task: the version would remove every task of HEAD (v1)")
    assert "--allow-empty" in str(e.value)
    assert _state(v1.root) == before
    code, out, err = cli("snapshot", "--from", "empty.json", "-m", "oops", "-n")  # the dry run says the same
    assert (code, out) == (3, "") and err.count("\n") == 1 and "holds no task" in err, err
    assert _state(v1.root) == before


def test_allow_empty_records_a_version_of_no_task(v1):
    tasks = v1.load("HEAD", table="tasks").num_rows
    code, out, err = cli("snapshot", "--from", "empty.json", "-m", "all gone", "--allow-empty", "-q")
    assert code == 0, err
    assert annover.load("HEAD", table="tasks").num_rows == 0
    assert v1.diff("v1", "HEAD").summary["tasks"]["removed"] == tasks > 0


def test_a_first_version_of_nothing_is_refused_too(tmp_path, monkeypatch):
    root = tmp_path / "fresh"
    repo = annover.init(root)
    (root / "empty.json").write_text("[]")
    monkeypatch.chdir(root)
    with pytest.raises(InputError, match=r"^empty\.json holds no task —"):
        repo.snapshot("empty.json", message="start")
    assert repo.head() is None


def test_an_empty_label_studio_project_is_refused_naming_it(v1, project_factory):
    p = project_factory("empty")
    before = _state(v1.root)
    code, out, err = cli("snapshot", "--label-studio", p.title, "-m", "pulled")
    assert code == 3 and out == "" and err.count("\n") == 1, err
    assert f"Label Studio dataset {p.title!r} holds no task" in err and "--allow-empty" in err, err
    assert _state(v1.root) == before
