"""What an audit of the Hugging Face format left: the parsed ``huggingface`` metadata shared by its readers
could be changed under the next one; a ``save_to_disk`` folder naming a ClassLabel for a column of label
names was not checked as an ``.arrow`` or Parquet file is."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import datasets
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import annover
from annover.errors import InputError
from annover.formats import hf, hf_read

from .conftest import shared_corpus

CLASS_LABEL = {"names": ["neg", "pos"], "_type": "ClassLabel"}
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=4),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                    max_leaves=12)


def _metadata(features: dict) -> dict:
    return {hf.METADATA_KEY: json.dumps({"info": {"features": features}}).encode()}


def test_a_reader_cannot_change_the_metadata_the_next_one_reads():
    meta = _metadata({"label": dict(CLASS_LABEL), "tags": {"feature": dict(CLASS_LABEL), "_type": "List"}})
    hf._parsed.cache_clear()
    doc = hf.metadata_document(meta)
    for change in (lambda: doc["info"]["features"].pop("label"),
                   lambda: doc["info"]["features"]["label"].__setitem__("_type", "Value"),
                   lambda: doc["info"]["features"]["tags"]["feature"]["names"].append("neutral")):
        with pytest.raises((TypeError, AttributeError)):
            change()
    again = hf.metadata_document(meta)
    assert hf._parsed.cache_info().hits == 1  # still parsed once
    assert json.loads(json.dumps(again, default=hf.thawed)) == json.loads(meta[hf.METADATA_KEY])
    assert hf.declares_class_label(again["info"]["features"]["tags"])


@given(JSON)
def test_the_read_only_metadata_writes_back_as_it_was_read(value):
    assert json.loads(json.dumps(hf._frozen(copy.deepcopy(value)), default=hf.thawed)) == value


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A save_to_disk folder of a column of label names (text)."""
    root = tmp_path_factory.mktemp("saved") / "ds"
    with hf.quiet():
        datasets.Dataset.from_dict({"text": ["a", "b"], "label": ["neg", "pos"]}).save_to_disk(str(root))
    return root


def _refused(folder: Path) -> InputError:
    with pytest.raises(InputError) as e:
        hf_read.read(folder)
    return e.value


def test_a_folder_whose_dataset_info_names_a_class_label_for_label_names_is_refused_naming_the_column(saved, tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(saved, folder)
    info = json.loads((folder / "dataset_info.json").read_text())
    info["features"]["label"] = CLASS_LABEL
    (folder / "dataset_info.json").write_text(json.dumps(info))
    said = _refused(folder)
    assert said.message.startswith(f"{folder / 'dataset_info.json'}: column 'label' holds string, not the int64 "
                                   "class ids of the ClassLabel its feature in dataset_info.json names"), said.message
    assert "\n" not in said.message and "cast_column('label'" in said.hint


def test_a_folder_whose_data_file_names_a_class_label_for_label_names_is_refused(saved, tmp_path):
    """With no features in dataset_info.json, datasets takes the data file's and drops the ClassLabel silently."""
    folder = tmp_path / "ds"
    shutil.copytree(saved, folder)
    data = next(folder.glob("*.arrow"))
    table = pa.table({"text": ["a", "b"], "label": ["neg", "pos"]}).replace_schema_metadata(
        _metadata({"text": {"dtype": "string", "_type": "Value"}, "label": CLASS_LABEL}))
    with pa.OSFile(str(data), "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
        w.write_table(table)
    info = json.loads((folder / "dataset_info.json").read_text())
    del info["features"]
    (folder / "dataset_info.json").write_text(json.dumps(info))
    assert datasets.load_from_disk(str(folder)).features["label"] == datasets.Value("string")
    said = _refused(folder)
    assert said.message.startswith(f"{data}: column 'label' holds string, not the int64 class ids"), said.message


def test_a_folder_of_label_names_with_no_class_label_is_read_as_before(saved):
    assert [t["data"] for t in hf_read.read(saved).tasks] == [{"text": "a", "label": "neg"},
                                                             {"text": "b", "label": "pos"}]


FORMATS = shared_corpus("formats")
LS = shared_corpus("label-studio")


def _ids(repo: annover.Repo) -> list[dict]:
    return sorted(repo.load("HEAD", "tasks", columns=["task_key", "ls_task_id"]).to_pylist(), key=str)


def test_magic_wand_masks_of_a_control_not_in_the_config_are_carried_as_coco_writes_them(tmp_path):
    """Label Studio's magic-wand example names its tool 'magicwand_tool_1' in the results and 'magicwand_1' in the
    config: COCO wrote both masks, the Hugging Face export left them out ('controls the config does not have').
    Its task's Label Studio id comes back too (it was lost)."""
    src = annover.init(tmp_path / "src")
    src.snapshot(str(LS / "fe_magicwand_rle.json"), config=str(LS / "fe_magicwand_rle.xml"), message="wand")
    notes = src.export("HEAD", "hf", tmp_path / "hf").notes
    assert notes == ["2 region(s) of control 'magicwand_tool_1', which the config does not have, were written in the "
                     "column of its <MagicWand> 'magicwand_1' on the same object, as the image exports (COCO...) write "
                     "them; read back, they are that control's"], notes
    masks = [json.loads(m) for m in datasets.load_from_disk(str(tmp_path / "hf"))["magicwand_1"][0]]
    assert sorted(m["labels"][0] for m in masks) == ["Cloud", "Cloud Shadow"]
    back = annover.init(tmp_path / "back")
    back.snapshot(str(tmp_path / "hf"), message="back")
    rles = [sorted((r["labels"], json.loads(r["value"])["rle"]) for r in repo.load("HEAD").to_pylist()
                   if r["type"] == "labels") for repo in (src, back)]  # each mask's labels and pixels
    assert len(rles[0]) == 2 and rles[1] == rles[0]
    task_id = json.loads((LS / "fe_magicwand_rle.json").read_text())[0]["id"]  # the file's one task
    assert _ids(back) == _ids(src) and [x["ls_task_id"] for x in _ids(src)] == [task_id]
    cut = tmp_path / "cut.xml"  # the config without its <MagicWand>: the masks have no column, and the note names them
    wand = '<MagicWand name="magicwand_1" toName="image_1" />'
    cut.write_text((LS / "fe_magicwand_rle.xml").read_text().replace(wand, ""))
    src.snapshot(str(LS / "fe_magicwand_rle.json"), config=str(cut), message="no wand")
    assert "2 region(s) of controls the config does not have ('magicwand_tool_1') were left out" in \
        src.export("HEAD", "hf", tmp_path / "hf2").notes


def test_a_conll_file_s_sentence_order_comes_back_from_the_hf_export(tmp_path):
    """A CoNLL file's sentences (Label Studio ids 1.. in the file's order) came back from the export without their
    ids: the CoNLL export of the version read back wrote them in key order."""
    src = annover.init(tmp_path / "src")
    src.snapshot(str(FORMATS / "conll_flair_fashion.conll"), message="one")
    src.export("HEAD", "hf", tmp_path / "hf")
    assert datasets.load_from_disk(str(tmp_path / "hf")).column_names[:2] == ["task_key", "ls_task_id"]
    back = annover.init(tmp_path / "back")
    back.snapshot(str(tmp_path / "hf"), message="back")
    assert _ids(back) == _ids(src) and all(x["ls_task_id"] is not None for x in _ids(src))
    for r in (src, back):
        r.export("HEAD", "conll", tmp_path / f"{r.root.name}.conll")
    assert (tmp_path / "src.conll").read_bytes() == (tmp_path / "back.conll").read_bytes()
