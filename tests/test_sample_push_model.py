"""``dataset push --from-sample`` of a sample that names no model (``random``, ``unlabeled``,
a keys file), on a real Label Studio, with a real export of someone else's project
(the corpus's NER pre-annotated by an LLM).

Such a sample's tasks went out with no pre-annotation, and nothing said so, though the
version holds a model's predictions for them: bootstrapping a round with the model's
suggestions needs ``--predictions MODEL``, and the push says so, naming the model.
"""

from __future__ import annotations

import json

import pytest

from .conftest import shared_corpus
from .ls_fixtures import cli, ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures
from .test_labelstudio import server_tasks

LS = shared_corpus("label-studio")
pytestmark = [pytest.mark.labelstudio,
              pytest.mark.skipif(not LS.is_dir(), reason=f"the shared corpus is not here ({LS})")]
MODEL = "llm-preannotation-v1-cleaned"


@pytest.fixture
def ner_repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli("init", "ner")[0] == 0
    monkeypatch.chdir(tmp_path / "ner")
    code, _, err = cli("snapshot", "--from", str(LS / "ner_predictions_nerine.json"), "--config",
                       str(LS / "ner_predictions_nerine.xml"), "--key", "data.doc_name", "-m", "round 1")
    assert code == 0, err


def test_a_sample_of_no_model_says_how_to_send_the_versions_predictions(ner_repo, project_factory,  # noqa: F811
                                                                        sdk_admin):
    p = project_factory("sample-no-model", (LS / "ner_predictions_nerine.xml").read_text())
    code, out, err = cli("sample", "--strategy", "random", "--n", "2", "--seed", "3", "--json")
    assert code == 0, err
    chosen = json.loads(out)

    code, out, err = cli("dataset", "push", p.title, "--from-sample", chosen["id"], "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["sent"], doc["predictions"]) == (2, 0)
    hint = f"--predictions {MODEL}"
    assert any(hint in n and "no model" in n for n in doc["notes"]), doc["notes"]
    assert hint in err, err
    assert all(t["predictions"] == [] for t in server_tasks(sdk_admin, p.id))

    # as the note says: the tasks already there get the model's predictions
    code, out, err = cli("dataset", "push", p.title, "--from-sample", chosen["id"], "--predictions", MODEL, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["sent"], doc["already"], doc["predictions"]) == (0, 2, 2)
    assert not any("no model" in n for n in doc["notes"]), doc["notes"]
    assert all([q["model_version"] for q in t["predictions"]] == [MODEL] for t in server_tasks(sdk_admin, p.id))
