"""Two clones numbered a version alike, and a `git pull` brought the teammate's over one's own.

B made v2 on a branch of its own and did not push it; A made v2 on main and pushed it. B's `git pull` on
main takes A's v2 commit (and keeps B's git tag v2: git does not clobber a tag it has). `annover show v2`,
`annover.load("v2")` and `tag -l` then read B's own v2 where main's record and every other clone say A's,
and `status` said nothing: a training script on main pinned to "v2" trained on other labels than the
teammate's. Now "v2" is refused (exit 7, as a moved tag), `status` names both versions, and the advice is the
merge that renumbers B's version (run here as printed), after which v2 is A's everywhere.
"""

from __future__ import annotations

import json
import re

import pytest

from annover.errors import RevisionError

from .conftest import git
from .test_team import annover_in, ok, team  # noqa: F401 - fixture


def _relabeled(src, dest, label: str):
    data = json.loads(src.read_text())
    data[0]["annotations"][0]["result"][0]["value"]["choices"] = [label]
    dest.write_text(json.dumps(data))
    return dest


def test_a_version_number_two_branches_gave_out_is_refused_until_merged(team):  # noqa: F811
    a, b = team.a, team.b
    ok(b, "pull")
    git("switch", "-q", "-c", "bob", cwd=b)
    ok(b, "snapshot", "--from", str(_relabeled(team.data / "round2.json", b.parent / "bob.json", "negative")),
       "--key", "data.ext_id", "-m", "bob's round")
    bobs = ok(b, "show", "v2", "--json")[0]
    ok(a, "snapshot", "--from", str(team.data / "round2.json"), "--key", "data.ext_id", "-m", "alice's round")
    alices = json.loads(ok(a, "show", "v2", "--json")[0])["id"]
    ok(a, "push")
    git("push", "-q", "origin", "main", cwd=a)
    git("switch", "-q", "main", cwd=b)
    git("pull", "-q", "--ff-only", "origin", "main", cwd=b)
    ok(b, "pull")

    code, out, err = annover_in(b, "show", "v2")
    assert code == 7 and out == "" and "tag v2 names two versions" in err, (code, err)
    assert alices[:12] in err and json.loads(bobs)["id"][:12] in err and "branch bob" in err, err
    status = json.loads(ok(b, "status", "--no-remote", "--json")[0])
    clash = [m for m in status["moved_tags"] if m["by"] == "clash"]
    assert [(m["name"], m["recorded"]) for m in clash] == [("v2", alices)], status["moved_tags"]
    import annover

    with pytest.raises(RevisionError):
        annover.Repo(b).resolve("v2")

    for line in re.findall(r"`(git switch [^`]+)`", err):  # the advice, as printed
        switch, merge = line.split(" && ")
        git(*switch.split()[1:], cwd=b)
        ok(b, *merge.split()[1:])
    assert git("branch", "--show-current", cwd=b).strip() == "main"
    assert json.loads(ok(b, "show", "v2", "--json")[0])["id"] == alices
    assert json.loads(ok(b, "show", "v3", "--json")[0])["id"] == json.loads(bobs)["id"]
    assert json.loads(ok(b, "status", "--no-remote", "--json")[0])["moved_tags"] == []
