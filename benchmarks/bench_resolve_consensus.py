"""``annover export --format coco --resolve consensus`` of a version of boxes: 10,000 images, each
boxed by three annotators (five boxes each, a few moved or relabeled: bench_suspects_regions.py's
generator), against ``--resolve latest`` of the same version (one answer per image, no pairing):
wall and child CPU of each command, three runs alternating, medians.

    python benchmarks/bench_resolve_consensus.py LABEL [WORK_DIR]   # LABEL names the run in the output

The export and the repository are made once per WORK_DIR and reused, so two checkouts of annover
can be timed on the same version.
"""
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_suspects_regions import export, repo_of


def _timed(args: list[str], repo: Path, env: dict) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "annover", *args], cwd=repo, env=env, capture_output=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    label = sys.argv[1]
    work = Path(sys.argv[2] if len(sys.argv) > 2 else "benchmarks/out/resolve-consensus")
    repo, env = repo_of(work, lambda: export(10_000, three_every=1))
    runs: dict[str, list[tuple[float, float]]] = {"consensus": [], "latest": []}
    for _ in range(3):
        for rule in runs:
            out = str(work / f"{rule}.json")
            runs[rule].append(_timed(["export", "--format", "coco", "--resolve", rule, "-o", out, "--force", "-q"],
                                     repo, env))
    line = [label]
    for rule, ts in runs.items():
        walls = [round(w, 2) for w, _ in ts]
        line += [f"{rule}: wall s", walls, "median", round(statistics.median(w for w, _ in ts), 2),
                 "cpu s median", round(statistics.median(c for _, c in ts), 2), "|"]
    print(*line)


if __name__ == "__main__":
    main()
