"""``annover log --task KEY -p``: one task's history over versions of 1,000,000 annotation rows.

Three versions: v1 ``flat.parquet``, v2 ``flat_v2.parquet`` (1% of labels changed: stored as
a delta on v1), v3 v1 with 10% of its labels changed (written whole). annover's
``Repo.task_log([key], patch=True)`` (every version's rows of the task, which versions
changed it, and each one's diff from its parent) is timed round-robin against the floor of
its reads: pyarrow's ``pq.read_table`` of each version's parts (each version written whole,
in a repository of its own) with a filter on the task key, which skips row groups by their
statistics as annover skips parts. A few keys are timed, each a case.

    python benchmarks/bench_task_log.py --data DATA --rows 1000000
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

KEYS = ("doc-00000007", "doc-00150000", "doc-00333333")


def _versions(data: Path, tmp: Path) -> list[Path]:
    import bench_diff_all

    return [data / "flat.parquet", data / common.FLAT_V2_PARQUET, bench_diff_all.relabeled(data, tmp, 0.1)]


def measure(data: Path, tmp: Path, repeats: int) -> dict:
    import pyarrow.parquet as pq

    import annover
    from annover.store.objects import ObjectRef
    from annover.store.snapshots import read_manifest

    config, inputs = str(data / common.CONFIG), _versions(data, tmp)
    repo = annover.Repo(common.fresh_repo(tmp, "history"))
    with common.chdir(repo.root):
        for i, path in enumerate(inputs):
            repo.snapshot(str(path), message=f"v{i + 1}", **({"config": config} if i == 0 else {}))
    wholes = []
    for i, path in enumerate(inputs):  # each version written whole, for the floor's plain Parquet reads
        r = annover.Repo(common.fresh_repo(tmp, f"whole-{i}"))
        with common.chdir(r.root):
            v = r.snapshot(str(path), config=config, message="whole").version
        m = read_manifest(r.store, v.snapshot("annotations"))
        wholes.append([str(r.store.locate(ObjectRef.from_json(p))) for p in m["parts"]])
    v2_delta = bool(read_manifest(repo.store, repo.show("v2").snapshot("annotations")).get("deltas"))  # at 1M rows
    cases, found = {}, {}
    for key in KEYS:
        found[key] = [e[0].id for e in repo.task_log([key], patch=True).entries]
        cases[f"annover task_log {key} -p"] = (lambda key=key: repo.task_log([key], patch=True), None)
        cases[f"pq.read_table x3 filtered {key}"] = (
            lambda key=key: [pq.read_table(ps, filters=[("task_key", "=", key)]) for ps in wholes], None)
    times = common.time_interleaved(cases, repeats, warmup=1, log=common.log)
    ratios = {key: common.ratio(times[f"annover task_log {key} -p"], times[f"pq.read_table x3 filtered {key}"])
              for key in KEYS}
    return {"times": times, "ratios": ratios, "versions_listed": {k: len(v) for k, v in found.items()},
            "v2_is_a_delta": v2_delta}


def report(r: dict) -> str:
    rows = [[k, f"{v['median_s']:.3f}", f"{v['best_s']:.3f}"] for k, v in r["results"]["times"].items()]
    return "\n".join([f"One task's history over 3 versions of {r['rows']:,} annotation rows", "",
                      common.markdown_table(["case", "median (s)", "best (s)"], rows), "",
                      "annover / floor: " + ", ".join(f"{k} {x}x" for k, x in r["results"]["ratios"].items())])


def main(argv: list[str] | None = None) -> dict:
    return common.run_figure(__doc__, "task_log", 7, measure, report, lambda r: {"ratios": r["results"]["ratios"]}, argv)


if __name__ == "__main__":
    main()
