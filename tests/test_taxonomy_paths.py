"""A Taxonomy's labels are the paths of its choices (``Three/Sub``), as its answers give them.

The config's labels of a Taxonomy are every ``<Choice>`` under it, nested ones by their own
name (``Sub``), while an answer's label is the path (``Three/Sub``). So the Hugging Face export
took every answer with a nested choice for a label the config lacks and dropped the whole region
(its other paths with it: ``One`` of an answer ``One; Three/Tuna``), saying "region(s) with
labels the config does not have were left out"; and agreement and the report listed ``Sub``,
``With``, ``Tuna`` as labels nobody used, beside the paths ``Three/Sub`` that were used.
Read on the shared corpus' taxonomy config and its task, answered by two annotators.
"""

from __future__ import annotations

import copy
import json

from datasets import load_from_disk

from annover.model.config import taxonomy_paths

from .conftest import shared_corpus
from .ls_fixtures import cli

CORPUS = shared_corpus("label-studio")
CONFIG = CORPUS / "fe_taxonomy.xml"
PATHS = ["One", "Two", "Three", "Three/Sub", "Three/With", "Three/Tuna"]


def _answered(tmp_path) -> str:
    """The corpus' taxonomy task answered by a@ (its own answer: One; Three/Sub) and b@ (One; Three/Tuna)."""
    doc = json.loads((CORPUS / "fe_taxonomy.json").read_text(encoding="utf-8"))
    first = doc[0]["annotations"][0]
    first["completed_by"] = {"email": "a@example.com"}
    second = copy.deepcopy(first)
    second["completed_by"] = {"email": "b@example.com"}
    for r in second["result"]:
        if r["from_name"] == "tax":
            r["value"]["taxonomy"] = [["One"], ["Three", "Tuna"]]
    doc[0]["annotations"] = [first, second]
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_taxonomy_paths_of_a_config():
    assert taxonomy_paths(CONFIG.read_text(encoding="utf-8")) == {"tax": PATHS}
    assert taxonomy_paths("<View><Text name='t' value='$t'/><Choices name='c' toName='t'>"
                          "<Choice value='a'/></Choices></View>") == {}


def test_hf_export_keeps_nested_taxonomy_answers(repo, tmp_path):
    code, _, err = cli("snapshot", "--from", _answered(tmp_path), "--config", str(CONFIG), "-m", "two")
    assert code == 0, err
    out = tmp_path / "hf"
    code, _, err = cli("export", "HEAD", "--format", "hf", "--resolve", "annotator:b@example.com", "--out", str(out))
    assert code == 0, err
    assert "labels the config does not have" not in err
    ds = load_from_disk(str(out))
    names = ds.features["tax"].feature
    assert names.names == PATHS
    assert [names.int2str(i) for i in ds[0]["tax"]] == ["One", "Three/Tuna"]


def test_agreement_lists_a_taxonomys_paths(repo, tmp_path):
    code, _, err = cli("snapshot", "--from", _answered(tmp_path), "--config", str(CONFIG), "-m", "two")
    assert code == 0, err
    doc = json.loads(cli("agreement", "HEAD", "--json")[1])
    labels = doc["controls"]["tax"]["labels"]
    assert list(labels) == PATHS
    assert {k: v["answers"] for k, v in labels.items()} == {"One": 2, "Two": 0, "Three": 0, "Three/Sub": 1,
                                                            "Three/With": 0, "Three/Tuna": 1}
