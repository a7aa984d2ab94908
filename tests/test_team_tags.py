"""Tags in a team (two clones, one bare git remote, one DVC remote; real git and DVC): a tag moved
or deleted in one clone, published, and what the other clone's `annover tag` says of it."""

from __future__ import annotations

import json
import re
import shlex
import subprocess

from .conftest import git
from .test_team import annover_in, ok, team  # noqa: F401  (team: the fixture)


def test_the_tag_list_says_a_tag_git_did_not_move_here_as_log_and_show_do(team):
    """A moved `reviewed` to v2 and published it; B's `git pull` brought the tag file, not git's tag.
    `annover show reviewed` is exit 7 and `log`, `show` and `status` say the tag was moved, but
    `annover tag` listed `reviewed` as the version git's stale tag names, exit 0, without a word.
    Now it says so on stderr, with what settles it, and lists the tags as before."""
    a, b = team.a, team.b
    ok(a, "snapshot", "--from", str(team.data / "round2.json"), "-m", "round 2")
    ok(a, "push")
    ok(a, "tag", "reviewed", "v2", "--force")
    git("push", "-q", "--atomic", "origin", "main", "+refs/tags/reviewed", cwd=a)
    git("pull", "-q", cwd=b)
    code, out, err = annover_in(b, "tag")
    assert code == 0 and re.search(r"^reviewed\s", out, re.M), out
    assert "warning: git's tag reviewed does not name the version annover recorded" in err, err
    assert "`git fetch --tags --force`" in err
    code, out, err = annover_in(b, "tag", "--json")
    assert code == 0 and "warning: git's tag reviewed" in err and out.startswith("["), (out, err)
    git("fetch", "-q", "--tags", "--force", cwd=b)
    code, out, err = annover_in(b, "tag")
    assert code == 0 and err == "" and "reviewed" in out, (out, err)



def _said_command(err: str, start: str) -> list[str]:
    """The command in backquotes in ``err`` that begins with ``start``, as words."""
    found = re.search(r"`(" + re.escape(start) + r"[^`]*)`", err)
    assert found, err
    return shlex.split(found.group(1))


def test_a_tag_moved_or_deleted_says_the_git_push_that_publishes_it_with_its_commit(team):
    """`reviewed` is on the git remote. A moves it with `annover tag --force`: `annover status` and
    `push` say `git push --atomic origin main --tags`, which git refuses (the tag exists there), and
    docs/commands.md said `git push --force --tags`, which leaves the commit recording the move
    behind. `annover tag` now says the push that publishes the move (or a deletion) with its
    commit, all or nothing; run as said, B gets it with `git pull` and the `git fetch` it is told."""
    a, b = team.a, team.b
    ok(a, "snapshot", "--from", str(team.data / "round2.json"), "-m", "round 2")
    ok(a, "push")
    git("push", "-q", "--atomic", "origin", "main", "--tags", cwd=a)
    _, err = ok(a, "tag", "reviewed", "v2", "--force")
    publish = _said_command(err, "git push")
    assert publish == ["git", "push", "--atomic", "origin", "main", "+refs/tags/reviewed"], err
    refused = subprocess.run(["git", "push", "--atomic", "origin", "main", "--tags"], cwd=a, capture_output=True)
    assert refused.returncode != 0  # what status says: the remote has the tag
    subprocess.run(publish, cwd=a, check=True, capture_output=True)
    git("pull", "-q", cwd=b)
    git("fetch", "-q", "--tags", "--force", cwd=b)
    shown = [json.loads(ok(where, "show", rev, "--json")[0])["id"] for where, rev in ((b, "reviewed"), (a, "v2"))]
    assert shown[0] == shown[1]
    _, err = ok(a, "tag", "-d", "reviewed")
    publish = _said_command(err, "git push")
    assert publish == ["git", "push", "--atomic", "origin", "main", ":refs/tags/reviewed"], err
    subprocess.run(publish, cwd=a, check=True, capture_output=True)
    git("pull", "-q", cwd=b)
    git("fetch", "-q", "--prune", "--prune-tags", cwd=b)
    out, err = ok(b, "tag")
    assert "reviewed" not in out + err and "moved tag" not in ok(b, "status", "--no-remote")[0]
    _, err = ok(a, "tag", "gold", "v1")
    assert "note:" not in err  # a new tag: `git push --atomic origin main --tags`, as status says, publishes it


def test_a_pruned_and_collected_version_pushed_before_is_pulled_again_once_git_reaches_its_commit(team):
    """The README said a version gc collected that was pushed before "can be pulled again
    (`annover pull ID`)": a deleted branch's version, once `annover tag --prune` deleted its tag and
    the reflog expired, is one git no longer reaches, and `annover pull ID` is exit 7 (unknown
    revision). It is pulled again once a ref names its commit again (the one `--prune` printed)."""
    a = team.a
    git("checkout", "-q", "-b", "wip", cwd=a)
    vid = ok(a, "snapshot", "-q", "--from", str(team.data / "round2.json"), "-m", "wip")[0].strip()
    ok(a, "push")
    git("checkout", "-q", "main", cwd=a)
    git("branch", "-q", "-D", "wip", cwd=a)
    _, err = ok(a, "tag", "--prune")
    again = _said_command(err, "git tag v2")
    git("reflog", "expire", "--expire-unreachable=now", "--all", cwd=a)
    out = json.loads(ok(a, "gc", "--force", "--json")[0])
    assert out["objects"] > 0 and vid not in out["kept"], out
    assert annover_in(a, "pull", vid[:12])[0] == 7
    subprocess.run(again, cwd=a, check=True)
    ok(a, "pull", vid[:12])
    assert json.loads(ok(a, "show", vid[:12], "--json")[0])["storage"] is not None  # its objects are here again
