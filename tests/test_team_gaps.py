"""Three rough edges of annover in a git and DVC team flow, each with the real CLI, real git (a
bare remote on disk) and real DVC (a local remote folder):

1. a read (log, show, status, diff, tag, load) never touches git's index: a user's ``git add``
   of annover's own files stays staged, and the read says so;
2. the git tags of versions no branch reaches (a deleted branch's) are listed by ``annover
   status`` and deleted, on request, by ``annover tag --prune`` (``-n``: a dry run);
3. an ``annover merge`` of published versions that is not pushed itself is undone with
   ``annover reset HEAD~1``: the merge version goes, the merged branch's versions keep their
   tags; a pushed merge is refused with the revert that undoes it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import annover

from .conftest import git, run_cli
from .test_merge import BASE, Labels, _edit, _init, two_clones


def _index(root: Path) -> str:
    """git's index as ``git ls-files --stage`` shows it, and what it stages against HEAD."""
    return git("ls-files", "--stage", cwd=root) + git("diff", "--cached", "--name-status", cwd=root)


# ---------------------------------------------------------------- 1. reads leave git's index alone


def test_reads_leave_a_users_git_add_of_annovers_files_staged(two_rounds):
    """A tag file written by hand and an edit of .annover/.gitignore, both `git add`-ed: every
    read left them unstaged (and put .gitignore back as committed). Now the index and the work
    tree stay as the user left them, and the read says what is staged and how to unstage it."""
    repo, v1, _ = two_rounds
    root = repo.root
    (root / ".annover" / "refs" / "tags" / "best").write_text(v1.id + "\n")
    gitignore = root / ".annover" / ".gitignore"
    gitignore.write_text(gitignore.read_text() + "# mine\n")
    git("add", ".annover/refs/tags/best", ".annover/.gitignore", cwd=root)
    before = _index(root)
    assert "A\t.annover/refs/tags/best" in before and "M\t.annover/.gitignore" in before
    for args in (["log", "--oneline"], ["show", "v1"], ["status", "--no-remote"], ["diff", "v1", "v2"], ["tag"],
                 ["export", "v2", "--format", "jsonl", "--out", str(root.parent / "v2.jsonl")]):
        p = run_cli(*args, cwd=root)
        assert p.returncode == 0, (args, p.stderr)
        assert "repaired" not in p.stderr, (args, p.stderr)
        assert "git restore --staged -- .annover" in p.stderr and ".annover/refs/tags/best" in p.stderr, p.stderr
        assert _index(root) == before, args
        assert gitignore.read_text().endswith("# mine\n")
    code = "import annover; print(annover.load('v1').num_rows)"
    p = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert p.returncode == 0 and int(p.stdout) > 0, p.stderr
    assert _index(root) == before
    git("restore", "--staged", "--", ".annover", cwd=root)  # what the warning says: then nothing to say
    p = run_cli("log", "--oneline", cwd=root)
    assert p.returncode == 0 and "git restore" not in p.stderr, p.stderr


def test_a_read_names_a_staged_deletion_of_a_version_record_and_leaves_it(two_rounds):
    """`git rm --cached` of a record HEAD holds: a `git commit` would delete the version. The read
    says so, and leaves the index to the user (so does a write: see test_team_index.py)."""
    repo, _, v2 = two_rounds
    root = repo.root
    git("rm", "-q", "--cached", f".annover/versions/{v2.id}.json", cwd=root)
    before = _index(root)
    p = run_cli("show", "--json", cwd=root)
    assert p.returncode == 0 and json.loads(p.stdout)["id"] == v2.id, p.stderr
    assert "would delete 1 version record(s)" in p.stderr and _index(root) == before, p.stderr


# ---------------------------------------------------------------- 2. tags of versions no branch reaches


def _with_origin(tmp_path: Path, monkeypatch) -> Labels:
    """A repository with v1 on main, pushed (objects and git) to a bare git remote."""
    lab = _init(tmp_path, monkeypatch)
    lab.snap(BASE, "base")
    git("init", "-q", "--bare", "-b", "main", str(tmp_path / "origin.git"), cwd=tmp_path)
    lab.git("remote", "add", "origin", str(tmp_path / "origin.git"))
    assert run_cli("push", "-q", cwd=lab.root).returncode == 0
    lab.git("push", "-q", "-u", "origin", "main", "--tags")
    return lab


def test_a_deleted_branchs_version_tags_are_listed_and_pruned_on_request(tmp_path, monkeypatch):
    """`git branch -D exp` left exp's v2 tag, and `git push --tags` published it (a version whose
    objects no one pushed). status lists it, `tag --prune -n` deletes nothing, `tag --prune`
    deletes that git tag only: not main's tags, nor a user's own tag on a commit of theirs."""
    lab = _with_origin(tmp_path, monkeypatch)
    lab.git("switch", "-q", "-c", "exp")
    exp = lab.snap(_edit(BASE, t1=("one", {"alice@x.org": "neutral"})), "experiment")
    lab.git("switch", "-q", "main")
    lab.git("branch", "-q", "-D", "exp")
    (lab.root / "notes.md").write_text("mine\n")
    lab.git("add", "notes.md")
    lab.git("commit", "-q", "-m", "notes")
    lab.git("tag", "release-notes", "HEAD")
    lab.git("tag", "mine", lab.git("rev-parse", "v2").strip())  # a user's tag on the dropped commit: left
    lab.git("checkout", "-q", "--detach", "HEAD")
    lab.git("commit", "-q", "--allow-empty", "-m", "on no branch")
    lab.git("tag", "loose", "HEAD")  # a user's tag on a commit that holds no new version
    lab.git("switch", "-q", "main")
    dry_push = subprocess.run(["git", "push", "--dry-run", "origin", "--tags"], cwd=lab.root, capture_output=True,
                              text=True).stderr
    assert "v2 -> v2" in dry_push  # what the audit saw: git would publish it
    status = run_cli("status", "--no-remote", "--json", cwd=lab.root)
    assert status.returncode == 0, status.stderr
    stray = json.loads(status.stdout)["stray_tags"]
    assert {t["tag"]: t["version"] for t in stray} == {"mine": exp, "v2": exp}
    text = run_cli("status", "--no-remote", cwd=lab.root).stdout
    assert "tags on no branch: v2, mine" in text and "annover tag --prune" in text
    dry = run_cli("tag", "--prune", "-n", cwd=lab.root)
    assert dry.returncode == 0 and "would delete tag v2" in dry.stderr, dry.stderr
    assert "v2" in lab.git("tag").split()
    p = run_cli("tag", "--prune", "--json", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    assert [t["tag"] for t in json.loads(p.stdout)["tags"]] == ["v2"]  # not the user's `mine`: annover's only
    assert [t["tag"] for t in json.loads(p.stdout)["others"]] == ["mine"]
    lab.git("tag", "-d", "mine")
    assert sorted(lab.git("tag").split()) == ["loose", "release-notes", "v1"]
    assert json.loads(run_cli("status", "--no-remote", "--json", cwd=lab.root).stdout)["stray_tags"] == []
    dry_push = subprocess.run(["git", "push", "--dry-run", "origin", "--tags"], cwd=lab.root, capture_output=True,
                              text=True).stderr
    assert "v2" not in dry_push
    new = lab.snap(_edit(BASE, t2=("two", {"bob@x.org": "neutral"})), "next")
    assert annover.Repo(lab.root).resolve("v2") == new  # the freed number, as after a reset


def test_tags_of_a_pushed_branch_and_of_a_branchs_tag_files_are_not_pruned(tmp_path, monkeypatch):
    """A version on origin/exp only (the local branch deleted) is published: its tag stays."""
    lab = _with_origin(tmp_path, monkeypatch)
    lab.git("switch", "-q", "-c", "exp")
    lab.snap(_edit(BASE, t1=("one", {"alice@x.org": "neutral"})), "experiment")
    lab.git("push", "-q", "origin", "exp")
    lab.git("switch", "-q", "main")
    lab.git("branch", "-q", "-D", "exp")
    assert json.loads(run_cli("status", "--no-remote", "--json", cwd=lab.root).stdout)["stray_tags"] == []
    p = run_cli("tag", "--prune", cwd=lab.root)
    assert p.returncode == 0 and "no tag to prune" in p.stderr and "v2" in lab.git("tag").split()
    assert run_cli("tag", "--prune", "v2", cwd=lab.root).returncode == 2
    assert run_cli("tag", "-n", cwd=lab.root).returncode == 2


# ---------------------------------------------------------------- 3. undoing a merge


def _merged(tmp_path: Path, monkeypatch) -> tuple[Labels, str, str, str]:
    """main: v1 base, v3 its own round (pushed); side: v2 (pushed to origin/side); then, not
    pushed, `annover merge origin/side` -> v4. (main's v3, side's v2, the merge's v4.)"""
    lab = _with_origin(tmp_path, monkeypatch)
    lab.git("switch", "-q", "-c", "side")
    side = lab.snap(_edit(BASE, t1=("one", {"alice@x.org": "neutral"})), "side")
    lab.git("push", "-q", "-u", "origin", "side", "--tags")
    lab.git("switch", "-q", "main")
    ours = lab.snap(_edit(BASE, t2=("two", {"bob@x.org": "neutral"})), "ours")
    assert run_cli("push", "-q", cwd=lab.root).returncode == 0
    lab.git("push", "-q", "origin", "main", "--tags")
    lab.git("branch", "-q", "-D", "side")  # only origin/side holds it now
    p = run_cli("merge", "origin/side", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    merged = annover.Repo(lab.root).head()
    assert annover.Repo(lab.root).show(merged).parents == [ours, side]
    return lab, ours, side, merged


def test_reset_undoes_an_unpushed_merge_of_published_versions(tmp_path, monkeypatch):
    """It refused: the merge brought origin/side's v2 into HEAD's history, and v2 is published.
    Now it drops the merge version alone; v2 stays origin/side's, tag and all, and can be merged again."""
    lab, ours, side, merged = _merged(tmp_path, monkeypatch)
    dry = run_cli("reset", "HEAD~1", "--dry-run", "--json", cwd=lab.root)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["dropped"] == [merged]
    p = run_cli("reset", "HEAD~1", "--force", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    repo = annover.Repo(lab.root)
    assert repo.head() == ours and [v.id for v in repo.log()][:1] == [ours]
    assert repo.tags()["v2"] == side and "v4" not in repo.tags() and "v4" not in lab.git("tag").split()
    assert lab.git("rev-parse", "v2^{commit}").strip() == lab.git("rev-parse", "origin/side").strip()
    assert lab.git("status", "--porcelain") == ""
    assert json.loads(run_cli("status", "--no-remote", "--json", cwd=lab.root).stdout)["stray_tags"] == []
    again = run_cli("merge", "origin/side", cwd=lab.root)
    assert again.returncode == 0, again.stderr
    assert annover.Repo(lab.root).show().parents == [ours, side]


def test_a_pushed_merge_is_refused_with_the_revert_that_undoes_it(tmp_path, monkeypatch):
    lab, ours, _, merged = _merged(tmp_path, monkeypatch)
    lab.git("push", "-q", "origin", "main", "--tags")
    p = run_cli("reset", "HEAD~1", "--force", cwd=lab.root)
    assert p.returncode == 2 and "is already on origin/main" in p.stderr, p.stderr
    assert "annover revert --to HEAD~1 (a merge too" in p.stderr
    assert annover.Repo(lab.root).head() == merged
    r = run_cli("revert", "--to", "HEAD~1", cwd=lab.root)
    assert r.returncode == 0, r.stderr
    assert lab.table() == lab.table(ours)


def test_git_reset_hard_of_a_merge_leaves_a_tag_that_tag_prune_deletes(tmp_path, monkeypatch):
    """The other way back, git's own: the merge's tag is left on a commit no branch reaches."""
    lab, ours, _, merged = _merged(tmp_path, monkeypatch)
    lab.git("reset", "-q", "--hard", "HEAD~1")
    status = json.loads(run_cli("status", "--no-remote", "--json", cwd=lab.root).stdout)
    assert [(t["tag"], t["version"]) for t in status["stray_tags"]] == [("v4", merged)]
    assert run_cli("tag", "--prune", cwd=lab.root).returncode == 0
    assert "v4" not in lab.git("tag").split() and annover.Repo(lab.root).head() == ours


def test_reset_undoes_a_merge_that_renumbered_this_clones_version(tmp_path, monkeypatch):
    """The everyday team case: both clones made a v2, Bob's merge of origin/a renumbered his as v3
    and made v4. `annover reset HEAD~1` drops v4 alone: his v3 and Alice's v2 (origin/a) keep theirs."""
    alice, bob = two_clones(tmp_path, monkeypatch)
    assert run_cli("merge", "origin/a", cwd=bob.root).returncode == 0
    repo = annover.Repo(bob.root)
    bobs, alices, merged = repo.resolve("v3"), repo.resolve("v2"), repo.head()
    p = run_cli("reset", "HEAD~1", "--force", "--json", cwd=bob.root)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["dropped"] == [merged]
    repo = annover.Repo(bob.root)
    assert repo.head() == bobs and repo.tags()["v2"] == alices and repo.tags()["v3"] == bobs
    assert "v4" not in repo.tags() and bob.git("status", "--porcelain") == ""
