"""Labeling config commands: list templates, generate a config from one, validate a config."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from annover._lazy import lazy
from annover.cli import emit_json, info, json_option, not_empty
from annover.errors import NotARepoError, UsageError
from annover.files import bad_name
from annover.model.config import LabelingConfig
from annover.model.templates import TEMPLATES, get, render

repo_ = lazy("annover.repo")  # only for --out: `config list` and printing start without it
outputs_ = lazy("annover.repo.outputs")


def split_labels(labels_csv: tuple[str, ...], labels_one: tuple[str, ...]) -> list[str]:
    """``--labels A,B`` (split on commas) then ``--label X`` (as is), in that order."""
    return [part for csv in labels_csv for part in csv.split(",")] + list(labels_one)


@click.group(epilog="""\b
Examples:
  annover config list
  annover config new image-classification --labels cat,dog,bird --out labeling.xml
  annover config validate labeling.xml
""")
def config() -> None:
    """Labeling configs (Label Studio XML): generate from templates, validate."""


@config.command("list", epilog="""\b
Examples:
  annover config list
  annover config list --json
""")
@json_option
def list_(as_json: bool) -> None:
    """List the templates for `annover config new`.

    One line each: name, the task data key it reads (change it with --data-field), what it labels.
    """
    if as_json:
        emit_json([t.to_json() for t in TEMPLATES.values()])
        return
    width = max(map(len, TEMPLATES))
    fwidth = max(len(t.data_field) for t in TEMPLATES.values()) + 1
    for t in TEMPLATES.values():
        click.echo(f"{t.name:<{width}}  {'$' + t.data_field:<{fwidth}}  {t.description}")


@config.command(epilog="""\b
Examples:
  annover config new image-classification --labels cat,dog,bird
  annover config new object-detection --labels car,person --out labeling.xml
  annover config new ner --labels PER,ORG,LOC --label "Smith, Jones & Co" --out ner.xml
  annover config new text-classification --labels pos,neg --data-field review
  annover config new audio-transcription --out asr.xml
  annover config new polygons --labels road,sky --out labeling.xml --force

\b
Labels: --labels splits on commas; --label takes one label as it is (use it for
labels with commas) and adds it after those of --labels. Surrounding spaces are
trimmed; empty and duplicate labels are refused. `annover config list` shows the
templates.""")
@click.argument("template")
@click.option("--labels", "labels_csv", multiple=True, metavar="A,B,C", help="Labels, comma-separated; repeatable.")
@click.option("--label", "labels_one", multiple=True, metavar="LABEL",
              help="One label (may contain commas); repeatable.")
@click.option("--data-field", metavar="NAME",
              help="Task data key the config reads (default: per template, see `annover config list`).")
@click.option("-o", "--out", type=click.Path(dir_okay=False), callback=not_empty,
              help="Write the config to this file (default: stdout).")
@click.option("--force", is_flag=True, help="With --out: overwrite an existing file.")
@json_option
def new(template: str, labels_csv: tuple[str, ...], labels_one: tuple[str, ...], data_field: str | None,
        out: str | None, force: bool, as_json: bool) -> None:
    """Make a labeling config from TEMPLATE and labels.

    Prints the Label Studio XML, or writes it to --out. The config is checked with
    Label Studio's own validation before it is printed or written.
    """
    t = get(template)
    text = render(t.name, split_labels(labels_csv, labels_one), data_field)
    cfg = LabelingConfig(text, source=f"template {t.name}")  # belt and braces: the SDK agrees
    labels_out = list(cfg.controls[t.labels].labels) if t.labels else []
    field = data_field or t.data_field
    if out:
        _write(out, text, force)
        info(f"wrote {out}: {t.name}, {len(labels_out)} label(s), reads ${field}")
    if as_json:
        emit_json({"template": t.name, "data_field": field, "labels": labels_out, "path": out, "config": text})
    elif not out:
        click.echo(text, nl=False)


def _check_out(p: Path) -> None:
    """Refuse an --out onto what git, DVC and annover keep, in the repository it would land in."""
    at = next((d for d in (p.parent, *p.parent.parents) if d.is_dir()), Path("."))
    try:
        repo = repo_.Repo(at)
    except NotARepoError:
        return
    outputs_.check_not_owned(repo, p, "--out")


def _write(path: str, text: str, force: bool) -> None:
    """Write ``text`` to ``path``: never over an existing file unless ``force`` (then by rename)."""
    p = Path(path)
    if bad_name(p):
        raise UsageError(f"--out {path[:80]!r}: {bad_name(p)}", "leave --out out to print the config")
    _check_out(p)
    data = text.encode("utf-8")
    try:  # as export, diff and report make their --out's folder
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e.strerror or e} (making its folder)",
                         "choose an --out in a folder you can write") from None
    try:
        if not force:
            with open(p, "xb") as f:  # exclusive create: an existing file is never touched
                f.write(data)
            return
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, p)
        finally:
            tmp.unlink(missing_ok=True)
    except FileExistsError:
        raise UsageError(f"{path} exists", "pass --force to overwrite it, or choose another --out") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory", "give a file name with --out") from None
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e.strerror or e}",
                         "choose an --out in a folder you can write") from None


@config.command(epilog="""\b
Examples:
  annover config validate labeling.xml
  annover config validate labeling.xml --json
  annover config new ner --labels PER,ORG | annover config validate -
""")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True), callback=not_empty)
@json_option
def validate(file: str, as_json: bool) -> None:
    """Check a labeling config; show its objects, controls and labels.

    FILE is Label Studio XML (- reads stdin). Objects and controls go to stdout; an
    invalid config exits with code 5 and says why.
    """
    if file == "-":
        cfg = LabelingConfig(sys.stdin.read(), source="<stdin>")
    else:
        cfg = LabelingConfig.from_file(file, option="FILE")
    controls = cfg.summary()
    if as_json:
        emit_json({"path": file, "valid": True, "objects": cfg.fields, "controls": controls})
        return
    for name, field in sorted(cfg.fields.items()):
        click.echo(f"object  {name} <- ${field}")
    for name, c in controls.items():
        n = len(c["labels"])
        click.echo(f"control {name} ({c['tag']} -> {','.join(c['to_name'])})"
                   + (f": {n} label{'s' if n != 1 else ''}" if n else ""))
        for label in c["labels"]:
            click.echo(f"  {_show(label)}")
    info(f"{cfg.source}: valid ({len(controls)} control{'s' if len(controls) != 1 else ''})")


def _show(label: str) -> str:
    """A label as is, or JSON-quoted where plain text would hide what it is (spaces, controls)."""
    plain = label and label == label.strip() and label.isprintable()
    return label if plain else json.dumps(label, ensure_ascii=False)
