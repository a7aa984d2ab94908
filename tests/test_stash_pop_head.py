"""A `git stash pop` that conflicts on ``.annover/HEAD``: every command said "restore it from git: git checkout
-- .annover/HEAD", which git refuses on an unmerged path ("path ... is unmerged"). The advice is one git takes:
``git checkout HEAD -- .annover/HEAD``, after which annover reads the repository again."""

from __future__ import annotations

import subprocess

from .conftest import git, run_cli


def test_the_advice_after_a_conflicting_stash_pop_is_one_git_takes(two_rounds):
    repo, v1, v2 = two_rounds
    root = repo.root
    head = root / ".annover" / "HEAD"
    head.write_text(v1.id + "\n")  # a hand edit, stashed
    git("stash", "-q", cwd=root)
    data = (root / "round2.json").read_text().replace('"positive"', '"negative"', 1)
    (root / "r3.json").write_text(data)
    run_cli("snapshot", "--from", "r3.json", "--key", "data.ext_id", "-m", "round 3", cwd=root, check=True)
    popped = subprocess.run(["git", "stash", "pop"], cwd=root, capture_output=True, text=True)
    assert popped.returncode != 0 and "CONFLICT" in popped.stdout + popped.stderr, popped
    p = run_cli("show", cwd=root)
    assert p.returncode != 0 and "Traceback" not in p.stderr, p.stderr
    advice = p.stderr.split("restore it from git: ", 1)[1].split()[:5]
    assert advice[:3] == ["git", "checkout", "HEAD"], p.stderr
    done = subprocess.run([*advice], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    p = run_cli("show", cwd=root)
    assert p.returncode == 0, p.stderr
