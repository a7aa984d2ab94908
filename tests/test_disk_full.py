"""Real file-system faults: a full disk (a small tmpfs), a file-size limit (RLIMIT_FSIZE, `ulimit -f`).

Each command the disk refuses stops in one line (exit 6; 2 for an export's --out; 10 for a
remote's disk), leaves no partial or temporary file and no object no commit names, every
version still loads, and once there is room again the same command succeeds with the same
content ids as on a roomy disk.

Where this process may mount (root, with `mount`), the full disk is a real tmpfs of a few MB,
mounted under the test's folder and always unmounted; elsewhere the same fault is a real
file-size limit (EFBIG) of a subprocess, or, for gc, the refusal of the lock file's write
patched in: no test is skipped.
"""

from __future__ import annotations

import errno
import json
import os
import random
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

import annover
import annover.store.refs as refs_mod

from .conftest import EXAMPLES, git, run_cli
from .test_cli import invoke

DISK_MB = 24


def _mount(where: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m,mode=0755", "tmpfs", str(where)],
                       capture_output=True)
    return p.returncode == 0


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path | None]:
    """A folder on a tmpfs of DISK_MB MB (unmounted after the test, whatever happens), or None
    where this process may not mount one."""
    d = tmp_path / "disk"
    d.mkdir()
    if not _mount(d):
        yield None
        return
    try:
        yield d
    finally:
        if subprocess.run(["umount", str(d)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(d)], capture_output=True)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(disk: Path, leave: int) -> Path:
    """Take all of ``disk``'s free space but ``leave`` bytes."""
    filler = disk / "filler"
    with open(filler, "ab") as f:
        room = free_bytes(disk) - leave
        if room > 0:
            os.posix_fallocate(f.fileno(), f.seek(0, 2), room)
    return filler


def export(path: Path, n: int, seed: int) -> Path:
    """A Label Studio export of ``n`` tasks of random text (Parquet cannot shrink it much)."""
    r = random.Random(seed)
    tasks = [{"id": i + 1, "data": {"text": "".join(r.choice("abcdefghij klmnopqrstuvwxyz") for _ in range(120)),
                                    "ext_id": f"t-{i:05d}"},
              "annotations": [{"id": i + 1, "completed_by": {"id": 1, "email": "a@example.com"},
                               "result": [{"id": f"r{i}", "from_name": "sentiment", "to_name": "text",
                                           "type": "choices", "value": {"choices": [r.choice(["positive", "negative"])]}}]}]}
             for i in range(n)]
    path.write_text(json.dumps(tasks))
    return path


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    d = tmp_path / "inputs"
    d.mkdir()
    shutil.copy(EXAMPLES / "labeling.xml", d / "labeling.xml")
    return {"config": d / "labeling.xml", "r1": export(d / "r1.json", 1500, 1), "r2": export(d / "r2.json", 3000, 2)}


def _limited(fsize: int | None):
    if fsize is None:
        return None

    def limit() -> None:  # the child's `ulimit -f`: a write past it is EFBIG (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return limit


def cli(*args: str, cwd: Path, fsize: int | None = None) -> subprocess.CompletedProcess:
    """``annover ARGS`` in a process, under a file-size limit of ``fsize`` bytes if given."""
    return subprocess.run([sys.executable, "-m", "annover", *args], cwd=cwd, capture_output=True, text=True,
                          preexec_fn=_limited(fsize), timeout=300)


def snapshot(root: Path, src: Path, inputs: dict[str, Path], fsize: int | None = None) -> subprocess.CompletedProcess:
    return cli("snapshot", "--from", str(src), "--config", str(inputs["config"]), "--key", "data.ext_id",
               "-m", src.stem, cwd=root, fsize=fsize)


def content_ids(root: Path, rev: str) -> dict:
    repo = annover.Repo(root)
    tables = repo.version(repo.resolve(rev)).record["tables"]
    return {t: tables[t]["id"] for t in ("tasks", "annotations")}


def left_over(root: Path) -> list[str]:
    """Temporary files anywhere in the repository, and objects in the working store HEAD does not list."""
    temps = [str(p) for p in root.rglob("*") if p.is_file() and (p.name.endswith(".tmp") or p.name.startswith(".tmp-"))
             and ".git/objects" not in str(p)]
    repo = annover.Repo(root)
    head = repo.head()
    needed = {r.oid for r in repo.objects_of(repo.version(head))} if head else set()
    objdir = root / ".annover" / "objects"
    extra = [p.parent.name + p.name for p in objdir.glob("*/*") if p.parent.name + p.name not in needed]
    return temps + extra


def assert_whole(root: Path, versions: list[str]) -> None:
    """git sees nothing changed in annover's files, and every version loads."""
    assert git("status", "--porcelain", "--", ".annover", cwd=root) == ""
    repo = annover.Repo(root)
    assert [v.id for v in repo.log()] == versions
    for v in versions:
        assert repo.load(v).num_rows > 0
    assert repo.status(remote=False).head == versions[0]


def refused_copies(monkeypatch, root: Path, *args: str) -> subprocess.CompletedProcess:
    """``annover ARGS`` in this process, each file DVC copies refused half-way as a full disk refuses
    it (DVC's copy of a file to a local folder leaves its temporary file behind, as it does there)."""
    import dvc_objects.fs.local as dvc_local

    def no_room(src, dst, callback=None, **kw):
        with open(src, "rb") as f, open(dst, "wb") as out:
            out.write(f.read(100))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), src, None, dst)
    with monkeypatch.context() as m:
        m.chdir(root)
        m.setattr(dvc_local, "copyfile", no_room)
        code, out, err = invoke(*args)
    return subprocess.CompletedProcess(list(args), code, out, err)


def one_line(p: subprocess.CompletedProcess) -> str:
    err = "\n".join(ln for ln in p.stderr.splitlines() if not ln.startswith("warning: the DVC remote"))
    assert err.startswith("Error: ") and "\n" not in err, p.stderr
    assert "bug" not in err and "Traceback" not in p.stderr and "ERROR:" not in p.stderr, p.stderr
    return err


def test_a_snapshot_the_disk_cannot_hold(small_disk, tmp_path, inputs):
    """It said 'Error: a file: No space left on device' (no file named) and left the objects it had
    written in the working store: nothing removed them (not gc, which reads the DVC cache; not the
    next command, which repairs only after a kill), so the space stayed taken. Now the message names
    the object, what was written goes, and the snapshot made after freeing space is the one a
    roomy disk makes."""
    roomy = tmp_path / "roomy"
    annover.init(roomy)
    for r in ("r1", "r2"):
        assert snapshot(roomy, inputs[r], inputs).returncode == 0
    root = (small_disk or tmp_path) / "repo"
    annover.init(root)
    assert snapshot(root, inputs["r1"], inputs).returncode == 0
    v1 = annover.Repo(root).head()
    if small_disk is not None:
        filler = fill(small_disk, 150_000)
        p = snapshot(root, inputs["r2"], inputs)
        assert "No space left on device" in one_line(p) and "free some space" in p.stderr
    else:  # no tmpfs here: a file-size limit the largest object of round 2 goes past
        p = snapshot(root, inputs["r2"], inputs, fsize=100_000)
        assert "File too large" in one_line(p) and "ulimit -f" in p.stderr
    assert p.returncode == 6 and p.stdout == ""
    assert "Error: a file:" not in p.stderr and f"{root}/.annover/objects/" in p.stderr, p.stderr
    assert left_over(root) == []
    assert_whole(root, [v1])
    if small_disk is not None:
        filler.unlink()
    assert snapshot(root, inputs["r2"], inputs).returncode == 0
    assert content_ids(root, "v2") == content_ids(roomy, "v2")
    assert_whole(root, [annover.Repo(root).head(), v1])


def test_gc_frees_space_on_a_full_disk(small_disk, tmp_path, inputs, monkeypatch):
    """`annover gc --force` is what a full disk's message says to run, and it stopped at once: the
    repository lock writes its pid into the (empty) lock file, a block the full disk refused, so gc
    (and its dry run) said 'Error: a file: No space left on device', exit 6, and freed nothing."""
    root = (small_disk or tmp_path) / "repo"
    annover.init(root)
    for r in ("r1", "r2"):
        assert snapshot(root, inputs[r], inputs).returncode == 0
    v1 = annover.Repo(root).resolve("v1")
    assert run_cli("reset", "v1", "--force", cwd=root).returncode == 0
    if small_disk is not None:
        filler = fill(small_disk, 0)
        assert free_bytes(small_disk) < 4096
        dry = cli("gc", cwd=root)
        p = cli("gc", "--force", "--json", cwd=root)
    else:  # the lock file's write refused as a full disk refuses it
        def no_room(*a):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        monkeypatch.chdir(root)
        monkeypatch.setattr(refs_mod.os, "pwrite", no_room)
        dry = subprocess.CompletedProcess([], *invoke("gc")[:2], stderr="")
        code, out, err = invoke("gc", "--force", "--json")
        monkeypatch.undo()
        p = subprocess.CompletedProcess([], code, out, err)
    assert dry.returncode == 0, dry.stderr
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["bytes_freed"] > 100_000
    if small_disk is not None:
        assert free_bytes(small_disk) > 100_000
    assert (root / ".annover" / "lock").read_bytes() == b""
    assert_whole(root, [v1])
    if small_disk is not None:
        filler.unlink()
    assert snapshot(root, inputs["r2"], inputs).returncode == 0


def pushed_clone(tmp_path: Path, inputs: dict, root: Path, rounds: tuple[str, ...] = ("r1",)) -> Path:
    """A repository ``origin`` with ``rounds`` snapshotted and pushed, and ``root``, its git clone
    (no objects pulled yet)."""
    origin = tmp_path / "origin"
    annover.init(origin)
    for r in rounds:
        assert snapshot(origin, inputs[r], inputs).returncode == 0
    assert run_cli("push", cwd=origin).returncode == 0
    subprocess.run(["git", "clone", "-q", str(origin), str(root)], check=True)
    return root


def test_a_pull_into_a_full_cache(small_disk, tmp_path, inputs, monkeypatch):
    """A pull the local disk could not hold printed DVC's `ERROR: failed to transfer ...` lines, then
    'N file(s) failed to pull — check the DVC remote' (exit 10: the remote was fine), and left DVC's
    half-written temporary files in the cache. Now: one line naming the cache's folder, exit 6, no
    temporary file; after freeing space the pull completes."""
    root = pushed_clone(tmp_path, inputs, (small_disk or tmp_path) / "clone", ("r1", "r2"))
    p, filler = _moved_without_room(small_disk, monkeypatch, root, "pull", 200_000)
    assert p.returncode == 6 and f"{root}/.dvc/cache/files/md5/" in p.stderr, p.stderr
    assert [f for f in root.rglob("*.tmp")] == []
    assert git("status", "--porcelain", cwd=root) == ""
    if small_disk is not None:
        filler.unlink()
    assert cli("pull", cwd=root).returncode == 0
    assert cli("pull", "v1", cwd=root).returncode == 0
    assert_whole(root, [annover.Repo(root).resolve(v) for v in ("v2", "v1")])
    assert left_over(root) == []


def _moved_without_room(small_disk, monkeypatch, root, verb: str, room: int):
    """``annover pull`` / ``push`` in ``root`` with no room where the files go: the small disk
    filled to ``room`` bytes left (the filler returned, to free it after), else DVC's copies
    refused as a full disk refuses them. The process, once its one line is checked."""
    filler = None
    if small_disk is not None:
        filler = fill(small_disk, room)
        p = cli(verb, cwd=root)
    else:
        p = refused_copies(monkeypatch, root, verb)
    assert "No space left on device" in one_line(p)
    return p, filler


def test_a_push_to_a_full_remote(small_disk, tmp_path, inputs, monkeypatch):
    """A remote whose disk is full: DVC's `ERROR:` lines and 'check the DVC remote'; DVC's
    half-written temporary files stayed on the remote, taking its space. Now one line naming the
    remote's folder and the fix (exit 10), no temporary file; the versions stay "not pushed" and
    the next push, with room, sends them."""
    remote = (small_disk or tmp_path) / "remote"
    root = tmp_path / "repo"
    annover.init(root, remote=str(remote))
    for r in ("r1", "r2"):
        assert snapshot(root, inputs[r], inputs).returncode == 0
    remote.mkdir(exist_ok=True)
    p, filler = _moved_without_room(small_disk, monkeypatch, root, "push", 300_000)
    assert p.returncode == 10 and "the DVC remote refused" in p.stderr and str(remote) in p.stderr, p.stderr
    assert [f for f in remote.rglob("*.tmp")] == []
    assert "versions not pushed: 2 of 2" in run_cli("status", cwd=root).stdout
    if small_disk is not None:
        filler.unlink()
    assert cli("push", cwd=root).returncode == 0
    assert "versions not pushed: 0 of 2" in run_cli("status", cwd=root).stdout


FORMATS = ["label-studio", "jsonl", "csv", "parquet", "hf"]


def test_an_export_the_disk_cannot_hold(small_disk, tmp_path, inputs):
    """An export past the room left (or past `ulimit -f`, which Python meets as EFBIG: it ignores
    SIGXFSZ) is one line, exit 2, with what to do, and leaves nothing at --out."""
    root = tmp_path / "repo"
    annover.init(root)
    assert snapshot(root, inputs["r2"], inputs).returncode == 0
    outs = (small_disk or tmp_path) / "out"
    outs.mkdir()
    filler = fill(small_disk, 16_000) if small_disk is not None else None
    for fmt in FORMATS:
        p = cli("export", "--format", fmt, "--out", str(outs / f"x.{fmt}"), cwd=root,
                fsize=None if small_disk is not None else 16_000)
        assert p.returncode == 2, p.stderr
        err = one_line(p)
        assert ("No space left on device" in err and "free some space" in err if small_disk is not None
                else "File too large" in err and "ulimit -f" in err), err
        assert list(outs.iterdir()) == [], fmt
    if filler is not None:
        filler.unlink()
    for fmt in FORMATS:
        assert cli("export", "--format", fmt, "--out", str(outs / f"x.{fmt}"), cwd=root).returncode == 0


def test_a_file_size_limit_is_one_line_not_a_bug(tmp_path, inputs):
    """`ulimit -f` below an object's size: the snapshot said 'unexpected OSError: [Errno 27] File too
    large — this is a bug', exit 1. Now exit 6, naming the object and the limit."""
    root = tmp_path / "repo"
    annover.init(root)
    p = snapshot(root, inputs["r1"], inputs, fsize=50_000)
    assert p.returncode == 6 and "File too large" in one_line(p) and "ulimit -f" in p.stderr
    assert list((root / ".annover" / "objects").glob("*/*")) == []
    assert snapshot(root, inputs["r1"], inputs).returncode == 0


def test_dvc_databases_past_a_file_size_limit_are_one_line(tmp_path, inputs):
    """DVC keeps sqlite databases (its state, its links) outside the repository; one it cannot
    write (a full disk there, `ulimit -f`) was 'unexpected OperationalError: disk I/O error — this
    is a bug', exit 1. Now one line naming where they are and how to give DVC another place, exit 6."""
    root = pushed_clone(tmp_path, inputs, tmp_path / "clone")
    p = cli("pull", cwd=root, fsize=8192)
    assert p.returncode == 6 and "core.site_cache_dir" in one_line(p), p.stderr
    assert cli("pull", cwd=root).returncode == 0


def test_a_snapshot_into_a_read_only_dvc_cache(small_disk, tmp_path, inputs, monkeypatch):
    """A DVC cache outside the repository (`dvc cache dir`) on a read-only mount: the snapshot
    stopped in one line, but left its version record untracked (`git status`: `?? .annover/versions/
    ...json`) and its objects in the working store (`dvc status`: modified) until the next write.
    Now it removes them as it stops: git and DVC see the repository as it was."""
    cache = (small_disk or tmp_path) / "cache"
    root = tmp_path / "repo"
    annover.init(root)
    subprocess.run([str(Path(sys.executable).with_name("dvc")), "cache", "dir", str(cache)], cwd=root, check=True,
                   capture_output=True)
    git("commit", "-qam", "the DVC cache elsewhere", cwd=root)
    assert snapshot(root, inputs["r1"], inputs).returncode == 0
    v1 = annover.Repo(root).head()
    if small_disk is not None:
        subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
        try:
            p = snapshot(root, inputs["r2"], inputs)
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    else:
        import annover.store.dvc as dvc_mod

        def read_only(dest, src):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dest.parent))
        with monkeypatch.context() as m:
            m.chdir(root)
            m.setattr(dvc_mod.Dvc, "_cache_file", staticmethod(read_only))
            p = subprocess.CompletedProcess([], *invoke("snapshot", "--from", str(inputs["r2"]), "-m", "r2"))
    assert p.returncode == 6 and "Read-only file system" in one_line(p) and str(cache) in p.stderr, p.stderr
    assert git("status", "--porcelain", cwd=root) == ""
    assert left_over(root) == []
    dvc = subprocess.run([str(Path(sys.executable).with_name("dvc")), "status", "-q"], cwd=root, capture_output=True)
    assert dvc.returncode == 0, dvc.stdout
    assert_whole(root, [v1])
    assert snapshot(root, inputs["r2"], inputs).returncode == 0
