"""``annover merge`` of two branches over 1,000,000 annotation rows, in two cases.

v1 is ``flat.parquet``; branch ``other`` makes v2 from ``flat_v2.parquet`` (1% of labels
changed, a delta on v1). The branch merged into differs by case:

- ``10% / 1%``: ``main`` makes v3 from v1 with 10% of its labels changed (past the delta
  budget: written whole).
- ``1% / 1%``: ``main`` makes v3 from v1 with 1% of its labels changed (another 1% than
  v2's; a delta on v1): both sides changed about 1%.

``Repo.merge("other", favor="theirs", dry_run=True)`` (find the base, read the three
versions, merge by task and answer, list conflicts; nothing written) is timed round-robin
against the floor of its reads and comparisons: DuckDB joining the three versions' parts
(each written whole, in a repository of its own) on the row keys and counting the rows that
differ from the base on either side. Peak RSS is that of a process each: ``annover merge
other --dry-run --theirs``, the join, and the merge itself (``--theirs``, committed), which
is timed once, after.

    python benchmarks/bench_merge.py --data DATA --rows 1000000
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

KEYS = ["task_key", "annotation_key", "region_key"]
CONTENT = ["annotator", "from_name", "to_name", "type", "labels", "value", "region", "was_cancelled", "ground_truth",
           "lead_time", "extra"]
#: case -> (share of ours' labels relabeled, its seed)
CASES = {"10% / 1%": (0.1, 1), "1% / 1%": (0.01, 2)}
DRY, JOIN = "annover merge --dry-run --theirs", "DuckDB three-way join"


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


# Peak RSS is read by a small wrapper process: a child forked from this (large) process
# would report this process's resident size as its own peak.
_WRAPPER = """import os, subprocess, sys, time
t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(p.pid, 0)
print(f"{os.waitstatus_to_exitcode(status)} {time.perf_counter() - t} {usage.ru_maxrss}")
"""


def run_process(args: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one process, which must succeed."""
    p = subprocess.run([sys.executable, "-c", _WRAPPER, *args], cwd=cwd, capture_output=True, text=True, check=True)
    code, wall, rss_kb = p.stdout.split()
    if int(code) != 0:
        raise SystemExit(f"{' '.join(args)} failed ({code})")
    return float(wall), int(rss_kb) / 1024


def _layout(repo, rev: str) -> str:
    """How ``rev``'s annotations are stored: ``whole`` parts, or ``delta`` on an earlier version's."""
    from annover.store.snapshots import read_manifest

    return "delta" if "deltas" in read_manifest(repo.store, repo.show(rev).snapshot("annotations")) else "whole"


def _whole(data: Path, tmp: Path, path: Path, name: str) -> list[str]:
    """The annotations parts of ``path`` snapshot whole, in a repository of its own."""
    import annover

    r = annover.Repo(common.fresh_repo(tmp, f"whole-{name}"))
    with common.chdir(r.root):
        r.snapshot(str(path), config=str(data / common.CONFIG), message="whole")
    return _parts(r, "v1")


def _setup(data: Path, tmp: Path, case: str, share: float, seed: int):
    """(the repository to merge in, the whole parts of base, ours and theirs) of one case."""
    import bench_diff_all

    import annover

    config, ours = str(data / common.CONFIG), bench_diff_all.relabeled(data, tmp, share, seed)
    repo = annover.Repo(common.fresh_repo(tmp, f"merge-{share}"))
    git = lambda *a: subprocess.run(["git", *a], cwd=repo.root, check=True, capture_output=True)  # noqa: E731
    with common.chdir(repo.root):
        repo.snapshot(str(data / "flat.parquet"), config=config, message="v1")
        git("switch", "-q", "-c", "other")
        repo.snapshot(str(data / common.FLAT_V2_PARQUET), message="v2")
        git("switch", "-q", "main")
        repo.snapshot(str(ours), message="v3")
    layouts = {rev: _layout(repo, rev) for rev in ("v2", "v3")}
    return repo, _whole(data, tmp, ours, f"ours-{share}"), layouts


def measure_case(data: Path, tmp: Path, repeats: int, case: str, base: list[str], theirs: list[str]) -> dict:
    share, seed = CASES[case]
    repo, ours, layouts = _setup(data, tmp, case, share, seed)
    wholes = [base, ours, theirs]
    with common.chdir(repo.root):
        dry = repo.merge("other", favor="theirs", dry_run=True)
        cases = {DRY: (lambda: repo.merge("other", favor="theirs", dry_run=True), None),
                 JOIN: (lambda: three_way_join(*wholes), None)}
        times = common.time_interleaved(cases, repeats, warmup=1, log=common.log)
    exe = common.annover_exe()
    join = [sys.executable, "-c", "import sys, json; sys.path.insert(0, sys.argv[1]); import bench_merge; "
            "bench_merge.three_way_join(*json.loads(sys.argv[2]))", str(Path(__file__).resolve().parent),
            json.dumps(wholes)]
    rss = {DRY: run_process([exe, "merge", "other", "--dry-run", "--theirs"], repo.root)[1],
           JOIN: run_process(join, repo.root)[1]}
    merge_s, rss["annover merge --theirs"] = run_process([exe, "merge", "other", "--theirs", "-q"], repo.root)
    changes = {s: sum(len(v) for v in dry.changes[s].values()) for s in dry.changes}
    return {"times": times, "ratio": common.ratio(times[DRY], times[JOIN]), "rss_mb": rss,
            "merge_s": round(merge_s, 3), "conflicts": len(dry.conflicts), "layouts": layouts,
            "changes": changes, "combined": len(dry.combined), "same": len(dry.same)}


def measure(data: Path, tmp: Path, repeats: int) -> dict:
    base = _whole(data, tmp, data / "flat.parquet", "base")
    theirs = _whole(data, tmp, data / common.FLAT_V2_PARQUET, "theirs")
    return {case: measure_case(data, tmp, repeats, case, base, theirs) for case in CASES}


def report(r: dict) -> str:
    out = [f"Merge of two branches of {r['rows']:,} annotation rows (ours / theirs changed)", ""]
    rows = []
    for case, x in r["results"].items():
        for k, v in x["times"].items():
            rows.append([case, k, f"{v['median_s']:.3f}", f"{v['best_s']:.3f}", f"{x['rss_mb'][k]:.0f}"])
        rows.append([case, "annover merge --theirs (committed, once)", f"{x['merge_s']:.3f}", "",
                     f"{x['rss_mb']['annover merge --theirs']:.0f}"])
    out.append(common.markdown_table(["case", "what", "median (s)", "best (s)", "peak RSS (MB, a process)"], rows))
    out.append("")
    for case, x in r["results"].items():
        out.append(f"{case}: dry run / join {x['ratio']}x; layouts {x['layouts']}; tasks changed by one side "
                   f"{x['changes']}, combined {x['combined']}, same {x['same']}, conflicts {x['conflicts']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> dict:
    return common.run_figure(__doc__, "merge", 5, measure, report,
                             lambda r: {c: {"ratio": x["ratio"]} for c, x in r["results"].items()}, argv)


if __name__ == "__main__":
    main()
