"""A repository and its DVC remote: making one (``init``), ``status``, ``push`` and ``pull``."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from annover.errors import NotARepoError, RemoteError
from annover.files import write_atomic
from annover.model import canonical as C
from annover.repo.core import ANNOVER_DIR, FORMAT, GITIGNORE, RepoCore
from annover.repo.results import InitResult, StatusResult, TransferResult
from annover.store import dvc as dvc_adapter
from annover.store.dvc import Direction, RemoteInfo
from annover.store.git import Git

__all__ = ["default_remote_dir", "init", "pull", "push", "remote_info", "status"]

#: where ``annover init`` puts the default local DVC remote (default ~/.cache/annover/remotes)
REMOTE_HOME_ENV = "ANNOVER_REMOTE_HOME"


def default_remote_dir(root: Path) -> Path:
    """Where ``annover init`` puts the DVC remote when none is named: outside the repo."""
    base = Path(os.environ.get(REMOTE_HOME_ENV) or Path.home() / ".cache" / "annover" / "remotes")
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]
    return base / f"{root.resolve().name}-{tag}"


def remote_info(repo: RepoCore) -> RemoteInfo | None:
    """The default DVC remote; None where there is none (or no DVC repository)."""
    try:
        return repo.dvc.remote_info()
    except NotARepoError:
        return None


def _set_remote(repo: RepoCore, remote: str | None, options: dict[str, str], messages: list[str]) -> None:
    if remote:
        messages.append(repo.dvc.set_remote(remote, options))
    elif not repo.dvc.has_default_remote():
        messages.append(repo.dvc.set_local_remote(default_remote_dir(repo.root)))


def _make_layout(root: Path, messages: list[str]) -> tuple[str, ...]:
    """git (if needed), DVC (if needed) and ``.annover/``; the DVC files made, to commit."""
    top_path = Git.toplevel_of(root)
    if top_path is None:
        Git.init(root)
        messages.append(f"initialised git in {root}")
        top_path = Git.toplevel_of(root) or root
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
    if (root / ".dvc" / "config").exists() and repo.rel(root / ".dvc/config") not in files:
        files[repo.rel(root / ".dvc/config")] = Path()
    repo.commit({k: repo.toplevel / k for k in files}, "annover init", repo.head_commit())
    messages.append(f"initialised annover repository in {root}")
    return repo


def init(opener: type[RepoCore], path: str | Path = ".", remote: str | None = None,
         remote_options: dict[str, str] | None = None) -> InitResult:
    """Make ``path`` an annover repository (git + DVC + layout); harmless when it already is one.

    ``opener`` is the repository class to open it with. With ``remote`` on an existing
    repository, that becomes the default remote (committed).
    """
    root = Path(path).resolve()
    root.mkdir(parents=True, exist_ok=True)
    messages: list[str] = []
    if not (root / ANNOVER_DIR).exists():
        repo = _create(opener, root, remote, remote_options or {}, messages)
        return InitResult(repo, True, remote_info(repo), messages)
    repo = opener(root)  # raises NotARepoError on a bad state
    messages.append(f"already an annover repository: {root}")
    if remote:
        _set_remote(repo, remote, remote_options or {}, messages)
        dvc_config = repo.dvc_root / ".dvc" / "config"
        if dvc_config.exists():
            with repo.lock():
                repo.commit({repo.rel(dvc_config): dvc_config}, "annover: set DVC remote", repo.head_commit())
    return InitResult(repo, False, remote_info(repo), messages)


def _interrupted(repo: RepoCore, head: str | None) -> bool:
    """An interrupted snapshot: git says so, or HEAD's file differs from the committed one."""
    if repo.scm.interrupted():
        return True
    hc = repo.head_commit()
    if hc and head:
        committed = (repo.scm.show(hc, repo.rel(repo.dir / "HEAD")) or "").strip()
        return bool(committed) and committed != head
    return False


def status(repo: RepoCore, remote: bool = True) -> StatusResult:
    """HEAD, its tags, the DVC remote, and (asking the remote unless ``remote=False``) whether
    HEAD's objects are on it."""
    head = repo.head()
    info = remote_info(repo)
    interrupted = _interrupted(repo, head)
    pushed, missing = None, 0
    if head:
        needed = repo.objects_of(repo.version(head))
        missing = sum(1 for r in needed if not repo.store.has(r))
        if remote and info:
            pushed = repo.dvc.on_remote(needed)
    return StatusResult(str(repo.root), head, repo.tags_of().get(head, []) if head else [], info, pushed, missing,
                        interrupted)


def _commit_for(repo: RepoCore, vid: str) -> str:
    c = repo.commit_of(vid)
    if not c:
        raise NotARepoError(f"version {vid[:12]} is not in the git history here", "pull the git history first")
    return c


def transfer(repo: RepoCore, rev: str, remote: str | None, direction: Direction) -> TransferResult:
    """Move one version's objects: its pointer's ``.dir`` listing and the files it lists."""
    vid = repo.resolve(rev)
    commit = _commit_for(repo, vid)
    dir_md5 = repo.dvc.pointer_hash(repo.scm, commit, repo.rel(repo.dir / "objects.dvc"))
    moved = repo.dvc.transfer(dir_md5, direction, remote, vid[:12])
    return TransferResult(direction, vid, commit, moved)


def push(repo: RepoCore, rev: str = "HEAD", remote: str | None = None) -> TransferResult:
    """Push the objects version ``rev`` needs (and only those) to the DVC remote."""
    return transfer(repo, rev, remote, Direction.PUSH)


def pull(repo: RepoCore, rev: str = "HEAD", remote: str | None = None) -> TransferResult:
    """Fetch the objects version ``rev`` needs into the DVC cache (and the work tree for HEAD)."""
    out = transfer(repo, rev, remote, Direction.PULL)
    if out.version == repo.head():
        repo.dvc.checkout(repo.dir / "objects.dvc")
    missing = [r for r in repo.objects_of(repo.version(out.version)) if not repo.store.has(r)]
    if missing:
        raise RemoteError(f"{len(missing)} object(s) of {out.version[:12]} are still missing after the pull",
                          "push them from a clone that has them: annover push REV")
    return out
