"""Fuzzing the readers of the formats people train on, as tests/test_fuzz_inputs.py fuzzes Label
Studio's: valid inputs, mutated in structure and in bytes, are read or refused with a documented exit
code, one line naming the file (or its folder); never an unexpected error.

Sources: the corpus' samples (``../shared/corpus/formats``: COCO files, YOLO folders, Pascal VOC
folders, CoNLL files; read in place, copied into ``tmp_path`` to be mutated), and what no corpus
file gives, written here: doccano / flair / Prodigy JSONL lines, a GermEval TSV, a Hugging Face
``save_to_disk`` folder and a ``datasets``-written Parquet file. The mutations: fields dropped,
retyped, repeated, renamed, wrong nesting, huge / negative / NaN numbers, unknown categories and ids,
boxes outside the image or of no size, missing image files, paths with ``..``, links out of the
folder; bytes cut, flipped, invalid UTF-8, a BOM, CRLF, NUL.

CI runs a bounded number of examples, derandomized; ``ANNOVER_FUZZ_EXAMPLES=N`` runs N per test with
fresh randomness (by hand: ``ANNOVER_FUZZ_EXAMPLES=500 pytest tests/test_fuzz_training.py``). Every
input that ever failed is a literal case in tests/test_malformed_inputs.py.
"""

from __future__ import annotations

import copy
import json
import shutil
import struct
import zlib
from functools import lru_cache
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import annover
from annover.cli import run
from annover.errors import EXIT_CODES
from annover.formats.read import read_source
from annover.model.config import LabelingConfig

from .conftest import EXAMPLES, shared_corpus
from .test_fuzz_inputs import INPUT_CODES, VALUES, _state, as_bytes, check_read, config, flipped, fuzz, mutated

CORPUS = shared_corpus("formats")
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus of training formats is not here")

#: what a training format's number may become
NUMBERS = st.sampled_from(["0", "-1", "-0.5", "1.5", "2", "1e400", "-1e400", "nan", "NaN", "inf", "-inf", "1e-400",
                           "9" * 40, "0x10", "1_0", "", "½", "١", "0.5.5", "+0.3", "1e308", "-0"])
#: byte sequences a text file may gain: a BOM, CRLF, NUL, bad UTF-8, a lone surrogate's bytes, a tab
INSERTS = [b"\xef\xbb\xbf", b"\r\n", b"\x00", b"\xff", b"\xed\xa0\x80", b"\t", b"\r", b" ", b"\n\n"]


@st.composite
def text_bytes(draw, data: bytes) -> bytes:
    """``data`` flipped (as test_fuzz_inputs does), or with a BOM, CRLF line ends or a byte sequence added."""
    op = draw(st.sampled_from(["flip", "flip", "bom", "crlf", "insert"]))
    if op == "flip":
        return draw(flipped(data))
    if op == "bom":
        return b"\xef\xbb\xbf" + data
    if op == "crlf":
        return data.replace(b"\n", b"\r\n")
    i = draw(st.integers(0, len(data)))
    return data[:i] + draw(st.sampled_from(INSERTS)) + data[i:]


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True) if src.is_dir() else shutil.copyfile(src, dst)
    return dst


def _png(width: int, height: int) -> bytes:
    """A valid PNG of ``width`` x ``height`` (one grey row per line)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------------------
# COCO


COCO_SOURCES = sorted(CORPUS.glob("coco_*.json")) if CORPUS.is_dir() else []


@lru_cache(maxsize=None)
def coco_doc(path: Path) -> dict:
    """The sample with its first two images and their annotations (enough structure, quick to read)."""
    doc = json.loads(path.read_text())
    images = doc["images"][:2]
    ids = {im["id"] for im in images}
    return {**doc, "images": images, "annotations": [a for a in doc["annotations"] if a["image_id"] in ids][:6]}


#: changes to a COCO document that mean something to COCO (mutated() does the blind ones)
COCO_FIELDS = ["id", "image_id", "category_id", "bbox", "segmentation", "area", "iscrowd", "keypoints",
               "num_keypoints", "file_name", "width", "height", "name", "supercategory", "skeleton"]


@st.composite
def coco_mutated(draw, doc: dict) -> dict:
    """A COCO document with one to three changes of meaning: a box outside the image or of no size, an id
    that matches nothing or repeats, an unknown category, a file name with ``..``, a field of another
    kind, an empty list; else a blind structural mutation."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        section = draw(st.sampled_from(["images", "annotations", "categories"]))
        items = doc.get(section)
        if not isinstance(items, list) or not items or not all(isinstance(x, dict) for x in items):
            return draw(mutated(doc))
        item = draw(st.sampled_from(items))
        op = draw(st.sampled_from(["box", "field", "id", "empty", "repeat", "blind", "name"]))
        if op == "box" and section == "annotations":
            w = draw(st.sampled_from([0, -5, 1e308, float("nan"), 10**30, 5000, 0.0001]))
            item["bbox"] = draw(st.sampled_from([[-100, -100, w, w], [0, 0, w, 1], [1e6, 1e6, 10, 10], [1, 2, 3],
                                                 [1, 2, 3, 4, 5], [], None, "1 2 3 4", [[1, 2, 3, 4]]]))
        elif op == "field":
            item[draw(st.sampled_from(COCO_FIELDS))] = draw(VALUES)
        elif op == "id":
            k = draw(st.sampled_from(["id", "image_id", "category_id"]))
            item[k] = draw(st.sampled_from([999999, -1, 0, 2**63, "1", 1.5, items[0].get("id"), None]))
        elif op == "empty":
            doc[section] = draw(st.sampled_from([[], {}, None, [{}], [[]]]))
        elif op == "repeat":
            items.append(copy.deepcopy(item))
        elif op == "name":
            item["file_name" if section == "images" else "name"] = draw(st.sampled_from(
                ["../../etc/passwd", "/abs/x.jpg", "a/../../b.png", "", ".", "x\ny.jpg", "\x00.jpg", "é.jpg"]))
        else:
            return draw(mutated(doc))
    return doc


@fuzz(40)
@given(src=st.sampled_from(COCO_SOURCES), data=st.data(), with_config=st.booleans(), ascii_only=st.booleans())
def test_coco_mutated_in_structure(tmp_path_factory, src, data, with_config, ascii_only):
    doc = data.draw(coco_mutated(coco_doc(src)))
    p = tmp_path_factory.mktemp("coco") / "coco.json"
    p.write_bytes(as_bytes(doc, ascii_only))
    check_read(p, fmt=data.draw(st.sampled_from([None, "coco"])), validate=data.draw(st.sampled_from([True, "off"])),
               config=coco_config(src) if with_config else None)  # with a config: the general path, not coco_fast


@lru_cache(maxsize=None)
def coco_config(path: Path) -> LabelingConfig:
    """The labeling config generated from the whole sample (as a snapshot of it stores)."""
    return LabelingConfig(read_source(path).config_text, source=f"{path}'s config", validate=False)


@fuzz(40)
@given(src=st.sampled_from(COCO_SOURCES), data=st.data())
def test_coco_mutated_in_bytes(tmp_path_factory, src, data):
    p = tmp_path_factory.mktemp("coco") / "coco.json"
    p.write_bytes(data.draw(text_bytes(as_bytes(coco_doc(src), data.draw(st.booleans())))))
    check_read(p, fmt=data.draw(st.sampled_from([None, "coco"])))


@fuzz(30)
@given(src=st.sampled_from(COCO_SOURCES), data=st.data())
def test_coco_export_folder_with_images(tmp_path_factory, src, data):
    """Label Studio's COCO export unzipped: ``result.json`` and ``images/``, some missing, some links out."""
    root = tmp_path_factory.mktemp("cocoexp")
    (root / "export").mkdir()
    doc = data.draw(coco_mutated(coco_doc(src))) if data.draw(st.booleans()) else coco_doc(src)
    (root / "export" / "result.json").write_bytes(as_bytes(doc, True))
    images = root / "export" / "images"
    images.mkdir()
    for im in coco_doc(src)["images"]:
        name = Path(str(im["file_name"])).name
        how = data.draw(st.sampled_from(["png", "png", "missing", "link out", "empty", "garbage"]))
        if how == "png":
            (images / name).write_bytes(_png(4, 3))
        elif how == "link out":
            (root / "secret.png").write_bytes(_png(2, 2))
            (images / name).symlink_to(root / "secret.png")
        elif how == "empty":
            (images / name).write_bytes(b"")
        elif how == "garbage":
            (images / name).write_bytes(b"\x89PNG\r\n\x1a\n" + b"\xff" * 10)
    if data.draw(st.booleans()):
        (root / "export" / "result.json").unlink()
        (root / "export" / "result.json").symlink_to(root / "elsewhere.json")
        (root / "elsewhere.json").write_bytes(as_bytes(doc, True))
    check_read(root / "export")


# ---------------------------------------------------------------------------
# YOLO folders


YOLO_SOURCES = sorted(CORPUS.glob("yolo_*")) if CORPUS.is_dir() else []


@st.composite
def yolo_line(draw, line: str) -> str:
    """A label line with numbers changed, dropped, repeated or added."""
    tokens = line.split()
    for _ in range(draw(st.integers(1, 3))):
        if not tokens:
            tokens = [draw(NUMBERS)]
            continue
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["number", "number", "drop", "repeat", "add", "class"]))
        if op == "number":
            tokens[i] = draw(NUMBERS)
        elif op == "drop":
            del tokens[i]
        elif op == "repeat":
            tokens.insert(i, tokens[i])
        elif op == "add":
            tokens.append(draw(NUMBERS))
        else:
            tokens[0] = draw(st.sampled_from(["99", "-1", "1.0", "1.5", "a", "4", "10", "9" * 30]))
    return " ".join(tokens)


def _yolo_label_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.txt") if p.name != "classes.txt" and "labels" in p.parts)


def _mutate_yolo_labels(root: Path, draw) -> None:
    f = draw(st.sampled_from(_yolo_label_files(root)))
    lines = f.read_bytes().decode("utf-8", "surrogateescape").splitlines()
    op = draw(st.sampled_from(["line", "line", "line", "empty", "repeat", "bytes"]))
    if op == "line" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] = draw(yolo_line(lines[i]))
    elif op == "empty":
        lines = draw(st.sampled_from([[], [""], ["", ""], [" "]]))
    elif op == "repeat" and lines:
        lines.append(lines[0])
    if op == "bytes":
        f.write_bytes(draw(text_bytes(f.read_bytes())))
    else:
        f.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))


YAML_SNIPPETS = ["names: [a, a]", "names: {0: a, 5: b}", "names: []", "names: 7", "names: {-1: a}", "nc: 99",
                 "kpt_shape: [3]", "kpt_shape: [-1, 3]", "kpt_shape: [1000000, 3]", "kpt_shape: nan", "task: obb",
                 "task: [1]", "train: ../../outside", "train: /abs/images", "train: [images/train, images/train]",
                 "path: ..", "names: {0: '', 1: '\\x00'}", "flip_idx: [0, 9]", "- a", "{", "names: !!binary aGk=",
                 "train: images/nope", "names:\n  0: a\n  0: b", "kpt_names: {0: [a]}", "names: {0: [a, b]}"]


def _mutate_yolo_names(root: Path, draw) -> None:
    yaml_file = next((root / n for n in ("data.yaml", "classes.txt") if (root / n).is_file()), None)
    if yaml_file is None:
        return
    raw = yaml_file.read_bytes()
    if yaml_file.name == "classes.txt":
        names = raw.decode("utf-8", "surrogateescape").splitlines()
        op = draw(st.sampled_from(["drop", "dup", "empty", "bytes", "value"]))
        if op == "drop" and names:
            names.pop(draw(st.integers(0, len(names) - 1)))
        elif op == "dup" and names:
            names.append(names[0])
        elif op == "empty":
            names = []
        elif op == "value" and names:
            names[0] = draw(st.sampled_from(["", " ", "a b", "<x>", "\x00", "&amp;", "é", '"', "0"]))
        text = "\n".join(names).encode("utf-8", "surrogateescape")
        yaml_file.write_bytes(draw(text_bytes(raw)) if op == "bytes" else text)
        return
    if draw(st.booleans()):
        yaml_file.write_bytes(draw(text_bytes(raw)))
    else:
        yaml_file.write_bytes(raw + b"\n" + draw(st.sampled_from(YAML_SNIPPETS)).encode() + b"\n")


def _sizes_as_written(sizes: Path) -> dict | None:
    """sizes.json as the corpus has it ({image: {width, height}}), None where it is not (or not there)."""
    try:
        doc = json.loads(sizes.read_bytes())
    except (OSError, ValueError):
        return None
    ok = isinstance(doc, dict) and doc and all(isinstance(v, dict) and all(type(v.get(k)) is int and v[k] > 0
                                                                           for k in ("width", "height"))
                                               for v in doc.values())
    return doc if ok else None


def _mutate_yolo_files(root: Path, outside: Path, draw) -> None:
    """Sizes and images: missing, of no size, a link out of the folder, a label file of a bad name."""
    op = draw(st.sampled_from(["sizes", "no sizes", "images", "link out", "odd name", "label dir link"]))
    sizes = root / "sizes.json"
    doc = _sizes_as_written(sizes)
    if doc is None:  # mutated already (or none): the first mutation of sizes.json is the one made
        op = op if op not in ("sizes", "no sizes", "images") else "link out"
    if op == "sizes":
        k = draw(st.sampled_from(sorted(doc)))
        doc[k] = draw(st.one_of(st.sampled_from([{"width": 0, "height": 0}, {"width": -1, "height": 5},
                                                 {"width": 10**30, "height": 1}, {"width": float("nan")},
                                                 {"width": "640", "height": "329"}, {}, None, []]), VALUES))
        sizes.write_bytes(as_bytes(draw(st.sampled_from([doc, draw(mutated(doc))])), True))
    elif op in ("no sizes", "images"):
        sizes.unlink()
        for name, wh in doc.items():
            how = draw(st.sampled_from(["png", "png", "missing", "garbage"]))
            p = root / name
            p.parent.mkdir(parents=True, exist_ok=True)
            if op == "images" and how == "png":
                p.write_bytes(_png(max(1, min(wh["width"] // 64, 40)), max(1, min(wh["height"] // 64, 40))))
            elif op == "images" and how == "garbage":
                p.write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    elif op == "link out":
        f = draw(st.sampled_from(_yolo_label_files(root)))
        (outside / "x.txt").write_text("0 0.5 0.5 0.1 0.1\n")
        f.unlink()
        f.symlink_to(outside / "x.txt")
    elif op == "odd name":
        f = draw(st.sampled_from(_yolo_label_files(root)))
        f.rename(f.with_name(draw(st.sampled_from(["..txt", ".hidden.txt", "a b.txt", "é.txt", "x.y.txt", "\\.txt"]))))
    elif op == "label dir link" and not (root / "labels" / "more").is_symlink():
        (outside / "labels").mkdir(exist_ok=True)
        (outside / "labels" / "evil.txt").write_text("0 0.5 0.5 0.1 0.1\n")
        (root / "labels" / "more").symlink_to(outside / "labels")


@fuzz(40)
@given(src=st.sampled_from(YOLO_SOURCES), data=st.data())
def test_yolo_folders_mutated(tmp_path_factory, src, data):
    base = tmp_path_factory.mktemp("yolo")
    root = _copy(src, base / "yolo")
    (base / "outside").mkdir()
    for _ in range(data.draw(st.integers(1, 3))):
        what = data.draw(st.sampled_from(["labels", "labels", "names", "files"]))
        if what == "labels":
            _mutate_yolo_labels(root, data.draw)
        elif what == "names":
            _mutate_yolo_names(root, data.draw)
        else:
            _mutate_yolo_files(root, base / "outside", data.draw)
    fmt = data.draw(st.sampled_from([None, "yolo", "yolo-obb"] if "obb" in src.name else [None, "yolo"]))
    check_read(root, fmt=fmt)


# ---------------------------------------------------------------------------
# Pascal VOC folders


VOC_SOURCES = sorted(CORPUS.glob("voc_*")) if CORPUS.is_dir() else []
VOC_SNIPPETS = [b"<object><name>x</name></object>", b"<bndbox><xmin>5</xmin></bndbox>", b"<xmin>-1e400</xmin>",
                b"<xmax>nan</xmax>", b"<width>0</width>", b"<height>-5</height>", b"<name></name>", b"</object>",
                b"<filename>../../etc/passwd</filename>", b"<filename></filename>", b"<size></size>",
                b'<!DOCTYPE a [<!ENTITY e "x">]>', b"&e;", b"<![CDATA[x]]>", b"<?xml version='1.0'?>", b"\x00",
                b"<ymin>99999999999999999999999</ymin>", b"<difficult>yes</difficult>", b"<part><name>h</name></part>",
                b"<annotation>", b"</annotation>", b"<xmin>1</xmin><xmin>2</xmin>", b"<name>a\nb</name>", b"&#0;",
                b"&#xD800;", b"<attributes><attribute><name>a</name></attribute></attributes>"]


def _voc_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.xml"))


@fuzz(40)
@given(src=st.sampled_from(VOC_SOURCES), data=st.data())
def test_voc_folders_mutated(tmp_path_factory, src, data):
    base = tmp_path_factory.mktemp("voc")
    root = base / "voc"
    root.mkdir()
    sub = next(p.name for p in src.iterdir() if p.is_dir())
    (root / sub).mkdir()
    for f in _voc_files(src)[:3]:
        shutil.copyfile(f, root / sub / f.name)
    for _ in range(data.draw(st.integers(1, 3))):
        f = data.draw(st.sampled_from(_voc_files(root)))
        raw = f.read_bytes()
        op = data.draw(st.sampled_from(["snippet", "snippet", "number", "bytes", "link out", "drop element"]))
        if op == "snippet":
            i = data.draw(st.integers(0, len(raw)))
            j = data.draw(st.integers(i, min(len(raw), i + 40)))
            f.write_bytes(raw[:i] + data.draw(st.sampled_from(VOC_SNIPPETS)) + raw[j:])
        elif op == "number":
            tag = data.draw(st.sampled_from([b"xmin", b"ymin", b"xmax", b"ymax", b"width", b"height", b"depth"]))
            start = raw.find(b"<" + tag + b">")
            end = raw.find(b"</" + tag + b">", start)
            if start >= 0 and end > start:
                value = data.draw(NUMBERS).encode()
                f.write_bytes(raw[:start + len(tag) + 2] + value + raw[end:])
        elif op == "bytes":
            f.write_bytes(data.draw(text_bytes(raw)))
        elif op == "link out":
            (base / "secret.xml").write_bytes(raw)
            f.unlink()
            f.symlink_to(base / "secret.xml")
        else:
            tag = data.draw(st.sampled_from([b"object", b"size", b"bndbox", b"name", b"filename", b"width"]))
            start = raw.find(b"<" + tag + b">")
            end = raw.find(b"</" + tag + b">", start)
            if start >= 0 and end > start:
                f.write_bytes(raw[:start] + raw[end + len(tag) + 3:])
    check_read(root, fmt=data.draw(st.sampled_from([None, "voc"])))


# ---------------------------------------------------------------------------
# CoNLL, GermEval TSV, BIO text


CONLL_SOURCES = sorted(CORPUS.glob("conll_*.conll")) if CORPUS.is_dir() else []
#: GermEval 2014's layout: a number, the token, the outer and the inner tag, tab-separated; # lines aside
GERMEVAL = ("# http://de.wikipedia.org/wiki/Manfred_Korfmann [2009-10-17]\n1\tAufgrund\tO\tO\n2\tseiner\tO\tO\n"
            "3\tErfahrungen\tO\tO\n4\tin\tO\tO\n5\tTroja\tB-LOC\tO\n6\tund\tO\tO\n7\tder\tO\tO\n"
            "8\tTürkei\tB-LOC\tO\n9\t.\tO\tO\n\n# second\n1\tBerliner\tB-LOCderiv\tB-LOC\n2\tMauer\tI-LOCderiv\tO\n\n")
#: a BIO text: a token and a tag a line
BIO_TEXT = "EU B-ORG\nrejects O\nGerman B-MISC\ncall O\n.\tO\n\nPeter B-PER\nBlackburn I-PER\n\n"
TAGS = ["O", "B-PER", "I-PER", "B-", "I-", "X-PER", "B-O", "S-X", "E-Y", "I-ORG", "B-a b", "-", "B-\x00", "BB-X",
        "b-per", "L-X", "U-X", "I-PER-X"]


@st.composite
def conll_text(draw, text: str) -> str:
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        cols = lines[i].split()
        op = draw(st.sampled_from(["tag", "tag", "token", "drop col", "add col", "drop line", "repeat", "blank",
                                   "docstart", "comment"]))
        if op == "tag" and cols:
            cols[-1] = draw(st.sampled_from(TAGS))
        elif op == "token" and cols:
            cols[0] = draw(st.sampled_from(["", "\u00a0", "\u2028", "a\u0085b", "\ufeff", "#", "-DOCSTART-",
                                            "x" * 5000]))
        elif op == "drop col" and cols:
            cols.pop(draw(st.integers(0, len(cols) - 1)))
        elif op == "add col":
            cols.insert(draw(st.integers(0, len(cols))), draw(st.sampled_from(["O", "x", "B-X", "_"])))
        elif op == "drop line":
            lines.pop(i)
            continue
        elif op == "repeat":
            lines.insert(i, lines[i])
            continue
        elif op == "blank":
            lines.insert(i, draw(st.sampled_from(["", " ", "\t", "\t\t"])))
            continue
        elif op == "docstart":
            lines.insert(i, "-DOCSTART- -X- O O")
            continue
        elif op == "comment":
            lines.insert(i, draw(st.sampled_from(["# a", "#", "# text = x"])))
            continue
        sep = "\t" if "\t" in lines[i] else " "
        lines[i] = sep.join(cols)
    return "\n".join(lines)


CONLL_INPUTS = [(p.name, None) for p in CONLL_SOURCES] + [("germeval.tsv", GERMEVAL), ("bio.txt", BIO_TEXT)]


def _conll_source(name: str, text: str | None) -> str:
    return text if text is not None else (CORPUS / name).read_text(encoding="utf-8")


@fuzz(60)
@given(src=st.sampled_from(CONLL_INPUTS), data=st.data(), in_bytes=st.booleans())
def test_conll_mutated(tmp_path_factory, src, data, in_bytes):
    name, text = src
    text = _conll_source(name, text)
    raw = data.draw(text_bytes(text.encode())) if in_bytes else data.draw(conll_text(text)).encode("utf-8", "replace")
    p = tmp_path_factory.mktemp("conll") / name
    p.write_bytes(raw)
    check_read(p, fmt=data.draw(st.sampled_from([None, "conll"])))


# ---------------------------------------------------------------------------
# doccano, flair, Prodigy JSONL

DOCCANO = [
    {"id": 1, "text": "Peter lives in Berlin.", "label": [[0, 5, "PER"], [15, 21, "LOC"]]},
    {"id": 2, "text": "Terrible service.", "label": ["negative"]},
]
DOCCANO_REL = [{"id": 7, "text": "Ann met Bob.", "entities": [{"id": 1, "start_offset": 0, "end_offset": 3,
                                                            "label": "PER"}],
                "relations": [{"id": 1, "from_id": 1, "to_id": 1, "type": "knows"}]}]
FLAIR = [{"data": "Peter lives in Berlin.", "label": [[0, 5, "PER"]]}]
PRODIGY = [
    {"text": "Apple buys a startup.", "_input_hash": 1, "_task_hash": 2, "answer": "accept",
     "tokens": [{"text": "Apple", "start": 0, "end": 5, "id": 0}], "spans": [{"start": 0, "end": 5, "label": "ORG"}]},
    {"text": "Nothing here.", "_input_hash": 3, "_task_hash": 4, "answer": "reject", "spans": []},
]
JSONL_SOURCES = [("doccano", DOCCANO), ("doccano relations", DOCCANO_REL), ("flair", FLAIR), ("prodigy", PRODIGY)]


@fuzz(40)
@given(src=st.sampled_from(JSONL_SOURCES), data=st.data(), in_bytes=st.booleans(), with_config=st.booleans())
def test_doccano_flair_prodigy_jsonl_mutated(tmp_path_factory, src, data, in_bytes, with_config):
    rows = src[1]
    if in_bytes:
        raw = data.draw(text_bytes(b"\n".join(as_bytes(r, True) for r in rows) + b"\n"))
    else:
        rows = data.draw(mutated(rows))
        rows = rows if isinstance(rows, list) else [rows]
        raw = b"\n".join(as_bytes(r, data.draw(st.booleans())) for r in rows) + b"\n"
    p = tmp_path_factory.mktemp("doccano") / "lines.jsonl"
    p.write_bytes(raw)
    check_read(p, config=config(EXAMPLES / "labeling.xml")
               if with_config else None)


# ---------------------------------------------------------------------------
# Hugging Face: a save_to_disk folder, a datasets-written Parquet file


@lru_cache(maxsize=None)
def _hf_dataset():
    feats = datasets.Features({
        "tokens": datasets.Sequence(datasets.Value("string")),
        "ner_tags": datasets.Sequence(datasets.ClassLabel(names=["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])),
        "label": datasets.ClassLabel(names=["negative", "positive"]),
        "text": datasets.Value("string"),
    })
    return datasets.Dataset.from_dict({
        "tokens": [["Peter", "lives", "in", "Berlin"], ["Bad"]], "ner_tags": [[1, 0, 0, 3], [0]],
        "label": [1, 0], "text": ["Peter lives in Berlin", "Bad"]}, features=feats)


@lru_cache(maxsize=None)
def _hf_saved(tmp: Path, dict_: bool) -> Path:
    out = tmp / ("dd" if dict_ else "ds")
    ds = _hf_dataset()
    (datasets.DatasetDict({"train": ds, "test": ds}) if dict_ else ds).save_to_disk(str(out))
    return out


def _is_json(f: Path) -> bool:
    try:
        return f.suffix == ".json" and json.loads(f.read_bytes()) is not None
    except ValueError:
        return False


@fuzz(40)
@given(data=st.data(), dict_=st.booleans())
def test_hf_save_to_disk_folders_mutated(tmp_path_factory, data, dict_):
    src = _hf_saved(tmp_path_factory.getbasetemp(), dict_)
    root = _copy(src, tmp_path_factory.mktemp("hf") / "ds")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for _ in range(data.draw(st.integers(1, 2))):
        f = data.draw(st.sampled_from(files))
        if not f.exists():
            continue
        op = data.draw(st.sampled_from(["json", "json", "bytes", "delete", "link out"]))
        if op == "json" and _is_json(f):
            f.write_bytes(as_bytes(data.draw(mutated(json.loads(f.read_bytes()))), data.draw(st.booleans())))
        elif op in ("bytes", "json"):
            f.write_bytes(data.draw(text_bytes(f.read_bytes())))
        elif op == "delete":
            f.unlink()
        elif op == "link out":
            outside = root.parent / ("out" + f.suffix)
            outside.write_bytes(f.read_bytes())
            f.unlink()
            f.symlink_to(outside)
    check_read(root, fmt=data.draw(st.sampled_from([None, "hf"])))


@lru_cache(maxsize=None)
def _hf_parquet(tmp: Path) -> bytes:
    p = tmp / "hf.parquet"
    _hf_dataset().to_parquet(str(p))
    return p.read_bytes()


@fuzz(25)
@given(data=st.data())
def test_hf_parquet_mutated(tmp_path_factory, data):
    raw = _hf_parquet(tmp_path_factory.getbasetemp())
    p = tmp_path_factory.mktemp("hfpq") / "train.parquet"
    if data.draw(st.booleans()):
        p.write_bytes(raw)
        table = pq.read_table(p)
        meta = dict(table.schema.metadata or {})
        info = json.loads(meta[b"huggingface"])
        meta[b"huggingface"] = as_bytes(data.draw(mutated(info)), data.draw(st.booleans()))
        if data.draw(st.booleans()):
            j = data.draw(st.integers(0, table.num_columns - 1))
            col = data.draw(st.sampled_from([pa.array([99, -1], pa.int64()), pa.array(["a", None]),
                                             pa.array([[5, 9], None], pa.list_(pa.int64())),
                                             pa.array([1.5, float("nan")])]))
            table = table.set_column(j, table.column_names[j], col)
        pq.write_table(table.replace_schema_metadata(meta), p)
    else:
        p.write_bytes(data.draw(flipped(raw)))
    check_read(p, fmt=data.draw(st.sampled_from([None, "hf"])))


# ---------------------------------------------------------------------------
# the CLI: a few of each kind, through `annover snapshot`


@pytest.fixture(scope="module")
def train_repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzztrain") / "repo"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOVER_REMOTE_HOME", str(tmp_path_factory.mktemp("remotes")))
        annover.init(root)
    return root


@fuzz(20)
@given(data=st.data(), kind=st.sampled_from(["coco", "voc", "conll", "doccano"]))
def test_snapshot_of_a_mutated_training_file_exits_documented_and_writes_nothing_when_it_refuses(
        train_repo, tmp_path_factory, monkeypatch, data, kind):
    base = tmp_path_factory.mktemp("cli")
    if kind == "coco":
        src = base / "coco.json"
        src.write_bytes(as_bytes(data.draw(coco_mutated(coco_doc(data.draw(st.sampled_from(COCO_SOURCES))))), True))
    elif kind == "voc":
        src = base / "a.xml"
        raw = _voc_files(data.draw(st.sampled_from(VOC_SOURCES)))[0].read_bytes()
        src.write_bytes(data.draw(text_bytes(raw)))
    elif kind == "conll":
        name, text = data.draw(st.sampled_from(CONLL_INPUTS))
        src = base / name
        src.write_bytes(data.draw(conll_text(_conll_source(name, text))).encode("utf-8", "replace"))
    else:
        src = base / "lines.jsonl"
        rows = data.draw(mutated(data.draw(st.sampled_from(JSONL_SOURCES))[1]))
        src.write_bytes(b"\n".join(as_bytes(r, True) for r in (rows if isinstance(rows, list) else [rows])))
    monkeypatch.chdir(train_repo)
    before = _state(train_repo)
    with CliRunner().isolation() as (out, err, _):
        code = run(["snapshot", "--from", str(src), "-m", "fuzz"])
        stderr = err.getvalue().decode()
    assert code != 1 and code in EXIT_CODES and "Traceback" not in stderr, stderr
    if code == 0:
        return
    assert code in INPUT_CODES, stderr
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("Error: "), stderr
    assert _state(train_repo) == before
