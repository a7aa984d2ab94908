"""COCO annotations that share an id. pycocotools indexes annotations by id (``COCO.anns``): the last
record of an id replaces the others, and ``loadAnns`` gives that one for each, on another image maybe,
so a model trained through it loses a box in silence. annover keeps every record (regions are keyed by
their image and content), says so in a warning naming the id, both records and their images, and its
COCO export numbers annotations anew: pycocotools reads every one of them."""

from __future__ import annotations

import contextlib
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annover.formats import coco, coco_fast
from annover.formats.train import to_tables
from annover.formats.training import read_train, render_train

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("formats")


def _pycocotools(path) -> "object":
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # its progress lines
        return COCO(str(path))


def test_a_shared_annotation_id_is_a_warning_and_every_record_is_kept(repo, tmp_path):
    """Roboflow's chess file, its last box given the first's id: pycocotools loads one box less, and
    the first image's boxes through loadAnns hold the last image's box; annover kept both in silence."""
    doc = json.loads((CORPUS / "coco_chess_roboflow.json").read_text())
    anns = doc["annotations"]
    first, last = anns[0], anns[-1]
    last["id"] = first["id"]
    src = tmp_path / "shared.json"
    src.write_text(json.dumps(doc))
    assert len(_pycocotools(src).anns) == len(anns) - 1  # what a user training through pycocotools gets

    code, _, err = invoke("snapshot", "--from", str(src), "-m", "shared ids")
    assert code == 0, err
    line = next(w for w in err.splitlines() if "share id" in w)
    assert line.startswith(f"warning: {src}: annotations 0 and {len(anns) - 1} share id {first['id']!r} "
                           f"(image_id {first['image_id']!r} and {last['image_id']!r})"), err
    assert "pycocotools" in line and "annover keeps both" in line, line
    out = tmp_path / "out.json"
    code, _, err = invoke("export", "--format", "coco", "--out", str(out))
    assert code == 0, err
    got = json.loads(out.read_text())
    assert len(got["annotations"]) == len(anns)  # both records kept
    assert len(_pycocotools(out).anns) == len(anns)  # unique ids: pycocotools reads every one


def test_unique_ids_give_no_warning(repo):
    code, _, err = invoke("snapshot", "--from", str(CORPUS / "coco_chess_roboflow.json"), "-m", "unique")
    assert code == 0 and "share id" not in err, err


@st.composite
def _docs(draw) -> dict:
    """Small COCO files whose annotations take ids from a few (so some share one), boxes or polygons."""
    images = [{"id": i, "file_name": f"im{i}.jpg", "width": 100, "height": 80} for i in range(1, 4)]
    anns = []
    for k in range(draw(st.integers(1, 8))):
        a = {"id": draw(st.integers(1, 6)), "image_id": draw(st.integers(1, 3)), "category_id": 1,
             "bbox": [k, 10, 20, 30], "area": 600, "iscrowd": 0, "segmentation": []}
        if draw(st.booleans()):  # a polygon: the general reader's work; plain boxes, the column-at-a-time one's
            a["segmentation"] = [[k, 10, k + 20, 10, k + 20, 40, k, 40]]
        anns.append(a)
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "cat"}]}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=_docs())
def test_property_both_readers_warn_of_shared_ids_and_keep_every_record(doc, tmp_path):
    src = tmp_path / "in.json"
    src.write_text(json.dumps(doc))
    ids = [a["id"] for a in doc["annotations"]]
    shared = len(set(ids)) < len(ids)
    for t, text in ((read_train(src, "coco", None, True), None),  # the column-at-a-time reader
                    to_tables(coco.read(src), str(src), "coco", None, True)):  # the general one
        assert any("share id" in w for w in t.warnings) == shared, t.warnings
        assert len(t.annotations.column("type").drop_null()) == len(ids)  # one region a record
        out = tmp_path / "out.json"
        out.write_bytes(render_train("coco", {"tasks": t.tasks, "annotations": t.annotations,
                                              "predictions": t.predictions}, t.config_text or text).data)
        assert len(_pycocotools(out).anns) == len(ids)


def _with_category_repeated(tmp_path, **change) -> tuple:
    """Roboflow's chess file with one category listed a second time (``change``: fields that differ)."""
    doc = json.loads((CORPUS / "coco_chess_roboflow.json").read_text())
    cat = doc["categories"][1]
    doc["categories"].append({**cat, **change})
    src = tmp_path / "repeated.json"
    src.write_text(json.dumps(doc))
    return src, doc, cat


def test_a_category_listed_twice_as_it_is_is_read_once_with_a_warning(repo, tmp_path):
    """pycocotools indexes categories by id: a record repeated as it is loses nothing. It was exit 3."""
    src, doc, cat = _with_category_repeated(tmp_path)
    coco_api = _pycocotools(src)
    unique = coco_api.cats
    assert len(unique) == len(doc["categories"]) - 1
    labels = sorted(unique[a["category_id"]]["name"] for a in coco_api.anns.values())  # what pycocotools reads
    assert coco_fast.read_tables(src, "coco") is not None  # read a column at a time, not left to the general reader
    for t in (read_train(src, "coco", None, True),  # the column-at-a-time reader
              to_tables(coco.read(src), str(src), "coco", None, True)[0]):  # the general one
        line = next(w for w in t.warnings if "same record" in w)
        assert line.startswith(f"{src}: categories 1 and {len(doc['categories']) - 1} are the same record "
                               f"(id {cat['id']!r}, name {cat['name']!r})"), line
        assert sorted(t.annotations.column("labels").combine_chunks().flatten().to_pylist()) == labels
    code, _, err = invoke("snapshot", "--from", str(src), "-m", "repeated category")
    assert code == 0 and f"warning: {src}: categories 1 and" in err, err
    out = tmp_path / "out.json"
    assert invoke("export", "--format", "coco", "--out", str(out))[0] == 0
    assert {c["id"]: c["name"] for c in _pycocotools(out).cats.values()} == \
        {c["id"]: c["name"] for c in unique.values()}


def test_a_category_id_given_two_names_is_still_refused(repo, tmp_path):
    src, doc, cat = _with_category_repeated(tmp_path, name="another")
    code, out, err = invoke("snapshot", "--from", str(src), "-m", "two names")
    assert (code, out) == (3, ""), err
    assert f"category {len(doc['categories']) - 1} (id {cat['id']!r}, name 'another') and category 1" in err, err
