"""Tags in a team (two clones, one bare git remote, one DVC remote; real git and DVC): a tag moved
or deleted in one clone, published, and what the other clone's `annover tag` says of it."""

from __future__ import annotations

import re

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

