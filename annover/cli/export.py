"""``annover export``: a version as a file to train with or to re-import into Label Studio."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from annover.cli import (BAR_AFTER, Bars, arrow_without_pandas, emit_json, info, json_option, not_empty, open_repo,
                         quiet_said_option, say, short)
from annover.errors import InputError, UsageError
from annover.formats import EXPORT_FORMATS, SCHEME_NAMES
from annover.formats.resolve import RULES
from annover.formats.text import refuse_special
from annover.model.canonical import TABLES


@click.command(epilog=f"""\b
Examples:
  annover export v2 --format label-studio --out v2.json
  annover export HEAD --format parquet --out labels.parquet
  annover export v1 --format csv --table tasks --out tasks.csv
  annover export v3 --format coco --out v3-coco.json
  annover export v3 --format yolo --out v3-yolo-gt --resolve ground-truth
  annover export v3 --format coco --predictions yolov8-2024 --out preds.json
  annover export v3 --format conll --out v3.conll --resolve annotator:ann@example.com
  annover export v3 --format conll --out v3-bioes.conll --tag-scheme bioes --resolve latest   # S-PER, E-ORG (flair)
  annover export v3 --format voc --out v3-voc --force
  annover export v3 --format yolo --out v3-yolo --images data/   # with the images: yolo train data=v3-yolo/data.yaml
  annover export v3 --format coco --out v3-coco --images data/   # v3-coco/annotations.json, v3-coco/images/
  annover export v3 --format coco --out v3-splits                # tasks with splits: annotations/instances_val.json...
  annover export v3 --format hf --out v3-hf --resolve latest     # datasets.load_from_disk("v3-hf")
  annover export v3 --format hf --out v3-hf-images --images data/   # its "image" column the images themselves
  annover export v3 --format hf --out v3-hf --resolve majority --force   # the label most answers give
  annover export v3 --format coco --out v3.json --resolve consensus      # boxes most annotators drew, once
  annover export v3 --format jsonl --out - | head -3              # to standard output
  annover export v3 --format label-studio --task img_042 --out one.json
  annover suspects v3 --out recheck.txt     # then only the tasks it lists:
  annover export v3 --format label-studio --tasks-from recheck.txt --out recheck.json

\b
--resolve (training formats hold one answer per item; see docs/formats.md):
  {", ".join(RULES)}
""")
@click.argument("rev", default="HEAD")
@click.option("--format", "fmt", required=True, type=click.Choice(EXPORT_FORMATS), help="Output format.")
@click.option("-o", "--out", required=True, type=click.Path(), callback=not_empty,
              help="Output file (a folder for yolo, yolo-obb, voc, hf, and coco with --images or of a version with "
                   "splits, --out not ending in .json; conll of a version with splits, --out of no suffix: "
                   "train.conll, dev.conll, test.conll); - for standard output.")
@click.option("--table", type=click.Choice(TABLES), default="annotations",
              help="Table for jsonl/csv/parquet (default annotations).")
@click.option("--resolve", metavar="RULE", callback=not_empty,
              help="Training formats: which answer of a task to write when it has several "
                   "(only, ground-truth, latest, majority, consensus, all, annotator:EMAIL; default only).")
@click.option("--predictions", metavar="MODEL_VERSION", callback=not_empty,
              help="Training formats: write this model version's predictions instead of the annotations.")
@click.option("--task", "tasks", multiple=True, metavar="KEY", callback=not_empty,
              help="Only this task (repeat for more); a key the version lacks is a warning.")
@click.option("--tasks-from", type=click.Path(dir_okay=False), callback=not_empty, metavar="FILE",
              help="Only the tasks whose keys FILE lists, one a line (what suspects/sample --out write).")
@click.option("--images", metavar="DIR", callback=not_empty,
              help="yolo, yolo-obb, voc, coco, hf: put the tasks' images, found in DIR, beside their labels "
                   "(coco: --out is then a folder, annotations.json and images/; hf: in the dataset's image column).")
@click.option("--tag-scheme", type=click.Choice(sorted(SCHEME_NAMES), case_sensitive=False),
              help="conll: the tags' scheme: bio (IOB2: B-PER I-PER), iob1 (I-PER I-PER; B- only right after an "
                   "entity of the same label), bioes (IOBES: S-PER; B-ORG I-ORG E-ORG). Default: the scheme the "
                   "CoNLL file read in had, bio for labels from elsewhere.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@json_option
@quiet_said_option
def export(rev: str, fmt: str, out: str, table: str, resolve: str | None, predictions: str | None,
           tasks: tuple[str, ...], tasks_from: str | None, images: str | None, tag_scheme: str | None, force: bool,
           as_json: bool, quiet: bool) -> None:
    """Write version REV in a format to train with (COCO, YOLO, VOC, CoNLL, Hugging Face
    datasets) or to re-import into Label Studio (Label Studio JSON, JSON-MIN, JSONL, CSV, Parquet).

    An existing --out is not replaced unless --force is given.
    """
    arrow_without_pandas()
    if out == "-":
        _check_stdout(fmt, as_json)
    keys = (list(tasks) + read_keys(tasks_from)) if tasks or tasks_from else None
    repo = open_repo()
    with Bars(as_json or quiet, after=BAR_AFTER, transient=True) as bar:  # on a terminal, for an export of seconds
        res = repo.export(rev, fmt, out, table, resolve=resolve, predictions=predictions, force=force,
                          progress=bar, tasks=keys, images=images, tag_scheme=tag_scheme)
    if as_json:
        emit_json(res.to_json())
    for note in getattr(res, "notes", []):  # on stderr with --json too, not with -q
        say(f"note: {note}", quiet)
    for warning in getattr(res, "warnings", []):  # images of another size than their labels' (YOLO)
        info(f"warning: {warning}")
    if res.missing_tasks:
        shown = ", ".join(map(repr, res.missing_tasks[:5])) + (" ..." if len(res.missing_tasks) > 5 else "")
        info(f"warning: {len(res.missing_tasks)} of the task keys given are in no task of {rev}: {shown}")
    if as_json:
        return
    where = "standard output" if out == "-" else res.path
    say(f"wrote {where} ({res.format}, {res.bytes} bytes) from {short(res.version)}", quiet)


def read_keys(path: str | None) -> list[str]:
    """The task keys a file lists, one a line (blank lines and surrounding spaces left out), as
    ``suspects --out`` and ``sample --out`` write them; a file that cannot be read is exit 3."""
    if path is None:
        return []
    refuse_special(path, "--tasks-from", reads_once=True)  # a named pipe waited forever; `<(command)` is read once
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: byte {e.start} is not UTF-8 text", "give a text file of task keys, one a line") \
            from None
    except OSError as e:
        raise InputError(f"{path}: {e.strerror or e}", "give --tasks-from a text file of task keys, one a line") \
            from None
    return [k for k in (ln.strip() for ln in text.splitlines()) if k]


def _check_stdout(fmt: str, as_json: bool) -> None:
    """``--out -``: the data is standard output, so ``--json`` (its result there too) is refused,
    and so is Parquet (binary) to a terminal."""
    if as_json:
        raise UsageError("--json with --out -: the export is standard output, the result would mix with it",
                         "leave --json out (the result line goes to stderr), or give --out a file")
    if fmt == "parquet" and sys.stdout.isatty():
        raise UsageError("Parquet is binary: not written to a terminal", "pipe it (--out - | ...) or give --out a file")
