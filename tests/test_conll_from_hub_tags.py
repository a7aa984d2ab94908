"""A Hugging Face dataset shaped as CoNLL-2003 on the hub (``tokens``, ``pos_tags``, ``chunk_tags``,
``ner_tags``, each tag column a ``Sequence(ClassLabel)``) exported to CoNLL: the BIO chunk tags, read as
spans of a control ``chunk`` beside ``ner``, took the tag column where they came first and the entities
were left out as "overlapping". The tag column now holds the ``ner`` spans; the note names what was left
out, by control, and where it is kept."""

from __future__ import annotations

import datasets

from .test_malformed_inputs import invoke

POS = ['"', "NNP", "VBZ", "JJ", "NN", "TO", "VB", "."]
CHUNK = ["O", "B-NP", "I-NP", "B-VP", "I-VP"]
NER = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
ROWS = {"id": ["0", "1"], "tokens": [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"]],
        "pos_tags": [[1, 2, 3, 4], [1, 1]], "chunk_tags": [[1, 3, 1, 2], [1, 2]], "ner_tags": [[3, 0, 7, 0], [1, 2]]}


def test_the_ner_tags_of_a_hub_conll2003_dataset_are_the_tag_column(repo, tmp_path):
    features = datasets.Features({
        "id": datasets.Value("string"), "tokens": datasets.Sequence(datasets.Value("string")),
        **{c: datasets.Sequence(datasets.ClassLabel(names=n))
           for c, n in (("pos_tags", POS), ("chunk_tags", CHUNK), ("ner_tags", NER))}})
    src = tmp_path / "conll2003"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(ROWS, features=features)}).save_to_disk(str(src))
    code, _, err = invoke("snapshot", "--from", str(src), "-m", "hub conll2003")
    assert code == 0, err
    out = tmp_path / "out.conll"
    code, _, err = invoke("export", "--format", "conll", "--out", str(out))
    assert code == 0, err
    want = {tuple(toks): [NER[t] for t in tags] for toks, tags in zip(ROWS["tokens"], ROWS["ner_tags"])}
    sentences = [s for s in out.read_text().split("\n\n") if s.strip() and not s.startswith("-DOCSTART-")]
    got = {tuple(ln.split()[0] for ln in s.splitlines()): [ln.split()[-1] for ln in s.splitlines()] for s in sentences}
    assert got == want
    assert "overlapping" not in err, err
    note = next(line for line in err.splitlines() if "have no place in CoNLL" in line)
    chunks = sum(t.startswith("B-") for tags in ROWS["chunk_tags"] for t in (CHUNK[i] for i in tags))
    assert f"{chunks} of 'chunk'" in note and f"{len(ROWS['pos_tags'])} of 'pos_tags'" in note, note
    assert "--format hf" in note, note
