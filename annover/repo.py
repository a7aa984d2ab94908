"""The repository: object store + refs + version records, glued to git and DVC.

Layout (everything under ``.annover/`` beside ``.dvc/`` in a git work tree)::

    config.json            repository format                      (git)
    HEAD                   id of the current version              (git)
    refs/tags/NAME         version ids by name                    (git; also git tags)
    versions/ID.json       version records                        (git)
    objects/               objects the HEAD version needs         (DVC: objects.dvc)
    objects.dvc            DVC pointer of objects/                (git)
    lock, logs/            lock file and HEAD's reflog            (local, ignored)

Older versions' objects live in the DVC cache (they were ``dvc add``-ed when made) and
on the DVC remote; the store reads them from the cache by the md5 each reference
carries. Each snapshot is one git commit made with a private index (so it holds
annover's files only) and moved into place with a compare-and-swap ``update-ref``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from annover.model import canonical as C
from annover.errors import GitError, NotARepoError, ObjectError, RevisionError, UsageError
from annover.store.objects import ObjectRef, ObjectStore
from annover.store.refs import Refs, RepoLock, write_atomic
from annover.store.snapshots import object_refs, read_snapshot
from annover.store.versions import Version

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

FORMAT = 1
VERSION_SCHEMA = "annover.version/1"
ANNOVER_DIR = ".annover"
_GITIGNORE = "/objects\n/lock\n/logs/\n/tmp/\n"
_REV_RE = re.compile(r"^(?P<base>.+?)(?P<ops>(?:~\d*|\^)*)$")


def _run(args: list[str], cwd: Path, env: dict | None = None, input: bytes | None = None, check: bool = True) -> str:
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("GIT_TERMINAL_PROMPT", "0")
    p = subprocess.run(args, cwd=cwd, env=full_env, input=input, capture_output=True)
    if check and p.returncode != 0:
        msg = (p.stderr or p.stdout).decode(errors="replace").strip().splitlines()
        raise GitError(f"{' '.join(args[:2])} failed: {msg[-1] if msg else p.returncode}",
                       "check the git repository (git status) and try again")
    return p.stdout.decode()


def find_root(start: str | Path = ".") -> Path:
    """The nearest folder at or above ``start`` holding ``.annover/config.json``."""
    p = Path(start).resolve()
    for d in (p, *p.parents):
        a = d / ANNOVER_DIR
        if a.is_dir():
            if not (a / "config.json").is_file():
                raise NotARepoError(f"{a} exists but has no config.json",
                                    "this is not an annover repository; move .annover away and run `annover init`")
            return d
    raise NotARepoError(f"not an annover repository (or any parent): {p}", "run `annover init` first")


class Repo:
    """An annover repository (see the module docstring for the layout)."""

    def __init__(self, path: str | Path = ".") -> None:
        self.root = find_root(path)
        self.dir = self.root / ANNOVER_DIR
        try:
            cfg = json.loads((self.dir / "config.json").read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise NotARepoError(f"{self.dir / 'config.json'} is unreadable: {e}",
                                "restore it from git: git checkout -- .annover/config.json") from None
        if cfg.get("format") != FORMAT:
            raise NotARepoError(f"unsupported annover repository format {cfg.get('format')!r}",
                                "upgrade annover")
        self.refs = Refs(self.dir)
        self.store = _LazyCacheStore(self)
        self._toplevel: Path | None = None

    # ------------------------------------------------------------------ git / DVC

    @property
    def toplevel(self) -> Path:
        if self._toplevel is None:
            out = _run(["git", "rev-parse", "--show-toplevel"], self.root, check=False).strip()
            if not out:
                raise NotARepoError(f"{self.root} is not inside a git work tree", "run `annover init` here")
            self._toplevel = Path(out).resolve()
        return self._toplevel

    @property
    def git_dir(self) -> Path:
        out = _run(["git", "rev-parse", "--absolute-git-dir"], self.root).strip()
        return Path(out)

    def git(self, *args: str, env: dict | None = None, input: bytes | None = None, check: bool = True) -> str:
        return _run(["git", *args], self.toplevel, env=env, input=input, check=check)

    def rel(self, path: Path) -> str:
        """``path`` relative to the git top level, posix style (for git plumbing)."""
        return Path(os.path.relpath(Path(path).resolve(), self.toplevel)).as_posix()

    @property
    def dvc_root(self) -> Path:
        for d in (self.root, *self.root.parents):
            if (d / ".dvc").is_dir():
                return d
            if d == self.toplevel:
                break
        raise NotARepoError(f"no DVC repository at or above {self.root}", "run `annover init` to set DVC up")

    @contextmanager
    def dvc(self) -> Iterator[Any]:
        """DVC's Repo, in process, with its console output kept off our stdout.

        DVC resolves targets against the working directory (also when it reads another
        git revision), so we stand in its root for the duration and give relative paths.
        """
        import sys

        from dvc.repo import Repo as DvcRepo

        root = self.dvc_root
        cwd = os.getcwd()
        os.chdir(root)
        try:
            with redirect_stdout(sys.stderr), quiet_dvc():
                with DvcRepo(str(root)) as d:
                    d.scm_context.quiet = True  # annover commits the pointer itself
                    yield d
        finally:
            os.chdir(cwd)

    def dvc_path(self, path: Path) -> str:
        """``path`` relative to the DVC root (what DVC's API wants inside :meth:`dvc`)."""
        return Path(os.path.relpath(Path(path).resolve(), self.dvc_root)).as_posix()

    def dvc_cache_dir(self) -> Path | None:
        """The md5 ``files/md5`` folder of the local DVC cache.

        Read from DVC's config files directly (``cache.dir`` in ``.dvc/config.local`` or
        ``.dvc/config``, relative to ``.dvc/``), so reading a version never imports DVC.
        """
        import configparser

        try:
            root = self.dvc_root
        except NotARepoError:
            return None
        cache = root / ".dvc" / "cache"
        for name in ("config", "config.local"):  # later files override earlier ones
            cp = configparser.ConfigParser(interpolation=None, strict=False)
            try:
                cp.read(root / ".dvc" / name, encoding="utf-8")
            except configparser.Error:
                continue
            if cp.has_option("cache", "dir"):
                d = Path(os.path.expanduser(cp.get("cache", "dir").strip().strip("'\"")))
                cache = d if d.is_absolute() else (root / ".dvc" / d).resolve()
        return cache / "files" / "md5"

    def record_in_dvc(self, refs: list[ObjectRef]) -> str:
        """Track the working store as ``objects.dvc`` holding exactly ``refs``; return the .dir hash.

        What ``dvc add .annover/objects`` does, without re-hashing what we already know:
        each object goes into DVC's md5 cache (a hard link where possible, read-only like
        DVC's own), the listing is DVC's own ``Tree`` (so its ``.dir`` bytes are DVC's),
        and the pointer file is written atomically.
        """
        import shutil

        from dvc_data.hashfile.hash_info import HashInfo
        from dvc_data.hashfile.meta import Meta
        from dvc_data.hashfile.tree import Tree

        cache = self.dvc_cache_dir()
        if cache is None:
            raise NotARepoError(f"no DVC repository at or above {self.root}", "run `annover init`")
        tree = Tree()
        for r in refs:
            tree.add((r.oid[:2], r.oid[2:]), Meta(size=r.size), HashInfo("md5", r.md5))
            dest = cache / r.md5[:2] / r.md5[2:]
            if dest.exists():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
            src = self.store.path(r.oid)
            try:
                os.link(src, tmp)
            except OSError:
                shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o444)
            os.replace(tmp, dest)
        tree.digest()
        dir_hash = tree.hash_info.value
        dest = cache / dir_hash[:2] / dir_hash[2:]
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(dest, tree.as_bytes())
            os.chmod(dest, 0o444)
        pointer = (f"outs:\n- md5: {dir_hash}\n  size: {sum(r.size for r in refs)}\n  nfiles: {len(refs)}\n"
                   f"  hash: md5\n  path: objects\n")
        write_atomic(self.dir / "objects.dvc", pointer.encode())
        return dir_hash

    def lock(self, timeout: float | None = None) -> RepoLock:
        """The repository lock; waits ``ANNOVER_LOCK_TIMEOUT`` seconds (default 60) for it."""
        if timeout is None:
            timeout = float(os.environ.get("ANNOVER_LOCK_TIMEOUT", "60"))
        return RepoLock(self.dir / "lock", timeout)

    # ------------------------------------------------------------------ versions

    def head(self) -> str | None:
        return self.refs.read("HEAD")

    def version_path(self, vid: str) -> Path:
        return self.dir / "versions" / f"{vid}.json"

    def version(self, vid: str) -> Version:
        p = self.version_path(vid)
        try:
            record = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RevisionError(f"version {vid[:12]} has no record here ({self.rel(p)})",
                                "check out a commit that has it, or pull the git history") from None
        except json.JSONDecodeError as e:
            raise ObjectError(f"version record {vid[:12]} is not JSON: {e}", "restore it from git") from None
        if C.json_digest(record) != vid:
            raise ObjectError(f"version record {vid[:12]} does not match its id (edited or corrupt)",
                              f"restore it from git: git checkout -- {self.rel(p)}")
        return Version(vid, record)

    def version_ids(self) -> list[str]:
        d = self.dir / "versions"
        return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []

    def resolve(self, rev: str = "HEAD") -> str:
        """A version id from a tag, a full or unique short id, HEAD, and ~N / ^ suffixes."""
        rev = (rev or "HEAD").strip()
        m = _REV_RE.match(rev)
        base, ops = (m.group("base"), m.group("ops")) if m else (rev, "")
        if base in ("HEAD", "@"):
            vid = self.head()
            if vid is None:
                raise RevisionError("no versions yet (HEAD is empty)", "make one with `annover snapshot`")
        else:
            vid = self.refs.tags().get(base) or self._by_prefix(base, rev)
        steps = 0
        for op in re.findall(r"~\d*|\^", ops):
            steps += 1 if op in ("^", "~") else int(op[1:])
        for _ in range(steps):
            parents = self.version(vid).parents
            if not parents:
                raise RevisionError(f"{rev}: {vid[:12]} has no parent", "use a smaller number after ~")
            vid = parents[0]
        return vid

    def _by_prefix(self, prefix: str, rev: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{4,64}", prefix):
            raise RevisionError(f"unknown revision {rev!r}",
                                "use a tag (annover log shows them), a version id, HEAD or HEAD~N")
        hits = [v for v in self.version_ids() if v.startswith(prefix)]
        if not hits:
            raise RevisionError(f"unknown revision {rev!r}", "no version id starts with that; see `annover log`")
        if len(hits) > 1:
            raise RevisionError(f"ambiguous revision {rev!r}: {', '.join(h[:12] for h in hits[:5])}",
                                "give more digits of the id")
        return hits[0]

    def show(self, rev: str = "HEAD") -> Version:
        return self.version(self.resolve(rev))

    def log(self, rev: str = "HEAD", limit: int | None = None) -> list[Version]:
        """Versions reachable from ``rev``, newest first (all parents, like ``git log``)."""
        import heapq

        if rev == "HEAD" and self.head() is None:
            return []
        start = self.version(self.resolve(rev))
        out: list[Version] = []
        seen = {start.id}
        heap = [(_desc(start.created_at), start.id, start)]
        while heap and (limit is None or len(out) < limit):
            _, _, v = heapq.heappop(heap)
            out.append(v)
            for pid in v.parents:
                if pid not in seen:
                    seen.add(pid)
                    p = self.version(pid)
                    heapq.heappush(heap, (_desc(p.created_at), p.id, p))
        return out

    def tags_of(self) -> dict[str, list[str]]:
        """version id -> its tag names."""
        out: dict[str, list[str]] = {}
        for name, vid in self.refs.tags().items():
            out.setdefault(vid, []).append(name)
        return out

    # ------------------------------------------------------------------ tables

    def read_table(self, rev: str = "HEAD", table: str = "annotations", model_version: str | None = None,
                   columns: list[str] | None = None) -> "pa.Table":
        """One table of a version as a pyarrow Table (predictions: all model versions, or one)."""
        if table not in C.TABLES:
            raise UsageError(f"unknown table {table!r}", f"use one of {', '.join(C.TABLES)}")
        v = self.show(rev)
        return read_version_table(self.store, v, table, model_version, columns)

    def config_text(self, rev: str = "HEAD") -> str | None:
        v = self.show(rev)
        ref = v.config_ref
        return self.store.get(ref, "labeling config").decode("utf-8") if ref else None

    def objects_of(self, v: Version) -> list[ObjectRef]:
        """Every object version ``v`` needs (manifests, parts, config)."""
        refs: list[ObjectRef] = []
        for name in ("tasks", "annotations"):
            s = v.snapshot(name)
            if s:
                refs += object_refs(self.store, s)
        for mv in v.model_versions:
            refs += object_refs(self.store, v.snapshot("predictions", mv))
        if v.config_ref:
            refs.append(v.config_ref)
        files = (v.record.get("source") or {}).get("files")
        if files:  # the {relpath: sha256} listing of the source data
            refs.append(ObjectRef.from_json(files))
        seen, out = set(), []
        for r in refs:
            if r.oid not in seen:
                seen.add(r.oid)
                out.append(r)
        return out

    # ------------------------------------------------------------------ commits

    def identity_env(self) -> dict[str, str]:
        """git author/committer, falling back to 'annover' where git has no identity."""
        env = {}
        name = self.git("config", "user.name", check=False).strip()
        email = self.git("config", "user.email", check=False).strip()
        if not name and "GIT_AUTHOR_NAME" not in os.environ:
            env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = os.environ.get("USER") or "annover"
        if not email and "GIT_AUTHOR_EMAIL" not in os.environ:
            env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "annover@localhost"
        return env

    def author(self) -> str:
        env = {**os.environ, **self.identity_env()}
        name = self.git("config", "user.name", check=False).strip() or env.get("GIT_AUTHOR_NAME", "")
        email = self.git("config", "user.email", check=False).strip() or env.get("GIT_AUTHOR_EMAIL", "")
        return f"{name} <{email}>"

    def head_commit(self) -> str | None:
        out = self.git("rev-parse", "--verify", "-q", "HEAD", check=False).strip()
        return out or None

    def commit(self, files: dict[str, bytes | Path | None], message: str, expected: str | None) -> str:
        """Commit exactly ``files`` (paths relative to the git top level) on top of HEAD.

        Content is bytes (written to git, then to the work tree), a Path (taken from the
        work tree) or None (deleted). Uses a private index, so the user's staged changes
        stay out of it; HEAD moves only if it is still ``expected`` (compare-and-swap).
        """
        gd = self.git_dir
        private = gd / "annover-index"
        env = {"GIT_INDEX_FILE": str(private), **self.identity_env()}
        for stale in (private, gd / "annover-index.lock"):
            stale.unlink(missing_ok=True)
        if expected:
            self.git("read-tree", expected, env=env)
        else:
            self.git("read-tree", "--empty", env=env)
        entries = []
        for path, content in sorted(files.items()):
            if content is None:
                entries.append(f"0 {'0' * 40}\t{path}")
                continue
            data = content if isinstance(content, bytes) else (self.toplevel / path).read_bytes()
            blob = self.git("hash-object", "-w", "--stdin", input=data).strip()
            entries.append(f"100644 {blob}\t{path}")
        index_info = ("\n".join(entries) + "\n").encode()
        self.git("update-index", "--index-info", env=env, input=index_info)
        tree = self.git("write-tree", env=env).strip()
        args = ["commit-tree", tree, "-m", message]
        if expected:
            args[2:2] = ["-p", expected]
        commit = self.git(*args, env=env).strip()
        _maybe_die("before-update-ref")
        self.git("update-ref", "-m", f"annover: {message.splitlines()[0] if message else ''}", "HEAD", commit,
                 expected or "0" * 40)
        private.unlink(missing_ok=True)
        _maybe_die("after-update-ref")
        for path, content in files.items():
            target = self.toplevel / path
            if isinstance(content, bytes):
                write_atomic(target, content)
            elif content is None:
                target.unlink(missing_ok=True)
        self.sync_index(index_info)
        return commit

    def sync_index(self, index_info: bytes | None = None) -> None:
        """Make the user's index agree with HEAD for annover's paths (marker-guarded)."""
        gd = self.git_dir
        marker = gd / "annover-syncing"
        write_atomic(marker, b"1")
        if index_info is None:
            tree = self.git("ls-tree", "-r", "HEAD", "--", self.rel(self.dir), check=False)
            lines = [f"{ln.split()[0]} {ln.split()[2]}\t{ln.split(chr(9), 1)[1]}" for ln in tree.splitlines() if ln]
            index_info = ("\n".join(lines) + "\n").encode() if lines else b""
        if index_info:
            self.git("update-index", "--index-info", input=index_info)
        marker.unlink(missing_ok=True)

    def recover(self) -> list[str]:
        """Repair what an interrupted snapshot left behind (run under the lock).

        git's HEAD commit is the truth: annover's tracked files in the work tree are reset to
        it, stale private-index files removed, and a half-done index sync finished.
        """
        notes: list[str] = []
        gd = self.git_dir
        for stale in (gd / "annover-index", gd / "annover-index.lock"):
            if stale.exists():
                stale.unlink()
        if (gd / "annover-syncing").exists():
            lock = gd / "index.lock"
            if lock.exists():
                lock.unlink()  # left by our own killed `git update-index` (we hold the annover lock)
            self.sync_index()
            notes.append("finished an interrupted index update")
        head = self.head_commit()
        if head is None:
            return notes
        reld = self.rel(self.dir)
        listing = self.git("ls-tree", "-r", head, "--", reld, check=False)
        tracked: dict[str, str] = {}
        for ln in listing.splitlines():
            meta, path = ln.split("\t", 1)
            tracked[path] = meta.split()[2]
        for sub in ("HEAD", "objects.dvc", ".gitignore"):
            path = f"{reld}/{sub}" if reld != "." else sub
            want = tracked.get(path)
            target = self.toplevel / path
            if want is None:
                if sub == "HEAD" and target.exists():
                    target.unlink()
                    notes.append("removed an uncommitted HEAD")
                continue
            data = self.git("cat-file", "blob", want).encode()
            if not target.exists() or target.read_bytes() != data:
                write_atomic(target, data)
                notes.append(f"restored {path} from the last commit")
        vdir = self.dir / "versions"
        if vdir.is_dir():  # records of versions that never got their commit
            for p in vdir.glob("*.json"):
                if self.rel(p) not in tracked:
                    p.unlink()
                    notes.append(f"removed the record of uncommitted version {p.stem[:12]}")
        prefix = f"{reld}/refs/" if reld != "." else "refs/"
        tag_dir = self.dir / "refs" / "tags"
        if tag_dir.is_dir():
            for p in tag_dir.rglob("*"):
                if p.is_file() and self.rel(p) not in tracked:
                    p.unlink()
                    notes.append(f"removed uncommitted tag {p.name}")
        for path, blob in tracked.items():
            if path.startswith(prefix):
                target = self.toplevel / path
                data = self.git("cat-file", "blob", blob).encode()
                if not target.exists() or target.read_bytes() != data:
                    write_atomic(target, data)
                    notes.append(f"restored {path}")
        if notes:  # files restored: make the user's index agree with HEAD again
            self.sync_index()
        self.ensure_git_tags()
        return notes

    def commit_of(self, vid: str) -> str | None:
        """The git commit that added version ``vid``."""
        out = self.git("log", "--format=%H", "--diff-filter=A", "-1", "--", self.rel(self.version_path(vid)),
                       check=False).strip()
        return out or None

    def ensure_git_tags(self) -> None:
        """Every annover tag also exists as a git tag on the commit that made its version."""
        existing = set(self.git("tag", "--list", check=False).split())
        for name, vid in self.refs.tags().items():
            if name in existing:
                continue
            commit = self.commit_of(vid)
            if commit:
                self.git("tag", name, commit, check=False)


@contextmanager
def quiet_dvc() -> Iterator[None]:
    """Keep DVC's info-level log lines (written to stdout) out of our output."""
    import logging

    log = logging.getLogger("dvc")
    old = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(old)


class _LazyCacheStore(ObjectStore):
    """The working store, falling back to the DVC cache (looked up only when needed)."""

    def __init__(self, repo: Repo) -> None:
        super().__init__(repo.dir / "objects")
        self._repo = repo
        self._looked = False

    def locate(self, ref: ObjectRef) -> Path | None:
        p = super().locate(ref)
        if p is None and not self._looked:
            self._looked = True
            cache = self._repo.dvc_cache_dir()
            if cache is not None:
                self.fallbacks.append(cache)
            p = super().locate(ref)
        return p


def read_version_table(store: ObjectStore, v: Version, table: str, model_version: str | None = None,
                       columns: list[str] | None = None) -> "pa.Table":
    import pyarrow as pa

    if table == "predictions":
        mvs = [model_version] if model_version is not None else v.model_versions
        if model_version is not None and model_version not in v.model_versions:
            raise UsageError(f"version {v.id[:12]} has no predictions of model_version {model_version!r}",
                             f"its model versions: {', '.join(v.model_versions) or 'none'}")
        parts = [read_snapshot(store, v.snapshot("predictions", mv), columns) for mv in mvs]
        if not parts:
            s = C.schema("predictions")
            return s.empty_table().select(columns) if columns else s.empty_table()
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    ref = v.snapshot(table)
    if ref is None:
        s = C.schema(table)
        return s.empty_table().select(columns) if columns else s.empty_table()
    return read_snapshot(store, ref, columns)


def _desc(s: str) -> tuple[int, ...]:
    """A key that sorts ISO timestamps newest first."""
    return tuple(-ord(c) for c in s)


def _maybe_die(stage: str) -> None:
    """Fault injection for the crash tests: SIGKILL ourselves at a named stage."""
    if os.environ.get("ANNOVER_TEST_KILL_AT") == stage:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
