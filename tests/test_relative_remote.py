"""A folder remote given as a relative path (``annover init --remote ../remote``) is read as
DVC reads ``dvc remote add NAME ../remote``: from the folder the command runs in (DVC records it
relative to ``.dvc/``). Real git, real DVC."""

from __future__ import annotations

import shutil

import annover

from .conftest import EXAMPLES, run_cli


def _project(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    run_cli("init", "--remote", "../remote", "-q", cwd=proj, check=True)
    for name in ("round1.json", "labeling.xml"):
        shutil.copy(EXAMPLES / name, proj / name)
    run_cli("snapshot", "--from", "round1.json", "--config", "labeling.xml", "--key", "data.ext_id", "-m", "r1",
            cwd=proj, check=True)
    return proj


def test_init_makes_the_relative_remote_where_dvc_reads_it_not_in_the_work_tree(tmp_path):
    proj = _project(tmp_path)
    assert (tmp_path / "remote").is_dir()
    assert not (proj / "remote").exists()  # was an empty folder left in the work tree
    run_cli("push", cwd=proj, check=True)
    assert any((tmp_path / "remote").iterdir())


def test_a_version_loads_by_a_file_url_of_a_repository_whose_remote_is_relative(tmp_path):
    proj = _project(tmp_path)
    run_cli("push", cwd=proj, check=True)
    want = annover.Repo(proj).load("v1")
    assert annover.load("v1", repo=f"file://{proj}").equals(want)
    assert annover.load("v1", repo=str(proj)).equals(want)
