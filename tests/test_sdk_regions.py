"""Result items checked without importing label-studio-sdk (:mod:`annover.formats.sdk_regions`).

What the fast check accepts, the SDK's ``validate_region`` must accept too: over generated items of
every kind (good ones, and numbers as text, bools, NaN, bounds crossed, labels the config lacks,
lists of other things, names that do not match), and over every result of the corpus's real
exports. And a snapshot of plain Label Studio JSON does not import the SDK at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annover.formats.sdk_regions import surely_valid
from annover.model.config import LabelingConfig

from .conftest import EXAMPLES, ROOT, shared_corpus

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Image name="img" value="$image"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
  <Choices name="tags" toName="text" choice="multiple"><Choice value="a"/><Choice value="b"/></Choices>
  <Choices name="aliased" toName="text"><Choice value="long name" alias="ln"/><Choice value="other"/></Choices>
  <Choices name="dyn" toName="text" value="$options"/>
  <Labels name="ner" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
  <RectangleLabels name="box" toName="img"><Label value="cat"/><Label value="dog"/></RectangleLabels>
  <Rectangle name="plainbox" toName="img"/>
  <KeyPointLabels name="kp" toName="img"><Label value="nose"/></KeyPointLabels>
  <PolygonLabels name="poly" toName="img"><Label value="cat"/></PolygonLabels>
  <TextArea name="note" toName="text"/>
  <Number name="count" toName="text"/>
  <Rating name="stars" toName="text"/>
</View>"""

KINDS = ("choices", "labels", "rectanglelabels", "rectangle", "keypointlabels", "polygonlabels", "textarea",
         "number", "rating")
CONTROLS = ("sentiment", "tags", "aliased", "dyn", "ner", "box", "plainbox", "kp", "poly", "note", "count",
            "stars", "missing")
LABELS = ("pos", "neg", "a", "b", "ln", "long name", "PER", "ORG", "cat", "dog", "nose", "other", "")

#: numbers the way files hold them, and what pydantic would convert or refuse
_number = st.one_of(st.integers(-10, 120), st.floats(-1e3, 1e3), st.sampled_from(
    (0, 100, 100.0, 100.0000001, 360, 361, -0.0, float("nan"), float("inf"), -float("inf"), True, False, "10", "x",
     None, 10 ** 400, -(10 ** 400), [1], {"v": 1})))
_labels = st.one_of(st.lists(st.sampled_from(LABELS), max_size=3), st.sampled_from(("pos", None, [1], [None], [["a"]])))
_points = st.one_of(st.lists(st.lists(_number, min_size=1, max_size=3), min_size=1, max_size=4),
                    st.lists(st.lists(st.integers(0, 100), min_size=2, max_size=3), min_size=1, max_size=3),
                    st.sampled_from(([[1, 2]], [(1, 2)], "x", None)))


#: control -> (result type, object): the results each control makes
MAKES = {"sentiment": ("choices", "text"), "tags": ("choices", "text"), "aliased": ("choices", "text"),
         "dyn": ("choices", "text"), "ner": ("labels", "text"), "box": ("rectanglelabels", "img"),
         "plainbox": ("rectangle", "img"), "kp": ("keypointlabels", "img"), "poly": ("polygonlabels", "img"),
         "note": ("textarea", "text"), "count": ("number", "text"), "stars": ("rating", "text")}
_FIELDS = ("x", "y", "width", "height", "rotation", "start", "end", "number", "rating", "choices", "labels",
           "rectanglelabels", "keypointlabels", "polygonlabels", "text", "points")


@st.composite
def items(draw) -> dict:
    """A good result of a control, then 0-3 changes: a field made odd or dropped, another type, object or
    control, the value nested under the control's name (which the SDK also reads)."""
    name = draw(st.sampled_from(sorted(MAKES)))
    kind, obj = MAKES[name]
    item = {"from_name": name, "to_name": obj, "type": kind, "value": dict(_good(kind))}
    if name == "aliased":
        item["value"] = {"choices": [draw(st.sampled_from(("ln", "long name", "other")))]}
    for _ in range(draw(st.integers(0, 3))):
        change = draw(st.sampled_from(("field", "field", "field", "drop", "type", "to_name", "from_name", "nest")))
        value = item["value"]
        if change == "field":
            own = sorted({*_good(kind), "rotation"} if kind.startswith("rectangle") else _good(kind))
            key = draw(st.sampled_from(own) if draw(st.integers(0, 4)) else st.sampled_from(_FIELDS))
            value[key] = draw(_points if key == "points" else _labels if key in LABEL_FIELDS else _number)
        elif change == "drop" and value:
            del value[draw(st.sampled_from(sorted(value)))]
        elif change == "type":
            item["type"] = draw(st.sampled_from(KINDS))
        elif change == "to_name":
            item["to_name"] = draw(st.sampled_from(("text", "img", "nope")))
        elif change == "from_name":
            item["from_name"] = draw(st.sampled_from(CONTROLS))
        elif change == "nest":
            item["value"] = {item["from_name"]: value}
    return item


LABEL_FIELDS = ("choices", "labels", "rectanglelabels", "keypointlabels", "polygonlabels", "text")


def _good(kind: str) -> dict:
    return {"choices": {"choices": ["pos"]}, "labels": {"start": 0, "end": 4, "labels": ["PER"]},
            "rectanglelabels": {"x": 1, "y": 2.5, "width": 30, "height": 40, "rotation": 0, "rectanglelabels": ["cat"]},
            "rectangle": {"x": 1, "y": 2, "width": 3, "height": 4},
            "keypointlabels": {"x": 10, "y": 20, "width": 1, "keypointlabels": ["nose"]},
            "polygonlabels": {"points": [[1, 2], [3, 4], [5, 6]], "polygonlabels": ["cat"]},
            "textarea": {"text": ["a note"]}, "number": {"number": 3.5}, "rating": {"rating": 4}}[kind]


@pytest.fixture(scope="module")
def config() -> LabelingConfig:
    return LabelingConfig(CONFIG, "test.xml")


def _fast(item: dict, config: LabelingConfig) -> bool:
    ctl = config.controls.get(item["from_name"])
    return ctl is not None and surely_valid(item, ctl, config, item["to_name"])


@settings(max_examples=600, deadline=None, derandomize=True, database=None)
@given(item=items())
def test_what_the_fast_check_accepts_the_sdk_accepts(config, item):
    if _fast(item, config):
        assert config.region_errors(item) == [], item


#: odd values for one field of a good result: numbers across each bound, numbers as pydantic converts them,
#: label lists the config may lack, points of other lengths and beyond 100
ODD = (0, -1, 100, 100.0000001, 101, 150, 360, 360.5, 361, 1e9, -1e9, float("nan"), float("inf"), -float("inf"),
       True, "10", "x", None, 10 ** 400, [1], {"v": 1}, [], ["pos"], ["ln"], ["long name"], ["cat"], ["dog"],
       ["PER"], ["other"], ["nose"], ["zzz"], [""], [None], [["a"]], "pos", [[1, 2]], [[1, 200]], [[1, 2, 3]],
       [[1]], [[True, 1]], [["1", 2]], [[1, float("nan")]], [(1, 2)])


def test_every_single_odd_field_the_fast_check_accepts_the_sdk_accepts(config):
    """Exhaustively: each control's good result with one field (its own, or rotation) set to each odd value,
    or dropped."""
    decided = 0
    for name, (kind, obj) in MAKES.items():
        good = _good(kind)
        for key in sorted({*good, "rotation"}):
            for value in (*ODD, "drop"):
                v = {k: x for k, x in good.items() if k != key}
                if value != "drop":
                    v[key] = value
                item = {"from_name": name, "to_name": obj, "type": kind, "value": v}
                if _fast(item, config):
                    decided += 1
                    assert config.region_errors(item) == [], item
    assert decided > 50


def test_the_fast_check_accepts_the_good_value_of_every_kind(config):
    """It is not a check that says False to everything: each kind's good result passes both."""
    names = {"choices": "sentiment", "labels": "ner", "rectanglelabels": "box", "rectangle": "plainbox",
             "keypointlabels": "kp", "polygonlabels": "poly", "textarea": "note", "number": "count", "rating": "stars"}
    for kind, name in names.items():
        obj = "img" if kind in ("rectanglelabels", "rectangle", "keypointlabels", "polygonlabels") else "text"
        item = {"from_name": name, "to_name": obj, "type": kind, "value": _good(kind)}
        assert config.region_errors(item) == [], kind
        assert _fast(item, config), kind


def _corpus_results():
    folder = shared_corpus("label-studio")
    for path in sorted(folder.glob("*.json")):
        xml = path.with_suffix(".xml")
        if not xml.is_file():
            continue
        tasks = json.loads(path.read_text())
        for task in tasks if isinstance(tasks, list) else [tasks]:
            for answer in (task.get("annotations") or []) + (task.get("predictions") or []):
                for item in answer.get("result") or [] if isinstance(answer, dict) else []:
                    yield xml, item


def test_on_the_corpus_the_fast_check_agrees_with_the_sdk_where_it_decides():
    configs: dict = {}
    decided = 0
    for xml, item in _corpus_results():
        if xml not in configs:
            configs[xml] = LabelingConfig.from_file(str(xml))
        cfg = configs[xml]
        ctl = cfg.controls.get(item.get("from_name"))
        if ctl is not None and isinstance(item.get("value"), dict) \
                and surely_valid(item, ctl, cfg, item.get("to_name")):
            decided += 1
            assert cfg.region_errors(item) == [], (xml.name, item)
    assert decided >= 100  # the corpus's boxes, spans and choices are decided here


def test_a_snapshot_of_plain_label_studio_json_does_not_import_the_sdk(tmp_path):
    """The sample rounds (choices, spans) snapshot without label-studio-sdk's per-region check: it is
    not imported (with the config's verdict cached, as after its first use)."""
    script = (
        "import sys, annover\n"
        "r = annover.init(sys.argv[1])\n"
        "for n in ('round1', 'round2'):\n"
        "    r.snapshot(sys.argv[2] + '/' + n + '.json', config=sys.argv[2] + '/labeling.xml', message=n)\n"
        "print(sorted(m for m in sys.modules if m.startswith('label_studio_sdk')))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ANNOVER_CACHE_DIR": str(tmp_path / "cache")}
    run = [sys.executable, "-c", script, str(tmp_path / "repo"), str(EXAMPLES)]
    subprocess.run(run, env=env, check=True, capture_output=True, text=True)  # first: the config's verdict, cached
    env_again = {**env}
    out = subprocess.run([*run[:3], str(tmp_path / "repo2"), str(EXAMPLES)], env=env_again, check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == "[]"
