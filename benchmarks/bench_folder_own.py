"""What the check that a YOLO import reads nothing outside its folder (annover.formats.folder) costs:
``yolo.read`` of a folder of N label files with the check and with it replaced by the identity,
alternated in one process, CPU time (user + system), medians.

    python benchmarks/bench_folder_own.py --files 20000 --rounds 9
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
from pathlib import Path

from annover.formats import folder, yolo


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "labels" / "train").mkdir(parents=True)
        (root / "classes.txt").write_text("a\nb\n")
        for i in range(args.files):
            (root / "labels" / "train" / f"{i}.txt").write_text("0 0.5 0.5 0.1 0.1\n1 0.2 0.2 0.1 0.1\n")
        yolo.read(root)  # the page cache and the imports warm
        own = folder.Folder.own
        off, on = [], []
        for _ in range(args.rounds):
            folder.Folder.own = lambda self, f: f  # type: ignore[method-assign]
            t = cpu()
            yolo.read(root)
            off.append(cpu() - t)
            folder.Folder.own = own  # type: ignore[method-assign]
            t = cpu()
            yolo.read(root)
            on.append(cpu() - t)
        print(f"{args.files} label files: yolo.read without the check {statistics.median(off):.3f} s, "
              f"with it {statistics.median(on):.3f} s CPU (medians of {args.rounds})")


if __name__ == "__main__":
    main()
