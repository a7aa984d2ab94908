"""``annover eval``'s text names a label one way in its per-label table and its confusion matrix
(``_name``: quoted as Python quotes text where it would read as several labels or as a quoted one);
a label ``"quoted"`` was ``"quoted"`` in the table and ``'"quoted"'`` in the matrix."""

from __future__ import annotations

from click.testing import CliRunner

from annover.cli import loop_cmd


def test_a_label_is_named_alike_in_the_table_and_the_matrix():
    labels = ['"quoted"', "a, b", "plain"]
    e = {"accuracy": 0.5, "correct": 1, "tasks": 2, "macro_f1": 0.5,
         "labels": {k: {"precision": 1, "recall": 0.5, "f1": 0.6, "support": 1} for k in labels},
         "confusion": {"labels": labels, "matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 0]]}}
    with CliRunner().isolation() as (out, _, _):
        loop_cmd._classification_eval("ctl", e)
    lines = out.getvalue().decode().splitlines()
    at = next(i for i, line in enumerate(lines) if "confusion" in line)
    table = [line.split()[0] for line in lines[2:at]]
    matrix = [line.split()[0] for line in lines[at + 2:]]
    assert table == matrix == ["'\"quoted\"'", "'a,", "plain"]
