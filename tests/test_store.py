"""The storage layer: one contract for every object store, and the git and DVC adapters.

The store tests run against every implementation (like dulwich's ObjectStoreTests): a
local folder, a local folder whose objects are only in an md5-addressed fallback (the
DVC cache), and read-only stores through fsspec filesystems.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dvc.repo import Repo as DvcRepo

import annover
from annover.errors import GitError, NotARepoError, ObjectError
from annover.files import sha256_file, write_atomic, write_files
from annover.model import canonical as C
from annover.store import dvc as dvc_adapter
from annover.store.dvc import Dvc
from annover.store.git import Git
from annover.store.objects import FsStore, LocalStore, ObjectRef, ObjectStore
from annover.store.snapshots import TASK_HASH, decode_part, part_bytes

from .conftest import git

# ---------------------------------------------------------------------------
# one contract, every store


@dataclass
class Subject:
    """A store under test, how to put an object where it reads from, and where that is."""

    store: ObjectStore
    seed: Callable[[bytes], ObjectRef]
    where: Callable[[ObjectRef], Path]  # the file holding the object (to corrupt it)


def _local(tmp: Path) -> Subject:
    s = LocalStore(tmp / "objects")
    return Subject(s, s.put, lambda r: s.path(r.oid))


def _fallback_only(tmp: Path) -> Subject:
    """Objects only in an md5-addressed cache, found lazily."""
    cache = tmp / "cache" / "files" / "md5"
    s = LocalStore(tmp / "objects", find_fallbacks=lambda: [cache])

    def seed(data: bytes) -> ObjectRef:
        ref = ObjectRef.of(data)
        write_atomic(cache / ref.md5[:2] / ref.md5[2:], data)
        return ref

    return Subject(s, seed, lambda r: cache / r.md5[:2] / r.md5[2:])


def _fs(tmp: Path, protocol: str) -> Subject:
    fs = fsspec.filesystem(protocol)
    prefix = (tmp / "remote").as_posix() if protocol == "file" else f"/{tmp.name}/remote"
    writer = LocalStore(tmp / "remote" / "objects")

    def seed(data: bytes) -> ObjectRef:
        ref = writer.put(data)
        if protocol != "file":
            fs.pipe(f"{prefix}/objects/{ref.oid[:2]}/{ref.oid[2:]}", data)
        return ref

    def where(ref: ObjectRef) -> Path:
        if protocol != "file":  # corrupt the in-memory copy through the filesystem
            path = f"{prefix}/objects/{ref.oid[:2]}/{ref.oid[2:]}"
            data = bytearray(fs.cat(path))
            data[0] ^= 1
            fs.pipe(path, bytes(data))
        return writer.path(ref.oid)

    return Subject(FsStore(fs, prefix), seed, where)


SUBJECTS = {
    "local": _local,
    "local-fallback": _fallback_only,
    "fsspec-local": lambda t: _fs(t, "file"),
    "fsspec-memory": lambda t: _fs(t, "memory"),
}


@pytest.fixture(params=sorted(SUBJECTS))
def subject(request, tmp_path) -> Subject:
    return SUBJECTS[request.param](tmp_path)


def _flip(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_round_trip(subject):
    data = b"some labels\n" * 100
    ref = subject.seed(data)
    assert ref == ObjectRef.of(data) and ref.size == len(data)
    assert subject.store.has(ref)
    assert subject.store.get(ref) == data
    located = subject.store.locate(ref)
    assert located is None or located.read_bytes() == data  # a remote store has no local path


def test_write_once(subject):
    data = b"write me once"
    if not subject.store.writable:
        with pytest.raises(ObjectError, match="read-only"):
            subject.store.put(data)
        return
    ref = subject.store.put(data)
    path = subject.store.locate(ref)
    before = os.stat(path)
    assert subject.store.put(data) == ref
    after = os.stat(path)
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)  # not rewritten


def test_corrupt_object_is_detected(subject):
    ref = subject.seed(b"0123456789" * 50)
    _flip(subject.where(ref))
    with pytest.raises(ObjectError, match=ref.oid[:12] + ".*corrupt"):
        subject.store.get(ref, "part")


def test_missing_object_is_an_error(subject):
    ref = ObjectRef.of(b"never stored")
    assert not subject.store.has(ref)
    assert subject.store.locate(ref) is None
    with pytest.raises(ObjectError, match=ref.oid[:12]):
        subject.store.get(ref)


@pytest.mark.parametrize("oid", ["../x", "../" + "a" * 61, "A" * 64, "a" * 63, "g" * 64, "/" + "a" * 63])
def test_object_ids_are_checked_before_they_become_paths(subject, oid):
    bad = ObjectRef(oid, "0" * 32, 1)
    for op in (subject.store.get, subject.store.has, subject.store.locate):
        with pytest.raises(ObjectError, match="invalid object id"):
            op(bad)


@pytest.mark.parametrize("md5", ["../../../etc/passwd", "x" * 32, "0" * 31])
def test_md5s_are_checked_before_a_fallback_lookup(tmp_path, md5):
    store = LocalStore(tmp_path / "objects", fallbacks=[tmp_path / "cache"])
    with pytest.raises(ObjectError, match="invalid object md5"):
        store.get(ObjectRef("a" * 64, md5, 1))


def test_fallbacks_are_looked_up_only_on_a_miss_and_again_at_each(tmp_path):
    """Never when the folder has the object; at each miss, where the fallbacks are now (a kept
    Repo finds the DVC cache `dvc cache dir` moved), a folder no longer named left out."""
    found = [[tmp_path / "cache"]]
    calls = []
    store = LocalStore(tmp_path / "objects", find_fallbacks=lambda: calls.append(1) or found[0])
    ref = store.put(b"here")
    assert store.get(ref) == b"here" and calls == []
    missing = ObjectRef.of(b"not here")
    assert not store.has(missing) and not store.has(missing)
    assert calls == [1, 1] and store.fallbacks == [tmp_path / "cache"]
    moved = tmp_path / "moved"
    (moved / missing.md5[:2]).mkdir(parents=True)
    (moved / missing.md5[:2] / missing.md5[2:]).write_bytes(b"not here")
    found[0] = [moved]
    assert store.get(missing) == b"not here" and store.fallbacks == [moved]


def test_threads_that_miss_at_once_all_find_the_fallbacks(tmp_path):
    """Parts are read in threads: while the first miss looks for the DVC cache (slow: it opens
    DVC), the others wait for it instead of calling their objects missing."""
    import threading
    import time

    cache = tmp_path / "cache"
    blobs = [f"part {i}".encode() for i in range(8)]
    refs = [LocalStore(tmp_path / "writer").put(b) for b in blobs]
    for r in refs:  # in the fallback, md5-addressed as DVC's cache is
        (cache / r.md5[:2]).mkdir(parents=True, exist_ok=True)
        (cache / r.md5[:2] / r.md5[2:]).write_bytes(blobs[refs.index(r)])
    calls = []
    store = LocalStore(tmp_path / "objects", find_fallbacks=lambda: calls.append(time.sleep(0.3)) or [cache])
    start = threading.Barrier(len(refs))

    def read(r):
        start.wait()
        return store.get(r)
    with ThreadPoolExecutor(max_workers=len(refs)) as ex:
        assert list(ex.map(read, refs)) == blobs
    assert len(calls) == 1


def test_files_helpers(tmp_path):
    p = tmp_path / "a" / "b.bin"
    write_atomic(p, b"one")
    write_atomic(p, b"two")
    assert p.read_bytes() == b"two" and sha256_file(p) == hashlib.sha256(b"two").hexdigest()
    assert [f.name for f in p.parent.iterdir()] == ["b.bin"]  # no temporary left behind


@pytest.mark.parametrize("count,folders", [(3, 2), (2500, 2), (2500, 400)])  # one thread; several; many folders
def test_write_files_creates_each_file_once(tmp_path, count, folders):
    """A folder of many files (a YOLO export): every file, in its sub-folder, with its bytes;
    a file that is already there is an error, not overwritten."""
    files = {f"labels/{'sub' + str(i % folders) + '/' if i % folders else ''}{i}.txt": os.urandom(i % 50)
             for i in range(count)}
    files["data.yaml"] = b"names: []\n"
    write_files(tmp_path / "out", files)
    got = {f.relative_to(tmp_path / "out").as_posix(): f.read_bytes()
           for f in (tmp_path / "out").rglob("*") if f.is_file()}
    assert got == files
    (tmp_path / "again" / "labels").mkdir(parents=True)
    (tmp_path / "again" / "labels" / "0.txt").write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        write_files(tmp_path / "again", files)
    assert (tmp_path / "again" / "labels" / "0.txt").read_bytes() == b"mine"


# ---------------------------------------------------------------------------
# the git adapter


@pytest.fixture
def work(tmp_path) -> Git:
    root = tmp_path / "work"
    root.mkdir()
    Git.init(root)
    g = Git(root)
    g.commit({"a.txt": b"a\n"}, "first", None)
    return g


def test_git_errors_follow_one_policy(work):
    with pytest.raises(GitError, match="git cat-file failed"):
        work.run("cat-file", "blob", "no-such-object")
    assert work.run("cat-file", "blob", "no-such-object", check=False) == ""


def test_git_commit_moves_head_only_from_the_expected_commit(work):
    head = work.head_commit()
    c2 = work.commit({"b.txt": b"b\n", "a.txt": None}, "second", head)
    assert work.head_commit() == c2 and not (work.toplevel / "a.txt").exists()
    assert work.ls_tree(c2, ".").keys() == {"b.txt"} and work.show(c2, "b.txt") == "b\n"
    with pytest.raises(GitError):
        work.commit({"c.txt": b"c\n"}, "stale", head)  # HEAD moved since `head`
    assert work.head_commit() == c2
    assert git("status", "--porcelain", cwd=work.toplevel) == ""  # the user's index follows
    assert not work.interrupted()


def test_git_values_from_data_are_never_options(work):
    assert work.rev_parse("--all") is None
    assert work.tags("--contains") == set()
    work.tag("v1", work.head_commit())
    assert work.tags() == {"v1"} and work.tags("v1") == {"v1"}
    assert work.commit_adding("a.txt") == work.head_commit()


# ---------------------------------------------------------------------------
# the DVC adapter


@pytest.fixture
def dvc_env(tmp_path, monkeypatch):
    """DVC's system and global config in temp folders (not this machine's)."""
    for var, name in (("DVC_SYSTEM_CONFIG_DIR", "system"), ("DVC_GLOBAL_CONFIG_DIR", "global")):
        d = tmp_path / f"dvc-{name}"
        d.mkdir()
        monkeypatch.setenv(var, str(d))
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    return tmp_path


def _dvc_cli(*args: str, cwd: Path) -> None:
    exe = Path(sys.executable).with_name("dvc")
    subprocess.run([str(exe), *args], cwd=cwd, check=True, capture_output=True)


def _dvc_own_cache(root: Path) -> Path:
    with DvcRepo(str(root)) as d:
        return Path(d.cache.local.path)


@pytest.mark.parametrize("setting", [None, ("repo", "../elsewhere"), ("local", "ABS"), ("global", "gcache"),
                                     ("local", "~/annover-test-cache")])
def test_cache_dir_without_dvc_agrees_with_dvc(dvc_env, tmp_path, monkeypatch, setting):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = tmp_path / "proj"
    root.mkdir()
    Git.init(root)
    dvc_adapter.init(root, subdir=False)
    if setting:
        level, value = setting
        value = str(tmp_path / "abs-cache") if value == "ABS" else value
        _dvc_cli("config", *({"repo": [], "local": ["--local"], "global": ["--global"]}[level]), "cache.dir", value,
                 cwd=root)
    assert Dvc(root).cache_dir() == _dvc_own_cache(root)


def test_recorded_pointer_is_what_dvc_add_writes(dvc_env, tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    Git.init(root)
    dvc_adapter.init(root, subdir=False)
    store = LocalStore(root / "sub" / "objects")
    refs = [store.put(f"object {i}".encode()) for i in range(5)]
    ours = Dvc(root).record(store, refs, root / "sub" / "objects.dvc")
    mine = (root / "sub" / "objects.dvc").read_bytes()
    shutil.copytree(root / "sub" / "objects", root / "theirs" / "objects")
    _dvc_cli("add", "-q", "theirs/objects", cwd=root)
    assert (root / "theirs" / "objects.dvc").read_bytes() == mine
    assert dvc_adapter.tracked_md5(root / "theirs" / "objects") == ours
    listing = Dvc(root).cache_dir() / ours[:2] / ours[2:]
    assert listing.stat().st_mode & 0o222 == 0  # read-only, as DVC leaves its cache


def test_pointer_hash_at_a_commit(two_rounds):
    repo, v1, v2 = two_rounds
    pointer = repo.rel(repo.dir / "objects.dvc")
    for v in (v1, v2):
        md5 = Dvc.pointer_hash(repo.scm, repo.commit_of(v.id), pointer)
        listing = repo.dvc.cache_dir() / md5[:2] / md5[2:]
        assert {e["md5"] for e in json.loads(listing.read_text())} == {r.md5 for r in repo.objects_of(v)}
    with pytest.raises(NotARepoError, match="no DVC pointer"):
        Dvc.pointer_hash(repo.scm, repo.commit_of(v1.id), "no/such.dvc")


def test_redact_and_secret_options():
    assert dvc_adapter.redact("https://user:pw@host/x") == "https://***@host/x"
    assert dvc_adapter.is_secret_option("secret_access_key") and not dvc_adapter.is_secret_option("endpointurl")


def test_reading_an_older_version_imports_neither_dvc_nor_gitpython(two_rounds):
    repo, v1, v2 = two_rounds
    code = ("import sys, annover; t = annover.load('v1'); "
            "print(t.num_rows, sorted(m for m in ('dvc', 'dvc_data', 'git', 'scmrepo') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split(" ", 1) == [str(v1.record["tables"]["annotations"]["rows"]), "[]\n"]
    assert annover.load("v1").num_rows == v1.record["tables"]["annotations"]["rows"]


def test_parts_dictionary_encode_every_column_but_the_distinct_ones():
    """Label lists too: Parquet names a list's values ``labels.list.element``; named ``labels``,
    the writer left them plain (3.8x the bytes of a repetitive label column)."""
    n = 3000
    t = C.conform(pa.table({"task_key": [f"t{i:05d}" for i in range(n)], "annotation_key": ["a#0"] * n,
                            "region_key": ["r"] * n, "labels": [["cat"] if i % 3 else ["dog", "cat"] for i in range(n)],
                            "value": ['{"choices":["cat"]}'] * n}), "annotations")
    t = t.append_column(pa.field(TASK_HASH, pa.uint64()), pa.array(range(n), pa.uint64()))
    meta = pq.ParquetFile(io.BytesIO(part_bytes(t))).metadata.row_group(0)
    dictionary = {meta.column(i).path_in_schema: meta.column(i).has_dictionary_page for i in range(meta.num_columns)}
    assert dictionary["labels.list.element"] and dictionary["value"] and dictionary["annotation_key"]
    assert not dictionary["task_key"] and not dictionary[TASK_HASH]


@pytest.mark.parametrize("distinct", [3, 50_000])
def test_a_part_decodes_as_the_parquet_reader_decodes_it(distinct):
    """Text columns read through their dictionary (small ones) or plain (large ones) give what
    the Parquet reader gives: values, nulls, null lists and empty ones, schema."""
    n = 60_000
    words = [None, "", "cat", "dög", "a\x00b"] + [f"w{i}" for i in range(distinct)]
    t = C.conform(pa.table({
        "task_key": [f"t{i:06d}" for i in range(n)], "annotation_key": ["a#0"] * n,
        "region_key": [words[2 + i % (len(words) - 2)] for i in range(n)],
        "annotator": [words[i % len(words)] for i in range(n)],
        "labels": [None if i % 7 == 0 else [] if i % 11 == 0 else [words[i % len(words)], "x"][: 1 + i % 2]
                   for i in range(n)],
        "value": [words[(i * 7) % len(words)] for i in range(n)]}), "annotations")
    t = t.append_column(pa.field(TASK_HASH, pa.uint64()), pa.array(range(n), pa.uint64()))
    data = part_bytes(t)
    want = pq.read_table(io.BytesIO(data)).drop_columns([TASK_HASH])
    got = decode_part(data, None)
    assert got.schema == want.schema and got.equals(want)
    assert decode_part(data, ["labels", "value"]).equals(want.select(["labels", "value"]))


def test_identity_is_read_as_git_config_reads_it(tmp_path, monkeypatch):
    """One git run for user.name and user.email gives what ``git config KEY`` gives (the last of
    a key set twice, spaces kept); unset: the environment, then annover's fallback."""
    root = tmp_path / "r"
    root.mkdir()
    Git.init(root)
    g = Git(root)
    for k in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("USER", "someone")
    assert g.author() == "someone <annover@localhost>"
    git("config", "user.name", "First Name", cwd=root)
    git("config", "--add", "user.name", "Ann  O'Ver", cwd=root)
    git("config", "user.email", "ann@example.org", cwd=root)
    want = [git("config", k, cwd=root).strip() for k in ("user.name", "user.email")]
    assert want == ["Ann  O'Ver", "ann@example.org"]
    assert g.author() == f"{want[0]} <{want[1]}>" and g.identity_env() == {}
    # GIT_AUTHOR_NAME / _EMAIL win over the config, as in the commit git writes
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Env Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "env@example.org")
    commit = g.commit({"f": b"x"}, "m", None)
    by_git = git("log", "-1", "--format=%an <%ae>", commit, cwd=root).strip()
    assert g.author() == by_git == "Env Author <env@example.org>"
    monkeypatch.delenv("GIT_AUTHOR_EMAIL")
    assert g.author() == git("log", "-1", "--format=%an <%ae>", g.commit({"f": b"y"}, "m", commit), cwd=root).strip()


def test_a_commit_writes_its_files_as_blobs_in_one_run(tmp_path):
    """The blobs of a commit are written as they are (no filters, even where attributes ask
    for some), in path order, whatever their bytes."""
    root = tmp_path / "r"
    root.mkdir()
    Git.init(root)
    (root / ".gitattributes").write_text("* text=auto eol=crlf\n")
    g = Git(root)
    files = {"b.txt": b"two\r\nlines\r\n", "a/x.bin": bytes(range(256)) * 3, "c": b"", "d\u00e9.json": b'{"k": 1}\n'}
    commit = g.commit(files, "m", None)
    for path, data in files.items():
        assert subprocess.run(["git", "cat-file", "blob", f"{commit}:{path}"], cwd=root, capture_output=True,
                              check=True).stdout == data
        assert g.blob_id(data, commit) == git("rev-parse", f"{commit}:{path}", cwd=root).strip()
    assert not list(g.git_dir.glob("annover-blobs-*"))
