"""`annover.load(rev)` against `pyarrow.parquet.read_table` of the same part files.

A repository with two versions of N annotation rows is made first (not timed): v1 from
``flat.parquet`` and v2 from ``flat_v2.parquet`` (the same rows, ~1% of labels changed,
so nearly every part differs). Then, round-robin:

- head:  ``annover.load("v2", repo=ROOT)`` against ``pq.read_table([parts])`` of the part
         files the v2 manifest lists, in the working store ``.annover/objects/ab/cdef...``;
- older: ``annover.load("v1", repo=ROOT)``, whose parts are no longer in the working
         store and are read from the DVC cache, against ``pq.read_table`` of those
         cache files (``.dvc/cache/files/md5/ab/cdef...``).

A second floor, ``concat_tables([pq.read_table(f) for f in parts])``, reads the files
one by one as annover does. Components time annover's steps one at a time.

``--tasks N``: instead, the rows of N task keys of v2, ``annover.load("v2", tasks=keys)``
against ``annover.load("v2")`` filtered to them and against ``pyarrow.dataset`` over the same
part files with an ``isin`` filter; N keys drawn at random (spread over every part), and N
keys next to each other in key order (one or two parts). CPU time (user + system, all
threads) and wall time, cases alternated, medians.

    python benchmarks/bench_load.py                      # 1,000,000 rows, 15 repeats
    python benchmarks/bench_load.py --rows 100000 --repeats 5
    python benchmarks/bench_load.py --tasks 100 --repeats 9
"""

from __future__ import annotations

import random
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

TARGET = 1.2


def make_repo(data: Path, work: Path) -> Path:
    import annover
    from annover.store import snapshots

    snapshots.MIN_BASE_BYTES = 1 << 62  # versions written whole: a figure of parts (deltas: bench_storage.py)
    root = common.fresh_repo(work, "load")
    repo = annover.Repo(root)
    with common.chdir(root):
        repo.snapshot(str((data / common.FLAT_PARQUET).resolve()), config=str(data / common.CONFIG), message="v1")
        repo.snapshot(str((data / common.FLAT_V2_PARQUET).resolve()), message="v2 (1% relabelled)")
    return root


def part_paths(root: Path, rev: str) -> tuple[list[Path], str]:
    """The files holding the parts of ``rev``'s annotations, and where they were found."""
    import annover
    from annover.store.objects import ObjectRef
    from annover.store.snapshots import read_manifest

    repo = annover.Repo(root)
    v = repo.show(rev)
    m = read_manifest(repo.store, v.snapshot("annotations"))
    paths, where = [], {"DVC cache": 0, "working store": 0}
    for p in m["parts"]:
        loc = repo.store.locate(ObjectRef.from_json(p))
        assert loc is not None, f"part {p['oid'][:12]} of {rev} is missing"
        paths.append(loc)
        where["working store" if repo.store.root in loc.parents else "DVC cache"] += 1
    return paths, " + ".join(f"{n} in {k}" for k, n in where.items() if n)


def components(root: Path, rev: str) -> dict[str, float]:
    """annover's load steps, one at a time and single-threaded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import annover
    from annover.store.objects import ObjectRef
    from annover.store.snapshots import read_manifest

    out: dict[str, float] = {}

    def t(name, fn):
        dt, res = common.time_once(fn)
        out[name] = round(dt, 5)
        return res

    repo = t("Repo(path)", lambda: annover.Repo(root))
    v = t("repo.show(rev): resolve + read + verify record", lambda: repo.show(rev))
    m = t("read_manifest", lambda: read_manifest(repo.store, v.snapshot("annotations")))
    refs = [ObjectRef.from_json(p) for p in m["parts"]]
    out["parts"] = len(refs)
    blobs = t("store.get all parts (read + sha256), serial", lambda: [repo.store.get(r) for r in refs])
    out["bytes"] = sum(len(b) for b in blobs)
    import hashlib

    t("  of which sha256 of all parts", lambda: [hashlib.sha256(b).digest() for b in blobs])
    tables = t("ParquetFile(BufferReader).read all parts, serial",
               lambda: [pq.ParquetFile(pa.BufferReader(b)).read() for b in blobs])
    t("pa.concat_tables", lambda: pa.concat_tables(tables))
    return out


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_interleaved(cases: dict, repeats: int) -> dict[str, dict]:
    """Median CPU and wall seconds of each case, round-robin (one warm-up round), each round
    starting one case further on."""
    import gc

    cpu: dict[str, list[float]] = {n: [] for n in cases}
    wall: dict[str, list[float]] = {n: [] for n in cases}
    names = list(cases)
    for r in range(-1, repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            gc.collect()
            c0, w0 = _cpu(), time.perf_counter()
            cases[name]()
            if r >= 0:
                cpu[name].append(_cpu() - c0)
                wall[name].append(time.perf_counter() - w0)
    return {n: {"cpu_s": round(statistics.median(cpu[n]), 4), "wall_s": round(statistics.median(wall[n]), 4),
                "repeats": repeats} for n in names}


def parts_holding(paths: list[Path], keys: list[str]) -> int:
    """How many of the part files' task key ranges (row-group statistics) hold one of ``keys``."""
    import pyarrow.parquet as pq

    keys = sorted(keys)
    n = 0
    for f in paths:
        st = pq.read_metadata(f).row_group(0).column(0).statistics
        n += any(st.min <= k <= st.max for k in keys)
    return n


def tasks_figure(root: Path, n: int, repeats: int, seed: int) -> dict:
    """``load(rev, tasks=N keys)`` against the whole load filtered and pyarrow.dataset (see the docstring)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as pads

    import annover

    paths, where = part_paths(root, "v2")
    strs = [str(x) for x in paths]
    every = annover.load("v2", repo=root, columns=["task_key"]).column("task_key")
    uniq = pc.unique(every).to_pylist()
    rng = random.Random(seed)
    start = rng.randrange(len(uniq) - n)
    picks = {"random": rng.sample(uniq, n), "adjacent": uniq[start:start + n]}
    out: dict = {"rev": "v2", "parts": len(paths), "parts_in": where, "keys": n, "picks": {}}
    for label, keys in picks.items():
        value_set = pa.array(keys, pa.string())
        want = annover.load("v2", repo=root).filter(pc.is_in(every, value_set=value_set))
        got = annover.load("v2", repo=root, tasks=keys)
        assert got.equals(want) and got.num_rows, (got.num_rows, want.num_rows)
        dataset = pads.dataset(strs, format="parquet")  # made once: its file listing is not timed
        flt = pads.field("task_key").isin(value_set)
        cases = {
            "annover.load(tasks=)": lambda keys=keys: annover.load("v2", repo=root, tasks=keys),
            "annover.load + filter": lambda vs=value_set: (lambda t: t.filter(pc.is_in(t.column("task_key"),
                                                                                  value_set=vs)))(
                annover.load("v2", repo=root)),
            "pyarrow.dataset filter": lambda d=dataset, f=flt: d.to_table(filter=f),
        }
        times = cpu_interleaved(cases, repeats)
        common.log(f"== {label} {n} keys: {got.num_rows} rows from {parts_holding(paths, keys)} of {len(paths)} parts")
        for name, t in times.items():
            common.log(f"   {name:<24} cpu {t['cpu_s']:.4f} s  wall {t['wall_s']:.4f} s")
        out["picks"][label] = {"rows": got.num_rows, "parts_read": parts_holding(paths, keys), "times": times}
    return out


def tasks_report(result: dict) -> str:
    f = result["tasks_figure"]
    rows = []
    for label, r in f["picks"].items():
        t = r["times"]
        mine, whole, ds = t["annover.load(tasks=)"], t["annover.load + filter"], t["pyarrow.dataset filter"]
        rows.append([f"{f['keys']} {label} keys", r["rows"], f"{r['parts_read']} of {f['parts']}",
                     f"{mine['cpu_s']:.4f} ({mine['wall_s']:.4f})", f"{whole['cpu_s']:.4f} ({whole['wall_s']:.4f})",
                     f"{ds['cpu_s']:.4f} ({ds['wall_s']:.4f})", f"{whole['cpu_s'] / mine['cpu_s']:.1f}x",
                     f"{ds['cpu_s'] / mine['cpu_s']:.2f}x"])
    return "\n".join([f"load of some tasks of {result['rows']:,} annotation rows (v2), median of "
                      f"{f['picks']['random']['times']['annover.load(tasks=)']['repeats']} runs, "
                      "CPU seconds (wall seconds)",
                      common.markdown_table(["tasks", "rows", "parts read", "load(tasks=)", "load + filter",
                                             "pyarrow.dataset", "load+filter / tasks=", "dataset / tasks="], rows)])


def main(argv: list[str] | None = None) -> dict:
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=None, metavar="N",
                   help="time load(rev, tasks=N keys) against load + filter and pyarrow.dataset instead")
    p.set_defaults(repeats=15)
    a = p.parse_args(argv)
    tmp = common.isolate_env(a.tmp)
    a.data, meta = common.ensure_data(a.data, a.rows, a.seed, tmp)
    if a.tasks is not None:
        try:
            common.log("== making a repository with two versions ...")
            root = make_repo(a.data, tmp)
            result = {"figure": "load_tasks", "rows": a.rows, "machine": common.machine(),
                      "tasks_figure": tasks_figure(root, a.tasks, a.repeats, a.seed)}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        common.finish(result, a.out, tasks_report, lambda r: r["tasks_figure"])
        return result
    result: dict = {"figure": "load", "rows": a.rows, "tasks": meta["tasks"], "target_ratio": TARGET,
                    "machine": common.machine(), "revs": {}}
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        import annover

        common.log("== making a repository with two versions ...")
        root = make_repo(a.data, tmp)
        for label, rev in (("head", "v2"), ("older", "v1")):
            paths, where = part_paths(root, rev)
            strs = [str(x) for x in paths]
            loaded = annover.load(rev, repo=root)
            floor_t = pq.read_table(strs)
            assert loaded.num_rows == floor_t.num_rows == a.rows, (loaded.num_rows, floor_t.num_rows)
            common.log(f"== load {rev} ({label}): {len(paths)} parts ({where}), "
                       f"{sum(x.stat().st_size for x in paths) / 1e6:.1f} MB")
            cases = {
                "annover.load": (lambda rev=rev: annover.load(rev, repo=root), None),
                "pq.read_table(parts)": (lambda strs=strs: pq.read_table(strs), None),
                "concat(pq.read_table(part) each)": (lambda strs=strs: pa.concat_tables([pq.read_table(s) for s in strs]),
                                                     None),
            }
            times = common.time_interleaved(cases, a.repeats, warmup=1)
            floor = times["pq.read_table(parts)"]
            result["revs"][label] = {
                "rev": rev, "parts_in": where, "parts": len(paths), "bytes": sum(x.stat().st_size for x in paths),
                "load": times["annover.load"], "floor": floor, "floor_each": times["concat(pq.read_table(part) each)"],
                "ratio": common.ratio(times["annover.load"], floor),
                "ratio_vs_each": common.ratio(times["annover.load"], times["concat(pq.read_table(part) each)"]),
                "components_s": components(root, rev),
            }
            r = result["revs"][label]
            common.log(f"   load {r['load']['median_s']:.4f} s  read_table {floor['median_s']:.4f} s  ({r['ratio']}x)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    common.finish(result, a.out, report, metrics_view)
    return result


def metrics_view(result: dict) -> dict:
    out: dict = {"rows": result["rows"], "target_ratio": result["target_ratio"]}
    for label, r in result["revs"].items():
        out[label] = {"load_s": r["load"]["median_s"], "read_table_s": r["floor"]["median_s"],
                      "read_each_s": r["floor_each"]["median_s"], "ratio": r["ratio"],
                      "ratio_vs_each": r["ratio_vs_each"], "parts": r["parts"]}
    return out


def report(result: dict) -> str:
    rows = [[f"{label} ({r['rev']})", r["parts_in"], f"{r['load']['median_s']:.4f}",
             f"{r['floor']['median_s']:.4f}", f"{r['ratio']:.2f}x", f"{r['floor_each']['median_s']:.4f}",
             f"{r['ratio_vs_each']:.2f}x", f"<= {result['target_ratio']}x"]
            for label, r in result["revs"].items()]
    first = next(iter(result["revs"].values()))
    text = [f"load of {result['rows']:,} annotation rows, median of {first['load']['repeats']} runs, seconds",
            common.markdown_table(["version", "parts (where)", "annover.load", "pq.read_table(parts)", "ratio",
                                   "read each + concat", "ratio", "target"], rows)]
    for label, r in result["revs"].items():
        text.append(f"\ncomponents, {label} ({r['rev']}), single-threaded, one run:")
        text.append(common.markdown_table(["step", "s / count"], [[k, v] for k, v in r["components_s"].items()]))
    return "\n".join(text)


if __name__ == "__main__":
    main()
