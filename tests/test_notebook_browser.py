"""The annotator's front end in a real headless browser (the system's Chromium, driven by
Playwright; no browser download).

The page loads the widget's ESM with a minimal model (get, set, on, save_changes) whose
``save_changes`` hands the command to the real Python widget in this process and draws the
view it answers with: a click or a key in Chromium goes through the same Python the
notebook runs, and the version saved afterwards holds exactly those answers. A screenshot
of the widget goes to the test's folder (``ANNOVER_SCREENSHOT=path`` also writes it there:
that is how ``docs/img/annotator.png`` is made).

The last test runs the notebook itself in Voilà on 127.0.0.1: a real kernel, anywidget's own
front end and comm, in the same Chromium.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

import pytest

import annover
from tests.test_notebook import Wire

widget = pytest.importorskip("annover.notebook.widget")
sync_api = pytest.importorskip("playwright.sync_api")

#: ``ANNOVER_SCREENSHOT=PATH`` (relative to the folder pytest starts in: the fixtures change folder)
SCREENSHOT = Path(os.environ["ANNOVER_SCREENSHOT"]).resolve() if os.environ.get("ANNOVER_SCREENSHOT") else None

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: a 1x1 PNG
PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")


@pytest.fixture(autouse=True)
def _chromium():
    """Chromium is needed; CI installs it (.ci/run), so there a missing one fails, elsewhere it skips."""
    if not Path(CHROMIUM).exists():
        (pytest.fail if os.environ.get("CI") else pytest.skip)("needs Chromium: apt-get install chromium")

@contextlib.contextmanager
def _browser():
    """Headless Chromium (Playwright driving the Debian package's binary), closed after."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


SHIM = """
async ([esm, css, view, tall]) => {
  const style = document.createElement("style");
  style.textContent = css;
  document.head.append(style);
  const state = { view, command: {}, tall: tall || [] };
  const listeners = {};
  const model = {
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; },
    on: (ev, cb) => { (listeners[ev] = listeners[ev] || []).push(cb); },
    off: (ev, cb) => { listeners[ev] = (listeners[ev] || []).filter((f) => f !== cb); },
    save_changes: async () => {
      window.sent = (window.sent || 0) + 1;  // clicks and keys
      state.view = await window.pyCommand(state.command);
      (listeners["change:view"] || []).forEach((cb) => cb());
    },
    send: async (content) => {  // a custom message (a command, or an image the page asks for): to the widget
      if (content.action === "image") window.asked = (window.asked || 0) + 1;
      else if (!(window.seen = window.seen || new Set()).has(`${content.page} ${content.seq}`)) {
        window.seen.add(`${content.page} ${content.seq}`);
        window.sent = (window.sent || 0) + 1;  // clicks and keys (a command sent again: window.resent)
      } else window.resent = (window.resent || 0) + 1;
      // a page that hands over commands only: as one (an image asked with a seq of its own, so twice is a change)
      state.view = await (window.pyMessage ? window.pyMessage(content) : window.pyCommand(
        content.action === "image" ? { ...content, seq: `asked-${window.asked}` } : content));
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

    def py_message(content: dict) -> dict:
        ann._handle_custom_msg(content, [])  # what a custom comm message from the front end does
        return ann.view

    page.expose_function("pyCommand", py_command)
    page.expose_function("pyMessage", py_message)
    page.set_content('<html><body style="margin:16px;background:#fff"><div id="root"></div></body></html>')
    page.evaluate(SHIM, [(widget.STATIC / "annotator.js").read_text(), (widget.STATIC / "annotator.css").read_text(),
                         ann.view, ann.tall])
    page.wait_for_selector(".annover-annotator .annover-label")


def _settle(page, n: int) -> None:
    """Wait until the front end has sent ``n`` commands and drawn the answers."""
    page.wait_for_function(f"window.sent >= {n}")
    page.wait_for_timeout(50)


def test_clicks_and_keys_in_chromium_answer_and_the_version_holds_them(two_rounds, tmp_path):
    repo, _, _ = two_rounds
    ann = annover.annotate(repo, "v2", annotator="bob@example.com")
    keys = [t.key for t in ann.session.tasks]
    with _browser() as browser:
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
        assert page.inner_text(".annover-saved") == "✓ in the journal · 3 not in a version yet"
        assert page.locator(".annover-error").count() == 0
        page.mouse.move(0, 0)
        shot = tmp_path / "annotator.png"
        page.locator(".annover-annotator").screenshot(path=str(shot))
        assert shot.stat().st_size > 5000
        if SCREENSHOT is not None:
            shutil.copy(shot, SCREENSHOT)
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
    with _browser() as browser:
        page = browser.new_page()
        page.route("https://example.invalid/x.png", lambda route: route.fulfill(
            body=base64.b64decode(PNG_1PX), content_type="image/png"))  # the URL loads, offline
        _open(page, ann)
        assert page.inner_text(".annover-missing") == "image not found: photos/gone.png"
        page.keyboard.press("2")
        _settle(page, 1)
        assert page.get_attribute(".annover-image", "src") == "https://example.invalid/x.png"


def test_an_image_the_browser_cannot_decode_is_a_placeholder_too(tmp_path, monkeypatch):
    """A file named as an image that is not one (or a URL that does not load) is inlined, and the
    browser fails to draw it: the placeholder naming it, not a broken-image icon."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.png").write_text("not a png")
    ann = widget.annotate(["broken.png"], labels=["cat", "dog"], annotator="a@b.c")
    assert ann.view["task"]["load"] == ann.session.tasks[0].key  # the page asks for it
    with _browser() as browser:
        page = browser.new_page()
        _open(page, ann)
        page.wait_for_selector(".annover-missing", timeout=10_000)
        assert page.inner_text(".annover-missing") == "image cannot be shown: broken.png"
        assert page.locator(".annover-image").count() == 0


IMAGE_SHOWN = """() => { const i = document.querySelector('.annover-image');
  return i && i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.alt] : null; }"""


def test_large_images_go_to_the_page_once_each_and_the_next_one_ahead(tmp_path, monkeypatch):
    """Three 5 MB photos, labeled with clicks and keys in Chromium, going back and forth: every
    command re-sent the shown photo (6.8 MB of base64 per click, 14 clicks: 95 MB). Now the page
    asks for each photo once (binary, its file's size), the next one while this one is labeled,
    and shows one it has without asking again."""
    Image = pytest.importorskip("PIL.Image")
    monkeypatch.chdir(tmp_path)
    names = [f"photo{i}.png" for i in range(3)]
    for i, name in enumerate(names):
        Image.frombytes("RGB", (1300, 1300), random.Random(i).randbytes(1300 * 1300 * 3)).save(name)
    size = sum((tmp_path / n).stat().st_size for n in names)
    assert size > 15_000_000
    ann = widget.annotate(names, labels=["cat", "dog", "bird"], multiple=True, annotator="a@b.c")
    ann.comm = wire = Wire()
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 820, "height": 760}, device_scale_factor=1)
        _open(page, ann)
        assert page.wait_for_function(IMAGE_SHOWN, timeout=30_000).json_value() == [1300, names[0]]
        for _ in range(100):  # photo0, then photo1 ahead
            if sum(b > 1_000_000 for _, b in wire.sent) >= 2:
                break
            page.wait_for_timeout(100)
        n = 0
        for key in ["1", "3", "1", "Enter", "ArrowLeft", "ArrowRight", "2", "Enter", "ArrowLeft",
                    "ArrowLeft", "ArrowRight", "ArrowRight", "2", "Enter"]:
            page.keyboard.press(key)
            n += 1
            _settle(page, n)
            if ann.session.current is not None:
                page.wait_for_function(f"(() => {{ const r = ({IMAGE_SHOWN})(); return r && r[1] === "
                                       f"{ann.session.current.value!r}; }})", timeout=30_000)
            if n == 13:
                page.mouse.move(0, 0)
                page.locator(".annover-annotator").screenshot(path=str(tmp_path / "photos.png"))
        assert {k: a.labels for k, a in ann.session.answers.items()} == {
            t.key: labs for t, labs in zip(ann.session.tasks, [("bird",), ("dog",), ("dog",)])}
        asked = page.evaluate("window.asked")
    big = [b for _, b in wire.sent if b > 1_000_000]
    assert len(big) == 3 and sum(big) == size, f"{len(wire.sent)} messages, {sum(map(sum, wire.sent)):,} bytes"
    assert sum(j for j, _ in wire.sent) + sum(b for _, b in wire.sent if b <= 1_000_000) < 60_000
    assert asked == 3


def test_a_long_word_in_a_text_or_a_label_wraps_inside_the_widget(tmp_path, monkeypatch):
    """A text with no space (a URL, a hash, a sequence) and a long label name wrap: nothing needs
    a sideways scroll and no button sticks out of the widget's frame."""
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate(["x" * 3000], labels=["L" * 150, "short"], annotator="a@b.c")
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 820, "height": 640})
        _open(page, ann)
        got = page.evaluate("""() => {
          const box = document.querySelector('.annover-annotator'), text = document.querySelector('.annover-text');
          const right = box.getBoundingClientRect().right;
          return {box: box.scrollWidth - box.clientWidth, text: text.scrollWidth - text.clientWidth,
                  out: [...box.querySelectorAll('button')].filter((b) => b.getBoundingClientRect().right > right).length};
        }""")
        assert got == {"box": 0, "text": 0, "out": 0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _voila(root: Path, source: str, log_path: Path):
    """Voilà on 127.0.0.1 serving a one-cell notebook (``source``) in ``root``: its URL."""
    exe = Path(sys.executable).with_name("voila")
    if not exe.exists():
        pytest.skip("voila is not installed: pip install -e '.[test]'")
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (root / "label.ipynb").write_text(json.dumps(nb))
    port = _free_port()
    log = open(log_path, "wb")
    proc = subprocess.Popen([str(exe), "label.ipynb", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
                            cwd=root, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                pytest.fail(f"voila exited: {log_path.read_text()[-2000:]}")
            try:  # a static file says the server is up; the page itself runs the notebook in a new kernel
                # each time: on a busy machine each 1-second probe of it timed out and left one more
                # kernel running (nearly 200 of them, 20 GB, before the page answered within a second)
                if httpx.get(f"{url}voila/static/voila.js", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def voila(two_rounds, tmp_path):
    """Voilà serving a notebook that opens the annotator on v2 (a real kernel, anywidget's own front end)."""
    repo, _, _ = two_rounds
    source = f"import annover\nann = annover.annotate(annover.Repo('.'), 'v2', annotator={VOILA_WHO!r})\nann"
    with _voila(repo.root, source, tmp_path / "voila.log") as url:
        yield repo, url


VOILA_WHO = "voila@example.com"


def _count_is(page, text: str) -> None:
    page.wait_for_function(f"document.querySelector('.annover-count').innerText === {text!r}", timeout=60_000)


def test_voila_clicks_keys_skip_back_then_the_saved_version_holds_them(voila, tmp_path):
    """Voilà on 127.0.0.1, headless Chromium: clicks and keys go through a real kernel's widget
    into its journal; the session resumed here saves exactly those answers."""
    repo, url = voila
    keys = repo.load("v2", "tasks").column("task_key").to_pylist()
    n = len(keys)
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 860, "height": 600})
        page.goto(url)
        page.wait_for_selector(".annover-annotator .annover-label", timeout=120_000)
        _count_is(page, f"1 / {n}")
        page.click(".annover-label[data-label=negative]")
        _count_is(page, f"2 / {n}")
        page.keyboard.press("1")
        _count_is(page, f"3 / {n}")
        page.keyboard.press("s")
        _count_is(page, f"4 / {n}")
        page.keyboard.press("ArrowLeft")
        _count_is(page, f"3 / {n}")
        page.wait_for_function("document.querySelector('.annover-state').innerText === 'skipped'")
        page.keyboard.press("3")
        _count_is(page, f"4 / {n}")
        page.wait_for_function("document.querySelector('.annover-stats').innerText === '3 labeled · 0 skipped'")
        page.locator(".annover-annotator").screenshot(path=str(tmp_path / "voila.png"))
    # the kernel is gone with Voilà; the same call here resumes the session from its journal
    ann = annover.annotate(repo, "v2", annotator=VOILA_WHO)
    assert ann.session.position == 3
    res = ann.save(message="labeled in Voilà")
    expected = {keys[0]: ["negative"], keys[1]: ["positive"], keys[2]: ["neutral"]}
    assert {r["task_key"]: r["labels"] for r in res.answers.to_pylist()} == expected
    rows = repo.diff("v2", res.tag).rows.to_pylist()
    assert sorted((r["change"], r["task_key"], r["answer_key"], r["labels_b"]) for r in rows) == sorted(
        ("added", k, f"{VOILA_WHO}#0", labs) for k, labs in expected.items())


def test_past_the_end_with_nothing_answered_says_so_and_shift_keys_answer(tmp_path, monkeypatch):
    """→ past the last task with none answered: the widget says how many are left, not "all
    answered"; a label key with Shift (or Caps Lock) answers as the key itself does; text is
    laid out in its own direction; a label past the 33rd has no key and shows no empty key box."""
    monkeypatch.chdir(tmp_path)
    ann = annover.annotate(["great phone", "بطارية سيئة", "ok"], labels=["positive", "negative"])
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 820, "height": 640}, device_scale_factor=1)
        _open(page, ann)
        assert page.get_attribute(".annover-text", "dir") == "auto"
        for n in range(1, 4):
            page.keyboard.press("ArrowRight")
            _settle(page, n)
        done = page.inner_text(".annover-done")
        assert "3 of 3 tasks not answered yet" in done and "All" not in done, done
        for n in range(4, 7):
            page.keyboard.press("ArrowLeft")
            _settle(page, n)
        assert ann.session.position == 0 and not ann.session.answers
        labels = annover.annotate(["a", "b"], labels=[f"l{i}" for i in range(11)])  # keys 1-9, then a, b
        _open(page2 := browser.new_page(), labels)
        page2.keyboard.press("Shift+A")  # "A": label l9, as "a"
        page2.wait_for_function("window.sent >= 1")
        assert labels.session.answers[labels.session.tasks[0].key].labels == ("l9",)
        many = annover.annotate(["a"], labels=[f"l{i}" for i in range(40)])  # keys for the first 33 only
        _open(page3 := browser.new_page(), many)
        assert page3.inner_text(".annover-label[data-label=l32] kbd") == "z"
        assert page3.locator(".annover-label[data-label=l33] kbd").count() == 0  # no empty key box
        assert page3.get_attribute(".annover-label[data-label=l33]", "title") == "no key: / finds it, or click it"


def test_enter_in_single_choice_accepts_the_suggestion_in_chromium(two_rounds, tmp_path, monkeypatch):
    """Enter did nothing in single choice, so a pre-selected suggestion took a click or its label's
    key; now Enter accepts it (or the task's own answer). With nothing pre-selected, Enter sends
    nothing (the next key's command is the first one the widget sends)."""
    repo, _, _ = two_rounds
    ann = annover.annotate(repo, "v2", annotator="carol@example.com")  # every task of v2 has a prediction
    s = ann.session
    first, second = s.tasks[0], s.tasks[1]
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 820, "height": 640}, device_scale_factor=1)
        _open(page, ann)
        assert page.get_attribute(".annover-label.selected", "data-label") == first.prediction.labels[0]
        page.keyboard.press("Enter")  # the model's suggestion, accepted
        _settle(page, 1)
        assert s.answers[first.key].labels == first.prediction.labels and s.position == 1
        page.keyboard.press("Enter")
        _settle(page, 2)
        assert s.answers[second.key].labels == second.prediction.labels and s.position == 2
        page.keyboard.press("ArrowLeft")
        _settle(page, 3)
        other = next(lab for lab in s.labels if lab not in second.prediction.labels)
        page.click(f".annover-label[data-label={other}]")  # changed, then back to it
        page.keyboard.press("ArrowLeft")
        _settle(page, 5)
        page.keyboard.press("Enter")  # its own answer, not the suggestion
        _settle(page, 6)
        assert s.answers[second.key].labels == (other,) and s.position == 2
        assert page.locator(".annover-error").count() == 0
        monkeypatch.chdir(tmp_path)
        bare = annover.annotate(["a", "b"], labels=["yes", "no"])  # new items: nothing pre-selected
        _open(page2 := browser.new_page(), bare)
        page2.keyboard.press("Enter")  # nothing sent
        page2.keyboard.press("s")
        page2.wait_for_function("document.querySelector('.annover-count').textContent === '2 / 2'")
        assert page2.evaluate("window.sent") == 1 and bare.session.answers[bare.session.tasks[0].key].skipped
        assert page2.locator(".annover-error").count() == 0


def test_voila_shows_large_photos_sent_as_bytes_over_the_kernels_comm(tmp_path):
    """The photos go over a real kernel's comm as binary buffers (anywidget's front end gets them
    as bytes, drawn from a blob URL); each is drawn, the next one fetched ahead, back shows it again."""
    Image = pytest.importorskip("PIL.Image")
    for i in range(2):
        Image.frombytes("RGB", (1300, 900), random.Random(i).randbytes(1300 * 900 * 3)).save(tmp_path / f"p{i}.png")
    source = ("import annover\nann = annover.annotate(['p0.png', 'p1.png'], labels=['cat', 'dog'], "
              f"annotator={VOILA_WHO!r}, journal='journal.json')\nann")
    with _voila(tmp_path, source, tmp_path / "voila.log") as url:
        with _browser() as browser:
            page = browser.new_page(viewport={"width": 860, "height": 760})
            page.goto(url)
            shown = lambda name: page.wait_for_function(  # noqa: E731
                f"(() => {{ const r = ({IMAGE_SHOWN})(); return r && r[1] === {name!r} ? r : null; }})",
                timeout=120_000, polling=100).json_value()
            count = lambda text: page.wait_for_function(  # noqa: E731
                f"document.querySelector('.annover-count').innerText === {text!r}", timeout=60_000, polling=100)
            assert shown("p0.png") == [1300, "p0.png"]
            assert page.get_attribute(".annover-image", "src").startswith("blob:")
            page.click(".annover-content")  # a person clicks too; keys without a click: test_audit_dec6_notebook
            page.keyboard.press("2")
            count("2 / 2")
            assert shown("p1.png") == [1300, "p1.png"]
            page.keyboard.press("ArrowLeft")
            count("1 / 2")
            assert shown("p0.png") == [1300, "p0.png"]
            page.mouse.move(0, 0)
            page.locator(".annover-annotator").screenshot(path=str(tmp_path / "voila-photo.png"))
    answers = json.loads((tmp_path / "journal.json").read_text())["answers"]
    assert [a["labels"] for a in answers.values()] == [["dog"]]


def test_a_task_answered_before_says_so_and_a_new_answer_replaces_it_in_chromium(two_rounds, tmp_path):
    """Alice's Label Studio answer on rev-006 is shown and pre-selected; her key press replaces it
    (the page says so), and the saved version holds one annotation by her on the task."""
    repo, _, _ = two_rounds
    alice = "alice@example.com"
    ann = annover.annotate(repo, "v2", only=["rev-006", "rev-007"], annotator=alice)
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 820, "height": 520}, device_scale_factor=1)
        _open(page, ann)
        assert page.inner_text(".annover-state") == "answered before: positive · a new answer replaces it"
        assert page.get_attribute(".annover-label[data-label=positive]", "class") == "annover-label selected"
        page.mouse.move(0, 0)
        page.locator(".annover-annotator").screenshot(path=str(tmp_path / "before.png"))
        page.keyboard.press("2")
        _settle(page, 1)
        page.keyboard.press("ArrowLeft")
        _settle(page, 2)
        assert page.inner_text(".annover-state") == "answered: negative · replaces your earlier positive"
        page.locator(".annover-annotator").screenshot(path=str(tmp_path / "replaced.png"))
    res = ann.save(message="alice again")
    mine = {r["annotation_key"] for r in repo.load(res.tag).to_pylist()
            if r["task_key"] == "rev-006" and r["annotator"] == alice}
    assert mine == {f"{alice}#0"}
    assert [r["labels"] for r in res.answers.to_pylist() if r["from_name"] == "sentiment"] == [["negative"]]


def _stats_become(page, text: str, timeout_ms: int = 30_000) -> str:
    """The head's counts once they read ``text``, or what they read after ``timeout_ms``."""
    try:
        page.wait_for_function(f"document.querySelector('.annover-stats').innerText === {text!r}",
                               timeout=timeout_ms, polling=100)
    except sync_api.TimeoutError:
        pass
    return page.inner_text(".annover-stats")


def test_voila_keys_pressed_faster_than_the_kernel_answers_each_land_once(voila, tmp_path):
    """ipywidgets keeps one state message in flight and merges a trait set meanwhile into one waiting
    message: a key's ``command`` set while another was waiting replaced it, so of keys pressed faster
    than the kernel answered, answers were lost while the count went on (of ten keys, three landed;
    two keys alone land, one in flight and one waiting; of three, the second was lost). Two keys,
    three, then ten, pressed with no wait in Voilà (a real kernel, ipywidgets' and anywidget's own
    front end): every answer lands once, in order, and the saved version holds all fifteen."""
    repo, url = voila
    keys = repo.load("v2", "tasks").column("task_key").to_pylist()
    presses = ["1", "2"] + ["3", "1", "2"] + ["3", "1", "2", "3", "1", "2", "3", "1", "2", "3"]
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 860, "height": 600})
        page.goto(url)
        page.wait_for_selector(".annover-annotator .annover-label", timeout=120_000)
        _count_is(page, f"1 / {len(keys)}")
        page.click(".annover-content")  # a person clicks too; keys without a click: test_audit_dec6_notebook
        for start, end in [(0, 2), (2, 5), (5, 15)]:  # two keys, three, then ten, each with no wait
            for key in presses[start:end]:
                page.keyboard.press(key)
            assert _stats_become(page, f"{end} labeled · 0 skipped") == f"{end} labeled · 0 skipped"
        _count_is(page, f"16 / {len(keys)}")
        page.mouse.move(0, 0)
        page.locator(".annover-annotator").screenshot(path=str(tmp_path / "voila-fast.png"))
    ann = annover.annotate(repo, "v2", annotator=VOILA_WHO)  # resumed from the kernel's journal
    labels = {"1": "positive", "2": "negative", "3": "neutral"}
    expected = {k: [labels[key]] for k, key in zip(keys, presses)}
    assert ann.session.position == 15
    res = ann.save(message="fifteen keys in a row")
    assert {r["task_key"]: r["labels"] for r in res.answers.to_pylist()} == expected
    mine = [(r["task_key"], r["labels"]) for r in repo.load(res.tag).to_pylist()
            if r["annotator"] == VOILA_WHO and r["from_name"] == "sentiment"]
    assert sorted(mine) == sorted(expected.items())  # one annotation per task, none twice


#: a model that sends as ipywidgets' WidgetModel does: a state change (save_changes) goes at once when
#: none is in flight, else waits, merged into one message (a later value of a trait replaces the
#: earlier), until the kernel has answered the one in flight; a custom message (send) goes at once.
#: The first ``drop`` commands sent as custom messages are lost on the way to the kernel, the first
#: ``lose`` views answering one on the way back (a dropped connection).
IPYWIDGETS_SHIM = """
async ([esm, css, view, drop, lose, custom]) => {
  const style = document.createElement("style");
  style.textContent = css;
  document.head.append(style);
  const state = { view, command: {} };
  const listeners = {};
  const seen = new Set();
  let inflight = false, waiting = null;
  Object.assign(window, { sent: 0, resent: 0, dropped: 0, lost: 0 });
  const answer = (v) => { state.view = v; (listeners["change:view"] || []).forEach((cb) => cb()); };
  const sync = async (diff) => {
    if (inflight) { waiting = { ...(waiting || {}), ...diff }; return; }
    inflight = true;
    answer(await window.pyCommand(diff.command));
    inflight = false;  // the kernel's idle for it
    if (waiting) { const next = waiting; waiting = null; sync(next); }
  };
  const model = {
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; },
    on: (ev, cb) => { (listeners[ev] = listeners[ev] || []).push(cb); },
    off: (ev, cb) => { listeners[ev] = (listeners[ev] || []).filter((f) => f !== cb); },
    save_changes: () => { window.sent += 1; sync({ command: state.command }); },
    send: async (content) => {
      if (content.action !== "image") {
        const id = `${content.page} ${content.seq}`;
        if (seen.has(id)) window.resent += 1; else { seen.add(id); window.sent += 1; }
        if (window.dropped < drop) { window.dropped += 1; return; }
      }
      const v = await window.pyMessage(content);
      if (content.action !== "image" && window.lost < lose) window.lost += 1;
      else answer(v);
    },
  };
  if (!custom) delete model.send;  // a model without custom messages: commands as the trait
  const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
  const mod = await import(url);
  mod.default.render({ model, el: document.getElementById("root") });
}
"""


#: keys pressed in one go, each a keydown on the widget, none waiting for the kernel's answer
PRESS_ALL = """(keys) => { const box = document.querySelector('.annover-annotator');
  for (const key of keys) box.dispatchEvent(new KeyboardEvent('keydown', {key, code: `Digit${key}`, bubbles: true,
    cancelable: true})); }"""


def _open_ipywidgets(page, ann, drop: int = 0, lose: int = 0, custom: bool = True) -> None:
    def py_command(cmd: dict) -> dict:
        ann.command = cmd
        return ann.view

    def py_message(content: dict) -> dict:
        ann._handle_custom_msg(content, [])
        return ann.view

    page.expose_function("pyCommand", py_command)
    page.expose_function("pyMessage", py_message)
    page.set_content('<html><body style="margin:16px;background:#fff"><div id="root"></div></body></html>')
    page.evaluate(IPYWIDGETS_SHIM, [(widget.STATIC / "annotator.js").read_text(),
                                    (widget.STATIC / "annotator.css").read_text(), ann.view, drop, lose, custom])
    page.wait_for_selector(".annover-annotator .annover-label")


def test_keys_faster_than_the_kernel_and_lost_messages_each_answer_once_in_chromium(tmp_path, monkeypatch):
    """On a model that sends as ipywidgets does, two keys then ten pressed with no wait: the
    commands set as a trait while one was in flight replaced each other (of the ten, one landed).
    As custom messages each lands. The first two lost on the way to the kernel are sent again after
    the timeout; with the views answering them lost on the way back, the page sends them again too
    and the kernel, which has applied them, only acknowledges them: none is applied twice."""
    monkeypatch.chdir(tmp_path)
    texts = [f"text {i}" for i in range(14)]
    presses = ["1", "2"] + ["3", "1", "2", "3", "1", "2", "3", "1", "2", "3"]
    names = {"1": "yes", "2": "no", "3": "maybe"}
    with _browser() as browser:
        for drop, lose in [(0, 0), (2, 0), (0, 2)]:
            ann = widget.annotate(texts, labels=["yes", "no", "maybe"], annotator=f"d{drop}{lose}@b.c")
            page = browser.new_page(viewport={"width": 820, "height": 640}, device_scale_factor=1)
            _open_ipywidgets(page, ann, drop=drop, lose=lose)
            page.evaluate(PRESS_ALL, presses[:2])  # two keydowns in one go: no answer between them
            page.wait_for_function("document.querySelector('.annover-stats').innerText === '2 labeled · 0 skipped'",
                                   timeout=15_000)
            page.evaluate(PRESS_ALL, presses[2:])
            page.wait_for_function(
                "document.querySelector('.annover-stats').innerText === '12 labeled · 0 skipped'",
                timeout=15_000 if drop or lose else 5_000)
            page.wait_for_timeout(300)
            s = ann.session
            assert {k: a.labels for k, a in s.answers.items()} == {
                t.key: (names[key],) for t, key in zip(s.tasks, presses)}
            assert s.position == 12 and page.evaluate("window.sent") == 12
            assert page.evaluate("[window.dropped, window.lost]") == [drop, lose]
            assert page.evaluate("window.resent") == drop + lose  # the two sent again, once
            journal = s.journal.read_bytes()
            page.wait_for_timeout(3500)  # past the timeout: nothing is sent again
            assert page.evaluate("window.resent") == drop + lose
            assert s.journal.read_bytes() == journal
            assert page.inner_text(".annover-count") == "13 / 14" and page.locator(".annover-error").count() == 0
            page.close()


def test_a_model_without_custom_messages_sends_commands_as_the_trait_in_chromium(tmp_path, monkeypatch):
    """A model with no ``send`` (a page shim) gets each command as the ``command`` trait, as before."""
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate(["a", "b", "c"], labels=["yes", "no"], annotator="a@b.c")
    with _browser() as browser:
        page = browser.new_page()
        _open_ipywidgets(page, ann, custom=False)
        for n, key in enumerate(["2", "s", "ArrowLeft"], 1):
            page.keyboard.press(key)
            page.wait_for_function(f"window.sent === {n} && document.querySelector('.annover-count')"
                                   f".innerText === '{[2, 3, 2][n - 1]} / 3'")
        s = ann.session
        assert s.answers[s.tasks[0].key].labels == ("no",) and s.answers[s.tasks[1].key].skipped
        assert s.position == 1 and ann.command["seq"] == 3 and "page" not in ann.command
