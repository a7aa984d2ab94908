"""git's refs read as files (annover.store.gitrefs), the blobs of commits read once a process,
and the index found agreeing with HEAD remembered: each checked against what git itself says,
on real git repositories that git wrote (loose and packed refs, annotated tags, tags in a
pack, symbolic refs, a detached HEAD)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annover.store import git as G
from annover.store import gitrefs
from tests.conftest import git, run_cli


def _commit(root: Path, n: int) -> str:
    (root / "f.txt").write_text(f"{n}\n")
    git("add", "f.txt", cwd=root)
    git("commit", "-q", "-m", f"c{n}", cwd=root)
    return git("rev-parse", "HEAD", cwd=root).strip()


def _gits_tags(root: Path) -> dict[str, str]:
    out = git("for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)", "refs/tags", cwd=root)
    return {ref[len("refs/tags/"):]: peeled or obj for ref, obj, peeled in (ln.split("\0") for ln in out.splitlines())}


@pytest.fixture
def plain(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    return root


NAMES = st.sampled_from(["v1", "v2", "v10", "a/b", "a/c", "release-1.0", "z"])
OPS = st.lists(st.tuples(st.sampled_from(["tag", "annotated", "move", "delete", "pack", "commit"]), NAMES),
               min_size=1, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_tags_read_as_files_are_gits_own(tmp_path_factory, ops):
    """Any sequence of tagging (lightweight and annotated), moving, deleting, packing refs and
    committing: the tags read from the files are what ``git for-each-ref`` says, peeled; read
    without git wherever the objects of loose annotated tags are loose (always, here)."""
    root = tmp_path_factory.mktemp("refs")
    git("init", "-q", "-b", "main", cwd=root)
    head = _commit(root, 0)
    for i, (op, name) in enumerate(ops):
        exists = name in _gits_tags(root)
        if op == "commit":
            head = _commit(root, i + 1)
        elif op == "pack":
            git("pack-refs", "--all", cwd=root)
        elif op == "delete" and exists:
            git("tag", "-d", name, cwd=root)
        elif op in ("tag", "annotated", "move") and (op == "move" or not exists):
            if any(t.startswith(name + "/") or name.startswith(t + "/") for t in _gits_tags(root) if t != name):
                continue  # git refuses a tag a/b beside a tag a
            extra = ["-a", "-m", f"note {i}"] if op == "annotated" else []
            git("tag", "-f", *extra, name, head, cwd=root)
    got = gitrefs.tag_commits(root / ".git")
    assert got is not None, "plain files, loose objects: read without git"
    assert got == _gits_tags(root)
    assert G.Git(root).tag_commits() == _gits_tags(root)
    assert gitrefs.head_commit(root / ".git") == git("rev-parse", "HEAD", cwd=root).strip()


def test_what_the_files_cannot_say_is_asked_of_git(plain):
    """A symbolic ref among the tags, an annotated tag whose object is in a pack, packed tags
    with no word on peeling, another ref backend: None from the files, and the adapter asks
    git, which gives the same as ``git for-each-ref``."""
    c = _commit(plain, 1)
    gd = plain / ".git"
    git("tag", "-a", "-m", "x", "v1", c, cwd=plain)
    assert gitrefs.tag_commits(gd) == {"v1": c}
    git("repack", "-a", "-d", "-q", cwd=plain)  # the tag object goes into a pack; its ref stays loose
    git("prune-packed", cwd=plain)
    assert (gd / "refs" / "tags" / "v1").is_file()
    assert gitrefs.tag_commits(gd) is None
    assert G.Git(plain).tag_commits() == _gits_tags(plain) == {"v1": c}
    git("pack-refs", "--all", cwd=plain)
    assert gitrefs.tag_commits(gd) == {"v1": c}  # packed-refs says it is peeled
    packed = (gd / "packed-refs").read_text()
    (gd / "packed-refs").write_text("".join(ln + "\n" for ln in packed.splitlines() if not ln.startswith("#")))
    assert gitrefs.tag_commits(gd) is None  # no "peeled" trait: maybe annotated, unpeeled
    (gd / "packed-refs").write_text(packed)
    git("symbolic-ref", "refs/tags/sym", "refs/heads/main", cwd=plain)
    assert gitrefs.tag_commits(gd) is None
    assert G.Git(plain).tag_commits() == _gits_tags(plain)
    (gd / "refs" / "tags" / "sym").unlink()
    (gd / "reftable").mkdir()
    assert gitrefs.tag_commits(gd) is None and gitrefs.head_commit(gd) is None
    (gd / "reftable").rmdir()
    assert gitrefs.tag_commits(gd) == {"v1": c}


def test_head_read_as_files(plain):
    """HEAD on a branch with no commit yet: None (git is asked); on a branch, packed or loose;
    detached: the commit git names."""
    gd = plain / ".git"
    assert gitrefs.head_commit(gd) is None
    c1 = _commit(plain, 1)
    assert gitrefs.head_commit(gd) == c1
    git("pack-refs", "--all", cwd=plain)
    assert not (gd / "refs" / "heads" / "main").exists()
    assert gitrefs.head_commit(gd) == c1
    c2 = _commit(plain, 2)
    git("checkout", "-q", "--detach", c1, cwd=plain)
    assert gitrefs.head_commit(gd) == c1 != c2
    assert G.Git(plain).head_oid() == c1
    (gd / "HEAD").write_text("ref: refs/heads/../../../outside\n")  # not a ref git writes
    (plain.parent / "outside").write_text(c2 + "\n")
    assert gitrefs.head_commit(gd) is None


def test_a_commits_blobs_are_read_once_a_process(plain, monkeypatch):
    """``COMMIT:PATH`` read a second time runs no git and gives the same bytes; ``HEAD:PATH``
    and a path a commit lacks are asked of git every time."""
    c = _commit(plain, 1)
    calls: list = []
    real = G.run_git
    monkeypatch.setattr(G, "run_git", lambda args, *a, **k: (calls.append(args[0]), real(args, *a, **k))[1])
    first = G.Git(plain).blobs([f"{c}:f.txt", f"{c}:f.txt", f"{c}:absent", "HEAD:f.txt"])
    assert first == [b"1\n", b"1\n", None, b"1\n"] and calls.count("cat-file") == 1
    calls.clear()
    assert G.Git(plain).blobs([f"{c}:f.txt"]) == [b"1\n"] and calls == []
    assert G.Git(plain).blobs([f"{c}:absent", "HEAD:f.txt"]) == [None, b"1\n"] and calls == ["cat-file"]


def test_the_index_found_agreeing_is_remembered_until_it_or_head_changes(plain, monkeypatch):
    """index_agrees is what ``git diff-index --cached HEAD`` says, after a staged change, an
    unstaged one, a commit and a reset; asked of git again whenever the index or HEAD moved."""
    (plain / ".annover").mkdir()
    (plain / ".annover" / "HEAD").write_text("a\n")
    git("add", ".annover", cwd=plain)
    git("commit", "-q", "-m", "c", cwd=plain)
    calls: list = []
    real = G.run_git
    monkeypatch.setattr(G, "run_git", lambda args, *a, **k: (calls.append(args[0]), real(args, *a, **k))[1])

    def agrees() -> bool:
        calls.clear()
        got = G.Git(plain).index_agrees(".annover")
        assert got == (subprocess.run(["git", "diff-index", "--cached", "--quiet", "HEAD", "--", ".annover"],
                                      cwd=plain).returncode == 0)
        return got

    assert agrees() and calls == ["diff-index"]
    assert agrees() and calls == []  # remembered
    (plain / ".annover" / "HEAD").write_text("b\n")  # changed in the work tree only
    assert agrees() and calls == []
    git("add", ".annover", cwd=plain)  # staged: the index is another file
    assert not agrees() and calls == ["diff-index"]
    assert not agrees() and calls == ["diff-index"]  # a no is never remembered
    git("commit", "-q", "-m", "d", cwd=plain)
    assert agrees() and calls == ["diff-index"]
    git("reset", "-q", "--soft", "HEAD~1", cwd=plain)  # HEAD moves back, the index keeps "b"
    assert not agrees()


def test_heads_reflog_names_each_annover_move_once(two_rounds):
    """HEAD's reflog says what annover did as git's says what git did (``commit: TITLE``):
    ``annover: TITLE`` for a snapshot, a tag, a reset, never the commit's own ``annover:`` twice."""
    repo, _, _ = two_rounds
    root = repo.root
    assert run_cli("tag", "best", "v1", cwd=root).returncode == 0
    assert run_cli("reset", "v1", "--force", cwd=root).returncode == 0
    subjects = git("reflog", "--format=%gs", cwd=root).splitlines()
    titles = git("log", "--format=%s", cwd=root).splitlines()
    assert subjects[0] == titles[0] and subjects[0].startswith("annover: reset to ")
    assert len(subjects) >= 4 and all(s.startswith(("annover: ", "annover init")) for s in subjects)
    assert not [s for s in subjects if s.startswith("annover: annover")], subjects
