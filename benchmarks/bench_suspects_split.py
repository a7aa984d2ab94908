"""CPU time of annover.loop.suspects at 1M rows (the benchmarks' canonical annotations, three
answers per task, and bench_loop's predictions), three runs in one process, median.

    python benchmarks/bench_suspects_split.py LABEL [DATA_DIR]   # LABEL names the run in the output
"""
import resource
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pyarrow.parquet as pq
from common import generate, CANONICAL_PARQUET
from bench_loop import make_predictions
out = Path(sys.argv[2] if len(sys.argv) > 2 else "benchmarks/out/loop-data")
if not (out / CANONICAL_PARQUET).exists():
    generate(out, 1_000_000)
ann = pq.read_table(out / CANONICAL_PARQUET)
preds = make_predictions(ann, 7)
from annover.loop.suspects import suspects
times = []
for _ in range(3):
    t0 = resource.getrusage(resource.RUSAGE_SELF); t0 = t0.ru_utime + t0.ru_stime
    r = suspects(ann, preds, limit=20)
    t1 = resource.getrusage(resource.RUSAGE_SELF); t1 = t1.ru_utime + t1.ru_stime
    times.append(t1 - t0)
print(sys.argv[1], "cpu s", [round(t, 2) for t in times], "median", round(statistics.median(times), 2), "total", r.total, r.counts)
