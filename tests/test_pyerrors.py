"""The Python API's errors on a disk that refuses a write: annover's error, not a bare OSError;
and annover.dask.read of a read-only checkout with the S3 remote's options.

The CLI told a full disk, a quota, a file-size limit or a read-only place in one line, exit 6;
the same write from Python (``repo.snapshot``, ``repo.revert``, ``repo.tag``, ``repo.pull``)
raised the bare ``OSError``, though the README says every error annover raises is an
``AnnoverError`` with its exit code. Now the repository lock (which every write of the
repository is under) takes back what was written, as before, and raises a ``NotWritableError``
(a ``NotARepoError``, exit 6) naming the file, with the hint the CLI prints and the ``OSError``
as its ``__cause__``; a pull's refused copy into the DVC cache (outside the lock) likewise.

Real faults as in tests/test_disk_full.py: a tmpfs of a few MB where this process may mount,
else a real file-size limit (``ulimit -f``) of a child process, or DVC's copy refused.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import dvc_objects.fs.local as dvc_local
import pytest

import annover
from annover.errors import AnnoverError, NotARepoError, NotWritableError

from annover.store.dvc import Dvc

from .conftest import EXAMPLES, ROOT, git, run_cli
from .test_disk_full import (_limited, assert_whole, export, fill, left_over, pushed_clone, small_disk,  # noqa: F401
                             snapshot)
from .test_readonly import clean, lock_how, locked  # noqa: F401
from .test_s3 import s3_env, s3_server  # noqa: F401

#: a child process: ``Repo(argv[1]).METHOD(*json argv[3])`` after the disk (argv[2], "" for none) is
#: filled to argv[4] bytes left (or under the parent's ``ulimit -f``); prints what it raised
_CALL = r"""
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[5])
import annover
from tests.test_disk_full import fill

repo = annover.Repo(sys.argv[1])
args, kw = json.loads(sys.argv[3])
if sys.argv[2]:
    fill(Path(sys.argv[2]), int(sys.argv[4]))
try:
    getattr(repo, args.pop(0))(*args, **kw)
except BaseException as e:
    c = e.__cause__
    print(json.dumps({"types": [t.__name__ for t in type(e).__mro__], "str": str(e),
                      "exit_code": getattr(e, "exit_code", None), "errno": getattr(e, "errno", None),
                      "filename": getattr(e, "filename", None),
                      "cause": None if c is None else [type(c).__name__, c.errno, str(c.filename)]}))
else:
    print(json.dumps(None))
"""


def call(root: Path, disk: Path | None, room: int, fsize: int, method: str, *args, **kw) -> dict:
    """``Repo(root).method(*args, **kw)`` in a child process with ``room`` bytes left on ``disk``,
    or (no disk) under ``ulimit -f fsize``; what it raised."""
    p = subprocess.run([sys.executable, "-c", _CALL, str(root), str(disk or ""), json.dumps([[method, *args], kw]),
                        str(room), str(ROOT)], capture_output=True, text=True, timeout=300,
                       preexec_fn=_limited(None if disk is not None else fsize))
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got is not None, "no error raised"
    return got


def assert_refused(got: dict, disk: Path | None, where: str) -> None:
    """``got`` is annover's error of a refused write, as the CLI says it: exit 6, one line naming
    ``where``, the hint, the OSError as the cause."""
    assert got["types"][:3] == ["NotWritableError", "NotARepoError", "AnnoverError"], got
    assert got["exit_code"] == 6 and "\n" not in got["str"], got
    assert got["str"].startswith(where) and got["filename"].startswith(where), got
    if disk is not None:
        assert "No space left on device — free some space" in got["str"] and got["errno"] == errno.ENOSPC, got
    else:
        assert "File too large — a limit on a file's size" in got["str"] and "ulimit -f" in got["str"], got
    assert got["cause"][0] == "OSError" and got["cause"][1] == got["errno"], got


@pytest.fixture
def made(small_disk, tmp_path) -> dict:
    d = tmp_path / "inputs"
    d.mkdir()
    cfg = d / "labeling.xml"
    cfg.write_bytes((ROOT / "examples" / "sentiment" / "labeling.xml").read_bytes())
    return {"config": cfg, "r1": export(d / "r1.json", 1500, 1), "r2": export(d / "r2.json", 3000, 2),
            "root": (small_disk or tmp_path) / "repo", "disk": small_disk}


def test_a_python_snapshot_the_disk_cannot_hold(made):
    """`repo.snapshot(...)` past the room left raised `OSError: [Errno 28] No space left on device:
    '.../objects/..'`; now NotWritableError, exit 6, the CLI's line and hint; nothing left over."""
    root, disk = made["root"], made["disk"]
    annover.init(root)
    assert snapshot(root, made["r1"], made).returncode == 0
    v1 = annover.Repo(root).head()
    got = call(root, disk, 150_000, 100_000, "snapshot", str(made["r2"]), config=str(made["config"]),
               key="data.ext_id", message="r2")
    assert_refused(got, disk, f"{root}/.annover/objects/")
    assert left_over(root) == []
    if disk is not None:
        (disk / "filler").unlink()
    assert_whole(root, [v1])
    assert snapshot(root, made["r2"], made).returncode == 0


def test_a_python_revert_the_disk_cannot_hold(made):
    """`repo.revert()` with no room for its version record: a bare OSError naming the record; now
    NotWritableError (the record taken back: git sees nothing)."""
    root, disk = made["root"], made["disk"]
    annover.init(root)
    for r in ("r1", "r2"):
        assert snapshot(root, made[r], made).returncode == 0
    v2 = annover.Repo(root).head()
    v1 = annover.Repo(root).resolve("v1")
    got = call(root, disk, 0, 1000, "revert", "HEAD")
    assert_refused(got, disk, f"{root}/.annover/versions/")
    if disk is not None:
        (disk / "filler").unlink()
    assert left_over(root) == []
    assert_whole(root, [v2, v1])
    assert run_cli("revert", "HEAD", cwd=root).returncode == 0


def test_a_python_tag_the_disk_cannot_hold(made):
    """`repo.tag(...)` with no room (its git blob, its tag file): a bare OSError; now annover's error,
    exit 6, the cause the OSError, and no tag made."""
    root, disk = made["root"], made["disk"]
    annover.init(root)
    assert snapshot(root, made["r1"], made).returncode == 0
    got = call(root, disk, 0, 10, "tag", "gold")
    assert got["types"][:2] == ["NotWritableError", "NotARepoError"] and got["exit_code"] == 6, got
    assert got["cause"][0] == "OSError" and got["cause"][1] in (errno.ENOSPC, errno.EFBIG), got
    if disk is not None:
        (disk / "filler").unlink()
    assert "gold" not in annover.Repo(root).tags()
    assert run_cli("tag", "gold", cwd=root).returncode == 0


def test_a_python_pull_into_a_full_cache(tmp_path, made, monkeypatch):
    """`repo.pull()` whose copies into the DVC cache the disk refused: `OSError` naming the cache's
    folder (the CLI's line, exit 6, came from it); now NotWritableError with that folder, no
    temporary file left, and a pull with room completes."""
    root = pushed_clone(tmp_path, made, tmp_path / "clone")

    def no_room(src, dst, callback=None, **kw):  # as a full disk: part written, then refused
        with open(src, "rb") as f, open(dst, "wb") as out:
            out.write(f.read(100))
        raise OSError(errno.ENOSPC, "No space left on device", src, None, dst)
    with monkeypatch.context() as m:
        m.setattr(dvc_local, "copyfile", no_room)
        with pytest.raises(NotWritableError) as got:
            annover.Repo(root).pull()
    e = got.value
    assert isinstance(e, NotARepoError) and isinstance(e, AnnoverError) and e.exit_code == 6
    assert str(e).startswith(f"{root}/.dvc/cache/files/md5/") and "free some space" in str(e), str(e)
    assert isinstance(e.__cause__, OSError) and e.__cause__.errno == errno.ENOSPC
    assert list(root.rglob("*.tmp")) == []
    annover.Repo(root).pull()
    assert annover.Repo(root).load("HEAD").num_rows > 0


def test_the_cli_line_of_a_refused_write_is_the_library_s_error(made):
    """The CLI prints the library's error after `Error: ` (one source of the hint): the same line."""
    root, disk = made["root"], made["disk"]
    annover.init(root)
    assert snapshot(root, made["r1"], made).returncode == 0
    got = call(root, disk, 150_000, 100_000, "snapshot", str(made["r2"]), config=str(made["config"]),
               key="data.ext_id", message="r2")
    if disk is not None:
        (disk / "filler").unlink()
        fill(disk, 150_000)
    p = snapshot(root, made["r2"], made, fsize=None if disk is not None else 100_000)
    assert p.returncode == 6 and p.stderr.strip().splitlines()[-1] == f"Error: {got['str']}", (p.stderr, got)


# ---------------------------------------------------------------- a read-only checkout's remote options

_DASK_READ = "import annover.dask; print(len(annover.dask.read(None, 'v1').compute()))"


def test_dask_read_of_a_read_only_checkout_keeps_the_s3_endpoint(lock_how, tmp_path, s3_env):
    """A fresh clone DVC never opened (no .dvc/tmp), read-only: DVC cannot open it, and
    annover.dask.read() took the S3 remote's options as {}: its `endpointurl` lost, s3fs went to
    AWS's own endpoint (here: AWS_ENDPOINT_URL, a port of this machine nothing answers on).
    Now the options come from DVC's config files, as DVC makes them; the read gives v1's rows."""
    endpoint, bucket = s3_env
    origin = annover.init(tmp_path / "origin", remote=f"s3://{bucket}/store", remote_options={"endpointurl": endpoint})
    origin.snapshot(str(EXAMPLES / "round1.json"), config=str(EXAMPLES / "labeling.xml"), key="data.ext_id",
                    message="round 1")
    origin.push()
    clone, home = tmp_path / "clone", tmp_path / "home"
    git("clone", "-q", str(origin.root), str(clone), cwd=tmp_path)
    home.mkdir()
    assert not (clone / ".dvc" / "tmp").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "ANNOVER_CACHE_DIR")}
    env.update(HOME=str(home), DVC_GLOBAL_CONFIG_DIR=str(home / "dvc"), DVC_SITE_CACHE_DIR=str(tmp_path / "site"),
               AWS_ENDPOINT_URL="http://127.0.0.1:9",
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    p = clean(locked(lock_how, [clone, home], [sys.executable, "-c", _DASK_READ], clone, env))
    assert p.stdout.strip() == "24", p.stdout
    assert not (clone / ".dvc" / "tmp").exists()


def test_the_remote_s_options_from_dvc_s_config_files_are_dvc_s(tmp_path, monkeypatch):
    """Read without opening DVC's repository, an S3 remote's options (its endpoint, region and
    keys, these in .dvc/config.local) are those DVC opens it with; no remote, or an option DVC's
    schema refuses, is {} (the reader says what is wrong), with no value in an error."""
    monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", str(tmp_path / "dvc-global"))
    repo = annover.init(tmp_path / "labels", remote="s3://bucket/store",
                        remote_options={"endpointurl": "http://127.0.0.1:9", "region": "eu-west-1",
                                        "access_key_id": "AKID-TEST", "secret_access_key": "SECRET-TEST"})
    dvc = Dvc(repo.root)
    got = dvc.configured_fs_args()
    assert got["client_kwargs"] == {"endpoint_url": "http://127.0.0.1:9", "region_name": "eu-west-1"}, got
    assert (got["key"], got["secret"]) == ("AKID-TEST", "SECRET-TEST")
    assert got == dvc.remote_fs_args()
    config = repo.root / ".dvc" / "config"
    config.write_text(config.read_text() + "    no_such_option = SECRET-TEST\n")
    assert dvc.configured_fs_args() == {}
    config.write_text("[core]\n    no_scm = false\n")
    assert Dvc(repo.root).configured_fs_args() == {}
