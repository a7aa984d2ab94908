"""A version whose tasks have splits, exported to train on: each split where the trainer reads it.

Was: ``annover export v2 --format conll`` wrote every split into one file, and said nothing (a NER model
trained on it saw the test set), where the COCO, YOLO, VOC and Hugging Face exports lay the splits out.
And a YOLO export of no split named the same images as ``train`` and ``val`` without a note (VOC's says so).
"""

from __future__ import annotations

import json
from pathlib import Path

import annover
from annover.formats.conll import SPLIT_FILES
from annover.formats.training import read_train, render_train

from .conftest import shared_corpus

LS = shared_corpus("label-studio")
SPLIT_OF = ("train", "train", "val", "test", None)  # the fifth task has none: it goes to train


def _sentences(path: Path) -> list[list[tuple[str, str]]]:
    """A plain CoNLL reader, as a trainer's: token (first column) and tag (last) per line, sentences at blank
    lines, ``-DOCSTART-`` skipped."""
    out: list[list[tuple[str, str]]] = [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-") or not line.strip():
            out += [[]] if out[-1] else []
            continue
        cols = line.split()
        out[-1].append((cols[0], cols[-1]))
    return [s for s in out if s]


def test_conll_of_a_version_with_splits_is_a_file_per_split(repo, tmp_path):
    """``--out`` a folder name: train.conll, dev.conll, test.conll, each the rows of the Hugging Face split
    line for line (tokens and tags); ``--out x.conll``: one file, and a note saying it holds every split."""
    tasks = json.loads((LS / "ner_predictions_nerine.json").read_text(encoding="utf-8"))
    for t, s in zip(tasks, SPLIT_OF):
        if s:
            t["data"]["split"] = s
    (tmp_path / "ner.json").write_text(json.dumps(tasks), encoding="utf-8")
    repo.snapshot(tmp_path / "ner.json", config=LS / "ner_predictions_nerine.xml", key="data.doc_name", message="s")
    res = annover.export("HEAD", "conll", tmp_path / "v1-conll")
    assert sorted(p.name for p in (tmp_path / "v1-conll").iterdir()) == sorted(SPLIT_FILES.values())
    assert any("a file per split" in n for n in res.notes) and any("1 task(s) have no split" in n for n in res.notes)
    one = annover.export("HEAD", "conll", tmp_path / "v1.conll")
    assert any("this one file holds them all" in n for n in one.notes)
    whole = _sentences(tmp_path / "v1.conll")
    got = []
    for split, name in SPLIT_FILES.items():
        rows = annover.load("HEAD", format="hf", split=split)
        names = rows.features["label_tags"].feature.names
        sents = _sentences(tmp_path / "v1-conll" / name)
        assert [[tok for tok, _ in s] for s in sents] == rows["tokens"]
        assert [[tag for _, tag in s] for s in sents] == [[names[i] for i in r] for r in rows["label_tags"]]
        got += sents
    assert sorted(map(str, got)) == sorted(map(str, whole)) and len(got) == len(tasks)


def test_yolo_of_no_split_says_val_is_the_training_images():
    """No task has a split: data.yaml's train and val name one folder, and the notes say so; with splits, not."""
    t = read_train(shared_corpus("formats") / "yolo_detect_lssdk", "yolo", None, True)
    tables = {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}
    notes = render_train("yolo", tables, t.config_text).notes
    assert any("train and val both name images" in n for n in notes)
    data = [json.dumps({**json.loads(d), "split": "val" if i % 2 else "train"})
            for i, d in enumerate(t.tasks.column("data").to_pylist())]
    split = t.tasks.set_column(t.tasks.schema.get_field_index("data"), "data", [data])
    notes = render_train("yolo", {**tables, "tasks": split}, t.config_text).notes
    assert not any("train and val both name" in n for n in notes)
