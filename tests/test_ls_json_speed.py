"""Label Studio JSON read without the copies it does not need: canonical JSON of a value that is its own
canonical form written as it is (by orjson where orjson writes the same text), a result item's provenance
difference computed from the item's own objects. The texts, rows, tables, snapshot ids, warnings and errors
are those of the general path (the standard library's ``json.dumps`` of ``_canon``'s copy, ``item_out`` read
back from the row's JSON), on generated values, result items and tasks of every shape."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from annover.errors import AnnoverError
from annover.formats import label_studio as L
from annover.formats import ls_results, ls_writer
from annover.formats.text import json_value_problem
from annover.model import canonical as C
from annover.model.config import LabelingConfig

CONFIG = """<View><Text name="text" value="$text"/><Image name="image" value="$image"/>
<Choices name="sentiment" toName="text" choice="single"><Choice value="pos"/><Choice value="neg"/></Choices>
<Labels name="label" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
<RectangleLabels name="box" toName="image"><Label value="car"/></RectangleLabels></View>"""

_FLOATS = st.one_of(st.floats(), st.sampled_from([80.0, 0.0, -0.0, 1e-4, 9.99e-5, 1e-7, 1e16, 2.0**53, 2.0**53 + 2,
                                                  1.5, 5e-324, math.inf, math.nan]))
_TEXT = st.text(st.characters(blacklist_categories=()), max_size=6)  # lone surrogates and controls too
_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70), _FLOATS, _TEXT)
_JSON = st.recursive(_LEAVES, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.tuples(kids, kids), st.dictionaries(_TEXT, kids, max_size=4),
    st.dictionaries(st.integers(0, 3), kids, min_size=1, max_size=2)), max_leaves=12)


class _Subfloat(float):
    """A float of another type (as numpy's), which the general path reads back as a plain float."""


def _outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except (TypeError, ValueError, RecursionError) as e:
        return type(e).__name__, str(e)


def _general_json_text(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_JSON, _JSON.map(lambda v: [v, _Subfloat(2.5)])))
def test_canonical_json_plain_is_canonical_json(obj) -> None:
    """The same text (or the same error); a plain value reads back as itself, number types too."""
    want = _outcome(C.canonical_json, obj)
    got = _outcome(C.canonical_json_plain, obj)
    assert (got[0], got[1][0] if got[0] == "ok" else got[1]) == want
    if got[0] == "ok" and got[1][1]:
        assert ls_writer.same(json.loads(got[1][0]), obj)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON)
def test_json_text_is_the_standard_librarys(obj) -> None:
    assert _outcome(C.json_text, obj) == _outcome(_general_json_text, obj)


def test_orjson_is_not_asked_for_a_float_it_writes_otherwise() -> None:
    """orjson writes 9.99e-05 as 0.0000999; the text is the standard library's."""
    assert C.json_text({"x": 9.99e-05}) == '{"x":9.99e-05}'
    assert C.canonical_json_plain([1e-07, "é"]) == ('[1e-07,"é"]', True)
    assert C.canonical_json_plain({"w": 80.0}) == ('{"w":80}', False)


_IDS = st.one_of(st.none(), st.sampled_from(["r1", "r1/box", "r#2", "", "a/b#3"]), st.integers(-3, 3), st.booleans())
_NAMES = st.one_of(st.sampled_from(["sentiment", "label", "box", "gone", "x#1", "y\n", "7", ""]), st.none())
_VALUES = st.one_of(
    st.fixed_dictionaries({"choices": st.lists(st.sampled_from(["pos", "neg", "odd"]), max_size=3)}),
    st.fixed_dictionaries({"start": st.integers(0, 9), "end": st.one_of(st.integers(0, 9), _FLOATS),
                           "text": _TEXT, "labels": st.lists(st.sampled_from(["PER", "ORG"]), max_size=2)}),
    st.fixed_dictionaries({"x": _FLOATS, "y": st.one_of(st.integers(0, 99), _FLOATS), "width": st.just(10.5),
                           "height": st.floats(0, 100), "rotation": st.sampled_from([0, 0.0, 45.5]),
                           "rectanglelabels": st.lists(st.sampled_from(["car", "bus"]), max_size=2)}),
    st.dictionaries(_TEXT, _JSON, max_size=3), st.none())


@st.composite
def _items(draw) -> dict:
    """A result item as Label Studio writes it, or as a hand edit or a script leaves it."""
    item: dict = {}
    for k, strategy in (("id", _IDS), ("from_name", _NAMES), ("to_name", st.sampled_from(["text", "image", None])),
                        ("type", st.sampled_from(["choices", "labels", "rectanglelabels", "relation", None])),
                        ("value", _VALUES), ("origin", st.sampled_from(["manual", "prediction"])),
                        ("original_width", st.one_of(st.integers(1, 2000), _FLOATS)),
                        ("image_rotation", st.sampled_from([0, 0.0])), ("meta", _JSON)):
        if draw(st.booleans()):
            item[k] = draw(strategy)
    return item


#: Plain JSON of text keys and finite numbers (a result item's ``meta``, a task's ``custom`` that reads).
_PLAIN = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), _TEXT,
                                st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([80.0, 1e-7, 1e16])),
                      lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(_TEXT, kids, max_size=3)),
                      max_leaves=6)


@st.composite
def _ls_items(draw) -> dict:
    """A result item of the config as Label Studio writes it (so that the task reads), now and then with a
    script's extra keys, numbers of another type or text of any code point."""
    name, to, kind = draw(st.sampled_from([("sentiment", "text", "choices"), ("label", "text", "labels"),
                                           ("box", "image", "rectanglelabels")]))
    if kind == "choices":
        value: dict = {"choices": draw(st.lists(st.sampled_from(["pos", "neg"]), min_size=1, max_size=2,
                                                unique=True))}
    elif kind == "labels":
        start = draw(st.integers(0, 9))
        value = {"start": start, "end": draw(st.one_of(st.integers(start, 12), st.just(float(start + 1)))),
                 "text": draw(_TEXT), "labels": draw(st.lists(st.sampled_from(["PER", "ORG"]), min_size=1, max_size=2,
                                                               unique=True))}
    else:
        value = {k: draw(st.one_of(st.floats(0, 50), st.integers(0, 50), st.sampled_from([80.0, 1e-4, 9.99e-5])))
                 for k in ("x", "y", "width", "height")}
        value.update(rotation=draw(st.sampled_from([0, 0.0, 45.5])), rectanglelabels=["car"])
    item = {"id": draw(st.sampled_from(["r1", "r2", "a/b#3", "r1/box"])), "from_name": name, "to_name": to,
            "type": kind, "value": value, "origin": draw(st.sampled_from(["manual", "prediction"]))}
    if kind == "rectanglelabels":
        item.update(original_width=draw(st.one_of(st.integers(1, 2000), st.just(640.0))), original_height=480,
                    image_rotation=draw(st.sampled_from([0, 0.0])))
    if draw(st.booleans()):
        item["meta"] = draw(_PLAIN)
    return item


_ITEMS = st.one_of(_ls_items(), _ls_items(), _ls_items(), _items())


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ITEMS, min_size=1, max_size=4))
@example([{"from_name": "sentiment", "meta": "\ud800"}])  # a lone surrogate: the reader refuses it before
def test_plain_item_diff_is_the_writers_diff(result) -> None:
    """Of every result item the reader takes as plain, the difference is the one ``item_out`` gives."""
    if json_value_problem(result) is not None:  # a lone surrogate: refused (named) before, file or tasks
        return
    try:
        regions = [L._region_row(item, i, "x") for i, item in enumerate(result)]
    except L.RecordError:
        return
    L._assign_region_keys(regions)
    for r in regions:
        if r.pop("_plain"):
            item = result[r["position"]]
            assert L._plain_item_diff(item, r) == ls_writer.diff(item, ls_writer.item_out(r))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*ls_results.LABEL_KEYS, "x", "text", "start"]), st.none(), max_size=6))
def test_label_keys_in_their_order(value) -> None:
    assert ls_results._label_keys(value) == [k for k in ls_results.LABEL_KEYS if k in value]


@st.composite
def _tasks(draw) -> list:
    """Label Studio tasks: annotations by several annotators (some twice), predictions, some unlabeled."""
    tasks = []
    for ti in range(draw(st.integers(1, 4))):
        task: dict = {"id": ti + 1, "data": {"text": draw(_TEXT), "image": f"{ti}.jpg",
                                             **({"n": draw(_FLOATS)} if draw(st.booleans()) else {})}}
        anns = []
        for ai in range(draw(st.integers(0, 3))):
            ann = {"id": 100 * ti + ai, "completed_by": draw(st.sampled_from([1, 2, "a@x.org", {"id": 3}])),
                   "result": draw(st.lists(_ITEMS, max_size=3)), "lead_time": draw(st.sampled_from([1.5, 2.0, 3])),
                   "created_at": draw(st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"]))}
            if draw(st.booleans()):
                ann.update({"task": ti + 1, "project": 7, "prediction": {}, "unique_id": "u",
                            "extra": draw(st.one_of(_PLAIN, _PLAIN, _JSON))})
            anns.append(ann)
        task["annotations"] = anns
        if draw(st.booleans()):
            task["predictions"] = [{"model_version": "m", "score": 0.5, "result": draw(st.lists(_ITEMS, max_size=2))}]
        if draw(st.booleans()):
            task.update({"drafts": [], "meta": draw(st.sampled_from([{}, None, {"a": 1.0}])), "file_upload": None,
                         "total_annotations": len(anns),
                         "custom": draw(st.one_of(_PLAIN, _PLAIN, _JSON))})
        tasks.append(task)
    return tasks


def _read(tasks: list, config: LabelingConfig, key, level) -> tuple:
    """Everything a read gives: the tables (all columns), their snapshot ids, the warnings; or the error."""
    try:
        t = L.from_ls_tasks(tasks, "x.json", config=config, key=key, validate=level)
    except AnnoverError as e:
        return type(e).__name__, str(e), e.hint
    ids = {n: C.content_id(getattr(t, n), n) for n in C.TABLES}
    return ({n: getattr(t, n).to_pylist() for n in C.TABLES}, ids, t.warnings)


@pytest.fixture(scope="module")
def config() -> LabelingConfig:
    return LabelingConfig(CONFIG, source="labeling.xml")


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(_tasks(), st.sampled_from([None, "id"]), st.sampled_from(["check", "warn"]))
def test_tasks_read_as_the_general_path_reads_them(config, monkeypatch, tasks, key, level) -> None:
    """Tables, snapshot ids, warnings and errors are those of the general path (no plain value, the
    standard library's JSON, every label key looked up in turn)."""
    fast = _read(tasks, config, key, level)
    with monkeypatch.context() as m:
        m.setattr(L, "canonical_json_plain", lambda obj: (C.canonical_json(obj), False))
        m.setattr(ls_writer, "json_text", _general_json_text)
        m.setattr(ls_results, "_label_keys", lambda value: [k for k in ls_results.LABEL_KEYS if k in value])
        general = _read(tasks, config, key, level)
    assert fast == general


@pytest.mark.parametrize("where", ["data", "result", "key"])
def test_a_lone_surrogate_in_tasks_given_in_python_is_named(config, where) -> None:
    """Tasks built in Python (no file reader before them) with a lone surrogate: the one-line error a file
    gets, naming the task and the field, not a UnicodeEncodeError from the hash or from pyarrow."""
    item = {"from_name": "sentiment", "to_name": "text", "type": "choices",
            "value": {"choices": ["x\udc00" if where == "result" else "pos"]}}
    data = {"text": "a\ud800b" if where == "data" else "ab", **({"\ud801": 1} if where == "key" else {})}
    tasks = [{"id": 1, "data": {"text": "ok"}, "annotations": []},
             {"id": 2, "data": data, "annotations": [{"id": 5, "result": [item]}],
              **({"custom": {0: None}} if where == "data" else {})}]  # a key Python allows, the data's text first
    with pytest.raises(AnnoverError) as e:
        L.from_ls_tasks(tasks, "given.json", config=config, validate="off")
    field = {"data": "data.text", "result": "annotations[0].result[0].value.choices[0]", "key": "data"}[where]
    assert str(e.value).startswith(f"given.json: task 1 (id 2), field {field}: ")
    assert "lone surrogate" in str(e.value) and "\n" not in str(e.value)


def test_a_lone_surrogate_is_named_though_a_later_task_has_a_key_not_text(config) -> None:
    """The search for the lone surrogate passes a key that is not text (a dict of Python's, which the reader
    refuses in its turn): the one-line error, not an AttributeError of ``int.encode``."""
    tasks = [{"id": 1, "data": {"text": "a\ud800"}, "annotations": []},
             {"id": 2, "data": {"text": "b", "n": {0: 1}}, "annotations": []}]
    with pytest.raises(AnnoverError) as e:
        L.from_ls_tasks(tasks, "given.json", config=config, validate="off")
    assert str(e.value).startswith("given.json: task 0 (id 1), field data.text: ") and "lone surrogate" in str(e.value)
