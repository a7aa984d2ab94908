"""What the notebook annotator's last audit left (7 December), as a person labeling meets it.

- A label the HEAD's config lacks (a class added mid-way) was refused; it is added to the control in
  the version the save makes (the config is versioned: ``annover diff`` lists it), the widget saying so;
  only what cannot be merged (no such Choices control, multi-label on a single choice one) is refused.
- ``labels=["a ", "a"]`` gave two buttons reading ``a``; an empty text item was a task with nothing to label:
  both refused, naming the label or item.
- A save from the widget's button failing with an error that is not annover's showed only in the kernel's
  log: the widget says so on one line (the traceback stays in the log).
- At 340 pixels the header's counts were cut (``12 skip…``), past the end gone altogether.
"""

from __future__ import annotations

import logging
import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import annover
from annover.errors import UsageError
from annover.model.config import LabelingConfig
from annover.notebook.sources import add_choices
from tests.test_notebook_browser import CHROMIUM, _browser, _chromium, _open  # noqa: F401 - the browser, its shim

widget = pytest.importorskip("annover.notebook.widget")

BOB = "bob@example.com"


@pytest.fixture(scope="module")
def browser():
    """One Chromium for this module's pages (a start costs seconds)."""
    if not os.path.exists(CHROMIUM):
        (pytest.fail if os.environ.get("CI") else pytest.skip)("needs Chromium: apt-get install chromium")
    with _browser() as b:
        yield b


def _choices(text: str, control: str) -> list[str]:
    return list(LabelingConfig(text, validate=False).controls[control].labels)


def test_a_label_new_to_heads_config_is_added_to_the_version_the_save_makes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    repo = annover.init(".")
    first = widget.annotate(["great phone", "awful battery"], labels=["good", "bad"], annotator=BOB)
    first.choose("good")
    first.save(message="two classes")
    before = repo.config_text("v1")
    ann = annover.annotate(repo, "v1", labels=["good", "bad", "mixed"], annotator=BOB)  # a version's tasks
    assert ann.view["notice"] == ("label mixed new to control 'label': the version a save makes adds it to its "
                                 "labeling config")
    ann.choose("mixed")  # good before: the answer changed
    assert ann.view["notice"] is None and ann.view["error"] is None
    assert ann.save(message="a class added").answers.column("labels").to_pylist() == [["mixed"]]
    after = repo.config_text("v2")
    assert _choices(after, "label") == ["good", "bad", "mixed"]
    assert [ln for ln in after.splitlines() if "mixed" not in ln] == before.splitlines()  # the rest as it was
    assert repo.diff("v1", "v2").summary["config"]["labels_added"] == {"label": ["mixed"]}
    # new texts, with one more class: labeled with it too (a save adds it to HEAD's config as above)
    more = widget.annotate(["so ironic, love it"], labels=["mixed", "sarcastic"], annotator=BOB)
    assert more.view["notice"].startswith("label sarcastic new to control 'label'")
    more.choose("sarcastic")
    assert _choices(more.config_text, "label") == ["good", "bad", "mixed", "sarcastic"]
    # what cannot be merged is refused, on one line: no such Choices control; multi-label on a single choice one
    with pytest.raises(UsageError, match="^the labeling config of v2 has no Choices control 'topic'"):
        annover.annotate(repo, "v2", control="topic", labels=["new"])
    with pytest.raises(UsageError, match="^label 'Good' differs from 'good' of control 'label' in the labeling "
                                         "config of v2 only in case or spaces — use 'good'"):
        annover.annotate(repo, "v2", labels=["Good", "bad"])  # a typo, not a class
    with pytest.raises(UsageError, match=r"^multiple=True, and control 'label' .* is single choice"):
        widget.annotate(["x y"], labels=["mixed"], multiple=True, annotator=BOB)


LABEL = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda s: s.strip() == s and s)
CONFIGS = [  # the forms a config's Choices are written in: one a line, all on one line, none yet
    '<View>\n  <Text name="t" value="$t"/>\n  <Choices name="c" toName="t">\n    <Choice value="a"/>\n'
    '  </Choices>\n  <Labels name="l" toName="t"><Label value="L"/></Labels>\n</View>\n',
    '<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="a"/></Choices>'
    '<Labels name="l" toName="t"><Label value="L"/></Labels></View>',
    "<View><Text name='t' value='$t'/><Choices toName='t' name='c' choice='multiple'/>"
    "<Labels name='l' toName='t'><Label value='L'/></Labels></View>",
]


@given(st.sampled_from(CONFIGS), st.lists(LABEL, min_size=1, max_size=4, unique=True))
def test_labels_added_to_a_config_read_back_as_its_choices_then_them(text, labels):
    out = add_choices(text, "c", labels, "config")
    old = _choices(text, "c")
    assert _choices(out, "c") == old + [lab for lab in labels if lab not in old]
    assert _choices(out, "l") == ["L"] and add_choices(out, "c", labels, "config") == out  # added once


def test_labels_that_read_the_same_are_refused_naming_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as e:
        widget.annotate(["fine"], labels=["good", "a ", "a"], annotator=BOB)
    assert str(e.value).startswith("labels[1] 'a ' and labels[2] 'a' differ only in spaces at their ends")


def test_an_empty_text_is_refused_naming_the_item(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as e:
        widget.annotate(["fine", " \n", "ok"], labels=["good"], annotator=BOB)
    assert str(e.value).startswith("item 1 is empty (' \\n'): nothing to label")
    with pytest.raises(UsageError) as e:
        widget.annotate([{"text": "fine"}, {"text": ""}], labels=["good"], annotator=BOB)
    assert str(e.value).startswith("record 1's field 'text' is empty (''): nothing to label")


def test_a_save_failing_with_an_error_not_annovers_says_so_in_the_widget(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    annover.init(".")
    ann = widget.annotate(["great phone", "awful battery"], labels=["good", "bad"], annotator=BOB)
    ann.choose("good")
    os.rmdir(".annover/objects")  # where the save writes is a file: the OS refuses (ENOTDIR), not annover
    open(".annover/objects", "w").close()
    with caplog.at_level(logging.ERROR):
        ann.command = {"action": "save"}  # the save button, as the page's model sends it
    said = ann.view["error"]
    assert re.fullmatch(r"save failed: NotADirectoryError: \[Errno 20\] Not a directory: '.*' — the answers are "
                        r"kept in the journal \(the traceback is in the kernel's log\)", said), said
    assert [r.exc_info[0] for r in caplog.records] == [NotADirectoryError]
    assert ann.result is None and ann.session.unsaved() == 1 and ann.session.journal.exists()


def test_the_counts_fit_a_narrow_widget_mid_way_and_past_the_end(tmp_path, monkeypatch, browser):
    monkeypatch.chdir(tmp_path)
    ann = widget.annotate([f"text number {i}" for i in range(200)], labels=["good", "bad"],
                          annotator="someone.with.a.long.name@example.org")
    for _ in range(137):
        ann.choose("good")
    for _ in range(12):
        ann.skip()
    cut = ("[...document.querySelectorAll('.annover-head span')].filter((e) => e.scrollWidth > e.clientWidth"
           " || !e.clientWidth).map((e) => e.innerText)")
    heads = []
    for _ in range(2):  # on task 150, then past the end (the longest count)
        page = browser.new_page(viewport={"width": 372, "height": 500})  # the widget 340 pixels wide
        _open(page, ann)
        assert page.evaluate(cut) == [], page.inner_text(".annover-head")
        assert page.inner_text(".annover-stats") == "137 labeled · 12 skipped"
        heads.append(page.locator(".annover-head").bounding_box()["height"])
        ann.goto(200)
    assert page.inner_text(".annover-count") == "past the end · 149 of 200 answered"
    assert len(set(heads)) == 1  # one height whatever it says: nothing under it moves


def test_the_save_button_says_at_once_that_a_version_is_being_saved(tmp_path, monkeypatch, browser):
    """A save takes seconds (a new labeling config is checked; 7 s on a busy machine): the button seemed
    dead, inviting a second click or closing the tab mid-save. The page says so the moment it is clicked,
    the button disabled, until Python's answer says what came of it."""
    monkeypatch.chdir(tmp_path)
    annover.init(".")
    ann = widget.annotate(["great phone", "awful battery"], labels=["good", "bad"], annotator=BOB)
    ann.choose("good")
    click = ("() => { const q = (s) => document.querySelector(s); q('.annover-save').click();"
             " return [q('.annover-saved').innerText, q('.annover-save').innerText, q('.annover-save').disabled]; }")
    page = browser.new_page()
    _open(page, ann)
    assert page.evaluate(click) == ["saving a version… (the answers are in the journal)", "saving…", True]
    page.wait_for_function("document.querySelector('.annover-saved').innerText === '✓ saved as v1'")
    assert page.inner_text(".annover-save") == "save version" and page.is_enabled(".annover-save")
    assert ann.result.tag == "v1"
