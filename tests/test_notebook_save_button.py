"""The widget's own save button, in Chromium: Voilà (a notebook shown as a page) has no cell to
call ``ann.save(...)`` from, so answers given there could reach the journal and never a version.

The button makes the version ``save()`` makes, and says in the widget what came of it: the version,
that there was nothing new, or why there is none (no repository here). The cell run again with one
text more (another session) keeps the answers of the first that no save has put in a version."""

from __future__ import annotations

import pytest

import annover
from tests.test_notebook_browser import VOILA_WHO, _browser, _chromium, _count_is, _open, _settle  # noqa: F401
from tests.test_notebook_browser import voila  # noqa: F401 - the fixture

widget = pytest.importorskip("annover.notebook.widget")


def _saved_is(page, text: str) -> None:
    page.wait_for_function(f"document.querySelector('.annover-saved').innerText === {text!r}", timeout=120_000)


def test_voila_the_save_button_makes_a_version_holding_the_answers(voila):
    repo, url = voila
    keys = repo.load("v2", "tasks").column("task_key").to_pylist()
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 860, "height": 700})
        page.goto(url)
        page.wait_for_selector(".annover-annotator .annover-label", timeout=120_000)
        _count_is(page, f"1 / {len(keys)}")
        page.keyboard.press("2")
        _count_is(page, f"2 / {len(keys)}")
        page.keyboard.press("s")
        _count_is(page, f"3 / {len(keys)}")
        page.click(".annover-save")
        _saved_is(page, "✓ saved as v3")
        assert page.locator(".annover-error").count() == 0
        page.click(".annover-save")  # again, nothing new: said so, no version
        page.wait_for_selector(".annover-error", timeout=120_000)
        assert page.inner_text(".annover-error") == "nothing new to save: every answer is in v3"
    rows = {r["task_key"]: r for r in repo.load("v3", "annotations").to_pylist() if r["annotator"] == VOILA_WHO}
    assert set(rows) == {keys[0], keys[1]} and rows[keys[1]]["was_cancelled"]
    assert [v.message for v in repo.log()][:1] == [f"labeled in the notebook by {VOILA_WHO}"]
    assert repo.resolve("HEAD") == repo.resolve("v3")


def _key_then_save(browser, ann):
    """The widget in a page (the shim), key 1 pressed, then the save button clicked: the page."""
    page = browser.new_page()
    _open(page, ann)
    page.keyboard.press("1")
    _settle(page, 1)
    page.click(".annover-save")
    _settle(page, 2)
    return page


def test_the_save_button_without_a_repository_says_what_to_do_in_the_widget(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate(["great phone", "awful battery"], labels=["good", "bad"], annotator="a@b.c")
    with _browser() as browser:
        page = _key_then_save(browser, ann)
        page.wait_for_selector(".annover-error")
        assert "annover init" in page.inner_text(".annover-error")
        assert page.inner_text(".annover-saved") == "✓ in the journal · 1 not in a version yet"
    assert ann.session.answers[ann.session.tasks[0].key].labels == ("good",)


def test_the_save_button_with_labels_toggled_and_not_answered_holds_once(tmp_path, monkeypatch):
    """Multi-label: labels toggled and not answered are not an answer a save keeps; a click on save then
    would make a version without them, the widget saying saved. It is held once, the widget saying Enter
    answers; a second click saves without them."""
    monkeypatch.chdir(tmp_path)
    annover.init(".")
    ann = widget.annotate(["great phone", "awful battery"], labels=["good", "bad"], multiple=True, annotator="a@b.c")
    with _browser() as browser:
        page = _key_then_save(browser, ann)
        assert page.inner_text(".annover-error") == (
            "\u2068good\u2069 chosen, not answered — press Enter to answer the task, or save again to save "
            "without them")
        assert ann.result is None and page.inner_text(".annover-saved") == "journal ready"
        page.keyboard.press("Enter")
        _settle(page, 3)
        page.click(".annover-save")
        _settle(page, 4)
        page.wait_for_function("document.querySelector('.annover-saved').innerText === '✓ saved as v1'")
    assert ann.result.answers.column("labels").to_pylist() == [["good"]]


def test_one_text_more_keeps_the_answers_not_saved_yet(tmp_path, monkeypatch):
    """The cell run again with one text more is another session (other tasks): the answers given in
    the first and not saved were in its journal only, the new widget counting none and a save leaving
    them out. They are carried over, the widget saying so, and the save holds them."""
    monkeypatch.chdir(tmp_path)
    annover.init(".")
    texts = ["great phone", "awful battery", "fine screen", "slow charger"]
    first = widget.annotate(texts, labels=["good", "bad"], annotator="a@b.c")
    first.choose("good")
    first.choose("bad")
    first.skip()
    first.back()
    first.choose("bad")  # the skip replaced: the latest answer is carried
    again = widget.annotate([*texts, "loud speaker"], labels=["good", "bad"], annotator="a@b.c")
    assert again.progress == {"position": 3, "total": 5, "labeled": 3, "skipped": 0, "remaining": 2}
    assert again.view["error"] == ("3 answers of yours on these tasks carried over from an earlier session "
                                   "(other tasks or labels), not in a version yet")
    again.choose("good")
    res = again.save(message="all of them")
    got = {r["task_key"]: r["labels"] for r in res.answers.to_pylist()}
    keys = [t.key for t in again.session.tasks]
    assert got == {keys[0]: ["good"], keys[1]: ["bad"], keys[2]: ["bad"], keys[3]: ["good"]}
    # a third session over the same tasks carries nothing: every answer is in the version
    third = widget.annotate([*texts, "loud speaker", "thin case"], labels=["good", "bad"], annotator="a@b.c")
    assert third.progress["labeled"] == 0 and third.view["error"] is None
