"""`annover.dask.read(url, rev)` against `dask.dataframe.read_parquet` of the same part files.

A repository with two versions of N annotation rows is made and pushed to a local-folder
DVC remote first (not timed): v1 from ``flat.parquet``, written whole, and v2 from
``flat_v2.parquet`` (~1% of labels changed), stored as v1's parts plus one delta. The reads
go to the remote, from a git clone that did not ``dvc pull`` (the manifest is read there).
Then, round-robin, for each version:

- call:    ``annover.dask.read(remote, rev, repo=CLONE)`` (what it reads before compute())
           against ``dd.read_parquet(urls)`` of the part URLs ``remote_layout`` gives;
- compute: the same followed by ``.compute()``.

The floor reads the base parts and the delta's upserts as they are; annover also drops the
tasks the delta names from the base (merge-on-read), so on v2 it does more work than the
floor. Medians, cases alternated (the machine is shared).

    python benchmarks/bench_engines.py                           # 1,000,000 rows, 7 repeats
    python benchmarks/bench_engines.py --rows 100000 --repeats 5
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


def make_repo(data: Path, work: Path) -> tuple[Path, Path]:
    """The repository (pushed) and a clone of it that did not pull."""
    import annover

    root, remote = work / "engines", work / "engines-remote"
    repo = annover.init(root, remote=str(remote))
    with common.chdir(root):
        repo.snapshot(str((data / common.FLAT_PARQUET).resolve()), config=str(data / common.CONFIG), message="v1")
        repo.snapshot(str((data / common.FLAT_V2_PARQUET).resolve()), message="v2 (1% relabelled)")
    repo.push()
    clone = work / "engines-clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    return clone, remote


def measure(data: Path, tmp: Path, repeats: int) -> dict:
    import dask.dataframe as dd

    import annover
    import annover.dask
    from annover.repo.layout import remote_layout

    common.log("making the repository (not timed) ...")
    clone, remote = make_repo(data, tmp)
    repo = annover.Repo(clone)
    out: dict = {}
    for rev in ("v1", "v2"):
        lay = remote_layout(repo, rev, remote=str(remote))
        urls = lay.base + [d.upserts for d in lay.deltas if d.upserts]
        rows = annover.dask.read(str(remote), rev, repo=repo).shape[0].compute()
        assert rows == lay.rows, (rows, lay.rows)
        cases = {
            "floor call": (lambda: dd.read_parquet(urls), None),
            "annover call": (lambda: annover.dask.read(str(remote), rev, repo=repo), None),
            "floor compute": (lambda: dd.read_parquet(urls).compute(), None),
            "annover compute": (lambda: annover.dask.read(str(remote), rev, repo=repo).compute(), None),
        }
        common.log(f"{rev}: {len(lay.base)} base parts, {len(lay.deltas)} deltas")
        timed = common.time_interleaved(cases, repeats, warmup=1, log=common.log)
        out[rev] = {"base_parts": len(lay.base), "deltas": len(lay.deltas), "rows": lay.rows, "cases": timed,
                    "call_ratio": common.ratio(timed["annover call"], timed["floor call"]),
                    "compute_ratio": common.ratio(timed["annover compute"], timed["floor compute"])}
    return out


def report(result: dict) -> str:
    rows = []
    for rev, r in result["results"].items():
        c = r["cases"]
        rows.append([f"{rev} ({r['base_parts']} parts, {r['deltas']} deltas)", c["annover call"]["median_s"],
                     c["floor call"]["median_s"], r["call_ratio"], c["annover compute"]["median_s"],
                     c["floor compute"]["median_s"], r["compute_ratio"]])
    head = ["version", "read() s", "dd.read_parquet() s", "ratio", "read().compute() s", "floor compute s", "ratio"]
    return f"## Dask read of {result['rows']:,} annotation rows from a DVC remote\n\n" + \
        common.markdown_table(head, rows) + "\n"


def metrics_view(result: dict) -> dict:
    return {rev: {"call_ratio": r["call_ratio"], "compute_ratio": r["compute_ratio"]}
            for rev, r in result["results"].items()}


def main(argv: list[str] | None = None) -> dict:
    return common.run_figure(__doc__, "engines", 7, measure, report, metrics_view, argv)


if __name__ == "__main__":
    main()
