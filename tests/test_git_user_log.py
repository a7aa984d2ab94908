"""``annover log`` and ``status`` as a git user reads them: ``log --graph``, several revisions after ``log``
(``A B``, ``^A B``, ``A..B C``), a tag that is also a branch's name, and what a clone has not pulled.

The history is made once (real git, real DVC): v1, v2 on main; round-a relabels task 3 (v3), main task 6
(v4); v5 merges round-a into main; branch side, from v2, relabels task 7 (v6).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import annover
from annover.errors import AmbiguousRevisionWarning
from tests.test_cli import invoke

from .conftest import example_repo, git, run_cli
from .test_git_user_revisions import _relabeled
from .test_json_schemas import validator
from .test_merge import two_clones


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> annover.Repo:
    root = tmp_path_factory.mktemp("log") / "repo"
    repo = example_repo(root)
    snap = {"key": "data.ext_id"}
    repo.snapshot(str(root / "round1.json"), config=str(root / "labeling.xml"), message="round 1", **snap)
    repo.snapshot(str(root / "round2.json"), message="round 2", **snap)
    git("switch", "-q", "-c", "round-a", cwd=root)
    repo.snapshot(str(root / _relabeled(root, "a.json", 3, "negative")), message="round a", **snap)
    git("switch", "-q", "main", cwd=root)
    repo.snapshot(str(root / _relabeled(root, "m.json", 6, "neutral")), message="main's round", **snap)
    repo.merge("round-a")
    git("switch", "-q", "-c", "side", "v2", cwd=root)
    repo.snapshot(str(root / _relabeled(root, "s.json", 7, "positive")), message="side round", **snap)
    git("switch", "-q", "main", cwd=root)
    return annover.Repo(root)


@pytest.fixture
def here(history, monkeypatch):
    monkeypatch.chdir(history.root)
    return history


def _ok(*args: str) -> str:
    code, out, err = invoke(*args)
    assert code == 0, (args, err)
    return out


def test_log_graph_draws_the_branches_and_the_merge_as_git_log_graph(here):
    """``annover log --graph`` was "No such option": the history beside the versions, as ``git log --graph``."""
    ids = {t: here.resolve(t)[:12] for t in ("v1", "v2", "v3", "v4", "v5", "v6")}
    drawn = _ok("log", "--graph", "--oneline").splitlines()
    order = [v["id"][:12] for v in json.loads(_ok("log", "--json"))]  # v3 and v4 made in one second: by id
    sides = {ids["v4"]: f"* | {ids['v4']} (v4) main's round", ids["v3"]: f"| * {ids['v3']} (v3) round a"}
    assert drawn == [f"* {ids['v5']} (HEAD, v5) Merge round-a into main", "|\\", *(sides[i] for i in order[1:3]),
                     "|/", f"* {ids['v2']} (v2) round 2", f"* {ids['v1']} (v1) round 1"]
    every = _ok("log", "--graph", "--oneline", "--all").splitlines()
    stars = [line for line in every if "*" in line]
    listed = [v["id"][:12] for v in json.loads(_ok("log", "--all", "--json"))]
    assert [line.split("* ", 1)[1].lstrip("| ")[:12] for line in stars] == listed and len(listed) == 6
    assert all(set(line.split(" * ")[0]) <= {"|", " "} for line in stars if not line.startswith("*"))
    # each branch named at its tip, beside its tags, as git log --all decorates them
    tips = [line for line in every if "round-a)" in line or "side)" in line or "main)" in line]
    wanted = (f"{ids['v6']} (v6, side) side round", f"{ids['v5']} (HEAD, v5, main) Merge",
              f"{ids['v3']} (v3, round-a) round a")
    assert len(tips) == 3 and all(any(want in line for line in tips) for want in wanted)
    merge = next(i for i, line in enumerate(every) if ids["v5"] in line)
    assert every[merge + 1].endswith("|\\") and every[-2:] == drawn[-2:]
    assert {0, 2} <= {len(line.split("* ", 1)[0]) for line in stars} <= {0, 2, 4}  # at most side's and the merge's
    # every line of the full format is drawn too; below the root, indented as the others
    full = _ok("log", "--graph", "v3").splitlines()
    assert full[0].startswith(f"* version {here.resolve('v3')}") and full[1].startswith("| Author:")
    assert full[-7].startswith("* version ") and full[-6].startswith("  Author:")
    code, out, err = invoke("log", "--graph", "--json")
    assert code == 2 and out == "" and err.count("\n") == 1 and "parents" in err, err


def test_log_takes_several_revisions_as_git_log_does(here):
    """``annover log v3 v4``, ``log ^v1 v5``, ``log v1..v3 v6`` were "Got unexpected extra argument": the
    versions any REV reaches, but those a ``^REV`` (the left of ``A..B``, one after ``--not``) reaches, as git
    log takes them; and ``--reverse`` was "No such option"."""
    def reach(rev: str) -> set[str]:
        return {v.id for v in here.log(rev)}

    def listed(*args: str) -> list[str]:
        return [v["id"] for v in json.loads(_ok("log", "--json", *args))]

    cases = {("v3", "v4"): reach("v3") | reach("v4"),
             ("^v1", "v5"): reach("v5") - reach("v1"),
             ("v1..v3", "v6"): (reach("v3") | reach("v6")) - reach("v1"),
             ("v6", "^v2", "v3"): (reach("v6") | reach("v3")) - reach("v2"),
             ("v4...v3", "v6"): (reach("v4") | reach("v3") | reach("v6")) - (reach("v4") & reach("v3")),
             ("--all", "^v4"): {vid for t in ("v5", "v6") for vid in reach(t)} - reach("v4"),
             ("v5", "--not", "v3", "v6", "--not", "v6"): reach("v5") - reach("v3") - reach("v6")}  # ^v6 wins
    for args, want in cases.items():
        got = listed(*args)
        assert len(got) == len(set(got)) and set(got) == want, args
        when = [here.version(v).created_at for v in got]
        assert when == sorted(when, reverse=True), args
    assert listed("v5", "v3") == listed("v5") and listed("-n", "2", "v3", "v4") == listed("v3", "v4")[:2]
    assert listed("--reverse", "-n", "2") == listed("-n", "2")[::-1] and listed("--reverse", "v3", "v4") == \
        listed("v3", "v4")[::-1]  # as git log --reverse: the newest N picked, then listed oldest first
    code, out, err = invoke("log", "--graph", "--reverse")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    code, out, err = invoke("log", "^v5")
    assert code == 0 and out == "" and "no versions in ^v5" in err, err
    code, out, err = invoke("log", "v3", "v4", "--task", "rev-003")
    assert code == 2 and out == "" and err.count("\n") == 1, err


def test_a_tag_that_is_also_a_branch_warns_that_it_is_ambiguous(here):
    """``git branch v3``: ``annover show v3`` read the tag and said nothing, where git says ``warning:
    refname 'v3' is ambiguous``; annover says so too, once, on stderr (the library: a warning)."""
    git("branch", "v3", "side", cwd=here.root)
    try:
        code, out, err = invoke("show", "v3", "--json")
        assert code == 0 and json.loads(out)["id"] == here.resolve("v3") == here.log("v3")[0].id
        assert err.count("\n") == 1 and err.startswith("warning: refname 'v3' is ambiguous:") and "git branch" in err
        with pytest.warns(AmbiguousRevisionWarning, match="'v3' is ambiguous"):
            annover.Repo(here.root).resolve("v3")
        code, out, err = invoke("diff", "v3", "v4", "--stat")
        assert code == 0 and err.count("refname 'v3' is ambiguous") == 1, err
    finally:
        git("branch", "-D", "v3", cwd=here.root)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AmbiguousRevisionWarning)
        annover.Repo(here.root).resolve("v4")  # a tag alone: no warning
    assert invoke("show", "v3")[2] == ""


def test_status_in_a_clone_counts_heads_objects_and_the_versions_not_pulled(two_rounds, tmp_path, monkeypatch):
    """A clone that pulled nothing said "missing locally: N object(s)" with N its manifests and config alone
    (and "1 object(s)" once a pulled version shared HEAD's tasks manifest): HEAD's objects are counted from
    its DVC pointer where its manifests are not here to list them, and the versions not pulled are said."""
    repo, v1, v2 = two_rounds
    repo.push()
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo.root), str(clone), cwd=tmp_path)
    there = annover.Repo(clone)
    heads = repo.objects_of(v2)
    st = there.status(remote=False)
    assert (st.missing_locally, st.missing_counted, sorted(st.not_pulled)) == (len(heads), False,
                                                                              sorted([v1.id, v2.id]))
    there.pull("v1")
    st = there.status(remote=False)
    really = sum(1 for r in heads if not there.store.has(r))
    assert st.missing_locally >= really > 0 and st.not_pulled == [v2.id]
    monkeypatch.chdir(clone)
    doc = json.loads(_ok("status", "--no-remote", "--json"))
    validator("status").validate(doc)
    assert (doc["missing_locally"], doc["not_pulled"]) == (st.missing_locally, [v2.id])
    text = _ok("status", "--no-remote")
    assert f"missing locally: up to {st.missing_locally} object(s)" in text and "versions not pulled: 1 of 2" in text
    there.pull()
    st = there.status(remote=False)
    assert (st.missing_locally, st.missing_counted, st.not_pulled) == (0, True, [])


def test_a_snapshot_is_not_numbered_as_a_branch_is_named(two_rounds):
    """A branch named ``v3`` (a round's branch named after the version it would make): the next snapshot was
    tagged v3 too, a name git reads as ambiguous, where ``annover tag v3`` refuses it; it takes the next number."""
    repo, _, v2 = two_rounds
    git("branch", "v3", cwd=repo.root)
    data = json.loads((repo.root / "round2.json").read_text())
    data[0]["data"]["text"] = "edited"
    (repo.root / "edited.json").write_text(json.dumps(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error", AmbiguousRevisionWarning)
        made = repo.snapshot("edited.json", key="data.ext_id", message="after the branch")
        assert made.tag == "v4" and repo.resolve("v4") == made.version.id and "v3" not in repo.tags()
    assert repo.resolve("v3") == v2.id  # the branch: the version HEAD was at there


def test_an_old_version_checked_out_after_a_renumbering_merge_warns_of_no_moved_tag(tmp_path, monkeypatch):
    """Both clones made a v2; Bob's merge renumbered his as v3 (a commit deleting his v2 file) and brought
    Alice's v2 in. `git checkout v1` then made every command warn "tag v2 was deleted (`annover tag -d`...)":
    the merge that put v2 back, its file as one parent's, was not seen as the newest change to it."""
    alice, bob = two_clones(tmp_path, monkeypatch)
    assert run_cli("merge", "origin/a", cwd=bob.root).returncode == 0
    alices = annover.Repo(bob.root).resolve("v2")
    git("checkout", "-q", "v1", cwd=bob.root)
    repo = annover.Repo(bob.root)
    assert repo.moved_tags() == [] and repo.resolve("v2") == alices
    code, out, err = invoke("log", "--oneline", "v2")
    assert code == 0 and err == "" and out.startswith(alices[:12]), err


def test_log_graph_and_all_in_a_repository_with_no_version_yet_say_so(repo):
    for args in (("--graph",), ("--all",), ("--all", "--graph", "--oneline")):
        code, out, err = invoke("log", *args)
        assert code == 0 and out == "" and err.startswith("no versions yet"), (args, err)
