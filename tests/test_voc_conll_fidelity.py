"""Pascal VOC files other people wrote come back from snapshot -> export with what they said.

Each corpus file is snapshotted and exported through the command line, and the export is compared
with the original, both parsed here independently of annover's readers: VOC element by element
(the standard library's XML parser behind defusedxml, and supervision's VOC reader). What differs
is only what docs/formats.md calls a conversion: VOC's default ``pose`` / ``truncated`` /
``difficult`` written where a file left them out, ``<actions>`` in name order.
"""

from __future__ import annotations

import json
from pathlib import Path

import defusedxml.ElementTree as DET
import numpy as np
import pytest
from supervision.dataset.formats.pascal_voc import detections_from_xml_obj

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("formats")
VOC = sorted(p.name for p in CORPUS.glob("voc_*"))
#: what VOC's export writes for an object's flags a file left out (docs/formats.md)
OBJECT_DEFAULTS = {"pose": "Unspecified", "truncated": "0", "difficult": "0"}


def _round_trip(src: Path, fmt: str, out: Path) -> str:
    """``src`` snapshotted and exported as ``fmt`` to ``out`` through the command line; the export's stderr."""
    code, _, err = invoke("snapshot", "--from", str(src), "--format", fmt, "-m", "theirs")
    assert code == 0, err
    code, _, err = invoke("export", "HEAD", "--format", fmt, "--out", str(out))
    assert code == 0, err
    return err


# ---------------------------------------------------------------------------
# Pascal VOC


def _tree(el, defaults: dict | None = None) -> tuple:
    """An element as (tag, attributes, text, children): ``<actions>``' children in name order, and of an
    object the default flags the export adds where ``defaults`` (the original's object) has none."""
    kids = [_tree(c) for c in el]
    if el.tag == "actions":
        kids.sort()
    if el.tag == "object" and defaults is not None:
        have = {c.tag for c in defaults}
        kids = [k for k in kids if not (k[0] in OBJECT_DEFAULTS and k[0] not in have and k[2] == OBJECT_DEFAULTS[k[0]])]
    return el.tag, dict(el.attrib), (el.text or "").strip(), kids


def _voc_pairs(src: Path, out: Path):
    files = sorted(src.rglob("*.xml"))
    assert files
    for f in files:
        yield DET.parse(f).getroot(), DET.parse(out / "Annotations" / f.name).getroot()


@pytest.mark.parametrize("name", VOC)
def test_voc_round_trip_keeps_every_element(name, repo, tmp_path):
    """Every element and attribute of each file comes back (path, source, owner, folder, segmented,
    depth, verified, parts, actions, an object's flags), in the order the file gave them; supervision's
    VOC reader gives the same boxes and classes."""
    src, out = CORPUS / name, tmp_path / "out"
    _round_trip(src, "voc", out)
    for a, b in _voc_pairs(src, out):
        objects_a = a.findall("object")
        assert (a.tag, a.attrib, [c.tag for c in a]) == (b.tag, b.attrib, [c.tag for c in b])
        for ca, cb in zip(a, b):
            if ca.tag == "object":
                assert _tree(cb, defaults=ca) == _tree(ca), (name, ca.findtext("name"))
            else:
                assert _tree(cb) == _tree(ca), (name, ca.tag)
        assert len(objects_a) == len(b.findall("object"))
        size = (int(a.findtext("size/width")), int(a.findtext("size/height")))
        (da, ca), (db, cb) = (detections_from_xml_obj(r, [], size) for r in (a, b))  # read 1-based, as the devkit
        assert ca == cb and np.array_equal(da.xyxy, db.xyxy) and np.array_equal(da.class_id, db.class_id)


def test_voc_meta_edited_into_nonsense_is_one_line_naming_the_task(repo, tmp_path):
    """A task meta edited by hand (Label Studio JSON) that is no longer what the VOC import keeps: exit 2,
    one line naming the task and the field, nothing written."""
    task = {"id": 7, "data": {"image": "a.jpg", "width": 10, "height": 10}, "meta": {"voc": {"elements": "path"}},
            "annotations": [{"result": [{"from_name": "label", "to_name": "image", "type": "rectanglelabels",
                                         "original_width": 10, "original_height": 10, "value": {
                                             "x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["cat"]}}]}]}
    (tmp_path / "t.json").write_text(json.dumps([task]))
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "t.json"), "--key", "id", "-m", "x")
    assert code == 0, err
    code, _, err = invoke("export", "HEAD", "--format", "voc", "--out", str(tmp_path / "out"))
    assert code == 2
    assert "task '7'" in err and "meta.voc.elements" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
