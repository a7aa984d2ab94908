"""``--resolve majority`` on a training export: per task, an answer whose labels most answers
give, ties to the latest; for classification the label ``annover eval`` and ``suspects`` resolve
with ``--resolve majority`` (the loop's queries), checked against them and against a direct count."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import annover
from annover.formats.resolve import pick
from annover.loop import queries as Q

from .test_cli import invoke

LABELS = ["cat", "dog", "fox"]
CONFIG = ('<View><Image name="image" value="$image"/><Choices name="label" toName="image">'
          + "".join(f'<Choice value="{x}"/>' for x in LABELS) + "</Choices></View>")
#: per task: its answers as (annotator number, label, day): days distinct within a task
TASKS = st.lists(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(LABELS), st.integers(1, 28)),
                          min_size=1, max_size=5, unique_by=(lambda a: a[0], lambda a: a[2])),
                 min_size=1, max_size=12)


def _export_file(tmp_path: Path, tasks: list) -> Path:
    out = []
    for i, answers in enumerate(tasks):
        anns = [{"id": 100 * i + n, "completed_by": {"id": who + 1, "email": f"a{who}@example.com"},
                 "result": [{"from_name": "label", "to_name": "image", "type": "choices",
                             "value": {"choices": [label]}}],
                 "created_at": f"2024-01-{day:02d}T00:00:00Z", "updated_at": f"2024-01-{day:02d}T00:00:00Z"}
                for n, (who, label, day) in enumerate(answers)]
        out.append({"id": i + 1, "data": {"image": f"/data/upload/1/{i}.jpg"}, "annotations": anns})
    p = tmp_path / "tasks.json"
    p.write_text(json.dumps(out))
    return p


def _counted(answers: list) -> str:
    """The label most answers give; between as many, the label of the latest of their answers."""
    votes = Counter(label for _, label, _ in answers)
    top = max(votes.values())
    return max((a for a in answers if votes[a[1]] == top), key=lambda a: a[2])[1]


def _loop_labels(tables: dict) -> dict[str, str]:
    """task key -> the label the loop's queries resolve with policy majority."""
    with Q.Session(ann=tables["annotations"]) as s:
        resolved = Q.resolved(f"({Q.ratings_sql(s, 'ann')})", "majority")
        return dict(s.con.execute(f"SELECT task_key, label FROM ({resolved})").fetchall())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tasks=TASKS)
def test_majority_picks_the_answer_most_answers_agree_with(tmp_path_factory, tasks):
    tmp = tmp_path_factory.mktemp("maj")
    root = tmp / "repo"
    repo = annover.init(root)
    cfg = tmp / "cfg.xml"
    cfg.write_text(CONFIG)
    repo.snapshot(str(_export_file(tmp, tasks)), config=str(cfg), message="answers")
    tables = {t: repo.load("HEAD", t) for t in ("tasks", "annotations", "predictions")}
    picked = pick(tables, "majority")
    got = {item.data["image"]: item.regions[0].labels for item in picked.items}
    keys = dict(zip(tables["tasks"].column("task_key").to_pylist(),
                    (json.loads(d)["image"] for d in tables["tasks"].column("data").to_pylist())))
    want = {f"/data/upload/1/{i}.jpg": [_counted(answers)] for i, answers in enumerate(tasks)}
    assert got == want
    assert {keys[k]: [v] for k, v in _loop_labels(tables).items()} == want


def test_majority_on_the_command_line_and_its_hint(repo, tmp_path):
    """``--resolve majority`` writes one answer a task where ``only`` refuses; the refusal's
    hint offers it."""
    tasks = [[(0, "cat", 1), (1, "dog", 2), (2, "cat", 3)], [(0, "fox", 4), (1, "dog", 5)]]
    cfg = tmp_path / "cfg.xml"
    cfg.write_text(CONFIG)
    repo.snapshot(str(_export_file(tmp_path, tasks)), config=str(cfg), message="answers")
    code, _, err = invoke("export", "--format", "hf", "--out", str(tmp_path / "only"))
    assert code == 2 and "--resolve ground-truth, latest, majority, consensus, all or annotator:EMAIL" in err, err
    code, _, err = invoke("export", "--format", "hf", "--out", str(tmp_path / "maj"), "--resolve", "majority")
    assert code == 0, err
    ds = annover.load("HEAD", format="hf", resolve="majority")
    names = ds.features["label"].names
    assert [names[x] for x in ds["label"]] == ["cat", "dog"]  # 2 of 3; a 1-1 tie to the latest
