"""Text and NER files as other people write them (GermEval 2014's TSV, CoNLL-2003's ``eng.train``,
Universal Dependencies' CoNLL-U, doccano's JSONL), each reproduced by a small file written here: what
``annover snapshot --from`` made of it before (a table, a refusal naming no format, a misreading), and
that the snapshot now holds the file's tokens, spans and labels, counted here from the file itself.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import annover
from annover.errors import InputError
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
    written = [ln.split()[0] for ln in out.read_text().splitlines() if ln and ln[0] != "#"]
    assert [w for w in written if w != "-DOCSTART-"] == words


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
    src.write_text("WORD\tTAG\n" + ENG_TRAIN)  # flair's sample of a header line: the CoNLL reader names it
    with pytest.raises(InputError, match=r"eng.testb: line 4: 4 columns, line 1 has 2"):
        read_source(src)


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


#: doccano's sequence labeling export (its own example), a line of an empty label list, a repeated text
DOCCANO_NER = [{"id": 1, "text": "EU rejects German call to boycott British lamb.",
                "label": [[0, 2, "ORG"], [11, 17, "MISC"]], "Comments": []},
               {"id": 2, "text": "Peter Blackburn", "label": [[0, 15, "PERSON"]], "Comments": []},
               {"id": 3, "text": "President Obama", "label": [[10, 15, "PERSON"]], "Comments": []},
               {"id": 4, "text": "Nothing here.", "label": [], "Comments": []},
               {"id": 5, "text": "Peter Blackburn", "label": [[0, 5, "PERSON"]], "Comments": []}]


def _jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_doccano_sequence_labeling_jsonl_is_read_as_spans(tmp_path, monkeypatch):
    """doccano's JSONL (``text`` and ``label``: [[start, end, tag]]) was 'columns of mixed types: Could not
    convert 'ORG' with type str: tried to convert to int64' (exit 3), naming no format. Each line is now a
    task with its spans; ``export --format conll`` writes them, as seqeval reads them back."""
    seqeval = pytest.importorskip("seqeval.metrics.sequence_labeling")
    src = tmp_path / "admin.jsonl"
    _jsonl(src, DOCCANO_NER)
    want = sorted((r["text"][s:e], label) for r in DOCCANO_NER for s, e, label in r["label"])
    got = read_source(src)
    assert _spans(got) == want and got.tasks.num_rows == len(DOCCANO_NER)
    code, _, err = _snapshot(tmp_path, monkeypatch, src)
    assert code == 0, err
    out = tmp_path / "out.conll"
    code, _, err = cli("export", "HEAD", "--format", "conll", "--out", str(out))
    assert code == 0, err
    words, tags = [], []
    for ln in out.read_text().splitlines():
        if ln and not ln.startswith("-DOCSTART-"):
            words.append(ln.split()[0])
            tags.append(ln.split()[-1])
    found = sorted((" ".join(words[a:b + 1]), label) for label, a, b in seqeval.get_entities(tags))
    assert found == want


def test_doccano_classification_jsonl_is_read_as_choices(tmp_path):
    """doccano's text classification JSONL (``label``: ["positive"]) was 'no key column task_key' (exit 3),
    and with --key and a config "['negative'] is list<item: string>, expected a string". Its classes are
    now choices, a multiple one where a line has two."""
    rows = [{"text": "Terrible customer service.", "label": ["negative"]},
            {"text": "Really great transaction.", "label": ["positive"]},
            {"text": "Great price, slow shipping.", "label": ["positive", "negative"]}]
    src = tmp_path / "cls.jsonl"
    _jsonl(src, rows)
    got = read_source(src)
    choices = [json.loads(r["value"])["choices"] for r in got.annotations.to_pylist()]
    assert sorted(choices) == sorted(r["label"] for r in rows)
    assert 'choice="multiple"' in got.config_text


def test_doccano_line_without_text_is_named(tmp_path):
    """doccano's own test file of a line with a label and no text: the error names the line."""
    src = tmp_path / "bad.jsonl"
    _jsonl(src, [{"text": "exampleA", "label": [[0, 1, "LOC"]]}, {"label": [[0, 1, "PER"]], "meta": {"wikiPageID": 3}}])
    with pytest.raises(InputError, match="line 2: has no text"):
        read_source(src)
    _jsonl(src, [{"text": "exampleA", "label": [[0, 9, "LOC"]]}])
    with pytest.raises(InputError, match="line 1: .* is not a span"):
        read_source(src)


def test_prodigy_ner_jsonl_spans_and_answers(tmp_path):
    """Prodigy's ``db-out`` of ``ner.manual`` (``spans`` of start, end, label; ``answer``; ``_`` hashes and
    ``tokens``) was refused as flat rows naming no format. Its accepted spans are now spans, an ignored or
    rejected line a skipped answer, and the hashes and tokens stay out of the task data (its key)."""
    rows = [{"text": "Pearl Automation, Founded by Apple Veterans, Shuts Down", "meta": {"source": "NYT"},
             "_input_hash": 1487477437, "_task_hash": -1298236362, "tokens": [{"text": "Pearl", "start": 0, "end": 5}],
             "spans": [{"start": 0, "end": 16, "token_start": 0, "token_end": 1, "label": "ORG"},
                       {"start": 29, "end": 34, "token_start": 5, "token_end": 5, "label": "ORG"}],
             "answer": "accept", "_view_id": "ner_manual"},
            {"text": "How Silicon Valley Pushed Coding Into American Classrooms", "_input_hash": 1, "_task_hash": 2,
             "spans": [{"start": 4, "end": 18, "label": "LOCATION"}], "answer": "ignore"}]
    src = tmp_path / "ner_news.jsonl"
    _jsonl(src, rows)
    got = read_source(src)
    want = sorted((r["text"][s["start"]:s["end"]], s["label"]) for r in rows if r["answer"] == "accept"
                  for s in r["spans"])
    assert _spans(got) == want
    data = [json.loads(d) for d in got.tasks.column("data").to_pylist()]
    assert sorted(data, key=str) == sorted(({"text": r["text"]} for r in rows), key=str)
    assert sorted(got.annotations.column("was_cancelled").to_pylist()) == [False, False, True]


def test_bilou_tags_are_read_and_written_back_as_read(tmp_path, monkeypatch):
    """BILOU (spaCy's ``U-`` / ``L-``, also seqeval's) was "tag 'U-ORG' is not O, B-X, I-X, E-X or S-X" (exit 3).
    It is read as BIOES (``U-`` a one-token entity, ``L-`` an entity's last token), seqeval finds the same
    entities in the file and the export, and the export writes the tags as the file gave them."""
    seqeval = pytest.importorskip("seqeval.metrics.sequence_labeling")
    text = "Apple U-ORG\nis O\nbuying O\nU.K. U-GPE\nstartup O\n\nNew B-LOC\nYork I-LOC\nCity L-LOC\nhall O\n\n"
    src = tmp_path / "train.bilou"
    src.write_text(text)
    lines = [ln.split() for ln in text.splitlines() if ln]
    want = sorted((" ".join(w for w, _ in lines[a:b + 1]), label)
                  for label, a, b in seqeval.get_entities([t for _, t in lines]))
    assert _spans(read_source(src, fmt="conll")) == want and len(want) == 3
    code, _, err = _snapshot(tmp_path, monkeypatch, src, "--format", "conll")
    assert code == 0, err
    code, _, err = cli("export", "HEAD", "--format", "conll", "--out", str(tmp_path / "out.conll"))
    assert code == 0, err
    out = [ln.split() for ln in (tmp_path / "out.conll").read_text().splitlines() if ln and ln[0] != "-"]
    assert [(c[0], c[-1]) for c in out] == [tuple(c) for c in lines]


#: spaCy v2's JSON training format (``spacy convert``'s output before v3): documents of paragraphs of tokens
SPACY_V2 = [{"id": 0, "paragraphs": [{"raw": "Apple is buying U.K. startup.", "sentences": [{"tokens": [
    {"id": 0, "orth": "Apple", "tag": "NNP", "head": 2, "dep": "nsubj", "ner": "U-ORG"},
    {"id": 1, "orth": "is", "tag": "VBZ", "head": 1, "dep": "aux", "ner": "O"},
    {"id": 2, "orth": "buying", "tag": "VBG", "head": 0, "dep": "ROOT", "ner": "O"},
    {"id": 3, "orth": "U.K.", "tag": "NNP", "head": 1, "dep": "compound", "ner": "U-GPE"},
    {"id": 4, "orth": "startup", "tag": "NN", "head": -2, "dep": "dobj", "ner": "O"},
    {"id": 5, "orth": ".", "tag": ".", "head": -3, "dep": "punct", "ner": "O"}]}]}]}]


def test_spacy_v2_json_is_named_and_its_way_in_reads(tmp_path):
    """spaCy v2's JSON training file was refused as 'a Label Studio JSON-MIN export needs the labeling config'.
    The refusal now names the format, and the command its hint gives makes a CoNLL file annover reads with the
    file's entities."""
    src = tmp_path / "train.json"
    src.write_text(json.dumps(SPACY_V2))
    with pytest.raises(InputError, match="spaCy v2's JSON training format") as e:
        read_source(src)
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed: the hint's command is not run")
    command = e.value.hint.split(": ", 1)[1].replace("FILE", str(src))
    subprocess.run(command, shell=True, check=True)
    toks = SPACY_V2[0]["paragraphs"][0]["sentences"][0]["tokens"]
    want = sorted((t["orth"], t["ner"][2:]) for t in toks if t["ner"] != "O")
    assert _spans(read_source(tmp_path / "train.json.conll")) == want


def test_hf_dataset_of_tag_strings_is_read_as_spans(tmp_path):
    """A dataset made with ``Dataset.from_dict`` from string tags (``ner_tags`` a list of texts, no ClassLabel)
    was 'the labeling config has no control tags' (exit 5), naming neither the column nor the way in. Its
    tags are now read as a ClassLabel's BIO tags are; one of numbers that no ClassLabel names is refused
    naming the column and the cast that names them."""
    datasets = pytest.importorskip("datasets")
    rows = {"tokens": [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"]],
            "ner_tags": [["B-ORG", "O", "B-MISC", "O"], ["B-PER", "I-PER"]]}
    datasets.Dataset.from_dict(rows).save_to_disk(str(tmp_path / "strings"))
    want = sorted((" ".join(toks[a:b]), label) for toks, tags in zip(rows["tokens"], rows["ner_tags"])
                  for a, b, label in entity_spans(tags, toks))
    assert _spans(read_source(tmp_path / "strings")) == want
    names = ["O", "B-ORG", "I-ORG", "B-MISC", "B-PER", "I-PER"]
    numbers = {"tokens": rows["tokens"], "ner_tags": [[names.index(t) for t in tags] for tags in rows["ner_tags"]]}
    datasets.Dataset.from_dict(numbers).save_to_disk(str(tmp_path / "numbers"))
    with pytest.raises(InputError, match="column 'ner_tags' holds tag numbers that no ClassLabel names"):
        read_source(tmp_path / "numbers")
