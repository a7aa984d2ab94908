"""Labels worth a second look, ranked, each with its reasons.

Four reasons for classification controls (an item is a task's label of one control):

- ``majority``: an annotator's label differs from the label most of the *other*
  annotators of the task gave (at least two others, a strict majority of them, and more
  answers than the annotator's label: a tie is ``split``); weight: the share of the others
  who agree with each other;
- ``model``: the task's resolved label (the diff's policy) differs from a model's
  prediction scored at least ``threshold``; weight: the prediction's score;
- ``changed``: an answer's label differs from the same answer's label in an earlier
  version (a review changed it; a flip is worth checking again); weight 0.5;
- ``split``: no label leads: the task's label has as many answers as another (two annotators
  who disagree, 2-2, 1-1-1), so the latest answer's label was taken (unless, with the
  ground-truth policy, a ground-truth answer gives it); weight: the share of the answers that
  do not give it. With two annotators, the only way their disagreement shows.

and five for region controls (spans, boxes, polygons: an item is one region, an answer's or,
``missed``, a model's), found by :mod:`annover.loop.region_suspects`: ``missed``, ``swapped``,
``majority``, ``changed`` and ``split`` (two annotators whose regions disagree).

An item's score is the sum of its reasons' weights; ties go to the task key. *Library
choice:* none. cleanlab (AGPL-3.0) cannot ship in an Apache-2.0 project, and its
confident learning needs each task's full out-of-sample class probabilities, which Label
Studio predictions do not carry (one label and one score); the ``model`` reason is the
part of it these predictions support (cleanlab's "self-confidence" ranking: a label the
model confidently contradicts), written as one DuckDB join.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annover._html import ROWS
from annover._lazy import lazy
from annover.diffing.result import DEFAULT_POLICY, Options
from annover.errors import UsageError
from annover.loop import queries as Q
from annover.loop.display import model_as_subject, suspects_html
from annover.model.stats import annotator_shown
from annover.loop.evaluate import check_model
from annover.loop.region_suspects import ORD, REASON_COLUMNS, RegionFound, region_reasons
from annover.store.duck import quoted

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["SuspectsResult", "suspects", "DEFAULT_THRESHOLD", "CHANGED_WEIGHT", "MODEL_KINDS"]

DEFAULT_THRESHOLD = 0.9
CHANGED_WEIGHT = 0.5
#: The reason kinds whose ``who`` is a model version (the JSON's ``model``; the others' ``annotator``)
MODEL_KINDS = ("model", "missed", "swapped")


@dataclass
class SuspectsResult:
    """Suspect (task, control) labels and regions, most suspect first (the top ``limit`` of
    ``total`` when :func:`suspects` was given a limit).

    Kept as two Arrow tables, worded only when asked: ``ranked``, the items in rank order
    (task_key, from_name, label, score; region and where, null but for a region), and ``found``,
    their reasons (``item``: the row of ``ranked``; kind, who, label, other, weight, other_votes,
    others, score_, text_; any order).
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
        or model, text), as the JSON lists them; a region's also its region key and where it is."""
        if self._items is None:
            self._items = self.top(None)
        return self._items

    def top(self, n: int | None) -> list[dict]:
        """The first ``n`` items (all: None), worded."""
        if self.ranked is None or (n is not None and n <= 0):
            return []
        items, reasons = self.tables(n)
        cols = [items.column(x).to_pylist() for x in ("task_key", "control", "label", "score", "region", "where")]
        out = [{"task_key": k, "control": c, "label": lab, "score": sc, "reasons": []} if reg is None else
               {"task_key": k, "control": c, "region": reg, "label": lab, "where": at, "score": sc, "reasons": []}
               for k, c, lab, sc, reg, at in zip(*cols)]
        for i, kind, w, who, text in zip(*(reasons.column(x).to_pylist()
                                           for x in ("item", "kind", "weight", "who", "text"))):
            out[i]["reasons"].append({"kind": kind, "weight": w, "model" if kind in MODEL_KINDS else "annotator": who,
                                      "text": text})
        return out

    def tables(self, n: int | None = None) -> "tuple[pa.Table, pa.Table]":
        """The first ``n`` items (all: None) as columns: ``items`` (task_key, control, label as
        shown, score; region and where, null but for a region) in rank order, and their
        ``reasons`` (item: the row of ``items``; kind, weight, who, text) in the order of the items
        and, within one, of the JSON."""
        ranked, found = self.ranked, self.found
        if ranked is None or found is None:
            ranked, found = _empty_ranked(), _empty_found()
        if n is not None and n < ranked.num_rows:
            ranked = ranked.slice(0, n)
            found = found.filter(pc.less(found.column("item"), n))
        items = pa.table({"task_key": ranked.column("task_key"), "control": ranked.column("from_name"),
                          "label": pc.replace_substring(ranked.column("label"), Q.SEP, ", "),
                          "score": ranked.column("score"), "region": ranked.column("region"),
                          "where": ranked.column("where")})
        return items, _worded(found, self.options.get("since"))

    def named_labels(self, n: int | None) -> list[str]:
        """The labels of the first ``n`` items (all: None) as a text output names them
        (:func:`annover.loop.queries.named`: ``'damaged, missing', refund``, where ``label`` is ambiguous)."""
        labels = self.ranked.column("label") if self.ranked is not None else pa.chunked_array([], pa.string())
        return _each(labels.slice(0, n), Q.named)[0].to_pylist()

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
    s.make("svotes", Q.votes_sql("ratings", policy))  # the majority reason's counts too
    s.make("res", Q.resolved_of_votes("svotes", policy))
    reasons = [_majority()]
    if "preds" in tables:
        Q.build_best(s, "preds", "best")
        reasons.append(_model(threshold, models))
    if "prev" in tables:
        Q.build_ratings(s, "prev", "pratings")
        reasons.append(_changed())
    reasons.append(_split(policy))
    regions = region_reasons(s, threshold, models, since)
    if "preds" not in tables:
        res.notes.append(_no_predictions(s, regions))
    res.notes += regions.notes
    if regions.reasons is not None:
        s.con.register(_REGION_REASONS, regions.reasons)
        s.con.register(_REGION_ITEMS, regions.items)
        reasons.append(f"SELECT * FROM {_REGION_REASONS}")
    try:
        s.make("reasons", " UNION ALL ".join(f"({q})" for q in reasons))
        _ranked(s, res, limit, regions)
    finally:
        if regions.reasons is not None:
            s.con.unregister(_REGION_REASONS)
            s.con.unregister(_REGION_ITEMS)


#: The names the region reasons and their items are registered under in the session
_REGION_REASONS, _REGION_ITEMS = "suspects_region_reasons", "suspects_region_items"


def _no_predictions(s: "Q.Session", regions: RegionFound) -> str:
    """The note of a version with no predictions: which reasons, of its controls, need them."""
    if not regions.regions:
        return "no predictions in this version: the model reason was not checked"
    kinds = "model, missed and swapped" if s.one("SELECT count(*) FROM ratings")[0] else "missed and swapped"
    return f"no predictions in this version: the {kinds} reasons were not checked"



def _ranked(s: "Q.Session", res: SuspectsResult, limit: int | None, regions: RegionFound) -> None:
    """Fill ``res``: every suspect scored and ranked in SQL; the top ``limit`` items and their reasons
    fetched as Arrow tables (worded when asked: :class:`SuspectsResult`). An item is a (task,
    control), and where the version has region reasons a (task, control, ``rkey``): ``rkey`` ''
    for a classification label, a region's key for a region (:data:`_REGION_ITEMS` says which)."""
    for kind, n in s.con.execute("SELECT kind, count(*) FROM reasons GROUP BY kind ORDER BY min(ord)").fetchall():
        res.counts[kind] = int(n)
    key = ["task_key", "from_name", *(["rkey"] if regions.items is not None else [])]
    cols, r_cols = ", ".join(key), ", ".join(f"r.{k}" for k in key)
    # a score is its weights added in the order the item lists them (from 0.0, as Python adds them),
    # rounded as Python rounds (half to even); the order matters from three weights on (a + b is
    # b + a), so only those items (2% at 1M rows) take the ordered sum's sort
    s.make("scores", f"""
        WITH g AS (SELECT {cols}, count(*) AS n, sum(weight) AS w FROM reasons GROUP BY ALL)
        SELECT {cols}, round_even(w, 6) AS score FROM g WHERE n <= 2
        UNION ALL
        SELECT {r_cols}, round_even(sum(r.weight ORDER BY {_REASON_ORDER}), 6)
        FROM reasons AS r SEMI JOIN (SELECT {cols} FROM g WHERE n > 2) AS m ON {_on("r", "m", key)}
        GROUP BY {r_cols}""")
    res.total = int(s.one("SELECT count(*) FROM scores")[0])
    top = f"LIMIT {int(limit)}" if limit is not None else ""
    # a label's item: the task's resolved label (every reason is of a (task, control) that has
    # one); a region's: its labels, key and place
    if regions.items is None:
        item, join = "res.label AS label, t.score, NULL::VARCHAR AS region, NULL::VARCHAR AS \"where\"", ""
    else:
        item = "CASE WHEN t.rkey = '' THEN res.label ELSE i.label END AS label, t.score, i.region, i.where_ AS " \
               "\"where\", t.rkey"
        join = f"LEFT JOIN {_REGION_ITEMS} AS i ON t.rkey <> '' AND {_on('i', 't', key)}"
    ranked = s.fetch(f"""SELECT t.task_key, t.from_name, {item} FROM scores AS t
                         LEFT JOIN res ON {"t.rkey = '' AND " if join else ""}{_on("res", "t", key[:2])} {join}
                         ORDER BY t.score DESC, {", ".join(f"t.{k}" for k in key)} {top}""")
    ranked = ranked.append_column("item", pa.array(range(ranked.num_rows), pa.int64()))
    name = f"suspects_ranked_{id(ranked):x}"
    s.con.register(name, ranked.select([*key, "item"]))
    try:
        res.found = s.fetch(f"""SELECT k.item, r.ord, r.kind, r.who, r.label, r.other, r.weight, r.other_votes,
                                       r.others, r.score_, r.text_
                                FROM reasons AS r JOIN {name} AS k ON {_on("r", "k", key)}""")
    finally:
        s.con.unregister(name)
    res.ranked = ranked.drop_columns(["item", *key[2:]])


def _on(a: str, b: str, key: list[str]) -> str:
    """The join condition of two tables' ``key`` columns."""
    return " AND ".join(f"{a}.{k} = {b}.{k}" for k in key)


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

    who, (label,), (other, tied) = col("who"), _each(col("label"), Q.named), _each(col("other"), Q.named, _tied)
    person, model_named = _each(who, annotator_shown, model_as_subject)  # an annotator's who, a model's
    majority = text(person, " said ", label, "; ", pc.cast(col("other_votes"), pa.string()), " of ",
                    pc.cast(col("others"), pa.string()), " others said ", other)
    model = text("labeled ", label, "; ", model_named, " says ", other, " (score ", _two_places(col("score_")), ")")
    changed = text(person, f"'s answer changed since {since or 'the earlier version'}: ", other, " -> ", label)
    split = text("no majority: ", label, ", ", tied, " have ", pc.cast(col("other_votes"), pa.string()), " of ",
                 pc.cast(col("others"), pa.string()), " answers each; ", person, "'s, the latest, was taken")
    kind = col("kind")
    worded = pc.case_when(pc.make_struct(pc.is_valid(col("text_")), pc.equal(kind, "majority"),
                                         pc.equal(kind, "model"), pc.equal(kind, "changed")),
                          col("text_"), majority, model, changed, split)  # a region's worded as found
    return pa.table({"item": col("item"), "kind": kind, "weight": col("weight"), "who": who, "text": worded})


def _tied(other: str) -> str:
    """The labels tied with an item's (the ``split`` reason's ``other``: label texts joined by :data:`_TIED`), named."""
    return ", ".join(Q.named(x) or "" for x in other.split(_TIED))


def _two_places(scores: "pa.ChunkedArray") -> "pa.Array":
    """Each score as Python writes it with ``:.2f``."""
    return _each(scores, lambda x: f"{x:.2f}")[0]


def _each(column: "pa.ChunkedArray", *words: Callable[[Any], str]) -> list["pa.Array"]:
    """Each of ``words`` of each value of ``column`` (null where it is null), called once per distinct value."""
    codes = pc.dictionary_encode(column).combine_chunks()
    distinct = codes.dictionary.to_pylist()
    return [pc.take(pa.array([None if x is None else word(x) for x in distinct], pa.string()), codes.indices)
            for word in words]


def _empty_ranked() -> "pa.Table":
    return pa.table({"task_key": pa.array([], pa.string()), "from_name": pa.array([], pa.string()),
                     "label": pa.array([], pa.string()), "score": pa.array([], pa.float64()),
                     "region": pa.array([], pa.string()), "where": pa.array([], pa.string())})


def _empty_found() -> "pa.Table":
    cols = [("item", "int64"), *((c, t) for c, t in REASON_COLUMNS if c not in ("task_key", "from_name", "rkey"))]
    return pa.table({c: pa.array([], getattr(pa, t)()) for c, t in cols})


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
#: before), :data:`annover.loop.region_suspects.REASON_COLUMNS`
_COLS = "task_key, from_name, {ord} AS ord, '{kind}' AS kind, {who} AS who, label, {other} AS other, " \
        "{weight}::DOUBLE AS weight, {votes}::BIGINT AS other_votes, {others}::BIGINT AS others, " \
        "{score}::DOUBLE AS score_, '' AS rkey, NULL::VARCHAR AS text_"


def _majority() -> str:
    """An answer the other annotators' majority (of at least two others) contradicts; weight: the
    share of the others who agree with each other.

    Only a label most of the others gave can be such a majority: one with ``votes * 2 > answers - 1``
    (two at most, each half of an even count), and short of every answer (else no one dissents); and
    it leads the answer's own label (more answers): in a tie, 2-2, each side is a majority of the
    others of each answer of the other side, where no label leads (the ``split`` reason says so).
    Those candidates come from the task's label counts (``svotes``, which resolved its label), and
    each dissenting answer is joined to the one it does not give."""
    cols = _COLS.format(ord=ORD["majority"], kind="majority",
                        who="annotator", other="other", weight="round_even(other_votes / others, 6)",
                        votes="other_votes", others="others", score="NULL")
    return f"""
        WITH c AS (SELECT v.task_key, v.from_name, v.label AS other, v.votes AS other_votes, t.answers - 1 AS others
                   FROM svotes AS v JOIN res AS t ON v.task_key = t.task_key AND v.from_name = t.from_name
                   WHERE t.answers >= 3 AND v.votes < t.answers AND v.votes * 2 > t.answers - 1)
        SELECT {cols} FROM (
            SELECT r.task_key, r.from_name, r.annotator, r.label, c.other, c.other_votes, c.others
            FROM ratings AS r JOIN c ON r.task_key = c.task_key AND r.from_name = c.from_name
            JOIN svotes AS mine ON r.task_key = mine.task_key AND r.from_name = mine.from_name AND r.label = mine.label
            WHERE r.label <> c.other AND c.other_votes > mine.votes)"""


def _model(threshold: float, models: list[str] | None) -> str:
    """A resolved label a model's best prediction contradicts with a score of at least ``threshold``;
    weight: the prediction's score."""
    only = "" if models is None else "AND p.model_version IN (" + ", ".join(quoted(m) for m in models) + ")"
    cols = _COLS.format(ord=ORD["model"], kind="model",
                        who="model_version", other="predicted", weight="round_even(score, 6)",
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
    cols = _COLS.format(ord=ORD["split"], kind="split",
                        who="who", other="other", weight="round_even(1 - votes / answers, 6)",
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
    cols = _COLS.format(ord=ORD["changed"], kind="changed",
                        who="annotator", other="before", weight=repr(CHANGED_WEIGHT),
                        votes="NULL", others="NULL", score="NULL")
    return f"""
        SELECT {cols} FROM (
            SELECT r.task_key, r.from_name, r.annotator, r.label, p.label AS before
            FROM ratings AS r JOIN pratings AS p
              ON r.task_key = p.task_key AND r.from_name = p.from_name AND r.annotation_key = p.annotation_key
            WHERE r.label <> p.label)"""
