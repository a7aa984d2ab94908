"""The report as a person reads it at a real size: 60 classes of long names that share their
start, right-to-left labels beside left-to-right text, an empty version. In headless Chromium
(Debian's package) where it is about what is drawn."""

from __future__ import annotations

import json
import shutil

import pytest

import annover
from annover.loop import report
from tests.test_report import CHROMIUM, _browser, loop_repo  # noqa: F401 (a fixture)

#: a support team's taxonomy: many names share a start ("Product defect: ...") and are too long for an axis
TOPICS = ["Billing / Invoice dispute", "Shipping — delayed more than two weeks", "Product defect: battery",
          "Product defect: screen", "Product defect: screen — cracked on arrival", "Account_takeover_suspected_fraud",
          "Account_takeover_suspected_fraud_confirmed", "Refund request"]
NAMES = TOPICS + [f"{t} — subtype {i}" for i, t in enumerate(TOPICS * 3)]


def _evaluate(js: str, arg: object = None, *, url: str | None = None, page_html: str | None = None) -> object:
    """``js`` (called with ``arg``) evaluated in Chromium at 1440x900 on the page at ``url`` or ``page_html``."""
    sync_api = _browser()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            if url is not None:
                page.goto(url)
            else:
                page.set_content(f"<html><head><style>{report.CSS}</style></head><body>{page_html}</body></html>")
            return page.evaluate(js, arg)
        finally:
            browser.close()


def _visible_names(page_html: str) -> list[list[str]]:
    """The names each chart draws (its axes' and legend's texts), as Chromium lays them out."""
    return _evaluate("""() => [...document.querySelectorAll("svg.chart")].map((svg) =>
      [...svg.querySelectorAll("text")].map((t) => [...t.childNodes].filter((n) => n.nodeType === 3)
        .map((n) => n.textContent).join("")).filter((s) => s && !/^[\\d.]+%?$/.test(s)))""", page_html=page_html)


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


RTL = "شكوى الشحن"  # "shipping complaint"
CONFIG = ('<View><Text name="text" value="$text"/><Choices name="topic" toName="text" choice="single">'
          f'<Choice value="{RTL}"/><Choice value="Praise"/><Choice value="Other"/></Choices></View>')


def _answer(task: int, k: int, who: str, label: str) -> dict:
    return {"id": 10 * task + k, "completed_by": {"id": k + 1, "email": who}, "was_cancelled": False,
            "ground_truth": False, "created_at": f"2026-11-01T10:0{k}:00Z", "updated_at": f"2026-11-01T10:0{k}:00Z",
            "result": [{"id": f"r{task}{k}", "from_name": "topic", "to_name": "text", "type": "choices",
                        "value": {"choices": [label]}}]}


@pytest.fixture
def rtl_repo(tmp_path, monkeypatch):
    """Three annotators; on each task one of them gives the Arabic label where the two others say Praise."""
    root = tmp_path / "labels"
    repo = annover.init(root)
    (root / "labeling.xml").write_text(CONFIG)
    monkeypatch.chdir(root)
    people = ["amal@example.com", "bob@example.com", "chen@example.com"]
    tasks = [{"id": i + 1, "data": {"ext": f"t{i}", "text": f"order {i} arrived late"},
              "annotations": [_answer(i, k, who, RTL if k == i % 3 else "Praise") for k, who in enumerate(people)]}
             for i in range(6)]
    (root / "export.json").write_text(json.dumps(tasks, ensure_ascii=False))
    repo.snapshot("export.json", config="labeling.xml", key="data.ext", message="round 1")
    return repo


def test_a_right_to_left_label_in_a_suspect_s_reasons_keeps_the_words_after_it_in_place(rtl_repo, tmp_path):
    """"amal said 'شكوى الشحن'; 2 of 2 others said 'Praise'" was drawn "said '2 ;شكوى الشحن' of 2 others":
    the digits and the quote after an Arabic label joined its right-to-left run. Each such label is set
    apart now: in Chromium the "2" after the label is drawn to its right."""
    out = tmp_path / "r.html"
    rtl_repo.report("HEAD", out)
    places = _evaluate("""(label) => [...document.querySelectorAll("td")]
      .filter((td) => td.textContent.includes("others said")).map((td) => {
        const nodes = [], walk = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
        while (walk.nextNode()) nodes.push(walk.currentNode);
        const at = (i) => { for (const n of nodes) { if (i <= n.length) return [n, i]; i -= n.length; } };
        const box = (a, b) => { const r = document.createRange(); r.setStart(...at(a)); r.setEnd(...at(b));
                                return r.getBoundingClientRect(); };
        const text = td.textContent, i = text.indexOf(label), j = text.indexOf("of", i) - 2;
        return [box(i, i + label.length).right, box(j, j + 1).left, text.slice(j, j + 1)];
      })""", RTL, url=out.as_uri())
    assert len(places) == 6, places
    for label_right, digit_left, digit in places:
        assert digit == "2" and digit_left >= label_right - 1, places


def test_a_report_of_an_empty_version_draws_no_table_of_headings_only(tmp_path, monkeypatch):
    """A version of no task: "Agreement per control" was a row of seven headings over nothing, a table
    that seemed to have failed to draw; it says there is nothing to show, and the note says why."""
    root = tmp_path / "labels"
    repo = annover.init(root)
    (root / "labeling.xml").write_text(CONFIG)
    (root / "export.json").write_text("[]")
    monkeypatch.chdir(root)
    repo.snapshot("export.json", config="labeling.xml", message="empty", allow_empty=True)
    out = tmp_path / "r.html"
    repo.report("HEAD", out)
    page_html = out.read_text()
    assert "<tbody></tbody>" not in page_html
    agreement = page_html.split("<h3>Agreement per control</h3>")[1].split("</div>")[0]
    assert "nothing to show" in agreement and "agreement needs two or more" in page_html


def test_a_suspect_s_reasons_are_one_a_line(loop_repo, tmp_path):
    """A suspect's reasons (what annotators said, what the model says, what changed since the parent) ran
    together as one paragraph, joined with "; " that the reasons use inside themselves too: ten lines to
    pick apart per row at 60 classes. In Chromium each reason now starts a line of its own."""
    out = tmp_path / "r.html"
    loop_repo.report("HEAD", out)
    items = loop_repo.suspects("HEAD", limit=report.SUSPECTS_SHOWN).to_json()["suspects"]
    assert any(len(i["reasons"]) > 1 for i in items)  # else this would test nothing
    cells = _evaluate("""() => [...document.querySelectorAll("table.wide tbody tr")]
      .map((tr) => tr.lastElementChild.innerText)""", url=out.as_uri())
    assert [c.split("\n") for c in cells] == [[r["text"] for r in i["reasons"]] for i in items]
