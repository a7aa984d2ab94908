"""``annover merge`` of two branches over 1,000,000 annotation rows.

v1 is ``flat.parquet``; branch ``other`` makes v2 from ``flat_v2.parquet`` (1% of labels
changed); ``main`` makes v3 from v1 with 10% of its labels changed. ``Repo.merge("other",
favor="theirs", dry_run=True)`` (find the base, read the three versions, merge by task and
answer, list conflicts; nothing written) is timed round-robin against the floor of its
reads and comparisons: DuckDB joining the three versions' parts (each written whole, in a
repository of its own) on the row keys and counting the rows that differ from the base on
either side. The merge itself (``--theirs``, committed) is timed once, after.

    python benchmarks/bench_merge.py --data DATA --rows 1000000
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

KEYS = ["task_key", "annotation_key", "region_key"]
CONTENT = ["annotator", "from_name", "to_name", "type", "labels", "value", "region", "was_cancelled", "ground_truth",
           "lead_time", "extra"]


def _parts(repo, rev: str) -> list[str]:
    from annover.store.objects import ObjectRef
    from annover.store.snapshots import read_manifest

    m = read_manifest(repo.store, repo.show(rev).snapshot("annotations"))
    return [str(repo.store.locate(ObjectRef.from_json(p))) for p in m["parts"]]


def three_way_join(base: list[str], ours: list[str], theirs: list[str]) -> int:
    """Rows that differ from the base on either side, by one DuckDB query over the three."""
    import duckdb

    lst = lambda ps: "[" + ", ".join(f"'{p}'" for p in ps) + "]"  # noqa: E731
    on = lambda x, y: " AND ".join(f"{x}.{k} = {y}.{k}" for k in KEYS)  # noqa: E731
    differs = lambda x, y: " OR ".join(f"{x}.{c} IS DISTINCT FROM {y}.{c}" for c in CONTENT)  # noqa: E731
    q = (f"SELECT count(*) FROM read_parquet({lst(base)}) b FULL JOIN read_parquet({lst(ours)}) o ON {on('b', 'o')} "
         f"FULL JOIN read_parquet({lst(theirs)}) t ON {on('b', 't')} "
         f"WHERE b.task_key IS NULL OR o.task_key IS NULL OR t.task_key IS NULL OR {differs('b', 'o')} OR {differs('b', 't')}")
    con = duckdb.connect()
    try:
        return con.sql(q).fetchall()[0][0]
    finally:
        con.close()


def _setup(data: Path, tmp: Path):
    import bench_diff_all

    import annover

    config, v3 = str(data / common.CONFIG), bench_diff_all.relabeled(data, tmp, 0.1)
    repo = annover.Repo(common.fresh_repo(tmp, "merge"))
    git = lambda *a: subprocess.run(["git", *a], cwd=repo.root, check=True, capture_output=True)  # noqa: E731
    with common.chdir(repo.root):
        repo.snapshot(str(data / "flat.parquet"), config=config, message="v1")
        git("switch", "-q", "-c", "other")
        repo.snapshot(str(data / common.FLAT_V2_PARQUET), message="v2")
        git("switch", "-q", "main")
        repo.snapshot(str(v3), message="v3")
    wholes = []
    for i, path in enumerate([data / "flat.parquet", v3, data / common.FLAT_V2_PARQUET]):  # base, ours, theirs
        r = annover.Repo(common.fresh_repo(tmp, f"whole-{i}"))
        with common.chdir(r.root):
            r.snapshot(str(path), config=config, message="whole")
        wholes.append(_parts(r, "v1"))
    return repo, wholes


def measure(data: Path, tmp: Path, repeats: int) -> dict:
    repo, wholes = _setup(data, tmp)
    with common.chdir(repo.root):
        dry = repo.merge("other", favor="theirs", dry_run=True)
        cases = {"annover merge --dry-run --theirs": (lambda: repo.merge("other", favor="theirs", dry_run=True), None),
                 "DuckDB three-way join": (lambda: three_way_join(*wholes), None)}
        times = common.time_interleaved(cases, repeats, warmup=1, log=common.log)
        once, made = common.time_once(lambda: repo.merge("other", favor="theirs"))
    return {"times": times, "ratio": common.ratio(times["annover merge --dry-run --theirs"],
                                                  times["DuckDB three-way join"]),
            "merge_s": round(once, 3), "made": made.tag, "conflicts": len(dry.conflicts)}


def report(r: dict) -> str:
    x = r["results"]
    rows = [[k, f"{v['median_s']:.3f}", f"{v['best_s']:.3f}"] for k, v in x["times"].items()]
    return "\n".join([f"Merge of two branches of {r['rows']:,} annotation rows ({x['conflicts']} conflicting tasks)", "",
                      common.markdown_table(["case", "median (s)", "best (s)"], rows), "",
                      f"dry run / join: {x['ratio']}x; the merge committed ({x['made']}): {x['merge_s']} s"])


def main(argv: list[str] | None = None) -> dict:
    return common.run_figure(__doc__, "merge", 5, measure, report, lambda r: {"ratio": r["results"]["ratio"]}, argv)


if __name__ == "__main__":
    main()
