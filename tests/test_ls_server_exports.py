"""What Label Studio's own Export button writes, snapshotted as a user would.

Projects are built on the real server from the shared corpus (tasks imported with their
annotations), each export type the server offers is downloaded (zips unzipped), and
`annover snapshot --from` reads it. What annover recorded is compared with what the file
holds, read here from the raw file, and with the project's JSON export where the format
carries the same thing.
"""

from __future__ import annotations

import csv
import io
import json
import os
import posixpath
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest
import requests

import annover
from annover.formats.read import read_source
from .conftest import shared_corpus
from .ls_fixtures import cli, ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio
CORPUS = shared_corpus("label-studio")
#: one project per kind: boxes (several annotators; uploads), boxes on an image named by a
#: plain path (exported under a URL-hash prefix), NER spans, a classification
PROJECTS = ("evalme_bbox_multi", "sdk_coco_mixed", "ner_predictions_nerine", "fe_sentiment_two_annotators")
corpus = pytest.mark.skipif(not all((CORPUS / f"{n}.json").is_file() for n in PROJECTS),
                            reason=f"the shared corpus is not here ({CORPUS})")


def _imported(task: dict) -> dict:
    """A corpus task as the import API takes it, with its annotations."""
    return {"data": task["data"], "annotations": [
        {"result": a["result"], "was_cancelled": a.get("was_cancelled", False),
         "ground_truth": a.get("ground_truth", False)} for a in task.get("annotations") or []]}


def _download(server, pid: int, kind: str, into: Path) -> Path:
    """The export ``kind`` as the Export button gives it: the file, or the zip unzipped into a folder."""
    r = requests.get(f"{server.url}/api/projects/{pid}/export",
                     params={"exportType": kind, "download_all_tasks": "true"},
                     headers={"Authorization": f"Token {server.api_key}"}, timeout=120)
    r.raise_for_status()
    name = r.headers["content-disposition"].split("filename=")[-1].strip('"')
    if name.endswith(".zip"):
        folder = into / kind
        zipfile.ZipFile(io.BytesIO(r.content)).extractall(folder)
        return folder
    (into / kind).mkdir()
    (into / kind / name).write_bytes(r.content)
    return into / kind / name


@pytest.fixture(scope="module")
def exports(ls_server, project_factory, tmp_path_factory) -> dict[str, dict[str, Path]]:
    """{project: {export type: downloaded path}} for every type the server offers each project."""
    out: dict[str, dict[str, Path]] = {}
    headers = {"Authorization": f"Token {ls_server.api_key}"}
    for name in PROJECTS:
        p = project_factory(name, (CORPUS / f"{name}.xml").read_text())
        tasks = json.loads((CORPUS / f"{name}.json").read_text())
        r = requests.post(f"{ls_server.url}/api/projects/{p.id}/import", json=[_imported(t) for t in tasks],
                          headers=headers, timeout=120)
        r.raise_for_status()
        offered = requests.get(f"{ls_server.url}/api/projects/{p.id}/export/formats", headers=headers,
                               timeout=60).json()
        into = tmp_path_factory.mktemp(name)
        out[name] = {f["name"]: _download(ls_server, p.id, f["name"], into) for f in offered
                     if not f.get("disabled") and not f["name"].endswith("_WITH_IMAGES")}
    return out


@pytest.fixture(scope="module")
def snap(tmp_path_factory) -> Iterator:
    """snap(project, path, *args) -> (exit code, stderr, tables of HEAD): `annover snapshot --from path`
    in the project's own repository (so HEAD's config is that project's)."""
    here, repos = Path.cwd(), {}

    def snapshot(project: str, path: Path, *args: str) -> tuple[int, str, dict]:
        if project not in repos:
            repos[project] = tmp_path_factory.mktemp("repo") / project
            annover.init(repos[project])
        os.chdir(repos[project])
        code, _, err = cli("snapshot", "--from", str(path), "-q", *args)
        tables = {t: annover.load("HEAD", t).to_pylist() for t in ("tasks", "annotations")} if code == 0 else {}
        return code, err, tables

    try:
        yield snapshot
    finally:
        os.chdir(here)


def _config(project: str) -> str:
    return str(CORPUS / f"{project}.xml")


def _json_tables(snap, exports, project: str, *args: str) -> dict:
    code, err, tables = snap(project, exports[project]["JSON"], "--config", _config(project), *args)
    assert code == 0, err
    return tables


def _boxes(rows: list[dict], key_of=lambda r: r["task_key"]) -> list[tuple]:
    """(task, label, x, y, width, height) of each rectangle row, sorted."""
    out = []
    for r in rows:
        if r["type"] == "rectanglelabels":
            v = json.loads(r["value"])
            out.append((key_of(r), r["labels"][0], v["x"], v["y"], v["width"], v["height"]))
    return sorted(out, key=lambda b: (b[0], b[1], round(b[2]), round(b[3]), round(b[4])))


def _same_boxes(got: list[tuple], want: list[tuple], tol: float = 0.02) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[:2] == w[:2] and g[2:] == pytest.approx(w[2:], abs=tol), (g, w)


def _stem(name: str) -> str:
    return posixpath.splitext(posixpath.basename(name))[0]


def _keyed_data(tables: dict) -> list[tuple[str, str]]:
    return [(t["task_key"], t["data"]) for t in tables["tasks"]]


def _data_of(tables: dict) -> dict[str, dict]:
    return {t["task_key"]: json.loads(t["data"]) for t in tables["tasks"]}


# -- CSV / TSV / JSON-MIN ------------------------------------------------------------------


@corpus
def test_the_tsv_export_named_csv_snapshots_as_the_json_does(exports, snap):
    """The server's TSV download is named ``project-N-at-....csv``: it was read as a comma-separated
    file and refused ("line 2 has 3 values, the header 1 columns")."""
    project = "fe_sentiment_two_annotators"
    tsv = exports[project]["TSV"]
    assert tsv.suffix == ".csv" and "\t" in tsv.read_text().splitlines()[0]
    raw = list(csv.DictReader(io.StringIO(tsv.read_text()), delimiter="\t"))
    want = Counter((r["reviewText"], r["sentiment"]) for r in raw if r["sentiment"])
    code, err, tables = snap(project, tsv, "--config", _config(project))
    assert code == 0, err
    data = _data_of(tables)
    got = Counter((data[r["task_key"]]["reviewText"], r["labels"][0]) for r in tables["annotations"])
    assert got == want and sum(want.values()) == 4
    from_json = _json_tables(snap, exports, project)
    assert _keyed_data(tables) == _keyed_data(from_json)
    drop = ("region_key", "ls_annotation_id", "created_at", "updated_at", "ls_original", "lead_time", "position")
    same = [{k: v for k, v in r.items() if k not in drop} for r in from_json["annotations"]]
    assert [{k: v for k, v in r.items() if k not in drop} for r in tables["annotations"]] == same


@corpus
@pytest.mark.parametrize("kind", ["JSON_MIN", "CSV"])
def test_json_min_and_csv_give_the_json_exports_tasks_and_labels(exports, snap, kind):
    for project in ("ner_predictions_nerine", "evalme_bbox_multi"):
        code, err, tables = snap(project, exports[project][kind], "--config", _config(project))
        assert code == 0, err
        from_json = _json_tables(snap, exports, project)
        assert _keyed_data(tables) == _keyed_data(from_json)
        labels = [(r["task_key"], r["annotator"], r["value"]) for r in from_json["annotations"]]
        assert sorted((r["task_key"], r["annotator"], r["value"]) for r in tables["annotations"]) == sorted(labels)


# -- COCO ----------------------------------------------------------------------------------


def _coco_boxes(doc: dict) -> list[tuple]:
    """(image stem, label, x, y, w, h in percent) of each bbox annotation of a COCO file, read directly."""
    ims, cats = {i["id"]: i for i in doc["images"]}, {c["id"]: c["name"] for c in doc["categories"]}
    out = []
    for a in doc["annotations"]:
        if "bbox" in a and not a.get("segmentation") and "keypoints" not in a:
            im = ims[a["image_id"]]
            x, y, w, h = a["bbox"]
            out.append((_stem(im["file_name"]), cats[a["category_id"]], 100 * x / im["width"], 100 * y / im["height"],
                        100 * w / im["width"], 100 * h / im["height"]))
    return sorted(out, key=lambda b: (b[0], b[1], round(b[2]), round(b[3]), round(b[4])))


@corpus
def test_the_coco_export_folder_of_several_annotators_snapshots(exports, snap):
    """The unzipped COCO export (``result.json`` and ``images/``) was "not a training-format folder";
    its ``result.json`` was refused as duplicate tasks: Label Studio writes one image record per
    annotation, so an image three people labeled is three records of one file name."""
    project = "evalme_bbox_multi"
    folder = exports[project]["COCO"]
    doc = json.loads((folder / "result.json").read_text())
    per_image = Counter(_stem(i["file_name"]) for i in doc["images"])
    assert set(per_image.values()) == {3}
    code, err, tables = snap(project, folder)
    assert code == 0, err
    _same_boxes(_boxes(tables["annotations"]), _coco_boxes(doc))
    answers = Counter(k for k, _ in {(r["task_key"], r["annotation_key"]) for r in tables["annotations"]})
    assert answers == per_image
    from_json = _json_tables(snap, exports, project, "--key", "stem:data.image")
    _same_boxes(_boxes(tables["annotations"]), _boxes(from_json["annotations"]), tol=0.5)  # COCO: whole pixels
    alone = read_source(folder)  # no config: COCO's column reader, which leaves image records of one name to this one
    _same_boxes(_boxes(alone.annotations.to_pylist()), _coco_boxes(doc))


@corpus
@pytest.mark.parametrize("kind", ["COCO", "YOLO", "VOC"])
def test_an_image_exported_under_a_url_hash_is_keyed_by_its_own_name(exports, snap, kind):
    """Label Studio names an image that is not an upload ``<md5 of its URL, 8 hex>__<name>``; its
    COCO / YOLO / VOC tasks were keyed ``235b37ac__test_image1``, not as the JSON's image is."""
    project = "sdk_coco_mixed"
    from_json = _json_tables(snap, exports, project, "--key", "stem:data.image")
    images = [json.loads(t["data"])["image"] for t in from_json["tasks"]]
    folder = exports[project][kind]
    written = sorted(p.name for p in folder.rglob("*") if p.is_file() and p.suffix in (".txt", ".xml")) \
        or [i["file_name"] for i in json.loads((exports[project][kind] / "result.json").read_text())["images"]]
    assert all("__" in _stem(w) for w in written if _stem(w) != "classes"), written
    # COCO gives the keypoints' own box a category 'default' that HEAD's config has not: warned about
    code, err, tables = snap(project, exports[project][kind], *(["--validate", "warn"] if kind == "COCO" else []))
    assert code == 0, err
    assert [t["task_key"] for t in tables["tasks"]] == sorted(_stem(i) for i in images)
    assert [t["task_key"] for t in tables["tasks"]] == [t["task_key"] for t in from_json["tasks"]]
    assert read_source(exports[project][kind]).tasks.column("task_key").to_pylist() == sorted(_stem(i) for i in images)
    # the one rectangle: YOLO's line is a box and two keypoints (notes.json names them), not a 5-point polygon;
    # COCO also has the keypoints' own box, of a category 'default' that Label Studio writes for them
    boxes = [b for b in _boxes(tables["annotations"]) if not (kind == "COCO" and b[1] == "default")]
    _same_boxes(boxes, _boxes(from_json["annotations"]), tol=0.5)


# -- YOLO / VOC ----------------------------------------------------------------------------


def _yolo_boxes(folder: Path, corners: bool = False) -> list[tuple]:
    names = (folder / "classes.txt").read_text().split("\n")
    out = []
    for f in (folder / "labels").glob("*.txt"):
        for line in f.read_text().splitlines():
            c, *n = line.split()
            if corners:
                xs, ys = n[0::2], n[1::2]
                x0, y0 = min(map(float, xs)), min(map(float, ys))
                x, y, w, h = x0, y0, max(map(float, xs)) - x0, max(map(float, ys)) - y0
            else:
                cx, cy, w, h = map(float, n)
                x, y = cx - w / 2, cy - h / 2
            out.append((f.stem, names[int(c)], 100 * x, 100 * y, 100 * w, 100 * h))
    return sorted(out, key=lambda b: (b[0], b[1], round(b[2]), round(b[3]), round(b[4])))


def _voc_boxes(folder: Path) -> list[tuple]:
    out = []
    for f in (folder / "Annotations").glob("*.xml"):
        root = ET.parse(f).getroot()
        w, h = (int(root.findtext(f"size/{s}")) for s in ("width", "height"))
        for o in root.iter("object"):
            b = {k: float(o.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")}
            out.append((_stem(root.findtext("filename")), o.findtext("name"), 100 * b["xmin"] / w, 100 * b["ymin"] / h,
                        100 * (b["xmax"] - b["xmin"]) / w, 100 * (b["ymax"] - b["ymin"]) / h))
    return sorted(out, key=lambda b: (b[0], b[1], round(b[2]), round(b[3]), round(b[4])))


@corpus
@pytest.mark.parametrize("kind", ["YOLO", "VOC", "YOLO_OBB"])
def test_yolo_and_voc_exports_hold_one_answer_per_image(exports, snap, kind):
    """YOLO and VOC keep one file per image: of several annotators' answers, one (the last written)
    is in the export; each box of it is one of the JSON's. YOLO OBB's 4-corner lines are asked
    about (polygon or oriented box) and read with ``--format yolo-obb``."""
    project = "evalme_bbox_multi"
    folder = exports[project][kind]
    args: tuple[str, ...] = ()
    if kind == "YOLO_OBB":
        code, err, _ = snap(project, folder)
        assert code != 0 and "--format yolo-obb" in err and len(err.strip().splitlines()) == 1, err
        args = ("--format", "yolo-obb")
    code, err, tables = snap(project, folder, *args)
    assert code == 0, err
    raw = _voc_boxes(folder) if kind == "VOC" else _yolo_boxes(folder, corners=kind == "YOLO_OBB")
    _same_boxes(_boxes(tables["annotations"]), raw, tol=0.01 if kind != "VOC" else 0.5)
    assert {r["annotation_key"] for r in tables["annotations"]} == {"-#0"}
    if kind == "YOLO_OBB":  # upright corners read as the same boxes, to the digit, as the YOLO export's lines
        yolo = read_source(exports[project]["YOLO"]).annotations.column("value").to_pylist()
        assert sorted(r["value"] for r in tables["annotations"]) == sorted(yolo)
    from_json = _json_tables(snap, exports, project, "--key", "stem:data.image")
    json_boxes = _boxes(from_json["annotations"])
    for b in _boxes(tables["annotations"]):
        assert any(j[:2] == b[:2] and j[2:] == pytest.approx(b[2:], abs=0.5) for j in json_boxes), b


# -- CoNLL 2003 ----------------------------------------------------------------------------


def _conll_spans(text: str) -> Counter:
    """(span text, label) of each B-/I- run of a CoNLL 2003 file (``token -X- _ tag``), read directly."""
    spans: Counter = Counter()
    current: list[str] = []
    label = None
    for line in [*text.splitlines(), ""]:
        cols = line.split()
        tag = cols[-1] if cols and cols[0] != "-DOCSTART-" else "O"
        if current and not tag.startswith("I-"):
            spans[(" ".join(current), label)] += 1
            current = []
        if tag.startswith("B-") or tag.startswith("I-") and not current:
            current, label = [cols[0]], tag[2:]
        elif tag.startswith("I-"):
            current.append(cols[0])
    return spans


@corpus
def test_the_conll2003_export_gives_the_spans_it_holds(exports, snap):
    project = "ner_predictions_nerine"
    f = exports[project]["CONLL2003"]
    assert "-X- _" in f.read_text()
    code, err, tables = snap(project, f)
    assert code == 0, err
    data = _data_of(tables)
    got = Counter()
    for r in tables["annotations"]:
        v = json.loads(r["value"])
        got[(data[r["task_key"]]["text"][v["start"]:v["end"]], r["labels"][0])] += 1
    assert got == _conll_spans(f.read_text())
    from_json = _json_tables(snap, exports, project)
    assert Counter(r["labels"][0] for r in tables["annotations"]) == \
        Counter(r["labels"][0] for r in from_json["annotations"])
