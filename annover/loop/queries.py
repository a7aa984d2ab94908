"""The loop's queries (DuckDB) over a version's annotations and predictions.

Who said what, one row per (task, control, annotator): an annotator's answer is their
latest one on the task (skips are not answers); a control is a *classification* control
where its results carry labels and no shape (Choices, Taxonomy) and a *region* control
where they have a shape (spans, boxes, polygons: the diff's rule,
:data:`annover.diffing.match.MAY_BE_SHAPE`). A label is the sorted distinct labels of one
answer for one control, joined with ``", "`` as the diff shows them. Resolving a task's
label uses the diff's policies (:data:`annover.diffing.sql.POLICY_ORDER`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.diffing.match import MAY_BE_SHAPE
from annover.diffing.sql import POLICY_ORDER
from annover.store.duck import cursor, fetch

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
else:
    pa = lazy("pyarrow")

__all__ = ["Session", "SHAPE_RE", "chosen", "ratings", "resolved", "best_predictions", "regions"]

SHAPE_RE = MAY_BE_SHAPE.pattern.replace("'", "''")
_LABELLED = "region_key <> '' AND from_name IS NOT NULL AND labels IS NOT NULL AND len(labels) > 0"


def chosen(ann: str) -> str:
    """One answer per (task, annotator): their latest that is not a skip."""
    return f"""
        SELECT task_key, annotation_key, annotator, ts, gt FROM (
            SELECT task_key, annotation_key, coalesce(annotator, '-') AS annotator, bool_or(was_cancelled) AS skip,
                   bool_or(ground_truth) AS gt, max(coalesce(updated_at, created_at, '')) AS ts
            FROM {ann} GROUP BY task_key, annotation_key, annotator)
        WHERE NOT skip
        QUALIFY row_number() OVER (PARTITION BY task_key, annotator ORDER BY ts DESC, annotation_key DESC) = 1"""


def ratings(ann: str, chosen_name: str) -> str:
    """(task, control, annotator) -> label list and label text, for classification controls."""
    return f"""
        SELECT r.task_key, r.from_name, c.annotator, c.annotation_key, any_value(c.gt) AS gt, any_value(c.ts) AS ts,
               list_sort(list_distinct(flatten(list(r.labels)))) AS labels,
               array_to_string(list_sort(list_distinct(flatten(list(r.labels)))), ', ') AS label
        FROM {ann} AS r JOIN {chosen_name} AS c ON r.task_key = c.task_key AND r.annotation_key = c.annotation_key
        WHERE r.region_key <> '' AND r.from_name IS NOT NULL AND r.labels IS NOT NULL AND len(r.labels) > 0
          AND NOT regexp_matches(coalesce(r.value, ''), '{SHAPE_RE}')
        GROUP BY r.task_key, r.from_name, c.annotator, c.annotation_key"""


def resolved(ratings_name: str, policy: str) -> str:
    """Per (task, control) of classification: the label the policy picks (the diff's order)."""
    return f"""
        WITH v AS (SELECT *, count(*) OVER (PARTITION BY task_key, from_name, label) AS votes,
                          count(*) OVER (PARTITION BY task_key, from_name) AS answers FROM {ratings_name})
        SELECT task_key, from_name, labels, label, votes, answers FROM v
        QUALIFY row_number() OVER (PARTITION BY task_key, from_name ORDER BY {POLICY_ORDER[policy]}) = 1"""


def best_predictions(preds: str, shapes: bool = False) -> str:
    """Per (task, control, model version): the labels of its best-scored prediction (classification)."""
    cond = "" if shapes else f"AND NOT regexp_matches(coalesce(value, ''), '{SHAPE_RE}')"
    return f"""
        WITH p AS (SELECT task_key, model_version, prediction_key, from_name,
                          list_sort(list_distinct(flatten(list(labels)))) AS labels,
                          array_to_string(list_sort(list_distinct(flatten(list(labels)))), ', ') AS label,
                          max(score) AS score
                   FROM {preds} WHERE {_LABELLED} {cond}
                   GROUP BY task_key, model_version, prediction_key, from_name)
        SELECT * FROM p QUALIFY row_number() OVER (
            PARTITION BY task_key, from_name, model_version ORDER BY score DESC NULLS LAST, prediction_key) = 1"""


def regions(ann: str, chosen_name: str) -> str:
    """Region rows (values with a shape) of the chosen answers."""
    return f"""
        SELECT r.task_key, c.annotator, c.annotation_key, c.gt, c.ts, r.region_key, r.from_name, r.labels, r.value
        FROM {ann} AS r JOIN {chosen_name} AS c ON r.task_key = c.task_key AND r.annotation_key = c.annotation_key
        WHERE r.region_key <> '' AND r.from_name IS NOT NULL AND r.labels IS NOT NULL AND len(r.labels) > 0
          AND regexp_matches(coalesce(r.value, ''), '{SHAPE_RE}')
        ORDER BY r.task_key, c.annotator, r.region_key"""


class Session:
    """A DuckDB cursor with Arrow tables registered and named queries materialised."""

    def __init__(self, **tables: "pa.Table") -> None:
        self.con = cursor(ordered=False)
        for name, t in tables.items():
            self.con.register(name, t)

    def make(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def fetch(self, sql: str) -> "pa.Table":
        return fetch(self.con, sql)

    def one(self, sql: str) -> Any:
        return self.con.execute(sql).fetchone()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
