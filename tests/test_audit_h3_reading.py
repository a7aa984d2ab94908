"""What a person reads, in headless Chromium (Debian's).

Right-to-left names (an Arabic label, as a team labeling Arabic reviews has): the neighbours of such a
name were drawn into it.

- The notebook's results (``_repr_html_``): a suspect's reasons ``1 said 'شكوى'; 2 of 2 others said
  'Praise'`` read ``1 said '2 ;'شكوى of 2 ...`` (the report sets such names apart; the notebook did not).
- The annotator's ``only="disagreement"`` line ``answers: 1 شكوى · 2 Positive`` (the corpus's
  two-annotator export names annotators by user id) read ``answers: 1 2 · شكوى Positive``: whose answer
  was whose was lost.

Each checks where the browser draws the digit that follows the name: after it, as written.

The report's counts on its heat maps (confusion, transitions) were white on cells as pale as 2.5:1,
its grey notes 4.48:1: every text there has a contrast of 4.5:1 or more now.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from pathlib import Path

import pytest

import annover
from annover.loop import report
from annover.loop.display import suspects_html
from tests.test_notebook_browser import _open  # the widget's ESM in a page, the real Python widget behind it
from tests.test_notebook_rough_edges import CONTRAST  # each text's colour against what is behind it

widget = pytest.importorskip("annover.notebook.widget")
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NAME = "شكوى"

#: [left, right] of the ``nth`` occurrence of ``needle`` in the text under ``sel``, as drawn
WHERE = """([sel, needle, nth]) => {
  const walker = document.createTreeWalker(document.querySelector(sel), NodeFilter.SHOW_TEXT);
  let seen = 0;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    for (let i = n.textContent.indexOf(needle); i >= 0; i = n.textContent.indexOf(needle, i + 1)) {
      if (seen++ < nth) continue;
      const r = document.createRange();
      r.setStart(n, i);
      r.setEnd(n, i + needle.length);
      const b = r.getBoundingClientRect();
      return [b.left, b.right];
    }
  }
  return null;
}"""


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        (pytest.fail if os.environ.get("CI") else pytest.skip)("needs Chromium: apt-get install chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def _after(page, sel: str, digit: str, nth: int = 0) -> bool:
    """Whether the ``nth`` ``digit`` under ``sel`` is drawn right of the right-to-left name before it."""
    name, num = page.evaluate(WHERE, [sel, NAME, 0]), page.evaluate(WHERE, [sel, digit, nth])
    assert name and num, (name, num)
    return num[0] >= name[1] - 0.5


def test_a_suspects_reasons_keep_their_order_around_a_right_to_left_label(browser):
    reason = f"1 said '{NAME}'; 2 of 2 others said 'Praise'"
    items = [{"task_key": "t1", "control": "sentiment", "label": NAME, "score": 1.0, "reasons": [{"text": reason}]},
             {"task_key": "t2", "control": "sentiment", "label": "<b>x</b>", "score": 0.5,
              "reasons": [{"text": "2 said '<b>x</b>'; 1 said \"quoted\""}]}]
    page = browser.new_page(viewport={"width": 1000, "height": 400})
    page.set_content('<meta charset="utf-8"><body>' + suspects_html(items, 2, {}, [], {"version": {"name": "v3"}})
                     + "</body>")
    rows = page.locator("tbody tr td:last-child")
    assert rows.nth(0).inner_text() == reason and rows.nth(1).inner_text() == items[1]["reasons"][0]["text"]
    assert page.locator("tbody b").count() == 0  # still text, not markup
    assert _after(page, "tbody tr td:last-child", "2")  # "; 2 of 2" after the name, not before it
    page.close()


ANSWERS = [(1, NAME), (2, "Positive")]  # by user id, as the corpus's plain export


@pytest.fixture(scope="module")
def two_said(tmp_path_factory):
    """Three tasks two annotators answered, the first differently (one with the right-to-left label)."""
    root = tmp_path_factory.mktemp("h3") / "repo"
    repo = annover.init(root)
    (root / "c.xml").write_text(f'<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
                                f'<Choice value="Positive"/><Choice value="{NAME}"/></Choices></View>')
    agreed = [[(1, "Positive"), (2, "Positive")], [(1, NAME), (2, NAME)]]  # two more tasks: a kappa defined
    tasks = [{"id": i, "data": {"text": f"التوصيل كان متأخرا {i}"}, "annotations": [
        {"id": 10 * i + who, "completed_by": who, "result": [
            {"id": f"r{i}{who}", "from_name": "sentiment", "to_name": "text", "type": "choices",
             "value": {"choices": [label]}}]} for who, label in said]} for i, said in enumerate([ANSWERS, *agreed])]
    (root / "e.json").write_text(json.dumps(tasks, ensure_ascii=False))
    repo.snapshot(str(root / "e.json"), config=str(root / "c.xml"), message="two annotators")
    return repo


def test_the_answers_a_reviewer_decides_between_say_whose_is_whose(browser, two_said):
    ann = annover.annotate(two_said, "HEAD", only="disagreement", annotator="reviewer@example.com")
    page = browser.new_page(viewport={"width": 820, "height": 500})
    _open(page, ann)
    assert page.inner_text(".annover-others") == "answers: " + " · ".join(f"{w} {lab}" for w, lab in ANSWERS)
    assert _after(page, ".annover-others", "2")  # annotator 2 after annotator 1's label, as written
    page.close()


#: Each count drawn on a heat map's cell, with the contrast of its fill to the cell's (blended over the page)
ON_CELLS = """() => {
  const rgba = (c) => {
    const n = c.match(/[\\d.]+/g).map(Number);
    return [n[0], n[1], n[2], n.length > 3 ? n[3] : 1];
  };
  const over = (f, b) => f.slice(0, 3).map((v, i) => v * f[3] + b[i] * (1 - f[3])).concat(1);
  const lin = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  const lum = ([r, g, b]) => 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  const inside = (t, r) => { const a = t.getBoundingClientRect(), b = r.getBoundingClientRect();
    const x = a.left + a.width / 2, y = a.top + a.height / 2;
    return x > b.left && x < b.right && y > b.top && y < b.bottom; };
  const rects = [...document.querySelectorAll("svg rect")];
  const out = [];
  for (const t of document.querySelectorAll("svg text")) {
    const r = rects.find((r) => inside(t, r));
    if (!r) continue;
    const b = over(rgba(getComputedStyle(r).fill), [255, 255, 255, 1]), f = over(rgba(getComputedStyle(t).fill), b);
    const [hi, lo] = [lum(f), lum(b)].sort((x, y) => y - x);
    out.push([t.textContent, (hi + 0.05) / (lo + 0.05)]);
  }
  return out;
}"""


def test_every_text_of_the_report_s_heat_maps_and_notes_reads_4_5_to_1(browser):
    labels = ["positive", "negative", "neutral", "mixed", report.OTHER]
    matrix = [[(3 * i + 5 * j) % 14 for j in range(len(labels))] for i in range(len(labels))]  # 0..13: every shade
    page = browser.new_page(viewport={"width": 900, "height": 700})
    page.set_content(f'<meta charset="utf-8"><style>{report.CSS}</style><main><p class="muted">the top 25 of 63</p>'
                     f'{report.heatmap(labels, labels, matrix, "predicted", "label")}</main>')
    cells = page.evaluate(ON_CELLS)
    assert len(cells) == len(labels) ** 2
    low = [(t, round(r, 2)) for t, r in cells + page.evaluate(CONTRAST.replace(".annover-annotator *", "main *"))
           if r < 4.5]
    assert not low, low
    page.close()


#: Whether every cell of every table is in sight: [tables scrolling sideways, cells past the page's right edge]
IN_SIGHT = """() => [
  [...document.querySelectorAll("table")].filter((t) => t.scrollWidth > t.clientWidth + 1).length,
  [...document.querySelectorAll("td")].filter((c) => c.getBoundingClientRect().right > innerWidth + 1).length]"""


def test_on_a_phone_a_report_table_s_figures_are_in_sight(browser):
    """The most disagreeing pairs (two e-mails, then tasks, disagree, measure, score) at 390 pixels: the
    score, what the table is for, was past the screen's edge in a table scrolling sideways (so were the
    kappas and notes of the agreement tables). A table of six columns or more is a block per row there."""
    who = [f"annotator.number{i}.with.a.long.address@some-labeling-vendor.example.com" for i in range(4)]
    pairs = report.table(["control", "annotator", "annotator", "tasks", "disagree", "measure", "score"],
                         [["sentiment", a, b, 4, 3, "cohen_kappa", -0.5] for a, b in zip(who, who[1:])])
    small = report.table(["label", "precision", "recall", "F1", "support"], [["Positive", 0.5, 0.25, 0.333, 8]])
    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.set_content(f'<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
                     f'<style>{report.CSS}</style><main>{pairs}{small}</main>')
    assert page.evaluate(IN_SIGHT) == [0, 0]
    assert page.locator("td", has_text="-0.500").first.is_visible()
    page.set_viewport_size({"width": 1280, "height": 800})  # a screen: tables as tables, headings over columns
    assert page.locator("thead").first.is_visible() and page.evaluate(IN_SIGHT) == [0, 0]
    page.close()


def test_a_version_s_task_with_no_image_says_so(tmp_path):
    """Tasks of an image dataset whose image field is null, empty or missing (a broken import): the
    placeholder read ``not an image file (by its name): `` and named nothing."""
    root = tmp_path / "repo"
    repo = annover.init(root)
    (root / "c.xml").write_text('<View><Image name="img" value="$image"/><Choices name="s" toName="img">'
                                '<Choice value="cat"/><Choice value="dog"/></Choices></View>')
    datas = [{"image": None, "n": "a"}, {"n": "b"}, {"image": " ", "n": "c"}, {"image": "gone.png", "n": "d"}]
    (root / "t.json").write_text(json.dumps([{"id": i, "data": d} for i, d in enumerate(datas)]))
    repo.snapshot(str(root / "t.json"), config=str(root / "c.xml"), key="data.n", message="a broken import")
    ann = annover.annotate(repo, "HEAD", annotator="a@b.c")
    said = []
    for _ in datas:
        said.append(ann.view["task"]["missing"])
        ann.skip()
    assert said[3] == "image not found: gone.png"  # a path: named
    assert all(m.startswith("no image") and not m.endswith(": ") for m in said[:3]), said


def test_a_mean_over_annotator_pairs_is_not_shown_as_a_count_of_tasks(two_said):
    """The notebook's agreement table said ``mean Cohen's kappa -1.000 (n=1)`` beside ``(n=1)`` of the tasks:
    the 1 is one pair of annotators. It says so now, as many as the result has."""
    res = two_said.agreement("HEAD")
    mean = res.to_json()["controls"]["sentiment"]["cohen_kappa_mean"]
    row = re.search(r"<tr>(<td[^>]*>sentiment</td>.*?)</tr>", res._repr_html_())[1]
    cells = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
    assert cells[5] == f"{mean['value']:.3f} (pairs={mean['pairs']})", cells


def test_on_a_phone_a_heat_map_s_counts_stay_readable(browser):
    """A confusion matrix of 15 labels and (other) fitted to a 390-pixel screen drew its counts 5 pixels
    tall. It shrinks so far, then scrolls sideways in its own box (the page does not), its counts 9 px or more."""
    labels = [f"Product defect: category {i}" for i in range(15)] + [report.OTHER]
    matrix = [[(i * 7 + j * 3) % 9 for j in range(len(labels))] for i in range(len(labels))]
    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.set_content(f'<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
                     f'<style>{report.CSS}</style><main><div class="row"><div>'
                     f'{report.heatmap(labels, labels, matrix, "predicted", "label")}</div></div></main>')
    tall = page.evaluate("""() => [...document.querySelectorAll("svg text")].filter((t) => /^\\d+$/.test(t.textContent))
                            .map((t) => t.getBoundingClientRect().height)""")
    assert len(tall) == len(labels) ** 2 and min(tall) >= 9, min(tall)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the page itself does not scroll sideways
    page.close()
