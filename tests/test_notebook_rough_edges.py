"""Three rough edges of the notebook annotator as a person sees them (6 December), each reproduced in
Debian's headless Chromium first: multi-label toggles not answered yet read as "not answered", the
counter past the last task read "3 / 3" (as if on the last task), and a chat (a task whose data is a
list of {role, content} messages, as the corpus's multi-turn export has) was shown as raw JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from jupyter_core.paths import jupyter_path

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


def test_a_list_of_messages_is_given_to_the_page_as_a_conversation(chat_repo):
    """The corpus's dialogue (role/content) becomes [{who, text}]; Label Studio's Paragraphs keys
    (author/text) and an LLM's content parts too; anything else is not a conversation (its JSON)."""
    ann = annover.annotate(chat_repo, "HEAD", control="turn1_user_intent", annotator="a@example.com")
    task = ann.session.current
    dialogue = task.data["turn1_dialogue"]
    assert ann.view["task"]["messages"] == [{"who": m["role"], "text": m["content"]} for m in dialogue]
    assert ann.view["task"]["value"].startswith("[")  # the JSON is kept (what the page showed before)
    conv = widget.conversation
    assert conv([{"author": "Bob", "text": "hi"}, {"name": "Ann", "content": None}]) == [
        {"who": "Bob", "text": "hi"}, {"who": "Ann", "text": ""}]
    assert conv([{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]) == [
        {"who": "user", "text": "a\nb"}]
    assert conv([{"role": "tool", "content": {"n": 1}}]) == [{"who": "tool", "text": '{\n "n": 1\n}'}]
    for other in [[], ["a", "b"], {"role": "user", "content": "x"}, [{"role": "user"}], [{"content": "x"}],
                  [{"role": 3, "content": "x"}], [{"role": "user", "content": "x"}, "y"], "text", None]:
        assert conv(other) is None, other
    plain = widget.annotate(["just text"], labels=["a"], annotator="a@b.c")
    assert plain.view["task"]["messages"] is None


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


MESSAGES = """() => [...document.querySelectorAll('.annover-message')].map((m) =>
  [m.querySelector('.annover-speaker').innerText, m.querySelector('.annover-says').innerText])"""


def test_a_chat_is_drawn_as_a_conversation_and_its_markup_is_never_run(chat_repo, tmp_path, monkeypatch, browser):
    """The corpus's dialogue was drawn as the JSON of its messages ("role": ..., "content": ...).
    Each message is drawn under its speaker now, user's apart from the assistant's; a message
    holding <script> or an <img onerror> is shown as written and nothing of it runs."""
    ann = annover.annotate(chat_repo, "HEAD", control="turn1_user_intent", annotator="a@example.com")
    dialogue = ann.session.current.data["turn1_dialogue"]
    page = _open(browser, ann)
    _render(page, ann)
    assert page.evaluate(MESSAGES) == [[m["role"], m["content"]] for m in dialogue]
    assert '"content"' not in page.inner_text(".annover-content")
    page.screenshot(path=str(tmp_path / "chat.png"))

    monkeypatch.chdir(tmp_path)
    evil = [{"role": "user", "content": '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">hi'},
            {"role": "<b onmouseover=\"window.pwned = 3\">assistant</b>", "content": "fine & <i>dandy</i>"}]
    bad = widget.annotate([{"messages": evil}], labels=["ok", "bad"], column="messages", annotator="a@b.c")
    page2 = _open(browser, bad)
    _render(page2, bad)
    page2.hover(".annover-message:nth-child(2) .annover-speaker")
    page2.wait_for_timeout(300)
    assert page2.evaluate("window.pwned === undefined")
    assert page2.locator(".annover-annotator script, .annover-annotator img, .annover-annotator b, "
                         ".annover-annotator i").count() == 0
    assert page2.evaluate(MESSAGES) == [[m["role"], m["content"]] for m in evil]
    page2.keyboard.press("1")  # still the widget's keys
    _settle(page2, 1)
    assert bad.session.answers[bad.session.tasks[0].key].labels == ("ok",)

    long = [{"role": ["user", "assistant"][i % 2], "content": f"message {i}"} for i in range(40)]
    talk = widget.annotate([{"messages": long}], labels=["ok"], column="messages", annotator="a@b.c")
    page3 = _open(browser, talk)
    _render(page3, talk)
    page3.keyboard.press("PageDown")  # a long chat scrolls as a long text does
    assert page3.evaluate("document.querySelector('.annover-chat').scrollTop") > 150
    assert page3.evaluate("window.sent || 0") == 0


#: Every text of the widget with the contrast to what is behind it (its colour blended over the
#: backgrounds above it, up to the first opaque one): [text, ratio]; disabled buttons left out (WCAG does).
CONTRAST = """() => {
  const rgba = (c) => {
    const m = /^color\\(srgb ([\\d.e-]+) ([\\d.e-]+) ([\\d.e-]+)(?: \\/ ([\\d.]+))?\\)$/.exec(c);
    if (m) return [+m[1] * 255, +m[2] * 255, +m[3] * 255, m[4] === undefined ? 1 : +m[4]];
    const n = c.match(/[\\d.]+/g).map(Number);
    return [n[0], n[1], n[2], n.length > 3 ? n[3] : 1];
  };
  const over = (f, b) => f.slice(0, 3).map((v, i) => v * f[3] + b[i] * (1 - f[3])).concat(1);
  const back = (el) => {  // the backgrounds from el up to the first opaque one, blended
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const b = rgba(getComputedStyle(e).backgroundColor);
      if (b[3] > 0) layers.push(b);
      if (b[3] >= 1) break;
    }
    return layers.reverse().reduce((acc, b) => over(b, acc), [255, 255, 255, 1]);
  };
  const lin = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  const lum = ([r, g, b]) => 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  const out = [];
  for (const el of document.querySelectorAll(".annover-annotator *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest("button[disabled]")) continue;
    const f = rgba(getComputedStyle(el).color), b = back(el);
    const mix = over(f, b);
    const [hi, lo] = [lum(mix), lum(b)].sort((x, y) => y - x);
    out.push([el.textContent.trim().slice(0, 30), Math.round((hi + 0.05) / (lo + 0.05) * 100) / 100]);
  }
  return out;
}"""


def _jupyterlab_dark_theme() -> str:
    """JupyterLab's dark theme, its variables, as Voilà ships it (``voila --theme=dark``)."""
    for folder in jupyter_path("voila", "themes"):
        css = Path(folder) / "@jupyterlab" / "theme-dark-extension" / "index.css"
        if css.exists():
            return css.read_text()
    pytest.fail("JupyterLab's dark theme is not here: pip install -e '.[test]' (voila)")


def test_the_status_line_stays_two_lines_and_the_widget_takes_jupyterlab_s_dark_theme(tmp_path, monkeypatch, browser):
    """Labels toggled on a narrow widget (a phone, a side panel, 360 pixels): the status line naming them
    grew to nine lines beside the task key and pushed every button down under the mouse. It is two lines
    at any width now (under the task key when narrow), the rest in its tooltip. And in JupyterLab's dark
    theme the widget was a white card with its own colours: it takes the theme's, every text readable."""
    monkeypatch.chdir(tmp_path)
    labels = ["positive", "negative", "neutral", "a_label_name_that_goes_on_and_on_and_on", "מאוד שלילי"]
    ann = widget.annotate(["one", "two"], labels=labels, multiple=True, annotator="someone.long@example-company.com")
    page = _open(browser, ann, width=360)
    _render(page, ann)
    top = "document.querySelector('.annover-labels').getBoundingClientRect().top"
    sent = 0
    for width in (360, 800):
        page.set_viewport_size({"width": width, "height": 700})
        page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")  # laid out again
        before = page.evaluate(top)
        for key in "12345":
            page.keyboard.press(key)
            sent += 1
            _settle(page, sent)
            assert page.evaluate(top) == before, (width, key)
        narrow = page.evaluate("document.querySelector('.annover-annotator').classList.contains('annover-narrow')")
        assert narrow == (width < 500)  # the task key over the status line
        state = page.inner_text(".annover-state")
        assert state.startswith("positive, negative, neutral, a_label") and state.endswith(PENDING)
        title = page.get_attribute(".annover-state", "title")  # each label isolated (U+2068..U+2069) there
        assert title.replace("\u2068", "").replace("\u2069", "") == state and title.count("\u2068") == 5
        page.screenshot(path=str(tmp_path / f"pending-{width}.png"))
        for key in "12345":
            page.keyboard.press(key)
            sent += 1
            _settle(page, sent)
    page.keyboard.press("1")  # a label selected, its key on the blue
    _settle(page, sent + 1)
    light = page.evaluate(CONTRAST)
    assert light and min(r for _, r in light) >= 4.5, [x for x in light if x[1] < 4.5]
    page.add_style_tag(content=_jupyterlab_dark_theme())
    bg = page.evaluate("getComputedStyle(document.querySelector('.annover-annotator')).backgroundColor")
    assert bg == page.evaluate("""(() => { const p = document.createElement('p');
      p.style.background = 'var(--jp-layout-color0)'; document.body.append(p);
      return getComputedStyle(p).backgroundColor; })()""") != "rgb(255, 255, 255)"
    dark = page.evaluate(CONTRAST)
    assert min(r for _, r in dark) >= 4.5, [x for x in dark if x[1] < 4.5]
    assert [t for t, _ in dark] == [t for t, _ in light]  # the same texts
    page.screenshot(path=str(tmp_path / "dark.png"))


def test_a_label_past_the_33rd_is_found_by_name_with_the_keyboard(tmp_path, monkeypatch, browser):
    """62 labels: past the 33rd a label has no key, so labeling with them took the mouse (or Tab pressed
    forty times). "/" opens a field: the letters typed narrow the buttons to the labels holding them (in any
    case), Enter answers with the first one left and the keys are the widget's again; Esc closes it; a letter
    typed there is the name, not a shortcut (s did not skip)."""
    monkeypatch.chdir(tmp_path)
    labels = [f"class_{i:02d}" for i in range(60)] + ["Ärger über Lieferung", "مراجعة سلبية"]
    ann = widget.annotate(["one", "two", "three"], labels=labels, annotator="a@b.c")
    s = ann.session
    page = _open(browser, ann, width=500)
    _render(page, ann)
    assert page.locator(".annover-find-open").count() == 1  # the key is shown
    assert page.get_attribute(".annover-find-open", "title") == "key /"
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.className") == "annover-find-input"
    page.keyboard.type("CLASS_5")
    assert page.locator(".annover-label").all_inner_texts() == [x for x in labels if "class_5" in x]
    page.screenshot(path=str(tmp_path / "find.png"))
    page.keyboard.press("Enter")
    _settle(page, 1)
    assert s.answers[s.tasks[0].key].labels == ("class_50",) and s.position == 1
    assert page.evaluate("document.activeElement.classList.contains('annover-annotator')")
    assert page.locator(".annover-label").count() == len(labels)
    page.keyboard.press("/")
    page.keyboard.type("ärger")
    page.keyboard.press("Enter")
    _settle(page, 2)
    assert s.answers[s.tasks[1].key].labels == ("Ärger über Lieferung",) and s.position == 2
    page.keyboard.press("/")
    page.keyboard.type("s")
    assert s.position == 2 and page.input_value(".annover-find-input") == "s"
    page.keyboard.press("Escape")
    assert page.locator(".annover-find-input").count() == 0 and page.locator(".annover-label").count() == len(labels)
    page.keyboard.press("s")
    _settle(page, 3)
    assert s.answers[s.tasks[2].key].skipped and s.position == 3
