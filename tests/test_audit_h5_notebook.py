"""Audit of the notebook annotator as a person labels images (sizes of the shared corpus's Pascal VOC
folders) and texts with the mouse and the keyboard, in Debian's headless Chromium driven by Playwright
(the widget's ES module on a page whose model hands each command to the real Python widget, as
tests/test_notebook_browser.py does)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import shared_corpus
from tests.test_audit_dec6_notebook import _open, _render, _settle, browser  # noqa: F401 - fixture
from tests.test_notebook_browser import _chromium  # noqa: F401 - autouse: Chromium is needed

widget = pytest.importorskip("annover.notebook.widget")
Image = pytest.importorskip("PIL.Image")


#: the first label's distance from the widget's top (a click scrolling the page moves both)
LABEL_Y = ("Math.round(document.querySelector('.annover-label').getBoundingClientRect().top"
           " - document.querySelector('.annover-annotator').getBoundingClientRect().top)")


def _voc_photos(folder, n: int) -> list[str]:
    """Images as large as the first ``n`` annotations of the corpus's raccoon VOC folder say theirs are
    (the corpus keeps no image: a plain one of each size stands in)."""
    names = []
    for xml in sorted((shared_corpus("formats") / "voc_raccoon_labelimg" / "annotations").glob("*.xml"))[:n]:
        text = xml.read_text()
        size = int(re.search(r"<width>(\d+)", text)[1]), int(re.search(r"<height>(\d+)", text)[1])
        Image.new("RGB", size, (120, 160, 200)).save(folder / f"{xml.stem}.jpg")
        names.append(f"{xml.stem}.jpg")
    return names


def test_toggling_labels_does_not_move_the_buttons_under_the_mouse(tmp_path, monkeypatch, browser):  # noqa: F811
    """Multi-label, by mouse: the first click on a label made the line over the image say
    "raccoon chosen, not answered yet — press Enter (⏎ submit) to answer with them", two lines where
    "not answered · nothing chosen ..." was one, and every button moved 14 pixels down under the
    mouse (a click near a button's top edge then hit the gap above it). The line keeps room for two
    lines: the buttons stay where they are as labels are toggled, answered, and from task to task."""
    monkeypatch.chdir(tmp_path)
    names = _voc_photos(tmp_path, 3)
    labels = ["raccoon", "Schäferhund", "ежик", "chat noir"] + [f"label-{i}" for i in range(20)]
    ann = widget.annotate(names, labels=labels, multiple=True, annotator="h5@example.org")
    page = _open(browser, ann)
    _render(page, ann)
    page.wait_for_selector(".annover-image")
    ys = [page.evaluate(LABEL_Y)]
    for n, label in enumerate(["raccoon", "Schäferhund", "ежик"], 1):
        page.click(f".annover-label[data-label='{label}']")
        _settle(page, n)
        ys.append(page.evaluate(LABEL_Y))
    assert "raccoon, Schäferhund, ежик chosen, not answered yet" in page.inner_text(".annover-state")
    page.click(".annover-submit")
    _settle(page, 4)
    ys.append(page.evaluate(LABEL_Y))
    page.keyboard.press("ArrowLeft")  # back to the answered task: its answer named on the line
    _settle(page, 5)
    assert page.inner_text(".annover-state").startswith("answered: raccoon, Schäferhund, ежик")
    ys.append(page.evaluate(LABEL_Y))
    assert len(set(ys)) == 1, ys
    assert ann.session.answers[ann.session.tasks[0].key].labels == ("raccoon", "Schäferhund", "ежик")
