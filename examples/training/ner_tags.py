"""Token classification (NER) data from one pinned version: the CoNLL file and the Hugging Face
`datasets.Dataset`, checked against each other with seqeval as a trainer's evaluation reads them.

In a clone of the labels repository, after `git checkout v2 && dvc pull`:

    python ner_tags.py v2 v2.conll

writes `v2.conll` (`annover export v2 --format conll --out v2.conll`), reads its tags sentence by
sentence, and compares them with `annover.load(v2, format="hf")`'s `tokens` and `<control>_tags`.
Prints one JSON line: the version, sentences, tokens, entities per type (seqeval), and the
seqeval F1 of the Dataset's tags against the file's (1.0: the same spans).
"""

from __future__ import annotations

import json
import sys
from collections import Counter

from seqeval.metrics import f1_score
from seqeval.metrics.sequence_labeling import get_entities

import annover


def read_conll(path: str) -> list[tuple[list[str], list[str]]]:
    """(tokens, tags) per sentence: the first and last column, as CoNLL-2003's readers take them."""
    sentences, tokens, tags = [], [], []
    for line in open(path, encoding="utf-8").read().splitlines() + [""]:
        cols = line.split()
        if not cols or cols[0] == "-DOCSTART-":
            if tokens:
                sentences.append((tokens, tags))
            tokens, tags = [], []
            continue
        tokens.append(cols[0])
        tags.append(cols[-1])
    return sentences


def main(rev: str, out: str) -> dict:
    version = annover.resolve(rev)
    annover.export(rev, "conll", out)
    file = read_conll(out)
    ds = annover.load(rev, format="hf")
    tags = next(name for name in ds.column_names if name.endswith("_tags"))
    names = ds.features[tags].feature.names
    hf = {" ".join(r["tokens"]): [names[i] for i in r[tags]] for r in ds}
    assert sorted(hf) == sorted(" ".join(t) for t, _ in file), "the file and the Dataset hold other sentences"
    gold = [t for _, t in file]
    pred = [hf[" ".join(tok)] for tok, _ in file]
    return {"version": version, "sentences": len(file), "tokens": sum(len(t) for t, _ in file),
            "entities": dict(sorted(Counter(e[0] for t in gold for e in get_entities(t)).items())),
            "f1": f1_score(gold, pred)}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:3])))
