"""What a user brought in COCO or YOLO comes back: snapshot, then export to the same format, keeps
each field of the file, checked against the original as pycocotools (COCO) or a plain parse of
the label files and data.yaml (YOLO) reads it. The dataset's own fields (COCO's ``info``,
``licenses``, each category's ``supercategory``, ``keypoints``, ``skeleton``...; data.yaml's other
keys, ``kpt_shape: [K, 2]``) are kept in the version's labeling config; see docs/formats.md."""

from __future__ import annotations

import contextlib
import io
import json
import math
import uuid
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annover.formats import coco
from annover.formats.train import to_tables
from annover.formats.training import read_train, render_train
from annover.model.config import LabelingConfig

from .conftest import shared_corpus
from .ls_fixtures import cli, ls_server, sdk_admin  # noqa: F401 - fixtures
from .test_cli import invoke

CORPUS = shared_corpus("formats")
COCO_FILES = sorted(p.name for p in CORPUS.glob("coco_*.json"))
#: the YOLO folders and the format each is read and written as (the OBB folder's data.yaml names no task)
YOLO_FOLDERS = {"yolo_detect_lssdk": "yolo", "yolo_obb_datumaro": "yolo-obb", "yolo_pose_datumaro": "yolo",
                "yolo_segment_datumaro": "yolo"}


def _coco(path: Path):
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # it prints its progress
        return COCO(str(path))


def _close(a, b, tol: float = 1e-6) -> bool:
    """Equal, numbers within ``tol`` (pixels written with the fewest decimals that read back alike)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tol) for k in a)
    return a == b


def _round_trip(src: Path, fmt: str, out: Path) -> None:
    code, _, err = invoke("snapshot", "--from", str(src), "--format", fmt, "-m", src.name)
    assert code == 0, err
    code, _, err = invoke("export", "HEAD", "--format", fmt, "--out", str(out))
    assert code == 0, err


def _coco_differences(a, b) -> list[str]:
    """Every field of COCO ``a`` (pycocotools' reading) that ``b`` does not give back: the dataset's
    fields, each category's and image's (by id), each annotation's (per image, in order) but its
    ``id`` (renumbered 1..: docs/formats.md) and ``iscrowd`` read as the flag it means."""
    out = [f"{k}: {v!r:.80} -> {b.dataset.get(k)!r:.80}" for k, v in a.dataset.items()
           if k not in coco.OWN_LISTS and b.dataset.get(k) != v]
    out += [f"category {i}: {c} -> {b.cats.get(i)}" for i, c in a.cats.items() if b.cats.get(i) != c]
    out += [f"image {i}: {im} -> {b.imgs.get(i)}" for i, im in a.imgs.items() if b.imgs.get(i) != im]
    for i in a.imgs:
        mine, back = a.imgToAnns[i], b.imgToAnns[i]
        if len(mine) != len(back):
            out.append(f"image {i}: {len(mine)} annotations -> {len(back)}")
            continue
        for x, y in zip(mine, back):
            for f, v in x.items():
                same = coco.bool01(v) == y.get(f) if f == "iscrowd" else _close(v, y.get(f, "<none>"))
                if f != "id" and not same:
                    out.append(f"image {i}, annotation {x.get('id')}: {f} {v!r:.60} -> {y.get(f, '<none>')!r:.60}")
    return out


@pytest.mark.parametrize("name", COCO_FILES)
def test_coco_corpus_round_trip_keeps_every_field(repo, tmp_path, name):
    """Roboflow's file lost its info, licenses and supercategories; mmpose's (COCO val2017's) its
    info, licenses, supercategory and skeleton; datumaro's its info and licenses; COCO Annotator's
    its categories' color, metadata and keypoint_colors."""
    out = tmp_path / "back.json"
    _round_trip(CORPUS / name, "coco", out)
    assert _coco_differences(_coco(CORPUS / name), _coco(out)) == []


def _labels(root: Path) -> dict[str, list[list[float]]]:
    """Each label file (its path under the folder) as lines of numbers."""
    return {str(p.relative_to(root)): [[float(x) for x in line.split()] for line in p.read_text().splitlines()
                                       if line.strip()]
            for p in sorted(root.rglob("*.txt")) if "labels" in p.relative_to(root).parts}


def _classes(root: Path) -> tuple[list[str], dict]:
    """The class names (data.yaml's, else classes.txt's) and data.yaml as parsed."""
    doc = yaml.safe_load((root / "data.yaml").read_text()) if (root / "data.yaml").exists() else {}
    names = doc.get("names")
    if isinstance(names, dict):
        names = [names[i] for i in sorted(names)]
    return names or (root / "classes.txt").read_text().split(), doc


def _yolo_differences(src: Path, out: Path, tol: float) -> list[str]:
    """The label lines (numbers within ``tol``), class names, ``kpt_shape`` and ``flip_idx`` and the
    other keys of ``src``'s data.yaml (but ``path``, the folder of another machine) that ``out`` lacks."""
    a, b = _labels(src), _labels(out)
    diffs = [f"{k}: {a[k]} -> {b.get(k)}" for k in a if k not in b or not _close(a[k], b[k], tol)]
    (names_a, doc_a), (names_b, doc_b) = _classes(src), _classes(out)
    diffs += [f"classes {names_a} -> {names_b}"] if names_a != names_b else []
    return diffs + [f"data.yaml {k}: {v} -> {doc_b.get(k)}" for k, v in doc_a.items()
                    if k not in ("path", "names", "train", "val", "test") and doc_b.get(k) != v]


@pytest.mark.parametrize("name", sorted(YOLO_FOLDERS))
def test_yolo_corpus_round_trip_keeps_lines_and_classes(repo, tmp_path, name):
    """Lines within 1e-7 of the image (docs/formats.md's precision; an oriented box's corners, turned
    into a rotated box and back, within 1e-5), class ids and names, kpt_shape."""
    out = tmp_path / "back"
    _round_trip(CORPUS / name, YOLO_FOLDERS[name], out)
    tol = 1e-5 if YOLO_FOLDERS[name] == "yolo-obb" else 1e-7 + 1e-12
    assert _yolo_differences(CORPUS / name, out, tol) == []


def test_yolo_pose_of_two_numbers_a_keypoint_and_its_data_yaml_come_back(repo, tmp_path):
    """A pose folder of ``kpt_shape: [3, 2]`` (x, y a keypoint, as Ultralytics also reads) came back as
    [3, 3] with a visibility added to each keypoint, and data.yaml's own keys (Roboflow's block,
    ``channels``) were dropped."""
    src = tmp_path / "pose"
    (src / "labels" / "train").mkdir(parents=True)
    (src / "data.yaml").write_text("path: /elsewhere/pose\ntrain: images/train\nkpt_shape: [3, 2]\n"
                                   "flip_idx: [0, 2, 1]\nchannels: 3\nroboflow:\n  workspace: lab\n"
                                   "  license: CC BY 4.0\n  version: 2\nnames:\n  0: person\n  1: dog\n")
    (src / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.2 0.2 0.45 0.45 0.55 0.55 0 0\n"
                                                    "1 0.3 0.3 0.1 0.1 0.31 0.32 0.33 0.34 0.35 0.36\n")
    (src / "sizes.json").write_text(json.dumps({"images/train/a.jpg": {"width": 100, "height": 80}}))
    out = tmp_path / "back"
    _round_trip(src, "yolo", out)
    assert _yolo_differences(src, out, 1e-9) == []
    assert "path" not in _classes(out)[1]  # another machine's folder: Ultralytics takes data.yaml's own


def test_yolo_detect_data_yaml_keys_come_back(repo, tmp_path):
    """Plain boxes (written a column at a time) keep data.yaml's own keys too; ``download`` (a script
    Ultralytics runs where the images are missing) is not written back."""
    src = tmp_path / "detect"
    (src / "labels" / "train").mkdir(parents=True)
    (src / "data.yaml").write_text("train: images/train\nnc: 2\nchannels: 1\ndownload: bash get.sh\n"
                                   "roboflow:\n  project: doors\n  url: https://example.com/doors/2\n"
                                   "names: [door, bus]\n")
    (src / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n1 0.25 0.25 0.1 0.1\n")
    (src / "sizes.json").write_text(json.dumps({"images/train/a.jpg": {"width": 640, "height": 480}}))
    out = tmp_path / "back"
    _round_trip(src, "yolo", out)
    doc = _classes(out)[1]
    assert (doc.get("channels"), doc.get("roboflow"), "download" in doc) == (
        1, {"project": "doors", "url": "https://example.com/doors/2"}, False)
    assert _labels(src) == _labels(out) and _classes(out)[0] == ["door", "bus"]


_POLYGONS = ('<View{}>\n  <Image name="image" value="$image"/>\n  <PolygonLabels name="polygon" toName="image">\n'
             '    <Label value="Class_1"/>\n    <Label value="Class_2"/>\n  </PolygonLabels>\n</View>\n')


def test_a_config_given_without_the_files_fields_is_warned(repo, tmp_path):
    """With --config, the config's fields count (as for category ids): the snapshot says which of the
    file's own fields it does not keep, where before they were left out in silence."""
    cfg = tmp_path / "polygons.xml"
    cfg.write_text(_POLYGONS.format(""))
    code, _, err = invoke("snapshot", "--from", str(CORPUS / "coco_polygons_cocoannotator.json"), "--config",
                          str(cfg), "-m", "given")
    assert code == 0, err
    assert '<Label value="Class_1" coco=...>' in err and "does not keep what the file says" in err, err


def test_a_kept_attribute_that_is_no_json_object_is_exit_2_at_export(repo, tmp_path):
    """A config edited by hand (``coco="[1]"`` on its <View>): the export names the attribute, writes nothing."""
    cfg = tmp_path / "polygons.xml"
    cfg.write_text(_POLYGONS.format(' coco="[1]"'))
    code, _, err = invoke("snapshot", "--from", str(CORPUS / "coco_polygons_cocoannotator.json"), "--config",
                          str(cfg), "-m", "edited")
    assert code == 0, err
    out = tmp_path / "out.json"
    code, _, err = invoke("export", "HEAD", "--format", "coco", "--out", str(out))
    assert code == 2 and "<View coco=...> is '[1]', not a JSON object" in err and not out.exists(), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# ---------------------------------------------------------------------------
# property: a COCO file's own fields, generated


_TEXT = st.text(max_size=8)
_VALUE = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), _TEXT),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(_TEXT, inner, max_size=3)), max_leaves=6)
_KP = ["nose", "left_eye", "right_eye", "tail"]


@st.composite
def _coco_files(draw) -> dict:
    """COCO files with fields of their own: top-level (``info``, ``licenses``, others), per category
    (``supercategory``, a tool's extras, ``keypoints`` and ``skeleton``), per image (``license``,
    ``coco_url``, ``date_captured``...); boxes, polygons and keypoints."""
    n = draw(st.integers(1, 4))
    ids = draw(st.lists(st.integers(0, 500), min_size=n, max_size=n, unique=True))
    cats = []
    for k, i in enumerate(ids):
        c = {"id": i, "name": f"c{k}", "supercategory": draw(_TEXT)}
        c.update(draw(st.dictionaries(st.sampled_from(["color", "metadata", "keypoint_colors"]), _VALUE, max_size=2)))
        if draw(st.booleans()):  # a category of keypoints, its own names (others' in part) and skeleton
            c["keypoints"] = draw(st.permutations(_KP))[:draw(st.integers(2, 4))]
            m = len(c["keypoints"])
            c["skeleton"] = draw(st.lists(st.lists(st.integers(1, m), min_size=2, max_size=2), max_size=4))
        cats.append(c)
    images = []
    for i in draw(st.lists(st.integers(1, 10**6), min_size=1, max_size=3, unique=True)):
        im = {"id": i, "file_name": f"im{i}.jpg", "width": 100, "height": 80}
        im.update(draw(st.dictionaries(st.sampled_from(["license", "coco_url", "flickr_url", "date_captured"]),
                                       _VALUE, max_size=4)))
        images.append(im)
    anns = []
    for _ in range(draw(st.integers(1, 6))):
        c, im = draw(st.sampled_from(cats)), draw(st.sampled_from(images))
        x = draw(st.integers(0, 2))  # two equal objects now and then (each keeps its own keypoints)
        a = {"id": len(anns) + 1, "image_id": im["id"], "category_id": c["id"], "bbox": [x, 10, 20, 30],
             "area": 600, "iscrowd": 0, "segmentation": []}
        if draw(st.booleans()):  # a polygon: the general writer; plain boxes take the column-at-a-time one
            a["segmentation"] = [[x, 10, x + 20, 10, x + 20, 40, x, 40]]
        if "keypoints" in c:
            vis = draw(st.lists(st.sampled_from([0, 1, 2]), min_size=len(c["keypoints"]),
                                max_size=len(c["keypoints"])))
            a["keypoints"] = [v for j, f in enumerate(vis) for v in ((12 + j, 15 + j, f) if f else (0, 0, 0))]
            a["num_keypoints"] = sum(1 for f in vis if f)
        anns.append(a)
    own = draw(st.dictionaries(st.sampled_from(["info", "licenses", "type", "x_tool"]), _VALUE, max_size=4))
    return {**own, "images": images, "annotations": anns, "categories": cats}


@pytest.mark.parametrize("segmentation", [[], [[10, 10, 30, 10, 30, 40, 10, 40]]])
def test_two_equal_objects_keep_their_own_keypoints(tmp_path, segmentation):
    """Two persons of one box (or polygon) in one image, each with its keypoints: both readers gave
    their keypoints one parent id, so the export wrote both sets on the first person (the later
    replacing the earlier) and none on the second."""
    doc = {"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}],
           "categories": [{"id": 1, "name": "person", "supercategory": "person", "keypoints": ["nose", "tail"],
                           "skeleton": [[1, 2]]}],
           "annotations": [{"id": i, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 30], "area": 600,
                            "iscrowd": 0, "segmentation": segmentation, "keypoints": kps, "num_keypoints": 2}
                           for i, kps in ((1, [12, 15, 2, 20, 30, 2]), (2, [14, 16, 2, 25, 35, 1]))]}
    src = tmp_path / "in.json"
    src.write_text(json.dumps(doc))
    for t, text in ((read_train(src, "coco", None, True), None), to_tables(coco.read(src), str(src), "coco", None,
                                                                           True)):
        out = json.loads(render_train("coco", {"tasks": t.tasks, "annotations": t.annotations,
                                               "predictions": t.predictions}, t.config_text or text).data)
        assert sorted(a["keypoints"] for a in out["annotations"]) == [[12, 15, 2, 20, 30, 2], [14, 16, 2, 25, 35, 1]]


def test_two_equal_yolo_pose_boxes_keep_their_own_keypoints(repo, tmp_path):
    """The same in a YOLO pose file: two lines of one box and other keypoints."""
    src = tmp_path / "pose"
    (src / "labels").mkdir(parents=True)
    (src / "data.yaml").write_text("kpt_shape: [2, 3]\nnames: [person]\n")
    (src / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2 0.45 0.45 2 0.55 0.55 2\n"
                                          "0 0.5 0.5 0.2 0.2 0.41 0.42 2 0.52 0.53 1\n")
    out = tmp_path / "back"
    _round_trip(src, "yolo", out)
    assert sorted(_labels(src)["labels/a.txt"]) == sorted(_labels(out)["labels/a.txt"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=_coco_files())
def test_property_coco_own_fields_survive_coco_version_coco(doc, tmp_path):
    """The file's top-level fields but its lists, each category's fields and each image's fields come
    back equal, through the column-at-a-time reader and the general one, and either writer."""
    src = tmp_path / "in.json"
    src.write_text(json.dumps(doc))
    for t, text in ((read_train(src, "coco", None, True), None), to_tables(coco.read(src), str(src), "coco", None,
                                                                           True)):
        out = tmp_path / "out.json"
        out.write_bytes(render_train("coco", {"tasks": t.tasks, "annotations": t.annotations,
                                              "predictions": t.predictions}, t.config_text or text).data)
        a, b = _coco(src), _coco(out)
        assert {k: b.dataset.get(k) for k in doc if k not in coco.OWN_LISTS} == \
               {k: v for k, v in doc.items() if k not in coco.OWN_LISTS}
        assert b.cats == a.cats
        assert b.imgs == a.imgs
        for i in a.imgs:  # the keypoints each annotation holds, in its category's own order
            assert [x.get("keypoints") for x in b.imgToAnns[i]] == [x.get("keypoints") for x in a.imgToAnns[i]]


# ---------------------------------------------------------------------------
# through Label Studio: the config carries the file's fields


@pytest.mark.labelstudio
def test_coco_fields_survive_a_round_through_label_studio(ls_server, sdk_admin, repo, tmp_path):  # noqa: F811
    """COCO val2017's person file, pushed to a new project with its version's config and pulled
    back (the labels as they went): the pull is v1 again, config and labels (no version made; a pull
    made v2 when the push gave the answers to the API key's user), and the COCO export still has the
    file's info, licenses, supercategory, keypoint names and skeleton, which Label Studio kept in the
    config's attributes."""
    name = "coco_person_keypoints_mmpose.json"
    code, _, err = cli("snapshot", "--from", str(CORPUS / name), "-m", "file")
    assert code == 0, err
    title = f"t-{uuid.uuid4().hex[:8]}-coco-fields"
    code, out, err = cli("dataset", "create", title, "--config", "v1")
    assert code == 0, err
    pid = int(out.split()[0])
    try:
        code, _, err = cli("dataset", "push", title, "--from", "v1", "--annotations")
        assert code == 0, err
        v1 = repo.head()
        code, _, err = cli("snapshot", "--label-studio", title, "-m", "round")
        assert code == 0 and repo.head() == v1 and "nothing changed" in err, err
        out_json = tmp_path / "v2.json"
        code, _, err = cli("export", "HEAD", "--format", "coco", "--out", str(out_json))
        assert code == 0, err
        server = LabelingConfig(sdk_admin.projects.get(id=pid).label_config, validate=False)
    finally:
        sdk_admin.projects.delete(id=pid)
    a, b = _coco(CORPUS / name), _coco(out_json)
    assert json.loads(server.view_attribute("coco") or "{}")["info"] == a.dataset["info"]  # the server kept it
    assert {k: b.dataset.get(k) for k in ("info", "licenses")} == {k: a.dataset[k] for k in ("info", "licenses")}
    assert b.cats == a.cats
