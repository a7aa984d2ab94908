"""What the repository's commands return: one dataclass per command, each with ``to_json()``.

``to_json()`` is what the command line prints with ``--json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from annover._html import ROWS, html_block, html_notes, html_pairs, html_table
from annover.store.dvc import Direction, RemoteInfo
from annover.store.git import Tracking
from annover.store.versions import Version

if TYPE_CHECKING:  # pragma: no cover
    from annover.diffing import DiffResult
    from annover.repo.core import RepoCore

__all__ = ["ExportResult", "InitResult", "Log", "NotMoved", "SnapshotResult", "StatusResult", "StrayTag",
           "TagResult", "TransferResult"]


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
    #: a dry run: the labeling config the version would hold (its diff's summary names the items of its
    #: answers by it: :func:`annover.model.config.results_word`)
    config_text: str | None = None

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

    def _repr_html_(self) -> str:
        """In a notebook: the version made (or not), what was said of it, and the dry run's diff."""
        v = self.version
        fields = [("changed", self.changed), ("tag", self.tag), ("version", v.id[:12] if v else None)]
        if v is not None:
            fields += [("message", v.message), ("tasks", v.stats.get("tasks")),
                       ("annotations", v.stats.get("annotations"))]
        if self.head and (v is None or self.head != v.id):
            fields.append(("head", self.head[:12]))
        fields += [(k, x) for k, x in (("dry run", self.dry_run), ("recovered", self.recovered),
                                       ("remembered", self.remembered)) if x]
        parts = [html_pairs(fields), html_notes(self.warnings, "warning"), html_notes(self.notes)]
        if self.diff is not None:
            parts.append(self.diff._repr_html_())
        return html_block("snapshot" + (" (dry run)" if self.dry_run else ""), *parts)

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
    #: git's HEAD on no branch (``git checkout v1``): ``{"at": HEAD's tag or short id, "back_to": a branch}``;
    #: every command that commits refuses there, as ``git status`` says "HEAD detached at v1" first
    detached: dict[str, str] | None = None
    #: whether ``missing_locally`` is counted; False: HEAD's manifests are not here to list its objects, and it is
    #: HEAD's objects as its DVC pointer counts them but those known here (at most that many are missing)
    missing_counted: bool = True
    #: the reachable versions (of ``versions``) some of whose objects are not here (`annover pull` fetches them)
    not_pulled: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        """In a notebook: HEAD, the remote and what it lacks, the branch against its git remote,
        and what needs a hand (a left-out version, a hand edit, stray tags)."""
        remote = f"{self.remote.name}: {self.remote.url}" if self.remote else "(none)"
        unpushed = None if self.unpushed is None else f"{len(self.unpushed)} version(s)"
        g = self.git
        tracking = ("(no git remote)" if g is None else f"{g.branch}: no upstream" if not g.upstream
                    else f"{g.branch} → {g.upstream}: {g.ahead} ahead, {g.behind} behind")
        fields = [("root", self.root), ("HEAD", self.head[:12] if self.head else None), ("tags", self.tags),
                  ("versions", self.versions), ("DVC remote", remote),
                  ("pushed", "(remote not asked)" if self.pushed is None else self.pushed),
                  ("not pushed", unpushed), ("git", tracking)]
        fields += [(k, x) for k, x in (("detached at", (self.detached or {}).get("at")),
                                       ("missing here", self.missing_locally),
                                       ("versions not pulled", len(self.not_pulled)), ("interrupted", self.interrupted),
                                       ("left out by a git merge", self.left_out), ("edited by hand", self.hand_edit),
                                       ("stray tags", [t.name for t in self.stray_tags])) if x]
        return html_block("status", html_pairs(fields))

    def to_json(self) -> dict:
        return {"root": self.root, "head": self.head, "left_out_by_git_merge": self.left_out,
                "hand_edit": self.hand_edit, "tags": self.tags, "remote": _remote_json(self.remote),
                "pushed": self.pushed, "missing_locally": self.missing_locally,
                "missing_locally_counted": self.missing_counted, "not_pulled": self.not_pulled,
                "interrupted": self.interrupted,
                "versions": self.versions, "unpushed": None if self.unpushed is None else len(self.unpushed),
                "unpushed_versions": self.unpushed, "git": self.git.to_json() if self.git else None,
                "stray_tags": [t.to_json() for t in self.stray_tags], "detached": self.detached}


class Log(list):
    """``Repo.log()``: the versions (:class:`Version`), newest first: a plain list (its repr is a
    list's), shown in a notebook as a table with each version's tags. ``tags_of`` (version id ->
    tag names) is asked only then."""

    def __init__(self, versions: Iterable[Version] = (), tags_of: "Callable[[], dict[str, list[str]]] | None" = None
                 ) -> None:
        super().__init__(versions)
        self._tags_of = tags_of

    def __reduce__(self) -> tuple:  # a copy or a pickle keeps the versions, not the repository
        return Log, (list(self),)

    def _repr_html_(self) -> str:
        tags = self._tags_of() if self._tags_of is not None else {}
        rows = [[v.id[:12], sorted(tags.get(v.id, [])), v.message, v.created_at, v.author,
                 v.stats.get("tasks"), v.stats.get("annotations")] for v in self[:ROWS]]
        return html_block(f"log: {len(self)} version(s)", html_table(
            ["version", "tags", "message", "created", "author", "tasks", "annotations"], rows, total=len(self),
            more="the list holds them all"))


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
class NotMoved:
    """A version ``annover push`` / ``pull`` could not move, and why (``reason``): ``not-on-remote``
    (pull: the remote lacks it), ``not-here`` (push: its objects are neither in the local DVC cache
    nor on the remote), ``corrupt-here`` (push: the cache's copy of one of them is corrupt),
    ``not-held-after-push`` (the remote does not hold what was sent), ``missing-after-pull`` (HEAD's
    objects are still not here after the pull). ``tags`` name it."""

    version: str
    reason: str
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "tags": list(self.tags), "reason": self.reason}


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
    #: pull in a work tree that cannot be written: what refused the checkout of HEAD's files, which
    #: annover then reads from the DVC cache (None: checked out, or there already)
    not_checked_out: str | None = None
    #: the versions that could not be moved (the command then fails: see ``error``)
    failed: tuple[NotMoved, ...] = ()
    #: the error the command fails with once the other versions were moved (``message — hint``), None: none
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"direction": self.direction.value, "version": self.version, "commit": self.commit,
                "transferred": self.transferred, "versions": len(self.moved) + len(self.up_to_date),
                "moved": len(self.moved), "up_to_date": len(self.up_to_date), "moved_versions": self.moved,
                "remote": _remote_json(self.remote), "git": self.git.to_json() if self.git else None,
                "not_checked_out": self.not_checked_out, "failed": [f.to_json() for f in self.failed],
                "error": self.error}
