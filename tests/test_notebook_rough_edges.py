"""Rough edges of the notebook annotator as a person sees them (6 December), each reproduced in
Debian's headless Chromium first: multi-label toggles not answered yet read as "not answered", and the
counter past the last task read "3 / 3" (as if on the last task)."""

from __future__ import annotations

from pathlib import Path

import pytest

import annover

widget = pytest.importorskip("annover.notebook.widget")

CORPUS = Path("/work/shared/corpus/label-studio")
CHAT = CORPUS / "multiturn_chat_choices.json"
PENDING = "press Enter (⏎ submit) to answer with them"


@pytest.fixture
def chat_repo(tmp_path):
    """The corpus's multi-turn chat export (Paragraphs of {role, content} messages, multi-label
    Choices per turn) as a version."""
    if not CHAT.exists():
        pytest.skip("the shared corpus is not here")
    repo = annover.init(tmp_path / "repo")
    repo.snapshot(str(CHAT), config=str(CHAT.with_suffix(".xml")), message="chats")
    return repo


# ---------------------------------------------------------------------------- the view (no browser)


def test_the_view_says_which_toggled_labels_are_not_answered_yet(tmp_path, monkeypatch):
    """Multi-label: ``pending`` is the selection while it differs from what the task starts with (its
    answer, else the model's): what Enter answers with; [] when every label was toggled off."""
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate(["one", "two"], labels=["cat", "dog", "bird"], multiple=True, annotator="a@b.c")
    assert ann.view["pending"] is None
    ann._apply({"action": "choose", "label": "bird"})
    ann._apply({"action": "choose", "label": "cat"})
    assert ann.view["pending"] == ["cat", "bird"]
    ann._apply({"action": "submit"})
    assert ann.view["pending"] is None and ann.session.position == 1
    ann._apply({"action": "back"})  # its answer pre-selected: nothing pending
    assert ann.view["pending"] is None and ann.session.selection == ["cat", "bird"]
    ann._apply({"action": "choose", "label": "cat"})
    assert ann.view["pending"] == ["bird"]
    ann._apply({"action": "choose", "label": "bird"})
    assert ann.view["pending"] == []
    ann._apply({"action": "forward"})  # nothing chosen: a move keeps the answer, at once
    assert ann.session.position == 1 and ann.view["pending"] is None
    assert ann.session.answers[ann.session.tasks[0].key].labels == ("cat", "bird")

    from annover.notebook.session import Prediction, Session, Task
    tasks = [Task("t0", {"text": "0"}, "text", prediction=Prediction(("dog",), "m1", 0.8))]
    pre = widget.Annotator(Session(tasks, ["cat", "dog"], "a@b.c", "label", "text", True, None))
    assert pre.view["pending"] is None  # the model's pre-selection, untouched
    pre._apply({"action": "choose", "label": "cat"})
    assert pre.view["pending"] == ["cat", "dog"]
    single = widget.annotate(["x"], labels=["cat", "dog"], annotator="a@b.c")
    assert single.view["pending"] is None


# ---------------------------------------------------------------------------- in Chromium

sync_api = pytest.importorskip("playwright.sync_api")

from tests.test_audit_dec6_notebook import _open, _render, _settle  # noqa: E402 - the page and its shim
from tests.test_notebook_browser import _browser, _chromium  # noqa: E402,F401 - the browser


@pytest.fixture
def browser():
    with _browser() as b:
        yield b


STATE = "document.querySelector('.annover-state').innerText"


def test_toggled_labels_not_answered_yet_say_so_and_what_answers(chat_repo, browser, tmp_path):
    """The corpus's multi-turn chats, the turn's intent (multi-label): with "Product Inquiry" and
    "Return/Exchange Inquiry" toggled (blue) the status line said "not answered", as with nothing
    toggled: nothing told the toggles were there and not kept. It names them now and says Enter
    (the ⏎ submit button) answers with them; on an answered task, that they are not kept yet."""
    ann = annover.annotate(chat_repo, "HEAD", control="turn1_user_intent", annotator="a@example.com")
    s = ann.session
    page = _open(browser, ann)
    _render(page, ann)
    assert page.inner_text(".annover-state") == "not answered"
    for n, key in enumerate(["1", "3"], 1):
        page.keyboard.press(key)
        _settle(page, n)
    assert page.inner_text(".annover-state") == (
        f"Product Inquiry, Return/Exchange Inquiry chosen, not answered yet — {PENDING}")
    assert page.locator(".annover-state.pending").count() == 1
    page.screenshot(path=str(tmp_path / "pending.png"))
    page.keyboard.press("Enter")
    _settle(page, 3)
    assert s.answers[s.tasks[0].key].labels == ("Product Inquiry", "Return/Exchange Inquiry")
    assert page.inner_text(".annover-state") == "not answered" and page.locator(".annover-state.pending").count() == 0
    page.keyboard.press("ArrowLeft")
    _settle(page, 4)
    answered = "answered: Product Inquiry, Return/Exchange Inquiry"
    assert page.inner_text(".annover-state") == answered
    page.keyboard.press("3")
    _settle(page, 5)
    assert page.inner_text(".annover-state") == f"{answered} · Product Inquiry chosen, not kept yet — {PENDING}"
    page.keyboard.press("1")
    _settle(page, 6)
    nothing = "nothing chosen — toggle a label, then Enter (⏎ submit)"
    assert page.inner_text(".annover-state") == f"{answered} · {nothing}"
    page.keyboard.press("2")
    page.click(".annover-submit")  # the button does what Enter does
    _settle(page, 8)
    assert s.answers[s.tasks[0].key].labels == ("Order Status",) and s.position == 1


def test_past_the_last_task_the_counter_says_so(tmp_path, monkeypatch, browser):
    """Past the last task the counter read "3 / 3", as on the last task, over the message that
    says tasks are left or all are answered. It reads "past the end · 2 of 3 answered", then
    "done · 3 of 3 answered" (a skip is an answer, as in the message under it)."""
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate(["one", "two", "three"], labels=["yes", "no"], annotator="a@b.c")
    page = _open(browser, ann)
    _render(page, ann)
    for n, key in enumerate(["1", "ArrowRight", "s"], 1):
        page.keyboard.press(key)
        _settle(page, n)
    assert ann.session.position == 3
    assert page.inner_text(".annover-count") == "past the end · 2 of 3 answered"
    assert page.inner_text(".annover-done").startswith("1 of 3 tasks not answered yet.")
    page.keyboard.press("ArrowRight")  # to the one left
    _settle(page, 4)
    assert page.inner_text(".annover-count") == "2 / 3"
    page.keyboard.press("2")
    _settle(page, 5)
    assert page.inner_text(".annover-count") == "3 / 3"  # the last task (skipped): on it, as before
    page.keyboard.press("ArrowRight")
    _settle(page, 6)
    assert page.inner_text(".annover-count") == "done · 3 of 3 answered"
    assert page.inner_text(".annover-done").startswith("All 3 tasks answered.")
    page.screenshot(path=str(tmp_path / "done.png"))
