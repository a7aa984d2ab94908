"""Label Studio result items against the labeling config: their labels, and what is wrong with them.

Label Studio writes some results label-studio-sdk's per-region check refuses; they are
accepted here before the SDK is asked: a result whose ``to_name`` is its own control
(Pairwise, Chat, Ranker), Repeater names (``labels_0`` for ``labels_{{idx}}``), an empty
brush mask (``rle: []``), span labels (``type: labels``) on an image or other non-text
object (only their labels are checked), and results naming a control the config no longer
has (kept; a warning, or an error with ``strict``). Everything else the SDK refuses is a
problem. An answer with more than one choice of a ``choice="single"`` control (which Label
Studio's interface cannot make, its API and scripts can) is kept with a warning, an error
with ``strict``, like a stale control's. Problems are counted per kind, with the first places
each was seen.

Strictness (``validate=``): ``"strict"`` refuses every problem, stale controls included;
``"check"`` (``True``, the default) keeps results of controls the config no longer has with
a warning and refuses the rest; ``"warn"`` keeps everything and warns; ``"off"``
(``False``) checks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Union

from annover.errors import InputError, UsageError, ValidationError
from annover.formats.sdk_regions import surely_valid
from annover.model.config import SELF_NAMED_RESULTS, Control, LabelingConfig

__all__ = ["LABEL_KEYS", "LEVELS", "Problems", "check_answers", "item_problem", "labels_of", "strictness",
           "structure_problem"]

#: Value keys that hold the label(s) of a result, by result type.
LABEL_KEYS = (
    "choices", "labels", "rectanglelabels", "polygonlabels", "keypointlabels", "brushlabels",
    "ellipselabels", "videorectangle", "timeserieslabels", "paragraphlabels", "hypertextlabels",
    "taxonomy", "rating", "pairwise", "selected", "ranker",
)
_LABEL_ORDER = {k: i for i, k in enumerate(LABEL_KEYS)}
#: Value keys that hold a region's coordinates (percent of the image, degrees): numbers, never text.
GEOMETRY_KEYS = ("x", "y", "width", "height", "rotation", "radiusX", "radiusY")
#: Result keys that hold the image's size in pixels.
IMAGE_SIZE_KEYS = ("original_width", "original_height")
#: Strictness levels, strictest first.
LEVELS = ("strict", "check", "warn", "off")
#: Kind of problem Label Studio itself leaves behind when a config is edited.
STALE = "stale"
#: Kind of problem of an answer holding several choices of a ``choice="single"`` control.
SINGLE = "single"
#: The kinds of problem each strictness refuses (the others are kept, with a warning).
_REFUSED = {"strict": ("invalid", STALE, SINGLE), "check": ("invalid",), "warn": ()}
#: Objects span labels (``type: labels``) are checked fully on; elsewhere only their labels.
TEXT_OBJECTS = frozenset({"Text", "HyperText", "Paragraphs"})
_SPAN_TYPES = frozenset({"labels", "hypertextlabels"})
#: How many places are named per kind of problem.
SHOWN = 3

Where = Union[str, Callable[[], str]]


def strictness(validate: bool | str | None) -> str:
    """One of :data:`LEVELS` for ``validate`` (True: ``check``, False/None: ``off``)."""
    if validate is True:
        return "check"
    if validate is False or validate is None:
        return "off"
    if validate in LEVELS:
        return str(validate)
    raise UsageError(f"unknown strictness {validate!r}", f"use one of {', '.join(LEVELS)}")


def labels_of(item: dict) -> list[str] | None:
    """The label strings of one result item (choices, span/box labels, taxonomy paths...)."""
    if item.get("type") == "relation":
        labels = item.get("labels")
        return [str(x) for x in labels] if labels else None
    value = item.get("value")
    if not isinstance(value, dict):
        return None
    for k in _label_keys(value):
        v = value[k]
        if k == "taxonomy" and isinstance(v, list):
            return ["/".join(str(p) for p in path) if isinstance(path, list) else str(path) for path in v]
        if isinstance(v, list):
            if v and all(isinstance(x, (str, int, float)) for x in v):
                return [str(x) for x in v]
            if not v:
                return []
            continue
        if isinstance(v, (str, int, float)) and not isinstance(v, bool):
            return [str(v)]
    return None


def _label_keys(value: dict) -> list[str]:
    """The keys of :data:`LABEL_KEYS` ``value`` has, in that order (a set operation, not a lookup each)."""
    found = _LABEL_ORDER.keys() & value.keys()
    return sorted(found, key=_LABEL_ORDER.__getitem__) if len(found) > 1 else list(found)


def _labels_problem(item: dict, ctl: Control) -> tuple[str, str] | None:
    if not ctl.labels or ctl.dynamic:
        return None
    if item.get("type") == "taxonomy":
        return None  # paths: the SDK checks them
    bad = next((x for x in labels_of(item) or () if x not in ctl.labels), None)
    if bad is None:
        return None
    return f"label {bad!r} is not in control {ctl.name!r} (allowed: {', '.join(ctl.labels)})", "value"


def _shape_problem(item: dict) -> tuple[str, str] | None:
    """(problem, field) of a result without a type or a value, or whose labels are not label text
    (a list in a list): said here, as label-studio-sdk's check says them in Python's words."""
    for f in ("type", "value"):
        if item.get(f) is None:
            return f"the result has no {f} (missing or null)", f
    value = item["value"]
    bad_number = _not_a_number(value, "value.", GEOMETRY_KEYS) or _not_a_number(item, "", IMAGE_SIZE_KEYS)
    if bad_number is not None:
        return bad_number
    for k in _label_keys(value) if isinstance(value, dict) else ():
        v = value[k]
        if k != "taxonomy" and isinstance(v, list):
            bad = next((x for x in v if not isinstance(x, (str, int, float)) or isinstance(x, bool)), None)
            if bad is not None or None in v:
                return f"value.{k} holds {type(bad).__name__} {str(bad)[:30]}, expected label text", "value"
    return None


def _not_a_number(value: Any, prefix: str, keys: tuple[str, ...]) -> tuple[str, str] | None:
    """(problem, field) of a region's coordinate or image size given as something else than a number
    (``"width": "10"``): label-studio-sdk's check takes the text for the number it spells, and the
    version would keep the text."""
    if not isinstance(value, dict):
        return None
    for k in keys:
        v = value.get(k)
        if v is not None and not _is_number(v):
            return f"{prefix}{k} is {type(v).__name__} {str(v)[:30]!r}, expected a number", prefix + k
    points = value.get("points") if prefix else None
    for p in points if isinstance(points, list) else ():
        if not isinstance(p, list) or not all(_is_number(c) for c in p):
            return f"value.points holds {str(p)[:30]}, expected [x, y] pairs of numbers", "value.points"
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _labels_only(item: dict, ctl: Control, config: LabelingConfig, to_name: Any) -> bool:
    """Results Label Studio writes that the SDK's value schemas refuse: check their labels only."""
    value = item.get("value") if isinstance(item.get("value"), dict) else {}
    if value.get("rle") == [] or (item.get("type") in _SPAN_TYPES and "rle" in value):
        return True
    obj = config.objects.get(to_name) if isinstance(to_name, str) else None
    return item.get("type") in _SPAN_TYPES and obj is not None and obj.tag not in TEXT_OBJECTS


def _naming_problem(item: dict) -> tuple[str, str] | None:
    """(problem, field) of a result whose control, object or type is not named by a string."""
    for f in ("from_name", "to_name", "type"):
        if item.get(f) is not None and not isinstance(item.get(f), str):
            return f"{f} is {type(item.get(f)).__name__}, not a string", f
    if not item.get("from_name"):
        return "the result names no control (from_name)", "from_name"
    return None


def structure_problem(item: dict) -> str | None:
    """What is missing from a result (not a relation), or of another kind than Label Studio writes,
    in annover's words (label-studio-sdk's check says these in Python's: "'int' object has no
    attribute 'lower'"); None when its fields are all there."""
    if item.get("type") == "relation":
        return None
    found = _naming_problem(item) or _shape_problem(item)
    return None if found is None else found[0]


def item_problem(item: dict, config: LabelingConfig) -> tuple[str, str, str] | None:
    """(kind, problem, field) of a result item the config does not allow; None when it does.

    ``kind`` is :data:`STALE` for a control the config does not have, else ``"invalid"``.
    """
    if item.get("type") == "relation":
        return None
    fn = item.get("from_name")
    named = _naming_problem(item)
    if named is not None:
        return ("invalid", *named)
    ctl = config.control_for(fn)
    if ctl is None:
        return STALE, f"control {fn!r} is not in the labeling config", "from_name"
    to_name = item.get("to_name")
    if to_name == fn and (ctl.tag.lower() in SELF_NAMED_RESULTS or fn not in config.objects):
        to_name = ctl.to_name[0] if ctl.to_name else fn
    elif ctl.name != fn:  # a Repeater's control: its objects are named with the same index
        to_name = next((t for t in ctl.to_name if config.expand(ctl.name, fn, t) == to_name), to_name)
    found = _shape_problem(item) or _labels_problem(item, ctl)
    if found is not None:
        return ("invalid", *found)
    if _labels_only(item, ctl, config, to_name):
        return None
    probe = item if (ctl.name, to_name) == (fn, item.get("to_name")) else {**item, "from_name": ctl.name,
                                                                            "to_name": to_name}
    if surely_valid(probe, ctl, config, to_name):  # the SDK's own checks, made without importing it
        return None
    errors = config.region_errors(probe)
    if not errors:
        return None
    return "invalid", f"control {fn!r}: {errors[0]}", _field_of(errors[0])


def _field_of(error: str) -> str:
    for f in ("to_name", "from_name", "type", "score"):
        if f"'{f}'" in error or f" {f} " in error:
            return f
    return "value"


@dataclass
class Problems:
    """Problems counted per (kind, problem), with the first places each was seen."""

    seen: dict[tuple[str, str], list] = field(default_factory=dict)

    def add(self, kind: str, problem: str, where: Where) -> None:
        entry = self.seen.setdefault((kind, problem), [0, []])
        entry[0] += 1
        if len(entry[1]) < SHOWN:
            entry[1].append(where() if callable(where) else where)

    def lines(self, kinds: Iterable[str]) -> list[str]:
        wanted = set(kinds)
        return [f"{n} × {problem} (at {'; '.join(places)}{'; ...' if n > len(places) else ''})"
                for (kind, problem), (n, places) in sorted(self.seen.items()) if kind in wanted]


def check_answers(answers: Iterable[tuple[Where, dict]], config: LabelingConfig, level: str,
                  source: str, hint: str) -> list[str]:
    """Check every result item of every answer at ``level``; the warnings, or ValidationError."""
    if level == "off":
        return []
    found = Problems()
    for where, answer in answers:
        result = answer.get("result") if isinstance(answer, dict) else None
        for ri, item in enumerate(result if isinstance(result, list) else ()):
            if not isinstance(item, dict):
                raise InputError(f"{_text(where)}, result {ri}: is not an object", "fix the result")
            p = item_problem(item, config)
            if p is not None:
                found.add(p[0], p[1], lambda w=where, ri=ri, item=item, f=p[2]:
                          f"{_text(w)}, result {ri}{_rid(item)}, field {f}")
        _single_choices(result if isinstance(result, list) else [], config, where, found)
    refused = _REFUSED[level]
    errors = found.lines(refused)
    if errors:
        raise ValidationError(f"{source}: {sum(found.seen[k][0] for k in found.seen if k[0] in refused)} "
                              f"result(s) not allowed by {config.source}: " + "; ".join(errors), hint)
    kept = found.lines(k for k in ("invalid", STALE) if k not in refused)
    return [f"{source}: kept, not checked against {config.source}: {line}" for line in kept] + [
        f"{source}: kept, though {config.source} allows one choice: {line}" for line in found.lines(
            k for k in (SINGLE,) if k not in refused)]


def _single_choices(result: list, config: LabelingConfig, where: Where, found: Problems) -> None:
    """Count each control of ``choice="single"`` that one answer's ``result`` gives more than one choice
    (in one item, or in several: per region for a ``perRegion`` control)."""
    given: dict[tuple[Any, ...], list] = {}
    for item in result:
        if not isinstance(item, dict) or item.get("type") != "choices" or not isinstance(item.get("value"), dict):
            continue
        ctl = config.control_for(item.get("from_name"))
        choices = item["value"].get("choices")
        if ctl is None or not (ctl.choice or "").startswith("single") or not isinstance(choices, list):
            continue
        region = item.get("id") if ctl.per_region else None
        given.setdefault((item["from_name"], item.get("to_name"), region), []).extend(choices)
    for (fn, _, _), choices in given.items():
        if len(choices) > 1:
            found.add(SINGLE, f"control {fn!r} (choice=\"single\") given more than one choice",
                      lambda w=where, c=choices: f"{_text(w)}: {', '.join(map(repr, c))}")


def _rid(item: dict) -> str:
    return f" (id {item['id']})" if item.get("id") is not None else ""


def _text(where: Where) -> str:
    return where() if callable(where) else where
