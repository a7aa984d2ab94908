"""Labels worth a second look, ranked, each with its reasons.

Three reasons, for classification controls:

- ``majority``: an annotator's label differs from the label most of the *other*
  annotators of the task gave (at least two others, a strict majority of them); weight:
  the share of the others who agree with each other;
- ``model``: the task's resolved label (the diff's policy) differs from a model's
  prediction scored at least ``threshold``; weight: the prediction's score;
- ``changed``: an answer's label differs from the same answer's label in an earlier
  version (a review changed it; a flip is worth checking again); weight 0.5.

A task's score is the sum of its reasons' weights; ties go to the task key. *Library
choice:* none. cleanlab (AGPL-3.0) cannot ship in an Apache-2.0 project, and its
confident learning needs each task's full out-of-sample class probabilities, which Label
Studio predictions do not carry (one label and one score); the ``model`` reason is the
part of it these predictions support (cleanlab's "self-confidence" ranking: a label the
model confidently contradicts), written as one DuckDB join.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.diffing.result import DEFAULT_POLICY, Options
from annover.errors import UsageError
from annover.loop import queries as Q
from annover.loop.evaluate import check_model
from annover.store.duck import quoted

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["SuspectsResult", "suspects", "DEFAULT_THRESHOLD", "CHANGED_WEIGHT"]

DEFAULT_THRESHOLD = 0.9
CHANGED_WEIGHT = 0.5


@dataclass
class SuspectsResult:
    """Suspect (task, control) labels, most suspect first (the top ``limit`` of ``total`` when
    :func:`suspects` was given a limit)."""

    items: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    total: int = 0

    def task_keys(self) -> list[str]:
        """The tasks in rank order, each once (what ``--out`` writes)."""
        return list(dict.fromkeys(i["task_key"] for i in self.items))

    def to_json(self) -> dict[str, Any]:
        return {"suspects": self.items, "total": self.total, "counts": self.counts, "notes": self.notes,
                "options": self.options}


def suspects(annotations: "pa.Table", predictions: "pa.Table | None" = None, previous: "pa.Table | None" = None,
             *, threshold: float = DEFAULT_THRESHOLD, policy: str = DEFAULT_POLICY, models: list[str] | None = None,
             since: str | None = None, limit: int | None = None, session: "Q.Session | None" = None
             ) -> SuspectsResult:
    """Suspect labels of one version (see the module); ``previous``: an earlier version's annotations
    (``since`` names it in the reasons; its rows of the tasks whose rows differ are enough, as no
    other task has an answer whose label changed); ``models``: the model versions to trust (default: all);
    ``limit``: only the top ``limit`` items are worded (every reason is still found, counted and
    scored, in SQL: the ranking is the same); ``session``: a session to work in, whose ``ratings``
    of ``annotations`` (registered as ``ann``) an :func:`annover.loop.agreement.agreement` in it built."""
    Options(policy=policy).check()
    _check_threshold(threshold, predictions)
    for m in models or []:  # --model names model versions the version has
        check_model(predictions, m)
    res = SuspectsResult(options={"threshold": threshold, "policy": policy, "since": since})
    tables: dict[str, Any] = {"ann": annotations}
    if predictions is not None and predictions.num_rows:
        tables["preds"] = predictions
    if previous is not None:
        tables["prev"] = previous
    if session is None:
        with Q.Session() as s:
            _find(s, tables, res, threshold, policy, models, limit, since)
    else:
        _find(session, tables, res, threshold, policy, models, limit, since)
    return res


def _find(s: "Q.Session", tables: dict[str, Any], res: SuspectsResult, threshold: float, policy: str,
          models: list[str] | None, limit: int | None, since: str | None) -> None:
    """Register ``tables`` in ``s``, find every reason and fill ``res`` (:func:`_ranked`)."""
    s.add(**tables)
    Q.build_ratings(s, "ann", "ratings")
    s.make("res", Q.resolved("ratings", policy))
    reasons = [_majority()]
    if "preds" in tables:
        Q.build_best(s, "preds", "best")
        reasons.append(_model(threshold, models))
    else:
        res.notes.append("no predictions in this version: the model reason was not checked")
    if "prev" in tables:
        Q.build_ratings(s, "prev", "pratings")
        reasons.append(_changed())
    s.make("reasons", " UNION ALL ".join(f"({q})" for q in reasons))
    _ranked(s, res, limit, since)


def _ranked(s: "Q.Session", res: SuspectsResult, limit: int | None, since: str | None) -> None:
    """Fill ``res``: every suspect scored and ranked in SQL, the top ``limit`` worded."""
    for r in s.fetch("SELECT kind, count(*) AS n FROM reasons GROUP BY kind ORDER BY min(ord)").to_pylist():
        res.counts[r["kind"]] = int(r["n"])
    res.total = int(s.fetch("SELECT count(*) AS n FROM (SELECT DISTINCT task_key, from_name FROM reasons)")
                    .column("n")[0].as_py())
    top = f"LIMIT {int(limit)}" if limit is not None else ""
    # a score is its weights added in the order the item lists them, rounded as Python rounds (half to even)
    s.make("top", f"""SELECT task_key, from_name, round_even(sum(weight ORDER BY ord, who, i), 6) AS score
                      FROM reasons GROUP BY task_key, from_name
                      ORDER BY score DESC, task_key, from_name {top}""")
    # an item's label is the task's resolved label (every reason is of a (task, control) that has one)
    rows = s.fetch("""SELECT t.task_key, t.from_name, t.score, res.label AS item_label, r.*
                      FROM top AS t JOIN reasons AS r USING (task_key, from_name)
                      LEFT JOIN res ON res.task_key = t.task_key AND res.from_name = t.from_name
                      ORDER BY t.score DESC, t.task_key, t.from_name, r.ord, r.who, r.i""").to_pylist()
    items: dict[tuple[str, str], dict] = {}
    for r in rows:
        item = items.setdefault((r["task_key"], r["from_name"]), {
            "task_key": r["task_key"], "control": r["from_name"], "label": Q.shown(r["item_label"]),
            "score": float(r["score"]), "reasons": []})
        item["reasons"].append(_reason(r, since))
    res.items = list(items.values())


def _reason(r: dict, since: str | None) -> dict:
    """One reason of a row of the ``reasons`` table, worded."""
    label = _q(Q.shown(r["label"]))
    if r["kind"] == "majority":
        return {"kind": "majority", "weight": r["weight"], "annotator": r["who"],
                "text": f"{r['who']} said {label}; {r['other_votes']} of {r['others']} others said "
                        f"{_q(Q.shown(r['other']))}"}
    if r["kind"] == "model":
        return {"kind": "model", "weight": r["weight"], "model": r["who"],
                "text": f"labeled {label}; {r['who']} says {_q(Q.shown(r['other']))} (score {r['score_']:.2f})"}
    return {"kind": "changed", "weight": r["weight"], "annotator": r["who"],
            "text": f"{r['who']}'s answer changed since {since or 'the earlier version'}: "
                    f"{_q(Q.shown(r['other']))} -> {label}"}


def _check_threshold(threshold: Any, predictions: "pa.Table | None") -> None:
    """A finite number; between 0 and 1 (Label Studio's scores) unless the version's models score
    outside 0..1 (a logit, a log-likelihood), where any finite number can mean something."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise UsageError(f"--threshold {threshold!r} is not a finite number",
                         "give the least prediction score that contradicts a label, such as --threshold 0.9")
    if 0.0 <= threshold <= 1.0:
        return
    lo_hi = pc.min_max(predictions.column("score")).as_py() if predictions is not None and predictions.num_rows \
        else {"min": None, "max": None}
    if (lo_hi["min"] is not None and lo_hi["min"] < 0.0) or (lo_hi["max"] is not None and lo_hi["max"] > 1.0):
        return
    raise UsageError(f"--threshold {threshold!r} is not between 0 and 1, where every prediction score of this "
                     "version lies", "give the least score that contradicts a label, such as --threshold 0.9")


#: the columns of every reason query (``other``: the others' label, the model's, or the label
#: before; ``i``: the order of the reasons of one kind and task, after ``who``)
_COLS = "task_key, from_name, {ord} AS ord, '{kind}' AS kind, {who} AS who, label, {other} AS other, " \
        "{weight}::DOUBLE AS weight, {votes}::BIGINT AS other_votes, {others}::BIGINT AS others, " \
        "{score}::DOUBLE AS score_, row_number() OVER (PARTITION BY task_key, from_name ORDER BY {who}) AS i"


def _majority() -> str:
    """An answer the other annotators' majority (of at least two others) contradicts; weight: the
    share of the others who agree with each other."""
    cols = _COLS.format(ord=0, kind="majority", who="annotator", other="other", weight="round_even(other_votes / others, 6)",
                        votes="other_votes", others="others", score="NULL")
    return f"""
        WITH v AS (SELECT task_key, from_name, label, count(*) AS votes FROM ratings GROUP BY ALL),
        t AS (SELECT task_key, from_name, sum(votes)::BIGINT AS answers FROM v GROUP BY ALL),
        o AS (SELECT r.task_key, r.from_name, r.annotator, r.label, v.label AS other, v.votes, t.answers - 1 AS others,
                     v.votes - CASE WHEN v.label = r.label THEN 1 ELSE 0 END AS other_votes
              FROM ratings AS r JOIN v ON r.task_key = v.task_key AND r.from_name = v.from_name
              JOIN t ON r.task_key = t.task_key AND r.from_name = t.from_name WHERE t.answers >= 3)
        SELECT {cols} FROM o WHERE other <> label AND others >= 2 AND other_votes * 2 > others"""


def _q(label: Any) -> str:
    """A label as written, in quotes (not Python's repr: ``say "hi" it's`` stays as it is)."""
    return f"'{label}'"


def _model(threshold: float, models: list[str] | None) -> str:
    """A resolved label a model's best prediction contradicts with a score of at least ``threshold``;
    weight: the prediction's score."""
    only = "" if models is None else "AND p.model_version IN (" + ", ".join(quoted(m) for m in models) + ")"
    cols = _COLS.format(ord=1, kind="model", who="model_version", other="predicted", weight="round_even(score, 6)",
                        votes="NULL", others="NULL", score="score")
    return f"""
        SELECT {cols} FROM (
            SELECT r.task_key, r.from_name, r.label, p.model_version, p.label AS predicted, p.score
            FROM res AS r JOIN best AS p ON r.task_key = p.task_key AND r.from_name = p.from_name
            WHERE p.score >= {float(threshold)!r} AND p.label <> r.label {only})"""


def _changed() -> str:
    """An answer whose label changed since the earlier version; weight :data:`CHANGED_WEIGHT`."""
    cols = _COLS.format(ord=2, kind="changed", who="annotator", other="before", weight=repr(CHANGED_WEIGHT),
                        votes="NULL", others="NULL", score="NULL")
    return f"""
        SELECT {cols} FROM (
            SELECT r.task_key, r.from_name, r.annotator, r.label, p.label AS before
            FROM ratings AS r JOIN pratings AS p
              ON r.task_key = p.task_key AND r.from_name = p.from_name AND r.annotation_key = p.annotation_key
            WHERE r.label <> p.label)"""
