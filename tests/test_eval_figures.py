"""eval's classification figures (confusion matrix, per-label precision / recall / F1, accuracy,
macro F1) counted in one pass over a control's pairs are those of the definition they replaced: a
sum over the pairs for each cell and for each label, kept here as the oracle. The figures against
scikit-learn on real answers are in tests/test_loop_references.py."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from annover.loop import queries as Q
from annover.loop.evaluate import classification_figures
from annover.loop.stats import prf

LABELS = ["cat", "dog", "Product defect: battery", "Product defect: screen", "שלום", "返品", ""]


def oracle(mine: list[dict]) -> dict:
    """The figures as eval computed them before: one pass of the pairs per matrix cell and per label."""
    total = sum(p["n"] for p in mine)
    right = sum(p["n"] for p in mine if p["t"] == p["p"])
    labels = sorted({x for p in mine for x in (p["t"], p["p"])})
    matrix = [[sum(p["n"] for p in mine if p["t"] == t and p["p"] == q) for q in labels] for t in labels]
    single = sorted({x for p in mine for x in (*p["t_labels"], *p["p_labels"])})
    per_label = {}
    f1s = []
    for lab in single:
        tp = sum(p["n"] for p in mine if lab in p["t_labels"] and lab in p["p_labels"])
        npred = sum(p["n"] for p in mine if lab in p["p_labels"])
        ntrue = sum(p["n"] for p in mine if lab in p["t_labels"])
        per_label[lab] = prf(tp, npred, ntrue)
        f1s.append(2 * tp / (npred + ntrue))
    return {"tasks": total, "accuracy": round(right / total, 6) if total else None, "correct": right,
            "macro_f1": round(sum(f1s) / len(f1s), 6) if f1s else None, "labels": per_label,
            "confusion": {"labels": labels, "matrix": matrix}}


# a label text as the queries give it: one label, or several (a multi-label answer) joined by Q.SEP,
# a label given twice in one answer among them
label_text = st.lists(st.sampled_from(LABELS[:-1]), min_size=1, max_size=3).map(Q.SEP.join)
pairs = st.lists(st.tuples(label_text, label_text, st.integers(1, 50)), max_size=40)


def _mine(rows: list[tuple[str, str, int]]) -> list[dict]:
    """The pairs as eval's query hands them to the figures (the same (t, p) may come twice: two pages)."""
    return [{"from_name": "c", "t": Q.shown(t), "p": Q.shown(p), "t_labels": Q.split(t), "p_labels": Q.split(p),
             "n": n} for t, p, n in rows]


@settings(max_examples=300, deadline=None)
@given(pairs)
def test_figures_are_the_definitions(rows: list[tuple[str, str, int]]) -> None:
    mine = _mine(rows)
    assert classification_figures(mine) == oracle(mine)


def test_figures_at_sixty_classes() -> None:
    """Sixty classes, every (label, prediction) pair of them: the size the report's models meet."""
    names = [f"class {i} — a long descriptive name" for i in range(60)]
    rows = [(a, b, 1 + (i * 7 + j * 3) % 11) for i, a in enumerate(names) for j, b in enumerate(names)
            if (i + j) % 5 == 0 or i == j]
    mine = _mine(rows)
    got = classification_figures(mine)
    assert got == oracle(mine)
    assert got["confusion"]["labels"] == sorted(names) and got["tasks"] == sum(n for _, _, n in rows)
