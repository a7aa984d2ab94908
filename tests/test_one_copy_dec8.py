"""Things spelled once (Dec 8): the SQL reading of "a region row" that the diff and the loop share,
and the name of the labeling config of HEAD that snapshots, the trainer and the notebook give."""

from __future__ import annotations

from pathlib import Path

import annover
from annover.diffing import match, sql
from annover.loop import queries
from annover.model.config import HEAD_CONFIG

PACKAGE = Path(annover.__file__).parent


def _holders(text: str) -> list[str]:
    """The modules of the package whose source holds ``text``."""
    return sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if text in p.read_text())


def test_region_row_is_spelled_once():
    """The types that are never shapes, as SQL, live in one module; the diff's region row and the loop's
    region answers are that one predicate."""
    assert _holders("'choices', 'taxonomy', 'textarea'") == ["diffing/match.py"]
    assert sql.REGION_ROW == match.region_row_sql()
    assert match.region_row_sql("p.") in queries.answered("p.", shape=True)


def test_head_config_is_named_once():
    """Every message about HEAD's config says it with :data:`annover.model.config.HEAD_CONFIG`."""
    assert _holders(f'"{HEAD_CONFIG}"') == ["model/config.py"]
