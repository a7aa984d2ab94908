"""annover's writes and a user's git index, and ``annover tag --prune`` against the git remote,
each with the real CLI, real git (a bare remote on disk) and real DVC:

1. a write (snapshot, tag, tag -d, reset) leaves staged what the user's index stages for
   annover's files it does not commit, and refuses (exit 2, nothing committed) to overwrite a
   staged change to a file it commits, naming it and the ``git restore --staged`` that unstages
   it, as ``git merge`` refuses to overwrite local changes;
2. ``tag --prune`` leaves the tags a git remote already has (``git fetch --tags`` would bring
   them back), says so with the ``git push REMOTE --delete`` that removes them there, and
   prunes them once the remote has dropped them;
3. ``tag --prune`` deletes only the tags annover made: a user's lightweight ``git tag`` of a
   stray version's commit is left, and said.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import annover

from .conftest import git, run_cli
from .test_merge import BASE, Labels, _edit, _init, _ls


def _staged(root: Path) -> str:
    """What git's index stages against HEAD, and its entries (``git diff --cached``, ``ls-files``)."""
    return git("diff", "--cached", "--name-status", cwd=root) + git("ls-files", "--stage", cwd=root)


def _two(tmp_path: Path, monkeypatch) -> Labels:
    lab = _init(tmp_path, monkeypatch)
    lab.snap(BASE, "base")
    lab.snap(_edit(BASE, t3=("three", {"bob@x.org": "neutral"})), "round 2")
    return lab


def _snap_cli(lab: Labels, tasks, message: str):
    lab.n += 1
    path = lab.inputs / f"round{lab.n}.json"
    path.write_text(json.dumps(_ls(tasks)))
    return run_cli("snapshot", "-q", "--from", str(path), "-m", message, cwd=lab.root)


# ---------------------------------------------------------------- 1. writes and the user's index


def test_a_write_keeps_a_staged_change_to_a_file_it_does_not_commit(tmp_path, monkeypatch):
    """A hand-made tag file and a `git rm --cached` of v1's record, both staged: every write
    (snapshot, tag NAME, tag -d, reset) unstaged them silently. Now they stay staged."""
    lab = _two(tmp_path, monkeypatch)
    root, v1 = lab.root, lab.repo.resolve("v1")
    (root / ".annover" / "refs" / "tags" / "mine").write_text(v1 + "\n")
    lab.git("add", ".annover/refs/tags/mine")
    lab.git("rm", "-q", "--cached", f".annover/versions/{v1}.json")
    wanted = "A\t.annover/refs/tags/mine", f"D\t.annover/versions/{v1}.json"
    p = _snap_cli(lab, _edit(BASE, t4=("four", {"bob@x.org": "positive"})), "round 3")
    assert p.returncode == 0, p.stderr
    assert all(w in git("diff", "--cached", "--name-status", cwd=root) for w in wanted), _staged(root)
    for args in (["tag", "-q", "reviewed", "v2"], ["tag", "-q", "-d", "reviewed"], ["reset", "-q", "--force", "v2"]):
        before = git("diff", "--cached", "--name-status", cwd=root)
        p = run_cli(*args, cwd=root)
        assert p.returncode == 0, (args, p.stderr)
        assert git("diff", "--cached", "--name-status", cwd=root) == before, (args, _staged(root))
        assert "made git's index agree" not in p.stderr, (args, p.stderr)
    assert lab.repo.head() == lab.repo.resolve("v2")


def test_a_write_that_commits_a_staged_file_refuses_naming_it(tmp_path, monkeypatch):
    """A staged edit of .annover/.gitignore (every version commits it) and of a tag file: the
    write overwrote the index's entry. Now it is refused, exit 2, one line naming the file and
    the `git restore --staged` that unstages it; HEAD, git's tags and the index stay."""
    lab = _two(tmp_path, monkeypatch)
    root = lab.root
    gitignore = root / ".annover" / ".gitignore"
    gitignore.write_text(gitignore.read_text() + "# mine\n")
    lab.git("add", ".annover/.gitignore")
    before, head, tags = _staged(root), lab.git("rev-parse", "HEAD"), lab.git("tag")
    for args, what in (([], "a new version"), (["revert"], "annover revert"),
                       (["reset", "--force", "v1"], "annover reset v1")):
        p = _snap_cli(lab, _edit(BASE, t4=("four", {"bob@x.org": "positive"})), "r") if not args else \
            run_cli(*args, cwd=root)
        assert p.returncode == 2, (args, p.stderr)
        err = p.stderr.strip().splitlines()[-1]
        assert err.startswith("Error: your staged change to .annover/.gitignore would be overwritten by " + what), err
        assert "`git restore --staged -- .annover/.gitignore`" in err and "Traceback" not in p.stderr
        assert _staged(root) == before and lab.git("rev-parse", "HEAD") == head and lab.git("tag") == tags
    # refused before its input is read (a file that is not there: not the error said), no record written
    records = sorted((root / ".annover" / "versions").iterdir())
    p = run_cli("snapshot", "--from", str(root / "no-such.json"), "-m", "x", cwd=root)
    assert p.returncode == 2 and "your staged change to .annover/.gitignore" in p.stderr, p.stderr
    assert sorted((root / ".annover" / "versions").iterdir()) == records
    lab.git("restore", "--staged", "--", ".annover/.gitignore")
    (root / ".annover" / "refs" / "tags" / "best").write_text(lab.repo.resolve("v1") + "\n")
    lab.git("add", ".annover/refs/tags/best")
    for args in (["tag", "best", "v2", "--force"], ["tag", "-d", "best"]):
        p = run_cli(*args, cwd=root)
        assert p.returncode == 2, (args, p.stderr)
        assert "your staged change to .annover/refs/tags/best would be overwritten" in p.stderr, p.stderr
        assert "git restore --staged -- .annover/refs/tags/best" in p.stderr
        assert "best" not in lab.git("tag").split() and lab.git("rev-parse", "HEAD") == head
    lab.git("restore", "--staged", "--", ".annover/refs/tags/best")
    p = _snap_cli(lab, _edit(BASE, t4=("four", {"bob@x.org": "positive"})), "round 3")
    assert p.returncode == 0 and lab.git("diff", "--cached", "--name-only") == "", p.stderr
    assert lab.repo.resolve("v3") == p.stdout.strip()


# ---------------------------------------------------------------- 2 and 3. tag --prune


def _stray(tmp_path: Path, monkeypatch) -> tuple[Labels, str]:
    """main: v1, pushed to a bare origin; exp (deleted): v2, tagged `best` by annover and `mine`
    by the user, both pushed with --tags, then v3 tagged `late` after, not pushed."""
    lab = _init(tmp_path, monkeypatch)
    lab.snap(BASE, "base")
    git("init", "-q", "--bare", "-b", "main", str(tmp_path / "origin.git"), cwd=tmp_path)
    lab.git("remote", "add", "origin", str(tmp_path / "origin.git"))
    lab.git("push", "-q", "-u", "origin", "main", "--tags")
    lab.git("switch", "-q", "-c", "exp")
    v2 = lab.snap(_edit(BASE, t1=("one", {"alice@x.org": "neutral"})), "experiment")
    assert run_cli("tag", "-q", "best", cwd=lab.root).returncode == 0
    lab.git("tag", "mine", "v2")  # the user's own lightweight tag of that commit
    lab.git("push", "-q", "origin", "--tags")
    lab.snap(_edit(BASE, t2=("two", {"bob@x.org": "neutral"})), "more")
    assert run_cli("tag", "-q", "late", cwd=lab.root).returncode == 0  # its tag file: a commit after v3's
    lab.git("switch", "-q", "main")
    lab.git("branch", "-q", "-D", "exp")
    return lab, v2


def test_prune_leaves_the_tags_the_git_remote_has_and_says_so(tmp_path, monkeypatch):
    """v2 and best are on origin: deleted here, `git fetch --tags` brought them back and the
    deletion did not publish. Now they are kept, said with the `git push --delete origin`
    that removes them there; after it, the next prune deletes them."""
    lab, v2 = _stray(tmp_path, monkeypatch)
    dry = run_cli("tag", "--prune", "-n", "--json", cwd=lab.root)
    assert dry.returncode == 0, dry.stderr
    out = json.loads(dry.stdout)
    assert [t["tag"] for t in out["tags"]] == ["v3", "late"]
    assert [(t["tag"], t["remote"], t["version"]) for t in out["kept"]] == [("v2", "origin", v2), ("best", "origin", v2)]
    assert sorted(lab.git("tag").split()) == ["best", "late", "mine", "v1", "v2", "v3"]
    p = run_cli("tag", "--prune", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    assert "kept tag v2" in p.stderr and "origin has it" in p.stderr and "`git push --delete origin v2`" in p.stderr
    assert sorted(lab.git("tag").split()) == ["best", "mine", "v1", "v2"]
    lab.git("fetch", "-q", "origin", "--tags")
    assert sorted(lab.git("tag").split()) == ["best", "mine", "v1", "v2"]
    lab.git("push", "-q", "origin", "--delete", "v2", "best")
    p = run_cli("tag", "--prune", "--json", cwd=lab.root)
    assert p.returncode == 0 and [t["tag"] for t in json.loads(p.stdout)["tags"]] == ["v2", "best"], p.stderr
    lab.git("fetch", "-q", "origin", "--tags")
    assert sorted(lab.git("tag").split()) == ["mine", "v1"]


def test_prune_leaves_a_users_own_tag_on_a_stray_versions_commit(tmp_path, monkeypatch):
    """`git tag mine v2` (the user's, lightweight) on the deleted branch's commit: prune deleted
    it with annover's tags. Now it is left and said; annover's own (also one tagged after its
    version's commit, `late`) are deleted."""
    lab, _ = _stray(tmp_path, monkeypatch)
    lab.git("remote", "remove", "origin")  # nothing is on a remote now: only whose tag it is counts
    p = run_cli("tag", "--prune", "--json", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert [t["tag"] for t in out["tags"]] == ["v2", "v3", "best", "late"] and out["kept"] == []
    assert [t["tag"] for t in out["others"]] == ["mine"]
    assert sorted(lab.git("tag").split()) == ["mine", "v1"]
    text = run_cli("tag", "--prune", cwd=lab.root).stderr
    assert "left tag mine alone" in text and "`git tag -d mine`" in text, text
    assert annover.Repo(lab.root).resolve("mine")  # still a name of that version


def test_status_lists_every_stray_tag_and_prune_says_each(tmp_path, monkeypatch):
    """`annover status` lists every tag `git push --tags` would publish of a version no branch
    reaches, the user's `mine` too; `tag --prune -n` says each of them: deleted, kept (a remote
    has it) or left (the user's own, with the `git tag -d` that deletes it)."""
    lab, _ = _stray(tmp_path, monkeypatch)
    p = run_cli("status", "--json", "--no-remote", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    listed = sorted(t["tag"] for t in json.loads(p.stdout)["stray_tags"])
    pruned = json.loads(run_cli("tag", "--prune", "-n", "--json", cwd=lab.root).stdout)
    said = [t["tag"] for t in pruned["tags"]] + [t["tag"] for t in pruned["kept"]] + [t["tag"] for t in pruned["others"]]
    assert listed == sorted(said) == ["best", "late", "mine", "v2", "v3"]


def test_a_remote_that_does_not_answer_is_given_up_on(tmp_path, monkeypatch):
    """`git ls-remote` of a remote that never answers (an ssh host that hangs) is ended after
    the timeout, as one that cannot be asked."""
    from annover.store import git as git_mod

    lab, _ = _stray(tmp_path, monkeypatch)
    hang = tmp_path / "hang.sh"
    hang.write_text("#!/bin/sh\nsleep 30\n")
    hang.chmod(0o755)
    lab.git("remote", "set-url", "origin", "ext::" + str(hang))
    lab.git("config", "protocol.ext.allow", "always")
    monkeypatch.setattr(git_mod, "REMOTE_TAGS_TIMEOUT", 1.0)
    out = annover.Repo(lab.root).prune_tags(dry_run=True)
    assert [r for r, _ in out.unasked] == ["origin"] and "did not answer in 1 s" in out.unasked[0][1]


def test_the_push_hint_quotes_a_remote_and_keeps_an_option_like_one_an_argument():
    """The hint is pasted into a shell: a remote named like an option (`git remote add --
    --upload-pack=x URL`) must stay the repository argument, never become git push's option."""
    from annover.cli.history import _push_delete

    assert _push_delete("origin", "v2") == "git push --delete origin v2"
    assert _push_delete("--upload-pack=touch x", "v2") == "git push --delete -- '--upload-pack=touch x' v2"
    assert _push_delete("my remote", "a;b") == "git push --delete 'my remote' 'a;b'"


def test_prune_says_a_remote_it_cannot_ask(tmp_path, monkeypatch):
    """A git remote that cannot be asked (its folder gone): the tags are pruned as before, with a
    warning that one it has comes back with `git fetch --tags`."""
    lab, _ = _stray(tmp_path, monkeypatch)
    lab.git("remote", "set-url", "origin", str(tmp_path / "gone.git"))
    p = run_cli("tag", "--prune", "-q", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    assert "warning: could not ask git remote origin which tags it has" in p.stderr, p.stderr
    assert sorted(lab.git("tag").split()) == ["mine", "v1"]


def test_a_remote_given_up_on_leaves_nothing_running(tmp_path, monkeypatch):
    """What git started for the remote that does not answer (an ssh; here the `ext::` command) is
    ended with git, not left running past the command that gave up on it."""
    from annover.store import git as git_mod

    lab, _ = _stray(tmp_path, monkeypatch)
    pid_file = tmp_path / "hang.pid"
    hang = tmp_path / "hang.sh"
    hang.write_text(f"#!/bin/sh\necho $$ > '{pid_file}'\nexec sleep 30\n")
    hang.chmod(0o755)
    lab.git("remote", "set-url", "origin", "ext::" + str(hang))
    lab.git("config", "protocol.ext.allow", "always")
    monkeypatch.setattr(git_mod, "REMOTE_TAGS_TIMEOUT", 1.0)
    out = annover.Repo(lab.root).prune_tags(dry_run=True)
    assert [r for r, _ in out.unasked] == ["origin"]
    pid = int(pid_file.read_text())
    for _ in range(50):  # the killed process is reaped by init: a moment
        state = Path(f"/proc/{pid}/stat")
        if not state.exists() or state.read_text().split(") ")[-1].startswith("Z"):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        raise AssertionError("the remote's command was left running")
