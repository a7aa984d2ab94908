"""The pure entry: the diff of two sides given as canonical Arrow tables (no repository, no I/O)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from annover._lazy import lazy
from annover.diffing.plan import Plan, WholeTables
from annover.diffing.result import DEFAULT_IOU, DEFAULT_OVERLAP, DEFAULT_POLICY, DiffResult, Options, Side
from annover.diffing.run import run
from annover.diffing.source_data import diff_source
from annover.diffing.sources import Source
from annover.model import canonical as C
from annover.model import stats as S
from annover.store.snapshots import TASK_HASH, task_hashes

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
else:
    pa = lazy("pyarrow")


@dataclass
class _Whole:
    """Both sides' whole tables, from the sides themselves."""

    sides: dict[str, Side]

    def tasks(self, side: str) -> Source:
        return Source("tasks", self.sides[side].tasks)

    def annotations(self, side: str) -> Source:
        return Source("annotations", self.sides[side].annotations)

    def predictions(self, side: str, model_version: str) -> Source:
        t = self.sides[side].predictions.get(model_version)
        return Source("predictions", t if t is not None else C.schema("predictions").empty_table())

    def same_agreement_input(self, model_version: str) -> bool:
        return False


def _compared(name: str, t: "pa.Table", stored_hashes: bool) -> Source:
    if not stored_hashes:
        return Source(name, t)
    return Source(name, t.append_column(TASK_HASH, task_hashes(t, name)), hashed=True)


def plain_side(s: Side) -> Side:
    """``s`` with its tables' dictionary-encoded columns decoded (as a Parquet reader's
    ``read_dictionary`` gives them): the diff compares plain values."""
    return dataclasses.replace(s, tasks=C.plain_table(s.tasks), annotations=C.plain_table(s.annotations),
                               predictions={mv: C.plain_table(t) for mv, t in s.predictions.items()})


def _stats(s: Side) -> dict:
    return s.stats if s.stats is not None else S.compute(s.tasks, s.annotations, s.predictions)


def diff_tables(a: Side, b: Side, *, iou_threshold: float = DEFAULT_IOU, overlap_threshold: float = DEFAULT_OVERLAP,
                policy: str = DEFAULT_POLICY, transitions: bool = False, stored_hashes: bool = False,
                whole: "WholeTables | None" = None) -> DiffResult:
    """Diff two sides given as canonical Arrow tables.

    ``stored_hashes``: take the path of parts that store task hashes (the hashes computed
    here as a snapshot stores them); the result is the same, which tests check. ``whole``:
    the sides' whole tables, for what reads them all (transitions, agreement of predictions),
    when ``a`` and ``b`` hold only the rows of the tasks that may differ (their ``stats``
    then given, of the whole tables).
    """
    opts = Options(iou_threshold, overlap_threshold, policy, transitions).check()
    a, b = plain_side(a), plain_side(b)
    pair = lambda name, ta, tb: (_compared(name, ta, stored_hashes), _compared(name, tb, stored_hashes))  # noqa: E731
    source = diff_source({"sha256": None} if a.source is not None else None,
                         {"sha256": None} if b.source is not None else None, a.source, b.source)
    plan = Plan(
        a={"rev": a.rev, "id": a.id}, b={"rev": b.rev, "id": b.id}, stats_a=_stats(a), stats_b=_stats(b),
        tasks=pair("tasks", a.tasks, b.tasks), annotations=pair("annotations", a.annotations, b.annotations),
        predictions={mv: pair("predictions", a.predictions[mv], b.predictions[mv])
                     for mv in sorted(set(a.predictions) & set(b.predictions))},
        mv_a=sorted(a.predictions), mv_b=sorted(b.predictions), config_a=a.config, config_b=b.config,
        config_changed=(a.config or "") != (b.config or ""), source=source, whole=whole or _Whole({"a": a, "b": b}),
    )
    return run(plan, opts)
