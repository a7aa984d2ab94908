"""Labeling config templates: Label Studio XML for common tasks, built from a list of labels.

``render("object-detection", ["car", "person"])`` returns a config that passes
``annover.model.config.LabelingConfig`` and whose control lists exactly those labels. The XML
is built as an ElementTree, so labels are escaped by the XML serializer, never pasted
into strings. Pure and light: no Label Studio import here.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from annover.errors import UsageError

__all__ = ["TEMPLATES", "Tag", "Template", "check_data_field", "check_labels", "get", "render"]


@dataclass(frozen=True)
class Tag:
    """One tag of a template: tag name, its ``name`` attribute, other attributes in order."""

    tag: str
    name: str
    attrs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Template:
    """A labeling config shape: one object (the task data) and the controls that label it."""

    name: str
    description: str
    object: Tag  # reads ``$<data_field>`` from each task
    data_field: str  # default task data key
    controls: tuple[Tag, ...]  # each one gets toName=<object name>
    labels: str | None = None  # name of the control that holds the labels; None: takes no labels
    controls_first: bool = False  # label buttons above the object (spans in long texts)

    @property
    def label_control(self) -> Tag | None:
        return next((c for c in self.controls if c.name == self.labels), None)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "object": {"tag": self.object.tag, "name": self.object.name},
            "data_field": self.data_field,
            "takes_labels": self.labels is not None,
            "controls": [{"tag": c.tag, "name": c.name, "labels": c.name == self.labels} for c in self.controls],
        }


_IMAGE = Tag("Image", "image")
_IMAGE_ZOOM = Tag("Image", "image", (("zoom", "true"), ("zoomControl", "true")))
_TEXT = Tag("Text", "text")
_AUDIO = Tag("Audio", "audio")
_TEXTAREA = Tag("TextArea", "transcription", (("rows", "4"), ("editable", "true"), ("maxSubmissions", "1")))


def _template(name: str, description: str, obj: Tag, *controls: Tag, labels: str | None = "label",
              controls_first: bool = False) -> Template:
    return Template(name, description, obj, obj.name, controls, labels, controls_first)


TEMPLATES: dict[str, Template] = {t.name: t for t in [
    _template("image-classification", "one label per image",
              _IMAGE, Tag("Choices", "label", (("choice", "single"),))),
    _template("image-multilabel", "any number of labels per image",
              _IMAGE, Tag("Choices", "label", (("choice", "multiple"),))),
    _template("text-classification", "one label per text",
              _TEXT, Tag("Choices", "label", (("choice", "single"),))),
    _template("text-multilabel", "any number of labels per text",
              _TEXT, Tag("Choices", "label", (("choice", "multiple"),))),
    _template("object-detection", "labeled bounding boxes on images",
              _IMAGE_ZOOM, Tag("RectangleLabels", "label")),
    _template("polygons", "labeled polygons on images (segmentation)",
              _IMAGE_ZOOM, Tag("PolygonLabels", "label")),
    _template("keypoints", "labeled keypoints on images",
              _IMAGE_ZOOM, Tag("KeyPointLabels", "label")),
    _template("ocr", "labeled boxes on images, with the text of each box typed in",
              _IMAGE_ZOOM, Tag("RectangleLabels", "label"),
              Tag("TextArea", "transcription", (("editable", "true"), ("perRegion", "true"), ("required", "true"),
                                                ("maxSubmissions", "1"), ("displayMode", "region-list")))),
    _template("ner", "labeled spans in texts (named entities)",
              _TEXT, Tag("Labels", "label"), controls_first=True),
    _template("transcription", "free text typed for each text (transcription, normalization)",
              _TEXT, _TEXTAREA, labels=None),
    _template("audio-transcription", "what is said in each audio file, typed as text",
              _AUDIO, _TEXTAREA, labels=None),
]}

# Label colors for region controls (Tableau 10); Choice tags need none.
_COLORS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")

_DATA_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _bad_char(ch: str) -> str | None:
    """What is wrong with ``ch`` in a label, if anything: controls (tab, newline...), line
    separators, characters XML cannot hold."""
    if ch in "\ufffe\uffff":
        return "not a character"
    return {"Cc": "a control character", "Cs": "a lone surrogate", "Zl": "a line separator",
            "Zp": "a paragraph separator"}.get(unicodedata.category(ch))


def check_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """The labels as a config will hold them: trimmed, each one checked. UsageError says why not.

    Surrounding whitespace is trimmed (``--labels "cat, dog"`` means ``cat`` and ``dog``);
    a label must then be non-empty, a single line of text, unique, and must not end in
    ``name=``: Label Studio checks configs with regular expressions over the raw XML
    (``name="..."``, ``toName="..."``), and the closing quote after such a label would read
    as the start of an attribute there.
    """
    if isinstance(labels, (str, bytes)):
        raise UsageError(f"labels must be a list of strings, not one string ({labels!r})",
                         "pass a list, e.g. render(template, ['cat', 'dog'])")
    out = []
    for i, raw in enumerate(labels, 1):
        if not isinstance(raw, str):
            raise UsageError(f"label {i} is not a string: {raw!r}", "labels are strings")
        label = raw.strip()
        if not label:
            raise UsageError(f"label {i} is empty", "remove the extra comma or give the label a name")
        bad = next((ch for ch in label if _bad_char(ch)), None)
        if bad is not None:
            raise UsageError(f"label {label!r} contains U+{ord(bad):04X}, {_bad_char(bad)}",
                             "a label is one line of printable text")
        ending = next((e for e in ("toName=", "name=") if label.endswith(e)), None)
        if ending:
            raise UsageError(f"label {label!r} ends in {ending!r}, which Label Studio's config check misreads as "
                             "an XML attribute", "rename the label, e.g. add a character after '='")
        out.append(label)
    dups = [label for label, n in Counter(out).items() if n > 1]
    if dups:
        raise UsageError("duplicate label" + ("s " if len(dups) > 1 else " ") + ", ".join(map(repr, dups)),
                         "give each label once (labels are compared after trimming surrounding spaces)")
    return tuple(out)


def check_data_field(field: str) -> str:
    """A task data key usable as ``$field`` in a config: letters, digits and ``_``."""
    if not isinstance(field, str) or not _DATA_FIELD.match(field):
        raise UsageError(f"data field {field!r} is not a valid name",
                         "use letters, digits and _, not starting with a digit (the key in each task's data)")
    return field


def get(template: str) -> Template:
    """The template named ``template``; UsageError naming the known ones if there is none."""
    try:
        return TEMPLATES[template]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(template), TEMPLATES, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UsageError(f"unknown template {template!r}",
                         f"{hint}templates: {', '.join(TEMPLATES)} (see `annover config list`)") from None


def render(template: str, labels: Iterable[str] | None = None, data_field: str | None = None) -> str:
    """The labeling config (Label Studio XML) of ``template`` with ``labels``, reading ``$data_field``.

    Labels are trimmed and checked (``check_labels``); templates without labels refuse any.
    The result always passes LabelInterface validation and lists exactly the checked labels.
    """
    t = get(template)
    given = [] if labels is None else labels if isinstance(labels, (str, bytes)) else list(labels)
    if t.labels is None and given:
        raise UsageError(f"template {t.name!r} takes no labels", "leave out --labels / --label")
    labels = check_labels(given)
    if t.labels is not None and not labels:
        raise UsageError(f"template {t.name!r} needs labels", "give them with --labels a,b,c (or --label, repeated)")
    field = check_data_field(t.data_field if data_field is None else data_field)

    root = ET.Element("View")
    obj = ET.Element(t.object.tag, {"name": t.object.name, "value": f"${field}", **dict(t.object.attrs)})
    controls = []
    for c in t.controls:
        el = ET.Element(c.tag, {"name": c.name, "toName": t.object.name, **dict(c.attrs)})
        if c.name == t.labels:
            for i, label in enumerate(labels):
                if c.tag == "Choices":
                    ET.SubElement(el, "Choice", {"value": label})
                else:
                    ET.SubElement(el, "Label", {"value": label, "background": _COLORS[i % len(_COLORS)]})
        controls.append(el)
    root.extend([*controls, obj] if t.controls_first else [obj, *controls])
    ET.indent(root, "  ")
    return ET.tostring(root, encoding="unicode") + "\n"
