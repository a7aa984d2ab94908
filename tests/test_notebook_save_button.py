"""The widget's own save button, in Chromium: Voilà (a notebook shown as a page) has no cell to
call ``ann.save(...)`` from, so answers given there could reach the journal and never a version.

The button makes the version ``save()`` makes, and says in the widget what came of it: the version,
that there was nothing new, or why there is none (no repository here)."""

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


def test_the_save_button_without_a_repository_says_what_to_do_in_the_widget(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate(["great phone", "awful battery"], labels=["good", "bad"], annotator="a@b.c")
    with _browser() as browser:
        page = browser.new_page()
        _open(page, ann)
        page.keyboard.press("1")
        _settle(page, 1)
        page.click(".annover-save")
        _settle(page, 2)
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
        page = browser.new_page()
        _open(page, ann)
        page.keyboard.press("1")
        _settle(page, 1)
        page.click(".annover-save")
        _settle(page, 2)
        assert page.inner_text(".annover-error") == (
            "good chosen, not answered — press Enter to answer the task, or save again to save without them")
        assert ann.result is None and page.inner_text(".annover-saved") == "journal ready"
        page.keyboard.press("Enter")
        _settle(page, 3)
        page.click(".annover-save")
        _settle(page, 4)
        page.wait_for_function("document.querySelector('.annover-saved').innerText === '✓ saved as v1'")
    assert ann.result.answers.column("labels").to_pylist() == [["good"]]
