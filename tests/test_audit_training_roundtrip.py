"""Training formats as a user who trains lives with them: a corpus sample snapshotted, exported,
and the export read back.

Real data: the shared corpus's raccoon sample (labelImg VOC XML, ``voc_raccoon_labelimg``), flair's
fashion CoNLL fixture (``conll_flair_fashion.conll``: one sentence without a span), spaCy's OntoNotes
CoNLL sample and a Label Studio polygon export; read in place. The cases the corpus has no sample of
(a VOC ``<difficult>1</difficult>``, a YOLO folder with both data.yaml and classes.txt) are written
here, a few lines each.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import git, shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("formats")


def _version_of(source: Path) -> str:
    code, out, err = invoke("snapshot", "--from", str(source), "-m", "in", "-q")
    assert code == 0, err
    return out.strip()


@pytest.mark.parametrize("sample, key", [
    ("voc_raccoon_labelimg", []),  # HEAD's key, stem:data.image, which the CSV has no column for
    ("voc_raccoon_labelimg", ["--key", "auto"]),  # its task_key column
    ("conll_flair_fashion.conll", []),  # a sentence without a span: a row without from_name
])
def test_own_csv_export_is_refused_not_misread(repo, sample, key):
    """annover's ``--format csv`` export is not read back as its table (README: CSV cannot tell an
    empty text from a missing one). Was: read as flat rows, the export's columns became task data
    and each box a Choices answer of its label (exit 0, a version of garbage), or refused with a
    hint beside the point ('add a task_key column' to a file that has one; "control ''")."""
    head = _version_of(CORPUS / sample)
    code, _, err = invoke("export", "HEAD", "--format", "csv", "--out", "v1.csv", "-q")
    assert code == 0, err
    code, out, err = invoke("snapshot", "--from", "v1.csv", "-m", "again", *key)
    assert code == 3, (out, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "v1.csv" in lines[0] and "--format csv" in lines[0] and "parquet" in lines[0], lines[0]
    assert git("tag", cwd=repo.root).split() == ["v1"]  # nothing written
    code, out, err = invoke("snapshot", "--from", str(CORPUS / sample), "-m", "again")
    assert code == 0 and "nothing changed" in (out + err) and head, (out, err)


LS = shared_corpus("label-studio")


def test_key_given_to_a_training_format_is_refused(repo):
    """A training format's reader keys the tasks itself (an image by its file name's stem, a CoNLL
    sentence by the hash of its text). Was: ``--key data.ext_id`` was ignored for the tasks but
    recorded as the version's key, so the version's own Label Studio export was refused when
    snapshotted back ('the task data has no field ext_id', exit 3)."""
    code, out, err = invoke("snapshot", "--from", str(CORPUS / "conll_spacy_ontonotes.conll"), "--key", "data.ext_id",
                            "-m", "in")
    assert code == 2, (out, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--key data.ext_id" in lines[0] and "conll" in lines[0], err
    assert git("tag", cwd=repo.root).split() == []  # nothing written
    code, _, err = invoke("snapshot", "--from", str(CORPUS / "voc_parts_actions_datumaro"), "--key",
                          "stem:data.image", "-m", "in")  # the key it keys by: taken
    assert code == 0, err


def test_heads_key_is_not_claimed_for_a_training_format(repo):
    """Was: after a version keyed by Label Studio's task id, a COCO snapshot said 'reading with --key
    id, as HEAD was' (it read by the file name's stem, as the next warning said); after one keyed by a
    data field, a CoNLL snapshot recorded that field as its key, so its own Label Studio export did
    not read back as the same tasks."""
    cfg = LS / "sdk_polygons.xml"
    assert invoke("snapshot", "--from", str(LS / "sdk_polygons.json"), "--config", str(cfg), "--key", "id",
                  "-m", "ls")[0] == 0
    assert invoke("export", "HEAD", "--format", "coco", "--out", "c.json", "-q")[0] == 0
    code, out, err = invoke("snapshot", "--from", "c.json", "-m", "coco")
    assert code == 0, err
    assert "as HEAD was" not in err and "changed scheme" in err, err


def test_conll_after_a_version_keyed_by_a_field(tmp_path, monkeypatch):
    """The CoNLL case of the test above, in a repository of text: v1 keyed by data.text, v2 the CoNLL
    file again; v2's Label Studio export reads back as v2 (nothing changed)."""
    import annover

    r = annover.init(tmp_path / "r")
    monkeypatch.chdir(r.root)
    conll = CORPUS / "conll_spacy_ontonotes.conll"
    assert invoke("snapshot", "--from", str(conll), "-m", "one", "-q")[0] == 0
    assert invoke("export", "HEAD", "--format", "label-studio", "--out", "v1.json", "-q")[0] == 0
    code, _, err = invoke("snapshot", "--from", "v1.json", "--key", "data.text", "-m", "by text", "-q")
    assert code == 0, err
    code, out, err = invoke("snapshot", "--from", str(conll), "-m", "conll again")
    assert code == 0, err
    assert "as HEAD was" not in err, err
    assert invoke("export", "HEAD", "--format", "label-studio", "--out", "again.json", "-q")[0] == 0
    code, out, err = invoke("snapshot", "--from", "again.json", "-m", "back")
    assert code == 0 and "nothing changed" in out + err, (out, err)


_DIFFICULT_XML = """<annotation><filename>{name}.jpg</filename>
<size><width>100</width><height>80</height><depth>3</depth></size>
<object><name>dog</name><difficult>1</difficult>
<bndbox><xmin>10</xmin><ymin>20</ymin><xmax>50</xmax><ymax>60</ymax></bndbox></object>{more}
</annotation>"""
_PLAIN_OBJECT = """<object><name>cat</name><difficult>0</difficult>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>30</xmax><ymax>30</ymax></bndbox></object>"""


def test_voc_difficult_objects_are_left_out_of_yolo(repo, tmp_path):
    """VOC's difficult objects are what its evaluation ignores and Ultralytics' VOC conversion
    leaves out, as a COCO crowd region is left out of YOLO (this export's own rule). Was: written as
    ordinary objects to train on, the note saying only that the field 'difficult' was left out."""
    voc = tmp_path / "voc" / "Annotations"
    voc.mkdir(parents=True)
    (voc / "a.xml").write_text(_DIFFICULT_XML.format(name="a", more=_PLAIN_OBJECT))
    (voc / "b.xml").write_text(_DIFFICULT_XML.format(name="b", more=""))
    _version_of(voc.parent)
    code, _, err = invoke("export", "HEAD", "--format", "yolo", "--out", "y")
    assert code == 0, err
    assert (Path("y/labels/a.txt").read_text().split() == ["1", "0.155", "0.19375", "0.29", "0.3625"])
    assert Path("y/labels/b.txt").read_text() == ""  # background, as Ultralytics reads an empty file
    assert "2 difficult object(s) (VOC <difficult>1</difficult>) were left out" in err, err
    assert "1 image(s) held only difficult objects" in err, err
    code, _, err = invoke("export", "HEAD", "--format", "voc", "--out", "v")  # VOC itself keeps them
    assert code == 0 and "<difficult>1</difficult>" in Path("v/Annotations/b.xml").read_text()


def test_voc_difficult_objects_are_crowd_regions_in_coco(repo, tmp_path):
    """A VOC difficult object goes to COCO as a crowd region (``iscrowd`` 1), as mmdetection's
    VOC-to-COCO converter writes it: COCOeval then ignores it as VOC's evaluation does, and the COCO
    file read back gives the VOC object its difficult flag again. Was: an ordinary object (iscrowd 0)
    that COCOeval counted as missed where a model rightly skipped it."""
    import contextlib
    import io
    import json

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    voc = tmp_path / "voc" / "Annotations"
    voc.mkdir(parents=True)
    (voc / "a.xml").write_text(_DIFFICULT_XML.format(name="a", more=_PLAIN_OBJECT))
    _version_of(voc.parent)
    code, _, err = invoke("export", "HEAD", "--format", "coco", "--out", "c.json")
    assert code == 0 and "1 difficult object(s) (VOC <difficult>1</difficult>) were written with iscrowd 1" in err
    doc = json.loads(Path("c.json").read_text())
    assert sorted((a["bbox"], a["iscrowd"]) for a in doc["annotations"]) == [([1, 1, 29, 29], 0), ([10, 20, 40, 40], 1)]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO("c.json")
        plain = [a for a in doc["annotations"] if not a["iscrowd"]]  # a model that finds the plain object only
        dt = gt.loadRes([{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
                         for a in plain])
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate(), ev.accumulate(), ev.summarize()
    assert ev.stats[1] == pytest.approx(1.0)  # AP50: the difficult object is not counted as missed
    code, _, err = invoke("snapshot", "--from", "c.json", "-m", "coco")
    assert code == 0, err
    code, _, err = invoke("export", "HEAD", "--format", "voc", "--out", "v")
    assert code == 0 and Path("v/Annotations/a.xml").read_text().count("<difficult>1</difficult>") == 1


def test_yolo_data_yaml_and_classes_txt_that_disagree_are_said(repo, tmp_path):
    """A folder with data.yaml (what Ultralytics reads) and a classes.txt (what labelImg and Label
    Studio write) naming the classes otherwise is read with data.yaml's names, and a warning says
    which class differs. Was: read so without a word, every label possibly the wrong class."""
    root = tmp_path / "y"
    (root / "labels").mkdir(parents=True)
    (root / "labels" / "a.txt").write_text("1 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").write_text("names: [dog, cat]\n")
    (root / "sizes.json").write_text('{"images/a.jpg": {"width": 10, "height": 10}}')
    (root / "classes.txt").write_text("dog\ncat\n")  # the same: nothing said
    code, out, err = invoke("snapshot", "--from", str(root), "-m", "same", "-n")
    assert code == 0 and "classes.txt" not in err, err
    (root / "classes.txt").write_text("dog\nbird\n")
    code, out, err = invoke("snapshot", "--from", str(root), "-m", "differ")
    assert code == 0, err
    said = [ln for ln in err.splitlines() if "classes.txt" in ln]
    assert len(said) == 1 and "class 1 is 'cat' in data.yaml and 'bird' in classes.txt" in said[0], err
    code, out, _ = invoke("export", "HEAD", "--format", "json-min", "--out", "-", "-q")
    assert code == 0 and '"cat"' in out and "bird" not in out
