"""The one DVC adapter: every assumption annover makes about DVC lives here (with
:mod:`annover.store.credentials`, which remote options and URL parts are credentials).

What annover needs of DVC: its repository (in process, its output kept off stdout),
its md5 cache folder, a set of objects recorded as one ``objects.dvc`` pointer (cache
entries + the ``.dir`` listing), the ``.dir`` hash of a pointer at a git commit,
incremental push/pull of versions' listings and the files they list, a bounded wait for
the remote's first answer, the remote's config, and the ``.dvc`` file of a source folder.
Formats are DVC's own: the listing is dvc-data's ``Tree``, pointer files are written and
read with DVC's YAML dumper and loader.

One light path: :meth:`Dvc.cache_dir` reads DVC's config files with ``configobj`` (the
parser DVC itself uses) instead of importing DVC, because reading an older version
needs the cache folder and must not pay DVC's import (``annover.load`` stays at
pyarrow's speed). It follows DVC's rules (system, global, repo, local
config, later ones win; relative paths from the config file's folder) and a test
checks it against ``dvc.repo.Repo(...).cache.local.path``.
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import errno
import hashlib
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from annover._lazy import lazy
from annover.errors import (AnnoverError, NotARepoError, ObjectError, RemoteError, RemoteUnreachableError, UsageError,
                            env_seconds, shown)
from annover.files import NO_ROOM, REFUSED, naming, write_atomic
from annover.store.credentials import (CREDENTIALS, has_userinfo, is_local_url, is_secret_option, redact, scheme,
                                        split_options, split_userinfo)
from annover.store.git import Git
from annover.store.listings import DIR_SUFFIX, MD5_RE, TAMPERED, check_listing, parse_listing
from annover.store.objects import LocalStore, ObjectRef, check_md5, first_line, shard
from annover.store.refs import not_writable

if TYPE_CHECKING:
    import configobj
    import dvc.api as dvc_api
    import dvc.config as dvc_config
    import dvc.exceptions as dvc_exceptions
    import dvc.fs as dvc_fs
    import dvc.lock as dvc_lock
    import dvc.repo as dvc_repo
    import dvc.repo.open_repo as dvc_open_repo
    import dvc.utils.serialize as dvc_serialize
    import dvc_data.hashfile.db as dvc_db
    import dvc_data.hashfile.hash_info as dvc_hash_info
    import dvc_data.hashfile.meta as dvc_meta
    import dvc_data.hashfile.tree as dvc_tree
    import dvc.dirs as dvc_dirs
    import dvc_objects.errors as dvc_objects_errors
    import platformdirs
    import sqlite3
else:
    configobj = lazy("configobj")
    dvc_api = lazy("dvc.api")
    dvc_open_repo = lazy("dvc.repo.open_repo")
    dvc_config = lazy("dvc.config")
    dvc_exceptions = lazy("dvc.exceptions")
    dvc_fs = lazy("dvc.fs")
    dvc_lock = lazy("dvc.lock")
    dvc_repo = lazy("dvc.repo")
    dvc_serialize = lazy("dvc.utils.serialize")
    dvc_db = lazy("dvc_data.hashfile.db")
    dvc_hash_info = lazy("dvc_data.hashfile.hash_info")
    dvc_meta = lazy("dvc_data.hashfile.meta")
    dvc_tree = lazy("dvc_data.hashfile.tree")
    dvc_objects_errors = lazy("dvc_objects.errors")
    dvc_dirs = lazy("dvc.dirs")
    platformdirs = lazy("platformdirs")
    sqlite3 = lazy("sqlite3")

__all__ = ["CREDENTIALS", "DVC_DIR", "REMOTE_TIMEOUT", "TIMEOUT_ENV", "TRANSFER_TIMEOUT", "Direction", "Dvc", "Moved",
           "RemoteInfo", "Verify", "check_listing", "databases_refused", "find_root", "is_databases_error",
           "is_local_url", "is_secret_option", "listing_of",
           "open_fs", "parse_listing", "redact", "remote_timeout", "split_userinfo", "this_machine_warning",
           "tracked_md5"]

DVC_DIR = ".dvc"
#: The files ``dvc init`` makes (committed by ``annover init``).
INIT_FILES = (".dvc/config", ".dvc/.gitignore", ".dvcignore")
HASH_NAME = "md5"
#: The default remote ``annover init`` sets (a local folder unless ``--remote URL``), in ``.dvc/config``
#: from the first commit on, so every version's commit names it.
REMOTE = "annover"
#: The machine-local default of repositories made before the remote was committed (``.dvc/config.local``).
LOCAL_REMOTE = "annover-local"
#: Seconds ``status`` waits for the remote's first answer, and ``push``/``pull`` (which would
#: rather wait than call a slow remote unreachable); the environment variable sets both.
REMOTE_TIMEOUT = 5.0
TRANSFER_TIMEOUT = 30.0
TIMEOUT_ENV = "ANNOVER_REMOTE_TIMEOUT"
_APP, _APP_AUTHOR = "dvc", "iterative"  # DVC's platformdirs names (dvc/dirs.py)
#: The keys of an ``objects.dvc`` pointer annover writes (DVC's ``dvc add`` writes the same).
_POINTER_KEYS = frozenset({"md5", "size", "nfiles", "hash", "path"})
_REMOTE_HINT = "check the DVC remote (annover status, dvc remote list)"


class Direction(str, enum.Enum):
    PUSH = "push"
    PULL = "pull"


@dataclass(frozen=True)
class RemoteInfo:
    """The default DVC remote: its name and URL (credentials in it redacted).

    ``this_machine``: the URL is a folder path, which a clone on another machine cannot reach.
    """

    name: str
    url: str | None

    @property
    def this_machine(self) -> bool:
        return bool(self.url) and is_local_url(self.url or "")

    def to_json(self) -> dict:
        return {"name": self.name, "url": self.url, "this_machine": self.this_machine}


#: ``verify(listing, entries, fetch) -> bool`` (see :meth:`Dvc.pull`).
Verify = Callable[[str, "dict[str, str]", Callable[[list[str]], None]], bool]


@dataclass
class Moved:
    """What a push or pull of object listings did: the listings (``.dir`` md5s) moved,
    those already there, those that could not be moved (files neither here nor there),
    and the number of files moved.

    Push only: ``damaged``, objects (md5) the remote lacks whose copy in the local DVC cache
    is missing or corrupt (``{md5: "missing" | "corrupt"}``), which DVC would skip in silence;
    ``unconfirmed``, listings whose files were sent but that the remote does not hold after
    the push (``{listing: [md5, ...]}``); their listings were not sent.
    """

    moved: list[str]
    present: list[str]
    missing: list[str]
    files: int
    damaged: dict[str, str] = field(default_factory=dict)
    unconfirmed: dict[str, list[str]] = field(default_factory=dict)


def remote_timeout(timeout: float | None, default: float) -> float:
    """``timeout``, else ``$ANNOVER_REMOTE_TIMEOUT``, else ``default`` (seconds)."""
    return timeout if timeout is not None else env_seconds(TIMEOUT_ENV, default)


def _md5_of(path: Path) -> str | None:
    """The md5 of the file at ``path`` (None: no such file)."""
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "md5").hexdigest()
    except FileNotFoundError:
        return None
    except OSError:  # not a readable file: damaged
        return ""


def checked_remote(url: str, options: dict[str, str]) -> str:
    """``url`` as DVC is to be given it, checked with ``options`` against DVC's own config
    schema before anything is made: UsageError naming what DVC refuses (an unknown scheme,
    an option the remote type has not). A ``file://`` URL becomes its path: DVC reads a
    ``file://`` URL as a relative folder named ``file:``."""
    if url.startswith("file://"):
        path = url[len("file://"):]
        path = path[len("localhost"):] if path.startswith("localhost/") else path
        if not path.startswith("/"):
            raise UsageError(f"remote {redact(url)}: a file:// URL names an absolute path, as in file:///srv/dvc",
                             "give the folder as file:///ABSOLUTE/PATH or as a plain path")
        url = path
    if scheme(url) in ("http", "https", "webdav", "webdavs") and "?" in url:  # a token there would be committed
        raise UsageError(f"remote {redact(url.split('?', 1)[0])}: the URL has a query (?...), and DVC adds each "
                         "file's path at the URL's end, after it",
                         "give the URL without it, and a token as a header: --remote-option auth=custom "
                         "--remote-option custom_auth_header=NAME --remote-option password=TOKEN (.dvc/config.local)")
    if scheme(url) == "s3" and has_userinfo(str(options.get("endpointurl", ""))):
        raise UsageError(f"remote {redact(url)}: an S3 endpointurl cannot carry a user and password (the S3 client "
                         "refuses such a URL)", "give the endpoint without them and the keys as --remote-option "
                         "access_key_id=... --remote-option secret_access_key=... (they go to .dvc/config.local)")
    odd = next((x for x in (url, *options.values()) if not str(x).isascii()), None)
    if odd is not None:  # DVC writes its config as ASCII: it would fail half-way through init
        raise UsageError(f"remote {redact(url)}: DVC cannot record a path, URL or option with non-ASCII "
                         f"characters ({redact(str(odd))})", "choose a folder whose path is ASCII (a symbolic "
                         "link to it will do)")
    try:
        dvc_config.Config.validate({"remote": {REMOTE: {"url": url, **options}}})
    except dvc_config.ConfigError as e:
        why = first_line(e).removeprefix("config file error: ")
        raise UsageError(f"remote {redact(url)}: DVC refuses it: {why}",
                         "give a folder or a URL DVC knows (s3://, gs://, azure://, ssh://, ...) and only "
                         "--remote-option names that remote type has (see `dvc remote modify --help`)") from None
    return url


def find_root(start: Path, stop: Path) -> Path | None:
    """The nearest folder at or above ``start`` (up to ``stop``) holding ``.dvc/``."""
    for d in (start, *start.parents):
        if (d / DVC_DIR).is_dir():
            return d
        if d == stop:
            break
    return None


class _SaidByAnnover(logging.Filter):
    """DVC's warning listing the files neither the cache nor the remote has (``name: None, md5:
    ...``, several lines): push and pull say it in one line naming the versions, with the fix."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Some of the cache files do not exist")


_SAID = _SaidByAnnover()

#: the loggers DVC says a file it failed to copy on (``ERROR: failed to transfer ...``, a line each)
_TRANSFER_LOGGERS = ("dvc_data.hashfile.transfer", "dvc_objects.fs.generic")
#: a copy the file system refused: no room (full disk, quota, file-size limit) or not writable
_REFUSED = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some of the quota",
            errno.EFBIG: "raise the limit on a file's size (`ulimit -f`)",
            errno.EROFS: "make it writable", errno.EACCES: "make it writable", errno.EPERM: "make it writable"}
#: DVC's temporary file names (``dvc_objects.fs.utils.tmp_fname``: a dot, 22 url-safe characters, ``.tmp``)
DVC_TMP = re.compile(r"\.[A-Za-z0-9_-]{22}\.tmp")


class _Failures(logging.Filter):
    """While entered, the files DVC fails to copy, kept instead of printed (a line each): the push or
    pull says them in one line. A copy the disk refused left DVC's temporary file half written
    (DVC does not remove it): :meth:`refused` removes it."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[BaseException] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("failed to transfer"):
            return True
        self.errors.append(record.exc_info[1] if record.exc_info and record.exc_info[1] else Exception(record.msg))
        return False

    def __enter__(self) -> "_Failures":
        for name in _TRANSFER_LOGGERS:
            logging.getLogger(name).addFilter(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        for name in _TRANSFER_LOGGERS:
            logging.getLogger(name).removeFilter(self)

    def why(self) -> str:
        """The first failure, as the end of a one-line message."""
        return f" (the first: {first_line(self.errors[0])})" if self.errors else ""

    def refused(self, n: int, verb: str) -> None:
        """Remove the temporary files of copies the file system refused; raise for such a refusal:
        a pull's (the local DVC cache) as a NotWritableError (exit 6, naming the folder), a push's (the
        remote) as a RemoteError naming the remote's folder."""
        refused = [e for e in self.errors if isinstance(e, OSError) and e.errno in _REFUSED]
        for e in refused:
            tmp = e.filename2 or e.filename
            if tmp and DVC_TMP.fullmatch(os.path.basename(str(tmp))):
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        if not refused:
            return
        e = refused[0]
        where = os.path.dirname(str(e.filename2 or e.filename or "")) or "a folder"
        if verb == "pull":  # outside the repository lock: told here as the lock tells a refused write
            raise not_writable(OSError(e.errno, e.strerror, where)) from e
        raise RemoteError(f"the DVC remote refused {n} file(s): {where}: {e.strerror}",
                          f"on the remote: {_REFUSED[e.errno]}, then run `annover push` again (what was sent stays "
                          "sent; the versions not sent stay \"not pushed\")")


@contextmanager
def quiet() -> Iterator[None]:
    """Keep DVC's console output (info lines, progress, what annover says itself) off our stdout."""
    log = logging.getLogger("dvc")
    cloud = logging.getLogger("dvc.data_cloud")
    bars = logging.getLogger("dvc.progress")  # DVC's bars draw on a terminal unless it is above ERROR (a
    old, old_bars = log.level, bars.level     # checkout's left blank lines, under the spinner and with -q)
    log.setLevel(logging.WARNING)
    bars.setLevel(logging.CRITICAL)
    added = _SAID not in cloud.filters  # the outermost of nested calls takes it off
    cloud.addFilter(_SAID)
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        log.setLevel(old)
        bars.setLevel(old_bars)
        if added:
            cloud.removeFilter(_SAID)


def init(root: Path, subdir: bool) -> None:
    """``dvc init`` (``--subdir`` when ``root`` is not the git top level)."""
    make = dvc_repo.Repo.init  # imported first: importing DVC sets its logger's level, quiet() then lowers it
    with quiet():
        make(str(root), subdir=subdir)


def open_fs(url: str, rev: str | None) -> Any:
    """DVC's filesystem of the repository at ``url`` (git URL or path) at git ``rev``. The git
    clone and cache DVC makes for it in the temporary folder are removed when the process ends
    (DVC's own command line does so; a library caller is left them)."""
    if not _CLEAN_AT_EXIT:
        atexit.register(_clean_clones)
        _CLEAN_AT_EXIT.append(True)
    return dvc_api.DVCFileSystem(_as_path(url), rev=rev)


def _as_path(url: str) -> str:
    """A ``file://`` URL of a folder on this machine as its path. DVC opens a path in place and
    reads its remote from the repository's own config, so a folder remote recorded relative to
    ``.dvc/`` (``init --remote ../remote``) is found; a URL it clones to a temporary folder,
    from which that relative remote names nothing."""
    parts = urllib.parse.urlparse(url)
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        path = urllib.parse.unquote(parts.path)
        if os.path.isdir(path):
            return path
    return url


def databases_refused(e: Exception) -> NotARepoError:
    """The error of DVC's state and index databases (its site cache) that cannot be written: a full
    disk, ``ulimit -f``, a read-only ``/var/tmp`` (a container's read-only root)."""
    return NotARepoError(f"DVC's databases under {dvc_dirs.site_cache_dir()} cannot be written: {e}",
                         "free some space on its disk (or raise `ulimit -f`), or give DVC a folder it can write: "
                         "DVC_SITE_CACHE_DIR=DIR in the environment (or `dvc config --local core.site_cache_dir "
                         "DIR`), and run the command again")


def is_databases_error(e: BaseException) -> bool:
    """``e`` is DVC's databases (SQLite) failing to open or write, or their folder refused."""
    if isinstance(e, sqlite3.OperationalError):
        return True
    site = os.path.join(dvc_dirs.site_cache_dir(), "")
    return isinstance(e, OSError) and e.errno in REFUSED and str(e.filename or "").startswith(site)


def written_folder(url: str) -> Path:
    """The folder a local remote ``url`` names as DVC takes it when it is written (``dvc remote
    add NAME ../store``): a relative path from the folder the command runs in (DVC records it
    relative to ``.dvc/``, where it reads it from later)."""
    return Path(os.path.expanduser(url.removeprefix("file://"))).absolute()


#: whether :func:`_clean_clones` is registered to run at exit
_CLEAN_AT_EXIT: list[bool] = []


def _clean_clones() -> None:
    dvc_open_repo.clean_repos()


#: the origin URL line of a git clone's ``.git/config``
_ORIGIN_URL = re.compile(r'^\[remote "origin"\]\s*^\s*url = (.*)$', re.M)


@contextmanager
def failed_clones_dropped(url: str) -> Iterator[None]:
    """Run the block that opens ``url`` with :func:`open_fs`; if it fails, remove the clone DVC left
    half-made in the temporary folder. A clone that fails is not in the list DVC's cleanup removes,
    and its ``.git/config`` holds the URL as given, a token in it included. Only a clone of ``url``
    begun during the block and not in DVC's list goes: another process's clones of it stay."""
    before = set(_clone_folders())
    try:
        yield
    except BaseException:
        kept = {os.path.realpath(path) for path, _ in dvc_open_repo.CLONES.values()}
        for folder in set(_clone_folders()) - before:
            if os.path.realpath(folder) not in kept and _origin_of(folder) == _as_path(url):
                shutil.rmtree(folder, ignore_errors=True)
        raise


def _clone_folders() -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob("*dvc-clone"))


def _origin_of(clone: Path) -> str | None:
    try:
        config = (clone / ".git" / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    origin = _ORIGIN_URL.search(config)
    return origin.group(1).strip() if origin else None


def tracked_md5(path: Path) -> str | None:
    """The hash DVC recorded for ``path`` in its ``PATH.dvc`` file beside it, or None."""
    pointer = path.with_name(path.name + ".dvc")
    if not pointer.exists():
        return None
    return _out_md5(pointer.read_text(encoding="utf-8"), str(pointer))


def listing_of(text: str, where: str) -> str | None:
    """The ``.dir`` md5 an ``objects.dvc`` pointer's text records (None: not a listing pointer)."""
    md5 = _out_md5(text, where)
    if not md5 or not md5.endswith(DIR_SUFFIX):
        return None
    check_md5(md5[: -len(DIR_SUFFIX)])
    return md5


#: A pointer as DVC writes one of a single output (``dumps_yaml``): its md5 is read without a
#: YAML parser (0.5-1.8 ms a pointer, 200 of them for `annover status` of 200 versions); any
#: other text, a hand-edited one too, goes to DVC's loader. The fields after ``md5`` are each
#: of a form YAML reads as a plain value of a key other than ``md5``, so the md5 is the one
#: the loader would give (see :func:`_plain_md5`).
_POINTER_RE = re.compile(r"outs:\n- md5: ([0-9a-f]{32}(?:\.dir)?)\n((?:  (?:size|nfiles): [0-9]{1,20}\n"
                         r"|  hash: md5\n|  path: [A-Za-z0-9_][A-Za-z0-9_.-]{0,200}\n)*)")


def pointer_nfiles(text: str) -> int | None:
    """The number of files a ``.dir`` pointer's text says its folder holds (``nfiles``); None: it says none."""
    m = re.search(r"^ +nfiles: ([0-9]{1,20}) *$", text, re.M)
    return int(m[1]) if m else None


def _plain_md5(text: str) -> str | None:
    """The md5 of a pointer of :data:`_POINTER_RE`'s form, each field once, whose md5 YAML
    reads as text (not digits alone, an int, or digits around one ``e``, a float); else None."""
    m = _POINTER_RE.fullmatch(text)
    if m is None:
        return None
    keys = [ln.split(":", 1)[0] for ln in m.group(2).splitlines()]
    md5 = m.group(1)
    if len(keys) != len(set(keys)) or not (md5.endswith(DIR_SUFFIX) or re.search("[a-df]", md5)
                                            or md5.count("e") > 1):
        return None
    return md5


def _out_md5(text: str, where: str) -> str | None:
    """The md5 of the first output of a ``.dvc`` file's text (DVC's YAML loader, but where the
    text is as DVC writes it: :func:`_plain_md5`)."""
    plain = _plain_md5(text)
    if plain is not None:
        return plain
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


_NAMED = re.compile(r'^\s*(remote|machine|db)\s*"(.*)"\s*$')


def _config_file(path: Path) -> dict | None:
    """One DVC config file as DVC reads it (``dvc.config.Config.load_file``: configobj, keys lower-cased,
    ``remote "NAME"`` sections under ``remote``; a remote's relative ``url`` taken from the file's
    folder); {} when there is no such file, None when configobj cannot parse it (DVC refuses it)."""
    if not os.path.lexists(path):
        return {}
    try:
        conf = configobj.ConfigObj(str(path), file_error=True).dict()
    except (OSError, UnicodeDecodeError, configobj.ConfigObjError):
        return None

    def lower(d: dict) -> dict:
        return {k.lower(): lower(v) if isinstance(v, dict) else v for k, v in d.items()}

    out: dict = {"remote": {}}
    for section, value in lower(conf).items():
        m = _NAMED.match(section)
        if m and m.group(1) == "remote":
            out["remote"][m.group(2)] = value
        elif not m:
            out[section] = value
    for value in out["remote"].values():
        if isinstance(value, dict) and isinstance(value.get("url"), str):
            value["url"] = _config_path(path.parent, value["url"])
    return out


def _config_path(conf_dir: Path, value: str) -> str:
    """A path of a DVC config file as DVC resolves it (``Config._resolve``): a URL or an absolute
    path as it is, ``~`` expanded, else from the config file's folder."""
    if re.match(r"\w+://", value) or os.path.isabs(value):
        return value
    expanded = os.path.expanduser(value)
    return expanded if os.path.isabs(expanded) else os.path.abspath(os.path.join(os.path.abspath(conf_dir), value))


def _merge(into: dict, update: dict) -> None:
    """DVC's merge of a later config level into the earlier ones (``dvc.config.merge``)."""
    for key, value in update.items():
        if isinstance(into.get(key), dict) and isinstance(value, dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _file_url_fix(d: Any, name: str, path: str) -> str:
    """The ``dvc remote modify`` that sets remote ``name`` to ``path``, in the config that holds its
    ``file://`` URL: ``.dvc/config.local`` (a clone's ``dvc remote add --local``) overrides the
    committed one, so changing the committed one would not fix it."""
    local = d.config.load_one("local").get("remote", {}).get(name, {})
    if str(local.get("url") or "").startswith("file://"):
        return f"set it to the folder's path, once per clone: dvc remote modify --local {name} url {path or '/PATH'}"
    return (f"set it to the folder's path, once: dvc remote modify {name} url {path or '/PATH'} "
            "(then `git commit .dvc/config`)")


def this_machine_warning(remote: RemoteInfo) -> str:
    """What init, status and push say about a remote that is a folder on this machine."""
    return (f"warning: the DVC remote '{remote.name}' is a folder on this machine only; clones here can "
            "`dvc pull`, clones elsewhere cannot. Share it: `annover init --remote s3://BUCKET/PATH` "
            "(or any DVC URL), then `annover push`")


def _on_remote(odb: Any, oids: list[str]) -> set[str]:
    """Which of ``oids`` the remote holds, asked now: an object store's filesystem (s3fs) caches
    the listing of each two-letter folder it lists, and does not see what DVC's push wrote
    there since through another instance (a listing whose md5 shares its first two letters
    with one of its files' would seem absent after the push)."""
    if not oids:
        return set()
    fs = getattr(odb.fs, "fs", None)
    if hasattr(fs, "invalidate_cache"):
        fs.invalidate_cache()
    return set(odb.oids_exist(oids))


def _hash(md5: str) -> Any:
    """DVC's HashInfo of a file or (``...dir``) a listing."""
    return dvc_hash_info.HashInfo(HASH_NAME, md5)


def _label(d: Any, remote: str | None) -> str:
    """``'name' (url)`` of the remote ``remote`` (the default one when None), credentials redacted."""
    try:
        name = remote or d.config["core"].get("remote") or "?"
        url = d.config["remote"].get(name, {}).get("url")
    except Exception:  # the config is broken: the caller's error says more
        return repr(remote or "default")
    return f"'{name}' ({redact(url)})" if url else f"'{name}'"


#: proxy variables: with one set, the client does not connect to the endpoint itself
_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def endpoint(url: str, options: dict) -> tuple[str, int] | None:
    """(host, port) the client of the remote at ``url`` connects to first, when annover can
    tell (an S3 ``endpointurl``, an http(s)/webdav(s) URL) and no proxy is set; else None."""
    kind = scheme(url)
    target = options.get("endpointurl") if kind == "s3" else url if kind in ("http", "https", "webdav",
                                                                               "webdavs") else None
    if not target or any(os.environ.get(v) for v in _PROXY_ENV):
        return None
    parts = urllib.parse.urlsplit(str(target))
    try:
        port = parts.port or (443 if parts.scheme.lower() in ("https", "webdavs") else 80)
    except ValueError:  # not a port: the client's own error says so
        return None
    return (parts.hostname, port) if parts.hostname else None


def refused(addr: tuple[str, int], timeout: float) -> bool:
    """Whether ``addr`` refuses a TCP connection (nothing listens there). Anything else (it
    accepts, it does not answer, the name does not resolve) is left to the remote's client."""
    try:
        with socket.create_connection(addr, timeout=timeout):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def _probe(fs: Any, path: str, label: str, timeout: float, addr: tuple[str, int] | None = None,
           offline: str = "", name: str = "annover") -> bool:
    """Ask the remote one question (does ``path``, its root, exist); raise unless it answers in ``timeout`` s.

    The question runs in a daemon thread, so a remote that does not answer (a host that
    drops packets) holds neither the command nor the process's exit longer than
    ``timeout``. Errors propagate (``odb.exists`` would turn them into "no"). ``addr``
    (:func:`endpoint`): a refused connection there is an answer at once, where the
    remote's client would retry it until the timeout.
    """
    box: dict[str, Any] = {}

    def ask() -> None:
        try:
            if addr is not None and refused(addr, timeout):
                box["refused"] = addr
                return
            box["exists"] = bool(fs.exists(path))
        except BaseException as e:  # reported by the caller's thread
            box["error"] = e

    t = threading.Thread(target=ask, name="annover-remote-probe", daemon=True)
    t.start()
    t.join(timeout)
    hint = ("check the URL, the network and the credentials (`dvc remote list`); "
            f"`--timeout SECONDS` waits longer{offline}")
    if t.is_alive():
        raise RemoteUnreachableError(f"the DVC remote {label} did not answer within {timeout:g} s", hint)
    if "refused" in box:
        host, port = box["refused"]
        raise RemoteUnreachableError(f"the DVC remote {label} refused the connection: nothing listens at "
                                     f"{host}:{port}", "start its server, or check the URL and port "
                                     f"(`dvc remote list`){offline}")
    if "error" in box:
        if _no_keys(box["error"]):  # a clone: the keys stayed in the .dvc/config.local of the one that set them
            hint = (f"this clone has no keys for it (they stay out of git): `dvc remote modify --local {name} "
                    "access_key_id KEY` and `... secret_access_key SECRET`, or set AWS_ACCESS_KEY_ID and "
                    f"AWS_SECRET_ACCESS_KEY{offline}")
        raise RemoteUnreachableError(f"the DVC remote {label} cannot be reached: {first_line(box['error'])}",
                                     hint)
    return box["exists"]


def _no_keys(e: BaseException) -> bool:
    """An S3 client that found no credentials (botocore's NoCredentialsError, however wrapped)."""
    return type(e).__name__ == "NoCredentialsError" or "Unable to locate credentials" in str(e)


#: what to do when DVC lacks the plugin of the remote's type (dvc-ssh, dvc-webdav...)
_PLUGIN_HINT = ("install the DVC plugin it names in annover's environment (pip install dvc-ssh, dvc-webdav...), "
                "or set another remote with `annover init --remote URL` (see `dvc remote list`)")


class Dvc:
    """The DVC repository rooted at ``root`` (the folder holding ``.dvc/``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._keep: contextlib.ExitStack | None = None  # within kept_open(): what closes the kept Repo
        self._kept: Any = None  # the Repo kept open

    # ------------------------------------------------------------------ the repository

    @contextmanager
    def repo(self) -> Iterator[Any]:
        """DVC's Repo, in process, its output off our stdout (within :meth:`kept_open`: the one
        opened first).

        DVC resolves targets against the working directory (also when it reads another
        git revision), so we stand in its root for the duration and give relative paths.
        """
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            if self._keep is not None:
                if self._kept is None:
                    self._kept = self._keep.enter_context(self._opened())
                yield self._kept
            else:
                with self._opened() as d:
                    yield d
        finally:
            os.chdir(cwd)

    @contextmanager
    def _opened(self) -> Iterator[Any]:
        opener = dvc_repo.Repo  # imported before quiet(), which must come after DVC sets its logger
        try:
            with quiet(), opener(str(self.root)) as d:
                d.scm_context.quiet = True  # annover commits pointers itself
                yield d
        except dvc_config.ConfigError as e:
            if not isinstance(e.__cause__, (configobj.ConfigObjError, UnicodeDecodeError)):
                raise
            raise self._unparsed(e.__cause__) from None
        except (sqlite3.OperationalError, OSError) as e:  # DVC's state and index databases: a full disk,
            if not is_databases_error(e):  # `ulimit -f`, a read-only /var/tmp
                raise
            raise databases_refused(e) from None

    def _unparsed(self, e: BaseException) -> NotARepoError:
        """A DVC config file configobj cannot parse, named with the line's number, never its text:
        configobj quotes the line (``Invalid line ('secret_access_key SECRET')``), and the file
        that holds the keys is ``.dvc/config.local``."""
        bad = [p for p in self.config_files() if _config_file(p) is None]
        where = str(bad[-1]) if bad else "a DVC config file"
        line = getattr(e, "line_number", None)
        what = "is not in UTF-8" if isinstance(e, UnicodeDecodeError) else (
            f"line {line} is neither `name = value` nor a [section]" if line else "it does not parse")
        return NotARepoError(f"{where}: DVC cannot read it: {what}",
                             "fix that line (DVC's config: `dvc remote modify --local` rewrites an option), "
                             "then run the command again")

    @contextmanager
    def kept_open(self) -> Iterator[None]:
        """Within: DVC's Repo opened once, when first asked for, and given to every :meth:`repo`
        (``status`` asks it for the remote, then the remote for its listings), closed on leaving."""
        with contextlib.ExitStack() as stack:
            self._keep = stack
            try:
                yield
            finally:
                self._keep, self._kept = None, None

    @contextmanager
    def locked(self, timeout: float) -> Iterator[bool]:
        """Within: DVC's repository lock held as DVC's own commands hold it (``dvc pull``, ``dvc gc``: its
        lock class on ``.dvc/tmp/lock``, a hard-link lock where ``core.hardlink_lock`` says so), so that a DVC
        command started meanwhile waits for it or refuses, as it does beside another DVC command. Yields False,
        holding nothing, when a DVC command held it for ``timeout`` seconds (DVC tries for 3 seconds a time)."""
        with self.repo() as d:
            tmp, hardlink = d.tmp_dir, bool(d.config["core"].get("hardlink_lock", False))
        lock = dvc_lock.make_lock(os.path.join(tmp, "lock"), tmp_dir=tmp, hardlink_lock=hardlink)
        deadline = time.monotonic() + timeout
        while True:
            try:
                lock.lock()
                break
            except dvc_lock.LockError:
                if time.monotonic() >= deadline:
                    yield False
                    return
            except OSError as e:  # locked, and the pid it then writes refused: a full disk, which gc frees
                if e.errno not in NO_ROOM:
                    raise
                yield True  # unheld (closed with its file); a DVC command cannot write its downloads there either
                return
        try:
            yield True
        finally:
            lock.unlock()

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

    @staticmethod
    def warm_up() -> None:
        """Import what :meth:`record` uses (a tenth of a second in a new process), e.g. in a
        thread while a snapshot reads its input, so that committing does not wait for it."""
        _ = (dvc_tree.Tree, dvc_meta.Meta, dvc_hash_info.HashInfo, dvc_serialize.dumps_yaml)

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
            try:
                with naming(dest):
                    shutil.copyfile(src, tmp)
            except BaseException:  # a full disk: no partial copy left in the cache
                tmp.unlink(missing_ok=True)
                raise
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)

    @staticmethod
    def pointer_hash(git: Git, commit: str, pointer: str) -> str:
        """The ``.dir`` md5 the pointer file ``pointer`` (relative to git's top level) holds at ``commit``."""
        text = git.show(commit, pointer)
        md5 = listing_of(text, pointer) if text else None
        if not md5:
            raise NotARepoError(f"commit {commit[:12]} has no DVC pointer for the object store",
                                "the version was made by an interrupted snapshot; run `annover snapshot` again")
        return md5

    # ------------------------------------------------------------------ remotes

    def push(self, listings: list[str], remote: str | None, timeout: float | None = None,
             whole: bool = False) -> Moved:
        """Push the listings (``.dir`` md5s) the remote lacks, and the files they list.

        ``whole``: a listing on the remote counts only when the remote holds every file it lists
        (asked file by file): what repairs a remote that lost a file since the push.

        What ``git checkout REV && dvc push`` moves for each version, without reading that
        commit's DVC config (a remote added later would not be in it). Incremental: a
        listing on the remote means all its files are there (DVC's own rule), so it is
        skipped, and only the files the remote lacks are sent, each checked against its md5
        first (DVC skips a damaged cache copy in silence, and sends one it trusts by its
        mode). A listing goes last, once the remote is seen to hold every file it lists.
        """
        listings = list(dict.fromkeys(listings))
        with self._remote(remote, remote_timeout(timeout, TRANSFER_TIMEOUT)) as (d, odb):
            there = _on_remote(odb, listings)
            if whole:
                there -= self._incomplete(d.cache.local, odb, sorted(there))
            files, missing = self._listed(d.cache.local, [m for m in listings if m not in there])
            wanted = {hi.value: hi for fs in files.values() for hi in fs}
            lacking = set(wanted) - _on_remote(odb, list(wanted))
            damaged = self._damaged(d.cache.local, sorted(lacking))
            complete = [m for m in files if not any(hi.value in damaged for hi in files[m])]
            missing += [m for m in files if m not in complete]
            send = {hi.value: hi for m in complete for hi in files[m] if hi.value in lacking}
            n, absent = self._send_verified(odb, [send[oid] for oid in sorted(send)], d.cloud.push, remote)
            unconfirmed = {m: [hi.value for hi in files[m] if hi.value in absent] for m in complete}
            unconfirmed = {m: gone for m, gone in unconfirmed.items() if gone}
            ready = [m for m in complete if m not in unconfirmed]
            n += self._send(d.cloud.push, [_hash(m) for m in ready], remote, "push")
            held = _on_remote(odb, ready)
            unconfirmed |= {m: [m] for m in ready if m not in held}
        return Moved([m for m in ready if m in held], [m for m in listings if m in there], missing, n, damaged,
                     unconfirmed)

    @classmethod
    def _incomplete(cls, cache: Any, odb: Any, listings: list[str]) -> set[str]:
        """The listings on the remote of which it lacks a file (one the local cache can list)."""
        files, _ = cls._listed(cache, listings)
        held = _on_remote(odb, sorted({hi.value for fs in files.values() for hi in fs}))
        return {m for m, fs in files.items() if any(hi.value not in held for hi in fs)}

    @classmethod
    def _send_verified(cls, odb: Any, send: list[Any], push: Any, remote: str | None) -> tuple[int, set[str]]:
        """Push ``send``, then ask the remote for each: (files moved, those it does not hold).

        DVC skips a file its index of the remote says is there; when the remote lacks one
        anyway (deleted there since), that index is stale: it is cleared and the files sent again.
        """
        n = cls._send(push, send, remote, "push")
        absent = {hi.value for hi in send} - _on_remote(odb, [hi.value for hi in send])
        if absent:
            dvc_db.get_index(odb).clear()
            n += cls._send(push, [hi for hi in send if hi.value in absent], remote, "push")
            absent -= _on_remote(odb, sorted(absent))
        return n, absent

    @staticmethod
    def _damaged(cache: Any, oids: list[str]) -> dict[str, str]:
        """The objects whose copy in the local cache is missing or does not hash to its md5."""
        out = {}
        for oid in oids:
            actual = _md5_of(Path(cache.oid_to_path(oid)))
            if actual != oid:
                out[oid] = "missing" if actual is None else "corrupt"
        return out

    def pull(self, listings: list[str], remote: str | None, timeout: float | None = None,
             check: "Sequence[str]" = (), verify: Verify | None = None) -> Moved:
        """Fetch into the DVC cache the listings and listed files it lacks (see :meth:`push`).

        Listings whose files are all in the cache already are not asked for: with nothing
        to fetch, the remote is not contacted. A listing is read from the remote and checked
        (:func:`parse_listing`) before it is written to the cache, so a listing naming a path
        outside the store, or an md5 that is not one, stops the pull before any file is fetched.
        ``verify(listing, entries, fetch)`` then checks each listing against what its version
        names (``fetch(md5s)`` brings the objects the version's record names, its manifests),
        raising when they differ; False: it cannot tell, and the listing's files are not fetched.
        The files of the listings ``check`` (the one to be checked out, the version a pull names)
        are checked against their md5 first: a damaged copy is dropped from the cache and fetched
        again (what an error naming a corrupt object says to do: ``annover pull REV``).
        """
        listings = list(dict.fromkeys(listings))
        with self.repo() as d:
            cache = d.cache.local
            files, _ = self._listed(cache, [m for m in listings if cache.exists(m)])
            for oid in self._damaged(cache, list(dict.fromkeys(hi.value for m in check for hi in files.get(m, [])))):
                with contextlib.suppress(OSError):  # what DVC's own check does
                    Path(cache.oid_to_path(oid)).unlink()
            have = [m for m in files if all(cache.exists(hi.value) for hi in files[m])]
            todo = [m for m in listings if m not in have]
            if not todo:
                return Moved([], have, [], 0)
            odb = self._remote_odb(d, remote, remote_timeout(timeout, TRANSFER_TIMEOUT), must_exist=True)
            n = self._fetch_listings(d, odb, [m for m in todo if not cache.exists(m)], remote)

            def fetch(md5s: list[str]) -> None:
                nonlocal n
                n += self._send(d.cloud.pull, [_hash(m) for m in dict.fromkeys(md5s) if not cache.exists(m)],
                                remote, "pull")

            files, missing = self._listed(cache, todo)
            for m in list(files) if verify else []:
                if not verify(m, self._entries(cache, m), fetch):
                    missing.append(m)
                    del files[m]
            wanted = {hi.value: hi for fs in files.values() for hi in fs}
            fetch([oid for oid in wanted if not cache.exists(oid)])
            done = [m for m in files if all(cache.exists(hi.value) for hi in files[m])]
            missing += [m for m in files if m not in done]
        return Moved(done, have, missing, n)

    @staticmethod
    def _fetch_listings(d: Any, odb: Any, listings: list[str], remote: str | None) -> int:
        """Read each listing from the remote, check it, then write it to the cache; how many came."""
        n = 0
        for m in listings:
            try:
                data = odb.fs.cat_file(odb.oid_to_path(m))
            except FileNotFoundError:
                continue  # not on the remote: the caller counts it missing
            except Exception as e:  # DVC's filesystems raise many kinds
                raise RemoteError(f"the DVC remote {_label(d, remote)} failed: {first_line(e)}",
                                  _REMOTE_HINT) from None
            parse_listing(data, m)
            dest = Path(d.cache.local.oid_to_path(m))
            dest.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(dest, data)
            os.chmod(dest, 0o444)
            n += 1
        return n

    def listings_on_remote(self, listings: list[str], remote: str | None = None,
                           timeout: float | None = None) -> set[str]:
        """Which of the listings the remote has (a listing there means its files are there)."""
        with self._remote(remote, remote_timeout(timeout, REMOTE_TIMEOUT), must_exist=True,
                          offline=", `annover status --no-remote` does not ask") as (_, odb):
            return _on_remote(odb, list(dict.fromkeys(listings)))

    @contextmanager
    def _remote(self, remote: str | None, timeout: float, must_exist: bool = False,
                offline: str = "") -> Iterator[tuple[Any, Any]]:
        """DVC's repo and the remote's object DB, once the remote has answered (``offline``: the
        end of the hint when it does not: how to go on without it)."""
        with self.repo() as d:
            odb = self._remote_odb(d, remote, timeout, must_exist, offline)
            try:
                yield d, odb
            except AnnoverError:
                raise
            except Exception as e:  # DVC and its filesystems raise many kinds
                raise RemoteError(f"the DVC remote {_label(d, remote)} failed: {first_line(e)}",
                                  _REMOTE_HINT) from None

    @staticmethod
    def _remote_odb(d: Any, remote: str | None, timeout: float, must_exist: bool = False, offline: str = "") -> Any:
        """The remote's object DB, after it answered one question within ``timeout`` seconds.

        ``must_exist`` (status, pull): a folder remote that is not there is unreachable, not
        empty; it is what a clone on another machine sees of the default remote. An S3 remote
        whose bucket does not exist is refused for every command (S3 tells an empty prefix
        from it; a pull read it as a remote that lacked every version).
        """
        name = remote or d.config["core"].get("remote") or REMOTE
        section = dict(d.config["remote"].get(name, {}))
        url = str(section.get("url") or "")
        if url.startswith("file://"):  # set so by annover before 2026-12-04, or by hand
            raise RemoteError(f"the DVC remote '{name}' is {redact(url)}: DVC reads a file:// URL as a folder "
                              "named 'file:' inside the repository", _file_url_fix(d, name, url[len("file://"):]))
        try:
            root = d.cloud.get_remote(remote, "push").path
            odb = d.cloud.get_remote_odb(remote, "push")
        except Exception as e:
            raise RemoteError(f"no usable DVC remote: {first_line(e)}",
                              _PLUGIN_HINT if isinstance(e, ImportError) else
                              "set one with `annover init --remote URL` (see `dvc remote list`)") from None
        label = _label(d, remote)
        if _probe(odb.fs, root, label, timeout, endpoint(url, section), offline, name):
            return odb
        protocol = getattr(odb.fs, "protocol", "")
        if protocol == "local" and must_exist:
            raise RemoteUnreachableError(f"the DVC remote {label} is a folder that does not exist on this machine",
                                         f"point it at the shared copy, once per clone: "
                                         f"dvc remote add --local -f {name} URL")
        bucket = root.split("/", 1)[0]  # an empty prefix is an empty remote, but a missing bucket is none at all
        if protocol == "s3" and not _probe(odb.fs, bucket, label, timeout, None, offline, name):
            raise RemoteUnreachableError(f"the DVC remote {label}: the bucket {bucket} does not exist",
                                         f"check the URL (`dvc remote list`; once per clone: "
                                         f"dvc remote add --local -f {name} URL), or create the bucket")
        return odb

    @classmethod
    def _listed(cls, cache: Any, listings: list[str]) -> tuple[dict[str, list[Any]], list[str]]:
        """The files each listing in the local cache names, each entry checked (:func:`parse_listing`);
        the listings not in the cache."""
        files: dict[str, list[Any]] = {}
        missing: list[str] = []
        for m in listings:
            try:
                files[m] = [_hash(md5) for md5 in cls._entries(cache, m).values()]
            except FileNotFoundError:
                missing.append(m)
        return files, missing

    @staticmethod
    def _entries(cache: Any, listing: str) -> dict[str, str]:
        """The checked ``{relpath: md5}`` entries of a listing in the cache (FileNotFoundError: not there)."""
        return parse_listing(Path(cache.oid_to_path(listing)).read_bytes(), listing)

    @staticmethod
    def _send(fn: Any, objs: list[Any], remote: str | None, verb: str) -> int:
        if not objs:
            return 0
        failures = _Failures()
        try:
            with failures:
                r = fn(objs, remote=remote)
        except AnnoverError:
            raise
        except Exception as e:  # DVC and its filesystems raise many kinds
            raise RemoteError(f"dvc {verb} failed: {first_line(e)}", _REMOTE_HINT) from None
        if r.failed:
            failures.refused(len(r.failed), verb)
            raise RemoteError(f"{len(r.failed)} file(s) failed to {verb}{failures.why()}",
                              "check the DVC remote and run the command again (what moved stays moved)")
        return len(r.transferred)

    def checkout(self, pointer: Path, folder: Path, listing: str, expected: dict[str, str], what: str) -> None:
        """``dvc checkout --force POINTER``, once the pointer and its listing are what annover makes.

        The pointer must record one output, ``folder``, the listing ``listing`` (what the
        version's commit records) and nothing else; the listing (in the cache) must name exactly
        ``expected`` (``{relpath: md5}``, from the version's manifests; ``what`` names the
        version). Otherwise an ObjectError says what differs, and nothing is written. A file DVC
        then cannot check out (its ``CheckoutError``: missing from the cache, or a damaged copy
        it drops) is a RemoteError.
        """
        recorded = self._pointer_listing(pointer, folder)
        if recorded != listing:
            raise ObjectError(f"refused {self.path(pointer)}: it records the listing {recorded}, the commit that made "
                              f"{what} records {listing}; nothing was written",
                              f"put the committed one back (git checkout HEAD -- {self.path(pointer)}) if you did not "
                              "change it on purpose")
        with self.repo() as d:
            try:
                data = Path(d.cache.local.oid_to_path(listing)).read_bytes()
            except FileNotFoundError:
                raise RemoteError(f"the DVC listing {listing} of {what} is not in the DVC cache",
                                  "fetch it: annover pull") from None
            check_listing(parse_listing(data, listing), expected, f"the DVC listing {listing} of {what}")
            try:
                d.checkout(targets=[self.path(pointer)], force=True)
            except ImportError as e:  # DVC builds the remote's file system for a checkout too: its plugin missing
                raise RemoteError(f"no usable DVC remote: {first_line(e)}", _PLUGIN_HINT) from None
            except dvc_exceptions.CheckoutError as e:
                failed = (getattr(e, "result", None) or {}).get("failed") or e.target_infos
                raise RemoteError(f"DVC could not check out {len(failed)} path(s) of {what} "
                                  f"({', '.join(map(str, failed[:3]))}): the DVC cache lacks their files or "
                                  "held damaged copies", "run `annover pull` again (DVC dropped the damaged copies); "
                                  "if the remote lacks them, push them from a clone that has them") from None

    def _pointer_listing(self, pointer: Path, folder: Path) -> str:
        """The listing ``pointer`` records, once it is seen to hold the one output ``folder`` and no more."""
        where = self.path(pointer)

        def refuse(what: str) -> ObjectError:
            return ObjectError(f"refused {where}: {what}; nothing was written", TAMPERED)

        try:
            doc = dvc_serialize.parse_yaml(pointer.read_text(encoding="utf-8"), where)
        except (OSError, UnicodeDecodeError, dvc_serialize.ParseError):
            raise refuse("it is not DVC's YAML") from None
        outs = doc.get("outs") if isinstance(doc, dict) else None
        if not isinstance(outs, list) or len(outs) != 1 or not isinstance(outs[0], dict) or set(doc) != {"outs"}:
            raise refuse("it is not one output and nothing else (as annover writes it)")
        out = outs[0]
        if set(out) - _POINTER_KEYS:
            raise refuse(f"its output has {', '.join(sorted(map(str, set(out) - _POINTER_KEYS)))}, "
                         "which annover does not write")
        path = Path(os.path.relpath(folder, pointer.parent)).as_posix()
        if out.get("path") != path:
            raise refuse(f"its output is {shown(out.get('path'))}, not {path!r}")
        md5 = out.get(HASH_NAME)
        if not isinstance(md5, str) or not md5.endswith(DIR_SUFFIX) or not MD5_RE.fullmatch(md5[:-len(DIR_SUFFIX)]):
            raise refuse(f"its md5 {shown(md5)} is not a listing's (32 hex digits and .dir)")
        return md5

    def has_default_remote(self) -> bool:
        with self.repo() as d:
            repo_conf, local_conf = d.config.load_one("repo"), d.config.load_one("local")
        return bool(repo_conf.get("core", {}).get("remote") or local_conf.get("core", {}).get("remote"))

    def set_remote(self, url: str, options: dict[str, str]) -> str:
        """Make ``url`` the default remote ``annover``. A message.

        Credentials never reach the committed ``.dvc/config``: options that hold one (see
        :func:`is_secret_option`) and a ``user:password@`` taken out of the URL (see
        :func:`split_userinfo`) go to ``.dvc/config.local``, as ``dvc remote modify --local`` does.
        """
        url, from_url = split_userinfo(url)
        public, secret = split_options(url, options)
        in_urls = sorted(k for k in secret if k in public)
        secret |= from_url
        kept: list[str] = []
        with self.repo() as d:
            before = str(d.config["remote"].get(REMOTE, {}).get("url") or "")
            with d.config.edit("local") as conf:  # first out, so that DVC checks the new remote without them
                if conf.get("core", {}).get("remote") == LOCAL_REMOTE:
                    del conf["core"]["remote"]  # the named remote replaces our local default
                former = {k: v for k, v in (conf.setdefault("remote", {}).pop(REMOTE, None) or {}).items() if k != "url"}
            if before and scheme(before) == scheme(url):  # the same type: its credentials still apply
                kept = sorted(former.keys() - secret.keys())
                secret = {**{k: former[k] for k in kept}, **secret}
            with d.config.edit("repo") as conf:
                conf.setdefault("remote", {})[REMOTE] = {"url": url, **public}
                conf.setdefault("core", {})["remote"] = REMOTE
            if secret:  # another type's options are dropped: DVC refuses options not of a remote's type
                with d.config.edit("local") as conf:
                    conf.setdefault("remote", {})[REMOTE] = secret
                with contextlib.suppress(OSError):  # DVC writes it 0644: every user of the machine reads the keys
                    os.chmod(d.config.files["local"], 0o600)
        if is_local_url(url):  # made now, so that "not there" means another machine (see _remote_odb)
            written_folder(url).mkdir(parents=True, exist_ok=True)
        said = [f"DVC remote '{REMOTE}' -> {url} (default)"]
        if kept:
            said.append(f"kept {', '.join(kept)} from .dvc/config.local (git-ignored)")
        if from_url:
            said.append(f"the credentials in the URL went to .dvc/config.local (git-ignored) as "
                        f"{', '.join(from_url)}, not to .dvc/config")
        if in_urls:
            said.append(f"the credentials in the URL of {', '.join(in_urls)} went to .dvc/config.local (git-ignored); "
                        ".dvc/config has the URL without them")
        if only_local := sorted(secret.keys() - from_url.keys() - set(in_urls)):
            said.append(f"{', '.join(only_local)}: in .dvc/config.local (git-ignored) "
                        "only; set them in each clone with `dvc remote modify --local`")
        return "\n".join(said)  # a folder named on purpose: no warning, as `dvc remote add` gives none

    def set_local_remote(self, where: Path) -> str:
        """Make the folder ``where`` the default remote ``annover``, in ``.dvc/config`` (committed).

        Committed from the first commit on, so every version's commit names the remote: a
        clone on this machine pulls any version with plain ``dvc pull``, and a clone
        elsewhere points the one name at a shared copy once (``dvc remote add --local``).
        A message that says the folder is on this machine only.
        """
        where.mkdir(parents=True, exist_ok=True)
        with self.repo() as d:
            with d.config.edit("repo") as conf:
                conf.setdefault("remote", {})[REMOTE] = {"url": str(where)}
                conf.setdefault("core", {})["remote"] = REMOTE
        return f"DVC remote '{REMOTE}' -> {where} (default)\n" + this_machine_warning(RemoteInfo(REMOTE, str(where)))

    def remote_fs_args(self) -> dict[str, Any]:
        """The fsspec options DVC opens the default remote with (an S3 endpoint, region, profile
        or keys from DVC's config and its local config), for readers that go there without DVC;
        {} where there are none."""
        try:
            with self.repo() as d:
                fs = d.cloud.get_remote_odb(None, "push").fs
                return dict(getattr(fs, "fs_args", None) or {})
        except (OSError, NotARepoError):  # DVC cannot open a checkout it may not write (.dvc/tmp, its site
            return self.configured_fs_args()  # cache): the options its config files give, read without it
        except Exception:  # no remote, or one DVC cannot open: the reader says what is wrong
            return {}

    def configured_fs_args(self) -> dict[str, Any]:
        """:meth:`remote_fs_args` from DVC's config files (:meth:`configured_remote`), without opening
        DVC's repository (a read-only checkout DVC never opened has no ``.dvc/tmp``, and DVC refuses
        it): DVC's remote class makes them of the remote's section (an S3 ``endpointurl`` is
        ``client_kwargs.endpoint_url``), as it does for DVC's repository. {} where there is no remote,
        or DVC's schema refuses its options (the reader says what is wrong then; no option's value,
        a key perhaps, is put in an error here)."""
        conf = self._merged_config()
        core = conf.get("core") if conf else None
        name = core.get("remote") if isinstance(core, dict) else None
        if not name or not isinstance(name, str):
            return {}
        try:
            cls, options, _ = dvc_fs.get_cloud_fs(conf, name=name)
            return dict(getattr(cls(**options), "fs_args", None) or {})
        except Exception:  # an option DVC's schema refuses, a remote type whose plugin is not installed
            return {}

    def _merged_config(self) -> dict | None:
        """DVC's config as it merges its files (system, global, repo, local: later ones winning), read
        without importing DVC; None where a file does not parse."""
        conf: dict = {}
        for path in self.config_files():
            one = _config_file(path)
            if one is None:
                return None
            _merge(conf, one)
        return conf

    def configured_remote(self, name: str | None = None) -> RemoteInfo | None:
        """Remote ``name`` (None: the default one) as :meth:`remote_info` gives it, read from DVC's config files without
        importing DVC (``status --no-remote``: a tenth of a second or two): system, global, repo
        and local config, later ones winning, as DVC merges them; None where none is set or a file
        does not parse. Unlike DVC, options its schema would refuse are not checked."""
        conf = self._merged_config()
        if conf is None:
            return None
        core = conf.get("core")
        name = name or (core.get("remote") if isinstance(core, dict) else None)
        if not name or not isinstance(name, str):
            return None
        section = conf.get("remote", {}).get(name)
        url = section.get("url") if isinstance(section, dict) else None
        return RemoteInfo(name, redact(url) if isinstance(url, str) and url else None)

    def remote_info(self, name: str | None = None) -> RemoteInfo | None:
        """Remote ``name`` (None: the default one), or None (none set, or DVC cannot read its config)."""
        try:
            with self.repo() as d:
                name = name or d.config["core"].get("remote")
                if not name:
                    return None
                url = d.config["remote"].get(name, {}).get("url")
        except (OSError, NotARepoError):  # DVC cannot open a checkout it may not write (.dvc/tmp, its site
            return self.configured_remote(name)  # cache): the remote its config files name, read without DVC
        except Exception:  # a broken config is reported by the commands that need the remote
            return None
        return RemoteInfo(name, redact(url) if url else None)
