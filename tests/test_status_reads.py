"""`annover status` reads the tags once: the reachable versions, the stray tags and HEAD's names
each asked for them, and every tag file and git tag was read and checked three times (0.64 ms a
version in all at 200 versions). Outside `status` they are read afresh each time."""

from __future__ import annotations

import subprocess

import annover
from annover.repo import core
from annover.store import git as git_mod


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
