"""``annover diff`` of two versions whose labels differ in a given share of the rows, up to every one.

A relabel of a flat file changes the region's key (it is derived from the content), so
each relabeled row is left over after pairing by key and is paired by control: the
diff's most expensive path. v1 is ``flat.parquet``; v2 the same rows with a share of
them (scattered, chosen by the seed) relabeled to the next label of the sorted label set.
The diff is timed round-robin against the DuckDB full outer join of the two versions'
parts (``bench_diff.duckdb_join``, the floor of ``bench_diff.py``), in process; v2's
parts for the join are those of v2 written whole (a repository of its own), as a
version with deltas has no whole parts. The target of distant versions is ≤ 1.0x of
that join. Timed beside them, as a floor of any diff that says what changed: both versions'
rows read into Arrow (``pyarrow.parquet.ParquetDataset``, the join's columns), with no
comparison at all; where every label changed the diff must read every row. And the least a
diff that says what was relabeled must do, as one DuckDB query: the join, then the rows it
leaves over paired by task, answer and control (``duckdb_pairing``; its count of relabels is
checked against the diff's).

With ``--process``, ``annover diff v1 v2 --json`` and the join also run as new processes
(round-robin, after the in-process rounds), each with its wall time and peak RSS; the peak
is set against the in-memory (Arrow) size of one version's annotations (``annover.load``):
the issue's goal is a peak under 4x the in-memory table.

    python benchmarks/bench_diff_all.py                          # 1,000,000 rows, every label
    python benchmarks/bench_diff_all.py --share 0.1,0.3,1.0      # a sweep
    python benchmarks/bench_diff_all.py --rows 100000
    python benchmarks/bench_diff_all.py --rows 10000000 --repeats 3 --process --no-row-table   # 10M
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

TARGET = 1.0


def relabeled(data: Path, out: Path, share: float = 1.0, seed: int = 1) -> Path:
    """``flat.parquet`` with ``share`` of its rows (all of them at 1.0) relabeled to the next
    of the sorted labels."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(data / "flat.parquet")
    labels = sorted(set(pc.unique(t.column("label")).to_pylist()))
    nxt = pc.take(labels[1:] + labels[:1], pc.index_in(t.column("label"), value_set=pc.cast(labels, "string")))
    if share < 1.0:
        nxt = pc.if_else(pa.array(np.random.default_rng(seed).random(t.num_rows) < share), nxt, t.column("label"))
    path = out / f"flat_relabeled_{share}.parquet"
    pq.write_table(t.set_column(t.schema.get_field_index("label"), "label", nxt), path)
    return path


def processes(repo_dir: Path, a: list[str], b: list[str], repeats: int) -> dict:
    """Wall time and peak RSS (medians) of the CLI's diff and of the join, each as a new process."""
    import os
    import statistics

    import bench_diff

    import annover

    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_diff as b; "
              f"b.duckdb_join({a!r}, {b!r}, rows=False)")
    cmds = {"annover diff v1 v2 --json (process)": [common.annover_exe(), "diff", "v1", "v2", "--json"],
            "DuckDB join (process)": [sys.executable, "-c", script]}
    runs: dict[str, list] = {k: [] for k in cmds}
    for _ in range(repeats):
        for k, cmd in cmds.items():
            runs[k].append(bench_diff.run_process(cmd, repo_dir, dict(os.environ)))
    with common.chdir(repo_dir):
        table_mb = annover.load("v1").nbytes / 1e6
    out = {k: {"median_s": statistics.median(r[0] for r in v), "peak_mb": statistics.median(r[1] for r in v)}
           for k, v in runs.items()}
    cli, join = out["annover diff v1 v2 --json (process)"], out["DuckDB join (process)"]
    return {"runs": out, "table_mb": round(table_mb, 1), "wall_ratio": round(cli["median_s"] / join["median_s"], 3),
            "peak_vs_table": round(cli["peak_mb"] / table_mb, 2)}


def _cpu_of(fn: "Callable[[], object]", into: list[float]) -> "Callable[[], None]":
    """``fn``, recording the CPU time (``time.process_time``: every thread of this process) of each call."""
    def timed() -> None:
        start = time.process_time()
        fn()
        into.append(time.process_time() - start)
    return timed


def read_both(a: list[str], b: list[str]) -> int:
    """Both versions' rows of the join's columns read into Arrow, nothing compared: what a diff
    that reports the changed rows' labels reads at least, where every row changed."""
    import bench_diff
    import pyarrow.parquet as pq

    cols = bench_diff.KEYS + bench_diff.CONTENT
    return sum(pq.ParquetDataset(x).read(columns=cols).num_rows for x in (a, b))


def duckdb_pairing(a: list[str], b: list[str]) -> int:
    """The least a diff that says what was relabeled does, in one DuckDB query: the join of the
    two versions' rows on their keys (``bench_diff.duckdb_join``), then the rows left over on
    each side grouped by task, answer and control, and a control with one row left on each
    side counted as a relabel (labels before -> after). Returns the relabels counted. Answers,
    annotators, skips and shapes are not counted: it is a floor, not a diff."""
    import bench_diff
    import duckdb

    lst = "[" + ", ".join(f"'{p}'" for p in a) + "]", "[" + ", ".join(f"'{p}'" for p in b) + "]"
    h = "hash(" + ", ".join(bench_diff.CONTENT) + ")"
    side = "SELECT task_key, annotation_key, region_key, from_name, labels, {h} AS h FROM read_parquet({src})"
    q = f"""
        WITH a AS ({side.format(h=h, src=lst[0])}), b AS ({side.format(h=h, src=lst[1])}),
        j AS (SELECT coalesce(a.task_key, b.task_key) AS t, coalesce(a.annotation_key, b.annotation_key) AS an,
                     coalesce(a.from_name, b.from_name) AS fn, a.labels AS la, b.labels AS lb,
                     a.h IS NOT NULL AND b.h IS NULL AS only_a, b.h IS NOT NULL AND a.h IS NULL AS only_b
              FROM a FULL OUTER JOIN b ON a.task_key = b.task_key AND a.annotation_key = b.annotation_key
                   AND a.region_key = b.region_key
              WHERE a.h IS DISTINCT FROM b.h),
        g AS (SELECT t, an, fn, count(*) FILTER (WHERE only_a) AS na, count(*) FILTER (WHERE only_b) AS nb,
                     any_value(la) FILTER (WHERE only_a) AS la, any_value(lb) FILTER (WHERE only_b) AS lb
              FROM j GROUP BY ALL)
        SELECT coalesce(sum(n), 0)
        FROM (SELECT fn, la, lb, count(*) AS n FROM g WHERE na = 1 AND nb = 1 GROUP BY ALL)"""
    con = duckdb.connect()
    try:
        return int(con.sql(q).fetchall()[0][0])
    finally:
        con.close()


def measure(data: Path, tmp: Path, repeats: int, share: float = 1.0, process: bool = False,
            row_table: bool = True) -> dict:
    import bench_diff

    import annover
    from annover.store.objects import ObjectRef
    from annover.store.snapshots import read_manifest

    config, v2 = str(data / common.CONFIG), str(relabeled(data, tmp, share))
    repo, whole = (annover.Repo(common.fresh_repo(tmp, f"{name}-{share}")) for name in ("diff", "whole"))
    with common.chdir(repo.root):
        repo.snapshot(str(data / "flat.parquet"), config=config, message="v1")
        repo.snapshot(v2, message="v2")
    with common.chdir(whole.root):
        whole.snapshot(v2, config=config, message="v2 written whole")

    def parts(r: "annover.Repo", rev: str) -> list[str]:
        m = read_manifest(r.store, r.show(rev).snapshot("annotations"))
        return [str(r.store.locate(ObjectRef.from_json(p))) for p in m["parts"]]

    a, b = parts(repo, "v1"), parts(whole, "v1")
    assert whole.show("v1").record["tables"]["annotations"]["id"] == repo.show("v2").record["tables"]["annotations"]["id"]
    summary = repo.diff("v1", "v2").summary
    assert duckdb_pairing(a, b) == sum(r["count"] for r in summary["relabels"]), "the pairing floor counts otherwise"
    cases = {"DuckDB join of the two versions": (lambda: bench_diff.duckdb_join(a, b, rows=False), None),
             "both versions' rows read into Arrow": (lambda: read_both(a, b), None),
             "DuckDB: the join, then relabels paired by control": (lambda: duckdb_pairing(a, b), None),
             "annover diff v1 v2, summary": (lambda: repo.diff("v1", "v2"), None),
             "annover diff v1 v2, summary + row table": (lambda: repo.diff("v1", "v2").rows, None)}
    if not row_table:
        del cases["annover diff v1 v2, summary + row table"]
    # the process's CPU time of each run (every thread; the warm-up's too, dropped below): on a
    # machine others share, the wall time of the two-core join and diff moves with their load
    cpu: dict[str, list[float]] = {k: [] for k in cases}
    cases = {k: (_cpu_of(fn, cpu[k]), setup) for k, (fn, setup) in cases.items()}
    times = common.time_interleaved(cases, repeats, warmup=1, log=common.log)
    join = times["DuckDB join of the two versions"]
    cpu_s = {k: statistics.median(v[1:]) for k, v in cpu.items()}
    join_cpu = cpu_s["DuckDB join of the two versions"]
    return {"share": share, "times": times, "regions": summary["regions"], "annotations": summary["annotations"],
            "ratios": {k: common.ratio(v, join) for k, v in times.items() if k != "DuckDB join of the two versions"},
            "cpu_median_s": {k: round(v, 4) for k, v in cpu_s.items()},
            "cpu_ratios": {k: round(v / join_cpu, 3) for k, v in cpu_s.items()
                           if k != "DuckDB join of the two versions" and join_cpu},
            "processes": processes(repo.root, a, b, repeats) if process else None}


def report(r: dict) -> str:
    out = [f"Diff of two versions of {r['rows']:,} annotation rows, a share of the labels changed; "
           f"target of distant versions ≤ {TARGET}x of the join"]
    for x in r["results"]:
        cpu, cpu_r = x.get("cpu_median_s", {}), x.get("cpu_ratios", {})
        rows = [[k, f"{v['median_s']:.3f}", f"{v['best_s']:.3f}", f"{x['ratios'][k]}x" if k in x["ratios"] else "1.0x",
                 f"{cpu[k]:.3f}" if k in cpu else "-", f"{cpu_r[k]}x" if k in cpu_r else "1.0x"]
                for k, v in x["times"].items()]
        out += ["", f"{x['share']:.0%} of the labels changed (regions {x['regions']})", "",
                common.markdown_table(["case", "median (s)", "best (s)", "vs join", "CPU median (s)", "CPU vs join"],
                                      rows)]
        if x.get("processes"):
            pr = x["processes"]
            out += ["", f"as processes (one version's annotations in memory: {pr['table_mb']:,.0f} MB): "
                        f"wall {pr['wall_ratio']}x of the join, peak {pr['peak_vs_table']}x the table", "",
                    common.markdown_table(["process", "median wall (s)", "median peak RSS (MB)"],
                                          [[k, f"{v['median_s']:.3f}", f"{v['peak_mb']:,.0f}"]
                                           for k, v in pr["runs"].items()])]
    return "\n".join(out)


def _shares(text: str) -> list[float]:
    try:
        shares = [float(x) for x in text.split(",")]
    except ValueError:
        shares = []
    if not shares or not all(0 < x <= 1 for x in shares):
        raise argparse.ArgumentTypeError(f"{text!r}: give shares above 0 and at most 1, e.g. 0.1,0.3,1.0")
    return shares


def main(argv: list[str] | None = None) -> dict:
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--share", type=_shares, default=[1.0],
                   help="shares of the rows relabeled, comma-separated (default 1.0: every label)")
    p.add_argument("--process", action="store_true",
                   help="also time `annover diff --json` and the join as new processes, with their peak RSS")
    p.add_argument("--no-row-table", action="store_true",
                   help="time the summary only (the row table of 10M changed rows takes minutes)")
    p.set_defaults(repeats=5)
    a = p.parse_args(argv)
    tmp = common.isolate_env(a.tmp)
    a.data, meta = common.ensure_data(a.data, a.rows, a.seed, tmp)
    result = {"figure": "diff_all", "rows": a.rows, "machine": common.machine()}
    try:
        result["results"] = [measure(a.data, tmp, a.repeats, share, a.process, not a.no_row_table) for share in a.share]
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    common.finish(result, a.out, report, lambda r: {"ratios": {str(x["share"]): x["ratios"] for x in r["results"]}})
    return result


if __name__ == "__main__":
    main()
