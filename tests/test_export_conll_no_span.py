"""``annover export --format conll`` of a NER dataset where an annotator answered a task with no
entity (Label Studio lets an answer be submitted with no span: "nothing to tag here").

The text field was found from the answer's spans (their ``to_name``), else the other answers' and
predictions'; a task whose only answer drew none fell back to a data field named ``text`` or the
data's only string, and a task whose text is in ``reviewText`` beside other fields stopped the
export (exit 3: "task data [...] has no field the text is in — give a labeling config with a
<Text value="$field"> tag", which the config has). The config's Labels control names the object.
And a text classification (no <Labels>) is refused as such rather than with that message.
"""

from __future__ import annotations

import json
import uuid

import pytest
from label_studio_sdk import LabelStudio
from seqeval.metrics.sequence_labeling import get_entities

import annover

from .conftest import shared_corpus
from .ls_fixtures import cli, ls_server  # noqa: F401 - fixtures

CORPUS = shared_corpus("label-studio")

CONFIG = """<View>
  <Text name="review" value="$reviewText"/>
  <Labels name="ents" toName="review"><Label value="PROD"/><Label value="ORG"/></Labels>
</View>
"""
TASKS = [{"id": "r1", "reviewText": "Bought an Acme drill", "summary": "ok"},
         {"id": "r2", "reviewText": "nothing to see here", "summary": "meh"}]


def _sentences(text: str) -> list[list[tuple[str, str]]]:
    """(token, tag) per sentence of a CoNLL file, as a reader splits it."""
    out: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        if line.startswith("-DOCSTART-"):
            continue
        if not line.strip():
            out.append([]) if out[-1] else None
            continue
        cols = line.split()
        out[-1].append((cols[0], cols[-1]))
    return [s for s in out if s]


@pytest.mark.labelstudio
def test_an_answer_with_no_span_is_a_sentence_of_o_tags(ls_server, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("ANNOVER_REMOTE_HOME", str(tmp_path / "remotes"))
    monkeypatch.setenv("ANNOVER_CACHE_DIR", str(tmp_path / "cache"))
    repo = annover.init(tmp_path / "repo")
    monkeypatch.chdir(repo.root)
    (tmp_path / "ner.xml").write_text(CONFIG)
    (tmp_path / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    title = f"t-{uuid.uuid4().hex[:8]}-conll-no-span"
    code, out, err = cli("dataset", "create", title, "--config", str(tmp_path / "ner.xml"))
    assert code == 0, err
    pid = int(out.split()[0])
    admin = LabelStudio(base_url=ls_server.url, api_key=ls_server.api_key, timeout=300)
    try:
        code, _, err = cli("dataset", "push", title, "--from", str(tmp_path / "tasks.jsonl"), "--key", "data.id")
        assert code == 0, err
        ids = {t.data["id"]: t.id for t in admin.tasks.list(project=pid)}
        admin.annotations.create(id=ids["r1"], result=[{"from_name": "ents", "to_name": "review", "type": "labels",
                                                        "value": {"start": 10, "end": 14, "text": "Acme",
                                                                  "labels": ["ORG"]}}])
        admin.annotations.create(id=ids["r2"], result=[])  # answered: no entity
        code, _, err = cli("snapshot", "--label-studio", title, "-m", "round 1")
        assert code == 0, err
        conll = tmp_path / "out.conll"
        code, _, err = cli("export", "HEAD", "--format", "conll", "--out", str(conll))
        assert code == 0, err
        sentences = _sentences(conll.read_text(encoding="utf-8"))
        assert [[w for w, _ in s] for s in sentences] == [["Bought", "an", "Acme", "drill"],
                                                          ["nothing", "to", "see", "here"]]
        assert [get_entities([t for _, t in s]) for s in sentences] == [[("ORG", 2, 2)], []]
    finally:
        admin.projects.delete(id=pid)


def test_conll_of_a_text_classification_is_refused_naming_its_controls(repo, tmp_path):
    """The corpus' sentiment export (a <Choices> on a <Text value="$reviewText">, task data with
    several text fields) has no span to write: the export said "task data [...] has no field the
    text is in — give a labeling config with a <Text value="$field"> tag" (exit 3), which it has."""
    export, config = CORPUS / "fe_sentiment_two_annotators.json", CORPUS / "fe_sentiment_two_annotators.xml"
    code, _, err = cli("snapshot", "--from", str(export), "--config", str(config), "-m", "sentiment")
    assert code == 0, err
    out = tmp_path / "x.conll"
    code, _, err = cli("export", "HEAD", "--format", "conll", "--resolve", "latest", "--out", str(out))
    assert code == 2
    assert err.splitlines() == ["Error: conll holds spans on text (<Labels>), and the version's labeling config has "
                                "none, only <Choices> — export these labels as hf, csv, parquet, json-min, jsonl or "
                                "label-studio"]
    assert not out.exists()
