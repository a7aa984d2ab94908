"""The training formats (COCO, YOLO, Pascal VOC, CoNLL): round trips on samples other people
wrote (``../shared/corpus/formats``, read in place), output read by the tools that define
each format, the --resolve choices, refusals, and a property test of the round trip."""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

import annover
from annover.errors import InputError, UsageError
from annover.formats import boxes_fast, coco, coco_fast, yolo
from annover.formats.detect import detect_train
from annover.formats.label_studio import from_ls_tasks
from annover.formats.read import read_source
from annover.formats.resolve import pick
from annover.formats.tables import Tables
from annover.formats.train import to_tables
from annover.formats.training import read_train, render_train, train_input
from annover.model import canonical as C
from annover.model.config import LabelingConfig

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("formats")
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus of training formats is not here")

COCO_SAMPLES = ["coco_chess_roboflow.json", "coco_person_keypoints_mmpose.json", "coco_polygons_cocoannotator.json",
                "coco_instances_rle_datumaro.json"]
YOLO_SAMPLES = [("yolo_detect_lssdk", "yolo"), ("yolo_segment_datumaro", "yolo"), ("yolo_obb_datumaro", "yolo-obb"),
                ("yolo_pose_datumaro", "yolo")]
VOC_SAMPLES = ["voc_bccd", "voc_raccoon_labelimg", "voc_parts_actions_datumaro"]
CONLL_SAMPLES = ["conll_spacy_ontonotes.conll", "conll_flair_fashion.conll"]
ANN_COLUMNS = ["task_key", "annotation_key", "region_key", "labels", "value", "region", "from_name", "to_name", "type"]


def _tables(t: Tables) -> dict:
    return {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}


def _export(src: Path, fmt: str, out: Path, resolve: str | None = None,
            src_fmt: str | None = None) -> tuple[Tables, Path, list[str]]:
    """``src`` read (as ``src_fmt``, by default ``fmt``), then written as ``fmt`` to ``out`` (a file or a folder)."""
    t = read_train(src, src_fmt or fmt, None, True)
    r = render_train(fmt, _tables(t), t.config_text, resolve)
    if r.files is not None:
        for rel, data in r.files.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(data)
    else:
        out.write_bytes(r.data)
    return t, out, r.notes


def _close(a, b, tol: float) -> bool:
    return len(a) == len(b) and all(abs(float(x) - float(y)) <= tol for x, y in zip(a, b))


# ---------------------------------------------------------------------------
# COCO


@pytest.mark.parametrize("name", COCO_SAMPLES)
def test_coco_corpus_round_trip_and_pycocotools(name, tmp_path):
    from pycocotools.coco import COCO

    src = CORPUS / name
    t, out, _ = _export(src, "coco", tmp_path / "out.json")
    orig, got = json.loads(src.read_text()), json.loads(out.read_text())
    # the same images, by id, name and size
    assert {(i["id"], i["file_name"], i["width"], i["height"]) for i in orig["images"]} == \
        {(i["id"], i["file_name"], i["width"], i["height"]) for i in got["images"]}
    # categories: the same names with the same ids, in id order
    by_id = {c["id"]: c["name"] for c in orig["categories"]}
    assert [(c["id"], c["name"]) for c in sorted(orig["categories"], key=lambda c: c["id"])] == \
        [(c["id"], c["name"]) for c in got["categories"]]
    got_names = {c["id"]: c["name"] for c in got["categories"]}
    # the same annotations, image by image, in order; coordinates within 0.01 px
    assert len(got["annotations"]) == len(orig["annotations"])
    gt, res = COCO(str(src)), COCO(str(out))  # pycocotools loads the export
    for a, b in zip(sorted(orig["annotations"], key=lambda a: (a["image_id"], a["id"])),
                    sorted(got["annotations"], key=lambda a: (a["image_id"], a["id"]))):
        assert (a["image_id"], by_id[a["category_id"]]) == (b["image_id"], got_names[b["category_id"]])
        assert _close(a["bbox"], b["bbox"], 0.01), (a["bbox"], b["bbox"])
        assert abs(a["area"] - b["area"]) <= 0.01
        if isinstance(a["segmentation"], list) and a["segmentation"]:
            assert len(a["segmentation"]) == len(b["segmentation"])
            assert all(_close(p, q, 0.01) for p, q in zip(a["segmentation"], b["segmentation"]))
        if a.get("keypoints") and any(a["keypoints"]):
            assert _close(a["keypoints"], b["keypoints"], 0.01)
            assert a["num_keypoints"] == b["num_keypoints"]
        assert bool(a.get("iscrowd") in (1, True, "true")) == bool(b["iscrowd"])
        # pycocotools draws the same mask from both
        if a["segmentation"]:
            assert np.array_equal(gt.annToMask(gt.anns[a["id"]]), res.annToMask(res.anns[b["id"]]))
    # and reading the export again gives the same canonical annotations
    t2 = read_train(out, "coco", None, True)
    assert t2.annotations.select(ANN_COLUMNS).equals(t.annotations.select(ANN_COLUMNS))


def test_coco_keypoints_belong_to_their_person(tmp_path):
    src = CORPUS / "coco_person_keypoints_mmpose.json"
    t = read_train(src, "coco", None, True)
    types = t.annotations.column("type").to_pylist()
    assert types.count("keypointlabels") == sum(a["num_keypoints"] for a in json.loads(src.read_text())["annotations"])
    regions = [json.loads(r) for r, ty in zip(t.annotations.column("region").to_pylist(), types)
               if ty == "keypointlabels"]
    parents = {k.split("/")[0] for k, ty in zip(t.annotations.column("region_key").to_pylist(), types)
               if ty == "polygonlabels" and not k.startswith("~")}
    assert {r["parentID"] for r in regions} <= parents


# ---------------------------------------------------------------------------
# YOLO


def _lines(folder: Path) -> dict[str, list[list[float]]]:
    base = folder / "labels"
    return {f.relative_to(base).as_posix(): sorted([float(x) for x in ln.split()]
                                                   for ln in f.read_text().splitlines() if ln.strip())
            for f in sorted(base.rglob("*.txt"))}


def _corners(row: list[float]) -> list[tuple[float, float]]:
    return sorted((round(row[i], 5), round(row[i + 1], 5)) for i in range(1, 9, 2))


@pytest.mark.parametrize("name,fmt", YOLO_SAMPLES)
def test_yolo_corpus_round_trip(name, fmt, tmp_path):
    src = CORPUS / name
    t, out, notes = _export(src, fmt, tmp_path / "out")
    a, b = _lines(src), _lines(out)
    assert a.keys() == b.keys()
    for k in a:
        assert len(a[k]) == len(b[k])
        for x, y in zip(a[k], b[k]):
            if fmt == "yolo-obb":  # the same four corners, maybe starting at another one
                flat = [c for p in _corners(x) for c in p], [c for p in _corners(y) for c in p]
                assert x[0] == y[0] and flat[0] == pytest.approx(flat[1], abs=2e-5)
            else:  # the same numbers, within annover's 1e-7 of the image size
                assert _close(x, y, 2e-7), (x, y)
    names = yaml.safe_load((src / "data.yaml").read_text())["names"] if (src / "data.yaml").exists() else \
        (src / "classes.txt").read_text().split()
    names = [names[i] for i in sorted(names)] if isinstance(names, dict) else names
    assert yaml.safe_load((out / "data.yaml").read_text())["names"] == dict(enumerate(names))
    assert (out / "classes.txt").read_text().split() == names
    assert read_train(out, fmt, None, True).annotations.select(ANN_COLUMNS).equals(
        t.annotations.select(ANN_COLUMNS))


def _blank_images(folder: Path) -> Path:
    """Blank images of the sizes sizes.json gives, where supervision looks for them."""
    sizes = json.loads((folder / "sizes.json").read_text())
    for rel, s in sizes.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        PILImage.new("RGB", (s["width"], s["height"])).save(p)
    return folder


@pytest.mark.parametrize("name,fmt", [s for s in YOLO_SAMPLES if "pose" not in s[0]])
def test_supervision_reads_the_yolo_export(name, fmt, tmp_path):
    """supervision (Roboflow's reader of the Ultralytics layout) loads the export: the same boxes."""
    sv = pytest.importorskip("supervision")
    _, out, _ = _export(CORPUS / name, fmt, tmp_path / "out")
    _blank_images(out)
    sub = next((p.relative_to(out / "labels") for p in (out / "labels").iterdir() if p.is_dir()), Path("."))
    ds = sv.DetectionDataset.from_yolo(str(out / "images" / sub), str(out / "labels" / sub), str(out / "data.yaml"),
                                       is_obb=fmt == "yolo-obb")
    n = sum(len(d) for _, _, d in ds)
    assert n == sum(len(v) for v in _lines(CORPUS / name).values())
    assert ds.classes == list(yaml.safe_load((out / "data.yaml").read_text())["names"].values())


def test_yolo_pose_lines_follow_ultralytics_layout(tmp_path):
    """Pose: class, box, then K (x, y, v) as kpt_shape says (the spec Ultralytics' loader checks)."""
    _, out, notes = _export(CORPUS / "yolo_pose_datumaro", "yolo", tmp_path / "out")
    doc = yaml.safe_load((out / "data.yaml").read_text())
    k, dim = doc["kpt_shape"]
    assert (k, dim) == (3, 3) and "YOLO task: pose" in notes
    for rows in _lines(out).values():
        for row in rows:
            assert len(row) == 5 + k * dim and all(0 <= v <= 1 for v in row[1:5])


# ---------------------------------------------------------------------------
# Pascal VOC


def _voc(folder: Path) -> dict[str, list[tuple]]:
    """Objects per file, read with the standard library's XML parser (not annover's reader)."""
    base = next((folder / d for d in ("Annotations", "annotations") if (folder / d).is_dir()), folder)
    out = {}
    for f in sorted(base.glob("*.xml")):
        root = ET.parse(f).getroot()
        objs = []
        for o in root.findall("object"):
            b = o.find("bndbox")
            box = tuple(float(b.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
            flags = tuple(int(float(o.findtext(k) or 0)) for k in ("truncated", "difficult"))
            parts = tuple((p.findtext("name"), tuple(float(p.find("bndbox").find(k).text)
                                                     for k in ("xmin", "ymin", "xmax", "ymax")))
                          for p in o.findall("part"))
            objs.append((o.findtext("name"), box, flags, parts))
        size = root.find("size")
        out[f.stem] = (root.findtext("filename"), int(size.findtext("width")), int(size.findtext("height")),
                       sorted(objs))
    return out


@pytest.mark.parametrize("name", VOC_SAMPLES)
def test_voc_corpus_round_trip(name, tmp_path):
    src = CORPUS / name
    t, out, _ = _export(src, "voc", tmp_path / "out")
    assert _voc(out) == _voc(src)
    assert read_train(out, "voc", None, True).annotations.select(ANN_COLUMNS).equals(
        t.annotations.select(ANN_COLUMNS))


def test_supervision_reads_the_voc_export(tmp_path):
    sv = pytest.importorskip("supervision")
    _, out, _ = _export(CORPUS / "voc_raccoon_labelimg", "voc", tmp_path / "out")
    images = tmp_path / "images"
    images.mkdir()
    for stem, (fname, w, h, _) in _voc(out).items():
        PILImage.new("RGB", (w, h)).save(images / fname)
    ds = sv.DetectionDataset.from_pascal_voc(str(images), str(out / "Annotations"))
    assert sum(len(d) for _, _, d in ds) == 32
    assert ds.classes == ["raccoon"]


# ---------------------------------------------------------------------------
# CoNLL


def _conll(path: Path) -> list[tuple[list[str], list[str]]]:
    """(tokens, tags) per sentence: first and last column, -DOCSTART- skipped."""
    sents, cur = [], ([], [])
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        cols = line.split()
        if not cols:
            if cur[0]:
                sents.append(cur)
            cur = ([], [])
        elif cols[0] != "-DOCSTART-":
            cur[0].append(cols[0])
            cur[1].append(cols[-1])
    return sents


@pytest.mark.parametrize("name", CONLL_SAMPLES)
def test_conll_corpus_round_trip_read_by_seqeval(name, tmp_path):
    from seqeval.metrics import f1_score
    from seqeval.metrics.sequence_labeling import get_entities

    src = CORPUS / name
    _, out, _ = _export(src, "conll", tmp_path / "out.conll")
    a, b = _conll(src), _conll(out)
    assert [s[0] for s in a] == [s[0] for s in b]  # the same tokens, sentence by sentence, in order
    for (_, ta), (_, tb) in zip(a, b):
        assert get_entities(ta) == get_entities(tb)
        assert ta == tb  # the tags as the file gave them (flair's stray BIOES S- too: docs/formats.md)
    assert f1_score([s[1] for s in a], [s[1] for s in b]) == 1.0


def test_conll_tokenisation_splits_at_span_edges():
    tasks = [{"id": 1, "data": {"text": "Visit Paris, then Rome."}, "annotations": [{"result": [
        {"from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": 6, "end": 11, "text": "Paris", "labels": ["LOC"]}},
        {"from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": 18, "end": 22, "text": "Rome", "labels": ["LOC"]}}]}]}]
    t = from_ls_tasks(tasks, "mem")
    r = render_train("conll", _tables(t), None)
    assert r.data.decode().splitlines()[2:9] == ["Visit _ _ O", "Paris _ _ B-LOC", ", _ _ O", "then _ _ O",
                                                 "Rome _ _ B-LOC", ". _ _ O", ""]


# ---------------------------------------------------------------------------
# through the repository and the command line


def test_coco_and_yolo_of_the_same_boxes_give_the_same_snapshot(repo, tmp_path):
    """YOLO folder -> annover -> COCO -> annover: the same task keys and the same annotations id."""
    import annover

    a = repo.snapshot(str(CORPUS / "yolo_detect_lssdk"), fmt="yolo", message="yolo")
    assert "RectangleLabels" in repo.config_text("HEAD")  # the generated config is kept
    code, _, err = invoke("export", "HEAD", "--format", "coco", "--out", str(tmp_path / "c.json"))
    assert code == 0, err
    other = annover.init(tmp_path / "other")
    b = other.snapshot(str(tmp_path / "c.json"), fmt="coco", message="coco")
    ta, tb = a.version.record["tables"], b.version.record["tables"]
    assert ta["annotations"]["id"] == tb["annotations"]["id"]
    assert repo.load("HEAD", "tasks").column("task_key").to_pylist() == \
        other.load("HEAD", "tasks").column("task_key").to_pylist() == [f"img_{i}" for i in range(1, 8)]
    # and back to YOLO: the class ids of classes.txt
    code, _, err = invoke("export", "HEAD", "--format", "yolo", "--out", str(tmp_path / "y"))
    assert code == 0, err
    assert (tmp_path / "y" / "classes.txt").read_text() == (CORPUS / "yolo_detect_lssdk" / "classes.txt").read_text()


@pytest.mark.parametrize("fmt", ["yolo", "yolo-obb"])
def test_a_yolo_export_of_a_version_with_no_object_class_is_refused(repo, tmp_path, fmt):
    """An image classification has no class a YOLO folder could name (data.yaml's `names:` was
    written null): exit 2 in one line, nothing written; COCO still writes its (empty) categories."""
    cfg = tmp_path / "classes.xml"
    cfg.write_text('<View><Image name="image" value="$image"/><Choices name="kind" toName="image">'
                   '<Choice value="cat"/><Choice value="dog"/></Choices></View>')
    src = tmp_path / "t.json"
    src.write_text(json.dumps([{"id": i, "data": {"image": f"{n}.png"}, "annotations": [{"result": [
        {"from_name": "kind", "to_name": "image", "type": "choices", "value": {"choices": [n]}}]}]}
        for i, n in enumerate(["cat", "dog"])]))
    repo.snapshot(str(src), config=str(cfg), message="classes")
    out = tmp_path / "y"
    code, _, err = invoke("export", "--format", fmt, "--out", str(out))
    assert code == 2 and "no class to write" in err and "--format hf" in err and "\n" not in err.strip(), err
    assert not out.exists()
    code, _, err = invoke("export", "--format", "coco", "--out", str(tmp_path / "c.json"))
    assert code == 0, err
    assert json.loads((tmp_path / "c.json").read_text())["categories"] == []


def test_export_refuses_to_overwrite_without_force(repo, tmp_path):
    repo.snapshot(str(CORPUS / "voc_raccoon_labelimg"), fmt="voc", message="voc")
    for fmt, out in (("coco", tmp_path / "a.json"), ("voc", tmp_path / "v"), ("label-studio", tmp_path / "l.json")):
        assert invoke("export", "--format", fmt, "--out", str(out))[0] == 0
        before = sorted(p.name for p in out.rglob("*")) if out.is_dir() else out.read_bytes()
        code, _, err = invoke("export", "--format", fmt, "--out", str(out))
        assert code == 2 and str(out) in err and "--force" in err and "exists" in err
        assert (sorted(p.name for p in out.rglob("*")) if out.is_dir() else out.read_bytes()) == before
        stale = out / "stale.txt" if out.is_dir() else None
        if stale:
            stale.write_text("old")
        code, _, err = invoke("export", "--format", fmt, "--out", str(out), "--force")
        assert code == 0, err
        assert stale is None or not stale.exists()  # the folder was replaced, not merged


BAD = [
    ("coco", "bad.json", lambda p: p.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
        "annotations": [{"id": 5, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}],
        "categories": [{"id": 1, "name": "x"}]})), ["bad.json", "annotation 0 (id 5)", "image_id 2"]),
    ("yolo", "y", lambda p: (p.mkdir(), (p / "classes.txt").write_text("a\n"), (p / "labels").mkdir(),
                             (p / "labels" / "1.txt").write_text("0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2\n")),
     ["1.txt: line 2", "3 numbers"]),
    ("yolo", "y", lambda p: (p.mkdir(), (p / "classes.txt").write_text("a\nb\n"), (p / "labels").mkdir(),
                             (p / "labels" / "1.txt").write_text("2 0.5 0.5 0.2 0.2\n")),
     ["1.txt: line 1", "class id 2 is out of range", "2 classes"]),
    ("voc", "v", lambda p: (p.mkdir(), (p / "1.xml").write_text(
        "<annotation><filename>1.jpg</filename><size><width>10</width><height>10</height></size>"
        "<object><name>a</name><bndbox><xmin>5</xmin><ymin>1</ymin><xmax>2</xmax><ymax>3</ymax></bndbox>"
        "</object></annotation>")), ["1.xml: object 0", "xmin 5 > xmax 2"]),
    ("conll", "c.conll", lambda p: p.write_text("EU B-ORG\nrejects X-VERB\n"), ["c.conll: line 2", "X-VERB"]),
    # found by an audit: each of these was read in silence, changed, or ended in a traceback
    ("coco", "dup.json", lambda p: _coco_file(p, images=[{"id": 1, "file_name": "1.jpg", "width": 100, "height": 50},
                                                         {"id": 1, "file_name": "2.jpg", "width": 100, "height": 50}]),
     ["dup.json", "image 1 (id 1, file_name '2.jpg') and image 0 (file_name '1.jpg') share an id"]),
    ("coco", "cats.json", lambda p: _coco_file(p, categories=[{"id": 1, "name": "cat"}, {"id": 2, "name": "cat"}]),
     ["cats.json", "category 1 (id 2, name 'cat') and category 0 (id 1, name 'cat') share a name"]),
    ("coco", "cats.json", lambda p: _coco_file(p, categories=[{"id": 1, "name": "cat"}, {"id": 1, "name": "dog"}]),
     ["cats.json", "category 1 (id 1, name 'dog') and category 0 (id 1, name 'cat') share an id"]),
    ("coco", "neg.json", lambda p: _coco_file(p, ann={"bbox": [10, 5, -20, 10]}), ["annotation 0 (id 1)", "negative"]),
    ("coco", "poly.json", lambda p: _coco_file(p, ann={"bbox": [10, 5, 20, 10], "segmentation": [[1, 2, 3, 4, 5]]}),
     ["annotation 0 (id 1)", "segmentation polygon 0 has 5 values"]),
    ("coco", "kp.json", lambda p: _coco_file(p, ann={"bbox": [10, 5, 20, 10], "keypoints": [1, 2]},
                                             categories=[{"id": 1, "name": "p", "keypoints": ["a", "b"]}]),
     ["annotation 0 (id 1)", "keypoints has 2 values", "2 keypoints"]),
    ("yolo", "y", lambda p: (p.mkdir(), (p / "classes.txt").write_bytes(b"caf\xe9\n"), (p / "labels").mkdir(),
                             (p / "labels" / "a.txt").write_text("0 .5 .5 .1 .1\n")), ["classes.txt", "not UTF-8"]),
    ("yolo", "y", lambda p: (p.mkdir(), (p / "classes.txt").write_text("a\n"), (p / "labels").mkdir(),
                             (p / "labels" / "a.txt").write_bytes(b"0 .5 .5 .1 .1 \xff\n")), ["a.txt", "not UTF-8"]),
    ("yolo", "y", lambda p: (p.mkdir(), (p / "classes.txt").write_text("a\na\n"), (p / "labels").mkdir(),
                             (p / "labels" / "i.txt").write_text("0 .5 .5 .1 .1\n1 .2 .2 .1 .1\n")),
     ["classes.txt", "classes 0 and 1 are both named 'a'"]),
    ("voc", "v", lambda p: (p.mkdir(), (p / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><size><width>100</width><height>50</height></size><object>"
        "<name>x</name><difficult>yes</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax>"
        "</bndbox></object></annotation>")), ["a.xml: object 0", "<difficult> is 'yes'"]),
    # RLE masks: a broken compressed string was an IndexError (exit 1); counts past the image were cut,
    # and a mask of another size read as one of the image's, in silence
    ("coco", "rle.json", lambda p: _coco_file(p, ann={"segmentation": {"counts": "abc", "size": [50, 100]}}),
     ["annotation 0 (id 1)", "counts 'abc' are not COCO run lengths"]),
    ("coco", "rle.json", lambda p: _coco_file(p, ann={"segmentation": {"counts": [0, 5, 9000], "size": [50, 100]}}),
     ["annotation 0 (id 1)", "cover 9005 pixels, the image has 5000"]),
    ("coco", "rle.json", lambda p: _coco_file(p, ann={"segmentation": {"counts": [0, 5, 20], "size": [5, 5]}}),
     ["annotation 0 (id 1)", "size is [5, 5], the image is [50, 100]"]),
    ("coco", "kp.json", lambda p: _coco_file(p, ann={"bbox": [10, 5, 20, 10], "keypoints": [1, 2, 2, 3, 4, 2]},
                                             categories=[{"id": 1, "name": "p", "keypoints": ["a", "a"]}]),
     ["kp.json", "category 'p' names the keypoint 'a' twice"]),
    # YOLO: a file in images/ that is no image and a kpt_shape of text were tracebacks (exit 1); a
    # negative box and sizes of 0 were kept, a keypoint name given twice dropped one of them on export
    ("yolo", "y", lambda p: _yolo_dir(p, "names: [a]\n", "0 .5 .5 .1 .1\n", image=b"version https://git-lfs"),
     ["a.jpg", "cannot read the image's size"]),
    ("yolo", "y", lambda p: _yolo_dir(p, "names: [a]\nkpt_shape: [x, 3]\n", "0 .5 .5 .1 .1 .5 .5 2\n"),
     ["data.yaml", "kpt_shape is ['x', 3]"]),
    ("yolo", "y", lambda p: _yolo_dir(p, "names: [a]\nkpt_shape: [2, 3]\nkpt_names: [p, p]\n",
                                      "0 .5 .5 .1 .1 .5 .5 2 .6 .6 2\n"), ["data.yaml", "the keypoint 'p' twice"]),
    ("yolo", "y", lambda p: _yolo_dir(p, "names: [a]\n", "0 .5 .5 -.1 .1\n"), ["a.txt: line 1", "width -.1"]),
    ("yolo", "y", lambda p: _yolo_dir(p, "names: [a]\n", "0 .5 .5 .1 .1\n", sizes={"width": 0, "height": 5}),
     ["sizes.json", "'images/a.jpg'", "above 0"]),
]


def _yolo_dir(p: Path, data_yaml: str, line: str, image: bytes | None = None, sizes: dict | None = None) -> None:
    """A YOLO folder: data.yaml, labels/a.txt of ``line``, and images/a.jpg or sizes.json when given."""
    (p / "labels").mkdir(parents=True)
    (p / "data.yaml").write_text(data_yaml)
    (p / "labels" / "a.txt").write_text(line)
    if image is not None:
        (p / "images").mkdir()
        (p / "images" / "a.jpg").write_bytes(image)
    if sizes is not None:
        (p / "sizes.json").write_text(json.dumps({"images/a.jpg": sizes}))


def _coco_file(p: Path, images: list | None = None, categories: list | None = None, ann: dict | None = None) -> None:
    """A small COCO file: one image, one category, one box (parts replaced as given)."""
    p.write_text(json.dumps({
        "images": images or [{"id": 1, "file_name": "1.jpg", "width": 100, "height": 50}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, **(ann or {"bbox": [10, 5, 20, 10]})}],
        "categories": categories or [{"id": 1, "name": "cat"}]}))


@pytest.mark.parametrize("fmt,name,make,words", BAD, ids=[
    "coco-missing-image", "yolo-short-line", "yolo-class-id", "voc-xmin-above-xmax", "conll-bad-tag",
    "coco-duplicate-image-id", "coco-duplicate-category-name", "coco-duplicate-category-id",
    "coco-negative-width", "coco-short-polygon",
    "coco-keypoints-count", "yolo-classes-not-utf8", "yolo-labels-not-utf8", "yolo-duplicate-class",
    "voc-difficult-not-a-number", "coco-rle-string-broken", "coco-rle-past-the-image", "coco-rle-of-another-size",
    "coco-keypoint-named-twice", "yolo-image-unreadable", "yolo-kpt-shape-text", "yolo-kpt-name-twice",
    "yolo-negative-width", "yolo-size-zero"])
@pytest.mark.parametrize("given", [True, False], ids=["format-given", "format-recognised"])
def test_bad_input_is_one_line_naming_the_place_and_writes_nothing(repo, tmp_path, fmt, name, make, words, given):
    path = tmp_path / name
    make(path)
    code, out, err = invoke("snapshot", "--from", str(path), *(["--format", fmt] if given else []), "-m", "bad")
    assert code == 3, err
    line = err.strip()
    assert "\n" not in line and line.startswith("Error: ") and " — " in line
    for w in words:
        assert w in line
    assert repo.log() == []


def _two_annotators(tmp_path: Path) -> Path:
    def box(x, label):
        return {"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 100,
                "original_height": 50, "value": {"x": x, "y": 10, "width": 20, "height": 20, "rotation": 0,
                                                 "rectanglelabels": [label]}}
    tasks = [
        {"id": 1, "data": {"image": "/data/upload/1/a.jpg"},
         "annotations": [
             {"id": 11, "completed_by": {"id": 1, "email": "ann@example.com"}, "result": [box(10, "cat")],
              "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"},
             {"id": 12, "completed_by": {"id": 2, "email": "bob@example.com"}, "result": [box(12, "dog")],
              "created_at": "2024-01-02T00:00:00Z", "updated_at": "2024-01-02T00:00:00Z", "ground_truth": True}],
         "predictions": [{"id": 5, "model_version": "m1", "score": 0.5, "result": [box(11, "cat")]}]},
        {"id": 2, "data": {"image": "/data/upload/1/b.jpg"},
         "annotations": [{"id": 13, "completed_by": {"id": 1, "email": "ann@example.com"}, "result": [],
                          "was_cancelled": True}]},
        {"id": 3, "data": {"image": "/data/upload/1/c.jpg"},
         "annotations": [{"id": 14, "completed_by": {"id": 1, "email": "ann@example.com"},
                          "result": [box(50, "dog")]}],
         "predictions": [{"id": 6, "model_version": "m1", "score": 0.9, "result": [box(51, "dog")]}]},
    ]
    p = tmp_path / "two.json"
    p.write_text(json.dumps(tasks))
    cfg = tmp_path / "cfg.xml"
    cfg.write_text('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
                   '<Label value="dog"/><Label value="cat"/></RectangleLabels></View>')
    return p, cfg


def test_resolve_ground_truth_with_none_marked_says_so_and_offers_another_rule(repo, tmp_path):
    """A task of two answers, none marked ground truth: --resolve ground-truth is exit 2 (as
    docs/formats.md says), and its hint named --resolve ground-truth, the rule just given."""
    src, cfg = _two_annotators(tmp_path)
    tasks = json.loads(src.read_text())
    del tasks[0]["annotations"][1]["ground_truth"]
    src.write_text(json.dumps(tasks))
    repo.snapshot(str(src), config=str(cfg), message="two annotators, no ground truth")
    code, _, err = invoke("export", "--format", "coco", "--out", str(tmp_path / "x.json"), "--resolve", "ground-truth")
    assert code == 2 and "none of them marked ground truth" in err, err
    assert "--resolve latest, majority, consensus, all or annotator:EMAIL" in err, err
    assert "--resolve ground-truth" not in err, err
    assert not (tmp_path / "x.json").exists()


def test_resolve_chooses_one_answer_and_says_what_was_left_out(repo, tmp_path):
    import annover
    from pycocotools.coco import COCO

    src, cfg = _two_annotators(tmp_path)
    repo.snapshot(str(src), config=str(cfg), message="two annotators")
    code, _, err = invoke("export", "--format", "coco", "--out", str(tmp_path / "x.json"))
    assert code == 2 and "task" in err and "2 answers" in err and "--resolve" in err
    assert not (tmp_path / "x.json").exists()

    def cats(resolve: str) -> tuple[list[str], str]:
        out = tmp_path / f"{resolve.replace(':', '_')}.json"
        code, _, err = invoke("export", "--format", "coco", "--out", str(out), "--resolve", resolve)
        assert code == 0, err
        doc = json.loads(out.read_text())
        names = {c["id"]: c["name"] for c in doc["categories"]}
        assert [c["name"] for c in doc["categories"]] == ["dog", "cat"]  # the config's order
        assert [i["file_name"] for i in doc["images"]] == ["a.jpg", "c.jpg"]
        return [names[a["category_id"]] for a in doc["annotations"]], err

    assert cats("ground-truth")[0] == ["dog", "dog"]
    assert cats("latest")[0] == ["dog", "dog"]
    got, err = cats("annotator:ann@example.com")
    assert got == ["cat", "dog"]
    assert "1 skipped answer(s)" in err and "1 task(s) without a usable answer" in err
    assert "predictions are not exported" in err
    assert cats("all")[0] == ["cat", "dog", "dog"]
    # the Python API: the same choices, and the same refusal to replace a file
    res = annover.export("HEAD", "coco", tmp_path / "api.json", resolve="annotator:bob@example.com")
    assert res.rows == 1 and res.resolve == "annotator:bob@example.com" and res.to_json()["notes"]
    with pytest.raises(UsageError, match="exists"):
        annover.export("HEAD", "coco", tmp_path / "api.json", resolve="latest")
    # a model's predictions: COCO's results format, which pycocotools reads against the ground truth
    out = tmp_path / "preds.json"
    code, _, err = invoke("export", "--format", "coco", "--out", str(out), "--predictions", "m1")
    assert code == 0, err
    gt = COCO(str(tmp_path / "ground-truth.json"))
    res = gt.loadRes(str(out))
    assert sorted(a["score"] for a in res.anns.values()) == [0.5, 0.9]
    assert {a["image_id"] for a in res.anns.values()} == set(gt.imgs)
    code, _, err = invoke("export", "--format", "coco", "--out", str(tmp_path / "p2.json"), "--predictions", "m9")
    assert code == 2 and "m1" in err


def test_given_config_is_checked_and_its_names_used(repo, tmp_path):
    cfg = tmp_path / "cfg.xml"
    cfg.write_text('<View><Image name="img" value="$photo"/><RectangleLabels name="box" toName="img">'
                   '<Label value="raccoon"/></RectangleLabels></View>')
    repo.snapshot(str(CORPUS / "voc_raccoon_labelimg"), fmt="voc", config=str(cfg), message="voc")
    ann = repo.load("HEAD")
    assert set(ann.column("from_name").to_pylist()) == {"box"} and set(ann.column("to_name").to_pylist()) == {"img"}
    assert "photo" in json.loads(repo.load("HEAD", "tasks").column("data")[0].as_py())
    bad = tmp_path / "bad.xml"
    bad.write_text('<View><Image name="img" value="$photo"/><RectangleLabels name="box" toName="img">'
                   '<Label value="cat"/></RectangleLabels></View>')
    code, _, err = invoke("snapshot", "--from", str(CORPUS / "voc_bccd"), "--format", "voc", "--config", str(bad))
    assert code == 4, err
    assert len(repo.log()) == 1


# ---------------------------------------------------------------------------
# the property: canonical -> format -> canonical


def _pct():
    return st.integers(0, 8_000_000).map(lambda n: n / 100_000)  # 0..80 %, at annover's 1e-5 of a percent


@st.composite
def _boxes(draw):
    w, h = draw(st.integers(8, 5000)), draw(st.integers(8, 5000))
    n = draw(st.integers(1, 4))
    result = []
    for _ in range(n):
        x, y = draw(_pct()), draw(_pct())
        bw = draw(st.integers(1, 2_000_000).map(lambda n: n / 100_000))
        bh = draw(st.integers(1, 2_000_000).map(lambda n: n / 100_000))
        label = draw(st.sampled_from(["a", "b", "c d"]))
        result.append({"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": w,
                       "original_height": h, "image_rotation": 0,
                       "value": {"x": x, "y": y, "width": bw, "height": bh, "rotation": 0,
                                 "rectanglelabels": [label]}})
    return w, h, result


@st.composite
def _polygons(draw):
    w, h = draw(st.integers(8, 5000)), draw(st.integers(8, 5000))
    result = []
    for _ in range(draw(st.integers(1, 3))):
        pts = draw(st.lists(st.tuples(_pct(), _pct()), min_size=3, max_size=7, unique=True))
        result.append({"from_name": "polygon", "to_name": "image", "type": "polygonlabels", "original_width": w,
                       "original_height": h, "image_rotation": 0,
                       "value": {"points": [list(p) for p in pts], "closed": True,
                                 "polygonlabels": [draw(st.sampled_from(["a", "b"]))]}})
    return w, h, result


CFG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
       '<Label value="a"/><Label value="b"/><Label value="c d"/></RectangleLabels>'
       '<PolygonLabels name="polygon" toName="image"><Label value="a"/><Label value="b"/></PolygonLabels></View>')


def _canonical(tasks: list[dict]) -> Tables:
    for t in tasks:
        t["id"] = t["data"]["image"].rsplit(".", 1)[0]
    return from_ls_tasks(tasks, "generated", key="id")


def _distinct(result: list[dict]) -> list[dict]:
    """The regions of ``result`` but those repeating an earlier one (the same type and value)."""
    seen: set[str] = set()
    out = []
    for r in result:
        k = json.dumps([r["type"], r["value"]], sort_keys=True)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(images=st.lists(st.one_of(_boxes(), _polygons()), min_size=1, max_size=4), fmt=st.sampled_from(
    ["coco", "yolo", "voc"]))
def test_property_canonical_to_format_and_back(images, fmt, tmp_path_factory):
    """Boxes and polygons at annover's precision come back the same through COCO, YOLO and VOC
    (a YOLO folder of one kind: a box in a segment folder becomes a polygon; VOC: boxes)."""
    if fmt != "coco":  # one kind per folder: a YOLO folder is detect or segment, VOC holds boxes
        kind = "rectanglelabels" if fmt == "voc" else images[0][2][0]["type"]
        images = [im for im in images if im[2][0]["type"] == kind]
        if not images:
            return
    if fmt == "yolo":  # a YOLO import drops a line repeating one of its file, as Ultralytics does
        images = [(w, h, _distinct(res)) for w, h, res in images]
    tasks = [{"data": {"image": f"img{i}.jpg"}, "annotations": [{"result": res}]}
             for i, (_, _, res) in enumerate(images)]
    sizes = {f"img{i}": (w, h) for i, (w, h, _) in enumerate(images)}
    t = _canonical(tasks)
    r = render_train(fmt, _tables(t), CFG)
    out = tmp_path_factory.mktemp("prop") / "out"
    if r.files is not None:
        for rel, data in r.files.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(data)
    else:
        out.write_bytes(r.data)
    back = read_train(out, fmt, None, True)
    cols = ["task_key", "region_key", "labels", "value", "type"]
    assert back.annotations.select(cols).equals(t.annotations.select(cols))
    for key, reg in zip(back.annotations.column("task_key").to_pylist(), back.annotations.column("region")):
        if reg.as_py():
            s = json.loads(reg.as_py())
            assert (s["original_width"], s["original_height"]) == sizes[key]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.text(st.characters(codec="utf-8", exclude_categories=("Z", "C")),
                                           min_size=1, max_size=6),
                                   st.sampled_from(["O", "PER", "LOC", "B-X"])), min_size=1, max_size=8),
                min_size=1, max_size=4, unique_by=lambda s: " ".join(t for t, _ in s)))
def test_property_spans_through_conll(sentences):
    """Spans on whitespace-separated tokens come back the same through CoNLL."""
    tasks = []
    for sent in sentences:
        text, result, pos, prev = "", [], 0, None
        for tok, label in sent:
            start = len(text) + (1 if text else 0)
            text += (" " if text else "") + tok
            if label == "O":
                prev = None
                continue
            if prev is not None and prev["value"]["labels"] == [label] and label != "B-X":
                prev["value"]["end"] = len(text)
                prev["value"]["text"] = text[prev["value"]["start"]:]
                continue
            prev = {"from_name": "label", "to_name": "text", "type": "labels",
                    "value": {"start": start, "end": len(text), "text": tok, "labels": [label]}}
            result.append(prev)
        tasks.append({"data": {"text": text}, "annotations": [{"result": result}]})
    t = from_ls_tasks(tasks, "generated")
    r = render_train("conll", _tables(t), None)
    with _written(r.data, "spans.conll") as path:
        back = read_train(path, "conll", None, True)
    cols = ["task_key", "labels", "value"]
    expected = sorted(t.annotations.select(cols).to_pylist(), key=json.dumps)
    if not any(a["result"] for task in tasks for a in task["annotations"]):
        # a file of no entity tag is text not labeled yet: the same tasks, no answer (train.unlabeled)
        expected = []
        assert back.tasks.column("task_key").to_pylist() == t.tasks.column("task_key").to_pylist()
    assert sorted(back.annotations.select(cols).to_pylist(), key=json.dumps) == expected


@contextmanager
def _written(data: bytes, name: str) -> Iterator[Path]:
    """``data`` in a file ``name`` of a folder of its own, removed after (a property test's
    examples share one function-scoped ``tmp_path``)."""
    with tempfile.TemporaryDirectory(prefix="annover-test-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        yield path


def test_label_studio_shapes_without_a_place_are_said(tmp_path):
    """A rotated box, keypoints with no parent region and an ellipse, as Label Studio writes them."""
    size = {"original_width": 200, "original_height": 100, "to_name": "image"}
    tasks = [{"id": "a", "data": {"image": "s3://bucket/dir/a.png"}, "annotations": [{"result": [
        {**size, "from_name": "label", "type": "rectanglelabels",
         "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 90, "rectanglelabels": ["car"]}},
        {**size, "from_name": "kp", "type": "keypointlabels", "value": {"x": 50, "y": 50, "keypointlabels": ["nose"]}},
        {**size, "from_name": "kp", "type": "keypointlabels", "value": {"x": 60, "y": 40, "keypointlabels": ["eye"]}},
        {**size, "from_name": "ell", "type": "ellipselabels",
         "value": {"x": 5, "y": 5, "radiusX": 2, "radiusY": 2, "ellipselabels": ["car"]}}]}]}]
    t = from_ls_tasks(tasks, "mem", key="id")
    coco = render_train("coco", _tables(t), None)
    doc = json.loads(coco.data)
    assert doc["images"] == [{"id": 1, "file_name": "a.png", "width": 200, "height": 100}]
    by_cat = {c["name"]: c for c in doc["categories"]}
    assert set(by_cat) == {"car", "kp"} and by_cat["kp"]["keypoints"] == ["eye", "nose"]
    car = next(a for a in doc["annotations"] if a["category_id"] == by_cat["car"]["id"])
    # 60 x 40 px turned 90 degrees clockwise about its top-left corner (20, 20): 40 px wide, 60 px high,
    # from x -20: its bbox is clipped to the image (x 0..20), its corners are written as they are
    assert car["bbox"] == [0, 20, 20, 60] and car["segmentation"][0][4:] == [-20, 80, -20, 20]
    kp = next(a for a in doc["annotations"] if a["category_id"] == by_cat["kp"]["id"])
    assert kp["keypoints"] == [120, 40, 2, 100, 50, 2] and kp["num_keypoints"] == 2
    assert any("ellipselabels" in n for n in coco.notes)
    yolo = render_train("yolo", _tables(t), None)
    assert any("rotated box(es) were written as the boxes around them" in n for n in yolo.notes)
    assert any("points object(s) have no place in YOLO" in n for n in yolo.notes)
    obb = render_train("yolo-obb", _tables(t), None)
    corners = [float(v) for v in obb.files["labels/a.txt"].decode().split()[1:]]
    assert corners == pytest.approx([0.1, 0.2, 0.1, 0.8, -0.1, 0.8, -0.1, 0.2])


def test_an_image_without_objects_keeps_its_size_through_voc_and_yolo(tmp_path):
    """A background image (a VOC file with no <object>, an empty YOLO label file) keeps its
    size: VOC -> VOC round trips, and COCO gets its width and height, not null."""
    voc = tmp_path / "voc" / "Annotations"
    voc.mkdir(parents=True)
    (tmp_path / "voc_out").mkdir()
    shutil.copy(CORPUS / "voc_raccoon_labelimg" / "annotations" / "raccoon-1.xml", voc)
    (voc / "bg.xml").write_text("<annotation><filename>bg.jpg</filename><size><width>320</width>"
                                "<height>240</height><depth>3</depth></size></annotation>")
    _, out, _ = _export(tmp_path / "voc", "voc", tmp_path / "voc_out")
    size = ET.parse(out / "Annotations" / "bg.xml").getroot().find("size")
    assert (size.findtext("width"), size.findtext("height")) == ("320", "240")
    assert not ET.parse(out / "Annotations" / "bg.xml").getroot().findall("object")
    _, out, _ = _export(tmp_path / "voc", "coco", tmp_path / "voc.json", src_fmt="voc")
    bg = next(im for im in json.loads(out.read_text())["images"] if im["file_name"] == "bg.jpg")
    assert (bg["width"], bg["height"]) == (320, 240)
    y = tmp_path / "yolo"
    (y / "labels").mkdir(parents=True)
    (y / "classes.txt").write_text("cat\n")
    (y / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (y / "labels" / "bg.txt").write_text("")
    (y / "sizes.json").write_text(json.dumps({"images/a.jpg": {"width": 640, "height": 480},
                                             "images/bg.jpg": {"width": 800, "height": 600}}))
    (tmp_path / "yolo_out").mkdir()
    _, out, _ = _export(y, "yolo", tmp_path / "yolo_out")
    assert json.loads((out / "sizes.json").read_text())["images/bg.jpg"] == {"width": 800, "height": 600}
    _, out, _ = _export(y, "coco", tmp_path / "yolo.json", src_fmt="yolo")
    bg = next(im for im in json.loads(out.read_text())["images"] if im["file_name"] == "images/bg.jpg")
    assert (bg["width"], bg["height"]) == (800, 600)


def test_keypoints_voc_and_yolo_obb_cannot_hold_are_said(tmp_path):
    """Keypoints attached to a box or a polygon go from VOC and YOLO OBB with a note that counts them."""
    for src, src_fmt, fmt in ((CORPUS / "coco_person_keypoints_mmpose.json", "coco", "voc"),
                              (CORPUS / "yolo_pose_datumaro", "yolo", "voc"),
                              (CORPUS / "yolo_pose_datumaro", "yolo", "yolo-obb")):
        t = read_train(src, src_fmt, None, True)
        points = sum(1 for ty in t.annotations.column("type").to_pylist() if ty == "keypointlabels")
        assert points
        (tmp_path / src_fmt / fmt).mkdir(parents=True)
        _, _, notes = _export(src, fmt, tmp_path / src_fmt / fmt, src_fmt=src_fmt)
        said = [n for n in notes if "keypoint(s)" in n]
        assert said == [f"{points} keypoint(s) of boxes and polygons have no place in "
                        f"{'Pascal VOC' if fmt == 'voc' else 'YOLO OBB'} and were left out"], notes
    _, _, notes = _export(CORPUS / "coco_person_keypoints_mmpose.json", "coco", tmp_path / "c.json")
    assert not [n for n in notes if "keypoint(s)" in n]


def test_coco_of_predictions_takes_the_image_size_from_the_answers(repo, tmp_path):
    """ML backends often leave ``original_width`` out of predictions: the task's answers give it."""
    ls = CORPUS.parent / "label-studio"
    stem = "sdk_bbox_reviews_predictions"
    code, _, err = invoke("snapshot", "--from", str(ls / f"{stem}.json"), "--config", str(ls / f"{stem}.xml"),
                          "-m", "x")
    assert code == 0, err
    gt, dt = tmp_path / "gt.json", tmp_path / "dt.json"
    assert invoke("export", "v1", "--format", "coco", "--out", str(gt))[0] == 0
    preds = json.loads((ls / f"{stem}.json").read_text())
    model = next(p["model_version"] for t in preds for p in t.get("predictions") or [] if p.get("model_version"))
    code, _, err = invoke("export", "v1", "--format", "coco", "--predictions", str(model), "--out", str(dt))
    assert code == 0, err
    from pycocotools.coco import COCO

    truth = COCO(str(gt))
    res = truth.loadRes(str(dt))  # the results format, on the ground truth's images
    assert len(res.getAnnIds()) == len(json.loads(dt.read_text())) > 0


def test_recognition_leaves_a_conll_file_and_a_voc_file_with_a_dtd_to_their_readers(repo, tmp_path):
    """Without --format, a .conll file with a bad tag, and VOC XML with an internal DTD, get
    the reader's own error, not "unknown file type" / "not a training-format folder"."""
    conll = tmp_path / "k.conll"
    conll.write_text("a X-FOO\n")
    code, _, err = invoke("snapshot", "--from", str(conll), "-m", "x")
    assert code == 3 and "line 1" in err and "X-FOO" in err, err
    voc = tmp_path / "v"
    voc.mkdir()
    (voc / "a.xml").write_text('<?xml version="1.0"?>\n<!DOCTYPE annotation [<!ENTITY e "x">]>\n'
                               "<annotation><filename>a.jpg</filename><size><width>9</width><height>9</height>"
                               "</size></annotation>")
    code, _, err = invoke("snapshot", "--from", str(voc), "-m", "x")
    assert code == 3 and "a.xml" in err and "<!DOCTYPE> or <!ENTITY>" in err, err
    assert repo.log() == []


# ---------------------------------------------------------------------------
# Hugging Face datasets


def test_hf_load_and_export_have_classlabels_from_the_config(two_rounds, tmp_path):
    """The sample (a sentiment choice and entity spans, two annotators): features from the config,
    the same label ids in both versions, save_to_disk output that load_from_disk reads."""
    datasets = pytest.importorskip("datasets")
    import annover

    repo, v1, v2 = two_rounds
    with pytest.raises(UsageError, match="--resolve"):
        annover.load("v1", format="hf")
    a = annover.load("v1", format="hf", resolve="latest")
    b = annover.load("v2", format="hf", resolve="latest")
    for ds in (a, b):
        assert ds.features["sentiment"].names == ["positive", "negative", "neutral"]
        assert ds.features["entities"].feature["label"].names == ["PER", "ORG", "LOC", "MISC"]
        assert ds.features["entities_tags"].feature.names[:3] == ["O", "B-PER", "I-PER"]
    labels = repo.load("v1")
    row = a[0]
    gold = [r for r in labels.to_pylist() if r["task_key"] == row["task_key"] and r["from_name"] == "sentiment"]
    assert a.features["sentiment"].int2str(row["sentiment"]) in {g["labels"][0] for g in gold}
    for r in a:
        assert len(r["tokens"]) == len(r["entities_tags"])
        assert r["text"] is not None and r["task_key"]
    assert "width" not in a.features and "height" not in a.features  # text has no size
    code, _, err = invoke("export", "v2", "--format", "hf", "--out", str(tmp_path / "hf"), "--resolve", "latest")
    assert code == 0, err
    back = datasets.load_from_disk(str(tmp_path / "hf"))
    assert back.features == b.features and back.num_rows == b.num_rows
    assert back.to_list() == b.to_list()


def test_hf_boxes_from_an_image_version(repo, tmp_path):
    pytest.importorskip("datasets")
    import annover

    repo.snapshot(str(CORPUS / "voc_raccoon_labelimg"), fmt="voc", message="voc")
    ds = annover.load("HEAD", format="hf")
    assert ds.features["label"].feature["label"].names == ["raccoon"]
    assert sum(len(r["label"]) for r in ds) == 32
    first = ds[0]
    assert first["image"].endswith(".jpg") and first["width"] > 0 and len(first["label"][0]["bbox"]) == 4


def test_hf_keeps_every_part_of_a_polygon_and_says_they_were_joined(repo, tmp_path):
    """A COCO person in 4 polygons: the Hugging Face column held the first part only (4 of its 38
    points), in silence; the parts are joined as YOLO segment joins them, and the notes say so."""
    pytest.importorskip("datasets")
    import datasets

    src = CORPUS / "coco_person_keypoints_mmpose.json"
    repo.snapshot(str(src), message="coco")
    out = tmp_path / "hf"
    code, _, err = invoke("export", "--format", "hf", "--out", str(out))
    assert code == 0 and "1 polygon(s) in several parts" in err, err
    doc = json.loads(src.read_text())
    ann = next(a for a in doc["annotations"] if len(a["segmentation"]) > 1)
    im = next(i for i in doc["images"] if i["id"] == ann["image_id"])
    want = {(round(x / im["width"] * 100, 5), round(y / im["height"] * 100, 5))
            for part in ann["segmentation"] for x, y in zip(part[::2], part[1::2])}
    row = next(r for r in datasets.load_from_disk(str(out)) if r["image"] == im["file_name"])
    got = [{(x, y) for x, y in p["points"]} for p in row["polygon"]]
    assert any(g == want for g in got), [len(g) for g in got]


def test_hf_single_choice_with_answers_merged_says_what_it_kept(repo, tmp_path):
    """``--resolve all`` merges two annotators' single choices: the dataset keeps the first,
    and the notes count the answers that held several labels."""
    pytest.importorskip("datasets")
    import datasets

    def answer(aid, who, label):
        return {"id": aid, "completed_by": who, "result": [{"id": f"r{aid}", "from_name": "s", "to_name": "text",
                                                           "type": "choices", "value": {"choices": [label]}}]}
    tasks = [{"id": 1, "data": {"text": "hi"}, "annotations": [answer(10, 1, "pos"), answer(11, 2, "neg")]},
             {"id": 2, "data": {"text": "ok"}, "annotations": [answer(12, 1, "pos"), answer(13, 2, "pos")]}]
    (tmp_path / "t.json").write_text(json.dumps(tasks))
    (tmp_path / "c.xml").write_text('<View><Text name="text" value="$text"/><Choices name="s" toName="text">'
                                    '<Choice value="pos"/><Choice value="neg"/></Choices></View>')
    assert invoke("snapshot", "--from", str(tmp_path / "t.json"), "--config", str(tmp_path / "c.xml"), "-m", "x")[0] == 0
    code, _, err = invoke("export", "v1", "--format", "hf", "--resolve", "all", "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert "1 single-choice answer(s) held several labels" in err
    ds = datasets.load_from_disk(str(tmp_path / "o"))
    assert sorted(ds["s"]) == [0, 0]  # pos, the first label of each; the note says what went


# ---------------------------------------------------------------------------
# the column-at-a-time paths give what the general ones give


def _general_coco(path: Path) -> tuple[Tables, str]:
    return to_tables(train_input(path, "coco"), str(path), "coco", None, True)


def _assert_same_tables(a: Tables, b: Tables) -> None:
    for name in ("tasks", "annotations", "predictions"):
        ta, tb = getattr(a, name), getattr(b, name)
        assert ta.schema.equals(tb.schema), name
        for col in tb.column_names:
            assert ta.column(col).to_pylist() == tb.column(col).to_pylist(), (name, col)
        assert C.content_id(ta, name) == C.content_id(tb, name)


@pytest.mark.parametrize("name", COCO_SAMPLES)
def test_coco_fast_import_gives_the_general_readers_tables_on_the_corpus(name):
    fast = coco_fast.read_tables(CORPUS / name, "coco")
    assert fast is not None
    general, text = _general_coco(CORPUS / name)
    _assert_same_tables(fast[0], general)
    assert fast[1] == text


_NUMS = st.one_of(st.integers(0, 3000), st.floats(0, 3000, allow_nan=False, allow_infinity=False),
                  st.integers(0, 30_000_000).map(lambda n: n / 10_000),
                  st.decimals(0, 3000, places=2).map(float))


@st.composite
def _coco_docs(draw):
    cats = draw(st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["a", "b c", 'q"uote', "back\\slash", "é"])),
                         min_size=1, max_size=4, unique_by=(lambda c: c[0], lambda c: c[1])))
    n = draw(st.integers(1, 5))
    ids = draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n, unique=True))
    images = []
    for i, iid in enumerate(ids):
        im = {"id": iid, "file_name": f"dir/img{i}.{draw(st.sampled_from(['jpg', 'png']))}",
              "width": draw(st.integers(1, 4000)), "height": draw(st.integers(1, 4000))}
        im.update(draw(st.dictionaries(st.sampled_from(["license", "coco_url", "scale"]),
                                       st.one_of(st.integers(0, 9), st.text(max_size=3), st.floats(0, 4)),
                                       max_size=2)))
        images.append(im)
    anns = []
    for k in range(draw(st.integers(0, 12))):
        a = {"id": k, "image_id": draw(st.sampled_from(ids)), "category_id": draw(st.sampled_from([c[0] for c in cats])),
             "bbox": draw(st.lists(_NUMS, min_size=4, max_size=4))}
        if draw(st.booleans()):
            a["area"] = draw(st.one_of(st.just(a["bbox"][2] * a["bbox"][3]), _NUMS))
        a.update(draw(st.dictionaries(st.sampled_from(["iscrowd", "segmentation", "attributes", "score"]),
                                      st.sampled_from([0, 1, "false", [], {"occluded": False}, 0.5]), max_size=2)))
        if a.get("segmentation") not in (None, []):
            a.pop("segmentation")
        if draw(st.integers(0, 9)) == 0 and anns:
            a = {**anns[-1], "id": k}  # the same box twice in one image: its region key gets #1
        anns.append(a)
    return {"images": images, "annotations": anns,
            "categories": [{"id": c, "name": nm, "supercategory": ""} for c, nm in cats]}


@settings(max_examples=60, deadline=None)
@given(doc=_coco_docs())
def test_property_coco_fast_import_gives_the_general_readers_tables(doc):
    """Random COCO files (integer and decimal boxes, areas that match or not, crowd flags,
    extra fields, repeated boxes, images without objects): the same tables, the same ids."""
    with _written(json.dumps(doc).encode(), "instances.json") as path:
        fast = coco_fast.read_tables(path, "coco")
        general, text = _general_coco(path)
    assert fast is not None
    _assert_same_tables(fast[0], general)
    assert fast[1] == text


def test_coco_fast_import_leaves_bad_files_to_the_general_reader(tmp_path):
    """A record the general reader refuses: the fast path steps aside, so the error is the general one."""
    bad = {"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]},
                           {"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, True, 1, 1]}],
           "categories": [{"id": 1, "name": "x"}]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    assert coco_fast.read_tables(path, "coco") is None
    with pytest.raises(InputError, match=r"annotation 1 \(id 2\): bbox is True"):
        read_train(path, "coco", None, True)


_BOX_CFG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
            '<Label value="a"/><Label value="b"/></RectangleLabels></View>')


@st.composite
def _box_versions(draw):
    tasks = []
    for i in range(draw(st.integers(1, 6))):
        w, h = draw(st.sampled_from([(640, 480), (7, 3), (1920, 1080), (4000, 3000)]))
        result = []
        for j in range(draw(st.integers(0, 4))):
            v = {k: draw(st.one_of(st.floats(0, 100, allow_nan=False), st.integers(0, 10**7).map(lambda n: n / 10**5),
                                   st.integers(0, 100)))
                 for k in ("x", "y", "width", "height")}
            for a, b in (("x", "width"), ("y", "height")):  # inside the image (one crossing its edge is clipped)
                v[b] = min(v[b], 100 - v[a])
            result.append({"id": f"r{i}_{j}", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
                           "original_width": w, "original_height": h,
                           "value": {**v, "rotation": 0, "rectanglelabels": [draw(st.sampled_from(["a", "b", "z"]))]}})
        t: dict = {"id": i + 1, "data": {"image": f"/data/upload/1/im{i}.jpg"}}
        if draw(st.integers(0, 3)):  # a COCO image id, mostly (the ids, or 1.., come from every task)
            t["data"]["coco_image"] = {"id": draw(st.integers(1, 9))}
        if draw(st.integers(0, 5)):
            t["annotations"] = [{"id": i + 1, "completed_by": 1, "result": result}]
        tasks.append(t)
    return tasks


@settings(max_examples=60, deadline=None)
@given(tasks=_box_versions(), fmt=st.sampled_from(["coco", "yolo"]))
def test_property_box_export_a_column_at_a_time_gives_the_general_writers_bytes(tasks, fmt):
    """Plain boxes at any precision (and a label the config lacks, tasks without answers or
    with empty ones): COCO and YOLO written from columns are the general writers' bytes and notes."""
    t = from_ls_tasks(tasks, "generated", key="id")
    tables = _tables(t)
    cfg = LabelingConfig(_BOX_CFG, validate=False)
    boxes = boxes_fast.plain_boxes(tables, cfg, None, None)
    if not any(x.get("annotations") and x["annotations"][0]["result"] for x in tasks):
        return  # no boxes: the general writers
    assert boxes is not None
    fast_notes, general_notes = list(boxes.notes), []
    picked = pick(tables)
    general_notes = list(picked.notes)
    if fmt == "coco":
        assert boxes_fast.coco_bytes(boxes, cfg, fast_notes) == coco.write(picked, cfg, general_notes)
    else:
        assert boxes_fast.yolo_files(boxes, cfg, fast_notes) == yolo.write(picked, cfg, general_notes)
    assert fast_notes == general_notes


def test_box_export_leaves_several_answers_to_the_general_writer(tmp_path):
    tables = _tables(from_ls_tasks(json.loads(_two_annotators(tmp_path)[0].read_text()), "two", key="id"))
    assert boxes_fast.plain_boxes(tables, None, "latest", None) is None


# ---------------------------------------------------------------------------
# recognising a training format without --format


DETECTED = [("coco_chess_roboflow.json", "coco"), ("coco_person_keypoints_mmpose.json", "coco"),
            ("coco_polygons_cocoannotator.json", "coco"), ("coco_instances_rle_datumaro.json", "coco"),
            ("yolo_detect_lssdk", "yolo"), ("yolo_segment_datumaro", "yolo"), ("yolo_pose_datumaro", "yolo"),
            ("voc_bccd", "voc"), ("voc_raccoon_labelimg", "voc"), ("voc_parts_actions_datumaro", "voc"),
            ("conll_spacy_ontonotes.conll", "conll"), ("conll_flair_fashion.conll", "conll")]


@pytest.mark.parametrize("name,fmt", DETECTED)
def test_training_formats_are_recognised_on_the_corpus(name, fmt):
    assert detect_train(CORPUS / name) == fmt
    a, b = read_source(CORPUS / name), read_source(CORPUS / name, fmt=fmt)
    assert a.format == fmt
    _assert_same_tables(a, b)


def test_recognising_says_what_is_ambiguous_or_missing(tmp_path):
    # 4-corner lines and no task in data.yaml: a polygon or an oriented box
    with pytest.raises(InputError, match="yolo-obb") as e:
        detect_train(CORPUS / "yolo_obb_datumaro")
    assert "\n" not in str(e.value)
    both = tmp_path / "both"
    shutil.copytree(CORPUS / "yolo_detect_lssdk", both)
    shutil.copy(CORPUS / "voc_parts_actions_datumaro" / "Annotations" / "2007_000001.xml", both / "a.xml")
    with pytest.raises(InputError, match="could be YOLO .* or Pascal VOC") as e:
        detect_train(both)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a training-format folder"):
        detect_train(tmp_path / "empty")
    ls = tmp_path / "ls.json"
    ls.write_text(json.dumps([{"data": {"image": "a.jpg"}}]))
    assert detect_train(ls) is None
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"data": {"image": "a.jpg"}, "annotations": []}))
    assert detect_train(one) is None
    labels = tmp_path / "1.txt"
    labels.write_text("0 0.5 0.5 0.1 0.1\n")
    assert detect_train(labels) is None


def test_snapshot_without_format_reads_a_coco_file_and_refuses_an_ambiguous_folder(repo, tmp_path):
    code, out, err = invoke("snapshot", "--from", str(CORPUS / "coco_chess_roboflow.json"), "-m", "coco")
    assert code == 0, err
    assert repo.show("HEAD").record["origin"]["format"] == "coco"
    assert sum(1 for k in repo.load("HEAD", "annotations").column("region_key").to_pylist() if k) == 376
    code, _, err = invoke("snapshot", "--from", str(CORPUS / "yolo_obb_datumaro"), "-m", "obb")
    assert code == 3 and "\n" not in err.strip() and "--format yolo-obb" in err
    assert len(repo.log()) == 1


def _one_box_on(repo, tmp_path, image: str) -> None:
    """A version of one task: image ``image`` with one box."""
    tasks = [{"id": 1, "data": {"image": image}, "annotations": [{"result": [
        {"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 10,
         "original_height": 10, "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rotation": 0,
                                          "rectanglelabels": ["a"]}}]}]}]
    src = tmp_path / "t.json"
    src.write_text(json.dumps(tasks))
    cfg = tmp_path / "c.xml"
    cfg.write_text(_BOX_CFG)
    repo.snapshot(str(src), config=str(cfg), message=f"one box on {image!r}")


def test_a_folder_export_never_writes_outside_its_folder(repo, tmp_path):
    """An image named with '..' would put its label file outside --out: refused, nothing written."""
    _one_box_on(repo, tmp_path, "../../escaped.jpg")
    out = tmp_path / "deep" / "er" / "y"
    code, _, err = invoke("export", "--format", "yolo", "--out", str(out))
    assert code == 2 and "outside its folder" in err and "\n" not in err.strip()
    assert not out.exists() and not (tmp_path / "deep" / "escaped.txt").exists()
    assert not list((tmp_path / "deep").rglob("*.txt"))


@pytest.mark.parametrize("fmt", ["yolo", "voc"])
def test_a_folder_export_of_an_image_name_with_a_nul_says_so_in_one_line(repo, tmp_path, fmt):
    """An image name with a NUL (a file system takes none) was an 'unexpected ValueError: embedded null byte'."""
    _one_box_on(repo, tmp_path, "a\u0000b.jpg")
    out = tmp_path / "out"
    code, _, err = invoke("export", "--format", fmt, "--out", str(out))
    assert code == 2 and "NUL" in err and "a\\x00b" in err and "\n" not in err.strip(), err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def _boxes_on(repo, tmp_path, images: list[str], rotation: float = 0) -> None:
    """A version of a task per image in ``images``, each with one box (rotated: the general writer)."""
    tasks = [{"id": i, "data": {"image": im}, "annotations": [{"result": [
        {"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 10,
         "original_height": 10, "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rotation": rotation,
                                          "rectanglelabels": ["a"]}}]}]} for i, im in enumerate(images, 1)]
    (tmp_path / "t.json").write_text(json.dumps(tasks))
    (tmp_path / "c.xml").write_text(_BOX_CFG)
    repo.snapshot(str(tmp_path / "t.json"), config=str(tmp_path / "c.xml"), message="boxes")


@pytest.mark.parametrize("fmt,images,rotation", [
    ("yolo", ["x.jpg", "x.png"], 0), ("yolo", ["x.jpg", "x.png"], 30), ("yolo", ["valid/images/a.jpg", "valid/images/a.png"], 0),
    ("voc", ["x.jpg", "x.png"], 0), ("voc", ["train/a.jpg", "val/a.jpg"], 0)])
def test_two_images_a_folder_export_would_write_to_one_file_are_refused(repo, tmp_path, fmt, images, rotation):
    """Two image names that give one label file (YOLO drops the extension, VOC also the folders):
    the second image's file replaced the first's in silence (half the labels lost)."""
    _boxes_on(repo, tmp_path, images, rotation)
    out = tmp_path / "out"
    code, _, err = invoke("export", "--format", fmt, "--out", str(out))
    assert code == 2 and "\n" not in err.strip() and all(repr(im) in err for im in images), err
    assert not out.exists()


def _pixel_extent(seg, w: int, h: int) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of a COCO segmentation: pycocotools' box of a mask, the points' of polygons."""
    from pycocotools import mask as M

    if isinstance(seg, dict):
        x, y, bw, bh = M.toBbox(M.frPyObjects(seg, h, w) if isinstance(seg["counts"], list) else seg)
        return float(x), float(y), float(x + bw), float(y + bh)
    xs, ys = [c for p in seg for c in p[0::2]], [c for p in seg for c in p[1::2]]
    return min(xs), min(ys), max(xs), max(ys)


@pytest.mark.parametrize("name", ["coco_instances_rle_datumaro.json", "coco_polygons_cocoannotator.json"])
def test_masks_and_polygons_in_parts_keep_their_whole_extent_in_voc_and_yolo(name, tmp_path):
    """A mask's VOC box is the box around its pixels (it was 0,0,0,0), a polygon in several
    parts boxes all of them (it boxed the first), but where COCO's bbox is another box (more than a pixel off:
    COCO's tools take the bbox, test_coco_bbox_polygon); YOLO segment writes every part's vertices."""
    src = CORPUS / name
    doc = json.loads(src.read_text())
    size = {im["id"]: (im["width"], im["height"], im["file_name"]) for im in doc["images"]}
    _, out, notes = _export(src, "voc", tmp_path / "voc", src_fmt="coco")
    got = _voc(out)
    for a in doc["annotations"]:
        w, h, fname = size[a["image_id"]]
        want = _pixel_extent(a["segmentation"], w, h)
        if isinstance(a["segmentation"], list) and not _close(want, (*a["bbox"][:2], a["bbox"][0] + a["bbox"][2],
                                                                      a["bbox"][1] + a["bbox"][3]), 1):
            want = (*a["bbox"][:2], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3])
        boxes = [o[1] for o in got[Path(fname).stem][3] if o[0] == next(c["name"] for c in doc["categories"]
                                                                    if c["id"] == a["category_id"])]
        assert any(_close(b, want, 0.01) for b in boxes), (a["id"], want, boxes)
    polys = [a for a in doc["annotations"] if isinstance(a["segmentation"], list)]
    (tmp_path / "yolo").mkdir()
    _, out, notes = _export(src, "yolo", tmp_path / "yolo", src_fmt="coco")
    lines = [[float(x) for x in ln.split()[1:]] for f in (out / "labels").rglob("*.txt")
             for ln in f.read_text().splitlines() if ln.strip()]
    for a in polys:
        w, h, _ = size[a["image_id"]]
        pts = np.array([(x / w, y / h) for p in a["segmentation"] for x, y in zip(p[0::2], p[1::2])])
        near = [np.abs(pts[:, None, :] - np.array(list(zip(ln[0::2], ln[1::2])))[None]).max(-1).min(1).max()
                for ln in lines]
        assert min(near) < 1e-5, (a["id"], min(near))
    if any(len(a["segmentation"]) > 1 for a in polys):
        assert any("several parts" in n for n in notes), notes


def test_coco_export_gives_each_box_an_empty_segmentation(tmp_path):
    """Boxes carry ``segmentation: []`` as COCO's own box annotations do (loaders index it)."""
    (tmp_path / "o1").mkdir()
    for src, fmt in ((CORPUS / "yolo_detect_lssdk", "yolo"), (CORPUS / "voc_raccoon_labelimg", "voc")):
        _, out, _ = _export(src, "coco", tmp_path / f"{fmt}.json", src_fmt=fmt)
        anns = json.loads(out.read_text())["annotations"]
        assert anns and all(a["segmentation"] == [] for a in anns)


@pytest.mark.parametrize("src, fmt", [("coco_instances_rle_datumaro.json", "coco"), ("yolo_detect_lssdk", "yolo"),
                                      ("voc_raccoon_labelimg", "voc")])
def test_an_image_dataset_exported_to_label_studio_snapshots_back_to_the_same_tasks(repo, tmp_path, src, fmt):
    """COCO, YOLO and VOC key an image by its file name's stem; the version records that rule
    (``stem:data.image``) and the next snapshot of the same images as Label Studio JSON keys
    them the same way: nothing changed. ``--key auto`` says the scheme changed."""
    v1 = repo.snapshot(str(CORPUS / src), message="from " + fmt).version
    assert v1.record["origin"]["reading"]["key"] == "stem:data.image"
    out = tmp_path / "ls.json"
    repo.export("v1", "label-studio", out)
    again = repo.snapshot(str(out), message="back")
    assert not again.changed and repo.head() == v1.id
    other = repo.snapshot(str(out), message="hash keys", key="auto")
    assert other.changed and any("changed scheme" in w for w in other.warnings)
    d = repo.diff("v1", "v2").summary
    assert d["tasks"]["added"] == d["tasks"]["removed"] == repo.load("v1", "tasks").num_rows
    assert any("changed scheme" in w for w in d["warnings"])


def test_conll_export_says_which_spans_disagree_with_the_task_text(tmp_path):
    """Spans whose ``text`` is not the task's text at their offsets (a real export whose text
    was edited after labeling) are written by the offsets, and the notes say how many and one."""
    src = CORPUS.parent / "label-studio" / "ner_predictions_nerine.json"
    cfg = LabelingConfig((CORPUS.parent / "label-studio" / "ner_predictions_nerine.xml").read_text())
    t = read_source(src, config=cfg)
    r = render_train("conll", _tables(t), cfg.text)
    spans = [(row["task_key"], json.loads(row["value"])) for row in t.annotations.to_pylist()
             if row["type"] == "labels" and row["value"]]
    data = {row["task_key"]: json.loads(row["data"]) for row in t.tasks.to_pylist()}
    off = [(k, v) for k, v in spans if v.get("text") != data[k]["text"][v["start"]:v["end"]]]
    assert off, "the corpus file has such spans"
    said = [n for n in r.notes if "not the task's text at their offsets" in n]
    assert len(said) == 1 and any(repr(v["text"]) in said[0] for _, v in off), (said, off[:2])
    clean = json.loads(src.read_text())
    for task in clean:  # the same file with each span's text read from the task's text: nothing said
        for a in task.get("annotations", []):
            for res in a["result"]:
                if "start" in res.get("value", {}):
                    res["value"]["text"] = task["data"]["text"][res["value"]["start"]:res["value"]["end"]]
    (tmp_path / "clean.json").write_text(json.dumps(clean))
    t2 = read_source(tmp_path / "clean.json", config=cfg)
    assert not [n for n in render_train("conll", _tables(t2), cfg.text).notes if "offsets" in n]


def test_conll_export_refuses_a_label_with_whitespace(repo, tmp_path):
    """``B-Named Person`` is read as two columns (tag ``Person``) by every CoNLL reader, annover's
    own included: the export wrote it, and the file did not snapshot back."""
    cfg = tmp_path / "c.xml"
    cfg.write_text('<View><Text name="text" value="$text"/><Labels name="label" toName="text">'
                   '<Label value="Named Person"/></Labels></View>')
    src = tmp_path / "t.json"
    src.write_text(json.dumps([{"id": 1, "data": {"text": "John Smith works"}, "annotations": [{"result": [
        {"from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": 0, "end": 10, "text": "John Smith", "labels": ["Named Person"]}}]}]}]))
    repo.snapshot(str(src), config=str(cfg), message="a label with a space")
    out = tmp_path / "out.conll"
    code, _, err = invoke("export", "--format", "conll", "--out", str(out))
    assert code == 2 and "'Named Person'" in err and "\n" not in err.strip(), err
    assert not out.exists()


def test_coco_categories_with_different_keypoints_snapshot_back_from_their_export(repo, tmp_path):
    """A person with 2 keypoints and a hand with 3 (other names): the generated config named the
    first category's only, so the export moved the hand's to the end in sorted order and its
    snapshot back was refused (exit 4, 'label wrist is not in control keypoints')."""
    from pycocotools.coco import COCO

    src = tmp_path / "kp.json"
    src.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}],
                               "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "keypoints": [12, 12, 2, 15, 15, 2]},
        {"id": 2, "image_id": 1, "category_id": 2, "bbox": [50, 50, 20, 20],
         "keypoints": [52, 52, 2, 55, 55, 1, 60, 60, 2]}],
        "categories": [{"id": 1, "name": "person", "keypoints": ["nose", "eye"]},
                       {"id": 2, "name": "hand", "keypoints": ["wrist", "thumb", "index"]}]}))
    v1 = repo.snapshot(str(src), message="two skeletons").version
    out = tmp_path / "out.json"
    repo.export("v1", "coco", out)
    coco_ = COCO(str(out))
    hand = coco_.loadAnns(coco_.getAnnIds(catIds=[2]))[0]
    names = coco_.loadCats([2])[0]["keypoints"]
    assert {n: hand["keypoints"][3 * i:3 * i + 3] for i, n in enumerate(names) if hand["keypoints"][3 * i + 2]} == \
        {"wrist": [52, 52, 2], "thumb": [55, 55, 1], "index": [60, 60, 2]}
    again = repo.snapshot(str(out), message="back")
    assert not again.changed and repo.head() == v1.id


@pytest.mark.parametrize("src,src_fmt,fmt,said", [
    ("voc_parts_actions_datumaro", "voc", "coco", "VOC fields COCO has no place for (actions, parts, truncated)"),
    ("voc_bccd", "voc", "yolo", "VOC fields YOLO has no place for (truncated)"),
    ("coco_instances_rle_datumaro.json", "coco", "voc", "COCO fields Pascal VOC has no place for (attributes, "),
    ("coco_instances_rle_datumaro.json", "coco", "voc", "1 crowd region(s) (COCO iscrowd) were written with "
                                                        "<difficult>1</difficult>"),
])
def test_fields_a_format_has_no_place_for_are_said(src, src_fmt, fmt, said, tmp_path):
    """VOC's truncated / parts / actions and COCO's iscrowd / attributes were left out of the other
    formats in silence (a crowd region became an ordinary object to train on)."""
    out = tmp_path / "out"
    out.mkdir()
    _, _, notes = _export(CORPUS / src, fmt, out / "x.json" if fmt == "coco" else out, src_fmt=src_fmt)
    assert any(said in n for n in notes), notes


def test_yolo_obb_corners_that_are_no_rectangle_read_as_the_smallest_rectangle_around_them(tmp_path):
    """DOTA's oriented boxes are quadrilaterals (Ultralytics' conversion keeps the 4 points and its
    loader fits cv2.minAreaRect): the reader took the first two edges and moved the third corner
    in silence ((600, 400) came back as (500, 300), a quarter of the object cut off)."""
    quad = [(100, 100), (500, 100), (600, 400), (100, 300)]
    line = "0 " + " ".join(f"{x / 1000:g} {y / 1000:g}" for x, y in quad) + "\n"
    _yolo_dir(tmp_path / "y", "names: [plane]\ntask: obb\n", line, sizes={"width": 1000, "height": 1000})
    t = read_train(tmp_path / "y", "yolo-obb", None, True)
    assert any("1 OBB line(s) whose corners are no rectangle" in w and "a.txt: line 1" in w for w in t.warnings)
    r = render_train("yolo-obb", _tables(t), t.config_text)
    got = [float(c) * 1000 for c in r.files["labels/a.txt"].decode().split()[1:]]
    rect = list(zip(got[::2], got[1::2]))

    def extent(pts, a):  # width x height of the box around pts in the direction a
        u = [x * math.cos(a) + y * math.sin(a) for x, y in pts]
        v = [y * math.cos(a) - x * math.sin(a) for x, y in pts]
        return max(u) - min(u), max(v) - min(v)

    side = [math.dist(rect[0], rect[1]), math.dist(rect[1], rect[2])]
    angle = math.atan2(rect[1][1] - rect[0][1], rect[1][0] - rect[0][0])
    assert all(abs(a - b) < 0.01 for a, b in zip(sorted(extent(quad + rect, angle)), sorted(side)))  # holds the quad
    assert side[0] * side[1] <= min(math.prod(extent(quad, k * math.pi / 3600)) for k in range(1800)) + 0.01
    clean = read_train(CORPUS / "yolo_obb_datumaro", "yolo-obb", None, True)  # rectangles at 6 decimals: as written
    assert not [w for w in clean.warnings if "OBB" in w]


def test_json_min_export_keeps_the_image_size_as_label_studio_writes_it(repo, tmp_path):
    """Label Studio's JSON-MIN puts each region's original_width / original_height in its value
    (annover's reader takes them back); annover's export left them out, so a VOC version sent
    through JSON-MIN could no longer be exported to COCO or VOC ('the image size is not known')."""
    repo.snapshot(str(CORPUS / "voc_raccoon_labelimg"), message="voc")
    code, _, err = invoke("export", "v1", "--format", "json-min", "--out", str(tmp_path / "min.json"))
    assert code == 0, err
    first = json.loads((tmp_path / "min.json").read_text())[0]
    assert {"original_width", "original_height"} <= set(first["label"][0]), first
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "min.json"), "--format", "json-min", "-m", "back")
    assert code == 0, err
    code, _, err = invoke("export", "HEAD", "--format", "voc", "--out", str(tmp_path / "voc"))
    assert code == 0, err
    boxes = {k: (fn, w, h, [(o[0], o[1]) for o in objs]) for k, (fn, w, h, objs) in
             _voc(tmp_path / "voc").items()}  # JSON-MIN keeps no VOC flags
    assert boxes == {k: (fn, w, h, [(o[0], o[1]) for o in objs])
                     for k, (fn, w, h, objs) in _voc(CORPUS / "voc_raccoon_labelimg").items()}


def test_yolo_sizes_name_the_label_files_written_for_image_paths_with_dot_or_empty_parts(tmp_path):
    """``./images/a.jpg`` and ``images//b.jpg`` (COCO file names some tools write): the label files
    land at the path the file system makes of them, but sizes.json kept the names as given, so
    the folder read back had no size for them (every box lost its original_width / height)."""
    doc = {"images": [{"id": 1, "file_name": "./images/a.jpg", "width": 100, "height": 50},
                      {"id": 2, "file_name": "images//b.jpg", "width": 100, "height": 50}],
           "annotations": [{"id": i, "image_id": i, "category_id": 1, "bbox": [10, 5, 20, 10]} for i in (1, 2)],
           "categories": [{"id": 1, "name": "c"}]}
    (tmp_path / "c.json").write_text(json.dumps(doc))
    out = tmp_path / "y"
    out.mkdir()
    t, _, _ = _export(tmp_path / "c.json", "yolo", out, src_fmt="coco")
    back = read_train(out, "yolo", None, True)
    regions = [json.loads(r or "{}") for r in back.annotations.column("region").to_pylist()]
    assert [r.get("original_width") for r in regions] == [100, 100], regions
    assert back.annotations.column("value").to_pylist() == t.annotations.column("value").to_pylist()


def test_a_byte_order_mark_is_not_read_as_text(tmp_path):
    """Files saved by Windows editors start with a UTF-8 byte order mark: a CoNLL file gave a
    sentence '\\ufeff-DOCSTART-', classes.txt a class '\\ufeffcat', a YOLO label file was refused
    ('class \\ufeff1 is not an integer')."""
    bom = "\ufeff"
    (tmp_path / "a.conll").write_text(bom + "-DOCSTART- -X- -X- O\n\nEU B-ORG\nrejects O\n", encoding="utf-8")
    t = read_train(tmp_path / "a.conll", "conll", None, True)
    assert [json.loads(d)["text"] for d in t.tasks.column("data").to_pylist()] == ["EU rejects"]
    (tmp_path / "y" / "labels").mkdir(parents=True)
    (tmp_path / "y" / "classes.txt").write_text(bom + "cat\ndog\n", encoding="utf-8")
    (tmp_path / "y" / "labels" / "a.txt").write_text(bom + "1 .5 .5 .1 .1\n", encoding="utf-8")
    t = read_train(tmp_path / "y", "yolo", None, True)
    assert [json.loads(v)["rectanglelabels"] for v in t.annotations.column("value").to_pylist()] == [["dog"]]
    assert '<Label value="cat"/>' in t.config_text


def test_a_conll_document_start_ends_the_sentence_before_it(tmp_path):
    """A ``-DOCSTART-`` line with no blank line before it joined the last sentence of one document
    and the first of the next into one task."""
    (tmp_path / "a.conll").write_text("EU B-ORG\nrejects O\n-DOCSTART- -X- -X- O\nPeter B-PER\n")
    t = read_train(tmp_path / "a.conll", "conll", None, True)
    assert sorted(json.loads(d)["text"] for d in t.tasks.column("data").to_pylist()) == ["EU rejects", "Peter"]


def test_a_yolo_image_without_a_label_file_is_a_background_image(tmp_path):
    """Ultralytics reads an image with no label file as a background image ('no *.txt file is
    required' when there are no objects); the reader read label files only, so such images left
    the version in silence (and a COCO export of it had no negatives)."""
    root = tmp_path / "y"
    for d in ("labels/train", "images/train"):
        (root / d).mkdir(parents=True)
    (root / "data.yaml").write_text("names: [a]\n")
    (root / "labels" / "train" / "x.txt").write_text("0 .5 .5 .1 .1\n")
    PILImage.new("RGB", (64, 48)).save(root / "images" / "train" / "x.jpg")
    PILImage.new("RGB", (32, 16)).save(root / "images" / "train" / "bg.png")
    t = read_train(root, "yolo", None, True)
    data = {r["task_key"]: json.loads(r["data"]) for r in t.tasks.select(["task_key", "data"]).to_pylist()}
    assert data["bg"] == {"image": "images/train/bg.png", "width": 32, "height": 16, "split": "train"}
    assert any("1 image(s) without a label file" in w and "bg.png" in w for w in t.warnings)
    assert render_train("yolo", _tables(t), t.config_text).files["labels/train/bg.txt"] == b""


def test_voc_files_in_subfolders_of_annotations_are_read(repo, tmp_path):
    """``Annotations/train/*.xml`` and ``Annotations/val/*.xml`` (a split kept in folders): the
    reader took ``Annotations/*.xml`` only, and left the others out in silence (or found none)."""
    for sub, stem in (("", "a"), ("train", "b"), ("val", "c")):
        (tmp_path / "v" / "Annotations" / sub).mkdir(parents=True, exist_ok=True)
        (tmp_path / "v" / "Annotations" / sub / f"{stem}.xml").write_text(
            f"<annotation><filename>{stem}.jpg</filename><size><width>10</width><height>10</height></size>"
            "<object><name>x</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>"
            "</object></annotation>")
    t = read_train(tmp_path / "v", "voc", None, True)
    assert sorted(t.tasks.column("task_key").to_pylist()) == ["a", "b", "c"]
    (tmp_path / "v" / "Annotations" / "a.xml").unlink()  # sub-folders only: recognised without --format
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "v"), "-m", "nested")
    assert code == 0 and repo.load("HEAD", "tasks").num_rows == 2, err


def test_coco_predictions_and_ground_truth_of_one_version_number_images_alike(repo, tmp_path):
    """A task with a COCO image id (and a prediction) beside one without: the ground truth numbered
    the images 1.. (not every exported task had an id) and the predictions, whose one task had
    one, took it (7): loadRes refused the pair, and an id that another image had would have
    scored the predictions on the wrong image."""
    from pycocotools.coco import COCO

    def box(x):
        return {"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 100,
                "original_height": 100, "value": {"x": x, "y": 10, "width": 20, "height": 20, "rotation": 0,
                                                  "rectanglelabels": ["a"]}}
    tasks = [{"id": 1, "data": {"image": "a.jpg", "coco_image": {"id": 7, "width": 100, "height": 100}},
              "annotations": [{"result": [box(10)]}], "predictions": [{"model_version": "m1", "result": [box(11)]}]},
             {"id": 2, "data": {"image": "b.jpg"}, "annotations": [{"result": [box(50)]}]}]
    (tmp_path / "t.json").write_text(json.dumps(tasks))
    (tmp_path / "c.xml").write_text(_BOX_CFG)
    repo.snapshot(str(tmp_path / "t.json"), config=str(tmp_path / "c.xml"), message="mixed")
    repo.export("HEAD", "coco", tmp_path / "gt.json")
    repo.export("HEAD", "coco", tmp_path / "dt.json", predictions="m1")
    gt = COCO(str(tmp_path / "gt.json"))
    dt = gt.loadRes(str(tmp_path / "dt.json"))
    [p] = dt.loadAnns(dt.getAnnIds())
    assert gt.loadImgs([p["image_id"]])[0]["file_name"] == "a.jpg"


def test_yolo_pose_says_its_polygons_were_written_as_boxes(tmp_path):
    """COCO persons with outlines and keypoints: YOLO pose holds a box a line, so each outline was
    written as its box; the notes said only 'YOLO task: pose'."""
    out = tmp_path / "y"
    out.mkdir()
    _, _, notes = _export(CORPUS / "coco_person_keypoints_mmpose.json", "yolo", out, src_fmt="coco")
    assert "YOLO task: pose" in notes and any("14 polygon(s) were written as the boxes around them" in n
                                              for n in notes), notes


def test_hf_says_which_kept_fields_it_has_no_column_for():
    """A COCO crowd mask and its attributes became an ordinary region in the Hugging Face columns
    without a word (COCO, YOLO and VOC say it)."""
    pytest.importorskip("datasets")
    t = read_train(CORPUS / "coco_instances_rle_datumaro.json", "coco", None, True)
    notes = render_train("hf", _tables(t), t.config_text).notes
    assert any("COCO fields the Hugging Face columns have no place for (attributes, " in n
               and "1 of them crowd regions" in n for n in notes), notes


def test_conll_export_says_it_left_out_texts_without_tokens(tmp_path):
    """A blank text was written as an empty sentence (a blank line), which no reader sees: the task
    was gone from the file without a word."""
    tasks = [{"data": {"text": "EU rejects"}, "annotations": [{"result": [
        {"from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": 0, "end": 2, "text": "EU", "labels": ["ORG"]}}]}]},
        {"data": {"text": "   "}, "annotations": [{"result": []}]}]
    t = from_ls_tasks(tasks, "generated")
    r = render_train("conll", _tables(t), None)
    assert any("1 task(s) whose text has no token" in n for n in r.notes), r.notes
    assert r.data.decode() == "-DOCSTART- -X- -X- O\n\nEU _ _ B-ORG\nrejects _ _ O\n\n"


def test_two_images_of_one_file_name_say_how_to_fix_it(tmp_path):
    doc = {"images": [{"id": 1, "file_name": "a/x.jpg", "width": 10, "height": 10},
                      {"id": 2, "file_name": "b/x.jpg", "width": 10, "height": 10}],
           "annotations": [{"id": i, "image_id": i, "category_id": 1, "bbox": [0, 0, 1, 1]} for i in (1, 2)],
           "categories": [{"id": 1, "name": "c"}]}
    (tmp_path / "c.json").write_text(json.dumps(doc))
    for cfg in (None, LabelingConfig(coco.read(tmp_path / "c.json").config)):  # the fast reader, and the general one
        with pytest.raises(InputError) as e:
            read_train(tmp_path / "c.json", "coco", cfg, True)
        assert "task_key='x'" in str(e.value) and "distinct file names" in e.value.hint and "--key data" not in e.value.hint



@pytest.mark.parametrize("name,src_fmt,fmt", [("yolo_obb_datumaro", "yolo-obb", "yolo-obb"),
                                              ("yolo_detect_lssdk", "yolo", "yolo-obb"),
                                              ("coco_instances_rle_datumaro.json", "coco", "yolo")])
def test_a_yolo_export_whose_lines_all_have_8_numbers_snapshots_back_without_format(name, src_fmt, fmt, repo,
                                                                                   tmp_path):
    """annover's own YOLO folder says its task in data.yaml, so oriented boxes (and a segment export of
    4-point polygons only) are read back as written, with no --format: it was exit 3 ('every label line
    has 8 numbers')."""
    args = ["--format", src_fmt] if src_fmt == "yolo-obb" else []
    code, _, err = invoke("snapshot", "--from", str(CORPUS / name), *args, "-m", "in")
    assert code == 0, err
    out = tmp_path / "out"
    code, _, err = invoke("export", "HEAD", "--format", fmt, "--out", str(out))
    assert code == 0, err
    assert yaml.safe_load((out / "data.yaml").read_text())["task"] == ("obb" if fmt == "yolo-obb" else "segment")
    assert all(len(line.split()) == 9 for f in (out / "labels").rglob("*.txt") for line in f.read_text().splitlines())
    first = repo.show("HEAD").record["tables"]["annotations"]
    code, _, err = invoke("snapshot", "--from", str(out), "-m", "back")
    assert code == 0, err
    back = repo.show("HEAD").record
    if fmt == "yolo-obb":  # read as written: the same boxes, the same annotations snapshot
        assert back["tables"]["annotations"] == first
    else:  # polygons from COCO: a new version, read as YOLO segment
        assert back["origin"]["format"] == "yolo" and len(repo.log()) == 2


@pytest.mark.parametrize("task", ["detect", "segment", "pose", "obb"])
def test_data_yaml_names_the_task_it_was_written_for(task):
    doc = yaml.safe_load(yolo.data_yaml(["a", "b"], task, ["nose"] if task == "pose" else [],
                                    {"train": ["images"], "val": ["images"]}))
    assert doc["task"] == task and doc["names"] == {0: "a", 1: "b"}


@pytest.mark.parametrize("name", ["round1.json", "round1.jsonl", "coco_chess_roboflow.json"])
def test_a_json_file_with_a_byte_order_mark_reads_as_the_same_file_without(repo, tmp_path, name):
    """Windows tools write a UTF-8 byte order mark; RFC 8259 lets a reader ignore it. Label Studio
    JSON and COCO with one were 'invalid JSON at line 1 column 1: Unexpected UTF-8 BOM' (exit 3)."""
    if name == "round1.jsonl":  # the same tasks a line each
        plain = tmp_path / name
        plain.write_text("".join(json.dumps(t) + "\n" for t in json.loads((repo.root / "round1.json").read_text())))
    else:
        plain = repo.root / name if name.startswith("round") else CORPUS / name
    marked = tmp_path / f"bom-{name}"
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    config = {"config": "labeling.xml"} if name.startswith("round") else {}
    first = repo.snapshot(str(plain), message="plain", **config)
    again = repo.snapshot(str(marked), message="with a byte order mark")
    assert first.changed and not again.changed  # the same content: no new version
    other = annover.init(tmp_path / "other")
    assert other.snapshot(str(marked), message="marked first", **{k: str(repo.root / v) for k, v in config.items()}
                          ).version.record["tables"] == first.version.record["tables"]
