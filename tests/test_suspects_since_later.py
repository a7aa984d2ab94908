"""``annover suspects OLD --since NEW``: the two versions swapped. It compared OLD's labels with the
later version's, so a review that changed a label was listed as changed backwards (the reviewed label
read as the earlier one), with exit 0. A version later than REV is now refused, naming the swap.
"""

from __future__ import annotations

import json

from .conftest import shared_corpus
from .ls_fixtures import cli

CORPUS = shared_corpus("label-studio")


def test_since_a_later_version_is_refused_and_the_right_order_reports_the_review(repo, tmp_path):
    doc = json.loads((CORPUS / "fe_sentiment_two_annotators.json").read_text(encoding="utf-8"))
    xml = str(CORPUS / "fe_sentiment_two_annotators.xml")
    (tmp_path / "r1.json").write_text(json.dumps(doc))
    result = doc[0]["annotations"][0]["result"][0]
    before = result["value"]["choices"][0]
    after = next(x for x in ("Positive", "Negative", "Neutral") if x != before)
    result["value"]["choices"] = [after]  # a reviewer changes the first task's label
    (tmp_path / "r2.json").write_text(json.dumps(doc))
    assert cli("snapshot", "--from", str(tmp_path / "r1.json"), "--config", xml, "-m", "round 1")[0] == 0
    assert cli("snapshot", "--from", str(tmp_path / "r2.json"), "-m", "reviewed")[0] == 0

    code, out, err = cli("suspects", "v1", "--since", "v2", "--out", str(tmp_path / "recheck.txt"))
    assert code == 2 and out == "" and not (tmp_path / "recheck.txt").exists(), (code, out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert "--since v2 is later than v1" in err and "annover suspects v2 --since v1" in err, err

    got = json.loads(cli("suspects", "v2", "--since", "v1", "--json")[1])
    changed = [r for s in got["suspects"] for r in s["reasons"] if r["kind"] == "changed"]
    assert len(changed) == 1 and before in changed[0]["text"] and after in changed[0]["text"], got
    assert cli("suspects", "v2", "--since", "v2")[0] == 0  # the same version: nothing changed, no error
