"""Wall and CPU time of each daily command, as a new process, next to git's and DVC's own.

A repository like a user's: `annover init`, the two sample rounds (examples/sentiment) with
their labeling config, a tag, and a boxes version made from the shared corpus (so that
`export --format coco` has something to export). Each command then runs N times as a new
process (after a warm-up run); the median wall time and the median CPU time (user + system
of the process and its children, from ``os.wait4``) are reported, with the ratio to the
baseline of its kind: `git status` for the commands that read the state, `git log` for the
history, `dvc status` for the ones that read the labels and for a snapshot (of the two sample
rounds in turn, so that each run makes a version). `dataset list` runs only with a Label Studio
server (LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY set). ``--baseline DIR`` runs each annover
command with DIR's code too (another checkout), alternately, for before/after figures. Each
annover command also runs once under ``python -X importtime``: how many modules it imports, and
how many of them are ``annover.formats`` modules (the readers and writers it loaded).

    python benchmarks/bench_cli_start.py                  # 5 runs of each
    python benchmarks/bench_cli_start.py --repeats 9 --only log,status
    python benchmarks/bench_cli_start.py --only "new config" --baseline ../old   # the SDK's check of a new config
    python benchmarks/bench_cli_start.py --importtime log # what `annover log` imports, heaviest first
    python benchmarks/bench_cli_start.py --baseline ../old-checkout   # each command with that code too
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Union

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "sentiment"
CORPUS = ROOT.parent / "shared" / "corpus" / "label-studio"
BOXES = "evalme_bbox_multi"
Argv = Union[list[str], Callable[[], list[str]]]


def make_repo(work: Path, exe: str, corpus: Path) -> Path:
    """init, round 1 and 2 of the sample (v1, v2), tag `good` on v2, a boxes version (v3)."""
    root = work / "repo"
    root.mkdir(parents=True)
    boxes = corpus / BOXES
    steps = [["init"],
             ["snapshot", "--from", str(SAMPLE / "round1.json"), "--config", str(SAMPLE / "labeling.xml"),
              "-m", "round 1", "-q"],
             ["snapshot", "--from", str(SAMPLE / "round2.json"), "-m", "round 2", "-q"],
             ["tag", "good", "v2"],
             ["snapshot", "--from", f"{boxes}.json", "--config", f"{boxes}.xml", "-m", "boxes", "-q"]]
    for step in steps:
        subprocess.run([exe, *step], cwd=root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return root


def commands(exe: str, dvc: str, out: Path) -> dict[str, tuple[Argv, str]]:
    """name -> (argv, or what makes it for each run; baseline name)."""
    a = [exe]

    def export(rev: str, fmt: str, to: Path) -> list[str]:
        resolve = [] if fmt == "jsonl" else ["--resolve", "latest"]
        return a + ["export", rev, "--format", fmt, "--out", str(to), "--force", *resolve]

    cmds = {
        "git status": (["git", "status"], ""),
        "git log": (["git", "log"], ""),
        "dvc status": ([dvc, "status"], ""),
        "annover --help": (a + ["--help"], "git status"),
        "annover status": (a + ["status"], "git status"),
        "annover log": (a + ["log"], "git log"),
        "annover show v2": (a + ["show", "v2"], "git log"),
        "annover diff v1 v2": (a + ["diff", "v1", "v2"], "dvc status"),
        "annover export v2 jsonl": (export("v2", "jsonl", out / "v2.jsonl"), "dvc status"),
        "annover export v2 hf": (export("v2", "hf", out / "v2-hf"), "dvc status"),
        "annover export v3 coco": (export("v3", "coco", out / "v3-coco"), "dvc status"),
        "annover tag": (a + ["tag"], "git log"),
        "annover tag --help": (a + ["tag", "--help"], "git status"),
        "annover config list": (a + ["config", "list"], "git status"),
        "annover config validate": (a + ["config", "validate", str(SAMPLE / "labeling.xml")], "git status"),
        "annover suspects v2": (a + ["suspects", "v2"], "dvc status"),
        "annover agreement v2": (a + ["agreement", "v2"], "dvc status"),
        "annover report v2": (a + ["report", "v2", "--out", str(out / "report.html"), "--force"], "dvc status"),
        "annover snapshot --dry-run": (a + ["snapshot", "--from", str(SAMPLE / "round2.json"), "--dry-run"],
                                       "dvc status"),
        "annover snapshot --help": (a + ["snapshot", "--help"], "git status"),
        "annover export --help": (a + ["export", "--help"], "git status"),
    }
    rounds = itertools.cycle(["round1.json", "round2.json"])  # a new version each run, whichever code runs it
    cmds["annover snapshot"] = (lambda: a + ["snapshot", "--from", str(SAMPLE / next(rounds)), "--config",
                                             str(SAMPLE / "labeling.xml"), "-m", "bench", "-q"], "dvc status")
    fresh = itertools.count()

    def new_config() -> list[str]:  # a config no verdict cache has seen: label-studio-sdk checks it
        path = out / f"new-{time.time_ns()}-{next(fresh)}.xml"
        text = (SAMPLE / "labeling.xml").read_text()
        path.write_text(text.replace("<View>", f'<View><Header value="{path.stem}"/>', 1))
        return a + ["config", "validate", str(path)]

    cmds["annover config validate (a new config)"] = (new_config, "git status")
    if os.environ.get("LABEL_STUDIO_URL") and os.environ.get("LABEL_STUDIO_API_KEY"):
        cmds["annover dataset list"] = (a + ["dataset", "list"], "dvc status")
    return cmds


def run_once(argv: Argv, cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU (user + system, the process and its children) seconds of one run."""
    args = argv() if callable(argv) else argv
    t0 = time.perf_counter()
    p = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    if p.stderr:
        p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {p.returncode}: {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def measure(args: Argv, cwd: Path, repeats: int, envs: list[dict[str, str] | None]) -> list[dict]:
    """Median wall and CPU of ``args`` under each of ``envs`` (one code each), runs alternated."""
    for env in envs:
        run_once(args, cwd, env)
    runs: list[list[tuple[float, float]]] = [[] for _ in envs]
    for _ in range(repeats):
        for i, env in enumerate(envs):
            runs[i].append(run_once(args, cwd, env))
    return [{"repeats": repeats, "wall_s": round(statistics.median(w for w, _ in r), 4),
             "cpu_s": round(statistics.median(c for _, c in r), 4), "best_wall_s": round(min(w for w, _ in r), 4)}
            for r in runs]


def modules_imported(argv: Argv, cwd: Path, env: dict[str, str] | None) -> dict[str, int]:
    """How many modules one run imports, and how many of them are annover.formats modules."""
    args = argv() if callable(argv) else argv
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "annover", *args[1:]], cwd=cwd, env=env,
                       capture_output=True, text=True)
    names = [m.group(1) for m in (re.match(r"import time:\s+\d+ \|\s+\d+ \| *(\S+)", line)
                                  for line in p.stderr.splitlines()) if m]
    return {"modules": len(names), "formats_modules": sum(n.startswith("annover.formats.") for n in names)}


def importtime(args: list[str], cwd: Path, top: int = 25) -> list[tuple[str, float]]:
    """Top-level packages a command imports, with their cumulative import ms (``python -X importtime``)."""
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "annover", *args], cwd=cwd, capture_output=True,
                       text=True)
    totals: dict[str, int] = {}
    for line in p.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(3)) <= 1:
            name = m.group(4).split(".")[0]
            totals[name] = totals.get(name, 0) + int(m.group(2))
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return [(name, round(us / 1000, 1)) for name, us in ranked]


def main(argv: list[str] | None = None) -> dict:
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.set_defaults(repeats=5)
    p.add_argument("--only", default="", help="comma-separated words a command's name must contain")
    p.add_argument("--importtime", default="", help="print what `annover ARGS` imports (ARGS: one string)")
    p.add_argument("--corpus", type=Path, default=CORPUS,
                   help="the shared corpus's label-studio folder (default: beside the project)")
    p.add_argument("--baseline", type=Path, default=None,
                   help="a checkout of other annover code: each command also runs with it (PYTHONPATH), alternately")
    a = p.parse_args(argv)
    tmp = common.isolate_env(a.tmp)
    exe = common.annover_exe()
    dvc_exe = Path(sys.executable).with_name("dvc")
    dvc = str(dvc_exe) if dvc_exe.exists() else "dvc"
    result: dict = {"figure": "cli_start", "machine": common.machine(), "commands": {}}
    try:
        common.log("== making a repository: two sample rounds, a tag, a boxes version ...")
        if not (a.corpus / f"{BOXES}.json").is_file():
            p.error(f"no {BOXES}.json in {a.corpus}: give the shared corpus's label-studio folder with --corpus")
        root = make_repo(tmp, exe, a.corpus.resolve())
        out = tmp / "out"
        out.mkdir()
        if a.importtime:
            for name, ms in importtime(a.importtime.split(), root):
                print(f"{ms:8.1f} ms  {name}")
            return result
        wanted = [w for w in a.only.split(",") if w]
        # this checkout's code, whatever annover the environment has installed
        this = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        for name, (args, base) in commands(exe, dvc, out).items():
            if wanted and not base == "" and not any(w in name for w in wanted):
                continue
            common.log(f"   {name} ...")
            envs = [this] + ([{**os.environ, "PYTHONPATH": str(a.baseline.resolve())}]
                             if a.baseline and name.startswith("annover") else [])
            now, *before = measure(args, root, a.repeats, envs)
            if name.startswith("annover"):
                for run, env in zip([now, *before], envs):
                    run.update(modules_imported(args, root, env))
            result["commands"][name] = {**now, "baseline": base, **({"before": before[0]} if before else {})}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    common.finish(result, a.out, report, metrics_view)
    return result


def metrics_view(result: dict) -> dict:
    out: dict = {}
    for name, t in result["commands"].items():
        out[common.metric_key(name) + "_wall"] = t["wall_s"]
        out[common.metric_key(name) + "_cpu"] = t["cpu_s"]
    return out


def report(result: dict) -> str:
    cmds = result["commands"]
    rows = []
    for name, t in cmds.items():
        base = cmds.get(t["baseline"])
        ratio = f"{t['wall_s'] / base['wall_s']:.1f}x {t['baseline']}" if base else ""
        was = t.get("before")
        rows.append([name, f"{t['wall_s']:.3f}", f"{t['cpu_s']:.3f}", ratio, _modules(t)]
                    + ([f"{was['wall_s']:.3f}", f"{was['cpu_s']:.3f}", _modules(was)] if was else ["", "", ""]))
    first = next(iter(cmds.values()), {"repeats": 0})
    return "\n".join([f"a new process per run, median of {first['repeats']} runs (after a warm-up), seconds",
                      common.markdown_table(["command", "wall", "cpu", "wall vs baseline", "modules (formats)",
                                             "--baseline code: wall", "cpu", "modules (formats)"], rows)])


def _modules(t: dict) -> str:
    return f"{t['modules']} ({t['formats_modules']})" if "modules" in t else ""


if __name__ == "__main__":
    main()
