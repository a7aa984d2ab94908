"""What changed between two versions: tasks, answers, regions, config, predictions, source data.

Two entries. :func:`diff_tables` compares the canonical tables of two sides given as
Arrow tables; :func:`diff_versions` compares two versions of an object store and reads
only what differs: tables whose snapshot ids are equal are not read at all, and of the
others only the Parquet parts that the two versions do not share. That is exact because
parts end at task boundaries (all rows of one task are in one part). Both return a
:class:`DiffResult`: a summary (plain data, the ``--json`` document) and a row-level
table (one row per changed task, annotation row or prediction row), built when asked for.

The modules, bottom up: ``result`` (options, result, row schema), ``sources`` (a side:
Arrow tables or verified parts), ``sql`` (the queries), ``match`` (region matching by
shape, :mod:`annover.model.geometry`), ``ids`` (result keys that carry no meaning made
equal), ``words``/``values``/``columns``/``describe`` (the one path that words a row),
``answers``/``tasks`` (one table pair), ``config``/``source_data``, ``plan``/``summary``/``run``
(one diff), ``tables``/``entry`` (the entries).

Rows are matched by their keys ``(task_key, annotation_key, region_key)``. Within an
answer present on both sides, the regions left over are matched by shape: boxes and
polygons by IoU, spans by overlap (the shared length over the shorter span), other
results of one control one to one. So a moved box whose region key is a content hash is
one changed region, not a removal plus an addition.

SQL runs in DuckDB, over Arrow tables or straight over the Parquet parts. Parts store a
hash per task (:data:`annover.store.snapshots.TASK_HASH`): when both sides' are
comparable, one join of those hashes (one row per task) finds the tasks that differ, and
only their rows are read; otherwise one full outer join on the task key and a 64-bit
hash of each row. The summary is counted from these in SQL and Arrow, so that Python
sees only the few rows left to match by shape.
"""

from annover.diffing.config import config_structure, config_warnings, diff_config
from annover.diffing.entry import diff_versions
from annover.diffing.match import Region, match_regions
from annover.diffing.result import (ANSWER_KINDS, DEFAULT_IOU, DEFAULT_OVERLAP, DEFAULT_POLICY, POLICIES, REGION_KINDS,
                                    ROW_FIELDS, TASK_KINDS, DiffResult, Options, Side, row_schema)
from annover.diffing.source_data import diff_source
from annover.diffing.tables import diff_tables

__all__ = ["DiffResult", "Options", "POLICIES", "DEFAULT_POLICY", "DEFAULT_IOU", "DEFAULT_OVERLAP", "Side", "Region", "diff_versions",
           "diff_tables", "diff_config", "diff_source", "config_structure", "config_warnings", "match_regions",
           "row_schema", "ROW_FIELDS", "TASK_KINDS", "REGION_KINDS", "ANSWER_KINDS"]
