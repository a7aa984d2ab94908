"""Labels worth a second look, ranked, each with its reasons.

Four reasons, for classification controls:

- ``majority``: an annotator's label differs from the label most of the *other*
  annotators of the task gave (at least two others, a strict majority of them); weight:
  the share of the others who agree with each other;
- ``model``: the task's resolved label (the diff's policy) differs from a model's
  prediction scored at least ``threshold``; weight: the prediction's score;
- ``changed``: an answer's label differs from the same answer's label in an earlier
  version (a review changed it; a flip is worth checking again); weight 0.5;
- ``split``: no label leads: the task's label has as many answers as another (two annotators
  who disagree, 2-2, 1-1-1), so the latest answer's label was taken (unless, with the
  ground-truth policy, a ground-truth answer gives it); weight: the share of the answers that
  do not give it. With two annotators, the only way their disagreement shows.

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

from annover._html import ROWS
from annover._lazy import lazy
from annover.diffing.result import DEFAULT_POLICY, Options
from annover.errors import UsageError
from annover.loop import queries as Q
from annover.loop.display import suspects_html
from annover.loop.evaluate import check_model
from annover.store.duck import quoted

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["SuspectsResult", "suspects", "regions_only_note", "DEFAULT_THRESHOLD", "CHANGED_WEIGHT"]

DEFAULT_THRESHOLD = 0.9
CHANGED_WEIGHT = 0.5


@dataclass
class SuspectsResult:
    """Suspect (task, control) labels, most suspect first (the top ``limit`` of ``total`` when
    :func:`suspects` was given a limit).

    Kept as two Arrow tables, worded only when asked: ``ranked``, the items in rank order
    (task_key, from_name, label, score), and ``found``, their reasons (``item``: the row of
    ``ranked``; kind, who, label, other, weight, other_votes, others, score_; any order).
    :attr:`items` words them all as dicts, :meth:`top` the first ``n``, :meth:`tables` as
    columns (what ``--json`` writes), :meth:`task_keys` none."""

    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    total: int = 0
    ranked: "pa.Table | None" = None
    found: "pa.Table | None" = None
    _items: list[dict] | None = field(default=None, repr=False)

    @property
    def items(self) -> list[dict]:
        """Every item: task_key, control, label, score and its reasons (kind, weight, annotator
        or model, text), as the JSON lists them."""
        if self._items is None:
            self._items = self.top(None)
        return self._items

    def top(self, n: int | None) -> list[dict]:
        """The first ``n`` items (all: None), worded."""
        if self.ranked is None or (n is not None and n <= 0):
            return []
        items, reasons = self.tables(n)
        cols = [items.column(x).to_pylist() for x in ("task_key", "control", "label", "score")]
        out = [{"task_key": k, "control": c, "label": lab, "score": sc, "reasons": []} for k, c, lab, sc in zip(*cols)]
        for i, kind, w, who, text in zip(*(reasons.column(x).to_pylist()
                                           for x in ("item", "kind", "weight", "who", "text"))):
            out[i]["reasons"].append({"kind": kind, "weight": w, "model" if kind == "model" else "annotator": who,
                                      "text": text})
        return out

    def tables(self, n: int | None = None) -> "tuple[pa.Table, pa.Table]":
        """The first ``n`` items (all: None) as columns: ``items`` (task_key, control, label as
        shown, score) in rank order, and their ``reasons`` (item: the row of ``items``; kind,
        weight, who, text) in the order of the items and, within one, of the JSON."""
        ranked, found = self.ranked, self.found
        if ranked is None or found is None:
            ranked, found = _empty_ranked(), _empty_found()
        if n is not None and n < ranked.num_rows:
            ranked = ranked.slice(0, n)
            found = found.filter(pc.less(found.column("item"), n))
        items = pa.table({"task_key": ranked.column("task_key"), "control": ranked.column("from_name"),
                          "label": pc.replace_substring(ranked.column("label"), Q.SEP, ", "),
                          "score": ranked.column("score")})
        return items, _worded(found, self.options.get("since"))

    def task_keys(self) -> list[str]:
        """The tasks in rank order, each once (what ``--out`` writes)."""
        if self.ranked is None:
            return []
        return list(dict.fromkeys(self.ranked.column("task_key").to_pylist()))

    def to_json(self, items: bool = True) -> dict[str, Any]:
        """The result as plain data (``items=False``: an empty list of suspects)."""
        return {"suspects": self.items if items else [], "total": self.total, "counts": self.counts,
                "notes": self.notes, "options": self.options}

    def _repr_html_(self) -> str:
        """In a notebook: the first :data:`annover._html.ROWS` suspects with their reasons, then how
        many more (only those are worded)."""
        return suspects_html(self.top(ROWS), self.total, self.counts, self.notes, self.options)


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
    note = regions_only_note(s)
    if note:
        res.notes.append(note)
    s.make("svotes", Q.votes_sql("ratings", policy))  # the majority reason's counts too
    s.make("res", Q.resolved_of_votes("svotes", policy))
    reasons = [_majority()]
    if "preds" in tables:
        Q.build_best(s, "preds", "best")
        reasons.append(_model(threshold, models))
    else:
        res.notes.append("no predictions in this version: the model reason was not checked")
    if "prev" in tables:
        Q.build_ratings(s, "prev", "pratings")
        reasons.append(_changed())
    reasons.append(_split(policy))
    s.make("reasons", " UNION ALL ".join(f"({q})" for q in reasons))
    _ranked(s, res, limit)


def regions_only_note(s: "Q.Session") -> str | None:
    """A note when the version (``ann`` in ``s``, its ``ratings`` built) has region answers and no
    classification label: suspects finds none there, and says why rather than only "0"."""
    if s.one("SELECT count(*) FROM ratings")[0]:
        return None
    names = [r[0] for r in s.con.execute(f"SELECT DISTINCT from_name FROM ann WHERE {Q.answered(shape=True)} "
                                         "ORDER BY 1").fetchall()]
    if not names:
        return None
    return (f"suspects reads classification labels (choices, ratings); this version's answers are regions of "
            f"{', '.join(names)} (spans, boxes), which `annover agreement` compares")


def _ranked(s: "Q.Session", res: SuspectsResult, limit: int | None) -> None:
    """Fill ``res``: every suspect scored and ranked in SQL; the top ``limit`` items and their reasons
    fetched as Arrow tables (worded when asked: :class:`SuspectsResult`)."""
    for kind, n in s.con.execute("SELECT kind, count(*) FROM reasons GROUP BY kind ORDER BY min(ord)").fetchall():
        res.counts[kind] = int(n)
    # a score is its weights added in the order the item lists them (from 0.0, as Python adds them),
    # rounded as Python rounds (half to even); the order matters from three weights on (a + b is
    # b + a), so only those items (2% at 1M rows) take the ordered sum's sort
    s.make("scores", f"""
        WITH g AS (SELECT task_key, from_name, count(*) AS n, sum(weight) AS w FROM reasons GROUP BY ALL)
        SELECT task_key, from_name, round_even(w, 6) AS score FROM g WHERE n <= 2
        UNION ALL
        SELECT r.task_key, r.from_name, round_even(sum(r.weight ORDER BY {_REASON_ORDER}), 6)
        FROM reasons AS r SEMI JOIN (SELECT task_key, from_name FROM g WHERE n > 2) AS m
          ON r.task_key = m.task_key AND r.from_name = m.from_name
        GROUP BY r.task_key, r.from_name""")
    res.total = int(s.one("SELECT count(*) FROM scores")[0])
    top = f"LIMIT {int(limit)}" if limit is not None else ""
    # an item's label is the task's resolved label (every reason is of a (task, control) that has one)
    ranked = s.fetch(f"""SELECT t.task_key, t.from_name, res.label, t.score FROM scores AS t
                         LEFT JOIN res ON res.task_key = t.task_key AND res.from_name = t.from_name
                         ORDER BY t.score DESC, t.task_key, t.from_name {top}""")
    ranked = ranked.append_column("item", pa.array(range(ranked.num_rows), pa.int64()))
    name = f"suspects_ranked_{id(ranked):x}"
    s.con.register(name, ranked.select(["task_key", "from_name", "item"]))
    try:
        res.found = s.fetch(f"""SELECT k.item, r.ord, r.kind, r.who, r.label, r.other, r.weight, r.other_votes,
                                       r.others, r.score_
                                FROM reasons AS r JOIN {name} AS k
                                  ON r.task_key = k.task_key AND r.from_name = k.from_name""")
    finally:
        s.con.unregister(name)
    res.ranked = ranked.drop_columns(["item"])


#: The order of one item's reasons: the kind, then who (annotator or model), then the labels
#: (only ties of one annotator, answering twice with keys a rule cannot order, reach them).
_REASON_ORDER = "ord, who, label, other"


def _worded(found: "pa.Table", since: str | None) -> "pa.Table":
    """The reasons of :attr:`SuspectsResult.found` in item order, worded (Arrow string kernels over
    the columns: item, kind, weight, who, text)."""
    found = found.take(pc.sort_indices(found, [(c, "ascending") for c in ["item", *_REASON_ORDER.split(", ")]]))
    col = found.column

    def text(*parts: Any) -> "pa.ChunkedArray":  # as an f-string joins them (None -> "None")
        return pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="None")

    who, label, other = col("who"), _shown(col("label")), _shown(col("other"))
    majority = text(who, " said '", label, "'; ", pc.cast(col("other_votes"), pa.string()), " of ",
                    pc.cast(col("others"), pa.string()), " others said '", other, "'")
    model = text("labeled '", label, "'; ", who, " says '", other, "' (score ", _two_places(col("score_")), ")")
    changed = text(who, f"'s answer changed since {since or 'the earlier version'}: '", other, "' -> '", label, "'")
    split = text("no majority: '", label, "', '", pc.replace_substring(other, _TIED, "', '"), "' have ",
                 pc.cast(col("other_votes"), pa.string()), " of ", pc.cast(col("others"), pa.string()),
                 " answers each; ", who, "'s, the latest, was taken")
    kind = col("kind")
    worded = pc.case_when(pc.make_struct(pc.equal(kind, "majority"), pc.equal(kind, "model"),
                                         pc.equal(kind, "changed")), majority, model, changed, split)
    return pa.table({"item": col("item"), "kind": kind, "weight": col("weight"), "who": who, "text": worded})


def _shown(labels: "pa.ChunkedArray") -> "pa.ChunkedArray":
    """:func:`annover.loop.queries.shown` of a column."""
    return pc.replace_substring(labels, Q.SEP, ", ")


def _two_places(scores: "pa.ChunkedArray") -> "pa.Array":
    """Each score as Python writes it with ``:.2f`` (each distinct score once)."""
    codes = pc.dictionary_encode(scores).combine_chunks()
    values = pa.array([None if x is None else f"{x:.2f}" for x in codes.dictionary.to_pylist()], pa.string())
    return pc.take(values, codes.indices)


def _empty_ranked() -> "pa.Table":
    return pa.table({"task_key": pa.array([], pa.string()), "from_name": pa.array([], pa.string()),
                     "label": pa.array([], pa.string()), "score": pa.array([], pa.float64())})


def _empty_found() -> "pa.Table":
    return pa.table({"item": pa.array([], pa.int64()), "ord": pa.array([], pa.int32()),
                     "kind": pa.array([], pa.string()), "who": pa.array([], pa.string()),
                     "label": pa.array([], pa.string()), "other": pa.array([], pa.string()),
                     "weight": pa.array([], pa.float64()), "other_votes": pa.array([], pa.int64()),
                     "others": pa.array([], pa.int64()), "score_": pa.array([], pa.float64())})


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
#: before)
_COLS = "task_key, from_name, {ord} AS ord, '{kind}' AS kind, {who} AS who, label, {other} AS other, " \
        "{weight}::DOUBLE AS weight, {votes}::BIGINT AS other_votes, {others}::BIGINT AS others, " \
        "{score}::DOUBLE AS score_"


def _majority() -> str:
    """An answer the other annotators' majority (of at least two others) contradicts; weight: the
    share of the others who agree with each other.

    Only a label most of the others gave can be such a majority: one with ``votes * 2 > answers - 1``
    (two at most, each half of an even count), and short of every answer (else no one dissents).
    Those candidates come from the task's label counts (``svotes``, which resolved its label), and
    each dissenting answer is joined to the one it does not give."""
    cols = _COLS.format(ord=0, kind="majority", who="annotator", other="other", weight="round_even(other_votes / others, 6)",
                        votes="other_votes", others="others", score="NULL")
    return f"""
        WITH c AS (SELECT v.task_key, v.from_name, v.label AS other, v.votes AS other_votes, t.answers - 1 AS others
                   FROM svotes AS v JOIN res AS t ON v.task_key = t.task_key AND v.from_name = t.from_name
                   WHERE t.answers >= 3 AND v.votes < t.answers AND v.votes * 2 > t.answers - 1)
        SELECT {cols} FROM (
            SELECT r.task_key, r.from_name, r.annotator, r.label, c.other, c.other_votes, c.others
            FROM ratings AS r JOIN c ON r.task_key = c.task_key AND r.from_name = c.from_name
            WHERE r.label <> c.other)"""


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


#: What parts the other labels a split task's label is tied with, inside the queries
_TIED = "\x1e"


def _split(policy: str) -> str:
    """A label no other trails: another label has as many answers, so the policy's tie-break (the
    latest answer) chose it, unless a ground-truth answer did (policy ``ground-truth``); weight:
    the share of the answers that do not give it; ``who``: the latest answer giving it (the
    answer key its rank among the label's answers ends with)."""
    cols = _COLS.format(ord=3, kind="split", who="who", other="other", weight="round_even(1 - votes / answers, 6)",
                        votes="votes", others="answers", score="NULL")
    by_gt = "WHERE NOT starts_with(v.best, '1')" if policy == "ground-truth" else ""
    return f"""
        WITH r AS (SELECT r.task_key, r.from_name, r.label, r.answers, v.votes, v.best
                   FROM res AS r JOIN svotes AS v
                     ON v.task_key = r.task_key AND v.from_name = r.from_name AND v.label = r.label {by_gt}),
        o AS (SELECT r.task_key, r.from_name, r.label, r.answers, r.votes, r.best,
                     bool_and(o.votes = r.votes) AS tie, list_sort(list(o.label)) AS others
              FROM r JOIN svotes AS o ON o.task_key = r.task_key AND o.from_name = r.from_name
                                      AND o.votes >= r.votes AND o.label <> r.label
              GROUP BY ALL)
        SELECT {cols} FROM (
            SELECT o.task_key, o.from_name, o.label, o.answers, o.votes, a.annotator AS who,
                   array_to_string(o.others, chr({ord(_TIED)})) AS other
            FROM o JOIN ratings AS a ON a.task_key = o.task_key AND a.from_name = o.from_name
                                    AND a.annotation_key = substr(o.best, strpos(o.best, chr(0)) + 1)
            WHERE o.tie)"""


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
