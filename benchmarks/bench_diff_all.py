"""``annover diff`` of two versions that differ everywhere: every label of ``flat.parquet`` changed.

A relabel of a flat file changes each region's key (it is derived from the content), so
every row of both versions is left over after pairing by key and is paired by control:
the diff's most expensive path. v1 is ``flat.parquet``; v2 the same rows with each label
replaced by the next one of the sorted label set. Timed round-robin against the DuckDB
full outer join of the two versions' parts (``bench_diff.duckdb_join``, the floor of
``bench_diff.py``), in process; the target of distant versions is ≤ 1.0x of that join.

    python benchmarks/bench_diff_all.py                  # 1,000,000 rows
    python benchmarks/bench_diff_all.py --rows 100000
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

TARGET = 1.0


def relabeled(data: Path, out: Path) -> Path:
    """``flat.parquet`` with every label replaced by the next of the sorted labels."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(data / "flat.parquet")
    labels = sorted(set(pc.unique(t.column("label")).to_pylist()))
    nxt = pc.take(labels[1:] + labels[:1], pc.index_in(t.column("label"), value_set=pc.cast(labels, "string")))
    path = out / "flat_relabeled.parquet"
    pq.write_table(t.set_column(t.schema.get_field_index("label"), "label", nxt), path)
    return path


def measure(data: Path, tmp: Path, repeats: int) -> dict:
    import bench_diff

    import annover
    from annover.store.objects import ObjectRef
    from annover.store.snapshots import read_manifest

    root = common.fresh_repo(tmp, "diff-all")
    repo = annover.Repo(root)
    with common.chdir(root):
        repo.snapshot(str(data / "flat.parquet"), config=str(data / common.CONFIG), message="v1")
        repo.snapshot(str(relabeled(data, tmp)), message="v2")

    def parts(rev: str) -> list[str]:
        m = read_manifest(repo.store, repo.show(rev).snapshot("annotations"))
        return [str(repo.store.locate(ObjectRef.from_json(p))) for p in m["parts"]]

    a, b = parts("v1"), parts("v2")
    summary = repo.diff("v1", "v2").summary
    cases = {"DuckDB join of the two versions": (lambda: bench_diff.duckdb_join(a, b, rows=False), None),
             "annover diff v1 v2, summary": (lambda: repo.diff("v1", "v2"), None),
             "annover diff v1 v2, summary + row table": (lambda: repo.diff("v1", "v2").rows, None)}
    times = common.time_interleaved(cases, repeats, warmup=1, log=common.log)
    join = times["DuckDB join of the two versions"]
    return {"times": times, "regions": summary["regions"], "annotations": summary["annotations"],
            "ratios": {k: common.ratio(v, join) for k, v in times.items() if k.startswith("annover")}}


def report(r: dict) -> str:
    t = r["result"]["times"]
    rows = [[k, f"{v['median_s']:.3f}", f"{v['best_s']:.3f}",
             f"{r['result']['ratios'][k]}x" if k in r["result"]["ratios"] else "1.0x"] for k, v in t.items()]
    return "\n".join([f"Diff of two versions of {r['rows']:,} annotation rows, every label changed "
                      f"(regions {r['result']['regions']}); target ≤ {TARGET}x of the join", "",
                      common.markdown_table(["case", "median (s)", "best (s)", "vs join"], rows)])


def main(argv: list[str] | None = None) -> dict:
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.set_defaults(repeats=5)
    a = p.parse_args(argv)
    tmp = common.isolate_env(a.tmp)
    a.data, meta = common.ensure_data(a.data, a.rows, a.seed, tmp)
    result = {"figure": "diff_all", "rows": a.rows, "machine": common.machine()}
    try:
        result["result"] = measure(a.data, tmp, a.repeats)
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    common.finish(result, a.out, report, lambda r: {"ratios": r["result"]["ratios"]})
    return result


if __name__ == "__main__":
    main()
