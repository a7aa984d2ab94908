"""Pascal VOC splits: ``ImageSets/Main/<split>.txt``, written by the export and read by the import.

The VOC devkit keeps every image in ``JPEGImages/`` and every annotation in ``Annotations/``, and
names the splits by list files, ``ImageSets/Main/{train,val,trainval,test}.txt`` (an image stem a
line). torchvision's ``VOCDetection(image_set=...)`` opens ``ImageSets/Main/<image_set>.txt`` and
nothing else, mmdetection's ``VOCDataset`` reads ``ann_file="ImageSets/Main/trainval.txt"``.

Was: the export wrote no list (the folder could not be loaded by either), ignoring the tasks' splits
that YOLO and COCO write; the import read no list, so a VOC dataset's splits were lost.

Real data: the shared corpus's BCCD sample (25 labelImg XMLs) with BCCD's own split lists
(Shenggan/BCCD_Dataset, ``BCCD/ImageSets/Main/{train,val}.txt``, trimmed to these 25 images, plus one
stem of each that the trimmed corpus lacks), and the corpus's raccoon sample (no lists). The exported
folders are checked by torchvision's file logic, reimplemented below from its ``datasets/voc.py``.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from annover.formats.training import read_train

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("formats")
BCCD = CORPUS / "voc_bccd"
RACCOON = CORPUS / "voc_raccoon_labelimg"

#: BCCD's own lists (upstream BCCD/ImageSets/Main), the stems of the corpus's 25 images, then one it lacks
BCCD_TRAIN = [f"BloodImage_{n:05d}" for n in (1, 3, 4, 5, 6, 8, 9, 10, 12, 13, 20, 22, 23, 24, 26)]
BCCD_VAL = [f"BloodImage_{n:05d}" for n in (0, 2, 14, 17, 28)]


def _voc_folder(root: Path, src: Path, lists: dict[str, list[str]]) -> Path:
    """A VOC folder: ``src``'s XMLs (copied: a link out of the folder is refused) in ``Annotations/``
    and ``ImageSets/Main/<name>.txt`` of ``lists``."""
    (root / "Annotations").mkdir(parents=True)
    for f in sorted(src.rglob("*.xml")):
        shutil.copy(f, root / "Annotations" / f.name)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    for name, stems in lists.items():
        (root / "ImageSets" / "Main" / f"{name}.txt").write_text("".join(s + "\n" for s in stems))
    return root


def _lists(out: Path) -> dict[str, list[str]]:
    return {p.stem: p.read_text().splitlines() for p in sorted((out / "ImageSets" / "Main").glob("*.txt"))}


def _splits(repo) -> dict[str, str | None]:
    return _split_of(repo.load("HEAD", "tasks"))


def _split_of(tasks) -> dict[str, str | None]:
    return {r["task_key"]: json.loads(r["data"]).get("split") for r in tasks.to_pylist()}


def torchvision_voc(root: Path, image_set: str) -> list[tuple[Path, Path]]:
    """(image, annotation) of each item ``torchvision.datasets.VOCDetection(image_set=...)`` yields from
    the VOC folder ``root`` (its ``voc_root``): the lines of ``ImageSets/Main/<image_set>.txt``, each
    stripped, give ``JPEGImages/<line>.jpg`` and ``Annotations/<line>.xml`` (its ``open`` of the list
    raises where there is none)."""
    split_f = root / "ImageSets" / "Main" / (image_set.rstrip("\n") + ".txt")
    with open(split_f) as f:
        file_names = [x.strip() for x in f.readlines()]
    return [(root / "JPEGImages" / (x + ".jpg"), root / "Annotations" / (x + ".xml")) for x in file_names]


def _check_torchvision(out: Path, image_sets: list[str], images: bool) -> None:
    for image_set in image_sets:
        pairs = torchvision_voc(out, image_set)
        assert pairs, image_set
        for img, xml in pairs:
            doc = ET.parse(xml).getroot()  # what VOCDetection.parse_voc_xml reads
            assert doc.findtext("filename") == img.name
            if images:
                with Image.open(img) as im:
                    assert im.size == (int(doc.findtext("size/width")), int(doc.findtext("size/height")))


def test_bccd_lists_give_the_splits_and_the_export_writes_them(repo, tmp_path):
    """BCCD's own train and val lists: each listed image's task gets its split; a listed stem with no
    XML (the corpus is trimmed) is a warning; per-class lists are not read. The export writes train.txt
    (with the 7 images of no list: beside splits they go to train, as YOLO and COCO put them), val.txt
    and trainval.txt, which torchvision's file logic resolves to the XMLs and, with --images, the images."""
    src = _voc_folder(tmp_path / "bccd", BCCD, {"train": BCCD_TRAIN, "val": BCCD_VAL,
                                                 "RBC_train": ["BloodImage_00000  1", "BloodImage_00001 -1"]})
    code, _, err = invoke("snapshot", "--from", str(src), "-m", "bccd")
    assert code == 0, err
    assert "2 image(s) the lists name have no annotation file (Annotations/BloodImage_00026.xml...)" in err
    got = _splits(repo)
    assert len(got) == 25
    assert {k for k, s in got.items() if s == "train"} == set(BCCD_TRAIN[:-1])
    assert {k for k, s in got.items() if s == "val"} == set(BCCD_VAL[:-1])
    assert sum(s is None for s in got.values()) == 7
    data = tmp_path / "data"
    data.mkdir()
    for k in got:
        Image.new("RGB", (640, 480)).save(data / f"{k}.jpg")
    out = tmp_path / "out"
    code, _, err = invoke("export", "HEAD", "--format", "voc", "--out", str(out), "--images", str(data))
    assert code == 0, err
    assert "7 image(s) have no split (task data 'split') beside others that have one" in err
    lists = _lists(out)
    assert set(lists) == {"train", "val", "trainval"}
    order = sorted(got)  # the export's order: task keys
    assert lists["train"] == [k for k in order if got[k] in ("train", None)]
    assert lists["val"] == BCCD_VAL[:-1]
    assert lists["trainval"] == order
    _check_torchvision(out, ["train", "val", "trainval"], images=True)
    with pytest.raises(FileNotFoundError):  # no test split: torchvision's open fails, as on a VOC2012 folder
        torchvision_voc(out, "test")


def test_import_then_export_gives_back_the_lists(repo, tmp_path):
    """Lists covering every image, each in the export's (task key) order, trainval train and val:
    written back byte for byte; the folder re-read gives the same splits."""
    stems = sorted(p.stem for p in BCCD.rglob("*.xml"))
    split = {s: ("train", "val", "test", "train")[i % 4] for i, s in enumerate(stems)}
    lists = {s: [k for k in stems if split[k] == s] for s in ("train", "val", "test")}
    lists["trainval"] = [k for k in stems if split[k] != "test"]
    src = _voc_folder(tmp_path / "bccd", BCCD, lists)
    code, _, err = invoke("snapshot", "--from", str(src), "-m", "bccd")
    assert code == 0, err
    assert "warning" not in err.replace("warning: " + str(src) + ": no labeling config given", "")
    assert _splits(repo) == split
    out = tmp_path / "out"
    code, _, err = invoke("export", "HEAD", "--format", "voc", "--out", str(out))
    assert code == 0, err
    for name in ("train", "val", "test", "trainval"):
        assert (out / "ImageSets" / "Main" / f"{name}.txt").read_bytes() == \
            (src / "ImageSets" / "Main" / f"{name}.txt").read_bytes(), name
    assert _split_of(read_train(out, "voc", None, True).tasks) == split
    _check_torchvision(out, ["train", "val", "trainval", "test"], images=False)


def test_a_version_of_no_split_lists_every_image_in_train_and_trainval(repo, tmp_path):
    """The raccoon sample (labelImg, no lists): every stem in train.txt and trainval.txt, in the
    export's order, no val.txt (no validation set of its own), said in the notes; mmdetection's
    ann_file (trainval.txt) and torchvision's train and trainval resolve."""
    code, _, err = invoke("snapshot", "--from", str(RACCOON), "--format", "voc", "-m", "raccoon")
    assert code == 0, err
    keys = sorted(_splits(repo))
    assert len(keys) == 30 and set(_splits(repo).values()) == {None}
    out = tmp_path / "out"
    code, _, err = invoke("export", "HEAD", "--format", "voc", "--out", str(out))
    assert code == 0, err
    assert "no task has a split (data.split): ImageSets/Main/train.txt and ImageSets/Main/trainval.txt" in err
    assert _lists(out) == {"train": keys, "trainval": keys}
    _check_torchvision(out, ["train", "trainval"], images=False)
    # read back: lists that make every image train are those of no split (the same version)
    assert set(_split_of(read_train(out, "voc", None, True).tasks).values()) == {None}
    code, said, err = invoke("snapshot", "--from", str(out), "-m", "again")
    assert code == 0 and "nothing changed since HEAD" in said + err, err


@pytest.mark.parametrize("second", ["val", "test"])
def test_a_stem_in_two_splits_is_exit_3_naming_both_files(repo, tmp_path, second):
    """An image in train.txt and in val.txt (or test.txt): a leak between training and evaluation,
    refused in one line naming both lists, their lines and the stem; no version is made."""
    lists = {"train": BCCD_TRAIN[:5], second: ["BloodImage_00000", BCCD_TRAIN[3]]}
    src = _voc_folder(tmp_path / "bccd", BCCD, lists)
    code, out, err = invoke("snapshot", "--from", str(src), "-m", "bccd")
    assert code == 3, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == [f"Error: {src}/ImageSets/Main/{second}.txt: line 2: 'BloodImage_00005' is also in "
                     f"{src}/ImageSets/Main/train.txt (line 4): an image is in one split — remove it from one of "
                     "the two lists"]
    assert "Traceback" not in err and out == ""
    code, log, _ = invoke("log")
    assert "bccd" not in log


def test_trainval_without_train_and_val_gives_train_and_a_per_class_list_is_not_read(repo, tmp_path):
    """mmdetection-style lists, trainval.txt and test.txt: trainval's images are train (warned); a
    per-class list (``RBC_test.txt``, ``stem  1`` lines) naming a trainval image is not a split. An
    image in trainval.txt and test.txt is exit 3."""
    stems = sorted(p.stem for p in BCCD.rglob("*.xml"))
    src = _voc_folder(tmp_path / "bccd", BCCD, {"trainval": stems[:20], "test": stems[20:],
                                                 "RBC_test": [f"{stems[0]}  1"]})
    code, _, err = invoke("snapshot", "--from", str(src), "-m", "bccd")
    assert code == 0, err
    assert "trainval.txt: 20 image(s) it lists are in neither train.txt nor val.txt: recorded as split train" in err
    assert _splits(repo) == {s: "train" if i < 20 else "test" for i, s in enumerate(stems)}
    out = tmp_path / "out"
    code, _, err = invoke("export", "HEAD", "--format", "voc", "--out", str(out))
    assert code == 0, err
    assert _lists(out) == {"train": stems[:20], "trainval": stems[:20], "test": stems[20:]}
    alone = _voc_folder(tmp_path / "alone", BCCD, {"trainval": stems})  # every image train: no split
    tasks = read_train(alone, "voc", None, True)
    assert set(_split_of(tasks.tasks).values()) == {None} and not any("recorded as split train" in w for w in tasks.warnings)
    bad = _voc_folder(tmp_path / "bad", BCCD, {"trainval": stems[:20], "test": stems[19:]})
    code, _, err = invoke("snapshot", "--from", str(bad), "-m", "bad")
    assert code == 3 and "trainval.txt: line 20: 'BloodImage_00019' is also in" in err and "test.txt (line 1)" in err


def test_tasks_given_splits_in_label_studio_are_dealt_into_the_lists(repo, tmp_path):
    """Splits set on the tasks (``valid`` is val, as for YOLO and COCO), not read from VOC: one list
    per split in the export's order, trainval train and val interleaved in that order; a .png image
    is said (torchvision and mmdetection open JPEGImages/<stem>.jpg)."""
    code, _, err = invoke("snapshot", "--from", str(RACCOON), "--format", "voc", "-m", "raccoon", "-q")
    assert code == 0, err
    ls = tmp_path / "ls.json"
    code, _, err = invoke("export", "HEAD", "--format", "label-studio", "-o", str(ls))
    assert code == 0, err
    tasks = json.loads(ls.read_text())
    for i, t in enumerate(tasks):
        t["data"]["split"] = ("train", "valid", "test")[i % 3]
    tasks[0]["data"]["image"] = tasks[0]["data"]["image"].replace(".jpg", ".png")
    ls.write_text(json.dumps(tasks))
    code, _, err = invoke("snapshot", "--from", str(ls), "-m", "splits", "-q")
    assert code == 0, err
    split = {k: v.replace("valid", "val") for k, v in _splits(repo).items()}
    out = tmp_path / "out"
    code, _, err = invoke("export", "HEAD", "--format", "voc", "--out", str(out))
    assert code == 0, err
    order = sorted(split)
    assert _lists(out) == {"train": [k for k in order if split[k] == "train"],
                           "val": [k for k in order if split[k] == "val"],
                           "test": [k for k in order if split[k] == "test"],
                           "trainval": [k for k in order if split[k] != "test"]}
    assert "1 image(s) are not .jpg files" in err
