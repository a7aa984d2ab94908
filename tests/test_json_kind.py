"""One walk over a JSON value, :func:`canonical.json_kind`, answers both questions two walks answered before:
is the value its own canonical form (``canonical_json_plain``, the Label Studio JSON reader's fast path,
so snapshot ids), and does orjson write it as the standard library does (``json_text``, the Label Studio
writer). The two walks are copied here as they were, as the oracle: on values at every edge (integers
about 2**53, 2**63, 2**64; floats about 1e-4 and 2**53, -0.0, 5e-324, NaN, infinities; lone surrogates;
nesting about the depth limit; keys that are no text; tuples; bools; subclasses of the leaf types) the
new walk gives the old answers and the two functions the old texts and errors."""

from __future__ import annotations

import enum
import json
import math
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annover.model import canonical as C

# ---------------------------------------------------------------------------
# the oracle: canonical.py's two walks and their two functions before they were one walk

_NOT_PLAIN, _PLAIN, _ORJSON_PLAIN = 0, 1, 2


def old_plainness(obj: Any, depth: int = 0) -> int:
    t = type(obj)
    if t is str or t is int or t is bool or obj is None:
        return _ORJSON_PLAIN
    if t is float:
        if not math.isfinite(obj) or obj.is_integer() and abs(obj) < 2**53:
            return _NOT_PLAIN
        return _ORJSON_PLAIN if abs(obj) >= 1e-4 else _PLAIN
    if depth >= C.MAX_DEPTH or t is not dict and t is not list:
        return _NOT_PLAIN
    if t is dict and not old_text_keys(obj):
        return _NOT_PLAIN
    worst = _ORJSON_PLAIN
    for v in obj.values() if t is dict else obj:
        tv = type(v)
        if tv is str or tv is int or tv is bool or v is None:
            continue
        p = old_plainness(v, depth + 1)
        if p < worst:
            if p == _NOT_PLAIN:
                return p
            worst = p
    return worst


def old_text_keys(obj: dict) -> bool:
    return not obj or {*map(type, obj)} == {str}


def old_canonical_json_plain(obj: Any) -> tuple[str, bool]:
    p = old_plainness(obj)
    if p == _ORJSON_PLAIN:
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode(), True
        except TypeError:
            pass
    if p != _NOT_PLAIN:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False), True
    return C.canonical_json(obj), False


def old_orjson_alike(obj: Any, depth: int = 0) -> bool:
    t = type(obj)
    if t is not dict and t is not list:
        return t is str or t is int or t is bool or obj is None or t is float and old_orjson_float(obj)
    if depth >= C.MAX_DEPTH or t is dict and not old_text_keys(obj):
        return False
    for v in obj.values() if t is dict else obj:
        tv = type(v)
        if tv is str or tv is int or tv is bool or v is None:
            continue
        if not (old_orjson_float(v) if tv is float else old_orjson_alike(v, depth + 1)):
            return False
    return True


def old_orjson_float(f: float) -> bool:
    return math.isfinite(f) and (f == 0 or abs(f) >= 1e-4)


def old_json_text(obj: Any) -> str:
    if old_orjson_alike(obj):
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:
            pass
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# ---------------------------------------------------------------------------
# values at the edges


class _Float(float):
    """A float of another type (as numpy's float64)."""


class _Int(int):
    pass


class _Str(str):
    pass


class _Colour(enum.IntEnum):
    RED = 1


def _near(x: int) -> list[int]:
    return [x + d for d in (-2, -1, 0, 1)] + [-x + d for d in (-1, 0, 1)]


_INTS = st.one_of(st.integers(), st.sampled_from([*_near(2**53), *_near(2**63), *_near(2**64), 0, 1, -1]))
_EDGE_FLOATS = [0.0, -0.0, 1e-4, -1e-4, 9.99e-5, -9.99e-5, math.nextafter(1e-4, 0), math.nextafter(1e-4, 1), 1e-7,
                5e-324, -5e-324, 1e16, 1.5e16, 80.0, -80.0, 1.0, 0.5, 1e22, 1e300, 1.7976931348623157e308,
                *(float(i) for i in _near(2**53)), 2.0**53 + 2, 2.0**63, 2.0**64, math.nextafter(2.0**53, 0),
                math.nan, -math.nan, math.inf, -math.inf]
_FLOATS = st.one_of(st.floats(), st.floats(-1e-3, 1e-3), st.floats(2.0**52, 2.0**54), st.sampled_from(_EDGE_FLOATS))
_TEXT = st.one_of(st.text(st.characters(blacklist_categories=()), max_size=5),  # lone surrogates and controls too
                  st.sampled_from(["\ud800", "a\udfffb", "\x00", "\x7f", "é", "\U0001f600", ""]))
_ODD = st.sampled_from([_Float(2.5), _Float(80.0), _Int(3), _Str("s"), _Colour.RED, b"x", 1j, {1, 2}, object])
_LEAVES = st.one_of(st.none(), st.booleans(), _INTS, _FLOATS, _TEXT, _ODD)
_KEYS = st.one_of(_TEXT, st.sampled_from([1, 0, True, None, 1.5, (1,), _Str("k")]))
_JSON = st.recursive(_LEAVES, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.tuples(kids), st.tuples(kids, kids), st.dictionaries(_TEXT, kids, max_size=4),
    st.dictionaries(_KEYS, kids, min_size=1, max_size=3)), max_leaves=14)


def _nest(leaf: Any, levels: int, shape: str) -> Any:
    """``leaf`` inside ``levels`` lists or dicts (alternating for ``shape`` "mixed")."""
    for i in range(levels):
        as_dict = shape == "dict" or shape == "mixed" and i % 2
        leaf = {"k": leaf, "n": 1.5} if as_dict else [1, leaf, "x"]
    return leaf


_DEEP = st.builds(_nest, _JSON, st.integers(C.MAX_DEPTH - 3, C.MAX_DEPTH + 2) | st.integers(0, 5),
                  st.sampled_from(["list", "dict", "mixed"]))
_VALUES = st.one_of(_JSON, _DEEP)


def _outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except (TypeError, ValueError, RecursionError) as e:
        return type(e).__name__, str(e)


def _kind_of_old(obj: Any) -> int:
    """The bits the new walk gives, from the old walks' answers."""
    return (C.PLAIN if old_plainness(obj) != _NOT_PLAIN else 0) | (C.ORJSON if old_orjson_alike(obj) else 0)


_SETTINGS = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(_VALUES)
def test_one_walk_gives_both_old_answers(obj) -> None:
    """The whole walk's bits are the two old walks' answers. Asked one question (the walk stops where its bit is
    gone), PLAIN is the old plainness, PLAIN with ORJSON exactly the old ORJSON_PLAIN, ORJSON the old orjson walk's."""
    assert C.json_kind(obj) == _kind_of_old(obj)
    plain = C.json_kind(obj, C.PLAIN)
    assert bool(plain & C.PLAIN) == (old_plainness(obj) != _NOT_PLAIN)
    assert (plain == C.ORJSON_PLAIN) == (old_plainness(obj) == _ORJSON_PLAIN)
    assert bool(C.json_kind(obj, C.ORJSON) & C.ORJSON) == old_orjson_alike(obj)


@_SETTINGS
@given(_VALUES)
def test_texts_and_errors_are_the_old_ones(obj) -> None:
    """``canonical_json_plain`` (the snapshot's text of a value) and ``json_text`` give the old text, the old
    plainness and the old error."""
    assert _outcome(C.canonical_json_plain, obj) == _outcome(old_canonical_json_plain, obj)
    assert _outcome(C.json_text, obj) == _outcome(old_json_text, obj)


def test_each_float_edge_alone_and_in_a_list() -> None:
    """Every edge float and integer, alone, in a list and in a dict, without hypothesis' choice of them."""
    for x in [*_EDGE_FLOATS, *_near(2**53), *_near(2**63), *_near(2**64), True, False, _Float(1e-5), _Float(3.0)]:
        for obj in (x, [x], {"v": x}, [[x, 2.5]], (x,)):
            assert C.json_kind(obj) == _kind_of_old(obj), obj
            assert _outcome(C.canonical_json_plain, obj) == _outcome(old_canonical_json_plain, obj), obj
            assert _outcome(C.json_text, obj) == _outcome(old_json_text, obj), obj


def test_the_depth_limit_is_where_it_was() -> None:
    for levels in range(C.MAX_DEPTH - 2, C.MAX_DEPTH + 3):
        for leaf in (1, 2.5, 80.0, 1e-5, "x"):
            obj = _nest(leaf, levels, "mixed")
            assert C.json_kind(obj) == _kind_of_old(obj), (levels, leaf)
            assert _outcome(C.canonical_json_plain, obj) == _outcome(old_canonical_json_plain, obj)
            assert _outcome(C.json_text, obj) == _outcome(old_json_text, obj)
