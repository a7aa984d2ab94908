"""The agreement statistics against well-kept implementations, textbook cases and edge cases.

References: scikit-learn's ``cohen_kappa_score``, statsmodels' ``fleiss_kappa`` and the
``krippendorff`` package (test extra), scipy's chi-square (pulled in by scikit-learn).
"""

from __future__ import annotations

import math
import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from annover.loop.stats import chi2_sf, chi_square, cohen_kappa, fleiss_kappa, jensen_shannon, krippendorff_alpha


def _long(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u, c = np.nonzero(matrix >= 0)
    return u.astype(np.int64), c.astype(np.int64), matrix[u, c].astype(np.int64)


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 5).flatmap(lambda k: st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)),
                                                     min_size=1, max_size=60)))
def test_cohen_kappa_matches_scikit_learn(pairs):
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    ours = cohen_kappa(a, b)
    with np.errstate(all="ignore"):
        ref = cohen_kappa_score(a, b)
    if math.isnan(ref):
        assert ours.value is None and ours.note
    else:
        assert ours.value == pytest.approx(ref, abs=1e-9)
    assert ours.n == len(pairs)


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 5), st.integers(2, 6), st.integers(1, 40), st.randoms(use_true_random=False))
def test_fleiss_kappa_matches_statsmodels(k, raters, units, rnd):
    m = np.zeros((units, k), np.int64)
    for i in range(units):
        for _ in range(raters):
            m[i, rnd.randrange(k)] += 1
    ours = fleiss_kappa(*_long(m))
    with np.errstate(all="ignore"):
        ref = sm_fleiss(m, method="fleiss")
    if math.isnan(ref) or math.isinf(ref):
        assert ours.value is None and ours.note
    else:
        assert ours.value == pytest.approx(ref, abs=1e-9)
    assert ours.n == units


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 5), st.integers(2, 5), st.integers(1, 30), st.randoms(use_true_random=False))
def test_krippendorff_alpha_matches_the_krippendorff_package(k, coders, units, rnd):
    """Reliability data with missing values (coders who did not answer a unit)."""
    data = np.full((coders, units), np.nan)
    for i in range(coders):
        for j in range(units):
            if rnd.random() < 0.75:
                data[i, j] = rnd.randrange(k)
    counts = np.zeros((units, k), np.int64)
    for j in range(units):
        for v in data[:, j]:
            if not math.isnan(v):
                counts[j, int(v)] += 1
    ours = krippendorff_alpha(*_long(counts))
    pairable = int((counts.sum(1) >= 2).sum())
    assert ours.n == pairable
    values = sorted({int(v) for v in data[~np.isnan(data)]})
    in_pairable = counts[counts.sum(1) >= 2].sum(0)
    if pairable == 0 or (in_pairable > 0).sum() < 2:
        assert ours.value is None and ours.note
        return
    ref = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal", value_domain=values)
    assert ours.value == pytest.approx(ref, abs=1e-9)


def test_fleiss_textbook_example():
    """Fleiss (1971) as in Wikipedia's worked example: 10 subjects, 14 raters, 5 categories: kappa 0.210."""
    m = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                  [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])
    assert fleiss_kappa(*_long(m)).value == pytest.approx(0.20993, abs=1e-5)


def test_krippendorff_textbook_example():
    """Krippendorff (2011), 'Computing Krippendorff's alpha', nominal data with missing values: alpha 0.743."""
    nan = np.nan
    data = np.array([[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
                     [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
                     [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
                     [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]])
    counts = np.zeros((12, 6), np.int64)
    for i in range(4):
        for j in range(12):
            if not math.isnan(data[i, j]):
                counts[j, int(data[i, j])] += 1
    assert krippendorff_alpha(*_long(counts)).value == pytest.approx(0.743, abs=5e-4)


def test_cohen_textbook_example():
    """Wikipedia's example: 50 proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15: kappa 0.4."""
    a = np.array([1] * 20 + [1] * 5 + [0] * 10 + [0] * 15)
    b = np.array([1] * 20 + [0] * 5 + [1] * 10 + [0] * 15)
    assert cohen_kappa(a, b).value == pytest.approx(0.4)


def test_edge_cases_are_defined_with_a_note():
    one = np.array([0, 0, 0])
    k = cohen_kappa(one, one)
    assert k.value is None and "same one label" in k.note and k.n == 3
    assert cohen_kappa(np.array([], np.int64), np.array([], np.int64)).to_json() == {
        "value": None, "n": 0, "note": "no task answered by both"}
    single = _long(np.array([[1, 0], [1, 0]]))  # one rater per unit: nothing pairable
    for f in (fleiss_kappa, krippendorff_alpha):
        s = f(*single)
        assert s.value is None and s.n == 0 and s.note
    same = _long(np.array([[3, 0], [2, 0]]))  # a label nobody used: everyone said the other one
    for f in (fleiss_kappa, krippendorff_alpha):
        s = f(*same)
        assert s.value is None and s.n == 2 and "same label" in s.note


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=2, max_size=6), st.lists(st.integers(0, 50), min_size=2, max_size=6))
def test_chi_square_matches_scipy(a, b):
    n = min(len(a), len(b))
    a, b = np.array(a[:n]), np.array(b[:n])
    ours = chi_square(a, b)
    used = (a + b) > 0
    if a.sum() == 0 or b.sum() == 0 or used.sum() < 2:
        assert ours["p_value"] is None or ours["dof"] == 0
        return
    stat, p, dof, _ = sps.chi2_contingency(np.vstack([a[used], b[used]]), correction=False)
    assert ours["statistic"] == pytest.approx(stat, rel=1e-6, abs=1e-6)
    assert ours["dof"] == dof
    assert ours["p_value"] == pytest.approx(p, abs=2e-6)


@pytest.mark.parametrize("x,dof", [(0.5, 1), (3.84, 1), (10.0, 3), (50.0, 10), (200.0, 150), (1e-6, 2)])
def test_chi2_survival_matches_scipy(x, dof):
    assert chi2_sf(x, dof) == pytest.approx(sps.chi2.sf(x, dof), rel=1e-9, abs=1e-15)


def test_jensen_shannon_matches_scipy():
    a, b = np.array([10, 0, 5]), np.array([1, 8, 1])
    assert jensen_shannon(a, b) == pytest.approx(
        jensenshannon(a / a.sum(), b / b.sum(), base=2) ** 2, abs=1e-6)
    assert jensen_shannon(a, a) == 0.0
    assert jensen_shannon(a, np.zeros(3)) is None
