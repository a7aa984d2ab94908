"""The Hugging Face export's rows come in the order the CoNLL export writes its sentences (a CoNLL file's
order, Label Studio's task order), so gold and a model's tags line up between the two. The rows came in
task-key order (the hash of each sentence): row i was another sentence than the CoNLL file's i-th, and
seqeval scoring one against the other, zipped, scored sentences against other sentences."""

from __future__ import annotations

import pytest
from seqeval.metrics import f1_score

from annover.formats.training import read_train, render_train

from .conftest import shared_corpus

FORMATS = shared_corpus("formats")


def _sentences(conll: bytes) -> list[tuple[list[str], list[str]]]:
    """(tokens, tags) of each sentence of a CoNLL file, as seqeval's readers take them."""
    out = []
    for block in conll.decode().split("\n\n"):
        lines = [ln.split() for ln in block.splitlines() if ln.strip() and not ln.startswith("-DOCSTART-")]
        if lines:
            out.append(([ln[0] for ln in lines], [ln[-1] for ln in lines]))
    return out


def test_hf_rows_are_the_conll_sentences_in_their_order():
    """flair's fashion sample: six sentences, whose keys' order is not the file's."""
    name = "conll_flair_fashion.conll"
    if not (FORMATS / name).exists():
        pytest.skip("the shared corpus is not here")
    t = read_train(FORMATS / name, "conll", None, True)
    tables = {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}
    ds = render_train("hf", tables, t.config_text).dataset
    exported = _sentences(render_train("conll", tables, t.config_text).data)
    read = _sentences((FORMATS / name).read_bytes())
    names = ds.features["label_tags"].feature.names
    rows = [(row["tokens"], [names[i] for i in row["label_tags"]]) for row in ds]
    assert [toks for toks, _ in rows] == [toks for toks, _ in exported] == [toks for toks, _ in read]
    assert f1_score([tags for _, tags in exported], [tags for _, tags in rows]) == 1.0
