"""``annover export --format yolo --images DIR`` against the floor of the same work: the labels-only
export plus one ``os.link`` per image (and, for a version linked to its source data, one sha256
of each image file, the check ``--images`` makes), timed in the same run.

    python benchmarks/bench_export_images.py                  # 20,000 images, 3 boxes each
    python benchmarks/bench_export_images.py --images 100000 --repeats 5 --tmp /dev/shm

Cases (interleaved round-robin, setup not timed: the output folder removed before each run):

- ``labels``: ``Repo.export(v1, "yolo", out)``, no images;
- ``floor``: the same, then ``os.link`` of each image into ``out/images/`` (a list made before);
- ``--images``: ``Repo.export(v1, "yolo", out, images=DIR)`` (finds each image by its path's
  tail, links it);
- ``floor, hashed``: ``floor`` plus ``hashlib.file_digest`` sha256 of each image;
- ``--images, checked``: the same export of a version snapshotted with ``--source DIR`` (each
  image checked against the sha256 the version recorded).

The images are a 640x480 JPEG's header and random bytes (``--images`` neither decodes nor resizes
them; it reads each one's size from its header, which must be the labels' 640x480). Figures, not tests.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import chdir, fresh_repo, isolate_env, log, markdown_table, ratio, time_interleaved  # noqa: E402

CONFIG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
          '<Label value="car"/><Label value="person"/></RectangleLabels></View>')


def generate(root: Path, n: int, boxes: int, seed: int) -> Path:
    """``root/data/imgNNNNNN.jpg`` (2-6 KB of random bytes each) and a Label Studio JSON of one task
    per image naming it ``data/imgNNNNNN.jpg``, ``boxes`` boxes each; returns the JSON's path."""
    rnd = random.Random(seed)
    data = root / "data"
    data.mkdir(parents=True)
    jpeg = io.BytesIO()
    Image.new("L", (640, 480)).save(jpeg, "JPEG", quality=1)
    head = jpeg.getvalue()[:1024]  # through the frame header, which gives the size
    tasks = []
    for i in range(n):
        name = f"img{i:06d}.jpg"
        (data / name).write_bytes(head + rnd.randbytes(rnd.randint(1024, 5120)))
        result = [{"id": f"r{i}_{j}", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
                   "original_width": 640, "original_height": 480,
                   "value": {"x": round(rnd.uniform(0, 80), 4), "y": round(rnd.uniform(0, 80), 4),
                             "width": 10.0, "height": 10.0, "rotation": 0,
                             "rectanglelabels": [rnd.choice(["car", "person"])]}} for j in range(boxes)]
        tasks.append({"id": i + 1, "data": {"image": f"data/{name}"},
                      "annotations": [{"id": i + 1, "completed_by": 1, "result": result}]})
    out = root / "tasks.json"
    out.write_text(json.dumps(tasks))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--boxes", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tmp", type=Path, default=None,
                    help="where the images and exports go (/dev/shm: the tools' own work, not the disk's)")
    args = ap.parse_args(argv)
    import annover

    tmp = Path(tempfile.mkdtemp(prefix="annover-bench-images-", dir=args.tmp))
    isolate_env(tmp)
    try:
        plain, linked = fresh_repo(tmp, "plain"), fresh_repo(tmp, "linked")
        tasks = generate(linked, args.images, args.boxes, args.seed)
        (linked / "labeling.xml").write_text(CONFIG)
        shutil.copytree(linked / "data", plain / "data")
        log(f"{args.images:,} images made; snapshots (not timed)")
        for root, source in ((plain, None), (linked, "data")):
            with chdir(root):
                annover.Repo(".").snapshot(str(tasks), config=str(linked / "labeling.xml"), source_data=source,
                                           message="bench")
        files = sorted((linked / "data").iterdir())
        outs = tmp / "out"

        def clean() -> None:
            shutil.rmtree(outs, ignore_errors=True)
            outs.mkdir()

        def labels(root: Path) -> None:
            with chdir(root):
                annover.Repo(".").export("v1", "yolo", str(outs / "y"))

        def floor(hashed: bool) -> None:
            labels(plain)
            dest = outs / "y" / "images" / "data"  # where the export puts data/x.jpg (YOLO: under images/)
            dest.mkdir(parents=True, exist_ok=True)
            for f in files:
                if hashed:
                    with open(f, "rb") as fh:
                        hashlib.file_digest(fh, "sha256")
                os.link(f, dest / f.name)

        def with_images(root: Path) -> None:
            with chdir(root):
                annover.Repo(".").export("v1", "yolo", str(outs / "y"), images="data")

        cases = {"labels": (lambda: labels(plain), clean), "floor": (lambda: floor(False), clean),
                 "--images": (lambda: with_images(plain), clean), "floor, hashed": (lambda: floor(True), clean),
                 "--images, checked": (lambda: with_images(linked), clean)}
        res = time_interleaved(cases, args.repeats, warmup=1, log=log)
        clean()
        with_images(linked)  # checked once more, not timed: every image is there, the same file
        got = sorted((outs / "y" / "images" / "data").iterdir())
        assert [p.name for p in got] == [f.name for f in files], "the export does not hold every image"
        assert all(os.path.samefile(a, b) for a, b in zip(got, files)), "an image is not the source's file"
        rows = [[name, f"{r['median_s']:.3f}"] for name, r in res.items()]
        print(markdown_table(["case", "median s"], rows))
        print(f"\n--images / floor: {ratio(res['--images'], res['floor'])}x; "
              f"--images, checked / floor, hashed: {ratio(res['--images, checked'], res['floor, hashed'])}x; "
              f"what --images adds over labels: {res['--images']['median_s'] - res['labels']['median_s']:.3f} s "
              f"(the floor's links: {res['floor']['median_s'] - res['labels']['median_s']:.3f} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
