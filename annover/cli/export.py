"""``annover export``: a version as a file to train with or to re-import into Label Studio."""

from __future__ import annotations

import click

from annover.cli import arrow_without_pandas, emit_json, info, json_option, short
from annover.formats import EXPORT_FORMATS
from annover.model.canonical import TABLES
from annover.repo import Repo


@click.command(epilog="""\b
Examples:
  annover export v2 --format label-studio --out v2.json
  annover export HEAD --format parquet --out labels.parquet
  annover export v1 --format csv --table tasks --out tasks.csv
""")
@click.argument("rev", default="HEAD")
@click.option("--format", "fmt", required=True, type=click.Choice(EXPORT_FORMATS), help="Output format.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output file.")
@click.option("--table", type=click.Choice(TABLES), default="annotations",
              help="Table for jsonl/csv/parquet (default annotations).")
@json_option
def export(rev: str, fmt: str, out: str, table: str, as_json: bool) -> None:
    """Write version REV in a format to train with or to re-import into Label Studio."""
    arrow_without_pandas()
    res = Repo(".").export(rev, fmt, out, table)
    if as_json:
        emit_json(res.to_json())
    else:
        info(f"wrote {res.path} ({res.format}, {res.bytes} bytes) from {short(res.version)}")
