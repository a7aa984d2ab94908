"""`annover snapshot` of N annotation rows against the floor of the same work in pyarrow.

For each input (flat JSONL, flat Parquet, annover's canonical annotations Parquet):

- floor:   pyarrow read of the input + sort by key + Parquet write of the same rows
           (zstd level 3, annover's codec; no fsync);
- library: ``Repo.snapshot`` on a fresh repository (made by ``annover.init``, not
           timed) with a labeling config whose single Choices control has the labels;
- cli:     ``annover snapshot --from FILE --config labeling.xml -m ... -q`` end to end
           in a subprocess, on a fresh repository;
- floor (process): the floor as a command of its own (a new interpreter importing
           pyarrow), the like-for-like floor of the CLI, which pays start and imports too;
- floor (process, system allocator): the same on the Arrow memory pool the ``annover``
           command picks (``annover.cli.ARROW_POOL``), so the allocator's share of the CLI's
           lead is visible.

Cases run round-robin (floor, library, cli, floor, ...) so load from elsewhere hits
all of them alike; the ratio is median(case) / median(floor) of the same run.

Where the time goes comes from:

- stages: the library run's own progress callbacks, timestamped (no profiler overhead);
- components: the library's internal steps timed one by one on the same data
  (single-threaded, so each cost is visible even where snapshot uses threads);
- Arrow calls by line: every pyarrow call of one library run, billed to the annover
  source line that made it (cProfile sees Arrow kernels only as ``compute.py:wrapper``);
- profile: one cProfile run of the library call (main thread only: the part writer
  threads show as waiting);
- what if: prototypes of proposed changes timed against the current code on the same
  table, and the import costs a CLI snapshot pays.

    python benchmarks/bench_snapshot.py                  # 1,000,000 rows, 3 repeats
    python benchmarks/bench_snapshot.py --rows 100000 --repeats 2 --inputs parquet
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from annover.cli import ARROW_POOL as CLI_POOL  # noqa: E402

INPUTS = {
    "jsonl": (common.FLAT_JSONL, ["task_key", "annotator"]),
    "parquet": (common.FLAT_PARQUET, ["task_key", "annotator"]),
    "canonical": (common.CANONICAL_PARQUET, ["task_key", "annotation_key", "region_key"]),
}
TARGET = 1.5

# progress messages of Repo.snapshot -> the stage that *starts* there
_STAGE_OF = [
    ("reading ", "read + canonicalise"),
    ("hashing content", "content hash + lock/recover"),
    ("writing snapshots", "parts + manifest + stats + record"),
    ("updating the DVC pointer", "prune + dvc add"),
    ("committing", "git commit + tag"),
]


def floor(path: Path, sort_keys: list[str], dest: Path) -> None:
    """What any tool must do at least: read the rows, sort them by key, write Parquet."""
    import pyarrow.parquet as pq

    if path.suffix == ".jsonl":
        import pyarrow.json as pj

        table = pj.read_json(path)
    else:
        table = pq.read_table(path)
    table = table.sort_by([(k, "ascending") for k in sort_keys])
    pq.write_table(table, dest, compression="zstd", compression_level=3)


# The floor as a command of its own, for the CLI: a new interpreter that imports pyarrow
# and does what floor() does. `annover snapshot` pays interpreter start and imports too.
_FLOOR_PROCESS = """import sys
import pyarrow.parquet as pq
path, dest, keys = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
if path.endswith(".jsonl"):
    import pyarrow.json as pj
    table = pj.read_json(path)
else:
    table = pq.read_table(path)
table = table.sort_by([(k, "ascending") for k in keys])
pq.write_table(table, dest, compression="zstd", compression_level=3)
"""


def _cpu_of(fn, into: list[float]):
    """``fn``, recording the CPU time (``time.process_time``: every thread of this process) of each call."""
    def timed() -> None:
        start = time.process_time()
        fn()
        into.append(time.process_time() - start)
    return timed


def floor_process(path: Path, sort_keys: list[str], dest: Path, pool: str | None = None) -> None:
    """The floor as a process; ``pool``: its Arrow memory pool (default: pyarrow's own default)."""
    env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": pool} if pool else None
    subprocess.run([sys.executable, "-c", _FLOOR_PROCESS, str(path), str(dest), ",".join(sort_keys)], check=True,
                   env=env)


class StageClock:
    """A snapshot progress callback that timestamps each step."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []
        self.t0 = 0.0

    def start(self) -> None:
        self.marks = []
        self.t0 = time.perf_counter()

    def __call__(self, step: str) -> None:
        self.marks.append((step, time.perf_counter()))

    def stages(self, t_end: float) -> dict[str, float]:
        out = {"start (config, tag check)": (self.marks[0][1] if self.marks else t_end) - self.t0}
        for i, (step, t) in enumerate(self.marks):
            name = next((s for prefix, s in _STAGE_OF if step.startswith(prefix)), step)
            nxt = self.marks[i + 1][1] if i + 1 < len(self.marks) else t_end
            out[name] = out.get(name, 0.0) + nxt - t
        return {k: round(v, 4) for k, v in out.items()}


def library_case(path: Path, config: Path, work: Path, stage_log: list[dict]):
    """(fn, setup) for Repo.snapshot on a fresh repository."""
    import annover

    state: dict = {}
    clock = StageClock()

    def setup() -> None:
        root = common.fresh_repo(work, "lib")
        state["repo"] = annover.Repo(root)

    def fn() -> None:
        clock.start()
        with common.chdir(state["repo"].root):
            res = state["repo"].snapshot(str(path), config=str(config), message="bench", progress=clock)
        t_end = time.perf_counter()
        assert res.changed and res.version is not None
        stage_log.append(clock.stages(t_end))
        state["version"] = res.version

    return fn, setup, state


def cli_case(path: Path, config: Path, work: Path):
    exe = common.annover_exe()
    state: dict = {}

    def setup() -> None:
        state["root"] = common.fresh_repo(work, "cli")

    def fn() -> None:
        p = subprocess.run([exe, "snapshot", "--from", str(path), "--config", str(config), "-m", "bench", "-q"],
                           cwd=state["root"], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"annover snapshot failed ({p.returncode}): {p.stderr[-2000:]}")

    return fn, setup


def components(path: Path, config: Path, kind: str) -> dict[str, float]:
    """The library's steps timed one at a time, single-threaded, on the same input."""
    import hashlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    from annover.model import canonical as C
    from annover.model import stats as S
    from annover.formats.flat import from_flat
    from annover.formats.own_parquet import from_canonical
    from annover.formats.text import read_jsonl
    from annover.model.config import LabelingConfig
    from annover.store.snapshots import part_bytes

    out: dict[str, float] = {}

    def t(name, fn):
        dt, res = common.time_once(fn)
        out[name] = round(dt, 4)
        return res

    cfg = t("parse labeling config", lambda: LabelingConfig.from_file(config))
    if kind == "jsonl":
        rows = t("read: json.loads per line (read_jsonl)", lambda: read_jsonl(path))
        table = t("read: pa.Table.from_pylist", lambda: pa.Table.from_pylist(rows))
        del rows
        import pyarrow.json as pj

        t("(reference) pyarrow.json.read_json", lambda: pj.read_json(path))
        tables = t("canonicalise: from_flat", lambda: from_flat(table, str(path), config=cfg, fmt="jsonl"))
    else:
        table = t("read: pq.read_table", lambda: pq.read_table(path))
        if kind == "canonical":
            tables = t("canonicalise: from_canonical", lambda: from_canonical(table, str(path), config=cfg))
        else:
            tables = t("canonicalise: from_flat", lambda: from_flat(table, str(path), config=cfg, fmt="parquet"))
    ann, tasks = tables.annotations, tables.tasks
    t("canonicalise: sort_table(annotations) again (inside finish)", lambda: C.sort_table(ann, "annotations"))
    t("content_id(annotations)", lambda: C.content_id(ann, "annotations"))
    t("content_id(tasks)", lambda: C.content_id(tasks, "tasks"))
    for name, tbl in (("annotations", ann), ("tasks", tasks)):
        bounds = t(f"part_bounds({name})", lambda: C.part_bounds(tbl))
        out[f"parts({name})"] = len(bounds)
        blobs = t(f"part_bytes({name}) all parts, serial",
                  lambda: [part_bytes(tbl.slice(a, b - a)) for a, b in bounds])
        out[f"bytes({name})"] = sum(len(b) for b in blobs)
        t(f"sha256+md5({name}) all parts", lambda: [(hashlib.sha256(b).digest(), hashlib.md5(b).digest())
                                                   for b in blobs])
    t("stats.compute", lambda: S.compute(tasks, ann, {}))
    return out


def profile_library(path: Path, config: Path, work: Path, top: int = 30) -> str:
    """cProfile text (cumulative and self time) of one library snapshot."""
    import annover

    root = common.fresh_repo(work, "prof")
    repo = annover.Repo(root)
    prof = cProfile.Profile()
    with common.chdir(root):
        prof.enable()
        repo.snapshot(str(path), config=str(config), message="profile")
        prof.disable()
    shutil.rmtree(root, ignore_errors=True)
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf)
    st.strip_dirs().sort_stats("cumulative").print_stats(top)
    st.sort_stats("tottime").print_stats(top)
    return buf.getvalue()


def what_if(data: Path, config: Path) -> list[dict]:
    """Prototypes of proposed changes, each timed against what annover does now, same table.

    These are measurements to decide what to change in annover, not annover code: each
    row says what the current code does, what a change would do instead, and checks that
    both give the same answer.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from annover.formats.flat import from_flat
    from annover.formats.text import read_jsonl
    from annover.model import canonical as C
    from annover.model.config import LabelingConfig

    cfg = LabelingConfig.from_file(str(config))
    flat = pq.read_table(data / common.FLAT_PARQUET)
    tables = from_flat(flat, "flat.parquet", config=cfg, fmt="parquet")
    ann = tables.annotations
    out: list[dict] = []

    def case(what: str, now: str, now_fn, change: str, new_fn, same=None, repeats: int = 3) -> None:
        # best of a few: these are single-threaded micro-measurements on a shared machine
        t_now, r_now = min((common.time_once(now_fn) for _ in range(repeats)), key=lambda x: x[0])
        t_new, r_new = min((common.time_once(new_fn) for _ in range(repeats)), key=lambda x: x[0])
        ok = same(r_now, r_new) if same else None
        out.append({"what": what, "now": now, "now_s": round(t_now, 4), "change": change,
                    "change_s": round(t_new, 4), "saves_s": round(t_now - t_new, 4), "same_result": ok})
        common.log(f"   what-if {what}: {t_now:.3f} s -> {t_new:.3f} s (same: {ok})")

    def is_sorted(t: "pa.Table", keys: list[str]) -> bool:
        n = t.num_rows
        ok = None
        for k in reversed(keys):  # lexicographic: a < b on this key, or equal and the rest ok
            col = t.column(k).combine_chunks()
            a, b = col.slice(0, n - 1), col.slice(1)
            lt = pc.less(a, b)
            ok = pc.or_(lt, pc.equal(a, b)) if ok is None else pc.or_(lt, pc.and_(pc.equal(a, b), ok))
        return bool(pc.all(ok).as_py())

    keys = C.KEYS["annotations"]
    case("finish() re-sorts input that from_flat already sorted",
         "sort_table: sort_indices + take of all 19 columns", lambda: C.sort_table(ann, "annotations"),
         "check adjacent keys are in order, skip the take when they are",
         lambda: ann if is_sorted(ann, keys) else C.sort_table(ann, "annotations"),
         lambda a, b: a.equals(b))

    # (the stats prototypes that were here are applied: stats.compute now counts run
    # starts and integer codes)

    def bounds_unique_keys() -> list[int]:
        tk = ann.column("task_key").combine_chunks()
        n = len(tk)
        last = np.ones(n, dtype=bool)
        last[:-1] = pc.not_equal(tk.slice(0, n - 1), tk.slice(1)).to_numpy(zero_copy_only=False)
        idx = np.flatnonzero(last)
        h = C.key_hashes(tk.take(pa.array(idx)))
        return (idx[h % np.uint64(C.TASKS_PER_PART) == 0] + 1).tolist()

    case("part_bounds(annotations) hashes every row's task key", "key_hashes over 1 key per row",
         lambda: [b for _, b in C.part_bounds(ann)][:-1],
         "hash only the last row of each task (1 key per task: 3x fewer here)",
         bounds_unique_keys, lambda a, b: a == [x for x in b if x != ann.num_rows])

    import pyarrow.json as pj

    case("read a flat JSONL", "json.loads per line + pa.Table.from_pylist",
         lambda: pa.Table.from_pylist(read_jsonl(data / common.FLAT_JSONL)),
         "pyarrow.json.read_json (multithreaded C++), Python path kept for Label Studio task lines and errors",
         lambda: pj.read_json(data / common.FLAT_JSONL), lambda a, b: a.num_rows == b.num_rows)

    def sort_flat_then_list() -> "pa.Table":
        # sort the flat columns, build the list column after: take() of a list column is dear
        idx = pc.sort_indices(flat, sort_keys=[("task_key", "ascending"), ("annotator", "ascending")])
        t = flat.take(idx)
        n = t.num_rows
        offsets = pa.array(np.arange(n + 1, dtype=np.int32))
        return t.append_column("labels", pa.ListArray.from_arrays(offsets, t.column("label").combine_chunks()))

    def sort_now() -> "pa.Table":
        n = flat.num_rows
        offsets = pa.array(np.arange(n + 1, dtype=np.int32))
        base = pa.table({"task_key": flat.column("task_key"), "annotator": flat.column("annotator"),
                         "from_name": pa.array(["sentiment"] * n),
                         "labels": pa.ListArray.from_arrays(offsets, flat.column("label").combine_chunks())})
        return base.sort_by([("task_key", "ascending"), ("annotator", "ascending"), ("from_name", "ascending")])

    case("from_flat sort of the base table", "sort_by 3 string keys (from_name constant) + take incl. list column",
         sort_now, "sort by the 2 keys that vary (single control), take flat columns, build the list after",
         sort_flat_then_list, lambda a, b: a.column("task_key").equals(b.column("task_key")))

    from annover.store.snapshots import part_bytes

    bounds = C.part_bounds(ann)

    def write_parts(**opts):
        def run():
            blobs = []
            for a, b in bounds:
                sink = pa.BufferOutputStream()
                pq.write_table(ann.slice(a, b - a).replace_schema_metadata(None), sink,
                               row_group_size=max(1, b - a), use_dictionary=True, write_statistics=True,
                               version="2.6", data_page_version="1.0", store_schema=True, **opts)
                blobs.append(sink.getvalue())
            return sum(x.size for x in blobs)
        return run

    now_size = sum(len(part_bytes(ann.slice(a, b - a))) for a, b in bounds)
    for label, opts in (("zstd level 1", {"compression": "zstd", "compression_level": 1}),
                        ("lz4", {"compression": "lz4"}), ("snappy", {"compression": "snappy"})):
        case(f"write annotation parts ({now_size / 1e6:.2f} MB now)", "zstd level 3, serial",
             write_parts(compression="zstd", compression_level=3), f"{label}, serial", write_parts(**opts))
        out[-1]["change_bytes"] = write_parts(**opts)()

    return out


def startup_costs(data: Path) -> list[dict]:
    """Import costs a CLI snapshot pays, each in a new interpreter (median of 5)."""
    py = sys.executable
    pq_file = str(data / common.FLAT_PARQUET)
    snippets = {
        "python -c pass": "pass",
        "import label_studio_sdk.label_interface (LabelingConfig)": "import label_studio_sdk.label_interface",
        "import dvc.repo (dvc add)": "import dvc.repo",
        "import pyarrow.parquet": "import pyarrow.parquet",
        "pq.read_table(file) (imports pyarrow.dataset, and pandas when installed)":
            f"import pyarrow.parquet as pq; pq.read_table({pq_file!r})",
        "pq.ParquetFile(file).read() (no dataset import)":
            f"import pyarrow.parquet as pq; pq.ParquetFile({pq_file!r}).read()",
        "import defusedxml.ElementTree (enough to read a <Choices> config)": "import defusedxml.ElementTree",
    }
    out = []
    for name, code in snippets.items():
        t = common.time_command([py, "-c", code], 5, warmup=1)
        out.append({"what": name, "median_s": t["median_s"]})
        common.log(f"   startup cost {name}: {t['median_s']:.3f} s")
    return out


def warm_up(config: Path) -> None:
    """Import what a library snapshot imports, untimed: the library figure is a warm process.

    The CLI figure is the cold one (a new interpreter each run).
    """
    import annover.formats.flat  # noqa: F401
    import annover.formats.own_parquet  # noqa: F401
    import annover.repo.snapshot  # noqa: F401
    import annover.store.snapshots  # noqa: F401
    import annover.model.stats  # noqa: F401
    import dvc.repo  # noqa: F401
    from annover.model.config import LabelingConfig

    LabelingConfig.from_file(str(config)).controls


@contextmanager
def arrow_trace(lines: dict):
    """Time every pyarrow.compute / pyarrow / parquet call and bill it to the annover line that made it.

    cProfile sees Arrow kernels only as one ``compute.py:wrapper`` entry; this says which
    line of annover spent the time. Only the outermost traced call is timed (no double
    counting); calls in worker threads are marked as such (their times overlap).
    """
    import linecache
    import threading

    import pyarrow as pa
    import pyarrow.acero as acero
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    import annover

    pkg = str(Path(annover.__file__).resolve().parent)
    local = threading.local()
    patched: list[tuple[object, str, object]] = []

    def wrap(owner, name: str, label: str):
        fn = getattr(owner, name)

        def traced(*args, **kwargs):
            if getattr(local, "depth", 0):
                return fn(*args, **kwargs)
            local.depth = 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t0
                local.depth = 0
                f = sys._getframe(1)
                while f is not None and not f.f_code.co_filename.startswith(pkg):
                    f = f.f_back
                if f is not None:
                    where = f"{Path(f.f_code.co_filename).relative_to(Path(pkg).parent)}:{f.f_lineno}"
                    code = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
                    thread = "" if threading.current_thread() is threading.main_thread() else " [worker threads]"
                    e = lines.setdefault((where + thread, label), {"s": 0.0, "calls": 0, "code": code[:90]})
                    e["s"] += dt
                    e["calls"] += 1

        patched.append((owner, name, fn))
        setattr(owner, name, traced)

    for n in dir(pc):
        obj = getattr(pc, n)
        if not n.startswith("_") and callable(obj) and not isinstance(obj, type):
            wrap(pc, n, f"pc.{n}")
    for n in ("array", "table", "concat_tables", "chunked_array", "nulls"):
        wrap(pa, n, f"pa.{n}")
    wrap(acero, "_group_by", "Table.group_by")
    wrap(pq, "write_table", "pq.write_table")
    wrap(pq, "read_table", "pq.read_table")
    try:
        yield lines
    finally:
        for owner, name, fn in reversed(patched):
            setattr(owner, name, fn)


def trace_library(path: Path, config: Path, work: Path, top: int = 25) -> tuple[str, list[dict]]:
    """Arrow time per annover source line during one library snapshot."""
    import annover

    root = common.fresh_repo(work, "trace")
    repo = annover.Repo(root)
    lines: dict = {}
    with common.chdir(root), arrow_trace(lines):
        t0 = time.perf_counter()
        repo.snapshot(str(path), config=str(config), message="trace")
        total = time.perf_counter() - t0
    shutil.rmtree(root, ignore_errors=True)
    rows = sorted(({"where": w, "call": c, **v} for (w, c), v in lines.items()), key=lambda r: -r["s"])
    main_s = sum(r["s"] for r in rows if "worker" not in r["where"])
    text = [f"Arrow calls by annover line: {main_s:.3f} s of {total:.3f} s on the main thread (traced run)",
            common.markdown_table(["annover line", "call", "calls", "s", "code"],
                                  [[r["where"], r["call"], r["calls"], round(r["s"], 3), r["code"]] for r in rows[:top]])]
    return "\n".join(text), [{**r, "s": round(r["s"], 4)} for r in rows[:top]]


def main(argv: list[str] | None = None) -> dict:
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--inputs", default=",".join(INPUTS), help=f"comma list of {', '.join(INPUTS)}")
    p.add_argument("--no-cli", action="store_true", help="skip the CLI runs")
    p.add_argument("--no-profile", action="store_true", help="skip components, Arrow-by-line trace and cProfile")
    p.add_argument("--no-what-if", action="store_true", help="skip the prototypes of proposed changes")
    p.add_argument("--profile-out", type=common._abspath, default=None, help="write the profile text here")
    a = p.parse_args(argv)
    tmp = common.isolate_env(a.tmp)
    a.data, meta = common.ensure_data(a.data, a.rows, a.seed, tmp)
    config = a.data / common.CONFIG
    result: dict = {"figure": "snapshot", "rows": a.rows, "tasks": meta["tasks"], "target_ratio": TARGET,
                    "machine": common.machine(), "inputs": {}}
    profiles: list[str] = []
    warm_up(config)
    try:
        for kind in [k.strip() for k in a.inputs.split(",") if k.strip()]:
            fname, sort_keys = INPUTS[kind]
            path = (a.data / fname).resolve()
            common.log(f"== snapshot from {kind} ({path.name}, {path.stat().st_size / 1e6:.1f} MB)")
            stage_log: list[dict] = []
            lib_fn, lib_setup, lib_state = library_case(path, config, tmp, stage_log)
            cases = {
                "floor": (lambda: floor(path, sort_keys, tmp / "floor.parquet"), None),
                "library": (lib_fn, lib_setup),
            }
            if not a.no_cli:
                cli_fn, cli_setup = cli_case(path, config, tmp)
                cases["floor_process"] = (lambda: floor_process(path, sort_keys, tmp / "floor_p.parquet"), None)
                # the same floor on the allocator the annover command picks (annover.cli.ARROW_POOL)
                cases["floor_process_cli_pool"] = (
                    lambda: floor_process(path, sort_keys, tmp / "floor_q.parquet", CLI_POOL), None)
                cases["cli"] = (cli_fn, cli_setup)
            cpu: dict[str, list[float]] = {"floor": [], "library": []}
            for name in cpu:  # the process's CPU time of each run (all its threads): robust to load
                cases[name] = (_cpu_of(cases[name][0], cpu[name]), cases[name][1])
            times = common.time_interleaved(cases, a.repeats, log=common.log)
            v = lib_state["version"]
            entry = {
                "input_bytes": path.stat().st_size,
                "annotation_rows": v.record["tables"]["annotations"]["rows"],
                "floor": times["floor"], "library": times["library"],
                "ratio_library": common.ratio(times["library"], times["floor"]),
                "cpu_median_s": {k: round(statistics.median(v), 4) for k, v in cpu.items()},
                "stages_median_s": {k: round(sorted(s[k] for s in stage_log)[len(stage_log) // 2], 4)
                                    for k in stage_log[0]},
            }
            if "cli" in times:
                entry["cli"] = times["cli"]
                entry["ratio_cli"] = common.ratio(times["cli"], times["floor"])
                entry["floor_process"] = times["floor_process"]
                entry["ratio_cli_process"] = common.ratio(times["cli"], times["floor_process"])
                entry["floor_process_cli_pool"] = times["floor_process_cli_pool"]
                entry["ratio_cli_process_same_pool"] = common.ratio(times["cli"], times["floor_process_cli_pool"])
            if not a.no_profile:
                common.log("   components ...")
                entry["components_s"] = components(path, config, kind)
                common.log("   Arrow calls by line ...")
                trace_text, entry["arrow_by_line"] = trace_library(path, config, tmp)
                common.log("   cProfile ...")
                profiles.append(f"######## snapshot from {kind} ({a.rows:,} rows)\n\n{trace_text}\n\n"
                                + profile_library(path, config, tmp))
            result["inputs"][kind] = entry
            common.log(f"   floor {times['floor']['median_s']:.3f} s  library {times['library']['median_s']:.3f} s "
                       f"({entry['ratio_library']}x)"
                       + (f"  cli {times['cli']['median_s']:.3f} s ({entry['ratio_cli']}x; "
                          f"{entry['ratio_cli_process']}x of the floor as a process, "
                          f"{entry['ratio_cli_process_same_pool']}x of it on the {CLI_POOL} allocator)"
                          if "cli" in times else ""))
        if not a.no_what_if:
            common.log("== what if: prototypes of proposed changes")
            result["what_if"] = what_if(a.data, config)
            result["startup_costs"] = startup_costs(a.data)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    common.finish(result, a.out, report, metrics_view)
    if profiles:
        text = "\n\n".join(profiles)
        dest = a.profile_out or (a.out.with_name(a.out.stem + "_profile.txt") if a.out else None)
        if dest:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text)
        else:
            print(text)
    return result


def metrics_view(result: dict) -> dict:
    """The numbers `dvc metrics show` lists: medians, ratios, stages."""
    out: dict = {"rows": result["rows"], "target_ratio": result["target_ratio"]}
    for kind, e in result["inputs"].items():
        m = {"floor_s": e["floor"]["median_s"], "library_s": e["library"]["median_s"],
             "ratio_library": e["ratio_library"]}
        if "cli" in e:
            m |= {"cli_s": e["cli"]["median_s"], "ratio_cli": e["ratio_cli"],
                  "floor_process_s": e["floor_process"]["median_s"], "ratio_cli_process": e["ratio_cli_process"],
                  "floor_process_cli_pool_s": e["floor_process_cli_pool"]["median_s"],
                  "ratio_cli_process_same_pool": e["ratio_cli_process_same_pool"]}
        m["cpu_s"] = e.get("cpu_median_s", {})
        m["stages_s"] = {common.metric_key(k): v for k, v in e["stages_median_s"].items()}
        out[kind] = m
    return out


def report(result: dict) -> str:
    rows = []
    for kind, e in result["inputs"].items():
        cli = "cli" in e
        rows.append([kind, f"{e['floor']['median_s']:.3f}", f"{e['library']['median_s']:.3f}", f"{e['ratio_library']:.2f}x",
                     f"{e['floor_process']['median_s']:.3f}" if cli else "-",
                     f"{e['cli']['median_s']:.3f}" if cli else "-",
                     f"{e['ratio_cli_process']:.2f}x" if cli else "-",
                     f"{e['floor_process_cli_pool']['median_s']:.3f}" if cli else "-",
                     f"{e['ratio_cli_process_same_pool']:.2f}x" if cli else "-",
                     f"{e['ratio_cli']:.2f}x" if cli else "-", f"<= {result['target_ratio']}x"])
    text = [f"snapshot of {result['rows']:,} annotation rows ({result['tasks']:,} tasks), "
            f"median of {next(iter(result['inputs'].values()))['floor']['repeats']} runs, seconds",
            common.markdown_table(["input", "floor", "library", "ratio", "floor (process)", "cli", "ratio",
                                   f"floor (process, {CLI_POOL} allocator)", "ratio",
                                   "cli / in-process floor", "target"], rows)]
    for kind, e in result["inputs"].items():
        if "cpu_median_s" in e:
            c = e["cpu_median_s"]
            text.append(f"\nCPU time of the process (process_time, median), {kind} input: "
                        f"library {c['library']:.3f} s, floor {c['floor']:.3f} s")
        text.append(f"\nstages of the library call, {kind} input (median s):")
        text.append(common.markdown_table(["stage", "s"], [[k, f"{v:.3f}"] for k, v in e["stages_median_s"].items()]))
        if "components_s" in e:
            text.append(f"\ncomponents, {kind} input (single-threaded, one run):")
            text.append(common.markdown_table(["step", "s / count"], [[k, v] for k, v in e["components_s"].items()]))
    if result.get("what_if"):
        text.append("\nwhat if (prototypes of proposed changes, flat.parquet input, best of 3 each):")
        text.append(common.markdown_table(
            ["what", "now", "s", "change", "s", "saves s", "same result"],
            [[w["what"], w["now"], w["now_s"], w["change"], w["change_s"], w["saves_s"], w["same_result"]]
             for w in result["what_if"]]))
    if result.get("startup_costs"):
        text.append("\nimport costs a CLI snapshot pays (new interpreter each, median of 5):")
        text.append(common.markdown_table(["what", "s"], [[c["what"], c["median_s"]] for c in result["startup_costs"]]))
    return "\n".join(text)


if __name__ == "__main__":
    main()
