"""One vote per annotator, their latest answer: ``annover export --resolve`` and the diff's label
transitions read a version's answers as the loop does (docs/loop.md "Who said what"). A hand-written
Label Studio export where one annotator answered a task twice; what each should give is computed
here from the export by a plain count, with the earlier answer dropped."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import annover
from annover.errors import UsageError
from annover.formats.resolve import pick

CONFIG = ('<View><Image name="image" value="$image"/><Choices name="label" toName="image">'
          '<Choice value="cat"/><Choice value="dog"/><Choice value="fox"/></Choices></View>')
#: image -> its answers (annotator, label, day): alice relabels t1 and t2 in a second answer;
#: t4's two answers by no named annotator are two votes
TASKS = {"t1": [("alice", "cat", 1), ("bob", "cat", 2), ("alice", "dog", 3)],
         "t2": [("alice", "fox", 1), ("alice", "dog", 4)],
         "t3": [("bob", "cat", 2)],
         "t4": [(None, "cat", 1), (None, "cat", 2), ("alice", "dog", 3)]}


def _export(path: Path, tasks: dict[str, list]) -> Path:
    out = []
    for i, (name, answers) in enumerate(tasks.items()):
        anns = [{"id": 100 * i + n, "result": [{"from_name": "label", "to_name": "image", "type": "choices",
                                                "value": {"choices": [label]}}],
                 "created_at": f"2024-01-{day:02d}T00:00:00Z", "updated_at": f"2024-01-{day:02d}T00:00:00Z",
                 **({"completed_by": {"id": len(who), "email": f"{who}@example.com"}} if who else {})}
                for n, (who, label, day) in enumerate(answers)]
        out.append({"id": i + 1, "data": {"image": f"/data/upload/1/{name}.jpg"}, "annotations": anns})
    path.write_text(json.dumps(out))
    return path


def _votes(answers: list) -> list:
    """The answers that count: each named annotator's latest, every unnamed one."""
    latest = {who: max((a for a in answers if a[0] == who), key=lambda a: a[2]) for who, _, _ in answers if who}
    return [a for a in answers if not a[0] or latest[a[0]] is a]


def _majority(answers: list) -> str:
    votes = _votes(answers)
    count = Counter(label for _, label, _ in votes)
    return max((a for a in votes if count[a[1]] == max(count.values())), key=lambda a: a[2])[1]


def _consensus(answers: list) -> "str | None":
    count = Counter(label for _, label, _ in _votes(answers))
    return next((label for label, n in count.items() if n > sum(count.values()) / 2), None)


def _version(tmp_path: Path, tasks: dict[str, list], name: str = "v") -> "annover.Repo":
    cfg = tmp_path / "cfg.xml"
    cfg.write_text(CONFIG)
    root = tmp_path / "repo"
    repo = annover.Repo(root) if root.exists() else annover.init(root)
    repo.snapshot(str(_export(tmp_path / f"{name}.json", tasks)), config=str(cfg), message=name)
    return repo


def _picked(repo: "annover.Repo", rule: str) -> tuple[dict[str, "str | None"], list[str]]:
    """image name -> the label that goes out (none: left out), and the notes."""
    tables = {t: repo.load("HEAD", t) for t in ("tasks", "annotations", "predictions")}
    picked = pick(tables, rule)
    got = {Path(item.data["image"]).stem: item.regions[0].labels[0] for item in picked.items}
    return got, picked.notes


@pytest.mark.parametrize("rule, want", [("majority", _majority), ("consensus", _consensus)])
def test_majority_and_consensus_count_one_vote_per_annotator(tmp_path, rule, want):
    """t1: alice's cat, replaced by her dog, is no vote (counted, cat would win 2-1); t4: the two
    answers by no named annotator are two votes."""
    got, notes = _picked(_version(tmp_path, TASKS), rule)
    expected = {k: want(answers) for k, answers in TASKS.items()}
    assert got == {k: v for k, v in expected.items() if v is not None}
    replaced = sum(len(a) - len(_votes(a)) for a in TASKS.values())
    assert f"{replaced} answer(s) a later answer of the same annotator replaced were left out" in notes


def test_only_takes_an_annotator_s_latest_answer_as_the_task_s_one(tmp_path):
    """``only`` writes t2 (alice answered it twice: one answer left) and refuses t1 (two annotators)."""
    repo = _version(tmp_path, {k: TASKS[k] for k in ("t2", "t3")})
    got, _ = _picked(repo, "only")
    assert got == {k: _votes(TASKS[k])[0][1] for k in ("t2", "t3")}
    repo = _version(tmp_path, TASKS, "all")
    with pytest.raises(UsageError, match="task .* has 2 answers"):
        pick({t: repo.load("HEAD", t) for t in ("tasks", "annotations", "predictions")}, "only")


@pytest.mark.parametrize("policy", ["majority", "ground-truth"])
def test_transitions_show_a_relabel_by_the_same_annotator(tmp_path, policy):
    """v1: alice and bob say cat; v2: alice answers again, dog. Counting both of alice's answers,
    t1 stays cat (2-1) and the relabel is not seen; one vote each, it is a 1-1 tie to her dog."""
    before = {k: [a for a in answers if a[2] <= 2] for k, answers in TASKS.items()}
    repo = _version(tmp_path, before, "v1")
    _version(tmp_path, TASKS, "v2")
    res = repo.diff("HEAD~1", "HEAD", transitions=True, policy=policy)
    cells = Counter((_majority(before[k]), _majority(TASKS[k])) for k in TASKS)
    assert {(c["from"], c["to"]): c["count"] for c in res.transitions["controls"]["label"]} == cells
