"""Audit of the notebook annotator as a person labeling a few hundred items uses it (6 December):
Debian's headless Chromium driven by Playwright, the widget's ES module on a page whose minimal
model hands each command to the real Python widget (as tests/test_notebook_browser.py does), and
Voilà on 127.0.0.1 (a real kernel, anywidget's own front end)."""

from __future__ import annotations

import pytest

import annover

widget = pytest.importorskip("annover.notebook.widget")
sync_api = pytest.importorskip("playwright.sync_api")

from tests.test_notebook_browser import SHIM, _browser, _chromium, _voila  # noqa: E402,F401 - the page shim, browser


@pytest.fixture
def browser():
    with _browser() as b:
        yield b


def _open(browser, ann, *, width: int = 820, height: int = 700, body: str = '<div id="root"></div>'):
    page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)

    def py_message(content: dict) -> dict:
        ann._handle_custom_msg(content, [])  # what a custom comm message from the front end does
        return ann.view

    page.expose_function("pyMessage", py_message)
    page.set_content(f'<html><body style="margin:16px;background:#fff">{body}</body></html>')
    return page


def _render(page, ann) -> None:
    page.evaluate(SHIM, [(widget.STATIC / "annotator.js").read_text(),
                         (widget.STATIC / "annotator.css").read_text(), ann.view, ann.tall])
    page.wait_for_selector(".annover-annotator .annover-label", state="attached")


def _settle(page, n: int) -> None:
    page.wait_for_function(f"window.sent >= {n}")
    page.wait_for_timeout(50)


ACTIVE = "document.activeElement ? document.activeElement.className || document.activeElement.tagName : null"


def test_voila_keys_answer_without_clicking_the_widget_first(two_rounds):
    """In Voilà the widget is drawn into an element not yet in the page, where focus() does
    nothing: the page's body kept the focus and the first keys did nothing until a click (the
    earlier Voilà tests click first). The widget now takes the focus once it is in the page."""
    repo, _, _ = two_rounds
    source = "import annover\nann = annover.annotate(annover.Repo('.'), 'v2', annotator='v@example.com')\nann"
    with _voila(repo.root, source, repo.root.parent / "voila.log") as url:
        with _browser() as browser:
            page = browser.new_page(viewport={"width": 860, "height": 600})
            page.goto(url)
            page.wait_for_selector(".annover-annotator .annover-label", timeout=120_000)
            page.wait_for_function(f"({ACTIVE}) === 'annover-annotator'", timeout=10_000)
            page.keyboard.press("2")  # no click first
            page.wait_for_function("document.querySelector('.annover-stats').innerText === '1 labeled · 0 skipped'",
                                   timeout=60_000)
    ann = annover.annotate(repo, "v2", annotator="v@example.com")  # resumed from the kernel's journal
    assert [a.labels for a in ann.session.answers.values()] == [("negative",)]


def test_the_focus_waits_for_the_page_and_is_not_taken_from_a_text_field(tmp_path, monkeypatch, browser):
    """Drawn into an element attached later (as Voilà does), the widget takes the focus once it is
    in the page; a person typing in a text field meanwhile keeps it."""
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate(["first", "second"], labels=["yes", "no"], annotator="a@b.c")
    page = _open(browser, ann, body="")
    page.evaluate("() => { const r = document.createElement('div'); r.id = 'root'; window.detached = r; }")
    shim = SHIM.replace("document.getElementById(\"root\")", "window.detached")
    page.evaluate(shim, [(widget.STATIC / "annotator.js").read_text(), (widget.STATIC / "annotator.css").read_text(),
                         ann.view])
    page.wait_for_timeout(300)
    page.evaluate("() => document.body.append(window.detached)")
    page.wait_for_function(f"({ACTIVE}) === 'annover-annotator'", timeout=5_000)
    page.keyboard.press("1")
    _settle(page, 1)
    assert ann.session.answers[ann.session.tasks[0].key].labels == ("yes",)

    other = widget.annotate(["third"], labels=["yes", "no"], annotator="a@b.c")
    page2 = _open(browser, other, body='<textarea id="notes"></textarea>')
    page2.evaluate("() => { const r = document.createElement('div'); r.id = 'root'; window.detached = r; }")
    page2.evaluate(shim, [(widget.STATIC / "annotator.js").read_text(),
                          (widget.STATIC / "annotator.css").read_text(), other.view])
    page2.focus("#notes")
    page2.evaluate("() => document.body.append(window.detached)")
    page2.wait_for_timeout(300)
    page2.keyboard.type("12")
    assert page2.evaluate(ACTIVE) == "TEXTAREA" and page2.input_value("#notes") == "12"
    assert not other.session.answers


def test_past_the_last_task_right_arrow_goes_to_the_first_not_answered(two_rounds, browser):
    """Answering the last task with others left (skipped ahead with →, or resuming a session that
    had reached the end) left the page past the last task saying "← goes back to them": the tasks
    left were reached one ← at a time (in a session of 200 with 195 left, up to 199 presses).
    Past the end, → (or the button) now goes to the first task not answered; a skip is an answer."""
    repo, _, _ = two_rounds
    ann = annover.annotate(repo, "v2", annotator="new@example.com")
    s = ann.session
    assert s.total >= 4
    ann.skip()
    ann.goto(s.total - 1)
    ann.choose("positive")  # the last task: past the end, tasks 2..n-1 not answered
    page = _open(browser, ann)
    _render(page, ann)
    done = page.inner_text(".annover-done")
    assert done.startswith(f"{s.total - 2} of {s.total} tasks not answered yet. go to the first (task 2)"), done
    page.keyboard.press("ArrowRight")
    _settle(page, 1)
    assert s.position == 1 and page.inner_text(".annover-count") == f"2 / {s.total}"
    page.keyboard.press("2")
    _settle(page, 2)
    ann.goto(s.total)
    again = annover.annotate(repo, "v2", annotator="new@example.com")  # the cell run again
    assert again.session.position == s.total
    page2 = _open(browser, again)
    _render(page2, again)
    page2.click(".annover-open")
    _settle(page2, 1)
    assert again.session.position == 2 and page2.locator(".annover-error").count() == 0
    for _ in range(s.total - 3):
        again.skip()
    again.forward()  # past the last task, answered before
    assert again.session.position == s.total and again.view["open"] is None
    page2.keyboard.press("ArrowRight")  # every task answered: → past the end does nothing
    page2.wait_for_timeout(200)
    assert page2.inner_text(".annover-done").startswith(f"All {s.total} tasks answered.")
    assert page2.locator(".annover-open").count() == 0 and again.session.position == s.total


CORPUS = __import__("pathlib").Path("/work/shared/corpus/label-studio")


def test_a_disagreement_shows_the_answers_the_reviewer_decides_between(tmp_path, browser):
    """only="disagreement" gave the tasks whose answers differ but showed none of them: the reviewer
    saw the text and the buttons, not what the annotators had said. The others' answers (not the
    reviewer's own, shown as before) are listed above the labels; a plain session shows none."""
    if not (CORPUS / "fe_sentiment_two_annotators.json").exists():
        pytest.skip("the shared corpus is not here")
    repo = annover.init(tmp_path / "repo")
    repo.snapshot(str(CORPUS / "fe_sentiment_two_annotators.json"),
                  config=str(CORPUS / "fe_sentiment_two_annotators.xml"), message="two annotators")
    agreed = [k for k, n in __import__("collections").Counter(
        r["task_key"] for r in repo.load("HEAD").to_pylist()).items() if n == 2]  # both said Negative
    carol = annover.annotate(repo, "HEAD", only=agreed, annotator="carol@example.com")
    carol.choose("Positive")
    carol.save(message="a second opinion")
    ann = annover.annotate(repo, "HEAD", only="disagreement", annotator="reviewer@example.com")
    assert [t.key for t in ann.session.tasks] == agreed
    rows = sorted((r["annotator"] or "(no annotator)", r["labels"])  # the corpus's first has no completed_by
                  for r in repo.load("HEAD").to_pylist() if r["task_key"] == agreed[0])
    assert [labels for _, labels in rows].count(["Negative"]) == 2 and ("carol@example.com", ["Positive"]) in rows
    page = _open(browser, ann)
    _render(page, ann)
    assert page.inner_text(".annover-others") == "answers: " + " · ".join(f"{w} {', '.join(ls)}" for w, ls in rows)
    page.keyboard.press("1")
    _settle(page, 1)
    assert page.locator(".annover-others").count() == 0  # past the end

    mine = annover.annotate(repo, "HEAD", only="disagreement", annotator="carol@example.com")
    assert "carol@example.com" not in [w for w, _ in mine.session.tasks[0].others]  # hers: "answered before"
    assert mine.session.tasks[0].earlier.labels == ("Positive",)  # (her session resumed: past its end)
    plain = annover.annotate(repo, "HEAD", annotator="reviewer@example.com")
    page2 = _open(browser, plain)
    _render(page2, plain)
    assert page2.locator(".annover-others").count() == 0 and plain.view["task"]["others"] == []


SCROLLED = "document.querySelector('.annover-text').scrollTop"


def test_a_long_text_scrolls_with_the_keyboard(tmp_path, monkeypatch, browser):
    """A review of 8,000 characters is shown in a box 260 px tall that scrolls: with the mouse only.
    The widget has the focus, so ↓, PageDown (and the page's own scrolling) did nothing to it and a
    keyboard labeler could not read past the first lines. ↓ ↑ PageDown PageUp scroll the text now,
    and send nothing to Python."""
    monkeypatch.chdir(tmp_path)
    long = " ".join(f"sentence {i} of a long product review." for i in range(200))
    ann = widget.annotate([long, "short"], labels=["positive", "negative"], annotator="a@b.c")
    page = _open(browser, ann, height=500)
    _render(page, ann)
    assert page.evaluate(ACTIVE) == "annover-annotator"
    assert page.evaluate("(() => { const t = document.querySelector('.annover-text'); "
                         "return t.scrollHeight > 4 * t.clientHeight; })()")
    page.keyboard.press("PageDown")
    one_page = page.evaluate(SCROLLED)
    assert one_page > 150
    page.keyboard.press("ArrowDown")
    assert page.evaluate(SCROLLED) > one_page
    page.keyboard.press("PageUp")
    page.keyboard.press("ArrowUp")
    assert page.evaluate(SCROLLED) == 0
    assert page.evaluate("window.sent || 0") == 0 and page.evaluate("window.scrollY") == 0
    page.keyboard.press("1")
    _settle(page, 1)
    assert ann.session.answers[ann.session.tasks[0].key].labels == ("positive",)


def test_an_empty_label_is_refused_with_a_fix(tmp_path, monkeypatch):
    """labels=["", "dog"] (a CSV's empty cell) made a button showing only its key, whose answer was
    saved as the choice "". Refused now, naming the label, before anything is written."""
    monkeypatch.chdir(tmp_path)
    for labels, where in [(["", "dog"], "labels[0] is empty ('')"), (["cat", "  "], "labels[1] is empty ('  ')")]:
        with pytest.raises(annover.errors.UsageError) as e:
            widget.annotate(["a photo of a cat"], labels=labels, annotator="a@b.c")
        assert str(e.value) == f"{where} — give each label a name"
    assert list(tmp_path.iterdir()) == []


LABEL_Y = "Math.round(document.querySelector('.annover-label').getBoundingClientRect().top)"


def test_the_buttons_stay_in_place_from_one_image_to_the_next(tmp_path, monkeypatch, browser):
    """The image box was as tall as each image: after a 640x480 photo (drawn 420 px tall) the
    buttons were 360 px higher for a panorama, lower again for a portrait, so a click at the
    place of "dog" hit the image or nothing. The box is now as tall as the tallest image drawn;
    the buttons stay put for photos, a panorama, a thumbnail and a missing image alike, and a
    photo is drawn as large as before."""
    Image = pytest.importorskip("PIL.Image")
    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (640, 480), "green").save("photo.jpg")
    Image.new("RGB", (2400, 200), "purple").save("panorama.jpg")
    Image.new("RGB", (300, 2400), "orange").save("portrait.jpg")
    Image.new("RGB", (32, 32), "red").save("cifar.png")
    names = ["photo.jpg", "panorama.jpg", "portrait.jpg", "cifar.png", "gone.jpg"]
    ann = widget.annotate(names, labels=["cat", "dog"], annotator="a@b.c")
    page = _open(browser, ann)
    _render(page, ann)
    drawn = """() => { const i = document.querySelector('.annover-image');
      return document.querySelector('.annover-missing') || (i && i.complete && i.naturalWidth) ? true : null; }"""
    ys, sizes = [], []
    for n in range(len(names)):
        if n:
            page.keyboard.press("s")
            _settle(page, n)
        page.wait_for_function(drawn)
        ys.append(page.evaluate(LABEL_Y))
        sizes.append(page.evaluate("(() => { const i = document.querySelector('.annover-image'); if (!i) return null;"
                                   " const r = i.getBoundingClientRect(); return [Math.round(r.width),"
                                   " Math.round(r.height)]; })()"))
    assert len(set(ys)) == 1, ys
    assert sizes == [[560, 420], [738, 62], [53, 420], [200, 200], None]
    page.keyboard.press("s")  # past the end: the message, not an image box
    _settle(page, len(names))
    assert page.evaluate(LABEL_Y) < ys[0]


def test_multi_label_toggles_are_not_dropped_by_a_move_without_a_word(tmp_path, monkeypatch, browser):
    """Multi-label: a person toggled "cat" and "bird" (blue) and pressed → as one does for "next":
    the page moved on, the toggles were gone, the task not answered, and nothing said so (← back
    showed it blank). A move away from toggled, unanswered labels is now held once with a line
    saying Enter answers; the same move again leaves the task, and Enter answers as before. A
    prediction left as it was pre-selected is no change: → moves at once."""
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate(["one", "two", "three"], labels=["cat", "dog", "bird"], multiple=True, annotator="a@b.c")
    s = ann.session
    page = _open(browser, ann)
    _render(page, ann)
    for n, key in enumerate(["1", "3", "ArrowRight"], 1):
        page.keyboard.press(key)
        _settle(page, n)
    assert s.position == 0 and page.inner_text(".annover-count") == "1 / 3"
    assert page.inner_text(".annover-error") == (
        "\u2068cat\u2069, \u2068bird\u2069 chosen, not answered — press Enter to answer the task, or move again to "
        "leave it without them")  # each label isolated: right-to-left ones keep their order
    page.keyboard.press("Enter")
    _settle(page, 4)
    assert s.answers[s.tasks[0].key].labels == ("cat", "bird") and s.position == 1
    assert page.locator(".annover-error").count() == 0
    for n, key in enumerate(["2", "ArrowRight", "ArrowRight"], 5):  # held once, then it goes
        page.keyboard.press(key)
        _settle(page, n)
    assert s.position == 2 and s.tasks[1].key not in s.answers and page.locator(".annover-error").count() == 0
    page.keyboard.press("ArrowLeft")  # nothing toggled here: back at once
    _settle(page, 8)
    assert s.position == 1
    from annover.notebook.session import Prediction, Session, Task
    guess = Prediction(("cat", "bird"), "m1", 0.9)
    tasks = [Task(f"t{i}", {"text": str(i)}, "text", prediction=guess) for i in range(2)]
    pre = widget.Annotator(Session(tasks, ["cat", "dog", "bird"], "a@b.c", "label", "text", True, None))
    pre._apply({"action": "forward"})  # the model's cat, bird pre-selected, untouched: no change to keep
    assert pre.session.position == 1 and pre.view["error"] is None
    pre._apply({"action": "choose", "label": "dog"})
    pre._apply({"action": "back"})
    assert pre.session.position == 1 and pre.view["error"].startswith(
        "\u2068cat\u2069, \u2068dog\u2069, \u2068bird\u2069 chosen, not answered")
