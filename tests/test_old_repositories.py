"""A repository written before the restructure (tests/data/repo-before-restructure.tar.gz:
made by annover at the commit before it, from the shipped sample, v1 and round-2) reads,
diffs, exports, pushes and pulls unchanged with today's annover."""

from __future__ import annotations

import shutil
import tarfile

import pytest

import annover
from annover.model import canonical as C

from .conftest import DATA, EXAMPLES, git, run_cli

ARCHIVE = DATA / "repo-before-restructure.tar.gz"


@pytest.fixture
def old_repo(tmp_path):
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(tmp_path, filter="data")
    return annover.Repo(tmp_path / "repo")


@pytest.fixture
def today(tmp_path):
    """The same inputs snapshotted by today's annover."""
    r = annover.init(tmp_path / "today")
    for name in ("round1.json", "round2.json", "labeling.xml"):
        shutil.copy(EXAMPLES / name, r.root / name)
    r.snapshot(str(r.root / "round1.json"), config=str(r.root / "labeling.xml"), key="data.ext_id", message="1")
    r.snapshot(str(r.root / "round2.json"), message="2")
    return r


def _tables(v) -> dict:
    t = v.record["tables"]
    return {"tasks": t["tasks"]["id"], "annotations": t["annotations"]["id"],
            "predictions": {mv: s["id"] for mv, s in t["predictions"].items()}}


def test_old_versions_read_with_the_same_snapshot_ids(old_repo, today):
    old = old_repo.log()
    assert [v.message for v in old] == ["round 2", "round 1"]
    assert old_repo.resolve("v1") == old[1].id and old_repo.resolve("round-2") == old[0].id
    assert [_tables(v) for v in old] == [_tables(v) for v in today.log()]
    for rev, new_rev in (("v1", "v1"), ("round-2", "v2")):
        for table in ("tasks", "annotations"):
            # what identity rests on; provenance columns (ls_original...) came later
            cols = [c for c, _, _, role in C.COLUMNS[table] if role != "provenance"]
            assert old_repo.load(rev, table, columns=cols).equals(today.load(new_rev, table, columns=cols))


def test_old_versions_diff_and_export_as_new_ones_do(old_repo, today, tmp_path):
    a = old_repo.diff("v1", "round-2").summary
    b = today.diff("v1", "v2").summary
    for k in ("tasks", "annotations", "regions", "labels", "annotators", "predictions"):
        assert a[k] == b[k], k
    old_repo.export("round-2", "label-studio", tmp_path / "old.json")
    again = today.snapshot(str(tmp_path / "old.json"), message="the old version's export")
    assert not again.changed  # the same content as today's v2
    p = run_cli("log", "--oneline", cwd=old_repo.root)
    assert p.returncode == 0 and "round-2" in p.stdout


def test_old_repository_pushes_and_a_clone_pulls(old_repo, tmp_path):
    remote = tmp_path / "remote"
    annover.Repo.init(old_repo.root, remote=str(remote))
    old_repo.push()
    clone = tmp_path / "clone"
    git("clone", "-q", str(old_repo.root), str(clone), cwd=tmp_path)
    c = annover.Repo(clone)
    for rev in ("v1", "round-2"):
        c.pull(rev)
        assert c.load(rev).equals(old_repo.load(rev))
