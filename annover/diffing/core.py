"""The names ``annover.diffing.core`` had, for callers not yet moved to :mod:`annover.diffing`."""

from annover.diffing import (ANSWER_KINDS, DEFAULT_POLICY, POLICIES, REGION_KINDS, TASK_KINDS, DiffResult, Options,
                             Side, config_structure, config_warnings, diff, diff_config, diff_source, diff_tables,
                             diff_versions, match_regions, row_schema)

__all__ = ["DiffResult", "Options", "POLICIES", "DEFAULT_POLICY", "Side", "diff", "diff_versions", "diff_tables",
           "diff_config", "diff_source", "config_structure", "config_warnings", "match_regions", "row_schema",
           "TASK_KINDS", "REGION_KINDS", "ANSWER_KINDS"]
