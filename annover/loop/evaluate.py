"""A model's stored predictions against the version's labels.

Classification controls: each task's label is resolved from its answers by the diff's
policy (``ground-truth``: a ground-truth answer, else the majority, ties to the latest),
the model's label is its best-scored prediction for the control; then accuracy, a
confusion matrix, and per-label precision, recall and F1 (per label as a yes/no question,
so multi-label answers count each of their labels). Region controls (spans, boxes): the
regions of the task's resolved answer (of each annotator's latest answer, a ground-truth one,
else the latest) against the regions of the model's best prediction, paired as the diff pairs them, at each IoU (or
span overlap) threshold: a prediction is a true positive when it pairs with a labeled
region of the same labels. A task nobody answered is not scored (its predicted regions are
not false positives); macro F1 is the mean over every label given or predicted, as
scikit-learn's ``f1_score(average="macro")``.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.diffing.match import Region, match_regions
from annover.diffing.result import DEFAULT_POLICY, NO_LABEL, Options
from annover.errors import UsageError
from annover.loop import queries as Q
from annover.loop.display import eval_html
from annover.loop.stats import prf
from annover.store.duck import quoted

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterable

    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["EvalResult", "evaluate", "compare_models", "THRESHOLDS", "check_model", "model_versions",
           "classification_figures"]

#: IoU (boxes) / overlap (spans) thresholds of matched-region precision and recall.
THRESHOLDS = (0.5, 0.75)


@dataclass
class EvalResult:
    """One model version against one version's labels (``to_json()`` is the ``--json`` document)."""

    model: str
    policy: str
    controls: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: the version scored (id, name, message, created_at), as agreement and suspects give it
    version: dict | None = None

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "policy": self.policy, "controls": self.controls, "notes": self.notes,
                "version": self.version}

    def _repr_html_(self) -> str:
        """In a notebook: accuracy and macro F1 per control, P/R/F1 per label, as tables."""
        return eval_html(self.to_json())


def model_versions(predictions: "pa.Table") -> list[str]:
    return sorted(set(predictions.column("model_version").unique().to_pylist())) if predictions.num_rows else []


def check_model(predictions: "pa.Table | None", model: str) -> None:
    """``model`` names a model version ``predictions`` holds (what eval, suspects and sample ask)."""
    have = model_versions(predictions) if predictions is not None else []
    if model not in have:
        raise UsageError(f"this version has no predictions of model version {model!r}",
                         f"use one of: {', '.join(have) or '(none: snapshot with --predictions FILE)'}")


def _classification(s: Q.Session, res: EvalResult) -> None:
    pairs = s.fetch("""
        SELECT r.from_name, r.label AS t, p.label AS p, count(*) AS n
        FROM eres AS r JOIN ebest AS p ON r.task_key = p.task_key AND r.from_name = p.from_name
        GROUP BY ALL ORDER BY ALL""").to_pylist()
    labeled = dict(s.con.execute("SELECT from_name, count(*) FROM eres GROUP BY 1").fetchall())
    predicted = dict(s.con.execute("SELECT from_name, count(*) FROM ebest GROUP BY 1").fetchall())
    controls = sorted({p["from_name"] for p in pairs} | set(labeled) | set(predicted))
    for ctl in controls:
        mine = [{**p, "t": Q.shown(p["t"]), "p": Q.shown(p["p"]) or NO_LABEL, "t_labels": Q.split(p["t"]),
                 "p_labels": Q.split(p["p"])} for p in pairs if p["from_name"] == ctl]
        entry = {"kind": "classification", **classification_figures(mine)}
        total = entry["tasks"]
        entry["labeled_not_predicted"] = int(labeled.get(ctl, 0)) - total
        entry["predicted_not_labeled"] = int(predicted.get(ctl, 0)) - total
        if not total:
            entry["note"] = "no task has both a label and a prediction of this control"
        res.controls[ctl] = entry
    blank = s.one("SELECT count(*) FROM (SELECT task_key FROM epreds GROUP BY 1 HAVING bool_and(from_name IS NULL))")[0]
    if blank and controls:
        res.notes.append(f"{blank} task(s) the model predicted with an empty result are not scored on "
                         f"{', '.join(controls)}: to score a prediction of no label, give the control a result "
                         'with no choice ("choices": [])')


def classification_figures(mine: list[dict]) -> dict[str, Any]:
    """A classification control's figures from its counted (label ``t``, prediction ``p``) pairs,
    each ``{"t", "p", "t_labels", "p_labels", "n"}``: tasks, accuracy, correct, macro F1, per label
    precision / recall / F1 and the confusion matrix. One pass over the pairs for the matrix and one
    for the labels (a pass per cell was 60 x 60 passes of the model's pairs at 60 classes)."""
    total = sum(p["n"] for p in mine)
    right = sum(p["n"] for p in mine if p["t"] == p["p"])
    labels = sorted({x for p in mine for x in (p["t"], p["p"])})
    cells: Counter = Counter()  # (label, prediction) -> tasks
    for p in mine:
        cells[p["t"], p["p"]] += p["n"]
    single = sorted({x for p in mine for x in (*p["t_labels"], *p["p_labels"])})
    tps, npreds, ntrues = _label_counts(mine)
    per_label = {lab: prf(tps[lab], npreds[lab], ntrues[lab]) for lab in single}
    # every label of the labels or the predictions, as scikit-learn's f1_score(average="macro");
    # a label here was given or predicted: npred + ntrue > 0
    f1s = [2 * tps[lab] / (npreds[lab] + ntrues[lab]) for lab in single]
    return {"tasks": total, "accuracy": round(right / total, 6) if total else None, "correct": right,
            "macro_f1": round(sum(f1s) / len(f1s), 6) if f1s else None, "labels": per_label,
            "confusion": {"labels": labels, "matrix": [[cells[t, q] for q in labels] for t in labels]}}


def _label_counts(mine: list[dict]) -> tuple[Counter, Counter, Counter]:
    """Per single label, the tasks of ``mine`` (counted pairs of labels and predictions) where it is
    among both, among the predicted, among the given labels."""
    tp: Counter = Counter()
    npred: Counter = Counter()
    ntrue: Counter = Counter()
    for p in mine:
        t, q = set(p["t_labels"]), set(p["p_labels"])
        for lab in t & q:
            tp[lab] += p["n"]
        for lab in q:
            npred[lab] += p["n"]
        for lab in t:
            ntrue[lab] += p["n"]
    return tp, npred, ntrue


def _shape_regions(rows: dict[str, list]) -> dict[str, list[Region]]:
    out: dict[str, list[Region]] = {}
    for i, task in enumerate(rows["task_key"]):
        out.setdefault(task, []).append(Region(rows["region_key"][i], rows["from_name"][i], rows["labels"][i],
                                               rows["value"][i], i, rows["region"][i]))
    return out


def _gold(s: Q.Session) -> tuple[dict[str, list], dict[str, list[Region]]]:
    """The regions of each task's resolved answer (rows, and Regions by task), read once in a session for
    every model scored in it (the report's): its ``regions`` table is made once, so they are the same."""
    made = s.made.get("regions")
    kept = s.kept.get("egold")
    if kept is None or kept[0] != made:
        gold = s.fetch(Q.resolved_regions_sql("regions")).to_pydict()
        kept = s.kept["egold"] = (made, (gold, _shape_regions(gold)))
    return kept[1]


def _regions(s: Q.Session, res: EvalResult, thresholds: tuple[float, ...]) -> None:
    gold, g = _gold(s)
    pred = s.fetch(f"""
        WITH pick AS (SELECT task_key, prediction_key FROM (
                         SELECT task_key, prediction_key, max(score) AS score FROM epreds GROUP BY ALL)
                      QUALIFY row_number() OVER (PARTITION BY task_key ORDER BY score DESC NULLS LAST, prediction_key) = 1)
        SELECT p.task_key, p.region_key, p.from_name, p.labels, p.value, {s.column('epreds', 'region', 'p.')}
        FROM epreds AS p JOIN pick USING (task_key, prediction_key)
        WHERE {Q.answered("p.", shape=True, skips=False)}""").to_pydict()
    if not gold["task_key"] and not pred["task_key"]:
        return
    p = _shape_regions(pred)
    controls = sorted(set(gold["from_name"]) | set(pred["from_name"]))
    ran = {r[0] for r in s.con.execute("SELECT DISTINCT task_key FROM epreds").fetchall()}
    # a task nobody answered (or only skipped) is not labeled: its predicted regions are not false positives;
    # one answered and predicted is scored, also where neither side has a region (an image both leave empty)
    labeled = {r[0] for r in s.con.execute("SELECT DISTINCT task_key FROM ann WHERE NOT coalesce(was_cancelled, false)")
               .fetchall()}
    tasks = sorted(labeled & ran)
    predicted = set(pred["from_name"])
    for ctl in controls:
        if ctl not in predicted:
            res.notes.append(f"{ctl}: the model predicts no regions of this control")
            continue
        entry: dict[str, Any] = {"kind": "regions", "tasks": len(tasks), "thresholds": {},
                                 "predicted_not_labeled": sum(1 for k, rs in p.items() if k not in labeled
                                                              and any(r.from_name == ctl for r in rs))}
        for t in thresholds:
            opts = Options(iou_threshold=t, overlap_threshold=t).check()
            tp = n_pred = n_true = 0
            per_label: dict[str, list[int]] = {}
            for task in tasks:
                ga = [r for r in g.get(task, []) if r.from_name == ctl]
                pb = [r for r in p.get(task, []) if r.from_name == ctl]
                n_true += len(ga)
                n_pred += len(pb)
                for r in ga:
                    for lab in r.labels:
                        per_label.setdefault(lab, [0, 0, 0])[2] += 1
                for r in pb:
                    for lab in r.labels:
                        per_label.setdefault(lab, [0, 0, 0])[1] += 1
                for ra, rb, _, _ in match_regions(ga, pb, opts)[0]:
                    if sorted(ra.labels) == sorted(rb.labels):
                        tp += 1
                    for lab in set(ra.labels) & set(rb.labels):
                        per_label[lab][0] += 1
            entry["thresholds"][str(t)] = {**prf(tp, n_pred, n_true), "matched": tp,
                                           "labels": {k: prf(*v) for k, v in sorted(per_label.items())}}
        res.controls[ctl] = entry
    # the tasks some answer drew regions on (the resolved answer may have drawn none) that the model did not predict
    unseen = len({r[0] for r in s.con.execute("SELECT DISTINCT task_key FROM regions").fetchall()} - ran)
    if unseen:
        res.notes.append(f"regions: {unseen} labeled task(s) the model made no prediction for are not counted")


def _score(s: Q.Session, annotations: "pa.Table", preds: "pa.Table", policy: str, thresholds: tuple[float, ...],
           res: EvalResult) -> None:
    """Score ``preds`` (one model's) in session ``s``: the labels resolved by ``policy`` and the
    answers' regions are made once in a session for all the models scored in it (the report's,
    where agreement made the ratings and the regions already)."""
    s.add(ann=annotations)
    s.put(epreds=preds)
    if s.made.get("eres") != ("resolved", "ann", policy):
        ratings = "ratings" if s.made.get("ratings") == ("ratings", "ann") else f"({Q.ratings_sql(s, 'ann')})"
        s.make("eres", Q.resolved(ratings, policy))
        s.made["eres"] = ("resolved", "ann", policy)
    Q.build_best(s, "epreds", "ebest", empty=True)
    Q.build_regions(s, "ann", "regions")
    _classification(s, res)
    _regions(s, res, thresholds)


def evaluate(annotations: "pa.Table", predictions: "pa.Table", model: str, policy: str = DEFAULT_POLICY,
             thresholds: tuple[float, ...] = THRESHOLDS, tasks: list[str] | None = None, *,
             session: Q.Session | None = None, config: "Iterable[str] | None" = None) -> EvalResult:
    """Model version ``model``'s predictions against the labels resolved by ``policy`` (see the module);
    ``tasks``: only these task keys (the tasks two models both predicted, say); ``session``: a
    session to work in (``annotations`` registered as ``ann``), whose labels and regions the next
    model scored in it reuses, as do agreement's ratings and regions there (the report's);
    ``config``: the labeling config's controls, to name a control the model predicts that it lacks."""
    check_model(predictions, model)
    Options(policy=policy).check()
    res = EvalResult(model, policy)
    preds = predictions.filter(pc.equal(predictions.column("model_version"), model))
    if tasks is not None:
        if session is not None:
            raise ValueError("evaluate: tasks= and session= together")  # the session's ann is the whole table
        keep = pa.array(tasks, pa.string())
        annotations = annotations.filter(pc.is_in(annotations.column("task_key"), value_set=keep))
        preds = preds.filter(pc.is_in(preds.column("task_key"), value_set=keep))
    if session is None:
        with Q.Session() as s:
            _score(s, annotations, preds, policy, thresholds, res)
    else:
        _score(session, annotations, preds, policy, thresholds, res)
    if not res.controls:
        res.notes.append("no control has both labels and predictions of this model")
    if config is not None:
        _not_in_config(res, list(config))
    return res


def _not_in_config(res: EvalResult, config: list[str]) -> None:
    """A control the model predicts, nobody labeled, and the labeling config has not: the model's
    results name it (a from_name from another project, a typo), and "no task has both a label and
    a prediction" did not say why, nor that the config's control went unpredicted for it."""
    for ctl, e in res.controls.items():
        if e["kind"] == "classification" and ctl not in config and not e["tasks"] and not e["labeled_not_predicted"]:
            close = difflib.get_close_matches(ctl, config, n=1)
            some = ", ".join(config[:5]) + (f" and {len(config) - 5} more" if len(config) > 5 else "")
            e["note"] = (f"the labeling config has no control {ctl!r} "
                         + (f"(did you mean {close[0]!r}?)" if close else f"(its controls: {some or 'none'})")
                         + ": the model's results name another control than the labels' — fix their from_name")


def compare_models(annotations: "pa.Table", predictions: "pa.Table", a: str, b: str,
                   policy: str = DEFAULT_POLICY) -> dict[str, Any]:
    """Two model versions on the tasks both predicted: each against the labels, and how often they agree."""
    check_model(predictions, a)
    check_model(predictions, b)
    with Q.Session(preds=predictions) as s:
        Q.build_best(s, "preds", "best", empty=True)
        common = [r[0] for r in s.con.execute(f"""
            SELECT DISTINCT task_key FROM preds WHERE model_version = {quoted(a)}
            INTERSECT SELECT DISTINCT task_key FROM preds WHERE model_version = {quoted(b)}
            ORDER BY 1""").fetchall()]
        same = s.con.execute(f"""
            SELECT x.from_name, count(*), count(*) FILTER (WHERE x.label = y.label)
            FROM best AS x JOIN best AS y ON x.task_key = y.task_key AND x.from_name = y.from_name
            WHERE x.model_version = {quoted(a)} AND y.model_version = {quoted(b)}
            GROUP BY 1 ORDER BY 1""").fetchall()
    return {"models": [a, b], "tasks": len(common),
            "a": evaluate(annotations, predictions, a, policy, tasks=common).to_json(),
            "b": evaluate(annotations, predictions, b, policy, tasks=common).to_json(),
            "agreement": {ctl: {"tasks": int(n), "same": int(k), "rate": round(k / n, 6) if n else None}
                          for ctl, n, k in same}}
