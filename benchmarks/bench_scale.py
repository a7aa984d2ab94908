"""annover at scale: time and peak memory of each step, from 1M to 10M annotation rows.

For each size in ``--rows``, a fresh repository (git + DVC + a local-folder DVC remote)
and, each step run as a new process next to its floor (also a new process), timed with
its peak RSS (``/usr/bin/time -f %M``, so a child forked from this process is not billed
for this process's memory):

    snapshot v1, v2   `annover snapshot --from flat(_v2).parquet`  | pyarrow read + sort + zstd write
    export parquet    `annover export v2 --format parquet`         | pq.read_table + pq.write_table
    load              `annover.load("v2")` in a new interpreter    | pq.read_table of the part files
    diff              `annover diff v1 v2 --json`                   | DuckDB full outer join of the
                                                                       two versions' annotations
    export ls         `annover export v2 --format label-studio`    | (none: RSS vs the tables' size)
    push              `annover push` to the local-folder remote    | cp -r of the DVC cache's files
    pull              `annover pull` in a fresh `git clone`         | cp -r of the remote's files

v2 is v1 with ~1% of labels changed (``flat_v2.parquet``, as in bench_load/bench_diff).
When v2 is stored as v1's base parts plus a delta (merge-on-read), the load and diff
floors read v2 as one compacted file (the ``export --format parquet`` output: the same
rows), the "equivalent compacted table" of the issue; otherwise v2's own part files.

Memory is compared with the in-memory (Arrow) size of v2's annotations + tasks tables as
``annover.load`` returns them ("table"); growth is the last size's figure over the first's
(rows grow 10x from 1M to 10M: a time growth of 10x is linear).

The Label Studio JSON export is written by Python's pure JSON encoder (minutes at 10M
rows): it runs for sizes under 5,000,000 rows, and at every size with ``--ls-json``.

    python benchmarks/bench_scale.py --rows 200000,1000000            # quick check
    python benchmarks/bench_scale.py --out benchmarks/out/scale.json   # 1M and 10M
    python benchmarks/bench_scale.py --rows 10000000 --ls-json --skip read,remote   # the LS export at 10M
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

LS_JSON_DEFAULT_BELOW = 5_000_000
MEM_TARGET = 4.0
KEYS = ["task_key", "annotation_key", "region_key"]
# the annotations' content columns the diff compares (bench_diff.py's list)
CONTENT = ["annotator", "from_name", "to_name", "type", "labels", "value", "region", "was_cancelled",
           "ground_truth", "lead_time", "extra"]

_SNAPSHOT_FLOOR = """import sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1]).sort_by([("task_key", "ascending"), ("annotator", "ascending")])
pq.write_table(t, sys.argv[2], compression="zstd", compression_level=3)
"""
_READ_FLOOR = """import json, sys
import pyarrow.parquet as pq
t = pq.read_table(json.load(open(sys.argv[1])))
print(t.num_rows)
"""
_EXPORT_FLOOR = """import json, sys
import pyarrow.parquet as pq
t = pq.read_table(json.load(open(sys.argv[1])))
pq.write_table(t, sys.argv[2], compression="zstd", compression_level=3)
"""
_LOAD = """import sys
import annover
t = annover.load(sys.argv[1], repo=sys.argv[2])
print(t.num_rows)
"""
_SIZES = """import json, sys
import annover
a = annover.load(sys.argv[1], repo=sys.argv[2])
t = annover.load(sys.argv[1], "tasks", repo=sys.argv[2])
print(json.dumps({"annotations_rows": a.num_rows, "annotations_bytes": a.nbytes, "tasks_rows": t.num_rows,
                  "tasks_bytes": t.nbytes}))
"""
_JOIN_FLOOR = """import json, sys
import duckdb
a, b, keys, content = (json.loads(x) for x in sys.argv[1:5])
lst = lambda ps: "[" + ", ".join(f"'{p}'" for p in ps) + "]"
on = " AND ".join(f"a.{k} = b.{k}" for k in keys)
differs = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in content)
src = f"read_parquet({lst(a)}) AS a FULL OUTER JOIN read_parquet({lst(b)}) AS b ON {on}"
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
print(con.sql(f"SELECT count(*) FROM {src} WHERE a.task_key IS NULL OR b.task_key IS NULL OR {differs}").fetchall()[0][0])
"""


# ---------------------------------------------------------------------------
# one process, timed, with its peak RSS


def run(args: list[str], cwd: Path, stdout: Path | None = None) -> dict:
    """Wall seconds and peak RSS (MB) of ``args`` as a new process; fails loudly."""
    tfile = cwd / ".bench-time"
    with open(stdout or os.devnull, "w") as out:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(tfile), *args], cwd=cwd, stdout=out,
                           stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {p.returncode}: {p.stderr[-2000:]}")
    rss_kb = int(tfile.read_text().strip().splitlines()[-1])
    tfile.unlink()
    return {"s": round(wall, 3), "rss_mb": round(rss_kb / 1024, 1)}


def py(code: str, *argv: str) -> list[str]:
    return [sys.executable, "-c", code, *argv]


def measure(cases: dict[str, tuple[list[str], Path, Path | None, object]], repeats: int) -> dict[str, dict]:
    """Run each case ``repeats`` times round-robin; the median run's time, the largest RSS.

    A case is (args, cwd, stdout file or None, setup callable or None; setup is not timed).
    """
    samples: dict[str, list[dict]] = {k: [] for k in cases}
    for r in range(repeats):
        for name, (args, cwd, stdout, setup) in cases.items():
            if setup is not None:
                setup()
            res = run(args, cwd, stdout)
            samples[name].append(res)
            common.log(f"    {name:<28} {res['s']:9.2f} s  {res['rss_mb']:9.1f} MB  (run {r + 1}/{repeats})")
    out = {}
    for name, s in samples.items():
        times = sorted(x["s"] for x in s)
        out[name] = {"s": times[len(times) // 2], "rss_mb": max(x["rss_mb"] for x in s),
                     "samples_s": [x["s"] for x in s]}
    return out


# ---------------------------------------------------------------------------
# the repository's files


def layout_files(root: Path, rev: str) -> tuple[list[str], int]:
    """(files of ``rev``'s annotations base parts, number of deltas) in the working store or DVC cache."""
    import annover
    from annover.store.snapshots import Layout, read_manifest

    repo = annover.Repo(root)
    lay = Layout.of(read_manifest(repo.store, repo.show(rev).snapshot("annotations")))
    paths = []
    for ref in lay.base:
        loc = repo.store.locate(ref)
        assert loc is not None, f"part {ref} of {rev} is missing"
        paths.append(str(loc))
    return paths, len(lay.deltas)


def tree_bytes(path: Path) -> tuple[int, int]:
    """(bytes, files) under ``path``."""
    n = b = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            b += os.path.getsize(os.path.join(dirpath, f))
            n += 1
    return b, n


# ---------------------------------------------------------------------------
# one size


def steps_snapshot(data: Path, root: Path, work: Path, repeats: int) -> dict:
    exe = common.annover_exe()
    config = data / common.CONFIG
    out = {}
    for tag, fname in (("v1", common.FLAT_PARQUET), ("v2", common.FLAT_V2_PARQUET)):
        src = data / fname
        common.log(f"  snapshot {tag} ({src.stat().st_size / 1e6:.1f} MB flat Parquet)")
        args = [exe, "snapshot", "--from", str(src), "-m", tag, "--tag", tag, "-q"]
        if tag == "v1":
            args[4:4] = ["--config", str(config)]
        scratch = work / f"snap-{tag}"

        def setup(scratch=scratch):  # later repeats snapshot the same content on a fresh copy of the state before
            if not scratch.exists():
                shutil.copytree(root, scratch, symlinks=True)
            else:
                shutil.rmtree(root)
                shutil.copytree(scratch, root, symlinks=True)

        cases = {"floor": (py(_SNAPSHOT_FLOOR, str(src), str(work / "floor.parquet")), work, None, None),
                 "annover": (args, root, None, setup if repeats > 1 else None)}
        out[f"snapshot {tag}"] = measure(cases, repeats)
        shutil.rmtree(scratch, ignore_errors=True)
    return out


def steps_read(root: Path, work: Path, repeats: int) -> tuple[dict, dict]:
    """export parquet, load, diff: each against its floor."""
    exe = common.annover_exe()
    out: dict = {}
    exp = work / "v2.parquet"
    v2_parts, v2_deltas = layout_files(root, "v2")
    v1_parts, v1_deltas = layout_files(root, "v1")
    assert v1_deltas == 0, "v1 is the first version: written whole"
    lists = work / "v2-parts.json"
    lists.write_text(json.dumps(v2_parts))
    common.log(f"  export v2 --format parquet (v2: {len(v2_parts)} base parts, {v2_deltas} deltas)")
    out["export parquet"] = measure({
        "floor": (py(_EXPORT_FLOOR, str(lists), str(work / "floor-export.parquet")), work, None, None),
        "annover": ([exe, "export", "v2", "--format", "parquet", "--out", str(exp), "--force"], root, None, None),
    }, repeats)
    # v2 read as the floors read it: its own parts when it has no deltas, else the compacted export
    v2_files = v2_parts if v2_deltas == 0 else [str(exp)]
    v2_list = work / "v2-files.json"
    v2_list.write_text(json.dumps(v2_files))
    common.log("  load v2")
    out["load"] = measure({
        "floor": (py(_READ_FLOOR, str(v2_list)), work, work / "floor-load.txt", None),
        "annover": (py(_LOAD, "v2", str(root)), work, work / "load.txt", None),
    }, repeats)
    loaded, floor_rows = (_last_int(work / f) for f in ("load.txt", "floor-load.txt"))
    assert loaded == floor_rows, (loaded, floor_rows)
    import pyarrow.parquet as pq

    names = set(pq.read_schema(v1_parts[0]).names)
    content = [c for c in CONTENT if c in names]
    common.log("  diff v1 v2 --json")
    out["diff"] = measure({
        "floor": (py(_JOIN_FLOOR, json.dumps(v1_parts), json.dumps(v2_files), json.dumps(KEYS), json.dumps(content)),
                  work, work / "floor-diff.txt", None),
        "annover": ([exe, "diff", "v1", "v2", "--json"], root, work / "diff.json", None),
    }, repeats)
    info = {"v2_base_parts": len(v2_parts), "v2_deltas": v2_deltas, "v1_parts": len(v1_parts),
            "load_rows": loaded, "floor_diff_rows": _last_int(work / "floor-diff.txt"),
            "diff_summary": _diff_summary(work / "diff.json"), "export_parquet_bytes": exp.stat().st_size}
    return out, info


def _last_int(path: Path) -> int:
    """The number a floor or load process printed last."""
    return int(path.read_text().split()[-1])


def _diff_summary(path: Path) -> dict:
    """The counts of the diff's --json, whatever their nesting (numbers only, two levels)."""
    d = json.loads(path.read_text())
    out: dict = {}
    for k, v in d.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = v
        elif isinstance(v, dict) and k in ("annotations", "tasks", "summary"):
            out[k] = {k2: v2 for k2, v2 in v.items() if isinstance(v2, (int, float)) and not isinstance(v2, bool)}
    return out


def step_ls(root: Path, work: Path, repeats: int) -> dict:
    exe = common.annover_exe()
    out = work / "v2-ls.json"
    common.log("  export v2 --format label-studio")
    res = measure({"annover": ([exe, "export", "v2", "--format", "label-studio", "--out", str(out), "--force"],
                               root, None, None)}, repeats)
    res["annover"]["bytes"] = out.stat().st_size
    out.unlink()
    return {"export label-studio": res}


def steps_remote(root: Path, work: Path, remote: Path, repeats: int) -> tuple[dict, dict]:
    """push to the local-folder remote, pull in a fresh clone; floors: cp -r of the same files."""
    exe = common.annover_exe()
    cache = root / ".dvc" / "cache"
    clone = work / "clone"
    cp_push, cp_pull = work / "cp-push", work / "cp-pull"

    def push_setup():
        shutil.rmtree(remote, ignore_errors=True)
        shutil.rmtree(cp_push, ignore_errors=True)

    cache_bytes, cache_files = tree_bytes(cache)
    common.log(f"  push ({cache_bytes / 1e6:.1f} MB in {cache_files} files in the DVC cache)")
    out = {"push": measure({"floor": (["cp", "-r", str(cache), str(cp_push)], work, None, push_setup),
                            "annover": ([exe, "push"], root, None, None)}, repeats)}
    pushed_bytes, pushed_files = tree_bytes(remote)

    def pull_setup():
        shutil.rmtree(cp_pull, ignore_errors=True)
        shutil.rmtree(clone, ignore_errors=True)
        subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)

    common.log(f"  pull ({pushed_bytes / 1e6:.1f} MB in {pushed_files} files on the remote)")
    out["pull"] = measure({"floor": (["cp", "-r", str(remote), str(cp_pull)], work, None, pull_setup),
                           "annover": ([exe, "pull"], clone, None, None)}, repeats)
    # what the pull wrote: the clone's DVC cache and its working store
    pulled_cache, _ = tree_bytes(clone / ".dvc" / "cache")
    pulled_store, _ = tree_bytes(clone / ".annover")
    info = {"dvc_cache_bytes": cache_bytes, "dvc_cache_files": cache_files, "pushed_bytes": pushed_bytes,
            "pushed_files": pushed_files, "pulled_cache_bytes": pulled_cache, "pulled_work_tree_bytes": pulled_store}
    return out, info


def remote_dir(root: Path) -> Path:
    """The folder of the repository's default DVC remote."""
    dvc = Path(sys.executable).with_name("dvc")
    p = subprocess.run([str(dvc), "remote", "list"], cwd=root, capture_output=True, text=True, check=True)
    first = p.stdout.split("\n")[0].split()
    return Path(first[1])


def one_size(rows: int, a, tmp: Path) -> dict:
    common.log(f"== {rows:,} annotation rows")
    work = tmp / f"r{rows}"
    work.mkdir()
    os.environ["ANNOVER_REMOTE_HOME"] = str(work / "remotes")
    data_arg = a.data if a.data is not None else (tmp / f"data-{rows}")
    if a.data is None and (common.DEFAULT_DATA / common.META).exists():
        if json.loads((common.DEFAULT_DATA / common.META).read_text()).get("rows") == rows:
            data_arg = common.DEFAULT_DATA
    t0 = time.perf_counter()
    data, meta = common.ensure_data(data_arg, rows, a.seed, tmp)
    gen_s = round(time.perf_counter() - t0, 1)
    root = common.fresh_repo(work, "repo")
    steps = steps_snapshot(data, root, work, a.repeats)
    info: dict = {}
    if "read" not in a.skip:
        read, info = steps_read(root, work, a.repeats)
        steps.update(read)
    p = subprocess.run(py(_SIZES, "v2", str(root)), capture_output=True, text=True, check=True)
    sizes = json.loads(p.stdout)
    if a.ls_json or (rows < LS_JSON_DEFAULT_BELOW and not a.no_ls_json):
        steps.update(step_ls(root, work, a.repeats))
    if "remote" not in a.skip:
        rem, rinfo = steps_remote(root, work, remote_dir(root), a.repeats)
        steps.update(rem)
        info.update(rinfo)
    if data_arg != common.DEFAULT_DATA and a.data is None:
        shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    table_mb = (sizes["annotations_bytes"] + sizes["tasks_bytes"]) / 2**20
    for s in steps.values():
        if "floor" in s:
            s["ratio"] = round(s["annover"]["s"] / s["floor"]["s"], 3)
        s["rss_per_table"] = round(s["annover"]["rss_mb"] / table_mb, 2)
    return {"rows": rows, "tasks": meta["tasks"], "data_generation_s": gen_s, "table_mb": round(table_mb, 1),
            "sizes": sizes, "info": info, "steps": steps, "loadavg_after": list(os.getloadavg())}


def growth(result: dict) -> dict:
    runs = result["sizes"]
    if len(runs) < 2:
        return {}
    first, last = runs[0], runs[-1]
    out = {"rows": round(last["rows"] / first["rows"], 2), "table_mb": round(last["table_mb"] / first["table_mb"], 2)}
    for step, s in last["steps"].items():
        f = first["steps"].get(step)
        if f is None:
            continue
        g = {"time": round(s["annover"]["s"] / f["annover"]["s"], 2),
             "rss": round(s["annover"]["rss_mb"] / f["annover"]["rss_mb"], 2)}
        if "floor" in s:
            g["floor_time"] = round(s["floor"]["s"] / f["floor"]["s"], 2)
            g["floor_rss"] = round(s["floor"]["rss_mb"] / f["floor"]["rss_mb"], 2)
        out[step] = g
    return out


def main(argv: list[str] | None = None) -> dict:
    p = common.base_parser(__doc__.split("\n\n")[0])
    rows_opt = next(x for x in p._actions if x.dest == "rows")  # common's --rows is one int: a comma list here
    rows_opt.type, rows_opt.default = str, "1000000,10000000"
    rows_opt.help = "annotation rows: a comma list of sizes (default 1000000,10000000)"
    p.set_defaults(repeats=1)
    p.add_argument("--ls-json", action="store_true",
                   help=f"export to Label Studio JSON at every size (default: only under {LS_JSON_DEFAULT_BELOW:,} rows)")
    p.add_argument("--no-ls-json", action="store_true", help="never export to Label Studio JSON")
    p.add_argument("--skip", default="", help="comma list of step groups to leave out: read (export parquet, "
                   "load, diff), remote (push, pull); the snapshots always run")
    a = p.parse_args(argv)
    a.skip = {x.strip() for x in a.skip.split(",") if x.strip()}
    if a.skip - {"read", "remote"}:
        p.error(f"--skip: unknown step group(s) {', '.join(sorted(a.skip - {'read', 'remote'}))}; use read, remote")
    sizes = [int(x.replace("_", "")) for x in a.rows.split(",") if x.strip()]
    if a.data is not None and len(sizes) > 1:
        p.error("--data names one data folder: give one size with it")
    tmp = common.isolate_env(a.tmp)
    result: dict = {"figure": "scale", "rows": sizes, "repeats": a.repeats, "mem_target_x_table": MEM_TARGET,
                    "machine": common.machine(), "sizes": []}
    t0 = time.perf_counter()
    try:
        for rows in sizes:
            result["sizes"].append(one_size(rows, a, tmp))
            result["growth"] = growth(result)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result["total_s"] = round(time.perf_counter() - t0, 1)
    common.finish(result, a.out, report, metrics_view)
    return result


def metrics_view(result: dict) -> dict:
    out: dict = {"repeats": result["repeats"]}
    for r in result["sizes"]:
        m = {"table_mb": r["table_mb"]}
        for step, s in r["steps"].items():
            e = {"s": s["annover"]["s"], "rss_mb": s["annover"]["rss_mb"], "rss_per_table": s["rss_per_table"]}
            if "floor" in s:
                e.update(floor_s=s["floor"]["s"], ratio=s["ratio"], floor_rss_mb=s["floor"]["rss_mb"])
            m[common.metric_key(step)] = e
        out[str(r["rows"])] = m
    if result.get("growth"):
        out["growth"] = {common.metric_key(k): v for k, v in result["growth"].items()}
    return out


def report(result: dict) -> str:
    text = []
    for r in result["sizes"]:
        rows = []
        for step, s in r["steps"].items():
            f = s.get("floor")
            rows.append([step, f"{s['annover']['s']:.2f}", f"{f['s']:.2f}" if f else "-",
                         f"{s['ratio']:.2f}x" if f else "-", f"{s['annover']['rss_mb']:.0f}",
                         f"{f['rss_mb']:.0f}" if f else "-", f"{s['rss_per_table']:.2f}x"])
        text.append(f"\n{r['rows']:,} annotation rows ({r['tasks']:,} tasks; v2's tables in memory "
                    f"{r['table_mb']:.0f} MB), one process per step, {result['repeats']} run(s), seconds / MB")
        text.append(common.markdown_table(["step", "annover", "floor", "ratio", "peak RSS", "floor RSS",
                                           "RSS / table"], rows))
        i = r["info"]
        if "v2_base_parts" not in i or "pushed_bytes" not in i:
            continue
        text.append(f"v2: {i['v2_base_parts']} base parts + {i['v2_deltas']} delta(s); pushed {i['pushed_bytes'] / 1e6:.1f} MB "
                    f"in {i['pushed_files']} files (DVC cache {i['dvc_cache_bytes'] / 1e6:.1f} MB); pull wrote "
                    f"{i['pulled_cache_bytes'] / 1e6:.1f} MB to the clone's cache; export parquet "
                    f"{i['export_parquet_bytes'] / 1e6:.1f} MB; floor join found {i['floor_diff_rows']:,} differing rows")
    g = result.get("growth")
    if g:
        first, last = result["sizes"][0]["rows"], result["sizes"][-1]["rows"]
        rows = [[step, f"{v['time']:.2f}x", f"{v['floor_time']:.2f}x" if "floor_time" in v else "-",
                 f"{v['rss']:.2f}x", f"{v['floor_rss']:.2f}x" if "floor_rss" in v else "-"]
                for step, v in g.items() if isinstance(v, dict)]
        text.append(f"\ngrowth {first:,} -> {last:,} rows ({g['rows']:.0f}x rows, tables in memory {g['table_mb']:.2f}x; "
                    f"linear time = {g['rows']:.0f}x)")
        text.append(common.markdown_table(["step", "annover time", "floor time", "annover peak RSS", "floor peak RSS"],
                                          rows))
    return "\n".join(text)


if __name__ == "__main__":
    main()
