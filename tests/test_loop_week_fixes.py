"""What a week of the labeling loop on boxes and spans ran into, without a server: each test one
thing a command did wrong (the week itself, against Label Studio: tests/test_loop_week_ls.py)."""

from __future__ import annotations

import copy
import json

import pytest

from .conftest import shared_corpus
from .ls_fixtures import choice, cli, ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures
from .test_cli import invoke

CORPUS = shared_corpus("label-studio")


def _boxes_two_models(repo, tmp_path) -> None:
    """The corpus's boxes (several annotators an image, model "1"'s predictions), with a second
    model "2" that predicts each image's first answer: v1 of ``repo``."""
    tasks = json.loads((CORPUS / "evalme_bbox_multi.json").read_text())
    for t in tasks:
        first = copy.deepcopy(t["annotations"][0]["result"])
        t["predictions"] = [p for p in t["predictions"] if isinstance(p, dict)]
        t["predictions"].append({"model_version": "2", "score": 0.8, "result": first})
    (tmp_path / "boxes.json").write_text(json.dumps(tasks))
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "boxes.json"), "--config",
                          str(CORPUS / "evalme_bbox_multi.xml"), "-m", "boxes")
    assert code == 0, err


def test_two_models_compared_on_boxes_give_each_one_s_figures(repo, tmp_path):
    """`eval --model A --model B` on a box control printed its first line and nothing else: only
    classification figures were written, though --json held each model's matched regions."""
    _boxes_two_models(repo, tmp_path)
    code, out, err = invoke("eval", "--model", "1", "--model", "2")
    assert code == 0, err
    code, js, _ = invoke("eval", "--model", "1", "--model", "2", "--json")
    doc = json.loads(js)["versions"][0]
    lines = out.splitlines()
    assert lines[0] == f"model 1 vs model 2 on {doc['tasks']} task(s) both predicted, against the labels of v1 " \
                       "(regions of a ground-truth answer, else of the latest)"
    for side in ("a", "b"):
        e = doc[side]["controls"]["label"]
        x = e["thresholds"]["0.5"]
        line = next(ln for ln in lines if ln.startswith(f"  model {doc[side]['model']} label: "))
        assert f"matched regions on {e['tasks']} task(s)" in line
        assert f"at 0.5: precision {x['precision']:.3f}, recall {x['recall']:.3f}, F1 {x['f1']:.3f}" in line


@pytest.mark.labelstudio
def test_predictions_of_tasks_not_sent_are_left_out_and_counted(project_factory, sdk_admin, tmp_path):  # noqa: F811
    """A model run over the whole pool, the first day's tasks pushed with its file: refused (exit 3) until
    the file was cut to the day's tasks, every day. The predictions of the tasks sent go with them, the
    others are left out, counted on stderr and in --json; a file matching no task sent nor in the project
    (the wrong key, here the data's hash) is still an error naming how predictions are matched."""
    p = project_factory("pool")
    keys = [f"r-{i}" for i in range(3)]
    (tmp_path / "day1.jsonl").write_text("".join(json.dumps({"id": k, "text": k}) + "\n" for k in keys[:2]))
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps({"task_key": k, "model_version": "m1", "score": 0.9,
                                                              "result": choice("pos")}) + "\n" for k in keys))
    push = ("dataset", "push", p.title, "--from", str(tmp_path / "day1.jsonl"), "--predictions",
            str(tmp_path / "preds.jsonl"))
    code, out, err = cli(*push)  # keyed by the data's hash: none matches
    assert (code, out) == (3, ""), err
    assert "no task of --predictions" in err and "--key data.FIELD matches a field" in err, err
    assert len(err.strip().splitlines()) == 1, err
    code, out, err = cli(*push, "--key", "data.id", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["sent"], doc["predictions"], doc["predictions_unmatched"]) == (2, 2, 1), doc
    assert "note: 1 prediction(s) of --predictions" in err and "match no task of" in err, err
    got = {t.data["id"]: [pr.model_version for pr in t.predictions] for t in sdk_admin.tasks.list(project=p.id)}
    assert got == {"r-0": ["m1"], "r-1": ["m1"]}, got


@pytest.mark.labelstudio
def test_a_project_pushed_from_elsewhere_says_its_key_is_not_known_here(project_factory, repo, tmp_path):
    """A second dataset gets a repository of its own (a repository's versions are one dataset's), where
    `dataset create` finds the project the first repository pushed with --key data.id: it recorded no
    key and said nothing, and the first snapshot keyed the tasks by their data's hash. It says so, and
    `--key data.FIELD` remembers the key."""
    p = project_factory("elsewhere")  # made and pushed without this repository's record
    rows = [{"id": f"r{i}", "text": f"text {i}"} for i in range(3)]
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, _, err = cli("dataset", "push", p.title, "--from", str(tmp_path / "t.jsonl"), "--key", "data.id")
    assert code == 0, err
    (tmp_path / "c.xml").write_text(p.label_config)
    code, out, err = cli("dataset", "create", p.title, "--config", str(tmp_path / "c.xml"), "--json")
    assert code == 0, err
    note = f"{p.title!r} has 3 task(s), sent without this repository's record, so the key they were sent with " \
           "is not known here: `annover dataset create` with --key data.FIELD remembers it"
    assert any(n.startswith(note) for n in json.loads(out)["notes"]), out
    code, out, err = cli("dataset", "create", p.title, "--config", str(tmp_path / "c.xml"), "--key", "data.id")
    assert code == 0 and "remembered --key data.id" in err and "not known here" not in err, err
    assert cli("snapshot", "--label-studio", p.title, "-m", "v1")[0] == 0
    assert sorted(repo.load("v1", "tasks").column("task_key").to_pylist()) == ["r0", "r1", "r2"]
