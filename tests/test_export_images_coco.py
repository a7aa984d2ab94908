"""`annover export --format coco --images DIR`: a folder of `annotations.json` and `images/`, each
image at `images/<file_name>`, as detectron2 (`register_coco_instances(name, {}, json, image_root)`),
torchvision's `CocoDetection(root, annFile)`, mmdetection and supervision read a COCO dataset.
Checked with pycocotools (`COCO(json)`, every `file_name` opened with PIL below `images/`) and
supervision's `DetectionDataset.from_coco` (the same boxes), on the shared corpus's Roboflow COCO
file and BCCD Pascal VOC files (images made here at the sizes they give: the corpus holds only the
annotations).

Was: `--images` with COCO (and Hugging Face) was exit 2 ("--images is for the folder formats yolo, yolo-obb, voc"):
a COCO user put every image in a folder by hand, under the name the JSON gives it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import supervision as sv
from PIL import Image
from pycocotools.coco import COCO

import annover

from tests.conftest import shared_corpus
from tests.test_cli import invoke
from tests.test_export_images import BCCD, _images

CHESS = shared_corpus("formats") / "coco_chess_roboflow.json"

IMAGE_CONFIG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
                '<Label value="WBC"/><Label value="RBC"/></RectangleLabels></View>')


def _chess_images(folder: Path) -> dict[str, Path]:
    """A JPEG for each image of the Roboflow file, at its size; half of them one folder down."""
    made = {}
    for i, im in enumerate(json.loads(CHESS.read_text(encoding="utf-8"))["images"]):
        p = folder / ("sub" if i % 2 else "") / im["file_name"]
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (im["width"], im["height"]), (i * 9 % 256, 80, 160)).save(p, "JPEG")
        made[im["file_name"]] = p
    return made


@pytest.fixture
def chess(repo):
    code, _, err = invoke("snapshot", "--from", str(CHESS), "-m", "chess", "-q")
    assert code == 0, err
    return repo


def _boxes(coco: COCO) -> dict[str, list[tuple[float, ...]]]:
    """file_name -> its boxes as sorted (x1, y1, x2, y2), rounded to 0.01 pixel."""
    out = {}
    for iid, im in coco.imgs.items():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[iid]))
        out[im["file_name"]] = sorted(tuple(round(v, 2) for v in (x, y, x + w, y + h))
                                      for x, y, w, h in (a["bbox"] for a in anns))
    return out


def test_coco_export_with_images_is_read_by_pycocotools_and_supervision_box_for_box(chess, tmp_path):
    made = _chess_images(tmp_path / "data")
    out = tmp_path / "chess-coco"
    code, stdout, err = invoke("export", "v1", "--format", "coco", "-o", str(out), "--images", str(tmp_path / "data"),
                               "--json")
    assert code == 0, err
    assert json.loads(stdout)["images"] == {
        "images": 29, "checked": 0, "linked": 29, "copied": 0, "size_mismatches": []}
    assert sorted(p.name for p in out.iterdir()) == ["annotations.json", "images"]
    # the JSON is the one export writes without --images, byte for byte
    code, _, err = invoke("export", "v1", "--format", "coco", "-o", str(tmp_path / "plain.json"))
    assert code == 0, err
    assert (out / "annotations.json").read_bytes() == (tmp_path / "plain.json").read_bytes()
    coco = COCO(str(out / "annotations.json"))
    assert len(coco.imgs) == 29 and len(coco.anns) == 376
    for im in coco.imgs.values():  # every file_name opens below images/, at the size the JSON gives
        with Image.open(out / "images" / im["file_name"]) as f:
            assert f.size == (im["width"], im["height"])
        assert os.stat(out / "images" / im["file_name"]).st_ino == os.stat(made[im["file_name"]]).st_ino
    ds = sv.DetectionDataset.from_coco(images_directory_path=str(out / "images"),
                                       annotations_path=str(out / "annotations.json"))
    assert len(ds) == 29
    got = {Path(p).name: sorted(tuple(round(float(v), 2) for v in box) for box in det.xyxy) for p, _, det in ds}
    assert got == _boxes(coco) == _boxes(COCO(str(CHESS)))


def test_coco_images_keep_the_folders_the_file_names_give(repo, tmp_path):
    """A task's relative image path is its COCO file_name (as without --images): the image goes to
    images/<that path>; a task naming the file alone finds it anywhere below DIR."""
    made = _images(tmp_path / "data")  # BCCD: half one folder down
    tasks = [{"id": i + 1, "data": {"image": ("sub/" if name in ("BloodImage_00001.jpg",) else "") + name},
              "annotations": [{"result": [{"from_name": "label", "to_name": "image", "type": "rectanglelabels",
                                           "original_width": 640, "original_height": 480,
                                           "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0,
                                                     "rectanglelabels": ["WBC"]}}]}]}
             for i, name in enumerate(sorted(made)[:4])]
    (repo.root / "tasks.json").write_text(json.dumps(tasks))
    (repo.root / "config.xml").write_text(IMAGE_CONFIG)
    repo.snapshot("tasks.json", config="config.xml", message="four")
    res = annover.Repo(repo.root).export("v1", "coco", tmp_path / "c", images=tmp_path / "data")
    assert res.images["images"] == 4
    coco = COCO(str(tmp_path / "c" / "annotations.json"))
    names = sorted(im["file_name"] for im in coco.imgs.values())
    assert names == sorted(["sub/BloodImage_00001.jpg", *sorted(made)[:1], *sorted(made)[2:4]])
    for n in names:
        assert os.path.samefile(tmp_path / "c" / "images" / n, made[Path(n).name])
    ds = sv.DetectionDataset.from_coco(images_directory_path=str(tmp_path / "c" / "images"),
                                       annotations_path=str(tmp_path / "c" / "annotations.json"))
    assert all(np.allclose(det.xyxy, [[64, 96, 256, 288]]) for _, _, det in ds) and len(ds) == 4


def test_coco_images_linked_as_source_data_are_checked(repo, tmp_path):
    made = _chess_images(repo.root / "data")
    code, _, err = invoke("snapshot", "--from", str(CHESS), "--source", "data", "-m", "chess", "-q")
    assert code == 0, err
    code, stdout, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "c"), "--images", "data", "--json")
    assert code == 0, err
    assert json.loads(stdout)["images"]["checked"] == 29
    changed = sorted(made.values())[3]
    Image.new("RGB", (2048, 1371), (1, 2, 3)).save(changed, "JPEG")
    code, stdout, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "c2"), "--images", "data")
    assert code == 3 and stdout == "" and len(err.strip().splitlines()) == 1
    assert f"{changed.relative_to(repo.root)}: not the image task" in err and "git checkout" in err
    assert not (tmp_path / "c2").exists() and not list(tmp_path.glob(".c2*"))


def test_bad_coco_images_arguments_write_nothing(chess, tmp_path):
    made = _chess_images(tmp_path / "data")
    out = tmp_path / "o"
    data = str(tmp_path / "data")
    lost = sorted(made)[:2]
    for name in lost:
        made[name].unlink()
    code, stdout, err = invoke("export", "--format", "coco", "-o", str(out), "--images", data)
    assert code == 14 and stdout == "" and len(err.strip().splitlines()) == 1
    assert "task " in err and "is in no file below it (and 1 more)" in err
    assert any(repr(n) in err for n in lost)
    for args, said in [((str(out) + ".json",), "with --images, COCO is a folder (annotations.json and images/)"),
                       ((str(out), "--predictions", "m"), "--images with --predictions"),
                       (("-",), "cannot go to standard output")]:
        code, _, err = invoke("export", "--format", "coco", "-o", *args[:1], "--images", data, *args[1:])
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert said in err, err
    (tmp_path / "old").mkdir()
    code, _, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "old"), "--images", data)
    assert code == 2 and "the export would replace it" in err  # --out exists: not replaced without --force
    code, _, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "data"), "--images", data, "--force")
    assert code == 2 and "is --out" in err
    assert not out.exists() and not Path(str(out) + ".json").exists() and not list(tmp_path.glob(".o*"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "old", "repo"]


def _two_tasks(repo, names: list[str]) -> None:
    tasks = [{"id": i + 1, "data": {"image": name, "ext_id": f"t{i + 1}"},
              "annotations": [{"result": [{"from_name": "label", "to_name": "image", "type": "rectanglelabels",
                                           "original_width": 8, "original_height": 8,
                                           "value": {"x": 0, "y": 0, "width": 50, "height": 50, "rotation": 0,
                                                     "rectanglelabels": ["RBC"]}}]}]}
             for i, name in enumerate(names)]
    (repo.root / "tasks.json").write_text(json.dumps(tasks))
    (repo.root / "config.xml").write_text(IMAGE_CONFIG)
    repo.snapshot("tasks.json", config="config.xml", key="data.ext_id", message="two")


def test_two_images_one_coco_file_name(repo, tmp_path):
    """s3://a/x.jpg and s3://b/x.jpg are both `x.jpg` in COCO: one file below images/ if they are
    the same image, else refused (exit 2), naming both tasks; nothing written."""
    _two_tasks(repo, ["s3://a/x.jpg", "s3://b/x.jpg"])
    for sub, color in (("a", 1), ("b", 2)):
        (tmp_path / "data" / sub).mkdir(parents=True)
        Image.new("RGB", (8, 8), (color, 0, 0)).save(tmp_path / "data" / sub / "x.png", "PNG")
        os.rename(tmp_path / "data" / sub / "x.png", tmp_path / "data" / sub / "x.jpg")
    code, stdout, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "c"), "--images",
                               str(tmp_path / "data"))
    assert code == 2 and stdout == "" and len(err.strip().splitlines()) == 1
    assert "tasks 't1' and 't2' would both be images/x.jpg, and their images differ" in err, err
    assert not (tmp_path / "c").exists()
    (tmp_path / "data" / "b" / "x.jpg").write_bytes((tmp_path / "data" / "a" / "x.jpg").read_bytes())
    res = annover.Repo(repo.root).export("v1", "coco", tmp_path / "c", images=tmp_path / "data")
    assert res.images["images"] == 1
    coco = COCO(str(tmp_path / "c" / "annotations.json"))
    assert [im["file_name"] for im in coco.imgs.values()] == ["x.jpg", "x.jpg"]
    assert sorted(p.name for p in (tmp_path / "c" / "images").iterdir()) == ["x.jpg"]


def test_a_coco_file_name_that_leaves_images_is_refused(repo, tmp_path):
    _two_tasks(repo, ["up/x.jpg", "../y.jpg"])
    (tmp_path / "data" / "up").mkdir(parents=True)
    for n in ("up/x.jpg", "y.jpg"):
        Image.new("RGB", (8, 8)).save(tmp_path / "data" / n, "JPEG")
    code, stdout, err = invoke("export", "--format", "coco", "-o", str(tmp_path / "c"), "--images",
                               str(tmp_path / "data"))
    assert code == 2 and stdout == "" and len(err.strip().splitlines()) == 1
    assert "task 't2': its COCO file_name '../y.jpg' would put its image outside images/" in err, err
    assert not (tmp_path / "c").exists()


def test_hf_export_with_images_holds_each_rows_image(repo, tmp_path):
    """`--format hf --images DIR`: the image column is a `datasets.Image` whose bytes are in the
    dataset (`save_to_disk` writes them), so `load_from_disk` gives each row's image wherever the
    folder is; the other columns are the export's without --images. Missing: exit 14; changed: 3."""
    import datasets

    made = _images(repo.root / "data")
    code, _, err = invoke("snapshot", "--from", str(BCCD), "--source", "data", "-m", "bccd", "-q")
    assert code == 0, err
    code, stdout, err = invoke("export", "--format", "hf", "-o", str(tmp_path / "h"), "--images", "data", "--json")
    assert code == 0, err
    assert json.loads(stdout)["images"] == {
        "images": 25, "checked": 25, "linked": 0, "copied": 25, "size_mismatches": []}
    code, _, err = invoke("export", "--format", "hf", "-o", str(tmp_path / "plain"))
    assert code == 0, err
    plain = datasets.load_from_disk(str(tmp_path / "plain"))
    moved = tmp_path / "elsewhere"
    os.rename(tmp_path / "h", moved)  # the images are in the dataset, not beside it
    ds = datasets.load_from_disk(str(moved))
    assert isinstance(ds.features["image"], datasets.Image) and ds.column_names == plain.column_names
    assert len(ds) == 25
    for row, want in zip(ds, plain):
        assert row["image"].size == (row["width"], row["height"]) == (640, 480)
        assert {k: v for k, v in row.items() if k != "image"} == {k: v for k, v in want.items() if k != "image"}
    raw = ds.data.column("image").to_pylist()
    assert [r["bytes"] for r in raw] == [made[Path(n).name].read_bytes() for n in plain["image"]]
    changed = made["BloodImage_00003.jpg"]
    Image.new("RGB", (640, 480), (1, 2, 3)).save(changed, "JPEG")
    code, stdout, err = invoke("export", "--format", "hf", "-o", str(tmp_path / "h2"), "--images", "data")
    assert code == 3 and f"{changed.relative_to(repo.root)}: not the image task" in err
    changed.unlink()
    code, stdout, err = invoke("export", "--format", "hf", "-o", str(tmp_path / "h2"), "--images", "data")
    assert code == 14 and "'BloodImage_00003.jpg' is in no file below it" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "h2").exists() and not list(tmp_path.glob(".h2*"))
