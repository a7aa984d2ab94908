"""``annover gc`` found the commit that added each version by diffing every commit of every ref and
reflog (``git log --all --reflog -c --diff-filter=A``) on each run, work ``status`` remembers in
the git dir. It now asks the same memo, which diffs only the commits it has not seen; what gc
keeps and removes is the same with the memo warm or cold, and a version only the reflog holds
after a ``git reset --hard`` is still kept. Real git, real DVC."""

from __future__ import annotations

import annover
from annover.repo import gc as gc_mod
from annover.repo import remote
from annover.store import git as git_mod
from annover.store import memo

from .conftest import git, run_cli
from .test_gc import _dvc, _unique, four  # noqa: F401 (four: the fixture)
from .test_gc_refs import _rewind_v4
from .test_status_reads import added_records


def _spy(monkeypatch) -> list[list[str]]:
    """The arguments of every git process annover starts."""
    calls: list[list[str]] = []
    real = git_mod._run

    def spy(argv, cwd, env, input, timeout):  # type: ignore[no-untyped-def]
        calls.append(list(argv[1:]))
        return real(argv, cwd, env, input, timeout)

    monkeypatch.setattr(git_mod, "_run", spy)
    return calls


def _cold(repo: annover.Repo) -> dict:
    """gc's dry run with nothing remembered."""
    for f in repo.scm.git_dir.glob(f"{memo.MEMO_FILE}*"):
        f.unlink()
    return gc_mod.gc(annover.Repo(repo.root)).to_json()


def _warm(repo: annover.Repo) -> dict:
    return gc_mod.gc(annover.Repo(repo.root)).to_json()


def test_gc_after_status_diffs_no_commit(four, monkeypatch):
    """After a status (or push, pull), gc diffs no commit again: every commit of every ref and
    reflog was seen; it said what it says with nothing remembered."""
    repo, vids, _ = four
    run_cli("reset", "v3", "--force", cwd=repo.root, check=True)
    annover.Repo(repo.root).status(remote=False)
    calls = _spy(monkeypatch)
    warm = _warm(repo)
    assert not [a for a in calls if "--diff-filter=A" in a], calls
    assert warm["dropped"] == [vids[3]] and warm == _cold(repo)


def test_gc_is_the_same_with_the_memo_warm_and_cold(four):
    """An annover reset, a git reset past a version (only HEAD's reflog holds it), a side branch
    deleted: the versions kept, dropped and reflog-only, and the objects, are the same with the memo
    warm (status saw the commits before they moved) and cold; and the newest commit gc finds adding
    each version's record is git's own log's."""
    repo, vids, _ = four
    root = repo.root
    unique = _unique(repo, vids[3], vids[:3])
    annover.Repo(root).status(remote=False)  # v4's commit seen (a tip) before the rewind
    _rewind_v4(root)
    warm = _warm(repo)
    assert warm["reflog_only"] == [vids[3]] and warm["objects"] == 0 and vids[3] in warm["kept"]
    assert warm == _cold(repo) == _warm(repo)
    git("switch", "-q", "-c", "side", cwd=root)
    r = annover.Repo(root)
    side = r.snapshot("round2.json", key="data.ext_id", message="on the side").version.id
    git("switch", "-q", "main", cwd=root)
    git("branch", "-q", "-D", "side", cwd=root)
    run_cli("tag", "--prune", cwd=root, check=True)  # its tag, on no branch, deleted
    warm = _warm(repo)
    assert side in warm["reflog_only"] and warm == _cold(repo) == _warm(repo)
    git("reflog", "expire", "--expire=now", "--expire-unreachable=now", "--all", cwd=root)
    warm = _warm(repo)
    assert warm["reflog_only"] == [] and unique <= set(warm["md5s"]) and warm == _cold(repo)
    r = annover.Repo(root)
    vdir = f"{r.rel(r.dir / 'versions')}/"
    newest = {vid: cs[0] for vid, cs in gc_mod._adders(remote.commit_memo(r)).items()}
    assert newest == added_records(r, "--all", "--reflog", "--", vdir)


def _dvc_md5s_afresh(repo: annover.Repo) -> set[str]:
    """What gc found, on every run, in the user's ``.dvc`` and ``dvc.lock`` files: one ``git log``
    diffing every commit of every ref and reflog, each file it names read."""
    pointer = repo.rel(repo.dir / "objects.dvc")
    out = repo.git("log", "--all", "--reflog", "-m", "--diff-filter=AMRCT", "--format=commit %H", "--name-only",
                   "--", "*.dvc", "*dvc.lock", f":(exclude){pointer}", check=False)
    specs, commit = set(), ""
    for line in out.splitlines():
        if line.startswith("commit "):
            commit = line[7:]
        elif line and commit:
            specs.add(f"{commit}:{line}")
    texts = [b.decode() for b in repo.scm.blobs(sorted(specs)) if b]
    return {m for t in texts for m in gc_mod._MD5_TOKEN.findall(t)}


def test_the_users_dvc_files_of_each_commit_are_read_once(four, monkeypatch):
    """gc read every `.dvc` and `dvc.lock` file of every commit of every ref and reflog (a diff of
    each commit: 0.6 s of CPU at 20,000 commits) on each run. What each commit's name is now
    remembered (`annover-dvc-files`): the next gc diffs none, and keeps what it kept, also the data
    of a commit only the reflog holds after a `git reset --hard`."""
    repo, vids, _ = four
    root = repo.root
    names = []
    for text in ("one", "two"):
        (root / "mine.txt").write_text(text)
        assert _dvc("add", "mine.txt", cwd=root).returncode == 0
        git("add", "mine.txt.dvc", ".gitignore", cwd=root)
        git("commit", "-q", "-m", f"my data {text}", cwd=root)
        names.append(gc_mod._MD5_TOKEN.findall((root / "mine.txt.dvc").read_text())[0])
    cold = _cold(repo)
    calls = _spy(monkeypatch)
    assert _warm(repo) == cold
    assert not [a for a in calls if "--diff-filter=AMRCT" in a], calls
    r = annover.Repo(root)
    assert gc_mod._dvc_file_md5s(r) == _dvc_md5s_afresh(r) | set(names) and set(names) <= _dvc_md5s_afresh(r)
    git("reset", "-q", "--hard", "HEAD~1", cwd=root)  # "two" only in HEAD's reflog
    git("rm", "-q", "mine.txt.dvc", cwd=root)
    git("commit", "-q", "-m", "no longer", cwd=root)
    r = annover.Repo(root)
    assert set(names) <= gc_mod._dvc_file_md5s(r) == _dvc_md5s_afresh(r)
    assert _warm(repo) == _cold(repo)
    assert (r.scm.git_dir / "annover-dvc-files").is_file() and (r.scm.git_dir / memo.MEMO_FILE).is_file()
