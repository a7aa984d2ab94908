"""Sets of versions named as git's rev-list takes them: ``A B``, ``^A B``, ``A..B``, ``A...B``, ``--all``.

A set is the versions any positive revision reaches (``all``: HEAD, every branch, remote-tracking branch
and tag too; none given at all: HEAD), less those a ``^REV`` reaches. ``A..B`` is ``^A B``; ``A...B`` is
``A B`` less what both reach (their symmetric difference); a side left out of either is HEAD, as
``annover diff A..B`` and ``A...B`` read it (:func:`split_range`). ``annover log REV...`` and
``Repo.log(["v1..v4", "side"])`` list the same versions.

    versions(repo, ("v1..v4",))          # what v4 reaches and v1 does not, as git rev-list v1..v4
    versions(repo, ("main...side",))     # what either reaches and the other not
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from annover.repo.core import RepoCore, ancestors, date_order
from annover.store.refs import is_version_id

if TYPE_CHECKING:  # pragma: no cover
    from annover.store.versions import Version

__all__ = ["branch_tips", "every_start", "is_set", "split_range", "versions"]


def split_range(spec: str) -> tuple[str, str, bool] | None:
    """``A..B`` as (A, B, False) and ``A...B`` as (A, B, True), a side left out as HEAD; None when ``spec``
    is one revision. The one reading of ranges for ``log`` and ``diff``."""
    left, dots, right = spec.partition("..")
    if not dots:
        return None
    both = right.startswith(".")
    return left or "HEAD", (right[1:] if both else right) or "HEAD", both


def is_set(revs: Iterable[str]) -> bool:
    """Whether ``revs`` name more than one revision's history: several, a range or a ``^REV``."""
    revs = list(revs)
    return len(revs) > 1 or any(isinstance(r, str) and (".." in r or r.startswith("^")) for r in revs)


def versions(repo: RepoCore, revs: Iterable[str], every: bool = False) -> "list[Version]":
    """The versions ``revs`` name as git log takes its revisions: those any REV (``every``: also HEAD, every
    branch, remote-tracking branch and tag; no REV at all: HEAD) reaches, but those a ``^REV`` reaches;
    ``A..B`` is ``^A B`` and ``A...B`` is ``A B`` but what both reach. Newest first (:func:`date_order`).
    An unknown revision is the ``RevisionError`` :meth:`RepoCore.resolve` gives."""
    revs = list(revs)
    starts = list(every_start(repo)) if every else []
    wanted: list[str] = starts or ([] if revs else [h for h in [repo.head()] if h])  # none yet: none listed
    hidden: set[str] = set()
    for rev in revs:
        ends = split_range(rev) if isinstance(rev, str) else None
        if ends is None:
            if isinstance(rev, str) and rev.startswith("^"):
                hidden |= _reach(repo, repo.resolve(rev[1:]))
            else:
                wanted.append(repo.resolve(rev))
            continue
        a, b = repo.resolve(ends[0]), repo.resolve(ends[1])
        if ends[2]:
            wanted += [a, b]
            hidden |= _reach(repo, a) & _reach(repo, b)
        else:
            hidden |= _reach(repo, a)
            wanted.append(b)
    found: dict[str, Version] = {}
    for vid in dict.fromkeys(wanted):
        if vid not in found and vid not in hidden:
            found.update((k, v) for k, v in ancestors(repo, vid).items() if k not in hidden)
    return date_order(list(found.values()))


def _reach(repo: RepoCore, vid: str) -> set[str]:
    """The ids of the versions ``vid`` reaches (itself too): what a ``^REV`` leaves out."""
    return set(ancestors(repo, vid))


def every_start(repo: RepoCore) -> list[str]:
    """``log --all``'s starts (version ids): HEAD, every tag, branch and remote-tracking branch."""
    heads = [h for h in [repo.head()] if h]
    return list(dict.fromkeys(heads + list(repo.tags_of()) + list(branch_tips(repo))))


def branch_tips(repo: RepoCore) -> dict[str, list[str]]:
    """Version id -> the branches and remote-tracking branches at it (``main``, ``origin/main``), as ``log
    --all`` names them beside its tags (git log decorates a branch's tip); a ref whose commit holds no
    version, a branch of code alone, is passed over. One ``for-each-ref`` and one batch read of the
    commits' HEAD files (none the second time: :meth:`annover.store.git.Git.blobs` keeps them)."""
    refs = [line.rsplit(" ", 1) for line in repo.git("for-each-ref", "--format=%(refname) %(objectname)",
                                                      "refs/heads", "refs/remotes", check=False).splitlines()]
    refs = [(ref, oid) for ref, oid in refs if not ref.endswith("/HEAD")]
    head_file = repo.rel(repo.dir / "HEAD")
    tips: dict[str, list[str]] = {}
    for (ref, _), held in zip(refs, repo.scm.blobs([f"{oid}:{head_file}" for _, oid in refs])):
        vid = (held or b"").decode("ascii", "replace").strip()
        if is_version_id(vid):
            tips.setdefault(vid, []).append(ref.split("/", 2)[2])
    return tips
