"""What the training-format readers (COCO, YOLO, VOC, CoNLL) share: their output as Label
Studio tasks, the labeling config generated for them, the check against a given one, and the
step to canonical tables.

Each reader turns its files into Label Studio tasks (``id`` = the task key: an image file's
name without folder and extension, a CoNLL sentence's number) with one answer each, and a
config naming what they hold. The tasks then go through the Label Studio reader, so a COCO
file and a YOLO folder of the same boxes give the same rows. With a config given, results
are renamed to its controls (the one control of each tag) and checked against it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from annover._lazy import lazy
from annover.errors import InputError, UsageError, ValidationError, shown
from annover.formats.images import category_ids
from annover.formats.label_studio import TASK_ID_KEY, from_ls_tasks, stem_key
from annover.formats.tables import Tables
from annover.formats.text import fail
from annover.model.canonical import canonical_json
from annover.model.config import HEAD_CONFIG, LabelingConfig

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy("pyarrow")

__all__ = ["KEPT", "MAX_ATTRIBUTE", "NOT_XML", "TrainInput", "config_needed", "image_config", "json_attribute",
           "labels_kept", "labels_tag", "refuse_control", "refuse_not_xml", "region_id", "stem_key", "to_tables",
           "unique_id", "unlabeled", "unlabeled_note", "view_kept"]

#: control name and tag per result type, in a generated config
CONTROLS = {"rectanglelabels": ("label", "RectangleLabels"), "polygonlabels": ("polygon", "PolygonLabels"),
            "brushlabels": ("mask", "BrushLabels"), "keypointlabels": ("keypoints", "KeyPointLabels"),
            "labels": ("label", "Labels")}




@dataclass
class TrainInput:
    """A training format read as Label Studio tasks, and the config generated for them."""

    tasks: list[dict]
    config: str
    key: str | None = TASK_ID_KEY  # the tasks' ``id`` is their key; None: the hash of their data
    warnings: list[str] = field(default_factory=list)  # what the reader read another way than written
    category_ids: dict[str, int] | None = None  # a COCO file's category ids, where 1.. would not give them
    key_rule: str | None = None  # the --key rule the keys follow where the format has no one (Tables.key_rule)
    carried_config: bool = False  # ``config`` is the one the input carries (annover's own HF export), not generated
    ls_ids: dict[str, int] = field(default_factory=dict)  # task key -> Label Studio task id, where the input keeps it


#: a control character (C0, DEL, C1): a NUL, a line break, a tab...
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def refuse_control(name: str, path: str | Path, where: str) -> None:
    """InputError (exit 3) naming ``path`` and ``where`` (the record and field) when the image file
    name ``name`` holds a control character: no file system takes a NUL, no export could write a
    file by that name, and exports refused it only then, after the version was recorded."""
    m = CONTROL.search(name)
    if m is not None:
        raise fail(path, f"{where} is {shown(name)}: a control character ({m.group()!r}) at position {m.start()}",
                   "rename the image without control characters (NUL, line breaks, tabs) and give its new name")


#: what XML 1.0 cannot hold, not even as a character reference (C0 controls but tab and line breaks, lone
#: surrogates, U+FFFE/FFFF): a label named so cannot be in a labeling config, which Label Studio refuses
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def refuse_not_xml(name: str, path: str | Path, where: str) -> None:
    """InputError (exit 3) naming ``path`` and ``where`` (the record and field) when the label ``name``
    (a category, a class, a keypoint, an entity tag) holds a character XML cannot hold: the generated
    config names each label in a ``<Label value=...>``, so the version's config would be no XML (it was
    exit 5, "the config generated ... not valid XML", naming neither the record nor the field)."""
    m = NOT_XML.search(name)
    if m is not None:
        raise fail(path, f"{where} is {shown(name)}: a character XML cannot hold ({m.group()!r}) at position "
                   f"{m.start()}, and the labeling config names each label", "rename it without control characters")


def unlabeled(tasks: list[dict], source: str | Path, what: str, unit: str = "image") -> list[str]:
    """Items of a file (a folder) in which no item has ``what`` (an annotation, a label line, an
    <object>, an entity tag) are data not labeled yet, not background images or sentences of no
    entity: their tasks get no answer (Label Studio shows them to label, ``sample --strategy
    unlabeled`` picks them). The warning saying so, or none where some item has a region (then the
    others are answered with no region). ``unit``: what an item is, for the warning."""
    if not tasks or any(a["result"] for t in tasks for a in t.get("annotations", [])):
        return []
    for t in tasks:
        t["annotations"] = []
    return [unlabeled_note(source, len(tasks), what, unit)]


def unlabeled_note(source: str | Path, n: int, what: str, unit: str = "image") -> str:
    """The warning of :func:`unlabeled`."""
    answered = "background images" if unit == "image" else f"{unit}s answered with no {what}"
    return (f"{source}: no {what} in any {unit}: its {n} {unit}(s) were recorded as tasks without answers "
            f"(not labeled yet), not as {answered}")


#: the tags of a generated config that list labels (each needs one <Label> at least)
_LABEL_TAGS = ("Labels", "RectangleLabels", "PolygonLabels", "BrushLabels", "KeyPointLabels")


def config_needed(fmt: str, config_text: str, source: object) -> InputError | None:
    """The error to raise where the config generated for ``source`` has a labels control with no
    label (a file of no category, class or entity tag): Label Studio refuses such a config, and
    nothing in the file says what the labels are, so the user gives one (--config). None where it
    has its labels. The readers themselves read such a file (a round trip of no label holds);
    only a version needs the config."""
    tags = "|".join(_LABEL_TAGS)
    empty = re.search(rf"<({tags}) name=\"([^\"]*)\"[^>]*>\s*</\1>", config_text)
    if empty is None:
        return None
    if fmt == "conll":
        return InputError(f"{source}: every tag is O: no entity tag was found, so no labeling config can be "
                          "inferred from the file",
                          "give --config with a <Labels> control naming the entity labels (e.g. `annover config "
                          "new ner --labels PER,ORG > ner.xml`, then --config ner.xml)")
    what = {"coco": "no category ('categories' is empty or missing)", "voc": "no <object>, hence no label name",
            "yolo": "no class name (data.yaml's names, classes.txt)", "yolo-obb": "no class name (data.yaml's names, "
            "classes.txt)"}.get(fmt, "no label")
    new = "ner --labels PER,ORG > ner.xml`, then --config ner.xml" if empty.group(1) == "Labels" else \
        "object-detection --labels cat,dog > boxes.xml`, then --config boxes.xml"  # spans on text, or images
    return InputError(f"{source}: {what}, so no labeling config can be inferred from it (its <{empty.group(1)}> "
                      "would list no label, which Label Studio refuses)",
                      f"give --config with the labels to annotate (e.g. `annover config new {new})")


def region_id(item: dict) -> str:
    """An id for a result item that others point at (keypoints' ``parentID``), from its content."""
    return hashlib.sha256(canonical_json([item["from_name"], item["value"]]).encode()).hexdigest()[:10]


def unique_id(pid: str, taken: set[str]) -> str:
    """``pid`` (a :func:`region_id`), or where an earlier object of the image has it (an equal box)
    ``pid.N``, so that each object keeps its own keypoints; added to ``taken``. Objects of one image
    with different content keep the ids they had."""
    base = pid
    while pid in taken:
        pid = f"{base}.{len(taken)}"
    taken.add(pid)
    return pid


def labels_tag(tag: str, name: str, to: str, labels: list[str], ids: dict[str, int] | None = None,
               more: dict[str, str] | None = None) -> str:
    """The control ``tag`` listing ``labels``; ``ids``: each label's ``category``; ``more``: each
    label's further attributes, as XML text (:func:`json_attribute`)."""
    inner = "".join(f"\n    <Label value={quoteattr(lb)}" + (f' category="{ids[lb]}"' if ids and lb in ids else "")
                    + (more or {}).get(lb, "") + "/>" for lb in labels)
    return f"  <{tag} name=\"{name}\" toName=\"{to}\">{inner}\n  </{tag}>\n"


def json_attribute(name: str, value: object, where: str = "the file") -> str:
    """`` name='...'``: ``value`` as canonical JSON in an XML attribute, where a generated config keeps
    what a training format carried beyond the labels (COCO's ``info``, a category's ``supercategory``);
    empty for an empty value. Label Studio keeps such attributes and ignores them. InputError naming
    ``where`` (the file and its record) for one longer than Label Studio's XML parser reads."""
    if not value:
        return ""
    try:
        text = quoteattr(_NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", canonical_json(value)))  # JSON escapes
    except (ValueError, TypeError) as e:  # NaN, nested past canonical JSON's depth: the config could not hold it
        said = str(e).removeprefix("$.")
        raise InputError(f"{where}: field {said}", "fix the field, or remove it from the file") from None
    if len(text) > MAX_ATTRIBUTE // 4 and len(text.encode()) > MAX_ATTRIBUTE:
        raise InputError(f"{where}: its fields {', '.join(map(str, value))[:80]} are {len(text.encode()):,} bytes "
                         f"in the labeling config, more than an attribute may hold ({MAX_ATTRIBUTE:,}; Label "
                         "Studio's XML parser, libxml2, refuses 10,000,000)",
                         "shorten them, or remove them from the file")
    return f" {name}={text}"


#: the longest attribute :func:`json_attribute` writes, in bytes: libxml2 (lxml, which Label Studio and
#: label-studio-sdk parse a config with) refuses an attribute of 10,000,000 bytes or more
MAX_ATTRIBUTE = 9_000_000


#: characters XML cannot hold (JSON escapes the C0 controls itself): written as JSON's escapes, uXXXX
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def view_kept(cfg: LabelingConfig | None, attr: str) -> dict:
    """What :func:`json_attribute` kept on the config's ``<View>`` as ``attr`` (empty without it)."""
    text = cfg.view_attribute(attr) if cfg is not None else None
    return _kept(text, f"<View {attr}=...>")


def labels_kept(cfg: LabelingConfig | None, attr: str, tags: tuple[str, ...]) -> dict[str, dict]:
    """label -> what :func:`json_attribute` kept on its ``<Label>`` as ``attr``, for the labels of ``tags``."""
    given = cfg.label_attributes(attr, tags) if cfg is not None else {}
    return {n: _kept(t, f"<Label value={quoteattr(n)} {attr}=...>") for n, t in given.items()}


def _kept(text: str | None, where: str) -> dict:
    if text is None:
        return {}
    try:
        out = json.loads(text)
    except ValueError:
        out = None
    if not isinstance(out, dict):
        raise UsageError(f"the labeling config's {where} is {shown(text)}, not a JSON object",
                         "fix the attribute (it holds what the imported file said beyond its labels), or remove it")
    return out


def image_config(categories: list[str], kinds: set[str], keypoints: list[str] | None = None,
                 ids: dict[str, int] | None = None, more: dict[str, str] | None = None, view: str = "") -> str:
    """A labeling config for images with the controls ``kinds`` (result types) need; ``ids``: a
    COCO file's category ids, kept as each label's ``category`` (label-studio-sdk's converter reads
    them so) for an export to write back; ``more``: each category label's further attributes and
    ``view`` the ``<View>``'s (the dataset's own fields, :func:`json_attribute`)."""
    out = f"<View{view}>\n  <Image name=\"image\" value=\"$image\"/>\n"
    for t in ("rectanglelabels", "polygonlabels", "brushlabels"):
        if t in kinds or t == "rectanglelabels" and not kinds:
            name, tag = CONTROLS[t]
            out += labels_tag(tag, name, "image", categories, ids, more)
    if "keypointlabels" in kinds:
        out += labels_tag("KeyPointLabels", "keypoints", "image", list(keypoints or []))
    return out + "</View>\n"


def _config_lacks(source: str, given: LabelingConfig, has: str, tag: str) -> ValidationError:
    """The data needs one ``tag`` where the config checked against has ``has``. HEAD's config (no
    --config given, :data:`annover.model.config.HEAD_CONFIG`) labels what the repository's versions hold:
    data of another kind is a repository of its own, or a --config of its own; a config given says so,
    and no config generates one."""
    if given.source == HEAD_CONFIG:
        kinds = ", ".join(sorted({f"<{c.tag}>" for c in given.controls.values()}))
        return ValidationError(f"{source}: no --config given, so HEAD's labeling config is used, and it has {has} "
                               f"({kinds}); the data needs one",
                               f"this repository's versions label other data: snapshot the file in a repository "
                               f"of its own (`annover init DIR`, where a config is generated for it), or give "
                               f"--config FILE with one <{tag}> tag")
    return ValidationError(f"{source}: the labeling config has {has}, and the data needs one",
                           f"give a config with one <{tag}> tag, or none to have one generated")


def _rename(tasks: list[dict], generated: LabelingConfig, given: LabelingConfig, source: str) -> None:
    """Results and data renamed from the generated config's controls and objects to the given one's;
    a control no result is of need not be in the given config (a file of images not labeled yet,
    snapshotted with a classification config)."""
    names: dict[str, str] = {}
    used = {r["from_name"] for t in tasks for a in t.get("annotations", []) for r in a["result"]}
    for c in generated.controls.values():
        if c.name not in used:  # no result of it (images not labeled yet): the config need not have it
            continue
        same = given.controls.get(c.name)  # one of the same name and tag is that one (a Hugging Face column's)
        mine = [same] if same is not None and same.tag == c.tag else [
            g for g in given.controls.values() if g.tag == c.tag]
        if len(mine) != 1:
            raise _config_lacks(source, given, f"{len(mine)} <{c.tag}> controls", c.tag)
        names[c.name] = mine[0].name
    objects: dict[str, tuple[str, str]] = {}
    for o in generated.objects.values():
        same_o = given.objects.get(o.name)
        mine_o = [same_o] if same_o is not None and same_o.tag == o.tag else [
            g for g in given.objects.values() if g.tag == o.tag]
        if len(mine_o) != 1:
            raise _config_lacks(source, given, f"{len(mine_o)} <{o.tag}> objects", o.tag)
        objects[o.name] = (mine_o[0].name, mine_o[0].field)
    fields = {generated.objects[n].field: f for n, (_, f) in objects.items()}
    for t in tasks:
        t["data"] = {fields.get(k, k): v for k, v in t["data"].items()}
        for a in t.get("annotations", []):
            for r in a["result"]:
                r["from_name"] = names.get(r["from_name"], r["from_name"])
                r["to_name"] = objects.get(r["to_name"], (r["to_name"],))[0]


def _flip_lost(generated: LabelingConfig, config: LabelingConfig, source: str) -> list[str]:
    """A warning where the file gave its keypoints a left-right flip (a YOLO pose folder's
    ``flip_idx``, kept as the generated config's ``flip``) that the given config does not: a YOLO
    export writes ``flip_idx`` from the config."""
    tags = ("KeyPointLabels",)
    had, has = generated.label_attributes("flip", tags), config.label_attributes("flip", tags)
    lost = {n: f for n, f in had.items() if has.get(n) != f}
    if not lost:
        return []
    shown = ", ".join(f'{n} flip="{f}"' for n, f in list(lost.items())[:4]) + (" ..." if len(lost) > 4 else "")
    return [f"{source}: its flip_idx pairs keypoints the labeling config does not ({shown}); a YOLO export "
            "writes flip_idx from the config: add those flip attributes to its <Label>s to keep them"]


#: the attribute a generated config keeps a training format's own fields in: on ``<View>`` the dataset's
#: (COCO's ``info``, ``licenses``; data.yaml's other keys), on a category's ``<Label>`` the category's
KEPT = {"coco": "COCO", "yolo": "YOLO data.yaml"}


def _kept_lost(generated: LabelingConfig, config: LabelingConfig, source: str) -> list[str]:
    """A warning where the file carried fields of its own (kept in the generated config's :data:`KEPT`
    attributes) that the given config does not keep: an export writes them from the config."""
    lost = [f"<View {a}=...> ({what}: {', '.join(json.loads(generated.view_attribute(a) or '{}'))})"
            for a, what in KEPT.items() if generated.view_attribute(a) != config.view_attribute(a)
            and generated.view_attribute(a) is not None]
    tags = ("RectangleLabels", "PolygonLabels", "BrushLabels")
    had, has = generated.label_attributes("coco", tags), config.label_attributes("coco", tags)
    lost += [f'<Label value="{n}" coco=...>' for n, v in had.items() if has.get(n) != v][:4]
    if not lost:
        return []
    return [f"{source}: the labeling config does not keep what the file says beyond its labels ({'; '.join(lost)}); "
            "an export writes these from the config: add those attributes to its <View> and <Label>s to keep them "
            "(the config generated without --config has them; see docs/formats.md)"]


def to_tables(inp: TrainInput, source: str, fmt: str, config: LabelingConfig | None,
              validate: bool | str) -> tuple[Tables, str]:
    """Canonical tables of a training format read as tasks, and the config they were checked with."""
    generated = LabelingConfig(inp.config, source=f"the config generated for {source}", validate=False)
    if config is not None:
        _rename(inp.tasks, generated, config, source)
        cfg = config
    else:
        cfg = generated
    tables = from_ls_tasks(inp.tasks, source, config=cfg if config is not None else None, key=inp.key,
                           validate=validate, fmt=fmt)
    tables.warnings += inp.warnings
    tables.key_rule = inp.key_rule
    if config is not None and inp.category_ids and category_ids(config, list(inp.category_ids)) != inp.category_ids:
        tables.warnings.append(f"{source}: the labeling config gives its labels other category ids than the file "
                               f"({', '.join(f'{n}={i}' for n, i in list(inp.category_ids.items())[:5])}); a COCO "
                               'export numbers them by the config: add category="ID" to its <Label>s to keep them')
    if config is not None:
        tables.warnings += _flip_lost(generated, config, source) + _kept_lost(generated, config, source)
    for name in ("tasks", "annotations", "predictions"):  # no Label Studio JSON came in: nothing to give back
        t = getattr(tables, name)
        i = t.schema.get_field_index("ls_original")
        setattr(tables, name, t.set_column(i, t.schema.field(i), pa.nulls(t.num_rows, pa.string())))
    if inp.ls_ids:  # the Label Studio ids the input kept (the Hugging Face export's column): provenance, not content
        t = tables.tasks
        i = t.schema.get_field_index("ls_task_id")
        ids = pa.array([inp.ls_ids.get(k) for k in t.column("task_key").to_pylist()], t.schema.field(i).type)
        tables.tasks = t.set_column(i, t.schema.field(i), ids)
    return tables, cfg.text
