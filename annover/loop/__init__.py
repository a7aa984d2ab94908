"""The labeling loop: agreement, model vs labels, suspect labels, what to label next, drift, the report.

Pure functions over a version's Arrow tables (the repository reads them: ``Repo.agreement``,
``Repo.eval``...), with DuckDB for the joins and counts and numpy for the statistics.
"""

from annover.loop.agreement import AgreementResult, agreement

__all__ = ["AgreementResult", "agreement"]
