"""``Repo.log`` over sets of revisions, as ``git rev-list`` takes them: ``A..B``, ``A...B``, ``^A B``, a list of
those, ``all=True`` (:mod:`annover.repo.revisions`). The expected versions are git's own: ``git rev-list`` of
the same revisions (annover's tags and branches are git's), each commit mapped to the version it holds.

The history is test_git_user_log's, made once here: v1, v2 on main; round-a relabels task 3 (v3), main task 6
(v4); v5 merges round-a into main; branch side, from v2, relabels task 7 (v6).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import annover
from annover.errors import RevisionError, UsageError

from .conftest import git
from .test_git_user_log import history  # noqa: F401  (the module's history, made once for this module too)

NAMES = ("v1", "v2", "v3", "v4", "v5", "v6", "round-a", "side", "main", "HEAD", "")


@pytest.fixture(scope="module")
def version_at(history) -> dict[str, str]:
    """Each git commit -> the version its ``.annover/HEAD`` names (the first commit, ``annover init``'s: none)."""
    commits = git("rev-list", "--all", cwd=history.root).split()
    asked = "".join(f"{c}:.annover/HEAD\n" for c in commits)
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=history.root, input=asked, capture_output=True,
                         text=True, check=True).stdout
    held = re.findall(r"^(?:[0-9a-f]{40} blob \d+\n([0-9a-f]{64})|\S+ missing)$", out, re.M)  # in order asked
    return {c: vid for c, vid in zip(commits, held, strict=True) if vid}


def _git_versions(root: Path, version_at: dict[str, str], *revs: str) -> set[str]:
    """The versions of the commits ``git rev-list REVS`` lists."""
    return {version_at[c] for c in git("rev-list", *revs, "--", cwd=root).split() if c in version_at}


def _newest_first(repo: annover.Repo, got: list) -> bool:
    """No version listed after one of its parents, and the dates newest first."""
    at = {v.id: i for i, v in enumerate(got)}
    when = [v.created_at for v in got]
    return when == sorted(when, reverse=True) and all(at[p] > at[v.id] for v in got for p in v.parents if p in at)


def test_log_takes_ranges_lists_and_all_as_git_rev_list(history, version_at):
    """``repo.log("v1..v4")`` was ``unknown revision 'v1..v4'``: the library took one revision, so a notebook
    could not list what a round's branch added, nor the versions of a branch not on main."""
    cases = [("v2..v5",), ("v2..side",), ("^v3", "v5"), ("v4...side",), ("side...",), ("v6", "v4", "^round-a"),
             ("round-a..", "side"), ("^v5",), ("main..side", "^v1"), ("..v4",)]
    for revs in cases:
        got = history.log(revs[0] if len(revs) == 1 else list(revs))
        assert {v.id for v in got} == _git_versions(history.root, version_at, *revs), revs
        assert len(got) == len({v.id for v in got}) and _newest_first(history, got), revs
    every = history.log(all=True)
    assert {v.id for v in every} == _git_versions(history.root, version_at, "--all") and len(every) == 6
    assert history.log(("side", "^main"), all=True) == [v for v in every if v.id not in
                                                          {w.id for w in history.log("main")}]
    assert history.log([]) == history.log() == history.log(["HEAD"])
    # filters, then limit; one revision keeps its walk
    picked = [v for v in history.log(["v1..side", "v3"]) if re.search("round [2a]", v.message)]
    assert history.log(["v1..side", "v3"], 1, grep="round [2a]") == picked[:1] and len(picked) == 2
    assert history.log("v5", 2) == history.log("v5")[:2] and history.log("v3", tasks=["rev-003"])
    assert history.diff("v4...side").summary == history.diff("v2", "side").summary  # diff's A...B: from the fork


def test_log_refuses_what_a_set_of_revisions_cannot_be(history):
    with pytest.raises(RevisionError, match="unknown revision 'nope'"):
        history.log("v1..nope")
    with pytest.raises(RevisionError, match="unknown revision 'nope'"):
        history.log(["v2", "^nope"])
    for rev, every in (("v1..v4", False), (["v2", "v3"], False), ("HEAD", True)):
        with pytest.raises(UsageError) as e:
            history.log(rev, tasks=["rev-003"], all=every)
        assert "\n" not in str(e.value) and "tasks=" in e.value.message, rev
    with pytest.raises(UsageError, match="limit=-1"):
        history.log("v1..v4", -1)
    with pytest.raises(RevisionError, match="not text"):
        history.log(["v1", 3])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "^", "..", "..."]), st.sampled_from(NAMES[:-1]),
                          st.sampled_from(NAMES)), min_size=1, max_size=3))
def test_any_set_of_revisions_lists_what_git_rev_list_does(history, version_at, parts):
    """Random ``A``, ``^A``, ``A..B``, ``A...B`` (a side left out: HEAD) in lists, against ``git rev-list``."""
    revs = [f"{a}{op}{b}" if op.startswith(".") else f"{op}{a}" for op, a, b in parts]
    got = history.log(revs)
    assert {v.id for v in got} == _git_versions(history.root, version_at, *revs), revs
