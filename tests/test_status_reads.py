"""`annover status` reads the tags once: the reachable versions, the stray tags and HEAD's names
each asked for them, and every tag file and git tag was read and checked three times (0.64 ms a
version in all at 200 versions). Outside `status` they are read afresh each time."""

from __future__ import annotations

import subprocess

import annover
from annover.repo import StatusResult, core
from annover.store import git as git_mod
from annover.store import memo


def added_records(repo, *revs: str) -> dict[str, str]:
    """The reference the commit memo is checked against: version id -> the commit that added its
    record, for ``git log REVS`` read afresh (newest first)."""
    out = repo.git("log", "--full-history", "-c", "--diff-filter=A", "--format=commit %H", "--name-only", *revs,
                   check=False)  # -c: a merge commit's own record (new to every parent), not the other side's
    commits: dict[str, str] = {}
    for commit, vid in memo.parse_added(out):
        commits.setdefault(vid, commit)
    return commits


def _repo(tmp_path, monkeypatch) -> annover.Repo:
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], check=True)
    monkeypatch.chdir(tmp_path / "r")
    annover.init(".")
    cfg = tmp_path / "c.xml"
    cfg.write_text('<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="a"/>'
                   '<Choice value="b"/></Choices></View>')
    repo = annover.Repo(".")
    for i, label in enumerate("ab"):
        flat = tmp_path / f"{i}.csv"
        flat.write_text(f"task_key,label,annotator\nt1,{label},x@y\nt2,a,x@y\n")
        repo.snapshot(str(flat), config=str(cfg) if i == 0 else None, message=f"round {i}")
    return annover.Repo(".")


def test_status_reads_the_tags_once_and_later_reads_see_new_tags(tmp_path, monkeypatch):
    repo = _repo(tmp_path, monkeypatch)
    calls = []
    read = core.RepoCore._read_tags
    monkeypatch.setattr(core.RepoCore, "_read_tags", lambda self, *a, **k: calls.append(1) or read(self, *a, **k))
    out = repo.status(remote=False)
    assert len(calls) == 1, len(calls)
    assert out.tags == ["v2"] and out.versions == 2
    repo.tag("best", "v1")  # after status: read afresh, the new tag seen
    assert repo.tags()["best"] == repo.resolve("v1")
    assert sorted(repo.tags_of()[repo.resolve("v1")]) == ["best", "v1"]


def _git_spy(monkeypatch) -> list[tuple[list[str], bytes]]:
    """Every git process annover starts: (its arguments, what it was given on stdin)."""
    calls: list[tuple[list[str], bytes]] = []
    real = git_mod._run

    def spy(argv, cwd, env, input, timeout):  # type: ignore[no-untyped-def]
        calls.append((list(argv[1:]), input or b""))
        return real(argv, cwd, env, input, timeout)

    monkeypatch.setattr(git_mod, "_run", spy)
    return calls


def test_status_no_remote_reads_no_pointer(tmp_path, monkeypatch):
    """`status --no-remote` asks the remote nothing, so it reads no version's `objects.dvc`
    (each reachable version's was read: 200 blobs at 200 versions); `status` still reads them."""
    repo = _repo(tmp_path, monkeypatch)
    calls = _git_spy(monkeypatch)
    out = annover.Repo(".").status(remote=False)
    assert out.versions == 2 and out.tags == ["v2"] and out.unpushed is None
    assert not [a for a, stdin in calls if b"objects.dvc" in stdin or any("objects.dvc" in x for x in a)], calls
    calls.clear()
    out = annover.Repo(".").status()
    assert out.versions == 2 and out.unpushed is not None and len(out.unpushed) == 2
    assert sum(stdin.count(b"objects.dvc") for _, stdin in calls) == 2


def _diffs(calls: list[tuple[list[str], bytes]]) -> list[tuple[list[str], bytes]]:
    """The git processes that diffed commits for the records they add."""
    return [(a, stdin) for a, stdin in calls if "--diff-filter=A" in a]


def _snapshot(repo: annover.Repo, tmp_path, label: str) -> None:
    flat = tmp_path / "n.csv"
    flat.write_text(f"task_key,label,annotator\nt1,{label},x@y\nt2,b,x@y\n")
    repo.snapshot(str(flat), message=f"round {label}")


def test_status_diffs_each_commit_once(tmp_path, monkeypatch):
    """`status` found the commits that added version records by a diff of every commit reachable
    from HEAD and the tags (`git log -c --diff-filter=A`), and read every version's pointer, each
    time: 0.07 s of CPU at 200 versions, 0.28 s at 500, growing with the square of the versions
    where objects are loose. A commit never changes: what was read of it is remembered in the git
    dir, and the next status diffs and reads only the commits new since (none, or the day's one)."""
    repo = _repo(tmp_path, monkeypatch)
    first = repo.status()
    calls = _git_spy(monkeypatch)
    again = annover.Repo(".").status()
    assert again == first and again.versions == 2 and len(again.unpushed or []) == 2
    assert _diffs(calls) == [] and not [a for a, stdin in calls if b"objects.dvc" in stdin], calls
    _snapshot(annover.Repo("."), tmp_path, "b")
    calls.clear()
    out = annover.Repo(".").status()
    assert out.versions == 3 and out.tags == ["v3"] and len(out.unpushed or []) == 3
    (args, stdin), = _diffs(calls)  # the new commit alone
    assert stdin.decode().split() == [git_mod.run_git(["rev-parse", "HEAD"], tmp_path / "r").decode().strip()]
    assert sum(stdin.count(b"objects.dvc") for _, stdin in calls) == 1


def _fresh_status(root, remote: bool = True) -> StatusResult:
    """``status`` with nothing remembered."""
    (annover.Repo(root).scm.git_dir / memo.MEMO_FILE).unlink(missing_ok=True)
    return annover.Repo(root).status(remote=remote)


def test_what_status_remembers_gives_what_git_gives_afresh(tmp_path, monkeypatch):
    """Tags moved, a branch, a reset, a file cut short or edited by hand: `status` with what it
    remembered says what it says with nothing remembered (the remembered file is checked by its
    hash: one cut short or edited is read afresh)."""
    repo = _repo(tmp_path, monkeypatch)
    root = tmp_path / "r"
    assert annover.Repo(".").status() == _fresh_status(root)
    subprocess.run(["git", "switch", "-q", "-c", "side", "v1"], check=True, cwd=root)
    annover.Repo(".").status()
    _snapshot(annover.Repo("."), tmp_path, "b")  # v3 on the side branch
    assert annover.Repo(".").status() == _fresh_status(root)
    subprocess.run(["git", "switch", "-q", "-"], check=True, cwd=root)
    vid = annover.Repo(".").resolve("v2")
    annover.Repo(".").reset("v1", force=True)
    annover.Repo(".").status()
    path = annover.Repo(".").scm.git_dir / memo.MEMO_FILE
    text = path.read_text()
    assert vid in text
    path.write_text(text.replace(vid, "0" * 64))  # edited: not read
    assert annover.Repo(".").status() == _fresh_status(root)
    annover.Repo(".").status()
    path.write_text(path.read_text()[: len(text) // 2])  # cut short: not read
    assert annover.Repo(".").status() == _fresh_status(root)
    assert repo.status().versions == _fresh_status(root).versions


def test_a_shallow_clones_boundary_is_not_remembered(tmp_path, monkeypatch):
    """A shallow clone's boundary commit shows every record of its tree as added; once the history
    is fetched (`git fetch --unshallow`) it adds its own alone: it is diffed afresh each time."""
    _repo(tmp_path, monkeypatch)
    _snapshot(annover.Repo("."), tmp_path, "b")
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{tmp_path / 'r'}", str(clone)], check=True)
    shallow = annover.Repo(clone).status(remote=False)
    assert shallow.versions == 1 and shallow == _fresh_status(clone, remote=False)
    annover.Repo(clone).status(remote=False)  # remembered what it may
    subprocess.run(["git", "fetch", "-q", "--unshallow", "--tags"], check=True, cwd=clone)
    out = annover.Repo(clone).status(remote=False)
    assert out.versions == 3 and out == _fresh_status(clone, remote=False)


def test_status_reads_gits_tags_and_the_shallow_file_once(tmp_path, monkeypatch):
    """git's tag refs were read twice by `status` (the tags, then the stray tags: every loose ref
    file, 500 at 500 versions), and git's shallow file once a version; once each now."""
    _repo(tmp_path, monkeypatch)
    annover.Repo(".").status(remote=False)  # the commits remembered: none diffed below
    repo = annover.Repo(".")
    reads = {"tags": 0, "shallow": 0}
    tags, shallow = git_mod.Git.tag_commits, git_mod.Git.shallow
    monkeypatch.setattr(git_mod.Git, "tag_commits", lambda self: reads.__setitem__("tags", reads["tags"] + 1)
                        or tags(self))
    monkeypatch.setattr(git_mod.Git, "shallow", lambda self: reads.__setitem__("shallow", reads["shallow"] + 1)
                        or shallow(self))
    out = repo.status(remote=False)
    assert out.versions == 2 and out.tags == ["v2"] and out.stray_tags == []
    assert reads == {"tags": 1, "shallow": 1}, reads
    repo.tag("best", "v1")  # after status: read afresh
    assert annover.Repo(".").git_tag_commits().keys() == {"v1", "v2", "best"}


def test_the_remembered_walk_is_gits_log_of_the_records_added(tmp_path, monkeypatch):
    """What the memo gives (`git rev-list`, each commit's records from its own diff) is what the one
    `git log --full-history -c --diff-filter=A` over the history gave, in its order, with branches, a
    merge commit that adds its own record and commits made in the same second."""
    _repo(tmp_path, monkeypatch)
    root = tmp_path / "r"
    subprocess.run(["git", "switch", "-q", "-c", "side", "v1"], check=True, cwd=root)
    flat = tmp_path / "side.csv"
    flat.write_text("task_key,label,annotator\nt1,a,x@y\nt2,b,x@y\n")
    annover.Repo(".").snapshot(str(flat), message="on the side")
    subprocess.run(["git", "switch", "-q", "-"], check=True, cwd=root)
    merged = annover.Repo(".").merge("side", favor="theirs")
    assert merged.version is not None
    repo = annover.Repo(".")
    vdir = f"{repo.rel(repo.dir / 'versions')}/"
    sizes = []
    for revs in (("HEAD", "--tags"), ("--tags", "--not", "HEAD"), ("side",)):
        want = list(added_records(repo, *revs, "--", vdir).items())
        sizes.append(len(want))
        for _ in range(2):  # nothing remembered, then all
            m = memo.CommitMemo(repo.scm, vdir, repo.rel(repo.dir / "objects.dvc"))
            assert list(m.added(*revs).items()) == want, revs
            m.save()
    assert sizes == [4, 0, 2], sizes  # v1, v2, the side's v3 and the merge's v4
    assert _fresh_status(root) == annover.Repo(".").status()


def test_two_annover_repositories_in_one_git_repository_remember_apart(tmp_path, monkeypatch):
    """Two annover repositories in subfolders of one git repository: each status remembers what
    it read in a file of its own, so a status of one does not throw away the other's (its next
    status diffs no commit again), and each says what it says with nothing remembered."""
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], check=True)
    root = tmp_path / "r"
    cfg = tmp_path / "c.xml"
    cfg.write_text('<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="a"/>'
                   '<Choice value="b"/></Choices></View>')
    for name in ("a", "b"):
        annover.init(root / name)
        flat = tmp_path / f"{name}.csv"
        flat.write_text(f"task_key,label,annotator\nt1,{name},x@y\n")
        annover.Repo(root / name).snapshot(str(flat), config=str(cfg), message=f"{name} 1")
    first = {name: annover.Repo(root / name).status(remote=False) for name in ("a", "b")}
    assert all(s.versions == 1 for s in first.values())
    files = sorted(p.name for p in annover.Repo(root / "a").scm.git_dir.glob(f"{memo.MEMO_FILE}*"))
    assert len(files) == 2, files
    calls = _git_spy(monkeypatch)
    again = {name: annover.Repo(root / name).status(remote=False) for name in ("a", "b")}
    assert again == first and _diffs(calls) == []
    for name in ("a", "b"):
        for f in annover.Repo(root / name).scm.git_dir.glob(f"{memo.MEMO_FILE}*"):
            f.unlink()
        assert annover.Repo(root / name).status(remote=False) == first[name]
