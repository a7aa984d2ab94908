"""What one diff compares: a :class:`Plan` (the rows that may differ, the rest of two
versions) and what comparing it found (:class:`Compared`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from annover.diffing.answers import TableDiff
from annover.diffing.sources import Source
from annover.diffing.tasks import TaskDiff

Pair = tuple[Source, Source]


class WholeTables(Protocol):
    """Both sides' whole tables, for what reads them all (transitions, prediction agreement)."""

    def tasks(self, side: str) -> Source: ...

    def annotations(self, side: str) -> Source: ...

    def predictions(self, side: str, model_version: str) -> Source: ...

    def same_agreement_input(self, model_version: str) -> bool:
        """Both sides have the same annotations and predictions of ``model_version``."""
        ...


@dataclass
class Plan:
    """What to compare: the rows that may differ (None: identical) and the rest of two versions."""

    a: dict  # {"rev", "id"}
    b: dict
    stats_a: dict
    stats_b: dict
    tasks: Pair | None
    annotations: Pair | None
    predictions: dict[str, Pair | None]  # model versions on both sides
    mv_a: list[str]
    mv_b: list[str]
    config_a: str | None
    config_b: str | None
    config_changed: bool
    source: dict | None
    whole: WholeTables
    parts: dict = field(default_factory=lambda: {"compared": 0, "skipped": 0})
    #: warnings found while reading (appended to the summary's)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Compared:
    """The diffs of a plan's tables and config."""

    tasks: TaskDiff
    annotations: TableDiff
    predictions: dict[str, TableDiff]
    config: dict
    warnings: list[str]
