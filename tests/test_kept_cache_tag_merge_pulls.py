"""Three things a session's trials found: a Repo kept open (a notebook's) reads from DVC's cache
after ``dvc cache dir`` moved it; ``annover tag`` on a detached HEAD says what it would commit (a
tag makes no version); a merge missing objects names every version it lacks at once."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import annover

from .conftest import git, run_cli
from .test_merge import BASE, _branches, _edit, _init


def test_a_kept_repo_reads_an_older_version_after_dvc_cache_dir_moved_the_cache(two_rounds, tmp_path):
    repo, _, _ = two_rounds
    before = repo.load("v1").to_pylist()  # the cache looked for once, here
    elsewhere = tmp_path / "elsewhere"
    shutil.move(repo.root / ".dvc" / "cache", elsewhere)
    dvc = Path(sys.executable).with_name("dvc")
    subprocess.run([str(dvc), "cache", "dir", str(elsewhere)], cwd=repo.root, check=True, capture_output=True)
    assert repo.load("v1").to_pylist() == before
    assert annover.load("v1", repo=repo.root).to_pylist() == before


def test_tag_on_a_detached_head_says_the_tag_s_commit_would_be_on_no_branch(two_rounds):
    repo, _, _ = two_rounds
    git("checkout", "-q", "v1", cwd=repo.root)
    p = run_cli("tag", "foo", cwd=repo.root)
    assert p.returncode == 6, p.stderr
    assert "the commit recording tag foo would be on no branch" in p.stderr, p.stderr
    assert "a version made here" not in p.stderr and p.stderr.count("\n") == 1, p.stderr


def test_a_merge_missing_objects_names_every_version_it_lacks_at_once(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    _branches(lab, _edit(BASE, t1=("one", {"alice@x.org": "neutral"})),
              _edit(BASE, t4=("four", {"bob@x.org": "negative"})))
    repo = lab.repo
    names = [repo.name_of(repo.resolve(r), True) for r in ("main~1", "main", "b")]  # base, HEAD, b
    for folder in (repo.store.root, repo.dvc.cache_dir()):  # as a clone that pulled nothing
        shutil.rmtree(folder)
    for args in (["merge", "b"], ["merge", "b", "--dry-run"]):
        p = run_cli(*args, cwd=lab.root)
        assert p.returncode == 8 and p.stderr.count("\n") == 1, p.stderr
        for side, name in zip(("the base ", "HEAD ", ""), names):
            assert f"{side}{name}" in p.stderr, (name, p.stderr)
        assert "`annover pull` then `annover pull b`" in p.stderr, p.stderr
