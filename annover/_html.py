"""Rich display in Jupyter: the small HTML tables the results' ``_repr_html_`` are made of.

Labels, task keys, messages, annotators and task data are user data: every value and every
heading goes into the page through :func:`escape` here, so a label ``<img src=x onerror=...>``
shows as text; right-to-left words in it (an Arabic or Hebrew label, an annotator) are set apart
(``<bdi>``), so the digits and quotes after one stay where they are written (a suspect's
``1 said 'شكوى'; 2 of 2 others said 'Praise'`` read ``1 said '2 ;'شكوى of 2 ...``, whose answer was
whose lost). A table shows at most ``limit`` rows, then one row saying how many more there are
(``.to_json()`` and the result's attributes hold them all).
Plain standard library, nothing loaded: importing this costs nothing.
"""

from __future__ import annotations

import html
import re
from typing import Any, Iterable, Sequence

__all__ = ["ROWS", "TEXT", "escape", "cell", "text", "html_table", "html_pairs", "html_notes", "html_block",
           "html_heading"]

#: Rows a table shows before its "N more" row.
ROWS = 20
#: Characters of one cell's text shown (a task's data can be long); the rest is cut with "…".
TEXT = 160

_CELL = "padding:1px 8px;text-align:{};vertical-align:top"
#: Right-to-left letters: Hebrew, Arabic, Syriac, Thaana, N'Ko and their presentation forms (BMP and beyond).
_RTL = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff"
#: A run of right-to-left words: from one such letter to the last, with the spaces, digits and plain
#: punctuation between them (an Arabic sentence, "فئة 2"), never a quote, "·" or a markup entity.
_RTL_RUN = re.compile(f"[{_RTL}](?:[{_RTL}\\s0-9.,!?:()\\-]*[{_RTL}])?")


def escape(x: Any) -> str:
    """``x`` as text for the page: escaped, each run of right-to-left words set apart in a ``<bdi>``."""
    return _RTL_RUN.sub(lambda m: f"<bdi>{m[0]}</bdi>", html.escape(str(x)))


def text(x: Any) -> str:
    """A value as plain text: None "–", a float to 3 decimals, a figure ``{"value", "n"}`` as
    ``0.812 (n=40)`` (n: the tasks; a mean over annotator pairs ``{"value", "pairs"}`` as
    ``0.812 (pairs=3)``: its "n=1" beside the tasks' "n=70" read as one task), a list joined with ", "."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.3f}"
    if isinstance(x, dict) and "value" in x:
        said = "n" if "n" in x else "pairs"
        n = x.get(said)
        return text(x["value"]) + (f" ({said}={n})" if n is not None else "")
    if isinstance(x, (list, tuple)):
        return ", ".join(text(v) for v in x)
    return str(x)


def cell(x: Any, tag: str = "td", align: str | None = None) -> str:
    """One cell, escaped, text cut at :data:`TEXT` characters; aligned ``align``, else numbers
    right, a missing value ("–") centred, text left."""
    s = text(x)
    if len(s) > TEXT:
        s = s[:TEXT - 1] + "…"
    if align is None:
        number = isinstance(x, (int, float)) and not isinstance(x, bool)
        align = "center" if x is None else "right" if number else "left"
    return f'<{tag} style="{_CELL.format(align)}">{escape(s)}</{tag}>'


def html_table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, limit: int | None = ROWS,
          total: int | None = None, more: str = "") -> str:
    """A table of ``rows`` under ``header``: the first ``limit`` rows (None: all), then "N more"
    when ``total`` (default ``len(rows)``) is larger than what is shown (``more``: what to say
    after it, e.g. where the rest is). Empty ``rows``: "(none)"."""
    shown = list(rows if limit is None else rows[:limit])
    total = len(rows) if total is None else total
    head = "".join(cell(h, "th") for h in header)
    body = ["<tr>" + "".join(cell(x) for x in r) + "</tr>" for r in shown]
    if not shown and not total:
        body.append(f'<tr><td colspan="{len(header)}" style="{_CELL.format("left")}"><i>(none)</i></td></tr>')
    if total > len(shown):
        tail = escape(f"… {total - len(shown)} more" + (f" ({more})" if more else ""))
        body.append(f'<tr><td colspan="{len(header)}" style="{_CELL.format("left")}"><i>{tail}</i></td></tr>')
    return ('<table style="border-collapse:collapse;margin:2px 0 8px 0">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def html_pairs(items: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of (name, value), for a result's fields; no cap."""
    rows = [(k, v) for k, v in items]
    body = "".join(f"<tr>{cell(k, 'th')}{cell(v, align='left')}</tr>" for k, v in rows)
    return f'<table style="border-collapse:collapse;margin:2px 0 8px 0"><tbody>{body}</tbody></table>'


def html_notes(lines: Iterable[str], label: str = "note") -> str:
    """Notes or warnings as a list, each escaped (nothing when there are none)."""
    items = "".join(f"<li>{escape(label)}: {escape(n)}</li>" for n in lines)
    return f'<ul style="margin:2px 0 8px 0">{items}</ul>' if items else ""


def html_block(title: str, *parts: str, sub: str = "") -> str:
    """A result: its escaped ``title`` in bold (``sub``: a smaller line after it, escaped), then
    ``parts``, which are HTML made by the functions above (a part's own heading: :func:`html_heading`)."""
    line = f"<b>{escape(title)}</b>" + (f' <span style="opacity:.7">{escape(sub)}</span>' if sub else "")
    return f'<div class="annover-result">{line}{"".join(parts)}</div>'


def html_heading(heading: str) -> str:
    """A small heading inside a :func:`html_block`, escaped."""
    return f'<div style="margin-top:6px"><i>{escape(heading)}</i></div>'

