"""Result items label-studio-sdk's per-region check surely accepts, told without importing it.

The SDK's check (``LabelInterface.validate_region``) is the authority on a result's value, but
importing it costs a command about 1.4 s of CPU (2.3 s where jupyter's extras put
``rfc3987-syntax`` beside ``jsonschema``: its grammar is built at import), more than a small
snapshot takes in all. For the result types people label most, :func:`surely_valid` makes the
SDK's own checks on the value (its pydantic models: the fields, their types, their bounds, and its
label check) and says True only where every one passes; anything it is unsure of (another type, a
value pydantic would have to convert, a control with aliases or labels from the task data, a
Repeater) is left to the SDK. It never accepts what the SDK refuses: a property test holds it to
the SDK's verdict.
"""

from __future__ import annotations

import math
from typing import Any

from annover.model.config import LABEL_TAGS, SELF_REFERENCING, Control, LabelingConfig

__all__ = ["surely_valid"]

#: label key, the value's number fields with the bound the SDK's model gives each (``confloat(le=...)``,
#: None: a number without a bound), the list-of-text fields; by result type (the control's tag, lower case)
_MODELS: dict[str, tuple[str | None, dict[str, float | None], tuple[str, ...]]] = {
    "choices": ("choices", {}, ()),
    "labels": ("labels", {}, ()),
    "rectangle": (None, {"x": 100, "y": 100, "width": 100, "height": 100}, ()),
    "rectanglelabels": ("rectanglelabels", {"x": 100, "y": 100, "width": 100, "height": 100}, ()),
    "keypointlabels": ("keypointlabels", {"x": 100, "y": 100}, ()),
    "polygonlabels": ("polygonlabels", {}, ()),
    "textarea": (None, {}, ("text",)),
    "number": (None, {"number": None}, ()),
}
#: optional number fields: absent or None is the model's default
_OPTIONAL = {"rectangle": {"rotation": 360}, "rectanglelabels": {"rotation": 360}}
#: result types whose control must have no labels (the SDK checks the value's field as labels)
_NO_LABELS = frozenset({"textarea", "number"})


def surely_valid(item: dict, ctl: Control, config: LabelingConfig, to_name: Any) -> bool:
    """Whether label-studio-sdk's ``validate_region`` surely finds nothing wrong with ``item``, a result
    of control ``ctl`` on object ``to_name`` (False: ask the SDK)."""
    kind = item.get("type")
    value = item.get("value")
    if kind not in _MODELS or not isinstance(value, dict) or not _plain_control(item, ctl, config, to_name):
        return False
    label_key, numbers, texts = _MODELS[kind]
    if ctl.tag.lower() != kind or (kind in _NO_LABELS and ctl.labels) or isinstance(value.get(ctl.name), dict):
        return False
    if label_key is not None and not _labels_in(value.get(label_key), ctl):
        return False
    if not all(_number(value.get(k), bound) for k, bound in numbers.items()):
        return False
    if not all(value.get(k) is None or _number(value[k], bound) for k, bound in _OPTIONAL.get(kind, {}).items()):
        return False
    if not all(_texts(value.get(k)) for k in texts):
        return False
    if kind == "labels":
        return all(_number(value.get(k), None) for k in ("start", "end"))
    if kind == "polygonlabels":
        points = value.get("points")
        return isinstance(points, list) and all(
            isinstance(p, list) and len(p) == 2 and all(_number(c, 100) for c in p) for p in points)
    return True


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
    tags = [t.tag for t in (*config.objects.values(), *config.controls.values())]
    return not any(t in LABEL_TAGS or t.lower() in SELF_REFERENCING for t in tags)


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
