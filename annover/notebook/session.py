"""An annotation session: tasks, answers, undo and a journal, as a plain state machine.

The notebook widget is a view over a :class:`Session`; everything it does (answer, skip,
back, undo, resume) is a method here, so it is tested without a browser. Every change is
written to the session's journal (a JSON file, written whole to a temporary name and
renamed into place) before the method returns, so a kernel that dies loses nothing
answered, and a session made again on the same tasks resumes where the person stopped.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from annover.errors import InputError, UsageError
from annover.files import write_atomic
from annover.model.canonical import canonical_json

__all__ = ["JOURNAL_SCHEMA", "TEXT", "IMAGE", "Answer", "Earlier", "Prediction", "Session", "Task", "check_labels",
           "session_id"]

JOURNAL_SCHEMA = "annover.notebook-journal/1"
TEXT, IMAGE = "text", "image"


@dataclass(frozen=True)
class Prediction:
    """A model's answer on one task, shown pre-selected."""

    labels: tuple[str, ...]
    model_version: str
    score: float | None = None

    def to_json(self) -> dict:
        return {"labels": list(self.labels), "model_version": self.model_version, "score": self.score}


@dataclass(frozen=True)
class Earlier:
    """The person's own answer on the control in the version the task came from (their Label Studio
    annotation, or an earlier session's): shown, pre-selected, and replaced by a new answer."""

    labels: tuple[str, ...]
    skipped: bool

    def to_json(self) -> dict:
        return {"labels": list(self.labels), "skipped": self.skipped}


@dataclass(frozen=True)
class Task:
    """One item to label: its key, its task data and which data field is shown, and how."""

    key: str
    data: dict
    field: str
    kind: str = TEXT
    prediction: Prediction | None = None
    earlier: Earlier | None = None
    #: with ``only="disagreement"``: the other annotators' answers on the control, (annotator, labels)
    others: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def value(self) -> Any:
        return self.data.get(self.field)


@dataclass(frozen=True)
class Answer:
    """One answer, as Label Studio records it: the labels, or a skip (``was_cancelled``)."""

    labels: tuple[str, ...]
    skipped: bool
    lead_time: float
    created_at: str
    updated_at: str

    def to_json(self) -> dict:
        return {"labels": list(self.labels), "skipped": self.skipped, "lead_time": self.lead_time,
                "created_at": self.created_at, "updated_at": self.updated_at}

    @classmethod
    def from_json(cls, d: dict) -> "Answer":
        return cls(tuple(d["labels"]), bool(d["skipped"]), float(d["lead_time"]), str(d["created_at"]),
                   str(d["updated_at"]))


def _iso(t: float) -> str:
    """A time as Label Studio writes it (``2026-12-02T21:00:00.123456Z``)."""
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """The journal file's identity (inode, mtime, size): every write renames a new file into place."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def session_id(task_keys: Sequence[str], labels: Sequence[str], from_name: str, annotator: str,
               multiple: bool) -> str:
    """What makes two sessions the same one (to resume): the tasks, the labels, the control, who."""
    doc = {"tasks": list(task_keys), "labels": list(labels), "from_name": from_name, "annotator": annotator,
           "multiple": multiple}
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()[:16]


def check_labels(labels: Sequence[str]) -> None:
    """Refuse a label no one can tell from a button: empty or blank (a CSV's empty cell), or one that
    differs from another only in spaces at its ends (``"a "`` and ``"a"``: two buttons reading ``a``)."""
    blank = next((i for i, lab in enumerate(labels) if not str(lab).strip()), None)
    if blank is not None:  # a button showing nothing, saved as the choice ""
        raise UsageError(f"labels[{blank}] is empty ({labels[blank]!r})", "give each label a name")
    seen: dict[str, int] = {}
    for i, lab in enumerate(labels):
        j = seen.setdefault(str(lab).strip(), i)
        if j != i and labels[j] != lab:
            raise UsageError(f"labels[{j}] {labels[j]!r} and labels[{i}] {lab!r} differ only in spaces at their ends "
                             "(two buttons that read the same)", "give each label once, without spaces around it")


@dataclass
class _Undo:
    task: str
    before: Answer | None
    position: int


@dataclass
class Session:
    """Labeling ``tasks`` with ``labels`` (of the Choices control ``from_name`` on ``to_name``).

    ``journal``: the file the answers go to (None: kept in memory only). When it exists and
    belongs to the same session (same tasks, labels, control and annotator), the session
    resumes from it. ``base``: the version the tasks came from (None for new tasks).
    ``clock`` gives the time in seconds (tests pass a fake one).
    """

    tasks: list[Task]
    labels: list[str]
    annotator: str
    from_name: str = "label"
    to_name: str = "text"
    multiple: bool = False
    journal: Path | None = None
    base: str | None = None
    clock: Callable[[], float] = time.time
    position: int = 0
    answers: dict[str, Answer] = field(default_factory=dict)
    #: (task key, annotation key) of the answers a save put in a version, so a later save updates them
    saved: dict[str, str] = field(default_factory=dict)
    #: task key -> ``updated_at`` of each answer as saved (what changed since is not in a version)
    saved_at: dict[str, str] = field(default_factory=dict)
    saved_version: str | None = None
    saved_name: str | None = None
    #: task key -> the person's own annotations (Label Studio JSON) a save replaced with this session's
    #: answer: merged into it at every save (its id, creation time, other controls), put back if taken back
    replaced: dict[str, list[dict]] = field(default_factory=dict)
    history: list[_Undo] = field(default_factory=list)
    selection: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.tasks:
            raise UsageError("no tasks to label", "give texts, image paths, a folder of images, or a version "
                                                  "with tasks (check `only=`)")
        if not self.labels:
            raise UsageError("no labels to choose from", "give labels=[...] or a config with a Choices control")
        self.labels = [str(lab) for lab in self.labels]  # Label Studio's choices are text: labels=[1, 2] too
        check_labels(self.labels)
        if len(set(self.labels)) != len(self.labels):
            raise UsageError(f"labels repeat: {self.labels}", "give each label once")
        keys = [t.key for t in self.tasks]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise UsageError(f"task {dup!r} is given twice", "give each task once")
        self._index = {k: i for i, k in enumerate(keys)}
        self.id = session_id(keys, self.labels, self.from_name, self.annotator, self.multiple)
        #: the journal file as this session last read or wrote it (another session writing it changes this)
        self._on_disk: tuple[int, int, int] | None = None
        if self.journal is not None:
            self.journal = Path(self.journal)
            if self.journal.exists():
                self._on_disk = _stamp(self.journal)
                self._resume(self.journal)
        self._shown_at = self.clock()
        self.selection = self.preselected()

    # ------------------------------------------------------------------ reading

    @property
    def total(self) -> int:
        return len(self.tasks)

    @property
    def done(self) -> bool:
        """Every task answered or skipped."""
        return len(self.answers) == self.total

    @property
    def current(self) -> Task | None:
        """The task shown, None past the last one."""
        return self.tasks[self.position] if self.position < self.total else None

    def progress(self) -> dict[str, int]:
        skipped = sum(1 for a in self.answers.values() if a.skipped)
        return {"position": self.position, "total": self.total, "labeled": len(self.answers) - skipped,
                "skipped": skipped, "remaining": self.total - len(self.answers)}

    def unsaved(self) -> int:
        """How many answers (or take-backs) are in the journal but not in a saved version."""
        changed = sum(1 for k, a in self.answers.items() if self.saved_at.get(k) != a.updated_at)
        return changed + sum(1 for k in self.saved_at if k not in self.answers)

    def preselected(self) -> list[str]:
        """What the current task starts with: its answer, else the person's earlier one, else the model's prediction."""
        task = self.current
        if task is None:
            return []
        ans = self.answers.get(task.key)
        if ans is not None and not ans.skipped:
            return list(ans.labels)
        if ans is None and task.earlier is not None and not task.earlier.skipped:
            known = [lab for lab in task.earlier.labels if lab in self.labels]
            return known if self.multiple else known[:1]
        if task.prediction is not None:
            known = [lab for lab in task.prediction.labels if lab in self.labels]
            return known if self.multiple else known[:1]
        return []

    def state(self) -> dict:
        """Everything the journal keeps (what a resumed session must give back)."""
        return {"position": self.position, "answers": {k: a.to_json() for k, a in sorted(self.answers.items())},
                "history": [{"task": u.task, "before": u.before.to_json() if u.before else None,
                             "position": u.position} for u in self.history],
                "saved": dict(sorted(self.saved.items())), "saved_at": dict(sorted(self.saved_at.items())),
                "saved_version": self.saved_version, "saved_name": self.saved_name,
                "replaced": dict(sorted(self.replaced.items()))}

    # ------------------------------------------------------------------ acting

    def choose(self, label: str) -> None:
        """A label button or its key: single choice answers; multi-label toggles the label."""
        label = str(label)
        self._check_label(label)
        if not self.multiple:
            self.answer([label])
        elif label in self.selection:
            self.selection.remove(label)
        else:
            self.selection = [lab for lab in self.labels if lab in self.selection or lab == label]

    def submit(self) -> None:
        """Answer the current task with the selected labels (Enter): multi-label's choice, or single
        choice's pre-selected label (the model's suggestion, or the task's answer)."""
        self.answer(self.selection)

    def answer(self, labels: Sequence[str]) -> None:
        """Answer the current task with ``labels`` and go to the next task."""
        labels = [str(lab) for lab in labels]
        for lab in labels:
            self._check_label(lab)
        if not labels:
            raise UsageError("no label chosen", "choose a label, or skip the task")
        if not self.multiple and len(labels) != 1:
            raise UsageError(f"one label expected, got {len(labels)}", "this control is single choice")
        self._record(tuple(lab for lab in self.labels if lab in labels), skipped=False)

    def skip(self) -> None:
        """Skip the current task (Label Studio's ``was_cancelled``) and go to the next."""
        self._record((), skipped=True)

    def back(self) -> None:
        """Show the previous task (its answer pre-selected, to change it)."""
        if self.position > 0:
            self.goto(self.position - 1)

    def forward(self) -> None:
        """Show the next task without answering this one."""
        if self.position < self.total:
            self.goto(self.position + 1)

    def goto(self, index: int) -> None:
        """Show task ``index`` (``total``: past the last task)."""
        if not 0 <= index <= self.total:
            raise UsageError(f"no task {index}", f"give 0 to {self.total - 1}")
        before = self._checkpoint()
        self.position = index
        self._moved()
        self._write(before)

    def undo(self) -> bool:
        """Take back the last answer or skip and show its task again; False if there is none."""
        if not self.history:
            return False
        before = self._checkpoint()
        u = self.history.pop()
        if u.before is None:
            self.answers.pop(u.task, None)
        else:
            self.answers[u.task] = u.before
        self.position = u.position
        self._moved()
        self._write(before)
        return True

    # ------------------------------------------------------------------ inside

    def _check_label(self, label: str) -> None:
        if label not in self.labels:
            raise UsageError(f"unknown label {label!r}", f"choose one of {', '.join(self.labels)}")

    def _record(self, labels: tuple[str, ...], skipped: bool) -> None:
        task = self.current
        if task is None:
            raise UsageError("no task to answer: every task is done", "go back to change an answer, or save")
        checkpoint = self._checkpoint()
        now = self.clock()
        before = self.answers.get(task.key)
        lead = round(max(now - self._shown_at, 0.0), 3) + (before.lead_time if before else 0.0)
        self.answers[task.key] = Answer(labels, skipped, round(lead, 3),
                                        before.created_at if before else _iso(now), _iso(now))
        self.history.append(_Undo(task.key, before, self.position))
        self.position += 1
        self._moved()
        self._write(checkpoint)

    def _moved(self) -> None:
        self._shown_at = self.clock()
        self.selection = self.preselected()

    def header(self) -> dict:
        return {"schema": JOURNAL_SCHEMA, "session": self.id, "annotator": self.annotator,
                "from_name": self.from_name, "to_name": self.to_name, "labels": self.labels,
                "multiple": self.multiple, "base": self.base, "tasks": [t.key for t in self.tasks]}

    def _checkpoint(self) -> tuple:
        """What an action changes, to put back when its journal cannot be written."""
        return dict(self.answers), list(self.history), self.position, self._shown_at, list(self.selection)

    def _write(self, checkpoint: tuple | None = None) -> None:
        """The journal, written whole; when it cannot be, the action is taken back (``checkpoint``) and
        refused, so the widget never shows one task while the session answers another."""
        if self.journal is None:
            return
        doc = {**self.header(), **self.state()}
        taken = ("that action was not taken" if checkpoint is not None
                 else "the save is made, the journal does not know it")
        if _stamp(self.journal) != self._on_disk:  # the same session open twice (two tabs, two kernels)
            self._take_back(checkpoint)
            raise UsageError(f"{self.journal}: another window or kernel has written this session's journal since "
                             "this one read it", f"run the cell again to go on from the journal; {taken}")
        try:
            write_atomic(self.journal, (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode())
        except OSError as e:
            self._take_back(checkpoint)
            raise UsageError(f"{self.journal}: cannot write the session journal: {e.strerror or e}",
                             f"free some space or give journal= a folder you can write to; {taken}") from None
        self._on_disk = _stamp(self.journal)

    def _take_back(self, checkpoint: tuple | None) -> None:
        if checkpoint is not None:
            self.answers, self.history, self.position, self._shown_at, self.selection = checkpoint

    def carry_over(self, answers: dict[str, Answer]) -> int:
        """Answers the person gave on these tasks in another session of theirs and never saved (the
        same call with one text more is another session): taken into this new one, so they are shown,
        counted and saved, not left in a journal nothing opens. Tasks answered here, or by the person in
        the version (a save since, which may be newer), keep their answer."""
        new = {k: a for k, a in answers.items()
               if k in self._index and k not in self.answers and self.tasks[self._index[k]].earlier is None}
        if not new:
            return 0
        checkpoint = self._checkpoint()
        self.answers.update(new)
        self.position = next((i for i, t in enumerate(self.tasks) if t.key not in self.answers), self.total)
        self._write(checkpoint)
        self._moved()
        return len(new)

    def mark_saved(self, version: str, keys: dict[str, str], name: str | None = None,
                   replaced: dict[str, list[dict]] | None = None) -> None:
        """A save put the answers in ``version`` (``keys``: task key -> annotation key; ``name``: its tag;
        ``replaced``: the person's own annotations it replaced, by task)."""
        self.saved = dict(keys)
        if replaced is not None:
            self.replaced = dict(replaced)
        self.saved_at = {k: a.updated_at for k, a in self.answers.items()}
        self.saved_version = version
        self.saved_name = name or version[:12]
        self._write()

    def _resume(self, path: Path) -> None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: cannot read the session journal: {e}",
                             "move the file away to start the session afresh") from None
        if not isinstance(doc, dict) or doc.get("schema") != JOURNAL_SCHEMA:
            raise InputError(f"{path}: not an annover notebook journal", "give another journal= path")
        if doc.get("session") != self.id:
            raise UsageError(f"{path} is the journal of another session (other tasks, labels or annotator)",
                             "give another journal= path, or the same tasks and labels to resume it")
        try:
            self.answers = {k: Answer.from_json(a) for k, a in doc["answers"].items() if k in self._index}
            self.history = [_Undo(u["task"], Answer.from_json(u["before"]) if u["before"] else None,
                                  int(u["position"])) for u in doc["history"]]
            self.position = min(max(int(doc["position"]), 0), self.total)
            self.saved = {str(k): str(v) for k, v in (doc.get("saved") or {}).items()}
            self.saved_at = {str(k): str(v) for k, v in (doc.get("saved_at") or {}).items()}
            self.saved_version = doc.get("saved_version")
            self.saved_name = doc.get("saved_name")
            self.replaced = {str(k): [dict(a) for a in v] for k, v in (doc.get("replaced") or {}).items()}
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"{path}: damaged session journal ({e!r})",
                             "move the file away to start the session afresh") from None
