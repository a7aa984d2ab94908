"""Training formats: ``annover export --format coco|yolo`` of a large image version against
label-studio-sdk's converter on the same version's Label Studio JSON, and COCO import against
``pycocotools.COCO()`` loading the same file.

    python benchmarks/bench_formats.py                          # 100,000 images, 5 boxes each
    python benchmarks/bench_formats.py --repeat 3 --out /dev/shm  # both tools' exports to memory
    python benchmarks/bench_formats.py --images 10000 --repeat 3 --profile

What is timed (best of ``--repeat``, each annover run next to its baseline's; setup is not timed):

- ``annover coco`` / ``annover yolo``: ``Repo.export(v, fmt, out)`` of the version (reads the
  snapshot's Parquet parts, picks one answer per task, writes the file / folder);
- ``sdk coco`` / ``sdk yolo``: ``Converter.convert_to_coco`` / ``convert_to_yolo`` of
  label-studio-sdk on the Label Studio JSON that ``annover export --format label-studio``
  wrote of the same version (reading that file is part of its work, as writing is part of
  annover's);
- ``annover import coco``: ``read_train`` of the COCO file annover wrote (to canonical tables,
  no repository) and ``pycocotools.COCO(file)``;
- ``snapshot --from coco.json [--format coco]``: the whole command in a subprocess on a fresh
  repository (start-up, read, Parquet parts, DVC, git commit), against the same pycocotools load.

Creating a YOLO folder's 100,000 files is, on a slow disk, most of both tools' time and the
least steady part (the same bare loop takes seconds to a minute); ``--out`` on a memory file
system compares the tools' own work. Both exports are checked to hold the same boxes (COCO:
bbox within 0.01 px; YOLO: the same numbers within 1e-6) before the figures are printed. Figures, not tests: nothing fails
when a target (export >= 5x faster than the converter, import <= 1.5x of pycocotools) is missed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import annover_exe, chdir, fresh_repo, isolate_env, log, markdown_table  # noqa: E402

LABELS = ["car", "person", "bike", "dog", "cat"]
CONFIG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
          + "".join(f'<Label value="{lb}"/>' for lb in LABELS) + "</RectangleLabels></View>")


def generate(path: Path, images: int, boxes: int, seed: int) -> None:
    """Label Studio JSON: ``images`` tasks of ``boxes`` boxes each, one annotator, sizes given."""
    rnd = random.Random(seed)
    tasks = []
    for i in range(images):
        w, h = rnd.choice([(640, 480), (1280, 720), (1920, 1080)])
        result = []
        for j in range(boxes):
            x, y = rnd.uniform(0, 80), rnd.uniform(0, 80)
            result.append({"id": f"r{i}_{j}", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
                           "original_width": w, "original_height": h, "image_rotation": 0,
                           "value": {"x": round(x, 4), "y": round(y, 4), "width": round(rnd.uniform(1, 20), 4),
                                     "height": round(rnd.uniform(1, 20), 4), "rotation": 0,
                                     "rectanglelabels": [rnd.choice(LABELS)]}})
        tasks.append({"id": i + 1, "data": {"image": f"/data/upload/1/img{i:06d}.jpg"},
                      "annotations": [{"id": i + 1, "completed_by": 1, "result": result}]})
    path.write_text(json.dumps(tasks))


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def paired(a, b, repeat: int, setup=None) -> tuple[float, float]:
    """Best times of ``a`` and ``b`` run in turn ``repeat`` times (a loaded machine slows both alike);
    ``setup`` (not timed) runs before each pair. The disk is synced before each timed run (not
    timed): a case that creates 100,000 files leaves the file system busy writing them back for
    seconds, which would land on whichever case runs next."""
    ta, tb = [], []
    for _ in range(repeat):
        if setup:
            setup()
        for fn, out in ((a, ta), (b, tb)):
            os.sync()
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return min(ta), min(tb)


def quiet(fn):
    def run():
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            return fn()
    return run


def check_coco(a: Path, b: Path) -> int:
    da, db = json.loads(a.read_text()), json.loads(b.read_text())
    ia = {i["id"]: i["file_name"].rsplit("/", 1)[-1] for i in da["images"]}
    ib = {i["id"]: i["file_name"].rsplit("/", 1)[-1] for i in db["images"]}
    ca = {c["id"]: c["name"] for c in da["categories"]}
    cb = {c["id"]: c["name"] for c in db["categories"]}
    boxes_a = sorted((ia[x["image_id"]], ca[x["category_id"]], *(round(v, 2) for v in x["bbox"]))
                     for x in da["annotations"])
    boxes_b = sorted((ib[x["image_id"]], cb[x["category_id"]], *(round(v, 2) for v in x["bbox"]))
                     for x in db["annotations"])
    assert len(boxes_a) == len(boxes_b)
    bad = sum(1 for p, q in zip(boxes_a, boxes_b) if p[:2] != q[:2] or any(abs(u - v) > 0.011 for u, v in
                                                                          zip(p[2:], q[2:])))
    return bad


def check_yolo(a: Path, b: Path) -> int:
    """Label files that differ (a line beyond 1e-6, or missing) between annover's labels/ and the converter's."""
    names_a = (a / "classes.txt").read_text().split()
    names_b = (b / "classes.txt").read_text().split()
    theirs = {f.name: f for f in (b / "labels").glob("*.txt")}
    bad = 0
    for f in sorted((a / "labels").glob("*.txt")):
        g = theirs.get(f.name) or next((g for n, g in theirs.items() if n.endswith(f.name)), None)
        la = sorted((names_a[int(ln.split()[0])], *map(float, ln.split()[1:])) for ln in f.read_text().splitlines())
        lb = sorted((names_b[int(ln.split()[0])], *map(float, ln.split()[1:]))
                    for ln in (g.read_text().splitlines() if g else []))
        if len(la) != len(lb) or any(p[0] != q[0] or any(abs(u - v) > 1e-6 for u, v in zip(p[1:], q[1:]))
                                     for p, q in zip(la, lb)):
            bad += 1
    return bad + abs(len(theirs) - len(list((a / "labels").glob("*.txt"))))


def write_bare(folder: Path, files: dict[str, bytes]) -> None:
    """The floor of a folder export: each file created and written once, nothing else."""
    for parent in sorted({str(Path(rel).parent) for rel in files}):
        (folder / parent).mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        fd = os.open(folder / rel, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.write(fd, data)
        os.close(fd)


def snapshot_cli(tmp: Path, coco_file: Path, detect: bool):
    """``annover snapshot --from FILE [--format coco] -m ...`` in a subprocess, on a fresh repository
    (made before the clock starts)."""
    exe = annover_exe()

    def run() -> float:
        root = fresh_repo(tmp, "cli")
        args = [exe, "snapshot", "--from", str(coco_file), "-m", "bench", "-q"] + ([] if detect else ["--format", "coco"])
        t0 = time.perf_counter()
        p = subprocess.run(args, cwd=root, capture_output=True, text=True)
        took = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"annover snapshot failed ({p.returncode}): {p.stderr[-2000:]}")
        return took
    return run


def profile(fn, top: int = 12) -> None:
    """Where ``fn`` spends its time (cProfile, cumulative), to stderr."""
    import cProfile
    import pstats
    prof = cProfile.Profile()
    prof.runcall(fn)
    pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--boxes", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--formats", default="coco,yolo", help="the export cases to run (comma list; the import always runs)")
    ap.add_argument("--profile", action="store_true", help="also print cProfile's top functions of each annover case")
    ap.add_argument("--out", type=Path, default=None,
                    help="the folder both tools' exports are written into (default: the run's temp folder); "
                         "a memory file system (/dev/shm) takes the disk's file-creation time out of the ratio")
    args = ap.parse_args()

    import annover
    from label_studio_sdk.converter import Converter
    from pycocotools.coco import COCO

    from annover.formats.training import read_train

    tmp = isolate_env()
    outs = Path(tempfile.mkdtemp(prefix="annover-bench-out-", dir=args.out)) if args.out else tmp
    try:
        src = tmp / "tasks.json"
        log(f"generating {args.images} images x {args.boxes} boxes")
        generate(src, args.images, args.boxes, args.seed)
        (tmp / "labeling.xml").write_text(CONFIG)
        root = fresh_repo(tmp)
        with chdir(root):
            repo = annover.Repo(".")
            log("snapshot (not timed)")
            v = repo.snapshot(str(src), config=str(tmp / "labeling.xml"), message="bench").version.id
            ls_json = tmp / "version.json"
            repo.export(v, "label-studio", ls_json)
            rows = []
            out = {}

            def clear(*paths: Path):
                def run():
                    for path in paths:
                        if path.exists():
                            shutil.rmtree(path) if path.is_dir() else path.unlink()
                return run

            def ours(fmt: str, path: Path):
                def run():
                    repo.export(v, fmt, path)
                return run

            def sdk(fmt: str, path: Path):
                def run():
                    c = Converter(CONFIG, str(tmp), download_resources=False)
                    if fmt == "coco":
                        c.convert_to_coco(str(ls_json), str(path), is_dir=False)
                    else:
                        c.convert_to_yolo(str(ls_json), str(path), is_dir=False)
                return run

            for fmt in [f for f in ("coco", "yolo") if f in args.formats.split(",")]:
                a_path = outs / f"annover-{fmt}" if fmt == "yolo" else outs / "annover-coco.json"
                b_path = outs / f"sdk-{fmt}"
                log(f"{fmt}: annover and label-studio-sdk's converter, in turn")
                ta, tb = paired(ours(fmt, a_path), quiet(sdk(fmt, b_path)), args.repeat, clear(a_path, b_path))
                if args.profile:
                    clear(a_path)()
                    profile(ours(fmt, a_path))
                bad = check_coco(a_path, b_path / "result.json") if fmt == "coco" else check_yolo(a_path, b_path)
                out[fmt] = (ta, tb, bad)
                rows.append([f"export {fmt}", f"{ta:.2f} s", f"{tb:.2f} s", f"{tb / ta:.1f}x faster", ">= 5x faster",
                             "same boxes" if bad == 0 else f"{bad} differ"])
                if fmt == "yolo":  # the files alone: the same bytes written by a bare loop
                    files = {f.relative_to(a_path).as_posix(): f.read_bytes() for f in a_path.rglob("*") if f.is_file()}
                    floor = outs / "floor-yolo"
                    clear(a_path)()
                    ta2, tf = paired(ours(fmt, a_path), lambda: write_bare(floor, files), args.repeat,
                                     clear(a_path, floor))
                    rows.append(["export yolo vs its files alone", f"{ta2:.2f} s", f"{tf:.2f} s (bare writes)",
                                 f"{ta2 / tf:.2f}x of it", "(the floor)", f"{len(files):,} files"])
            coco_file = outs / "annover-coco.json"
            if not coco_file.exists():  # the COCO export case did not run: the file to import, untimed
                repo.export(v, "coco", coco_file)
            log("import coco: annover read_train / pycocotools COCO()")
            ti, tp = paired(lambda: read_train(coco_file, "coco", None, "off"), quiet(lambda: COCO(str(coco_file))),
                            args.repeat)
            if args.profile:
                profile(lambda: read_train(coco_file, "coco", None, "off"))
            rows.append(["import coco (library)", f"{ti:.2f} s", f"{tp:.2f} s (pycocotools)", f"{ti / tp:.2f}x of it",
                         "<= 1.5x", "read_train, to canonical tables"])
            for detect in (False, True):
                log(f"import coco: annover snapshot{'' if detect else ' --format coco'} (a subprocess)")
                runs = []
                for _ in range(args.repeat):
                    runs.append(snapshot_cli(tmp, coco_file, detect)())
                    tp = min(tp, best(quiet(lambda: COCO(str(coco_file))), 1))
                tc = min(runs)
                if args.profile and not detect:  # where the command's time goes, in process
                    root2 = fresh_repo(tmp, "profiled")
                    with chdir(root2):
                        profile(lambda: annover.Repo(".").snapshot(str(coco_file), fmt="coco", message="p"), 25)
                rows.append([f"snapshot --from coco.json{'' if detect else ' --format coco'}", f"{tc:.2f} s",
                             f"{tp:.2f} s (pycocotools)", f"{tc / tp:.2f}x of it",
                             "(not set)", "whole command: start-up, read, Parquet, DVC, git"])
        print(f"## Training formats: {args.images:,} images, {args.images * args.boxes:,} boxes\n")
        print(markdown_table(["case", "annover", "baseline", "ratio", "target", "output / what"], rows))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
            if outs != tmp:
                shutil.rmtree(outs, ignore_errors=True)
        else:
            log(f"kept {tmp}")


if __name__ == "__main__":
    main()
