"""`annover snapshot` of a Label Studio JSON export (full and JSON-MIN) against a floor of reading it.

The input is what Label Studio's JSON export writes for a project of one config with a Text and
an Image object: N tasks (``id``, ``data`` with ``text``, ``image`` and ``meta``, ``created_at``,
``updated_at``, ``project``, counters, ``predictions``: []) whose ``annotations`` (``id``,
``completed_by``, ``result``, ``was_cancelled``, ``ground_truth``, times, ``lead_time``,
``task``, ``project``, ``updated_by``, ``prediction``: {}, ...) hold a Choices answer, spans of a
Labels control on the text and boxes of a RectangleLabels control on the image (result items
with ``id``, ``from_name``, ``to_name``, ``type``, ``origin``, ``value``; boxes with the image
size); one task in 10 unlabeled, one in 4 with two or three answers; from a fixed seed. The
same answers go to a JSON-MIN file as Label Studio's JSON-MIN export writes them.

Cases, each a new process, run round-robin so load hits all alike (ratio: median / median of
the floor in the same run), with each one's CPU time and peak RSS:

- floor:    ``orjson.loads`` of the full export and its result items built into a ``pyarrow``
            table (task id, annotation id, annotator, from_name, to_name, type, labels, the value
            as JSON): what reading the export into one table costs at least;
- json / json-min: ``annover snapshot --from FILE --config labeling.xml`` on a fresh repository;
- read json / read json-min: ``read_source`` alone, timed inside the process after its imports.

``--baseline CHECKOUT`` runs every annover case against that checkout too (its ``annover``
package first on ``PYTHONPATH``), alternating with this one, so old and new see the same load.
``--profile`` prints one cProfile of ``read_source`` of the full export instead.

    python benchmarks/bench_ls_json.py --tasks 100000 --repeats 3 --baseline ../annover-old
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHOICES = common.LABELS
SPANS = ("PER", "ORG", "LOC")
BOXES = ("car", "person", "bike")


def _labels(tag: str, values: tuple[str, ...]) -> str:
    return "".join(f'<{tag} value="{v}"/>' for v in values)


CONFIG_XML = f"""<View>
  <Text name="text" value="$text"/><Image name="image" value="$image"/>
  <Choices name="sentiment" toName="text" choice="single">{_labels("Choice", CHOICES)}</Choices>
  <Labels name="label" toName="text">{_labels("Label", SPANS)}</Labels>
  <RectangleLabels name="box" toName="image">{_labels("Label", BOXES)}</RectangleLabels>
</View>
"""
WORDS = ("the", "goose", "neck", "needs", "coaxing", "to", "stay", "where", "you", "put", "it", "Berlin",
         "ACME", "Jake", "said", '"quoted"', "and,", "naïve", "Zürich")
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"


def _region_id(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(10))


def _stamp(rng: random.Random, day: int) -> str:
    return f"2024-05-{day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}." \
           f"{rng.randint(0, 999999):06d}Z"


def _result(rng: random.Random, text: str) -> list[dict]:
    """One answer's result items: a choice, 0-2 spans, 0-3 boxes (as Label Studio's frontend writes them)."""
    out = [{"id": _region_id(rng), "type": "choices", "value": {"choices": [rng.choices(CHOICES, common.LABEL_P)[0]]},
            "origin": "manual", "to_name": "text", "from_name": "sentiment"}]
    for _ in range(rng.randint(0, 2)):
        start = rng.randint(0, max(0, len(text) - 5))
        out.append({"id": _region_id(rng), "type": "labels", "value": {
            "start": start, "end": start + 4, "text": text[start:start + 4], "labels": [rng.choice(SPANS)]},
            "origin": "manual", "to_name": "text", "from_name": "label"})
    for _ in range(rng.randint(0, 3)):
        out.append({"id": _region_id(rng), "type": "rectanglelabels", "value": {
            "x": rng.random() * 80, "y": rng.random() * 80, "width": rng.random() * 20, "height": rng.random() * 20,
            "rotation": 0, "rectanglelabels": [rng.choice(BOXES)]}, "origin": "manual", "to_name": "image",
            "from_name": "box", "image_rotation": 0, "original_width": 1280, "original_height": 720})
    return out


def _annotation(rng: random.Random, aid: int, tid: int, user: int, text: str, day: int) -> dict:
    created = _stamp(rng, day)
    return {
        "id": aid, "completed_by": user, "result": _result(rng, text), "was_cancelled": False,
        "ground_truth": False, "created_at": created, "updated_at": created, "draft_created_at": None,
        "lead_time": round(rng.random() * 60, 3), "prediction": {}, "result_count": 0, "unique_id": "%032x" % aid,
        "import_id": None, "last_action": None, "bulk_created": False, "task": tid, "project": 1,
        "updated_by": user, "parent_prediction": None, "parent_annotation": None, "last_created_by": None,
    }


def tasks(n: int, seed: int) -> list[dict]:
    """A full Label Studio JSON export of ``n`` tasks."""
    rng = random.Random(seed)
    out, aid = [], 0
    for tid in range(1, n + 1):
        text = f"review {tid}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14)))
        answers = 0 if tid % 10 == 0 else rng.choice((1, 1, 1, 2, 3) if tid % 4 == 0 else (1,))
        users = rng.sample(range(1, common.ANNOTATORS + 1), answers)
        anns = []
        for u in users:
            aid += 1
            anns.append(_annotation(rng, aid, tid, u, text, 1 + len(anns)))
        out.append({
            "id": tid, "annotations": anns, "file_upload": None, "drafts": [], "predictions": [],
            "data": {"text": text, "image": f"s3://bucket/images/{tid:07d}.jpg",
                     "meta": {"source": rng.choice(("web", "mail")), "n": rng.randint(0, 99)}},
            "meta": {}, "created_at": _stamp(rng, 1), "updated_at": _stamp(rng, 9), "inner_id": tid,
            "total_annotations": len(anns), "cancelled_annotations": 0, "total_predictions": 0,
            "comment_count": 0, "unresolved_comment_count": 0, "last_comment_updated_at": None,
            "project": 1, "updated_by": users[-1] if users else None, "comment_authors": [],
        })
    return out


def min_records(export: list[dict]) -> list[dict]:
    """The JSON-MIN export of the same tasks (Label Studio's ``ExportToJSONMin``)."""
    out = []
    for t in export:
        if not t["annotations"]:
            out.append({**t["data"], "id": t["id"]})
            continue
        for a in t["annotations"]:
            rec = {**t["data"], "id": t["id"]}
            by: dict[str, list] = {}
            for item in a["result"]:
                v = dict(item["value"])
                v.update({k: item[k] for k in ("original_width", "original_height") if k in item})
                by.setdefault(item["from_name"], []).append(v)
            for name, vals in by.items():
                rec[name] = vals[0]["choices"][0] if name == "sentiment" else vals
            rec.update({"annotator": a["completed_by"], "annotation_id": a["id"], "created_at": a["created_at"],
                        "updated_at": a["updated_at"], "lead_time": a["lead_time"]})
            out.append(rec)
    return out


def write_inputs(folder: Path, n: int, seed: int) -> tuple[Path, Path, Path, int]:
    """(full export, JSON-MIN export, config, answers) in ``folder`` (written once per size and seed)."""
    folder.mkdir(parents=True, exist_ok=True)
    full, mini, cfg, meta = (folder / f"export-{n}-{seed}.json", folder / f"export-min-{n}-{seed}.json",
                             folder / "labeling.xml", folder / f"meta-{n}-{seed}.json")
    if not meta.exists():
        export = tasks(n, seed)
        full.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
        mini.write_text(json.dumps(min_records(export), ensure_ascii=False), encoding="utf-8")
        answers = sum(len(t["annotations"]) for t in export)
        meta.write_text(json.dumps({"answers": answers}))
    cfg.write_text(CONFIG_XML, encoding="utf-8")
    return full, mini, cfg, json.loads(meta.read_text())["answers"]


FLOOR = """
import sys, orjson, pyarrow as pa
doc = orjson.loads(open(sys.argv[1], "rb").read())
cols = {k: [] for k in ("task", "annotation", "annotator", "from_name", "to_name", "type", "labels", "value")}
for t in doc:
    for a in t["annotations"]:
        for r in a["result"]:
            v = r["value"]
            for k, x in (("task", t["id"]), ("annotation", a["id"]), ("annotator", a["completed_by"]),
                         ("from_name", r["from_name"]), ("to_name", r["to_name"]), ("type", r["type"]),
                         ("labels", v.get(r["type"])), ("value", orjson.dumps(v, option=orjson.OPT_SORT_KEYS))):
                cols[k].append(x)
print(pa.table(cols).num_rows)
"""

READ = """
import sys, time
from annover.formats.read import read_source
from annover.model.config import LabelingConfig
config = LabelingConfig.from_file(sys.argv[2])
t0 = time.perf_counter()
t = read_source(sys.argv[1], config=config)
print(time.perf_counter() - t0, t.annotations.num_rows)
"""


def run(args: list[str], cwd: Path, env: dict) -> tuple[float, float, int, str]:
    """(wall s, CPU s, peak RSS MB, stdout) of one process; fails loudly if it fails."""
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(args)} exited {p.returncode}: {err.read().decode(errors='replace')[-2000:]}")
        out.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, out.read().decode()


def measure(folder: Path, n: int, seed: int, repeats: int, baseline: Path | None) -> dict:
    full, mini, cfg, answers = write_inputs(folder / "data", n, seed)
    py = sys.executable
    checkouts = {"": ROOT, **({"old ": baseline} if baseline else {})}
    cases: dict[str, tuple] = {"floor (orjson + pyarrow)": ([py, "-c", FLOOR, str(full)], None, None)}
    for tag, root in checkouts.items():
        env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
        for name, path in (("json", full), ("json-min", mini)):
            cases[f"{tag}snapshot {name}"] = ([py, "-m", "annover", "snapshot", "--from", str(path), "--config",
                                               str(cfg), "-m", "b", "-q"], env, "repo")
            cases[f"{tag}read {name}"] = ([py, "-c", READ, str(path), str(cfg)], env, None)
    samples: dict[str, list[tuple[float, float, int, float | None]]] = {c: [] for c in cases}
    names = list(cases)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            args, env, repo = cases[name]
            cwd = common.fresh_repo(folder / "runs", f"r{time.monotonic_ns()}") if repo else folder
            wall, cpu, rss, out = run(args, cwd, env or dict(os.environ))
            inner = float(out.split()[0]) if name.startswith(("read", "old read")) else None
            samples[name].append((wall, cpu, rss, inner))
            shutil.rmtree(folder / "runs", ignore_errors=True)
            common.log(f"  run {r + 1}/{repeats}  {name:<26} {wall:7.2f} s  cpu {cpu:7.2f} s  {rss:6d} MB"
                       + (f"  (read {inner:.2f} s)" if inner is not None else ""))
    summary = {}
    for name, s in samples.items():
        row = {**common.summarize([x[0] for x in s]), "cpu_s": round(sorted(x[1] for x in s)[len(s) // 2], 2),
               "peak_rss_mb": max(x[2] for x in s)}
        if s[0][3] is not None:
            row["read_s"] = round(sorted(x[3] for x in s)[len(s) // 2], 2)
        summary[name] = row
    floor = summary["floor (orjson + pyarrow)"]
    for row in summary.values():
        row["ratio"] = common.ratio(row, floor)
    return {"tasks": n, "answers": answers, "json_mb": round(full.stat().st_size / 1e6, 1),
            "min_mb": round(mini.stat().st_size / 1e6, 1), "cases": summary}


def profile(folder: Path, n: int, seed: int, top: int, which: str) -> str:
    """One cProfile run of reading the export into canonical tables (the snapshot's read stage)."""
    full, mini, _, _ = write_inputs(folder / "data", n, seed)
    return common.profile_read(full if which == "json" else mini, folder / "data" / "labeling.xml", top, "tottime")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--baseline", type=Path, default=None, help="a checkout of older annover code to compare with")
    p.add_argument("--data", type=Path, default=None, help="keep the generated exports in this folder")
    p.add_argument("--profile", choices=("json", "json-min"), default=None,
                   help="print a cProfile of reading that export instead")
    p.add_argument("--top", type=int, default=30)
    a = p.parse_args(argv)
    tmp = common.isolate_env(None)
    folder = tmp
    if a.data is not None:
        shutil.rmtree(tmp / "data", ignore_errors=True)
        (tmp / "data").symlink_to(a.data.resolve(), target_is_directory=True)
    try:
        if a.profile:
            print(profile(folder, a.tasks, a.seed, a.top, a.profile))
            return
        result = measure(folder, a.tasks, a.seed, a.repeats, a.baseline.resolve() if a.baseline else None)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{a.tasks:,} tasks, {result['answers']:,} answers; full JSON {result['json_mb']} MB, "
          f"JSON-MIN {result['min_mb']} MB; load {list(os.getloadavg())}")
    print(common.markdown_table(["case", "median s", "x floor", "CPU s", "read s", "peak RSS MB"], [
        [n, s["median_s"], s["ratio"], s["cpu_s"], s.get("read_s", ""), s["peak_rss_mb"]]
        for n, s in result["cases"].items()]))


if __name__ == "__main__":
    main()
