"""Region pairing by shape (:func:`annover.diffing.match.match_regions`, what the diff, ``eval``,
``agreement`` and ``suspects`` pair leftover regions with), in process: images of K boxes each
whose regions all lost their keys on one side (a re-import without region ids: every box goes
to shape pairing), the boxes moved a little, a few relabeled. CPU time of pairing all images
(their shapes parsed first, not timed), against the floor of scoring each pair with
``shape_score`` in a plain loop (what pairing did before it scored at once), median of three.

    python benchmarks/bench_match_regions.py LABEL        # run from two checkouts to compare

Boxes per image: 5 (suspects' case, 20,000 images), 50 (1,000 images) and 200 (50 images).
"""
import json
import random
import statistics
import sys
import time

from annover.diffing.match import Region, match_regions
from annover.diffing.result import Options
from annover.model.geometry import shape_score


def images(n_images: int, k: int, seed: int = 7) -> list[tuple[list[Region], list[Region]]]:
    rng = random.Random(seed)
    out = []
    for i in range(n_images):
        a, b = [], []
        for j in range(k):
            x, y, w, h = rng.uniform(0, 90), rng.uniform(0, 90), rng.uniform(2, 10), rng.uniform(2, 10)
            for side, key, jitter in ((a, f"r{i}-{j}/label", 0.0), (b, f"~{i}-{j}", 0.5)):
                value = {"x": x + rng.uniform(-jitter, jitter), "y": y + rng.uniform(-jitter, jitter),
                         "width": w, "height": h, "rotation": 0, "rectanglelabels": ["car"]}
                side.append(Region(key, "label", ["car"], json.dumps(value)))
        out.append((a, b))
    return out


def _cpu(fn) -> float:
    times = []
    for _ in range(3):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times)


def main() -> None:
    label = sys.argv[1]
    opts = Options()
    for n_images, k in ((20_000, 5), (1_000, 50), (50, 200)):
        data = images(n_images, k)
        for a, b in data:
            for r in (*a, *b):
                r.shape()
        pairs = sum(len(match_regions(a, b, opts)[0]) for a, b in data)
        match = _cpu(lambda: [match_regions(a, b, opts) for a, b in data])
        floor = _cpu(lambda: [[shape_score(ra.shape(), rb.shape()) for ra in a for rb in b] for a, b in data])
        print(f"{label} {n_images} images x {k} boxes: match_regions {match:.2f} s CPU, "
              f"shape_score loop {floor:.2f} s ({match / floor:.2f}x), {pairs} pairs")


if __name__ == "__main__":
    main()
