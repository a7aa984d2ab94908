"""The annotator's front end in a real headless browser (the system's Chromium, driven by
Playwright; no browser download).

The page loads the widget's ESM with a minimal model (get, set, on, save_changes) whose
``save_changes`` hands the command to the real Python widget in this process and draws the
view it answers with: a click or a key in Chromium goes through the same Python the
notebook runs, and the version saved afterwards holds exactly those answers. A screenshot
of the widget goes to the test's folder (``ANNOVER_SCREENSHOT=path`` also writes it there:
that is how ``docs/img/annotator.png`` is made).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import annover

widget = pytest.importorskip("annover.notebook.widget")
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def _chromium():
    """Chromium is needed; CI installs it (.ci/run), so there a missing one fails, elsewhere it skips."""
    if not Path(CHROMIUM).exists():
        (pytest.fail if os.environ.get("CI") else pytest.skip)("needs Chromium: apt-get install chromium")

SHIM = """
async ([esm, css, view]) => {
  const style = document.createElement("style");
  style.textContent = css;
  document.head.append(style);
  const state = { view, command: {} };
  const listeners = {};
  const model = {
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; },
    on: (ev, cb) => { (listeners[ev] = listeners[ev] || []).push(cb); },
    off: (ev, cb) => { listeners[ev] = (listeners[ev] || []).filter((f) => f !== cb); },
    save_changes: async () => {
      window.sent = (window.sent || 0) + 1;
      state.view = await window.pyCommand(state.command);
      (listeners["change:view"] || []).forEach((cb) => cb());
    },
  };
  const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
  const mod = await import(url);
  mod.default.render({ model, el: document.getElementById("root") });
}
"""


def _open(page, ann) -> None:
    def py_command(cmd: dict) -> dict:
        ann.command = cmd  # what a comm message from the front end does to the trait
        return ann.view

    page.expose_function("pyCommand", py_command)
    page.set_content('<html><body style="margin:16px;background:#fff"><div id="root"></div></body></html>')
    page.evaluate(SHIM, [(widget.STATIC / "annotator.js").read_text(), (widget.STATIC / "annotator.css").read_text(),
                         ann.view])
    page.wait_for_selector(".annover-annotator .annover-label")


def _settle(page, n: int) -> None:
    """Wait until the front end has sent ``n`` commands and drawn the answers."""
    page.wait_for_function(f"window.sent >= {n}")
    page.wait_for_timeout(50)


def test_clicks_and_keys_in_chromium_answer_and_the_version_holds_them(two_rounds, tmp_path):
    repo, _, _ = two_rounds
    ann = annover.annotate(repo, "v2", annotator="bob@example.com")
    keys = [t.key for t in ann.session.tasks]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 820, "height": 640}, device_scale_factor=1)
            _open(page, ann)
            assert page.inner_text(".annover-count") == f"1 / {len(keys)}"
            assert page.inner_text(".annover-label[data-label=negative] kbd") == "2"
            page.click(".annover-label[data-label=positive]")  # a click
            _settle(page, 1)
            assert ann.session.answers[keys[0]].labels == ("positive",)
            assert page.inner_text(".annover-count") == f"2 / {len(keys)}"
            page.keyboard.press("2")  # a key: the second label
            _settle(page, 2)
            assert ann.session.answers[keys[1]].labels == ("negative",)
            page.keyboard.press("s")  # skip
            _settle(page, 3)
            assert ann.session.answers[keys[2]].skipped
            page.keyboard.press("ArrowLeft")  # back to the skipped task
            _settle(page, 4)
            assert ann.session.position == 2 and page.inner_text(".annover-state") == "skipped"
            page.keyboard.press("3")  # answer it after all
            _settle(page, 5)
            page.keyboard.press("1")
            _settle(page, 6)
            page.keyboard.press("u")  # undo that last one
            _settle(page, 7)
            assert keys[3] not in ann.session.answers and ann.session.position == 3
            assert page.inner_text(".annover-stats") == "3 labeled · 0 skipped"
            assert "saved to journal" in page.inner_text(".annover-saved")
            assert page.locator(".annover-error").count() == 0
            page.mouse.move(0, 0)
            shot = tmp_path / "annotator.png"
            page.locator(".annover-annotator").screenshot(path=str(shot))
            assert shot.stat().st_size > 5000
            if os.environ.get("ANNOVER_SCREENSHOT"):
                shutil.copy(shot, os.environ["ANNOVER_SCREENSHOT"])
        finally:
            browser.close()
    res = ann.save(message="in the browser")
    got = {r["task_key"]: (r["labels"], r["was_cancelled"]) for r in res.answers.to_pylist()}
    assert got == {keys[0]: (["positive"], False), keys[1]: (["negative"], False), keys[2]: (["neutral"], False)}
    rows = repo.diff("v2", res.tag).rows.to_pylist()
    assert sorted((r["change"], r["task_key"], r["labels_b"]) for r in rows) == sorted(
        ("added", k, labs) for k, (labs, _) in got.items())
    journal = json.loads(ann.session.journal.read_text())
    assert journal["saved_version"] == res.version.id


def test_a_missing_image_is_a_placeholder_naming_the_path_in_chromium(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate(["photos/gone.png", "https://example.invalid/x.png"], labels=["cat", "dog"],
                          annotator="a@b.c")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            _open(page, ann)
            assert page.inner_text(".annover-missing") == "image not found: photos/gone.png"
            page.keyboard.press("2")
            _settle(page, 1)
            assert page.get_attribute(".annover-image", "src") == "https://example.invalid/x.png"
        finally:
            browser.close()
