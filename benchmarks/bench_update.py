"""``annover snapshot --update``: a round of some of the tasks (a sample's project) brought back
into a version of ``--rows`` annotation rows, against a whole snapshot of the same content and
the floor of any update.

v1 is ``flat.parquet``; the round is ``--share`` of its tasks (every 1/share-th task key), their
rows with every label relabeled to the next of the sorted labels. Timed round-robin, each on a
fresh repository holding v1 (made outside the clock):

    annover --update      ``Repo.snapshot(round, update=True)``
    annover whole         ``Repo.snapshot(whole)``: the file of v1 with the round's rows in place
    floor (pyarrow)       v1's file and the round read, v1's rows of the round's tasks dropped, the
                          rest and the round concatenated, sorted by the keys, written as Parquet

    python benchmarks/bench_update.py                     # 1,000,000 rows, a 1% round
    python benchmarks/bench_update.py --share 0.1 --repeats 5
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

KEYS = ["task_key", "annotation_key", "region_key"]


def inputs(data: Path, out: Path, share: float) -> tuple[Path, Path]:
    """(the round: ``share`` of the tasks, relabeled; the whole file with the round's rows in place)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(data / "flat.parquet")
    keys = pc.unique(t.column("task_key"))
    chosen = keys.take(pa.array(range(0, len(keys), max(1, round(1 / share)))))
    mine = pc.is_in(t.column("task_key"), value_set=chosen)
    labels = sorted(set(pc.unique(t.column("label")).to_pylist()))
    nxt = pc.take(labels[1:] + labels[:1], pc.index_in(t.column("label"), value_set=pa.array(labels)))
    relabeled = t.set_column(t.schema.get_field_index("label"), "label", pc.if_else(mine, nxt, t.column("label")))
    pq.write_table(relabeled.filter(mine), out / "round.parquet")
    pq.write_table(relabeled, out / "whole.parquet")
    return out / "round.parquet", out / "whole.parquet"


def floor(v1: Path, part: Path, out: Path) -> int:
    """What any update does at least: both read, the replaced rows dropped, the rest sorted and written."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    old, new = pq.read_table(v1), pq.read_table(part)
    kept = old.filter(pc.invert(pc.is_in(old.column("task_key"), value_set=pc.unique(new.column("task_key")))))
    t = pa.concat_tables([kept, new])
    t = t.take(pc.sort_indices(t, [(k, "ascending") for k in KEYS if k in t.column_names]))
    pq.write_table(t, out, compression="zstd")
    return t.num_rows


def measure(data: Path, tmp: Path, repeats: int, share: float) -> dict:
    import annover

    part, whole = inputs(data, tmp, share)
    config = str(data / common.CONFIG)
    made: dict[str, annover.Repo] = {}
    runs = [0]

    def at_v1(case: str) -> "callable":
        def setup() -> None:
            runs[0] += 1
            r = annover.Repo(common.fresh_repo(tmp, f"{case}-{runs[0]}"))
            with common.chdir(r.root):
                r.snapshot(str(data / "flat.parquet"), config=config, message="v1")
            made[case] = r
        return setup

    def snap(case: str, src: Path, update: bool) -> "callable":
        def run() -> None:
            r = made[case]
            with common.chdir(r.root):
                assert r.snapshot(str(src), message="round", update=update).changed
        return run

    cases = {"annover snapshot --update (the round)": (snap("update", part, True), at_v1("update")),
             "annover snapshot (the whole file)": (snap("whole", whole, False), at_v1("whole")),
             "floor: pyarrow read, replace, sort, write": (lambda: floor(data / "flat.parquet", part,
                                                                          tmp / "floor.parquet"), None)}
    times = common.time_interleaved(cases, repeats, warmup=1, log=common.log)
    base = times["floor: pyarrow read, replace, sort, write"]
    same = made["update"].show("HEAD").record["tables"] == made["whole"].show("HEAD").record["tables"]
    return {"share": share, "times": times, "same_content": same,
            "ratios": {k: common.ratio(v, base) for k, v in times.items()}}


def report(r: dict) -> str:
    x = r["results"]
    rows = [[k, f"{v['median_s']:.3f}", f"{v['best_s']:.3f}", f"{x['ratios'][k]}x"] for k, v in x["times"].items()]
    return "\n".join([f"snapshot --update of {x['share']:.0%} of the tasks into {r['rows']:,} annotation rows "
                      f"(same content as the whole snapshot: {x['same_content']})", "",
                      common.markdown_table(["case", "median (s)", "best (s)", "vs floor"], rows)])


def main(argv: list[str] | None = None) -> dict:
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--share", type=float, default=0.01, help="share of the tasks in the round (default 0.01)")
    p.set_defaults(repeats=5)
    a = p.parse_args(argv)
    tmp = common.isolate_env(a.tmp)
    a.data, _ = common.ensure_data(a.data, a.rows, a.seed, tmp)
    result = {"figure": "update", "rows": a.rows, "machine": common.machine()}
    try:
        result["results"] = measure(a.data, tmp, a.repeats, a.share)
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    common.finish(result, a.out, report, lambda r: {"ratios": r["results"]["ratios"]})
    return result


if __name__ == "__main__":
    main()
