"""The CLI's aligned columns (``annover.cli.table``): padding aligns, and only padding is trimmed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from annover.cli import safe, table

cell = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)


def test_a_label_ending_in_a_newline_shows_it_where_two_labels_differ_only_there():
    rows = [["3", "sentiment", "neutral \n"], ["3", "sentiment", "neutral "]]
    lines = [safe(line) for line in table(rows, right={0})]
    assert lines[0] != lines[1]
    assert "neutral \\x0a" in lines[0]


@given(st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=5), st.sets(st.integers(0, 2)))
def test_a_line_ends_at_its_last_cell_that_shows_with_no_padding_after_it(rows, right):
    lines = table(rows, right=right, indent="")
    for row, line in zip(rows, lines):
        shown = [c for c in row if c]
        if not shown:
            assert line == ""
            continue
        last = max(i for i, c in enumerate(row) if c)
        assert line.endswith(row[last])  # the cell's own text, trailing whitespace and all
        if last not in right:  # no padding after it
            assert not line.endswith(row[last] + " ")
