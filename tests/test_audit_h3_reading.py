"""What a person reads, in headless Chromium (Debian's).

Right-to-left names (an Arabic label, as a team labeling Arabic reviews has): the neighbours of such a
name were drawn into it.

- The notebook's results (``_repr_html_``): a suspect's reasons ``1 said 'شكوى'; 2 of 2 others said
  'Praise'`` read ``1 said '2 ;'شكوى of 2 ...`` (the report sets such names apart; the notebook did not).
- The annotator's ``only="disagreement"`` line ``answers: 1 شكوى · 2 Positive`` (the corpus's
  two-annotator export names annotators by user id) read ``answers: 1 2 · شكوى Positive``: whose answer
  was whose was lost.

Each checks where the browser draws the digit that follows the name: after it, as written.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import annover
from annover.loop.display import suspects_html
from tests.test_notebook_browser import _open  # the widget's ESM in a page, the real Python widget behind it

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


def test_the_answers_a_reviewer_decides_between_say_whose_is_whose(browser, tmp_path):
    root = tmp_path / "repo"
    repo = annover.init(root)
    (root / "c.xml").write_text(f'<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
                                f'<Choice value="Positive"/><Choice value="{NAME}"/></Choices></View>')
    answers = [(1, NAME), (2, "Positive")]  # by user id, as the corpus's plain export
    task = {"id": 1, "data": {"text": "التوصيل كان متأخرا"}, "annotations": [
        {"id": who, "completed_by": who, "result": [{"id": f"r{who}", "from_name": "sentiment", "to_name": "text",
                                                    "type": "choices", "value": {"choices": [label]}}]}
        for who, label in answers]}
    (root / "e.json").write_text(json.dumps([task], ensure_ascii=False))
    repo.snapshot(str(root / "e.json"), config=str(root / "c.xml"), message="two annotators")
    ann = annover.annotate(repo, "HEAD", only="disagreement", annotator="reviewer@example.com")
    page = browser.new_page(viewport={"width": 820, "height": 500})
    _open(page, ann)
    assert page.inner_text(".annover-others") == "answers: " + " · ".join(f"{w} {lab}" for w, lab in answers)
    assert _after(page, ".annover-others", "2")  # annotator 2 after annotator 1's label, as written
    page.close()

