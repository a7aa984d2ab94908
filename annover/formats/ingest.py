"""Old home of the readers (kept until callers move). New homes:

``read_source`` / ``detect_format``: :mod:`annover.formats.read`; ``Tables`` / ``finish``:
:mod:`annover.formats.tables`; ``from_ls_tasks`` / ``validate_ls_tasks``:
:mod:`annover.formats.label_studio`; ``from_json_min``: :mod:`annover.formats.json_min`;
``from_flat``: :mod:`annover.formats.flat`; ``from_canonical``:
:mod:`annover.formats.own_parquet`; JSON readers: :mod:`annover.formats.text`.
"""

from __future__ import annotations

from annover.formats import INPUT_FORMATS
from annover.formats.flat import from_flat
from annover.formats.json_min import from_json_min
from annover.formats.label_studio import from_ls_tasks, validate_ls_tasks
from annover.formats.own_parquet import from_canonical
from annover.formats.read import detect_format, read_source
from annover.formats.tables import Tables, finish
from annover.formats.text import read_json as _read_json
from annover.formats.text import read_jsonl as _read_jsonl

FORMATS = INPUT_FORMATS

__all__ = ["FORMATS", "Tables", "detect_format", "finish", "from_canonical", "from_flat", "from_json_min",
           "from_ls_tasks", "read_source", "validate_ls_tasks", "_read_json", "_read_jsonl"]
