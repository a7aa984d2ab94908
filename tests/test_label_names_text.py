"""Every text output names a label one way (:func:`annover.model.names.label_name`): a label holding
", " (``damaged, missing``) or quotes is quoted as Python quotes text, any other as it is, so
``Labels sentiment: 'damaged, missing' 4, Positive 1`` names two labels, not three. ``show``, ``diff`` (its
summary, ``--stat``, ``--transitions``), ``agreement``, ``eval``, ``suspects`` (the item and its reasons)
wrote it plain, ``eval`` and the suspects' reasons quoted it; ``--json`` names labels as they are.
``eval`` of regions under ``--resolve majority`` said ``(majority)``: regions are those of a ground-truth
answer, else of the latest. Data: the shared corpus's sentiment and box exports, a label renamed."""

from __future__ import annotations

import json

import pytest

import annover

from .conftest import shared_corpus
from .test_cli import invoke

COMMA, QUOTED, CAR = "damaged, missing", '"meh"', "car, parked"


def _renamed(text: str, names: dict[str, str]) -> str:
    for old, new in names.items():
        text = text.replace(json.dumps(old), json.dumps(new))
    return text


def _choice(label: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "my_text", "type": "choices", "value": {"choices": [label]}}]


def _sentiment(root):
    """Two versions of the sentiment export (Negative renamed ``damaged, missing``, Neutral ``"meh"``), a
    third annotator and a model's confident predictions added; v2 relabels the first answers ``"meh"``."""
    src = shared_corpus("label-studio")
    names = {"Negative": COMMA, "Neutral": QUOTED}
    config = (src / "fe_sentiment_two_annotators.xml").read_text()
    for old, new in names.items():
        config = config.replace(f'value="{old}"', f'value="{new.replace(chr(34), "&quot;")}"')
    (root / "c.xml").write_text(config)
    tasks = json.loads(_renamed((src / "fe_sentiment_two_annotators.json").read_text(), names))
    for i, t in enumerate(tasks):
        predicted = ["Positive", COMMA, QUOTED][i % 3]
        t["predictions"] = [{"model_version": "m", "score": 0.95, "result": _choice(predicted)}]
        t["annotations"].append({"completed_by": 3, "result": _choice(COMMA)})
    repo = annover.init(root)
    (root / "t1.json").write_text(json.dumps(tasks))
    repo.snapshot(str(root / "t1.json"), config=str(root / "c.xml"), message="one")
    for t in tasks:
        t["annotations"][0]["result"] = _choice(QUOTED)
    (root / "t2.json").write_text(json.dumps(tasks))
    repo.snapshot(str(root / "t2.json"), message="two")


def _boxes(root):
    """Two versions of the box export (Car renamed ``car, parked``); v2 moves each box and swaps its label."""
    src = shared_corpus("label-studio")
    (root / "c.xml").write_text((src / "sdk_bbox_reviews_predictions.xml").read_text().replace('"Car"', f'"{CAR}"'))
    tasks = json.loads(_renamed((src / "sdk_bbox_reviews_predictions.json").read_text(), {"Car": CAR}))
    repo = annover.init(root)
    (root / "t1.json").write_text(json.dumps(tasks))
    repo.snapshot(str(root / "t1.json"), config=str(root / "c.xml"), message="one")
    for r in (r for t in tasks for a in t["annotations"] for r in a["result"]):
        r["value"]["rectanglelabels"] = ["Airplane" if r["value"]["rectanglelabels"] == [CAR] else CAR]
        r["value"]["x"] += 1
    (root / "t2.json").write_text(json.dumps(tasks))
    repo.snapshot(str(root / "t2.json"), message="two")


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "T",
                     "GIT_COMMITTER_EMAIL": "t@example.com"}.items():
            mp.setenv(k, v)
        out = {}
        for name, make in (("sentiment", _sentiment), ("boxes", _boxes)):
            out[name] = tmp_path_factory.mktemp(name)
            mp.chdir(out[name])
            make(out[name])
        return out


def _run(monkeypatch, root, *args: str) -> list[str]:
    monkeypatch.chdir(root)
    code, out, err = invoke(*args)
    assert code == 0, err
    return out.splitlines()


def _line(lines: list[str], start: str) -> str:
    return next(x for x in lines if x.strip().startswith(start))


def test_show_and_diff_quote_a_label_that_reads_as_several(repos, monkeypatch):
    root = repos["sentiment"]
    shown = _line(_run(monkeypatch, root, "show"), "Labels sentiment:")
    assert f"'{COMMA}' " in shown and f"'{QUOTED}' " in shown, shown
    lines = _run(monkeypatch, root, "diff", "v1", "v2")
    at = lines.index("Labels sentiment:")
    assert {x.split("  ")[1] for x in lines[at + 1:at + 3]} == {f"'{COMMA}'", f"'{QUOTED}'"}
    assert f"sentiment  '{COMMA}' -> '{QUOTED}'" in _line(lines, "sentiment  '")
    stat = _line(_run(monkeypatch, root, "diff", "v1", "v2", "--stat"), "labels")
    assert f"sentiment:'{COMMA}' " in stat and f"sentiment:'{QUOTED}' " in stat, stat
    transitions = _run(monkeypatch, root, "diff", "v1", "v2", "--transitions")
    assert _line(transitions, f"'{COMMA}'")
    doc = json.loads("\n".join(_run(monkeypatch, root, "diff", "v1", "v2", "--json")))
    assert set(doc["labels"]["sentiment"]) == {COMMA, QUOTED}  # --json: as they are
    assert doc["relabels"][0]["from"] == COMMA


def test_agreement_eval_and_suspects_name_labels_alike(repos, monkeypatch):
    root = repos["sentiment"]
    assert _line(_run(monkeypatch, root, "agreement"), f"'{COMMA}'")
    assert _line(_run(monkeypatch, root, "eval"), f"'{COMMA}'")
    lines = _run(monkeypatch, root, "suspects")
    items = [x for x in lines if "  sentiment=" in x]
    assert items and all(f"sentiment='{COMMA}'" in x for x in items), lines
    text = "\n".join(items)
    assert f"said '{QUOTED}'" in text and "m says Positive (score" in text, text
    assert f"no majority: '{COMMA}', '{QUOTED}' have" in text, text


def test_region_wording_and_eval_header(repos, monkeypatch):
    root = repos["boxes"]
    assert f"label  '{CAR}' -> Airplane" in _line(_run(monkeypatch, root, "diff", "v1", "v2"), "label  '")
    lines = _run(monkeypatch, root, "suspects")
    assert any(f"changed since v1: '{CAR}' -> Airplane" in x for x in lines), lines
    assert _line(_run(monkeypatch, root, "eval"), f"'{CAR}'")
    head = _run(monkeypatch, root, "eval", "--resolve", "majority")[0]
    assert "(majority)" not in head and head.endswith("(regions of a ground-truth answer, else of the latest)"), head
