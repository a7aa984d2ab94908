"""The notebook annotator's follow-ups from the notebook -> Label Studio trial (8 December).

- ``annotate(["short text", ...])`` in a repository whose labeling config labels images made image tasks
  of the texts: a placeholder each, and a save stored the texts as image paths. Refused, naming the item;
  image URLs without a suffix and files in a DVC cache (md5 names, no suffix) still pass.
"""

from __future__ import annotations

import json

import pytest

import annover
from annover.errors import UsageError

widget = pytest.importorskip("annover.notebook.widget")

ANN = "ann@example.com"
IMAGES = ('<View><Image name="image" value="$image"/><Choices name="animal" toName="image">'
          '<Choice value="cat"/><Choice value="dog"/></Choices></View>')


@pytest.fixture(scope="module")
def images_repo(tmp_path_factory):
    """A repository whose HEAD labels images (one task, snapshot from a Label Studio export)."""
    root = tmp_path_factory.mktemp("images") / "repo"
    repo = annover.init(root)
    (root / "c.xml").write_text(IMAGES)
    (root / "e.json").write_text(json.dumps([{"id": 1, "data": {"image": "pics/a.png"}}]))
    repo.snapshot(str(root / "e.json"), config=str(root / "c.xml"), message="images")
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
