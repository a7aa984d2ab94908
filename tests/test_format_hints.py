"""A file the --format given cannot read, that reads as another format: the error's hint says which (the
error said only "fix the VOC file", of a COCO file given with --format voc). Files of the shared corpus."""

from __future__ import annotations

import pytest

from annover.errors import InputError, ValidationError
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


def test_data_of_another_kind_than_heads_versions_says_heads_config_was_used(repo):
    """A COCO file snapshotted, no --config, in a repository of text versions: HEAD's config was checked
    against, which the user did not give; the error said "give a config with one <RectangleLabels> tag, or none
    to have one generated", where none was given. Nothing is written."""
    repo.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1")
    coco = FORMATS / "coco_chess_roboflow.json"
    with pytest.raises(ValidationError) as e:
        repo.snapshot(str(coco))
    said = f"{e.value} {e.value.hint}"
    assert "HEAD's labeling config" in said and "<Choices>" in said and "--config FILE" in said, said
    assert "or none to have one generated" not in said
    assert len(repo.log()) == 1
    with pytest.raises(ValidationError) as given:  # a config given: the user's, as before
        repo.snapshot(str(coco), config="labeling.xml")
    assert "HEAD" not in str(given.value) and "or none to have one generated" in given.value.hint
