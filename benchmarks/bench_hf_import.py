"""``annover snapshot --from DIR --format hf`` of a Hugging Face ``save_to_disk`` folder, as a process,
against the floors of reading the same folder, in the same run: time and peak RSS (``/usr/bin/time -f %M``).

    python benchmarks/bench_hf_import.py                          # 100,000 texts, 20,000 PNGs, 50,000 sentences
    python benchmarks/bench_hf_import.py --text 20000 --images 5000 --sentences 10000 --repeats 1
    python benchmarks/bench_hf_import.py --baseline ../annover-old       # other code's snapshot, alternately

Datasets (fixed seed, written once with ``datasets``, not timed):

- ``text``: ``text`` (a string) and ``label`` (a ``ClassLabel`` of 4), as imdb or ag_news;
- ``image``: ``image`` (a ``datasets.Image`` of a 32x32 PNG's bytes, no path: the reader names each by its
  format) and ``label`` (a ``ClassLabel`` of 3), as beans;
- ``bio``: ``tokens`` (8-24 words) and ``ner_tags`` (a list of ``ClassLabel`` of BIO tags), as conll2003.

Cases, each a new process, round-robin, a fresh repository made before each snapshot (not timed):

- ``annover snapshot``: ``annover snapshot --from DIR --format hf -m bench`` (read, tables, store, commit);
- ``baseline snapshot`` (with ``--baseline CODE``): the same command with ``PYTHONPATH=CODE``;
- ``load_from_disk + to_pandas``: ``datasets.load_from_disk(DIR)`` and ``.to_pandas()`` (every row in Python
  objects, as the general import gives them to the Label Studio reader; ``text`` and ``image`` are read
  column-wise, ``hf_read.read_tables``, ``bio`` the general way);
- ``pyarrow stream``: ``pa.ipc.open_stream`` of each ``.arrow`` file, ``read_all()`` (the least read there is).

Figures, not tests: nothing here fails when annover is slower.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import datasets
from PIL import Image

datasets.disable_progress_bars()

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_scale import run  # noqa: E402
from common import annover_exe, isolate_env, log, markdown_table  # noqa: E402

WORDS = ["Ada", "went", "to", "Paris", "and", "Rome", "the", "a", "of", "in", "Lovelace", "met", "Babbage", "London"]
PANDAS = "import sys, datasets; datasets.load_from_disk(sys.argv[1]).to_pandas()"
STREAM = ("import sys, pathlib, pyarrow as pa\n"
          "for f in sorted(pathlib.Path(sys.argv[1]).glob('*.arrow')):\n"
          "    pa.ipc.open_stream(pa.memory_map(str(f))).read_all()")


def text_rows(n: int, rnd: random.Random) -> tuple[dict, object]:
    labels = ["world", "sports", "business", "science"]
    cols = {"text": [" ".join(rnd.choices(WORDS, k=rnd.randint(10, 60))) for _ in range(n)],
            "label": [rnd.randrange(len(labels)) for _ in range(n)]}
    return cols, datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=labels)})


def image_rows(n: int, rnd: random.Random) -> tuple[dict, object]:
    pngs = []
    for _ in range(n):
        buf = io.BytesIO()
        Image.frombytes("RGB", (32, 32), rnd.randbytes(32 * 32 * 3)).save(buf, "PNG")
        pngs.append({"bytes": buf.getvalue(), "path": None})
    labels = ["angular_leaf_spot", "bean_rust", "healthy"]
    cols = {"image": pngs, "label": [rnd.randrange(len(labels)) for _ in range(n)]}
    return cols, datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=labels)})


def bio_rows(n: int, rnd: random.Random) -> tuple[dict, object]:
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    tokens, ner = [], []
    for _ in range(n):
        k = rnd.randint(8, 24)
        tokens.append(rnd.choices(WORDS, k=k))
        row = [0] * k
        for _ in range(rnd.randint(0, 3)):
            at = rnd.randrange(k - 1)
            kind = rnd.choice([1, 3])
            row[at], row[at + 1] = kind, kind + 1
        ner.append(row)
    feats = datasets.Features({"tokens": datasets.List(datasets.Value("string")),
                               "ner_tags": datasets.List(datasets.ClassLabel(names=tags))})
    return {"tokens": tokens, "ner_tags": ner}, feats


def write(out: Path, make, n: int, seed: int) -> Path:
    cols, feats = make(n, random.Random(seed))
    datasets.Dataset.from_dict(cols, features=feats).save_to_disk(str(out))
    return out


def cases_of(folder: Path, tmp: Path, baseline: Path | None) -> dict[str, tuple[list[str], Path, object]]:
    repo = tmp / "repo"

    def fresh() -> None:
        shutil.rmtree(repo, ignore_errors=True)
        subprocess.run([annover_exe(), "init", str(repo)], check=True, capture_output=True)
    snapshot = [annover_exe(), "snapshot", "--from", str(folder), "--format", "hf", "-m", "bench"]
    cases = {"annover snapshot": (snapshot, repo, fresh)}
    if baseline is not None:  # the same command run by other code (PYTHONPATH), alternately
        cases["baseline snapshot"] = (["env", f"PYTHONPATH={baseline}", *snapshot], repo, fresh)
    return {**cases, "load_from_disk + to_pandas": ([sys.executable, "-c", PANDAS, str(folder)], tmp, None),
            "pyarrow stream": ([sys.executable, "-c", STREAM, str(folder)], tmp, None)}


def measure(folder: Path, tmp: Path, repeats: int, baseline: Path | None) -> dict[str, dict]:
    """Each case ``repeats`` times round-robin: the median time, the largest peak RSS."""
    cases = cases_of(folder, tmp, baseline)
    samples: dict[str, list[dict]] = {k: [] for k in cases}
    for r in range(repeats):
        for name, (args, cwd, setup) in cases.items():
            if setup is not None:
                setup()
            res = run(args, cwd)
            samples[name].append(res)
            log(f"    {name:<28} {res['s']:8.2f} s  {res['rss_mb']:8.1f} MB  (run {r + 1}/{repeats})")
    return {k: {"s": sorted(x["s"] for x in v)[len(v) // 2], "rss_mb": max(x["rss_mb"] for x in v)}
            for k, v in samples.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text", type=int, default=100_000, help="rows of the text classification set")
    ap.add_argument("--images", type=int, default=20_000, help="rows of the image classification set")
    ap.add_argument("--sentences", type=int, default=50_000, help="rows of the token classification set")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tmp", type=Path, default=None)
    ap.add_argument("--baseline", type=Path, default=None,
                    help="a checkout of other annover code: its snapshot timed alternately with this one's")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="annover-bench-hf-", dir=args.tmp))
    isolate_env(tmp)
    rows = []
    try:
        for name, make, n in (("text", text_rows, args.text), ("image", image_rows, args.images),
                              ("bio", bio_rows, args.sentences)):
            if not n:
                continue
            folder = write(tmp / f"hf-{name}", make, n, args.seed)
            size = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
            log(f"{name}: {n:,} rows, {size:.1f} MB on disk")
            got = measure(folder, tmp, args.repeats, args.baseline)
            ann, pandas, stream = got["annover snapshot"], got["load_from_disk + to_pandas"], got["pyarrow stream"]
            base = got.get("baseline snapshot", {"s": "", "rss_mb": ""})
            rows.append([f"{name} ({n:,} rows, {size:.0f} MB)", ann["s"], base["s"], pandas["s"], stream["s"],
                         round(ann["s"] / pandas["s"], 2), ann["rss_mb"], base["rss_mb"], pandas["rss_mb"],
                         stream["rss_mb"]])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(markdown_table(["dataset", "annover snapshot s", "baseline s", "load_from_disk + to_pandas s",
                          "pyarrow stream s", "ratio to pandas", "annover MB", "baseline MB", "pandas MB",
                          "pyarrow MB"], rows))


if __name__ == "__main__":
    main()
