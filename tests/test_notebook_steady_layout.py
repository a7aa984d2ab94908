"""The notebook annotator's buttons stay where the hand is (6 December): in Debian's headless Chromium
(the widget's ES module on a page whose minimal model hands each command to the real Python widget),
a batch labeled task after task, the boxes of the header, the text, the labels and back/skip/next
measured (Playwright's bounding boxes) on every task. Two page loads: a narrow widget (a phone, 360
pixels) with 62 labels and texts from a line to 3,000 characters, and a wide one with three labels and
short texts. Before: each text's box was its own height (up to 260 px), moving every button under it;
back/skip/next sat under 62 labels, a screen and more below the text; the header wrapped into more
lines as its counts and the saved message grew."""

from __future__ import annotations

import os

import pytest

from annover.notebook.session import Task

widget = pytest.importorskip("annover.notebook.widget")
sync_api = pytest.importorskip("playwright.sync_api")

from tests.test_audit_dec6_notebook import _open, _render, _settle  # noqa: E402 - the page and its shim
from tests.test_notebook_browser import _browser, _chromium  # noqa: E402,F401 - the browser

HEIGHT = 700
LABELS = [f"category {i:02d} {w}" for i, w in enumerate(["billing", "shipping", "returns", "account", "fraud",
                                                        "praise", "bug", "feature", "spam", "other"] * 6 + [
                                                           "late", "lost"])]
LONG = " ".join(f"sentence {i} of a long product review, which goes on." for i in range(60))
NARROW_TEXTS = ["ok", "a short review.", LONG, "two\nlines", "three\nshort\nlines", "fine", "a review of a few words",
                "x", "the last but two", "the last but one", "the last"]
WIDE_TEXTS = ["one line", "two\nlines", "a\nreview\nof\nfive lines", "ok", "three\nshort\nlines"]
BOXES = {"head": ".annover-head", "text": ".annover-text", "content": ".annover-content",
         "label": ".annover-label >> nth=0", "last_label": ".annover-label >> nth=-1", "nav": ".annover-nav",
         "next": ".annover-forward"}


def test_the_page_is_given_the_batch_s_longest_texts_and_those_of_most_lines_cut(tmp_path, monkeypatch):
    """``tall``, set once: the three longest texts and the three of most lines (a chat's messages as one
    text more; of as many lines, the longer), each cut at TALL_CHARS, in the batch's order; no image, and
    no text twice."""
    monkeypatch.chdir(tmp_path)
    lines = "\n".join("l" * 3 for _ in range(40))
    texts = ["a", "b" * 9000, "c" * 50, lines, "d" * 70, "e\nf", "g" * 60]
    ann = widget.annotate(texts, labels=["x"], annotator="a@b.c")
    assert ann.tall == [{"value": t[:widget.TALL_CHARS], "messages": None} for t in
                        ["b" * 9000, lines, "d" * 70, "e\nf"]]
    said = [{"role": "user", "content": "hi " * 900}, {"role": "bot", "content": "no"}]
    chat = widget.tall_texts([Task("t0", {"text": said}, "text")])
    assert chat == [{"value": "", "messages": [{"who": "user", "text": ("hi " * 900)[:widget.TALL_CHARS]}]}]
    images = widget.annotate([str(tmp_path / "a.png")], labels=["x"], kind="image", annotator="a@b.c")
    assert images.tall == []


def _measure(page) -> dict:
    boxes = {name: page.locator(sel).bounding_box() for name, sel in BOXES.items()
             if page.locator(sel).count()}
    text = page.locator(".annover-text")
    if text.count():
        boxes["scroll"] = text.evaluate("(t) => t.scrollHeight")
    return boxes


def _label(page, ann, texts: list[str], keys: list[str], shots: str | None, width: int) -> list[dict]:
    """Each task measured, then answered (or skipped) with its key; past the last task measured once more."""
    page.locator(".annover-annotator").focus()
    seen = []
    for n, key in enumerate(keys, 1):
        seen.append(_measure(page))
        if shots and n in (1, 3):
            page.screenshot(path=f"{shots}/{width}-task{n}.png", full_page=True)
        page.keyboard.press(key)
        _settle(page, n)
    seen.append(_measure(page))
    assert ann.session.current is None and len(ann.session.answers) == len(texts)
    return seen


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """The boxes on every task of the narrow and the wide widget; the keys (a label's, s, ←, →, `/` and a
    name) answer as before."""
    shots = os.environ.get("ANNOVER_LAYOUT_SHOTS")
    out = {}
    with pytest.MonkeyPatch.context() as mp, _browser() as browser:
        mp.chdir(tmp_path_factory.mktemp("layout"))
        ann = widget.annotate(NARROW_TEXTS, labels=LABELS, annotator="a.person.with.a.long.name@example.com")
        page = _open(browser, ann, width=360, height=HEIGHT)
        _render(page, ann)
        page.locator(".annover-annotator").focus()
        page.keyboard.press("/")  # the label search: part of a name, Enter answers with the first left
        page.keyboard.type("17 FEA")
        page.keyboard.press("Enter")
        _settle(page, 1)
        assert ann.session.answers[ann.session.tasks[0].key].labels == ("category 17 feature",)
        page.keyboard.press("ArrowLeft")  # back to the first task, its answer shown
        _settle(page, 2)
        assert ann.session.position == 0
        page.evaluate("window.sent = 0")
        out["narrow"] = _label(page, ann, NARROW_TEXTS, ["1", "s"] + ["2"] * 9, shots, 360)
        wide = widget.annotate(WIDE_TEXTS, labels=["positive", "negative", "neutral"], annotator="b@example.com")
        page = _open(browser, wide, width=1000, height=HEIGHT)
        _render(page, wide)
        out["wide"] = _label(page, wide, WIDE_TEXTS, ["1", "2", "s", "3", "1"], shots, 1000)
    return out


def _same(seen: list[dict], name: str, side: str) -> set:
    return {round(m[name][side], 1) for m in seen if name in m}


def test_every_text_task_has_one_box_height_as_tall_as_the_batch_s_tallest_text(measured):
    """Every text's box, and so every label button, at one place: the batch's tallest text, up to 260
    pixels (3,000 characters scroll inside it); a batch of short texts keeps a box as tall as its tallest
    (five lines), no more: the short ones leave no box of 260 px with a line in it."""
    narrow, wide = measured["narrow"][:-1], measured["wide"][:-1]
    assert _same(narrow, "text", "height") == {260.0}
    assert _same(narrow, "label", "y") == {narrow[0]["label"]["y"]}
    assert max(m["scroll"] for m in narrow) > 1000  # the long one scrolls inside
    heights = _same(wide, "text", "height")
    tallest = max(m["scroll"] for m in wide)  # the five lines' own height: the box is that tall
    assert len(heights) == 1 and abs(heights.pop() - tallest) <= 1 and tallest < 150
    assert len(_same(wide, "label", "y")) == 1 and len(_same(wide, "nav", "y")) == 1


def test_back_skip_next_are_in_sight_under_the_text_with_62_labels_on_a_phone(measured):
    """62 labels at 360 px: back/skip/next sat under them, about 1,000 px below the text (scroll past
    every label to reach them). They are under the text now, in sight without scrolling, at one place
    on every task; the labels follow."""
    narrow = measured["narrow"][:-1]
    assert len(_same(narrow, "nav", "y")) == 1 and len(_same(narrow, "next", "y")) == 1
    for m in narrow:
        assert m["nav"]["y"] + m["nav"]["height"] <= HEIGHT, m["nav"]
        assert m["content"]["y"] < m["nav"]["y"] < m["label"]["y"]
    assert measured["narrow"][0]["last_label"]["y"] > HEIGHT  # the labels do not fit: the case it is about
    wide = measured["wide"][0]  # three labels: under the text, back/skip/next under them as before
    assert wide["content"]["y"] < wide["label"]["y"] < wide["nav"]["y"]


def test_the_header_is_one_height_whatever_its_counts_and_saved_message_say(measured):
    """"1 / 11" to "11 / 11" and "done · 11 of 11 answered", "0 labeled" to "10 labeled", "journal ready"
    to "✓ in the journal · 11 not in a version yet", a long annotator name: the header wrapped into more
    lines as they grew, moving everything under it. It is two lines, whatever they say."""
    for width in ("narrow", "wide"):
        seen = measured[width]
        assert len(_same(seen, "head", "height")) == 1, [m["head"] for m in seen]
        assert len(_same(seen, "content", "y")) == 1
