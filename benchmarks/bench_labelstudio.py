"""Label Studio figures: annover against the server's own calls, on one real server.

    python benchmarks/bench_labelstudio.py               # 20,000 tasks (several minutes)
    python benchmarks/bench_labelstudio.py --tasks 2000  # a quick run

1. Sending N tasks with one prediction each: ``annover dataset push`` (reads the JSONL
   files, checks, looks at the project, sends in batches) against one raw
   ``projects.import_tasks`` call with the same payload. Target: at most 1.2x.
2. Snapshot of the N-task project (``snapshot --label-studio --full``: export, canonical
   tables, Parquet, DVC, git) against the server's own export snapshot create + download.
   Target: at most 1.2x.
3. Incremental pull after 50 tasks changed, next to the full pull of the same state (and
   a check that both give the same snapshot ids).

1. and 2. run in --repeat rounds (default 3), each timing both sides back to back in
alternating order; the figure is the median of the rounds' ratios (the server drifts).
Uses LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY, or starts a server with .ci/labelstudio.sh.
Prints a markdown table; projects made here are deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
</View>
"""


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def result(label: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def payload(n: int) -> tuple[list[dict], list[dict], list[dict]]:
    """(tasks for one import call, the records, the predictions) - the same content."""
    recs = [{"id": f"t{i:06d}", "text": f"review {i}: the product was {'great' if i % 3 else 'awful'}, "
             f"delivery took {i % 9 + 1} days"} for i in range(n)]
    preds = [{"task_key": r["id"], "model_version": "bench-model", "score": round((i % 100) / 100, 2),
              "result": result("pos" if i % 3 else "neg")} for i, r in enumerate(recs)]
    raw = [{"data": r, "predictions": [{k: p[k] for k in ("model_version", "score", "result")}]}
           for r, p in zip(recs, preds)]
    return raw, recs, preds


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _pairs(pairs: list[tuple[float, float]], what: str) -> tuple[str, str, str]:
    """Cells for rounds of (annover, server) times: medians, and the median of the ratios."""
    import statistics

    a = statistics.median(x for x, _ in pairs)
    b = statistics.median(y for _, y in pairs)
    ratios = [x / y for x, y in pairs]
    each = ", ".join(f"{r:.2f}" for r in ratios)
    return f"{a:.1f} s", f"{b:.1f} s ({what})", f"{statistics.median(ratios):.2f}x (rounds: {each})"


def start_server(tmp: Path) -> Path | None:
    if os.environ.get("LABEL_STUDIO_URL") and os.environ.get("LABEL_STUDIO_API_KEY"):
        return None
    env_file = tmp / "ls.env"
    log("starting Label Studio with .ci/labelstudio.sh")
    subprocess.run(["bash", str(ROOT / ".ci" / "labelstudio.sh"), "start", str(env_file)], check=True,
                   stdout=subprocess.DEVNULL)
    for line in env_file.read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            k, v = line[7:].split("=", 1)
            os.environ[k] = shlex.split(v)[0] if v else ""
    return env_file


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=20000, help="tasks per project (default 20000)")
    ap.add_argument("--changed", type=int, default=50, help="tasks changed before the incremental pull")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of 1. and 2. (default 3)")
    ap.add_argument("--keep", action="store_true", help="keep the projects")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="annover-bench-ls-"))
    env_file = start_server(tmp)
    os.environ.setdefault("ANNOVER_REMOTE_HOME", str(tmp / "remotes"))
    for k, v in {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
                 "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}.items():
        os.environ.setdefault(k, v)
    import annover
    from annover.labelstudio import Datasets, connect, sync, tasks
    from label_studio_sdk import LabelStudio

    client = connect()
    sdk = LabelStudio(base_url=client.base_url, api_key=os.environ["LABEL_STUDIO_API_KEY"], timeout=3600)
    made: list[int] = []
    rows: list[tuple[str, str, str, str]] = []
    n = args.tasks
    tag = uuid.uuid4().hex[:6]
    try:
        raw, recs, preds = payload(n)
        (tmp / "tasks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
        (tmp / "preds.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds))

        def project(name: str):
            p = Datasets(client).create(f"bench-{tag}-{name}", CONFIG).project
            made.append(p.id)
            return p

        # 1. sending. The server's own speed drifts by +-20 % between calls, so each round
        # times both sides back to back (alternating which goes first) and the figure is the
        # median of the rounds' ratios.
        send_pairs, p_av = [], None
        for rep in range(args.repeat):
            got: dict[str, float] = {}
            for side in (("raw", "annover") if rep % 2 == 0 else ("annover", "raw")):
                p = project(f"{side}{rep}")
                if side == "raw":
                    log(f"round {rep + 1}: raw import_tasks of {n} tasks with predictions")
                    got[side], _ = timed(lambda: sdk.projects.import_tasks(
                        id=p.id, request=raw, return_task_ids=True, request_options={"max_retries": 0}))
                else:
                    log(f"round {rep + 1}: annover dataset push of {n} tasks with predictions")
                    got[side], r = timed(lambda: tasks.push(client, p.id, str(tmp / "tasks.jsonl"), key="data.id",
                                                            predictions=str(tmp / "preds.jsonl")))
                    assert r.sent == n and r.predictions == n, r
                    p_av = p_av or p
            send_pairs.append((got["annover"], got["raw"]))
        rows.append((f"send {n} tasks + predictions", *_pairs(send_pairs, "one import_tasks")))
        log("the same send again (nothing to send)")
        t_again, r = timed(lambda: tasks.push(client, p_av.id, str(tmp / "tasks.jsonl"), key="data.id",
                                              predictions=str(tmp / "preds.jsonl")))
        assert r.sent == 0 and r.predictions == 0, r
        rows.append((f"send the same {n} again (sends nothing)", f"{t_again:.1f} s", "-", "-"))

        # 2. snapshot against the server's own export, in rounds as above
        def server_export() -> int:
            s = sdk.projects.exports.create(p_av.id, title="bench", serialization_options=sync.EXPORT_OPTIONS)
            while s.status not in ("completed", "failed"):
                time.sleep(0.5)
                s = sdk.projects.exports.get(p_av.id, s.id)
            data = b"".join(sdk.projects.exports.download(p_av.id, s.id, export_type="JSON"))
            sdk.projects.exports.delete(p_av.id, s.id)
            return len(data)

        snap_pairs = []
        nbytes = 0
        for rep in range(args.repeat):
            got = {}
            for side in (("server", "annover") if rep % 2 == 0 else ("annover", "server")):
                if side == "server":
                    log(f"round {rep + 1}: server export snapshot create + download")
                    got[side], nbytes = timed(server_export)
                else:
                    repo = annover.init(tmp / f"repo{rep}")
                    log(f"round {rep + 1}: annover snapshot --label-studio (full)")
                    got[side], _ = timed(lambda: repo.snapshot(label_studio=p_av.id, key="data.id", message="bench",
                                                                 full=True, client=client))
            snap_pairs.append((got["annover"], got["server"]))
        rows.append((f"snapshot of a {n}-task project",
                     *_pairs(snap_pairs, f"export create + download, {nbytes / 1e6:.0f} MB")))

        # 3. incremental
        k = min(args.changed, n)
        log(f"annotating {k} tasks")
        ids = [t["id"] for t in client.raw("GET", "api/tasks", what="ids", params={
            "project": p_av.id, "fields": "task_only", "include": "id", "page_size": k})["tasks"]]
        for tid in ids:
            sdk.annotations.create(id=tid, result=result("neg"))
        log("annover snapshot --label-studio (incremental)")
        t_inc, inc = timed(lambda: repo.snapshot(label_studio=p_av.id, message="bench 2", client=client))
        mode = inc.version.record["origin"]["sync"]
        assert mode["mode"] == "incremental", (mode, inc.warnings)
        other = annover.init(tmp / "repo-full")
        log("annover snapshot --label-studio --full of the same state")
        t_full, full = timed(lambda: other.snapshot(label_studio=p_av.id, key="data.id", message="full", full=True,
                                                     client=client))
        same = inc.version.record["tables"] == full.version.record["tables"]
        rows.append((f"pull after {k} of {n} tasks changed", f"{t_inc:.1f} s (incremental, {mode['fetched_tasks']} "
                     "tasks fetched)", f"{t_full:.1f} s (full pull)", f"{t_inc / t_full:.2f}x"
                     + ("" if same else " MISMATCH")))
    finally:
        if not args.keep:
            for pid in made:
                try:
                    sdk.projects.delete(id=pid)
                except Exception:
                    pass
        if env_file is not None:
            subprocess.run(["bash", str(ROOT / ".ci" / "labelstudio.sh"), "stop", str(env_file)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    print(f"\nLabel Studio {client.url}, {n} tasks, {os.cpu_count()} cores\n")
    print("| operation | annover | Label Studio alone | ratio |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
