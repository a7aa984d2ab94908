"""Pascal VOC and CoNLL files other people wrote come back from snapshot -> export with what they said.

Each corpus file is snapshotted and exported through the command line, and the export is compared
with the original, both parsed here independently of annover's readers: VOC element by element
(the standard library's XML parser behind defusedxml, and supervision's VOC reader), CoNLL token by
token with its other columns, ``-DOCSTART-`` and comment lines (the tags through seqeval's reading).
What differs is only what docs/formats.md calls a conversion: VOC's default ``pose`` / ``truncated``
/ ``difficult`` written where a file left them out, ``<actions>`` in name order; CoNLL's
one blank line between sentences, a ``-DOCSTART-`` line first in a file that had none.
"""

from __future__ import annotations

import json
from pathlib import Path

import defusedxml.ElementTree as DET
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities
from supervision.dataset.formats.pascal_voc import detections_from_xml_obj

from annover.formats.training import read_train, render_train

from .conftest import shared_corpus
from .ls_fixtures import ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures
from .test_cli import invoke

CORPUS = shared_corpus("formats")
VOC = sorted(p.name for p in CORPUS.glob("voc_*"))
CONLL = sorted(p.name for p in CORPUS.glob("conll_*.conll"))
#: what VOC's export writes for an object's flags a file left out (docs/formats.md)
OBJECT_DEFAULTS = {"pose": "Unspecified", "truncated": "0", "difficult": "0"}


def _round_trip(src: Path, fmt: str, out: Path) -> str:
    """``src`` snapshotted and exported as ``fmt`` to ``out`` through the command line; the export's stderr."""
    code, _, err = invoke("snapshot", "--from", str(src), "--format", fmt, "-m", "theirs")
    assert code == 0, err
    code, _, err = invoke("export", "HEAD", "--format", fmt, "--out", str(out))
    assert code == 0, err
    return err


def _refused(task: dict, fmt: str, out: Path, said: list[str]) -> None:
    """The Label Studio task ``task`` snapshotted, then its export as ``fmt`` refused: exit 2, one line
    saying each of ``said``, no traceback, nothing written."""
    src = out.parent / "task.json"
    src.write_text(json.dumps([task]))
    code, _, err = invoke("snapshot", "--from", str(src), "--key", "id", "-m", "edited by hand")
    assert code == 0, err
    code, _, err = invoke("export", "HEAD", "--format", fmt, "--out", str(out))
    assert code == 2 and all(s in err for s in said) and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


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


def _same_voc(src: Path, out: Path) -> None:
    """Each XML file of the VOC folder ``src`` and its export in ``out`` say the same, element by element
    (but for the conversions of :func:`_tree`), and supervision reads the same boxes and classes."""
    files = sorted(src.rglob("*.xml"))
    assert files
    for f in files:
        a, b = DET.parse(f).getroot(), DET.parse(out / "Annotations" / f.name).getroot()
        assert (a.tag, a.attrib, [c.tag for c in a]) == (b.tag, b.attrib, [c.tag for c in b]), f.name
        for ca, cb in zip(a, b):
            assert _tree(cb, defaults=ca if ca.tag == "object" else None) == _tree(ca), (f.name, ca.tag)
        size = (int(a.findtext("size/width")), int(a.findtext("size/height")))
        (da, ca), (db, cb) = (detections_from_xml_obj(r, [], size) for r in (a, b))  # read 1-based, as the devkit
        assert ca == cb and np.array_equal(da.xyxy, db.xyxy) and np.array_equal(da.class_id, db.class_id)


@pytest.mark.parametrize("name", VOC)
def test_voc_round_trip_keeps_every_element(name, repo, tmp_path):
    """Every element and attribute of each file comes back (path, source, owner, folder, segmented,
    depth, verified, parts, actions, an object's flags), in the order the file gave them; supervision's
    VOC reader gives the same boxes and classes."""
    src, out = CORPUS / name, tmp_path / "out"
    _round_trip(src, "voc", out)
    _same_voc(src, out)


def test_voc_meta_edited_into_nonsense_is_one_line_naming_the_task(repo, tmp_path):
    """A task meta edited by hand (Label Studio JSON) that is no longer what the VOC import keeps: exit 2,
    one line naming the task and the field, nothing written."""
    box = {"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 10,
           "original_height": 10, "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["cat"]}}
    task = {"id": 7, "data": {"image": "a.jpg", "width": 10, "height": 10}, "meta": {"voc": {"elements": "path"}},
            "annotations": [{"result": [box]}]}
    _refused(task, "voc", tmp_path / "out", ["task '7'", "meta.voc.elements"])


def test_voc_elements_of_other_tools_come_back(tmp_path):
    """An object's CVAT ``<attributes>``, an element named in another script, a namespaced attribute
    (written by its local name, as docs/formats.md says): read and written back."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.xml").write_text(
        '<annotation xmlns:x="urn:x" x:tool="cvat"><filename>a.jpg</filename><état>gelé &amp; "ok"</état>'
        "<size><width>10</width><height>10</height></size><object><name>cat</name><bndbox><xmin>1</xmin>"
        "<ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox><attributes><attribute><name>color</name>"
        "<value>black</value></attribute></attributes></object></annotation>", encoding="utf-8")
    t = read_train(src, "voc", None, True)
    r = render_train("voc", {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions},
                     t.config_text)
    b = DET.fromstring(r.files["Annotations/a.xml"])
    assert b.attrib == {"tool": "cvat"}
    assert b.findtext("état") == 'gelé & "ok"'
    assert b.findtext("object/attributes/attribute/name") == "color"
    assert b.findtext("object/attributes/attribute/value") == "black"


@pytest.mark.parametrize("fmt", ["coco", "yolo"])
def test_voc_fields_another_format_cannot_hold_are_said_in_the_notes(fmt):
    """Exported to COCO or YOLO, the image fields a VOC file gave (labelImg's path, source, verified) have
    no place: the notes count the tasks holding them, none are left out in silence."""
    src = CORPUS / "voc_raccoon_labelimg"
    t = read_train(src, "voc", None, True)
    r = render_train(fmt, {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions},
                     t.config_text)
    n = len(list(src.rglob("*.xml")))  # every labelImg file has a <path> and a <source>
    assert any(note.startswith(f"{n} task(s) hold what their Pascal VOC file said") and fmt in note
               for note in r.notes), r.notes


# ---------------------------------------------------------------------------
# CoNLL


def _conll(text: str) -> tuple[list[dict], list[tuple[int, str]]]:
    """The sentences of a CoNLL text (tokens, middle columns, tags; split at blank and ``-DOCSTART-``
    lines) and its other lines (``-DOCSTART-``, ``#`` comments) as (the number of token lines before it, line)."""
    sents, other, cur, seen = [], [], None, 0
    for line in text.splitlines():
        cols = line.split()
        if not cols or cols[0] == "-DOCSTART-" or line.startswith("# "):
            if cols:
                other.append((seen, " ".join(cols) if cols[0] == "-DOCSTART-" else line))
            if cur and (not cols or cols[0] == "-DOCSTART-"):
                sents.append(cur)
                cur = None
            continue
        cur = cur or {"tokens": [], "middle": [], "tags": []}
        cur["tokens"].append(cols[0])
        cur["middle"].append(cols[1:-1])
        cur["tags"].append(cols[-1])
        seen += 1
    return sents + ([cur] if cur else []), other


@pytest.mark.parametrize("name", CONLL)
def test_conll_round_trip_keeps_columns_boundaries_and_entities(name, repo, tmp_path):
    """Tokens, the columns between token and tag (POS, chunk), sentence and document boundaries come back
    as the file gave them; the tags give seqeval the same entities."""
    src, out = CORPUS / name, tmp_path / "out.conll"
    _round_trip(src, "conll", out)
    a, other_a = _conll(src.read_text(encoding="utf-8"))
    b, other_b = _conll(out.read_text(encoding="utf-8"))
    assert [s["tokens"] for s in a] == [s["tokens"] for s in b]
    assert [s["middle"] for s in a] == [s["middle"] for s in b]
    for sa, sb in zip(a, b):
        assert get_entities(sa["tags"]) == get_entities(sb["tags"])
    if not any(line.startswith("-DOCSTART-") for _, line in other_a):  # the export starts a document
        assert other_b[0] == (0, "-DOCSTART- -X- -X- O")
        other_b = other_b[1:]
    assert other_a == other_b


_WORD = st.text(st.characters(whitelist_categories=("L", "N"), whitelist_characters="-_.,'’$"),
                min_size=1, max_size=6)
_TOKEN = _WORD.filter(lambda w: w != "-DOCSTART-" and not w.startswith("#"))
_LABEL = st.sampled_from(["PER", "ORG", "LOC", "B", "Named-Thing"])
#: a comment line; one whose last word reads as a tag (``# O``) before the first token line is a token line
_COMMENT = st.builds(lambda w: "# " + w, _WORD.filter(lambda w: w != "O" and w[1:2] != "-"))


@st.composite
def _sentence(draw, width: int) -> list[str]:
    """Comment lines, then token lines of ``width`` middle columns, tags in BIO."""
    n = draw(st.integers(1, 6))
    tags, i = [], 0
    while i < n:
        span = draw(st.integers(0, n - i))
        label = draw(_LABEL)
        tags += ["O"] if span == 0 else ["B-" + label] + ["I-" + label] * (span - 1)
        i += max(span, 1)
    lines = draw(st.lists(_COMMENT, max_size=2))
    for tag in tags:
        lines.append(" ".join([draw(_TOKEN), *draw(st.lists(_WORD, min_size=width, max_size=width)), tag]))
    return lines


@st.composite
def _conll_file(draw) -> str:
    """A CoNLL file as annover's export lays one out: a ``-DOCSTART-`` line and a blank line first (and
    maybe before other sentences), each sentence followed by one blank line; some entity somewhere,
    and some column between token and tag that is not ``_`` (an all-``_`` file is written with two)."""
    width = draw(st.integers(1, 3))
    docstart = st.sampled_from(["-DOCSTART- -X- -X- O", "-DOCSTART- -X- O O", "-DOCSTART-"])
    lines = [draw(docstart), ""]
    for i in range(draw(st.integers(1, 5))):
        if i and draw(st.booleans()):
            lines += [draw(docstart), ""]
        lines += draw(_sentence(width)) + [""]
    tokens = [ln.split() for ln in lines if ln and not ln.startswith(("#", "-DOCSTART-"))]
    if not any(t[-1] != "O" for t in tokens):
        tokens[0][-1] = "B-PER"
    if all(c == "_" for t in tokens for c in t[1:-1]):
        tokens[0][1] = "NN"
    it = iter(tokens)
    return "".join((" ".join(next(it)) if ln and not ln.startswith(("#", "-DOCSTART-")) else ln) + "\n"
                   for ln in lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_conll_file())
def test_conll_with_columns_documents_and_comments_round_trips(text, tmp_path):
    """CoNLL -> canonical tables -> CoNLL gives back the file, byte for byte."""
    src = tmp_path / "in.conll"
    src.write_text(text, encoding="utf-8")
    t = read_train(src, "conll", None, True)
    r = render_train("conll", {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions},
                     t.config_text)
    assert r.data.decode("utf-8") == text




def test_conll_meta_edited_into_nonsense_is_one_line_naming_the_task(repo, tmp_path):
    """A sentence's meta.conll edited by hand so that its columns would break the file's: exit 2, one line."""
    span = {"from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": 0, "end": 12, "text": "Ada Lovelace", "labels": ["PER"]}}
    task = {"id": 3, "data": {"text": "Ada Lovelace wrote"}, "meta": {"conll": {"columns": [["NNP"], ["a b"], ["V"]]}},
            "annotations": [{"result": [span]}]}
    _refused(task, "conll", tmp_path / "out.conll", ["task '3'", "meta.conll.columns"])


# ---------------------------------------------------------------------------
# through Label Studio: push, label there, snapshot back, export


@pytest.mark.labelstudio
@pytest.mark.parametrize("name, fmt", [("voc_parts_actions_datumaro", "voc"), ("conll_spacy_ontonotes.conll", "conll")])
def test_what_a_file_said_survives_a_round_in_label_studio(name, fmt, repo, tmp_path, project_factory):
    """A version pushed to Label Studio with its answers and snapshotted back exports what the file said
    (spaCy's CoNLL byte for byte): the fields kept in the task meta travel with the tasks."""
    src = CORPUS / name
    first = tmp_path / "first"
    _round_trip(src, fmt, first)
    code, config, err = invoke("show", "HEAD", "--config")
    assert code == 0, err
    project = project_factory(fmt, config)
    code, _, err = invoke("dataset", "push", str(project.id), "--from", "HEAD", "--annotations")
    assert code == 0, err
    code, _, err = invoke("snapshot", "--label-studio", str(project.id), "-m", "back from Label Studio")
    assert code == 0, err
    back = tmp_path / "back"
    code, _, err = invoke("export", "HEAD", "--format", fmt, "--out", str(back))
    assert code == 0, err
    if fmt == "conll":
        assert back.read_bytes() == first.read_bytes() == src.read_bytes()
    else:
        _same_voc(src, back)
