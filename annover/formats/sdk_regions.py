"""Result items label-studio-sdk's per-region check surely accepts, told without importing it.

The SDK's check (``LabelInterface.validate_region``) is the authority on a result's value, but
importing it costs a command about 1.4 s of CPU (2.3 s where jupyter's extras put
``rfc3987-syntax`` beside ``jsonschema``: its grammar is built at import), more than a small
snapshot takes in all. For the result types people label most, :func:`surely_valid` makes the
SDK's own checks on the value (its pydantic models: the fields, their types, their bounds, and its
label check) and says True only where every one passes; anything it is unsure of (another type, a
value pydantic would have to convert, a control with aliases or labels from the task data, a
Repeater) is left to the SDK. It never accepts what the SDK refuses: property tests hold it to
the SDK's verdict.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any, Callable

from annover._lazy import lazy
from annover.model.config import LABEL_TAGS, SELF_REFERENCING, Control, LabelingConfig

if TYPE_CHECKING:
    import defusedxml.ElementTree as DET
else:
    DET = lazy("defusedxml.ElementTree")

__all__ = ["surely_valid"]

_BOX = {"x": 100, "y": 100, "width": 100, "height": 100}
_ELLIPSE = {"x": 100, "y": 100, "radiusX": 50, "radiusY": 50}
_POINT = {"x": 100, "y": 100}
_TURN = {"rotation": 360}

#: label key (None: the SDK checks no labels), the value's number fields with the bound the SDK's model gives
#: each (``confloat(le=...)``, None: a number without a bound), its optional number fields (absent or None is
#: the model's default); by result type (the control's tag, lower case). What else a type's model asks is
#: in :data:`_OTHER_FIELDS`.
_MODELS: dict[str, tuple[str | None, dict[str, float | None], dict[str, float | None]]] = {
    "choices": ("choices", {}, {}),
    "labels": ("labels", {}, {}),
    "hypertextlabels": ("hypertextlabels", {}, {}),
    "paragraphlabels": ("paragraphlabels", {}, {}),
    "timeserieslabels": ("timeserieslabels", {}, {}),
    "rectangle": (None, _BOX, _TURN),
    "rectanglelabels": ("rectanglelabels", _BOX, _TURN),
    "ellipse": (None, _ELLIPSE, _TURN),
    "ellipselabels": ("ellipselabels", _ELLIPSE, _TURN),
    "keypoint": (None, _POINT, {}),
    "keypointlabels": ("keypointlabels", _POINT, {}),
    "polygon": (None, {}, {}),
    "polygonlabels": ("polygonlabels", {}, {}),
    "brush": (None, {}, {}),
    "magicwand": (None, {}, {}),
    "brushlabels": ("brushlabels", {}, {}),
    "textarea": (None, {}, {}),
    "number": (None, {"number": None}, {}),
    "datetime": (None, {}, {}),
    "pairwise": (None, {}, {}),
    "rating": (None, {}, {}),
    "taxonomy": (None, {}, {}),
    "ranker": (None, {}, {}),
}
#: result types whose control must have no labels (the SDK checks the value's field as labels: a
#: number's, a text's characters)
_NO_LABELS = frozenset({"textarea", "number", "datetime", "pairwise"})
#: config text -> :func:`_labels_as_the_sdks` of it (asked for every result; a config's tags are its text's)
_SDK_LABELS: dict[str, bool] = {}


def surely_valid(item: dict, ctl: Control, config: LabelingConfig, to_name: Any) -> bool:
    """Whether label-studio-sdk's ``validate_region`` surely finds nothing wrong with ``item``, a result
    of control ``ctl`` on object ``to_name`` (False: ask the SDK)."""
    kind = item.get("type")
    value = item.get("value")
    if kind not in _MODELS or not isinstance(value, dict) or not _plain_control(item, ctl, config, to_name):
        return False
    label_key, numbers, optional = _MODELS[kind]
    if ctl.tag.lower() != kind or (kind in _NO_LABELS and ctl.labels) or isinstance(value.get(ctl.name), dict):
        return False
    if label_key is not None and not _labels_in(value.get(label_key), ctl):
        return False
    if not all(_number(value.get(k), bound) for k, bound in numbers.items()):
        return False
    if not all(value.get(k) is None or _number(value[k], bound) for k, bound in optional.items()):
        return False
    other = _OTHER_FIELDS.get(kind)
    return other is None or other(value, ctl, config)


def _plain_control(item: dict, ctl: Control, config: LabelingConfig, to_name: Any) -> bool:
    """The result names the control and an object of it as they are in the config, and the control's
    labels are the SDK's (no alias, none from the task data, no Repeater's names)."""
    return (item.get("from_name") == ctl.name and item.get("to_name") == to_name and isinstance(to_name, str)
            and to_name in ctl.to_name and to_name in config.objects and not ctl.dynamic and not ctl.aliases
            and "{{" not in config.text and _labels_as_the_sdks(config))


def _labels_as_the_sdks(config: LabelingConfig) -> bool:
    """No tag where the SDK collects labels otherwise than the config model: a ``<Choice name=...>``
    is an object or a control to the SDK and none of its control's labels (the model counts it
    as both), and a Chat or ReactCode without ``toName`` is no control yet when the SDK reads
    the labels inside it (the model gives them to it, not to the control around it)."""
    known = _SDK_LABELS.get(config.text)
    if known is None:
        if len(_SDK_LABELS) > 64:
            _SDK_LABELS.clear()
        tags = [t.tag for t in (*config.objects.values(), *config.controls.values())]
        known = _SDK_LABELS[config.text] = not any(t in LABEL_TAGS or t.lower() in SELF_REFERENCING for t in tags)
    return known


def _labels_in(labels: Any, ctl: Control) -> bool:
    """A list of label texts the control has (any, where it lists none: the SDK's rule)."""
    return _texts(labels) and (not ctl.labels or set(labels) <= set(ctl.labels))


def _texts(v: Any) -> bool:
    return isinstance(v, list) and all(type(x) is str for x in v)


def _number(v: Any, bound: float | None) -> bool:
    """An int or a finite float (no bool, no text pydantic would convert), at most ``bound``."""
    if type(v) not in (int, float):
        return False
    try:
        f = float(v)
    except OverflowError:
        return False
    return math.isfinite(f) and (bound is None or f <= bound)


def _span(value: dict, *_: Any) -> bool:
    """``start`` and ``end`` as ``SpanSelection`` takes them unconverted: a text (HyperText's XPath,
    a paragraph's index) or a finite number."""
    return all(type(value.get(k)) is str or _number(value.get(k), None) for k in ("start", "end"))


def _span_offsets(value: dict, *_: Any) -> bool:
    """A span, and its ``startOffset`` / ``endOffset`` absent, None or an int of at least 0."""
    return _span(value) and all(value.get(k) is None or (type(value[k]) is int and value[k] >= 0)
                                for k in ("startOffset", "endOffset"))


def _time_span(value: dict, *_: Any) -> bool:
    """A span, and ``instant`` a bool (pydantic would convert 0, 1, "true"...)."""
    return _span(value) and type(value.get("instant")) is bool


def _points(value: dict, *_: Any) -> bool:
    """``points``: pairs of finite numbers, each at most 100."""
    points = value.get("points")
    return isinstance(points, list) and all(
        isinstance(p, list) and len(p) == 2 and all(_number(c, 100) for c in p) for p in points)


def _rle(value: dict, *_: Any) -> bool:
    """``rle``: a non-empty list of bytes (ints 0-255), ``format`` absent or a text (None is refused:
    the model's default applies only to an absent field)."""
    rle = value.get("rle")
    return ("format" not in value or type(value["format"]) is str) and isinstance(rle, list) and bool(rle) \
        and all(type(b) is int and 0 <= b <= 255 for b in rle)


def _rating(value: dict, ctl: Control, config: LabelingConfig) -> bool:
    """``rating``: an int from 0 to the control's ``maxRating`` (5 without one), read as the SDK reads it."""
    rating = value.get("rating")
    if type(rating) is not int:
        return False
    given = _control_attribute(config.text, ctl.name, "maxRating")
    try:
        most = 5 if given is None else int(given)
    except ValueError:  # the SDK's int() raises too ("", "five"): its check says so
        return False
    return 0 <= rating <= most


def _taxonomy(value: dict, ctl: Control, *_: Any) -> bool:
    """``taxonomy``: a list of paths (lists of label texts), every label one the control has."""
    paths = value.get("taxonomy")
    return isinstance(paths, list) and all(_labels_in(p, ctl) for p in paths)


def _ranker(value: dict, *_: Any) -> bool:
    """``ranker``: texts -> lists of texts (the SDK's own check for it; no labels, no nesting)."""
    ranked = value.get("ranker")
    return isinstance(ranked, dict) and all(type(k) is str and _texts(v) for k, v in ranked.items())


def _text_field(key: str) -> Callable[..., bool]:
    return lambda value, *_: type(value.get(key)) is str


#: what a type's model asks beyond labels and bounded numbers: value, control, config -> all is as it asks
_OTHER_FIELDS: dict[str, Callable[[dict, Control, LabelingConfig], bool]] = {
    "labels": _span, "hypertextlabels": _span_offsets, "paragraphlabels": _span_offsets,
    "timeserieslabels": _time_span, "polygon": _points, "polygonlabels": _points, "brush": _rle,
    "magicwand": _rle, "brushlabels": _rle, "textarea": lambda value, *_: _texts(value.get("text")),
    "datetime": _text_field("datetime"), "pairwise": _text_field("selected"), "rating": _rating,
    "taxonomy": _taxonomy, "ranker": _ranker,
}


@functools.lru_cache(maxsize=64)
def _control_attribute(text: str, name: str, attr: str) -> str | None:
    """The ``attr`` attribute of the control ``name`` in the config ``text`` (None without one)."""
    root = DET.fromstring(text, forbid_dtd=True)
    return next((el.get(attr) for el in root.iter() if el.get("name") == name and el.get("toName")), None)
