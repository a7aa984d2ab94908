"""What the repository's commands return: one dataclass per command, each with ``to_json()``.

``to_json()`` is what the command line prints with ``--json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annover.store.dvc import Direction, RemoteInfo
from annover.store.git import Tracking
from annover.store.versions import Version

if TYPE_CHECKING:  # pragma: no cover
    from annover.diffing import DiffResult
    from annover.repo.core import RepoCore

__all__ = ["ExportResult", "InitResult", "SnapshotResult", "StatusResult", "StrayTag", "TagResult", "TransferResult"]


def _remote_json(remote: RemoteInfo | None) -> dict | None:
    return remote.to_json() if remote else None


@dataclass
class InitResult:
    """``annover init``: the repository, whether it was made now, its DVC remote, what was done."""

    repo: "RepoCore"
    created: bool
    remote: RemoteInfo | None
    messages: list[str] = field(default_factory=list)

    @property
    def root(self) -> str:
        return str(self.repo.root)

    def to_json(self) -> dict:
        return {"root": self.root, "created": self.created, "remote": _remote_json(self.remote),
                "messages": self.messages}


@dataclass
class SnapshotResult:
    """``annover snapshot``: the new version, or ``changed=False`` when HEAD already holds this content.

    ``head`` is the version HEAD names afterwards (the new one, or the unchanged HEAD). A dry
    run (``dry_run``) makes no version: ``changed`` says whether it would, ``tag`` names it,
    and ``diff`` is HEAD -> the content it would hold.
    """

    version: Version | None
    changed: bool
    tag: str | None = None
    commit: str | None = None
    warnings: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    head: str | None = None
    #: the reading options used ({"key", "validate"}), and those taken from HEAD (``--key X``...)
    reading: dict | None = None
    remembered: list[str] = field(default_factory=list)
    diff: "DiffResult | None" = None
    dry_run: bool = False
    #: nothing changed, but the users map it was read with was new: committed alone (``.annover/users.json``;
    #: a dry run: it would be)
    users_committed: bool = False
    #: what it did that was not asked and is not wrong (a key taken from the dataset's record)
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        """One readable line in a notebook: the version by tag and short id, not its whole record
        (``.version.record`` holds that); the lists only when they hold something."""
        parts = [f"changed={self.changed!r}", f"tag={self.tag!r}",
                 f"version={self.version.id[:12] if self.version else None!r}"]
        if self.head and (self.version is None or self.head != self.version.id):
            parts.append(f"head={self.head[:12]!r}")
        parts += [f"{k}={v!r}" for k, v in (("dry_run", self.dry_run), ("users_committed", self.users_committed))
                  if v]
        parts += [f"{k}={v!r}" for k, v in (("warnings", self.warnings), ("notes", self.notes),
                                            ("recovered", self.recovered), ("remembered", self.remembered)) if v]
        if self.diff is not None:
            parts.append(f"diff={self.diff.summary.get('tasks', {})!r}")
        return f"SnapshotResult({', '.join(parts)})"

    def to_json(self) -> dict:
        out = {
            "changed": self.changed, "tag": self.tag, "commit": self.commit, "head": self.head,
            "version": self.version.to_json() if self.version else None,
            "warnings": self.warnings, "notes": self.notes, "recovered": self.recovered, "reading": self.reading,
            "remembered": self.remembered, "dry_run": self.dry_run, "users_committed": self.users_committed,
        }
        if self.diff is not None:
            out["diff"] = self.diff.to_json()
        return out


@dataclass(frozen=True)
class TagResult:
    """``annover tag``: the name, the version it names, the git commit that made that version,
    and the version the name named before (``--force``), if another."""

    tag: str
    version: str
    commit: str | None
    replaced: str | None = None
    deleted: bool = False  # ``annover tag -d``: the name no longer names ``version``

    def to_json(self) -> dict:
        return {"tag": self.tag, "version": self.version, "commit": self.commit, "replaced": self.replaced,
                "deleted": self.deleted}


@dataclass(frozen=True)
class StrayTag:
    """A git tag naming a version whose commit no branch, remote-tracking branch or HEAD reaches
    (its branch was deleted, or ``git reset --hard`` left it): ``git push --tags`` would publish it."""

    name: str
    version: str
    commit: str

    def to_json(self) -> dict:
        return {"tag": self.name, "version": self.version, "commit": self.commit}


@dataclass(frozen=True)
class StatusResult:
    """``annover status``: HEAD, its tags, the DVC remote, and what is not pushed.

    ``pushed`` (HEAD's objects are on the remote) and ``unpushed`` (the versions reachable
    from HEAD and the tags whose objects the remote lacks) are None when the remote was not
    asked (or there is none); ``versions`` counts the reachable versions; ``interrupted``
    says an interrupted snapshot was found (the next command repairs it).
    """

    root: str
    head: str | None
    tags: list[str]
    remote: RemoteInfo | None
    pushed: bool | None
    missing_locally: int
    interrupted: bool
    versions: int = 0
    unpushed: list[str] | None = None
    #: the branch against its git remote (None: no git remote, or no branch)
    git: Tracking | None = None
    #: tags of versions no branch reaches (``annover tag --prune`` deletes them)
    stray_tags: list[StrayTag] = field(default_factory=list)
    #: a version a git merge left out of HEAD's history (``git merge -X theirs``): ``annover merge`` it
    left_out: str | None = None
    #: a file of annover's edited or deleted by hand (``.annover/HEAD``, HEAD's record): what, and the fix
    hand_edit: str | None = None

    def to_json(self) -> dict:
        return {"root": self.root, "head": self.head, "left_out_by_git_merge": self.left_out,
                "hand_edit": self.hand_edit, "tags": self.tags, "remote": _remote_json(self.remote),
                "pushed": self.pushed, "missing_locally": self.missing_locally, "interrupted": self.interrupted,
                "versions": self.versions, "unpushed": None if self.unpushed is None else len(self.unpushed),
                "unpushed_versions": self.unpushed, "git": self.git.to_json() if self.git else None,
                "stray_tags": [t.to_json() for t in self.stray_tags]}


@dataclass(frozen=True)
class ExportResult:
    """``annover export``: what was written where; ``rows`` of the table, or tasks for task formats."""

    version: str
    format: str
    path: str
    bytes: int
    rows: int
    #: with ``tasks=`` (``--task``): the keys given that the version has no task of (None: not given)
    missing_tasks: "list[str] | None" = None

    def to_json(self) -> dict:
        out = {"version": self.version, "format": self.format, "path": self.path, "bytes": self.bytes,
               "rows": self.rows}
        return out if self.missing_tasks is None else {**out, "missing_tasks": list(self.missing_tasks)}


@dataclass(frozen=True)
class TransferResult:
    """``annover push`` / ``annover pull``: versions' objects moved to or from the DVC remote.

    ``version`` and ``commit`` name the one version asked for (None when every version
    reachable from HEAD and the tags was); ``moved`` are the versions whose objects moved,
    ``up_to_date`` those already there; ``transferred`` counts the files moved (listings
    and the objects they list).
    """

    direction: Direction
    version: str | None
    commit: str | None
    transferred: int
    moved: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    remote: RemoteInfo | None = None
    #: the branch against its git remote, which annover push and pull do not touch (None: no git remote)
    git: Tracking | None = None

    def to_json(self) -> dict[str, Any]:
        return {"direction": self.direction.value, "version": self.version, "commit": self.commit,
                "transferred": self.transferred, "versions": len(self.moved) + len(self.up_to_date),
                "moved": len(self.moved), "up_to_date": len(self.up_to_date), "moved_versions": self.moved,
                "remote": _remote_json(self.remote), "git": self.git.to_json() if self.git else None}
