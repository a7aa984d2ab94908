"""Where a command may write a file it is given: never onto what git, DVC and annover keep."""

from __future__ import annotations

from pathlib import Path

from annover.errors import NotARepoError, UsageError
from annover.files import bad_name, unwritable
from annover.repo.core import RepoCore

__all__ = ["check_name", "check_not_owned", "check_output", "check_writable"]


def _owned(repo: RepoCore) -> list[Path]:
    """What git, DVC and annover keep in the repository: their folders and their own files."""
    top = repo.toplevel
    owned = [repo.dir, repo.git_dir, top / ".git", top / ".gitignore", top / ".gitattributes", top / ".gitmodules",
             top / ".dvcignore"]
    try:
        owned.append(repo.dvc_root / ".dvc")
    except NotARepoError:
        pass
    return [p.resolve() for p in owned]


def check_not_owned(repo: RepoCore, path: str | Path, option: str = "--out") -> None:
    """Refuse an output path (given as ``option``) that is, is inside, or holds what git, DVC and
    annover keep in the repository (``.annover/``, ``.git/``, ``.dvc/config``, a ``*.dvc`` pointer...):
    a file written there must not replace them."""
    path = Path(path)
    here = path.parent.resolve() / path.name  # the name as given; also where a symlink leads
    for p in {here, path.resolve()}:
        for own in _owned(repo):
            name = own.relative_to(repo.toplevel).as_posix() if own.is_relative_to(repo.toplevel) else str(own)
            where = ("is" if p == own else "is inside" if own in p.parents else "holds" if p in own.parents else "")
            if where:
                raise UsageError(f"{option} {path} {where} {name}{'/' if own.is_dir() else ''}, which git, DVC and "
                                 "annover keep: a file written there would damage the repository",
                                 f"give {option} a path outside .annover/, .git/ and .dvc/")
        if p.suffix == ".dvc" and p.is_relative_to(repo.toplevel):
            raise UsageError(f"{option} {path} has the name of a DVC pointer file in the repository",
                             f"give {option} another name")


def check_output(repo: RepoCore, path: str | Path, option: str = "--out", force: bool = False) -> None:
    """Refuse an output file onto what the repository keeps (:func:`check_not_owned`), a folder,
    or a file that exists unless ``force``, before any work: as ``export`` and ``report`` do."""
    check_name(path, option)
    check_not_owned(repo, path, option)
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{option} {path} is a folder", f"give {option} a file name")
    if (p.exists() or p.is_symlink()) and not force:
        raise UsageError(f"{option} {path} exists; it would be replaced",
                         f"choose another {option}, or pass --force (force=True in Python) to replace it")
    check_writable(p, option)


def check_name(path: str | Path, option: str = "--out") -> None:
    """Refuse a blank name, ``-`` or a name too long for a file system (first: such a name makes
    every other look at the path fail)."""
    why = bad_name(path)
    if why:
        raise UsageError(f"cannot write {option} {str(path)[:80]}: {why}", f"give {option} another file name")


def check_writable(path: str | Path, option: str = "--out") -> None:
    """Refuse a path no file can be written at (its folder is made if missing, and a file made
    and removed there), before the work that would end in writing it."""
    why = unwritable(path)
    if why:
        raise UsageError(f"cannot write {option} {path}: {why}", f"give {option} a path in a folder you can write to")

