"""Agreement and drift statistics in numpy, over counts rather than rows.

Each statistic takes the *long* form of a count table: one entry per (unit, category)
with how many raters put that unit in that category. Units are indexes ``0..U-1``,
categories ``0..K-1``; a unit with fewer than two raters carries no agreement and is
left out. Every function returns a :class:`Stat`: the value (None when the statistic is
not defined for this data, never NaN), the number of units it rests on, and a note
saying why a value is missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
else:
    np = lazy("numpy")

__all__ = ["Stat", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "chi_square", "jensen_shannon",
           "chi2_sf", "prf"]


@dataclass
class Stat:
    """A statistic, the number of units (tasks) it rests on, and why it is missing (if it is)."""

    value: float | None
    n: int
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": None if self.value is None else round(self.value, 6), "n": self.n}
        if self.note:
            out["note"] = self.note
        return out


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def cohen_kappa(a: "np.ndarray", b: "np.ndarray") -> Stat:
    """Cohen's kappa of two raters' category codes on the same units (equal-length int arrays)."""
    n = int(len(a))
    if n == 0:
        return Stat(None, 0, "no task answered by both")
    k = int(max(a.max(), b.max())) + 1
    po = float(np.mean(a == b))
    pe = float(np.dot(np.bincount(a, minlength=k) / n, np.bincount(b, minlength=k) / n))
    if pe >= 1.0 - 1e-12:
        return Stat(None, n, "undefined: both gave the same one label to every task")
    return Stat(_finite((po - pe) / (1.0 - pe)), n)


def _pairable(unit: "np.ndarray", count: "np.ndarray") -> tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
    """Per unit: raters; and a mask of the entries whose unit has two raters or more."""
    raters = np.bincount(unit, weights=count).astype(np.int64) if len(unit) else np.zeros(0, np.int64)
    keep = raters[unit] >= 2 if len(unit) else np.zeros(0, bool)
    return raters, keep, raters[raters >= 2]


def fleiss_kappa(unit: "np.ndarray", cat: "np.ndarray", count: "np.ndarray") -> Stat:
    """Fleiss' kappa over units rated by two raters or more (the number of raters may vary per
    unit: each unit's agreement is over its own raters, as in Fleiss 1971 with n_i for n)."""
    raters, keep, per_unit = _pairable(unit, count)
    n_units = int(len(per_unit))
    if n_units == 0:
        return Stat(None, 0, "no task has two answers or more")
    u, c, m = unit[keep], cat[keep], count[keep].astype(np.float64)
    ni = raters[u].astype(np.float64)
    p_i = np.bincount(u, weights=m * (m - 1) / (ni * (ni - 1)), minlength=len(raters))
    p_bar = float(p_i[raters >= 2].mean())
    p_j = np.bincount(c, weights=m) / m.sum()
    pe = float(np.dot(p_j, p_j))
    if pe >= 1.0 - 1e-12:
        return Stat(None, n_units, "undefined: every answer has the same label")
    return Stat(_finite((p_bar - pe) / (1.0 - pe)), n_units)


def krippendorff_alpha(unit: "np.ndarray", cat: "np.ndarray", count: "np.ndarray") -> Stat:
    """Krippendorff's alpha, nominal: 1 - (n-1) * (n - sum o_cc) / (n^2 - sum n_c^2), from
    the coincidence matrix's diagonal; units with one value are not pairable and left out."""
    raters, keep, per_unit = _pairable(unit, count)
    n_units = int(len(per_unit))
    if n_units == 0:
        return Stat(None, 0, "no task has two answers or more")
    u, c, m = unit[keep], cat[keep], count[keep].astype(np.float64)
    mu = raters[u].astype(np.float64)
    o_diag = float(np.sum(m * (m - 1) / (mu - 1)))
    n_c = np.bincount(c, weights=m)
    n = float(n_c.sum())
    de = n * n - float(np.dot(n_c, n_c))
    if de <= 1e-12:
        return Stat(None, n_units, "undefined: every answer has the same label")
    return Stat(_finite(1.0 - (n - 1.0) * (n - o_diag) / de), n_units)


def _gammaincc(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x) (series below a+1, continued fraction above)."""
    if x <= 0:
        return 1.0
    lg = math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(10000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(-x + a * math.log(x) - lg))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return min(1.0, math.exp(-x + a * math.log(x) - lg) * h)


def chi2_sf(x: float, dof: int) -> float:
    """P(X >= x) for a chi-square variable with ``dof`` degrees of freedom."""
    return _gammaincc(dof / 2.0, x / 2.0) if dof > 0 else 1.0


def chi_square(a: "np.ndarray", b: "np.ndarray") -> dict[str, Any]:
    """Pearson's chi-square test of homogeneity of two count vectors over the same categories
    (categories neither side used are left out): statistic, degrees of freedom, p-value."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    used = (a + b) > 0
    a, b = a[used], b[used]
    if a.sum() == 0 or b.sum() == 0:
        return {"statistic": None, "dof": 0, "p_value": None, "note": "one side has no labels"}
    if len(a) < 2:
        return {"statistic": 0.0, "dof": 0, "p_value": 1.0, "note": "one label only"}
    obs = np.vstack([a, b])
    exp = obs.sum(1, keepdims=True) * obs.sum(0, keepdims=True) / obs.sum()
    stat = float(np.sum((obs - exp) ** 2 / exp))
    dof = len(a) - 1
    return {"statistic": round(stat, 6), "dof": dof, "p_value": round(chi2_sf(stat, dof), 6)}


def jensen_shannon(a: "np.ndarray", b: "np.ndarray") -> float | None:
    """Jensen-Shannon divergence (base 2, between 0 and 1) of two count vectors' distributions."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.sum() == 0 or b.sum() == 0:
        return None
    p, q = a / a.sum(), b / b.sum()
    m = (p + q) / 2

    def kl(x: "np.ndarray") -> float:
        nz = x > 0
        return float(np.sum(x[nz] * np.log2(x[nz] / m[nz])))

    return round(max(0.0, min(1.0, (kl(p) + kl(q)) / 2)), 6)


def prf(tp: float, n_pred: float, n_true: float) -> dict[str, float | None]:
    """Precision, recall and F1 from counts (None where a denominator is 0)."""
    p = tp / n_pred if n_pred else None
    r = tp / n_true if n_true else None
    f = 2 * tp / (n_pred + n_true) if (n_pred + n_true) else None
    return {"precision": None if p is None else round(p, 6), "recall": None if r is None else round(r, 6),
            "f1": None if f is None else round(f, 6), "support": int(n_true)}
