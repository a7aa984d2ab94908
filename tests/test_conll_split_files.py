"""A CoNLL export of a version whose tasks have splits renders the form it writes: one file
(``--out x.conll``) renders the tasks once, not again a file per split; a folder (``--out x``)
renders each split's file once.

One module-scoped repository of 12 sentences in train, val and test.
"""

from __future__ import annotations

import json

import pytest

from annover.formats import conll

from .test_cli import invoke

CONFIG = """<View><Labels name="label" toName="text"><Label value="PER"/><Label value="LOC"/></Labels>
<Text name="text" value="$text"/></View>"""


def _task(i: int) -> dict:
    text = f"Alice went to Paris on day {i}"
    res = [{"id": f"r{i}{n}", "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": s, "end": e, "text": text[s:e], "labels": [lab]}}
           for n, (s, e, lab) in enumerate([(0, 5, "PER"), (14, 19, "LOC")])]
    return {"id": i + 1, "data": {"text": text, "ext_id": f"s{i}", "split": ("train", "val", "test")[i % 3]},
            "annotations": [{"id": i + 1, "completed_by": {"email": "a@example.com"}, "result": res}]}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("splits") / "repo"
    root.mkdir()
    (root / "ner.json").write_text(json.dumps([_task(i) for i in range(12)]))
    (root / "labeling.xml").write_text(CONFIG)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        for args in (("init", "-q"), ("snapshot", "--from", "ner.json", "--config", "labeling.xml",
                                      "--key", "data.ext_id", "-m", "ner", "-q")):
            code, _, err = invoke(*args)
            assert code == 0, err
    return root


def _export(root, monkeypatch, out: str) -> list[int]:
    """The tasks of each CoNLL text rendered (:func:`annover.formats.conll.write`) by ``export --out out``."""
    rendered: list[int] = []
    write = conll.write

    def counted(picked, *args, **kw):
        rendered.append(len(picked.items))
        return write(picked, *args, **kw)

    monkeypatch.chdir(root)
    monkeypatch.setattr(conll, "write", counted)
    code, _, err = invoke("export", "v1", "--format", "conll", "--out", out, "--force")
    assert code == 0, err
    return rendered


def test_one_file_renders_the_tasks_once(root, monkeypatch):
    assert _export(root, monkeypatch, "one.conll") == [12]
    text = (root / "one.conll").read_text()
    assert text.count("B-PER") == 12 and text.count("B-LOC") == 12


def test_a_folder_renders_each_split_once(root, monkeypatch):
    rendered = _export(root, monkeypatch, "folder")
    assert rendered.count(4) == 3 and len(rendered) <= 4  # each split once (and the whole, still, once)
    files = {p.name: p.read_text() for p in (root / "folder").iterdir()}
    assert sorted(files) == ["dev.conll", "test.conll", "train.conll"]
    assert all(t.count("B-PER") == 4 and t.count("B-LOC") == 4 for t in files.values())
