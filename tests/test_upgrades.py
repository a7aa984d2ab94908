"""Repositories written by earlier annover, read and carried on by today's.

Each ``tests/data/repo-at-COMMIT.tar.gz`` holds ``repo/`` and its DVC remote ``remote/`` as
annover at COMMIT wrote them (``git clone`` of the project, ``git checkout COMMIT``, its own
``python -m annover``), from the shipped sample (examples/sentiment)::

    annover init --remote ../remote
    annover snapshot --from round1.json --config labeling.xml --key data.ext_id -m "round 1"
    annover snapshot --from round2.json -m "round 2"        # v2: new tasks and relabels
    annover tag round-2 v2
    git checkout -b side                                     # round3.json: round2.json, rev-001 relabeled
    annover snapshot --from round3.json -m "side relabel"    # v3, on the branch side
    git checkout main
    annover sample v2 --strategy random --n 3 --seed 1 --out picks.txt   # where sample exists
    annover push

with the old code's delta thresholds lowered (``annover.store.snapshots.MIN_BASE_BYTES = 0``,
``MAX_DELTA_FRACTION = 1.0``, set before its CLI ran) so that code with deltas stores v2 and v3
as deltas; picks.txt, .git/hooks/*.sample and .dvc/tmp left out. The commits are where the
layout on disk changed:

- 8a1cb5a: after the restructure; tables written whole (``annover.snapshot/1``), tag files
- f305fa5: merge-on-read deltas (``annover.snapshot/2``) without before images; sample records
- 98ace8d: deltas with before images, relabels in place; parts stored without an Arrow schema
- 45d8615: the commit memo in the git dir (``.git/annover-commits``)

(tests/test_old_repositories.py reads the one written before the restructure.)
"""

from __future__ import annotations

import json
import shutil
import tarfile

import pyarrow.parquet as pq
import pytest

import annover
from annover.model import canonical as C

from .conftest import DATA, EXAMPLES, git, run_cli

COMMITS = ["8a1cb5a", "f305fa5", "98ace8d", "45d8615"]
REVS = ("v1", "v2", "v3")


def _relabel(src, dst, key: str) -> None:
    """``src`` with task ``key``'s sentiment flipped (as round3.json was made from round2.json)."""
    tasks = json.loads(src.read_text())
    for t in tasks:
        for a in t.get("annotations", []):
            for r in a["result"]:
                if r.get("type") == "choices" and t["data"]["ext_id"] == key:
                    r["value"]["choices"] = ["positive"] if r["value"]["choices"] == ["negative"] else ["negative"]
    dst.write_text(json.dumps(tasks))


@pytest.fixture(params=COMMITS)
def old(request, tmp_path):
    with tarfile.open(DATA / f"repo-at-{request.param}.tar.gz") as tar:
        tar.extractall(tmp_path / "old", filter="data")
    return annover.Repo(tmp_path / "old" / "repo")


@pytest.fixture(scope="module")
def _today_built(tmp_path_factory):
    """The same inputs, the same steps, by today's annover (built once, copied for each test)."""
    root = tmp_path_factory.mktemp("today") / "repo"
    with pytest.MonkeyPatch.context() as mp:  # as conftest's _isolated_env, which is per test
        mp.setenv("ANNOVER_REMOTE_HOME", str(tmp_path_factory.mktemp("remotes")))
        for who in ("AUTHOR", "COMMITTER"):
            mp.setenv(f"GIT_{who}_NAME", "Test Author")
            mp.setenv(f"GIT_{who}_EMAIL", "author@example.com")
        r = annover.init(root)
        for name in ("round1.json", "round2.json", "labeling.xml"):
            shutil.copy(EXAMPLES / name, root / name)
        _relabel(root / "round2.json", root / "round3.json", "rev-001")
        r.snapshot(str(root / "round1.json"), config=str(root / "labeling.xml"), key="data.ext_id", message="round 1")
        r.snapshot(str(root / "round2.json"), message="round 2")
        r.tag("round-2", "v2")
        git("checkout", "-q", "-b", "side", cwd=root)
        r.snapshot(str(root / "round3.json"), message="side relabel")
        git("checkout", "-q", "-", cwd=root)
    return root


@pytest.fixture
def today(_today_built, tmp_path):
    shutil.copytree(_today_built, tmp_path / "today" / "repo", symlinks=True)
    return annover.Repo(tmp_path / "today" / "repo")


def _ids(v) -> dict:
    t = v.record["tables"]
    return {"tasks": t["tasks"]["id"], "annotations": t["annotations"]["id"],
            "predictions": {mv: s["id"] for mv, s in t["predictions"].items()}}


def _loads(r, rev: str) -> dict:
    out = {"tasks": r.load(rev, "tasks"), "annotations": r.load(rev, "annotations")}
    for mv in r.version(r.resolve(rev)).record["tables"]["predictions"]:
        out[mv] = r.load(rev, "predictions", model_version=mv)
    return out


def _same_tables(a: dict, b: dict) -> None:
    for name in a:
        assert a[name].schema.equals(b[name].schema, check_metadata=True), name  # the canonical fields' role, type
        assert a[name].equals(b[name]), name


def _summary(r, a: str, b: str) -> dict:
    s = r.diff(a, b).summary
    return {k: v for k, v in s.items() if k not in ("a", "b", "parts")}  # parts: how each is stored


def test_old_versions_read_as_todays_of_the_same_inputs(old, today):
    assert [v.message for v in old.log()] == ["round 2", "round 1"]
    for rev in REVS:
        assert _ids(old.version(old.resolve(rev))) == _ids(today.version(today.resolve(rev))), rev
        _same_tables(_loads(old, rev), _loads(today, rev))
    assert old.resolve("round-2") == old.resolve("v2")
    for a, b in (("v1", "v2"), ("v2", "v3"), ("v1", "v3")):
        assert _summary(old, a, b) == _summary(today, a, b), (a, b)


def test_old_versions_export_as_todays(old, today, tmp_path):
    for fmt, name, extra in (("parquet", "a.parquet", {}), ("label-studio", "a.json", {}),
                             ("conll", "a.conll", {"resolve": "latest"})):
        old.export("v2", fmt, tmp_path / f"old-{name}", **extra)
        today.export("v2", fmt, tmp_path / f"today-{name}", **extra)
        assert (tmp_path / f"old-{name}").read_bytes() == (tmp_path / f"today-{name}").read_bytes(), fmt
    t = pq.read_table(tmp_path / "old-a.parquet")
    assert t.schema.field("labels").metadata == C.schema("annotations").field("labels").metadata
    again = old.snapshot(str(tmp_path / "old-a.json"), message="v2's export")
    assert not again.changed


def _carry_on(r) -> None:
    """A new round on HEAD, the side branch merged, a tag, a push."""
    _relabel(r.root / "round2.json", r.root / "round4.json", "rev-002")
    r.snapshot(str(r.root / "round4.json"), message="round 4")
    r.merge("side", message="merge side")
    r.tag("merged")
    r.push()


def test_an_old_repository_goes_on_and_a_clone_pulls(old, today, tmp_path):
    for args in (("log", "--oneline"), ("show", "v2"), ("status",), ("diff", "v1", "v2", "--json")):
        p = run_cli(*args, cwd=old.root)
        assert p.returncode == 0 and "Error" not in p.stderr, (args, p.stderr)
    annover.Repo.init(today.root, remote=str(tmp_path / "today-remote"))
    for r in (old, today):
        _carry_on(r)
    assert [v.message for v in old.log()] == ["merge side", "round 4", "side relabel", "round 2", "round 1"]
    assert _ids(old.version(old.resolve("merged"))) == _ids(today.version(today.resolve("merged")))
    gc = run_cli("gc", "-n", "--json", cwd=old.root)
    assert gc.returncode == 0 and json.loads(gc.stdout)["versions_kept"] == 5, gc.stdout + gc.stderr
    clone = old.root.parent / "clone"  # beside it: the remote is recorded as ../remote
    git("clone", "-q", str(old.root), str(clone), cwd=tmp_path)
    c = annover.Repo(clone)
    c.pull()
    for rev in (*REVS, "merged"):
        c.pull(rev)
        _same_tables(_loads(c, rev), _loads(today, rev))
    s = c.status()
    assert s.pushed and s.versions == 5 and s.unpushed == []


def test_status_with_what_old_annover_remembered_is_status_afresh(old):
    """The commit memo an old annover left in the git dir (45d8615's) gives what git gives."""
    before = run_cli("status", "--json", cwd=old.root)
    for memo in (old.root / ".git").glob("annover-commits*"):
        memo.unlink()
    after = run_cli("status", "--json", cwd=old.root)
    assert before.returncode == after.returncode == 0, before.stderr + after.stderr
    assert json.loads(before.stdout) == json.loads(after.stdout)


@pytest.mark.parametrize("old", COMMITS[1:], indirect=True)  # sample records exist from f305fa5 on
def test_an_old_sample_is_drawn_again_as_the_same_record(old):
    """A sample an old annover recorded is the same content-addressed record today: drawn again
    with the same choice it commits nothing."""
    recorded = sorted(p.stem for p in (old.dir / "samples").glob("*.json"))
    assert recorded, "the archive holds the sample its annover recorded"
    head = git("rev-parse", "HEAD", cwd=old.root)
    again = old.sample("v2", strategy="random", n=3, seed=1)
    assert [again.id] == recorded
    assert again.keys == json.loads((old.dir / "samples" / f"{recorded[0]}.json").read_text())["keys"]
    assert git("rev-parse", "HEAD", cwd=old.root) == head
