"""annover's ``export --format hf`` read back whole by ``snapshot --from DIR`` with no ``--config``: the
same tasks, annotations and labeling config, because the export carries the config (its last column's
feature) and each task's other data and fields (that column, as JSON); the training columns are those
they were, first. A dataset annover did not make is read as before.
"""

from __future__ import annotations

import json
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import datasets
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import annover
from annover.formats.hf import save, to_dataset
from annover.formats.label_studio import from_ls_tasks
from annover.formats.resolve import pick
from annover.formats.training import read_train
from annover.model.canonical import content_id
from annover.model.config import LabelingConfig

from .test_cli import invoke
from .test_hf_import import CORPUS, PARTLY, WHOLE, _ok, _show, _versions

CARRY = "_annover"


def _ids_and_config(rev: str = "HEAD") -> tuple[str, str, str]:
    tables = _show(rev)["tables"]
    code, cfg, err = invoke("show", rev, "--config")
    assert code == 0, err
    return tables["tasks"]["id"], tables["annotations"]["id"], cfg


def _into_a_new_repo(tmp_path: Path, monkeypatch, folder: Path) -> str:
    """``snapshot --from folder`` with no --config, in a repository of no HEAD (no config to fall back on)."""
    annover.init(tmp_path / "fresh")
    monkeypatch.chdir(tmp_path / "fresh")
    return _ok("snapshot", "--from", str(folder), "-m", "back from hf")


@pytest.mark.parametrize("name,fmt", WHOLE + [(n, ()) for n in PARTLY])
def test_corpus_versions_come_back_whole_without_config(repo, tmp_path, monkeypatch, name, fmt):
    """Tasks (a COCO image's other fields, a YOLO split, a CoNLL or VOC file's meta), the config as it was
    (not one made from the columns) and the annotations: the same snapshot ids. The corpus samples whose
    regions hold what the columns have no place for (the export says so) come back with the same tasks
    and config."""
    _ok("snapshot", "--from", str(CORPUS / name), *fmt, "-m", "from the corpus")
    tasks, annotations, cfg = _ids_and_config()
    _ok("export", "HEAD", "--format", "hf", "--out", str(tmp_path / "hf"))
    said = _into_a_new_repo(tmp_path, monkeypatch, tmp_path / "hf")
    assert "was generated" not in said and "no labeling config" not in said  # the config it carries is the version's
    back_tasks, back_annotations, back_cfg = _ids_and_config()
    assert (back_tasks, back_cfg) == (tasks, cfg)
    assert (back_annotations == annotations) == (name not in PARTLY)


def _expected_training_columns(cfg: str) -> list[str]:
    """The columns docs/formats.md gives a config, from its XML: task_key, the objects' data fields, an
    image's size, a column per control (spans: also tokens and <control>_tags)."""
    root = ET.fromstring(cfg)
    objects = [e for e in root.iter() if e.get("value", "").startswith("$") and e.get("name")]
    cols = ["task_key", *sorted({e.get("value")[1:] for e in objects})]
    if any(e.tag == "Image" for e in objects):
        cols += ["width", "height"]
    for e in root.iter():
        if e.get("toName"):
            cols += [e.get("name"), "tokens", f"{e.get('name')}_tags"] if e.tag == "Labels" else [e.get("name")]
    return cols


def test_load_from_disk_and_to_pandas_show_the_training_columns_first(repo, tmp_path):
    """The real datasets library: the training columns as before, then the carrying column, whose JSON holds
    each image's other COCO fields as the COCO file gives them; the version named in DatasetInfo."""
    coco = json.loads((CORPUS / "coco_chess_roboflow.json").read_text())
    _ok("snapshot", "--from", str(CORPUS / "coco_chess_roboflow.json"), "-m", "chess")
    _ok("export", "HEAD", "--format", "hf", "--out", str(tmp_path / "hf"))
    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    cfg = invoke("show", "HEAD", "--config")[1]
    df = ds.to_pandas()
    assert list(df.columns) == ds.column_names == [*_expected_training_columns(cfg), CARRY]
    assert len(df) == len(coco["images"])
    images = {im["file_name"]: {k: v for k, v in im.items() if k != "file_name"} for im in coco["images"]}
    for image, carried in zip(df["image"], df[CARRY]):
        assert json.loads(carried) == {"data": {"coco_image": images[image]}}
    assert _show("HEAD")["id"] in ds.info.description and CARRY in ds.info.description
    assert json.loads(ds.features[CARRY].id)["config"] == cfg


def test_with_images_the_tasks_keep_their_image_names(repo, tmp_path, monkeypatch):
    """--images: the image column holds each file's bytes and its name without folder (as datasets embeds
    it); the tasks come back with the names they had (``images/img_1.jpg``)."""
    source = CORPUS / "yolo_detect_lssdk"
    sizes = json.loads((source / "sizes.json").read_text())
    for name, size in sizes.items():  # the images, made at the sizes the corpus gives
        (repo.root / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (size["width"], size["height"]), "gray").save(repo.root / "data" / name)
    _ok("snapshot", "--from", str(source), "-m", "doors")
    tasks, annotations, cfg = _ids_and_config()
    _ok("export", "HEAD", "--format", "hf", "--out", str(tmp_path / "hf"), "--images", "data")
    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    assert isinstance(ds.features["image"], datasets.Image) and ds.column_names[-1] == CARRY
    _into_a_new_repo(tmp_path, monkeypatch, tmp_path / "hf")
    assert sorted(json.loads(r["data"])["image"] for r in annover.load("HEAD", table="tasks").to_pylist()) == sorted(
        sizes)
    assert _ids_and_config() == (tasks, annotations, cfg)


def test_a_column_named_as_annovers_but_not_marked_is_task_data(repo, tmp_path):
    """A hub dataset (no task_key) with a ``_annover`` column of its own: read as before, a plain column as data."""
    feats = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["a", "b"]),
                               CARRY: datasets.Value("string")})
    rows = {"text": ["x", "y"], "label": [0, 1], CARRY: ['{"data": {"text": "z"}}', None]}
    datasets.Dataset.from_dict(rows, features=feats).save_to_disk(str(tmp_path / "hub"))
    _ok("snapshot", "--from", str(tmp_path / "hub"), "-m", "hub")
    data = sorted((json.loads(r["data"]) for r in annover.load("HEAD", table="tasks").to_pylist()),
                  key=lambda d: d["text"])
    assert data == [{"text": "x", CARRY: rows[CARRY][0]}, {"text": "y"}]


#: a config whose every attribute the one made from the columns would lose: a Taxonomy, hints, a header
_TAXONOMY = ('<Taxonomy name="topic" toName="text" maxUsages="2"><Choice value="Sport" hint="games">'
             '<Choice value="Ball"/></Choice><Choice value="News"/></Taxonomy>')
_EXTRA = st.fixed_dictionaries({}, optional={
    "split": st.sampled_from(["train", "val"]), "n": st.integers(-3, 3), "none": st.none(),
    "coco_image": st.fixed_dictionaries({"id": st.integers(0, 9), "license": st.sampled_from([1, None])})})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(version=_versions(), extra=st.lists(st.tuples(_EXTRA, st.dictionaries(
    st.sampled_from(["meta", "source"]), st.dictionaries(st.sampled_from(["a", "é"]), st.integers(), min_size=1)),
    st.booleans()), min_size=5, max_size=5))
def test_property_the_export_reads_back_whole_without_config(version, extra):
    """Any version of one answer a task, its tasks holding other data fields (a split, numbers, nulls, a
    dict) and fields (meta, others), its config attributes the columns do not say: the same tasks,
    annotations and config, read with no config."""
    cfg_text, tasks = version
    text = cfg_text.startswith('<View><Text')
    cfg_text = cfg_text.replace("<View>", '<View><Header value="Label it"/>').replace(
        "</View>", _TAXONOMY + "</View>") if text else cfg_text
    for task, (data, fields, topic) in zip(tasks, extra):
        task["data"].update(data)
        task.update(fields)
        if text and topic:
            task["annotations"][0]["result"].append({"from_name": "topic", "to_name": "text", "type": "taxonomy",
                                                     "value": {"taxonomy": [["Sport", "Ball"], ["News"]]}})
    t = from_ls_tasks(tasks, "generated", key="id")
    tables = {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}
    with tempfile.TemporaryDirectory(prefix="annover-test-") as folder:
        save(to_dataset(pick(tables), LabelingConfig(cfg_text, validate=False), [], None, t.tasks), folder)
        back = read_train(Path(folder), "hf", None, True)
    assert back.config_text == cfg_text
    assert content_id(back.tasks, "tasks") == content_id(t.tasks, "tasks")
    assert content_id(back.annotations, "annotations") == content_id(t.annotations, "annotations")
