"""A version only git's reflog reaches (``git reset --hard HEAD~1``, a deleted branch) is kept
by ``annover gc``, and named by its id as ``git show SHA`` names a commit the reflog holds:
show, diff and load find its record in the commit the reflog keeps. Real git, real DVC.
"""

from __future__ import annotations

import json

import annover

from .conftest import git, run_cli
from .test_cli import invoke
from .test_gc import _same, four  # noqa: F401 (four: the fixture)


def test_a_version_only_the_reflog_holds_is_named_by_its_id(four):
    repo, vids, tables = four
    root = repo.root
    dropped = vids[3]
    git("reset", "-q", "--hard", "HEAD~1", cwd=root)
    run_cli("tag", "--prune", cwd=root, check=True)  # its tag went with the branch's commit
    assert not (repo.dir / "versions" / f"{dropped}.json").exists()
    code, out, err = invoke("show", dropped[:12], "--json")
    assert code == 0, err
    assert json.loads(out)["id"] == dropped
    code, out, err = invoke("diff", vids[2][:12], dropped[:12], "--json")
    assert code == 0, err
    assert json.loads(out)["b"]["id"] == dropped
    assert _same(annover.Repo(root), dropped, tables[dropped])  # its objects are still in the cache


def test_a_deleted_branchs_version_is_named_by_its_id(four):
    repo, vids, _ = four
    root = repo.root
    git("checkout", "-q", "-b", "side", cwd=root)
    side = repo.snapshot("round2.json", message="on a branch soon deleted").version.id
    git("checkout", "-q", "main", cwd=root)
    git("branch", "-q", "-D", "side", cwd=root)
    run_cli("tag", "--prune", cwd=root, check=True)  # its tag (v5) is on no branch now
    assert side not in annover.Repo(root).tags().values()
    code, out, err = invoke("show", side[:10], "--json")
    assert code == 0, err
    assert json.loads(out)["parents"] == [vids[3]]
