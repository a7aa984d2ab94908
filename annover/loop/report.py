"""``annover report``: one self-contained HTML page of a version (or a range) of labels.

Everything is inline: CSS in a ``<style>``, charts as SVG, no script, no font, no image
fetched, so the file opens anywhere, offline, and mails as one attachment. Pictures where
people would rather look (bars, heat maps, lines), tables beside them to copy from.

The page: the version's stats; label distribution per control; answers per annotator
and agreement (per control and label, the most disagreeing pairs); each model version's
confusion matrix and per-label scores; label transitions from the previous version (or
the range's first) as a matrix; drift (chi-square, Jensen-Shannon) and per-annotator
rate shift; agreement and class balance over the history; the top suspects.
"""

from __future__ import annotations

import html
import os
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from annover._lazy import lazy
from annover.files import write_atomic
from annover.loop import api
from annover.loop import queries as Q
from annover.loop.agreement import agreement
from annover.loop.display import model_as_subject
from annover.loop.drift import drift_of_counts
from annover.loop.evaluate import evaluate
from annover.loop.suspects import suspects
from annover.model.config import results_word
from annover.model.stats import annotator_shown

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow.compute as pc
else:
    pc = lazy("pyarrow.compute")

__all__ = ["write_report", "render", "collect", "ReportResult", "HISTORY_LIMIT", "SUSPECTS_SHOWN"]

#: Versions drawn in the history charts (the newest ones) when no range is given.
HISTORY_LIMIT = 12
SUSPECTS_SHOWN = 25
#: Label sets drawn in a transition matrix; the rarer ones are merged into one row and column.
TRANSITION_LABELS = 7
#: Labels drawn in a confusion matrix (the table beside it lists them all); the rarer ones are merged so.
CONFUSION_LABELS = 15
#: The least a heat map is scaled down to fit a narrow screen (its counts 12 px at full size); past it, it scrolls.
HEAT_LEAST = 0.8
#: Tables of this many columns or more are one block per row on a phone (their figures in sight).
WIDE_COLUMNS = 6
OTHER = "(other)"
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac"]


class ReportResult:
    """Where the report went and what it holds."""

    def __init__(self, path: str, sections: list[str], version: dict, size: int) -> None:
        self.path, self.sections, self.version, self.size = path, sections, version, size

    def __repr__(self) -> str:
        return f"ReportResult(path={self.path!r}, sections={self.sections!r}, bytes={self.size})"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sections": self.sections, "version": self.version, "bytes": self.size}


# ---------------------------------------------------------------- gathering


def collect(repo: Any, spec: str, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Everything the page shows, as plain data."""
    say = progress or (lambda _: None)
    cur, prev, history = _versions(repo, spec)
    say("reading the version")
    ann = repo.load(cur.id, "annotations")
    preds = repo.load(cur.id, "predictions")
    labels = api.config_labels(repo, cur)
    data: dict[str, Any] = {"version": {**api.head_of(repo, cur), "stats": cur.stats}, "config_labels": labels,
                            "items_word": results_word(repo.config_text(cur.id))}  # "regions" or "results"
    prev_ann = repo.load(prev.id, "annotations") if prev is not None and prev.id != cur.id else None
    changes, before = None, None
    if prev_ann is not None:  # first: the diff's work is done before the session's tables are made
        say("changes since " + api.name_of(repo, prev))
        changes = repo.diff(prev.id, cur.id, transitions=True, summary=False)  # what the page shows of it
        # an answer's label can have changed only in a task whose rows did
        before = prev_ann if changes.touched is None else \
            prev_ann.filter(pc.is_in(prev_ann.column("task_key"), value_set=changes.touched))
    with Q.Session() as s:  # the version's ratings and regions, built for agreement, are eval's and the suspects' too
        say("agreement")
        data["agreement"] = agreement(ann, labels, session=s).to_json()
        data["models"] = {}
        for mv in sorted(cur.model_versions):
            say(f"model {mv}")
            data["models"][mv] = evaluate(ann, preds, mv, session=s, config=labels).to_json()
        say("suspects")
        data["suspects"] = suspects(ann, preds, before, since=api.name_of(repo, prev) if prev_ann is not None else None,
                                    limit=SUSPECTS_SHOWN, session=s).to_json()
    if changes is not None:
        data["previous"] = api.head_of(repo, prev)
        data["transitions"] = changes.transitions
        # the counts the versions' stats keep (else the tables read here): drift of the same counts
        data["drift"] = drift_of_counts(api.drift_counts(repo, prev.id, prev_ann), api.drift_counts(repo, cur.id, ann))
    data["history"] = []
    loaded = {prev.id: prev_ann} if prev_ann is not None else {}  # read once for both
    for v in history:  # the other versions' agreement from the per-user cache after the first report
        say(f"history: {api.name_of(repo, v)}")
        figures = api.headline(data["agreement"]) if v.id == cur.id else \
            api.history_agreement(repo, v, loaded.get(v.id))
        data["history"].append({**api.head_of(repo, v), "labels": v.stats.get("labels", {}), "agreement": figures})
    return data


def _versions(repo: Any, spec: str) -> tuple[Any, Any, list[Any]]:
    """The version shown, the one it is compared with (None: none) and the history drawn."""
    if ".." in spec:
        history = api.versions_in(repo, spec)
        return history[-1], history[0], history
    cur = repo.show(spec)
    history = list(reversed(repo.log(cur.id, limit=HISTORY_LIMIT)))
    return cur, repo.show(cur.parents[0]) if cur.parents else None, history


def write_report(repo: Any, spec: str, out: str | Path, *,
                 progress: Callable[[str], None] | None = None) -> ReportResult:
    """Write the report of ``spec`` (a revision or ``A..B``) to ``out`` (checked first, an existing
    file replaced only with ``force``, by :meth:`annover.repo.Repo.report`, as every output is)."""
    path = Path(out)
    data = collect(repo, spec, progress)
    page = render(data).encode("utf-8")
    write_atomic(path, page)
    return ReportResult(str(path), [s for s, _ in _sections(data)], data["version"], len(page))


# ---------------------------------------------------------------- drawing

def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _num(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def bars(items: list[tuple[str, float]], width: int = 520, unit: str = "") -> str:
    """Horizontal bars with their labels and values."""
    if not items:
        return '<p class="muted">nothing to show</p>'
    top = max(v for _, v in items) or 1
    h, label_w = 22, 170
    rows = []
    shown = _shorts([name for name, _ in items], label_w - 10, 12)
    for i, (name, v) in enumerate(items):
        w = (width - label_w - 60) * (v / top)
        y = i * h
        rows.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_e(shown[i])}</text>'
                    f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{h - 6}" '
                    f'fill="{PALETTE[i % len(PALETTE)]}"><title>{_e(name)}: {_e(v)}</title></rect>'
                    f'<text x="{label_w + w + 5:.1f}" y="{y + 15}">{_e(_num(v))}{unit}</text>')
    return _svg(width, len(items) * h + 4, "".join(rows))


def _linear(c: float) -> float:
    """An sRGB channel (0-255) as linear light, for WCAG's relative luminance."""
    c /= 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def _ink(rgba: tuple[float, float, float, float]) -> str:
    """Black or white, whichever reads better on ``rgba`` drawn over the white page: one of them always has
    a contrast of 4.5:1 or more (white on a count's cell over 55% of the top was 2.5:1 on the pale red)."""
    r, g, b, a = rgba
    lum = sum(w * _linear(c * a + 255 * (1 - a)) for w, c in ((0.2126, r), (0.7152, g), (0.0722, b)))
    return "#fff" if 1.05 / (lum + 0.05) > (lum + 0.05) / 0.05 else "#000"


def heatmap(labels_y: list[str], labels_x: list[str], matrix: list[list[float]], x_title: str = "",
            y_title: str = "") -> str:
    """A matrix as coloured cells with their counts (rows: y labels, columns: x labels)."""
    if not labels_y or not labels_x:
        return '<p class="muted">nothing to show</p>'
    cell, left, top_m = 46, 130, 90
    top = max((v for r in matrix for v in r), default=0) or 1
    out = []
    for j, lx in enumerate(_shorts(labels_x, 118, 11)):
        x = left + j * cell + cell / 2
        out.append(f'<text transform="translate({x:.1f},{top_m - 6}) rotate(-40)" font-size="11">{_e(lx)}</text>')
    for i, (ly, shown) in enumerate(zip(labels_y, _shorts(labels_y, left - 10, 11))):
        y = top_m + i * cell
        out.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end" font-size="11">'
                   f'{_e(shown)}</text>')
        for j, v in enumerate(matrix[i]):
            t = v / top
            diag = labels_x[j] == ly
            rgba = (78, 121, 167, 0.08 + 0.92 * t) if diag or not v else (225, 87, 89, 0.15 + 0.85 * t)
            if diag and ly == OTHER:  # the rarer labels merged: kept ones and changed ones, neither blue nor red
                rgba = (150, 150, 150, 0.08 + 0.6 * t)
            colour, ink = f"rgba({rgba[0]},{rgba[1]},{rgba[2]},{rgba[3]:.3f})", _ink(rgba)
            out.append(f'<rect x="{left + j * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{colour}">'
                       f'<title>{_e(ly)} → {_e(labels_x[j])}: {v}</title></rect>'
                       f'<text x="{left + j * cell + cell / 2 - 1:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" '
                       f'fill="{ink}" font-size="12">{v}</text>')
    w = left + len(labels_x) * cell + 70  # room for the last column's slanted name
    h = top_m + len(labels_y) * cell + 24
    out.append(f'<text x="{left + len(labels_x) * cell / 2:.1f}" y="{h - 6}" text-anchor="middle" class="axis">{_e(x_title)}</text>')
    out.append(f'<text transform="translate(12,{top_m + len(labels_y) * cell / 2:.1f}) rotate(-90)" '
               f'text-anchor="middle" class="axis">{_e(y_title)}</text>')
    # on a phone it scales down to HEAT_LEAST of its size, no further (16 labels at 390 px drew 5-pixel
    # counts): past that it scrolls sideways, its counts readable
    return f'<div class="heat" style="--least:{w * HEAT_LEAST:.0f}px">{_svg(w, h, "".join(out))}</div>'


def _xticks(xs: list[str], at: Callable[[int], float], y: float) -> list[str]:
    """The versions' names under a chart, slanted so that twelve of them do not run into each other,
    each cut at its end (…) rather than to a prefix that many share («2024-round»)."""
    return [f'<text transform="translate({at(i):.1f},{y}) rotate(-40)" text-anchor="end" font-size="10">'
            f'<title>{_e(x)}</title>{_e(cut)}</text>' for i, (x, cut) in enumerate(zip(xs, _shorts(xs, 118, 10)))]


def lines(xs: list[str], series: dict[str, list[float | None]], lo: float = 0.0, hi: float = 1.0,
          width: int = 560, height: int = 250) -> str:
    """One line per series over the versions (None: no point)."""
    if not xs or not series:
        return '<p class="muted">nothing to show</p>'
    left, right, top, bottom = 100, 150, 10, 80
    pw, ph = width - left - right, height - top - bottom
    step = pw / max(1, len(xs) - 1)

    def y_of(v: float) -> float:
        return top + ph * (1 - (v - lo) / ((hi - lo) or 1))

    out = [f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#999"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#999"/>']
    for tick in (lo, (lo + hi) / 2, hi):
        out.append(f'<text x="{left - 4}" y="{y_of(tick) + 4:.1f}" text-anchor="end" font-size="10">{tick:g}</text>')
    out += _xticks(xs, lambda i: left + i * step, top + ph + 12)
    names = _shorts(sorted(series), right - 30, 11)
    for k, (name, vals) in enumerate(sorted(series.items())):
        colour = PALETTE[k % len(PALETTE)]
        pts = [(left + i * step, y_of(max(lo, min(hi, v))), xs[i], v) for i, v in enumerate(vals) if v is not None]
        if len(pts) > 1:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                       f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in pts)}"/>')
        for x, y, version, v in pts:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{_e(version)} '
                       f'{_e(name)}: {v:.3f}</title></circle>')
        out.append(f'<rect x="{left + pw + 12}" y="{top + k * 18}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{left + pw + 26}" y="{top + k * 18 + 9}" font-size="11">{_e(names[k])}</text>')
    return _svg(width, height, "".join(out))


def stacked(xs: list[str], shares: list[dict[str, int]], width: int = 560, height: int = 240,
            order: list[str] | None = None) -> str:
    """Class balance per version: one 100% bar per version, a colour per label (``order``: the
    labels in the order the overview's bars take them, so that a label keeps its colour)."""
    present = {k for s in shares for k in s}
    labels = [lab for lab in dict.fromkeys([*(order or []), *sorted(present)]) if lab in present]
    colour = {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(dict.fromkeys([*(order or []), *sorted(present)]))}
    if not xs or not labels:
        return '<p class="muted">nothing to show</p>'
    if len(labels) > len(PALETTE):  # colours would repeat and the legend not hold them: the rarest merged
        labels, shares = _merge_rare(labels, shares, len(PALETTE) - 1)
        colour = {lab: PALETTE[i] for i, lab in enumerate(labels)}
    left, right, top, bottom = 90, 150, 10, 80
    pw, ph = width - left - right, height - top - bottom
    bw = pw / len(xs)
    out = []
    for i, (x, s) in enumerate(zip(xs, shares)):
        total = sum(s.values()) or 1
        y = top + ph
        for k, lab in enumerate(labels):
            h = ph * s.get(lab, 0) / total
            y -= h
            out.append(f'<rect x="{left + i * bw + 3:.1f}" y="{y:.1f}" width="{bw - 6:.1f}" height="{h:.1f}" '
                       f'fill="{colour[lab]}"><title>{_e(x)} {_e(lab)}: {s.get(lab, 0)} '
                       f'({100 * s.get(lab, 0) / total:.0f}%)</title></rect>')
    out += _xticks(xs, lambda i: left + i * bw + bw / 2, top + ph + 12)
    names = _shorts(labels[::-1], right - 30, 11)
    for k, lab in enumerate(reversed(labels)):  # top down, as the stacks are
        out.append(f'<rect x="{left + pw + 12}" y="{top + k * 18}" width="10" height="10" fill="{colour[lab]}"/>'
                   f'<text x="{left + pw + 26}" y="{top + k * 18 + 9}" font-size="11">{_e(names[k])}</text>')
    return _svg(width, height, "".join(out))


def _merge_rare(labels: list[str], shares: list[dict[str, int]], k: int) -> tuple[list[str], list[dict[str, int]]]:
    """The ``k`` labels most used over the versions, in their order, and one for the rest
    (``(N others)``); the shares counted that way."""
    used = {lab: sum(s.get(lab, 0) for s in shares) for lab in labels}
    keep = set(sorted(labels, key=lambda lab: (-used[lab], lab))[:k])
    other = f"({len(labels) - k} others)"
    merged = [{**{lab: n for lab, n in s.items() if lab in keep}, other: sum(n for lab, n in s.items() if lab not in keep)}
              for s in shares]
    return [lab for lab in labels if lab in keep] + [other], merged


def _svg(width: float, height: float, body: str) -> str:
    """A chart that scales down to a narrow screen (its viewBox) and keeps its size on a wide one."""
    return (f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'xmlns="http://www.w3.org/2000/svg">{body}</svg>')


def _em(ch: str) -> float:
    """A character's width in em, on the wide side (the page's font is the reader's system font)."""
    if not ch.isascii():
        return 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.84
    if ch in "MWmw@%":
        return 1.0
    return 0.84 if ch.isupper() or ch in "<>=+~&#" else 0.62


def _short(name: str, px: float, font: float) -> str:
    """``name`` cut with an ellipsis to fit ``px`` pixels at ``font`` pixels (the whole name is in
    the chart's tooltip): by width, not by characters, so that MEDICAL_WARNING_MESSAGE is not cut
    off at the chart's edge where medical_warning_message fits."""
    room = px / font
    if sum(map(_em, name)) <= room:
        return name
    out, used = "", 1.0  # the ellipsis
    for ch in name:
        used += _em(ch)
        if used > room:
            break
        out += ch
    return out + "…"


def _shorts(names: list[str], px: float, font: float) -> list[str]:
    """Each name cut as :func:`_short` cuts it, but names that would then read the same (``Product defect:
    battery`` and ``Product defect: screen`` both ``Product defect:…``, the rows of a confusion matrix
    that a reader had to hover to tell apart) keep their start, an ellipsis, then where they differ."""
    cut = [_short(n, px, font) for n in names]
    groups: dict[str, list[str]] = {}
    for n, c in zip(names, cut):
        groups.setdefault(c, []).append(n)
    parts: dict[str, int] = {}  # where a name parts from the nearest of its group (its neighbours in order)
    for group in groups.values():
        group = sorted(set(group))
        for a, b in zip(group, group[1:]):
            common = len(os.path.commonprefix([a, b]))
            parts[a], parts[b] = max(parts.get(a, 0), common), max(parts.get(b, 0), common)
    return [_short_at(n, parts[n], px, font) if n in parts else c for n, c in zip(names, cut)]


def _short_at(name: str, at: int, px: float, font: float) -> str:
    """``name`` cut to fit around character ``at`` (where it parts from names of the same start): a short
    head, an ellipsis, then from the word that holds ``at`` (its last 6 characters if that word is long)."""
    start = name.rfind(" ", 0, at) + 1
    if start == 0 or at - start > 12:
        start = max(0, at - 6)
    room = px / font
    tail = min(sum(map(_em, name[start:])), room - 4, room * 0.7)
    return _short(name[:start].rstrip(), (room - tail) * font, font).rstrip("…") + "…" + \
        _short(name[start:], (tail + 0.01) * font, font)


#: A cell whose text has a run of more characters than this with no space (a task key that is a path or
#: URL, an e-mail, a label in snake case) may break anywhere: else it alone set its column's width and
#: pushed the columns after it out of sight (a phone) or off the paper (print).
LONG_WORD = 16
_LONG = re.compile(rf"\S{{{LONG_WORD + 1},}}")


def _td(x: Any, head: str | None) -> str:
    s = _num(x)
    attrs = (' class="brk"' if _LONG.search(s) else "") + (f' data-h="{_e(head)}"' if head is not None else "")
    return f"<td{attrs}>{_e(s)}</td>"


def table(head: list[str], rows: list[list[Any]], cls: str = "") -> str:
    """A table; ``cls="wide"`` (the suspects: long keys and reasons), or a table of :data:`WIDE_COLUMNS`
    columns or more (class ``stack``), is one block per row on a phone, each cell under its column's name,
    where five columns left the reasons a few letters wide and seven (a pair's two e-mails, then its
    figures) hid the score past the screen's edge. No rows: says so, where a row of headings over nothing
    looked like a table that failed to draw."""
    if not rows:
        return '<p class="muted">nothing to show</p>'
    cls = cls or ("stack" if len(head) >= WIDE_COLUMNS else "")
    names = head if cls in ("wide", "stack") else [None] * len(head)
    body = "".join("<tr>" + "".join(_td(c, h) for c, h in zip(r, names)) + "</tr>" for r in rows)
    return (f'<table class="{cls}"><thead><tr>{"".join(f"<th>{_e(h)}</th>" for h in head)}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _stat(d: dict | None) -> str:
    if not d:
        return "–"
    return f"{_num(d.get('value'))} (n={d.get('n', 0)})"


def _why(d: dict | None) -> str:
    """The note of a figure that is not defined (``nobody used this label``...), else ''."""
    return (d.get("note") or "") if d and d.get("value") is None else ""


# ---------------------------------------------------------------- sections


def _overview(d: dict) -> str:
    st = d["version"]["stats"]
    cards = [("tasks", st.get("tasks")), ("labeled", st.get("labeled")), ("unlabeled", st.get("unlabeled")),
             ("answers", st.get("annotations")), ("skipped", st.get("skipped")),
             (d.get("items_word", "regions"), st.get("regions")),
             ("annotators", len(st.get("annotators", {}))), ("model versions", len(st.get("predictions", {})))]
    out = '<div class="cards">' + "".join(f'<div class="card"><b>{_e(_num(v))}</b><span>{_e(k)}</span></div>'
                                          for k, v in cards) + "</div>"
    charts = []
    for ctl, counts in sorted(st.get("labels", {}).items()):
        order = d["config_labels"].get(ctl, [])
        names = list(dict.fromkeys([*order, *sorted(counts)]))
        charts.append(f"<div><h3>Labels: {_e(ctl)}</h3>" + bars([(n, counts.get(n, 0)) for n in names], 440) + "</div>")
    return out + '<div class="row">' + "".join(charts) + "</div>"


def _annotators(d: dict) -> str:
    st = d["version"]["stats"]
    ag = d["agreement"]
    out = '<div class="row"><div><h3>Answers per annotator</h3>' + bars(
        sorted(((annotator_shown(k), n) for k, n in st.get("annotators", {}).items()), key=lambda kv: (-kv[1], kv[0])),
        440) + "</div>"
    rows = []
    for ctl, e in ag["controls"].items():
        if e["kind"] == "classification":
            rows.append([ctl, "classification" + (" (multi-label)" if e["multi_label"] else ""),
                         e["tasks_with_two_or_more"], _stat(e["krippendorff_alpha"]), _stat(e["fleiss_kappa"]),
                         _num(e["cohen_kappa_mean"]["value"]), e.get("note") or _why(e["krippendorff_alpha"])])
        else:
            rows.append([ctl, "regions", e["tasks_with_two_or_more"], "F1 " + _stat(e["f1"]),
                         "F1, any label " + _stat(e["f1_any_label"]), "–", e.get("note") or _why(e["f1"])])
    out += "<div><h3>Agreement per control</h3>" + table(
        ["control", "kind", "tasks with 2+ answers", "Krippendorff's α", "Fleiss' κ", "mean Cohen's κ", "note"],
        rows) + "</div></div>"
    lab_rows = [[ctl, lab, v.get("answers", "–"), _stat(v.get("krippendorff_alpha") or v.get("f1")),
                 _stat(v.get("fleiss_kappa")), _why(v.get("krippendorff_alpha") or v.get("f1"))]
                for ctl, e in ag["controls"].items() for lab, v in e.get("labels", {}).items()
                if e["tasks_with_two_or_more"]]  # else a row of dashes per label: the note above says why
    out += '<div class="row">'
    if lab_rows:
        out += "<div><h3>Agreement per label</h3>" + table(
            ["control", "label", "answers", "α (or F1)", "Fleiss' κ", "note"], lab_rows) + "</div>"
    pairs = ag["disagreeing_pairs"][:10]
    if pairs:
        out += "<div><h3>Most disagreeing pairs</h3>" + table(
            ["control", "annotator", "annotator", "tasks", "disagree", "measure", "score"],
            [[p["control"], annotator_shown(p["a"]), annotator_shown(p["b"]), p["tasks"], p["disagree"], p["measure"],
              p["score"]] for p in pairs]) \
            + "</div>"
    out += "</div>"
    if ag["notes"]:
        out += "".join(f'<p class="muted">note: {_e(n)}</p>' for n in ag["notes"])
    return out


def _models(d: dict) -> str:
    out = ""
    for mv, res in d["models"].items():
        out += f"<h3>{_e(model_as_subject(mv))}</h3>"
        for ctl, e in res["controls"].items():
            if e["kind"] == "classification":
                out += (f"<h4>{_e(ctl)}: accuracy {_num(e['accuracy'])} on {e['tasks']} task(s), "
                        f"macro F1 {_num(e['macro_f1'])}</h4>") + _not_scored(e)
                if not e["tasks"]:  # no matrix and no rows: say why rather than draw an empty table
                    out += f'<p class="muted">note: {_e(e.get("note") or "no task has both a label and a prediction")}</p>'
                    continue
                out += _confusion(e["confusion"])
                out += table(["label", "precision", "recall", "F1", "support"],
                             [[k, v["precision"], v["recall"], v["f1"], v["support"]] for k, v in e["labels"].items()])
                out += "</div>"
            else:
                out += f"<h4>{_e(ctl)}: matched regions on {e['tasks']} task(s)</h4>" + _not_scored(e) + table(
                    ["IoU / overlap ≥", "precision", "recall", "F1", "labeled regions"],
                    [[t, v["precision"], v["recall"], v["f1"], v["support"]] for t, v in e["thresholds"].items()])
                out += table(*region_label_rows(e))
        out += "".join(f'<p class="muted">note: {_e(n)}</p>' for n in res["notes"])
    return out


def region_label_rows(e: dict) -> tuple[list[str], list[list[Any]]]:
    """A region control's eval per label (an entity type, a class): its labeled regions, then
    precision, recall and F1 at each IoU (overlap) threshold, as ``eval --json`` has them under
    ``thresholds.T.labels``; the labels in the order the first threshold lists them."""
    at = e["thresholds"]
    labels = list(dict.fromkeys(lab for x in at.values() for lab in x.get("labels", {})))
    head = ["label", "labeled regions"] + [f"{k} @{t}" for t in at for k in ("precision", "recall", "F1")]
    rows = []
    for lab in labels:
        got = [x.get("labels", {}).get(lab, {}) for x in at.values()]
        rows.append([lab, next((g["support"] for g in got if "support" in g), 0)]
                    + [g.get(k) for g in got for k in ("precision", "recall", "f1")])
    return head, rows


def _confusion(c: dict) -> str:
    """A confusion matrix as a heat map: past :data:`CONFUSION_LABELS` labels, the most used ones and
    one (other) for the rest (220 labels drew 48,400 cells, 10 MB, too small to read)."""
    labels, matrix, note = c["labels"], c["matrix"], ""
    if len(labels) > CONFUSION_LABELS:
        rows = [{"from": a, "to": b, "count": n} for a, r in zip(labels, matrix) for b, n in zip(labels, r) if n]
        rows, merged = _top(rows, CONFUSION_LABELS)
        labels = [lab for lab in labels if any(lab in (r["from"], r["to"]) for r in rows)] + [OTHER] * bool(merged)
        matrix = [[sum(r["count"] for r in rows if r["from"] == y and r["to"] == x) for x in labels] for y in labels]
        note = f'<p class="muted">{merged} rarer label(s) shown as {OTHER}; the table lists every label</p>' \
            if merged else ""
    return '<div class="row"><div>' + heatmap(labels, labels, matrix, "predicted", "label") + note + "</div>"


def _not_scored(e: dict) -> str:
    """The tasks eval left out of a control's figures, as its text says them (``not scored: 2
    task(s) predicted, not labeled``); '' when none."""
    left = [f"{e[k]} task(s) {what}" for k, what in (("labeled_not_predicted", "labeled, not predicted"),
                                                      ("predicted_not_labeled", "predicted, not labeled")) if e.get(k)]
    return f'<p class="muted not-scored">not scored: {_e("; ".join(left))}</p>' if left else ""


def _transitions(d: dict) -> str:
    regions = d["transitions"].get("regions") or []
    each = "one task per count" + (f" (one region per count, paired by shape, for {_e(', '.join(regions))})"
                                   if regions else "")
    out = f'<p>From {_e(d["previous"]["name"])} to {_e(d["version"]["name"])}, {each}, labels resolved by ' \
          f'the {_e(d["transitions"]["policy"])} policy.</p>'
    charts = []
    for ctl, rows in sorted(d["transitions"]["controls"].items()):
        rows, merged = _top(rows, TRANSITION_LABELS)
        ys = sorted({r["from"] for r in rows})
        xs = sorted({r["to"] for r in rows})
        m = [[sum(r["count"] for r in rows if r["from"] == y and r["to"] == x) for x in xs] for y in ys]
        note = f'<p class="muted">{merged} rarer label set(s) shown as {OTHER}</p>' if merged else ""
        charts.append(f"<div><h3>{_e(ctl)}</h3>" + heatmap(ys, xs, m, d["version"]["name"], d["previous"]["name"])
                      + note + "</div>")
    return out + '<div class="row">' + "".join(charts) + "</div>"


def _top(rows: list[dict], k: int) -> tuple[list[dict], int]:
    """Transition rows with label sets beyond the ``k`` most frequent merged into one."""
    weight: dict[str, int] = {}
    for r in rows:
        for side in ("from", "to"):
            weight[r[side]] = weight.get(r[side], 0) + r["count"]
    keep = set(sorted(weight, key=lambda x: (-weight[x], x))[:k])
    if len(weight) <= k:
        return rows, 0
    out: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r["from"] if r["from"] in keep else OTHER, r["to"] if r["to"] in keep else OTHER)
        out[key] = out.get(key, 0) + r["count"]
    return [{"from": a, "to": b, "count": n} for (a, b), n in out.items()], len(weight) - k


def _drift(d: dict) -> str:
    rows, people = [], []
    for ctl, e in d["drift"]["controls"].items():
        cs = e["chi_square"]
        rows.append([ctl, sum(e["a"]), sum(e["b"]), cs.get("statistic"), cs.get("dof"), cs.get("p_value"),
                     e["jensen_shannon"]])
        for who, p in e["annotators"].items():
            people.append([ctl, annotator_shown(who), p["regions_a"], p["regions_b"], p["jensen_shannon"],
                           p["chi_square"].get("p_value")])
    people.sort(key=lambda r: -(r[4] or 0))
    return (table(["control", f"labels in {d['previous']['name']}", f"labels in {d['version']['name']}", "χ²", "dof",
                   "p-value", "Jensen-Shannon"], rows)
            + "<h3>Per-annotator label-rate shift</h3>"
            + table(["control", "annotator", "labels before", "labels after", "Jensen-Shannon", "χ² p-value"], people))


#: what the history says in place of an agreement chart with no point (axes over nothing)
NO_HISTORY = "agreement is undefined in every version shown: annover agreement REV says why"


def _history(d: dict) -> str:
    h = d["history"]
    xs = [v["name"] for v in h]
    controls = sorted({c for v in h for c in v["agreement"]})
    figures = [x for v in h for x in v["agreement"].values() if x is not None]
    out = "<h3>Agreement (Krippendorff's α; F1 for regions)</h3>" + (lines(
        xs, {c: [v["agreement"].get(c) for v in h] for c in controls}, lo=min([0.0] + figures)) if figures else
        f'<p class="muted">{NO_HISTORY}</p>' if controls else '<p class="muted">nothing to show</p>')
    for ctl in sorted({c for v in h for c in v["labels"]}):
        out += f"<h3>Class balance: {_e(ctl)}</h3>" + stacked(xs, [v["labels"].get(ctl, {}) for v in h],
                                                             order=d["config_labels"].get(ctl, []))
    return out


def _suspects(d: dict) -> str:
    items, total = d["suspects"]["suspects"][:SUSPECTS_SHOWN], d["suspects"]["total"]
    # what was not checked (regions, no predictions): "no suspect labels" alone would say all were
    notes = "".join(f'<p class="muted">note: {_e(n)}</p>' for n in d["suspects"].get("notes", []))
    if not items:
        return '<p class="muted">no suspect labels</p>' + notes
    more = f'<p class="muted">the top {len(items)} of {total:,}; <code>annover suspects --json</code> lists them ' \
        'all</p>' if total > len(items) else ""
    regions = any("region" in i for i in items)  # where a suspect box or span is, so a person finds it
    return notes + more + table(["task", "control", *(["region", "where"] if regions else []), "label", "score",
                                 "reasons"],
                                [[i["task_key"], i["control"], *([i.get("region"), i.get("where")] if regions else []),
                                  i["label"], i["score"], "\n".join(r["text"] for r in i["reasons"])]
                                 for i in items], "wide")


def _sections(d: dict) -> list[tuple[str, Callable[[dict], str]]]:
    out = [("Overview", _overview), ("Annotators and agreement", _annotators)]
    if d["models"]:
        out.append(("Model vs labels", _models))
    if d.get("transitions"):
        out.append(("Label transitions", _transitions))
    if d.get("drift"):
        out.append(("Drift", _drift))
    if len(d["history"]) > 1:
        out.append(("History", _history))
    out.append(("Top suspects", _suspects))
    return out


CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;margin:0;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:20px 28px;background:#fff}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;border-bottom:2px solid #4e79a7;padding-bottom:3px;margin-top:30px}
h3{font-size:15px;margin:18px 0 6px}h4{font-size:13px;margin:12px 0 4px;font-weight:600}
.muted{color:#6b6b6b}.not-scored{margin:2px 0 6px;font-size:12.5px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.card{border:1px solid #dde;border-radius:6px;padding:8px 14px;min-width:90px;background:#fafbfd}
.card b{display:block;font-size:20px}.card span{color:#666;font-size:12px}
table{border-collapse:collapse;margin:6px 0 10px;font-size:12.5px}th,td{border:1px solid #dde;padding:3px 8px;text-align:left}
th{background:#eef2f7}tbody tr:nth-child(even){background:#fafbfd}
.wide td:last-child{max-width:560px;white-space:pre-line}
svg.chart{display:block;margin:4px 0;font-size:12px;font-family:inherit}.row{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}
nav a{margin-right:12px}.axis{font-size:11px;fill:#555}
svg.chart{max-width:100%;height:auto}table{display:block;max-width:100%;overflow-x:auto}
.heat{max-width:100%;overflow-x:auto}.heat svg.chart{min-width:var(--least)}.row>*{min-width:0;max-width:100%}
td.brk{overflow-wrap:anywhere;min-width:6em}
@media (max-width:640px){main{padding:12px}.row{gap:8px}.wide thead,.stack thead{display:none}
.wide,.wide tbody,.wide tr,.wide td,.stack,.stack tbody,.stack tr,.stack td{display:block}
.wide tr,.stack tr{border:1px solid #dde;margin-bottom:8px}
.wide td,.stack td{border:0;padding:2px 8px}.stack td:empty{display:none}
.wide td::before,.stack td::before{content:attr(data-h) ": ";color:#6b6b6b}}
@media print{body{background:#fff}main{max-width:none;padding:0}nav{display:none}table{display:table}
tr,svg.chart,.card{break-inside:avoid}h2,h3,h4{break-after:avoid}.heat svg.chart{min-width:0}}
"""


def _isolated(body: str, d: dict) -> str:
    """``body`` with each right-to-left label or annotator in a table cell set apart (``<bdi>``): in a
    suspect's reasons, "bob said 'شكوى'; 2 of 2 others said 'Praise'" read "said '2 ;شكوى' of 2", the
    digits and quotes after an Arabic or Hebrew name drawn into it."""
    st = d["version"]["stats"]
    names = {*st.get("annotators", {}), *(lab for c in st.get("labels", {}).values() for lab in c),
             *(lab for c in d["config_labels"].values() for lab in c)}
    rtl = sorted({_e(n) for n in names if any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in n)},
                 key=lambda n: (-len(n), n))
    if not rtl:
        return body
    name = re.compile("|".join(map(re.escape, rtl)))
    return re.sub(r"(<td[^>]*>)([^<]*)(</td>)",
                  lambda m: m[1] + name.sub(r'<bdi dir="ltr">\g<0></bdi>', m[2]) + m[3], body)


def render(d: dict) -> str:
    """The page (a string of HTML) for the data of :func:`collect`."""
    v = d["version"]
    secs = _sections(d)
    body = _isolated("".join(f'<section id="s{i}"><h2>{_e(name)}</h2>{fn(d)}</section>'
                             for i, (name, fn) in enumerate(secs)), d)
    nav = "".join(f'<a href="#s{i}">{_e(name)}</a>' for i, (name, _) in enumerate(secs))
    since = f" · compared with {_e(d['previous']['name'])}" if d.get("previous") else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>annover report: {_e(v["name"])}</title><style>{CSS}</style></head><body><main>'
            f'<h1>Labels at {_e(v["name"])}</h1><p class="muted">version {_e(v["id"][:12])} · {_e(v["created_at"])} · '
            f'{_e(v["message"])}{since}</p><nav>{nav}</nav>{body}'
            f'<p class="muted">made by annover report; self-contained: no script, nothing fetched.</p></main></body></html>')

