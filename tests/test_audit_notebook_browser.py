"""Audit of the annotator's front end as a data scientist uses it, in the system's headless
Chromium driven by Playwright (no browser download): the widget's ES module on a page whose
minimal model hands each command to the real Python widget (as tests/test_notebook_browser.py
does), on images made with PIL and texts from the shared corpus."""

from __future__ import annotations

import pytest

widget = pytest.importorskip("annover.notebook.widget")
sync_api = pytest.importorskip("playwright.sync_api")
Image = pytest.importorskip("PIL.Image")

from tests.test_notebook_browser import SHIM, _browser, _chromium  # noqa: E402,F401 - the same page shim, browser


@pytest.fixture
def browser():
    with _browser() as b:
        yield b


def _open(browser, ann, width: int = 820):
    page = browser.new_page(viewport={"width": width, "height": 700}, device_scale_factor=1)

    def py_command(cmd: dict) -> dict:
        ann.command = cmd
        return ann.view

    page.expose_function("pyCommand", py_command)
    page.set_content('<html><body style="margin:16px;background:#fff"><div id="root"></div></body></html>')
    page.evaluate(SHIM, [(widget.STATIC / "annotator.js").read_text(),
                         (widget.STATIC / "annotator.css").read_text(), ann.view, ann.tall])
    page.wait_for_selector(".annover-annotator .annover-label")
    return page


def _settle(page, n: int) -> None:
    page.wait_for_function(f"window.sent >= {n}")
    page.wait_for_timeout(50)


def test_the_placeholder_says_why_an_image_is_not_shown(tmp_path, monkeypatch, browser):
    """A 21 MB photo that is there said "image not found"; so did a file not named as an image.
    The placeholder now says which: not there, too large to show, not an image file."""
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "big.jpg", "wb") as f:  # a camera's large file: only its size matters here
        f.truncate(21 * 2**20)
    (tmp_path / "notes.txt").write_text("not an image")
    ann = widget.annotate(["gone.png", "big.jpg"], labels=["cat", "dog"], kind="image", annotator="a@b.c")
    odd = widget.annotate(["notes.txt"], labels=["cat", "dog"], kind="image", annotator="a@b.c")
    page = _open(browser, ann)
    assert page.inner_text(".annover-missing") == "image not found: gone.png"
    page.keyboard.press("s")
    _settle(page, 1)
    assert page.inner_text(".annover-missing") == (
        "image too large to show (21.0 MB; the widget shows files up to 20 MB): big.jpg")
    assert page.inner_text(".annover-missing") != "image not found: big.jpg"
    page2 = _open(browser, odd)
    assert page2.inner_text(".annover-missing") == "not an image file (by its name): notes.txt"


def test_a_thumbnail_is_drawn_large_enough_to_label(tmp_path, monkeypatch, browser):
    """A 32x32 image (CIFAR's size) was drawn 32 px wide, a 3x2 one as a dot: too small to label.
    Images smaller than 200 px on both sides are drawn 200 px tall, pixels kept sharp; a photo is
    drawn as before (at most 420 px tall, smoothed)."""
    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (32, 32), "red").save(tmp_path / "cifar.png")
    Image.new("RGB", (3, 2), "blue").save(tmp_path / "dot.png")
    Image.new("RGB", (640, 480), "green").save(tmp_path / "photo.jpg")
    ann = widget.annotate(["cifar.png", "dot.png", "photo.jpg"], labels=["cat", "dog"], annotator="a@b.c")
    page = _open(browser, ann)
    size = """() => { const i = document.querySelector('.annover-image'); const r = i.getBoundingClientRect();
      return i.complete && i.naturalWidth ? [Math.round(r.width), Math.round(r.height),
      getComputedStyle(i).imageRendering] : null; }"""
    got = []
    for n in range(3):
        if n:
            page.keyboard.press("s")
            _settle(page, n)
        page.wait_for_function(size)
        got.append(page.evaluate(size))
    assert got == [[200, 200, "pixelated"], [300, 200, "pixelated"], [560, 420, "auto"]]


PRESS = """([key, code]) => document.querySelector('.annover-annotator').dispatchEvent(
  new KeyboardEvent('keydown', {key, code, bubbles: true, cancelable: true}))"""


def test_shortcuts_work_on_hebrew_russian_and_azerty_keyboards(tmp_path, monkeypatch, browser):
    """With a Hebrew, Arabic or Russian layout on, the key s gives "ד"/"س"/"ы" and the letter
    shortcuts, skip and undo did nothing; AZERTY's digit row gives "&", "é"... without Shift, so
    1-9 did nothing. The key at a shortcut's place on a US keyboard now acts as that shortcut;
    a Latin key is still read as its character (AZERTY's a is a) and punctuation is nobody's."""
    monkeypatch.chdir(tmp_path)
    texts = ["הטלפון הזה מצוין", "البطارية ضعيفة", "хороший телефон", "bon téléphone", "x"]
    ann = widget.annotate(texts, labels=[f"l{i}" for i in range(12)], annotator="a@b.c")  # l9, l10, l11: a, b, c
    s = ann.session
    page = _open(browser, ann)
    page.evaluate(PRESS, ["ד", "KeyS"])  # Hebrew: skip
    _settle(page, 1)
    page.evaluate(PRESS, ["ש", "KeyA"])  # Hebrew: a, label l9
    _settle(page, 2)
    page.evaluate(PRESS, ["г", "KeyU"])  # Russian: undo
    _settle(page, 3)
    page.evaluate(PRESS, ["&", "Digit1"])  # AZERTY, no Shift: 1, label l0
    _settle(page, 4)
    page.evaluate(PRESS, ["é", "Digit2"])  # AZERTY: 2, label l1
    _settle(page, 5)
    page.evaluate(PRESS, ["a", "KeyQ"])  # AZERTY's a (where QWERTY has q) is a, label l9
    _settle(page, 6)
    page.evaluate(PRESS, [",", "KeyM"])  # AZERTY's comma: no shortcut, nothing sent
    page.evaluate(PRESS, ["ب", "KeyF"])  # Arabic: f is label 14, which there is not: nothing sent
    page.wait_for_timeout(200)
    assert page.evaluate("window.sent") == 6
    got = [(t.key in s.answers and (s.answers[t.key].labels, s.answers[t.key].skipped)) for t in s.tasks]
    assert got == [((), True), (("l0",), False), (("l1",), False), (("l9",), False), False]
    assert s.position == 4 and page.locator(".annover-error").count() == 0


def test_enter_on_a_button_reached_with_tab_presses_that_button(tmp_path, monkeypatch, browser):
    """A keyboard user tabs to a button and presses Enter. With a label pre-selected (the model's
    suggestion, or the task's answer) Enter was read as "accept the pre-selected label" and the
    button was not pressed: Enter on "no" answered "yes", Enter on "skip" answered too."""
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate(["a", "b", "c"], labels=["yes", "no"], annotator="a@b.c")
    s = ann.session
    ann.choose("yes")
    ann.choose("yes")
    ann.goto(0)  # both answered "yes": pre-selected
    page = _open(browser, ann)
    page.focus(".annover-label[data-label=no]")
    page.keyboard.press("Enter")
    _settle(page, 1)
    assert s.answers[s.tasks[0].key].labels == ("no",) and s.position == 1
    page.focus(".annover-skip")
    page.keyboard.press("Enter")
    _settle(page, 2)
    assert s.answers[s.tasks[1].key].skipped and s.position == 2
    page.locator(".annover-annotator").focus()  # the widget itself: Enter accepts, as before
    page.keyboard.press("ArrowLeft")
    _settle(page, 3)
    page.keyboard.press("ArrowLeft")
    _settle(page, 4)
    page.keyboard.press("Enter")  # task 0's answer "no" pre-selected: accepted
    _settle(page, 5)
    assert s.answers[s.tasks[0].key].labels == ("no",) and s.position == 1


def test_a_journal_that_cannot_be_written_refuses_the_answer_and_the_page_says_so(tmp_path, monkeypatch,
                                                                                  browser):
    """When the journal could not be written (a full disk; here its folder is a file), the answer
    was taken in memory and the error escaped the widget: the page went on showing task 1 while
    the session was on task 2, so the next key answered a task the person had not seen, and
    nothing was in the journal. Now the action is taken back and the widget shows why."""
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the journal's folder should be")
    ann = widget.annotate(["first", "second", "third"], labels=["yes", "no"], annotator="a@b.c",
                          journal=blocker / "j.json")
    s = ann.session
    page = _open(browser, ann)
    page.keyboard.press("1")
    _settle(page, 1)
    assert s.position == 0 and not s.answers and page.inner_text(".annover-count") == "1 / 3"
    assert page.inner_text(".annover-text") == "first"
    err = page.inner_text(".annover-error")
    assert err.startswith(f"{blocker / 'j.json'}: cannot write the session journal: ") and "not taken" in err
    page.keyboard.press("ArrowRight")
    _settle(page, 2)
    assert s.position == 0 and page.inner_text(".annover-count") == "1 / 3"
    blocker.unlink()  # space again
    page.keyboard.press("2")
    _settle(page, 3)
    assert {t.key: a.labels for t in s.tasks if (a := s.answers.get(t.key))} == {s.tasks[0].key: ("no",)}
    assert page.inner_text(".annover-count") == "2 / 3" and page.locator(".annover-error").count() == 0
    assert (blocker / "j.json").exists()


def test_a_held_key_answers_one_task_and_a_held_arrow_runs_on(tmp_path, monkeypatch, browser):
    """A label key held down repeats (a keydown every ~30 ms): it answered one task after another,
    tasks the person never saw. An answer, a skip, an undo is one per press now; → and ← held
    still move on, as in any list."""
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate([f"text {i}" for i in range(8)], labels=["yes", "no"], annotator="a@b.c")
    s = ann.session
    page = _open(browser, ann)
    for _ in range(5):
        page.keyboard.down("1")  # the first is a press, the next four repeats
    page.keyboard.up("1")
    for _ in range(3):
        page.keyboard.down("s")
    page.keyboard.up("s")
    _settle(page, 2)
    page.wait_for_timeout(200)
    assert page.evaluate("window.sent") == 2 and s.position == 2
    assert [s.answers[t.key].labels for t in s.tasks[:2]] == [("yes",), ()] and len(s.answers) == 2
    for _ in range(3):
        page.keyboard.down("ArrowRight")
    page.keyboard.up("ArrowRight")
    _settle(page, 5)
    assert s.position == 5 and len(s.answers) == 2


def test_the_same_session_open_in_two_pages_does_not_lose_answers(tmp_path, monkeypatch, browser):
    """The same notebook open twice (two tabs in Voilà: two kernels, one journal): each wrote the
    whole journal, so the second tab's answer wiped the first tab's two, while the first still said
    "✓ in the journal · 2". Now a session whose journal another has written since refuses the
    action and says to run the cell again, which resumes with every answer."""
    monkeypatch.chdir(tmp_path)
    texts = ["first", "second", "third", "fourth"]
    a = widget.annotate(texts, labels=["yes", "no"], annotator="a@b.c")
    b = widget.annotate(texts, labels=["yes", "no"], annotator="a@b.c")  # the other tab's kernel
    pa, pb = _open(browser, a), _open(browser, b)
    pa.keyboard.press("1")
    _settle(pa, 1)
    pa.keyboard.press("1")
    _settle(pa, 2)
    pb.keyboard.press("2")
    _settle(pb, 1)
    assert "another window or kernel has written this session's journal" in pb.inner_text(".annover-error")
    assert pb.inner_text(".annover-count") == "1 / 4" and not b.session.answers
    again = widget.annotate(texts, labels=["yes", "no"], annotator="a@b.c")  # the cell run again
    assert {t: a_.labels for t, a_ in again.session.answers.items()} == {
        t.key: ("yes",) for t in a.session.tasks[:2]}
    pc = _open(browser, again)
    pc.keyboard.press("2")
    _settle(pc, 1)
    assert pc.locator(".annover-error").count() == 0 and again.session.position == 3


def test_a_cloud_storage_image_says_it_cannot_be_fetched(tmp_path, monkeypatch, browser):
    """Label Studio tasks often name images in cloud storage (s3://, gs://): the placeholder said
    "image not found", as if the file were missing; it says the browser cannot fetch such a URL."""
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate(["s3://bucket/cats/1.jpg", "gs://bucket/dogs/2.png"], labels=["cat", "dog"],
                          annotator="a@b.c")
    page = _open(browser, ann)
    assert page.inner_text(".annover-missing") == (
        "a s3:// image cannot be shown here (the browser cannot fetch it): s3://bucket/cats/1.jpg")
    page.keyboard.press("s")
    _settle(page, 1)
    assert page.inner_text(".annover-missing").startswith("a gs:// image cannot be shown here")
