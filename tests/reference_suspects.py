"""The reference: annover.loop.suspects as it was before it scored and ranked in SQL (every
suspect built and worded in Python), kept to hold the SQL ranking to the same items. Of
classification labels only (the region reasons came later, and are held to their own
computation in tests/test_suspects_regions.py).

Labels worth a second look, ranked, each with its reasons.

Four reasons, for classification controls:

- ``majority``: an annotator's label differs from the label most of the *other*
  annotators of the task gave (at least two others, a strict majority of them); weight:
  the share of the others who agree with each other;
- ``model``: the task's resolved label (the diff's policy) differs from a model's
  prediction scored at least ``threshold``; weight: the prediction's score;
- ``changed``: an answer's label differs from the same answer's label in an earlier
  version (a review changed it; a flip is worth checking again); weight 0.5;
- ``split``: the task's label has as many answers as another, so the latest answer's was
  taken (unless a ground-truth answer gave it, with the ground-truth policy); weight: the
  share of the answers that do not give it.

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
    """Suspect (task, control) labels, most suspect first."""

    items: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)

    def task_keys(self) -> list[str]:
        """The tasks in rank order, each once (what ``--out`` writes)."""
        return list(dict.fromkeys(i["task_key"] for i in self.items))

    def to_json(self) -> dict[str, Any]:
        return {"suspects": self.items, "counts": self.counts, "notes": self.notes, "options": self.options}


def _shown(row: dict) -> dict:
    """A result row with its label texts as people read them."""
    return {k: Q.shown(v) if k in ("label", "other", "predicted", "before") else v for k, v in row.items()}


def suspects(annotations: "pa.Table", predictions: "pa.Table | None" = None, previous: "pa.Table | None" = None,
             *, threshold: float = DEFAULT_THRESHOLD, policy: str = DEFAULT_POLICY, models: list[str] | None = None,
             since: str | None = None) -> SuspectsResult:
    """Suspect labels of one version (see the module); ``previous``: an earlier version's annotations
    (``since`` names it in the reasons); ``models``: the model versions to trust (default: all)."""
    Options(policy=policy).check()
    _check_threshold(threshold, predictions)
    for m in models or []:  # --model names model versions the version has
        check_model(predictions, m)
    res = SuspectsResult(options={"threshold": threshold, "policy": policy, "since": since})
    found: dict[tuple[str, str], dict] = {}

    def add(task: str, ctl: str, label: str, reason: dict) -> None:
        item = found.setdefault((task, ctl), {"task_key": task, "control": ctl, "label": label, "score": 0.0,
                                              "reasons": []})
        item["score"] += reason["weight"]
        item["reasons"].append(reason)
        res.counts[reason["kind"]] = res.counts.get(reason["kind"], 0) + 1

    tables: dict[str, Any] = {"ann": annotations}
    if predictions is not None and predictions.num_rows:
        tables["preds"] = predictions
    if previous is not None:
        tables["prev"] = previous
    with Q.Session(**tables) as s:
        Q.build_ratings(s, "ann", "ratings")
        s.make("res", Q.resolved("ratings", policy))
        _majority(s, add)
        if "preds" in tables:
            _model(s, add, threshold, models)
        elif predictions is None or not predictions.num_rows:
            res.notes.append("no predictions in this version: the model reason was not checked")
        if "prev" in tables:
            _changed(s, add, since)
        _split(s, add, policy)
        _label_resolved(s, found)
    for item in found.values():
        item["score"] = round(item["score"], 6)
    res.items = sorted(found.values(), key=lambda i: (-i["score"], i["task_key"], i["control"]))
    return res


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


def _majority(s: "Q.Session", add: Any) -> None:
    """An answer the other annotators' majority (of at least two others) contradicts."""
    for r in s.fetch("""
        WITH v AS (SELECT task_key, from_name, label, count(*) AS votes FROM ratings GROUP BY ALL),
        t AS (SELECT task_key, from_name, sum(votes)::BIGINT AS answers FROM v GROUP BY ALL),
        o AS (SELECT r.task_key, r.from_name, r.annotator, r.label, v.label AS other, v.votes, t.answers - 1 AS others,
                     v.votes - CASE WHEN v.label = r.label THEN 1 ELSE 0 END AS other_votes
              FROM ratings AS r JOIN v ON r.task_key = v.task_key AND r.from_name = v.from_name
              JOIN t ON r.task_key = t.task_key AND r.from_name = t.from_name WHERE t.answers >= 3)
        SELECT o.* FROM o JOIN v AS mine ON o.task_key = mine.task_key AND o.from_name = mine.from_name
                               AND o.label = mine.label
        WHERE other <> o.label AND others >= 2 AND other_votes * 2 > others AND other_votes > mine.votes
        ORDER BY o.task_key, o.from_name, annotator""").to_pylist():
        raw, r = r, _shown(r)  # the reasons name each label of the raw text
        add(r["task_key"], r["from_name"], r["label"], {
            "kind": "majority", "weight": round(int(r["other_votes"]) / int(r["others"]), 6), "annotator": r["annotator"],
            "text": f"{r['annotator']} said {_q(raw['label'])}; {r['other_votes']} of {r['others']} others said "
                    f"{_q(raw['other'])}"})


def _label_resolved(s: "Q.Session", found: dict[tuple[str, str], dict]) -> None:
    """Each suspect's label: the task's resolved label (by the policy), not the first reason's (an
    annotator's dissenting answer, where the task's label was another and others dissented too)."""
    if not found:
        return
    s.con.register("suspect_keys", pa.table({"task_key": [k[0] for k in found], "from_name": [k[1] for k in found]}))
    for r in s.fetch("SELECT k.task_key, k.from_name, r.label FROM suspect_keys AS k JOIN res AS r "
                     "ON k.task_key = r.task_key AND k.from_name = r.from_name").to_pylist():
        found[(r["task_key"], r["from_name"])]["label"] = Q.shown(r["label"])


def _q(label: Any) -> str:
    """A label text as the reasons name it: each label as every text output names it (quoted as Python
    quotes text where it would read as several or as a quoted one, else as it is)."""
    return Q.named(label)


def _model(s: "Q.Session", add: Any, threshold: float, models: list[str] | None) -> None:
    """A resolved label a model's best prediction contradicts with a score of at least ``threshold``."""
    Q.build_best(s, "preds", "best")
    only = "" if models is None else "AND p.model_version IN (" + ", ".join(quoted(m) for m in models) + ")"
    for r in s.fetch(f"""
        SELECT r.task_key, r.from_name, r.label, p.model_version, p.label AS predicted, p.score
        FROM res AS r JOIN best AS p ON r.task_key = p.task_key AND r.from_name = p.from_name
        WHERE p.score >= {float(threshold)!r} AND p.label <> r.label {only}
        ORDER BY r.task_key, r.from_name, p.model_version""").to_pylist():
        raw, r = r, _shown(r)  # the reasons name each label of the raw text
        add(r["task_key"], r["from_name"], r["label"], {
            "kind": "model", "weight": round(float(r["score"]), 6), "model": r["model_version"],
            "text": f"labeled {_q(raw['label'])}; {r['model_version']} says {_q(raw['predicted'])} "
                    f"(score {r['score']:.2f})"})


def _changed(s: "Q.Session", add: Any, since: str | None) -> None:
    """An answer whose label changed since the earlier version."""
    Q.build_ratings(s, "prev", "pratings")
    for r in s.fetch("""
        SELECT r.task_key, r.from_name, r.annotator, r.label, p.label AS before
        FROM ratings AS r JOIN pratings AS p
          ON r.task_key = p.task_key AND r.from_name = p.from_name AND r.annotation_key = p.annotation_key
        WHERE r.label <> p.label ORDER BY r.task_key, r.from_name, r.annotator""").to_pylist():
        raw, r = r, _shown(r)  # the reasons name each label of the raw text
        add(r["task_key"], r["from_name"], r["label"], {
            "kind": "changed", "weight": CHANGED_WEIGHT, "annotator": r["annotator"],
            "text": f"{r['annotator']}'s answer changed since {since or 'the earlier version'}: "
                    f"{_q(raw['before'])} -> {_q(raw['label'])}"})


def _split(s: "Q.Session", add: Any, policy: str) -> None:
    """A resolved label another label has as many answers as (its tie broken by the latest answer)."""
    resolved = {(r["task_key"], r["from_name"]): r["label"]
                for r in s.fetch("SELECT task_key, from_name, label FROM res").to_pylist()}
    answers: dict[tuple[str, str], list[dict]] = {}
    for r in s.fetch("SELECT task_key, from_name, annotator, annotation_key, gt, ts, label FROM ratings").to_pylist():
        answers.setdefault((r["task_key"], r["from_name"]), []).append(r)
    for (task, ctl), rows in sorted(answers.items()):
        votes: dict[str, int] = {}
        for r in rows:
            votes[r["label"]] = votes.get(r["label"], 0) + 1
        most, label = max(votes.values()), resolved[(task, ctl)]
        tied = sorted(x for x, n in votes.items() if n == most and x != label)
        mine = [r for r in rows if r["label"] == label]
        if votes.get(label) != most or not tied or (policy == "ground-truth" and any(r["gt"] for r in mine)):
            continue
        who = max(mine, key=lambda r: (r["ts"], r["annotation_key"]))["annotator"]
        add(task, ctl, Q.shown(label), {
            "kind": "split", "weight": round(1 - most / len(rows), 6), "annotator": who,
            "text": f"no majority: {', '.join(_q(x) for x in [label, *tied])} have {most} of {len(rows)} "
                    f"answers each; {who}'s, the latest, was taken"})
