"""What a diff returns: the options it ran with, the summary, the row-level table and its schema."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from annover._html import html_block, html_heading, html_notes, html_table
from annover._lazy import lazy
from annover.errors import UsageError
from annover.model import canonical as C

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import pyarrow.parquet as pq
else:
    pa = lazy("pyarrow")
    pq = lazy("pyarrow.parquet")

SCHEMA = "annover.diff/1"
POLICIES = ("latest", "majority", "ground-truth")
#: The default resolution policy of ``--transitions`` and of prediction agreement: a
#: ground-truth answer wins; otherwise (and among several ground truths) the majority;
#: ties go to the latest answer.
DEFAULT_POLICY = "ground-truth"
DEFAULT_IOU = 0.5
DEFAULT_OVERLAP = 0.5
NO_LABEL = "(none)"
NO_TASK = "(no task)"

#: Kinds of change a row can carry, by what they are about.
TASK_KINDS = ("data", "data_hash", "attrs")
REGION_KINDS = ("relabel", "geometry", "value", "control", "to_name", "type", "region")
ANSWER_KINDS = ("skip", "ground_truth", "annotator", "lead_time", "score", "model_version", "attrs")

#: What a row of the row-level diff is (its ``change``) and how a changed one was paired (``match``).
ADDED, REMOVED, CHANGED = "added", "removed", "changed"
BY_KEY, BY_IOU, BY_OVERLAP, BY_POINT, BY_CONTROL = "key", "iou", "overlap", "point", "control"

ROW_COLUMNS = (
    ("table", "string"), ("change", "string"), ("task_key", "string"), ("answer_key", "string"),
    ("region_key_a", "string"), ("region_key_b", "string"), ("annotator", "string"),
    ("model_version", "string"), ("from_name", "string"), ("type", "string"), ("match", "string"),
    ("score", "float64"), ("kinds", "list<string>"), ("labels_a", "list<string>"), ("labels_b", "list<string>"),
    ("value_a", "string"), ("value_b", "string"), ("description", "string"),
)
ROW_FIELDS = [c[0] for c in ROW_COLUMNS]
TABLE_ORDER = {"tasks": 0, "annotations": 1, "predictions": 2}


def row_schema() -> "pa.Schema":
    """Arrow schema of the row-level diff (``DiffResult.rows``, ``--output``)."""
    return pa.schema([pa.field(n, C.arrow_type(t)) for n, t in ROW_COLUMNS])


@dataclass(frozen=True)
class Options:
    """How regions pair (IoU and span-overlap thresholds) and how a task's label is resolved."""

    iou_threshold: float = DEFAULT_IOU
    overlap_threshold: float = DEFAULT_OVERLAP
    policy: str = DEFAULT_POLICY
    transitions: bool = False
    #: keep the rows read for the row table (up to :data:`annover.diffing.answers.KEEP_ROWS`);
    #: False: hold none (a summary of a large diff in less memory), the row table reads them again
    keep_rows: bool = True
    #: False: find only the tasks whose answers differ (``DiffResult.touched``) and, with
    #: ``transitions``, the transitions: what ``annover report`` shows of a diff. Nothing is
    #: counted, no model's agreement computed, no row table kept (``summary`` and ``rows`` refused)
    summary: bool = True

    def check(self) -> "Options":
        for name in ("iou_threshold", "overlap_threshold"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise UsageError(f"{name.replace('_', ' ')} {v!r} is not between 0 and 1",
                                 "give a number such as 0.5")
        if self.policy not in POLICIES:
            raise UsageError(f"unknown policy {self.policy!r}", f"use one of {', '.join(POLICIES)}")
        return self

    def to_json(self) -> dict:
        return {"iou_threshold": self.iou_threshold, "overlap_threshold": self.overlap_threshold,
                "policy": self.policy}


class DiffResult:
    """The diff of two versions: ``summary`` (plain data), ``rows`` (Arrow), ``transitions``.

    The row table, with its descriptions, is built when first asked for.
    """

    def __init__(self, summary: dict, rows: "pa.Table | Callable[[], pa.Table]",
                 transitions: dict | None = None, touched: "pa.Array | None" = None) -> None:
        self.summary = summary
        self._rows = rows
        self.transitions = transitions
        #: the keys of the tasks whose annotations the diff found touched: every other task's
        #: annotations are the same on both sides (None: not known)
        self.touched = touched
        #: (path, force) -> None, raising where :meth:`write_parquet` must not write (set by the repository)
        self.check_output: "Callable[[str, bool], None] | None" = None

    @property
    def rows(self) -> "pa.Table":
        if callable(self._rows):
            self._rows = self._rows()
        return self._rows

    @property
    def identical(self) -> bool:
        if "identical" not in self.summary:
            raise UsageError("this diff ran without its summary (summary=False): it counted nothing",
                             "run the diff again without summary=False")
        return bool(self.summary["identical"])

    def __repr__(self) -> str:
        a, b, t = self.summary.get("a", {}), self.summary.get("b", {}), self.summary.get("tasks", {})
        counts = ", ".join(f"{k}={v}" for k, v in t.items())
        return f"DiffResult({a.get('rev')!r} -> {b.get('rev')!r}, identical={self.summary.get('identical')}, " \
               f"tasks: {counts})"

    def _repr_html_(self) -> str:
        """In a notebook: the counts (tasks, answers, regions, skips: before, after, added, removed,
        changed), the labels whose counts moved, the top relabels, the warnings; from ``summary``
        alone (the row table is not read). Every value escaped."""
        s = self.summary
        a, b = s.get("a") or {}, s.get("b") or {}
        counts = [[what, *(s[what].get(k) for k in ("before", "after", "added", "removed"))]
                  + [s[what].get("changed", s[what].get("data_changed"))]
                  for what in ("tasks", "annotations", "regions", "skipped") if isinstance(s.get(what), dict)]
        moved = [[ctl, lab, x.get("before"), x.get("after"), x.get("delta")]
                 for ctl, labs in (s.get("labels") or {}).items() for lab, x in labs.items() if x.get("delta")]
        relabels = [[r.get("control"), r.get("from"), r.get("to"), r.get("count")] for r in s.get("relabels") or []]
        parts = [html_table(["", "before", "after", "added", "removed", "changed"], counts)]
        if moved:
            parts += [html_heading("labels whose counts moved"),
                      html_table(["control", "label", "before", "after", "delta"], moved)]
        if relabels:
            parts += [html_heading("top relabels (an answer's label changed)"),
                      html_table(["control", "from", "to", "answers"], relabels, limit=10, more="summary['relabels']")]
        parts.append(html_notes(s.get("warnings") or [], "warning"))
        touched = (s.get("tasks") or {}).get("with_annotation_changes")
        return html_block(f"diff {_side(a)} → {_side(b)}", *parts, sub="identical" if s.get("identical") else
                          f"{touched} task(s) with changed answers; .rows: the row-level table"
                          if touched is not None else ".rows: the row-level table")

    def __bool__(self) -> bool:  # truthy when there are differences, like a non-empty diff
        return not self.identical

    def rows_json(self, limit: int | None = None) -> list[dict]:
        t = self.rows if limit is None else self.rows.slice(0, limit)
        return t.to_pylist()

    def write_parquet(self, path: str, force: bool = False) -> None:
        """Write the row-level diff to ``path`` (a temporary file renamed into place); an existing
        file is replaced only with ``force``, and never one the repository keeps (``.annover/``,
        ``.git/``, ``.dvc/``: the check :meth:`annover.Repo.diff` gives the result)."""
        if self.check_output is not None:
            self.check_output(path, force)
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        try:
            pq.write_table(self.rows, tmp, compression="zstd")
            os.replace(tmp, p)
        finally:
            tmp.unlink(missing_ok=True)

    def to_json(self, rows: bool = False, limit: int | None = None) -> dict:
        """The ``--json`` document (``schemas/diff.schema.json``)."""
        out = dict(self.summary)
        out["transitions"] = self.transitions
        if rows:
            items = self.rows_json(limit)
            out["rows"] = {"total": self.rows.num_rows, "shown": len(items), "items": items}
        else:
            out["rows"] = None
        return out


def _side(x: dict) -> str:
    """A side of the diff as the summary names it: ``v1 (f7426f5c7374)``."""
    short = str(x.get("id") or "")[:12]
    return f"{x.get('rev')} ({short})" if short and short != x.get("rev") else str(x.get("rev"))


@dataclass
class Side:
    """One side of a pure diff: canonical tables (conformed, key-sorted) and what goes with them."""

    tasks: "pa.Table"
    annotations: "pa.Table"
    predictions: dict[str, "pa.Table"] = field(default_factory=dict)
    config: str | None = None
    #: source data as {relpath: sha256}, or None when the side links none
    source: dict[str, str] | None = None
    stats: dict | None = None
    id: str | None = None
    rev: str | None = None


def fmt_labels(labels: Any) -> str:
    """A list of labels as the words show it (a null label as "")."""
    return ", ".join(x or "" for x in labels) if labels else NO_LABEL
