"""The report as a person reads it at a real size: 60 classes of long names that share their
start, right-to-left labels beside left-to-right text, an empty version. In headless Chromium
(Debian's package) where it is about what is drawn."""

from __future__ import annotations

import json
import shutil

import pytest

import annover
from annover.loop import report
from tests.test_report import CHROMIUM, _browser

#: a support team's taxonomy: many names share a start ("Product defect: ...") and are too long for an axis
TOPICS = ["Billing / Invoice dispute", "Shipping — delayed more than two weeks", "Product defect: battery",
          "Product defect: screen", "Product defect: screen — cracked on arrival", "Account_takeover_suspected_fraud",
          "Account_takeover_suspected_fraud_confirmed", "Refund request"]
NAMES = TOPICS + [f"{t} — subtype {i}" for i, t in enumerate(TOPICS * 3)]


def _visible_names(page_html: str) -> list[list[str]]:
    """The names each chart draws (its axes' and legend's texts), as Chromium lays them out."""
    sync_api = _browser()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_content(f"<html><head><style>{report.CSS}</style></head><body>{page_html}</body></html>")
            return page.evaluate("""() => [...document.querySelectorAll("svg.chart")].map((svg) =>
              [...svg.querySelectorAll("text")].map((t) => [...t.childNodes].filter((n) => n.nodeType === 3)
                .map((n) => n.textContent).join("")).filter((s) => s && !/^[\\d.]+%?$/.test(s)))""")
        finally:
            browser.close()


def test_chart_names_that_share_their_start_stay_apart():
    """Cut at their end to fit, "Product defect: battery" and "Product defect: screen" were both
    "Product defect:…" (two rows and two columns of a confusion matrix, two bars, that only a tooltip
    told apart); a name cut now keeps its start, an ellipsis and the part where it differs."""
    k = len(NAMES)
    charts = [report.bars([(n, k - i) for i, n in enumerate(NAMES)], 440),
              report.heatmap(NAMES[:15], NAMES[:15], [[1] * 15] * 15),
              report.stacked(["v1", "v2"], [{n: 1 for n in TOPICS[:9]}] * 2, order=TOPICS[:9])]
    bars, heat, stacked = _visible_names("".join(charts))
    assert len(bars) == k and len(set(bars)) == k, bars
    assert len(heat) == 30 and len(set(heat[:15])) == 15 and len(set(heat[15:])) == 15, heat  # columns, rows
    legend = [s for s in stacked if s not in ("v1", "v2")]
    assert len(legend) == len(TOPICS) and len(set(legend)) == len(legend), legend
    for shown, name in zip(bars, NAMES):  # what is drawn is pieces of the name, in order
        head, *rest = shown.split("…")
        assert name.startswith(head) and all(piece in name for piece in rest), (shown, name)
