"""The one DVC adapter: every assumption annover makes about DVC lives here.

What annover needs of DVC: its repository (in process, its output kept off stdout),
its md5 cache folder, a set of objects recorded as one ``objects.dvc`` pointer (cache
entries + the ``.dir`` listing), the ``.dir`` hash of a pointer at a git commit,
push/pull of one version's objects, the remote's config, and the ``.dvc`` file of a
source folder. Formats are DVC's own: the listing is dvc-data's ``Tree``, pointer files
are written and read with DVC's YAML dumper and loader.

One light path: :meth:`Dvc.cache_dir` reads DVC's config files with ``configobj`` (the
parser DVC itself uses) instead of importing DVC, because reading an older version
needs the cache folder and must not pay DVC's import (``annover load`` stays at
pyarrow's speed). It follows DVC's rules (system, global, repo, local
config, later ones win; relative paths from the config file's folder) and a test
checks it against ``dvc.repo.Repo(...).cache.local.path``.
"""

from __future__ import annotations

import enum
import logging
import os
import re
import shutil
import sys
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from annover._lazy import lazy
from annover.errors import AnnoverError, NotARepoError, RemoteError
from annover.files import write_atomic
from annover.store.git import Git
from annover.store.objects import LocalStore, ObjectRef, check_md5, first_line, shard

if TYPE_CHECKING:
    import configobj
    import dvc.api as dvc_api
    import dvc.repo as dvc_repo
    import dvc.utils.serialize as dvc_serialize
    import dvc_data.hashfile.hash_info as dvc_hash_info
    import dvc_data.hashfile.meta as dvc_meta
    import dvc_data.hashfile.tree as dvc_tree
    import platformdirs
else:
    configobj = lazy("configobj")
    dvc_api = lazy("dvc.api")
    dvc_repo = lazy("dvc.repo")
    dvc_serialize = lazy("dvc.utils.serialize")
    dvc_hash_info = lazy("dvc_data.hashfile.hash_info")
    dvc_meta = lazy("dvc_data.hashfile.meta")
    dvc_tree = lazy("dvc_data.hashfile.tree")
    platformdirs = lazy("platformdirs")

__all__ = ["DVC_DIR", "Direction", "Dvc", "RemoteInfo", "find_root", "open_fs", "redact", "tracked_md5"]

DVC_DIR = ".dvc"
#: The files ``dvc init`` makes (committed by ``annover init``).
INIT_FILES = (".dvc/config", ".dvc/.gitignore", ".dvcignore")
HASH_NAME = "md5"
#: The remote ``annover init --remote URL`` names, and the machine-local default otherwise.
REMOTE = "annover"
LOCAL_REMOTE = "annover-local"
_DIR_SUFFIX = ".dir"
_APP, _APP_AUTHOR = "dvc", "iterative"  # DVC's platformdirs names (dvc/dirs.py)
_SECRET_OPTION = re.compile(r"(secret|password|token|key_id|access_key|credential|session)", re.I)
_REMOTE_HINT = "check the DVC remote (annover status, dvc remote list)"


class Direction(str, enum.Enum):
    PUSH = "push"
    PULL = "pull"


@dataclass(frozen=True)
class RemoteInfo:
    """The default DVC remote: its name and URL (credentials in it redacted)."""

    name: str
    url: str | None

    def to_json(self) -> dict:
        return {"name": self.name, "url": self.url}


def redact(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``."""
    return re.sub(r"//[^/@]*@", "//***@", url)


def is_secret_option(name: str) -> bool:
    """Remote options that hold credentials go to ``.dvc/config.local`` (git-ignored)."""
    return bool(_SECRET_OPTION.search(name))


def find_root(start: Path, stop: Path) -> Path | None:
    """The nearest folder at or above ``start`` (up to ``stop``) holding ``.dvc/``."""
    for d in (start, *start.parents):
        if (d / DVC_DIR).is_dir():
            return d
        if d == stop:
            break
    return None


@contextmanager
def quiet() -> Iterator[None]:
    """Keep DVC's console output (info lines, progress) off our stdout."""
    log = logging.getLogger("dvc")
    old = log.level
    log.setLevel(logging.WARNING)
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        log.setLevel(old)


def init(root: Path, subdir: bool) -> None:
    """``dvc init`` (``--subdir`` when ``root`` is not the git top level)."""
    with quiet():
        dvc_repo.Repo.init(str(root), subdir=subdir)


def open_fs(url: str, rev: str | None) -> Any:
    """DVC's filesystem of the repository at ``url`` (git URL or path) at git ``rev``."""
    return dvc_api.DVCFileSystem(url, rev=rev)


def tracked_md5(path: Path) -> str | None:
    """The hash DVC recorded for ``path`` in its ``PATH.dvc`` file beside it, or None."""
    pointer = path.with_name(path.name + ".dvc")
    if not pointer.exists():
        return None
    return _out_md5(pointer.read_text(encoding="utf-8"), str(pointer))


def _out_md5(text: str, where: str) -> str | None:
    """The md5 of the first output of a ``.dvc`` file's text (DVC's YAML loader)."""
    try:
        doc = dvc_serialize.parse_yaml(text, where)
    except dvc_serialize.ParseError:
        return None
    outs = doc.get("outs") if isinstance(doc, dict) else None
    md5 = outs[0].get(HASH_NAME) if isinstance(outs, list) and outs and isinstance(outs[0], dict) else None
    return md5 if isinstance(md5, str) else None


def _config_value(path: Path, section: str, key: str) -> str | None:
    """One value of a DVC config file (parsed by configobj, as DVC does; keys case-insensitive)."""
    try:
        conf = configobj.ConfigObj(str(path), file_error=True)
    except (OSError, configobj.ConfigObjError):
        return None
    for name, sect in conf.items():
        if name.lower() == section and isinstance(sect, dict):
            for k, v in sect.items():
                if k.lower() == key and isinstance(v, str):
                    return v
    return None


class Dvc:
    """The DVC repository rooted at ``root`` (the folder holding ``.dvc/``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # ------------------------------------------------------------------ the repository

    @contextmanager
    def repo(self) -> Iterator[Any]:
        """DVC's Repo, in process, its output off our stdout.

        DVC resolves targets against the working directory (also when it reads another
        git revision), so we stand in its root for the duration and give relative paths.
        """
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            with quiet(), dvc_repo.Repo(str(self.root)) as d:
                d.scm_context.quiet = True  # annover commits pointers itself
                yield d
        finally:
            os.chdir(cwd)

    def path(self, path: Path) -> str:
        """``path`` relative to the root, posix style (what DVC's API wants inside :meth:`repo`)."""
        return Path(os.path.relpath(Path(path).resolve(), self.root)).as_posix()

    def config_files(self) -> list[Path]:
        """DVC's config files, lowest precedence first: system, global, repo, local."""
        system = os.environ.get("DVC_SYSTEM_CONFIG_DIR") or platformdirs.site_config_dir(_APP, _APP_AUTHOR)
        user = os.environ.get("DVC_GLOBAL_CONFIG_DIR") or platformdirs.user_config_dir(_APP, _APP_AUTHOR)
        d = self.root / DVC_DIR
        return [Path(system) / "config", Path(user) / "config", d / "config", d / "config.local"]

    def cache_dir(self) -> Path:
        """The md5 folder of the local cache (``<cache.dir>/files/md5``), without importing DVC."""
        cache = self.root / DVC_DIR / "cache"
        for conf in self.config_files():
            value = _config_value(conf, "cache", "dir")
            if value:
                d = Path(os.path.expanduser(value))
                cache = d if d.is_absolute() else Path(os.path.abspath(conf.parent / d))
        return cache / "files" / HASH_NAME

    # ------------------------------------------------------------------ recording objects

    def record(self, store: LocalStore, refs: list[ObjectRef], pointer: Path) -> str:
        """Track ``store``'s folder as ``pointer`` (``objects.dvc``) holding exactly ``refs``.

        What ``dvc add`` does, without re-hashing what we know: each object goes into the
        md5 cache (a hard link where possible, read-only like DVC's own), the listing is
        dvc-data's ``Tree`` and the pointer is DVC's YAML, written atomically last.
        Returns the listing's ``.dir`` hash.
        """
        cache = self.cache_dir()
        tree = dvc_tree.Tree()
        for r in refs:
            tree.add((r.oid[:2], r.oid[2:]), dvc_meta.Meta(size=r.size), dvc_hash_info.HashInfo(HASH_NAME, r.md5))
            self._cache_file(cache / shard(check_md5(r.md5)), store.path(r.oid))
        tree.digest()
        dir_hash = tree.hash_info.value
        dest = cache / shard(dir_hash)
        if not dest.exists():
            write_atomic(dest, tree.as_bytes())
            os.chmod(dest, 0o444)
        out = {**tree.hash_info.to_dict(),
               **dvc_meta.Meta(size=sum(r.size for r in refs), nfiles=len(refs)).to_dict(),
               "hash": HASH_NAME, "path": Path(os.path.relpath(store.root, pointer.parent)).as_posix()}
        write_atomic(pointer, dvc_serialize.dumps_yaml({"outs": [out]}).encode())
        return dir_hash

    @staticmethod
    def _cache_file(dest: Path, src: Path) -> None:
        if dest.exists():
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)

    @staticmethod
    def pointer_hash(git: Git, commit: str, pointer: str) -> str:
        """The ``.dir`` md5 the pointer file ``pointer`` (relative to git's top level) holds at ``commit``."""
        text = git.show(commit, pointer)
        md5 = _out_md5(text, pointer) if text else None
        if not md5 or not md5.endswith(_DIR_SUFFIX):
            raise NotARepoError(f"commit {commit[:12]} has no DVC pointer for the object store",
                                "the version was made by an interrupted snapshot; run `annover snapshot` again")
        check_md5(md5[: -len(_DIR_SUFFIX)])
        return md5

    # ------------------------------------------------------------------ remotes

    def transfer(self, dir_md5: str, direction: Direction, remote: str | None, what: str) -> int:
        """Push or pull one listing and the files it lists; the number of files moved.

        What ``git checkout REV && dvc push/pull`` moves, without reading that commit's DVC
        config (a remote added later would not be in it). On push the listing goes last:
        DVC takes a listing on the remote to mean "all its files are there".
        """
        dir_obj = dvc_hash_info.HashInfo(HASH_NAME, dir_md5)
        moved = failed = 0
        try:
            with self.repo() as d:
                if direction == Direction.PULL:  # the listing first, then what it lists
                    failed += len(d.cloud.pull([dir_obj], remote=remote).failed)
                files = [hi for _, _, hi in dvc_tree.Tree.load(d.cache.local, dir_obj)] if not failed else []
                fn = d.cloud.push if direction == Direction.PUSH else d.cloud.pull
                if files:
                    r = fn(files, remote=remote)
                    moved, failed = moved + len(r.transferred), failed + len(r.failed)
                if direction == Direction.PUSH and not failed:
                    failed += len(d.cloud.push([dir_obj], remote=remote).failed)
        except AnnoverError:
            raise
        except FileNotFoundError:
            raise RemoteError(f"the object listing of {what} is not in the local DVC cache",
                              "pull it first (annover pull REV) from a remote that has it") from None
        except Exception as e:  # DVC and its filesystems raise many kinds
            raise RemoteError(f"dvc {direction.value} failed: {first_line(e)}", _REMOTE_HINT) from None
        if failed:
            raise RemoteError(f"{failed} object(s) of {what} failed to {direction.value}",
                              "check the DVC remote; if pulling, push them from a clone that has them")
        return moved

    def checkout(self, pointer: Path) -> None:
        """``dvc checkout --force POINTER``: the work tree gets the pointer's files."""
        with self.repo() as d:
            d.checkout(targets=[self.path(pointer)], force=True)

    def on_remote(self, refs: list[ObjectRef]) -> bool | None:
        """Whether the default remote has every object (None: it cannot be asked)."""
        try:
            with self.repo() as d:
                odb = d.cloud.get_remote_odb()
                return all(odb.exists(r.md5) for r in refs)
        except Exception:  # no remote, unreachable, no credentials: unknown
            return None

    def has_default_remote(self) -> bool:
        with self.repo() as d:
            repo_conf, local_conf = d.config.load_one("repo"), d.config.load_one("local")
        return bool(repo_conf.get("core", {}).get("remote") or local_conf.get("core", {}).get("remote"))

    def set_remote(self, url: str, options: dict[str, str]) -> str:
        """Make ``url`` the default remote ``annover``; credentials go to the local config. A message."""
        public = {k: v for k, v in options.items() if not is_secret_option(k)}
        secret = {k: v for k, v in options.items() if is_secret_option(k)}
        with self.repo() as d:
            with d.config.edit("repo") as conf:
                conf.setdefault("remote", {})[REMOTE] = {"url": url, **public}
                conf.setdefault("core", {})["remote"] = REMOTE
            with d.config.edit("local") as conf:
                if conf.get("core", {}).get("remote") == LOCAL_REMOTE:
                    del conf["core"]["remote"]  # the named remote replaces our local default
                if secret:
                    conf.setdefault("remote", {}).setdefault(REMOTE, {}).update(secret)
        return f"DVC remote '{REMOTE}' -> {redact(url)} (default)"

    def set_local_remote(self, where: Path) -> str:
        """Make the folder ``where`` the default remote of this clone only. A message."""
        where.mkdir(parents=True, exist_ok=True)
        with self.repo() as d:
            with d.config.edit("local") as conf:
                conf.setdefault("remote", {})[LOCAL_REMOTE] = {"url": str(where)}
                conf.setdefault("core", {})["remote"] = LOCAL_REMOTE
        return (f"DVC remote '{LOCAL_REMOTE}' -> a local folder (this machine only: {where}); "
                "name a shared one with `annover init --remote URL`")

    def remote_info(self) -> RemoteInfo | None:
        """The default remote, or None (none set, or DVC cannot read its config)."""
        try:
            with self.repo() as d:
                name = d.config["core"].get("remote")
                if not name:
                    return None
                url = d.config["remote"].get(name, {}).get("url")
        except Exception:  # a broken config is reported by the commands that need the remote
            return None
        return RemoteInfo(name, redact(url) if url else None)
