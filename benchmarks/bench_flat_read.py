"""Reading a flat CSV and JSONL table (``annover.formats.flat.read_csv`` / ``read_jsonl_table``, the first
stage of a flat snapshot) against the same functions of other code, alternately, in the same run.

Each code runs in a worker process of its own (``PYTHONPATH`` set to its checkout), imports done before
timing; the cases alternate old, new, new, old... with the files in the page cache. Reported: the median
wall and CPU time of each, and the ratio new / old. Inputs (``--rows``, default 1,000,000, from
``common.generate``): ``flat.jsonl`` and the same rows as ``flat.csv``; ``--floats`` adds a float column
(``score``) to both, where an integer beyond 64 bits could have become a float.

    python benchmarks/bench_flat_read.py --baseline ../old-checkout --repeats 7
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pj

import common

#: the worker: reads a file per line of stdin with the reader the line names, prints its times as JSON
WORKER = """
import gc, json, sys, time
from pathlib import Path
from annover.formats.flat import read_csv, read_jsonl_table
import annover
readers = {"csv": read_csv, "jsonl": read_jsonl_table}
print(annover.__file__, flush=True)
for line in sys.stdin:
    kind, path = line.split(" ", 1)
    gc.collect()
    w, c = time.perf_counter(), time.process_time()
    table = readers[kind](Path(path.strip()))
    w, c = time.perf_counter() - w, time.process_time() - c
    print(json.dumps({"wall": w, "cpu": c, "rows": None if table is None else table.num_rows}), flush=True)
"""


def inputs(data: Path, tmp: Path, floats: bool) -> dict[str, tuple[str, Path]]:
    """case -> (reader, file): the generated JSONL and the same rows as CSV (with a float column: ``floats``)."""
    table = pj.read_json(data / common.FLAT_JSONL)
    if floats:
        table = table.append_column("score", pa.array(np.random.default_rng(1).random(table.num_rows)))
    jsonl, csv = tmp / "flat.jsonl", tmp / "flat.csv"
    with jsonl.open("w") as f:
        for batch in table.to_batches(100_000):
            f.writelines(json.dumps(r) + "\n" for r in batch.to_pylist())
    pcsv.write_csv(table, csv)
    return {"jsonl": ("jsonl", jsonl), "csv": ("csv", csv)}


def worker(code: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"}
    p = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=env, cwd=code)  # in the code's folder: "-c" puts the working folder first on the path
    imported = Path(p.stdout.readline().strip())
    assert imported.is_relative_to(code), f"{imported} is not of {code}"
    return p


def run(p: subprocess.Popen, kind: str, path: Path) -> dict:
    p.stdin.write(f"{kind} {path}\n")
    p.stdin.flush()
    return json.loads(p.stdout.readline())


def measure(cases: dict[str, tuple[str, Path]], codes: dict[str, Path], repeats: int) -> dict:
    procs = {name: worker(code) for name, code in codes.items()}
    out: dict[str, dict[str, list[dict]]] = {c: {n: [] for n in codes} for c in cases}
    try:
        for case, (kind, path) in cases.items():
            for n in procs:  # warm-up: the page cache and the readers' first call
                run(procs[n], kind, path)
            for r in range(repeats):
                for n in (list(procs) if r % 2 == 0 else list(procs)[::-1]):
                    out[case][n].append(run(procs[n], kind, path))
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait()
    return out


def main(argv: list[str] | None = None) -> None:
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--baseline", type=common._abspath, required=True, help="a checkout of the code to compare with")
    p.add_argument("--floats", action="store_true", help="add a float column to both files")
    p.set_defaults(repeats=7)
    a = p.parse_args(argv)
    tmp = common.isolate_env(a.tmp)
    data, _ = common.ensure_data(a.data, a.rows, a.seed, tmp)
    cases = inputs(data, tmp, a.floats)
    out = measure(cases, {"old": a.baseline, "new": common.ROOT}, a.repeats)
    print(f"{a.rows:,} rows{' with a float column' if a.floats else ''}, {a.repeats} repeats, medians")
    print("| case | old wall / CPU | new wall / CPU | new / old wall, CPU | rows read by pyarrow (old, new) |")
    print("| --- | --- | --- | --- | --- |")
    for case, runs in out.items():
        med = {n: {k: statistics.median(r[k] for r in runs[n]) for k in ("wall", "cpu")} for n in runs}
        o, n = med["old"], med["new"]
        print(f"| {case} ({cases[case][1].stat().st_size / 1e6:.1f} MB) | {o['wall']:.3f} / {o['cpu']:.3f} s | "
              f"{n['wall']:.3f} / {n['cpu']:.3f} s | {n['wall'] / o['wall']:.2f}x, {n['cpu'] / o['cpu']:.2f}x | "
              f"{runs['old'][0]['rows']}, {runs['new'][0]['rows']} |")
    print(f"load average at the end: {os.getloadavg()}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
