"""The notebook annotator's follow-ups from the notebook -> Label Studio trial (8 December).

- ``annotate(["short text", ...])`` in a repository whose labeling config labels images made image tasks
  of the texts: a placeholder each, and a save stored the texts as image paths. Refused, naming the item;
  image URLs without a suffix and files in a DVC cache (md5 names, no suffix) still pass.
- ``repo.show("v1")`` in a notebook was a line of plain text (a diff, suspects, eval are tables): a version
  has a ``_repr_html_``, escaped, right-to-left names set apart.
- The widget's status line named two right-to-left labels toggled in a multi-label task in reversed order
  (``א, ב chosen`` drawn ``ב ,א chosen``), as did the line saying a move leaves them: each is set apart
  (``<bdi>`` on the status line, U+2068..U+2069 in its tooltip and in the error line).
"""

from __future__ import annotations

import html
import json
import os
import re

import pytest

import annover
from annover.errors import UsageError
from annover.formats.records import data_objects
from annover.labelstudio.tasks import LocalFiles, read_version
from annover.model.config import LabelingConfig

widget = pytest.importorskip("annover.notebook.widget")
pytest.importorskip("playwright.sync_api")
from tests.test_audit_h3_reading import WHERE  # noqa: E402 - where a text is drawn
from tests.test_notebook_browser import _browser, _chromium, _open  # noqa: E402 - the browser, its shim

ANN = "ann@example.com"
MESSAGE = "<img src=x onerror=alert(1)> תמונות 2\nsecond line"
IMAGES = ('<View><Image name="image" value="$image"/><Choices name="animal" toName="image">'
          '<Choice value="cat"/><Choice value="dog"/></Choices></View>')


@pytest.fixture(scope="module")
def images_repo(tmp_path_factory):
    """A repository whose HEAD labels images (one task, snapshot from a Label Studio export)."""
    root = tmp_path_factory.mktemp("images") / "repo"
    repo = annover.init(root)
    (root / "c.xml").write_text(IMAGES)
    answer = {"id": 1, "completed_by": {"id": 7, "email": "שרה@example.com"}, "result": [
        {"id": "r", "from_name": "animal", "to_name": "image", "type": "choices", "value": {"choices": ["cat"]}}]}
    (root / "e.json").write_text(json.dumps([{"id": 1, "data": {"image": "pics/a.png"}, "annotations": [answer]}]))
    repo.snapshot(str(root / "e.json"), config=str(root / "c.xml"), message=MESSAGE)
    return repo


def test_texts_given_to_a_repository_labeling_images_are_refused(images_repo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    texts = ["great phone", "awful battery"]
    with pytest.raises(UsageError) as e:
        annover.annotate(texts, repo=images_repo, annotator=ANN)
    assert str(e.value).startswith(f"item 0 ({texts[0]!r}) is no image path or URL, and the labeling config of "
                                   "HEAD labels images (control 'animal' on 'image')")
    with pytest.raises(UsageError, match=r"^record 1's field 'image' \('a text'\) is no image path"):
        annover.annotate([{"image": "b.png"}, {"image": "a text"}], repo=images_repo, annotator=ANN)
    # what may name an image still passes: a URL with no suffix, a file of a DVC cache (md5 names), kind=
    cached = tmp_path / "cache" / "files" / "md5" / "3f" / ("9c" * 15)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "scan").symlink_to(cached)
    items = ["https://example.com/img?id=7", "s3://bucket/key", str(cached), "scan"]
    ann = annover.annotate(items, repo=images_repo, annotator=ANN)
    assert [t.kind for t in ann.session.tasks] == ["image"] * 4
    ann = annover.annotate(["scan-0001"], repo=images_repo, kind="image", annotator=ANN)  # the user says so
    assert ann.session.tasks[0].kind == "image"


def test_a_version_shows_as_a_table_in_a_notebook(images_repo):
    v = images_repo.show("HEAD")
    page = v._repr_html_()
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page  # the message is text
    assert page.count("<bdi>") >= 2  # the Hebrew message and annotator set apart from what follows them
    cells = dict(re.findall(r"<th[^>]*>([^<]+)</th><td[^>]*>(.*?)</td>", page))
    s = v.stats
    assert cells["version"] == v.id and cells["author"] == html.escape(v.author)
    assert cells["tasks"] == f"{s['tasks']} ({s['labeled']} labeled, {s['unlabeled']} unlabeled)"
    assert [re.sub("</?bdi>", "", a) for a in cells["annotators"].split(", ")] == [
        f"{k} {n}" for k, n in s["annotators"].items()]
    assert re.findall(r"<td[^>]*>(animal)</td><td[^>]*>(cat)</td><td[^>]*>(\d+)</td>", page) == [
        ("animal", "cat", str(s["labels"]["animal"]["cat"]))]


def test_two_right_to_left_labels_toggled_read_in_the_order_chosen(_chromium, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    labels = ["\u05d7\u05ea\u05d5\u05dc", "\u05db\u05dc\u05d1", "bird"]  # Hebrew "cat", "dog", then "bird"
    ann = widget.annotate(["a photo of two pets"], labels=labels, multiple=True, annotator=ANN)
    with _browser() as b:
        page = b.new_page(viewport={"width": 900, "height": 500})
        _open(page, ann)
        for key in "12":
            page.keyboard.press(key)
        page.wait_for_function("document.querySelector('.annover-state').innerText.includes('chosen')")
        state = page.inner_text(".annover-state")
        pending = "chosen, not answered yet — press Enter (⏎ submit) to answer with them"
        assert state == f"{labels[0]}, {labels[1]} {pending}"
        first, second = (page.evaluate(WHERE, [".annover-state", lab, 0]) for lab in labels[:2])
        assert first[1] <= second[0] + 0.5, (first, second)  # the first chosen drawn first, left of the second
        title = page.get_attribute(".annover-state", "title")
        isolated = [f"\u2068{lab}\u2069" for lab in labels[:2]]
        assert title == f"{isolated[0]}, {isolated[1]} {pending}"
        page.keyboard.press("ArrowRight")  # a move away from them is held once, the error line naming them
        page.wait_for_selector(".annover-error")
        first, second = (page.evaluate(WHERE, [".annover-error", lab, 0]) for lab in labels[:2])
        assert first[1] <= second[0] + 0.5, (first, second)
        page.screenshot(path="/tmp/h6/rtl-state.png") if os.environ.get("ANNOVER_H6_SHOTS") else None
        page.close()


def test_a_notebook_version_pushes_its_images_as_files_label_studio_serves(tmp_path, monkeypatch):
    """A version the annotator saved names its images relative to the repository; its push sent them as they
    were, with a warning that the folder they are relative to is unknown, unless given --image-root ."""
    root = tmp_path / "served" / "repo"
    repo = annover.init(root)
    (root / "pics").mkdir()
    for name in ("a.png", "b.png"):
        (root / "pics" / name).write_bytes(b"\x89PNG\r\n\x1a\n" + name.encode())
    monkeypatch.chdir(root)
    ann = annover.annotate("pics/", labels=["cat", "dog"], repo=repo, annotator=ANN)
    ann.choose("cat")
    ann.choose("dog")
    v = ann.save(message="two pictures").version
    cfg = LabelingConfig(repo.config_text(v.id))
    src = read_version(repo, v.id, True, objects=data_objects(cfg), local=LocalFiles(str(tmp_path / "served")))
    assert src.warnings == []
    sent = sorted(item["data"][o.field] for item in src.items for o in data_objects(cfg) if o.tag == "Image")
    assert sent == [f"/data/local-files/?d=repo/pics/{n}" for n in ("a.png", "b.png")], sent
