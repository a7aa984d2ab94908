"""The labeling loop: agreement, model vs labels, suspect labels, what to label next, drift, the report.

Pure functions over a version's Arrow tables, with DuckDB for the joins and counts and
numpy for the statistics; ``annover.loop.api`` runs them over a repository's versions
(``Repo.agreement``, ``Repo.eval``...), ``annover.loop.report`` draws the HTML page.
See docs/loop.md.
"""

from annover.loop.agreement import AgreementResult, agreement
from annover.loop.drift import drift
from annover.loop.evaluate import EvalResult, compare_models, evaluate
from annover.loop.sample import STRATEGIES, SampleResult, sample
from annover.loop.suspects import SuspectsResult, suspects

__all__ = ["AgreementResult", "agreement", "drift", "EvalResult", "evaluate", "compare_models", "STRATEGIES",
           "SampleResult", "sample", "SuspectsResult", "suspects"]
