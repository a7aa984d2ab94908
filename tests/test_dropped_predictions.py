"""A round read from an input without HEAD's predictions says it leaves them out.

A daily loop stores a model's predictions with a version, then snapshots the next export. An export
without them (JSON-MIN, a file, a pull of a project they were never sent to) made a version without
them in silence: ``eval`` and ``sample`` then said there were none, and only ``diff`` told. Real git,
real DVC, the real CLI; the model versions named are those of the inputs the test writes.
"""

from __future__ import annotations

import json

from .conftest import EXAMPLES, run_cli


def _predicted(tasks: list[dict], *models: str) -> list[dict]:
    """``tasks`` each with one prediction per model of ``models``: the first answer's result as a model's."""
    return [{**t, "predictions": [{"model_version": m, "score": 0.5,
                                   "result": t["annotations"][0]["result"] if t["annotations"] else []}
                                  for m in models]} for t in tasks]


def _warnings(args: list[str], cwd) -> list[str]:
    p = run_cli("snapshot", "--from", *args, "--key", "data.ext_id", "--json", cwd=cwd)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["warnings"]


def test_a_round_without_heads_predictions_names_the_models_it_leaves_out(tmp_path):
    root = tmp_path / "repo"
    assert run_cli("init", str(root)).returncode == 0
    tasks = json.loads((EXAMPLES / "round1.json").read_text())
    models = ["detector-2026-11", "detector-2026-12"]
    files = {}
    for name, models_in in (("one", models[:1]), ("both", models), ("plain", [])):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(_predicted(tasks, *models_in)))
    with_preds, both, plain = files["one"], files["both"], files["plain"]
    config = str(EXAMPLES / "labeling.xml")

    assert not any("predictions" in w for w in _warnings([str(both), "--config", config], root))
    said = [w for w in _warnings([str(plain)], root) if "predictions of model version" in w]
    assert len(said) == 1 and all(m in said[0] for m in models), said
    assert "--predictions" in said[0] and "--update" in said[0]
    log = json.loads(run_cli("log", "--json", cwd=root).stdout)
    assert len(log) == 2  # the version is made: a warning, not a refusal

    # HEAD has none now: the next plain round is silent; one that keeps a model names only the other
    assert not any("predictions" in w for w in _warnings([str(plain), "-m", "again"], root))
    assert not any("predictions" in w for w in _warnings([str(both)], root))
    said = [w for w in _warnings([str(with_preds)], root) if "predictions of model version" in w]
    assert len(said) == 1 and models[1] in said[0] and models[0] not in said[0], said
    # --update adds the round to HEAD, which keeps HEAD's predictions: nothing to say
    assert not any("predictions of model version" in w for w in _warnings([str(plain), "--update"], root))
