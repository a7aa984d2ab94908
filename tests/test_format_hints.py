"""A file the --format given cannot read, that reads as another format: the error's hint says which (the
error said only "fix the VOC file", of a COCO file given with --format voc). Files of the shared corpus."""

from __future__ import annotations

import pytest

from annover.errors import InputError
from annover.formats.detect import detect_train
from annover.formats.read import read_source

from .conftest import shared_corpus

FORMATS = shared_corpus("formats")


@pytest.mark.parametrize("name, given", [("coco_chess_roboflow.json", "voc"), ("coco_chess_roboflow.json", "conll"),
                                         ("voc_bccd", "coco"), ("yolo_detect_lssdk", "voc"),
                                         ("conll_flair_fashion.conll", "label-studio")])
def test_a_file_another_format_reads_is_named_in_the_hint(name, given):
    path = FORMATS / name
    seen = detect_train(path)
    assert seen not in (None, given)
    with pytest.raises(InputError) as e:
        read_source(path, fmt=given)
    assert str(e.value).count("\n") == 0 and str(e.value).startswith(str(path)), e.value
    assert e.value.hint.endswith(f"; {name} reads as {seen}: give --format {seen}, or leave --format out"), e.value


def test_no_hint_when_the_file_reads_as_nothing_else(tmp_path):
    bad = tmp_path / "instances.json"
    bad.write_text('{"images": []')
    with pytest.raises(InputError) as e:
        read_source(bad, fmt="coco")
    assert "reads as" not in str(e.value), e.value
