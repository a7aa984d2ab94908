"""The query text of the diff (DuckDB): joins that find what differs, counts, resolved labels."""

from __future__ import annotations

from annover.diffing.match import region_row_sql
from annover.diffing.result import NO_LABEL, NO_TASK
from annover.diffing.sources import Spec
from annover.store.duck import quoted
from annover.store.snapshots import TASK_HASH, row_hash_sql

#: The order in which each policy picks an answer's label for a task and control.
POLICY_ORDER = {
    "latest": "ts DESC, annotation_key DESC",
    "majority": "votes DESC, ts DESC, annotation_key DESC",
    "ground-truth": "gt DESC, votes DESC, ts DESC, annotation_key DESC",
}
#: the same orders as the value each policy's pick has most of (an answer's key is unique in
#: its task, so there are no ties): ``arg_max`` by it is an aggregate, where a window ordered
#: by :data:`POLICY_ORDER` sorted every task's answers (ten times slower at 1M rows)
POLICY_RANK = {
    "latest": "struct_pack(ts, annotation_key)",
    "majority": "struct_pack(votes, ts, annotation_key)",
    "ground-truth": "struct_pack(gt, votes, ts, annotation_key)",
}


#: A row that is a region of a region control (:func:`annover.diffing.match.region_row_sql`).
REGION_ROW = region_row_sql()


def differing(name: str, a: str, b: str, keys: list[str], content: list[str]) -> str:
    """The rows of registered table ``a`` with no identical row in ``b``, and where ``b``'s are.

    One full outer join on the first key (``task_key``) and a 64-bit hash of the keys and
    the content (:func:`annover.store.snapshots.row_hash_sql`): side A streams its whole
    rows through it, side B brings only those two. Gives A's unmatched rows (keys and
    content; ``__bh`` null) and B's as their task key ``__key`` and hash ``__bh``. A row
    that differs goes unseen only if its hash equals that of a row of the same task on
    the other side: a 2**-64 chance for each such pair.
    """
    first = keys[0]
    h = row_hash_sql(name)
    return f"""
        WITH x AS (SELECT {", ".join(keys + content)}, {h} AS __h FROM {a}),
             y AS (SELECT {first}, {h} AS __h FROM {b})
        SELECT {", ".join(f"x.{c}" for c in keys + content)}, coalesce(x.{first}, y.{first}) AS __key, y.__h AS __bh
        FROM x FULL OUTER JOIN y ON x.{first} = y.{first} AND x.__h = y.__h
        WHERE x.__h IS NULL OR y.__h IS NULL"""


def b_rows_of_touched(spec: Spec, b: str, tasks: str, unmatched: str) -> str:
    """B's rows of the touched tasks, ``__u`` marking those with no identical row in A."""
    cols = ["task_key", spec.answer_key, "region_key", *spec.cols]
    return f"""
        WITH z AS (SELECT {", ".join(cols)}, {row_hash_sql(spec.table)} AS __h
                   FROM {b} SEMI JOIN {tasks} AS t USING (task_key)),
             u AS (SELECT DISTINCT __key, __bh FROM {unmatched})
        SELECT {", ".join("z." + c for c in cols)}, u.__key IS NOT NULL AS __u
        FROM z LEFT JOIN u ON z.task_key = u.__key AND z.__h = u.__bh"""


def rows_of_tasks(spec: Spec, src: str, tasks: "str | None", within: "tuple[str, str] | None" = None) -> str:
    """The rows of the tasks of table ``tasks`` (None: of every task); ``within``: their
    smallest and largest key, so that the reader skips the parts (row groups) of other keys
    by their statistics."""
    cols = ", ".join(["task_key", spec.answer_key, "region_key", *spec.cols])
    where = "" if within is None else f" WHERE task_key BETWEEN {quoted(within[0])} AND {quoted(within[1])}"
    return f"SELECT {cols} FROM {src}{'' if tasks is None else f' SEMI JOIN {tasks} USING (task_key)'}{where}"


def hashed_tasks(a: str, b: str) -> str:
    """How many tasks (a stored task hash each) and rows each side has."""
    return (f"SELECT (SELECT count({TASK_HASH}) FROM {a}) AS a, (SELECT count({TASK_HASH}) FROM {b}) AS b, "
            f"(SELECT count(*) FROM {a}) AS rows_a, (SELECT count(*) FROM {b}) AS rows_b")


def unmatched_hashes(a: str, b: str) -> str:
    """(task key, A's hash, B's hash) of the tasks whose stored task hash the other side
    lacks: a join on one integer column of one row per task, the key carried along."""
    h = TASK_HASH
    return f"""
        SELECT coalesce(a.task_key, b.task_key) AS __key, a.{h} AS __ah, b.{h} AS __bh
        FROM (SELECT task_key, {h} FROM {a} WHERE {h} IS NOT NULL) AS a
        FULL OUTER JOIN (SELECT task_key, {h} FROM {b} WHERE {h} IS NOT NULL) AS b ON a.{h} = b.{h}
        WHERE a.{h} IS NULL OR b.{h} IS NULL"""


TASKS_DIFF = """
    SELECT coalesce(a.task_key, b.task_key) AS task_key, a.task_key IS NOT NULL AS in_a,
           b.task_key IS NOT NULL AS in_b, a.data AS data_a, b.data AS data_b,
           a.data_hash AS data_hash_a, b.data_hash AS data_hash_b, a.extra AS extra_a, b.extra AS extra_b
    FROM {a} AS a FULL OUTER JOIN {b} AS b ON a.task_key = b.task_key
    WHERE a.task_key IS NULL OR b.task_key IS NULL OR a.data IS DISTINCT FROM b.data
       OR a.data_hash IS DISTINCT FROM b.data_hash OR a.extra IS DISTINCT FROM b.extra"""


def replaced(src: str, unnamed_as_one: bool = False) -> str:
    """(task key, answer key) of the answers of ``src`` that a later answer of the same annotator on
    the task replaced (by ``updated_at``, else ``created_at``, then the answer key), whatever either
    gives: an annotator who answers again with no label for a control, or no box, has withdrawn what
    the earlier answer gave. Skips replace none. Answers that name no annotator replace none, or, with
    ``unnamed_as_one`` (the loop's reading), are one annotator's. Only tasks where an annotator
    answered twice (a non-skip answer key not ending in ``#0``) are ranked."""
    who = "coalesce(annotator, '-')" if unnamed_as_one else "annotator"
    named = "" if unnamed_as_one else " AND annotator IS NOT NULL"
    answers = f"{src} WHERE NOT coalesce(was_cancelled, false){named}"
    return f"""
        SELECT task_key, annotation_key FROM (
            SELECT task_key, {who} AS annotator, annotation_key, max(coalesce(updated_at, created_at, '')) AS ts
            FROM {answers} AND task_key IN (SELECT task_key FROM {answers} AND NOT suffix(annotation_key, '#0'))
            GROUP BY ALL)
        QUALIFY row_number() OVER (PARTITION BY task_key, annotator ORDER BY ts DESC, annotation_key DESC) > 1"""


def _votes(src: str) -> str:
    """The CTEs ``r`` (per task, answer and control: its label, ground truth, time) and ``v`` (those
    of each annotator's latest answer, :func:`replaced`, with the votes for their label)."""
    return f"""
        r AS (
            SELECT task_key, annotation_key, from_name,
                   array_to_string(list_sort(list_distinct(flatten(list(labels)))), ', ') AS label,
                   bool_or(ground_truth) AS gt,
                   max(coalesce(updated_at, created_at, '')) AS ts
            FROM {src}
            WHERE NOT was_cancelled AND region_key <> '' AND from_name IS NOT NULL
              AND labels IS NOT NULL AND len(labels) > 0
            GROUP BY task_key, annotation_key, from_name),
        v AS (SELECT *, count(*) OVER (PARTITION BY task_key, from_name, label) AS votes
              FROM r ANTI JOIN ({replaced(src)}) USING (task_key, annotation_key))"""


def resolved(src: str, policy: str) -> str:
    """Per (task, control): the label (sorted distinct labels of one answer, ', '-joined) the policy
    picks among each annotator's latest answer (:func:`replaced`: one vote per annotator)."""
    return f"""
        WITH {_votes(src)}
        SELECT task_key, from_name, arg_max(label, {POLICY_RANK[policy]}) AS label FROM v
        GROUP BY task_key, from_name"""


def transitions(ann_a: str, ann_b: str, tasks_a: str, tasks_b: str, touched: str, policy: str) -> str:
    """Per control, how many tasks went from each resolved label to each other.

    ``touched``: a table of task keys holding every task whose annotations differ. A task's
    resolved labels depend on its own rows only, so A's are resolved for those tasks alone
    and every other task's are B's (at 1M rows and 10% relabeled, half the work).
    """
    a_touched = f"(SELECT * FROM {ann_a} SEMI JOIN {touched} USING (task_key))"
    return f"""
        WITH rb AS MATERIALIZED ({resolved(ann_b, policy)}),
        ra AS MATERIALIZED ({resolved(a_touched, policy)}
                            UNION ALL SELECT * FROM rb ANTI JOIN {touched} USING (task_key)),
        ctl AS (SELECT from_name FROM ra UNION SELECT from_name FROM rb),
        tk AS (SELECT task_key, bool_or(sa) AS in_a, bool_or(sb) AS in_b FROM (
                 SELECT task_key, true AS sa, false AS sb FROM {tasks_a} UNION ALL
                 SELECT task_key, true, false FROM ra UNION ALL
                 SELECT task_key, false, true FROM {tasks_b} UNION ALL
                 SELECT task_key, false, true FROM rb) GROUP BY task_key),
        grid AS (SELECT tk.task_key, tk.in_a, tk.in_b, ctl.from_name FROM tk CROSS JOIN ctl)
        SELECT grid.from_name AS control,
               coalesce(ra.label, CASE WHEN grid.in_a THEN '{NO_LABEL}' ELSE '{NO_TASK}' END) AS "from",
               coalesce(rb.label, CASE WHEN grid.in_b THEN '{NO_LABEL}' ELSE '{NO_TASK}' END) AS "to",
               count(*) AS count
        FROM grid LEFT JOIN ra ON ra.task_key = grid.task_key AND ra.from_name = grid.from_name
                  LEFT JOIN rb ON rb.task_key = grid.task_key AND rb.from_name = grid.from_name
        GROUP BY ALL ORDER BY control, count DESC, "from", "to" """


def agreement(labels: str, preds: str) -> str:
    """How many (task, control) pairs have both a resolved label and a prediction, and how many agree;
    ``labels``: the answers' labels as :func:`resolved` gives them (a table, or a query in parentheses)."""
    return f"""
        WITH ann AS (SELECT * FROM {labels}),
        p AS (SELECT task_key, prediction_key, from_name,
                     array_to_string(list_sort(list_distinct(flatten(list(labels)))), ', ') AS label,
                     max(score) AS score
              FROM {preds} WHERE region_key <> '' AND from_name IS NOT NULL AND labels IS NOT NULL
                AND len(labels) > 0
              GROUP BY task_key, prediction_key, from_name),
        best AS (SELECT * FROM p QUALIFY row_number() OVER (
                    PARTITION BY task_key, from_name ORDER BY score DESC NULLS LAST, prediction_key) = 1)
        SELECT count(*) AS pairs, count(*) FILTER (WHERE ann.label = best.label) AS agree
        FROM ann JOIN best ON ann.task_key = best.task_key AND ann.from_name = best.from_name"""


def _picked(src: str, policy: str) -> str:
    """The CTEs of :func:`_votes` and ``pick``: per (task, control), the answer whose label the
    policy picks (:func:`resolved`), whose regions stand for the task's."""
    return f"""{_votes(src)},
        pick AS (SELECT task_key, from_name, arg_max(annotation_key, {POLICY_RANK[policy]}) AS annotation_key
                 FROM v GROUP BY task_key, from_name)"""


def region_controls(ann_a: str, ann_b: str) -> str:
    """The controls some region (:data:`REGION_ROW`) of either side belongs to."""
    return f"""SELECT DISTINCT from_name FROM (SELECT from_name, type, value FROM {ann_a} UNION ALL
                                              SELECT from_name, type, value FROM {ann_b})
               WHERE from_name IS NOT NULL AND {REGION_ROW}"""


def picked_regions(src: str, policy: str, tasks: str, controls: str, anti: bool = False) -> str:
    """The labeled regions of controls ``controls`` (a table of ``from_name``) of the answer the policy
    picks per (task, control), of the tasks of table ``tasks`` (``anti``: of the other tasks)."""
    within = f"(SELECT * FROM {src} {'ANTI' if anti else 'SEMI'} JOIN {tasks} USING (task_key))"
    return f"""
        WITH {_picked(within, policy)}
        SELECT x.task_key, x.from_name, x.region_key, x.labels, x.value, x.region
        FROM {within} AS x JOIN pick USING (task_key, from_name, annotation_key) SEMI JOIN {controls} USING (from_name)
        WHERE x.region_key <> '' AND len(x.labels) > 0 AND {region_row_sql('x.')}
        ORDER BY x.task_key, x.from_name, x.region_key"""


def kept_regions(src: str, policy: str, touched: str, controls: str) -> str:
    """Per control and label, the picked regions (:func:`picked_regions`) of the tasks not touched."""
    return f"""
        SELECT from_name AS control, array_to_string(list_sort(list_distinct(labels)), ', ') AS label, count(*) AS n
        FROM ({picked_regions(src, policy, touched, controls, anti=True)}) GROUP BY ALL"""

