"""One reader of labeling configs: the diff's config comparison (diff_config, config_warnings)
reads a config through annover.model.config, the model validation, snapshots and exports use.

Run over every labeling config of the shared corpus; the properties checked name no expected
answer per file (the old and new readers were compared output for output once, by a script,
when the diff's own copy was removed: they differed only where the copy missed a Chat control).
"""

from __future__ import annotations

import inspect
import json
import re
from collections import Counter, defaultdict

import pytest

import annover.diffing.config as diff_cfg
from annover.diffing.config import UNCHANGED, config_structure, config_warnings, diff_config
from annover.formats.ls_results import labels_of
from annover.model import config as model_cfg

from .conftest import shared_corpus

LS = shared_corpus("label-studio")
CONFIGS = sorted(LS.glob("*.xml"))
NEW = "annover_new_label"


def _text(path) -> str:
    return path.read_text(encoding="utf-8")


def _labels_used(export) -> dict[str, dict[str, int]]:
    """control -> label -> count of an export's annotations (as a version's stats count them)."""
    data = json.loads(export.read_text(encoding="utf-8"))
    out: dict[str, Counter] = defaultdict(Counter)
    for task in data if isinstance(data, list) else [data]:
        for ann in task.get("annotations") or []:
            for item in ann.get("result") or []:
                for lab in labels_of(item) or []:
                    out[item["from_name"]][lab] += 1
    return {k: dict(v) for k, v in out.items()}


def _with_label(text: str, control: str, tag: str) -> str:
    """``text`` with one more label first in ``control``."""
    opening = re.compile(r'<(\w+)\b[^>]*?\sname="' + re.escape(control) + r'"[^>]*?(?<!/)>')
    m = next(m for m in opening.finditer(text) if "toName=" in m.group(0))
    label = "Choice" if tag in ("Choices", "Taxonomy") else "Label"
    return text[:m.end()] + f'<{label} value="{NEW}"/>' + text[m.end():]


def test_the_corpus_has_configs():
    assert len(CONFIGS) >= 20


def test_the_diff_has_no_reader_of_its_own():
    assert diff_cfg.config_structure is model_cfg.config_structure
    src = inspect.getsource(diff_cfg)
    assert "fromstring" not in src and "ElementTree" not in src


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_a_config_against_itself_changes_nothing(path):
    text = _text(path)
    assert diff_config(text, text) == UNCHANGED
    assert config_structure(text) == model_cfg.LabelingConfig(text, validate=False).structure()


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_one_label_added_is_named_and_nothing_else(path):
    text = _text(path)
    labelled = {n: c for n, c in config_structure(text).items() if c["labels"] and "{{" not in n}
    for name, c in labelled.items():
        other = _with_label(text, name, c["tag"])
        assert config_structure(other)[name]["labels"] == [NEW, *c["labels"]]
        assert diff_config(text, other) == {**UNCHANGED, "changed": True, "labels_added": {name: [NEW]}}
        assert diff_config(other, text) == {**UNCHANGED, "changed": True, "labels_removed": {name: [NEW]}}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_labels_a_config_has_are_not_warned_and_one_it_lacks_is(path):
    text = _text(path)
    structure = config_structure(text)
    used = {n: {lab: 1 for lab in c["labels"]} for n, c in structure.items()}
    assert config_warnings(text, used) == []
    for name, c in structure.items():
        if c["labels"] and not c["dynamic"]:
            warned = config_warnings(text, {name: {NEW: 2}})
            assert len(warned) == 1 and repr(NEW) in warned[0] and repr(name) in warned[0]
    assert len(config_warnings(text, {"annover_no_such_control": {"x": 1}})) == 1


def test_repeater_names_are_the_configs_controls():
    """A Repeater's labels_0 is its labels_{{idx}}: no "config lacks control" warning, for the
    corpus export's own annotations and for any index."""
    text = _text(LS / "sdk_repeater_taxonomy.xml")
    used = _labels_used(LS / "sdk_repeater_taxonomy.json")
    assert used and all("{{" not in n for n in used)
    assert not [w for w in config_warnings(text, used) if "use control" in w]
    assert config_warnings(text, {"labels_17": {"Document Title": 1}, "categories_3": {"Archaea": 1}}) == []
    assert len(config_warnings(text, {"labels_x": {"Document Title": 1}})) == 1


def test_a_chat_control_is_a_control_of_the_diff():
    """Chat (its own object: results name it as to_name) has no toName; the diff's old copy of the
    reader missed it, so a config that gained one reported no control added."""
    chat = _text(LS / "sdk_chat_messages.xml")
    assert set(config_structure(chat)) == set(model_cfg.LabelingConfig(chat).controls) == {"chat"}
    without = re.sub(r"\s*<Chat\b[^>]*/>", "", chat)
    assert diff_config(without, chat)["controls_added"] == ["chat"]
    assert diff_config(chat, without)["controls_removed"] == ["chat"]
