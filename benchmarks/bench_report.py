"""What a person opening ``annover report`` waits for and reads, at a real size, in a real browser.

Data (generated here, deterministic): three versions (60%, 80%, 100% of ``--tasks``, default
12,000) of a support-ticket project: an image and a text per task, 60 classes of long names that
share their start ("Product defect: battery", "... — subtype 17 (long descriptive label name)"),
Arabic, Hebrew, Japanese and Russian ones among them, an image quality choice and boxes on a
quarter of the images; one to three of six annotators per task; two models' predictions.

Measured, once each (the report's own time is the loop's, see bench_loop.py):

    repo.report(v3) / repo.report(v1..v3)   seconds, bytes of the page
    in headless Chromium (Debian's)         load event, first contentful paint, JS heap, DOM
                                            nodes, page height, at 1440x900 and 800x900;
                                            names drawn twice in one chart (a reader cannot
                                            tell the two apart without a tooltip)

The notebook annotator, over 2,000 long texts and over a folder of 2,000 images (five sizes, from
32x32 to 4000x300, and one broken file), the 60 classes: ``annotate(...)`` in seconds, the page's
first drawing, a key's answer (key press to the command reaching Python, the page drawn again;
median and 95th percentile of 100), the JS heap and DOM nodes after them. The page is the
tests' (``tests/test_notebook_browser.py``: the widget's ES module with a model whose
``save_changes`` calls the real Python widget).

Baseline in the same run: the same figures (every table the page holds: agreement per control
and label, each model's per-label scores and its whole confusion matrix, the drift, the top
suspects) written by pandas ``DataFrame.to_html``, opened in the same browser.

Writing the page, against other code (``--baseline CHECKOUT``): ``annover report`` of each spec as
a new process (the first report of a machine: an empty per-user cache, so the history's agreement
is computed too), this code and that checkout's alternately, ``--repeats`` times: wall and CPU time
(the process's, from the kernel), CPU by stage (the report's own progress steps), and whether the
two pages are the same bytes.

    python benchmarks/bench_report.py                   # 12,000 tasks
    python benchmarks/bench_report.py --tasks 3000      # a quick run
    python benchmarks/bench_report.py --baseline ../annover-old --repeats 5 --no-browser
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

import pandas as pd
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parent.parent))  # the tests' page (annover: PYTHONPATH's first)
import common  # noqa: E402

import annover  # noqa: E402
from PIL import Image  # noqa: E402
from tests.test_notebook_browser import _open  # noqa: E402
from annover.loop import report  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOPICS = ["Billing / Invoice dispute", "Shipping — delayed more than two weeks", "Account_takeover_suspected_fraud",
          "Refund request", "Product defect: battery", "Product defect: screen", "Feature request", "Praise",
          "شكوى الشحن", "החזר כספי", "返品・交換の依頼", "Вопрос о доставке", "Other"]
CLASSES = list(dict.fromkeys(t if i < len(TOPICS) else f"{t} — subtype {i} (long descriptive label name)"
                             for i, t in enumerate(TOPICS * 5)))[:60]
QUALITY = ["good", "blurry", "dark", "irrelevant"]
BOXES = ["person", "car", "bicycle", "traffic light", "dog", "sign"]
ANNOTATORS = [("alice@example.com", .08), ("bob@example.com", .15), ("dmitri@example.com", .1),
              ("carol.with.a.very.long.address@annotation-vendor.example.com", .25), ("fatima@example.com", .12),
              ("李明@example.com", .2)]
WORDS = ("the parcel arrived late and the box was damaged , I was charged twice for one order ; the screen "
         "cracked after a week , please refund me . battery drains fast مرحبا شكرا שלום תודה 配送 遅い").split()


def config() -> str:
    def choices(xs: list[str]) -> str:
        return "".join(f'<Choice value="{x}"/>' for x in xs)
    return ('<View><Image name="image" value="$image"/><Text name="text" value="$text"/>'
            f'<Choices name="category" toName="text" choice="single">{choices(CLASSES)}</Choices>'
            f'<Choices name="quality" toName="image" choice="single">{choices(QUALITY)}</Choices>'
            '<RectangleLabels name="box" toName="image">' + "".join(f'<Label value="{b}"/>' for b in BOXES)
            + "</RectangleLabels></View>")


def _answer(i: int, k: int, who: str, noise: float, rnd: int, truth: str, r: random.Random) -> dict:
    rr = random.Random(i * 31 + k + (rnd * 1000 if rnd > 1 and i % 13 == 0 else 0))  # a review changes some
    res = [{"id": f"c{i}-{k}", "from_name": "category", "to_name": "text", "type": "choices",
            "value": {"choices": [truth if rr.random() > noise else rr.choice(CLASSES)]}},
           {"id": f"q{i}-{k}", "from_name": "quality", "to_name": "image", "type": "choices",
            "value": {"choices": [QUALITY[i % 4] if rr.random() > noise else rr.choice(QUALITY)]}}]
    if i % 4 == 0:
        for b in range(1 + i % 3):
            x, y = (i * 7 + b * 23) % 70, (i * 11 + b * 31) % 70
            res.append({"id": f"b{i}-{b}-{k}", "from_name": "box", "to_name": "image", "type": "rectanglelabels",
                        "original_width": 640, "original_height": 480,
                        "value": {"x": x + rr.uniform(-2, 2), "y": y + rr.uniform(-2, 2), "width": 20, "height": 20,
                                  "rotation": 0, "rectanglelabels": [BOXES[(i + b) % len(BOXES)]]}})
    return {"id": 100000 * rnd + 10 * i + k, "completed_by": {"id": k + 1, "email": who}, "result": res,
            "was_cancelled": False, "ground_truth": False,
            "created_at": f"2026-1{rnd - 1}-01T10:00:00Z", "updated_at": f"2026-1{rnd - 1}-01T10:00:00Z"}


def make_round(n: int, rnd: int) -> list[dict]:
    weights = [1 / (1 + i) ** 1.1 for i in range(len(CLASSES))]
    tasks = []
    for i in range(n):
        r = random.Random(i * 7919)
        truth = r.choices(CLASSES, weights)[0]
        who = r.sample(ANNOTATORS, r.choice([1, 2, 3, 3]))
        preds = []
        for mv, acc in (("cat-model-2026-11-long-name-v1", .6), ("cat-model-v2", .8)):
            pr = random.Random(i * 17 + len(mv))
            preds.append({"model_version": mv, "score": round(pr.random(), 3), "result": [
                {"id": f"p{i}", "from_name": "category", "to_name": "text", "type": "choices",
                 "value": {"choices": [truth if pr.random() < acc else pr.choice(CLASSES)]}}]})
        tasks.append({"id": i + 1, "data": {"ext": f"ticket-{i:06d}", "image": f"images/img{i % 2000:05d}.png",
                                            "text": " ".join(r.choice(WORDS) for _ in range(r.randint(8, 200)))},
                      "annotations": [_answer(i, k, w, noise, rnd, truth, r) for k, (w, noise) in enumerate(who)],
                      "predictions": preds})
    return tasks


def build(root: Path, tasks: int) -> annover.Repo:
    repo = annover.init(root)
    (root / "labeling.xml").write_text(config())
    with common.chdir(root):
        for rnd, n in ((1, tasks * 6 // 10), (2, tasks * 8 // 10), (3, tasks)):
            (root / f"round{rnd}.json").write_text(json.dumps(make_round(n, rnd), ensure_ascii=False))
            repo.snapshot(f"round{rnd}.json", config="labeling.xml" if rnd == 1 else None, key="data.ext",
                          message=f"round {rnd}")
    return repo


def pandas_page(data: dict) -> str:
    """The report's figures as plain pandas tables: what a notebook user would write by hand."""
    parts = []
    for ctl, e in data["agreement"]["controls"].items():
        parts.append(f"<h3>agreement: {ctl}</h3>" + pd.DataFrame.from_dict(
            {lab: {k: (v.get("value") if isinstance(v, dict) else v) for k, v in fig.items()}
             for lab, fig in e["labels"].items()}, orient="index").to_html())
    for mv, res in data["models"].items():
        for ctl, e in res["controls"].items():
            if e.get("kind") == "classification" and e["tasks"]:
                parts.append(f"<h3>{mv}: {ctl}</h3>" + pd.DataFrame.from_dict(e["labels"], orient="index").to_html())
                c = e["confusion"]
                parts.append(pd.DataFrame(c["matrix"], index=c["labels"], columns=c["labels"]).to_html())
    parts.append(pd.DataFrame([{**{k: v for k, v in s.items() if k != "reasons"},
                                "reasons": "; ".join(r["text"] for r in s["reasons"])}
                               for s in data["suspects"]["suspects"]]).to_html())
    return "<!doctype html><meta charset=utf-8><body>" + "".join(parts) + "</body>"


BROWSER_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0], paint = performance.getEntriesByType("paint");
  const fcp = paint.find((e) => e.name === "first-contentful-paint");
  let twice = 0;
  for (const svg of document.querySelectorAll("svg.chart")) {
    const seen = new Set();
    for (const t of svg.querySelectorAll("text")) {
      const s = [...t.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("");
      const key = (t.hasAttribute("transform") ? "column " : "row ") + s;  // a matrix names each label twice
      if (s.includes("…")) { if (seen.has(key)) twice++; seen.add(key); }
    }
  }
  return {load_ms: nav.loadEventEnd, fcp_ms: fcp ? fcp.startTime : null,
          height_px: document.documentElement.scrollHeight, wider_than_window: document.documentElement.scrollWidth >
          innerWidth, names_drawn_twice: twice};
}"""


def in_browser(path: Path) -> dict:
    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            for width in (1440, 800):
                page = browser.new_page(viewport={"width": width, "height": 900})
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable")
                page.goto(path.as_uri())
                page.wait_for_load_state("load")
                m = {x["name"]: x["value"] for x in cdp.send("Performance.getMetrics")["metrics"]}
                out[width] = {**page.evaluate(BROWSER_JS), "heap_mb": round(m["JSHeapUsedSize"] / 1e6, 1),
                              "nodes": int(m["Nodes"])}
                page.close()
        finally:
            browser.close()
    return out


def annotator_sources(root: Path) -> dict[str, object]:
    """2,000 long texts, and a folder of 2,000 images (and one that is not an image)."""
    rng = random.Random(3)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 1500))) for _ in range(2000)]
    (root / "photos").mkdir(parents=True)
    for i in range(2000):
        size = [(640, 480), (1920, 1080), (32, 32), (4000, 300), (300, 2000)][i % 5]
        Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), 90)).save(root / "photos" / f"p{i:05d}.png")
    (root / "photos" / "broken.png").write_text("not a png")
    return {"2,000 texts": texts, "2,000 images": str(root / "photos")}


def annotator_row(name: str, source: object, repo: annover.Repo, browser: object) -> list:
    t = time.perf_counter()
    ann = annover.annotate(source, labels=CLASSES, repo=repo)
    built = time.perf_counter() - t
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    t = time.perf_counter()
    _open(page, ann)
    first = time.perf_counter() - t
    keys = []
    for i in range(100):
        sent = page.evaluate("window.sent || 0")
        t = time.perf_counter()
        page.keyboard.press(str(1 + i % 9))
        page.wait_for_function(f"(window.sent || 0) > {sent}")
        keys.append(time.perf_counter() - t)
    keys.sort()
    m = {x["name"]: x["value"] for x in cdp.send("Performance.getMetrics")["metrics"]}
    assert ann.progress["labeled"] == 100
    page.close()
    return [name, f"{built:.1f} s", f"{first * 1000:.0f} ms", f"{keys[50] * 1000:.0f} / {keys[95] * 1000:.0f} ms",
            f"{m['JSHeapUsedSize'] / 1e6:.1f} MB", f"{int(m['Nodes']):,}"]


WRITE = """
import json, sys, time
import annover
from annover.loop import report
marks = []
mark = lambda m: marks.append((m.split(":")[0].split(" ")[0], time.process_time()))
draw = report.render
report.render = lambda d: (mark("drawing"), draw(d))[1]
t, c = time.perf_counter(), time.process_time()
report.write_report(annover.Repo(sys.argv[1]), sys.argv[2], sys.argv[3], progress=mark)
mark("end")
stages = {}
for (name, at), (_, end) in zip([("start", c)] + marks, marks):
    stages[name] = stages.get(name, 0.0) + end - at
print(json.dumps({"wall": time.perf_counter() - t, "stages": stages}))
"""


def write_once(code: Path, root: Path, spec: str, out: Path, tmp: Path) -> dict:
    """``write_report`` of ``spec`` by the annover of ``code`` as a new process, with an empty cache."""
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=tmp))
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1", "ANNOVER_CACHE_DIR": str(cache)}
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", WRITE, str(root), spec, str(out)], env=env, cwd=root,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    stdout, stderr = p.communicate()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"report of {spec} by {code} failed: {stderr.decode(errors='replace')[-2000:]}")
    shutil.rmtree(cache, ignore_errors=True)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, **json.loads(stdout)}


def against(root: Path, baseline: Path, repeats: int, tmp: Path) -> str:
    """The report written by this code and by ``baseline``'s, alternately: medians, ratio, the pages compared."""
    mine = Path(__file__).resolve().parent.parent
    rows = []
    for spec in ("v3", "v1..v3"):
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        pages = {k: root / f"{k}-{spec.replace('..', '-')}.html" for k in runs}
        for r in range(repeats):
            for k in (("before", "after") if r % 2 == 0 else ("after", "before")):
                runs[k].append(write_once(baseline if k == "before" else mine, root, spec, pages[k], tmp))
                common.log(f"  {spec} {k}: {runs[k][-1]['wall']:.2f} s wall, {runs[k][-1]['cpu']:.2f} s CPU")
        same = pages["before"].read_bytes() == pages["after"].read_bytes()
        med = {k: {f: sorted(x[f] for x in v)[len(v) // 2] for f in ("wall", "cpu")} for k, v in runs.items()}
        names = list(runs["after"][0]["stages"])
        stage = {k: {n: sorted(x["stages"].get(n, 0.0) for x in v)[len(v) // 2] for n in names}
                 for k, v in runs.items()}
        for k in runs:
            rows.append([spec, k, f"{med[k]['wall']:.2f} s", f"{med[k]['cpu']:.2f} s",
                         f"{med['before']['cpu'] / med[k]['cpu']:.2f}x",
                         ", ".join(f"{n} {stage[k][n]:.2f}" for n in names), "yes" if same else "NO"])
    return common.markdown_table(["spec", "code", "wall (median)", "CPU (median)", "CPU before / this",
                                  "CPU by stage, s (median)", "same page"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=12000)
    ap.add_argument("--keep", type=Path, help="build the repository here and keep it (and the pages)")
    ap.add_argument("--baseline", type=Path, help="a checkout of other annover code: the report written by both")
    ap.add_argument("--repeats", type=int, default=3, help="reports written by each code (--baseline)")
    ap.add_argument("--no-browser", action="store_true", help="only the writing against --baseline")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-report-"))
    common.isolate_env(tmp)
    root = args.keep or tmp / "repo"
    t = time.perf_counter()
    repo = build(root, args.tasks)
    common.log(f"built {args.tasks} tasks x 3 versions in {time.perf_counter() - t:.0f} s")
    if args.baseline:
        print(against(root, args.baseline.resolve(), args.repeats, tmp))
    if args.no_browser:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    rows = []
    for spec in ("v3", "v1..v3"):
        page = root / f"report-{spec.replace('..', '-')}.html"
        t = time.perf_counter()
        res = repo.report(spec, page, force=True)
        secs = time.perf_counter() - t
        base = root / f"pandas-{spec.replace('..', '-')}.html"
        base.write_text(pandas_page(report.collect(repo, spec)))
        for name, path, s in (("annover report", page, secs), ("pandas to_html of its tables", base, None)):
            b = in_browser(path)
            rows.append([spec, name, f"{s:.1f} s" if s else "–", f"{path.stat().st_size / 1024:,.0f} KB",
                         *(f"{b[w]['load_ms']:.0f} ms / {b[w]['heap_mb']} MB / {b[w]['nodes']:,} nodes / "
                           f"{b[w]['height_px']:,} px" + (" (wider than the window)" * b[w]["wider_than_window"])
                           for w in (1440, 800)), b[1440]["names_drawn_twice"]])
        assert res.size == page.stat().st_size
    print(common.markdown_table(["spec", "page", "written in", "size", "1440x900: load / heap / DOM / height",
                                 "800x900: load / heap / DOM / height", "names drawn twice"], rows))
    rows = []
    new = annover.init(tmp / "annotate")  # a repository of no version: the labels make its config
    with common.chdir(tmp / "annotate"), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            for name, source in annotator_sources(tmp / "annotate").items():
                rows.append(annotator_row(name, source, new, browser))
        finally:
            browser.close()
    print(common.markdown_table(["annotator over", "annotate()", "first drawing", "a key's answer (median / p95)",
                                 "JS heap after 100", "DOM nodes"], rows))
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
