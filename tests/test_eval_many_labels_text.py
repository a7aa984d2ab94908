"""``annover eval``'s text of a classification with many labels (a product taxonomy, thousands of
classes): it printed the whole confusion matrix, a line thousands of columns wide per label (265
labels: 858 KB of text). Past the report's 15 labels it now lists the most frequent confusions,
as the report draws the most used labels; ``--json`` keeps the whole matrix.
"""

from __future__ import annotations

import json
import random
from collections import Counter

from annover.loop.report import CONFUSION_LABELS

from .conftest import shared_corpus
from .ls_fixtures import cli

CORPUS = shared_corpus("formats")


def _tokens() -> list[str]:
    """The words of the corpus' CoNLL files, one task each."""
    out = []
    for name in ("conll_flair_fashion.conll", "conll_spacy_ontonotes.conll"):
        out += [line.split()[0] for line in (CORPUS / name).read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("-DOCSTART")]
    return out


def _choice(label: str) -> list[dict]:
    return [{"from_name": "cls", "to_name": "t", "type": "choices", "value": {"choices": [label]}}]


def test_eval_text_lists_the_most_frequent_confusions_past_the_report_s_labels(repo, tmp_path):
    rng = random.Random(7)
    labels = [f"class_{i:04d}" for i in range(1000)]
    words = _tokens()
    gold = [rng.choice(labels[:60]) for _ in words]
    # a model that confuses some labels often (a fixed wrong label per gold label), some once
    habit = {g: rng.choice(labels) for g in labels[:60]}
    pred = [g if rng.random() < 0.5 else habit[g] if rng.random() < 0.7 else rng.choice(labels) for g in gold]
    data = [{"text": f"{i}: {w}"} for i, w in enumerate(words)]
    (tmp_path / "c.xml").write_text('<View><Text name="t" value="$text"/><Choices name="cls" toName="t">'
                                    + "".join(f'<Choice value="{x}"/>' for x in labels) + "</Choices></View>")
    (tmp_path / "t.json").write_text(json.dumps([{"data": d, "annotations": [
        {"completed_by": {"email": "a@example.com"}, "result": _choice(g)}]} for d, g in zip(data, gold)]))
    (tmp_path / "p.json").write_text(json.dumps([{"data": d, "predictions": [
        {"model_version": "clf", "score": 0.5, "result": _choice(p)}]} for d, p in zip(data, pred)]))
    code, _, err = cli("snapshot", "--from", str(tmp_path / "t.json"), "--config", str(tmp_path / "c.xml"),
                       "--predictions", str(tmp_path / "p.json"), "-m", "many classes")
    assert code == 0, err

    code, out, err = cli("eval")
    assert code == 0, err
    used = set(gold) | set(pred)
    assert len(used) > CONFUSION_LABELS
    off = Counter((g, p) for g, p in zip(gold, pred) if g != p)
    want = sorted(off.items(), key=lambda x: (-x[1], x[0]))[:10]
    assert f"  confusion: {len(used)} labels, too many to print as a matrix" in out, out
    assert f"  the 10 most frequent confusion(s) of {len(off)}:" in out, out
    listed = out.split("most frequent confusion(s)")[1].splitlines()[2:12]
    assert [tuple(line.split()) for line in listed] == [(g, p, str(n)) for (g, p), n in want], listed
    assert max(len(line) for line in out.splitlines()) < 120
    doc = json.loads(cli("eval", "--json")[1])["controls"]["cls"]["confusion"]
    assert set(doc["labels"]) == used and len(doc["matrix"]) == len(used)


def test_agreement_text_leaves_out_the_rows_of_many_labels_nobody_used(repo, tmp_path):
    """A config of 1,000 classes: a row of dashes per label nobody used, and a note naming every one of
    them (a line of kilobytes). Past 15 of them the table has the used labels only and the note names
    ten and how many more; ``--json`` keeps every label."""
    rng = random.Random(11)
    labels = [f"class_{i:04d}" for i in range(1000)]
    words = _tokens()
    first = [rng.choice(labels[:40]) for _ in words]
    second = [g if rng.random() < 0.7 else rng.choice(labels[:80]) for g in first]
    (tmp_path / "c.xml").write_text('<View><Text name="t" value="$text"/><Choices name="cls" toName="t">'
                                    + "".join(f'<Choice value="{x}"/>' for x in labels) + "</Choices></View>")
    (tmp_path / "t.json").write_text(json.dumps([{"data": {"text": f"{i}: {w}"}, "annotations": [
        {"completed_by": {"email": "a@example.com"}, "result": _choice(a)},
        {"completed_by": {"email": "b@example.com"}, "result": _choice(b)}]}
        for i, (w, a, b) in enumerate(zip(words, first, second))]))
    assert cli("snapshot", "--from", str(tmp_path / "t.json"), "--config", str(tmp_path / "c.xml"), "-m", "two")[0] == 0
    code, out, err = cli("agreement")
    assert code == 0, err
    used = set(first) | set(second)
    unused = [x for x in labels if x not in used]
    rows = [line.split()[0] for line in out.split("Fleiss' kappa\n")[1].split("  Cohen's")[0].splitlines()]
    assert rows == ["(control)"] + [x for x in labels if x in used], rows
    assert (f"  note: {', '.join(unused[:10])} and {len(unused) - 10:,} more (--json lists them): "
            "nobody used this label") in out.splitlines(), out
    doc = json.loads(cli("agreement", "--json")[1])["controls"]["cls"]["labels"]
    assert len(doc) == len(labels) and doc[unused[-1]]["krippendorff_alpha"]["note"] == "nobody used this label"
