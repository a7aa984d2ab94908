"""``annover gc``: drop from the local DVC cache the objects no reachable version needs.

Each version's objects are recorded as one DVC listing (the ``.dir`` file ``objects.dvc``
names at the version's commit). gc works from those listings and the cache, not from
annover's manifests, so it holds for any layout of a version's objects (a kept version
whose listing is not in this cache is the one case where it asks the repository what the
version needs: a clone that pulled some of its objects as another version's).

Kept (never removed), whatever else happens:

- the listing and every listed object of each version a user can still name: the
  versions whose records HEAD's tree holds (its history), those of every ref's tip
  (branches, remote-tracking branches, tags, the stash, any other ref; git's tags and
  annover's tag files, also a tag on a version ``annover reset`` dropped), of every
  worktree's HEAD, of every commit only git's reflogs still reach (a ``git reset --hard``,
  a deleted branch: ``git gc`` keeps those until the entries expire, and so does this),
  and what :func:`annover.repo.remote.reachable` gives;
- what ``git checkout REF && dvc checkout`` needs for each of those commits (the listing
  its ``objects.dvc`` names, as ``dvc gc --all-branches --all-tags`` keeps for the refs);
- every file of the cache that is not annover's: whatever the ``.dvc`` and ``dvc.lock``
  files of any commit on any ref or reflog, or of the work tree, name, and everything a
  listing that is not annover's lists (source data, the user's own DVC outputs).

What may go: annover's listings of the versions no one can name any more (dropped by
``annover reset``, left by a killed snapshot, on a branch that was deleted once the
reflog no longer has it) and the objects they list that nothing kept lists; and DVC's
half-written downloads a pull cut short left (``ab/.NAME.tmp``), as ``dvc gc`` removes. Listed objects
go first and their listing last, so a gc cut short leaves a listing the next one finds
again. The DVC remote is not touched.

A DVC cache outside the repository (``dvc cache dir``) may be shared by other clones, whose
versions this one cannot see: removing from it needs ``shared_cache`` (``--shared-cache``).

It runs under the repository lock, and the locks of the other worktrees (one sharing this
cache may be writing a version whose commit does not exist yet), and refuses (exit 6) a
repository with pending state (a command killed while writing since it was opened, here or
in another worktree, annover's files in the work tree or git's index differing from HEAD's
commit): reachability is read from the commits.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from annover.errors import AnnoverError, LockError, NotARepoError, UsageError
from annover.repo.core import RepoCore, lock_timeout
from annover.repo.remote import commit_memo, own_commits, pull_lock, reachable
from annover.store import dvc as dvc_adapter
from annover.store.git import run_git
from annover.store.memo import CommitMemo, WalkMemo, memo_name
from annover.store.refs import RepoLock, flock_within, is_version_id

__all__ = ["GcResult", "gc"]

#: ``progress(step, done, total)``
Progress = Callable[[str, int, int], None]

_DIR = ".dir"
_MD5_RE = re.compile(r"[0-9a-f]{32}")
#: an entry of annover's object store in a listing: the sha256 of the object, as oid[:2]/oid[2:]
_ENTRY_RE = re.compile(r"[0-9a-f]{2}/[0-9a-f]{62}")
#: an md5 (or a listing's) anywhere in a DVC file's text: kept however the file's format names it
_MD5_TOKEN = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?:\.dir)?(?![0-9a-f])")
_SHA_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
#: DVC's repository lock, as its commands name it (relative to the DVC root)
DVC_LOCK = ".dvc/tmp/lock"
_STATUS_HINT = "run `annover status` (opening the repository repairs what a killed command left), then gc again"


def _noop(_: str, __: int, ___: int) -> None:
    pass


@dataclass(frozen=True)
class GcResult:
    """``annover gc``: the cache files removed (``done``) or that would be (a dry run).

    ``objects``: md5 -> size of each cache file (a listing's md5 ends in ``.dir``);
    ``freed``: the bytes the disk gets back (a file still hard-linked elsewhere frees
    nothing); ``view``: files of the working store removed with them; ``kept``: the versions
    kept; ``dropped``: versions (known to git's history) whose listing goes; ``not_here``:
    kept versions whose listing is not in the local cache (nothing of theirs is known here
    to keep; ``annover pull`` fetches them whole); ``reflog_only``: kept versions that only
    git's reflogs still reach (``git reflog expire`` lets gc remove them); ``partial``: DVC's
    half-written downloads in the cache (path in it -> bytes), which go too.
    """

    done: bool
    objects: dict[str, int]
    freed: int
    view: list[str]
    kept: list[str]
    dropped: list[str]
    not_here: list[str]
    cache: str
    tags: dict[str, list[str]] = field(default_factory=dict)
    shared: bool = False  # the cache is outside the repository: other clones may use it
    reflog_only: list[str] = field(default_factory=list)  # kept versions only git's reflogs reach
    partial: dict[str, int] = field(default_factory=dict)  # DVC's downloads a pull cut short: path -> bytes

    @property
    def bytes(self) -> int:
        return sum(self.objects.values())

    @property
    def listings(self) -> list[str]:
        return sorted(m for m in self.objects if m.endswith(_DIR))

    def to_json(self) -> dict:
        return {"dry_run": not self.done, "done": self.done, "objects": len(self.objects),
                "listings": len(self.listings), "bytes": self.bytes, "bytes_freed": self.freed,
                "versions_kept": len(self.kept), "kept": self.kept, "dropped": self.dropped,
                "not_here": self.not_here, "reflog_only": self.reflog_only, "view_files": len(self.view),
                "partial_downloads": len(self.partial), "partial_download_bytes": sum(self.partial.values()),
                "cache": self.cache, "cache_outside_repo": self.shared,
                "remote": "not touched", "md5s": sorted(self.objects)}


# ---------------------------------------------------------------------------- the cache


def _path(cache: Path, md5: str) -> Path:
    return cache / md5[:2] / md5[2:]


def read_listing(cache: Path, md5: str) -> dict[str, str] | None:
    """relpath -> md5 of the ``.dir`` listing ``md5`` in the cache (None: not there, or not a listing)."""
    if not (md5.endswith(_DIR) and _MD5_RE.fullmatch(md5[:-len(_DIR)])):
        return None
    try:
        data = json.loads(_path(cache, md5).read_bytes())
    except (OSError, ValueError):
        return None
    out: dict[str, str] = {}
    for e in data if isinstance(data, list) else [None]:
        rel, m = (e.get("relpath"), e.get("md5")) if isinstance(e, dict) else (None, None)
        if not isinstance(rel, str) or not isinstance(m, str) or not _MD5_RE.fullmatch(m):
            return None
        out[rel] = m
    return out


def listings_in(cache: Path, progress: Progress = _noop) -> list[str]:
    """Every ``.dir`` file of the md5 cache (annover's listings and any other DVC directory's)."""
    out = []
    subs = sorted(os.scandir(cache), key=lambda e: e.name) if cache.is_dir() else []
    for i, sub in enumerate(subs):
        progress("scanning the DVC cache", i, len(subs))
        if len(sub.name) != 2 or not sub.is_dir():
            continue
        out += [sub.name + f.name for f in os.scandir(sub.path)
                if f.name.endswith(_DIR) and _MD5_RE.fullmatch(sub.name + f.name[:-len(_DIR)])]
    progress("scanning the DVC cache", len(subs), len(subs))
    return sorted(out)


def partial_downloads(cache: Path) -> dict[Path, int]:
    """DVC's temporary files in the md5 cache (``ab/.NAME.tmp``) -> their bytes: downloads a pull or
    fetch cut short (Ctrl-C, a killed process) left half written, which DVC removes only in ``dvc gc``
    and a pull run again does not see."""
    out: dict[Path, int] = {}
    for sub in sorted(cache.glob("??")) if cache.is_dir() else []:
        for f in sub.glob(".*.tmp"):
            if dvc_adapter.DVC_TMP.fullmatch(f.name):
                with contextlib.suppress(FileNotFoundError):  # a download that finished meanwhile
                    out[f] = f.lstat().st_size
    return out


def is_annover_listing(entries: dict[str, str]) -> bool:
    """A listing of annover's object store: every entry is a sharded sha256 (``ab/cdef...``)."""
    return bool(entries) and all(_ENTRY_RE.fullmatch(r) for r in entries)


# ---------------------------------------------------------------------------- git


def _tips(repo: RepoCore) -> dict[str, str]:
    """ref -> commit for every ref (branches, remote-tracking branches, tags peeled, the stash,
    any other), this worktree's HEAD and every other worktree's (``worktrees/NAME/HEAD``)."""
    out = repo.git("for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)", check=False)
    tips = {}
    for ln in out.splitlines():
        ref, obj, peeled = ln.split("\0")
        tips[ref] = peeled or obj
    path = ""
    for ln in repo.git("worktree", "list", "--porcelain", check=False).splitlines():
        if ln.startswith("worktree "):
            path = ln[len("worktree "):]
        elif ln.startswith("HEAD ") and _SHA_RE.fullmatch(ln[5:]):
            tips[f"worktree {path}"] = ln[5:]
    head = repo.head_commit()
    if head:
        tips["HEAD"] = head
    return tips


def _reflog_only(repo: RepoCore) -> list[str]:
    """The commits only git's reflogs (of every ref and worktree) still reach: a ``git reset
    --hard``'s, a deleted branch's, a commit a checkout left behind. ``git gc`` keeps them until
    the entries expire (``gc.reflogExpireUnreachable``); ``git reset --hard HEAD@{1}`` brings one
    back."""
    return repo.git("rev-list", "--reflog", "--not", "--all", check=False).split()


def _adders(memo: CommitMemo, listed: list[str] | None = None) -> dict[str, list[str]]:
    """Version id -> every commit that added its record, over every ref's history (every worktree's
    HEAD too) and the reflogs (newest first): the reflogs name versions that only they still hold.
    One most days; more where a commit on another ref adds the record again (a cherry-pick, someone
    else's branch), whose pointer may name another listing: each one's listing is kept. Only the
    commits the memo has not seen are diffed (none most days: status, push and pull saw them)."""
    out = memo.adders("--all", "--reflog", listed=listed)
    memo.save()
    return out


def _records_at(repo: RepoCore, commits: Iterable[str]) -> set[str]:
    """The version ids whose records the trees of ``commits`` hold (one ``cat-file --batch``)."""
    todo = sorted(set(commits))
    if not todo:
        return set()
    vdir = repo.rel(repo.dir / "versions")
    data = run_git(["cat-file", "--batch"], repo.toplevel, input="".join(f"{c}:{vdir}\n" for c in todo).encode(),
                   check=False)
    return _parse_trees(data, len(todo))


def _parse_trees(data: bytes, n: int) -> set[str]:
    """Version ids named in ``n`` tree objects of ``git cat-file --batch`` output."""
    out: set[str] = set()
    pos = 0
    for _ in range(n if data else 0):
        nl = data.index(b"\n", pos)
        header = data[pos:nl].split()
        pos = nl + 1
        if len(header) != 3 or not header[2].isdigit():
            continue  # "<spec> missing"
        size, oid_len = int(header[2]), len(header[0]) // 2
        body, pos = data[pos:pos + size], pos + size + 1
        if header[1] != b"tree":
            continue
        i = 0
        while i < len(body):
            nul = body.index(b"\0", i)
            name = body[body.index(b" ", i) + 1:nul].decode("utf-8", "replace")
            i = nul + 1 + oid_len
            if name.endswith(".json") and is_version_id(name[:-5]):
                out.add(name[:-5])
    return out


def _pointers(repo: RepoCore, commits: Iterable[str]) -> dict[str, str | None]:
    """commit -> the listing its ``objects.dvc`` names (None: none there)."""
    todo = sorted(set(commits))
    pointer = repo.rel(repo.dir / "objects.dvc")
    out: dict[str, str | None] = {}
    for c, blob in zip(todo, repo.scm.blobs([f"{c}:{pointer}" for c in todo])):
        try:
            out[c] = dvc_adapter.listing_of(blob.decode("utf-8", "replace"), f"{c[:12]}:{pointer}") if blob else None
        except AnnoverError:  # a malformed md5: names nothing
            out[c] = None
    return out


def _dvc_specs(repo: RepoCore) -> tuple[str, ...]:
    """The ``.dvc`` and ``dvc.lock`` files other than annover's pointer, as git pathspecs."""
    return "*.dvc", "*dvc.lock", f":(exclude){repo.rel(repo.dir / 'objects.dvc')}"


def _dvc_md5s_of(repo: RepoCore, commits: list[str]) -> dict[str, list[str]]:
    """commit -> the md5s (and listings) named by the ``.dvc`` and ``dvc.lock`` files it adds or
    changes (against each parent: ``-m``; every file of a root commit)."""
    out = repo.git("log", "--no-walk=unsorted", "--stdin", "-m", "--diff-filter=AMRCT", "--format=commit %H",
                   "--name-only", "--", *_dvc_specs(repo), input="".join(f"{c}\n" for c in commits).encode(),
                   check=False)
    specs: dict[str, str] = {}  # commit:path -> commit
    commit = ""
    for line in out.splitlines():
        if line.startswith("commit "):
            commit = line[7:].strip()
        elif line and commit:
            specs[f"{commit}:{line}"] = commit
    found: dict[str, set[str]] = {}
    for spec, blob in zip(specs, repo.scm.blobs(list(specs))):
        if blob:
            found.setdefault(specs[spec], set()).update(_MD5_TOKEN.findall(blob.decode("utf-8", "replace")))
    return {c: sorted(m) for c, m in found.items()}


def _dvc_file_md5s(repo: RepoCore, listed: list[str] | None = None) -> set[str]:
    """Every md5 (and listing) a ``.dvc`` or ``dvc.lock`` file other than annover's pointer names,
    in any commit on any ref or reflog or in the work tree: the user's own DVC data, kept whatever
    it is. What each commit's files name is remembered in the git dir (``annover-dvc-files``, as
    :class:`~annover.store.memo.CommitMemo`): only commits not seen before are diffed and read.
    ``listed``: ``git rev-list --all --reflog``, had already."""
    memo = WalkMemo(repo.scm, memo_name(f"{repo.rel(repo.dir / 'versions')}/", "annover-dvc-files"),
                    "dvc-files\t" + "\t".join(_dvc_specs(repo)), lambda commits: _dvc_md5s_of(repo, commits))
    out = {m for c in memo.walk("--all", "--reflog", listed=listed) for m in memo.words(c)}
    memo.save()
    for rel in repo.git("ls-files", "-z", "-c", "-o", "--exclude-standard", "--", *_dvc_specs(repo),
                        check=False).split("\0"):
        with contextlib.suppress(OSError):  # a file, not a link to /dev/zero a clone holds (all memory taken)
            if rel and stat.S_ISREG((repo.toplevel / rel).stat().st_mode):
                out.update(_MD5_TOKEN.findall((repo.toplevel / rel).read_bytes().decode("utf-8", "replace")))
    return out


# ---------------------------------------------------------------------------- what stays


@dataclass
class _Plan:
    """What gc found: the versions kept, the cache's listings, the md5s kept and what may go."""

    cache: Path
    kept: set[str] = field(default_factory=set)
    listing_of: dict[str, str | None] = field(default_factory=dict)  # version id -> its listing
    listings: dict[str, dict[str, str] | None] = field(default_factory=dict)  # in the cache
    keep: set[str] = field(default_factory=set)
    not_here: list[str] = field(default_factory=list)
    reflog_only: list[str] = field(default_factory=list)  # kept: only git's reflogs reach them
    garbage: dict[str, int] = field(default_factory=dict)  # md5 -> size


def _kept_versions(repo: RepoCore, tips: dict[str, str], memo: CommitMemo) -> set[str]:
    """Every version a user can still name: HEAD's, every branch's and tag's records, the tags'
    versions (git's and annover's tag files, also a tag on a version a reset dropped), what
    :func:`reachable` gives (the versions push and status count) and HEAD's own."""
    kept = _records_at(repo, tips.values()) | set(reachable(repo, pointers=False, memo=memo))
    kept |= set(repo.tags().values()) | set(repo.refs.tags().values())
    kept |= {v for m in repo.moved_tags() for v in (m.recorded, m.now) if v}  # either side of a moved tag
    for vid in (repo.head(), repo.committed_head()):
        if vid:
            kept.add(vid)
    return kept


def _plan(repo: RepoCore, progress: Progress) -> _Plan:
    """Read the versions, the listings and the cache; decide what stays and what may go."""
    plan = _Plan(repo.dvc.cache_dir())
    tips, memo = _tips(repo), commit_memo(repo)
    plan.kept = _kept_versions(repo, tips, memo)
    lost = _reflog_only(repo)
    plan.reflog_only = sorted(_records_at(repo, lost) - plan.kept)
    plan.kept |= set(plan.reflog_only)
    every = repo.git("rev-list", "--all", "--reflog", check=False).split()  # walked once for both memos
    adders = _adders(memo, every)
    pointers = _pointers(repo, [*(c for cs in adders.values() for c in cs), *tips.values(), *lost])
    plan.listing_of = {vid: pointers.get(c) for vid, c in own_commits(repo, memo, adders).items()}
    memo.save()  # which version the HEAD files of commits adding a record again name
    work = dvc_adapter.tracked_md5(repo.dir / "objects")  # the work tree's pointer (= HEAD's, checked)
    keep_listings = {pointers.get(c) for v in plan.kept for c in adders.get(v, [])} | {work}
    keep_listings |= {pointers.get(c) for c in [*tips.values(), *lost]}
    keep_listings.discard(None)
    names = listings_in(plan.cache, progress)
    for i, m in enumerate(names):
        progress("reading listings", i, len(names))
        plan.listings[m] = read_listing(plan.cache, m)
    progress("reading listings", len(names), len(names))
    ours = {m for m, e in plan.listings.items() if e is not None and is_annover_listing(e)}
    ours |= {m for m in plan.listing_of.values() if m in plan.listings}
    plan.keep = set(keep_listings) | _dvc_file_md5s(repo, every)
    for m, entries in plan.listings.items():  # a listing kept, or not annover's: all it lists stays
        if entries is not None and (m in keep_listings or m in plan.keep or m not in ours):
            plan.keep |= set(entries.values())
    _keep_unlisted(repo, plan)
    _garbage(plan, ours)
    return plan


def _keep_unlisted(repo: RepoCore, plan: _Plan) -> None:
    """Kept versions whose listing is not in the cache: keep what annover says they need, if it
    can say (a clone that pulled some of a version's objects as another version's)."""
    for vid in sorted(plan.kept):
        lst = plan.listing_of.get(vid)
        if lst is not None and plan.listings.get(lst) is not None:
            continue
        plan.not_here.append(vid)
        with contextlib.suppress(AnnoverError):
            plan.keep |= {r.md5 for r in repo.objects_of(repo.version(vid))}


def _garbage(plan: _Plan, ours: set[str]) -> None:
    """The cache files that may go: annover's listings no kept version names, and what they list
    that nothing kept lists; listed objects before their listing."""
    gone = sorted(m for m in ours if m not in plan.keep)
    for m in gone:
        for md5 in sorted(set((plan.listings[m] or {}).values())):
            if md5 not in plan.keep and md5 not in plan.garbage:
                with contextlib.suppress(FileNotFoundError):
                    plan.garbage[md5] = _path(plan.cache, md5).stat().st_size
    for m in gone:
        with contextlib.suppress(FileNotFoundError):
            plan.garbage[m] = _path(plan.cache, m).stat().st_size


def _view_files(repo: RepoCore, plan: _Plan) -> list[Path]:
    """Files of the working store holding an object that goes (a hard link keeps its bytes): only
    the store's own paths (``ab/<62 hex>``); a listing naming others (``../x``, ``/home/u/x``: DVC
    checks no path of a listing it fetches) names nothing of the store."""
    gone_rel = {rel for m in plan.garbage if m.endswith(_DIR) for rel, md5 in (plan.listings[m] or {}).items()
                if md5 in plan.garbage and _ENTRY_RE.fullmatch(rel)}
    objdir = repo.dir / "objects"
    return [objdir / rel for rel in sorted(gone_rel) if (objdir / rel).is_file()]


# ---------------------------------------------------------------------------- pending state


def check_settled(repo: RepoCore, held: RepoLock) -> None:
    """Refuse (exit 6) a repository whose state is not the committed one: gc reads what the
    commits reach, and must not remove what an unfinished command wrote."""
    if held.inherited or repo.scm.interrupted():
        raise NotARepoError("an interrupted annover command left the repository half-written", _STATUS_HINT)
    failed = [n for n in repo.recovered if n.startswith("could not repair")]
    if failed:
        raise NotARepoError(failed[0], _STATUS_HINT)
    repo.check_no_git_operation()  # a merge's conflict in annover's files: restoring them by hand is not the fix
    if repo.scm.shallow():  # the commits of older versions are not here: what their listings are is not known
        raise NotARepoError("this git clone is shallow (git clone --depth): the commits of older versions are not "
                            "here, so gc cannot tell which objects they need", "run `git fetch --unshallow`, then gc")
    commit = repo.head_commit()
    for name in ("HEAD", "objects.dvc"):
        path = repo.dir / name
        committed = repo.scm.show(commit, repo.rel(path)) if commit else None
        try:
            here: str | None = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            here = None
        if (committed or None) != (here or None):
            raise NotARepoError(f"{repo.rel(path)} differs from git's HEAD commit (a snapshot that did not finish, "
                                "or an edit by hand)",
                                f"restore it: git checkout HEAD -- {repo.rel(path)} && dvc checkout, then run gc again")
    if repo.scm.index_differences(repo.rel(repo.dir)):
        raise NotARepoError(f"git's index stages changes to annover's files ({repo.rel(repo.dir)})",
                            f"unstage them: git restore --staged {repo.rel(repo.dir)}, then run gc again")


# ---------------------------------------------------------------------------- removing


def bytes_freed(paths: Iterable[Path]) -> int:
    """The bytes removing ``paths`` gives back: a file's size once all its hard links are among them."""
    by_inode: dict[tuple[int, int], list[os.stat_result]] = {}
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            st = p.lstat()
            by_inode.setdefault((st.st_dev, st.st_ino), []).append(st)
    return sum(sts[0].st_size for sts in by_inode.values() if len(sts) >= sts[0].st_nlink)


def _remove(paths: list[Path], progress: Progress) -> None:
    """Unlink ``paths`` in order (objects before their listings), then the folders left empty."""
    for i, p in enumerate(paths):
        progress("removing", i, len(paths))
        p.unlink(missing_ok=True)
    progress("removing", len(paths), len(paths))
    for d in sorted({p.parent for p in paths}):
        with contextlib.suppress(OSError):
            d.rmdir()


def outside(repo: RepoCore, cache: Path) -> bool:
    """Whether the DVC cache is outside the repository's own ``.dvc/cache`` (``dvc cache dir``):
    other clones or projects may use it, and what they need is not known here."""
    own = (repo.dvc_root / dvc_adapter.DVC_DIR / "cache").resolve()
    return not cache.resolve().is_relative_to(own)


def _take_lock(repo: RepoCore, stack: contextlib.ExitStack, force: bool) -> RepoLock:
    """The repository lock, held until ``stack`` closes. A dry run on a repository that cannot be
    written (a read-only mount, where no command can change it either) reads it without the lock,
    as the other reading commands do; ``--force`` there is refused (exit 6)."""
    try:
        return stack.enter_context(repo.lock())
    except NotARepoError:  # the lock file cannot be made or opened for writing
        if force:
            raise
        unlocked = RepoLock(repo.dir / "lock", 0)
        unlocked.inherited = unlocked.left_by_dead_writer()
        return unlocked


def _dvc_lock(repo: RepoCore, stack: contextlib.ExitStack) -> None:
    """DVC's repository lock, held until ``stack`` closes, as ``dvc gc`` holds it: a ``dvc pull`` (or any
    DVC command) running here writes temporary files into the cache that gc would take for the leftovers
    of a pull cut short. Waited for as the repository lock is, then exit 9."""
    if not stack.enter_context(repo.dvc.locked(lock_timeout())):
        raise LockError(f"a DVC command (dvc pull, dvc gc...) holds DVC's lock ({DVC_LOCK}): gc would remove the "
                        "files it is downloading", "wait for it to finish and run gc again")


def _other_worktrees(repo: RepoCore) -> list[Path]:
    """The annover folders of the repository's other worktrees (``git worktree add``) that exist."""
    rel, here, out = repo.rel(repo.dir), repo.toplevel.resolve(), []
    for ln in repo.git("worktree", "list", "--porcelain", check=False).splitlines():
        top = Path(ln[len("worktree "):]) if ln.startswith("worktree ") else None
        if top is not None and top.resolve() != here and (top / rel / "config.json").is_file():
            out.append(top / rel)
    return out


@contextlib.contextmanager
def _worktree_lock(adir: Path, timeout: float):
    """Hold another worktree's repository lock, as its own commands take it (flock), leaving its
    lock file as it is: a pid there after the lock was had is a writer killed there (exit 6)."""
    try:
        fd = os.open(adir / "lock", os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError:  # a worktree that cannot be written: no annover command writes there either
        yield
        return
    try:
        if not flock_within(fd, timeout):
            raise LockError(f"the repository is locked by an annover command in another worktree ({adir})",
                            "wait for it to finish and run gc again")
        if os.pread(fd, 64, 0).strip():
            raise NotARepoError(f"an interrupted annover command left the worktree {adir.parent} half-written",
                                f"run `annover status` in {adir.parent} (it repairs it), then gc again")
        yield
    finally:
        os.close(fd)  # releases the lock


def gc(repo: RepoCore, force: bool = False, progress: Progress = _noop, shared_cache: bool = False) -> GcResult:
    """Remove (``force``; else only say, a dry run) from the local DVC cache, and from the working
    store, the objects no version a user can still name needs (see the module docstring).
    Under the repository lock; pending state is refused (exit 6), a lock held by another
    annover command is waited for, then exit 9. A cache outside the repository (which other
    clones may share) is removed from only with ``shared_cache`` (exit 2 otherwise). The
    DVC remote is not touched."""
    cache = repo.dvc.cache_dir()
    if force and not shared_cache and outside(repo, cache):
        raise UsageError(f"the DVC cache is outside this repository ({cache}): other clones or projects may "
                         "share it, and gc cannot know what their versions need",
                         "if none does, run `annover gc --force --shared-cache`; else `dvc gc --projects ...` "
                         "names them all")
    with contextlib.ExitStack() as stack:
        held = _take_lock(repo, stack, force)
        if force:  # a pull under way: its downloads are not partial ones to remove
            stack.enter_context(pull_lock(repo.dir, exclusive=True))
            _dvc_lock(repo, stack)  # after annover's pull lock: an annover pull takes DVC's to check out
        for adir in _other_worktrees(repo):  # one sharing this cache may be writing a version gc cannot see yet
            stack.enter_context(_worktree_lock(adir, lock_timeout()))
            if force:
                stack.enter_context(pull_lock(adir, exclusive=True))
        check_settled(repo, held)
        plan = _plan(repo, progress)
        view = _view_files(repo, plan)
        doomed = [_path(plan.cache, m) for m in plan.garbage if not m.endswith(_DIR)]
        doomed += [_path(plan.cache, m) for m in plan.garbage if m.endswith(_DIR)]
        partial = partial_downloads(plan.cache)
        doomed += list(partial)
        freed = bytes_freed([*view, *doomed])
        if force:
            _remove([*view, *doomed], progress)
    tags = repo.tags_of()
    dropped = sorted(v for v, m in plan.listing_of.items() if m in plan.garbage and v not in plan.kept)
    return GcResult(force, dict(plan.garbage), freed, [repo.rel(p) for p in view], sorted(plan.kept), dropped,
                    plan.not_here, str(plan.cache), {v: sorted(tags.get(v, [])) for v in plan.kept if v in tags},
                    outside(repo, plan.cache), plan.reflog_only,
                    {p.relative_to(plan.cache).as_posix(): n for p, n in partial.items()})
