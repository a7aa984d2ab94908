"""The run of a :class:`annover.diffing.plan.Plan`: the tables' diffs, the config's, the
summary, the transitions, and the row table on demand."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover._runtime import no_gc
from annover.diffing import sql
from annover.diffing.answers import TableDiff, diff_answers, tasks_touched
from annover.diffing.config import UNCHANGED, config_warnings, diff_config
from annover.diffing.describe import sorted_rows, tuples_table
from annover.diffing.match import Region, match_regions
from annover.diffing.plan import Compared, Plan, WholeTables
from annover.diffing.result import NO_LABEL, NO_TASK, SCHEMA, DiffResult, Options
from annover.diffing.sources import ANN, PRED
from annover.diffing.summary import summary
from annover.diffing.tasks import TaskDiff, diff_tasks
from annover.errors import UsageError
from annover.store.duck import cursor, fetch

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
else:
    pa = lazy("pyarrow")




def _rows(found: Compared) -> "pa.Table":
    """The row table: the tasks' rows may read the tasks' data (a DuckDB query, outside the
    GIL), in a thread while the answers' rows are worded here."""
    with no_gc(), ThreadPoolExecutor(max_workers=1) as ex:
        task_rows = ex.submit(found.tasks.rows)
        parts = list(found.annotations.rows())
        for mv in sorted(found.predictions):
            parts += found.predictions[mv].rows()
        return sorted_rows([tuples_table(task_rows.result()), *parts])


def _compare(con: Any, plan: Plan, opts: Options) -> Compared:
    config = diff_config(plan.config_a, plan.config_b) if plan.config_changed else dict(UNCHANGED)
    renames = {r["from"]: r["to"] for r in config["controls_renamed"]}
    warnings = config_warnings(plan.config_b, plan.stats_b.get("labels", {}))
    config["warnings"] = list(warnings)
    tasks = diff_tasks(con, *plan.tasks) if plan.tasks else TaskDiff()
    ann = diff_answers(con, ANN, *plan.annotations, opts, renames, "ann") if plan.annotations else TableDiff()
    preds: dict[str, TableDiff] = {}
    for mv, pair in plan.predictions.items():
        preds[mv] = diff_answers(con, PRED, *pair, opts, renames, f"pred{len(preds)}") if pair else TableDiff()
    return Compared(tasks, ann, preds, config, warnings)


def transitions(con: Any, whole: WholeTables, touched: "pa.Array", opts: Options) -> dict:
    """Per control, how many tasks went from each resolved label to each other; of a region control
    (spans, boxes), how many regions, paired by shape (:func:`_region_transitions`). ``touched``:
    the keys of the tasks whose annotations may differ (the others' labels are resolved once)."""
    con.register("tr_touched", pa.table({"task_key": touched}))
    names = [whole.annotations("a").register(con, "tr_ann_a"), whole.annotations("b").register(con, "tr_ann_b"),
             whole.tasks("a").register(con, "tr_tasks_a"), whole.tasks("b").register(con, "tr_tasks_b"),
             "tr_touched"]
    controls: dict[str, list[dict]] = {}
    for r in fetch(con, sql.transitions(*names, opts.policy)).to_pylist():
        controls.setdefault(r["control"], []).append({"from": r["from"], "to": r["to"], "count": r["count"]})
    regions = _region_transitions(con, names, opts)
    for ctl, counts in regions.items():
        controls[ctl] = [{"from": f, "to": t, "count": n}
                         for (f, t), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return {"policy": opts.policy, "controls": controls, "regions": sorted(regions)}


def _label(labels: list | None) -> str:
    return ", ".join(sorted(set(map(str, labels or [])))) or NO_LABEL


def _region_transitions(con: Any, names: list[str], opts: Options) -> dict[str, dict[tuple[str, str], int]]:
    """Per region control: regions counted by (label before, label after), each task's regions those
    of the answer the policy picks on each side, paired by shape as the diff pairs them
    (:func:`annover.diffing.match.match_regions`); a region with no pair is from or to "(none)", or
    "(no task)" where its task is not in the other version. The tasks not touched keep every label."""
    ann_a, ann_b, tasks_a, tasks_b, touched = names
    con.execute(f"CREATE OR REPLACE TEMP TABLE tr_region_ctl AS {sql.region_controls(ann_a, ann_b)}")
    if not fetch(con, "SELECT count(*) AS n FROM tr_region_ctl").to_pylist()[0]["n"]:
        return {}
    out: dict[str, dict[tuple[str, str], int]] = {}
    for r in fetch(con, sql.kept_regions(ann_b, opts.policy, touched, "tr_region_ctl")).to_pylist():
        out.setdefault(r["control"], {})[(r["label"], r["label"])] = r["n"]
    sides = [fetch(con, sql.picked_regions(a, opts.policy, touched, "tr_region_ctl")).to_pydict()
             for a in (ann_a, ann_b)]
    present = [{r["task_key"] for r in fetch(con, f"SELECT task_key FROM {t} SEMI JOIN {touched} USING (task_key)")
                .to_pylist()} for t in (tasks_a, tasks_b)]
    groups: dict[tuple, tuple[list[Region], list[Region]]] = {}
    for i, rows in enumerate(sides):
        for j, (task, ctl) in enumerate(zip(rows["task_key"], rows["from_name"])):
            groups.setdefault((task, ctl), ([], []))[i].append(
                Region(rows["region_key"][j], ctl, rows["labels"][j], rows["value"][j], j, rows["region"][j]))
    for (task, ctl), (ga, gb) in groups.items():
        counts = out.setdefault(ctl, {})
        pairs, rest_a, rest_b = match_regions(ga, gb, opts)
        gone = NO_LABEL if task in present[1] else NO_TASK
        new = NO_LABEL if task in present[0] else NO_TASK
        for key in ([(_label(ra.labels), _label(rb.labels)) for ra, rb, _, _ in pairs]
                    + [(_label(r.labels), gone) for r in rest_a] + [(new, _label(r.labels)) for r in rest_b]):
            counts[key] = counts.get(key, 0) + 1
    return out


def _no_rows() -> "pa.Table":
    raise UsageError("this diff ran without its summary (summary=False): it has no row table",
                     "run the diff again without summary=False")


def _touched_only(con: Any, plan: Plan, opts: Options) -> DiffResult:
    """``opts.summary`` False: the tasks whose answers differ and the transitions, no more (what
    the report shows of a diff: the counts, the tasks' and predictions' diffs and the models'
    agreement with the labels are not made)."""
    touched = tasks_touched(con, ANN, *plan.annotations, "ann") if plan.annotations else pa.array([], pa.string())
    trans = transitions(con, plan.whole, touched, opts) if opts.transitions else None
    out = {"schema": SCHEMA, "a": plan.a, "b": plan.b, "options": opts.to_json(), "warnings": list(plan.warnings)}
    return DiffResult(out, _no_rows, trans, touched)


def run(plan: Plan, opts: Options) -> DiffResult:
    """Compare what the plan names; the row table is built when first asked for."""
    con = cursor(ordered=False)  # every result is keyed or sorted later
    try:
        if not opts.summary:
            return _touched_only(con, plan, opts)
        found = _compare(con, plan, opts)
        out = summary(con, plan, opts, found)
        out["warnings"] = found.warnings + plan.warnings
        trans = transitions(con, plan.whole, found.annotations.touched, opts) if opts.transitions else None
        return DiffResult(out, lambda: _rows(found), trans, found.annotations.touched)
    finally:
        con.close()
