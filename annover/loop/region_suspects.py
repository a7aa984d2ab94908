"""The region reasons of ``annover suspects``: spans, boxes, polygons, keypoints (docs/loop.md).

Regions pair as ``annover eval`` and the diff pair them (:func:`annover.diffing.match.match_regions`:
IoU, span overlap or keypoint similarity of at least 0.5, best pairs first, labels aside), and
the task's *resolved answer* is eval's (of each annotator's latest answer, a ground-truth one, else the
latest):

- ``missed`` (cleanlab's "overlooked"): a region a model predicts with a score of at least the
  threshold that pairs with no region of the resolved answer; weight: the score;
- ``swapped``: a region of the resolved answer that pairs with such a prediction of other
  labels; weight: the score;
- ``majority``: an annotator's region that a strict majority of the task's other annotators
  (at least two) have no region paired with, or one of other labels; weight: their share of the
  others (an annotator who answered with no region of the control has none there);
- ``split``: of a task two annotators answered (where no majority can be), a region that pairs
  with no region of the other's answer, or with one of other labels: no side leads, so the
  resolved answer (eval's) was taken unless a ground-truth answer decides; weight 0.5 (the share of
  the answers that do not give it, as a classification split of two; below any ``majority``). One
  item a disagreement: a region of one side, of a pair of other labels the taken answer's;
- ``changed``: a region whose labels differ from the same region's (the same answer, the same
  region key) in the earlier version; weight 0.5.

A predicted region's score is its own (Label Studio's per-result ``score``) where it has one, else
its prediction's; each model's best-scored prediction of a task is read (eval's), and only its
regions scored at least the threshold are paired (a less sure duplicate does not hide a sure one).
The regions are paired in Python, per task; the reasons are worded as they are found (the
classification reasons are worded only when shown, in bulk), and ranked with the others in SQL.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.diffing.match import Region, match_regions
from annover.diffing.result import BY_IOU, BY_OVERLAP, Options
from annover.diffing.words import num_s, short
from annover.loop import queries as Q
from annover.loop.display import model_as_subject
from annover.model.geometry import BOX, ELLIPSE, POINT, POLYGON, SPAN
from annover.model.stats import annotator_shown
from annover.store.duck import quoted

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
else:
    pa = lazy("pyarrow")

__all__ = ["RegionFound", "region_reasons", "where_of", "REASON_COLUMNS", "ORD"]

#: Each reason kind's place among an item's reasons (and in ``counts``): the classification
#: kinds' 0-3, then the region kinds'
ORD = {"majority": 0, "model": 1, "changed": 2, "split": 3, "swapped": 4, "missed": 5}
#: The columns of the suspects' ``reasons`` table, with their types (``rkey``: the region item a
#: reason is of, '' for a classification label; ``text_``: the reason as worded, for a region)
REASON_COLUMNS = (("task_key", "string"), ("from_name", "string"), ("ord", "int32"), ("kind", "string"),
                  ("who", "string"), ("label", "string"), ("other", "string"), ("weight", "float64"),
                  ("other_votes", "int64"), ("others", "int64"), ("score_", "float64"), ("rkey", "string"),
                  ("text_", "string"))
_PAIRING = Options()
#: The weight of a region ``split``: the share of the two answers that do not give it, as a classification
#: label's split of two (below any region ``majority``'s, more than half the others)
SPLIT_WEIGHT = 0.5
_HOW = {BY_IOU: "IoU", BY_OVERLAP: "overlap"}


@dataclass
class RegionFound:
    """The region reasons (``reasons``: :data:`REASON_COLUMNS`) and their items (``items``:
    task_key, from_name, rkey, region, label, where_), None where none; ``notes``: what was not
    checked; ``regions``: whether the version has region answers or predicted regions."""

    reasons: "pa.Table | None" = None
    items: "pa.Table | None" = None
    notes: list[str] = field(default_factory=list)
    regions: bool = False


def label_text(labels: list | None) -> str:
    """A region's labels as the queries' ``label`` text (sorted, distinct, joined)."""
    return Q.SEP.join(sorted(set(labels or [])))


class _Found:
    """The reasons found, as columns, and the items they are of."""

    def __init__(self, since: str | None) -> None:
        self.cols: dict[str, list] = {c: [] for c, _ in REASON_COLUMNS}
        self.items: dict[tuple, tuple] = {}
        self.since = since or "the earlier version"

    def add(self, task: str, r: Region, owner: str, kind: str, who: str, other: str | None, weight: float,
            text: str, votes: int | None = None, others: int | None = None, score: float | None = None) -> None:
        rkey = owner + chr(0) + r.region_key
        label = label_text(r.labels)
        self.items.setdefault((task, r.from_name, rkey), (r.region_key, label, r.value))
        for c, v in zip(self.cols, (task, r.from_name, ORD[kind], kind, who, label, other, weight, votes, others,
                                    score, rkey, text)):
            self.cols[c].append(v)

    def tables(self) -> "tuple[pa.Table | None, pa.Table | None]":
        if not self.cols["task_key"]:
            return None, None
        schema = pa.schema([(c, getattr(pa, t)()) for c, t in REASON_COLUMNS])
        keys = list(self.items)
        items = pa.table({"task_key": [k[0] for k in keys], "from_name": [k[1] for k in keys],
                          "rkey": [k[2] for k in keys], "region": [v[0] for v in self.items.values()],
                          "label": [v[1] for v in self.items.values()],
                          "where_": [where_of(v[2]) for v in self.items.values()]})
        return pa.table(self.cols, schema=schema), items


def region_reasons(s: "Q.Session", threshold: float, models: list[str] | None, since: str | None) -> RegionFound:
    """The region reasons of the version registered in ``s`` as ``ann`` (and ``preds``, ``prev``
    where it has them): see the module."""
    out = RegionFound()
    shape = Q.answered(shape=True, skips=False)
    if not any(s.one(f"SELECT EXISTS (SELECT 1 FROM {t} WHERE {shape})")[0] for t in ("ann", "preds") if t in s.tables):
        return out  # a version of classification labels only
    Q.build_regions(s, "ann", "regions")
    rows = s.fetch("SELECT task_key, annotator, annotation_key, region_key, from_name, labels, value, region "
                   "FROM regions").to_pydict()
    preds = _predicted(s, threshold, models, out) if "preds" in s.tables else None
    out.regions = bool(rows["task_key"]) or bool(preds and preds["task_key"])
    if not out.regions:
        return out
    found = _Found(since)
    people = _people(rows)
    if preds and preds["task_key"]:
        gold = {task: (key, who) for task, key, who in s.con.execute(Q.resolved_answers_sql("ann")).fetchall()}
        _model_reasons(found, people, rows, gold, preds)
    answered = dict(s.con.execute("""
        SELECT task_key, list(DISTINCT coalesce(annotator, '-') ORDER BY coalesce(annotator, '-')) FROM ann
        WHERE NOT was_cancelled AND task_key IN (SELECT task_key FROM regions) GROUP BY 1
        HAVING count(DISTINCT coalesce(annotator, '-')) >= 2""").fetchall())
    taken = _taken(s, [task for task, names in answered.items() if len(names) == 2])
    for task, names in answered.items():
        if len(names) >= 3:
            _majority(found, task, {w: people[task].get(w, []) for w in names}, rows)
        elif task in taken:
            _split(found, task, taken[task], {w: people[task].get(w, []) for w in names}, rows)
    if "prev" in s.tables:
        _changed(s, found, people, rows)
    out.reasons, out.items = found.tables()
    return out


def _people(rows: dict[str, list]) -> dict[str, dict[str, list[Region]]]:
    """task -> annotator -> the regions of their latest answer (``index``: the row of ``rows``)."""
    out: dict[str, dict[str, list[Region]]] = {}
    for i, (task, who) in enumerate(zip(rows["task_key"], rows["annotator"])):
        out.setdefault(task, {}).setdefault(who, []).append(
            Region(rows["region_key"][i], rows["from_name"][i], rows["labels"][i], rows["value"][i], i,
                   rows["region"][i]))
    return out


def _predicted(s: "Q.Session", threshold: float, models: list[str] | None, out: RegionFound) -> dict[str, list]:
    """The regions of each model's best-scored prediction of each labeled task (eval's) scored at
    least ``threshold`` (their own score, else their prediction's); a note of those with none."""
    only = "" if models is None else "WHERE model_version IN (" + ", ".join(quoted(m) for m in models) + ")"
    reg = "p.region" if "region" in s.tables["preds"].column_names else "NULL::VARCHAR"
    s.make("rpreds", f"""
        WITH pick AS (SELECT task_key, model_version, prediction_key FROM (
                          SELECT task_key, model_version, prediction_key, max(score) AS score FROM preds {only}
                          GROUP BY ALL)
                      QUALIFY row_number() OVER (PARTITION BY task_key, model_version
                                                 ORDER BY score DESC NULLS LAST, prediction_key) = 1)
        SELECT p.task_key, p.model_version, p.prediction_key, p.region_key, p.from_name, p.labels, p.value,
               {reg} AS region, coalesce(TRY_CAST(json_extract_string({reg}, '$.score') AS DOUBLE), p.score) AS conf
        FROM preds AS p JOIN pick USING (task_key, model_version, prediction_key)
        WHERE {Q.answered("p.", shape=True, skips=False)}
          AND p.task_key IN (SELECT task_key FROM ann WHERE NOT coalesce(was_cancelled, false))""")
    for model, n in s.con.execute("SELECT model_version, count(*) FROM rpreds WHERE conf IS NULL "
                                  "GROUP BY 1 ORDER BY 1").fetchall():
        out.notes.append(f"{model_as_subject(model)}: {n} predicted region(s) of labeled tasks have no score: none "
                         "can be missed or swapped (that needs a score of at least --threshold)")
    return s.fetch(f"SELECT * FROM rpreds WHERE conf >= {float(threshold)!r} "
                   "ORDER BY task_key, model_version, region_key").to_pydict()


def _model_reasons(found: _Found, people: dict, rows: dict[str, list], gold: dict[str, tuple[str, str]],
                   preds: dict[str, list]) -> None:
    """``missed`` and ``swapped``: each model's confident regions of a task against the regions of
    its resolved answer (``gold``: task -> that answer's key and annotator; it may have none)."""
    by: dict[tuple[str, str], list[Region]] = {}
    for i, (task, model) in enumerate(zip(preds["task_key"], preds["model_version"])):
        by.setdefault((task, model), []).append(
            Region(preds["region_key"][i], preds["from_name"][i], preds["labels"][i], preds["value"][i], i,
                   preds["region"][i]))
    for (task, model), mine in by.items():
        key, whose = gold.get(task, (None, None))
        named, shown = model_as_subject(model), annotator_shown(whose)
        theirs = [r for rs in people.get(task, {}).values() for r in rs if rows["annotation_key"][r.index] == key]
        pairs, _, missed = match_regions(theirs, mine, _PAIRING)
        for ra, rb, how, sim in pairs:
            label, other = label_text(ra.labels), label_text(rb.labels)
            if label != other:
                conf = preds["conf"][rb.index]
                found.add(task, ra, "a" + chr(0) + key, "swapped", model, other, round(conf, 6),
                          f"{shown} labeled {Q.named(label)}; {named} predicts {Q.named(other)} there "
                          f"(score {conf:.2f}, {_HOW.get(how, 'similarity')} {sim:.2f})", score=conf)
        for rb in missed:
            conf = preds["conf"][rb.index]
            there = f"no region of {shown}'s answer is there" if whose else "no answer has a region there"
            found.add(task, rb, "p" + chr(0) + preds["prediction_key"][rb.index], "missed", model, None,
                      round(conf, 6), f"{named} predicts {Q.named(label_text(rb.labels))} (score {conf:.2f}); "
                                      f"{there}", score=conf)


def _majority(found: _Found, task: str, people: dict[str, list[Region]], rows: dict[str, list]) -> None:
    """``majority``: the regions of one task's annotators (three or more) that most of the others
    have no region paired with, or one of other labels."""
    names = sorted(people)
    seen: dict[int, dict[str, str]] = {}  # a region's row -> annotator -> the labels of theirs it pairs with
    for x, a in enumerate(names):
        for b in names[x + 1:]:
            for ra, rb, _, _ in match_regions(people[a], people[b], _PAIRING)[0]:
                seen.setdefault(ra.index, {})[b] = label_text(rb.labels)
                seen.setdefault(rb.index, {})[a] = label_text(ra.labels)
    others = len(names) - 1
    for a in names:
        for r in people[a]:
            label = label_text(r.labels)
            said = Counter(lab for lab in seen.get(r.index, {}).values() if lab != label)
            none = others - len(seen.get(r.index, {}))
            dissent = none + sum(said.values())
            if dissent * 2 <= others:
                continue
            parts = ([f"{none} {'has' if none == 1 else 'have'} no region there"] if none else []) + \
                [f"{n} label{'s' if n == 1 else ''} it {Q.named(lab)}" for lab, n in sorted(said.items())]
            found.add(task, r, "a" + chr(0) + rows["annotation_key"][r.index], "majority", a,
                      Q.SEP.join(sorted(said)) or None, round(dissent / others, 6),
                      f"{annotator_shown(a)}'s region {Q.named(label)}: of {others} others, {', '.join(parts)}",
                      votes=dissent, others=others)


def _taken(s: "Q.Session", tasks: list[str]) -> dict[str, str]:
    """Of ``tasks``, task -> the annotator whose answer is the task's resolved one (eval's), unless
    it is a ground-truth answer (which leads: no split)."""
    if not tasks:
        return {}
    s.put(split_tasks=pa.table({"task_key": pa.array(tasks, pa.string())}))
    return dict(s.con.execute(f"""
        SELECT r.task_key, any_value(r.annotator) FROM ({Q.resolved_answers_sql("ann")}) AS r
        JOIN ann AS a USING (task_key, annotation_key) SEMI JOIN split_tasks USING (task_key)
        GROUP BY r.task_key HAVING NOT bool_or(coalesce(a.ground_truth, false))""").fetchall())


def _split(found: _Found, task: str, taken: str, people: dict[str, list[Region]], rows: dict[str, list]) -> None:
    """``split``: the regions of a task's two annotators that pair with none of the other's, or with
    one of other labels: no side leads, and the answer taken (``taken``, eval's) decides; weight
    :data:`SPLIT_WEIGHT`. An item a disagreement: a pair of other labels is the taken answer's region."""
    other = next(w for w in people if w != taken)
    pairs, rest_taken, rest_other = match_regions(people[taken], people[other], _PAIRING)
    them, us = annotator_shown(other), annotator_shown(taken)
    flagged = [(r, taken, None, f"{them}'s answer has no region there") for r in rest_taken] + \
        [(r, other, None, f"{us}'s answer, the one taken, has no region there") for r in rest_other] + \
        [(ra, taken, label_text(rb.labels), f"{them} labels it {Q.named(label_text(rb.labels))}")
         for ra, rb, _, _ in pairs if label_text(ra.labels) != label_text(rb.labels)]
    for r, who, said, rest in flagged:
        mine = f"{annotator_shown(who)}'s region {Q.named(label_text(r.labels))}" + \
            (" (the answer taken)" if who == taken else "")
        found.add(task, r, "a" + chr(0) + rows["annotation_key"][r.index], "split", who, said, SPLIT_WEIGHT,
                  f"no majority of 2 annotators: {mine}; {rest}", votes=1, others=2)


def _changed(s: "Q.Session", found: _Found, people: dict, rows: dict[str, list]) -> None:
    """``changed``: regions whose labels differ from the same region's in the earlier version."""
    Q.build_regions(s, "prev", "pregions")
    changed = s.con.execute("""
        SELECT r.task_key, r.annotator, r.annotation_key, r.region_key, p.labels
        FROM regions AS r JOIN pregions AS p
          ON r.task_key = p.task_key AND r.annotation_key = p.annotation_key AND r.from_name = p.from_name
         AND r.region_key = p.region_key
        WHERE list_sort(list_distinct(r.labels)) <> list_sort(list_distinct(p.labels))""").fetchall()
    for task, who, answer, region_key, before in changed:
        for r in people[task][who]:
            if r.region_key == region_key and rows["annotation_key"][r.index] == answer:
                found.add(task, r, "a" + chr(0) + answer, "changed", who, label_text(before), 0.5,
                          f"{annotator_shown(who)}'s region changed since {found.since}: "
                          f"{Q.named(label_text(before))} -> {Q.named(label_text(r.labels))}")


def _n(v: float) -> str:
    return f"{v:.3g}"


def where_of(value: str | None) -> str:
    """Where a region is, for a person to find it: a box's x, y, width and height (percent of the
    image), a span's start and end and its text, a polygon's extent, a point, an ellipse."""
    v = json.loads(value) if value else None
    if not isinstance(v, dict):
        return ""
    shape = Region("", None, None, value).shape()
    family, form = (shape.family, shape.form) if shape else (None, None)
    if family == SPAN:
        a, b = shape.geom
        text = v.get("text")
        return f"span {num_s(a, True)}-{num_s(b, True)}" + (f" '{short(text)}'" if isinstance(text, str) else "")
    if family == POINT:
        return f"point x {_n(v['x'])}% y {_n(v['y'])}%"
    if form == ELLIPSE:
        return f"ellipse x {_n(v['x'])}% y {_n(v['y'])}% rx {_n(v['radiusX'])}% ry {_n(v['radiusY'])}%"
    if form == POLYGON and "points" in v:
        xs, ys = [p[0] for p in v["points"]], [p[1] for p in v["points"]]
        return (f"polygon of {len(xs)} points, x {_n(min(xs))}-{_n(max(xs))}% "
                f"y {_n(min(ys))}-{_n(max(ys))}%")
    if form in (BOX, POLYGON) and "width" in v:  # a turned box is a polygon of its corners
        turned = f", rotated {num_s(v['rotation'], True)}°" if v.get("rotation") else ""
        return f"box x {_n(v['x'])}% y {_n(v['y'])}% w {_n(v['width'])}% h {_n(v['height'])}%{turned}"
    return short(value)
