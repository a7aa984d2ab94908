"""``annover snapshot --dry-run``: what a snapshot would record, written nowhere.

The input is read and checked exactly as the snapshot reads it against HEAD (HEAD's key,
validation level and config by default; a Label Studio pull as incremental as the
snapshot's), then compared with HEAD as ``annover diff HEAD`` would compare the version the
snapshot would make: whether it would make one (the content ids, config and source data, as
the snapshot decides), the tag it would get, and the diff. Nothing is stored, committed or
tagged; the repository lock is not taken (nothing to protect), so HEAD may move meanwhile,
as ``git diff`` races a commit.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from annover._lazy import lazy
from annover.model import canonical as C
from annover.repo.core import RepoCore, read_version_table
from annover.repo.results import SnapshotResult
from annover.repo.snapshot import (Content, Progress, SnapshotInput, check_head_here, check_new_tag, next_tag, read_inputs,
                                   same_content)
from annover.store.objects import ObjectRef
from annover.store.versions import Version

if TYPE_CHECKING:  # pragma: no cover
    from annover import diffing
else:
    diffing = lazy("annover.diffing")


def version_side(repo: RepoCore, v: Version | None, rev: str) -> "diffing.Side":
    """Version ``v``'s tables whole as one side of a diff (nothing for None: a first snapshot)."""
    if v is None:
        return diffing.Side(C.schema("tasks").empty_table(), C.schema("annotations").empty_table())
    link = v.record.get("source") or {}
    files = json.loads(repo.store.get(ObjectRef.from_json(link["files"]), "source file list")) \
        if link.get("files") else None
    config = repo.store.get(v.config_ref, "labeling config").decode("utf-8") if v.config_ref else None
    return diffing.Side(read_version_table(repo.store, v, "tasks"), read_version_table(repo.store, v, "annotations"),
                        {mv: read_version_table(repo.store, v, "predictions", mv) for mv in v.model_versions},
                        config=config, source=files, stats=v.stats or None, id=v.id, rev=rev)


def content_side(content: Content, rev: str) -> "diffing.Side":
    """What a snapshot read, as the other side."""
    return diffing.Side(content.tasks, content.annotations, dict(content.by_model),
                        config=content.config_bytes.decode("utf-8") if content.config_bytes else None,
                        source=content.source_files if content.source_link else None, rev=rev)


def dry_run(repo: RepoCore, inp: SnapshotInput, progress: Progress, label: str) -> SnapshotResult:
    """The snapshot of ``inp`` not made: ``changed`` (a version would be made), ``tag`` (its
    name), ``diff`` (HEAD -> it; ``label`` names the input in the diff)."""
    check_new_tag(repo, inp.tag)
    repo.begin_write()  # a detached git HEAD (or git's merge under way) refuses the snapshot, so its dry run
    head = repo.head()
    check_head_here(repo, head)  # compared with HEAD's tables: a clone that has not pulled them is told so first
    content = read_inputs(repo, inp, head, progress)
    parent = repo.version(head) if head else None
    progress("comparing with HEAD")
    sids = {k: C.content_id(t, k if isinstance(k, str) else "predictions") for k, t in content.named.items()}
    changed = parent is None or not same_content(parent, sids, content)
    name = repo.name_of(head) if head else "(nothing)"
    diff = diffing.diff_tables(version_side(repo, parent, name), content_side(content, label))
    return SnapshotResult(None, changed, (inp.tag or next_tag(repo)) if changed else None, None, content.warnings,
                          head=head, reading=content.reading.to_json(), remembered=content.remembered,
                          diff=diff, dry_run=True)
