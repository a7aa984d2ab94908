"""The daily commands in a repository of many versions: how `annover log`, `status` and `show`
grow with the versions, next to git's own `git log` of the same commits.
`status` is timed as it runs day to day (what it remembers of each commit read before kept
in the git dir) and with that removed first (the first status after a clone).

A daily labeling loop makes a version a day: after a year, hundreds. Each command runs in a
new process, several times after a warm-up, in a repository of a few versions and in one of
``--versions`` versions (small ones: 50 tasks each, one label changed a round; the time is the
history's, not the data's), each version tagged ``vN`` as a snapshot tags it. Reported: the
median per command at each size, the growth from the small repository to the large, and the
ratio to `git log --oneline` of the same repository.

A third repository holds a long history of commits that are not annover's (``--code-commits``,
default 20,000: a code project's, made with ``git fast-import``), then ``--code-versions``
versions: what annover pays per commit that is not its own. ``annover gc -n`` (the dry run) is
timed in each repository too.

    python benchmarks/bench_history.py                       # 200 versions, 10 repeats
    python benchmarks/bench_history.py --versions 500 --repeats 5
    python benchmarks/bench_history.py --code-commits 0      # no long-history repository
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from annover.store.memo import MEMO_FILE  # noqa: E402

CONFIG = ('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
          '<Choice value="a"/><Choice value="b"/><Choice value="c"/></Choices></View>')
SMALL = 3


def make_repo(work: Path, name: str, versions: int, root: Path | None = None) -> Path:
    """A repository of ``versions`` versions of 50 tasks, one label changed each round (in the
    repository ``root`` when given, else a new one)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import annover

    root = root or common.fresh_repo(work, name)
    (work / "labeling.xml").write_text(CONFIG)
    labels = ["a"] * 50
    repo = annover.Repo(root)
    with common.chdir(root):
        for i in range(versions):
            labels[i % 50] = "abc"[(i // 50 + 1) % 3]
            src = work / f"{name}.parquet"
            pq.write_table(pa.table({"task_key": [f"t{j}" for j in range(50)], "label": labels,
                                     "annotator": ["me@example.com"] * 50}), src)
            repo.snapshot(str(src), config=str(work / "labeling.xml") if i == 0 else None, message=f"round {i}")
            if versions > 20 and i % 50 == 0:
                common.log(f"   {i}/{versions} versions")
    return root


def code_history(root: Path, commits: int) -> None:
    """``commits`` commits of a code project (one of 200 files changed each) on ``main`` of a
    new git repository at ``root``, made by one ``git fast-import``, and checked out."""
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    chunks = []
    for i in range(commits):
        body = f"line {i}\n".encode()
        msg = f"code change {i}\n".encode()
        chunks.append(b"commit refs/heads/main\n" + f"mark :{i + 1}\n".encode()
                      + f"committer Dev <dev@example.invalid> {1_600_000_000 + i * 60} +0000\n".encode()
                      + f"data {len(msg)}\n".encode() + msg
                      + (f"from :{i}\n".encode() if i else b"")
                      + f"M 644 inline src/f{i % 200}.txt\ndata {len(body)}\n".encode() + body + b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(chunks), check=True)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=root, check=True)


def make_code_repo(work: Path, name: str, commits: int, versions: int) -> Path:
    """A repository of ``commits`` code commits, then annover's ``init`` and ``versions`` versions."""
    import annover

    root = work / name
    code_history(root, commits)
    annover.init(root)
    return make_repo(work, name, versions, root)


def commands(exe: str, mid: int) -> dict[str, list[str]]:
    return {
        "git log --oneline": ["git", "log", "--oneline"],
        "annover log": [exe, "log"],
        "annover log -n 5": [exe, "log", "-n", "5"],
        "annover log --json": [exe, "log", "--json"],
        "annover status": [exe, "status"],
        "annover status --no-remote": [exe, "status", "--no-remote"],
        # what status remembers of each commit (the git dir's annover-commits) removed first: the
        # first status after a clone, or after a history of other commits was fetched
        "annover status, nothing remembered": ["sh", "-c", f'rm -f "$(git rev-parse --git-dir)/{MEMO_FILE}" && '
                                               f'exec "$0" status', exe],
        f"annover show v{mid}": [exe, "show", f"v{mid}"],
        "annover tag": [exe, "tag"],
        "annover gc -n": [exe, "gc", "-n"],
    }


def _run(args: list[str], cwd: Path, env: dict | None) -> tuple[float, float]:
    """(wall, CPU) seconds of one process: CPU is user + system of it and its children (git)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read() if p.stderr else b""
    _, status, usage = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {err.decode(errors='replace')[-2000:]}")
    return dt, usage.ru_utime + usage.ru_stime


def time_command(args: list[str], repeats: int, cwd: Path, warmup: int,
                 baseline: tuple[dict, Path] | None = None) -> dict:
    """:func:`common.time_command`, with the CPU time (user + system) of the process and its own
    children (git) as ``cpu_median_s``: on a machine others load, wall time moves by several times
    from one run to the next, CPU time far less. With ``baseline`` (the environment naming the other
    code, and its copy of the repository), each repeat runs the baseline first, then this code."""
    walls, cpus, base_cpus = [], [], []
    for r in range(-warmup, repeats):
        if baseline is not None:
            _, cpu = _run(args, baseline[1], baseline[0])
            if r >= 0:
                base_cpus.append(cpu)
        dt, cpu = _run(args, cwd, None)
        if r >= 0:
            walls.append(dt)
            cpus.append(cpu)
    out = {**common.summarize(walls), "cpu_median_s": round(statistics.median(cpus), 6),
           "cpu_samples_s": [round(c, 6) for c in cpus]}
    if base_cpus:
        out["baseline_cpu_median_s"] = round(statistics.median(base_cpus), 6)
    return out


def _baseline(code: Path | None, root: Path) -> tuple[dict, Path] | None:
    """The environment that runs ``code`` (a checkout of annover, first on PYTHONPATH), and a copy
    of ``root`` for it: what each remembers in the git dir stays its own."""
    if code is None:
        return None
    copy = root.with_name(root.name + "-baseline")
    if not copy.exists():
        shutil.copytree(root, copy, symlinks=True)
    return {**os.environ, "PYTHONPATH": str(code)}, copy


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--versions", type=int, default=200, help="versions of the large repository (default 200)")
    p.add_argument("--code-commits", type=int, default=20000,
                   help="commits not annover's before the versions of the long-history repository (0: none)")
    p.add_argument("--code-versions", type=int, default=SMALL, help="versions after those commits (default 3)")
    p.add_argument("--repeats", type=int, default=10, help="runs per command (median reported)")
    p.add_argument("--baseline", type=common._abspath, default=None,
                   help="a checkout of other annover code: run alternately with this code, CPU medians of both")
    p.add_argument("--out", type=common._abspath, default=None, help="write metrics JSON here")
    p.add_argument("--tmp", type=common._abspath, default=None, help="parent folder for temporary repos")
    a = p.parse_args(argv)
    tmp = common.isolate_env(a.tmp)
    exe = common.annover_exe()
    result: dict = {"figure": "history", "versions": [SMALL, a.versions], "machine": common.machine(), "sizes": {},
                    "code_commits": a.code_commits, "code_versions": a.code_versions}
    try:
        for n in (SMALL, a.versions):
            common.log(f"== a repository of {n} versions ...")
            root = make_repo(tmp, f"r{n}", n)
            base = _baseline(a.baseline, root)
            result["sizes"][n] = {name: time_command(args, a.repeats, cwd=root, warmup=2, baseline=base)
                                  for name, args in commands(exe, min(2, n)).items()}
        if a.code_commits:
            common.log(f"== {a.code_commits} code commits, then {a.code_versions} versions ...")
            root = make_code_repo(tmp, "code", a.code_commits, a.code_versions)
            base = _baseline(a.baseline, root)
            result["code"] = {name: time_command(args, a.repeats, cwd=root, warmup=2, baseline=base)
                              for name, args in commands(exe, min(2, a.code_versions)).items()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    common.finish(result, a.out, report, metrics_view)
    return result


def _plain(name: str) -> str:
    return name.split(" v")[0] if name.startswith("annover show") else name


def metrics_view(result: dict) -> dict:
    small, large = result["versions"]
    out: dict = {}
    for n in (small, large):
        for name, t in result["sizes"][n].items():
            out[common.metric_key(f"{_plain(name)} {n} versions")] = t["median_s"]
    for name, t in result.get("code", {}).items():
        out[common.metric_key(f"{_plain(name)} {result['code_commits']} code commits")] = t["median_s"]
    return out


def _cpu(t: dict) -> str:
    """The CPU median, and the baseline's before it where there is one."""
    if "baseline_cpu_median_s" in t:
        return f"{t['baseline_cpu_median_s']:.3f} -> {t['cpu_median_s']:.3f}"
    return f"{t['cpu_median_s']:.3f}"


def report(result: dict) -> str:
    small, large = result["versions"]
    rows = []
    for (name, s), t in zip(result["sizes"][small].items(), result["sizes"][large].values()):
        git = result["sizes"][large]["git log --oneline"]["median_s"]
        per = (t["median_s"] - s["median_s"]) / (large - small) * 1e3
        cpu_per = (t["cpu_median_s"] - s["cpu_median_s"]) / (large - small) * 1e3
        rows.append([_plain(name), f"{s['median_s']:.3f}", f"{t['median_s']:.3f}",
                     f"{t['median_s'] / s['median_s']:.2f}x", f"{per:.2f}", f"{t['median_s'] / git:.0f}x",
                     _cpu(s), _cpu(t), f"{cpu_per:.2f}"])
    first = next(iter(result["sizes"][large].values()))
    out = [f"process wall time and CPU time (user + system, git's included), median of {first['repeats']} runs, "
           "seconds" + (" (CPU: baseline -> this code, alternated)" if "baseline_cpu_median_s" in first else ""),
           common.markdown_table(["command", f"{small} versions", f"{large} versions", "growth",
                                  "ms per version", "vs git log", f"CPU, {small}", f"CPU, {large}",
                                  "CPU ms per version"], rows)]
    if result.get("code"):
        n, v = result["code_commits"], result["code_versions"]
        rows = [[_plain(name), f"{s['median_s']:.3f}", f"{t['median_s']:.3f}", _cpu(s), _cpu(t)]
                for (name, s), t in zip(result["sizes"][small].items(), result["code"].values())]
        out += ["", f"{n} commits not annover's, then {v} versions, against {small} versions alone",
                common.markdown_table(["command", f"wall, {small} versions", f"wall, +{n} commits",
                                       f"CPU, {small} versions", f"CPU, +{n} commits"], rows)]
    return "\n".join(out)


if __name__ == "__main__":
    main()
