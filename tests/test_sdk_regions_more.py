"""The fast result check (:mod:`annover.formats.sdk_regions`) against label-studio-sdk, beyond
tests/test_sdk_regions.py: values the SDK may read otherwise than it (NaN, inf, -0.0, huge ints,
bools, numbers as text, nested lists, None, extra keys, labels in other scripts, cases and
spacings), configs whose labels the SDK collects otherwise, and the result types past the common
ones (rating, taxonomy, datetime, spans on audio / HyperText / Paragraphs / TimeSeries, ellipses,
brushes, ranker, pairwise). What the fast check accepts, the SDK's ``validate_region`` accepts.
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

from .conftest import ROOT, shared_corpus

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

#: one control of each type past the common ones
MORE = """<View>
  <Text name="text" value="$text"/>
  <Image name="img" value="$image"/>
  <HyperText name="html" value="$html"/>
  <Paragraphs name="dialog" value="$dialog" layout="dialogue"/>
  <TimeSeries name="ts" value="$ts" valueType="url" timeColumn="time"><Channel column="v"/></TimeSeries>
  <Audio name="audio" value="$audio"/>
  <List name="list" value="$items" title="items"/>
  <Text name="left" value="$left"/>
  <Text name="right" value="$right"/>
  <Rating name="stars" toName="text"/>
  <Rating name="ten" toName="text" maxRating="10"/>
  <Rating name="spaced" toName="text" maxRating=" 7 "/>
  <Rating name="half" toName="text" maxRating="3.5"/>
  <Rating name="blank" toName="text" maxRating=""/>
  <DateTime name="labelled" toName="text"><Label value="2024"/></DateTime>
  <Taxonomy name="tax" toName="text">
    <Choice value="A"><Choice value="A1"/><Choice value="a1 "/></Choice><Choice value="B"/>
  </Taxonomy>
  <DateTime name="when" toName="text"/>
  <Labels name="sound" toName="audio"><Label value="speech"/><Label value="noise"/></Labels>
  <HyperTextLabels name="htl" toName="html"><Label value="PER"/></HyperTextLabels>
  <ParagraphLabels name="pl" toName="dialog"><Label value="Q"/></ParagraphLabels>
  <TimeSeriesLabels name="tsl" toName="ts"><Label value="Run"/></TimeSeriesLabels>
  <Ellipse name="ell" toName="img"/>
  <EllipseLabels name="ells" toName="img"><Label value="eye"/></EllipseLabels>
  <KeyPoint name="pt" toName="img"/>
  <Polygon name="pg" toName="img"/>
  <Brush name="brush" toName="img"/>
  <BrushLabels name="brushes" toName="img"><Label value="sky"/></BrushLabels>
  <MagicWand name="wand" toName="img"/>
  <Ranker name="rank" toName="list"/>
  <Pairwise name="pair" toName="left,right"/>
</View>"""

_SPAN = {"start": 0, "end": 4}
_XPATH = {"start": "/p[1]/text()[1]", "end": "/p[1]/text()[1]", "startOffset": 0, "endOffset": 5}

#: control -> (result type, object, a value the SDK accepts), per config
GOOD = {
    QUIRKY: {"mood": ("choices", "text", {"choices": [" pos ", "猫"]}),
             "ner": ("labels", "text", {**_SPAN, "labels": ["per "]}),
             "box": ("rectanglelabels", "img", {"x": 1, "y": 2, "width": 3, "height": 4, "rectanglelabels": ["Cat"]}),
             "kp": ("keypointlabels", "img", {"x": 1, "y": 2, "keypointlabels": ["É"]}),
             "poly": ("polygonlabels", "img", {"points": [[1, 2], [3, 4], [5, 6]], "polygonlabels": ["e\u0301"]}),
             "count": ("number", "text", {"number": -0.0}), "note": ("textarea", "text", {"text": ["猫", ""]})},
    MORE: {"stars": ("rating", "text", {"rating": 5}), "ten": ("rating", "text", {"rating": 10}),
           "spaced": ("rating", "text", {"rating": 7}),
           "tax": ("taxonomy", "text", {"taxonomy": [["A", "A1"], ["B"]]}),
           "when": ("datetime", "text", {"datetime": "2024-05-01T10:00"}),
           "sound": ("labels", "audio", {"start": 0.5, "end": 2.25, "labels": ["speech"]}),
           "htl": ("hypertextlabels", "html", {**_XPATH, "hypertextlabels": ["PER"]}),
           "pl": ("paragraphlabels", "dialog", {"start": "0", "end": "1", "startOffset": 0, "endOffset": 3,
                                                "paragraphlabels": ["Q"]}),
           "tsl": ("timeserieslabels", "ts", {"start": 4, "end": 23, "instant": False, "timeserieslabels": ["Run"]}),
           "ell": ("ellipse", "img", {"x": 10, "y": 20, "radiusX": 5, "radiusY": 50, "rotation": 0}),
           "ells": ("ellipselabels", "img", {"x": 10, "y": 20, "radiusX": 5, "radiusY": 5, "ellipselabels": ["eye"]}),
           "pt": ("keypoint", "img", {"x": 10, "y": 20}),
           "pg": ("polygon", "img", {"points": [[1, 2], [3, 4], [5, 6]]}),
           "brush": ("brush", "img", {"format": "rle", "rle": [0, 17, 255]}),
           "brushes": ("brushlabels", "img", {"rle": [1, 2, 3], "brushlabels": ["sky"]}),
           "wand": ("magicwand", "img", {"format": "rle", "rle": [9]}),
           "rank": ("ranker", "list", {"ranker": {"rank": ["b", "a"]}}),
           "pair": ("pairwise", "left", {"selected": "left"})},
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
    return {text: LabelingConfig(text, "test.xml") for text in (QUIRKY, MORE)}


def _fast(item: dict, config: LabelingConfig) -> bool:
    ctl = config.controls.get(item["from_name"])
    return ctl is not None and surely_valid(item, ctl, config, item["to_name"])


def _agrees(item: dict, config: LabelingConfig) -> bool:
    """Whether the fast check decided ``item`` (it holds the SDK to accepting it)."""
    if not _fast(item, config):
        return False
    assert config.region_errors(item) == [], item
    return True


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(item=results(QUIRKY))
def test_odd_values_and_labels_the_fast_check_accepts_the_sdk_accepts(configs, item):
    _agrees(item, configs[QUIRKY])


@settings(max_examples=800, deadline=None, derandomize=True, database=None)
@given(item=results(MORE))
def test_results_of_the_further_types_the_fast_check_accepts_the_sdk_accepts(configs, item):
    _agrees(item, configs[MORE])


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


def test_a_rating_up_to_its_controls_max_rating_as_the_sdk_reads_it(configs):
    """maxRating absent (5), "10", " 7 " (int() takes it), "3.5" and "" (int() refuses them: the SDK
    refuses every rating)."""
    decided = {name: sum(_agrees({"from_name": name, "to_name": "text", "type": "rating", "value": {"rating": r}},
                                 configs[MORE]) for r in range(-2, 13)) for name in ("stars", "ten", "spaced",
                                                                                     "half", "blank")}
    assert decided["stars"] and decided["ten"] and decided["spaced"]


def test_a_datetime_of_a_control_with_labels_is_left_to_the_sdk(configs):
    """The SDK checks a datetime's characters against such a control's labels."""
    for when in ("2024", "2024-05-01", "", "0"):
        _agrees({"from_name": "labelled", "to_name": "text", "type": "datetime", "value": {"datetime": when}},
                configs[MORE])


def _corpus_results():
    for xml in sorted(shared_corpus("label-studio").glob("*.xml")):
        path = xml.with_suffix(".json")
        tasks = json.loads(path.read_text()) if path.is_file() else []
        for task in tasks if isinstance(tasks, list) else [tasks]:
            for answer in (task.get("annotations") or []) + (task.get("predictions") or []):
                for item in answer.get("result") or [] if isinstance(answer, dict) else []:
                    yield xml, item


def test_on_the_corpus_the_further_types_agree_with_the_sdk():
    """Every corpus result of the further types the fast check decides, the SDK accepts; and each such
    type the SDK accepts somewhere in the corpus, the fast check decides somewhere too."""
    further = {kind for good in GOOD.values() for kind, _, _ in good.values()} - {
        kind for kind, _, _ in GOOD[QUIRKY].values()}
    configs: dict = {}
    decided, accepted = set(), set()
    for xml, item in _corpus_results():
        cfg = configs.setdefault(xml, LabelingConfig.from_file(str(xml)))
        ctl = cfg.controls.get(item.get("from_name"))
        if item.get("type") not in further or ctl is None or not isinstance(item.get("value"), dict):
            continue
        if surely_valid(item, ctl, cfg, item.get("to_name")):
            decided.add(item["type"])
            assert cfg.region_errors(item) == [], (xml.name, item)
        elif "{{" not in cfg.text and not cfg.region_errors(item):
            accepted.add(item["type"])
    assert decided and accepted <= decided


def test_a_snapshot_of_the_further_types_does_not_import_the_sdk(tmp_path):
    """Corpus exports of number, datetime, textarea, taxonomy and timeserieslabels results snapshot
    without label-studio-sdk's per-region check (with each config's verdict cached, as after its first use)."""
    exports = [str(shared_corpus("label-studio") / n) for n in ("fe_mixed_controls", "fe_taxonomy", "fe_timeseries")]
    for export in exports:
        LabelingConfig.from_file(export + ".xml").wait()  # the verdict, cached for the process below
    script = ("import sys, annover\n"
              "for n, export in enumerate(sys.argv[2:]):\n"
              "    r = annover.init(f'{sys.argv[1]}/{n}')\n"
              "    r.snapshot(export + '.json', config=export + '.xml', message='m')\n"
              "print(sorted(m for m in sys.modules if m.startswith('label_studio_sdk')))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path), *exports], env=env, check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == "[]"
