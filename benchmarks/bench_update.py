"""``annover snapshot --update``: a round of some of the tasks (a sample's project) brought back
into a version of ``--rows`` annotation rows.

Each case is a process (``python -m annover``, wall and CPU time, peak RSS from ``os.wait4``),
round-robin over ``--repeats``. v1 is ``flat.parquet``, snapshotted once (not timed) and copied
before each update; a round is ``N`` tasks of v1 (every len/N-th task key), their rows with
every label relabeled to the next of the sorted labels:

    annover --update      ``annover snapshot --from round.parquet --update`` in a copy of v1's
                          repository; the bytes of the objects it added to the store
    annover --update (B)  the same with the code of ``--baseline DIR`` (the code before a change)
    floor: pyarrow        the round read, sorted by the keys, written as Parquet (zstd): what any
                          update does at least with the input alone
    floor: snapshot       ``annover snapshot --from round.parquet`` into an empty repository

    python benchmarks/bench_update.py --tasks 100,1000,10000            # 1,000,000 rows
    python benchmarks/bench_update.py --tasks 1000 --baseline ../annover-before --repeats 3
    python benchmarks/bench_update.py --share 0.01 --in-process         # the library calls, a share of tasks

``--in-process``: the earlier figure, ``Repo.snapshot(round, update=True)`` against a whole
snapshot of the same content and a pyarrow floor that reads v1's file too.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

KEYS = ["task_key", "annotation_key", "region_key"]


def inputs(data: Path, out: Path, share: float) -> tuple[Path, Path]:
    """(the round: ``share`` of the tasks, relabeled; the whole file with the round's rows in place)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(data / "flat.parquet")
    keys = pc.unique(t.column("task_key"))
    chosen = keys.take(pa.array(range(0, len(keys), max(1, round(1 / share)))))
    mine = pc.is_in(t.column("task_key"), value_set=chosen)
    labels = sorted(set(pc.unique(t.column("label")).to_pylist()))
    nxt = pc.take(labels[1:] + labels[:1], pc.index_in(t.column("label"), value_set=pa.array(labels)))
    relabeled = t.set_column(t.schema.get_field_index("label"), "label", pc.if_else(mine, nxt, t.column("label")))
    pq.write_table(relabeled.filter(mine), out / "round.parquet")
    pq.write_table(relabeled, out / "whole.parquet")
    return out / "round.parquet", out / "whole.parquet"


def floor(v1: Path, part: Path, out: Path) -> int:
    """What any update does at least: both read, the replaced rows dropped, the rest sorted and written."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    old, new = pq.read_table(v1), pq.read_table(part)
    kept = old.filter(pc.invert(pc.is_in(old.column("task_key"), value_set=pc.unique(new.column("task_key")))))
    t = pa.concat_tables([kept, new])
    t = t.take(pc.sort_indices(t, [(k, "ascending") for k in KEYS if k in t.column_names]))
    pq.write_table(t, out, compression="zstd")
    return t.num_rows


def measure(data: Path, tmp: Path, repeats: int, share: float) -> dict:
    import annover

    part, whole = inputs(data, tmp, share)
    config = str(data / common.CONFIG)
    made: dict[str, annover.Repo] = {}
    runs = [0]

    def at_v1(case: str) -> "callable":
        def setup() -> None:
            runs[0] += 1
            r = annover.Repo(common.fresh_repo(tmp, f"{case}-{runs[0]}"))
            with common.chdir(r.root):
                r.snapshot(str(data / "flat.parquet"), config=config, message="v1")
            made[case] = r
        return setup

    def snap(case: str, src: Path, update: bool) -> "callable":
        def run() -> None:
            r = made[case]
            with common.chdir(r.root):
                assert r.snapshot(str(src), message="round", update=update).changed
        return run

    cases = {"annover snapshot --update (the round)": (snap("update", part, True), at_v1("update")),
             "annover snapshot (the whole file)": (snap("whole", whole, False), at_v1("whole")),
             "floor: pyarrow read, replace, sort, write": (lambda: floor(data / "flat.parquet", part,
                                                                          tmp / "floor.parquet"), None)}
    times = common.time_interleaved(cases, repeats, warmup=1, log=common.log)
    base = times["floor: pyarrow read, replace, sort, write"]
    same = made["update"].show("HEAD").record["tables"] == made["whole"].show("HEAD").record["tables"]
    return {"share": share, "times": times, "same_content": same,
            "ratios": {k: common.ratio(v, base) for k, v in times.items()}}


def report(r: dict) -> str:
    x = r["results"]
    rows = [[k, f"{v['median_s']:.3f}", f"{v['best_s']:.3f}", f"{x['ratios'][k]}x"] for k, v in x["times"].items()]
    return "\n".join([f"snapshot --update of {x['share']:.0%} of the tasks into {r['rows']:,} annotation rows "
                      f"(same content as the whole snapshot: {x['same_content']})", "",
                      common.markdown_table(["case", "median (s)", "best (s)", "vs floor"], rows)])


FLOOR = """
import sys, pyarrow.parquet as pq, pyarrow.compute as pc
t = pq.read_table(sys.argv[1])
t = t.take(pc.sort_indices(t, [(k, "ascending") for k in ("task_key", "annotator")]))
pq.write_table(t, sys.argv[2], compression="zstd")
"""


def a_round(data: Path, out: Path, n: int) -> Path:
    """``n`` tasks of v1 (every len/n-th task key), every label relabeled to the next."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(data / "flat.parquet")
    keys = pc.unique(t.column("task_key"))
    chosen = keys.take(pa.array(range(0, len(keys), max(1, len(keys) // n)))[:n])
    mine = t.filter(pc.is_in(t.column("task_key"), value_set=chosen))
    labels = sorted(set(pc.unique(t.column("label")).to_pylist()))
    nxt = pc.take(pa.array(labels[1:] + labels[:1]), pc.index_in(mine.column("label"), value_set=pa.array(labels)))
    path = out / f"round-{n}.parquet"
    pq.write_table(mine.set_column(mine.schema.get_field_index("label"), "label", nxt), path)
    return path


def run(args: list[str], cwd: Path, env: dict[str, str]) -> dict:
    """Wall, CPU (user + system) and peak RSS of one process; fails loudly if it fails. The peak is
    measured by ``/usr/bin/time`` (a child forked from this process would count this process's
    pages, copied at the fork, in its own peak)."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as peak:
        t0 = time.perf_counter()
        p = subprocess.Popen([TIME, "-f", "%M", "-o", peak.name, *args], cwd=cwd, env=env,
                             stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(args)}: {err.read().decode(errors='replace')[-2000:]}")
        rss_kb = int(peak.read().split()[-1])
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": rss_kb / 1024}


#: GNU time, for a process's own peak RSS
TIME = shutil.which("time") or "/usr/bin/time"


def objects(root: Path) -> dict[str, int]:
    """The store's object files and their sizes."""
    return {str(f): f.stat().st_size for f in (root / ".annover" / "objects").rglob("*") if f.is_file()}


def processes(data: Path, tmp: Path, repeats: int, sizes: list[int], baseline: Path | None, warmup: int = 1) -> dict:
    v1 = common.fresh_repo(tmp, "v1")
    py = [sys.executable, "-m", "annover"]
    env = {**os.environ, "PYTHONPATH": str(common.ROOT)}
    subprocess.run([*py, "snapshot", "--from", str(data / "flat.parquet"), "--config", str(data / common.CONFIG),
                    "-m", "v1", "-q"], cwd=v1, env=env, check=True)
    codes = {"annover --update": env}
    if baseline is not None:
        codes["annover --update (baseline)"] = {**os.environ, "PYTHONPATH": str(baseline)}
    rounds = {n: a_round(data, tmp, n) for n in sizes}
    samples: dict = {n: {} for n in sizes}
    stored: dict = {n: {} for n in sizes}

    def update(n: int, case: str) -> dict:
        work = tmp / "work"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(v1, work, symlinks=True)
        before = objects(work)
        got = run([*py, "snapshot", "--from", str(rounds[n]), "--update", "-m", "round", "-q"], work, codes[case])
        stored[n][case] = sum(size for f, size in objects(work).items() if f not in before)
        return got

    def snapshot_alone(n: int) -> dict:
        empty = common.fresh_repo(tmp, "empty")
        return run([*py, "snapshot", "--from", str(rounds[n]), "--config", str(data / common.CONFIG), "-m", "r",
                    "-q"], empty, env)

    cases = {**{c: (lambda n, c=c: update(n, c)) for c in codes},
             "floor: pyarrow read, sort, write": lambda n: run([sys.executable, "-c", FLOOR, str(rounds[n]),
                                                                  str(tmp / "floor.parquet")], tmp, env),
             "floor: snapshot of the round alone": snapshot_alone}
    names = list(cases)
    for r in range(-warmup, repeats):  # warm-up rounds first
        for n in sizes:
            for name in names[r % len(names):] + names[:r % len(names)]:
                got = cases[name](n)
                common.log(f"  {'warmup' if r < 0 else f'run {r + 1}/{repeats}'}  {n:>6} tasks  {name:<36} "
                           f"{got['wall_s']:7.3f} s  cpu {got['cpu_s']:7.3f} s  rss {got['rss_mb']:7.0f} MB")
                if r >= 0:
                    samples[n].setdefault(name, []).append(got)
    out = {}
    for n in sizes:
        out[n] = {name: {"wall_s": round(statistics.median(x["wall_s"] for x in runs), 3),
                         "cpu_s": round(statistics.median(x["cpu_s"] for x in runs), 3),
                         "peak_rss_mb": round(max(x["rss_mb"] for x in runs)), "repeats": len(runs),
                         **({"new_bytes": stored[n][name]} if name in stored[n] else {})}
                  for name, runs in samples[n].items()}
    return {"sizes": out}


def report_processes(r: dict) -> str:
    """One row a case and round size; the ratios are to the pyarrow floor's, in wall and in CPU time
    (on a machine shared with other work, CPU time is the steadier)."""
    rows = []
    for n, cases in r["results"]["sizes"].items():
        floor = cases["floor: pyarrow read, sort, write"]
        for name, x in cases.items():
            rows.append([f"{int(n):,}", name, f"{x['wall_s']:.3f}", f"{x['wall_s'] / floor['wall_s']:.2f}x",
                         f"{x['cpu_s']:.3f}", f"{x['cpu_s'] / floor['cpu_s']:.2f}x", f"{x['peak_rss_mb']:,}",
                         f"{x['new_bytes']:,}" if "new_bytes" in x else ""])
    return "\n".join([f"snapshot --update of N tasks' answers into {r['rows']:,} annotation rows (processes)", "",
                      common.markdown_table(["tasks", "case", "wall (s)", "wall vs floor", "cpu (s)", "cpu vs floor",
                                             "peak RSS (MB)", "new bytes stored"], rows)])


def main(argv: list[str] | None = None) -> dict:
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default="100,1000,10000", help="tasks in each round (default 100,1000,10000)")
    p.add_argument("--baseline", type=Path, default=None, help="also run the update with the code of this checkout")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    p.add_argument("--in-process", action="store_true", help="the library calls of a --share of the tasks instead")
    p.add_argument("--share", type=float, default=0.01, help="--in-process: share of the tasks (default 0.01)")
    p.set_defaults(repeats=3)
    a = p.parse_args(argv)
    tmp = common.isolate_env(a.tmp)
    a.data, _ = common.ensure_data(a.data, a.rows, a.seed, tmp)
    result = {"figure": "update", "rows": a.rows, "machine": common.machine()}
    try:
        if a.in_process:
            result["results"] = measure(a.data, tmp, a.repeats, a.share)
        else:
            sizes = [int(x) for x in a.tasks.split(",")]
            result["results"] = processes(a.data, tmp, a.repeats, sizes, a.baseline.resolve() if a.baseline else None,
                                          a.warmup)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    common.finish(result, a.out, report if a.in_process else report_processes,
                  lambda r: r["results"].get("ratios") or r["results"]["sizes"])
    return result


if __name__ == "__main__":
    main()
