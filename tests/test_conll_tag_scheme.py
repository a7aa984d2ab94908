"""A CoNLL export writes its tags in the scheme the file read in had (BIO / IOB2, IOB1, BIOES / IOBES), or the one
``--tag-scheme`` names; a version of labels from elsewhere (Label Studio spans) is BIO.

The tags are checked with seqeval, independently of annover's reader: ``seqeval.scheme``'s strict reading
(``Entities`` with the scheme's class) gives exactly the entities the version holds, and every tag is one the
scheme allows; the CoNLL files read in are written here by this file's own tagger (:func:`_tagged`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB1, IOB2, IOBES, Entities

import annover
from annover.formats.label_studio import from_ls_tasks
from annover.formats.training import read_train, render_train

from .conftest import shared_corpus
from .test_cli import invoke

FLAIR = shared_corpus("formats") / "conll_flair_fashion.conll"
SPACY = shared_corpus("formats") / "conll_spacy_ontonotes.conll"
#: each scheme --tag-scheme takes, and seqeval's class of it
SEQEVAL = {"bio": IOB2, "iob1": IOB1, "bioes": IOBES}
DOCSTART = "-DOCSTART- -X- -X- O"


def _tables(t) -> dict:
    return {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}


def _tagged(n: int, ents: list[tuple[int, int, str]], scheme: str) -> list[str]:
    """The tags of ``n`` tokens holding ``ents`` ((first, last + 1, label)) in ``scheme``, token by token: the tag
    of a token is decided by where it sits in its entity and what the token before it is."""
    owner = {i: (a, b, label) for a, b, label in ents for i in range(a, b)}
    out = []
    for i in range(n):
        if i not in owner:
            out.append("O")
            continue
        a, b, label = owner[i]
        if scheme == "bioes":
            prefix = "S" if b - a == 1 else "B" if i == a else "E" if i == b - 1 else "I"
        elif scheme == "bio":
            prefix = "B" if i == a else "I"
        else:  # iob1: B- only where the token before ends another entity of the same label
            before = owner.get(i - 1)
            prefix = "B" if i == a and before is not None and before[2] == label else "I"
        out.append(f"{prefix}-{label}")
    return out


@st.composite
def _sentence(draw) -> tuple[list[str], list[tuple[int, int, str]]]:
    """Tokens and entities (first, last + 1, label): runs of O tokens and entities of 1 to 3 tokens, entities
    of the same label side by side among them."""
    toks: list[str] = []
    ents = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            toks.append(draw(st.sampled_from(["the", "in", ",", "said"])))
            continue
        size, label = draw(st.integers(1, 3)), draw(st.sampled_from(["PER", "ORG", "LOC"]))
        ents.append((len(toks), len(toks) + size, label))
        toks += [draw(st.sampled_from(["Ada", "Paris", "Acme", "New", "York"])) for _ in range(size)]
    return toks, ents


_SENTENCES = st.lists(_sentence(), min_size=1, max_size=4)


def _ls_tasks(sentences) -> list[dict]:
    """Label Studio tasks of ``sentences``: the tokens joined by spaces, a span per entity."""
    tasks = []
    for i, (toks, ents) in enumerate(sentences):
        starts = [sum(len(t) + 1 for t in toks[:j]) for j in range(len(toks))]
        text = " ".join(toks)
        result = [{"from_name": "label", "to_name": "text", "type": "labels",
                   "value": {"start": starts[a], "end": starts[b - 1] + len(toks[b - 1]),
                             "text": " ".join(toks[a:b]), "labels": [label]}} for a, b, label in ents]
        tasks.append({"id": i + 1, "data": {"text": text, "n": i}, "annotations": [{"result": result}]})
    return tasks


def _read(data: bytes) -> list[list[str]]:
    """The tags of each sentence of a CoNLL text (the last column; -DOCSTART- and blank lines split)."""
    out: list[list[str]] = [[]]
    for line in data.decode("utf-8").splitlines():
        if not line.strip() or line.startswith("-DOCSTART-"):
            if out[-1]:
                out.append([])
            continue
        out[-1].append(line.split()[-1])
    return [s for s in out if s]


def _check(tags: list[list[str]], sentences, scheme: str) -> None:
    """seqeval's strict reading of ``tags`` in ``scheme`` gives exactly the entities of ``sentences``, every tag
    is one the scheme allows, and IOB1's B- is only right after an entity of the same label."""
    got = [sorted((e.start, e.end, e.tag) for e in sent) for sent in Entities(tags, SEQEVAL[scheme]).entities]
    assert got == [sorted(ents) for _, ents in sentences]
    allowed = {"bio": "BIO", "iob1": "BIO", "bioes": "BIOES"}[scheme]
    assert all(t[0] in allowed for sent in tags for t in sent)
    if scheme == "iob1":
        for (_, ents), sent in zip(sentences, tags):
            ends = {(b, label) for _, b, label in ents}
            assert all((i, t[2:]) in ends for i, t in enumerate(sent) if t.startswith("B-"))


@settings(max_examples=40, deadline=None)
@given(sentences=_SENTENCES)
def test_each_scheme_is_read_by_seqeval_strict_as_the_versions_entities(sentences):
    """Label Studio spans exported in each scheme: seqeval's strict reading in that scheme gives exactly the
    version's entities, with the scheme's tags only; without --tag-scheme they are BIO, as before."""
    t = from_ls_tasks(_ls_tasks(sentences), "mem")
    for scheme in SEQEVAL:
        r = render_train("conll", _tables(t), None, tag_scheme=scheme)
        assert r.tag_scheme == scheme
        _check(_read(r.data), sentences, scheme)
    default = render_train("conll", _tables(t), None)
    assert default.tag_scheme == "bio"
    assert _read(default.data) == [_tagged(len(toks), ents, "bio") for toks, ents in sentences]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sentences=_SENTENCES.filter(lambda ss: any(ents for _, ents in ss)), scheme=st.sampled_from(sorted(SEQEVAL)))
def test_a_file_in_each_scheme_comes_back_in_it(sentences, scheme, tmp_path):
    """A CoNLL file tagged in a scheme (some entity in it: a file of none is text not labeled yet), read and
    exported without --tag-scheme, comes back byte for byte: the scheme is kept."""
    lines = [DOCSTART, ""]
    for toks, ents in sentences:
        lines += [f"{tok} _ _ {tag}" for tok, tag in zip(toks, _tagged(len(toks), ents, scheme))] + [""]
    text = "\n".join(lines) + "\n"
    src = tmp_path / "in.conll"
    src.write_text(text, encoding="utf-8")
    t = read_train(src, "conll", None, True)
    r = render_train("conll", _tables(t), t.config_text)
    assert r.data.decode("utf-8") == text
    assert r.tag_scheme == scheme


def _flair_layout(text: str) -> str:
    """The flair file as the export lays a CoNLL file out (docs/formats.md's conversions beside the tags): a
    -DOCSTART- line first, one blank line between sentences and after the last."""
    return f"{DOCSTART}\n\n" + re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n\n"


def test_flair_file_round_trips_with_its_tags(repo, tmp_path):
    """flair's fashion sample (BIO with one stray BIOES tag, S-Occasion) snapshotted and exported: every line
    comes back as it was, its S- tag too; the --json result says the scheme written. With --tag-scheme bio the
    tags are BIO throughout."""
    out = tmp_path / "out.conll"
    code, _, err = invoke("snapshot", "--from", str(FLAIR), "--format", "conll", "-m", "flair")
    assert code == 0, err
    code, doc, err = invoke("export", "HEAD", "--format", "conll", "--out", str(out), "--json")
    assert code == 0, err
    assert json.loads(doc)["tag_scheme"] == "bio"
    assert out.read_text(encoding="utf-8") == _flair_layout(FLAIR.read_text(encoding="utf-8"))
    assert "debut _ _ S-Occasion" in out.read_text(encoding="utf-8").splitlines()
    code, _, err = invoke("export", "HEAD", "--format", "conll", "--out", "bio.conll", "--tag-scheme", "bio")
    assert code == 0, err
    tags = _read(Path("bio.conll").read_bytes())  # asked for: BIO throughout, the stray tag B-Occasion
    assert not any(t.startswith(("S-", "E-")) for s in tags for t in s)
    want = [[(a, b + 1, label) for label, a, b in get_entities(s)] for s in _read(FLAIR.read_bytes())]
    assert [[(e.start, e.end, e.tag) for e in s] for s in Entities(tags, IOB2).entities] == want


def _iob1(path: Path, src: Path) -> str:
    """``src`` (a BIO file) retagged IOB1 by :func:`_tagged`, written to ``path``; its text."""
    lines = src.read_text(encoding="utf-8").splitlines()
    rows = [i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("-DOCSTART-")]
    tags = [lines[i].split()[-1] for i in rows]
    ents, cur = [], None
    for j, tag in enumerate(tags + ["O"]):
        if cur is not None and not (tag.startswith("I-") and tag[2:] == cur[2]):
            ents.append((cur[0], j, cur[2]))
            cur = None
        if tag.startswith("B-"):
            cur = (j, None, tag[2:])
    for i, tag in zip(rows, _tagged(len(tags), ents, "iob1")):
        lines[i] = lines[i].rsplit(" ", 1)[0] + " " + tag
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


def test_iob1_file_exports_iob1_unless_told(repo, tmp_path):
    """spaCy's CoNLL-2003 sample retagged IOB1 (I-PERSON on an entity's first token): the export gives it back
    in IOB1 byte for byte; --tag-scheme bioes (or seqeval's name, IOBES) writes BIOES and --json says so; the
    Python API takes tag_scheme= too."""
    src = tmp_path / "iob1.conll"
    text = _iob1(src, SPACY)
    assert " I-PERSON\n" in text and " B-PERSON\n" not in text
    code, _, err = invoke("snapshot", "--from", str(src), "--format", "conll", "-m", "iob1")
    assert code == 0, err
    code, doc, err = invoke("export", "HEAD", "--format", "conll", "--out", "a.conll", "--json")
    assert code == 0, err
    assert json.loads(doc)["tag_scheme"] == "iob1"
    assert Path("a.conll").read_text(encoding="utf-8") == text
    code, doc, err = invoke("export", "HEAD", "--format", "conll", "--out", "b.conll", "--tag-scheme", "IOBES",
                            "--json")
    assert code == 0, err
    assert json.loads(doc)["tag_scheme"] == "bioes"
    tags = _read(Path("b.conll").read_bytes())
    want = [[(e.start, e.end, e.tag) for e in s] for s in Entities(_read(text.encode()), IOB1).entities]
    assert [[(e.start, e.end, e.tag) for e in s] for s in Entities(tags, IOBES).entities] == want
    assert any(t.startswith(("S-", "E-")) for s in tags for t in s)
    res = annover.export("HEAD", "conll", "c.conll", tag_scheme="bio")
    assert res.to_json()["tag_scheme"] == "bio"
    assert [[(e.start, e.end, e.tag) for e in s] for s in Entities(_read(Path("c.conll").read_bytes()),
                                                                     IOB2).entities] == want


@pytest.mark.parametrize("args, said", [
    (["--format", "coco", "--out", "x.json", "--tag-scheme", "bio"], "--tag-scheme is for --format conll"),
    (["--format", "conll", "--out", "x.conll", "--tag-scheme", "bilou"], "'bilou' is not one of 'bio', 'bioes'"),
])
def test_tag_scheme_refused_where_it_has_no_meaning(args, said, repo):
    """--tag-scheme with another format than conll, or a scheme annover does not write: exit 2, one line,
    nothing written."""
    code, _, err = invoke("snapshot", "--from", str(SPACY), "--format", "conll", "-m", "spacy")
    assert code == 0, err
    code, _, err = invoke("export", "HEAD", *args)
    assert code == 2 and said in err and "Traceback" not in err, err
    assert not Path(args[3]).exists()


@pytest.mark.parametrize("kept, field", [({"scheme": "bilou"}, "meta.conll.scheme"),
                                         ({"tags": [[0, "X-PER"]]}, "meta.conll.tags"),
                                         ({"tags": [["0", "S-PER"]]}, "meta.conll.tags")])
def test_scheme_in_meta_edited_into_nonsense_is_one_line_naming_the_task(kept, field, repo, tmp_path):
    """A task meta whose conll.scheme or conll.tags was edited by hand into no scheme or no tag: exit 2, one line
    naming the task and the field, nothing written."""
    span = {"from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": 0, "end": 3, "text": "Ada", "labels": ["PER"]}}
    task = {"id": 4, "data": {"text": "Ada wrote"}, "meta": {"conll": kept},
            "annotations": [{"result": [span]}]}
    (tmp_path / "t.json").write_text(json.dumps([task]))
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "t.json"), "--key", "id", "-m", "by hand")
    assert code == 0, err
    code, _, err = invoke("export", "HEAD", "--format", "conll", "--out", "x.conll")
    assert code == 2 and "task '4'" in err and field in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and not Path("x.conll").exists()


def test_tasks_of_files_of_several_schemes_are_written_bio_and_said(repo, tmp_path):
    """Tasks read from an IOB1 and from a BIOES file in one version: no one scheme is theirs, so the export is BIO
    and a note counts each scheme; a task of no CoNLL file beside tasks of one scheme follows that scheme."""
    def task(i: int, scheme: str | None) -> dict:
        span = {"from_name": "label", "to_name": "text", "type": "labels",
                "value": {"start": 0, "end": 12, "text": "Ada Lovelace", "labels": ["PER"]}}
        meta = {} if scheme is None else {"meta": {"conll": {"scheme": scheme}}}
        return {"id": i, "data": {"text": f"Ada Lovelace wrote {i}"}, **meta, "annotations": [{"result": [span]}]}

    for name, schemes, written, note in [("mixed", ["iob1", "bioes", "bioes"], "bio", "1 iob1, 2 bioes"),
                                         ("one", ["bioes", None], "bioes", None)]:
        (tmp_path / f"{name}.json").write_text(json.dumps([task(i, s) for i, s in enumerate(schemes, 1)]))
        code, _, err = invoke("snapshot", "--from", str(tmp_path / f"{name}.json"), "--key", "id", "-m", name)
        assert code == 0, err
        code, doc, err = invoke("export", "HEAD", "--format", "conll", "--out", f"{name}.conll", "--json")
        assert code == 0, err
        res = json.loads(doc)
        assert res["tag_scheme"] == written
        assert [n for n in res["notes"] if "several tag schemes" in n] == ([] if note is None else [
            f"the tasks came from CoNLL files of several tag schemes ({note}): written in bio; choose one with "
            "--tag-scheme"])
        last = {"bio": "I-PER", "bioes": "E-PER"}[written]
        tags = _read(Path(f"{name}.conll").read_bytes())
        assert all(s[:2] == ["B-PER", last] for s in tags), tags
