"""The loop's queries (DuckDB) over a version's annotations and predictions.

Who said what, one rule for every control: an annotator's answer on a task is their latest one
(skips are not answers; an answer a later one of theirs replaced is no one's answer, though it gave
labels the later one does not). One row per (task, control, annotator) of classification: the labels
that answer gives the control (none: no row, the control is not rated there); of a region control,
that answer's regions (none: the annotator drew none there). A control is a *classification* control
where its results carry labels and no shape (Choices, Taxonomy) and a *region* control
where they have a shape (spans, boxes, polygons: the diff's rule,
:func:`annover.diffing.match.region_row_sql`). A label is the sorted distinct labels of one
answer for one control, joined with :data:`SEP` (shown ``a, b`` as the diff shows them). Resolving a task's
label uses the diff's policies (:data:`annover.diffing.sql.POLICY_ORDER`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.diffing.match import PLAIN_TYPES, has_shape_sql, plain_sql, region_row_sql
from annover.diffing.result import NO_LABEL
from annover.diffing.sql import POLICY_ORDER, replaced
from annover.model.names import labels_named
from annover.store.duck import cursor, fetch

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
else:
    pa = lazy("pyarrow")

__all__ = ["Session", "ratings_sql", "best_sql", "build_ratings", "build_regions", "resolved", "votes_sql",
           "resolved_of_votes", "build_best", "answered", "PLAIN_TYPES", "SEP", "shown", "named", "shown_sql", "split",
           "resolved_regions_sql", "resolved_answers_sql", "replaced_sql", "latest_answers_sql"]

#: What joins an answer's labels into its ``label`` text inside the queries (a character no
#: label holds); :func:`shown` writes it as the diff does, ``a, b``.
SEP = "\x1f"


def shown(label: str | None) -> str | None:
    """A ``label`` text of the queries as people read it (and ``annover diff`` writes it)."""
    return None if label is None else label.replace(SEP, ", ")


def named(label: str | None) -> str | None:
    """A ``label`` text of the queries as a text output names it: each label as
    :func:`annover.model.names.label_name` names it (``'damaged, missing', refund``: two labels, not three;
    none: ``(none)``)."""
    return None if label is None else labels_named(split(label)) or NO_LABEL


def shown_sql(expr: str) -> str:
    """:func:`shown` of a ``label`` text, as an SQL expression."""
    return f"replace({expr}, chr({ord(SEP)}), ', ')"


def split(label: str) -> list[str]:
    """The labels of a ``label`` text."""
    return label.split(SEP) if label else []


#: Result types whose empty label list is an answer of no label (no choice ticked), not a text or a number.
EMPTY_TYPES = "('choices', 'taxonomy')"


def answered(p: str = "", shape: bool = False, skips: bool = True, empty: bool = False) -> str:
    """The rows that give labels (of a classification control, or with ``shape`` of a region control);
    ``empty``: also a choice result that gives none (a model's ``{"choices": []}``: no label, predicted)."""
    kind = region_row_sql(p) if shape else f"({plain_sql(p)} OR NOT {has_shape_sql(p)})"
    some = f"(len({p}labels) > 0 OR {p}type IN {EMPTY_TYPES})" if empty else f"len({p}labels) > 0"
    return (f"{f'NOT {p}was_cancelled AND ' if skips else ''}{p}region_key <> '' AND {p}from_name IS NOT NULL "
            f"AND {p}labels IS NOT NULL AND {some} AND {kind}")


def replaced_sql(ann: str) -> str:
    """The answers (``task_key``, ``annotation_key``) of ``ann`` that a later answer of the same
    annotator on the task replaced: the diff's rule (:func:`annover.diffing.sql.replaced`), a task's
    answers that name no annotator taken as one annotator's."""
    return replaced(ann, unnamed_as_one=True)


def latest_answers_sql(s: "Session", ann: str, rows: str) -> str:
    """``rows`` (a query of rows of ``ann``) of each annotator's latest answer only
    (:func:`replaced_sql`): the rows themselves where no annotator answered a task twice."""
    if not s.one(f"""SELECT EXISTS (SELECT 1 FROM {ann} WHERE NOT coalesce(was_cancelled, false)
                                    AND NOT suffix(annotation_key, '#0'))""")[0]:
        return rows
    return f"SELECT * FROM ({rows}) ANTI JOIN ({replaced_sql(ann)}) USING (task_key, annotation_key)"


#: An answer's labels sorted and distinct; a list of one label (a single choice, most answers)
#: is that already, and skips the sort (half the cost of the ratings at 1M rows).
_SORTED_LABELS = ("CASE WHEN len(labels) = 1 AND labels[1] IS NOT NULL THEN labels "
                  "ELSE list_sort(list_distinct(labels)) END")


def ratings_sql(s: "Session", ann: str) -> str:
    """The query of (task, control, annotator) -> labels (list) and label (text), for
    classification controls, from each annotator's latest answer (:func:`latest_answers_sql`): where
    it gives the control no label, the annotator has none there (not an earlier answer's).

    One scan of the labelled rows first says what the query must do. Answers with several
    rows for one control (rare) are found by a count of distinct 64-bit hashes of (task,
    answer, control) and merged by a GROUP BY (a hash collision can only send the table
    that way, never skip it); the latest-answer rule runs only when some annotator answered
    a task twice (an annotation key not ending in ``#0``).
    """
    where = answered()
    rows, distinct = s.one(f"""
        SELECT count(*), count(DISTINCT hash(task_key, annotation_key, from_name)) FROM {ann} WHERE {where}""")
    cols = "task_key, annotation_key, coalesce(annotator, '-') AS annotator, from_name"
    if rows == distinct:
        body = f"""SELECT {cols}, ground_truth AS gt, coalesce(updated_at, created_at, '') AS ts,
                          {_SORTED_LABELS} AS labels FROM {ann} WHERE {where}"""
    else:
        body = f"""SELECT {cols}, bool_or(ground_truth) AS gt, max(coalesce(updated_at, created_at, '')) AS ts,
                          list_sort(list_distinct(flatten(list(labels)))) AS labels
                   FROM {ann} WHERE {where} GROUP BY task_key, annotation_key, annotator, from_name"""
    return f"SELECT *, array_to_string(labels, chr(31)) AS label FROM ({latest_answers_sql(s, ann, body)})"


def build_ratings(s: "Session", ann: str, name: str) -> None:
    """Make table ``name`` from :func:`ratings_sql`, unless the session made it from ``ann``
    already (agreement and suspects in one session, as the report runs them, build it once)."""
    if s.made.get(name) == ("ratings", ann):
        return
    s.make(name, ratings_sql(s, ann))
    s.made[name] = ("ratings", ann)


#: Per policy: an answer's rank among the answers of its label, as one string compared as
#: text (ground truth first where the policy says so, then time, then the answer key; ``chr(0)``
#: parts the fields, so "shorter first" holds field by field), and a label's rank among the
#: task's labels, as a DuckDB struct (compared field by field). The same orders as the
#: diff's :data:`annover.diffing.sql.POLICY_ORDER` (a test keeps them equal), as two GROUP BYs.
_ANSWER_RANK = {"latest": "ts || chr(0) || annotation_key", "majority": "ts || chr(0) || annotation_key",
                "ground-truth": "CASE WHEN gt THEN '1' ELSE '0' END || ts || chr(0) || annotation_key"}
_LABEL_RANK = {"latest": "{'r': best}", "majority": "{'v': votes, 'r': best}",
               "ground-truth": "{'g': best[1], 'v': votes, 'r': best}"}


def votes_sql(ratings_name: str, policy: str) -> str:
    """Per (task, control, label) of classification: its answers (``votes``) and the rank of the
    best of them by the policy (``best``), what :func:`resolved` picks a label by."""
    if policy not in POLICY_ORDER:
        raise ValueError(policy)
    return f"""SELECT task_key, from_name, label, count(*) AS votes, max({_ANSWER_RANK[policy]}) AS best
               FROM {ratings_name} GROUP BY task_key, from_name, label"""


def resolved_of_votes(votes: str, policy: str) -> str:
    """:func:`resolved` of a table (or query in parentheses) of :func:`votes_sql`."""
    return f"""SELECT task_key, from_name, arg_max(label, {_LABEL_RANK[policy]}) AS label, sum(votes)::BIGINT AS answers
               FROM {votes} GROUP BY task_key, from_name"""


def resolved(ratings_name: str, policy: str) -> str:
    """Per (task, control) of classification: the label the policy picks (the diff's order,
    :data:`annover.diffing.sql.POLICY_ORDER`) and the task's answers."""
    return f"WITH l AS ({votes_sql(ratings_name, policy)}) {resolved_of_votes('l', policy)}"


def best_sql(s: "Session", preds: str, empty: bool = False) -> str:
    """The query of the labels of each model's best-scored prediction per (task, control) of
    classification (ties to the first prediction key), with its score; ``empty``: a prediction that
    names the control and ticks no choice (``{"choices": []}``) too, as the label ``''`` (eval's
    prediction of no label; suspects and sample rank the labels a model gives, so they leave it out).

    As :func:`ratings_sql`: the merge of several rows of one prediction and control, and the
    choice among several predictions of one model on a task (a prediction key not ending in
    ``#0``), run only when the table has them.
    """
    where = answered(skips=False, empty=empty)
    rows, distinct, later = s.one(f"""
        SELECT count(*), count(DISTINCT hash(task_key, prediction_key, from_name)),
               count(*) FILTER (WHERE NOT suffix(prediction_key, '#0')) FROM {preds} WHERE {where}""")
    cols = "task_key, model_version, prediction_key, from_name"
    if rows == distinct:
        body = f"SELECT {cols}, score, {_SORTED_LABELS} AS labels FROM {preds} WHERE {where}"
    else:
        body = f"""SELECT {cols}, max(score) AS score, list_sort(list_distinct(flatten(list(labels)))) AS labels
                   FROM {preds} WHERE {where} GROUP BY {cols}"""
    if later:
        body = f"""SELECT * FROM ({body}) QUALIFY row_number() OVER (
                       PARTITION BY task_key, from_name, model_version ORDER BY score DESC NULLS LAST, prediction_key) = 1"""
    return f"SELECT *, array_to_string(labels, chr(31)) AS label FROM ({body})"


def build_best(s: "Session", preds: str, name: str, empty: bool = False) -> None:
    """Make table ``name`` from :func:`best_sql`."""
    s.make(name, best_sql(s, preds, empty))


def build_regions(s: "Session", ann: str, name: str) -> None:
    """Make table ``name``: the region rows (values with a shape) of each annotator's latest answer
    (:func:`latest_answers_sql`: one with no region has none here, though an earlier answer of theirs
    drew some), unless the session made it from ``ann`` already (agreement and suspects in one session)."""
    if s.made.get(name) == ("regions", ann):
        return
    body = f"""
        SELECT task_key, coalesce(annotator, '-') AS annotator, annotation_key, ground_truth AS gt,
               coalesce(updated_at, created_at, '') AS ts, region_key, from_name, labels, value, {s.column(ann, 'region')}
        FROM {ann} WHERE {answered(shape=True)}"""
    s.make(name, f"SELECT * FROM ({latest_answers_sql(s, ann, body)}) ORDER BY task_key, annotator, region_key")
    s.made[name] = ("regions", ann)


def resolved_answers_sql(ann: str) -> str:
    """Each task's resolved answer in ``ann`` (an annotations table): of its annotators' latest
    answers (skips are not answers; :func:`replaced_sql`), a ground-truth one, else the latest (ties
    to the greater answer key), whether it has regions or not: ``task_key``, ``annotation_key``,
    ``annotator``."""
    return f"""
        SELECT task_key, annotation_key, annotator FROM (
            SELECT task_key, annotation_key, coalesce(annotator, '-') AS annotator,
                   bool_or(coalesce(ground_truth, false)) AS gt, max(coalesce(updated_at, created_at, '')) AS ts
            FROM {ann} ANTI JOIN ({replaced_sql(ann)}) AS r USING (task_key, annotation_key)
            WHERE NOT coalesce(was_cancelled, false) GROUP BY ALL)
        QUALIFY row_number() OVER (PARTITION BY task_key ORDER BY gt DESC, ts DESC, annotation_key DESC) = 1"""


def resolved_regions_sql(regions: str, ann: str = "ann") -> str:
    """The rows of ``regions`` (a :func:`build_regions` table of ``ann``) of each task's resolved
    answer (:func:`resolved_answers_sql`), what ``annover eval`` scores a model's regions against: a
    task whose resolved answer drew none has none, though an earlier answer drew some."""
    return f"""
        SELECT r.* FROM {regions} AS r JOIN ({resolved_answers_sql(ann)}) AS pick USING (task_key, annotation_key)"""


class Session:
    """A DuckDB cursor with Arrow tables registered and named queries materialised.

    ``made``: what :func:`build_ratings` built of the tables made (name -> what and from which
    registered table), so that two computations sharing a session share those tables."""

    def __init__(self, **tables: "pa.Table") -> None:
        self.con = cursor(ordered=False)
        self.tables: dict[str, "pa.Table"] = {}
        self.made: dict[str, tuple[str, str]] = {}
        #: what a computation read from the session's tables and keeps for the next one in it
        #: (eval's resolved regions, for the next model), with the ``made`` entry it was read from
        self.kept: dict[str, tuple[Any, Any]] = {}
        self.add(**tables)

    def add(self, **tables: "pa.Table") -> None:
        """Register Arrow tables by name; a name the session holds must be given the same table."""
        for name, t in tables.items():
            if name in self.tables:
                if self.tables[name] is not t:
                    raise ValueError(f"table {name!r} of this session is another table")
                continue
            self.con.register(name, t)
            self.tables[name] = t

    def put(self, **tables: "pa.Table") -> None:
        """Register Arrow tables by name, each in place of the one the session held by that name
        (a table of one model's predictions, then the next model's)."""
        for name, t in tables.items():
            self.con.register(name, t)
            self.tables[name] = t

    def make(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
        self.made.pop(name, None)

    def fetch(self, sql: str) -> "pa.Table":
        return fetch(self.con, sql)

    def column(self, table: str, name: str, prefix: str = "") -> str:
        """``prefix + name`` in a query of registered ``table``, or a NULL of that name where the
        table has no such column (a table given with some of its columns only)."""
        return f"{prefix}{name}" if name in self.tables[table].column_names else f"NULL AS {name}"

    def one(self, sql: str) -> Any:
        """The first row of a query (None: none), its result fetched to the end (a result left
        open would keep the cursor from registering tables)."""
        rows = self.con.execute(sql).fetchall()
        return rows[0] if rows else None

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
