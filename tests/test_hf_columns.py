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

from annover.formats import hf_read
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


def test_other_layouts_and_refused_values_go_the_general_way(tmp_path: Path) -> None:
    """BIO tags, a number column, a class id no class has: not read column-wise (the general path reads
    them, or says where the value is)."""
    bio = datasets.Features({"tokens": datasets.List(datasets.Value("string")),
                             "ner_tags": datasets.List(datasets.ClassLabel(names=["O", "B-X", "I-X"]))})
    datasets.Dataset.from_dict({"tokens": [["a", "b"]], "ner_tags": [[1, 2]]}, features=bio).save_to_disk(
        str(tmp_path / "bio"))
    number = datasets.Features({"text": datasets.Value("string"), "n": datasets.Value("int64"),
                                "label": datasets.ClassLabel(names=["a"])})
    datasets.Dataset.from_dict({"text": ["t"], "n": [1], "label": [0]}, features=number).save_to_disk(
        str(tmp_path / "number"))
    bad = datasets.Features({"text": datasets.Value("string"), "label": datasets.Value("int64")})
    datasets.Dataset.from_dict({"text": ["t"], "label": [5]}, features=bad).cast(
        datasets.Features({"text": datasets.Value("string"), "label": datasets.Value("int64")})
    ).save_to_disk(str(tmp_path / "bad"))
    for name in ("bio", "number", "bad"):
        assert hf_read.read_tables(tmp_path / name) is None, name
