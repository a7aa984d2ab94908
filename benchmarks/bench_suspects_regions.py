"""``annover suspects`` of a version of boxes: a generated Label Studio export of 20,000 answers
of five boxes each (100,000 labeled regions: 12,000 images, a third of them boxed by three
annotators) and a detector's 60,000 predicted boxes (per-box scores), snapshotted into a new
repository; then the command timed (wall and child CPU, peak memory), three runs, median.

    python benchmarks/bench_suspects_regions.py LABEL [WORK_DIR]   # LABEL names the run in the output
    python benchmarks/bench_suspects_regions.py LABEL WORK_DIR --two   # a third boxed by two annotators

``--two``: the multi-annotator third boxed by two annotators (their disagreements: ``split``), and
``annover sample --strategy disagreement --n 100 --no-record`` (1 - each task's region F1) timed too.

The export and the repository are made once per WORK_DIR and reused (the same seed gives the same
export), so two checkouts of annover can be timed on the same version.
"""
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

LABELS = ["car", "person", "bicycle", "dog"]
CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
""" + "".join(f'    <Label value="{x}"/>\n' for x in LABELS) + """  </RectangleLabels>
</View>
"""


def _box(rng: random.Random, x: float, y: float, label: str, rid: str, jitter: float) -> dict:
    return {"id": rid, "from_name": "label", "to_name": "image", "type": "rectanglelabels",
            "original_width": 640, "original_height": 480, "image_rotation": 0,
            "value": {"x": x + rng.uniform(-jitter, jitter), "y": y + rng.uniform(-jitter, jitter), "width": 12,
                      "height": 15, "rotation": 0, "rectanglelabels": [label]}}


def export(n_tasks: int = 12_000, seed: int = 5, three_every: int = 3, many: int = 3) -> list[dict]:
    """The export: every ``three_every``-th task boxed by ``many`` annotators, the others by one."""
    rng = random.Random(seed)
    out = []
    for i in range(n_tasks):
        objects = [(rng.uniform(0, 85), rng.uniform(0, 80), rng.choice(LABELS)) for _ in range(5)]
        who = ["ann1@example.com", "ann2@example.com", "ann3@example.com"][:many] if i % three_every == 0 else \
            [f"ann{1 + i % 3}@example.com"]
        anns = []
        for k, email in enumerate(who):
            boxes = []
            for j, (x, y, lab) in enumerate(objects):
                if rng.random() < 0.05:  # a box left out; another drawn where nothing is
                    x, y = rng.uniform(0, 85), rng.uniform(0, 80)
                if rng.random() < 0.05:
                    lab = rng.choice(LABELS)
                boxes.append(_box(rng, x, y, lab, f"a{i}-{k}-{j}", 1.0))
            anns.append({"id": 10 * i + k, "completed_by": {"id": k + 1, "email": email}, "result": boxes,
                         "was_cancelled": False, "ground_truth": False,
                         "created_at": f"2026-11-{1 + i % 28:02d}T10:00:{k:02d}Z",
                         "updated_at": f"2026-11-{1 + i % 28:02d}T10:00:{k:02d}Z"})
        pred = []
        for j, (x, y, lab) in enumerate(objects):
            b = _box(rng, x, y, lab if rng.random() > 0.05 else rng.choice(LABELS), f"p{i}-{j}", 2.0)
            b["score"] = round(rng.uniform(0.5, 1.0), 3)
            pred.append(b)
        out.append({"id": i + 1, "data": {"image": f"s3://bucket/img{i:06d}.jpg"}, "annotations": anns,
                    "predictions": [{"model_version": "detector-v1", "score": 0.9, "result": pred}]})
    return out


def repo_of(work: Path, make_export: Callable[[], list[dict]]) -> tuple[Path, dict]:
    """The repository in ``work`` (made once, of ``make_export()`` snapshotted) and the environment
    that runs this checkout's annover."""
    repo = work / "repo"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    if not (repo / ".annover").exists():
        repo.mkdir(parents=True, exist_ok=True)
        (work / "boxes.json").write_text(json.dumps(make_export()))
        (work / "boxes.xml").write_text(CONFIG)
        for args in (["init"], ["snapshot", "--from", str(work / "boxes.json"), "--config", str(work / "boxes.xml"),
                                "-m", "boxes", "-q"]):
            subprocess.run([sys.executable, "-m", "annover", *args], cwd=repo, env=env, check=True)
    return repo, env


def main() -> None:
    label, two = sys.argv[1], "--two" in sys.argv
    args = [a for a in sys.argv[2:] if a != "--two"]
    repo, env = repo_of(Path(args[0] if args else "benchmarks/out/suspects-regions"),
                        (lambda: export(many=2)) if two else export)
    timed(label, repo, env, ["suspects", "-q"])
    if two:
        timed(label, repo, env, ["sample", "--strategy", "disagreement", "--n", "100", "--no-record", "-q"])


def timed(label: str, repo: Path, env: dict, command: list[str]) -> None:
    """``annover COMMAND`` in ``repo``, three runs: wall and child CPU (median), peak memory."""
    walls, cpus = [], []
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "annover", *command], cwd=repo, env=env,
                           capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(label, command[0], "wall s", [round(t, 2) for t in walls], "median", round(statistics.median(walls), 2),
          "cpu s median", round(statistics.median(cpus), 2), f"peak {peak:.0f} MB", "|",
          p.stdout.splitlines()[0] if p.stdout else "", "|", p.stderr.strip().replace("\n", " / ")[:300])


if __name__ == "__main__":
    main()
