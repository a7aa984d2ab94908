"""Text and NER files as other people write them (GermEval 2014's TSV, CoNLL-2003's ``eng.train``,
Universal Dependencies' CoNLL-U, doccano's JSONL), each reproduced by a small file written here: what
``annover snapshot --from`` made of it before (a table, a refusal naming no format, a misreading), and
that the snapshot now holds the file's tokens, spans and labels, counted here from the file itself.
"""

from __future__ import annotations

import json

import annover
from annover.formats.conll import entity_spans
from annover.formats.read import read_source

from .ls_fixtures import cli

#: GermEval 2014's first training sentence: index, token, outer tag, nested tag; a "#" line names its source
GERMEVAL = """#\thttp://de.wikipedia.org/wiki/Manfred_Korfmann [2009-10-17]
1\tAufgrund\tO\tO
2\tseiner\tO\tO
3\tInitiative\tO\tO
4\tfand\tO\tO
5\t2001/2002\tO\tO
6\tin\tO\tO
7\tStuttgart\tB-LOC\tO
8\t,\tO\tO
9\tBraunschweig\tB-LOC\tO
10\tund\tO\tO
11\tBonn\tB-LOC\tO
12\teine\tO\tO
13\tgroße\tO\tO
14\tund\tO\tO
15\tpublizistisch\tO\tO
16\tvielbeachtete\tO\tO
17\tTroia-Ausstellung\tB-LOCpart\tO
18\tstatt\tO\tO
19\t,\tO\tO
20\t„\tO\tO
21\tTroia\tB-OTH\tB-LOC
22\t-\tI-OTH\tO
23\tTraum\tI-OTH\tO
24\tund\tI-OTH\tO
25\tWirklichkeit\tI-OTH\tO
26\t“\tO\tO
27\t.\tO\tO

"""


def _snapshot(tmp_path, monkeypatch, src, *args: str) -> tuple[int, str, str]:
    """``annover snapshot --from src`` in a fresh repository (the cwd): (exit code, stdout, stderr)."""
    annover.init(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    return cli("snapshot", "--from", str(src), "-m", "wild", *args)


def _spans(tables) -> list[tuple[str, str]]:
    """(text, label) of every span of the tables' answers, in order."""
    rows = tables.annotations.to_pylist()
    return sorted((json.loads(r["value"])["text"], json.loads(r["value"])["labels"][0]) for r in rows
                  if r["type"] == "labels")


def test_germeval_tsv_is_read_as_ner_with_its_nested_entities(tmp_path, monkeypatch):
    """A GermEval 2014 ``.tsv`` was read as a table ('line 2 has 4 values, the header 3 columns', exit 3), and
    with ``--format conll`` its index column was the token and the nested column the tag (every tag O). Now
    it is NER: the token from column 2, entities from column 3 and nested ones from column 4."""
    src = tmp_path / "NER-de-train.tsv"
    src.write_text(GERMEVAL, encoding="utf-8")
    lines = [ln.split("\t") for ln in GERMEVAL.splitlines() if ln and not ln.startswith("#")]
    words = [c[1] for c in lines]
    want = sorted((" ".join(words[a:b]), label) for col in (2, 3)
                  for a, b, label in entity_spans([c[col] for c in lines], words))
    got = read_source(src)
    assert [json.loads(d)["text"] for d in got.tasks.column("data").to_pylist()] == [" ".join(words)]
    assert _spans(got) == want and ("Troia", "LOC") in want
    code, _, err = _snapshot(tmp_path, monkeypatch, src)
    assert code == 0, err
    out = tmp_path / "out.conll"
    code, _, err = cli("export", "HEAD", "--format", "conll", "--out", str(out))
    assert code == 0 and "1 overlapping span(s)" in err, err
    assert [ln.split()[0] for ln in out.read_text().splitlines() if ln and ln[0] != "#" and not ln.startswith("-DOCSTART-")] == words


#: the start of CoNLL-2003's own ``eng.train``: token, POS, chunk, tag in IOB1, a -DOCSTART- line first
ENG_TRAIN = """-DOCSTART- -X- O O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O
to TO I-VP O
boycott VB I-VP O
British JJ I-NP I-MISC
lamb NN I-NP O
. . O O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER

"""


def test_conll2003_eng_train_is_read_by_its_own_name(tmp_path):
    """CoNLL-2003 ships ``eng.train``, ``eng.testa`` and ``eng.testb``: such a file was 'unknown file type
    .train' (exit 3) unless ``--format conll`` was given. Its lines now say it is CoNLL, as a ``.txt``'s do."""
    for name in ("eng.train", "eng.testa", "eng.testb"):
        src = tmp_path / name
        src.write_text(ENG_TRAIN, encoding="utf-8")
        lines = [ln.split() for ln in ENG_TRAIN.splitlines() if ln and not ln.startswith("-DOCSTART-")]
        words = [c[0] for c in lines]
        want = sorted((" ".join(words[a:b]), label) for a, b, label in entity_spans([c[-1] for c in lines], words))
        assert _spans(read_source(src)) == want and len(want) == 4


#: Universal Dependencies' CoNLL-U: 10 columns a token, a multiword token's range line, comments
CONLLU = """# sent_id = 1
# text = vámonos al mar
1-2\tvámonos\t_\t_\t_\t_\t_\t_\t_\t_
1\tvamos\tir\tVERB\t_\t_\t0\troot\t_\t_
2\tnos\tnosotros\tPRON\t_\t_\t1\tobj\t_\t_
3-4\tal\t_\t_\t_\t_\t_\t_\t_\t_
3\ta\ta\tADP\t_\t_\t5\tcase\t_\t_
4\tel\tel\tDET\t_\t_\t5\tdet\t_\t_
5\tmar\tmar\tNOUN\t_\t_\t1\tobl\t_\tSpaceAfter=No

"""


def test_conllu_is_named_and_refused_with_the_way_in(tmp_path, monkeypatch):
    """A ``.conllu`` file was 'unknown file type .conllu', and with ``--format conll`` "tag '_' is not O,
    B-X...": neither named the format. Now the refusal says it is CoNLL-U, which holds no entity tags."""
    src = tmp_path / "es_gsd-ud-train.conllu"
    src.write_text(CONLLU, encoding="utf-8")
    for args in ((), ("--format", "conll")):
        code, _, err = _snapshot(tmp_path / args[-1] if args else tmp_path / "x", monkeypatch, src, *args)
        assert code == 3 and "is CoNLL-U (Universal Dependencies" in err and err.count("\n") == 1, err
