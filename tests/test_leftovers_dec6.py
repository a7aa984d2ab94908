"""Four leftovers (Dec 6): the shape of a region pair's F1 in `agreement --json`; the exit code of
`dataset export` on a full disk; folder exports with images and the notebook's save on a full
disk; a repository lock taken on a full disk, then its holder killed.

The full disks are test_disk_full's: a real tmpfs of a few MB where this process may mount one,
else a real file-size limit (`ulimit -f`) of a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import annover

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("label-studio")

#: the figures of `agreement --json`: each an object {"value", "n"[, "note"]}, wherever it stands
FIGURES = {"krippendorff_alpha", "fleiss_kappa", "cohen_kappa", "f1", "f1_any_label"}


def _figures(doc, where: str = "") -> list[tuple[str, object]]:
    """Every (path, figure) of an agreement document, at any depth."""
    out: list[tuple[str, object]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in FIGURES:
                out.append((f"{where}.{k}", v))
            out += _figures(v, f"{where}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _figures(v, f"{where}[{i}]")
    return out


def test_a_region_pair_s_f1_is_an_object_as_every_other_figure(tmp_path, monkeypatch):
    """`agreement --json` gave a region pair's F1 as a bare number (`"f1": 0.366667`) where a
    classification pair's Cohen's kappa, the control's F1 and each label's are objects
    (`{"value": ..., "n": ...}`): a reader of `pairs[i]["f1"]["value"]` failed on boxes. Now every
    figure is an object; the pair's bare number stays as `disagreeing_pairs[].score`."""
    repo = annover.init(tmp_path / "repo")
    monkeypatch.chdir(repo.root)
    code, _, err = invoke("snapshot", "--from", str(CORPUS / "evalme_bbox_multi.json"), "--config",
                          str(CORPUS / "evalme_bbox_multi.xml"), "-m", "three annotators")
    assert code == 0, err
    code, out, err = invoke("agreement", "--json")
    assert code == 0, err
    doc = json.loads(out)
    figures = _figures(doc["controls"])
    assert any(".pairs[" in p for p, _ in figures)
    bad = [(p, f) for p, f in figures if not (isinstance(f, dict) and "value" in f and "n" in f)]
    assert bad == []
    pairs = {(p["a"], p["b"]): p for p in doc["controls"]["label"]["pairs"]}
    one = pairs[("annotator1@example.com", "annotator2@example.com")]
    assert one["f1"] == {"value": 0.366667, "n": 5} and one["tasks"] == 5
    scores = {(p["a"], p["b"]): p["score"] for p in doc["disagreeing_pairs"]}
    assert {k: p["f1"]["value"] for k, p in pairs.items()} == scores


def test_classification_figures_are_objects_too(two_rounds):
    code, out, err = invoke("agreement", "--json")
    assert code == 0, err
    figures = _figures(json.loads(out)["controls"])
    assert figures and all(isinstance(f, dict) and "value" in f for _, f in figures), figures
