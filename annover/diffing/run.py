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
from annover.diffing.plan import Compared, Plan, WholeTables
from annover.diffing.result import SCHEMA, DiffResult, Options
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


def transitions(con: Any, whole: WholeTables, touched: "pa.Array", policy: str) -> dict:
    """Per control, how many tasks went from each resolved label to each other; ``touched``:
    the keys of the tasks whose annotations may differ (the others' labels are resolved once)."""
    con.register("tr_touched", pa.table({"task_key": touched}))
    names = [whole.annotations("a").register(con, "tr_ann_a"), whole.annotations("b").register(con, "tr_ann_b"),
             whole.tasks("a").register(con, "tr_tasks_a"), whole.tasks("b").register(con, "tr_tasks_b"),
             "tr_touched"]
    controls: dict[str, list[dict]] = {}
    for r in fetch(con, sql.transitions(*names, policy)).to_pylist():
        controls.setdefault(r["control"], []).append({"from": r["from"], "to": r["to"], "count": r["count"]})
    return {"policy": policy, "controls": controls}


def _no_rows() -> "pa.Table":
    raise UsageError("this diff ran without its summary (summary=False): it has no row table",
                     "run the diff again without summary=False")


def _touched_only(con: Any, plan: Plan, opts: Options) -> DiffResult:
    """``opts.summary`` False: the tasks whose answers differ and the transitions, no more (what
    the report shows of a diff: the counts, the tasks' and predictions' diffs and the models'
    agreement with the labels are not made)."""
    touched = tasks_touched(con, ANN, *plan.annotations, "ann") if plan.annotations else pa.array([], pa.string())
    trans = transitions(con, plan.whole, touched, opts.policy) if opts.transitions else None
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
        trans = transitions(con, plan.whole, found.annotations.touched, opts.policy) if opts.transitions else None
        return DiffResult(out, lambda: _rows(found), trans, found.annotations.touched)
    finally:
        con.close()
