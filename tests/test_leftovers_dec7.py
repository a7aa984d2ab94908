"""Small things users hit, found by the audits of 7 December: each through the real CLI handler."""

from __future__ import annotations

import json
from pathlib import Path

import annover
from tests.test_cli import invoke


def _one_error_line(code: int, stdout: str, err: str, expected_code: int) -> str:
    """The one line of an error: ``expected_code``, nothing on stdout, one line on stderr."""
    assert code == expected_code and stdout == "" and len(err.splitlines()) == 1, (code, stdout, err)
    return err


def test_tag_in_a_repository_with_no_version_says_so_as_show_does(tmp_path, monkeypatch):
    annover.init(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    said_by_show = _one_error_line(*invoke("show"), 7).removeprefix("Error: ").rstrip()
    what, how = said_by_show.split(" — ")
    for rev in ("v1", "HEAD~1", "main"):
        err = _one_error_line(*invoke("tag", "best", rev), 7)
        assert err.startswith(f"Error: {what}") and err.rstrip().endswith(how), err
        assert repr(rev) in err or rev == "HEAD~1", err
    assert _one_error_line(*invoke("tag", "best"), 7).removeprefix("Error: ").rstrip() == said_by_show


def _text_tasks(fields: tuple[str, ...]) -> list[dict]:
    """Label Studio tasks of text (data ``fields``, the last the text), a PER span each, as an NER export has."""
    texts = ["Ada Lovelace wrote the first program.", "Alan Turing broke the code."]
    out = []
    for i, text in enumerate(texts):
        name = " ".join(text.split()[:2])
        span = {"start": 0, "end": len(name), "text": name, "labels": ["PER"]}
        out.append({"id": i + 1, "data": {**{f: f"doc {i}" for f in fields[:-1]}, fields[-1]: text},
                    "annotations": [{"id": 10 + i, "result": [{"id": f"r{i}", "from_name": "label", "to_name": "text",
                                                              "type": "labels", "value": span}]}]})
    return out


def test_an_image_format_of_a_text_version_without_config_says_it_is_no_image_task(tmp_path, monkeypatch):
    """Without a labeling config, a text version's one data field was read as the image's file name
    ("the image size is not known"), and two fields as "no field the image is in": neither says why."""
    for fields in (("text",), ("doc_name", "text")):
        root = tmp_path / "_".join(fields)
        annover.init(root)
        monkeypatch.chdir(root)
        Path("ner.json").write_text(json.dumps(_text_tasks(fields)))
        assert invoke("snapshot", "--from", "ner.json", "-q")[0] == 0
        for fmt in ("voc", "yolo", "coco", "yolo-obb"):
            out = root / f"out_{fmt}"
            err = _one_error_line(*invoke("export", "--format", fmt, "--out", str(out)), 2)
            assert not out.exists() and "no image task" in err, err
            assert "conll (spans)" in err and "hf, csv" in err and "image size" not in err, err
