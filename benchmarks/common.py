"""Shared helpers for annover's benchmarks: data, environment, timing, tables, metrics.

Data generation is deterministic (a fixed seed): the same ``--rows`` and ``--seed`` give
byte-identical inputs, so figures from two runs compare like with like.

    python benchmarks/common.py generate --rows 1000000 --out benchmarks/data
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DATA = HERE / "data"
DEFAULT_OUT = HERE / "out"

LABELS = ("positive", "negative", "neutral", "mixed", "off-topic")
LABEL_P = (0.40, 0.30, 0.20, 0.07, 0.03)
ANNOTATORS = 20
CONFIG_XML = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
{choices}
  </Choices>
</View>
""".format(choices="\n".join(f'    <Choice value="{lab}"/>' for lab in LABELS))

# file names inside the data folder
FLAT_JSONL = "flat.jsonl"
FLAT_PARQUET = "flat.parquet"
CANONICAL_PARQUET = "canonical.parquet"
FLAT_V2_PARQUET = "flat_v2.parquet"  # the same rows with ~1% of labels changed (a second version)
CONFIG = "labeling.xml"
META = "meta.json"


# ---------------------------------------------------------------------------
# environment


def isolate_env(base: Path | None = None) -> Path:
    """Point annover's default DVC remote at a temp folder and make sure git has an identity.

    Returns the temp folder (the caller removes it). Set in ``os.environ`` so that
    subprocesses (the CLI runs) inherit it.
    """
    tmp = Path(tempfile.mkdtemp(prefix="annover-bench-", dir=base))
    os.environ["ANNOVER_REMOTE_HOME"] = str(tmp / "remotes")
    ident = {"GIT_AUTHOR_NAME": "annover bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid"}
    has_name = _git_config("user.name")
    has_email = _git_config("user.email")
    for k, v in ident.items():
        if "NAME" in k and has_name or "EMAIL" in k and has_email:
            continue
        os.environ.setdefault(k, v)
        os.environ.setdefault(k.replace("AUTHOR", "COMMITTER"), v)
    # the CLI and DVC must not stop to ask anything or phone home
    os.environ.setdefault("GIT_TERMINAL_PROMPT", "0")
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    return tmp


def _git_config(key: str) -> bool:
    p = subprocess.run(["git", "config", "--get", key], capture_output=True, text=True)
    return p.returncode == 0 and bool(p.stdout.strip())


def annover_exe() -> str:
    """The ``annover`` console script of the running interpreter's environment."""
    cand = Path(sys.executable).with_name("annover")
    if cand.exists():
        return str(cand)
    found = shutil.which("annover")
    if not found:
        raise SystemExit("annover is not installed in this environment (pip install -e .)")
    return found


def fresh_repo(parent: Path, name: str = "repo") -> Path:
    """A new annover repository (git + DVC + local remote) under ``parent``; not timed."""
    import annover

    root = parent / name
    if root.exists():
        shutil.rmtree(root)
    annover.init(root)
    return root


@contextmanager
def chdir(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def machine() -> dict:
    """What the figures were measured on."""
    import pyarrow

    try:
        import dvc

        dvc_version = dvc.__version__
    except Exception:  # pragma: no cover - dvc is a dependency
        dvc_version = None
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            mem_gb = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpus": os.cpu_count(), "mem_gb": mem_gb, "platform": platform.platform(),
        "python": platform.python_version(), "pyarrow": pyarrow.__version__, "dvc": dvc_version,
        "git": git, "loadavg_at_start": list(os.getloadavg()),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


# ---------------------------------------------------------------------------
# data


def generate(out: Path, rows: int, seed: int = 20240601, annotators_per_task: int = 3,
             change_fraction: float = 0.01) -> dict:
    """Write the benchmark inputs into ``out``; return their description (also ``meta.json``).

    ``rows`` annotation rows: ``rows / annotators_per_task`` tasks, each labeled by that
    many distinct annotators (of 20), one single-choice label of 5 (skewed), rows in
    random order (so sorting is real work). Files:

    - ``flat.jsonl`` / ``flat.parquet``: (task_key, label, annotator), the same rows;
    - ``canonical.parquet``: the same annotations in annover's annotations schema
      (what ``annover export --format parquet`` writes);
    - ``flat_v2.parquet``: the same rows with ``change_fraction`` of labels changed;
    - ``labeling.xml``: one Choices control with the 5 labels.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    k = annotators_per_task
    n_tasks = -(-rows // k)
    task_idx = np.repeat(np.arange(n_tasks, dtype=np.int64), k)[:rows]
    slot = np.tile(np.arange(k, dtype=np.int64), n_tasks)[:rows]
    base = rng.integers(0, ANNOTATORS, n_tasks)
    ann_idx = (base[task_idx] + slot * 7) % ANNOTATORS  # 7 is prime to 20: k <= 20 distinct annotators
    lab_idx = rng.choice(len(LABELS), size=rows, p=LABEL_P)
    order = rng.permutation(rows)
    task_idx, ann_idx, lab_idx = task_idx[order], ann_idx[order], lab_idx[order]

    # keys look like external ids ("doc-0a1b2c3d"): fixed width, not in numeric order
    key_perm = rng.permutation(n_tasks).astype(np.int64) * 2654435761 % (1 << 32)
    task_names = np.char.add("doc-", np.char.zfill(np.char.mod("%x", key_perm), 8))
    ann_names = np.array([f"annotator-{i:02d}@example.org" for i in range(ANNOTATORS)])
    labels = np.array(LABELS)

    keys = task_names[task_idx]
    flat = pa.table({
        "task_key": pa.array(keys.tolist(), pa.string()),
        "label": pa.array(labels[lab_idx].tolist(), pa.string()),
        "annotator": pa.array(ann_names[ann_idx].tolist(), pa.string()),
    })
    pq.write_table(flat, out / FLAT_PARQUET)
    with open(out / FLAT_JSONL, "w", encoding="utf-8") as f:
        # the values need no JSON escaping (checked: ASCII letters, digits, '-', '@', '.')
        f.writelines(f'{{"task_key":"{t}","label":"{lab}","annotator":"{a}"}}\n'
                     for t, lab, a in zip(keys.tolist(), labels[lab_idx].tolist(), ann_names[ann_idx].tolist()))

    changed = rng.random(rows) < change_fraction
    lab2 = np.where(changed, (lab_idx + 1) % len(LABELS), lab_idx)
    pq.write_table(flat.set_column(1, "label", pa.array(labels[lab2].tolist(), pa.string())), out / FLAT_V2_PARQUET)
    (out / CONFIG).write_text(CONFIG_XML, encoding="utf-8")

    # annover's own annotations Parquet, made the way `annover export --format parquet` makes it
    from annover.formats.flat import from_flat
    from annover.model.config import LabelingConfig
    from annover.store.snapshots import part_bytes

    tables = from_flat(flat, FLAT_PARQUET, config=LabelingConfig(CONFIG_XML, source=CONFIG), fmt="parquet")
    canon = tables.annotations.take(pa.array(rng.permutation(tables.annotations.num_rows)))
    (out / CANONICAL_PARQUET).write_bytes(part_bytes(canon))

    meta = {
        "rows": rows, "seed": seed, "tasks": n_tasks, "annotators_per_task": k, "annotators": ANNOTATORS,
        "labels": list(LABELS), "changed_in_v2": int(changed.sum()),
        "files": {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file() and p.name != META},
    }
    (out / META).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def ensure_data(data: Path | None, rows: int, seed: int, tmp: Path) -> tuple[Path, dict]:
    """The data folder to use and its description.

    ``data`` given: generated there if it is missing or of another size. Not given:
    ``benchmarks/data`` when it holds this size (the pipeline's), otherwise a folder under
    ``tmp``, so a quick ``--rows`` run never overwrites the pipeline's data.
    """
    candidates = [data] if data is not None else [DEFAULT_DATA]
    for d in candidates:
        meta_path = d / META
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            if meta.get("rows") == rows and meta.get("seed") == seed:
                return d, meta
    target = data if data is not None else tmp / "data"
    log(f"generating {rows:,} rows into {target} ...")
    return target, generate(target, rows, seed)


# ---------------------------------------------------------------------------
# timing


def summarize(samples: list[float]) -> dict:
    """median / best / worst of a list of seconds, rounded to microseconds."""
    return {
        "median_s": round(statistics.median(samples), 6),
        "best_s": round(min(samples), 6),
        "worst_s": round(max(samples), 6),
        "repeats": len(samples),
        "samples_s": [round(s, 6) for s in samples],
    }


def time_once(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call (garbage collected first, so a previous run's garbage is not billed)."""
    gc.collect()
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def time_interleaved(cases: dict[str, tuple[Callable[[], Any], Callable[[], Any] | None]], repeats: int,
                     warmup: int = 0, log: Callable[[str], None] | None = None) -> dict[str, dict]:
    """Time several cases round-robin: ``name -> (fn, setup or None)``; setup is not timed.

    Interleaving means a burst of load from elsewhere on the machine hits every case of
    one round, not all repeats of one case, so ratios of medians stay fair. Each round
    starts one case further on (round r runs cases r, r+1, ..., wrapping), so every case
    follows every other in turn: a case run right after one that frees much memory pays for
    taking it back from the OS in page faults, and a fixed order would charge that to the
    same case every round.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for r in range(-warmup, repeats):
        k = r % len(names) if names else 0
        for name in names[k:] + names[:k]:
            fn, setup = cases[name]
            if setup is not None:
                setup()
            dt, _ = time_once(fn)
            if r >= 0:
                samples[name].append(dt)
            if log:
                log(f"  {'warmup' if r < 0 else f'run {r + 1}/{repeats}'}  {name:<40} {dt:8.3f} s")
    return {name: summarize(s) for name, s in samples.items()}


def time_command(args: list[str], repeats: int, cwd: Path | None = None, warmup: int = 1) -> dict:
    """Wall time of a subprocess (stdout/stderr discarded); fails loudly if it fails."""
    samples = []
    for r in range(-warmup, repeats):
        t0 = time.perf_counter()
        p = subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {p.returncode}: {p.stderr.decode(errors='replace')[-2000:]}")
        if r >= 0:
            samples.append(dt)
    return summarize(samples)


def profile_read(path: Path, config: Path, top: int, sort: str = "cumulative") -> str:
    """The top ``top`` functions (by ``sort``) of one cProfile run of ``read_source(path)`` with the
    labeling config in ``config``: the read stage of a snapshot."""
    import cProfile
    import io
    import pstats

    from annover.formats.read import read_source
    from annover.model.config import LabelingConfig

    cfg = LabelingConfig.from_file(str(config))
    prof = cProfile.Profile()
    prof.enable()
    read_source(path, config=cfg)
    prof.disable()
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats(sort).print_stats(top)
    return s.getvalue()


def ratio(a: dict, b: dict) -> float:
    """median(a) / median(b)."""
    return round(a["median_s"] / b["median_s"], 3)


# ---------------------------------------------------------------------------
# output


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    out = [line(headers), "| " + " | ".join("-" * w for w in widths) + " |"]
    out += [line(r) for r in cells]
    return "\n".join(out)


def metric_key(name: str) -> str:
    """A display name as a metric key: ``annover --help`` -> ``annover_help``."""
    import re

    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def write_metrics(path: Path, data: dict) -> None:
    """Write ``data`` as the JSON that ``dvc metrics show`` reads (written whole, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def _abspath(s: str) -> Path:
    """Paths are resolved at once: the benchmarks chdir into the repositories they make."""
    return Path(s).resolve()


def base_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--rows", type=int, default=1_000_000, help="annotation rows (default 1,000,000)")
    p.add_argument("--seed", type=int, default=20240601, help="data seed")
    p.add_argument("--data", type=_abspath, default=None,
                   help="data folder (generated if missing; default benchmarks/data when it has --rows rows)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats per case (median reported)")
    p.add_argument("--out", type=_abspath, default=None, help="write metrics JSON here")
    p.add_argument("--tmp", type=_abspath, default=None, help="parent folder for temporary repos")
    return p


def finish(result: dict, out: Path | None, report: Callable[[dict], str],
           metrics_view: Callable[[dict], dict]) -> None:
    """Close a run: note the load at the end, print the report, write metrics and details."""
    result["machine"]["loadavg_at_end"] = list(os.getloadavg())
    print(report(result))
    if out:
        write_metrics(out, metrics_view(result))
        write_metrics(out.with_name(out.stem + "_detail.json"), result)


def run_figure(doc: str, figure: str, repeats: int, measure: Callable[[Path, Path, int], dict],
               report: Callable[[dict], str], metrics_view: Callable[[dict], dict],
               argv: list[str] | None = None) -> dict:
    """The whole of a one-measure script: its options (:func:`base_parser`), the data, a
    temporary folder removed after, ``measure(data, tmp, repeats)`` as ``results``, and
    :func:`finish`."""
    p = base_parser(doc.split("\n\n")[0])
    p.set_defaults(repeats=repeats)
    a = p.parse_args(argv)
    tmp = isolate_env(a.tmp)
    a.data, _ = ensure_data(a.data, a.rows, a.seed, tmp)
    result = {"figure": figure, "rows": a.rows, "machine": machine()}
    try:
        result["results"] = measure(a.data, tmp, a.repeats)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish(result, a.out, report, metrics_view)
    return result


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write the benchmark inputs")
    g.add_argument("--rows", type=int, default=1_000_000)
    g.add_argument("--seed", type=int, default=20240601)
    g.add_argument("--out", type=Path, default=DEFAULT_DATA)
    a = p.parse_args(argv)
    if a.cmd == "generate":
        if a.out.exists():
            shutil.rmtree(a.out)
        t0 = time.perf_counter()
        meta = generate(a.out, a.rows, a.seed)
        log(f"wrote {a.rows:,} rows ({meta['tasks']:,} tasks) into {a.out} in {time.perf_counter() - t0:.1f} s")
        print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
