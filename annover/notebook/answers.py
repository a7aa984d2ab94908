"""A session's answers as Label Studio annotations, canonical rows, and a new version.

Each answer is written as Label Studio writes an annotation (``completed_by``, a ``choices``
result, ``was_cancelled`` for a skip, ``lead_time``, times) and read back through the Label
Studio reader, so its keys and columns are what a Label Studio export of the same answer
gives. The new version holds HEAD's tables plus these rows (a later save of the same
session replaces its earlier rows, as an update of the annotation; an answer on a task the person
had answered before, in Label Studio or another session, updates that annotation), so ``annover diff``
shows what the session changed and nothing else.
"""

from __future__ import annotations

import errno
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.errors import InputError, LockError, NotWritableError, UsageError
from annover.files import NO_ROOM, refused_hint
from annover.formats.label_studio import RecordError, annotator_of, parse_tasks
from annover.formats.ls_writer import annotator_out, dump, to_tasks
from annover.formats.tables import Tables, finish
from annover.model import canonical as C
from annover.model.config import HEAD_CONFIG, config_structure
from annover.notebook.session import Answer, Session
from annover.notebook.sources import add_choices
from annover.notebook.who import Who, who_in
from annover.repo import Repo
from annover.repo.results import SnapshotResult
from annover.repo.snapshot import SnapshotInput, make_version

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["SaveResult", "answers_table", "ls_annotation", "merged", "save"]

FORMAT = "notebook"


def ls_annotation(ans: Answer, session: Session, name: str | None = None) -> dict:
    """One answer as a Label Studio annotation (by ``name``, the version's name of the person where
    it names them otherwise: a user id, the e-mail in other case; default the session's annotator)."""
    result = [] if ans.skipped else [{
        "from_name": session.from_name, "to_name": session.to_name, "type": "choices",
        "value": {"choices": list(ans.labels)}, "origin": "manual"}]
    return {"completed_by": annotator_out(name or session.annotator), "result": result,
            "was_cancelled": ans.skipped, "ground_truth": False, "lead_time": ans.lead_time, "created_at": ans.created_at,
            "updated_at": ans.updated_at}


def answers_table(session: Session) -> "pa.Table":
    """The session's answers, one row per task answered, in task order."""
    rows = []
    for t in session.tasks:
        a = session.answers.get(t.key)
        if a is not None:
            rows.append({"task_key": t.key, "annotator": session.annotator, "from_name": session.from_name,
                         "labels": list(a.labels), "was_cancelled": a.skipped, "lead_time": a.lead_time,
                         "created_at": a.created_at, "updated_at": a.updated_at})
    schema = pa.schema([("task_key", pa.string()), ("annotator", pa.string()), ("from_name", pa.string()),
                        ("labels", pa.list_(pa.string())), ("was_cancelled", pa.bool_()),
                        ("lead_time", pa.float64()), ("created_at", pa.string()), ("updated_at", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


@dataclass
class SaveResult:
    """What ``save`` made: the snapshot's result and the annotation rows the session added."""

    snapshot: SnapshotResult
    answers: "pa.Table"

    @property
    def version(self) -> Any:
        return self.snapshot.version

    @property
    def tag(self) -> str | None:
        return self.snapshot.tag

    def to_json(self) -> dict:
        return {**self.snapshot.to_json(), "answers": self.answers.num_rows}


def _parse(tasks: list[dict], key: str | None) -> Any:
    try:
        return parse_tasks(tasks, key=key, source="notebook session")
    except RecordError as e:
        raise InputError(str(e), "check the task data") from None


def _rows_of(table: "pa.Table", key: str) -> list[dict]:
    if table.num_rows == 0:
        return []
    return table.filter(pc.equal(table.column("task_key"), key)).to_pylist()


def new_rows(session: Session, base_tasks: "pa.Table", base_ann: "pa.Table", key: str | None,
             replaced: dict[str, list[dict]] | None = None,
             names: dict[str, str] | None = None) -> tuple[list[dict], list[dict], dict[str, str]]:
    """(task rows to add, annotation rows to add, task key -> annotation key) of the answers.

    ``base_ann`` is HEAD's annotations without the person's own on the tasks this session answers
    (or answered); ``replaced``: those own annotations (Label Studio JSON) by task, which an answer
    updates (:func:`merged`) and which come back as they were where the answer was taken back;
    ``names``: task key -> the name the version gives the person there, which the update keeps.
    """
    replaced, names = replaced or {}, names or {}
    known = set(base_tasks.column("task_key").to_pylist())
    task_rows: list[dict] = []
    ann_rows: list[dict] = []
    keys: dict[str, str] = {}
    for t in session.tasks:
        ans = session.answers.get(t.key)
        if ans is None and not (t.key in known and replaced.get(t.key)):
            continue
        if t.key in known:
            mine = [merged(ls_annotation(ans, session, names.get(t.key)), replaced.get(t.key) or [],
                           session.from_name)] if ans \
                else replaced[t.key]
            rows = _known_rows(t.key, base_tasks, base_ann, mine)
        else:
            parsed = _parse([{"data": t.data, "annotations": [ls_annotation(ans, session)]}], key)
            if parsed.tasks[0]["task_key"] != t.key:
                raise InputError(f"task {t.key!r} reads back with key {parsed.tasks[0]['task_key']!r}",
                                 "give the same key= as when the session started")
            task_rows.extend(parsed.tasks)
            rows = parsed.annotations
        if ans is not None:
            keys[t.key] = rows[0]["annotation_key"]
        ann_rows.extend(rows)
    return task_rows, ann_rows, keys


def _known_rows(task_key: str, base_tasks: "pa.Table", base_ann: "pa.Table", mine: list[dict]) -> list[dict]:
    """The rows of annotations ``mine`` added to a task of HEAD, read as a Label Studio export of it."""
    trow = _rows_of(base_tasks, task_key)[0]
    existing = _rows_of(base_ann, task_key)
    task = to_tasks([trow], existing, [])[0]
    # a task read from an import file had no "annotations" key, and is written back without one
    task.setdefault("annotations", []).extend(mine)
    task["id"] = task_key  # parsed with key="id", so the rows carry the version's task key
    before = {r["annotation_key"] for r in existing}
    rows = [r for r in _parse([task], "id").annotations if r["annotation_key"] not in before]
    for r in rows:
        r["ls_task_id"] = trow["ls_task_id"]
    return rows


def _when(a: dict) -> str:
    return str(a.get("updated_at") or a.get("created_at") or "")


def merged(ann: dict, earlier: list[dict], control: str) -> dict:
    """A new answer as an update of the person's earlier annotations of the task (as Label Studio
    updates the one annotation a person has on a task when they change it): the latest one's id,
    ``completed_by`` as written where it names the same annotator, creation time and ground-truth
    flag, its lead time plus this answer's, and the results of other controls (each from the latest
    that has it); the answer's own control is the new answer's."""
    if not earlier:
        return ann
    by_time = sorted(earlier, key=_when, reverse=True)
    latest = by_time[0]
    seen = {control}
    others: list[dict] = []
    for a in by_time:
        results = [r for r in a.get("result") or [] if isinstance(r, dict)]
        names = {r.get("from_name") for r in results} - seen
        others += [r for r in results if r.get("from_name") in names]
        seen |= names
    out = {**ann, "result": ann["result"] + others, "created_at": latest.get("created_at") or ann["created_at"],
           "ground_truth": bool(latest.get("ground_truth")),
           "lead_time": round(float(latest.get("lead_time") or 0.0) + ann["lead_time"], 3)}
    if latest.get("id") is not None:
        out["id"] = latest["id"]
    if annotator_of(latest.get("completed_by")) == annotator_of(ann["completed_by"]):  # as written: {id, email}
        out["completed_by"] = latest["completed_by"]
    return out


def _own_earlier(session: Session, base_tasks: "pa.Table", ann: "pa.Table",
                 who: Who) -> tuple[set, dict[str, list[dict]], dict[str, str]]:
    """(every (task key, annotation key) of the person's own annotations on the tasks the session
    answers or answered, the own annotations a save replaces by task): the latter are those of the
    version before this session's first save of the task, kept in the session from then on; and by
    task, the name the version gives the person in their latest one there. Whose an annotation is:
    ``who`` (the same e-mail in any case, a user id the data maps to it)."""
    involved = set(session.answers) | set(session.saved)
    mine = ann.filter(pa.array(who.mask(ann.column("annotator").to_pylist()), pa.bool_())) \
        if ann.num_rows and involved else None
    own = [r for r in mine.to_pylist() if r["task_key"] in involved] if mine is not None else []
    pairs = {(r["task_key"], r["annotation_key"]) for r in own} | set(session.saved.items())
    replaced = dict(session.replaced)
    known = set(base_tasks.column("task_key").to_pylist())
    for k in sorted({r["task_key"] for r in own} - set(replaced)):
        rows = [r for r in own if r["task_key"] == k and (k, r["annotation_key"]) not in session.saved.items()]
        if rows and k in known:
            replaced[k] = to_tasks(_rows_of(base_tasks, k), rows, [])[0].get("annotations") or []
    latest = sorted(own, key=lambda r: (str(r["updated_at"] or r["created_at"] or ""), r["annotation_key"]))
    names = {r["task_key"]: r["annotator"] for r in latest}
    return pairs, {k: v for k, v in replaced.items() if v}, names


def _table(rows: list[dict], name: str) -> "pa.Table":
    return pa.Table.from_pylist(rows, schema=C.schema(name)) if rows else C.schema(name).empty_table()


def _without(ann: "pa.Table", pairs: set[tuple[str, str]]) -> "pa.Table":
    """``ann`` without the rows of these (task key, annotation key) pairs."""
    if not pairs or ann.num_rows == 0:
        return ann
    keep = [(t, a) not in pairs for t, a in zip(ann.column("task_key").to_pylist(),
                                                        ann.column("annotation_key").to_pylist())]
    return ann.filter(pa.array(keep, pa.bool_()))


def _without_minus(original: str | None, key: str) -> str | None:
    """A task's ``ls_original`` no longer saying that its input had no ``key`` field."""
    d = json.loads(original) if original else None
    if not isinstance(d, dict) or key not in (d.get("-") or ()):
        return original
    minus = [k for k in d.pop("-") if k != key]
    if minus:
        d["-"] = minus
    return dump(d) if d else None


def _answers_written(tasks: "pa.Table", answered: set[str]) -> "pa.Table":
    """``tasks`` with each answered one's provenance no longer saying its input had no "annotations"
    key (a Label Studio import file's task): the key holds the answers now, and an export that left
    it out, as it was read, left the answers out."""
    if tasks.num_rows == 0 or not answered:
        return tasks
    keys = tasks.column("task_key").to_pylist()
    before = tasks.column("ls_original").to_pylist()
    after = [_without_minus(o, "annotations") if k in answered else o for k, o in zip(keys, before)]
    if after == before:
        return tasks
    i = tasks.schema.get_field_index("ls_original")
    return tasks.set_column(i, tasks.schema.field(i), pa.array(after, tasks.schema.field(i).type))


def save(session: Session, repo: Repo, config_text: str | None, *, message: str = "", tag: str | None = None,
         key: str | None = None) -> SaveResult:
    """A new version: HEAD's tables plus the session's answers (its earlier save's rows replaced).

    HEAD is the one when reading starts: a version that lands while the tables are read (another
    session's save) refuses the write, and the save is made again on top of it (up to 3 times).
    """
    if not session.answers and not session.saved:  # every saved answer taken back: a version without them
        raise UsageError("nothing answered yet", "label or skip a task first")
    tries = 0
    while True:
        start = repo.begin_write()
        try:
            return _save_on(session, repo, config_text, start, message=message, tag=tag, key=key)
        except LockError:
            tries += 1
            if tries >= 3 or repo.committed_head() == start:  # not a version landed meanwhile
                raise
        except (OSError, NotWritableError) as e:  # the repository already took back what it wrote (Repo.lock)
            if e.errno not in _NO_ROOM:
                raise
            raise _no_room(e, repo, session) from (e.__cause__ if isinstance(e, NotWritableError) else e)


def _no_room(e: "OSError | NotWritableError", repo: Repo, session: Session) -> NotWritableError:
    """A save the disk had no room for, as the CLI says a full disk (exit 6): the file, why, what to do."""
    kept = f"in the journal {session.journal}" if session.journal else "in this session"
    return NotWritableError(str(e.filename or repo.dir), f"{e.strerror or e}: no version saved", e.errno,
                            refused_hint(e.errno, f"call save() again: the answers are kept {kept}"))


#: a save the disk has no room for (a full disk, a quota, a file-size limit)
_NO_ROOM = NO_ROOM | {errno.EFBIG}


def _with_labels(text: str | None, session: Session) -> str | None:
    """HEAD's config with the session's labels its control lacks added (a class added mid-way: the
    version says it has the label its answers give, and ``annover diff`` shows it added)."""
    ctl = config_structure(text).get(session.from_name)
    if text is None or ctl is None or set(session.labels) <= set(ctl["labels"]):
        return text
    return add_choices(text, session.from_name, session.labels, HEAD_CONFIG)


def _save_on(session: Session, repo: Repo, config_text: str | None, start: str | None, *, message: str,
             tag: str | None, key: str | None) -> SaveResult:
    """The save on HEAD as it was at ``start`` (refused with LockError if another version landed since)."""
    head = repo.head()
    v = repo.show(head) if head else None
    if v is not None:
        base = {name: repo.load(v.id, name) for name in C.TABLES}
        if v.config_ref:
            config_text = _with_labels(repo.config_text(v.id), session)
    else:
        base = {name: C.schema(name).empty_table() for name in C.TABLES}
    # the person's own annotations on the tasks answered: replaced (one annotation per person and task)
    who = who_in(repo, session.annotator, base["annotations"])
    own, replaced, names = _own_earlier(session, base["tasks"], base["annotations"], who)
    base_ann = _without(base["annotations"], own)
    task_rows, ann_rows, keys = new_rows(session, base["tasks"], base_ann, key, replaced, names)
    added = finish(_table(ann_rows, "annotations"), "annotations", "notebook session")
    source = "notebook session"
    anns = finish(pa.concat_tables([base_ann, added]), "annotations", source)
    # every task with answers, this session's and those an earlier save left unexported
    base_tasks = _answers_written(base["tasks"], set(anns.column("task_key").to_pylist()))
    tables = Tables(finish(pa.concat_tables([base_tasks, _table(task_rows, "tasks")]), "tasks", source),
                    anns, base["predictions"], FORMAT)
    origin = {"kind": "notebook", "session": session.id, "annotator": session.annotator,
              "control": session.from_name, "tasks": session.total, "answers": len(session.answers),
              "base": session.base, "journal": session.journal.name if session.journal else None}
    src = (v.record.get("source") or {}).get("path") if v is not None else None
    inp = SnapshotInput(tables=tables, origin=origin, config_text=config_text, message=message, tag=tag,
                        source_data=str(repo.toplevel / src) if src else None)
    res = make_version(repo, inp, start=start)
    if res.version is not None:
        session.mark_saved(res.version.id, keys, res.tag, replaced)
    return SaveResult(res, added)
