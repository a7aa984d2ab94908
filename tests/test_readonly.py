"""Read-only places: where a training job reads a pinned version and cannot write.

A checkout on a shared file system made read-only, a container's read-only home (no
``XDG_CACHE_HOME``), a DVC cache a team shares (``cache.type symlink``, ``cache.shared group``,
set in DVC's global config), DVC's site cache (``/var/tmp/dvc``) read-only, a clone another
user owns (git's safe.directory). Reads work and write nothing; a command that must write
says in one line what it could not write and how to go on (exit 6), never a traceback.

The places are made real, the first way this machine allows (``LOCK``):
- ``mount``: as root where mounting is permitted, each folder is a read-only bind mount
  (EROFS) in a mount namespace of the command's own (``unshare -m``): nothing outside it sees
  the mount, and nothing is left mounted;
- ``setpriv``: as root where it is not, the folders are ``chmod -R a-w`` and the command runs
  without CAP_DAC_OVERRIDE (root's override of permissions), so it gets EACCES as a user would;
- ``chmod``: as any other user, ``chmod -R a-w`` (EACCES).
The commands run in subprocesses (the real ``annover`` entry point, or a Python script).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

import annover

from .conftest import EXAMPLES, git

DVC = str(Path(sys.executable).with_name("dvc"))


def _mount_works(probe: Path) -> bool:
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("mount")):
        return False
    probe.mkdir(exist_ok=True)
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && ! touch "$0/x" 2>/dev/null',
                        str(probe)], capture_output=True)
    return p.returncode == 0 and not (probe / "x").exists()


@pytest.fixture(scope="module")
def lock_how(tmp_path_factory) -> str:
    if os.environ.get("ANNOVER_TEST_LOCK") in ("setpriv", "chmod"):  # the other ways, tried by hand
        return os.environ["ANNOVER_TEST_LOCK"]
    if _mount_works(tmp_path_factory.mktemp("probe")):
        return "mount"
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.fail("root, with neither mount nor setpriv: no way to make a read-only place here")
        return "setpriv"
    return "chmod"


def _modes(paths: list[Path]) -> dict[str, int]:
    """The mode of every file and folder under ``paths`` (symbolic links left alone)."""
    out = {}
    for top in paths:
        for d, dirs, files in os.walk(top):
            for n in [".", *dirs, *files]:
                full = os.path.normpath(os.path.join(d, n))
                if not os.path.islink(full):
                    out[full] = os.lstat(full).st_mode & 0o7777
    return out


@contextmanager
def _unwritable(how: str, paths: list[Path]) -> Iterator[None]:
    """``chmod -R a-w`` of ``paths`` for the duration, each mode put back as it was."""
    if how == "mount":
        yield
        return
    modes = _modes(paths)
    for path, mode in modes.items():
        os.chmod(path, mode & ~0o222)
    try:
        yield
    finally:
        for path, mode in modes.items():
            os.chmod(path, mode)


def locked(how: str, read_only: list[Path], argv: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """``argv`` run in ``cwd`` with the folders ``read_only`` not writable (see the module)."""
    if how == "mount":
        script = ('for d in $0; do mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" || exit 99; done; '
                  'cd "$1" && shift 2 && exec "$@"')
        argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                " ".join(map(str, read_only)), str(cwd), "--", *argv]
    elif how == "setpriv":
        argv = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", *argv]
    with _unwritable(how, read_only):
        p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode != 99, p.stderr
    return p


def one_line(p: subprocess.CompletedProcess) -> str:
    err = "\n".join(ln for ln in p.stderr.splitlines() if not ln.startswith("warning: the DVC remote"))
    assert err.startswith("Error: ") and "\n" not in err, p.stderr
    assert "Traceback" not in p.stderr and "bug" not in err, p.stderr
    return err


def clean(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert p.returncode == 0, (p.args, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr and "Error" not in p.stderr, p.stderr
    return p


def tree(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` (``.git`` too) with its kind, size and mtime."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            st = os.lstat(os.path.join(d, n))
            out[os.path.relpath(os.path.join(d, n), root)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture
def place(tmp_path, monkeypatch):
    """An origin with v1 and v2 pushed to a folder remote; an unwritable home; the environment of
    a job there (no XDG_CACHE_HOME, no ANNOVER_CACHE_DIR)."""
    origin = tmp_path / "origin"
    r = annover.init(origin)
    r.snapshot(str(EXAMPLES / "round1.json"), config=str(EXAMPLES / "labeling.xml"), key="data.ext_id",
               message="round 1")
    r.snapshot(str(EXAMPLES / "round2.json"), key="data.ext_id", message="round 2")
    r.push()
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "ANNOVER_CACHE_DIR")}
    env.update(HOME=str(home), DVC_GLOBAL_CONFIG_DIR=str(home / "dvc"), DVC_SITE_CACHE_DIR=str(tmp_path / "site"),
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]))
    return origin, home, env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "annover", *args]


READS = textwrap.dedent("""
    import json, sys, annover, annover.dask
    out = {"v2": annover.load("v2").num_rows, "v1": annover.load("v1", table="tasks").num_rows,
           "by_path": annover.load("v2", repo=sys.argv[1]).num_rows,
           "dask": len(annover.dask.read(None, "v1").compute())}
    print(json.dumps(out))
""")


def test_reads_in_a_read_only_checkout_write_nothing(lock_how, place, tmp_path):
    """A clone pulled, then made read-only with the home: log, show, diff, status (--json),
    export elsewhere, annover.load, annover.dask.read over the repository's own folder remote:
    each works, and the checkout is byte for byte as it was (git's files too)."""
    origin, home, env = place
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    clean(subprocess.run(cli("pull"), cwd=clone, env=env, capture_output=True, text=True))
    before = tree(clone)
    out = tmp_path / "out"
    out.mkdir()
    ro = [clone, home]
    for args in (["log", "--json"], ["show", "v2", "--json"], ["diff", "v1", "v2", "--json"], ["log", "--task",
                 "rev-003", "-p"], ["export", "v1", "--format", "csv", "--out", str(out / "v1.csv")]):
        clean(locked(lock_how, ro, cli(*args), clone, env))
    status = json.loads(clean(locked(lock_how, ro, cli("status", "--json"), clone, env)).stdout)
    assert status["pushed"] is True and status["remote"]["name"] == "annover", status
    got = json.loads(clean(locked(lock_how, ro, [sys.executable, "-c", READS, str(clone)], clone, env)).stdout)
    assert got == {"v2": 34, "v1": 20, "by_path": 34, "dask": 24}
    assert (out / "v1.csv").stat().st_size > 0
    assert tree(clone) == before
    p = locked(lock_how, ro, cli("export", "v1", "--format", "csv", "--out", str(clone / "v1.csv")), clone, env)
    assert p.returncode == 2 and "--out" in one_line(p) and not (clone / "v1.csv").exists()
    p = locked(lock_how, ro, cli("tag", "best", "v1"), clone, env)
    assert p.returncode == 6 and ".annover/lock" in one_line(p)
    assert tree(clone) == before


def _shared_cache(home: Path, cache: Path) -> None:
    """DVC's global config (what a team sets once per machine): the cache in ``cache``, shared by
    a group, files linked into work trees as symlinks."""
    (home / "dvc").mkdir(exist_ok=True)
    (home / "dvc" / "config").write_text(f"[cache]\n    dir = {cache}\n    type = symlink\n    shared = group\n")


def test_a_fresh_clone_read_only_over_a_shared_cache(lock_how, place, tmp_path):
    """A teammate pulled into the shared cache; this clone, never opened by DVC (no .dvc/tmp),
    is read-only, as are the home and the cache. Reads come from the shared cache. Before,
    annover.dask.read() said 'this repository has no DVC remote' and `annover status` showed
    'remote: none (set one with `annover init --remote URL`)', exit 0: DVC could not open the
    checkout (.dvc/tmp cannot be made) and that was taken for no remote. Now the remote is read
    from DVC's config files, and the status that must ask DVC says why it cannot, in one line."""
    origin, home, env = place
    cache = tmp_path / "shared-cache"
    _shared_cache(home, cache)
    mate = tmp_path / "mate"
    git("clone", "-q", str(origin), str(mate), cwd=tmp_path)
    clean(subprocess.run(cli("pull"), cwd=mate, env=env, capture_output=True, text=True))
    assert (mate / ".annover" / "objects").is_dir() and any(
        p.is_symlink() for p in (mate / ".annover" / "objects").rglob("*")), "DVC linked no object as a symlink"
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    assert not (clone / ".dvc" / "tmp").exists()
    before = tree(clone)
    ro = [clone, home, cache]
    got = json.loads(clean(locked(lock_how, ro, [sys.executable, "-c", READS, str(clone)], clone, env)).stdout)
    assert got == {"v2": 34, "v1": 20, "by_path": 34, "dask": 24}
    clean(locked(lock_how, ro, cli("diff", "v1", "v2", "--json"), clone, env))
    p = clean(locked(lock_how, ro, cli("status", "--no-remote"), clone, env))
    assert "remote: annover" in p.stdout, p.stdout
    p = locked(lock_how, ro, cli("status"), clone, env)
    err = one_line(p)
    assert p.returncode == 6 and ".dvc/tmp" in err and "--no-remote" in err, p.stderr
    assert tree(clone) == before


def test_pull_into_a_writable_shared_cache(lock_how, place, tmp_path):
    """The checkout read-only, the shared cache writable (empty). A clone DVC never opened has no
    .dvc/tmp, which DVC makes to open it: `annover pull` is one line naming it (exit 6). One DVC
    opened once (a status): `annover pull v1` fetches into the cache only,
    and the version loads; `annover pull` fetched every version, then stopped with exit 6 at the
    checkout of HEAD's files into the work tree, though annover reads them from the cache. Now it
    says so in a warning (`not_checked_out` in --json), exit 0; in a checkout that holds HEAD's
    files already it says nothing."""
    origin, home, env = place
    cache = tmp_path / "shared-cache"
    _shared_cache(home, cache)
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    ro = [clone, home]
    p = locked(lock_how, ro, cli("pull", "v1"), clone, env)
    assert p.returncode == 6 and ".dvc/tmp" in one_line(p) and not cache.exists()
    subprocess.run(cli("status"), cwd=clone, env=env, check=True, capture_output=True)  # DVC opened once
    before = tree(clone)
    load = [sys.executable, "-c", "import annover; print(annover.load('v1').num_rows, annover.load('v2').num_rows)"]
    p = locked(lock_how, ro, load, clone, env)
    assert p.returncode == 1 and "annover pull v1" in p.stderr
    clean(locked(lock_how, ro, cli("pull", "v1"), clone, env))
    p = locked(lock_how, ro, cli("pull", "--json"), clone, env)
    assert p.returncode == 0 and "Error" not in p.stderr, p.stderr
    assert ".dvc/tmp" in json.loads(p.stdout)["not_checked_out"]
    p = clean(locked(lock_how, ro, cli("pull"), clone, env))
    assert "warning: HEAD's files were not checked out" in p.stderr
    assert clean(locked(lock_how, ro, load, clone, env)).stdout.split() == ["24", "34"]
    clean(locked(lock_how, ro, cli("diff", "v1", "v2", "--json"), clone, env))
    assert tree(clone) == before
    subprocess.run(cli("pull"), cwd=clone, env=env, check=True, capture_output=True)  # writable: checked out
    before = tree(clone)
    p = clean(locked(lock_how, ro, cli("pull"), clone, env))
    assert "warning" not in p.stderr and tree(clone) == before


def test_dvc_site_cache_read_only(lock_how, place, tmp_path):
    """DVC's databases (its site cache, /var/tmp/dvc by default) on a read-only root: a load by
    URL was a RevisionError (exit 7) saying to 'give a git URL or path of an annover repo', and
    `annover status` said 'remote: none'. Now both name DVC's folder and DVC_SITE_CACHE_DIR, exit
    6; with DVC_SITE_CACHE_DIR set to a folder that can be written, both work."""
    origin, home, env = place
    site = Path(env["DVC_SITE_CACHE_DIR"])
    site.mkdir()
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    clean(subprocess.run(cli("pull"), cwd=clone, env=env, capture_output=True, text=True))
    ro = [clone, home, site]
    url = [sys.executable, "-c", textwrap.dedent(f"""
        import annover
        try:
            print(annover.load("v2", repo={origin.as_uri()!r}).num_rows)
        except annover.AnnoverError as e:
            print(e.exit_code, e)
    """)]
    p = clean(locked(lock_how, ro, url, clone, env))
    assert p.stdout.startswith("6 DVC's databases under") and "DVC_SITE_CACHE_DIR" in p.stdout, p.stdout
    p = locked(lock_how, ro, cli("status"), clone, env)
    assert p.returncode == 6 and "DVC_SITE_CACHE_DIR" in one_line(p)
    clean(locked(lock_how, ro, cli("log"), clone, env))
    moved = {**env, "DVC_SITE_CACHE_DIR": str(tmp_path / "elsewhere")}
    assert clean(locked(lock_how, ro, url, clone, moved)).stdout.strip() == "34"
    assert "pushed: yes" in clean(locked(lock_how, ro, cli("status"), clone, moved)).stdout


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="a clone another user owns needs root to make (chown)")
def test_a_clone_another_user_owns(place, tmp_path):
    """git refuses a repository another user owns (safe.directory). annover said '... is not
    inside a git work tree — run `annover init` here' (exit 6), and annover.load(repo=PATH)
    went on to DVC, which failed as a RevisionError. Now both say git refuses it and how to
    trust it, also where the home cannot be written (git's config from the environment)."""
    origin, home, env = place
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    clean(subprocess.run(cli("pull"), cwd=clone, env=env, capture_output=True, text=True))
    subprocess.run(["chown", "-R", "65534:65534", str(clone)], check=True)
    try:
        p = subprocess.run(cli("log"), cwd=clone, env=env, capture_output=True, text=True)
        err = one_line(p)
        assert p.returncode == 6 and "safe.directory" in err and "annover init" not in err, p.stderr
        load = [sys.executable, "-c", textwrap.dedent(f"""
            import annover
            try:
                print(annover.load("v2", repo={str(clone)!r}).num_rows)
            except annover.AnnoverError as e:
                print(type(e).__name__, e)
        """)]
        p = subprocess.run(load, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert p.stdout.startswith("NotARepoError git refuses the repository at") and "safe.directory" in p.stdout
        trusted = {**env, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory",
                   "GIT_CONFIG_VALUE_0": str(clone)}
        assert "round 2" in clean(subprocess.run(cli("log"), cwd=clone, env=trusted, capture_output=True,
                                                 text=True)).stdout
        p = subprocess.run(load, cwd=tmp_path, env=trusted, capture_output=True, text=True)
        assert p.stdout.strip() == "34", p.stdout + p.stderr
    finally:
        subprocess.run(["chown", "-R", f"{os.getuid()}:{os.getgid()}", str(clone)], check=True)
