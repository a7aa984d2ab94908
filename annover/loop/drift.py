"""Drift between two versions: how each control's label distribution moved, and each annotator's.

Counts are regions (answers' labels, skips left out) per control and label, as ``annover
show`` and the diff's label summary count them. For each
control: the counts on both sides, Pearson's chi-square test of homogeneity (statistic,
degrees of freedom, p-value) and the Jensen-Shannon divergence (base 2: 0 same, 1
disjoint). For each annotator and control: their label rates on both sides and the
divergence between them, so one annotator who started labeling differently stands out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.loop.stats import chi_square, jensen_shannon
from annover.model.stats import label_cells

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    np = lazy("numpy")
    pc = lazy("pyarrow.compute")

__all__ = ["COUNT_COLUMNS", "drift", "drift_of_counts", "label_counts"]

#: The annotation columns :func:`label_counts` reads (load only these for drift).
COUNT_COLUMNS = ["from_name", "annotator", "labels", "was_cancelled"]

Counts = dict[tuple[str, str, str], int]


def label_counts(annotations: "pa.Table") -> Counts:
    """(control, annotator, label) -> regions with that label (skips left out; annotator ``-``
    when unknown), as ``annover show`` counts labels (:func:`annover.model.stats.label_cells`,
    which a snapshot keeps in its version's stats as ``labels_by_annotator``)."""
    return label_cells(annotations)


def _compare(a: dict[str, int], b: dict[str, int]) -> dict[str, Any]:
    labels = sorted(set(a) | set(b))
    va = np.array([a.get(k, 0) for k in labels], np.float64)
    vb = np.array([b.get(k, 0) for k in labels], np.float64)
    out: dict[str, Any] = {"labels": labels, "a": [int(x) for x in va], "b": [int(x) for x in vb],
                           "chi_square": chi_square(va, vb), "jensen_shannon": jensen_shannon(va, vb)}
    if va.sum() and vb.sum():
        out["share_a"] = [round(float(x), 6) for x in va / va.sum()]
        out["share_b"] = [round(float(x), 6) for x in vb / vb.sum()]
    return out


def drift(annotations_a: "pa.Table", annotations_b: "pa.Table") -> dict[str, Any]:
    """Label distribution shift per control and per (control, annotator), from side A to side B."""
    return drift_of_counts(label_counts(annotations_a), label_counts(annotations_b))


def drift_of_counts(ca: Counts, cb: Counts) -> dict[str, Any]:
    """:func:`drift` from the two sides' :func:`label_counts`."""
    controls: dict[str, dict] = {}
    for ctl in sorted({k[0] for k in ca} | {k[0] for k in cb}):
        tot_a: dict[str, int] = {}
        tot_b: dict[str, int] = {}
        for (c, _, lab), n in ca.items():
            if c == ctl:
                tot_a[lab] = tot_a.get(lab, 0) + n
        for (c, _, lab), n in cb.items():
            if c == ctl:
                tot_b[lab] = tot_b.get(lab, 0) + n
        entry = _compare(tot_a, tot_b)
        people = sorted({k[1] for k in ca if k[0] == ctl} | {k[1] for k in cb if k[0] == ctl})
        per: dict[str, dict] = {}
        for who in people:
            ma = {k[2]: n for k, n in ca.items() if k[0] == ctl and k[1] == who}
            mb = {k[2]: n for k, n in cb.items() if k[0] == ctl and k[1] == who}
            per[who] = {"regions_a": sum(ma.values()), "regions_b": sum(mb.values()), **_compare(ma, mb)}
        entry["annotators"] = per
        controls[ctl] = entry
    return {"controls": controls}
