"""Data not labeled yet, brought in a training format (the first step of the labeling loop):
a COCO file of images and no annotation (or no category), a YOLO folder of images with no
label file or only empty ones, Pascal VOC files with no <object>.

What a user expects, checked end to end with the CLI in a fresh repository: the images are
recorded as tasks without answers (not as "labeled, nothing there"), the Label Studio export
carries them to label, the training exports are files their readers take, and where nothing
says what the labels are (no category, no class, no <object>) the snapshot is a one-line
exit 3 asking for --config, not a version whose config Label Studio refuses (an empty
<RectangleLabels>). A CoNLL file whose every tag is O is test_bad_input_more's.

Samples are derived at run time from the shared corpus, read in place.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

import annover
from annover.formats.training import read_train

from .conftest import shared_corpus

CORPUS = shared_corpus("formats")
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus of training formats is not here")

BOXES = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="cat"/>
    <Label value="dog"/>
  </RectangleLabels>
</View>
"""
#: another kind of task on the same images, and another name for the image field
CLASSES = """<View>
  <Image name="img" value="$img"/>
  <Choices name="kind" toName="img">
    <Choice value="cat"/>
    <Choice value="dog"/>
  </Choices>
</View>
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([sys.executable, "-m", "annover", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120)


def _ok(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    p = _cli(*args, cwd=cwd)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr, p.stderr
    return p


@pytest.fixture
def root(tmp_path):
    annover.init(tmp_path / "repo")
    return tmp_path / "repo"


def _tree(root: Path) -> list[tuple[str, int]]:
    """The repository's files but git's own (a first command leaves git's caches)."""
    return sorted((p.relative_to(root).as_posix(), p.stat().st_size) for p in root.rglob("*")
                  if p.is_file() and not p.relative_to(root).as_posix().startswith(".git/"))


def _needs_config(root: Path, src: Path, *says: str, args: tuple[str, ...] = ()) -> None:
    """Exit 3, one line saying to give --config, nothing written (also with --dry-run)."""
    before = _tree(root)
    for dry in ([], ["--dry-run"]):
        p = _cli("snapshot", "--from", str(src), "-m", "x", *args, *dry, cwd=root)
        assert p.returncode == 3, p.stderr
        assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr, p.stderr
        for s in (f"Error: {src}: ", "so no labeling config can be inferred", "give --config", *says):
            assert s in p.stderr, p.stderr
    assert _tree(root) == before


def _snapshot_unlabeled(root: Path, src: Path, n: int, *args: str) -> None:
    """``src`` recorded as ``n`` tasks without answers, said in a warning; the loop sees them as unlabeled."""
    p = _ok("snapshot", "--from", str(src), "-m", "not labeled yet", *args, cwd=root)
    assert f"{n} tasks, 0 labeled, 0 annotations" in p.stderr, p.stderr
    assert f"its {n} image(s) were recorded as tasks without answers (not labeled yet)" in p.stderr, p.stderr
    stats = annover.Repo(root).show("HEAD").stats
    assert (stats["tasks"], stats["labeled"], stats["unlabeled"], stats["annotations"]) == (n, 0, n, 0)
    picked = _ok("sample", "HEAD", "--strategy", "unlabeled", "--n", str(n), "--no-record", cwd=root)
    assert len([ln for ln in picked.stdout.splitlines() if ln and not ln.startswith("sample ")]) == n


def _ls_export(root: Path, field: str = "image") -> list[dict]:
    _ok("export", "HEAD", "--format", "label-studio", "--out", str(root / "ls.json"), cwd=root)
    tasks = json.loads((root / "ls.json").read_text())
    assert all(t["annotations"] == [] and t["predictions"] == [] and t["data"][field] for t in tasks), tasks[:2]
    return tasks


def _labels_of_config(root: Path) -> list[str]:
    cfg = ET.fromstring(annover.Repo(root).config_text("HEAD"))
    for control in cfg.iter():
        if control.tag.endswith("Labels"):
            assert control.findall("Label"), ET.tostring(cfg)  # Label Studio refuses a labels control of no label
    return [lb.get("value") for lb in cfg.iter("Label")]


# ---------------------------------------------------------------------------
# COCO


def _chess() -> dict:
    return json.loads((CORPUS / "coco_chess_roboflow.json").read_text())


@needs_corpus
@pytest.mark.parametrize("annotations", ["empty", "missing"])
def test_coco_images_without_annotations_are_tasks_without_answers(root, tmp_path, annotations):
    # was: 29 tasks, 29 labeled, 29 annotations (each image "labeled: nothing there"), so Label Studio
    # got them as done and `sample --strategy unlabeled` found none
    doc = _chess()
    n = len(doc["images"])
    if annotations == "empty":
        doc["annotations"] = []
    else:
        del doc["annotations"]
    src = tmp_path / "unlabeled.json"
    src.write_text(json.dumps(doc))
    _snapshot_unlabeled(root, src, n)  # recognised as COCO, config generated from the categories
    assert _labels_of_config(root) == [c["name"] for c in sorted(doc["categories"], key=lambda c: c["id"])]
    tasks = _ls_export(root)
    assert sorted(t["data"]["image"] for t in tasks) == sorted(im["file_name"] for im in doc["images"])
    assert all(t["data"]["coco_image"]["width"] == 2048 for t in tasks)
    pycocotools = pytest.importorskip("pycocotools.coco")
    _ok("export", "HEAD", "--format", "coco", "--out", str(root / "coco.json"), cwd=root)
    back = pycocotools.COCO(str(root / "coco.json"))  # tasks without answers are no training data
    assert (len(back.imgs), len(back.anns)) == (0, 0)
    assert {c["name"]: c["id"] for c in back.dataset["categories"]} == {c["name"]: c["id"] for c in doc["categories"]}


@needs_corpus
@pytest.mark.parametrize("categories", ["empty", "missing"])
def test_a_coco_file_of_no_category_asks_for_a_config(root, tmp_path, categories):
    # was: exit 0, a version whose config had an empty <RectangleLabels> (Label Studio refuses it),
    # and an images-only file without --format: "expected a JSON list of tasks, got an object"
    doc = {"images": _chess()["images"]}
    if categories == "empty":
        doc["categories"] = []
        doc["annotations"] = []
    src = tmp_path / "images.json"
    src.write_text(json.dumps(doc))
    for fmt in ((), ("--format", "coco")):
        _needs_config(root, src, "no category ('categories' is empty or missing)", args=fmt)
    # the reader alone still reads it: the tasks, no answer
    tables = read_train(src, "coco", None, True)
    assert (tables.tasks.num_rows, tables.annotations.num_rows) == (len(doc["images"]), 0)
    (tmp_path / "boxes.xml").write_text(BOXES)
    _snapshot_unlabeled(root, src, len(doc["images"]), "--config", str(tmp_path / "boxes.xml"))
    assert _labels_of_config(root) == ["cat", "dog"]
    _ls_export(root)


@needs_corpus
def test_coco_images_without_objects_beside_labeled_ones_stay_background_images(root, tmp_path):
    """Where some image has an annotation, an image without one is a background image: answered,
    with no region (as before), so a training export keeps it as a negative."""
    doc = _chess()
    first = doc["images"][0]["id"]
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] != first]
    src = tmp_path / "some.json"
    src.write_text(json.dumps(doc))
    p = _ok("snapshot", "--from", str(src), "-m", "x", cwd=root)
    n = len(doc["images"])
    assert f"{n} tasks, {n} labeled, {n} annotations" in p.stderr, p.stderr
    assert "without answers" not in p.stderr


# ---------------------------------------------------------------------------
# YOLO


def _yolo(tmp_path: Path, labels: str) -> Path:
    """label-studio-sdk's YOLO sample's classes and image sizes, with no label file ("none") or
    its label files emptied ("empty")."""
    src = CORPUS / "yolo_detect_lssdk"
    out = tmp_path / f"yolo_{labels}"
    out.mkdir()
    for f in ("classes.txt", "sizes.json"):
        (out / f).write_bytes((src / f).read_bytes())
    if labels == "empty":
        (out / "labels").mkdir()
        for f in sorted((src / "labels").glob("*.txt")):
            (out / "labels" / f.name).write_text("")
    return out


@needs_corpus
@pytest.mark.parametrize("labels", ["none", "empty"])
def test_a_yolo_folder_of_no_label_line_is_tasks_without_answers(root, tmp_path, labels):
    # was: no label file at all: exit 3 ("no label files"; without --format "classes.txt but no label
    # files"), even with --config; only empty ones: every image recorded as labeled with nothing
    src = _yolo(tmp_path, labels)
    classes = (src / "classes.txt").read_text().split()
    n = len(json.loads((src / "sizes.json").read_text()))
    _snapshot_unlabeled(root, src, n)  # recognised without --format
    assert _labels_of_config(root) == classes
    tasks = _ls_export(root)
    assert all(t["data"]["width"] > 0 and t["data"]["height"] > 0 for t in tasks)
    out = root / "yolo"
    _ok("export", "HEAD", "--format", "yolo", "--out", str(out), cwd=root)
    assert yaml.safe_load((out / "data.yaml").read_text())["names"] == dict(enumerate(classes))
    assert not list(out.rglob("labels/*.txt"))


@needs_corpus
def test_a_yolo_folder_of_no_class_asks_for_a_config(root, tmp_path):
    # was: exit 0, a config with an empty <RectangleLabels>, and a YOLO export whose data.yaml says `names:` (null)
    src = _yolo(tmp_path, "empty")
    (src / "classes.txt").write_text("")
    _needs_config(root, src, "no class name (data.yaml's names, classes.txt)")
    (tmp_path / "boxes.xml").write_text(BOXES)
    _snapshot_unlabeled(root, src, 7, "--config", str(tmp_path / "boxes.xml"))
    _ok("export", "HEAD", "--format", "yolo", "--out", str(root / "yolo"), cwd=root)
    assert yaml.safe_load((root / "yolo" / "data.yaml").read_text())["names"] == {0: "cat", 1: "dog"}


# ---------------------------------------------------------------------------
# Pascal VOC


def _voc_without_objects(tmp_path: Path) -> Path:
    """The raccoon sample's XML files with their <object>s taken out."""
    out = tmp_path / "voc" / "Annotations"
    out.mkdir(parents=True)
    for f in sorted((CORPUS / "voc_raccoon_labelimg" / "annotations").glob("*.xml")):
        tree = ET.parse(f)
        for o in tree.getroot().findall("object"):
            tree.getroot().remove(o)
        tree.write(out / f.name)
    return out.parent


@needs_corpus
def test_voc_files_of_no_object_ask_for_a_config_then_are_tasks_without_answers(root, tmp_path):
    # was: exit 0, a config with an empty <RectangleLabels>; with --config every image labeled with nothing
    src = _voc_without_objects(tmp_path)
    n = len(list((src / "Annotations").glob("*.xml")))
    _needs_config(root, src, "no <object>, hence no label name")
    (tmp_path / "boxes.xml").write_text(BOXES)
    _snapshot_unlabeled(root, src, n, "--config", str(tmp_path / "boxes.xml"))
    tasks = _ls_export(root)
    sizes = {}
    for f in (src / "Annotations").glob("*.xml"):
        r = ET.parse(f).getroot()
        sizes[r.findtext("filename")] = (int(r.findtext("size/width")), int(r.findtext("size/height")))
    assert {t["data"]["image"]: (t["data"]["width"], t["data"]["height"]) for t in tasks} == sizes
    _ok("export", "HEAD", "--format", "voc", "--out", str(root / "voc"), cwd=root)
    assert (root / "voc" / "labels.txt").read_text().split() == ["cat", "dog"]


# ---------------------------------------------------------------------------
# a config of another kind of task


@needs_corpus
def test_images_not_labeled_yet_take_a_config_of_another_kind(root, tmp_path):
    # was: exit 4 "the labeling config has 0 <RectangleLabels> controls, and the data needs one", when
    # the data had no box to need it
    cfg = tmp_path / "classes.xml"
    cfg.write_text(CLASSES)
    doc = {"images": _chess()["images"][:3]}
    sources = [tmp_path / "images.json", _yolo(tmp_path, "none"), _voc_without_objects(tmp_path)]
    sources[0].write_text(json.dumps(doc))
    for src in sources:
        r = tmp_path / f"repo_{src.name}"
        annover.init(r)
        _ok("snapshot", "--from", str(src), "--config", str(cfg), "-m", "x", cwd=r)
        assert annover.Repo(r).show("HEAD").stats["unlabeled"] > 0
        _ls_export(r, field="img")  # the image field is the config's
