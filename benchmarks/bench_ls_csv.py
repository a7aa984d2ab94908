"""`annover snapshot` of a Label Studio CSV export against pyarrow reading it and against JSON-MIN.

The input is what Label Studio's CSV export writes (``csv.DictWriter``, ``QUOTE_NONNUMERIC``,
columns sorted): task data (``text``, ``meta`` a JSON object), a Choices control
(``sentiment``, a bare string), a Labels control (``label``, a JSON list of spans), and
``annotator``, ``annotation_id``, ``created_at``, ``updated_at``, ``lead_time``; N rows
(three annotators per task) from a fixed seed. The same records go to a JSON-MIN file.

Cases, each a process, run round-robin so load hits all alike (ratio: median / median of
the floor in the same run), with each one's peak RSS:

- floor:    ``pyarrow.csv.read_csv`` of the file (a new interpreter importing pyarrow);
- csv:      ``annover snapshot --from FILE.csv --config labeling.xml`` on a fresh repository;
- json-min: the same records as JSON-MIN, ``annover snapshot --from FILE.json``.

``--profile`` adds one cProfile run of reading the CSV into tables (top functions).

    python benchmarks/bench_ls_csv.py --rows 200000 --repeats 3
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


CONFIG_XML = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
{choices}
  </Choices>
  <Labels name="label" toName="text">
    <Label value="PER"/><Label value="ORG"/><Label value="LOC"/>
  </Labels>
</View>
""".format(choices="\n".join(f'    <Choice value="{lab}"/>' for lab in common.LABELS))
WORDS = ("the", "goose", "neck", "needs", "coaxing", "to", "stay", "where", "you", "put", "it", "Berlin",
         "ACME", "Jake", "said", '"quoted"', "and,", "commas")


def records(rows: int, seed: int) -> list[dict]:
    """JSON-MIN records as Label Studio writes them: three per task, one unlabeled task in 50."""
    rng = random.Random(seed)
    out: list[dict] = []
    task = 0
    while len(out) < rows:
        task += 1
        text = f"review {task}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        data = {"id": task, "text": text, "meta": {"source": rng.choice(("web", "mail")), "n": rng.randint(0, 99)}}
        if task % 50 == 0:
            out.append(data)
            continue
        for k in range(3):
            start = rng.randint(0, max(0, len(text) - 5))
            spans = [{"start": start, "end": start + 4, "text": text[start:start + 4], "labels": [rng.choice(
                ("PER", "ORG", "LOC"))]} for _ in range(rng.randint(0, 2))]
            rec = {**data, "sentiment": rng.choices(common.LABELS, common.LABEL_P)[0],
                   "annotator": rng.randint(1, common.ANNOTATORS), "annotation_id": len(out) + 1,
                   "created_at": f"2024-05-{1 + k:02d}T10:00:{rng.randint(0, 59):02d}.123456Z",
                   "updated_at": f"2024-05-{1 + k:02d}T11:00:00.000000Z", "lead_time": round(rng.random() * 60, 3)}
            if spans:
                rec["label"] = spans
            out.append(rec)
    return out[:rows]


def write_inputs(folder: Path, rows: int, seed: int) -> tuple[Path, Path, Path]:
    """(CSV, JSON-MIN, config): the CSV as Label Studio's ``ExportToCSV`` writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    recs = records(rows, seed)
    header = sorted({k for r in recs for k in r} | {"annotation_id", "annotator", "created_at", "updated_at",
                                                     "lead_time"})
    csv_path = folder / "export.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header, quoting=csv.QUOTE_NONNUMERIC)
        w.writeheader()
        for r in recs:
            w.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else ("" if v is None else v)
                        for k, v in ((k, r.get(k)) for k in header)})
    min_path = folder / "export.json"
    min_path.write_text(json.dumps(recs), encoding="utf-8")
    cfg = folder / "labeling.xml"
    cfg.write_text(CONFIG_XML, encoding="utf-8")
    return csv_path, min_path, cfg


FLOOR = "import sys, pyarrow.csv as c; t = c.read_csv(sys.argv[1]); print(t.num_rows)"


def peak_rss(args: list[str], cwd: Path) -> int:
    """Peak RSS (MB) of one process, measured by GNU time where present, else -1."""
    gtime = shutil.which("time") or "/usr/bin/time"
    if not Path(gtime).exists():
        return -1
    p = subprocess.run([gtime, "-f", "%M", *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return int(p.stderr.decode().strip().splitlines()[-1]) // 1024 if p.returncode == 0 else -1


def measure(folder: Path, rows: int, seed: int, repeats: int) -> dict:
    csv_path, min_path, cfg = write_inputs(folder / "data", rows, seed)
    exe = common.annover_exe()
    cases = {
        "floor (pyarrow.csv)": lambda: ([sys.executable, "-c", FLOOR, str(csv_path)], folder),
        "annover csv": lambda: ([exe, "snapshot", "--from", str(csv_path), "--config", str(cfg), "-m", "b", "-q"],
                                common.fresh_repo(folder / "runs", f"r{time.monotonic_ns()}")),
        "annover json-min": lambda: ([exe, "snapshot", "--from", str(min_path), "--config", str(cfg), "-m", "b", "-q"],
                                     common.fresh_repo(folder / "runs", f"r{time.monotonic_ns()}")),
    }
    times: dict[str, list[float]] = {n: [] for n in cases}
    rss: dict[str, int] = {}
    names = list(cases)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            args, cwd = cases[name]()
            t0 = time.perf_counter()
            p = subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if p.returncode != 0:
                raise RuntimeError(f"{name} exited {p.returncode}: {p.stderr.decode(errors='replace')[-2000:]}")
            times[name].append(time.perf_counter() - t0)
            common.log(f"  run {r + 1}/{repeats}  {name:<22} {times[name][-1]:8.2f} s")
    for name in names:
        args, cwd = cases[name]()
        rss[name] = peak_rss(args, cwd)
    summary = {n: {**common.summarize(s), "peak_rss_mb": rss[n]} for n, s in times.items()}
    floor = summary["floor (pyarrow.csv)"]
    for s in summary.values():
        s["ratio"] = common.ratio(s, floor)
    return {"csv_mb": round(csv_path.stat().st_size / 1e6, 1), "cases": summary}


def profile(folder: Path, rows: int, seed: int, top: int = 25) -> str:
    """One cProfile run of reading the CSV into canonical tables (the snapshot's read stage)."""
    csv_path, _, cfg = write_inputs(folder / "data", rows, seed)
    return common.profile_read(csv_path, cfg, top)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--profile", action="store_true", help="print a cProfile of reading the CSV instead")
    a = p.parse_args(argv)
    tmp = common.isolate_env(None)
    try:
        if a.profile:
            print(profile(tmp, a.rows, a.seed))
            return
        result = measure(tmp, a.rows, a.seed, a.repeats)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{a.rows:,} rows, CSV {result['csv_mb']} MB, machine load {common.machine()['loadavg_at_start']}")
    print(common.markdown_table(["case", "median s", "x floor", "peak RSS MB"], [
        [n, s["median_s"], s["ratio"], s["peak_rss_mb"]] for n, s in result["cases"].items()]))


if __name__ == "__main__":
    main()
