"""docs/label-studio.md and docs/loop.md typed as written against a running Label Studio: the
walkthrough at the top of each, label-studio.md's examples of `dataset create` and `dataset push`
and its Python block, loop.md's "Sending a sample" block. Each block is read from the markdown,
so a change of the documented commands runs here too. Only what a reader fills in is replaced:
the dataset titles (unique on a shared server), the sample id, the files the examples name, and
the labeling people do in the browser (made with the SDK)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import annover

from .conftest import EXAMPLES, ROOT
from .ls_fixtures import choice, data_dir, ls_server, png_bytes, sdk_admin  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio


def _block(doc: str, heading: str, lang: str = "") -> str:
    """The first fenced block of ``lang`` after ``heading`` in docs/``doc``."""
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8").split(heading, 1)[1]
    return next(body for kind, body in re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M) if kind == lang)


def _run(script: str, cwd: Path, env: dict) -> str:
    p = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, f"{script!r} -> {p.returncode}\n{p.stdout[-1500:]}\n{p.stderr[-1500:]}"
    return p.stdout + p.stderr


@pytest.fixture
def titles(sdk_admin):  # noqa: F811 - fixture
    """title(name) -> the title of its own on the shared server that stands for the doc's dataset
    ``name`` (the same for the same name); those projects are deleted after."""
    made: dict[str, str] = {}

    def title(name: str) -> str:
        return made.setdefault(name, f"doc-{uuid.uuid4().hex[:8]}-{name}")

    yield title
    for p in sdk_admin.projects.list():
        if p.title in made.values():
            sdk_admin.projects.delete(id=p.id)


@pytest.fixture
def env(ls_server):  # noqa: F811 - fixture
    """The shell of a user: annover on PATH, the server's variables, no display for a browser."""
    e = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    e.update(PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", LABEL_STUDIO_URL=ls_server.url,
             LABEL_STUDIO_API_KEY=ls_server.api_key)
    return e


def _init(folder: Path, env: dict) -> Path:
    _run(f"annover init -q --remote {folder / 'remote'} {folder / 'repo'}", folder, env)
    return folder / "repo"


def _lines(block: str, title) -> list[str]:
    """The block's commands, each dataset it names (`dataset VERB NAME`, `--label-studio NAME`)
    replaced by ``title(NAME)``."""
    return [re.sub(r"(dataset (?:create|push|annotate|stats|export|delete) |--label-studio )(\S+)",
                   lambda m: m[1] + title(m[2]), line) for line in block.splitlines() if line.strip()]


def _reviews(folder: Path) -> list[str]:
    """reviews.jsonl ({"id", "text"}: the sample's texts) and model-v3.jsonl, one prediction a task
    of the text-classification template's control `label`; the task keys."""
    keys, preds = [], []
    with (folder / "reviews.jsonl").open("w") as f:
        for i, t in enumerate(json.loads((EXAMPLES / "round1.json").read_text())):
            keys.append(t["data"]["ext_id"])
            f.write(json.dumps({"id": keys[-1], "text": t["data"]["text"]}) + "\n")
            preds.append({"task_key": keys[-1], "model_version": "model-v3", "score": 0.5 + i / 100,
                          "result": [{"from_name": "label", "to_name": "text", "type": "choices",
                                      "value": {"choices": [("pos", "neg", "neutral")[i % 3]]}}]})
    (folder / "model-v3.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds))
    return keys


def _label(sdk, title: str, n: int) -> None:
    """What people do in the browser: answer the first ``n`` tasks without an answer."""
    project = next(p for p in sdk.projects.list() if p.title == title)
    # each task's answers asked for: the listing's total_annotations lags the answers just made
    todo = [t for t in sdk.tasks.list(project=project.id) if not list(sdk.annotations.list(id=t.id))][:n]
    for t in todo:
        sdk.annotations.create(id=t.id, result=[{"from_name": "label", "to_name": "text", "type": "choices",
                                                 "value": {"choices": ["neg"]}}])


def _pets_and_more(repo: Path) -> None:
    """What the push examples read beyond the walkthrough's files: labeling.xml, more.csv (three
    tasks sent before and a new one) with preds.jsonl for it, and data/images with model-v3.jsonl
    written for them (records of "file", as the doc says)."""
    shutil.copy(EXAMPLES / "labeling.xml", repo / "labeling.xml")
    with (repo / "more.csv").open("w", newline="") as f:
        csv.writer(f).writerows([("id", "text"), ("rev-000", "The battery lasts all day and charges fast."),
                                 ("rev-900", "A new review, about the cable.")])
    (repo / "preds.jsonl").write_text(json.dumps({"task_key": "rev-900", "model_version": "model-v4", "score": 0.8,
                                                  "result": choice("neutral", "label")}) + "\n")
    (repo / "data" / "images" / "cats").mkdir(parents=True)
    preds = []
    for i, rgb in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        (repo / "data" / "images" / "cats" / f"{i:03}.png").write_bytes(png_bytes(rgb))
        preds.append({"file": f"cats/{i:03}.png", "model_version": "model-v3", "score": 0.7,
                      "result": choice(("cat", "dog")[i % 2], "label", "image")})
    (repo / "model-v3.jsonl").write_text("".join(json.dumps(r) + "\n" for r in preds))


def test_the_label_studio_walkthrough_examples_and_python_block(data_dir, env, titles, sdk_admin):  # noqa: F811
    repo = _init(data_dir, env)  # below the server's document root: the images are sent as local files
    keys = _reviews(repo)
    steps = _lines(_block("label-studio.md", "# Label Studio, live"), titles)
    rounds = iter([3, 2])
    for line in steps:
        if line.startswith("annover snapshot --label-studio"):
            _label(sdk_admin, titles("reviews"), next(rounds))
        out = _run(line, repo, env)
        if " annotate " in line:
            assert re.search(r"^http://\S+/projects/\d+/", out, re.M), out
    assert not next(rounds, None), f"the walkthrough has no two `snapshot --label-studio` lines: {steps}"
    v1, v2 = (json.loads(_run(f"annover show {v} --json", repo, env))["origin"] for v in ("v1", "v2"))
    assert v1["reading"]["key"] == v2["reading"]["key"] == "data.id"  # "keyed as pushed", "--key as v1"
    assert v2["sync"]["mode"] == "incremental" and v2["sync"]["fetched_tasks"] == 2, v2
    assert re.search(r"Labeled:\s+3 -> 5", out) and re.search(r"Tasks:\s+20 -> 20", out), out
    # the examples of `dataset create` and `dataset push`, in the same repository
    _pets_and_more(repo)
    made = [_run(line, repo, env) for line in _lines(_block("label-studio.md", "### `annover dataset create"), titles)]
    assert all(re.match(r"\d+\n", m) for m in made) and "the labeling config of version v2" in made[-1], made
    sent = [_run(line, repo, env) for line in _lines(_block("label-studio.md", "### `annover dataset push"), titles)]
    assert re.search(r"sent 0 task\(s\) .*; 20 already there", sent[0]), sent[0]
    assert re.search(r"sent 1 task\(s\) .*; 1 already there\nsent 1 prediction", sent[1]), sent[1]
    assert re.search(r"sent 3 task\(s\) .*\nsent 3 prediction", sent[2]), sent[2]
    assert re.search(r"sent 20 task\(s\) .*\nsent 20 prediction", sent[3]), sent[3]
    assert "sent 5 annotation(s)" in sent[-1], sent[-1]
    # the Python block, in a folder beside the repository: the same dataset, reused, then deleted
    py = data_dir / "py"
    py.mkdir()
    shutil.copy(repo / "reviews.jsonl", py / "reviews.jsonl")
    shutil.copy(repo / "preds.jsonl", py / "preds.jsonl")  # rev-900's, a task of the dataset since more.csv
    code = _block("label-studio.md", "## From Python", "python").replace('"reviews"', json.dumps(titles("reviews")))
    out = _run(f"python - <<'EOF'\n{code}\nprint([r.created, r.updated])\nEOF", py, env)
    assert out.strip().splitlines()[-1] == "[False, False]", out  # reused: same title, config
    assert len(json.loads((py / "reviews-export.json").read_text())) == len(keys) + 1
    assert "<Choices" in (py / "labeling.xml").read_text()
    assert titles("reviews") not in {p.title for p in sdk_admin.projects.list()}  # ds.delete


def _round3(folder: Path) -> Path:
    """round2.json as a third round: its model renamed bert-v1, a bert-v2 prediction on every task
    (wrong on every fourth), and ten tasks nobody labeled yet, predicted by both."""
    tasks = json.loads((EXAMPLES / "round2.json").read_text())
    labels = ["positive", "negative", "neutral"]

    def pred(model: str, label: str, score: float, n: int) -> dict:
        return {"id": n, "model_version": model, "score": score, "result": [
            {"id": f"p{n}", "from_name": "sentiment", "to_name": "text", "type": "choices",
             "value": {"choices": [label]}}]}
    for i, t in enumerate(tasks):
        for p in t["predictions"]:
            p["model_version"] = "bert-v1"
        given = [r["value"]["choices"][0] for a in t["annotations"] for r in a["result"]
                 if r["from_name"] == "sentiment"]
        label = given[-1] if given and i % 4 else labels[i % 3]
        t["predictions"].append(pred("bert-v2", label, round(0.55 + i / 100, 2), 5000 + i))
    for i in range(10):
        predictions = [pred("bert-v2", labels[i % 3], round(0.35 + i / 20, 2), 6000 + i),
                       pred("bert-v1", labels[(i + 1) % 3], 0.6, 7000 + i)]
        tasks.append({"id": 900 + i, "data": {"ext_id": f"rev-{100 + i}", "text": f"a review not labeled yet, {i}"},
                      "annotations": [], "predictions": predictions})
    (folder / "round3.json").write_text(json.dumps(tasks))
    return folder / "round3.json"


def test_the_loop_walkthrough_and_sending_a_sample(tmp_path, env, titles):
    repo, title = _init(tmp_path, env), titles("round-4")
    r3 = _round3(tmp_path)
    _run(f"annover snapshot -q --from {EXAMPLES}/round1.json --config {EXAMPLES}/labeling.xml --key data.ext_id -m r1"
         f" && annover snapshot -q --from {EXAMPLES}/round2.json -m r2 && annover snapshot -q --from {r3} -m r3",
         repo, env)
    jq = "jq .drift" if shutil.which("jq") else "python -c 'import json, sys; print(json.load(sys.stdin)[\"drift\"])'"
    bert_v3 = [{"task_key": t["data"]["ext_id"], "model_version": "bert-v3", "score": p["score"], "result": p["result"]}
               for t in json.loads(r3.read_text()) for p in t["predictions"] if p["model_version"] == "bert-v2"]
    (repo / "bert-v3.jsonl").write_text("".join(json.dumps(x) + "\n" for x in bert_v3))  # the block's model run
    said, sample = "", None
    for line in _lines(_block("loop.md", "# The labeling loop", "sh"), titles):
        if "--from-sample" in line:  # the id `annover sample` printed
            sample = next((repo / ".annover" / "samples").glob("*.json")).stem
        said += _run(line.replace("3f9c2a1b7d04", sample or "3f9c2a1b7d04").replace("jq .drift", jq), repo, env)
    assert "Krippendorff" in said and "bert-v2 against the labels of v3" in said and "bert-v1 vs bert-v2" in said
    models = annover.Repo(repo).read_table("v4", "predictions").column("model_version").to_pylist()
    assert sorted(set(models)) == ["bert-v1", "bert-v2", "bert-v3"]  # the model run, a version of its own
    picked = (repo / "next.txt").read_text().split()
    unlabeled = {t["data"]["ext_id"] for t in json.loads(r3.read_text())
                 if not any(not a.get("was_cancelled") for a in t["annotations"])}
    assert len(picked) == len(unlabeled) and set(picked) == unlabeled, picked  # every one of the --n 200 asked
    assert (repo / "recheck.txt").read_text().split() and (repo / "report.html").stat().st_size > 10_000
    assert f"sent {len(picked)} task(s) to '{title}'" in said and "controls" in said, said
    # the section "Sending a sample": the same tasks again are not sent; bert-v1's predictions are
    block = _block("loop.md", "### Sending a sample", "sh").replace("3f9c2a1b7d04", sample)
    again = [_run(line, repo, env) for line in _lines(block, titles)]
    assert all(f"sent 0 task(s) to '{title}' (project " in a and f"{len(picked)} already there" in a
               for a in again), again
    assert f"sent {len(picked)} prediction(s)" in again[-1] and "sent 0 prediction(s)" in again[0], again
