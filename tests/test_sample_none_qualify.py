"""``annover sample`` by a model's predictions (uncertainty, margin, rare-labels) when no task
qualifies: it said only ``0 task(s) qualify``, wrote an empty ``--out`` and committed an empty
sample, also where the cause was the user's setup. Bootstrapping with LLM pre-annotations (no
``score``, as Label Studio's ML backends often leave it) picked nothing by uncertainty; predictions
stored for the labeled tasks only (an evaluation set) did too. Those now refuse (exit 2, the
cause and what to do, nothing written); a version whose every task is labeled says so in a note,
and a choice of no task is not recorded.
"""

from __future__ import annotations

import json
import subprocess

from .conftest import shared_corpus
from .ls_fixtures import cli

CORPUS = shared_corpus("label-studio")


def _corpus_tasks(tmp_path, scored: bool | None, labeled: bool) -> tuple[str, str, list[dict]]:
    """The corpus' humour export as tasks (with their answers if ``labeled``), and a file of its
    answers as model ``m1``'s predictions: scored 0.1 apart, unscored (``scored`` False), or none."""
    doc = json.loads((CORPUS / "ls_ground_truth_choices.json").read_text(encoding="utf-8"))
    tasks = [{"data": t["data"], **({"annotations": t["annotations"]} if labeled else {})} for t in doc]
    preds = [{"data": t["data"], "predictions": [{"model_version": "m1", "result": t["annotations"][0]["result"],
                                                  **({"score": 0.3 + i / 10} if scored else {})}]}
             for i, t in enumerate(doc)]
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    (tmp_path / "preds.json").write_text(json.dumps(preds))
    return str(tmp_path / "tasks.json"), str(tmp_path / "preds.json"), doc


def _commits(repo) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo.dir, capture_output=True, text=True).stdout


def test_unscored_predictions_of_unlabeled_tasks_are_refused_by_uncertainty_and_margin(repo, tmp_path):
    tasks, preds, doc = _corpus_tasks(tmp_path, scored=False, labeled=False)
    code, _, err = cli("snapshot", "--from", tasks, "--config", str(CORPUS / "ls_ground_truth_choices.xml"),
                       "--predictions", preds, "-m", "bootstrap with an LLM")
    assert code == 0, err
    head = _commits(repo)
    for strategy in ("uncertainty", "margin"):
        code, out, err = cli("sample", "--strategy", strategy, "--n", "5", "--out", str(tmp_path / "next.txt"))
        assert code == 2 and out == "", (code, out, err)
        assert len(err.strip().splitlines()) == 1 and f"'{strategy}' ranks by the prediction's score" in err, err
        assert f"m1's predictions of the {len(doc)} unlabeled task(s) have none" in err, err
        assert "use --strategy rare-labels" in err, err
        assert not (tmp_path / "next.txt").exists() and _commits(repo) == head
    # the predicted labels still rank them: rare-labels picks every unlabeled task
    code, out, err = cli("sample", "--strategy", "rare-labels", "--n", "5", "--no-record")
    assert code == 0 and len(out.split()) == len(doc), (out, err)


def test_predictions_of_the_labeled_tasks_only_are_refused(repo, tmp_path):
    """An evaluation set's predictions (the labeled tasks) and new tasks with none: nothing to rank."""
    tasks, preds, doc = _corpus_tasks(tmp_path, scored=True, labeled=True)
    xml = str(CORPUS / "ls_ground_truth_choices.xml")
    assert cli("snapshot", "--from", tasks, "--config", xml, "--predictions", preds, "-m", "labeled")[0] == 0
    new = [{"data": {"text": t["data"]["text"] + " (again)"}} for t in doc]
    (tmp_path / "new.json").write_text(json.dumps(new))
    assert cli("snapshot", "--from", str(tmp_path / "new.json"), "--update", "-m", "new tasks")[0] == 0
    head = _commits(repo)
    code, out, err = cli("sample", "--n", "5")
    assert code == 2 and out == "" and _commits(repo) == head, (code, out, err)
    assert f"m1 predicted, and it predicted none of the {len(new)} unlabeled task(s)" in err, err
    assert "--predictions FILE --update" in err, err


def test_every_task_labeled_is_a_note_and_no_empty_sample_is_recorded(repo, tmp_path):
    tasks, preds, doc = _corpus_tasks(tmp_path, scored=True, labeled=True)
    xml = str(CORPUS / "ls_ground_truth_choices.xml")
    assert cli("snapshot", "--from", tasks, "--config", xml, "--predictions", preds, "-m", "labeled")[0] == 0
    head = _commits(repo)
    code, out, err = cli("sample", "--n", "5", "--out", str(tmp_path / "next.txt"))
    assert code == 0 and out == "", (code, out, err)
    assert f"note: every task of the version is labeled ({len(doc)})" in err, err
    assert "note: nothing recorded: no task was picked" in err and "(not recorded)" in err, err
    assert _commits(repo) == head and (tmp_path / "next.txt").read_text() == ""
    got = json.loads(cli("sample", "--n", "5", "--json")[1])
    assert got["keys"] == [] and got["record"] is None
