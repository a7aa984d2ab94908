"""``annover agreement`` of a multi-label control (a Taxonomy) says why the figures it shows as
``-`` are undefined, as it does for a one-label control.

The control's own note (``multi-label: pooled over one yes/no question per label used``) took
the place of those lines, so a label nobody used showed ``-`` with nothing saying why; only a
note that makes every figure undefined (nothing to compare) stands for them.
"""

from __future__ import annotations

import copy
import json

from .conftest import shared_corpus
from .ls_fixtures import cli

CORPUS = shared_corpus("label-studio")


def _two_annotators(tmp_path) -> str:
    """The corpus' taxonomy task answered twice: its own answer (One; Three/Sub) and another's (One)."""
    doc = json.loads((CORPUS / "fe_taxonomy.json").read_text(encoding="utf-8"))
    task = doc[0]
    first = task["annotations"][0]
    first["completed_by"] = {"email": "a@example.com"}
    second = copy.deepcopy(first)
    second["completed_by"] = {"email": "b@example.com"}
    for r in second["result"]:
        if r["from_name"] == "tax":
            r["value"]["taxonomy"] = [["One"]]
    task["annotations"] = [first, second]
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_multi_label_agreement_explains_its_dashes(repo, tmp_path):
    code, _, err = cli("snapshot", "--from", _two_annotators(tmp_path), "--config", str(CORPUS / "fe_taxonomy.xml"),
                       "-m", "two")
    assert code == 0, err
    code, out, err = cli("agreement", "HEAD")
    assert code == 0, err
    tax = out.split("\ntax (multi-label")[1].split("\n\n")[0].splitlines()
    assert [line.split()[1] for line in tax if line.split()[0] == "Two"] == ["-"]
    assert "  note: multi-label: pooled over one yes/no question per label used" in tax
    assert "  note: One: undefined: every answer has the same label" in tax
    assert "  note: Two, Three, Three/With, Three/Tuna: nobody used this label" in tax
    doc = json.loads(cli("agreement", "HEAD", "--json")[1])
    assert doc["controls"]["tax"]["labels"]["Two"]["krippendorff_alpha"]["note"] == "nobody used this label"
