"""The ``split`` reason of ``annover suspects``: a label no other trails, taken by the tie-break."""

from __future__ import annotations

from annover.loop.suspects import suspects
from tests.reference_suspects import suspects as reference
from tests.test_loop import answers_table


def _kinds(res: dict) -> dict[str, list[str]]:
    return {i["task_key"]: [r["kind"] for r in i["reasons"]] for i in res["suspects"]}


def test_a_tie_is_split_unless_ground_truth_decides_it():
    """t1: two annotators disagree (1-1), bob's answer the later: a split, bob's label taken. t2:
    the same with alice's answer marked ground truth: with the ground-truth policy it decides the
    label (no split); with the majority policy it is a tie again. t3: 2-1, a majority: no split.
    t4: 1-1-1 (every label once): a split naming the two others, weight 2/3."""
    rows = [{"task": "t1", "who": "alice", "labels": ["a"], "ts": "2026-01-01T00:00:00Z"},
            {"task": "t1", "who": "bob", "labels": ["b"], "ts": "2026-01-02T00:00:00Z"},
            {"task": "t2", "who": "alice", "labels": ["a"], "ts": "2026-01-01T00:00:00Z", "gt": True},
            {"task": "t2", "who": "bob", "labels": ["b"], "ts": "2026-01-02T00:00:00Z"},
            *({"task": "t3", "who": w, "labels": [lab]} for w, lab in (("alice", "a"), ("bob", "a"), ("carol", "b"))),
            *({"task": "t4", "who": w, "labels": [lab], "ts": ts} for w, lab, ts in (
                ("alice", "a", "2026-01-01T00:00:00Z"), ("bob", "b", "2026-01-03T00:00:00Z"),
                ("carol", "c", "2026-01-02T00:00:00Z")))]
    ann = answers_table(rows)
    for policy, splits in (("ground-truth", {"t1", "t4"}), ("majority", {"t1", "t2", "t4"})):
        got = suspects(ann, policy=policy).to_json()
        assert got["suspects"] == reference(ann, policy=policy).to_json()["suspects"]
        assert {k for k, kinds in _kinds(got).items() if "split" in kinds} == splits, policy
    items = {i["task_key"]: i for i in suspects(ann).to_json()["suspects"]}
    assert items["t1"]["label"] == "b" and items["t1"]["score"] == 0.5
    assert items["t1"]["reasons"][0]["text"] == "no majority: b, a have 1 of 2 answers each; bob's, the latest, " \
                                               "was taken"
    assert items["t4"]["label"] == "b" and items["t4"]["score"] == 0.666667
    assert items["t4"]["reasons"][0]["text"].startswith("no majority: b, a, c have 1 of 3 answers each; bob's")


def test_a_two_two_tie_is_split_not_four_majorities():
    """Four annotators, 2-2: each answer's three others hold a 2-1 "majority" against it, so all four
    were `majority` suspects ("said 'a'; 2 of 3 others said 'b'", and the reverse) beside `no majority`:
    the text contradicted itself and the tie outranked a real dissent. A majority must lead the
    answer's own label; a 3-1 and a 2-1-1 dissent still count."""
    def task(key, labels):
        return [{"task": key, "who": f"w{i}", "labels": [lab], "ts": f"2026-01-0{i + 1}T00:00:00Z"}
                for i, lab in enumerate(labels)]
    ann = answers_table(task("tie", "aabb") + task("three", "aaab") + task("lead", "aabc"))
    got = suspects(ann).to_json()
    assert got["suspects"] == reference(ann).to_json()["suspects"]
    assert _kinds(got)["tie"] == ["split"]
    assert _kinds(got)["three"] == ["majority"]
    assert sorted(_kinds(got)["lead"]) == ["majority", "majority"]
