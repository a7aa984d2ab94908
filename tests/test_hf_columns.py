"""A hub classification dataset (text or image, ClassLabel and lists of ClassLabel columns) read column-wise
(:func:`annover.formats.hf_read.read_tables`) gives the tables, warnings and config of the general path
(:func:`annover.formats.hf_read.read` then the Label Studio reader), hence the same snapshot ids; any other
layout, or a value the general path refuses, is left to the general path."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import datasets
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from annover.errors import InputError
from annover.formats import hf_read
from annover.formats.training import read_train
from annover.formats.train import to_tables
from annover.model.canonical import content_id

datasets.disable_progress_bars()

#: texts of few values (repeats: copies), odd characters, and none
TEXTS = st.one_of(st.sampled_from(["a", "a b", "", "é", "\"q\"\\", "\u2028x", "\t\n"]), st.text(max_size=6), st.none())
SPLITS = st.sampled_from([None, ["train"], ["train", "validation"], ["test", "train", "validation"]])


def _general(root: Path) -> tuple:
    got = hf_read.read(root)
    tables, text = to_tables(got, str(root), "hf", None, True)
    return tables, text


def _same(root: Path) -> None:
    fast = hf_read.read_tables(root)
    assert fast is not None
    (tables, text), (want, want_text) = fast, _general(root)
    assert text == want_text
    assert (tables.warnings, tables.key_rule) == (want.warnings, want.key_rule)
    for name in ("tasks", "annotations", "predictions"):
        a, b = getattr(tables, name), getattr(want, name)
        assert a.schema == b.schema, name
        assert a.to_pylist() == b.to_pylist(), name
        assert content_id(a, name) == content_id(b, name)


def _png(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (2 + i % 3, 2), (i % 256, 0, 0)).save(buf, "PNG" if i % 2 else "JPEG")
    return buf.getvalue()


@st.composite
def hub_datasets(draw: st.DrawFn) -> tuple[dict, datasets.Features, list[str] | None, bool]:
    """(columns, features, splits, image) of a dataset of a text (or an image), ClassLabel columns (ids
    -1.., none) and maybe a list of ClassLabel (repeats, -1, none, empty)."""
    n = draw(st.integers(1, 12))  # datasets cannot load a Dataset of no rows
    image = draw(st.booleans())
    names = draw(st.lists(st.sampled_from(["neg", "pos", "a b", "é", "x/y", "<&>"]), min_size=1, max_size=4,
                          unique=True))
    ids = st.one_of(st.integers(-1, len(names) - 1), st.none())
    cols: dict = {"label": draw(st.lists(ids, min_size=n, max_size=n))}
    feats: dict = {"label": datasets.ClassLabel(names=names)}
    if draw(st.booleans()):
        cols["tags"] = draw(st.lists(st.one_of(st.lists(ids, max_size=4), st.none()), min_size=n, max_size=n))
        feats["tags"] = datasets.List(datasets.ClassLabel(names=names))
        if draw(st.booleans()):  # multi-label only
            del cols["label"], feats["label"]
    if image:
        cols["image"] = [{"bytes": _png(i), "path": None} for i in range(n)]
        feats["image"] = datasets.Image()
    else:
        cols["text"] = draw(st.lists(TEXTS, min_size=n, max_size=n))
        feats["text"] = datasets.Value("string")
    if draw(st.booleans()):
        cols["title"] = draw(st.lists(TEXTS, min_size=n, max_size=n))
        feats["title"] = datasets.Value("string")
    return cols, datasets.Features(feats), draw(SPLITS), image


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hub_datasets())
def test_column_wise_tables_are_the_general_paths(case: tuple) -> None:
    cols, feats, splits, _ = case
    root = Path(tempfile.mkdtemp(prefix="hf-columns-"))
    try:
        ds = datasets.Dataset.from_dict(cols, features=feats)
        if splits is None:
            ds.save_to_disk(str(root / "d"))
        else:  # each split the same rows: repeats across splits
            datasets.DatasetDict({s: ds for s in splits}).save_to_disk(str(root / "d"))
        _same(root / "d")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _save(root: Path, cols: dict, feats: dict) -> Path:
    """A dataset of ``feats`` whose values ``datasets`` does not check against them (a class id no class has)."""
    raw = datasets.Dataset.from_dict(cols)
    datasets.Dataset(raw.data, info=datasets.DatasetInfo(features=datasets.Features(feats))).save_to_disk(str(root))
    return root


def test_other_layouts_go_the_general_way(tmp_path: Path) -> None:
    """BIO tags, a number column, annover's own export (a task_key column): not read column-wise."""
    tags = datasets.List(datasets.ClassLabel(names=["O", "B-X", "I-X"]))
    one = datasets.ClassLabel(names=["a"])
    _save(tmp_path / "bio", {"tokens": [["a", "b"]], "ner_tags": [[1, 2]]},
          {"tokens": datasets.List(datasets.Value("string")), "ner_tags": tags})
    _save(tmp_path / "number", {"text": ["t"], "n": [1], "label": [0]},
          {"text": datasets.Value("string"), "n": datasets.Value("int64"), "label": one})
    _save(tmp_path / "own", {"task_key": ["k"], "text": ["t"], "label": [0]},
          {"task_key": datasets.Value("string"), "text": datasets.Value("string"), "label": one})
    for name in ("bio", "number", "own"):
        assert hf_read.read_tables(tmp_path / name) is None, name


@pytest.mark.parametrize("case", ["class id", "no image", "one name"])
def test_a_value_the_general_path_refuses_is_its_error(tmp_path: Path, case: str) -> None:
    """A class id no class has, a row of no image, two images of one name: the general path reads the
    dataset, and its error (naming the row) is the snapshot's."""
    image = {"bytes": _png(1), "path": "a/x.png"}
    cols, feats = {"label": [0, 5 if case == "class id" else 0]}, {"label": datasets.ClassLabel(names=["a"])}
    if case == "class id":
        cols["text"], feats["text"] = ["t", "u"], datasets.Value("string")
    else:
        cols["image"] = [image, None if case == "no image" else {**image, "path": "b/x.png"}]
        feats["image"] = datasets.Image()
    root = _save(tmp_path / "d", cols, feats)
    assert hf_read.read_tables(root) is None
    with pytest.raises(InputError) as general:
        to_tables(hf_read.read(root), str(root), "hf", None, True)
    with pytest.raises(InputError) as snapshot:
        read_train(root, "hf", None, True)
    assert str(snapshot.value) == str(general.value)
    assert ("task 1" if case == "one name" else "row 1") in str(general.value)
