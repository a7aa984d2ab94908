"""Labeling configs (Label Studio XML): the one model of a config that validation, the diff
and the Label Studio layer all read.

The XML is parsed once with defusedxml (no DTDs, no entities, no external references) and
walked by the rules label-studio-sdk's LabelInterface uses: a *control* is an element with
``name`` and ``toName`` (``Filter`` excepted); its labels are the ``Label`` / ``Choice`` /
``Relation`` elements below it whose nearest named ancestor it is, each by its ``alias``
where given, else its ``value``; an *object* is an element with ``name`` and ``value`` (or
``valueList``) that is not a control, reading the task data field ``$field``.

Whether the config is *valid* is label-studio-sdk's verdict (it knows every tag's rules).
Importing the SDK is slow and the verdict depends only on the config text and the SDK
version, so a valid config's model is cached per user (``$ANNOVER_CACHE_DIR``, else
``$XDG_CACHE_HOME/annover`` or ``~/.cache/annover``), keyed by the sha256 of both. A snapshot with a config seen before never imports the SDK unless a
result needs its per-region checks (Label Studio JSON does; flat files are checked
against the labels).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from annover._lazy import lazy
from annover.errors import ConfigError, InputError, NotFoundError
from annover.files import not_a_file, not_utf8_at, write_atomic

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET
    from importlib import metadata

    import defusedxml
    import defusedxml.ElementTree as DET
    import label_studio_sdk.label_interface as sdk_li
else:
    metadata = lazy("importlib.metadata")  # a wide import, needed only to key the cache
    defusedxml = lazy("defusedxml")
    DET = lazy("defusedxml.ElementTree")
    sdk_li = lazy("label_studio_sdk.label_interface")

__all__ = ["CACHE_FORMAT", "HEAD_CONFIG", "ConfigObject", "Control", "LabelingConfig", "cache_dir", "check_xml",
           "config_structure", "repeated_name", "taxonomy_paths", "verdict_path"]

#: the ``source`` of HEAD's config where a snapshot is given none: errors say it is HEAD's, not the user's
HEAD_CONFIG = "the labeling config of HEAD"
#: Version of the verdict cache's entries (part of their key: a new format never reads an old entry).
CACHE_FORMAT = 2
#: Elements with ``name`` and ``toName`` that are not controls (the SDK's rule).
NOT_CONTROLS = frozenset({"Filter"})
#: Elements that hold one label of the control above them.
LABEL_TAGS = frozenset({"Label", "Choice", "Relation"})
#: Tags that are their own object and control (``from_name == to_name``).
SELF_REFERENCING = frozenset({"chat", "reactcode"})
#: Controls whose results name the control itself as ``to_name`` (Label Studio writes them so).
SELF_NAMED_RESULTS = frozenset({"pairwise", "chat", "reactcode", "ranker"})
#: A Repeater's index placeholder in a tag name (``labels_{{idx}}``).
_PLACEHOLDER = re.compile(r"\{\{[^{}]+\}\}")


def _name_pattern(name: str) -> "re.Pattern[str] | None":
    """The names a Repeater template (``labels_{{idx}}``) expands to, None for a plain name."""
    parts = _PLACEHOLDER.split(name)
    if len(parts) == 1:
        return None
    return re.compile(r"(\d+)".join(re.escape(p) for p in parts) + r"\Z")


def repeated_name(name: str, names: Iterable[str]) -> str | None:
    """The Repeater template among ``names`` that ``name`` is one of (``labels_0`` ->
    ``labels_{{idx}}``); None when none expands to it."""
    return next((n for n in names if (p := _name_pattern(n)) is not None and p.match(name)), None)


@dataclass(frozen=True)
class Control:
    """A control tag: what annotators produce (choices, labels, boxes, text...)."""

    name: str
    tag: str
    to_name: tuple[str, ...]
    labels: tuple[str, ...]  # as results carry them: the alias where one is given
    choice: str | None = None  # "single" / "multiple" for Choices-like tags
    per_region: bool = False  # perRegion="true": one answer per region, not per task
    dynamic: bool = False  # value="$field": labels come from the task data
    aliases: tuple[tuple[str, str], ...] = ()  # (alias, value) of labels that have an alias

    @property
    def result_type(self) -> str:
        """The ``type`` Label Studio writes for this control's results."""
        return self.tag.lower()

    def to_json(self) -> dict[str, Any]:
        return {"tag": self.tag, "to_name": list(self.to_name), "labels": list(self.labels),
                "choice": self.choice, "per_region": self.per_region, "dynamic": self.dynamic,
                "aliases": [list(a) for a in self.aliases]}

    @classmethod
    def from_json(cls, name: str, d: dict) -> "Control":
        return cls(name, str(d["tag"]), tuple(d["to_name"]), tuple(d["labels"]), d.get("choice"),
                   bool(d["per_region"]), bool(d["dynamic"]), tuple((str(a), str(v)) for a, v in d["aliases"]))


@dataclass(frozen=True)
class ConfigObject:
    """An object tag: what is shown to annotators (a text, an image...), read from task data."""

    name: str
    tag: str
    field: str  # the task data field it reads: value="$text" -> "text"
    value_type: str | None = None  # valueType="url": the data holds a URL, not the content
    from_data: bool = True  # value="$field" (False: a fixed value written in the config)

    def __str__(self) -> str:  # where a string is wanted, an object reads as its data field
        return self.field

    def to_json(self) -> dict[str, Any]:
        return {"tag": self.tag, "field": self.field, "value_type": self.value_type, "from_data": self.from_data}

    @classmethod
    def from_json(cls, name: str, d: dict) -> "ConfigObject":
        return cls(name, str(d["tag"]), str(d["field"]), d.get("value_type"), bool(d["from_data"]))


# ---------------------------------------------------------------------------
# reading the XML


def _parse_xml(text: str, source: str, dtd_ok: bool = False) -> ET.Element:
    """The XML tree of ``text``, parsed safely; ConfigError naming ``source`` if unsafe or not XML.

    A ``<!DOCTYPE>`` is refused whole (nothing expanded, nothing fetched), unless ``dtd_ok``: a
    config a version already holds, accepted when annover took a DOCTYPE without entities, is
    read as it was then (entities and external references are refused either way)."""
    try:
        return DET.fromstring(text, forbid_dtd=not dtd_ok)
    except defusedxml.DefusedXmlException as e:
        raise ConfigError(f"{source}: refused unsafe XML ({type(e).__name__}: a <!DOCTYPE> or <!ENTITY> "
                          "declaration, which a labeling config has no use for)",
                          "remove DOCTYPE/ENTITY declarations from the labeling config") from None
    except Exception as e:  # ParseError
        raise ConfigError(f"{source}: not valid XML: {e}", "fix the labeling config (Label Studio XML)") from None


def check_xml(text: str, source: str = "config") -> None:
    """Parse ``text`` safely; ConfigError naming ``source`` if it is not XML or is unsafe."""
    _parse_xml(text, source)


def _control(el: ET.Element) -> Control:
    name = el.get("name", "")
    to = el.get("toName")
    to_name = tuple(t.strip() for t in to.split(",") if t.strip()) if to else (name,)
    choice = el.get("choice") or ("single" if el.tag == "Choices" else None)  # Label Studio's default
    return Control(name, el.tag, to_name, (), choice, el.get("perRegion") == "true",
                   str(el.get("value") or "").startswith("$"))


def _walk(root: ET.Element) -> tuple[dict[str, Control], dict[str, ConfigObject]]:
    """Controls (with their labels) and objects of a config tree, in document order."""
    controls: dict[str, Control] = {}
    objects: dict[str, ConfigObject] = {}
    labels: dict[str, dict[str, str]] = {}  # control -> label -> value

    def visit(el: ET.Element, owner: str | None) -> None:
        name, value = el.get("name"), el.get("valueList", el.get("value"))
        both = bool(name) and el.tag.lower() in SELF_REFERENCING
        is_control = both or bool(name and el.get("toName") and el.tag not in NOT_CONTROLS)
        if is_control:
            controls[name] = _control(el)
            labels.setdefault(name, {})
        if both or not is_control and name and value:
            objects[name] = ConfigObject(name, el.tag, str(value or "").lstrip("$"),
                                         el.get("valueType") or el.get("valuetype"), str(value or "").startswith("$"))
        if el.tag in LABEL_TAGS and owner is not None:
            label = el.get("alias") or el.get("value")
            if label is not None:
                labels[owner].setdefault(label, el.get("value") or label)
        for child in el:
            visit(child, name if name in controls else owner)

    visit(root, None)
    for name, c in controls.items():
        got = labels[name]
        aliases = tuple((a, v) for a, v in got.items() if a != v)
        controls[name] = Control(c.name, c.tag, c.to_name, tuple(got), c.choice, c.per_region, c.dynamic, aliases)
    return controls, objects


def config_structure(text: str | None) -> dict[str, dict]:
    """control name -> {"tag", "to_name", "labels", "dynamic"} of a config ({} for none).

    Needs no label-studio-sdk (the diff reads old versions' configs with it).
    """
    return _structure(_walk(_readable(text))[0]) if text else {}


#: Control tags whose results are regions (a span, a box, a shape), beside every ``...Labels`` tag
_REGION_TOOLS = frozenset({"Rectangle", "Polygon", "KeyPoint", "Ellipse", "Brush", "MagicWand", "VideoRectangle",
                           "Bitmask", "Vector"})


def results_word(*texts: str | None) -> str:
    """The word for the items of answers read with these configs, as show and diff say them:
    "regions" where some config has a region control (spans, boxes...), else "results" (Label
    Studio's word for each item of an answer's ``result`` list: a classification has no region)."""
    for text in texts:
        try:
            tags = [c["tag"] for c in config_structure(text).values()]
        except ConfigError:
            continue
        if any(t.endswith("Labels") or t in _REGION_TOOLS for t in tags):
            return "regions"
    return "results"


def _readable(text: str) -> ET.Element:
    """The XML tree of a version's config; ConfigError if it is not readable XML."""
    try:
        return DET.fromstring(text)
    except Exception as e:
        raise ConfigError(f"labeling config is not readable XML: {e}", "check the config of that version") from None


def taxonomy_paths(text: str | None) -> dict[str, list[str]]:
    """Taxonomy control name -> the paths of its choices in document order (``Three``, ``Three/Sub``),
    as an answer's labels give them (its ``labels`` hold each ``<Choice>`` alone: ``Sub``)."""
    if not text:
        return {}
    out: dict[str, list[str]] = {}

    def visit(el: ET.Element, path: tuple[str, ...], into: list[str]) -> None:
        for child in el:
            label = child.get("alias") or child.get("value") if child.tag == "Choice" else None
            if label is not None:
                into.append("/".join((*path, label)))
            visit(child, (*path, label) if label is not None else path, into)

    for el in _readable(text).iter("Taxonomy"):
        if el.get("name"):
            visit(el, (), out.setdefault(el.get("name"), []))
    return out


def _structure(controls: dict[str, Control]) -> dict[str, dict]:
    return {n: {"tag": c.tag, "to_name": list(c.to_name), "labels": list(c.labels), "dynamic": c.dynamic}
            for n, c in controls.items()}


def _check_flips(root: Any, source: str) -> None:
    """A keypoint label's ``flip`` (its mirror image: a YOLO pose folder's ``flip_idx``, which a
    YOLO export writes back) names a label of its own control; ConfigError (exit 5) otherwise,
    when the config is given, not at a later export. Label Studio ignores the attribute."""
    for el in root.iter():
        if el.tag != "KeyPointLabels" or not el.get("name"):
            continue
        labels = [lab for lab in el.iter() if lab.tag in LABEL_TAGS]
        names = {lab.get("alias") or lab.get("value") for lab in labels}
        for lab in labels:
            other = lab.get("flip")
            if other is not None and other not in names:
                raise ConfigError(f"{source}: keypoint label {lab.get('alias') or lab.get('value')!r} of "
                                  f"<KeyPointLabels name={el.get('name')!r}> has flip={other!r}, which is no label "
                                  "of that control", 'write flip="NAME" with the name of one of its labels (itself '
                                  "where it has no side), or remove it")


# ---------------------------------------------------------------------------
# the per-user verdict cache


def cache_dir() -> Path:
    """Where annover keeps per-user caches (never anything a repository needs)."""
    if os.environ.get("ANNOVER_CACHE_DIR"):
        return Path(os.environ["ANNOVER_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "annover"


def verdict_path(text: str) -> Path | None:
    """The cache file of the SDK's verdict on ``text`` (None when the SDK is not installed)."""
    try:
        version = metadata.version("label-studio-sdk")
    except metadata.PackageNotFoundError:
        return None
    key = hashlib.sha256(f"annover-config {CACHE_FORMAT}\0label-studio-sdk {version}\0{text}".encode()).hexdigest()
    try:
        return cache_dir() / "configs" / f"{key}.json"
    except RuntimeError:  # no home folder to put a cache in: work without one
        return None


_verdict_path = verdict_path  # the old private name


def _model_json(controls: dict[str, Control], objects: dict[str, ConfigObject]) -> dict:
    return {"format": CACHE_FORMAT, "controls": {n: c.to_json() for n, c in controls.items()},
            "objects": {n: o.to_json() for n, o in objects.items()}}


def _read_verdict(path: Path | None) -> tuple[dict[str, Control], dict[str, ConfigObject]] | None:
    """The model a cache entry holds; None when there is none this code can read."""
    try:
        d = json.loads(path.read_text(encoding="utf-8")) if path else None
        if d["format"] != CACHE_FORMAT:
            return None
        controls = {str(n): Control.from_json(str(n), c) for n, c in d["controls"].items()}
        objects = {str(n): ConfigObject.from_json(str(n), o) for n, o in d["objects"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return (controls, objects) if controls else None


def _write_verdict(path: Path | None, controls: dict[str, Control], objects: dict[str, ConfigObject]) -> None:
    """Remember the SDK accepted this model; a cache that cannot be written is skipped."""
    try:
        if path is not None:  # written only when the cache had no readable verdict
            write_atomic(path, json.dumps(_model_json(controls, objects), sort_keys=True).encode())
    except OSError:
        pass


# ---------------------------------------------------------------------------
# the config


#: Control tags that need options to choose from, and the tag of one option.
_NEED_OPTIONS = {"Choices": "Choice", "Labels": "Label", "RectangleLabels": "Label", "PolygonLabels": "Label",
                 "KeyPointLabels": "Label", "BrushLabels": "Label", "EllipseLabels": "Label",
                 "HyperTextLabels": "Label", "ParagraphLabels": "Label", "TimeSeriesLabels": "Label"}


class LabelingConfig:
    """A parsed labeling config: its controls and objects, and (``validate=True``) the SDK's verdict.

    With ``background=True`` the label-studio-sdk part runs in a thread, so a caller can read
    its data meanwhile; the first use of :attr:`controls` / :attr:`objects`, or :meth:`wait`,
    joins it and raises its ConfigError if any. ``validate=False`` reads the structure only
    (no SDK, no cache): for configs already accepted, as the diff reads them.
    """

    def __init__(self, text: str, source: str = "config", background: bool = False,
                 validate: bool = True) -> None:
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{source}: empty labeling config",
                              "give a Label Studio XML config (a <View> with its tags)")
        self.text = text
        self.source = source
        self._dtd_ok = not validate  # a config already accepted (a version's) is read as it was
        root = _parse_xml(text, source, self._dtd_ok)
        self._controls, self._objects = _walk(root)
        if validate:
            _check_flips(root, source)
        self._li: Any = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.from_cache = False  # the verdict came from the per-user cache (no SDK import)
        if not validate:
            return
        self._path = verdict_path(text)
        if _read_verdict(self._path) == (self._controls, self._objects):
            self.from_cache = True
        elif background:
            self._thread = threading.Thread(target=self._validate_guarded, name="annover-config", daemon=True)
            self._thread.start()
        else:
            self._validate()

    @classmethod
    def from_file(cls, path: str, background: bool = False, option: str = "--config") -> "LabelingConfig":
        """The config in file ``path``, read once: a pipe the shell opened (``<(command)``) is read;
        a named pipe, a device or a socket is refused (exit 3), reading it could wait forever."""
        kind = not_a_file(path, reads_once=True)
        if kind is not None:
            raise InputError(f"{path}: is {kind}, not a file ({option})",
                             "write the config to a file first (e.g. `command > labeling.xml`) and give that file")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NotFoundError(f"{path}: no such file", "give the path of a Label Studio XML config") from None
        except UnicodeDecodeError as e:
            raise ConfigError(f"{path}: the text{not_utf8_at(Path(path))} is not UTF-8 ({e.reason})",
                              "save the config as UTF-8") from None
        except OSError as e:
            raise ConfigError(f"{path}: cannot read: {e}", "give a UTF-8 Label Studio XML file") from None
        return cls(text, source=str(path), background=background)

    def _validate_guarded(self) -> None:
        try:
            self._validate()
        except BaseException as e:  # re-raised in the caller's thread by wait()
            self._error = e

    def wait(self) -> "LabelingConfig":
        """Join the background check; raise its error here."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error
        return self

    def _validate(self) -> None:
        """Ask label-studio-sdk; ConfigError if it refuses, or if a toName names no object."""
        try:
            li = sdk_li.LabelInterface(self.text)
            li.validate()
        except ConfigError:
            raise
        except Exception as e:
            empty = next((c for c in self._controls.values() if c.tag in _NEED_OPTIONS and not c.labels
                          and not c.dynamic), None)
            if empty is not None:  # the SDK says "'View' is a required property" of it
                raise ConfigError(f"{self.source}: control {empty.name!r} (<{empty.tag}>) has no "
                                  f"<{_NEED_OPTIONS[empty.tag]}> to choose from",
                                  f"add <{_NEED_OPTIONS[empty.tag]} value=\"...\"/> inside it, or "
                                  "value=\"$field\" to take them from the task data") from None
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(f"{self.source}: not a valid labeling config: {msg}",
                              "check tag names and that every toName names an object tag") from None
        self._li = li  # a plain attribute, set once (a cached_property's lock would deadlock with wait())
        if not self._controls:
            raise ConfigError(f"{self.source}: the labeling config has no control tags",
                              "add a control such as <Choices> or <Labels>")
        for c in self._controls.values():  # the SDK's own check only sees toName="..." in double quotes
            missing = [t for t in c.to_name if t not in self._objects]
            if missing:
                raise ConfigError(f"{self.source}: control {c.name!r} has toName={missing[0]!r}, "
                                  "which names no object tag",
                                  f"use one of: {', '.join(sorted(self._objects)) or '(no object tags)'}")
        _write_verdict(self._path, self._controls, self._objects)

    @property
    def sdk_loaded(self) -> bool:
        """Whether label-studio-sdk's LabelInterface has been built for this config."""
        return self._li is not None

    @property
    def li(self) -> Any:
        """label-studio-sdk's LabelInterface for this config."""
        if self._li is None:
            self.wait()
        if self._li is None:  # the verdict came from the cache: build the interface now
            self._li = sdk_li.LabelInterface(self.text)
        return self._li

    @property
    def controls(self) -> dict[str, Control]:
        """Control tag name -> its tag, object names, labels and options."""
        self.wait()
        return self._controls

    @property
    def objects(self) -> dict[str, ConfigObject]:
        """Object tag name -> its tag and the task data field it reads."""
        self.wait()
        return self._objects

    @property
    def fields(self) -> dict[str, str]:
        """Object tag name -> the task data field it reads (``$text`` -> ``text``)."""
        return {n: o.field for n, o in self.objects.items()}

    def structure(self) -> dict[str, dict]:
        """control name -> {"tag", "to_name", "labels", "dynamic"}: what the diff compares."""
        return _structure(self._controls)

    def region_errors(self, item: dict) -> list[str]:
        """Why a result item is not allowed by this config (empty list: it is)."""
        if item.get("type") == "relation":
            return []
        try:
            errors = self.li.validate_region(item, return_errors=True)
        except Exception as e:  # the SDK raises on some malformed values
            errors = [f"{type(e).__name__}: {e}"]
        return [e.split(": ", 1)[1] if e.startswith("Region ") and ": " in e else e for e in errors]

    def control_for(self, name: Any) -> Control | None:
        """The control a result's ``from_name`` names: exactly, or a Repeater template it expands
        (``labels_0`` -> ``labels_{{idx}}``); None when the config has no such control."""
        if not isinstance(name, str):
            return None
        controls = self.controls
        ctl = controls.get(name)
        if ctl is not None or "{{" not in self.text:
            return ctl
        template = repeated_name(name, controls)
        return None if template is None else controls[template]

    def expand(self, template: str, name: str, other: str) -> str:
        """``other`` (a template such as ``page_{{idx}}``) with the index ``name`` gave ``template``."""
        p = _name_pattern(template)
        m = p.match(name) if p is not None else None
        if m is None:
            return other
        groups = iter(m.groups())
        return _PLACEHOLDER.sub(lambda _: next(groups, ""), other)

    def label_attributes(self, attr: str, tags: tuple[str, ...]) -> dict[str, str]:
        """label (its alias where given) -> the value of its ``attr`` attribute, for the labels of
        the ``tags`` controls that have one (``<Label value="cat" category="4"/>``: label-studio-sdk's
        converter takes a ``category`` for the label's COCO / YOLO id)."""
        out: dict[str, str] = {}
        for el in _parse_xml(self.text, self.source, self._dtd_ok).iter():
            if el.tag in tags and el.get("name") and el.get("toName"):
                for lab in el.iter():
                    label = lab.get("alias") or lab.get("value")
                    if lab.tag in LABEL_TAGS and label is not None and lab.get(attr) is not None:
                        out.setdefault(label, str(lab.get(attr)))
        return out

    def view_attribute(self, attr: str) -> str | None:
        """The value of the root ``<View>``'s ``attr`` attribute (None without one): what a training
        format's import keeps of the dataset as a whole (``<View coco='{"info": ...}'>``)."""
        return _parse_xml(self.text, self.source, self._dtd_ok).get(attr)

    def summary(self) -> dict[str, Any]:
        """control -> {"tag", "to_name", "labels"}, sorted by name."""
        return {n: {"tag": c.tag, "to_name": list(c.to_name), "labels": list(c.labels)}
                for n, c in sorted(self.controls.items())}
