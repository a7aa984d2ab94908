"""Where a session's tasks and labels come from: a version, texts, image paths or URLs, a
folder of images; the labels from the version's labeling config (its Choices control) or a list.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence
from xml.sax.saxutils import quoteattr, unescape

from annover._lazy import lazy
from annover.errors import UsageError
from annover.files import dvc_cache_object
from annover.formats.label_studio import task_key_of
from annover.model.config import HEAD_CONFIG, Control, LabelingConfig
from annover.notebook.session import IMAGE, TEXT, Earlier, Prediction, Task, check_labels
from annover.notebook.who import Who, who_in
from annover.repo import Repo

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
else:
    pa = lazy("pyarrow")

__all__ = ["IMAGE_SUFFIXES", "ONLY", "Plan", "add_choices", "from_items", "from_version", "generated_config",
           "image_files", "others_answers", "pick_control", "with_earlier"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".svg", ".tif", ".tiff")
#: what ``only=`` may name besides a list of task keys
ONLY = ("unlabeled", "disagreement")
#: object tags shown as an image; every other object is shown as text
_IMAGE_TAGS = {"Image"}


@dataclass
class Plan:
    """The tasks, labels and control of a session, and the labeling config its version will carry."""

    tasks: list[Task]
    labels: list[str]
    from_name: str
    to_name: str
    multiple: bool
    config_text: str | None
    base: str | None = None
    key: str | None = None
    #: labels given that the config's control lacks: ``config_text`` (and a save's config) adds them
    added: list[str] = field(default_factory=list)


def pick_control(cfg: LabelingConfig, control: str | None, where: str) -> Control:
    """The Choices control to answer: ``control`` by name, else the config's only one."""
    choices = {n: c for n, c in cfg.controls.items() if c.tag == "Choices" and not c.per_region}
    if control is not None:
        if control not in choices:
            raise UsageError(f"{where} has no Choices control {control!r}",
                             f"its Choices controls: {', '.join(sorted(choices)) or 'none'}")
        return choices[control]
    if not choices:
        raise UsageError(f"{where} has no Choices control: the notebook annotator labels with one",
                         "add a <Choices> control to the config and snapshot it with --config, "
                         "or annotate texts or images with labels=[...]")
    if len(choices) > 1:
        raise UsageError(f"{where} has {len(choices)} Choices controls ({', '.join(sorted(choices))})",
                         "name one with control=")
    return next(iter(choices.values()))


def _labels(ctl: Control, labels: Sequence[str] | None, where: str) -> tuple[list[str], list[str]]:
    """(the session's labels, those of them the control lacks): a label given that the config does not
    have is added to the control in the version the answers make (a class added mid-way), not refused."""
    if ctl.dynamic:
        raise UsageError(f"control {ctl.name!r} of {where} takes its labels from the task data",
                         "the notebook annotator needs the labels written in the config")
    if labels is None:
        return list(ctl.labels), []
    check_labels(labels)
    added = [lab for lab in labels if lab not in ctl.labels]
    known = {lab.strip().casefold(): lab for lab in ctl.labels}
    typo = next((lab for lab in added if lab.strip().casefold() in known), None)
    if typo is not None:  # "positive" for the config's "Positive": a second class, not a new one
        raise UsageError(f"label {typo!r} differs from {known[typo.strip().casefold()]!r} of control {ctl.name!r} "
                         f"in {where} only in case or spaces", f"use {known[typo.strip().casefold()]!r}")
    return list(labels), added


def add_choices(text: str, control: str, labels: Sequence[str], where: str) -> str:
    """Config ``text`` with the ``labels`` its Choices control ``control`` lacks added to it, after its
    choices (the rest of the text as it was, so ``annover diff`` shows just the labels added). Refused
    only where they cannot be merged: no such Choices control, or one whose choices come from task data."""
    cfg = LabelingConfig(text, source=where, validate=False)
    ctl = cfg.controls.get(control)
    if ctl is None or ctl.tag != "Choices" or ctl.per_region:
        raise UsageError(f"{where} has no Choices control {control!r} to add labels to",
                         "label with a control it has (control=), or snapshot a config with this one (--config)")
    _labels(ctl, None, where)  # refuses a control whose choices come from the task data
    new = [lab for lab in labels if lab not in ctl.labels]
    if not new:
        return text
    out = _inserted(text, control, new)
    got = LabelingConfig(out, source=where, validate=False).controls.get(control) if out else None
    if got is None or list(got.labels) != [*ctl.labels, *new]:
        raise UsageError(f"labels {', '.join(map(repr, new))} cannot be added to control {control!r} of {where}",
                         f"add them as <Choice value=...> to <Choices name={control!r}> and snapshot it with --config")
    return out


_START = re.compile(r"""<Choices\b(?:[^>"']|"[^"]*"|'[^']*')*>""")
_NAME = re.compile(r"""\sname\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _inserted(text: str, control: str, new: Sequence[str]) -> str | None:
    """``text`` with a ``<Choice value=...>`` per label in ``new`` before the close of ``<Choices
    name=control>``, indented as its last choice; None where the text cannot be read so."""
    for m in _START.finditer(text):
        name = _NAME.search(m.group(0))
        if name is None or unescape(name.group(1) or name.group(2) or "", {"&quot;": '"', "&apos;": "'"}) != control:
            continue
        tags = [f"<Choice value={quoteattr(lab)}/>" for lab in new]
        if m.group(0).endswith("/>"):
            return f"{text[:m.start()]}{m.group(0)[:-2].rstrip()}>{''.join(tags)}</Choices>{text[m.end():]}"
        close = re.compile(r"</Choices\s*>").search(text, m.end())
        if close is None:
            return None
        line = text.rfind("\n", 0, close.start()) + 1
        if text[line:close.start()].strip():  # written on one line: the choices go with the others
            return text[:close.start()] + "".join(tags) + text[close.start():]
        last = re.findall(r"\n([ \t]*)<Choice\b", text[m.end():close.start()])
        indent = last[-1] if last else text[line:close.start()] + "  "
        return text[:line] + "".join(f"{indent}{t}\n" for t in tags) + text[line:]
    return None


def _kind_and_field(cfg: LabelingConfig, ctl: Control, where: str) -> tuple[str, str, str]:
    """(to_name, kind, data field) of the object the control labels."""
    for name in ctl.to_name:
        obj = cfg.objects.get(name)
        if obj is not None and obj.from_data:
            return name, IMAGE if obj.tag in _IMAGE_TAGS else TEXT, obj.field
    raise UsageError(f"control {ctl.name!r} of {where} labels no object that reads task data",
                     "check its toName")


def generated_config(kind: str, labels: Sequence[str], multiple: bool) -> str:
    """A labeling config for one text or image and one Choices control named ``label``."""
    obj = '<Image name="image" value="$image"/>' if kind == IMAGE else '<Text name="text" value="$text"/>'
    choices = "\n".join(f"    <Choice value={quoteattr(lab)}/>" for lab in labels)
    return (f"<View>\n  {obj}\n  <Choices name=\"label\" toName=\"{kind}\" choice=\""
            f"{'multiple' if multiple else 'single'}\" showInline=\"true\">\n{choices}\n  </Choices>\n</View>\n")


def _rows(table: "pa.Table", columns: list[str]) -> list[dict]:
    return table.select(columns).to_pylist()


def _answered(ann: "pa.Table", control: str) -> dict[str, list[tuple[str, ...]]]:
    """task key -> label sets of its answers (not skipped) on ``control``."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for r in _rows(ann, ["task_key", "from_name", "labels", "was_cancelled"]):
        if r["from_name"] == control and not r["was_cancelled"]:
            out.setdefault(r["task_key"], []).append(tuple(sorted(r["labels"] or ())))
    return out


def others_answers(ann: "pa.Table", control: str,
                   who: Who | None) -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """task key -> the answers (not skips) on ``control`` of people other than ``who``: (annotator,
    labels) in annotator order, what a reviewer of a disagreement weighs."""
    if ann.num_rows == 0:
        return {}
    mine = who.mask(ann.column("annotator").to_pylist()) if who is not None else [False] * ann.num_rows
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for r, own in zip(_rows(ann, ["task_key", "annotator", "from_name", "labels", "was_cancelled"]), mine):
        if r["from_name"] == control and not r["was_cancelled"] and not own:
            out.setdefault(r["task_key"], []).append((r["annotator"] or "(no annotator)", tuple(r["labels"] or ())))
    return {k: tuple(sorted(v)) for k, v in out.items()}


def earlier_answers(ann: "pa.Table", control: str, who: Who | None) -> dict[str, Earlier]:
    """task key -> the person's own answer on ``control`` (their latest annotation of the task that
    answers it, or skips the task; theirs as :mod:`annover.notebook.who` tells)."""
    latest: dict[str, tuple[tuple, Earlier]] = {}
    if who is None or ann.num_rows == 0:
        return {}
    ann = ann.filter(pa.array(who.mask(ann.column("annotator").to_pylist()), pa.bool_()))
    for r in _rows(ann, ["task_key", "annotation_key", "annotator", "from_name", "labels", "was_cancelled",
                         "created_at", "updated_at"]):
        if r["from_name"] != control and not r["was_cancelled"]:
            continue
        when = (r["updated_at"] or r["created_at"] or "", r["annotation_key"])
        seen = latest.get(r["task_key"])
        if seen is not None and seen[0] > when:
            continue
        labels = seen[1].labels if seen is not None and seen[0] == when else ()
        labels += tuple(r["labels"] or ()) if r["from_name"] == control else ()
        latest[r["task_key"]] = (when, Earlier(labels, bool(r["was_cancelled"])))
    return {k: e for k, (_, e) in latest.items()}


def _predictions(preds: "pa.Table", control: str, model_version: str | None) -> dict[str, Prediction]:
    """task key -> the prediction on ``control`` of ``model_version`` (default: the last in name order)."""
    rows = [r for r in _rows(preds, ["task_key", "model_version", "score", "from_name", "labels"])
            if r["from_name"] == control]
    versions = sorted({r["model_version"] for r in rows})
    if model_version is None:
        if not versions:
            return {}
        model_version = versions[-1]
    elif model_version not in versions:
        raise UsageError(f"no predictions of model version {model_version!r} on control {control!r}",
                         f"its model versions: {', '.join(versions) or 'none'}")
    out: dict[str, Prediction] = {}
    for r in rows:
        if r["model_version"] == model_version and r["task_key"] not in out:
            out[r["task_key"]] = Prediction(tuple(r["labels"] or ()), model_version, r["score"])
    return out


def from_version(repo: Repo, rev: str, only: str | Sequence[str] | None, labels: Sequence[str] | None,
                 control: str | None, model_version: str | None, annotator: str | None = None) -> Plan:
    """The tasks of version ``rev`` (all, ``only="unlabeled"``, ``"disagreement"`` or a list of
    task keys), labeled with its config's Choices control; each with ``annotator``'s earlier answer."""
    v = repo.show(rev)
    where = f"the labeling config of {rev}"
    text = repo.config_text(v.id) if v.config_ref else None
    if text is None:
        raise UsageError(f"version {rev} has no labeling config", "snapshot it with --config, or give texts")
    cfg = LabelingConfig(text, source=where, validate=False)
    ctl = pick_control(cfg, control, where)
    to_name, kind, data_field = _kind_and_field(cfg, ctl, where)
    tasks = repo.load(v.id, "tasks", columns=["task_key", "data"])
    data = {r["task_key"]: r["data"] for r in _rows(tasks, ["task_key", "data"])}
    anns = repo.load(v.id, "annotations")
    answered = _answered(anns, ctl.name)
    who = who_in(repo, annotator, anns) if annotator is not None else None
    earlier = earlier_answers(anns, ctl.name, who)
    others: dict[str, tuple] = {}
    if only is None:
        keys = list(data)
    elif isinstance(only, str) and only == "unlabeled":
        keys = [k for k in data if k not in answered]
    elif isinstance(only, str) and only == "disagreement":
        keys = [k for k in data if len(set(answered.get(k, ()))) > 1]
        others = others_answers(anns, ctl.name, who)  # shown: what the reviewer decides between
    elif isinstance(only, str):
        raise UsageError(f"only={only!r}", f"use one of {', '.join(ONLY)} or a list of task keys")
    else:
        keys = list(only)
        missing = [k for k in keys if k not in data]
        if missing:
            raise UsageError(f"version {rev} has no task {missing[0]!r}", "give keys of its tasks")
    if not v.model_versions and model_version is not None:
        raise UsageError(f"version {rev} has no predictions (model_version={model_version!r})",
                         "leave model_version out, or snapshot the predictions with --predictions FILE")
    preds = _predictions(repo.load(v.id, "predictions"), ctl.name, model_version) if v.model_versions else {}
    out = [Task(k, json.loads(data[k]), data_field, kind, preds.get(k), earlier.get(k), others.get(k, ()))
           for k in keys]
    chosen, added = _labels(ctl, labels, where)
    return Plan(out, chosen, ctl.name, to_name, ctl.choice == "multiple", add_choices(text, ctl.name, added, where),
                base=v.id, added=added)


def with_earlier(plan: Plan, repo: Repo | None, rev: str | None, annotator: str) -> Plan:
    """``plan``'s tasks, each that version ``rev`` has with the person's earlier answer on the control
    (new tasks given as a list, records or a folder: those answered before in another session, or in
    Label Studio, say so as a version's tasks do)."""
    if repo is None or rev is None:
        return plan
    anns = repo.load(rev, "annotations")
    earlier = earlier_answers(anns, plan.from_name, who_in(repo, annotator, anns))
    if not earlier:
        return plan
    tasks = [replace(t, earlier=earlier.get(t.key, t.earlier)) for t in plan.tasks]
    return replace(plan, tasks=tasks)


def image_files(folder: Path) -> list[Path]:
    """The image files in ``folder`` and below, in path order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _looks_like_image(value: Any) -> bool:
    return isinstance(value, (str, Path)) and str(value).split("?")[0].lower().endswith(IMAGE_SUFFIXES)


def _could_be_image(value: Any) -> bool:
    """Whether ``value`` may name an image: a URL (of any scheme, with a suffix or not), a path named as an
    image, or a file that is (or links to) an object of a DVC cache, whose names have no suffix."""
    if not isinstance(value, (str, Path)):
        return False
    s = str(value)
    if _looks_like_image(s) or re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", s) or s.startswith("data:"):
        return True
    try:
        p = Path(s).expanduser()
        return p.is_file() and dvc_cache_object(os.path.realpath(p))
    except (OSError, ValueError):  # a text too long to be a path, or holding a NUL
        return False


def _check_images(datas: list[dict], column: str, records: bool, where: str, control: str) -> None:
    """Refuse task data whose shown field is no image path or URL, for a config that labels images: it
    would show as a placeholder and be saved as the path of an image."""
    i = next((i for i, d in enumerate(datas) if not _could_be_image(d[column])), None)
    if i is None:
        return
    what = f"record {i}'s field {column!r}" if records else f"item {i}"
    raise UsageError(f"{what} ({_cut(datas[i][column])}) is no image path or URL, and {where} labels images "
                     f"({control})", "give image paths or URLs (kind='image' for files not named as images), "
                     "or label texts in a repository for them (repo=)")


def _cut(v: Any, n: int = 40) -> str:
    r = repr(v)
    return r if len(r) <= n else r[:n - 1] + "…"


def _records(items: Any) -> tuple[list[Any], bool]:
    """(items, whether they are records): a DataFrame's rows, a list of dicts, or plain values."""
    if hasattr(items, "to_dict") and hasattr(items, "columns"):
        return list(items.to_dict("records")), True
    items = list(items)
    return items, bool(items) and all(isinstance(x, dict) for x in items)


def _task_data(items: Iterable[Any] | str | Path, kind: str | None, column: str | None,
               root: Path) -> tuple[list[dict], str, str, bool]:
    """(task data of each item, the field shown, "text" or "image", whether the items are records)."""
    if isinstance(items, (str, Path)):
        folder = Path(items)
        if not folder.is_dir():
            raise UsageError(f"{folder}: not a folder", "give a folder of images, or a list of texts or paths")
        values, records, kind = list(image_files(folder)), False, kind or IMAGE
        if not values:  # which folder, and what counts as an image in it
            raise UsageError(f"{folder}: no image files in this folder or below it",
                             f"images are files named {', '.join(IMAGE_SUFFIXES)} (in any case)")
    else:
        values, records = _records(items)
    if not values:
        raise UsageError("no tasks to label", "give texts, image paths or a folder with images")
    if records:
        column = column or next((c for c in (TEXT, IMAGE) if c in values[0]), None) or next(iter(values[0]), None)
        if column is None or any(column not in r for r in values):
            i = next((i for i, r in enumerate(values) if column not in r), 0)
            fields = ", ".join(map(str, values[i])) or "none"
            raise UsageError(f"record {i} has no field {column!r} (its fields: {fields})",
                             "name the field to show with column=, one every record has")
        datas = [{k: _plain(v) for k, v in r.items()} for r in values]
    elif any(not isinstance(v, (str, Path)) for v in values):
        i, v = next((i, v) for i, v in enumerate(values) if not isinstance(v, (str, Path)))
        raise UsageError(f"tasks must be texts, paths or URLs: item {i} is {v!r} (a {type(v).__name__})",
                         "give strings (drop the missing ones, str() the numbers), or records with column=")
    else:
        column = kind or (IMAGE if all(_looks_like_image(v) for v in values) else TEXT)
        datas = [{column: str(v)} for v in values]
    kind = kind or (IMAGE if all(_looks_like_image(d[column]) for d in datas) else TEXT)
    if kind not in (TEXT, IMAGE):
        raise UsageError(f"kind={kind!r}", "use 'text' or 'image'")
    empty = next((i for i, d in enumerate(datas) if isinstance(d[column], str) and not d[column].strip()), None)
    if empty is not None:  # an empty box to label (a CSV's empty cell, a blank line): its answer would mean nothing
        what = f"record {empty}'s field {column!r}" if records else f"item {empty}"
        raise UsageError(f"{what} is empty ({datas[empty][column]!r}): nothing to label",
                         "drop the empty items, or give their text")
    if kind == IMAGE:  # local paths as the repository sees them; URLs as they are
        for d in datas:
            v = str(d[column])
            d[column] = v if _is_url(v) else _shown_path(Path(v), root)
    return datas, column, kind, records


def from_items(items: Iterable[Any] | str | Path, labels: Sequence[str] | None, *, kind: str | None,
               column: str | None, key: str | None, multiple: bool, root: Path,
               base_config: tuple[str, str | None] | None) -> Plan:
    """Tasks of texts, image paths or URLs (a list, a DataFrame, records, or a folder of images).

    ``base_config``: (text, version id) of the repository's HEAD config, whose Choices control
    then gives the labels and the data field (a new repository gets a config made for ``labels``).
    """
    told = kind or (IMAGE if isinstance(items, (str, Path)) else None)  # kind= or a folder of images
    datas, column, kind, records = _task_data(items, kind, column, root)
    if base_config is not None:
        text, base = base_config
        where = HEAD_CONFIG
        cfg = LabelingConfig(text, source=where, validate=False)
        ctl = pick_control(cfg, None, where)
        to_name, kind, data_field = _kind_and_field(cfg, ctl, where)  # shown as the config shows it
        if told is not None and told != kind:  # images into a text dataset: paths shown and saved as texts
            raise UsageError(f"these tasks are {told}s, and {where} labels {kind} (control {ctl.name!r} "
                             f"on {to_name!r})", "label them in a repository for them (repo=), or give "
                             f"kind={kind!r} if they are to be {kind}s")
        if told is None and kind == IMAGE:  # texts into an image dataset: placeholders, saved as image paths
            _check_images(datas, column, records, where, f"control {ctl.name!r} on {to_name!r}")
        if data_field != column:  # the config reads another field: the shown value goes there
            datas = [{data_field: d.pop(column), **d} for d in datas]
            column = data_field
        if multiple and ctl.choice != "multiple":  # kept single choice, the answers would be one label each
            raise UsageError(f"multiple=True, and control {ctl.name!r} of {where} is single choice",
                             "leave multiple= out to label with it, or label in a repository for them (repo=)")
        (plan_labels, added), from_name, multiple = _labels(ctl, labels, where), ctl.name, ctl.choice == "multiple"
        config_text: str | None = add_choices(text, ctl.name, added, where)
    else:
        if not labels:
            raise UsageError("no labels to choose from", "give labels=[...]")
        check_labels(labels)
        plan_labels, from_name, to_name, base, added = list(labels), "label", kind, None, []
        config_text = generated_config(kind, plan_labels, multiple)
        if column != kind:  # the made config reads $text or $image
            datas = [{kind: d.pop(column), **d} for d in datas]
            column = kind
    tasks = []
    for i, d in enumerate(datas):
        try:
            k = task_key_of({"data": d}, key, f"task {i}")
        except ValueError as e:
            raise UsageError(str(e), "give key='data.FIELD' of a unique field, or no key") from None
        tasks.append(Task(k, d, column, kind))
    return Plan(tasks, plan_labels, from_name, to_name, multiple, config_text, base=base, key=key, added=added)


def _is_url(s: str) -> bool:
    return s.startswith(("http://", "https://", "data:", "s3://", "gs://"))


def _shown_path(p: Path, root: Path) -> str:
    """A local path as task data: relative to the repository when inside it, else absolute."""
    p = p.expanduser()
    full = p if p.is_absolute() else (Path.cwd() / p)
    try:
        return full.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(full)


def _plain(v: Any) -> Any:
    """A record value as JSON data (numpy scalars, paths and timestamps as plain values; lists and
    dicts, a dialogue's messages, as lists and dicts)."""
    if isinstance(v, Path):
        return str(v)
    if type(v).__name__ in ("NAType", "NaTType"):  # pandas' missing values (pandas is not imported here)
        return None
    if getattr(v, "ndim", 0) and hasattr(v, "tolist"):  # a numpy array (a DataFrame's list column)
        v = v.tolist()
    if isinstance(v, (list, tuple)):  # JSON data as JSON, not as the text of Python's repr of it
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (TypeError, ValueError):
            pass
    if isinstance(v, float) and math.isnan(v):  # a DataFrame's missing number
        return None
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)
