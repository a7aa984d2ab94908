"""Wall time of `annover --help` and `annover log` next to `git --version` and `dvc --version`.

Each command runs in a new process, several times (after a warm-up run, so the OS
file cache is warm for all of them alike); the median is reported. `annover log` runs in
a small repository with a few versions. `python -c pass` is the interpreter's own floor.
`python -X importtime` then lists what the `annover log` and `annover --help` processes
import, and the heaviest imports.

    python benchmarks/bench_startup.py                   # 20 repeats
    python benchmarks/bench_startup.py --repeats 5
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

TARGET_HELP_S = 0.3
SMALL_ROWS = 3000
HEAVY = ("pyarrow", "numpy", "pandas", "dvc", "dvc_data", "dvc_objects", "scmrepo", "git", "label_studio_sdk",
         "rich", "duckdb", "pydantic", "requests", "httpx", "defusedxml")


def make_repo(work: Path) -> Path:
    """A small repository with three versions (inputs of 3,000 rows left in ``work/data``)."""
    import annover

    data = work / "data"
    common.generate(data, rows=SMALL_ROWS, seed=7)
    root = common.fresh_repo(work, "log")
    repo = annover.Repo(root)
    with common.chdir(root):
        repo.snapshot(str(data / common.FLAT_PARQUET), config=str(data / common.CONFIG), message="round 1")
        repo.snapshot(str(data / common.FLAT_V2_PARQUET), message="round 2")
        repo.snapshot(str(data / common.CANONICAL_PARQUET), message="back to round 1 labels")
    return root


def importtime(args: list[str], cwd: Path, top: int = 15) -> dict:
    """Parse ``python -X importtime`` of a command: total, heavy packages, top offenders."""
    p = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=cwd, capture_output=True, text=True)
    rows = []
    for line in p.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2, m.group(4)))
    total_us = sum(r[1] for r in rows if r[2] == 0)
    top_level = sorted((r for r in rows if r[2] == 0), key=lambda r: -r[1])[:top]
    self_top = sorted(rows, key=lambda r: -r[0])[:top]
    roots = {r[3].split(".")[0] for r in rows}
    heavy = {h: max((r[1] for r in rows if r[3] == h), default=None) for h in HEAVY if h in roots}
    return {
        "command": " ".join(["python", "-X", "importtime", *args]),
        "modules": len(rows),
        "import_total_ms": round(total_us / 1000, 1),
        "heavy_packages_ms": {k: (round(v / 1000, 1) if v is not None else None) for k, v in heavy.items()},
        "top_cumulative_ms": [[r[3], round(r[1] / 1000, 1)] for r in top_level],
        "top_self_ms": [[r[3], round(r[0] / 1000, 1)] for r in self_top],
    }


def main(argv: list[str] | None = None) -> dict:
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.set_defaults(repeats=20)
    a = p.parse_args(argv)
    tmp = common.isolate_env(a.tmp)
    exe = common.annover_exe()
    dvc = str(Path(sys.executable).with_name("dvc")) if Path(sys.executable).with_name("dvc").exists() else "dvc"
    result: dict = {"figure": "startup", "target_help_s": TARGET_HELP_S, "machine": common.machine(), "commands": {}}
    try:
        common.log("== making a small repository with three versions ...")
        root = make_repo(tmp)
        commands = {
            "annover --help": [exe, "--help"],
            "annover log": [exe, "log"],
            "git --version": ["git", "--version"],
            "dvc --version": [dvc, "--version"],
            "python -c pass": [sys.executable, "-c", "pass"],
            "annover --version": [exe, "--version"],
            "annover log --json": [exe, "log", "--json"],
            "annover show HEAD": [exe, "show", "HEAD"],
            "git log --oneline": ["git", "log", "--oneline"],
        }
        for name, args in commands.items():
            common.log(f"   {name} ...")
            result["commands"][name] = common.time_command(args, a.repeats, cwd=root, warmup=2)
        # the fixed cost of a CLI snapshot: a tiny input, alternating between two contents so
        # that each run makes a new version
        data = tmp / "data"
        inputs = [data / common.FLAT_PARQUET, data / common.FLAT_V2_PARQUET]
        name = f"annover snapshot ({SMALL_ROWS:,} rows)"
        common.log(f"   {name} ...")
        samples = []
        for i in range(-1, a.repeats):
            dt = common.time_command([exe, "snapshot", "--from", str(inputs[i % 2]), "-m", "small", "-q"], 1,
                                     cwd=root, warmup=0)["median_s"]
            if i >= 0:
                samples.append(dt)
        result["commands"][name] = common.summarize(samples)
        help_s = result["commands"]["annover --help"]["median_s"]
        result["help_meets_target"] = help_s < TARGET_HELP_S
        result["importtime"] = {
            "annover log": importtime(["-m", "annover", "log"], root),
            "annover --help": importtime(["-m", "annover", "--help"], root),
            f"annover snapshot ({SMALL_ROWS:,} rows)": importtime(
                ["-m", "annover", "snapshot", "--from", str(inputs[len(samples) % 2]), "-m", "importtime", "-q"], root),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    common.finish(result, a.out, report, metrics_view)
    return result


def metrics_view(result: dict) -> dict:
    out: dict = {"target_help_s": result["target_help_s"], "help_meets_target": result["help_meets_target"]}
    for name, t in result["commands"].items():
        out[common.metric_key(name)] = t["median_s"]
    for name, it in result["importtime"].items():
        out["importtime_ms_" + common.metric_key(name)] = it["import_total_ms"]
    return out


def report(result: dict) -> str:
    git = result["commands"]["git --version"]["median_s"]
    rows = [[name, f"{t['median_s']:.3f}", f"{t['best_s']:.3f}", f"{t['median_s'] / git:.1f}x"]
            for name, t in result["commands"].items()]
    first = next(iter(result["commands"].values()))
    text = [f"process wall time, median of {first['repeats']} runs, seconds "
            f"(target: annover --help < {result['target_help_s']} s: "
            f"{'met' if result['help_meets_target'] else 'MISSED'})",
            common.markdown_table(["command", "median", "best", "vs git --version"], rows)]
    for name, it in result["importtime"].items():
        text.append(f"\n{it['command']}: {it['modules']} modules, {it['import_total_ms']} ms of imports; "
                    f"heavy packages: {it['heavy_packages_ms'] or 'none'}")
        text.append(common.markdown_table(["top-level import", "cumulative ms"], it["top_cumulative_ms"][:10]))
        text.append(common.markdown_table(["module", "self ms"], it["top_self_ms"][:10]))
    return "\n".join(text)


if __name__ == "__main__":
    main()
