"""The items of a version's answers are named one way in ``annover show`` and in a notebook
(``Version._repr_html_``): "regions" where its labeling config has a region control (boxes,
spans), else "results" (:func:`annover.model.config.results_word`, through ``Version.items_word``).

One module-scoped repository: a round of choices, then a round of boxes with its own config.
"""

from __future__ import annotations

import pickle
import re
import shutil

import pytest

import annover

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("label-studio")


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """(repo, a version of choices, a version of boxes): real Label Studio exports of the shared corpus."""
    root = tmp_path_factory.mktemp("items") / "repo"
    repo = annover.init(root)
    made = []
    for name in ("ls_ground_truth_choices", "evalme_bbox_multi"):
        for ext in (".json", ".xml"):
            shutil.copy(CORPUS / f"{name}{ext}", root / f"{name}{ext}")
        made.append(repo.snapshot(str(root / f"{name}.json"), config=str(root / f"{name}.xml"),
                                  message=name).version)
    return repo, repo.show(made[0].id), repo.show(made[1].id)


def _annotations_line(root, vid: str) -> str:
    code, out, err = _show(root, vid)
    assert code == 0, err
    return next(line for line in out.splitlines() if line.startswith("Annotations:"))


def _show(root, vid: str):
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        return invoke("show", vid)


@pytest.mark.parametrize("which, word", [(1, "results"), (2, "regions")])
def test_show_and_the_notebook_name_the_items_alike(versions, which, word):
    repo, v = versions[0], versions[which]
    n = v.stats["regions"]
    assert re.search(rf"\({v.stats['skipped']} skipped\), {n} {word}<", v._repr_html_())
    assert _annotations_line(repo.root, v.id).endswith(f"{n} {word}")
    assert v.items_word == word


def test_a_version_pickles_without_its_repository(versions):
    v = versions[2]
    back = pickle.loads(pickle.dumps(v))
    assert back == v and back.items_word == "results"  # the config is read through the repository only
