"""What to label next: a reproducible choice of task keys by a strategy.

- ``uncertainty``: unlabeled tasks whose best prediction has the lowest score (of a version of
  regions and no classification, boxes or spans: the prediction's own score);
- ``margin``: unlabeled tasks with the smallest gap between their two best prediction
  scores (one prediction: ``2·score - 1``, its gap to the most the runner-up can have);
- ``disagreement``: labeled tasks whose annotators disagree most (entropy of their labels),
  then tasks where the resolved label and the model's differ; of region controls (spans, boxes),
  tasks two or more annotators answered by 1 - their regions' F1 (agreement's pairing), of the
  task's most disagreeing region control; a task of both: its greater score;
- ``rare-labels``: unlabeled tasks whose predicted label is rarest among the labels given; of
  region controls, by the predicted region label with the fewest regions of the resolved answers;
  a task of both: its smaller score;
- ``unlabeled``: unlabeled tasks; ``random``: any task.

"Unlabeled" is a task with no answer other than skips. Ties, and the order of
``unlabeled`` and ``random``, go by a hash of the seed and the task key, so the same
version, strategy, n and seed give the same keys on any machine and in any input order.
``stratify``: the n picks are spread evenly over the control's (predicted, else resolved)
labels, round-robin: the first of each label, then the second, each round in the strategy's order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.diffing.result import DEFAULT_POLICY, Options
from annover.errors import UsageError
from annover.loop import queries as Q
from annover.loop.agreement import task_region_f1
from annover.loop.display import sample_html
from annover.store.duck import quoted
from annover.store.versions import models_named

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["STRATEGIES", "NEEDS_MODEL", "SampleResult", "sample", "tie_key", "why_none_qualify"]

STRATEGIES = ("uncertainty", "margin", "disagreement", "rare-labels", "unlabeled", "random")
#: strategies that rank by a model's predictions
NEEDS_MODEL = ("uncertainty", "margin", "rare-labels")
#: strategies whose highest scores are picked first (the entropy of the annotators' labels)
_HIGHER_FIRST = ("disagreement",)
#: strategies that rank by the predictions' scores alone: a version of regions only (boxes, spans) has them too
_BY_SCORE = ("uncertainty", "margin")
#: strategies that rank by the regions' labels too (spans, boxes): :func:`_region_candidates`
_BY_REGIONS = ("disagreement", "rare-labels")


@dataclass
class SampleResult:
    """The chosen task keys, in order, each with its score and label, and how they were chosen."""

    keys: list[str]
    strategy: str
    n: int
    seed: int
    model: str | None
    candidates: int
    scores: list[float | None] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stratify: str | None = None
    #: the selection's content-addressed id, its version, and its record's path once recorded
    id: str | None = None
    version: str | None = None
    record: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "record": self.record, "strategy": self.strategy, "n": self.n, "seed": self.seed, "model": self.model,
                "stratify": self.stratify, "candidates": self.candidates, "keys": self.keys,
                "items": [{"task_key": k, "score": s, "label": lab} for k, s, lab in
                          zip(self.keys, self.scores, self.labels)], "notes": self.notes}

    def _repr_html_(self) -> str:
        """In a notebook: the chosen tasks in order with their scores and labels, as a table."""
        return sample_html(self.to_json())


def tie_key(seed: int, task_key: str) -> str:
    """The order of equal candidates: a hash of the seed and the task key."""
    return hashlib.sha256(f"{seed}\0{task_key}".encode()).hexdigest()


def _candidates(strategy: str, c: str, by_score: bool = False) -> str:
    """The query of the strategy's candidates and their scores (lower is picked first, higher
    for :data:`_HIGHER_FIRST`); ``c`` restricts labels and predictions to the control. ``by_score``:
    the version has no classification control, and ``uncertainty`` reads its predictions' scores."""
    return {
        "uncertainty": f"""SELECT u.task_key, max(b.score) AS score FROM unl AS u JOIN best AS b USING (task_key)
                           WHERE b.score IS NOT NULL AND {c} GROUP BY 1""" if not by_score else
                       """SELECT u.task_key, max(p.score) AS score FROM unl AS u JOIN preds AS p USING (task_key)
                          WHERE p.score IS NOT NULL GROUP BY 1""",
        "margin": """SELECT task_key, CASE WHEN count(*) >= 2 THEN max(score) - max(score2)
                                           ELSE 2 * max(score) - 1 END AS score
                     FROM (SELECT u.task_key, p.score, lead(p.score) OVER (PARTITION BY u.task_key
                                  ORDER BY p.score DESC) AS score2
                           FROM unl AS u JOIN (SELECT task_key, prediction_key, max(score) AS score FROM preds
                                               GROUP BY ALL) AS p USING (task_key) WHERE p.score IS NOT NULL)
                     GROUP BY 1""",
        "disagreement": f"""
            WITH v AS (SELECT task_key, label, count(*) AS k FROM ratings WHERE {c} GROUP BY ALL),
            t AS (SELECT task_key, sum(k) AS m FROM v GROUP BY 1),
            e AS (SELECT v.task_key, -sum((k / m) * ln(k / m)) AS entropy, any_value(m) AS m
                  FROM v JOIN t USING (task_key) GROUP BY 1),
            x AS (SELECT r.task_key, b.label <> r.label AS off FROM (SELECT * FROM res WHERE {c}) AS r
                  JOIN (SELECT * FROM best WHERE {c}) AS b USING (task_key))
            SELECT coalesce(e.task_key, x.task_key) AS task_key,
                   coalesce(e.entropy, 0) + CASE WHEN x.off THEN 0.001 ELSE 0 END AS score
            FROM e FULL OUTER JOIN x USING (task_key)
            WHERE coalesce(e.entropy, 0) > 0 OR coalesce(x.off, false)""",
        "rare-labels": f"""
            WITH f AS (SELECT label, count(*) AS k FROM res WHERE {c} GROUP BY 1)
            SELECT u.task_key, coalesce(f.k, 0) AS score FROM unl AS u
            JOIN (SELECT * FROM best WHERE {c}) AS b USING (task_key) LEFT JOIN f ON f.label = b.label""",
        "unlabeled": "SELECT task_key, NULL::DOUBLE AS score FROM unl",
        "random": "SELECT task_key, NULL::DOUBLE AS score FROM tasks",
    }[strategy]


def _ranked(strategy: str, n: int, seed: int, stratify: bool) -> str:
    """The first ``n`` candidates (table ``cand``) in the strategy's order, equal scores in
    :func:`tie_key`'s order (DuckDB's sha256 is hashlib's); with ``stratify``, round-robin over
    their labels (as shown, ``(none)`` for none): the first of each label, then the second of
    each, ..., each round in the strategy's order, so that an ``n`` short of a round takes the
    labels whose picks rank first (the rarest, the least certain), not the first by name."""
    sign = -1.0 if strategy in _HIGHER_FIRST else 1.0
    # + 0.0: -0.0 (a negated 0 score) ranks as 0.0, as Python compares them
    order = f"coalesce({sign!r} * score, 0.0) + 0.0, sha256({quoted(str(int(seed)))} || chr(0) || task_key)"
    if not stratify:
        return f"SELECT task_key, score, label FROM cand ORDER BY {order} LIMIT {int(n)}"
    group = f"coalesce(nullif({Q.shown_sql('label')}, ''), '(none)')"
    return f"""SELECT task_key, score, label FROM (
                   SELECT *, {group} AS g, row_number() OVER (PARTITION BY {group} ORDER BY {order}) AS rn FROM cand)
               ORDER BY rn, {order}, g LIMIT {int(n)}"""


#: strategies whose candidates and their order need no label: unless stratified, only the
#: picks' labels are resolved (at 1M rows, ratings of 20 answers instead of 1,000,000)
_LABELS_AFTER = ("unlabeled", "random")


def _resolve(s: "Q.Session", ann: str, policy: str) -> None:
    """Tables ``ratings`` and ``res`` (each task's resolved label) of the answers in ``ann``."""
    Q.build_ratings(s, ann, "ratings")
    s.make("res", Q.resolved("ratings", policy))


def _label_of(tasks: str, c: str) -> str:
    """The label of each task of ``tasks``: the best prediction's for the control (``c``), else the resolved one."""
    return f"""SELECT t.task_key, coalesce(b.label, r.label) AS label FROM {tasks} AS t
               LEFT JOIN (SELECT * FROM best WHERE {c}) AS b ON b.task_key = t.task_key
               LEFT JOIN (SELECT * FROM res WHERE {c}) AS r ON r.task_key = t.task_key"""


def _label_picks(s: "Q.Session", picked: list[dict], c: str, policy: str) -> None:
    """Set each pick's ``label`` from its own answers alone (a task's resolved label is of its rows)."""
    s.con.register("picks", pa.table({"task_key": pa.array([r["task_key"] for r in picked], pa.string())}))
    s.make("pann", "SELECT * FROM ann SEMI JOIN picks USING (task_key)")
    s.con.execute("DROP VIEW ratings")
    _resolve(s, "pann", policy)
    labels = {r["task_key"]: r["label"] for r in s.fetch(_label_of("picks", c)).to_pylist()}
    for r in picked:
        r["label"] = labels[r["task_key"]]


def _control(s: "Q.Session", control: str | None, regions: list[str]) -> str | None:
    """The control whose labels rank and label the tasks: ``control`` (checked: one of those, or of
    the region controls ``regions`` where the strategy ranks regions), else the one with the most
    ratings and predictions."""
    if control is None:
        row = s.one("SELECT from_name FROM (SELECT from_name FROM best UNION ALL SELECT from_name FROM ratings) "
                    "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
        return row[0] if row else None
    have = [r["f"] for r in s.fetch("SELECT DISTINCT from_name AS f FROM (SELECT from_name FROM best UNION "
                                    "ALL SELECT from_name FROM ratings) WHERE from_name IS NOT NULL "
                                    "ORDER BY 1").to_pylist()]
    if control not in have:
        raise UsageError(f"--control {control!r}: sample ranks tasks by their classification labels (one label "
                         "per answer: choices, ratings)" + (" or regions" if regions else "") +
                         ", and this version has none or no predictions on it",
                         f"use one of: {', '.join(sorted(have + regions)) or '(none)'}")
    return control


def _no_classification(s: "Q.Session", strategy: str) -> None:
    """Refuse a strategy that ranks by labels on a version whose answers and predictions are all
    results with no label (text answers, numbers), rather than pick nothing and say that no task
    qualifies, or that no annotators disagree. A version with no answer at all picks nothing, as
    before; one of regions (spans, boxes) is ranked: ``uncertainty`` and ``margin`` by its
    predictions' scores (a detector's or a tagger's, per task), ``disagreement`` and ``rare-labels``
    by its regions (:func:`_region_candidates`)."""
    rows = s.fetch(f"""
        SELECT from_name AS f, bool_or({Q.answered(shape=True, skips=False)}) AS shape
        FROM (SELECT * FROM ann UNION ALL BY NAME SELECT * FROM preds) WHERE from_name IS NOT NULL
        GROUP BY 1 ORDER BY 1""").to_pylist()
    if not rows or any(r["shape"] for r in rows):
        return
    plain = [r["f"] for r in rows]
    raise UsageError(f"--strategy {strategy} ranks tasks by their classification labels (one label per answer: "
                     "choices, ratings), and this version has no such labels or predictions, only results with no "
                     f"label of {', '.join(plain)} (text answers, numbers)", "use --strategy unlabeled or random")


def _region_controls(s: "Q.Session") -> list[str]:
    """The controls of the version's region answers and predictions (spans, boxes, polygons)."""
    shape = Q.answered(shape=True, skips=False)
    return [r[0] for r in s.con.execute(f"""
        SELECT DISTINCT from_name FROM (SELECT from_name FROM ann WHERE {shape}
                                        UNION ALL SELECT from_name FROM preds WHERE {shape})
        WHERE from_name IS NOT NULL ORDER BY 1""").fetchall()]


def _region_candidates(s: "Q.Session", strategy: str, only: str | None) -> "pa.Table":
    """The region candidates of ``disagreement`` and ``rare-labels`` (task_key, score, rlabel), of
    the control ``only`` or of every region control.

    ``disagreement``: the tasks two or more annotators answered whose regions disagree; score 1 - the
    task's region F1 (:func:`annover.loop.agreement.task_region_f1`, agreement's pairing), of its
    most disagreeing control. ``rare-labels``: the unlabeled tasks the model drew regions of; score
    the fewest regions of the resolved answers (eval's) that have one of its predicted labels, that
    label the ``rlabel``."""
    c = f"from_name = {quoted(only)}" if only else "true"
    Q.build_regions(s, "ann", "regions")
    if strategy == "rare-labels":
        return s.fetch(f"""
            WITH f AS (SELECT label, count(*) AS k FROM (SELECT unnest(labels) AS label
                       FROM ({Q.resolved_regions_sql("regions")}) WHERE {c}) GROUP BY 1),
            p AS (SELECT DISTINCT u.task_key, unnest(p.labels) AS label FROM unl AS u JOIN preds AS p USING (task_key)
                  WHERE {Q.answered("p.", shape=True, skips=False)} AND {c})
            SELECT task_key, coalesce(f.k, 0)::DOUBLE AS score, label AS rlabel
            FROM p LEFT JOIN f USING (label) WHERE label IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY task_key ORDER BY coalesce(f.k, 0), label) = 1""")
    s.make("rtwo", """
        SELECT task_key, list(DISTINCT coalesce(annotator, '-') ORDER BY coalesce(annotator, '-')) AS who FROM ann
        WHERE NOT was_cancelled AND task_key IN (SELECT task_key FROM regions) GROUP BY 1
        HAVING count(DISTINCT coalesce(annotator, '-')) >= 2""")
    answered = dict(s.con.execute("SELECT task_key, who FROM rtwo").fetchall())
    rows = s.fetch(f"SELECT task_key, annotator, region_key, from_name, labels, value, region FROM regions "
                   f"SEMI JOIN rtwo USING (task_key) WHERE {c} ORDER BY task_key, annotator, region_key").to_pydict()
    worst: dict[str, float] = {}
    for (task, _), f1 in task_region_f1(rows, Options(), answered).items():
        worst[task] = max(worst.get(task, 0.0), 1.0 - f1)
    keys = sorted(k for k, v in worst.items() if v > 0)
    return pa.table({"task_key": pa.array(keys, pa.string()), "score": pa.array([worst[k] for k in keys], pa.float64()),
                     "rlabel": pa.array([None] * len(keys), pa.string())})


def _all_candidates(s: "Q.Session", strategy: str, c: str, ctl: str | None, control: str | None,
                    regions: list[str]) -> str:
    """The query of the candidates (task_key, score, rlabel: a region label that ranked it): the
    classification control's (``c``), and with region controls (``regions``) theirs, one row a task:
    its greatest score (``disagreement``) or its least (``rare-labels``, the rarest label)."""
    cls = f"SELECT task_key, score, NULL::VARCHAR AS rlabel FROM ({_candidates(strategy, c, ctl is None)})"
    if not regions or (control is not None and control not in regions):
        return cls
    s.put(rcand=_region_candidates(s, strategy, control))
    most = "max" if strategy in _HIGHER_FIRST else "min"
    return f"""SELECT task_key, {most}(score) AS score, arg_{most}_null(rlabel, score) AS rlabel
               FROM ({cls} UNION ALL SELECT task_key, score, rlabel FROM rcand) GROUP BY 1"""


def _model_of(predictions: "pa.Table | None", strategy: str, model: str | None, stratify: bool,
              notes: list[str]) -> str | None:
    """The model whose predictions the strategy reads: ``model``, else the version's only one.
    Disagreement without one of several models reads the annotators alone, and a note says so
    (else "the model contradicts the label" would be left out unsaid)."""
    have = sorted(set(predictions.column("model_version").to_pylist())) if predictions is not None and \
        predictions.num_rows else []
    # stratified, unlabeled and random picks spread over the predicted labels too (else all are "(none)")
    if model is None and (strategy in NEEDS_MODEL + ("disagreement",) or stratify) and have:
        model = have[-1] if len(have) == 1 else None
        if model is None and strategy in NEEDS_MODEL:
            raise UsageError(f"this version has predictions of {len(have)} model versions ({models_named(have)})",
                             "name one with --model MODEL_VERSION")
        if model is None and strategy == "disagreement":
            notes.append(f"no model's predictions read: this version has {len(have)} model versions "
                         f"({models_named(have)}); name one with --model to count the labels it contradicts")
    if strategy in NEEDS_MODEL and model is None:
        raise UsageError(f"strategy {strategy!r} needs a model's predictions and this version has none",
                         "snapshot with --predictions FILE, or use --strategy unlabeled or random")
    if model is not None and model not in have:
        raise UsageError(f"this version has no predictions of model version {model!r}",
                         f"use one of: {models_named(have) or '(none)'}")
    return model


def sample(tasks: "pa.Table", annotations: "pa.Table", predictions: "pa.Table | None", strategy: str, n: int,
           seed: int = 0, model: str | None = None, stratify: bool = False, control: str | None = None,
           policy: str = DEFAULT_POLICY) -> SampleResult:
    """Choose ``n`` task keys by ``strategy`` (see the module)."""
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}", f"use one of {', '.join(STRATEGIES)}")
    if n < 1:
        raise UsageError(f"--n {n} is not a positive number", "give how many tasks to pick, such as --n 100")
    notes: list[str] = []
    model = _model_of(predictions, strategy, model, stratify, notes)
    preds = predictions.filter(pc.equal(predictions.column("model_version"), model)) if model else \
        pa.table({"task_key": pa.array([], pa.string()), "prediction_key": pa.array([], pa.string()),
                  "region_key": pa.array([], pa.string()), "from_name": pa.array([], pa.string()),
                  "labels": pa.array([], pa.list_(pa.string())), "value": pa.array([], pa.string()),
                  "score": pa.array([], pa.float64()), "model_version": pa.array([], pa.string()),
                  "type": pa.array([], pa.string())})
    late = strategy in _LABELS_AFTER and not stratify
    with Q.Session(tasks=tasks.select(["task_key"]), ann=annotations, preds=preds) as s:
        Q.build_best(s, "preds", "best")
        if late:  # the ratings only counted here (for the control): the picks' are resolved below
            s.con.execute(f"CREATE TEMP VIEW ratings AS {Q.ratings_sql(s, 'ann')}")
        else:
            _resolve(s, "ann", policy)
        regions = _region_controls(s) if strategy in _BY_REGIONS else []
        ctl = _control(s, control, regions) if control not in regions else None
        if ctl is None and not regions and strategy not in ("unlabeled", "random"):
            _no_classification(s, strategy)
        c = f"from_name = {quoted(ctl)}" if ctl else "false" if control in regions else "true"
        s.make("unl", "SELECT task_key FROM tasks WHERE task_key NOT IN (SELECT task_key FROM ann WHERE NOT was_cancelled)")
        s.make("label_of", "SELECT task_key, NULL::VARCHAR AS label FROM tasks WHERE false" if late
               else _label_of("tasks", c))
        s.make("cand", f"""SELECT c.task_key, c.score, coalesce(c.rlabel, l.label) AS label
                           FROM ({_all_candidates(s, strategy, c, ctl, control, regions)}) AS c
                           LEFT JOIN label_of AS l USING (task_key)""")
        count = int(s.fetch("SELECT count(*) AS n FROM cand").column("n")[0].as_py())
        picked = s.fetch(_ranked(strategy, n, seed, stratify)).to_pylist()
        if late:
            _label_picks(s, picked, c, policy)
    if len(picked) < n:
        notes.append(f"{count} task(s) qualify for {strategy!r}: fewer than the {n} asked for")
    if strategy in ("disagreement",) and not count:
        notes.append("no labeled task has annotators (or the model) disagreeing")
    return SampleResult([r["task_key"] for r in picked], strategy, n, seed, model, count,
                        [None if r["score"] is None else round(float(r["score"]), 6) for r in picked],
                        [Q.shown(r["label"]) for r in picked], notes, (ctl or control) if stratify else None)


def why_none_qualify(tasks: "pa.Table", annotations: "pa.Table", predictions: "pa.Table | None",
                     res: SampleResult) -> tuple[str, str | None] | None:
    """Why a strategy that ranks a model's predictions of the unlabeled tasks found none: every task
    is labeled (a note: nothing to do), or the model predicted none of the unlabeled ones, or (for
    ``uncertainty`` and ``margin``, which rank by the score) it gave them no score, as LLM
    pre-annotations often do. The last two are the user's setup, not an empty round: they are
    returned with what to do, so the command refuses rather than record an empty sample."""
    if res.keys or res.strategy not in NEEDS_MODEL or res.model is None:
        return None
    done = annotations.filter(pc.invert(pc.fill_null(annotations.column("was_cancelled"), False)))
    open_ = set(tasks.column("task_key").to_pylist()) - set(done.column("task_key").to_pylist())
    if not open_:
        return (f"every task of the version is labeled ({tasks.num_rows}): {res.strategy!r} picks among "
                "the unlabeled tasks a model predicted (--strategy disagreement: labeled ones to label again)", None)
    mine = predictions.filter(pc.equal(predictions.column("model_version"), res.model))
    predicted = [(k, sc) for k, sc in zip(mine.column("task_key").to_pylist(), mine.column("score").to_pylist())
                 if k in open_]
    model = models_named([res.model])
    if not predicted:
        return (f"{res.strategy!r} picks among the unlabeled tasks {model} predicted, and it predicted none of "
                f"the {len(open_)} unlabeled task(s)",
                f"snapshot {model}'s predictions of them (--predictions FILE --update), or use --strategy "
                "unlabeled or random")
    if res.strategy in _BY_SCORE and all(sc is None for _, sc in predicted):
        return (f"{res.strategy!r} ranks by the prediction's score, and {model}'s predictions of the "
                f"{len({k for k, _ in predicted})} unlabeled task(s) have none",
                "use --strategy rare-labels (by the predicted label), unlabeled or random, or snapshot "
                "predictions with a score")
    return None
