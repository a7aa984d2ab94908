"""``annover gc --force`` killed (SIGKILL) while it removes: the cache stays usable, every kept
version loads and checks out with git + DVC, a pushed dropped version pulls again, and the
next gc removes the rest. Real git, real DVC, a local DVC remote."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import annover

from .conftest import git, run_cli
from .test_cli import invoke
from .test_gc import _cache, _dvc, _gc_json, _same, _unique, four  # noqa: F401 (four: the fixture)

KILL_AFTER = textwrap.dedent("""
    import os, signal, sys
    import annover
    from annover.repo.gc import gc
    n = int(sys.argv[1])
    def progress(step, done, total):
        if step == "removing" and done == n:
            os.kill(os.getpid(), signal.SIGKILL)
    gc(annover.Repo("."), force=True, progress=progress)
""")


def test_a_gc_killed_while_removing_leaves_a_usable_cache_and_the_next_finishes(four):
    repo, vids, tables = four
    root = repo.root
    run_cli("push", "-q", cwd=root, check=True)  # v4 is on the remote: pullable after gc
    unique = _unique(repo, vids[3], vids[:3])
    run_cli("reset", "v3", "--force", "-q", cwd=root, check=True)
    before = _cache(repo)
    assert len(unique) >= 3
    p = subprocess.run([sys.executable, "-c", KILL_AFTER, str(len(unique) - 2)], cwd=root, capture_output=True)
    assert p.returncode == -9, p.stderr
    left = set(_cache(repo))
    assert set(before) - unique <= left and len(set(before) - left) == len(unique) - 2  # nothing kept went
    assert {m for m in unique if m.endswith(".dir")} <= left  # the listing goes last: the next gc finds it
    for vid in vids[:3]:
        assert _same(annover.Repo(root), vid, tables[vid])
    out = _gc_json("--force")  # the lock a killed gc held: no repair needed, gc runs
    assert set(out["md5s"]) == unique & left and out["dropped"] == [vids[3]]
    assert set(_cache(repo)) == set(before) - unique
    git("checkout", "-q", "v2", cwd=root)
    assert _dvc("checkout", cwd=root).returncode == 0 and _dvc("status", "-q", cwd=root).returncode == 0
    assert _same(annover.Repo(root), vids[1], tables[vids[1]])
    git("checkout", "-q", "main", cwd=root)
    assert _dvc("checkout", cwd=root).returncode == 0
    run_cli("pull", vids[3], "-q", cwd=root, check=True)
    assert _same(annover.Repo(root), vids[3], tables[vids[3]])


def test_quiet_gc_says_nothing_on_stderr_and_still_lists_on_stdout(four):
    """`-q` is quiet as documented for every command: no summary (docs/commands.md); the files a
    dry run lists are data, on stdout."""
    repo, vids, _ = four
    run_cli("reset", "v3", "--force", "-q", cwd=repo.root, check=True)
    unique = _unique(repo, vids[3], vids[:3])
    code, out, err = invoke("gc", "-q")
    assert code == 0 and err == "" and {ln.split()[0] for ln in out.splitlines()} == unique
    code, out, err = invoke("gc", "-q", "--force")
    assert code == 0 and err == "" and not unique & set(_cache(repo))
    code, out, err = invoke("gc", "-q")
    assert code == 0 and err == "" and out == ""
