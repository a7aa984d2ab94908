"""Agreement's figures do not depend on the order of the rows: the pairs of a control come in
a fixed order (a GROUP BY's rows come in none)."""

from __future__ import annotations

import json
import random

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
