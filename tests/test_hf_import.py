"""``annover snapshot --from DIR`` of a Hugging Face ``datasets`` folder (``save_to_disk``): annover's own
``export --format hf`` read back to the same annotations snapshot, and datasets laid out as the hub's
(text and image classification, multi-label, token classification, object detection), written here with
the ``datasets`` library. Expected labels are computed from the rows each test writes.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import datasets
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import annover
from annover.formats.hf import save, to_dataset
from annover.formats.label_studio import from_ls_tasks
from annover.formats.read import read_source
from annover.formats.resolve import pick
from annover.formats.train import region_id
from annover.formats.training import read_train
from annover.model.canonical import content_id
from annover.model.config import LabelingConfig

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("formats")


def _show(rev: str) -> dict:
    code, out, err = invoke("show", rev, "--json")
    assert code == 0, err
    return json.loads(out)


def _annotations_id(rev: str) -> str:
    return _show(rev)["tables"]["annotations"]["id"]


def _ok(*args: str) -> str:
    code, _, err = invoke(*args)
    assert code == 0, err
    return err


def _rows(rev: str, table: str = "annotations") -> list[dict]:
    return annover.load(rev, table=table).to_pylist()


# ---------------------------------------------------------------------------
# annover's own export, read back


#: corpus samples whose labels the HF columns hold whole (the export notes nothing left out of a region)
WHOLE = [("yolo_pose_datumaro", ()), ("yolo_detect_lssdk", ()), ("yolo_segment_datumaro", ()),
         ("yolo_obb_datumaro", ("--format", "yolo-obb")), ("coco_chess_roboflow.json", ()),
         ("conll_spacy_ontonotes.conll", ()), ("conll_flair_fashion.conll", ())]


@pytest.mark.parametrize("name,fmt", WHOLE)
def test_export_then_snapshot_gives_the_same_annotations_snapshot(repo, tmp_path, name, fmt):
    _ok("snapshot", "--from", str(CORPUS / name), *fmt, "-m", "from the corpus")
    before = _annotations_id("HEAD")
    _ok("export", "HEAD", "--format", "hf", "--out", str(tmp_path / "hf"))
    # without a config: the one made from the columns names the controls and objects as the readers did
    back = read_train(tmp_path / "hf", "hf", None, True)
    assert content_id(back.annotations, "annotations") == before
    rule = _show("HEAD")["origin"]["reading"]["key"]
    err = _ok("snapshot", "--from", str(tmp_path / "hf"), "-m", "back from hf")  # found without --format
    assert _annotations_id("HEAD") == before, err
    assert "nothing changed since HEAD" in err or _show("HEAD")["origin"]["format"] == "hf"
    # the rows are keyed as the version was (task_key): read with its rule, which the next snapshot keeps
    assert "changed scheme" not in err and _show("HEAD")["origin"]["reading"]["key"] == rule


#: corpus samples whose regions hold what the HF columns have no place for: the export says so
PARTLY = ["voc_bccd", "coco_polygons_cocoannotator.json", "coco_instances_rle_datumaro.json"]


@pytest.mark.parametrize("name", PARTLY)
def test_what_the_export_left_out_is_said_and_the_labels_come_back(repo, tmp_path, name):
    _ok("snapshot", "--from", str(CORPUS / name), "-m", "from the corpus")
    err = _ok("export", "HEAD", "--format", "hf", "--out", str(tmp_path / "hf"))
    assert "no place for" in err
    _ok("snapshot", "--from", str(tmp_path / "hf"), "--format", "hf", "-m", "back")

    def labels(rev: str) -> list:
        return sorted((r["task_key"], r["from_name"], r["type"], r["labels"]) for r in _rows(rev))
    assert labels("HEAD") == labels("HEAD~1")


_IMAGE_CFG = ('<View><Image name="image" value="$image"/>'
              '<RectangleLabels name="box" toName="image"><Label value="cat"/><Label value="dog"/></RectangleLabels>'
              '<PolygonLabels name="poly" toName="image"><Label value="cat"/><Label value="road"/></PolygonLabels>'
              '<KeyPointLabels name="kp" toName="image"><Label value="nose"/><Label value="tail"/></KeyPointLabels>'
              '<Choices name="tags" toName="image" choice="multiple"><Choice value="day"/><Choice value="night"/>'
              '</Choices></View>')
_TEXT_CFG = ('<View><Text name="text" value="$text"/>'
             '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>'
             '<Labels name="ner" toName="text"><Label value="PER"/><Label value="LOC"/></Labels>'
             '<TextArea name="note" toName="text"/><Number name="score" toName="text"/></View>')


def _pct():
    return st.integers(0, 9_000_000).map(lambda n: n / 100_000)


@st.composite
def _image_result(draw) -> list[dict]:
    size = {"original_width": draw(st.integers(8, 4000)), "original_height": draw(st.integers(8, 4000)),
            "image_rotation": 0}
    out: list[dict] = []
    for _ in range(draw(st.integers(0, 3))):
        box = {"from_name": "box", "to_name": "image", "type": "rectanglelabels", **size,
               "value": {"x": draw(_pct()), "y": draw(_pct()), "width": draw(_pct()), "height": draw(_pct()),
                         "rotation": draw(st.sampled_from([0, 0, 12.5])),
                         "rectanglelabels": [draw(st.sampled_from(["cat", "dog"]))]}}
        out.append(box)
        if draw(st.booleans()):  # keypoints of that box, linked as the COCO and YOLO readers link them
            box["id"] = region_id(box)
            for name in draw(st.lists(st.sampled_from(["nose", "tail"]), min_size=1, max_size=2, unique=True)):
                kp = {"from_name": "kp", "to_name": "image", "type": "keypointlabels", "parentID": box["id"],
                      **size, "value": {"x": draw(_pct()), "y": draw(_pct()), "keypointlabels": [name]}}
                if draw(st.booleans()):
                    kp["visibility"] = 1
                out.append(kp)
    for _ in range(draw(st.integers(0, 2))):
        pts = draw(st.lists(st.tuples(_pct(), _pct()), min_size=3, max_size=6, unique=True))
        out.append({"from_name": "poly", "to_name": "image", "type": "polygonlabels", **size,
                    "value": {"points": [list(p) for p in pts], "closed": True,
                              "polygonlabels": [draw(st.sampled_from(["cat", "road"]))]}})
    tags = draw(st.lists(st.sampled_from(["day", "night"]), max_size=2, unique=True))
    if tags:
        out.append({"from_name": "tags", "to_name": "image", "type": "choices", "value": {"choices": tags}})
    return out


_WORDS = st.lists(st.sampled_from(["Ada", "went", "to", "Paris", "and", "Rome", "é"]), min_size=1, max_size=8)


@st.composite
def _text_task(draw) -> tuple[str, list[dict]]:
    words = draw(_WORDS)
    text = " ".join(words)
    out: list[dict] = []
    pos = 0
    for w in words:  # a span on some words, as Label Studio writes one
        if draw(st.integers(0, 3)) == 0:
            out.append({"from_name": "ner", "to_name": "text", "type": "labels",
                        "value": {"start": pos, "end": pos + len(w), "text": w,
                                  "labels": [draw(st.sampled_from(["PER", "LOC"]))]}})
        pos += len(w) + 1
    if draw(st.booleans()):
        out.append({"from_name": "sentiment", "to_name": "text", "type": "choices",
                    "value": {"choices": [draw(st.sampled_from(["pos", "neg"]))]}})
    notes = draw(st.lists(st.sampled_from(["ok", "check again", "ünïcode"]), max_size=2))
    if notes:
        out.append({"from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": notes}})
    if draw(st.booleans()):
        out.append({"from_name": "score", "to_name": "text", "type": "number",
                    "value": {"number": draw(st.sampled_from([0, 3, 2.5, -1]))}})
    return text, out


@st.composite
def _versions(draw) -> tuple[str, list[dict]]:
    """Label Studio tasks of one answer each (no annotator, as a training format gives them), an
    answer of no region among them, and the config they were labeled with."""
    image = draw(st.booleans())
    tasks = []
    for i in range(draw(st.integers(1, 5))):
        if image:
            data, result = {"image": f"images/im{i}.jpg"}, draw(_image_result())
        else:
            text, result = draw(_text_task())
            data = {"text": f"{i}: {text}"}
            result = [{**r, "value": {**r["value"], "start": r["value"]["start"] + len(f"{i}: "),
                                      "end": r["value"]["end"] + len(f"{i}: ")}} if r["type"] == "labels" else r
                      for r in result]
        tasks.append({"id": f"t{i}", "data": data, "annotations": [{"result": result}]})
    return (_IMAGE_CFG if image else _TEXT_CFG), tasks


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(version=_versions())
def test_property_own_export_reads_back_to_the_same_annotations(version):
    """Boxes (rotated or not) with their keypoints, polygons, choices, spans, text areas and numbers:
    written as the HF export writes them, read back with the version's config to the same snapshot."""
    cfg_text, tasks = version
    t = from_ls_tasks(tasks, "generated", key="id")
    tables = {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}
    cfg = LabelingConfig(cfg_text, validate=False)
    with tempfile.TemporaryDirectory(prefix="annover-test-") as folder:
        save(to_dataset(pick(tables), cfg, []), folder)
        back = read_train(Path(folder), "hf", cfg, True)
    assert content_id(back.annotations, "annotations") == content_id(t.annotations, "annotations")
    assert back.tasks.column("task_key").to_pylist() == t.tasks.column("task_key").to_pylist()


def test_an_arrow_file_of_the_dataset_reads_as_its_folder(repo, tmp_path):
    """One ``.arrow`` file (a save_to_disk shard): its features come from the schema's metadata."""
    _ok("snapshot", "--from", str(CORPUS / "yolo_pose_datumaro"), "-m", "pose")
    _ok("export", "HEAD", "--format", "hf", "--out", str(tmp_path / "hf"))
    (shard,) = (tmp_path / "hf").glob("**/*.arrow")  # in train/: the sample has a train split
    before = _annotations_id("HEAD")
    assert content_id(read_source(shard).annotations, "annotations") == before
    (tmp_path / "bad.arrow").write_bytes(b"not arrow")
    _one_line_exit_3("snapshot", "--from", str(tmp_path / "bad.arrow"), "-m", "bad")


def test_own_export_with_its_splits(repo, tmp_path):
    """A DatasetDict of annover's own export (split by the user): each row's split in data.split,
    ``validation`` as ``val`` (the YOLO reader's name)."""
    _ok("snapshot", "--from", str(CORPUS / "yolo_detect_lssdk"), "-m", "boxes")
    _ok("export", "HEAD", "--format", "hf", "--out", str(tmp_path / "hf"))
    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    half = len(ds) // 2
    parts = datasets.DatasetDict({"train": ds.select(range(half)), "validation": ds.select(range(half, len(ds)))})
    parts.save_to_disk(str(tmp_path / "split"))
    before = _annotations_id("HEAD")
    _ok("snapshot", "--from", str(tmp_path / "split"), "-m", "split")
    assert _annotations_id("HEAD") == before
    split = {r["task_key"]: json.loads(r["data"])["split"] for r in _rows("HEAD", "tasks")}
    assert split == {**{k: "train" for k in ds["task_key"][:half]}, **{k: "val" for k in ds["task_key"][half:]}}


# ---------------------------------------------------------------------------
# datasets as the hub declares them


def _answers(rev: str = "HEAD") -> dict[str, list]:
    """task_key -> sorted [(from_name, labels, value)] of its answer's regions ([] for an answer of none)."""
    out: dict[str, list] = {}
    for r in _rows(rev):
        regions = out.setdefault(r["task_key"], [])
        if r["region_key"]:
            regions.append((r["from_name"], r["labels"], json.loads(r["value"])))
    return {k: sorted(v, key=json.dumps) for k, v in out.items()}


def _tasks(rev: str = "HEAD") -> dict[str, dict]:
    return {r["task_key"]: json.loads(r["data"]) for r in _rows(rev, "tasks")}


def test_text_classification_with_an_unlabeled_test_split(repo, tmp_path):
    """imdb's layout: text and a ClassLabel; its test split labeled -1 (HF's no label): tasks to label."""
    names = ["neg", "pos"]
    train = [("A gripping film.", 1), ("Dull and long.", 0), ("Loved it", 1)]
    test = ["Not seen yet", "Another one"]
    feats = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)})
    datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"text": [t for t, _ in train], "label": [y for _, y in train]},
                                            features=feats),
        "test": datasets.Dataset.from_dict({"text": test, "label": [-1] * len(test)}, features=feats),
    }).save_to_disk(str(tmp_path / "imdb"))
    _ok("snapshot", "--from", str(tmp_path / "imdb"), "-m", "imdb")
    tasks, answers = _tasks(), _answers()
    by_text = {d["text"]: (k, d["split"]) for k, d in tasks.items()}
    assert sorted(by_text) == sorted([t for t, _ in train] + test)
    for text, y in train:
        key, split = by_text[text]
        assert split == "train" and answers[key] == [("label", [names[y]], {"choices": [names[y]]})]
    for text in test:
        key, split = by_text[text]
        assert split == "test" and key not in answers  # not labeled yet
    code, cfg, _ = invoke("show", "HEAD", "--config")
    assert code == 0 and '<Choices name="label" toName="text"' in cfg and '<Choice value="pos"/>' in cfg


def _png(w: int, h: int, color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, format="PNG")
    return buf.getvalue()


def test_image_classification_of_images_stored_as_bytes(repo, tmp_path):
    """beans' layout: an Image (bytes, and a path where datasets recorded one) and a ClassLabel; a task's
    image is the path recorded, else a name from its split and row; keyed by its stem."""
    names = ["angular_leaf_spot", "bean_rust", "healthy"]
    rows = [({"bytes": _png(4, 3), "path": None}, 2), ({"bytes": _png(5, 5), "path": "leaves/leaf_07.png"}, 0),
            ({"bytes": _png(2, 2), "path": None}, 1)]
    feats = datasets.Features({"image": datasets.Image(), "labels": datasets.ClassLabel(names=names)})
    ds = datasets.Dataset.from_dict({"image": [i for i, _ in rows], "labels": [y for _, y in rows]}, features=feats)
    datasets.DatasetDict({"train": ds}).save_to_disk(str(tmp_path / "beans"))
    _ok("snapshot", "--from", str(tmp_path / "beans"), "-m", "beans")
    recorded = datasets.load_from_disk(str(tmp_path / "beans"))["train"].cast_column(
        "image", datasets.Image(decode=False))
    expected_images = [im["path"] or f"train-{i}.png" for i, im in enumerate(recorded["image"])]
    assert expected_images[0] == "train-0.png" and expected_images[1].endswith("leaf_07.png")
    tasks, answers = _tasks(), _answers()
    assert {k: d["image"] for k, d in tasks.items()} == {Path(p).stem: p for p in expected_images}
    for image, (_, y) in zip(expected_images, rows):
        assert answers[Path(image).stem] == [("labels", [names[y]], {"choices": [names[y]]})]
    # keyed as COCO and YOLO key images, and recorded so: the same images back from Label Studio are the same tasks
    assert _show("HEAD")["origin"]["reading"]["key"] == "stem:data.image"


def test_multi_label(repo, tmp_path):
    names = ["sports", "politics", "tech"]
    rows = [("Match report", [0]), ("Chips and votes", [1, 2]), ("Nothing to see", [])]
    feats = datasets.Features({"text": datasets.Value("string"), "id": datasets.Value("int32"),
                               "topics": datasets.Sequence(datasets.ClassLabel(names=names))})
    datasets.Dataset.from_dict({"text": [t for t, _ in rows], "id": list(range(len(rows))),
                                "topics": [y for _, y in rows]}, features=feats).save_to_disk(str(tmp_path / "ml"))
    _ok("snapshot", "--from", str(tmp_path / "ml"), "--format", "hf", "-m", "multi-label")
    tasks, answers = _tasks(), _answers()
    for i, (text, ys) in enumerate(rows):
        key = next(k for k, d in tasks.items() if d == {"text": text, "id": i})  # a plain column kept as data
        labels = [names[y] for y in ys]
        assert answers[key] == ([("topics", labels, {"choices": labels})] if labels else [])


def test_labels_as_strings_are_read_with_a_config_naming_their_control(repo, tmp_path):
    """A dataset whose labels are plain strings (no ClassLabel): kept as task data, unless --config names
    their column as a <Choices>, which then reads them as its labels."""
    rows = [("good service", "positive"), ("slow", "negative"), ("fine", None)]
    datasets.Dataset.from_dict({"review": [t for t, _ in rows], "sentiment": [y for _, y in rows]}).save_to_disk(
        str(tmp_path / "reviews"))
    cfg = tmp_path / "cfg.xml"
    cfg.write_text('<View><Text name="txt" value="$review"/><Choices name="sentiment" toName="txt">'
                   '<Choice value="positive"/><Choice value="negative"/></Choices></View>')
    _ok("snapshot", "--from", str(tmp_path / "reviews"), "--config", str(cfg), "-m", "reviews")
    tasks, answers = _tasks(), _answers()
    assert sorted(d["review"] for d in tasks.values()) == sorted(t for t, _ in rows)
    for text, y in rows:
        key = next(k for k, d in tasks.items() if d == {"review": text})
        if y is None:
            assert key not in answers  # no label: a task to label
        else:
            assert answers[key] == [("sentiment", [y], {"choices": [y]})]
    assert {r["to_name"] for r in _rows("HEAD") if r["region_key"]} == {"txt"}


def _conll_sentences(path: Path) -> list[tuple[list[str], list[str]]]:
    """(tokens, tags) of each sentence of a CoNLL file (token first, tag last)."""
    out: list[tuple[list[str], list[str]]] = [([], [])]
    for line in path.read_text(encoding="utf-8").splitlines():
        cols = line.split()
        if not cols or cols[0] == "-DOCSTART-":
            if out[-1][0]:
                out.append(([], []))
            continue
        out[-1][0].append(cols[0])
        out[-1][1].append(cols[-1])
    return [s for s in out if s[0]]


def test_token_classification_from_the_corpus_conll(repo, tmp_path):
    """conll2003's layout (tokens, ner_tags as a list of ClassLabel in BIO) of the corpus' sentences: spans
    on the tokens joined by spaces, the same annotations as the CoNLL file's own import."""
    path = CORPUS / "conll_spacy_ontonotes.conll"
    sentences = _conll_sentences(path)
    names = ["O", *sorted({t for _, tags in sentences for t in tags} - {"O"})]
    feats = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                               "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names))})
    datasets.Dataset.from_dict({"tokens": [t for t, _ in sentences],
                                "ner_tags": [[names.index(g) for g in tags] for _, tags in sentences]},
                               features=feats).save_to_disk(str(tmp_path / "ner"))
    _ok("snapshot", "--from", str(tmp_path / "ner"), "-m", "ner")
    tasks, answers = _tasks(), _answers()
    for toks, tags in sentences:
        text = " ".join(toks)
        key = next(k for k, d in tasks.items() if d == {"text": text})
        starts = [sum(len(t) + 1 for t in toks[:i]) for i in range(len(toks))]
        spans, i = [], 0
        while i < len(tags):  # BIO: B- opens a span, I- of its label goes on with it
            if tags[i].startswith("B-"):
                j = i + 1
                while j < len(tags) and tags[j] == "I-" + tags[i][2:]:
                    j += 1
                s, e = starts[i], starts[j - 1] + len(toks[j - 1])
                spans.append(("label", [tags[i][2:]],
                              {"start": s, "end": e, "text": text[s:e], "labels": [tags[i][2:]]}))
                i = j
            else:
                i += 1
        assert answers[key] == sorted(spans, key=json.dumps)
    conll = read_source(path)
    assert _annotations_id("HEAD") == content_id(conll.annotations, "annotations")


def test_object_detection_of_pixel_boxes(repo, tmp_path):
    """cppe-5's layout: image, width, height, objects {id, area, bbox [x, y, w, h] in pixels, category}:
    boxes in percent of the image, as a COCO file of the same boxes gives them (same annotations)."""
    names = ["Coverall", "Face_Shield", "Gloves"]
    images = [(640, 480, [([10, 20, 100, 50], 0), ([300.5, 0, 40, 40], 2)]), (200, 100, []),
              (50, 40, [([0, 0, 50, 40], 1)])]
    feats = datasets.Features({
        "image_id": datasets.Value("int64"), "image": datasets.Image(), "width": datasets.Value("int32"),
        "height": datasets.Value("int32"),
        "objects": datasets.Sequence({"id": datasets.Value("int64"), "area": datasets.Value("int64"),
                                      "bbox": datasets.Sequence(datasets.Value("float32"), length=4),
                                      "category": datasets.ClassLabel(names=names)})})
    rows = {"image_id": [], "image": [], "width": [], "height": [], "objects": []}
    for i, (w, h, objs) in enumerate(images):
        rows["image_id"].append(i)
        rows["image"].append({"bytes": _png(w, h), "path": f"img_{i}.png"})
        rows["width"].append(w)
        rows["height"].append(h)
        rows["objects"].append({"id": list(range(len(objs))), "area": [int(b[2] * b[3]) for b, _ in objs],
                                "bbox": [b for b, _ in objs], "category": [c for _, c in objs]})
    datasets.Dataset.from_dict(rows, features=feats).save_to_disk(str(tmp_path / "cppe5"))
    _ok("snapshot", "--from", str(tmp_path / "cppe5"), "-m", "boxes")
    answers = _answers()
    for i, (w, h, objs) in enumerate(images):
        got = answers[f"img_{i}"]
        assert len(got) == len(objs)
        for (control, labels, value), (b, c) in zip(got, sorted(objs, key=lambda o: o[0][0] / w)):
            assert control == "label" and labels == [names[c]]
            for k, v in zip(("x", "y", "width", "height"), (b[0] / w, b[1] / h, b[2] / w, b[3] / h)):
                assert value[k] == pytest.approx(v * 100, abs=1e-5)
    coco = {"images": [{"id": i, "file_name": f"img_{i}.png", "width": w, "height": h}
                       for i, (w, h, _) in enumerate(images)],
            "annotations": [{"id": 10 * i + j, "image_id": i, "category_id": c, "bbox": b, "area": b[2] * b[3]}
                            for i, (_, _, objs) in enumerate(images) for j, (b, c) in enumerate(objs)],
            "categories": [{"id": i, "name": n} for i, n in enumerate(names)]}
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    assert _annotations_id("HEAD") == content_id(read_source(tmp_path / "coco.json").annotations, "annotations")


# ---------------------------------------------------------------------------
# what cannot be read


def test_a_column_annover_cannot_map_is_one_line_naming_it(repo, tmp_path):
    feats = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["a", "b"]),
                               "embedding": datasets.Array2D(shape=(1, 2), dtype="float32")})
    datasets.Dataset.from_dict({"text": ["x"], "label": [0], "embedding": [[[0.5, 1.0]]]},
                               features=feats).save_to_disk(str(tmp_path / "odd"))
    head = _show("HEAD")["id"] if invoke("show", "HEAD", "--json")[0] == 0 else None
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "odd"), "-m", "odd")
    assert code == 3, err
    line = err.strip()
    assert "\n" not in line and "Traceback" not in line
    assert str(tmp_path / "odd") in line and "'embedding'" in line and "Array2D" in line
    assert "remove_columns" in line and "--config" in line
    assert (_show("HEAD")["id"] if invoke("show", "HEAD", "--json")[0] == 0 else None) == head  # nothing written


def _one_line_exit_3(*args: str) -> str:
    code, _, err = invoke(*args)
    assert code == 3, err
    assert "\n" not in err.strip() and "Traceback" not in err
    return err


def test_a_config_whose_control_cannot_hold_the_column_is_one_line(repo, tmp_path):
    """A control named after a column whose tag cannot hold it: a ClassLabel read as <Labels>, annover's
    box column read as <Choices> (a config other than the exported version's)."""
    datasets.Dataset.from_dict({"text": ["x"], "label": [0]}, features=datasets.Features({
        "text": datasets.Value("string"), "label": datasets.ClassLabel(names=["a"])})).save_to_disk(str(tmp_path / "c"))
    spans = tmp_path / "spans.xml"
    spans.write_text('<View><Text name="text" value="$text"/><Labels name="label" toName="text">'
                     '<Label value="a"/></Labels></View>')
    err = _one_line_exit_3("snapshot", "--from", str(tmp_path / "c"), "--config", str(spans), "-m", "x")
    assert "'label'" in err and "<Labels>" in err and "<Choices>" in err
    _ok("snapshot", "--from", str(CORPUS / "yolo_detect_lssdk"), "-m", "boxes")
    _ok("export", "HEAD", "--format", "hf", "--out", str(tmp_path / "hf"))
    choices = tmp_path / "choices.xml"
    choices.write_text('<View><Image name="image" value="$image"/><Choices name="label" toName="image">'
                       '<Choice value="bus"/></Choices></View>')
    err = _one_line_exit_3("snapshot", "--from", str(tmp_path / "hf"), "--config", str(choices), "-m", "x")
    assert "'label'" in err and "<Choices>" in err and "config of the version exported" in err


def test_a_folder_datasets_cannot_load_is_one_line(repo, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "state.json").write_text("{not json")
    code, _, err = invoke("snapshot", "--from", str(bad), "-m", "bad")
    assert code == 3 and "\n" not in err.strip() and str(bad) in err and "save_to_disk" in err
