"""Storage per version: the new bytes a version stores, against the changed rows' own Parquet.

For each round a fresh repository gets v1 (``flat.parquet``, N annotation rows) and then
v2, one round of change on v1 (not timed):

- scattered:   1% of labels changed, scattered over every task (``flat_v2.parquet``);
- appended:    1% new tasks (rows) whose keys sort after every old key;
- contiguous:  the labels of 1% of the rows changed, in one contiguous range of task keys;
- interleaved: 1% new tasks whose keys fall between the old ones.

*New bytes* are the sizes of the objects v2 needs that v1 does not (what ``dvc push``
sends and the DVC cache and remote keep). *Changed rows* are, per table, the rows of v2
that v1 does not hold identically (added or modified, each once) plus the rows of v1
whose keys v2 lacks (removed), written with annover's own Parquet writer (zstd 3): the
ratio is new bytes / that size (target ≤ 3x).

Load at the compaction threshold: scattered 1% relabels are snapshotted one after the
other until the next would pass the threshold; ``annover.load`` of the last version with
deltas is timed round-robin against ``pq.read_table`` of the parts of the same content
written whole (a fresh snapshot with deltas off), target ≤ 1.2x. The reads are timed in a
loop of their own, and the diffs (parent -> version, v1 -> version, against the DuckDB join)
in another: a join or a diff between two reads moved the reads' times by up to 2x.

    python benchmarks/bench_storage.py                      # 1,000,000 rows
    python benchmarks/bench_storage.py --rows 100000 --repeats 5
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

TARGET_BYTES = 3.0
TARGET_LOAD = 1.2
ROUNDS = ("scattered", "appended", "contiguous", "interleaved")


def round_input(src: Path, kind: str, out: Path, seed: int, step: int = 0) -> Path:
    """The flat Parquet of one round of change on ``src`` (a flat Parquet file)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    flat = pq.read_table(src)
    rng = np.random.default_rng(seed + 7 * step + ROUNDS.index(kind))
    n = flat.num_rows
    labels = flat.column("label").to_numpy(zero_copy_only=False)
    if kind in ("scattered", "contiguous"):
        if kind == "scattered":
            hit = rng.random(n) < 0.01
        else:  # the rows of the tasks in one key range, 1% of the rows
            keys = flat.column("task_key").to_numpy(zero_copy_only=False)
            order = np.argsort(keys, kind="stable")
            start = int(rng.integers(0, n - n // 100))
            hit = np.zeros(n, dtype=bool)
            hit[order[start:start + n // 100]] = True
        shifted = np.array([common.LABELS[(common.LABELS.index(x) + 1) % len(common.LABELS)] for x in labels[hit]])
        labels = labels.copy()
        labels[hit] = shifted
        t = flat.set_column(1, "label", pa.array(labels.tolist(), pa.string()))
    else:
        tasks = max(1, n // 300)  # 1% of the rows, three answers a task
        prefix = "zz-" if kind == "appended" else "doc-"
        suffix = "" if kind == "appended" else "n"  # never an old key: old keys are 12 characters
        new_keys = [f"{prefix}{int(x):08x}{suffix}" for x in rng.integers(0, 1 << 32, tasks)]
        rows = {"task_key": [k for k in new_keys for _ in range(3)],
                "label": rng.choice(common.LABELS, 3 * tasks).tolist(),
                "annotator": [f"annotator-{(i * 7 + j) % common.ANNOTATORS:02d}@example.org"
                              for i in range(tasks) for j in range(3)]}
        t = pa.concat_tables([flat, pa.table(rows, schema=flat.schema)])
    assert pc.count_distinct(t.column("task_key")).as_py() > 0
    pq.write_table(t, out)
    return out


def changed_rows_bytes(repo, a: str, b: str) -> dict:
    """Per table: rows changed (added, removed, modified) from ``a`` to ``b`` and their Parquet size."""
    import duckdb
    import pyarrow as pa

    from annover.model import canonical as C
    from annover.store.snapshots import part_bytes

    out = {}
    for name in ("tasks", "annotations"):
        ta, tb = repo.load(a, name), repo.load(b, name)
        con = duckdb.connect()
        con.register("ta", ta)
        con.register("tb", tb)
        keys = ", ".join(C.KEYS[name])
        # a row added or modified: its new image once; a row removed: its old image
        added = pa.table(con.sql("SELECT * FROM tb EXCEPT ALL SELECT * FROM ta").arrow())
        removed = pa.table(con.sql(f"SELECT * FROM ta ANTI JOIN tb USING ({keys})").arrow())
        con.close()
        rows = pa.concat_tables([added.cast(ta.schema), removed.cast(ta.schema)])
        out[name] = {"rows": rows.num_rows, "bytes": len(part_bytes(rows)) if rows.num_rows else 0}
    return out


def new_bytes(repo, a: str, b: str) -> dict:
    from annover.store.snapshots import read_manifest

    va, vb = repo.show(a), repo.show(b)
    old = {r.oid for r in repo.objects_of(va)}
    new = [r for r in repo.objects_of(vb) if r.oid not in old]
    layouts = {name: read_manifest(repo.store, vb.snapshot(name))["schema"] for name in ("tasks", "annotations")}
    return {"bytes": sum(r.size for r in new), "objects": len(new),
            "version_bytes": sum(r.size for r in repo.objects_of(vb)), "layouts": layouts}


def one_round(data: Path, tmp: Path, kind: str, seed: int) -> dict:
    import annover

    root = common.fresh_repo(tmp, f"storage-{kind}")
    repo = annover.Repo(root)
    with common.chdir(root):
        repo.snapshot(str((data / common.FLAT_PARQUET).resolve()), config=str(data / common.CONFIG), message="v1")
        repo.snapshot(str(round_input(data / common.FLAT_PARQUET, kind, tmp / f"{kind}.parquet", seed)), message=kind)
    stored, changed = new_bytes(repo, "v1", "v2"), changed_rows_bytes(repo, "v1", "v2")
    base = sum(c["bytes"] for c in changed.values())
    r = {"round": kind, "new": stored, "changed": changed, "changed_bytes": base,
         "ratio": round(stored["bytes"] / base, 2) if base else None,
         "of_version": round(stored["bytes"] / stored["version_bytes"], 4)}
    common.log(f"   {kind}: {stored['bytes'] / 1e3:.1f} kB new, changed rows {base / 1e3:.1f} kB: {r['ratio']}x")
    shutil.rmtree(root, ignore_errors=True)
    return r


def chain_to_threshold(data: Path, tmp: Path, seed: int) -> tuple[Path, str, int, list[dict]]:
    """A repository of 1% scattered relabels up to the last version before compaction:
    (root, that version's tag, its deltas, each version's new bytes)."""
    import annover
    from annover.store.snapshots import read_manifest

    root = common.fresh_repo(tmp, "storage-chain")
    repo = annover.Repo(root)
    steps, last, deltas = [], None, 0
    with common.chdir(root):
        repo.snapshot(str((data / common.FLAT_PARQUET).resolve()), config=str(data / common.CONFIG), message="v1")
        src = data / common.FLAT_PARQUET
        for i in range(1, 40):
            src = round_input(src, "scattered", tmp / f"chain-{i}.parquet", seed, i)
            tag = repo.snapshot(str(src), message=f"relabel {i}").tag
            m = read_manifest(repo.store, repo.show(tag).snapshot("annotations"))
            steps.append({"tag": tag, **new_bytes(repo, f"v{i}", tag), "deltas": len(m.get("deltas", []))})
            common.log(f"   {tag}: {len(m.get('deltas', []))} deltas, {steps[-1]['bytes'] / 1e3:.1f} kB new")
            if not m.get("deltas"):
                break
            last, deltas = tag, len(m["deltas"])
    return root, last, deltas, steps


def load_at_threshold(data: Path, tmp: Path, seed: int, repeats: int) -> dict:
    import pyarrow.parquet as pq

    import annover
    from annover.store import snapshots as S
    from annover.store.objects import ObjectRef

    root, tag, deltas, steps = chain_to_threshold(data, tmp, seed)
    if tag is None:  # the table is under MIN_BASE_BYTES: every version is written whole
        common.log(f"   no version took deltas (a table under {S.MIN_BASE_BYTES >> 20} MiB is written whole): "
                   "nothing to time")
        return {"deltas": 0, "steps": steps, "ratio": None}
    prev = f"v{int(tag[1:]) - 1}"
    whole_root = common.fresh_repo(tmp, "storage-whole")
    keep, S.MIN_BASE_BYTES = S.MIN_BASE_BYTES, 1 << 62
    try:  # the parent and the last version with deltas, written whole
        whole = annover.Repo(whole_root)
        for i, rev in enumerate((prev, tag)):
            content = tmp / f"whole-{rev}.parquet"
            annover.Repo(root).export(rev, "parquet", content)
            with common.chdir(whole_root):
                whole.snapshot(str(content), config=str(data / common.CONFIG) if i == 0 else None, message=rev)
    finally:
        S.MIN_BASE_BYTES = keep

    def part_files(rev: str) -> list[str]:
        m = S.read_manifest(whole.store, whole.show(rev).snapshot("annotations"))
        return [str(whole.store.locate(ObjectRef.from_json(p))) for p in m["parts"]]

    paths = part_files("v2")
    ids = [r.show(v).record["tables"]["annotations"]["id"] for r, v in ((annover.Repo(root), tag), (whole, "v2"))]
    assert ids[0] == ids[1], "the version written whole holds other annotations"
    assert annover.load(tag, repo=root).num_rows == pq.read_table(paths).num_rows
    dm = S.read_manifest(annover.Repo(root).store, annover.Repo(root).show(tag).snapshot("annotations"))
    delta_rows = sum((d["upserts"] or {}).get("rows", 0) + (d["deletes"] or {}).get("rows", 0) for d in dm["deltas"])
    base_rows = sum(p["rows"] for p in dm["base"])
    import bench_diff

    repo = annover.Repo(root)
    join = (part_files("v1"), paths)
    lay = S.Layout.of(dm)  # the same layout, and as a reader that ignores `replaces` merges it
    general = dataclasses.replace(lay, replaces=tuple(None for _ in lay.deltas))
    # the reads and the diffs timed in two loops of their own: a DuckDB join or a diff run
    # between two reads (a gigabyte taken and given back) moved the reads' times by up to 2x
    reads = {"annover.load (deltas)": (lambda: annover.load(tag, repo=root), None),
             "its layout read in place (no repository opened)": (
                 lambda: S.read_layout(repo.store, "annotations", lay), None),
             "its layout read the general way (no repository opened)": (
                 lambda: S.read_layout(repo.store, "annotations", general), None),
             "pq.read_table(parts written whole)": (lambda: pq.read_table(paths), None),
             "annover.load (written whole)": (lambda: annover.load("v2", repo=whole_root), None)}
    diffs = {"DuckDB join of the parent and the version, whole": (lambda: bench_diff.duckdb_join(*join, rows=False), None),
             "annover diff parent -> version (deltas)": (lambda: repo.diff(prev, tag), None),
             "annover diff parent -> version (written whole)": (lambda: whole.diff("v1", "v2"), None),
             "annover diff v1 -> version (deltas)": (lambda: repo.diff("v1", tag), None)}
    times = {**common.time_interleaved(reads, repeats, warmup=1, log=common.log),
             **common.time_interleaved(diffs, repeats, warmup=1, log=common.log)}
    floor_t = times["pq.read_table(parts written whole)"]
    jt = times["DuckDB join of the parent and the version, whole"]
    return {"tag": tag, "deltas": deltas, "delta_rows": delta_rows, "base_rows": base_rows, "steps": steps,
            "times": times, "ratio": common.ratio(times["annover.load (deltas)"], floor_t),
            "ratio_whole": common.ratio(times["annover.load (written whole)"], floor_t),
            "ratio_in_place": common.ratio(times["its layout read in place (no repository opened)"], floor_t),
            "ratio_general": common.ratio(times["its layout read the general way (no repository opened)"], floor_t),
            "diff_ratios": {k: common.ratio(v, jt) for k, v in times.items() if k.startswith("annover diff")}}


def report(r: dict) -> str:
    rows = [[x["round"], f"{x['new']['bytes'] / 1e3:.1f} kB", f"{100 * x['of_version']:.2f}%",
             f"{x['changed_bytes'] / 1e3:.1f} kB ({sum(c['rows'] for c in x['changed'].values()):,} rows)",
             f"**{x['ratio']}x**", ", ".join(f"{k} {v.split('/')[-1]}" for k, v in x["new"]["layouts"].items())]
            for x in r["rounds"]]
    out = [f"Storage per version, {r['rows']:,} annotation rows ({r['tasks']:,} tasks); target ≤ {TARGET_BYTES}x",
           "", common.markdown_table(["round", "new bytes", "of the version", "changed rows' Parquet", "ratio",
                                      "layout (manifest schema)"], rows)]
    ld = r.get("load")
    if ld and not ld["deltas"]:
        out += ["", "No version of this size took deltas (a table under the compaction floor is written whole)."]
    elif ld:
        steps = ", ".join(f"{s['tag']} {s['bytes'] / 1e3:.0f} kB ({s['deltas']} deltas)" for s in ld["steps"])
        t = ld["times"]
        out += ["", f"Chain of 1% scattered relabels: {steps}",
                f"Load at the threshold ({ld['tag']}: {ld['deltas']} deltas, {ld['delta_rows']:,} delta rows "
                f"on {ld['base_rows']:,} base rows): annover.load {t['annover.load (deltas)']['median_s']:.3f} s, "
                f"pq.read_table of the same content written whole "
                f"{t['pq.read_table(parts written whole)']['median_s']:.3f} s: **{ld['ratio']}x** "
                f"(target ≤ {TARGET_LOAD}x); annover.load of the whole-written version {ld['ratio_whole']}x; "
                f"its layout read in place {ld['ratio_in_place']}x, the general way {ld['ratio_general']}x "
                "(both without opening the repository)",
                "Diff vs the DuckDB join of the two versions written whole "
                f"({t['DuckDB join of the parent and the version, whole']['median_s']:.3f} s): "
                + ", ".join(f"{k[len('annover diff '):]} {t[k]['median_s']:.3f} s ({v}x)"
                            for k, v in ld["diff_ratios"].items())]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> dict:
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.set_defaults(repeats=7)
    p.add_argument("--no-load", action="store_true", help="the storage rounds only")
    a = p.parse_args(argv)
    tmp = common.isolate_env(a.tmp)
    a.data, meta = common.ensure_data(a.data, a.rows, a.seed, tmp)
    result: dict = {"figure": "storage", "rows": a.rows, "tasks": meta["tasks"], "machine": common.machine(),
                    "rounds": []}
    try:
        for kind in ROUNDS:
            common.log(f"== round {kind} ...")
            result["rounds"].append(one_round(a.data, tmp, kind, a.seed))
        if not a.no_load:
            common.log("== load at the compaction threshold ...")
            result["load"] = load_at_threshold(a.data, tmp, a.seed, a.repeats)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    common.finish(result, a.out, report, lambda r: {"rounds": [{k: x[k] for k in ("round", "ratio", "of_version")}
                                                               for x in r["rounds"]],
                                                    "load_ratio": (r.get("load") or {}).get("ratio")})
    return result


if __name__ == "__main__":
    main()
