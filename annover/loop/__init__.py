"""The labeling loop: agreement, model vs labels, suspect labels, what to label next, drift, the report.

Pure functions over a version's Arrow tables, with DuckDB for the joins and counts and
numpy for the statistics; ``annover.loop.api`` runs them over a repository's versions
(``Repo.agreement``, ``Repo.eval``...), ``annover.loop.report`` draws the HTML page.
See docs/loop.md.
"""

# The functions live in modules of the same names (annover.loop.agreement.agreement...):
# importing them here would hide those modules behind the functions.
from annover.loop.agreement import AgreementResult
from annover.loop.evaluate import EvalResult
from annover.loop.sample import STRATEGIES, SampleResult
from annover.loop.suspects import SuspectsResult

__all__ = ["AgreementResult", "EvalResult", "STRATEGIES", "SampleResult", "SuspectsResult"]
