"""Benchmark ``annover diff`` against a plain DuckDB full outer join of the same Parquet parts.

Builds a real repository (git + DVC) holding three versions of an annotations table of
``--rows`` rows (two regions per task: a choice and a box, one answer per task):

    v1  the base
    v2  1% of the rows changed (relabels, moved boxes), 0.5% removed, 0.5% added,
        spread over the whole table ("scattered": every part differs)
    v3  the same amounts of change inside a small range of task keys ("clustered":
        most parts are shared with v1, so the fast path can skip them)

and, for v1 -> v2 and v1 -> v3, times in one run:

    duckdb join       a full outer join on the keys of the two versions' Parquet parts,
                      comparing every content column (counts only / every differing row)
    annover (lib)     repo.diff(A, B) in process (summary + full row table)
    annover (CLI)     `annover diff A B --json`, `--output rows.parquet`, `--rows --limit 0`
                      as separate processes, with their peak RSS

The duckdb join of the annotations parts is the figure's floor ("vs duckdb join"). It
does less than the diff: annover also compares the two versions' tasks tables (tasks
added, removed, data changed) and re-hashes every part it reads. So a second floor does
the same comparisons ("vs same work"): the join of the annotations parts plus the same
join of the tasks parts, in process for the library, and as a new process (interpreter,
imports and all) for the CLI.

Peak memory is compared with the in-memory (Arrow) size of the two tables.

    python benchmarks/bench_diff.py                 # 1,000,000 rows, 5 interleaved runs, medians
    python benchmarks/bench_diff.py --rows 100000   # a quick run
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import annover
from annover.store.objects import ObjectRef
from annover.store.snapshots import read_manifest

ANNOTATORS = 20
CHOICES = ["positive", "negative", "neutral"]
BOXES = ["cat", "dog", "bird", "car", "tree"]
CONTENT = ["annotator", "from_name", "to_name", "type", "labels", "value", "region", "was_cancelled",
           "ground_truth", "lead_time", "extra"]
KEYS = ["task_key", "annotation_key", "region_key"]
TASK_CONTENT = ["data", "data_hash", "extra"]


# ---------------------------------------------------------------------------
# data


def _strs(x: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(x), pa.string())


def _task_keys(idx: np.ndarray, suffix: str = "") -> pa.Array:
    padded = pc.utf8_lpad(_strs(idx), 8, "0")
    return pc.binary_join_element_wise("task-", padded, pa.scalar(suffix), "")


def make_rows(task_keys: pa.Array, rng: np.random.Generator, ids: np.ndarray) -> dict[str, np.ndarray | pa.Array]:
    """Two rows per task (a choice, a box), in key order within each task, as columns."""
    n = len(task_keys)
    who = rng.integers(0, ANNOTATORS, n)
    return {
        "task_key": task_keys, "id": ids, "annotator": who,
        "choice": rng.integers(0, len(CHOICES), n), "box": rng.integers(0, len(BOXES), n),
        "x": rng.integers(0, 80, n), "y": rng.integers(0, 80, n), "w": rng.integers(5, 20, n),
        "h": rng.integers(5, 20, n), "lead": rng.random(n) * 60,
    }


def to_table(c: dict) -> pa.Table:
    """The canonical annotations columns of tasks described by ``c`` (two rows per task)."""
    n = len(c["task_key"])
    rep = lambda a: np.repeat(a, 2)  # noqa: E731
    kind = np.tile(np.array([0, 1]), n)  # 0 = box row ("b"), 1 = choice row ("c"): sorted region keys
    task_key = pc.take(c["task_key"], pa.array(rep(np.arange(n))))
    ident = _strs(rep(c["id"]))
    region_key = pc.if_else(pa.array(kind == 1),
                            pc.binary_join_element_wise("r", ident, "c/sentiment", ""),
                            pc.binary_join_element_wise("r", ident, "b/objects", ""))
    annotator = pc.binary_join_element_wise("annotator", pc.utf8_lpad(_strs(rep(c["annotator"])), 2, "0"),
                                            "@example.com", "")
    choice = pc.take(pa.array(CHOICES), pa.array(rep(c["choice"])))
    boxlab = pc.take(pa.array(BOXES), pa.array(rep(c["box"])))
    label = pc.if_else(pa.array(kind == 1), choice, boxlab)
    box_value = pc.binary_join_element_wise(
        '{"height":', _strs(rep(c["h"])), ',"rectanglelabels":["', boxlab, '"],"rotation":0,"width":',
        _strs(rep(c["w"])), ',"x":', _strs(rep(c["x"])), ',"y":', _strs(rep(c["y"])), "}", "")
    choice_value = pc.binary_join_element_wise('{"choices":["', choice, '"]}', "")
    offsets = pa.array(np.arange(2 * n + 1, dtype=np.int32))
    return pa.table({
        "task_key": task_key,
        "annotation_key": pc.binary_join_element_wise(annotator, "#0", ""),
        "region_key": region_key,
        "annotator": annotator,
        "from_name": pc.if_else(pa.array(kind == 1), "sentiment", "objects"),
        "to_name": pc.if_else(pa.array(kind == 1), "text", "image"),
        "type": pc.if_else(pa.array(kind == 1), "choices", "rectanglelabels"),
        "labels": pa.ListArray.from_arrays(offsets, label),
        "value": pc.if_else(pa.array(kind == 1), choice_value, box_value),
        "was_cancelled": pa.array(np.zeros(2 * n, dtype=bool)),
        "ground_truth": pa.array(np.zeros(2 * n, dtype=bool)),
        "lead_time": pa.array(np.round(rep(c["lead"]), 3)),
        "position": pa.array(1 - kind.astype(np.int32)),
        "created_at": pa.array(["2026-01-01T00:00:00Z"] * (2 * n)),
        "updated_at": pa.array(["2026-01-01T00:00:00Z"] * (2 * n)),
    })


def edit(base: dict, rows: int, rng: np.random.Generator, window: tuple[int, int] | None) -> pa.Table:
    """1% of rows changed, 0.5% removed, 0.5% added; inside task range ``window`` if given."""
    n = len(base["task_key"])
    lo, hi = window or (0, n)
    c = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in base.items()}
    n_change, n_remove, n_add = rows // 100, rows // 200, rows // 200
    pick = rng.choice(np.arange(lo, hi), size=n_change + n_remove, replace=False)
    changed, removed = pick[:n_change], pick[n_change:]
    # a changed "row": half relabel the choice, half move the box (one field per task row)
    half = len(changed) // 2
    c["choice"][changed[:half]] = (c["choice"][changed[:half]] + 1) % len(CHOICES)
    c["x"][changed[half:]] = c["x"][changed[half:]] + 1
    table = to_table(c)
    # removals: drop single rows (the box row of some tasks, the choice row of others)
    drop = np.zeros(table.num_rows, dtype=bool)
    drop[2 * removed[: len(removed) // 2]] = True
    drop[2 * removed[len(removed) // 2:] + 1] = True
    table = table.filter(pa.array(~drop))
    # additions: new tasks (two rows each) whose keys sort inside the window
    k = n_add // 2
    at = np.sort(rng.choice(np.arange(lo, hi), size=k, replace=False))
    new = make_rows(_task_keys(at, "-new"), rng, 10_000_000 + np.arange(k))
    return pa.concat_tables([table, to_table(new)])


# ---------------------------------------------------------------------------
# measuring


def duckdb_join(paths_a: list[str], paths_b: list[str], rows: bool,
                tasks: tuple[list[str], list[str]] | None = None) -> int:
    """The reference: a full outer join on keys of the two sets of Parquet parts.

    With ``tasks`` (the two versions' tasks parts), the same join of the tasks as well:
    the comparisons the diff makes. Returns the number of differing key rows.
    """
    con = duckdb.connect()
    out = _join(con, paths_a, paths_b, KEYS, CONTENT, rows)
    if tasks is not None:
        out += _join(con, tasks[0], tasks[1], ["task_key"], TASK_CONTENT, rows)
    con.close()
    return out


def _join(con, paths_a: list[str], paths_b: list[str], keys: list[str], content: list[str], rows: bool) -> int:
    lst = lambda ps: "[" + ", ".join(f"'{p}'" for p in ps) + "]"  # noqa: E731
    on = " AND ".join(f"a.{k} = b.{k}" for k in keys)
    differs = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in content)
    where = f"a.{keys[0]} IS NULL OR b.{keys[0]} IS NULL OR {differs}"
    src = f"read_parquet({lst(paths_a)}) AS a FULL OUTER JOIN read_parquet({lst(paths_b)}) AS b ON {on}"
    if rows:
        cols = ", ".join([f"a.{c} AS {c}_a, b.{c} AS {c}_b" for c in keys + content])
        rel = con.sql(f"SELECT {cols} FROM {src} WHERE {where}")
        return (getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table)().num_rows
    return con.sql(f"SELECT count(*) FROM {src} WHERE {where}").fetchall()[0][0]


# Peak RSS is read by a small wrapper process: a child forked from this (large) process
# would report this process's resident size as its own peak.
_WRAPPER = """import os, subprocess, sys, time
t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(p.pid, 0)
print(f"{os.waitstatus_to_exitcode(status)} {time.perf_counter() - t} {usage.ru_maxrss}", file=sys.stderr)
"""


def run_process(args: list[str], cwd: Path, env: dict) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one process."""
    p = subprocess.run([sys.executable, "-c", _WRAPPER, *args], cwd=cwd, env=env, capture_output=True, text=True)
    code, wall, rss_kb = p.stderr.strip().splitlines()[-1].split()
    if int(code) not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({code}): {p.stderr}")
    return float(wall), int(rss_kb) / 1024


def best_process(args: list[str], cwd: Path, env: dict, repeat: int) -> tuple[float, float]:
    runs = [run_process(args, cwd, env) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


# ---------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="annotation rows per version (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement, interleaved; medians count")
    ap.add_argument("--dir", help="work folder (default: a temporary one, removed afterwards)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-cli", action="store_true", help="in-process figures only (no new processes)")
    args = ap.parse_args()

    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="annover-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["ANNOVER_REMOTE_HOME"] = str(work / "remotes")  # the DVC remote stays in the work folder
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        results = bench(work, env, args)
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    print_table(results, args)


def bench(work: Path, env: dict, args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    tasks = args.rows // 2
    repo_dir = work / "repo"
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    log(f"building {args.rows:,} rows ({tasks:,} tasks) x 3 versions in {repo_dir}")
    t0 = time.perf_counter()
    from annover.store import snapshots

    snapshots.MIN_BASE_BYTES = 1 << 62  # versions written whole: a figure of parts (deltas: bench_storage.py)
    repo = annover.init(repo_dir)
    base = make_rows(_task_keys(np.arange(tasks)), rng, np.arange(tasks))
    window = (int(tasks * 0.40), int(tasks * 0.40) + max(args.rows // 50, 64))
    versions = {"v1": to_table(base), "v2": edit(base, args.rows, rng, None), "v3": edit(base, args.rows, rng, window)}
    for tag, table in versions.items():
        path = work / f"{tag}.parquet"
        pq.write_table(table, path)
        res = repo.snapshot(str(path), message=tag, tag=tag, validate=False)
        log(f"  {tag}: {res.version.record['tables']['annotations']['rows']:,} rows, "
            f"{len(read_manifest(repo.store, res.version.snapshot('annotations'))['parts'])} parts")
    log(f"  built in {time.perf_counter() - t0:.1f} s")

    def parts(tag: str, table: str = "annotations") -> list[str]:
        v = repo.show(tag)
        return [str(repo.store.locate(ObjectRef.from_json(p)))
                for p in read_manifest(repo.store, v.snapshot(table))["parts"]]

    def join_process(key: str, paths_a: list[str], paths_b: list[str], rows: bool, tasks=None) -> None:
        script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_diff as b; "
                  f"b.duckdb_join({paths_a!r}, {paths_b!r}, rows={rows}, tasks={tasks!r})")
        runs.setdefault(key, []).append(run_process([sys.executable, "-c", script], repo_dir, env))

    results: dict = {"load": [os.getloadavg()[0]]}
    for name, (a, b) in {"scattered": ("v1", "v2"), "clustered": ("v1", "v3")}.items():
        log(f"{name}: {a} -> {b}")
        pa_, pb_ = parts(a), parts(b)
        tasks_ab = (parts(a, "tasks"), parts(b, "tasks"))
        cli = [sys.executable, "-m", "annover", "diff", a, b]
        runs: dict[str, list] = {}

        def timed(key: str, fn) -> object:
            t = time.perf_counter()
            out = fn()
            runs.setdefault(key, []).append((time.perf_counter() - t, None))
            return out

        def proc(key: str, extra: list[str]) -> None:
            runs.setdefault(key, []).append(run_process(cli + extra, repo_dir, env))

        # one untimed round first, so that no measurement pays for first imports and cold caches;
        # then interleaved, so that a busy machine slows every measurement alike
        duckdb_join(pa_, pb_, rows=False, tasks=tasks_ab)
        repo.diff(a, b).rows
        for _ in range(args.repeat):
            n_join = timed("join_summary", lambda: duckdb_join(pa_, pb_, rows=False))
            res = timed("lib_summary", lambda: repo.diff(a, b))
            timed("join_rows", lambda: duckdb_join(pa_, pb_, rows=True))
            timed("lib_rows", lambda: repo.diff(a, b).rows)
            timed("same_summary", lambda: duckdb_join(pa_, pb_, rows=False, tasks=tasks_ab))
            timed("same_rows", lambda: duckdb_join(pa_, pb_, rows=True, tasks=tasks_ab))
            if args.no_cli:
                continue
            proc("cli_summary", ["--json"])
            proc("cli_output", ["--output", str(work / "rows.parquet"), "--force"])  # written again each repeat
            proc("cli_rows", ["--rows", "--limit", "0"])
            join_process("proc_summary", pa_, pb_, rows=False, tasks=tasks_ab)
            join_process("proc_rows", pa_, pb_, rows=True, tasks=tasks_ab)
        r: dict = {k: min(t for t, _ in v) for k, v in runs.items()}
        r["median"] = {k: sorted(t for t, _ in v)[len(v) // 2] for k, v in runs.items()}
        # each library run next to the join run just before it: a burst of load hits both
        r["paired"] = {k: sorted(x[0] / y[0] for x, y in zip(runs[f"lib_{k}"], runs[f"join_{k}"]))
                       for k in ("summary", "rows")}
        r.update({f"rss_{k[4:]}": max(m for _, m in v) for k, v in runs.items() if k.startswith("cli_")})
        if not args.no_cli:
            join_process("join_rss", pa_, pb_, rows=True)
            r["rss_join"] = runs.pop("join_rss")[0][1]
        s = res.summary
        r["changes"] = {k: s["regions"][k] for k in ("added", "removed", "changed")}
        r["answers"] = {k: s["annotations"][k] for k in ("added", "removed", "changed")}
        r["rows_out"] = res.rows.num_rows
        r["join_differing"] = n_join
        r["parts"] = s["parts"]
        results[name] = r
    # the fixed cost of a process: interpreter, annover, DuckDB, pyarrow; a diff that reads nothing
    results["idle"] = run_process([sys.executable, "-m", "annover", "diff", "v1", "v1", "--json"], repo_dir, env)
    results["load"].append(os.getloadavg()[0])
    results["tables_mb"] = {t: repo.read_table(t).nbytes / 2**20 for t in ("v1", "v2", "v3")}
    return results


def print_table(results: dict, args: argparse.Namespace) -> None:
    """Medians of the interleaved runs (best in brackets); ratios are of medians."""
    mb = results["tables_mb"]
    print(f"\n### annover diff, {args.rows:,} vs {args.rows:,} annotation rows "
          f"(1% changed, 0.5% removed, 0.5% added; median of {args.repeat} runs, best in brackets)\n")
    idle_s, idle_mb = results["idle"]
    print(f"In-memory size of the two tables: {mb['v1'] + mb['v2']:.0f} MB (v1+v2), "
          f"{mb['v1'] + mb['v3']:.0f} MB (v1+v3). {os.cpu_count()} CPUs, load average "
          f"{results['load'][0]:.1f} before the runs, {results['load'][1]:.1f} after. "
          f"A process that diffs a version with itself (reads nothing): {idle_s:.2f} s, {idle_mb:.0f} MB RSS.\n")
    print("| change | what | time (s) | vs duckdb join | vs same work | peak RSS (MB) | RSS / tables |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, pair in (("scattered", ("v1", "v2")), ("clustered", ("v1", "v3"))):
        r = results[name]
        m = r["median"]
        size = mb[pair[0]] + mb[pair[1]]
        rows = [
            ("duckdb join, counts", "join_summary", "join_summary", None, None),
            ("duckdb join, differing rows", "join_rows", "join_rows", None, r.get("rss_join")),
            ("duckdb join of annotations and tasks, counts", "same_summary", "join_summary", None, None),
            ("duckdb join of annotations and tasks, differing rows", "same_rows", "join_rows", None, None),
            ("the same, counts, as a new process", "proc_summary", "join_summary", None, None),
            ("the same, differing rows, as a new process", "proc_rows", "join_rows", None, None),
            ("repo.diff() in process, summary", "lib_summary", "join_summary", "same_summary", None),
            ("repo.diff() in process, summary + row table", "lib_rows", "join_rows", "same_rows", None),
            ("`annover diff --json` (new process)", "cli_summary", "join_summary", "proc_summary", r.get("rss_summary")),
            ("`annover diff --output rows.parquet`", "cli_output", "join_rows", "proc_rows", r.get("rss_output")),
            ("`annover diff --rows --limit 0`", "cli_rows", "join_rows", "proc_rows", r.get("rss_rows")),
        ]
        label = f"{name} ({r['parts']['compared']} parts read, {r['parts']['skipped']} skipped)"
        rows = [row for row in rows if row[1] in r]
        for i, (what, key, ref, same, rss) in enumerate(rows):
            print(f"| {label if i == 0 else ''} | {what} | {m[key]:.2f} ({r[key]:.2f}) | "
                  f"{m[key] / m[ref]:.2f}x ({r[key] / r[ref]:.2f}x) | "
                  f"{'' if same is None else f'{m[key] / m[same]:.2f}x'} | "
                  f"{'' if rss is None else f'{rss:.0f}'} | {'' if rss is None else f'{rss / size:.2f}'} |")
    for name in ("scattered", "clustered"):
        r = results[name]
        pr = {k: v[len(v) // 2] for k, v in r["paired"].items()}
        print(f"\n{name}: regions {r['changes']}, answers {r['answers']}, {r['rows_out']:,} diff rows; "
              f"the duckdb join finds {r['join_differing']:,} differing key rows. Each library run over the "
              f"join run before it, median of the {args.repeat} pairs: summary {pr['summary']:.2f}x, "
              f"summary + row table {pr['rows']:.2f}x.")


if __name__ == "__main__":
    main()
