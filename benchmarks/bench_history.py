"""The daily commands in a repository of many versions: how `annover log`, `status` and `show`
grow with the versions, next to git's own `git log` of the same commits.

A daily labeling loop makes a version a day: after a year, hundreds. Each command runs in a
new process, several times after a warm-up, in a repository of a few versions and in one of
``--versions`` versions (small ones: 50 tasks each, one label changed a round; the time is the
history's, not the data's), each version tagged ``vN`` as a snapshot tags it. Reported: the
median per command at each size, the growth from the small repository to the large, and the
ratio to `git log --oneline` of the same repository.

    python benchmarks/bench_history.py                       # 200 versions, 10 repeats
    python benchmarks/bench_history.py --versions 500 --repeats 5
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

CONFIG = ('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
          '<Choice value="a"/><Choice value="b"/><Choice value="c"/></Choices></View>')
SMALL = 3


def make_repo(work: Path, name: str, versions: int) -> Path:
    """A repository of ``versions`` versions of 50 tasks, one label changed each round."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import annover

    root = common.fresh_repo(work, name)
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


def commands(exe: str, mid: int) -> dict[str, list[str]]:
    return {
        "git log --oneline": ["git", "log", "--oneline"],
        "annover log": [exe, "log"],
        "annover log -n 5": [exe, "log", "-n", "5"],
        "annover log --json": [exe, "log", "--json"],
        "annover status": [exe, "status"],
        "annover status --no-remote": [exe, "status", "--no-remote"],
        f"annover show v{mid}": [exe, "show", f"v{mid}"],
        "annover tag": [exe, "tag"],
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--versions", type=int, default=200, help="versions of the large repository (default 200)")
    p.add_argument("--repeats", type=int, default=10, help="runs per command (median reported)")
    p.add_argument("--out", type=common._abspath, default=None, help="write metrics JSON here")
    p.add_argument("--tmp", type=common._abspath, default=None, help="parent folder for temporary repos")
    a = p.parse_args(argv)
    tmp = common.isolate_env(a.tmp)
    exe = common.annover_exe()
    result: dict = {"figure": "history", "versions": [SMALL, a.versions], "machine": common.machine(), "sizes": {}}
    try:
        for n in (SMALL, a.versions):
            common.log(f"== a repository of {n} versions ...")
            root = make_repo(tmp, f"r{n}", n)
            result["sizes"][n] = {name: common.time_command(args, a.repeats, cwd=root, warmup=2)
                                  for name, args in commands(exe, min(2, n)).items()}
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
    return out


def report(result: dict) -> str:
    small, large = result["versions"]
    rows = []
    for (name, s), t in zip(result["sizes"][small].items(), result["sizes"][large].values()):
        git = result["sizes"][large]["git log --oneline"]["median_s"]
        per = (t["median_s"] - s["median_s"]) / (large - small) * 1e3
        rows.append([_plain(name), f"{s['median_s']:.3f}", f"{t['median_s']:.3f}",
                     f"{t['median_s'] / s['median_s']:.2f}x", f"{per:.2f}", f"{t['median_s'] / git:.0f}x"])
    first = next(iter(result["sizes"][large].values()))
    return "\n".join([f"process wall time, median of {first['repeats']} runs, seconds",
                      common.markdown_table(["command", f"{small} versions", f"{large} versions", "growth",
                                             "ms per version", "vs git log"], rows)])


if __name__ == "__main__":
    main()
