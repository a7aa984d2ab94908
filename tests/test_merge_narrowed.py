"""``annover merge`` narrowed to the tasks a side changed, against the merge of the whole versions.

The merge reads only the tasks that may differ between the base and either side, found from
the snapshots' layouts (:mod:`annover.repo.narrowing`); every other task is taken as ours'.
These tests build three-way histories in a real repository (git, DVC; versions written whole
or as deltas; parts of a few tasks each) and check the merge against
:func:`annover.repo.merging.merge_whole`: ``merge_tables`` over the three versions read whole,
the way a merge went before it was narrowed. Tables (provenance included), snapshot ids and the
report must be equal.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import annover
from annover.errors import MergeConflictError
from annover.model import canonical as C
from annover.repo import merging, narrowing
from annover.repo.core import read_version_table
from annover.repo.merging import merge_whole
from annover.store import snapshots as S

from .conftest import EXAMPLES, git

KEY = "data.ext_id"
LABELS = ("positive", "negative", "neutral")
ANNOTATORS = ("alice@x.org", "bob@x.org")
MODELS = ("m1", "m2")
TASKS = tuple(f"k{i:02d}" for i in range(12))


def _ls(state: dict) -> list[dict]:
    """Label Studio JSON of a state ``{task: {"text", "id", "answers": {annotator: (label, updated_at)},
    "preds": {model_version: label}}}``: the task id and the answers' times are provenance."""
    out = []
    for k, t in sorted(state.items()):
        anns = [{"completed_by": {"email": a}, "was_cancelled": False, "ground_truth": False,
                 "created_at": "2024-01-01T00:00:00Z", "updated_at": when,
                 "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                             "value": {"choices": [label]}}]} for a, (label, when) in sorted(t["answers"].items())]
        preds = [{"model_version": mv, "score": 0.5,
                  "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                              "value": {"choices": [label]}}]} for mv, label in sorted(t["preds"].items())]
        out.append({"id": t["id"], "data": {"ext_id": k, "text": t["text"]}, "annotations": anns,
                    "predictions": preds})
    return out


_answers = st.dictionaries(st.sampled_from(ANNOTATORS), st.tuples(st.sampled_from(LABELS), st.sampled_from(
    ("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"))), max_size=2)
_task = st.fixed_dictionaries({"text": st.sampled_from(("a", "b", "c")), "id": st.integers(1, 3), "answers": _answers,
                               "preds": st.dictionaries(st.sampled_from(MODELS), st.sampled_from(LABELS), max_size=2)})
#: what a round does to a task: its content (text, answers, predictions), its provenance alone
#: (the Label Studio task id, an answer's time), or removes it
_op = st.one_of(st.just(("remove",)), st.tuples(st.just("text"), st.sampled_from(("a", "b", "c", "d"))),
                st.tuples(st.just("answers"), _answers),
                st.tuples(st.just("preds"), st.dictionaries(st.sampled_from(MODELS), st.sampled_from(LABELS),
                                                            max_size=2)),
                st.tuples(st.just("id"), st.integers(1, 3)), st.just(("touch",)))


def _apply(state: dict, ops: dict, new: dict) -> dict:
    out = {k: {**t, "answers": dict(t["answers"]), "preds": dict(t["preds"])} for k, t in state.items()}
    for k, op in ops.items():
        if k not in out:
            continue
        if op[0] == "remove":
            del out[k]
        elif op[0] == "touch":  # an answer's time: provenance only
            out[k]["answers"] = {a: (lab, "2024-02-01T00:00:00Z" if w != "2024-02-01T00:00:00Z" else
                                     "2024-02-02T00:00:00Z") for a, (lab, w) in out[k]["answers"].items()}
        else:
            out[k][op[0]] = op[1]
    return {**out, **new}


def _round(state: dict):
    """A round of edits on ``state``: a few tasks changed (content or provenance) or removed, maybe new ones."""
    return st.tuples(st.dictionaries(st.sampled_from(sorted(state) or ["k00"]), _op, min_size=1, max_size=3),
                     st.dictionaries(st.sampled_from(("n0", "n1", "n2")), _task, max_size=2),
                     st.booleans()).map(lambda r: (_apply(state, r[0], r[1]), r[2]))


class History:
    """A repository to make rounds in; each round written whole or as a delta on HEAD's."""

    def __init__(self, root: Path, monkeypatch) -> None:
        self.root, self.mp, self.n = root, monkeypatch, 0

    def snap(self, state: dict, delta: bool, config: Path = EXAMPLES / "labeling.xml") -> str | None:
        """The version of ``state`` (None when HEAD's content is that already)."""
        self.mp.setattr(S, "MIN_BASE_BYTES", 0 if delta else 1 << 60)
        self.n += 1
        path = self.root.parent / f"round{self.n}.json"
        path.write_text(json.dumps(_ls(state)))
        res = annover.Repo(self.root).snapshot(str(path), config=str(config), key=KEY,
                                               message=f"round {self.n}")
        return res.version.id if res.changed else None


@pytest.fixture
def small_parts(monkeypatch):
    """Parts of about two tasks, deltas whenever asked for, and a :class:`Spy` on the merges."""
    monkeypatch.setattr(C, "TASKS_PER_PART", 2)
    monkeypatch.setattr(S, "MAX_DELTA_FRACTION", 1.0)
    return monkeypatch, Spy(monkeypatch)


def _reference(repo: annover.Repo, vids: tuple[str, str, str], favor: str | None):
    return merge_whole(repo, tuple(repo.version(v) for v in vids), ("base", "HEAD", "b"), favor)


def _report(res) -> tuple:
    return res.changes, res.combined, res.same, [c.to_json() for c in res.conflicts]


class Spy:
    """What the narrowed merges did: candidates of how many tasks, tables read from delta images."""

    def __init__(self, monkeypatch) -> None:
        self.narrowed: list = []
        self.imaged = 0
        narrow, imaged = narrowing.narrow, narrowing._rows_imaged

        def spy_narrow(*a):
            self.narrowed.append(narrow(*a))
            return self.narrowed[-1]

        def spy_imaged(*a):
            self.imaged += 1
            return imaged(*a)
        monkeypatch.setattr(merging, "narrow", spy_narrow)
        monkeypatch.setattr(narrowing, "_rows_imaged", spy_imaged)


def _check(repo: annover.Repo, vids: tuple[str, str, str], favor: str | None, spy: Spy, narrowed: bool = True) -> str:
    """Merge branch ``b`` into HEAD and compare with the merge of the whole versions (``narrowed``:
    whether the merge must have been narrowed); the kind of merge."""
    want = _reference(repo, vids, favor)
    spy.narrowed.clear()
    plan = repo.merge("b", favor=favor, dry_run=True)
    assert len(spy.narrowed) == 1 and (spy.narrowed[0] is not None) == narrowed
    assert plan.kind == "merge" and plan.base == vids[0]
    assert _report(plan) == _report(want)
    if want.conflicts and favor is None:
        with pytest.raises(MergeConflictError) as e:
            repo.merge("b")
        assert _report(e.value.result) == _report(want)
        return "refused"
    res = repo.merge("b", favor=favor)
    assert _report(res) == _report(want)
    v, store = res.version, repo.store
    for name in ("tasks", "annotations"):
        got = read_version_table(store, v, name)
        assert got.equals(want.table(name)), name
        assert v.snapshot(name).id == C.content_id(want.table(name), name)
    mvs = sorted(set(want.predictions.column("model_version").to_pylist()))
    assert v.model_versions == mvs
    for mv in mvs:
        t = want.predictions.filter(want.predictions.column("model_version").to_numpy(zero_copy_only=False) == mv)
        assert read_version_table(store, v, "predictions", mv).equals(t), mv
        assert v.snapshot("predictions", mv).id == C.content_id(t, "predictions")
    return "merged"


@settings(max_examples=int(os.environ.get("ANNOVER_MERGE_EXAMPLES", "25")), deadline=None,
          derandomize=not os.environ.get("ANNOVER_MERGE_EXAMPLES"),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.parametrize("route", ["layouts", "task hashes"])
def test_a_merge_narrowed_to_the_changed_tasks_equals_the_merge_of_the_whole_versions(tmp_path_factory, small_parts,
                                                                                       route, data):
    small_parts[0].setattr(narrowing, "WHOLE_ABOVE", float("inf"))  # every merge narrowed
    if route == "task hashes":  # as when the layouts share too little (a side written whole)
        small_parts[0].setattr(narrowing, "_by_parts", lambda *a: None)
    first = data.draw(st.dictionaries(st.sampled_from(TASKS), _task, min_size=4, max_size=len(TASKS)), "first")
    root = tmp_path_factory.mktemp("narrow") / "repo"
    annover.init(root)
    mp, spy = small_parts
    h = History(root, mp)
    h.snap(first, False)
    state = first
    for _ in range(data.draw(st.integers(0, 1), "base rounds")):  # a base that is a delta itself
        nxt, delta = data.draw(_round(state), "base round")
        state = nxt if h.snap(nxt, delta) else state
    base = annover.Repo(root).resolve("HEAD")
    sides = {}
    for side, branch in (("theirs", "b"), ("ours", "main")):
        git("switch", "-q", *(("-c", branch) if side == "theirs" else (branch,)), cwd=root)
        mine, vid = state, base
        for _ in range(data.draw(st.integers(1, 2), f"{side} rounds")):
            nxt, delta = data.draw(_round(mine), f"{side} round")
            made = h.snap(nxt, delta)
            mine, vid = (nxt, made) if made else (mine, vid)
        sides[side] = vid
    if base in sides.values():  # a side made nothing new: not a three-way merge
        return
    favor = data.draw(st.sampled_from((None, "ours", "theirs")), "favor")
    imaged = spy.imaged
    event(_check(annover.Repo(root), (base, sides["ours"], sides["theirs"]), favor, spy))
    n = spy.narrowed[0]
    event(f"candidates: {'all' if len(n.keys) == n.tasks else 'some' if len(n.keys) else 'none'} of the tasks")
    event(f"tables read from delta images: {'yes' if spy.imaged > imaged else 'no'}")


def _task_of(i: int, label: str = "positive") -> dict:
    return {"text": f"text {i}", "id": i, "answers": {"alice@x.org": (label, "2024-01-02T00:00:00Z")}, "preds": {}}


def _three(tmp_path: Path, small_parts, theirs_edits: dict, ours_edits: dict, tasks: int = 40,
           ours_config: Path = EXAMPLES / "labeling.xml") -> tuple[annover.Repo, tuple[str, str, str]]:
    """A base of ``tasks`` tasks, branch ``b`` with ``theirs_edits`` and main with ``ours_edits`` ({task: task}),
    each a delta on the base; (the repository, (base, ours, theirs))."""
    mp, _ = small_parts
    mp.setattr(S, "MIN_BASE_BYTES", 0)
    root = tmp_path / "repo"
    annover.init(root)
    h = History(root, mp)
    base = {f"k{i:02d}": _task_of(i) for i in range(tasks)}
    v_base = h.snap(base, True)
    git("switch", "-q", "-c", "b", cwd=root)
    v_theirs = h.snap({**base, **theirs_edits}, True)
    git("switch", "-q", "main", cwd=root)
    v_ours = h.snap({**base, **ours_edits}, True, config=ours_config)
    return annover.Repo(root), (v_base, v_ours, v_theirs)


def test_a_merge_reads_only_the_tasks_a_side_changed(tmp_path, small_parts):
    """Each side a delta on the base: the merge looks at the tasks their deltas name and no other
    (a new Label Studio task id alone, on k20, included), from the deltas and their before images."""
    repo, vids = _three(tmp_path, small_parts, {"k01": _task_of(1, "negative"), "k30": _task_of(30, "neutral")},
                        {"k30": _task_of(30, "negative"), "k20": {**_task_of(20), "id": 99}})
    spy = small_parts[1]
    assert _check(repo, vids, None, spy) == "refused"  # k30 both relabeled differently
    assert spy.narrowed[0].keys.to_pylist() == ["k01", "k20", "k30"] and spy.narrowed[0].tasks == 40
    assert spy.imaged == 4  # tasks and annotations, in the dry run and in the refused merge
    assert _check(repo, vids, "theirs", spy) == "merged"
    tasks = annover.Repo(repo.root).load("HEAD", table="tasks").to_pylist()
    assert [t["ls_task_id"] for t in tasks if t["task_key"] == "k20"] == [99]


def test_most_tasks_changed_merges_the_versions_whole(tmp_path, small_parts):
    repo, vids = _three(tmp_path, small_parts, {"k01": _task_of(1, "negative")},
                        {f"k{i:02d}": _task_of(i, "neutral") for i in range(2, 40)})
    assert _check(repo, vids, None, small_parts[1], narrowed=False) == "merged"


def test_labels_the_merged_config_lacks_are_warned_about_as_when_merged_whole(tmp_path, small_parts):
    """Ours dropped the label "neutral", theirs used it on k07: the same warning, narrowed or whole."""
    no_neutral = tmp_path / "no-neutral.xml"
    no_neutral.write_text((EXAMPLES / "labeling.xml").read_text().replace('<Choice value="neutral"/>', ""))
    repo, vids = _three(tmp_path, small_parts, {"k07": _task_of(7, "neutral")}, {"k03": _task_of(3, "negative")},
                        ours_config=no_neutral)
    mp, spy = small_parts
    assert _check(repo, vids, None, spy) == "merged"
    git("reset", "-q", "--hard", "HEAD~1", cwd=repo.root)
    plans = []
    for above in (0.5, 0.0):  # narrowed, then whole
        mp.setattr(narrowing, "WHOLE_ABOVE", above)
        plans.append(annover.Repo(repo.root).merge("b", dry_run=True))
    assert [p is not None for p in spy.narrowed[-2:]] == [True, False]
    assert plans[0].config == "ours" and plans[0].warnings == plans[1].warnings
    assert len(plans[0].warnings) == 1 and "'neutral'" in plans[0].warnings[0] and "k07" in plans[0].warnings[0]
