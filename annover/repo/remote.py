"""A repository and its DVC remote: making one (``init``), ``status``, ``push`` and ``pull``."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Iterator

from annover.errors import (AnnoverError, LockError, NotARepoError, ObjectError, RemoteError, RevisionError,
                            UsageError)
from annover.files import READ_ONLY, long_name, under_a_file, write_atomic
from annover.model import canonical as C
from annover.repo.core import (ANNOVER_DIR, FORMAT, GITIGNORE, RepoCore, git_elsewhere, left_out_by_git_merge,
                               lock_timeout, made_it)
from annover.repo.results import InitResult, NotMoved, StatusResult, StrayTag, TransferResult
from annover.store import dvc as dvc_adapter
from annover.store.dvc import Direction, Moved, RemoteInfo
from annover.store.git import Git, Tracking, found_repository, own_repository
from annover.store.memo import CommitMemo
from annover.store.objects import ObjectRef, sha256_file, shard
from annover.store.snapshots import object_refs
from annover.store.refs import check_no_links, flock_within, tag_order
from annover.store.versions import Version

__all__ = ["PULL_LOCK", "commit_memo", "default_remote_dir", "init", "own_commits", "picked_by_init", "pull",
           "pull_lock", "push", "reachable", "remote_info", "remotes_home", "status", "tracking"]

#: where ``annover init`` puts the default local DVC remote (default ~/.cache/annover/remotes)
REMOTE_HOME_ENV = "ANNOVER_REMOTE_HOME"


def remotes_home() -> Path:
    """The folder that holds the remotes ``annover init`` picks (``$ANNOVER_REMOTE_HOME``)."""
    return Path(os.environ.get(REMOTE_HOME_ENV) or Path.home() / ".cache" / "annover" / "remotes")


def picked_by_init(info: RemoteInfo | None) -> bool:
    """Whether ``info`` is a folder ``annover init`` picked, which init, status and push say is on this machine
    only; a folder the user named (``--remote FOLDER``, ``dvc remote add``) is theirs, as DVC says nothing of it."""
    return bool(info and info.this_machine and Path(info.url).resolve().parent == remotes_home().resolve())


def default_remote_dir(root: Path) -> Path:
    """Where ``annover init`` puts the DVC remote when none is named: outside the repo."""
    base = remotes_home()
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", root.resolve().name).strip("-.") or "repo"  # DVC's config is ASCII
    return base / f"{name}-{tag}"


def remote_info(repo: RepoCore, name: str | None = None) -> RemoteInfo | None:
    """DVC remote ``name`` (None: the default one); None where there is none (or no DVC repository)."""
    try:
        return repo.dvc.remote_info(name)
    except NotARepoError:
        return None


def _configured_remote(repo: RepoCore) -> RemoteInfo | None:
    """:func:`remote_info` of the default remote from DVC's config files, DVC not imported
    (``status --no-remote`` only names it)."""
    try:
        return repo.dvc.configured_remote()
    except NotARepoError:
        return None


def _set_remote(repo: RepoCore, remote: str | None, options: dict[str, str], messages: list[str]) -> None:
    with repo.dvc.kept_open():  # asked whether a remote is set, then set: DVC's repo opened once
        if remote:
            messages += repo.dvc.set_remote(remote, options).splitlines()
        elif not repo.dvc.has_default_remote():
            messages += repo.dvc.set_local_remote(default_remote_dir(repo.root)).splitlines()


def _make_layout(root: Path, messages: list[str]) -> tuple[str, ...]:
    """git (if needed), DVC (if needed) and ``.annover/``; the DVC files made, to commit."""
    top_path = Git.toplevel_of(root)
    if top_path is None:
        Git.init(root)
        messages.append(f"initialised git in {root}")
        top_path = Git.toplevel_of(root) or root
    # where git cannot make the commit (no identity under user.useConfigOnly, a signature commit.gpgSign asks
    # for and git cannot make), refused before DVC's and annover's files are made: a run after the fix starts afresh
    Git(root).author()
    dvc_made: tuple[str, ...] = ()
    if dvc_adapter.find_root(root, top_path) is None:
        dvc_adapter.init(root, subdir=root != top_path)
        dvc_made = dvc_adapter.INIT_FILES
        messages.append("initialised DVC")
    adir = root / ANNOVER_DIR
    adir.mkdir()
    (adir / "objects").mkdir()
    write_atomic(adir / "config.json", (json.dumps({"format": FORMAT, "table_schema": C.TABLE_SCHEMA_VERSION},
                                                   indent=2) + "\n").encode())
    write_atomic(adir / ".gitignore", GITIGNORE.encode())
    return dvc_made


def _create(opener: type[RepoCore], root: Path, remote: str | None, options: dict[str, str],
            messages: list[str]) -> RepoCore:
    """Make a new repository at ``root`` and commit its files."""
    dvc_made = _make_layout(root, messages)
    repo = opener(root)
    adir = repo.dir
    files: dict[str, Any] = {repo.rel(adir / "config.json"): Path(), repo.rel(adir / ".gitignore"): Path()}
    for f in dvc_made:
        if (root / f).exists():
            files[repo.rel(root / f)] = Path()
    _set_remote(repo, remote, options, messages)
    dvc_config = repo.dvc_root / ".dvc" / "config"  # a project's own, where annover starts in a folder of it
    if dvc_config.exists() and repo.rel(dvc_config) not in files:
        files[repo.rel(dvc_config)] = Path()
    repo.commit({k: repo.toplevel / k for k in files}, "annover init", repo.head_commit())
    messages.append(f"initialised annover repository in {root}")
    return repo


def _check_not_nested(root: Path) -> None:
    """Refuse a new repository inside another (or inside its ``.annover/``): it would share that
    repository's git history, and their tags would name each other's versions."""
    for d in root.parents:
        if (d / ANNOVER_DIR / "config.json").is_file():
            raise UsageError(f"{root} is inside the annover repository {d}",
                             "make the new repository outside it (a repository inside another shares its git "
                             "history and tags)")


def _check_own_git(root: Path) -> None:
    """Refuse (exit 6, before anything is made) ``GIT_DIR`` / ``GIT_WORK_TREE`` pointing git at
    another repository than the one ``root`` is in: DVC, which finds git's repository from the
    folders, stopped half-way ("unexpected InitError"), and annover's files would be committed
    there. A new repository has nothing committed yet that other commands tell its own by
    (:meth:`RepoCore._check_git_elsewhere`): only the folder's own git repository is followed
    (``GIT_DIR=.git``, as git sets it for its hooks). A folder in none gets one of its own."""
    if "GIT_DIR" not in os.environ and "GIT_WORK_TREE" not in os.environ:
        return
    here = next((d for d in (root, *root.parents) if d.is_dir()), root)  # root may not exist yet
    own, found = own_repository(here), found_repository(here)
    if own is not None and found == own:
        return
    pointed = f"git is pointed at {found[1]}" if found else "git is pointed at a folder that holds no repository"
    if own is None:
        why, then = f"{root} is in no git repository for `annover init` to commit in: {pointed}", \
            f" (annover init then makes git's repository in {root})"
    elif found is not None and found[1] == own[1]:
        why, then = (f"git's work tree is {found[0]}, not {own[0]}, the one of its git dir {own[1]}: annover's "
                     "files would be committed under other paths"), ""
    else:
        why, then = f"{pointed}, not {own[1]}, the git repository {root} is in", f" (git then finds {own[1]})"
    raise git_elsewhere(why, then)


def init(opener: type[RepoCore], path: str | Path = ".", remote: str | None = None,
         remote_options: dict[str, str] | None = None) -> InitResult:
    """Make ``path`` an annover repository (git + DVC + layout); harmless when it already is one.

    ``opener`` is the repository class to open it with. With ``remote`` on an existing
    repository, that becomes the default remote (committed).
    """
    if remote_options and not remote:
        raise UsageError("remote options given without a remote", "name the remote they are for: --remote URL")
    if remote:  # a URL or options DVC would refuse: refused before anything is made
        _check_remote_place(remote)
        dvc_adapter.split_userinfo(remote)
        remote = dvc_adapter.checked_remote(remote, remote_options or {})
    if long_name(path):
        raise UsageError(f"cannot make {str(path)[:80]}...: {long_name(path)}", "give the folder a shorter name")
    root = Path(path).resolve()
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} is a file, not a folder", "give the folder to make the repository in")
    if remote and dvc_adapter.is_local_url(remote):  # a folder remote: checked before anything is made
        _check_remote_folder(remote)
    if not (root / ANNOVER_DIR).exists():  # checked before anything is made
        _check_own_git(root)
        _check_not_nested(root)
        if not remote:
            dvc_adapter.checked_remote(str(default_remote_dir(root)), {})
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot make {root}: {e.strerror or e}", "give a folder in a place you can write to") from None
    messages: list[str] = []
    if not (root / ANNOVER_DIR).exists():
        repo = _create(opener, root, remote, remote_options or {}, messages)
        return InitResult(repo, True, remote_info(repo), messages)
    repo = opener(root)  # raises NotARepoError on a bad state
    messages.append(f"already an annover repository: {root}")
    if remote:
        _set_remote_again(repo, remote, remote_options or {}, messages)
    info = remote_info(repo)
    # said every time, as status and push say it, of the folder init picked (not of one given with --remote)
    if not remote and picked_by_init(info):
        messages.append(dvc_adapter.this_machine_warning(info))
    return InitResult(repo, False, info, messages)


#: scheme -> (the remote's kind, what the URL's first part names, an example); others name a host
_PLACES = {"s3": ("an S3", "a bucket", "s3://BUCKET/PATH"), "gs": ("a Google Cloud Storage", "a bucket",
                                                                   "gs://BUCKET/PATH"),
           "oss": ("an Aliyun OSS", "a bucket", "oss://BUCKET/PATH"),
           "azure": ("an Azure", "a container", "azure://CONTAINER/PATH"),
           "gdrive": ("a Google Drive", "a folder id", "gdrive://FOLDER_ID/PATH")}


def _check_remote_place(url: str) -> None:
    """A URL with nothing between ``scheme://`` and the path (``s3://``, ``s3:///x``, ``ssh://``) names
    no bucket or host: DVC records it, and every push and pull then fails (a ``file://`` URL is a path)."""
    if "://" not in url:
        return
    try:
        parts = urllib.parse.urlsplit(url)
        kind, host = parts.scheme.lower(), parts.hostname
    except ValueError:  # not a URL urllib reads: DVC's check says what is wrong
        return
    if kind == "file" or host:
        return
    what, needs, example = _PLACES.get(kind, (f"the {kind}://", "a host", f"{kind}://HOST/PATH"))
    raise UsageError(f"remote {dvc_adapter.redact(url)}: {what} remote needs {needs} ({example})",
                     f"give it as --remote {example}")


def _set_remote_again(repo: RepoCore, remote: str, options: dict[str, str], messages: list[str]) -> None:
    """``init --remote`` on a repository: the remote set and ``.dvc/config`` committed, where
    that changes it (the same remote again commits nothing and says so)."""
    dvc_config = repo.dvc_root / ".dvc" / "config"
    before = remote_info(repo)
    repo.scm.author()  # git can make the commit (see _make_layout) before DVC's config changes
    _set_remote(repo, remote, options, messages)
    head = repo.head_commit()
    committed = repo.scm.show(head, repo.rel(dvc_config)) if head else None
    if dvc_config.exists() and dvc_config.read_text() != committed:
        with repo.lock():
            repo.commit({repo.rel(dvc_config): dvc_config}, "annover: set DVC remote", head)
    else:
        messages.append(".dvc/config already names this remote: nothing committed")
    if repo.head() and before != remote_info(repo):
        messages.append(_older_versions_note(remote, options))


def _check_remote_folder(remote: str) -> None:
    """A folder remote that is a file, or cannot be made, is refused before anything is made."""
    folder = dvc_adapter.written_folder(remote)
    why = long_name(folder) or under_a_file(folder)
    if why:
        raise UsageError(f"the remote {remote}: {why}", "give a folder the remote can be made in (or a URL)")


def _older_versions_note(url: str, options: dict[str, str]) -> str:
    """What a clone types so versions committed before ``url`` was set pull from it too (credentials
    shown as ``...``)."""
    name = dvc_adapter.REMOTE
    url, from_url = dvc_adapter.split_userinfo(url)
    lines = [f"dvc remote add --local -f {name} {url}"]
    shown = {k: "..." if dvc_adapter.is_secret_option(k, url) else dvc_adapter.redact(v) for k, v in options.items()}
    lines += [f"dvc remote modify --local {name} {k} {v}" for k, v in shown.items()]
    lines += [f"dvc remote modify --local {name} {k} ..." for k in from_url]
    return ("versions made before now name the old remote in their commits; run `annover push` to copy "
            "them all here, and in each clone, once: " + " && ".join(lines) +
            " (git-ignored, so it holds for every `git checkout vN && dvc pull`)")


def _interrupted(repo: RepoCore, head: str | None) -> bool:
    """An interrupted snapshot: git says so, or HEAD's file differs from the committed one."""
    if repo.scm.interrupted():
        return True
    hc = repo.head_commit()
    if hc and head:
        committed = (repo.scm.show(hc, repo.rel(repo.dir / "HEAD")) or "").strip()
        return bool(committed) and committed != head
    return False


def reachable(repo: RepoCore, pointers: bool = True,
              memo: CommitMemo | None = None) -> dict[str, tuple[str, str | None]]:
    """Every version reachable from git's HEAD and tags: id -> (its commit, its objects' listing).

    The listing is the ``.dir`` md5 the commit's ``objects.dvc`` records (None: no pointer,
    an interrupted snapshot; without ``pointers``, None: no pointer read, as ``status
    --no-remote`` wants none). A version counts where HEAD's tree, or the tree of a tag not on
    HEAD's history, holds its record, or a tag names it: one dropped by ``annover reset`` stays
    in git's history behind the newer tags, and counts only while something still holds it.
    A version's commit is the one that made it (see :func:`own_commits`), not a later one that
    added its record again beside another version's pointer. The commits that added version
    records, and their pointers, are those of :class:`~annover.store.memo.CommitMemo`: a commit
    diffed or read once is not again. Git calls: two ``rev-list`` (no diff), a ``log`` of the
    commits not seen before (none, most days), HEAD's records, the tags off HEAD's history and
    which of the records added there their trees hold (one batch), the ``.annover/HEAD`` of
    commits that added a record another one added too, not read before (one batch; none, most
    days), and the pointers not read before (one batch). ``memo``: one the caller goes on using
    (gc's), else this call's own.
    """
    memo = memo or commit_memo(repo)
    vdir, pointer = memo.vdir, memo.pointer
    adders, off_head = _walks(repo, memo)
    kept = {p.rsplit("/", 1)[-1][:-5] for p in repo.git("ls-tree", "-r", "--name-only", "HEAD", "--", vdir,
                                                       check=False).splitlines() if p.endswith(".json")}
    kept |= _held_by_tags(repo, vdir, off_head - kept)
    kept |= set(repo.tags_of())  # a version a tag names, also one a reset dropped from HEAD's tree
    boundary = repo.scm.shallow()  # a shallow clone's boundary commits (read once, not once a version)
    adders = {vid: [c for c in cs if c not in boundary or repo.made_by(vid, c)] for vid, cs in adders.items()
              if vid in kept}
    commits = own_commits(repo, memo, {vid: cs for vid, cs in adders.items() if cs})
    listings = (memo.listings(list(commits.values()), lambda todo: _pointers(repo, todo, pointer)) if pointers
                else [None] * len(commits))
    memo.save()
    return {vid: (c, lst) for (vid, c), lst in zip(commits.items(), listings)}


def _walks(repo: RepoCore, memo: CommitMemo) -> tuple[dict[str, list[str]], set[str]]:
    """(version id -> the commits that added its record, over HEAD's and the tags' history, newest
    first; the versions added on the tags' history off HEAD's). Where every git tag is on HEAD's
    history (as annover's are, unless a branch or a reset left one off it), the walk of HEAD is that
    of HEAD and the tags, and none is off it: ``git rev-list HEAD`` alone (with 500 loose tags, each
    walk naming ``--tags`` cost git 10-16 ms of CPU more than one of HEAD)."""
    head = memo.walk("HEAD")
    if set(repo.git_tag_commits().values()) <= set(head):
        return memo.adders("HEAD", listed=head), set()
    return memo.adders("HEAD", "--tags"), set(memo.added("--tags", "--not", "HEAD"))


def own_commits(repo: RepoCore, memo: CommitMemo, adders: dict[str, list[str]]) -> dict[str, str]:
    """Version id -> the commit that made it, of those that added its record (``adders``, newest
    first): the only one, most days; else the one :func:`~annover.repo.core.made_it` picks (a later
    commit that added the record again beside another version's objects pointer holds not the
    version's listing), as :meth:`RepoCore.commit_of` does. The HEAD files are read only of such
    commits (one batch, remembered in ``memo``, which the caller saves)."""
    several = [c for cs in adders.values() if len(cs) > 1 for c in cs]
    made = dict(zip(several, memo.made(several, repo.heads_at))) if several else {}
    return {vid: made_it(vid, cs, made) for vid, cs in adders.items()}


def stray_tags(repo: RepoCore) -> list[StrayTag]:
    """The git tags on commits that made a version and that no branch, remote-tracking branch or
    HEAD reaches (vN in number order, then by name): not one a branch's tag files name (annover
    would make its git tag again), nor one on a commit that made no version or an annotated tag (a
    user's own)."""
    versions = repo.tags()
    commits = {n: c for n, c in repo.git_tag_commits().items() if n in versions}
    if not commits:
        return []
    off = set(repo.git("rev-list", *sorted(set(commits.values())), "--not", "--branches", "--remotes", "HEAD",
                       check=False).split())
    stray = {n: c for n, c in commits.items() if c in off}
    if stray:  # an annotated tag is a user's own (annover's are lightweight): its ref names no commit either
        kinds = repo.git("for-each-ref", "--format=%(objecttype) %(refname:strip=2)",
                         *(f"refs/tags/{n}" for n in sorted(stray)), check=False).splitlines()
        for kind, _, n in (ln.partition(" ") for ln in kinds):
            if kind != "commit":
                stray.pop(n, None)
    tips = repo.git("for-each-ref", "--format=%(objectname)", "refs/heads", "refs/remotes", check=False).split()
    tag_dir, vdir = repo.rel(repo.dir / "refs" / "tags"), repo.rel(repo.dir / "versions")
    # (name, whether the file being there or not leaves it out, the file): a branch records the
    # tag; the version was made before the tagged commit (its parent holds the record) or not at all
    specs = [(n, True, f"{t}:{tag_dir}/{n}") for n in sorted(stray) for t in tips]
    specs += [(n, True, f"{c}^:{vdir}/{versions[n]}.json") for n, c in sorted(stray.items())]
    specs += [(n, False, f"{c}:{vdir}/{versions[n]}.json") for n, c in sorted(stray.items())]
    out = repo.git("cat-file", "--batch-check", input="".join(f"{sp}\n" for *_, sp in specs).encode(),
                   check=False).splitlines() if specs else []
    for (n, left_out_if_there, _), line in zip(specs, out):
        if (not line.endswith(" missing")) == left_out_if_there:
            stray.pop(n, None)
    return [StrayTag(n, versions[n], stray[n]) for n in sorted(stray, key=tag_order)]


def made_by_annover(repo: RepoCore, stray: list[StrayTag]) -> set[str]:
    """Those of ``stray`` annover made: a tag file of the tag's name naming its version in the tagged
    commit or in any commit that wrote that file (on any ref or reflog: ``annover tag NAME REV``
    commits the file after the version's commit). A user's ``git tag`` of such a commit has none."""
    tag_dir = repo.rel(repo.dir / "refs" / "tags")
    paths = {t.name: f"{tag_dir}/{t.name}" for t in stray}
    out = repo.git("log", "--all", "--reflog", "--full-history", "--format=commit %H", "--name-only", "--",
                   *paths.values(), check=False)
    wrote: dict[str, set[str]] = {p: set() for p in paths.values()}
    commit = ""
    for line in out.splitlines():
        if line.startswith("commit "):
            commit = line[7:].strip()
        elif line in wrote and commit:
            wrote[line].add(commit)
    specs = [(t, f"{c}:{paths[t.name]}") for t in stray for c in sorted(wrote[paths[t.name]] | {t.commit})]
    blobs = repo.scm.blobs([sp for _, sp in specs])
    return {t.name for (t, _), data in zip(specs, blobs) if (data or b"").decode("ascii", "replace").strip() == t.version}


def _held_by_tags(repo: RepoCore, vdir: str, candidates: set[str]) -> set[str]:
    """Which of ``candidates`` (version ids) the tree of a git tag not on HEAD's history holds."""
    if not candidates:
        return set()
    tags = repo.git("for-each-ref", "--no-merged=HEAD", "--format=%(refname)", "refs/tags", check=False).split()
    pairs = [(vid, f"{tag}:{vdir}{vid}.json") for tag in tags for vid in sorted(candidates)]
    if not pairs:
        return set()
    out = repo.git("cat-file", "--batch-check", input="".join(f"{spec}\n" for _, spec in pairs).encode(),
                   check=False).splitlines()
    return {vid for (vid, _), line in zip(pairs, out) if not line.endswith(" missing")}


def commit_memo(repo: RepoCore) -> CommitMemo:
    """What is remembered of each commit of ``repo`` (the records it adds, the listing its
    ``objects.dvc`` records): status, push and pull read it, and gc."""
    return CommitMemo(repo.scm, f"{repo.rel(repo.dir / 'versions')}/", repo.rel(repo.dir / "objects.dvc"))


def _pointers(repo: RepoCore, commits: list[str], pointer: str) -> list[str | None]:
    """The listing each commit's ``pointer`` file records (``git cat-file --batch``)."""
    if not commits:
        return []
    data = repo.git("cat-file", "--batch", input="".join(f"{c}:{pointer}\n" for c in commits).encode())
    out: list[str | None] = []
    pos = 0
    for c in commits:
        end = data.index("\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[1] != "blob":  # "<name> missing"
            out.append(None)
            continue
        size = int(header[2])  # the pointer is ASCII YAML: characters are bytes
        out.append(dvc_adapter.listing_of(data[pos:pos + size], f"{c[:12]}:{pointer}"))
        pos += size + 1
    return out


def tracking(repo: RepoCore) -> Tracking | None:
    """HEAD's branch against its git remote (:meth:`~annover.store.git.Git.tracking`), with the tags
    the commits only here moved (``annover tag --force``) or deleted (``annover tag -d``) where the
    branch's history the remote has holds them: ``--tags`` alone would not publish those (git refuses
    a moved tag, deletes none). One local ``git diff`` from where the two histories meet: no network,
    as git last saw the remote."""
    t = repo.scm.tracking()
    if t is None or t.upstream is None or not t.ahead:
        return t
    tag_dir = repo.rel(repo.dir / "refs" / "tags")
    out = repo.git("diff", "--name-status", "--no-renames", "-z", f"{t.upstream}...HEAD", "--", tag_dir,
                   check=False).split("\0")
    changed: dict[str, list[str]] = {"M": [], "D": []}
    for status, path in zip(out[::2], out[1::2]):
        if status in changed:
            changed[status].append(path[len(tag_dir) + 1:])
    return dataclasses.replace(t, moved_tags=tuple(changed["M"]), deleted_tags=tuple(changed["D"]))


def _name(repo: RepoCore, vid: str) -> str:
    tags = repo.tags_of().get(vid)
    return f"{tags[0]} ({vid[:12]})" if tags else vid[:12]


def status(repo: RepoCore, remote: bool = True, timeout: float | None = None) -> StatusResult:
    """HEAD, its tags, the DVC remote, and (asking the remote unless ``remote=False``, waiting
    ``timeout`` seconds for its first answer) which versions reachable from HEAD and the tags
    it lacks. An unreachable remote raises :class:`~annover.errors.RemoteUnreachableError`.
    ``timeout`` None: ``$ANNOVER_REMOTE_TIMEOUT``, else 5 s (push and pull: 30 s)."""
    with repo.held_tags():  # asked for by the reachable versions, the stray tags and HEAD's names
        if not remote:
            return _status(repo, False, timeout)
        with _kept_open(repo):  # asked for the remote's name, then the remote: DVC's repo opened once
            return _status(repo, True, timeout)


def _kept_open(repo: RepoCore) -> "contextlib.AbstractContextManager[None]":
    try:
        return repo.dvc.kept_open()
    except NotARepoError:  # no DVC repository: remote_info says none
        return contextlib.nullcontext()


def _status(repo: RepoCore, remote: bool, timeout: float | None) -> StatusResult:
    try:
        head, hand_edit = repo.check_hand_edits(), None
    except ObjectError as e:  # said as a pending state, with its fix; the rest read from git's HEAD commit
        head, hand_edit = repo.committed_head(), str(e)
    info = remote_info(repo) if remote else _configured_remote(repo)
    interrupted = _interrupted(repo, head)
    asked = bool(remote and info)  # the versions' listings are wanted only to ask the remote for them
    versions = reachable(repo, pointers=asked) if head else {}
    pushed, missing, unpushed, not_pulled = None, (0, True), None, []
    if head:
        missing = _missing_locally(repo, repo.version(head))
        seen: dict[str, bool] = {}  # object id -> here: versions share most of their objects
        not_pulled = [vid for vid, (commit, _) in versions.items()
                      if (missing[0] if vid == head else _not_pulled(repo, vid, commit, seen))]
        if asked:
            there = _on_remote(repo, [lst for _, lst in versions.values() if lst], timeout)
            unpushed = [vid for vid, (_, lst) in versions.items() if lst not in there]
            head_listing = versions.get(head, (None, None))[1]
            pushed = head_listing in there if head_listing else None
    left = left_out_by_git_merge(repo, repo.head_commit(), head) if head else None
    return StatusResult(str(repo.root), head, repo.tags_of().get(head, []) if head else [], info, pushed, missing[0],
                        interrupted, len(versions), unpushed, tracking(repo), stray_tags(repo) if head else [],
                        left_out=left[0] if left else None, hand_edit=hand_edit, detached=_detached(repo, head),
                        missing_counted=missing[1], not_pulled=not_pulled)


def _detached(repo: RepoCore, head: str | None) -> dict[str, str] | None:
    """Where git's HEAD is detached: HEAD's version as named and the branch to go back to."""
    at = repo.detached(head)
    return None if at is None else {"at": at["at"], "back_to": at["back_to"]}


def _on_remote(repo: RepoCore, listings: list[str], timeout: float | None) -> set[str]:
    """The listings the remote has; DVC, which asks it, opened in a checkout it may not write (a
    fresh clone made read-only: no ``.dvc/tmp`` yet) is one line that says how to go on."""
    try:
        return repo.dvc.listings_on_remote(listings, None, timeout)
    except OSError as e:
        if e.errno not in READ_ONLY:
            raise
        where = str(e.filename or "")
        fix = ("run it in a writable clone" if where.startswith(str(repo.dvc.root)) else
               "give DVC a folder it can write for its databases: DVC_SITE_CACHE_DIR=DIR")
        raise NotARepoError(f"DVC cannot open this repository to ask the remote: {where}: {e.strerror}",
                            f"`annover status --no-remote` does not ask it; or {fix}") from None


def _read_only_checkout(repo: RepoCore, needed: list[ObjectRef], e: OSError) -> str | None:
    """A checkout of HEAD's files that a read-only work tree refused (``e``): None when they are
    there already, what refused it when annover reads them from the DVC cache; else ``e``."""
    if e.errno not in READ_ONLY or not all(repo.store.has(r) for r in needed):
        raise e
    if all(repo.store.path(r.oid).is_file() for r in needed):
        return None
    return f"{e.filename or repo.root}: {e.strerror}"


def _missing_locally(repo: RepoCore, v: Version) -> tuple[int, bool]:
    """How many of HEAD's (``v``'s) objects are not here, and whether that is counted. Where a manifest is
    not here (a fresh clone), neither is the list of its parts: then HEAD's objects as its DVC pointer counts
    them (``nfiles``), but those known here (its config, the parts of a manifest that is here): at most that
    many are missing, exactly that many where none of them is here. It was "1 object(s)" for a clone that
    lacked HEAD's every object, when HEAD's tasks manifest was the one a pulled version shares."""
    try:
        return sum(1 for r in repo.objects_of(v) if not repo.store.has(r)), True
    except ObjectError:  # a manifest is not here, nor then the list of its parts
        pass
    direct = _direct_refs(v)
    known = {r.oid: r for r in direct}
    for s in (v.snapshot("tasks"), v.snapshot("annotations"), *(v.snapshot("predictions", mv)
                                                                for mv in v.model_versions)):
        if s is not None and repo.store.has(s.manifest):
            with contextlib.suppress(ObjectError):  # a delta's base manifest not here
                known.update((r.oid, r) for r in object_refs(repo.store, s))
    here = sum(1 for r in known.values() if repo.store.has(r))
    pointer = repo.dir / "objects.dvc"
    total = dvc_adapter.pointer_nfiles(pointer.read_text() if pointer.is_file() else "")
    least = sum(1 for r in direct if not repo.store.has(r))
    return (max(least, total - here) if total is not None else least), False


def _not_pulled(repo: RepoCore, vid: str, commit: str, seen: dict[str, bool]) -> bool:
    """Whether some object of version ``vid`` (made by ``commit``) is not here (its manifest not here: its parts
    are not listed); ``seen`` holds what earlier versions' objects said."""
    repo.record_at(vid, commit)  # a version off HEAD's tree (another branch's): its record read at its commit
    try:
        refs = repo.objects_of(repo.version(vid))
    except (ObjectError, RevisionError):  # its manifest (or record) not here
        return True
    for r in refs:
        if r.oid not in seen:
            seen[r.oid] = repo.store.has(r)
        if not seen[r.oid]:
            return True
    return False


def _commit_for(repo: RepoCore, vid: str) -> str:
    c = repo.commit_of(vid)
    if not c:
        shallow = " (this clone is shallow: `git fetch --unshallow`)" if repo.scm.shallow() else ""
        raise NotARepoError(f"version {vid[:12]} is not in the git history here",
                            f"pull the git history first{shallow}")
    return c


def _targets(repo: RepoCore, rev: str | None) -> dict[str, tuple[str, str | None]]:
    """The versions a push or pull moves: ``rev``'s alone, or all reachable from HEAD and the tags."""
    if rev is None:
        return reachable(repo)
    vid = repo.resolve(rev)
    commit = _commit_for(repo, vid)
    return {vid: (commit, repo.dvc.pointer_hash(repo.scm, commit, repo.rel(repo.dir / "objects.dvc")))}


def _check_remote_name(repo: RepoCore, remote: str | None) -> None:
    """``--remote NAME`` names a DVC remote of the repository's config (a pull with nothing to
    fetch never asks DVC for it, and reported success)."""
    if remote is None:
        return
    try:
        with repo.dvc.repo() as d:
            names, default = sorted(d.config["remote"]), d.config["core"].get("remote")
    except Exception:  # a broken DVC config: the transfer's own error says what is wrong
        return
    if remote in names:
        return
    listed = ", ".join(n + (" (the default)" if n == default else "") for n in names)
    raise UsageError(f"no DVC remote named {remote!r}" + (f"; the remotes are: {listed}" if names else ""),
                     "name one of them with --remote, or add it: dvc remote add [--local] NAME URL" if names
                     else "set one with `annover init --remote URL`, or add it: dvc remote add [--local] NAME URL")


def transfer(repo: RepoCore, rev: str | None, remote: str | None, direction: Direction,
             timeout: float | None = None) -> tuple[TransferResult, list[str], dict[str, str]]:
    """:func:`_transfer`, with DVC's repo opened once for the transfer and the remote's name (a pull's
    checkout, after it, opens its own: it reads the cache the transfer has just written)."""
    with _kept_open(repo):
        return _transfer(repo, rev, remote, direction, timeout)


def _transfer(repo: RepoCore, rev: str | None, remote: str | None, direction: Direction,
              timeout: float | None = None) -> tuple[TransferResult, list[str], dict[str, str]]:
    """Move the objects of version ``rev`` (None: of every version reachable from HEAD and the
    tags) that the other side lacks; what is there already is not sent again. Also returns
    the versions that could not be moved (their objects are on neither side) and, for a push,
    the objects damaged or missing in the local DVC cache (``{md5: how}``); the result's
    ``failed`` names them all, with why. A push whose objects the remote does not hold
    afterwards raises (see :func:`_refuse_unconfirmed`), the result as the error's ``result``."""
    _check_remote_name(repo, remote)
    targets = _targets(repo, rev)
    by_listing: dict[str, list[str]] = {}
    unrecorded = []
    for vid, (_, lst) in targets.items():
        if lst:
            by_listing.setdefault(lst, []).append(vid)
        else:
            unrecorded.append(vid)
    # the listing pull checks out, and the version it names: their files are checked (a corrupt one fetched again)
    check = [lst for vid, (_, lst) in targets.items() if lst and (vid == repo.head() or rev is not None)]
    moved = (Moved([], [], [], 0) if not by_listing else repo.dvc.push(list(by_listing), remote, timeout,
                                                                       whole=rev is not None)
             if direction == Direction.PUSH else
             repo.dvc.pull(list(by_listing), remote, timeout, check=check, verify=_verifier(repo, by_listing)))

    def vids(listings: list[str]) -> list[str]:
        return [v for m in listings for v in by_listing[m]]

    one = next(iter(targets)) if rev is not None else None
    lost = vids(moved.missing) + unrecorded
    failed = _failures(repo, direction, vids(list(moved.unconfirmed)), lost, moved.damaged)
    out = TransferResult(direction, one, targets[one][0] if one else None, moved.files, vids(moved.moved),
                         vids(moved.present), remote_info(repo, remote), tracking(repo), failed=failed)
    _refuse_unconfirmed(repo, out, moved, by_listing)
    return out, lost, moved.damaged


def _failures(repo: RepoCore, direction: Direction, unconfirmed: list[str], lost: list[str],
              damaged: dict[str, str]) -> tuple[NotMoved, ...]:
    """The versions not moved, each with why (see :class:`~annover.repo.results.NotMoved`)."""
    tags = repo.tags_of()
    corrupt = {m for m, how in damaged.items() if how == "corrupt"}
    out = [NotMoved(v, "not-held-after-push", tuple(tags.get(v, ()))) for v in unconfirmed]
    for v in lost:
        why = ("not-on-remote" if direction == Direction.PULL else
               "corrupt-here" if corrupt and corrupt & _md5s(repo, v) else "not-here")
        out.append(NotMoved(v, why, tuple(tags.get(v, ()))))
    return tuple(out)


def _md5s(repo: RepoCore, vid: str) -> set[str]:
    """The md5s of version ``vid``'s objects: those its record names (its manifests...), and those its
    manifests name where they can be read (a damaged one cannot)."""
    v = repo.version(vid)
    try:
        return {r.md5 for r in repo.objects_of(v)}
    except ObjectError:
        return {r.md5 for r in _direct_refs(v)}


def _with_result(err: AnnoverError, out: TransferResult) -> AnnoverError:
    """``err``, carrying what was moved before it (and the error itself): what ``--json`` prints."""
    err.result = dataclasses.replace(out, error=str(err))
    return err


def _verifier(repo: RepoCore, by_listing: dict[str, list[str]]) -> dvc_adapter.Verify:
    """What a pull checks a listing from the remote against before fetching its files: the objects
    its version's manifests name (the manifests fetched first, by the md5s the version record in
    git gives). False when they are not on the remote either: the version is then not pulled."""
    def verify(listing: str, entries: dict[str, str], fetch: Callable[[list[str]], None]) -> bool:
        vid = by_listing[listing][0]
        v = repo.version(vid)
        direct = _direct_refs(v)
        fetch([r.md5 for r in direct])
        if not all(repo.store.has(r) for r in direct):
            return False
        dvc_adapter.check_listing(entries, {shard(r.oid): r.md5 for r in repo.objects_of(v)},
                                  f"the DVC listing {listing} of version {_name(repo, vid)}")
        return True

    return verify


def _direct_refs(v: Version) -> list[ObjectRef]:
    """The objects version ``v``'s record names itself: its manifests, config and source listing."""
    refs = [v.snapshot("tasks"), v.snapshot("annotations"), *(v.snapshot("predictions", mv)
                                                              for mv in v.model_versions)]
    files = (v.record.get("source") or {}).get("files")
    return ([s.manifest for s in refs if s] + ([v.config_ref] if v.config_ref else [])
            + ([ObjectRef.from_json(files)] if files else []))


def _objects_named(repo: RepoCore, vids: list[str], md5s: list[str]) -> str:
    """``md5s`` as the objects of versions ``vids`` they are (``object 0123abcd4567 (md5 ...)``)."""
    oids: dict[str, str] = {}
    for vid in vids:
        try:
            oids |= {r.md5: r.oid for r in repo.objects_of(repo.version(vid))}
        except ObjectError:  # a manifest not here: the md5 alone names it
            pass
    shown = [f"object {oids[m][:12]} (md5 {m})" if m in oids else f"md5 {m}" for m in md5s[:3]]
    return ", ".join(shown) + (f" and {len(md5s) - 3} more" if len(md5s) > 3 else "")


def _refuse_unconfirmed(repo: RepoCore, out: TransferResult, moved: Moved, by_listing: dict[str, list[str]]) -> None:
    """A push the remote does not hold all of afterwards is exit 10, naming the objects (their listings
    were not sent, so the versions still count as not pushed and the next push sends them again)."""
    if not moved.unconfirmed:
        return
    vids = [v for m in moved.unconfirmed for v in by_listing[m]]
    md5s = [md5 for gone in moved.unconfirmed.values() for md5 in gone]
    names = ", ".join(_name(repo, v) for v in vids[:5]) + (", ..." if len(vids) > 5 else "")
    done = f"{len(out.moved)} other version(s) pushed; " if out.moved else ""
    raise _with_result(RemoteError(
        f"the DVC remote does not hold {len(md5s)} object(s) of {names} after the push, though DVC reported them "
        f"sent: {_objects_named(repo, vids, md5s)}",
        f"{done}check the remote (space, permissions, `dvc status -c`) and run `annover push` again; these "
        "versions count as not pushed until it holds them"), out)


def _refuse_lost(repo: RepoCore, out: TransferResult, lost: list[str], damaged: dict[str, str] | None = None) -> None:
    """Say which versions could not be moved (after the others were); for a push, the objects that
    are damaged or missing in the local DVC cache."""
    if not lost:
        return
    names = ", ".join(_name(repo, v) for v in lost[:5]) + (", ..." if len(lost) > 5 else "")
    done = f"{len(out.moved)} other version(s) moved; " if out.moved else ""
    if out.direction == Direction.PUSH:
        corrupt = sorted(m for m, how in (damaged or {}).items() if how == "corrupt")
        why = (f"; the DVC cache's copy of {_objects_named(repo, lost, corrupt)} is corrupt (its bytes do not "
               "match its md5)" if corrupt else "")
        raise _with_result(ObjectError(
            f"{len(lost)} version(s) not pushed, their objects are neither in the local DVC cache nor on the "
            f"remote: {names}{why}",
            f"{done}pull them where they are (annover pull --remote NAME) or push from the clone that made them"), out)
    first = (repo.tags_of().get(lost[0]) or [lost[0][:12]])[0]
    raise _with_result(RemoteError(
        f"{len(lost)} version(s) not on the remote: {names}",
        f"{done}push them from a clone that has them: `annover push {first}`"
        + (" and the others by name" if len(lost) > 1 else "")
        + " (a version named is checked file by file: what the remote lost since is sent again)"), out)


def push(repo: RepoCore, rev: str | None = None, remote: str | None = None,
         timeout: float | None = None) -> TransferResult:
    """Push what the remote lacks of version ``rev``, or of every version reachable from HEAD
    and the tags (like ``git push``), incrementally; the remote is then asked whether it holds
    what was sent (RemoteError otherwise), and an object whose local copy is damaged is named."""
    out, lost, damaged = transfer(repo, rev, remote, Direction.PUSH, timeout)
    _refuse_lost(repo, out, lost, damaged)
    return out


#: the file a pull holds shared while it writes to the DVC cache, and ``gc --force`` exclusive while it removes
#: from it (git-ignored, in annover's ``tmp/``)
PULL_LOCK = "tmp/pull.lock"


@contextlib.contextmanager
def pull_lock(adir: Path, exclusive: bool = False, timeout: float | None = None) -> Iterator[None]:
    """Hold the pull lock of annover folder ``adir``: shared (a pull, which writes DVC's temporary files
    into the cache, then renames them into place), or ``exclusive`` (``gc --force``, which removes the
    temporary files a pull cut short left: never one a pull running now is writing). DVC's own guard
    is the same: ``dvc pull`` and ``dvc gc`` take its repository lock. Waits ``timeout`` seconds
    (default ``ANNOVER_LOCK_TIMEOUT``), then LockError (exit 9). A folder that cannot be written
    (a read-only clone, where gc removes nothing either) is not locked. The lock goes with the process
    (flock): a pull killed holds nothing."""
    try:
        (adir / "tmp").mkdir(exist_ok=True)
        fd = os.open(adir / PULL_LOCK, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError:
        yield
        return
    try:
        wait = lock_timeout() if timeout is None else timeout
        if not flock_within(fd, wait, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH):
            where = f" ({adir.parent})" if exclusive else ""
            raise (LockError(f"an annover pull is writing to the DVC cache{where}: gc would remove the files it is "
                             "downloading", "wait for it to finish and run gc again") if exclusive else
                   LockError("annover gc --force is removing files from the DVC cache",
                             "wait for it to finish and pull again"))
        yield
    finally:
        os.close(fd)  # releases the lock


def pull(repo: RepoCore, rev: str | None = None, remote: str | None = None,
         timeout: float | None = None) -> TransferResult:
    """Fetch into the DVC cache what it lacks of version ``rev``, or of every version reachable
    from HEAD and the tags; HEAD's objects are then checked out into the work tree (also
    when some other version is on neither side, which is then reported).

    Nothing from the remote becomes a path unchecked: every listing's entries must be objects
    of the store, and exactly those its version's manifests name (fetched first, by the md5s
    the version record in git gives), before any of its files is fetched; HEAD's pointer must
    record its own listing before anything is checked out (ObjectError otherwise); a symbolic
    link among annover's folders is refused before anything is fetched (exit 6)."""
    check_no_links(repo.dir)  # pull takes no repository lock, whose taking checks it: the store is written through
    with pull_lock(repo.dir):
        return _pull(repo, rev, remote, timeout)


def _pull(repo: RepoCore, rev: str | None, remote: str | None, timeout: float | None) -> TransferResult:
    """:func:`pull`, under the pull lock."""
    out, lost, _ = transfer(repo, rev, remote, Direction.PULL, timeout)
    head = repo.head()
    if head and head not in lost and (rev is None or out.version == head):
        needed = repo.objects_of(repo.version(head))
        for r in needed:  # a damaged copy in the work tree is not always replaced by DVC's checkout
            path = repo.store.path(r.oid)
            if path.is_file() and sha256_file(path) != r.oid:
                path.unlink()
        pointer = repo.dir / "objects.dvc"
        commit = out.commit if out.version == head and out.commit else _commit_for(repo, head)
        listing = repo.dvc.pointer_hash(repo.scm, commit, repo.rel(pointer))
        try:
            repo.dvc.checkout(pointer, repo.store.root, listing, {shard(r.oid): r.md5 for r in needed},
                              f"version {_name(repo, head)}")
        except OSError as e:
            out = dataclasses.replace(out, not_checked_out=_read_only_checkout(repo, needed, e))
        missing = [r for r in needed if not repo.store.has(r)]
        if missing:
            failed = (*out.failed, NotMoved(head, "missing-after-pull", tuple(repo.tags_of().get(head, ()))))
            raise _with_result(RemoteError(f"{len(missing)} object(s) of {head[:12]} are still missing after the pull",
                                           "push them from a clone that has them: annover push"),
                               dataclasses.replace(out, failed=failed))
    _refuse_lost(repo, out, lost)
    return out
