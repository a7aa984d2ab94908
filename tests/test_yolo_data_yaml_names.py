"""A YOLO export's ``data.yaml`` names each class as the version has it, whatever the label's text: a YAML
reader (PyYAML's ``safe_load``, what Ultralytics reads it with, and libyaml's loader) gives back the same
string for a label with a DEL or another control character, a ``:``, ``#``, quotes, a leading ``-``, ``*``,
``&``, ``!``, ``%`` or ``@``, or one YAML would read as a bool, null or number (``yes``, ``null``, ``1e3``)."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from annover.formats import yolo
from annover.formats.label_studio import from_ls_tasks
from annover.formats.training import render_train

LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])
ODD = ["a\x7fb", "tab\there", "bell\x07", "nel\x85", "c1\x9f", "line\u2028sep", "\ufeffbom", "a: b", "-dash",
       "*star", "&anchor", "!tag", "%pct", "@at", "'single'", '"double"', "# hash", "yes", "null", "1e3", "~",
       "No", "0x1F", " padded ", "new\nline", "back\\slash"]
labels = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=10)


def _tasks(names: list[str]) -> list[dict]:
    """One image per label, one box labeled with it."""
    return [{"id": i + 1, "data": {"image": f"img{i}.jpg"}, "annotations": [{"result": [{
        "id": f"r{i}", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
        "original_width": 100, "original_height": 80,
        "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 0, "rectanglelabels": [n]}}]}]}
        for i, n in enumerate(names)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(labels, min_size=1, max_size=6, unique=True))
@example(ODD)
def test_data_yaml_names_read_back_as_the_labels_in_class_order(names):
    t = from_ls_tasks(_tasks(names), "test", config=None, validate=False)
    files = render_train("yolo", {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions},
                         None).files
    for loader in LOADERS:
        doc = yaml.load(files["data.yaml"].decode("utf-8"), Loader=loader)
        got = doc["names"]
        assert sorted(got) == list(range(len(names))), got
        # each image's line names its class by id: data.yaml's name of that id is the image's label
        for i, n in enumerate(names):
            cls = int(files[f"labels/img{i}.txt"].decode().split()[0])
            assert got[cls] == n, (loader, cls, got[cls], n)


@pytest.mark.parametrize("loader", LOADERS)
def test_plain_names_and_keypoint_names_are_written_as_before(loader):
    text = yolo.data_yaml(["cat", "hot dog"], "pose", ["left_eye", "nose\x7f"], {"train": ["images"]}, [0, 1])
    assert text.endswith('kpt_names: ["left_eye", "nose\\u007f"]\nflip_idx: [0, 1]\nnames:\n  0: "cat"\n'
                         '  1: "hot dog"\n'), text
    doc = yaml.load(text, Loader=loader)
    assert doc["kpt_names"] == ["left_eye", "nose\x7f"] and doc["names"] == {0: "cat", 1: "hot dog"}
