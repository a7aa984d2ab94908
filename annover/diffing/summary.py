"""The summary of a diff (the ``--json`` document without rows), from the counted table diffs."""

from __future__ import annotations

from typing import Any

from annover.diffing import sql
from annover.diffing.answers import TableDiff
from annover.diffing.plan import Compared, Plan
from annover.diffing.result import ADDED, CHANGED, REMOVED, SCHEMA, Options
from annover.store.duck import fetch


def _agreement(con: Any, plan: Plan, side: str, mv: str, policy: str, prefix: str, made: dict[str, str]) -> dict:
    p = plan.whole.predictions(side, mv).register(con, f"{prefix}_pred")
    r = fetch(con, sql.agreement(_resolved(con, plan, side, policy, made), p)).to_pylist()[0]
    pairs, agree = int(r["pairs"]), int(r["agree"] or 0)
    return {"pairs": pairs, "agree": agree, "rate": round(agree / pairs, 6) if pairs else None}


def _resolved(con: Any, plan: Plan, side: str, policy: str, made: dict[str, str]) -> str:
    """The table of side ``side``'s resolved labels (:func:`annover.diffing.sql.resolved`), made once
    for every model version compared with them (``made``: side -> table, of this connection)."""
    if side not in made:
        a = plan.whole.annotations(side).register(con, f"lab_{side}_ann")
        con.execute(f"CREATE OR REPLACE TEMP TABLE lab_{side} AS {sql.resolved(a, policy)}")
        made[side] = f"lab_{side}"
    return made[side]


def _whole(con: Any, plan: Plan, side: str, mv: str, regions: int, prefix: str) -> TableDiff:
    """A model version on one side only: every prediction and region of it added (side b) or removed (a)."""
    p = plan.whole.predictions(side, mv).register(con, f"{prefix}_whole")
    n = int(fetch(con, f"SELECT count(DISTINCT (task_key, prediction_key)) AS n FROM {p}").to_pylist()[0]["n"])
    what = ADDED if side == "b" else REMOVED
    d = TableDiff(**{what: n})
    d.regions[what] = regions
    return d


def _model_version(con: Any, plan: Plan, opts: Options, mv: str, d: TableDiff, i: int,
                   made: dict[str, str]) -> dict:
    in_a, in_b = mv in plan.mv_a, mv in plan.mv_b
    status = ADDED if not in_a else REMOVED if not in_b else CHANGED if d.any_rows else "unchanged"
    agree: dict[str, dict | None] = {"a": None, "b": None}
    if in_a:
        agree["a"] = _agreement(con, plan, "a", mv, opts.policy, f"ag{i}a", made)
    if in_b:
        same = in_a and plan.whole.same_agreement_input(mv)
        agree["b"] = agree["a"] if same else _agreement(con, plan, "b", mv, opts.policy, f"ag{i}b", made)
    sa, sb = plan.stats_a.get("predictions", {}).get(mv, {}), plan.stats_b.get("predictions", {}).get(mv, {})
    if in_a != in_b:  # a whole model version added or removed: its predictions and regions all are
        d = _whole(con, plan, "a" if in_a else "b", mv, (sa if in_a else sb).get("regions", 0), f"wh{i}")
    return {
        "status": status,
        "tasks": {"before": sa.get("tasks", 0), "after": sb.get("tasks", 0)},
        "predictions": {ADDED: d.added, REMOVED: d.removed, CHANGED: d.changed},
        "regions": {"before": sa.get("regions", 0), "after": sb.get("regions", 0), **d.regions},
        "agreement": {"before": agree["a"]["rate"] if agree["a"] else None,
                      "after": agree["b"]["rate"] if agree["b"] else None,
                      "pairs_before": agree["a"]["pairs"] if agree["a"] else 0,
                      "pairs_after": agree["b"]["pairs"] if agree["b"] else 0},
    }


def predictions(con: Any, plan: Plan, opts: Options, preds: dict[str, TableDiff]) -> dict:
    """Model versions added and removed; per model version its changes and agreement with the answers."""
    out: dict[str, Any] = {"model_versions_added": sorted(set(plan.mv_b) - set(plan.mv_a)),
                           "model_versions_removed": sorted(set(plan.mv_a) - set(plan.mv_b)), "model_versions": {}}
    made: dict[str, str] = {}  # each side's resolved labels, made once for all the model versions
    for i, mv in enumerate(sorted(set(plan.mv_a) | set(plan.mv_b))):
        out["model_versions"][mv] = _model_version(con, plan, opts, mv, preds.get(mv, TableDiff()), i, made)
    return out


def _labels(sa: dict, sb: dict) -> dict[str, dict[str, dict]]:
    labels: dict[str, dict[str, dict]] = {}
    la, lb = sa.get("labels", {}), sb.get("labels", {})
    for ctl in sorted(set(la) | set(lb)):
        for lab in sorted(set(la.get(ctl, {})) | set(lb.get(ctl, {}))):
            before, after = la.get(ctl, {}).get(lab, 0), lb.get(ctl, {}).get(lab, 0)
            labels.setdefault(ctl, {})[lab] = {"before": before, "after": after, "delta": after - before}
    return labels


def _annotators(sa: dict, sb: dict, per: dict[str, dict[str, int]]) -> dict:
    aa, ab = sa.get("annotators", {}), sb.get("annotators", {})
    out = {}
    for name in sorted(set(aa) | set(ab) | set(per)):
        d = per.get(name, {ADDED: 0, REMOVED: 0, CHANGED: 0})
        out[name] = {"before": aa.get(name, 0), "after": ab.get(name, 0), **d}
    return out


def _before_after(sa: dict, sb: dict, key: str) -> dict:
    return {"before": sa.get(key, 0), "after": sb.get(key, 0)}


def summary(con: Any, plan: Plan, opts: Options, found: Compared) -> dict:
    """The summary document of a compared plan."""
    sa, sb = plan.stats_a, plan.stats_b
    td, ann = found.tasks, found.annotations
    preds = predictions(con, plan, opts, found.predictions)
    source = plan.source
    identical = not (td.any_rows or ann.any_rows or any(p.any_rows for p in found.predictions.values())
                     or found.config["changed"] or preds["model_versions_added"] or preds["model_versions_removed"]
                     or (source and source["changed"]))
    return {
        "schema": SCHEMA, "a": plan.a, "b": plan.b, "identical": identical, "options": opts.to_json(),
        "tasks": {**_before_after(sa, sb, "tasks"), ADDED: td.added, REMOVED: td.removed,
                  "data_changed": td.changed, "with_annotation_changes": ann.tasks},
        "annotations": {**_before_after(sa, sb, "annotations"), ADDED: ann.added, REMOVED: ann.removed,
                        CHANGED: ann.changed},
        "regions": {**_before_after(sa, sb, "regions"), **ann.regions},
        "skipped": {**_before_after(sa, sb, "skipped"), ADDED: ann.skips_added, REMOVED: ann.skips_removed},
        "labeled": _before_after(sa, sb, "labeled"), "unlabeled": _before_after(sa, sb, "unlabeled"),
        "labels": _labels(sa, sb),
        "relabels": [{"control": c, "from": f, "to": t, "count": n}
                     for (c, f, t), n in sorted(ann.relabels.items(), key=lambda kv: (-kv[1], kv[0]))],
        "annotators": _annotators(sa, sb, ann.per_annotator), "config": found.config,
        "predictions": preds, "source": source, "parts": dict(plan.parts),
    }
