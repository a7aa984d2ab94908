"""Benchmark the labeling loop on 1,000,000 annotation rows against the same numbers written directly.

Data: the benchmarks' generated annotations (``canonical.parquet``: 333,334 tasks, three
answers each by 20 annotators, one single-choice label of 5) and one model's predictions
made here (one per task, the first answer's label 70% of the time, a score).

Cases, round-robin in one run (medians):

    agreement, annover     annover.loop.agreement(table): Krippendorff's alpha and Fleiss'
                           kappa per control and per label (yes/no), Cohen's kappa per pair
    agreement, direct      the same figures written directly: DuckDB for the counts (one
                           answer per annotator, counts per task and label, the pairs'
                           confusion counts), numpy for the formulas
    eval, annover          annover.loop.evaluate(table, predictions, model)
    eval, direct           DuckDB: the majority label per task against the best prediction,
                           confusion counts; pandas for accuracy and per-label P/R/F1

Both sides' numbers are checked equal before timing. Then, once, the report of a real
repository holding the same rows in two versions (v2: 1% of labels changed) with the
predictions: ``repo.report("HEAD")`` in process and ``annover report`` as a process.

    python benchmarks/bench_loop.py                  # 1,000,000 rows, 3 runs per case
    python benchmarks/bench_loop.py --rows 100000    # a quick run
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

from annover.loop.agreement import agreement  # noqa: E402
from annover.loop.evaluate import evaluate  # noqa: E402

MODEL = "bench-model-v1"


def make_predictions(ann: pa.Table, seed: int) -> pa.Table:
    """One prediction per task: the first answer's label 70% of the time, else another; a score."""
    con = duckdb.connect()
    con.register("ann", ann)
    first = con.sql("SELECT task_key, any_value(labels[1]) AS label FROM ann GROUP BY 1 ORDER BY 1").arrow()
    if hasattr(first, "read_all"):
        first = first.read_all()
    rng = np.random.default_rng(seed)
    n = first.num_rows
    labels = np.array(common.LABELS)
    truth = np.asarray(first.column("label").to_pylist())
    other = labels[rng.integers(0, len(labels), n)]
    pred = np.where(rng.random(n) < 0.7, truth, other)
    keys = first.column("task_key")
    return pa.table({
        "task_key": keys, "prediction_key": pa.array([f"{MODEL}#0"] * n), "region_key": pa.array(["p/sentiment"] * n),
        "model_version": pa.array([MODEL] * n), "score": pa.array(np.round(rng.random(n), 4)),
        "from_name": pa.array(["sentiment"] * n), "to_name": pa.array(["text"] * n),
        "type": pa.array(["choices"] * n), "labels": pa.array([[x] for x in pred.tolist()], pa.list_(pa.string())),
        "value": pa.array([json.dumps({"choices": [x]}) for x in pred.tolist()])})


# ---------------------------------------------------------------- the direct versions

def _fleiss_alpha(c: pd.DataFrame) -> tuple[float, float]:
    """Fleiss' kappa and Krippendorff's alpha from (unit, category, n) counts of pairable units."""
    m = c["n"].to_numpy(np.float64)
    ni = c["raters"].to_numpy(np.float64)
    units = c["u"].nunique()
    p_i = (m * (m - 1) / (ni * (ni - 1))).sum() / units
    n_c = c.groupby("cat")["n"].sum().to_numpy(np.float64)
    p_j = n_c / n_c.sum()
    pe = float((p_j ** 2).sum())
    fleiss = (p_i - pe) / (1 - pe)
    n = n_c.sum()
    o = (m * (m - 1) / (ni - 1)).sum()
    alpha = 1 - (n - 1) * (n - o) / (n * n - (n_c ** 2).sum())
    return float(fleiss), float(alpha)


def agreement_direct(ann: pa.Table) -> dict:
    con = duckdb.connect()
    con.register("ann", ann)
    con.execute("""CREATE TEMP TABLE r AS
        SELECT task_key, coalesce(annotator, '-') AS annotator, from_name, list_sort(list_distinct(labels)) AS labels
        FROM ann WHERE NOT was_cancelled AND region_key <> '' AND from_name IS NOT NULL AND labels IS NOT NULL
          AND len(labels) > 0""")
    out: dict = {}
    c = con.sql("""SELECT *, sum(n) OVER (PARTITION BY from_name, u) AS raters FROM (
                       SELECT from_name, task_key AS u, array_to_string(labels, ', ') AS cat, count(*) AS n
                       FROM r GROUP BY ALL)""").df()
    c = c[c["raters"] >= 2]
    for ctl, g in c.groupby("from_name"):
        out[ctl] = {"control": _fleiss_alpha(g)}
    per = con.sql("""WITH t AS (SELECT from_name, task_key, count(*) AS raters FROM r GROUP BY ALL HAVING count(*) >= 2),
                          l AS (SELECT DISTINCT from_name, unnest(labels) AS label FROM r),
                          has AS (SELECT from_name, task_key, label, count(*) AS k FROM (
                                      SELECT from_name, task_key, unnest(labels) AS label FROM r) GROUP BY ALL)
                     SELECT t.from_name, l.label, t.task_key AS u, t.raters, coalesce(has.k, 0) AS k
                     FROM t JOIN l USING (from_name)
                     LEFT JOIN has ON has.from_name = t.from_name AND has.task_key = t.task_key AND has.label = l.label""").df()
    for (ctl, lab), g in per.groupby(["from_name", "label"]):
        yes = pd.DataFrame({"u": g["u"], "cat": 1, "n": g["k"], "raters": g["raters"]})
        no = pd.DataFrame({"u": g["u"], "cat": 0, "n": g["raters"] - g["k"], "raters": g["raters"]})
        out[ctl][lab] = _fleiss_alpha(pd.concat([yes, no]))
    pairs = con.sql("""SELECT x.from_name, x.annotator AS a, y.annotator AS b, array_to_string(x.labels, ', ') AS la,
                              array_to_string(y.labels, ', ') AS lb, count(*) AS n
                       FROM r AS x JOIN r AS y ON x.task_key = y.task_key AND x.from_name = y.from_name
                                              AND x.annotator < y.annotator GROUP BY ALL""").df()
    kappas = {}
    for key, g in pairs.groupby(["from_name", "a", "b"]):
        n = g["n"].sum()
        po = g.loc[g["la"] == g["lb"], "n"].sum() / n
        pa_ = g.groupby("la")["n"].sum() / n
        pb_ = g.groupby("lb")["n"].sum() / n
        pe = float((pa_ * pb_.reindex(pa_.index, fill_value=0)).sum())
        kappas[key] = (po - pe) / (1 - pe) if pe < 1 else None
    out["pairs"] = kappas
    return out


def eval_direct(ann: pa.Table, preds: pa.Table) -> dict:
    con = duckdb.connect()
    con.register("ann", ann)
    con.register("preds", preds)
    conf = con.sql("""
        WITH r AS (SELECT task_key, annotation_key, from_name, array_to_string(list_sort(list_distinct(labels)), ', ') AS label,
                          ground_truth AS gt, coalesce(updated_at, created_at, '') AS ts
                   FROM ann WHERE NOT was_cancelled AND region_key <> '' AND labels IS NOT NULL AND len(labels) > 0),
             v AS (SELECT *, count(*) OVER (PARTITION BY task_key, from_name, label) AS votes FROM r),
             res AS (SELECT task_key, from_name, label FROM v QUALIFY row_number() OVER (
                        PARTITION BY task_key, from_name ORDER BY gt DESC, votes DESC, ts DESC, annotation_key DESC) = 1),
             p AS (SELECT task_key, from_name, array_to_string(list_sort(list_distinct(labels)), ', ') AS label FROM preds
                   QUALIFY row_number() OVER (PARTITION BY task_key, from_name ORDER BY score DESC NULLS LAST,
                                              prediction_key) = 1)
        SELECT res.from_name, res.label AS t, p.label AS p, count(*) AS n
        FROM res JOIN p ON res.task_key = p.task_key AND res.from_name = p.from_name GROUP BY ALL""").df()
    out = {}
    for ctl, g in conf.groupby("from_name"):
        m = g.pivot_table(index="t", columns="p", values="n", aggfunc="sum", fill_value=0)
        labels = sorted(set(m.index) | set(m.columns))
        m = m.reindex(index=labels, columns=labels, fill_value=0)
        tp = np.diag(m.to_numpy())
        prec = tp / m.sum(axis=0).to_numpy()
        rec = tp / m.sum(axis=1).to_numpy()
        out[ctl] = {"accuracy": tp.sum() / m.to_numpy().sum(), "matrix": m.to_numpy().tolist(), "labels": labels,
                    "precision": prec.tolist(), "recall": rec.tolist(), "f1": (2 * prec * rec / (prec + rec)).tolist()}
    return out


def check_same(ann: pa.Table, preds: pa.Table) -> None:
    ours, theirs = agreement(ann).to_json(), agreement_direct(ann)
    for ctl, e in ours["controls"].items():
        f, a = theirs[ctl]["control"]
        assert abs(e["fleiss_kappa"]["value"] - f) < 1e-5 and abs(e["krippendorff_alpha"]["value"] - a) < 1e-5
        for lab, x in e["labels"].items():
            f, a = theirs[ctl][lab]
            assert abs(x["krippendorff_alpha"]["value"] - a) < 1e-5, (lab, x, a)
        for p in e["pairs"]:
            ref = theirs["pairs"][(ctl, p["a"], p["b"])]
            assert abs(p["cohen_kappa"]["value"] - ref) < 1e-5
    ours_e, theirs_e = evaluate(ann, preds, MODEL).to_json(), eval_direct(ann, preds)
    for ctl, e in ours_e["controls"].items():
        t = theirs_e[ctl]
        assert abs(e["accuracy"] - t["accuracy"]) < 1e-5 and e["confusion"]["matrix"] == t["matrix"]
        for i, lab in enumerate(t["labels"]):
            assert abs(e["labels"][lab]["f1"] - t["f1"][i]) < 1e-5


# ---------------------------------------------------------------- the report

def report_case(data: Path, preds: pa.Table, tmp: Path) -> dict:
    """A repository with the rows in two versions and the predictions; the report timed once each way."""
    import annover

    root = common.fresh_repo(tmp, "loop-repo")
    pred_file = tmp / "predictions.jsonl"
    with open(pred_file, "w") as f:
        for k, lab, sc in zip(preds.column("task_key").to_pylist(), preds.column("labels").to_pylist(),
                              preds.column("score").to_pylist()):
            f.write(json.dumps({"task_key": k, "model_version": MODEL, "score": sc, "result": [
                {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": lab}}]}) + "\n")
    with common.chdir(root):
        repo = annover.Repo(".")
        common.log("snapshot v1 and v2 (not timed) ...")
        repo.snapshot(str(data / common.FLAT_PARQUET), config=str(data / common.CONFIG), message="v1",
                      predictions=str(pred_file))
        repo.snapshot(str(data / common.FLAT_V2_PARQUET), message="v2", predictions=str(pred_file))
        common.log("report, library ...")
        lib, res = common.time_once(lambda: repo.report("HEAD", tmp / "report.html", force=True))
        common.log(f"  {lib:.1f} s, {res.size / 1e6:.2f} MB")
        common.log("report, CLI ...")
        cli = common.time_command([common.annover_exe(), "report", "--out", str(tmp / "report2.html"), "--force"],
                                  repeats=1, cwd=root, warmup=0)
    return {"library_s": round(lib, 3), "cli_s": cli["median_s"], "bytes": res.size, "sections": res.sections}


def report_md(r: dict) -> str:
    rows = [[name, f"{r['cases'][a]['median_s']:.3f}", f"{r['cases'][b]['median_s']:.3f}",
             f"**{r['ratios'][name]:.2f}x**"]
            for name, a, b in (("agreement", "agreement, annover", "agreement, direct"),
                               ("eval", "eval, annover", "eval, direct"))]
    out = [common.markdown_table(["case", "annover (s)", "direct DuckDB/numpy/pandas (s)", "ratio"], rows)]
    if r.get("report"):
        rep = r["report"]
        out.append(f"\nreport of {r['rows']:,} rows, two versions and a model: library {rep['library_s']:.1f} s, "
                   f"CLI {rep['cli_s']:.1f} s, {rep['bytes'] / 1e3:.0f} KB")
    out.append(f"\nload average {r['machine'].get('loadavg_at_start')} -> {r['machine'].get('loadavg_at_end')}")
    return "\n".join(out)


def main() -> None:
    p = common.base_parser(__doc__)
    p.add_argument("--no-report", action="store_true", help="skip the report's repository (minutes of setup)")
    args = p.parse_args()
    tmp = common.isolate_env(args.tmp)
    data, meta = common.ensure_data(args.data, args.rows, args.seed, tmp)
    ann = pq.read_table(data / common.CANONICAL_PARQUET)
    preds = make_predictions(ann, args.seed)
    common.log("checking both sides give the same numbers ...")
    check_same(ann, preds)
    result: dict = {"rows": ann.num_rows, "machine": {**common.machine(), "loadavg_at_start": list(os.getloadavg())}}
    cases = {
        "agreement, annover": (lambda: agreement(ann), None),
        "agreement, direct": (lambda: agreement_direct(ann), None),
        "eval, annover": (lambda: evaluate(ann, preds, MODEL), None),
        "eval, direct": (lambda: eval_direct(ann, preds), None),
    }
    result["cases"] = common.time_interleaved(cases, args.repeats, warmup=1, log=common.log)
    c = result["cases"]
    result["ratios"] = {"agreement": common.ratio(c["agreement, annover"], c["agreement, direct"]),
                        "eval": common.ratio(c["eval, annover"], c["eval, direct"])}
    if not args.no_report:
        t0 = time.perf_counter()
        result["report"] = report_case(data, preds, tmp)
        result["report"]["setup_and_runs_s"] = round(time.perf_counter() - t0, 1)
    common.finish(result, args.out, report_md, lambda r: {"ratios": r["ratios"], "report": r.get("report")})


if __name__ == "__main__":
    main()
