"""How text output names a label: one rule for every command's text (``--json`` names labels as they are).

Plain Python, imported by the command line's modules at start (a command's ``--help`` loads no table code)."""

from __future__ import annotations

from typing import Iterable


def label_name(label: str) -> str:
    """A label as every text output names it: quoted (as Python quotes text) where it would read as
    several labels (``damaged, missing`` among ``damaged, missing, refund``), run into what follows
    (``a: b`` before ``: 3``) or read as a quoted one, else as it is (``--json`` names labels as they are)."""
    if not label or ", " in label or ": " in label or label != label.strip() or label[0] in "'\"":
        return repr(label)
    return label


def labels_named(labels: Iterable[str]) -> str:
    """Labels comma-separated, each as :func:`label_name` names it."""
    return ", ".join(map(label_name, labels))


def label_set_name(shown: str, singles: set[str]) -> str:
    """A label set as the JSON writes it (``a, b, c``: labels joined with ", ") with each label as
    :func:`label_name` names it, where ``singles`` (the control's labels) split it one way only:
    ``'damaged, missing', refund``, a label and another, not three. Split no way (``(none)``) or several:
    as it is."""
    parts = shown.split(", ")

    def ways(i: int) -> list[list[str]]:
        if i == len(parts):
            return [[]]
        return [[head, *rest] for j in range(i + 1, len(parts) + 1) if (head := ", ".join(parts[i:j])) in singles
                for rest in ways(j)]

    found = ways(0) if len(parts) <= 12 else []  # a set of a dozen labels or more is split no way
    return labels_named(found[0]) if len(found) == 1 else shown
