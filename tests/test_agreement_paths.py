"""Agreement's shortcuts give what the long way gives: the pairs of a control in a fixed order
whatever the order of the rows, and the per-label counts taken from the answers' counts when
every answer gives one label (the report's path at a million rows) equal to those of the
query that takes the answers' labels one at a time."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annover.loop import agreement as A
from tests.test_loop import answers_table

WHO = [f"w{i:02d}" for i in range(12)]


def test_the_pairs_of_a_control_come_in_the_order_of_their_annotators_whatever_the_rows_order():
    rnd = random.Random(5)
    rows = [{"task": f"t{t:04d}", "who": w, "labels": [rnd.choice("abc")]}
            for t in range(400) for w in rnd.sample(WHO, 3)]
    docs = []
    for seed in range(3):
        random.Random(seed).shuffle(rows)
        docs.append(json.dumps(A.agreement(answers_table(rows)).to_json()))
        pairs = json.loads(docs[-1])["controls"]["ctl"]["pairs"]
        assert [(p["a"], p["b"]) for p in pairs] == sorted((p["a"], p["b"]) for p in pairs)
    assert docs[0] == docs[1] == docs[2]


LABELS = st.lists(st.sampled_from(["a", "b", "c", "a"]), min_size=1, max_size=3)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from(WHO[:4]), st.sampled_from(["x", "y"]),
                          st.one_of(LABELS, st.none())), min_size=1, max_size=40),
       st.booleans())
def test_per_label_counts_from_the_answers_counts_are_the_element_query_s(answers, single):
    """Random answers, single-label only or not (repeated labels and skips too): agreement with the
    shortcut allowed equals agreement with the element query forced, to the byte."""
    rows = [{"task": f"t{t}", "who": w, "control": c, "labels": (labs[:1] if single and labs else labs)}
            for t, w, c, labs in answers]
    table = answers_table(rows)
    fast = json.dumps(A.agreement(table).to_json(), sort_keys=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(A, "_shapes", lambda s, real=A._shapes: (real(s)[0], False))
        slow = json.dumps(A.agreement(table).to_json(), sort_keys=True)
    assert fast == slow


def test_single_label_answers_skip_the_element_query(monkeypatch):
    rows = [{"task": f"t{t}", "who": w, "labels": [l]} for t, (w, l) in enumerate([("w1", "a"), ("w2", "b")] * 3)]
    rows += [{"task": r["task"], "who": "w3", "labels": ["a"]} for r in rows]
    called = []
    monkeypatch.setattr(A, "_elements", lambda s, real=A._elements: called.append(1) or real(s))
    A.agreement(answers_table(rows))
    assert called == []
    A.agreement(answers_table(rows + [{"task": "t0", "who": "w4", "labels": ["a", "b"]}]))
    assert called == [1]
