"""The fast result check (:mod:`annover.formats.sdk_regions`) against label-studio-sdk, beyond
tests/test_sdk_regions.py: values the SDK may read otherwise than it (NaN, inf, -0.0, huge ints,
bools, numbers as text, nested lists, None, extra keys, labels in other scripts, cases and
spacings), and configs whose labels the SDK collects otherwise. What the fast check accepts, the
SDK's ``validate_region`` accepts.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annover.formats.sdk_regions import surely_valid
from annover.model.config import LabelingConfig

#: labels that differ from one another only by case, spacing, accents written two ways, or script
QUIRKY = """<View>
  <Text name="text" value="$text"/>
  <Image name="img" value="$image"/>
  <Choices name="mood" toName="text" choice="multiple">
    <Choice value=" pos "/><Choice value="Neg"/><Choice value="café"/><Choice value="猫"/>
  </Choices>
  <Labels name="ner" toName="text"><Label value="PER"/><Label value="per "/></Labels>
  <RectangleLabels name="box" toName="img">
    <View name="group"><Label value="Cat"/></View><Label value="dog"/>
  </RectangleLabels>
  <KeyPointLabels name="kp" toName="img"><Label value="É"/></KeyPointLabels>
  <PolygonLabels name="poly" toName="img"><Label value="e\u0301"/></PolygonLabels>
  <Number name="count" toName="text"/>
  <TextArea name="note" toName="text"/>
</View>"""

_SPAN = {"start": 0, "end": 4}

#: control -> (result type, object, a value the SDK accepts), per config
GOOD = {
    QUIRKY: {"mood": ("choices", "text", {"choices": [" pos ", "猫"]}),
             "ner": ("labels", "text", {**_SPAN, "labels": ["per "]}),
             "box": ("rectanglelabels", "img", {"x": 1, "y": 2, "width": 3, "height": 4, "rectanglelabels": ["Cat"]}),
             "kp": ("keypointlabels", "img", {"x": 1, "y": 2, "keypointlabels": ["É"]}),
             "poly": ("polygonlabels", "img", {"points": [[1, 2], [3, 4], [5, 6]], "polygonlabels": ["e\u0301"]}),
             "count": ("number", "text", {"number": -0.0}), "note": ("textarea", "text", {"text": ["猫", ""]})},
}

#: labels as the configs write them, and as they do not (case, spacing, composed or not, other scripts)
LABELS = (" pos ", "pos", "Pos ", "Neg", "neg", "NEG", "café", "cafe\u0301", "猫", "PER", "per", "per ", "Cat",
          "cat", "dog", "É", "é", "e\u0301", "A", "A1", "a1", "a1 ", "B", "Q", "Run", "eye", "sky", "speech", "",
          " ", "\u200b")
#: values the SDK's pydantic models may convert, refuse or take as they are
ADVERSE = (float("nan"), float("inf"), -float("inf"), -0.0, 0.0, 0, 1, 5, 7, 10, 11, 49.9, 50, 50.5, 99.99999, 100,
           100.0, 100.0000001, 255, 256, 360, 361, -1, -1e308, 1e308, 2 ** 53 + 1, 2 ** 63, 2 ** 64, 10 ** 308,
           10 ** 309, -(10 ** 400), True, False, "1", "1.5", " 2", "nan", "inf", "1e3", "-0", "", "left", None, [],
           [1], [[1]], [None], [True], [1.0], [0, 256], ["1"], [[1, 2]], [(1, 2)], {}, {"v": 1}, {"rank": ["a"]},
           {"rank": "a"}, {1: ["a"]}, {"rank": [1]}, [["A"]], [["A", "zz"]], [[]], ["A"], [["A", None]], "A", "rle")
FIELDS = ("x", "y", "width", "height", "rotation", "radiusX", "radiusY", "start", "end", "startOffset", "endOffset",
          "instant", "number", "rating", "datetime", "selected", "text", "points", "rle", "format", "ranker",
          "taxonomy", "choices", "labels", "rectanglelabels", "keypointlabels", "polygonlabels", "ellipselabels",
          "brushlabels", "hypertextlabels", "paragraphlabels", "timeserieslabels", "score", "extra")

_labels = st.lists(st.sampled_from(LABELS), max_size=3)
_anything = st.one_of(st.sampled_from(ADVERSE), _labels, st.lists(_labels, max_size=2), st.integers(),
                      st.floats(), st.text(max_size=3),
                      st.lists(st.lists(st.sampled_from(ADVERSE[:40]), max_size=3), max_size=3))


@st.composite
def results(draw, config: str) -> dict:
    """A good result of a control of ``config``, then 0-3 changes: a field (its own or another) set to an
    odd value or dropped, a key added, another type, object or control, the value nested under the
    control's name (which the SDK also reads) or that name given a value that is no object."""
    good = GOOD[config]
    name = draw(st.sampled_from(sorted(good)))
    kind, obj, value = good[name]
    item = {"from_name": name, "to_name": obj, "type": kind, "value": json.loads(json.dumps(value))}
    for _ in range(draw(st.integers(0, 3))):
        change = draw(st.sampled_from(("field", "field", "field", "drop", "type", "to_name", "from_name", "nest")))
        value = item["value"]
        if change == "field":
            own = sorted(value) if value and draw(st.integers(0, 3)) else FIELDS
            value[draw(st.sampled_from(own))] = draw(_anything)
        elif change == "drop" and value:
            del value[draw(st.sampled_from(sorted(value)))]
        elif change == "type":
            item["type"] = draw(st.sampled_from(sorted({k for k, _, _ in good.values()} | {"labels", "choices"})))
        elif change == "to_name":
            item["to_name"] = draw(st.sampled_from(sorted({o for _, o, _ in good.values()} | {name, "nope"})))
        elif change == "from_name":
            item["from_name"] = draw(st.sampled_from(sorted(good)))
        elif change == "nest":
            item["value"] = {item["from_name"]: draw(st.sampled_from((value, "x", [value], None)))}
    return item


@pytest.fixture(scope="module")
def configs() -> dict[str, LabelingConfig]:
    return {text: LabelingConfig(text, "test.xml") for text in (QUIRKY,)}


def _fast(item: dict, config: LabelingConfig) -> bool:
    ctl = config.controls.get(item["from_name"])
    return ctl is not None and surely_valid(item, ctl, config, item["to_name"])


def _agrees(item: dict, config: LabelingConfig) -> bool:
    """Whether the fast check decided ``item`` (it holds the SDK to accepting it)."""
    if not _fast(item, config):
        return False
    assert config.region_errors(item) == [], item
    return True


@settings(max_examples=700, deadline=None, derandomize=True, database=None)
@given(item=results(QUIRKY))
def test_odd_values_and_labels_the_fast_check_accepts_the_sdk_accepts(configs, item):
    _agrees(item, configs[QUIRKY])


def test_each_good_value_passes_both(configs):
    """It is not a check that says False to everything: every control's good result passes the SDK and it."""
    for text, good in GOOD.items():
        for name, (kind, obj, value) in good.items():
            item = {"from_name": name, "to_name": obj, "type": kind, "value": value}
            assert configs[text].region_errors(item) == [], item
            assert _fast(item, configs[text]), item


def test_every_single_odd_field_the_fast_check_accepts_the_sdk_accepts(configs):
    """Exhaustively: each control's good result with one field (its own, or one another type has) set
    to each odd value, or dropped; the SDK accepts all the fast check accepts."""
    decided = tried = 0
    for text, good in GOOD.items():
        for name, (kind, obj, value) in good.items():
            for key in sorted({*value, *FIELDS[:16]}):
                for odd in (*ADVERSE, *((label,) for label in LABELS), "drop"):
                    v = {k: x for k, x in value.items() if k != key}
                    if odd != "drop":
                        v[key] = list(odd) if isinstance(odd, tuple) else odd
                    tried += 1
                    decided += _agrees({"from_name": name, "to_name": obj, "type": kind, "value": v}, configs[text])
    assert 0 < decided < tried


#: a ``<Choice>`` with a name is an object (or, with a toName, a control) to the SDK and none of its control's labels
NAMED = """<View>
  <Text name="text" value="$text"/>
  <Choices name="named" toName="text"><Choice name="first" value="a"/><Choice value="b"/></Choices>
  <Choices name="inner" toName="text"><Choice name="own" toName="text" value="c"/><Choice value="d"/></Choices>
</View>"""


def test_a_label_tag_with_a_name_is_left_to_the_sdk():
    config = LabelingConfig(NAMED, "named.xml")
    for name in ("named", "inner"):
        for label in "abcd":
            _agrees({"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": [label]}}, config)
